/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle_params - the one place vehicle-model defaults live.
 *
 * Sources: "DOMAIN" = /work/shared/DOMAIN.md as summarised in docs/vehicle.md
 * (public figures); "[est]" = our estimate, derivation in docs/vehicle.md.
 * A scenario file should override these; nothing else in sim/ hard-codes them.
 */
#include <string.h>

#include "fs/vehicle.h"

void fs_vehicle_params_defaults(struct fs_vehicle_params *p)
{
	memset(p, 0, sizeof(*p));
	/* energy */
	p->battery_kwh = 100.0;       /* DOMAIN: 100 kWh usable */
	p->kwh_per_km = 0.22;         /* DOMAIN: 0.22 kWh/km */
	p->av_stack_kw = 0.45;        /* DOMAIN [est]: 2 x ~130 W Thor + sensors + cooling */
	p->max_charge_kw = 250.0;     /* [est] DOMAIN: plugs 150-250 kW; Lucid Gravity 400 kW peak */
	p->charge_efficiency = 0.92;  /* [est] DC fast-charge grid-to-battery */
	p->taper_start_soc = 0.80;    /* [est] constant power to 80 %, then taper (brief) */
	p->taper_end_fraction = 0.15; /* [est] power at 100 % vs full power */
	p->charge_target_soc = 0.80;  /* [est] fleets unplug at 80 % (DOMAIN: 20->80 % sessions) */
	p->charge_request_soc = 0.20; /* [est] DOMAIN: 20->80 % charging window */
	p->job_reserve_soc = 0.10;    /* [est] never plan below 10 kWh */
	p->plan_speed_kmh = 24.0;     /* DOMAIN: urban average 24 km/h */
	/* lifecycle */
	p->commissioning_h = 48.0;           /* [est] calibration check + acceptance drives */
	p->commissioning_fail_prob = 0.03;   /* [est] DOMAIN: "a small % fail and are reworked" */
	p->rework_h = 24.0;                  /* [est] */
	p->repair_h = 8.0;                   /* [est] swap + recalibrate a sensor or computer */
	p->inspection_h = 1.0;               /* [est] */
	p->max_wait_s = 300.0;               /* no-show after 5 min at the kerb: Lyft, FREE NOW rules */
	p->ra_response_s = 120.0;            /* [est] agent connects, diagnoses, clears */
	p->ra_session_s = 45.0;              /* [est] guidance request: short stop */
	p->ra_retry_s = 600.0;               /* [est] */
	p->tow_h = 1.5;                      /* [est] tow dispatch + transport */
	/* Fault process per device per powered hour [est]; "degraded" = transient
	 * (dirt, calibration drift, thermal throttling), "failed" = hardware. A
	 * vehicle sees a device event every ~340 powered hours with these. */
	p->degrade_per_h[FS_DEVICE_CAMERA] = 1.0e-4;
	p->fail_per_h[FS_DEVICE_CAMERA] = 1.0e-5;
	p->degrade_per_h[FS_DEVICE_RADAR] = 5.0e-5;
	p->fail_per_h[FS_DEVICE_RADAR] = 5.0e-6;
	p->degrade_per_h[FS_DEVICE_LIDAR] = 1.0e-4;
	p->fail_per_h[FS_DEVICE_LIDAR] = 1.0e-5;
	p->degrade_per_h[FS_DEVICE_ULTRASONIC] = 5.0e-5;
	p->fail_per_h[FS_DEVICE_ULTRASONIC] = 5.0e-6;
	p->degrade_per_h[FS_DEVICE_THOR] = 2.0e-5;
	p->fail_per_h[FS_DEVICE_THOR] = 2.0e-6;
	/* ODD consequences [est] */
	p->cap_one_thor_mps = 13.4;     /* 30 mph: no compute redundancy left */
	p->cap_no_lidar_mps = 11.2;     /* 25 mph: camera + radar only */
	p->cap_front_camera_mps = 17.9; /* 40 mph: reduced forward range */
	p->max_rain = FS_RAIN_HEAVY;    /* [est] storms are outside every ODD */
	/* Software releases: DOMAIN gives 13,000-30,000 miles between
	 * disengagements (CA DMV 2019-2020); RA rates [est] from DOMAIN's ~1 agent
	 * per 40 cars (docs/vehicle.md). Early releases avoid motorways [est]. */
	p->sw[0] = (struct fs_sw_version){ 100, 13000.0, 10.0, FS_ODD_NO_MOTORWAY };
	p->sw[1] = (struct fs_sw_version){ 110, 20000.0, 6.0, FS_ODD_NO_MOTORWAY };
	p->sw[2] = (struct fs_sw_version){ 120, 30000.0, 4.0, 0 };
	p->sw_count = 3;
	/* Data flywheel: compressed logging per working device per hour [est]:
	 * camera ~10 Mbit/s H.265, lidar ~70 Mbit/s, radar ~1 Mbit/s, Thor logs. */
	p->log_gb_per_h[FS_DEVICE_CAMERA] = 4.5;
	p->log_gb_per_h[FS_DEVICE_RADAR] = 0.5;
	p->log_gb_per_h[FS_DEVICE_LIDAR] = 30.0;
	p->log_gb_per_h[FS_DEVICE_ULTRASONIC] = 0.01;
	p->log_gb_per_h[FS_DEVICE_THOR] = 1.0;
	p->log_share = 0.25;   /* [est] triggered/selected logging, not every hour */
	p->upload_gbps = 2.5;  /* [est] multi-gigabit depot link per vehicle */
}
