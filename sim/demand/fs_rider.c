/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_rider - a rider's patience, boarding and alighting times and no-show,
 * drawn per request from its own stream (fs/rider.h).
 *
 * Sources: "DOMAIN" = the project's domain brief (docs/dispatch.md "Riders"
 * cites it); "[est]" = our estimate, with the KPIs it moves in the same
 * section of docs/dispatch.md.
 */
#include <math.h>

#include "fs/rider.h"
#include "fs/rng.h"

#define Z95 1.6448536269514722 /* standard normal 95th percentile */

void fs_rider_params_defaults(struct fs_rider_params *p)
{
	*p = (struct fs_rider_params){
		.patience_median_s = 600.0, /* DOMAIN: riders cancel after ~10 min without a car */
		.patience_shape = 2.0,      /* [est] the hazard rises with the time waited */
		.board_median_s = 30.0,     /* [est] unlock with the app, get in, buckle up, press start */
		.board_p95_s = 120.0,       /* [est] Uber, FREE NOW: waiting is charged after 2 min at the kerb */
		.alight_median_s = 15.0,    /* [est] shorter than boarding (Machado Leon et al. 2023, Seattle) */
		.alight_p95_s = 60.0,       /* [est] luggage, children */
		.no_show_share = 0.01,      /* [est] no published ride-hail figure */
	};
}

bool fs_rider_params_valid(const struct fs_rider_params *p)
{
	return isfinite(p->patience_median_s) && p->patience_median_s > 0 && isfinite(p->patience_shape) &&
	       p->patience_shape > 0 && p->board_median_s >= 0 && isfinite(p->board_p95_s) &&
	       p->board_p95_s >= p->board_median_s && p->alight_median_s >= 0 && isfinite(p->alight_p95_s) &&
	       p->alight_p95_s >= p->alight_median_s && p->no_show_share >= 0 && p->no_show_share <= 1;
}

/* Weibull scale l from the median: S(median) = exp(-(median / l)^k) = 1/2. */
static double weibull_scale(const struct fs_rider_params *p)
{
	return p->patience_median_s / pow(log(2.0), 1.0 / p->patience_shape);
}

/* A log-normal draw given its median and 95th percentile (equal: no spread). */
static double lognormal(struct fs_rng *rng, double median, double p95)
{
	double z = fs_rng_normal(rng); /* drawn even without spread: the next draws keep their place */
	if (median <= 0.0) {
		return 0.0;
	}
	return median * exp(log(p95 / median) / Z95 * z);
}

void fs_rider_draw(const struct fs_rider_params *p, uint64_t seed, uint64_t request_id, struct fs_rider *ret)
{
	struct fs_rng rng;
	fs_rng_init(&rng, seed, FS_RNG_STREAM_RIDER_CHOICES, request_id);
	/* inverse of the survival function: -ln(1 - u) is an Exp(1) cumulative hazard */
	double h = -log(1.0 - fs_rng_uniform(&rng));
	ret->patience_s = weibull_scale(p) * pow(h, 1.0 / p->patience_shape);
	ret->board_s = lognormal(&rng, p->board_median_s, p->board_p95_s);
	ret->alight_s = lognormal(&rng, p->alight_median_s, p->alight_p95_s);
	ret->no_show = fs_rng_uniform(&rng) < p->no_show_share;
}

bool fs_rider_shows(const struct fs_rider *r, double max_wait_s)
{
	return !r->no_show && r->board_s <= max_wait_s;
}

void fs_rider_dwells(const struct fs_rider *r, double max_wait_s, int32_t *ret_board_s, int32_t *ret_alight_s)
{
	*ret_board_s = fs_rider_shows(r, max_wait_s) ? (int32_t)lround(r->board_s) : -1;
	*ret_alight_s = (int32_t)lround(fmin(r->alight_s, 86400.0));
}

double fs_rider_patience_survival(const struct fs_rider_params *p, double waited_s)
{
	return waited_s <= 0.0 ? 1.0 : exp(-pow(waited_s / weibull_scale(p), p->patience_shape));
}

double fs_rider_patience_hazard(const struct fs_rider_params *p, double waited_s)
{
	double l = weibull_scale(p), k = p->patience_shape;
	return waited_s <= 0.0 && k < 1.0 ? INFINITY : k / l * pow(fmax(waited_s, 0.0) / l, k - 1.0);
}
