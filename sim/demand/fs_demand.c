/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_demand - seeded Poisson generator of ride requests.
 *
 * Time: arrivals are a Poisson process whose rate is piecewise constant per
 * local-time slot of the profile (rate = trips_per_day x slot share / slot
 * length), local time being the city's clock (params.tz, daylight saving
 * included). Time is cut into FS_DEMAND_BUCKET_MS buckets aligned to t = 0;
 * slot lengths are whole minutes, so a bucket never straddles two slots.
 * Bucket b draws its count and its sorted arrival offsets from stream
 * (seed, DEMAND, b << 24), and arrival i of it draws its origin and
 * destination from stream (seed, DEMAND, (b << 24) | (i + 1)). A request is
 * therefore a function of (seed, b, i) alone: any slicing of a window, any
 * order of calls, and skipping requests outside the window give the same set.
 *
 * Space: the origin is a place drawn by weight (place weight x zone origin
 * weight). The destination honours the trip-length distribution: draw a
 * length L from the profile's histogram (uniform within its bin; route
 * lengths become beelines by dividing by the detour factor), then draw a
 * place by destination weight among those whose distance from the origin is
 * within L +- max(band_rel L, band_min_m). When the band holds no place
 * (e.g. L longer than the city), L is drawn again, which samples the
 * distribution truncated to what this origin can reach; after length_draws
 * tries the place whose distance is nearest the last L is taken.
 * Places sit in a static uniform grid; the band is scanned row by row over
 * only the cells that meet the annulus, in a fixed order, twice (sum, pick).
 *
 * Also the zone travel model (distance and time from a profile's detour
 * factor and hourly speeds).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/demand.h"
#include "fs/grow.h"
#include "fs/rng.h"

#define ARRIVAL_BITS 24
#define MAX_ARRIVALS ((1u << ARRIVAL_BITS) - 2)
#define MAX_BUCKET (INT64_C(1) << 39)

const double fs_demand_quantile_p[FS_DEMAND_QUANTILES] = { 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99 };

struct fs_demand {
	struct fs_demand_profile profile;
	uint64_t seed;
	double trips_per_day;
	struct fs_timezone tz; /* the city's clock for the slots (a copy) */
	double band_rel, band_min_m;
	uint32_t length_draws;
	double length_cdf[FS_DEMAND_MAX_BINS];
	double to_beeline; /* 1 / detour for route-length profiles */
	struct fs_demand_place *places;
	size_t n;
	double *origin_cum;
	double *dest_w;
	/* static grid over the places: CSR, cells row-major, places by index */
	double min_x, min_y, cell, inv_cell;
	uint32_t nx, ny;
	uint32_t *cell_first;
	uint32_t *cell_items;
};

void fs_demand_params_defaults(struct fs_demand_params *p)
{
	*p = (struct fs_demand_params){
		.seed = 1,
		.substream = 0,
		/* [est] A scenario sets this. 20,000 trips/day is ~1,000 robotaxis at
		 * 20 trips per vehicle-day (Waymo CA 19-26, CPUC; DOMAIN.md). */
		.trips_per_day = 20000.0,
		/* UTC; a scenario gives its city's zone (Atlanta: America/New_York) */
		.tz = NULL,
		.profile = NULL,
		/* Derived from the 2019 NYC TLC sample by tools/fs-demand-derive
		 * (docs/demand.md); relative to the project root. */
		.profile_path = "data/demand/nyc2019_profile.csv",
		.zone_weights = NULL,
		.zone_weight_count = 0,
		/* [est] +-5 % (at least 50 m, about a block face) keeps the
		 * generated length quantiles within ~2 % of the profile's
		 * (tests/unit/test_fs_demand.c) while finding places in the band. */
		.band_rel = 0.05,
		.band_min_m = 50.0,
		.length_draws = 8,
	};
}

void fs_demand_batch_finish(struct fs_demand_batch *b)
{
	if (!b) {
		return;
	}
	fs_free(b->items);
	*b = (struct fs_demand_batch){ 0 };
}

