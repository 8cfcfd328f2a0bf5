/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Routing: contraction hierarchies against plain Dijkstra on real networks,
 * paths, positions, one-to-many / many-to-one, time-of-day factors.
 * FS_TEST_QUICK=1 cuts the random pair counts (for sanitizer builds).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/closures.h"
#include "fs/network.h"
#include "fs/network_load.h"
#include "fs/rng.h"
#include "fs/route.h"

#define REL_TOL 1e-6

static bool quick(void)
{
	const char *q = getenv("FS_TEST_QUICK");
	return q && *q && strcmp(q, "0") != 0;
}

static const char *data_path(const char *rel)
{
	static char path[1024];
	const char *root = getenv("FS_SOURCE_ROOT");
	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", rel);
	return path;
}

static struct fs_network *load(const char *rel)
{
	struct fs_error err = { 0 };
	struct fs_network *net = fs_network_load_osm(data_path(rel), &err);
	if (!net) {
		fail_msg("%s", err.message);
	}
	return net;
}

static void assert_close(double got, double want)
{
	if (!(fabs(got - want) <= REL_TOL * fmax(1.0, fabs(want)))) {
		fail_msg("got %.9f, want %.9f", got, want);
	}
}

static double edge_cost(const struct fs_network *net, const struct fs_router_options *opts,
			uint32_t hour, uint32_t e)
{
	return (double)net->edges[e].travel_time_s * opts->time_factor[hour][net->edges[e].road_class];
}

/* @path must run from node @from to node @to along connected edges, with no
 * banned turn, and cost @time (U-turns included). */
static void check_node_path(const struct fs_network *net, const struct fs_router_options *opts,
			    uint32_t hour, const struct fs_path *path, uint32_t from, uint32_t to,
			    double time)
{
	double sum = 0.0;
	uint32_t at = from;
	for (uint32_t i = 0; i < path->count; i++) {
		assert_true(path->edges[i] < net->edge_count);
		assert_int_equal(net->edges[path->edges[i]].from, at);
		at = net->edges[path->edges[i]].to;
		sum += edge_cost(net, opts, hour, path->edges[i]);
		if (i) {
			uint32_t a = path->edges[i - 1], b = path->edges[i];
			assert_true(opts->ignore_banned_turns || fs_network_turn_allowed(net, a, b));
			sum += net->edges[b].to == net->edges[a].from ? opts->uturn_penalty_s : 0.0;
		}
	}
	assert_int_equal(at, to);
	assert_close(sum, time);
}

/* Reference for positions, from Dijkstra between the edge ends. */
static double reference_positions(struct fs_route_query *q, const struct fs_network *net,
				  const struct fs_router_options *opts, uint32_t hour,
				  struct fs_road_pos a, struct fs_road_pos b)
{
	const struct fs_edge *ea = &net->edges[a.edge], *eb = &net->edges[b.edge];
	if (a.edge == b.edge && a.offset_m <= b.offset_m) {
		return edge_cost(net, opts, hour, a.edge) * (b.offset_m - a.offset_m) / ea->length_m;
	}
	double mid;
	if (fs_router_dijkstra(q, hour, ea->to, eb->from, &mid, NULL) < 0) {
		return INFINITY;
	}
	return edge_cost(net, opts, hour, a.edge) * (ea->length_m - a.offset_m) / ea->length_m + mid +
	       edge_cost(net, opts, hour, b.edge) * b.offset_m / eb->length_m;
}

static struct fs_road_pos random_pos(struct fs_rng *rng, const struct fs_network *net)
{
	uint32_t e;
	do {
		e = (uint32_t)fs_rng_below(rng, net->edge_count);
	} while (!(net->edges[e].length_m > 0.0f));
	return (struct fs_road_pos){ e, fs_rng_uniform(rng) * net->edges[e].length_m };
}

/* ---- grid ------------------------------------------------------------------- */

