/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_dispatch_match - the two matchers (see fs/dispatch.h).
 *
 * Both share the candidate rule, so a comparison between them isolates the
 * decision: a vehicle is eligible if it is available or repositioning,
 * holds no other command, is healthy, has not just declined, does not need
 * a charger; it is a candidate for a request if its ODD covers the planned
 * trip and its battery covers pickup + trip with the reserve left (the
 * deadhead estimated conservatively from the ETA). A pair is feasible if
 * the ETA is at most params.max_pickup_eta_s and the rider, having waited
 * so far, would still be within their patience at the vehicle's arrival.
 *
 * fs-vehicle drives the fastest route to the pickup (turns obeyed); a vehicle whose ODD
 * excludes motorways declines a job whose pickup route uses one, and any
 * vehicle one whose route crosses a storm over a zone. So each chosen pair
 * is checked by routing its pickup leg, the way the vehicle will drive it.
 *
 * Candidates are ranked by the hierarchy's many-to-one ETAs, which ignore
 * turn restrictions, U-turn costs, closures, storms and motorway-free ODDs.
 * Those can only make a route longer (they remove roads and turns or add
 * time, never the reverse), so the hierarchy's ETA is a lower bound on the
 * drivable one, and both matchers use it as one: the
 * greedy matcher plans candidates in order of the bound until no unplanned
 * candidate's bound beats the best planned ETA; the batch matcher re-solves
 * the assignment while a chosen pair fails or turns out slower than its
 * bound (a few rounds). Where nothing is closed, the first plan matches its
 * bound and nothing extra is routed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/traffic.h"
#include "fs_dispatch_internal.h"

#define VERIFY_ROUNDS 6
/* The batch matcher's passes: riders left unmatched by a pass get their candidates again among
 * the vehicles still free, twice as many each pass, until a pass matches nobody. */
#define MAX_CANDIDATES 512

struct arc {
	uint32_t row;      /* index into the waiting list */
	uint32_t vehicle;
	double eta_s;
	uint8_t checked;   /* 0 not planned, 1 planned and inside the vehicle's ODD, 2 not possible */
};

struct match {
	struct fs_dispatch *d;
	int64_t now_ms;
	uint32_t hour;
	uint8_t *taken;              /* per vehicle id */
	uint32_t k;                  /* candidates searched per request */
	bool night;                  /* dispatch_is_night() now */
	const struct fs_dispatch_request *r; /* the request whose candidates are searched */
	uint8_t ride_rain;           /* dispatch_ride_rain() of r */
	/* searches from the vehicles (batch_pass_from_vehicles): */
	const uint64_t *waiting;     /* the pass's riders, by row */
	const uint32_t *cars;        /* the pass's free vehicles, when it searches from them */
	struct fs_spatial *riders;   /* the riders' pickups, indexed by row */
	const struct vrec *car;      /* the vehicle whose riders are searched */
	struct fs_route_query *query;       /* the hierarchy's workspace for pickup ETAs */
	struct fs_spatial_hit *hits;
	struct fs_road_pos *src;
	double *eta;
	struct arc *arcs;
	size_t narcs, arcs_cap;
	double (*clock_us)(void);
	double t_cand, t_eta, t_solve;
};

static double clock_now(const struct match *m)
{
	return m->clock_us ? m->clock_us() : 0.0;
}

static bool matchable(const struct fs_dispatch *d, const struct vrec *v, int64_t now_ms)
{
	return v->known && (v->s.state == FS_VEHICLE_AVAILABLE || v->s.state == FS_VEHICLE_REPOSITIONING) &&
	       (v->claim == CLAIM_NONE || v->claim == CLAIM_REPOSITION) && v->cmd_ms != now_ms &&
	       v->cooldown_until_ms <= now_ms && v->s.edge != FS_NO_EDGE && dispatch_healthy(v) &&
	       !dispatch_needs_charge(d, v) && v->queued_ms == NO_TIME;
}

