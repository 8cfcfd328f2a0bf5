/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vehicle codec (services/common/fs_vehicle_msg.c): records and events
 * packed as protobuf and decoded again are what was sent, bit for bit where a
 * reader computes positions from them; and every validity rule refuses a
 * batch with its reason, leaving nothing decoded.
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

#include "fs_vehicle_msg.h"

#define T0 1843491600000LL /* 2028-06-01T17:00:00Z */

static const struct fs_vehicle_batch_info INFO = {
	.shard = 1, .shard_count = 4, .origin_lat = 33.7489954, .origin_lon = -84.3879824, .full = false,
};

/* Full records and moves of the kinds a shard sends, with values that do not round-trip by luck. */
static size_t sample_records(struct fs_vehicle_record *r)
{
	size_t n = 0;
	/* driving: a segment that began 2.345 s ago and ends in 7.891 s, odometer with decimetres */
	r[n++] = (struct fs_vehicle_record){
		.t_ms = T0, .soc_ms = T0, .seg_start_ms = T0 - 2345, .seg_end_ms = T0 + 7891, .odometer_m = 12345.6,
		.job_id = 900000000001ULL, .id = 5, .edge = 4711, .health_flags = FS_HEALTH_SUMMARY_DEGRADED,
		.sw_version = 120, .seg_from_m = 0.1f, .seg_to_m = 151.37f, .soc = 0.61803f, .soc_per_h = -0.0421f,
		.x = -1250.123f, .y = 310.456f, .odd_flags = 0x8001, .state = FS_VEHICLE_IN_TRIP,
		.kind = FS_VEHICLE_RECORD_FULL,
	};
	/* standing for good on an edge */
	r[n++] = fs_vehicle_record_standing(9, FS_VEHICLE_AVAILABLE, 12, 33.3, 1.0e-3, -9000.5, 1.0, T0);
	r[n - 1].odometer_m = 0.0;
	/* off the network, charging; a segment that starts later than the batch */
	r[n++] = (struct fs_vehicle_record){
		.t_ms = T0, .soc_ms = T0, .seg_start_ms = T0 + 1500, .seg_end_ms = FS_NEVER_MS, .odometer_m = 98765432.1,
		.id = 100003, .edge = FS_NO_EDGE, .sw_version = 110, .soc = 0.2f, .soc_per_h = 0.75f,
		.state = FS_VEHICLE_CHARGING, .kind = FS_VEHICLE_RECORD_FULL,
	};
	/* moves: the next edge of a route */
	r[n++] = (struct fs_vehicle_record){
		.t_ms = T0, .seg_start_ms = T0 - 999, .seg_end_ms = T0 + 11001, .odometer_m = 12497.0, .id = 5,
		.edge = 4712, .seg_from_m = 0.0f, .seg_to_m = 88.125f, .x = -1100.0625f, .y = 310.5f,
		.kind = FS_VEHICLE_RECORD_MOVE,
	};
	r[n++] = (struct fs_vehicle_record){
		.t_ms = T0, .seg_start_ms = T0, .seg_end_ms = T0, .odometer_m = 0.1, .id = 17, .edge = 0,
		.seg_from_m = 3.0f, .seg_to_m = 3.0f, .x = 7.25f, .y = 0.0f, .kind = FS_VEHICLE_RECORD_MOVE,
	};
	return n;
}

/* Through the wire as an envelope would carry it: pack, unpack, decode. */
static const char *wire_records(const Fleetsim__V1__VehicleStateBatch *b, int64_t t_ms, struct fs_vehicle_records *out)
{
	size_t len = fleetsim__v1__vehicle_state_batch__get_packed_size(b);
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	fleetsim__v1__vehicle_state_batch__pack(b, buf);
	Fleetsim__V1__VehicleStateBatch *back = fleetsim__v1__vehicle_state_batch__unpack(NULL, len, buf);
	assert_non_null(back);
	const char *why = fs_vehicle_msg_decode_records(back, t_ms, out);
	fleetsim__v1__vehicle_state_batch__free_unpacked(back, NULL);
	free(buf);
	return why;
}

