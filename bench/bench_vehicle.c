/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_vehicle - vehicle core figures: wall time per simulated hour for
 * 10,000 and 100,000 vehicles driving routed jobs, on a synthetic grid and
 * on the Atlanta network, and bytes per vehicle.
 *
 * Usage: bench_vehicle [SOURCE_ROOT] [N ...]   (default $FS_SOURCE_ROOT or ".";
 * N defaults to 10000 100000)
 *
 * The bench plays the dispatcher: every vehicle that becomes available gets
 * a job to a random pickup and drop-off (routed with fs_route, the rider
 * boards 20-60 s after arrival); a vehicle asking to charge is routed to the
 * nearest of 16 depots (plugs for 1 vehicle in 8, 150 kW); one needing repair
 * to its home depot. Vehicles start on random edges with SoC 12-95 %. One simulated
 * hour in 1-s ticks, default vehicle parameters (fault process, remote
 * assistance, disengagements on). Reported separately: time inside
 * fs_fleet_advance() (the vehicle core), time in the dispatcher (routing and
 * fs_fleet_assign), and one full position sweep (fs_vehicle_snapshot for
 * every vehicle, what a state batch needs), measured once a simulated minute.
 * Single thread; CLOCK_MONOTONIC wall time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"
#include "fs/network.h"
#include "fs/network_load.h"
#include "fs/rng.h"
#include "fs/route.h"
#include "fs/vehicle.h"

#define DEPOTS 16
#define HOUR 8

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_vehicle: %s: %s\n", what, why);
	exit(EXIT_FAILURE);
}

struct bench {
	const struct fs_network *net;
	struct fs_route_query *q;
	struct fs_path a, b;
	uint32_t *nodes; /* largest strongly connected component */
	uint32_t node_count;
	uint32_t depot_node[DEPOTS];
	struct fs_fleet *fleet;
	struct fs_rng rng;
	uint32_t *todo, todo_count;
	uint32_t *later, later_count; /* retried next minute */
	uint64_t next_job;
	uint64_t declined, routed;
};

static uint32_t random_node(struct bench *b)
{
	return b->nodes[fs_rng_below(&b->rng, b->node_count)];
}

static uint16_t nearest_depot(const struct bench *b, uint32_t node)
{
	const struct fs_node *n = &b->net->nodes[node];
	uint16_t best = 0;
	double best_d = INFINITY;
	for (uint16_t d = 0; d < DEPOTS; d++) {
		const struct fs_node *m = &b->net->nodes[b->depot_node[d]];
		double dd = hypot(n->x - m->x, n->y - m->y);
		if (dd < best_d) {
			best_d = dd;
			best = d;
		}
	}
	return best;
}

static int route(struct bench *b, uint32_t from, uint32_t to, struct fs_path *p)
{
	double s;
	b->routed++;
	return fs_route_nodes(b->q, HOUR, from, to, &s, p);
}

/* Give vehicle @id something to do at @t; false to retry later. */
static bool dispatch(struct bench *b, uint32_t id, int64_t t)
{
	int idx = fs_fleet_find(b->fleet, id);
	const struct fs_vehicle *v = fs_fleet_vehicle(b->fleet, (uint32_t)idx);
	if (v->state != FS_VEHICLE_AVAILABLE) {
		return true; /* busy: its next state change brings it back */
	}
	if (v->seg_end_ms != FS_NEVER_MS) {
		return false; /* still rolling to the end of its edge */
	}
	uint32_t here = b->net->edges[v->edge].to;
	if (v->flags & (FS_VF_CHARGE_REQUESTED | FS_VF_MAINT_REQUESTED)) {
		bool repair = v->flags & FS_VF_MAINT_REQUESTED;
		uint16_t d = repair ? v->home_depot : nearest_depot(b, here);
		if ((v->flags & FS_VF_AT_DEPOT) && v->depot == d) {
			b->a.count = 0;
		} else if (route(b, here, b->depot_node[d], &b->a) < 0 || b->a.count == 0) {
			return false;
		}
		return fs_fleet_send_to_depot(b->fleet, id, d, repair ? FS_DEPOT_MAINTENANCE : FS_DEPOT_CHARGE,
					      b->a.edges, b->a.count, t, NULL) == 0;
	}
	uint32_t pick = random_node(b), drop = random_node(b);
	if (pick == drop || route(b, here, pick, &b->a) < 0 || route(b, pick, drop, &b->b) < 0) {
		return false;
	}
	struct fs_job job = {
		.id = ++b->next_job,
		.to_pickup = b->a.edges,
		.to_pickup_len = b->a.count,
		.trip = b->b.edges,
		.trip_len = b->b.count,
		.board_dwell_s = 20 + (int32_t)fs_rng_below(&b->rng, 41),
	};
	if (fs_fleet_assign(b->fleet, id, &job, t, NULL) < 0) {
		b->declined++;
		return false;
	}
	return true;
}

