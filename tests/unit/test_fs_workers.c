/* SPDX-License-Identifier: Apache-2.0 */
/* fs_workers: every item runs once, on a worker the pool has, whatever the count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fs_workers.h"

#define ITEMS 10000

struct tally {
	atomic_uint runs[ITEMS];
	atomic_uint by_worker[FS_WORKERS_MAX];
	unsigned count;
	atomic_bool bad_worker;
};

static void count_item(void *arg, size_t i, unsigned worker)
{
	struct tally *t = arg;
	atomic_fetch_add(&t->runs[i], 1);
	if (worker >= t->count) {
		atomic_store(&t->bad_worker, true);
		return;
	}
	atomic_fetch_add(&t->by_worker[worker], 1);
}

static void every_item_once(void **state)
{
	(void)state;
	for (unsigned count = 1; count <= 4; count++) {
		struct fs_workers *w = fs_workers_create(count);
		assert_non_null(w);
		assert_int_equal(fs_workers_count(w), count);
		struct tally *t = calloc(1, sizeof(*t));
		assert_non_null(t);
		t->count = count;
		fs_workers_for(w, ITEMS, count_item, t);
		for (size_t i = 0; i < ITEMS; i++) {
			assert_int_equal(atomic_load(&t->runs[i]), 1);
		}
		assert_false(atomic_load(&t->bad_worker));
		unsigned total = 0;
		for (unsigned k = 0; k < count; k++) {
			total += atomic_load(&t->by_worker[k]);
		}
		assert_int_equal(total, ITEMS);
		fs_workers_for(w, 0, count_item, t); /* no items: returns */
		free(t);
		fs_workers_destroy(w);
	}
}

static void counts_are_bounded(void **state)
{
	(void)state;
	struct fs_workers *w = fs_workers_create(0);
	assert_int_equal(fs_workers_count(w), 1);
	fs_workers_destroy(w);
	w = fs_workers_create(1000);
	assert_int_equal(fs_workers_count(w), FS_WORKERS_MAX);
	fs_workers_destroy(w);
	unsigned n = fs_workers_default_count();
	assert_true(n >= 1 && n <= FS_WORKERS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_item_once),
		cmocka_unit_test(counts_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
