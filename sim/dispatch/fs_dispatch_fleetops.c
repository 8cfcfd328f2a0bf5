/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_dispatch_fleetops - what the platform does with cars that carry no
 * rider: charging and rebalancing (see fs/dispatch.h for the order).
 *
 * Charging. fs-vehicle plugs a car in wherever it is sent (its depots have
 * no plug limit: with several shards no process sees every car), so the plug
 * count is enforced here: a plug is reserved when the charge job is sent and
 * freed when the car leaves the charger. A car that needs energy (below
 * params.charge_soc, or it asked) joins a queue; the queue is served first
 * come, first served, each car going to the depot with a free plug that is
 * nearest in travel time. Off-peak (the hour's share of daily demand below
 * params.offpeak_share) idle cars below params.opportunistic_soc top up on
 * free plugs, as long as the idle cars left exceed the demand expected over
 * the horizon.
 *
 * Rebalancing. Every params.rebalance_s, idle supply per zone (idle cars
 * there plus cars repositioning towards it) is compared with the share of
 * expected demand over the horizon; each zone's target is the idle fleet
 * times its share. Cars idle for at least params.min_idle_s in zones above
 * target (the longest idle first) are moved to zones below it by a minimum
 * total distance assignment (fs_dispatch_assign_solve(), rows = cars, columns
 * = missing cars, moves longer than params.max_reposition_m not allowed),
 * at most params.max_move_share of the idle fleet per round.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs_dispatch_internal.h"

#define OBSERVED_TAU_S 3600.0 /* memory of the learnt demand: one hour */

/* ---- expected demand ------------------------------------------------------------------------- */

static void decay_observed(struct fs_dispatch *d, int64_t t_ms)
{
	if (d->observed_ms == INT64_MIN) {
		d->observed_ms = t_ms;
		return;
	}
	if (t_ms <= d->observed_ms) {
		return;
	}
	double f = exp(-(double)(t_ms - d->observed_ms) / MS_PER_S / OBSERVED_TAU_S);
	uint32_t n = fs_dispatch_zone_count(d);
	for (uint32_t z = 0; z < n; z++) {
		d->zones[z].observed *= f;
	}
	d->observed_ms = t_ms;
}

void dispatch_observe_request(struct fs_dispatch *d, uint32_t zone, int64_t t_ms)
{
	/* decay lazily: only when a minute has passed, so a request costs O(1) */
	if (d->observed_ms == INT64_MIN || t_ms - d->observed_ms >= 60000) {
		decay_observed(d, t_ms);
	}
	d->zones[zone].observed += 1.0;
}

static bool has_profile(const struct fs_dispatch *d)
{
	return d->w.profile && d->w.trips_per_day > 0.0 && d->w.profile->slots_per_day > 0;
}

/* Share of the day's demand in the local hour containing @t_ms (profile or flat). */
static double hour_share(const struct fs_dispatch *d, int64_t t_ms)
{
	if (!has_profile(d)) {
		return 1.0 / 24.0;
	}
	const struct fs_demand_profile *p = d->w.profile;
	int hour = dispatch_local_hour(d, t_ms);
	uint32_t per_hour = p->slots_per_day / 24;
	double s = 0.0;
	if (per_hour == 0) {
		return p->slot_share[(uint32_t)hour * p->slots_per_day / 24] * (double)p->slots_per_day / 24.0;
	}
	for (uint32_t k = 0; k < per_hour; k++) {
		s += p->slot_share[(uint32_t)hour * per_hour + k];
	}
	return s;
}

