/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Out of memory, one allocation at a time (fs/alloc.h). Each test walks
 * n = 0, 1, 2, ...: the first n allocations of an operation succeed and the
 * next fails, until the operation no longer reaches a failing allocation.
 * Every failed attempt must say so (-ENOMEM, or NULL with "out of memory")
 * and give back all it took: the ASan build's leak checker runs these, and a
 * crash or a double free on any unwinding path stops the walk.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs/alloc.h"
#include "fs/demand.h"
#include "fs/demand_load.h"
#include "fs/dispatch.h"
#include "fs/geofence.h"
#include "fs/geofence_load.h"
#include "fs/network.h"
#include "fs/network_load.h"
#include "fs/production.h"
#include "fs/route.h"
#include "fs/scenario_load.h"
#include "fs/vehicle.h"
#include "routing_city.h"
#include "vehicle_test_util.h"

#define T0 1843560000000LL /* 2028-06-01T12:00:00Z */

/* ---- the walk ------------------------------------------------------------------ */

/* One attempt at an operation: 0 when it succeeded (and undid itself), else its error. */
typedef int (*attempt_fn)(void *arg);

/* Attempt @fn with the n-th allocation failing for n = 0, 1, ...; returns how many failed. */
static long walk(attempt_fn fn, void *arg)
{
	for (long n = 0;; n++) {
		fs_alloc_fail_after(n);
		int rc = fn(arg);
		bool failed = !fs_alloc_fail_pending();
		fs_alloc_fail_after(-1);
		if (!failed) {
			assert_int_equal(rc, 0);
			return n;
		}
		if (rc != -ENOMEM) {
			fail_msg("allocation %ld failed: the operation returned %d, not -ENOMEM", n, rc);
		}
	}
}

/* A constructor's answer: NULL must come with "out of memory" in @err. */
static int created(void *p, const struct fs_error *err)
{
	if (p) {
		return 0;
	}
	if (!strstr(err->message, "out of memory") && !strstr(err->message, "no memory")) {
		fail_msg("NULL without saying out of memory: \"%s\"", err->message);
	}
	return -ENOMEM;
}

static void the_hook_fails_one_allocation_then_none(void **state)
{
	(void)state;
	fs_alloc_fail_after(2);
	assert_true(fs_alloc_fail_pending());
	void *a = fs_malloc(8), *b = fs_calloc(1, 8);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(fs_realloc(a, 16)); /* the third: @a is left as it was */
	assert_false(fs_alloc_fail_pending());
	char *s = fs_strdup("after");
	assert_string_equal(s, "after");
	fs_free(s);
	fs_free(a);
	fs_free(b);
	fs_alloc_fail_after(0);
	assert_null(fs_strndup("first", 3));
	s = fs_strndup("first", 3);
	assert_string_equal(s, "fir");
	fs_free(s);
	fs_alloc_fail_after(-1);
	assert_false(fs_alloc_fail_pending());
}

/* ---- world --------------------------------------------------------------------- */

static int grid_attempt(void *arg)
{
	(void)arg;
	struct fs_error err = { "" };
	struct fs_network *net = fs_network_grid(4, 5, 100.0, 10.0, &err);
	int rc = created(net, &err);
	fs_network_destroy(net);
	return rc;
}

static void grid_network(void **state)
{
	(void)state;
	assert_true(walk(grid_attempt, NULL) > 10);
}

static char tmp_dir[] = "/tmp/fs_test_alloc_XXXXXX";

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

struct csv_files {
	char nodes[300], edges[300];
};

static int csv_attempt(void *arg)
{
	struct csv_files *files = arg;
	struct fs_error err = { "" };
	struct fs_network *net = fs_network_load_csv(files->nodes, files->edges, &err);
	int rc = created(net, &err);
	fs_network_destroy(net);
	return rc;
}

static void csv_network(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(tmp_dir));
	struct csv_files files;
	snprintf(files.nodes, sizeof(files.nodes), "%s/nodes.csv", tmp_dir);
	snprintf(files.edges, sizeof(files.edges), "%s/edges.csv", tmp_dir);
	write_text(files.nodes, "id,x,y\n10,0,0\n20,100,0\n30,100,100\n40,200,100\n");
	write_text(files.edges, "from,to,length_m,speed_mps,lanes,name\n10,20,100,10,2,First\n"
				"20,30,100.5,5,,\n30,10,150,10,1,\"Long, Road\"\n30,40,100,10,1,Dead End\n"
				"40,30,100,10,1,Dead End\n");
	assert_true(walk(csv_attempt, &files) > 10);
	unlink(files.nodes);
	unlink(files.edges);
	rmdir(tmp_dir);
}

/* walk() over the file @rel of the source tree (its path is @fn's argument). */
static long walk_file(attempt_fn fn, const char *rel)
{
	char path[1024];
	const char *root = getenv("FS_SOURCE_ROOT");
	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", rel);
	return walk(fn, path);
}

/* walk() on a 5 x 5 grid city (the network is @fn's argument). */
static long walk_grid(attempt_fn fn)
{
	struct fs_network *net = fs_network_grid(5, 5, 100.0, 10.0, NULL);
	assert_non_null(net);
	long n = walk(fn, net);
	fs_network_destroy(net);
	return n;
}

