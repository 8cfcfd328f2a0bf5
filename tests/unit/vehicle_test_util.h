/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the vehicle-core tests: grid routes without a router. */
#ifndef VEHICLE_TEST_UTIL_H
#define VEHICLE_TEST_UTIL_H

#include <stdint.h>

#include "fs/network.h"
#include "fs/vehicle.h"

/* The edge a -> b, or FS_NO_EDGE. */
static inline uint32_t vt_edge(const struct fs_network *net, uint32_t a, uint32_t b)
{
	for (uint32_t e = net->out_first[a]; e < net->out_first[a + 1]; e++) {
		if (net->edges[e].to == b) {
			return e;
		}
	}
	return FS_NO_EDGE;
}

/* L-shaped route on a @cols-wide grid from node @a to node @b (east/west
 * first, then north/south) into @out; returns the number of edges. */
static inline uint32_t vt_route(const struct fs_network *net, uint32_t cols, uint32_t a, uint32_t b,
				uint32_t *out)
{
	uint32_t n = 0, cur = a;
	while (cur % cols != b % cols) {
		uint32_t next = cur % cols < b % cols ? cur + 1 : cur - 1;
		out[n++] = vt_edge(net, cur, next);
		cur = next;
	}
	while (cur / cols != b / cols) {
		uint32_t next = cur / cols < b / cols ? cur + cols : cur - cols;
		out[n++] = vt_edge(net, cur, next);
		cur = next;
	}
	return n;
}

/* Count events of @kind (and @vehicle_id unless UINT32_MAX). */
static inline size_t vt_count(const struct fs_vehicle_events *ev, int kind, uint32_t vehicle_id)
{
	size_t n = 0;
	for (size_t i = 0; i < ev->count; i++) {
		n += ev->items[i].kind == kind &&
		     (vehicle_id == UINT32_MAX || ev->items[i].vehicle_id == vehicle_id);
	}
	return n;
}

/* The last event of @kind for @vehicle_id, or NULL. */
static inline const struct fs_vehicle_event *vt_last(const struct fs_vehicle_events *ev, int kind,
						      uint32_t vehicle_id)
{
	for (size_t i = ev->count; i-- > 0;) {
		if (ev->items[i].kind == kind && ev->items[i].vehicle_id == vehicle_id) {
			return &ev->items[i];
		}
	}
	return NULL;
}

/* Default parameters without random faults or software events, so timings are exact. */
static inline struct fs_vehicle_params vt_quiet_params(void)
{
	struct fs_vehicle_params p;
	fs_vehicle_params_defaults(&p);
	for (int k = 0; k < FS_DEVICE_KIND_COUNT; k++) {
		p.degrade_per_h[k] = p.fail_per_h[k] = 0.0;
	}
	for (uint32_t i = 0; i < p.sw_count; i++) {
		p.sw[i].ra_per_1000km = 0.0;
		p.sw[i].miles_per_disengagement = 0.0;
	}
	return p;
}

#endif
