/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Production and rollout model: ramps, stage capacities and queues,
 * calibration failures and rework, allocation to cities, disruptions,
 * retirement, determinism and step-size invariance.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/calendar.h"
#include "fs/production.h"
#include "fs/scenario.h"
#include "fs/scenario_load.h"

#define DAYS_PER_MONTH (365.25 / 12.0)

static int32_t day_of(int y, int m, int d)
{
	return (int32_t)fs_calendar_days_from_civil(y, m, d);
}

/* One programme with one plant at full @per_day vehicles a day from 2027-01-01,
 * unlimited stages of one day each, no failures, one city launched at once. */
static void simple_params(struct fs_production_params *p, double per_day)
{
	memset(p, 0, sizeof(*p));
	p->start_day = day_of(2027, 1, 1);
	p->programme_count = 1;
	struct fs_prod_programme *g = &p->programmes[0];
	strcpy(g->name, "prog");
	strcpy(g->oem, "OEM");
	strcpy(g->model, "Car");
	g->target = 1000000;
	fs_production_programme_vehicle_defaults(g);
	g->plant_count = 1;
	strcpy(g->plants[0].name, "plant");
	g->plants[0].sop_day = p->start_day;
	g->plants[0].ramp_months = 0;
	g->plants[0].rate_per_month = per_day * DAYS_PER_MONTH;
	g->build_days = g->integration_days = g->calibration_days = g->rework_days = 1;
	p->city_count = 1;
	struct fs_prod_city *c = &p->cities[0];
	strcpy(c->name, "city");
	strcpy(c->region, "north-america");
	c->launch_day = p->start_day - 100;
	c->data_collection_days = 30;
	c->supervised_days = 30;
	c->weight = 1;
	c->transit_days = 1;
	c->commissioning_days = 1;
}

static struct fs_production *create(const struct fs_production_params *p, uint64_t seed)
{
	struct fs_error err = { { 0 } };
	struct fs_production *m = fs_production_create(p, seed, &err);
	if (!m) {
		fail_msg("create: %s", err.message);
	}
	return m;
}

static void stats_of(struct fs_production *m, struct fs_production_stats *s)
{
	fs_production_get_stats(m, s);
}

/* Closed-form integral of the smoothstep ramp in vehicles from SOP to day t. */
static double smoothstep_volume(double rate_per_day, double ramp_days, double t)
{
	if (t <= 0) {
		return 0;
	}
	if (t >= ramp_days) {
		return rate_per_day * (ramp_days / 2.0 + (t - ramp_days));
	}
	double u = t / ramp_days;
	return rate_per_day * ramp_days * (u * u * u - u * u * u * u / 2.0);
}

static void ramp_volumes_per_month_match_the_curve(void **state)
{
	struct fs_production_params p;
	simple_params(&p, 0);
	struct fs_prod_plant *pl = &p.programmes[0].plants[0];
	pl->sop_day = day_of(2027, 3, 1);
	pl->ramp_months = 9;
	pl->rate_per_month = 600;
	struct fs_production *m = create(&p, 1);
	double rate_day = 600.0 * 12 / 365.25, ramp_days = 9 * DAYS_PER_MONTH;
	uint64_t prev = 0;
	double total_expected = 0;
	for (int month = 0; month < 24; month++) {
		int y = 2027 + month / 12, mo = month % 12 + 1;
		int32_t first = day_of(y, mo, 1), next = mo == 12 ? day_of(y + 1, 1, 1) : day_of(y, mo + 1, 1);
		fs_production_advance(m, next - 1, NULL);
		struct fs_production_stats s;
		stats_of(m, &s);
		uint64_t built = s.programmes[0].built - prev;
		prev = s.programmes[0].built;
		double expected = smoothstep_volume(rate_day, ramp_days, next - pl->sop_day) -
				  smoothstep_volume(rate_day, ramp_days, first - pl->sop_day);
		total_expected += expected;
		/* the model integrates at mid-day and floors the running sum */
		if (fabs((double)built - expected) > 2.0) {
			fail_msg("month %d-%02d: built %lu, curve says %.2f", y, mo, (unsigned long)built, expected);
		}
		if (fabs((double)prev - total_expected) > 2.0) {
			fail_msg("cumulative to %d-%02d: %lu vs %.2f", y, mo, (unsigned long)prev, total_expected);
		}
		if (next <= pl->sop_day) {
			assert_int_equal(built, 0);
		}
	}
	/* after the ramp: the full monthly rate, month after month */
	assert_true(fabs((double)prev - total_expected) <= 2.0);
	fs_production_destroy(m);
}

static void ramp_curves_rise_from_zero_to_one(void **state)
{
	struct fs_prod_plant pl = { .sop_day = 1000, .ramp_months = 6, .rate_per_month = 100 };
	for (int curve = FS_PROD_CURVE_SMOOTHSTEP; curve <= FS_PROD_CURVE_LINEAR; curve++) {
		pl.curve = (uint8_t)curve;
		assert_true(fs_production_ramp_fraction(&pl, 999.9) == 0.0);
		assert_true(fabs(fs_production_ramp_fraction(&pl, 1000)) < 1e-9);
		double prev = 0;
		for (double d = 1000; d < 1000 + 6 * DAYS_PER_MONTH; d += 1.0) {
			double f = fs_production_ramp_fraction(&pl, d);
			assert_true(f >= prev - 1e-12 && f <= 1.0);
			prev = f;
		}
		assert_true(fabs(fs_production_ramp_fraction(&pl, 1000 + 3 * DAYS_PER_MONTH) - 0.5) < 1e-9);
		assert_true(fs_production_ramp_fraction(&pl, 1000 + 6 * DAYS_PER_MONTH) == 1.0);
		assert_true(fs_production_ramp_fraction(&pl, 5000) == 1.0);
	}
}

static void volume_target_caps_the_programme(void **state)
{
	struct fs_production_params p;
	simple_params(&p, 50);
	p.programmes[0].target = 777;
	struct fs_production *m = create(&p, 1);
	fs_production_advance(m, p.start_day + 100, NULL);
	struct fs_production_stats s;
	stats_of(m, &s);
	assert_int_equal(s.programmes[0].built, 777);
	assert_int_equal(s.delivered, 777);
	assert_int_equal(s.fleet, 777);
	fs_production_destroy(m);
}

