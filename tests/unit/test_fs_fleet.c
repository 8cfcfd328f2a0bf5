/* SPDX-License-Identifier: Apache-2.0 */
/* The fleet container: driving along routes, energy and charging, jobs, ODD
 * hand-backs, data upload, shard-split hashes, event-driven cost, memory. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/network.h"
#include "fs/rng.h"
#include "fs/vehicle.h"
#include "vehicle_test_util.h"

#define COLS 10
#define H_MS 3600000LL

static struct fs_vehicle_params defaults;

static int setup(void **state)
{
	fs_vehicle_params_defaults(&defaults);
	return 0;
}

struct world {
	struct fs_network *net;
	struct fs_fleet *fleet;
	struct fs_vehicle_events ev;
	struct fs_vehicle_params p;
};

/* A 10 x 10 grid, 100 m blocks at 10 m/s (10 s an edge), depot 0 at node 0. */
static void world_up(struct world *w, const struct fs_vehicle_params *p, uint64_t seed)
{
	w->net = fs_network_grid(COLS, COLS, 100.0, 10.0, NULL);
	assert_non_null(w->net);
	w->p = *p;
	w->fleet = fs_fleet_create(w->net, &w->p, seed);
	assert_non_null(w->fleet);
	assert_int_equal(fs_fleet_add_depot(w->fleet, 0, 4, 150.0), 0);
	w->ev = (struct fs_vehicle_events){ 0 };
}

static void world_down(struct world *w)
{
	fs_fleet_destroy(w->fleet);
	fs_network_destroy(w->net);
	fs_vehicle_events_finish(&w->ev);
}

static int add_at(struct world *w, uint32_t id, double soc, int phase, uint8_t sw, uint16_t depot,
		  int64_t t)
{
	struct fs_vehicle_init init = {
		.id = id, .state = FS_VEHICLE_AVAILABLE, .phase = (uint8_t)phase, .sw = sw,
		.home_depot = depot, .at_depot = true, .soc = soc, .edge = FS_NO_EDGE,
	};
	return fs_fleet_add(w->fleet, &init, t);
}

static int add(struct world *w, uint32_t id, double soc)
{
	return add_at(w, id, soc, FS_CITY_DRIVERLESS, 2, 0, 0);
}

static const struct fs_vehicle *veh(struct world *w, uint32_t id)
{
	int i = fs_fleet_find(w->fleet, id);
	assert_true(i >= 0);
	return fs_fleet_vehicle(w->fleet, (uint32_t)i);
}

/* Defaults without random faults or software events, so timings are exact. */
static struct fs_vehicle_params quiet(void)
{
	return vt_quiet_params();
}

/* ---- driving ---------------------------------------------------------------------- */

static void drives_a_route_at_link_times_with_positions(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	assert_int_equal(add(&w, 1, 0.9), 0);
	uint32_t r[16];
	uint32_t n = vt_route(w.net, COLS, 0, 4, r);
	assert_int_equal(n, 4);
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, r, n, 1000, &w.ev), 0);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_REPOSITIONING);

	fs_fleet_advance(w.fleet, 26000, &w.ev);
	const struct fs_vehicle *v = veh(&w, 1);
	double x, y, off;
	uint32_t edge;
	assert_int_equal(fs_vehicle_position(v, w.net, 26000, &x, &y, &edge, &off), 0);
	assert_float_equal(x, 250.0, 1e-6);
	assert_float_equal(y, 0.0, 1e-6);
	assert_int_equal(edge, vt_edge(w.net, 2, 3));
	assert_float_equal(off, 50.0, 1e-6);
	struct fs_vehicle_snapshot s;
	assert_int_equal(fs_vehicle_snapshot(v, w.net, 26000, &s), 0);
	assert_float_equal(s.speed_mps, 10.0, 1e-6);
	assert_float_equal(s.heading_rad, 0.0, 1e-9); /* east */
	assert_int_equal(s.health_flags, 0);

	fs_fleet_advance(w.fleet, 40999, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_REPOSITIONING);
	fs_fleet_advance(w.fleet, 41000, &w.ev);
	v = veh(&w, 1);
	assert_int_equal(v->state, FS_VEHICLE_AVAILABLE);
	const struct fs_vehicle_event *arr = vt_last(&w.ev, FS_VEV_ARRIVED, 1);
	assert_non_null(arr);
	assert_int_equal(arr->time_ms, 41000);
	/* energy: 0.4 km of traction plus the stack for 41 s since it was added */
	assert_float_equal(fs_vehicle_battery_kwh(v, 41000),
			   90.0 - 0.4 * p.kwh_per_km - p.av_stack_kw * 41000 / 3.6e6, 1e-9);
	assert_float_equal(v->odometer_m, 400.0, 1e-6);
	assert_int_equal(v->drive_ms, 40000);
	fs_vehicle_position(v, w.net, 50000, &x, &y, NULL, NULL);
	assert_float_equal(x, 400.0, 1e-6);

	/* rush hour: the same road back takes 1.5 x as long */
	struct fs_conditions rush = { .travel_time_factor = 1.5 };
	assert_int_equal(fs_fleet_set_conditions(w.fleet, &rush, 50000, &w.ev), 0);
	n = vt_route(w.net, COLS, 4, 0, r);
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, r, n, 50000, &w.ev), 0);
	fs_fleet_advance(w.fleet, 200000, &w.ev);
	assert_int_equal(vt_last(&w.ev, FS_VEV_ARRIVED, 1)->time_ms, 50000 + 60000);
	/* routes that do not join the vehicle's position are refused */
	n = vt_route(w.net, COLS, 5, 7, r);
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, r, n, 200000, &w.ev), -EINVAL);
	uint32_t broken[2] = { vt_edge(w.net, 0, 1), vt_edge(w.net, 5, 6) };
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, broken, 2, 200000, &w.ev), -EINVAL);
	assert_int_equal(fs_fleet_reposition(w.fleet, 77, r, n, 200000, &w.ev), -ENOENT);
	assert_int_equal(fs_fleet_advance(w.fleet, 100, &w.ev), -EINVAL); /* no time travel */
	world_down(&w);
}

/* A hand-built bent edge: the position follows its shape points. */
static void position_follows_the_edge_shape(void **state)
{
	struct fs_node nodes[2] = { { .x = 0, .y = 0 }, { .x = 100, .y = 100 } };
	struct fs_point shape[6] = { { 0, 0 }, { 100, 0 }, { 100, 100 },
				     { 100, 100 }, { 100, 0 }, { 0, 0 } };
	struct fs_edge edges[2] = {
		{ .from = 0, .to = 1, .length_m = 200, .speed_mps = 10, .travel_time_s = 20,
		  .road_class = FS_ROAD_RESIDENTIAL, .shape_first = 0, .shape_count = 3 },
		{ .from = 1, .to = 0, .length_m = 200, .speed_mps = 10, .travel_time_s = 20,
		  .road_class = FS_ROAD_RESIDENTIAL, .shape_first = 3, .shape_count = 3 },
	};
	uint32_t out_first[3] = { 0, 1, 2 }, in_edges[2] = { 1, 0 }, in_first[3] = { 0, 1, 2 };
	struct fs_network net = {
		.node_count = 2, .edge_count = 2, .nodes = nodes, .edges = edges,
		.out_first = out_first, .in_edges = in_edges, .in_first = in_first,
		.shape = shape, .shape_count = 6,
	};
	struct fs_vehicle_params p = quiet();
	struct fs_fleet *fleet = fs_fleet_create(&net, &p, 1);
	assert_non_null(fleet);
	assert_int_equal(fs_fleet_add_depot(fleet, 0, 1, 50.0), 0);
	struct fs_vehicle_init init = { .id = 9, .state = FS_VEHICLE_AVAILABLE, .phase = FS_CITY_DRIVERLESS,
					.sw = 2, .home_depot = 0, .soc = 0.5, .edge = 1, .offset_m = 200 };
	assert_int_equal(fs_fleet_add(fleet, &init, 0), 0);
	uint32_t route[1] = { 0 };
	assert_int_equal(fs_fleet_reposition(fleet, 9, route, 1, 0, NULL), 0);
	struct fs_vehicle_snapshot s;
	assert_int_equal(fs_vehicle_snapshot(fs_fleet_vehicle(fleet, 0), &net, 15000, &s), 0);
	assert_float_equal(s.x, 100.0, 1e-9); /* 150 m along: 50 m up the second leg */
	assert_float_equal(s.y, 50.0, 1e-9);
	assert_float_equal(s.heading_rad, M_PI / 2, 1e-9); /* north */
	assert_int_equal(fs_vehicle_snapshot(fs_fleet_vehicle(fleet, 0), &net, 5000, &s), 0);
	assert_float_equal(s.x, 50.0, 1e-9);
	assert_float_equal(s.y, 0.0, 1e-9);
	/* off the network: no position */
	struct fs_vehicle bare;
	struct fs_vehicle_init none = { .id = 1, .soc = 0.5, .edge = FS_NO_EDGE, .home_depot = FS_NO_DEPOT };
	assert_int_equal(fs_vehicle_init(&bare, &p, 1, &none, 0), 0);
	double x = -1;
	assert_int_equal(fs_vehicle_position(&bare, &net, 0, &x, NULL, NULL, NULL), -ENOENT);
	assert_float_equal(x, -1, 0);
	fs_fleet_destroy(fleet);
}

