/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/idmap.h - the hash map of sim/ and loaders/: 64-bit keys (ids, or
 * hashes of longer keys) to 32-bit values, most often an index into an array
 * the owner keeps.
 *
 * Open addressing with linear probing, at most 70 % full; deletion shifts
 * the later members of a probe run back into the hole, so lookups never meet
 * tombstones. FS_IDMAP_EMPTY marks a free slot and is not a key. Memory comes
 * from fs/alloc.h. A map of string keys keys it by a hash of the string and,
 * on the rare collision, by the next key up (fs_network's street names).
 */
#ifndef FS_IDMAP_H
#define FS_IDMAP_H

#include <stdbool.h>
#include <stdint.h>

#define FS_IDMAP_EMPTY UINT64_MAX

struct fs_idmap {
	uint64_t *keys;
	uint32_t *vals;
	uint32_t cap; /* power of two or 0 */
	uint32_t count;
};

/** Free the memory; the map is empty and usable again. */
void fs_idmap_finish(struct fs_idmap *m);
/** Forget every key, keeping the memory. */
void fs_idmap_clear(struct fs_idmap *m);
/** Make room for @want keys. Returns 0 or -ENOMEM (the map unchanged). */
int fs_idmap_reserve(struct fs_idmap *m, uint32_t want);
/** True with *@ret set if @key is in the map. */
bool fs_idmap_get(const struct fs_idmap *m, uint64_t key, uint32_t *ret);
/** Set @key to @val (inserting or replacing). Returns 0, -EINVAL for FS_IDMAP_EMPTY, or -ENOMEM. */
int fs_idmap_put(struct fs_idmap *m, uint64_t key, uint32_t val);
/** Remove @key if present. */
void fs_idmap_del(struct fs_idmap *m, uint64_t key);

#endif
