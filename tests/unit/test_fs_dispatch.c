/* SPDX-License-Identifier: Apache-2.0 */
/* The ride platform: the assignment solver and the matcher against brute force, the greedy
 * baseline, cancellations, the request lifecycle and its outcomes, rejections, charging with
 * plug limits, rebalancing, order independence, a closed loop with the real fleet model, and
 * the fixed-fleet CSV. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs/demand.h"
#include "fs/demand_load.h"
#include "fs/dispatch.h"
#include "fs/dispatch_loop.h"
#include "fs/fleet_placement.h"
#include "fs/fleet_placement_load.h"
#include "fs/network.h"
#include "fs/network_load.h"
#include "fs/rng.h"
#include "fs/route.h"
#include "fs/scenario.h"
#include "fs/weather.h"
#include "routing_city.h"

#define COLS 10
#define T0 1843560000000LL /* 2028-06-01T12:00:00Z: daytime */
#define S 1000LL

/* ---- a small city: 10 x 10 grid, 100 m blocks at 10 m/s (10 s an edge) ------------------- */

struct city {
	struct routing_city roads;
	uint32_t depots[2];
	uint16_t plugs[2];
	struct fs_demand_place *places;
	size_t nplaces;
	struct fs_demand_profile profile;
	struct fs_dispatch_world w;
	struct fs_dispatch_params p;
	struct fs_dispatch *d;
	struct fs_dispatch_output out;
};

static void city_up(struct city *c)
{
	memset(c, 0, sizeof(*c));
	assert_true(routing_city_up(&c->roads, fs_network_grid(COLS, COLS, 100.0, 10.0, NULL), NULL) == COLS * COLS);
	c->w = (struct fs_dispatch_world){ .net = c->roads.net, .query = c->roads.q, .index = c->roads.idx,
					   .in_scc = c->roads.scc };
	fs_dispatch_params_defaults(&c->p);
	c->p.rebalance_s = 0; /* tests that want it turn it on */
	c->p.charging = false;
	/* riders wait up to the platform's patience and always come: tests of riders' own behaviour set it */
	c->p.riders.patience_median_s = 86400.0;
	c->p.riders.no_show_share = 0.0;
}

static void city_create(struct city *c)
{
	struct fs_error err = { "" };
	c->d = fs_dispatch_create(&c->w, &c->p, &err);
	if (!c->d) {
		fail_msg("fs_dispatch_create: %s", err.message);
	}
}

static void city_down(struct city *c)
{
	fs_dispatch_destroy(c->d);
	fs_dispatch_output_finish(&c->out);
	routing_city_down(&c->roads);
	free(c->places);
}

static uint32_t node(uint32_t col, uint32_t row)
{
	return row * COLS + col;
}

static struct fs_point point_of(const struct city *c, uint32_t n)
{
	return (struct fs_point){ c->roads.net->nodes[n].x, c->roads.net->nodes[n].y };
}

static uint32_t edge_into(const struct city *c, uint32_t n)
{
	uint32_t best = UINT32_MAX;
	for (uint32_t k = c->roads.net->in_first[n]; k < c->roads.net->in_first[n + 1]; k++) {
		best = c->roads.net->in_edges[k] < best ? c->roads.net->in_edges[k] : best;
	}
	return best;
}

/* Report vehicle @id standing at node @n. */
static void vehicle_at(struct city *c, uint32_t id, uint32_t n, int64_t t, double soc, int state)
{
	uint32_t e = edge_into(c, n);
	struct fs_vehicle_record s = fs_vehicle_record_standing(id, state, e, c->roads.net->edges[e].length_m,
								 c->roads.net->nodes[n].x, c->roads.net->nodes[n].y, soc, t);
	assert_int_equal(fs_dispatch_update_vehicle(c->d, &s), 0);
}

static uint64_t request_at(struct city *c, int64_t t, uint32_t from, uint32_t to)
{
	struct fs_dispatch_request_in in = { .demand_id = 1000 + (uint64_t)t, .t_ms = t, .origin = point_of(c, from),
					     .dest = point_of(c, to) };
	int64_t id = fs_dispatch_add_request(c->d, &in);
	assert_true(id > 0);
	return (uint64_t)id;
}

static uint32_t edge_ab(const struct city *c, uint32_t a, uint32_t b)
{
	for (uint32_t e = c->roads.net->out_first[a]; e < c->roads.net->out_first[a + 1]; e++) {
		if (c->roads.net->edges[e].to == b) {
			return e;
		}
	}
	fail();
	return 0;
}

/* Report vehicle @id on the block from node @a to node @b, @offset_m along it (facing @b). */
static void vehicle_on(struct city *c, uint32_t id, uint32_t a, uint32_t b, double offset_m, int64_t t)
{
	uint32_t e = edge_ab(c, a, b);
	struct fs_point pt;
	fs_network_edge_point_at(c->roads.net, e, offset_m, &pt);
	struct fs_vehicle_record s = fs_vehicle_record_standing(id, FS_VEHICLE_AVAILABLE, e, offset_m, pt.x, pt.y, 0.9, t);
	assert_int_equal(fs_dispatch_update_vehicle(c->d, &s), 0);
}

/* A rider at (@x, @y) metres going to (@tx, @ty). */
static uint64_t request_xy(struct city *c, int64_t t, double x, double y, double tx, double ty)
{
	struct fs_dispatch_request_in in = { .demand_id = 2000 + (uint64_t)t, .t_ms = t, .origin = { x, y },
					     .dest = { tx, ty } };
	int64_t id = fs_dispatch_add_request(c->d, &in);
	assert_true(id > 0);
	return (uint64_t)id;
}

static void step(struct city *c, int64_t t)
{
	fs_dispatch_output_clear(&c->out);
	assert_int_equal(fs_dispatch_step(c->d, t, &c->out, NULL), 0);
}

/* The job for request @rid in the last step's output, or NULL. */
static const struct fs_dispatch_job *job_for(const struct city *c, uint64_t rid)
{
	for (size_t i = 0; i < c->out.job_count; i++) {
		if (c->out.jobs[i].stops[0].request_id == rid) {
			return &c->out.jobs[i];
		}
	}
	return NULL;
}

static void event(struct city *c, int64_t t, uint32_t vid, uint64_t job, int kind, int to_state)
{
	struct fs_vehicle_event e = { .time_ms = t, .job_id = job, .vehicle_id = vid, .kind = (uint8_t)kind,
				      .to_state = (uint8_t)to_state };
	assert_int_equal(fs_dispatch_add_events(c->d, &e, 1), 0);
}

/* requested == served + cancelled + rejected + open, counted from the records */
static void assert_outcomes_add_up(const struct fs_dispatch *d)
{
	uint64_t n = fs_dispatch_request_count(d), by[FS_DISPATCH_STATUS_COUNT] = { 0 };
	for (uint64_t id = 1; id <= n; id++) {
		const struct fs_dispatch_request *r = fs_dispatch_request(d, id);
		assert_true(r->status < FS_DISPATCH_STATUS_COUNT);
		by[r->status]++;
	}
	struct fs_dispatch_kpi k, run;
	assert_int_equal(fs_dispatch_kpi(d, &k, NULL, NULL), 0);
	fs_dispatch_kpi_running(d, &run);
	assert_int_equal(k.requests, n);
	assert_int_equal(k.served, by[FS_DISPATCH_DROPPED_OFF]);
	assert_int_equal(k.cancelled, by[FS_DISPATCH_CANCELLED]);
	assert_int_equal(k.rejected, by[FS_DISPATCH_REJECTED]);
	assert_int_equal(k.requests, k.served + k.cancelled + k.rejected + k.open);
	assert_int_equal(k.cancelled, k.cancelled_before_assignment + k.cancelled_after_assignment +
					     k.cancelled_no_show + k.cancelled_aborted);
	assert_int_equal(run.served, k.served);
	assert_int_equal(run.cancelled, k.cancelled);
	assert_int_equal(run.cancelled_before_assignment, k.cancelled_before_assignment);
	assert_int_equal(run.cancelled_after_assignment, k.cancelled_after_assignment);
	assert_int_equal(run.cancelled_no_show, k.cancelled_no_show);
	assert_int_equal(run.rejected, k.rejected);
	assert_int_equal(run.open, k.open);
}

/* ---- the assignment solver ------------------------------------------------------------------ */

#define BR 7
static double bf_best;
static int bf_rows, bf_cols;
static double bf_cost[BR][BR], bf_un[BR];
static bool bf_has[BR][BR], bf_used[BR];

static void brute(int r, double acc)
{
	if (r == bf_rows) {
		bf_best = acc < bf_best ? acc : bf_best;
		return;
	}
	brute(r + 1, acc + bf_un[r]);
	for (int j = 0; j < bf_cols; j++) {
		if (bf_has[r][j] && !bf_used[j]) {
			bf_used[j] = true;
			brute(r + 1, acc + bf_cost[r][j]);
			bf_used[j] = false;
		}
	}
}

static void assign_matches_brute_force(void **state)
{
	struct fs_rng g;
	fs_rng_init(&g, 7, FS_RNG_STREAM_TEST, 0);
	for (int t = 0; t < 3000; t++) {
		bf_rows = 1 + (int)fs_rng_below(&g, BR);
		bf_cols = 1 + (int)fs_rng_below(&g, BR);
		uint32_t row_first[BR + 1], col[BR * BR];
		double cost[BR * BR];
		uint32_t k = 0;
		for (int r = 0; r < bf_rows; r++) {
			row_first[r] = k;
			/* a quarter of the rows would rather not be served at all than at any price */
			bf_un[r] = fs_rng_below(&g, 4) == 0 ? 1e6 : (double)fs_rng_below(&g, 50);
			for (int j = 0; j < bf_cols; j++) {
				bf_has[r][j] = fs_rng_below(&g, 3) != 0;
				if (bf_has[r][j]) {
					/* integers give ties (determinism), fractions break them */
					bf_cost[r][j] = (double)fs_rng_below(&g, 40) + (t % 2 ? fs_rng_uniform(&g) : 0.0);
					col[k] = (uint32_t)j;
					cost[k++] = bf_cost[r][j];
				}
			}
		}
		row_first[bf_rows] = k;
		struct fs_dispatch_assign_problem p = { (uint32_t)bf_rows, (uint32_t)bf_cols, row_first, col, cost, bf_un };
		uint32_t choice[BR];
		double total;
		assert_int_equal(fs_dispatch_assign_solve(&p, choice, &total), 0);
		bf_best = INFINITY;
		brute(0, 0.0);
		assert_true(fabs(total - bf_best) < 1e-9);
		/* the answer is a valid assignment whose cost is the reported total */
		bool used[BR] = { false };
		double check = 0.0;
		for (int r = 0; r < bf_rows; r++) {
			if (choice[r] == FS_DISPATCH_NONE) {
				check += bf_un[r];
				continue;
			}
			assert_true(choice[r] < (uint32_t)bf_cols && bf_has[r][choice[r]] && !used[choice[r]]);
			used[choice[r]] = true;
			check += bf_cost[r][choice[r]];
		}
		assert_true(fabs(check - total) < 1e-9);
	}
}

static void assign_edge_cases(void **state)
{
	uint32_t choice[3] = { 7, 7, 7 };
	double total = -1;
	uint32_t none_first[1] = { 0 };
	struct fs_dispatch_assign_problem empty = { 0, 5, none_first, NULL, NULL, NULL };
	assert_int_equal(fs_dispatch_assign_solve(&empty, choice, &total), 0);
	assert_true(total == 0.0);
	/* rows without arcs stay unassigned; a row keeps out when that is cheaper */
	uint32_t row_first[4] = { 0, 0, 1, 2 }, col[2] = { 0, 0 };
	double cost[2] = { 5.0, 50.0 }, un[3] = { 1.0, 10.0, 20.0 };
	struct fs_dispatch_assign_problem p = { 3, 1, row_first, col, cost, un };
	assert_int_equal(fs_dispatch_assign_solve(&p, choice, &total), 0);
	assert_int_equal(choice[0], FS_DISPATCH_NONE);
	assert_int_equal(choice[1], 0);
	assert_int_equal(choice[2], FS_DISPATCH_NONE);
	assert_true(fabs(total - (1.0 + 5.0 + 20.0)) < 1e-12);
	/* misuse */
	double bad[2] = { NAN, 1.0 };
	struct fs_dispatch_assign_problem nan_cost = { 3, 1, row_first, col, bad, un };
	assert_int_equal(fs_dispatch_assign_solve(&nan_cost, choice, NULL), -EINVAL);
	uint32_t far[2] = { 0, 9 };
	struct fs_dispatch_assign_problem out_of_range = { 3, 1, row_first, far, cost, un };
	assert_int_equal(fs_dispatch_assign_solve(&out_of_range, choice, NULL), -EINVAL);
	assert_int_equal(fs_dispatch_assign_solve(NULL, choice, NULL), -EINVAL);
}

/* ---- matching ----------------------------------------------------------------------------- */

/* ETA the way fs-vehicle drives: from the vehicle's position to where the rider stands. */
static double eta_ref(struct city *c, uint32_t vnode, const struct fs_dispatch_request *req)
{
	uint32_t e = edge_into(c, vnode);
	struct fs_road_pos from = { e, c->roads.net->edges[e].length_m };
	struct fs_road_pos to = { req->pickup_edge, req->pickup_offset_m };
	double t;
	assert_int_equal(fs_route_positions(c->roads.q, 12, from, to, &t, NULL), 0);
	return t;
}