/* ---- energy and charging ------------------------------------------------------------ */

static void charges_20_to_80_in_the_expected_minutes(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, 0.20);
	double expect_s = fs_vehicle_charge_seconds(&p, 150.0, 0.20, 0.80);
	/* 60 kWh at 150 kW x 0.92 efficiency less the 0.45 kW stack */
	assert_float_equal(expect_s, 60.0 / (150.0 * 0.92 - 0.45) * 3600.0, 1e-6);
	assert_true(expect_s > 20 * 60 && expect_s < 30 * 60); /* DOMAIN: 20 -> 80 % in 20-30 min */
	assert_int_equal(fs_fleet_send_to_depot(w.fleet, 1, 0, FS_DEPOT_CHARGE, NULL, 0, 0, &w.ev), 0);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_CHARGING);
	uint32_t busy, queued;
	fs_fleet_depot_usage(w.fleet, 0, &busy, &queued);
	assert_int_equal(busy, 1);
	int64_t end = (int64_t)ceil(expect_s * 1000);
	fs_fleet_advance(w.fleet, end - 1, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_CHARGING);
	assert_float_equal(fs_vehicle_soc(veh(&w, 1), end - 1), 0.8, 1e-4);
	fs_fleet_advance(w.fleet, end, &w.ev);
	const struct fs_vehicle *v = veh(&w, 1);
	assert_int_equal(v->state, FS_VEHICLE_AVAILABLE);
	assert_float_equal(v->battery_kwh, 80.0, 1e-6);
	assert_float_equal(fs_fleet_stats(w.fleet)->charged_kwh, 60.0, 1e-6);
	assert_int_equal(fs_fleet_stats(w.fleet)->charges, 1);
	fs_fleet_depot_usage(w.fleet, 0, &busy, &queued);
	assert_int_equal(busy, 0);
	/* the taper: 10 % above 80 % takes longer than 10 % below it */
	assert_true(fs_vehicle_charge_seconds(&p, 150, 0.8, 0.9) > fs_vehicle_charge_seconds(&p, 150, 0.7, 0.8));
	assert_float_equal(fs_vehicle_soc_after_charging(&p, 150, 0.2, expect_s), 0.8, 1e-9);
	double up = fs_vehicle_charge_seconds(&p, 150, 0.5, 0.95);
	assert_float_equal(fs_vehicle_soc_after_charging(&p, 150, 0.5, up), 0.95, 1e-9);
	/* a plug weaker than the stack never gets there */
	assert_true(isinf(fs_vehicle_charge_seconds(&p, 0.3, 0.5, 0.6)));
	world_down(&w);
}

/* A vehicle of another model (an OEM programme's) drives and charges with its own pack, consumption and limit. */
static void a_variant_drives_and_charges_with_its_own_vehicle(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet(), small = p;
	world_up(&w, &p, 1);
	small.battery_kwh = 30.0;
	small.kwh_per_km = 0.30;
	small.max_charge_kw = 50.0;
	int variant = fs_fleet_add_variant(w.fleet, &small);
	assert_int_equal(variant, 1);
	struct fs_vehicle_params other = p;
	other.sw_count = 1;
	assert_int_equal(fs_fleet_add_variant(w.fleet, &other), -EINVAL); /* releases must be the fleet's */
	struct fs_vehicle_init init = { .id = 1, .state = FS_VEHICLE_AVAILABLE, .phase = FS_CITY_DRIVERLESS, .sw = 2,
					.home_depot = 0, .variant = (uint8_t)variant, .at_depot = true, .soc = 0.5,
					.edge = FS_NO_EDGE };
	assert_int_equal(fs_fleet_add(w.fleet, &init, 0), 0);
	assert_int_equal(add(&w, 2, 0.9), 1); /* the fleet's own model */
	assert_float_equal(veh(&w, 1)->battery_kwh, 15.0, 1e-9);
	uint32_t r[16];
	uint32_t n = vt_route(w.net, COLS, 0, 4, r);
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, r, n, 1000, &w.ev), 0);
	assert_int_equal(fs_fleet_reposition(w.fleet, 2, r, n, 1000, &w.ev), 0);
	fs_fleet_advance(w.fleet, 41000, &w.ev);
	assert_float_equal(fs_fleet_variant_stats(w.fleet, 1)->traction_kwh, 0.4 * 0.30, 1e-9);
	assert_float_equal(fs_fleet_variant_stats(w.fleet, 0)->traction_kwh, 0.4 * p.kwh_per_km, 1e-9);
	assert_float_equal(fs_fleet_stats(w.fleet)->traction_kwh, 0.4 * (0.30 + p.kwh_per_km), 1e-9);
	assert_null(fs_fleet_variant_stats(w.fleet, 2));
	/* back at the depot, a 150 kW plug charges it at its own 50 kW */
	n = vt_route(w.net, COLS, 4, 0, r);
	assert_int_equal(fs_fleet_send_to_depot(w.fleet, 1, 0, FS_DEPOT_CHARGE, r, n, 50000, &w.ev), 0);
	fs_fleet_advance(w.fleet, 20 * H_MS, &w.ev);
	const struct fs_fleet_stats *st = fs_fleet_variant_stats(w.fleet, 1);
	assert_int_equal(st->charges, 1);
	assert_float_equal(st->charged_kwh / st->charging_hours, 50.0 * 0.92 - p.av_stack_kw, 1e-3);
	assert_true(st->charged_kwh > 9.0 && st->charged_kwh < 9.3); /* from ~14.8 kWh to 80 % of 30 */
	/* the fleet's own vehicle becomes one of the small model at the same state of charge */
	double soc = fs_vehicle_soc(veh(&w, 2), 20 * H_MS);
	assert_int_equal(fs_fleet_set_variant(w.fleet, 2, 1, 20 * H_MS, &w.ev), 0);
	assert_float_equal(fs_vehicle_soc(veh(&w, 2), 20 * H_MS), soc, 1e-12);
	assert_float_equal(veh(&w, 2)->battery_kwh, soc * 30.0, 1e-9);
	assert_int_equal(fs_fleet_set_variant(w.fleet, 2, 3, 20 * H_MS, &w.ev), -EINVAL);
	world_down(&w);
}

