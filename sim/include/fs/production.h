/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/production.h - OEM production ramps, the integration pipeline and the
 * multi-year city rollout that grows the fleet.
 *
 * Every vehicle goes through the stages of enum fs_prod_stage:
 *   build (plant, S-curve ramp) -> Foxconn integration of the Hyperion 10 kit
 *   -> end-of-line calibration and validation (a seeded share fails and goes
 *   to rework, then back to calibration) -> shipping to a city depot (transit
 *   days per city) -> commissioning at the depot -> in service in the city's
 *   current phase (data collection -> supervised -> driverless) -> retired
 *   (service life or an attrition rate).
 * Each stage has a capacity per day and a duration in days; a stage that is
 * short of capacity builds a queue in front of it. Integration is a
 * programme's own line or a shared integrator (Foxconn) whose capacity its
 * programmes share. A fills_fleet programme builds only what keeps the fleet
 * at the target (replacements included). The data flywheel turns the fleet's
 * uploaded data into software releases that go out over the air.
 *
 * The model is counts-based: vehicles move in lots (same programme, build day
 * and stage timing), not one by one; random draws (calibration failures,
 * attrition, recall shares) are binomial counts from streams keyed by
 * (run seed, FS_RNG_STREAM_PRODUCTION, what + programme/city + day), never by
 * call order. Time advances in whole days (day = days since 1970-01-01 UTC),
 * and one day is the model's only internal step: advancing by 1 day 1,461
 * times or by 1,461 days once gives bit-identical state and series (the step
 * size is invisible; see docs/production.md).
 *
 * Deliveries (arrivals at a city depot) get a run-wide sequence number that
 * increases with (day, programme, city); a service turns those of the city it
 * simulates in detail into vehicle ids.
 *
 * Pure library: no I/O, no clock, no global state. Defaults with sources:
 * fs_production_params_defaults() and docs/production.md.
 */
#ifndef FS_PRODUCTION_H
#define FS_PRODUCTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"

#define FS_PROD_NAME_MAX 64 /* = FS_SCN_NAME_MAX */
#define FS_PROD_PROGRAMMES_MAX 16
#define FS_PROD_PLANTS_MAX 4
#define FS_PROD_REGIONS_MAX 4
#define FS_PROD_CITIES_MAX 64
#define FS_PROD_DISRUPTIONS_MAX 64
#define FS_PROD_INTEGRATORS_MAX 4
#define FS_PROD_LINES_MAX 4
#define FS_PROD_RELEASES_MAX 8
#define FS_PROD_NO_CITY UINT16_MAX

/* Numbered as fleetsim.v1.ProductionStage (proto/production.proto). */
enum fs_prod_stage {
	FS_PROD_STAGE_BUILD = 1,         /* on the assembly line (build_days) */
	FS_PROD_STAGE_INTEGRATION = 2,   /* Foxconn installs the Hyperion 10 kit */
	FS_PROD_STAGE_CALIBRATION = 3,   /* end-of-line calibration and validation */
	FS_PROD_STAGE_REWORK = 4,        /* failed calibration or recalled */
	FS_PROD_STAGE_SHIPPING = 5,      /* waiting for a city and a carrier, or in transit */
	FS_PROD_STAGE_DELIVERED = 6,     /* in a city fleet, commissioned */
	FS_PROD_STAGE_RETIRED = 7,       /* left the fleet (in_stage = cumulative) */
	FS_PROD_STAGE_COMMISSIONING = 8, /* at the depot: acceptance into the city's phase */
	FS_PROD_STAGE_COUNT = 9,
};

/* Numbered as enum fs_city_phase (fs/vehicle.h); -1 = not launched. */
enum fs_prod_phase {
	FS_PROD_PHASE_NONE = -1,
	FS_PROD_PHASE_DATA_COLLECTION = 0,
	FS_PROD_PHASE_SUPERVISED = 1,
	FS_PROD_PHASE_DRIVERLESS = 2,
};

enum fs_prod_curve {
	FS_PROD_CURVE_SMOOTHSTEP = 0, /* 3u^2 - 2u^3 over the ramp */
	FS_PROD_CURVE_LOGISTIC = 1,   /* logistic, steepness 10, rescaled to 0 at u=0 and 1 at u=1 */
	FS_PROD_CURVE_LINEAR = 2,
};

