/* SPDX-License-Identifier: Apache-2.0 */
/* Hyperion 10 platform: each rule of the fault table, the fault process's
 * determinism, the minimal-risk condition and its exits, software rates, OTA. */
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
#include "fs/vehicle.h"
#include "vehicle_test_util.h"

#define R(k) (1u << ((k) - 1))

static struct fs_vehicle_params params;

static int setup(void **state)
{
	fs_vehicle_params_defaults(&params);
	return 0;
}

static void set(struct fs_platform *p, int kind, unsigned idx, int h)
{
	assert_int_equal(fs_platform_set(p, kind, idx, h), 0);
}

static struct fs_platform_assessment assess(const struct fs_platform *p)
{
	struct fs_platform_assessment a;
	fs_platform_assess(p, &params, &a);
	return a;
}

static void packing_is_two_bits_per_device(void **state)
{
	struct fs_platform p = { 0 };
	assert_int_equal(fs_platform_kind_size(FS_DEVICE_CAMERA), 14);
	assert_int_equal(fs_platform_kind_size(FS_DEVICE_RADAR), 9);
	assert_int_equal(fs_platform_kind_size(FS_DEVICE_LIDAR), 1);
	assert_int_equal(fs_platform_kind_size(FS_DEVICE_ULTRASONIC), 12);
	assert_int_equal(fs_platform_kind_size(FS_DEVICE_THOR), 2);
	assert_int_equal(fs_platform_kind_size(0), 0);
	set(&p, FS_DEVICE_THOR, 1, FS_HEALTH_FAILED); /* the very last device */
	set(&p, FS_DEVICE_CAMERA, 0, FS_HEALTH_DEGRADED);
	set(&p, FS_DEVICE_LIDAR, 0, FS_HEALTH_DEGRADED);
	assert_int_equal(fs_platform_get(&p, FS_DEVICE_THOR, 1), FS_HEALTH_FAILED);
	assert_int_equal(fs_platform_get(&p, FS_DEVICE_THOR, 0), FS_HEALTH_OK);
	assert_int_equal(fs_platform_get(&p, FS_DEVICE_CAMERA, 0), FS_HEALTH_DEGRADED);
	assert_int_equal(fs_platform_get(&p, FS_DEVICE_CAMERA, 1), FS_HEALTH_OK);
	assert_int_equal(fs_platform_count(&p, FS_DEVICE_ULTRASONIC, FS_HEALTH_OK), 12);
	assert_int_equal(fs_platform_set(&p, FS_DEVICE_RADAR, 9, FS_HEALTH_OK), -EINVAL);
	assert_int_equal(fs_platform_set(&p, FS_DEVICE_RADAR, 0, 3), -EINVAL);
	assert_int_equal(fs_platform_clear_degraded(&p), 2);
	assert_int_equal(fs_platform_get(&p, FS_DEVICE_THOR, 1), FS_HEALTH_FAILED);
	assert_int_equal(fs_platform_get(&p, FS_DEVICE_LIDAR, 0), FS_HEALTH_OK);
}

static void healthy_platform_has_no_consequence(void **state)
{
	struct fs_platform p = { 0 };
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, 0);
	assert_int_equal(a.odd_flags, 0);
	assert_false(a.minimal_risk || a.needs_depot);
	set(&p, FS_DEVICE_CAMERA, 9, FS_HEALTH_DEGRADED); /* one rear camera: below R10 */
	set(&p, FS_DEVICE_ULTRASONIC, 2, FS_HEALTH_DEGRADED); /* ultrasonics never restrict */
	assert_int_equal(assess(&p).rules, 0);
}

static void r1_thor_failed_stops_and_needs_a_tow(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_THOR, 0, FS_HEALTH_FAILED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(1) | R(12));
	assert_true(a.minimal_risk);
	assert_false(a.ra_clears);
	assert_true(a.needs_depot);
}

static void r2_both_thors_degraded_stop_ra_clears(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_THOR, 0, FS_HEALTH_DEGRADED);
	set(&p, FS_DEVICE_THOR, 1, FS_HEALTH_DEGRADED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(2));
	assert_true(a.minimal_risk);
	assert_true(a.ra_clears);
	assert_false(a.needs_depot);
}

