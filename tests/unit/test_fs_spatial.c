/* SPDX-License-Identifier: Apache-2.0 */
/* Moving-point index: kNN and radius answers equal brute force after random
 * inserts, moves and removes, whatever the insertion order. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fs/rng.h"
#include "fs/spatial.h"

#define N 4000

struct world {
	double x[N], y[N];
	bool live[N];
};

static int brute_cmp(const void *pa, const void *pb)
{
	const struct fs_spatial_hit *a = pa, *b = pb;
	if (a->dist_m != b->dist_m) {
		return a->dist_m < b->dist_m ? -1 : 1;
	}
	return a->id < b->id ? -1 : a->id > b->id;
}

static bool keep_even(void *user, uint32_t id)
{
	(void)user;
	return id % 2 == 0;
}

/* All live points (passing @even_only) sorted by (distance, id), like the index. */
static size_t brute(const struct world *w, double x, double y, bool even_only,
		    struct fs_spatial_hit *out)
{
	size_t n = 0;
	for (uint32_t i = 0; i < N; i++) {
		if (!w->live[i] || (even_only && i % 2)) {
			continue;
		}
		double dx = w->x[i] - x, dy = w->y[i] - y;
		out[n++] = (struct fs_spatial_hit){ .id = i, .dist_m = dx * dx + dy * dy };
	}
	qsort(out, n, sizeof(*out), brute_cmp);
	for (size_t i = 0; i < n; i++) {
		out[i].dist_m = sqrt(out[i].dist_m);
	}
	return n;
}

static void check_queries(const struct fs_spatial *s, const struct world *w, struct fs_rng *rng,
			  int queries)
{
	static struct fs_spatial_hit want[N], got[N];
	struct fs_spatial_hits hits = { 0 };
	for (int q = 0; q < queries; q++) {
		/* Queries reach 20 % beyond the 10 km box on every side. */
		double x = -2000.0 + 14000.0 * fs_rng_uniform(rng);
		double y = -2000.0 + 14000.0 * fs_rng_uniform(rng);
		bool even = q % 3 == 0;
		size_t k = 1 + fs_rng_below(rng, q % 10 == 0 ? 300 : 12);
		size_t nb = brute(w, x, y, even, want);
		size_t ng = fs_spatial_knn(s, x, y, k, even ? keep_even : NULL, NULL, got);
		assert_int_equal(ng, nb < k ? nb : k);
		for (size_t i = 0; i < ng; i++) {
			assert_int_equal(got[i].id, want[i].id);
			assert_true(got[i].dist_m == want[i].dist_m);
		}
		double radius = 50.0 + 900.0 * fs_rng_uniform(rng);
		int nr = fs_spatial_radius(s, x, y, radius, even ? keep_even : NULL, NULL, &hits);
		size_t expect = 0;
		while (expect < nb && want[expect].dist_m <= radius) {
			expect++;
		}
		assert_int_equal(nr, expect);
		for (size_t i = 0; i < expect; i++) {
			assert_int_equal(hits.items[i].id, want[i].id);
		}
	}
	fs_spatial_hits_finish(&hits);
}

