/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_traffic_msg.h - the codec of the traffic message family (TrafficState,
 * topic world.traffic): vehicles driving per slot of fs/traffic.h, dense in
 * the simulation, sparse on the bus. The only place where that message
 * becomes counts and back, with one set of validity rules.
 */
#ifndef FS_TRAFFIC_MSG_H
#define FS_TRAFFIC_MSG_H

#include <stdint.h>

#include "envelope.pb-c.h"

/* Buffers for encoding one message; zero-initialise, fs_traffic_msg_finish() frees. */
struct fs_traffic_msg {
	Fleetsim__V1__TrafficState state;
	uint32_t *slots, *vehicles;
	size_t cap;
};

/**
 * Fill @m->state from @counts[@slot_count] (the nonzero slots, ascending).
 * Returns 0 or -ENOMEM.
 */
int fs_traffic_msg_encode(struct fs_traffic_msg *m, const uint32_t *counts, uint32_t slot_count);
void fs_traffic_msg_finish(struct fs_traffic_msg *m);

/**
 * Write @s into @counts[@slot_count] (zeroing the rest). NULL on success, else
 * why @s is refused (another network's slot count, slots out of order or out
 * of range, arrays of different lengths, a zero count); @counts is then
 * untouched.
 */
const char *fs_traffic_msg_decode(const Fleetsim__V1__TrafficState *s, uint32_t *counts, uint32_t slot_count);

#endif
