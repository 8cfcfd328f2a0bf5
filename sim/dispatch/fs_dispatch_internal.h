/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_dispatch_internal.h - shared by the fs_dispatch*.c files, not installed.
 */
#ifndef FS_DISPATCH_INTERNAL_H
#define FS_DISPATCH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/dispatch.h"
#include "fs/spatial.h"

#define MS_PER_S 1000.0
#define NO_TIME (-1)
#define MS_PER_HOUR INT64_C(3600000)

/* What the platform has asked a vehicle to do. */
enum claim {
	CLAIM_NONE = 0,
	CLAIM_RIDE,       /* request: from the offer to the drop-off */
	CLAIM_CHARGE,     /* target = depot: from the job until it leaves the charger */
	CLAIM_REPOSITION, /* target = zone: from the job until it arrives */
};

struct vrec {
	struct fs_dispatch_vehicle_state s; /* the view: position and charge at view_ms (dispatch_view) */
	struct fs_vehicle_record rec; /* the vehicle's last record, moves merged in */
	int64_t view_ms;           /* s is brought up to here */
	int64_t acct_ms;           /* time and distance are accounted up to here */
	int64_t idle_since_ms;     /* available since */
	int64_t cooldown_until_ms; /* declined an offer: not asked again before */
	int64_t claim_ms;          /* when the current command was sent */
	int64_t queued_ms;         /* waiting for a plug since; NO_TIME = not queued */
	int64_t cmd_ms;            /* last time any command was sent (one per step) */
	double odo_m;              /* distance driven, from the records' odometers */
	uint64_t job_id;           /* job of the current command */
	uint64_t request;          /* ride claim: request id */
	uint32_t target;           /* depot (charge) or zone (reposition) */
	uint8_t claim;             /* enum claim */
	bool confirmed;            /* the vehicle started the command */
	bool charge_requested;     /* it asked for a charger */
	bool in_pool;              /* in the spatial index of matchable vehicles ... */
	double pool_x, pool_y;     /* ... at this point */
	bool known;
	/* fs_dispatch_index.c: */
	bool hash_dirty;           /* in dirty: its hash term is recomputed at the next hash */
	bool cooling;              /* in cooling: its hash term changes when the cooldown ends */
	bool watched;              /* in watch */
	uint8_t hash_flags;        /* confirmed | charge_requested << 1 when hash_term was computed */
	uint64_t hash_term;        /* its term of the state hash when last computed (0: none) */
};

enum job_kind {
	JOB_RIDE = 0,
	JOB_CHARGE,
	JOB_REPOSITION,
};

struct jrec {
	uint64_t request;
	uint32_t vehicle;
	uint8_t kind;
};

struct ev_item {
	struct fs_vehicle_event e;
	uint64_t seq;
};

struct zone {
	uint32_t node;         /* representative service node, FS_DISPATCH_NONE if none */
	uint32_t stop_edge;    /* repositioning target: the end of this edge */
	double prior;          /* share of expected origins (places) */
	double observed;       /* decayed count of requests seen */
};

#define WAIT_BINS 7200 /* 1 s bins for running wait quantiles; longer waits share the last */

/* Vehicle figures by the hour they were spent in. */
struct hour_acc {
	double vehicle_ms, occupied_ms, busy_ms;
	double km_total, km_occupied;
};

