/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/rider.h - how a rider behaves: how long they are willing to wait for a
 * car, how long they take to board and to get out, and whether they come to
 * the car at all.
 *
 * Every rider's draws come from the stream (run seed,
 * FS_RNG_STREAM_RIDER_CHOICES, request id), in a fixed order. The platform
 * (which sees the rider give up) and the vehicle node (which stands at the
 * kerb while the rider boards) therefore meet the same rider without telling
 * each other, whichever process hosts the car.
 *
 * Patience is a Weibull time to cancel, counted from the request: its hazard
 * (the chance per second of giving up now, having waited w without a car)
 * is (k / l) (w / l)^(k - 1), rising with the time waited for k > 1. A rider
 * also gives up at once when the pickup time the platform quotes would take
 * the total wait past their patience: the longer the quoted ETA, the likelier
 * a cancellation just after the car is assigned. Boarding and alighting times
 * are log-normal (right-skewed, like the pick-up and drop-off dwell times
 * measured at the kerb); the parameters are a median and a 95th percentile.
 * Sources of the defaults: sim/demand/fs_rider.c and docs/dispatch.md "Riders".
 */
#ifndef FS_RIDER_H
#define FS_RIDER_H

#include <stdbool.h>
#include <stdint.h>

struct fs_rider_params {
	double patience_median_s; /* half of the riders give up before waiting this long in all */
	double patience_shape;    /* Weibull shape k (> 0); > 1: the hazard rises with the time waited */
	double board_median_s;    /* from the car stopping at the pickup to the rider aboard */
	double board_p95_s;       /* >= board_median_s; equal: every rider takes the median */
	double alight_median_s;   /* from the car stopping at the drop-off to the rider out */
	double alight_p95_s;
	double no_show_share;     /* riders who never come to the car, in [0, 1] */
};

/* One rider's draws. */
struct fs_rider {
	double patience_s; /* longest wait, from the request to the car at the kerb, this rider accepts */
	double board_s;    /* time to board once the car is there (if they come) */
	double alight_s;   /* time to get out at the drop-off */
	bool no_show;      /* never comes to the car */
};

/** Fill @p with the defaults (each with its source in fs_rider.c). */
void fs_rider_params_defaults(struct fs_rider_params *p);
/** Are @p usable (finite, positive patience and shape, p95 >= median >= 0, share in [0, 1])? */
bool fs_rider_params_valid(const struct fs_rider_params *p);

/** The rider of request @request_id in run @seed. @p must be valid. */
void fs_rider_draw(const struct fs_rider_params *p, uint64_t seed, uint64_t request_id, struct fs_rider *ret);

/** Does @r reach the car before it gives up after @max_wait_s at the pickup? Else a no-show. */
bool fs_rider_shows(const struct fs_rider *r, double max_wait_s);

/**
 * What the vehicle model is told about the stop (struct fs_job): the rider
 * boards @ret_board_s after the car arrives, or -1 if they will not come
 * while it waits @max_wait_s; they get out @ret_alight_s after it stops at
 * the drop-off. Whole seconds, as the vehicle model takes them.
 */
void fs_rider_dwells(const struct fs_rider *r, double max_wait_s, int32_t *ret_board_s, int32_t *ret_alight_s);

/** Share of riders still willing to wait after @waited_s without a car: exp(-(w / l)^k). */
double fs_rider_patience_survival(const struct fs_rider_params *p, double waited_s);
/** Cancellation hazard per second after @waited_s without a car. */
double fs_rider_patience_hazard(const struct fs_rider_params *p, double waited_s);

#endif
