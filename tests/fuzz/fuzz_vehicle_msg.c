/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_vehicle_msg - what every reader of vehicle records (dispatch, the
 * viewer, the recorder's exports) does with a VehicleStateBatch off the bus or
 * out of a recording: fs_vehicle_msg_decode_records(), then merging into a
 * mirror and computing positions and charges from the records. A refused batch
 * leaves nothing decoded; an accepted one gives records whose offsets, charges
 * and odometers are finite at any time, and that encode back to the same
 * records (the codec's two directions agree).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_vehicle_msg.h"
#include "fuzz_util.h"

#define T0 1843491600000LL
#define MIRROR 64

static void check_record(const struct fs_vehicle_record *r)
{
	const int64_t probes[] = { r->t_ms, r->seg_start_ms, r->seg_end_ms == FS_NEVER_MS ? r->t_ms : r->seg_end_ms - 1,
				   r->t_ms + 86400000 };
	double lo = fmin(r->seg_from_m, r->seg_to_m), hi = fmax(r->seg_from_m, r->seg_to_m);
	double slack = 1e-9 * (hi - lo); /* the interpolation rounds */
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		double off = fs_vehicle_record_offset_at(r, probes[i]);
		double soc = fs_vehicle_record_soc_at(r, probes[i]);
		if (!isfinite(off) || off < lo - slack || off > hi + slack || !(soc >= 0.0 && soc <= 1.0)) {
			fprintf(stderr, "record of vehicle %u at %lld: offset %g (segment %g..%g), charge %g\n", r->id,
				(long long)probes[i], off, (double)lo, (double)hi, soc);
			abort();
		}
	}
	if (!isfinite(r->odometer_m) || r->odometer_m < 0.0) {
		abort();
	}
}

static bool same_record(const struct fs_vehicle_record *a, const struct fs_vehicle_record *b)
{
	return a->kind == b->kind && a->id == b->id && a->t_ms == b->t_ms && a->soc_ms == b->soc_ms &&
	       a->seg_start_ms == b->seg_start_ms && a->seg_end_ms == b->seg_end_ms &&
	       /* decimetres through a double: exact for any odometer a vehicle reaches */
	       (a->odometer_m < 1e12 ? a->odometer_m == b->odometer_m : fabs(a->odometer_m - b->odometer_m) <= 0.1) &&
	       a->job_id == b->job_id && a->edge == b->edge && a->health_flags == b->health_flags &&
	       a->sw_version == b->sw_version && !memcmp(&a->seg_from_m, &b->seg_from_m, sizeof(float)) &&
	       !memcmp(&a->seg_to_m, &b->seg_to_m, sizeof(float)) && !memcmp(&a->soc, &b->soc, sizeof(float)) &&
	       !memcmp(&a->soc_per_h, &b->soc_per_h, sizeof(float)) && !memcmp(&a->x, &b->x, sizeof(float)) &&
	       !memcmp(&a->y, &b->y, sizeof(float)) && a->odd_flags == b->odd_flags && a->state == b->state;
}

/* What was accepted, encoded again and decoded, is what was decoded. */
static void check_round_trip(const struct fs_vehicle_records *got)
{
	static struct fs_vehicle_msg m;
	static struct fs_vehicle_records again;
	if (fs_vehicle_msg_encode_records(&m, &got->info, got->items, got->count, T0) < 0) {
		abort();
	}
	const char *why = fs_vehicle_msg_decode_records(&m.batch, T0, &again);
	if (why || again.count != got->count) {
		fprintf(stderr, "re-encoded batch refused: %s\n", why ? why : "count");
		abort();
	}
	for (size_t i = 0; i < got->count; i++) {
		if (!same_record(&got->items[i], &again.items[i])) {
			fprintf(stderr, "record %zu (vehicle %u) changed through the encoder\n", i, got->items[i].id);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fs_vehicle_records got;
	static struct fs_vehicle_record mirror[MIRROR];
	static bool have[MIRROR];
	Fleetsim__V1__VehicleStateBatch *b = fleetsim__v1__vehicle_state_batch__unpack(NULL, size, data);
	if (!b) {
		return 0;
	}
	const char *why = fs_vehicle_msg_decode_records(b, T0, &got);
	fuzz_report("vehicle_msg", why ? why : "accepted");
	if (why && got.count) {
		fprintf(stderr, "refused (%s) with %zu records left\n", why, got.count);
		abort();
	}
	for (size_t i = 0; !why && i < got.count; i++) {
		const struct fs_vehicle_record *r = &got.items[i];
		check_record(r);
		uint32_t k = r->id % MIRROR;
		if (fs_vehicle_record_merge(&mirror[k], have[k], r) == 0) {
			have[k] = true;
			check_record(&mirror[k]);
		}
	}
	if (!why) {
		check_round_trip(&got);
	}
	fleetsim__v1__vehicle_state_batch__free_unpacked(b, NULL);
	return 0;
}
