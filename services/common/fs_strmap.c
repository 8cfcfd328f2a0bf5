/* SPDX-License-Identifier: Apache-2.0 */
/* fs_strmap - small string-keyed counters (see fs_strmap.h). */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "fs/grow.h"
#include "fs_strmap.h"

#define NO_ENTRY UINT32_MAX

void fs_strmap_init(struct fs_strmap *map, size_t max_count)
{
	memset(map, 0, sizeof(*map));
	map->max_count = max_count < NO_ENTRY ? max_count : NO_ENTRY - 1;
}

void fs_strmap_finish(struct fs_strmap *map)
{
	for (size_t i = 0; i < map->count; i++) {
		free(map->entries[i].key);
	}
	free(map->entries);
	fs_idmap_finish(&map->index);
	memset(map, 0, sizeof(*map));
}

/* The index key of @hash: every value but the one fs_idmap reserves. */
static uint64_t index_key(uint64_t hash)
{
	return hash == FS_IDMAP_EMPTY ? hash - 1 : hash;
}

static struct fs_strmap_entry *lookup(const struct fs_strmap *map, uint64_t hash, const char *key, size_t key_len)
{
	uint32_t i;
	if (!fs_idmap_get(&map->index, index_key(hash), &i)) {
		return NULL;
	}
	for (; i != NO_ENTRY; i = map->entries[i].next) {
		struct fs_strmap_entry *e = &map->entries[i];
		if (e->hash == hash && e->key_len == key_len && !memcmp(e->key, key, key_len)) {
			return e;
		}
	}
	return NULL;
}

uint64_t *fs_strmap_find(const struct fs_strmap *map, const char *key, size_t key_len)
{
	struct fs_strmap_entry *e = lookup(map, XXH3_64bits(key, key_len), key, key_len);
	return e ? &e->value : NULL;
}

uint64_t *fs_strmap_get(struct fs_strmap *map, const char *key, size_t key_len)
{
	uint64_t hash = XXH3_64bits(key, key_len);
	struct fs_strmap_entry *e = lookup(map, hash, key, key_len);
	if (e) {
		return &e->value;
	}
	if (map->count >= map->max_count || FS_GROW(map->entries, map->cap, map->count + 1) < 0) {
		return NULL;
	}
	char *copy = malloc(key_len + 1);
	if (!copy) {
		return NULL;
	}
	memcpy(copy, key, key_len);
	copy[key_len] = '\0';
	uint32_t at = (uint32_t)map->count, next;
	if (!fs_idmap_get(&map->index, index_key(hash), &next)) {
		next = NO_ENTRY;
	}
	if (fs_idmap_put(&map->index, index_key(hash), at) < 0) {
		free(copy);
		return NULL;
	}
	map->entries[at] = (struct fs_strmap_entry){ .key = copy, .key_len = key_len, .hash = hash, .next = next };
	map->count++;
	return &map->entries[at].value;
}