static void r3_lidar_and_two_front_cameras_failed(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_LIDAR, 0, FS_HEALTH_FAILED);
	set(&p, FS_DEVICE_CAMERA, 0, FS_HEALTH_FAILED);
	set(&p, FS_DEVICE_CAMERA, 1, FS_HEALTH_FAILED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(3) | R(7) | R(9) | R(12));
	assert_true(a.minimal_risk);
	assert_false(a.ra_clears);
	/* one front camera less is not R3 */
	set(&p, FS_DEVICE_CAMERA, 1, FS_HEALTH_OK);
	assert_false(assess(&p).rules & R(3));
	assert_false(assess(&p).minimal_risk);
}

static void r4_three_front_cameras(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_CAMERA, 0, FS_HEALTH_DEGRADED);
	set(&p, FS_DEVICE_CAMERA, 1, FS_HEALTH_DEGRADED);
	set(&p, FS_DEVICE_CAMERA, 2, FS_HEALTH_DEGRADED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(4));
	assert_true(a.minimal_risk);
	assert_true(a.ra_clears);
	/* one of them failed: remote assistance still ends the stop (the two
	 * degraded ones reset, one failed front camera is R9, not a stop) */
	set(&p, FS_DEVICE_CAMERA, 0, FS_HEALTH_FAILED);
	a = assess(&p);
	assert_int_equal(a.rules, R(4) | R(12));
	assert_true(a.minimal_risk);
	assert_true(a.ra_clears);
	assert_true(a.needs_depot);
	/* three failed: only a depot */
	set(&p, FS_DEVICE_CAMERA, 1, FS_HEALTH_FAILED);
	set(&p, FS_DEVICE_CAMERA, 2, FS_HEALTH_FAILED);
	assert_false(assess(&p).ra_clears);
}

static void r5_lidar_and_front_radar(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_LIDAR, 0, FS_HEALTH_DEGRADED);
	set(&p, FS_DEVICE_RADAR, FS_PLATFORM_FRONT_RADAR, FS_HEALTH_DEGRADED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(5) | R(8) | R(11));
	assert_true(a.minimal_risk);
	assert_true(a.ra_clears);
	/* a corner radar instead of the front one: no stop */
	set(&p, FS_DEVICE_RADAR, FS_PLATFORM_FRONT_RADAR, FS_HEALTH_OK);
	set(&p, FS_DEVICE_RADAR, 3, FS_HEALTH_DEGRADED);
	assert_false(assess(&p).minimal_risk);
}

static void r6_one_thor_degraded_caps_speed_and_motorways(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_THOR, 1, FS_HEALTH_DEGRADED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(6));
	assert_int_equal(a.odd_flags, FS_ODD_NO_MOTORWAY | FS_ODD_SPEED_CAP);
	assert_float_equal(a.speed_cap_mps, params.cap_one_thor_mps, 1e-5);
	assert_false(a.minimal_risk || a.needs_depot);
}

static void r7_lidar_failed_daytime_dry_slow(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_LIDAR, 0, FS_HEALTH_FAILED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(7) | R(12));
	assert_int_equal(a.odd_flags, FS_ODD_DAYTIME_ONLY | FS_ODD_NO_RAIN | FS_ODD_SPEED_CAP);
	assert_float_equal(a.speed_cap_mps, params.cap_no_lidar_mps, 1e-5);
	assert_false(a.minimal_risk);
	assert_true(a.needs_depot);
}

static void r8_lidar_degraded_no_rain(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_LIDAR, 0, FS_HEALTH_DEGRADED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(8));
	assert_int_equal(a.odd_flags, FS_ODD_NO_RAIN);
	assert_float_equal(a.speed_cap_mps, 0.0, 0.0);
}

static void r9_front_camera_caps_speed(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_CAMERA, 3, FS_HEALTH_DEGRADED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(9));
	assert_int_equal(a.odd_flags, FS_ODD_NO_MOTORWAY | FS_ODD_SPEED_CAP);
	assert_float_equal(a.speed_cap_mps, params.cap_front_camera_mps, 1e-5);
	/* with R6 too, the lower cap wins */
	set(&p, FS_DEVICE_THOR, 0, FS_HEALTH_DEGRADED);
	a = assess(&p);
	assert_int_equal(a.rules, R(6) | R(9));
	assert_float_equal(a.speed_cap_mps, params.cap_one_thor_mps, 1e-5);
}