void fs_demand_destroy(struct fs_demand *d)
{
	if (!d) {
		return;
	}
	fs_free(d->places);
	fs_free(d->origin_cum);
	fs_free(d->dest_w);
	fs_free(d->cell_first);
	fs_free(d->cell_items);
	fs_timezone_finish(&d->tz);
	fs_free(d);
}

const struct fs_demand_profile *fs_demand_profile(const struct fs_demand *d)
{
	return &d->profile;
}

static double zone_weight(const struct fs_demand_params *p, int64_t zone, bool origin)
{
	if (!p->zone_weights) {
		return 1.0;
	}
	for (size_t i = 0; i < p->zone_weight_count; i++) {
		if (p->zone_weights[i].zone == zone) {
			return origin ? p->zone_weights[i].origin : p->zone_weights[i].dest;
		}
	}
	return 0.0;
}

static uint32_t grid_col(const struct fs_demand *d, double x)
{
	double c = floor((x - d->min_x) * d->inv_cell);
	return c < 0 ? 0 : c >= d->nx - 1 ? d->nx - 1 : (uint32_t)c;
}

static uint32_t grid_row(const struct fs_demand *d, double y)
{
	double c = floor((y - d->min_y) * d->inv_cell);
	return c < 0 ? 0 : c >= d->ny - 1 ? d->ny - 1 : (uint32_t)c;
}

static int build_grid(struct fs_demand *d)
{
	double max_x = -INFINITY, max_y = -INFINITY;
	d->min_x = d->min_y = INFINITY;
	for (size_t i = 0; i < d->n; i++) {
		d->min_x = fmin(d->min_x, d->places[i].x);
		d->min_y = fmin(d->min_y, d->places[i].y);
		max_x = fmax(max_x, d->places[i].x);
		max_y = fmax(max_y, d->places[i].y);
	}
	/* About four places per cell; at most 2048 x 2048 cells. */
	double area = fmax((max_x - d->min_x) * (max_y - d->min_y), 1.0);
	d->cell = fmax(sqrt(area / (double)d->n * 4.0), 1.0);
	d->cell = fmax(d->cell, fmax(max_x - d->min_x, max_y - d->min_y) / 2048.0);
	d->inv_cell = 1.0 / d->cell;
	d->nx = (uint32_t)floor((max_x - d->min_x) * d->inv_cell) + 1;
	d->ny = (uint32_t)floor((max_y - d->min_y) * d->inv_cell) + 1;
	size_t cells = (size_t)d->nx * d->ny;
	d->cell_first = fs_calloc(cells + 1, sizeof(*d->cell_first));
	d->cell_items = fs_malloc(d->n * sizeof(*d->cell_items));
	uint32_t *fill = fs_malloc(cells * sizeof(*fill));
	if (!d->cell_first || !d->cell_items || !fill) {
		fs_free(fill);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->n; i++) {
		d->cell_first[grid_row(d, d->places[i].y) * d->nx + grid_col(d, d->places[i].x) + 1]++;
	}
	for (size_t c = 0; c < cells; c++) {
		d->cell_first[c + 1] += d->cell_first[c];
	}
	memcpy(fill, d->cell_first, cells * sizeof(*fill));
	for (size_t i = 0; i < d->n; i++) {
		size_t c = (size_t)grid_row(d, d->places[i].y) * d->nx + grid_col(d, d->places[i].x);
		d->cell_items[fill[c]++] = (uint32_t)i;
	}
	fs_free(fill);
	return 0;
}

