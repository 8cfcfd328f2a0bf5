/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_fleet - the vehicles of one shard, advanced event by event.
 *
 * Design:
 *  - Vehicles live in one array sorted by id (a shard adds its ids in order),
 *    so lookups are a binary search and no hash table costs memory.
 *  - Each vehicle has one next-event time: the earliest of its state timer,
 *    the end of its motion segment (an edge, or a stop), its next fault (on
 *    the powered-time clock) and, when parked, the moment its battery crosses
 *    the charge-request or empty mark. A binary min-heap keyed by (time,
 *    vehicle id) orders them, so fs_fleet_advance() pops exactly the vehicles
 *    with something due, in an order that does not depend on how the fleet
 *    was split or how often it is advanced. A parked vehicle costs nothing.
 *  - Routes live in one arena of edge ids; a vehicle keeps (offset, length,
 *    position). Abandoned routes are garbage until the arena fills, then the
 *    live remainders are compacted into a buffer 1.5 times their size
 *    (amortised O(1) per edge: a compaction copying L live edges is followed
 *    by at least L/2 new ones; the capacity floor of 16 edges per vehicle
 *    keeps a mostly idle fleet from compacting often).
 *  - State changes go through go(), which runs the exit and entry actions
 *    (plug release and queue promotion, data upload, pending software) around
 *    the bare state machine, so every path through the fleet runs them.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/heap.h"
#include "fs/vehicle.h"
#include "fs/weather.h"
#include "fs_vehicle_internal.h"

#define NO_INDEX UINT32_MAX
#define ARENA_MIN 1024
#define ARENA_PER_VEHICLE 16

struct heap_entry {
	int64_t t;
	uint32_t id;
	uint32_t idx;
};

struct depot {
	uint32_t node;
	uint32_t edge;      /* in-edge of node where parked vehicles stand (at its end) */
	double plug_kw;
	uint32_t plugs;
	uint32_t busy;
	uint32_t q_head, q_tail, q_len; /* FIFO of vehicle indices waiting for a plug */
};

struct fs_fleet {
	const struct fs_network *net;
	struct fs_vehicle_params params; /* vehicles point here ... */
	struct fs_vehicle_params variants[FS_FLEET_VARIANTS_MAX]; /* ... or here (OEM programmes) */
	uint32_t variant_count;
	struct fs_fleet_stats variant_stats[FS_FLEET_VARIANTS_MAX + 1]; /* [0]: the fleet's params */
	uint64_t seed;
	struct fs_vehicle *v;
	uint32_t count, cap;
	struct heap_entry *heap;
	size_t heap_count;
	uint32_t heap_cap;
	uint32_t *arena;
	size_t arena_used, arena_cap;
	struct depot *depots;
	uint32_t depot_count;
	size_t depot_cap;
	struct fs_conditions cond;
	uint64_t weather_version; /* of cond.weather, to notice a change of zone weather */
	struct fs_zone zone;
	bool has_zone;
	int64_t now_ms;
	struct fs_fleet_stats stats;
	/* The fleet hash is kept as a running sum of cached vehicle hashes; a
	 * vehicle is rehashed only if it changed (every change goes through
	 * begin() or reschedule(), which mark it), so a tick costs in
	 * proportion to the vehicles it touched, not to the fleet. */
	uint64_t *vhash;
	uint8_t *dirty;            /* DIRTY_* bits per vehicle */
	uint32_t *dirty_list;      /* to rehash */
	uint32_t dirty_count;
	uint32_t *touched_list;    /* to look at for news (fs_fleet_touched) */
	uint32_t touched_count;
	uint32_t hash_cap;
	uint64_t hash_sum;
};

enum { DIRTY_HASH = 1, DIRTY_TOUCHED = 2 };

static void mark_dirty(struct fs_fleet *f, uint32_t idx)
{
	if (!(f->dirty[idx] & DIRTY_HASH)) {
		f->dirty[idx] |= DIRTY_HASH;
		f->dirty_list[f->dirty_count++] = idx;
	}
	if (!(f->dirty[idx] & DIRTY_TOUCHED)) {
		f->dirty[idx] |= DIRTY_TOUCHED;
		f->touched_list[f->touched_count++] = idx;
	}
}

static int grow_hash(struct fs_fleet *f, uint32_t cap)
{
	if (cap <= f->hash_cap) {
		return 0;
	}
	uint64_t *h = fs_realloc(f->vhash, (size_t)cap * sizeof(*h));
	if (!h) {
		return -ENOMEM;
	}
	f->vhash = h;
	uint8_t *d = fs_realloc(f->dirty, cap);
	if (!d) {
		return -ENOMEM;
	}
	f->dirty = d;
	uint32_t *l = fs_realloc(f->dirty_list, (size_t)cap * sizeof(*l));
	if (!l) {
		return -ENOMEM;
	}
	f->dirty_list = l;
	l = fs_realloc(f->touched_list, (size_t)cap * sizeof(*l));
	if (!l) {
		return -ENOMEM;
	}
	f->touched_list = l;
	memset(f->vhash + f->hash_cap, 0, (size_t)(cap - f->hash_cap) * sizeof(*h));
	memset(f->dirty + f->hash_cap, 0, cap - f->hash_cap);
	f->hash_cap = cap;
	return 0;
}

/* ---- heap ------------------------------------------------------------------- */

static inline bool before(const struct fs_fleet *f, const struct heap_entry *a, const struct heap_entry *b)
{
	return a->t < b->t || (a->t == b->t && a->id < b->id);
}

/* Store @e at @pos and tell its vehicle where it stands. */
static inline void heap_put(struct fs_fleet *f, struct heap_entry *heap, size_t pos, struct heap_entry e)
{
	heap[pos] = e;
	f->v[e.idx].heap_pos = (uint32_t)pos;
}

FS_HEAP_DEFINE(vheap, struct fs_fleet, struct heap_entry, before, heap_put)

/* Key vehicle @idx at @t (FS_NEVER_MS: out of the heap). Capacity is reserved in fs_fleet_add(). */
static void heap_set(struct fs_fleet *f, uint32_t idx, int64_t t)
{
	struct fs_vehicle *v = &f->v[idx];
	uint32_t pos = v->heap_pos;
	if (t == FS_NEVER_MS) {
		if (pos != NO_INDEX) {
			v->heap_pos = NO_INDEX;
			vheap_remove(f, f->heap, &f->heap_count, pos);
		}
		return;
	}
	if (pos == NO_INDEX) {
		vheap_push(f, f->heap, &f->heap_count, (struct heap_entry){ t, v->id, idx });
		return;
	}
	int64_t old = f->heap[pos].t;
	f->heap[pos].t = t;
	if (t < old) {
		vheap_up(f, f->heap, pos);
	} else if (t > old) {
		vheap_down(f, f->heap, f->heap_count, pos);
	}
}

/* ---- route arena ---------------------------------------------------------------- */

static uint32_t *route_of(const struct fs_fleet *f, const struct fs_vehicle *v)
{
	return f->arena + v->path_off;
}

static int arena_reserve(struct fs_fleet *f, size_t n)
{
	if (f->arena_used + n <= f->arena_cap) {
		return 0;
	}
	size_t live = 0;
	for (uint32_t i = 0; i < f->count; i++) {
		live += (size_t)(f->v[i].path_len - f->v[i].path_pos) + f->v[i].trip_len;
	}
	size_t cap = (live + n) + (live + n) / 2;
	if (cap < (size_t)ARENA_PER_VEHICLE * f->count) {
		cap = (size_t)ARENA_PER_VEHICLE * f->count;
	}
	if (cap < ARENA_MIN) {
		cap = ARENA_MIN;
	}
	if (cap > UINT32_MAX) {
		return -ENOMEM;
	}
	uint32_t *a = fs_malloc(cap * sizeof(*a));
	if (!a) {
		return -ENOMEM;
	}
	size_t used = 0;
	for (uint32_t i = 0; i < f->count; i++) {
		struct fs_vehicle *v = &f->v[i];
		uint32_t rest = v->path_len - v->path_pos;
		if (rest) {
			memcpy(a + used, f->arena + v->path_off + v->path_pos, rest * sizeof(*a));
		}
		v->path_off = (uint32_t)used;
		v->path_len = rest;
		v->path_pos = 0;
		used += rest;
		if (v->trip_len) {
			memcpy(a + used, f->arena + v->trip_off, v->trip_len * sizeof(*a));
		}
		v->trip_off = (uint32_t)used;
		used += v->trip_len;
	}
	fs_free(f->arena);
	f->arena = a;
	f->arena_cap = cap;
	f->arena_used = used;
	return 0;
}

/* Copy @n1 edges of @a (after @first if it is not FS_NO_EDGE) then @n2 of @b into the arena. */
static int arena_copy(struct fs_fleet *f, uint32_t first, const uint32_t *a, uint32_t n1,
		      const uint32_t *b, uint32_t n2, uint32_t *ret_off)
{
	size_t n = (size_t)n1 + n2 + (first != FS_NO_EDGE);
	int r = arena_reserve(f, n);
	if (r < 0) {
		return r;
	}
	uint32_t *p = f->arena + f->arena_used;
	if (first != FS_NO_EDGE) {
		*p++ = first;
	}
	if (n1) {
		memcpy(p, a, n1 * sizeof(*p));
	}
	if (n2) {
		memcpy(p + n1, b, n2 * sizeof(*p));
	}
	*ret_off = (uint32_t)f->arena_used;
	f->arena_used += n;
	return 0;
}

