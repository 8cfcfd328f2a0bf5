/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle_platform - the DRIVE AGX Hyperion 10 platform of one vehicle:
 * 38 devices with 2-bit health, the fault process, the fault rule table and
 * the software release's remote-assistance and disengagement processes.
 *
 * Fault process: every ok device degrades at degrade_per_h and fails at
 * fail_per_h of its kind; a degraded device fails at fail_per_h. These are
 * competing exponential clocks on the vehicle's operating (powered) time, so
 * the next fault is one exponential draw with the summed rate, and the device
 * is picked in proportion to its rate. Draws come only from the vehicle's
 * fault stream (run seed, FS_RNG_STREAM_VEHICLE_FAULTS, vehicle id): the
 * fault history of a vehicle depends on nothing but its own powered time.
 *
 * Rule table: fs_platform_assess() is a literal transcription of the table in
 * docs/vehicle.md; each row is a predicate over device counts and a
 * consequence. Rows combine: restrictions add up, the lowest speed cap wins.
 */
#include <errno.h>
#include <math.h>

#include "fs/vehicle.h"
#include "fs_vehicle_internal.h"

/* ---- device addressing ------------------------------------------------------ */

static const unsigned kind_first[FS_DEVICE_KIND_COUNT] = {
	[FS_DEVICE_CAMERA] = 0,
	[FS_DEVICE_RADAR] = FS_PLATFORM_CAMERAS,
	[FS_DEVICE_LIDAR] = FS_PLATFORM_CAMERAS + FS_PLATFORM_RADARS,
	[FS_DEVICE_ULTRASONIC] = FS_PLATFORM_CAMERAS + FS_PLATFORM_RADARS + FS_PLATFORM_LIDARS,
	[FS_DEVICE_THOR] = FS_PLATFORM_CAMERAS + FS_PLATFORM_RADARS + FS_PLATFORM_LIDARS +
			   FS_PLATFORM_ULTRASONICS,
};

static const unsigned kind_size[FS_DEVICE_KIND_COUNT] = {
	[FS_DEVICE_CAMERA] = FS_PLATFORM_CAMERAS,
	[FS_DEVICE_RADAR] = FS_PLATFORM_RADARS,
	[FS_DEVICE_LIDAR] = FS_PLATFORM_LIDARS,
	[FS_DEVICE_ULTRASONIC] = FS_PLATFORM_ULTRASONICS,
	[FS_DEVICE_THOR] = FS_PLATFORM_THORS,
};

_Static_assert(FS_PLATFORM_CAMERAS + FS_PLATFORM_RADARS + FS_PLATFORM_LIDARS +
			       FS_PLATFORM_ULTRASONICS + FS_PLATFORM_THORS ==
		       FS_PLATFORM_DEVICES,
	       "device count");

unsigned fs_platform_kind_size(int kind)
{
	return kind > 0 && kind < FS_DEVICE_KIND_COUNT ? kind_size[kind] : 0;
}

void platform_device(unsigned d, int *ret_kind, unsigned *ret_index)
{
	int k = FS_DEVICE_THOR;
	while (k > FS_DEVICE_CAMERA && d < kind_first[k]) {
		k--;
	}
	*ret_kind = k;
	*ret_index = d - kind_first[k];
}

int platform_get_global(const struct fs_platform *p, unsigned d)
{
	return (p->health[d / 4] >> ((d % 4) * 2)) & 3;
}

void platform_set_global(struct fs_platform *p, unsigned d, int health)
{
	unsigned shift = (d % 4) * 2;
	p->health[d / 4] = (uint8_t)((p->health[d / 4] & ~(3u << shift)) | ((unsigned)health << shift));
}

int fs_platform_get(const struct fs_platform *p, int kind, unsigned index)
{
	if (index >= fs_platform_kind_size(kind)) {
		return FS_HEALTH_FAILED;
	}
	return platform_get_global(p, kind_first[kind] + index);
}

int fs_platform_set(struct fs_platform *p, int kind, unsigned index, int health)
{
	if (index >= fs_platform_kind_size(kind) || health < FS_HEALTH_OK || health > FS_HEALTH_FAILED) {
		return -EINVAL;
	}
	platform_set_global(p, kind_first[kind] + index, health);
	return 0;
}

