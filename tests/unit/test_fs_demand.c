/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rider demand: the profiles come from the real samples (checked against an
 * independent parse of the CSVs here), the committed data files are what
 * the deriver produces, the generator is deterministic and slicing-invariant
 * and reproduces the sample's hour profile and trip lengths, replays give
 * exactly their records, and bad files fail with file:line:column.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs/demand.h"
#include "fs/demand_load.h"
#include "fs/geofence.h"
#include "fs/network.h"
#include "fs/rng.h"
#include "fs/timezone_load.h"

#define MILE 1609.344

static char tmpdir[256];
static char tlc_paths[12][512];
static const char *tlc[12];

struct sample {
	size_t kept;
	double hour_share[24];
	double *len_m; /* sorted */
};

static struct sample sample_storage; /* the TLC sample, read once */

static const char *root(void)
{
	const char *r = getenv("FS_SOURCE_ROOT");
	assert_non_null(r);
	return r;
}

static const char *data(const char *rel)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", root(), rel);
	return buf[k];
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fs_demand_XXXXXX");
	if (!mkdtemp(tmpdir)) {
		return -1;
	}
	for (int m = 0; m < 12; m++) {
		snprintf(tlc_paths[m], sizeof(tlc_paths[m]),
			 "%s/data/nyc_tlc/yellow_tripdata_sample_2019-%02d.csv", getenv("FS_SOURCE_ROOT"),
			 m + 1);
		tlc[m] = tlc_paths[m];
	}
	return 0;
}

