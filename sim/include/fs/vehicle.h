/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/vehicle.h - the vehicle core: one robotaxi with its DRIVE AGX Hyperion 10
 * platform, and a fleet container that advances many of them event by event.
 *
 * A vehicle is plain data (struct fs_vehicle) plus pure functions:
 *  - an explicit lifecycle state machine (fs_vehicle_transition) whose table
 *    and guards refuse illegal transitions with a reason and an event;
 *  - energy: battery, consumption per km, the AV stack's continuous load,
 *    charging with a taper above 80 % SoC;
 *  - the platform: 38 devices with 2-bit health, a seeded fault process, and
 *    one rule table (fs_platform_assess) mapping device health to consequences;
 *  - the operating design domain (ODD): restrictions and current conditions;
 *  - logged driving data for the data flywheel.
 *
 * struct fs_fleet hosts 1..N vehicles of one shard. Each vehicle has a next
 * event time kept in a binary heap keyed by (time, vehicle id), so that
 * fs_fleet_advance() touches only vehicles with something due. Every random
 * draw of a vehicle comes from streams keyed by (run seed, stream, vehicle
 * id), so a vehicle evolves the same whichever process hosts it and whatever
 * the order of visits; fs_fleet_hash() sums per-vehicle hashes so that a
 * fleet split over shards hashes to the same value as the whole fleet.
 *
 * Time is Unix milliseconds of simulated time, passed in; nothing here reads
 * a clock, logs, or keeps global state. Rules and defaults: docs/vehicle.md.
 */
#ifndef FS_VEHICLE_H
#define FS_VEHICLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/network.h"
#include "fs/rng.h"

#define FS_NEVER_MS INT64_MAX
#define FS_NO_EDGE UINT32_MAX
#define FS_NO_DEPOT UINT16_MAX

/* Numbered as fleetsim.v1.VehicleState (proto/vehicle.proto) so the service maps 1:1. */
enum fs_vehicle_state {
	FS_VEHICLE_UNSPECIFIED = 0,
	FS_VEHICLE_DELIVERED = 1,
	FS_VEHICLE_COMMISSIONING = 2,
	FS_VEHICLE_AVAILABLE = 3,
	FS_VEHICLE_TO_PICKUP = 4,
	FS_VEHICLE_WAITING_FOR_RIDER = 5,
	FS_VEHICLE_IN_TRIP = 6,
	FS_VEHICLE_REPOSITIONING = 7,
	FS_VEHICLE_TO_CHARGER = 8,
	FS_VEHICLE_CHARGING = 9,
	FS_VEHICLE_MAINTENANCE = 10,
	FS_VEHICLE_OUT_OF_SERVICE = 11,
	FS_VEHICLE_MINIMAL_RISK = 12, /* pulled over and stopped */
	FS_VEHICLE_STATE_COUNT,
};

/* The city's rollout phase the vehicle operates in (DOMAIN.md: data
 * collection -> supervised -> driverless). */
enum fs_city_phase {
	FS_CITY_DATA_COLLECTION = 0, /* human-driven mapping/logging, no riders */
	FS_CITY_SUPERVISED = 1,      /* AV drives riders, safety driver on board */
	FS_CITY_DRIVERLESS = 2,
};

/* Numbered as fleetsim.v1.DeviceKind. */
enum fs_device_kind {
	FS_DEVICE_CAMERA = 1,
	FS_DEVICE_RADAR = 2,
	FS_DEVICE_LIDAR = 3,
	FS_DEVICE_ULTRASONIC = 4,
	FS_DEVICE_THOR = 5,
	FS_DEVICE_KIND_COUNT,
};

/* Numbered as fleetsim.v1.DeviceHealth. */
enum fs_device_health {
	FS_HEALTH_OK = 0,
	FS_HEALTH_DEGRADED = 1, /* transient: dirt, drift, throttling; remote assistance clears */
	FS_HEALTH_FAILED = 2,   /* hardware: only a depot repairs */
};

/* Hyperion 10 sensor set (DOMAIN.md) and our layout of it [est]: cameras 0-3
 * face forward, 4-7 sides, 8-9 rear, 10-13 surround fisheyes; radar 0 is the
 * front long-range radar, 1-2 front corners, 3-4 rear corners, 5-6 sides,
 * 7 rear, 8 front short-range; ultrasonics 0-5 front bumper, 6-11 rear. */
#define FS_PLATFORM_CAMERAS 14
#define FS_PLATFORM_RADARS 9
#define FS_PLATFORM_LIDARS 1
#define FS_PLATFORM_ULTRASONICS 12
#define FS_PLATFORM_THORS 2
#define FS_PLATFORM_DEVICES 38
#define FS_PLATFORM_FRONT_CAMERAS 4 /* cameras [0, 4) */
#define FS_PLATFORM_FRONT_RADAR 0

/* 38 devices x 2 bits of enum fs_device_health. */
struct fs_platform {
	uint8_t health[(FS_PLATFORM_DEVICES * 2 + 7) / 8];
};

/* Operating-domain restrictions (fleetsim.v1 odd_flags). */
enum fs_odd_flags {
	FS_ODD_NO_MOTORWAY = 1 << 0,   /* no motorway/trunk roads or their links */
	FS_ODD_DAYTIME_ONLY = 1 << 1,
	FS_ODD_NO_RAIN = 1 << 2,       /* no driving in rain of any strength */
	FS_ODD_SPEED_CAP = 1 << 3,     /* speed_cap_mps in force */
};

