/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle_msg - the vehicle message family's codec (see fs_vehicle_msg.h).
 *
 * Records travel as parallel packed arrays: protobuf-c then decodes a batch
 * of 100,000 vehicles into one allocation per field instead of 100,000
 * sub-messages, and the common record (a car entering the next edge of its
 * route) is a "move" of nine small fields instead of a full record of twenty.
 * Times are sent relative to the batch's time, so they stay short varints.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/grow.h"
#include "fs_vehicle_msg.h"

#define DM_PER_M 10.0

static int grow_full(struct fs_vehicle_msg *m, size_t n)
{
	const struct fs_grow_array arrays[] = {
		FS_GROW_ARRAY(m->id),    FS_GROW_ARRAY(m->edge),  FS_GROW_ARRAY(m->health),   FS_GROW_ARRAY(m->odd),
		FS_GROW_ARRAY(m->sw),    FS_GROW_ARRAY(m->state), FS_GROW_ARRAY(m->x),        FS_GROW_ARRAY(m->y),
		FS_GROW_ARRAY(m->soc),   FS_GROW_ARRAY(m->soc_rate), FS_GROW_ARRAY(m->from),  FS_GROW_ARRAY(m->to),
		FS_GROW_ARRAY(m->start), FS_GROW_ARRAY(m->end),   FS_GROW_ARRAY(m->odo),      FS_GROW_ARRAY(m->job),
	};
	return fs_grow_parallel(&m->cap, n, arrays, sizeof(arrays) / sizeof(arrays[0]));
}

static int grow_moves(struct fs_vehicle_msg *m, size_t n)
{
	const struct fs_grow_array arrays[] = {
		FS_GROW_ARRAY(m->move_id),    FS_GROW_ARRAY(m->move_edge), FS_GROW_ARRAY(m->move_x),
		FS_GROW_ARRAY(m->move_y),     FS_GROW_ARRAY(m->move_from), FS_GROW_ARRAY(m->move_to),
		FS_GROW_ARRAY(m->move_start), FS_GROW_ARRAY(m->move_end),  FS_GROW_ARRAY(m->move_odo),
	};
	return fs_grow_parallel(&m->move_cap, n, arrays, sizeof(arrays) / sizeof(arrays[0]));
}

/* Segment end on the wire: 0 for standing for good, else its length + 1. */
static uint64_t wire_end(const struct fs_vehicle_record *r)
{
	if (r->seg_end_ms == FS_NEVER_MS) {
		return 0;
	}
	return r->seg_end_ms >= r->seg_start_ms ? (uint64_t)(r->seg_end_ms - r->seg_start_ms) + 1 : 1;
}

static uint64_t wire_odometer(double m)
{
	return m > 0.0 && isfinite(m) ? (uint64_t)llround(m * DM_PER_M) : 0;
}

/* The columns of a move record, which a full record has too: where the vehicle is, its segment, its odometer. */
struct motion_columns {
	uint32_t *id, *edge;
	float *x, *y, *from, *to;
	int64_t *start;
	uint64_t *end, *odo;
};

static void put_motion(const struct motion_columns *c, size_t i, const struct fs_vehicle_record *r, int64_t t_ms)
{
	c->id[i] = r->id;
	c->edge[i] = r->edge;
	c->x[i] = r->x;
	c->y[i] = r->y;
	c->from[i] = r->seg_from_m;
	c->to[i] = r->seg_to_m;
	c->start[i] = r->seg_start_ms - t_ms;
	c->end[i] = wire_end(r);
	c->odo[i] = wire_odometer(r->odometer_m);
}

