/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_dispatch_loop - platform and fleet in one process (see fs/dispatch_loop.h).
 *
 * Tick n, as in a lockstep run with one vehicle node and the dispatcher:
 *   fleet:    apply the jobs dispatch produced in tick n-1, advance to t_n,
 *             report events and a full state snapshot;
 *   dispatch: take the fleet's reports of tick n-1, the requests of
 *             [t_n, t_n + tick), step at t_n, produce jobs.
 * The job reading mirrors services/vehicle/vehicle_node.c (apply_job).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/dispatch_loop.h"
#include "fs/grow.h"
#include "fs/rng.h"

#define UNLIMITED_PLUGS 65535

struct fs_dispatch_loop {
	struct fs_dispatch_loop_config cfg;
	struct fs_dispatch_params dp;
	struct fs_vehicle_params vp;
	struct fs_dispatch *d;
	struct fs_fleet *fleet;
	uint32_t *service_edges;
	uint32_t service_edge_count;
	int64_t now_ms;
	uint64_t tick;
	size_t replay_next;
	struct fs_dispatch_output out;     /* jobs for the fleet at the next tick */
	struct fs_dispatch_job *jobs;      /* jobs being applied */
	size_t njobs, jobs_cap;
	struct fs_vehicle_events events;   /* the fleet's events of this tick */
	struct fs_vehicle_event *reported; /* ... of the previous tick, for dispatch */
	size_t nreported, reported_cap;
	struct fs_fleet_news *news;        /* what dispatch knows of each vehicle */
	struct fs_vehicle_record *states;  /* the previous tick's news, as fs-vehicle sends them */
	size_t nstates, states_cap;
	int64_t states_ms;
	struct fs_demand_batch batch;
	struct fs_path path, trip;
};

static uint32_t world_hour(int64_t t_ms)
{
	return (uint32_t)(fs_calendar_second_of_day(t_ms) / 3600);
}