/* Requests expected city-wide in [t, t + horizon). */
static double expected_total(const struct fs_dispatch *d, int64_t t_ms, double horizon_s)
{
	if (has_profile(d)) {
		const struct fs_demand_profile *p = d->w.profile;
		int64_t slot_ms = 86400000 / p->slots_per_day; /* slots divide the day in whole minutes */
		double sum = 0.0, t = 0.0;
		while (t < horizon_s) {
			int64_t local = fs_timezone_local_ms(d->w.tz, t_ms + (int64_t)(t * MS_PER_S));
			int64_t day_ms = (local % 86400000 + 86400000) % 86400000;
			int64_t slot = day_ms / slot_ms;
			double step = fmin((double)((slot + 1) * slot_ms - day_ms) / MS_PER_S, horizon_s - t);
			sum += d->w.trips_per_day * p->slot_share[slot] * step / ((double)slot_ms / MS_PER_S);
			t += step;
		}
		return sum;
	}
	/* learnt: the decayed count over tau approximates the recent rate */
	double total = 0.0;
	uint32_t n = fs_dispatch_zone_count(d);
	for (uint32_t z = 0; z < n; z++) {
		total += d->zones[z].observed;
	}
	double f = d->observed_ms == INT64_MIN ? 0.0 : exp(-(double)(t_ms - d->observed_ms) / MS_PER_S / OBSERVED_TAU_S);
	return total * fmin(f, 1.0) / OBSERVED_TAU_S * horizon_s;
}

static double zone_share(const struct fs_dispatch *d, uint32_t z, double observed_total)
{
	if (d->w.places && d->w.place_count) {
		return d->zones[z].prior;
	}
	return observed_total > 0.0 ? d->zones[z].observed / observed_total : 0.0;
}

double fs_dispatch_expected_demand(const struct fs_dispatch *d, uint32_t zone, int64_t t_ms, double horizon_s)
{
	uint32_t n = fs_dispatch_zone_count(d);
	if (zone >= n || !(horizon_s > 0)) {
		return 0.0;
	}
	double total = 0.0;
	for (uint32_t z = 0; z < n; z++) {
		total += d->zones[z].observed;
	}
	return expected_total(d, t_ms, horizon_s) * zone_share(d, zone, total);
}

/* ---- charging ------------------------------------------------------------------------------ */

/* Cars on a charger that the platform did not send (a car that ran flat at a depot plugs
 * itself in) still take a plug: count them at the nearest depot. */
static void count_unplanned(struct fs_dispatch *d, uint32_t *extra, struct fs_dispatch_step_stats *stats)
{
	const struct fs_network *net = d->w.net;
	uint32_t nwatch;
	const uint32_t *watch = dispatch_watch_list(d, &nwatch); /* every vehicle on a charger among them */
	stats->vehicles_examined += nwatch;
	for (uint32_t i = 0; i < nwatch; i++) {
		const struct vrec *v = &d->veh[watch[i]];
		if (!v->known || v->claim == CLAIM_CHARGE || v->s.state != FS_VEHICLE_CHARGING) {
			continue;
		}
		uint32_t best = 0;
		double best_d = INFINITY;
		for (uint32_t k = 0; k < d->w.depot_count; k++) {
			const struct fs_node *n = &net->nodes[d->w.depot_nodes[k]];
			double dd = hypot(n->x - dispatch_view(d, v)->x, n->y - dispatch_view(d, v)->y);
			if (dd < best_d) {
				best_d = dd;
				best = k;
			}
		}
		extra[best]++;
	}
}

static bool may_charge(const struct fs_dispatch *d, const struct vrec *v, int64_t now_ms)
{
	return v->known && (v->s.state == FS_VEHICLE_AVAILABLE || v->s.state == FS_VEHICLE_REPOSITIONING) &&
	       (v->claim == CLAIM_NONE || v->claim == CLAIM_REPOSITION) && v->cmd_ms != now_ms &&
	       v->s.edge != FS_NO_EDGE && v->cooldown_until_ms <= now_ms;
}

static bool any_plug_free(const struct fs_dispatch *d, const uint32_t *extra)
{
	for (uint32_t k = 0; k < d->w.depot_count; k++) {
		if (d->plugs_in_use[k] + extra[k] < d->plugs[k]) {
			return true;
		}
	}
	return false;
}