static void full_plugs_queue_in_arrival_order(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	assert_int_equal(fs_fleet_add_depot(w.fleet, 99, 1, 150.0), 1);
	add_at(&w, 1, 0.3, FS_CITY_DRIVERLESS, 2, 1, 0);
	add_at(&w, 2, 0.5, FS_CITY_DRIVERLESS, 2, 1, 0);
	add_at(&w, 3, 0.4, FS_CITY_DRIVERLESS, 2, 1, 0);
	assert_int_equal(fs_fleet_send_to_depot(w.fleet, 2, 1, FS_DEPOT_CHARGE, NULL, 0, 0, &w.ev), 0);
	assert_int_equal(fs_fleet_send_to_depot(w.fleet, 1, 1, FS_DEPOT_CHARGE, NULL, 0, 1000, &w.ev), 0);
	assert_int_equal(fs_fleet_send_to_depot(w.fleet, 3, 1, FS_DEPOT_CHARGE, NULL, 0, 2000, &w.ev), 0);
	uint32_t busy, queued;
	fs_fleet_depot_usage(w.fleet, 1, &busy, &queued);
	assert_int_equal(busy, 1);
	assert_int_equal(queued, 2);
	assert_int_equal(veh(&w, 2)->state, FS_VEHICLE_CHARGING);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_TO_CHARGER);
	assert_true(veh(&w, 1)->flags & FS_VF_PLUG_QUEUED);
	int64_t end2 = (int64_t)ceil(fs_vehicle_charge_seconds(&p, 150, 0.5, 0.8) * 1000);
	fs_fleet_advance(w.fleet, end2, &w.ev);
	/* vehicle 1 came first: it gets the plug the moment vehicle 2 leaves */
	assert_int_equal(veh(&w, 2)->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_CHARGING);
	assert_int_equal(veh(&w, 1)->state_since_ms, end2);
	assert_int_equal(veh(&w, 3)->state, FS_VEHICLE_TO_CHARGER);
	/* the queued car's stack drew power while it waited */
	double soc1 = 0.3 - p.av_stack_kw * (double)end2 / 3.6e6 / 100.0; /* on since t = 0 */
	assert_float_equal(fs_vehicle_soc(veh(&w, 1), end2), soc1, 1e-9);
	fs_fleet_advance(w.fleet, 10 * H_MS, &w.ev);
	assert_int_equal(veh(&w, 3)->state, FS_VEHICLE_AVAILABLE);
	fs_fleet_depot_usage(w.fleet, 1, &busy, &queued);
	assert_int_equal(busy + queued, 0);
	/* unplugging by hand frees the plug too */
	assert_int_equal(fs_fleet_transition(w.fleet, 3, FS_VEHICLE_CHARGING, 10 * H_MS, &w.ev), 0);
	assert_int_equal(fs_fleet_transition(w.fleet, 2, FS_VEHICLE_CHARGING, 10 * H_MS, &w.ev), -EBUSY);
	assert_int_equal(fs_fleet_transition(w.fleet, 3, FS_VEHICLE_AVAILABLE, 10 * H_MS + 1, &w.ev), 0);
	assert_int_equal(fs_fleet_transition(w.fleet, 2, FS_VEHICLE_CHARGING, 10 * H_MS + 1, &w.ev), 0);
	world_down(&w);
}

static void cannot_finish_a_job_asks_to_charge(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, 0.103);
	add(&w, 2, 0.5);
	uint32_t a[32], b[32];
	uint32_t na = vt_route(w.net, COLS, 0, 9, a);
	uint32_t nb = vt_route(w.net, COLS, 9, 99, b);
	struct fs_job job = { .id = 5, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb,
			      .board_dwell_s = 0 };
	/* 1.8 km = 0.396 kWh + 3 min of the stack = 0.4185 kWh: 10.3 kWh would end
	 * below the 10 kWh reserve */
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 0, &w.ev), -EPERM);
	const struct fs_vehicle_event *d = vt_last(&w.ev, FS_VEV_JOB_DECLINED, 1);
	assert_non_null(d);
	assert_int_equal(d->job_id, 5);
	assert_string_equal(d->reason, "not enough energy for the job");
	assert_non_null(vt_last(&w.ev, FS_VEV_CHARGE_REQUEST, 1));
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(fs_fleet_assign(w.fleet, 2, &job, 0, &w.ev), 0);
	assert_non_null(vt_last(&w.ev, FS_VEV_JOB_ACCEPTED, 2));
	/* the rule itself */
	const struct fs_vehicle *v = veh(&w, 2); /* 50 kWh */
	assert_true(fs_vehicle_can_complete(v, 0, 100.0, 0, 0.10));  /* 22 + 1.9 kWh */
	assert_false(fs_vehicle_can_complete(v, 0, 200.0, 0, 0.10)); /* 44 + 3.75 kWh */
	assert_float_equal(fs_vehicle_job_kwh(&p, 10.0, 3600), 2.2 + 0.45, 1e-12);
	world_down(&w);
}

static void parked_vehicle_asks_to_charge_exactly_on_time(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, 0.21); /* at the depot */
	struct fs_vehicle_init street = { .id = 2, .state = FS_VEHICLE_AVAILABLE, .phase = FS_CITY_DRIVERLESS,
					  .sw = 2, .home_depot = 0, .soc = 0.21, .edge = 7, .offset_m = 50 };
	assert_int_equal(fs_fleet_add(w.fleet, &street, 0), 1);
	/* 1 kWh above the 20 % mark at 0.45 kW: 2 h 13 min 20 s */
	int64_t t = 8000000;
	assert_int_equal(fs_fleet_next_event_ms(w.fleet), t);
	fs_fleet_advance(w.fleet, t - 1, &w.ev);
	assert_int_equal(vt_count(&w.ev, FS_VEV_CHARGE_REQUEST, UINT32_MAX), 0);
	fs_fleet_advance(w.fleet, t, &w.ev);
	assert_int_equal(fs_fleet_stats(w.fleet)->touched, 2);
	const struct fs_vehicle_event *e = vt_last(&w.ev, FS_VEV_CHARGE_REQUEST, 1);
	assert_non_null(e);
	assert_int_equal(e->time_ms, t);
	assert_float_equal(e->value, 0.20, 1e-6);
	/* ignored: 20 kWh later (44.4 h) the one at the depot plugs itself in,
	 * the one in the street is stranded, towed, inspected, then charges */
	int64_t empty = t + (int64_t)ceil(20.0 / 0.45 * 3600000);
	fs_fleet_advance(w.fleet, empty, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_CHARGING);
	assert_int_equal(veh(&w, 2)->state, FS_VEHICLE_MINIMAL_RISK);
	assert_true(veh(&w, 2)->flags & FS_VF_TOWING);
	assert_int_equal(fs_fleet_stats(w.fleet)->strandings, 1);
	fs_fleet_advance(w.fleet, 60 * H_MS, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(veh(&w, 2)->state, FS_VEHICLE_AVAILABLE);
	assert_float_equal(veh(&w, 2)->battery_kwh, 80.0, 1e-6);
	assert_int_equal(fs_fleet_stats(w.fleet)->charges, 2);
	assert_int_equal(vt_count(&w.ev, FS_VEV_CHARGE_REQUEST, 1), 1);
	world_down(&w);
}

static void driving_on_empty_strands_and_tows(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, 0.011); /* 1.1 kWh: about 5 km */
	uint32_t loop[64];
	uint32_t n = vt_route(w.net, COLS, 0, 9, loop);
	n += vt_route(w.net, COLS, 9, 99, loop + n);
	n += vt_route(w.net, COLS, 99, 90, loop + n);
	n += vt_route(w.net, COLS, 90, 0, loop + n);
	uint32_t route[128];
	memcpy(route, loop, n * sizeof(uint32_t));
	memcpy(route + n, loop, n * sizeof(uint32_t));
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, route, 2 * n, 0, &w.ev), 0);
	fs_fleet_advance(w.fleet, 2 * H_MS, &w.ev);
	const struct fs_fleet_stats *st = fs_fleet_stats(w.fleet);
	assert_int_equal(st->strandings, 1);
	assert_int_equal(st->tows, 1);
	assert_int_equal(vt_count(&w.ev, FS_VEV_CHARGE_REQUEST, 1), 1);
	/* 1.1 kWh at 0.022 kWh per 100 m plus the stack's 1.25 Wh per 10-s edge: 48 edges */
	assert_float_equal(veh(&w, 1)->odometer_m, 4800.0, 1e-6);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_MAINTENANCE); /* towed to the depot */
	world_down(&w);
}

