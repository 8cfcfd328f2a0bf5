/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_scenario_defaults - the default scenario, and the plumbing of struct
 * fs_scenario (finish, copy, compare, look-ups, the word lists of events).
 *
 * The values here are the ones examples/default.yaml writes out with their
 * sources (tests/unit/test_fs_scenario.c loads that file and compares it with
 * these field by field, so the two cannot drift). "DOMAIN" = the domain brief
 * summarised in docs/scenario.md; "[est]" = our estimate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/equal.h"
#include "fs/scenario.h"

bool fs_scenario_word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	if (!n) {
		return false; /* strstr() finds "" everywhere and the loop would not advance */
	}
	for (const char *p = list; (p = strstr(p, word)); p += n) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) {
			return true;
		}
	}
	return false;
}

const char *fs_scenario_phase_name(int phase)
{
	switch (phase) {
	case FS_CITY_DATA_COLLECTION:
		return "data-collection";
	case FS_CITY_SUPERVISED:
		return "supervised";
	case FS_CITY_DRIVERLESS:
		return "driverless";
	default:
		return NULL;
	}
}

static int64_t month(const char *text)
{
	int64_t ms = 0;
	fs_calendar_parse(text, &ms);
	return ms;
}

/* Atlanta zones for events and demand weights (lat, lon rings) [est]: drawn
 * around the named districts inside the shipped network's extent
 * (data/geofence/README.md). */
static const double zone_downtown[] = {
	33.7480, -84.3990, 33.7620, -84.3990, 33.7620, -84.3800, 33.7480, -84.3800,
};
static const double zone_stadium[] = { /* Mercedes-Benz Stadium, State Farm Arena, GWCC */
	33.7515, -84.4060, 33.7610, -84.4060, 33.7610, -84.3945, 33.7515, -84.3945,
};
static const double zone_eastside[] = { /* Old Fourth Ward, Inman Park */
	33.7420, -84.3720, 33.7740, -84.3720, 33.7740, -84.3460, 33.7420, -84.3460,
};
static const double zone_westside[] = { /* West End, Vine City, English Avenue */
	33.7420, -84.4420, 33.7740, -84.4420, 33.7740, -84.4070, 33.7420, -84.4070,
};

static int add_zone(struct fs_scenario *sc, const char *name, const double *latlon, size_t doubles)
{
	struct fs_scenario_zone *z = &sc->zones[sc->zone_count];
	z->latlon = fs_malloc(doubles * sizeof(double));
	if (!z->latlon) {
		return -ENOMEM;
	}
	memcpy(z->latlon, latlon, doubles * sizeof(double));
	z->count = doubles / 2;
	snprintf(z->name, sizeof(z->name), "%s", name);
	sc->zone_count++;
	return 0;
}