static void a_short_stage_builds_a_queue_and_limits_throughput(void **state)
{
	struct fs_production_params p;
	simple_params(&p, 30);
	p.programmes[0].integration_per_day = 20;
	struct fs_production *m = create(&p, 1);
	struct fs_production_stats s;
	uint64_t prev_cal = 0;
	uint32_t prev_q = 0;
	for (int d = 0; d < 60; d++) {
		fs_production_advance(m, p.start_day + d, NULL);
		stats_of(m, &s);
		const struct fs_prod_programme_stats *ps = &s.programmes[0];
		assert_int_equal(ps->built, 30u * (d + 1));
		uint64_t into_cal = ps->entered[FS_PROD_STAGE_CALIBRATION] - prev_cal;
		prev_cal = ps->entered[FS_PROD_STAGE_CALIBRATION];
		assert_true(into_cal <= 20); /* never more than the line's capacity */
		if (d >= 5) {
			assert_int_equal(into_cal, 20);
			assert_int_equal(ps->queued[FS_PROD_STAGE_INTEGRATION], prev_q + 10); /* 30 in, 20 out a day */
		}
		prev_q = ps->queued[FS_PROD_STAGE_INTEGRATION];
		assert_true(ps->queued[FS_PROD_STAGE_INTEGRATION] <= ps->in_stage[FS_PROD_STAGE_INTEGRATION]);
	}
	/* downstream sees the capacity, not the build rate */
	uint64_t d0 = s.delivered;
	fs_production_advance(m, p.start_day + 69, NULL);
	stats_of(m, &s);
	assert_int_equal(s.delivered - d0, 200);
	/* enough capacity: no queue at all */
	p.programmes[0].integration_per_day = 30;
	struct fs_production *m2 = create(&p, 1);
	fs_production_advance(m2, p.start_day + 60, NULL);
	stats_of(m2, &s);
	assert_int_equal(s.programmes[0].queued[FS_PROD_STAGE_INTEGRATION], 0);
	fs_production_destroy(m2);
	fs_production_destroy(m);
}

static void calibration_failures_are_reworked_and_delivered(void **state)
{
	struct fs_production_params p;
	simple_params(&p, 100);
	struct fs_prod_programme *g = &p.programmes[0];
	g->target = 10000;
	g->calibration_fail_share = 0.2;
	g->rework_days = 5;
	struct fs_production *m = create(&p, 7);
	fs_production_advance(m, p.start_day + 150, NULL);
	struct fs_production_stats s;
	stats_of(m, &s);
	const struct fs_prod_programme_stats *ps = &s.programmes[0];
	/* every calibration attempt fails with p = 0.2, re-tests included */
	double attempts = (double)ps->entered[FS_PROD_STAGE_CALIBRATION];
	double sd = sqrt(attempts * 0.2 * 0.8);
	assert_true(fabs((double)ps->calibration_failures - 0.2 * attempts) < 4 * sd);
	assert_int_equal(ps->entered[FS_PROD_STAGE_CALIBRATION], 10000 + ps->calibration_failures);
	assert_int_equal(ps->entered[FS_PROD_STAGE_REWORK], ps->calibration_failures);
	/* all built, all delivered: the rework sends them back, none is lost */
	assert_int_equal(ps->built, 10000);
	assert_int_equal(ps->delivered, 10000);
	assert_int_equal(s.fleet, 10000);

	/* rework takes time: mid-way, vehicles sit in rework and deliveries lag the build */
	struct fs_production *m2 = create(&p, 7);
	fs_production_advance(m2, p.start_day + 20, NULL);
	stats_of(m2, &s);
	assert_true(s.programmes[0].in_stage[FS_PROD_STAGE_REWORK] > 0);
	/* a rework capacity short of the failures makes a queue there */
	g->rework_per_day = 5;
	struct fs_production *m3 = create(&p, 7);
	fs_production_advance(m3, p.start_day + 20, NULL);
	stats_of(m3, &s);
	assert_true(s.programmes[0].queued[FS_PROD_STAGE_REWORK] > 100);
	fs_production_destroy(m3);
	fs_production_destroy(m2);
	fs_production_destroy(m);
}

static void add_city(struct fs_production_params *p, const char *name, const char *region, uint32_t weight,
		     int32_t launch_day)
{
	struct fs_prod_city *c = &p->cities[p->city_count++];
	*c = p->cities[0];
	strcpy(c->name, name);
	strcpy(c->region, region);
	c->weight = weight;
	c->launch_day = launch_day;
}

static void deliveries_are_allocated_by_weight_region_launch_and_priority(void **state)
{
	struct fs_production_params p;
	simple_params(&p, 60);
	p.cities[0].weight = 1;
	add_city(&p, "b", "north-america", 2, p.start_day - 10);
	add_city(&p, "c", "north-america", 3, p.start_day - 10);
	add_city(&p, "paris", "europe", 5, p.start_day - 10);
	add_city(&p, "late", "north-america", 6, p.start_day + 200);
	strcpy(p.programmes[0].regions[0], "north-america");
	p.programmes[0].region_count = 1;
	struct fs_production *m = create(&p, 1);
	fs_production_advance(m, p.start_day + 99, NULL);
	struct fs_production_stats s;
	stats_of(m, &s);
	uint64_t total = s.delivered;
	assert_true(total > 5000);
	/* shares 1:2:3 among the launched cities of the region, exact to a vehicle */
	assert_true(llabs((long long)s.cities[0].delivered * 6 - (long long)total) <= 6);
	assert_true(llabs((long long)s.cities[1].delivered * 3 - (long long)total) <= 3);
	assert_true(llabs((long long)s.cities[2].delivered * 2 - (long long)total) <= 2);
	assert_int_equal(s.cities[3].delivered, 0); /* another region */
	assert_int_equal(s.cities[4].delivered, 0); /* not launched yet */
	assert_int_equal(s.cities[4].phase, FS_PROD_PHASE_NONE);
	/* once "late" launches (less transit), it takes 6 of every 12 */
	fs_production_advance(m, p.start_day + 300, NULL);
	struct fs_production_stats s2;
	stats_of(m, &s2);
	uint64_t after = s2.delivered - s.delivered, late = s2.cities[4].delivered;
	assert_true(late > 0);
	assert_true(late < after / 2 + 2);
	assert_int_equal(s2.cities[4].phase, FS_PROD_PHASE_DRIVERLESS); /* 30 + 30 days after launch */
	fs_production_destroy(m);

	/* priority with a cap: "c" first, up to 500, then the others by weight */
	p.cities[2].priority = 1;
	p.cities[2].fleet_cap = 500;
	m = create(&p, 1);
	fs_production_advance(m, p.start_day + 5, NULL);
	stats_of(m, &s);
	assert_int_equal(s.cities[0].delivered + s.cities[1].delivered, 0);
	fs_production_advance(m, p.start_day + 99, NULL);
	stats_of(m, &s);
	assert_int_equal(s.cities[2].fleet, 500);
	assert_true(s.cities[0].delivered > 0 && s.cities[1].delivered > 0);
	fs_production_destroy(m);
}