static int teardown(void **state)
{
	free(sample_storage.len_m);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_tmp(const char *name, const char *text)
{
	static char path[400];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void expect_error(const struct fs_error *err, const char *path, const char *where,
			 const char *what)
{
	char want[600];
	snprintf(want, sizeof(want), "%s%s", path, where);
	if (strncmp(err->message, want, strlen(want)) != 0 || !strstr(err->message, what)) {
		fail_msg("got \"%s\", want prefix \"%s\" and \"%s\"", err->message, want, what);
	}
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double quantile(const double *s, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t i = (size_t)h;
	return i + 1 >= n ? s[n - 1] : s[i] + (h - (double)i) * (s[i + 1] - s[i]);
}

/* ---- an independent reading of the TLC sample (no libcsv, no fs code) ---- */

static struct sample *tlc_sample(void)
{
	struct sample *s = &sample_storage;
	if (s->len_m) {
		return s;
	}
	size_t cap = 130000, hours[24] = { 0 };
	s->len_m = malloc(cap * sizeof(double));
	for (int m = 0; m < 12; m++) {
		FILE *fp = fopen(tlc[m], "r");
		assert_non_null(fp);
		char line[1024];
		assert_non_null(fgets(line, sizeof(line), fp)); /* header; columns 1, 2, 4 */
		while (fgets(line, sizeof(line), fp)) {
			char *f[20], *p = line;
			int nf = 0;
			while (nf < 20) {
				f[nf++] = p;
				p = strchr(p, ',');
				if (!p) {
					break;
				}
				*p++ = '\0';
			}
			struct tm a = { 0 }, b = { 0 };
			sscanf(f[1], "%d-%d-%d %d:%d:%d", &a.tm_year, &a.tm_mon, &a.tm_mday, &a.tm_hour,
			       &a.tm_min, &a.tm_sec);
			sscanf(f[2], "%d-%d-%d %d:%d:%d", &b.tm_year, &b.tm_mon, &b.tm_mday, &b.tm_hour,
			       &b.tm_min, &b.tm_sec);
			a.tm_year -= 1900, b.tm_year -= 1900, a.tm_mon--, b.tm_mon--;
			double dur = difftime(timegm(&b), timegm(&a)), miles = atof(f[4]);
			if (miles <= 0 || dur < 30 || dur > 10800) {
				continue;
			}
			hours[a.tm_hour]++;
			assert_true(s->kept < cap);
			s->len_m[s->kept++] = miles * MILE;
		}
		fclose(fp);
	}
	for (int h = 0; h < 24; h++) {
		s->hour_share[h] = (double)hours[h] / (double)s->kept;
	}
	qsort(s->len_m, s->kept, sizeof(double), dcmp);
	return s;
}

/* ---- profiles ---- */

static void assert_close(double a, double b, double rel, const char *what)
{
	if (fabs(a - b) > rel * fmax(fabs(a), fabs(b)) + 1e-12) {
		fail_msg("%s: %.12g vs %.12g", what, a, b);
	}
}

static void assert_same_profile(const struct fs_demand_profile *a, const struct fs_demand_profile *b)
{
	assert_int_equal(a->source.read, b->source.read);
	assert_int_equal(a->source.kept, b->source.kept);
	assert_int_equal(a->source.dropped_zero, b->source.dropped_zero);
	assert_int_equal(a->source.dropped_short, b->source.dropped_short);
	assert_int_equal(a->source.dropped_long, b->source.dropped_long);
	assert_int_equal(a->source.dropped_missing, b->source.dropped_missing);
	assert_int_equal(a->slots_per_day, b->slots_per_day);
	assert_int_equal(a->length_kind, b->length_kind);
	for (uint32_t i = 0; i < a->slots_per_day; i++) {
		assert_close(a->slot_share[i], b->slot_share[i], 1e-8, "slot share");
	}
	for (int h = 0; h < 24; h++) {
		assert_close(a->hour_speed_mps[h], b->hour_speed_mps[h], 1e-8, "hour speed");
	}
	for (int q = 0; q < FS_DEMAND_QUANTILES; q++) {
		assert_close(a->length_quantile_m[q], b->length_quantile_m[q], 1e-8, "length quantile");
		assert_close(a->duration_quantile_s[q], b->duration_quantile_s[q], 1e-8, "duration quantile");
	}
	const struct fs_demand_histogram *ha[] = { &a->length_m, &a->duration_s };
	const struct fs_demand_histogram *hb[] = { &b->length_m, &b->duration_s };
	for (int k = 0; k < 2; k++) {
		assert_int_equal(ha[k]->bin_count, hb[k]->bin_count);
		for (uint32_t i = 0; i < ha[k]->bin_count; i++) {
			assert_close(ha[k]->edges[i + 1], hb[k]->edges[i + 1], 1e-8, "edge");
			assert_close(ha[k]->share[i], hb[k]->share[i], 1e-8, "bin share");
		}
	}
	assert_close(a->mean_length_m, b->mean_length_m, 1e-8, "mean length");
	assert_close(a->mean_duration_s, b->mean_duration_s, 1e-8, "mean duration");
}

static void tlc_profile_is_the_sample_and_the_committed_file(void **state)
{
	struct fs_demand_profile *p = malloc(sizeof(*p)), *file = malloc(sizeof(*file));
	struct fs_error err = { { 0 } };
	if (fs_demand_profile_from_tlc(tlc, 12, p, &err) < 0) {
		fail_msg("%s", err.message);
	}
	/* Against the independent parse. */
	struct sample *s = tlc_sample();
	assert_int_equal(p->source.read, 120000);
	assert_int_equal(p->source.kept, s->kept);
	assert_int_equal(p->source.kept, 118371);
	assert_int_equal(p->slots_per_day, 24);
	for (int h = 0; h < 24; h++) {
		assert_close(p->slot_share[h], s->hour_share[h], 1e-12, "hour share");
	}
	for (int q = 0; q < FS_DEMAND_QUANTILES; q++) {
		assert_close(p->length_quantile_m[q], quantile(s->len_m, s->kept, fs_demand_quantile_p[q]),
			     1e-12, "quantile");
	}
	/* Figures in data/README.md and DOMAIN.md: median 1.65 mi, mean 3.01 mi,
	 * median 11.3 min, peak 18-19 h at ~6.5 %, trough 4 h at ~0.8 %. */
	assert_true(fabs(p->length_quantile_m[2] / MILE - 1.65) < 0.005);
	assert_true(fabs(p->mean_length_m / MILE - 3.01) < 0.005);
	assert_true(fabs(p->duration_quantile_s[2] / 60 - 11.3) < 0.05);
	assert_true(fabs(p->slot_share[18] - 0.066) < 0.001);
	assert_true(fabs(p->slot_share[4] - 0.0077) < 0.001);

	/* The committed data file is exactly what the deriver makes. */
	if (fs_demand_profile_load(data("data/demand/nyc2019_profile.csv"), file, &err) < 0) {
		fail_msg("%s", err.message);
	}
	assert_string_equal(file->name, "nyc2019");
	assert_same_profile(p, file);
	struct fs_demand_zones zones;
	assert_int_equal(fs_demand_zones_load(data("data/nyc_tlc/taxi_zone_centroids.csv"), NULL, &zones,
					      &err), 0);
	assert_int_equal(zones.count, 263);
	struct fs_demand_detour det;
	assert_int_equal(fs_demand_detour_from_tlc(tlc, 12, &zones, 2000.0, &det, &err), 0);
	assert_close(det.median_ratio, file->detour_factor, 1e-8, "detour");
	assert_true(det.median_ratio > 1.2 && det.median_ratio < 1.35);
	assert_true(det.sum_ratio > det.median_ratio); /* long airport trips take highways */

	/* Zone weights file too. */
	struct fs_demand_zone_weight *w, *wf;
	size_t wn, wfn;
	assert_int_equal(fs_demand_zone_weights_from_tlc(tlc, 12, &zones, &w, &wn, &err), 0);
	assert_int_equal(fs_demand_zone_weights_load(data("data/demand/nyc2019_zone_weights.csv"), &wf,
						     &wfn, &err), 0);
	assert_int_equal(wn, wfn);
	double manhattan = 0;
	for (size_t i = 0; i < wn; i++) {
		assert_int_equal(w[i].zone, wf[i].zone);
		assert_close(w[i].origin, wf[i].origin, 1e-8, "origin weight");
		assert_close(w[i].dest, wf[i].dest, 1e-8, "dest weight");
		if (strcmp(fs_demand_zones_find(&zones, w[i].zone)->borough, "Manhattan") == 0) {
			manhattan += w[i].origin;
		}
	}
	/* data/README.md: 90.7 % of all rows' pickups are in Manhattan; of the
	 * kept trips from known zones (the weights' base) it is 91.84 %. */
	assert_true(fabs(manhattan - 0.9184) < 0.0001);
	free(w);
	free(wf);
	fs_demand_zones_finish(&zones);
	free(p);
	free(file);
}

static void chicago_profile_is_the_committed_file(void **state)
{
	struct fs_demand_profile *p = malloc(sizeof(*p)), *file = malloc(sizeof(*file));
	struct fs_error err = { { 0 } };
	const char *path = data("data/chicago_taxi/chicago_taxi_trips_sample.csv");
	if (fs_demand_profile_from_chicago(&path, 1, p, &err) < 0) {
		fail_msg("%s", err.message);
	}
	assert_int_equal(p->source.read, 15002);
	assert_int_equal(p->source.dropped_missing, 6); /* empty trip_seconds */
	/* data/README.md: median 1.60 mi (rows with miles > 0). */
	assert_true(fabs(p->length_quantile_m[2] / MILE - 1.60) < 0.01);
	assert_true(p->detour_factor > 1.0 && p->detour_factor < 1.5);
	assert_int_equal(fs_demand_profile_load(data("data/demand/chicago_profile.csv"), file, &err), 0);
	assert_same_profile(p, file);
	assert_close(p->detour_factor, file->detour_factor, 1e-8, "detour");
	free(p);
	free(file);
}

static void profile_and_tlc_errors_name_file_line_column(void **state)
{
	struct fs_demand_profile *p = malloc(sizeof(*p));
	struct fs_error err;
	const char *hdr = "vendor_id,pickup_datetime,dropoff_datetime,trip_distance,"
			  "pickup_location_id,dropoff_location_id\n";
	char text[1024];
	snprintf(text, sizeof(text), "%s1,2019-01-01 10:00:00,2019-01-01 10:10:00,1.5,1,2\n"
				     "1,2019-01-01 11:00:00,2019-01-01 11:10:00,abc,1,2\n", hdr);
	const char *path = write_tmp("bad_dist.csv", text);
	assert_int_equal(fs_demand_profile_from_tlc(&path, 1, p, &err), -EINVAL);
	expect_error(&err, path, ":3:43: ", "trip_distance: \"abc\" is not a number");

	snprintf(text, sizeof(text), "%s1,2019-13-01 10:00:00,2019-01-01 10:10:00,1.5,1,2\n", hdr);
	path = write_tmp("bad_date.csv", text);
	assert_int_equal(fs_demand_profile_from_tlc(&path, 1, p, &err), -EINVAL);
	expect_error(&err, path, ":2:3: ", "pickup_datetime: \"2019-13-01 10:00:00\" is not a date-time");

	snprintf(text, sizeof(text), "%s1,2019-01-01 10:00:00,2019-01-01 10:10:00\n", hdr);
	path = write_tmp("short_row.csv", text);
	assert_int_equal(fs_demand_profile_from_tlc(&path, 1, p, &err), -EINVAL);
	expect_error(&err, path, ":2:42: ", "missing column trip_distance");

	path = write_tmp("no_col.csv", "vendor_id,pickup_datetime,trip_distance\n1,2,3\n");
	assert_int_equal(fs_demand_profile_from_tlc(&path, 1, p, &err), -EINVAL);
	expect_error(&err, path, ":1: ", "header has no column \"dropoff_datetime\"");

	path = write_tmp("quote.csv", "a,b\n\"x,1\n");
	assert_int_equal(fs_demand_profile_from_tlc(&path, 1, p, &err), -EINVAL);
	expect_error(&err, path, ":1: ", "no column");

	char missing[400];
	snprintf(missing, sizeof(missing), "%s/absent.csv", tmpdir);
	path = missing;
	assert_int_equal(fs_demand_profile_from_tlc(&path, 1, p, &err), -ENOENT);
	expect_error(&err, path, ": ", "cannot open");

	/* Profiles: a corrupted copy of a good one. */
	static const char good_head[] = "table,lo,hi,value\nname,,,t\nlength_kind,,,route\n";
	snprintf(text, sizeof(text), "%sslot_s,0,43200,0.5\nslot_s,43200,86400,x\n", good_head);
	path = write_tmp("p1.csv", text);
	assert_int_equal(fs_demand_profile_load(path, p, &err), -EINVAL);
	expect_error(&err, path, ":5:20: ", "value \"x\" is not a number");
	snprintf(text, sizeof(text), "%sslot_s,0,43200,0.5\nslot_s,43000,86400,0.5\n", good_head);
	path = write_tmp("p2.csv", text);
	assert_int_equal(fs_demand_profile_load(path, p, &err), -EINVAL);
	expect_error(&err, path, ":5:8: ", "not the next whole-minute slot");
	snprintf(text, sizeof(text), "# a comment\n%swind,0,1,2\n", good_head);
	path = write_tmp("p3.csv", text);
	assert_int_equal(fs_demand_profile_load(path, p, &err), -EINVAL);
	expect_error(&err, path, ":5:1: ", "unknown table \"wind\"");
	/* Shares that do not add up. */
	FILE *in = fopen(data("data/demand/nyc2019_profile.csv"), "r");
	char line[256];
	size_t len = 0;
	static char big[32768];
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "slot_s,0,", 9) == 0) {
			snprintf(line, sizeof(line), "slot_s,0,3600,0.5\n");
		}
		len += (size_t)snprintf(big + len, sizeof(big) - len, "%s", line);
	}
	fclose(in);
	path = write_tmp("p4.csv", big);
	assert_int_equal(fs_demand_profile_load(path, p, &err), -EINVAL);
	expect_error(&err, path, ": ", "slot_s shares sum to");
	free(p);
}

