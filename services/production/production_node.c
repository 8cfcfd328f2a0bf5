/* SPDX-License-Identifier: Apache-2.0 */
/* production_node - the production service's model side (see production_node.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/production.h"
#include "fs/rng.h"
#include "fs_log.h"
#include "fs_scenario_msg.h"
#include "fs_service.h"
#include "fs_production_msg.h"
#include "production_node.h"

#define MS_PER_DAY 86400000LL
#define NO_PROGRAMME UINT16_MAX

/* What the node told the vehicle nodes about one vehicle of the detailed city. */
struct vehicle_info {
	uint16_t programme; /* NO_PROGRAMME: the run's vehicle model (an initial vehicle before the plan had any) */
	uint32_t factory;   /* its programme's release from the factory */
	uint32_t sw;        /* the release it was last given (0: not told) */
};

struct production_node {
	struct production_node_config cfg;
	struct fs_production *model;
	int city;                   /* index of the detailed city */
	struct fs_prod_log log;
	bool warm;                  /* the days before the run are simulated */
	/* live ids in the detailed city, oldest first: [live_head, live_n) */
	uint32_t *live;
	size_t live_head, live_n, live_cap;
	struct vehicle_info *vehicles; /* by vehicle id (< next_id) */
	size_t vehicles_cap;
	uint64_t ota_updates;
	uint32_t next_id;
	uint64_t published_deliveries, published_retirements, days;
	uint64_t prev_entered[FS_PROD_PROGRAMMES_MAX][FS_PROD_STAGE_COUNT]; /* for per-day entries */
	/* production events from the conductor (scn.cmd/apply), waiting for their tick */
	struct fs_scenario scn;
	struct fs_scenario_event *pending;
	size_t pending_count, pending_cap;
	uint64_t events_applied, events_without_effect, events_refused;
	struct fs_production_msg msg; /* encoding prod.delivery */
};

static void live_push(struct production_node *n, uint32_t id)
{
	if (n->live_n == n->live_cap) {
		if (n->live_head > 0) {
			memmove(n->live, n->live + n->live_head, (n->live_n - n->live_head) * sizeof(*n->live));
			n->live_n -= n->live_head;
			n->live_head = 0;
		}
		fs_xgrow(n->live, n->live_cap, n->live_n + 1);
	}
	n->live[n->live_n++] = id;
}

static struct vehicle_info *vehicle_info(struct production_node *n, uint32_t id)
{
	if (id >= n->vehicles_cap) {
		size_t old = n->vehicles_cap;
		fs_xgrow(n->vehicles, n->vehicles_cap, (size_t)id + 1);
		for (size_t i = old; i < n->vehicles_cap; i++) {
			n->vehicles[i] = (struct vehicle_info){ .programme = NO_PROGRAMME };
		}
	}
	return &n->vehicles[id];
}

/* The id the plan's retirement of a vehicle of @programme retires: the oldest of that programme, else the oldest. */
static bool retire_one(struct production_node *n, uint16_t programme, uint32_t *ret_id)
{
	for (size_t i = n->live_head; i < n->live_n; i++) {
		uint32_t id = n->live[i];
		if (id < n->vehicles_cap && n->vehicles[id].programme == programme) {
			memmove(n->live + i, n->live + i + 1, (n->live_n - i - 1) * sizeof(*n->live));
			n->live_n--;
			*ret_id = id;
			return true;
		}
	}
	if (n->live_head == n->live_n) {
		return false;
	}
	*ret_id = n->live[n->live_head++];
	return true;
}

struct production_node *production_node_create(const struct production_node_config *cfg,
					       const struct fs_production_params *params)
{
	struct production_node *n = fs_xcalloc(1, sizeof(*n));
	n->cfg = *cfg;
	n->cfg.scenario = NULL; /* the copy in n->scn is ours */
	if (fs_scenario_msg_copy(&n->scn, cfg->scenario) < 0) {
		goto fail;
	}
	struct fs_error err = { { 0 } };
	n->model = fs_production_create(params, cfg->seed, &err);
	if (!n->model) {
		fs_error("production model: %s", err.message);
		goto fail;
	}
	/* the city simulated in detail: --city, else the scenario's (city.name) */
	const char *city = cfg->city ? cfg->city : n->scn.city;
	n->city = fs_production_find_city(n->model, city);
	if (n->city < 0 && cfg->city) {
		fs_error("--city: '%s' is not a city of the rollout plan", cfg->city);
		goto fail;
	}
	if (n->city < 0) {
		/* The plan has no launch there: no vehicle of the plan is delivered, retired or
		 * updated in the run's fleet; the plan itself still runs (prod.stage, results). */
		fs_info("%s is not a city of the rollout plan: production runs the plan and delivers nothing "
			"to the run's fleet", city);
	} else {
		n->log.city_filter = (uint16_t)n->city;
	}
	n->next_id = cfg->first_vehicle_id;
	for (uint32_t id = 0; id < cfg->first_vehicle_id; id++) {
		live_push(n, id); /* the run's initial fleet: the oldest vehicles */
	}
	return n;
fail:
	production_node_destroy(n);
	return NULL;
}

