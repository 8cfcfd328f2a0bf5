/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_production - the production pipeline and rollout model (fs/production.h).
 *
 * Design. Vehicles move in lots: (programme, build day, city, ready day,
 * hold, count). Each stage of a programme is a FIFO queue of lots waiting for
 * capacity plus a list of lots in process that are done on their ready day.
 * One simulated day runs, in this fixed order:
 *   1. recalls that start today;
 *   2. for each programme in index order: build (the plants' S-curves
 *      integrated day by day, floor of the running sum, capped by the
 *      programme target, or for a fills_fleet programme by what the fleet
 *      still needs), then build and integration complete what is due, and a
 *      programme with its own integration line starts what it allows;
 *   3. each shared integrator starts what its lines allow from its
 *      programmes' queues, oldest arrival first (ties in programme order);
 *   4. for each programme in index order: calibration splits what it
 *      finishes into passes and binomially drawn failures (to rework, then
 *      back to calibration); shipping hands arrivals to the city depots and
 *      allocates what it dispatches to cities by smooth weighted round robin
 *      (nginx's: exact shares over time, no catch-up bursts) among the
 *      eligible cities of the highest priority;
 *   5. for each city: commissioning, then retirement (service life first,
 *      then attrition drawn binomially per programme).
 * Because days are the only step and every draw's stream is keyed by what
 * and when (never by call order), the state after day D is the same however
 * the caller splits [start, D] into calls.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/production.h"
#include "fs/rng.h"
#include "fs_production_internal.h"

/* Keys of the random streams (part of every result: keep stable). */
enum draw_kind {
	DRAW_CALIBRATION = 1,
	DRAW_ATTRITION = 2,
	DRAW_ATTRITION_PICK = 3,
	DRAW_RECALL = 4,
	DRAW_OTA_RANK = 5,
};

struct lot {
	int32_t build_day;
	int32_t ready_day;  /* queue: arrival day; in process: done day; fleet: delivery day */
	int32_t hold_until; /* grounded while day < hold_until (recall rework); 0 = none */
	uint32_t count;
	uint16_t programme;
	uint16_t city;      /* FS_PROD_NO_CITY before allocation */
};

/* A FIFO vector: live items are v[head, n). */
struct lots {
	struct lot *v;
	size_t head, n, cap;
};

/* Pipeline stages with a queue and a capacity, in processing order. */
enum pipe {
	PIPE_BUILD = 0, /* in process only */
	PIPE_INTEGRATION,
	PIPE_CALIBRATION,
	PIPE_REWORK,
	PIPE_SHIPPING,  /* queue: waiting for a carrier and a city; work: in transit */
	PIPE_COUNT,
};

static const int pipe_stage[PIPE_COUNT] = {
	FS_PROD_STAGE_BUILD, FS_PROD_STAGE_INTEGRATION, FS_PROD_STAGE_CALIBRATION,
	FS_PROD_STAGE_REWORK, FS_PROD_STAGE_SHIPPING,
};

struct prog_state {
	double plant_acc[FS_PROD_PLANTS_MAX]; /* running sum of the plant's daily rate */
	uint64_t plant_built[FS_PROD_PLANTS_MAX];
	struct lots queue[PIPE_COUNT];
	struct lots work[PIPE_COUNT];
	uint64_t entered[FS_PROD_STAGE_COUNT];
	uint64_t built, delivered, retired, scrapped, calibration_failures;
	uint16_t region_ok[FS_PROD_CITIES_MAX]; /* may serve city c */
	int integrator;                         /* index, or -1: its own integration line */
	int32_t lead_days;                      /* build to commissioned, without queues (fills_fleet) */
	uint64_t integration_started_today;     /* against its own cap at a shared integrator */
};

struct city_state {
	struct lots comm_queue, comm_work;
	struct lots fleet;                 /* commissioned, by delivery day */
	uint32_t fleet_by_programme[FS_PROD_PROGRAMMES_MAX]; /* incl. commissioning */
	uint32_t in_service_by_programme[FS_PROD_PROGRAMMES_MAX]; /* fleet lots, incl. grounded */
	uint32_t fleet_count;
	uint32_t inbound;
	uint64_t delivered, retired;
	int64_t wrr;                       /* smooth weighted round robin credit */
	size_t held_lots;                  /* fleet lots with a hold (ever): scan only if > 0 */
};

/* A disruption with its names resolved. */
struct disruption {
	struct fs_prod_disruption d;
	int programme; /* -1 = all */
	int plant;     /* -1 = all */
};

struct fs_production {
	struct fs_production_params params;
	uint64_t seed;
	int32_t day;                 /* last simulated day */
	uint64_t delivery_seq;
	int32_t min_service_life;    /* over programmes with a service life; 0 = none */
	struct prog_state prog[FS_PROD_PROGRAMMES_MAX];
	struct city_state city[FS_PROD_CITIES_MAX];
	struct disruption dis[FS_PROD_DISRUPTIONS_MAX];
	uint32_t dis_count;
	uint64_t integrator_started[FS_PROD_INTEGRATORS_MAX];
	uint32_t integrator_started_today[FS_PROD_INTEGRATORS_MAX];
	struct flywheel_state flywheel;
	struct lots tmp;             /* scratch */
	bool oom;
};

/* ---- lots --------------------------------------------------------------------- */

static int lots_reserve(struct lots *l, size_t extra)
{
	if (l->n + extra <= l->cap) {
		return 0;
	}
	if (l->head > 0 && l->head >= (l->n - l->head)) { /* compact before growing */
		memmove(l->v, l->v + l->head, (l->n - l->head) * sizeof(*l->v));
		l->n -= l->head;
		l->head = 0;
		if (l->n + extra <= l->cap) {
			return 0;
		}
	}
	return FS_GROW(l->v, l->cap, l->n + extra);
}

static bool lot_same(const struct lot *a, const struct lot *b)
{
	return a->build_day == b->build_day && a->ready_day == b->ready_day && a->hold_until == b->hold_until &&
	       a->programme == b->programme && a->city == b->city;
}

/* Append @lot, merging it into the last lot when they only differ in count. */
static void lots_push(struct fs_production *prod, struct lots *l, struct lot lot)
{
	if (lot.count == 0) {
		return;
	}
	if (l->n > l->head && lot_same(&l->v[l->n - 1], &lot)) {
		l->v[l->n - 1].count += lot.count;
		return;
	}
	if (lots_reserve(l, 1) < 0) {
		prod->oom = true;
		return;
	}
	l->v[l->n++] = lot;
}

static void lots_free(struct lots *l)
{
	fs_free(l->v);
	*l = (struct lots){ 0 };
}

static uint64_t lots_sum(const struct lots *l, int programme)
{
	uint64_t s = 0;
	for (size_t i = l->head; i < l->n; i++) {
		if (programme < 0 || l->v[i].programme == programme) {
			s += l->v[i].count;
		}
	}
	return s;
}

/* Drop empty lots from the front. */
static void lots_trim(struct lots *l)
{
	while (l->head < l->n && l->v[l->head].count == 0) {
		l->head++;
	}
	if (l->head == l->n) {
		l->head = l->n = 0;
	}
}

/* Move the lots of @work that are due by @day into @out (emptied first), keeping order. */
static void take_due(struct fs_production *prod, struct lots *work, int32_t day, struct lots *out)
{
	out->head = out->n = 0;
	size_t keep = work->head;
	for (size_t i = work->head; i < work->n; i++) {
		if (work->v[i].ready_day <= day) {
			if (lots_reserve(out, 1) < 0) {
				prod->oom = true;
				work->v[keep++] = work->v[i];
				continue;
			}
			out->v[out->n++] = work->v[i];
		} else {
			work->v[keep++] = work->v[i];
		}
	}
	work->n = keep;
	lots_trim(work);
}

/* Start up to @cap vehicles (0 = all) from the front of @queue into @work, done on @ready. */
static uint64_t start_from_queue(struct fs_production *prod, struct lots *queue, uint32_t cap, int32_t ready,
				 struct lots *work)
{
	uint64_t started = 0;
	while (queue->head < queue->n) {
		struct lot *q = &queue->v[queue->head];
		uint32_t n = q->count;
		if (cap && started + n > cap) {
			n = (uint32_t)(cap - started);
		}
		if (n == 0) {
			break;
		}
		struct lot w = *q;
		w.count = n;
		w.ready_day = ready;
		lots_push(prod, work, w);
		q->count -= n;
		started += n;
		if (q->count == 0) {
			queue->head++;
		}
	}
	lots_trim(queue);
	return started;
}

/* ---- random draws --------------------------------------------------------------- */

static uint64_t draw_key(enum draw_kind kind, uint32_t who, int32_t day)
{
	return fs_mix64(((uint64_t)kind << 56) ^ ((uint64_t)who << 32) ^ (uint32_t)day);
}

/*
 * Binomial(n, p), exact: count the successes of n Bernoulli trials by jumping
 * geometric gaps between them (Devroye's "second waiting time" method), so
 * the cost is O(n min(p, 1-p) + 1) uniforms.
 */
static uint32_t binomial(struct fs_rng *r, uint32_t n, double p)
{
	if (n == 0 || !(p > 0.0)) {
		return 0;
	}
	if (p >= 1.0) {
		return n;
	}
	if (p > 0.5) {
		return n - binomial(r, n, 1.0 - p);
	}
	double lq = log1p(-p);
	uint32_t k = 0;
	double pos = 0;
	for (;;) {
		double u = fs_rng_uniform(r);
		pos += floor(log1p(-u) / lq) + 1.0;
		if (pos > (double)n) {
			return k;
		}
		k++;
	}
}

/* ---- calendar of the plan ---------------------------------------------------------- */

uint32_t fs_production_integrator_capacity(const struct fs_prod_integrator *in, int32_t day)
{
	uint32_t cap = 0;
	for (uint32_t i = 0; i < in->line_count && i < FS_PROD_LINES_MAX; i++) {
		if (in->lines[i].start_day <= day) {
			cap += in->lines[i].per_day;
		}
	}
	return cap;
}

int32_t fs_production_day_from_ms(int64_t ms)
{
	int64_t d = ms / 86400000;
	if (ms % 86400000 < 0) {
		d--;
	}
	return (int32_t)d;
}

static double smoothstep(double u)
{
	return u * u * (3.0 - 2.0 * u);
}

double fs_production_ramp_fraction(const struct fs_prod_plant *plant, double day)
{
	double t = day - plant->sop_day;
	if (t < 0) {
		return 0.0;
	}
	double ramp_days = plant->ramp_months * (365.25 / 12.0);
	if (ramp_days <= 0 || t >= ramp_days) {
		return 1.0;
	}
	double u = t / ramp_days;
	switch (plant->curve) {
	case FS_PROD_CURVE_LOGISTIC: {
		const double k = 10.0;
		double l0 = 1.0 / (1.0 + exp(k * 0.5)), l1 = 1.0 / (1.0 + exp(-k * 0.5));
		return (1.0 / (1.0 + exp(-k * (u - 0.5))) - l0) / (l1 - l0);
	}
	case FS_PROD_CURVE_LINEAR:
		return u;
	default:
		return smoothstep(u);
	}
}

double fs_production_target_fleet(const struct fs_production_params *p, double day)
{
	if (!(p->target_fleet > 0)) {
		return 0.0;
	}
	return p->target_fleet / (1.0 + exp(-p->target_rate_per_year * (day - p->target_mid_day) / 365.25));
}

int fs_production_city_phase(const struct fs_prod_city *c, int32_t day)
{
	if (day < c->launch_day) {
		return FS_PROD_PHASE_NONE;
	}
	int64_t t = (int64_t)day - c->launch_day;
	if (t < c->data_collection_days) {
		return FS_PROD_PHASE_DATA_COLLECTION;
	}
	if (t < (int64_t)c->data_collection_days + c->supervised_days) {
		return FS_PROD_PHASE_SUPERVISED;
	}
	return FS_PROD_PHASE_DRIVERLESS;
}

/* ---- model life ------------------------------------------------------------------ */

static bool name_in(const char (*list)[FS_PROD_NAME_MAX], uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++) {
		if (!strcmp(list[i], name)) {
			return true;
		}
	}
	return false;
}