/* The depot with a free plug nearest to @v in travel time; FS_DISPATCH_NONE if none is free. */
static uint32_t pick_depot(struct fs_dispatch *d, const struct vrec *v, const uint32_t *extra, int64_t now_ms)
{
	if (!any_plug_free(d, extra)) {
		return FS_DISPATCH_NONE; /* at the peaks, for every car of a long queue: no travel times needed */
	}
	const struct fs_network *net = d->w.net;
	struct fs_road_pos targets[FS_DISPATCH_MAX_DEPOTS];
	double times[FS_DISPATCH_MAX_DEPOTS];
	uint32_t n = d->w.depot_count;
	for (uint32_t k = 0; k < n; k++) {
		targets[k] = (struct fs_road_pos){ d->depot_stop_edge[k], net->edges[d->depot_stop_edge[k]].length_m };
	}
	struct fs_road_pos from = { v->s.edge, dispatch_view(d, v)->offset_m };
	if (fs_route_one_to_many(d->w.query, dispatch_hour(d, now_ms), from, targets, n, times) < 0) {
		for (uint32_t k = 0; k < n; k++) { /* fall back to the straight line */
			const struct fs_node *node = &net->nodes[d->w.depot_nodes[k]];
			times[k] = hypot(node->x - dispatch_view(d, v)->x, node->y - dispatch_view(d, v)->y) / d->p.charge_speed_mps;
		}
	}
	/* nearest free depot first; a car whose ODD excludes motorways takes the first it can reach
	 * on fs-vehicle's fastest route without one */
	bool tried[FS_DISPATCH_MAX_DEPOTS] = { false };
	for (;;) {
		uint32_t best = FS_DISPATCH_NONE;
		for (uint32_t k = 0; k < n; k++) {
			if (tried[k] || d->plugs_in_use[k] + extra[k] >= d->plugs[k] || !isfinite(times[k])) {
				continue;
			}
			if (best == FS_DISPATCH_NONE || times[k] < times[best]) {
				best = k;
			}
		}
		if (best == FS_DISPATCH_NONE || dispatch_route_in_odd(d, v, d->depot_stop_edge[best], now_ms)) {
			return best;
		}
		tried[best] = true;
	}
}

static int send_to_charge(struct fs_dispatch *d, struct vrec *v, uint32_t depot, int64_t now_ms,
			  struct fs_dispatch_output *out)
{
	uint64_t job = dispatch_new_job(d, JOB_CHARGE, v->s.id, 0);
	if (!job) {
		return -ENOMEM;
	}
	if (v->in_pool) {
		fs_spatial_remove(d->pool, v->s.id);
		v->in_pool = false;
	}
	dispatch_set_claim(d, v, CLAIM_CHARGE, depot, job, 0, now_ms);
	d->counters.charge_jobs++;
	struct fs_dispatch_job j = { .job_id = job, .vehicle_id = v->s.id, .stop_count = 1 };
	j.stops[0] = (struct fs_dispatch_stop){ .kind = FS_DISPATCH_STOP_CHARGE, .depot = depot,
						.edge = d->depot_stop_edge[depot],
						.offset_m = d->w.net->edges[d->depot_stop_edge[depot]].length_m,
						.point = dispatch_edge_end(d->w.net, d->depot_stop_edge[depot]) };
	return dispatch_emit_job(out, &j);
}

/*
 * A sort key with an index: vehicles by charge, zones by distance,
 * moves by length.
 */
struct ranked {
	double key;
	uint32_t index;
};

static int compare_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->key != y->key) {
		return x->key < y->key ? -1 : 1;
	}
	return x->index < y->index ? -1 : x->index > y->index;
}