static void route_clear(struct fs_vehicle *v)
{
	v->path_off = v->path_len = v->path_pos = 0;
	v->stop_short_m = 0.0f;
}

static void trip_clear(struct fs_vehicle *v)
{
	v->trip_off = v->trip_len = 0;
	v->trip_stop_short_m = 0.0f;
}

/* ---- small helpers ------------------------------------------------------------ */

static uint32_t index_of(const struct fs_fleet *f, const struct fs_vehicle *v)
{
	return (uint32_t)(v - f->v);
}

/* A command the vehicle's state does not allow: report it like a refused transition. */
static void refuse(struct fs_vehicle_events *ev, const struct fs_vehicle *v, int64_t t, int to,
		   const char *why)
{
	vehicle_transition_event(ev, v, t, FS_VEV_TRANSITION_REFUSED, v->state, (uint8_t)to, why);
}

static int64_t add_ms(int64_t t, double ms)
{
	double x = ceil(ms);
	if (!(x < 9.0e18 - (double)t)) {
		return FS_NEVER_MS;
	}
	return t + (x > 0.0 ? (int64_t)x : 0);
}

static double edge_len(const struct fs_fleet *f, uint32_t e)
{
	return f->net->edges[e].length_m;
}

static bool is_road_state(int s)
{
	return s == FS_VEHICLE_AVAILABLE || s == FS_VEHICLE_TO_PICKUP ||
	       s == FS_VEHICLE_WAITING_FOR_RIDER || s == FS_VEHICLE_IN_TRIP ||
	       s == FS_VEHICLE_REPOSITIONING || s == FS_VEHICLE_TO_CHARGER;
}

static bool is_depot_state(int s)
{
	return s == FS_VEHICLE_CHARGING || s == FS_VEHICLE_MAINTENANCE;
}

/* The counters of @v's vehicle model (its variant). */
static struct fs_fleet_stats *vstats(struct fs_fleet *f, const struct fs_vehicle *v)
{
	if (v->params == &f->params) {
		return &f->variant_stats[0];
	}
	return &f->variant_stats[1 + (v->params - f->variants)];
}

/* Energy and powered time up to @t, counting what chargers put in. */
static void acct(struct fs_fleet *f, struct fs_vehicle *v, int64_t t)
{
	double b0 = v->battery_kwh;
	int64_t t0 = v->acct_ms;
	vehicle_account(v, t);
	if (v->state == FS_VEHICLE_CHARGING) {
		double h = t > t0 ? (double)(t - t0) / MS_PER_H : 0.0;
		f->stats.charged_kwh += v->battery_kwh - b0;
		f->stats.charging_hours += h;
		vstats(f, v)->charged_kwh += v->battery_kwh - b0;
		vstats(f, v)->charging_hours += h;
	}
}

/* Log data rate while driving: every working sensor and computer logs. */
static double log_gb_per_h(const struct fs_vehicle *v)
{
	const struct fs_vehicle_params *p = v->params;
	double gb = 0.0;
	unsigned failed_bits = 0;
	for (size_t i = 0; i < sizeof(v->platform.health); i++) {
		failed_bits |= v->platform.health[i] & 0xAAu; /* FS_HEALTH_FAILED is 0b10 */
	}
	if (!failed_bits) {
		for (int k = FS_DEVICE_CAMERA; k < FS_DEVICE_KIND_COUNT; k++) {
			gb += fs_platform_kind_size(k) * p->log_gb_per_h[k];
		}
	} else {
		for (unsigned d = 0; d < FS_PLATFORM_DEVICES; d++) {
			if (platform_get_global(&v->platform, d) != FS_HEALTH_FAILED) {
				int kind;
				unsigned idx;
				platform_device(d, &kind, &idx);
				gb += p->log_gb_per_h[kind];
			}
		}
	}
	/* mapping drives log everything; later phases log selected scenes */
	return gb * (v->phase == FS_CITY_DATA_COLLECTION ? 1.0 : p->log_share);
}

/* Driven @from_m -> @to_m on the current edge over [t0, t1]: traction energy, odometer, logs. */
static void drive_account(struct fs_fleet *f, struct fs_vehicle *v, double from_m, double to_m,
			  int64_t t0, int64_t t1)
{
	double d = to_m - from_m;
	if (d <= 0.0) {
		return;
	}
	double h = (double)(t1 - t0) / MS_PER_H;
	double gb = h * log_gb_per_h(v);
	double kwh = d / 1000.0 * v->params->kwh_per_km;
	v->battery_kwh = fmax(0.0, v->battery_kwh - kwh);
	v->odometer_m += d;
	v->drive_ms += t1 - t0;
	v->logged_gb += gb;
	struct fs_fleet_stats *stats[2] = { &f->stats, vstats(f, v) };
	for (int i = 0; i < 2; i++) {
		stats[i]->km_driven += d / 1000.0;
		stats[i]->driving_hours += h;
		stats[i]->logged_gb += gb;
		stats[i]->traction_kwh += kwh;
	}
}

/* ---- motion ----------------------------------------------------------------------- */

/* Start driving @edge from @from_m to @to_m at @t under the current conditions. */
static void enter_edge(struct fs_fleet *f, struct fs_vehicle *v, uint32_t edge, double from_m, double to_m,
		       int64_t t)
{
	double len = edge_len(f, edge);
	int64_t full = vehicle_edge_ms(v, f->net, edge, fs_conditions_time_factor(&f->cond, edge));
	double frac = len > 0.0 ? (to_m - from_m) / len : 0.0;
	int64_t dur = (int64_t)llround((double)full * fmax(0.0, frac));
	v->edge = edge;
	v->seg_from_m = (float)from_m;
	v->seg_to_m = (float)to_m;
	v->seg_start_ms = t;
	v->seg_end_ms = t + (dur > 0 ? dur : 1);
}

/* How far along the edge at route position @pos the vehicle drives: to its end, or to the stop on the last one. */
static double drive_to_m(const struct fs_fleet *f, const struct fs_vehicle *v, uint32_t pos)
{
	double len = edge_len(f, route_of(f, v)[pos]);
	return pos + 1 == v->path_len ? fmax(0.0, len - v->stop_short_m) : len;
}

/* Stop where the vehicle is at @t: account the part of the segment driven, park. */
static void settle_motion(struct fs_fleet *f, struct fs_vehicle *v, int64_t t)
{
	if (v->seg_end_ms == FS_NEVER_MS) {
		return;
	}
	double off = vehicle_offset_at(v, t);
	int64_t t1 = t < v->seg_end_ms ? t : v->seg_end_ms;
	drive_account(f, v, v->seg_from_m, off, v->seg_start_ms, t1);
	v->seg_from_m = v->seg_to_m = (float)off;
	v->seg_start_ms = t;
	v->seg_end_ms = FS_NEVER_MS;
}

static void hold(struct fs_vehicle *v, int64_t t, int64_t until)
{
	v->seg_from_m = v->seg_to_m;
	v->seg_start_ms = t;
	v->seg_end_ms = until;
}

/* Let the vehicle finish the edge it is on and go no further (to the stop it was heading for if that is on this edge). */
static void stop_at_edge_end(struct fs_vehicle *v)
{
	if (v->path_len > v->path_pos + 1) {
		v->path_len = v->path_pos + 1;
		v->stop_short_m = 0.0f;
	}
}

static void arrive(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, struct fs_vehicle_events *ev);

/* Parked or at the end of a segment: go on along the route. */
static void continue_route(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			   struct fs_vehicle_events *ev)
{
	if (v->path_pos >= v->path_len) {
		route_clear(v);
		return;
	}
	double end = drive_to_m(f, v, v->path_pos);
	if (v->seg_to_m < end - 0.01) {
		enter_edge(f, v, v->edge, v->seg_to_m, end, t); /* the rest of this edge, or up to the stop */
	} else if (v->path_pos + 1 < v->path_len) {
		v->path_pos++;
		f->stats.edges_driven++;
		enter_edge(f, v, route_of(f, v)[v->path_pos], 0.0, drive_to_m(f, v, v->path_pos), t);
	} else {
		f->stats.edges_driven++;
		arrive(f, v, t, ev);
	}
}

/* ---- state changes with entry and exit actions ------------------------------------------ */

static void start_charging(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			   struct fs_vehicle_events *ev);
static void platform_changed(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			     struct fs_vehicle_events *ev);
static void odd_check(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
		      struct fs_vehicle_events *ev);
static void reschedule(struct fs_fleet *f, struct fs_vehicle *v);

static void upload_start(struct fs_vehicle *v, int64_t t)
{
	if (!(v->flags & FS_VF_UPLOADING)) {
		v->flags |= FS_VF_UPLOADING;
		v->upload_since_ms = t;
	}
}

static void upload_flush(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			 struct fs_vehicle_events *ev)
{
	if (!(v->flags & FS_VF_UPLOADING)) {
		return;
	}
	v->flags &= (uint16_t)~FS_VF_UPLOADING;
	double capacity_gb = v->params->upload_gbps / 8.0 * (double)(t - v->upload_since_ms) / MS_PER_S;
	double gb = fmin(v->logged_gb - v->uploaded_gb, capacity_gb);
	if (gb > 0.0) {
		v->uploaded_gb += gb;
		f->stats.uploaded_gb += gb;
		vehicle_event(ev, v, t, FS_VEV_DATA_UPLOADED, "uploaded at depot", gb);
	}
}

