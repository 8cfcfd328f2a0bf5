/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rec_export - one pass over a recording into a timeline CSV, trips GeoJSON
 * and the data of the KPI report.
 *
 * Vehicles publish records, not positions (docs/bus.md "Vehicle records"):
 * a full record when a vehicle's state, job, flags or charge changed, a move
 * when it entered a new segment, on veh.state in the tick it happened, and a
 * keyframe of every vehicle on veh.snapshot now and then. The exporter keeps a
 * mirror of each vehicle's last record (the codec, fs_vehicle_msg, decodes and
 * merges them) and reads everything from it: a vehicle's timeline row closes
 * when a record brings another state, so intervals are exact to the tick;
 * distances are odometer differences; the report's fleet composition is the
 * mirror's state counts (kept as records arrive) at every tick. Keyframes are
 * records like the others, so they resynchronise a mirror that missed one and
 * start it for a recording that begins mid-run.
 *
 * Positions are metres east and north of the batch's origin, turned into WGS84
 * with the same equirectangular projection as the network (fs_projection_*).
 * A record holds the position at its own time; the exporter has no network to
 * place a vehicle between records, so a position read between records (of an
 * event whose vehicle sent no record in its tick, the last stretch's end) is
 * the last record's: at most the edge the vehicle is on behind. A trip is the stretch while a vehicle is IN_TRIP, one
 * point per record; kepler.gl's trip layer wants each coordinate as [lon, lat,
 * altitude, unix time in seconds] and draws straight lines between them.
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
#include "fs/scenario_load.h"
#include "fs/timezone_load.h"
#include "fs/vehicle.h"
#include "fs_control_msg.h"
#include "fs/grow.h"
#include "fs_log.h"
#include "fs_mcap.h"
#include "fs_vehicle_msg.h"
#include "rec_export.h"
#include "recorder.h"

#define MAX_VEHICLE_ID (16u << 20)
#define MS_PER_HOUR 3600000.0
#define REFUSED_LOGGED 10 /* refused batches named one by one; the rest only counted */

_Static_assert(REC_STATES == FS_VEHICLE_STATE_COUNT, "the report has a series per vehicle state");

#define DEFAULT_TICK_MS 1000 /* until a Tick says (docs/architecture.md "Lockstep") */
#define HOLD_TICKS 2         /* how far a message may come behind a later tick's (handle_message) */
/* ... but never more than this much held: a paused run repeats its keyframes at one simulated
 * time for as long as the pause lasts (4 MB each at 100,000 vehicles) */
#define HOLD_BYTES_MAX (128u << 20)

/* In the order messages of one simulated time are applied (hold()). */
enum topic_kind { TOPIC_STATE, TOPIC_SNAPSHOT, TOPIC_EVENT, TOPIC_KPI, TOPIC_TRIP, TOPIC_READY, TOPIC_TICK, TOPIC_COUNT };

struct pending {
	Fleetsim__V1__Envelope *env;
	size_t bytes;             /* as recorded */
	int topic;                /* enum topic_kind */
};

struct trip_point {
	double lon, lat;
	int64_t t_ms;
};

struct vstate {
	struct fs_vehicle_record rec; /* the mirror: last full record, later moves merged in */
	bool known;
	int64_t since_ms;         /* the current state stretch began */
	double lat0, lon0;        /* NaN when off the network */
	float soc0;
	double odo0;              /* odometer at since_ms */
	uint64_t job0;
	struct trip_point *trip;  /* while IN_TRIP */
	size_t n_trip, cap_trip;
	uint64_t trip_job;
	double trip_odo0;
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
	struct fs_projection proj; /* of the batches' origin */
	struct fs_vehicle_records records;
	struct fs_control_in ctl; /* a Ready or Tick being read */
	struct fs_vehicle_event *events;
	size_t events_cap;
	/* the fleet as the mirror has it, kept as records arrive */
	uint32_t by_state[REC_STATES];
	uint32_t known;
	/* mean charge: soc_at(t) of a record is soc + soc_per_h * (t - soc_ms), so the sum over the
	 * fleet is soc_base + soc_rate * (t - t0): two sums updated per record, not a pass per tick */
	int64_t soc_t0_ms;
	bool have_t0;
	double soc_base, soc_rate;
	int64_t cur_ms;           /* the tick whose sample is open */
	bool have_cur;
	uint64_t trips_done;
	uint64_t refused, stale, unknown_moves, resynchronised;
	int64_t last_ms;
	uint64_t max_tick;
	uint32_t tick_ms;         /* from the conductor's Tick */
	bool tick_known;
	struct pending *pending;  /* messages held until their tick is complete, in time order */
	size_t n_pending, cap_pending, pending_bytes;
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
	fs_xgrow(x->rows, x->cap_rows, x->n_rows + 1);
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
	fs_xgrow_zeroed(x->veh, x->n_veh, (size_t)id + 1);
	return &x->veh[id];
}

