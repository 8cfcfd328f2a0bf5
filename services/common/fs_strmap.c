/* SPDX-License-Identifier: Apache-2.0 */
/* fs_strmap - small string-keyed counters. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "fs_strmap.h"

void fs_strmap_init(struct fs_strmap *map, size_t max_count)
{
	memset(map, 0, sizeof(*map));
	map->max_count = max_count;
}

void fs_strmap_finish(struct fs_strmap *map)
{
	for (size_t i = 0; i < map->capacity; i++) {
		free(map->slots[i].key);
	}
	free(map->slots);
	memset(map, 0, sizeof(*map));
}

static struct fs_strmap_entry *probe(struct fs_strmap_entry *slots, size_t capacity, uint64_t hash,
				     const char *key, size_t key_len)
{
	size_t mask = capacity - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct fs_strmap_entry *e = &slots[i];
		if (!e->key || (e->hash == hash && e->key_len == key_len && !memcmp(e->key, key, key_len))) {
			return e;
		}
	}
}

uint64_t *fs_strmap_find(const struct fs_strmap *map, const char *key, size_t key_len)
{
	if (!map->capacity) {
		return NULL;
	}
	struct fs_strmap_entry *e = probe(map->slots, map->capacity, XXH3_64bits(key, key_len), key, key_len);
	return e->key ? &e->value : NULL;
}

static int grow(struct fs_strmap *map)
{
	size_t capacity = map->capacity ? map->capacity * 2 : 16;
	struct fs_strmap_entry *slots = calloc(capacity, sizeof(*slots));
	if (!slots) {
		return -1;
	}
	for (size_t i = 0; i < map->capacity; i++) {
		struct fs_strmap_entry *old = &map->slots[i];
		if (old->key) {
			*probe(slots, capacity, old->hash, old->key, old->key_len) = *old;
		}
	}
	free(map->slots);
	map->slots = slots;
	map->capacity = capacity;
	return 0;
}

uint64_t *fs_strmap_get(struct fs_strmap *map, const char *key, size_t key_len)
{
	uint64_t hash = XXH3_64bits(key, key_len);
	if (map->capacity) {
		struct fs_strmap_entry *e = probe(map->slots, map->capacity, hash, key, key_len);
		if (e->key) {
			return &e->value;
		}
	}
	if (map->count >= map->max_count) {
		return NULL;
	}
	if ((map->count + 1) * 2 > map->capacity && grow(map) < 0) {
		return NULL;
	}
	struct fs_strmap_entry *e = probe(map->slots, map->capacity, hash, key, key_len);
	e->key = malloc(key_len + 1);
	if (!e->key) {
		return NULL;
	}
	memcpy(e->key, key, key_len);
	e->key[key_len] = '\0';
	e->key_len = key_len;
	e->hash = hash;
	e->value = 0;
	map->count++;
	return &e->value;
}
