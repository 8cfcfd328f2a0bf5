/* SPDX-License-Identifier: Apache-2.0 */
/* rec_fleet - the fleet as foxglove.GeoJSON and foxglove.LocationFix (see rec_fleet.h). */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/network.h"
#include "fs/vehicle.h"
#include "fs_log.h"
#include "fs_vehicle_msg.h"
#include "rec_fleet.h"

/* Vehicle ids are dense from 0; a larger one is a bad record, not a fleet to allocate for. */
#define MAX_VEHICLE_ID (1u << 24)
#define REC_FLEET_MAX_CATCH_UP 1000 /* samples made up for at once (1000 x 5 s: 83 simulated minutes) */

/* github.com/foxglove/schemas, schemas/jsonschema/GeoJSON.json and LocationFix.json (MIT). */
const char rec_fleet_geojson_schema[] =
	"{\"title\":\"foxglove.GeoJSON\",\"description\":\"GeoJSON data for annotating maps\",\"type\":\"object\","
	"\"properties\":{\"geojson\":{\"type\":\"string\",\"description\":\"GeoJSON data encoded as a UTF-8 string\"}}}";
const char rec_fleet_location_schema[] =
	"{\"title\":\"foxglove.LocationFix\",\"description\":\"A navigation satellite fix for any Global Navigation "
	"Satellite System\",\"type\":\"object\",\"properties\":{"
	"\"timestamp\":{\"type\":\"object\",\"title\":\"time\",\"properties\":{\"sec\":{\"type\":\"integer\",\"minimum\":0},"
	"\"nsec\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":999999999}},\"description\":\"Timestamp of the message\"},"
	"\"frame_id\":{\"type\":\"string\",\"description\":\"Frame for the sensor. Latitude and longitude readings are "
	"at the origin of the frame.\"},"
	"\"latitude\":{\"type\":\"number\",\"description\":\"Latitude in degrees\"},"
	"\"longitude\":{\"type\":\"number\",\"description\":\"Longitude in degrees\"},"
	"\"altitude\":{\"type\":\"number\",\"description\":\"Altitude in meters\"},"
	"\"position_covariance\":{\"type\":\"array\",\"items\":{\"type\":\"number\"},\"minItems\":9,\"maxItems\":9,"
	"\"description\":\"Position covariance (m^2) defined relative to a tangential plane through the reported "
	"position. The components are East, North, and Up (ENU), in row-major order.\"},"
	"\"position_covariance_type\":{\"title\":\"foxglove.PositionCovarianceType\",\"description\":\"If "
	"`position_covariance` is available, `position_covariance_type` must be set to indicate the type of "
	"covariance.\",\"oneOf\":[{\"title\":\"UNKNOWN\",\"const\":0},{\"title\":\"APPROXIMATED\",\"const\":1},"
	"{\"title\":\"DIAGONAL_KNOWN\",\"const\":2},{\"title\":\"KNOWN\",\"const\":3}]}}}";

/* The colours fleet-viz draws each state in (viz/viz_scene.c), so both views read alike. */
static const char *const state_colors[FS_VEHICLE_STATE_COUNT] = {
	"#ffffff", "#8c9bb0", "#b39ddb", "#3cd070", "#ffc83c", "#ff8c1e", "#3296ff",
	"#28dcdc", "#d78cff", "#a050ff", "#be8246", "#7d7d7d", "#ff3232",
};

struct mirror {
	struct fs_vehicle_record rec;
	bool known;
};

struct buf {
	char *p;
	size_t len, cap;
};

struct rec_fleet {
	int64_t every_ms;
	bool budget;
	int64_t next_ms;            /* the next sample's time; 0 until a record is known */
	int64_t last_sample_ms;
	bool dirty;                 /* records applied since the last sample */
	struct mirror *veh;
	size_t n_veh;
	struct fs_projection proj;  /* of the latest batch (every shard of a run has the same origin) */
	struct fs_vehicle_records records;
	struct buf inner, geojson, center;
	uint64_t refused;
};

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		fs_xgrow(b->p, b->cap, b->len + (size_t)n + 1);
	}
}

