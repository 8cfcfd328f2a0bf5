/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/spatial.h - a uniform-grid index of moving points (vehicles) keyed by id.
 *
 * Insert, move and remove are O(1) (amortised), so re-indexing 100,000
 * vehicles every tick costs a few milliseconds. Queries return ids sorted by
 * (distance, id): the answer depends only on the current positions, never on
 * the order in which points were inserted or moved, so runs replay exactly.
 *
 * The grid covers a bounding box (usually the network's, in local metres);
 * points outside it are kept in the border cells and still found correctly.
 * Ids index an internal array: keep them dense (0..n-1), e.g. vehicle indices.
 */
#ifndef FS_SPATIAL_H
#define FS_SPATIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fs_spatial;

/* One query answer. */
struct fs_spatial_hit {
	uint32_t id;
	double dist_m;
};

/* A caller-owned, growable list of hits for radius queries: zero-initialise,
 * reuse across queries, release with fs_spatial_hits_finish(). */
struct fs_spatial_hits {
	struct fs_spatial_hit *items;
	size_t count;
	size_t capacity;
};

/* Return true to keep @id in a query's answer. */
typedef bool (*fs_spatial_filter_fn)(void *user, uint32_t id);

/**
 * Create an empty index over [min_x, max_x] x [min_y, max_y] (metres) with
 * square cells of @cell_m. A good cell is about the spacing of the points
 * (e.g. sqrt(area / n)). Returns NULL on bad arguments or out of memory.
 */
struct fs_spatial *fs_spatial_create(double min_x, double min_y, double max_x, double max_y,
				     double cell_m);
/** Free the index; NULL is a no-op. */
void fs_spatial_destroy(struct fs_spatial *s);

/** Add @id at (x, y). Returns 0, -EEXIST if present, -EINVAL for a non-finite point, -ENOMEM. */
int fs_spatial_insert(struct fs_spatial *s, uint32_t id, double x, double y);
/** Move @id to (x, y). Returns 0, -ENOENT if absent, -EINVAL, -ENOMEM. */
int fs_spatial_move(struct fs_spatial *s, uint32_t id, double x, double y);
/** Remove @id. Returns 0 or -ENOENT. */
int fs_spatial_remove(struct fs_spatial *s, uint32_t id);
/** Where @id is; false (and nothing written) if it is not indexed. */
bool fs_spatial_get(const struct fs_spatial *s, uint32_t id, double *ret_x, double *ret_y);
/** Number of indexed points. */
size_t fs_spatial_count(const struct fs_spatial *s);

/**
 * The @k points nearest to (x, y) that pass @filter (may be NULL), written to
 * @ret_hits (room for @k) sorted by distance, ties by id. Returns how many
 * were found (< k when fewer points pass). Read-only: concurrent queries on
 * one index are safe.
 */
size_t fs_spatial_knn(const struct fs_spatial *s, double x, double y, size_t k,
		      fs_spatial_filter_fn filter, void *user, struct fs_spatial_hit *ret_hits);

/**
 * Replace @hits with every point within @radius_m of (x, y) (distance <=
 * radius) that passes @filter (may be NULL), sorted by distance, ties by id.
 * Returns the count or -ENOMEM.
 */
int fs_spatial_radius(const struct fs_spatial *s, double x, double y, double radius_m,
		      fs_spatial_filter_fn filter, void *user, struct fs_spatial_hits *hits);

/** Free the storage of @hits and zero it. */
void fs_spatial_hits_finish(struct fs_spatial_hits *hits);

#endif