void production_node_destroy(struct production_node *n)
{
	if (!n) {
		return;
	}
	fs_production_destroy(n->model);
	fs_prod_log_finish(&n->log);
	fs_scenario_finish(&n->scn);
	free(n->pending);
	free(n->live);
	free(n->vehicles);
	fs_production_msg_finish(&n->msg);
	free(n);
}

static int publish_stage_counts(struct production_node *n, struct fs_participant *p)
{
	struct fs_production_stats *s = fs_xcalloc(1, sizeof(*s));
	fs_production_get_stats(n->model, s);
	const struct fs_production_params *params = fs_production_params(n->model);
	size_t max = (size_t)s->programme_count * FS_PROD_STAGE_COUNT;
	Fleetsim__V1__StageCount *counts = fs_xcalloc(max ? max : 1, sizeof(*counts));
	Fleetsim__V1__StageCount **countp = fs_xcalloc(max ? max : 1, sizeof(*countp));
	Fleetsim__V1__CityFleet *cities = fs_xcalloc(s->city_count ? s->city_count : 1, sizeof(*cities));
	Fleetsim__V1__CityFleet **cityp = fs_xcalloc(s->city_count ? s->city_count : 1, sizeof(*cityp));
	size_t k = 0;
	for (uint32_t g = 0; g < s->programme_count; g++) {
		const struct fs_prod_programme_stats *ps = &s->programmes[g];
		for (int st = FS_PROD_STAGE_BUILD; st < FS_PROD_STAGE_COUNT; st++) {
			Fleetsim__V1__StageCount *c = &counts[k];
			fleetsim__v1__stage_count__init(c);
			c->programme = (char *)params->programmes[g].name;
			c->oem = (char *)params->programmes[g].oem;
			c->stage = (Fleetsim__V1__ProductionStage)st;
			c->in_stage = ps->in_stage[st];
			c->queued = ps->queued[st];
			c->entered = (uint32_t)(ps->entered[st] - n->prev_entered[g][st]);
			n->prev_entered[g][st] = ps->entered[st];
			countp[k] = c;
			k++;
		}
	}
	for (uint32_t c = 0; c < s->city_count; c++) {
		const struct fs_prod_city_stats *cs = &s->cities[c];
		Fleetsim__V1__CityFleet *f = &cities[c];
		fleetsim__v1__city_fleet__init(f);
		f->city = (char *)params->cities[c].name;
		f->phase = cs->phase < 0 ? 3 : (uint32_t)cs->phase;
		f->fleet = cs->fleet;
		f->in_service = cs->in_service;
		f->commissioning = cs->commissioning;
		f->grounded = cs->grounded;
		f->inbound = cs->inbound;
		f->delivered = cs->delivered;
		f->retired = cs->retired;
		cityp[c] = f;
	}
	Fleetsim__V1__ProductionEventBatch b = FLEETSIM__V1__PRODUCTION_EVENT_BATCH__INIT;
	b.n_counts = k;
	b.counts = countp;
	b.n_cities = s->city_count;
	b.cities = cityp;
	b.day = s->day;
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_PRODUCTION;
	env.production = &b;
	int rc = fs_participant_publish(p, NULL, &env);
	free(counts);
	free(countp);
	free(cities);
	free(cityp);
	free(s);
	return rc;
}

static int publish_batch(struct production_node *n, struct fs_participant *p, const struct fs_delivery_batch *b)
{
	if (fs_production_msg_encode_deliveries(&n->msg, b) < 0) {
		return -ENOMEM;
	}
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_DELIVERIES;
	env.deliveries = &n->msg.batch;
	return fs_participant_publish(p, NULL, &env);
}

