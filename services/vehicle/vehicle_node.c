/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vehicle_node - the vehicle-node service's model side (see vehicle_node.h).
 *
 * Determinism across shard counts: a vehicle's random streams derive from
 * (run seed, stream, vehicle id); the fleet processes due events in (time,
 * id) order; messages are applied in the lockstep's (tick, sender, seq)
 * order and each touches only the vehicles it names; and the state hash is a
 * sum over vehicles. So shards 1 and 4 give the same per-role hash sum.
 * Depot plugs are not limited here: with several shards no one shard can
 * know what the others occupy, so plug allocation belongs to dispatch.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "fs/calendar.h"
#include "fs/fleet_placement.h"
#include "fs/fleet_placement_load.h"
#include "fs/rng.h"
#include "fs/vehicle.h"
#include "fs/closures.h"
#include "fs/route.h"
#include "fs/weather.h"
#include "fs/grow.h"
#include "fs_log.h"
#include "fs_production_msg.h"
#include "fs_ride_msg.h"
#include "fs_scenario_msg.h"
#include "fs_service.h"
#include "fs_traffic_msg.h"
#include "fs_world.h"
#include "fs_vehicle_msg.h"
#include "vehicle_node.h"

#define UNLIMITED_PLUGS 65535
#define DEFAULT_PLUG_KW 150.0 /* DOMAIN.md: 150-250 kW per DC plug */

/* An operation received from the bus, applied at the start of the next tick. */
#define JOB_CANCEL (-1)

struct pending_job {
	uint32_t vehicle_id;
	uint64_t job_id;
	uint64_t request_id;      /* of the first stop: the rider of a ride */
	int kind;                 /* fleetsim.v1.StopKind of the first stop; JOB_CANCEL: drop job_id */
	struct fs_road_pos first; /* pickup, reposition target */
	struct fs_road_pos second;/* drop-off */
	uint32_t depot;
};

#define PROGRAMME_NAME_MAX 64

/* A vehicle handed over by production (prod.delivery), for this shard; or, at
 * the start, one of the run's vehicles and the programme it stands for. */
struct delivery {
	uint32_t id;
	uint32_t depot;
	uint32_t phase;
	uint32_t sw_version;
	bool in_service;                      /* an initial vehicle: re-specified, not added */
	char programme[PROGRAMME_NAME_MAX];   /* "" = the run's vehicle model */
	double battery_kwh, kwh_per_km, max_charge_kw; /* 0 = the run's vehicle model's */
	uint32_t seats;
};

/* An OEM programme's vehicle, as a variant of the fleet's vehicle model (fs_fleet_add_variant()). */
struct programme_model {
	char name[PROGRAMME_NAME_MAX];
	unsigned variant;
	double battery_kwh, kwh_per_km, max_charge_kw;
	uint32_t seats;
	uint32_t vehicles;                    /* delivered or re-specified in this shard */
};

struct vehicle_node {
	struct fs_fleet_placement *placement; /* --fleet-csv, sorted by id */
	size_t placement_count;
	struct vehicle_node_config cfg;
	struct fs_world *world;
	uint32_t *traffic_counts;            /* the fleet's own traffic, as dispatch counted it */
	uint32_t traffic_hour;
	bool traffic_changed;
	struct fs_vehicle_params params;
	struct fs_fleet *fleet;
	struct fs_vehicle_events events;
	struct fs_path path, trip;
	struct pending_job *jobs;
	size_t njobs, jobs_cap;
	struct delivery *deliveries;         /* received, added at the next tick */
	size_t ndeliveries, deliveries_cap;
	struct ota { uint32_t id, version; } *ota; /* over-the-air releases received, applied at the next tick */
	size_t nota, ota_cap;
	uint64_t ota_applied;
	struct programme_model models[FS_FLEET_VARIANTS_MAX];
	size_t model_count;
	uint64_t model_refusals;             /* vehicles kept on the run's model (no room, charging) */
	uint32_t *retiring;                  /* retired ids waiting for their vehicle to stop */
	size_t nretiring, retiring_cap;
	uint64_t delivered, retired;
	uint32_t *idle;                      /* vehicle ids to give a data-collection drive */
	size_t nidle, idle_cap;
	uint64_t tick;
	int64_t now_ms;                      /* simulated time of the last tick */
	uint64_t refused_jobs;
	uint64_t unknown_vehicle_jobs;
	/* scenario events received from the conductor (scn.cmd/apply): pending or in force */
	struct fs_scenario scn;
	struct fs_scenario_event *scn_events;
	size_t scn_count, scn_cap;
	uint64_t scn_applied, scn_ignored;
	uint64_t scn_faults_injected; /* devices put in a worse health by device_fault events */
	struct fs_weather *weather;   /* from the weather events in force, city-wide and by zone */
	struct fs_closures *closures; /* from the road_closure events in force */
	struct fs_fleet_news *news;          /* what the bus knows of each vehicle: news only */
	struct fs_vehicle_record *keyframe;  /* every vehicle, for veh.snapshot */
	size_t keyframe_cap;
	int64_t last_keyframe_ms;
	uint64_t keyframes;
	int64_t idle_seen_ms;                /* the time at the last heartbeat (on_idle()) */
	struct fs_vehicle_msg msg;
	/* The simulation's own cost, measured around it in every tick (results core_*): what the
	 * process spends beyond it (bus, codec, lockstep) is the system's overhead. */
	struct core_time { double cpu_s, wall_s; } core, advance, hash;
};

/* This thread's CPU time and the monotonic clock, in seconds. */
static void core_clock(double *cpu_s, double *wall_s)
{
	struct timespec c, w;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c);
	clock_gettime(CLOCK_MONOTONIC, &w);
	*cpu_s = (double)c.tv_sec + (double)c.tv_nsec * 1e-9;
	*wall_s = (double)w.tv_sec + (double)w.tv_nsec * 1e-9;
}

static void core_time_since(struct core_time *acc, double cpu0_s, double wall0_s)
{
	double cpu_s, wall_s;
	core_clock(&cpu_s, &wall_s);
	acc->cpu_s += cpu_s - cpu0_s;
	acc->wall_s += wall_s - wall0_s;
}

static bool owns(const struct vehicle_node *n, uint32_t id)
{
	return id % n->cfg.shards == n->cfg.shard;
}