static void phases_follow_the_city_calendar(void **state)
{
	struct fs_prod_city c = { .launch_day = 100, .data_collection_days = 90, .supervised_days = 120 };
	assert_int_equal(fs_production_city_phase(&c, 99), FS_PROD_PHASE_NONE);
	assert_int_equal(fs_production_city_phase(&c, 100), FS_PROD_PHASE_DATA_COLLECTION);
	assert_int_equal(fs_production_city_phase(&c, 189), FS_PROD_PHASE_DATA_COLLECTION);
	assert_int_equal(fs_production_city_phase(&c, 190), FS_PROD_PHASE_SUPERVISED);
	assert_int_equal(fs_production_city_phase(&c, 309), FS_PROD_PHASE_SUPERVISED);
	assert_int_equal(fs_production_city_phase(&c, 310), FS_PROD_PHASE_DRIVERLESS);
	assert_string_equal(fs_production_phase_name(FS_PROD_PHASE_SUPERVISED), "supervised");
}

static uint64_t delivered_by(struct fs_production *m, int32_t day)
{
	fs_production_advance(m, day, NULL);
	struct fs_production_stats s;
	stats_of(m, &s);
	return s.delivered;
}

static void supplier_shortage_shifts_deliveries_as_configured(void **state)
{
	struct fs_production_params p;
	simple_params(&p, 40);
	p.programmes[0].target = 8000;
	struct fs_production *base = create(&p, 3);
	struct fs_prod_disruption *d = &p.disruptions[p.disruption_count++];
	d->kind = FS_PROD_SUPPLIER_SHORTAGE;
	strcpy(d->programme, "prog");
	strcpy(d->plant, "plant");
	d->start_day = p.start_day + 50;
	d->end_day = p.start_day + 110; /* 60 days at half rate: 1,200 vehicles later */
	d->factor = 0.5;
	struct fs_production *cut = create(&p, 3);
	/* before the window: identical */
	assert_int_equal(delivered_by(base, p.start_day + 49), delivered_by(cut, p.start_day + 49));
	/* built during the window: half */
	struct fs_production_stats sb, sc;
	fs_production_advance(base, p.start_day + 109, NULL);
	fs_production_advance(cut, p.start_day + 109, NULL);
	stats_of(base, &sb);
	stats_of(cut, &sc);
	assert_int_equal(sb.built - sc.built, 1200);
	/* deliveries after the pipeline delay: short by the same 1,200 */
	assert_int_equal(delivered_by(base, p.start_day + 150) - delivered_by(cut, p.start_day + 150), 1200);
	/* base reaches the 8,000 target on day 200; the cut plant 30 days later */
	assert_int_equal(delivered_by(base, p.start_day + 205), 8000);
	assert_true(delivered_by(cut, p.start_day + 205) < 8000);
	assert_int_equal(delivered_by(cut, p.start_day + 240), 8000);
	fs_production_destroy(cut);
	fs_production_destroy(base);
}

static void calibration_spike_raises_failures_in_its_window(void **state)
{
	struct fs_production_params p;
	simple_params(&p, 200);
	p.programmes[0].calibration_fail_share = 0.02;
	struct fs_production *base = create(&p, 5);
	struct fs_prod_disruption *d = &p.disruptions[p.disruption_count++];
	d->kind = FS_PROD_CALIBRATION_SPIKE;
	d->start_day = p.start_day + 30;
	d->end_day = p.start_day + 60;
	d->factor = 10; /* 20 % */
	struct fs_production *spike = create(&p, 5);
	struct fs_production_stats sb, ss;
	fs_production_advance(base, p.start_day + 29, NULL);
	fs_production_advance(spike, p.start_day + 29, NULL);
	stats_of(base, &sb);
	stats_of(spike, &ss);
	assert_int_equal(sb.programmes[0].calibration_failures, ss.programmes[0].calibration_failures);
	uint64_t f0 = ss.programmes[0].calibration_failures;
	fs_production_advance(spike, p.start_day + 59, NULL);
	stats_of(spike, &ss);
	double attempts = 30 * 200 * 1.1; /* about, with re-tests */
	double failures = (double)(ss.programmes[0].calibration_failures - f0);
	assert_true(failures > 0.15 * attempts && failures < 0.25 * attempts);
	fs_production_destroy(spike);
	fs_production_destroy(base);
}