struct fs_demand *fs_demand_create_from_profile(const struct fs_demand_params *params,
						const struct fs_demand_place *places, size_t n,
						struct fs_error *err)
{
	const struct fs_demand_params *p = params;
	if (!(p->trips_per_day >= 0.0) || !isfinite(p->trips_per_day) || !(p->band_rel >= 0.0) ||
	    !(p->band_min_m >= 0.0) || p->length_draws == 0) {
		fs_error_set(err, -EINVAL, "demand: bad parameters (trips_per_day, band_rel, band_min_m, "
					   "length_draws >= 1)");
		return NULL;
	}
	if (n == 0 || n >= UINT32_MAX) {
		fs_error_set(err, -EINVAL, "demand: needs 1 to 2^32-2 places, got %zu", n);
		return NULL;
	}
	struct fs_demand *d = fs_calloc(1, sizeof(*d));
	if (!d) {
		fs_error_set(err, -ENOMEM, "demand: out of memory");
		return NULL;
	}
	if (!p->profile) {
		fs_error_set(err, -EINVAL, "demand: no profile");
		goto out_destroy;
	}
	d->profile = *p->profile;
	const struct fs_demand_profile *pr = &d->profile;
	if (pr->slots_per_day == 0 || pr->slots_per_day > FS_DEMAND_MAX_SLOTS ||
	    1440 % pr->slots_per_day != 0 || pr->length_m.bin_count == 0 ||
	    pr->length_m.bin_count > FS_DEMAND_MAX_BINS) {
		fs_error_set(err, -EINVAL, "demand: profile \"%s\" has bad slots or no length histogram",
			     pr->name);
		goto out_destroy;
	}
	d->seed = p->seed ^ fs_mix64((uint64_t)p->substream + 1);
	d->trips_per_day = p->trips_per_day;
	if (p->tz && fs_timezone_copy(&d->tz, p->tz) < 0) { /* without one, calloc's zeros are UTC */
		fs_error_set(err, -ENOMEM, "demand: out of memory");
		goto out_destroy;
	}
	d->band_rel = p->band_rel;
	d->band_min_m = p->band_min_m;
	d->length_draws = p->length_draws;
	double cum = 0;
	for (uint32_t i = 0; i < pr->length_m.bin_count; i++) {
		cum += pr->length_m.share[i];
		d->length_cdf[i] = cum;
	}
	d->to_beeline = pr->length_kind == FS_DEMAND_LENGTH_ROUTE && pr->detour_factor > 0
				? 1.0 / pr->detour_factor
				: 1.0;

	d->n = n;
	d->places = fs_malloc(n * sizeof(*d->places));
	d->origin_cum = fs_malloc(n * sizeof(*d->origin_cum));
	d->dest_w = fs_malloc(n * sizeof(*d->dest_w));
	if (!d->places || !d->origin_cum || !d->dest_w) {
		fs_error_set(err, -ENOMEM, "demand: out of memory");
		goto out_destroy;
	}
	memcpy(d->places, places, n * sizeof(*places));
	double o_sum = 0, d_sum = 0;
	for (size_t i = 0; i < n; i++) {
		const struct fs_demand_place *pl = &places[i];
		if (!isfinite(pl->x) || !isfinite(pl->y) || !(pl->weight >= 0.0) || !isfinite(pl->weight)) {
			fs_error_set(err, -EINVAL, "demand: place %zu has a bad position or weight", i);
			goto out_destroy;
		}
		o_sum += pl->weight * zone_weight(p, pl->zone, true);
		d->origin_cum[i] = o_sum;
		d->dest_w[i] = pl->weight * zone_weight(p, pl->zone, false);
		d_sum += d->dest_w[i];
	}
	if (!(o_sum > 0.0) || !(d_sum > 0.0)) {
		fs_error_set(err, -EINVAL, "demand: no place has a positive %s weight",
			     o_sum > 0.0 ? "destination" : "origin");
		goto out_destroy;
	}
	if (build_grid(d) < 0) {
		fs_error_set(err, -ENOMEM, "demand: out of memory");
		goto out_destroy;
	}
	return d;

out_destroy:
	fs_demand_destroy(d);
	return NULL;
}

/* ---- drawing ---- */

