/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/demand.h - rider demand: a seeded Poisson generator whose defaults are
 * derived from real trip records, and the zone-centroid travel model for
 * cities without a road network. Deriving, reading and writing profiles and
 * replaying trip records are file work: fs/demand_load.h in loaders/.
 *
 * Profiles: share of trips per time-of-day slot, trip-length and duration
 * histograms, quantiles, detour factor and hourly speeds. They are derived
 * from the NYC TLC and Chicago samples in data/ by fs_demand_profile_from_*
 * and committed as data/demand/<name>_profile.csv (docs/demand.md);
 * fs_demand_create() (loaders) reads data/demand/nyc2019_profile.csv unless
 * given a profile.
 *
 * Generation is a pure function of (seed, substream, params, places, window):
 * time is cut into fixed 60 s buckets aligned to t = 0, each with its own
 * random stream, so [t0, t1) gives the same requests whether asked for in
 * one call or in many slices.
 */
#ifndef FS_DEMAND_H
#define FS_DEMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"
#include "fs/geofence.h"
#include "fs/network.h"
#include "fs/timezone.h"

#define FS_DEMAND_MAX_SLOTS 288 /* 5-minute slots at the finest */
#define FS_DEMAND_MAX_BINS 96
#define FS_DEMAND_QUANTILES 7
#define FS_DEMAND_BUCKET_MS 60000 /* generation bucket; part of every result */
#define FS_DEMAND_NO_ZONE (-1)
#define FS_DEMAND_NO_PLACE UINT32_MAX

/* Probabilities of the quantiles kept in a profile: 0.10 0.25 0.50 0.75 0.90 0.95 0.99. */
extern const double fs_demand_quantile_p[FS_DEMAND_QUANTILES];

/* A histogram: bin i is [edges[i], edges[i + 1]), shares sum to 1. */
struct fs_demand_histogram {
	uint32_t bin_count;
	double edges[FS_DEMAND_MAX_BINS + 1];
	double share[FS_DEMAND_MAX_BINS];
};

enum fs_demand_length_kind {
	FS_DEMAND_LENGTH_ROUTE = 0, /* driven distance (odometer), as TLC trip_distance */
	FS_DEMAND_LENGTH_BEELINE,   /* straight line between origin and destination */
};

/* How the records behind a profile were filtered. */
struct fs_demand_source {
	uint64_t read;          /* data rows read */
	uint64_t kept;
	uint64_t dropped_zero;  /* distance <= 0 */
	uint64_t dropped_short; /* duration < 30 s */
	uint64_t dropped_long;  /* duration > 3 h */
	uint64_t dropped_missing; /* an empty time, distance or duration field */
};

struct fs_demand_profile {
	char name[64];
	struct fs_demand_source source;
	uint32_t slots_per_day;                 /* divides 1440: 24 = hourly */
	double slot_share[FS_DEMAND_MAX_SLOTS]; /* share of a day's trips per local-time slot */
	enum fs_demand_length_kind length_kind;
	struct fs_demand_histogram length_m;
	struct fs_demand_histogram duration_s;
	double length_quantile_m[FS_DEMAND_QUANTILES];   /* of the kept records, exact */
	double duration_quantile_s[FS_DEMAND_QUANTILES];
	double mean_length_m;
	double mean_duration_s;
	double detour_factor;       /* route length / beeline (median); 0 = unknown */
	double hour_speed_mps[24];  /* sum of distance / sum of duration per pickup hour */
};

/* ---- zone weights ---- */

struct fs_demand_zone_weight {
	int64_t zone;
	double origin; /* relative weight of trips starting in the zone */
	double dest;   /* relative weight of trips ending in it */
};

/* ---- travel model for cities without a road network ---- */

/* distance = beeline x detour_factor; time = distance / hour_speed_mps[local hour]. */
struct fs_demand_travel_model {
	double detour_factor;
	double hour_speed_mps[24];
	const struct fs_timezone *tz; /* the city's clock (borrowed); NULL = UTC */
};

/**
 * From a profile's detour factor and hourly speeds, hours read on @tz's clock
 * (may be NULL: UTC; must outlive @m); -EINVAL when the profile has none.
 */
int fs_demand_travel_model_init(struct fs_demand_travel_model *m,
				const struct fs_demand_profile *p, const struct fs_timezone *tz);
double fs_demand_travel_distance_m(const struct fs_demand_travel_model *m, struct fs_point a,
				   struct fs_point b);