int fs_vehicle_msg_encode_records(struct fs_vehicle_msg *m, const struct fs_vehicle_batch_info *info,
				  const struct fs_vehicle_record *records, size_t count, int64_t t_ms)
{
	size_t moves = 0;
	for (size_t i = 0; i < count; i++) {
		moves += records[i].kind == FS_VEHICLE_RECORD_MOVE;
	}
	if (grow_full(m, count - moves) < 0 || grow_moves(m, moves) < 0) {
		return -ENOMEM;
	}
	const struct motion_columns full = { m->id, m->edge, m->x, m->y, m->from, m->to, m->start, m->end, m->odo };
	const struct motion_columns move = { m->move_id, m->move_edge,  m->move_x,   m->move_y,  m->move_from,
					     m->move_to, m->move_start, m->move_end, m->move_odo };
	size_t k = 0, j = 0;
	for (size_t i = 0; i < count; i++) {
		const struct fs_vehicle_record *r = &records[i];
		if (r->kind == FS_VEHICLE_RECORD_MOVE) {
			put_motion(&move, j++, r, t_ms);
			continue;
		}
		put_motion(&full, k, r, t_ms);
		m->state[k] = (Fleetsim__V1__VehicleState)r->state;
		m->soc[k] = r->soc;
		m->soc_rate[k] = r->soc_per_h;
		m->health[k] = r->health_flags;
		m->odd[k] = r->odd_flags;
		m->job[k] = r->job_id;
		m->sw[k] = r->sw_version;
		k++;
	}
	Fleetsim__V1__VehicleStateBatch *b = &m->batch;
	fleetsim__v1__vehicle_state_batch__init(b);
	b->shard = info->shard;
	b->shard_count = info->shard_count;
	b->origin_lat = info->origin_lat;
	b->origin_lon = info->origin_lon;
	b->full = info->full;
	b->n_vehicle_id = b->n_state = b->n_x_m = b->n_y_m = b->n_edge = b->n_soc = b->n_soc_per_h =
		b->n_health_flags = b->n_odd_flags = b->n_job_id = b->n_sw_version = b->n_seg_from_m =
			b->n_seg_to_m = b->n_seg_start_ms = b->n_seg_end_ms = b->n_odometer_dm = k;
	b->vehicle_id = m->id;
	b->state = m->state;
	b->x_m = m->x;
	b->y_m = m->y;
	b->edge = m->edge;
	b->soc = m->soc;
	b->soc_per_h = m->soc_rate;
	b->health_flags = m->health;
	b->odd_flags = m->odd;
	b->job_id = m->job;
	b->sw_version = m->sw;
	b->seg_from_m = m->from;
	b->seg_to_m = m->to;
	b->seg_start_ms = m->start;
	b->seg_end_ms = m->end;
	b->odometer_dm = m->odo;
	b->n_move_vehicle_id = b->n_move_edge = b->n_move_x_m = b->n_move_y_m = b->n_move_seg_from_m =
		b->n_move_seg_to_m = b->n_move_seg_start_ms = b->n_move_seg_end_ms = b->n_move_odometer_dm = j;
	b->move_vehicle_id = m->move_id;
	b->move_edge = m->move_edge;
	b->move_x_m = m->move_x;
	b->move_y_m = m->move_y;
	b->move_seg_from_m = m->move_from;
	b->move_seg_to_m = m->move_to;
	b->move_seg_start_ms = m->move_start;
	b->move_seg_end_ms = m->move_end;
	b->move_odometer_dm = m->move_odo;
	return 0;
}

int fs_vehicle_msg_encode_events(struct fs_vehicle_msg *m, uint32_t shard, const struct fs_vehicle_event *events,
				 size_t count)
{
	const struct fs_grow_array arrays[] = { FS_GROW_ARRAY(m->ev), FS_GROW_ARRAY(m->evp) };
	if (fs_grow_parallel(&m->event_cap, count, arrays, 2) < 0) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const struct fs_vehicle_event *e = &events[i];
		Fleetsim__V1__VehicleEvent *w = &m->ev[i];
		fleetsim__v1__vehicle_event__init(w);
		w->vehicle_id = e->vehicle_id;
		w->kind = (Fleetsim__V1__VehicleEventKind)e->kind;
		w->sim_time_ms = e->time_ms;
		w->from_state = (Fleetsim__V1__VehicleState)e->from_state;
		w->to_state = (Fleetsim__V1__VehicleState)e->to_state;
		w->device = (Fleetsim__V1__DeviceKind)e->device;
		w->device_index = e->device_index;
		w->health = (Fleetsim__V1__DeviceHealth)e->health;
		w->job_id = e->job_id;
		w->value = e->value;
		w->reason = (char *)(e->reason ? e->reason : "");
		m->evp[i] = w;
	}
	fleetsim__v1__vehicle_event_batch__init(&m->events);
	m->events.shard = shard;
	m->events.n_events = count;
	m->events.events = m->evp;
	return 0;
}