struct fs_dispatch {
	struct fs_dispatch_params p;
	struct fs_dispatch_world w;
	/* requests */
	struct fs_dispatch_request *req;
	uint64_t nreq, req_cap;
	uint64_t *open;            /* ids of requests not yet final */
	size_t nopen, open_cap;
	uint64_t *fresh;           /* ids added since the last step */
	size_t nfresh, fresh_cap;
	uint64_t closed_hash;      /* sum of the hashes of final requests */
	/* The open requests' part of the hash, kept as a sum of terms so a tick hashes only the
	 * requests it changed (dispatch_request_changed()); with 30,000 riders open at 100,000
	 * vehicles, hashing them all every tick was 15 % of dispatch. By id - 1: */
	uint64_t open_hash;        /* sum of req_term[] over the open requests */
	uint64_t *req_term;        /* the request's term in open_hash */
	uint8_t *req_mark;         /* REQ_CHANGED, REQ_ABOARD */
	size_t req_side_cap;
	uint64_t *changed;         /* ids marked REQ_CHANGED, to rehash */
	size_t nchanged;
	uint64_t waiting_admission;/* requests not yet checked against the fleet */
	/* vehicles, indexed by id */
	struct vrec *veh;
	uint32_t nveh, veh_cap;
	uint32_t known, motorway_ok, night_ok;
	int64_t fleet_ms;          /* the vehicles' time the records are current for; INT64_MIN = none */
	int64_t next_settle_ms;    /* every vehicle's time is accounted at each local hour */
	const struct fs_weather *weather; /* borrowed (fs_dispatch_set_weather); NULL = clear */
	uint32_t roads_version;           /* calls of fs_dispatch_set_weather(): trips are replanned */
	uint32_t planned_version;         /* the roads_version the open requests were last planned on */
	const uint8_t *node_in_area;      /* service area (fs_dispatch_set_service_area); NULL = all */
	struct fs_spatial *pool;
	/* jobs, indexed by job_id - 1 */
	struct jrec *jobs;
	uint64_t njobs, jobs_cap;
	/* events waiting for the next step */
	struct ev_item *ev;
	size_t nev, ev_cap;
	uint64_t ev_seq;
	/* depots */
	uint32_t depot_stop_edge[FS_DISPATCH_MAX_DEPOTS];
	uint32_t plugs_in_use[FS_DISPATCH_MAX_DEPOTS];
	uint32_t plugs[FS_DISPATCH_MAX_DEPOTS];  /* in service now (outages take some away) */
	uint32_t *queue;           /* vehicles waiting for a plug, in arrival order */
	size_t nqueue, queue_cap;
	/* zones */
	uint32_t zone_cols, zone_rows;
	struct zone *zones;
	int64_t observed_ms;       /* observed counts decayed up to here */
	/* time */
	struct { int64_t from_ms, to_ms; int hour; } hour_span; /* dispatch_local_hour()'s last hour */
	int64_t now_ms;
	int64_t first_ms;          /* first step, INT64_MIN before */
	int64_t next_match_ms, next_rebalance_ms;
	/* accounting */
	struct hour_acc hours[24];
	uint64_t n_served, n_cancelled, n_rejected;
	uint64_t n_cancelled_by[FS_DISPATCH_REASON_COUNT];
	double sum_wait_s, sum_in_vehicle_s, sum_eta_s, sum_trip_km;
	uint32_t wait_hist[WAIT_BINS];
	struct fs_dispatch_counters counters;
	struct fs_path path;       /* scratch */
	/* Vehicle indexes, so a step costs in proportion to the vehicles that changed or hold a
	 * command, not to the fleet (fs_dispatch_index.c); each list has room for every vehicle. */
	uint32_t *dirty;           /* vehicles changed since the last hash */
	uint32_t *cooling;         /* vehicles whose hash term holds a cooldown still running */
	uint32_t *watch;           /* dispatch_watch_needed() vehicles (and some that were) */
	uint32_t *watch_tmp;       /* merge buffer */
	uint32_t ndirty, ncooling, nwatch, watch_sorted;
	size_t index_cap;
	bool index_oom;            /* a list could not grow: the next step fails with -ENOMEM */
	uint64_t veh_hash_sum;     /* sum of the vehicles' hash terms */
};

/* fs_dispatch_index.c */
/** Call after any change to @v's command, queue place, cooldown or charge request. */
void dispatch_touch(struct fs_dispatch *d, struct vrec *v);
/**
 * Call after a new state of @v (v->s) was applied; notes its confirmed and
 * charge_requested flags too (what applying a state may change).
 */
void dispatch_note_state(struct fs_dispatch *d, struct vrec *v);
/**
 * The watched vehicles, in id order: every known vehicle with a charge or
 * reposition command, in the charge queue, on a charger or in need of one
 * (the only ones the per-step charging and command timeouts look at).
 */
const uint32_t *dispatch_watch_list(struct fs_dispatch *d, uint32_t *ret_count);
/* Bits of fs_dispatch.req_mark. */
enum {
	REQ_CHANGED = 1, /* a hashed field changed since the last fs_dispatch_hash() */
	REQ_ABOARD = 2,  /* admitted and picked up, unchanged since: nothing to check each tick */
};

/** Call after changing any field request_hash() reads (status, times, vehicle, stops...). */
void dispatch_request_changed(struct fs_dispatch *d, const struct fs_dispatch_request *r);

/** Whether the open request @id needs no per-tick look: its rider is aboard, nothing changed. */
static inline bool dispatch_request_aboard(const struct fs_dispatch *d, uint64_t id)
{
	return d->req_mark[id - 1] & REQ_ABOARD;
}

/** The vehicles' part of fs_dispatch_hash(): refreshes the terms of changed vehicles. */
uint64_t dispatch_vehicles_hash(struct fs_dispatch *d);
void dispatch_index_free(struct fs_dispatch *d);

