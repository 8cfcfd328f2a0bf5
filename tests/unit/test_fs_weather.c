/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Weather over a zone: which edges it covers, how overlapping events
 * combine, when the picture changes, and what the fleet does under it
 * (refuses routes into it, hands back rides that would cross it, pulls over
 * with a rider when caught in it, drives slower there, resumes after).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/network.h"
#include "fs/scenario.h"
#include "fs/scenario_load.h"
#include "fs/vehicle.h"
#include "fs/weather.h"
#include "vehicle_test_util.h"

#define COLS 10

struct world {
	struct fs_network *net;
	struct fs_scenario sc;
	struct fs_weather *w;
};

/* A 10 x 10 grid of 100 m blocks; zone "cell" is the box x 250..650, y -50..150 (metres). */
static void world_up(struct world *t)
{
	t->net = fs_network_grid(COLS, COLS, 100.0, 10.0, NULL);
	assert_non_null(t->net);
	assert_int_equal(fs_scenario_defaults(&t->sc), 0);
	for (size_t i = 0; i < t->sc.zone_count; i++) { /* the defaults' Atlanta zones: not on this grid */
		free(t->sc.zones[i].latlon);
	}
	free(t->sc.zones);
	t->sc.zones = calloc(1, sizeof(*t->sc.zones));
	t->sc.zone_count = 1;
	struct fs_scenario_zone *z = &t->sc.zones[0];
	snprintf(z->name, sizeof(z->name), "cell");
	const double box[4][2] = { { 250, -50 }, { 650, -50 }, { 650, 150 }, { 250, 150 } };
	z->latlon = calloc(8, sizeof(double));
	z->count = 4;
	for (int i = 0; i < 4; i++) {
		fs_projection_to_latlon(&t->net->proj, (struct fs_point){ box[i][0], box[i][1] }, &z->latlon[2 * i],
					&z->latlon[2 * i + 1]);
	}
	struct fs_error err = { "" };
	t->w = fs_weather_create(t->net, &t->sc, &err);
	assert_non_null(t->w);
}

static void world_down(struct world *t)
{
	fs_weather_destroy(t->w);
	fs_scenario_finish(&t->sc);
	fs_network_destroy(t->net);
}

/* Defaults without random faults or software events, so timings are exact. */
static struct fs_vehicle_params quiet(void)
{
	return vt_quiet_params();
}

static struct fs_scenario_event weather(const char *zone, uint8_t severity, double speed, uint64_t at,
					uint64_t ticks)
{
	struct fs_scenario_event e = { .type = FS_SCN_EVENT_WEATHER, .apply_tick = at, .duration_ticks = ticks,
				       .severity = severity, .speed_factor = speed };
	snprintf(e.zone, sizeof(e.zone), "%s", zone);
	return e;
}

static bool midpoint_in_cell(const struct fs_network *net, uint32_t e)
{
	const struct fs_node *a = &net->nodes[net->edges[e].from], *b = &net->nodes[net->edges[e].to];
	double x = 0.5 * (a->x + b->x), y = 0.5 * (a->y + b->y);
	return x > 250 && x < 650 && y > -50 && y < 150;
}

static void a_zone_covers_the_edges_whose_midpoint_is_inside(void **state)
{
	(void)state;
	struct world t;
	world_up(&t);
	assert_int_equal(fs_weather_version(t.w), 0);
	assert_false(fs_weather_has_zones(t.w));
	struct fs_scenario_event ev = weather("cell", FS_RAIN_STORM, 0.6, 10, 5);
	assert_int_equal(fs_weather_update(t.w, &ev, 1, 9), 0); /* not yet */
	assert_int_equal(fs_weather_update(t.w, &ev, 1, 10), 1);
	assert_int_equal(fs_weather_version(t.w), 1);
	uint32_t inside = 0;
	for (uint32_t e = 0; e < t.net->edge_count; e++) {
		bool in = midpoint_in_cell(t.net, e);
		inside += in;
		assert_int_equal(fs_weather_zone_rain(t.w, e), in ? FS_RAIN_STORM : FS_RAIN_NONE);
		assert_float_equal(fs_weather_zone_time_factor(t.w, e), in ? 1.0 / 0.6 : 1.0, 1e-6);
	}
	/* rows 0 and 1: 3-4, 4-5, 5-6 both ways; the 4 verticals x 300..600 between them, both ways */
	assert_int_equal(inside, 12 + 8);
	assert_int_equal(fs_weather_edges_affected(t.w), inside);
	assert_int_equal(fs_weather_city_rain(t.w), FS_RAIN_NONE);
	/* in force through tick 14: no change, no new version; clear from tick 15 */
	assert_int_equal(fs_weather_update(t.w, &ev, 1, 14), 0);
	assert_int_equal(fs_weather_update(t.w, &ev, 1, 15), 1);
	assert_false(fs_weather_has_zones(t.w));
	for (uint32_t e = 0; e < t.net->edge_count; e++) {
		assert_int_equal(fs_weather_zone_rain(t.w, e), FS_RAIN_NONE);
	}
	assert_int_equal(fs_weather_version(t.w), 2);
	world_down(&t);
}

