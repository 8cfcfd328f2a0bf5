/* SPDX-License-Identifier: Apache-2.0 */
/* fs_fleet_placement - a fixed fleet at given nodes, from CSV (see fs/fleet_placement.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/fleet_placement.h"
#include "fs/fleet_placement_load.h"
#include "fs/grow.h"
#include "fs_demand_csv.h"

struct node_key {
	int64_t id;
	uint32_t index;
};

struct loader {
	const struct fs_network *net;
	const uint8_t *in_scc;
	struct node_key *keys; /* sorted by id; NULL: ids are node indices */
	struct fs_error *err;
	int col_id, col_node, col_soc;
	bool header_seen;
	struct fs_fleet_placement *items;
	size_t count, cap;
	unsigned *lines;       /* line of each item, for duplicate reports */
};

static int compare_keys(const void *a, const void *b)
{
	const struct node_key *x = a, *y = b;
	if (x->id != y->id) {
		return x->id < y->id ? -1 : 1;
	}
	return x->index < y->index ? -1 : x->index > y->index;
}

static bool parse_i64(const char *s, int64_t *ret)
{
	if (!*s) {
		return false;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\r') {
		end++;
	}
	if (*end || errno) {
		return false;
	}
	*ret = v;
	return true;
}

/* The lowest-id edge into @node (from a service node when a mask is given). */
static uint32_t edge_into(const struct fs_network *net, const uint8_t *in_scc, uint32_t node)
{
	uint32_t best = UINT32_MAX;
	for (uint32_t k = net->in_first[node]; k < net->in_first[node + 1]; k++) {
		uint32_t e = net->in_edges[k];
		if ((!in_scc || in_scc[net->edges[e].from]) && e < best) {
			best = e;
		}
	}
	return best;
}

static int on_row(void *user, const struct fs_demand_csv_row *row)
{
	struct loader *l = user;
	if (!l->header_seen) {
		l->header_seen = true;
		l->col_id = fs_demand_csv_find(row, "vehicle_id");
		l->col_node = fs_demand_csv_find(row, "node");
		l->col_soc = fs_demand_csv_find(row, "soc");
		if (l->col_id < 0 || l->col_node < 0) {
			return fs_demand_csv_fail(row, 0, l->err, "the header needs columns vehicle_id and node (and may have soc)");
		}
		return 0;
	}
	int need = l->col_id > l->col_node ? l->col_id : l->col_node;
	need = l->col_soc > need ? l->col_soc : need;
	if ((int)row->count <= need) {
		return fs_demand_csv_fail(row, row->count, l->err, "%zu fields, the header has more", row->count);
	}
	int64_t id, node_id;
	if (!parse_i64(row->fields[l->col_id], &id) || id < 0 || id >= UINT32_MAX) {
		return fs_demand_csv_fail(row, (size_t)l->col_id, l->err, "vehicle_id '%s' is not an id (0, 1, ...)",
					  row->fields[l->col_id]);
	}
	if (!parse_i64(row->fields[l->col_node], &node_id)) {
		return fs_demand_csv_fail(row, (size_t)l->col_node, l->err, "node '%s' is not an integer id",
					  row->fields[l->col_node]);
	}
	uint32_t node = UINT32_MAX;
	if (l->keys) {
		struct node_key key = { node_id, 0 }, *hit = NULL;
		size_t lo = 0, hi = l->net->node_count;
		while (lo < hi) { /* first key with id >= node_id */
			size_t mid = (lo + hi) / 2;
			if (compare_keys(&l->keys[mid], &key) < 0) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
		}
		if (lo < l->net->node_count && l->keys[lo].id == node_id) {
			hit = &l->keys[lo];
		}
		node = hit ? hit->index : UINT32_MAX;
	} else if (node_id >= 0 && node_id < l->net->node_count) {
		node = (uint32_t)node_id;
	}
	if (node == UINT32_MAX) {
		return fs_demand_csv_fail(row, (size_t)l->col_node, l->err, "node %lld is not in the network %s",
					  (long long)node_id, l->net->source);
	}
	if (l->in_scc && !l->in_scc[node]) {
		return fs_demand_csv_fail(row, (size_t)l->col_node, l->err,
					  "node %lld is outside the largest strongly connected component (vehicles there could not reach every rider)",
					  (long long)node_id);
	}
	uint32_t edge = edge_into(l->net, l->in_scc, node);
	if (edge == UINT32_MAX) {
		return fs_demand_csv_fail(row, (size_t)l->col_node, l->err, "node %lld has no road leading into it",
					  (long long)node_id);
	}
	double soc = NAN;
	if (l->col_soc >= 0 && row->fields[l->col_soc][0]) {
		if (!fs_demand_csv_double(row->fields[l->col_soc], &soc) || soc < 0.0 || soc > 1.0) {
			return fs_demand_csv_fail(row, (size_t)l->col_soc, l->err, "soc '%s' is not a number in 0..1",
						  row->fields[l->col_soc]);
		}
	}
	const struct fs_grow_array rows[] = { FS_GROW_ARRAY(l->items), FS_GROW_ARRAY(l->lines) };
	if (fs_grow_parallel(&l->cap, l->count + 1, rows, 2) < 0) {
		return -ENOMEM;
	}
	l->lines[l->count] = row->line;
	l->items[l->count++] = (struct fs_fleet_placement){
		.vehicle_id = (uint32_t)id, .node = node,
		.pos = { edge, l->net->edges[edge].length_m }, .soc = soc,
	};
	return 0;
}

