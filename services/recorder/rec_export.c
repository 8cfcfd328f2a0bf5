/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rec_export - one pass over a recording into a timeline CSV, trips GeoJSON
 * and the data of the KPI report.
 *
 * Vehicle state comes from veh.state batches (one per shard per tick, every
 * hosted vehicle): a vehicle's timeline row closes when its state changes in
 * a batch, so intervals are exact to the tick. Positions are metres east and
 * north of the batch's origin, turned into WGS84 with the same equirectangular
 * projection as the network (fs_projection_*). A trip is the stretch of
 * positions while a vehicle is IN_TRIP; kepler.gl's trip layer wants each
 * coordinate as [lon, lat, altitude, unix time in seconds].
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.pb-c.h"
#include "fs/calendar.h"
#include "fs/network.h"
#include "fs_log.h"
#include "fs_mcap.h"
#include "rec_export.h"

#define MAX_VEHICLE_ID (16u << 20)

struct trip_point {
	double lon, lat;
	int64_t t_ms;
};

struct vstate {
	bool known;
	uint8_t state;
	int64_t since_ms;
	double lat0, lon0, lat, lon;
	float soc0, soc;
	double x, y;              /* last position, metres, for distance */
	double dist_m;
	uint64_t job0;
	struct trip_point *trip;  /* while IN_TRIP */
	size_t n_trip, cap_trip;
	uint64_t trip_job;
	double trip_m;
};

struct row {
	uint32_t vid;
	uint8_t kind;             /* 0 state interval, 1 event */
	uint8_t state;
	uint8_t event;
	uint64_t order;           /* tie-break: recording order */
	int64_t start_ms, end_ms;
	double lat, lon, end_lat, end_lon;
	float soc, end_soc, dist_m;
	uint64_t job;
	double value;
	char *detail;
};

struct exporter {
	const struct rec_export_options *o;
	struct vstate *veh;
	size_t n_veh;
	struct row *rows;
	size_t n_rows, cap_rows;
	uint64_t order;
	FILE *geo;
	uint64_t trips_written;
	struct rec_report rep;
	int64_t cur_ms;
	uint32_t cur_by_state[REC_STATES];
	double cur_soc_sum;
	uint64_t cur_soc_n;
	bool have_cur;
	uint64_t trips_done;
};

static const char *state_name(unsigned s)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&fleetsim__v1__vehicle_state__descriptor, (int)s);
	return v ? v->name + strlen("VEHICLE_STATE_") : "UNKNOWN";
}

static const char *event_name(unsigned k)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&fleetsim__v1__vehicle_event_kind__descriptor, (int)k);
	return v ? v->name + strlen("VEHICLE_EVENT_KIND_") : "UNKNOWN";
}

static struct row *new_row(struct exporter *x)
{
	if (x->n_rows == x->cap_rows) {
		x->cap_rows = x->cap_rows ? 2 * x->cap_rows : 4096;
		x->rows = realloc(x->rows, x->cap_rows * sizeof(*x->rows));
		if (!x->rows) {
			fs_error("out of memory for the timeline");
			abort();
		}
	}
	struct row *r = &x->rows[x->n_rows++];
	memset(r, 0, sizeof(*r));
	r->order = x->order++;
	return r;
}

static struct vstate *vehicle(struct exporter *x, uint32_t id)
{
	if (id >= MAX_VEHICLE_ID) {
		return NULL;
	}
	if (id >= x->n_veh) {
		size_t n = x->n_veh ? x->n_veh : 1024;
		while (n <= id) {
			n *= 2;
		}
		x->veh = realloc(x->veh, n * sizeof(*x->veh));
		if (!x->veh) {
			fs_error("out of memory for vehicles");
			abort();
		}
		memset(x->veh + x->n_veh, 0, (n - x->n_veh) * sizeof(*x->veh));
		x->n_veh = n;
	}
	return &x->veh[id];
}

static void close_interval(struct exporter *x, uint32_t id, struct vstate *v, int64_t end_ms)
{
	if (!x->o->timeline_csv) {
		return;
	}
	struct row *r = new_row(x);
	r->vid = id;
	r->kind = 0;
	r->state = v->state;
	r->start_ms = v->since_ms;
	r->end_ms = end_ms;
	r->lat = v->lat0;
	r->lon = v->lon0;
	r->end_lat = v->lat;
	r->end_lon = v->lon;
	r->soc = v->soc0;
	r->end_soc = v->soc;
	r->dist_m = (float)v->dist_m;
	r->job = v->job0;
}

