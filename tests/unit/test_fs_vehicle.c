/* SPDX-License-Identifier: Apache-2.0 */
/* Vehicle lifecycle state machine: every legal transition, refusals with reasons, guards. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fs/vehicle.h"

/* The legal moves as docs/vehicle.md lists them, written out independently of
 * the table in fs_vehicle.c so that a change to either shows up here. */
static const int legal[][2] = {
	{ FS_VEHICLE_DELIVERED, FS_VEHICLE_COMMISSIONING },
	{ FS_VEHICLE_DELIVERED, FS_VEHICLE_OUT_OF_SERVICE },
	{ FS_VEHICLE_COMMISSIONING, FS_VEHICLE_AVAILABLE },
	{ FS_VEHICLE_COMMISSIONING, FS_VEHICLE_MAINTENANCE },
	{ FS_VEHICLE_COMMISSIONING, FS_VEHICLE_OUT_OF_SERVICE },
	{ FS_VEHICLE_AVAILABLE, FS_VEHICLE_TO_PICKUP },
	{ FS_VEHICLE_AVAILABLE, FS_VEHICLE_REPOSITIONING },
	{ FS_VEHICLE_AVAILABLE, FS_VEHICLE_TO_CHARGER },
	{ FS_VEHICLE_AVAILABLE, FS_VEHICLE_CHARGING },
	{ FS_VEHICLE_AVAILABLE, FS_VEHICLE_MAINTENANCE },
	{ FS_VEHICLE_AVAILABLE, FS_VEHICLE_OUT_OF_SERVICE },
	{ FS_VEHICLE_AVAILABLE, FS_VEHICLE_MINIMAL_RISK },
	{ FS_VEHICLE_TO_PICKUP, FS_VEHICLE_WAITING_FOR_RIDER },
	{ FS_VEHICLE_TO_PICKUP, FS_VEHICLE_AVAILABLE },
	{ FS_VEHICLE_TO_PICKUP, FS_VEHICLE_TO_CHARGER },
	{ FS_VEHICLE_TO_PICKUP, FS_VEHICLE_MINIMAL_RISK },
	{ FS_VEHICLE_WAITING_FOR_RIDER, FS_VEHICLE_IN_TRIP },
	{ FS_VEHICLE_WAITING_FOR_RIDER, FS_VEHICLE_AVAILABLE },
	{ FS_VEHICLE_WAITING_FOR_RIDER, FS_VEHICLE_MINIMAL_RISK },
	{ FS_VEHICLE_IN_TRIP, FS_VEHICLE_AVAILABLE },
	{ FS_VEHICLE_IN_TRIP, FS_VEHICLE_MINIMAL_RISK },
	{ FS_VEHICLE_REPOSITIONING, FS_VEHICLE_AVAILABLE },
	{ FS_VEHICLE_REPOSITIONING, FS_VEHICLE_TO_PICKUP },
	{ FS_VEHICLE_REPOSITIONING, FS_VEHICLE_TO_CHARGER },
	{ FS_VEHICLE_REPOSITIONING, FS_VEHICLE_MAINTENANCE },
	{ FS_VEHICLE_REPOSITIONING, FS_VEHICLE_MINIMAL_RISK },
	{ FS_VEHICLE_TO_CHARGER, FS_VEHICLE_CHARGING },
	{ FS_VEHICLE_TO_CHARGER, FS_VEHICLE_AVAILABLE },
	{ FS_VEHICLE_TO_CHARGER, FS_VEHICLE_MAINTENANCE },
	{ FS_VEHICLE_TO_CHARGER, FS_VEHICLE_MINIMAL_RISK },
	{ FS_VEHICLE_CHARGING, FS_VEHICLE_AVAILABLE },
	{ FS_VEHICLE_CHARGING, FS_VEHICLE_MAINTENANCE },
	{ FS_VEHICLE_CHARGING, FS_VEHICLE_OUT_OF_SERVICE },
	{ FS_VEHICLE_MAINTENANCE, FS_VEHICLE_AVAILABLE },
	{ FS_VEHICLE_MAINTENANCE, FS_VEHICLE_COMMISSIONING },
	{ FS_VEHICLE_MAINTENANCE, FS_VEHICLE_OUT_OF_SERVICE },
	{ FS_VEHICLE_OUT_OF_SERVICE, FS_VEHICLE_MAINTENANCE },
	{ FS_VEHICLE_MINIMAL_RISK, FS_VEHICLE_AVAILABLE },
	{ FS_VEHICLE_MINIMAL_RISK, FS_VEHICLE_TO_PICKUP },
	{ FS_VEHICLE_MINIMAL_RISK, FS_VEHICLE_WAITING_FOR_RIDER },
	{ FS_VEHICLE_MINIMAL_RISK, FS_VEHICLE_IN_TRIP },
	{ FS_VEHICLE_MINIMAL_RISK, FS_VEHICLE_REPOSITIONING },
	{ FS_VEHICLE_MINIMAL_RISK, FS_VEHICLE_TO_CHARGER },
	{ FS_VEHICLE_MINIMAL_RISK, FS_VEHICLE_MAINTENANCE },
};
#define N_LEGAL (sizeof(legal) / sizeof(legal[0]))