/* fs_dispatch_common.c */
struct fs_dispatch_request *dispatch_req(struct fs_dispatch *d, uint64_t id);
uint64_t dispatch_new_job(struct fs_dispatch *d, int kind, uint32_t vehicle, uint64_t request);
int dispatch_emit(struct fs_dispatch_output *out, const struct fs_dispatch_trip_event *e);
int dispatch_emit_job(struct fs_dispatch_output *out, const struct fs_dispatch_job *job);
int dispatch_emit_offer(struct fs_dispatch_output *out, const struct fs_dispatch_offer *o);
bool dispatch_is_night(const struct fs_dispatch *d, int64_t t_ms);
int dispatch_local_hour(const struct fs_dispatch *d, int64_t t_ms);
uint32_t dispatch_hour(const struct fs_dispatch *d, int64_t t_ms); /* router hour */
bool dispatch_needs_charge(const struct fs_dispatch *d, const struct vrec *v);
bool dispatch_healthy(const struct vrec *v);
/*
 * @v as the platform sees it at the fleet's time (its last record placed there): the
 * position of a moving car and every car's charge are brought up to date when asked,
 * so a tick costs in proportion to the vehicles it looks at, not to the fleet.
 */
const struct fs_dispatch_vehicle_state *dispatch_view(const struct fs_dispatch *d, const struct vrec *v);
double dispatch_trip_kwh(const struct fs_dispatch *d, double eta_s, const struct fs_dispatch_request *r);
bool dispatch_energy_ok(const struct fs_dispatch *d, const struct vrec *v, double eta_s,
			const struct fs_dispatch_request *r);
bool dispatch_odd_ok(const struct fs_dispatch *d, const struct vrec *v, const struct fs_dispatch_request *r,
		     int64_t now_ms);
/* The same with what depends only on the ride and the time worked out once for many
 * vehicles: dispatch_is_night() and dispatch_ride_rain() (the worst weather at its stops and
 * on its trip). */
bool dispatch_odd_ok_at(const struct fs_dispatch *d, const struct vrec *v, const struct fs_dispatch_request *r,
			bool night, uint8_t ride_rain);
uint8_t dispatch_ride_rain(const struct fs_dispatch *d, const struct fs_dispatch_request *r);
bool dispatch_path_uses_motorway(const struct fs_network *net, const struct fs_path *path);
/* Would fs-vehicle's fastest route from @v to the end of @target_edge stay in @v's ODD? */
bool dispatch_route_in_odd(struct fs_dispatch *d, const struct vrec *v, uint32_t target_edge, int64_t now_ms);
/* The router @v drives by: surface roads only if its ODD excludes motorways (and there is one). */
struct fs_route_query *dispatch_query_for(const struct fs_dispatch *d, const struct vrec *v);
/* Does @path stay out of every zone's weather outside @v's ODD? */
bool dispatch_path_weather_ok(const struct fs_dispatch *d, const struct vrec *v, const struct fs_path *path);
struct fs_point dispatch_edge_end(const struct fs_network *net, uint32_t edge);
/* Where the rider of @r is picked up (fs_dispatch_common.c) and set down (fs_dispatch.c). */
struct fs_road_pos dispatch_pickup(const struct fs_dispatch_request *r);

/* fs_dispatch_index.c: claims (a claim changes what the index looks at) */
void dispatch_set_claim(struct fs_dispatch *d, struct vrec *v, int claim, uint32_t target, uint64_t job,
			uint64_t request, int64_t now_ms);
void dispatch_release(struct fs_dispatch *d, struct vrec *v);

/* fs_dispatch.c */
struct vrec *dispatch_vehicle(struct fs_dispatch *d, uint32_t id);
struct fs_road_pos dispatch_dropoff(const struct fs_dispatch_request *r);
/* The end node of @p's edge nearer to it. */
uint32_t dispatch_nearer_node(const struct fs_network *net, struct fs_road_pos p);
/* The lowest-id edge into @node from a service node, FS_DISPATCH_NONE if none. */
uint32_t dispatch_edge_into(const struct fs_dispatch *d, uint32_t node);
/* The lowest-id edge out of @node to a service node, FS_DISPATCH_NONE if none. */
uint32_t dispatch_edge_from(const struct fs_dispatch *d, uint32_t node);

/* fs_dispatch_match.c */
int dispatch_match(struct fs_dispatch *d, int64_t now_ms, struct fs_dispatch_output *out,
		   struct fs_dispatch_step_stats *stats);

/* fs_dispatch_fleetops.c */
int dispatch_charge(struct fs_dispatch *d, int64_t now_ms, struct fs_dispatch_output *out,
		    struct fs_dispatch_step_stats *stats);
int dispatch_rebalance(struct fs_dispatch *d, int64_t now_ms, struct fs_dispatch_output *out,
		       struct fs_dispatch_step_stats *stats);
void dispatch_observe_request(struct fs_dispatch *d, uint32_t zone, int64_t t_ms);

#endif