int dispatch_charge(struct fs_dispatch *d, int64_t now_ms, struct fs_dispatch_output *out,
		    struct fs_dispatch_step_stats *stats)
{
	if (!d->p.charging || d->w.depot_count == 0) {
		return 0;
	}
	uint32_t extra[FS_DISPATCH_MAX_DEPOTS] = { 0 };
	count_unplanned(d, extra, stats);
	/* leave the queue: no longer able to go (a rider, a fault) or no longer in need */
	size_t keep = 0;
	for (size_t i = 0; i < d->nqueue; i++) {
		struct vrec *v = &d->veh[d->queue[i]];
		if (v->claim == CLAIM_CHARGE || !dispatch_needs_charge(d, v) || !dispatch_healthy(v)) {
			v->queued_ms = NO_TIME;
			dispatch_touch(d, v);
			continue;
		}
		d->queue[keep++] = d->queue[i];
	}
	d->nqueue = keep;
	/* join the queue, in id order (every vehicle in need of a charger is watched) */
	uint32_t nwatch;
	dispatch_watch_list(d, &nwatch);
	stats->vehicles_examined += nwatch;
	for (uint32_t i = 0; i < nwatch; i++) {
		uint32_t id = d->watch[i];
		struct vrec *v = &d->veh[id];
		if (v->queued_ms != NO_TIME || !may_charge(d, v, now_ms) || !dispatch_needs_charge(d, v) ||
		    !dispatch_healthy(v)) {
			continue;
		}
		if (FS_GROW(d->queue, d->queue_cap, d->nqueue + 1) < 0) {
			return -ENOMEM;
		}
		v->queued_ms = now_ms;
		dispatch_touch(d, v);
		if (v->in_pool) {
			fs_spatial_remove(d->pool, id);
			v->in_pool = false;
		}
		d->queue[d->nqueue++] = id;
		d->counters.charge_queued++;
	}
	/* serve it, first come first served (the queue is in arrival order, ties by id) */
	keep = 0;
	for (size_t i = 0; i < d->nqueue; i++) {
		struct vrec *v = &d->veh[d->queue[i]];
		uint32_t depot = may_charge(d, v, now_ms) ? pick_depot(d, v, extra, now_ms) : FS_DISPATCH_NONE;
		if (depot == FS_DISPATCH_NONE) {
			d->queue[keep++] = d->queue[i];
			continue;
		}
		d->counters.charge_queue_wait_s += (double)(now_ms - v->queued_ms) / MS_PER_S;
		v->queued_ms = NO_TIME;
		dispatch_touch(d, v);
		int rc = send_to_charge(d, v, depot, now_ms, out);
		if (rc < 0) {
			return rc;
		}
		stats->sent_to_charge++;
	}
	d->nqueue = keep;
	/* off-peak top-ups on free plugs, lowest charge first (with none free, no car would go: the
	 * walk over the idle fleet is skipped) */
	if (d->nqueue == 0 && hour_share(d, now_ms) < d->p.offpeak_share && any_plug_free(d, extra)) {
		struct ranked *keys = fs_malloc((d->nveh ? d->nveh : 1) * sizeof(*keys));
		if (!keys) {
			return -ENOMEM;
		}
		uint32_t nkeys = 0, idle = 0;
		stats->vehicles_examined += d->nveh;
		for (uint32_t id = 0; id < d->nveh; id++) {
			const struct vrec *v = &d->veh[id];
			if (!may_charge(d, v, now_ms) || v->s.state != FS_VEHICLE_AVAILABLE || v->claim != CLAIM_NONE ||
			    !dispatch_healthy(v)) {
				continue;
			}
			idle++;
			if (dispatch_view(d, v)->soc < d->p.opportunistic_soc &&
			    now_ms - v->idle_since_ms >= (int64_t)(d->p.min_idle_s * MS_PER_S)) {
				keys[nkeys++] = (struct ranked){ dispatch_view(d, v)->soc, id };
			}
		}
		qsort(keys, nkeys, sizeof(*keys), compare_ranked);
		double needed = expected_total(d, now_ms, d->p.horizon_s);
		for (uint32_t k = 0; k < nkeys && (double)idle - 1.0 > needed; k++) {
			struct vrec *v = &d->veh[keys[k].index];
			uint32_t depot = pick_depot(d, v, extra, now_ms);
			if (depot == FS_DISPATCH_NONE) {
				break;
			}
			int rc = send_to_charge(d, v, depot, now_ms, out);
			if (rc < 0) {
				fs_free(keys);
				return rc;
			}
			idle--;
			d->counters.opportunistic_charges++;
			stats->sent_to_charge++;
		}
		fs_free(keys);
	}
	for (uint32_t k = 0; k < d->w.depot_count; k++) {
		uint32_t used = d->plugs_in_use[k] + extra[k];
		if (used > d->counters.peak_plugs_in_use[k]) {
			d->counters.peak_plugs_in_use[k] = used;
		}
	}
	return 0;
}