static bool is_legal(int from, int to)
{
	for (size_t i = 0; i < N_LEGAL; i++) {
		if (legal[i][0] == from && legal[i][1] == to) {
			return true;
		}
	}
	return false;
}

static struct fs_vehicle_params params;

static int setup(void **state)
{
	fs_vehicle_params_defaults(&params);
	return 0;
}

static void make(struct fs_vehicle *v, uint32_t id)
{
	struct fs_vehicle_init init = {
		.id = id,
		.state = FS_VEHICLE_AVAILABLE,
		.phase = FS_CITY_DRIVERLESS,
		.sw = 2,
		.home_depot = 0,
		.at_depot = true,
		.soc = 0.8,
		.edge = 0,
	};
	assert_int_equal(fs_vehicle_init(v, &params, 42, &init, 1000), 0);
}

/* A vehicle in @from that satisfies every guard of every move out of it. */
static void ready(struct fs_vehicle *v, int from, int to)
{
	make(v, 7);
	v->state = (uint8_t)from;
	v->job_id = 99;
	v->flags |= FS_VF_AT_DEPOT | FS_VF_COMMISSIONED | FS_VF_REWORK;
	v->resume_state = (uint8_t)to;
	v->mrc_cause = 0;
}

static void every_legal_transition_applies_with_an_event(void **state)
{
	int applied = 0;
	for (size_t i = 0; i < N_LEGAL; i++) {
		struct fs_vehicle v;
		struct fs_vehicle_events ev = { 0 };
		int from = legal[i][0], to = legal[i][1];
		ready(&v, from, to);
		assert_true(fs_vehicle_transition_allowed(from, to));
		assert_null(fs_vehicle_transition_refusal(&v, to));
		assert_int_equal(fs_vehicle_transition(&v, to, 2000, &ev), 0);
		assert_int_equal(v.state, to);
		assert_int_equal(v.state_since_ms, 2000);
		assert_int_equal(ev.count, 1);
		assert_int_equal(ev.items[0].kind, FS_VEV_STATE_CHANGED);
		assert_int_equal(ev.items[0].from_state, from);
		assert_int_equal(ev.items[0].to_state, to);
		assert_int_equal(ev.items[0].vehicle_id, 7);
		assert_int_equal(ev.items[0].time_ms, 2000);
		fs_vehicle_events_finish(&ev);
		applied++;
	}
	assert_int_equal(applied, 44);
}