static int compare_placements(const void *a, const void *b)
{
	const struct fs_fleet_placement *x = a, *y = b;
	return x->vehicle_id < y->vehicle_id ? -1 : x->vehicle_id > y->vehicle_id;
}

int fs_fleet_placement_load_csv(const char *path, const struct fs_network *net, const uint8_t *in_scc,
				struct fs_fleet_placement **ret, size_t *ret_count, struct fs_error *err)
{
	if (!path || !net || !ret || !ret_count) {
		return fs_error_set(err, -EINVAL, "fleet placement: bad arguments");
	}
	struct loader l = { .net = net, .in_scc = in_scc, .err = err };
	bool has_ids = false;
	for (uint32_t v = 0; v < net->node_count && !has_ids; v++) {
		has_ids = net->nodes[v].osm_id >= 0;
	}
	if (has_ids) {
		l.keys = fs_malloc((net->node_count ? net->node_count : 1) * sizeof(*l.keys));
		if (!l.keys) {
			return fs_error_set(err, -ENOMEM, "%s: out of memory", path);
		}
		for (uint32_t v = 0; v < net->node_count; v++) {
			l.keys[v] = (struct node_key){ net->nodes[v].osm_id, v };
		}
		qsort(l.keys, net->node_count, sizeof(*l.keys), compare_keys);
	}
	int rc = fs_demand_csv_read(path, on_row, &l, err);
	if (rc == -ENOMEM) {
		fs_error_set(err, rc, "%s: out of memory", path);
	}
	if (rc == 0 && !l.header_seen) {
		rc = fs_error_at(err, -EINVAL, path, 1, 0, "empty file: expected a header vehicle_id,node[,soc]");
	}
	if (rc == 0) {
		/* ids 0..n-1 exactly once: the first row of each id, by id */
		size_t *first = fs_malloc((l.count ? l.count : 1) * sizeof(*first));
		if (!first) {
			rc = fs_error_set(err, -ENOMEM, "%s: out of memory", path);
		}
		for (size_t i = 0; first && i < l.count; i++) {
			first[i] = SIZE_MAX;
		}
		for (size_t i = 0; first && i < l.count && rc == 0; i++) {
			uint32_t id = l.items[i].vehicle_id;
			if (id >= l.count) {
				rc = fs_error_at(err, -EINVAL, path, l.lines[i], 0,
						 "vehicle_id %u: ids must be 0..%zu, one row per vehicle", id, l.count - 1);
			} else if (first[id] != SIZE_MAX) {
				rc = fs_error_at(err, -EINVAL, path, l.lines[i], 0, "vehicle_id %u appears again (first on line %u)",
						 id, l.lines[first[id]]);
			} else {
				first[id] = i;
			}
		}
		fs_free(first);
		if (rc == 0 && l.count > 1) { /* qsort() must not be given NULL, even for 0 items */
			qsort(l.items, l.count, sizeof(*l.items), compare_placements);
		}
	}
	fs_free(l.keys);
	fs_free(l.lines);
	if (rc < 0) {
		fs_free(l.items);
		return rc;
	}
	*ret = l.items;
	*ret_count = l.count;
	return 0;
}