enum fs_rain {
	FS_RAIN_NONE = 0,
	FS_RAIN_LIGHT = 1,
	FS_RAIN_HEAVY = 2,
	FS_RAIN_STORM = 3,
};

struct fs_weather;
struct fs_traffic;

/* What the world is like now; set on the fleet by the service each tick. */
/* Night for FS_ODD_DAYTIME_ONLY: local hours [FS_NIGHT_START_H, 24) and [0, FS_NIGHT_END_H)
 * of the city's clock [est: a summer night, the same all year and in every city; it understates
 * night in winter, when Atlanta's sun sets before 18:00; moves what daytime-only cars serve]. */
#define FS_NIGHT_START_H 21
#define FS_NIGHT_END_H 6

struct fs_conditions {
	double travel_time_factor; /* city-wide multiplier on link travel times, > 0 (1 = free flow) */
	uint8_t rain;              /* enum fs_rain, city-wide */
	bool night;                /* FS_NIGHT_START_H to FS_NIGHT_END_H, local */
	/* Weather over zones (fs/weather.h), borrowed; NULL = none. Where it is
	 * worse than the city-wide values above, it wins on that edge. */
	const struct fs_weather *weather;
	/* Closed roads (fs/closures.h), one byte per edge, borrowed; NULL = none.
	 * closed_version changes whenever the set does. */
	const uint8_t *closed;
	uint64_t closed_version;
	/* What streets cost now (fs/traffic.h: hour factor times the fleet's own
	 * traffic), borrowed; NULL = free flow. Multiplies the weather's factor. */
	const struct fs_traffic *traffic;
};

/** The travel-time factor on @edge under @cond: the slower of the city's and a zone's
 * weather, times the traffic's factor there. */
double fs_conditions_time_factor(const struct fs_conditions *cond, uint32_t edge);
/** The rain on @edge under @cond: the worse of the city's and a zone's. */
uint8_t fs_conditions_rain(const struct fs_conditions *cond, uint32_t edge);

/* Why a vehicle is in the minimal-risk condition (bits). */
enum fs_mrc_cause {
	FS_MRC_PLATFORM = 1 << 0, /* device faults (fs_platform_assess) */
	FS_MRC_SOFTWARE = 1 << 1, /* a disengagement of the driving software */
	FS_MRC_ODD = 1 << 2,      /* conditions left the ODD with a rider on board */
	FS_MRC_ENERGY = 1 << 3,   /* battery depleted: stranded */
};

/* Event kinds numbered as fleetsim.v1.VehicleEventKind; kinds above 13 are
 * not (yet) in the proto. */
enum fs_vehicle_event_kind {
	FS_VEV_STATE_CHANGED = 1,
	FS_VEV_TRANSITION_REFUSED = 2,
	FS_VEV_DEVICE_HEALTH = 3,
	FS_VEV_REMOTE_ASSIST = 4,
	FS_VEV_DISENGAGEMENT = 5,
	FS_VEV_JOB_ACCEPTED = 6,
	FS_VEV_JOB_DECLINED = 7,
	FS_VEV_JOB_HANDED_BACK = 8,
	FS_VEV_ARRIVED = 9,
	FS_VEV_CHARGE_REQUEST = 10,
	FS_VEV_DATA_UPLOADED = 11,
	FS_VEV_SOFTWARE_UPDATED = 12,
	FS_VEV_COMMISSIONED = 13,
	FS_VEV_MAINTENANCE_REQUEST = 14, /* hardware needs a depot; value = 0 */
	FS_VEV_ODD_CHANGED = 15,         /* value = new odd_flags */
};

struct fs_vehicle_event {
	int64_t time_ms;
	uint64_t job_id;
	double value;       /* kind-specific: GB uploaded, software version, km, kWh ... */
	const char *reason; /* static string, never freed; may be NULL */
	uint32_t vehicle_id;
	uint8_t kind;       /* enum fs_vehicle_event_kind */
	uint8_t from_state; /* enum fs_vehicle_state */
	uint8_t to_state;
	uint8_t device;     /* enum fs_device_kind, 0 = none */
	uint8_t device_index;
	uint8_t health;     /* enum fs_device_health */
};

/* A caller-owned, growing list of events. Zero-initialise; fs_vehicle_events_finish() frees. */
struct fs_vehicle_events {
	struct fs_vehicle_event *items;
	size_t count;
	size_t capacity;
	size_t dropped; /* events lost because memory ran out */
};

/* A software release of the driving stack: its rates and the ODD it supports. */
struct fs_sw_version {
	uint32_t version;               /* e.g. 100 for "1.0" */
	double miles_per_disengagement; /* mean miles between disengagements */
	double ra_per_1000km;           /* remote-assistance requests per 1,000 km */
	uint16_t odd_flags;             /* restrictions of this release (FS_ODD_*) */
};

#define FS_SW_VERSIONS_MAX 8