static void every_other_pair_is_refused_with_a_reason(void **state)
{
	int refused = 0;
	for (int from = 1; from < FS_VEHICLE_STATE_COUNT; from++) {
		for (int to = 1; to < FS_VEHICLE_STATE_COUNT; to++) {
			if (is_legal(from, to)) {
				continue;
			}
			struct fs_vehicle v, before;
			struct fs_vehicle_events ev = { 0 };
			ready(&v, from, to);
			before = v;
			assert_false(fs_vehicle_transition_allowed(from, to));
			assert_int_equal(fs_vehicle_transition(&v, to, 2000, &ev), -EPERM);
			assert_memory_equal(&v, &before, sizeof(v)); /* nothing applied */
			assert_int_equal(ev.count, 1);
			assert_int_equal(ev.items[0].kind, FS_VEV_TRANSITION_REFUSED);
			assert_int_equal(ev.items[0].from_state, from);
			assert_int_equal(ev.items[0].to_state, to);
			assert_string_equal(ev.items[0].reason, "not in the transition table");
			fs_vehicle_events_finish(&ev);
			refused++;
		}
	}
	assert_int_equal(refused, 12 * 12 - 44); /* includes every self-transition */
	/* out-of-range states */
	struct fs_vehicle v;
	struct fs_vehicle_events ev = { 0 };
	make(&v, 1);
	assert_int_equal(fs_vehicle_transition(&v, 0, 2000, &ev), -EPERM);
	assert_int_equal(fs_vehicle_transition(&v, FS_VEHICLE_STATE_COUNT, 2000, &ev), -EPERM);
	assert_int_equal(ev.count, 2);
	assert_string_equal(ev.items[1].reason, "unknown state");
	assert_int_equal(ev.items[1].to_state, 0);
	fs_vehicle_events_finish(&ev);
	assert_false(fs_vehicle_transition_allowed(0, 1));
	assert_false(fs_vehicle_transition_allowed(1, 99));
}

/* Try @to from a prepared vehicle and expect refusal @why. */
static void expect_refused(struct fs_vehicle *v, int to, const char *why)
{
	struct fs_vehicle_events ev = { 0 };
	int from = v->state;
	assert_int_equal(fs_vehicle_transition(v, to, 5000, &ev), -EPERM);
	assert_int_equal(v->state, from);
	assert_int_equal(ev.count, 1);
	assert_int_equal(ev.items[0].kind, FS_VEV_TRANSITION_REFUSED);
	assert_string_equal(ev.items[0].reason, why);
	fs_vehicle_events_finish(&ev);
}

static void guards_refuse_with_reasons(void **state)
{
	struct fs_vehicle v;

	ready(&v, FS_VEHICLE_AVAILABLE, 0);
	v.job_id = 0;
	expect_refused(&v, FS_VEHICLE_TO_PICKUP, "no job");

	ready(&v, FS_VEHICLE_AVAILABLE, 0);
	v.phase = FS_CITY_DATA_COLLECTION;
	expect_refused(&v, FS_VEHICLE_TO_PICKUP, "no riders in the data-collection phase");
	assert_int_equal(fs_vehicle_transition(&v, FS_VEHICLE_REPOSITIONING, 5000, NULL), 0);

	ready(&v, FS_VEHICLE_AVAILABLE, 0);
	fs_platform_set(&v.platform, FS_DEVICE_ULTRASONIC, 3, FS_HEALTH_FAILED);
	expect_refused(&v, FS_VEHICLE_TO_PICKUP, "failed hardware: depot visit first");

	ready(&v, FS_VEHICLE_AVAILABLE, 0);
	v.flags &= (uint16_t)~FS_VF_AT_DEPOT;
	expect_refused(&v, FS_VEHICLE_CHARGING, "not at a depot");
	expect_refused(&v, FS_VEHICLE_MAINTENANCE, "not at a depot");
	expect_refused(&v, FS_VEHICLE_OUT_OF_SERVICE, "not at a depot");

	ready(&v, FS_VEHICLE_COMMISSIONING, 0);
	v.flags &= (uint16_t)~FS_VF_COMMISSIONED;
	expect_refused(&v, FS_VEHICLE_AVAILABLE, "commissioning not complete");

	ready(&v, FS_VEHICLE_MAINTENANCE, 0);
	fs_platform_set(&v.platform, FS_DEVICE_RADAR, 0, FS_HEALTH_FAILED);
	expect_refused(&v, FS_VEHICLE_AVAILABLE, "repair not complete");

	ready(&v, FS_VEHICLE_MAINTENANCE, 0);
	v.flags &= (uint16_t)~FS_VF_REWORK;
	expect_refused(&v, FS_VEHICLE_COMMISSIONING, "only rework returns to commissioning");

	ready(&v, FS_VEHICLE_WAITING_FOR_RIDER, 0);
	v.job_id = 0;
	expect_refused(&v, FS_VEHICLE_IN_TRIP, "no job");

	/* a driverless vehicle whose platform forces a stop may not drive on ... */
	ready(&v, FS_VEHICLE_AVAILABLE, 0);
	fs_platform_set(&v.platform, FS_DEVICE_THOR, 0, FS_HEALTH_DEGRADED);
	fs_platform_set(&v.platform, FS_DEVICE_THOR, 1, FS_HEALTH_DEGRADED);
	expect_refused(&v, FS_VEHICLE_REPOSITIONING, "device faults force a minimal-risk stop");
	/* ... but a safety driver can */
	v.phase = FS_CITY_SUPERVISED;
	assert_int_equal(fs_vehicle_transition(&v, FS_VEHICLE_REPOSITIONING, 5000, NULL), 0);
}

