/* SPDX-License-Identifier: Apache-2.0 */
/* fs_traffic_msg - TrafficState <-> per-slot vehicle counts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/grow.h"
#include "fs_traffic_msg.h"

int fs_traffic_msg_encode(struct fs_traffic_msg *m, const uint32_t *counts, uint32_t slot_count)
{
	uint32_t n = 0;
	for (uint32_t s = 0; s < slot_count; s++) {
		n += counts[s] != 0;
	}
	const struct fs_grow_array arrays[] = { FS_GROW_ARRAY(m->slots), FS_GROW_ARRAY(m->vehicles) };
	if (fs_grow_parallel(&m->cap, n, arrays, 2) < 0) {
		return -ENOMEM;
	}
	n = 0;
	for (uint32_t s = 0; s < slot_count; s++) {
		if (counts[s]) {
			m->slots[n] = s;
			m->vehicles[n++] = counts[s];
		}
	}
	fleetsim__v1__traffic_state__init(&m->state);
	m->state.slot_count = slot_count;
	m->state.n_slots = m->state.n_vehicles = n;
	m->state.slots = m->slots;
	m->state.vehicles = m->vehicles;
	return 0;
}

void fs_traffic_msg_finish(struct fs_traffic_msg *m)
{
	free(m->slots);
	free(m->vehicles);
	memset(m, 0, sizeof(*m));
}

const char *fs_traffic_msg_decode(const Fleetsim__V1__TrafficState *s, uint32_t *counts, uint32_t slot_count)
{
	if (s->slot_count != slot_count) {
		return "traffic state for a network with another number of slots";
	}
	if (s->n_slots != s->n_vehicles) {
		return "traffic state with arrays of different lengths";
	}
	for (size_t i = 0; i < s->n_slots; i++) {
		if (s->slots[i] >= slot_count) {
			return "traffic state names a slot out of range";
		}
		if (i && s->slots[i] <= s->slots[i - 1]) {
			return "traffic state slots are not strictly ascending";
		}
		if (!s->vehicles[i]) {
			return "traffic state lists a slot with no vehicles";
		}
	}
	memset(counts, 0, (size_t)slot_count * sizeof(*counts));
	for (size_t i = 0; i < s->n_slots; i++) {
		counts[s->slots[i]] = s->vehicles[i];
	}
	return NULL;
}