static int resolve_disruption(const struct fs_production_params *p, const struct fs_prod_disruption *d,
			      struct disruption *ret, struct fs_error *err)
{
	struct disruption r = { .d = *d, .programme = -1, .plant = -1 };
	if (d->programme[0]) {
		for (uint32_t i = 0; i < p->programme_count; i++) {
			if (!strcmp(p->programmes[i].name, d->programme)) {
				r.programme = (int)i;
			}
		}
		if (r.programme < 0) {
			return fs_error_set(err, -EINVAL, "disruption: unknown programme '%s'", d->programme);
		}
	}
	if (d->plant[0]) {
		if (r.programme < 0) {
			return fs_error_set(err, -EINVAL, "disruption: plant '%s' needs a programme", d->plant);
		}
		const struct fs_prod_programme *pg = &p->programmes[r.programme];
		for (uint32_t i = 0; i < pg->plant_count; i++) {
			if (!strcmp(pg->plants[i].name, d->plant)) {
				r.plant = (int)i;
			}
		}
		if (r.plant < 0) {
			return fs_error_set(err, -EINVAL, "disruption: programme '%s' has no plant '%s'", d->programme,
					    d->plant);
		}
	}
	switch (d->kind) {
	case FS_PROD_SUPPLIER_SHORTAGE:
	case FS_PROD_CALIBRATION_SPIKE:
		if (d->end_day <= d->start_day) {
			return fs_error_set(err, -EINVAL, "disruption: end day must follow start day");
		}
		if (!(d->factor >= 0) || (d->kind == FS_PROD_SUPPLIER_SHORTAGE && d->factor > 1.0) ||
		    !isfinite(d->factor)) {
			return fs_error_set(err, -EINVAL, "disruption: factor %g out of range", d->factor);
		}
		break;
	case FS_PROD_RECALL:
		if (d->build_to_day < d->build_from_day) {
			return fs_error_set(err, -EINVAL, "recall: build range is empty");
		}
		if (!(d->share >= 0 && d->share <= 1)) {
			return fs_error_set(err, -EINVAL, "recall: share %g not in [0, 1]", d->share);
		}
		if (d->action != FS_PROD_RECALL_REWORK && d->action != FS_PROD_RECALL_RETIRE) {
			return fs_error_set(err, -EINVAL, "recall: unknown action %d", d->action);
		}
		if (d->action == FS_PROD_RECALL_REWORK && d->rework_days == 0) {
			return fs_error_set(err, -EINVAL, "recall: rework needs rework_days >= 1");
		}
		break;
	default:
		return fs_error_set(err, -EINVAL, "disruption: unknown kind %d", d->kind);
	}
	*ret = r;
	return 0;
}

