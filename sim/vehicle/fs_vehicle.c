/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle - the lifecycle state machine, initialisation and the
 * canonical state hash of one vehicle (its event list: fs_vehicle_events.c).
 *
 * The transition table below is the whole set of legal moves; guards then
 * check what the table cannot (a job, a depot, the platform's health, the
 * city phase). A refused transition changes nothing and says why in a
 * FS_VEV_TRANSITION_REFUSED event, so a service never applies one silently.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "fs/vehicle.h"
#include "fs_vehicle_internal.h"

static const char *const state_names[FS_VEHICLE_STATE_COUNT] = {
	[FS_VEHICLE_UNSPECIFIED] = "unspecified",
	[FS_VEHICLE_DELIVERED] = "delivered",
	[FS_VEHICLE_COMMISSIONING] = "commissioning",
	[FS_VEHICLE_AVAILABLE] = "available",
	[FS_VEHICLE_TO_PICKUP] = "to_pickup",
	[FS_VEHICLE_WAITING_FOR_RIDER] = "waiting_for_rider",
	[FS_VEHICLE_IN_TRIP] = "in_trip",
	[FS_VEHICLE_REPOSITIONING] = "repositioning",
	[FS_VEHICLE_TO_CHARGER] = "to_charger",
	[FS_VEHICLE_CHARGING] = "charging",
	[FS_VEHICLE_MAINTENANCE] = "maintenance",
	[FS_VEHICLE_OUT_OF_SERVICE] = "out_of_service",
	[FS_VEHICLE_MINIMAL_RISK] = "minimal_risk",
};

const char *fs_vehicle_state_name(int state)
{
	return state >= 0 && state < FS_VEHICLE_STATE_COUNT ? state_names[state] : "?";
}

const char *fs_vehicle_event_kind_name(int kind)
{
	static const char *const names[] = {
		[FS_VEV_STATE_CHANGED] = "state_changed",
		[FS_VEV_TRANSITION_REFUSED] = "transition_refused",
		[FS_VEV_DEVICE_HEALTH] = "device_health",
		[FS_VEV_REMOTE_ASSIST] = "remote_assist",
		[FS_VEV_DISENGAGEMENT] = "disengagement",
		[FS_VEV_JOB_ACCEPTED] = "job_accepted",
		[FS_VEV_JOB_DECLINED] = "job_declined",
		[FS_VEV_JOB_HANDED_BACK] = "job_handed_back",
		[FS_VEV_ARRIVED] = "arrived",
		[FS_VEV_CHARGE_REQUEST] = "charge_request",
		[FS_VEV_DATA_UPLOADED] = "data_uploaded",
		[FS_VEV_SOFTWARE_UPDATED] = "software_updated",
		[FS_VEV_COMMISSIONED] = "commissioned",
		[FS_VEV_MAINTENANCE_REQUEST] = "maintenance_request",
		[FS_VEV_ODD_CHANGED] = "odd_changed",
	};
	if (kind <= 0 || kind >= (int)(sizeof(names) / sizeof(names[0])) || !names[kind]) {
		return "?";
	}
	return names[kind];
}

/* ---- the transition table ------------------------------------------------ */

#define S(x) (1u << FS_VEHICLE_##x)

/* allowed[from] = bit set of legal destinations. Every legal move is here;
 * docs/vehicle.md draws the same table. */
