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
#include "fs/equal.h"
#include "fs/production.h"

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

void fs_production_programme_use_integrator(struct fs_prod_programme *g, const char *integrator)
{
	set_name(g->integrator, integrator);
	g->integration_per_day = 0; /* the site's lines are the capacity */
}

void fs_production_programme_vehicle_defaults(struct fs_prod_programme *g)
{
	g->battery_kwh = 100.0;  /* DOMAIN: 100 kWh usable (= fs_vehicle_params_defaults()) */
	g->kwh_per_km = 0.22;    /* DOMAIN: 0.22 kWh/km */
	g->max_charge_kw = 250;  /* [est] DOMAIN: plugs of 150-250 kW (= fs_vehicle_params_defaults()) */
	g->seats = 4;            /* [est] Waymo's and Zoox's robotaxis take four riders (allthe.news, Jan 2026) */
}

/* The programme's vehicle: pack, consumption, DC limit, seats (sources where it is added). */
struct vehicle_spec {
	double battery_kwh, kwh_per_km, max_charge_kw;
	uint32_t seats;
};

static struct fs_prod_programme *add_programme(struct fs_production_params *p, const char *name,
					       const char *oem, const char *model, uint32_t target,
					       struct vehicle_spec vehicle)
{
	struct fs_prod_programme *g = &p->programmes[p->programme_count++];
	memset(g, 0, sizeof(*g));
	set_name(g->name, name);
	set_name(g->oem, oem);
	set_name(g->model, model);
	g->target = target;
	g->battery_kwh = vehicle.battery_kwh;
	g->kwh_per_km = vehicle.kwh_per_km;
	g->max_charge_kw = vehicle.max_charge_kw;
	g->seats = vehicle.seats;
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

void fs_production_city_defaults(struct fs_prod_city *c, const char *region)
{
	memset(c, 0, sizeof(*c));
	set_name(c->region, region);
	c->data_collection_days = 120;  /* DOMAIN: data collection 3-6 months [est: 4] */
	c->supervised_days = 150;       /* DOMAIN: supervised 3-6 months [est: 5] */
	c->weight = 1;
	c->priority = 0;
	c->fleet_cap = 0;
	c->transit_days = transit_days(region);
	c->commissioning_per_day = 40;  /* [est] depot acceptance bays */
	c->commissioning_days = 2;      /* fs_vehicle_params: commissioning_h = 48 */
}

void fs_production_params_defaults(struct fs_production_params *p)
{
	memset(p, 0, sizeof(*p));
	p->start_day = day_of(2026, 1, 1);
	struct fs_prod_programme *g;

	/* Lucid Gravity via Nuro: Uber buys at least 20,000 over six years
	 * (Lucid/Uber/Nuro release, 17 Jul 2025: automotivedive.com; "2026-2031",
	 * DOMAIN.md), built at Lucid's Casa Grande (AZ) plant with Nuro's hardware
	 * fitted on Lucid's own assembly line, not by Foxconn (The Verge, Sep 2025,
	 * via tekedia.com); production from later in 2026 (Uber at CES 2026, via
	 * allthe.news). Ramp [est: 24 months, DOMAIN's S-curve doubled for a new
	 * robotaxi line]; full rate [est] 400 a month: the rate at which the 20,000
	 * are built by the end of 2031 (12 ramp-equivalent months + 38 months at
	 * full rate = 50 x 400). */
	/* The Gravity: 123 kWh, 400 kW peak DC (DOMAIN.md), ~0.17 kWh/km EPA (DOMAIN.md,
	 * arenaev), six passengers in Uber's robotaxi (CES 2026: allthe.news, clubalfa.it). */
	g = add_programme(p, "lucid-gravity", "Lucid", "Gravity", 20000,
			  (struct vehicle_spec){ 123.0, 0.17, 400.0, 6 });
	add_plant(g, "casa-grande", day_of(2026, 10, 1), 24, 400);
	fs_production_programme_defaults(g, 400);

	/* Mercedes-Benz S-Class L4 robotaxi: NVIDIA names Mercedes-Benz among its
	 * Hyperion L4 partners (benzinga.com, Oct 2025); the S-Class robotaxi
	 * pilots in Abu Dhabi with Momenta's software and the operator Lumo
	 * (heise.de/-11108340). Nothing is published about S-Class volumes for
	 * Uber: volume, SOP and rate are [est] (they move the Mercedes share of
	 * the early fleet; the fleet target itself is met by the programme that
	 * fills it, below). Plant: Factory 56, Sindelfingen. */
	/* Its vehicle [est]: the S-Class is not a BEV (heise.de/-11108340), the model needs one:
	 * an EQS-class pack (108 kWh), 0.20 kWh/km, 200 kW DC; three riders in the rear. */
	g = add_programme(p, "mercedes-s-class", "Mercedes-Benz", "S-Class", 5000,
			  (struct vehicle_spec){ 108.0, 0.20, 200.0, 3 });
	add_plant(g, "sindelfingen", day_of(2026, 7, 1), 12, 60);
	fs_production_programme_defaults(g, 60);

	/* Foxconn installs the autonomy electronics in Stellantis' vehicles
	 * (heise.de/-10962329; autoexpress.co.uk, Oct 2025): one site shared by
	 * the programmes that use it. Lines [est]: sized like a programme's own
	 * line (fs_production_programme_defaults(): ~30 % above the full daily
	 * rate) for the programmes that start with each one. */
	p->integrator_count = 1;
	struct fs_prod_integrator *fox = &p->integrators[0];
	set_name(fox->name, "foxconn");
	fox->lines[fox->line_count++] = (struct fs_prod_line){ day_of(2027, 12, 1), 30 };  /* Stellantis 700/month */
	fox->lines[fox->line_count++] = (struct fs_prod_line){ day_of(2029, 1, 1), 52 };   /* further 1,200/month */
	fox->lines[fox->line_count++] = (struct fs_prod_line){ day_of(2030, 7, 1), 52 };   /* further 1,200/month */

	/* Stellantis: delivers its first 5,000 equipped vehicles in 2028 in the
	 * US (the mission's source, Nov 2025: DOMAIN.md); AV-ready K0 medium van
	 * and STLA Small (autoexpress.co.uk); "a van and a small car roll off the
	 * line from 2028", Foxconn installs the electronics (heise.de/-10962329).
	 * SOP [est] January 2028 for both, the earliest the sources allow; ramp
	 * [est] 6 months (DOMAIN's short end: both platforms are in production
	 * already); split 2,500 / 2,500 [est]; full rate [est] 350 a month a line:
	 * the rate that builds each line's 2,500 by early November 2028 (3
	 * ramp-equivalent months + ~4.2 at full rate), so that, with Foxconn,
	 * calibration and a week's transit, the 5,000 are delivered within 2028.
	 * examples/stellantis-production-from-2028.yaml is the trade press's
	 * reading instead: production *starting* in 2028, 5,000 eventually. */
	/* The K0 vans on sale (e-Expert, ë-Jumpy, Vivaro-e): 75 kWh, 330 km WLTP (~0.23 kWh/km),
	 * 100 kW DC (europe.autonews.com, May 2020); passenger versions seat 6-9 (visao.pt):
	 * six riders [est]. */
	g = add_programme(p, "stellantis-k0", "Stellantis", "K0 van", 2500, (struct vehicle_spec){ 75.0, 0.23, 100.0, 6 });
	add_plant(g, "k0-us", day_of(2028, 1, 1), 6, 350);
	add_region(g, "north-america");
	fs_production_programme_defaults(g, 350);
	fs_production_programme_use_integrator(g, "foxconn");
	/* STLA Small [est] as the small cars on Stellantis' current e-CMP platform: a 54 kWh
	 * pack, ~0.15 kWh/km (e-208: 10-11 kWh/100 km in town, auto-nomie.fr), 100 kW DC
	 * (e-208: cleantechnica.com); four riders. */
	g = add_programme(p, "stellantis-stla-small", "Stellantis", "STLA Small", 2500,
			  (struct vehicle_spec){ 54.0, 0.15, 100.0, 4 });
	add_plant(g, "stla-small-us", day_of(2028, 1, 1), 6, 350);
	add_region(g, "north-america");
	fs_production_programme_defaults(g, 350);
	fs_production_programme_use_integrator(g, "foxconn");

	/* Further Hyperion 10 programmes, unnamed: the 100,000 fleet (NVIDIA/Uber,
	 * Oct 2025: benzinga.com) includes Lucid's ~20,000 and Stellantis' 5,000
	 * (thedriverlessdigest.com); who builds the rest is not published (BYD,
	 * Geely, Isuzu and Nissan adopted DRIVE Hyperion for L4 in March 2026,
	 * aiwire.ai, without volumes for Uber). So this programme has no volume of
	 * its own: it builds what keeps the fleet at the 100,000 target, the
	 * replacement of retired vehicles included (fills_fleet). Its plants, SOPs
	 * and rates are [est], sized so the fleet follows DOMAIN's curve through
	 * 2030; they set when the fleet reaches 100,000. Foxconn integrates [est:
	 * NVIDIA's Hyperion integration partner for Stellantis]. */
	g = add_programme(p, "hyperion-unnamed", "Further Hyperion OEMs", "unnamed L4 vehicle", 0,
			  (struct vehicle_spec){ 100.0, 0.22, 250.0, 4 }); /* the model's default vehicle */
	g->fills_fleet = true;
	add_plant(g, "unnamed-1", day_of(2029, 1, 1), 24, 1200);
	add_plant(g, "unnamed-2", day_of(2030, 7, 1), 24, 1200);
	fs_production_programme_defaults(g, 2400);
	fs_production_programme_use_integrator(g, "foxconn");

	for (size_t i = 0; i < sizeof(cities) / sizeof(cities[0]); i++) {
		struct fs_prod_city *c = &p->cities[p->city_count++];
		fs_production_city_defaults(c, cities[i].region);
		set_name(c->name, cities[i].name);
		c->launch_day = day_of(cities[i].y, cities[i].m, 1);
		c->weight = cities[i].weight;
	}

	fs_production_flywheel_defaults(&p->flywheel);

	/* DOMAIN.md fleet curve: logistic toward 100k through ~1.9k end-2027, 5k
	 * end-2028, 12k end-2029, 27k end-2030: K = 100,000, r = 0.95 / year,
	 * midpoint 2032-01-18 gives 2.1k, 5.2k, 12.5k, 27.0k. */
	p->target_fleet = 100000;
	p->target_rate_per_year = 0.95;
	p->target_mid_day = day_of(2032, 1, 18);
}

/*
 * The data flywheel [est]. What a vehicle in service drives and uploads a day
 * is derived from published figures; how much data a release needs is not
 * published for any fleet, so it is anchored on Waymo's record: its
 * driverless fleet passed 1 million miles in January 2023 and 100 million in
 * July 2025 (Waymo on X, via newsable.asianetnews.com), and its riders got
 * freeways in November 2025 (alphaleaders.co.uk). Release 1.2 (fleet.software:
 * motorways, 30,000 miles per disengagement) needs the data of ~100 million
 * miles, 1.1 (20,000) a tenth of that [est]; they move when those releases
 * come out.
 */
void fs_production_flywheel_defaults(struct fs_prod_flywheel *fw)
{
	memset(fw, 0, sizeof(*fw));
	/* DOMAIN: 19-26 trips a day of 3.19 mi mean (CPUC), 44 % of miles empty:
	 * 22.5 x 5.13 km / 0.56 = 206 km a day */
	fw->km_per_vehicle_day = 206;
	/* fs_vehicle_params_defaults(): 14 cameras x 4.5 + 9 radars x 0.5 + lidar 30 +
	 * 12 ultrasonics x 0.01 + 2 Thor x 1 = 99.6 GB a driving hour, 25 % of it
	 * logged, at 24 km/h (DOMAIN): 1.04 GB a km, all uploaded at the depots */
	fw->gb_per_km = 1.04;
	fw->cadence_days = 91;  /* [est] a quarterly release train */
	fw->train_days = 30;    /* [est] training on DGX Cloud, validation in simulation (Cosmos) and on track */
	fw->ota_days = 28;      /* [est] staged over-the-air rollout over four weeks */
	/* 1 mile = 1.609 km x 1.04 GB = 1.67 GB */
	fw->releases[fw->release_count++] = (struct fs_prod_release){ 110, 16.7 };  /* ~10 million miles */
	fw->releases[fw->release_count++] = (struct fs_prod_release){ 120, 167.0 }; /* ~100 million miles */
}

const char *fs_production_curve_name(int curve)
{
	switch (curve) {
	case FS_PROD_CURVE_SMOOTHSTEP:
		return "smoothstep";
	case FS_PROD_CURVE_LOGISTIC:
		return "logistic";
	case FS_PROD_CURVE_LINEAR:
		return "linear";
	default:
		return NULL;
	}
}

bool fs_production_params_equal(const struct fs_production_params *a, const struct fs_production_params *b,
				const char **ret_field)
{
	/* Field by field, names as strings: memcmp would compare padding and the
	 * bytes after a name's terminator. */
#define F(f) FS_EQUAL_DIFF(a->f != b->f, #f)
#define S(f) FS_EQUAL_DIFF(strncmp(a->f, b->f, FS_PROD_NAME_MAX), #f)
	F(programme_count); F(city_count); F(disruption_count); F(integrator_count); F(start_day); F(target_fleet);
	F(target_rate_per_year); F(target_mid_day);
	F(flywheel.km_per_vehicle_day); F(flywheel.gb_per_km); F(flywheel.cadence_days); F(flywheel.train_days);
	F(flywheel.ota_days); F(flywheel.release_count);
	for (uint32_t i = 0; i < a->flywheel.release_count && i < FS_PROD_RELEASES_MAX; i++) {
		F(flywheel.releases[i].version); F(flywheel.releases[i].data_pb);
	}
	for (uint32_t i = 0; i < a->integrator_count && i < FS_PROD_INTEGRATORS_MAX; i++) {
		S(integrators[i].name); F(integrators[i].line_count);
		for (uint32_t k = 0; k < a->integrators[i].line_count && k < FS_PROD_LINES_MAX; k++) {
			F(integrators[i].lines[k].start_day); F(integrators[i].lines[k].per_day);
		}
	}
	for (uint32_t i = 0; i < a->programme_count && i < FS_PROD_PROGRAMMES_MAX; i++) {
		S(programmes[i].name); S(programmes[i].oem); S(programmes[i].model); F(programmes[i].region_count);
		for (uint32_t r = 0; r < a->programmes[i].region_count && r < FS_PROD_REGIONS_MAX; r++) {
			S(programmes[i].regions[r]);
		}
		F(programmes[i].plant_count);
		for (uint32_t k = 0; k < a->programmes[i].plant_count && k < FS_PROD_PLANTS_MAX; k++) {
			S(programmes[i].plants[k].name); F(programmes[i].plants[k].sop_day);
			F(programmes[i].plants[k].ramp_months); F(programmes[i].plants[k].rate_per_month);
			F(programmes[i].plants[k].curve);
		}
		F(programmes[i].target); F(programmes[i].fills_fleet); S(programmes[i].integrator);
		F(programmes[i].battery_kwh); F(programmes[i].kwh_per_km); F(programmes[i].max_charge_kw);
		F(programmes[i].seats); F(programmes[i].sw_version);
		F(programmes[i].build_days); F(programmes[i].integration_per_day); F(programmes[i].integration_days);
		F(programmes[i].calibration_per_day); F(programmes[i].calibration_days);
		F(programmes[i].calibration_fail_share); F(programmes[i].rework_per_day); F(programmes[i].rework_days);
		F(programmes[i].shipping_per_day); F(programmes[i].service_life_days);
		F(programmes[i].attrition_per_year);
	}
	for (uint32_t i = 0; i < a->city_count && i < FS_PROD_CITIES_MAX; i++) {
		S(cities[i].name); S(cities[i].region); F(cities[i].launch_day); F(cities[i].data_collection_days);
		F(cities[i].supervised_days); F(cities[i].weight); F(cities[i].priority); F(cities[i].fleet_cap);
		F(cities[i].transit_days); F(cities[i].commissioning_per_day); F(cities[i].commissioning_days);
	}
	for (uint32_t i = 0; i < a->disruption_count && i < FS_PROD_DISRUPTIONS_MAX; i++) {
		F(disruptions[i].kind); S(disruptions[i].programme); S(disruptions[i].plant);
		F(disruptions[i].start_day); F(disruptions[i].end_day); F(disruptions[i].factor);
		F(disruptions[i].build_from_day); F(disruptions[i].build_to_day); F(disruptions[i].share);
		F(disruptions[i].action); F(disruptions[i].rework_days);
	}
#undef F
#undef S
	return true;
}
