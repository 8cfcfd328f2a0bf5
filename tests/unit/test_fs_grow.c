/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The growable array (fs/grow.h, sim/base) as the services and the viewer use it:
 * room for what is asked, contents kept across growth, new items zeroed when
 * asked, parallel arrays grown to one capacity, and a request too large for
 * memory refused with everything left as it was.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/grow.h"

static void appending_keeps_every_item(void **state)
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
	size_t before = cap;
	assert_int_equal(FS_GROW(a, cap, 10), 0); /* room already: nothing moves */
	assert_int_equal(cap, before);
	free(a);
}

static void zeroed_growth_clears_only_new_items(void **state)
{
	(void)state;
	uint64_t *a = NULL;
	size_t cap = 0;
	assert_int_equal(FS_GROW_ZEROED(a, cap, 3), 0);
	for (size_t i = 0; i < cap; i++) {
		assert_int_equal(a[i], 0);
	}
	a[0] = 42;
	size_t old = cap;
	assert_int_equal(FS_GROW_ZEROED(a, cap, old * 4 + 1), 0);
	assert_int_equal(a[0], 42);
	for (size_t i = old; i < cap; i++) {
		assert_int_equal(a[i], 0);
	}
	free(a);
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
	free(x);
	free(kind);
}

static void an_impossible_size_is_refused(void **state)
{
	(void)state;
	uint32_t *a = NULL;
	size_t cap = 0;
	assert_int_equal(FS_GROW(a, cap, 4), 0);
	a[0] = 5;
	uint32_t *kept = a;
	assert_int_equal(FS_GROW(a, cap, SIZE_MAX / 2), -ENOMEM);
	assert_ptr_equal(a, kept);
	assert_true(cap >= 4 && cap < SIZE_MAX / 2);
	assert_int_equal(a[0], 5);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(appending_keeps_every_item),
		cmocka_unit_test(zeroed_growth_clears_only_new_items),
		cmocka_unit_test(parallel_arrays_share_one_capacity),
		cmocka_unit_test(an_impossible_size_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