#define BV 6
static double perm_best;
static int perm_nr, perm_nv;
static double perm_eta[BV][BV], perm_un[BV];
static bool perm_used[BV];

/* Rider r on, each left unserved or given a free vehicle. The recursion stops at the
 * arrays' own size too: perm_nr <= BV holds only by how the test draws it, which the
 * compiler cannot see (GCC 12 -O3 -Warray-bounds unrolls it past the arrays). */
static void perm(int r, double acc)
{
	if (r == perm_nr || r == BV) {
		perm_best = acc < perm_best ? acc : perm_best;
		return;
	}
	perm(r + 1, acc + perm_un[r]);
	for (int v = 0; v < perm_nv; v++) {
		if (!perm_used[v] && perm_eta[r][v] <= 600.0) {
			perm_used[v] = true;
			perm(r + 1, acc + perm_eta[r][v]);
			perm_used[v] = false;
		}
	}
}

/* The batch matcher's choice costs what the best of all permutations costs. */
static void batch_is_optimal_against_brute_force(void **state)
{
	struct fs_rng g;
	fs_rng_init(&g, 11, FS_RNG_STREAM_TEST, 1);
	for (int t = 0; t < 40; t++) {
		struct city c;
		city_up(&c);
		c.p.candidates = BV; /* every vehicle is a candidate: the brute force sees the same set */
		city_create(&c);
		perm_nv = 2 + (int)fs_rng_below(&g, BV - 1);
		perm_nr = 1 + (int)fs_rng_below(&g, 5);
		uint32_t vnode[BV];
		for (int v = 0; v < perm_nv; v++) {
			vnode[v] = (uint32_t)fs_rng_below(&g, COLS * COLS);
			vehicle_at(&c, (uint32_t)v, vnode[v], T0, 0.9, FS_VEHICLE_AVAILABLE);
		}
		uint64_t rid[BV];
		for (int r = 0; r < perm_nr; r++) {
			uint32_t a = (uint32_t)fs_rng_below(&g, COLS * COLS), b;
			do {
				b = (uint32_t)fs_rng_below(&g, COLS * COLS);
			} while (b == a);
			rid[r] = request_at(&c, T0, a, b);
			const struct fs_dispatch_request *req = fs_dispatch_request(c.d, rid[r]);
			perm_un[r] = 600.0 + 1.0; /* max_pickup_eta_s + 1 + waited (0) */
			for (int v = 0; v < perm_nv; v++) {
				perm_eta[r][v] = eta_ref(&c, vnode[v], req);
			}
		}
		step(&c, T0);
		double got = 0.0;
		for (int r = 0; r < perm_nr; r++) {
			const struct fs_dispatch_job *j = job_for(&c, rid[r]);
			const struct fs_dispatch_request *req = fs_dispatch_request(c.d, rid[r]);
			if (!j) {
				assert_int_equal(req->status, FS_DISPATCH_REQUESTED);
				got += perm_un[r];
				continue;
			}
			assert_int_equal(req->status, FS_DISPATCH_OFFERED);
			assert_int_equal(req->vehicle_id, j->vehicle_id);
			assert_true(fabs(req->offer_eta_s - perm_eta[r][j->vehicle_id]) < 1e-3);
			got += perm_eta[r][j->vehicle_id];
		}
		perm_best = INFINITY;
		perm(0, 0.0);
		assert_true(fabs(got - perm_best) < 1e-3);
		/* as many riders served as vehicles allow */
		assert_int_equal(c.out.job_count, (size_t)(perm_nr < perm_nv ? perm_nr : perm_nv));
		city_down(&c);
	}
}

/*
 * Around junction (5, 1): rider 1 stands 20 m east of it and goes east, rider 2 30 m west
 * of it and goes west, each on the side of the street their trip leaves by. Car A comes down
 * the avenue, 20 m before the junction: 4 s to rider 1 (left turn), 5 s to rider 2 (right
 * turn). Car B drives east along the street, 40 m before it: 6 s to rider 1, but 27 s to
 * rider 2 (a U-turn at the junction). Greedy serves rider 1 first with the nearest car, A,
 * leaving rider 2 to B: 31 s of pickup driving. The batch matcher sends B to rider 1 and A
 * to rider 2: 11 s.
 */
static void greedy_and_batch_on_a_street(void **state)
{
	for (int matcher = 0; matcher < 2; matcher++) {
		struct city c;
		city_up(&c);
		c.p.matcher = matcher;
		city_create(&c);
		vehicle_on(&c, 0, node(5, 2), node(5, 1), 80.0, T0); /* A */
		vehicle_on(&c, 1, node(4, 1), node(5, 1), 60.0, T0); /* B */
		uint64_t r1 = request_xy(&c, T0 - 2 * S, 520.0, 100.0, 850.0, 100.0);
		uint64_t r2 = request_xy(&c, T0 - 1 * S, 470.0, 100.0, 50.0, 100.0);
		const struct fs_dispatch_request *q1 = fs_dispatch_request(c.d, r1);
		assert_int_equal(q1->pickup_edge, edge_ab(&c, node(5, 1), node(6, 1))); /* eastbound side */
		assert_true(fabs(q1->pickup_offset_m - 20.0) < 1e-3);
		const struct fs_dispatch_request *q2 = fs_dispatch_request(c.d, r2);
		assert_int_equal(q2->pickup_edge, edge_ab(&c, node(5, 1), node(4, 1))); /* westbound side */
		assert_true(fabs(q2->pickup_offset_m - 30.0) < 1e-3);
		step(&c, T0);
		assert_int_equal(c.out.job_count, 2);
		const struct fs_dispatch_job *j1 = job_for(&c, r1), *j2 = job_for(&c, r2);
		assert_non_null(j1);
		assert_non_null(j2);
		double total = fs_dispatch_request(c.d, r1)->offer_eta_s + fs_dispatch_request(c.d, r2)->offer_eta_s;
		if (matcher == FS_DISPATCH_MATCH_GREEDY) {
			assert_int_equal(j1->vehicle_id, 0);
			assert_int_equal(j2->vehicle_id, 1);
			assert_true(fabs(total - 31.0) < 1e-3);
		} else {
			assert_int_equal(j1->vehicle_id, 1);
			assert_int_equal(j2->vehicle_id, 0);
			assert_true(fabs(total - 11.0) < 1e-3);
		}
		/* the job is the ride as fs-vehicle reads it: pickup then drop-off, where the riders are */
		assert_int_equal(j1->stop_count, 2);
		assert_int_equal(j1->stops[0].kind, FS_DISPATCH_STOP_PICKUP);
		assert_int_equal(j1->stops[1].kind, FS_DISPATCH_STOP_DROPOFF);
		assert_int_equal(j1->stops[0].edge, q1->pickup_edge);
		assert_true(fabs(j1->stops[0].offset_m - 20.0) < 1e-3);
		assert_true(fabs(j1->stops[0].point.x - 520.0) < 1e-3 && fabs(j1->stops[0].point.y - 100.0) < 1e-3);
		assert_int_equal(j1->stops[1].edge, edge_ab(&c, node(8, 1), node(9, 1)));
		assert_true(fabs(j1->stops[1].offset_m - 50.0) < 1e-3);
		assert_int_equal(c.out.offer_count, 2);
		city_down(&c);
	}
}

/* Many riders at a few places, idle cars everywhere: the batch matcher serves as many as greedy
 * (it once offered at most `candidates` rides per place per round: the shared nearest cars). */
static void batch_serves_crowds_like_greedy(void **state)
{
	uint32_t offered[2] = { 0, 0 };
	for (int matcher = 0; matcher < 2; matcher++) {
		struct city c;
		city_up(&c);
		c.p.matcher = matcher;
		city_create(&c);
		for (uint32_t id = 0; id < 100; id++) {
			vehicle_at(&c, id, node(id % COLS, id / COLS), T0, 0.9, FS_VEHICLE_AVAILABLE);
		}
		for (int k = 0; k < 60; k++) {
			uint32_t at = k % 2 ? node(2, 2) : node(7, 7);
			request_at(&c, T0 - 60 * S + k, at, k % 2 ? node(8, 1) : node(1, 8));
		}
		step(&c, T0);
		offered[matcher] = c.out.offer_count;
		/* no car twice */
		for (uint32_t i = 0; i < c.out.job_count; i++) {
			for (uint32_t j = i + 1; j < c.out.job_count; j++) {
				assert_int_not_equal(c.out.jobs[i].vehicle_id, c.out.jobs[j].vehicle_id);
			}
		}
		city_down(&c);
	}
	assert_int_equal(offered[FS_DISPATCH_MATCH_GREEDY], 60);
	assert_int_equal(offered[FS_DISPATCH_MATCH_BATCH], offered[FS_DISPATCH_MATCH_GREEDY]);
}

/*
 * An overloaded round: 600 riders wait, 30 cars are free. At most 30 can be matched, and every
 * car is: the round searches from the cars (each its nearest riders), so its pairs number about
 * cars x candidates, not riders x candidates (4,800 when it searched from every rider).
 */
static void an_overloaded_round_searches_from_the_cars(void **state)
{
	struct city c;
	city_up(&c);
	city_create(&c);
	for (uint32_t id = 0; id < 30; id++) {
		vehicle_at(&c, id, node((id * 3) % COLS, (id * 7) % COLS), T0, 0.9, FS_VEHICLE_AVAILABLE);
	}
	for (uint32_t k = 0; k < 600; k++) { /* across the grid: never where they stand */
		uint32_t col = (k * 5 + k / COLS) % COLS, row = (k * 3 + k / COLS) % COLS;
		request_at(&c, T0 - 60 * S + k, node(col, row), node(COLS - 1 - col, COLS - 1 - row));
	}
	fs_dispatch_output_clear(&c.out);
	struct fs_dispatch_step_stats st = { 0 };
	assert_int_equal(fs_dispatch_step(c.d, T0, &c.out, &st), 0);
	assert_int_equal(st.waiting, 600);
	assert_int_equal(c.out.offer_count, 30);
	assert_true(st.passes_from_vehicles >= 1);
	assert_true(st.arcs < 600);
	for (uint32_t i = 0; i < c.out.job_count; i++) { /* no car twice */
		for (uint32_t j = i + 1; j < c.out.job_count; j++) {
			assert_int_not_equal(c.out.jobs[i].vehicle_id, c.out.jobs[j].vehicle_id);
		}
	}
	assert_outcomes_add_up(c.d);
	city_down(&c);
}

/* A parallel loop as adversarial as threads may be: items last to first, spread over three workers. */
static void backwards_on_three_workers(void *pool, size_t n, void (*fn)(void *arg, size_t i, unsigned worker), void *arg)
{
	(void)pool;
	for (size_t i = n; i-- > 0;) {
		fn(arg, i, (unsigned)((i * 7) % 3));
	}
}

/* The offers of a crowded round and the state hash after it, with and without workers. */
static void crowded_round(bool parallel, bool no_arcs, uint32_t ncars, uint32_t nriders,
			  struct fs_dispatch_offer *ret_offers, size_t *ret_count, uint64_t *ret_hash)
{
	struct city c;
	city_up(&c);
	struct fs_route_query *queries[3] = { NULL, fs_route_query_create(c.roads.router), fs_route_query_create(c.roads.router) };
	if (parallel) {
		c.w.parallel_for = backwards_on_three_workers;
		c.w.worker_count = 3;
		c.w.worker_queries = queries;
	}
	if (no_arcs) {
		c.p.max_pickup_eta_s = 0.001; /* no car is that close: every search finds candidates, no pair */
	}
	city_create(&c);
	for (uint32_t id = 0; id < ncars; id++) {
		uint32_t col = no_arcs ? COLS - 1 : (id * 3) % COLS; /* (riders never in the last column) */
		vehicle_at(&c, id, node(col, (id * 7) % COLS), T0, 0.9, FS_VEHICLE_AVAILABLE);
	}
	for (uint32_t k = 0; k < nriders; k++) { /* many chunks of candidate searches */
		request_at(&c, T0 - 60 * S + k, node((k * 5) % (COLS - 1), (k * 3) % COLS),
			   node((k * 2) % COLS, (k + 4) % COLS));
	}
	step(&c, T0);
	assert_true(no_arcs ? c.out.offer_count == 0 : c.out.offer_count > 0 && c.out.offer_count <= ncars);
	if (c.out.offer_count) {
		memcpy(ret_offers, c.out.offers, c.out.offer_count * sizeof(*ret_offers));
	}
	*ret_count = c.out.offer_count;
	*ret_hash = fs_dispatch_hash(c.d);
	city_down(&c);
	fs_route_query_destroy(queries[1]);
	fs_route_query_destroy(queries[2]);
}

/*
 * The candidate searches of a round may run on several workers in any order:
 * the offers (who, to whom, at what ETA, in what order) are the same as on one.
 */