/* Bring the spatial pool in line with who may be matched now: 0 with *@ret_count in it, or -ENOMEM. */
static int sync_pool(struct fs_dispatch *d, int64_t now_ms, uint32_t *ret_count)
{
	uint32_t count = 0;
	for (uint32_t id = 0; id < d->nveh; id++) {
		struct vrec *v = &d->veh[id];
		bool m = matchable(d, v, now_ms);
		if (m) {
			const struct fs_dispatch_vehicle_state *at = dispatch_view(d, v);
			if (v->in_pool && at->x == v->pool_x && at->y == v->pool_y) {
				count++; /* standing where the pool has it: most of an idle fleet */
				continue;
			}
			int rc = v->in_pool ? fs_spatial_move(d->pool, id, at->x, at->y)
					    : fs_spatial_insert(d->pool, id, at->x, at->y);
			if (rc == -ENOMEM) {
				return rc; /* the pool has the vehicle where it had it, or not at all */
			}
			v->in_pool = rc == 0;
			v->pool_x = at->x;
			v->pool_y = at->y;
			count += v->in_pool;
		} else if (v->in_pool) {
			fs_spatial_remove(d->pool, id);
			v->in_pool = false;
		}
	}
	*ret_count = count;
	return 0;
}

static bool candidate_filter(void *user, uint32_t id)
{
	const struct match *m = user;
	const struct vrec *v = &m->d->veh[id];
	return !m->taken[id] && dispatch_odd_ok_at(m->d, v, m->r, m->night, m->ride_rain) &&
	       dispatch_energy_ok(m->d, v, 0.0, m->r);
}

/* May the pass's vehicle m->car serve this round's rider @row? (The mirror of candidate_filter.) */
static bool rider_filter(void *user, uint32_t row)
{
	const struct match *m = user;
	const struct fs_dispatch_request *r = dispatch_req(m->d, m->waiting[row]);
	return dispatch_odd_ok_at(m->d, m->car, r, m->night, dispatch_ride_rain(m->d, r)) &&
	       dispatch_energy_ok(m->d, m->car, 0.0, r);
}

/* Keep the pair (@row, @vehicle) at pickup ETA @eta if the rider and the battery allow it. */
static int add_arc(struct match *m, const struct fs_dispatch_request *r, uint32_t row, uint32_t vehicle, double eta)
{
	double waited_s = (double)(m->now_ms - r->t_request_ms) / MS_PER_S;
	if (!(eta <= m->d->p.max_pickup_eta_s) || waited_s + eta > (double)r->patience_s ||
	    !dispatch_energy_ok(m->d, &m->d->veh[vehicle], eta, r)) {
		return 0;
	}
	if (FS_GROW(m->arcs, m->arcs_cap, m->narcs + 1) < 0) {
		return -ENOMEM;
	}
	m->arcs[m->narcs++] = (struct arc){ .row = row, .vehicle = vehicle, .eta_s = eta };
	return 0;
}

/* Feasible (vehicle, ETA) pairs of request @r into m->arcs, as row @row. */
static int candidates(struct match *m, const struct fs_dispatch_request *r, uint32_t row)
{
	struct fs_dispatch *d = m->d;
	double t0 = clock_now(m);
	m->r = r;
	m->ride_rain = dispatch_ride_rain(d, r);
	size_t n = fs_spatial_knn(d->pool, r->origin.x, r->origin.y, m->k, candidate_filter, m, m->hits);
	double t1 = clock_now(m);
	m->t_cand += t1 - t0;
	if (!n) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct vrec *v = &d->veh[m->hits[i].id];
		m->src[i] = (struct fs_road_pos){ v->s.edge, dispatch_view(d, v)->offset_m };
	}
	/* to where the rider stands, on the side of the street the car stops on */
	int rc = fs_route_many_to_one(m->query, m->hour, m->src, (uint32_t)n, dispatch_pickup(r), m->eta);
	m->t_eta += clock_now(m) - t1;
	if (rc < 0) {
		return 0; /* a bad position: no candidates this round */
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = add_arc(m, r, row, m->hits[i].id, m->eta[i])) < 0) {
			return rc;
		}
	}
	return 0;
}

