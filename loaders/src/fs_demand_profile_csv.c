/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_demand_profile_csv - demand profiles derived from real trip records
 * (NYC TLC, Chicago taxi CSVs), the profile's own CSV form, zone tables and
 * zone weights. The profile itself and the travel model are sim/ (fs/demand.h).
 *
 * Derivation keeps every kept record's distance and duration so the
 * quantiles are exact; the histograms use fixed bins that are fine where
 * most trips are (0.1 mi up to 3 mi, 1 min up to 1 h) and coarser in the
 * tail, so sampling uniformly within a bin reproduces the quantiles.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/demand.h"
#include "fs/demand_load.h"
#include "fs/grow.h"
#include "fs_demand_csv.h"

#define METRES_PER_MILE 1609.344
#define EARTH_RADIUS_M 6371008.8 /* mean Earth radius, as data/README.md's graph lengths */
#define MIN_DURATION_S 30.0      /* drop rule: < 0.5 min */
#define MAX_DURATION_S 10800.0   /* drop rule: > 3 h */
#define DETOUR_MIN_BEELINE_M 2000.0 /* centroid noise is small against 2 km */

/* Bin edges in miles for trip lengths and minutes for durations. */
static void length_edges(struct fs_demand_histogram *h)
{
	uint32_t n = 0;
	double *e = h->edges;
	for (int i = 0; i < 30; i++) {
		e[n++] = 0.1 * i; /* 0 .. 2.9 */
	}
	for (int i = 0; i < 12; i++) {
		e[n++] = 3.0 + 0.25 * i;
	}
	for (int i = 0; i < 12; i++) {
		e[n++] = 6.0 + 0.5 * i;
	}
	for (int i = 0; i < 8; i++) {
		e[n++] = 12.0 + i;
	}
	static const double tail[] = { 20, 25, 30, 40, 60 };
	for (int i = 0; i < 5; i++) {
		e[n++] = tail[i];
	}
	for (uint32_t i = 0; i < n; i++) {
		e[i] *= METRES_PER_MILE;
	}
	h->bin_count = n - 1;
}

static void duration_edges(struct fs_demand_histogram *h)
{
	uint32_t n = 0;
	double *e = h->edges;
	for (int i = 0; i < 60; i++) {
		e[n++] = 60.0 * i;
	}
	for (int i = 0; i < 12; i++) {
		e[n++] = 3600.0 + 300.0 * i;
	}
	for (int i = 0; i <= 4; i++) {
		e[n++] = 7200.0 + 900.0 * i;
	}
	h->bin_count = n - 1;
}

static void hist_add(struct fs_demand_histogram *h, double v)
{
	/* Values past the last edge count in the last bin. */
	uint32_t lo = 0, hi = h->bin_count - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi + 1) / 2;
		if (h->edges[mid] <= v) {
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	h->share[lo] += 1.0;
}

static void normalise(double *v, size_t n)
{
	double sum = 0.0;
	for (size_t i = 0; i < n; i++) {
		sum += v[i];
	}
	if (sum > 0.0) {
		for (size_t i = 0; i < n; i++) {
			v[i] /= sum;
		}
	}
}

static int double_cmp(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return a < b ? -1 : a > b;
}

/* Linear interpolation between order statistics (Hyndman & Fan type 7). */
static double quantile(const double *sorted, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t i = (size_t)floor(h);
	if (i + 1 >= n) {
		return sorted[n - 1];
	}
	return sorted[i] + (h - (double)i) * (sorted[i + 1] - sorted[i]);
}

static double haversine_m(double lat1, double lon1, double lat2, double lon2)
{
	double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2.0 * EARTH_RADIUS_M * asin(fmin(1.0, sqrt(a)));
}

/* ---- accumulation over records ---- */

enum source_kind { SOURCE_TLC, SOURCE_CHICAGO };

struct acc {
	enum source_kind kind;
	struct fs_demand_profile *p;
	struct fs_error *err;
	int col[8];
	bool have_header;
	double *len, *dur;
	size_t n, cap;
	double hour_dist[24], hour_time[24];
	/* detour (TLC with zones, Chicago with coordinates) */
	const struct fs_demand_zones *zones;
	double min_beeline_m;
	double *ratio;
	size_t nr, rcap;
	double sum_route, sum_bee;
	/* pickups and drop-offs per zone (index into zones) */
	double *zone_o, *zone_d;
};

enum { TLC_PICK, TLC_DROP, TLC_DIST, TLC_PZONE, TLC_DZONE };
static const char *const tlc_cols[] = { "pickup_datetime", "dropoff_datetime", "trip_distance",
					"pickup_location_id", "dropoff_location_id" };
enum { CHI_START, CHI_SECS, CHI_MILES, CHI_PLAT, CHI_PLON, CHI_DLAT, CHI_DLON };
static const char *const chi_cols[] = { "trip_start_timestamp", "trip_seconds", "trip_miles",
					"pickup_latitude", "pickup_longitude", "dropoff_latitude",
					"dropoff_longitude" };