static void r10_two_other_cameras_daytime_only(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_CAMERA, 5, FS_HEALTH_DEGRADED);
	set(&p, FS_DEVICE_CAMERA, 12, FS_HEALTH_FAILED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(10) | R(12));
	assert_int_equal(a.odd_flags, FS_ODD_DAYTIME_ONLY);
}

static void r11_radar_no_rain(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_RADAR, 4, FS_HEALTH_DEGRADED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(11));
	assert_int_equal(a.odd_flags, FS_ODD_NO_RAIN);
}

static void r12_failed_ultrasonic_needs_depot_only(void **state)
{
	struct fs_platform p = { 0 };
	set(&p, FS_DEVICE_ULTRASONIC, 7, FS_HEALTH_FAILED);
	struct fs_platform_assessment a = assess(&p);
	assert_int_equal(a.rules, R(12));
	assert_int_equal(a.odd_flags, 0);
	assert_true(a.needs_depot);
	assert_false(a.minimal_risk);
}

/* docs/vehicle.md must carry every rule exactly as the code names it. */
static void docs_table_matches_the_code(void **state)
{
	const char *root = getenv("FS_SOURCE_ROOT");
	assert_non_null(root);
	char path[1024];
	snprintf(path, sizeof(path), "%s/docs/vehicle.md", root);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	static char doc[1 << 17];
	size_t n = fread(doc, 1, sizeof(doc) - 1, fp);
	fclose(fp);
	doc[n] = '\0';
	assert_null(fs_platform_rule_name(0));
	assert_null(fs_platform_rule_name(FS_PLATFORM_RULES + 1));
	for (unsigned k = 1; k <= FS_PLATFORM_RULES; k++) {
		const char *name = fs_platform_rule_name(k);
		assert_non_null(name);
		const char *space = strchr(name, ' ');
		char row[256];
		snprintf(row, sizeof(row), "| %.*s | %s |", (int)(space - name), name, space + 1);
		if (!strstr(doc, row)) {
			fail_msg("docs/vehicle.md lacks the row \"%s\"", row);
		}
	}
}

/* ---- in a fleet ---------------------------------------------------------------------- */

#define COLS 10

struct world {
	struct fs_network *net;
	struct fs_fleet *fleet;
	struct fs_vehicle_events ev;
	struct fs_vehicle_params p;
};

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

static int add(struct world *w, uint32_t id, int phase, uint8_t sw)
{
	struct fs_vehicle_init init = {
		.id = id, .state = FS_VEHICLE_AVAILABLE, .phase = (uint8_t)phase, .sw = sw,
		.home_depot = 0, .at_depot = true, .soc = 0.9, .edge = FS_NO_EDGE,
	};
	return fs_fleet_add(w->fleet, &init, 0);
}

static const struct fs_vehicle *veh(struct world *w, uint32_t id)
{
	return fs_fleet_vehicle(w->fleet, (uint32_t)fs_fleet_find(w->fleet, id));
}

/* Start a trip job: pickup at node 5, drop-off at node 95; the rider boards at once. */
static void start_trip(struct world *w, uint32_t id, int64_t t)
{
	uint32_t a[64], b[64];
	uint32_t na = vt_route(w->net, COLS, 0, 5, a);
	uint32_t nb = vt_route(w->net, COLS, 5, 95, b);
	struct fs_job job = { .id = 1000 + id, .to_pickup = a, .to_pickup_len = na, .trip = b,
			      .trip_len = nb, .board_dwell_s = 0 };
	assert_int_equal(fs_fleet_assign(w->fleet, id, &job, t, &w->ev), 0);
	fs_fleet_advance(w->fleet, t + 60000, &w->ev); /* 500 m to pickup at 10 m/s: boarded */
	assert_int_equal(veh(w, id)->state, FS_VEHICLE_IN_TRIP);
}

static struct fs_vehicle_params quiet(void)
{
	struct fs_vehicle_params p = params;
	for (int k = 0; k < FS_DEVICE_KIND_COUNT; k++) {
		p.degrade_per_h[k] = p.fail_per_h[k] = 0.0; /* only injected faults */
	}
	for (uint32_t i = 0; i < p.sw_count; i++) {
		p.sw[i].ra_per_1000km = 0.0;
		p.sw[i].miles_per_disengagement = 0.0;
	}
	return p;
}