static void recall_grounds_or_retires_a_build_range(void **state)
{
	struct fs_production_params p;
	simple_params(&p, 10);
	p.programmes[0].target = 1000;
	struct fs_prod_disruption *d = &p.disruptions[p.disruption_count++];
	d->kind = FS_PROD_RECALL;
	strcpy(d->programme, "prog");
	d->start_day = p.start_day + 60;
	d->build_from_day = p.start_day;
	d->build_to_day = p.start_day + 19; /* the first 200 vehicles, all in service by then */
	d->share = 1.0;
	d->action = FS_PROD_RECALL_REWORK;
	d->rework_days = 10;
	struct fs_production *m = create(&p, 1);
	struct fs_production_stats s;
	fs_production_advance(m, p.start_day + 59, NULL);
	stats_of(m, &s);
	uint32_t fleet = s.fleet;
	assert_int_equal(s.cities[0].grounded, 0);
	fs_production_advance(m, p.start_day + 60, NULL);
	stats_of(m, &s);
	assert_int_equal(s.cities[0].grounded, 200);
	assert_true(s.fleet >= fleet); /* grounded vehicles stay in the fleet */
	assert_int_equal(s.cities[0].in_service + s.cities[0].grounded + s.cities[0].commissioning, s.cities[0].fleet);
	fs_production_advance(m, p.start_day + 70, NULL);
	stats_of(m, &s);
	assert_int_equal(s.cities[0].grounded, 0);
	fs_production_destroy(m);

	/* retire: they leave the fleet, counted as retirements */
	d->action = FS_PROD_RECALL_RETIRE;
	m = create(&p, 1);
	struct fs_prod_log log = { .city_filter = FS_PROD_NO_CITY };
	fs_production_advance(m, p.start_day + 60, &log);
	stats_of(m, &s);
	assert_int_equal(s.retired, 200);
	assert_int_equal(s.fleet, s.delivered - 200);
	uint64_t logged = 0;
	for (size_t i = 0; i < log.retirement_count; i++) {
		assert_int_equal(log.retirements[i].reason, 2);
		logged += log.retirements[i].count;
	}
	assert_int_equal(logged, 200);
	fs_prod_log_finish(&log);
	fs_production_destroy(m);

	/* a recall of vehicles still in the pipeline sends them back to rework */
	d->action = FS_PROD_RECALL_REWORK;
	d->start_day = p.start_day + 2;
	d->build_to_day = p.start_day + 1;
	m = create(&p, 1);
	fs_production_advance(m, p.start_day + 2, NULL);
	stats_of(m, &s);
	assert_int_equal(s.programmes[0].queued[FS_PROD_STAGE_REWORK] + s.programmes[0].in_stage[FS_PROD_STAGE_REWORK] > 0,
			 1);
	fs_production_advance(m, p.start_day + 200, NULL);
	stats_of(m, &s);
	assert_int_equal(s.delivered, 1000); /* reworked, then delivered */
	fs_production_destroy(m);
}

static void vehicles_retire_after_their_service_life(void **state)
{
	struct fs_production_params p;
	simple_params(&p, 10);
	p.programmes[0].service_life_days = 100;
	struct fs_production *m = create(&p, 1);
	struct fs_prod_log log = { .city_filter = FS_PROD_NO_CITY };
	fs_production_advance(m, p.start_day + 300, &log);
	struct fs_production_stats s;
	stats_of(m, &s);
	/* in service from day 5 (build 1 + integration 1 + calibration 1 + transit 1 + commissioning 1) */
	assert_int_equal(s.retired, 10u * (300 - 5 - 100 + 1));
	assert_int_equal(s.fleet, s.delivered - s.retired);
	for (size_t i = 0; i < log.retirement_count; i++) {
		assert_int_equal(log.retirements[i].reason, 0);
	}
	fs_prod_log_finish(&log);
	fs_production_destroy(m);
}

/* The defaults, day by day: fleet == cumulative deliveries - retirements. */
static void fleet_is_deliveries_minus_retirements(void **state)
{
	struct fs_production_params p;
	fs_production_params_defaults(&p);
	struct fs_production *m = create(&p, 11);
	struct fs_prod_log log = { .city_filter = FS_PROD_NO_CITY };
	uint64_t delivered = 0, retired = 0, seq = 0;
	for (int32_t day = p.start_day; day < day_of(2031, 1, 1); day += 7) {
		fs_prod_log_clear(&log);
		fs_production_advance(m, day, &log);
		for (size_t i = 0; i < log.delivery_count; i++) {
			assert_int_equal(log.deliveries[i].first_seq, seq); /* ids: dense and increasing */
			seq += log.deliveries[i].count;
			delivered += log.deliveries[i].count;
		}
		for (size_t i = 0; i < log.retirement_count; i++) {
			retired += log.retirements[i].count;
		}
		struct fs_production_stats s;
		stats_of(m, &s);
		assert_int_equal(s.delivered, delivered);
		assert_int_equal(s.retired, retired);
		assert_int_equal(s.fleet, delivered - retired);
		uint64_t sum = 0;
		for (uint32_t c = 0; c < s.city_count; c++) {
			const struct fs_prod_city_stats *cs = &s.cities[c];
			assert_int_equal(cs->fleet, cs->delivered - cs->retired);
			uint64_t by = 0;
			for (uint32_t g = 0; g < s.programme_count; g++) {
				by += cs->fleet_by_programme[g];
			}
			assert_int_equal(by, cs->fleet);
			sum += cs->fleet;
		}
		assert_int_equal(sum, s.fleet);
	}
	fs_prod_log_finish(&log);
	fs_production_destroy(m);
}

/* Delivered by the programmes of @oem so far. */
static uint64_t delivered_by_oem(const struct fs_production_params *p, const struct fs_production_stats *s,
				 const char *oem)
{
	uint64_t n = 0;
	for (uint32_t g = 0; g < s->programme_count; g++) {
		n += strcmp(p->programmes[g].oem, oem) ? 0 : s->programmes[g].delivered;
	}
	return n;
}

/*
 * The rollout the mission describes: Stellantis delivers its first 5,000
 * equipped vehicles within 2028, in the US; Lucid builds its ~20,000 over
 * 2026-2031; the fleet reaches the 100,000 and holds it, retirements
 * replaced; 28 cities.
 */
