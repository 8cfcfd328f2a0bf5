/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/scenario.h - a run described in a file: everything a run needs (seed,
 * calendar, city, fleet, demand, dispatch, vehicle model, OEM programmes and
 * rollout plan) and the timed events that change it ("what if").
 *
 * A scenario is read from YAML (libyaml) with a strict schema: an unknown
 * key, a wrong type, a missing required field, an unknown event type or zone,
 * an out-of-range value or a bad date fails with "file:line:column: reason"
 * and nothing is returned. Every section is optional; what a file leaves out
 * keeps the value of fs_scenario_defaults(), which equals what the shipped
 * examples/default.yaml spells out (a unit test compares them). The schema
 * is documented in docs/scenario.md and by examples/default.yaml itself.
 *
 * Events: the same struct fs_scenario_event comes from a file's `events:`
 * list or from a live injection (a fleetsim.v1.ScenarioEvent whose params
 * map holds the same keys as the file, as strings). Both go through
 * fs_scenario_event_parse(), so an event is validated the same way whichever
 * way it arrives, and fs_scenario_event_format() writes the canonical
 * key/value form that parses back to an identical event.
 *
 * Pure library code: no I/O but reading the file, no clock, no globals.
 */
#ifndef FS_SCENARIO_H
#define FS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"
#include "fs/production.h"
#include "fs/rider.h"
#include "fs/timezone.h"
#include "fs/traffic.h"
#include "fs/vehicle.h"

#define FS_SCN_NAME_MAX 64
#define FS_SCN_PATH_MAX 1024
#define FS_SCN_LIST_MAX 64      /* vehicle ids or edges in one event (a list value of an event) */
/*
 * What a scenario file may hold (docs/scenario.md "Limits"). Each is far
 * above what a scenario needs and bounds what reading or applying it costs,
 * so an outsized file is refused at file:line:column in well under a second.
 */
#define FS_SCN_DEPTH_MAX 32          /* YAML collections inside collections (the schema needs 6) */
#define FS_SCN_NODES_MAX 1000000     /* YAML values in the file (~100 MB in memory) */
#define FS_SCN_ANCHORS_MAX 64        /* YAML anchors (&name) in the file */
#define FS_SCN_ITEMS_MAX 10000       /* values of one YAML list or keys of one mapping: events in a
					(a year of hourly events is 8,760), points of a polygon, ... */
#define FS_SCN_EVENT_KEYS_MAX 32     /* keys of one event (device_fault, the largest, takes 12) */
#define FS_SCN_ZONES_MAX 256         /* named zones of a city */
#define FS_SCN_DURATION_MAX_MS (100ULL * 365 * 86400000) /* a run's duration: 100 years */
#define FS_SCN_NEXT_TICK UINT64_MAX /* apply_tick of an injected event: "the next tick" */

/* ---- city ---------------------------------------------------------------- */

/* A named area (for events and demand weights): one lat/lon ring. */
struct fs_scenario_zone {
	char name[FS_SCN_NAME_MAX];
	double *latlon;         /* 2 * count doubles: lat, lon, lat, lon, ... (owned) */
	size_t count;
};

struct fs_scenario_depot {
	char name[FS_SCN_NAME_MAX];
	bool placed;            /* at lat/lon (snapped to the network); else spread over the area */
	double lat, lon;
	uint32_t plugs;
	double plug_kw;
};

/* ---- fleet ---------------------------------------------------------------- */

/* The city's rollout phase names: "data-collection", "supervised", "driverless". */
const char *fs_scenario_phase_name(int phase);

/* ---- demand / dispatch ---------------------------------------------------- */

struct fs_scenario_zone_weight {
	char zone[FS_SCN_NAME_MAX];
	double weight;          /* relative: origins and destinations in the zone */
};

enum fs_scenario_matcher {
	FS_SCN_MATCHER_BATCH = 0,
	FS_SCN_MATCHER_GREEDY = 1,
};

/* ---- events ------------------------------------------------------------- */

enum fs_scenario_event_type {
	FS_SCN_EVENT_NONE = 0,
	FS_SCN_EVENT_WEATHER,
	FS_SCN_EVENT_GEOFENCE,
	FS_SCN_EVENT_DEMAND_SURGE,
	FS_SCN_EVENT_ROAD_CLOSURE,
	FS_SCN_EVENT_DEVICE_FAULT,
	FS_SCN_EVENT_SOFTWARE_UPDATE,
	FS_SCN_EVENT_DEPOT_OUTAGE,
	FS_SCN_EVENT_SUPPLIER_SHORTAGE,
	FS_SCN_EVENT_RECALL,
	FS_SCN_EVENT_CALIBRATION_SPIKE,
	FS_SCN_EVENT_TYPE_COUNT,
};