static void push_idle(struct vehicle_node *n, uint32_t id)
{
	fs_xgrow(n->idle, n->idle_cap, n->nidle + 1);
	n->idle[n->nidle++] = id;
}

struct vehicle_node *vehicle_node_create(const struct vehicle_node_config *cfg)
{
	struct vehicle_node *n = fs_xcalloc(1, sizeof(*n));
	n->cfg = *cfg;
	if (fs_scenario_msg_copy(&n->scn, cfg->scenario) < 0) {
		goto fail;
	}
	n->world = fs_world_load_scenario(cfg->network, cfg->depots, &n->scn, cfg->data_dir, NULL);
	if (!n->world) {
		goto fail;
	}
	n->traffic_counts = fs_xcalloc(fs_traffic_slot_count(n->world->traffic), sizeof(*n->traffic_counts));
	n->traffic_hour = UINT32_MAX;
	n->cfg.scenario = NULL; /* the copy in n->scn is ours */
	if (cfg->fleet_csv) {
		struct fs_error err = { "" };
		if (fs_fleet_placement_load_csv(cfg->fleet_csv, n->world->net, n->world->in_scc, &n->placement,
						&n->placement_count, &err) < 0) {
			fs_error("%s", err.message);
			goto fail;
		}
		if (n->placement_count != cfg->vehicles) {
			fs_error("%s: %zu vehicles, but the run has %u (--vehicles)", cfg->fleet_csv, n->placement_count,
				 cfg->vehicles);
			goto fail;
		}
	}
	struct fs_error werr = { "" };
	n->weather = fs_weather_create(n->world->net, &n->scn, &werr);
	if (!n->weather) {
		fs_error("scenario zones: %s", werr.message);
		goto fail;
	}
	n->closures = fs_closures_create(n->world->net);
	if (!n->closures) {
		fs_error("out of memory for road closures");
		goto fail;
	}
	n->params = n->scn.vehicle;
	n->fleet = fs_fleet_create(n->world->net, &n->params, cfg->seed);
	n->news = fs_fleet_news_create();
	if (!n->fleet || !n->news) {
		fs_error("cannot create the fleet");
		goto fail;
	}
	for (uint32_t d = 0; d < n->world->depot_count; d++) {
		double kw = d < n->scn.depot_count ? n->scn.depots[d].plug_kw : DEFAULT_PLUG_KW;
		if (fs_fleet_add_depot(n->fleet, n->world->depot_nodes[d], UNLIMITED_PLUGS, kw) < 0) {
			fs_error("cannot add depot %u", d);
			goto fail;
		}
	}
	n->last_keyframe_ms = INT64_MIN;
	n->idle_seen_ms = INT64_MIN;
	return n;
fail:
	vehicle_node_destroy(n);
	return NULL;
}

void vehicle_node_destroy(struct vehicle_node *n)
{
	if (!n) {
		return;
	}
	fs_fleet_destroy(n->fleet);
	free(n->traffic_counts);
	fs_weather_destroy(n->weather);
	fs_closures_destroy(n->closures);
	fs_world_destroy(n->world);
	fs_scenario_finish(&n->scn);
	free(n->scn_events);
	fs_vehicle_events_finish(&n->events);
	fs_path_finish(&n->path);
	fs_path_finish(&n->trip);
	free(n->jobs);
	free(n->placement);
	free(n->deliveries);
	free(n->ota);
	free(n->retiring);
	free(n->idle);
	fs_fleet_news_destroy(n->news);
	free(n->keyframe);
	fs_vehicle_msg_finish(&n->msg);
	free(n);
}

/* The initial fleet: where each vehicle stands depends only on (seed, id). */
static int place_fleet(struct vehicle_node *n, int64_t now_ms)
{
	const struct fs_world *w = n->world;
	for (uint32_t id = n->cfg.shard; id < n->cfg.vehicles; id += n->cfg.shards) {
		struct fs_rng rng;
		fs_rng_init(&rng, n->cfg.seed, FS_RNG_STREAM_VEHICLE_PLACEMENT, id);
		uint32_t edge = w->service_edges[fs_rng_below(&rng, w->service_edge_count)];
		/* Initial release by the scenario's shares, from a stream of its own so
		 * that placement does not change with the shares. */
		uint8_t sw = 0;
		if (n->scn.sw_share[0] < 1.0) {
			struct fs_rng r;
			fs_rng_init(&r, n->cfg.seed, FS_RNG_STREAM_SCENARIO, id);
			double u = fs_rng_uniform(&r), acc = 0;
			for (uint32_t i = 0; i < n->params.sw_count; i++) {
				acc += n->scn.sw_share[i];
				sw = (uint8_t)i;
				if (u < acc) {
					break;
				}
			}
		}
		struct fs_vehicle_init init = {
			.id = id,
			.state = FS_VEHICLE_AVAILABLE,
			.phase = (uint8_t)n->cfg.phase,
			.sw = sw,
			.home_depot = (uint16_t)(id % w->depot_count),
			.soc = 0.55 + 0.4 * fs_rng_uniform(&rng),
			.edge = edge,
			.offset_m = fs_rng_uniform(&rng) * w->net->edges[edge].length_m,
		};
		if (n->placement) {
			/* Given positions (comparison with another simulator); ids are 0..n-1 in order. */
			const struct fs_fleet_placement *fp = &n->placement[id];
			init.edge = fp->pos.edge;
			init.offset_m = fp->pos.offset_m;
			if (!isnan(fp->soc)) {
				init.soc = fp->soc;
			}
		}
		int rc = fs_fleet_add(n->fleet, &init, now_ms);
		if (rc < 0) {
			fs_error("cannot add vehicle %u: %s", id, strerror(-rc));
			return rc;
		}
		if (n->cfg.phase == FS_CITY_DATA_COLLECTION) {
			push_idle(n, id);
		}
	}
	return 0;
}

/* Scenario events from the conductor, each for the tick it names (applied in on_tick). */
static void keep_scenario_event(void *ctx, const struct fs_scenario_event *e)
{
	struct vehicle_node *n = ctx;
	if (n->scn_count == n->scn_cap) {
		n->scn_cap = n->scn_cap ? n->scn_cap * 2 : 16;
		n->scn_events = realloc(n->scn_events, n->scn_cap * sizeof(*n->scn_events));
		if (!n->scn_events) {
			fs_error("out of memory");
			abort();
		}
	}
	n->scn_events[n->scn_count++] = *e;
}