/* ---- jobs ----------------------------------------------------------------------------- */

/* Vehicle 1 at node 0 takes ride 42 at time 0: pickup at node 5 (50 s), drop-off at node 95. */
static void ride_0_5_95(struct world *w, struct fs_vehicle_params *p, int32_t board_s, int32_t alight_s)
{
	world_up(w, p, 1);
	add(w, 1, 0.9);
	uint32_t a[32], b[32];
	uint32_t na = vt_route(w->net, COLS, 0, 5, a);
	uint32_t nb = vt_route(w->net, COLS, 5, 95, b);
	struct fs_job job = { .id = 42, .to_pickup = a, .to_pickup_len = na, .trip = b,
			      .trip_len = nb, .board_dwell_s = board_s, .alight_dwell_s = alight_s };
	assert_int_equal(fs_fleet_assign(w->fleet, 1, &job, 0, &w->ev), 0);
}

static void job_cycle_pickup_board_trip_dropoff(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	ride_0_5_95(&w, &p, 30, 0);
	fs_fleet_advance(w.fleet, H_MS, &w.ev);
	/* the story, in order */
	int want[][3] = {
		{ FS_VEV_STATE_CHANGED, FS_VEHICLE_TO_PICKUP, 0 },
		{ FS_VEV_JOB_ACCEPTED, FS_VEHICLE_TO_PICKUP, 0 },
		{ FS_VEV_ARRIVED, FS_VEHICLE_TO_PICKUP, 50000 },
		{ FS_VEV_STATE_CHANGED, FS_VEHICLE_WAITING_FOR_RIDER, 50000 },
		{ FS_VEV_STATE_CHANGED, FS_VEHICLE_IN_TRIP, 80000 },
		{ FS_VEV_ARRIVED, FS_VEHICLE_IN_TRIP, 170000 },
		{ FS_VEV_STATE_CHANGED, FS_VEHICLE_AVAILABLE, 170000 },
	};
	size_t k = 0;
	for (size_t i = 0; i < w.ev.count && k < 7; i++) {
		const struct fs_vehicle_event *e = &w.ev.items[i];
		if (e->kind == FS_VEV_CHARGE_REQUEST) {
			continue;
		}
		assert_int_equal(e->kind, want[k][0]);
		assert_int_equal(e->to_state, want[k][1]);
		assert_int_equal(e->time_ms, want[k][2]);
		if (k < 6) {
			assert_int_equal(e->job_id, 42);
		}
		k++;
	}
	assert_int_equal(k, 7);
	assert_int_equal(fs_fleet_stats(w.fleet)->jobs_completed, 1);
	double x, y;
	fs_vehicle_position(veh(&w, 1), w.net, H_MS, &x, &y, NULL, NULL);
	assert_float_equal(x, 500.0, 1e-6); /* node 95 */
	assert_float_equal(y, 900.0, 1e-6);
	world_down(&w);
}

/* At the drop-off the car stands, rider aboard, while they get out; only then is it free. */
static void rider_gets_out_before_the_car_is_free(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	ride_0_5_95(&w, &p, 30, 25);
	fs_fleet_advance(w.fleet, 170000, &w.ev); /* at the drop-off (as in the cycle above) */
	const struct fs_vehicle_event *at = vt_last(&w.ev, FS_VEV_ARRIVED, 1);
	assert_non_null(at);
	assert_int_equal(at->time_ms, 170000);
	assert_int_equal(fs_fleet_stats(w.fleet)->jobs_completed, 1);
	fs_fleet_advance(w.fleet, 194999, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_IN_TRIP);
	uint32_t c[32];
	uint32_t nc = vt_route(w.net, COLS, 95, 99, c);
	struct fs_job next = { .id = 43, .trip = c, .trip_len = nc, .board_dwell_s = 0 };
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &next, 194999, &w.ev), -EPERM); /* not free yet */
	double x, y;
	fs_vehicle_position(veh(&w, 1), w.net, 190000, &x, &y, NULL, NULL);
	assert_float_equal(x, 500.0, 1e-6); /* standing at node 95 */
	assert_float_equal(y, 900.0, 1e-6);
	fs_fleet_advance(w.fleet, 195000, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	const struct fs_vehicle_event *free_again = vt_last(&w.ev, FS_VEV_STATE_CHANGED, 1);
	assert_int_equal(free_again->time_ms, 195000);
	assert_int_equal(free_again->to_state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &next, 195000, &w.ev), 0);
	world_down(&w);
}

/* The car stops where the rider stands along the block, not at the next junction, and sets
 * the rider down along the last block too. */
static void job_stops_along_the_edge(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, 0.9);
	uint32_t a[32], b[32];
	uint32_t na = vt_route(w.net, COLS, 0, 5, a);
	b[0] = a[na - 1]; /* the trip starts on the pickup's edge, 4 -> 5 */
	uint32_t nb = 1 + vt_route(w.net, COLS, 5, 95, b + 1);
	struct fs_job job = { .id = 7, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb,
			      .board_dwell_s = 30, .pickup_short_m = 30.0, .dropoff_short_m = 40.0 };
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 0, &w.ev), 0);
	fs_fleet_advance(w.fleet, 60000, &w.ev);
	const struct fs_vehicle_event *arr = vt_last(&w.ev, FS_VEV_ARRIVED, 1);
	assert_non_null(arr);
	assert_int_equal(arr->time_ms, 47000); /* four blocks and 70 m of the fifth at 10 m/s */
	double x, y, off;
	uint32_t edge;
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_WAITING_FOR_RIDER);
	assert_int_equal(fs_vehicle_position(veh(&w, 1), w.net, 60000, &x, &y, &edge, &off), 0);
	assert_int_equal(edge, vt_edge(w.net, 4, 5));
	assert_float_equal(off, 70.0, 1e-4);
	assert_float_equal(x, 470.0, 1e-4);
	fs_fleet_advance(w.fleet, H_MS, &w.ev);
	arr = vt_last(&w.ev, FS_VEV_ARRIVED, 1);
	assert_int_equal(arr->time_ms, 77000 + 3000 + 80000 + 6000); /* rest of the block, 8 blocks, 60 m */
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(fs_vehicle_position(veh(&w, 1), w.net, H_MS, &x, &y, &edge, &off), 0);
	assert_int_equal(edge, vt_edge(w.net, 85, 95));
	assert_float_equal(x, 500.0, 1e-4);
	assert_float_equal(y, 860.0, 1e-4);
	assert_float_equal(veh(&w, 1)->odometer_m, 470.0 + 30.0 + 800.0 + 60.0, 1e-3);

	/* a car driving on towards the junction stops short when its new job says so */
	add(&w, 2, 0.9);
	uint32_t r[4];
	uint32_t nr = vt_route(w.net, COLS, 0, 2, r);
	assert_int_equal(fs_fleet_reposition(w.fleet, 2, r, nr, H_MS, &w.ev), 0);
	fs_fleet_advance(w.fleet, H_MS + 15000, &w.ev); /* halfway along 1 -> 2 */
	uint32_t here[1] = { r[1] }, on[2] = { r[1], vt_edge(w.net, 2, 12) };
	struct fs_job near = { .id = 8, .to_pickup = here, .to_pickup_len = 1, .trip = on, .trip_len = 2,
			       .board_dwell_s = 30, .pickup_short_m = 20.0 };
	assert_int_equal(fs_fleet_assign(w.fleet, 2, &near, H_MS + 15000, &w.ev), 0);
	fs_fleet_advance(w.fleet, H_MS + 25000, &w.ev);
	arr = vt_last(&w.ev, FS_VEV_ARRIVED, 2);
	assert_non_null(arr);
	assert_int_equal(arr->time_ms, H_MS + 18000);
	assert_int_equal(fs_vehicle_position(veh(&w, 2), w.net, H_MS + 25000, &x, &y, &edge, &off), 0);
	assert_float_equal(off, 80.0, 1e-4);
	world_down(&w);
}