/* Feasible (rider, ETA) pairs of the free vehicle @id, its m->k nearest riders, into m->arcs. */
static int rider_candidates(struct match *m, uint32_t id)
{
	struct fs_dispatch *d = m->d;
	const struct vrec *v = &d->veh[id];
	double t0 = clock_now(m);
	const struct fs_dispatch_vehicle_state *at = dispatch_view(d, v);
	m->car = v;
	size_t n = fs_spatial_knn(m->riders, at->x, at->y, m->k, rider_filter, m, m->hits);
	double t1 = clock_now(m);
	m->t_cand += t1 - t0;
	if (!n) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		m->src[i] = dispatch_pickup(dispatch_req(d, m->waiting[m->hits[i].id])); /* the targets */
	}
	struct fs_road_pos from = { v->s.edge, at->offset_m };
	int rc = fs_route_one_to_many(m->query, m->hour, from, m->src, (uint32_t)n, m->eta);
	m->t_eta += clock_now(m) - t1;
	if (rc < 0) {
		return 0; /* a bad position: no candidates this round */
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t row = m->hits[i].id;
		if ((rc = add_arc(m, dispatch_req(d, m->waiting[row]), row, id, m->eta[i])) < 0) {
			return rc;
		}
	}
	return 0;
}

/*
 * Plan the pickup drive of a chosen pair, as the vehicle will drive it: a vehicle would
 * refuse the drive if that route used a motorway its ODD excludes or crossed a zone's
 * weather outside its ODD.
 */
static bool plan_pickup(struct match *m, struct arc *a, const struct fs_dispatch_request *r)
{
	struct fs_dispatch *d = m->d;
	const struct fs_network *net = d->w.net;
	const struct vrec *v = &d->veh[a->vehicle];
	if (a->checked) {
		return a->checked == 1;
	}
	a->checked = 2;
	struct fs_road_pos from = { v->s.edge, dispatch_view(d, v)->offset_m };
	double t;
	d->path.count = 0;
	if (fs_route_positions(dispatch_query_for(d, v), m->hour, from, dispatch_pickup(r), &t, &d->path) < 0) {
		return false;
	}
	if (d->w.traffic) {
		t *= fs_traffic_path_fleet_factor(d->w.traffic, d->path.edges, d->path.count); /* as driven */
	}
	if ((v->s.odd_flags & FS_ODD_NO_MOTORWAY) && dispatch_path_uses_motorway(net, &d->path)) {
		return false;
	}
	if (!dispatch_path_weather_ok(d, v, &d->path)) {
		return false; /* the drive to the pickup crosses a zone's weather the vehicle would refuse */
	}
	/* The candidate's ETA came from the hierarchy's fastest route without turns; the route the
	 * vehicle will drive (U-turns, turn restrictions, surface roads only, around a closure or a
	 * storm) can be longer. Quote that one, and keep the pair only if it still brings the car
	 * within the rider's patience. */
	if (t > a->eta_s + 1.0) {
		d->counters.pickup_eta_corrections++;
		double waited_s = (double)(m->now_ms - r->t_request_ms) / MS_PER_S;
		if (!(t <= d->p.max_pickup_eta_s) || waited_s + t > (double)r->patience_s ||
		    !dispatch_energy_ok(d, v, t, r)) {
			return false;
		}
		a->eta_s = t;
	}
	a->checked = 1;
	return true;
}

static int make_offer(struct fs_dispatch *d, struct fs_dispatch_request *r, struct vrec *v, const struct arc *a,
		      int64_t now_ms, struct fs_dispatch_output *out)
{
	double eta_s = a->eta_s;
	const struct fs_network *net = d->w.net;
	uint64_t job = dispatch_new_job(d, JOB_RIDE, v->s.id, r->id);
	if (!job) {
		return -ENOMEM;
	}
	dispatch_request_changed(d, r);
	r->status = FS_DISPATCH_OFFERED;
	r->vehicle_id = v->s.id;
	r->job_id = job;
	r->t_offer_ms = now_ms;
	r->offer_eta_s = (float)eta_s;
	r->offers++;
	dispatch_set_claim(d, v, CLAIM_RIDE, 0, job, r->id, now_ms);
	if (v->in_pool) {
		fs_spatial_remove(d->pool, v->s.id);
		v->in_pool = false;
	}
	d->counters.offers++;
	struct fs_dispatch_job j = { .job_id = job, .vehicle_id = v->s.id, .stop_count = 2 };
	j.stops[0] = (struct fs_dispatch_stop){ .kind = FS_DISPATCH_STOP_PICKUP, .request_id = r->id,
						.edge = r->pickup_edge, .offset_m = r->pickup_offset_m };
	j.stops[1] = (struct fs_dispatch_stop){ .kind = FS_DISPATCH_STOP_DROPOFF, .request_id = r->id,
						.edge = r->dropoff_edge, .offset_m = r->dropoff_offset_m };
	fs_network_edge_point_at(net, r->pickup_edge, r->pickup_offset_m, &j.stops[0].point);
	fs_network_edge_point_at(net, r->dropoff_edge, r->dropoff_offset_m, &j.stops[1].point);
	struct fs_dispatch_offer o = { .request_id = r->id, .vehicle_id = v->s.id, .pickup_eta_s = eta_s };
	struct fs_dispatch_trip_event te = { .request_id = r->id, .t_ms = now_ms, .vehicle_id = v->s.id,
					     .kind = FS_DISPATCH_EV_OFFERED };
	int rc = dispatch_emit_job(out, &j);
	if (rc == 0) {
		rc = dispatch_emit_offer(out, &o);
	}
	if (rc == 0) {
		rc = dispatch_emit(out, &te);
	}
	return rc;
}