static void write_trip(struct exporter *x, uint32_t id, struct vstate *v)
{
	if (!x->geo || v->n_trip < 2) {
		v->n_trip = 0;
		return;
	}
	char a[32], b[32];
	fs_calendar_format(v->trip[0].t_ms, a, sizeof(a));
	fs_calendar_format(v->trip[v->n_trip - 1].t_ms, b, sizeof(b));
	fprintf(x->geo,
		"%s\n{\"type\":\"Feature\",\"properties\":{\"vehicle_id\":%u,\"job_id\":%" PRIu64
		",\"start\":\"%s\",\"end\":\"%s\",\"duration_s\":%.0f,\"distance_m\":%.1f},"
		"\"geometry\":{\"type\":\"LineString\",\"coordinates\":[",
		x->trips_written ? "," : "", id, v->trip_job, a, b,
		(double)(v->trip[v->n_trip - 1].t_ms - v->trip[0].t_ms) / 1000.0, v->trip_m);
	for (size_t i = 0; i < v->n_trip; i++) {
		fprintf(x->geo, "%s[%.7f,%.7f,0,%.3f]", i ? "," : "", v->trip[i].lon, v->trip[i].lat,
			(double)v->trip[i].t_ms / 1000.0);
	}
	fprintf(x->geo, "]}}");
	x->trips_written++;
	v->n_trip = 0;
}

static void trip_point(struct vstate *v, double lat, double lon, int64_t t_ms)
{
	if (v->n_trip == v->cap_trip) {
		v->cap_trip = v->cap_trip ? 2 * v->cap_trip : 64;
		v->trip = realloc(v->trip, v->cap_trip * sizeof(*v->trip));
		if (!v->trip) {
			fs_error("out of memory for trips");
			abort();
		}
	}
	v->trip[v->n_trip++] = (struct trip_point){ lon, lat, t_ms };
}

/* Close the report's sample of the previous tick when time moves on. */
static void sample(struct exporter *x, int64_t t_ms)
{
	if (x->have_cur && t_ms == x->cur_ms) {
		return;
	}
	if (x->have_cur) {
		struct rec_series *s = &x->rep.fleet;
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 1024;
			s->t_ms = realloc(s->t_ms, s->cap * sizeof(*s->t_ms));
			s->by_state = realloc(s->by_state, s->cap * sizeof(*s->by_state));
			s->mean_soc = realloc(s->mean_soc, s->cap * sizeof(*s->mean_soc));
			s->trips_done = realloc(s->trips_done, s->cap * sizeof(*s->trips_done));
			if (!s->t_ms || !s->by_state || !s->mean_soc || !s->trips_done) {
				abort();
			}
		}
		s->t_ms[s->n] = x->cur_ms;
		memcpy(s->by_state[s->n], x->cur_by_state, sizeof(x->cur_by_state));
		s->mean_soc[s->n] = x->cur_soc_n ? (float)(x->cur_soc_sum / (double)x->cur_soc_n) : NAN;
		s->trips_done[s->n] = (uint32_t)x->trips_done;
		uint64_t total = 0;
		for (int i = 0; i < REC_STATES; i++) {
			total += x->cur_by_state[i];
		}
		if (total > x->rep.vehicles_max) {
			x->rep.vehicles_max = total;
		}
		s->n++;
	}
	memset(x->cur_by_state, 0, sizeof(x->cur_by_state));
	x->cur_soc_sum = 0;
	x->cur_soc_n = 0;
	x->cur_ms = t_ms;
	x->have_cur = true;
}