/* ---- rebalancing --------------------------------------------------------------------------- */

struct mover {
	int64_t idle_since_ms;
	uint32_t id;
	uint32_t zone;
};

static int compare_movers(const void *a, const void *b)
{
	const struct mover *x = a, *y = b;
	if (x->zone != y->zone) {
		return x->zone < y->zone ? -1 : 1;
	}
	if (x->idle_since_ms != y->idle_since_ms) {
		return x->idle_since_ms < y->idle_since_ms ? -1 : 1;
	}
	return x->id < y->id ? -1 : x->id > y->id;
}

#define REBALANCE_ARCS 32

static bool idle_for_rebalancing(const struct fs_dispatch *d, const struct vrec *v, int64_t now_ms)
{
	return v->known && v->s.state == FS_VEHICLE_AVAILABLE &&
	       v->claim == CLAIM_NONE && v->cmd_ms != now_ms &&
	       v->queued_ms == NO_TIME && v->s.edge != FS_NO_EDGE && dispatch_healthy(v) &&
	       !dispatch_needs_charge(d, v) && v->cooldown_until_ms <= now_ms;
}

/* One rebalancing pass: the idle supply per zone, the cars that may leave
 * (rows: movers[0..nrows)), the places below target they may go to
 * (slots), and the sparse distance matrix between them. */
struct rebalance {
	double *supply;          /* per zone */
	double total_supply;
	struct mover *movers;    /* idle long enough, by zone then longest idle */
	uint32_t nmovers, nrows;
	uint32_t *slot_zone;     /* per slot */
	uint32_t nslots;
	uint32_t *row_first, *col, *choice;
	double *cost, *unassigned;
	struct ranked *near;
};

static void rebalance_free(struct rebalance *rb)
{
	fs_free(rb->supply);
	fs_free(rb->movers);
	fs_free(rb->slot_zone);
	fs_free(rb->row_first);
	fs_free(rb->col);
	fs_free(rb->cost);
	fs_free(rb->unassigned);
	fs_free(rb->choice);
	fs_free(rb->near);
}

/* supply: idle cars where they are, repositioning cars where they go */
static void count_supply(struct fs_dispatch *d, int64_t now_ms, struct rebalance *rb)
{
	int64_t min_idle = (int64_t)(d->p.min_idle_s * MS_PER_S);
	for (uint32_t id = 0; id < d->nveh; id++) {
		const struct vrec *v = &d->veh[id];
		if (!v->known) {
			continue;
		}
		if (v->claim == CLAIM_REPOSITION) {
			rb->supply[v->target] += 1.0;
			rb->total_supply += 1.0;
		} else if (idle_for_rebalancing(d, v, now_ms)) {
			struct fs_point p = { dispatch_view(d, v)->x, dispatch_view(d, v)->y };
			uint32_t z = fs_dispatch_zone_of(d, p);
			rb->supply[z] += 1.0;
			rb->total_supply += 1.0;
			if (now_ms - v->idle_since_ms >= min_idle) {
				rb->movers[rb->nmovers++] = (struct mover){ v->idle_since_ms, id, z };
			}
		}
	}
}

/* targets: the demand expected over the horizon, scaled down to the idle fleet when it
 * is short, so that only real gaps pull cars (no churn while supply is ample). Leaves
 * nrows or nslots 0 when no zone is off its target. */