static void grid_times_are_manhattan(void **state)
{
	struct fs_network *net = fs_network_grid(5, 7, 100.0, 10.0, NULL);
	assert_non_null(net);
	struct fs_router_options opts;
	fs_router_options_defaults(&opts);
	struct fs_router *r = fs_router_create(net, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(fs_router_hierarchy_count(r), 1);
	struct fs_route_query *q = fs_route_query_create(r);
	assert_non_null(q);
	struct fs_path path = { 0 };
	for (uint32_t a = 0; a < net->node_count; a++) {
		for (uint32_t b = 0; b < net->node_count; b++) {
			double t;
			assert_int_equal(fs_route_nodes(q, 0, a, b, &t, &path), 0);
			int dx = abs((int)(a % 7) - (int)(b % 7)), dy = abs((int)(a / 7) - (int)(b / 7));
			assert_close(t, 10.0 * (dx + dy));
			assert_int_equal(path.count, dx + dy);
			check_node_path(net, &opts, 0, &path, a, b, t);
		}
	}
	double t = -1.0;
	assert_int_equal(fs_route_nodes(q, 24, 0, 1, &t, NULL), -EINVAL);
	assert_int_equal(fs_route_nodes(q, 0, 0, net->node_count, &t, NULL), -EINVAL);
	assert_int_equal(fs_router_dijkstra(q, 0, net->node_count, 0, &t, NULL), -EINVAL);
	assert_true(t == -1.0); /* never written on failure */

	/* positions on the same edge: ahead is direct, behind goes around the block */
	uint32_t e = net->out_first[8]; /* some edge out of interior node 8 */
	struct fs_road_pos p1 = { e, 20.0 }, p2 = { e, 70.0 };
	assert_int_equal(fs_route_positions(q, 0, p1, p2, &t, &path), 0);
	assert_close(t, 5.0);
	assert_int_equal(path.count, 1);
	assert_int_equal(path.edges[0], e);
	assert_int_equal(fs_route_positions(q, 0, p2, p1, &t, &path), 0);
	/* two U-turns (20 s each) would cost more than the block: rest, three sides, 20 m */
	assert_close(t, 3.0 + 30.0 + 2.0);
	assert_int_equal(path.count, 5);
	assert_int_equal(path.edges[0], e);
	assert_int_equal(path.edges[4], e);
	for (uint32_t i = 1; i < path.count; i++) {
		assert_int_equal(net->edges[path.edges[i - 1]].to, net->edges[path.edges[i]].from);
		assert_int_not_equal(net->edges[path.edges[i]].to, net->edges[path.edges[i - 1]].from);
	}
	fs_route_query_destroy(q);
	fs_router_destroy(r);
	/* free U-turns: back along the twin */
	opts.uturn_penalty_s = 0.0;
	r = fs_router_create(net, &opts, NULL);
	q = fs_route_query_create(r);
	assert_int_equal(fs_route_positions(q, 0, p2, p1, &t, &path), 0);
	assert_close(t, 3.0 + 10.0 + 2.0);
	assert_int_equal(path.count, 3);
	fs_path_finish(&path);
	fs_route_query_destroy(q);
	fs_router_destroy(r);
	fs_network_destroy(net);
	fs_router_destroy(NULL);
	fs_route_query_destroy(NULL);
}

static void unreachable_is_enoent_and_infinity(void **state)
{
	/* CSV networks are kept whole: node 40 is a dead end behind a one-way edge */
	char dir[] = "/tmp/fs_test_route_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char nodes[64], edges[64];
	snprintf(nodes, sizeof(nodes), "%s/n.csv", dir);
	snprintf(edges, sizeof(edges), "%s/e.csv", dir);
	FILE *f = fopen(nodes, "w");
	assert_non_null(f);
	fputs("id,x,y\n10,0,0\n20,100,0\n30,100,100\n40,200,100\n", f);
	fclose(f);
	f = fopen(edges, "w");
	assert_non_null(f);
	fputs("from,to,length_m,speed_mps\n10,20,100,10\n20,10,100,10\n20,30,100,10\n"
	      "30,20,100,10\n30,40,100,10\n",
	      f);
	fclose(f);
	struct fs_error err = { 0 };
	struct fs_network *net = fs_network_load_csv(nodes, edges, &err);
	remove(nodes);
	remove(edges);
	remove(dir);
	if (!net) {
		fail_msg("%s", err.message);
	}
	struct fs_router *r = fs_router_create(net, NULL, &err);
	assert_non_null(r);
	struct fs_route_query *q = fs_route_query_create(r);
	double t = -1.0;
	assert_int_equal(fs_route_nodes(q, 3, 3, 0, &t, NULL), -ENOENT);
	assert_int_equal(fs_router_dijkstra(q, 3, 3, 0, &t, NULL), -ENOENT);
	assert_true(t == -1.0);
	assert_int_equal(fs_route_nodes(q, 3, 0, 3, &t, NULL), 0);
	assert_close(t, 30.0);
	/* vehicles on 10->20 and on the dead-end edge, to a point on 20->30 */
	uint32_t e_dead = net->out_first[2]; /* 30 -> 40 is the only... check below */
	for (uint32_t e = net->out_first[2]; e < net->out_first[3]; e++) {
		if (net->edges[e].to == 3) {
			e_dead = e;
		}
	}
	uint32_t e_first = net->out_first[0], e_target = UINT32_MAX;
	for (uint32_t e = net->out_first[1]; e < net->out_first[2]; e++) {
		if (net->edges[e].to == 2) {
			e_target = e;
		}
	}
	struct fs_road_pos src[2] = { { e_first, 50.0 }, { e_dead, 10.0 } };
	double times[2];
	assert_int_equal(fs_route_many_to_one(q, 3, src, 2, (struct fs_road_pos){ e_target, 40.0 },
					      times),
			 0);
	assert_close(times[0], 5.0 + 4.0);
	assert_true(isinf(times[1]));
	fs_route_query_destroy(q);
	fs_router_destroy(r);
	fs_network_destroy(net);
}

static void bad_options_are_rejected(void **state)
{
	struct fs_network *net = fs_network_grid(2, 2, 10.0, 1.0, NULL);
	struct fs_router_options opts;
	fs_router_options_defaults(&opts);
	opts.time_factor[5][FS_ROAD_PRIMARY] = 0.0;
	struct fs_error err = { 0 };
	assert_null(fs_router_create(net, &opts, &err));
	assert_non_null(strstr(err.message, "hour 5"));
	fs_router_options_defaults(&opts);
	opts.witness_settle_limit = 0;
	assert_null(fs_router_create(net, &opts, &err));
	fs_router_options_defaults(&opts);
	opts.uturn_penalty_s = -1.0;
	assert_null(fs_router_create(net, &opts, &err));
	assert_non_null(strstr(err.message, "U-turn"));
	opts.uturn_penalty_s = NAN;
	assert_null(fs_router_create(net, &opts, &err));
	fs_network_destroy(net);
}

/* ---- real networks ------------------------------------------------------------ */

/* @pairs random (source, target, hour) triples: 10 targets per source, each
 * source's reference from one full Dijkstra; every 50th pair also through
 * the point-to-point Dijkstra and its path. */
static void ch_equals_dijkstra(const char *rel, uint32_t pairs, uint64_t seed)
{
	struct fs_network *net = load(rel);
	struct fs_router_options opts;
	fs_router_options_defaults(&opts);
	struct fs_error err = { 0 };
	struct fs_router *r = fs_router_create(net, &opts, &err);
	assert_non_null(r);
	struct fs_route_query *q = fs_route_query_create(r);
	struct fs_route_query *q2 = fs_route_query_create(r); /* a second, independent workspace */
	assert_non_null(q);
	assert_non_null(q2);
	double *all = malloc(net->node_count * sizeof(*all));
	assert_non_null(all);
	struct fs_rng rng;
	fs_rng_init(&rng, seed, FS_RNG_STREAM_TEST, 0);
	struct fs_path path = { 0 }, ref_path = { 0 };
	uint32_t a = 0, hour = 0;
	for (uint32_t i = 0; i < pairs; i++) {
		if (i % 10 == 0) {
			a = (uint32_t)fs_rng_below(&rng, net->node_count);
			hour = (uint32_t)fs_rng_below(&rng, FS_ROUTE_HOURS);
			assert_int_equal(fs_router_dijkstra_all(q2, hour, a, all), 0);
		}
		uint32_t b = (uint32_t)fs_rng_below(&rng, net->node_count);
		double t_ch, t_ref, t2;
		assert_int_equal(fs_route_nodes(q2, hour, b, a, &t2, NULL), 0); /* interleave */
		assert_int_equal(fs_route_nodes(q, hour, a, b, &t_ch, &path), 0);
		assert_close(t_ch, all[b]);
		check_node_path(net, &opts, hour, &path, a, b, t_ch);
		if (i % 50 == 0) {
			assert_int_equal(fs_router_dijkstra(q, hour, a, b, &t_ref, &ref_path), 0);
			assert_close(t_ref, all[b]);
			check_node_path(net, &opts, hour, &ref_path, a, b, t_ref);
		}
	}
	free(all);
	fs_path_finish(&path);
	fs_path_finish(&ref_path);
	fs_route_query_destroy(q);
	fs_route_query_destroy(q2);
	fs_router_destroy(r);
	fs_network_destroy(net);
}

static void atlanta_ch_equals_dijkstra(void **state)
{
	ch_equals_dijkstra("data/osm/atlanta.osm.pbf", quick() ? 1000 : 10000, 1);
}

static void columbus_ch_equals_dijkstra(void **state)
{
	ch_equals_dijkstra("data/osm/columbus.osm.pbf", quick() ? 500 : 10000, 2);
}

/* Many-to-one and one-to-many ignore turns: compare them with references that do too. */
static void one_and_many_equal_dijkstra(const char *rel, uint32_t few, uint32_t many)
{
	struct fs_network *net = load(rel);
	struct fs_router_options opts;
	fs_router_options_defaults(&opts);
	opts.uturn_penalty_s = 0.0;
	opts.ignore_banned_turns = true;
	struct fs_router *r = fs_router_create(net, &opts, NULL);
	assert_non_null(r);
	struct fs_route_query *q = fs_route_query_create(r);
	struct fs_route_query *ref = fs_route_query_create(r);
	struct fs_rng rng;
	fs_rng_init(&rng, 5, FS_RNG_STREAM_TEST, 1);
	struct fs_road_pos *pos = malloc(many * sizeof(*pos));
	double *times = malloc(many * sizeof(*times));
	double *all = malloc(net->node_count * sizeof(*all));
	assert_non_null(pos);
	assert_non_null(times);
	assert_non_null(all);
	for (int round = 0; round < 4; round++) {
		/* 'few' uses pruned searches, 'many' the PHAST sweep */
		uint32_t count = round % 2 ? many : few;
		uint32_t hour = (uint32_t)fs_rng_below(&rng, FS_ROUTE_HOURS);
		struct fs_road_pos one = random_pos(&rng, net);
		for (uint32_t i = 0; i < count; i++) {
			pos[i] = random_pos(&rng, net);
		}
		pos[0] = (struct fs_road_pos){ one.edge, one.offset_m / 2 };  /* same edge, behind */
		pos[1] = (struct fs_road_pos){ one.edge, one.offset_m + 0.5 }; /* same edge, ahead */
		assert_int_equal(fs_route_many_to_one(q, hour, pos, count, one, times), 0);
		for (uint32_t i = 0; i < count; i++) {
			assert_close(times[i], reference_positions(ref, net, &opts, hour, pos[i], one));
		}
		/* one-to-many against a single full Dijkstra */
		assert_int_equal(fs_route_one_to_many(q, hour, one, pos, count, times), 0);
		const struct fs_edge *src = &net->edges[one.edge];
		assert_int_equal(fs_router_dijkstra_all(ref, hour, src->to, all), 0);
		double tail = edge_cost(net, &opts, hour, one.edge) * (src->length_m - one.offset_m) /
			      src->length_m;
		for (uint32_t i = 0; i < count; i++) {
			const struct fs_edge *dst = &net->edges[pos[i].edge];
			double want = tail + all[dst->from] +
				      edge_cost(net, &opts, hour, pos[i].edge) * pos[i].offset_m /
					      dst->length_m;
			if (pos[i].edge == one.edge && one.offset_m <= pos[i].offset_m) {
				want = edge_cost(net, &opts, hour, one.edge) *
				       (pos[i].offset_m - one.offset_m) / src->length_m;
			}
			assert_close(times[i], want);
		}
	}
	/* Bad input writes nothing. */
	times[0] = -1.0;
	pos[0].edge = net->edge_count;
	assert_int_equal(fs_route_many_to_one(q, 0, pos, 1, pos[1], times), -EINVAL);
	assert_int_equal(fs_route_one_to_many(q, 0, pos[1], pos, 1, times), -EINVAL);
	assert_true(times[0] == -1.0);
	free(pos);
	free(times);
	free(all);
	fs_route_query_destroy(q);
	fs_route_query_destroy(ref);
	fs_router_destroy(r);
	fs_network_destroy(net);
}

static void atlanta_one_and_many(void **state)
{
	one_and_many_equal_dijkstra("data/osm/atlanta.osm.pbf", 5, 1000);
}

static void columbus_one_and_many(void **state)
{
	one_and_many_equal_dijkstra("data/osm/columbus.osm.pbf", 5, quick() ? 300 : 1000);
}

/* Does @path take a banned turn? How many U-turns? */
static bool takes_banned_turn(const struct fs_network *net, const struct fs_path *path, uint32_t *ret_uturns)
{
	bool banned = false;
	*ret_uturns = 0;
	for (uint32_t k = 1; k < path->count; k++) {
		uint32_t a = path->edges[k - 1], b = path->edges[k];
		assert_int_equal(net->edges[a].to, net->edges[b].from);
		banned |= !fs_network_turn_allowed(net, a, b);
		*ret_uturns += net->edges[b].to == net->edges[a].from;
	}
	return banned;
}

/* fs_route_positions() against the turn-by-turn Dijkstra, with its path's cost. */
static void check_positions(struct fs_route_query *q, const struct fs_network *net,
			    const struct fs_router_options *opts, uint32_t hour, struct fs_road_pos a,
			    struct fs_road_pos b, struct fs_path *path)
{
	double t, ref;
	int rc = fs_route_positions(q, hour, a, b, &t, path);
	assert_int_equal(rc, fs_router_dijkstra_positions(q, hour, a, b, &ref, NULL));
	if (rc < 0) {
		return;
	}
	assert_close(t, ref);
	assert_true(path->count >= 1);
	assert_int_equal(path->edges[0], a.edge);
	assert_int_equal(path->edges[path->count - 1], b.edge);
	uint32_t uturns;
	assert_false(takes_banned_turn(net, path, &uturns));
	if (path->count >= 2) {
		const struct fs_edge *ea = &net->edges[a.edge], *eb = &net->edges[b.edge];
		double sum = uturns * opts->uturn_penalty_s +
			     edge_cost(net, opts, hour, a.edge) * (ea->length_m - a.offset_m) / ea->length_m +
			     edge_cost(net, opts, hour, b.edge) * b.offset_m / eb->length_m;
		for (uint32_t k = 1; k + 1 < path->count; k++) {
			sum += edge_cost(net, opts, hour, path->edges[k]);
		}
		assert_close(sum, t);
	}
}

static void positions_equal_dijkstra(void **state)
{
	struct fs_network *net = load("data/osm/atlanta.osm.pbf");
	assert_true(net->banned_turn_count > 0); /* Atlanta's turn restrictions are in play */
	struct fs_router_options opts;
	fs_router_options_defaults(&opts);
	struct fs_router *r = fs_router_create(net, &opts, NULL);
	struct fs_route_query *q = fs_route_query_create(r);
	struct fs_rng rng;
	fs_rng_init(&rng, 9, FS_RNG_STREAM_TEST, 2);
	struct fs_path path = { 0 };
	uint32_t n = quick() ? 300 : 3000;
	for (uint32_t i = 0; i < n; i++) {
		struct fs_road_pos a = random_pos(&rng, net), b = random_pos(&rng, net);
		if (i % 10 == 0) {
			b.edge = a.edge; /* exercise both same-edge cases */
			b.offset_m = fs_rng_uniform(&rng) * net->edges[a.edge].length_m;
		} else if (i % 10 == 1 && fs_network_reverse_edge(net, a.edge) != UINT32_MAX) {
			b.edge = fs_network_reverse_edge(net, a.edge); /* the other side of the street */
			b.offset_m = fs_rng_uniform(&rng) * net->edges[b.edge].length_m;
		}
		check_positions(q, net, &opts, 12, a, b, &path);
	}
	struct fs_route_stats st = fs_route_query_stats(q);
	assert_true(st.routes >= n * 8 / 10);
	assert_true(st.fallbacks > 0 && st.fallbacks < st.routes / 2); /* the hierarchy decides most routes */
	fs_path_finish(&path);
	fs_route_query_destroy(q);
	fs_router_destroy(r);
	fs_network_destroy(net);
}

/*
 * Vehicles whose ODD excludes motorways: a hierarchy built without them gives
 * the same routes as avoiding them on the full one (the turn-by-turn search
 * decides those exactly), never drives one, and needs that slow search only
 * where a turn rule is in the way, not wherever the fastest route takes a
 * motorway.
 */
static void surface_routes_keep_off_motorways(void **state)
{
	struct fs_network *net = load("data/osm/columbus.osm.pbf");
	struct fs_router_options opts;
	fs_router_options_defaults(&opts);
	struct fs_router *full = fs_router_create(net, &opts, NULL);
	opts.surface_only = true;
	struct fs_router *surface = fs_router_create(net, &opts, NULL);
	assert_non_null(full);
	assert_non_null(surface);
	struct fs_route_query *avoiding = fs_route_query_create(full), *q = fs_route_query_create(surface);
	uint8_t *motorway = calloc(net->edge_count, 1);
	uint32_t motorways = 0;
	for (uint32_t e = 0; e < net->edge_count; e++) {
		motorway[e] = fs_road_is_motorway(net->edges[e].road_class);
		motorways += motorway[e];
	}
	assert_true(motorways > 100); /* Columbus has its interstates */
	fs_route_query_avoid(avoiding, motorway);
	struct fs_rng rng;
	fs_rng_init(&rng, 11, FS_RNG_STREAM_TEST, 3);
	struct fs_path path = { 0 }, ref_path = { 0 };
	uint32_t n = quick() ? 200 : 1500, found = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct fs_road_pos a, b;
		do {
			a = random_pos(&rng, net);
		} while (motorway[a.edge]);
		do {
			b = random_pos(&rng, net);
		} while (motorway[b.edge]);
		double t, ref;
		int rc = fs_route_positions(q, 8, a, b, &t, &path);
		assert_int_equal(rc, fs_route_positions(avoiding, 8, a, b, &ref, &ref_path));
		if (rc < 0) {
			continue;
		}
		found++;
		assert_close(t, ref);
		for (uint32_t k = 0; k < path.count; k++) {
			assert_false(motorway[path.edges[k]]);
		}
	}
	assert_true(found > n / 2);
	struct fs_route_stats st = fs_route_query_stats(q), old = fs_route_query_stats(avoiding);
	assert_true(st.fallbacks * 4 < old.fallbacks);
	free(motorway);
	fs_path_finish(&path);
	fs_path_finish(&ref_path);
	fs_route_query_destroy(q);
	fs_route_query_destroy(avoiding);
	fs_router_destroy(surface);
	fs_router_destroy(full);
	fs_network_destroy(net);
}