static int push_double(double **arr, size_t *n, size_t *cap, double v)
{
	if (fs_grow((void **)arr, cap, *n + 1, sizeof(**arr)) < 0) {
		return -ENOMEM;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

/* Field @c of @row: NULL when the row is too short. */
static const char *field(const struct acc *a, const struct fs_demand_csv_row *row, int c)
{
	int i = a->col[c];
	return i >= 0 && (size_t)i < row->count ? row->fields[i] : NULL;
}

static int need_field(const struct acc *a, const struct fs_demand_csv_row *row, int c,
		      const char *name, const char **ret)
{
	const char *f = field(a, row, c);
	if (!f) {
		return fs_demand_csv_fail(row, (size_t)a->col[c], a->err,
					  "missing column %s (the row has %zu fields)", name, row->count);
	}
	*ret = f;
	return 0;
}

static int number_field(const struct acc *a, const struct fs_demand_csv_row *row, int c,
			const char *name, double *ret, bool *ret_empty)
{
	const char *f = "";
	int r = need_field(a, row, c, name, &f);
	if (r < 0) {
		return r;
	}
	*ret_empty = *f == '\0';
	if (*ret_empty) {
		return 0;
	}
	if (!fs_demand_csv_double(f, ret)) {
		return fs_demand_csv_fail(row, (size_t)a->col[c], a->err, "%s: \"%s\" is not a number",
					  name, f);
	}
	return 0;
}

static int zone_field(const struct acc *a, const struct fs_demand_csv_row *row, int c,
		      const char *name, int64_t *ret)
{
	const char *f = "";
	int r = need_field(a, row, c, name, &f);
	if (r < 0) {
		return r;
	}
	char *end;
	long long v = strtoll(f, &end, 10);
	if (!*f || *end) {
		return fs_demand_csv_fail(row, (size_t)a->col[c], a->err,
					  "%s: \"%s\" is not a zone id", name, f);
	}
	*ret = v;
	return 0;
}

/* The columns @names; the first @required must be there. */
static int header(struct acc *a, const struct fs_demand_csv_row *row, const char *const *names,
		  int count, int required)
{
	int rc = fs_demand_csv_columns(row, names, count, (1u << required) - 1, a->col, a->err);
	a->have_header = rc == 0;
	return rc;
}

/* Filters and accumulates one trip; returns true when kept. */
static int keep_trip(struct acc *a, int64_t start_ms, double dist_m, double dur_s, bool *kept)
{
	struct fs_demand_profile *p = a->p;
	*kept = false;
	if (!(dist_m > 0.0)) {
		p->source.dropped_zero++;
		return 0;
	}
	if (dur_s < MIN_DURATION_S) {
		p->source.dropped_short++;
		return 0;
	}
	if (dur_s > MAX_DURATION_S) {
		p->source.dropped_long++;
		return 0;
	}
	*kept = true;
	p->source.kept++;
	int sod = fs_calendar_second_of_day(start_ms);
	p->slot_share[(uint32_t)sod / (86400u / p->slots_per_day)] += 1.0;
	a->hour_dist[sod / 3600] += dist_m;
	a->hour_time[sod / 3600] += dur_s;
	hist_add(&p->length_m, dist_m);
	hist_add(&p->duration_s, dur_s);
	size_t n2 = a->n, c2 = a->cap;
	if (push_double(&a->len, &a->n, &a->cap, dist_m) < 0 ||
	    push_double(&a->dur, &n2, &c2, dur_s) < 0) {
		return -ENOMEM;
	}
	return 0;
}

static int add_ratio(struct acc *a, double route_m, double bee_m)
{
	if (bee_m < a->min_beeline_m) {
		return 0;
	}
	a->sum_route += route_m;
	a->sum_bee += bee_m;
	return push_double(&a->ratio, &a->nr, &a->rcap, route_m / bee_m);
}

static int on_tlc_row(void *user, const struct fs_demand_csv_row *row)
{
	struct acc *a = user;
	if (!a->have_header) {
		return header(a, row, tlc_cols, 5, a->zones ? 5 : 3);
	}
	struct fs_demand_profile *p = a->p;
	p->source.read++;
	const char *pick = "", *drop = "";
	double miles;
	bool empty;
	int r;
	if ((r = need_field(a, row, TLC_PICK, "pickup_datetime", &pick)) < 0 ||
	    (r = need_field(a, row, TLC_DROP, "dropoff_datetime", &drop)) < 0 ||
	    (r = number_field(a, row, TLC_DIST, "trip_distance", &miles, &empty)) < 0) {
		return r;
	}
	if (empty || !*pick || !*drop) {
		p->source.dropped_missing++;
		return 0;
	}
	int64_t t0, t1;
	if (fs_calendar_parse(pick, &t0) < 0) {
		return fs_demand_csv_fail(row, (size_t)a->col[TLC_PICK], a->err,
					  "pickup_datetime: \"%s\" is not a date-time", pick);
	}
	if (fs_calendar_parse(drop, &t1) < 0) {
		return fs_demand_csv_fail(row, (size_t)a->col[TLC_DROP], a->err,
					  "dropoff_datetime: \"%s\" is not a date-time", drop);
	}
	double dist_m = miles * METRES_PER_MILE;
	bool kept;
	r = keep_trip(a, t0, dist_m, (double)(t1 - t0) / 1000.0, &kept);
	if (r < 0 || !kept || !a->zones) {
		return r;
	}
	int64_t pz, dz;
	if ((r = zone_field(a, row, TLC_PZONE, "pickup_location_id", &pz)) < 0 ||
	    (r = zone_field(a, row, TLC_DZONE, "dropoff_location_id", &dz)) < 0) {
		return r;
	}
	const struct fs_demand_zone *zo = fs_demand_zones_find(a->zones, pz);
	const struct fs_demand_zone *zd = fs_demand_zones_find(a->zones, dz);
	if (zo && a->zone_o) {
		a->zone_o[zo - a->zones->zones] += 1.0;
	}
	if (zd && a->zone_d) {
		a->zone_d[zd - a->zones->zones] += 1.0;
	}
	if (zo && zd && zo != zd) {
		double bee = haversine_m(zo->lat, zo->lon, zd->lat, zd->lon);
		return add_ratio(a, dist_m, bee);
	}
	return 0;
}

static int on_chicago_row(void *user, const struct fs_demand_csv_row *row)
{
	struct acc *a = user;
	if (!a->have_header) {
		return header(a, row, chi_cols, 7, 3);
	}
	struct fs_demand_profile *p = a->p;
	p->source.read++;
	double start_s, secs, miles;
	bool e1, e2, e3;
	int r;
	if ((r = number_field(a, row, CHI_START, "trip_start_timestamp", &start_s, &e1)) < 0 ||
	    (r = number_field(a, row, CHI_SECS, "trip_seconds", &secs, &e2)) < 0 ||
	    (r = number_field(a, row, CHI_MILES, "trip_miles", &miles, &e3)) < 0) {
		return r;
	}
	if (e1 || e2 || e3) {
		p->source.dropped_missing++;
		return 0;
	}
	double dist_m = miles * METRES_PER_MILE;
	bool kept;
	r = keep_trip(a, (int64_t)llround(start_s * 1000.0), dist_m, secs, &kept);
	if (r < 0 || !kept || a->col[CHI_PLAT] < 0 || a->col[CHI_PLON] < 0 || a->col[CHI_DLAT] < 0 ||
	    a->col[CHI_DLON] < 0) {
		return r;
	}
	double c[4];
	bool empty = false;
	for (int k = 0; k < 4; k++) {
		bool e;
		r = number_field(a, row, CHI_PLAT + k, chi_cols[CHI_PLAT + k], &c[k], &e);
		if (r < 0) {
			return r;
		}
		empty |= e;
	}
	if (empty) {
		return 0; /* no coordinates: the trip counts, only not for the detour */
	}
	return add_ratio(a, dist_m, haversine_m(c[0], c[1], c[2], c[3]));
}

static void profile_start(struct fs_demand_profile *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->slots_per_day = 24;
	p->length_kind = FS_DEMAND_LENGTH_ROUTE;
	length_edges(&p->length_m);
	duration_edges(&p->duration_s);
}

static void acc_free(struct acc *a)
{
	fs_free(a->len);
	fs_free(a->dur);
	fs_free(a->ratio);
	fs_free(a->zone_o);
	fs_free(a->zone_d);
}

static int run(struct acc *a, const char *const *paths, size_t n, struct fs_error *err)
{
	for (size_t i = 0; i < n; i++) {
		a->have_header = false;
		int r = fs_demand_csv_read(paths[i], a->kind == SOURCE_TLC ? on_tlc_row : on_chicago_row,
					   a, err);
		if (r < 0) {
			return r;
		}
		if (!a->have_header) {
			return fs_error_at(err, -EINVAL, paths[i], 0, 0, "no header row");
		}
	}
	if (a->p->source.kept == 0) {
		return fs_error_set(err, -EINVAL, "no trips kept from %zu file(s)", n);
	}
	return 0;
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), double_cmp);
	return quantile(v, n, 0.5);
}