/* One assembly plant of a programme. */
struct fs_prod_plant {
	char name[FS_PROD_NAME_MAX];
	int32_t sop_day;         /* start of production (days since 1970-01-01) */
	double ramp_months;      /* from 0 to full rate; 0 = full rate from SOP */
	double rate_per_month;   /* full rate for this programme (vehicles a month) */
	uint8_t curve;           /* enum fs_prod_curve */
};

/* A capacity step of a shared integrator: from start_day on, per_day more vehicles a day. */
struct fs_prod_line {
	int32_t start_day;
	uint32_t per_day;
};

/*
 * A shared integration site (Foxconn installing the Hyperion 10 kit): the
 * capacity of its lines is shared by every programme that names it, first
 * come (arrival day) first served, ties in programme order; so one site can
 * be the bottleneck of several programmes at once.
 */
struct fs_prod_integrator {
	char name[FS_PROD_NAME_MAX];   /* e.g. "foxconn" */
	struct fs_prod_line lines[FS_PROD_LINES_MAX];
	uint32_t line_count;
};

/* One OEM programme supplying the fleet. */
struct fs_prod_programme {
	char name[FS_PROD_NAME_MAX];   /* e.g. "lucid-gravity" */
	char oem[FS_PROD_NAME_MAX];    /* e.g. "Lucid" */
	char model[FS_PROD_NAME_MAX];  /* e.g. "Gravity" */
	char regions[FS_PROD_REGIONS_MAX][FS_PROD_NAME_MAX]; /* cities it may serve; none = any */
	uint32_t region_count;
	struct fs_prod_plant plants[FS_PROD_PLANTS_MAX];
	uint32_t plant_count;
	uint32_t target;               /* vehicles for the fleet over the programme's life; with
					* fills_fleet, 0 = no cap of its own */
	bool fills_fleet;              /* builds only what keeps the fleet at target_fleet (after the
					* programmes before it, replacements included) */
	char integrator[FS_PROD_NAME_MAX]; /* shared integration site; "" = its own line
					    * (integration_per_day) */
	/* the programme's vehicle, simulated for each of its vehicles in the detailed city */
	double battery_kwh;            /* usable */
	double kwh_per_km;             /* traction consumption */
	double max_charge_kw;          /* DC acceptance limit */
	uint32_t seats;                /* passenger seats */
	uint32_t sw_version;           /* driving software shipped from the factory */
	/* stages: capacity per day (0 = unlimited) and duration in days (>= 1) */
	uint32_t build_days;
	uint32_t integration_per_day, integration_days; /* with an integrator: a cap of its own (0 = none) */
	uint32_t calibration_per_day, calibration_days;
	double calibration_fail_share; /* share failing end-of-line validation, 0..1 */
	uint32_t rework_per_day, rework_days;
	uint32_t shipping_per_day;     /* vehicles dispatched to cities a day */
	/* retirement */
	uint32_t service_life_days;    /* retired this long after delivery; 0 = never */
	double attrition_per_year;     /* share of the city fleet written off a year (crashes) */
};

/* One city of the rollout plan. */
struct fs_prod_city {
	char name[FS_PROD_NAME_MAX];   /* e.g. "atlanta" */
	char region[FS_PROD_NAME_MAX]; /* e.g. "north-america" */
	int32_t launch_day;            /* data collection starts */
	uint32_t data_collection_days; /* then supervised ... */
	uint32_t supervised_days;      /* ... then driverless */
	uint32_t weight;               /* share of deliveries among eligible cities of one priority */
	uint32_t priority;             /* higher is served first (until fleet_cap) */
	uint32_t fleet_cap;            /* fleet plus vehicles on their way; 0 = no cap */
	uint32_t transit_days;         /* factory to depot, >= 1 */
	uint32_t commissioning_per_day;/* depot acceptance capacity; 0 = unlimited */
	uint32_t commissioning_days;   /* >= 1 */
};

