/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/closures.h - the roads a scenario closes (road_closure events), as one
 * byte per network edge.
 *
 * A road_closure event names edge ids or a way (every edge whose road name
 * is that name). Vehicle nodes and dispatch build the same mask from the
 * same scheduled events and give it to their router (fs_route_query_avoid)
 * so routes go around, and to the fleet (struct fs_conditions) so a route
 * planned before the closure is handed back.
 */
#ifndef FS_CLOSURES_H
#define FS_CLOSURES_H

#include <stddef.h>
#include <stdint.h>

#include "fs/network.h"
#include "fs/scenario.h"

struct fs_closures;

/** Every road of @net (borrowed) open. NULL on no memory. */
struct fs_closures *fs_closures_create(const struct fs_network *net);
/** NULL is a no-op. */
void fs_closures_destroy(struct fs_closures *c);

/**
 * Close the roads of the road_closure events among @events[0..n) in force at
 * @tick and open the others. Edge ids beyond the network and way names no
 * edge has are counted (fs_closures_unmatched()) when the event starts.
 * Returns 1 if the set of closed edges changed, 0 if not, -ENOMEM.
 */
int fs_closures_update(struct fs_closures *c, const struct fs_scenario_event *events, size_t n, uint64_t tick);

/** One byte per edge, nonzero = closed; NULL while every road is open. Valid until the next update. */
const uint8_t *fs_closures_mask(const struct fs_closures *c);
/** Edges closed now. */
uint32_t fs_closures_count(const struct fs_closures *c);
/** Incremented on every change, from 0. */
uint64_t fs_closures_version(const struct fs_closures *c);
/** Edge ids and way names of started events that matched no edge. */
uint64_t fs_closures_unmatched(const struct fs_closures *c);

#endif
