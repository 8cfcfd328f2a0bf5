/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/grow.h - the growable array of sim/ and loaders/.
 *
 * An array is a pointer, a capacity (size_t) and a count kept by its owner;
 * FS_GROW makes room for a given number of items, doubling the capacity so
 * that appending n items one by one copies O(n) items in all. Memory comes
 * from fs/alloc.h. The check that there is room already is inline: hot loops
 * (a route search's heap, dispatch's output lists) call it for every item.
 */
#ifndef FS_GROW_H
#define FS_GROW_H

#include <stddef.h>

#define FS_GROW_MIN 16 /* the first capacity, in items, unless asked for more */

/** fs_grow()'s slow half: reallocate. */
int fs_grow_to(void **items, size_t *cap, size_t need, size_t size);

/** Make room for @need items of @size bytes in *@items (capacity *@cap). Returns 0, or -ENOMEM leaving both as they were. */
static inline int fs_grow(void **items, size_t *cap, size_t need, size_t size)
{
	return need <= *cap ? 0 : fs_grow_to(items, cap, need, size);
}

/** fs_grow with the new items' bytes zeroed (tables indexed by id). */
int fs_grow_zeroed(void **items, size_t *cap, size_t need, size_t size);

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
int fs_grow_parallel(size_t *cap, size_t need, const struct fs_grow_array *arrays, size_t n);

#endif