static int compare_arcs(const void *a, const void *b)
{
	const struct arc *x = a, *y = b;
	if (x->eta_s != y->eta_s) {
		return x->eta_s < y->eta_s ? -1 : 1;
	}
	return x->vehicle < y->vehicle ? -1 : x->vehicle > y->vehicle;
}

/* Requests in arrival order, each the nearest free vehicle by ETA (SUMO's "greedy"). */
static int match_greedy(struct match *m, uint64_t *waiting, uint32_t nwait, struct fs_dispatch_output *out,
			struct fs_dispatch_step_stats *stats)
{
	struct fs_dispatch *d = m->d;
	for (uint32_t w = 0; w < nwait; w++) {
		struct fs_dispatch_request *r = dispatch_req(d, waiting[w]);
		m->narcs = 0;
		int rc = candidates(m, r, w);
		if (rc < 0) {
			return rc;
		}
		stats->arcs += (uint32_t)m->narcs;
		double t0 = clock_now(m);
		if (m->narcs > 1) {
			qsort(m->arcs, m->narcs, sizeof(*m->arcs), compare_arcs);
		}
		/* Best first on the lower bound: stop once no unplanned candidate can beat the best
		 * planned one (ties go to the earlier in bound order: the same choice as before
		 * wherever nothing is closed). */
		struct arc *best = NULL;
		for (size_t k = 0; k < m->narcs && !(best && best->eta_s <= m->arcs[k].eta_s); k++) {
			if (plan_pickup(m, &m->arcs[k], r) && (!best || m->arcs[k].eta_s < best->eta_s)) {
				best = &m->arcs[k];
			}
		}
		if (best) {
			struct vrec *v = &d->veh[best->vehicle];
			m->taken[v->s.id] = 1;
			if ((rc = make_offer(d, r, v, best, m->now_ms, out)) < 0) {
				return rc;
			}
			stats->assigned++;
		}
		m->t_solve += clock_now(m) - t0;
	}
	return 0;
}

/*
 * The candidate searches of a round, spread over the world's workers: the
 * searches (from riders or from vehicles) in chunks, each chunk's arcs kept
 * apart and appended in chunk order, so m->arcs is what one thread makes
 * running them in order. A search reads only what no search writes (the
 * pool, the taken marks, the vehicles' views, filled in by sync_pool(), the
 * riders' index) and routes in its worker's own workspace.
 */
#define CANDIDATE_CHUNK 32

/* Search @i of a pass: rider row @i's vehicles or free vehicle m->cars[@i]'s riders. */
typedef int (*search_fn)(struct match *m, uint32_t i);

static int search_from_rider(struct match *m, uint32_t i)
{
	return candidates(m, dispatch_req(m->d, m->waiting[i]), i);
}

static int search_from_vehicle(struct match *m, uint32_t i)
{
	return rider_candidates(m, m->cars[i]);
}

struct candidate_worker {
	struct match m; /* the round's, with the worker's own buffers and workspace */
	int rc;
};

struct candidate_loop {
	search_fn search;
	uint32_t count;
	struct candidate_worker *workers;
	size_t *chunk_first; /* per chunk: its first arc in its worker's arcs, how many, which worker */
	size_t *chunk_count;
	unsigned *chunk_worker;
};