void fs_vehicle_msg_finish(struct fs_vehicle_msg *m)
{
	void *bufs[] = { m->id, m->edge, m->health, m->odd, m->sw, m->move_id, m->move_edge, m->state, m->x, m->y,
			 m->soc, m->soc_rate, m->from, m->to, m->move_x, m->move_y, m->move_from, m->move_to, m->start,
			 m->move_start, m->end, m->odo, m->job, m->move_end, m->move_odo, m->ev, m->evp };
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
		free(bufs[i]);
	}
	memset(m, 0, sizeof(*m));
}

/* ---- decoding ---------------------------------------------------------------------------------- */

static bool finite_place(float x, float y, float from, float to)
{
	return isfinite(x) && isfinite(y) && isfinite(from) && isfinite(to) && from >= 0.0f && to >= 0.0f;
}

/* Segment times from the wire; false if they cannot be (overflow). */
static bool wire_segment(int64_t t_ms, int64_t start_rel, uint64_t end, struct fs_vehicle_record *r)
{
	const int64_t bound = INT64_C(1) << 52; /* ~142,000 years of ms: nothing real is further */
	if (start_rel < -bound || start_rel > bound || end > (uint64_t)bound || t_ms < -bound || t_ms > bound) {
		return false;
	}
	r->seg_start_ms = t_ms + start_rel;
	r->seg_end_ms = end ? r->seg_start_ms + (int64_t)(end - 1) : FS_NEVER_MS;
	return true;
}

static bool wire_odometer_ok(uint64_t dm)
{
	return dm < (UINT64_C(1) << 53); /* exact in a double */
}

static const char *decode_full(const Fleetsim__V1__VehicleStateBatch *b, int64_t t_ms, struct fs_vehicle_record *out)
{
	size_t n = b->n_vehicle_id;
	size_t lens[] = { b->n_state, b->n_x_m, b->n_y_m, b->n_edge, b->n_soc, b->n_soc_per_h, b->n_health_flags,
			  b->n_odd_flags, b->n_job_id, b->n_sw_version, b->n_seg_from_m, b->n_seg_to_m,
			  b->n_seg_start_ms, b->n_seg_end_ms, b->n_odometer_dm };
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		if (lens[k] != n) {
			return "record arrays of different lengths";
		}
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)b->state[i] >= FS_VEHICLE_STATE_COUNT) {
			return "a record with an unknown vehicle state";
		}
		if (!finite_place(b->x_m[i], b->y_m[i], b->seg_from_m[i], b->seg_to_m[i]) || !isfinite(b->soc[i]) ||
		    b->soc[i] < 0.0f || b->soc[i] > 1.0f || !isfinite(b->soc_per_h[i])) {
			return "a record with a non-finite or out-of-range position, segment or charge";
		}
		if (b->odd_flags[i] > UINT16_MAX || !wire_odometer_ok(b->odometer_dm[i])) {
			return "a record with out-of-range flags or odometer";
		}
		struct fs_vehicle_record *r = &out[i];
		*r = (struct fs_vehicle_record){
			.t_ms = t_ms, .soc_ms = t_ms, .odometer_m = (double)b->odometer_dm[i] / DM_PER_M,
			.job_id = b->job_id[i], .id = b->vehicle_id[i], .edge = b->edge[i],
			.health_flags = b->health_flags[i], .sw_version = b->sw_version[i],
			.seg_from_m = b->seg_from_m[i], .seg_to_m = b->seg_to_m[i], .soc = b->soc[i],
			.soc_per_h = b->soc_per_h[i], .x = b->x_m[i], .y = b->y_m[i],
			.odd_flags = (uint16_t)b->odd_flags[i], .state = (uint8_t)b->state[i],
			.kind = FS_VEHICLE_RECORD_FULL,
		};
		if (!wire_segment(t_ms, b->seg_start_ms[i], b->seg_end_ms[i], r)) {
			return "a record whose segment times are out of range";
		}
	}
	return NULL;
}

