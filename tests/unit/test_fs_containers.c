/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The containers of sim/base: the growable array (fs/grow.h), the binary heap
 * (fs/heap.h) and the hash map (fs/idmap.h). Each keeps what it holds across
 * growth, gives the order or the answers a plain array would, and leaves
 * itself as it was when memory runs out (fs_alloc_fail_after()).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/heap.h"
#include "fs/idmap.h"
#include "fs/rng.h"

/* ---- growable array ------------------------------------------------------------ */

static void growing_keeps_items_and_zeroes_new_ones(void **state)
{
	(void)state;
	uint32_t *a = NULL;
	size_t cap = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		assert_int_equal(FS_GROW(a, cap, (size_t)i + 1), 0);
		assert_true(cap > i);
		a[i] = i * 7;
	}
	for (uint32_t i = 0; i < 1000; i++) {
		assert_int_equal(a[i], i * 7);
	}
	size_t old = cap;
	assert_int_equal(FS_GROW(a, cap, 10), 0); /* room already: nothing moves */
	assert_int_equal(cap, old);
	assert_int_equal(FS_GROW_ZEROED(a, cap, old + 1), 0);
	assert_int_equal(a[999], 999 * 7); /* kept by a zeroed growth */
	for (size_t i = old; i < cap; i++) {
		assert_int_equal(a[i], 0);
	}
	fs_free(a);

	uint64_t *z = NULL;
	size_t zcap = 0;
	assert_int_equal(FS_GROW_ZEROED(z, zcap, 3), 0); /* the first growth zeroes too */
	for (size_t i = 0; i < zcap; i++) {
		assert_int_equal(z[i], 0);
	}
	fs_free(z);
}

static void parallel_arrays_share_one_capacity(void **state)
{
	(void)state;
	double *x = NULL;
	uint8_t *kind = NULL;
	size_t cap = 0;
	const struct fs_grow_array arrays[] = { FS_GROW_ARRAY(x), FS_GROW_ARRAY(kind) };
	for (size_t n = 1; n <= 300; n++) {
		assert_int_equal(fs_grow_parallel(&cap, n, arrays, 2), 0);
		x[n - 1] = (double)n;
		kind[n - 1] = (uint8_t)n;
	}
	assert_true(cap >= 300);
	for (size_t n = 1; n <= 300; n++) {
		assert_true(x[n - 1] == (double)n);
		assert_int_equal(kind[n - 1], (uint8_t)n);
	}
	fs_free(x);
	fs_free(kind);
}

static void growing_out_of_memory_leaves_the_array(void **state)
{
	(void)state;
	uint64_t *a = NULL;
	size_t cap = 0;
	assert_int_equal(FS_GROW(a, cap, 16), 0);
	a[15] = 42;
	uint64_t *before = a;
	fs_alloc_fail_after(0);
	assert_int_equal(FS_GROW(a, cap, 17), -ENOMEM);
	assert_ptr_equal(a, before);
	assert_int_equal(cap, 16);
	assert_int_equal(a[15], 42);
	assert_int_equal(FS_GROW(a, cap, SIZE_MAX / 4), -ENOMEM); /* too large to count in bytes */
	assert_int_equal(cap, 16);
	assert_ptr_equal(a, before);
	assert_int_equal(a[15], 42);
	fs_free(a);

	double *x = NULL;
	uint8_t *y = NULL;
	size_t shared = 0;
	const struct fs_grow_array both[] = { FS_GROW_ARRAY(x), FS_GROW_ARRAY(y) };
	fs_alloc_fail_after(1); /* x grows, y does not */
	assert_int_equal(fs_grow_parallel(&shared, 10, both, 2), -ENOMEM);
	assert_int_equal(shared, 0);
	assert_int_equal(fs_grow_parallel(&shared, 10, both, 2), 0);
	assert_true(shared >= 10);
	x[9] = 1.5;
	y[9] = 3;
	fs_free(x);
	fs_free(y);
}

/* ---- heap ------------------------------------------------------------------------ */

struct item {
	double key;
	uint32_t id;
};

static inline bool item_less(void *ctx, const struct item *a, const struct item *b)
{
	return a->key < b->key || (a->key == b->key && a->id < b->id);
}

FS_HEAP_DEFINE(items, void, struct item, item_less, FS_HEAP_STORE)

static void the_heap_pops_in_order(void **state)
{
	(void)state;
	enum { N = 2000 };
	struct item *heap = fs_malloc(N * sizeof(*heap));
	size_t n = 0;
	struct fs_rng rng;
	fs_rng_init(&rng, 7, 1, 0);
	for (uint32_t i = 0; i < N; i++) {
		/* few distinct keys: the id decides among equals */
		items_push(NULL, heap, &n, (struct item){ (double)fs_rng_below(&rng, 50), i });
	}
	struct item prev = items_pop(NULL, heap, &n);
	for (size_t popped = 1; popped < N; popped++) {
		struct item it = items_pop(NULL, heap, &n);
		assert_true(item_less(NULL, &prev, &it));
		prev = it;
	}
	assert_int_equal(n, 0);
	fs_free(heap);
}