static int place_fleet(struct fs_dispatch_loop *l)
{
	const struct fs_dispatch_world *w = l->cfg.world;
	uint32_t depots = w->depot_count;
	uint32_t n = l->cfg.vehicles;
	for (uint32_t id = 0; id < n; id++) {
		struct fs_vehicle_init init = {
			.id = id, .state = FS_VEHICLE_AVAILABLE, .phase = FS_CITY_DRIVERLESS,
			.home_depot = (uint16_t)(id % depots),
		};
		struct fs_rng rng;
		fs_rng_init(&rng, l->cfg.seed, FS_RNG_STREAM_VEHICLE_PLACEMENT, id);
		if (l->cfg.placement) {
			const struct fs_fleet_placement *p = &l->cfg.placement[id];
			init.edge = p->pos.edge;
			init.offset_m = p->pos.offset_m;
			init.soc = isnan(p->soc) ? 0.55 + 0.4 * fs_rng_uniform(&rng) : p->soc;
		} else {
			/* as fs-vehicle: edge, then soc, then offset from the vehicle's own stream */
			init.edge = l->service_edges[fs_rng_below(&rng, l->service_edge_count)];
			init.soc = 0.55 + 0.4 * fs_rng_uniform(&rng);
			init.offset_m = fs_rng_uniform(&rng) * w->net->edges[init.edge].length_m;
		}
		int rc = fs_fleet_add(l->fleet, &init, l->cfg.start_ms);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

struct fs_dispatch_loop *fs_dispatch_loop_create(const struct fs_dispatch_loop_config *cfg, struct fs_error *err)
{
	if (!cfg || !cfg->world || cfg->tick_ms <= 0 || cfg->start_ms < 0 || cfg->plug_kw <= 0 ||
	    (cfg->placement && cfg->vehicles == 0) || cfg->world->depot_count == 0) {
		fs_error_set(err, -EINVAL, "dispatch loop: bad configuration (a depot, times, plug power)");
		return NULL;
	}
	struct fs_dispatch_loop *l = fs_calloc(1, sizeof(*l));
	if (!l) {
		fs_error_set(err, -ENOMEM, "dispatch loop: out of memory");
		return NULL;
	}
	l->cfg = *cfg;
	if (cfg->dispatch) {
		l->dp = *cfg->dispatch;
	} else {
		fs_dispatch_params_defaults(&l->dp);
	}
	if (cfg->vehicle) {
		l->vp = *cfg->vehicle;
	} else {
		fs_vehicle_params_defaults(&l->vp);
	}
	/* riders are drawn from the run's seed, and cars wait for them as the fleet's do */
	l->dp.seed = cfg->seed;
	l->dp.max_wait_s = l->vp.max_wait_s;
	l->cfg.dispatch = &l->dp;
	l->cfg.vehicle = &l->vp;
	const struct fs_dispatch_world *w = cfg->world;
	const struct fs_network *net = w->net;
	l->service_edges = fs_malloc((net->edge_count ? net->edge_count : 1) * sizeof(*l->service_edges));
	if (!l->service_edges) {
		fs_error_set(err, -ENOMEM, "dispatch loop: out of memory");
		goto fail;
	}
	for (uint32_t e = 0; e < net->edge_count; e++) {
		if (w->in_scc[net->edges[e].from] && w->in_scc[net->edges[e].to]) {
			l->service_edges[l->service_edge_count++] = e;
		}
	}
	if (!l->service_edge_count) {
		fs_error_set(err, -EINVAL, "dispatch loop: the network has no service edge");
		goto fail;
	}
	l->d = fs_dispatch_create(w, &l->dp, err);
	if (!l->d) {
		goto fail;
	}
	l->fleet = fs_fleet_create(net, &l->vp, cfg->seed);
	l->news = fs_fleet_news_create();
	if (!l->fleet || !l->news) {
		fs_error_set(err, -ENOMEM, "dispatch loop: cannot create the fleet");
		goto fail;
	}
	for (uint32_t k = 0; k < w->depot_count; k++) {
		if (fs_fleet_add_depot(l->fleet, w->depot_nodes[k], UNLIMITED_PLUGS, cfg->plug_kw) < 0) {
			fs_error_set(err, -EINVAL, "dispatch loop: cannot add depot %u", k);
			goto fail;
		}
	}
	if (place_fleet(l) < 0) {
		fs_error_set(err, -EINVAL, "dispatch loop: cannot place the fleet");
		goto fail;
	}
	l->now_ms = cfg->start_ms;
	return l;
fail:
	fs_dispatch_loop_destroy(l);
	return NULL;
}

void fs_dispatch_loop_destroy(struct fs_dispatch_loop *l)
{
	if (!l) {
		return;
	}
	fs_dispatch_destroy(l->d);
	fs_fleet_destroy(l->fleet);
	fs_fleet_news_destroy(l->news);
	fs_dispatch_output_finish(&l->out);
	fs_vehicle_events_finish(&l->events);
	fs_demand_batch_finish(&l->batch);
	fs_path_finish(&l->path);
	fs_path_finish(&l->trip);
	fs_free(l->service_edges);
	fs_free(l->jobs);
	fs_free(l->reported);
	fs_free(l->states);
	fs_free(l);
}

int64_t fs_dispatch_loop_now(const struct fs_dispatch_loop *l)
{
	return l->now_ms;
}

struct fs_dispatch *fs_dispatch_loop_dispatch(struct fs_dispatch_loop *l)
{
	return l->d;
}

struct fs_fleet *fs_dispatch_loop_fleet(struct fs_dispatch_loop *l)
{
	return l->fleet;
}

/* ---- the fleet side: fs-vehicle's reading of jobs ---------------------------------------- */

/* Route vehicle @id from where it is now to @to. */
static int route_to(struct fs_dispatch_loop *l, uint32_t id, struct fs_road_pos to, struct fs_path *path)
{
	const struct fs_network *net = l->cfg.world->net;
	int idx = fs_fleet_find(l->fleet, id);
	if (idx < 0) {
		return idx;
	}
	const struct fs_vehicle *v = fs_fleet_vehicle(l->fleet, (uint32_t)idx);
	uint32_t edge = FS_NO_EDGE;
	double off = 0.0, t;
	if (fs_vehicle_position(v, net, l->now_ms, NULL, NULL, &edge, &off) < 0) {
		return -ENOENT;
	}
	struct fs_road_pos from = { edge, off };
	path->count = 0;
	return fs_route_positions(l->cfg.world->query, world_hour(l->now_ms), from, to, &t, path);
}

/* Route vehicle @id to the end of edge @target_edge. */
static int route_from_vehicle(struct fs_dispatch_loop *l, uint32_t id, uint32_t target_edge, struct fs_path *path)
{
	struct fs_road_pos to = { target_edge, l->cfg.world->net->edges[target_edge].length_m };
	return route_to(l, id, to, path);
}

/* How far before the end of its edge @p lies. */
static double short_of_end(const struct fs_network *net, struct fs_road_pos p)
{
	return fmax(0.0, net->edges[p.edge].length_m - p.offset_m);
}

static int send_to_depot(struct fs_dispatch_loop *l, uint32_t id, uint32_t depot, int purpose)
{
	const struct fs_dispatch_world *w = l->cfg.world;
	const struct fs_network *net = w->net;
	int idx = fs_fleet_find(l->fleet, id);
	if (idx < 0) {
		return idx;
	}
	const struct fs_vehicle *v = fs_fleet_vehicle(l->fleet, (uint32_t)idx);
	l->path.count = 0;
	if (!((v->flags & FS_VF_AT_DEPOT) && v->depot == depot)) {
		uint32_t node = w->depot_nodes[depot];
		int rc = route_from_vehicle(l, id, net->in_edges[net->in_first[node]], &l->path);
		if (rc < 0) {
			return rc;
		}
	}
	return fs_fleet_send_to_depot(l->fleet, id, (uint16_t)depot, purpose, l->path.edges, l->path.count,
				      l->now_ms, &l->events);
}

static void apply_job(struct fs_dispatch_loop *l, const struct fs_dispatch_job *j)
{
	const struct fs_network *net = l->cfg.world->net;
	const struct fs_dispatch_stop *s = &j->stops[0];
	int rc = -EINVAL;
	if (j->stop_count == 0) {
		fs_fleet_drop_job(l->fleet, j->vehicle_id, j->job_id, l->now_ms, &l->events); /* the rider gave up */
		return;
	}
	switch (s->kind) {
	case FS_DISPATCH_STOP_PICKUP: {
		struct fs_road_pos pick = { s->edge, s->offset_m }, drop = { j->stops[1].edge, j->stops[1].offset_m };
		rc = route_to(l, j->vehicle_id, pick, &l->path);
		if (rc < 0) {
			break;
		}
		double t;
		l->trip.count = 0;
		rc = fs_route_positions(l->cfg.world->query, world_hour(l->now_ms), pick, drop, &t, &l->trip);
		if (rc < 0) {
			break;
		}
		struct fs_rider rider;
		fs_rider_draw(&l->dp.riders, l->cfg.seed, s->request_id, &rider);
		struct fs_job job = { .id = j->job_id, .to_pickup = l->path.edges, .to_pickup_len = l->path.count,
				      .trip = l->trip.edges, .trip_len = l->trip.count,
				      .pickup_short_m = short_of_end(net, pick), .dropoff_short_m = short_of_end(net, drop) };
		fs_rider_dwells(&rider, l->vp.max_wait_s, &job.board_dwell_s, &job.alight_dwell_s);
		rc = fs_fleet_assign(l->fleet, j->vehicle_id, &job, l->now_ms, &l->events);
		break;
	}
	case FS_DISPATCH_STOP_REPOSITION:
		rc = route_from_vehicle(l, j->vehicle_id, s->edge, &l->path);
		if (rc == 0) {
			rc = fs_fleet_reposition(l->fleet, j->vehicle_id, l->path.edges, l->path.count, l->now_ms,
						 &l->events);
		}
		break;
	case FS_DISPATCH_STOP_CHARGE:
		rc = send_to_depot(l, j->vehicle_id, s->depot, FS_DEPOT_CHARGE);
		break;
	case FS_DISPATCH_STOP_DEPOT:
		rc = send_to_depot(l, j->vehicle_id, s->depot, FS_DEPOT_MAINTENANCE);
		break;
	default:
		break;
	}
	if (rc < 0 && rc != -EPERM) {
		struct fs_vehicle_event e = { .time_ms = l->now_ms, .job_id = j->job_id, .vehicle_id = j->vehicle_id,
					      .kind = FS_VEV_JOB_DECLINED, .reason = "no route or malformed job" };
		fs_vehicle_events_push(&l->events, &e);
	}
}

static int fleet_tick(struct fs_dispatch_loop *l)
{
	fs_vehicle_events_clear(&l->events);
	int hour = fs_calendar_second_of_day(fs_timezone_local_ms(l->cfg.world->tz, l->now_ms)) / 3600;
	struct fs_conditions cond = { .travel_time_factor = 1.0, .rain = FS_RAIN_NONE, .night = hour < 6 || hour >= 21 };
	if (fs_fleet_set_conditions(l->fleet, &cond, l->now_ms, &l->events) < 0) {
		return -EINVAL;
	}
	for (size_t i = 0; i < l->njobs; i++) {
		apply_job(l, &l->jobs[i]);
	}
	l->njobs = 0;
	if (fs_fleet_advance(l->fleet, l->now_ms, &l->events) < 0) {
		return -EINVAL;
	}
	/* what dispatch will read at the next tick */
	if (FS_GROW(l->reported, l->reported_cap, l->events.count) < 0) {
		return -ENOMEM;
	}
	if (l->events.count) {
		memcpy(l->reported, l->events.items, l->events.count * sizeof(*l->reported));
	}
	l->nreported = l->events.count;
	const struct fs_vehicle_record *news;
	long n = fs_fleet_news_take(l->news, l->fleet, l->cfg.world->net, l->now_ms, &news);
	if (n < 0 || FS_GROW(l->states, l->states_cap, (size_t)n) < 0) {
		return -ENOMEM;
	}
	for (long i = 0; i < n; i++) {
		l->states[i] = news[i];
		/* through the wire's precision */
		l->states[i].odometer_m = (double)llround(news[i].odometer_m * 10.0) / 10.0;
	}
	l->nstates = (size_t)n;
	l->states_ms = l->now_ms;
	return 0;
}

int fs_dispatch_loop_tick(struct fs_dispatch_loop *l, struct fs_dispatch_step_stats *stats)
{
	/* dispatch reads what the fleet reported in the previous tick ... */
	struct fs_vehicle_event *events = NULL;
	size_t nevents = 0;
	int rc = 0;
	if (l->tick > 0) {
		fs_dispatch_set_fleet_time(l->d, l->states_ms);
		for (size_t i = 0; i < l->nstates; i++) {
			if ((rc = fs_dispatch_update_vehicle(l->d, &l->states[i])) < 0) {
				return rc;
			}
		}
		events = l->reported;
		nevents = l->nreported;
		if ((rc = fs_dispatch_add_events(l->d, events, nevents)) < 0) {
			return rc;
		}
	}
	/* ... while the fleet applies the jobs dispatch produced then */
	if (FS_GROW(l->jobs, l->jobs_cap, l->out.job_count) < 0) {
		return -ENOMEM;
	}
	if (l->out.job_count) {
		memcpy(l->jobs, l->out.jobs, l->out.job_count * sizeof(*l->jobs));
	}
	l->njobs = l->out.job_count;
	fs_dispatch_output_clear(&l->out);
	if ((rc = fleet_tick(l)) < 0) {
		return rc;
	}
	/* requests of [now, now + tick) */
	int64_t t1 = l->now_ms + l->cfg.tick_ms;
	l->batch.count = 0;
	if (l->cfg.demand && fs_demand_generate(l->cfg.demand, l->now_ms, t1, &l->batch) < 0) {
		return -ENOMEM;
	}
	const struct fs_demand_batch *src = l->cfg.demand ? &l->batch : l->cfg.replay;
	size_t from = l->cfg.demand ? 0 : l->replay_next;
	for (size_t i = from; src && i < src->count && src->items[i].t_ms < t1; i++) {
		const struct fs_demand_request *q = &src->items[i];
		if (q->t_ms < l->now_ms) {
			continue; /* replayed before the start */
		}
		struct fs_dispatch_request_in in = { .demand_id = q->id, .t_ms = q->t_ms, .origin = q->origin,
						     .dest = q->dest };
		int64_t id = fs_dispatch_add_request(l->d, &in);
		if (id < 0) {
			return (int)id;
		}
		if (!l->cfg.demand) {
			l->replay_next = i + 1;
		}
	}
	if (!l->cfg.demand && src) {
		while (l->replay_next < src->count && src->items[l->replay_next].t_ms < t1) {
			l->replay_next++;
		}
	}
	if ((rc = fs_dispatch_step(l->d, l->now_ms, &l->out, stats)) < 0) {
		return rc;
	}
	l->now_ms = t1;
	l->tick++;
	return 0;
}