unsigned fs_platform_count(const struct fs_platform *p, int kind, int health)
{
	unsigned n = 0, size = fs_platform_kind_size(kind);
	for (unsigned i = 0; i < size; i++) {
		n += platform_get_global(p, kind_first[kind] + i) == health;
	}
	return n;
}

unsigned fs_platform_clear_degraded(struct fs_platform *p)
{
	unsigned n = 0;
	for (unsigned d = 0; d < FS_PLATFORM_DEVICES; d++) {
		if (platform_get_global(p, d) == FS_HEALTH_DEGRADED) {
			platform_set_global(p, d, FS_HEALTH_OK);
			n++;
		}
	}
	return n;
}

/* ---- the rule table ---------------------------------------------------------- */

struct tally {
	unsigned thor_deg, thor_fail;
	unsigned lidar_deg, lidar_fail;
	unsigned fcam_bad, fcam_fail;  /* front cameras not ok / failed */
	unsigned ocam_bad;             /* other cameras not ok */
	unsigned frad_bad;             /* front long-range radar not ok */
	unsigned radar_bad;
	unsigned failed;               /* any kind */
};

static void tally_of(const struct fs_platform *p, struct tally *t)
{
	*t = (struct tally){ 0 };
	for (unsigned i = 0; i < FS_PLATFORM_CAMERAS; i++) {
		int h = fs_platform_get(p, FS_DEVICE_CAMERA, i);
		if (i < FS_PLATFORM_FRONT_CAMERAS) {
			t->fcam_bad += h != FS_HEALTH_OK;
			t->fcam_fail += h == FS_HEALTH_FAILED;
		} else {
			t->ocam_bad += h != FS_HEALTH_OK;
		}
	}
	for (unsigned i = 0; i < FS_PLATFORM_RADARS; i++) {
		int h = fs_platform_get(p, FS_DEVICE_RADAR, i);
		t->radar_bad += h != FS_HEALTH_OK;
		if (i == FS_PLATFORM_FRONT_RADAR) {
			t->frad_bad = h != FS_HEALTH_OK;
		}
	}
	t->lidar_deg = fs_platform_count(p, FS_DEVICE_LIDAR, FS_HEALTH_DEGRADED);
	t->lidar_fail = fs_platform_count(p, FS_DEVICE_LIDAR, FS_HEALTH_FAILED);
	t->thor_deg = fs_platform_count(p, FS_DEVICE_THOR, FS_HEALTH_DEGRADED);
	t->thor_fail = fs_platform_count(p, FS_DEVICE_THOR, FS_HEALTH_FAILED);
	for (unsigned d = 0; d < FS_PLATFORM_DEVICES; d++) {
		t->failed += platform_get_global(p, d) == FS_HEALTH_FAILED;
	}
}

enum cap_kind { CAP_NONE, CAP_ONE_THOR, CAP_NO_LIDAR, CAP_FRONT_CAMERA };

struct rule {
	const char *name;
	bool (*when)(const struct tally *t);
	bool minimal_risk;
	bool needs_depot;
	uint16_t odd_flags;
	enum cap_kind cap;
};

static bool r1(const struct tally *t) { return t->thor_fail >= 1; }
static bool r2(const struct tally *t) { return t->thor_deg >= FS_PLATFORM_THORS; }
static bool r3(const struct tally *t) { return t->lidar_fail >= 1 && t->fcam_fail >= 2; }
static bool r4(const struct tally *t) { return t->fcam_bad >= 3; }
static bool r5(const struct tally *t) { return (t->lidar_deg + t->lidar_fail) >= 1 && t->frad_bad; }
static bool r6(const struct tally *t) { return t->thor_deg == 1 && t->thor_fail == 0; }
static bool r7(const struct tally *t) { return t->lidar_fail >= 1; }
static bool r8(const struct tally *t) { return t->lidar_deg >= 1; }
static bool r9(const struct tally *t) { return t->fcam_bad >= 1 && t->fcam_bad <= 2; }
static bool r10(const struct tally *t) { return t->ocam_bad >= 2; }
static bool r11(const struct tally *t) { return t->radar_bad >= 1; }
static bool r12(const struct tally *t) { return t->failed >= 1; }