static void mrc_cleared_by_remote_assistance_resumes_the_trip(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, FS_CITY_DRIVERLESS, 2);
	start_trip(&w, 1, 0);
	double odo = veh(&w, 1)->odometer_m;
	assert_int_equal(fs_fleet_inject_fault(w.fleet, 1, FS_DEVICE_THOR, 0, FS_HEALTH_DEGRADED, 65000, &w.ev), 0);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_IN_TRIP); /* R6: restricted, drives on */
	assert_int_equal(fs_fleet_inject_fault(w.fleet, 1, FS_DEVICE_THOR, 1, FS_HEALTH_DEGRADED, 65500, &w.ev), 0);
	const struct fs_vehicle *v = veh(&w, 1);
	assert_int_equal(v->state, FS_VEHICLE_MINIMAL_RISK);
	assert_int_equal(v->resume_state, FS_VEHICLE_IN_TRIP);
	assert_int_equal(v->mrc_cause, FS_MRC_PLATFORM);
	assert_non_null(vt_last(&w.ev, FS_VEV_REMOTE_ASSIST, 1));
	/* stopped where it was: 5.5 s into the trip at 10 m/s */
	assert_float_equal(v->odometer_m - odo, 55.0, 0.5);
	double x0, y0, x1, y1;
	fs_vehicle_position(v, w.net, 66000, &x0, &y0, NULL, NULL);
	fs_fleet_advance(w.fleet, 65500 + 100000, &w.ev); /* before the RA response */
	v = veh(&w, 1);
	fs_vehicle_position(v, w.net, 165500, &x1, &y1, NULL, NULL);
	assert_float_equal(x0, x1, 1e-9);
	assert_float_equal(y0, y1, 1e-9);
	assert_int_equal(v->state, FS_VEHICLE_MINIMAL_RISK);
	/* the agent resets the Thors and the trip resumes */
	fs_fleet_advance(w.fleet, 65500 + (int64_t)(p.ra_response_s * 1000), &w.ev);
	v = veh(&w, 1);
	assert_int_equal(v->state, FS_VEHICLE_IN_TRIP);
	assert_int_equal(v->job_id, 1001);
	assert_int_equal(fs_platform_count(&v->platform, FS_DEVICE_THOR, FS_HEALTH_OK), 2);
	assert_int_equal(v->odd_flags, 0);
	assert_int_equal(fs_fleet_stats(w.fleet)->tows, 0);
	fs_fleet_advance(w.fleet, 3600000, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(fs_fleet_stats(w.fleet)->jobs_completed, 1);
	world_down(&w);
}

static void mrc_with_failed_hardware_is_towed_to_maintenance(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, FS_CITY_DRIVERLESS, 2);
	start_trip(&w, 1, 0);
	int64_t t = 70000;
	assert_int_equal(fs_fleet_inject_fault(w.fleet, 1, FS_DEVICE_THOR, 0, FS_HEALTH_FAILED, t, &w.ev), 0);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_MINIMAL_RISK);
	assert_non_null(vt_last(&w.ev, FS_VEV_MAINTENANCE_REQUEST, 1));
	int64_t ra = t + (int64_t)(p.ra_response_s * 1000);
	fs_fleet_advance(w.fleet, ra, &w.ev);
	const struct fs_vehicle *v = veh(&w, 1);
	assert_int_equal(v->state, FS_VEHICLE_MINIMAL_RISK); /* the agent cannot fix it */
	assert_true(v->flags & FS_VF_TOWING);
	assert_int_equal(v->job_id, 0);
	const struct fs_vehicle_event *hb = vt_last(&w.ev, FS_VEV_JOB_HANDED_BACK, 1);
	assert_non_null(hb);
	assert_int_equal(hb->job_id, 1001);
	int64_t towed = ra + (int64_t)(p.tow_h * 3600000);
	fs_fleet_advance(w.fleet, towed - 1, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_MINIMAL_RISK);
	fs_fleet_advance(w.fleet, towed, &w.ev);
	v = veh(&w, 1);
	assert_int_equal(v->state, FS_VEHICLE_MAINTENANCE);
	assert_true(v->flags & FS_VF_AT_DEPOT);
	double x, y;
	fs_vehicle_position(v, w.net, towed, &x, &y, NULL, NULL);
	assert_float_equal(x, 0.0, 1e-6); /* depot node 0 */
	assert_float_equal(y, 0.0, 1e-6);
	int64_t repaired = towed + (int64_t)(p.repair_h * 3600000);
	fs_fleet_advance(w.fleet, repaired, &w.ev);
	v = veh(&w, 1);
	assert_int_equal(v->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(fs_platform_count(&v->platform, FS_DEVICE_THOR, FS_HEALTH_OK), 2);
	assert_int_equal(fs_fleet_stats(w.fleet)->tows, 1);
	world_down(&w);
}

