/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_route - road network loading and routing figures for Atlanta and Columbus.
 *
 * Usage: bench_route [SOURCE_ROOT]   (default $FS_SOURCE_ROOT or ".")
 * Prints, per city: OSM parse time (cold), cache load time, CH build time,
 * point-to-point queries/s for CH and Dijkstra in the same run (and their
 * ratio), position queries with path unpacking, many-to-one / one-to-many
 * with 1,000 endpoints against 1,000 separate queries, and snapping.
 * Single thread; wall-clock (CLOCK_MONOTONIC) times.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_clock.h"
#include "fs/network.h"
#include "fs/network_load.h"
#include "fs/rng.h"
#include "fs/route.h"

static void die(const char *what, const struct fs_error *err)
{
	fprintf(stderr, "bench_route: %s: %s\n", what, err ? err->message : "failed");
	exit(EXIT_FAILURE);
}

static struct fs_road_pos random_pos(struct fs_rng *rng, const struct fs_network *net)
{
	uint32_t e = (uint32_t)fs_rng_below(rng, net->edge_count);
	return (struct fs_road_pos){ e, fs_rng_uniform(rng) * net->edges[e].length_m };
}

static void bench_city(const char *root, const char *name, const char *rel, const char *tmp_dir)
{
	char osm[1024], cache[1100];
	snprintf(osm, sizeof(osm), "%s/%s", root, rel);
	snprintf(cache, sizeof(cache), "%s/%s.fsnet", tmp_dir, name);
	struct fs_error err = { 0 };

	/* Loading: best of 3 (the first run also warms the page cache). */
	double cold = INFINITY, cached = INFINITY;
	struct fs_network *net = NULL;
	for (int i = 0; i < 3; i++) {
		fs_network_destroy(net);
		double t0 = bench_now_s();
		net = fs_network_load_osm(osm, &err);
		cold = fmin(cold, bench_now_s() - t0);
		if (!net) {
			die(osm, &err);
		}
	}
	if (fs_network_save_cache(net, cache, &err) < 0) {
		die(cache, &err);
	}
	for (int i = 0; i < 5; i++) {
		double t0 = bench_now_s();
		struct fs_network *back = fs_network_load_cache(cache, &err);
		cached = fmin(cached, bench_now_s() - t0);
		if (!back) {
			die(cache, &err);
		}
		fs_network_destroy(back);
	}
	long cache_bytes = 0;
	FILE *f = fopen(cache, "rb");
	if (f) {
		fseek(f, 0, SEEK_END);
		cache_bytes = ftell(f);
		fclose(f);
	}
	unlink(cache);

	double t0 = bench_now_s();
	struct fs_router *r = fs_router_create(net, NULL, &err);
	double build = bench_now_s() - t0;
	if (!r) {
		die("router", &err);
	}
	struct fs_route_query *q = fs_route_query_create(r);
	if (!q) {
		die("query", NULL);
	}

	printf("\n== %s (%s)\n", name, rel);
	printf("network             %u nodes, %u directed edges (largest SCC), %u shape points\n",
	       net->node_count, net->edge_count, net->shape_count);
	printf("load OSM (cold)     %8.1f ms\n", cold * 1e3);
	printf("load cache          %8.2f ms  (%.1fx faster, %.1f MB file)\n", cached * 1e3,
	       cold / cached, cache_bytes / 1e6);
	printf("CH build            %8.1f ms  (%llu shortcuts, %.2f per edge)\n", build * 1e3,
	       (unsigned long long)fs_router_shortcut_count(r),
	       (double)fs_router_shortcut_count(r) / net->edge_count);

	/* Point to point, node to node, random pairs; the same pairs for both. */
	struct fs_rng rng;
	fs_rng_init(&rng, 2024, FS_RNG_STREAM_TEST, 0);
	const uint32_t pairs = 200000;
	uint32_t *src = malloc(pairs * sizeof(*src)), *dst = malloc(pairs * sizeof(*dst));
	for (uint32_t i = 0; i < pairs; i++) {
		src[i] = (uint32_t)fs_rng_below(&rng, net->node_count);
		dst[i] = (uint32_t)fs_rng_below(&rng, net->node_count);
	}
	double sum = 0.0, t;
	t0 = bench_now_s();
	for (uint32_t i = 0; i < pairs; i++) {
		if (fs_route_nodes(q, 8, src[i], dst[i], &t, NULL) == 0) {
			sum += t;
		}
	}
	double ch_s = (bench_now_s() - t0) / pairs;
	const uint32_t dpairs = net->node_count > 10000 ? 500 : 3000;
	double dsum = 0.0, chk = 0.0;
	t0 = bench_now_s();
	for (uint32_t i = 0; i < dpairs; i++) {
		if (fs_router_dijkstra(q, 8, src[i], dst[i], &t, NULL) == 0) {
			dsum += t;
		}
	}
	double dij_s = (bench_now_s() - t0) / dpairs;
	for (uint32_t i = 0; i < dpairs; i++) {
		if (fs_route_nodes(q, 8, src[i], dst[i], &t, NULL) == 0) {
			chk += t;
		}
	}
	printf("p2p CH              %8.0f queries/s  (%.2f us each, mean trip %.0f s)\n", 1.0 / ch_s,
	       ch_s * 1e6, sum / pairs);
	printf("p2p Dijkstra        %8.0f queries/s  (%.0f us each; CH is %.0fx faster; sums agree: %s)\n",
	       1.0 / dij_s, dij_s * 1e6, dij_s / ch_s,
	       fabs(dsum - chk) <= 1e-6 * dsum ? "yes" : "NO");

	/* Positions with the path unpacked into network edges. */
	struct fs_path path = { 0 };
	const uint32_t ppairs = 100000;
	uint64_t edges_out = 0;
	t0 = bench_now_s();
	for (uint32_t i = 0; i < ppairs; i++) {
		struct fs_road_pos a = random_pos(&rng, net), b = random_pos(&rng, net);
		if (fs_route_positions(q, 8, a, b, &t, &path) == 0) {
			edges_out += path.count;
		}
	}
	double pos_s = (bench_now_s() - t0) / ppairs;
	printf("p2p positions+path  %8.0f queries/s  (%.2f us each, %.0f edges per path)\n",
	       1.0 / pos_s, pos_s * 1e6, (double)edges_out / ppairs);
	fs_path_finish(&path);

	/* Many vehicles to one pickup, and one vehicle to many pickups. */
	enum { MANY = 1000, CALLS = 50 };
	struct fs_road_pos *many = malloc(MANY * sizeof(*many));
	double *times = malloc(MANY * sizeof(*times));
	for (uint32_t i = 0; i < MANY; i++) {
		many[i] = random_pos(&rng, net);
	}
	struct fs_road_pos targets[CALLS];
	for (int c = 0; c < CALLS; c++) {
		targets[c] = random_pos(&rng, net);
	}
	t0 = bench_now_s();
	for (int c = 0; c < CALLS; c++) {
		fs_route_many_to_one(q, 8, many, MANY, targets[c], times);
	}
	double m2o = (bench_now_s() - t0) / CALLS;
	t0 = bench_now_s();
	for (int c = 0; c < CALLS; c++) {
		fs_route_one_to_many(q, 8, targets[c], many, MANY, times);
	}
	double o2m = (bench_now_s() - t0) / CALLS;
	const uint32_t few = 10;
	t0 = bench_now_s();
	for (int c = 0; c < CALLS; c++) {
		fs_route_many_to_one(q, 8, many, few, targets[c], times);
	}
	double m2o_few = (bench_now_s() - t0) / CALLS;
	t0 = bench_now_s();
	for (int c = 0; c < 5; c++) {
		for (uint32_t i = 0; i < MANY; i++) {
			fs_route_positions(q, 8, many[i], targets[c], &t, NULL);
		}
	}
	double separate = (bench_now_s() - t0) / 5;
	printf("many-to-one 1000    %8.3f ms per call, %.3f us per source (%.0fx faster than %d "
	       "separate queries: %.1f ms)\n",
	       m2o * 1e3, m2o * 1e6 / MANY, separate / m2o, MANY, separate * 1e3);
	printf("one-to-many 1000    %8.3f ms per call, %.3f us per target\n", o2m * 1e3,
	       o2m * 1e6 / MANY);
	printf("many-to-one 10      %8.3f ms per call, %.2f us per source\n", m2o_few * 1e3,
	       m2o_few * 1e6 / few);

	/* Snapping random points in the bounding box. */
	struct fs_network_index *idx = fs_network_index_create(net, false);
	const uint32_t snaps = 200000;
	double dist_sum = 0.0;
	t0 = bench_now_s();
	for (uint32_t i = 0; i < snaps; i++) {
		double x = net->min_x + fs_rng_uniform(&rng) * (net->max_x - net->min_x);
		double y = net->min_y + fs_rng_uniform(&rng) * (net->max_y - net->min_y);
		uint32_t edge;
		double off, dist;
		if (fs_network_snap(net, idx, x, y, &edge, &off, &dist) == 0) {
			dist_sum += dist;
		}
	}
	double snap_s = (bench_now_s() - t0) / snaps;
	printf("snap                %8.0f points/s (%.2f us each, mean distance %.0f m)\n",
	       1.0 / snap_s, snap_s * 1e6, dist_sum / snaps);
	fs_network_index_destroy(idx);

	/* A per-class congestion profile: motorways 2.5x slower in the peaks. */
	struct fs_router_options opts;
	fs_router_options_defaults(&opts);
	for (int h = 0; h < FS_ROUTE_HOURS; h++) {
		bool peak = (h >= 7 && h <= 9) || (h >= 16 && h <= 18);
		for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
			opts.time_factor[h][c] = peak ? 1.3 : 1.0;
		}
		if (peak) {
			opts.time_factor[h][FS_ROAD_MOTORWAY] = 2.5;
			opts.time_factor[h][FS_ROAD_MOTORWAY_LINK] = 2.5;
		}
	}
	t0 = bench_now_s();
	struct fs_router *r2 = fs_router_create(net, &opts, &err);
	double build2 = bench_now_s() - t0;
	if (!r2) {
		die("router (profile)", &err);
	}
	printf("CH build, peak/off-peak per-class profile: %u hierarchies in %.1f ms\n",
	       fs_router_hierarchy_count(r2), build2 * 1e3);
	fs_router_destroy(r2);

	free(many);
	free(times);
	free(src);
	free(dst);
	fs_route_query_destroy(q);
	fs_router_destroy(r);
	fs_network_destroy(net);
}

int main(int argc, char **argv)
{
	const char *root = argc > 1 ? argv[1] : getenv("FS_SOURCE_ROOT");
	if (!root) {
		root = ".";
	}
	char tmp_dir[] = "/tmp/fs_bench_route_XXXXXX";
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	printf("bench_route: single thread, hour 8, uniform free-flow factors unless stated\n");
	bench_city(root, "atlanta", "data/osm/atlanta.osm.pbf", tmp_dir);
	bench_city(root, "columbus", "data/osm/columbus.osm.pbf", tmp_dir);
	rmdir(tmp_dir);
	return EXIT_SUCCESS;
}
