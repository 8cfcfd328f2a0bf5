/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dispatch_service - the ride platform's bus side (see dispatch_service.h).
 *
 * Each tick:
 *   on_message (before the tick, in (tick, sender, seq) order): vehicle
 *     state batches update the platform's view of each vehicle (a record
 *     touches only its vehicle, so shards may come in any number); vehicle
 *     events are handed to fs_dispatch, which applies them in (time,
 *     vehicle) order at the step: the result cannot depend on the shard
 *     count;
 *   on_tick: the requests that arrived since the previous tick (generated
 *     for [previous tick, this tick) or replayed), one fs_dispatch_step(),
 *     then RideRequestBatch, TripEventBatch, RideOfferBatch and JobBatch
 *     ("ride.job"), and a KpiSnapshot every kpi_every_s.
 * The state hash is fs_dispatch_hash(): a sum over requests and vehicle
 * records. On End: trips.csv (one row per request), dispatch_by_hour.csv,
 * dispatch_by_zone.csv and the KPIs as results in summary.json.
 *
 * Scenario events (from the conductor on scn.cmd/apply, in force for the
 * ticks fs_scenario_event_active() says): depot_outage takes plugs out of
 * service (cars charging there finish); demand_surge multiplies the request
 * rate of origins in a zone: x m < 1 keeps each request there with
 * probability m (a draw keyed by seed and request), x m > 1 adds the
 * requests of ceil(m - 1) further generators (substreams 1, 2, ...) that
 * start in the zone, each kept with probability (m - 1) / ceil(m - 1). The
 * platform's forecast is not told: a surge is a surprise to it.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch_service.h"
#include "fs/calendar.h"
#include "fs/demand.h"
#include "fs/demand_load.h"
#include "fs/fleet_placement.h"
#include "fs/fleet_placement_load.h"
#include "fs/geofence.h"
#include "fs/geofence_load.h"
#include "fs/rng.h"
#include "fs/closures.h"
#include "fs/route.h"
#include "fs/weather.h"
#include "fs/grow.h"
#include "fs_kpi_msg.h"
#include "fs_log.h"
#include "fs_outfile.h"
#include "fs_ride_msg.h"
#include "fs_scenario_msg.h"
#include "fs_traffic_msg.h"
#include "fs_vehicle_msg.h"
#include "fs_workers.h"
#include "fs_world.h"

#define MAX_SURGE_GENERATORS 32

/* A timed scenario event the platform acts on, with its zone in metres. */
struct scn_event {
	struct fs_scenario_event e;
	const struct fs_point *ring; /* the zone's polygon (zone_rings); NULL = the whole city */
	size_t nring;
};

struct dispatch_service {
	struct dispatch_config cfg;
	struct fs_world *world;
	struct fs_dispatch *d;
	/* threads for the matching rounds' candidate searches: one per processor this process may
	 * use (fs_workers_default_count()), each worker past the first with its own workspace */
	struct fs_workers *workers;
	struct fs_route_query *worker_queries[FS_WORKERS_MAX];
	struct fs_route_query *worker_surface_queries[FS_WORKERS_MAX];
	struct fs_dispatch_request_in *pending; /* a tick's requests, added together */
	size_t npending, pending_cap;
	struct fs_demand *demand;
	struct fs_demand_place *places;
	size_t place_count;
	struct fs_demand_profile profile;
	bool has_profile;
	struct fs_demand_batch replay;      /* replayed requests, times relative to the start until tick 0 */
	size_t replay_next;
	struct fs_demand_batch batch;       /* generated requests of one tick */
	struct fs_dispatch_output out;
	struct fs_vehicle_event *events;    /* one message's events, converted */
	size_t events_cap;
	struct fs_vehicle_records records;  /* of one batch */
	struct fs_ride_msg ride_msg;        /* encoding the ride batches */
	struct fs_ride_request *requests;   /* a tick's new requests, as the bus carries them */
	size_t requests_cap;
	int64_t prev_tick_ms;               /* the vehicles' time of the records applied now */
	/* scenario */
	struct fs_scenario scn;
	struct scn_event *events_in_force;
	size_t nscn, scn_cap;
	struct fs_demand *surge[MAX_SURGE_GENERATORS]; /* extra generators, made when a surge needs them */
	uint32_t nsurge;
	struct fs_demand_params demand_params;
	uint32_t plugs_now[FS_WORLD_MAX_DEPOTS];
	uint64_t scn_applied, surge_added, surge_dropped;
	struct fs_scenario_event *map_events;    /* received weather, road_closure, geofence events, in order */
	size_t nmap, map_cap;
	uint8_t *area;                            /* service area, per node (NULL until an event needs it) */
	struct fs_point **zone_rings;             /* per scenario zone: its polygon in metres */
	uint8_t **zone_nodes;                     /* per scenario zone: its nodes, worked out when first named */
	uint8_t *city_area;                       /* nodes inside city.geofence given as a GeoJSON file */
	uint32_t area_nodes;                      /* nodes in the service area now */
	struct fs_weather *weather;               /* what they make of the city now */
	struct fs_closures *closures;
	uint64_t tick;
	bool started;
	int64_t start_ms, prev_ms, next_kpi_ms, last_ms;
	uint64_t bad_states, bad_events;
	/* the fleet's own traffic: counted every traffic.update_s, applied here and by the
	 * vehicle nodes at the start of the next tick (docs/traffic.md) */
	uint32_t *traffic_counts;
	uint32_t traffic_hour;
	bool traffic_pending;
	int64_t next_traffic_ms;
	struct fs_traffic_msg traffic_msg;
	uint64_t traffic_updates;
	double traffic_max_factor;
};

/* ---- create -------------------------------------------------------------------------------- */

static bool load_profile(struct dispatch_service *s, const char *path)
{
	struct fs_error err = { "" };
	if (fs_demand_profile_load(path, &s->profile, &err) < 0) {
		fs_error("%s", err.message);
		return false;
	}
	s->has_profile = true;
	return true;
}

/*
 * city.geofence as a GeoJSON file (a path; a shipped name such as "atlanta"
 * is the map's own extent, data/geofence/README.md, so it restricts nothing):
 * riders are picked up and set down only at nodes inside one of its polygons.
 */
static int load_city_area(struct dispatch_service *s, struct fs_error *err)
{
	const struct fs_network *net = s->world->net;
	struct fs_geofence *g = fs_geofence_create(&net->proj);
	if (!g) {
		return fs_error_set(err, -ENOMEM, "out of memory");
	}
	int rc = fs_geofence_load_geojson(g, s->scn.geofence, err);
	if (rc < 0) {
		fs_geofence_destroy(g);
		return rc;
	}
	s->city_area = fs_xcalloc(net->node_count ? net->node_count : 1, 1);
	uint32_t inside = 0;
	for (uint32_t v = 0; v < net->node_count; v++) {
		s->city_area[v] = fs_geofence_zones_at(g, net->nodes[v].x, net->nodes[v].y, NULL, 0) > 0;
		inside += s->city_area[v];
	}
	fs_geofence_destroy(g);
	fs_info("%s: %u of %u nodes in the service area", s->scn.geofence, inside, net->node_count);
	return 0;
}

static bool in_ring(const struct fs_point *ring, size_t n, struct fs_point p);

/*
 * demand.zone_weights: a place (where trips start and end) inside a weighted
 * zone counts that many times as much, e.g. {downtown: 2} doubles the trips
 * that start or end downtown relative to the rest; 0 takes the zone out.
 */