static void minimal_risk_remembers_and_only_resumes_when_cleared(void **state)
{
	struct fs_vehicle v;
	struct fs_vehicle_events ev = { 0 };
	ready(&v, FS_VEHICLE_IN_TRIP, 0);
	assert_int_equal(fs_vehicle_transition(&v, FS_VEHICLE_MINIMAL_RISK, 3000, &ev), 0);
	assert_int_equal(v.resume_state, FS_VEHICLE_IN_TRIP);
	assert_int_equal(v.mrc_count, 1);
	v.mrc_cause = FS_MRC_SOFTWARE;
	expect_refused(&v, FS_VEHICLE_IN_TRIP, "minimal-risk cause not cleared");
	expect_refused(&v, FS_VEHICLE_TO_PICKUP, "only the interrupted state can resume");
	v.mrc_cause = 0;
	v.flags &= (uint16_t)~FS_VF_AT_DEPOT;
	expect_refused(&v, FS_VEHICLE_MAINTENANCE, "not at a depot"); /* only after the tow */
	assert_int_equal(fs_vehicle_transition(&v, FS_VEHICLE_IN_TRIP, 6000, &ev), 0);
	fs_vehicle_events_finish(&ev);
}

static void time_may_not_go_backwards(void **state)
{
	struct fs_vehicle v;
	make(&v, 3);
	assert_int_equal(fs_vehicle_transition(&v, FS_VEHICLE_REPOSITIONING, 999, NULL), -EINVAL);
	assert_int_equal(v.state, FS_VEHICLE_AVAILABLE);
}

static void transition_accounts_energy_up_to_now(void **state)
{
	struct fs_vehicle v;
	make(&v, 3); /* available: the AV stack draws 0.45 kW */
	double kwh0 = v.battery_kwh;
	assert_int_equal(fs_vehicle_transition(&v, FS_VEHICLE_REPOSITIONING, 1000 + 3600000, NULL), 0);
	assert_float_equal(v.battery_kwh, kwh0 - params.av_stack_kw, 1e-9);
	assert_int_equal(v.op_ms, 3600000);
}

static void init_validates(void **state)
{
	struct fs_vehicle v;
	struct fs_vehicle_init init = { .id = 1, .soc = 0.5, .edge = FS_NO_EDGE,
					.home_depot = FS_NO_DEPOT };
	assert_int_equal(fs_vehicle_init(&v, &params, 1, &init, 0), 0);
	assert_int_equal(v.state, FS_VEHICLE_DELIVERED);
	assert_int_equal(v.odd_flags, params.sw[0].odd_flags);
	init.soc = 1.5;
	assert_int_equal(fs_vehicle_init(&v, &params, 1, &init, 0), -EINVAL);
	init.soc = 0.5;
	init.sw = (uint8_t)params.sw_count;
	assert_int_equal(fs_vehicle_init(&v, &params, 1, &init, 0), -EINVAL);
	init.sw = 0;
	init.state = FS_VEHICLE_IN_TRIP;
	assert_int_equal(fs_vehicle_init(&v, &params, 1, &init, 0), -EINVAL);
	init.state = 0;
	init.at_depot = true; /* at which depot? */
	assert_int_equal(fs_vehicle_init(&v, &params, 1, &init, 0), -EINVAL);
}