static uint32_t draw_origin(const struct fs_demand *d, struct fs_rng *rng)
{
	double target = fs_rng_uniform(rng) * d->origin_cum[d->n - 1];
	size_t lo = 0, hi = d->n - 1;
	while (lo < hi) { /* first place whose cumulative weight exceeds target */
		size_t mid = (lo + hi) / 2;
		if (d->origin_cum[mid] > target) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return (uint32_t)lo;
}

/* A beeline length from the profile's histogram. */
static double draw_length(const struct fs_demand *d, struct fs_rng *rng)
{
	const struct fs_demand_histogram *h = &d->profile.length_m;
	double u = fs_rng_uniform(rng) * d->length_cdf[h->bin_count - 1];
	uint32_t lo = 0, hi = h->bin_count - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (d->length_cdf[mid] > u) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	double len = h->edges[lo] + fs_rng_uniform(rng) * (h->edges[lo + 1] - h->edges[lo]);
	return len * d->to_beeline;
}

/*
 * Sum of destination weights of places (other than @exclude) whose distance
 * from (ox, oy) is in [lo, hi]. With @target >= 0, stop at the place where
 * the running sum first exceeds @target and store it in *found.
 */
static double band_scan(const struct fs_demand *d, double ox, double oy, double lo, double hi,
			uint32_t exclude, double target, uint32_t *found)
{
	double sum = 0.0, lo2 = lo * lo, hi2 = hi * hi;
	uint32_t r0 = grid_row(d, oy - hi), r1 = grid_row(d, oy + hi);
	for (uint32_t cy = r0; cy <= r1; cy++) {
		double y0 = d->min_y + cy * d->cell, y1 = y0 + d->cell;
		double dy_min = fmax(0.0, fmax(y0 - oy, oy - y1));
		if (dy_min > hi) {
			continue;
		}
		double dy_max = fmax(fabs(y0 - oy), fabs(y1 - oy));
		double wx = sqrt(hi2 - dy_min * dy_min);
		int64_t ca = grid_col(d, ox - wx), cb = grid_col(d, ox + wx);
		/* Columns whose cells lie wholly inside the inner circle. */
		int64_t skip_a = 1, skip_b = 0;
		if (lo > dy_max) {
			double win = sqrt(lo2 - dy_max * dy_max);
			skip_a = (int64_t)ceil((ox - win - d->min_x) * d->inv_cell);
			skip_b = (int64_t)floor((ox + win - d->min_x) * d->inv_cell) - 1;
		}
		for (int64_t cx = ca; cx <= cb; cx++) {
			if (cx >= skip_a && cx <= skip_b) {
				cx = skip_b;
				continue;
			}
			size_t c = (size_t)cy * d->nx + (size_t)cx;
			for (uint32_t k = d->cell_first[c]; k < d->cell_first[c + 1]; k++) {
				uint32_t j = d->cell_items[k];
				double w = d->dest_w[j];
				if (j == exclude || w <= 0.0) {
					continue;
				}
				double dx = d->places[j].x - ox, dy = d->places[j].y - oy;
				double d2 = dx * dx + dy * dy;
				if (d2 < lo2 || d2 > hi2) {
					continue;
				}
				sum += w;
				*found = j; /* the last candidate, should rounding leave sum <= target */
				if (target >= 0.0 && sum > target) {
					return sum;
				}
			}
		}
	}
	return sum;
}

static uint32_t draw_destination(const struct fs_demand *d, uint32_t o, struct fs_rng *rng)
{
	double ox = d->places[o].x, oy = d->places[o].y;
	double len = 0.0;
	for (uint32_t attempt = 0; attempt < d->length_draws; attempt++) {
		len = draw_length(d, rng);
		double half = fmax(d->band_rel * len, d->band_min_m);
		double lo = fmax(0.0, len - half), hi = len + half;
		uint32_t found = o;
		double total = band_scan(d, ox, oy, lo, hi, o, -1.0, &found);
		if (total > 0.0) {
			double target = fs_rng_uniform(rng) * total;
			band_scan(d, ox, oy, lo, hi, o, target, &found);
			return found;
		}
	}
	/* Fallback: the place whose distance is nearest the last length. */
	uint32_t best = o;
	double best_err = INFINITY;
	for (uint32_t j = 0; j < d->n; j++) {
		if (j == o || d->dest_w[j] <= 0.0) {
			continue;
		}
		double err = fabs(hypot(d->places[j].x - ox, d->places[j].y - oy) - len);
		if (err < best_err) {
			best_err = err;
			best = j;
		}
	}
	return best; /* the origin itself only when it is the sole destination */
}

double fs_demand_internal_share(const struct fs_demand *d, const struct fs_geofence_zone *area,
				uint32_t samples, uint64_t seed)
{
	struct fs_rng rng;
	/* entity UINT64_MAX: generated requests use (bucket << 24) | arrival < 2^63 */
	fs_rng_init(&rng, seed, FS_RNG_STREAM_DEMAND, UINT64_MAX);
	uint32_t inside = 0;
	for (uint32_t i = 0; i < samples; i++) {
		const struct fs_demand_place *o = &d->places[draw_origin(d, &rng)];
		double len = draw_length(d, &rng);
		double angle = 2.0 * M_PI * fs_rng_uniform(&rng);
		inside += fs_geofence_zone_contains(area, o->x + len * cos(angle), o->y + len * sin(angle));
	}
	return samples ? (double)inside / samples : 0.0;
}

static int batch_reserve(struct fs_demand_batch *b, size_t more)
{
	return FS_GROW(b->items, b->capacity, b->count + more);
}

static int u32_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	return a < b ? -1 : a > b;
}