static void weigh_places(struct dispatch_service *s)
{
	for (size_t k = 0; k < s->scn.zone_weight_count; k++) {
		const struct fs_scenario_zone_weight *zw = &s->scn.zone_weights[k];
		const struct fs_scenario_zone *z = fs_scenario_zone_find(&s->scn, zw->zone);
		if (!z || z->count < 3) {
			continue; /* the loader checked the name; a zone without a ring weighs nothing */
		}
		const struct fs_point *ring = s->zone_rings[z - s->scn.zones];
		size_t inside = 0;
		for (size_t i = 0; i < s->place_count; i++) {
			struct fs_point p = { s->places[i].x, s->places[i].y };
			if (in_ring(ring, z->count, p)) {
				s->places[i].weight *= zw->weight;
				inside++;
			}
		}
		fs_info("demand: zone %s weighs %g (%zu places)", zw->zone, zw->weight, inside);
	}
}

/* Threads for @w's parallel work (fs_workers.h); one processor: none. */
static int start_workers(struct dispatch_service *s, struct fs_dispatch_world *w)
{
	unsigned n = s->cfg.workers ? s->cfg.workers : fs_workers_default_count();
	if (n < 2) {
		return 0;
	}
	s->workers = fs_workers_create(n);
	bool ok = s->workers != NULL;
	for (unsigned k = 1; ok && k < n; k++) {
		s->worker_queries[k] = fs_route_query_create(s->world->router);
		s->worker_surface_queries[k] = w->surface_query ? fs_route_query_create(s->world->surface_router) : NULL;
		ok = s->worker_queries[k] && (!w->surface_query || s->worker_surface_queries[k]);
	}
	if (!ok) {
		fs_error("dispatch: out of memory for %u worker threads", n);
		return -ENOMEM;
	}
	w->parallel_for = fs_workers_for;
	w->pool = s->workers;
	w->worker_count = n;
	w->worker_queries = s->worker_queries;
	w->worker_surface_queries = w->surface_query ? s->worker_surface_queries : NULL;
	fs_debug("%u worker threads for the matching rounds", n);
	return 0;
}

struct dispatch_service *dispatch_service_create(const struct dispatch_config *cfg)
{
	struct dispatch_service *s = fs_xcalloc(1, sizeof(*s));
	s->cfg = *cfg;
	struct fs_error err = { "" };
	if (fs_scenario_msg_copy(&s->scn, cfg->scenario) < 0) {
		goto fail;
	}
	s->cfg.scenario = NULL; /* the copy in s->scn is ours */
	s->world = fs_world_load_scenario(cfg->network, cfg->depots, &s->scn, cfg->data_dir, cfg->profile);
	if (!s->world) {
		goto fail;
	}
	s->traffic_counts = fs_xcalloc(fs_traffic_slot_count(s->world->traffic), sizeof(*s->traffic_counts));
	s->traffic_hour = UINT32_MAX;
	s->traffic_max_factor = 1.0;
	const struct fs_network *net = s->world->net;
	/* the scenario's zones in metres, once: surges, zone weights, the service area, zone KPIs */
	s->zone_rings = fs_xcalloc(s->scn.zone_count ? s->scn.zone_count : 1, sizeof(*s->zone_rings));
	for (size_t i = 0; i < s->scn.zone_count; i++) {
		const struct fs_scenario_zone *z = &s->scn.zones[i];
		s->zone_rings[i] = fs_xcalloc(z->count ? z->count : 1, sizeof(**s->zone_rings));
		for (size_t k = 0; k < z->count; k++) {
			s->zone_rings[i][k] = fs_projection_to_xy(&net->proj, z->latlon[2 * k], z->latlon[2 * k + 1]);
		}
	}
	/* the fixed fleet must be one the vehicle nodes can place: check it before the run */
	if (cfg->fleet_csv) {
		struct fs_fleet_placement *fleet = NULL;
		size_t count = 0;
		if (fs_fleet_placement_load_csv(cfg->fleet_csv, net, s->world->in_scc, &fleet, &count, &err) < 0) {
			fs_error("%s", err.message);
			goto fail;
		}
		free(fleet);
		if (count != cfg->vehicles) {
			fs_error("%s: %zu vehicles, but the run has --vehicles %u", cfg->fleet_csv, count, cfg->vehicles);
			goto fail;
		}
	}
	if (cfg->demand_csv) {
		struct fs_demand_replay_params rp = { .proj = &net->proj };
		int64_t n = fs_demand_replay_csv(cfg->demand_csv, &rp, &s->replay, &err);
		if (n < 0) {
			fs_error("%s", err.message);
			goto fail;
		}
		fs_info("%s: %" PRId64 " requests to replay (times in seconds from the run's start)", cfg->demand_csv, n);
	} else {
		if (fs_demand_places_from_network(net, true, &s->places, &s->place_count) < 0 ||
		    !load_profile(s, cfg->profile)) {
			goto fail;
		}
		weigh_places(s);
		struct fs_demand_params dp;
		fs_demand_params_defaults(&dp);
		dp.seed = cfg->seed;
		dp.trips_per_day = cfg->demand_per_day;
		dp.profile = &s->profile;
		dp.tz = &s->scn.tz; /* the city's clock: daylight saving included */
		s->demand_params = dp;
		s->demand = fs_demand_create(&dp, s->places, s->place_count, &err);
		if (!s->demand) {
			fs_error("demand: %s", err.message);
			goto fail;
		}
		s->cfg.demand_per_day = dp.trips_per_day;
	}
	for (uint32_t k = 0; k < s->world->depot_count; k++) {
		s->plugs_now[k] = cfg->plugs[k];
	}
	struct fs_dispatch_world w = {
		.net = net,
		.query = s->world->query,
		.surface_query = s->world->surface_query,
		.index = s->world->stop_index,
		.in_scc = s->world->in_scc,
		.depot_nodes = s->world->depot_nodes,
		.depot_plugs = s->cfg.plugs,
		.depot_count = s->world->depot_count,
		.places = s->places,
		.place_count = s->place_count,
		.profile = s->has_profile ? &s->profile : NULL,
		.trips_per_day = s->demand ? s->cfg.demand_per_day : 0.0,
		.tz = &s->scn.tz,
		.traffic = s->world->traffic,
	};
	if (start_workers(s, &w) < 0) {
		goto fail;
	}
	s->d = fs_dispatch_create(&w, &cfg->params, &err);
	if (!s->d) {
		fs_error("network %s: %s", cfg->network, err.message);
		goto fail;
	}
	s->weather = fs_weather_create(net, &s->scn, &err);
	if (!s->weather) {
		fs_error("scenario zones: %s", err.message);
		goto fail;
	}
	fs_dispatch_set_weather(s->d, s->weather);
	if (strchr(s->scn.geofence, '/') && load_city_area(s, &err) < 0) {
		fs_error("%s", err.message);
		goto fail;
	}
	s->closures = fs_closures_create(net);
	if (!s->closures) {
		fs_error("out of memory for road closures");
		goto fail;
	}
	return s;
fail:
	dispatch_service_destroy(s);
	return NULL;
}

