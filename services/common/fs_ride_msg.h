/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_ride_msg.h - the codec of the ride message family: requests
 * (RideRequestBatch, ride.request), offers (RideOfferBatch, ride.offer), jobs
 * (JobBatch, ride.job) and trip events (TripEventBatch, ride.trip). The only
 * place where those messages become the platform's structs (fs/dispatch.h)
 * and back, with one set of validity rules for every reader.
 */
#ifndef FS_RIDE_MSG_H
#define FS_RIDE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"
#include "fs/dispatch.h"

/* A ride request as the bus carries it. */
struct fs_ride_request {
	uint64_t id;
	int64_t t_request_ms;
	struct fs_road_pos pickup, dropoff; /* edge FS_DISPATCH_NONE: not placed on the network */
	struct fs_point origin, dest;       /* where the rider is and goes (network frame, metres) */
	uint32_t origin_zone, dest_zone;
	uint32_t patience_s;
};

/* Scratch for encoding one batch at a time; zero-initialise, fs_ride_msg_finish() frees. */
struct fs_ride_msg {
	Fleetsim__V1__RideRequestBatch requests;
	Fleetsim__V1__RideOfferBatch offers;
	Fleetsim__V1__JobBatch jobs;
	Fleetsim__V1__TripEventBatch trips;
	Fleetsim__V1__Envelope env; /* the envelope of the batch encoded last, ready to publish */
	char *scratch;
	size_t used, cap;
};

/* Each fills its batch and @m->env around it (valid until the next call on @m); 0 or -ENOMEM. */
int fs_ride_msg_encode_requests(struct fs_ride_msg *m, const struct fs_ride_request *requests, size_t count);
int fs_ride_msg_encode_offers(struct fs_ride_msg *m, const struct fs_dispatch_offer *offers, size_t count);
int fs_ride_msg_encode_jobs(struct fs_ride_msg *m, const struct fs_dispatch_job *jobs, size_t count);
int fs_ride_msg_encode_trip_events(struct fs_ride_msg *m, const struct fs_dispatch_trip_event *events, size_t count);
void fs_ride_msg_finish(struct fs_ride_msg *m);

/* What a job's stops may name. */
struct fs_ride_limits {
	uint32_t edge_count;
	uint32_t depot_count;
};

/**
 * @j as a job into @out. NULL on success, else why it is refused: no id; no
 * stop and not a cancellation; more stops than a job holds; an unknown stop
 * kind; a place off the network or at a negative or non-finite offset; a
 * depot out of range; a pickup not followed by its drop-off.
 */
const char *fs_ride_msg_decode_job(const Fleetsim__V1__Job *j, const struct fs_ride_limits *limits,
				   struct fs_dispatch_job *out);
/** @r into @out; NULL, or why it is refused (no id, a non-finite point). */
const char *fs_ride_msg_decode_request(const Fleetsim__V1__RideRequest *r, struct fs_ride_request *out);
/** @e into @out; NULL, or why it is refused (an unknown kind or reason). */
const char *fs_ride_msg_decode_trip_event(const Fleetsim__V1__TripEvent *e, struct fs_dispatch_trip_event *out);

#endif