/* An indexed heap: keys change, each element's place is known. */
struct keyed {
	double key[64];
	size_t pos[64];
};

static inline bool keyed_less(struct keyed *k, const uint32_t *a, const uint32_t *b)
{
	return k->key[*a] < k->key[*b] || (k->key[*a] == k->key[*b] && *a < *b);
}

static inline void keyed_place(struct keyed *k, uint32_t *items, size_t i, uint32_t v)
{
	items[i] = v;
	k->pos[v] = i;
}

FS_HEAP_DEFINE(keyed, struct keyed, uint32_t, keyed_less, keyed_place)

static void an_indexed_heap_follows_changed_and_removed_keys(void **state)
{
	(void)state;
	struct keyed k;
	uint32_t heap[64];
	size_t n = 0;
	bool in[64] = { false };
	struct fs_rng rng;
	fs_rng_init(&rng, 11, 2, 0);
	for (uint32_t v = 0; v < 64; v++) {
		k.key[v] = fs_rng_uniform(&rng);
		keyed_push(&k, heap, &n, v);
		in[v] = true;
	}
	for (int step = 0; step < 5000; step++) {
		uint32_t v = (uint32_t)fs_rng_below(&rng, 64);
		if (!in[v]) {
			k.key[v] = fs_rng_uniform(&rng);
			keyed_push(&k, heap, &n, v);
			in[v] = true;
		} else if (fs_rng_uniform(&rng) < 0.3) {
			keyed_remove(&k, heap, &n, k.pos[v]);
			in[v] = false;
		} else {
			double old = k.key[v];
			k.key[v] = fs_rng_uniform(&rng);
			if (k.key[v] < old) {
				keyed_up(&k, heap, k.pos[v]);
			} else {
				keyed_down(&k, heap, n, k.pos[v]);
			}
		}
		/* the top is the least of those in, and every element is where pos says */
		uint32_t least = UINT32_MAX;
		for (uint32_t u = 0; u < 64; u++) {
			if (in[u]) {
				assert_int_equal(heap[k.pos[u]], u);
				least = least == UINT32_MAX || keyed_less(&k, &u, &least) ? u : least;
			}
		}
		if (n) {
			assert_int_equal(heap[0], least);
		}
	}
}

/* ---- hash map ---------------------------------------------------------------------- */

static void the_map_keeps_colliding_keys_apart(void **state)
{
	(void)state;
	struct fs_idmap m = { 0 };
	for (uint64_t key = 0; key < 5000; key++) {
		assert_int_equal(fs_idmap_put(&m, key * 64, (uint32_t)key), 0); /* ids that share low bits */
	}
	assert_int_equal(m.count, 5000);
	for (uint64_t key = 0; key < 5000; key += 3) {
		fs_idmap_del(&m, key * 64);
	}
	for (uint64_t key = 0; key < 5000; key++) {
		uint32_t v = UINT32_MAX;
		bool there = fs_idmap_get(&m, key * 64, &v);
		assert_int_equal(there, key % 3 != 0);
		if (there) {
			assert_int_equal(v, key);
		}
	}
	assert_int_equal(fs_idmap_put(&m, 64, 7), 0); /* replaces */
	uint32_t v;
	assert_true(fs_idmap_get(&m, 64, &v));
	assert_int_equal(v, 7);
	assert_int_equal(fs_idmap_put(&m, FS_IDMAP_EMPTY, 1), -EINVAL);
	fs_idmap_clear(&m);
	assert_false(fs_idmap_get(&m, 64, &v));
	fs_idmap_finish(&m);
}

static void the_map_out_of_memory_leaves_it_as_it_was(void **state)
{
	(void)state;
	struct fs_idmap m = { 0 };
	uint32_t key = 0, v;
	assert_int_equal(fs_idmap_put(&m, key++, 0), 0);
	uint32_t cap = m.cap;
	while (m.cap == cap) { /* fill up to the next growth */
		fs_alloc_fail_after(0);
		int rc = fs_idmap_put(&m, key, key);
		fs_alloc_fail_after(-1);
		if (rc == -ENOMEM) {
			break;
		}
		assert_int_equal(rc, 0);
		key++;
	}
	assert_int_equal(m.cap, cap);
	assert_int_equal(m.count, key);
	assert_false(fs_idmap_get(&m, key, &v));
	for (uint32_t k = 0; k < key; k++) {
		assert_true(fs_idmap_get(&m, k, &v));
		assert_int_equal(v, k);
	}
	assert_int_equal(fs_idmap_put(&m, key, key), 0);
	assert_true(m.cap > cap);
	fs_idmap_finish(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(growing_keeps_items_and_zeroes_new_ones),
		cmocka_unit_test(parallel_arrays_share_one_capacity),
		cmocka_unit_test(growing_out_of_memory_leaves_the_array),
		cmocka_unit_test(the_heap_pops_in_order),
		cmocka_unit_test(an_indexed_heap_follows_changed_and_removed_keys),
		cmocka_unit_test(the_map_keeps_colliding_keys_apart),
		cmocka_unit_test(the_map_out_of_memory_leaves_it_as_it_was),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