/* Where @r puts the vehicle, in WGS84; NaN when it is off the network. */
static void record_latlon(const struct exporter *x, const struct fs_vehicle_record *r, double *lat, double *lon)
{
	if (r->edge == FS_NO_EDGE) {
		*lat = *lon = NAN;
		return;
	}
	fs_projection_to_latlon(&x->proj, (struct fs_point){ r->x, r->y }, lat, lon);
}

/*
 * The odometer at @t_ms. A vehicle adds a segment's length to its odometer when
 * it leaves the segment, so a record's odometer is the one at its segment's
 * start, and the way along the segment comes on top.
 */
static double odometer_at(const struct fs_vehicle_record *r, int64_t t_ms)
{
	if (r->edge == FS_NO_EDGE) {
		return r->odometer_m;
	}
	double along = fs_vehicle_record_offset_at(r, t_ms) - r->seg_from_m;
	return r->odometer_m + (along > 0.0 ? along : 0.0);
}

/* Add (@sign 1) or take out (-1) a vehicle's record from the fleet's state counts and charge sums. */
static void count_record(struct exporter *x, const struct fs_vehicle_record *r, int sign)
{
	if (!x->have_t0) {
		x->soc_t0_ms = r->soc_ms;
		x->have_t0 = true;
	}
	if (sign > 0) {
		x->by_state[r->state]++;
		x->known++;
	} else {
		x->by_state[r->state]--;
		x->known--;
	}
	x->soc_base += sign * (r->soc - r->soc_per_h * (double)(r->soc_ms - x->soc_t0_ms) / MS_PER_HOUR);
	x->soc_rate += sign * (double)r->soc_per_h;
}

/* The stretch of @v's current state ends at @end_ms, where @r (the record then) puts it. */
static void close_interval(struct exporter *x, struct vstate *v, const struct fs_vehicle_record *r,
			   int64_t end_ms)
{
	if (!x->o->timeline_csv) {
		return;
	}
	struct row *row = new_row(x);
	row->vid = r->id;
	row->kind = 0;
	row->state = v->rec.state;
	row->start_ms = v->since_ms;
	row->end_ms = end_ms;
	row->lat = v->lat0;
	row->lon = v->lon0;
	record_latlon(x, r, &row->end_lat, &row->end_lon);
	row->soc = v->soc0;
	row->end_soc = (float)fs_vehicle_record_soc_at(r, end_ms);
	row->dist_m = (float)(odometer_at(r, end_ms) - v->odo0);
	row->job = v->job0;
}

static void open_interval(struct exporter *x, struct vstate *v, const struct fs_vehicle_record *r, int64_t t_ms)
{
	v->since_ms = t_ms;
	record_latlon(x, r, &v->lat0, &v->lon0);
	v->soc0 = (float)fs_vehicle_record_soc_at(r, t_ms);
	v->odo0 = odometer_at(r, t_ms);
	v->job0 = r->job_id;
}