static void matching_on_workers_matches_as_on_one(void **state)
{
	/* searched from the riders (more cars) and from the cars (more riders) */
	static const uint32_t shapes[2][2] = { { 300, 100 }, { 80, 300 } };
	struct fs_dispatch_offer one[300], many[300];
	size_t n_one, n_many;
	uint64_t h_one, h_many;
	for (int shape = 0; shape < 2; shape++) {
		for (int no_arcs = 0; no_arcs < 2; no_arcs++) { /* (and a round where no search finds a pair) */
			uint32_t ncars = shapes[shape][0], nriders = shapes[shape][1];
			crowded_round(false, no_arcs, ncars, nriders, one, &n_one, &h_one);
			crowded_round(true, no_arcs, ncars, nriders, many, &n_many, &h_many);
			assert_int_equal(n_one, n_many);
			for (size_t i = 0; i < n_one; i++) {
				assert_int_equal(one[i].request_id, many[i].request_id);
				assert_int_equal(one[i].vehicle_id, many[i].vehicle_id);
				assert_true(one[i].pickup_eta_s == many[i].pickup_eta_s);
			}
			assert_true(h_one == h_many);
		}
	}
}

/* A tick's requests added @how: 0 one by one, 1 together, 2 together on (adversarial) workers. */
static void add_a_ticks_requests(int how, struct fs_dispatch_request *ret, size_t *ret_added, uint64_t *ret_hash)
{
	struct city c;
	city_up(&c);
	struct fs_route_query *queries[3] = { NULL, fs_route_query_create(c.roads.router), fs_route_query_create(c.roads.router) };
	if (how == 2) {
		c.w.parallel_for = backwards_on_three_workers;
		c.w.worker_count = 3;
		c.w.worker_queries = queries;
	}
	city_create(&c);
	struct fs_dispatch_request_in in[120];
	for (uint32_t k = 0; k < 120; k++) {
		/* riders mid-block and at corners, some going nowhere (the same place) */
		struct fs_point a = point_of(&c, node((k * 3) % COLS, (k * 7) % COLS));
		struct fs_point b = point_of(&c, node((k * 5) % COLS, (k + 2) % COLS));
		a.x += (double)(k % 4) * 20.0;
		in[k] = (struct fs_dispatch_request_in){ .demand_id = k, .t_ms = T0 + k * 100, .origin = a, .dest = b };
	}
	in[100].t_ms = T0; /* out of order: refused, with what follows */
	size_t added = 0;
	if (how == 0) {
		while (added < 120 && fs_dispatch_add_request(c.d, &in[added]) > 0) {
			added++;
		}
	} else {
		size_t failed;
		assert_int_equal(fs_dispatch_add_requests(c.d, in, 120, &failed), -EINVAL);
		added = failed;
	}
	*ret_added = added;
	for (size_t i = 0; i < added; i++) {
		ret[i] = *fs_dispatch_request(c.d, i + 1);
	}
	*ret_hash = fs_dispatch_hash(c.d);
	city_down(&c);
	fs_route_query_destroy(queries[1]);
	fs_route_query_destroy(queries[2]);
}

/* A tick's requests added together, on workers or not, are planned as added one by one. */
static void a_ticks_requests_together_are_planned_alike(void **state)
{
	static struct fs_dispatch_request r[3][120];
	size_t n[3];
	uint64_t h[3];
	for (int how = 0; how < 3; how++) {
		add_a_ticks_requests(how, r[how], &n[how], &h[how]);
	}
	assert_int_equal(n[0], 100);
	for (int how = 1; how < 3; how++) {
		assert_int_equal(n[how], n[0]);
		assert_true(h[how] == h[0]);
		for (size_t i = 0; i < n[0]; i++) {
			const struct fs_dispatch_request *a = &r[0][i], *b = &r[how][i];
			assert_int_equal(a->id, b->id);
			assert_int_equal(a->pickup_edge, b->pickup_edge);
			assert_int_equal(a->dropoff_edge, b->dropoff_edge);
			assert_true(a->pickup_offset_m == b->pickup_offset_m && a->dropoff_offset_m == b->dropoff_offset_m);
			assert_true(memcmp(&a->route_s, &b->route_s, sizeof(a->route_s)) == 0);
			assert_true(memcmp(&a->route_m, &b->route_m, sizeof(a->route_m)) == 0);
			assert_int_equal(a->reason, b->reason);
			assert_int_equal(a->rider_shows, b->rider_shows);
			assert_true(a->rider_patience_s == b->rider_patience_s);
			assert_int_equal(a->surface_ok, b->surface_ok);
			assert_int_equal(a->uses_motorway, b->uses_motorway);
		}
	}
}

/* Greedy takes the smallest ETA, not the smallest straight line, and matches only every batch. */
static void greedy_uses_eta_and_batch_period(void **state)
{
	struct city c;
	city_up(&c);
	c.p.matcher = FS_DISPATCH_MATCH_GREEDY;
	/* cut the street between x=2 and x=3 on row 0 (both directions): a detour around the block */
	for (uint32_t e = 0; e < c.roads.net->edge_count; e++) {
		const struct fs_edge *ed = &c.roads.net->edges[e];
		if ((ed->from == node(2, 0) && ed->to == node(3, 0)) || (ed->from == node(3, 0) && ed->to == node(2, 0))) {
			c.roads.net->edges[e].travel_time_s = 1000.0f;
		}
	}
	fs_route_query_destroy(c.roads.q);
	fs_router_destroy(c.roads.router);
	c.roads.router = fs_router_create(c.roads.net, NULL, NULL);
	c.roads.q = fs_route_query_create(c.roads.router);
	c.w.query = c.roads.q;
	city_create(&c);
	vehicle_at(&c, 0, node(2, 0), T0, 0.9, FS_VEHICLE_AVAILABLE); /* 100 m away, but the street is cut */
	vehicle_on(&c, 1, node(3, 3), node(3, 2), 100.0, T0);         /* 200 m away, straight down */
	uint64_t r = request_at(&c, T0, node(3, 0), node(9, 9));
	step(&c, T0);
	const struct fs_dispatch_job *j = job_for(&c, r);
	assert_non_null(j);
	assert_int_equal(j->vehicle_id, 1);
	event(&c, T0 + 1 * S, 1, j->job_id, FS_VEV_JOB_ACCEPTED, FS_VEHICLE_TO_PICKUP);
	/* a request between batches waits for the next one (30 s) */
	uint64_t r2 = request_at(&c, T0 + 5 * S, node(2, 1), node(9, 8));
	step(&c, T0 + 5 * S);
	assert_null(job_for(&c, r2));
	step(&c, T0 + 30 * S);
	assert_non_null(job_for(&c, r2));
	assert_int_equal(job_for(&c, r2)->vehicle_id, 0);
	city_down(&c);
}

/*
 * Vehicles send news, not heartbeats: a car parked since the morning is still
 * there in the evening and gets the ride; one taken out of service does not.
 */
static void silent_vehicles_stay_where_they_stood(void **state)
{
	struct city c;
	city_up(&c);
	city_create(&c);
	vehicle_at(&c, 0, node(1, 0), T0, 0.9, FS_VEHICLE_AVAILABLE);  /* nearer, retired at noon */
	vehicle_at(&c, 1, node(6, 0), T0, 0.9, FS_VEHICLE_AVAILABLE);  /* silent from now on */
	vehicle_at(&c, 2, node(2, 0), T0, 0.9, FS_VEHICLE_AVAILABLE);
	step(&c, T0);
	vehicle_at(&c, 0, node(1, 0), T0 + 4 * 3600 * S, 0.9, FS_VEHICLE_OUT_OF_SERVICE);
	vehicle_at(&c, 2, node(2, 0), T0 + 4 * 3600 * S, 0.9, FS_VEHICLE_MAINTENANCE);
	int64_t evening = T0 + 8 * 3600 * S;
	fs_dispatch_set_fleet_time(c.d, evening);
	uint64_t r = request_at(&c, evening, node(0, 0), node(5, 5));
	step(&c, evening + 10 * S);
	assert_non_null(job_for(&c, r));
	assert_int_equal(job_for(&c, r)->vehicle_id, 1);
	city_down(&c);
}

/* A rider whose car is on its way but late gives up at patience; the vehicle is told to drop it. */
static void riders_give_up_on_a_late_car(void **state)
{
	struct city c;
	city_up(&c);
	c.p.patience_s = 120.0;
	city_create(&c);
	vehicle_at(&c, 1, node(2, 0), T0, 0.9, FS_VEHICLE_AVAILABLE); /* 20 s away */
	uint64_t r = request_at(&c, T0, node(4, 0), node(9, 9));
	step(&c, T0);
	const struct fs_dispatch_job *j = job_for(&c, r);
	assert_non_null(j);
	uint64_t job = j->job_id;
	event(&c, T0 + 1 * S, 1, job, FS_VEV_JOB_ACCEPTED, FS_VEHICLE_TO_PICKUP);
	vehicle_at(&c, 1, node(2, 0), T0 + 1 * S, 0.9, FS_VEHICLE_TO_PICKUP);
	/* ... and the car never gets there (stuck, slowed): at 120 s the rider gives up */
	for (int64_t t = T0 + S; t < T0 + 120 * S; t += S) {
		step(&c, t);
		assert_int_equal(fs_dispatch_request(c.d, r)->status, FS_DISPATCH_ASSIGNED);
	}
	step(&c, T0 + 120 * S);
	const struct fs_dispatch_request *req = fs_dispatch_request(c.d, r);
	assert_int_equal(req->status, FS_DISPATCH_CANCELLED);
	assert_int_equal(req->reason, FS_DISPATCH_REASON_AFTER_ASSIGNMENT);
	const struct fs_dispatch_job *cancel = NULL;
	for (size_t i = 0; i < c.out.job_count; i++) {
		cancel = c.out.jobs[i].job_id == job ? &c.out.jobs[i] : cancel;
	}
	assert_non_null(cancel); /* the vehicle is told to drop the ride: a job with no stops */
	assert_int_equal(cancel->vehicle_id, 1);
	assert_int_equal(cancel->stop_count, 0);
	struct fs_dispatch_kpi k;
	assert_int_equal(fs_dispatch_kpi(c.d, &k, NULL, NULL), 0);
	assert_int_equal(k.cancelled_after_assignment, 1);
	assert_int_equal(k.cancelled_before_assignment, 0);
	/* the car's hand-back is the answer, not an unknown event; then it is free again */
	uint64_t unknown = fs_dispatch_get_counters(c.d)->unknown_events;
	event(&c, T0 + 121 * S, 1, job, FS_VEV_JOB_HANDED_BACK, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 1, node(3, 0), T0 + 121 * S, 0.9, FS_VEHICLE_AVAILABLE);
	uint64_t next = request_at(&c, T0 + 121 * S, node(3, 1), node(9, 9));
	step(&c, T0 + 150 * S);
	assert_int_equal(fs_dispatch_get_counters(c.d)->unknown_events, unknown);
	assert_non_null(job_for(&c, next));
	assert_outcomes_add_up(c.d);
	city_down(&c);
}

/* The ETA quoted is that of the route the car will drive, around a closed street. */
static void offers_quote_the_detour_around_a_closure(void **state)
{
	struct city c;
	city_up(&c);
	city_create(&c);
	uint8_t *closed = calloc(c.roads.net->edge_count, 1);
	for (uint32_t e = 0; e < c.roads.net->edge_count; e++) {
		const struct fs_edge *ed = &c.roads.net->edges[e];
		closed[e] = (ed->from == node(1, 0) && ed->to == node(2, 0)) || (ed->from == node(2, 0) && ed->to == node(1, 0));
	}
	fs_route_query_avoid(c.roads.q, closed);
	fs_dispatch_set_weather(c.d, NULL); /* the roads changed: replan */
	vehicle_at(&c, 1, node(0, 0), T0, 0.9, FS_VEHICLE_AVAILABLE);
	uint64_t r = request_at(&c, T0, node(3, 0), node(9, 9));
	step(&c, T0);
	assert_non_null(job_for(&c, r));
	assert_int_equal(c.out.offer_count, 1);
	/* straight along row 0 it would be 30 s; around the closed block (up, along, down) 50 s */
	assert_true(fabs(c.out.offers[0].pickup_eta_s - 50.0) < 1.0);
	fs_route_query_avoid(c.roads.q, NULL);
	free(closed);
	city_down(&c);
}

/*
 * The routing hierarchy ranks candidates without a closure in the middle of their way (it
 * sees the turns and closures within two turns of either end only): car 1 looks 70 s away
 * and car 2 80 s, but car 1 must drive around the closed block (90 s). Both matchers send car 2.
 */
static void matchers_rank_by_the_drive_around_a_closure(void **state)
{
	const enum fs_dispatch_matcher matchers[] = { FS_DISPATCH_MATCH_BATCH, FS_DISPATCH_MATCH_GREEDY };
	for (size_t i = 0; i < sizeof(matchers) / sizeof(matchers[0]); i++) {
		struct city c;
		city_up(&c);
		c.p.matcher = matchers[i];
		city_create(&c);
		uint8_t *closed = calloc(c.roads.net->edge_count, 1);
		for (uint32_t e = 0; e < c.roads.net->edge_count; e++) {
			const struct fs_edge *ed = &c.roads.net->edges[e];
			closed[e] = (ed->from == node(3, 0) && ed->to == node(4, 0)) ||
				    (ed->from == node(4, 0) && ed->to == node(3, 0));
		}
		fs_route_query_avoid(c.roads.q, closed);
		fs_dispatch_set_weather(c.d, NULL);
		vehicle_on(&c, 1, node(0, 0), node(1, 0), 0.0, T0);   /* at the corner, facing east */
		vehicle_on(&c, 2, node(7, 9), node(7, 8), 100.0, T0); /* eight blocks north, facing south */
		uint64_t r = request_at(&c, T0, node(7, 0), node(9, 9));
		step(&c, T0);
		const struct fs_dispatch_job *j = job_for(&c, r);
		assert_non_null(j);
		assert_int_equal(j->vehicle_id, 2);
		assert_int_equal(c.out.offer_count, 1);
		assert_true(fabs(c.out.offers[0].pickup_eta_s - 80.0) < 1.0);
		assert_int_equal(fs_dispatch_get_counters(c.d)->pickup_eta_corrections, 1);
		/* with the road open again, car 1 is nearest and nothing is corrected */
		fs_route_query_avoid(c.roads.q, NULL);
		fs_dispatch_set_weather(c.d, NULL);
		vehicle_on(&c, 3, node(0, 0), node(1, 0), 0.0, T0 + 10 * S);
		uint64_t r2 = request_at(&c, T0 + 10 * S, node(7, 0), node(9, 9));
		step(&c, T0 + 60 * S);
		j = job_for(&c, r2);
		assert_non_null(j);
		assert_true(j->vehicle_id == 1 || j->vehicle_id == 3);
		assert_int_equal(fs_dispatch_get_counters(c.d)->pickup_eta_corrections, 1);
		free(closed);
		city_down(&c);
	}
}