double fs_demand_travel_time_s(const struct fs_demand_travel_model *m, struct fs_point a,
			       struct fs_point b, int64_t t_ms);

/* ---- requests ---- */

struct fs_demand_request {
	uint64_t id;            /* generated: bucket * 2^24 + arrival; replay: record index */
	int64_t t_ms;           /* request time, Unix ms (simulated) */
	struct fs_point origin; /* metres, local frame */
	struct fs_point dest;
	int64_t origin_zone;    /* FS_DEMAND_NO_ZONE when none */
	int64_t dest_zone;
	uint32_t origin_place;  /* index into the generator's places; FS_DEMAND_NO_PLACE for replays */
	uint32_t dest_place;
	double beeline_m;
	double record_distance_m;  /* replayed TLC records: the recorded trip; else 0 */
	double record_duration_s;
};

/* A caller-owned growable list; zero-initialise, free with fs_demand_batch_finish(). */
struct fs_demand_batch {
	struct fs_demand_request *items;
	size_t count;
	size_t capacity;
};
void fs_demand_batch_finish(struct fs_demand_batch *b);

/* ---- generator ---- */

/* Where trips may start and end: e.g. network nodes of the largest SCC. */
struct fs_demand_place {
	double x, y;   /* metres, local frame */
	int64_t zone;  /* zone label (a geofence zone id or any integer); FS_DEMAND_NO_ZONE */
	double weight; /* relative attractiveness (1 = plain) */
};

struct fs_demand_params {
	uint64_t seed;
	uint32_t substream;  /* separates generators that share a seed (cities, operators) */
	double trips_per_day;
	const struct fs_timezone *tz; /* the city's clock for the slot profile (copied); NULL = UTC */
	const struct fs_demand_profile *profile; /* NULL: fs_demand_create() loads profile_path */
	const char *profile_path;
	/* Zone weights multiply place weights; NULL: every zone weighs 1. With a
	 * table, zones missing from it weigh 0. */
	const struct fs_demand_zone_weight *zone_weights;
	size_t zone_weight_count;
	double band_rel;       /* destination distance band: target +- max(band_rel * L, band_min_m) */
	double band_min_m;
	uint32_t length_draws; /* redraws of the length when no place lies in the band */
};

/** The documented defaults (each commented with its source in the .c file). */
void fs_demand_params_defaults(struct fs_demand_params *p);

struct fs_demand;

/**
 * A generator over @places (copied) with params->profile (copied; NULL is
 * -EINVAL: fs_demand_create() in fs/demand_load.h reads profile_path). Fails
 * with -EINVAL (bad parameters, no place with a positive origin or
 * destination weight).
 */
struct fs_demand *fs_demand_create_from_profile(const struct fs_demand_params *params,
						const struct fs_demand_place *places, size_t n,
						struct fs_error *err);
void fs_demand_destroy(struct fs_demand *d);
/** The profile in use. */
const struct fs_demand_profile *fs_demand_profile(const struct fs_demand *d);

/**
 * Append the requests with t in [t0_ms, t1_ms) to @out, ordered by time (then
 * id). Returns how many were appended, -EINVAL for t0_ms < 0, -ENOMEM (then
 * @out is as before). Read-only on @d: concurrent calls are safe.
 */
int64_t fs_demand_generate(const struct fs_demand *d, int64_t t0_ms, int64_t t1_ms,
			   struct fs_demand_batch *out);

/**
 * Share of trips that end inside @area among trips that start at @d's places
 * (drawn by origin weight) and run a length drawn from the profile, untruncated,
 * in a uniformly random direction: how many of the ride-hail trips starting in
 * a service area also end in it (docs/demand.md "Trips of the city"). The
 * geometry only: a real destination is not drawn to the area's own attractions.
 * @samples trips drawn from stream (@seed, DEMAND, UINT64_MAX), apart from
 * every generated request's. 0 for no samples.
 */
double fs_demand_internal_share(const struct fs_demand *d, const struct fs_geofence_zone *area,
				uint32_t samples, uint64_t seed);

/**
 * Places from the nodes of @net (only those in its largest SCC when
 * @scc_only), weight 1, no zone. Caller frees *ret_places.
 */
int fs_demand_places_from_network(const struct fs_network *net, bool scc_only,
				  struct fs_demand_place **ret_places, size_t *ret_count);
/** Set each place's zone to the id of the first zone of @g containing it (else FS_DEMAND_NO_ZONE). */
void fs_demand_places_label(struct fs_demand_place *places, size_t n, const struct fs_geofence *g);

#endif
