/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_demand_replay - ride requests from recorded trips.
 *
 * Coordinate CSVs give exactly their requests (points, not snapped: snapping
 * to a network is the caller's step). Zone-based TLC records become trips
 * between zone centroids, for the zone travel model. Both read everything
 * first and append only on success, ordered by (time, record index).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/demand.h"
#include "fs/demand_load.h"
#include "fs/grow.h"
#include "fs_demand_csv.h"

#define METRES_PER_MILE 1609.344

struct replay {
	struct fs_demand_batch *out;
	size_t before;
	struct fs_error *err;
	bool have_header;
	int col[5];
	bool latlon;
	const struct fs_demand_replay_params *params;
	uint64_t next_id;
	/* TLC */
	const struct fs_demand_zones *zones;
	const struct fs_timezone *tz;
	bool skip_unknown;
	uint64_t skipped;
};

static int append(struct replay *r, const struct fs_demand_request *req)
{
	struct fs_demand_batch *b = r->out;
	if (FS_GROW(b->items, b->capacity, b->count + 1) < 0) {
		return -ENOMEM;
	}
	b->items[b->count++] = *req;
	return 0;
}

static int64_t label(const struct fs_geofence *g, struct fs_point p)
{
	uint32_t z;
	if (!g || fs_geofence_zones_at(g, p.x, p.y, &z, 1) == 0) {
		return FS_DEMAND_NO_ZONE;
	}
	return fs_geofence_zone_id(fs_geofence_zone(g, z));
}

static const char *const ll_cols[] = { "t_request_s", "origin_lat", "origin_lon", "dest_lat",
				       "dest_lon" };
static const char *const xy_cols[] = { "t_request_s", "origin_x", "origin_y", "dest_x", "dest_y" };

static int on_coord_row(void *user, const struct fs_demand_csv_row *row)
{
	struct replay *r = user;
	if (!r->have_header) {
		bool xy = true, ll = true;
		for (int i = 0; i < 5; i++) {
			xy &= fs_demand_csv_find(row, xy_cols[i]) >= 0;
			ll &= fs_demand_csv_find(row, ll_cols[i]) >= 0;
		}
		if (!xy && !ll) {
			return fs_error_at(r->err, -EINVAL, row->path, row->line, 0,
					   "header needs t_request_s,origin_lat,origin_lon,dest_lat,"
					   "dest_lon or t_request_s,origin_x,origin_y,dest_x,dest_y");
		}
		r->latlon = !xy; /* x/y wins when a file has both: no projection involved */
		if (r->latlon && !(r->params && r->params->proj)) {
			return fs_error_at(r->err, -EINVAL, row->path, row->line, 0,
					   "lat/lon requests need a projection (params->proj)");
		}
		for (int i = 0; i < 5; i++) {
			r->col[i] = fs_demand_csv_find(row, r->latlon ? ll_cols[i] : xy_cols[i]);
		}
		r->have_header = true;
		return 0;
	}
	const char *const *names = r->latlon ? ll_cols : xy_cols;
	double v[5];
	for (int i = 0; i < 5; i++) {
		size_t c = (size_t)r->col[i];
		if (c >= row->count) {
			return fs_demand_csv_fail(row, c, r->err, "missing column %s (the row has %zu fields)",
						  names[i], row->count);
		}
		if (!fs_demand_csv_double(row->fields[c], &v[i])) {
			return fs_demand_csv_fail(row, c, r->err, "%s: \"%s\" is not a number", names[i],
						  row->fields[c]);
		}
		if (r->latlon && i > 0 && fabs(v[i]) > (i % 2 ? 90.0 : 180.0)) {
			return fs_demand_csv_fail(row, c, r->err, "%s: %g is out of range", names[i], v[i]);
		}
	}
	if (v[0] < 0 || v[0] > 9e12) {
		return fs_demand_csv_fail(row, (size_t)r->col[0], r->err,
					  v[0] < 0 ? "t_request_s: %g is before the run's start (seconds from it, 0 or more)"
						   : "t_request_s: %g is out of range",
					  v[0]);
	}
	struct fs_demand_request req = {
		.id = r->next_id++,
		.t_ms = (int64_t)llround(v[0] * 1000.0) + (r->params ? r->params->t_offset_ms : 0),
		.origin_place = FS_DEMAND_NO_PLACE,
		.dest_place = FS_DEMAND_NO_PLACE,
	};
	if (r->latlon) {
		req.origin = fs_projection_to_xy(r->params->proj, v[1], v[2]);
		req.dest = fs_projection_to_xy(r->params->proj, v[3], v[4]);
	} else {
		req.origin = (struct fs_point){ v[1], v[2] };
		req.dest = (struct fs_point){ v[3], v[4] };
	}
	const struct fs_geofence *g = r->params ? r->params->zones : NULL;
	req.origin_zone = label(g, req.origin);
	req.dest_zone = label(g, req.dest);
	req.beeline_m = hypot(req.dest.x - req.origin.x, req.dest.y - req.origin.y);
	return append(r, &req) < 0 ? fs_error_at(r->err, -ENOMEM, row->path, row->line, 0,
						  "out of memory")
				   : 0;
}

static int request_cmp(const void *pa, const void *pb)
{
	const struct fs_demand_request *a = pa, *b = pb;
	if (a->t_ms != b->t_ms) {
		return a->t_ms < b->t_ms ? -1 : 1;
	}
	return a->id < b->id ? -1 : a->id > b->id;
}

static int64_t finish(struct replay *r, int status)
{
	struct fs_demand_batch *b = r->out;
	if (status < 0) {
		b->count = r->before;
		return status;
	}
	if (b->count - r->before > 1) {
		qsort(b->items + r->before, b->count - r->before, sizeof(*b->items), request_cmp);
	}
	return (int64_t)(b->count - r->before);
}

int64_t fs_demand_replay_csv(const char *path, const struct fs_demand_replay_params *params,
			     struct fs_demand_batch *out, struct fs_error *err)
{
	struct replay r = { .out = out, .before = out->count, .err = err, .params = params };
	int s = fs_demand_csv_read(path, on_coord_row, &r, err);
	if (s == 0 && !r.have_header) {
		s = fs_error_at(err, -EINVAL, path, 0, 0, "empty file: no header");
	}
	return finish(&r, s);
}

enum { T_PICK, T_DROP, T_DIST, T_PZONE, T_DZONE };
static const char *const tlc_cols[] = { "pickup_datetime", "dropoff_datetime", "trip_distance",
					"pickup_location_id", "dropoff_location_id" };

static int on_tlc_row(void *user, const struct fs_demand_csv_row *row)
{
	struct replay *r = user;
	if (!r->have_header) {
		int rc = fs_demand_csv_columns(row, tlc_cols, 5, 0x1f, r->col, r->err);
		r->have_header = rc == 0;
		return rc;
	}
	const char *f[5];
	for (int i = 0; i < 5; i++) {
		size_t c = (size_t)r->col[i];
		if (c >= row->count) {
			return fs_demand_csv_fail(row, c, r->err, "missing column %s (the row has %zu fields)",
						  tlc_cols[i], row->count);
		}
		f[i] = row->fields[c];
	}
	int64_t t0, t1;
	if (fs_calendar_parse(f[T_PICK], &t0) < 0) {
		return fs_demand_csv_fail(row, (size_t)r->col[T_PICK], r->err,
					  "pickup_datetime: \"%s\" is not a date-time", f[T_PICK]);
	}
	if (fs_calendar_parse(f[T_DROP], &t1) < 0) {
		return fs_demand_csv_fail(row, (size_t)r->col[T_DROP], r->err,
					  "dropoff_datetime: \"%s\" is not a date-time", f[T_DROP]);
	}
	double miles;
	if (!fs_demand_csv_double(f[T_DIST], &miles)) {
		return fs_demand_csv_fail(row, (size_t)r->col[T_DIST], r->err,
					  "trip_distance: \"%s\" is not a number", f[T_DIST]);
	}
	const struct fs_demand_zone *z[2];
	for (int k = 0; k < 2; k++) {
		int c = r->col[T_PZONE + k];
		const char *s = f[T_PZONE + k];
		char *end;
		long long id = strtoll(s, &end, 10);
		if (!*s || *end) {
			return fs_demand_csv_fail(row, (size_t)c, r->err, "%s: \"%s\" is not a zone id",
						  tlc_cols[T_PZONE + k], s);
		}
		z[k] = fs_demand_zones_find(r->zones, id);
		if (!z[k]) {
			if (r->skip_unknown) {
				r->skipped++;
				r->next_id++; /* ids stay record indices */
				return 0;
			}
			return fs_demand_csv_fail(row, (size_t)c, r->err, "%s: unknown zone id %lld",
						  tlc_cols[T_PZONE + k], id);
		}
	}
	struct fs_demand_request req = {
		.id = r->next_id++,
		.t_ms = fs_timezone_utc_ms(r->tz, t0),
		.origin = z[0]->centroid,
		.dest = z[1]->centroid,
		.origin_zone = z[0]->id,
		.dest_zone = z[1]->id,
		.origin_place = FS_DEMAND_NO_PLACE,
		.dest_place = FS_DEMAND_NO_PLACE,
		.beeline_m = hypot(z[1]->centroid.x - z[0]->centroid.x, z[1]->centroid.y - z[0]->centroid.y),
		.record_distance_m = miles * METRES_PER_MILE,
		.record_duration_s = (double)(t1 - t0) / 1000.0,
	};
	return append(r, &req) < 0 ? fs_error_at(r->err, -ENOMEM, row->path, row->line, 0,
						  "out of memory")
				   : 0;
}

int64_t fs_demand_replay_tlc(const char *const *paths, size_t n,
			     const struct fs_demand_zones *zones, const struct fs_timezone *tz,
			     bool skip_unknown_zones, struct fs_demand_batch *out,
			     uint64_t *ret_skipped, struct fs_error *err)
{
	struct replay r = { .out = out, .before = out->count, .err = err, .zones = zones, .tz = tz,
			    .skip_unknown = skip_unknown_zones };
	int s = 0;
	for (size_t i = 0; i < n && s == 0; i++) {
		r.have_header = false;
		s = fs_demand_csv_read(paths[i], on_tlc_row, &r, err);
		if (s == 0 && !r.have_header) {
			s = fs_error_at(err, -EINVAL, paths[i], 0, 0, "empty file: no header");
		}
	}
	if (s == 0 && ret_skipped) {
		*ret_skipped = r.skipped;
	}
	return finish(&r, s);
}