enum fs_prod_disruption_kind {
	FS_PROD_SUPPLIER_SHORTAGE = 1, /* plant rate x factor during [start, end) */
	FS_PROD_RECALL = 2,            /* vehicles built in [build_from, build_to] at start_day */
	FS_PROD_CALIBRATION_SPIKE = 3, /* calibration fail share x factor during [start, end) */
};

enum fs_prod_recall_action {
	FS_PROD_RECALL_REWORK = 0, /* pipeline: back to rework; fleet: grounded rework_days */
	FS_PROD_RECALL_RETIRE = 1, /* pipeline: scrapped; fleet: retired */
};

struct fs_prod_disruption {
	uint8_t kind;                       /* enum fs_prod_disruption_kind */
	char programme[FS_PROD_NAME_MAX];   /* "" = every programme */
	char plant[FS_PROD_NAME_MAX];       /* shortage only; "" = every plant */
	int32_t start_day;
	int32_t end_day;                    /* exclusive; shortage and spike */
	double factor;                      /* shortage: rate x factor (0..1); spike: fail share x factor */
	int32_t build_from_day, build_to_day; /* recall: inclusive build-day range */
	double share;                       /* recall: share of those vehicles affected, 0..1 */
	uint8_t action;                     /* recall: enum fs_prod_recall_action */
	uint32_t rework_days;               /* recall + rework: days out of service */
};

/* A driving-software release the fleet's data trains (its rates and ODD: fleet.software). */
struct fs_prod_release {
	uint32_t version;          /* e.g. 110 for "1.1"; a release of fleet.software */
	double data_pb;            /* uploaded fleet data it needs for training, cumulative, PB */
};

/*
 * The data flywheel: the fleet in service drives, logs and uploads; once the
 * uploaded data reach a release's need and the release train's cadence
 * allows, that release is trained (DGX Cloud) and validated for train_days,
 * then rolled out over the air to the fleet over ota_days.
 */
struct fs_prod_flywheel {
	double km_per_vehicle_day; /* driven by a vehicle in service a day */
	double gb_per_km;          /* logged and uploaded a km */
	uint32_t cadence_days;     /* at most one training started per this many days */
	uint32_t train_days;       /* training + validation, to release */
	uint32_t ota_days;         /* release to the whole fleet (staged, linear) */
	struct fs_prod_release releases[FS_PROD_RELEASES_MAX]; /* in the order they are trained */
	uint32_t release_count;
};

/* Everything the production model needs; the scenario file fills it. */
struct fs_production_params {
	struct fs_prod_programme programmes[FS_PROD_PROGRAMMES_MAX];
	uint32_t programme_count;
	struct fs_prod_city cities[FS_PROD_CITIES_MAX];
	uint32_t city_count;
	struct fs_prod_disruption disruptions[FS_PROD_DISRUPTIONS_MAX];
	uint32_t disruption_count;
	struct fs_prod_integrator integrators[FS_PROD_INTEGRATORS_MAX];
	uint32_t integrator_count;
	struct fs_prod_flywheel flywheel;
	int32_t start_day;  /* the model starts empty here (before any SOP) */
	/* fleet curve the programmes are meant to follow (for charts and checks):
	 * logistic K / (1 + exp(-r (t - t_mid))) in vehicles, t in days; K is
	 * also the fleet the fills_fleet programmes build toward */
	double target_fleet;
	double target_rate_per_year;
	int32_t target_mid_day;
};

/**
 * Fill @p with the default rollout (programmes, cities, no disruptions);
 * sources in comments. examples/default.yaml writes out exactly these values
 * (tests/unit/test_fs_production.c loads it and compares field by field).
 */
void fs_production_params_defaults(struct fs_production_params *p);

/** The default data flywheel (sources in fs_production_params.c). */
void fs_production_flywheel_defaults(struct fs_prod_flywheel *fw);

/** Default stage figures of a programme whose plants reach @full_rate_per_month together. */
void fs_production_programme_defaults(struct fs_prod_programme *g, double full_rate_per_month);

/** The vehicle of a programme that does not describe its own: the vehicle model's defaults. */
void fs_production_programme_vehicle_defaults(struct fs_prod_programme *g);

/**
 * Let @g integrate at the shared site @integrator: its own integration cap
 * becomes 0 (none; the site's lines are the capacity). A scenario may set
 * one again after this.
 */