/* Every tunable of the vehicle model, with its source. See fs_vehicle_params_defaults(). */
struct fs_vehicle_params {
	/* energy */
	double battery_kwh;          /* usable capacity */
	double kwh_per_km;           /* traction consumption */
	double av_stack_kw;          /* Hyperion 10 compute + sensors + cooling, while powered */
	double max_charge_kw;        /* vehicle DC acceptance limit */
	double charge_efficiency;    /* grid to battery */
	double taper_start_soc;      /* constant power below, linear taper above */
	double taper_end_fraction;   /* power at 100 % SoC as a fraction of full power */
	double charge_target_soc;    /* unplug here */
	double charge_request_soc;   /* ask for a charger below this */
	double job_reserve_soc;      /* SoC that must remain after any job */
	double plan_speed_kmh;       /* speed assumed to estimate a job's duration */
	/* lifecycle */
	double commissioning_h;      /* delivered vehicle: calibration + acceptance drives */
	double commissioning_fail_prob; /* share failing acceptance -> rework */
	double rework_h;             /* rework of a failed acceptance */
	double repair_h;             /* depot repair of failed hardware (incl. recalibration) */
	double inspection_h;         /* depot visit without failed hardware */
	double max_wait_s;           /* wait for a rider at pickup before a no-show */
	double ra_response_s;        /* remote assistance: request to resolution */
	double ra_session_s;         /* stop for a guidance request (not a minimal-risk stop) */
	double ra_retry_s;           /* re-check interval while conditions keep a vehicle stopped */
	double tow_h;                /* tow truck dispatch + transport to the home depot */
	/* platform fault process, per device, per operating (powered) hour; index enum fs_device_kind */
	double degrade_per_h[FS_DEVICE_KIND_COUNT];
	double fail_per_h[FS_DEVICE_KIND_COUNT];
	/* ODD consequences of faults (see docs/vehicle.md rules table) */
	double cap_one_thor_mps;     /* rule R6 */
	double cap_no_lidar_mps;     /* rule R7 */
	double cap_front_camera_mps; /* rule R9 */
	uint8_t max_rain;            /* enum fs_rain: worst weather inside any ODD */
	/* software */
	struct fs_sw_version sw[FS_SW_VERSIONS_MAX];
	uint32_t sw_count;
	/* data flywheel */
	double log_gb_per_h[FS_DEVICE_KIND_COUNT]; /* per working device per driving hour */
	double log_share;            /* share of driving time logged */
	double upload_gbps;          /* depot uplink per vehicle, gigabit/s */
};

/** Fill @p with the defaults (sources in comments and docs/vehicle.md). */
void fs_vehicle_params_defaults(struct fs_vehicle_params *p);

/* Vehicle flags. */
enum fs_vehicle_flags {
	FS_VF_AT_DEPOT = 1 << 0,           /* parked at depot `depot` */
	FS_VF_PLUG_QUEUED = 1 << 1,        /* at a depot, waiting for a plug */
	FS_VF_TO_MAINTENANCE = 1 << 2,     /* repositioning to a depot for maintenance */
	FS_VF_CHARGE_REQUESTED = 1 << 3,
	FS_VF_MAINT_REQUESTED = 1 << 4,
	FS_VF_TOWING = 1 << 5,
	FS_VF_REWORK = 1 << 6,             /* failed commissioning acceptance */
	FS_VF_COMMISSIONED = 1 << 7,
	FS_VF_UPLOADING = 1 << 8,
	FS_VF_AUTO_BOARD = 1 << 9,         /* rider boards after board_dwell_ms */
	FS_VF_SW_PENDING = 1 << 10,        /* an update waits for the next stop */
};

/*
 * One vehicle. Plain data; read any field, but change it only through the
 * functions here (they keep the lazy accounts and the fleet's heap right).
 * Energy and operating time are accounted lazily up to acct_ms, so a vehicle
 * that is parked costs nothing until its next event.
 */
struct fs_vehicle {
	/* hot: read or written on every visit (kept in the first cache lines) */
	const struct fs_vehicle_params *params; /* shared, not owned, not hashed */
	int64_t timer_ms;         /* state timer (commissioning, repair, wait, charge, RA, tow) */
	int64_t acct_ms;          /* battery and op_ms are accounted up to here */
	int64_t op_ms;            /* powered time: the fault process clock */
	int64_t fault_at_op_ms;   /* next fault, on the op_ms clock */
	int64_t seg_start_ms;     /* motion: offset goes seg_from_m -> seg_to_m */
	int64_t seg_end_ms;       /*   over [seg_start_ms, seg_end_ms]; FS_NEVER_MS = parked */
	int64_t next_event_ms;
	int64_t drive_ms;         /* driving time (logged hours) */
	double battery_kwh;
	double odometer_m;
	double next_ra_m;         /* odometer of the next remote-assistance request */
	double next_diseng_m;     /* odometer of the next disengagement */
	double logged_gb;
	uint32_t id;
	uint32_t edge;            /* current edge or FS_NO_EDGE */
	float seg_from_m;
	float seg_to_m;
	float stop_short_m;       /* the route ends this far before the end of its last edge (0: at the end) */
	float speed_cap_mps;      /* in force when odd_flags has FS_ODD_SPEED_CAP */
	uint32_t path_off;        /* remaining route: fleet arena [path_off, +path_len), at path_pos */
	uint32_t path_len;
	uint32_t path_pos;
	uint32_t heap_pos;        /* fleet heap slot or UINT32_MAX */
	uint16_t flags;           /* enum fs_vehicle_flags */
	uint16_t odd_flags;       /* restrictions in force: software | platform | city */
	uint8_t state;            /* enum fs_vehicle_state */
	uint8_t phase;            /* enum fs_city_phase */
	uint8_t sw;               /* index into params->sw */
	uint8_t mrc_cause;        /* enum fs_mrc_cause bits */
	struct fs_platform platform;
	/* cold: state changes, faults, depots, jobs */
	uint8_t resume_state;     /* state interrupted by the minimal-risk condition */
	uint8_t sw_pending;       /* index to install at the next stop (FS_VF_SW_PENDING) */
	uint16_t city_odd_flags;  /* restrictions set by the city */
	uint16_t depot;           /* depot it is at / heading to, FS_NO_DEPOT */
	uint16_t home_depot;      /* where it is towed and commissioned */
	uint16_t alight_s;        /* the rider gets out this long after the car stops at the drop-off */
	float charge_kw;          /* plug power while charging */
	uint32_t trip_off;        /* the job's trip route, started when the rider boards */
	uint32_t trip_len;
	float trip_stop_short_m;  /* the trip's stop_short_m: where the rider gets out */
	uint32_t board_dwell_ms;
	uint32_t queue_next;      /* next vehicle index in a depot queue or UINT32_MAX */
	uint32_t ra_count;
	uint32_t diseng_count;
	uint32_t mrc_count;
	uint64_t job_id;          /* 0 = none */
	int64_t state_since_ms;
	int64_t upload_since_ms;
	double uploaded_gb;
	struct fs_rng fault_rng;  /* (seed, FS_RNG_STREAM_VEHICLE_FAULTS, id) */
	struct fs_rng ops_rng;    /* (seed, FS_RNG_STREAM_VEHICLE_OPS, id): RA, disengagement, yield */
};