int64_t fs_demand_generate(const struct fs_demand *d, int64_t t0_ms, int64_t t1_ms,
			   struct fs_demand_batch *out)
{
	if (t0_ms < 0 || t1_ms > MAX_BUCKET * FS_DEMAND_BUCKET_MS) {
		return -EINVAL;
	}
	if (t1_ms <= t0_ms) {
		return 0;
	}
	size_t before = out->count;
	const struct fs_demand_profile *pr = &d->profile;
	uint32_t slot_s = 86400u / pr->slots_per_day;
	double per_bucket = d->trips_per_day * ((double)FS_DEMAND_BUCKET_MS / 1000.0) / slot_s;
	uint32_t local[512], *offsets = local;
	size_t offsets_cap = 512;
	int r = 0;
	for (int64_t b = t0_ms / FS_DEMAND_BUCKET_MS; b <= (t1_ms - 1) / FS_DEMAND_BUCKET_MS; b++) {
		int64_t start = b * FS_DEMAND_BUCKET_MS;
		/* the slot the bucket starts in (zones change offset on whole minutes since 1972) */
		uint32_t slot = (uint32_t)fs_calendar_second_of_day(fs_timezone_local_ms(&d->tz, start)) / slot_s;
		struct fs_rng rng;
		fs_rng_init(&rng, d->seed, FS_RNG_STREAM_DEMAND, (uint64_t)b << ARRIVAL_BITS);
		uint64_t k = fs_rng_poisson(&rng, per_bucket * pr->slot_share[slot]);
		if (k > MAX_ARRIVALS) {
			k = MAX_ARRIVALS;
		}
		if (k > offsets_cap) {
			uint32_t *o = fs_malloc(k * sizeof(*o));
			if (!o) {
				r = -ENOMEM;
				break;
			}
			if (offsets != local) {
				fs_free(offsets);
			}
			offsets = o;
			offsets_cap = k;
		}
		for (uint64_t i = 0; i < k; i++) {
			offsets[i] = (uint32_t)fs_rng_below(&rng, FS_DEMAND_BUCKET_MS);
		}
		qsort(offsets, k, sizeof(*offsets), u32_cmp);
		if (batch_reserve(out, k) < 0) {
			r = -ENOMEM;
			break;
		}
		for (uint64_t i = 0; i < k; i++) {
			int64_t t = start + offsets[i];
			if (t < t0_ms || t >= t1_ms) {
				continue;
			}
			uint64_t key = ((uint64_t)b << ARRIVAL_BITS) | (i + 1);
			fs_rng_init(&rng, d->seed, FS_RNG_STREAM_DEMAND, key);
			uint32_t o = draw_origin(d, &rng);
			uint32_t dst = draw_destination(d, o, &rng);
			const struct fs_demand_place *po = &d->places[o], *pd = &d->places[dst];
			out->items[out->count++] = (struct fs_demand_request){
				.id = ((uint64_t)b << ARRIVAL_BITS) | i,
				.t_ms = t,
				.origin = { po->x, po->y },
				.dest = { pd->x, pd->y },
				.origin_zone = po->zone,
				.dest_zone = pd->zone,
				.origin_place = o,
				.dest_place = dst,
				.beeline_m = hypot(pd->x - po->x, pd->y - po->y),
			};
		}
	}
	if (offsets != local) {
		fs_free(offsets);
	}
	if (r < 0) {
		out->count = before;
		return r;
	}
	return (int64_t)(out->count - before);
}