static void profile_finish(struct acc *a)
{
	struct fs_demand_profile *p = a->p;
	normalise(p->slot_share, p->slots_per_day);
	normalise(p->length_m.share, p->length_m.bin_count);
	normalise(p->duration_s.share, p->duration_s.bin_count);
	double sl = 0, sd = 0;
	for (size_t i = 0; i < a->n; i++) {
		sl += a->len[i];
		sd += a->dur[i];
	}
	p->mean_length_m = sl / (double)a->n;
	p->mean_duration_s = sd / (double)a->n;
	qsort(a->len, a->n, sizeof(*a->len), double_cmp);
	qsort(a->dur, a->n, sizeof(*a->dur), double_cmp);
	for (int q = 0; q < FS_DEMAND_QUANTILES; q++) {
		p->length_quantile_m[q] = quantile(a->len, a->n, fs_demand_quantile_p[q]);
		p->duration_quantile_s[q] = quantile(a->dur, a->n, fs_demand_quantile_p[q]);
	}
	for (int h = 0; h < 24; h++) {
		p->hour_speed_mps[h] = a->hour_time[h] > 0 ? a->hour_dist[h] / a->hour_time[h] : 0.0;
	}
}

/*
 * The profile of the trips of @paths, records of @kind. Where records give
 * both ends (Chicago's centroids) the detour factor is the median of route
 * over beeline for trips of at least @min_beeline_m; TLC's name zones, not
 * places, and leave it 0.
 */