static void receive_scenario(struct vehicle_node *n, struct fs_participant *p, const struct fs_bus_message *msg)
{
	fs_scenario_msg_receive(fs_participant_bus(p), &n->scn, msg, keep_scenario_event, n);
}

/* A delivery (or an initial vehicle's programme) for this shard; false if malformed. */
static void keep_delivery(struct vehicle_node *n, const struct fs_delivery *d, bool in_service)
{
	fs_xgrow(n->deliveries, n->deliveries_cap, n->ndeliveries + 1);
	struct delivery *k = &n->deliveries[n->ndeliveries++];
	*k = (struct delivery){ .id = d->vehicle_id, .depot = d->depot % n->world->depot_count, .phase = d->city_phase,
				.sw_version = d->sw_version, .in_service = in_service, .battery_kwh = d->battery_kwh,
				.kwh_per_km = d->kwh_per_km, .max_charge_kw = d->max_charge_kw, .seats = d->seats };
	snprintf(k->programme, sizeof(k->programme), "%s", d->programme);
}

static void receive_deliveries(struct vehicle_node *n, struct fs_participant *p, const struct fs_bus_message *msg)
{
	const Fleetsim__V1__DeliveryBatch *b = msg->env->deliveries;
	for (size_t i = 0; i < b->n_deliveries + b->n_in_service; i++) {
		bool in_service = i >= b->n_deliveries;
		const Fleetsim__V1__Delivery *w = in_service ? b->in_service[i - b->n_deliveries] : b->deliveries[i];
		if (!owns(n, w->vehicle_id)) {
			continue; /* another shard's, which judges it */
		}
		struct fs_delivery d;
		const char *why = fs_production_msg_decode_delivery(w, &d);
		if (why) {
			fs_bus_reject(fs_participant_bus(p), msg, why);
		} else {
			keep_delivery(n, &d, in_service);
		}
	}
	for (size_t i = 0; i < b->n_software_updates; i++) {
		const Fleetsim__V1__SoftwareUpdate *u = b->software_updates[i];
		if (owns(n, u->vehicle_id)) {
			fs_xgrow(n->ota, n->ota_cap, n->nota + 1);
			n->ota[n->nota++] = (struct ota){ u->vehicle_id, u->sw_version };
		}
	}
	for (size_t i = 0; i < b->n_retired_vehicle_ids; i++) {
		if (owns(n, b->retired_vehicle_ids[i])) {
			fs_xgrow(n->retiring, n->retiring_cap, n->nretiring + 1);
			n->retiring[n->nretiring++] = b->retired_vehicle_ids[i];
		}
	}
}

/*
 * The model of @d's programme, its fleet variant added the first time one of
 * its vehicles comes; NULL for a delivery that names none (or no room left):
 * the run's vehicle model.
 */
static struct programme_model *programme_model(struct vehicle_node *n, const struct delivery *d)
{
	if (!d->programme[0]) {
		return NULL;
	}
	for (size_t i = 0; i < n->model_count; i++) {
		if (!strcmp(n->models[i].name, d->programme)) {
			return &n->models[i];
		}
	}
	struct fs_vehicle_params vp = n->params;
	vp.battery_kwh = d->battery_kwh > 0 ? d->battery_kwh : vp.battery_kwh;
	vp.kwh_per_km = d->kwh_per_km > 0 ? d->kwh_per_km : vp.kwh_per_km;
	vp.max_charge_kw = d->max_charge_kw > 0 ? d->max_charge_kw : vp.max_charge_kw;
	int variant = n->model_count < FS_FLEET_VARIANTS_MAX ? fs_fleet_add_variant(n->fleet, &vp) : -ENOSPC;
	if (variant < 0) {
		return NULL;
	}
	struct programme_model *m = &n->models[n->model_count++];
	*m = (struct programme_model){ .variant = (unsigned)variant, .battery_kwh = vp.battery_kwh,
				       .kwh_per_km = vp.kwh_per_km, .max_charge_kw = vp.max_charge_kw, .seats = d->seats };
	snprintf(m->name, sizeof(m->name), "%s", d->programme);
	return m;
}

/* An initial vehicle becomes one of the programme it stands for (its vehicle; its software). */
static void respecify(struct vehicle_node *n, const struct delivery *d, uint8_t sw, int64_t now_ms)
{
	if (fs_fleet_find(n->fleet, d->id) < 0) {
		return;
	}
	struct programme_model *m = programme_model(n, d);
	if (!m || fs_fleet_set_variant(n->fleet, d->id, m->variant, now_ms, &n->events) < 0) {
		n->model_refusals++;
	} else {
		m->vehicles++;
	}
	/* over the air, a vehicle only ever moves to a newer release (one the scenario started it on stays) */
	const struct fs_vehicle *v = fs_fleet_vehicle(n->fleet, (uint32_t)fs_fleet_find(n->fleet, d->id));
	if (d->sw_version && n->params.sw[sw].version == d->sw_version &&
	    n->params.sw[v->sw].version < d->sw_version) {
		fs_fleet_update_software(n->fleet, d->id, sw, now_ms, &n->events);
	}
}

/* New vehicles arrive at their depot and start commissioning into the city's phase. */
static void add_deliveries(struct vehicle_node *n, int64_t now_ms)
{
	for (size_t i = 0; i < n->ndeliveries; i++) {
		const struct delivery *d = &n->deliveries[i];
		uint8_t sw = 0;
		for (uint32_t k = 0; k < n->params.sw_count; k++) {
			if (n->params.sw[k].version == d->sw_version) {
				sw = (uint8_t)k;
			}
		}
		if (d->in_service) {
			respecify(n, d, sw, now_ms);
			continue;
		}
		struct fs_vehicle_init init = {
			.id = d->id,
			.state = FS_VEHICLE_DELIVERED,
			.phase = (uint8_t)d->phase,
			.sw = sw,
			.home_depot = (uint16_t)d->depot,
			.at_depot = true,
			.soc = 0.8,
			.edge = FS_NO_EDGE,
		};
		struct programme_model *m = programme_model(n, d);
		init.variant = m ? (uint8_t)m->variant : 0;
		n->model_refusals += d->programme[0] && !m;
		int rc = fs_fleet_add(n->fleet, &init, now_ms);
		if (rc < 0) {
			fs_warn("delivery of vehicle %u refused: %s", d->id, strerror(-rc));
			continue;
		}
		if (m) {
			m->vehicles++;
		}
		n->delivered++;
		fs_fleet_commission(n->fleet, d->id, now_ms, &n->events);
	}
	n->ndeliveries = 0;
}