static void supervised_vehicle_disengages_instead_of_stopping(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, FS_CITY_SUPERVISED, 2);
	start_trip(&w, 1, 0);
	fs_fleet_inject_fault(w.fleet, 1, FS_DEVICE_THOR, 0, FS_HEALTH_FAILED, 65000, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_IN_TRIP);
	assert_non_null(vt_last(&w.ev, FS_VEV_DISENGAGEMENT, 1));
	assert_non_null(vt_last(&w.ev, FS_VEV_MAINTENANCE_REQUEST, 1));
	fs_fleet_advance(w.fleet, 3600000, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE); /* trip completed */
	/* but no new rider until repaired */
	uint32_t b[64];
	uint32_t nb = vt_route(w.net, COLS, 95, 99, b);
	struct fs_job job = { .id = 7, .trip = b, .trip_len = nb, .board_dwell_s = 0 };
	assert_int_equal(fs_fleet_assign(w.fleet, 1, &job, 3600000, &w.ev), -EPERM);
	assert_string_equal(vt_last(&w.ev, FS_VEV_JOB_DECLINED, 1)->reason,
			    "failed hardware: depot visit first");
	world_down(&w);
}

/* The fault process: same seed and vehicle id, same fault times, however the
 * fleet is composed and advanced; another seed, other times. */
static void record_faults(uint64_t seed, const uint32_t *ids, int n, int64_t tick_ms, uint32_t want,
			  int64_t *times, int cap, int *count)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	for (int k = 1; k < FS_DEVICE_KIND_COUNT; k++) {
		p.degrade_per_h[k] = 2e-3;
		p.fail_per_h[k] = 2e-4;
	}
	p.av_stack_kw = 0.0; /* parked for days without draining */
	world_up(&w, &p, seed);
	for (int i = 0; i < n; i++) {
		assert_true(add(&w, ids[i], FS_CITY_SUPERVISED, 2) >= 0);
	}
	*count = 0;
	for (int64_t t = 0; t <= 200 * 3600000LL; t += tick_ms) {
		fs_vehicle_events_clear(&w.ev);
		fs_fleet_advance(w.fleet, t, &w.ev);
		for (size_t i = 0; i < w.ev.count; i++) {
			const struct fs_vehicle_event *e = &w.ev.items[i];
			if (e->kind == FS_VEV_DEVICE_HEALTH && e->vehicle_id == want && *count < cap &&
			    e->health != FS_HEALTH_OK && e->reason && !strncmp(e->reason, "device", 6)) {
				times[(*count)++] = e->time_ms * 64 + e->device * 16 + e->device_index % 16;
			}
		}
	}
	world_down(&w);
}

static void same_seed_same_fault_times(void **state)
{
	uint32_t many[40], few[2] = { 17, 23 };
	for (uint32_t i = 0; i < 40; i++) {
		many[i] = i + 1;
	}
	int64_t a[64], b[64], c[64];
	int na, nb, nc;
	record_faults(42, many, 40, 1000 * 60, 17, a, 64, &na);
	record_faults(42, few, 2, 1000 * 3600, 17, b, 64, &nb);
	record_faults(43, few, 2, 1000 * 60, 17, c, 64, &nc);
	assert_true(na >= 3); /* 76 devices-worth of rate x 200 h: several faults */
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, (size_t)na * sizeof(a[0]));
	assert_true(nc != na || memcmp(a, c, (size_t)na * sizeof(a[0])) != 0);
}