static int profile_from(enum source_kind kind, const char *name, double min_beeline_m, const char *const *paths,
			size_t n, struct fs_demand_profile *ret_profile, struct fs_error *err)
{
	struct fs_demand_profile *p = fs_malloc(sizeof(*p));
	if (!p) {
		return fs_error_set(err, -ENOMEM, "out of memory");
	}
	profile_start(p, name);
	struct acc a = { .kind = kind, .p = p, .err = err, .min_beeline_m = min_beeline_m };
	int r = run(&a, paths, n, err);
	if (r == 0) {
		profile_finish(&a);
		p->detour_factor = a.nr ? median_of(a.ratio, a.nr) : 0.0;
		*ret_profile = *p;
	}
	acc_free(&a);
	fs_free(p);
	return r;
}

int fs_demand_profile_from_tlc(const char *const *paths, size_t n,
			       struct fs_demand_profile *ret_profile, struct fs_error *err)
{
	return profile_from(SOURCE_TLC, "nyc_tlc", 0.0, paths, n, ret_profile, err);
}

int fs_demand_profile_from_chicago(const char *const *paths, size_t n,
				   struct fs_demand_profile *ret_profile, struct fs_error *err)
{
	return profile_from(SOURCE_CHICAGO, "chicago", DETOUR_MIN_BEELINE_M, paths, n, ret_profile, err);
}

int fs_demand_detour_from_tlc(const char *const *paths, size_t n,
			      const struct fs_demand_zones *zones, double min_beeline_m,
			      struct fs_demand_detour *ret, struct fs_error *err)
{
	struct fs_demand_profile *p = fs_malloc(sizeof(*p));
	if (!p) {
		return fs_error_set(err, -ENOMEM, "out of memory");
	}
	profile_start(p, "detour");
	struct acc a = { .kind = SOURCE_TLC, .p = p, .err = err, .zones = zones,
			 .min_beeline_m = min_beeline_m };
	int r = run(&a, paths, n, err);
	if (r == 0 && a.nr == 0) {
		r = fs_error_set(err, -EINVAL, "no trips between known zones %g m or more apart",
				 min_beeline_m);
	}
	if (r == 0) {
		ret->trips = a.nr;
		ret->sum_ratio = a.sum_route / a.sum_bee;
		ret->median_ratio = median_of(a.ratio, a.nr);
	}
	acc_free(&a);
	fs_free(p);
	return r;
}

int fs_demand_zone_weights_from_tlc(const char *const *paths, size_t n,
				    const struct fs_demand_zones *zones,
				    struct fs_demand_zone_weight **ret_weights, size_t *ret_count,
				    struct fs_error *err)
{
	struct fs_demand_profile *p = fs_malloc(sizeof(*p));
	struct acc a = { .kind = SOURCE_TLC, .p = p, .err = err, .zones = zones,
			 .min_beeline_m = INFINITY };
	a.zone_o = fs_calloc(zones->count ? zones->count : 1, sizeof(double));
	a.zone_d = fs_calloc(zones->count ? zones->count : 1, sizeof(double));
	int r = -ENOMEM;
	if (!p || !a.zone_o || !a.zone_d) {
		fs_error_set(err, r, "out of memory");
		goto out;
	}
	profile_start(p, "zones");
	r = run(&a, paths, n, err);
	if (r < 0) {
		goto out;
	}
	normalise(a.zone_o, zones->count);
	normalise(a.zone_d, zones->count);
	struct fs_demand_zone_weight *w = fs_calloc(zones->count ? zones->count : 1, sizeof(*w));
	if (!w) {
		r = fs_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < zones->count; i++) {
		w[i] = (struct fs_demand_zone_weight){ zones->zones[i].id, a.zone_o[i], a.zone_d[i] };
	}
	*ret_weights = w;
	*ret_count = zones->count;
out:
	acc_free(&a);
	fs_free(p);
	return r;
}

/* ---- profile CSV ---- */

static void write_comment(FILE *fp, const char *comment)
{
	if (!comment) {
		return;
	}
	const char *s = comment;
	while (*s) {
		size_t n = strcspn(s, "\n");
		fprintf(fp, "# %.*s\n", (int)n, s);
		s += n;
		if (*s == '\n') {
			s++;
		}
	}
}

static int close_written(FILE *fp, const char *path, struct fs_error *err)
{
	bool bad = ferror(fp);
	if (fclose(fp) != 0 || bad) {
		return fs_error_at(err, -EIO, path, 0, 0, "write error");
	}
	return 0;
}