/* Keep in step with docs/vehicle.md, "Platform fault rules". */
static const struct rule rules[FS_PLATFORM_RULES] = {
	{ "R1 a Thor computer failed", r1, true, false, 0, CAP_NONE },
	{ "R2 both Thor computers degraded", r2, true, false, 0, CAP_NONE },
	{ "R3 lidar failed and >= 2 front cameras failed", r3, true, false, 0, CAP_NONE },
	{ "R4 >= 3 front cameras not ok", r4, true, false, 0, CAP_NONE },
	{ "R5 lidar and front long-range radar not ok", r5, true, false, 0, CAP_NONE },
	{ "R6 one Thor computer degraded", r6, false, false, FS_ODD_NO_MOTORWAY | FS_ODD_SPEED_CAP,
	  CAP_ONE_THOR },
	{ "R7 lidar failed", r7, false, false,
	  FS_ODD_DAYTIME_ONLY | FS_ODD_NO_RAIN | FS_ODD_SPEED_CAP, CAP_NO_LIDAR },
	{ "R8 lidar degraded", r8, false, false, FS_ODD_NO_RAIN, CAP_NONE },
	{ "R9 1-2 front cameras not ok", r9, false, false, FS_ODD_NO_MOTORWAY | FS_ODD_SPEED_CAP,
	  CAP_FRONT_CAMERA },
	{ "R10 >= 2 side/rear/surround cameras not ok", r10, false, false, FS_ODD_DAYTIME_ONLY,
	  CAP_NONE },
	{ "R11 a radar not ok", r11, false, false, FS_ODD_NO_RAIN, CAP_NONE },
	{ "R12 any device failed", r12, false, true, 0, CAP_NONE },
};

const char *fs_platform_rule_name(unsigned k)
{
	return k >= 1 && k <= FS_PLATFORM_RULES ? rules[k - 1].name : NULL;
}

static void assess_once(const struct fs_platform *p, const struct fs_vehicle_params *params,
			struct fs_platform_assessment *ret)
{
	struct tally t;
	tally_of(p, &t);
	*ret = (struct fs_platform_assessment){ 0 };
	for (unsigned k = 0; k < FS_PLATFORM_RULES; k++) {
		const struct rule *r = &rules[k];
		if (!r->when(&t)) {
			continue;
		}
		ret->rules |= 1u << k;
		ret->minimal_risk |= r->minimal_risk;
		ret->needs_depot |= r->needs_depot;
		ret->odd_flags |= r->odd_flags;
		double cap = r->cap == CAP_ONE_THOR	? params->cap_one_thor_mps
			     : r->cap == CAP_NO_LIDAR	? params->cap_no_lidar_mps
			     : r->cap == CAP_FRONT_CAMERA ? params->cap_front_camera_mps
							  : 0.0;
		if (cap > 0.0 && (ret->speed_cap_mps == 0.0f || cap < ret->speed_cap_mps)) {
			ret->speed_cap_mps = (float)cap;
		}
	}
}

void fs_platform_assess(const struct fs_platform *p, const struct fs_vehicle_params *params,
			struct fs_platform_assessment *ret)
{
	assess_once(p, params, ret);
	/* "Cleared by remote assistance" is not a guess per row: it is whether
	 * the same table still forces a stop once the degraded devices are reset. */
	if (ret->minimal_risk) {
		struct fs_platform after = *p;
		struct fs_platform_assessment a2;
		fs_platform_clear_degraded(&after);
		assess_once(&after, params, &a2);
		ret->ra_clears = !a2.minimal_risk;
	}
}

/* ---- fault process ------------------------------------------------------------ */

static double device_rate(const struct fs_vehicle_params *p, int kind, int health)
{
	switch (health) {
	case FS_HEALTH_OK:
		return p->degrade_per_h[kind] + p->fail_per_h[kind];
	case FS_HEALTH_DEGRADED:
		return p->fail_per_h[kind];
	default:
		return 0.0;
	}
}

