/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/network_load.h - road networks from files: OpenStreetMap (.osm.pbf,
 * .osm), CSV node and edge lists, and the binary network cache (.fsnet).
 * Part of libfs-loaders; the network itself is fs/network.h in sim/.
 */
#ifndef FS_NETWORK_LOAD_H
#define FS_NETWORK_LOAD_H

#include <stdbool.h>

#include "fs/error.h"
#include "fs/network.h"

/* How OSM ways become roads. Every value is a documented default that a
 * scenario may override. */
struct fs_osm_params {
	/* Free-flow speed in km/h for ways without a usable maxspeed tag, per
	 * enum fs_road_class (FS_ROAD_OTHER is highway=road). US-style
	 * assumptions, as in the derived graphs of data/README.md: motorway 97,
	 * trunk 72, primary 56, secondary 48, tertiary/unclassified/residential/
	 * road 40, living_street/service 16, motorway_link 56, trunk/primary_link
	 * 48, secondary/tertiary_link 40. */
	double default_speed_kmh[FS_ROAD_CLASS_COUNT];
	/* Keep only the largest strongly connected component (default true), so
	 * every node can reach every other. */
	bool largest_scc_only;
};

/** Fill @params with the defaults above. */
void fs_osm_params_defaults(struct fs_osm_params *params);

/**
 * Load the drivable road network of an OpenStreetMap file (.osm.pbf / .pbf or
 * .osm XML) with default parameters. Kept ways: highway in {motorway, trunk,
 * primary, secondary, tertiary, unclassified, residential, living_street,
 * road, *_link, service}, minus area=yes, access/motor_vehicle/motorcar =
 * no|private and, on highway=service, service = parking_aisle|driveway|
 * drive-through|emergency_access. One-way: oneway=yes|true|1, junction=roundabout|circular,
 * highway=motorway (unless oneway=no); oneway=-1 runs against the way.
 * Speeds from maxspeed (km/h, "mph" converted), else the class default.
 * lanes is per direction: lanes:forward/backward, else lanes (one-way) or
 * lanes / 2 (two-way), at least 1. Graph nodes are way ends and nodes shared
 * by two kept ways (or met twice by one); an edge keeps the way geometry
 * between them, its length the great-circle length along it. Node refs missing
 * from the file split the way. Nodes are numbered in OSM id order.
 * Turn restrictions (relations type=restriction with a via node, the
 * restriction in restriction=, restriction:motorcar=, :motor_vehicle= or
 * :vehicle=, as OSRM's car profile reads them) become banned_turns: no_* bans
 * the turn from the from way's edge into the via node onto the to way's edge
 * out of it, only_* bans every other turn from that edge; the from and to
 * ways must start or end at the via node. Ignored: via ways, except= naming
 * motorcar, motor_vehicle or vehicle, no_*_on_red, conditional restrictions.
 * Caller frees. NULL with @err naming the file and the problem.
 */
struct fs_network *fs_network_load_osm(const char *path, struct fs_error *err);
/** fs_network_load_osm() with explicit parameters (NULL = defaults). */
struct fs_network *fs_network_load_osm_with(const char *path, const struct fs_osm_params *params,
					    struct fs_error *err);

/**
 * Load a network from two CSV files with a header row, exactly as given (no
 * component filtering: use in_largest_scc to restrict pickups). @nodes_csv has
 * columns id,x,y (integer id, metres); @edges_csv has from,to,length_m,
 * speed_mps and optionally lanes (default 1) and name; columns are matched by
 * header name, extra columns are ignored. Nodes keep file order; edges keep
 * file order within each from node (the CSR sorts them by from). Edges are
 * straight lines, class FS_ROAD_OTHER. Errors read "file:line:field: what",
 * e.g. a missing column, a non-number, an unknown node id, a negative length.
 */
struct fs_network *fs_network_load_csv(const char *nodes_csv, const char *edges_csv,
				       struct fs_error *err);

/**
 * Write @net to @path as a binary cache (format in fs_network_cache.c:
 * versioned, little-endian, XXH3-64 checksums of header and content).
 * Written to a temporary file and renamed into place. Returns 0 or -errno.
 */
int fs_network_save_cache(const struct fs_network *net, const char *path, struct fs_error *err);

/**
 * Read a cache written by fs_network_save_cache(). A truncated, corrupt or
 * foreign file is an error naming the file, never a crash.
 */
struct fs_network *fs_network_load_cache(const char *path, struct fs_error *err);

/**
 * Load an OSM file through a cache in @cache_dir (file <basename>.fsnet):
 * use the cache if it was built from a file of the same size and XXH3-64
 * hash with the same loader rules, else parse @osm_path (default parameters)
 * and write the cache. @ret_cache_status (may be NULL) gets 1 for a cache
 * hit, 0 when the cache was rewritten, or -errno when writing it failed (the
 * network is returned all the same).
 */
struct fs_network *fs_network_load_cached(const char *osm_path, const char *cache_dir,
					  int *ret_cache_status, struct fs_error *err);

/**
 * Load a network from a spec string:
 *   "grid:ROWSxCOLS:SPACING_M[:SPEED_MPS]"  synthetic grid (speed default
 *                                            40 km/h, the residential default)
 *   "csv:NODES.csv,EDGES.csv"               fs_network_load_csv()
 *   "PATH.fsnet"                            fs_network_load_cache()
 *   "PATH.osm.pbf", "PATH.pbf", "PATH.osm"  fs_network_load_osm()
 */
struct fs_network *fs_network_load(const char *spec, struct fs_error *err);

#endif