/*
 * Many banned turns (a tenth of all, at random) on Atlanta: every route of
 * the hierarchy, checked and corrected, equals the turn-by-turn search, and
 * no route takes a banned turn.
 */
static void random_banned_turns(void **state)
{
	struct fs_network *net = load("data/osm/atlanta.osm.pbf");
	struct fs_rng rng;
	fs_rng_init(&rng, 21, FS_RNG_STREAM_TEST, 4);
	uint32_t cap = 0, n = 0;
	struct fs_turn *bans = NULL;
	for (uint32_t e = 0; e < net->edge_count; e++) {
		uint32_t v = net->edges[e].to;
		for (uint32_t f = net->out_first[v]; f < net->out_first[v + 1]; f++) {
			if (fs_rng_uniform(&rng) < 0.1) {
				if (n == cap) {
					cap = cap ? 2 * cap : 1024;
					bans = realloc(bans, cap * sizeof(*bans));
					assert_non_null(bans);
				}
				bans[n++] = (struct fs_turn){ e, f }; /* e ascending, f ascending: sorted */
			}
		}
	}
	free(net->banned_turns);
	net->banned_turns = bans;
	net->banned_turn_count = n;
	struct fs_router_options opts;
	fs_router_options_defaults(&opts);
	struct fs_router *r = fs_router_create(net, &opts, NULL);
	struct fs_route_query *q = fs_route_query_create(r);
	struct fs_path path = { 0 };
	uint32_t pairs = quick() ? 300 : 3000;
	for (uint32_t i = 0; i < pairs; i++) {
		check_positions(q, net, &opts, 7, random_pos(&rng, net), random_pos(&rng, net), &path);
		uint32_t a = (uint32_t)fs_rng_below(&rng, net->node_count);
		uint32_t b = (uint32_t)fs_rng_below(&rng, net->node_count);
		double t, ref;
		int rc = fs_route_nodes(q, 7, a, b, &t, &path);
		assert_int_equal(rc, fs_router_dijkstra(q, 7, a, b, &ref, NULL));
		if (rc == 0) {
			uint32_t uturns;
			assert_close(t, ref);
			assert_false(takes_banned_turn(net, &path, &uturns));
		}
	}
	assert_true(fs_route_query_stats(q).fallbacks > 0);
	fs_path_finish(&path);
	fs_route_query_destroy(q);
	fs_router_destroy(r);
	fs_network_destroy(net);
}