void dispatch_service_destroy(struct dispatch_service *s)
{
	if (!s) {
		return;
	}
	fs_dispatch_destroy(s->d);
	for (unsigned k = 1; k < FS_WORKERS_MAX; k++) {
		fs_route_query_destroy(s->worker_queries[k]);
		fs_route_query_destroy(s->worker_surface_queries[k]);
	}
	free(s->pending);
	fs_workers_destroy(s->workers);
	free(s->traffic_counts);
	fs_traffic_msg_finish(&s->traffic_msg);
	fs_weather_destroy(s->weather);
	fs_closures_destroy(s->closures);
	free(s->map_events);
	for (size_t i = 0; s->zone_nodes && i < s->scn.zone_count; i++) {
		free(s->zone_nodes[i]);
	}
	free(s->zone_nodes);
	free(s->city_area);
	free(s->area);
	fs_demand_destroy(s->demand);
	for (uint32_t i = 0; i < s->nsurge; i++) {
		fs_demand_destroy(s->surge[i]);
	}
	free(s->events_in_force);
	for (size_t i = 0; s->zone_rings && i < s->scn.zone_count; i++) {
		free(s->zone_rings[i]);
	}
	free(s->zone_rings);
	fs_scenario_finish(&s->scn);
	fs_world_destroy(s->world);
	fs_demand_batch_finish(&s->replay);
	fs_demand_batch_finish(&s->batch);
	fs_dispatch_output_finish(&s->out);
	free(s->places);
	free(s->events);
	fs_vehicle_records_finish(&s->records);
	fs_ride_msg_finish(&s->ride_msg);
	free(s->requests);
	free(s);
}

/* ---- messages in ----------------------------------------------------------------------------- */

static void apply_states(struct dispatch_service *s, struct fs_participant *p, const struct fs_bus_message *msg)
{
	const char *why = fs_vehicle_msg_decode_records(msg->env->vehicle_states, msg->env->sim_time_ms, &s->records);
	if (why) {
		fs_bus_reject(fs_participant_bus(p), msg, why);
		return;
	}
	for (size_t i = 0; i < s->records.count; i++) {
		const struct fs_vehicle_record *r = &s->records.items[i];
		if (fs_dispatch_update_vehicle(s->d, r) < 0) {
			s->bad_states++;
			if (fs_log_should(s->bad_states)) {
				fs_warn("vehicle %u: record refused (%" PRIu64 " so far)", r->id, s->bad_states);
			}
		}
	}
}

static void apply_events(struct dispatch_service *s, struct fs_participant *p, const struct fs_bus_message *msg)
{
	size_t count;
	const char *why = fs_vehicle_msg_decode_events(msg->env->vehicle_events, &s->events, &s->events_cap, &count);
	if (why) {
		fs_bus_reject(fs_participant_bus(p), msg, why);
		return;
	}
	if (fs_dispatch_add_events(s->d, s->events, count) < 0) {
		fs_error("out of memory");
		abort();
	}
}

/* Keep the events the platform acts on; the zone's ring is projected once. */
static void keep_scenario_event(void *ctx, const struct fs_scenario_event *e)
{
	struct dispatch_service *s = ctx;
	if (e->type == FS_SCN_EVENT_WEATHER || e->type == FS_SCN_EVENT_ROAD_CLOSURE || e->type == FS_SCN_EVENT_GEOFENCE) {
		/* the vehicles drive in it; the platform plans as they will drive */
		fs_xgrow(s->map_events, s->map_cap, s->nmap + 1);
		s->map_events[s->nmap++] = *e;
		s->scn_applied++;
		return;
	}
	if (e->type != FS_SCN_EVENT_DEPOT_OUTAGE && e->type != FS_SCN_EVENT_DEMAND_SURGE) {
		return; /* for the vehicles or production */
	}
	struct scn_event se = { .e = *e };
	const struct fs_scenario_zone *z = e->type == FS_SCN_EVENT_DEMAND_SURGE ? fs_scenario_zone_find(&s->scn, e->zone) : NULL;
	if (z && z->count >= 3) {
		se.ring = s->zone_rings[z - s->scn.zones];
		se.nring = z->count;
	}
	fs_xgrow(s->events_in_force, s->scn_cap, s->nscn + 1);
	s->events_in_force[s->nscn++] = se;
	s->scn_applied++;
}

static void receive_scenario(struct dispatch_service *s, struct fs_participant *p, const struct fs_bus_message *msg)
{
	fs_scenario_msg_receive(fs_participant_bus(p), &s->scn, msg, keep_scenario_event, s);
}

static void on_message(void *ctx, struct fs_participant *p, const struct fs_bus_message *msg)
{
	struct dispatch_service *s = ctx;
	switch (msg->env->payload_case) {
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND:
		receive_scenario(s, p, msg);
		break;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES:
		apply_states(s, p, msg);
		break;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS:
		apply_events(s, p, msg);
		break;
	default:
		break;
	}
}

/* ---- messages out ---------------------------------------------------------------------------- */

/* Publishes the batch an fs_ride_msg_encode_*() call put in s->ride_msg; @encoded: what that call returned. */
static int publish_ride_msg(struct dispatch_service *s, struct fs_participant *p, int encoded)
{
	return encoded < 0 ? encoded : fs_participant_publish(p, NULL, &s->ride_msg.env);
}

static int publish_requests(struct dispatch_service *s, struct fs_participant *p)
{
	size_t n = s->out.new_count;
	if (!n) {
		return 0;
	}
	if (FS_GROW(s->requests, s->requests_cap, n) < 0) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct fs_dispatch_request *r = fs_dispatch_request(s->d, s->out.new_requests[i]);
		bool placed = r->pickup_edge != FS_DISPATCH_NONE && r->dropoff_edge != FS_DISPATCH_NONE;
		s->requests[i] = (struct fs_ride_request){
			.id = r->id, .t_request_ms = r->t_request_ms,
			.pickup = { placed ? r->pickup_edge : UINT32_MAX, placed ? r->pickup_offset_m : 0.0 },
			.dropoff = { placed ? r->dropoff_edge : UINT32_MAX, placed ? r->dropoff_offset_m : 0.0 },
			.origin = r->origin, .dest = r->dest, .origin_zone = r->zone,
			.dest_zone = fs_dispatch_zone_of(s->d, r->dest), .patience_s = (uint32_t)lround(r->patience_s),
		};
	}
	return publish_ride_msg(s, p, fs_ride_msg_encode_requests(&s->ride_msg, s->requests, n));
}

/* The step's new requests, trip events, offers and jobs: a batch of each kind that has any. */
static int publish_step(struct dispatch_service *s, struct fs_participant *p)
{
	const struct fs_dispatch_output *o = &s->out;
	struct fs_ride_msg *m = &s->ride_msg;
	if (publish_requests(s, p) < 0 ||
	    (o->event_count && publish_ride_msg(s, p, fs_ride_msg_encode_trip_events(m, o->events, o->event_count)) < 0) ||
	    (o->offer_count && publish_ride_msg(s, p, fs_ride_msg_encode_offers(m, o->offers, o->offer_count)) < 0) ||
	    (o->job_count && publish_ride_msg(s, p, fs_ride_msg_encode_jobs(m, o->jobs, o->job_count)) < 0)) {
		return -EIO;
	}
	return 0;
}

static int publish_kpis(struct dispatch_service *s, struct fs_participant *p)
{
	struct fs_dispatch_kpi k;
	fs_dispatch_settle(s->d);
	fs_dispatch_kpi_running(s->d, &k);
	struct fs_kpi list[FS_KPI_MSG_MAX] = {
		{ "requests", (double)k.requests },
		{ "served", (double)k.served },
		{ "cancelled", (double)k.cancelled },
		{ "rejected", (double)k.rejected },
		{ "open", (double)k.open },
		{ "wait.mean_s", k.wait_mean_s },
		{ "wait.p50_s", k.wait_p50_s },
		{ "wait.p90_s", k.wait_p90_s },
		{ "wait.p95_s", k.wait_p95_s },
		{ "in_vehicle.mean_s", k.in_vehicle_mean_s },
		{ "km.total", k.km_total },
		{ "km.empty_share", k.empty_km_share },
		{ "utilisation", k.utilisation },
		{ "trips_per_vehicle_day", k.trips_per_vehicle_day },
		{ "fleet.known", fs_dispatch_vehicle_count(s->d) },
		{ "charge.queue", fs_dispatch_charge_queue_length(s->d) },
	};
	size_t n = 16;
	uint32_t in_use = 0;
	for (uint32_t d = 0; d < s->world->depot_count; d++) {
		in_use += fs_dispatch_plugs_in_use(s->d, d);
	}
	list[n].name = "charge.plugs_in_use";
	list[n++].value = in_use;
	struct fs_kpi_msg m;
	return fs_participant_publish(p, NULL, fs_kpi_msg_encode(&m, list, n));
}