static void rider_boards_on_call_or_is_a_no_show(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, 0.9);
	uint32_t a[32], b[32];
	uint32_t na = vt_route(w.net, COLS, 0, 2, a);
	uint32_t nb = vt_route(w.net, COLS, 2, 4, b);
	struct fs_job job = { .id = 1, .to_pickup = a, .to_pickup_len = na, .trip = b,
			      .trip_len = nb, .board_dwell_s = -1 };
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 0, &w.ev), 0);
	assert_int_equal(fs_fleet_board(w.fleet, 1, 5000, &w.ev), -EPERM); /* not there yet */
	fs_fleet_advance(w.fleet, 100000, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_WAITING_FOR_RIDER);
	assert_int_equal(fs_fleet_board(w.fleet, 1, 100000, &w.ev), 0);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_IN_TRIP);
	fs_fleet_advance(w.fleet, 130000, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);

	/* next rider never comes: the car gives up after max_wait_s */
	na = vt_route(w.net, COLS, 4, 6, a);
	nb = vt_route(w.net, COLS, 6, 8, b);
	job = (struct fs_job){ .id = 2, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb,
			       .board_dwell_s = -1 };
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 130000, &w.ev), 0);
	int64_t at_pickup = 150000, gone = at_pickup + (int64_t)(p.max_wait_s * 1000);
	fs_fleet_advance(w.fleet, gone - 1, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_WAITING_FOR_RIDER);
	fs_fleet_advance(w.fleet, gone, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	const struct fs_vehicle_event *hb = vt_last(&w.ev, FS_VEV_JOB_HANDED_BACK, 1);
	assert_non_null(hb);
	assert_int_equal(hb->job_id, 2);
	assert_string_equal(hb->reason, "rider no-show");

	/* cancelled on the way: finishes the edge it is on and parks */
	na = vt_route(w.net, COLS, 6, 66, a);
	nb = vt_route(w.net, COLS, 66, 69, b);
	job = (struct fs_job){ .id = 3, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb,
			       .board_dwell_s = 0 };
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, gone, &w.ev), 0);
	assert_int_equal(fs_fleet_cancel_job(w.fleet, 1, gone + 15000, &w.ev), 0);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	fs_fleet_advance(w.fleet, gone + 100000, &w.ev);
	double x, y;
	fs_vehicle_position(veh(&w, 1), w.net, gone + 100000, &x, &y, NULL, NULL);
	assert_float_equal(x, 600.0, 1e-6); /* node 26: the end of the second edge north */
	assert_float_equal(y, 200.0, 1e-6);
	uint32_t left;
	fs_fleet_route(w.fleet, 0, &left);
	assert_int_equal(left, 0);
	assert_int_equal(fs_fleet_cancel_job(w.fleet, 1, gone + 100000, &w.ev), -EPERM);
	world_down(&w);
}

/* ---- ODD ------------------------------------------------------------------------------- */

static void declines_work_outside_its_odd(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add_at(&w, 1, 0.9, FS_CITY_DRIVERLESS, 0, 0, 0); /* release 1.0: no motorways */
	add_at(&w, 2, 0.9, FS_CITY_DRIVERLESS, 2, 0, 0);
	uint32_t a[32], b[32];
	uint32_t na = vt_route(w.net, COLS, 0, 3, a);
	uint32_t nb = vt_route(w.net, COLS, 3, 33, b);
	w.net->edges[b[1]].road_class = FS_ROAD_MOTORWAY;
	struct fs_job job = { .id = 1, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb };
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 0, &w.ev), -EPERM);
	assert_string_equal(vt_last(&w.ev, FS_VEV_JOB_DECLINED, 1)->reason,
			    "route uses a motorway outside the vehicle's ODD");
	const char *why = NULL;
	assert_true(fs_vehicle_accepts_job(veh(&w, 2), w.net, &job, NULL, NULL, 0, &why));
	assert_null(why);

	/* geofence */
	uint8_t *in = calloc(w.net->edge_count, 1);
	memset(in, 1, w.net->edge_count);
	in[b[2]] = 0;
	struct fs_zone zone = { .edge_in_zone = in };
	fs_fleet_set_zone(w.fleet, &zone);
	assert_int_equal(fs_fleet_assign(w.fleet, 2, &job, 0, &w.ev), -EPERM);
	assert_string_equal(vt_last(&w.ev, FS_VEV_JOB_DECLINED, 2)->reason, "route leaves the geofence");
	fs_fleet_set_zone(w.fleet, NULL);

	/* night for a car whose side cameras restrict it to daytime (R10) */
	assert_int_equal(fs_fleet_inject_fault(w.fleet, 2, FS_DEVICE_CAMERA, 5, FS_HEALTH_DEGRADED, 0, &w.ev), 0);
	assert_int_equal(fs_fleet_inject_fault(w.fleet, 2, FS_DEVICE_CAMERA, 6, FS_HEALTH_DEGRADED, 0, &w.ev), 0);
	assert_true(veh(&w, 2)->odd_flags & FS_ODD_DAYTIME_ONLY);
	assert_non_null(vt_last(&w.ev, FS_VEV_ODD_CHANGED, 2));
	struct fs_conditions night = { .travel_time_factor = 1.0, .night = true };
	assert_int_equal(fs_fleet_set_conditions(w.fleet, &night, 1000, &w.ev), 0);
	w.net->edges[b[1]].road_class = FS_ROAD_RESIDENTIAL;
	assert_int_equal(fs_fleet_assign(w.fleet, 2, &job, 1000, &w.ev), -EPERM);
	assert_string_equal(vt_last(&w.ev, FS_VEV_JOB_DECLINED, 2)->reason, "night outside the vehicle's ODD");
	/* storms are outside every ODD */
	struct fs_conditions storm = { .travel_time_factor = 1.0, .rain = FS_RAIN_STORM };
	assert_int_equal(fs_fleet_set_conditions(w.fleet, &storm, 2000, &w.ev), 0);
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 2000, &w.ev), -EPERM);
	assert_string_equal(vt_last(&w.ev, FS_VEV_JOB_DECLINED, 1)->reason, "weather outside every ODD");
	struct fs_conditions bad = { .travel_time_factor = 0.0 };
	assert_int_equal(fs_fleet_set_conditions(w.fleet, &bad, 2000, &w.ev), -EINVAL);
	free(in);
	world_down(&w);
}

