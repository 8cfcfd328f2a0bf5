/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/dispatch_loop.h - the platform and a fleet in one process: demand ->
 * fs_dispatch -> jobs -> fs_fleet -> events and states -> fs_dispatch, tick
 * by tick, with the lockstep's one-tick delay between them and fs-vehicle's
 * reading of jobs (a ride stops at the pickup's and drop-off's offsets along
 * their edges, the rider boards and gets out as drawn for them (fs/rider.h, the
 * run's seed; the dispatch params' riders), a reposition stops at the end of its
 * edge, a charge job at a depot). For tests,
 * benchmarks (one seed, one demand, two matchers, in one run) and quick
 * what-if studies; the bus services do the same across processes.
 */
#ifndef FS_DISPATCH_LOOP_H
#define FS_DISPATCH_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "fs/demand.h"
#include "fs/dispatch.h"
#include "fs/error.h"
#include "fs/fleet_placement.h"
#include "fs/vehicle.h"

struct fs_dispatch_loop_config {
	const struct fs_dispatch_world *world;       /* borrowed; at least one depot (vehicles' home) */
	const struct fs_dispatch_params *dispatch;   /* NULL = defaults */
	const struct fs_vehicle_params *vehicle;     /* NULL = defaults */
	uint64_t seed;
	uint32_t vehicles;           /* placed as fs-vehicle does: seeded, on service edges */
	const struct fs_fleet_placement *placement;  /* or exactly here (vehicles = count); may be NULL */
	const struct fs_demand *demand;              /* generated requests; may be NULL */
	const struct fs_demand_batch *replay;        /* or these (times absolute); may be NULL */
	int64_t start_ms;
	int64_t tick_ms;             /* > 0 */
	double plug_kw;              /* depot plugs (fs-vehicle: 150 kW) */
};

struct fs_dispatch_loop;

/** Build the fleet and the platform. NULL with @err set on bad arguments or no memory. */
struct fs_dispatch_loop *fs_dispatch_loop_create(const struct fs_dispatch_loop_config *cfg, struct fs_error *err);
void fs_dispatch_loop_destroy(struct fs_dispatch_loop *l);
/** Run one tick. @stats (may be NULL) gets the platform's figures of the tick. 0 or -errno. */
int fs_dispatch_loop_tick(struct fs_dispatch_loop *l, struct fs_dispatch_step_stats *stats);
/** Simulated time of the next tick. */
int64_t fs_dispatch_loop_now(const struct fs_dispatch_loop *l);
struct fs_dispatch *fs_dispatch_loop_dispatch(struct fs_dispatch_loop *l);
struct fs_fleet *fs_dispatch_loop_fleet(struct fs_dispatch_loop *l);

#endif