/* A release of fleet.software's table: its index, or -1. */
static int sw_index(const struct vehicle_node *n, uint32_t version)
{
	for (uint32_t k = 0; k < n->params.sw_count; k++) {
		if (n->params.sw[k].version == version) {
			return (int)k;
		}
	}
	return -1;
}

/* Releases from the data flywheel: installed now if the vehicle is stopped, else at its next stop. */
static void apply_ota(struct vehicle_node *n, int64_t now_ms)
{
	for (size_t i = 0; i < n->nota; i++) {
		int idx = fs_fleet_find(n->fleet, n->ota[i].id), sw = sw_index(n, n->ota[i].version);
		if (idx < 0 || sw < 0) {
			continue; /* retired meanwhile, or a release this run does not know */
		}
		const struct fs_vehicle *v = fs_fleet_vehicle(n->fleet, (uint32_t)idx);
		if (n->params.sw[v->sw].version < n->ota[i].version &&
		    fs_fleet_update_software(n->fleet, n->ota[i].id, (uint8_t)sw, now_ms, &n->events) == 0) {
			n->ota_applied++;
		}
	}
	n->nota = 0;
}

/* Retired vehicles leave service once they are stopped (never mid-trip). */
static void retire(struct vehicle_node *n, int64_t now_ms)
{
	size_t keep = 0;
	for (size_t i = 0; i < n->nretiring; i++) {
		uint32_t id = n->retiring[i];
		int idx = fs_fleet_find(n->fleet, id);
		if (idx < 0) {
			continue; /* never delivered here: nothing to do */
		}
		int state = fs_fleet_vehicle(n->fleet, (uint32_t)idx)->state;
		if (state == FS_VEHICLE_OUT_OF_SERVICE) {
			continue;
		}
		if (fs_fleet_transition(n->fleet, id, FS_VEHICLE_OUT_OF_SERVICE, now_ms, NULL) == 0) {
			n->retired++;
			continue;
		}
		n->retiring[keep++] = id; /* busy: try again next tick */
	}
	n->nretiring = keep;
}

static void on_message(void *ctx, struct fs_participant *p, const struct fs_bus_message *msg)
{
	struct vehicle_node *n = ctx;
	const Fleetsim__V1__Envelope *env = msg->env;
	if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND) {
		receive_scenario(n, p, msg);
		return;
	}
	if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_DELIVERIES) {
		receive_deliveries(n, p, msg);
		return;
	}
	if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_TRAFFIC) {
		const char *why = fs_traffic_msg_decode(env->traffic, n->traffic_counts,
							fs_traffic_slot_count(n->world->traffic));
		if (why) {
			fs_bus_reject(fs_participant_bus(p), msg, why);
		} else {
			n->traffic_changed = true; /* applied in this tick, as dispatch applies it */
		}
		return;
	}
	if (env->payload_case != FLEETSIM__V1__ENVELOPE__PAYLOAD_JOBS) {
		return;
	}
	const struct fs_ride_limits limits = { n->world->net->edge_count, n->world->depot_count };
	for (size_t i = 0; i < env->jobs->n_jobs; i++) {
		if (!owns(n, env->jobs->jobs[i]->vehicle_id)) {
			continue; /* another shard's, which judges it */
		}
		struct fs_dispatch_job job;
		const char *why = fs_ride_msg_decode_job(env->jobs->jobs[i], &limits, &job);
		if (why) {
			fs_bus_reject(fs_participant_bus(p), msg, why);
			continue;
		}
		struct pending_job pj = { .vehicle_id = job.vehicle_id, .job_id = job.job_id,
					  .request_id = job.stop_count ? job.stops[0].request_id : 0,
					  .kind = job.stop_count ? job.stops[0].kind : JOB_CANCEL };
		for (uint32_t k = 0; k < job.stop_count; k++) {
			const struct fs_dispatch_stop *st = &job.stops[k];
			if (st->kind == FS_DISPATCH_STOP_CHARGE || st->kind == FS_DISPATCH_STOP_DEPOT) {
				pj.depot = st->depot;
			} else {
				*(k == 0 ? &pj.first : &pj.second) = (struct fs_road_pos){ st->edge, st->offset_m };
			}
		}
		if (n->njobs == n->jobs_cap) {
			n->jobs_cap = n->jobs_cap ? n->jobs_cap * 2 : 64;
			n->jobs = realloc(n->jobs, n->jobs_cap * sizeof(*n->jobs));
			if (!n->jobs) {
				fs_error("out of memory");
				abort();
			}
		}
		n->jobs[n->njobs++] = pj;
	}
}

/* The router a vehicle drives by: surface roads only if its ODD excludes motorways. */
static struct fs_route_query *query_for(const struct vehicle_node *n, const struct fs_vehicle *v)
{
	bool surface = (v->odd_flags & FS_ODD_NO_MOTORWAY) && v->phase != FS_CITY_DATA_COLLECTION;
	return surface ? n->world->surface_query : n->world->query;
}

/* Route vehicle @id from where it is now to @to. */
static int route_to(struct vehicle_node *n, uint32_t id, struct fs_road_pos to, int64_t now_ms, struct fs_path *path)
{
	int idx = fs_fleet_find(n->fleet, id);
	if (idx < 0) {
		return idx;
	}
	const struct fs_vehicle *v = fs_fleet_vehicle(n->fleet, (uint32_t)idx);
	struct fs_road_pos from;
	double off = 0;
	uint32_t edge = FS_NO_EDGE;
	if (fs_vehicle_position(v, n->world->net, now_ms, NULL, NULL, &edge, &off) < 0) {
		return -ENOENT;
	}
	from.edge = edge;
	from.offset_m = off;
	path->count = 0;
	double t;
	return fs_route_positions(query_for(n, v), fs_world_hour(n->world, now_ms), from, to, &t, path);
}