enum fs_scenario_geofence_mode {
	FS_SCN_GEOFENCE_SET = 0,    /* the service area becomes the zone */
	FS_SCN_GEOFENCE_ADD = 1,    /* the zone is added to the service area */
	FS_SCN_GEOFENCE_REMOVE = 2, /* the zone is cut out of it */
};

enum fs_scenario_recall_action {
	FS_SCN_RECALL_REWORK = 0, /* back to rework / grounded while reworked */
	FS_SCN_RECALL_RETIRE = 1, /* scrapped / retired */
};

/*
 * One timed event, applied whole at the start of tick apply_tick and in force
 * for duration_ticks ticks (0 = from then on). Which fields matter depends on
 * the type (docs/scenario.md); the others stay zero, so two equal events
 * compare equal with fs_scenario_event_equal().
 */
struct fs_scenario_event {
	uint8_t type;                   /* enum fs_scenario_event_type */
	uint64_t apply_tick;            /* FS_SCN_NEXT_TICK: not yet scheduled (injection) */
	uint64_t duration_ticks;
	char zone[FS_SCN_NAME_MAX];     /* weather, geofence, demand_surge: a zone name or "all" */
	uint8_t severity;               /* weather: enum fs_rain */
	uint8_t geofence_mode;          /* enum fs_scenario_geofence_mode */
	double speed_factor;            /* weather: link speeds x this (0, 1] */
	double multiplier;              /* demand_surge: request rate x this */
	char way[FS_SCN_NAME_MAX];      /* road_closure: every edge of the way with this name */
	uint32_t edges[FS_SCN_LIST_MAX];/* road_closure: edge ids */
	uint32_t edge_count;
	uint32_t vehicles[FS_SCN_LIST_MAX]; /* device_fault, software_update: these ids, */
	uint32_t vehicle_count;
	double share;                   /*   or this share of the fleet (0, 1]; recall: share affected */
	uint8_t device;                 /* device_fault: enum fs_device_kind */
	int16_t device_index;           /* device_fault: -1 = every device of the kind */
	uint8_t health;                 /* device_fault: enum fs_device_health */
	uint32_t version;               /* software_update: e.g. 120 for "1.2" */
	int32_t depot;                  /* depot_outage: depot index */
	uint32_t plugs;                 /* depot_outage: plugs out, 0 = the whole depot */
	char programme[FS_SCN_NAME_MAX];/* supplier_shortage, recall, calibration_spike */
	char plant[FS_SCN_NAME_MAX];    /*   "" = every plant of the programme */
	double factor;                  /* supplier_shortage: plant rate x this [0, 1);
					 * calibration_spike: failure share x this (1, 100] */
	int64_t built_from_ms;          /* recall: vehicles built on these days (inclusive), */
	int64_t built_to_ms;            /*   Unix ms of the first and last day (midnight UTC) */
	uint8_t recall_action;          /* recall: enum fs_scenario_recall_action */
};

/* ---- the scenario --------------------------------------------------------- */