static void knn_and_radius_equal_brute_force_after_moves(void **state)
{
	static struct world w;
	struct fs_rng rng;
	fs_rng_init(&rng, 7, FS_RNG_STREAM_TEST, 1);
	/* Cell 150 m: about the point spacing (10 km / sqrt(4000)). */
	struct fs_spatial *s = fs_spatial_create(0, 0, 10000, 10000, 150);
	assert_non_null(s);
	for (uint32_t i = 0; i < N; i++) {
		/* Clustered: half the points in a 1 km square, some outside the box. */
		double span = i % 2 ? 1000.0 : 11000.0;
		w.x[i] = (i % 2 ? 4000.0 : -500.0) + span * fs_rng_uniform(&rng);
		w.y[i] = (i % 2 ? 4000.0 : -500.0) + span * fs_rng_uniform(&rng);
		w.live[i] = true;
		assert_int_equal(fs_spatial_insert(s, i, w.x[i], w.y[i]), 0);
	}
	/* Exact ties: a ring of points at equal distance from (5000, 5000). */
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t id = 100 + i * 37;
		w.x[id] = 5000.0 + (i < 4 ? (i % 2 ? 300.0 : -300.0) : 0.0);
		w.y[id] = 5000.0 + (i >= 4 ? (i % 2 ? 300.0 : -300.0) : 0.0);
		assert_int_equal(fs_spatial_move(s, id, w.x[id], w.y[id]), 0);
	}
	assert_int_equal(fs_spatial_count(s), N);
	check_queries(s, &w, &rng, 300);

	for (int round = 0; round < 5; round++) {
		for (int m = 0; m < N; m++) {
			uint32_t id = (uint32_t)fs_rng_below(&rng, N);
			double u = fs_rng_uniform(&rng);
			if (u < 0.1) {
				if (w.live[id]) {
					assert_int_equal(fs_spatial_remove(s, id), 0);
					w.live[id] = false;
				} else {
					assert_int_equal(fs_spatial_remove(s, id), -ENOENT);
				}
			} else if (u < 0.2 && !w.live[id]) {
				w.x[id] = 10000.0 * fs_rng_uniform(&rng);
				w.y[id] = 10000.0 * fs_rng_uniform(&rng);
				assert_int_equal(fs_spatial_insert(s, id, w.x[id], w.y[id]), 0);
				w.live[id] = true;
			} else if (w.live[id]) {
				/* Mostly small moves (a tick of driving), some jumps. */
				double step = u < 0.9 ? 30.0 : 3000.0;
				w.x[id] += step * (fs_rng_uniform(&rng) - 0.5);
				w.y[id] += step * (fs_rng_uniform(&rng) - 0.5);
				assert_int_equal(fs_spatial_move(s, id, w.x[id], w.y[id]), 0);
			}
		}
		size_t live = 0;
		for (int i = 0; i < N; i++) {
			live += w.live[i];
			double gx, gy;
			assert_int_equal(fs_spatial_get(s, (uint32_t)i, &gx, &gy), w.live[i]);
			if (w.live[i]) {
				assert_true(gx == w.x[i] && gy == w.y[i]);
			}
		}
		assert_int_equal(fs_spatial_count(s), live);
		check_queries(s, &w, &rng, 200);
	}
	fs_spatial_destroy(s);
}

static void answers_do_not_depend_on_insertion_order(void **state)
{
	enum { M = 2000 };
	static double x[M], y[M];
	struct fs_rng rng;
	fs_rng_init(&rng, 11, FS_RNG_STREAM_TEST, 2);
	/* Coarse coordinates on a 50 m lattice: many exact distance ties. */
	for (int i = 0; i < M; i++) {
		x[i] = 50.0 * (double)fs_rng_below(&rng, 60);
		y[i] = 50.0 * (double)fs_rng_below(&rng, 60);
	}
	struct fs_spatial *a = fs_spatial_create(0, 0, 3000, 3000, 100);
	struct fs_spatial *b = fs_spatial_create(0, 0, 3000, 3000, 100);
	assert_non_null(a);
	assert_non_null(b);
	for (int i = 0; i < M; i++) {
		assert_int_equal(fs_spatial_insert(a, (uint32_t)i, x[i], y[i]), 0);
		int j = M - 1 - i;
		/* b gets the points in reverse order, first at a wrong place. */
		assert_int_equal(fs_spatial_insert(b, (uint32_t)j, 3000 - x[j], y[j]), 0);
		assert_int_equal(fs_spatial_move(b, (uint32_t)j, x[j], y[j]), 0);
	}
	struct fs_spatial_hit ha[40], hb[40];
	for (int q = 0; q < 200; q++) {
		double qx = 50.0 * (double)fs_rng_below(&rng, 60);
		double qy = 50.0 * (double)fs_rng_below(&rng, 60);
		size_t na = fs_spatial_knn(a, qx, qy, 40, NULL, NULL, ha);
		size_t nb = fs_spatial_knn(b, qx, qy, 40, NULL, NULL, hb);
		assert_int_equal(na, 40);
		assert_int_equal(nb, 40);
		for (int i = 0; i < 40; i++) {
			assert_int_equal(ha[i].id, hb[i].id);
			if (i > 0) { /* sorted by distance, ties by id */
				assert_true(ha[i - 1].dist_m < ha[i].dist_m ||
					    (ha[i - 1].dist_m == ha[i].dist_m && ha[i - 1].id < ha[i].id));
			}
		}
	}
	fs_spatial_destroy(a);
	fs_spatial_destroy(b);
}