static int place_targets(struct fs_dispatch *d, double expected, double observed_total, struct rebalance *rb)
{
	uint32_t nz = fs_dispatch_zone_count(d);
	rb->slot_zone = fs_malloc((size_t)(rb->total_supply + 1.0) * sizeof(*rb->slot_zone));
	if (!rb->slot_zone) {
		return -ENOMEM;
	}
	double share_total = 0.0;
	for (uint32_t z = 0; z < nz; z++) {
		share_total += d->zones[z].stop_edge != FS_DISPATCH_NONE ? zone_share(d, z, observed_total) : 0.0;
	}
	if (!(share_total > 0.0)) {
		return 0;
	}
	double scale = fmin(1.0, rb->total_supply / expected);
	uint32_t w = 0;
	for (uint32_t z = 0; z < nz; z++) {
		double share = d->zones[z].stop_edge != FS_DISPATCH_NONE ? zone_share(d, z, observed_total) / share_total : 0.0;
		double target = expected * share * scale;
		/* leavers: above the target rounded up, the longest idle first */
		double surplus = rb->supply[z] - ceil(target);
		uint32_t first = w;
		while (w < rb->nmovers && rb->movers[w].zone == z) {
			w++;
		}
		for (uint32_t k = first; k < w && surplus >= 1.0; k++, surplus -= 1.0) {
			rb->movers[rb->nrows++] = rb->movers[k]; /* compacts in place: nrows <= k */
		}
		/* room: below the target rounded to the nearest car */
		for (double deficit = round(target) - rb->supply[z];
		     deficit >= 1.0 && rb->nslots < (uint32_t)rb->total_supply; deficit -= 1.0) {
			rb->slot_zone[rb->nslots++] = z;
		}
	}
	return 0;
}

/* least total distance, moves no longer than max_reposition_m; each car may take a slot
 * of its nearest zones below target (REBALANCE_ARCS slots at most: the matrix stays sparse) */
static int build_arcs(struct fs_dispatch *d, struct rebalance *rb)
{
	uint32_t nrows = rb->nrows, nslots = rb->nslots;
	size_t narcs = (size_t)nrows * (nslots < REBALANCE_ARCS ? nslots : REBALANCE_ARCS);
	rb->row_first = fs_malloc(((size_t)nrows + 1) * sizeof(*rb->row_first));
	rb->col = fs_malloc(narcs * sizeof(*rb->col));
	rb->cost = fs_malloc(narcs * sizeof(*rb->cost));
	rb->unassigned = fs_malloc((size_t)nrows * sizeof(*rb->unassigned));
	rb->choice = fs_malloc((size_t)nrows * sizeof(*rb->choice));
	rb->near = fs_malloc(((size_t)(nslots > nrows ? nslots : nrows)) * sizeof(*rb->near));
	if (!rb->row_first || !rb->col || !rb->cost || !rb->unassigned || !rb->choice || !rb->near) {
		return -ENOMEM;
	}
	const struct fs_network *net = d->w.net;
	const uint32_t *slot_zone = rb->slot_zone;
	struct ranked *near = rb->near;
	uint32_t n = 0;
	for (uint32_t r = 0; r < nrows; r++) {
		const struct vrec *v = &d->veh[rb->movers[r].id];
		rb->row_first[r] = n;
		rb->unassigned[r] = d->p.max_reposition_m;
		uint32_t nnear = 0;
		for (uint32_t s0 = 0; s0 < nslots; s0++) {
			if (s0 > 0 && slot_zone[s0] == slot_zone[s0 - 1]) {
				continue; /* one entry per zone: its slots are consecutive */
			}
			const struct fs_node *node = &net->nodes[d->zones[slot_zone[s0]].node];
			double dist = hypot(node->x - dispatch_view(d, v)->x, node->y - dispatch_view(d, v)->y);
			if (dist < d->p.max_reposition_m) {
				near[nnear++] = (struct ranked){ dist, s0 };
			}
		}
		qsort(near, nnear, sizeof(*near), compare_ranked);
		for (uint32_t k = 0; k < nnear && n - rb->row_first[r] < REBALANCE_ARCS; k++) {
			for (uint32_t s1 = near[k].index;
			     s1 < nslots && slot_zone[s1] == slot_zone[near[k].index] && n - rb->row_first[r] < REBALANCE_ARCS;
			     s1++) {
				rb->col[n] = s1;
				rb->cost[n] = near[k].key;
				n++;
			}
		}
	}
	rb->row_first[nrows] = n;
	return 0;
}

/* Send the chosen moves, at most max_move_share of the supply: over the limit, the
 * shortest moves go. */