static void overlapping_weather_takes_the_worst(void **state)
{
	(void)state;
	struct world t;
	world_up(&t);
	struct fs_scenario_event ev[4] = {
		weather("all", FS_RAIN_LIGHT, 0.95, 0, 0),
		weather("cell", FS_RAIN_HEAVY, 0.7, 0, 0),
		weather("cell", FS_RAIN_STORM, 0.8, 0, 10),
		weather("nowhere", FS_RAIN_STORM, 0.1, 0, 0), /* unknown zone: counted, ignored */
	};
	assert_int_equal(fs_weather_update(t.w, ev, 4, 0), 1);
	assert_int_equal(fs_weather_unknown_zones(t.w), 1);
	assert_int_equal(fs_weather_city_rain(t.w), FS_RAIN_LIGHT);
	assert_float_equal(fs_weather_city_speed_factor(t.w), 0.95, 1e-12);
	uint32_t e = vt_edge(t.net, 4, 5);
	assert_int_equal(fs_weather_zone_rain(t.w, e), FS_RAIN_STORM);
	assert_float_equal(fs_weather_zone_time_factor(t.w, e), 1.0 / 0.7, 1e-6);
	assert_int_equal(fs_weather_edges_affected(t.w), 20); /* one zone named twice counts once */
	/* conditions combine the city's and the zone's: the worse of each */
	struct fs_conditions cond = { .travel_time_factor = 1.0 / 0.95, .rain = FS_RAIN_LIGHT, .weather = t.w };
	assert_int_equal(fs_conditions_rain(&cond, e), FS_RAIN_STORM);
	assert_int_equal(fs_conditions_rain(&cond, vt_edge(t.net, 0, 1)), FS_RAIN_LIGHT);
	assert_float_equal(fs_conditions_time_factor(&cond, e), 1.0 / 0.7, 1e-6);
	assert_float_equal(fs_conditions_time_factor(&cond, vt_edge(t.net, 0, 1)), 1.0 / 0.95, 1e-9);
	/* the storm ends at tick 10; heavy rain stays in the cell */
	assert_int_equal(fs_weather_update(t.w, ev, 4, 10), 1);
	assert_int_equal(fs_weather_zone_rain(t.w, e), FS_RAIN_HEAVY);
	world_down(&t);
}