/* ---- the fleet's own traffic ------------------------------------------------------------------ */

static bool drives(uint8_t state)
{
	return state == FS_VEHICLE_TO_PICKUP || state == FS_VEHICLE_IN_TRIP || state == FS_VEHICLE_REPOSITIONING ||
	       state == FS_VEHICLE_TO_CHARGER;
}

/* Vehicles driving per traffic slot, from the latest states of every shard. */
static void count_traffic(struct dispatch_service *s)
{
	const struct fs_traffic *t = s->world->traffic;
	uint32_t slots = fs_traffic_slot_count(t), bound = fs_dispatch_vehicle_id_bound(s->d);
	memset(s->traffic_counts, 0, (size_t)slots * sizeof(*s->traffic_counts));
	for (uint32_t id = 0; id < bound; id++) {
		const struct fs_vehicle_record *v = fs_dispatch_vehicle_record(s->d, id);
		if (v && drives(v->state) && v->edge < s->world->net->edge_count) {
			s->traffic_counts[fs_traffic_slot_of_edge(t, v->edge)]++;
		}
	}
}

static int publish_traffic(struct dispatch_service *s, struct fs_participant *p)
{
	count_traffic(s);
	if (fs_traffic_msg_encode(&s->traffic_msg, s->traffic_counts, fs_traffic_slot_count(s->world->traffic)) < 0) {
		return -ENOMEM;
	}
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_TRAFFIC;
	env.traffic = &s->traffic_msg.state;
	s->traffic_pending = true; /* the vehicle nodes apply it at the next tick, and so do we */
	return fs_participant_publish(p, NULL, &env);
}

/* At the start of a tick: the counts published in the previous one, or a new hour. */
static void apply_traffic(struct dispatch_service *s, int64_t now_ms)
{
	uint32_t hour = fs_world_hour(s->world, now_ms);
	if (!s->traffic_pending && hour == s->traffic_hour) {
		return;
	}
	fs_traffic_update(s->world->traffic, hour, s->traffic_counts);
	s->traffic_hour = hour;
	s->traffic_pending = false;
	s->traffic_updates++;
	double f = fs_traffic_max_fleet_factor(s->world->traffic);
	s->traffic_max_factor = f > s->traffic_max_factor ? f : s->traffic_max_factor;
}

/* ---- the tick -------------------------------------------------------------------------------- */

static bool in_ring(const struct fs_point *ring, size_t n, struct fs_point p)
{
	bool inside = false;
	for (size_t i = 0, j = n - 1; i < n; j = i++) {
		if ((ring[i].y > p.y) != (ring[j].y > p.y) &&
		    p.x < (ring[j].x - ring[i].x) * (p.y - ring[i].y) / (ring[j].y - ring[i].y) + ring[i].x) {
			inside = !inside;
		}
	}
	return inside;
}

/* Product of the multipliers of the demand surges in force at @p. */
static double surge_at(const struct dispatch_service *s, struct fs_point p)
{
	double m = 1.0;
	for (size_t i = 0; i < s->nscn; i++) {
		const struct scn_event *se = &s->events_in_force[i];
		if (se->e.type == FS_SCN_EVENT_DEMAND_SURGE && fs_scenario_event_active(&se->e, s->tick) &&
		    (!se->ring || in_ring(se->ring, se->nring, p))) {
			m *= se->e.multiplier;
		}
	}
	return m;
}

/* A draw in [0, 1) for request @id of generator @gen: keyed, so any slicing gives the same. */
static double keep_draw(const struct dispatch_service *s, uint32_t gen, uint64_t id)
{
	struct fs_rng r;
	fs_rng_init(&r, s->cfg.seed ^ fs_mix64(gen + 1), FS_RNG_STREAM_SCENARIO, id);
	return fs_rng_uniform(&r);
}

/*
 * A generated rider's place is a junction (the demand's places are the network's nodes):
 * the rider stands somewhere along the half-blocks around it, drawn per request id.
 */
static struct fs_point along_the_streets(const struct dispatch_service *s, struct fs_point at, uint64_t id, int which)
{
	struct fs_rng r;
	fs_rng_init(&r, s->cfg.seed, FS_RNG_STREAM_DEMAND_PLACE, id * 2 + (uint64_t)which);
	double u = fs_rng_uniform(&r), v = fs_rng_uniform(&r);
	struct fs_point p;
	return fs_network_point_near_junction(s->world->net, s->world->stop_index, at.x, at.y, u, v, &p) == 0 ? p : at;
}

/* Queue @q for this tick's fs_dispatch_add_requests(). */
static int add_request(struct dispatch_service *s, const struct fs_demand_request *q)
{
	if (s->npending == s->pending_cap) {
		size_t cap = s->pending_cap ? s->pending_cap * 2 : 64;
		struct fs_dispatch_request_in *p = realloc(s->pending, cap * sizeof(*p));
		if (!p) {
			fs_error("demand: out of memory");
			return -ENOMEM;
		}
		s->pending = p;
		s->pending_cap = cap;
	}
	struct fs_dispatch_request_in *in = &s->pending[s->npending++];
	*in = (struct fs_dispatch_request_in){ .demand_id = q->id, .t_ms = q->t_ms, .origin = q->origin, .dest = q->dest };
	if (s->demand) { /* replayed requests are where their records say */
		in->origin = along_the_streets(s, q->origin, q->id, 0);
		in->dest = along_the_streets(s, q->dest, q->id, 1);
	}
	return 0;
}

static int compare_requests(const void *a, const void *b)
{
	const struct fs_demand_request *x = a, *y = b;
	if (x->t_ms != y->t_ms) {
		return x->t_ms < y->t_ms ? -1 : 1;
	}
	return x->id < y->id ? -1 : x->id > y->id;
}

