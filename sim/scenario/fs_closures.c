/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_closures - road_closure events as a per-edge mask (see fs/closures.h).
 *
 * The mask is rebuilt from the events in force only when one of them
 * starts or ends, and swapped in only if it differs, so a run without
 * closures pays one scan of its event list per tick.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/closures.h"

struct fs_closures {
	const struct fs_network *net;
	uint8_t *mask, *next;   /* current and scratch, one byte per edge */
	uint32_t count;
	uint64_t version;
	uint64_t unmatched;
};

struct fs_closures *fs_closures_create(const struct fs_network *net)
{
	struct fs_closures *c = fs_calloc(1, sizeof(*c));
	size_t n = net->edge_count ? net->edge_count : 1;
	if (c) {
		c->net = net;
		c->mask = fs_calloc(n, 1);
		c->next = fs_calloc(n, 1);
	}
	if (!c || !c->mask || !c->next) {
		fs_closures_destroy(c);
		return NULL;
	}
	return c;
}

void fs_closures_destroy(struct fs_closures *c)
{
	if (c) {
		fs_free(c->mask);
		fs_free(c->next);
		fs_free(c);
	}
}

/* Does anything about the closures change at @tick (an event starts or ends)? */
static bool boundary(const struct fs_scenario_event *events, size_t n, uint64_t tick)
{
	for (size_t i = 0; i < n; i++) {
		const struct fs_scenario_event *e = &events[i];
		if (e->type == FS_SCN_EVENT_ROAD_CLOSURE &&
		    (fs_scenario_event_starts(e, tick) || fs_scenario_event_ends(e, tick))) {
			return true;
		}
	}
	return false;
}

/* Close the edges of @e in c->next; count what matched nothing if it starts now. */
static void close_roads(struct fs_closures *c, const struct fs_scenario_event *e, bool starts)
{
	const struct fs_network *net = c->net;
	if (e->edge_count) {
		for (uint32_t k = 0; k < e->edge_count; k++) {
			if (e->edges[k] < net->edge_count) {
				c->next[e->edges[k]] = 1;
			} else {
				c->unmatched += starts;
			}
		}
		return;
	}
	bool any = false;
	for (uint32_t edge = 0; edge < net->edge_count; edge++) {
		if (!strcmp(fs_network_edge_name(net, edge), e->way)) {
			c->next[edge] = 1;
			any = true;
		}
	}
	c->unmatched += starts && !any;
}

int fs_closures_update(struct fs_closures *c, const struct fs_scenario_event *events, size_t n, uint64_t tick)
{
	if (!boundary(events, n, tick)) {
		return 0;
	}
	size_t edges = c->net->edge_count;
	memset(c->next, 0, edges);
	for (size_t i = 0; i < n; i++) {
		const struct fs_scenario_event *e = &events[i];
		if (e->type == FS_SCN_EVENT_ROAD_CLOSURE && fs_scenario_event_active(e, tick)) {
			close_roads(c, e, fs_scenario_event_starts(e, tick));
		}
	}
	if (!memcmp(c->next, c->mask, edges)) {
		return 0;
	}
	uint8_t *t = c->mask;
	c->mask = c->next;
	c->next = t;
	c->count = 0;
	for (size_t k = 0; k < edges; k++) {
		c->count += c->mask[k] != 0;
	}
	c->version++;
	return 1;
}

const uint8_t *fs_closures_mask(const struct fs_closures *c)
{
	return c->count ? c->mask : NULL;
}

uint32_t fs_closures_count(const struct fs_closures *c)
{
	return c->count;
}

uint64_t fs_closures_version(const struct fs_closures *c)
{
	return c->version;
}

uint64_t fs_closures_unmatched(const struct fs_closures *c)
{
	return c->unmatched;
}