static int find_integrator(const struct fs_production_params *p, const char *name)
{
	for (uint32_t i = 0; i < p->integrator_count && i < FS_PROD_INTEGRATORS_MAX; i++) {
		if (!strcmp(p->integrators[i].name, name)) {
			return (int)i;
		}
	}
	return -1;
}

/*
 * The name of item @i of a list of @kind ("programme", "city"), whose items
 * stand @stride bytes apart from the first one's name @first: 0, or -EINVAL
 * when it is empty, unterminated (in @size bytes) or an earlier item's.
 */
static int check_name(const char *kind, uint32_t i, const char *name, size_t size, const char *first, size_t stride,
		      struct fs_error *err)
{
	if (!name[0] || !memchr(name, 0, size)) {
		return fs_error_set(err, -EINVAL, "%s %u: empty or unterminated name", kind, i);
	}
	for (uint32_t j = 0; j < i; j++) {
		if (!strcmp(first + j * stride, name)) {
			return fs_error_set(err, -EINVAL, "%s '%s': defined twice", kind, name);
		}
	}
	return 0;
}

static int validate_integrators(const struct fs_production_params *p, struct fs_error *err)
{
	for (uint32_t i = 0; i < p->integrator_count; i++) {
		const struct fs_prod_integrator *in = &p->integrators[i];
		int rc = check_name("integrator", i, in->name, sizeof(in->name), p->integrators[0].name,
				    sizeof(*in), err);
		if (rc < 0) {
			return rc;
		}
		if (in->line_count > FS_PROD_LINES_MAX) {
			return fs_error_set(err, -EINVAL, "integrator '%s': at most %d lines", in->name, FS_PROD_LINES_MAX);
		}
	}
	for (uint32_t g = 0; g < p->programme_count; g++) {
		const struct fs_prod_programme *pg = &p->programmes[g];
		if (!memchr(pg->integrator, 0, sizeof(pg->integrator)) ||
		    (pg->integrator[0] && find_integrator(p, pg->integrator) < 0)) {
			return fs_error_set(err, -EINVAL, "programme '%s': unknown integrator '%.*s'", pg->name,
					    FS_PROD_NAME_MAX - 1, pg->integrator);
		}
		if (pg->fills_fleet && !(p->target_fleet > 0)) {
			return fs_error_set(err, -EINVAL, "programme '%s' fills the fleet, but there is no target fleet",
					    pg->name);
		}
	}
	return 0;
}

int fs_production_params_validate(const struct fs_production_params *p, struct fs_error *err)
{
	if (p->programme_count > FS_PROD_PROGRAMMES_MAX || p->city_count > FS_PROD_CITIES_MAX ||
	    p->disruption_count > FS_PROD_DISRUPTIONS_MAX || p->integrator_count > FS_PROD_INTEGRATORS_MAX) {
		return fs_error_set(err, -EINVAL, "production: too many programmes, cities, integrators or disruptions");
	}
	for (uint32_t i = 0; i < p->programme_count; i++) {
		const struct fs_prod_programme *g = &p->programmes[i];
		int rc = check_name("programme", i, g->name, sizeof(g->name), p->programmes[0].name, sizeof(*g), err);
		if (rc < 0) {
			return rc;
		}
		if (g->plant_count == 0 || g->plant_count > FS_PROD_PLANTS_MAX) {
			return fs_error_set(err, -EINVAL, "programme '%s': needs 1..%d plants", g->name,
					    FS_PROD_PLANTS_MAX);
		}
		if (g->region_count > FS_PROD_REGIONS_MAX) {
			return fs_error_set(err, -EINVAL, "programme '%s': too many regions", g->name);
		}
		for (uint32_t k = 0; k < g->plant_count; k++) {
			const struct fs_prod_plant *pl = &g->plants[k];
			if (!(pl->rate_per_month >= 0) || !isfinite(pl->rate_per_month) || !(pl->ramp_months >= 0) ||
			    pl->curve > FS_PROD_CURVE_LINEAR || pl->sop_day < p->start_day) {
				return fs_error_set(err, -EINVAL,
						    "programme '%s' plant '%s': rate, ramp, curve or SOP (before the "
						    "model's start) out of range",
						    g->name, pl->name);
			}
		}
		if (!g->build_days || !g->integration_days || !g->calibration_days || !g->rework_days) {
			return fs_error_set(err, -EINVAL, "programme '%s': stage durations must be >= 1 day", g->name);
		}
		if (!(g->calibration_fail_share >= 0 && g->calibration_fail_share < 1)) {
			return fs_error_set(err, -EINVAL, "programme '%s': calibration_fail_share not in [0, 1)",
					    g->name);
		}
		if (!(g->battery_kwh > 0) || !(g->kwh_per_km > 0) || !(g->max_charge_kw > 0) || !g->seats) {
			return fs_error_set(err, -EINVAL, "programme '%s': its vehicle needs a battery, a consumption, a "
					    "charging limit and seats", g->name);
		}
		if (!(g->attrition_per_year >= 0 && g->attrition_per_year < 1)) {
			return fs_error_set(err, -EINVAL, "programme '%s': attrition_per_year not in [0, 1)", g->name);
		}
	}
	for (uint32_t i = 0; i < p->city_count; i++) {
		const struct fs_prod_city *c = &p->cities[i];
		int rc = check_name("city", i, c->name, sizeof(c->name), p->cities[0].name, sizeof(*c), err);
		if (rc < 0) {
			return rc;
		}
		if (!c->transit_days || !c->commissioning_days) {
			return fs_error_set(err, -EINVAL, "city '%s': transit_days and commissioning_days must be >= 1",
					    c->name);
		}
	}
	for (uint32_t i = 0; i < p->disruption_count; i++) {
		struct disruption r;
		int rc = resolve_disruption(p, &p->disruptions[i], &r, err);
		if (rc < 0) {
			return rc;
		}
	}
	int rc = validate_integrators(p, err);
	return rc < 0 ? rc : flywheel_validate(&p->flywheel, err);
}

/*
 * Days from build to commissioned, queues aside: the programme's stages plus
 * transit and commissioning averaged over the cities it may serve, by their
 * share of deliveries (weight). A replacement ordered this far ahead of a
 * retirement arrives about when the vehicle leaves.
 */
static int32_t lead_days(const struct fs_production_params *p, const struct fs_prod_programme *g,
			 const uint16_t *region_ok)
{
	double weighted = 0, weights = 0;
	for (uint32_t c = 0; c < p->city_count; c++) {
		if (region_ok[c]) {
			weighted += (double)p->cities[c].weight * (p->cities[c].transit_days + p->cities[c].commissioning_days);
			weights += p->cities[c].weight;
		}
	}
	return (int32_t)(g->build_days + g->integration_days + g->calibration_days) +
	       (int32_t)lround(weights > 0 ? weighted / weights : 0);
}

