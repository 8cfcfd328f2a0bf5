/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/weather.h - the weather a scenario puts over a city: city-wide, and over
 * its named zones, as the rain and the travel-time factor of every edge.
 *
 * A weather event names a zone (or "all"), a severity (enum fs_rain) and a
 * speed factor. Where events overlap the worst wins: the highest severity
 * and the slowest speed. An edge lies in a zone when its midpoint does.
 *
 * The vehicle nodes and dispatch both build one from the same scheduled
 * events, so they agree edge by edge on where a storm is: the vehicles
 * refuse, hand back and pull over there (fs_vehicle_edge_refusal), and the
 * platform stops offering those rides (fs_dispatch_set_weather).
 */
#ifndef FS_WEATHER_H
#define FS_WEATHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"
#include "fs/network.h"
#include "fs/scenario.h"

struct fs_weather;

/**
 * Clear skies over @net (borrowed), with the zones of @sc (copied: projected
 * into @net's frame). NULL with @err set if a zone is not a valid polygon,
 * or on no memory.
 */
struct fs_weather *fs_weather_create(const struct fs_network *net, const struct fs_scenario *sc,
				     struct fs_error *err);
/** NULL is a no-op. */
void fs_weather_destroy(struct fs_weather *w);

/**
 * Set the weather to that of the weather events among @events[0..n) in
 * force at @tick (other types are skipped; an unknown zone is ignored and
 * counted in fs_weather_unknown_zones()). Returns 1 if the weather changed,
 * 0 if not, -ENOMEM. Rebuilding the per-edge picture costs O(edges) and
 * happens only on a change.
 */
int fs_weather_update(struct fs_weather *w, const struct fs_scenario_event *events, size_t n,
		      uint64_t tick);

/** City-wide: the severity (enum fs_rain) and the speed factor (0, 1], 1 = clear. */
uint8_t fs_weather_city_rain(const struct fs_weather *w);
double fs_weather_city_speed_factor(const struct fs_weather *w);

/** Over zones only (the city-wide part not included): severity and travel-time factor (>= 1) on @edge. */
uint8_t fs_weather_zone_rain(const struct fs_weather *w, uint32_t edge);
double fs_weather_zone_time_factor(const struct fs_weather *w, uint32_t edge);

/** Is any zone under weather now (else the per-edge lookups are all clear)? */
bool fs_weather_has_zones(const struct fs_weather *w);
/** Edges under a zone's weather now. */
uint32_t fs_weather_edges_affected(const struct fs_weather *w);
/** Incremented on every change, from 0. */
uint64_t fs_weather_version(const struct fs_weather *w);
/** Weather events seen that named a zone this weather does not know. */
uint64_t fs_weather_unknown_zones(const struct fs_weather *w);

#endif