/* ---- cancellations ---------------------------------------------------------------------------- */

static void riders_cancel_at_patience(void **state)
{
	struct city c;
	city_up(&c);
	c.p.patience_s = 120.0;
	city_create(&c);
	/* the only vehicle is busy */
	vehicle_at(&c, 0, node(0, 0), T0, 0.9, FS_VEHICLE_IN_TRIP);
	uint64_t r = request_at(&c, T0, node(5, 5), node(9, 9));
	for (int64_t t = T0; t < T0 + 120 * S; t += S) {
		step(&c, t);
		assert_int_equal(fs_dispatch_request(c.d, r)->status, FS_DISPATCH_REQUESTED);
	}
	step(&c, T0 + 120 * S);
	const struct fs_dispatch_request *req = fs_dispatch_request(c.d, r);
	assert_int_equal(req->status, FS_DISPATCH_CANCELLED);
	assert_int_equal(req->reason, FS_DISPATCH_REASON_BEFORE_ASSIGNMENT);
	assert_int_equal(req->t_end_ms, T0 + 120 * S);
	bool seen = false;
	for (size_t i = 0; i < c.out.event_count; i++) {
		seen |= c.out.events[i].request_id == r && c.out.events[i].kind == FS_DISPATCH_EV_CANCELLED;
	}
	assert_true(seen);
	/* a car that would arrive after the rider gave up is not offered: 18 blocks = 180 s > 120 s */
	vehicle_at(&c, 1, node(0, 0), T0 + 121 * S, 0.9, FS_VEHICLE_AVAILABLE);
	uint64_t far = request_at(&c, T0 + 150 * S, node(9, 9), node(5, 5));
	for (int64_t t = T0 + 150 * S; t <= T0 + 270 * S; t += S) {
		step(&c, t);
		assert_null(job_for(&c, far));
	}
	assert_int_equal(fs_dispatch_request(c.d, far)->status, FS_DISPATCH_CANCELLED);
	assert_outcomes_add_up(c.d);
	city_down(&c);
}

/* The rider of request @id in @c's run (the platform draws the same one). */
static struct fs_rider rider_of(const struct city *c, uint64_t id)
{
	struct fs_rider r;
	fs_rider_draw(&c->p.riders, c->p.seed, id, &r);
	return r;
}

/* With no car, each rider gives up at their own patience, as many by each time as its survival says. */
static void riders_give_up_at_their_own_patience(void **state)
{
	struct city c;
	city_up(&c);
	fs_rider_params_defaults(&c.p.riders);
	c.p.riders.patience_median_s = 60.0;
	c.p.seed = 5;
	city_create(&c);
	vehicle_at(&c, 0, node(0, 0), T0, 0.9, FS_VEHICLE_IN_TRIP); /* the only car is busy */
	const int n = 400;
	for (int i = 0; i < n; i++) {
		request_at(&c, T0, node((uint32_t)i % 10, 5), node(9, 9));
	}
	int by_median = 0;
	for (int64_t t = T0; t <= T0 + 600 * S; t += S) {
		step(&c, t);
		for (uint64_t id = 1; id <= (uint64_t)n; id++) {
			const struct fs_dispatch_request *r = fs_dispatch_request(c.d, id);
			int64_t due = T0 + (int64_t)(rider_of(&c, id).patience_s * 1000.0);
			if (due < T0 + 600 * S) { /* (the platform's cap ends the others at 600 s) */
				assert_int_equal(r->status, t < due ? FS_DISPATCH_REQUESTED : FS_DISPATCH_CANCELLED);
			}
			if (t == T0 + 60 * S) {
				by_median += r->status == FS_DISPATCH_CANCELLED;
			}
		}
	}
	for (uint64_t id = 1; id <= (uint64_t)n; id++) {
		const struct fs_dispatch_request *r = fs_dispatch_request(c.d, id);
		double own = rider_of(&c, id).patience_s;
		assert_int_equal(r->reason, FS_DISPATCH_REASON_BEFORE_ASSIGNMENT);
		assert_int_equal(r->t_end_ms, T0 + (int64_t)(fmin(own, 600.0) * 1000.0));
		assert_true(fabs(r->rider_patience_s - own) < 1e-3);
	}
	/* half by the median, within 4 binomial sigmas */
	assert_true(abs(by_median - n / 2) < 4.0 * sqrt(n * 0.25));
	assert_outcomes_add_up(c.d);
	city_down(&c);
}

/* A rider quoted an ETA past their patience cancels as soon as the car is assigned; one whose
 * car comes in time waits for it. */
static void a_long_quote_makes_the_rider_cancel_once_assigned(void **state)
{
	struct city c;
	city_up(&c);
	fs_rider_params_defaults(&c.p.riders);
	c.p.riders.patience_median_s = 30.0;
	c.p.riders.patience_shape = 20.0; /* nearly everyone 24-34 s */
	c.p.riders.no_show_share = 0.0;
	c.p.batch_s = 1.0;
	city_create(&c);
	assert_true(rider_of(&c, 1).patience_s < 49.0 && rider_of(&c, 2).patience_s > 22.0);
	vehicle_at(&c, 1, node(0, 0), T0, 0.9, FS_VEHICLE_AVAILABLE); /* 5 blocks: 50 s */
	uint64_t far = request_at(&c, T0, node(5, 0), node(9, 9));
	step(&c, T0);
	const struct fs_dispatch_job *j = job_for(&c, far);
	assert_non_null(j);
	uint64_t job = j->job_id;
	assert_true(fs_dispatch_request(c.d, far)->offer_eta_s >= 50.0 - 1e-3); /* 5 blocks, and any turn about */
	event(&c, T0 + S, 1, job, FS_VEV_JOB_ACCEPTED, FS_VEHICLE_TO_PICKUP);
	step(&c, T0 + S);
	const struct fs_dispatch_request *r = fs_dispatch_request(c.d, far);
	assert_int_equal(r->status, FS_DISPATCH_CANCELLED);
	assert_int_equal(r->reason, FS_DISPATCH_REASON_AFTER_ASSIGNMENT);
	assert_int_equal(r->t_end_ms, T0 + S); /* when the app showed the car */
	bool called_off = false;
	for (size_t i = 0; i < c.out.job_count; i++) {
		called_off |= c.out.jobs[i].job_id == job && c.out.jobs[i].stop_count == 0;
	}
	assert_true(called_off);
	/* a car two blocks (20 s) away: the rider waits for it */
	event(&c, T0 + 2 * S, 1, job, FS_VEV_JOB_HANDED_BACK, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 1, node(0, 0), T0 + 2 * S, 0.9, FS_VEHICLE_AVAILABLE);
	/* heading east already: no turn about on the way */
	uint32_t east = edge_ab(&c, node(6, 3), node(7, 3));
	struct fs_vehicle_record s2 = fs_vehicle_record_standing(2, FS_VEHICLE_AVAILABLE, east, c.roads.net->edges[east].length_m,
								  c.roads.net->nodes[node(7, 3)].x, c.roads.net->nodes[node(7, 3)].y,
								  0.9, T0 + 2 * S);
	assert_int_equal(fs_dispatch_update_vehicle(c.d, &s2), 0);
	uint64_t near = request_at(&c, T0 + 2 * S, node(9, 3), node(9, 9));
	step(&c, T0 + 2 * S);
	j = job_for(&c, near);
	assert_non_null(j);
	assert_int_equal(j->vehicle_id, 2);
	event(&c, T0 + 3 * S, 2, j->job_id, FS_VEV_JOB_ACCEPTED, FS_VEHICLE_TO_PICKUP);
	for (int64_t t = T0 + 3 * S; t <= T0 + 20 * S; t += S) {
		step(&c, t);
		assert_int_equal(fs_dispatch_request(c.d, near)->status, FS_DISPATCH_ASSIGNED);
	}
	struct fs_dispatch_kpi k;
	assert_int_equal(fs_dispatch_kpi(c.d, &k, NULL, NULL), 0);
	assert_true(k.cancelled_after_assignment == 1 && k.cancelled_before_assignment == 0);
	assert_outcomes_add_up(c.d);
	city_down(&c);
}

/* A rider who never comes: the car waits its time at the kerb and leaves; the ride ends as a
 * no-show, counted apart, and the car takes the next rider. A car that leaves earlier (a fault)
 * hands the rider back to the pool instead. */
static void a_no_show_frees_the_car_and_counts(void **state)
{
	struct city c;
	city_up(&c);
	c.p.riders.no_show_share = 1.0;
	c.p.max_wait_s = 300.0;
	city_create(&c);
	vehicle_at(&c, 1, node(2, 0), T0, 0.9, FS_VEHICLE_AVAILABLE);
	uint64_t r = request_at(&c, T0, node(4, 0), node(9, 9));
	step(&c, T0);
	const struct fs_dispatch_job *j = job_for(&c, r);
	assert_non_null(j);
	uint64_t job = j->job_id;
	assert_false(fs_dispatch_request(c.d, r)->rider_shows);
	event(&c, T0 + S, 1, job, FS_VEV_JOB_ACCEPTED, FS_VEHICLE_TO_PICKUP);
	event(&c, T0 + 21 * S, 1, job, FS_VEV_ARRIVED, FS_VEHICLE_TO_PICKUP);
	/* the car leaves early (a fault): not a no-show, the rider waits for another car */
	event(&c, T0 + 100 * S, 1, job, FS_VEV_JOB_HANDED_BACK, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 1, node(4, 0), T0 + 100 * S, 0.9, FS_VEHICLE_AVAILABLE);
	step(&c, T0 + 100 * S);
	j = job_for(&c, r); /* back in the pool: offered again */
	assert_non_null(j);
	assert_int_equal(fs_dispatch_request(c.d, r)->reason, FS_DISPATCH_REASON_NONE);
	job = j->job_id;
	event(&c, T0 + 111 * S, 1, job, FS_VEV_JOB_ACCEPTED, FS_VEHICLE_TO_PICKUP);
	event(&c, T0 + 111 * S, 1, job, FS_VEV_ARRIVED, FS_VEHICLE_TO_PICKUP);
	vehicle_at(&c, 1, node(4, 0), T0 + 111 * S, 0.9, FS_VEHICLE_WAITING_FOR_RIDER);
	step(&c, T0 + 112 * S);
	/* ... after its 300 s at the kerb it leaves: a no-show */
	event(&c, T0 + 411 * S, 1, job, FS_VEV_JOB_HANDED_BACK, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 1, node(4, 0), T0 + 411 * S, 0.9, FS_VEHICLE_AVAILABLE);
	uint64_t next = request_at(&c, T0 + 411 * S, node(5, 0), node(9, 9));
	step(&c, T0 + 420 * S);
	const struct fs_dispatch_request *req = fs_dispatch_request(c.d, r);
	assert_int_equal(req->status, FS_DISPATCH_CANCELLED);
	assert_int_equal(req->reason, FS_DISPATCH_REASON_NO_SHOW);
	assert_int_equal(req->t_end_ms, T0 + 411 * S);
	assert_non_null(job_for(&c, next)); /* the car is free for the next rider */
	assert_int_equal(job_for(&c, next)->vehicle_id, 1);
	struct fs_dispatch_kpi k;
	assert_int_equal(fs_dispatch_kpi(c.d, &k, NULL, NULL), 0);
	assert_true(k.cancelled_no_show == 1 && k.cancelled_after_assignment == 0 &&
		    k.cancelled_before_assignment == 0);
	assert_outcomes_add_up(c.d);
	city_down(&c);
}

/* ---- the lifecycle ---------------------------------------------------------------------------- */