/* @d: vehicle @id of programme @g as it arrives in (or, at the start, stands in) the detailed city on @day. */
static void fill_delivery(struct production_node *n, struct fs_delivery *d, uint32_t id, uint16_t g, int32_t day)
{
	const struct fs_production_params *params = fs_production_params(n->model);
	const struct fs_prod_programme *pg = &params->programmes[g];
	const struct fs_prod_city *city = &params->cities[n->city];
	int phase = fs_production_city_phase(city, day);
	struct vehicle_info *vi = vehicle_info(n, id);
	*vi = (struct vehicle_info){ .programme = g, .factory = pg->sw_version };
	vi->sw = fs_production_vehicle_release(n->model, id, pg->sw_version, day); /* the flywheel's, if out */
	*d = (struct fs_delivery){
		.vehicle_id = id, .programme = pg->name, .oem = pg->oem, .model = pg->model, .city = city->name,
		.depot = n->cfg.depots ? id % n->cfg.depots : 0, .sw_version = vi->sw,
		.city_phase = phase < 0 ? 0 : (uint32_t)phase, .battery_kwh = pg->battery_kwh,
		.kwh_per_km = pg->kwh_per_km, .max_charge_kw = pg->max_charge_kw, .seats = pg->seats,
	};
}

/*
 * Tick 0: the run's initial vehicles (ids 0..first_vehicle_id-1) stand for
 * the plan's fleet in the detailed city; give each the programme (vehicle,
 * software) of its share of that fleet: largest remainders over the
 * programmes' fleets there, ids in programme order.
 */
static int publish_initial_fleet(struct production_node *n, struct fs_participant *p,
				 const struct fs_production_stats *s)
{
	const struct fs_prod_city_stats *cs = &s->cities[n->city];
	uint32_t total = n->cfg.first_vehicle_id;
	if (!total || !cs->fleet) {
		return 0; /* no plan fleet there yet: the run's vehicle model stands */
	}
	uint32_t share[FS_PROD_PROGRAMMES_MAX] = { 0 }, given = 0;
	double rest[FS_PROD_PROGRAMMES_MAX] = { 0 };
	for (uint32_t g = 0; g < s->programme_count; g++) {
		double exact = (double)total * cs->fleet_by_programme[g] / cs->fleet;
		share[g] = (uint32_t)exact;
		rest[g] = exact - share[g];
		given += share[g];
	}
	while (given < total) {
		uint32_t best = 0;
		for (uint32_t g = 1; g < s->programme_count; g++) {
			best = rest[g] > rest[best] ? g : best;
		}
		share[best]++;
		rest[best] = -1;
		given++;
	}
	struct fs_delivery *d = fs_xcalloc(total, sizeof(*d));
	uint32_t id = 0;
	for (uint16_t g = 0; g < s->programme_count; g++) {
		for (uint32_t j = 0; j < share[g]; j++, id++) {
			fill_delivery(n, &d[id], id, g, s->day);
		}
	}
	struct fs_delivery_batch b = { .in_service = d, .in_service_count = total };
	int rc = publish_batch(n, p, &b);
	free(d);
	return rc;
}

/* Deliveries and retirements of the detailed city, logged by the last advance. */
static int publish_deliveries(struct production_node *n, struct fs_participant *p)
{
	size_t count = 0, retired = 0;
	for (size_t i = 0; i < n->log.delivery_count; i++) {
		count += n->log.deliveries[i].count;
	}
	for (size_t i = 0; i < n->log.retirement_count; i++) {
		retired += n->log.retirements[i].count;
	}
	/* over the air: the vehicles already there that a release reached today */
	struct fs_ota_update *ota = NULL;
	size_t nota = 0, ota_cap = 0;
	int32_t today = fs_production_day(n->model);
	for (size_t i = n->live_head; i < n->live_n; i++) {
		struct vehicle_info *vi = vehicle_info(n, n->live[i]);
		uint32_t sw = fs_production_vehicle_release(n->model, n->live[i], vi->factory, today);
		if (sw <= vi->sw) {
			continue;
		}
		vi->sw = sw;
		fs_xgrow(ota, ota_cap, nota + 1);
		ota[nota++] = (struct fs_ota_update){ n->live[i], sw };
	}
	if (!count && !retired && !nota) {
		return 0;
	}
	struct fs_delivery *d = fs_xcalloc(count ? count : 1, sizeof(*d));
	uint32_t *gone = fs_xcalloc(retired ? retired : 1, sizeof(*gone));
	size_t k = 0;
	for (size_t i = 0; i < n->log.delivery_count; i++) {
		const struct fs_prod_delivery *e = &n->log.deliveries[i];
		for (uint32_t j = 0; j < e->count; j++, k++) {
			fill_delivery(n, &d[k], n->next_id++, e->programme, e->day);
			d[k].build_day = e->build_day;
			live_push(n, d[k].vehicle_id);
		}
	}
	size_t r = 0;
	for (size_t i = 0; i < n->log.retirement_count; i++) {
		const struct fs_prod_retirement *e = &n->log.retirements[i];
		for (uint32_t j = 0; j < e->count && retire_one(n, e->programme, &gone[r]); j++) {
			r++;
		}
	}
	struct fs_delivery_batch b = { .deliveries = d, .delivery_count = count, .retired = gone, .retired_count = r,
				       .updates = ota, .update_count = nota };
	int rc = publish_batch(n, p, &b);
	n->ota_updates += nota;
	n->published_deliveries += count;
	n->published_retirements += r;
	free(ota);
	free(d);
	free(gone);
	return rc;
}