/* How a vehicle starts. */
struct fs_vehicle_init {
	uint32_t id;
	uint8_t state;          /* FS_VEHICLE_DELIVERED (default if 0) or FS_VEHICLE_AVAILABLE */
	uint8_t phase;          /* enum fs_city_phase */
	uint8_t sw;             /* index into params->sw */
	uint16_t city_odd_flags;
	uint16_t home_depot;    /* FS_NO_DEPOT allowed only for a bare vehicle */
	uint8_t variant;        /* fleets: 0 = the fleet's params, k = fs_fleet_add_variant()'s k */
	bool at_depot;          /* parked at home_depot */
	double soc;             /* 0..1 */
	uint32_t edge;          /* where it stands; FS_NO_EDGE if not on the network */
	double offset_m;        /* along edge */
};

/* ---- events ------------------------------------------------------------- */

/** Append @e to @ev (NULL @ev: discarded). Counts a drop when memory runs out. */
void fs_vehicle_events_push(struct fs_vehicle_events *ev, const struct fs_vehicle_event *e);
/** Forget the events, keep the memory. */
void fs_vehicle_events_clear(struct fs_vehicle_events *ev);
/** Free the memory. */
void fs_vehicle_events_finish(struct fs_vehicle_events *ev);

/** "delivered", "in_trip", ... ("?" for an unknown value). */
const char *fs_vehicle_state_name(int state);
/** "state_changed", ... ("?" for an unknown value). */
const char *fs_vehicle_event_kind_name(int kind);

/* ---- one vehicle -------------------------------------------------------- */

/**
 * Initialise @v at @now_ms: seeds its random streams from (@seed, stream, id),
 * draws its first fault and software event thresholds. @params must outlive @v.
 * Returns 0 or -EINVAL (bad state, sw index, soc or phase).
 */
int fs_vehicle_init(struct fs_vehicle *v, const struct fs_vehicle_params *params, uint64_t seed,
		    const struct fs_vehicle_init *init, int64_t now_ms);

/** True if the transition table has @from -> @to (guards aside). */
bool fs_vehicle_transition_allowed(int from, int to);

/**
 * Move @v to state @to at @now_ms: checks the transition table and the guards,
 * brings the energy and operating-time accounts up to @now_ms and appends a
 * FS_VEV_STATE_CHANGED event. On a refusal, returns -EPERM, leaves @v as it
 * was and appends FS_VEV_TRANSITION_REFUSED with the reason. This is the bare
 * state machine: a vehicle in a fleet should move with fs_fleet_transition()
 * or the fleet operations, which also run the entry/exit actions.
 */
int fs_vehicle_transition(struct fs_vehicle *v, int to, int64_t now_ms,
			  struct fs_vehicle_events *ev);

/** Why @v may not go to @to now, or NULL if it may. */
const char *fs_vehicle_transition_refusal(const struct fs_vehicle *v, int to);

/** State of charge 0..1 at @now_ms (>= acct_ms), without changing @v. */
double fs_vehicle_soc(const struct fs_vehicle *v, int64_t now_ms);
/** Battery energy in kWh at @now_ms, without changing @v. */
double fs_vehicle_battery_kwh(const struct fs_vehicle *v, int64_t now_ms);

/** Energy (kWh) to drive @km: traction plus the AV stack for the planned duration. */
double fs_vehicle_job_kwh(const struct fs_vehicle_params *p, double km, double duration_s);

/**
 * Can @v drive @job_km (taking @job_s seconds; <= 0: at params.plan_speed_kmh)
 * from @now_ms and keep @reserve_soc? Counts traction and the AV stack load.
 */
bool fs_vehicle_can_complete(const struct fs_vehicle *v, int64_t now_ms, double job_km,
			     double job_s, double reserve_soc);

/**
 * Seconds to charge from @soc_from to @soc_to on a plug of @plug_kw, with the
 * taper above params.taper_start_soc, the charging efficiency and the AV stack
 * load drawn meanwhile. Infinite if the net power cannot reach @soc_to.
 */
double fs_vehicle_charge_seconds(const struct fs_vehicle_params *p, double plug_kw,
				 double soc_from, double soc_to);
/** SoC reached after @seconds on @plug_kw from @soc_from (inverse of the above). */
double fs_vehicle_soc_after_charging(const struct fs_vehicle_params *p, double plug_kw,
				     double soc_from, double seconds);

