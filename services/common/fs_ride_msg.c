/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_ride_msg - the ride message family's codec (see fs_ride_msg.h).
 *
 * protobuf-c wants a message as a tree of structs and pointer arrays; a batch
 * is built in one scratch buffer, sized up front and reused, so publishing a
 * tick's jobs costs no allocation once the buffer has grown.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs_ride_msg.h"

/* Room for @need bytes of message structs; the previous batch's are forgotten. */
static int scratch_reset(struct fs_ride_msg *m, size_t need)
{
	m->used = 0;
	if (need <= m->cap) {
		return 0;
	}
	char *p = malloc(need + need / 2);
	if (!p) {
		return -ENOMEM;
	}
	free(m->scratch);
	m->scratch = p;
	m->cap = need + need / 2;
	return 0;
}

static void *scratch_get(struct fs_ride_msg *m, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	void *p = m->scratch + m->used; /* sized by the caller's scratch_reset(): never past the end */
	m->used += n;
	return p;
}

/*
 * Room for a batch of @count items of @item bytes, each with @extra bytes of
 * children; returns the batch's array of @count item pointers, NULL without memory.
 */
static void *batch_begin(struct fs_ride_msg *m, size_t count, size_t item, size_t extra)
{
	if (scratch_reset(m, count * ((item + 15) / 16 * 16 + 16 + extra) + 64) < 0) {
		return NULL;
	}
	return scratch_get(m, count * sizeof(void *));
}

/* @m->env, empty but for its payload case; the caller points the payload at its batch. */
static void envelope_begin(struct fs_ride_msg *m, Fleetsim__V1__Envelope__PayloadCase payload)
{
	fleetsim__v1__envelope__init(&m->env);
	m->env.payload_case = payload;
}

static Fleetsim__V1__Place *place(struct fs_ride_msg *m, struct fs_road_pos pos, struct fs_point pt)
{
	Fleetsim__V1__Place *pl = scratch_get(m, sizeof(*pl));
	fleetsim__v1__place__init(pl);
	pl->edge = pos.edge;
	pl->offset_m = (float)pos.offset_m;
	pl->x_m = (float)pt.x;
	pl->y_m = (float)pt.y;
	return pl;
}

int fs_ride_msg_encode_requests(struct fs_ride_msg *m, const struct fs_ride_request *requests, size_t count)
{
	Fleetsim__V1__RideRequest **rp = batch_begin(m, count, sizeof(**rp), 2 * 48);
	if (!rp) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const struct fs_ride_request *r = &requests[i];
		Fleetsim__V1__RideRequest *q = scratch_get(m, sizeof(*q));
		fleetsim__v1__ride_request__init(q);
		q->request_id = r->id;
		q->requested_ms = r->t_request_ms;
		q->origin = place(m, r->pickup, r->origin);
		q->destination = place(m, r->dropoff, r->dest);
		q->origin_zone = r->origin_zone;
		q->destination_zone = r->dest_zone;
		q->riders = 1;
		q->patience_s = r->patience_s;
		rp[i] = q;
	}
	fleetsim__v1__ride_request_batch__init(&m->requests);
	m->requests.n_requests = count;
	m->requests.requests = rp;
	envelope_begin(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_RIDE_REQUESTS);
	m->env.ride_requests = &m->requests;
	return 0;
}

int fs_ride_msg_encode_offers(struct fs_ride_msg *m, const struct fs_dispatch_offer *offers, size_t count)
{
	Fleetsim__V1__RideOffer **op = batch_begin(m, count, sizeof(**op), 0);
	if (!op) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		Fleetsim__V1__RideOffer *o = scratch_get(m, sizeof(*o));
		fleetsim__v1__ride_offer__init(o);
		o->request_id = offers[i].request_id;
		o->vehicle_id = offers[i].vehicle_id;
		o->pickup_eta_s = (uint32_t)lround(offers[i].pickup_eta_s);
		op[i] = o;
	}
	fleetsim__v1__ride_offer_batch__init(&m->offers);
	m->offers.n_offers = count;
	m->offers.offers = op;
	envelope_begin(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_RIDE_OFFERS);
	m->env.ride_offers = &m->offers;
	return 0;
}