void fs_production_programme_use_integrator(struct fs_prod_programme *g, const char *integrator);

/** Capacity a day of @in on @day: the sum of its lines started by then. */
uint32_t fs_production_integrator_capacity(const struct fs_prod_integrator *in, int32_t day);

/**
 * Default figures of a rollout city in @region ("north-america", "europe",
 * ...): phase lengths, weight 1, no priority or cap, transit time by region,
 * depot commissioning. Name and launch day are left to the caller.
 */
void fs_production_city_defaults(struct fs_prod_city *c, const char *region);

/**
 * Field-by-field equality of two parameter sets (names compared as strings,
 * no padding). False with the first differing field's name in @ret_field
 * (e.g. "programmes[].plants[].sop_day"; may be NULL).
 */
bool fs_production_params_equal(const struct fs_production_params *a, const struct fs_production_params *b,
				const char **ret_field);

/** "smoothstep", "logistic", "linear"; NULL for an unknown curve. */
const char *fs_production_curve_name(int curve);

/**
 * Check @p: names unique and non-empty, durations >= 1, shares in [0,1],
 * disruptions naming existing programmes/plants. Returns 0 or -EINVAL with
 * "what: why" in @err (may be NULL).
 */
int fs_production_params_validate(const struct fs_production_params *p, struct fs_error *err);

/** Days since 1970-01-01 of Unix ms @ms (floor). */
int32_t fs_production_day_from_ms(int64_t ms);

/** Full-rate fraction of @plant's ramp at @day (fractional days allowed): 0..1. */
double fs_production_ramp_fraction(const struct fs_prod_plant *plant, double day);

/** The fleet curve of @p at @day (logistic target; 0 if target_fleet is 0). */
double fs_production_target_fleet(const struct fs_production_params *p, double day);

/** Phase (enum fs_prod_phase) of @city on @day. */
int fs_production_city_phase(const struct fs_prod_city *city, int32_t day);

struct fs_production;

/**
 * Create a model of @params (copied) for run @seed, empty at params->start_day.
 * NULL with @err filled (invalid params) or on no memory.
 */
struct fs_production *fs_production_create(const struct fs_production_params *params, uint64_t seed,
					   struct fs_error *err);
/** Free; NULL is a no-op. */
void fs_production_destroy(struct fs_production *prod);

/** The parameters the model runs with (disruptions added later included). */
const struct fs_production_params *fs_production_params(const struct fs_production *prod);

/**
 * Add a disruption (a scenario event injected during a run). It must start
 * on or after the next day the model will simulate. Returns 0, -EINVAL (bad
 * or in the past, @err says why) or -ENOSPC.
 */
int fs_production_add_disruption(struct fs_production *prod, const struct fs_prod_disruption *d,
				 struct fs_error *err);

/* Vehicles that arrived at a city depot on one day (one programme, one city). */
struct fs_prod_delivery {
	int32_t day;
	int32_t build_day;
	uint16_t programme;
	uint16_t city;
	uint32_t count;
	uint64_t first_seq;     /* run-wide delivery sequence of the first of them */
};

/* Vehicles that left a city fleet on one day. */
struct fs_prod_retirement {
	int32_t day;
	uint16_t programme;
	uint16_t city;
	uint32_t count;
	uint8_t reason;         /* 0 = service life, 1 = attrition, 2 = recall */
};

/* A caller-owned log of what happened during fs_production_advance(). */
struct fs_prod_log {
	struct fs_prod_delivery *deliveries;
	size_t delivery_count, delivery_cap;
	struct fs_prod_retirement *retirements;
	size_t retirement_count, retirement_cap;
	uint16_t city_filter;   /* FS_PROD_NO_CITY = log every city, else only this one */
};

/** Forget the entries, keep the memory. */
void fs_prod_log_clear(struct fs_prod_log *log);
/** Free the memory. */
void fs_prod_log_finish(struct fs_prod_log *log);

/**
 * Simulate every day from the model's next day up to and including
 * @last_day (nothing if @last_day is before it), appending deliveries and
 * retirements to @log (may be NULL). Returns the days simulated, or -ENOMEM.
 */