static void depot_dequeue(struct fs_fleet *f, struct fs_vehicle *v)
{
	struct depot *d = &f->depots[v->depot];
	uint32_t me = index_of(f, v), prev = NO_INDEX;
	for (uint32_t i = d->q_head; i != NO_INDEX; prev = i, i = f->v[i].queue_next) {
		if (i != me) {
			continue;
		}
		if (prev == NO_INDEX) {
			d->q_head = v->queue_next;
		} else {
			f->v[prev].queue_next = v->queue_next;
		}
		if (d->q_tail == me) {
			d->q_tail = prev;
		}
		d->q_len--;
		break;
	}
	v->queue_next = NO_INDEX;
	v->flags &= (uint16_t)~FS_VF_PLUG_QUEUED;
}

static void release_plug(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			 struct fs_vehicle_events *ev)
{
	struct depot *d = &f->depots[v->depot];
	v->charge_kw = 0.0f;
	d->busy--;
	if (d->q_head != NO_INDEX) {
		struct fs_vehicle *w = &f->v[d->q_head];
		depot_dequeue(f, w);
		d->busy++;
		start_charging(f, w, t, ev);
		reschedule(f, w);
	}
}

static void apply_software(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			   struct fs_vehicle_events *ev)
{
	v->flags &= (uint16_t)~FS_VF_SW_PENDING;
	v->sw = v->sw_pending;
	/* new release, new rates: the remaining distances are redrawn (memoryless) */
	vehicle_draw_ra(v);
	vehicle_draw_diseng(v);
	vehicle_event(ev, v, t, FS_VEV_SOFTWARE_UPDATED, "over-the-air update", v->params->sw[v->sw].version);
	platform_changed(f, v, t, ev);
}

/* The one way the fleet changes a vehicle's state. */
static int go(struct fs_fleet *f, struct fs_vehicle *v, int to, int64_t t, const char *why,
	      struct fs_vehicle_events *ev)
{
	const int from = v->state;
	acct(f, v, t);
	int r = vehicle_go(v, to, t, why, ev);
	if (r < 0) {
		return r;
	}
	v->timer_ms = FS_NEVER_MS;
	/* exit actions */
	if (from == FS_VEHICLE_CHARGING) {
		release_plug(f, v, t, ev);
	}
	if (from == FS_VEHICLE_TO_CHARGER && (v->flags & FS_VF_PLUG_QUEUED)) {
		depot_dequeue(f, v);
	}
	if (!is_depot_state(to)) {
		upload_flush(f, v, t, ev);
	}
	/* entry actions */
	if (is_depot_state(to)) {
		upload_start(v, t);
	}
	if ((v->flags & FS_VF_SW_PENDING) && (to == FS_VEHICLE_AVAILABLE || is_depot_state(to))) {
		apply_software(f, v, t, ev);
	}
	return 0;
}

static void hand_back(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, const char *why,
		      struct fs_vehicle_events *ev)
{
	if (!v->job_id) {
		return;
	}
	vehicle_event(ev, v, t, FS_VEV_JOB_HANDED_BACK, why, 0.0);
	v->job_id = 0;
	v->flags &= (uint16_t)~FS_VF_AUTO_BOARD;
	trip_clear(v);
}

/* ---- depots: plugs, maintenance, commissioning ---------------------------------------- */

static void park_at_depot(struct fs_fleet *f, struct fs_vehicle *v, uint16_t depot)
{
	v->flags |= FS_VF_AT_DEPOT;
	v->depot = depot;
}

static void start_charging(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			   struct fs_vehicle_events *ev)
{
	const struct fs_vehicle_params *p = v->params;
	v->flags &= (uint16_t)~(FS_VF_PLUG_QUEUED | FS_VF_CHARGE_REQUESTED);
	acct(f, v, t);
	if (go(f, v, FS_VEHICLE_CHARGING, t, "plugged in", ev) < 0) {
		f->depots[v->depot].busy--;
		return;
	}
	v->charge_kw = (float)f->depots[v->depot].plug_kw;
	double s = fs_vehicle_charge_seconds(p, v->charge_kw, v->battery_kwh / p->battery_kwh,
					     p->charge_target_soc);
	v->timer_ms = add_ms(t, s * MS_PER_S);
}

/* At the depot: take a plug or join the queue. */
static void plug_request(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			 struct fs_vehicle_events *ev)
{
	struct depot *d = &f->depots[v->depot];
	if (d->busy < d->plugs) {
		d->busy++;
		start_charging(f, v, t, ev);
		return;
	}
	uint32_t me = index_of(f, v);
	v->flags |= FS_VF_PLUG_QUEUED;
	v->queue_next = NO_INDEX;
	if (d->q_tail == NO_INDEX) {
		d->q_head = me;
	} else {
		f->v[d->q_tail].queue_next = me;
	}
	d->q_tail = me;
	d->q_len++;
	upload_start(v, t); /* depot Wi-Fi works in the queue too */
}

static void start_maintenance(struct fs_fleet *f, struct fs_vehicle *v, int64_t t)
{
	const struct fs_vehicle_params *p = v->params;
	bool failed = false;
	for (unsigned d = 0; d < FS_PLATFORM_DEVICES; d++) {
		failed |= platform_get_global(&v->platform, d) == FS_HEALTH_FAILED;
	}
	double h = (v->flags & FS_VF_REWORK) ? p->rework_h : failed ? p->repair_h : p->inspection_h;
	v->timer_ms = add_ms(t, h * MS_PER_H);
}

static void finish_maintenance(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			       struct fs_vehicle_events *ev)
{
	for (unsigned d = 0; d < FS_PLATFORM_DEVICES; d++) {
		if (platform_get_global(&v->platform, d) == FS_HEALTH_OK) {
			continue;
		}
		platform_set_global(&v->platform, d, FS_HEALTH_OK);
		if (ev) {
			int kind;
			unsigned idx;
			platform_device(d, &kind, &idx);
			vehicle_device_event(ev, v, t, "repaired", kind, idx, FS_HEALTH_OK);
		}
	}
	acct(f, v, t);
	vehicle_fault_redraw(v);
	v->flags &= (uint16_t)~FS_VF_MAINT_REQUESTED;
	platform_changed(f, v, t, ev);
	if (v->flags & FS_VF_REWORK) {
		if (go(f, v, FS_VEHICLE_COMMISSIONING, t, "rework done", ev) == 0) {
			v->flags &= (uint16_t)~FS_VF_REWORK;
			v->timer_ms = add_ms(t, v->params->commissioning_h * MS_PER_H);
		}
		return;
	}
	go(f, v, FS_VEHICLE_AVAILABLE, t, "maintenance done", ev);
}

/* ---- minimal-risk condition ------------------------------------------------------------- */

static void start_tow(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, const char *why,
		      struct fs_vehicle_events *ev)
{
	v->flags |= FS_VF_TOWING;
	v->timer_ms = add_ms(t, v->params->tow_h * MS_PER_H);
	f->stats.tows++;
	hand_back(f, v, t, why, ev);
	route_clear(v);
	vehicle_event(ev, v, t, FS_VEV_REMOTE_ASSIST, "tow dispatched", 0.0);
}

/* Pull over and stop at @t. Off the road (depot states) a stop means nothing:
 * the vehicle goes to maintenance from the depot instead. */
static void enter_mrc(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, uint8_t cause,
		      const char *why, struct fs_vehicle_events *ev)
{
	if (v->state == FS_VEHICLE_MINIMAL_RISK) {
		v->mrc_cause |= cause;
		return;
	}
	if (!is_road_state(v->state)) {
		return;
	}
	if ((v->flags & FS_VF_AT_DEPOT) && v->seg_end_ms == FS_NEVER_MS) {
		if (v->state == FS_VEHICLE_AVAILABLE || v->state == FS_VEHICLE_TO_CHARGER) {
			if (go(f, v, FS_VEHICLE_MAINTENANCE, t, why, ev) == 0) {
				start_maintenance(f, v, t);
			}
		}
		return;
	}
	acct(f, v, t);
	settle_motion(f, v, t);
	if (go(f, v, FS_VEHICLE_MINIMAL_RISK, t, why, ev) < 0) {
		return;
	}
	v->mrc_cause = cause;
	f->stats.minimal_risk++;
	if (cause & FS_MRC_ENERGY) {
		f->stats.strandings++;
		start_tow(f, v, t, "stranded: battery empty", ev);
		return;
	}
	vehicle_event(ev, v, t, FS_VEV_REMOTE_ASSIST, "minimal-risk stop: assistance requested", 0.0);
	v->timer_ms = add_ms(t, v->params->ra_response_s * MS_PER_S);
}

/* Leave the minimal-risk condition for the interrupted state if it is still
 * possible, else become available and hand the job back. */
static void resume(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, struct fs_vehicle_events *ev)
{
	int to = v->resume_state;
	if (to == FS_VEHICLE_IN_TRIP && v->path_pos >= v->path_len) {
		to = FS_VEHICLE_AVAILABLE; /* stopped at the drop-off: the rider got out meanwhile */
	}
	if (to == FS_VEHICLE_AVAILABLE || fs_vehicle_transition_refusal(v, to)) {
		hand_back(f, v, t, "could not resume after remote assistance", ev);
		to = FS_VEHICLE_AVAILABLE;
		route_clear(v);
	}
	int r = go(f, v, to, t, "remote assistance cleared the stop", ev);
	if (r < 0) {
		return;
	}
	if (to == FS_VEHICLE_WAITING_FOR_RIDER) {
		v->timer_ms = add_ms(t, (v->flags & FS_VF_AUTO_BOARD) ? v->board_dwell_ms
									: v->params->max_wait_s * MS_PER_S);
	} else if (v->path_len > v->path_pos) {
		continue_route(f, v, t, ev);
	}
}

