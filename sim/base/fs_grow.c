/* SPDX-License-Identifier: Apache-2.0 */
/* fs_grow - the growable array's reallocation (fs/grow.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/grow.h"

int fs_grow_to(void **items, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : FS_GROW_MIN;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size) {
			return -ENOMEM;
		}
		n *= 2;
	}
	void *p = fs_realloc(*items, n * size);
	if (!p) {
		return -ENOMEM;
	}
	*items = p;
	*cap = n;
	return 0;
}

int fs_grow_zeroed(void **items, size_t *cap, size_t need, size_t size)
{
	size_t old = *cap;
	int rc = fs_grow(items, cap, need, size);
	if (rc == 0 && *cap > old) {
		memset((char *)*items + old * size, 0, (*cap - old) * size);
	}
	return rc;
}

int fs_grow_parallel(size_t *cap, size_t need, const struct fs_grow_array *arrays, size_t n)
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
