/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fleetctl echo's printers, by reflection: zeros print, lists of items and
 * struct-of-arrays batches filter by vehicle, fields select, CSV and JSON
 * carry every record. Uses messages of ride, kpi and traffic protos (no
 * vehicle batch: the printers must not depend on one message's fields).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kpi.pb-c.h"
#include "pbprint.h"
#include "ride.pb-c.h"
#include "traffic.pb-c.h"
#include "vehicle.pb-c.h"

/* Print into a string (caller frees). */
static char *printed(void (*print)(FILE *, const ProtobufCMessage *, const struct pbprint_options *),
		     const ProtobufCMessage *msg, const struct pbprint_options *opts)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	print(f, msg, opts);
	fclose(f);
	return buf;
}

static void text(FILE *f, const ProtobufCMessage *m, const struct pbprint_options *o)
{
	pbprint_message(f, m, 0, o);
}

static void csv(FILE *f, const ProtobufCMessage *m, const struct pbprint_options *o)
{
	struct pbprint_meta meta = { .topic = "t", .sender = "s", .tick = 7, .sim_time_ms = 0, .type = "x" };
	struct pbprint_csv_state st = { 0 };
	pbprint_csv(f, &meta, m, o, &st);
	pbprint_csv_finish(&st);
}

static void json(FILE *f, const ProtobufCMessage *m, const struct pbprint_options *o)
{
	struct pbprint_meta meta = { .topic = "t", .sender = "s", .tick = 7, .sim_time_ms = 0, .type = "x" };
	pbprint_json(f, &meta, m, o);
}

/* A counter at zero is printed, not left out as proto3's text format would. */
static void zero_fields_print(void **state)
{
	Fleetsim__V1__Kpi k = FLEETSIM__V1__KPI__INIT;
	k.name = (char *)"dropped_malformed";
	Fleetsim__V1__Kpi *kp[] = { &k };
	Fleetsim__V1__KpiSnapshot snap = FLEETSIM__V1__KPI_SNAPSHOT__INIT;
	snap.n_kpis = 1;
	snap.kpis = kp;
	char *out = printed(text, &snap.base, NULL);
	assert_non_null(strstr(out, "name: \"dropped_malformed\"\n    value: 0\n"));
	free(out);
	out = printed(json, &snap.base, NULL);
	assert_non_null(strstr(out, "\"kpis\":[{\"name\":\"dropped_malformed\",\"value\":0.0,\"scope\":\"\"}]"));
	assert_non_null(strstr(out, "\"sim_time_ms\":null"));
	free(out);
}

/* Pack and unpack: the filter works on messages the bus decoded (heap-owned). */
static ProtobufCMessage *unpacked(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	protobuf_c_message_pack(m, buf);
	ProtobufCMessage *copy = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
	free(buf);
	return copy;
}

static ProtobufCMessage *trip_events(void)
{
	static Fleetsim__V1__TripEvent e[3];
	static Fleetsim__V1__TripEvent *ep[3];
	static const uint32_t vehicles[] = { 1, 2, 1 };
	for (int i = 0; i < 3; i++) {
		fleetsim__v1__trip_event__init(&e[i]);
		e[i].request_id = 100 + (uint64_t)i;
		e[i].vehicle_id = vehicles[i];
		e[i].reason = (char *)"why";
		ep[i] = &e[i];
	}
	Fleetsim__V1__TripEventBatch b = FLEETSIM__V1__TRIP_EVENT_BATCH__INIT;
	b.n_events = 3;
	b.events = ep;
	return unpacked(&b.base);
}

static void vehicle_filter_keeps_its_items(void **state)
{
	ProtobufCMessage *m = trip_events();
	assert_int_equal(pbprint_filter_vehicle(m, 1), PBPRINT_THIS_VEHICLE);
	const Fleetsim__V1__TripEventBatch *b = (const void *)m;
	assert_int_equal(b->n_events, 2);
	assert_int_equal(b->events[0]->request_id, 100);
	assert_int_equal(b->events[1]->request_id, 102);
	protobuf_c_message_free_unpacked(m, NULL); /* the dropped item was freed: ASan checks */

	m = trip_events();
	assert_int_equal(pbprint_filter_vehicle(m, 5), PBPRINT_OTHER_VEHICLE);
	protobuf_c_message_free_unpacked(m, NULL);

	Fleetsim__V1__KpiSnapshot snap = FLEETSIM__V1__KPI_SNAPSHOT__INIT;
	assert_int_equal(pbprint_filter_vehicle(&snap.base, 1), PBPRINT_NO_VEHICLE);
}