static void on_mrc_timer(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			 struct fs_vehicle_events *ev)
{
	if (v->flags & FS_VF_TOWING) {
		struct depot *d = &f->depots[v->home_depot];
		v->flags &= (uint16_t)~FS_VF_TOWING;
		v->mrc_cause = 0;
		v->edge = d->edge;
		v->seg_from_m = v->seg_to_m = (float)edge_len(f, d->edge);
		v->seg_start_ms = t;
		v->seg_end_ms = FS_NEVER_MS;
		park_at_depot(f, v, v->home_depot);
		if (go(f, v, FS_VEHICLE_MAINTENANCE, t, "towed to depot", ev) == 0) {
			start_maintenance(f, v, t);
		}
		return;
	}
	/* a remote-assistance session: reset what can be reset, then decide */
	v->ra_count++;
	f->stats.ra_requests++;
	if (v->mrc_cause & FS_MRC_ENERGY) {
		start_tow(f, v, t, "stranded: battery empty", ev);
		return;
	}
	if (fs_platform_clear_degraded(&v->platform)) {
		acct(f, v, t);
		vehicle_fault_redraw(v);
		vehicle_event(ev, v, t, FS_VEV_DEVICE_HEALTH, "remote assistance reset degraded devices", 0.0);
		platform_changed(f, v, t, ev);
	}
	v->mrc_cause &= (uint8_t)~FS_MRC_SOFTWARE;
	struct fs_platform_assessment a;
	fs_platform_assess(&v->platform, v->params, &a);
	if (a.minimal_risk) {
		start_tow(f, v, t, "towed: failed hardware", ev);
		return;
	}
	v->mrc_cause &= (uint8_t)~FS_MRC_PLATFORM;
	if (v->mrc_cause & FS_MRC_ODD) {
		if (fs_vehicle_here_refusal(v, &f->cond)) {
			v->timer_ms = add_ms(t, v->params->ra_retry_s * MS_PER_S);
			return;
		}
		v->mrc_cause &= (uint8_t)~FS_MRC_ODD;
	}
	vehicle_event(ev, v, t, FS_VEV_REMOTE_ASSIST, "remote assistance cleared the stop", 0.0);
	resume(f, v, t, ev);
}

/* ---- platform and ODD reactions ----------------------------------------------------------- */

static void platform_changed(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			     struct fs_vehicle_events *ev)
{
	if (vehicle_refresh_odd(v)) {
		vehicle_event(ev, v, t, FS_VEV_ODD_CHANGED, "restrictions changed", v->odd_flags);
	}
	struct fs_platform_assessment a;
	fs_platform_assess(&v->platform, v->params, &a);
	if (a.needs_depot && !(v->flags & FS_VF_MAINT_REQUESTED)) {
		v->flags |= FS_VF_MAINT_REQUESTED;
		vehicle_event(ev, v, t, FS_VEV_MAINTENANCE_REQUEST, "failed hardware needs a depot", 0.0);
	} else if (!a.needs_depot) {
		v->flags &= (uint16_t)~FS_VF_MAINT_REQUESTED;
	}
	if (a.minimal_risk) {
		if (v->phase == FS_CITY_DRIVERLESS) {
			enter_mrc(f, v, t, FS_MRC_PLATFORM, "device faults force a minimal-risk stop", ev);
		} else if (is_road_state(v->state)) {
			/* a person on board takes over: the disengagement the DMV counts */
			v->diseng_count++;
			f->stats.disengagements++;
			vehicle_event(ev, v, t, FS_VEV_DISENGAGEMENT, "device faults: driver took over", 0.0);
		}
	}
	odd_check(f, v, t, ev);
}

/* A running job must stay inside the ODD: hand it back when it leaves. */
static void odd_check(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
		      struct fs_vehicle_events *ev)
{
	if (v->phase == FS_CITY_DATA_COLLECTION || !is_road_state(v->state) ||
	    v->state == FS_VEHICLE_AVAILABLE || v->state == FS_VEHICLE_TO_CHARGER) {
		return; /* returning to a depot stays allowed */
	}
	const char *cond_why = fs_vehicle_here_refusal(v, &f->cond);
	const char *why = cond_why;
	const uint32_t *route = route_of(f, v);
	for (uint32_t i = v->path_pos + 1; !why && i < v->path_len; i++) {
		why = fs_vehicle_edge_refusal(v, f->net, NULL, &f->cond, route[i]);
	}
	for (uint32_t i = 0; !why && i < v->trip_len; i++) {
		why = fs_vehicle_edge_refusal(v, f->net, NULL, &f->cond, f->arena[v->trip_off + i]);
	}
	if (!why) {
		return;
	}
	if (v->state == FS_VEHICLE_IN_TRIP && cond_why) {
		hand_back(f, v, t, why, ev);
		enter_mrc(f, v, t, FS_MRC_ODD, why, ev);
		return;
	}
	hand_back(f, v, t, why, ev);
	stop_at_edge_end(v);
	go(f, v, FS_VEHICLE_AVAILABLE, t, why, ev);
}

/* ---- arrivals and timers --------------------------------------------------------------------- */

static void board(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, struct fs_vehicle_events *ev)
{
	if (go(f, v, FS_VEHICLE_IN_TRIP, t, "rider boarded", ev) < 0) {
		return;
	}
	v->flags &= (uint16_t)~FS_VF_AUTO_BOARD;
	v->path_off = v->trip_off;
	v->path_len = v->trip_len;
	v->path_pos = 0;
	v->stop_short_m = v->trip_stop_short_m;
	trip_clear(v);
	if (route_of(f, v)[0] != v->edge) {
		v->edge = route_of(f, v)[0]; /* from the pickup node: start of the trip's first edge */
		v->seg_from_m = v->seg_to_m = 0.0f;
	}
	continue_route(f, v, t, ev);
}

static void arrive(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, struct fs_vehicle_events *ev)
{
	route_clear(v);
	switch (v->state) {
	case FS_VEHICLE_TO_PICKUP:
		vehicle_event(ev, v, t, FS_VEV_ARRIVED, "at pickup", 0.0);
		if (go(f, v, FS_VEHICLE_WAITING_FOR_RIDER, t, "at pickup", ev) == 0) {
			v->timer_ms = add_ms(t, (v->flags & FS_VF_AUTO_BOARD)
							? v->board_dwell_ms
							: v->params->max_wait_s * MS_PER_S);
		}
		break;
	case FS_VEHICLE_IN_TRIP:
		vehicle_event(ev, v, t, FS_VEV_ARRIVED, "at drop-off", 0.0);
		f->stats.jobs_completed++;
		v->job_id = 0;
		if (v->alight_s) {
			/* the rider gets out: the car stands in_trip, its only timer in that state */
			v->timer_ms = add_ms(t, v->alight_s * MS_PER_S);
			break;
		}
		go(f, v, FS_VEHICLE_AVAILABLE, t, "trip completed", ev);
		break;
	case FS_VEHICLE_REPOSITIONING:
		if (v->flags & FS_VF_TO_MAINTENANCE) {
			v->flags &= (uint16_t)~FS_VF_TO_MAINTENANCE;
			park_at_depot(f, v, v->depot);
			vehicle_event(ev, v, t, FS_VEV_ARRIVED, "at depot for maintenance", 0.0);
			if (go(f, v, FS_VEHICLE_MAINTENANCE, t, "maintenance", ev) == 0) {
				start_maintenance(f, v, t);
			}
			break;
		}
		vehicle_event(ev, v, t, FS_VEV_ARRIVED, "repositioned", 0.0);
		go(f, v, FS_VEHICLE_AVAILABLE, t, "repositioned", ev);
		break;
	case FS_VEHICLE_TO_CHARGER:
		park_at_depot(f, v, v->depot);
		vehicle_event(ev, v, t, FS_VEV_ARRIVED, "at depot to charge", 0.0);
		plug_request(f, v, t, ev);
		break;
	default:
		break; /* an available vehicle rolled to the end of its edge and parks */
	}
}

static void on_timer(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, struct fs_vehicle_events *ev)
{
	struct fs_platform_assessment a;
	switch (v->state) {
	case FS_VEHICLE_COMMISSIONING:
		if (fs_rng_uniform(&v->ops_rng) < v->params->commissioning_fail_prob) {
			v->flags |= FS_VF_REWORK;
			if (go(f, v, FS_VEHICLE_MAINTENANCE, t, "failed acceptance: rework", ev) == 0) {
				start_maintenance(f, v, t);
			}
		} else {
			v->flags |= FS_VF_COMMISSIONED;
			vehicle_event(ev, v, t, FS_VEV_COMMISSIONED, "acceptance passed", 0.0);
			go(f, v, FS_VEHICLE_AVAILABLE, t, "commissioned", ev);
		}
		break;
	case FS_VEHICLE_MAINTENANCE:
		finish_maintenance(f, v, t, ev);
		break;
	case FS_VEHICLE_IN_TRIP:
		go(f, v, FS_VEHICLE_AVAILABLE, t, "rider got out", ev);
		break;
	case FS_VEHICLE_WAITING_FOR_RIDER:
		if (v->flags & FS_VF_AUTO_BOARD) {
			board(f, v, t, ev);
		} else {
			hand_back(f, v, t, "rider no-show", ev);
			go(f, v, FS_VEHICLE_AVAILABLE, t, "rider no-show", ev);
		}
		break;
	case FS_VEHICLE_CHARGING:
		acct(f, v, t);
		/* the end time was rounded up to a whole ms: unplug at the target */
		double over = v->battery_kwh - v->params->charge_target_soc * v->params->battery_kwh;
		if (over > 0.0 && over < 1e-3) { /* < 1 Wh: a rounding artefact, not a fuller battery */
			v->battery_kwh -= over;
			f->stats.charged_kwh -= over;
			vstats(f, v)->charged_kwh -= over;
		}
		f->stats.charges++;
		vstats(f, v)->charges++;
		fs_platform_assess(&v->platform, v->params, &a);
		if (a.needs_depot || a.minimal_risk) {
			if (go(f, v, FS_VEHICLE_MAINTENANCE, t, "charged; faults need repair", ev) == 0) {
				start_maintenance(f, v, t);
			}
		} else {
			go(f, v, FS_VEHICLE_AVAILABLE, t, "charged", ev);
		}
		break;
	case FS_VEHICLE_MINIMAL_RISK:
		on_mrc_timer(f, v, t, ev);
		break;
	default:
		break;
	}
}