static void run(const char *city, const struct fs_network *net, const struct fs_router *router,
		uint32_t n)
{
	struct bench b = { .net = net };
	b.q = fs_route_query_create(router);
	uint8_t *scc = malloc(net->node_count);
	if (!b.q || !scc || fs_network_largest_scc(net, scc) <= 0) {
		die(city, "no memory or empty network");
	}
	b.nodes = malloc(net->node_count * sizeof(uint32_t));
	uint32_t *edges = malloc(net->edge_count * sizeof(uint32_t)), edge_count = 0;
	for (uint32_t i = 0; i < net->node_count; i++) {
		if (scc[i]) {
			b.nodes[b.node_count++] = i;
		}
	}
	for (uint32_t e = 0; e < net->edge_count; e++) {
		if (scc[net->edges[e].from] && scc[net->edges[e].to]) {
			edges[edge_count++] = e;
		}
	}
	fs_rng_init(&b.rng, 1, FS_RNG_STREAM_SCENARIO, n);
	struct fs_vehicle_params params;
	fs_vehicle_params_defaults(&params);
	b.fleet = fs_fleet_create(net, &params, 1);
	if (!b.fleet || fs_fleet_reserve(b.fleet, n) < 0) {
		die(city, "no memory for the fleet");
	}
	for (int d = 0; d < DEPOTS; d++) {
		b.depot_node[d] = random_node(&b);
		if (fs_fleet_add_depot(b.fleet, b.depot_node[d], (uint16_t)(n / DEPOTS / 8 + 1), 150.0) != d) {
			die(city, "depot");
		}
	}
	struct fs_rng place;
	fs_rng_init(&place, 1, FS_RNG_STREAM_VEHICLE_PLACEMENT, 0);
	b.todo = malloc(n * sizeof(uint32_t));
	b.later = malloc(n * sizeof(uint32_t));
	for (uint32_t id = 0; id < n; id++) {
		uint32_t e = edges[fs_rng_below(&place, edge_count)];
		struct fs_vehicle_init init = {
			.id = id, .state = FS_VEHICLE_AVAILABLE, .phase = FS_CITY_DRIVERLESS, .sw = 2,
			.home_depot = (uint16_t)(id % DEPOTS), .soc = 0.12 + 0.83 * fs_rng_uniform(&place),
			.edge = e, .offset_m = net->edges[e].length_m,
		};
		if (fs_fleet_add(b.fleet, &init, 0) < 0) {
			die(city, "add vehicle");
		}
	}
	struct fs_vehicle_events ev = { 0 };
	struct fs_conditions cond = { .travel_time_factor = 1.0 };
	fs_fleet_set_conditions(b.fleet, &cond, 0, &ev);

	double t_core = 0, t_disp = 0, t_snap = 0, t_snap_max = 0;
	uint64_t events = 0, sweeps = 0;
	double t_start = bench_now_s();
	for (int64_t s = 0; s <= 3600; s++) {
		int64_t t = s * 1000;
		fs_vehicle_events_clear(&ev);
		double t0 = bench_now_s();
		fs_fleet_advance(b.fleet, t, &ev);
		double t1 = bench_now_s();
		t_core += t1 - t0;
		events += ev.count;
		/* first jobs staggered over five minutes, then event-driven */
		if (s < 300) {
			for (uint32_t id = (uint32_t)s; id < n; id += 300) {
				b.todo[b.todo_count++] = id;
			}
		}
		for (size_t i = 0; i < ev.count; i++) {
			const struct fs_vehicle_event *e = &ev.items[i];
			if (e->kind == FS_VEV_STATE_CHANGED && e->to_state == FS_VEHICLE_AVAILABLE &&
			    b.todo_count < n) {
				b.todo[b.todo_count++] = e->vehicle_id;
			}
		}
		uint32_t keep = 0;
		for (uint32_t i = 0; i < b.todo_count; i++) {
			if (!dispatch(&b, b.todo[i], t) && b.later_count < n) {
				b.later[b.later_count++] = b.todo[i];
			}
		}
		b.todo_count = keep;
		if (s % 60 == 59) { /* retries once a minute */
			memcpy(b.todo, b.later, b.later_count * sizeof(uint32_t));
			b.todo_count = b.later_count;
			b.later_count = 0;
		}
		double t2 = bench_now_s();
		t_disp += t2 - t1;
		if (s % 60 == 30) {
			double x = 0;
			for (uint32_t i = 0; i < n; i++) {
				struct fs_vehicle_snapshot snap;
				if (fs_vehicle_snapshot(fs_fleet_vehicle(b.fleet, i), net, t, &snap) == 0) {
					x += snap.x;
				}
			}
			double dt = bench_now_s() - t2;
			t_snap += dt;
			t_snap_max = fmax(t_snap_max, dt);
			sweeps++;
			if (x == 1e300) {
				puts(""); /* keep the sweep from being optimised away */
			}
		}
	}
	double wall = bench_now_s() - t_start;
	const struct fs_fleet_stats *st = fs_fleet_stats(b.fleet);
	size_t mem = fs_fleet_memory_bytes(b.fleet);
	printf("%s, %u vehicles, 1 simulated hour in 1-s ticks:\n", city, n);
	printf("  wall total              %8.2f s  (%.0fx real time)\n", wall, 3600.0 / wall);
	printf("  vehicle core (advance)  %8.2f s  %6.0f ns per vehicle visit, %.2f us per vehicle-hour\n",
	       t_core, t_core / (double)st->visits * 1e9, t_core / n * 1e6);
	printf("  dispatcher (bench)      %8.2f s  %llu routes, %llu jobs declined\n", t_disp,
	       (unsigned long long)b.routed, (unsigned long long)b.declined);
	printf("  position sweep          %8.2f ms per sweep of all vehicles (max %.2f ms, %llu sweeps)\n",
	       t_snap / (double)sweeps * 1e3, t_snap_max * 1e3, (unsigned long long)sweeps);
	printf("  visits %llu, events %llu, edges %llu, jobs done %llu, km %.0f, charges %llu,\n"
	       "  charge requests %llu, faults %llu, RA requests %llu, disengagements %llu, MRC %llu, tows %llu\n",
	       (unsigned long long)st->visits, (unsigned long long)events,
	       (unsigned long long)st->edges_driven, (unsigned long long)st->jobs_completed, st->km_driven,
	       (unsigned long long)st->charges, (unsigned long long)st->charge_requests,
	       (unsigned long long)st->faults, (unsigned long long)st->ra_requests,
	       (unsigned long long)st->disengagements, (unsigned long long)st->minimal_risk,
	       (unsigned long long)st->tows);
	printf("  memory %.1f MB = %zu bytes per vehicle (struct fs_vehicle %zu B), logged %.0f GB\n",
	       mem / 1e6, mem / n, sizeof(struct fs_vehicle), st->logged_gb);
	fflush(stdout);
	fs_vehicle_events_finish(&ev);
	fs_fleet_destroy(b.fleet);
	fs_path_finish(&b.a);
	fs_path_finish(&b.b);
	fs_route_query_destroy(b.q);
	free(b.todo);
	free(b.later);
	free(b.nodes);
	free(edges);
	free(scc);
}

