/* SPDX-License-Identifier: Apache-2.0 */
/* Riders: each one's draws are fixed by (seed, request id); patience follows its Weibull
 * survival and hazard; boarding and alighting have their median and 95th percentile; the
 * share of no-shows; what the vehicle model is told. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fs/rider.h"
#include "fs/rng.h"

#define N 40000

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The @p quantile of @n sorted values (nearest rank). */
static double quantile(const double *v, size_t n, double p)
{
	return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

static void same_rider_whatever_the_order(void **state)
{
	struct fs_rider_params p;
	fs_rider_params_defaults(&p);
	struct fs_rider forward[100], r;
	for (uint64_t id = 1; id <= 100; id++) {
		fs_rider_draw(&p, 7, id, &forward[id - 1]);
	}
	for (uint64_t id = 100; id >= 1; id--) {
		/* another stream drawn in between changes nothing: the rider has a stream of its own */
		struct fs_rng other;
		fs_rng_init(&other, 7, FS_RNG_STREAM_DEMAND, id);
		(void)fs_rng_next(&other);
		fs_rider_draw(&p, 7, id, &r);
		assert_true(r.patience_s == forward[id - 1].patience_s && r.board_s == forward[id - 1].board_s &&
			    r.alight_s == forward[id - 1].alight_s && r.no_show == forward[id - 1].no_show);
	}
	fs_rider_draw(&p, 7, 2, &r);
	assert_true(r.patience_s != forward[0].patience_s && r.board_s != forward[0].board_s);
	fs_rider_draw(&p, 8, 1, &r);
	assert_true(r.patience_s != forward[0].patience_s && r.board_s != forward[0].board_s);
}

/* Draw the patience of @n riders of @p, sorted. */
static double *patiences(const struct fs_rider_params *p, size_t n)
{
	double *v = malloc(n * sizeof(*v));
	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		struct fs_rider r;
		fs_rider_draw(p, 11, i + 1, &r);
		assert_true(r.patience_s > 0 && isfinite(r.patience_s));
		v[i] = r.patience_s;
	}
	qsort(v, n, sizeof(*v), compare_double);
	return v;
}

static void patience_follows_its_survival_function(void **state)
{
	struct fs_rider_params p;
	fs_rider_params_defaults(&p);
	double *v = patiences(&p, N);
	assert_true(fabs(quantile(v, N, 0.5) / p.patience_median_s - 1.0) < 0.02);
	assert_true(fabs(fs_rider_patience_survival(&p, p.patience_median_s) - 0.5) < 1e-12);
	/* the share still waiting after w, against exp(-(w / l)^k): within 4 binomial sigmas */
	const double waits[] = { 30, 60, 120, 300, 600, 900, 1200, 1800 };
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		size_t still = 0;
		for (size_t j = 0; j < N; j++) {
			still += v[j] > waits[i];
		}
		double s = fs_rider_patience_survival(&p, waits[i]);
		assert_true(fabs((double)still / N - s) < 4.0 * sqrt(s * (1 - s) / N) + 1e-4);
	}
	free(v);
	/* shape 1: a constant hazard, an exponential patience with mean median / ln 2 */
	p.patience_shape = 1.0;
	v = patiences(&p, N);
	double mean = 0;
	for (size_t j = 0; j < N; j++) {
		mean += v[j] / N;
	}
	assert_true(fabs(mean / (p.patience_median_s / log(2.0)) - 1.0) < 0.03);
	free(v);
}

static void hazard_rises_with_the_time_waited(void **state)
{
	struct fs_rider_params p;
	fs_rider_params_defaults(&p);
	double last = 0;
	for (double w = 30; w <= 1800; w += 30) {
		double h = fs_rider_patience_hazard(&p, w);
		assert_true(h > last); /* k = 2: each further minute is likelier to end the wait */
		last = h;
		/* the hazard is -d ln S / dw */
		double dw = 1e-3, ds = log(fs_rider_patience_survival(&p, w + dw)) - log(fs_rider_patience_survival(&p, w - dw));
		assert_true(fabs(-ds / (2 * dw) / h - 1.0) < 1e-5);
	}
	p.patience_shape = 1.0;
	assert_true(fabs(fs_rider_patience_hazard(&p, 60) - log(2.0) / p.patience_median_s) < 1e-12);
	assert_true(fabs(fs_rider_patience_hazard(&p, 600) - log(2.0) / p.patience_median_s) < 1e-12);
	p.patience_shape = 0.5;
	assert_true(fs_rider_patience_hazard(&p, 60) > fs_rider_patience_hazard(&p, 600));
}