static const uint16_t allowed[FS_VEHICLE_STATE_COUNT] = {
	[FS_VEHICLE_DELIVERED] = S(COMMISSIONING) | S(OUT_OF_SERVICE),
	[FS_VEHICLE_COMMISSIONING] = S(AVAILABLE) | S(MAINTENANCE) | S(OUT_OF_SERVICE),
	[FS_VEHICLE_AVAILABLE] = S(TO_PICKUP) | S(REPOSITIONING) | S(TO_CHARGER) | S(CHARGING) |
				 S(MAINTENANCE) | S(OUT_OF_SERVICE) | S(MINIMAL_RISK),
	[FS_VEHICLE_TO_PICKUP] = S(WAITING_FOR_RIDER) | S(AVAILABLE) | S(TO_CHARGER) |
				 S(MINIMAL_RISK),
	[FS_VEHICLE_WAITING_FOR_RIDER] = S(IN_TRIP) | S(AVAILABLE) | S(MINIMAL_RISK),
	[FS_VEHICLE_IN_TRIP] = S(AVAILABLE) | S(MINIMAL_RISK),
	[FS_VEHICLE_REPOSITIONING] = S(AVAILABLE) | S(TO_PICKUP) | S(TO_CHARGER) | S(MAINTENANCE) |
				     S(MINIMAL_RISK),
	[FS_VEHICLE_TO_CHARGER] = S(CHARGING) | S(AVAILABLE) | S(MAINTENANCE) | S(MINIMAL_RISK),
	[FS_VEHICLE_CHARGING] = S(AVAILABLE) | S(MAINTENANCE) | S(OUT_OF_SERVICE),
	[FS_VEHICLE_MAINTENANCE] = S(AVAILABLE) | S(COMMISSIONING) | S(OUT_OF_SERVICE),
	[FS_VEHICLE_OUT_OF_SERVICE] = S(MAINTENANCE),
	[FS_VEHICLE_MINIMAL_RISK] = S(AVAILABLE) | S(TO_PICKUP) | S(WAITING_FOR_RIDER) | S(IN_TRIP) |
				    S(REPOSITIONING) | S(TO_CHARGER) | S(MAINTENANCE),
};

#undef S

bool fs_vehicle_transition_allowed(int from, int to)
{
	if (from <= 0 || from >= FS_VEHICLE_STATE_COUNT || to <= 0 || to >= FS_VEHICLE_STATE_COUNT) {
		return false;
	}
	return allowed[from] & (1u << to);
}

static bool is_driving_state(int s)
{
	return s == FS_VEHICLE_TO_PICKUP || s == FS_VEHICLE_IN_TRIP || s == FS_VEHICLE_REPOSITIONING ||
	       s == FS_VEHICLE_TO_CHARGER;
}

const char *fs_vehicle_transition_refusal(const struct fs_vehicle *v, int to)
{
	const int from = v->state;
	if (to <= FS_VEHICLE_UNSPECIFIED || to >= FS_VEHICLE_STATE_COUNT) {
		return "unknown state";
	}
	if (!fs_vehicle_transition_allowed(from, to)) {
		return "not in the transition table";
	}
	struct fs_platform_assessment a;
	fs_platform_assess(&v->platform, v->params, &a);
	const bool at_depot = v->flags & FS_VF_AT_DEPOT;

	if (from == FS_VEHICLE_MINIMAL_RISK && to != FS_VEHICLE_MAINTENANCE) {
		if (to != v->resume_state && to != FS_VEHICLE_AVAILABLE) {
			return "only the interrupted state can resume";
		}
		if (v->mrc_cause) {
			return "minimal-risk cause not cleared";
		}
	}
	switch (to) {
	case FS_VEHICLE_TO_PICKUP:
		if (v->phase == FS_CITY_DATA_COLLECTION) {
			return "no riders in the data-collection phase";
		}
		if (a.needs_depot) {
			return "failed hardware: depot visit first";
		}
		__attribute__((fallthrough));
	case FS_VEHICLE_IN_TRIP:
	case FS_VEHICLE_WAITING_FOR_RIDER:
		if (!v->job_id) {
			return "no job";
		}
		break;
	case FS_VEHICLE_CHARGING:
	case FS_VEHICLE_MAINTENANCE:
	case FS_VEHICLE_OUT_OF_SERVICE:
		if (!at_depot) {
			return "not at a depot";
		}
		break;
	case FS_VEHICLE_AVAILABLE:
		if (from == FS_VEHICLE_COMMISSIONING && !(v->flags & FS_VF_COMMISSIONED)) {
			return "commissioning not complete";
		}
		if (from == FS_VEHICLE_MAINTENANCE && a.needs_depot) {
			return "repair not complete";
		}
		break;
	case FS_VEHICLE_COMMISSIONING:
		if (from == FS_VEHICLE_MAINTENANCE && !(v->flags & FS_VF_REWORK)) {
			return "only rework returns to commissioning";
		}
		break;
	default:
		break;
	}
	/* With a safety driver (supervised) or a human driver (data collection),
	 * a person takes over; only a driverless vehicle must stay stopped. */
	if (is_driving_state(to) && v->phase == FS_CITY_DRIVERLESS && a.minimal_risk) {
		return "device faults force a minimal-risk stop";
	}
	return NULL;
}

