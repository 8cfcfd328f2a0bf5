/* SPDX-License-Identifier: Apache-2.0 */
/* Random streams: reproducible per (seed, stream, entity), independent of each other. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fs/rng.h"

static void same_keys_same_stream(void **state)
{
	struct fs_rng a, b;
	fs_rng_init(&a, 42, FS_RNG_STREAM_TEST, 7);
	fs_rng_init(&b, 42, FS_RNG_STREAM_TEST, 7);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(fs_rng_next(&a), fs_rng_next(&b));
	}
}

static void any_key_changes_the_stream(void **state)
{
	struct fs_rng base, s, st, e;
	fs_rng_init(&base, 42, 1, 7);
	fs_rng_init(&s, 43, 1, 7);
	fs_rng_init(&st, 42, 2, 7);
	fs_rng_init(&e, 42, 1, 8);
	uint64_t x = fs_rng_next(&base);
	assert_int_not_equal(x, fs_rng_next(&s));
	assert_int_not_equal(x, fs_rng_next(&st));
	assert_int_not_equal(x, fs_rng_next(&e));
}

static void uniform_and_below_are_in_range_and_unbiased(void **state)
{
	struct fs_rng r;
	fs_rng_init(&r, 1, FS_RNG_STREAM_TEST, 0);
	int counts[10] = { 0 };
	double sum = 0;
	const int n = 200000;
	for (int i = 0; i < n; i++) {
		double u = fs_rng_uniform(&r);
		assert_true(u >= 0.0 && u < 1.0);
		sum += u;
		uint64_t k = fs_rng_below(&r, 10);
		assert_true(k < 10);
		counts[k]++;
	}
	assert_true(fabs(sum / n - 0.5) < 0.005);
	for (int k = 0; k < 10; k++) {
		assert_true(abs(counts[k] - n / 10) < n / 100); /* within 10 % of expected */
	}
}

static void distributions_have_their_means(void **state)
{
	struct fs_rng r;
	fs_rng_init(&r, 99, FS_RNG_STREAM_TEST, 0);
	const int n = 100000;
	double se = 0, sn = 0, sn2 = 0, sp = 0, sp_big = 0;
	for (int i = 0; i < n; i++) {
		se += fs_rng_exponential(&r, 4.0);
		double z = fs_rng_normal(&r);
		sn += z;
		sn2 += z * z;
		sp += (double)fs_rng_poisson(&r, 3.5);
	}
	for (int i = 0; i < 2000; i++) {
		sp_big += (double)fs_rng_poisson(&r, 250.0);
	}
	assert_true(fabs(se / n - 0.25) < 0.005);
	assert_true(fabs(sn / n) < 0.02);
	assert_true(fabs(sn2 / n - 1.0) < 0.02);
	assert_true(fabs(sp / n - 3.5) < 0.03);
	assert_true(fabs(sp_big / 2000 - 250.0) < 2.0);
	assert_int_equal(fs_rng_poisson(&r, 0.0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_keys_same_stream),
		cmocka_unit_test(any_key_changes_the_stream),
		cmocka_unit_test(uniform_and_below_are_in_range_and_unbiased),
		cmocka_unit_test(distributions_have_their_means),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
