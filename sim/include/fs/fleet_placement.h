/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/fleet_placement.h - a fixed fleet placed at given network nodes, so
 * that a run can start from exactly the same fleet as another simulator
 * (comparison mode: network, demand and fleet all given as files; the CSV
 * reader is fs/fleet_placement_load.h in loaders/).
 */
#ifndef FS_FLEET_PLACEMENT_H
#define FS_FLEET_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"
#include "fs/network.h"

/* Where one vehicle starts. */
struct fs_fleet_placement {
	uint32_t vehicle_id;
	uint32_t node;          /* network node index */
	struct fs_road_pos pos; /* at the node: the end of an edge into it */
	double soc;             /* 0..1, or NAN when the file has no soc column */
};

#endif
