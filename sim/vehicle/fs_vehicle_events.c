/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle_events - the list of what happened to vehicles in a step
 * (transitions, refusals, faults), which the state machine and the platform
 * both append to.
 */
#include <stdlib.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/vehicle.h"
#include "fs_vehicle_internal.h"

void fs_vehicle_events_push(struct fs_vehicle_events *ev, const struct fs_vehicle_event *e)
{
	if (!ev) {
		return;
	}
	if (FS_GROW(ev->items, ev->capacity, ev->count + 1) < 0) {
		ev->dropped++;
		return;
	}
	ev->items[ev->count++] = *e;
}

void fs_vehicle_events_clear(struct fs_vehicle_events *ev)
{
	ev->count = 0;
	ev->dropped = 0;
}

void fs_vehicle_events_finish(struct fs_vehicle_events *ev)
{
	fs_free(ev->items);
	*ev = (struct fs_vehicle_events){ 0 };
}

void vehicle_event(struct fs_vehicle_events *ev, const struct fs_vehicle *v, int64_t t, int kind,
		   const char *reason, double value)
{
	if (!ev) {
		return;
	}
	struct fs_vehicle_event e = {
		.time_ms = t,
		.job_id = v->job_id,
		.value = value,
		.reason = reason,
		.vehicle_id = v->id,
		.kind = (uint8_t)kind,
		.from_state = v->state,
		.to_state = v->state,
	};
	fs_vehicle_events_push(ev, &e);
}