/* ---- generator ---- */

static struct fs_demand_profile *nyc_profile(void)
{
	static struct fs_demand_profile p;
	static bool loaded;
	if (!loaded) {
		struct fs_error err;
		assert_int_equal(fs_demand_profile_load(data("data/demand/nyc2019_profile.csv"), &p, &err), 0);
		loaded = true;
	}
	return &p;
}

/* @n uniform random places in a @side_m square, zone = 1 west half, 2 east half. */
static struct fs_demand_place *random_places(size_t n, double side_m, uint64_t seed)
{
	struct fs_demand_place *p = malloc(n * sizeof(*p));
	struct fs_rng rng;
	fs_rng_init(&rng, seed, FS_RNG_STREAM_TEST, 99);
	for (size_t i = 0; i < n; i++) {
		p[i].x = side_m * fs_rng_uniform(&rng);
		p[i].y = side_m * fs_rng_uniform(&rng);
		p[i].zone = p[i].x < side_m / 2 ? 1 : 2;
		p[i].weight = 1.0;
	}
	return p;
}

/* The TLC sample's clock, read once for the whole test program. */
static const struct fs_timezone *new_york(void)
{
	static struct fs_timezone tz;
	static bool loaded;
	struct fs_error err = { { 0 } };
	if (!loaded && fs_timezone_load(FS_TZ_DIR, "America/New_York", &tz, &err) < 0) {
		fail_msg("%s (is tzdata installed? scripts/deps)", err.message);
	}
	loaded = true;
	return &tz;
}