static bool at_a_depot(int kind)
{
	return kind == FS_DISPATCH_STOP_CHARGE || kind == FS_DISPATCH_STOP_DEPOT;
}

int fs_ride_msg_encode_jobs(struct fs_ride_msg *m, const struct fs_dispatch_job *jobs, size_t count)
{
	size_t per_stop = sizeof(Fleetsim__V1__Stop) + 16 + sizeof(void *) + sizeof(Fleetsim__V1__Place) + 16;
	Fleetsim__V1__Job **jp = batch_begin(m, count, sizeof(**jp), 2 * per_stop + 16);
	if (!jp) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const struct fs_dispatch_job *job = &jobs[i];
		Fleetsim__V1__Job *j = scratch_get(m, sizeof(*j));
		Fleetsim__V1__Stop **sp = scratch_get(m, 2 * sizeof(*sp));
		fleetsim__v1__job__init(j);
		for (uint32_t k = 0; k < job->stop_count && k < 2; k++) {
			const struct fs_dispatch_stop *st = &job->stops[k];
			Fleetsim__V1__Stop *stop = scratch_get(m, sizeof(*stop));
			fleetsim__v1__stop__init(stop);
			stop->kind = (Fleetsim__V1__StopKind)st->kind;
			stop->request_id = st->request_id;
			stop->depot = st->depot;
			if (!at_a_depot(st->kind)) {
				stop->place = place(m, (struct fs_road_pos){ st->edge, st->offset_m }, st->point);
			}
			sp[k] = stop;
		}
		j->job_id = job->job_id;
		j->vehicle_id = job->vehicle_id;
		j->n_stops = job->stop_count < 2 ? job->stop_count : 2;
		j->stops = sp;
		j->replaces_current = true; /* a ride or charge replaces a reposition in progress */
		jp[i] = j;
	}
	fleetsim__v1__job_batch__init(&m->jobs);
	m->jobs.n_jobs = count;
	m->jobs.jobs = jp;
	envelope_begin(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_JOBS);
	m->env.jobs = &m->jobs;
	return 0;
}

int fs_ride_msg_encode_trip_events(struct fs_ride_msg *m, const struct fs_dispatch_trip_event *events, size_t count)
{
	Fleetsim__V1__TripEvent **ep = batch_begin(m, count, sizeof(**ep), 0);
	if (!ep) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const struct fs_dispatch_trip_event *e = &events[i];
		Fleetsim__V1__TripEvent *t = scratch_get(m, sizeof(*t));
		fleetsim__v1__trip_event__init(t);
		t->request_id = e->request_id;
		t->kind = (Fleetsim__V1__TripEventKind)e->kind;
		t->sim_time_ms = e->t_ms;
		t->vehicle_id = e->vehicle_id; /* FS_DISPATCH_NONE: no vehicle */
		t->reason = (char *)fs_dispatch_reason_name(e->reason);
		ep[i] = t;
	}
	fleetsim__v1__trip_event_batch__init(&m->trips);
	m->trips.n_events = count;
	m->trips.events = ep;
	envelope_begin(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_TRIP_EVENTS);
	m->env.trip_events = &m->trips;
	return 0;
}

void fs_ride_msg_finish(struct fs_ride_msg *m)
{
	free(m->scratch);
	memset(m, 0, sizeof(*m));
}

/* ---- decoding ---------------------------------------------------------------------------------- */