static void handle_states(struct exporter *x, const Fleetsim__V1__Envelope *env)
{
	const Fleetsim__V1__VehicleStateBatch *b = env->vehicle_states;
	int64_t t = env->sim_time_ms;
	sample(x, t);
	struct fs_projection proj;
	fs_projection_init(&proj, b->origin_lat, b->origin_lon);
	size_t n = b->n_vehicle_id;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = b->vehicle_id[i];
		unsigned st = i < b->n_state ? (unsigned)b->state[i] : 0;
		double xm = i < b->n_x_m ? b->x_m[i] : 0, ym = i < b->n_y_m ? b->y_m[i] : 0;
		float soc = i < b->n_soc ? b->soc[i] : NAN;
		uint64_t job = i < b->n_job_id ? b->job_id[i] : 0;
		double lat, lon;
		fs_projection_to_latlon(&proj, (struct fs_point){ xm, ym }, &lat, &lon);
		if (st < REC_STATES) {
			x->cur_by_state[st]++;
		}
		if (!isnan(soc)) {
			x->cur_soc_sum += soc;
			x->cur_soc_n++;
		}
		struct vstate *v = vehicle(x, id);
		if (!v) {
			continue;
		}
		if (v->known) {
			double step = hypot(xm - v->x, ym - v->y);
			v->dist_m += step;
			if (v->state == FLEETSIM__V1__VEHICLE_STATE__VEHICLE_STATE_IN_TRIP) {
				v->trip_m += step;
			}
		}
		v->x = xm;
		v->y = ym;
		if (!v->known || v->state != st) {
			if (v->known) {
				v->lat = lat;
				v->lon = lon;
				v->soc = soc;
				close_interval(x, id, v, t);
				if (v->state == FLEETSIM__V1__VEHICLE_STATE__VEHICLE_STATE_IN_TRIP) {
					trip_point(v, lat, lon, t);
					write_trip(x, id, v);
				}
			}
			v->known = true;
			v->state = (uint8_t)st;
			v->since_ms = t;
			v->lat0 = lat;
			v->lon0 = lon;
			v->soc0 = soc;
			v->dist_m = 0;
			v->job0 = job;
			if (st == FLEETSIM__V1__VEHICLE_STATE__VEHICLE_STATE_IN_TRIP) {
				v->n_trip = 0;
				v->trip_m = 0;
				v->trip_job = job;
			}
		}
		v->lat = lat;
		v->lon = lon;
		v->soc = soc;
		if (st == FLEETSIM__V1__VEHICLE_STATE__VEHICLE_STATE_IN_TRIP) {
			trip_point(v, lat, lon, t);
		}
	}
}

static void handle_events(struct exporter *x, const Fleetsim__V1__Envelope *env)
{
	if (!x->o->timeline_csv) {
		return;
	}
	const Fleetsim__V1__VehicleEventBatch *b = env->vehicle_events;
	for (size_t i = 0; i < b->n_events; i++) {
		const Fleetsim__V1__VehicleEvent *e = b->events[i];
		struct row *r = new_row(x);
		r->vid = e->vehicle_id;
		r->kind = 1;
		r->event = (uint8_t)e->kind;
		r->state = (uint8_t)e->to_state;
		r->start_ms = e->sim_time_ms ? e->sim_time_ms : env->sim_time_ms;
		r->end_ms = r->start_ms;
		r->job = e->job_id;
		r->value = e->value;
		r->soc = NAN;
		r->end_soc = NAN;
		r->lat = NAN;
		struct vstate *v = e->vehicle_id < x->n_veh ? &x->veh[e->vehicle_id] : NULL;
		if (v && v->known) {
			r->lat = v->lat;
			r->lon = v->lon;
			r->soc = v->soc;
		}
		char detail[256];
		if (e->kind == FLEETSIM__V1__VEHICLE_EVENT_KIND__VEHICLE_EVENT_KIND_STATE_CHANGED ||
		    e->kind == FLEETSIM__V1__VEHICLE_EVENT_KIND__VEHICLE_EVENT_KIND_TRANSITION_REFUSED) {
			snprintf(detail, sizeof(detail), "%s->%s%s%s", state_name((unsigned)e->from_state),
				 state_name((unsigned)e->to_state), e->reason && *e->reason ? ": " : "",
				 e->reason ? e->reason : "");
		} else {
			snprintf(detail, sizeof(detail), "%s", e->reason ? e->reason : "");
		}
		r->detail = detail[0] ? fs_xstrdup(detail) : NULL;
	}
}

