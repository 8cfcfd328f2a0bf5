/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dispatch_service.h - the ride platform as a lockstep participant: demand
 * in, jobs out, KPIs at the end. The decisions are fs_dispatch's (sim/);
 * this adapts it to the bus.
 */
#ifndef DISPATCH_SERVICE_H
#define DISPATCH_SERVICE_H

#include <stdint.h>

#include "fs/dispatch.h"
#include "fs/scenario.h"
#include "fs_world.h"
#include "fs_participant.h"

struct dispatch_config {
	const char *network;        /* world spec, as the vehicle nodes get it */
	const char *out_dir;        /* may be NULL */
	const char *profile;        /* demand profile CSV (full path) */
	const char *data_dir;       /* shipped data (speed profiles by name) */
	const char *demand_csv;     /* replay these requests instead of generating; may be NULL */
	const char *fleet_csv;      /* fixed fleet placement to check against; may be NULL */
	uint64_t seed;
	uint32_t vehicles;          /* initial fleet, ids 0 .. vehicles-1 */
	uint32_t depots;            /* as the vehicle nodes: the world places them */
	uint16_t plugs[FS_WORLD_MAX_DEPOTS];         /* DC plugs per depot */
	double demand_per_day;      /* generated requests per day */
	uint32_t kpi_every_s;       /* KpiSnapshot period in simulated seconds; 0 = never */
	uint32_t workers;           /* threads for matching (fs_workers.h); 0 = fs_workers_default_count() */
	struct fs_dispatch_params params;
	const struct fs_scenario *scenario; /* zones and depots of the timed events (copied) */
};

struct dispatch_service;

/**
 * Load the world and the demand, read and check the CSV inputs. Logs the
 * reason ("file:line:column: what") and returns NULL on failure, before any
 * bus traffic.
 */
struct dispatch_service *dispatch_service_create(const struct dispatch_config *cfg);
void dispatch_service_destroy(struct dispatch_service *s);
/** The participant callbacks (ctx = the service). */
extern const struct fs_participant_ops dispatch_service_ops;

#endif