/** Health of device @index of @kind; FS_HEALTH_FAILED for a bad kind/index. */
int fs_platform_get(const struct fs_platform *p, int kind, unsigned index);
/** Set health; returns 0 or -EINVAL. */
int fs_platform_set(struct fs_platform *p, int kind, unsigned index, int health);
/** How many devices of @kind have @health. */
unsigned fs_platform_count(const struct fs_platform *p, int kind, int health);
/** Devices of a kind (14, 9, 1, 12, 2); 0 for a bad kind. */
unsigned fs_platform_kind_size(int kind);
/** Set every degraded device back to ok (what remote assistance does); returns how many. */
unsigned fs_platform_clear_degraded(struct fs_platform *p);

#define FS_PLATFORM_RULES 12

/* What the platform's health means for driving. */
struct fs_platform_assessment {
	uint32_t rules;         /* bit k-1 set: rule Rk of the table matched */
	uint16_t odd_flags;     /* restrictions to add */
	float speed_cap_mps;    /* with FS_ODD_SPEED_CAP; 0 otherwise */
	bool minimal_risk;      /* must pull over and stop now */
	bool ra_clears;         /* remote assistance (clearing degraded devices) ends the stop */
	bool needs_depot;       /* failed hardware: depot before the next job */
};

/**
 * THE rule table of docs/vehicle.md ("Platform fault rules"): map the health
 * of every device to its consequences. Pure; same input, same answer.
 */
void fs_platform_assess(const struct fs_platform *p, const struct fs_vehicle_params *params,
			struct fs_platform_assessment *ret);
/** Short description of rule @k (1-based), for events and docs; NULL if out of range. */
const char *fs_platform_rule_name(unsigned k);

/** A zone test for edges: per-edge flags, or a callback, or neither (everything is inside). */
struct fs_zone {
	const uint8_t *edge_in_zone; /* edge_count bytes, nonzero = inside; may be NULL */
	bool (*contains)(void *ctx, uint32_t edge); /* used when edge_in_zone is NULL; may be NULL */
	void *ctx;
};

/**
 * May a vehicle whose ODD has @odd_flags and @max_rain drive in @rain (enum
 * fs_rain)? The one rain rule, for the vehicles and for dispatch's view of them.
 */
bool fs_rain_within_odd(uint8_t rain, uint8_t max_rain, uint16_t odd_flags);

/** Why @cond's city-wide part is outside @v's ODD now, or NULL if it is inside. */
const char *fs_vehicle_odd_refusal(const struct fs_vehicle *v, const struct fs_conditions *cond);
/** The same where @v stands: the city's conditions, or a zone's weather on its edge. */
const char *fs_vehicle_here_refusal(const struct fs_vehicle *v, const struct fs_conditions *cond);

/**
 * Why driving @edge is outside @v's ODD (road class, geofence, weather over
 * a zone of @cond) or closed (@cond's closures; not the edge @v is on), or
 * NULL. @zone and @cond may be NULL.
 */
const char *fs_vehicle_edge_refusal(const struct fs_vehicle *v, const struct fs_network *net,
				    const struct fs_zone *zone, const struct fs_conditions *cond, uint32_t edge);

/*
 * A ride: drive to the pickup, wait for the rider, drive the trip. The
 * pickup is on the last edge of @to_pickup, @pickup_short_m metres before
 * its end (0: at its end, a junction); the trip starts there (on that edge,
 * or at the start of its first edge when that is the next one) and ends on
 * its last edge @dropoff_short_m before the end.
 */
struct fs_job {
	uint64_t id;                /* nonzero */
	const uint32_t *to_pickup;  /* edges from the vehicle's position; may be empty */
	uint32_t to_pickup_len;
	const uint32_t *trip;       /* edges pickup -> drop-off; starts where to_pickup ends */
	uint32_t trip_len;
	int32_t board_dwell_s;      /* >= 0: the rider boards this long after arrival; <0: wait for fs_fleet_board() */
	int32_t alight_dwell_s;     /* > 0: the car stands at the drop-off, rider aboard, this long (in_trip) */
	double pickup_short_m;      /* >= 0, clamped to the edge */
	double dropoff_short_m;
};

/**
 * Would @v take @job now? Declines (false, *@ret_reason set) if it is not
 * available, carries no riders in its city phase, needs a depot, the
 * conditions or any edge leave its ODD or @zone, or it cannot finish the job
 * with the reserve (params.job_reserve_soc). @zone and @ret_reason may be NULL.
 */
bool fs_vehicle_accepts_job(const struct fs_vehicle *v, const struct fs_network *net,
			    const struct fs_job *job, const struct fs_conditions *cond,
			    const struct fs_zone *zone, int64_t now_ms, const char **ret_reason);

/* Where a vehicle is, for the state batches. */
struct fs_vehicle_snapshot {
	double x, y;          /* metres in the network's frame */
	double heading_rad;   /* direction of travel, counter-clockwise from east */
	double speed_mps;
	double soc;
	double offset_m;
	uint32_t edge;        /* FS_NO_EDGE when off the network */
	uint32_t health_flags;/* FS_HEALTH_SUMMARY_* */
};

enum fs_health_summary {
	FS_HEALTH_SUMMARY_DEGRADED = 1 << 0,    /* a device is degraded */
	FS_HEALTH_SUMMARY_FAILED = 1 << 1,      /* a device has failed */
	FS_HEALTH_SUMMARY_RESTRICTED = 1 << 2,  /* faults restrict the ODD */
	FS_HEALTH_SUMMARY_MINIMAL_RISK = 1 << 3,/* faults force a stop */
	FS_HEALTH_SUMMARY_NEEDS_DEPOT = 1 << 4,
};