/* Median and 95th percentile of @n draws of board (which = 0) or alight (1) time. */
static void dwell_quantiles(const struct fs_rider_params *p, int which, double *ret_median, double *ret_p95)
{
	double *v = malloc(N * sizeof(*v));
	assert_non_null(v);
	for (size_t i = 0; i < N; i++) {
		struct fs_rider r;
		fs_rider_draw(p, 5, i + 1, &r);
		v[i] = which ? r.alight_s : r.board_s;
		assert_true(v[i] >= 0 && isfinite(v[i]));
	}
	qsort(v, N, sizeof(*v), compare_double);
	*ret_median = quantile(v, N, 0.5);
	*ret_p95 = quantile(v, N, 0.95);
	free(v);
}

static void boarding_and_alighting_have_their_median_and_p95(void **state)
{
	struct fs_rider_params p;
	fs_rider_params_defaults(&p);
	double m, q;
	dwell_quantiles(&p, 0, &m, &q);
	assert_true(fabs(m / p.board_median_s - 1) < 0.03 && fabs(q / p.board_p95_s - 1) < 0.04);
	dwell_quantiles(&p, 1, &m, &q);
	assert_true(fabs(m / p.alight_median_s - 1) < 0.03 && fabs(q / p.alight_p95_s - 1) < 0.04);
	/* no spread: everyone takes the median; a zero median is no time at all */
	p.board_p95_s = p.board_median_s;
	p.alight_median_s = p.alight_p95_s = 0;
	for (uint64_t id = 1; id <= 100; id++) {
		struct fs_rider r;
		fs_rider_draw(&p, 5, id, &r);
		assert_true(r.board_s == p.board_median_s && r.alight_s == 0);
	}
}

static void no_shows_and_what_the_car_is_told(void **state)
{
	struct fs_rider_params p;
	fs_rider_params_defaults(&p);
	size_t never = 0, late = 0;
	for (uint64_t id = 1; id <= N; id++) {
		struct fs_rider r;
		fs_rider_draw(&p, 3, id, &r);
		never += r.no_show;
		late += !r.no_show && r.board_s > 300;
		int32_t board, alight;
		fs_rider_dwells(&r, 300, &board, &alight);
		assert_int_equal(board, fs_rider_shows(&r, 300) ? lround(r.board_s) : -1);
		assert_int_equal(alight, lround(r.alight_s));
		assert_true(fs_rider_shows(&r, 300) == (!r.no_show && r.board_s <= 300));
	}
	double sd = sqrt(p.no_show_share * (1 - p.no_show_share) / N);
	assert_true(fabs((double)never / N - p.no_show_share) < 4 * sd);
	/* a few come too late for a car that waits 5 min: log-normal median 30 s, p95 2 min */
	assert_true(late > 0 && late < N / 100);
	struct fs_rider r = { .patience_s = 100, .board_s = 12.4, .alight_s = 7.6, .no_show = false };
	int32_t board, alight;
	fs_rider_dwells(&r, 300, &board, &alight);
	assert_true(board == 12 && alight == 8);
	fs_rider_dwells(&r, 10, &board, &alight); /* comes after the car has gone */
	assert_int_equal(board, -1);
	r.no_show = true;
	fs_rider_dwells(&r, 300, &board, &alight);
	assert_int_equal(board, -1);
}

static void bad_parameters_are_refused(void **state)
{
	struct fs_rider_params p, d;
	fs_rider_params_defaults(&d);
	assert_true(fs_rider_params_valid(&d));
	p = d, p.patience_median_s = 0;
	assert_false(fs_rider_params_valid(&p));
	p = d, p.patience_shape = NAN;
	assert_false(fs_rider_params_valid(&p));
	p = d, p.board_p95_s = p.board_median_s - 1;
	assert_false(fs_rider_params_valid(&p));
	p = d, p.alight_median_s = -1, p.alight_p95_s = 0;
	assert_false(fs_rider_params_valid(&p));
	p = d, p.no_show_share = 1.5;
	assert_false(fs_rider_params_valid(&p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_rider_whatever_the_order),
		cmocka_unit_test(patience_follows_its_survival_function),
		cmocka_unit_test(hazard_rises_with_the_time_waited),
		cmocka_unit_test(boarding_and_alighting_have_their_median_and_p95),
		cmocka_unit_test(no_shows_and_what_the_car_is_told),
		cmocka_unit_test(bad_parameters_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
