/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/network.h - the road network: a directed graph in compressed sparse rows.
 *
 * Nodes are way end points and nodes shared by two or more drivable ways;
 * an edge is one direction of travel along the way geometry between two graph
 * nodes and keeps that geometry as shape points (for drawing and snapping).
 * Coordinates are metres east (x) and north (y) of the network's projection
 * origin. The structure is plain data: read it directly, build it with
 * fs/network_build.h (the file loaders: fs/network_load.h in loaders/), free it
 * with fs_network_destroy().
 */
#ifndef FS_NETWORK_H
#define FS_NETWORK_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"

enum fs_road_class {
	FS_ROAD_MOTORWAY = 0,
	FS_ROAD_TRUNK,
	FS_ROAD_PRIMARY,
	FS_ROAD_SECONDARY,
	FS_ROAD_TERTIARY,
	FS_ROAD_UNCLASSIFIED,
	FS_ROAD_RESIDENTIAL,
	FS_ROAD_LIVING_STREET,
	FS_ROAD_SERVICE,
	FS_ROAD_MOTORWAY_LINK,
	FS_ROAD_TRUNK_LINK,
	FS_ROAD_PRIMARY_LINK,
	FS_ROAD_SECONDARY_LINK,
	FS_ROAD_TERTIARY_LINK,
	FS_ROAD_OTHER,
	FS_ROAD_CLASS_COUNT,
};

/* Local equirectangular projection about (origin_lat, origin_lon): accurate
 * to well under 0.1 % across a city-sized extent. */
struct fs_projection {
	double origin_lat;
	double origin_lon;
	double metres_per_deg_lat;
	double metres_per_deg_lon;
};

struct fs_point {
	double x;
	double y;
};

struct fs_node {
	double x, y;     /* metres in the local frame */
	double lat, lon; /* WGS84 degrees */
	int64_t osm_id;  /* or the external id for CSV networks; -1 for generated */
};

struct fs_edge {
	uint32_t from, to;
	float length_m;
	float speed_mps;      /* free-flow speed */
	float travel_time_s;  /* length_m / speed_mps, plus the junction delay at its end once
			       * the world applied it (fs_traffic_apply_junctions()) */
	uint8_t lanes;
	uint8_t road_class;   /* enum fs_road_class */
	uint16_t flags;       /* FS_EDGE_* */
	uint32_t name;        /* offset into names (0 = unnamed) */
	uint32_t shape_first; /* index into shape[] of the first point (the from node) */
	uint32_t shape_count; /* >= 2: from node, intermediate points, to node */
};

enum fs_edge_flags {
	FS_EDGE_ONEWAY = 1 << 0,
	FS_EDGE_ROUNDABOUT = 1 << 1,
	/* Junction control where the edge ends, from OSM node tags on its way
	 * (a node after its start, up to and including its end node):
	 * highway=traffic_signals, highway=stop, highway=give_way. */
	FS_EDGE_SIGNAL = 1 << 2,
	FS_EDGE_STOP = 1 << 3,
	FS_EDGE_GIVE_WAY = 1 << 4,
};

/* A turn from the end of edge @from onto edge @to (which starts where @from ends). */
struct fs_turn {
	uint32_t from, to;
};