/**
 * Position of @v at @now_ms, interpolated along its edge's shape. Returns 0,
 * or -ENOENT when the vehicle is not on the network (outputs untouched).
 * Any output pointer may be NULL.
 */
int fs_vehicle_position(const struct fs_vehicle *v, const struct fs_network *net, int64_t now_ms,
			double *ret_x, double *ret_y, uint32_t *ret_edge, double *ret_offset_m);

/** Everything a state batch carries about @v at @now_ms. Returns 0 or -ENOENT (off network). */
int fs_vehicle_snapshot(const struct fs_vehicle *v, const struct fs_network *net, int64_t now_ms,
			struct fs_vehicle_snapshot *ret);

/*
 * What a vehicle tells the world: its state and the motion segment it is on,
 * enough to place it at any time until its next record (the bus carries
 * records when they change, not positions every second: docs/bus.md
 * "Vehicle records"). Its charge is a level at t_ms and a rate.
 */
struct fs_vehicle_record {
	int64_t t_ms;           /* when the record was taken */
	int64_t soc_ms;         /* when soc was taken (a move keeps the last full record's) */
	int64_t seg_start_ms;   /* offset goes seg_from_m -> seg_to_m over */
	int64_t seg_end_ms;     /*   [seg_start_ms, seg_end_ms]; FS_NEVER_MS = standing */
	double odometer_m;      /* at t_ms */
	uint64_t job_id;        /* 0 = none */
	uint32_t id;
	uint32_t edge;          /* FS_NO_EDGE when off the network */
	uint32_t health_flags;  /* FS_HEALTH_SUMMARY_* */
	uint32_t sw_version;
	float seg_from_m;
	float seg_to_m;
	float soc;              /* 0..1 at t_ms */
	float soc_per_h;        /* its rate of change at t_ms */
	float x, y;             /* position at t_ms, metres in the network's frame */
	uint16_t odd_flags;
	uint8_t state;          /* enum fs_vehicle_state */
	uint8_t kind;           /* enum fs_vehicle_record_kind */
};

enum fs_vehicle_record_kind {
	FS_VEHICLE_RECORD_FULL = 0,
	FS_VEHICLE_RECORD_MOVE = 1, /* only t_ms, edge, segment, odometer, x, y are meant */
};

/* How far a record's charge may drift from the vehicle's before it is sent again. */
#define FS_VEHICLE_RECORD_SOC_STEP 0.005

/** The record of @v at @now_ms. Returns 0 (off the network: edge FS_NO_EDGE, x = y = 0). */
int fs_vehicle_record_take(const struct fs_vehicle *v, const struct fs_network *net, int64_t now_ms,
			   struct fs_vehicle_record *ret);
/** The same without x and y (the costly part: a walk along the edge's shape)... */
void fs_vehicle_record_take_status(const struct fs_vehicle *v, const struct fs_network *net, int64_t now_ms,
				   struct fs_vehicle_record *ret);
/** ... which this adds: where @r puts the vehicle at r->t_ms. */
void fs_vehicle_record_locate(struct fs_vehicle_record *r, const struct fs_network *net);
/** A full record of vehicle @id standing (in @state) at @offset_m along @edge, at (@x, @y), from @t_ms. */
struct fs_vehicle_record fs_vehicle_record_standing(uint32_t id, int state, uint32_t edge, double offset_m, double x,
						    double y, double soc, int64_t t_ms);
/** Offset along r->edge at @t_ms (>= r->t_ms), as the vehicle computes it. */
double fs_vehicle_record_offset_at(const struct fs_vehicle_record *r, int64_t t_ms);
/** Charge 0..1 at @t_ms, extrapolated from the record. */
double fs_vehicle_record_soc_at(const struct fs_vehicle_record *r, int64_t t_ms);
/** True while the record's segment moves the vehicle at @t_ms. */
bool fs_vehicle_record_moving(const struct fs_vehicle_record *r, int64_t t_ms);
/**
 * Where the record puts the vehicle at @t_ms: position, heading, speed, offset,
 * charge (health_flags copied). Returns 0, or -ENOENT when off the network or the
 * edge is not in @net (then only soc and health_flags are set).
 */
int fs_vehicle_record_place(const struct fs_vehicle_record *r, const struct fs_network *net, int64_t t_ms,
			    struct fs_vehicle_snapshot *ret);
/**
 * Does @now say something @sent (the vehicle's last record) does not: another
 * state, segment, edge, job, flags or software, or a charge that has drifted
 * from @sent's extrapolation by more than FS_VEHICLE_RECORD_SOC_STEP?
 */
bool fs_vehicle_record_news(const struct fs_vehicle_record *sent, const struct fs_vehicle_record *now);
/** Is the news of @now over @sent only a new segment (a FS_VEHICLE_RECORD_MOVE says it)? */
bool fs_vehicle_record_only_moved(const struct fs_vehicle_record *sent, const struct fs_vehicle_record *now);
/**
 * Bring @known (the last record of a vehicle, or anything when @have is false)
 * up to @in. A move needs a known full record of the same vehicle (-ENOENT).
 */
int fs_vehicle_record_merge(struct fs_vehicle_record *known, bool have, const struct fs_vehicle_record *in);

/**
 * XXH3-64 of @v's canonical state (fields in a fixed order and byte order;
 * no padding, pointers, heap slots or arena offsets) and of @path's remaining
 * edges and @trip's (either may be NULL with length 0).
 */
uint64_t fs_vehicle_hash(const struct fs_vehicle *v, const uint32_t *path, uint32_t path_len,
			 const uint32_t *trip, uint32_t trip_len);

/* ---- fleet -------------------------------------------------------------- */