static void city(const char *name, struct fs_network *net, const uint32_t *sizes, int count)
{
	struct fs_error err = { 0 };
	struct fs_router *router = fs_router_create(net, NULL, &err);
	if (!router) {
		die(name, err.message);
	}
	printf("== %s: %u nodes, %u edges\n", name, net->node_count, net->edge_count);
	for (int i = 0; i < count; i++) {
		run(name, net, router, sizes[i]);
	}
	fs_router_destroy(router);
	fs_network_destroy(net);
}

int main(int argc, char **argv)
{
	const char *root = getenv("FS_SOURCE_ROOT");
	uint32_t sizes[8] = { 10000, 100000 };
	int count = 2;
	int first = 1;
	if (argc > 1 && !(argv[1][0] >= '0' && argv[1][0] <= '9')) {
		root = argv[1];
		first = 2;
	}
	if (argc > first) {
		count = 0;
		for (int i = first; i < argc && count < 8; i++) {
			sizes[count++] = (uint32_t)strtoul(argv[i], NULL, 10);
		}
	}
	if (!root) {
		root = ".";
	}
	struct fs_error err = { 0 };
	/* 50 x 50 intersections 160 m apart (7.8 km square), 40 km/h streets */
	struct fs_network *grid = fs_network_grid(50, 50, 160.0, 11.1, &err);
	if (!grid) {
		die("grid", err.message);
	}
	city("grid 50x50", grid, sizes, count);
	char path[1024];
	snprintf(path, sizeof(path), "%s/data/osm/atlanta.osm.pbf", root);
	struct fs_network *atl = fs_network_load_osm(path, &err);
	if (!atl) {
		die(path, err.message);
	}
	city("Atlanta", atl, sizes, count);
	return EXIT_SUCCESS;
}
