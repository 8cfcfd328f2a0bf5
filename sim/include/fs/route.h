/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/route.h - travel-time routing on a struct fs_network.
 *
 * A struct fs_router is built once from a network (contraction hierarchies)
 * and is read-only afterwards: any number of threads may query it at once,
 * each through its own struct fs_route_query workspace, which holds every
 * buffer a query needs so that queries do not allocate (a struct fs_path
 * grows only while it is shorter than the longest path seen).
 *
 * Times are seconds (double). Travel time on an edge at hour h is
 * edge.travel_time_s * time_factor[h][edge.road_class]. Hours whose factor
 * vectors are proportional share one hierarchy (a uniform factor per hour
 * needs exactly one); each other shape of factors gets its own hierarchy.
 * A route uses the factors of the hour it is asked for (no change of hour
 * along the way).
 *
 * Turns: point-to-point routes (fs_route_nodes, fs_route_positions) never
 * take a turn the network bans (fs_network.banned_turns, OSM restrictions)
 * and pay uturn_penalty_s for each U-turn at a node (an edge a -> b followed
 * by one b -> a). Nobody turns round in the middle of an edge: a traveller
 * goes on to the next node and turns there, or around the block. The
 * hierarchy is node-based, so these routes take its answer, with the turns
 * at the first and last node charged exactly, when the route it finds has no
 * banned turn and no U-turn anywhere else; otherwise a Dijkstra over edges
 * (turn by turn) gives the exact route. Many-to-one and one-to-many take the
 * turns (and closed edges) within two turns of both ends exactly and ignore
 * those further in: lower bounds, for ranking, exact for most routes.
 */
#ifndef FS_ROUTE_H
#define FS_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/error.h"
#include "fs/network.h"

#define FS_ROUTE_HOURS 24

struct fs_router;
struct fs_route_query;

struct fs_router_options {
	/* Travel-time multiplier per hour of the day and road class: 1 = free
	 * flow (the network's speeds), 1.5 = 50 % slower. Must be finite and
	 * > 0. Default 1 everywhere; scenarios supply congestion profiles. */
	double time_factor[FS_ROUTE_HOURS][FS_ROAD_CLASS_COUNT];
	/* Witness search limits while contracting: more settled nodes means
	 * fewer superfluous shortcuts but a slower build. Defaults 500 nodes,
	 * 8 hops (measured on Atlanta/Columbus, see docs/world.md). */
	uint32_t witness_settle_limit;
	uint32_t witness_hop_limit;
	/* Seconds added for each U-turn at a node (not scaled by the hour's
	 * factors). Default 20 s, OSRM's car profile (profiles/car.lua,
	 * properties.u_turn_penalty), which adds it on top of its turn-angle
	 * penalty. */
	double uturn_penalty_s;
	/* Route as if the network banned no turn (default false). */
	bool ignore_banned_turns;
	/* Route on surface roads only: never on a motorway or trunk (fs_road_is_motorway), for
	 * vehicles whose ODD excludes them. A hierarchy without those roads finds such routes
	 * directly; avoiding them with fs_route_query_avoid() on a full hierarchy makes every
	 * route that would take one fall back to the turn-by-turn search. Default false. */
	bool surface_only;
};

/* How often point-to-point routes of a workspace needed the turn-by-turn search. */
struct fs_route_stats {
	uint64_t routes;     /* fs_route_nodes() and fs_route_positions() calls that searched */
	uint64_t fallbacks;  /* ... of which the hierarchy's route had a banned turn, an uncharged
			      * U-turn or a closed edge, so a Dijkstra over edges decided */
};

/* An ordered list of network edge ids; init with {0}, free with fs_path_finish(). */
struct fs_path {
	uint32_t *edges;
	uint32_t count;
	size_t capacity;
};

/** Fill @opts with the defaults above. */
void fs_router_options_defaults(struct fs_router_options *opts);
/** Set the same multiplier @factor[h] for every road class at hour h. */
void fs_router_options_set_hourly(struct fs_router_options *opts,
				  const double factor[FS_ROUTE_HOURS]);

/**
 * Build the hierarchies for @net (which must outlive the router).
 * @opts may be NULL (defaults). NULL with @err set on bad options or no memory.
 */
struct fs_router *fs_router_create(const struct fs_network *net,
				   const struct fs_router_options *opts, struct fs_error *err);
