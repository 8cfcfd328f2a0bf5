/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_dispatch_params - the one place ride-platform defaults live.
 *
 * Sources: "DOMAIN" = the project's domain brief as summarised in
 * docs/dispatch.md (public figures); "[est]" = our estimate, reasoning in
 * docs/dispatch.md. A scenario file should override these.
 */
#include <string.h>

#include "fs/dispatch.h"
#include "fs/vehicle.h"

void fs_dispatch_params_defaults(struct fs_dispatch_params *p)
{
	memset(p, 0, sizeof(*p));
	p->matcher = FS_DISPATCH_MATCH_BATCH;
	p->batch_s = 30.0;             /* [est] ride-hailing batch windows are seconds to ~1 min */
	p->patience_s = 600.0;         /* DOMAIN: riders cancel after ~10 min without a car */
	fs_rider_params_defaults(&p->riders); /* each rider's own patience, boarding, ... (fs_rider.c) */
	p->candidates = 8;             /* [est] more changed no assignment in docs/dispatch.md runs */
	p->max_pickup_eta_s = 600.0;   /* DOMAIN: p90 wait target 10 min: never quote more */
	p->offer_timeout_s = 10.0;     /* [est] a vehicle answers in the next tick (1 s) */
	p->decline_cooldown_s = 60.0;  /* [est] */
	p->max_snap_m = 250.0;         /* [est] a rider walks ~3 min to the kerb */
	p->energy_speed_mps = 16.7;    /* [est] 60 km/h, above every urban class default (primary 56) */
	p->night_start_h = FS_NIGHT_START_H; /* fs-vehicle's night (fs/vehicle.h) */
	p->night_end_h = FS_NIGHT_END_H;
	p->charging = true;
	p->charge_soc = 0.25;          /* [est] act before the vehicle's own 20 % request mark */
	p->opportunistic_soc = 0.60;   /* [est] top up off-peak if below 60 % */
	p->offpeak_share = 0.021;      /* [est] NYC 2019 hours 1-5 (0.8-2.0 %/h of the day) */
	p->charge_speed_mps = 6.7;     /* DOMAIN: urban average 24 km/h */
	p->rebalance_s = 120.0;        /* [est] */
	p->cell_m = 1000.0;            /* [est] ~ a 2-3 min drive at 24 km/h */
	p->horizon_s = 900.0;          /* [est] 15 min: the time a move takes to pay off */
	p->min_idle_s = 120.0;         /* [est] let matching use a freshly freed car first */
	p->max_reposition_m = 4000.0;  /* [est] ~10 min at 24 km/h */
	p->max_move_share = 0.25;      /* [est] */
	struct fs_vehicle_params v;
	fs_vehicle_params_defaults(&v);
	p->battery_kwh = v.battery_kwh;             /* DOMAIN: 100 kWh usable */
	p->kwh_per_km = v.kwh_per_km;               /* DOMAIN: 0.22 kWh/km */
	p->av_stack_kw = v.av_stack_kw;             /* DOMAIN [est]: 0.45 kW */
	p->job_reserve_soc = v.job_reserve_soc;     /* the vehicle declines below this */
	p->charge_target_soc = v.charge_target_soc; /* vehicles unplug at 80 % */
	p->max_rain = v.max_rain;                   /* storms are outside every ODD */
	p->max_wait_s = v.max_wait_s;               /* then the car leaves: a no-show */
}