static int send_moves(struct fs_dispatch *d, int64_t now_ms, struct rebalance *rb, struct fs_dispatch_output *out,
		      struct fs_dispatch_step_stats *stats)
{
	const struct fs_network *net = d->w.net;
	struct ranked *near = rb->near;
	uint32_t limit = (uint32_t)floor(d->p.max_move_share * rb->total_supply);
	if (limit < 1) {
		limit = 1;
	}
	uint32_t nmoves = 0;
	for (uint32_t r = 0; r < rb->nrows; r++) {
		if (rb->choice[r] == FS_DISPATCH_NONE) {
			continue;
		}
		for (uint32_t k = rb->row_first[r]; k < rb->row_first[r + 1]; k++) {
			if (rb->col[k] == rb->choice[r]) {
				near[nmoves++] = (struct ranked){ rb->cost[k], r };
				break;
			}
		}
	}
	qsort(near, nmoves, sizeof(*near), compare_ranked);
	for (uint32_t m = 0; m < nmoves && m < limit; m++) {
		uint32_t r = near[m].index;
		struct vrec *v = &d->veh[rb->movers[r].id];
		uint32_t z = rb->slot_zone[rb->choice[r]];
		if (!dispatch_route_in_odd(d, v, d->zones[z].stop_edge, now_ms)) {
			continue; /* fs-vehicle would refuse the drive */
		}
		if (d->node_in_area && !d->node_in_area[net->edges[d->zones[z].stop_edge].to]) {
			continue; /* outside the service area */
		}
		uint64_t job = dispatch_new_job(d, JOB_REPOSITION, v->s.id, 0);
		if (!job) {
			return -ENOMEM;
		}
		dispatch_set_claim(d, v, CLAIM_REPOSITION, z, job, 0, now_ms);
		struct fs_dispatch_job j = { .job_id = job, .vehicle_id = v->s.id, .stop_count = 1 };
		uint32_t e = d->zones[z].stop_edge;
		j.stops[0] = (struct fs_dispatch_stop){ .kind = FS_DISPATCH_STOP_REPOSITION, .edge = e,
							.offset_m = net->edges[e].length_m,
							.point = dispatch_edge_end(net, e) };
		int rc = dispatch_emit_job(out, &j);
		if (rc < 0) {
			return rc;
		}
		d->counters.repositions++;
		stats->repositioned++;
	}
	return 0;
}

int dispatch_rebalance(struct fs_dispatch *d, int64_t now_ms, struct fs_dispatch_output *out,
		       struct fs_dispatch_step_stats *stats)
{
	uint32_t nz = fs_dispatch_zone_count(d);
	double observed_total = 0.0;
	for (uint32_t z = 0; z < nz; z++) {
		observed_total += d->zones[z].observed;
	}
	double expected = expected_total(d, now_ms, d->p.horizon_s);
	if (!(expected > 0.0)) {
		return 0;
	}
	struct rebalance rb = { .supply = fs_calloc(nz, sizeof(*rb.supply)),
				.movers = fs_malloc((d->nveh ? d->nveh : 1) * sizeof(*rb.movers)) };
	int rc = -ENOMEM;
	if (!rb.supply || !rb.movers) {
		goto out;
	}
	count_supply(d, now_ms, &rb);
	rc = 0;
	if (!rb.nmovers) {
		goto out;
	}
	qsort(rb.movers, rb.nmovers, sizeof(*rb.movers), compare_movers);
	if ((rc = place_targets(d, expected, observed_total, &rb)) < 0 || !rb.nrows || !rb.nslots) {
		goto out;
	}
	if ((rc = build_arcs(d, &rb)) < 0) {
		goto out;
	}
	struct fs_dispatch_assign_problem prob = { .rows = rb.nrows, .cols = rb.nslots, .row_first = rb.row_first,
						   .col = rb.col, .cost = rb.cost, .unassigned_cost = rb.unassigned };
	if ((rc = fs_dispatch_assign_solve(&prob, rb.choice, NULL)) < 0) {
		goto out;
	}
	rc = send_moves(d, now_ms, &rb, out, stats);
out:
	rebalance_free(&rb);
	return rc;
}