static void software_rates_drive_ra_and_disengagements(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	p.sw[2].ra_per_1000km = 200.0;         /* one request per 5 km */
	p.sw[2].miles_per_disengagement = 0.0; /* none */
	world_up(&w, &p, 3);
	add(&w, 1, FS_CITY_DRIVERLESS, 2);
	/* drive around the grid's perimeter ten times: 36 km */
	uint32_t loop[64], route[400];
	uint32_t n = vt_route(w.net, COLS, 0, 9, loop);
	n += vt_route(w.net, COLS, 9, 99, loop + n);
	uint32_t back = vt_route(w.net, COLS, 99, 90, loop + n);
	n += back;
	n += vt_route(w.net, COLS, 90, 0, loop + n);
	uint32_t total = 0;
	for (int k = 0; k < 10; k++) {
		memcpy(route + total, loop, n * sizeof(uint32_t));
		total += n;
	}
	/* the vehicle stands on an edge into node 0: a route from node 0 starts fresh */
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, route, total, 0, &w.ev), 0);
	fs_fleet_advance(w.fleet, 3 * 3600000, &w.ev);
	const struct fs_vehicle *v = veh(&w, 1);
	assert_int_equal(v->state, FS_VEHICLE_AVAILABLE);
	assert_float_equal(v->odometer_m, 36000.0, 1.0);
	size_t ra = vt_count(&w.ev, FS_VEV_REMOTE_ASSIST, 1);
	assert_int_equal(ra, v->ra_count);
	assert_true(ra >= 2 && ra <= 16); /* Poisson mean 7.2 */
	/* each request stopped the car for ra_session_s */
	const struct fs_vehicle_event *arr = vt_last(&w.ev, FS_VEV_ARRIVED, 1);
	assert_int_equal(arr->time_ms, 3600000 + (int64_t)ra * (int64_t)(p.ra_session_s * 1000));
	world_down(&w);

	/* disengagements in the supervised phase are events, the car drives on */
	p.sw[2].ra_per_1000km = 0.0;
	p.sw[2].miles_per_disengagement = 3.0; /* every ~4.8 km */
	world_up(&w, &p, 3);
	add(&w, 1, FS_CITY_SUPERVISED, 2);
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, route, total, 0, &w.ev), 0);
	fs_fleet_advance(w.fleet, 3 * 3600000, &w.ev);
	size_t de = vt_count(&w.ev, FS_VEV_DISENGAGEMENT, 1);
	assert_true(de >= 2 && de <= 17);
	assert_int_equal(vt_last(&w.ev, FS_VEV_ARRIVED, 1)->time_ms, 3600000);
	assert_int_equal(fs_fleet_stats(w.fleet)->minimal_risk, 0);
	world_down(&w);

	/* driverless: a disengagement is a minimal-risk stop that RA clears */
	world_up(&w, &p, 3);
	add(&w, 1, FS_CITY_DRIVERLESS, 2);
	assert_int_equal(fs_fleet_reposition(w.fleet, 1, route, total, 0, &w.ev), 0);
	fs_fleet_advance(w.fleet, 5 * 3600000, &w.ev);
	de = vt_count(&w.ev, FS_VEV_DISENGAGEMENT, 1);
	assert_true(de >= 2);
	assert_int_equal(fs_fleet_stats(w.fleet)->minimal_risk, de);
	assert_int_equal(fs_fleet_stats(w.fleet)->tows, 0);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(vt_last(&w.ev, FS_VEV_ARRIVED, 1)->time_ms,
			 3600000 + (int64_t)de * (int64_t)(p.ra_response_s * 1000));
	world_down(&w);
}

