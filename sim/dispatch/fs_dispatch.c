/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_dispatch - the ride platform's core: requests and their lifecycle, the
 * platform's view of the vehicles, vehicle events, the step, the state hash.
 * Matching is in fs_dispatch_match.c, charging and rebalancing in
 * fs_dispatch_fleetops.c, KPIs in fs_dispatch_kpi.c, what they all use in
 * fs_dispatch_common.c. See fs/dispatch.h.
 *
 * Stops: a rider's point is snapped to the nearest point of the nearest
 * service edge, and the car stops right there (fs-vehicle stops a vehicle
 * at a stop's offset along its edge), on the side of the street, that edge
 * or the one the other way, from which the trip is fastest: the car pulls
 * over on the side it drives on and the rider crosses to it. A rider at a
 * junction is picked up at the start of the edge the trip leaves by, and set
 * down at the end of the edge it arrives by.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/grow.h"
#include "fs/weather.h"
#include "fs_dispatch_internal.h"

static const char *const status_names[FS_DISPATCH_STATUS_COUNT] = {
	"requested", "offered", "assigned", "picked_up", "dropped_off", "cancelled", "rejected",
};

static const char *const reason_names[FS_DISPATCH_REASON_COUNT] = {
	"", "before_assignment", "after_assignment", "no_show", "aborted", "outside_area", "no_route", "odd",
	"energy", "no_fleet",
};

const char *fs_dispatch_status_name(int status)
{
	return status >= 0 && status < FS_DISPATCH_STATUS_COUNT ? status_names[status] : "?";
}

const char *fs_dispatch_reason_name(int reason)
{
	return reason >= 0 && reason < FS_DISPATCH_REASON_COUNT ? reason_names[reason] : "?";
}

static bool is_final(int status)
{
	return status >= FS_DISPATCH_DROPPED_OFF;
}

/* Room in the arrays kept beside the requests (by id - 1) for @need requests. */
static int grow_request_sides(struct fs_dispatch *d, size_t need)
{
	if (need <= d->req_side_cap) {
		return 0;
	}
	size_t cap = d->req_side_cap, cap2 = d->req_side_cap, cap3 = d->req_side_cap;
	if (FS_GROW(d->req_term, cap, need) < 0 ||
	    FS_GROW(d->req_mark, cap2, need) < 0 ||
	    FS_GROW(d->changed, cap3, need) < 0) {
		return -ENOMEM;
	}
	d->req_side_cap = cap; /* (the three grow alike: each has at least cap) */
	return 0;
}

/* ---- output ----------------------------------------------------------------------------- */

void fs_dispatch_output_clear(struct fs_dispatch_output *out)
{
	out->job_count = out->event_count = out->offer_count = out->new_count = 0;
}

void fs_dispatch_output_finish(struct fs_dispatch_output *out)
{
	fs_free(out->jobs);
	fs_free(out->events);
	fs_free(out->offers);
	fs_free(out->new_requests);
	memset(out, 0, sizeof(*out));
}




/* ---- small rules -------------------------------------------------------------------------- */









void fs_dispatch_set_weather(struct fs_dispatch *d, const struct fs_weather *weather)
{
	d->weather = weather;
	d->roads_version++;
}

/*
 * What placing and planning a rider's trip routes with: the main thread's
 * workspaces (main_planner()) or a worker's, when a tick's new requests are
 * planned in parallel (fs_dispatch_add_requests()). @closed is read once, before:
 * plan_trip() lifts its workspace's closures for a moment.
 */
struct trip_planner {
	struct fs_route_query *query;         /* the full hierarchy, avoiding @closed */
	struct fs_route_query *surface_query; /* routes without motorways; may be NULL */
	struct fs_path *path;                 /* the last trip planned */
	const uint8_t *closed;                /* edges closed now, or NULL */
};

static struct trip_planner main_planner(struct fs_dispatch *d)
{
	return (struct trip_planner){ d->w.query, d->w.surface_query, &d->path, fs_route_query_avoided(d->w.query) };
}

/*
 * Plan @r's trip into pl->path as fs-vehicle will drive it now: around closed
 * roads and storm cells. When there is no way around (a stop inside a storm
 * cell, a street cut off), the plain fastest route, with the trip marked
 * blocked until the roads change.
 */
static int plan_trip(const struct fs_dispatch *d, const struct trip_planner *pl, struct fs_dispatch_request *r,
		     double *ret_time_s)
{
	struct fs_route_query *q = pl->query;
	uint32_t hour = dispatch_hour(d, r->t_request_ms);
	struct fs_road_pos from = dispatch_pickup(r), to = dispatch_dropoff(r);
	pl->path->count = 0;
	r->trip_blocked = false;
	int rc = fs_route_positions(q, hour, from, to, ret_time_s, pl->path);
	const uint8_t *avoid = pl->closed;
	if (rc == -ENOENT && avoid) {
		fs_route_query_avoid(q, NULL);
		pl->path->count = 0;
		rc = fs_route_positions(q, hour, from, to, ret_time_s, pl->path);
		fs_route_query_avoid(q, avoid);
		r->trip_blocked = rc == 0;
	}
	if (rc == -ENOMEM) {
		return rc; /* still planned for the roads of before: tried again */
	}
	/* the router lets a route start and end on a closed edge; a car would refuse to */
	r->trip_blocked |= rc == 0 && avoid && (avoid[from.edge] || avoid[to.edge]);
	r->trip_rain = 0;
	for (uint32_t k = 0; rc == 0 && d->weather && k < pl->path->count; k++) {
		uint8_t rain = fs_weather_zone_rain(d->weather, pl->path->edges[k]);
		r->trip_rain = rain > r->trip_rain ? rain : r->trip_rain;
	}
	r->uses_motorway = rc == 0 && dispatch_path_uses_motorway(d->w.net, pl->path);
	/* a vehicle whose ODD excludes motorways drives it on surface roads, if there are any */
	double t;
	int surface_rc = !r->uses_motorway || !pl->surface_query ? 0 :
			 fs_route_positions(pl->surface_query, hour, from, to, &t, NULL);
	if (surface_rc == -ENOMEM) {
		return surface_rc;
	}
	r->surface_ok = rc == 0 && (!r->uses_motorway || (pl->surface_query && surface_rc == 0));
	r->trip_plan_version = d->roads_version;
	return rc;
}

void fs_dispatch_set_service_area(struct fs_dispatch *d, const uint8_t *node_in_area)
{
	d->node_in_area = node_in_area;
}

static int snap_place(const struct fs_dispatch *d, struct fs_point p, struct fs_road_pos *ret);
static bool place_stops(const struct fs_dispatch *d, const struct trip_planner *pl, struct fs_dispatch_request *r,
			struct fs_road_pos pick, struct fs_road_pos drop);

/*
 * When the roads changed (weather, closures), plan the open requests' trips
 * again: fs-vehicle refuses a ride whose route crosses a storm or a closed
 * road, so offering one it cannot drive around would only earn a decline.
 */
static int replan_open_trips(struct fs_dispatch *d)
{
	if (d->planned_version == d->roads_version) {
		return 0;
	}
	struct trip_planner pl = main_planner(d);
	const uint8_t *closed = pl.closed;
	for (size_t i = 0; i < d->nopen; i++) {
		struct fs_dispatch_request *r = dispatch_req(d, d->open[i]);
		double t;
		/* assigned ones too: a ride handed back is offered again on today's roads */
		if (r->trip_plan_version != d->roads_version && !r->reason && r->pickup_edge != FS_DISPATCH_NONE) {
			/* a rider still waiting whose street closed walks to where cars may stop */
			if (closed && r->status == FS_DISPATCH_REQUESTED && (closed[r->pickup_edge] || closed[r->dropoff_edge])) {
				struct fs_road_pos pick, drop;
				if (snap_place(d, r->origin, &pick) == 0 && snap_place(d, r->dest, &drop) == 0) {
					dispatch_request_changed(d, r);
					place_stops(d, &pl, r, pick, drop);
				}
			}
			if (plan_trip(d, &pl, r, &t) == -ENOMEM) {
				return -ENOMEM; /* the next step goes on from this request */
			}
		}
	}
	d->planned_version = d->roads_version;
	return 0;
}









struct fs_road_pos dispatch_dropoff(const struct fs_dispatch_request *r)
{
	return (struct fs_road_pos){ r->dropoff_edge, r->dropoff_offset_m };
}

uint32_t dispatch_nearer_node(const struct fs_network *net, struct fs_road_pos p)
{
	const struct fs_edge *e = &net->edges[p.edge];
	return p.offset_m < 0.5 * e->length_m ? e->from : e->to;
}


static bool service_node(const struct fs_dispatch *d, uint32_t node)
{
	return d->w.in_scc[node] != 0;
}

/* The lowest-id edge into @node from a service node (the vehicle then stops at @node). */
uint32_t dispatch_edge_into(const struct fs_dispatch *d, uint32_t node)
{
	const struct fs_network *net = d->w.net;
	uint32_t best = FS_DISPATCH_NONE;
	for (uint32_t k = net->in_first[node]; k < net->in_first[node + 1]; k++) {
		uint32_t e = net->in_edges[k];
		if (service_node(d, net->edges[e].from) && e < best) {
			best = e;
		}
	}
	return best;
}

uint32_t dispatch_edge_from(const struct fs_dispatch *d, uint32_t node)
{
	const struct fs_network *net = d->w.net;
	for (uint32_t e = net->out_first[node]; e < net->out_first[node + 1]; e++) {
		if (service_node(d, net->edges[e].to)) {
			return e; /* out edges are sorted by id: the lowest */
		}
	}
	return FS_DISPATCH_NONE;
}

/* ---- create / destroy --------------------------------------------------------------------- */

static bool params_ok(const struct fs_dispatch_params *p)
{
	return (p->matcher == FS_DISPATCH_MATCH_BATCH || p->matcher == FS_DISPATCH_MATCH_GREEDY) &&
	       p->batch_s > 0 && isfinite(p->batch_s) && p->patience_s > 0 && p->candidates >= 1 &&
	       p->max_pickup_eta_s > 0 && p->offer_timeout_s > 0 && p->decline_cooldown_s >= 0 &&
	       p->max_snap_m > 0 && fs_rider_params_valid(&p->riders) && p->max_wait_s >= 0 &&
	       p->max_wait_s <= 86400 && p->energy_speed_mps > 0 &&
	       p->night_start_h >= 0 && p->night_start_h <= 24 && p->night_end_h >= 0 && p->night_end_h <= 24 &&
	       p->charge_soc >= 0 && p->charge_soc < 1 && p->opportunistic_soc >= 0 && p->opportunistic_soc <= 1 &&
	       p->offpeak_share >= 0 && p->charge_speed_mps > 0 && p->rebalance_s >= 0 && p->cell_m > 0 &&
	       p->horizon_s > 0 && p->min_idle_s >= 0 && p->max_reposition_m > 0 && p->max_move_share >= 0 &&
	       p->max_move_share <= 1 && p->battery_kwh > 0 && p->kwh_per_km >= 0 && p->av_stack_kw >= 0 &&
	       p->job_reserve_soc >= 0 && p->job_reserve_soc < 1 && p->charge_target_soc > p->job_reserve_soc &&
	       p->max_rain <= FS_RAIN_STORM &&
	       p->charge_target_soc <= 1;
}

static int init_zones(struct fs_dispatch *d, struct fs_error *err)
{
	const struct fs_network *net = d->w.net;
	double w = fmax(net->max_x - net->min_x, 1.0), h = fmax(net->max_y - net->min_y, 1.0);
	double cols = ceil(w / d->p.cell_m), rows = ceil(h / d->p.cell_m);
	if (cols * rows > 4.0e6) {
		return fs_error_set(err, -EINVAL, "dispatch: cell_m %g m makes %.0f zones (at most 4,000,000)",
				    d->p.cell_m, cols * rows);
	}
	d->zone_cols = (uint32_t)cols;
	d->zone_rows = (uint32_t)rows;
	uint32_t n = d->zone_cols * d->zone_rows;
	d->zones = fs_calloc(n, sizeof(*d->zones));
	double *best = fs_malloc(n * sizeof(*best));
	if (!d->zones || !best) {
		fs_free(best);
		return fs_error_set(err, -ENOMEM, "dispatch: out of memory");
	}
	for (uint32_t z = 0; z < n; z++) {
		d->zones[z].node = FS_DISPATCH_NONE;
		d->zones[z].stop_edge = FS_DISPATCH_NONE;
		best[z] = INFINITY;
	}
	/* representative node: the service node nearest the cell centre */
	for (uint32_t v = 0; v < net->node_count; v++) {
		if (!service_node(d, v)) {
			continue;
		}
		struct fs_point pt = { net->nodes[v].x, net->nodes[v].y };
		uint32_t z = fs_dispatch_zone_of(d, pt);
		double cx = net->min_x + ((double)(z % d->zone_cols) + 0.5) * d->p.cell_m;
		double cy = net->min_y + ((double)(z / d->zone_cols) + 0.5) * d->p.cell_m;
		double dd = (pt.x - cx) * (pt.x - cx) + (pt.y - cy) * (pt.y - cy);
		if (dd < best[z] && dispatch_edge_into(d, v) != FS_DISPATCH_NONE) {
			best[z] = dd;
			d->zones[z].node = v;
		}
	}
	fs_free(best);
	for (uint32_t z = 0; z < n; z++) {
		if (d->zones[z].node != FS_DISPATCH_NONE) {
			d->zones[z].stop_edge = dispatch_edge_into(d, d->zones[z].node);
		}
	}
	/* prior: where the expected requests start */
	double total = 0.0;
	for (size_t i = 0; d->w.places && i < d->w.place_count; i++) {
		double wt = d->w.places[i].weight;
		if (!(wt > 0.0) || !isfinite(wt)) {
			continue;
		}
		struct fs_point pt = { d->w.places[i].x, d->w.places[i].y };
		d->zones[fs_dispatch_zone_of(d, pt)].prior += wt;
		total += wt;
	}
	for (uint32_t z = 0; z < n && total > 0.0; z++) {
		d->zones[z].prior /= total;
	}
	return 0;
}

struct fs_dispatch *fs_dispatch_create(const struct fs_dispatch_world *world,
				       const struct fs_dispatch_params *params, struct fs_error *err)
{
	if (!world || !world->net || !world->query || !world->index || !world->in_scc ||
	    world->depot_count > FS_DISPATCH_MAX_DEPOTS || (world->depot_count && (!world->depot_nodes || !world->depot_plugs)) ||
	    (world->place_count && !world->places) || !(world->trips_per_day >= 0.0) ||
	    (world->parallel_for && (world->worker_count > FS_DISPATCH_MAX_WORKERS ||
				     (world->worker_count > 1 && !world->worker_queries) ||
				     (world->worker_count > 1 && world->surface_query && !world->worker_surface_queries)))) {
		fs_error_set(err, -EINVAL, "dispatch: bad world (network, router, index, SCC mask, depots, places, workers)");
		return NULL;
	}
	struct fs_dispatch *d = fs_calloc(1, sizeof(*d));
	if (!d) {
		fs_error_set(err, -ENOMEM, "dispatch: out of memory");
		return NULL;
	}
	d->w = *world;
	if (params) {
		d->p = *params;
	} else {
		fs_dispatch_params_defaults(&d->p);
	}
	if (!params_ok(&d->p)) {
		fs_error_set(err, -EINVAL, "dispatch: bad parameters (periods and times > 0, shares in [0, 1], "
					   "charge_target_soc > job_reserve_soc, night hours 0..24)");
		goto fail;
	}
	const struct fs_network *net = d->w.net;
	for (uint32_t k = 0; k < world->depot_count; k++) {
		uint32_t node = world->depot_nodes[k];
		if (node >= net->node_count || !service_node(d, node) ||
		    (d->depot_stop_edge[k] = dispatch_edge_into(d, node)) == FS_DISPATCH_NONE) {
			fs_error_set(err, -EINVAL, "dispatch: depot %u is not at a service node", k);
			goto fail;
		}
		d->plugs[k] = world->depot_plugs[k];
	}
	if (init_zones(d, err) < 0) {
		goto fail;
	}
	double area = fmax(net->max_x - net->min_x, 1.0) * fmax(net->max_y - net->min_y, 1.0);
	double cell = fmin(fmax(sqrt(area / 2000.0), 100.0), 500.0); /* about the spacing of idle vehicles */
	d->pool = fs_spatial_create(net->min_x, net->min_y, net->max_x, net->max_y, cell);
	if (!d->pool) {
		fs_error_set(err, -ENOMEM, "dispatch: out of memory");
		goto fail;
	}
	d->first_ms = INT64_MIN;
	d->now_ms = INT64_MIN;
	d->fleet_ms = INT64_MIN;
	d->next_settle_ms = INT64_MIN;
	d->observed_ms = INT64_MIN;
	return d;
fail:
	fs_dispatch_destroy(d);
	return NULL;
}

void fs_dispatch_destroy(struct fs_dispatch *d)
{
	if (!d) {
		return;
	}
	fs_spatial_destroy(d->pool);
	fs_path_finish(&d->path);
	fs_free(d->req);
	fs_free(d->open);
	fs_free(d->fresh);
	fs_free(d->req_term);
	fs_free(d->req_mark);
	fs_free(d->changed);
	fs_free(d->veh);
	fs_free(d->jobs);
	fs_free(d->ev);
	fs_free(d->queue);
	fs_free(d->zones);
	dispatch_index_free(d);
	fs_free(d);
}

const struct fs_dispatch_params *fs_dispatch_get_params(const struct fs_dispatch *d)
{
	return &d->p;
}

/* ---- zones -------------------------------------------------------------------------------- */



/* ---- jobs and claims ---------------------------------------------------------------------- */


static const struct jrec *job_of(const struct fs_dispatch *d, uint64_t job_id)
{
	return job_id >= 1 && job_id <= d->njobs ? &d->jobs[job_id - 1] : NULL;
}



/* ---- requests ----------------------------------------------------------------------------- */


uint64_t fs_dispatch_request_count(const struct fs_dispatch *d)
{
	return d->nreq;
}

const struct fs_dispatch_request *fs_dispatch_request(const struct fs_dispatch *d, uint64_t id)
{
	return id >= 1 && id <= d->nreq ? &d->req[id - 1] : NULL;
}

/* A rider's point as a place on the road: the nearest point of the nearest service edge. */
static int snap_place(const struct fs_dispatch *d, struct fs_point p, struct fs_road_pos *ret)
{
	uint32_t e;
	double off, dist;
	if (fs_network_snap(d->w.net, d->w.index, p.x, p.y, &e, &off, &dist) < 0 || dist > d->p.max_snap_m) {
		return -ENOENT;
	}
	*ret = (struct fs_road_pos){ e, off };
	return 0;
}

#define AT_JUNCTION_M 0.5 /* a rider this close to an end of an edge stands at the junction */
#define MAX_SIDES 16

/* Is @e a place riders may be picked up or set down, like the snapped @like? (Open, no motorway unless @like is one.) */
static bool stop_edge_ok(const struct fs_dispatch *d, const uint8_t *closed, uint32_t e, uint32_t like)
{
	const struct fs_network *net = d->w.net;
	return service_node(d, net->edges[e].from) && service_node(d, net->edges[e].to) && !(closed && closed[e]) &&
	       (!fs_road_is_motorway(net->edges[e].road_class) || fs_road_is_motorway(net->edges[like].road_class));
}

/* The starts of the edges out of @v (@pickup) or the ends of those into it, where a car may stop. */
static int junction_sides(const struct fs_dispatch *d, const uint8_t *closed, uint32_t v, uint32_t like, bool pickup,
			  struct fs_road_pos *ret)
{
	const struct fs_network *net = d->w.net;
	uint32_t first = pickup ? net->out_first[v] : net->in_first[v];
	uint32_t last = pickup ? net->out_first[v + 1] : net->in_first[v + 1];
	int n = 0;
	for (uint32_t k = first; k < last && n < MAX_SIDES; k++) {
		uint32_t x = pickup ? k : net->in_edges[k];
		if (stop_edge_ok(d, closed, x, like)) {
			ret[n++] = (struct fs_road_pos){ x, pickup ? 0.0 : net->edges[x].length_m };
		}
	}
	return n;
}

/*
 * Where a car may stop for a rider snapped to @p, into @ret (MAX_SIDES): that
 * point and the same point of the edge the other way (the other side of the
 * street); for a rider at a junction, the start of every edge out of it
 * (@pickup: the car stops there and drives on along it) or the end of every
 * edge into it (drop-off). A closed street's riders walk to its nearer
 * junction. Returns how many (at least 1: @p itself when nothing near is
 * open, a rider in a storm cell, who waits).
 */
static int stop_sides(const struct fs_dispatch *d, const uint8_t *closed, struct fs_road_pos p, bool pickup,
		      struct fs_road_pos *ret)
{
	const struct fs_network *net = d->w.net;
	const struct fs_edge *e = &net->edges[p.edge];
	bool at_from = p.offset_m <= AT_JUNCTION_M, at_to = p.offset_m >= e->length_m - AT_JUNCTION_M;
	int n = at_from || at_to ? junction_sides(d, closed, at_from ? e->from : e->to, p.edge, pickup, ret) : 0;
	if (!n && stop_edge_ok(d, closed, p.edge, p.edge)) {
		ret[n++] = p;
	}
	uint32_t r = fs_network_reverse_edge(net, p.edge);
	if (!at_from && !at_to && r != UINT32_MAX && stop_edge_ok(d, closed, r, p.edge)) {
		ret[n++] = (struct fs_road_pos){ r, fmax(0.0, net->edges[r].length_m - p.offset_m) };
	}
	if (!n && !at_from && !at_to) { /* the street is closed here: to its nearer junction */
		n = junction_sides(d, closed, p.offset_m < 0.5 * e->length_m ? e->from : e->to, p.edge, pickup, ret);
	}
	if (!n) {
		ret[n++] = p;
	}
	return n;
}

/* A pair of places and the lower bound of its trip: the order choose_sides() routes them in. */
struct side_pair {
	double bound_s;
	uint16_t index; /* i * nq + j */
};

static int compare_side_pairs(const void *a, const void *b)
{
	const struct side_pair *x = a, *y = b;
	if (x->bound_s != y->bound_s) {
		return x->bound_s < y->bound_s ? -1 : 1;
	}
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * Where the trip starts and ends: of the places stop_sides() offers, the pair
 * with the fastest trip (ties: the first). The car pulls over on the side it
 * drives on and the rider crosses the street to it. Both stay as snapped
 * when no pair has a route.
 *
 * A rider at a junction has a place on every street out of it, so the pairs
 * can number dozens; each trip is routed exactly only while its lower bound
 * (the hierarchy's one-to-many times, fs/route.h: turns, closures and storms
 * can only add time) could still beat or tie the best trip routed so far. The
 * choice is the one routing every pair would make.
 */
#define SIDE_BOUND_SLACK_S 1e-6 /* rounding between the bound's sum and the route's */

static void choose_sides(const struct fs_dispatch *d, const struct trip_planner *pl, int64_t t_ms,
			 struct fs_road_pos *pick, struct fs_road_pos *drop)
{
	struct fs_road_pos p[MAX_SIDES], q[MAX_SIDES];
	int np = stop_sides(d, pl->closed, *pick, true, p), nq = stop_sides(d, pl->closed, *drop, false, q);
	uint32_t hour = dispatch_hour(d, t_ms);
	struct side_pair pairs[MAX_SIDES * MAX_SIDES];
	double bound[MAX_SIDES];
	int n = 0;
	for (int i = 0; i < np; i++) {
		bool bounded = np * nq > 1 && fs_route_one_to_many(pl->query, hour, p[i], q, (uint32_t)nq, bound) == 0;
		for (int j = 0; j < nq; j++) {
			pairs[n++] = (struct side_pair){ bounded ? bound[j] : 0.0, (uint16_t)(i * nq + j) };
		}
	}
	qsort(pairs, (size_t)n, sizeof(*pairs), compare_side_pairs);
	double best = INFINITY;
	int best_index = -1;
	for (int k = 0; k < n && !(pairs[k].bound_s > best + SIDE_BOUND_SLACK_S); k++) {
		int i = pairs[k].index / nq, j = pairs[k].index % nq;
		double t;
		if (fs_route_positions(pl->query, hour, p[i], q[j], &t, NULL) == 0 &&
		    (t < best || (t == best && pairs[k].index < best_index))) {
			best = t;
			best_index = pairs[k].index;
		}
	}
	if (best_index >= 0) {
		*pick = p[best_index / nq];
		*drop = q[best_index % nq];
	}
}

/* Metres along @path from @a metres along its first edge to @b along its last. */
static double path_metres(const struct fs_network *net, const struct fs_path *path, double a, double b)
{
	if (path->count == 1) {
		return fmax(0.0, b - a);
	}
	double m = fmax(0.0, net->edges[path->edges[0]].length_m - a) + b;
	for (uint32_t i = 1; i + 1 < path->count; i++) {
		m += net->edges[path->edges[i]].length_m;
	}
	return m;
}

/* Place the rider's pickup and drop-off; false when they are the same place. */
static bool place_stops(const struct fs_dispatch *d, const struct trip_planner *pl, struct fs_dispatch_request *r,
			struct fs_road_pos pick, struct fs_road_pos drop)
{
	choose_sides(d, pl, r->t_request_ms, &pick, &drop);
	r->pickup_edge = pick.edge;
	r->pickup_offset_m = (float)pick.offset_m;
	r->dropoff_edge = drop.edge;
	r->dropoff_offset_m = (float)drop.offset_m;
	struct fs_point a, b;
	fs_network_edge_point_at(d->w.net, pick.edge, pick.offset_m, &a);
	fs_network_edge_point_at(d->w.net, drop.edge, drop.offset_m, &b);
	return hypot(b.x - a.x, b.y - a.y) >= 1.0;
}

static uint32_t float_bits(float x)
{
	uint32_t u;
	memcpy(&u, &x, sizeof(u));
	return u;
}

static uint64_t request_hash(const struct fs_dispatch_request *r)
{
	uint64_t f[15] = {
		r->id, r->demand_id, r->job_id, (uint64_t)r->t_request_ms, (uint64_t)r->t_offer_ms,
		(uint64_t)r->t_assign_ms, (uint64_t)r->t_arrive_ms, (uint64_t)r->t_pickup_ms, (uint64_t)r->t_dropoff_ms,
		(uint64_t)r->t_end_ms, r->vehicle_id, r->offers,
		(uint64_t)r->status | (uint64_t)r->reason << 8 | (uint64_t)r->admitted << 16,
		(uint64_t)r->pickup_edge << 32 | r->dropoff_edge,
		(uint64_t)float_bits(r->pickup_offset_m) << 32 | float_bits(r->dropoff_offset_m),
	};
	return XXH3_64bits(f, sizeof(f));
}

static bool request_in_ok(const struct fs_dispatch *d, const struct fs_dispatch_request_in *in, int64_t after_ms)
{
	return in && in->t_ms >= 0 && isfinite(in->origin.x) && isfinite(in->origin.y) && isfinite(in->dest.x) &&
	       isfinite(in->dest.y) && in->t_ms >= after_ms;
}

/* Room for @n more requests. */
static int grow_requests(struct fs_dispatch *d, size_t n)
{
	size_t cap = d->req_cap;
	if (FS_GROW(d->req, cap, d->nreq + n) < 0 ||
	    FS_GROW(d->open, d->open_cap, d->nopen + n) < 0 ||
	    FS_GROW(d->fresh, d->fresh_cap, d->nfresh + n) < 0 ||
	    grow_request_sides(d, d->nreq + n) < 0) {
		return -ENOMEM;
	}
	d->req_cap = cap;
	return 0;
}

/*
 * Request @id as it arrives, its trip planned as fs-vehicle will drive it: the
 * fastest route between the two stops. Reads @d only, so the requests of a tick
 * can be planned on several workers.
 */
static int plan_request(const struct fs_dispatch *d, const struct trip_planner *pl,
			const struct fs_dispatch_request_in *in, uint64_t id, struct fs_dispatch_request *r)
{
	struct fs_rider rider;
	fs_rider_draw(&d->p.riders, d->p.seed, id, &rider);
	*r = (struct fs_dispatch_request){
		.id = id,
		.demand_id = in->demand_id,
		.t_request_ms = in->t_ms,
		.t_offer_ms = NO_TIME, .t_assign_ms = NO_TIME, .t_arrive_ms = NO_TIME, .t_pickup_ms = NO_TIME,
		.t_dropoff_ms = NO_TIME, .t_end_ms = NO_TIME,
		.origin = in->origin,
		.dest = in->dest,
		.pickup_edge = FS_DISPATCH_NONE,
		.dropoff_edge = FS_DISPATCH_NONE,
		.zone = fs_dispatch_zone_of(d, in->origin),
		.vehicle_id = FS_DISPATCH_NONE,
		.patience_s = (float)(in->patience_s > 0 ? in->patience_s : d->p.patience_s),
		.rider_patience_s = (float)rider.patience_s,
		.rider_board_s = (float)rider.board_s,
		.rider_alight_s = (float)rider.alight_s,
		.rider_shows = fs_rider_shows(&rider, d->p.max_wait_s),
		.rider_no_show = rider.no_show,
		.beeline_m = (float)hypot(in->dest.x - in->origin.x, in->dest.y - in->origin.y),
		.offer_eta_s = NAN,
		.pickup_m = NAN,
		.trip_m = NAN,
		.route_m = NAN,
		.route_s = NAN,
		.status = FS_DISPATCH_REQUESTED,
	};
	struct fs_road_pos pick, drop;
	if (snap_place(d, in->origin, &pick) < 0 || snap_place(d, in->dest, &drop) < 0) {
		r->reason = FS_DISPATCH_REASON_OUTSIDE_AREA;
	} else {
		double t;
		int rc = place_stops(d, pl, r, pick, drop) ? plan_trip(d, pl, r, &t) : -ENOENT;
		if (rc == -ENOMEM) {
			return rc;
		} else if (rc < 0) {
			r->reason = FS_DISPATCH_REASON_NO_ROUTE;
		} else {
			r->route_m = (float)path_metres(d->w.net, pl->path, r->pickup_offset_m, r->dropoff_offset_m);
			r->route_s = (float)t;
			/* uses_motorway and surface_ok: plan_trip() */
		}
	}
	return 0;
}

/* Take the planned request @r in (room made by grow_requests()). */
static void take_request(struct fs_dispatch *d, const struct fs_dispatch_request *r)
{
	d->req[d->nreq] = *r;
	d->req_mark[d->nreq] = 0;
	d->req_term[d->nreq] = request_hash(r);
	d->open_hash += d->req_term[d->nreq];
	d->nreq++;
	d->open[d->nopen++] = r->id;
	d->fresh[d->nfresh++] = r->id;
	d->waiting_admission++;
	dispatch_observe_request(d, r->zone, r->t_request_ms);
}

int64_t fs_dispatch_add_request(struct fs_dispatch *d, const struct fs_dispatch_request_in *in)
{
	if (!request_in_ok(d, in, d->nreq ? d->req[d->nreq - 1].t_request_ms : 0)) {
		return -EINVAL;
	}
	if (grow_requests(d, 1) < 0) {
		return -ENOMEM;
	}
	struct trip_planner pl = main_planner(d);
	struct fs_dispatch_request r;
	if (plan_request(d, &pl, in, d->nreq + 1, &r) < 0) {
		return -ENOMEM;
	}
	take_request(d, &r);
	return (int64_t)r.id;
}

/* Planning a tick's requests on the world's workers (fs_dispatch_add_requests()). */
struct request_loop {
	const struct fs_dispatch *d;
	const struct fs_dispatch_request_in *in;
	struct fs_dispatch_request *planned;
	struct trip_planner *planners; /* per worker */
	atomic_bool out_of_memory;
};

static void plan_request_item(void *arg, size_t i, unsigned worker)
{
	struct request_loop *l = arg;
	if (plan_request(l->d, &l->planners[worker], &l->in[i], l->d->nreq + 1 + i, &l->planned[i]) < 0) {
		atomic_store(&l->out_of_memory, true);
	}
}

/* Plan @n valid requests on the workers into @planned, as one thread would. */
static int plan_in_parallel(struct fs_dispatch *d, const struct fs_dispatch_request_in *in, size_t n,
			    struct fs_dispatch_request *planned)
{
	const struct fs_dispatch_world *w = &d->w;
	struct trip_planner planners[FS_DISPATCH_MAX_WORKERS];
	struct fs_path paths[FS_DISPATCH_MAX_WORKERS] = { { 0 } };
	unsigned nw = w->worker_count < FS_DISPATCH_MAX_WORKERS ? w->worker_count : FS_DISPATCH_MAX_WORKERS;
	planners[0] = main_planner(d);
	for (unsigned k = 1; k < nw; k++) {
		planners[k] = (struct trip_planner){ w->worker_queries[k],
						     w->worker_surface_queries ? w->worker_surface_queries[k] : NULL,
						     &paths[k], planners[0].closed };
		fs_route_query_avoid(planners[k].query, planners[0].closed);
		if (planners[k].surface_query && w->surface_query) {
			fs_route_query_avoid(planners[k].surface_query, fs_route_query_avoided(w->surface_query));
		}
	}
	struct request_loop l = { .d = d, .in = in, .planned = planned, .planners = planners };
	w->parallel_for(w->pool, n, plan_request_item, &l);
	for (unsigned k = 1; k < nw; k++) {
		fs_path_finish(&paths[k]);
	}
	return atomic_load(&l.out_of_memory) ? -ENOMEM : 0;
}

int fs_dispatch_add_requests(struct fs_dispatch *d, const struct fs_dispatch_request_in *in, size_t n,
			     size_t *ret_failed)
{
	/* the valid prefix: what adding them one by one would take before refusing one */
	size_t ok = 0;
	for (int64_t after = d->nreq ? d->req[d->nreq - 1].t_request_ms : 0; ok < n; ok++) {
		if (!request_in_ok(d, &in[ok], after)) {
			break;
		}
		after = in[ok].t_ms;
	}
	const struct fs_dispatch_world *w = &d->w;
	bool parallel = w->parallel_for && w->worker_count > 1 && w->worker_queries && ok >= 4;
	/* all are planned before any is taken, so that out of memory adds none */
	struct fs_dispatch_request *planned = ok ? fs_malloc(ok * sizeof(*planned)) : NULL;
	int rc = grow_requests(d, ok) < 0 || (ok && !planned) ? -ENOMEM : 0;
	if (rc == 0 && parallel) {
		rc = plan_in_parallel(d, in, ok, planned);
	}
	for (size_t i = 0; rc == 0 && !parallel && i < ok; i++) {
		struct trip_planner pl = main_planner(d);
		rc = plan_request(d, &pl, &in[i], d->nreq + 1 + i, &planned[i]);
	}
	for (size_t i = 0; rc == 0 && i < ok; i++) {
		take_request(d, &planned[i]);
	}
	fs_free(planned);
	if (rc < 0) {
		*ret_failed = 0;
		return rc;
	}
	*ret_failed = ok;
	return ok < n ? -EINVAL : 0;
}

/* The request ends: count its final hash once and for all. */
static int finish(struct fs_dispatch *d, struct fs_dispatch_request *r, int status, int reason, int64_t t_ms,
		  struct fs_dispatch_output *out)
{
	r->status = (uint8_t)status;
	r->reason = (uint8_t)reason;
	int kind = FS_DISPATCH_EV_DROPPED_OFF;
	if (status == FS_DISPATCH_DROPPED_OFF) {
		r->t_dropoff_ms = t_ms;
	} else {
		r->t_end_ms = t_ms;
		kind = status == FS_DISPATCH_CANCELLED ? FS_DISPATCH_EV_CANCELLED : FS_DISPATCH_EV_REJECTED;
	}
	d->open_hash -= d->req_term[r->id - 1]; /* (a change marked before is skipped: final) */
	d->closed_hash += request_hash(r);
	if (status == FS_DISPATCH_DROPPED_OFF) {
		double wait_s = (double)(r->t_arrive_ms - r->t_request_ms) / MS_PER_S;
		d->n_served++;
		d->sum_wait_s += wait_s;
		d->sum_in_vehicle_s += (double)(r->t_dropoff_ms - r->t_pickup_ms) / MS_PER_S;
		d->sum_eta_s += isfinite(r->offer_eta_s) ? r->offer_eta_s : 0.0;
		d->sum_trip_km += isfinite(r->route_m) ? r->route_m / 1000.0 : 0.0;
		d->wait_hist[wait_s <= 0.0 ? 0 : wait_s >= WAIT_BINS - 1 ? WAIT_BINS - 1 : (size_t)wait_s]++;
	} else if (status == FS_DISPATCH_CANCELLED) {
		d->n_cancelled++;
		d->n_cancelled_by[reason]++;
	} else {
		d->n_rejected++;
	}
	struct fs_dispatch_trip_event e = { .request_id = r->id, .t_ms = t_ms, .vehicle_id = r->vehicle_id,
					    .kind = (uint8_t)kind, .reason = (uint8_t)reason };
	return dispatch_emit(out, &e);
}

/* An offer or assignment fell through before the pickup: the rider waits again. */
static void back_to_pool(struct fs_dispatch *d, struct fs_dispatch_request *r)
{
	dispatch_request_changed(d, r);
	r->status = FS_DISPATCH_REQUESTED;
	r->vehicle_id = FS_DISPATCH_NONE;
	r->job_id = 0;
	r->t_assign_ms = NO_TIME;
	r->t_arrive_ms = NO_TIME;
}

/* ---- vehicles ----------------------------------------------------------------------------- */

struct vrec *dispatch_vehicle(struct fs_dispatch *d, uint32_t id)
{
	return id < d->nveh && d->veh[id].known ? &d->veh[id] : NULL;
}

const struct fs_dispatch_vehicle_state *fs_dispatch_vehicle(const struct fs_dispatch *d, uint32_t id)
{
	return id < d->nveh && d->veh[id].known ? dispatch_view(d, &d->veh[id]) : NULL;
}

const struct fs_vehicle_record *fs_dispatch_vehicle_record(const struct fs_dispatch *d, uint32_t id)
{
	return id < d->nveh && d->veh[id].known ? &d->veh[id].rec : NULL;
}

uint32_t fs_dispatch_vehicle_count(const struct fs_dispatch *d)
{
	return d->known;
}

uint32_t fs_dispatch_vehicle_id_bound(const struct fs_dispatch *d)
{
	return d->nveh;
}

uint32_t fs_dispatch_plugs_in_use(const struct fs_dispatch *d, uint32_t depot)
{
	return depot < d->w.depot_count ? d->plugs_in_use[depot] : 0;
}

int fs_dispatch_set_depot_plugs(struct fs_dispatch *d, uint32_t depot, uint32_t plugs)
{
	if (depot >= d->w.depot_count) {
		return -EINVAL;
	}
	d->plugs[depot] = plugs;
	return 0;
}

uint32_t fs_dispatch_charge_queue_length(const struct fs_dispatch *d)
{
	return (uint32_t)d->nqueue;
}

static bool driving_state(int s)
{
	return s == FS_VEHICLE_AVAILABLE || s == FS_VEHICLE_TO_PICKUP || s == FS_VEHICLE_IN_TRIP ||
	       s == FS_VEHICLE_REPOSITIONING || s == FS_VEHICLE_TO_CHARGER;
}

static bool in_service(int s)
{
	return s != FS_VEHICLE_DELIVERED && s != FS_VEHICLE_COMMISSIONING && s != FS_VEHICLE_OUT_OF_SERVICE &&
	       s != FS_VEHICLE_UNSPECIFIED;
}

/* Add @state's time over [@from_ms, @to_ms) to the hours it falls in, by the city's clock. */
static void account_time(struct fs_dispatch *d, int state, int64_t from_ms, int64_t to_ms)
{
	if (!in_service(state)) {
		return;
	}
	while (from_ms < to_ms) {
		int64_t into = fs_timezone_local_ms(d->w.tz, from_ms) % MS_PER_HOUR;
		int64_t end = from_ms + (MS_PER_HOUR - (into < 0 ? into + MS_PER_HOUR : into));
		end = end < to_ms ? end : to_ms;
		struct hour_acc *h = &d->hours[dispatch_local_hour(d, from_ms)];
		double dt_ms = (double)(end - from_ms);
		h->vehicle_ms += dt_ms;
		if (state == FS_VEHICLE_IN_TRIP) {
			h->occupied_ms += dt_ms;
		}
		if (state == FS_VEHICLE_TO_PICKUP || state == FS_VEHICLE_WAITING_FOR_RIDER || state == FS_VEHICLE_IN_TRIP) {
			h->busy_ms += dt_ms;
		}
		from_ms = end;
	}
}

/* Time up to @r and the distance its odometer says, in the state the vehicle was in. */
static void account(struct fs_dispatch *d, struct vrec *v, const struct fs_vehicle_record *r)
{
	int prev = v->rec.state, next = r->kind == FS_VEHICLE_RECORD_MOVE ? prev : r->state;
	account_time(d, prev, v->acct_ms, r->t_ms);
	v->acct_ms = r->t_ms > v->acct_ms ? r->t_ms : v->acct_ms;
	double m = r->odometer_m - v->rec.odometer_m;
	bool towed = prev == FS_VEHICLE_MINIMAL_RISK && next == FS_VEHICLE_MAINTENANCE;
	if (towed || !(m > 0.0) || !(driving_state(prev) || driving_state(next))) {
		return;
	}
	/* the state the distance was driven in: the earlier one, unless the vehicle was standing then */
	int st = driving_state(prev) ? prev : next;
	struct hour_acc *h = &d->hours[dispatch_local_hour(d, v->rec.t_ms)];
	v->odo_m += m;
	h->km_total += m / 1000.0;
	if (st == FS_VEHICLE_IN_TRIP) {
		h->km_occupied += m / 1000.0;
	}
}

/* Every vehicle's time up to the fleet's time (once an hour, and before KPIs are read). */
void fs_dispatch_settle(struct fs_dispatch *d)
{
	if (d->fleet_ms == INT64_MIN) {
		return;
	}
	for (uint32_t id = 0; id < d->nveh; id++) {
		struct vrec *v = &d->veh[id];
		if (v->known && v->acct_ms < d->fleet_ms) {
			account_time(d, v->rec.state, v->acct_ms, d->fleet_ms);
			v->acct_ms = d->fleet_ms;
		}
	}
}

void fs_dispatch_set_fleet_time(struct fs_dispatch *d, int64_t t_ms)
{
	if (d->fleet_ms != INT64_MIN && t_ms <= d->fleet_ms) {
		return;
	}
	d->fleet_ms = t_ms;
	if (d->next_settle_ms == INT64_MIN) {
		int64_t into = fs_timezone_local_ms(d->w.tz, t_ms) % MS_PER_HOUR;
		d->next_settle_ms = t_ms + (MS_PER_HOUR - (into < 0 ? into + MS_PER_HOUR : into));
	} else if (t_ms >= d->next_settle_ms) {
		fs_dispatch_settle(d);
		d->next_settle_ms += MS_PER_HOUR * (1 + (t_ms - d->next_settle_ms) / MS_PER_HOUR);
	}
}

static void count_odd(struct fs_dispatch *d, const struct vrec *v, int sign)
{
	d->motorway_ok += (uint32_t)(sign * !(v->s.odd_flags & FS_ODD_NO_MOTORWAY));
	d->night_ok += (uint32_t)(sign * !(v->s.odd_flags & FS_ODD_DAYTIME_ONLY));
}

static bool record_ok(const struct fs_dispatch *d, const struct fs_vehicle_record *r)
{
	return r->id != UINT32_MAX && r->state < FS_VEHICLE_STATE_COUNT && isfinite(r->x) && isfinite(r->y) &&
	       isfinite(r->soc) && isfinite(r->soc_per_h) && isfinite(r->seg_from_m) && isfinite(r->seg_to_m) &&
	       isfinite(r->odometer_m) && (r->edge == FS_NO_EDGE || r->edge < d->w.net->edge_count);
}

/* The view of a new record: where it puts the vehicle when it was taken. */
static void view_record(struct fs_dispatch *d, struct vrec *v)
{
	const struct fs_vehicle_record *r = &v->rec;
	v->s = (struct fs_dispatch_vehicle_state){ .id = r->id, .state = r->state, .edge = r->edge,
						    .offset_m = fs_vehicle_record_offset_at(r, r->t_ms),
						    .x = r->x, .y = r->y, .soc = r->soc, .odd_flags = r->odd_flags,
						    .health_flags = r->health_flags };
	v->view_ms = r->t_ms;
	if (d->fleet_ms == INT64_MIN || r->t_ms > d->fleet_ms) {
		fs_dispatch_set_fleet_time(d, r->t_ms);
	}
}

int fs_dispatch_update_vehicle(struct fs_dispatch *d, const struct fs_vehicle_record *r)
{
	if (!r || !record_ok(d, r)) {
		return -EINVAL;
	}
	if (r->id >= d->nveh) {
		size_t cap = d->veh_cap;
		if (r->kind == FS_VEHICLE_RECORD_MOVE) {
			return -ENOENT;
		}
		if (r->id >= UINT32_MAX / 2 || FS_GROW(d->veh, cap, (size_t)r->id + 1) < 0) {
			return -ENOMEM;
		}
		memset(d->veh + d->nveh, 0, (r->id + 1 - d->nveh) * sizeof(*d->veh));
		d->veh_cap = (uint32_t)cap;
		d->nveh = r->id + 1;
	}
	struct vrec *v = &d->veh[r->id];
	if (!v->known) {
		if (r->kind == FS_VEHICLE_RECORD_MOVE) {
			return -ENOENT;
		}
		*v = (struct vrec){ .rec = *r, .acct_ms = r->t_ms, .idle_since_ms = r->t_ms, .queued_ms = NO_TIME,
				    .cmd_ms = INT64_MIN, .cooldown_until_ms = INT64_MIN, .known = true };
		view_record(d, v);
		d->known++;
		count_odd(d, v, +1);
		dispatch_touch(d, v);
		return 0;
	}
	if (r->t_ms < v->rec.t_ms) {
		return -EINVAL;
	}
	account(d, v, r);
	int was = v->rec.state;
	count_odd(d, v, -1);
	fs_vehicle_record_merge(&v->rec, true, r);
	view_record(d, v);
	count_odd(d, v, +1);
	const struct fs_dispatch_vehicle_state *s = &v->s;
	if (s->state == FS_VEHICLE_AVAILABLE && was != FS_VEHICLE_AVAILABLE) {
		v->idle_since_ms = r->t_ms;
	}
	/* A command is confirmed or over once a record taken after it was sent says so. */
	if (r->t_ms > v->claim_ms) {
		if (v->claim == CLAIM_CHARGE) {
			bool at = s->state == FS_VEHICLE_TO_CHARGER || s->state == FS_VEHICLE_CHARGING;
			if (s->state == FS_VEHICLE_CHARGING) {
				v->charge_requested = false;
			}
			if (at) {
				v->confirmed = true;
			} else if (v->confirmed) {
				dispatch_release(d, v); /* charged (or taken off the road): the plug is free */
			}
		} else if (v->claim == CLAIM_REPOSITION) {
			if (s->state == FS_VEHICLE_REPOSITIONING) {
				v->confirmed = true;
			} else if (v->confirmed) {
				dispatch_release(d, v);
			}
		}
	}
	dispatch_note_state(d, v); /* keep: the indexes of fs_dispatch_index.c follow every state */
	return 0;
}

/* ---- events ------------------------------------------------------------------------------- */

int fs_dispatch_add_events(struct fs_dispatch *d, const struct fs_vehicle_event *events, size_t count)
{
	if (count && !events) {
		return -EINVAL;
	}
	if (FS_GROW(d->ev, d->ev_cap, d->nev + count) < 0) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		d->ev[d->nev] = (struct ev_item){ .e = events[i], .seq = d->ev_seq++ };
		d->ev[d->nev].e.reason = NULL;
		d->nev++;
	}
	return 0;
}

static int compare_events(const void *a, const void *b)
{
	const struct ev_item *x = a, *y = b;
	if (x->e.time_ms != y->e.time_ms) {
		return x->e.time_ms < y->e.time_ms ? -1 : 1;
	}
	if (x->e.vehicle_id != y->e.vehicle_id) {
		return x->e.vehicle_id < y->e.vehicle_id ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int apply_ride_event(struct fs_dispatch *d, const struct fs_vehicle_event *e, const struct jrec *j,
			    struct vrec *v, struct fs_dispatch_output *out)
{
	struct fs_dispatch_request *r = dispatch_req(d, j->request);
	if (!r || r->job_id != e->job_id || is_final(r->status)) {
		/* (news from a car whose rider gave up while it was on its way, sent before it heard,
		 * or its hand-back: the answer to our cancellation) */
		bool answer = r && r->job_id == e->job_id && r->status == FS_DISPATCH_CANCELLED &&
			      r->t_assign_ms != NO_TIME;
		d->counters.unknown_events += !answer;
		return 0;
	}
	dispatch_request_changed(d, r); /* (most events change it) */
	bool owns = v && v->claim == CLAIM_RIDE && v->job_id == e->job_id;
	struct fs_dispatch_trip_event te = { .request_id = r->id, .t_ms = e->time_ms, .vehicle_id = e->vehicle_id };
	switch (e->kind) {
	case FS_VEV_JOB_ACCEPTED:
		if (r->status != FS_DISPATCH_OFFERED) {
			break;
		}
		r->status = FS_DISPATCH_ASSIGNED;
		r->t_assign_ms = e->time_ms;
		r->odo_mark_m = v ? v->odo_m : 0.0;
		if (owns) {
			v->confirmed = true;
			dispatch_touch(d, v);
		}
		te.kind = FS_DISPATCH_EV_ASSIGNED;
		return dispatch_emit(out, &te);
	case FS_VEV_JOB_DECLINED:
		if (r->status != FS_DISPATCH_OFFERED) {
			break;
		}
		d->counters.declines++;
		back_to_pool(d, r);
		if (owns) {
			dispatch_release(d, v);
			v->cooldown_until_ms = e->time_ms + (int64_t)(d->p.decline_cooldown_s * MS_PER_S);
		}
		break;
	case FS_VEV_ARRIVED:
		if (r->status == FS_DISPATCH_ASSIGNED && r->t_arrive_ms == NO_TIME) {
			r->t_arrive_ms = e->time_ms;
		} else if (r->status == FS_DISPATCH_PICKED_UP) {
			r->trip_m = (float)(v ? v->odo_m - r->odo_mark_m : NAN);
			if (owns) {
				dispatch_release(d, v);
			}
			return finish(d, r, FS_DISPATCH_DROPPED_OFF, FS_DISPATCH_REASON_NONE, e->time_ms, out);
		}
		break;
	case FS_VEV_STATE_CHANGED:
		if (e->to_state != FS_VEHICLE_IN_TRIP || r->status != FS_DISPATCH_ASSIGNED) {
			break;
		}
		r->status = FS_DISPATCH_PICKED_UP;
		r->t_pickup_ms = e->time_ms;
		if (r->t_arrive_ms == NO_TIME) {
			r->t_arrive_ms = e->time_ms; /* arrival not reported: the rider was waiting at the kerb */
		}
		r->pickup_m = (float)(v ? v->odo_m - r->odo_mark_m : NAN);
		r->odo_mark_m = v ? v->odo_m : 0.0;
		te.kind = FS_DISPATCH_EV_PICKED_UP;
		return dispatch_emit(out, &te);
	case FS_VEV_JOB_HANDED_BACK:
		d->counters.handbacks++;
		if (owns) {
			dispatch_release(d, v);
		}
		if (r->status == FS_DISPATCH_PICKED_UP) {
			return finish(d, r, FS_DISPATCH_CANCELLED, FS_DISPATCH_REASON_ABORTED, e->time_ms, out);
		}
		if (r->status == FS_DISPATCH_ASSIGNED && r->t_arrive_ms != NO_TIME && !r->rider_shows &&
		    e->time_ms - r->t_arrive_ms >= (int64_t)(d->p.max_wait_s * MS_PER_S)) {
			/* the car waited its time at the kerb and left: the rider never came */
			return finish(d, r, FS_DISPATCH_CANCELLED, FS_DISPATCH_REASON_NO_SHOW, e->time_ms, out);
		}
		back_to_pool(d, r);
		break;
	default:
		break;
	}
	return 0;
}

static int apply_event(struct fs_dispatch *d, const struct fs_vehicle_event *e, struct fs_dispatch_output *out)
{
	struct vrec *v = dispatch_vehicle(d, e->vehicle_id);
	if (e->kind == FS_VEV_CHARGE_REQUEST) {
		if (v) {
			v->charge_requested = true;
			dispatch_touch(d, v);
		}
		return 0;
	}
	if (e->kind == FS_VEV_STATE_CHANGED && v && e->to_state == FS_VEHICLE_AVAILABLE) {
		v->idle_since_ms = e->time_ms;
	}
	if (!e->job_id) {
		return 0;
	}
	const struct jrec *j = job_of(d, e->job_id);
	if (!j || j->vehicle != e->vehicle_id) {
		if (e->kind == FS_VEV_JOB_ACCEPTED || e->kind == FS_VEV_JOB_DECLINED) {
			d->counters.unknown_events++;
		}
		return 0;
	}
	if (j->kind == JOB_RIDE) {
		return apply_ride_event(d, e, j, v, out);
	}
	/* charge and reposition jobs: fs-vehicle reports only its own refusals with our id */
	if (e->kind == FS_VEV_JOB_DECLINED && v && v->job_id == e->job_id) {
		dispatch_release(d, v);
		v->cooldown_until_ms = e->time_ms + (int64_t)(d->p.decline_cooldown_s * MS_PER_S);
	}
	return 0;
}

/* ---- the step ----------------------------------------------------------------------------- */

/*
 * When the rider of @r gives up, NO_TIME if not (yet) at @now_ms: at the
 * lower of their own patience and the platform's cap, counted from the
 * request; with a car on its way (@car_coming) also as soon as they see it
 * assigned if the quoted arrival is past that. Never before the assignment
 * with a car coming: the rider cancels what the app shows them.
 */
static int64_t give_up_ms(const struct fs_dispatch_request *r, int64_t now_ms, bool car_coming)
{
	double patience_s = fmin((double)r->rider_patience_s, (double)r->patience_s);
	int64_t deadline = r->t_request_ms + (int64_t)(patience_s * MS_PER_S);
	if (car_coming) {
		int64_t quoted = isfinite(r->offer_eta_s) ? r->t_offer_ms + (int64_t)((double)r->offer_eta_s * MS_PER_S)
							  : r->t_offer_ms;
		if (quoted > deadline) {
			return r->t_assign_ms; /* the ETA shown is longer than the rider will wait */
		}
		deadline = deadline > r->t_assign_ms ? deadline : r->t_assign_ms;
	}
	return now_ms >= deadline ? deadline : NO_TIME;
}

/*
 * The rider of @r gives up on the car that is on its way (a quoted ETA too
 * long for them, or later than quoted: a storm, a detour, a stop on the way):
 * the vehicle is told to drop the job (a job with no stops) and is free for
 * the next match once it reports so.
 */
static int cancel_on_the_way(struct fs_dispatch *d, struct fs_dispatch_request *r, int64_t now_ms,
			     struct fs_dispatch_output *out)
{
	struct vrec *v = dispatch_vehicle(d, r->vehicle_id);
	if (!v || v->claim != CLAIM_RIDE || v->job_id != r->job_id) {
		return 0;
	}
	struct fs_dispatch_job cancel = { .job_id = r->job_id, .vehicle_id = r->vehicle_id, .stop_count = 0 };
	dispatch_release(d, v);
	v->cmd_ms = now_ms;
	return dispatch_emit_job(out, &cancel);
}

static int admit(struct fs_dispatch *d, struct fs_dispatch_request *r, int64_t now_ms, struct fs_dispatch_output *out)
{
	dispatch_request_changed(d, r);
	r->admitted = true;
	d->waiting_admission--;
	int reason = r->reason;
	if (!reason && d->node_in_area &&
	    (!d->node_in_area[dispatch_nearer_node(d->w.net, dispatch_pickup(r))] ||
	     !d->node_in_area[dispatch_nearer_node(d->w.net, dispatch_dropoff(r))])) {
		reason = FS_DISPATCH_REASON_OUTSIDE_AREA;
	}
	if (!reason && d->known == 0) {
		reason = FS_DISPATCH_REASON_NO_FLEET;
	}
	if (!reason && ((!r->surface_ok && d->motorway_ok == 0) ||
			(dispatch_is_night(d, r->t_request_ms) && d->night_ok == 0))) {
		reason = FS_DISPATCH_REASON_ODD;
	}
	if (!reason) {
		double usable = (d->p.charge_target_soc - d->p.job_reserve_soc) * d->p.battery_kwh;
		if (dispatch_trip_kwh(d, 0.0, r) > usable) {
			reason = FS_DISPATCH_REASON_ENERGY;
		}
	}
	if (reason) {
		int64_t t = now_ms > r->t_request_ms ? now_ms : r->t_request_ms;
		return finish(d, r, FS_DISPATCH_REJECTED, reason, t, out);
	}
	r->reason = FS_DISPATCH_REASON_NONE;
	return 0;
}

int fs_dispatch_step(struct fs_dispatch *d, int64_t now_ms, struct fs_dispatch_output *out,
		     struct fs_dispatch_step_stats *stats)
{
	if (!out || (d->now_ms != INT64_MIN && now_ms < d->now_ms)) {
		return -EINVAL;
	}
	if (d->index_oom) {
		return -ENOMEM;
	}
	struct fs_dispatch_step_stats local;
	if (!stats) {
		stats = &local;
	}
	double (*clock_us)(void) = stats == &local ? NULL : stats->clock_us;
	memset(stats, 0, sizeof(*stats));
	stats->clock_us = clock_us;
	if (d->first_ms == INT64_MIN) {
		d->first_ms = now_ms;
		d->next_match_ms = now_ms;
		d->next_rebalance_ms = now_ms + (int64_t)(d->p.rebalance_s * MS_PER_S);
	}
	d->now_ms = now_ms;
	int rc = replan_open_trips(d);
	if (rc < 0) {
		return rc;
	}
	/* new requests are announced */
	if (FS_GROW(out->new_requests, out->new_cap, out->new_count + d->nfresh) < 0) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->nfresh; i++) {
		const struct fs_dispatch_request *r = dispatch_req(d, d->fresh[i]);
		out->new_requests[out->new_count++] = r->id;
		struct fs_dispatch_trip_event te = { .request_id = r->id, .t_ms = r->t_request_ms,
						     .vehicle_id = FS_DISPATCH_NONE, .kind = FS_DISPATCH_EV_REQUESTED };
		if ((rc = dispatch_emit(out, &te)) < 0) {
			return rc;
		}
	}
	d->nfresh = 0;
	/* vehicle events, in an order that does not depend on how the fleet is sharded */
	if (d->nev) {
		qsort(d->ev, d->nev, sizeof(*d->ev), compare_events);
	}
	for (size_t i = 0; i < d->nev; i++) {
		if ((rc = apply_event(d, &d->ev[i].e, out)) < 0) {
			return rc;
		}
	}
	d->nev = 0;
	/* admissions, timeouts, cancellations */
	int64_t offer_timeout = (int64_t)(d->p.offer_timeout_s * MS_PER_S);
	for (size_t i = 0; i < d->nopen; i++) {
		if (dispatch_request_aboard(d, d->open[i])) {
			continue; /* (without reading the request: most open ones are aboard) */
		}
		struct fs_dispatch_request *r = dispatch_req(d, d->open[i]);
		if (r->status == FS_DISPATCH_PICKED_UP && r->admitted) {
			d->req_mark[r->id - 1] |= REQ_ABOARD; /* nothing below applies until it changes */
			continue;
		}
		if (r->t_request_ms > now_ms) {
			continue;
		}
		if (!r->admitted) {
			if (d->known == 0 && !r->reason && now_ms - r->t_request_ms < offer_timeout) {
				continue; /* the fleet has not reported yet */
			}
			if ((rc = admit(d, r, now_ms, out)) < 0) {
				return rc;
			}
		}
		if (r->status == FS_DISPATCH_OFFERED && now_ms - r->t_offer_ms >= offer_timeout) {
			struct vrec *v = dispatch_vehicle(d, r->vehicle_id);
			if (v && v->claim == CLAIM_RIDE && v->job_id == r->job_id) {
				dispatch_release(d, v);
				v->cooldown_until_ms = now_ms + (int64_t)(d->p.decline_cooldown_s * MS_PER_S);
			}
			d->counters.offer_timeouts++;
			back_to_pool(d, r);
		}
		bool car_coming = r->status == FS_DISPATCH_ASSIGNED && r->t_arrive_ms == NO_TIME;
		int64_t t = r->status == FS_DISPATCH_REQUESTED || car_coming ? give_up_ms(r, now_ms, car_coming)
									       : NO_TIME;
		if (t != NO_TIME) {
			if (car_coming && (rc = cancel_on_the_way(d, r, now_ms, out)) < 0) {
				return rc;
			}
			int reason = car_coming ? FS_DISPATCH_REASON_AFTER_ASSIGNMENT : FS_DISPATCH_REASON_BEFORE_ASSIGNMENT;
			if ((rc = finish(d, r, FS_DISPATCH_CANCELLED, reason, t, out)) < 0) {
				return rc;
			}
		}
	}
	uint32_t nwatch;
	dispatch_watch_list(d, &nwatch); /* every vehicle with a charge or reposition command, in id order */
	stats->vehicles_examined += nwatch;
	for (uint32_t i = 0; i < nwatch; i++) {
		struct vrec *v = &d->veh[d->watch[i]];
		if (v->known && (v->claim == CLAIM_CHARGE || v->claim == CLAIM_REPOSITION) && !v->confirmed &&
		    now_ms - v->claim_ms >= offer_timeout) {
			dispatch_release(d, v); /* refused or never started: not again at once */
			v->cooldown_until_ms = now_ms + (int64_t)(d->p.decline_cooldown_s * MS_PER_S);
		}
	}
	/* decisions: charging, matching, rebalancing, in this order */
	if ((rc = dispatch_charge(d, now_ms, out, stats)) < 0) {
		return rc;
	}
	if (now_ms >= d->next_match_ms) {
		int64_t period = (int64_t)(d->p.batch_s * MS_PER_S);
		while (d->next_match_ms <= now_ms) {
			d->next_match_ms += period > 0 ? period : 1;
		}
		if ((rc = dispatch_match(d, now_ms, out, stats)) < 0) {
			return rc;
		}
	}
	if (d->p.rebalance_s > 0 && now_ms >= d->next_rebalance_ms) {
		int64_t period = (int64_t)(d->p.rebalance_s * MS_PER_S);
		while (d->next_rebalance_ms <= now_ms) {
			d->next_rebalance_ms += period > 0 ? period : 1;
		}
		if ((rc = dispatch_rebalance(d, now_ms, out, stats)) < 0) {
			return rc;
		}
	}
	/* keep only open requests in the open list (order kept: arrival) */
	size_t keep = 0;
	for (size_t i = 0; i < d->nopen; i++) {
		if (dispatch_request_aboard(d, d->open[i]) || !is_final(dispatch_req(d, d->open[i])->status)) {
			d->open[keep++] = d->open[i];
		}
	}
	d->nopen = keep;
	return 0;
}

/* ---- hash --------------------------------------------------------------------------------- */

/* Rehash the open requests changed since the last call into open_hash. */
static void refresh_open_hash(struct fs_dispatch *d)
{
	for (size_t i = 0; i < d->nchanged; i++) {
		uint64_t id = d->changed[i];
		d->req_mark[id - 1] &= (uint8_t)~REQ_CHANGED;
		const struct fs_dispatch_request *r = &d->req[id - 1];
		if (!is_final(r->status)) { /* a final one left open_hash in finish() */
			uint64_t term = request_hash(r);
			d->open_hash += term - d->req_term[id - 1];
			d->req_term[id - 1] = term;
		}
	}
	d->nchanged = 0;
}

uint64_t fs_dispatch_hash(const struct fs_dispatch *d)
{
	/* The cached terms are not part of the platform's state: refreshing them is not a change. */
	struct fs_dispatch *cache = (struct fs_dispatch *)d;
	refresh_open_hash(cache);
#ifndef NDEBUG
	/* every change reached open_hash: the sum over the open list, as it is defined */
	uint64_t all = 0;
	for (size_t i = 0; i < d->nopen; i++) {
		all += is_final(d->req[d->open[i] - 1].status) ? 0 : request_hash(&d->req[d->open[i] - 1]);
	}
	assert(all == d->open_hash);
#endif
	return d->closed_hash + d->open_hash + dispatch_vehicles_hash(cache);
}