struct fs_fleet;

/* Fleet-wide counters and KPI totals (sums over the fleet's vehicles). */
struct fs_fleet_stats {
	uint64_t touched;          /* vehicle visits in the last fs_fleet_advance() */
	uint64_t visits;           /* all vehicle visits so far */
	uint64_t edges_driven;
	uint64_t jobs_completed;
	uint64_t ra_requests;
	uint64_t disengagements;
	uint64_t minimal_risk;
	uint64_t tows;
	uint64_t strandings;
	uint64_t charge_requests;
	uint64_t charges;          /* charging sessions completed */
	uint64_t faults;
	double km_driven;
	double driving_hours;
	double logged_gb;
	double uploaded_gb;
	double charged_kwh;        /* energy into batteries at depots */
	double traction_kwh;       /* energy driving took (params.kwh_per_km x km) */
	double charging_hours;     /* time plugged in and charging */
};

#define FS_FLEET_VARIANTS_MAX 16

/**
 * Create a fleet over @net (borrowed, must outlive the fleet) with a copy of
 * @params, for run @seed. NULL on bad arguments or no memory.
 */
struct fs_fleet *fs_fleet_create(const struct fs_network *net, const struct fs_vehicle_params *params,
				 uint64_t seed);
/** Free; NULL is a no-op. */
void fs_fleet_destroy(struct fs_fleet *fleet);

/**
 * Add a vehicle model that some of the fleet's vehicles are (an OEM
 * programme's pack, consumption, charging limit), as a copy of @params; its
 * software releases must be the fleet's. Returns its index 1..
 * FS_FLEET_VARIANTS_MAX for fs_vehicle_init.variant, -EINVAL or -ENOSPC.
 */
int fs_fleet_add_variant(struct fs_fleet *fleet, const struct fs_vehicle_params *params);
/** Counters of the vehicles of @variant (0: the fleet's own params); NULL if there is none. */
const struct fs_fleet_stats *fs_fleet_variant_stats(const struct fs_fleet *fleet, unsigned variant);

/** Add a depot at @node with @plugs plugs of @plug_kw. Returns its index or -EINVAL/-ENOMEM. */
int fs_fleet_add_depot(struct fs_fleet *fleet, uint32_t node, uint16_t plugs, double plug_kw);
/** Plugs in use and vehicles queued at @depot; -EINVAL for a bad index. */
int fs_fleet_depot_usage(const struct fs_fleet *fleet, uint16_t depot, uint32_t *ret_busy,
			 uint32_t *ret_queued);

/** Make room for @count vehicles in total (avoids growth slack). Returns 0 or -ENOMEM. */
int fs_fleet_reserve(struct fs_fleet *fleet, uint32_t count);

/**
 * Add a vehicle at @now_ms. Ids must increase (a shard adds its ids in
 * order); a vehicle at a depot stands on the depot node's first in-edge.
 * Returns the vehicle's index, or -EINVAL / -EEXIST / -ENOMEM.
 */
int fs_fleet_add(struct fs_fleet *fleet, const struct fs_vehicle_init *init, int64_t now_ms);

/** Index of vehicle @id or -ENOENT (binary search). */
int fs_fleet_find(const struct fs_fleet *fleet, uint32_t id);
uint32_t fs_fleet_count(const struct fs_fleet *fleet);
/** Vehicle at @index (< count); valid until the next fs_fleet_add(). */
const struct fs_vehicle *fs_fleet_vehicle(const struct fs_fleet *fleet, uint32_t index);
/** Remaining route edges of vehicle @index (*@ret_len of them), from its current edge. */
const uint32_t *fs_fleet_route(const struct fs_fleet *fleet, uint32_t index, uint32_t *ret_len);

/** Set the conditions from @now_ms; hands back jobs that leave a vehicle's ODD (events). */
int fs_fleet_set_conditions(struct fs_fleet *fleet, const struct fs_conditions *cond, int64_t now_ms,
			    struct fs_vehicle_events *ev);
/** Set the geofence used to accept jobs (copied by value; arrays borrowed). NULL: none. */
void fs_fleet_set_zone(struct fs_fleet *fleet, const struct fs_zone *zone);

/**
 * Process every vehicle event due at or before @now_ms in (time, vehicle id)
 * order, appending events to @ev. Vehicles with nothing due are not touched.
 * Returns the number of vehicle visits, or -EINVAL if @now_ms goes backwards.
 */
int64_t fs_fleet_advance(struct fs_fleet *fleet, int64_t now_ms, struct fs_vehicle_events *ev);
/** Time of the earliest pending vehicle event, FS_NEVER_MS if none. */
int64_t fs_fleet_next_event_ms(const struct fs_fleet *fleet);

/*
 * Operations. Each first advances the fleet to @now_ms (so commands apply in
 * a deterministic order), then acts on vehicle @id. They return 0, -ENOENT
 * (no such vehicle), -EINVAL (malformed route, bad argument) or -EPERM (the
 * vehicle refuses; an event says why).
 */

/** Delivered -> commissioning; acceptance ends after params.commissioning_h. */
int fs_fleet_commission(struct fs_fleet *fleet, uint32_t id, int64_t now_ms,
			struct fs_vehicle_events *ev);
/**
 * Offer @job. Accepted: FS_VEV_JOB_ACCEPTED, vehicle heads to pickup. Declined:
 * -EPERM with FS_VEV_JOB_DECLINED, plus FS_VEV_CHARGE_REQUEST if energy was why.
 * Routes are copied into the fleet's arena.
 */
