/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_world.h - the city every service of a run shares: road network (through
 * the binary cache for OSM files), the largest strongly connected component
 * (where vehicles and riders may be), the router, a snapping index, depots.
 *
 * Every service loads the same world from the same spec, so edge and node
 * ids agree across processes and can travel in messages.
 */
#ifndef FS_WORLD_H
#define FS_WORLD_H

#include <stdint.h>

#include "fs/network.h"
#include "fs/route.h"
#include "fs/scenario.h"
#include "fs/traffic.h"

#define FS_WORLD_MAX_DEPOTS 64

struct fs_world {
	struct fs_network *net;
	struct fs_router *router;
	struct fs_router *surface_router; /* without motorways, for the ODDs that exclude them; = router if
					   * the network has none */
	struct fs_route_query *query;   /* this process's routing workspace */
	/* The same, for vehicles whose ODD excludes motorways: routes on surface
	 * roads only (motorway, trunk and their links avoided), as such a vehicle
	 * drives. Both avoid what fs_world_update_roads() closes. */
	struct fs_route_query *surface_query;
	uint8_t *impassable;            /* edge_count bytes: closed or under a storm now */
	uint8_t *surface_avoid;         /* edge_count bytes: motorways + impassable */
	struct fs_network_index *index; /* edges of the largest SCC only */
	struct fs_network_index *stop_index; /* the same without motorways: where riders board and alight */
	uint8_t *in_scc;                /* node_count bytes */
	uint32_t *service_edges;        /* edges with both ends in the SCC */
	uint32_t service_edge_count;
	uint32_t depot_nodes[FS_WORLD_MAX_DEPOTS];
	uint32_t depot_count;
	/* What streets cost: junction delays are in the network's travel times,
	 * the router knows the hour factors, and traffic adds the fleet's own
	 * flows (NULL for a world loaded without traffic, e.g. the viewer's). */
	struct fs_traffic *traffic;
	struct fs_traffic_params traffic_params;
	struct fs_junction_stats junctions;
	const struct fs_timezone *tz;   /* the router's hours are the city's (borrowed); NULL = UTC */
};

/**
 * Load the world for @spec (see fs_network_load(); OSM files go through the
 * cache in fs_world_cache_dir()) with @depots depots spread over the service
 * area. Logs and returns NULL on failure.
 */
struct fs_world *fs_world_load(const char *spec, uint32_t depots);
/**
 * fs_world_load() for a simulation: junction delays of @traffic added to the
 * edges, the router built with its hour factors (by local hour, UTC +
 * @tz, borrowed: it must outlive the world; NULL = UTC), and a traffic state for
 * the fleet's own flows.
 */
struct fs_world *fs_world_load_traffic(const char *spec, uint32_t depots,
				       const struct fs_traffic_params *traffic, const struct fs_timezone *tz);
/**
 * The traffic parameters of @sc with hour factors from its speed profile:
 * "demand" (the demand profile @demand_profile, a name or a path, or the
 * scenario's when NULL), a shipped profile name (@data_dir/demand/NAME_profile.csv),
 * a path, or "none" (1 at every hour). Logs and returns -errno on failure.
 */
int fs_world_traffic_params(const struct fs_scenario *sc, const char *data_dir,
			    const char *demand_profile, struct fs_traffic_params *ret);
/**
 * The world of a service in the run of @sc: fs_world_load_traffic() with
 * fs_world_traffic_params() (@data_dir, @demand_profile as there) and the
 * scenario's time zone (@sc must outlive the world). NULL after saying why.
 */
struct fs_world *fs_world_load_scenario(const char *spec, uint32_t depots, const struct fs_scenario *sc,
					const char *data_dir, const char *demand_profile);
void fs_world_destroy(struct fs_world *world);
struct fs_participant;
/**
 * The routes this process planned on @world as @p's results: point-to-point
 * routes, and how many needed the turn-by-turn search, on all roads and on
 * surface roads only (docs/world.md).
 */
void fs_world_add_route_results(const struct fs_world *world, struct fs_participant *p);
struct fs_weather;

/**
 * The roads changed: from now on both queries route around the edges no
 * vehicle may drive, those @closed (one byte per edge; may be NULL) and those
 * under a zone's weather worse than @max_rain (outside every ODD; @weather
 * may be NULL), as around a closed road.
 */
void fs_world_update_roads(struct fs_world *w, const struct fs_weather *weather, uint8_t max_rain,
			   const uint8_t *closed);

/** $FLEETSIM_CACHE, $XDG_CACHE_HOME/fleetsim, ~/.cache/fleetsim or /tmp/fleetsim-cache-UID. */
const char *fs_world_cache_dir(char *buf, size_t size);
/** Local hour of the simulated day for the router's time-of-day factors. */
uint32_t fs_world_hour(const struct fs_world *w, int64_t sim_time_ms);
/** Nearest depot (by straight line) to node @node. */
uint32_t fs_world_nearest_depot(const struct fs_world *world, uint32_t node);

#endif