static void defaults_tell_the_mission_rollout(void **state)
{
	struct fs_production_params p;
	fs_production_params_defaults(&p);
	assert_int_equal(fs_production_params_validate(&p, NULL), 0);
	assert_int_equal(p.city_count, 28); /* DOMAIN: 28 cities by 2028 */
	struct fs_production *m = create(&p, 1);
	struct fs_production_stats s;
	fs_production_advance(m, day_of(2027, 12, 31), NULL);
	stats_of(m, &s);
	assert_int_equal(delivered_by_oem(&p, &s, "Stellantis"), 0); /* production from 2028 */
	fs_production_advance(m, day_of(2028, 12, 31), NULL);
	stats_of(m, &s);
	if (delivered_by_oem(&p, &s, "Stellantis") < 5000) {
		fail_msg("Stellantis delivered %" PRIu64 " within 2028", delivered_by_oem(&p, &s, "Stellantis"));
	}
	/* ... to North American cities only */
	int k0 = fs_production_find_programme(m, "stellantis-k0"), paris = fs_production_find_city(m, "paris");
	assert_true(k0 >= 0 && paris >= 0);
	assert_int_equal(s.cities[paris].fleet_by_programme[k0], 0);
	fs_production_advance(m, day_of(2031, 12, 31), NULL);
	stats_of(m, &s);
	int lucid = fs_production_find_programme(m, "lucid-gravity");
	assert_int_equal(s.programmes[lucid].built, 20000); /* over six years, 2026-2031 */
	/* the fleet reaches 100,000 and, its retirements replaced, stays there */
	uint32_t peak = 0;
	int32_t reached = 0;
	for (int32_t d = day_of(2032, 1, 1); d <= day_of(2034, 12, 31); d += 7) {
		fs_production_advance(m, d, NULL);
		stats_of(m, &s);
		if (!reached && s.fleet >= 100000) {
			reached = d;
		}
		peak = s.fleet > peak ? s.fleet : peak;
		if (reached && (s.fleet < 99000 || s.fleet > 101000)) {
			fail_msg("day %d: fleet %u after reaching 100,000 on day %d", d, s.fleet, reached);
		}
	}
	assert_true(reached > 0);
	assert_true(s.retired > 10000); /* the first cohorts have retired and were replaced */
	fs_production_destroy(m);
}

/*
 * Foxconn is one site for every programme that uses it: halve its lines and
 * each of those programmes delivers later, while the others build as before.
 */
static void halving_a_shared_integrator_delays_every_programme_using_it(void **state)
{
	struct fs_production_params p, half;
	fs_production_params_defaults(&p);
	half = p;
	assert_int_equal(half.integrator_count, 1);
	assert_string_equal(half.integrators[0].name, "foxconn");
	for (uint32_t k = 0; k < half.integrators[0].line_count; k++) {
		half.integrators[0].lines[k].per_day /= 2;
	}
	struct fs_production *a = create(&p, 1), *b = create(&half, 1);
	uint32_t users = 0, max_queue = 0;
	bool delayed[FS_PROD_PROGRAMMES_MAX] = { false };
	for (int32_t d = day_of(2028, 1, 1); d <= day_of(2032, 12, 31); d += 7) {
		struct fs_production_stats sa, sb;
		fs_production_advance(a, d, NULL);
		fs_production_advance(b, d, NULL);
		stats_of(a, &sa);
		stats_of(b, &sb);
		assert_true(sb.integrators[0].capacity_per_day * 2 <= sa.integrators[0].capacity_per_day);
		max_queue = sb.integrators[0].queued > max_queue ? sb.integrators[0].queued : max_queue;
		for (uint32_t g = 0; g < p.programme_count; g++) {
			if (p.programmes[g].integrator[0]) {
				assert_true(sb.programmes[g].delivered <= sa.programmes[g].delivered + 50);
				delayed[g] |= sb.programmes[g].delivered + 100 < sa.programmes[g].delivered;
			} else {
				assert_int_equal(sb.programmes[g].built, sa.programmes[g].built); /* own lines: untouched */
			}
		}
	}
	for (uint32_t g = 0; g < p.programme_count; g++) {
		if (p.programmes[g].integrator[0]) {
			users++;
			if (!delayed[g]) {
				fail_msg("%s is not delayed by half of Foxconn", p.programmes[g].name);
			}
		}
	}
	assert_int_equal(users, 3); /* K0, STLA Small, the unnamed Hyperion programmes */
	assert_true(max_queue > 1000); /* the queue in front of Foxconn is where they wait */
	fs_production_destroy(a);
	fs_production_destroy(b);
}

/*
 * The data flywheel: the fleet's uploaded data train each release once they
 * reach its need and the cadence allows; it goes out after training and
 * reaches the fleet over the air, each vehicle once and for good.
 */
static void fleet_data_train_releases_that_go_out_over_the_air(void **state)
{
	struct fs_production_params p;
	fs_production_params_defaults(&p);
	const struct fs_prod_flywheel *fw = &p.flywheel;
	assert_int_equal(fw->release_count, 2);
	struct fs_production *m = create(&p, 1);
	struct fs_production_stats s;
	double data_before = 0;
	int32_t trained[2] = { INT32_MIN, INT32_MIN };
	for (int32_t d = day_of(2027, 1, 1); d <= day_of(2029, 12, 31); d++) {
		fs_production_advance(m, d, NULL);
		stats_of(m, &s);
		assert_true(s.flywheel.data_pb >= data_before); /* it only grows, with the fleet in service */
		for (uint32_t k = 0; k < 2; k++) {
			if (trained[k] == INT32_MIN && s.flywheel.releases[k].train_day == d) {
				trained[k] = d;
				/* the data it needs were in by the end of the day before */
				assert_true(data_before >= fw->releases[k].data_pb);
				assert_int_equal(s.flywheel.releases[k].release_day, d + (int32_t)fw->train_days);
			}
		}
		data_before = s.flywheel.data_pb;
	}
	assert_true(trained[0] != INT32_MIN && trained[1] != INT32_MIN);
	assert_true(trained[1] - trained[0] >= (int32_t)fw->cadence_days); /* one train a quarter at most */
	assert_int_equal(s.flywheel.latest, 120);
	/* over the air: a linear staged rollout, vehicles reached once and for good */
	int32_t out = s.flywheel.releases[1].release_day, mid = out + (int32_t)fw->ota_days / 2;
	uint32_t on_mid = 0;
	for (uint64_t key = 0; key < 2000; key++) {
		uint32_t before = fs_production_vehicle_release(m, key, 100, out - 1);
		uint32_t during = fs_production_vehicle_release(m, key, 100, mid);
		uint32_t after = fs_production_vehicle_release(m, key, 100, out + (int32_t)fw->ota_days);
		assert_int_equal(before, 110);
		assert_true(during >= before && after >= during);
		assert_int_equal(after, 120);
		on_mid += during == 120;
		/* never back to an older release than the factory's */
		assert_int_equal(fs_production_vehicle_release(m, key, 130, out + 100), 130);
	}
	double expect = (double)(mid - out + 1) / fw->ota_days;
	assert_true(fabs(on_mid / 2000.0 - expect) < 0.04);
	fs_production_destroy(m);
	/* twice the data a km: the first release trains sooner */
	p.flywheel.gb_per_km *= 2;
	m = create(&p, 1);
	fs_production_advance(m, day_of(2029, 12, 31), NULL);
	stats_of(m, &s);
	assert_true(s.flywheel.releases[0].train_day < trained[0]);
	fs_production_destroy(m);
}