static struct fs_demand *make(uint64_t seed, uint32_t sub, double per_day,
			      const struct fs_demand_place *places, size_t n)
{
	struct fs_demand_params params;
	fs_demand_params_defaults(&params);
	params.seed = seed;
	params.substream = sub;
	params.trips_per_day = per_day;
	params.profile = nyc_profile();
	params.tz = new_york();
	struct fs_error err = { { 0 } };
	struct fs_demand *d = fs_demand_create(&params, places, n, &err);
	if (!d) {
		fail_msg("%s", err.message);
	}
	return d;
}

static bool same_request(const struct fs_demand_request *a, const struct fs_demand_request *b)
{
	return a->id == b->id && a->t_ms == b->t_ms && a->origin.x == b->origin.x &&
	       a->origin.y == b->origin.y && a->dest.x == b->dest.x && a->dest.y == b->dest.y &&
	       a->origin_zone == b->origin_zone && a->dest_zone == b->dest_zone &&
	       a->origin_place == b->origin_place && a->dest_place == b->dest_place;
}

static void same_seed_same_requests_and_slicing_does_not_matter(void **state)
{
	struct fs_demand_place *places = random_places(3000, 8000, 1);
	struct fs_demand *a = make(42, 0, 30000, places, 3000);
	struct fs_demand *b = make(42, 0, 30000, places, 3000);
	struct fs_demand *c = make(43, 0, 30000, places, 3000);
	struct fs_demand *e = make(42, 1, 30000, places, 3000);
	/* 2019-03-05 17:00 UTC (12:00 local): a busy hour. */
	const int64_t t0 = INT64_C(1551805200000), hour = 3600000;
	struct fs_demand_batch whole = { 0 }, again = { 0 }, sliced = { 0 }, other = { 0 }, sub = { 0 };
	int64_t n = fs_demand_generate(a, t0, t0 + hour, &whole);
	/* 30,000/day x 5.25 % in this hour: ~1,575 requests. */
	assert_true(n > 1400 && n < 1750);
	assert_int_equal(fs_demand_generate(b, t0, t0 + hour, &again), n);
	for (int64_t i = 0; i < n; i++) {
		assert_true(same_request(&whole.items[i], &again.items[i]));
		if (i > 0) {
			assert_true(whole.items[i - 1].t_ms < whole.items[i].t_ms ||
				    (whole.items[i - 1].t_ms == whole.items[i].t_ms &&
				     whole.items[i - 1].id < whole.items[i].id));
		}
		assert_true(whole.items[i].t_ms >= t0 && whole.items[i].t_ms < t0 + hour);
		assert_int_not_equal(whole.items[i].origin_place, whole.items[i].dest_place);
	}
	/* 3,600 one-second calls, then random-size slices from another generator. */
	for (int64_t t = t0; t < t0 + hour; t += 1000) {
		assert_true(fs_demand_generate(a, t, t + 1000, &sliced) >= 0);
	}
	assert_int_equal(sliced.count, (size_t)n);
	struct fs_rng rng;
	fs_rng_init(&rng, 5, FS_RNG_STREAM_TEST, 0);
	for (int64_t t = t0; t < t0 + hour;) {
		int64_t step = 1 + (int64_t)fs_rng_below(&rng, 200000);
		int64_t t1 = t + step < t0 + hour ? t + step : t0 + hour;
		assert_true(fs_demand_generate(b, t, t1, &again) >= 0);
		t = t1;
	}
	assert_int_equal(again.count, 2 * (size_t)n);
	for (int64_t i = 0; i < n; i++) {
		assert_true(same_request(&whole.items[i], &sliced.items[i]));
		assert_true(same_request(&whole.items[i], &again.items[n + i]));
	}
	/* Another seed or substream: a different draw. */
	int64_t nc = fs_demand_generate(c, t0, t0 + hour, &other);
	int64_t ne = fs_demand_generate(e, t0, t0 + hour, &sub);
	int same_c = 0, same_e = 0;
	for (int64_t i = 0; i < n && i < nc && i < ne; i++) {
		same_c += same_request(&whole.items[i], &other.items[i]);
		same_e += same_request(&whole.items[i], &sub.items[i]);
	}
	assert_true(same_c < 5 && same_e < 5);
	/* Bad windows. */
	assert_int_equal(fs_demand_generate(a, -1, 10, &other), -EINVAL);
	size_t before = other.count;
	assert_int_equal(fs_demand_generate(a, t0, t0, &other), 0);
	assert_int_equal(other.count, before);
	fs_demand_batch_finish(&whole);
	fs_demand_batch_finish(&again);
	fs_demand_batch_finish(&sliced);
	fs_demand_batch_finish(&other);
	fs_demand_batch_finish(&sub);
	fs_demand_destroy(a);
	fs_demand_destroy(b);
	fs_demand_destroy(c);
	fs_demand_destroy(e);
	free(places);
}

