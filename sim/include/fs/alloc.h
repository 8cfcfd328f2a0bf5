/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/alloc.h - the one door through which sim/ and loaders/ take memory.
 *
 * fs_malloc, fs_calloc, fs_realloc and fs_strdup behave as their C library
 * namesakes and fs_free as free() (memory from either side may be released
 * by the other: services free what sim/ hands them with free()). Going
 * through one place lets a test make any chosen allocation fail, so every
 * out-of-memory path of a build, a load or a create can be walked one by one
 * (tests/unit/test_fs_alloc.c): each must return -ENOMEM (or NULL) and leave
 * nothing allocated. scripts/check-house fails the build's 'house' test when
 * a sim/ or loaders/ source other than sim/base/fs_alloc.c calls the C
 * library's allocator directly. What the format libraries the loaders use
 * (libyaml, expat, readosm, jansson, libcsv) and getline() allocate inside
 * themselves does not come through here.
 */
#ifndef FS_ALLOC_H
#define FS_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *fs_malloc(size_t size);
void *fs_calloc(size_t count, size_t size);
/** As realloc(); on failure @ptr is left as it was. */
void *fs_realloc(void *ptr, size_t size);
char *fs_strdup(const char *s);
char *fs_strndup(const char *s, size_t n);
void fs_free(void *ptr);

/**
 * For tests: let the next @n allocations succeed and make the one after them
 * fail (return NULL), once; a negative @n fails none (the default). Counts the
 * allocations of every thread.
 */
void fs_alloc_fail_after(long n);
/** For tests: true while the failure fs_alloc_fail_after() set up has not happened yet. */
bool fs_alloc_fail_pending(void);

#endif
