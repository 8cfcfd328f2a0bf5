/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ride and production codecs: what dispatch and production send is what
 * the vehicle nodes read, through the wire's bytes; and each validity rule
 * refuses what it names.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs_production_msg.h"
#include "fs_ride_msg.h"

/* @b packed and unpacked again, as a receiver gets it. */
static Fleetsim__V1__JobBatch *through_the_wire(const Fleetsim__V1__JobBatch *b)
{
	size_t len = fleetsim__v1__job_batch__get_packed_size(b);
	uint8_t *buf = malloc(len ? len : 1);
	fleetsim__v1__job_batch__pack(b, buf);
	Fleetsim__V1__JobBatch *out = fleetsim__v1__job_batch__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

static void jobs_survive_the_wire(void **state)
{
	struct fs_dispatch_job jobs[3] = {
		{ .job_id = 7, .vehicle_id = 3, .stop_count = 2,
		  .stops = { { .kind = FS_DISPATCH_STOP_PICKUP, .request_id = 11, .edge = 5, .offset_m = 12.5,
			       .point = { 1.0, 2.0 } },
			     { .kind = FS_DISPATCH_STOP_DROPOFF, .request_id = 11, .edge = 9, .offset_m = 0.25,
			       .point = { 3.0, 4.0 } } } },
		{ .job_id = 8, .vehicle_id = 4, .stop_count = 1,
		  .stops = { { .kind = FS_DISPATCH_STOP_CHARGE, .depot = 1 } } },
		{ .job_id = 7, .vehicle_id = 3, .stop_count = 0 }, /* the rider gave up: drop job 7 */
	};
	struct fs_ride_msg m = { 0 };
	assert_int_equal(fs_ride_msg_encode_jobs(&m, jobs, 3), 0);
	Fleetsim__V1__JobBatch *b = through_the_wire(&m.jobs);
	assert_int_equal(b->n_jobs, 3);
	struct fs_ride_limits lim = { .edge_count = 10, .depot_count = 2 };
	for (size_t i = 0; i < 3; i++) {
		struct fs_dispatch_job got;
		assert_null(fs_ride_msg_decode_job(b->jobs[i], &lim, &got));
		assert_int_equal(got.job_id, jobs[i].job_id);
		assert_int_equal(got.vehicle_id, jobs[i].vehicle_id);
		assert_int_equal(got.stop_count, jobs[i].stop_count);
		for (uint32_t k = 0; k < got.stop_count; k++) {
			assert_int_equal(got.stops[k].kind, jobs[i].stops[k].kind);
			assert_int_equal(got.stops[k].request_id, jobs[i].stops[k].request_id);
			if (got.stops[k].kind == FS_DISPATCH_STOP_CHARGE) {
				assert_int_equal(got.stops[k].depot, jobs[i].stops[k].depot);
			} else {
				assert_int_equal(got.stops[k].edge, jobs[i].stops[k].edge);
				assert_true(got.stops[k].offset_m == jobs[i].stops[k].offset_m);
			}
		}
	}
	/* each rule, on a copy of the first job */
	struct fs_dispatch_job j;
	Fleetsim__V1__Job *bad = b->jobs[0];
	bad->stops[0]->place->edge = 10;
	assert_non_null(strstr(fs_ride_msg_decode_job(bad, &lim, &j), "off the network"));
	bad->stops[0]->place->edge = 5;
	bad->stops[0]->place->offset_m = -1.0f;
	assert_non_null(strstr(fs_ride_msg_decode_job(bad, &lim, &j), "off the network"));
	bad->stops[0]->place->offset_m = NAN;
	assert_non_null(strstr(fs_ride_msg_decode_job(bad, &lim, &j), "off the network"));
	bad->stops[0]->place->offset_m = 1.0f;
	bad->stops[1]->kind = FLEETSIM__V1__STOP_KIND__STOP_KIND_REPOSITION;
	assert_non_null(strstr(fs_ride_msg_decode_job(bad, &lim, &j), "drop-off"));
	bad->stops[1]->kind = 42;
	assert_non_null(strstr(fs_ride_msg_decode_job(bad, &lim, &j), "unknown kind"));
	bad->stops[1]->kind = FLEETSIM__V1__STOP_KIND__STOP_KIND_DROPOFF;
	bad->job_id = 0;
	assert_non_null(strstr(fs_ride_msg_decode_job(bad, &lim, &j), "without an id"));
	b->jobs[1]->stops[0]->depot = 2;
	assert_non_null(strstr(fs_ride_msg_decode_job(b->jobs[1], &lim, &j), "depot"));
	b->jobs[2]->replaces_current = false;
	assert_non_null(strstr(fs_ride_msg_decode_job(b->jobs[2], &lim, &j), "cancels nothing"));
	fleetsim__v1__job_batch__free_unpacked(b, NULL);
	fs_ride_msg_finish(&m);
}

static void trip_events_keep_their_reason(void **state)
{
	struct fs_dispatch_trip_event ev = { .request_id = 5, .t_ms = 1000, .vehicle_id = FS_DISPATCH_NONE,
					     .kind = FS_DISPATCH_EV_CANCELLED, .reason = FS_DISPATCH_REASON_NO_SHOW };
	struct fs_ride_msg m = { 0 };
	assert_int_equal(fs_ride_msg_encode_trip_events(&m, &ev, 1), 0);
	struct fs_dispatch_trip_event got;
	assert_null(fs_ride_msg_decode_trip_event(m.trips.events[0], &got));
	assert_int_equal(got.reason, FS_DISPATCH_REASON_NO_SHOW);
	assert_int_equal(got.kind, FS_DISPATCH_EV_CANCELLED);
	assert_int_equal(got.vehicle_id, FS_DISPATCH_NONE);
	m.trips.events[0]->reason = (char *)"bored";
	assert_non_null(fs_ride_msg_decode_trip_event(m.trips.events[0], &got));
	m.trips.events[0]->reason = (char *)"";
	m.trips.events[0]->kind = 99;
	assert_non_null(fs_ride_msg_decode_trip_event(m.trips.events[0], &got));
	fs_ride_msg_finish(&m);
}

static void deliveries_survive_the_wire(void **state)
{
	struct fs_delivery d[2] = {
		{ .vehicle_id = 40, .programme = "stellantis-k0", .oem = "Stellantis", .city = "atlanta", .depot = 1,
		  .sw_version = 120, .city_phase = 2, .build_day = 21000, .battery_kwh = 87.0, .kwh_per_km = 0.2,
		  .max_charge_kw = 150.0, .seats = 5 },
		{ .vehicle_id = 41, .programme = "", .city_phase = 0 },
	};
	uint32_t retired[] = { 3 };
	struct fs_ota_update up = { 7, 130 };
	struct fs_delivery_batch b = { .deliveries = d, .delivery_count = 1, .in_service = &d[1],
				       .in_service_count = 1, .retired = retired, .retired_count = 1,
				       .updates = &up, .update_count = 1 };
	struct fs_production_msg m = { 0 };
	assert_int_equal(fs_production_msg_encode_deliveries(&m, &b), 0);
	assert_int_equal(m.batch.n_deliveries, 1);
	assert_int_equal(m.batch.n_in_service, 1);
	assert_int_equal(m.batch.retired_vehicle_ids[0], 3);
	assert_int_equal(m.batch.software_updates[0]->sw_version, 130);
	struct fs_delivery got;
	assert_null(fs_production_msg_decode_delivery(m.batch.deliveries[0], &got));
	assert_int_equal(got.vehicle_id, 40);
	assert_string_equal(got.programme, "stellantis-k0");
	assert_int_equal(got.city_phase, 2);
	assert_int_equal(got.seats, 5);
	assert_true(fabs(got.battery_kwh - 87.0) < 1e-4);
	assert_null(fs_production_msg_decode_delivery(m.batch.in_service[0], &got));
	assert_string_equal(got.programme, "");
	m.batch.deliveries[0]->city_phase = 7;
	assert_non_null(strstr(fs_production_msg_decode_delivery(m.batch.deliveries[0], &got), "city phase"));
	m.batch.deliveries[0]->city_phase = 2;
	m.batch.deliveries[0]->battery_kwh = -1.0f;
	assert_non_null(fs_production_msg_decode_delivery(m.batch.deliveries[0], &got));
	m.batch.deliveries[0]->battery_kwh = NAN;
	assert_non_null(fs_production_msg_decode_delivery(m.batch.deliveries[0], &got));
	fs_production_msg_finish(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jobs_survive_the_wire),
		cmocka_unit_test(trip_events_keep_their_reason),
		cmocka_unit_test(deliveries_survive_the_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