/* ---- places ---- */

int fs_demand_places_from_network(const struct fs_network *net, bool scc_only,
				  struct fs_demand_place **ret_places, size_t *ret_count)
{
	uint8_t *mask = NULL;
	const uint8_t *in_scc = net->in_largest_scc;
	if (scc_only && !in_scc) {
		mask = fs_malloc(net->node_count ? net->node_count : 1);
		if (!mask || fs_network_largest_scc(net, mask) < 0) {
			fs_free(mask);
			return -ENOMEM;
		}
		in_scc = mask;
	}
	struct fs_demand_place *p = fs_malloc((net->node_count ? net->node_count : 1) * sizeof(*p));
	if (!p) {
		fs_free(mask);
		return -ENOMEM;
	}
	size_t n = 0;
	for (uint32_t i = 0; i < net->node_count; i++) {
		if (scc_only && !in_scc[i]) {
			continue;
		}
		p[n++] = (struct fs_demand_place){ .x = net->nodes[i].x, .y = net->nodes[i].y,
						   .zone = FS_DEMAND_NO_ZONE, .weight = 1.0 };
	}
	fs_free(mask);
	*ret_places = p;
	*ret_count = n;
	return 0;
}

void fs_demand_places_label(struct fs_demand_place *places, size_t n, const struct fs_geofence *g)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t z;
		places[i].zone = fs_geofence_zones_at(g, places[i].x, places[i].y, &z, 1)
					 ? fs_geofence_zone_id(fs_geofence_zone(g, z))
					 : FS_DEMAND_NO_ZONE;
	}
}

/* ---- travel model ---- */

int fs_demand_travel_model_init(struct fs_demand_travel_model *m,
				const struct fs_demand_profile *p, const struct fs_timezone *tz)
{
	if (!(p->detour_factor >= 1.0)) {
		return -EINVAL;
	}
	for (int h = 0; h < 24; h++) {
		if (!(p->hour_speed_mps[h] > 0.0)) {
			return -EINVAL;
		}
	}
	m->detour_factor = p->detour_factor;
	memcpy(m->hour_speed_mps, p->hour_speed_mps, sizeof(m->hour_speed_mps));
	m->tz = tz;
	return 0;
}

double fs_demand_travel_distance_m(const struct fs_demand_travel_model *m, struct fs_point a,
				   struct fs_point b)
{
	return hypot(b.x - a.x, b.y - a.y) * m->detour_factor;
}

double fs_demand_travel_time_s(const struct fs_demand_travel_model *m, struct fs_point a,
			       struct fs_point b, int64_t t_ms)
{
	int hour = fs_calendar_second_of_day(fs_timezone_local_ms(m->tz, t_ms)) / 3600;
	return fs_demand_travel_distance_m(m, a, b) / m->hour_speed_mps[hour];
}
