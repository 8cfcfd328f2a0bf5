/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/fleet_placement_load.h - a fleet placement (fs/fleet_placement.h) from
 * CSV. Part of libfs-loaders.
 */
#ifndef FS_FLEET_PLACEMENT_LOAD_H
#define FS_FLEET_PLACEMENT_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"
#include "fs/fleet_placement.h"
#include "fs/network.h"

/**
 * Read a fleet from @path: a header row with columns vehicle_id and node
 * (and optionally soc, 0..1), matched by name, '#' lines skipped. node is
 * the node's id in the network's source (the id column of a CSV network,
 * the OSM node id); for a generated grid, whose nodes have no ids, the node
 * index. Vehicle ids must be exactly 0..n-1, each once, in any order. With
 * @in_scc (node_count bytes, may be NULL) every node must be marked in it.
 * Each vehicle stands at the end of the lowest-id edge into its node (from
 * a node marked in @in_scc). On success *@ret (sorted by vehicle id, caller
 * frees) and *@ret_count; on error -EINVAL / -ENOENT / -ENOMEM and @err says
 * "file:line:column: what is wrong".
 */
int fs_fleet_placement_load_csv(const char *path, const struct fs_network *net, const uint8_t *in_scc,
				struct fs_fleet_placement **ret, size_t *ret_count, struct fs_error *err);

#endif