int fs_demand_profile_save(const struct fs_demand_profile *p, const char *path,
			   const char *comment, struct fs_error *err)
{
	if (strpbrk(p->name, ",\"\n") || !p->slots_per_day) {
		return fs_error_at(err, -EINVAL, path, 0, 0, "profile name or slots not writable");
	}
	FILE *fp = fopen(path, "w");
	if (!fp) {
		int e = errno;
		return fs_error_at(err, -e, path, 0, 0, "cannot create: %s", strerror(e));
	}
	write_comment(fp, comment);
	const struct fs_demand_source *s = &p->source;
	fprintf(fp, "table,lo,hi,value\n");
	fprintf(fp, "name,,,%s\n", p->name);
	fprintf(fp, "source_read,,,%llu\nsource_kept,,,%llu\n", (unsigned long long)s->read,
		(unsigned long long)s->kept);
	fprintf(fp, "dropped_zero,,,%llu\ndropped_short,,,%llu\ndropped_long,,,%llu\n"
		    "dropped_missing,,,%llu\n",
		(unsigned long long)s->dropped_zero, (unsigned long long)s->dropped_short,
		(unsigned long long)s->dropped_long, (unsigned long long)s->dropped_missing);
	fprintf(fp, "length_kind,,,%s\n", p->length_kind == FS_DEMAND_LENGTH_BEELINE ? "beeline" : "route");
	fprintf(fp, "detour_factor,,,%.10g\n", p->detour_factor);
	fprintf(fp, "mean_length_m,,,%.10g\nmean_duration_s,,,%.10g\n", p->mean_length_m,
		p->mean_duration_s);
	uint32_t w = 86400u / p->slots_per_day;
	for (uint32_t i = 0; i < p->slots_per_day; i++) {
		fprintf(fp, "slot_s,%u,%u,%.10g\n", i * w, (i + 1) * w, p->slot_share[i]);
	}
	for (int h = 0; h < 24; h++) {
		fprintf(fp, "hour_speed_mps,%d,%d,%.10g\n", h * 3600, (h + 1) * 3600, p->hour_speed_mps[h]);
	}
	for (int q = 0; q < FS_DEMAND_QUANTILES; q++) {
		fprintf(fp, "length_quantile_m,%.2f,,%.10g\n", fs_demand_quantile_p[q],
			p->length_quantile_m[q]);
	}
	for (int q = 0; q < FS_DEMAND_QUANTILES; q++) {
		fprintf(fp, "duration_quantile_s,%.2f,,%.10g\n", fs_demand_quantile_p[q],
			p->duration_quantile_s[q]);
	}
	for (uint32_t i = 0; i < p->length_m.bin_count; i++) {
		fprintf(fp, "length_m,%.10g,%.10g,%.10g\n", p->length_m.edges[i],
			p->length_m.edges[i + 1], p->length_m.share[i]);
	}
	for (uint32_t i = 0; i < p->duration_s.bin_count; i++) {
		fprintf(fp, "duration_s,%.10g,%.10g,%.10g\n", p->duration_s.edges[i],
			p->duration_s.edges[i + 1], p->duration_s.share[i]);
	}
	return close_written(fp, path, err);
}

struct loader {
	struct fs_demand_profile *p;
	struct fs_error *err;
	bool have_header;
	uint32_t hours, lq, dq;
	bool have_name, have_kind;
	unsigned first_slot_line;
	double slot_width;
};

static int hist_row(const struct fs_demand_csv_row *row, struct fs_demand_histogram *h, double lo,
		    double hi, double v, struct fs_error *err)
{
	if (h->bin_count >= FS_DEMAND_MAX_BINS) {
		return fs_demand_csv_fail(row, 0, err, "more than %d %s bins", FS_DEMAND_MAX_BINS,
					  row->fields[0]);
	}
	if (h->bin_count > 0 && lo != h->edges[h->bin_count]) {
		return fs_demand_csv_fail(row, 1, err, "bin starts at %g, the previous one ended at %g",
					  lo, h->edges[h->bin_count]);
	}
	if (!(hi > lo) || lo < 0) {
		return fs_demand_csv_fail(row, 2, err, "bin [%g, %g) is empty or negative", lo, hi);
	}
	h->edges[h->bin_count] = lo;
	h->edges[h->bin_count + 1] = hi;
	h->share[h->bin_count++] = v;
	return 0;
}

