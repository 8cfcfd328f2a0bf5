/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_idmap.h - the hash map of the services and the viewer: 64-bit keys
 * (ids, or hashes of longer keys, as fs_strmap does) to 32-bit values, most
 * often an index into an array the owner keeps.
 *
 * Open addressing with linear probing, at most 70 % full; deletion shifts
 * the later members of a probe run back into the hole, so lookups never
 * meet tombstones. FS_IDMAP_EMPTY marks a free slot and is not a key.
 */
#ifndef FS_IDMAP_H
#define FS_IDMAP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define FS_IDMAP_EMPTY UINT64_MAX

struct fs_idmap {
	uint64_t *keys;
	uint32_t *vals;
	uint32_t cap; /* power of two or 0 */
	uint32_t count;
};

/* The home slot of @key: the 64-bit finaliser of MurmurHash3, so close ids spread. */
static inline uint32_t fs_idmap_slot(uint64_t key, uint32_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (uint32_t)key & (cap - 1);
}

static inline void fs_idmap_finish(struct fs_idmap *m)
{
	free(m->keys);
	free(m->vals);
	*m = (struct fs_idmap){ 0 };
}

/** Forget every key, keeping the memory. */
static inline void fs_idmap_clear(struct fs_idmap *m)
{
	for (uint32_t i = 0; i < m->cap; i++) {
		m->keys[i] = FS_IDMAP_EMPTY;
	}
	m->count = 0;
}

/** Make room for @want keys. Returns 0 or -ENOMEM (the map unchanged). */
static inline int fs_idmap_reserve(struct fs_idmap *m, uint32_t want)
{
	if ((uint64_t)want * 10 < (uint64_t)m->cap * 7) {
		return 0;
	}
	uint32_t cap = m->cap ? m->cap : 64;
	while ((uint64_t)want * 10 >= (uint64_t)cap * 7) {
		cap *= 2;
	}
	uint64_t *keys = malloc(cap * sizeof(*keys));
	uint32_t *vals = malloc(cap * sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cap; i++) {
		keys[i] = FS_IDMAP_EMPTY;
	}
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == FS_IDMAP_EMPTY) {
			continue;
		}
		uint32_t s = fs_idmap_slot(m->keys[i], cap);
		while (keys[s] != FS_IDMAP_EMPTY) {
			s = (s + 1) & (cap - 1);
		}
		keys[s] = m->keys[i];
		vals[s] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

/** True with *@ret set if @key is in the map. */
static inline bool fs_idmap_get(const struct fs_idmap *m, uint64_t key, uint32_t *ret)
{
	if (!m->cap || key == FS_IDMAP_EMPTY) {
		return false;
	}
	for (uint32_t s = fs_idmap_slot(key, m->cap);; s = (s + 1) & (m->cap - 1)) {
		if (m->keys[s] == key) {
			*ret = m->vals[s];
			return true;
		}
		if (m->keys[s] == FS_IDMAP_EMPTY) {
			return false;
		}
	}
}

/** Set @key to @val (inserting or replacing). Returns 0, -EINVAL for FS_IDMAP_EMPTY, or -ENOMEM. */
static inline int fs_idmap_put(struct fs_idmap *m, uint64_t key, uint32_t val)
{
	if (key == FS_IDMAP_EMPTY) {
		return -EINVAL;
	}
	int rc = fs_idmap_reserve(m, m->count + 1);
	if (rc < 0) {
		return rc;
	}
	uint32_t s = fs_idmap_slot(key, m->cap);
	while (m->keys[s] != FS_IDMAP_EMPTY && m->keys[s] != key) {
		s = (s + 1) & (m->cap - 1);
	}
	if (m->keys[s] == FS_IDMAP_EMPTY) {
		m->count++;
	}
	m->keys[s] = key;
	m->vals[s] = val;
	return 0;
}

/** Remove @key if present. */
static inline void fs_idmap_del(struct fs_idmap *m, uint64_t key)
{
	if (!m->cap || key == FS_IDMAP_EMPTY) {
		return;
	}
	uint32_t mask = m->cap - 1, s = fs_idmap_slot(key, m->cap);
	while (m->keys[s] != key) {
		if (m->keys[s] == FS_IDMAP_EMPTY) {
			return;
		}
		s = (s + 1) & mask;
	}
	/* Backward shift: pull later members of the probe run into the hole. */
	uint32_t hole = s;
	for (uint32_t j = (hole + 1) & mask; m->keys[j] != FS_IDMAP_EMPTY; j = (j + 1) & mask) {
		uint32_t home = fs_idmap_slot(m->keys[j], m->cap);
		bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
		if (movable) {
			m->keys[hole] = m->keys[j];
			m->vals[hole] = m->vals[j];
			hole = j;
		}
	}
	m->keys[hole] = FS_IDMAP_EMPTY;
	m->count--;
}

#endif