struct fs_network {
	uint32_t node_count;
	uint32_t edge_count;
	struct fs_node *nodes;
	struct fs_edge *edges;     /* sorted by from: out edges of v are [out_first[v], out_first[v+1]) */
	uint32_t *out_first;       /* node_count + 1 entries */
	uint32_t *in_edges;        /* edge ids sorted by to: in edges of v are in_edges[in_first[v] ..] */
	uint32_t *in_first;        /* node_count + 1 entries */
	struct fs_point *shape;    /* edge geometry, shared buffer */
	uint32_t shape_count;
	/* Derived from shape when the network is built (NULL on one assembled by hand):
	 * shape_seg[k] is the length (hypot) and heading (atan2) of the segment ending at
	 * shape point k, and at an edge's first point (which ends no segment) the edge's
	 * shape length, its segment lengths summed in point order: the exact values
	 * fs_network_shape_seg_m() and fs_network_edge_shape_m() would compute, next to
	 * each other, so a position along an edge costs no square roots or arc tangents
	 * and few cache misses (positions of 100,000 vehicles a tick). */
	struct fs_shape_seg { double length_m, heading; } *shape_seg;
	char *names;               /* NUL-separated road names; names[0] == '\0' */
	uint32_t names_size;
	struct fs_projection proj;
	double min_x, min_y, max_x, max_y; /* bounding box, metres */
	char source[256];          /* what it was loaded from, for messages */
	/* Added by the network module: membership of the largest strongly
	 * connected component (1 = in it). OSM networks keep only that component,
	 * so every entry is 1 there; CSV and grid networks are kept exactly as
	 * given, so restrict pickups and drop-offs to nodes marked here. */
	uint8_t *in_largest_scc;   /* node_count entries */
	uint32_t largest_scc_size; /* number of nodes marked in in_largest_scc */
	/* Turns no car may take (OSM turn restrictions, see fs_network_load_osm()),
	 * sorted by (from, to), no duplicates; none on CSV and grid networks. */
	struct fs_turn *banned_turns;
	uint32_t banned_turn_count;
};

/* A position on the network: @offset_m metres along edge @edge from its from node. */
struct fs_road_pos {
	uint32_t edge;
	double offset_m;
};

/** Length of the shape segment ending at shape point @k (> 0: not an edge's first point). */
static inline double fs_network_shape_seg_m(const struct fs_network *net, uint32_t k)
{
	if (net->shape_seg) {
		return net->shape_seg[k].length_m;
	}
	return hypot(net->shape[k].x - net->shape[k - 1].x, net->shape[k].y - net->shape[k - 1].y);
}

/** Heading (radians, atan2(dy, dx)) of the shape segment ending at shape point @k. */
static inline double fs_network_shape_heading(const struct fs_network *net, uint32_t k)
{
	if (net->shape_seg) {
		return net->shape_seg[k].heading;
	}
	return atan2(net->shape[k].y - net->shape[k - 1].y, net->shape[k].x - net->shape[k - 1].x);
}

/** Length of @edge's shape: its segment lengths summed in point order. */
static inline double fs_network_edge_shape_m(const struct fs_network *net, uint32_t edge)
{
	const struct fs_edge *e = &net->edges[edge];
	if (net->shape_seg) {
		return net->shape_seg[e->shape_first].length_m;
	}
	double sum = 0.0;
	for (uint32_t i = 1; i < e->shape_count; i++) {
		sum += fs_network_shape_seg_m(net, e->shape_first + i);
	}
	return sum;
}

/** Local projection about (@origin_lat, @origin_lon). */
void fs_projection_init(struct fs_projection *proj, double origin_lat, double origin_lon);
/** WGS84 degrees to metres east/north of the origin. */
struct fs_point fs_projection_to_xy(const struct fs_projection *proj, double lat, double lon);
/** Metres east/north of the origin back to WGS84 degrees. */
void fs_projection_to_latlon(const struct fs_projection *proj, struct fs_point p, double *ret_lat,
			     double *ret_lon);

/**
 * A synthetic grid city: @rows x @cols intersections @spacing_m apart, every
 * street two-way at @speed_mps, one lane per direction, class residential.
 * Node r * cols + c is at x = c * spacing_m, y = r * spacing_m; east-west
 * streets are named "Street <r>", north-south ones "Avenue <c>".
 * Caller frees with fs_network_destroy(). NULL on bad arguments or no memory.
 */
struct fs_network *fs_network_grid(uint32_t rows, uint32_t cols, double spacing_m, double speed_mps,
				   struct fs_error *err);

/** Free @net and everything it owns; NULL is a no-op. */
void fs_network_destroy(struct fs_network *net);

/**
 * May a car at the end of edge @from go on along edge @to? False when @to
 * does not start where @from ends or the turn is banned (banned_turns);
 * U-turns are turns like any other here (their cost is the router's).
 */
