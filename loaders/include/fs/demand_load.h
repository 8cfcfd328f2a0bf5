/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/demand_load.h - demand from files: profiles derived from NYC TLC and
 * Chicago trip records and their own CSV form, zone tables and weights, and
 * replay of trip records as requests. Part of libfs-loaders; the generator
 * and the profile it reads are fs/demand.h in sim/.
 */
#ifndef FS_DEMAND_LOAD_H
#define FS_DEMAND_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/demand.h"
#include "fs/error.h"
#include "fs/geofence.h"
#include "fs/network.h"
#include "fs/timezone.h"

/* ---- profiles: derive, save, load ---- */

/**
 * Derive a profile from NYC TLC yellow-taxi CSVs (pickup_datetime,
 * dropoff_datetime, trip_distance): hourly shares by pickup hour, histograms
 * of trip_distance (miles -> metres) and duration, quantiles, hourly speeds.
 * Drops distance <= 0, duration < 30 s and > 3 h. The detour factor is left
 * 0 (it needs zone centroids: fs_demand_detour_from_tlc()). Bad rows fail
 * with "file:line:column: reason".
 */
int fs_demand_profile_from_tlc(const char *const *paths, size_t n,
			       struct fs_demand_profile *ret_profile, struct fs_error *err);

/**
 * Same from Chicago taxi CSVs (trip_start_timestamp: Unix s of local wall
 * time, trip_seconds, trip_miles); rows with an empty field are dropped and
 * counted. The detour factor is the median of trip_miles over the beeline
 * between the pickup and drop-off coordinates, for beelines >= 2 km.
 */
int fs_demand_profile_from_chicago(const char *const *paths, size_t n,
				   struct fs_demand_profile *ret_profile, struct fs_error *err);

/** Write @p as CSV to @path, @comment (may be NULL; may hold newlines) as '#' lines first. */
int fs_demand_profile_save(const struct fs_demand_profile *p, const char *path,
			   const char *comment, struct fs_error *err);

/** Read a profile written by fs_demand_profile_save(); "file:line:column: reason" on error. */
int fs_demand_profile_load(const char *path, struct fs_demand_profile *ret_profile,
			   struct fs_error *err);

/**
 * fs_demand_create_from_profile() (fs/demand.h) with params->profile, or when
 * that is NULL with the profile read from params->profile_path. Fails with
 * -EINVAL (bad parameters, no profile and no profile_path, no place with a
 * positive origin or destination weight) or the profile loader's error.
 */
struct fs_demand *fs_demand_create(const struct fs_demand_params *params,
				   const struct fs_demand_place *places, size_t n,
				   struct fs_error *err);

/* ---- zone tables (TLC taxi_zone_centroids.csv) ---- */

struct fs_demand_zone {
	int64_t id;
	char name[64];
	char borough[32];
	double lat, lon;               /* centroid, WGS84 */
	struct fs_point centroid;      /* metres in the table's frame */
	struct fs_point inside;        /* a point surely inside the zone */
	double area_km2;
};

struct fs_demand_zones {
	struct fs_demand_zone *zones; /* sorted by id */
	size_t count;
	struct fs_projection proj;
};

/**
 * Load location_id,zone,borough,area_group,centroid_lon,centroid_lat,
 * inside_lon,inside_lat,area_km2 rows (columns found by name). @proj may be
 * NULL: the frame is then centred on the mean centroid. Free with
 * fs_demand_zones_finish().
 */
int fs_demand_zones_load(const char *path, const struct fs_projection *proj,
			 struct fs_demand_zones *ret_zones, struct fs_error *err);
void fs_demand_zones_finish(struct fs_demand_zones *zones);
/** The zone with @id, or NULL. */
const struct fs_demand_zone *fs_demand_zones_find(const struct fs_demand_zones *zones, int64_t id);

/* Detour of TLC trips: trip_distance over the beeline between zone centroids. */
struct fs_demand_detour {
	double median_ratio; /* median of per-trip ratios */
	double sum_ratio;    /* sum of distances / sum of beelines */
	uint64_t trips;      /* kept trips between two known, different zones >= min beeline apart */
};

/** Detour of the kept TLC trips whose zone centroids are >= @min_beeline_m apart. */
int fs_demand_detour_from_tlc(const char *const *paths, size_t n,
			      const struct fs_demand_zones *zones, double min_beeline_m,
			      struct fs_demand_detour *ret, struct fs_error *err);

/* ---- zone weights ---- */

/**
 * Pickup and drop-off shares per zone of the kept TLC trips (unknown zone
 * ids are skipped). Caller frees *ret_weights.
 */
int fs_demand_zone_weights_from_tlc(const char *const *paths, size_t n,
				    const struct fs_demand_zones *zones,
				    struct fs_demand_zone_weight **ret_weights, size_t *ret_count,
				    struct fs_error *err);
int fs_demand_zone_weights_save(const struct fs_demand_zone_weight *w, size_t n, const char *path,
				const char *comment, struct fs_error *err);
/** Read zone,origin,dest rows. Caller frees *ret_weights. */
int fs_demand_zone_weights_load(const char *path, struct fs_demand_zone_weight **ret_weights,
				size_t *ret_count, struct fs_error *err);

/* ---- replay ---- */

struct fs_demand_replay_params {
	const struct fs_projection *proj; /* for lat/lon files; may be NULL for x/y files */
	const struct fs_geofence *zones;  /* label points with the first containing zone; may be NULL */
	int64_t t_offset_ms;              /* added to every request time */
};

/**
 * Replay requests from a CSV with header t_request_s,origin_lat,origin_lon,
 * dest_lat,dest_lon or t_request_s,origin_x,origin_y,dest_x,dest_y (metres;
 * columns in any order, others ignored, '#' comment lines skipped). Appends
 * exactly those requests to @out, ordered by time, id = record index.
 * All or nothing: on error @out is unchanged and @err names file:line:column.
 */
int64_t fs_demand_replay_csv(const char *path, const struct fs_demand_replay_params *params,
			     struct fs_demand_batch *out, struct fs_error *err);

/**
 * Replay zone-based TLC records: origin and destination are the centroids of
 * pickup_location_id and dropoff_location_id in @zones' frame, the time is
 * pickup_datetime, a wall-clock time on @tz's clock (NULL: UTC), and the recorded
 * distance and duration are kept. Unknown zone ids are an error unless
 * @skip_unknown_zones (then counted in *ret_skipped, may be NULL).
 */
int64_t fs_demand_replay_tlc(const char *const *paths, size_t n,
			     const struct fs_demand_zones *zones, const struct fs_timezone *tz,
			     bool skip_unknown_zones, struct fs_demand_batch *out,
			     uint64_t *ret_skipped, struct fs_error *err);

#endif