static void candidates_of_chunk(void *arg, size_t c, unsigned worker)
{
	struct candidate_loop *l = arg;
	struct candidate_worker *w = &l->workers[worker];
	size_t first = w->m.narcs;
	uint32_t end = (c + 1) * CANDIDATE_CHUNK < l->count ? (uint32_t)((c + 1) * CANDIDATE_CHUNK) : l->count;
	for (uint32_t i = (uint32_t)(c * CANDIDATE_CHUNK); i < end && w->rc == 0; i++) {
		w->rc = l->search(&w->m, i);
	}
	l->chunk_first[c] = first;
	l->chunk_count[c] = w->m.narcs - first;
	l->chunk_worker[c] = worker;
}

static int candidates_in_parallel(struct match *m, search_fn search, uint32_t count)
{
	const struct fs_dispatch_world *world = &m->d->w;
	unsigned nw = world->worker_count < FS_DISPATCH_MAX_WORKERS ? world->worker_count : FS_DISPATCH_MAX_WORKERS;
	size_t nchunks = (count + CANDIDATE_CHUNK - 1) / CANDIDATE_CHUNK;
	struct candidate_worker *workers = fs_calloc(nw, sizeof(*workers));
	struct candidate_loop l = { .search = search, .count = count, .workers = workers,
				    .chunk_first = fs_malloc(nchunks * sizeof(size_t)),
				    .chunk_count = fs_malloc(nchunks * sizeof(size_t)),
				    .chunk_worker = fs_malloc(nchunks * sizeof(unsigned)) };
	int rc = workers && l.chunk_first && l.chunk_count && l.chunk_worker ? 0 : -ENOMEM;
	for (unsigned k = 0; rc == 0 && k < nw; k++) {
		struct match *wm = &workers[k].m;
		*wm = *m;
		wm->arcs = NULL;
		wm->narcs = wm->arcs_cap = 0;
		wm->t_cand = wm->t_eta = 0.0;
		wm->query = k ? world->worker_queries[k] : m->query;
		fs_route_query_avoid(wm->query, fs_route_query_avoided(m->query));
		wm->hits = fs_malloc(m->k * sizeof(*wm->hits));
		wm->src = fs_malloc(m->k * sizeof(*wm->src));
		wm->eta = fs_malloc(m->k * sizeof(*wm->eta));
		rc = wm->hits && wm->src && wm->eta ? 0 : -ENOMEM;
	}
	if (rc == 0) {
		world->parallel_for(world->pool, nchunks, candidates_of_chunk, &l);
		size_t total = m->narcs;
		for (unsigned k = 0; k < nw; k++) {
			rc = rc ? rc : workers[k].rc;
			total += workers[k].m.narcs;
			m->t_cand += workers[k].m.t_cand;
			m->t_eta += workers[k].m.t_eta;
		}
		struct arc *a = rc || total <= m->arcs_cap ? m->arcs : fs_realloc(m->arcs, total * sizeof(*a));
		if (!a && total > 0) {
			rc = -ENOMEM;
		} else if (rc == 0) {
			m->arcs = a;
			m->arcs_cap = total > m->arcs_cap ? total : m->arcs_cap;
			for (size_t c = 0; c < nchunks; c++) {
				if (!l.chunk_count[c]) {
					continue; /* (its worker may have no arcs at all: no buffer) */
				}
				memcpy(&m->arcs[m->narcs], &workers[l.chunk_worker[c]].m.arcs[l.chunk_first[c]],
				       l.chunk_count[c] * sizeof(*a));
				m->narcs += l.chunk_count[c];
			}
		}
	}
	for (unsigned k = 0; workers && k < nw; k++) {
		fs_free(workers[k].m.hits);
		fs_free(workers[k].m.src);
		fs_free(workers[k].m.eta);
		fs_free(workers[k].m.arcs);
	}
	fs_free(workers);
	fs_free(l.chunk_first);
	fs_free(l.chunk_count);
	fs_free(l.chunk_worker);
	return rc;
}