static void lifecycle_and_outcomes(void **state)
{
	struct city c;
	city_up(&c);
	city_create(&c);
	vehicle_at(&c, 0, node(1, 1), T0, 0.9, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 1, node(4, 4), T0, 0.9, FS_VEHICLE_AVAILABLE);
	uint64_t r = request_at(&c, T0 - 10 * S, node(1, 2), node(8, 8));
	step(&c, T0);
	const struct fs_dispatch_job *j = job_for(&c, r);
	assert_non_null(j);
	assert_int_equal(j->vehicle_id, 0);
	uint64_t job = j->job_id;
	/* the vehicle declines: the rider waits again, the next batch offers the other car */
	event(&c, T0 + 1 * S, 0, job, FS_VEV_JOB_DECLINED, FS_VEHICLE_AVAILABLE);
	step(&c, T0 + 2 * S);
	assert_int_equal(fs_dispatch_request(c.d, r)->status, FS_DISPATCH_REQUESTED);
	step(&c, T0 + 30 * S);
	j = job_for(&c, r);
	assert_non_null(j);
	assert_int_equal(j->vehicle_id, 1); /* vehicle 0 cools down after declining */
	job = j->job_id;
	assert_int_equal(fs_dispatch_request(c.d, r)->offers, 2);
	/* accepted, at the pickup, rider aboard, dropped off */
	event(&c, T0 + 31 * S, 1, job, FS_VEV_JOB_ACCEPTED, FS_VEHICLE_TO_PICKUP);
	step(&c, T0 + 32 * S);
	assert_int_equal(fs_dispatch_request(c.d, r)->status, FS_DISPATCH_ASSIGNED);
	event(&c, T0 + 60 * S, 1, job, FS_VEV_ARRIVED, FS_VEHICLE_TO_PICKUP);
	event(&c, T0 + 60 * S, 1, job, FS_VEV_STATE_CHANGED, FS_VEHICLE_WAITING_FOR_RIDER);
	event(&c, T0 + 90 * S, 1, job, FS_VEV_STATE_CHANGED, FS_VEHICLE_IN_TRIP);
	step(&c, T0 + 91 * S);
	assert_int_equal(fs_dispatch_request(c.d, r)->status, FS_DISPATCH_PICKED_UP);
	event(&c, T0 + 200 * S, 1, job, FS_VEV_ARRIVED, FS_VEHICLE_IN_TRIP);
	step(&c, T0 + 201 * S);
	const struct fs_dispatch_request *req = fs_dispatch_request(c.d, r);
	assert_int_equal(req->status, FS_DISPATCH_DROPPED_OFF);
	assert_int_equal(req->t_request_ms, T0 - 10 * S);
	assert_int_equal(req->t_assign_ms, T0 + 31 * S);
	assert_int_equal(req->t_arrive_ms, T0 + 60 * S);
	assert_int_equal(req->t_pickup_ms, T0 + 90 * S);
	assert_int_equal(req->t_dropoff_ms, T0 + 200 * S);
	struct fs_dispatch_kpi k;
	assert_int_equal(fs_dispatch_kpi(c.d, &k, NULL, NULL), 0);
	assert_int_equal(k.served, 1);
	assert_true(fabs(k.wait_p50_s - 70.0) < 1e-9);       /* arrival - request */
	assert_true(fabs(k.in_vehicle_mean_s - 110.0) < 1e-9); /* drop-off - pickup */
	/* events about a finished job change nothing */
	event(&c, T0 + 202 * S, 1, job, FS_VEV_JOB_HANDED_BACK, FS_VEHICLE_AVAILABLE);
	step(&c, T0 + 203 * S);
	assert_int_equal(fs_dispatch_request(c.d, r)->status, FS_DISPATCH_DROPPED_OFF);

	/* handed back before the pickup: waits again; handed back with the rider aboard: aborted */
	vehicle_at(&c, 0, node(1, 1), T0 + 203 * S, 0.9, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 1, node(4, 4), T0 + 203 * S, 0.9, FS_VEHICLE_AVAILABLE);
	uint64_t r2 = request_at(&c, T0 + 205 * S, node(2, 2), node(7, 7));
	step(&c, T0 + 210 * S);
	j = job_for(&c, r2);
	assert_non_null(j);
	uint32_t v2 = j->vehicle_id;
	job = j->job_id;
	event(&c, T0 + 211 * S, v2, job, FS_VEV_JOB_ACCEPTED, FS_VEHICLE_TO_PICKUP);
	event(&c, T0 + 215 * S, v2, job, FS_VEV_JOB_HANDED_BACK, FS_VEHICLE_AVAILABLE);
	step(&c, T0 + 216 * S);
	assert_int_equal(fs_dispatch_request(c.d, r2)->status, FS_DISPATCH_REQUESTED);
	step(&c, T0 + 240 * S);
	j = job_for(&c, r2);
	assert_non_null(j);
	job = j->job_id;
	v2 = j->vehicle_id;
	event(&c, T0 + 241 * S, v2, job, FS_VEV_JOB_ACCEPTED, FS_VEHICLE_TO_PICKUP);
	event(&c, T0 + 250 * S, v2, job, FS_VEV_STATE_CHANGED, FS_VEHICLE_IN_TRIP);
	event(&c, T0 + 260 * S, v2, job, FS_VEV_JOB_HANDED_BACK, FS_VEHICLE_MINIMAL_RISK);
	step(&c, T0 + 261 * S);
	req = fs_dispatch_request(c.d, r2);
	assert_int_equal(req->status, FS_DISPATCH_CANCELLED);
	assert_int_equal(req->reason, FS_DISPATCH_REASON_ABORTED);

	/* a vehicle that never answers: the offer times out and the rider is offered again */
	vehicle_at(&c, 0, node(1, 1), T0 + 262 * S, 0.9, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 1, node(4, 4), T0 + 262 * S, 0.9, FS_VEHICLE_AVAILABLE);
	uint64_t r3 = request_at(&c, T0 + 265 * S, node(1, 1), node(6, 6));
	step(&c, T0 + 270 * S);
	assert_non_null(job_for(&c, r3));
	step(&c, T0 + 280 * S);
	assert_int_equal(fs_dispatch_request(c.d, r3)->status, FS_DISPATCH_REQUESTED);
	assert_int_equal(fs_dispatch_get_counters(c.d)->offer_timeouts, 1);
	step(&c, T0 + 300 * S);
	assert_non_null(job_for(&c, r3));
	assert_outcomes_add_up(c.d);
	city_down(&c);
}

static void rejections(void **state)
{
	struct city c;
	city_up(&c);
	c.p.battery_kwh = 0.2; /* 0.2 kWh x 0.7 usable: about 600 m of driving */
	city_create(&c);
	/* no fleet has reported: after the offer timeout the platform says no */
	uint64_t early = request_at(&c, T0, node(1, 1), node(2, 2));
	step(&c, T0);
	assert_int_equal(fs_dispatch_request(c.d, early)->status, FS_DISPATCH_REQUESTED);
	step(&c, T0 + 10 * S);
	assert_int_equal(fs_dispatch_request(c.d, early)->status, FS_DISPATCH_REJECTED);
	assert_int_equal(fs_dispatch_request(c.d, early)->reason, FS_DISPATCH_REASON_NO_FLEET);
	vehicle_at(&c, 0, node(0, 0), T0 + 10 * S, 1.0, FS_VEHICLE_AVAILABLE);
	struct fs_dispatch_request_in outside = { .t_ms = T0 + 11 * S, .origin = { -5000.0, 0.0 }, .dest = { 200, 200 } };
	int64_t r_out = fs_dispatch_add_request(c.d, &outside);
	uint64_t r_same = request_at(&c, T0 + 11 * S, node(3, 3), node(3, 3));
	uint64_t r_long = request_at(&c, T0 + 11 * S, node(0, 0), node(9, 9));
	uint64_t r_ok = request_at(&c, T0 + 11 * S, node(0, 1), node(1, 1));
	step(&c, T0 + 12 * S);
	assert_int_equal(fs_dispatch_request(c.d, (uint64_t)r_out)->reason, FS_DISPATCH_REASON_OUTSIDE_AREA);
	assert_int_equal(fs_dispatch_request(c.d, r_same)->reason, FS_DISPATCH_REASON_NO_ROUTE);
	assert_int_equal(fs_dispatch_request(c.d, r_long)->reason, FS_DISPATCH_REASON_ENERGY);
	assert_int_equal(fs_dispatch_request(c.d, r_long)->status, FS_DISPATCH_REJECTED);
	assert_int_equal(fs_dispatch_request(c.d, r_ok)->status, FS_DISPATCH_REQUESTED);
	/* at night a fleet whose ODD is daytime only serves nobody */
	int64_t night = T0 + 11 * 3600 * S; /* 23:00 */
	struct fs_vehicle_record day = fs_vehicle_record_standing(0, FS_VEHICLE_AVAILABLE, edge_into(&c, 0), 100, 0, 0,
								   1.0, night);
	day.odd_flags = FS_ODD_DAYTIME_ONLY;
	assert_int_equal(fs_dispatch_update_vehicle(c.d, &day), 0);
	uint64_t r_night = request_at(&c, night, node(0, 1), node(1, 1));
	step(&c, night);
	assert_int_equal(fs_dispatch_request(c.d, r_night)->reason, FS_DISPATCH_REASON_ODD);
	/* bad input */
	struct fs_dispatch_request_in bad = { .t_ms = T0, .origin = { NAN, 0 } };
	assert_int_equal(fs_dispatch_add_request(c.d, &bad), -EINVAL);
	struct fs_dispatch_request_in past = { .t_ms = T0, .origin = { 0, 0 }, .dest = { 100, 0 } };
	assert_int_equal(fs_dispatch_add_request(c.d, &past), -EINVAL); /* before the last request */
	assert_int_equal(fs_dispatch_step(c.d, T0, &c.out, NULL), -EINVAL); /* time went backwards */
	assert_outcomes_add_up(c.d);
	city_down(&c);
}

/*
 * Night is the city's: a daytime-only vehicle in a city five hours behind UTC
 * serves a rider at 23:00 UTC (18:00 local) and not one at 04:00 UTC (23:00
 * local), as the vehicle itself would accept and refuse them (fs-vehicle reads
 * the same clock).
 */
static void night_by_the_city_clock(void **state)
{
	struct city c;
	city_up(&c);
	struct fs_timezone tz;
	fs_timezone_fixed(&tz, -5 * 3600);
	c.w.tz = &tz;
	city_create(&c);
	int64_t evening = T0 + 11 * 3600 * S; /* 23:00 UTC, 18:00 local */
	struct fs_vehicle_record v = fs_vehicle_record_standing(0, FS_VEHICLE_AVAILABLE, edge_into(&c, 0), 100, 0, 0,
								 1.0, evening);
	v.odd_flags = FS_ODD_DAYTIME_ONLY;
	assert_int_equal(fs_dispatch_update_vehicle(c.d, &v), 0);
	uint64_t r_evening = request_at(&c, evening, node(0, 1), node(1, 1));
	step(&c, evening);
	assert_non_null(job_for(&c, r_evening));
	assert_int_not_equal(fs_dispatch_request(c.d, r_evening)->reason, FS_DISPATCH_REASON_ODD);
	city_down(&c);

	city_up(&c);
	c.w.tz = &tz;
	city_create(&c);
	int64_t late = T0 + 16 * 3600 * S; /* 04:00 UTC, 23:00 local */
	v = fs_vehicle_record_standing(0, FS_VEHICLE_AVAILABLE, edge_into(&c, 0), 100, 0, 0, 1.0, late);
	v.odd_flags = FS_ODD_DAYTIME_ONLY;
	assert_int_equal(fs_dispatch_update_vehicle(c.d, &v), 0);
	uint64_t r_late = request_at(&c, late, node(0, 1), node(1, 1));
	step(&c, late);
	assert_int_equal(fs_dispatch_request(c.d, r_late)->reason, FS_DISPATCH_REASON_ODD);
	city_down(&c);
}

/* ---- charging --------------------------------------------------------------------------------- */

static bool is_charge_job(const struct fs_dispatch_job *j, uint32_t vid)
{
	return j->vehicle_id == vid && j->stops[0].kind == FS_DISPATCH_STOP_CHARGE;
}

static int charge_depot_of(const struct city *c, uint32_t vid)
{
	for (size_t i = 0; i < c->out.job_count; i++) {
		if (is_charge_job(&c->out.jobs[i], vid)) {
			return (int)c->out.jobs[i].stops[0].depot;
		}
	}
	return -1;
}

/* The small city with charging on, no off-peak top-ups, and one plug at each of two depots (corners). */
static void charging_city_up(struct city *c)
{
	city_up(c);
	c->p.charging = true;
	c->p.offpeak_share = 0.0; /* no top-ups: only cars that need it */
	c->depots[0] = node(0, 0);
	c->depots[1] = node(9, 9);
	c->plugs[0] = c->plugs[1] = 1;
	c->w.depot_nodes = c->depots;
	c->w.depot_plugs = c->plugs;
	c->w.depot_count = 2;
	city_create(c);
}

/*
 * A step costs what changed, not the fleet: with 100,000 idle cars, only those with a charge
 * command, in the queue or in need of a charger are looked at by the charging pass and the
 * command timeouts; the state hash follows the cars whose decisions change.
 */