static void write_trip(struct exporter *x, struct vstate *v, double end_odometer_m)
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
		x->trips_written ? "," : "", v->rec.id, v->trip_job, a, b,
		(double)(v->trip[v->n_trip - 1].t_ms - v->trip[0].t_ms) / 1000.0, end_odometer_m - v->trip_odo0);
	for (size_t i = 0; i < v->n_trip; i++) {
		fprintf(x->geo, "%s[%.7f,%.7f,0,%.3f]", i ? "," : "", v->trip[i].lon, v->trip[i].lat,
			(double)v->trip[i].t_ms / 1000.0);
	}
	fprintf(x->geo, "]}}");
	x->trips_written++;
	v->n_trip = 0;
}

/* A point of the trip where @r puts the vehicle at @t_ms (once per instant: kepler.gl wants time rising). */
static void trip_point(struct exporter *x, struct vstate *v, const struct fs_vehicle_record *r, int64_t t_ms)
{
	if (!x->geo || r->edge == FS_NO_EDGE || (v->n_trip && v->trip[v->n_trip - 1].t_ms >= t_ms)) {
		return;
	}
	fs_xgrow(v->trip, v->cap_trip, v->n_trip + 1);
	struct trip_point *p = &v->trip[v->n_trip++];
	record_latlon(x, r, &p->lat, &p->lon);
	p->t_ms = t_ms;
}

/* The report's sample of the open tick, from the mirror as it stands. */
static void close_sample(struct exporter *x)
{
	if (!x->have_cur) {
		return;
	}
	struct rec_series *s = &x->rep.fleet;
	const struct fs_grow_array arrays[] = { FS_GROW_ARRAY(s->t_ms), FS_GROW_ARRAY(s->by_state),
						FS_GROW_ARRAY(s->mean_soc), FS_GROW_ARRAY(s->trips_done) };
	if (fs_grow_parallel(&s->cap, s->n + 1, arrays, 4) < 0) {
		abort();
	}
	s->t_ms[s->n] = x->cur_ms;
	memcpy(s->by_state[s->n], x->by_state, sizeof(x->by_state));
	double soc_sum = x->soc_base + x->soc_rate * (double)(x->cur_ms - x->soc_t0_ms) / MS_PER_HOUR;
	s->mean_soc[s->n] = x->known ? (float)fmin(1.0, fmax(0.0, soc_sum / x->known)) : NAN;
	s->trips_done[s->n] = (uint32_t)x->trips_done;
	if (x->known > x->rep.vehicles_max) {
		x->rep.vehicles_max = x->known;
	}
	s->n++;
	x->have_cur = false;
}

/*
 * Close the open tick's sample when time moves on past it. The ticks between
 * (no message of theirs came in time: the conductor's copies of its Ticks can
 * reach the broker many ticks late at full speed) get a sample each too, of
 * the fleet as it stood: nothing was applied at them.
 */
static void sample(struct exporter *x, int64_t t_ms)
{
	if (x->have_cur && t_ms <= x->cur_ms) {
		return;
	}
	bool fill = x->have_cur && x->tick_known;
	int64_t from = x->cur_ms;
	close_sample(x);
	for (int64_t k = from + x->tick_ms; fill && k < t_ms; k += x->tick_ms) {
		x->cur_ms = k;
		x->have_cur = true;
		close_sample(x);
	}
	x->cur_ms = t_ms;
	x->have_cur = true;
}

/* Does a keyframe's record @k say what the mirror @m has (state, job, where and how it moves)? */
static bool mirror_agrees(const struct fs_vehicle_record *m, const struct fs_vehicle_record *k)
{
	return m->state == k->state && m->job_id == k->job_id && m->edge == k->edge &&
	       m->seg_start_ms == k->seg_start_ms && m->seg_end_ms == k->seg_end_ms &&
	       m->seg_from_m == k->seg_from_m && m->seg_to_m == k->seg_to_m;
}

/*
 * Bring vehicle @in->id's mirror up to @in: close and open state stretches,
 * extend its trip. A @keyframe record the mirror disagrees with (a message
 * lost on the way to the recorder) is counted: the mirror takes it all the same.
 */