/* The hand-made junction of tests/data/turn_restrictions.osm (see the file). */
static uint32_t osm_edge(const struct fs_network *net, int64_t a, int64_t b)
{
	for (uint32_t e = 0; e < net->edge_count; e++) {
		if (net->nodes[net->edges[e].from].osm_id == a && net->nodes[net->edges[e].to].osm_id == b) {
			return e;
		}
	}
	fail_msg("no edge %" PRId64 " -> %" PRId64, a, b);
	return 0;
}

static uint32_t osm_node(const struct fs_network *net, int64_t id)
{
	for (uint32_t v = 0; v < net->node_count; v++) {
		if (net->nodes[v].osm_id == id) {
			return v;
		}
	}
	fail_msg("no node %" PRId64, id);
	return 0;
}

static void turn_restrictions_are_obeyed(void **state)
{
	struct fs_network *net = load("tests/data/turn_restrictions.osm");
	struct fs_router_options opts;
	fs_router_options_defaults(&opts);
	struct fs_router *r = fs_router_create(net, &opts, NULL);
	struct fs_route_query *q = fs_route_query_create(r);
	struct fs_path path = { 0 };
	double t, ref;
	const uint32_t north_in = osm_edge(net, 100, 101), east_out = osm_edge(net, 101, 103);
	const uint32_t top = osm_edge(net, 100, 105), side = osm_edge(net, 105, 103);
	/* a1 -> b1: the left turn at v is banned; the legal detour is round by c */
	assert_int_equal(fs_route_nodes(q, 0, osm_node(net, 100), osm_node(net, 103), &t, &path), 0);
	assert_int_equal(path.count, 2);
	assert_int_equal(path.edges[0], top);
	assert_int_equal(path.edges[1], side);
	assert_close(t, edge_cost(net, &opts, 0, top) + edge_cost(net, &opts, 0, side));
	assert_int_equal(fs_router_dijkstra(q, 0, osm_node(net, 100), osm_node(net, 103), &ref, NULL), 0);
	assert_close(t, ref);
	assert_int_equal(fs_route_query_stats(q).fallbacks, 1); /* the hierarchy's way turned left */
	/* the same from a car on North Street to a point on East Street */
	struct fs_road_pos car = { north_in, 50.0 }, rider = { east_out, 30.0 };
	assert_int_equal(fs_route_positions(q, 0, car, rider, &t, &path), 0);
	for (uint32_t k = 1; k < path.count; k++) {
		assert_false(path.edges[k - 1] == north_in && path.edges[k] == east_out);
	}
	uint32_t uturns;
	assert_false(takes_banned_turn(net, &path, &uturns));
	check_positions(q, net, &opts, 0, car, rider, &path);
	/* only_straight_on from West Street: w1 -> a1 goes on to b1 and round by c */
	assert_int_equal(fs_route_nodes(q, 0, osm_node(net, 104), osm_node(net, 100), &t, &path), 0);
	assert_int_equal(path.count, 4);
	assert_int_equal(path.edges[0], osm_edge(net, 104, 101));
	assert_int_equal(path.edges[1], east_out);
	assert_int_equal(path.edges[2], osm_edge(net, 103, 105));
	assert_int_equal(path.edges[3], osm_edge(net, 105, 100));
	/* except=motorcar: a car from a2 may turn right onto East Street */
	assert_int_equal(fs_route_nodes(q, 0, osm_node(net, 102), osm_node(net, 103), &t, &path), 0);
	assert_int_equal(path.count, 2);
	/* a dead end: turning round at a2 costs the U-turn */
	struct fs_road_pos down = { osm_edge(net, 101, 102), 10.0 }, up = { osm_edge(net, 102, 101), 90.0 };
	assert_int_equal(fs_route_positions(q, 0, down, up, &t, &path), 0);
	assert_int_equal(path.count, 2);
	double len = net->edges[down.edge].length_m;
	assert_close(t, edge_cost(net, &opts, 0, down.edge) * (len - 10.0 + 90.0) / len + 20.0);
	fs_route_query_destroy(q);
	fs_router_destroy(r);

	/* a router told to ignore the restrictions turns left */
	opts.ignore_banned_turns = true;
	r = fs_router_create(net, &opts, NULL);
	q = fs_route_query_create(r);
	assert_int_equal(fs_route_nodes(q, 0, osm_node(net, 100), osm_node(net, 103), &t, &path), 0);
	assert_int_equal(path.count, 2);
	assert_int_equal(path.edges[0], north_in);
	assert_int_equal(path.edges[1], east_out);
	assert_int_equal(fs_route_query_stats(q).fallbacks, 0);
	fs_path_finish(&path);
	fs_route_query_destroy(q);
	fs_router_destroy(r);
	fs_network_destroy(net);
}