static int on_profile_row(void *user, const struct fs_demand_csv_row *row)
{
	struct loader *l = user;
	struct fs_demand_profile *p = l->p;
	if (!l->have_header) {
		if (row->count < 4 || strcmp(row->fields[0], "table") || strcmp(row->fields[1], "lo") ||
		    strcmp(row->fields[2], "hi") || strcmp(row->fields[3], "value")) {
			return fs_demand_csv_fail(row, 0, l->err, "header must be table,lo,hi,value");
		}
		l->have_header = true;
		return 0;
	}
	if (row->count != 4) {
		return fs_demand_csv_fail(row, row->count < 4 ? row->count : 4, l->err,
					  "expected 4 fields, found %zu", row->count);
	}
	const char *t = row->fields[0];
	if (strcmp(t, "name") == 0) {
		snprintf(p->name, sizeof(p->name), "%s", row->fields[3]);
		l->have_name = true;
		return 0;
	}
	if (strcmp(t, "length_kind") == 0) {
		if (strcmp(row->fields[3], "route") == 0) {
			p->length_kind = FS_DEMAND_LENGTH_ROUTE;
		} else if (strcmp(row->fields[3], "beeline") == 0) {
			p->length_kind = FS_DEMAND_LENGTH_BEELINE;
		} else {
			return fs_demand_csv_fail(row, 3, l->err,
						  "length_kind must be route or beeline, not \"%s\"",
						  row->fields[3]);
		}
		l->have_kind = true;
		return 0;
	}
	double lo = 0, hi = 0, v;
	if (!fs_demand_csv_double(row->fields[3], &v)) {
		return fs_demand_csv_fail(row, 3, l->err, "value \"%s\" is not a number", row->fields[3]);
	}
	if (v < 0) {
		return fs_demand_csv_fail(row, 3, l->err, "value %g is negative", v);
	}
	bool ranged = *row->fields[1] != '\0';
	if (ranged && !fs_demand_csv_double(row->fields[1], &lo)) {
		return fs_demand_csv_fail(row, 1, l->err, "lo \"%s\" is not a number", row->fields[1]);
	}
	if (*row->fields[2] && !fs_demand_csv_double(row->fields[2], &hi)) {
		return fs_demand_csv_fail(row, 2, l->err, "hi \"%s\" is not a number", row->fields[2]);
	}
	struct { const char *name; uint64_t *u; double *d; } scalars[] = {
		{ "source_read", &p->source.read, NULL },
		{ "source_kept", &p->source.kept, NULL },
		{ "dropped_zero", &p->source.dropped_zero, NULL },
		{ "dropped_short", &p->source.dropped_short, NULL },
		{ "dropped_long", &p->source.dropped_long, NULL },
		{ "dropped_missing", &p->source.dropped_missing, NULL },
		{ "detour_factor", NULL, &p->detour_factor },
		{ "mean_length_m", NULL, &p->mean_length_m },
		{ "mean_duration_s", NULL, &p->mean_duration_s },
	};
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		if (strcmp(t, scalars[i].name) == 0) {
			if (scalars[i].u) {
				*scalars[i].u = (uint64_t)v;
			} else {
				*scalars[i].d = v;
			}
			return 0;
		}
	}
	if (strcmp(t, "slot_s") == 0) {
		uint32_t i = p->slots_per_day;
		if (i >= FS_DEMAND_MAX_SLOTS) {
			return fs_demand_csv_fail(row, 0, l->err, "more than %d slots", FS_DEMAND_MAX_SLOTS);
		}
		double w = hi - lo;
		if (i == 0) {
			l->first_slot_line = row->line;
			l->slot_width = w;
		}
		if (!(w >= 60.0) || fmod(w, 60.0) != 0.0 || w != l->slot_width || lo != (double)i * w) {
			return fs_demand_csv_fail(row, 1, l->err,
						  "slot [%g, %g) is not the next whole-minute slot of equal width",
						  lo, hi);
		}
		p->slot_share[i] = v;
		p->slots_per_day++;
		return 0;
	}
	if (strcmp(t, "hour_speed_mps") == 0) {
		if (l->hours >= 24 || lo != l->hours * 3600.0 || hi != lo + 3600.0) {
			return fs_demand_csv_fail(row, 1, l->err, "hour_speed_mps rows must be the 24 hours in order");
		}
		p->hour_speed_mps[l->hours++] = v;
		return 0;
	}
	if (strcmp(t, "length_quantile_m") == 0 || strcmp(t, "duration_quantile_s") == 0) {
		bool len = t[0] == 'l';
		uint32_t *k = len ? &l->lq : &l->dq;
		if (*k >= FS_DEMAND_QUANTILES || fabs(lo - fs_demand_quantile_p[*k]) > 1e-9) {
			return fs_demand_csv_fail(row, 1, l->err, "expected the %.2f quantile",
						  *k < FS_DEMAND_QUANTILES ? fs_demand_quantile_p[*k] : 1.0);
		}
		(len ? p->length_quantile_m : p->duration_quantile_s)[(*k)++] = v;
		return 0;
	}
	if (strcmp(t, "length_m") == 0) {
		return hist_row(row, &p->length_m, lo, hi, v, l->err);
	}
	if (strcmp(t, "duration_s") == 0) {
		return hist_row(row, &p->duration_s, lo, hi, v, l->err);
	}
	return fs_demand_csv_fail(row, 0, l->err, "unknown table \"%s\"", t);
}

static int shares_sum_to_one(double *v, size_t n, const char *what, const char *path,
			     struct fs_error *err)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		sum += v[i];
	}
	if (fabs(sum - 1.0) > 1e-6) {
		return fs_error_at(err, -EINVAL, path, 0, 0, "%s shares sum to %.9g, not 1", what, sum);
	}
	normalise(v, n);
	return 0;
}

int fs_demand_profile_load(const char *path, struct fs_demand_profile *ret_profile,
			   struct fs_error *err)
{
	struct fs_demand_profile *p = fs_calloc(1, sizeof(*p));
	if (!p) {
		return fs_error_set(err, -ENOMEM, "out of memory");
	}
	struct loader l = { .p = p, .err = err };
	int r = fs_demand_csv_read(path, on_profile_row, &l, err);
	if (r < 0) {
		goto out;
	}
	r = -EINVAL;
	if (!l.have_header || !l.have_name || !l.have_kind) {
		fs_error_at(err, r, path, 0, 0, "missing header, name or length_kind");
	} else if (p->slots_per_day == 0 || 1440 % p->slots_per_day != 0 ||
		   l.slot_width * p->slots_per_day != 86400.0) {
		fs_error_at(err, r, path, l.first_slot_line, 0,
			    "slot_s rows must cover the day in equal whole-minute slots");
	} else if (p->length_m.bin_count == 0 || p->duration_s.bin_count == 0) {
		fs_error_at(err, r, path, 0, 0, "no length_m or duration_s histogram");
	} else if (l.hours != 24 && l.hours != 0) {
		fs_error_at(err, r, path, 0, 0, "hour_speed_mps needs 24 rows, found %u", l.hours);
	} else if (l.lq != FS_DEMAND_QUANTILES || l.dq != FS_DEMAND_QUANTILES) {
		fs_error_at(err, r, path, 0, 0, "needs %d length and duration quantiles",
			    FS_DEMAND_QUANTILES);
	} else {
		r = shares_sum_to_one(p->slot_share, p->slots_per_day, "slot_s", path, err);
	}
	if (r == 0) {
		r = shares_sum_to_one(p->length_m.share, p->length_m.bin_count, "length_m", path, err);
	}
	if (r == 0) {
		r = shares_sum_to_one(p->duration_s.share, p->duration_s.bin_count, "duration_s", path,
				      err);
	}
	if (r == 0) {
		*ret_profile = *p;
	}
out:
	fs_free(p);
	return r;
}