static void step_looks_at_the_cars_concerned_not_the_fleet(void **state)
{
	struct city c;
	charging_city_up(&c);
	const uint32_t fleet = 100000;
	for (uint32_t id = 0; id < fleet; id++) {
		vehicle_at(&c, id, id % (COLS * COLS), T0, 0.9, FS_VEHICLE_AVAILABLE);
	}
	struct fs_dispatch_step_stats st = { 0 };
	fs_dispatch_output_clear(&c.out);
	assert_int_equal(fs_dispatch_step(c.d, T0, &c.out, &st), 0);
	assert_int_equal(st.vehicles_examined, 0);
	uint64_t idle_hash = fs_dispatch_hash(c.d);
	/* three cars run low: they are looked at, two go to the plugs, one waits in the queue */
	vehicle_at(&c, 11, node(1, 0), T0 + S, 0.10, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 5000, node(2, 0), T0 + S, 0.12, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 77777, node(3, 0), T0 + S, 0.15, FS_VEHICLE_AVAILABLE);
	fs_dispatch_output_clear(&c.out);
	assert_int_equal(fs_dispatch_step(c.d, T0 + S, &c.out, &st), 0);
	assert_int_equal(st.sent_to_charge, 2);
	assert_true(st.vehicles_examined >= 3 && st.vehicles_examined <= 3 * 3);
	assert_int_equal(fs_dispatch_charge_queue_length(c.d), 1);
	assert_int_equal(charge_depot_of(&c, 11), 0);
	assert_int_equal(charge_depot_of(&c, 5000), 1);
	assert_true(fs_dispatch_hash(c.d) != idle_hash);
	/* the first charges and is done: its plug goes to the third; the hash is back to the
	 * idle fleet's once no car holds a decision */
	vehicle_at(&c, 11, node(0, 1), T0 + 2 * S, 0.10, FS_VEHICLE_TO_CHARGER);
	vehicle_at(&c, 5000, node(3, 1), T0 + 2 * S, 0.12, FS_VEHICLE_TO_CHARGER);
	step(&c, T0 + 2 * S);
	vehicle_at(&c, 11, node(0, 0), T0 + 100 * S, 0.50, FS_VEHICLE_CHARGING);
	vehicle_at(&c, 5000, node(9, 9), T0 + 100 * S, 0.50, FS_VEHICLE_CHARGING);
	step(&c, T0 + 100 * S);
	vehicle_at(&c, 11, node(0, 0), T0 + 900 * S, 0.80, FS_VEHICLE_AVAILABLE);
	step(&c, T0 + 900 * S);
	assert_int_equal(charge_depot_of(&c, 77777), 0);
	vehicle_at(&c, 77777, node(0, 0), T0 + 901 * S, 0.50, FS_VEHICLE_CHARGING);
	step(&c, T0 + 901 * S);
	vehicle_at(&c, 5000, node(9, 9), T0 + 1800 * S, 0.80, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 77777, node(0, 0), T0 + 1800 * S, 0.80, FS_VEHICLE_AVAILABLE);
	fs_dispatch_output_clear(&c.out);
	assert_int_equal(fs_dispatch_step(c.d, T0 + 1800 * S, &c.out, &st), 0);
	assert_int_equal(fs_dispatch_hash(c.d), idle_hash);
	fs_dispatch_output_clear(&c.out);
	assert_int_equal(fs_dispatch_step(c.d, T0 + 1801 * S, &c.out, &st), 0);
	assert_int_equal(st.vehicles_examined, 0);
	city_down(&c);
}

static void charging_respects_plugs(void **state)
{
	struct city c;
	charging_city_up(&c);
	/* four cars low on energy near depot 0, one fine */
	vehicle_at(&c, 0, node(1, 0), T0, 0.10, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 1, node(2, 0), T0, 0.12, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 2, node(3, 0), T0, 0.15, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 3, node(4, 0), T0, 0.20, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 4, node(5, 0), T0, 0.90, FS_VEHICLE_AVAILABLE);
	uint64_t r = request_at(&c, T0, node(1, 1), node(5, 5));
	step(&c, T0);
	/* the first two in the queue get the two plugs: the nearest free one, then the other */
	assert_int_equal(charge_depot_of(&c, 0), 0);
	assert_int_equal(charge_depot_of(&c, 1), 1);
	assert_int_equal(charge_depot_of(&c, 2), -1);
	assert_int_equal(charge_depot_of(&c, 3), -1);
	assert_int_equal(fs_dispatch_plugs_in_use(c.d, 0), 1);
	assert_int_equal(fs_dispatch_plugs_in_use(c.d, 1), 1);
	assert_int_equal(fs_dispatch_charge_queue_length(c.d), 2);
	/* cars that need energy carry no riders: the healthy one takes the ride */
	assert_non_null(job_for(&c, r));
	assert_int_equal(job_for(&c, r)->vehicle_id, 4);
	/* car 0 drives to the charger, charges, and is done: its plug goes to car 2 */
	vehicle_at(&c, 0, node(0, 1), T0 + 1 * S, 0.10, FS_VEHICLE_TO_CHARGER);
	vehicle_at(&c, 1, node(3, 1), T0 + 1 * S, 0.12, FS_VEHICLE_TO_CHARGER);
	step(&c, T0 + 2 * S);
	assert_int_equal(c.out.job_count, 0);
	vehicle_at(&c, 0, node(0, 0), T0 + 100 * S, 0.50, FS_VEHICLE_CHARGING);
	step(&c, T0 + 100 * S);
	assert_int_equal(charge_depot_of(&c, 2), -1);
	vehicle_at(&c, 0, node(0, 0), T0 + 900 * S, 0.80, FS_VEHICLE_AVAILABLE);
	step(&c, T0 + 900 * S);
	assert_int_equal(charge_depot_of(&c, 2), 0);
	assert_int_equal(fs_dispatch_plugs_in_use(c.d, 0), 1);
	assert_int_equal(fs_dispatch_charge_queue_length(c.d), 1);
	const struct fs_dispatch_counters *cn = fs_dispatch_get_counters(c.d);
	assert_true(cn->peak_plugs_in_use[0] <= 1 && cn->peak_plugs_in_use[1] <= 1);
	/* a car that asks for a charger is sent even above the threshold (when a plug is free) */
	vehicle_at(&c, 1, node(9, 9), T0 + 901 * S, 0.80, FS_VEHICLE_AVAILABLE); /* done: depot 1 free */
	vehicle_at(&c, 2, node(1, 0), T0 + 901 * S, 0.15, FS_VEHICLE_TO_CHARGER);
	vehicle_at(&c, 4, node(7, 7), T0 + 901 * S, 0.60, FS_VEHICLE_AVAILABLE);
	event(&c, T0 + 901 * S, 4, 0, FS_VEV_CHARGE_REQUEST, FS_VEHICLE_AVAILABLE);
	step(&c, T0 + 902 * S);
	/* car 3 waited longer: it gets depot 1; car 4 queues behind it */
	assert_int_equal(charge_depot_of(&c, 3), 1);
	assert_int_equal(charge_depot_of(&c, 4), -1);
	assert_int_equal(fs_dispatch_charge_queue_length(c.d), 1);
	/* car 3 never starts its charge job: it is given up after the offer timeout and the plug
	 * goes to car 4 */
	int sent = -1;
	for (int64_t t = T0 + 903 * S; t <= T0 + 920 * S; t += S) {
		step(&c, t);
		assert_true(fs_dispatch_plugs_in_use(c.d, 1) <= 1);
		if (getenv("FS_TEST_VERBOSE")) {
			print_message("t %ld jobs %zu plugs %u %u queue %u\n", (long)((t - T0) / S), c.out.job_count,
				      fs_dispatch_plugs_in_use(c.d, 0), fs_dispatch_plugs_in_use(c.d, 1),
				      fs_dispatch_charge_queue_length(c.d));
		}
		if (charge_depot_of(&c, 4) == 1) {
			sent = (int)((t - T0) / S);
		}
	}
	assert_int_equal(sent, 912);
	assert_int_equal(fs_dispatch_charge_queue_length(c.d), 0);
	/* an outage takes depot 0's plug out of service: car 2 charging there finishes, the next
	 * car that needs energy waits although depot 0 is nearer */
	vehicle_at(&c, 2, node(0, 0), T0 + 921 * S, 0.30, FS_VEHICLE_CHARGING);
	vehicle_at(&c, 4, node(9, 9), T0 + 921 * S, 0.65, FS_VEHICLE_CHARGING); /* depot 1 stays busy */
	assert_int_equal(fs_dispatch_set_depot_plugs(c.d, 0, 0), 0);
	assert_int_equal(fs_dispatch_set_depot_plugs(c.d, 5, 0), -EINVAL);
	vehicle_at(&c, 2, node(0, 0), T0 + 1500 * S, 0.80, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 5, node(1, 1), T0 + 1500 * S, 0.10, FS_VEHICLE_AVAILABLE);
	step(&c, T0 + 1501 * S);
	assert_int_equal(charge_depot_of(&c, 5), -1);
	assert_int_equal(fs_dispatch_plugs_in_use(c.d, 0), 0);
	assert_int_equal(fs_dispatch_charge_queue_length(c.d), 2); /* car 3 (it never went) and car 5 */
	assert_int_equal(fs_dispatch_set_depot_plugs(c.d, 0, 1), 0); /* back in service */
	step(&c, T0 + 1502 * S);
	assert_int_equal(charge_depot_of(&c, 3), 0); /* first come, first served */
	assert_int_equal(charge_depot_of(&c, 5), -1);
	city_down(&c);
}

/* ---- rebalancing ------------------------------------------------------------------------------ */

static void rebalancing_moves_idle_cars_to_demand(void **state)
{
	struct city c;
	city_up(&c);
	c.p.rebalance_s = 60.0;
	c.p.cell_m = 500.0; /* 2 x 2 zones over the 900 m grid */
	c.p.max_move_share = 0.5;
	/* all demand starts around (800, 800); 480 a day at a flat profile: 5 in 15 min */
	c.places = calloc(4, sizeof(*c.places));
	c.nplaces = 4;
	for (int i = 0; i < 4; i++) {
		c.places[i] = (struct fs_demand_place){ .x = 700.0 + 100.0 * (i % 2), .y = 700.0 + 100.0 * (i / 2),
							.zone = FS_DEMAND_NO_ZONE, .weight = 1.0 };
	}
	c.profile.slots_per_day = 24;
	for (int h = 0; h < 24; h++) {
		c.profile.slot_share[h] = 1.0 / 24.0;
	}
	c.w.places = c.places;
	c.w.place_count = c.nplaces;
	c.w.profile = &c.profile;
	c.w.trips_per_day = 480.0;
	city_create(&c);
	uint32_t demand_zone = fs_dispatch_zone_of(c.d, point_of(&c, node(8, 8)));
	assert_true(fabs(fs_dispatch_expected_demand(c.d, demand_zone, T0, 900.0) - 5.0) < 1e-9);
	assert_true(fs_dispatch_expected_demand(c.d, fs_dispatch_zone_of(c.d, point_of(&c, 0)), T0, 900.0) == 0.0);
	/* eight cars idle in the far corner since T0, one that just became idle */
	for (uint32_t id = 0; id < 8; id++) {
		vehicle_at(&c, id, node(id % 3, id / 3), T0, 0.9, FS_VEHICLE_AVAILABLE);
	}
	step(&c, T0);
	assert_int_equal(c.out.job_count, 0); /* rebalancing waits for its first period */
	vehicle_at(&c, 8, node(1, 1), T0 + 50 * S, 0.9, FS_VEHICLE_AVAILABLE);
	step(&c, T0 + 60 * S);
	assert_int_equal(c.out.job_count, 0); /* not idle for min_idle_s (120 s) yet */
	step(&c, T0 + 120 * S);
	/* 9 idle cars, 5 expected riders: 5 should stand in the demand zone; at most 4 move a round */
	assert_int_equal(c.out.job_count, 4);
	for (size_t i = 0; i < c.out.job_count; i++) {
		const struct fs_dispatch_job *j = &c.out.jobs[i];
		assert_int_equal(j->stops[0].kind, FS_DISPATCH_STOP_REPOSITION);
		assert_int_equal(fs_dispatch_zone_of(c.d, j->stops[0].point), demand_zone);
		assert_true(j->vehicle_id < 8); /* not the car idle for less than min_idle_s */
	}
	/* the cars go (confirmed by their state), the next round moves the fifth only */
	int64_t t = T0 + 121 * S;
	for (size_t i = 0; i < 4; i++) {
		uint32_t id = c.out.jobs[i].vehicle_id;
		vehicle_at(&c, id, node(id % 3, id / 3), t, 0.9, FS_VEHICLE_REPOSITIONING);
	}
	step(&c, T0 + 180 * S);
	assert_int_equal(c.out.job_count, 1);
	uint32_t fifth = c.out.jobs[0].vehicle_id;
	vehicle_at(&c, fifth, node(fifth % 3, fifth / 3), T0 + 181 * S, 0.9, FS_VEHICLE_REPOSITIONING);
	/* reposition claims do not block matching: a rider takes the nearest car, moving or not */
	step(&c, T0 + 240 * S);
	assert_int_equal(c.out.job_count, 0); /* balanced: nothing moves */
	assert_int_equal(fs_dispatch_get_counters(c.d)->repositions, 5);
	city_down(&c);
}

/* ---- determinism ------------------------------------------------------------------------------- */