static void running_jobs_leaving_the_odd_are_handed_back(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, 0.9);
	add(&w, 2, 0.9);
	/* vehicle 1: lidar degraded (R8: no rain), on its way to a pickup */
	fs_fleet_inject_fault(w.fleet, 1, FS_DEVICE_LIDAR, 0, FS_HEALTH_DEGRADED, 0, &w.ev);
	uint32_t a[32], b[32];
	uint32_t na = vt_route(w.net, COLS, 0, 5, a);
	uint32_t nb = vt_route(w.net, COLS, 5, 95, b);
	struct fs_job job = { .id = 11, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb,
			      .board_dwell_s = 0 };
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 0, &w.ev), 0);
	job.id = 12;
	assert_int_equal(fs_fleet_assign(w.fleet, 2, &job, 0, &w.ev), 0);
	struct fs_conditions rain = { .travel_time_factor = 1.0, .rain = FS_RAIN_LIGHT };
	assert_int_equal(fs_fleet_set_conditions(w.fleet, &rain, 15000, &w.ev), 0);
	const struct fs_vehicle_event *hb = vt_last(&w.ev, FS_VEV_JOB_HANDED_BACK, 1);
	assert_non_null(hb);
	assert_int_equal(hb->job_id, 11);
	assert_string_equal(hb->reason, "rain outside the vehicle's ODD");
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(veh(&w, 2)->state, FS_VEHICLE_TO_PICKUP); /* healthy car drives in rain */
	fs_fleet_advance(w.fleet, 60000, &w.ev);
	double x, y;
	fs_vehicle_position(veh(&w, 1), w.net, 60000, &x, &y, NULL, NULL);
	assert_float_equal(x, 200.0, 1e-6); /* finished its second edge, then parked */

	/* vehicle 2, rider on board, caught by a storm: pulls over, rider handed back */
	fs_fleet_advance(w.fleet, 70000, &w.ev);
	assert_int_equal(veh(&w, 2)->state, FS_VEHICLE_IN_TRIP);
	struct fs_conditions storm = { .travel_time_factor = 1.0, .rain = FS_RAIN_STORM };
	assert_int_equal(fs_fleet_set_conditions(w.fleet, &storm, 75000, &w.ev), 0);
	const struct fs_vehicle *v = veh(&w, 2);
	assert_int_equal(v->state, FS_VEHICLE_MINIMAL_RISK);
	assert_int_equal(v->mrc_cause, FS_MRC_ODD);
	assert_int_equal(vt_last(&w.ev, FS_VEV_JOB_HANDED_BACK, 2)->job_id, 12);
	/* assistance finds the storm still raging and checks again later */
	int64_t ra = 75000 + (int64_t)(p.ra_response_s * 1000);
	fs_fleet_advance(w.fleet, ra, &w.ev);
	assert_int_equal(veh(&w, 2)->state, FS_VEHICLE_MINIMAL_RISK);
	struct fs_conditions dry = { .travel_time_factor = 1.0 };
	assert_int_equal(fs_fleet_set_conditions(w.fleet, &dry, ra + 1000, &w.ev), 0);
	fs_fleet_advance(w.fleet, ra + (int64_t)(p.ra_retry_s * 1000), &w.ev);
	assert_int_equal(veh(&w, 2)->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(fs_fleet_stats(w.fleet)->tows, 0);
	world_down(&w);
}

static void a_road_closed_under_a_route_hands_the_job_back(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, 0.9);
	add(&w, 2, 0.9);
	uint32_t a[32], b[32];
	uint32_t na = vt_route(w.net, COLS, 0, 5, a), nb = vt_route(w.net, COLS, 5, 9, b);
	struct fs_job job = { .id = 11, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb };
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 0, &w.ev), 0);
	uint8_t *closed = calloc(w.net->edge_count, 1);
	closed[vt_edge(w.net, 7, 8)] = 1;
	struct fs_conditions cond = { .travel_time_factor = 1.0, .closed = closed, .closed_version = 1 };
	assert_int_equal(fs_fleet_set_conditions(w.fleet, &cond, 15000, &w.ev), 0);
	const struct fs_vehicle_event *hb = vt_last(&w.ev, FS_VEV_JOB_HANDED_BACK, 1);
	assert_non_null(hb);
	assert_string_equal(hb->reason, "route uses a closed road");
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	/* a new job over it is declined; one around it is taken */
	job.id = 12;
	assert_int_equal(fs_fleet_assign(w.fleet, 2, &job, 15000, &w.ev), -EPERM);
	assert_string_equal(vt_last(&w.ev, FS_VEV_JOB_DECLINED, 2)->reason, "route uses a closed road");
	nb = vt_route(w.net, COLS, 5, 6, b);
	job = (struct fs_job){ .id = 13, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb };
	assert_int_equal(fs_fleet_assign(w.fleet, 2, &job, 15000, &w.ev), 0);
	free(closed);
	world_down(&w);
}

/* ---- data flywheel ------------------------------------------------------------------------ */

static void logs_while_driving_and_uploads_at_the_depot(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add_at(&w, 1, 0.5, FS_CITY_DATA_COLLECTION, 2, 0, 0);
	add_at(&w, 2, 0.5, FS_CITY_DRIVERLESS, 2, 0, 0);
	uint32_t loop[64];
	uint32_t n = vt_route(w.net, COLS, 0, 9, loop);
	n += vt_route(w.net, COLS, 9, 99, loop + n);
	n += vt_route(w.net, COLS, 99, 90, loop + n);
	n += vt_route(w.net, COLS, 90, 0, loop + n); /* 3.6 km, 6 min, back at the depot */
	assert_int_equal(fs_fleet_send_to_depot(w.fleet, 1, 0, FS_DEPOT_CHARGE, loop, n, 0, &w.ev), 0);
	assert_int_equal(fs_fleet_send_to_depot(w.fleet, 2, 0, FS_DEPOT_CHARGE, loop, n, 0, &w.ev), 0);
	fs_fleet_advance(w.fleet, 360000, &w.ev);
	double per_h = 14 * 4.5 + 9 * 0.5 + 30 + 12 * 0.01 + 2 * 1.0; /* 99.62 GB */
	assert_float_equal(veh(&w, 1)->logged_gb, 0.1 * per_h, 1e-9);        /* mapping: all */
	assert_float_equal(veh(&w, 2)->logged_gb, 0.1 * per_h * 0.25, 1e-9); /* selected */
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_CHARGING);
	fs_fleet_advance(w.fleet, 3 * H_MS, &w.ev);
	const struct fs_vehicle_event *up = vt_last(&w.ev, FS_VEV_DATA_UPLOADED, 1);
	assert_non_null(up);
	assert_float_equal(up->value, 0.1 * per_h, 1e-9);
	const struct fs_fleet_stats *st = fs_fleet_stats(w.fleet);
	assert_float_equal(st->logged_gb, 0.1 * per_h * 1.25, 1e-9);
	assert_float_equal(st->uploaded_gb, st->logged_gb, 1e-9);
	assert_float_equal(st->driving_hours, 0.2, 1e-9);
	assert_float_equal(st->km_driven, 7.2, 1e-9);
	/* a failed lidar logs nothing */
	world_down(&w);
	world_up(&w, &p, 1);
	add_at(&w, 1, 0.5, FS_CITY_DATA_COLLECTION, 2, 0, 0);
	fs_fleet_inject_fault(w.fleet, 1, FS_DEVICE_LIDAR, 0, FS_HEALTH_FAILED, 0, &w.ev);
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, loop, n, 0, &w.ev), 0);
	fs_fleet_advance(w.fleet, H_MS, &w.ev);
	assert_float_equal(veh(&w, 1)->logged_gb, 0.1 * (per_h - 30), 1e-9);
	world_down(&w);
}

/* ---- determinism across shards and ticks ------------------------------------------------- */

/* Deterministic job k of vehicle @id from @node. */
static void make_job(const struct fs_network *net, uint32_t id, uint32_t k, uint32_t node,
		     uint32_t *a, uint32_t *b, struct fs_job *job)
{
	uint64_t h = fs_mix64(((uint64_t)id << 32) | k);
	uint32_t pick = (uint32_t)(h % 100), drop = (uint32_t)((h >> 20) % 100);
	if (drop == pick) {
		drop = (drop + 37) % 100;
	}
	*job = (struct fs_job){
		.id = ((uint64_t)id << 20) | k,
		.to_pickup = a,
		.to_pickup_len = vt_route(net, COLS, node, pick, a),
		.trip = b,
		.trip_len = vt_route(net, COLS, pick, drop, b),
		.board_dwell_s = (int32_t)(h % 40),
	};
}