static void same_seed_same_series_whatever_the_step(void **state)
{
	struct fs_production_params p;
	fs_production_params_defaults(&p);
	p.programmes[0].calibration_fail_share = 0.1;
	struct fs_prod_disruption *d = &p.disruptions[p.disruption_count++];
	d->kind = FS_PROD_RECALL;
	strcpy(d->programme, "lucid-gravity");
	d->start_day = day_of(2028, 6, 1);
	d->build_from_day = day_of(2027, 1, 1);
	d->build_to_day = day_of(2027, 12, 31);
	d->share = 0.3;
	d->action = FS_PROD_RECALL_RETIRE;
	struct fs_production *daily = create(&p, 42), *weekly = create(&p, 42), *once = create(&p, 42),
			     *other = create(&p, 43);
	int32_t end = day_of(2029, 12, 31);
	for (int32_t day = p.start_day; day <= end; day++) {
		fs_production_advance(daily, day, NULL);
		if ((day - p.start_day) % 7 == 6 || day == end) {
			fs_production_advance(weekly, day, NULL);
			assert_int_equal(fs_production_hash(daily), fs_production_hash(weekly));
		}
	}
	assert_int_equal(fs_production_advance(once, end, NULL), end - p.start_day + 1);
	assert_int_equal(fs_production_advance(once, end, NULL), 0); /* nothing left to do */
	fs_production_advance(other, end, NULL);
	assert_int_equal(fs_production_hash(daily), fs_production_hash(once));
	assert_int_not_equal(fs_production_hash(daily), fs_production_hash(other));
	struct fs_production_stats a, b;
	stats_of(daily, &a);
	stats_of(once, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(a.day, end);
	fs_production_destroy(daily);
	fs_production_destroy(weekly);
	fs_production_destroy(once);
	fs_production_destroy(other);
}

static void delivery_log_filters_by_city(void **state)
{
	struct fs_production_params p;
	fs_production_params_defaults(&p);
	struct fs_production *m = create(&p, 1);
	int atl = fs_production_find_city(m, "atlanta");
	assert_true(atl >= 0);
	struct fs_prod_log log = { .city_filter = (uint16_t)atl };
	fs_production_advance(m, day_of(2028, 12, 31), &log);
	uint64_t n = 0, last_seq = 0;
	for (size_t i = 0; i < log.delivery_count; i++) {
		assert_int_equal(log.deliveries[i].city, atl);
		assert_true(i == 0 || log.deliveries[i].first_seq >= last_seq);
		last_seq = log.deliveries[i].first_seq + log.deliveries[i].count;
		assert_true(log.deliveries[i].day >= p.cities[atl].launch_day);
		n += log.deliveries[i].count;
	}
	struct fs_production_stats s;
	stats_of(m, &s);
	assert_int_equal(n, s.cities[atl].delivered);
	assert_true(n > 0);
	fs_prod_log_finish(&log);
	fs_production_destroy(m);
}

static void bad_params_are_refused_with_a_reason(void **state)
{
	struct fs_production_params p;
	struct fs_error err = { { 0 } };
	simple_params(&p, 10);
	p.programmes[0].integration_days = 0;
	assert_null(fs_production_create(&p, 1, &err));
	assert_non_null(strstr(err.message, "durations"));
	simple_params(&p, 10);
	struct fs_prod_disruption *d = &p.disruptions[p.disruption_count++];
	d->kind = FS_PROD_SUPPLIER_SHORTAGE;
	strcpy(d->programme, "nope");
	d->start_day = p.start_day;
	d->end_day = p.start_day + 1;
	assert_int_equal(fs_production_params_validate(&p, &err), -EINVAL);
	assert_non_null(strstr(err.message, "nope"));
	simple_params(&p, 10);
	p.city_count = 2;
	p.cities[1] = p.cities[0];
	assert_int_equal(fs_production_params_validate(&p, &err), -EINVAL);
	assert_non_null(strstr(err.message, "twice"));

	/* live disruptions: not in the past, names must exist */
	simple_params(&p, 10);
	struct fs_production *m = create(&p, 1);
	fs_production_advance(m, p.start_day + 10, NULL);
	struct fs_prod_disruption late = { .kind = FS_PROD_SUPPLIER_SHORTAGE, .start_day = p.start_day + 5,
					   .end_day = p.start_day + 20, .factor = 0.5 };
	assert_int_equal(fs_production_add_disruption(m, &late, &err), -EINVAL);
	late.start_day = p.start_day + 11;
	assert_int_equal(fs_production_add_disruption(m, &late, &err), 0);
	assert_int_equal(fs_production_params(m)->disruption_count, 1);
	fs_production_destroy(m);
	fs_production_destroy(NULL);
	assert_string_equal(fs_production_stage_name(FS_PROD_STAGE_CALIBRATION), "calibration");
	assert_string_equal(fs_production_stage_name(99), "?");
}

static void day_from_ms_floors(void **state)
{
	assert_int_equal(fs_production_day_from_ms(0), 0);
	assert_int_equal(fs_production_day_from_ms(86399999), 0);
	assert_int_equal(fs_production_day_from_ms(86400000), 1);
	assert_int_equal(fs_production_day_from_ms(-1), -1);
	int64_t ms;
	assert_int_equal(fs_calendar_parse("2028-06-01T06:00:00Z", &ms), 0);
	assert_int_equal(fs_production_day_from_ms(ms), day_of(2028, 6, 1));
}

static int load_scenario_params(const char *name, struct fs_scenario *sc, struct fs_production_params *p)
{
	const char *root = getenv("FS_SOURCE_ROOT");
	char path[1024];
	snprintf(path, sizeof(path), "%s/examples/%s", root ? root : ".", name);
	struct fs_error err = { { 0 } };
	if (fs_scenario_load(path, sc, &err) < 0) {
		fail_msg("%s", err.message);
	}
	int rc = fs_production_params_from_scenario(sc, p, &err);
	if (rc < 0) {
		fail_msg("%s: %s", name, err.message);
	}
	return rc;
}

/* The scenario file fills the params; its supplier_shortage event cuts the plant as written. */
static void scenario_files_drive_the_model(void **state)
{
	struct fs_scenario sc_default, sc_cut;
	struct fs_production_params *pd = calloc(1, sizeof(*pd)), *pc = calloc(1, sizeof(*pc));
	assert_non_null(pd);
	assert_non_null(pc);
	load_scenario_params("default.yaml", &sc_default, pd);
	load_scenario_params("stellantis-supplier-delay.yaml", &sc_cut, pc);
	assert_int_equal(pd->programme_count, sc_default.production.programme_count);
	assert_int_equal(pd->city_count, sc_default.production.city_count);
	assert_int_equal(pd->disruption_count, 0);
	assert_int_equal(pc->disruption_count, 1);
	const struct fs_prod_disruption *d = &pc->disruptions[0];
	assert_int_equal(d->kind, FS_PROD_SUPPLIER_SHORTAGE);
	assert_int_equal(d->start_day, day_of(2028, 3, 1));
	assert_int_equal(d->end_day, day_of(2028, 9, 1));
	assert_true(fabs(d->factor - 0.3) < 1e-12);
	struct fs_production *a = create(pd, 1), *b = create(pc, 1);
	int g = fs_production_find_programme(a, d->programme);
	assert_true(g >= 0);
	struct fs_production_stats sa, sb;
	fs_production_advance(a, day_of(2028, 2, 29), NULL);
	fs_production_advance(b, day_of(2028, 2, 29), NULL);
	stats_of(a, &sa);
	stats_of(b, &sb);
	uint64_t a0 = sa.programmes[g].built, b0 = sb.programmes[g].built;
	assert_int_equal(a0, b0);
	fs_production_advance(a, day_of(2028, 8, 31), NULL);
	fs_production_advance(b, day_of(2028, 8, 31), NULL);
	stats_of(a, &sa);
	stats_of(b, &sb);
	double ratio = (double)(sb.programmes[g].built - b0) / (double)(sa.programmes[g].built - a0);
	assert_true(fabs(ratio - 0.3) < 0.01); /* plant rate x 0.3 over the window */
	assert_true(sb.fleet < sa.fleet);
	fs_production_destroy(a);
	fs_production_destroy(b);
	fs_scenario_finish(&sc_default);
	fs_scenario_finish(&sc_cut);
	free(pd);
	free(pc);
}

/*
 * One source of truth: the shipped default scenario describes exactly the
 * plan of fs_production_params_defaults(), field by field (programmes, plants,
 * stage capacities and durations, regions, cities, target curve).
 */
static void default_scenario_is_the_code_defaults(void **state)
{
	struct fs_scenario sc;
	struct fs_production_params *from_file = calloc(1, sizeof(*from_file)), *code = calloc(1, sizeof(*code));
	assert_non_null(from_file);
	assert_non_null(code);
	load_scenario_params("default.yaml", &sc, from_file);
	fs_production_params_defaults(code);
	const char *field = NULL;
	bool equal = fs_production_params_equal(from_file, code, &field);
	if (!equal) {
		fail_msg("examples/default.yaml differs from fs_production_params_defaults() in %s", field);
	}
	/* The comparison itself can fail: one changed figure is found and named. */
	from_file->programmes[2].integration_per_day++;
	assert_false(fs_production_params_equal(from_file, code, &field));
	assert_string_equal(field, "programmes[i].integration_per_day");
	from_file->programmes[2].integration_per_day--;
	snprintf(from_file->cities[3].region, sizeof(from_file->cities[3].region), "europe");
	assert_false(fs_production_params_equal(from_file, code, &field));
	assert_string_equal(field, "cities[i].region");
	/* The scenario defaults are the same struct. */
	struct fs_scenario def;
	assert_int_equal(fs_scenario_defaults(&def), 0);
	assert_true(fs_production_params_equal(&def.production, code, &field));
	/* The plan the issue names: separate Stellantis programmes, US first. */
	struct fs_production *m = create(code, 1);
	int k0 = fs_production_find_programme(m, "stellantis-k0");
	int small = fs_production_find_programme(m, "stellantis-stla-small");
	assert_true(k0 >= 0 && small >= 0);
	assert_int_equal(code->programmes[k0].region_count, 1);
	assert_string_equal(code->programmes[k0].regions[0], "north-america");
	assert_int_equal(code->programmes[k0].target + code->programmes[small].target, 5000);
	fs_production_destroy(m);
	fs_scenario_finish(&def);
	fs_scenario_finish(&sc);
	free(from_file);
	free(code);
}

/* A scenario that writes a programme without its stages gets the code's rule for them. */
static void scenario_programmes_and_cities_default_like_the_code(void **state)
{
	static const char yaml[] =
		"production:\n"
		"  start: 2027-01-01\n"
		"  programmes:\n"
		"    - name: p1\n"
		"      oem: O\n"
		"      target: 100\n"
		"      plants: [{name: a, start_of_production: 2027-03, rate_per_month: 500}]\n"
		"rollout:\n"
		"  cities: [{name: lyon, region: europe, launch: 2027-06-15}]\n";
	struct fs_scenario sc;
	struct fs_error err = { { 0 } };
	if (fs_scenario_load_string(yaml, sizeof(yaml) - 1, "t.yaml", NULL, &sc, &err) < 0) {
		fail_msg("%s", err.message);
	}
	struct fs_prod_programme g;
	memset(&g, 0, sizeof(g));
	fs_production_programme_defaults(&g, 500);
	const struct fs_prod_programme *p1 = &sc.production.programmes[0];
	assert_int_equal(sc.production.programme_count, 1);
	assert_int_equal(p1->integration_per_day, g.integration_per_day);
	assert_int_equal(p1->rework_per_day, g.rework_per_day);
	assert_int_equal(p1->service_life_days, g.service_life_days);
	assert_true(p1->battery_kwh == 100.0);
	assert_true(p1->plants[0].ramp_months == 6.0);
	assert_int_equal(p1->plants[0].sop_day, day_of(2027, 3, 1));
	struct fs_prod_city c;
	fs_production_city_defaults(&c, "europe");
	assert_int_equal(sc.production.city_count, 1);
	assert_int_equal(sc.production.cities[0].transit_days, c.transit_days);
	assert_int_equal(sc.production.cities[0].launch_day, day_of(2027, 6, 15));
	assert_int_equal(sc.production.start_day, day_of(2027, 1, 1));
	fs_scenario_finish(&sc);

	/* A plant before the model's start, a city without a region: refused where written. */
	static const char early[] = "production:\n  start: 2029-01-01\n";
	assert_int_equal(fs_scenario_load_string(early, sizeof(early) - 1, "e.yaml", NULL, &sc, &err), -EINVAL);
	assert_non_null(strstr(err.message, "e.yaml:2:10: production.start is after the start of production"));
	static const char noregion[] = "rollout:\n  cities: [{name: lyon, launch: 2027-06}]\n";
	assert_int_equal(fs_scenario_load_string(noregion, sizeof(noregion) - 1, "r.yaml", NULL, &sc, &err), -EINVAL);
	assert_non_null(strstr(err.message, "r.yaml:2:12: a rollout city needs a name, a region and a launch date"));
	static const char badsw[] =
		"production:\n  programmes:\n    - {name: p, oem: o, target: 1, software: \"9.9\",\n"
		"       plants: [{name: a, start_of_production: 2027-03, rate_per_month: 5}]}\n";
	assert_int_equal(fs_scenario_load_string(badsw, sizeof(badsw) - 1, "s.yaml", NULL, &sc, &err), -EINVAL);
	assert_non_null(strstr(err.message, "s.yaml:3:46: software: '9.9' is not a release of fleet.software"));
	/* A shared integrator is named, and must exist; a programme filling the fleet needs no target. */
	static const char site[] =
		"production:\n  integrators: [{name: fox, lines: [{start: 2027-01, per_day: 5}]}]\n"
		"  programmes:\n    - {name: p, oem: o, fills_fleet_target: true, integrator: fox,\n"
		"       plants: [{name: a, start_of_production: 2027-03, rate_per_month: 50}]}\n";
	if (fs_scenario_load_string(site, sizeof(site) - 1, "i.yaml", NULL, &sc, &err) < 0) {
		fail_msg("%s", err.message);
	}
	assert_true(sc.production.programmes[0].fills_fleet);
	assert_int_equal(sc.production.programmes[0].target, 0);
	assert_string_equal(sc.production.programmes[0].integrator, "fox");
	assert_int_equal(sc.production.programmes[0].integration_per_day, 0); /* the site's lines are the cap */
	assert_int_equal(fs_production_integrator_capacity(&sc.production.integrators[0], day_of(2027, 1, 1)), 5);
	assert_int_equal(fs_production_integrator_capacity(&sc.production.integrators[0], day_of(2026, 12, 31)), 0);
	fs_scenario_finish(&sc);
	static const char nosite[] =
		"production:\n  programmes:\n    - {name: p, oem: o, target: 9, integrator: acme,\n"
		"       plants: [{name: a, start_of_production: 2027-03, rate_per_month: 5}]}\n";
	assert_int_equal(fs_scenario_load_string(nosite, sizeof(nosite) - 1, "n.yaml", NULL, &sc, &err), -EINVAL);
	assert_non_null(strstr(err.message, "n.yaml:3:48: integrator: 'acme' is not one of production.integrators"));
}

/* The summary's and rollout.csv's vehicles per stage: every programme's, the others' ignored. */
static void stage_counts_add_up_over_programmes(void **state)
{
	(void)state;
	struct fs_production_stats *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->programme_count = 2;
	s->programmes[0].in_stage[FS_PROD_STAGE_BUILD] = 3;
	s->programmes[1].in_stage[FS_PROD_STAGE_BUILD] = 4000000000u;
	s->programmes[2].in_stage[FS_PROD_STAGE_BUILD] = 7; /* past programme_count */
	s->programmes[1].in_stage[FS_PROD_STAGE_RETIRED] = 5;
	assert_int_equal(fs_production_stats_in_stage(s, FS_PROD_STAGE_BUILD), 4000000003ull);
	assert_int_equal(fs_production_stats_in_stage(s, FS_PROD_STAGE_RETIRED), 5);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ramp_volumes_per_month_match_the_curve),
		cmocka_unit_test(ramp_curves_rise_from_zero_to_one),
		cmocka_unit_test(volume_target_caps_the_programme),
		cmocka_unit_test(a_short_stage_builds_a_queue_and_limits_throughput),
		cmocka_unit_test(calibration_failures_are_reworked_and_delivered),
		cmocka_unit_test(deliveries_are_allocated_by_weight_region_launch_and_priority),
		cmocka_unit_test(phases_follow_the_city_calendar),
		cmocka_unit_test(supplier_shortage_shifts_deliveries_as_configured),
		cmocka_unit_test(calibration_spike_raises_failures_in_its_window),
		cmocka_unit_test(recall_grounds_or_retires_a_build_range),
		cmocka_unit_test(vehicles_retire_after_their_service_life),
		cmocka_unit_test(fleet_is_deliveries_minus_retirements),
		cmocka_unit_test(defaults_tell_the_mission_rollout),
		cmocka_unit_test(halving_a_shared_integrator_delays_every_programme_using_it),
		cmocka_unit_test(fleet_data_train_releases_that_go_out_over_the_air),
		cmocka_unit_test(same_seed_same_series_whatever_the_step),
		cmocka_unit_test(delivery_log_filters_by_city),
		cmocka_unit_test(bad_params_are_refused_with_a_reason),
		cmocka_unit_test(day_from_ms_floors),
		cmocka_unit_test(scenario_files_drive_the_model),
		cmocka_unit_test(default_scenario_is_the_code_defaults),
		cmocka_unit_test(scenario_programmes_and_cities_default_like_the_code),
		cmocka_unit_test(stage_counts_add_up_over_programmes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