int vehicle_go(struct fs_vehicle *v, int to, int64_t t, const char *why,
	       struct fs_vehicle_events *ev)
{
	if (t < v->acct_ms) {
		return -EINVAL;
	}
	const char *refusal = fs_vehicle_transition_refusal(v, to);
	if (refusal) {
		vehicle_transition_event(ev, v, t, FS_VEV_TRANSITION_REFUSED, v->state,
					 (uint8_t)(to > 0 && to < FS_VEHICLE_STATE_COUNT ? to : 0), refusal);
		return -EPERM;
	}
	vehicle_account(v, t);
	const uint8_t from = v->state;
	if (to == FS_VEHICLE_MINIMAL_RISK) {
		v->resume_state = from;
		v->mrc_count++;
	}
	v->state = (uint8_t)to;
	v->state_since_ms = t;
	vehicle_transition_event(ev, v, t, FS_VEV_STATE_CHANGED, from, (uint8_t)to, why);
	return 0;
}

int fs_vehicle_transition(struct fs_vehicle *v, int to, int64_t now_ms,
			  struct fs_vehicle_events *ev)
{
	return vehicle_go(v, to, now_ms, NULL, ev);
}

/* ---- ODD in force ---------------------------------------------------------- */

bool vehicle_refresh_odd(struct fs_vehicle *v)
{
	struct fs_platform_assessment a;
	fs_platform_assess(&v->platform, v->params, &a);
	uint16_t odd = (uint16_t)(v->params->sw[v->sw].odd_flags | v->city_odd_flags | a.odd_flags);
	float cap = (odd & FS_ODD_SPEED_CAP) ? a.speed_cap_mps : 0.0f;
	bool changed = odd != v->odd_flags || cap != v->speed_cap_mps;
	v->odd_flags = odd;
	v->speed_cap_mps = cap;
	return changed;
}

/* ---- initialisation ------------------------------------------------------- */

int fs_vehicle_init(struct fs_vehicle *v, const struct fs_vehicle_params *params, uint64_t seed,
		    const struct fs_vehicle_init *init, int64_t now_ms)
{
	uint8_t state = init->state ? init->state : FS_VEHICLE_DELIVERED;
	if (!params || (state != FS_VEHICLE_DELIVERED && state != FS_VEHICLE_AVAILABLE) ||
	    init->phase > FS_CITY_DRIVERLESS || init->sw >= params->sw_count ||
	    !(init->soc >= 0.0 && init->soc <= 1.0) || !(init->offset_m >= 0.0) ||
	    (init->at_depot && init->home_depot == FS_NO_DEPOT)) {
		return -EINVAL;
	}
	memset(v, 0, sizeof(*v));
	v->params = params;
	fs_rng_init(&v->fault_rng, seed, FS_RNG_STREAM_VEHICLE_FAULTS, init->id);
	fs_rng_init(&v->ops_rng, seed, FS_RNG_STREAM_VEHICLE_OPS, init->id);
	v->id = init->id;
	v->state = state;
	v->resume_state = state;
	v->phase = init->phase;
	v->sw = init->sw;
	v->city_odd_flags = init->city_odd_flags;
	v->home_depot = init->home_depot;
	v->depot = init->at_depot ? init->home_depot : FS_NO_DEPOT;
	v->flags = init->at_depot ? FS_VF_AT_DEPOT : 0;
	if (state == FS_VEHICLE_AVAILABLE) {
		v->flags |= FS_VF_COMMISSIONED;
	}
	v->battery_kwh = init->soc * params->battery_kwh;
	v->edge = init->edge;
	v->seg_from_m = v->seg_to_m = (float)init->offset_m;
	v->seg_start_ms = now_ms;
	v->seg_end_ms = FS_NEVER_MS;
	v->state_since_ms = now_ms;
	v->acct_ms = now_ms;
	v->timer_ms = FS_NEVER_MS;
	v->upload_since_ms = now_ms;
	v->next_event_ms = FS_NEVER_MS;
	v->heap_pos = UINT32_MAX;
	v->queue_next = UINT32_MAX;
	vehicle_fault_redraw(v);
	vehicle_draw_ra(v);
	vehicle_draw_diseng(v);
	vehicle_refresh_odd(v);
	return 0;
}

