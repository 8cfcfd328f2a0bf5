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
#include <string.h>

#include "fs/calendar.h"
#include "fs/production.h"

static int32_t day_of(int y, int m, int d)
{
	return (int32_t)fs_calendar_days_from_civil(y, m, d);
}

static void set_name(char *dst, const char *src)
{
	strncpy(dst, src, FS_PROD_NAME_MAX - 1);
	dst[FS_PROD_NAME_MAX - 1] = '\0';
}

/* Stage figures shared by every programme [est]: the Foxconn line and the
 * end-of-line bay are sized ~30 % above the programme's full daily rate, so
 * queues only form in bursts or when a disruption hits. */
static void programme_common(struct fs_prod_programme *g, double full_rate_per_month)
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
	programme_common(g, 550);

	/* Mercedes-Benz S-Class L4 robotaxi (DOMAIN.md: Abu Dhabi pilot). Plant:
	 * Factory 56, Sindelfingen. Volume, SOP and rate [est]. Battery [est]: the
	 * model treats every car as a BEV (EQS-class pack). */
	g = add_programme(p, "mercedes-s-class", "Mercedes-Benz", "S-Class", 5000, 108.0);
	add_plant(g, "sindelfingen", day_of(2026, 7, 1), 12, 60);
	programme_common(g, 60);

	/* Stellantis: >= 5,000 for Uber, production from 2028, US first; AV-ready
	 * K0 medium van and STLA Small; Foxconn integrates the autonomy kit
	 * (DOMAIN.md). Split 2,500 / 2,500, plants, rates and packs [est]. */
	g = add_programme(p, "stellantis-k0", "Stellantis", "K0 van", 2500, 75.0);
	add_plant(g, "k0-us", day_of(2028, 4, 1), 12, 180);
	add_region(g, "north-america");
	programme_common(g, 180);
	g = add_programme(p, "stellantis-stla-small", "Stellantis", "STLA Small", 2500, 54.0);
	add_plant(g, "stla-small-us", day_of(2028, 10, 1), 12, 180);
	add_region(g, "north-america");
	programme_common(g, 180);

	/* Further Hyperion 10 OEMs toward the 100,000 fleet (DOMAIN.md: "100,000
	 * vehicles over time"). Unnamed partners; volumes, SOPs and rates [est],
	 * fitted to the fleet curve. */
	g = add_programme(p, "partner-a", "Partner OEM A", "Hyperion 10 robotaxi", 30000, 100.0);
	add_plant(g, "partner-a-1", day_of(2029, 6, 1), 24, 1000);
	programme_common(g, 1000);
	g = add_programme(p, "partner-b", "Partner OEM B", "Hyperion 10 robotaxi", 40000, 100.0);
	add_plant(g, "partner-b-1", day_of(2030, 7, 1), 24, 1300);
	programme_common(g, 1300);

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