static void apply_record(struct exporter *x, const struct fs_vehicle_record *in, bool keyframe)
{
	struct vstate *v = vehicle(x, in->id);
	if (!v) {
		return;
	}
	if (v->known && in->t_ms < v->rec.t_ms) {
		x->stale++; /* older than what the mirror holds: nothing to learn */
		return;
	}
	struct fs_vehicle_record r = v->rec;
	if (fs_vehicle_record_merge(&r, v->known, in) < 0) {
		x->unknown_moves++; /* a move before the vehicle's first full record (a recording begun mid-run) */
		return;
	}
	if (keyframe && v->known && !mirror_agrees(&v->rec, in)) {
		x->resynchronised++;
	}
	int64_t t = in->t_ms;
	bool was_in_trip = v->known && v->rec.state == FS_VEHICLE_IN_TRIP;
	if (!v->known || r.state != v->rec.state) {
		if (v->known) {
			close_interval(x, v, &r, t);
			if (was_in_trip) {
				trip_point(x, v, &r, t);
				write_trip(x, v, odometer_at(&r, t));
			}
		}
		open_interval(x, v, &r, t);
		if (r.state == FS_VEHICLE_IN_TRIP) {
			v->n_trip = 0;
			v->trip_job = r.job_id;
			v->trip_odo0 = odometer_at(&r, t);
		}
	}
	if (v->known) {
		count_record(x, &v->rec, -1);
	}
	count_record(x, &r, 1);
	v->rec = r;
	v->known = true;
	if (r.state == FS_VEHICLE_IN_TRIP) {
		trip_point(x, v, &r, t);
	}
}

static void refused(struct exporter *x, const Fleetsim__V1__Envelope *env, const char *topic, const char *why)
{
	if (x->refused++ < REFUSED_LOGGED) {
		fs_warn("%s from %s, tick %" PRIu64 ": refused: %s", topic, env->sender ? env->sender : "?", env->tick,
			why);
	}
}

/* A record batch (veh.state: news of a tick; veh.snapshot: a keyframe of a shard). */
static void handle_records(struct exporter *x, const Fleetsim__V1__Envelope *env, const char *topic)
{
	const char *why = fs_vehicle_msg_decode_records(env->vehicle_states, env->sim_time_ms, &x->records);
	if (why) {
		refused(x, env, topic, why);
		return;
	}
	fs_projection_init(&x->proj, x->records.info.origin_lat, x->records.info.origin_lon);
	for (size_t i = 0; i < x->records.count; i++) {
		apply_record(x, &x->records.items[i], x->records.info.full);
	}
}