static void assert_same_bits(float a, float b)
{
	assert_memory_equal(&a, &b, sizeof(a));
}

static void records_survive_the_wire(void **state)
{
	(void)state;
	struct fs_vehicle_record sent[8];
	size_t n = sample_records(sent);
	struct fs_vehicle_msg m = { 0 };
	assert_int_equal(fs_vehicle_msg_encode_records(&m, &INFO, sent, n, T0), 0);
	assert_int_equal(m.batch.n_vehicle_id, 3);
	assert_int_equal(m.batch.n_move_vehicle_id, 2);
	struct fs_vehicle_records got = { 0 };
	const char *why = wire_records(&m.batch, T0, &got);
	assert_null(why);
	assert_int_equal(got.count, n);
	assert_int_equal(got.info.shard, INFO.shard);
	assert_int_equal(got.info.shard_count, INFO.shard_count);
	assert_true(got.info.origin_lat == INFO.origin_lat && got.info.origin_lon == INFO.origin_lon);
	assert_false(got.info.full);
	/* sample_records() lists full records first, then moves: the decoded order */
	for (size_t i = 0; i < n; i++) {
		const struct fs_vehicle_record *a = &sent[i], *b = &got.items[i];
		assert_int_equal(b->kind, a->kind);
		assert_int_equal(b->id, a->id);
		assert_int_equal(b->t_ms, T0);
		assert_int_equal(b->edge, a->edge);
		assert_int_equal(b->seg_start_ms, a->seg_start_ms);
		assert_int_equal(b->seg_end_ms, a->seg_end_ms);
		assert_same_bits(b->seg_from_m, a->seg_from_m);
		assert_same_bits(b->seg_to_m, a->seg_to_m);
		assert_same_bits(b->x, a->x);
		assert_same_bits(b->y, a->y);
		/* the odometer travels in decimetres */
		assert_true(b->odometer_m == round(a->odometer_m * 10.0) / 10.0);
		if (a->kind == FS_VEHICLE_RECORD_MOVE) {
			continue;
		}
		assert_int_equal(b->soc_ms, T0);
		assert_int_equal(b->state, a->state);
		assert_int_equal(b->job_id, a->job_id);
		assert_int_equal(b->health_flags, a->health_flags);
		assert_int_equal(b->odd_flags, a->odd_flags);
		assert_int_equal(b->sw_version, a->sw_version);
		assert_same_bits(b->soc, a->soc);
		assert_same_bits(b->soc_per_h, a->soc_per_h);
	}
	/* a reader places a vehicle from the decoded records as the vehicle does from its own */
	for (int64_t dt = -3000; dt <= 12000; dt += 250) {
		assert_true(fs_vehicle_record_offset_at(&got.items[0], T0 + dt) ==
			    fs_vehicle_record_offset_at(&sent[0], T0 + dt));
	}
	fs_vehicle_records_finish(&got);
	fs_vehicle_msg_finish(&m);
}

static void times_are_relative_to_the_batch(void **state)
{
	(void)state;
	struct fs_vehicle_record sent[8];
	size_t n = sample_records(sent);
	struct fs_vehicle_msg m = { 0 };
	assert_int_equal(fs_vehicle_msg_encode_records(&m, &INFO, sent, n, T0), 0);
	/* small varints on the wire, not Unix milliseconds */
	assert_int_equal(m.batch.seg_start_ms[0], -2345);
	assert_int_equal(m.batch.seg_end_ms[0], 2345 + 7891 + 1);
	assert_int_equal(m.batch.seg_end_ms[1], 0); /* standing for good */
	assert_int_equal(m.batch.move_seg_end_ms[1], 1); /* a segment of no length is not "for good" */
	assert_int_equal(m.batch.odometer_dm[0], 123456);
	/* the same batch read as sent an hour later moves every time with it */
	struct fs_vehicle_records got = { 0 };
	assert_null(wire_records(&m.batch, T0 + 3600000, &got));
	assert_int_equal(got.items[0].seg_start_ms, T0 + 3600000 - 2345);
	assert_int_equal(got.items[0].seg_end_ms, T0 + 3600000 + 7891);
	assert_int_equal(got.items[1].seg_end_ms, FS_NEVER_MS);
	fs_vehicle_records_finish(&got);
	fs_vehicle_msg_finish(&m);
}