static void the_fleet_keeps_out_of_a_storm_cell(void **state)
{
	(void)state;
	struct world t;
	world_up(&t);
	struct fs_vehicle_params p = quiet();
	struct fs_fleet *fleet = fs_fleet_create(t.net, &p, 1);
	assert_non_null(fleet);
	assert_int_equal(fs_fleet_add_depot(fleet, 0, 4, 150.0), 0);
	struct fs_vehicle_events ev = { 0 };
	for (uint32_t id = 1; id <= 3; id++) {
		struct fs_vehicle_init init = { .id = id, .state = FS_VEHICLE_AVAILABLE, .phase = FS_CITY_DRIVERLESS,
						.sw = 2, .home_depot = 0, .at_depot = true, .soc = 0.9,
						.edge = FS_NO_EDGE };
		assert_true(fs_fleet_add(fleet, &init, 0) >= 0);
	}
	uint32_t a[32], b[32];
	/* vehicle 2: pickup at node 4 (40 s), then east along row 0: inside the cell at 45 s */
	uint32_t na = vt_route(t.net, COLS, 0, 4, a), nb = vt_route(t.net, COLS, 4, 9, b);
	struct fs_job job = { .id = 20, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb };
	assert_int_equal(fs_fleet_assign(fleet, 2, &job, 0, &ev), 0);
	/* vehicle 1: pickup at node 1 at 40 s, trip through the cell: at 45 s still west of it */
	fs_fleet_advance(fleet, 30000, &ev);
	na = vt_route(t.net, COLS, 0, 1, a);
	nb = vt_route(t.net, COLS, 1, 9, b);
	job = (struct fs_job){ .id = 10, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb };
	assert_int_equal(fs_fleet_assign(fleet, 1, &job, 30000, &ev), 0);
	fs_fleet_advance(fleet, 45000, &ev);
	assert_int_equal(fs_fleet_vehicle(fleet, (uint32_t)fs_fleet_find(fleet, 1))->state, FS_VEHICLE_IN_TRIP);
	assert_int_equal(fs_fleet_vehicle(fleet, (uint32_t)fs_fleet_find(fleet, 2))->state, FS_VEHICLE_IN_TRIP);

	struct fs_scenario_event storm = weather("cell", FS_RAIN_STORM, 0.6, 45, 0);
	assert_int_equal(fs_weather_update(t.w, &storm, 1, 45), 1);
	struct fs_conditions cond = { .travel_time_factor = 1.0, .weather = t.w };
	assert_int_equal(fs_fleet_set_conditions(fleet, &cond, 45000, &ev), 0);
	/* caught inside with a rider: pulls over */
	const struct fs_vehicle *v2 = fs_fleet_vehicle(fleet, (uint32_t)fs_fleet_find(fleet, 2));
	assert_int_equal(v2->state, FS_VEHICLE_MINIMAL_RISK);
	assert_int_equal(v2->mrc_cause, FS_MRC_ODD);
	assert_string_equal(vt_last(&ev, FS_VEV_JOB_HANDED_BACK, 2)->reason, "weather outside every ODD");
	/* outside, but the rest of the trip crosses it: the ride is handed back */
	const struct fs_vehicle_event *hb = vt_last(&ev, FS_VEV_JOB_HANDED_BACK, 1);
	assert_non_null(hb);
	assert_int_equal(hb->job_id, 10);
	assert_string_equal(hb->reason, "route enters weather outside every ODD");
	assert_int_equal(fs_fleet_vehicle(fleet, (uint32_t)fs_fleet_find(fleet, 1))->state, FS_VEHICLE_AVAILABLE);
	/* a new ride through the cell is declined; one that stays clear of it is taken */
	na = vt_route(t.net, COLS, 0, 9, a);
	job = (struct fs_job){ .id = 30, .to_pickup = a, .to_pickup_len = 0, .trip = a, .trip_len = na };
	assert_int_equal(fs_fleet_assign(fleet, 3, &job, 45000, &ev), -EPERM);
	assert_string_equal(vt_last(&ev, FS_VEV_JOB_DECLINED, 3)->reason, "route enters weather outside every ODD");
	na = vt_route(t.net, COLS, 0, 90, a);
	job = (struct fs_job){ .id = 31, .to_pickup = a, .to_pickup_len = 0, .trip = a, .trip_len = na };
	assert_int_equal(fs_fleet_assign(fleet, 3, &job, 45000, &ev), 0);
	/* the storm clears: remote assistance lets vehicle 2 go on */
	assert_int_equal(fs_weather_update(t.w, NULL, 0, 100), 1);
	assert_int_equal(fs_fleet_set_conditions(fleet, &cond, 100000, &ev), 0);
	fs_fleet_advance(fleet, 100000 + (int64_t)((p.ra_response_s + p.ra_retry_s) * 1000), &ev);
	assert_int_equal(v2->state, FS_VEHICLE_AVAILABLE);
	fs_vehicle_events_finish(&ev);
	fs_fleet_destroy(fleet);
	world_down(&t);
}

static void heavy_rain_in_a_zone_slows_its_edges(void **state)
{
	(void)state;
	struct world t;
	world_up(&t);
	struct fs_vehicle_params p = quiet();
	struct fs_fleet *fleet = fs_fleet_create(t.net, &p, 1);
	assert_int_equal(fs_fleet_add_depot(fleet, 0, 4, 150.0), 0);
	struct fs_vehicle_events ev = { 0 };
	struct fs_vehicle_init init = { .id = 1, .state = FS_VEHICLE_AVAILABLE, .phase = FS_CITY_DRIVERLESS, .sw = 2,
					.home_depot = 0, .at_depot = true, .soc = 0.9, .edge = FS_NO_EDGE };
	assert_true(fs_fleet_add(fleet, &init, 0) >= 0);
	struct fs_scenario_event rain = weather("cell", FS_RAIN_HEAVY, 0.5, 0, 0);
	assert_int_equal(fs_weather_update(t.w, &rain, 1, 0), 1);
	struct fs_conditions cond = { .travel_time_factor = 1.0, .weather = t.w };
	assert_int_equal(fs_fleet_set_conditions(fleet, &cond, 0, &ev), 0);
	uint32_t a[32], b[32];
	uint32_t na = vt_route(t.net, COLS, 0, 9, a), nb = vt_route(t.net, COLS, 9, 19, b);
	struct fs_job job = { .id = 1, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb };
	assert_int_equal(fs_fleet_assign(fleet, 1, &job, 0, &ev), 0);
	/* 9 edges of 10 s, three of them (3-4, 4-5, 5-6) in the cell at half speed: 120 s */
	fs_fleet_advance(fleet, 119000, &ev);
	assert_int_equal(vt_count(&ev, FS_VEV_ARRIVED, 1), 0);
	fs_fleet_advance(fleet, 121000, &ev);
	assert_int_equal(vt_count(&ev, FS_VEV_ARRIVED, 1), 1);
	fs_vehicle_events_finish(&ev);
	fs_fleet_destroy(fleet);
	world_down(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_zone_covers_the_edges_whose_midpoint_is_inside),
		cmocka_unit_test(overlapping_weather_takes_the_worst),
		cmocka_unit_test(the_fleet_keeps_out_of_a_storm_cell),
		cmocka_unit_test(heavy_rain_in_a_zone_slows_its_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
