/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_production_params - the default rollout: OEM programmes and cities.
 *
 * Sources: ../shared/DOMAIN.md (NVIDIA/Uber 100k fleet from 2027; Lucid
 * Gravity via Nuro ~20,000 over 2026-2031; Stellantis >= 5,000 from 2028, US
 * first, Foxconn integration; Mercedes-Benz S-Class L4; LA and SF in H1 2027,
 * 28 cities on four continents by 2028; city phases 3-6 months each; fleet
 * curve ~1.9k end-2027, 5k end-2028, 12k end-2029, 27k end-2030). Everything
 * marked [est] is our estimate, chosen so that the programmes together follow
 * that curve (docs/production.md shows the fit). A scenario file overrides any
 * of it.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "fs/calendar.h"
#include "fs/production.h"
#include "fs/scenario.h"

static int32_t day_of(int y, int m, int d)
{
	return (int32_t)fs_calendar_days_from_civil(y, m, d);
}

static void set_name(char *dst, const char *src)
{
	size_t n = strnlen(src, FS_PROD_NAME_MAX - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Stage figures shared by every programme [est]: the Foxconn line and the
 * end-of-line bay are sized ~30 % above the programme's full daily rate, so
 * queues only form in bursts or when a disruption hits. */
void fs_production_programme_defaults(struct fs_prod_programme *g, double full_rate_per_month)
{
	uint32_t per_day = (uint32_t)(full_rate_per_month * 12.0 / 365.25 * 1.3) + 1;
	g->build_days = 3;               /* [est] body-in-white to end of line, rounded to days */
	g->integration_per_day = per_day;/* [est] Foxconn Hyperion 10 kit install line */
	g->integration_days = 2;         /* [est] 14 cameras, 9 radars, 1 lidar, 12 USS, 2 Thor */
	g->calibration_per_day = per_day;/* [est] end-of-line calibration + validation bays */
	g->calibration_days = 1;         /* [est] */
	g->calibration_fail_share = 0.03;/* [est] DOMAIN: "a small % fail and are reworked" */
	g->rework_per_day = per_day / 5 + 1; /* [est] rework bays: ~20 % of line capacity */
	g->rework_days = 4;              /* [est] diagnose, replace or re-seat, re-aim sensors */
	g->shipping_per_day = 0;         /* [est] carriers are not the bottleneck */
	g->service_life_days = 5 * 365;  /* [est] ~5 years / ~300k miles robotaxi duty */
	g->attrition_per_year = 0.01;    /* [est] write-offs (collisions, floods) */
	g->sw_version = 100;             /* fs_vehicle_params_defaults(): release "1.0" */
}

static struct fs_prod_programme *add_programme(struct fs_production_params *p, const char *name,
					       const char *oem, const char *model, uint32_t target,
					       double battery_kwh)
{
	struct fs_prod_programme *g = &p->programmes[p->programme_count++];
	memset(g, 0, sizeof(*g));
	set_name(g->name, name);
	set_name(g->oem, oem);
	set_name(g->model, model);
	g->target = target;
	g->battery_kwh = battery_kwh;
	return g;
}

static void add_plant(struct fs_prod_programme *g, const char *name, int32_t sop_day, double ramp_months,
		      double rate_per_month)
{
	struct fs_prod_plant *pl = &g->plants[g->plant_count++];
	set_name(pl->name, name);
	pl->sop_day = sop_day;
	pl->ramp_months = ramp_months;
	pl->rate_per_month = rate_per_month;
	pl->curve = FS_PROD_CURVE_SMOOTHSTEP; /* DOMAIN: S-curve to full rate over 6-12 months */
}

static void add_region(struct fs_prod_programme *g, const char *region)
{
	set_name(g->regions[g->region_count++], region);
}

struct city_default {
	const char *name;
	const char *region;
	int y, m;        /* launch month (data collection starts on the 1st) [est] */
	uint32_t weight; /* relative ride-hail market size [est] */
};

/* 28 cities on four continents by 2028 (DOMAIN.md); launch order and sizes [est].
 * LA and SF first (H1 2027); Atlanta early (a live robotaxi-on-Uber city). */
static const struct city_default cities[] = {
	{ "los-angeles", "north-america", 2027, 1, 10 },
	{ "san-francisco", "north-america", 2027, 2, 8 },
	{ "abu-dhabi", "asia", 2027, 3, 2 },
	{ "atlanta", "north-america", 2027, 4, 4 },
	{ "austin", "north-america", 2027, 5, 3 },
	{ "phoenix", "north-america", 2027, 6, 4 },
	{ "dallas", "north-america", 2027, 7, 5 },
	{ "houston", "north-america", 2027, 8, 5 },
	{ "munich", "europe", 2027, 9, 3 },
	{ "miami", "north-america", 2027, 9, 5 },
	{ "las-vegas", "north-america", 2027, 10, 3 },
	{ "dubai", "asia", 2027, 10, 4 },
	{ "washington-dc", "north-america", 2027, 11, 4 },
	{ "seattle", "north-america", 2028, 1, 4 },
	{ "london", "europe", 2028, 1, 8 },
	{ "denver", "north-america", 2028, 2, 3 },
	{ "chicago", "north-america", 2028, 3, 7 },
	{ "paris", "europe", 2028, 3, 7 },
	{ "boston", "north-america", 2028, 4, 4 },
	{ "riyadh", "asia", 2028, 4, 3 },
	{ "madrid", "europe", 2028, 5, 4 },
	{ "new-york", "north-america", 2028, 6, 12 },
	{ "tokyo", "asia", 2028, 6, 8 },
	{ "san-diego", "north-america", 2028, 7, 3 },
	{ "berlin", "europe", 2028, 7, 4 },
	{ "singapore", "asia", 2028, 8, 4 },
	{ "sydney", "oceania", 2028, 9, 4 },
	{ "melbourne", "oceania", 2028, 11, 3 },
};

static uint32_t transit_days(const char *region)
{
	/* [est] truck/rail inside North America; sea freight + customs elsewhere */
	if (!strcmp(region, "north-america")) {
		return 7;
	}
	return !strcmp(region, "oceania") ? 40 : 35;
}

void fs_production_params_defaults(struct fs_production_params *p)
{
	memset(p, 0, sizeof(*p));
	p->start_day = day_of(2026, 1, 1);
	struct fs_prod_programme *g;

	/* Lucid Gravity via Nuro: ~20,000 over six years 2026-2031, Bay Area first
	 * (DOMAIN.md); 123 kWh pack (DOMAIN.md). Plant: Lucid AMP-1, Casa Grande AZ.
	 * SOP late 2026, a second line from 2029, ramps and rates [est] so that
	 * the 20,000 land by early 2032 while the fleet follows its curve. */
	g = add_programme(p, "lucid-gravity", "Lucid", "Gravity", 20000, 123.0);
	add_plant(g, "casa-grande", day_of(2026, 10, 1), 12, 150);
	add_plant(g, "casa-grande-2", day_of(2029, 1, 1), 24, 400);
	fs_production_programme_defaults(g, 550);

	/* Mercedes-Benz S-Class L4 robotaxi (DOMAIN.md: Abu Dhabi pilot). Plant:
	 * Factory 56, Sindelfingen. Volume, SOP and rate [est]. Battery [est]: the
	 * model treats every car as a BEV (EQS-class pack). */
	g = add_programme(p, "mercedes-s-class", "Mercedes-Benz", "S-Class", 5000, 108.0);
	add_plant(g, "sindelfingen", day_of(2026, 7, 1), 12, 60);
	fs_production_programme_defaults(g, 60);

	/* Stellantis: >= 5,000 for Uber, production from 2028, US first; AV-ready
	 * K0 medium van and STLA Small; Foxconn integrates the autonomy kit
	 * (DOMAIN.md). Split 2,500 / 2,500, plants, rates and packs [est]. */
	g = add_programme(p, "stellantis-k0", "Stellantis", "K0 van", 2500, 75.0);
	add_plant(g, "k0-us", day_of(2028, 4, 1), 12, 180);
	add_region(g, "north-america");
	fs_production_programme_defaults(g, 180);
	g = add_programme(p, "stellantis-stla-small", "Stellantis", "STLA Small", 2500, 54.0);
	add_plant(g, "stla-small-us", day_of(2028, 10, 1), 12, 180);
	add_region(g, "north-america");
	fs_production_programme_defaults(g, 180);

	/* Further Hyperion 10 OEMs toward the 100,000 fleet (DOMAIN.md: "100,000
	 * vehicles over time"). Unnamed partners; volumes, SOPs and rates [est],
	 * fitted to the fleet curve. */
	g = add_programme(p, "partner-a", "Partner OEM A", "Hyperion 10 robotaxi", 30000, 100.0);
	add_plant(g, "partner-a-1", day_of(2029, 6, 1), 24, 1000);
	fs_production_programme_defaults(g, 1000);
	g = add_programme(p, "partner-b", "Partner OEM B", "Hyperion 10 robotaxi", 40000, 100.0);
	add_plant(g, "partner-b-1", day_of(2030, 7, 1), 24, 1300);
	fs_production_programme_defaults(g, 1300);

	for (size_t i = 0; i < sizeof(cities) / sizeof(cities[0]); i++) {
		struct fs_prod_city *c = &p->cities[p->city_count++];
		set_name(c->name, cities[i].name);
		set_name(c->region, cities[i].region);
		c->launch_day = day_of(cities[i].y, cities[i].m, 1);
		c->data_collection_days = 120;  /* DOMAIN: data collection 3-6 months [est: 4] */
		c->supervised_days = 150;       /* DOMAIN: supervised 3-6 months [est: 5] */
		c->weight = cities[i].weight;
		c->priority = 0;
		c->fleet_cap = 0;
		c->transit_days = transit_days(c->region);
		c->commissioning_per_day = 40;  /* [est] depot acceptance bays */
		c->commissioning_days = 2;      /* fs_vehicle_params: commissioning_h = 48 */
	}

	/* DOMAIN.md fleet curve: logistic toward 100k through ~1.9k end-2027, 5k
	 * end-2028, 12k end-2029, 27k end-2030: K = 100,000, r = 0.95 / year,
	 * midpoint 2032-01-18 gives 2.1k, 5.2k, 12.5k, 27.0k. */
	p->target_fleet = 100000;
	p->target_rate_per_year = 0.95;
	p->target_mid_day = day_of(2032, 1, 18);
}

/* ---- from a scenario file (fs/scenario.h) ------------------------------------------ */

static const char *default_region(const char *city)
{
	for (size_t i = 0; i < sizeof(cities) / sizeof(cities[0]); i++) {
		if (!strcmp(cities[i].name, city)) {
			return cities[i].region;
		}
	}
	return "";
}

static uint32_t days_at_least_one(double days)
{
	return days < 1.0 ? 1u : (uint32_t)lround(days);
}

static void copy_name(char *dst, const char *src, struct fs_error *err, int *rc)
{
	if (strlen(src) >= FS_PROD_NAME_MAX) {
		*rc = fs_error_set(err, -EINVAL, "name '%s' is longer than %d characters", src, FS_PROD_NAME_MAX - 1);
	}
	set_name(dst, src);
}

int fs_production_params_from_scenario(const struct fs_scenario *sc, struct fs_production_params *ret,
				       struct fs_error *err)
{
	struct fs_production_params *p = ret;
	struct fs_production_params defaults;
	fs_production_params_defaults(&defaults);
	if (sc->programme_count > FS_PROD_PROGRAMMES_MAX || sc->city_count > FS_PROD_CITIES_MAX) {
		return fs_error_set(err, -EINVAL, "scenario: more than %d programmes or %d cities",
				    FS_PROD_PROGRAMMES_MAX, FS_PROD_CITIES_MAX);
	}
	int rc = 0;
	memset(p, 0, sizeof(*p));
	p->start_day = defaults.start_day;
	p->target_fleet = defaults.target_fleet;
	p->target_rate_per_year = defaults.target_rate_per_year;
	p->target_mid_day = defaults.target_mid_day;
	double total_rate = 0;
	for (size_t i = 0; i < sc->programme_count; i++) {
		for (uint32_t k = 0; k < sc->programmes[i].plant_count; k++) {
			total_rate += sc->programmes[i].plants[k].rate_per_month;
		}
	}
	const struct fs_scenario_stages *st = &sc->stages;
	for (size_t i = 0; i < sc->programme_count; i++) {
		const struct fs_scenario_programme *sp = &sc->programmes[i];
		struct fs_prod_programme *g = &p->programmes[p->programme_count++];
		if (sp->plant_count > FS_PROD_PLANTS_MAX) {
			return fs_error_set(err, -EINVAL, "programme '%s': more than %d plants", sp->name,
					    FS_PROD_PLANTS_MAX);
		}
		double rate = 0;
		for (uint32_t k = 0; k < sp->plant_count; k++) {
			const struct fs_scenario_plant *pl = &sp->plants[k];
			struct fs_prod_plant *q = &g->plants[g->plant_count++];
			copy_name(q->name, pl->name, err, &rc);
			q->sop_day = fs_production_day_from_ms(pl->sop_ms);
			q->ramp_months = pl->ramp_months;
			q->rate_per_month = pl->rate_per_month;
			q->curve = FS_PROD_CURVE_SMOOTHSTEP;
			rate += pl->rate_per_month;
			if (q->sop_day < p->start_day) {
				p->start_day = q->sop_day;
			}
		}
		fs_production_programme_defaults(g, rate);
		copy_name(g->name, sp->name, err, &rc);
		copy_name(g->oem, sp->oem, err, &rc);
		copy_name(g->model, sp->model, err, &rc);
		g->target = sp->target > UINT32_MAX ? UINT32_MAX : (uint32_t)sp->target;
		/* the programme's own battery, software and regions where the defaults know it */
		for (uint32_t d = 0; d < defaults.programme_count; d++) {
			const struct fs_prod_programme *dg = &defaults.programmes[d];
			if (!strcmp(dg->name, sp->name)) {
				g->battery_kwh = dg->battery_kwh;
				memcpy(g->regions, dg->regions, sizeof(g->regions));
				g->region_count = dg->region_count;
			}
		}
		if (!(g->battery_kwh > 0)) {
			g->battery_kwh = 100.0; /* DOMAIN: 100 kWh usable */
		}
		/* The scenario's Foxconn capacity is for the whole network: each
		 * programme gets the part of it that its full rate is of the total. */
		if (st->integration_per_month > 0 && total_rate > 0) {
			g->integration_per_day =
				(uint32_t)ceil(st->integration_per_month * 12.0 / 365.25 * rate / total_rate);
		}
		if (st->integration_days > 0) {
			g->integration_days = days_at_least_one(st->integration_days);
		}
		g->calibration_fail_share = st->calibration_fail_share;
		if (st->rework_days > 0) {
			g->rework_days = days_at_least_one(st->rework_days);
		}
		if (st->retirement_years > 0) {
			g->service_life_days = (uint32_t)lround(st->retirement_years * 365.25);
		}
	}
	for (size_t i = 0; i < sc->city_count; i++) {
		const struct fs_scenario_city_plan *cp = &sc->cities[i];
		struct fs_prod_city *c = &p->cities[p->city_count++];
		copy_name(c->name, cp->name, err, &rc);
		set_name(c->region, default_region(cp->name));
		c->launch_day = fs_production_day_from_ms(cp->launch_ms);
		c->data_collection_days = (uint32_t)lround(cp->data_collection_months * 365.25 / 12.0);
		c->supervised_days = (uint32_t)lround(cp->supervised_months * 365.25 / 12.0);
		c->weight = (uint32_t)lround(cp->share * 1000.0);
		c->transit_days = st->shipping_days > 0 ? days_at_least_one(st->shipping_days)
							: transit_days(c->region);
		c->commissioning_per_day = 40;
		c->commissioning_days = 2;
	}
	for (size_t i = 0; i < sc->event_count && rc == 0; i++) {
		const struct fs_scenario_event *e = &sc->events[i];
		if (e->type != FS_SCN_EVENT_SUPPLIER_SHORTAGE && e->type != FS_SCN_EVENT_RECALL &&
		    e->type != FS_SCN_EVENT_CALIBRATION_SPIKE) {
			continue;
		}
		if (p->disruption_count >= FS_PROD_DISRUPTIONS_MAX) {
			return fs_error_set(err, -EINVAL, "scenario: more than %d production events",
					    FS_PROD_DISRUPTIONS_MAX);
		}
		rc = fs_production_disruption_from_event(sc, e, &p->disruptions[p->disruption_count++], err);
	}
	if (rc == 0) {
		rc = fs_production_params_validate(p, err);
	}
	return rc;
}

int fs_production_disruption_from_event(const struct fs_scenario *sc, const struct fs_scenario_event *e,
					struct fs_prod_disruption *ret, struct fs_error *err)
{
	struct fs_prod_disruption d = { 0 };
	int64_t at_ms = sc->start_ms + (int64_t)(e->apply_tick == FS_SCN_NEXT_TICK ? 0 : e->apply_tick) * sc->tick_ms;
	d.start_day = fs_production_day_from_ms(at_ms);
	d.end_day = e->duration_ticks
			    ? fs_production_day_from_ms(at_ms + (int64_t)e->duration_ticks * sc->tick_ms - 1) + 1
			    : INT32_MAX;
	if (d.end_day <= d.start_day) {
		d.end_day = d.start_day + 1;
	}
	set_name(d.programme, e->programme);
	switch (e->type) {
	case FS_SCN_EVENT_SUPPLIER_SHORTAGE:
		d.kind = FS_PROD_SUPPLIER_SHORTAGE;
		set_name(d.plant, e->plant);
		d.factor = e->factor;
		break;
	case FS_SCN_EVENT_CALIBRATION_SPIKE:
		d.kind = FS_PROD_CALIBRATION_SPIKE;
		d.factor = e->factor;
		break;
	case FS_SCN_EVENT_RECALL:
		d.kind = FS_PROD_RECALL;
		d.build_from_day = fs_production_day_from_ms(e->built_from_ms);
		d.build_to_day = fs_production_day_from_ms(e->built_to_ms);
		d.share = e->share > 0 ? e->share : 1.0;
		d.action = e->recall_action == FS_SCN_RECALL_RETIRE ? FS_PROD_RECALL_RETIRE : FS_PROD_RECALL_REWORK;
		d.rework_days = days_at_least_one(sc->stages.rework_days);
		break;
	default:
		return fs_error_set(err, -EINVAL, "event type %d is not a production event", e->type);
	}
	*ret = d;
	return 0;
}