/* ---- software events and energy marks while driving ----------------------------------------- */

/* After driving a segment: disengagement or remote-assistance request due? True if the vehicle stopped. */
static bool software_events(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			    struct fs_vehicle_events *ev)
{
	bool av_drives = v->phase != FS_CITY_DATA_COLLECTION;
	if (v->odometer_m >= v->next_diseng_m) {
		vehicle_draw_diseng(v);
		if (av_drives) {
			v->diseng_count++;
			f->stats.disengagements++;
			if (v->phase == FS_CITY_DRIVERLESS) {
				vehicle_event(ev, v, t, FS_VEV_DISENGAGEMENT, "software disengagement", 0.0);
				enter_mrc(f, v, t, FS_MRC_SOFTWARE, "software disengagement", ev);
				if (v->state == FS_VEHICLE_MINIMAL_RISK) {
					return true;
				}
			} else {
				vehicle_event(ev, v, t, FS_VEV_DISENGAGEMENT, "safety driver took over", 0.0);
			}
		}
	}
	if (v->odometer_m >= v->next_ra_m) {
		vehicle_draw_ra(v);
		if (v->phase == FS_CITY_DRIVERLESS) {
			v->ra_count++;
			f->stats.ra_requests++;
			vehicle_event(ev, v, t, FS_VEV_REMOTE_ASSIST, "guidance request", 0.0);
			hold(v, t, add_ms(t, v->params->ra_session_s * MS_PER_S));
			if (fs_platform_clear_degraded(&v->platform)) {
				vehicle_fault_redraw(v);
				platform_changed(f, v, t, ev);
			}
			return true;
		}
	}
	return false;
}

static void charge_request(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, const char *why,
			   struct fs_vehicle_events *ev)
{
	if (v->flags & FS_VF_CHARGE_REQUESTED) {
		return;
	}
	v->flags |= FS_VF_CHARGE_REQUESTED;
	f->stats.charge_requests++;
	vstats(f, v)->charge_requests++;
	vehicle_event(ev, v, t, FS_VEV_CHARGE_REQUEST, why, v->battery_kwh / v->params->battery_kwh);
}

static void on_segment_end(struct fs_fleet *f, struct fs_vehicle *v, int64_t t,
			   struct fs_vehicle_events *ev)
{
	bool moved = v->seg_to_m > v->seg_from_m;
	acct(f, v, t);
	drive_account(f, v, v->seg_from_m, v->seg_to_m, v->seg_start_ms, v->seg_end_ms);
	v->seg_from_m = v->seg_to_m;
	v->seg_start_ms = t;
	v->seg_end_ms = FS_NEVER_MS;
	if (moved) {
		if (v->battery_kwh <= 1e-6) {
			enter_mrc(f, v, t, FS_MRC_ENERGY, "battery empty", ev);
			return;
		}
		if (v->battery_kwh < v->params->charge_request_soc * v->params->battery_kwh) {
			charge_request(f, v, t, "battery low", ev);
		}
		if (software_events(f, v, t, ev)) {
			return;
		}
	}
	continue_route(f, v, t, ev);
}

/* Parked vehicles with the stack on: when does the battery cross its next mark? */
static int64_t energy_due_ms(const struct fs_vehicle *v)
{
	if ((v->state != FS_VEHICLE_AVAILABLE && v->state != FS_VEHICLE_WAITING_FOR_RIDER) ||
	    v->seg_end_ms != FS_NEVER_MS || v->params->av_stack_kw <= 0.0) {
		return FS_NEVER_MS;
	}
	const struct fs_vehicle_params *p = v->params;
	double mark = (v->flags & FS_VF_CHARGE_REQUESTED) ? 0.0 : p->charge_request_soc * p->battery_kwh;
	double above = v->battery_kwh - mark;
	if (above <= 1e-6) {
		return v->acct_ms; /* already there: act now */
	}
	return add_ms(v->acct_ms, above / p->av_stack_kw * MS_PER_H);
}

static void on_energy(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, struct fs_vehicle_events *ev)
{
	acct(f, v, t);
	const struct fs_vehicle_params *p = v->params;
	if (!(v->flags & FS_VF_CHARGE_REQUESTED) &&
	    v->battery_kwh <= p->charge_request_soc * p->battery_kwh + 1e-6) {
		charge_request(f, v, t, "battery low while parked", ev);
		return;
	}
	if (v->battery_kwh <= 1e-6) {
		if (v->state == FS_VEHICLE_AVAILABLE && (v->flags & FS_VF_AT_DEPOT)) {
			/* nobody answered the request: plug in here rather than go flat */
			if (go(f, v, FS_VEHICLE_TO_CHARGER, t, "battery empty at a depot", ev) == 0) {
				plug_request(f, v, t, ev);
			}
			return;
		}
		enter_mrc(f, v, t, FS_MRC_ENERGY, "battery empty", ev);
	}
}

/* ---- scheduling ---------------------------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static void reschedule(struct fs_fleet *f, struct fs_vehicle *v)
{
	int64_t next = min64(min64(v->timer_ms, v->seg_end_ms),
			     min64(vehicle_fault_wall_ms(v), energy_due_ms(v)));
	v->next_event_ms = next;
	heap_set(f, index_of(f, v), next);
	mark_dirty(f, index_of(f, v));
}

/* Everything due for @v at @t. */
static void visit(struct fs_fleet *f, struct fs_vehicle *v, int64_t t, struct fs_vehicle_events *ev)
{
	acct(f, v, t);
	while (vehicle_fault_wall_ms(v) <= t) {
		f->stats.faults++;
		vehicle_fault_apply(v, t, ev);
		platform_changed(f, v, t, ev);
	}
	if (v->timer_ms <= t) {
		v->timer_ms = FS_NEVER_MS;
		on_timer(f, v, t, ev);
	}
	if (v->seg_end_ms <= t) {
		on_segment_end(f, v, t, ev);
	}
	if (energy_due_ms(v) <= t) {
		on_energy(f, v, t, ev);
	}
	reschedule(f, v);
}

int64_t fs_fleet_advance(struct fs_fleet *f, int64_t now_ms, struct fs_vehicle_events *ev)
{
	if (now_ms < f->now_ms) {
		return -EINVAL;
	}
	uint64_t visits = 0;
	while (f->heap_count && f->heap[0].t <= now_ms) {
		struct heap_entry top = f->heap[0];
		struct fs_vehicle *v = &f->v[top.idx];
		/* Memory latency dominates a visit (a vehicle, its route entry, an
		 * edge, all cold). The next vehicle due is one of the top's children:
		 * fetch both while this one is processed, and this one's next edge. */
		if (f->heap_count > 2) {
			for (int c = 1; c <= 2; c++) {
				const char *next = (const char *)&f->v[f->heap[c].idx];
				__builtin_prefetch(next);
				__builtin_prefetch(next + 64);
				__builtin_prefetch(next + 128);
			}
		}
		if (v->path_pos + 1 < v->path_len) {
			const uint32_t *next = f->arena + v->path_off + v->path_pos + 1;
			__builtin_prefetch(next);
			__builtin_prefetch(&f->net->edges[v->edge]);
		}
		visit(f, v, top.t, ev);
		visits++;
	}
	f->now_ms = now_ms;
	f->stats.touched = visits;
	f->stats.visits += visits;
	return (int64_t)visits;
}

int64_t fs_fleet_next_event_ms(const struct fs_fleet *f)
{
	return f->heap_count ? f->heap[0].t : FS_NEVER_MS;
}

/* ---- creation ------------------------------------------------------------------------------ */

struct fs_fleet *fs_fleet_create(const struct fs_network *net, const struct fs_vehicle_params *params,
				 uint64_t seed)
{
	if (!net || !params || params->sw_count == 0 || params->sw_count > FS_SW_VERSIONS_MAX ||
	    !(params->battery_kwh > 0.0)) {
		return NULL;
	}
	struct fs_fleet *f = fs_calloc(1, sizeof(*f));
	if (!f) {
		return NULL;
	}
	f->net = net;
	f->params = *params;
	f->seed = seed;
	f->cond = (struct fs_conditions){ .travel_time_factor = 1.0 };
	f->now_ms = INT64_MIN;
	return f;
}

void fs_fleet_destroy(struct fs_fleet *f)
{
	if (!f) {
		return;
	}
	fs_free(f->v);
	fs_free(f->heap);
	fs_free(f->vhash);
	fs_free(f->dirty);
	fs_free(f->dirty_list);
	fs_free(f->touched_list);
	fs_free(f->arena);
	fs_free(f->depots);
	fs_free(f);
}