/* Worst difference of the hour shares of @b, read at UTC + @offset_h, from the sample's. */
static double worst_hour_share(const struct fs_demand_batch *b, int offset_h)
{
	double hours[24] = { 0 }, worst = 0;
	for (size_t i = 0; i < b->count; i++) {
		int64_t local_s = (b->items[i].t_ms + offset_h * INT64_C(3600000)) / 1000;
		hours[(local_s % 86400) / 3600] += 1.0;
	}
	struct sample *s = tlc_sample();
	for (int h = 0; h < 24; h++) {
		worst = fmax(worst, fabs(hours[h] / (double)b->count - s->hour_share[h]));
	}
	return worst;
}

/* A week of 50,000 trips a day from @t0, generated one hour at a time as a simulation would. */
static void week_of_demand(int64_t t0, struct fs_demand_batch *b)
{
	struct fs_demand_place *places = random_places(500, 5000, 2);
	struct fs_demand *d = make(7, 0, 50000, places, 500);
	for (int64_t t = t0; t < t0 + 7 * INT64_C(86400000); t += 3600000) {
		assert_true(fs_demand_generate(d, t, t + 3600000, b) >= 0);
	}
	fs_demand_destroy(d);
	free(places);
}

static void generated_hour_profile_matches_the_sample(void **state)
{
	struct fs_demand_batch b = { 0 };
	week_of_demand(INT64_C(1546300800000), &b); /* 2019-01-01 00:00 UTC: standard time */
	/* 350,000 expected; Poisson sd ~590. */
	assert_true(fabs((double)b.count - 350000.0) < 3000.0);
	/* Each hour's share within 0.5 percentage points of the real sample's
	 * (the sampling error here is ~0.04 pp). */
	double worst = worst_hour_share(&b, -5);
	print_message("# worst hour-share difference %.3f pp\n", 100 * worst);
	assert_true(worst < 0.005);
	fs_demand_batch_finish(&b);
}

/* In June the city's clock is on daylight time: the profile's peaks come an hour earlier in UTC. */
static void summer_peaks_follow_daylight_time(void **state)
{
	struct fs_demand_batch b = { 0 };
	week_of_demand(INT64_C(1843430400000), &b); /* 2028-06-01 00:00 UTC */
	double edt = worst_hour_share(&b, -4), est = worst_hour_share(&b, -5);
	print_message("# June: worst hour-share difference %.3f pp on EDT, %.3f pp on EST\n", 100 * edt, 100 * est);
	assert_true(edt < 0.005);
	assert_true(est > 0.01);
	fs_demand_batch_finish(&b);
}

static void generated_trip_lengths_match_the_sample(void **state)
{
	/* 100,000 places over 60 x 60 km: room for the long NYC tail. */
	size_t n = 100000;
	struct fs_demand_place *places = random_places(n, 60000, 3);
	struct fs_demand *d = make(11, 0, 60000, places, n);
	struct fs_demand_batch b = { 0 };
	const int64_t t0 = INT64_C(1546300800000);
	assert_true(fs_demand_generate(d, t0, t0 + 86400000, &b) > 50000);
	double detour = nyc_profile()->detour_factor;
	double *len = malloc(b.count * sizeof(double));
	for (size_t i = 0; i < b.count; i++) {
		len[i] = b.items[i].beeline_m * detour; /* back to driven distance */
	}
	qsort(len, b.count, sizeof(double), dcmp);
	struct sample *s = tlc_sample();
	/* p10 ... p95 within 3 % of the real sample's. */
	for (int q = 0; q < 6; q++) {
		double p = fs_demand_quantile_p[q];
		double got = quantile(len, b.count, p), want = quantile(s->len_m, s->kept, p);
		print_message("# p%.0f generated %.3f mi, sample %.3f mi (%+.2f %%)\n", 100 * p, got / MILE,
			      want / MILE, 100 * (got / want - 1));
		assert_true(fabs(got / want - 1) < 0.03);
	}
	free(len);
	fs_demand_batch_finish(&b);
	fs_demand_destroy(d);
	free(places);
}

