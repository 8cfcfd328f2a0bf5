/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/network.h - the road network: a directed graph in compressed sparse rows.
 *
 * Nodes are way end points and nodes shared by two or more drivable ways;
 * an edge is one direction of travel along the way geometry between two graph
 * nodes and keeps that geometry as shape points (for drawing and snapping).
 * Coordinates are metres east (x) and north (y) of the network's projection
 * origin. The structure is plain data: read it directly, build it with the
 * loaders below, free it with fs_network_destroy().
 */
#ifndef FS_NETWORK_H
#define FS_NETWORK_H

#include <stdbool.h>
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
	float travel_time_s;  /* length_m / speed_mps */
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
	char *names;               /* NUL-separated road names; names[0] == '\0' */
	uint32_t names_size;
	struct fs_projection proj;
	double min_x, min_y, max_x, max_y; /* bounding box, metres */
	char source[256];          /* what it was loaded from, for messages */
};

#endif