/*
 * Many-to-one and one-to-many take the turns near both ends exactly and ignore those further
 * in: never above the route a vehicle drives, and equal to it for most routes.
 */
static void one_and_many_are_lower_bounds(void **state)
{
	struct fs_network *net = load("data/osm/atlanta.osm.pbf");
	struct fs_router *r = fs_router_create(net, NULL, NULL);
	struct fs_route_query *q = fs_route_query_create(r);
	struct fs_rng rng;
	fs_rng_init(&rng, 13, FS_RNG_STREAM_TEST, 5);
	struct fs_road_pos pos[20];
	double eta[20];
	uint32_t equal = 0, all = 0;
	for (int round = 0; round < 40; round++) {
		struct fs_road_pos one = random_pos(&rng, net);
		uint32_t n = round % 2 ? 20 : 5; /* PHAST sweep or pruned searches */
		for (uint32_t i = 0; i < n; i++) {
			pos[i] = random_pos(&rng, net);
		}
		for (int dir = 0; dir < 2; dir++) {
			assert_int_equal(dir ? fs_route_one_to_many(q, 9, one, pos, n, eta)
					     : fs_route_many_to_one(q, 9, pos, n, one, eta),
					 0);
			for (uint32_t i = 0; i < n; i++) {
				double t;
				assert_int_equal(fs_route_positions(q, 9, dir ? one : pos[i], dir ? pos[i] : one, &t, NULL), 0);
				assert_true(eta[i] <= t + 1e-6);
				equal += eta[i] >= t - 1e-6;
				all++;
			}
		}
	}
	if (getenv("FS_TEST_VERBOSE")) {
		print_message("%u of %u estimates exact\n", equal, all);
	}
	assert_true(equal >= all * 2 / 3);
	fs_route_query_destroy(q);
	fs_router_destroy(r);
	fs_network_destroy(net);
}