static const char *decode_moves(const Fleetsim__V1__VehicleStateBatch *b, int64_t t_ms, struct fs_vehicle_record *out)
{
	size_t n = b->n_move_vehicle_id;
	size_t lens[] = { b->n_move_edge, b->n_move_x_m, b->n_move_y_m, b->n_move_seg_from_m, b->n_move_seg_to_m,
			  b->n_move_seg_start_ms, b->n_move_seg_end_ms, b->n_move_odometer_dm };
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		if (lens[k] != n) {
			return "move arrays of different lengths";
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!finite_place(b->move_x_m[i], b->move_y_m[i], b->move_seg_from_m[i], b->move_seg_to_m[i]) ||
		    !wire_odometer_ok(b->move_odometer_dm[i])) {
			return "a move with a non-finite or negative position, segment or odometer";
		}
		struct fs_vehicle_record *r = &out[i];
		*r = (struct fs_vehicle_record){
			.t_ms = t_ms, .odometer_m = (double)b->move_odometer_dm[i] / DM_PER_M,
			.id = b->move_vehicle_id[i], .edge = b->move_edge[i], .seg_from_m = b->move_seg_from_m[i],
			.seg_to_m = b->move_seg_to_m[i], .x = b->move_x_m[i], .y = b->move_y_m[i],
			.kind = FS_VEHICLE_RECORD_MOVE,
		};
		if (!wire_segment(t_ms, b->move_seg_start_ms[i], b->move_seg_end_ms[i], r)) {
			return "a move whose segment times are out of range";
		}
	}
	return NULL;
}

const char *fs_vehicle_msg_decode_records(const Fleetsim__V1__VehicleStateBatch *b, int64_t t_ms,
					  struct fs_vehicle_records *out)
{
	out->count = 0;
	if (b->shard_count == 0 || b->shard >= b->shard_count) {
		return "a batch from a shard outside its shard count";
	}
	if (!isfinite(b->origin_lat) || !isfinite(b->origin_lon)) {
		return "a batch with a non-finite origin";
	}
	size_t n = b->n_vehicle_id, moves = b->n_move_vehicle_id;
	if (FS_GROW(out->items, out->cap, n + moves) < 0) {
		return "out of memory";
	}
	const char *why = decode_full(b, t_ms, out->items);
	if (!why) {
		why = decode_moves(b, t_ms, out->items + n);
	}
	if (why) {
		return why;
	}
	out->info = (struct fs_vehicle_batch_info){ .shard = b->shard, .shard_count = b->shard_count,
						    .origin_lat = b->origin_lat, .origin_lon = b->origin_lon,
						    .full = b->full };
	out->count = n + moves;
	return NULL;
}

void fs_vehicle_records_finish(struct fs_vehicle_records *r)
{
	free(r->items);
	memset(r, 0, sizeof(*r));
}

const char *fs_vehicle_msg_decode_events(const Fleetsim__V1__VehicleEventBatch *b, struct fs_vehicle_event **out,
					 size_t *cap, size_t *ret_count)
{
	*ret_count = 0;
	if (FS_GROW(*out, *cap, b->n_events) < 0) {
		return "out of memory";
	}
	for (size_t i = 0; i < b->n_events; i++) {
		const Fleetsim__V1__VehicleEvent *e = b->events[i];
		if ((unsigned)e->kind == 0 || (unsigned)e->kind > FS_VEV_ODD_CHANGED) {
			return "an event of an unknown kind";
		}
		if ((unsigned)e->from_state >= FS_VEHICLE_STATE_COUNT || (unsigned)e->to_state >= FS_VEHICLE_STATE_COUNT) {
			return "an event with an unknown vehicle state";
		}
		if ((unsigned)e->device >= FS_DEVICE_KIND_COUNT || (unsigned)e->health > FS_HEALTH_FAILED ||
		    (e->device && e->device_index >= fs_platform_kind_size((int)e->device))) {
			return "an event naming an unknown device or health";
		}
		(*out)[i] = (struct fs_vehicle_event){
			.time_ms = e->sim_time_ms, .job_id = e->job_id, .value = e->value,
			.reason = e->reason && e->reason[0] ? e->reason : NULL, .vehicle_id = e->vehicle_id,
			.kind = (uint8_t)e->kind, .from_state = (uint8_t)e->from_state, .to_state = (uint8_t)e->to_state,
			.device = (uint8_t)e->device, .device_index = (uint8_t)e->device_index, .health = (uint8_t)e->health,
		};
	}
	*ret_count = b->n_events;
	return NULL;
}
