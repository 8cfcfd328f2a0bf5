/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/network_build.h - how a network is built: the builder every network
 * source (the file loaders in loaders/, the synthetic grid) appends to.
 *
 * A source appends nodes, edges, shape points and names in any order, then
 * fs_netb_finish() sorts the edges by from node (stable), builds the CSR
 * out/in indices, the bounding box and the largest-SCC mask, and hands the
 * arrays over to a struct fs_network.
 */
#ifndef FS_NETWORK_BUILD_H
#define FS_NETWORK_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/network.h"

struct fs_idmap;

/* A turn restriction in builder edge ids: ban @from -> @to, or with @only,
 * every turn from @from except onto @to (and @from's other only-targets). */
struct fs_netb_turn {
	uint32_t from, to;
	bool only;
};

struct fs_netb {
	struct fs_node *nodes;
	uint32_t node_count;
	size_t node_cap;
	struct fs_edge *edges;
	uint32_t edge_count;
	size_t edge_cap;
	struct fs_point *shape;
	uint32_t shape_count;
	size_t shape_cap;
	char *names;
	uint32_t names_size;
	size_t names_cap;
	struct fs_idmap *name_index; /* a hash of a name -> its offset (fs/idmap.h) */
	struct fs_netb_turn *turns;
	uint32_t turn_count;
	size_t turn_cap;
};

/** Start an empty builder (names[0] = '\0' is reserved for "unnamed"). */
int fs_netb_init(struct fs_netb *b);
/** Free everything the builder still owns. */
void fs_netb_finish_free(struct fs_netb *b);
/** Append a node; its index is b->node_count - 1 afterwards. */
int fs_netb_add_node(struct fs_netb *b, const struct fs_node *node);
/** Append shape points (a new edge's geometry starts at the returned index). */
int fs_netb_add_shape(struct fs_netb *b, const struct fs_point *pts, uint32_t count);
/** Append an edge (from, to, shape_first/count and name already filled in). */
int fs_netb_add_edge(struct fs_netb *b, const struct fs_edge *edge);
/** Add a turn restriction between builder edges (see struct fs_netb_turn). */
int fs_netb_add_turn(struct fs_netb *b, uint32_t from, uint32_t to, bool only);
/** Intern @name (deduplicated); sets *ret_offset (0 for NULL or ""). */
int fs_netb_intern_name(struct fs_netb *b, const char *name, uint32_t *ret_offset);

/**
 * Turn the builder into a network (the builder is emptied either way).
 * Turn restrictions become the network's banned_turns (only-turns expanded;
 * pairs whose edges do not meet are dropped). @source is copied for
 * messages. NULL on no memory.
 */
struct fs_network *fs_netb_build(struct fs_netb *b, const struct fs_projection *proj,
				 const char *source);

/** A new network holding only the nodes with mask[v] != 0, the edges between them and their banned turns. */
struct fs_network *fs_network_subset(const struct fs_network *net, const uint8_t *mask);

/** Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m). */
double fs_geo_distance_m(double lat1, double lon1, double lat2, double lon2);

#endif