static bool is_production_event(int type)
{
	return type == FS_SCN_EVENT_SUPPLIER_SHORTAGE || type == FS_SCN_EVENT_RECALL ||
	       type == FS_SCN_EVENT_CALIBRATION_SPIKE;
}

/* The production events wait for their tick; vehicle nodes and dispatch apply the others. */
static void keep_event(void *ctx, const struct fs_scenario_event *e)
{
	struct production_node *n = ctx;
	if (!is_production_event(e->type)) {
		return;
	}
	fs_xgrow(n->pending, n->pending_cap, n->pending_count + 1);
	n->pending[n->pending_count++] = *e;
}

/* Scheduled events from the conductor. */
static void on_message(void *ctx, struct fs_participant *p, const struct fs_bus_message *msg)
{
	struct production_node *n = ctx;
	if (msg->env->payload_case != FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND ||
	    strcmp(msg->topic, FS_SCENARIO_APPLY_TOPIC)) {
		return; /* scn.cmd itself is for the conductor to validate */
	}
	n->events_refused += fs_scenario_msg_receive(fs_participant_bus(p), &n->scn, msg, keep_event, n);
}

/*
 * Turn the events due at @tick into disruptions of the model. An event's
 * window is measured from @now_ms, the simulated time of its tick; the days
 * the model has already simulated (at earlier ticks of the same day) are not
 * simulated again, so the disruption starts on the next day it will simulate.
 */
static void apply_events(struct production_node *n, uint64_t tick, int64_t now_ms)
{
	size_t keep = 0;
	for (size_t i = 0; i < n->pending_count; i++) {
		struct fs_scenario_event e = n->pending[i];
		if (e.apply_tick > tick) {
			n->pending[keep++] = e;
			continue;
		}
		struct fs_prod_disruption d;
		struct fs_error err = { "" };
		/* the tick's own start: fs_production_disruption_from_event() measures from sc->start_ms */
		int64_t run_start_ms = n->scn.start_ms;
		n->scn.start_ms = now_ms;
		e.apply_tick = 0;
		int rc = fs_production_disruption_from_event(&n->scn, &e, &d, &err);
		n->scn.start_ms = run_start_ms;
		int32_t next_day = fs_production_day(n->model) + 1;
		if (rc == 0 && d.start_day < next_day) {
			d.start_day = next_day;
		}
		if (rc == 0 && d.kind != FS_PROD_RECALL && d.end_day <= d.start_day) {
			fs_warn("tick %" PRIu64 ": %s event ends before the next simulated day; it changes nothing", tick,
				fs_scenario_event_type_name(e.type));
			n->events_without_effect++;
			continue;
		}
		if (rc == 0) {
			rc = fs_production_add_disruption(n->model, &d, &err);
		}
		if (rc < 0) {
			fs_error("tick %" PRIu64 ": %s event not applied: %s", tick, fs_scenario_event_type_name(e.type),
				 err.message);
			n->events_refused++;
			continue;
		}
		n->events_applied++;
	}
	n->pending_count = keep;
}