int fs_scenario_defaults_with_tz(struct fs_scenario *sc, const struct fs_timezone *tz)
{
	memset(sc, 0, sizeof(*sc));
	snprintf(sc->base_dir, sizeof(sc->base_dir), ".");
	/* run: the launcher's defaults (docs/architecture.md) */
	sc->seed = 1;
	sc->start_ms = month("2028-06-01T12:00:00Z"); /* DOMAIN: rollout from 2027; 08:00 EDT on a weekday in Atlanta */
	sc->duration_ms = 3600000;                     /* one simulated hour */
	sc->tick_ms = 1000;                            /* issue: default tick 1 s simulated */
	/* city: Atlanta, DOMAIN's live robotaxi-on-Uber city, the shipped network */
	snprintf(sc->city, sizeof(sc->city), "atlanta");
	snprintf(sc->map, sizeof(sc->map), "atlanta");
	snprintf(sc->geofence, sizeof(sc->geofence), "atlanta");
	/* Atlanta keeps New York's clock: EST, EDT from the 2nd Sunday of March to the 1st of November */
	snprintf(sc->timezone, sizeof(sc->timezone), FS_SCENARIO_DEFAULT_TIMEZONE);
	if (fs_timezone_copy(&sc->tz, tz) < 0) {
		goto fail;
	}
	sc->zones = fs_calloc(4, sizeof(*sc->zones));
	sc->depots = fs_calloc(4, sizeof(*sc->depots));
	if (!sc->zones || !sc->depots) {
		goto fail;
	}
	if (add_zone(sc, "downtown", zone_downtown, 8) < 0 || add_zone(sc, "stadium", zone_stadium, 8) < 0 ||
	    add_zone(sc, "eastside", zone_eastside, 8) < 0 || add_zone(sc, "westside", zone_westside, 8) < 0) {
		goto fail;
	}
	for (int i = 0; i < 4; i++) {
		struct fs_scenario_depot *d = &sc->depots[i];
		snprintf(d->name, sizeof(d->name), "depot-%d", i);
		d->plugs = 2;       /* [est] one DC plug per ~4 vehicles of the 32-car fleet */
		d->plug_kw = 150.0; /* DOMAIN: 150-250 kW per plug (low end) */
	}
	sc->depot_count = 4;        /* [est] the vehicle node's default, spread over the area */
	/* fleet */
	/* [est] Waymo ran ~1,500 cars in five cities (May 2025, DOMAIN): ~300 for Atlanta's 65 sq mi
	 * service area (press, June 2025), scaled to the 7.0 sq mi of the shipped map */
	sc->fleet_size = 32;
	sc->shards = 1;
	sc->phase = FS_CITY_DRIVERLESS;
	sc->sw_share[0] = 1.0;      /* everyone starts on the first release */
	/* demand */
	/* Chicago's ride-hail trips per km2 (City of Chicago TNP + taxi trips 2023) over the
	 * Atlanta service area's 18.32 km2, times the 0.385 of them that end in it
	 * (fs-demand-derive reach): docs/demand.md "Trips of the city" */
	sc->city_trips_per_day = 2441.0;
	sc->market_share = 0.27;    /* Waymo's share in its San Francisco area, Apr 2025 (YipitData) */
	sc->trips_per_day = sc->city_trips_per_day * sc->market_share;
	snprintf(sc->demand_profile, sizeof(sc->demand_profile), "nyc2019"); /* DOMAIN: NYC 2019 hour profile */
	sc->patience_s = 600.0;     /* DOMAIN: cancel after ~10 min */
	/* dispatch */
	sc->matcher = FS_SCN_MATCHER_BATCH;
	sc->batch_s = 10.0;         /* [est] batched matching windows of seconds */
	/* traffic: hour factors from the demand profile's trip speeds (docs/traffic.md) */
	snprintf(sc->speed_profile, sizeof(sc->speed_profile), "demand");
	fs_traffic_params_defaults(&sc->traffic);
	sc->rebalance_s = 120.0;    /* [est] as fs_dispatch_params_defaults() */
	sc->charging = true;
	/* riders: one source of truth, sim/demand/fs_rider.c */
	fs_rider_params_defaults(&sc->riders);
	/* vehicle model: one source of truth, sim/vehicle/fs_vehicle_params.c */
	fs_vehicle_params_defaults(&sc->vehicle);
	/* production and rollout: one source of truth, sim/production/fs_production_params.c */
	fs_production_params_defaults(&sc->production);
	return 0;
fail:
	fs_scenario_finish(sc);
	return -ENOMEM;
}

void fs_scenario_finish(struct fs_scenario *sc)
{
	if (!sc) {
		return;
	}
	for (size_t i = 0; sc->zones && i < sc->zone_count; i++) {
		fs_free(sc->zones[i].latlon);
	}
	fs_free(sc->zones);
	fs_free(sc->depots);
	fs_free(sc->zone_weights);
	fs_free(sc->events);
	fs_timezone_finish(&sc->tz);
	memset(sc, 0, sizeof(*sc));
}

static void *dup_array(const void *src, size_t count, size_t size, bool *failed)
{
	if (!count) {
		return NULL;
	}
	void *p = fs_malloc(count * size);
	if (!p) {
		*failed = true;
		return NULL;
	}
	memcpy(p, src, count * size);
	return p;
}