static void small_city_and_zone_weights(void **state)
{
	/* A 2 km city cannot hold NYC's long trips: lengths are truncated to it. */
	struct fs_demand_place *places = random_places(400, 2000, 4);
	struct fs_demand *d = make(5, 0, 100000, places, 400);
	struct fs_demand_batch b = { 0 };
	assert_true(fs_demand_generate(d, 0, 3 * 3600000, &b) > 1000);
	for (size_t i = 0; i < b.count; i++) {
		assert_true(b.items[i].beeline_m <= 2000.0 * M_SQRT2);
		assert_true(b.items[i].beeline_m > 0.0);
	}
	fs_demand_destroy(d);

	/* Zone weights: all trips from the west half (zone 1) to the east half (zone 2). */
	struct fs_demand_zone_weight w[] = { { 1, 1.0, 0.0 }, { 2, 0.0, 1.0 } };
	struct fs_demand_params params;
	fs_demand_params_defaults(&params);
	params.profile = nyc_profile();
	params.zone_weights = w;
	params.zone_weight_count = 2;
	struct fs_error err;
	d = fs_demand_create(&params, places, 400, &err);
	assert_non_null(d);
	b.count = 0;
	assert_true(fs_demand_generate(d, 0, 6 * 3600000, &b) > 100);
	for (size_t i = 0; i < b.count; i++) {
		assert_int_equal(b.items[i].origin_zone, 1);
		assert_int_equal(b.items[i].dest_zone, 2);
		assert_true(b.items[i].origin.x < 1000.0 && b.items[i].dest.x >= 1000.0);
	}
	fs_demand_destroy(d);
	/* Nobody may end anywhere: refused. */
	struct fs_demand_zone_weight none[] = { { 1, 1.0, 0.0 } };
	params.zone_weights = none;
	params.zone_weight_count = 1;
	assert_null(fs_demand_create(&params, places, 400, &err));
	assert_non_null(strstr(err.message, "destination"));
	params.zone_weights = NULL;
	assert_null(fs_demand_create(&params, places, 0, &err));
	/* The default profile path is relative to the project root. */
	params.profile = NULL;
	char cwd[512];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(root()), 0);
	d = fs_demand_create(&params, places, 400, &err);
	assert_int_equal(chdir(cwd), 0);
	assert_non_null(d);
	assert_string_equal(fs_demand_profile(d)->name, "nyc2019");
	fs_demand_destroy(d);
	fs_demand_batch_finish(&b);
	free(places);
}

static void places_from_a_network_and_zones(void **state)
{
	struct fs_network *net = fs_network_grid(5, 6, 100.0, 10.0, NULL);
	assert_non_null(net);
	struct fs_demand_place *p;
	size_t n;
	assert_int_equal(fs_demand_places_from_network(net, true, &p, &n), 0);
	assert_int_equal(n, 30);
	assert_true(p[7].x == net->nodes[7].x && p[7].y == net->nodes[7].y);
	struct fs_geofence *g = fs_geofence_create(&net->proj);
	const double west[] = { -10, -10, 250, -10, 250, 410, -10, 410 };
	struct fs_geofence_ring r = { west, 4 };
	struct fs_geofence_polygon poly = { &r, 1 };
	assert_int_equal(fs_geofence_add_zone(g, 77, "west", FS_GEOFENCE_XY, &poly, 1, NULL), 0);
	fs_demand_places_label(p, n, g);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(p[i].zone, p[i].x < 250 ? 77 : FS_DEMAND_NO_ZONE);
	}
	fs_geofence_destroy(g);
	fs_network_destroy(net);
	free(p);
}

/* ---- replay ---- */