static int on_tick(void *ctx, struct fs_participant *p, uint64_t tick, int64_t now_ms)
{
	struct production_node *n = ctx;
	apply_events(n, tick, now_ms);
	if (!n->warm) {
		/* The past: every day whose midnight is before the run's first instant. */
		int32_t last_past = fs_production_day_from_ms(now_ms - 1);
		if (fs_production_advance(n->model, last_past, NULL) < 0) {
			fs_error("out of memory in the production model");
			return -ENOMEM;
		}
		n->warm = true;
		struct fs_production_stats *s = fs_xcalloc(1, sizeof(*s));
		fs_production_get_stats(n->model, s);
		for (uint32_t g = 0; g < s->programme_count; g++) {
			memcpy(n->prev_entered[g], s->programmes[g].entered, sizeof(n->prev_entered[g]));
		}
		if (n->city >= 0 && s->cities[n->city].fleet != n->cfg.first_vehicle_id) {
			fs_info("%s: the run's %u vehicles stand for the plan's %u there on this day",
				fs_production_params(n->model)->cities[n->city].name, n->cfg.first_vehicle_id,
				s->cities[n->city].fleet);
		}
		int rc = n->city >= 0 ? publish_initial_fleet(n, p, s) : 0;
		free(s);
		if (rc < 0) {
			return -EIO;
		}
	}
	int32_t today = fs_production_day_from_ms(now_ms);
	if (today <= fs_production_day(n->model)) {
		return 0;
	}
	fs_prod_log_clear(&n->log);
	int64_t days = fs_production_advance(n->model, today, n->city >= 0 ? &n->log : NULL);
	if (days < 0) {
		fs_error("out of memory in the production model");
		return -ENOMEM;
	}
	n->days += (uint64_t)days;
	if ((n->city >= 0 && publish_deliveries(n, p) < 0) || publish_stage_counts(n, p) < 0) {
		return -EIO;
	}
	return 0;
}

static uint64_t state_hash(void *ctx)
{
	const struct production_node *n = ctx;
	return fs_production_hash(n->model) ^ fs_mix64(n->next_id);
}

static void add_key(struct fs_participant *p, const char *prefix, const char *name, double value)
{
	char key[192];
	snprintf(key, sizeof(key), "%s%s", prefix, name);
	fs_participant_add_result(p, key, value);
}

static int on_end(void *ctx, struct fs_participant *p)
{
	struct production_node *n = ctx;
	const struct fs_production_params *params = fs_production_params(n->model);
	struct fs_production_stats *s = fs_xcalloc(1, sizeof(*s));
	fs_production_get_stats(n->model, s);
	const struct fs_service_result results[] = {
		{ "day", s->day },
		{ "days_simulated_in_run", (double)n->days },
		{ "fleet", s->fleet },
		{ "built", (double)s->built },
		{ "delivered", (double)s->delivered },
		{ "retired", (double)s->retired },
		{ "scrapped", (double)s->scrapped },
		/* The detailed city as it drives: the run's own fleet (its --vehicles stand for the plan's
		 * vehicles there at the start) plus what was delivered, minus what retired. The plan's
		 * figures for that city are reported beside it, under their own names. */
		{ "detailed_city_fleet", (double)(n->live_n - n->live_head) },
		{ "deliveries_published", (double)n->published_deliveries },
		{ "ota_updates_published", (double)n->ota_updates },
		{ "flywheel_data_pb", s->flywheel.data_pb },
		{ "sw_latest", s->flywheel.latest },
		{ "retirements_published", (double)n->published_retirements },
		{ "scenario_events_applied", (double)n->events_applied },
		{ "scenario_events_without_effect", (double)n->events_without_effect },
		{ "scenario_events_refused", (double)n->events_refused },
		{ "disruptions", fs_production_params(n->model)->disruption_count },
	};
	FS_SERVICE_RESULTS(p, results);
	if (n->city >= 0) {
		const struct fs_service_result plan[] = {
			{ "detailed_city_plan_fleet", s->cities[n->city].fleet },
			{ "detailed_city_plan_in_service", s->cities[n->city].in_service },
			{ "detailed_city_phase", s->cities[n->city].phase },
		};
		FS_SERVICE_RESULTS(p, plan);
	}
	for (uint32_t c = 0; c < s->city_count; c++) {
		add_key(p, "fleet_city_", params->cities[c].name, s->cities[c].fleet);
	}
	for (uint32_t g = 0; g < s->programme_count; g++) {
		add_key(p, "fleet_programme_", params->programmes[g].name, s->programmes[g].fleet);
	}
	for (uint32_t k = 0; k < s->integrator_count; k++) {
		char key[FS_PROD_NAME_MAX + 16];
		snprintf(key, sizeof(key), "integrator_%s_", params->integrators[k].name);
		add_key(p, key, "capacity_per_day", s->integrators[k].capacity_per_day);
		add_key(p, key, "queued", s->integrators[k].queued);
		add_key(p, key, "started", (double)s->integrators[k].started);
	}
	for (int st = FS_PROD_STAGE_BUILD; st < FS_PROD_STAGE_COUNT; st++) {
		if (st == FS_PROD_STAGE_RETIRED) {
			continue;
		}
		add_key(p, "vehicles_", fs_production_stage_name(st), (double)fs_production_stats_in_stage(s, st));
	}
	free(s);
	return 0;
}

const struct fs_participant_ops production_node_ops = {
	.on_message = on_message,
	.on_tick = on_tick,
	.state_hash = state_hash,
	.on_end = on_end,
};