static void handle_events(struct exporter *x, const Fleetsim__V1__Envelope *env)
{
	if (!x->o->timeline_csv) {
		return;
	}
	size_t n;
	const char *why = fs_vehicle_msg_decode_events(env->vehicle_events, &x->events, &x->events_cap, &n);
	if (why) {
		refused(x, env, "veh.event", why);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct fs_vehicle_event *e = &x->events[i];
		struct row *r = new_row(x);
		r->vid = e->vehicle_id;
		r->kind = 1;
		r->event = e->kind;
		r->state = e->to_state;
		r->start_ms = e->time_ms ? e->time_ms : env->sim_time_ms;
		r->end_ms = r->start_ms;
		r->job = e->job_id;
		r->value = e->value;
		r->soc = NAN;
		r->end_soc = NAN;
		r->lat = NAN;
		const struct vstate *v = e->vehicle_id < x->n_veh ? &x->veh[e->vehicle_id] : NULL;
		if (v && v->known) {
			record_latlon(x, &v->rec, &r->lat, &r->lon);
			r->soc = (float)fs_vehicle_record_soc_at(&v->rec, r->start_ms);
		}
		char detail[256];
		if (e->kind == FS_VEV_STATE_CHANGED || e->kind == FS_VEV_TRANSITION_REFUSED) {
			snprintf(detail, sizeof(detail), "%s->%s%s%s", state_name(e->from_state), state_name(e->to_state),
				 e->reason ? ": " : "", e->reason ? e->reason : "");
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
	const struct fs_grow_array arrays[] = { FS_GROW_ARRAY(k->t_ms), FS_GROW_ARRAY(k->v) };
	if (fs_grow_parallel(&k->cap, k->n + 1, arrays, 2) < 0) {
		abort();
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
	/* start_local/end_local: ISO 8601 with the offset of the run's clock (x->rep.tz) */
	fprintf(f, "vehicle_id,kind,start_utc,end_utc,start_local,end_local,duration_s,state,event,lat,lon,end_lat,"
		   "end_lon,soc,end_soc,distance_m,job_id,value,detail\n");
	for (size_t i = 0; i < x->n_rows; i++) {
		const struct row *r = &x->rows[i];
		char a[32], b[32] = "", la[32], lb[32] = "";
		fs_calendar_format(r->start_ms, a, sizeof(a));
		fs_timezone_format_iso(x->rep.tz, r->start_ms, la, sizeof(la));
		if (r->kind == 0) {
			fs_calendar_format(r->end_ms, b, sizeof(b));
			fs_timezone_format_iso(x->rep.tz, r->end_ms, lb, sizeof(lb));
		}
		fprintf(f, "%u,%s,%s,%s,%s,%s,", r->vid, r->kind ? "event" : "state", a, b, la, lb);
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

static void note_ready(struct exporter *x, const Fleetsim__V1__Envelope *env)
{
	size_t len = strlen(x->rep.participants);
	if (!strstr(x->rep.participants, env->sender) && len + strlen(env->sender) + 3 < sizeof(x->rep.participants)) {
		snprintf(x->rep.participants + len, sizeof(x->rep.participants) - len, "%s%s", len ? ", " : "",
			 env->sender);
	}
}

/* Apply one message, in simulated-time order. Takes @p->env. */
static void apply_message(struct exporter *x, struct pending *p)
{
	const Fleetsim__V1__Envelope *env = p->env;
	if (env->sim_time_ms > 0) {
		/* every tick has its Tick (ctl.tick), so the report has a sample per tick even
		 * when no vehicle said anything new in it */
		sample(x, env->sim_time_ms);
	}
	switch (p->topic) {
	case TOPIC_STATE:
	case TOPIC_SNAPSHOT:
		if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES) {
			handle_records(x, env, p->topic == TOPIC_STATE ? "veh.state" : "veh.snapshot");
		}
		break;
	case TOPIC_EVENT:
		if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS) {
			handle_events(x, env);
		}
		break;
	case TOPIC_KPI:
		if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_KPIS) {
			for (size_t i = 0; i < env->kpis->n_kpis; i++) {
				const Fleetsim__V1__Kpi *k = env->kpis->kpis[i];
				if (!k->scope || !*k->scope) {
					add_kpi(x, k->name, env->sim_time_ms, k->value);
				}
			}
		}
		break;
	case TOPIC_TRIP:
		if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_TRIP_EVENTS) {
			for (size_t i = 0; i < env->trip_events->n_events; i++) {
				x->trips_done += env->trip_events->events[i]->kind ==
						 FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_DROPPED_OFF;
			}
		}
		break;
	case TOPIC_READY:
		if (fs_control_msg_kind(env) == FS_CONTROL_READY && !fs_control_msg_decode(env, &x->ctl)) {
			note_ready(x, env);
		}
		break;
	default:
		break;
	}
	fleetsim__v1__envelope__free_unpacked(p->env, NULL);
}

/* Apply the held messages stamped before @before_ms, oldest first, and more while too much is held. */
static void release(struct exporter *x, int64_t before_ms)
{
	size_t k = 0;
	while (k < x->n_pending &&
	       (x->pending[k].env->sim_time_ms < before_ms || x->pending_bytes > HOLD_BYTES_MAX)) {
		x->pending_bytes -= x->pending[k].bytes;
		apply_message(x, &x->pending[k++]);
	}
	memmove(x->pending, x->pending + k, (x->n_pending - k) * sizeof(*x->pending));
	x->n_pending -= k;
}

/*
 * Hold @env in simulated-time order, then topic order (enum topic_kind: a
 * tick's records before its events, so an event takes the position and charge
 * of the record its vehicle sent in the same tick), then arrival order;
 * usually it goes last.
 */
static void hold(struct exporter *x, Fleetsim__V1__Envelope *env, size_t bytes, int topic)
{
	fs_xgrow(x->pending, x->cap_pending, x->n_pending + 1);
	size_t at = x->n_pending;
	while (at > 0 && (x->pending[at - 1].env->sim_time_ms > env->sim_time_ms ||
			  (x->pending[at - 1].env->sim_time_ms == env->sim_time_ms && x->pending[at - 1].topic > topic))) {
		at--;
	}
	memmove(x->pending + at + 1, x->pending + at, (x->n_pending - at) * sizeof(*x->pending));
	x->pending[at] = (struct pending){ .env = env, .bytes = bytes, .topic = topic };
	x->n_pending++;
	x->pending_bytes += bytes;
}

static int topic_of(const char *topic)
{
	static const char *const names[] = {
		[TOPIC_STATE] = "veh.state", [TOPIC_SNAPSHOT] = "veh.snapshot", [TOPIC_EVENT] = "veh.event",
		[TOPIC_KPI] = "kpi", [TOPIC_TRIP] = "ride.trip", [TOPIC_READY] = "ctl.ready", [TOPIC_TICK] = "ctl.tick",
	};
	for (int i = 0; i < TOPIC_COUNT; i++) {
		if (!strcmp(topic, names[i])) {
			return i;
		}
	}
	return -1;
}

/*
 * One recorded message. The recording holds messages in the order the broker
 * got them, and messages of different senders race there: a shard's records
 * of tick n can come after another's of tick n+1 or after the conductor's
 * Tick n+1 (in a run with dispatch, never after tick n+2: dispatch waits for
 * every record of tick n before it finishes tick n+1). The exporter therefore
 * holds messages for HOLD_TICKS ticks and applies them in simulated-time
 * order, so the mirror at each sample is the fleet at that tick.
 */
static void handle_message(struct exporter *x, const char *topic, const struct fs_mcap_message *m)
{
	int kind = topic_of(topic);
	if (kind < 0) {
		return;
	}
	Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, m->size, m->data);
	if (!env) {
		return;
	}
	if (env->tick > x->max_tick) {
		x->max_tick = env->tick;
	}
	if (kind == TOPIC_TICK && fs_control_msg_kind(env) == FS_CONTROL_TICK && !fs_control_msg_decode(env, &x->ctl)) {
		x->tick_ms = x->ctl.tick.tick_ms; /* never 0: the codec refuses that */
		x->tick_known = true;
	}
	if (env->sim_time_ms <= 0) {
		apply_message(x, &(struct pending){ .env = env, .topic = kind }); /* before the run's clock */
		return;
	}
	if (!x->rep.start_ms) {
		x->rep.start_ms = env->sim_time_ms;
	}
	if (env->sim_time_ms > x->last_ms) {
		x->last_ms = env->sim_time_ms;
	}
	hold(x, env, m->size, kind);
	release(x, x->last_ms - HOLD_TICKS * (int64_t)x->tick_ms);
}