static void add_kpi(struct exporter *x, const char *name, int64_t t, double value)
{
	struct rec_kpi_series *k = NULL;
	for (size_t i = 0; i < x->rep.n_kpis; i++) {
		if (!strcmp(x->rep.kpis[i].name, name)) {
			k = &x->rep.kpis[i];
		}
	}
	if (!k) {
		if (x->rep.n_kpis >= 64) {
			return;
		}
		x->rep.kpis = realloc(x->rep.kpis, (x->rep.n_kpis + 1) * sizeof(*x->rep.kpis));
		if (!x->rep.kpis) {
			abort();
		}
		k = &x->rep.kpis[x->rep.n_kpis++];
		memset(k, 0, sizeof(*k));
		snprintf(k->name, sizeof(k->name), "%s", name);
	}
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 256;
		k->t_ms = realloc(k->t_ms, k->cap * sizeof(*k->t_ms));
		k->v = realloc(k->v, k->cap * sizeof(*k->v));
		if (!k->t_ms || !k->v) {
			abort();
		}
	}
	k->t_ms[k->n] = t;
	k->v[k->n++] = value;
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->vid != y->vid) {
		return x->vid < y->vid ? -1 : 1;
	}
	if (x->start_ms != y->start_ms) {
		return x->start_ms < y->start_ms ? -1 : 1;
	}
	return x->order < y->order ? -1 : x->order > y->order;
}

/* ",value" with @decimals digits (-1: shortest, %g); empty for NaN. */
static void csv_num(FILE *f, double v, int decimals)
{
	fputc(',', f);
	if (isnan(v)) {
		return;
	}
	if (decimals < 0) {
		fprintf(f, "%g", v);
	} else {
		fprintf(f, "%.*f", decimals, v);
	}
}