struct fs_production *fs_production_create(const struct fs_production_params *params, uint64_t seed,
					   struct fs_error *err)
{
	if (!params || fs_production_params_validate(params, err) < 0) {
		return NULL;
	}
	struct fs_production *prod = fs_calloc(1, sizeof(*prod));
	if (!prod) {
		fs_error_set(err, -ENOMEM, "production: out of memory");
		return NULL;
	}
	prod->params = *params;
	prod->seed = seed;
	prod->day = params->start_day - 1;
	flywheel_init(&prod->flywheel);
	const struct fs_production_params *p = &prod->params;
	for (uint32_t i = 0; i < p->programme_count; i++) {
		const struct fs_prod_programme *g = &p->programmes[i];
		if (g->service_life_days && (!prod->min_service_life || (int32_t)g->service_life_days < prod->min_service_life)) {
			prod->min_service_life = (int32_t)g->service_life_days;
		}
		for (uint32_t c = 0; c < p->city_count; c++) {
			prod->prog[i].region_ok[c] =
				g->region_count == 0 || name_in(g->regions, g->region_count, p->cities[c].region);
		}
		prod->prog[i].integrator = g->integrator[0] ? find_integrator(p, g->integrator) : -1;
		prod->prog[i].lead_days = lead_days(p, g, prod->prog[i].region_ok);
	}
	for (uint32_t i = 0; i < p->disruption_count; i++) {
		resolve_disruption(p, &p->disruptions[i], &prod->dis[i], NULL);
	}
	prod->dis_count = p->disruption_count;
	return prod;
}

void fs_production_destroy(struct fs_production *prod)
{
	if (!prod) {
		return;
	}
	for (uint32_t i = 0; i < FS_PROD_PROGRAMMES_MAX; i++) {
		for (int s = 0; s < PIPE_COUNT; s++) {
			lots_free(&prod->prog[i].queue[s]);
			lots_free(&prod->prog[i].work[s]);
		}
	}
	for (uint32_t c = 0; c < FS_PROD_CITIES_MAX; c++) {
		lots_free(&prod->city[c].comm_queue);
		lots_free(&prod->city[c].comm_work);
		lots_free(&prod->city[c].fleet);
	}
	lots_free(&prod->tmp);
	fs_free(prod);
}

const struct fs_production_params *fs_production_params(const struct fs_production *prod)
{
	return &prod->params;
}

int32_t fs_production_day(const struct fs_production *prod)
{
	return prod->day;
}

int fs_production_add_disruption(struct fs_production *prod, const struct fs_prod_disruption *d,
				 struct fs_error *err)
{
	if (prod->dis_count >= FS_PROD_DISRUPTIONS_MAX) {
		return fs_error_set(err, -ENOSPC, "production: no room for another disruption");
	}
	if (d->start_day <= prod->day) {
		return fs_error_set(err, -EINVAL, "disruption: starts on day %d, but day %d is already simulated",
				    (int)d->start_day, (int)prod->day);
	}
	struct disruption r;
	int rc = resolve_disruption(&prod->params, d, &r, err);
	if (rc < 0) {
		return rc;
	}
	prod->dis[prod->dis_count++] = r;
	prod->params.disruptions[prod->params.disruption_count++] = *d;
	return 0;
}

int fs_production_find_programme(const struct fs_production *prod, const char *name)
{
	for (uint32_t i = 0; i < prod->params.programme_count; i++) {
		if (!strcmp(prod->params.programmes[i].name, name)) {
			return (int)i;
		}
	}
	return -ENOENT;
}

int fs_production_find_city(const struct fs_production *prod, const char *name)
{
	for (uint32_t i = 0; i < prod->params.city_count; i++) {
		if (!strcmp(prod->params.cities[i].name, name)) {
			return (int)i;
		}
	}
	return -ENOENT;
}

/* ---- log ------------------------------------------------------------------------- */

void fs_prod_log_clear(struct fs_prod_log *log)
{
	log->delivery_count = 0;
	log->retirement_count = 0;
}

void fs_prod_log_finish(struct fs_prod_log *log)
{
	fs_free(log->deliveries);
	fs_free(log->retirements);
	log->deliveries = NULL;
	log->retirements = NULL;
	log->delivery_count = log->delivery_cap = log->retirement_count = log->retirement_cap = 0;
}

static void log_delivery(struct fs_production *prod, struct fs_prod_log *log, const struct fs_prod_delivery *d)
{
	if (!log || (log->city_filter != FS_PROD_NO_CITY && log->city_filter != d->city)) {
		return;
	}
	if (FS_GROW(log->deliveries, log->delivery_cap, log->delivery_count + 1) < 0) {
		prod->oom = true;
		return;
	}
	log->deliveries[log->delivery_count++] = *d;
}

static void log_retirement(struct fs_production *prod, struct fs_prod_log *log, int32_t day, uint16_t programme,
			   uint16_t city, uint32_t count, uint8_t reason)
{
	if (!log || !count || (log->city_filter != FS_PROD_NO_CITY && log->city_filter != city)) {
		return;
	}
	if (FS_GROW(log->retirements, log->retirement_cap, log->retirement_count + 1) < 0) {
		prod->oom = true;
		return;
	}
	log->retirements[log->retirement_count++] =
		(struct fs_prod_retirement){ .day = day, .programme = programme, .city = city, .count = count,
					     .reason = reason };
}

/* ---- one day ----------------------------------------------------------------------- */

static void retire_from_city(struct fs_production *prod, struct fs_prod_log *log, uint16_t c, uint16_t programme,
			     uint32_t count, bool in_service, uint8_t reason)
{
	struct city_state *cs = &prod->city[c];
	cs->fleet_by_programme[programme] -= count;
	if (in_service) {
		cs->in_service_by_programme[programme] -= count;
	}
	cs->fleet_count -= count;
	cs->retired += count;
	prod->prog[programme].retired += count;
	prod->prog[programme].entered[FS_PROD_STAGE_RETIRED] += count;
	log_retirement(prod, log, prod->day, programme, c, count, reason);
}

/*
 * Split the part of @l's lots of @programme built in [from, to] that a recall
 * affects. @fn gets each affected part (a copy of the lot with the affected
 * count) and says whether it leaves the list; otherwise it may edit the part,
 * which is then inserted right after its lot.
 */