struct fs_scenario {
	char source[FS_SCN_PATH_MAX];   /* the file it was read from; "" for the defaults */
	char base_dir[FS_SCN_PATH_MAX]; /* relative paths in the file are relative to this */
	/* run */
	uint64_t seed;
	int64_t start_ms;               /* simulated Unix ms UTC */
	uint64_t duration_ms;
	uint32_t tick_ms;
	/* city */
	char city[FS_SCN_NAME_MAX];
	char map[FS_SCN_PATH_MAX];      /* network spec: city name, path, grid:..., csv:... */
	char geofence[FS_SCN_PATH_MAX]; /* shipped name, .geojson path, or "" with geofence_zone */
	char geofence_zone[FS_SCN_NAME_MAX]; /* or a zone of `zones` is the service area */
	char timezone[FS_SCN_NAME_MAX]; /* IANA zone ("America/New_York"); "" with utc_offset */
	int32_t utc_offset_s;           /* a fixed offset instead of a zone (when timezone is "") */
	struct fs_timezone tz;          /* the city's clock, from either: every local hour reads it
					 * (demand profile, dispatch KPI hours, night ODD rules) */
	struct fs_scenario_zone *zones;
	size_t zone_count;
	struct fs_scenario_depot *depots;
	size_t depot_count;
	/* fleet */
	uint32_t fleet_size;
	uint32_t shards;                /* vehicle-node processes (a hint; results do not depend on it) */
	uint8_t phase;                  /* enum fs_city_phase */
	double sw_share[FS_SW_VERSIONS_MAX]; /* initial share of the fleet on vehicle.sw[i] */
	/* demand */
	double city_trips_per_day;      /* ride-hail trips a day with both ends in the service area */
	double market_share;            /* the service's share of them */
	double trips_per_day;           /* the service's requests a day: city x share, or as written */
	char demand_profile[FS_SCN_PATH_MAX];  /* shipped name (data/demand/NAME_profile.csv) or path */
	char demand_replay[FS_SCN_PATH_MAX];   /* CSV of requests to replay instead; "" = generate */
	struct fs_scenario_zone_weight *zone_weights;
	size_t zone_weight_count;
	double patience_s;              /* no rider waits longer for a car (the platform's cap) */
	/* riders: patience, boarding, alighting, no-shows (fs/rider.h) */
	struct fs_rider_params riders;
	/* dispatch */
	uint8_t matcher;                /* enum fs_scenario_matcher */
	double batch_s;
	/* traffic: what streets cost (fs/traffic.h); hour_factor stays 1 here and is
	 * filled from speed_profile when a service loads the world */
	char speed_profile[FS_SCN_PATH_MAX]; /* "demand" (the demand profile), a profile, or "none" */
	struct fs_traffic_params traffic;
	double rebalance_s;             /* rebalancing period; 0 = off */
	bool charging;                  /* the platform sends cars to charge */
	/* vehicle model (fleet.software fills params.sw) */
	struct fs_vehicle_params vehicle;
	/* production and rollout sections: the production model's own params
	 * (fs_production_params_defaults() fills the defaults; the events stay
	 * in `events`, so production.disruption_count is 0) */
	struct fs_production_params production;
	/* timed events, sorted by apply_tick (stable: file order within a tick) */
	struct fs_scenario_event *events;
	size_t event_count;
};

/* The default city's clock (Atlanta keeps New York's): the zone a caller
 * reads for fs_scenario_defaults_with_tz(). */
#define FS_SCENARIO_DEFAULT_TIMEZONE "America/New_York"

/**
 * Fill @sc with the defaults: what examples/default.yaml says, each value
 * commented there with its source; @tz is the default zone
 * (FS_SCENARIO_DEFAULT_TIMEZONE, copied). Returns 0 or -ENOMEM (then @sc is
 * empty). fs_scenario_defaults() (fs/scenario_load.h) reads the zone from the
 * system tz database first. Release with fs_scenario_finish().
 */
int fs_scenario_defaults_with_tz(struct fs_scenario *sc, const struct fs_timezone *tz);

/** Free what @sc holds and zero it; NULL is a no-op. */
void fs_scenario_finish(struct fs_scenario *sc);

/** Deep copy of @src into @dst (which is overwritten). 0 or -ENOMEM. */
int fs_scenario_copy(struct fs_scenario *dst, const struct fs_scenario *src);

/**
 * Compare two scenarios field by field. Returns true when equal; otherwise
 * false with the first differing field's name in @ret_field (may be NULL).
 */
bool fs_scenario_equal(const struct fs_scenario *a, const struct fs_scenario *b, const char **ret_field);

/** The zone named @name, or NULL ("all" is not a stored zone). */
const struct fs_scenario_zone *fs_scenario_zone_find(const struct fs_scenario *sc, const char *name);
/** Index of the programme named @name or -1. */
int fs_scenario_programme_find(const struct fs_scenario *sc, const char *name);
/** Index in vehicle.sw of release @version or -1. */
int fs_scenario_sw_find(const struct fs_scenario *sc, uint32_t version);

/** Number of ticks of the run: duration rounded up to whole ticks. */
uint64_t fs_scenario_ticks(const struct fs_scenario *sc);

/**
 * Resolve a path written in the scenario: an absolute path is returned as is,
 * a relative one is joined to base_dir. Returns 0 or -ENAMETOOLONG.
 */
int fs_scenario_path(const struct fs_scenario *sc, const char *spec, char *buf, size_t size);

/* ---- events ----------------------------------------------------------------- */

/** "weather", "device_fault", ...; NULL for an unknown type. */
const char *fs_scenario_event_type_name(int type);
/** The type named @name, or FS_SCN_EVENT_NONE. */
int fs_scenario_event_type_from_name(const char *name);

/* One key = value of an event, with where it was written (line/column 0: unknown). */
struct fs_scenario_kv {
	const char *key;
	const char *value;
	unsigned line, column;          /* of the value; of the key for key errors */
	unsigned key_line, key_column;
};

/*
 * Where an event came from, for messages: a file (lines and columns from the
 * key/values) or a live command (@origin like "event 2 of command 17").
 */
struct fs_scenario_event_source {
	const char *origin;             /* file name or description */
	unsigned line, column;          /* of the event itself */
	uint64_t offset_base_ms;        /* offsets (at/from/until as 20m) count from here; 0 = the start */
};