static void time_of_day_factors(void **state)
{
	struct fs_network *net = load("data/osm/atlanta.osm.pbf");
	/* A uniform factor per hour scales every time exactly: one hierarchy. */
	double hourly[FS_ROUTE_HOURS];
	for (int h = 0; h < FS_ROUTE_HOURS; h++) {
		hourly[h] = (h >= 7 && h <= 9) || (h >= 16 && h <= 18) ? 1.6 : (h < 6 ? 0.9 : 1.2);
	}
	struct fs_router_options opts;
	fs_router_options_defaults(&opts);
	fs_router_options_set_hourly(&opts, hourly);
	struct fs_router *r = fs_router_create(net, &opts, NULL);
	assert_non_null(r);
	assert_int_equal(fs_router_hierarchy_count(r), 1);
	struct fs_route_query *q = fs_route_query_create(r);
	struct fs_rng rng;
	fs_rng_init(&rng, 3, FS_RNG_STREAM_TEST, 3);
	for (int i = 0; i < 300; i++) {
		uint32_t a = (uint32_t)fs_rng_below(&rng, net->node_count);
		uint32_t b = (uint32_t)fs_rng_below(&rng, net->node_count);
		double night, peak, ref;
		assert_int_equal(fs_route_nodes(q, 3, a, b, &night, NULL), 0);
		assert_int_equal(fs_route_nodes(q, 8, a, b, &peak, NULL), 0);
		assert_close(peak, night / 0.9 * 1.6);
		assert_int_equal(fs_router_dijkstra(q, 8, a, b, &ref, NULL), 0);
		assert_close(peak, ref);
	}
	fs_route_query_destroy(q);
	fs_router_destroy(r);

	/* Per-class factors: motorways jam at the peaks. Two shapes, two hierarchies,
	 * and peak routes avoid motorways where side streets are now faster. */
	fs_router_options_defaults(&opts);
	for (int h = 7; h <= 9; h++) {
		opts.time_factor[h][FS_ROAD_MOTORWAY] = 3.0;
		opts.time_factor[h][FS_ROAD_MOTORWAY_LINK] = 3.0;
	}
	for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
		opts.time_factor[17][c] = 1.5; /* uniform: same shape as free flow */
	}
	r = fs_router_create(net, &opts, NULL);
	assert_non_null(r);
	assert_int_equal(fs_router_hierarchy_count(r), 2);
	q = fs_route_query_create(r);
	struct fs_path path = { 0 };
	uint32_t differ = 0;
	for (int i = 0; i < (quick() ? 300 : 2000); i++) {
		uint32_t a = (uint32_t)fs_rng_below(&rng, net->node_count);
		uint32_t b = (uint32_t)fs_rng_below(&rng, net->node_count);
		uint32_t hour = i % 2 ? 8 : 17;
		double t, ref, free_flow;
		assert_int_equal(fs_route_nodes(q, hour, a, b, &t, &path), 0);
		assert_int_equal(fs_router_dijkstra(q, hour, a, b, &ref, NULL), 0);
		assert_close(t, ref);
		check_node_path(net, &opts, hour, &path, a, b, t);
		assert_int_equal(fs_route_nodes(q, 12, a, b, &free_flow, NULL), 0);
		if (hour == 17) {
			assert_close(t, 1.5 * free_flow);
		} else {
			assert_true(t >= free_flow - 1e-9);
			differ += t > free_flow * (1 + 1e-9);
		}
	}
	assert_true(differ > 0);
	fs_path_finish(&path);
	fs_route_query_destroy(q);
	fs_router_destroy(r);
	fs_network_destroy(net);
}