/* An OSM file with turn restrictions, all of it (not only the largest component). */
static int osm_attempt(void *arg)
{
	struct fs_osm_params params;
	fs_osm_params_defaults(&params);
	params.largest_scc_only = false;
	struct fs_error err = { "" };
	struct fs_network *net = fs_network_load_osm_with(arg, &params, &err);
	int rc = created(net, &err);
	fs_network_destroy(net);
	return rc;
}

static void osm_network(void **state)
{
	(void)state;
	assert_true(walk_file(osm_attempt, "tests/data/turn_restrictions.osm") > 10);
}

/* The snapping index of a grid and the service-area geofence of Atlanta. */
static int index_attempt(void *arg)
{
	const struct fs_network *net = arg;
	struct fs_network_index *idx = fs_network_index_create(net, true);
	fs_network_index_destroy(idx);
	return idx ? 0 : -ENOMEM;
}

static void network_index(void **state)
{
	(void)state;
	assert_true(walk_grid(index_attempt) > 2);
}

static int geofence_attempt(void *arg)
{
	struct fs_geofence *g = fs_geofence_create(NULL);
	if (!g) {
		return -ENOMEM;
	}
	struct fs_error err = { "" };
	int rc = fs_geofence_load_geojson(g, arg, &err); /* the zones it added */
	fs_geofence_destroy(g);
	return rc < 0 ? rc : 0;
}

static void geofence_load(void **state)
{
	(void)state;
	assert_true(walk_file(geofence_attempt, "data/geofence/atlanta.geojson") > 5);
}

/* Build the hierarchy of a grid and route across it with a fresh workspace. */
static int route_attempt(void *arg)
{
	const struct fs_network *net = arg;
	struct fs_error err = { "" };
	struct fs_router *router = fs_router_create(net, NULL, &err);
	int rc = created(router, &err);
	if (rc < 0) {
		return rc;
	}
	struct fs_route_query *q = fs_route_query_create(router);
	struct fs_path path = { 0 };
	double t = 0.0;
	rc = q ? fs_route_nodes(q, 8, 0, net->node_count - 1, &t, &path) : -ENOMEM;
	fs_path_finish(&path);
	fs_route_query_destroy(q);
	fs_router_destroy(router);
	return rc;
}

static void router_and_route(void **state)
{
	(void)state;
	assert_true(walk_grid(route_attempt) > 10);
}

/* ---- scenario ------------------------------------------------------------------ */

static int scenario_attempt(void *arg)
{
	const char *path = arg;
	struct fs_scenario sc;
	struct fs_error err = { "" };
	int rc = fs_scenario_load(path, &sc, &err);
	if (rc == 0) {
		fs_scenario_finish(&sc);
	}
	return rc;
}

static void scenario_load(void **state)
{
	(void)state;
	assert_true(walk_file(scenario_attempt, "examples/default.yaml") > 10);
	assert_true(walk_file(scenario_attempt, "examples/storm-downtown.yaml") > 10);
}

/* ---- demand -------------------------------------------------------------------- */

/* The NYC profile read from its CSV, a generator over a grid's junctions, an hour of riders. */
static int demand_attempt(void *arg)
{
	const struct fs_network *net = arg;
	struct fs_demand_place *places = NULL;
	size_t n = 0;
	int rc = fs_demand_places_from_network(net, true, &places, &n);
	if (rc < 0) {
		return rc;
	}
	char path[1024];
	const char *root = getenv("FS_SOURCE_ROOT");
	snprintf(path, sizeof(path), "%s/data/demand/nyc2019_profile.csv", root ? root : ".");
	struct fs_demand_params params;
	fs_demand_params_defaults(&params);
	params.profile_path = path;
	params.trips_per_day = 20000;
	struct fs_error err = { "" };
	struct fs_demand *d = fs_demand_create(&params, places, n, &err);
	rc = created(d, &err);
	if (rc == 0) {
		struct fs_demand_batch batch = { 0 };
		int64_t got = fs_demand_generate(d, T0, T0 + 3600000, &batch);
		if (got == 0) {
			fail_msg("an hour of 20,000 trips a day brought no rider");
		}
		rc = got < 0 ? (int)got : 0;
		fs_demand_batch_finish(&batch);
	}
	fs_demand_destroy(d);
	fs_free(places);
	return rc;
}

static void demand_generate(void **state)
{
	(void)state;
	assert_true(walk_grid(demand_attempt) > 5);
}

/* ---- production ---------------------------------------------------------------- */

/* The default programmes over their first two years, every delivery logged. */
static int production_attempt(void *arg)
{
	(void)arg;
	struct fs_production_params p;
	fs_production_params_defaults(&p);
	struct fs_error err = { "" };
	struct fs_production *prod = fs_production_create(&p, 3, &err);
	int rc = created(prod, &err);
	if (rc < 0) {
		return rc;
	}
	struct fs_prod_log log = { .city_filter = FS_PROD_NO_CITY };
	int64_t days = fs_production_advance(prod, p.start_day + 730, &log);
	if (days >= 0 && log.delivery_count == 0) {
		fail_msg("two years of production delivered nothing");
	}
	fs_prod_log_finish(&log);
	fs_production_destroy(prod);
	return days < 0 ? (int)days : 0;
}