static void a_move_merges_into_the_last_full_record(void **state)
{
	(void)state;
	struct fs_vehicle_record sent[8];
	size_t n = sample_records(sent);
	struct fs_vehicle_msg m = { 0 };
	assert_int_equal(fs_vehicle_msg_encode_records(&m, &INFO, sent, n, T0), 0);
	struct fs_vehicle_records got = { 0 };
	assert_null(wire_records(&m.batch, T0, &got));
	struct fs_vehicle_record known = got.items[0];
	assert_int_equal(fs_vehicle_record_merge(&known, true, &got.items[3]), 0); /* vehicle 5's move */
	assert_int_equal(known.edge, 4712);
	assert_int_equal(known.seg_end_ms, T0 + 11001);
	assert_true(known.odometer_m == 12497.0);
	assert_int_equal(known.state, FS_VEHICLE_IN_TRIP); /* what a move does not say stays */
	assert_int_equal(known.job_id, 900000000001ULL);
	assert_same_bits(known.soc, 0.61803f);
	/* a move of a vehicle without a known full record (vehicle 17) cannot be placed */
	struct fs_vehicle_record none = { 0 };
	assert_int_equal(fs_vehicle_record_merge(&none, false, &got.items[4]), -ENOENT);
	assert_int_equal(fs_vehicle_record_merge(&known, true, &got.items[4]), -ENOENT); /* another vehicle's */
	fs_vehicle_records_finish(&got);
	fs_vehicle_msg_finish(&m);
}

/* Decode @m's batch as it stands and expect a refusal naming @reason, with nothing left decoded. */
static void assert_refused(struct fs_vehicle_msg *m, const char *reason)
{
	struct fs_vehicle_records got = { 0 };
	const char *why = fs_vehicle_msg_decode_records(&m->batch, T0, &got);
	if (!why || !strstr(why, reason)) {
		fail_msg("wanted a refusal with \"%s\", got %s", reason, why ? why : "success");
	}
	assert_int_equal(got.count, 0);
	fs_vehicle_records_finish(&got);
}

/* A fresh valid batch of the sample records in @m. */
static void valid(struct fs_vehicle_msg *m)
{
	struct fs_vehicle_record r[8];
	size_t n = sample_records(r);
	assert_int_equal(fs_vehicle_msg_encode_records(m, &INFO, r, n, T0), 0);
	struct fs_vehicle_records got = { 0 };
	assert_null(fs_vehicle_msg_decode_records(&m->batch, T0, &got));
	fs_vehicle_records_finish(&got);
}