static int queue_requests(struct dispatch_service *s, int64_t t0, int64_t t1)
{
	if (!s->demand) {
		size_t i = s->replay_next;
		for (; i < s->replay.count && s->replay.items[i].t_ms < t1; i++) {
			int rc = add_request(s, &s->replay.items[i]);
			if (rc < 0) {
				return rc;
			}
		}
		s->replay_next = i;
		return 0;
	}
	s->batch.count = 0;
	if (fs_demand_generate(s->demand, t0, t1, &s->batch) < 0) {
		fs_error("demand: out of memory");
		return -ENOMEM;
	}
	double peak = 1.0;
	for (size_t i = 0; i < s->nscn; i++) {
		const struct scn_event *se = &s->events_in_force[i];
		if (se->e.type == FS_SCN_EVENT_DEMAND_SURGE && fs_scenario_event_active(&se->e, s->tick)) {
			peak *= se->e.multiplier > 1.0 ? se->e.multiplier : 1.0;
		}
	}
	if (peak == 1.0 && s->nscn == 0) {
		for (size_t i = 0; i < s->batch.count; i++) {
			int rc = add_request(s, &s->batch.items[i]);
			if (rc < 0) {
				return rc;
			}
		}
		return 0;
	}
	/* surges: thin the base requests where the rate falls, add from extra generators where it rises */
	size_t keep = 0;
	for (size_t i = 0; i < s->batch.count; i++) {
		double m = surge_at(s, s->batch.items[i].origin);
		if (m < 1.0 && keep_draw(s, 0, s->batch.items[i].id) >= m) {
			s->surge_dropped++;
			continue;
		}
		s->batch.items[keep++] = s->batch.items[i];
	}
	s->batch.count = keep;
	uint32_t extra = (uint32_t)ceil(peak - 1.0);
	if (extra > MAX_SURGE_GENERATORS) {
		extra = MAX_SURGE_GENERATORS;
	}
	for (uint32_t g = 0; g < extra; g++) {
		if (g == s->nsurge) {
			struct fs_error err = { "" };
			struct fs_demand_params dp = s->demand_params;
			dp.substream = g + 1;
			s->surge[g] = fs_demand_create(&dp, s->places, s->place_count, &err);
			if (!s->surge[g]) {
				fs_error("demand surge: %s", err.message);
				return -ENOMEM;
			}
			s->nsurge++;
		}
		size_t first = s->batch.count;
		if (fs_demand_generate(s->surge[g], t0, t1, &s->batch) < 0) {
			fs_error("demand: out of memory");
			return -ENOMEM;
		}
		keep = first;
		for (size_t i = first; i < s->batch.count; i++) {
			struct fs_demand_request q = s->batch.items[i];
			double m = surge_at(s, q.origin);
			uint32_t k = (uint32_t)ceil(m - 1.0);
			/* generator g adds (m - 1) / k of a base rate when m needs k extra generators */
			if (m <= 1.0 || g >= k || keep_draw(s, g + 1, q.id) >= (m - 1.0) / (double)k) {
				continue;
			}
			q.id |= (uint64_t)(g + 1) << 56; /* tell the generators apart in reports */
			s->batch.items[keep++] = q;
			s->surge_added++;
		}
		s->batch.count = keep;
	}
	if (s->batch.count > 1) {
		qsort(s->batch.items, s->batch.count, sizeof(*s->batch.items), compare_requests);
	}
	for (size_t i = 0; i < s->batch.count; i++) {
		int rc = add_request(s, &s->batch.items[i]);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* The requests of [t0, t1) to the platform, planned together (on its workers). */
static int add_requests(struct dispatch_service *s, int64_t t0, int64_t t1)
{
	s->npending = 0;
	int rc = queue_requests(s, t0, t1);
	if (rc < 0 || s->npending == 0) {
		return rc;
	}
	size_t failed;
	rc = fs_dispatch_add_requests(s->d, s->pending, s->npending, &failed);
	if (rc < 0) {
		const struct fs_dispatch_request_in *in = &s->pending[failed];
		fs_error("request %" PRIu64 " at %" PRId64 " ms: %s", in->demand_id, in->t_ms, strerror(-rc));
	}
	return rc;
}

/* Plugs in service: the scenario's, minus the outages in force. */
static void apply_outages(struct dispatch_service *s)
{
	uint32_t n = s->world->depot_count;
	uint32_t plugs[FS_WORLD_MAX_DEPOTS];
	for (uint32_t k = 0; k < n; k++) {
		plugs[k] = s->cfg.plugs[k];
	}
	for (size_t i = 0; i < s->nscn; i++) {
		const struct fs_scenario_event *e = &s->events_in_force[i].e;
		if (e->type != FS_SCN_EVENT_DEPOT_OUTAGE || !fs_scenario_event_active(e, s->tick) || e->depot < 0 ||
		    (uint32_t)e->depot >= n) {
			continue;
		}
		uint32_t k = (uint32_t)e->depot;
		plugs[k] = e->plugs == 0 || e->plugs >= plugs[k] ? 0 : plugs[k] - e->plugs;
	}
	for (uint32_t k = 0; k < n; k++) {
		if (plugs[k] != s->plugs_now[k]) {
			fs_info("depot %u: %u of %u plugs in service", k, plugs[k], s->cfg.plugs[k]);
			s->plugs_now[k] = plugs[k];
			fs_dispatch_set_depot_plugs(s->d, k, plugs[k]);
		}
	}
}

/* The nodes of scenario zone @name (cached), or NULL if there is no such zone. */
static const uint8_t *zone_nodes(struct dispatch_service *s, const char *name)
{
	const struct fs_scenario_zone *z = fs_scenario_zone_find(&s->scn, name);
	if (!z) {
		return NULL;
	}
	size_t i = (size_t)(z - s->scn.zones);
	if (!s->zone_nodes) {
		s->zone_nodes = fs_xcalloc(s->scn.zone_count, sizeof(*s->zone_nodes));
	}
	if (!s->zone_nodes[i]) {
		const struct fs_network *net = s->world->net;
		uint8_t *in = fs_xcalloc(net->node_count ? net->node_count : 1, 1);
		for (uint32_t v = 0; v < net->node_count; v++) {
			in[v] = in_ring(s->zone_rings[i], z->count, (struct fs_point){ net->nodes[v].x, net->nodes[v].y });
		}
		s->zone_nodes[i] = in;
	}
	return s->zone_nodes[i];
}

/*
 * The service area at @tick: the city's (its geofence zone, else the whole
 * network) changed by the geofence events in force, in the order received:
 * set makes it the zone, add joins the zone, remove cuts it out. Worked out
 * again only when such an event starts or ends.
 */
static int update_service_area(struct dispatch_service *s, uint64_t tick)
{
	bool boundary = false;
	for (size_t i = 0; i < s->nmap && !boundary; i++) {
		const struct fs_scenario_event *e = &s->map_events[i];
		boundary = e->type == FS_SCN_EVENT_GEOFENCE &&
			   (fs_scenario_event_starts(e, tick) || fs_scenario_event_ends(e, tick));
	}
	if (!boundary && (s->area || (!s->scn.geofence_zone[0] && !s->city_area))) {
		return 0; /* (a city with a service area of its own gets it at the first tick) */
	}
	const struct fs_network *net = s->world->net;
	uint32_t n = net->node_count;
	if (!s->area) {
		s->area = fs_xcalloc(n ? n : 1, 1);
	}
	const uint8_t *base = s->scn.geofence_zone[0] ? zone_nodes(s, s->scn.geofence_zone) : s->city_area;
	for (uint32_t v = 0; v < n; v++) {
		s->area[v] = base ? base[v] : 1;
	}
	for (size_t i = 0; i < s->nmap; i++) {
		const struct fs_scenario_event *e = &s->map_events[i];
		if (e->type != FS_SCN_EVENT_GEOFENCE || !fs_scenario_event_active(e, tick)) {
			continue;
		}
		const uint8_t *z = zone_nodes(s, e->zone);
		for (uint32_t v = 0; z && v < n; v++) {
			s->area[v] = e->geofence_mode == FS_SCN_GEOFENCE_SET	 ? z[v]
				     : e->geofence_mode == FS_SCN_GEOFENCE_ADD ? (uint8_t)(s->area[v] | z[v])
									 : (uint8_t)(s->area[v] & !z[v]);
		}
	}
	s->area_nodes = 0;
	for (uint32_t v = 0; v < n; v++) {
		s->area_nodes += s->area[v] != 0;
	}
	fs_dispatch_set_service_area(s->d, s->area);
	fs_info("service area: %u of %u nodes", s->area_nodes, n);
	return 0;
}

static int on_tick(void *ctx, struct fs_participant *p, uint64_t tick, int64_t now_ms)
{
	struct dispatch_service *s = ctx;
	s->tick = tick;
	if (tick > 0) {
		fs_dispatch_set_fleet_time(s->d, s->prev_tick_ms);
	}
	s->prev_tick_ms = now_ms;
	apply_traffic(s, now_ms);
	apply_outages(s);
	int wrc = fs_weather_update(s->weather, s->map_events, s->nmap, tick);
	if (wrc < 0) {
		return wrc;
	}
	if (wrc > 0) {
		fs_info("weather: %u edges under a zone's weather, city-wide severity %u",
			fs_weather_edges_affected(s->weather), fs_weather_city_rain(s->weather));
	}
	if (update_service_area(s, tick) < 0) {
		return -ENOMEM;
	}
	uint64_t unmatched = fs_closures_unmatched(s->closures);
	int crc = fs_closures_update(s->closures, s->map_events, s->nmap, tick);
	if (crc < 0) {
		return crc;
	}
	if (fs_closures_unmatched(s->closures) > unmatched) {
		fs_warn("tick %" PRIu64 ": a road_closure names a road this map does not have (way name or edge id); "
			"nothing closed for it", tick);
	}
	if (crc > 0) {
		fs_info("road closures: %u edges closed", fs_closures_count(s->closures));
	}
	if (crc > 0 || wrc > 0) {
		/* trips are planned around closed roads and storm cells, as the vehicles will drive them */
		fs_world_update_roads(s->world, s->weather, s->cfg.params.max_rain, fs_closures_mask(s->closures));
		fs_dispatch_set_weather(s->d, s->weather); /* the open requests' trips are planned again */
	}
	if (!s->started) {
		s->started = true;
		s->start_ms = s->prev_ms = now_ms;
		s->next_kpi_ms = now_ms;
		for (size_t i = 0; i < s->replay.count; i++) {
			s->replay.items[i].t_ms += now_ms; /* replay times count from the run's start */
		}
	} else {
		/* the requests that arrived since the previous tick */
		int rc = add_requests(s, s->prev_ms, now_ms);
		if (rc < 0) {
			return rc;
		}
		s->prev_ms = now_ms;
	}
	s->last_ms = now_ms;
	fs_dispatch_output_clear(&s->out);
	int rc = fs_dispatch_step(s->d, now_ms, &s->out, NULL);
	if (rc < 0) {
		fs_error("dispatch step at tick %" PRIu64 ": %s", tick, strerror(-rc));
		return rc;
	}
	if (publish_step(s, p) < 0) {
		return -EIO;
	}
	if (now_ms >= s->next_traffic_ms) {
		s->next_traffic_ms = now_ms + (int64_t)llround(s->world->traffic_params.update_s * 1000.0);
		if (publish_traffic(s, p) < 0) {
			return -EIO;
		}
	}
	if (s->cfg.kpi_every_s && now_ms >= s->next_kpi_ms) {
		s->next_kpi_ms = now_ms + (int64_t)s->cfg.kpi_every_s * 1000;
		if (publish_kpis(s, p) < 0) {
			return -EIO;
		}
	}
	return 0;
}

static uint64_t state_hash(void *ctx)
{
	const struct dispatch_service *s = ctx;
	return fs_dispatch_hash(s->d);
}

/* ---- outputs ------------------------------------------------------------------------------- */

static void put_time(FILE *f, const struct dispatch_service *s, int64_t t_ms)
{
	if (t_ms < 0) {
		fputc(',', f);
	} else {
		fprintf(f, ",%.3f", (double)(t_ms - s->start_ms) / 1000.0);
	}
}

/* ",2028-06-01T08:14:03-04:00": @t_ms on the city's clock (ISO 8601 with offset); empty if never reached */
static void put_local_time(FILE *f, const struct dispatch_service *s, int64_t t_ms)
{
	char b[40];
	fputc(',', f);
	if (t_ms >= 0) {
		fputs(fs_timezone_format_iso(&s->scn.tz, t_ms, b, sizeof(b)), f);
	}
}

static void put_num(FILE *f, double v, int decimals)
{
	if (isfinite(v)) {
		fprintf(f, ",%.*f", decimals, v);
	} else {
		fputc(',', f);
	}
}

/* Written under a temporary name and renamed when complete (fs_outfile.h): never half a file. */
static FILE *open_out(const struct dispatch_service *s, const char *name, struct fs_outfile *out)
{
	return fs_outfile_open(out, s->cfg.out_dir, name);
}

static int close_out(struct fs_outfile *out)
{
	return fs_outfile_commit(out) < 0 ? -EIO : 0;
}

/*
 * ,lat,lon (WGS84, 6 decimals: ~0.1 m) of a point in the network's metres, from its projection
 * origin, so the CSVs load in kepler.gl and QGIS as they are. Empty without a point (@pt NULL)
 * or on a network with no place on Earth (a grid: projected about 0,0).
 */
static void put_latlon(FILE *f, const struct fs_network *net, const struct fs_point *pt)
{
	double lat, lon;
	if (!pt || (net->proj.origin_lat == 0.0 && net->proj.origin_lon == 0.0)) {
		fputs(",,", f);
		return;
	}
	fs_projection_to_latlon(&net->proj, *pt, &lat, &lon);
	fprintf(f, ",%.6f,%.6f", lat, lon);
}

static bool place_point(const struct fs_network *net, uint32_t edge, float offset_m, struct fs_point *ret)
{
	return edge != FS_DISPATCH_NONE && fs_network_edge_point_at(net, edge, offset_m, ret) == 0;
}

/* edge,offset_m,x_m,y_m of a place on the road; empty fields when there is none */
static void put_place(FILE *f, const struct fs_network *net, uint32_t edge, float offset_m)
{
	struct fs_point pt;
	if (!place_point(net, edge, offset_m, &pt)) {
		fputs(",,,,", f);
		return;
	}
	fprintf(f, ",%u", edge);
	put_num(f, offset_m, 1);
	put_num(f, pt.x, 1);
	put_num(f, pt.y, 1);
}

static int write_trips(const struct dispatch_service *s)
{
	const struct fs_network *net = s->world->net;
	struct fs_outfile out;
	FILE *f = open_out(s, "trips.csv", &out);
	if (!f) {
		return -EIO;
	}
	char start[32];
	fs_calendar_format(s->start_ms, start, sizeof(start));
	/* times: seconds since the run's start (summary.json "start"), empty if never reached;
	 * *_local: the same instants on the city's clock, ISO 8601 with the offset in force */
	fputs("request_id,demand_id,status,reason,t_request_s,t_offer_s,t_assign_s,t_arrive_s,t_pickup_s,"
	      "t_dropoff_s,t_end_s,vehicle_id,offers,wait_s,in_vehicle_s,offer_eta_s,origin_x_m,origin_y_m,"
	      "dest_x_m,dest_y_m,origin_zone,pickup_edge,pickup_offset_m,pickup_x_m,pickup_y_m,dropoff_edge,"
	      "dropoff_offset_m,dropoff_x_m,dropoff_y_m,beeline_m,route_m,route_s,pickup_m,trip_m,uses_motorway,"
	      "rider_patience_s,rider_board_s,rider_alight_s,rider_no_show,origin_lat,origin_lon,dest_lat,dest_lon,"
	      "pickup_lat,pickup_lon,dropoff_lat,dropoff_lon,request_local,pickup_local,dropoff_local\n",
	      f);
	uint64_t n = fs_dispatch_request_count(s->d);
	for (uint64_t id = 1; id <= n; id++) {
		const struct fs_dispatch_request *r = fs_dispatch_request(s->d, id);
		fprintf(f, "%" PRIu64 ",%" PRIu64 ",%s,%s", r->id, r->demand_id, fs_dispatch_status_name(r->status),
			fs_dispatch_reason_name(r->reason));
		put_time(f, s, r->t_request_ms);
		put_time(f, s, r->t_offer_ms);
		put_time(f, s, r->t_assign_ms);
		put_time(f, s, r->t_arrive_ms);
		put_time(f, s, r->t_pickup_ms);
		put_time(f, s, r->t_dropoff_ms);
		put_time(f, s, r->t_end_ms);
		if (r->vehicle_id == FS_DISPATCH_NONE) {
			fputc(',', f);
		} else {
			fprintf(f, ",%u", r->vehicle_id);
		}
		fprintf(f, ",%u", r->offers);
		put_num(f, r->t_arrive_ms >= 0 ? (double)(r->t_arrive_ms - r->t_request_ms) / 1000.0 : NAN, 3);
		put_num(f, r->t_dropoff_ms >= 0 ? (double)(r->t_dropoff_ms - r->t_pickup_ms) / 1000.0 : NAN, 3);
		put_num(f, r->offer_eta_s, 1);
		put_num(f, r->origin.x, 1);
		put_num(f, r->origin.y, 1);
		put_num(f, r->dest.x, 1);
		put_num(f, r->dest.y, 1);
		fprintf(f, ",%u", r->zone);
		put_place(f, net, r->pickup_edge, r->pickup_offset_m);
		put_place(f, net, r->dropoff_edge, r->dropoff_offset_m);
		put_num(f, r->beeline_m, 1);
		put_num(f, r->route_m, 1);
		put_num(f, r->route_s, 1);
		put_num(f, r->pickup_m, 1);
		put_num(f, r->trip_m, 1);
		fprintf(f, ",%d", r->uses_motorway ? 1 : 0);
		put_num(f, r->rider_patience_s, 1);
		put_num(f, r->rider_board_s, 1);
		put_num(f, r->rider_alight_s, 1);
		fprintf(f, ",%d", r->rider_no_show ? 1 : 0);
		struct fs_point pickup, dropoff;
		put_latlon(f, net, &r->origin);
		put_latlon(f, net, &r->dest);
		put_latlon(f, net, place_point(net, r->pickup_edge, r->pickup_offset_m, &pickup) ? &pickup : NULL);
		put_latlon(f, net, place_point(net, r->dropoff_edge, r->dropoff_offset_m, &dropoff) ? &dropoff : NULL);
		put_local_time(f, s, r->t_request_ms);
		put_local_time(f, s, r->t_pickup_ms);
		put_local_time(f, s, r->t_dropoff_ms);
		fputc('\n', f);
	}
	return close_out(&out);
}

/* A field of struct fs_dispatch_kpi by name: a count (uint64_t) or a value (double). */
struct kpi_field {
	const char *name;
	size_t offset;
	int decimals; /* of a value in the CSV files; -1: a count */
};

#define KPI_COUNT(field) { #field, offsetof(struct fs_dispatch_kpi, field), -1 }
#define KPI_VALUE(field, decimals) { #field, offsetof(struct fs_dispatch_kpi, field), decimals }
#define KPI_FIELDS(table) (sizeof(table) / sizeof((table)[0]))

/* The KPI columns of the dispatch_by_*.csv files, after the columns that say whose row it is. */
static const struct kpi_field kpi_columns[] = {
	KPI_COUNT(requests),
	KPI_COUNT(served),
	KPI_COUNT(cancelled),
	KPI_COUNT(rejected),
	KPI_COUNT(open),
	KPI_VALUE(wait_mean_s, 1),
	KPI_VALUE(wait_p50_s, 1),
	KPI_VALUE(wait_p90_s, 1),
	KPI_VALUE(wait_p95_s, 1),
	KPI_VALUE(in_vehicle_mean_s, 1),
	{ "km", offsetof(struct fs_dispatch_kpi, km_total), 2 },
	KPI_VALUE(empty_km_share, 4),
	KPI_VALUE(utilisation, 4),
	KPI_VALUE(trips_per_vehicle_day, 2),
};

static double kpi_get(const struct fs_dispatch_kpi *k, const struct kpi_field *field)
{
	const char *at = (const char *)k + field->offset;
	return field->decimals < 0 ? (double)*(const uint64_t *)at : *(const double *)at;
}

static void put_kpi_header(FILE *f)
{
	for (size_t i = 0; i < KPI_FIELDS(kpi_columns); i++) {
		fprintf(f, "%s%c", kpi_columns[i].name, i + 1 < KPI_FIELDS(kpi_columns) ? ',' : '\n');
	}
}

static void put_kpi_row(FILE *f, const char *key, const struct fs_dispatch_kpi *k)
{
	fputs(key, f);
	for (size_t i = 0; i < KPI_FIELDS(kpi_columns); i++) {
		const struct kpi_field *c = &kpi_columns[i];
		if (c->decimals < 0) {
			fprintf(f, ",%" PRIu64, *(const uint64_t *)((const char *)k + c->offset));
		} else {
			put_num(f, kpi_get(k, c), c->decimals);
		}
	}
	fputc('\n', f);
}

static int write_groups(const struct dispatch_service *s, const struct fs_dispatch_kpi *by_hour,
			const struct fs_dispatch_kpi *by_zone)
{
	struct fs_outfile out;
	FILE *f = open_out(s, "dispatch_by_hour.csv", &out);
	if (!f) {
		return -EIO;
	}
	/* the hour a request was made on the city's clock (local_hour), and which clock that is */
	const char *zone = s->scn.tz.name[0] ? s->scn.tz.name : "";
	char fixed[32] = "";
	if (!zone[0]) {
		fs_timezone_describe(&s->scn.tz, s->start_ms, fixed, sizeof(fixed));
		zone = fixed;
	}
	fputs("local_hour,timezone,", f);
	put_kpi_header(f);
	for (int h = 0; h < 24; h++) {
		char key[96];
		snprintf(key, sizeof(key), "%02d,%s", h, zone);
		put_kpi_row(f, key, &by_hour[h]);
	}
	int rc = close_out(&out);
	f = open_out(s, "dispatch_by_zone.csv", &out);
	if (!f) {
		return -EIO;
	}
	/* zones: cells of --cell-m over the network's box; x/y = the cell's centre */
	const struct fs_network *net = s->world->net;
	uint32_t nz = fs_dispatch_zone_count(s->d);
	uint32_t cols = (uint32_t)ceil(fmax(net->max_x - net->min_x, 1.0) / s->cfg.params.cell_m);
	fputs("zone,x_m,y_m,lat,lon,", f);
	put_kpi_header(f);
	for (uint32_t z = 0; z < nz; z++) {
		if (!by_zone[z].requests) {
			continue;
		}
		struct fs_point centre = { net->min_x + ((z % cols) + 0.5) * s->cfg.params.cell_m,
					   net->min_y + ((z / cols) + 0.5) * s->cfg.params.cell_m };
		fprintf(f, "%u,%.0f,%.0f", z, centre.x, centre.y);
		put_latlon(f, net, &centre);
		put_kpi_row(f, "", &by_zone[z]);
	}
	return close_out(&out) < 0 ? -EIO : rc;
}

static void result(struct fs_participant *p, const char *key, double value)
{
	if (isfinite(value)) {
		fs_participant_add_result(p, key, value);
	}
}

/* The KPIs of the whole run in its results (summary.json), by their field names. */
static const struct kpi_field kpi_results[] = {
	KPI_COUNT(requests),
	KPI_COUNT(served),
	KPI_COUNT(cancelled),
	KPI_COUNT(rejected),
	KPI_COUNT(open),
	KPI_COUNT(cancelled_before_assignment),
	KPI_COUNT(cancelled_after_assignment),
	KPI_COUNT(cancelled_no_show),
	KPI_COUNT(cancelled_aborted),
	KPI_VALUE(wait_mean_s, 0),
	KPI_VALUE(wait_p50_s, 0),
	KPI_VALUE(wait_p90_s, 0),
	KPI_VALUE(wait_p95_s, 0),
	KPI_VALUE(wait_max_s, 0),
	KPI_VALUE(in_vehicle_mean_s, 0),
	KPI_VALUE(pickup_eta_mean_s, 0),
	KPI_VALUE(trip_km_mean, 0),
	KPI_VALUE(km_total, 0),
	KPI_VALUE(km_empty, 0),
	KPI_VALUE(empty_km_share, 0),
	KPI_VALUE(vehicle_hours, 0),
	KPI_VALUE(utilisation, 0),
	KPI_VALUE(trips_per_vehicle_day, 0),
};

struct zone_select {
	const struct fs_point *ring;
	size_t n;
};

static bool starts_in_zone(const struct fs_dispatch_request *r, void *ctx)
{
	const struct zone_select *z = ctx;
	return in_ring(z->ring, z->n, r->origin);
}

/*
 * The KPIs of the requests starting in each of the scenario's named zones
 * (where a storm or a surge was put): results zone_NAME_* in summary.json
 * and dispatch_by_scenario_zone.csv.
 */
static int zone_kpis(const struct dispatch_service *s, struct fs_participant *p)
{
	FILE *f = NULL;
	struct fs_outfile out;
	if (s->cfg.out_dir && s->scn.zone_count) {
		f = open_out(s, "dispatch_by_scenario_zone.csv", &out);
		if (!f) {
			return -EIO;
		}
		fputs("zone,lat,lon,", f); /* lat,lon: the zone's polygon's vertex mean */
		put_kpi_header(f);
	}
	int rc = 0;
	for (size_t i = 0; i < s->scn.zone_count && rc == 0; i++) {
		const struct fs_scenario_zone *sz = &s->scn.zones[i];
		struct zone_select z = { s->zone_rings[i], sz->count };
		struct fs_dispatch_kpi k;
		rc = fs_dispatch_kpi_select(s->d, starts_in_zone, &z, &k);
		if (rc < 0) {
			break;
		}
		static const char *const keys[] = { "requests", "served", "cancelled", "wait_mean_s", "wait_p90_s" };
		double values[] = { (double)k.requests, (double)k.served, (double)k.cancelled, k.wait_mean_s, k.wait_p90_s };
		for (size_t j = 0; j < sizeof(values) / sizeof(values[0]); j++) {
			char key[FS_SCN_NAME_MAX + 32];
			snprintf(key, sizeof(key), "zone_%s_%s", sz->name, keys[j]);
			result(p, key, values[j]);
		}
		if (f) {
			struct fs_point c = { 0, 0 };
			for (size_t v = 0; v < sz->count; v++) {
				c.x += s->zone_rings[i][v].x / (double)sz->count;
				c.y += s->zone_rings[i][v].y / (double)sz->count;
			}
			fputs(sz->name, f);
			put_latlon(f, s->world->net, sz->count ? &c : NULL);
			put_kpi_row(f, "", &k);
		}
	}
	if (f && close_out(&out) < 0) {
		rc = -EIO;
	}
	return rc;
}

static int on_end(void *ctx, struct fs_participant *p)
{
	struct dispatch_service *s = ctx;
	uint32_t nz = fs_dispatch_zone_count(s->d);
	struct fs_dispatch_kpi k, by_hour[24];
	struct fs_dispatch_kpi *by_zone = fs_xcalloc(nz ? nz : 1, sizeof(*by_zone));
	fs_dispatch_settle(s->d);
	if (fs_dispatch_kpi(s->d, &k, by_hour, by_zone) < 0) {
		free(by_zone);
		fs_error("out of memory computing the KPIs");
		return -ENOMEM;
	}
	const struct fs_dispatch_counters *c = fs_dispatch_get_counters(s->d);
	for (size_t i = 0; i < KPI_FIELDS(kpi_results); i++) {
		result(p, kpi_results[i].name, kpi_get(&k, &kpi_results[i]));
	}
	uint64_t rejected_by[FS_DISPATCH_REASON_COUNT] = { 0 };
	uint64_t n = fs_dispatch_request_count(s->d);
	for (uint64_t id = 1; id <= n; id++) {
		const struct fs_dispatch_request *r = fs_dispatch_request(s->d, id);
		if (r->status == FS_DISPATCH_REJECTED) {
			rejected_by[r->reason]++;
		}
	}
	for (int reason = FS_DISPATCH_REASON_OUTSIDE_AREA; reason < FS_DISPATCH_REASON_COUNT; reason++) {
		char key[48];
		snprintf(key, sizeof(key), "rejected_%s", fs_dispatch_reason_name(reason));
		result(p, key, (double)rejected_by[reason]);
	}
	result(p, "busy_share", k.vehicle_hours > 0 ? k.busy_hours / k.vehicle_hours : NAN);
	result(p, "offers", (double)c->offers);
	result(p, "declines", (double)c->declines);
	result(p, "offer_timeouts", (double)c->offer_timeouts);
	result(p, "handbacks", (double)c->handbacks);
	result(p, "match_rounds", (double)c->match_rounds);
	result(p, "pickup_eta_corrections", (double)c->pickup_eta_corrections);
	fs_world_add_route_results(s->world, p);
	result(p, "repositions", (double)c->repositions);
	result(p, "charge_jobs", (double)c->charge_jobs);
	result(p, "charge_opportunistic", (double)c->opportunistic_charges);
	result(p, "charge_queue_wait_mean_s", c->charge_jobs ? c->charge_queue_wait_s / (double)c->charge_jobs : 0.0);
	uint32_t plugs = 0;
	for (uint32_t d = 0; d < s->world->depot_count; d++) {
		plugs += s->cfg.plugs[d];
	}
	result(p, "plugs", plugs);
	uint32_t peak = 0;
	for (uint32_t d = 0; d < s->world->depot_count; d++) {
		peak = c->peak_plugs_in_use[d] > peak ? c->peak_plugs_in_use[d] : peak;
	}
	result(p, "plugs_peak_in_use", peak);
	result(p, "demand_per_day", s->demand ? s->cfg.demand_per_day : NAN);
	result(p, "bad_state_records", (double)s->bad_states);
	result(p, "traffic_updates", (double)s->traffic_updates);
	result(p, "traffic_max_fleet_factor", s->traffic_max_factor);
	result(p, "junction_delay_mean_s", s->world->junctions.mean_delay_s);
	result(p, "scenario_events_applied", (double)s->scn_applied);
	result(p, "surge_requests_added", (double)s->surge_added);
	result(p, "surge_requests_dropped", (double)s->surge_dropped);
	result(p, "road_closures_unmatched", (double)fs_closures_unmatched(s->closures));
	int zrc = zone_kpis(s, p);
	if (zrc < 0) {
		fs_error("per-zone KPIs: %s", strerror(-zrc));
	}
	fs_info("requests %" PRIu64 ": served %" PRIu64 ", cancelled %" PRIu64 ", rejected %" PRIu64 ", open %" PRIu64
		"; wait p50 %.0f s, p90 %.0f s, p95 %.0f s; empty km %.1f %%",
		k.requests, k.served, k.cancelled, k.rejected, k.open, k.wait_p50_s, k.wait_p90_s, k.wait_p95_s,
		100.0 * k.empty_km_share);
	int rc = 0;
	if (s->cfg.out_dir && s->started) {
		rc = write_trips(s);
		if (write_groups(s, by_hour, by_zone) < 0 || zrc < 0) {
			rc = -EIO;
		}
	}
	free(by_zone);
	return rc;
}

const struct fs_participant_ops dispatch_service_ops = {
	.on_message = on_message,
	.on_tick = on_tick,
	.state_hash = state_hash,
	.on_end = on_end,
};