/* Route vehicle @id from where it is now to the end of edge @target. */
static int route_from_vehicle(struct vehicle_node *n, uint32_t id, uint32_t target_edge, int64_t now_ms,
			      struct fs_path *path)
{
	struct fs_road_pos to = { target_edge, n->world->net->edges[target_edge].length_m };
	return route_to(n, id, to, now_ms, path);
}

/* How far before the end of its edge @p lies. */
static double short_of_end(const struct fs_network *net, struct fs_road_pos p)
{
	return fmax(0.0, net->edges[p.edge].length_m - p.offset_m);
}

static uint32_t depot_in_edge(const struct fs_network *net, uint32_t node)
{
	return net->in_edges[net->in_first[node]];
}

static int send_to_depot(struct vehicle_node *n, uint32_t id, uint32_t depot, int purpose, int64_t now_ms)
{
	const struct fs_network *net = n->world->net;
	int idx = fs_fleet_find(n->fleet, id);
	if (idx < 0) {
		return idx;
	}
	const struct fs_vehicle *v = fs_fleet_vehicle(n->fleet, (uint32_t)idx);
	n->path.count = 0;
	if (!((v->flags & FS_VF_AT_DEPOT) && v->depot == depot)) {
		int rc = route_from_vehicle(n, id, depot_in_edge(net, n->world->depot_nodes[depot]), now_ms, &n->path);
		if (rc < 0) {
			return rc;
		}
	}
	return fs_fleet_send_to_depot(n->fleet, id, (uint16_t)depot, purpose, n->path.edges, n->path.count, now_ms,
				      &n->events);
}

static void apply_job(struct vehicle_node *n, const struct pending_job *pj, int64_t now_ms)
{
	const struct fs_network *net = n->world->net;
	int rc;
	switch (pj->kind) {
	case FLEETSIM__V1__STOP_KIND__STOP_KIND_PICKUP: {
		/* to where the rider stands, then on to where they get out, along the edges */
		rc = route_to(n, pj->vehicle_id, pj->first, now_ms, &n->path);
		if (rc < 0) {
			break;
		}
		double t;
		n->trip.count = 0;
		int idx = fs_fleet_find(n->fleet, pj->vehicle_id);
		struct fs_route_query *q = idx >= 0 ? query_for(n, fs_fleet_vehicle(n->fleet, (uint32_t)idx)) : n->world->query;
		rc = fs_route_positions(q, fs_world_hour(n->world, now_ms), pj->first, pj->second, &t, &n->trip);
		if (rc < 0) {
			break;
		}
		struct fs_job job = {
			.id = pj->job_id,
			.to_pickup = n->path.edges,
			.to_pickup_len = n->path.count,
			.trip = n->trip.edges,
			.trip_len = n->trip.count,
			.pickup_short_m = short_of_end(net, pj->first),
			.dropoff_short_m = short_of_end(net, pj->second),
		};
		/* the rider dispatch drew for this request: the same seed, stream and id */
		struct fs_rider rider;
		fs_rider_draw(&n->scn.riders, n->cfg.seed, pj->request_id, &rider);
		fs_rider_dwells(&rider, n->params.max_wait_s, &job.board_dwell_s, &job.alight_dwell_s);
		rc = fs_fleet_assign(n->fleet, pj->vehicle_id, &job, now_ms, &n->events);
		break;
	}
	case FLEETSIM__V1__STOP_KIND__STOP_KIND_REPOSITION:
		rc = route_from_vehicle(n, pj->vehicle_id, pj->first.edge, now_ms, &n->path);
		if (rc == 0) {
			rc = fs_fleet_reposition(n->fleet, pj->vehicle_id, n->path.edges, n->path.count, now_ms,
						 &n->events);
		}
		break;
	case FLEETSIM__V1__STOP_KIND__STOP_KIND_CHARGE:
		rc = send_to_depot(n, pj->vehicle_id, pj->depot, FS_DEPOT_CHARGE, now_ms);
		break;
	case FLEETSIM__V1__STOP_KIND__STOP_KIND_DEPOT:
		rc = send_to_depot(n, pj->vehicle_id, pj->depot, FS_DEPOT_MAINTENANCE, now_ms);
		break;
	case JOB_CANCEL: /* the rider gave up */
		rc = fs_fleet_drop_job(n->fleet, pj->vehicle_id, pj->job_id, now_ms, &n->events);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	if (rc == -ENOENT && fs_fleet_find(n->fleet, pj->vehicle_id) < 0) {
		n->unknown_vehicle_jobs++;
	}
	if (rc < 0 && rc != -EPERM) {
		/* The fleet reports its own refusals as events; tell dispatch about ours too. */
		struct fs_vehicle_event e = { .time_ms = now_ms, .job_id = pj->job_id, .vehicle_id = pj->vehicle_id,
					      .kind = FS_VEV_JOB_DECLINED,
					      .reason = rc == -ENOENT ? "no route or no such vehicle" : "malformed job" };
		fs_vehicle_events_push(&n->events, &e);
	}
	if (rc < 0) {
		n->refused_jobs++;
	}
}

/* What the node does by itself: depots for faults (and energy when there is no
 * dispatch), mapping drives in the data-collection phase. */
static void react(struct vehicle_node *n, int64_t now_ms, size_t first_event)
{
	for (size_t i = first_event; i < n->events.count; i++) {
		const struct fs_vehicle_event *e = &n->events.items[i];
		bool to_available = e->kind == FS_VEV_STATE_CHANGED && e->to_state == FS_VEHICLE_AVAILABLE;
		if (!to_available && e->kind != FS_VEV_MAINTENANCE_REQUEST &&
		    !(e->kind == FS_VEV_CHARGE_REQUEST && n->cfg.self_charge)) {
			continue;
		}
		int idx = fs_fleet_find(n->fleet, e->vehicle_id);
		if (idx < 0) {
			continue;
		}
		const struct fs_vehicle *v = fs_fleet_vehicle(n->fleet, (uint32_t)idx);
		if (v->state != FS_VEHICLE_AVAILABLE) {
			continue; /* asked again when it becomes available */
		}
		uint32_t node = v->edge != FS_NO_EDGE ? n->world->net->edges[v->edge].to : n->world->depot_nodes[0];
		uint32_t depot = fs_world_nearest_depot(n->world, node);
		if (v->flags & FS_VF_MAINT_REQUESTED) {
			send_to_depot(n, v->id, depot, FS_DEPOT_MAINTENANCE, now_ms);
		} else if ((v->flags & FS_VF_CHARGE_REQUESTED) && n->cfg.self_charge) {
			send_to_depot(n, v->id, depot, FS_DEPOT_CHARGE, now_ms);
		} else if (to_available && v->phase == FS_CITY_DATA_COLLECTION) {
			push_idle(n, v->id);
		}
	}
}

/* Data collection: an idle vehicle drives to a random point of the service area. */
static void start_mapping_drives(struct vehicle_node *n, uint64_t tick, int64_t now_ms)
{
	const struct fs_world *w = n->world;
	size_t count = n->nidle;
	n->nidle = 0;
	for (size_t i = 0; i < count; i++) {
		uint32_t id = n->idle[i];
		int idx = fs_fleet_find(n->fleet, id);
		if (idx < 0 || fs_fleet_vehicle(n->fleet, (uint32_t)idx)->state != FS_VEHICLE_AVAILABLE) {
			continue;
		}
		struct fs_rng rng;
		fs_rng_init(&rng, n->cfg.seed ^ fs_mix64(tick), FS_RNG_STREAM_VEHICLE_OPS, id);
		uint32_t target = w->service_edges[fs_rng_below(&rng, w->service_edge_count)];
		if (route_from_vehicle(n, id, target, now_ms, &n->path) == 0 && n->path.count > 0) {
			fs_fleet_reposition(n->fleet, id, n->path.edges, n->path.count, now_ms, &n->events);
		}
	}
}

static int publish_records(struct vehicle_node *n, struct fs_participant *p, const char *topic, bool full,
			   const struct fs_vehicle_record *records, size_t count, int64_t now_ms)
{
	struct fs_vehicle_batch_info info = {
		.shard = n->cfg.shard, .shard_count = n->cfg.shards, .origin_lat = n->world->net->proj.origin_lat,
		.origin_lon = n->world->net->proj.origin_lon, .full = full,
	};
	if (fs_vehicle_msg_encode_records(&n->msg, &info, records, count, now_ms) < 0) {
		return -ENOMEM;
	}
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES;
	env.vehicle_states = &n->msg.batch;
	return fs_participant_publish(p, topic, &env);
}

/* This tick's news on veh.state: what dispatch and every observer keep their mirror with. */
static int publish_news(struct vehicle_node *n, struct fs_participant *p, int64_t now_ms)
{
	const struct fs_vehicle_record *records;
	long count = fs_fleet_news_take(n->news, n->fleet, n->world->net, now_ms, &records);
	if (count < 0) {
		return -ENOMEM;
	}
	return count ? publish_records(n, p, NULL, false, records, (size_t)count, now_ms) : 0;
}

/*
 * Every vehicle of the shard on veh.snapshot, which no participant applies: a
 * keyframe for an observer that attached late (the viewer, fleetctl echo) and
 * for a recording read from the middle. It does not change what the bus knows
 * (n->news), so keyframes cannot change the run.
 */
static int publish_keyframe(struct vehicle_node *n, struct fs_participant *p, int64_t now_ms)
{
	uint32_t count = fs_fleet_count(n->fleet);
	if (FS_GROW(n->keyframe, n->keyframe_cap, count) < 0) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < count; i++) {
		fs_vehicle_record_take(fs_fleet_vehicle(n->fleet, i), n->world->net, now_ms, &n->keyframe[i]);
	}
	n->keyframes++;
	return publish_records(n, p, "veh.snapshot", true, n->keyframe, count, now_ms);
}