/*
 * The clock of the exports' local times: --timezone, else the city's of the
 * scenario the run was started with (metadata "fleetsim.run" written by
 * `fleetsim run --record`: its embedded scenario.yaml, or the defaults when it
 * had none), else UTC. Metadata is complete once the reader has walked the
 * file. Returns 0, or -EINVAL after saying why (a bad --timezone).
 */
static int recording_clock(const struct fs_mcap_reader *rd, const char *zone, struct fs_timezone *ret,
			   const char **ret_source)
{
	struct fs_error err = { "" };
	if (zone) {
		*ret_source = "from --timezone";
		if (!strcmp(zone, "UTC")) {
			fs_timezone_fixed(ret, 0);
			return 0;
		}
		if (fs_timezone_load(FS_TZ_DIR, zone, ret, &err) < 0) {
			fs_error("--timezone: %s", err.message);
			return -EINVAL;
		}
		return 0;
	}
	*ret_source = "the recording names no scenario: --timezone sets a clock";
	fs_timezone_fixed(ret, 0);
	if (!fs_mcap_reader_metadata_get(rd, RECORDER_RUN_METADATA, "argv")) {
		return 0;
	}
	const struct fs_mcap_attachment *yaml = NULL;
	for (size_t i = 0; i < fs_mcap_reader_attachment_count(rd); i++) {
		if (!strcmp(fs_mcap_reader_attachment(rd, i)->name, "scenario.yaml")) {
			yaml = fs_mcap_reader_attachment(rd, i);
		}
	}
	struct fs_scenario sc;
	int rc = yaml ? fs_scenario_load_string((const char *)yaml->data, yaml->size, "scenario.yaml (in the recording)",
						fs_mcap_reader_metadata_get(rd, RECORDER_RUN_METADATA, "cwd"), &sc, &err)
		      : fs_scenario_defaults(&sc);
	if (rc < 0) {
		fs_warn("local times in UTC: %s", yaml ? err.message : "the default time zone cannot be read (package tzdata)");
		return 0;
	}
	struct fs_timezone tz;
	if (fs_timezone_copy(&tz, &sc.tz) == 0) {
		fs_timezone_finish(ret);
		*ret = tz;
		*ret_source = yaml ? "the city's, from the run's scenario" : "the city's, from the default scenario";
	}
	fs_scenario_finish(&sc);
	return 0;
}

