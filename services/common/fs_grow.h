/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_grow.h - the growable array of the services and the viewer.
 *
 * An array is a pointer, a capacity (size_t) and a count kept by its owner;
 * FS_GROW makes room for a given number of items, doubling the capacity so
 * that appending n items one by one copies O(n) items in all. fs_xgrow and
 * fs_xgrow_zeroed (fs_log.h) are the same for services, which stop on out
 * of memory.
 */
#ifndef FS_GROW_H
#define FS_GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FS_GROW_MIN 16 /* the first capacity, in items */

/** Make room for @need items of @size bytes in *@items (capacity *@cap). Returns 0, or -ENOMEM leaving both as they were. */
static inline int fs_grow(void **items, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap) {
		return 0;
	}
	size_t n = *cap ? *cap : FS_GROW_MIN;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size) {
			return -ENOMEM;
		}
		n *= 2;
	}
	void *p = realloc(*items, n * size);
	if (!p) {
		return -ENOMEM;
	}
	*items = p;
	*cap = n;
	return 0;
}

/** fs_grow with the new items' bytes zeroed (tables indexed by id). */
static inline int fs_grow_zeroed(void **items, size_t *cap, size_t need, size_t size)
{
	size_t old = *cap;
	int rc = fs_grow(items, cap, need, size);
	if (rc == 0 && *cap > old) {
		memset((char *)*items + old * size, 0, (*cap - old) * size);
	}
	return rc;
}

/** fs_grow for an array @arr (any pointer type) of capacity @cap (a size_t). */
#define FS_GROW(arr, cap, need) fs_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))
#define FS_GROW_ZEROED(arr, cap, need) fs_grow_zeroed((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* One of several parallel arrays sharing a capacity (a struct of arrays). */
struct fs_grow_array {
	void **items;
	size_t size; /* bytes per item */
};

#define FS_GROW_ARRAY(arr) { (void **)&(arr), sizeof(*(arr)) }

/**
 * Make room for @need items in each of the @n parallel @arrays, whose shared
 * capacity is *@cap. Returns 0, or -ENOMEM with *@cap as it was (the arrays
 * grown before the failure keep their larger, still valid, allocation).
 */
static inline int fs_grow_parallel(size_t *cap, size_t need, const struct fs_grow_array *arrays, size_t n)
{
	if (need <= *cap) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		size_t c = *cap;
		if (fs_grow(arrays[i].items, &c, need, arrays[i].size) < 0) {
			return -ENOMEM;
		}
		if (i + 1 == n) {
			*cap = c;
		}
	}
	return 0;
}

#endif
