/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A road network with what dispatch routes on: the router, one routing
 * workspace, the snapping index over service edges and the largest strongly
 * connected component. The tests build it on a grid, bench_dispatch on a
 * shipped city.
 */
#ifndef ROUTING_CITY_H
#define ROUTING_CITY_H

#include <stdint.h>
#include <stdlib.h>

#include "fs/error.h"
#include "fs/network.h"
#include "fs/route.h"

struct routing_city {
	struct fs_network *net;
	struct fs_router *router;
	struct fs_route_query *q;
	struct fs_network_index *idx;
	uint8_t *scc; /* node_count bytes: 1 in the largest SCC */
};

static inline void routing_city_down(struct routing_city *c)
{
	fs_network_index_destroy(c->idx);
	fs_route_query_destroy(c->q);
	fs_router_destroy(c->router);
	fs_network_destroy(c->net);
	free(c->scc);
	*c = (struct routing_city){ 0 };
}

/*
 * The city around @net (taken; NULL is a failure): the node count of its
 * largest SCC, or -1 with nothing left built (@err, may be NULL, says why
 * when the router could not be built).
 */
static inline long routing_city_up(struct routing_city *c, struct fs_network *net, struct fs_error *err)
{
	*c = (struct routing_city){ .net = net };
	if (!net) {
		return -1;
	}
	c->router = fs_router_create(net, NULL, err);
	c->q = c->router ? fs_route_query_create(c->router) : NULL;
	c->idx = fs_network_index_create(net, true);
	c->scc = calloc(net->node_count, 1);
	long in_scc = c->q && c->idx && c->scc ? (long)fs_network_largest_scc(net, c->scc) : -1;
	if (in_scc <= 0) {
		routing_city_down(c);
		return -1;
	}
	return in_scc;
}

#endif