/* Reports split over shards arrive in another order: same decisions, same hash. */
static void order_of_reports_does_not_matter(void **state)
{
	struct city a, b;
	city_up(&a);
	city_up(&b);
	city_create(&a);
	city_create(&b);
	uint32_t n = 12;
	for (uint32_t i = 0; i < n; i++) {
		vehicle_at(&a, i, (i * 7) % 100, T0, 0.9, FS_VEHICLE_AVAILABLE);
	}
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (k % 4) * 3 + k / 4; /* as four shards of ids i % 4, one after the other */
		i = n - 1 - i;
		vehicle_at(&b, i, (i * 7) % 100, T0, 0.9, FS_VEHICLE_AVAILABLE);
	}
	uint64_t ra[6], rb[6];
	for (int r = 0; r < 6; r++) {
		ra[r] = request_at(&a, T0, (uint32_t)(r * 13 + 5) % 100, (uint32_t)(r * 29 + 50) % 100);
		rb[r] = request_at(&b, T0, (uint32_t)(r * 13 + 5) % 100, (uint32_t)(r * 29 + 50) % 100);
	}
	step(&a, T0);
	step(&b, T0);
	assert_int_equal(a.out.job_count, b.out.job_count);
	assert_int_equal(fs_dispatch_hash(a.d), fs_dispatch_hash(b.d));
	/* the same events, in another order across vehicles */
	struct fs_vehicle_event ev[12];
	size_t ne = 0;
	for (size_t i = 0; i < a.out.job_count; i++) {
		ev[ne++] = (struct fs_vehicle_event){ .time_ms = T0 + S, .job_id = a.out.jobs[i].job_id,
						      .vehicle_id = a.out.jobs[i].vehicle_id, .kind = FS_VEV_JOB_ACCEPTED };
		ev[ne++] = (struct fs_vehicle_event){ .time_ms = T0 + S, .job_id = a.out.jobs[i].job_id,
						      .vehicle_id = a.out.jobs[i].vehicle_id,
						      .kind = FS_VEV_STATE_CHANGED, .to_state = FS_VEHICLE_TO_PICKUP };
	}
	assert_int_equal(fs_dispatch_add_events(a.d, ev, ne), 0);
	for (size_t i = ne; i > 0; i -= 2) { /* vehicles reversed, each vehicle's own order kept */
		assert_int_equal(fs_dispatch_add_events(b.d, &ev[i - 2], 2), 0);
	}
	step(&a, T0 + 2 * S);
	step(&b, T0 + 2 * S);
	assert_int_equal(fs_dispatch_hash(a.d), fs_dispatch_hash(b.d));
	for (int r = 0; r < 6; r++) {
		assert_int_equal(fs_dispatch_request(a.d, ra[r])->status, fs_dispatch_request(b.d, rb[r])->status);
		assert_int_equal(fs_dispatch_request(a.d, ra[r])->vehicle_id, fs_dispatch_request(b.d, rb[r])->vehicle_id);
	}
	/* and the hash sees a decision */
	uint64_t before = fs_dispatch_hash(a.d);
	event(&a, T0 + 3 * S, a.out.jobs[0].vehicle_id, 0, FS_VEV_CHARGE_REQUEST, FS_VEHICLE_TO_PICKUP);
	step(&a, T0 + 4 * S);
	assert_int_not_equal(fs_dispatch_hash(a.d), before);
	city_down(&a);
	city_down(&b);
}

/* ---- the closed loop with the real fleet model -------------------------------------------------- */

static void closed_loop_outcomes_add_up(void **state)
{
	for (int matcher = 0; matcher < 2; matcher++) {
		struct city c;
		city_up(&c);
		c.p.matcher = matcher;
		c.p.charging = true;
		c.p.rebalance_s = 120.0;
		fs_rider_params_defaults(&c.p.riders); /* riders as in a run, more of them no-shows */
		c.p.riders.no_show_share = 0.05;
		c.depots[0] = node(2, 2);
		c.depots[1] = node(7, 7);
		c.plugs[0] = c.plugs[1] = 2;
		c.w.depot_nodes = c.depots;
		c.w.depot_plugs = c.plugs;
		c.w.depot_count = 2;
		struct fs_error err = { "" };
		char profile[4096];
		const char *root = getenv("FS_SOURCE_ROOT");
		snprintf(profile, sizeof(profile), "%s/data/demand/nyc2019_profile.csv", root ? root : ".");
		assert_int_equal(fs_demand_profile_load(profile, &c.profile, &err), 0);
		assert_int_equal(fs_demand_places_from_network(c.roads.net, true, &c.places, &c.nplaces), 0);
		struct fs_demand_params dp;
		fs_demand_params_defaults(&dp);
		dp.seed = 5;
		dp.trips_per_day = 6000; /* too many for 12 cars at the morning peak: riders give up */
		dp.profile = &c.profile;
		struct fs_demand *dem = fs_demand_create(&dp, c.places, c.nplaces, &err);
		assert_non_null(dem);
		c.w.places = c.places;
		c.w.place_count = c.nplaces;
		c.w.profile = &c.profile;
		c.w.trips_per_day = dp.trips_per_day;
		struct fs_vehicle_params vp;
		fs_vehicle_params_defaults(&vp);
		vp.sw[0].odd_flags = 0;
		struct fs_dispatch_loop_config cfg = { .world = &c.w, .dispatch = &c.p, .vehicle = &vp, .seed = 3,
						       .vehicles = 12, .demand = dem, .start_ms = T0 - 4 * 3600 * S,
						       .tick_ms = S, .plug_kw = 150.0 };
		struct fs_dispatch_loop *l = fs_dispatch_loop_create(&cfg, &err);
		if (!l) {
			fail_msg("%s", err.message);
		}
		struct fs_dispatch *d = fs_dispatch_loop_dispatch(l);
		for (int t = 0; t < 3 * 3600; t++) {
			assert_int_equal(fs_dispatch_loop_tick(l, NULL), 0);
			if (t % 600 == 0) {
				assert_outcomes_add_up(d);
			}
		}
		assert_outcomes_add_up(d);
		struct fs_dispatch_kpi k;
		assert_int_equal(fs_dispatch_kpi(d, &k, NULL, NULL), 0);
		if (getenv("FS_TEST_VERBOSE")) {
			print_message("matcher %d: requests %lu served %lu cancelled %lu rejected %lu open %lu wait p50 %.0f p95 %.0f\n",
				      matcher, (unsigned long)k.requests, (unsigned long)k.served, (unsigned long)k.cancelled,
				      (unsigned long)k.rejected, (unsigned long)k.open, k.wait_p50_s, k.wait_p95_s);
		}
		assert_true(k.requests > 300);
		assert_true(k.served > 250);
		assert_true(k.cancelled_before_assignment > 0);     /* 12 cars cannot keep up */
		assert_true(k.cancelled_no_show > 0);
		assert_true(k.open < 100);                          /* only the last ~10 min are in progress */
		assert_true(k.wait_p50_s > 0 && k.wait_p95_s >= k.wait_p50_s && k.wait_p95_s <= 700.0);
		assert_true(k.empty_km_share > 0.05 && k.empty_km_share < 0.8);
		/* the platform's odometer (from 1 Hz states) agrees with the fleet's own */
		double fleet_km = fs_fleet_stats(fs_dispatch_loop_fleet(l))->km_driven;
		assert_true(fabs(k.km_total - fleet_km) < 0.02 * fleet_km);
		/* every served trip went through the whole timeline in order */
		for (uint64_t id = 1; id <= k.requests; id++) {
			const struct fs_dispatch_request *r = fs_dispatch_request(d, id);
			if (r->status == FS_DISPATCH_DROPPED_OFF) {
				assert_true(r->t_request_ms <= r->t_offer_ms && r->t_offer_ms <= r->t_assign_ms &&
					    r->t_assign_ms <= r->t_arrive_ms && r->t_arrive_ms <= r->t_pickup_ms &&
					    r->t_pickup_ms < r->t_dropoff_ms);
			}
		}
		const struct fs_dispatch_counters *cn = fs_dispatch_get_counters(d);
		assert_true(cn->peak_plugs_in_use[0] <= 2 && cn->peak_plugs_in_use[1] <= 2);
		assert_int_equal(cn->unknown_events, 0);
		fs_dispatch_loop_destroy(l);
		fs_demand_destroy(dem);
		city_down(&c);
	}
}

/* ---- the fixed fleet ------------------------------------------------------------------------------ */