int fs_fleet_add_depot(struct fs_fleet *f, uint32_t node, uint16_t plugs, double plug_kw)
{
	const struct fs_network *net = f->net;
	if (node >= net->node_count || net->in_first[node] == net->in_first[node + 1] ||
	    !(plug_kw > 0.0) || f->depot_count >= FS_NO_DEPOT) {
		return -EINVAL;
	}
	if (FS_GROW(f->depots, f->depot_cap, (size_t)f->depot_count + 1) < 0) {
		return -ENOMEM;
	}
	f->depots[f->depot_count] = (struct depot){
		.node = node,
		.edge = net->in_edges[net->in_first[node]],
		.plug_kw = plug_kw,
		.plugs = plugs,
		.q_head = NO_INDEX,
		.q_tail = NO_INDEX,
	};
	return (int)f->depot_count++;
}

int fs_fleet_depot_usage(const struct fs_fleet *f, uint16_t depot, uint32_t *ret_busy,
			 uint32_t *ret_queued)
{
	if (depot >= f->depot_count) {
		return -EINVAL;
	}
	if (ret_busy) {
		*ret_busy = f->depots[depot].busy;
	}
	if (ret_queued) {
		*ret_queued = f->depots[depot].q_len;
	}
	return 0;
}

int fs_fleet_reserve(struct fs_fleet *f, uint32_t count)
{
	if (count <= f->cap) {
		return 0;
	}
	if (count >= NO_INDEX) {
		return -ENOMEM;
	}
	struct fs_vehicle *v = fs_realloc(f->v, (size_t)count * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	f->v = v;
	f->cap = count;
	struct heap_entry *h = fs_realloc(f->heap, (size_t)count * sizeof(*h));
	if (!h) {
		return -ENOMEM; /* fs_fleet_add() retries the heap */
	}
	f->heap = h;
	f->heap_cap = count;
	return grow_hash(f, count);
}

int fs_fleet_add(struct fs_fleet *f, const struct fs_vehicle_init *init, int64_t now_ms)
{
	if (f->count && init->id <= f->v[f->count - 1].id) {
		return init->id == f->v[f->count - 1].id ? -EEXIST : -EINVAL;
	}
	if (f->count >= NO_INDEX - 1) {
		return -ENOMEM;
	}
	struct fs_vehicle_init in = *init;
	uint8_t state = in.state ? in.state : FS_VEHICLE_DELIVERED;
	if (in.home_depot >= f->depot_count || (state == FS_VEHICLE_DELIVERED && !in.at_depot)) {
		return -EINVAL;
	}
	if (in.at_depot && in.edge == FS_NO_EDGE) {
		in.edge = f->depots[in.home_depot].edge;
		in.offset_m = edge_len(f, in.edge);
	}
	if (in.edge != FS_NO_EDGE && (in.edge >= f->net->edge_count || in.offset_m > edge_len(f, in.edge))) {
		return -EINVAL;
	}
	if (f->count == f->cap) {
		uint32_t cap = f->cap ? f->cap + f->cap / 2 : 64;
		struct fs_vehicle *v = fs_realloc(f->v, cap * sizeof(*v));
		if (!v) {
			return -ENOMEM;
		}
		f->v = v;
		f->cap = cap;
	}
	if (f->heap_cap < f->cap) {
		struct heap_entry *h = fs_realloc(f->heap, f->cap * sizeof(*h));
		if (!h) {
			return -ENOMEM;
		}
		f->heap = h;
		f->heap_cap = f->cap;
	}
	if (grow_hash(f, f->cap) < 0) {
		return -ENOMEM;
	}
	if (in.variant > f->variant_count) {
		return -EINVAL;
	}
	struct fs_vehicle *v = &f->v[f->count];
	int r = fs_vehicle_init(v, in.variant ? &f->variants[in.variant - 1] : &f->params, f->seed, &in, now_ms);
	if (r < 0) {
		return r;
	}
	f->count++;
	reschedule(f, v);
	return (int)(f->count - 1);
}

int fs_fleet_find(const struct fs_fleet *f, uint32_t id)
{
	uint32_t lo = 0, hi = f->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (f->v[mid].id < id) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < f->count && f->v[lo].id == id ? (int)lo : -ENOENT;
}

uint32_t fs_fleet_count(const struct fs_fleet *f)
{
	return f->count;
}

const struct fs_vehicle *fs_fleet_vehicle(const struct fs_fleet *f, uint32_t index)
{
	return index < f->count ? &f->v[index] : NULL;
}

const uint32_t *fs_fleet_route(const struct fs_fleet *f, uint32_t index, uint32_t *ret_len)
{
	const struct fs_vehicle *v = &f->v[index];
	*ret_len = v->path_len - v->path_pos;
	return f->arena ? f->arena + v->path_off + v->path_pos : NULL;
}

void fs_fleet_set_zone(struct fs_fleet *f, const struct fs_zone *zone)
{
	f->has_zone = zone != NULL;
	if (zone) {
		f->zone = *zone;
	}
}

/* ---- operations ------------------------------------------------------------------------------ */

/* Advance to @now, then find vehicle @id. */
static int begin(struct fs_fleet *f, uint32_t id, int64_t now, struct fs_vehicle_events *ev,
		 struct fs_vehicle **ret)
{
	if (fs_fleet_advance(f, now, ev) < 0) {
		return -EINVAL;
	}
	int idx = fs_fleet_find(f, id);
	if (idx < 0) {
		return idx;
	}
	*ret = &f->v[idx];
	acct(f, *ret, now);
	mark_dirty(f, (uint32_t)idx); /* the operation may change it without rescheduling */
	return 0;
}

static int end(struct fs_fleet *f, struct fs_vehicle *v, int r)
{
	reschedule(f, v);
	return r;
}

static bool route_connected(const struct fs_network *net, const uint32_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (p[i] >= net->edge_count || (i && net->edges[p[i - 1]].to != net->edges[p[i]].from)) {
			return false;
		}
	}
	return true;
}

/* How a route @p joins the vehicle's position at @t: 0 continue on the
 * current edge, 1 prepend the current edge, 2 start fresh at p[0]; -EINVAL. */
enum { JOIN_CONTINUE, JOIN_PREPEND, JOIN_FRESH };

static int join_of(const struct fs_fleet *f, const struct fs_vehicle *v, const uint32_t *p, int64_t t)
{
	const struct fs_network *net = f->net;
	if (v->edge == FS_NO_EDGE) {
		return JOIN_FRESH;
	}
	if (p[0] == v->edge) {
		return JOIN_CONTINUE;
	}
	if (net->edges[v->edge].to != net->edges[p[0]].from) {
		return -EINVAL;
	}
	bool at_end = v->seg_end_ms == FS_NEVER_MS && vehicle_offset_at(v, t) >= edge_len(f, v->edge) - 0.01;
	return at_end ? JOIN_FRESH : JOIN_PREPEND;
}

/* Start following the freshly installed route. */
static void start_route(struct fs_fleet *f, struct fs_vehicle *v, int join, int64_t t,
			struct fs_vehicle_events *ev)
{
	v->flags &= (uint16_t)~FS_VF_AT_DEPOT;
	if (join == JOIN_FRESH) {
		settle_motion(f, v, t);
		v->edge = route_of(f, v)[0];
		v->seg_from_m = v->seg_to_m = 0.0f;
		v->seg_start_ms = t;
		v->seg_end_ms = FS_NEVER_MS;
	}
	/* moving towards a point of this edge the new route does not stop at (an old stop, or the
	 * end past a new stop): stop the segment here and go on by the new route */
	bool moving = v->seg_end_ms != FS_NEVER_MS && v->seg_to_m > v->seg_from_m;
	if (moving && fabs(v->seg_to_m - drive_to_m(f, v, v->path_pos)) > 0.01 && v->path_pos + 1 == v->path_len) {
		settle_motion(f, v, t);
	}
	if (v->seg_end_ms == FS_NEVER_MS) {
		continue_route(f, v, t, ev);
	}
	/* moving or held: the segment's end continues along the new route */
}