static int publish_events(struct vehicle_node *n, struct fs_participant *p)
{
	if (!n->events.count) {
		return 0;
	}
	if (fs_vehicle_msg_encode_events(&n->msg, n->cfg.shard, n->events.items, n->events.count) < 0) {
		return -ENOMEM;
	}
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS;
	env.vehicle_events = &n->msg.events;
	return fs_participant_publish(p, NULL, &env);
}

/* A device fault on the vehicles the event picks (every kind's device when index is -1). */
static void apply_device_fault(struct vehicle_node *n, const struct fs_scenario_event *e, bool ending, int64_t now_ms)
{
	unsigned first = e->device_index < 0 ? 0 : (unsigned)e->device_index;
	unsigned last = e->device_index < 0 ? fs_platform_kind_size(e->device) : first + 1;
	uint32_t count = fs_fleet_count(n->fleet);
	for (uint32_t i = 0; i < count; i++) {
		const struct fs_vehicle *v = fs_fleet_vehicle(n->fleet, i);
		uint32_t id = v->id;
		if (!fs_scenario_event_selects(e, n->cfg.seed, id)) {
			continue;
		}
		for (unsigned d = first; d < last; d++) {
			v = fs_fleet_vehicle(n->fleet, i);
			/* At the end of its window a transient fault clears where it is still as injected. */
			if (ending && fs_platform_get(&v->platform, e->device, d) != e->health) {
				continue;
			}
			if (fs_fleet_inject_fault(n->fleet, id, e->device, d, ending ? FS_HEALTH_OK : e->health, now_ms,
						  &n->events) == 0 && !ending) {
				n->scn_faults_injected++;
			}
		}
	}
}

static void apply_software_update(struct vehicle_node *n, const struct fs_scenario_event *e, int64_t now_ms)
{
	int sw = -1;
	for (uint32_t i = 0; i < n->params.sw_count; i++) {
		if (n->params.sw[i].version == e->version) {
			sw = (int)i;
		}
	}
	if (sw < 0) {
		n->scn_ignored++;
		return;
	}
	uint32_t count = fs_fleet_count(n->fleet);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t id = fs_fleet_vehicle(n->fleet, i)->id;
		if (fs_scenario_event_selects(e, n->cfg.seed, id)) {
			fs_fleet_update_software(n->fleet, id, (uint8_t)sw, now_ms, &n->events);
		}
	}
}

/*
 * Start (and end) the scenario events due at @tick, in the order received.
 * The vehicle node owns device_fault, software_update and weather (the
 * city's and over zones, in @cond); the other types belong to dispatch and
 * production.
 */