int fs_scenario_copy(struct fs_scenario *dst, const struct fs_scenario *src)
{
	bool failed = false;
	*dst = *src;
	dst->zones = dup_array(src->zones, src->zone_count, sizeof(*src->zones), &failed);
	for (size_t i = 0; dst->zones && i < src->zone_count; i++) {
		dst->zones[i].latlon = NULL;
	}
	for (size_t i = 0; dst->zones && i < src->zone_count; i++) {
		dst->zones[i].latlon = dup_array(src->zones[i].latlon, 2 * src->zones[i].count, sizeof(double), &failed);
	}
	if (!dst->zones) {
		dst->zone_count = 0;
	}
	dst->depots = dup_array(src->depots, src->depot_count, sizeof(*src->depots), &failed);
	dst->zone_weights = dup_array(src->zone_weights, src->zone_weight_count, sizeof(*src->zone_weights), &failed);
	dst->events = dup_array(src->events, src->event_count, sizeof(*src->events), &failed);
	dst->tz = (struct fs_timezone){ 0 };
	failed |= fs_timezone_copy(&dst->tz, &src->tz) < 0;
	if (failed) {
		fs_scenario_finish(dst);
		return -ENOMEM;
	}
	return 0;
}

bool fs_scenario_event_equal(const struct fs_scenario_event *a, const struct fs_scenario_event *b)
{
	return a->type == b->type && a->apply_tick == b->apply_tick && a->duration_ticks == b->duration_ticks &&
	       !strcmp(a->zone, b->zone) && a->severity == b->severity && a->geofence_mode == b->geofence_mode &&
	       a->speed_factor == b->speed_factor && a->multiplier == b->multiplier && !strcmp(a->way, b->way) &&
	       a->edge_count == b->edge_count && !memcmp(a->edges, b->edges, a->edge_count * sizeof(a->edges[0])) &&
	       a->vehicle_count == b->vehicle_count &&
	       !memcmp(a->vehicles, b->vehicles, a->vehicle_count * sizeof(a->vehicles[0])) && a->share == b->share &&
	       a->device == b->device && a->device_index == b->device_index && a->health == b->health &&
	       a->version == b->version && a->depot == b->depot && a->plugs == b->plugs &&
	       !strcmp(a->programme, b->programme) && !strcmp(a->plant, b->plant) && a->factor == b->factor &&
	       a->built_from_ms == b->built_from_ms && a->built_to_ms == b->built_to_ms &&
	       a->recall_action == b->recall_action;
}

static bool params_equal(const struct fs_vehicle_params *a, const struct fs_vehicle_params *b, const char **ret_field)
{
	/* Field by field (not memcmp: padding). */
#define F(f) FS_EQUAL_DIFF(a->f != b->f, "vehicle." #f)
	F(battery_kwh); F(kwh_per_km); F(av_stack_kw); F(max_charge_kw); F(charge_efficiency);
	F(taper_start_soc); F(taper_end_fraction); F(charge_target_soc); F(charge_request_soc);
	F(job_reserve_soc); F(plan_speed_kmh); F(commissioning_h); F(commissioning_fail_prob); F(rework_h);
	F(repair_h); F(inspection_h); F(max_wait_s); F(ra_response_s); F(ra_session_s); F(ra_retry_s); F(tow_h);
	F(cap_one_thor_mps); F(cap_no_lidar_mps); F(cap_front_camera_mps); F(max_rain); F(log_share);
	F(upload_gbps); F(sw_count);
	for (int k = 0; k < FS_DEVICE_KIND_COUNT; k++) {
		F(degrade_per_h[k]); F(fail_per_h[k]); F(log_gb_per_h[k]);
	}
	for (uint32_t i = 0; i < a->sw_count && i < FS_SW_VERSIONS_MAX; i++) {
		F(sw[i].version); F(sw[i].miles_per_disengagement); F(sw[i].ra_per_1000km); F(sw[i].odd_flags);
	}
#undef F
	return true;
}