/* ---- canonical hash --------------------------------------------------------- */

struct canon {
	uint8_t buf[512];
	size_t n;
};

static void put_u64(struct canon *c, uint64_t x)
{
	for (int i = 0; i < 8; i++) {
		c->buf[c->n++] = (uint8_t)(x >> (8 * i));
	}
}

static void put_u32(struct canon *c, uint32_t x)
{
	for (int i = 0; i < 4; i++) {
		c->buf[c->n++] = (uint8_t)(x >> (8 * i));
	}
}

static void put_f64(struct canon *c, double d)
{
	uint64_t x;
	memcpy(&x, &d, sizeof(x));
	put_u64(c, x);
}

static void put_f32(struct canon *c, float f)
{
	uint32_t x;
	memcpy(&x, &f, sizeof(x));
	put_u32(c, x);
}

static void put_edges(XXH3_state_t *st, const uint32_t *edges, uint32_t n)
{
	uint8_t b[4 * 64];
	size_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		for (int j = 0; j < 4; j++) {
			b[k++] = (uint8_t)(edges[i] >> (8 * j));
		}
		if (k == sizeof(b)) {
			XXH3_64bits_update(st, b, k);
			k = 0;
		}
	}
	XXH3_64bits_update(st, b, k);
}

uint64_t fs_vehicle_hash(const struct fs_vehicle *v, const uint32_t *path, uint32_t path_len,
			 const uint32_t *trip, uint32_t trip_len)
{
	struct canon c = { .n = 0 };
	for (int i = 0; i < 4; i++) {
		put_u64(&c, v->fault_rng.s[i]);
	}
	for (int i = 0; i < 4; i++) {
		put_u64(&c, v->ops_rng.s[i]);
	}
	put_u64(&c, v->job_id);
	put_u64(&c, (uint64_t)v->state_since_ms);
	put_u64(&c, (uint64_t)v->timer_ms);
	put_u64(&c, (uint64_t)v->acct_ms);
	put_u64(&c, (uint64_t)v->op_ms);
	put_u64(&c, (uint64_t)v->fault_at_op_ms);
	put_u64(&c, (uint64_t)v->seg_start_ms);
	put_u64(&c, (uint64_t)v->seg_end_ms);
	put_u64(&c, (uint64_t)v->upload_since_ms);
	put_u64(&c, (uint64_t)v->drive_ms);
	put_u64(&c, (uint64_t)v->next_event_ms);
	put_f64(&c, v->battery_kwh);
	put_f64(&c, v->odometer_m);
	put_f64(&c, v->next_ra_m);
	put_f64(&c, v->next_diseng_m);
	put_f64(&c, v->logged_gb);
	put_f64(&c, v->uploaded_gb);
	put_u32(&c, v->id);
	put_u32(&c, v->edge);
	put_f32(&c, v->seg_from_m);
	put_f32(&c, v->seg_to_m);
	put_f32(&c, v->stop_short_m);
	put_f32(&c, v->trip_stop_short_m);
	put_f32(&c, v->speed_cap_mps);
	put_f32(&c, v->charge_kw);
	put_u32(&c, v->board_dwell_ms);
	put_u32(&c, v->alight_s);
	put_u32(&c, v->ra_count);
	put_u32(&c, v->diseng_count);
	put_u32(&c, v->mrc_count);
	put_u32(&c, (uint32_t)v->flags << 16 | v->odd_flags);
	put_u32(&c, (uint32_t)v->city_odd_flags << 16 | v->depot);
	put_u32(&c, v->home_depot);
	put_u32(&c, (uint32_t)v->state | (uint32_t)v->resume_state << 8 | (uint32_t)v->phase << 16 |
			    (uint32_t)v->sw << 24);
	put_u32(&c, (uint32_t)v->sw_pending | (uint32_t)v->mrc_cause << 8);
	for (size_t i = 0; i < sizeof(v->platform.health); i++) {
		c.buf[c.n++] = v->platform.health[i];
	}
	/* Route lengths say where one route ends and the next begins. */
	put_u32(&c, path_len);
	put_u32(&c, trip_len);

	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, c.buf, c.n);
	if (path_len) {
		put_edges(&st, path, path_len);
	}
	if (trip_len) {
		put_edges(&st, trip, trip_len);
	}
	return XXH3_64bits_digest(&st);
}