static int apply_scenario(struct vehicle_node *n, uint64_t tick, int64_t now_ms, struct fs_conditions *cond)
{
	int wrc = fs_weather_update(n->weather, n->scn_events, n->scn_count, tick);
	if (wrc < 0) {
		return -ENOMEM;
	}
	cond->rain = fs_weather_city_rain(n->weather);
	cond->travel_time_factor = 1.0 / fs_weather_city_speed_factor(n->weather);
	cond->weather = n->weather;
	int rc = fs_closures_update(n->closures, n->scn_events, n->scn_count, tick);
	if (rc < 0) {
		return -ENOMEM;
	}
	if (rc > 0 || wrc > 0) {
		/* jobs are routed around closed roads and storm cells from now on; running ones that
		 * cross one are handed back (fs_fleet_set_conditions) */
		fs_world_update_roads(n->world, n->weather, n->params.max_rain, fs_closures_mask(n->closures));
	}
	cond->closed = fs_closures_mask(n->closures);
	cond->closed_version = fs_closures_version(n->closures);
	size_t keep = 0;
	for (size_t i = 0; i < n->scn_count; i++) {
		const struct fs_scenario_event *e = &n->scn_events[i];
		bool starts = fs_scenario_event_starts(e, tick);
		bool ends = fs_scenario_event_ends(e, tick);
		if (e->type == FS_SCN_EVENT_DEVICE_FAULT && (starts || ends)) {
			apply_device_fault(n, e, ends, now_ms);
		} else if (e->type == FS_SCN_EVENT_SOFTWARE_UPDATE && starts) {
			apply_software_update(n, e, now_ms);
		} else if (starts && e->type != FS_SCN_EVENT_WEATHER && e->type != FS_SCN_EVENT_ROAD_CLOSURE) {
			n->scn_ignored++; /* another service's event */
		}
		n->scn_applied += starts;
		/* keep what has not started, has a window still open, or is weather or a closure for good */
		bool lasting = e->type == FS_SCN_EVENT_WEATHER || e->type == FS_SCN_EVENT_ROAD_CLOSURE;
		bool keep_it = tick < e->apply_tick || (e->duration_ticks ? tick < e->apply_tick + e->duration_ticks
									  : lasting);
		if (keep_it) {
			n->scn_events[keep++] = *e;
		}
	}
	n->scn_count = keep;
	return 0;
}

static int on_tick(void *ctx, struct fs_participant *p, uint64_t tick, int64_t now_ms)
{
	struct vehicle_node *n = ctx;
	double core_cpu_s, core_wall_s;
	core_clock(&core_cpu_s, &core_wall_s);
	n->tick = tick;
	n->now_ms = now_ms;
	fs_vehicle_events_clear(&n->events);
	if (tick == 0 && place_fleet(n, now_ms) < 0) {
		return -ENOMEM;
	}
	struct fs_conditions cond = { .travel_time_factor = 1.0, .rain = FS_RAIN_NONE,
				      .traffic = n->world->traffic };
	/* Night by the city's clock (the scenario's time zone), as demand and dispatch see it. */
	uint32_t hour = fs_world_hour(n->world, now_ms);
	cond.night = hour < FS_NIGHT_END_H || hour >= FS_NIGHT_START_H;
	if (n->traffic_changed || hour != n->traffic_hour) {
		fs_traffic_update(n->world->traffic, hour, n->traffic_counts);
		n->traffic_changed = false;
		n->traffic_hour = hour;
	}
	if (apply_scenario(n, tick, now_ms, &cond) < 0) {
		return -ENOMEM;
	}
	double advance_cpu_s, advance_wall_s;
	core_clock(&advance_cpu_s, &advance_wall_s);
	/* (it advances the fleet to now first: the tick's events fall due here) */
	if (fs_fleet_set_conditions(n->fleet, &cond, now_ms, &n->events) < 0) {
		return -EINVAL;
	}
	core_time_since(&n->advance, advance_cpu_s, advance_wall_s);
	add_deliveries(n, now_ms);
	apply_ota(n, now_ms);
	for (size_t i = 0; i < n->njobs; i++) {
		apply_job(n, &n->jobs[i], now_ms);
	}
	n->njobs = 0;
	retire(n, now_ms);
	core_clock(&advance_cpu_s, &advance_wall_s);
	if (fs_fleet_advance(n->fleet, now_ms, &n->events) < 0) {
		fs_error("fleet time went backwards at tick %" PRIu64, tick);
		return -EINVAL;
	}
	core_time_since(&n->advance, advance_cpu_s, advance_wall_s);
	react(n, now_ms, 0);
	start_mapping_drives(n, tick, now_ms);
	core_time_since(&n->core, core_cpu_s, core_wall_s);
	if (publish_events(n, p) < 0) {
		return -EIO;
	}
	if (publish_news(n, p, now_ms) < 0) {
		return -EIO;
	}
	if (n->cfg.keyframe_every_ms && (n->last_keyframe_ms == INT64_MIN ||
					 now_ms - n->last_keyframe_ms >= (int64_t)n->cfg.keyframe_every_ms)) {
		n->last_keyframe_ms = now_ms;
		if (publish_keyframe(n, p, now_ms) < 0) {
			return -EIO;
		}
	}
	return 0;
}

static uint64_t state_hash(void *ctx)
{
	struct vehicle_node *n = ctx;
	double cpu_s, wall_s;
	core_clock(&cpu_s, &wall_s);
	uint64_t h = fs_fleet_hash(n->fleet);
	for (size_t i = 0; i < n->nretiring; i++) {
		h += fs_mix64(0x7265746972656400ULL ^ n->retiring[i]); /* additive: shard-invariant */
	}
	core_time_since(&n->hash, cpu_s, wall_s);
	return h;
}

/*
 * The simulation's own time (docs/scale.md): core = each tick's work up to
 * publishing (scenario, jobs and their routes, fs_fleet_advance, reactions)
 * plus the state hash; advance (fs_fleet_set_conditions(), which advances the
 * fleet to the tick's time, and fs_fleet_advance()) and hash are parts of it.
 */