static void bad_batches_are_refused_with_their_reason(void **state)
{
	(void)state;
	struct fs_vehicle_msg m = { 0 };
	valid(&m);
	m.batch.n_soc--;
	assert_refused(&m, "record arrays of different lengths");
	valid(&m);
	m.batch.n_seg_end_ms++;
	assert_refused(&m, "record arrays of different lengths");
	valid(&m);
	m.batch.n_move_odometer_dm--;
	assert_refused(&m, "move arrays of different lengths");

	valid(&m);
	m.batch.shard = 4; /* of 4: shards are 0..3 */
	assert_refused(&m, "shard outside its shard count");
	valid(&m);
	m.batch.shard = 0;
	m.batch.shard_count = 0;
	assert_refused(&m, "shard outside its shard count");
	valid(&m);
	m.batch.origin_lat = NAN;
	assert_refused(&m, "non-finite origin");

	valid(&m);
	m.state[2] = (Fleetsim__V1__VehicleState)FS_VEHICLE_STATE_COUNT;
	assert_refused(&m, "unknown vehicle state");

	const float bad[] = { NAN, INFINITY, -INFINITY };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		for (size_t f = 0; f < 6; f++) {
			valid(&m);
			float *fields[] = { m.x, m.y, m.from, m.to, m.soc, m.soc_rate };
			fields[f][1] = bad[k];
			assert_refused(&m, "a record with a non-finite or out-of-range");
		}
		for (size_t f = 0; f < 4; f++) {
			valid(&m);
			float *fields[] = { m.move_x, m.move_y, m.move_from, m.move_to };
			fields[f][0] = bad[k];
			assert_refused(&m, "a move with a non-finite or negative");
		}
	}
	/* offsets along an edge are never negative; a charge is 0..1 */
	valid(&m);
	m.from[0] = -0.5f;
	assert_refused(&m, "a record with a non-finite or out-of-range");
	valid(&m);
	m.to[0] = -0.5f;
	assert_refused(&m, "a record with a non-finite or out-of-range");
	valid(&m);
	m.move_from[1] = -1.0f;
	assert_refused(&m, "a move with a non-finite or negative");
	valid(&m);
	m.move_to[0] = -1.0f;
	assert_refused(&m, "a move with a non-finite or negative");
	valid(&m);
	m.soc[0] = 1.0001f;
	assert_refused(&m, "a record with a non-finite or out-of-range");
	valid(&m);
	m.soc[0] = -0.0001f;
	assert_refused(&m, "a record with a non-finite or out-of-range");

	valid(&m);
	m.odd[0] = 0x10000;
	assert_refused(&m, "out-of-range flags or odometer");
	valid(&m);
	m.odo[1] = UINT64_C(1) << 53;
	assert_refused(&m, "out-of-range flags or odometer");
	valid(&m);
	m.move_odo[0] = UINT64_MAX;
	assert_refused(&m, "a move with a non-finite or negative position, segment or odometer");
	valid(&m);
	m.start[0] = INT64_MIN;
	assert_refused(&m, "a record whose segment times are out of range");
	valid(&m);
	m.end[0] = UINT64_MAX;
	assert_refused(&m, "a record whose segment times are out of range");
	valid(&m);
	m.move_start[1] = INT64_MAX;
	assert_refused(&m, "a move whose segment times are out of range");
	fs_vehicle_msg_finish(&m);
}

static const struct fs_vehicle_event EVENTS[] = {
	{ .time_ms = T0 - 500, .job_id = 20, .reason = "job accepted", .vehicle_id = 5, .kind = FS_VEV_STATE_CHANGED,
	  .from_state = FS_VEHICLE_AVAILABLE, .to_state = FS_VEHICLE_TO_PICKUP },
	{ .time_ms = T0 - 250, .vehicle_id = 100003, .kind = FS_VEV_DEVICE_HEALTH, .device = FS_DEVICE_CAMERA,
	  .device_index = 13, .health = FS_HEALTH_FAILED },
	{ .time_ms = T0, .value = 0.15, .vehicle_id = 9, .kind = FS_VEV_ODD_CHANGED },
};
#define N_EVENTS (sizeof(EVENTS) / sizeof(EVENTS[0]))

/* Pack @m's events, unpack and decode them into @out; returns the reason of a refusal or NULL. */
static const char *wire_events(struct fs_vehicle_msg *m, struct fs_vehicle_event **out, size_t *cap, size_t *count)
{
	size_t len = fleetsim__v1__vehicle_event_batch__get_packed_size(&m->events);
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	fleetsim__v1__vehicle_event_batch__pack(&m->events, buf);
	Fleetsim__V1__VehicleEventBatch *back = fleetsim__v1__vehicle_event_batch__unpack(NULL, len, buf);
	assert_non_null(back);
	const char *why = fs_vehicle_msg_decode_events(back, out, cap, count);
	if (!why) {
		/* reasons point into the message: compare before it goes */
		for (size_t i = 0; i < *count; i++) {
			if (EVENTS[i].reason) {
				assert_string_equal((*out)[i].reason, EVENTS[i].reason);
			} else {
				assert_null((*out)[i].reason);
			}
		}
	}
	fleetsim__v1__vehicle_event_batch__free_unpacked(back, NULL);
	free(buf);
	return why;
}

