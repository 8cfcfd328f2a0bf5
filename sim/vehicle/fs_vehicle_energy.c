/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle_energy - battery, consumption and charging.
 *
 * Driving costs params.kwh_per_km per km (charged at the end of each edge);
 * the AV stack draws params.av_stack_kw whenever it is on, accounted lazily
 * up to acct_ms so that a parked vehicle costs nothing until its next event.
 *
 * Charging: the plug delivers P = min(plug, vehicle limit) x efficiency. Below
 * taper_start_soc the power is constant; above it falls linearly to
 * taper_end_fraction x P at 100 %. The AV stack's load is subtracted. With
 * s the SoC, C the capacity and net(s) the net power in kW, ds/dt = net(s)/C,
 * which integrates in closed form on both pieces (linear, then exponential),
 * so charge times and SoC after a time are exact, not stepped.
 */
#include <math.h>

#include "fs/vehicle.h"
#include "fs_vehicle_internal.h"

bool vehicle_state_drains(int s)
{
	switch (s) {
	case FS_VEHICLE_AVAILABLE:
	case FS_VEHICLE_TO_PICKUP:
	case FS_VEHICLE_WAITING_FOR_RIDER:
	case FS_VEHICLE_IN_TRIP:
	case FS_VEHICLE_REPOSITIONING:
	case FS_VEHICLE_TO_CHARGER:
	case FS_VEHICLE_MINIMAL_RISK:
		return true;
	default:
		/* delivered, commissioning (plugged in at the depot), maintenance,
		 * out of service: stack off; charging: see the charge curve */
		return false;
	}
}

bool vehicle_state_powered(int s)
{
	return vehicle_state_drains(s) || s == FS_VEHICLE_CHARGING;
}

double vehicle_plug_power(const struct fs_vehicle_params *p, double plug_kw)
{
	return fmin(plug_kw, p->max_charge_kw) * p->charge_efficiency;
}

/* Net charging power at SoC s is a - b s above the taper start, flat below. */
struct curve {
	double cap;   /* kWh */
	double flat;  /* net kW below the taper */
	double a, b;  /* net kW = a - b s above it */
	double s_t;
};

static struct curve curve_of(const struct fs_vehicle_params *p, double plug_kw)
{
	double P = vehicle_plug_power(p, plug_kw);
	double s_t = p->taper_start_soc;
	struct curve c = { .cap = p->battery_kwh, .flat = P - p->av_stack_kw, .s_t = s_t };
	if (s_t < 1.0) {
		c.b = P * (1.0 - p->taper_end_fraction) / (1.0 - s_t);
		c.a = P + c.b * s_t - p->av_stack_kw;
	} else {
		c.b = 0.0;
		c.a = c.flat;
	}
	return c;
}

/* Hours from s0 to s1 (s0 <= s1) within one piece. */
static double hours_flat(const struct curve *c, double s0, double s1)
{
	return c->flat > 0.0 ? c->cap * (s1 - s0) / c->flat : INFINITY;
}

static double hours_taper(const struct curve *c, double s0, double s1)
{
	double n0 = c->a - c->b * s0, n1 = c->a - c->b * s1;
	if (n1 <= 0.0 || n0 <= 0.0) {
		return INFINITY;
	}
	if (c->b == 0.0) {
		return c->cap * (s1 - s0) / n0;
	}
	return c->cap / c->b * log(n0 / n1);
}

double fs_vehicle_charge_seconds(const struct fs_vehicle_params *p, double plug_kw, double soc_from,
				 double soc_to)
{
	if (soc_to <= soc_from) {
		return 0.0;
	}
	struct curve c = curve_of(p, plug_kw);
	double h = 0.0;
	if (soc_from < c.s_t) {
		h += hours_flat(&c, soc_from, fmin(soc_to, c.s_t));
	}
	if (soc_to > c.s_t) {
		h += hours_taper(&c, fmax(soc_from, c.s_t), soc_to);
	}
	return h * 3600.0;
}

double fs_vehicle_soc_after_charging(const struct fs_vehicle_params *p, double plug_kw,
				     double soc_from, double seconds)
{
	struct curve c = curve_of(p, plug_kw);
	double h = seconds / 3600.0;
	double s = soc_from;
	if (h <= 0.0) {
		return s;
	}
	if (s < c.s_t) {
		if (c.flat <= 0.0) {
			/* the plug cannot even carry the stack: the battery drains */
			return fmax(0.0, s + c.flat * h / c.cap);
		}
		double to_taper = hours_flat(&c, s, c.s_t);
		if (h <= to_taper) {
			return s + c.flat * h / c.cap;
		}
		h -= to_taper;
		s = c.s_t;
	}
	if (c.a - c.b * s <= 0.0) {
		return s; /* net power already zero: stays */
	}
	if (c.b == 0.0) {
		s += c.a * h / c.cap;
	} else {
		/* s(h) = (a - (a - b s0) e^{-b h / C}) / b */
		s = (c.a - (c.a - c.b * s) * exp(-c.b * h / c.cap)) / c.b;
	}
	return fmin(1.0, s);
}

double vehicle_battery_at(const struct fs_vehicle *v, int64_t t)
{
	const struct fs_vehicle_params *p = v->params;
	if (t <= v->acct_ms) {
		return v->battery_kwh;
	}
	double dt_ms = (double)(t - v->acct_ms);
	if (v->state == FS_VEHICLE_CHARGING && v->charge_kw > 0.0f) {
		double s0 = v->battery_kwh / p->battery_kwh;
		return fs_vehicle_soc_after_charging(p, v->charge_kw, s0, dt_ms / MS_PER_S) *
		       p->battery_kwh;
	}
	if (vehicle_state_drains(v->state)) {
		return fmax(0.0, v->battery_kwh - p->av_stack_kw * dt_ms / MS_PER_H);
	}
	return v->battery_kwh;
}

void vehicle_account(struct fs_vehicle *v, int64_t t)
{
	if (t <= v->acct_ms) {
		return;
	}
	v->battery_kwh = vehicle_battery_at(v, t);
	if (vehicle_state_powered(v->state)) {
		v->op_ms += t - v->acct_ms;
	}
	v->acct_ms = t;
}

double fs_vehicle_battery_kwh(const struct fs_vehicle *v, int64_t now_ms)
{
	return vehicle_battery_at(v, now_ms);
}

double fs_vehicle_soc(const struct fs_vehicle *v, int64_t now_ms)
{
	return vehicle_battery_at(v, now_ms) / v->params->battery_kwh;
}

double fs_vehicle_job_kwh(const struct fs_vehicle_params *p, double km, double duration_s)
{
	return km * p->kwh_per_km + p->av_stack_kw * duration_s / 3600.0;
}

bool fs_vehicle_can_complete(const struct fs_vehicle *v, int64_t now_ms, double job_km,
			     double job_s, double reserve_soc)
{
	const struct fs_vehicle_params *p = v->params;
	if (job_s <= 0.0) {
		job_s = job_km / p->plan_speed_kmh * 3600.0;
	}
	double left = vehicle_battery_at(v, now_ms) - fs_vehicle_job_kwh(p, job_km, job_s);
	return left >= reserve_soc * p->battery_kwh;
}