static double total_rate(const struct fs_vehicle *v)
{
	double r = 0.0;
	for (int k = FS_DEVICE_CAMERA; k < FS_DEVICE_KIND_COUNT; k++) {
		unsigned ok = fs_platform_count(&v->platform, k, FS_HEALTH_OK);
		unsigned deg = fs_platform_count(&v->platform, k, FS_HEALTH_DEGRADED);
		r += ok * device_rate(v->params, k, FS_HEALTH_OK) +
		     deg * device_rate(v->params, k, FS_HEALTH_DEGRADED);
	}
	return r;
}

void vehicle_fault_redraw(struct fs_vehicle *v)
{
	double rate = total_rate(v);
	if (!(rate > 0.0)) {
		v->fault_at_op_ms = FS_NEVER_MS;
		return;
	}
	double ms = ceil(fs_rng_exponential(&v->fault_rng, rate) * MS_PER_H);
	v->fault_at_op_ms = ms < 9.0e18 - (double)v->op_ms ? v->op_ms + (int64_t)fmax(1.0, ms)
							    : FS_NEVER_MS;
}

int64_t vehicle_fault_wall_ms(const struct fs_vehicle *v)
{
	if (v->fault_at_op_ms == FS_NEVER_MS || !vehicle_state_powered(v->state)) {
		return FS_NEVER_MS;
	}
	return v->acct_ms + (v->fault_at_op_ms - v->op_ms);
}

unsigned vehicle_fault_apply(struct fs_vehicle *v, int64_t t, struct fs_vehicle_events *ev)
{
	double rate = total_rate(v);
	double u = fs_rng_uniform(&v->fault_rng) * rate;
	unsigned pick = FS_PLATFORM_DEVICES;
	unsigned last = FS_PLATFORM_DEVICES;
	for (unsigned d = 0; d < FS_PLATFORM_DEVICES; d++) {
		int kind;
		unsigned idx;
		platform_device(d, &kind, &idx);
		double r = device_rate(v->params, kind, platform_get_global(&v->platform, d));
		if (r <= 0.0) {
			continue;
		}
		last = d;
		if (u < r) {
			pick = d;
			break;
		}
		u -= r;
	}
	if (pick == FS_PLATFORM_DEVICES) {
		pick = last; /* rounding left u just above the sum */
	}
	if (pick < FS_PLATFORM_DEVICES) {
		int kind;
		unsigned idx;
		platform_device(pick, &kind, &idx);
		int h = platform_get_global(&v->platform, pick);
		int to = FS_HEALTH_FAILED;
		if (h == FS_HEALTH_OK) {
			/* which of the two competing clocks rang */
			double deg = v->params->degrade_per_h[kind];
			double all = deg + v->params->fail_per_h[kind];
			to = fs_rng_uniform(&v->fault_rng) * all < deg ? FS_HEALTH_DEGRADED : FS_HEALTH_FAILED;
		}
		platform_set_global(&v->platform, pick, to);
		vehicle_device_event(ev, v, t, to == FS_HEALTH_FAILED ? "device failed" : "device degraded", kind, idx, to);
	}
	vehicle_fault_redraw(v);
	return pick;
}

/* ---- software: remote assistance and disengagements ----------------------------- */

static double draw_distance_m(struct fs_rng *rng, double per_m)
{
	return per_m > 0.0 ? fs_rng_exponential(rng, per_m) : INFINITY;
}

void vehicle_draw_ra(struct fs_vehicle *v)
{
	const struct fs_sw_version *sw = &v->params->sw[v->sw];
	v->next_ra_m = v->odometer_m + draw_distance_m(&v->ops_rng, sw->ra_per_1000km / 1.0e6);
}

void vehicle_draw_diseng(struct fs_vehicle *v)
{
	const struct fs_sw_version *sw = &v->params->sw[v->sw];
	double per_m = sw->miles_per_disengagement > 0.0
			       ? 1.0 / (sw->miles_per_disengagement * 1609.344)
			       : 0.0;
	v->next_diseng_m = v->odometer_m + draw_distance_m(&v->ops_rng, per_m);
}