static void coordinate_replay_gives_exactly_those_requests(void **state)
{
	const char *path = write_tmp("trips_ll.csv",
		"# three trips in Atlanta\n"
		"t_request_s,origin_lat,origin_lon,dest_lat,dest_lon,comment\n"
		"120.5,33.7550,-84.3900,33.7700,-84.3800,a\n"
		"60,33.7600,-84.4000,33.7500,-84.3850,b\n"
		"\n"
		"120.5,33.7490,-84.3880,33.7800,-84.3700,c\n");
	struct fs_projection proj;
	fs_projection_init(&proj, 33.76, -84.39);
	struct fs_geofence *g = fs_geofence_create(&proj);
	const double box[] = { 33.75, -84.395, 33.75, -84.375, 33.775, -84.375, 33.775, -84.395 };
	struct fs_geofence_ring r = { box, 4 };
	struct fs_geofence_polygon poly = { &r, 1 };
	assert_int_equal(fs_geofence_add_zone(g, 9, NULL, FS_GEOFENCE_LATLON, &poly, 1, NULL), 0);
	struct fs_demand_replay_params params = { .proj = &proj, .zones = g, .t_offset_ms = 1000 };
	struct fs_demand_batch b = { 0 };
	struct fs_error err = { { 0 } };
	int64_t n = fs_demand_replay_csv(path, &params, &b, &err);
	if (n < 0) {
		fail_msg("%s", err.message);
	}
	assert_int_equal(n, 3);
	/* Ordered by time, then record index. */
	assert_int_equal(b.items[0].id, 1);
	assert_int_equal(b.items[0].t_ms, 61000);
	assert_int_equal(b.items[1].id, 0);
	assert_int_equal(b.items[1].t_ms, 121500);
	assert_int_equal(b.items[2].id, 2);
	struct fs_point o = fs_projection_to_xy(&proj, 33.7550, -84.3900);
	struct fs_point dd = fs_projection_to_xy(&proj, 33.7700, -84.3800);
	assert_true(b.items[1].origin.x == o.x && b.items[1].origin.y == o.y);
	assert_true(b.items[1].dest.x == dd.x && b.items[1].dest.y == dd.y);
	assert_int_equal(b.items[1].origin_zone, 9);
	assert_int_equal(b.items[1].dest_zone, 9);
	assert_int_equal(b.items[0].origin_zone, FS_DEMAND_NO_ZONE); /* 33.76, -84.40: west of the box */
	assert_int_equal(b.items[2].dest_zone, FS_DEMAND_NO_ZONE);
	assert_int_equal(b.items[0].origin_place, FS_DEMAND_NO_PLACE);

	/* Metres, columns in another order; appended after the first batch. */
	path = write_tmp("trips_xy.csv", "dest_y,dest_x,origin_y,origin_x,t_request_s\n"
					 "10,20,30,40,5\n-1.5,2.25,0,0,0.001\n");
	assert_int_equal(fs_demand_replay_csv(path, NULL, &b, &err), 2);
	assert_int_equal(b.count, 5);
	assert_int_equal(b.items[3].t_ms, 1);
	assert_true(b.items[3].dest.x == 2.25 && b.items[3].dest.y == -1.5);
	assert_true(b.items[4].origin.x == 40 && b.items[4].origin.y == 30);
	assert_true(b.items[4].dest.x == 20 && b.items[4].dest.y == 10);
	assert_true(fabs(b.items[4].beeline_m - hypot(20, 20)) < 1e-12);
	fs_geofence_destroy(g);
	fs_demand_batch_finish(&b);
}

static void broken_replay_files_say_where(void **state)
{
	struct fs_projection proj;
	fs_projection_init(&proj, 33.76, -84.39);
	struct fs_demand_replay_params params = { .proj = &proj };
	struct fs_demand_batch b = { 0 };
	struct fs_error err;
	static const struct {
		const char *text, *where, *what;
		bool with_proj;
	} cases[] = {
		{ "t_request_s,origin_lat,origin_lon,dest_lat,dest_lon\n1,33.7,-84.3,33.8,-84.2\n"
		  "2,33.7,-84.3,oops,-84.2\n",
		  ":3:14: ", "dest_lat: \"oops\" is not a number", true },
		{ "t_request_s,origin_lat,origin_lon,dest_lat,dest_lon\n1,33.7,-84.3,33.8\n",
		  ":2:18: ", "missing column dest_lon", true },
		{ "t_request_s,origin_lat,origin_lon,dest_lat,dest_lon\n1,93.7,-84.3,33.8,-84.2\n",
		  ":2:3: ", "origin_lat: 93.7 is out of range", true },
		{ "time,from,to\n1,2,3\n", ":1: ", "header needs t_request_s", true },
		{ "t_request_s,origin_lat,origin_lon,dest_lat,dest_lon\n1,33.7,-84.3,33.8,-84.2\n",
		  ":1: ", "need a projection", false },
		{ "", ": ", "empty file", true },
		{ "t_request_s,origin_x,origin_y,dest_x,dest_y\n\"1,2,3,4,5\n", ":2: ", "unterminated quoted field", true },
		/* a request before the run's start would be recorded as one that never was */
		{ "t_request_s,origin_x,origin_y,dest_x,dest_y\n5,0,0,100,100\n-3,0,0,100,100\n", ":3:1: ",
		  "t_request_s: -3 is before the run's start", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "bad%zu.csv", i);
		const char *path = write_tmp(name, cases[i].text);
		assert_int_equal(fs_demand_replay_csv(path, cases[i].with_proj ? &params : NULL, &b, &err),
				 -EINVAL);
		expect_error(&err, path, cases[i].where, cases[i].what);
		assert_int_equal(b.count, 0); /* all or nothing */
	}
	fs_demand_batch_finish(&b);
}

