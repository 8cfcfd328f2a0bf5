/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_alloc - the C library's allocator behind a counter a test can arm
 * (fs/alloc.h). Unarmed, an allocation costs one relaxed atomic load more
 * than malloc(); sim/ allocates on threads of a pool (parallel matching), so
 * the countdown is atomic.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"

/* Allocations left before the one that fails; negative: none fails. */
static atomic_long countdown = -1;

static bool fail_now(void)
{
	if (atomic_load_explicit(&countdown, memory_order_relaxed) < 0) {
		return false;
	}
	return atomic_fetch_sub_explicit(&countdown, 1, memory_order_relaxed) == 0;
}

void fs_alloc_fail_after(long n)
{
	atomic_store(&countdown, n < 0 ? -1 : n);
}

bool fs_alloc_fail_pending(void)
{
	return atomic_load(&countdown) >= 0;
}

void *fs_malloc(size_t size)
{
	return fail_now() ? NULL : malloc(size);
}

void *fs_calloc(size_t count, size_t size)
{
	return fail_now() ? NULL : calloc(count, size);
}

void *fs_realloc(void *ptr, size_t size)
{
	return fail_now() ? NULL : realloc(ptr, size);
}

char *fs_strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy = fs_malloc(len);
	return copy ? memcpy(copy, s, len) : NULL;
}

char *fs_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *copy = fs_malloc(len + 1);
	if (!copy) {
		return NULL;
	}
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

void fs_free(void *ptr)
{
	free(ptr);
}
