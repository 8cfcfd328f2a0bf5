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
#include "production_node.h"

#define MS_PER_DAY 86400000LL

struct production_node {
	struct production_node_config cfg;
	struct fs_production *model;
	int city;                   /* index of the detailed city */
	struct fs_prod_log log;
	bool warm;                  /* the days before the run are simulated */
	/* live ids in the detailed city, oldest first: [live_head, live_n) */
	uint32_t *live;
	size_t live_head, live_n, live_cap;
	uint32_t next_id;
	uint64_t published_deliveries, published_retirements, days;
	uint64_t prev_entered[FS_PROD_PROGRAMMES_MAX][FS_PROD_STAGE_COUNT]; /* for per-day entries */
};

static void live_push(struct production_node *n, uint32_t id)
{
	if (n->live_n == n->live_cap) {
		if (n->live_head > 0) {
			memmove(n->live, n->live + n->live_head, (n->live_n - n->live_head) * sizeof(*n->live));
			n->live_n -= n->live_head;
			n->live_head = 0;
		}
		if (n->live_n == n->live_cap) {
			n->live_cap = n->live_cap ? n->live_cap * 2 : 1024;
			n->live = realloc(n->live, n->live_cap * sizeof(*n->live));
			if (!n->live) {
				fs_error("out of memory");
				abort();
			}
		}
	}
	n->live[n->live_n++] = id;
}

struct production_node *production_node_create(const struct production_node_config *cfg,
					       const struct fs_production_params *params)
{
	struct production_node *n = fs_xcalloc(1, sizeof(*n));
	n->cfg = *cfg;
	struct fs_error err = { { 0 } };
	n->model = fs_production_create(params, cfg->seed, &err);
	if (!n->model) {
		fs_error("production model: %s", err.message);
		goto fail;
	}
	n->city = fs_production_find_city(n->model, cfg->city);
	if (n->city < 0) {
		fs_error("--city: '%s' is not a city of the rollout plan", cfg->city);
		goto fail;
	}
	n->log.city_filter = (uint16_t)n->city;
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
	free(n->live);
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

/* Deliveries and retirements of the detailed city, logged by the last advance. */
static int publish_deliveries(struct production_node *n, struct fs_participant *p)
{
	const struct fs_production_params *params = fs_production_params(n->model);
	const struct fs_prod_city *city = &params->cities[n->city];
	size_t count = 0, retired = 0;
	for (size_t i = 0; i < n->log.delivery_count; i++) {
		count += n->log.deliveries[i].count;
	}
	for (size_t i = 0; i < n->log.retirement_count; i++) {
		retired += n->log.retirements[i].count;
	}
	if (!count && !retired) {
		return 0;
	}
	Fleetsim__V1__Delivery *d = fs_xcalloc(count ? count : 1, sizeof(*d));
	Fleetsim__V1__Delivery **dp = fs_xcalloc(count ? count : 1, sizeof(*dp));
	uint32_t *gone = fs_xcalloc(retired ? retired : 1, sizeof(*gone));
	size_t k = 0;
	for (size_t i = 0; i < n->log.delivery_count; i++) {
		const struct fs_prod_delivery *e = &n->log.deliveries[i];
		const struct fs_prod_programme *g = &params->programmes[e->programme];
		int phase = fs_production_city_phase(city, e->day);
		for (uint32_t j = 0; j < e->count; j++, k++) {
			fleetsim__v1__delivery__init(&d[k]);
			d[k].vehicle_id = n->next_id++;
			d[k].programme = (char *)g->name;
			d[k].oem = (char *)g->oem;
			d[k].model = (char *)g->model;
			d[k].city = (char *)city->name;
			d[k].depot = n->cfg.depots ? d[k].vehicle_id % n->cfg.depots : 0;
			d[k].sw_version = g->sw_version;
			d[k].battery_kwh = (float)g->battery_kwh;
			d[k].city_phase = phase < 0 ? 0 : (uint32_t)phase;
			d[k].build_day = e->build_day;
			dp[k] = &d[k];
			live_push(n, d[k].vehicle_id);
		}
	}
	size_t r = 0;
	for (; r < retired && n->live_head < n->live_n; r++) {
		gone[r] = n->live[n->live_head++];
	}
	Fleetsim__V1__DeliveryBatch b = FLEETSIM__V1__DELIVERY_BATCH__INIT;
	b.n_deliveries = count;
	b.deliveries = dp;
	b.n_retired_vehicle_ids = r;
	b.retired_vehicle_ids = gone;
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_DELIVERIES;
	env.deliveries = &b;
	int rc = fs_participant_publish(p, NULL, &env);
	n->published_deliveries += count;
	n->published_retirements += r;
	free(d);
	free(dp);
	free(gone);
	return rc;
}

static int on_tick(void *ctx, struct fs_participant *p, uint64_t tick, int64_t now_ms)
{
	struct production_node *n = ctx;
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
		free(s);
	}
	int32_t today = fs_production_day_from_ms(now_ms);
	if (today <= fs_production_day(n->model)) {
		return 0;
	}
	fs_prod_log_clear(&n->log);
	int64_t days = fs_production_advance(n->model, today, &n->log);
	if (days < 0) {
		fs_error("out of memory in the production model");
		return -ENOMEM;
	}
	n->days += (uint64_t)days;
	if (publish_deliveries(n, p) < 0 || publish_stage_counts(n, p) < 0) {
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
	char key[96];
	snprintf(key, sizeof(key), "%s%s", prefix, name);
	fs_participant_add_result(p, key, value);
}

static int on_end(void *ctx, struct fs_participant *p)
{
	struct production_node *n = ctx;
	const struct fs_production_params *params = fs_production_params(n->model);
	struct fs_production_stats *s = fs_xcalloc(1, sizeof(*s));
	fs_production_get_stats(n->model, s);
	fs_participant_add_result(p, "day", s->day);
	fs_participant_add_result(p, "days_simulated_in_run", (double)n->days);
	fs_participant_add_result(p, "fleet", s->fleet);
	fs_participant_add_result(p, "built", (double)s->built);
	fs_participant_add_result(p, "delivered", (double)s->delivered);
	fs_participant_add_result(p, "retired", (double)s->retired);
	fs_participant_add_result(p, "scrapped", (double)s->scrapped);
	fs_participant_add_result(p, "detailed_city_fleet", s->cities[n->city].fleet);
	fs_participant_add_result(p, "detailed_city_in_service", s->cities[n->city].in_service);
	fs_participant_add_result(p, "detailed_city_phase", s->cities[n->city].phase);
	fs_participant_add_result(p, "deliveries_published", (double)n->published_deliveries);
	fs_participant_add_result(p, "retirements_published", (double)n->published_retirements);
	for (uint32_t c = 0; c < s->city_count; c++) {
		add_key(p, "fleet_city_", params->cities[c].name, s->cities[c].fleet);
	}
	for (uint32_t g = 0; g < s->programme_count; g++) {
		add_key(p, "fleet_programme_", params->programmes[g].name, s->programmes[g].fleet);
	}
	for (int st = FS_PROD_STAGE_BUILD; st < FS_PROD_STAGE_COUNT; st++) {
		if (st == FS_PROD_STAGE_RETIRED) {
			continue;
		}
		double total = 0;
		for (uint32_t g = 0; g < s->programme_count; g++) {
			total += s->programmes[g].in_stage[st];
		}
		add_key(p, "vehicles_", fs_production_stage_name(st), total);
	}
	free(s);
	return 0;
}

const struct fs_participant_ops production_node_ops = {
	.on_tick = on_tick,
	.state_hash = state_hash,
	.on_end = on_end,
};