/* Run ids (id % parts == part) for 2 h in 10-s ticks, giving each free vehicle its next job. */
static uint64_t run_shard(const struct fs_vehicle_params *p, int parts, int part, uint64_t *ret_jobs,
			  uint64_t *ret_faults)
{
	struct world w;
	world_up(&w, p, 2026);
	uint32_t next_job[65] = { 0 };
	for (uint32_t id = 1; id <= 64; id++) {
		if ((int)(id % (uint32_t)parts) == part) {
			assert_true(add(&w, id, 0.9) >= 0);
		}
	}
	for (int64_t t = 0; t <= 2 * H_MS; t += 10000) {
		fs_vehicle_events_clear(&w.ev);
		fs_fleet_advance(w.fleet, t, &w.ev);
		for (uint32_t i = 0; i < fs_fleet_count(w.fleet); i++) {
			const struct fs_vehicle *v = fs_fleet_vehicle(w.fleet, i);
			if (v->state != FS_VEHICLE_AVAILABLE || v->seg_end_ms != FS_NEVER_MS) {
				continue;
			}
			uint32_t a[32], b[32];
			struct fs_job job;
			make_job(w.net, v->id, next_job[v->id]++, w.net->edges[v->edge].to, a, b, &job);
			fs_fleet_assign(w.fleet, v->id, &job, t, &w.ev);
		}
		/* The running hash (only changed vehicles rehashed) equals a full recount. */
		uint64_t full = 0;
		for (uint32_t i = 0; i < fs_fleet_count(w.fleet); i++) {
			full += fs_fleet_vehicle_hash(w.fleet, i);
		}
		assert_int_equal(fs_fleet_hash(w.fleet), full);
	}
	uint64_t h = fs_fleet_hash(w.fleet);
	*ret_jobs = fs_fleet_stats(w.fleet)->jobs_completed;
	*ret_faults = fs_fleet_stats(w.fleet)->faults;
	world_down(&w);
	return h;
}

static void fleet_hash_is_the_same_over_1_or_4_shards(void **state)
{
	struct fs_vehicle_params p = defaults;
	for (int k = 1; k < FS_DEVICE_KIND_COUNT; k++) {
		p.degrade_per_h[k] *= 200; /* plenty of faults, stops and tows in 2 h */
		p.fail_per_h[k] *= 200;
	}
	p.sw[2].ra_per_1000km = 100;
	p.sw[2].miles_per_disengagement = 20;
	uint64_t jobs1, faults1, j, fa, jobs4 = 0, faults4 = 0, sum = 0;
	uint64_t whole = run_shard(&p, 1, 0, &jobs1, &faults1);
	for (int part = 0; part < 4; part++) {
		sum += run_shard(&p, 4, part, &j, &fa);
		jobs4 += j;
		faults4 += fa;
	}
	assert_true(jobs1 > 100);
	assert_true(faults1 > 5);
	assert_int_equal(jobs1, jobs4);
	assert_int_equal(faults1, faults4);
	assert_int_equal(sum, whole);
	/* and the hash does depend on the run */
	uint64_t other = run_shard(&p, 2, 0, &j, &fa);
	assert_int_not_equal(other, whole);
}

static uint64_t run_ticks(int64_t tick_ms)
{
	struct world w;
	struct fs_vehicle_params p = defaults;
	for (int k = 1; k < FS_DEVICE_KIND_COUNT; k++) {
		p.degrade_per_h[k] *= 300;
		p.fail_per_h[k] *= 300;
	}
	p.sw[2].ra_per_1000km = 100;
	world_up(&w, &p, 7);
	uint32_t loop[64], route[256];
	uint32_t n = vt_route(w.net, COLS, 0, 9, loop);
	n += vt_route(w.net, COLS, 9, 99, loop + n);
	n += vt_route(w.net, COLS, 99, 90, loop + n);
	n += vt_route(w.net, COLS, 90, 0, loop + n);
	for (int k = 0; k < 4; k++) {
		memcpy(route + k * n, loop, n * sizeof(uint32_t));
	}
	for (uint32_t id = 1; id <= 20; id++) {
		add(&w, id, 0.9);
		fs_fleet_reposition(w.fleet, id, route, 4 * n, (int64_t)id * 1000, &w.ev);
	}
	for (int64_t t = 20000; t < 3 * H_MS; t += tick_ms) {
		fs_fleet_advance(w.fleet, t, &w.ev);
	}
	fs_fleet_advance(w.fleet, 3 * H_MS, &w.ev);
	uint64_t h = fs_fleet_hash(w.fleet);
	world_down(&w);
	return h;
}

static void state_does_not_depend_on_the_tick(void **state)
{
	uint64_t a = run_ticks(1000), b = run_ticks(60000), c = run_ticks(3 * H_MS);
	assert_int_equal(a, b);
	assert_int_equal(a, c);
}

/* ---- cost and memory --------------------------------------------------------------------- */

static void idle_vehicles_cost_nothing_per_tick(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 5);
	const uint32_t n = 100000;
	assert_int_equal(fs_fleet_reserve(w.fleet, n), 0);
	for (uint32_t id = 0; id < n; id++) {
		assert_int_equal(add(&w, id, 0.8), (int)id);
	}
	uint64_t visits = 0;
	for (int64_t t = 0; t <= 60000; t += 1000) {
		fs_fleet_advance(w.fleet, t, &w.ev);
		visits += fs_fleet_stats(w.fleet)->touched;
	}
	assert_int_equal(visits, 0);
	/* one car drives four edges: four visits (three edge changes and the arrival) */
	uint32_t r[8];
	uint32_t len = vt_route(w.net, COLS, 0, 4, r);
	assert_int_equal(fs_fleet_reposition(w.fleet, 4242, r, len, 60000, &w.ev), 0);
	visits = 0;
	for (int64_t t = 61000; t <= 120000; t += 1000) {
		fs_fleet_advance(w.fleet, t, &w.ev);
		visits += fs_fleet_stats(w.fleet)->touched;
	}
	assert_int_equal(visits, 4);
	assert_int_equal(veh(&w, 4242)->state, FS_VEHICLE_AVAILABLE);
	/* memory: the whole container, per vehicle */
	size_t per = fs_fleet_memory_bytes(w.fleet) / n;
	assert_true(per <= 1024);
	/* + heap entry + arena floor + cached hash, dirty flag and dirty-list slot */
	assert_true(per < sizeof(struct fs_vehicle) + 16 + 64 + 8 + 13);
	world_down(&w);

	/* with the default fault process on, an hour of 1-s ticks visits only
	 * the vehicles whose faults fall due (~285 an hour in 100,000) */
	world_up(&w, &defaults, 5);
	for (uint32_t id = 0; id < n; id++) {
		add(&w, id, 0.8);
	}
	visits = 0;
	for (int64_t t = 0; t <= H_MS; t += 1000) {
		fs_fleet_advance(w.fleet, t, &w.ev);
		visits += fs_fleet_stats(w.fleet)->touched;
	}
	size_t faults = fs_fleet_stats(w.fleet)->faults;
	assert_true(faults > 150 && faults < 450);
	assert_true(visits >= faults && visits <= faults + 10);
	world_down(&w);
}

static void route_arena_compacts_and_keeps_routes(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	for (uint32_t id = 1; id <= 8; id++) {
		add(&w, id, 0.9);
	}
	int64_t t = 0;
	uint32_t r[32];
	for (int round = 0; round < 400; round++) {
		t += 3000;
		fs_fleet_advance(w.fleet, t, NULL);
		for (uint32_t id = 1; id <= 8; id++) {
			const struct fs_vehicle *v = veh(&w, id);
			/* a fresh 18-edge route from the node ahead, abandoning the old one */
			uint32_t from = w.net->edges[v->edge].to;
			uint32_t to = (from + 55 + (uint32_t)round) % 100;
			uint32_t n = vt_route(w.net, COLS, from, to, r);
			if (!n) {
				continue;
			}
			assert_int_equal(fs_fleet_reposition(w.fleet, id, r, n, t, &w.ev), 0);
			uint32_t left;
			const uint32_t *got = fs_fleet_route(w.fleet, (uint32_t)fs_fleet_find(w.fleet, id), &left);
			/* the current edge first (unless it was finished), then the new route */
			assert_true(left == n || left == n + 1);
			assert_memory_equal(got + (left - n), r, n * sizeof(uint32_t));
		}
	}
	/* 400 x 8 routes of ~10 edges went through a bounded arena */
	assert_true(fs_fleet_memory_bytes(w.fleet) < 64 * 1024);
	world_down(&w);
}