/**
 * Build and validate an event of type @type_name from @kv (@n pairs) against
 * @sc: its zones, depots, software releases, programmes, tick length and
 * start (for `at`, `from`, `until`, `for`, `duration`; offsets such as 20m
 * count from @src->offset_base_ms, date-times from the start). Keys are those of the
 * file format (docs/scenario.md). An event without a time gets apply_tick
 * FS_SCN_NEXT_TICK. On error returns -EINVAL with "origin:line:column: reason"
 * in @err and leaves @ret untouched.
 */
int fs_scenario_event_parse(const struct fs_scenario *sc, const char *type_name,
			    const struct fs_scenario_kv *kv, size_t n,
			    const struct fs_scenario_event_source *src,
			    struct fs_scenario_event *ret, struct fs_error *err);

#define FS_SCN_FORMAT_MAX 24            /* key/values fs_scenario_event_format() writes at most */
#define FS_SCN_FORMAT_VALUE_MAX 1024    /* bytes per value */

/* Canonical key = value text of one event (no time: apply_tick travels beside it). */
struct fs_scenario_event_text {
	size_t count;
	char key[FS_SCN_FORMAT_MAX][32];
	char value[FS_SCN_FORMAT_MAX][FS_SCN_FORMAT_VALUE_MAX];
};

/**
 * Write @e's fields in canonical form: parsing them back with the type name
 * and apply_tick gives an event equal to @e. Durations are written as
 * "duration" = "<ms>ms" using @sc's tick length. Returns 0 or -EINVAL (bad type).
 */
int fs_scenario_event_format(const struct fs_scenario *sc, const struct fs_scenario_event *e,
			     struct fs_scenario_event_text *ret);

/** Field-by-field equality (every field, also those the type does not use). */
bool fs_scenario_event_equal(const struct fs_scenario_event *a, const struct fs_scenario_event *b);

/**
 * Does event @e (device_fault, software_update) pick vehicle @id? With a list,
 * exactly the listed ids; with a share, a draw from the stream (@seed,
 * FS_RNG_STREAM_SCENARIO, id) salted by the event's tick, type and fields, so
 * every shard picks the same vehicles and the same event always picks the same.
 */
bool fs_scenario_event_selects(const struct fs_scenario_event *e, uint64_t seed, uint32_t id);

/** Is @e in force at @tick (apply_tick <= tick < apply_tick + duration, or forever)? */
bool fs_scenario_event_active(const struct fs_scenario_event *e, uint64_t tick);
/** Does @e start at @tick? */
bool fs_scenario_event_starts(const struct fs_scenario_event *e, uint64_t tick);
/** Does @e's window end at @tick (its first tick no longer in force)? */
bool fs_scenario_event_ends(const struct fs_scenario_event *e, uint64_t tick);

/**
 * The production params a scenario file describes (fs/scenario.h): its
 * `production` and `rollout` sections are a struct fs_production_params
 * already (sc->production), to which this adds the file's production events
 * (supplier_shortage, recall, calibration_spike; tick -> day through the
 * scenario's start and tick) as disruptions, then validates. For the shipped
 * examples/default.yaml the result equals fs_production_params_defaults().
 * Returns 0 or -EINVAL with @err.
 */
int fs_production_params_from_scenario(const struct fs_scenario *sc, struct fs_production_params *ret,
				       struct fs_error *err);

/**
 * One production event of @sc (file or live injection) as a disruption: it
 * starts on the day of the event's tick (sc->start_ms + apply_tick * tick_ms)
 * and ends after its window; a recall with rework grounds vehicles for the
 * programme's rework_days. 0 or -EINVAL.
 */
int fs_production_disruption_from_event(const struct fs_scenario *sc, const struct fs_scenario_event *e,
					struct fs_prod_disruption *ret, struct fs_error *err);

/** Is @word one of the space-separated words of @list? Never for an empty word. */
bool fs_scenario_word_in(const char *list, const char *word);

/**
 * Add @e to @sc's events keeping them sorted by apply_tick (after any with the
 * same tick). 0 or -ENOMEM.
 */
int fs_scenario_add_event(struct fs_scenario *sc, const struct fs_scenario_event *e);

/** Parse "1.2" (or "120") as a software version number (120). false if malformed. */
bool fs_scenario_parse_version(const char *text, uint32_t *ret);
/**
 * Parse a duration: "90" (seconds), "90s", "15m", "2h", "1d", "1h30m", "250ms".
 * false if malformed or overflowing.
 */
bool fs_scenario_parse_duration_ms(const char *text, uint64_t *ret);

#endif
