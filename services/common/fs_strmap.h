/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_strmap.h - string -> uint64 map, with a size cap.
 *
 * Keys come from the network (sender and topic names), so the map refuses to
 * grow past its cap instead of letting a flood of invented names eat memory.
 * The entries are an array in insertion order; the hash map of fs/idmap.h
 * finds them by the key's 64-bit hash (XXH3), and entries whose hashes are
 * equal are chained, so two keys never share a value.
 */
#ifndef FS_STRMAP_H
#define FS_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "fs/idmap.h"

struct fs_strmap_entry {
	char *key;
	size_t key_len;
	uint64_t hash;
	uint64_t value;
	uint32_t next; /* the next entry of the same hash; UINT32_MAX = none */
};

struct fs_strmap {
	struct fs_idmap index; /* hash -> the newest entry with that hash */
	struct fs_strmap_entry *entries;
	size_t count, cap;
	size_t max_count;
};

void fs_strmap_init(struct fs_strmap *map, size_t max_count);
void fs_strmap_finish(struct fs_strmap *map);
/**
 * Pointer to the value of @key, inserting 0 if absent; NULL when full (cap
 * reached) or OOM. Valid until the next insertion.
 */
uint64_t *fs_strmap_get(struct fs_strmap *map, const char *key, size_t key_len);
/** Pointer to the value or NULL if absent. */
uint64_t *fs_strmap_find(const struct fs_strmap *map, const char *key, size_t key_len);

#endif