/* @in as a JSON string value (its quotes and backslashes escaped) into @out. */
static void buf_json_string(struct buf *out, const struct buf *in)
{
	out->len = 0;
	buf_printf(out, "{\"geojson\":\"");
	size_t need = out->len + 2 * in->len + 3;
	fs_xgrow(out->p, out->cap, need);
	for (size_t i = 0; i < in->len; i++) {
		char c = in->p[i];
		if (c == '"' || c == '\\') {
			out->p[out->len++] = '\\';
		}
		out->p[out->len++] = c;
	}
	memcpy(out->p + out->len, "\"}", 3);
	out->len += 2;
}

struct rec_fleet *rec_fleet_create(int64_t every_ms, bool budget)
{
	struct rec_fleet *f = fs_xcalloc(1, sizeof(*f));
	f->every_ms = every_ms > 0 ? every_ms : REC_FLEET_EVERY_MS_DEFAULT;
	f->budget = budget;
	return f;
}

void rec_fleet_destroy(struct rec_fleet *f)
{
	if (!f) {
		return;
	}
	fs_vehicle_records_finish(&f->records);
	free(f->veh);
	free(f->inner.p);
	free(f->geojson.p);
	free(f->center.p);
	free(f);
}

uint64_t rec_fleet_refused(const struct rec_fleet *f)
{
	return f->refused;
}

static struct mirror *slot(struct rec_fleet *f, uint32_t id)
{
	if (id >= MAX_VEHICLE_ID) {
		return NULL;
	}
	fs_xgrow_zeroed(f->veh, f->n_veh, (size_t)id + 1);
	return &f->veh[id];
}

static int64_t align_up(int64_t t, int64_t every)
{
	return (t + every - 1) / every * every;
}

void rec_fleet_apply(struct rec_fleet *f, const Fleetsim__V1__Envelope *env)
{
	if (env->payload_case != FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES) {
		return;
	}
	if (fs_vehicle_msg_decode_records(env->vehicle_states, env->sim_time_ms, &f->records)) {
		f->refused++; /* the recording keeps the batch; the map does without it */
		return;
	}
	fs_projection_init(&f->proj, f->records.info.origin_lat, f->records.info.origin_lon);
	for (size_t i = 0; i < f->records.count; i++) {
		const struct fs_vehicle_record *in = &f->records.items[i];
		struct mirror *m = slot(f, in->id);
		if (!m || (m->known && in->t_ms < m->rec.t_ms)) {
			continue;
		}
		struct fs_vehicle_record r = m->rec;
		if (fs_vehicle_record_merge(&r, m->known, in) < 0) {
			continue; /* a move before the vehicle's first full record: the next keyframe brings it */
		}
		m->rec = r;
		m->known = true;
		f->dirty = true;
		if (!f->next_ms) {
			f->next_ms = align_up(env->sim_time_ms, f->every_ms);
		}
	}
}

static void add_feature(struct rec_fleet *f, const struct fs_vehicle_record *r, double lat, double lon, double soc,
			bool first)
{
	unsigned st = r->state < FS_VEHICLE_STATE_COUNT ? r->state : 0;
	const char *state = fs_vehicle_state_name(st);
	buf_printf(&f->inner,
		   "%s{\"type\":\"Feature\",\"id\":%" PRIu32 ",\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.6f,%.6f]},"
		   "\"properties\":{\"name\":\"vehicle %" PRIu32 ": %s, %.0f %%\",\"state\":\"%s\",\"soc\":%.3f,"
		   "\"job_id\":%" PRIu64 ",\"style\":{\"color\":\"%s\"}}}",
		   first ? "" : ",", r->id, lon, lat, r->id, state, soc * 100.0, state, soc, r->job_id, state_colors[st]);
}