static const char *decode_stop(const Fleetsim__V1__Stop *stop, const struct fs_ride_limits *lim,
			       struct fs_dispatch_stop *out)
{
	if ((unsigned)stop->kind < FS_DISPATCH_STOP_PICKUP || (unsigned)stop->kind > FS_DISPATCH_STOP_DEPOT) {
		return "a job stop of an unknown kind";
	}
	*out = (struct fs_dispatch_stop){ .kind = (uint8_t)stop->kind, .request_id = stop->request_id,
					  .edge = FS_DISPATCH_NONE, .depot = stop->depot };
	if (at_a_depot(stop->kind)) {
		return stop->depot < lim->depot_count ? NULL : "a job stop at a depot the run does not have";
	}
	const Fleetsim__V1__Place *pl = stop->place;
	if (!pl || pl->edge >= lim->edge_count || !isfinite(pl->offset_m) || pl->offset_m < 0.0f ||
	    !isfinite(pl->x_m) || !isfinite(pl->y_m)) {
		return "a job stop off the network (edge out of range, or a negative or non-finite offset)";
	}
	out->edge = pl->edge;
	out->offset_m = pl->offset_m; /* clamped to the edge's length where it is driven */
	out->point = (struct fs_point){ pl->x_m, pl->y_m };
	return NULL;
}

const char *fs_ride_msg_decode_job(const Fleetsim__V1__Job *j, const struct fs_ride_limits *lim,
				   struct fs_dispatch_job *out)
{
	if (!j->job_id || (j->n_stops == 0 && !j->replaces_current)) {
		return "a job without an id, or without stops that cancels nothing";
	}
	if (j->n_stops > 2) {
		return "a job of more than two stops";
	}
	*out = (struct fs_dispatch_job){ .job_id = j->job_id, .vehicle_id = j->vehicle_id,
					 .stop_count = (uint32_t)j->n_stops };
	for (size_t k = 0; k < j->n_stops; k++) {
		const char *why = decode_stop(j->stops[k], lim, &out->stops[k]);
		if (why) {
			return why;
		}
	}
	if (out->stop_count && out->stops[0].kind == FS_DISPATCH_STOP_PICKUP &&
	    (out->stop_count < 2 || out->stops[1].kind != FS_DISPATCH_STOP_DROPOFF)) {
		return "a pickup not followed by its drop-off";
	}
	return NULL;
}

const char *fs_ride_msg_decode_request(const Fleetsim__V1__RideRequest *r, struct fs_ride_request *out)
{
	const Fleetsim__V1__Place *o = r->origin, *d = r->destination;
	if (!r->request_id || !o || !d) {
		return "a request without an id, an origin or a destination";
	}
	if (!isfinite(o->x_m) || !isfinite(o->y_m) || !isfinite(d->x_m) || !isfinite(d->y_m) ||
	    !isfinite(o->offset_m) || !isfinite(d->offset_m)) {
		return "a request with a non-finite place";
	}
	*out = (struct fs_ride_request){
		.id = r->request_id, .t_request_ms = r->requested_ms,
		.pickup = { o->edge, o->offset_m }, .dropoff = { d->edge, d->offset_m },
		.origin = { o->x_m, o->y_m }, .dest = { d->x_m, d->y_m },
		.origin_zone = r->origin_zone, .dest_zone = r->destination_zone, .patience_s = r->patience_s,
	};
	return NULL;
}

const char *fs_ride_msg_decode_trip_event(const Fleetsim__V1__TripEvent *e, struct fs_dispatch_trip_event *out)
{
	if ((unsigned)e->kind < FS_DISPATCH_EV_REQUESTED || (unsigned)e->kind > FS_DISPATCH_EV_REJECTED) {
		return "a trip event of an unknown kind";
	}
	int reason = -1;
	const char *name = e->reason ? e->reason : "";
	for (int k = 0; k < FS_DISPATCH_REASON_COUNT && reason < 0; k++) {
		reason = strcmp(name, fs_dispatch_reason_name(k)) ? -1 : k;
	}
	if (reason < 0) {
		return "a trip event with an unknown reason";
	}
	*out = (struct fs_dispatch_trip_event){ .request_id = e->request_id, .t_ms = e->sim_time_ms,
						.vehicle_id = e->vehicle_id, .kind = (uint8_t)e->kind,
						.reason = (uint8_t)reason };
	return NULL;
}
