/* SPDX-License-Identifier: Apache-2.0 */
/*
 * production_node - the production service's model side: advances the
 * production model (fs/production.h) with the run's simulated days and turns
 * what it does into bus messages.
 *
 * Days and ticks: the model's days whose midnight (UTC) is before the run's
 * start are its past, simulated at tick 0 before anything is published (the
 * fleet in place when the run starts, the --vehicles of the run). Every later
 * day is simulated on the first tick at or after its midnight; that tick
 * publishes the day's prod.stage counts and, if any vehicle reached the city
 * simulated in detail, a prod.delivery batch with new vehicle ids
 * first_vehicle_id, first_vehicle_id + 1, ... (unique and increasing over the
 * run), plus the ids of that city's vehicles retired that day (oldest first).
 *
 * Scenario events: the production events (supplier_shortage, recall,
 * calibration_spike) come from the conductor on "scn.cmd/apply", the file's
 * and the injected ones alike, each right before the tick it names. At that
 * tick the node turns it into a disruption (fs_production_disruption_from_event())
 * that starts on the day of the tick's simulated time, or on the next day the
 * model simulates when that day was already simulated at an earlier tick, so a
 * live injection and the same event in the file change the run identically.
 */
#ifndef PRODUCTION_NODE_H
#define PRODUCTION_NODE_H

#include <stdint.h>

#include "fs/production.h"
#include "fs/scenario.h"
#include "fs_participant.h"

struct production_node_config {
	uint64_t seed;
	const char *city;           /* the city simulated in detail; NULL = the scenario's city.name */
	uint32_t first_vehicle_id;  /* = the run's initial fleet size (ids below are the vehicle nodes') */
	uint32_t depots;            /* depots of the detailed city; delivery depot = id % depots */
	const struct fs_scenario *scenario; /* validates scheduled events (copied); NULL = defaults */
};

struct production_node;

/**
 * Create with @params (copied; its disruptions apply as given: the service
 * passes none and takes the scenario's events from the bus). Logs why and
 * returns NULL on bad input.
 */
struct production_node *production_node_create(const struct production_node_config *cfg,
					       const struct fs_production_params *params);
void production_node_destroy(struct production_node *n);

extern const struct fs_participant_ops production_node_ops;

#endif