/* The pass's feasible pairs into m->arcs, from @count searches of @search, in order. */
static int all_candidates(struct match *m, search_fn search, uint32_t count)
{
	m->narcs = 0;
	const struct fs_dispatch_world *world = &m->d->w;
	if (world->parallel_for && world->worker_count > 1 && world->worker_queries && count >= 2 * CANDIDATE_CHUNK) {
		return candidates_in_parallel(m, search, count);
	}
	for (uint32_t i = 0; i < count; i++) {
		int rc = search(m, i);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int compare_arc_rows(const void *a, const void *b)
{
	const struct arc *x = a, *y = b;
	if (x->row != y->row) {
		return x->row < y->row ? -1 : 1;
	}
	return x->vehicle < y->vehicle ? -1 : x->vehicle > y->vehicle;
}

/* Every free vehicle's riders: the arcs grouped by row, as batch_pass() reads them. */
static int candidates_from_vehicles(struct match *m, const uint64_t *waiting, uint32_t nwait, const uint32_t *cars,
				    uint32_t ncars, struct fs_dispatch_step_stats *stats)
{
	const struct fs_network *net = m->d->w.net;
	double area = fmax(net->max_x - net->min_x, 1.0) * fmax(net->max_y - net->min_y, 1.0);
	double cell = fmin(fmax(sqrt(area / nwait), 100.0), 500.0); /* about the riders' spacing */
	m->riders = fs_spatial_create(net->min_x, net->min_y, net->max_x, net->max_y, cell);
	if (!m->riders) {
		return -ENOMEM;
	}
	int rc = 0;
	for (uint32_t row = 0; row < nwait && rc == 0; row++) {
		const struct fs_dispatch_request *r = dispatch_req(m->d, waiting[row]);
		rc = fs_spatial_insert(m->riders, row, r->origin.x, r->origin.y);
		rc = rc == -ENOMEM ? rc : 0; /* a rider off the map is found by no vehicle */
	}
	if (rc == 0) {
		m->cars = cars;
		rc = all_candidates(m, search_from_vehicle, ncars);
	}
	if (rc == 0 && m->narcs > 1) {
		qsort(m->arcs, m->narcs, sizeof(*m->arcs), compare_arc_rows);
	}
	fs_spatial_destroy(m->riders);
	m->riders = NULL;
	stats->passes_from_vehicles++;
	return rc;
}

/*
 * A pass's feasible pairs into m->arcs, searched from the smaller side. Riders
 * that outnumber the free vehicles (an overloaded city: tens of thousands
 * waiting, a few hundred cars freed a round) can take at most one vehicle
 * each, yet a search from every rider routes riders x candidates pickups a
 * round, and again every round they wait. Then each free vehicle searches
 * its m->k nearest riders instead (the same rule mirrored: same feasibility,
 * one one-to-many ETA query a vehicle), and the passes double the riders
 * searched for the vehicles a pass left free.
 */
static int pass_candidates(struct match *m, const uint64_t *waiting, uint32_t nwait,
			   struct fs_dispatch_step_stats *stats)
{
	struct fs_dispatch *d = m->d;
	m->waiting = waiting;
	uint32_t *cars = fs_malloc(((size_t)nwait < d->nveh ? nwait : d->nveh) * sizeof(*cars) + sizeof(*cars));
	if (!cars) {
		return -ENOMEM;
	}
	uint32_t ncars = 0;
	for (uint32_t id = 0; id < d->nveh && ncars < nwait; id++) {
		if (d->veh[id].in_pool && !m->taken[id]) {
			cars[ncars++] = id;
		}
	}
	m->narcs = 0;
	int rc = ncars == 0      ? 0 /* every car taken: nothing to search */
		 : ncars < nwait ? candidates_from_vehicles(m, waiting, nwait, cars, ncars, stats)
				 : all_candidates(m, search_from_rider, nwait);
	fs_free(cars);
	return rc;
}

static int batch_pass(struct match *m, uint64_t *waiting, uint32_t nwait, struct fs_dispatch_output *out,
		      struct fs_dispatch_step_stats *stats)
{
	struct fs_dispatch *d = m->d;
	int rc0 = pass_candidates(m, waiting, nwait, stats);
	if (rc0 < 0) {
		return rc0;
	}
	stats->arcs += (uint32_t)m->narcs;
	if (!m->narcs) {
		return 0;
	}
	double t0 = clock_now(m);
	int rc = -ENOMEM;
	uint32_t *col_of_vehicle = fs_malloc((size_t)d->nveh * sizeof(*col_of_vehicle));
	uint32_t *vehicle_of_col = fs_malloc(m->narcs * sizeof(*vehicle_of_col));
	uint32_t *row_first = fs_malloc(((size_t)nwait + 1) * sizeof(*row_first));
	uint32_t *col = fs_malloc(m->narcs * sizeof(*col));
	double *cost = fs_malloc(m->narcs * sizeof(*cost));
	size_t *arc_of = fs_malloc(m->narcs * sizeof(*arc_of));
	double *unassigned = fs_malloc((size_t)nwait * sizeof(*unassigned));
	uint32_t *choice = fs_malloc((size_t)nwait * sizeof(*choice));
	if (!col_of_vehicle || !vehicle_of_col || !row_first || !col || !cost || !arc_of || !unassigned || !choice) {
		goto out;
	}
	/* columns: the distinct candidate vehicles, numbered in first-seen order */
	uint32_t ncols = 0;
	for (size_t k = 0; k < m->narcs; k++) {
		col_of_vehicle[m->arcs[k].vehicle] = FS_DISPATCH_NONE;
	}
	for (size_t k = 0; k < m->narcs; k++) {
		uint32_t id = m->arcs[k].vehicle;
		if (col_of_vehicle[id] == FS_DISPATCH_NONE) {
			col_of_vehicle[id] = ncols;
			vehicle_of_col[ncols++] = id;
		}
	}
	for (uint32_t w = 0; w < nwait; w++) {
		/* leaving a rider waiting costs more than any pickup, and more the longer they waited */
		double waited_s = (double)(m->now_ms - dispatch_req(d, waiting[w])->t_request_ms) / MS_PER_S;
		unassigned[w] = d->p.max_pickup_eta_s + 1.0 + waited_s;
	}
	for (int round = 0; round < VERIFY_ROUNDS; round++) {
		/* arcs come grouped by row (candidates() appends row by row) */
		uint32_t n = 0;
		size_t k = 0;
		for (uint32_t w = 0; w < nwait; w++) {
			row_first[w] = n;
			for (; k < m->narcs && m->arcs[k].row == w; k++) {
				if (m->arcs[k].checked == 2) {
					continue;
				}
				col[n] = col_of_vehicle[m->arcs[k].vehicle];
				cost[n] = m->arcs[k].eta_s;
				arc_of[n] = k;
				n++;
			}
		}
		row_first[nwait] = n;
		struct fs_dispatch_assign_problem prob = { .rows = nwait, .cols = ncols, .row_first = row_first,
							   .col = col, .cost = cost, .unassigned_cost = unassigned };
		rc = fs_dispatch_assign_solve(&prob, choice, NULL);
		if (rc < 0) {
			goto out;
		}
		bool all_ok = true;
		for (uint32_t w = 0; w < nwait; w++) {
			if (choice[w] == FS_DISPATCH_NONE) {
				continue;
			}
			for (uint32_t a = row_first[w]; a < row_first[w + 1]; a++) {
				if (col[a] == choice[w]) {
					struct arc *arc = &m->arcs[arc_of[a]];
					/* solved on cost[a]; a pair that failed or came out slower than that
					 * bound calls for another round with what planning found */
					all_ok &= plan_pickup(m, arc, dispatch_req(d, waiting[w])) && arc->eta_s <= cost[a];
					choice[w] = arc->checked == 1 ? (uint32_t)arc_of[a] : FS_DISPATCH_NONE;
					break;
				}
			}
		}
		if (all_ok) {
			break;
		}
		/* the last round keeps the pairs that passed (at their planned ETAs) and leaves the
		 * others waiting */
	}
	m->t_solve += clock_now(m) - t0;
	for (uint32_t w = 0; w < nwait; w++) {
		if (choice[w] == FS_DISPATCH_NONE) {
			continue;
		}
		const struct arc *arc = &m->arcs[choice[w]];
		m->taken[arc->vehicle] = 1;
		if ((rc = make_offer(d, dispatch_req(d, waiting[w]), &d->veh[arc->vehicle], arc, m->now_ms, out)) < 0) {
			goto out;
		}
		stats->assigned++;
	}
	rc = 0;
out:
	fs_free(col_of_vehicle);
	fs_free(vehicle_of_col);
	fs_free(row_first);
	fs_free(col);
	fs_free(cost);
	fs_free(arc_of);
	fs_free(unassigned);
	fs_free(choice);
	return rc;
}

/*
 * Riders who share a place share their nearest vehicles: with k candidates
 * each, one assignment can match at most k of them per place, however many
 * idle vehicles stand a little farther off. So the riders a pass leaves
 * unmatched are matched again among the vehicles still free, with twice the
 * candidates, while passes keep matching someone.
 */
static int match_batch(struct match *m, uint64_t *waiting, uint32_t nwait, struct fs_dispatch_output *out,
		       struct fs_dispatch_step_stats *stats)
{
	struct fs_dispatch *d = m->d;
	for (;;) {
		uint32_t before = stats->assigned;
		int rc = batch_pass(m, waiting, nwait, out, stats);
		if (rc < 0 || stats->assigned == before || m->k >= MAX_CANDIDATES) {
			return rc;
		}
		uint32_t left = 0;
		for (uint32_t w = 0; w < nwait; w++) {
			if (dispatch_req(d, waiting[w])->status == FS_DISPATCH_REQUESTED) {
				waiting[left++] = waiting[w];
			}
		}
		if (!left) {
			return 0;
		}
		nwait = left;
		m->k = m->k * 2 < MAX_CANDIDATES ? m->k * 2 : MAX_CANDIDATES;
		stats->batch_passes++;
	}
}

int dispatch_match(struct fs_dispatch *d, int64_t now_ms, struct fs_dispatch_output *out,
		   struct fs_dispatch_step_stats *stats)
{
	d->counters.match_rounds++;
	stats->matched = true;
	/* waiting riders, in arrival order */
	uint64_t *waiting = fs_malloc((d->nopen ? d->nopen : 1) * sizeof(*waiting));
	if (!waiting) {
		return -ENOMEM;
	}
	uint32_t nwait = 0;
	for (size_t i = 0; i < d->nopen; i++) {
		if (dispatch_request_aboard(d, d->open[i])) {
			continue;
		}
		const struct fs_dispatch_request *r = dispatch_req(d, d->open[i]);
		if (r->status == FS_DISPATCH_REQUESTED && r->admitted && r->t_request_ms <= now_ms) {
			waiting[nwait++] = r->id;
		}
	}
	stats->waiting = nwait;
	if (!nwait) {
		fs_free(waiting);
		return 0;
	}
	struct match m = { .d = d, .now_ms = now_ms, .hour = dispatch_hour(d, now_ms), .clock_us = stats->clock_us,
			   .k = d->p.candidates, .query = d->w.query, .night = dispatch_is_night(d, now_ms) };
	double t0 = clock_now(&m);
	int rc = sync_pool(d, now_ms, &stats->eligible);
	m.t_cand += clock_now(&m) - t0;
	if (rc < 0) {
		fs_free(waiting);
		return rc;
	}
	rc = -ENOMEM;
	m.taken = fs_calloc(d->nveh ? d->nveh : 1, 1);
	uint32_t kmax = d->p.matcher == FS_DISPATCH_MATCH_BATCH && d->p.candidates < MAX_CANDIDATES ? MAX_CANDIDATES
														: d->p.candidates;
	m.hits = fs_malloc(kmax * sizeof(*m.hits));
	m.src = fs_malloc(kmax * sizeof(*m.src));
	m.eta = fs_malloc(kmax * sizeof(*m.eta));
	if (m.taken && m.hits && m.src && m.eta) {
		rc = stats->eligible == 0 ? 0
		     : d->p.matcher == FS_DISPATCH_MATCH_GREEDY ? match_greedy(&m, waiting, nwait, out, stats)
								: match_batch(&m, waiting, nwait, out, stats);
	}
	stats->candidates_us = m.t_cand;
	stats->eta_us = m.t_eta;
	stats->solve_us = m.t_solve;
	fs_free(m.taken);
	fs_free(m.hits);
	fs_free(m.src);
	fs_free(m.eta);
	fs_free(m.arcs);
	fs_free(waiting);
	return rc;
}