static void production_run(void **state)
{
	(void)state;
	assert_true(walk(production_attempt, NULL) > 5);
}

/* ---- fleet and dispatch -------------------------------------------------------- */

static int fleet_attempt(void *arg)
{
	const struct fs_network *net = arg;
	struct fs_vehicle_params p;
	fs_vehicle_params_defaults(&p);
	struct fs_fleet *fleet = fs_fleet_create(net, &p, 7);
	if (!fleet) {
		return -ENOMEM;
	}
	int rc = fs_fleet_add_depot(fleet, 0, 2, 150.0);
	for (uint32_t id = 1; rc >= 0 && id <= 20; id++) {
		struct fs_vehicle_init init = { .id = id, .state = FS_VEHICLE_AVAILABLE, .phase = FS_CITY_DRIVERLESS,
						.home_depot = 0, .at_depot = true, .soc = 0.8, .edge = FS_NO_EDGE };
		rc = fs_fleet_add(fleet, &init, T0);
	}
	/* one drives four blocks: its route goes into the fleet's arena, its events into @ev */
	struct fs_vehicle_events ev = { 0 };
	uint32_t route[8];
	uint32_t len = vt_route(net, 5, 0, 4, route);
	if (rc >= 0) {
		rc = fs_fleet_reposition(fleet, 1, route, len, T0 + 1000, &ev);
	}
	if (rc >= 0) {
		int64_t visits = fs_fleet_advance(fleet, T0 + 120000, &ev);
		rc = visits < 0 ? (int)visits : 0;
	}
	if (rc >= 0 && ev.dropped) {
		rc = -ENOMEM; /* an event list that cannot grow counts the dropped event, as documented */
	}
	fs_vehicle_events_finish(&ev);
	fs_fleet_destroy(fleet);
	return rc < 0 ? rc : 0;
}

static void fleet_create(void **state)
{
	(void)state;
	assert_true(walk_grid(fleet_attempt) > 5);
}

/* Create a dispatcher, tell it of two vehicles and a rider, and match them. */
static int dispatch_attempt(void *arg)
{
	const struct routing_city *c = arg;
	struct fs_dispatch_world w = { .net = c->net, .query = c->q, .index = c->idx, .in_scc = c->scc };
	struct fs_dispatch_params p;
	fs_dispatch_params_defaults(&p);
	struct fs_error err = { "" };
	struct fs_dispatch *d = fs_dispatch_create(&w, &p, &err);
	int rc = created(d, &err);
	if (rc < 0) {
		return rc;
	}
	struct fs_dispatch_output out = { 0 };
	for (uint32_t id = 1; rc >= 0 && id <= 2; id++) {
		uint32_t e = c->net->in_edges[c->net->in_first[id * 6]];
		const struct fs_node *n = &c->net->nodes[id * 6];
		struct fs_vehicle_record s = fs_vehicle_record_standing(id, FS_VEHICLE_AVAILABLE, e,
									 c->net->edges[e].length_m, n->x, n->y, 0.9, T0);
		rc = fs_dispatch_update_vehicle(d, &s);
	}
	if (rc >= 0) {
		struct fs_dispatch_request_in in = { .demand_id = 1, .t_ms = T0, .origin = { 0.0, 0.0 },
						     .dest = { 400.0, 400.0 } };
		int64_t id = fs_dispatch_add_request(d, &in);
		rc = id < 0 ? (int)id : 0;
	}
	for (int64_t t = T0; rc >= 0 && t <= T0 + 30000; t += 1000) {
		fs_dispatch_output_clear(&out);
		rc = fs_dispatch_step(d, t, &out, NULL);
	}
	if (rc >= 0 && fs_dispatch_request(d, 1)->status != FS_DISPATCH_OFFERED) {
		fail_msg("steps that did not fail did not offer the rider a vehicle");
	}
	fs_dispatch_output_finish(&out);
	fs_dispatch_destroy(d);
	return rc < 0 ? rc : 0;
}

static void dispatch_create_and_match(void **state)
{
	(void)state;
	struct routing_city c;
	assert_true(routing_city_up(&c, fs_network_grid(5, 5, 100.0, 10.0, NULL), NULL) == 25);
	assert_true(walk(dispatch_attempt, &c) > 10);
	routing_city_down(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_hook_fails_one_allocation_then_none),
		cmocka_unit_test(grid_network),
		cmocka_unit_test(csv_network),
		cmocka_unit_test(osm_network),
		cmocka_unit_test(network_index),
		cmocka_unit_test(geofence_load),
		cmocka_unit_test(router_and_route),
		cmocka_unit_test(scenario_load),
		cmocka_unit_test(demand_generate),
		cmocka_unit_test(production_run),
		cmocka_unit_test(fleet_create),
		cmocka_unit_test(dispatch_create_and_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
