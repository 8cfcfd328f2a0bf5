/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/geofence.h - operational design domain (ODD) zones: polygons with holes
 * and multipolygons, stored in the local metre frame of a projection.
 *
 * A set holds zones; a zone is one or more polygons, each an outer ring and
 * any number of holes. Zones come from lat/lon or x/y lists or from a GeoJSON
 * file (Polygon or MultiPolygon, as a bare geometry, a Feature or a
 * FeatureCollection). Point tests use a bounding box, then even-odd ray
 * crossing over only the polygon edges of the point's horizontal slab, so a
 * zone with thousands of vertices costs a few edge tests per query.
 *
 * Points exactly on a boundary may test either way (the half-open crossing
 * rule decides), like any floating-point point-in-polygon test.
 */
#ifndef FS_GEOFENCE_H
#define FS_GEOFENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"
#include "fs/network.h"

struct fs_geofence;
struct fs_geofence_zone;

/* How a ring's coordinate pairs are given. */
enum fs_geofence_coords {
	FS_GEOFENCE_LATLON = 0, /* (lat, lon) degrees, WGS84 */
	FS_GEOFENCE_LONLAT,     /* (lon, lat) degrees, GeoJSON order */
	FS_GEOFENCE_XY,         /* (x, y) metres in the set's local frame */
};

/* A ring: @count coordinate pairs (2 * count doubles). It may repeat the first
 * point at the end (closed, as in GeoJSON) or not; it needs 3 distinct points. */
struct fs_geofence_ring {
	const double *coords;
	size_t count;
};

/* A polygon: rings[0] is the outer boundary, the rest are holes. */
struct fs_geofence_polygon {
	const struct fs_geofence_ring *rings;
	size_t ring_count;
};

/**
 * An empty zone set in the frame of @proj (copied; may be NULL: the first
 * lat/lon zone then fixes the origin at its bounding-box centre). NULL on no memory.
 */
struct fs_geofence *fs_geofence_create(const struct fs_projection *proj);
/** Free the set and its zones; NULL is a no-op. */
void fs_geofence_destroy(struct fs_geofence *g);
/** The set's projection (fixed by create or by the first lat/lon zone). */
const struct fs_projection *fs_geofence_projection(const struct fs_geofence *g);

/**
 * Add a zone made of @polygon_count polygons. @name may be NULL. Returns the
 * new zone's index (>= 0), -EINVAL for a bad ring (too few points, not
 * finite, a duplicate @id) with @err filled, or -ENOMEM.
 */
int fs_geofence_add_zone(struct fs_geofence *g, int64_t id, const char *name,
			 enum fs_geofence_coords coords, const struct fs_geofence_polygon *polygons,
			 size_t polygon_count, struct fs_error *err);

/* Where a set stood, for undoing a batch of fs_geofence_add_zone() calls. */
struct fs_geofence_mark {
	size_t zone_count;
	bool have_proj; /* whether the projection was fixed */
};
/** The set as it stands now. */
struct fs_geofence_mark fs_geofence_get_mark(const struct fs_geofence *g);
/** Drop the zones added since @mark and unfix a projection fixed since. */
void fs_geofence_rollback(struct fs_geofence *g, struct fs_geofence_mark mark);

/** Number of zones. */
size_t fs_geofence_zone_count(const struct fs_geofence *g);
/** Zone number @index (0-based, in insertion order); NULL when out of range. */
const struct fs_geofence_zone *fs_geofence_zone(const struct fs_geofence *g, size_t index);
/** The zone with id @id; NULL when there is none. */
const struct fs_geofence_zone *fs_geofence_zone_by_id(const struct fs_geofence *g, int64_t id);

int64_t fs_geofence_zone_id(const struct fs_geofence_zone *z);
/** Never NULL ("" when unnamed). */
const char *fs_geofence_zone_name(const struct fs_geofence_zone *z);
/** Index of @z in its set. */
size_t fs_geofence_zone_index(const struct fs_geofence_zone *z);
/** Bounding box in metres. */
void fs_geofence_zone_bounds(const struct fs_geofence_zone *z, double *ret_min_x, double *ret_min_y,
			     double *ret_max_x, double *ret_max_y);
/** Area in square metres (outer rings minus holes). */
double fs_geofence_zone_area(const struct fs_geofence_zone *z);

/** Is (x, y) inside @z (inside an outer ring and in none of its holes)? */
bool fs_geofence_zone_contains(const struct fs_geofence_zone *z, double x, double y);

/**
 * Indices of the zones containing (x, y), ascending, written to @ret_zones
 * (room for @max; may be NULL when @max is 0). Returns how many zones contain
 * the point, which may exceed @max.
 */
size_t fs_geofence_zones_at(const struct fs_geofence *g, double x, double y, uint32_t *ret_zones,
			    size_t max);

/**
 * Is the whole segment a-b inside @z? Both ends inside is not enough: the
 * segment may cross a concave part of the boundary or a hole, which is checked.
 */
bool fs_geofence_segment_inside(const struct fs_geofence_zone *z, struct fs_point a,
				struct fs_point b);

/** Is every shape segment of @edge of @net inside @z? */
bool fs_geofence_edge_inside(const struct fs_geofence_zone *z, const struct fs_network *net,
			     uint32_t edge);

/**
 * Does the route @edges[0..n) of @net leave @z anywhere? When it does and
 * @ret_first_outside is not NULL, it receives the position in @edges of the
 * first edge that is not wholly inside.
 */
bool fs_geofence_path_leaves(const struct fs_geofence_zone *z, const struct fs_network *net,
			     const uint32_t *edges, size_t n, size_t *ret_first_outside);

#endif