/* The mirror at @t_ms into f->geojson and f->center; returns the number of vehicles drawn. */
static size_t build(struct rec_fleet *f, int64_t t_ms, struct rec_fleet_sample *ret)
{
	f->inner.len = 0;
	buf_printf(&f->inner, "{\"type\":\"FeatureCollection\",\"features\":[");
	size_t n = 0;
	double sx = 0, sy = 0, sxx = 0, syy = 0;
	for (size_t id = 0; id < f->n_veh; id++) {
		const struct mirror *m = &f->veh[id];
		if (!m->known || m->rec.edge == FS_NO_EDGE) {
			continue; /* not on the network (delivered, in a workshop): nowhere to draw it */
		}
		double lat, lon;
		fs_projection_to_latlon(&f->proj, (struct fs_point){ m->rec.x, m->rec.y }, &lat, &lon);
		double soc = fs_vehicle_record_soc_at(&m->rec, t_ms);
		soc = soc < 0.0 ? 0.0 : soc > 1.0 ? 1.0 : soc;
		add_feature(f, &m->rec, lat, lon, soc, n == 0);
		n++;
		sx += m->rec.x;
		sy += m->rec.y;
		sxx += (double)m->rec.x * m->rec.x;
		syy += (double)m->rec.y * m->rec.y;
	}
	buf_printf(&f->inner, "]}");
	buf_json_string(&f->geojson, &f->inner);
	*ret = (struct rec_fleet_sample){ .t_ms = t_ms, .geojson = f->geojson.p, .geojson_len = f->geojson.len,
					  .vehicles = n };
	if (n) {
		double mx = sx / (double)n, my = sy / (double)n;
		double vx = fmax(sxx / (double)n - mx * mx, 0.0), vy = fmax(syy / (double)n - my * my, 0.0);
		double lat, lon;
		fs_projection_to_latlon(&f->proj, (struct fs_point){ mx, my }, &lat, &lon);
		f->center.len = 0;
		buf_printf(&f->center,
			   "{\"timestamp\":{\"sec\":%" PRId64 ",\"nsec\":%" PRId64 "},\"frame_id\":\"fleet\","
			   "\"latitude\":%.7f,\"longitude\":%.7f,\"altitude\":0,"
			   "\"position_covariance\":[%.1f,0,0,0,%.1f,0,0,0,0],\"position_covariance_type\":2}",
			   t_ms / 1000, t_ms % 1000 * 1000000, lat, lon, vx, vy);
		ret->center = f->center.p;
		ret->center_len = f->center.len;
	}
	f->dirty = false;
	f->last_sample_ms = t_ms;
	return n;
}

int rec_fleet_due(struct rec_fleet *f, int64_t t_ms, struct rec_fleet_sample *ret)
{
	if (!f->next_ms || t_ms <= f->next_ms) {
		return 0;
	}
	int64_t at = f->next_ms;
	size_t n = build(f, at, ret);
	int64_t interval = f->every_ms;
	if (f->budget) {
		int64_t thinned = (int64_t)(n * 1000 / REC_FLEET_POINTS_PER_S);
		interval = align_up(thinned > interval ? thinned : interval, f->every_ms);
	}
	f->next_ms = at + interval;
	/* Messages of one tick from different publishers reach the tap in any order, and on a
	 * loaded machine one publisher can be several ticks ahead of another: a sample for every
	 * grid time crossed (the caller loops). Only a real jump of the clock (a recording of
	 * another run appended, a clock far off) gets one sample for the gap, then the grid again. */
	if (t_ms - f->next_ms > REC_FLEET_MAX_CATCH_UP * interval) {
		f->next_ms += (t_ms - f->next_ms + interval - 1) / interval * interval;
	}
	return 1;
}

int rec_fleet_final(struct rec_fleet *f, int64_t t_ms, struct rec_fleet_sample *ret)
{
	if (!f->dirty || t_ms < f->last_sample_ms) {
		return 0;
	}
	build(f, t_ms, ret);
	return 1;
}
