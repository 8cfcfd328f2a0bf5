/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle_msg.h - the codec of the vehicle message family: vehicle records
 * (VehicleStateBatch, topics veh.state and veh.snapshot) and vehicle events
 * (VehicleEventBatch, topic veh.event). The only place where those messages
 * become sim structs (fs/vehicle.h) and back, with one set of validity rules
 * for every reader: fs-dispatch, the viewer, the recorder's exports.
 */
#ifndef FS_VEHICLE_MSG_H
#define FS_VEHICLE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"
#include "fs/vehicle.h"

/* What a record batch says about itself. */
struct fs_vehicle_batch_info {
	uint32_t shard, shard_count;
	double origin_lat, origin_lon; /* of the network frame x/y are in */
	bool full;                     /* every vehicle of the shard (a keyframe) */
};

/* Buffers for encoding one batch; zero-initialise, fs_vehicle_msg_finish() frees. */
struct fs_vehicle_msg {
	Fleetsim__V1__VehicleStateBatch batch;
	Fleetsim__V1__VehicleEventBatch events;
	size_t cap, move_cap, event_cap;
	uint32_t *id, *edge, *health, *odd, *sw, *move_id, *move_edge;
	Fleetsim__V1__VehicleState *state;
	float *x, *y, *soc, *soc_rate, *from, *to, *move_x, *move_y, *move_from, *move_to;
	int64_t *start, *move_start;
	uint64_t *end, *odo, *job, *move_end, *move_odo;
	Fleetsim__V1__VehicleEvent *ev;
	Fleetsim__V1__VehicleEvent **evp;
};

/**
 * Fill @m->batch with @records[@count] taken at @t_ms (the envelope's
 * sim_time_ms): FS_VEHICLE_RECORD_MOVE ones as moves, the others as full
 * records. The batch points into @m until the next call. Returns 0 or -ENOMEM.
 */
int fs_vehicle_msg_encode_records(struct fs_vehicle_msg *m, const struct fs_vehicle_batch_info *info,
				  const struct fs_vehicle_record *records, size_t count, int64_t t_ms);

/**
 * Fill @m->events with @events[@count] of @shard. Reasons point into @events.
 * Returns 0 or -ENOMEM.
 */
int fs_vehicle_msg_encode_events(struct fs_vehicle_msg *m, uint32_t shard, const struct fs_vehicle_event *events,
				 size_t count);
void fs_vehicle_msg_finish(struct fs_vehicle_msg *m);

/* Decoded records; zero-initialise, fs_vehicle_records_finish() frees. */
struct fs_vehicle_records {
	struct fs_vehicle_batch_info info;
	struct fs_vehicle_record *items; /* full records first, then moves, each in batch order */
	size_t count, cap;
};

/**
 * Decode @b, sent at @t_ms, into @out (replacing what it held). NULL on
 * success, else why it is refused (arrays of different lengths, a shard
 * outside shard_count, an unknown state, a non-finite or negative figure, a
 * segment ending before it starts); @out then holds nothing. Refusing the
 * whole batch, not single records, keeps every reader's view of a shard
 * consistent.
 */
const char *fs_vehicle_msg_decode_records(const Fleetsim__V1__VehicleStateBatch *b, int64_t t_ms,
					  struct fs_vehicle_records *out);
void fs_vehicle_records_finish(struct fs_vehicle_records *r);

/**
 * Decode @b into @out[@count] (grown as needed; reasons point into @b, NULL
 * when empty). NULL on success, else why it is refused (an unknown kind,
 * state, device or health; a device index out of range).
 */
const char *fs_vehicle_msg_decode_events(const Fleetsim__V1__VehicleEventBatch *b, struct fs_vehicle_event **out,
					 size_t *cap, size_t *ret_count);

#endif