static void tlc_zone_replay_and_travel_model(void **state)
{
	struct fs_error err = { { 0 } };
	struct fs_demand_zones zones;
	assert_int_equal(fs_demand_zones_load(data("data/nyc_tlc/taxi_zone_centroids.csv"), NULL, &zones,
					      &err), 0);
	struct fs_demand_batch b = { 0 };
	uint64_t skipped = 0;
	struct fs_timezone ny; /* the records are New York wall-clock times */
	if (fs_timezone_load(FS_TZ_DIR, "America/New_York", &ny, &err) < 0) {
		fail_msg("%s", err.message);
	}
	int64_t n = fs_demand_replay_tlc(tlc, 12, &zones, &ny, true, &b, &skipped, &err);
	if (n < 0) {
		fail_msg("%s", err.message);
	}
	assert_int_equal((uint64_t)n + skipped, 120000);
	assert_true(skipped > 0 && skipped < 2400); /* ids 264/265: ~1 % */
	/* The first record of January: 2019-01-15 03:36:12 local, 230 -> 48, 1.0 mi;
	 * the first of July, 2019-07-02 14:37:10 local, is on daylight time. */
	const struct fs_demand_request *first = NULL, *july = NULL;
	for (size_t i = 0; i < b.count; i++) {
		if (b.items[i].id == 0) {
			first = &b.items[i];
		} else if (b.items[i].id == 60000) {
			july = &b.items[i];
		}
	}
	assert_non_null(first);
	assert_non_null(july);
	assert_int_equal(first->t_ms, INT64_C(1547523372000) + 5 * INT64_C(3600000));
	assert_int_equal(july->t_ms, INT64_C(1562078230000) + 4 * INT64_C(3600000));
	assert_int_equal(first->origin_zone, 230);
	assert_int_equal(first->dest_zone, 48);
	assert_true(first->origin.x == fs_demand_zones_find(&zones, 230)->centroid.x);
	assert_true(fabs(first->record_distance_m - MILE) < 1e-9);
	assert_true(first->record_duration_s == 367.0);
	for (size_t i = 1; i < b.count; i++) {
		assert_true(b.items[i - 1].t_ms <= b.items[i].t_ms);
	}

	/* The travel model against the records it was derived from: for kept
	 * trips >= 2 km apart the median modelled/recorded distance is 1 by
	 * construction; the modelled time should be near the recorded one. */
	struct fs_demand_travel_model m;
	assert_int_equal(fs_demand_travel_model_init(&m, nyc_profile(), &ny), 0);
	double *dr = malloc(b.count * sizeof(double)), *tr = malloc(b.count * sizeof(double));
	size_t k = 0;
	for (size_t i = 0; i < b.count; i++) {
		const struct fs_demand_request *q = &b.items[i];
		if (q->beeline_m < 2000 || q->record_distance_m <= 0 || q->record_duration_s < 30 ||
		    q->record_duration_s > 10800) {
			continue;
		}
		dr[k] = fs_demand_travel_distance_m(&m, q->origin, q->dest) / q->record_distance_m;
		tr[k] = fs_demand_travel_time_s(&m, q->origin, q->dest, q->t_ms) / q->record_duration_s;
		k++;
	}
	qsort(dr, k, sizeof(double), dcmp);
	qsort(tr, k, sizeof(double), dcmp);
	print_message("# zone model over %zu trips: median distance ratio %.3f, time ratio %.3f\n", k,
		      quantile(dr, k, 0.5), quantile(tr, k, 0.5));
	assert_true(fabs(quantile(dr, k, 0.5) - 1.0) < 0.01);
	assert_true(fabs(quantile(tr, k, 0.5) - 1.0) < 0.15);
	free(dr);
	free(tr);

	/* Unknown zones are an error unless skipped; the batch is left as it was. */
	size_t before = b.count;
	const char *path = write_tmp("tlc_bad.csv",
		"vendor_id,pickup_datetime,dropoff_datetime,trip_distance,pickup_location_id,dropoff_location_id\n"
		"1,2019-01-01 10:00:00,2019-01-01 10:10:00,1.5,1,2\n"
		"1,2019-01-01 10:00:00,2019-01-01 10:10:00,1.5,264,2\n");
	assert_int_equal(fs_demand_replay_tlc(&path, 1, &zones, NULL, false, &b, NULL, &err), -EINVAL);
	expect_error(&err, path, ":3:47: ", "pickup_location_id: unknown zone id 264");
	assert_int_equal(b.count, before);
	assert_int_equal(fs_demand_replay_tlc(&path, 1, &zones, NULL, true, &b, &skipped, &err), 1);
	assert_int_equal(skipped, 1);
	path = write_tmp("tlc_bad2.csv",
		"vendor_id,pickup_datetime,dropoff_datetime,trip_distance,pickup_location_id,dropoff_location_id\n"
		"1,2019-01-01 10:00:00,2019-01-01 10:10:00,1.5,1,x2\n");
	assert_int_equal(fs_demand_replay_tlc(&path, 1, &zones, NULL, true, &b, NULL, &err), -EINVAL);
	expect_error(&err, path, ":2:49: ", "dropoff_location_id: \"x2\" is not a zone id");
	fs_demand_batch_finish(&b);
	fs_demand_zones_finish(&zones);
	fs_timezone_finish(&ny);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tlc_profile_is_the_sample_and_the_committed_file),
		cmocka_unit_test(chicago_profile_is_the_committed_file),
		cmocka_unit_test(profile_and_tlc_errors_name_file_line_column),
		cmocka_unit_test(same_seed_same_requests_and_slicing_does_not_matter),
		cmocka_unit_test(generated_hour_profile_matches_the_sample),
		cmocka_unit_test(summer_peaks_follow_daylight_time),
		cmocka_unit_test(generated_trip_lengths_match_the_sample),
		cmocka_unit_test(small_city_and_zone_weights),
		cmocka_unit_test(places_from_a_network_and_zones),
		cmocka_unit_test(coordinate_replay_gives_exactly_those_requests),
		cmocka_unit_test(broken_replay_files_say_where),
		cmocka_unit_test(tlc_zone_replay_and_travel_model),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