/* A struct-of-arrays batch (TrafficState: slots[i], vehicles[i]) prints as a table and exports a row per record. */
static void struct_of_arrays_rows(void **state)
{
	uint32_t slots[] = { 3, 9, 12 }, vehicles[] = { 1, 4, 2 };
	Fleetsim__V1__TrafficState t = FLEETSIM__V1__TRAFFIC_STATE__INIT;
	t.n_slots = t.n_vehicles = 3;
	t.slots = slots;
	t.vehicles = vehicles;
	char *out = printed(text, &t.base, NULL);
	assert_non_null(strstr(out, "(3 records)"));
	assert_non_null(strstr(out, "slot_count: 0\n(3 records)\nslots  vehicles\n3      1\n9      4\n12     2\n"));
	free(out);
	struct pbprint_options only = { .n_fields = 1, .fields = { "vehicles" } };
	out = printed(csv, &t.base, &only);
	assert_string_equal(out, "topic,sender,tick,sim_time_utc,vehicles\nt,s,7,,1\nt,s,7,,4\nt,s,7,,2\n");
	free(out);
	/* a table wider than the terminal shows the columns that fit and names the others */
	struct pbprint_options narrow = { .width = 10 };
	out = printed(text, &t.base, &narrow);
	assert_non_null(strstr(out, "(1 more columns: vehicles; --field picks them)"));
	free(out);
}

/* A batch's moves (move_vehicle_id, ...) beside its full records never share their rows. */
static void families_keep_their_own_rows(void **state)
{
	uint32_t ids[] = { 4 }, move_ids[] = { 9 }, edges[] = { 5 }, move_edges[] = { 6 };
	Fleetsim__V1__VehicleStateBatch b = FLEETSIM__V1__VEHICLE_STATE_BATCH__INIT;
	b.n_vehicle_id = b.n_edge = 1;
	b.vehicle_id = ids;
	b.edge = edges;
	b.n_move_vehicle_id = b.n_move_edge = 1;
	b.move_vehicle_id = move_ids;
	b.move_edge = move_edges;
	char *out = printed(text, &b.base, NULL);
	assert_non_null(strstr(out, "vehicle_id  edge\n4           5\n"));
	assert_null(strstr(out, "move_vehicle_id  ")); /* not a column of that table */
	assert_non_null(strstr(out, "move_vehicle_id: [9]"));
	free(out);
}

static void field_paths(void **state)
{
	char why[256];
	assert_true(pbprint_field_exists(&fleetsim__v1__job_batch__descriptor, "jobs.stops", why, sizeof(why)));
	assert_false(pbprint_field_exists(&fleetsim__v1__job_batch__descriptor, "jobs.nope", why, sizeof(why)));
	assert_non_null(strstr(why, "fleetsim.v1.Job has no field 'nope' (fields: "));
	ProtobufCMessage *m = trip_events();
	struct pbprint_options sel = { .n_fields = 1, .fields = { "events.vehicle_id" } };
	char *out = printed(csv, m, &sel);
	assert_string_equal(out, "topic,sender,tick,sim_time_utc,events.vehicle_id\nt,s,7,,1\nt,s,7,,2\nt,s,7,,1\n");
	free(out);
	out = printed(json, m, &sel);
	assert_non_null(strstr(out, "\"payload\":{\"events\":[{\"vehicle_id\":1},{\"vehicle_id\":2},{\"vehicle_id\":1}]}"));
	free(out);
	protobuf_c_message_free_unpacked(m, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(zero_fields_print),
		cmocka_unit_test(families_keep_their_own_rows),
		cmocka_unit_test(vehicle_filter_keeps_its_items),
		cmocka_unit_test(struct_of_arrays_rows),
		cmocka_unit_test(field_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