bool fs_network_turn_allowed(const struct fs_network *net, uint32_t from, uint32_t to);

/**
 * The other direction of @edge's street: an edge from its to node to its
 * from node with the same length (to 1 cm), the lowest id of them; UINT32_MAX
 * when the street is one-way. A position @offset_m along @edge is
 * length_m - @offset_m along it.
 */
uint32_t fs_network_reverse_edge(const struct fs_network *net, uint32_t edge);

/** Name of the road @edge lies on; "" when unnamed. Never NULL. */
const char *fs_network_edge_name(const struct fs_network *net, uint32_t edge);

/**
 * The point @offset_m metres along @edge (clamped to [0, length_m]),
 * following its shape. Offsets are measured in the edge's length_m; the shape
 * is walked proportionally. Returns 0, or -EINVAL for a bad edge id.
 */
int fs_network_edge_point_at(const struct fs_network *net, uint32_t edge, double offset_m,
			     struct fs_point *ret_point);

/**
 * Is @road_class a motorway, a trunk road or a link of either: the roads an
 * ODD without motorways excludes, and where riders are not picked up.
 */
bool fs_road_is_motorway(uint8_t road_class);
/** The OSM highway=* value of @road_class ("road" for FS_ROAD_OTHER, "?" if bad). */
const char *fs_road_class_name(int road_class);
/** The class of OSM highway=@name, or -1 if it is not a drivable class. */
int fs_road_class_from_name(const char *name);

/* A spatial index over edge geometry for snapping points to roads. */
struct fs_network_index;

/**
 * Index the shape segments of @net (which must outlive the index) in a
 * uniform grid. With @largest_scc_only, only edges between nodes of the
 * largest strongly connected component are indexed (use it for pickups on
 * CSV networks). Immutable once built: any number of threads may snap.
 * NULL on no memory.
 */
struct fs_network_index *fs_network_index_create(const struct fs_network *net,
						 bool largest_scc_only);
/** The same over only the edges whose byte in @include is nonzero (NULL = all). */
struct fs_network_index *fs_network_index_create_for(const struct fs_network *net, bool largest_scc_only,
						     const uint8_t *include);
/** NULL is a no-op. */
void fs_network_index_destroy(struct fs_network_index *idx);

/**
 * Nearest road position to (@x, @y) (metres, network frame): the edge, the
 * offset along it (in length_m units, as fs_network_edge_point_at() takes)
 * and the straight-line distance. Ties go to the lowest edge id, so of a
 * two-way street's pair the lower id wins. Returns 0, -ENOENT if nothing is
 * indexed, -EINVAL for non-finite coordinates.
 */
int fs_network_snap(const struct fs_network *net, const struct fs_network_index *idx, double x,
		    double y, uint32_t *ret_edge, double *ret_offset_m, double *ret_dist_m);

/**
 * A point of the streets around the junction nearest (@x, @y) (found with
 * @idx): of the streets meeting there (a two-way street once), one drawn by
 * @u in [0, 1) with a probability proportional to its length, and on it a
 * point @v in [0, 1) of the way to its middle. So a junction's share of
 * riders stands along the half-blocks nearer to it than to any other: spread
 * over every junction, uniformly along the streets. Only streets of the
 * largest SCC, and motorways only where nothing else meets. Returns 0,
 * -ENOENT if nothing is indexed or no street qualifies, -EINVAL for
 * non-finite input.
 */
int fs_network_point_near_junction(const struct fs_network *net, const struct fs_network_index *idx, double x,
				   double y, double u, double v, struct fs_point *ret_point);

/**
 * Mark the largest strongly connected component of @net in @ret_mask
 * (node_count bytes, 1 = member) and return its size. Iterative Tarjan,
 * O(nodes + edges). Returns 0 for an empty network, -ENOMEM on no memory.
 */
int64_t fs_network_largest_scc(const struct fs_network *net, uint8_t *ret_mask);

#endif