int64_t fs_production_advance(struct fs_production *prod, int32_t last_day, struct fs_prod_log *log);

/** The last day simulated (start_day - 1 before the first advance). */
int32_t fs_production_day(const struct fs_production *prod);

/* Counts of one programme. */
struct fs_prod_programme_stats {
	uint32_t in_stage[FS_PROD_STAGE_COUNT]; /* now; RETIRED = cumulative retired */
	uint32_t queued[FS_PROD_STAGE_COUNT];   /* of in_stage: waiting for the stage's capacity */
	uint64_t entered[FS_PROD_STAGE_COUNT];  /* cumulative entries into each stage */
	uint64_t built, delivered, retired, scrapped, calibration_failures;
	uint32_t fleet;                          /* delivered - retired */
};

/* Counts of one city. */
struct fs_prod_city_stats {
	int phase;                    /* enum fs_prod_phase today */
	uint32_t fleet;               /* delivered - retired (commissioning and grounded included) */
	uint32_t in_service;          /* fleet - commissioning - grounded */
	uint32_t commissioning;
	uint32_t grounded;            /* recalled, held for rework */
	uint32_t inbound;             /* allocated to it, in transit */
	uint64_t delivered, retired;
	uint32_t fleet_by_programme[FS_PROD_PROGRAMMES_MAX];
};

/* Counts of one shared integrator. */
struct fs_prod_integrator_stats {
	uint32_t capacity_per_day;    /* today */
	uint32_t queued;              /* vehicles of its programmes waiting for it */
	uint32_t in_process;
	uint32_t started_today;
	uint64_t started;             /* cumulative */
};

/* The data flywheel today. */
struct fs_prod_flywheel_stats {
	double fleet_km;              /* driven in service, cumulative */
	double data_pb;               /* uploaded, cumulative */
	uint32_t latest;              /* latest release out; 0 = none yet */
	uint32_t release_count;
	struct {
		uint32_t version;
		int32_t train_day;    /* training started; INT32_MIN = not yet */
		int32_t release_day;  /* out (OTA starts); INT32_MIN = not yet */
		double share;         /* of the fleet on this release or a later one */
	} releases[FS_PROD_RELEASES_MAX];
};

struct fs_production_stats {
	int32_t day;
	struct fs_prod_flywheel_stats flywheel;
	uint32_t programme_count, city_count, integrator_count;
	struct fs_prod_integrator_stats integrators[FS_PROD_INTEGRATORS_MAX];
	struct fs_prod_programme_stats programmes[FS_PROD_PROGRAMMES_MAX];
	struct fs_prod_city_stats cities[FS_PROD_CITIES_MAX];
	uint64_t built, delivered, retired, scrapped;
	uint32_t fleet;               /* delivered - retired over every city */
};

/** Fill @ret with the counts after the last simulated day. */
void fs_production_get_stats(const struct fs_production *prod, struct fs_production_stats *ret);
/** The vehicles of every programme in @stage (RETIRED: retired so far). */
uint64_t fs_production_stats_in_stage(const struct fs_production_stats *s, int stage);

/** Index of programme / city @name, or -ENOENT. */
int fs_production_find_programme(const struct fs_production *prod, const char *name);
int fs_production_find_city(const struct fs_production *prod, const char *name);

/**
 * The release a vehicle runs on @day (the last simulated day or earlier):
 * the latest release whose over-the-air rollout has reached it, or
 * @factory_version if none newer has. Which vehicles a staged rollout
 * reaches first is a draw keyed by (seed, @vehicle_key), the same for every
 * release, so a vehicle never goes back to an older one.
 */
uint32_t fs_production_vehicle_release(const struct fs_production *prod, uint64_t vehicle_key,
				       uint32_t factory_version, int32_t day);

/** XXH3-64 of the model's state (counts, lots, counters): equal states, equal hashes. */
uint64_t fs_production_hash(const struct fs_production *prod);

/** "build", "integration", ... ("?" for an unknown value). */
const char *fs_production_stage_name(int stage);
/** "data-collection", "supervised", "driverless", "none". */
const char *fs_production_phase_name(int phase);

#endif