static void edge_cases(void **state)
{
	assert_null(fs_spatial_create(0, 0, 10, 10, 0));
	assert_null(fs_spatial_create(0, 0, -10, 10, 1));
	assert_null(fs_spatial_create(0, 0, NAN, 10, 1));
	fs_spatial_destroy(NULL);
	/* A huge box for the cell size: the cells are enlarged, not refused. */
	struct fs_spatial *big = fs_spatial_create(0, 0, 1e7, 1e7, 1);
	assert_non_null(big);
	fs_spatial_destroy(big);

	struct fs_spatial *s = fs_spatial_create(0, 0, 1000, 1000, 100);
	assert_non_null(s);
	struct fs_spatial_hit h[4];
	struct fs_spatial_hits hits = { 0 };
	assert_int_equal(fs_spatial_knn(s, 5, 5, 4, NULL, NULL, h), 0);
	assert_int_equal(fs_spatial_radius(s, 5, 5, 100, NULL, NULL, &hits), 0);
	assert_int_equal(fs_spatial_move(s, 3, 1, 1), -ENOENT);
	assert_int_equal(fs_spatial_remove(s, 1u << 30), -ENOENT);
	assert_false(fs_spatial_get(s, 3, NULL, NULL));
	assert_int_equal(fs_spatial_insert(s, 3, NAN, 1), -EINVAL);
	assert_int_equal(fs_spatial_insert(s, 3, 10, 10), 0);
	assert_int_equal(fs_spatial_insert(s, 3, 20, 20), -EEXIST);
	assert_int_equal(fs_spatial_move(s, 3, INFINITY, 0), -EINVAL);
	/* A sparse large id works (the slot table grows). */
	assert_int_equal(fs_spatial_insert(s, 100000, -5000, 7000), 0);
	assert_int_equal(fs_spatial_knn(s, 0, 0, 4, NULL, NULL, h), 2); /* k > count */
	assert_int_equal(h[0].id, 3);
	assert_int_equal(h[1].id, 100000);
	assert_true(fabs(h[1].dist_m - sqrt(5000.0 * 5000 + 7000.0 * 7000)) < 1e-9);
	/* Query far outside the box still finds the nearest. */
	assert_int_equal(fs_spatial_knn(s, -1e6, 7000, 1, NULL, NULL, h), 1);
	assert_int_equal(h[0].id, 100000);
	assert_int_equal(fs_spatial_knn(s, 10, 10, 0, NULL, NULL, h), 0);
	assert_int_equal(fs_spatial_radius(s, 10, 10, 0, NULL, NULL, &hits), 1);
	assert_int_equal(hits.items[0].id, 3);
	assert_true(hits.items[0].dist_m == 0.0);
	assert_int_equal(fs_spatial_remove(s, 3), 0);
	assert_int_equal(fs_spatial_remove(s, 3), -ENOENT);
	assert_int_equal(fs_spatial_count(s), 1);
	fs_spatial_hits_finish(&hits);
	fs_spatial_hits_finish(&hits);
	fs_spatial_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(knn_and_radius_equal_brute_force_after_moves),
		cmocka_unit_test(answers_do_not_depend_on_insertion_order),
		cmocka_unit_test(edge_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