static const char *write_tmp(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "/tmp/fs-test-dispatch-%d-%s", (int)getpid(), name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void fleet_placement_csv(void **state)
{
	struct fs_network *net = fs_network_grid(3, 3, 100.0, 10.0, NULL);
	struct fs_fleet_placement *fleet = NULL;
	size_t n = 0;
	struct fs_error err = { "" };
	/* a grid has no node ids: node = index; columns in any order, soc optional */
	const char *ok = write_tmp("ok.csv", "# fleet\nnode,vehicle_id,soc\n4,1,0.5\n8,0,\n");
	assert_int_equal(fs_fleet_placement_load_csv(ok, net, NULL, &fleet, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(fleet[0].vehicle_id, 0);
	assert_int_equal(fleet[0].node, 8);
	assert_true(isnan(fleet[0].soc));
	assert_int_equal(fleet[1].node, 4);
	assert_true(fabs(fleet[1].soc - 0.5) < 1e-12);
	assert_int_equal(net->edges[fleet[1].pos.edge].to, 4);
	assert_true(fabs(fleet[1].pos.offset_m - net->edges[fleet[1].pos.edge].length_m) < 1e-9);
	free(fleet);
	unlink(ok);
	static const struct {
		const char *text, *message;
	} bad[] = {
		{ "vehicle,node\n0,1\n", ":1:1: the header needs columns vehicle_id and node" },
		{ "vehicle_id,node\n0,1\n1,99\n", ":3:3: node 99 is not in the network" },
		{ "vehicle_id,node\n0,1\n0,2\n", ":3: vehicle_id 0 appears again (first on line 2)" },
		{ "vehicle_id,node\n0,1\n2,2\n", ":3: vehicle_id 2: ids must be 0..1" },
		{ "vehicle_id,node,soc\n0,1,1.5\n", ":2:5: soc '1.5' is not a number in 0..1" },
		{ "vehicle_id,node\nx,1\n", ":2:1: vehicle_id 'x' is not an id" },
		{ "vehicle_id,node\n0\n", ":2:" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *path = write_tmp("bad.csv", bad[i].text);
		assert_int_equal(fs_fleet_placement_load_csv(path, net, NULL, &fleet, &n, &err), -EINVAL);
		if (!strstr(err.message, bad[i].message) || strncmp(err.message, path, strlen(path))) {
			fail_msg("case %zu: '%s' lacks '%s'", i, err.message, bad[i].message);
		}
		unlink(path);
	}
	/* outside the served component */
	uint8_t scc[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 0 };
	const char *path = write_tmp("scc.csv", "vehicle_id,node\n0,8\n");
	assert_int_equal(fs_fleet_placement_load_csv(path, net, scc, &fleet, &n, &err), -EINVAL);
	assert_non_null(strstr(err.message, "outside the largest strongly connected component"));
	unlink(path);
	assert_int_equal(fs_fleet_placement_load_csv("/nonexistent/fleet.csv", net, NULL, &fleet, &n, &err), -ENOENT);
	fs_network_destroy(net);
}

/* Comparison mode in one process: network, fleet and demand all from CSV files; every
 * vehicle starts exactly at its node and every rider gets an outcome. */
static void comparison_mode_from_csv_files(void **state)
{
	char nodes[4096] = "id,x,y\n", edges[8192] = "from,to,length_m,speed_mps\n", line[128];
	for (int r = 0; r < 5; r++) {
		for (int c = 0; c < 5; c++) {
			snprintf(line, sizeof(line), "%d,%d,%d\n", 500 + r * 5 + c, c * 200, r * 200);
			strcat(nodes, line);
			int a = 500 + r * 5 + c;
			if (c < 4) {
				snprintf(line, sizeof(line), "%d,%d,200,10\n%d,%d,200,10\n", a, a + 1, a + 1, a);
				strcat(edges, line);
			}
			if (r < 4) {
				snprintf(line, sizeof(line), "%d,%d,200,10\n%d,%d,200,10\n", a, a + 5, a + 5, a);
				strcat(edges, line);
			}
		}
	}
	char npath[300], epath[300], spec[700];
	snprintf(npath, sizeof(npath), "%s", write_tmp("nodes.csv", nodes));
	snprintf(epath, sizeof(epath), "%s", write_tmp("edges.csv", edges));
	snprintf(spec, sizeof(spec), "csv:%s,%s", npath, epath);
	const char *fleet_path = write_tmp("fleet.csv", "vehicle_id,node,soc\n0,524,0.9\n1,500,0.8\n2,512,0.7\n");
	char fpath[300];
	snprintf(fpath, sizeof(fpath), "%s", fleet_path);
	const char *demand_path = write_tmp("demand.csv", "t_request_s,origin_x,origin_y,dest_x,dest_y\n"
							  "10,0,0,800,800\n40,400,400,0,800\n41,800,0,0,0\n"
							  "100,200,600,600,200\n300,800,800,0,0\n");
	char dpath[300];
	snprintf(dpath, sizeof(dpath), "%s", demand_path);

	struct fs_error err = { "" };
	struct city c;
	memset(&c, 0, sizeof(c));
	c.roads.net = fs_network_load(spec, &err);
	if (!c.roads.net) {
		fail_msg("%s", err.message);
	}
	c.roads.router = fs_router_create(c.roads.net, NULL, NULL);
	c.roads.q = fs_route_query_create(c.roads.router);
	c.roads.idx = fs_network_index_create(c.roads.net, true);
	c.roads.scc = calloc(c.roads.net->node_count, 1);
	assert_int_equal(fs_network_largest_scc(c.roads.net, c.roads.scc), 25);
	c.depots[0] = 12; /* the middle node */
	c.plugs[0] = 2;
	c.w = (struct fs_dispatch_world){ .net = c.roads.net, .query = c.roads.q, .index = c.roads.idx, .in_scc = c.roads.scc,
					  .depot_nodes = c.depots, .depot_plugs = c.plugs, .depot_count = 1 };
	fs_dispatch_params_defaults(&c.p);
	c.p.charging = false;
	c.p.rebalance_s = 0; /* a comparison with a simulator that does not rebalance */
	struct fs_fleet_placement *fleet = NULL;
	size_t nfleet = 0;
	assert_int_equal(fs_fleet_placement_load_csv(fpath, c.roads.net, c.roads.scc, &fleet, &nfleet, &err), 0);
	assert_int_equal(nfleet, 3);
	struct fs_demand_batch replay = { 0 };
	struct fs_demand_replay_params rp = { .t_offset_ms = T0 };
	assert_int_equal(fs_demand_replay_csv(dpath, &rp, &replay, &err), 5);
	struct fs_dispatch_loop_config cfg = { .world = &c.w, .dispatch = &c.p, .seed = 1, .vehicles = 3,
					       .placement = fleet, .replay = &replay, .start_ms = T0, .tick_ms = S,
					       .plug_kw = 150.0 };
	struct fs_dispatch_loop *l = fs_dispatch_loop_create(&cfg, &err);
	if (!l) {
		fail_msg("%s", err.message);
	}
	for (uint32_t i = 0; i < 3; i++) {
		const struct fs_vehicle *v = fs_fleet_vehicle(fs_dispatch_loop_fleet(l), i);
		assert_int_equal(v->edge, fleet[i].pos.edge);
		assert_int_equal(c.roads.net->edges[v->edge].to, fleet[i].node);
		assert_true(fabs(v->seg_to_m - c.roads.net->edges[v->edge].length_m) < 1e-3);
		assert_true(fabs(fs_vehicle_soc(v, T0) - fleet[i].soc) < 1e-9);
	}
	assert_int_equal(c.roads.net->nodes[fleet[0].node].osm_id, 524);
	for (int t = 0; t < 1200; t++) {
		assert_int_equal(fs_dispatch_loop_tick(l, NULL), 0);
	}
	struct fs_dispatch *d = fs_dispatch_loop_dispatch(l);
	assert_int_equal(fs_dispatch_request_count(d), 5);
	assert_outcomes_add_up(d);
	for (uint64_t id = 1; id <= 5; id++) {
		const struct fs_dispatch_request *r = fs_dispatch_request(d, id);
		assert_int_equal(r->status, FS_DISPATCH_DROPPED_OFF);
		assert_int_equal(r->t_request_ms, replay.items[id - 1].t_ms);
	}
	/* the first rider, at (0, 0): vehicle 1 stands there */
	assert_int_equal(fs_dispatch_request(d, 1)->vehicle_id, 1);
	fs_dispatch_loop_destroy(l);
	fs_demand_batch_finish(&replay);
	free(fleet);
	unlink(npath);
	unlink(epath);
	unlink(fpath);
	unlink(dpath);
	city_down(&c);
}

/* ---- places along the edges ------------------------------------------------------------------ */

/* Distance from (@x, @y) to the nearest junction of @net. */
static double to_junction(const struct fs_network *net, double x, double y)
{
	double best = INFINITY;
	for (uint32_t v = 0; v < net->node_count; v++) {
		best = fmin(best, hypot(net->nodes[v].x - x, net->nodes[v].y - y));
	}
	return best;
}

/*
 * A rider mid-block is picked up where they stand and set down where they go, not at the
 * nearer junction: the real fleet, driven by the platform's jobs, waits at the rider's point
 * and parks at the destination's; the trip is planned and driven between those points.
 */
static void pickups_and_dropoffs_where_the_rider_is(void **state)
{
	struct city c;
	city_up(&c);
	c.depots[0] = node(0, 0);
	c.plugs[0] = 2;
	c.w.depot_nodes = c.depots;
	c.w.depot_plugs = c.plugs;
	c.w.depot_count = 1;
	/* 50 m from both junctions of its block on Street 5; the destination 20 m past (7, 1) on Street 1 */
	struct fs_demand_batch replay = { 0 };
	struct fs_demand_request q = { .id = 0, .t_ms = T0 + 5 * S, .origin = { 350.0, 500.0 }, .dest = { 720.0, 100.0 },
				       .origin_zone = FS_DEMAND_NO_ZONE, .dest_zone = FS_DEMAND_NO_ZONE };
	replay.items = &q;
	replay.count = replay.capacity = 1;
	struct fs_vehicle_params vp;
	fs_vehicle_params_defaults(&vp);
	vp.sw[0].odd_flags = 0;
	struct fs_dispatch_loop_config cfg = { .world = &c.w, .dispatch = &c.p, .vehicle = &vp, .seed = 4, .vehicles = 1,
					       .replay = &replay, .start_ms = T0, .tick_ms = S, .plug_kw = 150.0 };
	struct fs_error err = { "" };
	struct fs_dispatch_loop *l = fs_dispatch_loop_create(&cfg, &err);
	if (!l) {
		fail_msg("%s", err.message);
	}
	struct fs_dispatch *d = fs_dispatch_loop_dispatch(l);
	const struct fs_fleet *fleet = fs_dispatch_loop_fleet(l);
	bool waited = false;
	double x, y;
	for (int t = 0; t < 1200; t++) {
		assert_int_equal(fs_dispatch_loop_tick(l, NULL), 0);
		const struct fs_vehicle *v = fs_fleet_vehicle(fleet, 0);
		if (v->state == FS_VEHICLE_WAITING_FOR_RIDER) {
			assert_int_equal(fs_vehicle_position(v, c.roads.net, fs_dispatch_loop_now(l), &x, &y, NULL, NULL), 0);
			assert_true(hypot(x - 350.0, y - 500.0) < 0.5); /* where the rider stands ... */
			assert_true(to_junction(c.roads.net, x, y) > 49.0);  /* ... not at a junction */
			waited = true;
		}
	}
	assert_true(waited);
	const struct fs_dispatch_request *r = fs_dispatch_request(d, 1);
	assert_int_equal(r->status, FS_DISPATCH_DROPPED_OFF);
	/* picked up on the side the trip leaves by (east), set down on the side it arrives by */
	assert_int_equal(r->pickup_edge, edge_ab(&c, node(3, 5), node(4, 5)));
	assert_true(fabs(r->pickup_offset_m - 50.0) < 1e-3);
	assert_int_equal(r->dropoff_edge, edge_ab(&c, node(7, 1), node(8, 1)));
	assert_true(fabs(r->dropoff_offset_m - 20.0) < 1e-3);
	assert_true(fabs(r->route_m - 770.0) < 0.01); /* 50 m + 3 blocks east + 4 south + 20 m */
	assert_true(fabs(r->route_s - 77.0) < 0.01);
	assert_true(fabs(r->trip_m - 770.0) < 15.0); /* driven, from the 1 Hz states */
	const struct fs_vehicle *v = fs_fleet_vehicle(fleet, 0);
	assert_int_equal(fs_vehicle_position(v, c.roads.net, fs_dispatch_loop_now(l), &x, &y, NULL, NULL), 0);
	assert_true(hypot(x - 720.0, y - 100.0) < 0.5);
	fs_dispatch_loop_destroy(l);
	city_down(&c);
}

/* ---- storms, closures, the service area ---------------------------------------------------- */

static void storm_cells_and_the_service_area_decide_what_is_offered(void **state)
{
	struct city c;
	city_up(&c);
	city_create(&c);
	/* a scenario with one zone over the middle of the grid: x and y 250..650 m */
	struct fs_scenario sc = { 0 };
	struct fs_scenario_zone zone = { .name = "middle", .count = 4 };
	double latlon[8];
	const double box[4][2] = { { 250, 250 }, { 650, 250 }, { 650, 650 }, { 250, 650 } };
	for (int i = 0; i < 4; i++) {
		fs_projection_to_latlon(&c.roads.net->proj, (struct fs_point){ box[i][0], box[i][1] }, &latlon[2 * i],
					&latlon[2 * i + 1]);
	}
	zone.latlon = latlon;
	sc.zones = &zone;
	sc.zone_count = 1;
	struct fs_error err = { "" };
	struct fs_weather *w = fs_weather_create(c.roads.net, &sc, &err);
	assert_non_null(w);
	struct fs_scenario_event storm = { .type = FS_SCN_EVENT_WEATHER, .zone = "middle", .severity = FS_RAIN_STORM,
					   .speed_factor = 0.6 };
	assert_int_equal(fs_weather_update(w, &storm, 1, 0), 1);
	uint8_t *impassable = calloc(c.roads.net->edge_count, 1);
	uint32_t storm_edges = 0; /* as fs_world_update_roads() marks them */
	for (uint32_t e = 0; e < c.roads.net->edge_count; e++) {
		impassable[e] = fs_weather_zone_rain(w, e) > c.p.max_rain;
		storm_edges += impassable[e];
	}
	assert_true(storm_edges > 0);
	fs_route_query_avoid(c.roads.q, impassable);
	fs_dispatch_set_weather(c.d, w);

	vehicle_at(&c, 1, node(0, 0), T0, 0.9, FS_VEHICLE_AVAILABLE);
	vehicle_at(&c, 2, node(9, 9), T0, 0.9, FS_VEHICLE_AVAILABLE);
	uint64_t inside = request_at(&c, T0, node(4, 4), node(9, 0));  /* starts in the storm */
	uint64_t across = request_at(&c, T0, node(0, 4), node(9, 4));  /* its fastest route crosses it */
	step(&c, T0 + S);
	assert_null(job_for(&c, inside));
	assert_non_null(job_for(&c, across)); /* planned around the cell */
	const struct fs_dispatch_request *r = fs_dispatch_request(c.d, across);
	assert_false(r->trip_blocked);
	assert_true(r->route_s > 90.0 + 1.0); /* longer than the straight 9 blocks */
	assert_int_equal(fs_dispatch_request(c.d, inside)->status, FS_DISPATCH_REQUESTED); /* waits */

	/* the storm passes: the rider inside is offered the free car */
	assert_int_equal(fs_weather_update(w, &storm, 0, 10), 1);
	fs_route_query_avoid(c.roads.q, NULL);
	fs_dispatch_set_weather(c.d, w);
	step(&c, T0 + 60 * S); /* the next matching round */
	assert_non_null(job_for(&c, inside));

	/* the service area loses column 0: a new rider there is refused as outside it */
	uint8_t *area = malloc(c.roads.net->node_count);
	for (uint32_t n = 0; n < c.roads.net->node_count; n++) {
		area[n] = n % COLS != 0;
	}
	fs_dispatch_set_service_area(c.d, area);
	uint64_t outside = request_at(&c, T0 + 61 * S, node(0, 7), node(5, 7));
	uint64_t ok = request_at(&c, T0 + 61 * S, node(1, 7), node(5, 7));
	step(&c, T0 + 62 * S);
	r = fs_dispatch_request(c.d, outside);
	assert_int_equal(r->status, FS_DISPATCH_REJECTED);
	assert_int_equal(r->reason, FS_DISPATCH_REASON_OUTSIDE_AREA);
	assert_int_not_equal(fs_dispatch_request(c.d, ok)->status, FS_DISPATCH_REJECTED);
	assert_outcomes_add_up(c.d);
	fs_dispatch_set_service_area(c.d, NULL);
	fs_dispatch_set_weather(c.d, NULL);
	free(area);
	free(impassable);
	fs_weather_destroy(w);
	city_down(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(assign_matches_brute_force),
		cmocka_unit_test(assign_edge_cases),
		cmocka_unit_test(batch_is_optimal_against_brute_force),
		cmocka_unit_test(greedy_and_batch_on_a_street),
		cmocka_unit_test(batch_serves_crowds_like_greedy),
		cmocka_unit_test(an_overloaded_round_searches_from_the_cars),
		cmocka_unit_test(matching_on_workers_matches_as_on_one),
		cmocka_unit_test(a_ticks_requests_together_are_planned_alike),
		cmocka_unit_test(greedy_uses_eta_and_batch_period),
		cmocka_unit_test(silent_vehicles_stay_where_they_stood),
		cmocka_unit_test(riders_cancel_at_patience),
		cmocka_unit_test(riders_give_up_at_their_own_patience),
		cmocka_unit_test(a_long_quote_makes_the_rider_cancel_once_assigned),
		cmocka_unit_test(a_no_show_frees_the_car_and_counts),
		cmocka_unit_test(riders_give_up_on_a_late_car),
		cmocka_unit_test(offers_quote_the_detour_around_a_closure),
		cmocka_unit_test(matchers_rank_by_the_drive_around_a_closure),
		cmocka_unit_test(lifecycle_and_outcomes),
		cmocka_unit_test(rejections),
		cmocka_unit_test(night_by_the_city_clock),
		cmocka_unit_test(charging_respects_plugs),
		cmocka_unit_test(rebalancing_moves_idle_cars_to_demand),
		cmocka_unit_test(order_of_reports_does_not_matter),
		cmocka_unit_test(closed_loop_outcomes_add_up),
		cmocka_unit_test(pickups_and_dropoffs_where_the_rider_is),
		cmocka_unit_test(fleet_placement_csv),
		cmocka_unit_test(comparison_mode_from_csv_files),
		cmocka_unit_test(storm_cells_and_the_service_area_decide_what_is_offered),
		cmocka_unit_test(step_looks_at_the_cars_concerned_not_the_fleet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
