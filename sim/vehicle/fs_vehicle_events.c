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

/* An event of @kind about @v as it stands (its job, its state on both sides). */
static struct fs_vehicle_event event_about(const struct fs_vehicle *v, int64_t t, int kind, const char *reason)
{
	return (struct fs_vehicle_event){
		.time_ms = t,
		.job_id = v->job_id,
		.reason = reason,
		.vehicle_id = v->id,
		.kind = (uint8_t)kind,
		.from_state = v->state,
		.to_state = v->state,
	};
}

void vehicle_event(struct fs_vehicle_events *ev, const struct fs_vehicle *v, int64_t t, int kind,
		   const char *reason, double value)
{
	if (!ev) {
		return;
	}
	struct fs_vehicle_event e = event_about(v, t, kind, reason);
	e.value = value;
	fs_vehicle_events_push(ev, &e);
}

void vehicle_transition_event(struct fs_vehicle_events *ev, const struct fs_vehicle *v, int64_t t, int kind,
			      uint8_t from, uint8_t to, const char *reason)
{
	if (!ev) {
		return;
	}
	struct fs_vehicle_event e = event_about(v, t, kind, reason);
	e.from_state = from;
	e.to_state = to;
	fs_vehicle_events_push(ev, &e);
}

void vehicle_device_event(struct fs_vehicle_events *ev, const struct fs_vehicle *v, int64_t t, const char *reason,
			  int kind, unsigned index, int health)
{
	if (!ev) {
		return;
	}
	struct fs_vehicle_event e = event_about(v, t, FS_VEV_DEVICE_HEALTH, reason);
	e.device = (uint8_t)kind;
	e.device_index = (uint8_t)index;
	e.health = (uint8_t)health;
	fs_vehicle_events_push(ev, &e);
}