struct fs_demand *fs_demand_create(const struct fs_demand_params *params,
				   const struct fs_demand_place *places, size_t n,
				   struct fs_error *err)
{
	if (params->profile) {
		return fs_demand_create_from_profile(params, places, n, err);
	}
	if (!params->profile_path) {
		fs_error_set(err, -EINVAL, "demand: no profile and no profile_path");
		return NULL;
	}
	struct fs_demand_profile *profile = fs_malloc(sizeof(*profile)); /* ~7 KB: not on the stack */
	if (!profile) {
		fs_error_set(err, -ENOMEM, "demand: out of memory");
		return NULL;
	}
	struct fs_demand *d = NULL;
	if (fs_demand_profile_load(params->profile_path, profile, err) == 0) {
		struct fs_demand_params with = *params;
		with.profile = profile;
		d = fs_demand_create_from_profile(&with, places, n, err);
	}
	fs_free(profile);
	return d;
}

/* ---- zone tables ---- */

struct zone_loader {
	struct fs_demand_zones *z;
	const struct fs_projection *proj;
	struct fs_error *err;
	int col[8];
	bool have_header;
	size_t cap;
	unsigned *lines;
};

enum { ZC_ID, ZC_NAME, ZC_BOROUGH, ZC_LON, ZC_LAT, ZC_ILON, ZC_ILAT, ZC_AREA };
static const char *const zone_cols[] = { "location_id", "zone", "borough", "centroid_lon",
					 "centroid_lat", "inside_lon", "inside_lat", "area_km2" };

static int on_zone_row(void *user, const struct fs_demand_csv_row *row)
{
	struct zone_loader *l = user;
	if (!l->have_header) {
		int rc = fs_demand_csv_columns(row, zone_cols, 8, 1u << ZC_ID | 1u << ZC_LON | 1u << ZC_LAT, l->col,
					       l->err);
		l->have_header = rc == 0;
		return rc;
	}
	struct fs_demand_zones *z = l->z;
	const struct fs_grow_array rows[] = { FS_GROW_ARRAY(z->zones), FS_GROW_ARRAY(l->lines) };
	if (fs_grow_parallel(&l->cap, z->count + 1, rows, 2) < 0) {
		return -ENOMEM;
	}
	struct fs_demand_zone *zone = &z->zones[z->count];
	memset(zone, 0, sizeof(*zone));
	double v[8] = { 0 };
	for (int i = 0; i < 8; i++) {
		int c = l->col[i];
		if (c < 0 || i == ZC_NAME || i == ZC_BOROUGH) {
			continue;
		}
		if ((size_t)c >= row->count) {
			return fs_demand_csv_fail(row, (size_t)c, l->err, "missing column %s", zone_cols[i]);
		}
		if (!fs_demand_csv_double(row->fields[c], &v[i])) {
			return fs_demand_csv_fail(row, (size_t)c, l->err, "%s: \"%s\" is not a number",
						  zone_cols[i], row->fields[c]);
		}
	}
	if (v[ZC_ID] != floor(v[ZC_ID])) {
		return fs_demand_csv_fail(row, (size_t)l->col[ZC_ID], l->err,
					  "location_id %g is not an integer", v[ZC_ID]);
	}
	if (fabs(v[ZC_LAT]) > 90 || fabs(v[ZC_LON]) > 180 || fabs(v[ZC_ILAT]) > 90 ||
	    fabs(v[ZC_ILON]) > 180) {
		return fs_demand_csv_fail(row, (size_t)l->col[ZC_LON], l->err,
					  "coordinates out of range");
	}
	zone->id = (int64_t)v[ZC_ID];
	zone->lat = v[ZC_LAT];
	zone->lon = v[ZC_LON];
	if (l->col[ZC_ILAT] >= 0 && l->col[ZC_ILON] >= 0) {
		zone->inside.x = v[ZC_ILAT]; /* lat/lon for now, projected at the end */
		zone->inside.y = v[ZC_ILON];
	} else {
		zone->inside.x = zone->lat;
		zone->inside.y = zone->lon;
	}
	zone->area_km2 = v[ZC_AREA];
	if (l->col[ZC_NAME] >= 0 && (size_t)l->col[ZC_NAME] < row->count) {
		snprintf(zone->name, sizeof(zone->name), "%s", row->fields[l->col[ZC_NAME]]);
	}
	if (l->col[ZC_BOROUGH] >= 0 && (size_t)l->col[ZC_BOROUGH] < row->count) {
		snprintf(zone->borough, sizeof(zone->borough), "%s", row->fields[l->col[ZC_BOROUGH]]);
	}
	l->lines[z->count++] = row->line;
	return 0;
}