static void names_and_event_list(void **state)
{
	assert_string_equal(fs_vehicle_state_name(FS_VEHICLE_MINIMAL_RISK), "minimal_risk");
	assert_string_equal(fs_vehicle_state_name(FS_VEHICLE_IN_TRIP), "in_trip");
	assert_string_equal(fs_vehicle_state_name(77), "?");
	assert_string_equal(fs_vehicle_event_kind_name(FS_VEV_CHARGE_REQUEST), "charge_request");
	assert_string_equal(fs_vehicle_event_kind_name(0), "?");
	struct fs_vehicle_events ev = { 0 };
	struct fs_vehicle_event e = { .kind = FS_VEV_ARRIVED };
	for (int i = 0; i < 1000; i++) {
		e.vehicle_id = (uint32_t)i;
		fs_vehicle_events_push(&ev, &e);
	}
	assert_int_equal(ev.count, 1000);
	assert_int_equal(ev.items[999].vehicle_id, 999);
	fs_vehicle_events_clear(&ev);
	assert_int_equal(ev.count, 0);
	fs_vehicle_events_push(NULL, &e); /* allowed */
	fs_vehicle_events_finish(&ev);
	assert_null(ev.items);
}

/* Memory budget: the issue aims at <= 1 KiB per vehicle including the
 * containers; the struct itself must stay well inside that. */
static void vehicle_struct_fits_its_budget(void **state)
{
	assert_true(sizeof(struct fs_vehicle) <= 320);
	assert_int_equal(sizeof(struct fs_platform), 10); /* 38 devices x 2 bits */
}

static void state_hash_covers_state_not_padding(void **state)
{
	struct fs_vehicle a, b;
	make(&a, 5);
	memset(&b, 0xA5, sizeof(b)); /* different padding bytes */
	make(&b, 5);
	assert_int_equal(fs_vehicle_hash(&a, NULL, 0, NULL, 0), fs_vehicle_hash(&b, NULL, 0, NULL, 0));
	b.params = NULL; /* pointers are not state */
	b.heap_pos = 12;
	assert_int_equal(fs_vehicle_hash(&a, NULL, 0, NULL, 0), fs_vehicle_hash(&b, NULL, 0, NULL, 0));
	b.battery_kwh += 1e-9;
	assert_int_not_equal(fs_vehicle_hash(&a, NULL, 0, NULL, 0),
			     fs_vehicle_hash(&b, NULL, 0, NULL, 0));
	uint32_t p1[] = { 1, 2, 3 }, p2[] = { 1, 2, 4 };
	assert_int_not_equal(fs_vehicle_hash(&a, p1, 3, NULL, 0), fs_vehicle_hash(&a, p2, 3, NULL, 0));
	assert_int_not_equal(fs_vehicle_hash(&a, p1, 3, NULL, 0), fs_vehicle_hash(&a, p1, 2, p1 + 2, 1));
	struct fs_vehicle c;
	make(&c, 6); /* another id: another vehicle */
	assert_int_not_equal(fs_vehicle_hash(&a, NULL, 0, NULL, 0), fs_vehicle_hash(&c, NULL, 0, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_legal_transition_applies_with_an_event),
		cmocka_unit_test(every_other_pair_is_refused_with_a_reason),
		cmocka_unit_test(guards_refuse_with_reasons),
		cmocka_unit_test(minimal_risk_remembers_and_only_resumes_when_cleared),
		cmocka_unit_test(time_may_not_go_backwards),
		cmocka_unit_test(transition_accounts_energy_up_to_now),
		cmocka_unit_test(init_validates),
		cmocka_unit_test(names_and_event_list),
		cmocka_unit_test(vehicle_struct_fits_its_budget),
		cmocka_unit_test(state_hash_covers_state_not_padding),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