/* ---- closed roads ------------------------------------------------------------ */

static struct fs_scenario_event closure(uint64_t at, uint64_t ticks, const char *way, uint32_t edge)
{
	struct fs_scenario_event e = { .type = FS_SCN_EVENT_ROAD_CLOSURE, .apply_tick = at, .duration_ticks = ticks };
	if (way) {
		snprintf(e.way, sizeof(e.way), "%s", way);
	} else {
		e.edges[0] = edge;
		e.edge_count = 1;
	}
	return e;
}

static uint32_t edge_between(const struct fs_network *net, uint32_t a, uint32_t b)
{
	for (uint32_t e = net->out_first[a]; e < net->out_first[a + 1]; e++) {
		if (net->edges[e].to == b) {
			return e;
		}
	}
	fail();
	return 0;
}

static void closed_roads_are_routed_around(void **state)
{
	/* 3 rows x 5 columns, 100 m at 10 m/s; node r * 5 + c; row r is "Street <r>" */
	struct fs_network *net = fs_network_grid(3, 5, 100.0, 10.0, NULL);
	struct fs_router *r = fs_router_create(net, NULL, NULL);
	struct fs_route_query *q = fs_route_query_create(r);
	struct fs_closures *c = fs_closures_create(net);
	assert_non_null(c);
	struct fs_path path = { 0 };
	double t;
	assert_int_equal(fs_route_nodes(q, 0, 0, 4, &t, &path), 0);
	assert_close(t, 40.0);

	/* one edge, 2 -> 3, closed from tick 5 for 10 ticks */
	uint32_t e23 = edge_between(net, 2, 3);
	struct fs_scenario_event ev[2] = { closure(5, 10, NULL, e23), closure(20, 0, "Street 0", 0) };
	assert_int_equal(fs_closures_update(c, ev, 2, 4), 0);
	assert_null(fs_closures_mask(c));
	assert_int_equal(fs_closures_update(c, ev, 2, 5), 1);
	assert_int_equal(fs_closures_count(c), 1);
	fs_route_query_avoid(q, fs_closures_mask(c));
	assert_int_equal(fs_route_nodes(q, 0, 0, 4, &t, &path), 0);
	assert_close(t, 60.0); /* down a row at node 2, along, back up at 3 */
	assert_int_equal(path.count, 6);
	for (uint32_t i = 0; i < path.count; i++) {
		assert_int_not_equal(path.edges[i], e23);
		assert_true(i == 0 || net->edges[path.edges[i - 1]].to == net->edges[path.edges[i]].from);
	}
	assert_int_equal(fs_route_nodes(q, 0, 0, 4, &t, NULL), 0); /* the time alone goes around too */
	assert_close(t, 60.0);
	/* positions: the closed edge may be where the traveller stands, not in between */
	struct fs_road_pos on = { e23, 50.0 }, to = { edge_between(net, 3, 4), 100.0 };
	assert_int_equal(fs_route_positions(q, 0, on, to, &t, &path), 0);
	assert_close(t, 5.0 + 10.0);
	struct fs_road_pos from = { edge_between(net, 1, 2), 0.0 };
	assert_int_equal(fs_route_positions(q, 0, from, to, &t, &path), 0);
	assert_close(t, 10.0 + 30.0 + 10.0); /* 1-2, then 2-7-8-3 around the closure, then 3-4 */
	assert_int_equal(path.edges[0], from.edge);
	assert_int_equal(path.edges[path.count - 1], to.edge);

	/* it reopens at tick 15; from tick 20 the whole of "Street 0" is closed for good */
	assert_int_equal(fs_closures_update(c, ev, 2, 15), 1);
	assert_null(fs_closures_mask(c));
	assert_int_equal(fs_closures_update(c, ev, 2, 20), 1);
	assert_int_equal(fs_closures_count(c), 8); /* 4 blocks, both ways */
	fs_route_query_avoid(q, fs_closures_mask(c));
	assert_int_equal(fs_route_nodes(q, 0, 0, 4, &t, &path), 0);
	assert_close(t, 60.0); /* up to Street 1, along it, back down */
	assert_int_equal(fs_closures_update(c, ev, 2, 1000), 0);
	assert_int_equal(fs_closures_version(c), 3);

	/* a way nobody has and an edge beyond the network are counted, nothing closes */
	struct fs_scenario_event bad[2] = { closure(30, 5, "No Such Road", 0), closure(30, 5, NULL, 1u << 30) };
	struct fs_closures *c2 = fs_closures_create(net);
	assert_int_equal(fs_closures_update(c2, bad, 2, 30), 0);
	assert_int_equal(fs_closures_unmatched(c2), 2);
	/* no closure: the hierarchy's answer again */
	fs_route_query_avoid(q, NULL);
	assert_int_equal(fs_route_nodes(q, 0, 0, 4, &t, NULL), 0);
	assert_close(t, 40.0);
	fs_closures_destroy(c2);
	fs_closures_destroy(c);
	fs_path_finish(&path);
	fs_route_query_destroy(q);
	fs_router_destroy(r);
	fs_network_destroy(net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grid_times_are_manhattan),
		cmocka_unit_test(unreachable_is_enoent_and_infinity),
		cmocka_unit_test(bad_options_are_rejected),
		cmocka_unit_test(atlanta_ch_equals_dijkstra),
		cmocka_unit_test(columbus_ch_equals_dijkstra),
		cmocka_unit_test(atlanta_one_and_many),
		cmocka_unit_test(columbus_one_and_many),
		cmocka_unit_test(positions_equal_dijkstra),
		cmocka_unit_test(surface_routes_keep_off_motorways),
		cmocka_unit_test(random_banned_turns),
		cmocka_unit_test(turn_restrictions_are_obeyed),
		cmocka_unit_test(one_and_many_are_lower_bounds),
		cmocka_unit_test(time_of_day_factors),
		cmocka_unit_test(closed_roads_are_routed_around),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