static void service_transitions_run_the_fleet_actions(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, 0.9);
	add(&w, 2, 0.9);
	/* illegal through the fleet too: refused with an event */
	assert_int_equal(fs_fleet_transition(w.fleet, 1, FS_VEHICLE_IN_TRIP, 0, &w.ev), -EPERM);
	const struct fs_vehicle_event *r = vt_last(&w.ev, FS_VEV_TRANSITION_REFUSED, 1);
	assert_non_null(r);
	assert_string_equal(r->reason, "not in the transition table");
	/* a stop requested by the service (e.g. a scenario): assistance ends it */
	uint32_t route[16];
	uint32_t n = vt_route(w.net, COLS, 0, 5, route);
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, route, n, 0, &w.ev), 0);
	assert_int_equal(fs_fleet_transition(w.fleet, 1, FS_VEHICLE_MINIMAL_RISK, 12000, &w.ev), 0);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_MINIMAL_RISK);
	int64_t back = 12000 + (int64_t)(p.ra_response_s * 1000);
	fs_fleet_advance(w.fleet, back, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_REPOSITIONING); /* resumed */
	fs_fleet_advance(w.fleet, back + 60000, &w.ev);
	assert_int_equal(vt_last(&w.ev, FS_VEV_ARRIVED, 1)->time_ms, back + 38000);
	/* maintenance at the depot, inspection time, then available; retire */
	int64_t t0 = back + 60000;
	assert_int_equal(fs_fleet_transition(w.fleet, 2, FS_VEHICLE_MAINTENANCE, t0, &w.ev), 0);
	fs_fleet_advance(w.fleet, t0 + (int64_t)(p.inspection_h * H_MS) - 1, &w.ev);
	assert_int_equal(veh(&w, 2)->state, FS_VEHICLE_MAINTENANCE);
	fs_fleet_advance(w.fleet, t0 + (int64_t)(p.inspection_h * H_MS), &w.ev);
	assert_int_equal(veh(&w, 2)->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(fs_fleet_transition(w.fleet, 2, FS_VEHICLE_OUT_OF_SERVICE, 2 * H_MS, &w.ev), 0);
	assert_int_equal(fs_fleet_transition(w.fleet, 1, FS_VEHICLE_OUT_OF_SERVICE, 2 * H_MS, &w.ev), -EPERM);
	assert_string_equal(vt_last(&w.ev, FS_VEV_TRANSITION_REFUSED, 1)->reason, "not at a depot");
	assert_int_equal(fs_fleet_transition(w.fleet, 99, FS_VEHICLE_AVAILABLE, 2 * H_MS, &w.ev), -ENOENT);
	world_down(&w);
}

static void city_phase_governs_riders_and_stops(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add_at(&w, 1, 0.9, FS_CITY_DATA_COLLECTION, 2, 0, 0);
	uint32_t a[16], b[16];
	uint32_t na = vt_route(w.net, COLS, 0, 2, a), nb = vt_route(w.net, COLS, 2, 4, b);
	struct fs_job job = { .id = 3, .to_pickup = a, .to_pickup_len = na, .trip = b, .trip_len = nb };
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 0, &w.ev), -EPERM);
	assert_string_equal(vt_last(&w.ev, FS_VEV_JOB_DECLINED, 1)->reason,
			    "no riders in the data-collection phase");
	assert_int_equal(fs_fleet_set_phase(w.fleet, 1, FS_CITY_SUPERVISED, 1000, &w.ev), 0);
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 1000, &w.ev), 0);
	assert_int_equal(fs_fleet_set_phase(w.fleet, 1, 7, 1000, &w.ev), -EINVAL);
	/* the city goes driverless while a stop-class fault is present: it stops */
	fs_fleet_inject_fault(w.fleet, 1, FS_DEVICE_THOR, 0, FS_HEALTH_DEGRADED, 5000, &w.ev);
	fs_fleet_inject_fault(w.fleet, 1, FS_DEVICE_THOR, 1, FS_HEALTH_DEGRADED, 5000, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_TO_PICKUP);
	struct fs_vehicle_snapshot snap;
	fs_vehicle_snapshot(veh(&w, 1), w.net, 5000, &snap);
	assert_int_equal(snap.health_flags, FS_HEALTH_SUMMARY_DEGRADED | FS_HEALTH_SUMMARY_MINIMAL_RISK);
	assert_int_equal(fs_fleet_set_phase(w.fleet, 1, FS_CITY_DRIVERLESS, 6000, &w.ev), 0);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_MINIMAL_RISK);
	world_down(&w);
}

static void fleet_add_validates(void **state)
{
	struct world w;
	world_up(&w, &defaults, 1);
	assert_int_equal(add(&w, 10, 0.5), 0);
	assert_int_equal(add(&w, 10, 0.5), -EEXIST);
	assert_int_equal(add(&w, 9, 0.5), -EINVAL); /* ids ascend */
	assert_int_equal(add_at(&w, 11, 0.5, FS_CITY_DRIVERLESS, 2, 3, 0), -EINVAL); /* no depot 3 */
	struct fs_vehicle_init roaming = { .id = 12, .phase = FS_CITY_DRIVERLESS, .sw = 2,
					   .home_depot = 0, .soc = 0.5, .edge = 7 };
	assert_int_equal(fs_fleet_add(w.fleet, &roaming, 0), -EINVAL); /* delivered off-depot */
	roaming.state = FS_VEHICLE_AVAILABLE;
	roaming.offset_m = 1000; /* beyond the edge */
	assert_int_equal(fs_fleet_add(w.fleet, &roaming, 0), -EINVAL);
	roaming.offset_m = 50;
	assert_int_equal(fs_fleet_add(w.fleet, &roaming, 0), 1);
	assert_int_equal(fs_fleet_find(w.fleet, 12), 1);
	assert_int_equal(fs_fleet_find(w.fleet, 11), -ENOENT);
	assert_int_equal(fs_fleet_add_depot(w.fleet, 100000, 1, 50), -EINVAL);
	assert_int_equal(fs_fleet_add_depot(w.fleet, 5, 1, 0), -EINVAL);
	assert_null(fs_fleet_create(NULL, &defaults, 1));
	fs_fleet_destroy(NULL);
	world_down(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(drives_a_route_at_link_times_with_positions),
		cmocka_unit_test(position_follows_the_edge_shape),
		cmocka_unit_test(charges_20_to_80_in_the_expected_minutes),
		cmocka_unit_test(a_variant_drives_and_charges_with_its_own_vehicle),
		cmocka_unit_test(full_plugs_queue_in_arrival_order),
		cmocka_unit_test(cannot_finish_a_job_asks_to_charge),
		cmocka_unit_test(parked_vehicle_asks_to_charge_exactly_on_time),
		cmocka_unit_test(driving_on_empty_strands_and_tows),
		cmocka_unit_test(job_cycle_pickup_board_trip_dropoff),
		cmocka_unit_test(rider_gets_out_before_the_car_is_free),
		cmocka_unit_test(job_stops_along_the_edge),
		cmocka_unit_test(rider_boards_on_call_or_is_a_no_show),
		cmocka_unit_test(declines_work_outside_its_odd),
		cmocka_unit_test(running_jobs_leaving_the_odd_are_handed_back),
		cmocka_unit_test(logs_while_driving_and_uploads_at_the_depot),
		cmocka_unit_test(fleet_hash_is_the_same_over_1_or_4_shards),
		cmocka_unit_test(state_does_not_depend_on_the_tick),
		cmocka_unit_test(idle_vehicles_cost_nothing_per_tick),
		cmocka_unit_test(route_arena_compacts_and_keeps_routes),
		cmocka_unit_test(service_transitions_run_the_fleet_actions),
		cmocka_unit_test(city_phase_governs_riders_and_stops),
		cmocka_unit_test(fleet_add_validates),
		cmocka_unit_test(a_road_closed_under_a_route_hands_the_job_back),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