bool fs_scenario_equal(const struct fs_scenario *a, const struct fs_scenario *b, const char **ret_field)
{
#define F(f) FS_EQUAL_DIFF(a->f != b->f, #f)
#define S(f) FS_EQUAL_DIFF(strcmp(a->f, b->f), #f)
	F(seed); F(start_ms); F(duration_ms); F(tick_ms); S(city); S(map); S(geofence); S(geofence_zone);
	S(timezone); F(utc_offset_s); FS_EQUAL_DIFF(!fs_timezone_equal(&a->tz, &b->tz), "tz"); F(zone_count); F(depot_count); F(fleet_size); F(shards); F(phase);
	F(city_trips_per_day); F(market_share); F(trips_per_day); S(demand_profile); S(demand_replay); F(zone_weight_count); F(patience_s); F(matcher);
	F(batch_s); F(rebalance_s); F(charging); F(event_count); S(speed_profile);
	F(traffic.congestion_level); F(traffic.profile_congestion_level); F(traffic.signal_cycle_s); F(traffic.signal_green_major); F(traffic.signal_green_minor);
	F(traffic.stop_delay_s); F(traffic.give_way_delay_s); F(traffic.equal_delay_s);
	F(traffic.bpr_alpha); F(traffic.bpr_beta); F(traffic.cell_m); F(traffic.update_s); F(traffic.min_speed_kmh);
	for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
		F(traffic.capacity_vphpl[c]);
	}
	F(riders.patience_median_s); F(riders.patience_shape); F(riders.board_median_s); F(riders.board_p95_s);
	F(riders.alight_median_s); F(riders.alight_p95_s); F(riders.no_show_share);
	for (int i = 0; i < FS_SW_VERSIONS_MAX; i++) {
		F(sw_share[i]);
	}
	for (size_t i = 0; i < a->zone_count; i++) {
		S(zones[i].name); F(zones[i].count);
		FS_EQUAL_DIFF(memcmp(a->zones[i].latlon, b->zones[i].latlon, 2 * a->zones[i].count * sizeof(double)),
		     "zones[].polygon");
	}
	for (size_t i = 0; i < a->depot_count; i++) {
		S(depots[i].name); F(depots[i].placed); F(depots[i].lat); F(depots[i].lon); F(depots[i].plugs);
		F(depots[i].plug_kw);
	}
	for (size_t i = 0; i < a->zone_weight_count; i++) {
		S(zone_weights[i].zone); F(zone_weights[i].weight);
	}
	if (!params_equal(&a->vehicle, &b->vehicle, ret_field)) {
		return false;
	}
	if (!fs_production_params_equal(&a->production, &b->production, ret_field)) {
		return false; /* field names relative to the production params */
	}
	for (size_t i = 0; i < a->event_count; i++) {
		FS_EQUAL_DIFF(!fs_scenario_event_equal(&a->events[i], &b->events[i]), "events[]");
	}
#undef F
#undef S
	return true;
}

const struct fs_scenario_zone *fs_scenario_zone_find(const struct fs_scenario *sc, const char *name)
{
	for (size_t i = 0; i < sc->zone_count; i++) {
		if (!strcmp(sc->zones[i].name, name)) {
			return &sc->zones[i];
		}
	}
	return NULL;
}

int fs_scenario_programme_find(const struct fs_scenario *sc, const char *name)
{
	for (uint32_t i = 0; i < sc->production.programme_count; i++) {
		if (!strcmp(sc->production.programmes[i].name, name)) {
			return (int)i;
		}
	}
	return -1;
}

int fs_scenario_sw_find(const struct fs_scenario *sc, uint32_t version)
{
	for (uint32_t i = 0; i < sc->vehicle.sw_count && i < FS_SW_VERSIONS_MAX; i++) {
		if (sc->vehicle.sw[i].version == version) {
			return (int)i;
		}
	}
	return -1;
}

uint64_t fs_scenario_ticks(const struct fs_scenario *sc)
{
	return sc->tick_ms ? (sc->duration_ms + sc->tick_ms - 1) / sc->tick_ms : 0;
}

int fs_scenario_path(const struct fs_scenario *sc, const char *spec, char *buf, size_t size)
{
	int n;
	if (spec[0] == '/' || !sc->base_dir[0] || !strcmp(sc->base_dir, ".")) {
		n = snprintf(buf, size, "%s", spec);
	} else {
		n = snprintf(buf, size, "%s/%s", sc->base_dir, spec);
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int fs_scenario_add_event(struct fs_scenario *sc, const struct fs_scenario_event *e)
{
	struct fs_scenario_event *n = fs_realloc(sc->events, (sc->event_count + 1) * sizeof(*n));
	if (!n) {
		return -ENOMEM;
	}
	sc->events = n;
	size_t at = sc->event_count;
	while (at > 0 && n[at - 1].apply_tick > e->apply_tick) {
		n[at] = n[at - 1];
		at--;
	}
	n[at] = *e;
	sc->event_count++;
	return 0;
}