static uint32_t recall_lots(struct fs_production *prod, struct lots *l, const struct disruption *r, uint16_t programme,
			    struct fs_rng *rng, bool (*fn)(struct fs_production *, struct lot *, void *), void *ctx)
{
	uint32_t total = 0;
	for (size_t i = l->head; i < l->n; i++) {
		struct lot *lot = &l->v[i];
		if (lot->programme != programme || lot->build_day < r->d.build_from_day ||
		    lot->build_day > r->d.build_to_day || lot->count == 0) {
			continue;
		}
		uint32_t k = binomial(rng, lot->count, r->d.share);
		if (!k) {
			continue;
		}
		struct lot part = *lot;
		part.count = k;
		total += k;
		if (fn(prod, &part, ctx)) {
			l->v[i].count -= k;
			continue;
		}
		if (k == l->v[i].count) {
			l->v[i] = part;
			continue;
		}
		if (lots_reserve(l, 1) < 0) {
			prod->oom = true;
			continue;
		}
		lot = &l->v[i];
		lot->count -= k;
		memmove(&l->v[i + 2], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
		l->v[i + 1] = part;
		l->n++;
		i++;
	}
	/* empty lots in the middle stay until they reach the front */
	lots_trim(l);
	return total;
}

struct recall_ctx {
	const struct disruption *r;
	struct fs_prod_log *log;
	uint16_t city;
	bool in_service;
};

/* Pipeline: back to the rework queue, or scrapped. */
static bool recall_pipeline(struct fs_production *prod, struct lot *part, void *ctx)
{
	const struct recall_ctx *rc = ctx;
	struct prog_state *ps = &prod->prog[part->programme];
	if (rc->r->d.action == FS_PROD_RECALL_RETIRE) {
		ps->scrapped += part->count;
	} else {
		struct lot q = *part;
		q.ready_day = prod->day;
		q.city = FS_PROD_NO_CITY;
		q.hold_until = 0;
		lots_push(prod, &ps->queue[PIPE_REWORK], q);
		ps->entered[FS_PROD_STAGE_REWORK] += part->count;
	}
	return true;
}

/* In transit: held on arrival, or scrapped (and no longer inbound). */
static bool recall_transit(struct fs_production *prod, struct lot *part, void *ctx)
{
	const struct recall_ctx *rc = ctx;
	if (rc->r->d.action == FS_PROD_RECALL_RETIRE) {
		prod->prog[part->programme].scrapped += part->count;
		prod->city[part->city].inbound -= part->count;
		return true;
	}
	part->hold_until = prod->day + (int32_t)rc->r->d.rework_days;
	return false;
}

/* At a depot or in service: grounded for rework, or retired. */
static bool recall_city(struct fs_production *prod, struct lot *part, void *ctx)
{
	struct recall_ctx *rc = ctx;
	struct city_state *cs = &prod->city[part->city];
	if (rc->r->d.action == FS_PROD_RECALL_RETIRE) {
		retire_from_city(prod, rc->log, part->city, part->programme, part->count, rc->in_service, 2);
		return true;
	}
	part->hold_until = prod->day + (int32_t)rc->r->d.rework_days;
	if (rc->in_service) {
		cs->held_lots++;
	}
	return false;
}

static void apply_recalls(struct fs_production *prod, struct fs_prod_log *log)
{
	const struct fs_production_params *p = &prod->params;
	for (uint32_t k = 0; k < prod->dis_count; k++) {
		const struct disruption *r = &prod->dis[k];
		if (r->d.kind != FS_PROD_RECALL || r->d.start_day != prod->day) {
			continue;
		}
		struct recall_ctx ctx = { .r = r, .log = log };
		for (uint16_t g = 0; g < p->programme_count; g++) {
			if (r->programme >= 0 && r->programme != g) {
				continue;
			}
			struct fs_rng rng;
			fs_rng_init(&rng, prod->seed, FS_RNG_STREAM_PRODUCTION, draw_key(DRAW_RECALL, k * 256 + g, prod->day));
			struct prog_state *ps = &prod->prog[g];
			/* Pull the affected vehicles out of every pipeline list first, so
			 * those sent to the rework queue are not visited twice. */
			for (int s = 0; s < PIPE_COUNT; s++) {
				if (s == PIPE_REWORK) {
					continue; /* already out of service, reworked anyway */
				}
				recall_lots(prod, &ps->queue[s], r, g, &rng, recall_pipeline, &ctx);
				if (s == PIPE_SHIPPING) {
					recall_lots(prod, &ps->work[s], r, g, &rng, recall_transit, &ctx);
				} else {
					recall_lots(prod, &ps->work[s], r, g, &rng, recall_pipeline, &ctx);
				}
			}
			for (uint16_t c = 0; c < p->city_count; c++) {
				struct city_state *cs = &prod->city[c];
				ctx.in_service = false;
				recall_lots(prod, &cs->comm_queue, r, g, &rng, recall_city, &ctx);
				recall_lots(prod, &cs->comm_work, r, g, &rng, recall_city, &ctx);
				ctx.in_service = true;
				recall_lots(prod, &cs->fleet, r, g, &rng, recall_city, &ctx);
			}
		}
	}
}

static double shortage_factor(const struct fs_production *prod, int g, int plant, int32_t day)
{
	double f = 1.0;
	for (uint32_t k = 0; k < prod->dis_count; k++) {
		const struct disruption *r = &prod->dis[k];
		if (r->d.kind == FS_PROD_SUPPLIER_SHORTAGE && day >= r->d.start_day && day < r->d.end_day &&
		    (r->programme < 0 || r->programme == g) && (r->plant < 0 || r->plant == plant)) {
			f *= r->d.factor;
		}
	}
	return f;
}

static double fail_share(const struct fs_production *prod, int g, int32_t day)
{
	double s = prod->params.programmes[g].calibration_fail_share;
	for (uint32_t k = 0; k < prod->dis_count; k++) {
		const struct disruption *r = &prod->dis[k];
		if (r->d.kind == FS_PROD_CALIBRATION_SPIKE && day >= r->d.start_day && day < r->d.end_day &&
		    (r->programme < 0 || r->programme == g)) {
			s *= r->d.factor;
		}
	}
	return s < 1.0 ? s : 1.0;
}

/*
 * The fleet @lead days from now as planned today: every vehicle built and
 * not scrapped or retired (in the pipeline or in a city), less those whose
 * service life ends within @lead and the attrition expected meanwhile. A
 * fills_fleet programme builds while this is below the target fleet, so
 * replacements are ordered one lead time ahead of the retirements they
 * replace, as a fleet planner would.
 */
static double planned_fleet(const struct fs_production *prod, int32_t lead)
{
	const struct fs_production_params *p = &prod->params;
	int32_t horizon = prod->day + lead;
	double fleet = 0;
	for (uint16_t g = 0; g < p->programme_count; g++) {
		const struct prog_state *ps = &prod->prog[g];
		double a = p->programmes[g].attrition_per_year;
		double in_cities = (double)(ps->delivered - ps->retired);
		fleet += (double)(ps->built - ps->scrapped - ps->retired);
		if (a > 0) {
			fleet -= in_cities * -expm1(log1p(-a) * lead / 365.25);
		}
	}
	if (!prod->min_service_life) {
		return fleet;
	}
	for (uint16_t c = 0; c < p->city_count; c++) {
		const struct lots *fl = &prod->city[c].fleet; /* in commissioning order: a prefix is due */
		for (size_t i = fl->head; i < fl->n && fl->v[i].ready_day + prod->min_service_life <= horizon; i++) {
			uint32_t life = p->programmes[fl->v[i].programme].service_life_days;
			if (life && fl->v[i].ready_day + (int32_t)life <= horizon) {
				fleet -= fl->v[i].count;
			}
		}
	}
	return fleet;
}

/* How many of @n vehicles a programme may build today: its target, or for a fills_fleet one the gap. */
static uint64_t build_allowance(const struct fs_production *prod, uint16_t g, uint64_t n)
{
	const struct fs_prod_programme *pg = &prod->params.programmes[g];
	const struct prog_state *ps = &prod->prog[g];
	if (pg->target || !pg->fills_fleet) {
		uint64_t left = pg->target > ps->built ? pg->target - ps->built : 0;
		n = n < left ? n : left;
	}
	if (pg->fills_fleet && n) {
		double gap = ceil(prod->params.target_fleet - planned_fleet(prod, ps->lead_days));
		n = gap <= 0 ? 0 : gap < (double)n ? (uint64_t)gap : n;
	}
	return n;
}

static void build(struct fs_production *prod, uint16_t g)
{
	const struct fs_prod_programme *pg = &prod->params.programmes[g];
	struct prog_state *ps = &prod->prog[g];
	int32_t day = prod->day;
	for (uint32_t k = 0; k < pg->plant_count; k++) {
		const struct fs_prod_plant *pl = &pg->plants[k];
		if (day < pl->sop_day) {
			continue;
		}
		/* The rate at mid-day stands for the day (midpoint rule). */
		double rate = pl->rate_per_month * 12.0 / 365.25 * fs_production_ramp_fraction(pl, day + 0.5) *
			      shortage_factor(prod, g, (int)k, day);
		ps->plant_acc[k] += rate;
		double whole = floor(ps->plant_acc[k]);
		uint64_t n = whole > (double)ps->plant_built[k] ? (uint64_t)whole - ps->plant_built[k] : 0;
		ps->plant_built[k] += n; /* capacity not allowed today is lost, not caught up later */
		n = build_allowance(prod, g, n);
		if (!n) {
			continue;
		}
		ps->built += n;
		ps->entered[FS_PROD_STAGE_BUILD] += n;
		lots_push(prod, &ps->work[PIPE_BUILD],
			  (struct lot){ .build_day = day, .ready_day = day + (int32_t)pg->build_days,
					.count = (uint32_t)n, .programme = g, .city = FS_PROD_NO_CITY });
	}
}

/* Move what is due in @from's work into @to's queue (arrival today). */
static void advance_stage(struct fs_production *prod, struct prog_state *ps, int from, int to)
{
	take_due(prod, &ps->work[from], prod->day, &prod->tmp);
	for (size_t i = 0; i < prod->tmp.n; i++) {
		struct lot l = prod->tmp.v[i];
		l.ready_day = prod->day;
		ps->entered[pipe_stage[to]] += l.count;
		lots_push(prod, &ps->queue[to], l);
	}
}

static bool city_eligible(const struct fs_production *prod, uint16_t g, uint16_t c)
{
	const struct fs_prod_city *city = &prod->params.cities[c];
	const struct city_state *cs = &prod->city[c];
	if (!prod->prog[g].region_ok[c] || city->weight == 0) {
		return false;
	}
	if (city->launch_day > prod->day + (int32_t)city->transit_days) {
		return false; /* would arrive before the city launches */
	}
	return !city->fleet_cap || cs->fleet_count + cs->inbound < city->fleet_cap;
}

/* Dispatch up to the carrier capacity from the shipping queue, allocating to cities. */
static void ship(struct fs_production *prod, uint16_t g)
{
	const struct fs_production_params *p = &prod->params;
	const struct fs_prod_programme *pg = &p->programmes[g];
	struct prog_state *ps = &prod->prog[g];
	struct lots *queue = &ps->queue[PIPE_SHIPPING];
	uint64_t budget = pg->shipping_per_day ? pg->shipping_per_day : UINT64_MAX;
	uint32_t alloc[FS_PROD_CITIES_MAX];
	while (budget && queue->head < queue->n) {
		struct lot *q = &queue->v[queue->head];
		uint32_t n = q->count < budget ? q->count : (uint32_t)budget;
		memset(alloc, 0, sizeof(alloc));
		uint32_t given = 0;
		while (given < n) {
			/* eligible cities of the highest priority */
			bool any = false;
			uint32_t best_prio = 0;
			for (uint16_t c = 0; c < p->city_count; c++) {
				if (city_eligible(prod, g, c) && (!any || p->cities[c].priority > best_prio)) {
					best_prio = p->cities[c].priority;
					any = true;
				}
			}
			if (!any) {
				break;
			}
			int64_t total = 0;
			int best = -1;
			for (uint16_t c = 0; c < p->city_count; c++) {
				if (p->cities[c].priority != best_prio || !city_eligible(prod, g, c)) {
					continue;
				}
				prod->city[c].wrr += p->cities[c].weight;
				total += p->cities[c].weight;
				if (best < 0 || prod->city[c].wrr > prod->city[best].wrr) {
					best = c;
				}
			}
			prod->city[best].wrr -= total;
			prod->city[best].inbound++; /* counts against the cap right away */
			alloc[best]++;
			given++;
		}
		for (uint16_t c = 0; c < p->city_count; c++) {
			if (!alloc[c]) {
				continue;
			}
			struct lot w = *q;
			w.count = alloc[c];
			w.city = c;
			w.ready_day = prod->day + (int32_t)p->cities[c].transit_days;
			lots_push(prod, &ps->work[PIPE_SHIPPING], w);
		}
		q->count -= given;
		budget -= given;
		if (q->count == 0) {
			queue->head++;
		}
		if (given < n) {
			break; /* no city can take more today */
		}
	}
	lots_trim(queue);
}

static void arrivals(struct fs_production *prod, uint16_t g, struct fs_prod_log *log)
{
	struct prog_state *ps = &prod->prog[g];
	take_due(prod, &ps->work[PIPE_SHIPPING], prod->day, &prod->tmp);
	for (size_t i = 0; i < prod->tmp.n; i++) {
		struct lot l = prod->tmp.v[i];
		struct city_state *cs = &prod->city[l.city];
		cs->inbound -= l.count;
		cs->delivered += l.count;
		cs->fleet_count += l.count;
		cs->fleet_by_programme[g] += l.count;
		ps->delivered += l.count;
		ps->entered[FS_PROD_STAGE_COMMISSIONING] += l.count;
		struct fs_prod_delivery d = { .day = prod->day, .build_day = l.build_day, .programme = g,
					      .city = l.city, .count = l.count, .first_seq = prod->delivery_seq };
		prod->delivery_seq += l.count;
		log_delivery(prod, log, &d);
		l.ready_day = prod->day;
		lots_push(prod, &cs->comm_queue, l);
	}
}

static void calibrate(struct fs_production *prod, uint16_t g)
{
	struct prog_state *ps = &prod->prog[g];
	take_due(prod, &ps->work[PIPE_CALIBRATION], prod->day, &prod->tmp);
	if (!prod->tmp.n) {
		return;
	}
	struct fs_rng rng;
	fs_rng_init(&rng, prod->seed, FS_RNG_STREAM_PRODUCTION, draw_key(DRAW_CALIBRATION, g, prod->day));
	double share = fail_share(prod, g, prod->day);
	for (size_t i = 0; i < prod->tmp.n; i++) {
		struct lot l = prod->tmp.v[i];
		uint32_t fails = binomial(&rng, l.count, share);
		l.ready_day = prod->day;
		struct lot pass = l, fail = l;
		pass.count = l.count - fails;
		fail.count = fails;
		ps->calibration_failures += fails;
		ps->entered[FS_PROD_STAGE_SHIPPING] += pass.count;
		ps->entered[FS_PROD_STAGE_REWORK] += fails;
		lots_push(prod, &ps->queue[PIPE_SHIPPING], pass);
		lots_push(prod, &ps->queue[PIPE_REWORK], fail);
	}
}

/* Build, then what build and integration finish today; a programme's own integration line starts. */
static void programme_upstream(struct fs_production *prod, uint16_t g)
{
	const struct fs_prod_programme *pg = &prod->params.programmes[g];
	struct prog_state *ps = &prod->prog[g];
	build(prod, g);
	advance_stage(prod, ps, PIPE_BUILD, PIPE_INTEGRATION);
	advance_stage(prod, ps, PIPE_INTEGRATION, PIPE_CALIBRATION);
	ps->integration_started_today = 0;
	if (ps->integrator < 0) {
		start_from_queue(prod, &ps->queue[PIPE_INTEGRATION], pg->integration_per_day,
				 prod->day + (int32_t)pg->integration_days, &ps->work[PIPE_INTEGRATION]);
	}
}

/*
 * A shared integrator's day: its capacity goes to the vehicles of its
 * programmes that have waited longest (queue arrival day), ties to the
 * lower programme index, each programme within its own cap if it has one.
 */
static void integrate_shared(struct fs_production *prod, int k)
{
	const struct fs_production_params *p = &prod->params;
	uint32_t cap = fs_production_integrator_capacity(&p->integrators[k], prod->day), started = 0;
	while (cap && started < cap) {
		int best = -1;
		int32_t best_day = 0;
		for (uint16_t g = 0; g < p->programme_count; g++) {
			const struct prog_state *ps = &prod->prog[g];
			const struct lots *q = &ps->queue[PIPE_INTEGRATION];
			uint32_t own = p->programmes[g].integration_per_day;
			if (ps->integrator != k || q->head == q->n || (own && ps->integration_started_today >= own)) {
				continue;
			}
			if (best < 0 || q->v[q->head].ready_day < best_day) {
				best = g;
				best_day = q->v[q->head].ready_day;
			}
		}
		if (best < 0) {
			break;
		}
		const struct fs_prod_programme *pg = &p->programmes[best];
		struct prog_state *ps = &prod->prog[best];
		struct lots *q = &ps->queue[PIPE_INTEGRATION];
		uint64_t n = q->v[q->head].count;
		if (cap && n > cap - started) {
			n = cap - started;
		}
		if (pg->integration_per_day && n > pg->integration_per_day - ps->integration_started_today) {
			n = pg->integration_per_day - ps->integration_started_today;
		}
		/* one lot (or part of it) at a time, so the next pick sees the new queue front */
		if (!n) {
			break; /* an empty lot at the front: start_from_queue() would take it as "unlimited" */
		}
		uint64_t got = start_from_queue(prod, q, (uint32_t)n, prod->day + (int32_t)pg->integration_days,
						&ps->work[PIPE_INTEGRATION]);
		ps->integration_started_today += got;
		started += (uint32_t)got;
	}
	prod->integrator_started[k] += started;
	prod->integrator_started_today[k] = started;
}

/* Calibration, rework, arrivals at the depots and shipping to cities. */
static void programme_downstream(struct fs_production *prod, uint16_t g, struct fs_prod_log *log)
{
	const struct fs_prod_programme *pg = &prod->params.programmes[g];
	struct prog_state *ps = &prod->prog[g];
	int32_t day = prod->day;
	calibrate(prod, g);
	advance_stage(prod, ps, PIPE_REWORK, PIPE_CALIBRATION);
	start_from_queue(prod, &ps->queue[PIPE_CALIBRATION], pg->calibration_per_day,
			 day + (int32_t)pg->calibration_days, &ps->work[PIPE_CALIBRATION]);
	start_from_queue(prod, &ps->queue[PIPE_REWORK], pg->rework_per_day, day + (int32_t)pg->rework_days,
			 &ps->work[PIPE_REWORK]);
	arrivals(prod, g, log);
	ship(prod, g);
}

static void commission(struct fs_production *prod, uint16_t c)
{
	const struct fs_prod_city *city = &prod->params.cities[c];
	struct city_state *cs = &prod->city[c];
	take_due(prod, &cs->comm_work, prod->day, &prod->tmp);
	for (size_t i = 0; i < prod->tmp.n; i++) {
		struct lot l = prod->tmp.v[i];
		l.ready_day = prod->day; /* in service from today: the service life counts from here */
		prod->prog[l.programme].entered[FS_PROD_STAGE_DELIVERED] += l.count;
		cs->in_service_by_programme[l.programme] += l.count;
		if (l.hold_until > prod->day) {
			cs->held_lots++;
		} else {
			l.hold_until = 0;
		}
		lots_push(prod, &cs->fleet, l);
	}
	start_from_queue(prod, &cs->comm_queue, city->commissioning_per_day,
			 prod->day + (int32_t)city->commissioning_days, &cs->comm_work);
}

static void retire(struct fs_production *prod, uint16_t c, struct fs_prod_log *log)
{
	const struct fs_production_params *p = &prod->params;
	struct city_state *cs = &prod->city[c];
	struct lots *fl = &cs->fleet;
	int32_t day = prod->day;
	/* service life: the fleet is in delivery-day order, so only a prefix can be due */
	if (prod->min_service_life) {
		for (size_t i = fl->head; i < fl->n && fl->v[i].ready_day + prod->min_service_life <= day; i++) {
			struct lot *l = &fl->v[i];
			uint32_t life = p->programmes[l->programme].service_life_days;
			if (l->count && life && l->ready_day + (int32_t)life <= day) {
				retire_from_city(prod, log, c, l->programme, l->count, true, 0);
				l->count = 0;
			}
		}
		lots_trim(fl);
	}
	/* attrition: a binomial count per programme, taken from lots drawn by vehicle */
	for (uint16_t g = 0; g < p->programme_count; g++) {
		double a = p->programmes[g].attrition_per_year;
		uint32_t n = cs->in_service_by_programme[g];
		if (!(a > 0) || !n) {
			continue;
		}
		struct fs_rng rng;
		fs_rng_init(&rng, prod->seed, FS_RNG_STREAM_PRODUCTION,
			    draw_key(DRAW_ATTRITION, (uint32_t)c * FS_PROD_PROGRAMMES_MAX + g, day));
		double p_day = -expm1(log1p(-a) / 365.25);
		uint32_t k = binomial(&rng, n, p_day);
		for (uint32_t j = 0; j < k; j++) {
			uint64_t pick = fs_rng_below(&rng, cs->in_service_by_programme[g]);
			for (size_t i = fl->head; i < fl->n; i++) {
				struct lot *l = &fl->v[i];
				if (l->programme != g) {
					continue;
				}
				if (pick < l->count) {
					l->count--;
					retire_from_city(prod, log, c, g, 1, true, 1);
					break;
				}
				pick -= l->count;
			}
		}
		lots_trim(fl);
	}
}

int64_t fs_production_advance(struct fs_production *prod, int32_t last_day, struct fs_prod_log *log)
{
	int64_t days = 0;
	while (prod->day < last_day) {
		prod->day++;
		apply_recalls(prod, log);
		for (uint16_t g = 0; g < prod->params.programme_count; g++) {
			programme_upstream(prod, g);
		}
		for (uint32_t k = 0; k < prod->params.integrator_count; k++) {
			integrate_shared(prod, (int)k);
		}
		for (uint16_t g = 0; g < prod->params.programme_count; g++) {
			programme_downstream(prod, g, log);
		}
		uint32_t in_service = 0;
		for (uint16_t c = 0; c < prod->params.city_count; c++) {
			commission(prod, c);
			retire(prod, c, log);
			for (uint16_t g = 0; g < prod->params.programme_count; g++) {
				in_service += prod->city[c].in_service_by_programme[g];
			}
		}
		flywheel_day(&prod->flywheel, &prod->params.flywheel, prod->day, in_service);
		days++;
		if (prod->oom) {
			return -ENOMEM;
		}
	}
	return days;
}

/* ---- results ------------------------------------------------------------------------ */

static uint32_t grounded(const struct fs_production *prod, uint16_t c)
{
	const struct city_state *cs = &prod->city[c];
	uint32_t n = 0;
	if (!cs->held_lots) {
		return 0;
	}
	for (size_t i = cs->fleet.head; i < cs->fleet.n; i++) {
		if (cs->fleet.v[i].hold_until > prod->day) {
			n += cs->fleet.v[i].count;
		}
	}
	return n;
}

uint64_t fs_production_stats_in_stage(const struct fs_production_stats *s, int stage)
{
	uint64_t n = 0;
	for (uint32_t g = 0; g < s->programme_count; g++) {
		n += s->programmes[g].in_stage[stage];
	}
	return n;
}

void fs_production_get_stats(const struct fs_production *prod, struct fs_production_stats *ret)
{
	const struct fs_production_params *p = &prod->params;
	memset(ret, 0, sizeof(*ret));
	ret->day = prod->day;
	flywheel_stats(&prod->flywheel, &p->flywheel, prod->day, &ret->flywheel);
	ret->programme_count = p->programme_count;
	ret->city_count = p->city_count;
	for (uint16_t g = 0; g < p->programme_count; g++) {
		const struct prog_state *ps = &prod->prog[g];
		struct fs_prod_programme_stats *s = &ret->programmes[g];
		for (int k = 0; k < PIPE_COUNT; k++) {
			uint32_t q = (uint32_t)lots_sum(&ps->queue[k], -1);
			s->queued[pipe_stage[k]] = q;
			s->in_stage[pipe_stage[k]] = q + (uint32_t)lots_sum(&ps->work[k], -1);
		}
		for (uint16_t c = 0; c < p->city_count; c++) {
			const struct city_state *cs = &prod->city[c];
			uint32_t q = (uint32_t)lots_sum(&cs->comm_queue, g);
			s->queued[FS_PROD_STAGE_COMMISSIONING] += q;
			s->in_stage[FS_PROD_STAGE_COMMISSIONING] += q + (uint32_t)lots_sum(&cs->comm_work, g);
			s->in_stage[FS_PROD_STAGE_DELIVERED] += cs->in_service_by_programme[g];
		}
		s->in_stage[FS_PROD_STAGE_RETIRED] = (uint32_t)ps->retired;
		memcpy(s->entered, ps->entered, sizeof(s->entered));
		s->built = ps->built;
		s->delivered = ps->delivered;
		s->retired = ps->retired;
		s->scrapped = ps->scrapped;
		s->calibration_failures = ps->calibration_failures;
		s->fleet = (uint32_t)(ps->delivered - ps->retired);
		ret->built += ps->built;
		ret->delivered += ps->delivered;
		ret->retired += ps->retired;
		ret->scrapped += ps->scrapped;
	}
	ret->integrator_count = p->integrator_count;
	for (uint32_t k = 0; k < p->integrator_count; k++) {
		struct fs_prod_integrator_stats *s = &ret->integrators[k];
		s->capacity_per_day = fs_production_integrator_capacity(&p->integrators[k], prod->day);
		s->started = prod->integrator_started[k];
		s->started_today = prod->integrator_started_today[k];
		for (uint16_t g = 0; g < p->programme_count; g++) {
			if (prod->prog[g].integrator == (int)k) {
				s->queued += (uint32_t)lots_sum(&prod->prog[g].queue[PIPE_INTEGRATION], -1);
				s->in_process += (uint32_t)lots_sum(&prod->prog[g].work[PIPE_INTEGRATION], -1);
			}
		}
	}
	for (uint16_t c = 0; c < p->city_count; c++) {
		const struct city_state *cs = &prod->city[c];
		struct fs_prod_city_stats *s = &ret->cities[c];
		s->phase = fs_production_city_phase(&p->cities[c], prod->day);
		s->fleet = cs->fleet_count;
		s->commissioning = (uint32_t)(lots_sum(&cs->comm_queue, -1) + lots_sum(&cs->comm_work, -1));
		s->grounded = grounded(prod, c);
		s->in_service = s->fleet - s->commissioning - s->grounded;
		s->inbound = cs->inbound;
		s->delivered = cs->delivered;
		s->retired = cs->retired;
		memcpy(s->fleet_by_programme, cs->fleet_by_programme, sizeof(s->fleet_by_programme));
		ret->fleet += cs->fleet_count;
	}
}

static void hash_lots(XXH3_state_t *st, const struct lots *l)
{
	for (size_t i = l->head; i < l->n; i++) {
		const struct lot *x = &l->v[i];
		if (!x->count) {
			continue;
		}
		int32_t f[6] = { x->build_day, x->ready_day, x->hold_until, (int32_t)x->count, x->programme, x->city };
		XXH3_64bits_update(st, f, sizeof(f));
	}
	uint32_t end = 0xffffffffu;
	XXH3_64bits_update(st, &end, sizeof(end));
}

uint64_t fs_production_hash(const struct fs_production *prod)
{
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	const struct fs_production_params *p = &prod->params;
	XXH3_64bits_update(&st, &prod->day, sizeof(prod->day));
	XXH3_64bits_update(&st, &prod->delivery_seq, sizeof(prod->delivery_seq));
	for (uint32_t g = 0; g < p->programme_count; g++) {
		const struct prog_state *ps = &prod->prog[g];
		uint64_t c[5] = { ps->built, ps->delivered, ps->retired, ps->scrapped, ps->calibration_failures };
		XXH3_64bits_update(&st, c, sizeof(c));
		XXH3_64bits_update(&st, ps->plant_built, sizeof(ps->plant_built));
		for (int k = 0; k < PIPE_COUNT; k++) {
			hash_lots(&st, &ps->queue[k]);
			hash_lots(&st, &ps->work[k]);
		}
	}
	const struct flywheel_state *fw = &prod->flywheel;
	double fwd[2] = { fw->km, fw->data_gb };
	XXH3_64bits_update(&st, fwd, sizeof(fwd));
	XXH3_64bits_update(&st, fw->release_day, sizeof(fw->release_day));
	for (uint32_t c = 0; c < p->city_count; c++) {
		const struct city_state *cs = &prod->city[c];
		uint64_t v[4] = { cs->delivered, cs->retired, cs->inbound, (uint64_t)cs->wrr };
		XXH3_64bits_update(&st, v, sizeof(v));
		hash_lots(&st, &cs->comm_queue);
		hash_lots(&st, &cs->comm_work);
		hash_lots(&st, &cs->fleet);
	}
	return XXH3_64bits_digest(&st);
}

uint32_t fs_production_vehicle_release(const struct fs_production *prod, uint64_t vehicle_key,
				       uint32_t factory_version, int32_t day)
{
	const struct fs_prod_flywheel *fw = &prod->params.flywheel;
	struct fs_rng rng;
	fs_rng_init(&rng, prod->seed, FS_RNG_STREAM_PRODUCTION,
		    fs_mix64(((uint64_t)DRAW_OTA_RANK << 56) ^ vehicle_key));
	double rank = fs_rng_uniform(&rng); /* its place in every staged rollout */
	uint32_t version = factory_version;
	for (uint32_t k = 0; k < fw->release_count; k++) {
		if (fw->releases[k].version > version && rank < flywheel_share(&prod->flywheel, fw, k, day)) {
			version = fw->releases[k].version;
		}
	}
	return version;
}

const char *fs_production_stage_name(int stage)
{
	static const char *const names[FS_PROD_STAGE_COUNT] = {
		[FS_PROD_STAGE_BUILD] = "build",
		[FS_PROD_STAGE_INTEGRATION] = "integration",
		[FS_PROD_STAGE_CALIBRATION] = "calibration",
		[FS_PROD_STAGE_REWORK] = "rework",
		[FS_PROD_STAGE_SHIPPING] = "shipping",
		[FS_PROD_STAGE_DELIVERED] = "in_service",
		[FS_PROD_STAGE_RETIRED] = "retired",
		[FS_PROD_STAGE_COMMISSIONING] = "commissioning",
	};
	return stage > 0 && stage < FS_PROD_STAGE_COUNT ? names[stage] : "?";
}

const char *fs_production_phase_name(int phase)
{
	switch (phase) {
	case FS_PROD_PHASE_DATA_COLLECTION:
		return "data-collection";
	case FS_PROD_PHASE_SUPERVISED:
		return "supervised";
	case FS_PROD_PHASE_DRIVERLESS:
		return "driverless";
	default:
		return "none";
	}
}
