/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_spatial - fs_spatial at fleet scale: 100,000 vehicles in a 30 x 30 km
 * city, re-indexed every 1 s tick, with kNN and radius queries; brute force
 * measured in the same run for the ratio.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_clock.h"
#include "fs/rng.h"
#include "fs/spatial.h"

#define N 100000
#define SIDE 30000.0

static double xs[N], ys[N];

static unsigned brute_nearest(double x, double y)
{
	unsigned best = 0;
	double bd = 1e300;
	for (unsigned i = 0; i < N; i++) {
		double dx = xs[i] - x, dy = ys[i] - y, d = dx * dx + dy * dy;
		if (d < bd || (d == bd && i < best)) {
			bd = d;
			best = i;
		}
	}
	return best;
}

int main(void)
{
	struct fs_rng rng;
	fs_rng_init(&rng, 1, FS_RNG_STREAM_TEST, 0);
	/* Cell ~ the mean spacing: sqrt(30 km^2 / 100k) = 95 m. */
	struct fs_spatial *s = fs_spatial_create(0, 0, SIDE, SIDE, 100.0);
	if (!s) {
		return 1;
	}
	for (int i = 0; i < N; i++) {
		xs[i] = SIDE * fs_rng_uniform(&rng);
		ys[i] = SIDE * fs_rng_uniform(&rng);
	}
	double t = bench_now_s();
	for (unsigned i = 0; i < N; i++) {
		fs_spatial_insert(s, i, xs[i], ys[i]);
	}
	double insert_s = bench_now_s() - t;

	/* Ticks: every vehicle moves up to 10 m in x and y (~10 m/s over 1 s). */
	enum { TICKS = 20 };
	t = bench_now_s();
	for (int k = 0; k < TICKS; k++) {
		for (unsigned i = 0; i < N; i++) {
			xs[i] += 20.0 * (fs_rng_uniform(&rng) - 0.5);
			ys[i] += 20.0 * (fs_rng_uniform(&rng) - 0.5);
			fs_spatial_move(s, i, xs[i], ys[i]);
		}
	}
	double tick_s = (bench_now_s() - t) / TICKS;

	enum { Q = 100000, QB = 500 };
	struct fs_spatial_hit hits[10];
	double qx[Q], qy[Q];
	for (int q = 0; q < Q; q++) {
		qx[q] = SIDE * fs_rng_uniform(&rng);
		qy[q] = SIDE * fs_rng_uniform(&rng);
	}
	t = bench_now_s();
	size_t found = 0;
	for (int q = 0; q < Q; q++) {
		found += fs_spatial_knn(s, qx[q], qy[q], 10, NULL, NULL, hits);
	}
	double knn10_s = (bench_now_s() - t) / Q;
	t = bench_now_s();
	for (int q = 0; q < Q; q++) {
		found += fs_spatial_knn(s, qx[q], qy[q], 1, NULL, NULL, hits);
	}
	double knn1_s = (bench_now_s() - t) / Q;
	unsigned brute[QB], mismatch = 0;
	t = bench_now_s();
	for (int q = 0; q < QB; q++) {
		brute[q] = brute_nearest(qx[q], qy[q]);
	}
	double brute_s = (bench_now_s() - t) / QB;
	for (int q = 0; q < QB; q++) {
		fs_spatial_knn(s, qx[q], qy[q], 1, NULL, NULL, hits);
		mismatch += hits[0].id != brute[q];
	}
	struct fs_spatial_hits rh = { 0 };
	t = bench_now_s();
	size_t in_radius = 0;
	for (int q = 0; q < Q / 10; q++) {
		int n = fs_spatial_radius(s, qx[q], qy[q], 500.0, NULL, NULL, &rh);
		in_radius += n > 0 ? (size_t)n : 0;
	}
	double radius_s = (bench_now_s() - t) / (Q / 10);

	printf("fs_spatial, %d points in %.0f x %.0f km, 100 m cells (one run)\n", N, SIDE / 1000,
	       SIDE / 1000);
	printf("  insert              %8.1f ns/point\n", 1e9 * insert_s / N);
	printf("  move (1 s tick)     %8.2f ms/tick for all %d  (%.1f ns/move)\n", 1e3 * tick_s, N,
	       1e9 * tick_s / N);
	printf("  kNN k=10            %8.2f us/query\n", 1e6 * knn10_s);
	printf("  kNN k=1             %8.2f us/query (brute force %.1f us: %.0fx; %u/%d mismatches)\n",
	       1e6 * knn1_s, 1e6 * brute_s, brute_s / knn1_s, mismatch, QB);
	printf("  radius 500 m        %8.2f us/query (%.1f points on average)\n", 1e6 * radius_s,
	       (double)in_radius / (Q / 10));
	fs_spatial_hits_finish(&rh);
	fs_spatial_destroy(s);
	return found == 0 || mismatch;
}