static void report_core_time(const struct vehicle_node *n, struct fs_participant *p)
{
	fs_participant_add_result(p, "core_cpu_seconds", n->core.cpu_s + n->hash.cpu_s);
	fs_participant_add_result(p, "core_wall_seconds", n->core.wall_s + n->hash.wall_s);
	fs_participant_add_result(p, "core_advance_cpu_seconds", n->advance.cpu_s);
	fs_participant_add_result(p, "core_advance_wall_seconds", n->advance.wall_s);
	fs_participant_add_result(p, "core_hash_cpu_seconds", n->hash.cpu_s);
}

/* What each programme's vehicles did here: the vehicle they are and how it drove and charged. */
static void report_programmes(struct vehicle_node *n, struct fs_participant *p)
{
	fs_participant_add_result(p, "programme_models", (double)n->model_count);
	fs_participant_add_result(p, "programme_model_refusals", (double)n->model_refusals);
	for (size_t i = 0; i < n->model_count; i++) {
		const struct programme_model *m = &n->models[i];
		const struct fs_fleet_stats *st = fs_fleet_variant_stats(n->fleet, m->variant);
		struct { const char *key; double value; } r[] = {
			{ "vehicles", m->vehicles }, { "battery_kwh", m->battery_kwh }, { "kwh_per_km", m->kwh_per_km },
			{ "max_charge_kw", m->max_charge_kw }, { "seats", m->seats }, { "km", st->km_driven },
			{ "traction_kwh", st->traction_kwh }, { "charges", (double)st->charges },
			{ "charge_requests", (double)st->charge_requests }, { "charged_kwh", st->charged_kwh },
			{ "charging_hours", st->charging_hours },
		};
		for (size_t k = 0; k < sizeof(r) / sizeof(r[0]); k++) {
			char key[PROGRAMME_NAME_MAX + 40];
			snprintf(key, sizeof(key), "programme_%s_%s", m->name, r[k].key);
			fs_participant_add_result(p, key, r[k].value);
		}
	}
}

static int on_end(void *ctx, struct fs_participant *p)
{
	struct vehicle_node *n = ctx;
	/* the final state, whole: for an observer that attached within the last keyframe period */
	if (n->cfg.keyframe_every_ms && n->last_keyframe_ms != n->now_ms && publish_keyframe(n, p, n->now_ms) < 0) {
		fs_warn("cannot publish the final keyframe");
	}
	const struct fs_fleet_stats *s = fs_fleet_stats(n->fleet);
	uint32_t count = fs_fleet_count(n->fleet), no_motorway = 0;
	for (uint32_t i = 0; i < count; i++) {
		no_motorway += (fs_fleet_vehicle(n->fleet, i)->odd_flags & FS_ODD_NO_MOTORWAY) != 0;
	}
	const struct fs_service_result fleet[] = {
		{ "vehicles", count },
		/* at the end: vehicles that drive surface roads only (their release or faults exclude motorways) */
		{ "vehicles_no_motorway", no_motorway },
		{ "vehicles_delivered", (double)n->delivered },
		{ "vehicles_retired", (double)n->retired },
		{ "km_driven", s->km_driven },
		{ "driving_hours", s->driving_hours },
		{ "jobs_completed", (double)s->jobs_completed },
		{ "jobs_refused", (double)n->refused_jobs },
	};
	FS_SERVICE_RESULTS(p, fleet);
	fs_world_add_route_results(n->world, p);
	const struct fs_service_result events[] = {
		{ "faults", (double)s->faults },
		{ "remote_assist_requests", (double)s->ra_requests },
		{ "disengagements", (double)s->disengagements },
		{ "minimal_risk_stops", (double)s->minimal_risk },
		{ "tows", (double)s->tows },
		{ "strandings", (double)s->strandings },
		{ "charges", (double)s->charges },
		{ "charged_kwh", s->charged_kwh },
		{ "logged_gb", s->logged_gb },
		{ "uploaded_gb", s->uploaded_gb },
		{ "scenario_events_applied", (double)n->scn_applied },
		{ "scenario_events_not_for_vehicles", (double)n->scn_ignored },
		{ "faults_injected", (double)n->scn_faults_injected },
	};
	FS_SERVICE_RESULTS(p, events);
	report_programmes(n, p);
	fs_participant_add_result(p, "ota_updates_applied", (double)n->ota_applied);
	for (uint32_t k = 0; k < n->params.sw_count; k++) { /* at the end, by release (e.g. vehicles_sw_120) */
		uint32_t on = 0;
		for (uint32_t i = 0; i < count; i++) {
			on += fs_fleet_vehicle(n->fleet, i)->sw == k;
		}
		char key[40];
		snprintf(key, sizeof(key), "vehicles_sw_%u", n->params.sw[k].version);
		fs_participant_add_result(p, key, on);
	}
	uint64_t full, moves;
	fs_fleet_news_counts(n->news, &full, &moves);
	fs_participant_add_result(p, "records_full", (double)full);
	fs_participant_add_result(p, "records_moves", (double)moves);
	fs_participant_add_result(p, "keyframes", (double)n->keyframes);
	fs_participant_add_result(p, "memory_bytes_per_vehicle",
				  count ? (double)fs_fleet_memory_bytes(n->fleet) / count : 0.0);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		fs_participant_add_result(p, "peak_rss_bytes", (double)ru.ru_maxrss * 1024.0);
	}
	report_core_time(n, p);
	return 0;
}

/*
 * Waiting (paused): a viewer that attaches now would see nothing until the
 * next tick, so repeat where every vehicle is, on veh.snapshot, which no
 * participant applies (the run does not depend on how long it was paused).
 * Called every heartbeat; only when no tick came since the last one: a run
 * that moves, however slowly, has its keyframes every --keyframe-every (at
 * 100,000 vehicles a keyframe is 5 MB, and one a wall second tripled the bus
 * bytes of a day whose afternoon ran at 3x real time).
 */
static void on_idle(void *ctx, struct fs_participant *p)
{
	struct vehicle_node *n = ctx;
	if (n->now_ms != n->idle_seen_ms) {
		n->idle_seen_ms = n->now_ms; /* ticks came since the last heartbeat */
		return;
	}
	if (publish_keyframe(n, p, n->now_ms) < 0) {
		fs_warn("cannot publish the snapshot of a paused shard");
	}
}

const struct fs_participant_ops vehicle_node_ops = {
	.on_message = on_message,
	.on_tick = on_tick,
	.state_hash = state_hash,
	.on_end = on_end,
	.on_idle = on_idle,
};
