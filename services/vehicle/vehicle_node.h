/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vehicle_node.h - one vehicle-node process: the DRIVE AGX Hyperion 10
 * vehicles whose id falls in this shard (id % shards == shard), hosted in an
 * event-driven fs_fleet, driven by jobs from dispatch and deliveries from
 * production, publishing state batches and events.
 */
#ifndef VEHICLE_NODE_H
#define VEHICLE_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/scenario.h"
#include "fs_participant.h"

struct vehicle_node_config {
	const char *network;       /* world spec */
	uint64_t seed;
	uint32_t shard, shards;
	uint32_t vehicles;         /* initial fleet: ids 0 .. vehicles-1 over all shards */
	uint32_t depots;
	uint32_t keyframe_every_ms; /* keyframe (veh.snapshot) period in simulated ms; 0 = never */
	int phase;                 /* enum fs_city_phase of the city */
	bool self_charge;          /* no dispatch in the run: go charging on our own */
	const struct fs_scenario *scenario; /* vehicle model, riders, depots, releases, events; NULL = defaults */
	const char *fleet_csv;     /* fixed start positions (vehicle_id,node[,soc]); NULL = seeded */
	const char *data_dir;      /* shipped data (speed profiles); NULL = "data" */
};

struct vehicle_node;

struct vehicle_node *vehicle_node_create(const struct vehicle_node_config *cfg);
void vehicle_node_destroy(struct vehicle_node *node);
/** The participant callbacks (ctx = the node). */
extern const struct fs_participant_ops vehicle_node_ops;

#endif