int rec_export(const char *path, const struct rec_export_options *opts)
{
	struct fs_error err = { "" };
	struct fs_mcap_reader *rd = fs_mcap_reader_open(path, &err);
	if (!rd) {
		fs_error("%s", err.message);
		return -EIO;
	}
	struct exporter x = { .o = opts, .tick_ms = DEFAULT_TICK_MS };
	x.rep.source = path;
	struct fs_timezone clock = { .name = "" };
	if (opts->timezone && recording_clock(rd, opts->timezone, &clock, &x.rep.tz_source) < 0) {
		fs_mcap_reader_close(rd);
		return -EINVAL;
	}
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
	while ((rc = fs_mcap_reader_next(rd, &m, &err)) == 1) {
		x.rep.messages++;
		handle_message(&x, m.channel->topic, &m);
	}
	if (rc < 0) {
		fs_warn("%s (exported what came before)", err.message);
	}
	release(&x, INT64_MAX);
	close_sample(&x);
	if (!opts->timezone) {
		recording_clock(rd, NULL, &clock, &x.rep.tz_source);
	}
	x.rep.tz = &clock;
	if (x.refused) {
		fs_warn("%" PRIu64 " vehicle batch(es) refused (see above)", x.refused);
	}
	if (x.unknown_moves) {
		fs_info("%" PRIu64 " move(s) before their vehicle's first full record were skipped "
			"(the recording began mid-run; keyframes on veh.snapshot fill in)", x.unknown_moves);
	}
	if (x.stale) {
		fs_warn("%" PRIu64 " record(s) older than their vehicle's last were skipped", x.stale);
	}
	if (x.resynchronised) {
		fs_warn("%" PRIu64 " keyframe record(s) disagreed with the vehicles' earlier records "
			"(records lost before the recorder?); the keyframes were taken", x.resynchronised);
	}
	x.rep.end_ms = x.last_ms;
	x.rep.ticks = x.max_tick + 1;
	x.rep.trips = x.trips_done;
	/* Open intervals and trips end with the recording. */
	for (size_t id = 0; id < x.n_veh; id++) {
		struct vstate *v = &x.veh[id];
		if (v->known) {
			close_interval(&x, v, &v->rec, x.last_ms);
			if (v->rec.state == FS_VEHICLE_IN_TRIP) {
				write_trip(&x, v, odometer_at(&v->rec, x.last_ms));
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
	free(x.events);
	free(x.pending);
	fs_vehicle_records_finish(&x.records);
	fs_control_in_finish(&x.ctl);
	free_report(&x.rep);
	fs_timezone_finish(&clock);
	fs_mcap_reader_close(rd);
	return status;
}