int fs_fleet_assign(struct fs_fleet *fleet, uint32_t id, const struct fs_job *job, int64_t now_ms,
		    struct fs_vehicle_events *ev);
/** The rider boarded a vehicle waiting for it: start the trip. */
int fs_fleet_board(struct fs_fleet *fleet, uint32_t id, int64_t now_ms, struct fs_vehicle_events *ev);
/** Cancel the job of a vehicle driving to or waiting at the pickup (not with a rider aboard). */
int fs_fleet_cancel_job(struct fs_fleet *fleet, uint32_t id, int64_t now_ms,
			struct fs_vehicle_events *ev);
/**
 * The rider of job @job_id gave up: cancel it if it is still vehicle @id's
 * (0 without effect once it ended or was replaced). -ENOENT for an unknown
 * vehicle, -EPERM with the rider aboard (as fs_fleet_cancel_job()).
 */
int fs_fleet_drop_job(struct fs_fleet *fleet, uint32_t id, uint64_t job_id, int64_t now_ms,
		      struct fs_vehicle_events *ev);
/** Drive an available vehicle along @path (repositioning, or a data-collection drive). */
int fs_fleet_reposition(struct fs_fleet *fleet, uint32_t id, const uint32_t *path, uint32_t path_len,
			int64_t now_ms, struct fs_vehicle_events *ev);

enum fs_depot_purpose {
	FS_DEPOT_CHARGE = 0,
	FS_DEPOT_MAINTENANCE = 1,
};
/**
 * Send the vehicle along @path (ending at @depot's node; empty if it is
 * parked there) to charge (plug or queue) or for maintenance.
 */
int fs_fleet_send_to_depot(struct fs_fleet *fleet, uint32_t id, uint16_t depot, int purpose,
			   const uint32_t *path, uint32_t path_len, int64_t now_ms,
			   struct fs_vehicle_events *ev);
/** The city moved to @phase (enum fs_city_phase). */
int fs_fleet_set_phase(struct fs_fleet *fleet, uint32_t id, int phase, int64_t now_ms,
		       struct fs_vehicle_events *ev);
/** Over-the-air update to params.sw[@sw]: now if stopped, else at the next stop. */
int fs_fleet_update_software(struct fs_fleet *fleet, uint32_t id, uint8_t sw, int64_t now_ms,
			     struct fs_vehicle_events *ev);
/** A scenario-injected device fault (e.g. the "device_fault" scenario event). */
int fs_fleet_inject_fault(struct fs_fleet *fleet, uint32_t id, int kind, unsigned index, int health,
			  int64_t now_ms, struct fs_vehicle_events *ev);
/**
 * Vehicle @id becomes a vehicle of @variant (0: the fleet's params) at the
 * same state of charge: the run's first vehicles take the models of the
 * programmes they stand for. -EPERM while it charges (its plug time was set
 * for the old pack), -EINVAL for an unknown variant, -ENOENT.
 */
int fs_fleet_set_variant(struct fs_fleet *fleet, uint32_t id, unsigned variant, int64_t now_ms,
			 struct fs_vehicle_events *ev);
/** Any table transition, with the fleet's entry/exit actions (plugs, uploads, timers). */
int fs_fleet_transition(struct fs_fleet *fleet, uint32_t id, int to, int64_t now_ms,
			struct fs_vehicle_events *ev);

/**
 * Indices of the vehicles the fleet touched (visited, commanded, added) since
 * the last fs_fleet_clear_touched(), in the order first touched: the only ones
 * whose record can have changed, except for a drifting charge.
 */
const uint32_t *fs_fleet_touched(const struct fs_fleet *fleet, uint32_t *ret_count);
void fs_fleet_clear_touched(struct fs_fleet *fleet);

/*
 * What readers of a fleet's records know (the last record of each vehicle,
 * moves merged), to send only news: fs_fleet_news() looks at the vehicles the
 * fleet touched, and every FS_FLEET_NEWS_SWEEP_MS at every vehicle's charge.
 */
struct fs_fleet_news;

/* [est] how often every car's drifting charge is checked: a minute of AV-stack drain is ~0.04 %
 * of a battery, far inside FS_VEHICLE_RECORD_SOC_STEP */
#define FS_FLEET_NEWS_SWEEP_MS 60000

struct fs_fleet_news *fs_fleet_news_create(void);
void fs_fleet_news_destroy(struct fs_fleet_news *news);
/**
 * The records of @fleet's vehicles that say something new at @now_ms, as
 * moves where only the segment changed; clears the fleet's touched list.
 * Returns their count (*@ret valid until the next call) or -ENOMEM.
 */
long fs_fleet_news_take(struct fs_fleet_news *news, struct fs_fleet *fleet, const struct fs_network *net,
			int64_t now_ms, const struct fs_vehicle_record **ret);
/** Counts of full records and moves sent so far. */
void fs_fleet_news_counts(const struct fs_fleet_news *news, uint64_t *ret_full, uint64_t *ret_moves);

/** fs_vehicle_hash() of vehicle @index with its routes. */
uint64_t fs_fleet_vehicle_hash(const struct fs_fleet *fleet, uint32_t index);
/** Sum mod 2^64 of the vehicle hashes: shards sum to the whole fleet's value. */
uint64_t fs_fleet_hash(const struct fs_fleet *fleet);
/** Counters and KPI totals. */
const struct fs_fleet_stats *fs_fleet_stats(const struct fs_fleet *fleet);
/** Bytes the fleet holds on the heap (vehicles, heap, route arena, depots). */
size_t fs_fleet_memory_bytes(const struct fs_fleet *fleet);

#endif