int fs_fleet_assign(struct fs_fleet *f, uint32_t id, const struct fs_job *job, int64_t now_ms,
		    struct fs_vehicle_events *ev)
{
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	const struct fs_network *net = f->net;
	if (!job || !job->id || job->trip_len == 0 || !(job->pickup_short_m >= 0.0) || !(job->dropoff_short_m >= 0.0) ||
	    !route_connected(net, job->to_pickup, job->to_pickup_len) ||
	    !route_connected(net, job->trip, job->trip_len) ||
	    (job->to_pickup_len && job->to_pickup[job->to_pickup_len - 1] != job->trip[0] &&
	     net->edges[job->to_pickup[job->to_pickup_len - 1]].to != net->edges[job->trip[0]].from)) {
		return end(f, v, -EINVAL);
	}
	const char *why = NULL;
	if (!fs_vehicle_accepts_job(v, net, job, &f->cond, f->has_zone ? &f->zone : NULL, now_ms, &why)) {
		struct fs_vehicle_event e = {
			.time_ms = now_ms, .job_id = job->id, .reason = why, .vehicle_id = v->id,
			.kind = FS_VEV_JOB_DECLINED, .from_state = v->state, .to_state = v->state,
		};
		fs_vehicle_events_push(ev, &e);
		if (why == vehicle_reason_energy) {
			charge_request(f, v, now_ms, "cannot complete a job", ev);
		}
		return end(f, v, -EPERM);
	}
	/* where the trip starts relative to the vehicle when there is no pickup drive */
	int join = JOIN_FRESH;
	uint32_t first = FS_NO_EDGE;
	if (job->to_pickup_len) {
		join = join_of(f, v, job->to_pickup, now_ms);
		first = join == JOIN_PREPEND ? v->edge : FS_NO_EDGE;
	} else if (v->seg_end_ms != FS_NEVER_MS || v->edge == FS_NO_EDGE ||
		   join_of(f, v, job->trip, now_ms) == JOIN_PREPEND ||
		   join_of(f, v, job->trip, now_ms) < 0) {
		return end(f, v, -EINVAL); /* the rider must be where the parked vehicle is */
	}
	if (join < 0) {
		return end(f, v, -EINVAL);
	}
	uint32_t off;
	r = arena_copy(f, first, job->to_pickup, job->to_pickup_len, job->trip, job->trip_len, &off);
	if (r < 0) {
		return end(f, v, r);
	}
	v->job_id = job->id;
	r = go(f, v, FS_VEHICLE_TO_PICKUP, now_ms, "job accepted", ev);
	if (r < 0) {
		v->job_id = 0;
		return end(f, v, r);
	}
	vehicle_event(ev, v, now_ms, FS_VEV_JOB_ACCEPTED, NULL, 0.0);
	uint32_t n1 = job->to_pickup_len + (first != FS_NO_EDGE);
	v->path_off = off;
	v->path_len = n1;
	v->path_pos = 0;
	v->trip_off = off + n1;
	v->trip_len = job->trip_len;
	v->stop_short_m = n1 ? (float)fmin(job->pickup_short_m, edge_len(f, route_of(f, v)[n1 - 1])) : 0.0f;
	v->trip_stop_short_m = (float)fmin(job->dropoff_short_m, edge_len(f, job->trip[job->trip_len - 1]));
	v->flags &= (uint16_t)~FS_VF_AUTO_BOARD;
	if (job->board_dwell_s >= 0) {
		v->flags |= FS_VF_AUTO_BOARD;
		v->board_dwell_ms = (uint32_t)job->board_dwell_s * 1000u;
	}
	int32_t alight = job->alight_dwell_s;
	v->alight_s = (uint16_t)(alight <= 0 ? 0 : alight < UINT16_MAX ? alight : UINT16_MAX);
	if (n1) {
		start_route(f, v, join, now_ms, ev);
	} else {
		arrive(f, v, now_ms, ev);
	}
	return end(f, v, 0);
}

int fs_fleet_board(struct fs_fleet *f, uint32_t id, int64_t now_ms, struct fs_vehicle_events *ev)
{
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	if (v->state != FS_VEHICLE_WAITING_FOR_RIDER) {
		refuse(ev, v, now_ms, FS_VEHICLE_IN_TRIP, "not waiting for a rider");
		return end(f, v, -EPERM);
	}
	board(f, v, now_ms, ev);
	return end(f, v, 0);
}

int fs_fleet_cancel_job(struct fs_fleet *f, uint32_t id, int64_t now_ms, struct fs_vehicle_events *ev)
{
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	switch (v->state) {
	case FS_VEHICLE_TO_PICKUP:
	case FS_VEHICLE_WAITING_FOR_RIDER:
		hand_back(f, v, now_ms, "cancelled", ev);
		stop_at_edge_end(v);
		go(f, v, FS_VEHICLE_AVAILABLE, now_ms, "job cancelled", ev);
		return end(f, v, 0);
	case FS_VEHICLE_MINIMAL_RISK:
		if (v->job_id && v->resume_state != FS_VEHICLE_IN_TRIP) {
			hand_back(f, v, now_ms, "cancelled", ev);
			v->resume_state = FS_VEHICLE_AVAILABLE;
			route_clear(v);
			return end(f, v, 0);
		}
		break;
	default:
		break;
	}
	refuse(ev, v, now_ms, FS_VEHICLE_AVAILABLE,
	       v->job_id ? "rider on board: cannot cancel" : "no job to cancel");
	return end(f, v, -EPERM);
}

int fs_fleet_drop_job(struct fs_fleet *f, uint32_t id, uint64_t job_id, int64_t now_ms,
		      struct fs_vehicle_events *ev)
{
	int idx = fs_fleet_find(f, id);
	if (idx < 0) {
		return -ENOENT;
	}
	return f->v[idx].job_id == job_id ? fs_fleet_cancel_job(f, id, now_ms, ev) : 0;
}

/* Refuse a route leaving the ODD or geofence; event says which edge rule. */
static const char *route_refusal(struct fs_fleet *f, const struct fs_vehicle *v, const uint32_t *p,
				 uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const char *why = fs_vehicle_edge_refusal(v, f->net, f->has_zone ? &f->zone : NULL, &f->cond, p[i]);
		if (why) {
			return why;
		}
	}
	return NULL;
}

/* Install route @p and move to @to. */
static int drive_to(struct fs_fleet *f, struct fs_vehicle *v, int to, const uint32_t *p, uint32_t n,
		    int64_t t, const char *why, struct fs_vehicle_events *ev)
{
	if (!route_connected(f->net, p, n)) {
		return -EINVAL;
	}
	int join = n ? join_of(f, v, p, t) : JOIN_FRESH;
	if (join < 0) {
		return -EINVAL;
	}
	const char *odd = route_refusal(f, v, p, n);
	if (odd) {
		refuse(ev, v, t, to, odd);
		return -EPERM;
	}
	uint32_t off = 0, first = join == JOIN_PREPEND ? v->edge : FS_NO_EDGE;
	int r = n ? arena_copy(f, first, p, n, NULL, 0, &off) : 0;
	if (r < 0) {
		return r;
	}
	if (v->state != to) {
		r = go(f, v, to, t, why, ev);
		if (r < 0) {
			return r;
		}
	}
	v->path_off = off;
	v->path_len = n ? n + (first != FS_NO_EDGE) : 0;
	v->path_pos = 0;
	v->stop_short_m = 0.0f; /* repositions and depot drives end at a junction */
	if (n) {
		start_route(f, v, join, t, ev);
	}
	return 0;
}

int fs_fleet_reposition(struct fs_fleet *f, uint32_t id, const uint32_t *path, uint32_t path_len,
			int64_t now_ms, struct fs_vehicle_events *ev)
{
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	if (!path_len) {
		return end(f, v, -EINVAL);
	}
	if (v->state != FS_VEHICLE_AVAILABLE && v->state != FS_VEHICLE_REPOSITIONING) {
		refuse(ev, v, now_ms, FS_VEHICLE_REPOSITIONING, "not available");
		return end(f, v, -EPERM);
	}
	v->flags &= (uint16_t)~FS_VF_TO_MAINTENANCE;
	return end(f, v, drive_to(f, v, FS_VEHICLE_REPOSITIONING, path, path_len, now_ms, "reposition", ev));
}

int fs_fleet_send_to_depot(struct fs_fleet *f, uint32_t id, uint16_t depot, int purpose,
			   const uint32_t *path, uint32_t path_len, int64_t now_ms,
			   struct fs_vehicle_events *ev)
{
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	if (depot >= f->depot_count || (purpose != FS_DEPOT_CHARGE && purpose != FS_DEPOT_MAINTENANCE)) {
		return end(f, v, -EINVAL);
	}
	const struct depot *d = &f->depots[depot];
	/* an empty route: already there (parked at the depot, or at the end of an edge into its node) */
	bool there = ((v->flags & FS_VF_AT_DEPOT) && v->depot == depot) ||
		     (v->edge != FS_NO_EDGE && v->seg_end_ms == FS_NEVER_MS &&
		      f->net->edges[v->edge].to == d->node &&
		      v->seg_to_m >= edge_len(f, v->edge) - 0.01);
	if (path_len ? path[path_len - 1] >= f->net->edge_count ||
			       f->net->edges[path[path_len - 1]].to != d->node
		     : !there) {
		return end(f, v, -EINVAL);
	}
	if (!path_len) {
		park_at_depot(f, v, depot);
	}
	int to = purpose == FS_DEPOT_CHARGE ? FS_VEHICLE_TO_CHARGER : FS_VEHICLE_REPOSITIONING;
	if (v->state == FS_VEHICLE_TO_PICKUP && purpose == FS_DEPOT_CHARGE) {
		hand_back(f, v, now_ms, "sent to charge", ev);
	} else if (v->state != FS_VEHICLE_AVAILABLE && v->state != FS_VEHICLE_REPOSITIONING) {
		refuse(ev, v, now_ms, to, "not available");
		return end(f, v, -EPERM);
	}
	if (!path_len && purpose == FS_DEPOT_MAINTENANCE) {
		r = go(f, v, FS_VEHICLE_MAINTENANCE, now_ms, "maintenance", ev);
		if (r == 0) {
			start_maintenance(f, v, now_ms);
		}
		return end(f, v, r);
	}
	uint16_t old_depot = v->depot;
	v->depot = depot;
	r = drive_to(f, v, to, path, path_len, now_ms,
		     purpose == FS_DEPOT_CHARGE ? "to charger" : "to depot for maintenance", ev);
	if (r < 0) {
		v->depot = old_depot;
		return end(f, v, r);
	}
	v->depot = depot;
	if (purpose == FS_DEPOT_MAINTENANCE) {
		v->flags |= FS_VF_TO_MAINTENANCE;
	}
	if (!path_len) {
		arrive(f, v, now_ms, ev);
	}
	return end(f, v, 0);
}

