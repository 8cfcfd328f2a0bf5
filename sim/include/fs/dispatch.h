/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/dispatch.h - the ride platform: requests, matching, rebalancing,
 * charging decisions and KPIs, as a pure library (the fs-dispatch service
 * is a thin adapter between this and the bus).
 *
 * A request lives through
 *   requested -> offered -> assigned -> picked up -> dropped off
 * and may instead end cancelled (the rider gave up waiting, before or after a
 * car was assigned; never came to the car; or the trip was aborted with the
 * rider aboard) or
 * rejected (no vehicle of the fleet can serve it: outside the service area,
 * no route, outside every vehicle's ODD, longer than a battery allows). Every
 * request ends in exactly one of dropped off, cancelled, rejected; until then
 * it is open. "offered" means the platform quoted a pickup time and sent the
 * job to the vehicle; "assigned" means the vehicle accepted it.
 *
 * Each fs_dispatch_step() first applies the vehicle events given since the
 * last step (sorted by (time, vehicle id), so the answer does not depend on
 * how the fleet is split over processes), cancels riders out of patience
 * (each rider's own, fs/rider.h, drawn from params.seed and the request id),
 * then makes the platform's decisions in a fixed order so that they never
 * fight over a car: charging first (vehicles that need energy leave the
 * pool), then matching (every params.batch_s), then rebalancing of the
 * vehicles still idle (every params.rebalance_s). A vehicle gets at most one
 * command at a time and is not offered again until the vehicle confirms or
 * refuses it (vehicle events and state batches).
 *
 * Matching, batch: candidates per request are the params.candidates nearest
 * eligible vehicles (straight line, fs_spatial), pickup ETAs come from one
 * fs_route_many_to_one() per request, and the assignment minimising the sum
 * of pickup ETAs plus, for each request left waiting, params.max_pickup_eta_s
 * + the time it has already waited, is solved exactly by
 * fs_dispatch_assign_solve() (shortest augmenting paths with potentials, the
 * Jonker-Volgenant augmentation on a sparse matrix). Greedy (the SUMO-style
 * baseline): requests in arrival order each take the vehicle with the
 * smallest ETA among the nearest eligible ones still free.
 *
 * Time is Unix ms of simulated time, passed in; nothing here reads a clock,
 * logs, or keeps global state. Defaults and their sources: docs/dispatch.md.
 */
#ifndef FS_DISPATCH_H
#define FS_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/demand.h"
#include "fs/error.h"
#include "fs/network.h"
#include "fs/rider.h"
#include "fs/route.h"
#include "fs/vehicle.h"

#define FS_DISPATCH_NONE UINT32_MAX
#define FS_DISPATCH_MAX_DEPOTS 64

enum fs_dispatch_matcher {
	FS_DISPATCH_MATCH_BATCH = 0, /* optimal assignment every batch_s */
	FS_DISPATCH_MATCH_GREEDY = 1,/* arrival order, nearest free vehicle by ETA */
};

/* Request status; the last three are final. */
enum fs_dispatch_status {
	FS_DISPATCH_REQUESTED = 0, /* waiting for a vehicle */
	FS_DISPATCH_OFFERED,       /* vehicle chosen, pickup time quoted, job sent */
	FS_DISPATCH_ASSIGNED,      /* the vehicle accepted; it drives to the pickup */
	FS_DISPATCH_PICKED_UP,     /* rider aboard */
	FS_DISPATCH_DROPPED_OFF,   /* served */
	FS_DISPATCH_CANCELLED,
	FS_DISPATCH_REJECTED,
	FS_DISPATCH_STATUS_COUNT,
};

/* Why a request was cancelled or rejected. */
enum fs_dispatch_reason {
	FS_DISPATCH_REASON_NONE = 0,
	FS_DISPATCH_REASON_BEFORE_ASSIGNMENT, /* cancelled: the rider gave up before a car was assigned */
	FS_DISPATCH_REASON_AFTER_ASSIGNMENT,  /* cancelled: gave up with a car on its way (quoted or late) */
	FS_DISPATCH_REASON_NO_SHOW,       /* cancelled: never came to the car, which left after its wait */
	FS_DISPATCH_REASON_ABORTED,       /* cancelled: the vehicle gave the trip up with the rider aboard */
	FS_DISPATCH_REASON_OUTSIDE_AREA,  /* rejected: origin or destination too far from any road */
	FS_DISPATCH_REASON_NO_ROUTE,      /* rejected: no route, or pickup and drop-off at one place */
	FS_DISPATCH_REASON_ODD,           /* rejected: the trip is outside every fleet vehicle's ODD */
	FS_DISPATCH_REASON_ENERGY,        /* rejected: longer than a charged battery allows */
	FS_DISPATCH_REASON_NO_FLEET,      /* rejected: the platform has no vehicle */
	FS_DISPATCH_REASON_COUNT,
};

/* Trip event kinds, numbered as fleetsim.v1.TripEventKind. */
enum fs_dispatch_trip_event_kind {
	FS_DISPATCH_EV_REQUESTED = 1,
	FS_DISPATCH_EV_OFFERED = 2,
	FS_DISPATCH_EV_ASSIGNED = 3,
	FS_DISPATCH_EV_PICKED_UP = 4,
	FS_DISPATCH_EV_DROPPED_OFF = 5,
	FS_DISPATCH_EV_CANCELLED = 6,
	FS_DISPATCH_EV_REJECTED = 7,
};

/* Stop kinds, numbered as fleetsim.v1.StopKind. */
enum fs_dispatch_stop_kind {
	FS_DISPATCH_STOP_PICKUP = 1,
	FS_DISPATCH_STOP_DROPOFF = 2,
	FS_DISPATCH_STOP_REPOSITION = 3,
	FS_DISPATCH_STOP_CHARGE = 4,
	FS_DISPATCH_STOP_DEPOT = 5,
};

/* Every tunable of the platform, with its source (see fs_dispatch_params_defaults()). */
struct fs_dispatch_params {
	int matcher;               /* enum fs_dispatch_matcher */
	double batch_s;            /* matching period (both matchers) */
	uint64_t seed;             /* run seed: each rider's draws (fs_rider_draw(), keyed by request id) */
	double patience_s;         /* no rider waits longer for a car (assigned or not); no ETA quoted past it */
	struct fs_rider_params riders; /* patience, boarding, alighting, no-shows */
	double max_wait_s;         /* a car waits this long at the pickup (fs_vehicle_params.max_wait_s) */
	uint32_t candidates;       /* nearest eligible vehicles considered per request */
	double max_pickup_eta_s;   /* longest pickup ETA ever offered (assignment cost cap) */
	double offer_timeout_s;    /* a vehicle that does not answer an offer is passed over */
	double decline_cooldown_s; /* a vehicle that declined is not asked again for this long */
	double max_snap_m;         /* farther from any road: outside the service area */
	double energy_speed_mps;   /* deadhead distance estimate = ETA x this (conservative) */
	int night_start_h;         /* night hours [start, 24) + [0, end) for DAYTIME_ONLY ODDs */
	int night_end_h;
	/* charging */
	bool charging;             /* make charging decisions at all */
	double charge_soc;         /* a vehicle below this goes to charge */
	double opportunistic_soc;  /* below this a vehicle charges off-peak when a plug is free */
	double offpeak_share;      /* off-peak: the hour's share of daily demand is below this */
	double charge_speed_mps;   /* beeline speed to rank depots by distance */
	/* rebalancing */
	double rebalance_s;        /* period; 0 = off */
	double cell_m;             /* zone size of the rebalancing (and KPI) grid */
	double horizon_s;          /* forecast horizon for expected demand */
	double min_idle_s;         /* only vehicles idle this long are moved */
	double max_reposition_m;   /* longest move (straight line) */
	double max_move_share;     /* at most this share of idle vehicles moves per round */
	/* vehicle model used for energy estimates (defaults: fs_vehicle_params_defaults) */
	double battery_kwh;
	double kwh_per_km;
	double av_stack_kw;
	double job_reserve_soc;
	double charge_target_soc;
	uint8_t max_rain;          /* enum fs_rain: worse weather is outside every vehicle's ODD */
};

/** Fill @p with the defaults (each commented with its source in fs_dispatch_params.c). */
void fs_dispatch_params_defaults(struct fs_dispatch_params *p);

/* The city the platform works in; borrowed, must outlive the dispatcher. */
struct fs_dispatch_world {
	const struct fs_network *net;
	struct fs_route_query *query;          /* routing workspace (used from one thread) */
	/* A workspace that avoids motorways (fs_route_query_avoid), the routes a
	 * vehicle whose ODD excludes them drives; NULL: such vehicles take only
	 * rides whose fastest route has none. */
	struct fs_route_query *surface_query;
	const struct fs_network_index *index;  /* snapping index over the service edges */
	const uint8_t *in_scc;                 /* node_count bytes: serviceable nodes */
	const uint32_t *depot_nodes;           /* depot k at node depot_nodes[k] */
	const uint16_t *depot_plugs;           /* plugs at depot k */
	uint32_t depot_count;
	/* Expected demand for rebalancing and off-peak charging: where requests
	 * start (weights) and how many per day follow which daily profile. NULL
	 * places or profile / 0 trips_per_day: learnt from the requests seen. */
	const struct fs_demand_place *places;
	size_t place_count;
	const struct fs_demand_profile *profile;
	double trips_per_day;
	/* The city's clock: the profile's slots, KPI hours and night (borrowed, must
	 * outlive the dispatcher); NULL = UTC. */
	const struct fs_timezone *tz;
	/* What the fleet's own traffic adds to the router's times (fs/traffic.h),
	 * borrowed; NULL = nothing. Pickup ETAs are quoted with it, as driven. */
	const struct fs_traffic *traffic;
	/* Threads for work that splits into independent items (optional; NULL: one thread):
	 * @parallel_for(@pool, n, fn, arg) calls fn(arg, i, worker) once for every i < n, on
	 * workers numbered below @worker_count, worker 0 being the calling thread, and returns
	 * when all are done. Worker w >= 1 routes with @worker_queries[w] and
	 * @worker_surface_queries[w] (workspaces of the routers of @query and @surface_query);
	 * worker 0 with those two. What the dispatcher computes does not depend
	 * on any of this: items' results are merged in item order. */
	void (*parallel_for)(void *pool, size_t n, void (*fn)(void *arg, size_t i, unsigned worker), void *arg);
	void *pool;
	unsigned worker_count; /* at most FS_DISPATCH_MAX_WORKERS are used */
	struct fs_route_query *const *worker_queries;
	struct fs_route_query *const *worker_surface_queries; /* as surface_query; NULL if that is */
};

#define FS_DISPATCH_MAX_WORKERS 16

/* A rider's request as it arrives. */
struct fs_dispatch_request_in {
	uint64_t demand_id;     /* the generator's or replay's id, kept for reports */
	int64_t t_ms;           /* request time */
	struct fs_point origin; /* metres, network frame */
	struct fs_point dest;
	double patience_s;      /* the platform's cap for this rider; <= 0: params.patience_s */
};

/* One request and its timeline (read-only for callers). Times are Unix ms, -1 = not reached. */
struct fs_dispatch_request {
	uint64_t id;            /* 1, 2, ... in arrival order */
	uint64_t demand_id;
	uint64_t job_id;        /* current ride job, 0 = none */
	int64_t t_request_ms;
	int64_t t_offer_ms;     /* last offer */
	int64_t t_assign_ms;
	int64_t t_arrive_ms;    /* vehicle at the pickup */
	int64_t t_pickup_ms;    /* rider boarded */
	int64_t t_dropoff_ms;
	int64_t t_end_ms;       /* cancelled or rejected */
	struct fs_point origin, dest;
	/* Where the rider is picked up and set down: the nearest point of the nearest service
	 * edge, on the side of the street (the edge or its reverse) the fastest trip uses.
	 * FS_DISPATCH_NONE when outside the area. */
	uint32_t pickup_edge;
	uint32_t dropoff_edge;
	float pickup_offset_m;  /* metres along pickup_edge */
	float dropoff_offset_m;
	uint32_t zone;          /* grid cell of the origin (fs_dispatch_zone_of()) */
	uint32_t vehicle_id;    /* FS_DISPATCH_NONE if none */
	uint32_t offers;        /* offers made (more than one after declines) */
	float patience_s;       /* the platform's cap: never quoted or kept waiting past it */
	float rider_patience_s; /* this rider's own (fs_rider_draw()): gives up at the lower of the two */
	float rider_board_s;    /* time to board once the car is there */
	float rider_alight_s;   /* time to get out at the drop-off */
	float beeline_m;
	float route_m;          /* planned trip: pickup to drop-off, fastest route */
	float route_s;
	float offer_eta_s;      /* pickup ETA quoted with the last offer */
	float pickup_m;         /* driven to the pickup by the assigned vehicle (from state batches) */
	float trip_m;           /* driven with the rider aboard */
	double odo_mark_m;      /* the vehicle's odometer at assignment, then at pickup */
	uint8_t status;         /* enum fs_dispatch_status */
	uint8_t reason;         /* enum fs_dispatch_reason */
	bool rider_shows;       /* comes to the car within params.max_wait_s (else a no-show) */
	bool rider_no_show;     /* drawn as never coming (rider_shows is also false for a late one) */
	bool uses_motorway;     /* the planned trip uses motorway/trunk roads */
	bool surface_ok;        /* a route on surface roads exists (vehicles whose ODD excludes motorways) */
	uint8_t trip_rain;      /* the worst zone weather (enum fs_rain) on the planned trip now */
	bool trip_blocked;      /* no route around the closed roads and storms now: not offered */
	uint32_t trip_plan_version; /* of the roads the trip was planned on (fs_dispatch_set_weather) */
	bool admitted;          /* checked against the fleet (rejected or not) */
};

/* A vehicle as the platform sees it: its last record placed at the fleet's time. */
struct fs_dispatch_vehicle_state {
	uint32_t id;
	uint8_t state;          /* enum fs_vehicle_state */
	uint32_t edge;          /* FS_NO_EDGE when off the network */
	double offset_m;
	double x, y;
	double soc;
	uint16_t odd_flags;
	uint32_t health_flags;  /* enum fs_health_summary */
};

struct fs_dispatch_stop {
	uint8_t kind;           /* enum fs_dispatch_stop_kind */
	uint64_t request_id;    /* 0 if the stop serves no rider */
	uint32_t edge;          /* stop on this edge (not for CHARGE/DEPOT) ... */
	double offset_m;        /* ... this far along it (a reposition: at its end) */
	struct fs_point point;
	uint32_t depot;         /* CHARGE/DEPOT */
};

/* A vehicle's task list: one ride (pickup, drop-off) or one stop. */
/* A job for a vehicle; with no stops, the cancellation of its job job_id (the rider gave up). */
struct fs_dispatch_job {
	uint64_t job_id;
	uint32_t vehicle_id;
	uint32_t stop_count;
	struct fs_dispatch_stop stops[2];
};

struct fs_dispatch_trip_event {
	uint64_t request_id;
	int64_t t_ms;
	uint32_t vehicle_id;    /* FS_DISPATCH_NONE if none */
	uint8_t kind;           /* enum fs_dispatch_trip_event_kind */
	uint8_t reason;         /* enum fs_dispatch_reason */
};

struct fs_dispatch_offer {
	uint64_t request_id;
	uint32_t vehicle_id;
	double pickup_eta_s;
};

/* What one step decided; caller-owned, zero-initialise, free with fs_dispatch_output_finish(). */
struct fs_dispatch_output {
	struct fs_dispatch_job *jobs;
	size_t job_count, job_cap;
	struct fs_dispatch_trip_event *events;
	size_t event_count, event_cap;
	struct fs_dispatch_offer *offers;
	size_t offer_count, offer_cap;
	uint64_t *new_requests;   /* ids of requests added since the last step */
	size_t new_count, new_cap;
};
void fs_dispatch_output_clear(struct fs_dispatch_output *out);
void fs_dispatch_output_finish(struct fs_dispatch_output *out);

/* Figures of one step, for benchmarks and logs. */
struct fs_dispatch_step_stats {
	/* Set by the caller (may be NULL): a clock in microseconds the step
	 * times its matching phases with. The library never reads a clock. */
	double (*clock_us)(void);
	bool matched;             /* a matching round ran */
	uint32_t waiting;         /* requests considered */
	uint32_t eligible;        /* vehicles in the pool */
	uint32_t arcs;            /* feasible (request, vehicle) pairs */
	uint32_t assigned;
	uint32_t batch_passes;    /* batch matcher: extra passes for riders the first left unmatched */
	uint32_t passes_from_vehicles; /* batch matcher: passes searched from the free vehicles (fewer than riders) */
	uint32_t repositioned;
	uint32_t sent_to_charge;
	/* vehicle records the per-step passes (command timeouts, charging) looked at: the vehicles
	 * with a charge or reposition command, in the queue, on a charger or in need of one, not
	 * the fleet (plus the idle fleet when off-peak top-ups run with a plug free) */
	uint32_t vehicles_examined;
	double candidates_us, eta_us, solve_us; /* matching phases, with clock_us */
};

/* Key figures over a set of requests and, for the whole fleet, vehicles. */
struct fs_dispatch_kpi {
	uint64_t requests, served, cancelled, rejected, open;
	uint64_t cancelled_before_assignment, cancelled_after_assignment, cancelled_no_show, cancelled_aborted;
	double wait_mean_s, wait_p50_s, wait_p90_s, wait_p95_s, wait_max_s;
	double in_vehicle_mean_s;
	double pickup_eta_mean_s;
	double trip_km_mean;
	/* vehicles (whole fleet, or the hour the time was spent in) */
	double vehicle_hours;     /* observed vehicle time */
	double occupied_hours;    /* rider aboard */
	double busy_hours;        /* to pickup, waiting for the rider, rider aboard */
	double km_total, km_occupied, km_empty;
	double empty_km_share;    /* km without a rider / all km */
	double utilisation;       /* occupied_hours / vehicle_hours */
	double trips_per_vehicle_day; /* served / (vehicle_hours / 24) */
};

/* Platform counters over the whole run. */
struct fs_dispatch_counters {
	uint64_t offers, declines, offer_timeouts, handbacks;
	uint64_t repositions, charge_jobs, charge_queued, opportunistic_charges;
	uint64_t unknown_events;      /* events about jobs the platform does not know */
	uint64_t match_rounds;
	/* planned pickup drives slower than the hierarchy's ETA ranked them (a closure, a storm,
	 * a motorway-free ODD): each one made the matcher look further */
	uint64_t pickup_eta_corrections;
	double charge_queue_wait_s;   /* summed over vehicles that got a plug */
	uint32_t peak_plugs_in_use[FS_DISPATCH_MAX_DEPOTS];
};

struct fs_dispatch;

/**
 * Create a dispatcher for @world (borrowed) with a copy of @params (NULL =
 * defaults). NULL with @err set on bad parameters or no memory.
 */
struct fs_dispatch *fs_dispatch_create(const struct fs_dispatch_world *world,
				       const struct fs_dispatch_params *params, struct fs_error *err);
/** NULL is a no-op. */
void fs_dispatch_destroy(struct fs_dispatch *d);
const struct fs_dispatch_params *fs_dispatch_get_params(const struct fs_dispatch *d);

/**
 * A rider requests a ride. Snaps origin and destination to the nearest
 * points of the service edges, takes for each the side of the street (that
 * edge or the one in the other direction) of the fastest trip, and plans the
 * trip between them; the request becomes eligible for matching once
 * a step runs at or after its time. Returns its id (> 0), or -EINVAL (bad
 * time or point) / -ENOMEM. Requests must come in non-decreasing time order.
 */
int64_t fs_dispatch_add_request(struct fs_dispatch *d, const struct fs_dispatch_request_in *req);
/**
 * fs_dispatch_add_request() for @n requests (a tick's), their trips planned on
 * the world's workers when it has them; the same requests, ids and plans as
 * adding them one by one. Returns 0, or -EINVAL when @in[*@ret_failed] is
 * refused (those before it are added), or -ENOMEM (none added, *@ret_failed = 0).
 */
int fs_dispatch_add_requests(struct fs_dispatch *d, const struct fs_dispatch_request_in *in, size_t n,
			     size_t *ret_failed);

/**
 * A vehicle's record (fs/vehicle.h: sent when it says something new; a move
 * merges into the last full one). Creates the vehicle at its first full
 * record. Accounts the time since its previous record in the state it was in,
 * and the distance its odometer gained (KPIs). Records of one vehicle must
 * come in time order; vehicles in any order. 0, -EINVAL (a bad record),
 * -ENOENT (a move of a vehicle without a full record) or -ENOMEM.
 */
int fs_dispatch_update_vehicle(struct fs_dispatch *d, const struct fs_vehicle_record *r);
/**
 * The vehicles' time their records are current for (the vehicle nodes' last
 * tick): positions and charges are read there. Records also move it forward.
 * Once per local hour it accounts every vehicle's time (fs_dispatch_settle).
 */
void fs_dispatch_set_fleet_time(struct fs_dispatch *d, int64_t t_ms);
/** Account every vehicle's time in its state up to the fleet's time (before reading KPIs). */
void fs_dispatch_settle(struct fs_dispatch *d);

/**
 * Vehicle events (copied; reasons are not kept). Applied at the next step in
 * (time, vehicle id) order, a vehicle's own events keeping their order.
 * 0 or -ENOMEM.
 */
int fs_dispatch_add_events(struct fs_dispatch *d, const struct fs_vehicle_event *events, size_t count);

/**
 * Advance the platform to @now_ms: apply events, cancel, charge, match,
 * rebalance. Appends what it decided to @out (not cleared). @stats may be
 * NULL. Returns 0, -EINVAL if time goes backwards, -ENOMEM.
 */
int fs_dispatch_step(struct fs_dispatch *d, int64_t now_ms, struct fs_dispatch_output *out,
		     struct fs_dispatch_step_stats *stats);

/** Number of requests so far; ids are 1..count. */
uint64_t fs_dispatch_request_count(const struct fs_dispatch *d);
/** Request @id, or NULL. Valid until the next fs_dispatch_add_request(). */
const struct fs_dispatch_request *fs_dispatch_request(const struct fs_dispatch *d, uint64_t id);

/** The dispatcher's view of vehicle @id (state, soc, ...), or NULL if never seen. */
const struct fs_dispatch_vehicle_state *fs_dispatch_vehicle(const struct fs_dispatch *d, uint32_t id);
/** The last record of vehicle @id (moves merged), or NULL if unknown. */
const struct fs_vehicle_record *fs_dispatch_vehicle_record(const struct fs_dispatch *d, uint32_t id);
/** Vehicles seen so far. */
uint32_t fs_dispatch_vehicle_count(const struct fs_dispatch *d);
/** One above the highest vehicle id seen (ids below it may be unseen: fs_dispatch_vehicle() NULL). */
uint32_t fs_dispatch_vehicle_id_bound(const struct fs_dispatch *d);
/** Plugs reserved or in use at @depot (never above its plug count when the platform decides alone). */
uint32_t fs_dispatch_plugs_in_use(const struct fs_dispatch *d, uint32_t depot);
/**
 * Plugs in service at @depot from now on (an outage takes some away, its end
 * gives them back). Cars already charging finish; new sessions wait for a
 * free plug. 0 or -EINVAL for a bad depot.
 */
int fs_dispatch_set_depot_plugs(struct fs_dispatch *d, uint32_t depot, uint32_t plugs);
/**
 * The weather now (fs/weather.h; borrowed until the next call, NULL = clear).
 * Call it again whenever the weather or the edges the router avoids
 * (fs_route_query_avoid() on the world's query: closed roads, storm cells)
 * change: the open requests' trips are planned again at the next step.
 * While weather outside the ODD covers a rider's pickup or drop-off, or a
 * vehicle, or no route around it exists, the platform offers that ride to no
 * vehicle it would refuse: rain beyond params.max_rain to none, any rain not
 * to vehicles whose ODD excludes rain. Riders there keep waiting (and cancel
 * when their patience runs out) until it clears.
 */
void fs_dispatch_set_weather(struct fs_dispatch *d, const struct fs_weather *weather);

/**
 * The service area (geofence events): one byte per network node, nonzero =
 * riders may be picked up and set down there (a point of an edge counts as
 * its nearer end node); borrowed until the next call;
 * NULL = everywhere. Requests admitted from now on with a pickup or drop-off
 * outside are rejected (reason outside_area); riders already waiting are
 * still served. Cars are not repositioned out of it.
 */
void fs_dispatch_set_service_area(struct fs_dispatch *d, const uint8_t *node_in_area);

/** Vehicles waiting for a plug. */
uint32_t fs_dispatch_charge_queue_length(const struct fs_dispatch *d);

/** Zones of the grid (cells of params.cell_m over the network's box), and the zone of a point. */
uint32_t fs_dispatch_zone_count(const struct fs_dispatch *d);
uint32_t fs_dispatch_zone_of(const struct fs_dispatch *d, struct fs_point p);
/** Expected requests starting in @zone during [@t_ms, @t_ms + @horizon_s). */
double fs_dispatch_expected_demand(const struct fs_dispatch *d, uint32_t zone, int64_t t_ms, double horizon_s);

/**
 * KPIs at @now_ms: @total over every request and the whole fleet; @by_hour
 * (24 entries, may be NULL) by the local hour of the request (vehicle figures
 * by the hour they were spent in); @by_zone (fs_dispatch_zone_count()
 * entries, may be NULL) by the origin zone (request figures only). Waits are
 * vehicle arrival at the pickup minus request time, over served requests;
 * percentiles interpolate between order statistics (type 7). 0 or -ENOMEM.
 */
int fs_dispatch_kpi(const struct fs_dispatch *d, struct fs_dispatch_kpi *total,
		    struct fs_dispatch_kpi *by_hour, struct fs_dispatch_kpi *by_zone);
/**
 * KPIs of the requests @select picks (say, those starting in a named zone):
 * request figures only, vehicle figures NAN. 0 or -ENOMEM.
 */
int fs_dispatch_kpi_select(const struct fs_dispatch *d,
			   bool (*select)(const struct fs_dispatch_request *r, void *ctx), void *ctx,
			   struct fs_dispatch_kpi *ret);
/**
 * The same totals from running counters, in O(1) of the request count: for
 * frequent snapshots. Wait quantiles come from a 1 s histogram (to within a
 * second of fs_dispatch_kpi()'s); wait_max_s is NAN.
 */
void fs_dispatch_kpi_running(const struct fs_dispatch *d, struct fs_dispatch_kpi *ret);
const struct fs_dispatch_counters *fs_dispatch_get_counters(const struct fs_dispatch *d);

/**
 * Sum mod 2^64 of a hash per request and per vehicle record of the
 * platform's decisions: additive, so it does not depend on the order in
 * which vehicles were reported.
 */
uint64_t fs_dispatch_hash(const struct fs_dispatch *d);

/** "requested", "offered", ... ("?" if unknown). */
const char *fs_dispatch_status_name(int status);
/** "before_assignment", "no_show", "outside_area", ... ("" for none). */
const char *fs_dispatch_reason_name(int reason);

/* ---- the assignment problem ------------------------------------------------------------ */

/*
 * A sparse rectangular assignment problem: row r may take column
 * col[k] at cost cost[k] for k in [row_first[r], row_first[r + 1]), or stay
 * unassigned at cost unassigned_cost[r]. Costs are finite; a column serves
 * at most one row. Arc lists need not be sorted; a (row, col) pair appears
 * at most once.
 */
struct fs_dispatch_assign_problem {
	uint32_t rows, cols;
	const uint32_t *row_first; /* rows + 1 entries */
	const uint32_t *col;
	const double *cost;
	const double *unassigned_cost; /* rows entries */
};

/**
 * Minimum-cost assignment of @p, exactly: shortest augmenting paths with
 * row and column potentials (Dijkstra over a heap, ties broken by column
 * index, so the answer is deterministic). O(rows x arcs x log) worst case,
 * far less in practice. @ret_col_of_row[r] gets the column or
 * FS_DISPATCH_NONE; @ret_cost (may be NULL) the objective. 0, -EINVAL, -ENOMEM.
 */
int fs_dispatch_assign_solve(const struct fs_dispatch_assign_problem *p, uint32_t *ret_col_of_row,
			     double *ret_cost);

#endif