static int write_timeline(struct exporter *x, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fs_error("%s: %s", path, strerror(errno));
		return -errno;
	}
	qsort(x->rows, x->n_rows, sizeof(*x->rows), cmp_row);
	fprintf(f, "vehicle_id,kind,start_utc,end_utc,duration_s,state,event,lat,lon,end_lat,end_lon,soc,end_soc,"
		   "distance_m,job_id,value,detail\n");
	for (size_t i = 0; i < x->n_rows; i++) {
		const struct row *r = &x->rows[i];
		char a[32], b[32] = "";
		fs_calendar_format(r->start_ms, a, sizeof(a));
		if (r->kind == 0) {
			fs_calendar_format(r->end_ms, b, sizeof(b));
		}
		fprintf(f, "%u,%s,%s,%s,", r->vid, r->kind ? "event" : "state", a, b);
		if (r->kind == 0) {
			fprintf(f, "%.3f", (double)(r->end_ms - r->start_ms) / 1000.0);
		}
		fprintf(f, ",%s,%s", r->kind == 0 || r->event == FLEETSIM__V1__VEHICLE_EVENT_KIND__VEHICLE_EVENT_KIND_STATE_CHANGED
					     ? state_name(r->state)
					     : "",
			r->kind ? event_name(r->event) : "");
		csv_num(f, r->lat, 7);
		csv_num(f, isnan(r->lat) ? NAN : r->lon, 7);
		csv_num(f, r->kind ? NAN : r->end_lat, 7);
		csv_num(f, r->kind ? NAN : r->end_lon, 7);
		csv_num(f, r->soc, 4);
		csv_num(f, r->kind ? NAN : r->end_soc, 4);
		csv_num(f, r->kind ? NAN : r->dist_m, 1);
		fprintf(f, ",");
		if (r->job) {
			fprintf(f, "%" PRIu64, r->job);
		}
		csv_num(f, r->kind ? r->value : NAN, -1);
		fputc(',', f);
		if (r->detail) {
			/* RFC 4180: quote, double the quotes */
			fputc('"', f);
			for (const char *p = r->detail; *p; p++) {
				if (*p == '"') {
					fputc('"', f);
				}
				fputc(*p, f);
			}
			fputc('"', f);
		}
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		fs_error("%s: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

static void free_report(struct rec_report *rep)
{
	free(rep->fleet.t_ms);
	free(rep->fleet.by_state);
	free(rep->fleet.mean_soc);
	free(rep->fleet.trips_done);
	for (size_t i = 0; i < rep->n_kpis; i++) {
		free(rep->kpis[i].t_ms);
		free(rep->kpis[i].v);
	}
	free(rep->kpis);
}

int rec_export(const char *path, const struct rec_export_options *opts)
{
	struct fs_error err = { "" };
	struct fs_mcap_reader *rd = fs_mcap_reader_open(path, &err);
	if (!rd) {
		fs_error("%s", err.message);
		return -EIO;
	}
	struct exporter x = { .o = opts };
	x.rep.source = path;
	int status = 0;
	if (opts->trips_geojson) {
		x.geo = fopen(opts->trips_geojson, "w");
		if (!x.geo) {
			fs_error("%s: %s", opts->trips_geojson, strerror(errno));
			fs_mcap_reader_close(rd);
			return -errno;
		}
		fprintf(x.geo, "{\"type\":\"FeatureCollection\",\"features\":[");
	}
	struct fs_mcap_message m;
	int rc;
	int64_t last_ms = 0;
	uint64_t max_tick = 0;
	while ((rc = fs_mcap_reader_next(rd, &m, &err)) == 1) {
		x.rep.messages++;
		const char *topic = m.channel->topic;
		bool st = !strcmp(topic, "veh.state"), ev = !strcmp(topic, "veh.event"), kpi = !strcmp(topic, "kpi"),
		     trip = !strcmp(topic, "ride.trip"), ready = !strcmp(topic, "ctl.ready");
		if (!st && !ev && !kpi && !trip && !ready) {
			continue;
		}
		Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, m.size, m.data);
		if (!env) {
			continue;
		}
		if (env->sim_time_ms > last_ms) {
			last_ms = env->sim_time_ms;
		}
		if (env->tick > max_tick) {
			max_tick = env->tick;
		}
		if (!x.rep.start_ms && env->sim_time_ms > 0) {
			x.rep.start_ms = env->sim_time_ms;
		}
		if (st && env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES) {
			handle_states(&x, env);
		} else if (ev && env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS) {
			handle_events(&x, env);
		} else if (kpi && env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_KPIS) {
			for (size_t i = 0; i < env->kpis->n_kpis; i++) {
				const Fleetsim__V1__Kpi *k = env->kpis->kpis[i];
				if (!k->scope || !*k->scope) {
					add_kpi(&x, k->name, env->sim_time_ms, k->value);
				}
			}
		} else if (trip && env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_TRIP_EVENTS) {
			for (size_t i = 0; i < env->trip_events->n_events; i++) {
				if (env->trip_events->events[i]->kind ==
				    FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_DROPPED_OFF) {
					x.trips_done++;
				}
			}
		} else if (ready && env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_READY) {
			size_t len = strlen(x.rep.participants);
			if (!strstr(x.rep.participants, env->sender) && len + strlen(env->sender) + 3 < sizeof(x.rep.participants)) {
				snprintf(x.rep.participants + len, sizeof(x.rep.participants) - len, "%s%s", len ? ", " : "",
					 env->sender);
			}
		}
		fleetsim__v1__envelope__free_unpacked(env, NULL);
	}
	if (rc < 0) {
		fs_warn("%s (exported what came before)", err.message);
	}
	sample(&x, INT64_MIN); /* close the last tick's sample */
	x.rep.end_ms = last_ms;
	x.rep.ticks = max_tick + 1;
	x.rep.trips = x.trips_done;
	/* Open intervals and trips end with the recording. */
	for (size_t id = 0; id < x.n_veh; id++) {
		struct vstate *v = &x.veh[id];
		if (v->known) {
			close_interval(&x, (uint32_t)id, v, last_ms);
			if (v->state == FLEETSIM__V1__VEHICLE_STATE__VEHICLE_STATE_IN_TRIP) {
				write_trip(&x, (uint32_t)id, v);
			}
		}
		free(v->trip);
	}
	if (x.geo) {
		fprintf(x.geo, "\n]}\n");
		if (fclose(x.geo) != 0) {
			fs_error("%s: %s", opts->trips_geojson, strerror(errno));
			status = -EIO;
		} else {
			printf("%s: %" PRIu64 " trips\n", opts->trips_geojson, x.trips_written);
		}
	}
	if (opts->timeline_csv) {
		int k = write_timeline(&x, opts->timeline_csv);
		if (k < 0) {
			status = k;
		} else {
			printf("%s: %zu rows\n", opts->timeline_csv, x.n_rows);
		}
	}
	if (opts->report_png) {
		int k = rec_report_png(&x.rep, opts->report_png);
		if (k < 0) {
			fs_error("%s: %s", opts->report_png,
				 k == -ENOTSUP ? "this build has no SDL2/SDL2_ttf/SDL2_image for the PNG report" : strerror(-k));
			status = k;
		} else {
			printf("%s: report of %zu ticks\n", opts->report_png, x.rep.fleet.n);
		}
	}
	for (size_t i = 0; i < x.n_rows; i++) {
		free(x.rows[i].detail);
	}
	free(x.rows);
	free(x.veh);
	free_report(&x.rep);
	fs_mcap_reader_close(rd);
	return status;
}
