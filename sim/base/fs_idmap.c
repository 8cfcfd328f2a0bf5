/* SPDX-License-Identifier: Apache-2.0 */
/* fs_idmap - the hash map of sim/ and loaders/ (fs/idmap.h). */
#include <errno.h>

#include "fs/alloc.h"
#include "fs/idmap.h"

/* The home slot of @key: the 64-bit finaliser of MurmurHash3, so close ids spread. */
static uint32_t home_slot(uint64_t key, uint32_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (uint32_t)key & (cap - 1);
}

void fs_idmap_finish(struct fs_idmap *m)
{
	fs_free(m->keys);
	fs_free(m->vals);
	*m = (struct fs_idmap){ 0 };
}

void fs_idmap_clear(struct fs_idmap *m)
{
	for (uint32_t i = 0; i < m->cap; i++) {
		m->keys[i] = FS_IDMAP_EMPTY;
	}
	m->count = 0;
}

int fs_idmap_reserve(struct fs_idmap *m, uint32_t want)
{
	if ((uint64_t)want * 10 < (uint64_t)m->cap * 7) {
		return 0;
	}
	uint64_t cap = m->cap ? m->cap : 64;
	while ((uint64_t)want * 10 >= cap * 7) {
		cap *= 2;
	}
	if (cap > UINT32_MAX) {
		return -ENOMEM;
	}
	uint64_t *keys = fs_malloc(cap * sizeof(*keys));
	uint32_t *vals = fs_malloc(cap * sizeof(*vals));
	if (!keys || !vals) {
		fs_free(keys);
		fs_free(vals);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cap; i++) {
		keys[i] = FS_IDMAP_EMPTY;
	}
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == FS_IDMAP_EMPTY) {
			continue;
		}
		uint32_t s = home_slot(m->keys[i], (uint32_t)cap);
		while (keys[s] != FS_IDMAP_EMPTY) {
			s = (s + 1) & (uint32_t)(cap - 1);
		}
		keys[s] = m->keys[i];
		vals[s] = m->vals[i];
	}
	fs_free(m->keys);
	fs_free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = (uint32_t)cap;
	return 0;
}

bool fs_idmap_get(const struct fs_idmap *m, uint64_t key, uint32_t *ret)
{
	if (!m->cap || key == FS_IDMAP_EMPTY) {
		return false;
	}
	for (uint32_t s = home_slot(key, m->cap);; s = (s + 1) & (m->cap - 1)) {
		if (m->keys[s] == key) {
			*ret = m->vals[s];
			return true;
		}
		if (m->keys[s] == FS_IDMAP_EMPTY) {
			return false;
		}
	}
}

int fs_idmap_put(struct fs_idmap *m, uint64_t key, uint32_t val)
{
	if (key == FS_IDMAP_EMPTY) {
		return -EINVAL;
	}
	int rc = fs_idmap_reserve(m, m->count + 1);
	if (rc < 0) {
		return rc;
	}
	uint32_t s = home_slot(key, m->cap);
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

void fs_idmap_del(struct fs_idmap *m, uint64_t key)
{
	if (!m->cap || key == FS_IDMAP_EMPTY) {
		return;
	}
	uint32_t mask = m->cap - 1, s = home_slot(key, m->cap);
	while (m->keys[s] != key) {
		if (m->keys[s] == FS_IDMAP_EMPTY) {
			return;
		}
		s = (s + 1) & mask;
	}
	/* Backward shift: pull later members of the probe run into the hole. */
	uint32_t hole = s;
	for (uint32_t j = (hole + 1) & mask; m->keys[j] != FS_IDMAP_EMPTY; j = (j + 1) & mask) {
		uint32_t home = home_slot(m->keys[j], m->cap);
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