static int zone_cmp(const void *pa, const void *pb)
{
	const struct fs_demand_zone *a = pa, *b = pb;
	return a->id < b->id ? -1 : a->id > b->id;
}

int fs_demand_zones_load(const char *path, const struct fs_projection *proj,
			 struct fs_demand_zones *ret_zones, struct fs_error *err)
{
	struct fs_demand_zones z = { 0 };
	struct zone_loader l = { .z = &z, .proj = proj, .err = err };
	int r = fs_demand_csv_read(path, on_zone_row, &l, err);
	if (r == 0 && z.count == 0) {
		r = fs_error_at(err, -EINVAL, path, 0, 0, "no zones");
	}
	for (size_t i = 0; r == 0 && i < z.count; i++) {
		for (size_t j = 0; j < i; j++) { /* small tables: quadratic is fine */
			if (z.zones[j].id == z.zones[i].id) {
				r = fs_error_at(err, -EINVAL, path, l.lines[i], 0,
						"zone id %lld already on line %u",
						(long long)z.zones[i].id, l.lines[j]);
				break;
			}
		}
	}
	fs_free(l.lines);
	if (r < 0) {
		fs_free(z.zones);
		return r;
	}
	if (proj) {
		z.proj = *proj;
	} else {
		double lat = 0, lon = 0;
		for (size_t i = 0; i < z.count; i++) {
			lat += z.zones[i].lat;
			lon += z.zones[i].lon;
		}
		fs_projection_init(&z.proj, lat / (double)z.count, lon / (double)z.count);
	}
	for (size_t i = 0; i < z.count; i++) {
		struct fs_demand_zone *zone = &z.zones[i];
		zone->centroid = fs_projection_to_xy(&z.proj, zone->lat, zone->lon);
		zone->inside = fs_projection_to_xy(&z.proj, zone->inside.x, zone->inside.y);
	}
	qsort(z.zones, z.count, sizeof(*z.zones), zone_cmp);
	*ret_zones = z;
	return 0;
}

void fs_demand_zones_finish(struct fs_demand_zones *zones)
{
	if (!zones) {
		return;
	}
	fs_free(zones->zones);
	*zones = (struct fs_demand_zones){ 0 };
}

const struct fs_demand_zone *fs_demand_zones_find(const struct fs_demand_zones *zones, int64_t id)
{
	size_t lo = 0, hi = zones->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (zones->zones[mid].id < id) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < zones->count && zones->zones[lo].id == id ? &zones->zones[lo] : NULL;
}

/* ---- zone weights ---- */

int fs_demand_zone_weights_save(const struct fs_demand_zone_weight *w, size_t n, const char *path,
				const char *comment, struct fs_error *err)
{
	FILE *fp = fopen(path, "w");
	if (!fp) {
		int e = errno;
		return fs_error_at(err, -e, path, 0, 0, "cannot create: %s", strerror(e));
	}
	write_comment(fp, comment);
	fprintf(fp, "zone,origin,dest\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(fp, "%lld,%.10g,%.10g\n", (long long)w[i].zone, w[i].origin, w[i].dest);
	}
	return close_written(fp, path, err);
}

struct weight_loader {
	struct fs_demand_zone_weight *w;
	size_t n, cap;
	int col[3];
	bool have_header;
	struct fs_error *err;
};

static int on_weight_row(void *user, const struct fs_demand_csv_row *row)
{
	struct weight_loader *l = user;
	static const char *const names[] = { "zone", "origin", "dest" };
	if (!l->have_header) {
		int rc = fs_demand_csv_columns(row, names, 3, 0x7, l->col, l->err);
		l->have_header = rc == 0;
		return rc;
	}
	double v[3];
	for (int i = 0; i < 3; i++) {
		size_t c = (size_t)l->col[i];
		if (c >= row->count) {
			return fs_demand_csv_fail(row, c, l->err, "missing column %s", names[i]);
		}
		if (!fs_demand_csv_double(row->fields[c], &v[i]) || (i > 0 && v[i] < 0) ||
		    (i == 0 && v[i] != floor(v[i]))) {
			return fs_demand_csv_fail(row, c, l->err, "%s: \"%s\" is not a %s", names[i],
						  row->fields[c],
						  i ? "weight >= 0" : "zone id");
		}
	}
	if (FS_GROW(l->w, l->cap, l->n + 1) < 0) {
		return -ENOMEM;
	}
	l->w[l->n++] = (struct fs_demand_zone_weight){ (int64_t)v[0], v[1], v[2] };
	return 0;
}

int fs_demand_zone_weights_load(const char *path, struct fs_demand_zone_weight **ret_weights,
				size_t *ret_count, struct fs_error *err)
{
	struct weight_loader l = { .err = err };
	int r = fs_demand_csv_read(path, on_weight_row, &l, err);
	if (r == 0 && l.n == 0) {
		r = fs_error_at(err, -EINVAL, path, 0, 0, "no zone weights");
	}
	if (r < 0) {
		fs_free(l.w);
		return r;
	}
	*ret_weights = l.w;
	*ret_count = l.n;
	return 0;
}