static void events_survive_the_wire(void **state)
{
	(void)state;
	struct fs_vehicle_msg m = { 0 };
	assert_int_equal(fs_vehicle_msg_encode_events(&m, 3, EVENTS, N_EVENTS), 0);
	struct fs_vehicle_event *got = NULL;
	size_t cap = 0, count = 0;
	assert_null(wire_events(&m, &got, &cap, &count));
	assert_int_equal(count, N_EVENTS);
	for (size_t i = 0; i < N_EVENTS; i++) {
		const struct fs_vehicle_event *a = &EVENTS[i], *b = &got[i];
		assert_int_equal(b->time_ms, a->time_ms);
		assert_int_equal(b->job_id, a->job_id);
		assert_true(b->value == a->value);
		assert_int_equal(b->vehicle_id, a->vehicle_id);
		assert_int_equal(b->kind, a->kind);
		assert_int_equal(b->from_state, a->from_state);
		assert_int_equal(b->to_state, a->to_state);
		assert_int_equal(b->device, a->device);
		assert_int_equal(b->device_index, a->device_index);
		assert_int_equal(b->health, a->health);
	}
	free(got);
	fs_vehicle_msg_finish(&m);
}

static void assert_event_refused(struct fs_vehicle_event e, const char *reason)
{
	struct fs_vehicle_msg m = { 0 };
	assert_int_equal(fs_vehicle_msg_encode_events(&m, 0, &e, 1), 0);
	struct fs_vehicle_event *got = NULL;
	size_t cap = 0, count = 7;
	const char *why = fs_vehicle_msg_decode_events(&m.events, &got, &cap, &count);
	if (!why || !strstr(why, reason)) {
		fail_msg("wanted a refusal with \"%s\", got %s", reason, why ? why : "success");
	}
	assert_int_equal(count, 0);
	free(got);
	fs_vehicle_msg_finish(&m);
}

static void bad_events_are_refused_with_their_reason(void **state)
{
	(void)state;
	struct fs_vehicle_event e = EVENTS[1];
	e.kind = 0;
	assert_event_refused(e, "an event of an unknown kind");
	e.kind = FS_VEV_ODD_CHANGED + 1;
	assert_event_refused(e, "an event of an unknown kind");
	e = EVENTS[0];
	e.from_state = FS_VEHICLE_STATE_COUNT;
	assert_event_refused(e, "an event with an unknown vehicle state");
	e = EVENTS[0];
	e.to_state = 200;
	assert_event_refused(e, "an event with an unknown vehicle state");
	e = EVENTS[1];
	e.device = FS_DEVICE_KIND_COUNT;
	assert_event_refused(e, "an event naming an unknown device or health");
	e = EVENTS[1];
	e.health = FS_HEALTH_FAILED + 1;
	assert_event_refused(e, "an event naming an unknown device or health");
	e = EVENTS[1];
	e.device_index = (uint8_t)fs_platform_kind_size(FS_DEVICE_CAMERA); /* 14 cameras: 0..13 */
	assert_event_refused(e, "an event naming an unknown device or health");
	e = EVENTS[1];
	e.device = FS_DEVICE_LIDAR;
	e.device_index = 1; /* one lidar */
	assert_event_refused(e, "an event naming an unknown device or health");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(records_survive_the_wire),
		cmocka_unit_test(times_are_relative_to_the_batch),
		cmocka_unit_test(a_move_merges_into_the_last_full_record),
		cmocka_unit_test(bad_batches_are_refused_with_their_reason),
		cmocka_unit_test(events_survive_the_wire),
		cmocka_unit_test(bad_events_are_refused_with_their_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