/** NULL is a no-op. */
void fs_router_destroy(struct fs_router *router);
/** Number of distinct hierarchies built (1 for a uniform profile). */
uint32_t fs_router_hierarchy_count(const struct fs_router *router);
/** Shortcuts added over all hierarchies (for reports). */
uint64_t fs_router_shortcut_count(const struct fs_router *router);

/** A workspace for one thread; NULL on no memory. */
struct fs_route_query *fs_route_query_create(const struct fs_router *router);
/** NULL is a no-op. */
void fs_route_query_destroy(struct fs_route_query *q);

/** Free @path's buffer and empty it. */
void fs_path_finish(struct fs_path *path);

/**
 * Edges to keep out of (a road closure), one byte per network edge, nonzero
 * = closed; borrowed until changed; NULL = none. fs_route_nodes() and
 * fs_route_positions() then return the fastest route that avoids them: the
 * hierarchy's route when it does, else a Dijkstra search that skips them
 * (-ENOENT if none exists). The start and end edges of a position route
 * are where the traveller is and goes, so they are allowed. The many-to-one
 * and one-to-many times avoid them only near both ends (estimates for
 * ranking, lower bounds).
 */
void fs_route_query_avoid(struct fs_route_query *q, const uint8_t *edge_closed);
/** The edges @q avoids now (fs_route_query_avoid()), or NULL. */
const uint8_t *fs_route_query_avoided(const struct fs_route_query *q);
/** Counters of @q's point-to-point routes since it was created. */
struct fs_route_stats fs_route_query_stats(const struct fs_route_query *q);

/**
 * Fastest travel time from network node @from to node @to at @hour (0..23),
 * obeying turns (any first edge out of @from, any last edge into @to).
 * If @path is not NULL it receives the network edges in travel order
 * (empty when from == to). Returns 0, -ENOENT if @to cannot be reached,
 * -EINVAL for bad ids or hour, -ENOMEM if @path cannot grow.
 */
int fs_route_nodes(struct fs_route_query *q, uint32_t hour, uint32_t from, uint32_t to,
		   double *ret_time_s, struct fs_path *path);

/**
 * Fastest travel time from position @from to position @to: the rest of
 * from.edge, the network in between (with the turns at its ends: from
 * from.edge, onto to.edge), and the first to.offset_m of to.edge; or just the
 * stretch between the offsets when both are on the same edge and @to lies
 * ahead. Offsets are clamped to the edge. @path (may be NULL) gets from.edge,
 * the edges between, and to.edge (once if they are the same).
 */
int fs_route_positions(struct fs_route_query *q, uint32_t hour, struct fs_road_pos from,
		       struct fs_road_pos to, double *ret_time_s, struct fs_path *path);

/**
 * Travel times from each of @count @sources to @target (e.g. vehicles to a
 * pickup), INFINITY where unreachable, into @ret_times_s[count]. Much faster
 * than @count separate queries: one backward search from the target, then
 * pruned forward searches, or a linear sweep over the hierarchy (PHAST) when
 * there are many sources. Returns 0, or -EINVAL for a bad edge or hour.
 */
int fs_route_many_to_one(struct fs_route_query *q, uint32_t hour, const struct fs_road_pos *sources,
			 uint32_t count, struct fs_road_pos target, double *ret_times_s);
/** Travel times from @source to each of @count @targets; see fs_route_many_to_one(). */
int fs_route_one_to_many(struct fs_route_query *q, uint32_t hour, struct fs_road_pos source,
			 const struct fs_road_pos *targets, uint32_t count, double *ret_times_s);

/**
 * Reference: Dijkstra over the network's edges, turn by turn (no hierarchy),
 * node to node, with the same weights and turn rules (and around the closed
 * edges of fs_route_query_avoid()). Same contract as fs_route_nodes(); for
 * tests and benchmarks.
 */
int fs_router_dijkstra(struct fs_route_query *q, uint32_t hour, uint32_t from, uint32_t to,
		       double *ret_time_s, struct fs_path *path);
/** Reference for fs_route_positions(), the same way. */
int fs_router_dijkstra_positions(struct fs_route_query *q, uint32_t hour, struct fs_road_pos from,
				 struct fs_road_pos to, double *ret_time_s, struct fs_path *path);
/**
 * Reference: times from @from to every node into @ret_times_s[node_count]
 * (INFINITY if unreachable), turn by turn as fs_router_dijkstra().
 */
int fs_router_dijkstra_all(struct fs_route_query *q, uint32_t hour, uint32_t from,
			   double *ret_times_s);

#endif