int fs_fleet_commission(struct fs_fleet *f, uint32_t id, int64_t now_ms, struct fs_vehicle_events *ev)
{
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	r = go(f, v, FS_VEHICLE_COMMISSIONING, now_ms, "commissioning", ev);
	if (r == 0) {
		v->timer_ms = add_ms(now_ms, v->params->commissioning_h * MS_PER_H);
	}
	return end(f, v, r);
}

int fs_fleet_set_phase(struct fs_fleet *f, uint32_t id, int phase, int64_t now_ms,
		       struct fs_vehicle_events *ev)
{
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	if (phase < FS_CITY_DATA_COLLECTION || phase > FS_CITY_DRIVERLESS) {
		return end(f, v, -EINVAL);
	}
	v->phase = (uint8_t)phase;
	platform_changed(f, v, now_ms, ev);
	return end(f, v, 0);
}

int fs_fleet_update_software(struct fs_fleet *f, uint32_t id, uint8_t sw, int64_t now_ms,
			     struct fs_vehicle_events *ev)
{
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	if (sw >= f->params.sw_count) {
		return end(f, v, -EINVAL);
	}
	v->sw_pending = sw;
	v->flags |= FS_VF_SW_PENDING;
	bool stopped = v->seg_end_ms == FS_NEVER_MS &&
		       (v->state == FS_VEHICLE_AVAILABLE || !is_road_state(v->state)) &&
		       v->state != FS_VEHICLE_MINIMAL_RISK;
	if (stopped) {
		apply_software(f, v, now_ms, ev);
	}
	return end(f, v, 0);
}

int fs_fleet_inject_fault(struct fs_fleet *f, uint32_t id, int kind, unsigned index, int health,
			  int64_t now_ms, struct fs_vehicle_events *ev)
{
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	if (fs_platform_set(&v->platform, kind, index, health) < 0) {
		return end(f, v, -EINVAL);
	}
	vehicle_device_event(ev, v, now_ms, "injected", kind, index, health);
	vehicle_fault_redraw(v);
	platform_changed(f, v, now_ms, ev);
	return end(f, v, 0);
}

int fs_fleet_transition(struct fs_fleet *f, uint32_t id, int to, int64_t now_ms,
			struct fs_vehicle_events *ev)
{
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	switch (to) {
	case FS_VEHICLE_MINIMAL_RISK:
		if (!fs_vehicle_transition_allowed(v->state, to)) {
			return end(f, v, go(f, v, to, now_ms, NULL, ev));
		}
		enter_mrc(f, v, now_ms, FS_MRC_SOFTWARE, "requested", ev);
		return end(f, v, v->state == FS_VEHICLE_MINIMAL_RISK ? 0 : -EPERM);
	case FS_VEHICLE_CHARGING:
		if (!fs_vehicle_transition_refusal(v, to) && f->depots[v->depot].busy >= f->depots[v->depot].plugs) {
			refuse(ev, v, now_ms, to, "no free plug");
			return end(f, v, -EBUSY);
		}
		if ((r = go(f, v, to, now_ms, NULL, ev)) < 0) {
			return end(f, v, r);
		}
		/* plugged by hand: take the plug and set the charge end */
		f->depots[v->depot].busy++;
		v->charge_kw = (float)f->depots[v->depot].plug_kw;
		v->flags &= (uint16_t)~FS_VF_CHARGE_REQUESTED;
		v->timer_ms = add_ms(now_ms, fs_vehicle_charge_seconds(v->params, v->charge_kw,
								       v->battery_kwh / v->params->battery_kwh,
								       v->params->charge_target_soc) *
						     MS_PER_S);
		return end(f, v, 0);
	default:
		break;
	}
	int from = v->state;
	if ((r = go(f, v, to, now_ms, NULL, ev)) < 0) {
		return end(f, v, r);
	}
	if (to == FS_VEHICLE_COMMISSIONING) {
		v->flags &= (uint16_t)~FS_VF_REWORK;
		v->timer_ms = add_ms(now_ms, v->params->commissioning_h * MS_PER_H);
	} else if (to == FS_VEHICLE_MAINTENANCE) {
		start_maintenance(f, v, now_ms);
	} else if (to == FS_VEHICLE_AVAILABLE || to == FS_VEHICLE_OUT_OF_SERVICE) {
		if (from == FS_VEHICLE_TO_PICKUP || from == FS_VEHICLE_WAITING_FOR_RIDER ||
		    from == FS_VEHICLE_IN_TRIP) {
			hand_back(f, v, now_ms, "job ended by the service", ev);
		}
		stop_at_edge_end(v);
	}
	return end(f, v, 0);
}

int fs_fleet_set_conditions(struct fs_fleet *f, const struct fs_conditions *cond, int64_t now_ms,
			    struct fs_vehicle_events *ev)
{
	if (!cond || !(cond->travel_time_factor > 0.0) || cond->rain > FS_RAIN_STORM) {
		return -EINVAL;
	}
	int64_t r = fs_fleet_advance(f, now_ms, ev);
	if (r < 0) {
		return (int)r;
	}
	uint64_t wv = cond->weather ? fs_weather_version(cond->weather) : 0;
	bool odd_changed = cond->rain != f->cond.rain || cond->night != f->cond.night ||
			   cond->weather != f->cond.weather || wv != f->weather_version ||
			   cond->closed != f->cond.closed || cond->closed_version != f->cond.closed_version;
	f->cond = *cond;
	f->weather_version = wv;
	if (!odd_changed) {
		return 0; /* a new travel-time factor applies from the next edge on */
	}
	for (uint32_t i = 0; i < f->count; i++) {
		struct fs_vehicle *v = &f->v[i];
		if (v->job_id || v->state == FS_VEHICLE_REPOSITIONING) {
			acct(f, v, now_ms);
			odd_check(f, v, now_ms, ev);
			reschedule(f, v);
		}
	}
	return 0;
}

/* ---- hashes, stats, memory ------------------------------------------------------------------ */

uint64_t fs_fleet_vehicle_hash(const struct fs_fleet *f, uint32_t index)
{
	const struct fs_vehicle *v = &f->v[index];
	const uint32_t *base = f->arena;
	return fs_vehicle_hash(v, base ? base + v->path_off + v->path_pos : NULL, v->path_len - v->path_pos,
			       base ? base + v->trip_off : NULL, v->trip_len);
}

uint64_t fs_fleet_hash(const struct fs_fleet *cf)
{
	/* The cache is not part of the fleet's value: refreshing it is not a change. */
	struct fs_fleet *f = (struct fs_fleet *)cf;
	for (uint32_t k = 0; k < f->dirty_count; k++) {
		uint32_t i = f->dirty_list[k];
		uint64_t h = fs_fleet_vehicle_hash(f, i);
		f->hash_sum += h - f->vhash[i]; /* wraps: sum mod 2^64 */
		f->vhash[i] = h;
		f->dirty[i] &= (uint8_t)~DIRTY_HASH;
	}
	f->dirty_count = 0;
	return f->hash_sum;
}

const uint32_t *fs_fleet_touched(const struct fs_fleet *f, uint32_t *ret_count)
{
	*ret_count = f->touched_count;
	return f->touched_list;
}

void fs_fleet_clear_touched(struct fs_fleet *f)
{
	for (uint32_t k = 0; k < f->touched_count; k++) {
		f->dirty[f->touched_list[k]] &= (uint8_t)~DIRTY_TOUCHED;
	}
	f->touched_count = 0;
}

const struct fs_fleet_stats *fs_fleet_stats(const struct fs_fleet *f)
{
	return &f->stats;
}

int fs_fleet_add_variant(struct fs_fleet *f, const struct fs_vehicle_params *params)
{
	if (!params || !(params->battery_kwh > 0.0) || params->sw_count != f->params.sw_count) {
		return -EINVAL;
	}
	for (uint32_t i = 0; i < params->sw_count; i++) {
		if (params->sw[i].version != f->params.sw[i].version) {
			return -EINVAL; /* a vehicle's sw index must mean the same release in every variant */
		}
	}
	if (f->variant_count == FS_FLEET_VARIANTS_MAX) {
		return -ENOSPC;
	}
	f->variants[f->variant_count++] = *params;
	return (int)f->variant_count;
}

const struct fs_fleet_stats *fs_fleet_variant_stats(const struct fs_fleet *f, unsigned variant)
{
	return variant <= f->variant_count ? &f->variant_stats[variant] : NULL;
}

int fs_fleet_set_variant(struct fs_fleet *f, uint32_t id, unsigned variant, int64_t now_ms,
			 struct fs_vehicle_events *ev)
{
	if (variant > f->variant_count) {
		return -EINVAL;
	}
	struct fs_vehicle *v;
	int r = begin(f, id, now_ms, ev, &v);
	if (r < 0) {
		return r;
	}
	if (v->state == FS_VEHICLE_CHARGING) {
		return end(f, v, -EPERM);
	}
	const struct fs_vehicle_params *to = variant ? &f->variants[variant - 1] : &f->params;
	v->battery_kwh = v->battery_kwh / v->params->battery_kwh * to->battery_kwh; /* the same state of charge */
	v->params = to;
	return end(f, v, 0);
}

size_t fs_fleet_memory_bytes(const struct fs_fleet *f)
{
	return sizeof(*f) + (size_t)f->cap * sizeof(*f->v) + (size_t)f->heap_cap * sizeof(*f->heap) +
	       f->arena_cap * sizeof(*f->arena) + (size_t)f->depot_cap * sizeof(*f->depots) +
	       (size_t)f->hash_cap * (sizeof(*f->vhash) + sizeof(*f->dirty) + sizeof(*f->dirty_list) +
							sizeof(*f->touched_list));
}