static void ota_update_waits_for_a_stop_and_widens_the_odd(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	world_up(&w, &p, 1);
	add(&w, 1, FS_CITY_DRIVERLESS, 0);
	assert_true(veh(&w, 1)->odd_flags & FS_ODD_NO_MOTORWAY);
	start_trip(&w, 1, 0);
	assert_int_equal(fs_fleet_update_software(w.fleet, 1, 2, 61000, &w.ev), 0);
	assert_int_equal(veh(&w, 1)->sw, 0);
	assert_true(veh(&w, 1)->flags & FS_VF_SW_PENDING);
	assert_null(vt_last(&w.ev, FS_VEV_SOFTWARE_UPDATED, 1));
	fs_fleet_advance(w.fleet, 3600000, &w.ev);
	const struct fs_vehicle *v = veh(&w, 1);
	assert_int_equal(v->state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(v->sw, 2);
	assert_false(v->odd_flags & FS_ODD_NO_MOTORWAY);
	const struct fs_vehicle_event *e = vt_last(&w.ev, FS_VEV_SOFTWARE_UPDATED, 1);
	assert_non_null(e);
	assert_float_equal(e->value, 120.0, 0.0);
	/* parked: at once */
	assert_int_equal(fs_fleet_update_software(w.fleet, 1, 1, 3600001, &w.ev), 0);
	assert_int_equal(veh(&w, 1)->sw, 1);
	assert_int_equal(fs_fleet_update_software(w.fleet, 1, 9, 3600002, &w.ev), -EINVAL);
	world_down(&w);
}

static void commissioning_passes_or_is_reworked(void **state)
{
	struct world w;
	struct fs_vehicle_params p = quiet();
	p.commissioning_fail_prob = 1.0;
	world_up(&w, &p, 1);
	struct fs_vehicle_init init = { .id = 1, .phase = FS_CITY_DRIVERLESS, .sw = 2, .home_depot = 0,
					.at_depot = true, .soc = 0.8, .edge = FS_NO_EDGE };
	assert_int_equal(fs_fleet_add(w.fleet, &init, 0), 0);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_DELIVERED);
	assert_int_equal(fs_fleet_commission(w.fleet, 1, 0, &w.ev), 0);
	assert_int_equal(fs_fleet_commission(w.fleet, 1, 1, &w.ev), -EPERM); /* not twice */
	int64_t done = (int64_t)(p.commissioning_h * 3600000);
	fs_fleet_advance(w.fleet, done, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_MAINTENANCE);
	int64_t reworked = done + (int64_t)(p.rework_h * 3600000);
	fs_fleet_advance(w.fleet, reworked, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_COMMISSIONING);
	world_down(&w);

	p.commissioning_fail_prob = 0.0;
	world_up(&w, &p, 1);
	assert_int_equal(fs_fleet_add(w.fleet, &init, 0), 0);
	assert_int_equal(fs_fleet_commission(w.fleet, 1, 0, &w.ev), 0);
	fs_fleet_advance(w.fleet, done - 1, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_COMMISSIONING);
	fs_fleet_advance(w.fleet, done, &w.ev);
	assert_int_equal(veh(&w, 1)->state, FS_VEHICLE_AVAILABLE);
	assert_non_null(vt_last(&w.ev, FS_VEV_COMMISSIONED, 1));
	world_down(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(packing_is_two_bits_per_device),
		cmocka_unit_test(healthy_platform_has_no_consequence),
		cmocka_unit_test(r1_thor_failed_stops_and_needs_a_tow),
		cmocka_unit_test(r2_both_thors_degraded_stop_ra_clears),
		cmocka_unit_test(r3_lidar_and_two_front_cameras_failed),
		cmocka_unit_test(r4_three_front_cameras),
		cmocka_unit_test(r5_lidar_and_front_radar),
		cmocka_unit_test(r6_one_thor_degraded_caps_speed_and_motorways),
		cmocka_unit_test(r7_lidar_failed_daytime_dry_slow),
		cmocka_unit_test(r8_lidar_degraded_no_rain),
		cmocka_unit_test(r9_front_camera_caps_speed),
		cmocka_unit_test(r10_two_other_cameras_daytime_only),
		cmocka_unit_test(r11_radar_no_rain),
		cmocka_unit_test(r12_failed_ultrasonic_needs_depot_only),
		cmocka_unit_test(docs_table_matches_the_code),
		cmocka_unit_test(mrc_cleared_by_remote_assistance_resumes_the_trip),
		cmocka_unit_test(mrc_with_failed_hardware_is_towed_to_maintenance),
		cmocka_unit_test(supervised_vehicle_disengages_instead_of_stopping),
		cmocka_unit_test(same_seed_same_fault_times),
		cmocka_unit_test(software_rates_drive_ra_and_disengagements),
		cmocka_unit_test(ota_update_waits_for_a_stop_and_widens_the_odd),
		cmocka_unit_test(commissioning_passes_or_is_reworked),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
