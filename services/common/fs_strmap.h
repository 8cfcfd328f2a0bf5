/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_strmap.h - string -> uint64 map (open addressing, xxhash), with a size cap.
 *
 * Keys come from the network (sender and topic names), so the map refuses to
 * grow past its cap instead of letting a flood of invented names eat memory.
 */
#ifndef FS_STRMAP_H
#define FS_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct fs_strmap_entry {
	char *key; /* NULL = empty slot */
	size_t key_len;
	uint64_t hash;
	uint64_t value;
};

struct fs_strmap {
	struct fs_strmap_entry *slots;
	size_t capacity; /* power of two */
	size_t count;
	size_t max_count;
};

void fs_strmap_init(struct fs_strmap *map, size_t max_count);
void fs_strmap_finish(struct fs_strmap *map);
/** Pointer to the value of @key, inserting 0 if absent; NULL when full (cap reached) or OOM. */
uint64_t *fs_strmap_get(struct fs_strmap *map, const char *key, size_t key_len);
/** Pointer to the value or NULL if absent. */
uint64_t *fs_strmap_find(const struct fs_strmap *map, const char *key, size_t key_len);

#endif
