/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_network - the road network core: builder, CSR indices, projection,
 * geometry helpers, strongly connected components and the synthetic grid.
 *
 * Loaders (fs_network_osm.c, fs_network_csv.c, fs_network_cache.c) fill a
 * struct fs_netb and call fs_netb_build(), so every network, whatever its
 * source, has the same invariants: edges sorted by from node (stable in the
 * order the loader added them), out_first/in_first/in_edges consistent,
 * names[0] == '\0', a bounding box over nodes and shape points, and the
 * largest strongly connected component marked in in_largest_scc.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/idmap.h"
#include "fs/network.h"
#include "fs/network_build.h"

#define EARTH_RADIUS_M 6371008.8 /* IUGG mean Earth radius */

void fs_projection_init(struct fs_projection *proj, double origin_lat, double origin_lon)
{
	/* Local equirectangular: one degree of latitude is R * pi / 180 everywhere on
	 * the sphere; one degree of longitude shrinks with cos(latitude). */
	const double deg = EARTH_RADIUS_M * M_PI / 180.0;
	proj->origin_lat = origin_lat;
	proj->origin_lon = origin_lon;
	proj->metres_per_deg_lat = deg;
	proj->metres_per_deg_lon = deg * cos(origin_lat * M_PI / 180.0);
}

struct fs_point fs_projection_to_xy(const struct fs_projection *proj, double lat, double lon)
{
	return (struct fs_point){
		.x = (lon - proj->origin_lon) * proj->metres_per_deg_lon,
		.y = (lat - proj->origin_lat) * proj->metres_per_deg_lat,
	};
}

void fs_projection_to_latlon(const struct fs_projection *proj, struct fs_point p, double *ret_lat,
			     double *ret_lon)
{
	*ret_lat = proj->origin_lat + p.y / proj->metres_per_deg_lat;
	*ret_lon = proj->origin_lon + p.x / proj->metres_per_deg_lon;
}

double fs_geo_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad;
	double dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2.0 * EARTH_RADIUS_M * asin(fmin(1.0, sqrt(a)));
}

/* ---- builder ------------------------------------------------------------ */

int fs_netb_init(struct fs_netb *b)
{
	memset(b, 0, sizeof(*b));
	if (FS_GROW(b->names, b->names_cap, 64) < 0) {
		return -ENOMEM;
	}
	b->names[0] = '\0';
	b->names_size = 1;
	return 0;
}

void fs_netb_finish_free(struct fs_netb *b)
{
	fs_free(b->nodes);
	fs_free(b->edges);
	fs_free(b->shape);
	fs_free(b->names);
	if (b->name_index) {
		fs_idmap_finish(b->name_index);
		fs_free(b->name_index);
	}
	fs_free(b->turns);
	memset(b, 0, sizeof(*b));
}

int fs_netb_add_node(struct fs_netb *b, const struct fs_node *node)
{
	if (b->node_count == UINT32_MAX - 1 ||
	    FS_GROW(b->nodes, b->node_cap, b->node_count + 1) < 0) {
		return -ENOMEM;
	}
	b->nodes[b->node_count++] = *node;
	return 0;
}

int fs_netb_add_shape(struct fs_netb *b, const struct fs_point *pts, uint32_t count)
{
	if ((uint64_t)b->shape_count + count >= UINT32_MAX ||
	    FS_GROW(b->shape, b->shape_cap, b->shape_count + count) < 0) {
		return -ENOMEM;
	}
	memcpy(b->shape + b->shape_count, pts, count * sizeof(*pts));
	b->shape_count += count;
	return 0;
}

int fs_netb_add_edge(struct fs_netb *b, const struct fs_edge *edge)
{
	if (b->edge_count == UINT32_MAX - 1 ||
	    FS_GROW(b->edges, b->edge_cap, b->edge_count + 1) < 0) {
		return -ENOMEM;
	}
	b->edges[b->edge_count++] = *edge;
	return 0;
}

int fs_netb_add_turn(struct fs_netb *b, uint32_t from, uint32_t to, bool only)
{
	if (b->turn_count == UINT32_MAX - 1 ||
	    FS_GROW(b->turns, b->turn_cap, b->turn_count + 1) < 0) {
		return -ENOMEM;
	}
	b->turns[b->turn_count++] = (struct fs_netb_turn){ from, to, only };
	return 0;
}

/* The index key of @name: FNV-1a (64 bits); on a collision, the next key up. */
static uint64_t name_key(const char *name)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *name; name++) {
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	}
	return h;
}

static uint64_t next_key(uint64_t key)
{
	return key + 1 == FS_IDMAP_EMPTY ? 0 : key + 1;
}

int fs_netb_intern_name(struct fs_netb *b, const char *name, uint32_t *ret_offset)
{
	if (!name || !*name) {
		*ret_offset = 0;
		return 0;
	}
	if (!b->name_index && !(b->name_index = fs_calloc(1, sizeof(*b->name_index)))) {
		return -ENOMEM;
	}
	uint64_t key = name_key(name);
	uint32_t off;
	for (; fs_idmap_get(b->name_index, key, &off); key = next_key(key)) {
		if (!strcmp(b->names + off, name)) {
			*ret_offset = off;
			return 0;
		}
	}
	size_t len = strlen(name) + 1;
	if ((uint64_t)b->names_size + len >= UINT32_MAX ||
	    FS_GROW(b->names, b->names_cap, b->names_size + (uint32_t)len) < 0 ||
	    fs_idmap_put(b->name_index, key, b->names_size) < 0) {
		return -ENOMEM;
	}
	off = b->names_size;
	memcpy(b->names + off, name, len);
	b->names_size += (uint32_t)len;
	*ret_offset = off;
	return 0;
}

/* ---- network ------------------------------------------------------------ */

void fs_network_destroy(struct fs_network *net)
{
	if (!net) {
		return;
	}
	fs_free(net->nodes);
	fs_free(net->edges);
	fs_free(net->out_first);
	fs_free(net->in_edges);
	fs_free(net->in_first);
	fs_free(net->shape);
	fs_free(net->shape_seg);
	fs_free(net->names);
	fs_free(net->in_largest_scc);
	fs_free(net->banned_turns);
	fs_free(net);
}

/*
 * The shape's segment lengths and headings, and each edge's shape length
 * (fs_network.shape_seg). Every builder gives each edge its own shape points;
 * should two edges share one (a network cache written by something else), the
 * values are not kept and positions are computed from the points.
 */
static int compute_shape_metrics(struct fs_network *net)
{
	struct fs_shape_seg *seg = fs_malloc(((size_t)net->shape_count + 1) * sizeof(*seg));
	uint8_t *taken = fs_calloc((size_t)net->shape_count + 1, 1);
	if (!seg || !taken) {
		fs_free(seg);
		fs_free(taken);
		return -ENOMEM;
	}
	for (uint32_t e = 0; e < net->edge_count; e++) {
		const struct fs_edge *ed = &net->edges[e];
		for (uint32_t i = 0; i < ed->shape_count; i++) {
			if (taken[ed->shape_first + i]++) {
				fs_free(seg);
				fs_free(taken);
				return 0;
			}
		}
		for (uint32_t i = 1; i < ed->shape_count; i++) {
			seg[ed->shape_first + i] = (struct fs_shape_seg){ fs_network_shape_seg_m(net, ed->shape_first + i),
									  fs_network_shape_heading(net, ed->shape_first + i) };
		}
		/* (computed from the points: net->shape_seg is not set yet) */
		seg[ed->shape_first] = (struct fs_shape_seg){ fs_network_edge_shape_m(net, e), 0.0 };
	}
	fs_free(taken);
	net->shape_seg = seg;
	return 0;
}

static void compute_bbox(struct fs_network *net)
{
	double min_x = INFINITY, min_y = INFINITY, max_x = -INFINITY, max_y = -INFINITY;
	for (uint32_t i = 0; i < net->node_count; i++) {
		min_x = fmin(min_x, net->nodes[i].x);
		min_y = fmin(min_y, net->nodes[i].y);
		max_x = fmax(max_x, net->nodes[i].x);
		max_y = fmax(max_y, net->nodes[i].y);
	}
	for (uint32_t i = 0; i < net->shape_count; i++) {
		min_x = fmin(min_x, net->shape[i].x);
		min_y = fmin(min_y, net->shape[i].y);
		max_x = fmax(max_x, net->shape[i].x);
		max_y = fmax(max_y, net->shape[i].y);
	}
	if (min_x > max_x) {
		min_x = min_y = max_x = max_y = 0.0;
	}
	net->min_x = min_x;
	net->min_y = min_y;
	net->max_x = max_x;
	net->max_y = max_y;
}

static int compare_turns(const void *a, const void *b)
{
	const struct fs_turn *x = a, *y = b;
	if (x->from != y->from) {
		return x->from < y->from ? -1 : 1;
	}
	return (x->to > y->to) - (x->to < y->to);
}

static int push_turn(struct fs_network *net, size_t *cap, uint32_t from, uint32_t to)
{
	if (fs_grow((void **)&net->banned_turns, cap, net->banned_turn_count + 1, sizeof(*net->banned_turns)) < 0) {
		return -ENOMEM;
	}
	net->banned_turns[net->banned_turn_count++] = (struct fs_turn){ from, to };
	return 0;
}

static bool meets(const struct fs_network *net, struct fs_turn t)
{
	return t.from < net->edge_count && t.to < net->edge_count && net->edges[t.from].to == net->edges[t.to].from;
}

/*
 * The builder's restrictions in network edge ids (b->edges[e].from holds
 * builder edge e's new id by now): no-turns as they are, each from
 * edge's only-turns as bans of every other turn at its end node; sorted,
 * without duplicates or pairs that do not meet.
 */
static int build_turns(struct fs_network *net, struct fs_netb *b)
{
	size_t cap = 0;
	struct fs_turn *only = fs_malloc(((size_t)b->turn_count + 1) * sizeof(*only));
	uint32_t nonly = 0;
	if (!only) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < b->turn_count; i++) {
		const struct fs_netb_turn *t = &b->turns[i];
		if (t->from >= b->edge_count || t->to >= b->edge_count) {
			continue;
		}
		struct fs_turn turn = { b->edges[t->from].from, b->edges[t->to].from };
		if (!meets(net, turn)) {
			continue;
		}
		if (t->only) {
			only[nonly++] = turn;
		} else if (push_turn(net, &cap, turn.from, turn.to) < 0) {
			goto out_nomem;
		}
	}
	qsort(only, nonly, sizeof(*only), compare_turns);
	for (uint32_t i = 0; i < nonly;) {
		uint32_t from = only[i].from, k = i;
		while (k < nonly && only[k].from == from) {
			k++;
		}
		uint32_t via = net->edges[from].to;
		for (uint32_t e = net->out_first[via]; e < net->out_first[via + 1]; e++) {
			bool allowed = false;
			for (uint32_t j = i; j < k && !allowed; j++) {
				allowed = only[j].to == e;
			}
			if (!allowed && push_turn(net, &cap, from, e) < 0) {
				goto out_nomem;
			}
		}
		i = k;
	}
	fs_free(only);
	if (net->banned_turn_count) {
		qsort(net->banned_turns, net->banned_turn_count, sizeof(*net->banned_turns), compare_turns);
		uint32_t keep = 1;
		for (uint32_t i = 1; i < net->banned_turn_count; i++) {
			if (compare_turns(&net->banned_turns[i], &net->banned_turns[keep - 1])) {
				net->banned_turns[keep++] = net->banned_turns[i];
			}
		}
		net->banned_turn_count = keep;
	}
	return 0;

out_nomem:
	fs_free(only);
	return -ENOMEM;
}

struct fs_network *fs_netb_build(struct fs_netb *b, const struct fs_projection *proj,
				 const char *source)
{
	struct fs_network *net = fs_calloc(1, sizeof(*net));
	uint32_t n = b->node_count, m = b->edge_count;
	if (!net) {
		goto out_free_builder;
	}
	net->node_count = n;
	net->edge_count = m;
	net->out_first = fs_calloc((size_t)n + 1, sizeof(uint32_t));
	net->in_first = fs_calloc((size_t)n + 1, sizeof(uint32_t));
	net->in_edges = fs_malloc(((size_t)m + 1) * sizeof(uint32_t));
	net->edges = fs_malloc(((size_t)m + 1) * sizeof(struct fs_edge));
	net->in_largest_scc = fs_calloc((size_t)n + 1, 1);
	if (!net->out_first || !net->in_first || !net->in_edges || !net->edges ||
	    !net->in_largest_scc) {
		goto out_free_net;
	}
	/* Counting sort by from node keeps the loader's order within a node. */
	for (uint32_t e = 0; e < m; e++) {
		net->out_first[b->edges[e].from + 1]++;
		net->in_first[b->edges[e].to + 1]++;
	}
	for (uint32_t v = 0; v < n; v++) {
		net->out_first[v + 1] += net->out_first[v];
		net->in_first[v + 1] += net->in_first[v];
	}
	uint32_t *fill = fs_malloc(((size_t)n + 1) * sizeof(uint32_t));
	if (!fill) {
		goto out_free_net;
	}
	memcpy(fill, net->out_first, (size_t)n * sizeof(uint32_t));
	for (uint32_t e = 0; e < m; e++) {
		uint32_t at = fill[b->edges[e].from]++;
		net->edges[at] = b->edges[e];
		if (b->turn_count) {
			b->edges[e].from = at; /* the builder edge's new id, for build_turns() */
		}
	}
	memcpy(fill, net->in_first, (size_t)n * sizeof(uint32_t));
	for (uint32_t e = 0; e < m; e++) {
		net->in_edges[fill[net->edges[e].to]++] = e;
	}
	fs_free(fill);
	if (build_turns(net, b) < 0) {
		goto out_free_net;
	}
	fs_free(b->edges);
	b->edges = NULL;

	net->nodes = b->nodes;
	b->nodes = NULL;
	net->shape = b->shape;
	b->shape = NULL;
	net->shape_count = b->shape_count;
	net->names = b->names;
	b->names = NULL;
	net->names_size = b->names_size;
	net->proj = *proj;
	snprintf(net->source, sizeof(net->source), "%s", source ? source : "");
	compute_bbox(net);
	int64_t scc = compute_shape_metrics(net) < 0 ? -ENOMEM : fs_network_largest_scc(net, net->in_largest_scc);
	if (scc < 0) {
		fs_network_destroy(net);
		fs_netb_finish_free(b);
		return NULL;
	}
	net->largest_scc_size = (uint32_t)scc;
	fs_netb_finish_free(b);
	return net;

out_free_net:
	fs_network_destroy(net);
	net = NULL;
out_free_builder:
	fs_netb_finish_free(b);
	return net;
}

struct fs_network *fs_network_subset(const struct fs_network *net, const uint8_t *mask)
{
	struct fs_netb b;
	uint32_t *new_edge = NULL;
	uint32_t *new_id = fs_malloc(((size_t)net->node_count + 1) * sizeof(uint32_t));
	if (!new_id || fs_netb_init(&b) < 0) {
		fs_free(new_id);
		return NULL;
	}
	for (uint32_t v = 0; v < net->node_count; v++) {
		new_id[v] = UINT32_MAX;
		if (mask[v]) {
			new_id[v] = b.node_count;
			if (fs_netb_add_node(&b, &net->nodes[v]) < 0) {
				goto out_fail;
			}
		}
	}
	new_edge = fs_malloc(((size_t)net->edge_count + 1) * sizeof(uint32_t));
	if (!new_edge) {
		goto out_fail;
	}
	for (uint32_t e = 0; e < net->edge_count; e++) {
		struct fs_edge edge = net->edges[e];
		new_edge[e] = UINT32_MAX;
		if (new_id[edge.from] == UINT32_MAX || new_id[edge.to] == UINT32_MAX) {
			continue;
		}
		new_edge[e] = b.edge_count;
		edge.from = new_id[edge.from];
		edge.to = new_id[edge.to];
		uint32_t first = b.shape_count;
		if (fs_netb_add_shape(&b, net->shape + edge.shape_first, edge.shape_count) < 0 ||
		    fs_netb_intern_name(&b, net->names + edge.name, &edge.name) < 0) {
			goto out_fail;
		}
		edge.shape_first = first;
		if (fs_netb_add_edge(&b, &edge) < 0) {
			goto out_fail;
		}
	}
	for (uint32_t i = 0; i < net->banned_turn_count; i++) {
		const struct fs_turn *t = &net->banned_turns[i];
		if (new_edge[t->from] != UINT32_MAX && new_edge[t->to] != UINT32_MAX &&
		    fs_netb_add_turn(&b, new_edge[t->from], new_edge[t->to], false) < 0) {
			goto out_fail;
		}
	}
	fs_free(new_id);
	fs_free(new_edge);
	return fs_netb_build(&b, &net->proj, net->source);

out_fail:
	fs_free(new_id);
	fs_free(new_edge);
	fs_netb_finish_free(&b);
	return NULL;
}

bool fs_network_turn_allowed(const struct fs_network *net, uint32_t from, uint32_t to)
{
	if (!meets(net, (struct fs_turn){ from, to })) {
		return false;
	}
	uint32_t lo = 0, hi = net->banned_turn_count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct fs_turn *t = &net->banned_turns[mid];
		if (t->from < from || (t->from == from && t->to < to)) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return !(lo < net->banned_turn_count && net->banned_turns[lo].from == from && net->banned_turns[lo].to == to);
}

uint32_t fs_network_reverse_edge(const struct fs_network *net, uint32_t edge)
{
	if (edge >= net->edge_count) {
		return UINT32_MAX;
	}
	const struct fs_edge *e = &net->edges[edge];
	for (uint32_t r = net->out_first[e->to]; r < net->out_first[e->to + 1]; r++) {
		if (net->edges[r].to == e->from && fabsf(net->edges[r].length_m - e->length_m) <= 0.01f) {
			return r; /* out edges are sorted by id: the lowest */
		}
	}
	return UINT32_MAX;
}

const char *fs_network_edge_name(const struct fs_network *net, uint32_t edge)
{
	if (edge >= net->edge_count || net->edges[edge].name >= net->names_size) {
		return "";
	}
	return net->names + net->edges[edge].name;
}

int fs_network_edge_point_at(const struct fs_network *net, uint32_t edge, double offset_m,
			     struct fs_point *ret_point)
{
	if (edge >= net->edge_count) {
		return -EINVAL;
	}
	const struct fs_edge *e = &net->edges[edge];
	const struct fs_point *pts = net->shape + e->shape_first;
	double shape_len = fs_network_edge_shape_m(net, edge);
	double frac = e->length_m > 0.0f ? offset_m / e->length_m : 0.0;
	frac = fmin(1.0, fmax(0.0, frac));
	double want = frac * shape_len;
	for (uint32_t i = 1; i < e->shape_count; i++) {
		double seg = fs_network_shape_seg_m(net, e->shape_first + i);
		if (want <= seg && seg > 0.0) {
			double t = want / seg;
			ret_point->x = pts[i - 1].x + t * (pts[i].x - pts[i - 1].x);
			ret_point->y = pts[i - 1].y + t * (pts[i].y - pts[i - 1].y);
			return 0;
		}
		want -= seg;
	}
	*ret_point = pts[e->shape_count - 1];
	return 0;
}

/* ---- strongly connected components ---------------------------------------- */

int64_t fs_network_largest_scc(const struct fs_network *net, uint8_t *ret_mask)
{
	/* Tarjan's algorithm with an explicit call stack (frames of node + next
	 * out-edge), so a long chain of roads cannot overflow the C stack. */
	const uint32_t n = net->node_count;
	const uint32_t unvisited = UINT32_MAX;
	if (n == 0) {
		return 0;
	}
	uint32_t *index = fs_malloc((size_t)n * sizeof(uint32_t));
	uint32_t *low = fs_malloc((size_t)n * sizeof(uint32_t));
	uint32_t *stack = fs_malloc((size_t)n * sizeof(uint32_t));
	uint32_t *frame_v = fs_malloc((size_t)n * sizeof(uint32_t));
	uint32_t *frame_it = fs_malloc((size_t)n * sizeof(uint32_t));
	uint32_t *comp = fs_malloc((size_t)n * sizeof(uint32_t));
	uint8_t *on_stack = fs_calloc(n, 1);
	int64_t ret = -ENOMEM;
	if (!index || !low || !stack || !frame_v || !frame_it || !comp || !on_stack) {
		goto out_free;
	}
	for (uint32_t v = 0; v < n; v++) {
		index[v] = unvisited;
	}
	uint32_t counter = 0, sp = 0, ncomp = 0, best_comp = 0, best_size = 0;
	for (uint32_t s = 0; s < n; s++) {
		if (index[s] != unvisited) {
			continue;
		}
		uint32_t fp = 0;
		frame_v[fp] = s;
		frame_it[fp++] = net->out_first[s];
		index[s] = low[s] = counter++;
		stack[sp++] = s;
		on_stack[s] = 1;
		while (fp) {
			uint32_t v = frame_v[fp - 1];
			if (frame_it[fp - 1] < net->out_first[v + 1]) {
				uint32_t w = net->edges[frame_it[fp - 1]++].to;
				if (index[w] == unvisited) {
					index[w] = low[w] = counter++;
					stack[sp++] = w;
					on_stack[w] = 1;
					frame_v[fp] = w;
					frame_it[fp++] = net->out_first[w];
				} else if (on_stack[w] && index[w] < low[v]) {
					low[v] = index[w];
				}
				continue;
			}
			fp--;
			if (low[v] == index[v]) {
				uint32_t size = 0, w;
				do {
					w = stack[--sp];
					on_stack[w] = 0;
					comp[w] = ncomp;
					size++;
				} while (w != v);
				if (size > best_size) {
					best_size = size;
					best_comp = ncomp;
				}
				ncomp++;
			}
			if (fp) {
				uint32_t u = frame_v[fp - 1];
				if (low[v] < low[u]) {
					low[u] = low[v];
				}
			}
		}
	}
	for (uint32_t v = 0; v < n; v++) {
		ret_mask[v] = comp[v] == best_comp;
	}
	ret = best_size;
out_free:
	fs_free(index);
	fs_free(low);
	fs_free(stack);
	fs_free(frame_v);
	fs_free(frame_it);
	fs_free(comp);
	fs_free(on_stack);
	return ret;
}

/* ---- synthetic grid --------------------------------------------------------- */

static int grid_edge(struct fs_netb *b, uint32_t from, uint32_t to, double speed_mps,
		     const char *name)
{
	struct fs_point pts[2] = {
		{ b->nodes[from].x, b->nodes[from].y },
		{ b->nodes[to].x, b->nodes[to].y },
	};
	struct fs_edge e = {
		.from = from,
		.to = to,
		.length_m = (float)hypot(pts[1].x - pts[0].x, pts[1].y - pts[0].y),
		.speed_mps = (float)speed_mps,
		.lanes = 1,
		.road_class = FS_ROAD_RESIDENTIAL,
		.shape_first = b->shape_count,
		.shape_count = 2,
	};
	e.travel_time_s = e.length_m / e.speed_mps;
	if (fs_netb_add_shape(b, pts, 2) < 0 || fs_netb_intern_name(b, name, &e.name) < 0) {
		return -ENOMEM;
	}
	return fs_netb_add_edge(b, &e);
}

struct fs_network *fs_network_grid(uint32_t rows, uint32_t cols, double spacing_m, double speed_mps,
				   struct fs_error *err)
{
	if (rows == 0 || cols == 0 || (uint64_t)rows * cols > (1u << 26)) {
		fs_error_set(err, -EINVAL, "grid: %" PRIu32 " x %" PRIu32 " is not 1..2^26 nodes", rows,
			     cols);
		return NULL;
	}
	if (!(spacing_m > 0.0) || !isfinite(spacing_m) || !(speed_mps > 0.0) || !isfinite(speed_mps)) {
		fs_error_set(err, -EINVAL, "grid: spacing %g m and speed %g m/s must be positive",
			     spacing_m, speed_mps);
		return NULL;
	}
	struct fs_netb b;
	struct fs_projection proj;
	fs_projection_init(&proj, 0.0, 0.0);
	if (fs_netb_init(&b) < 0) {
		goto out_nomem;
	}
	for (uint32_t r = 0; r < rows; r++) {
		for (uint32_t c = 0; c < cols; c++) {
			struct fs_node node = { .x = c * spacing_m, .y = r * spacing_m, .osm_id = -1 };
			fs_projection_to_latlon(&proj, (struct fs_point){ node.x, node.y }, &node.lat,
						&node.lon);
			if (fs_netb_add_node(&b, &node) < 0) {
				goto out_free;
			}
		}
	}
	char street[32], avenue[32];
	for (uint32_t r = 0; r < rows; r++) {
		snprintf(street, sizeof(street), "Street %" PRIu32, r);
		for (uint32_t c = 0; c < cols; c++) {
			uint32_t v = r * cols + c;
			snprintf(avenue, sizeof(avenue), "Avenue %" PRIu32, c);
			if ((c + 1 < cols && grid_edge(&b, v, v + 1, speed_mps, street) < 0) ||
			    (c > 0 && grid_edge(&b, v, v - 1, speed_mps, street) < 0) ||
			    (r + 1 < rows && grid_edge(&b, v, v + cols, speed_mps, avenue) < 0) ||
			    (r > 0 && grid_edge(&b, v, v - cols, speed_mps, avenue) < 0)) {
				goto out_free;
			}
		}
	}
	char source[64];
	snprintf(source, sizeof(source), "grid:%" PRIu32 "x%" PRIu32 ":%g", rows, cols, spacing_m);
	struct fs_network *net = fs_netb_build(&b, &proj, source);
	if (!net) {
		goto out_nomem;
	}
	return net;

out_free:
	fs_netb_finish_free(&b);
out_nomem:
	fs_error_set(err, -ENOMEM, "grid: out of memory");
	return NULL;
}

/* OSM highway=* values, in enum fs_road_class order. */
static const char *const road_class_names[FS_ROAD_CLASS_COUNT] = {
	"motorway",	   "trunk",	     "primary",	    "secondary",      "tertiary",
	"unclassified",	   "residential",    "living_street", "service",	      "motorway_link",
	"trunk_link",	   "primary_link",   "secondary_link", "tertiary_link", "road",
};

const char *fs_road_class_name(int road_class)
{
	return road_class >= 0 && road_class < FS_ROAD_CLASS_COUNT ? road_class_names[road_class] : "?";
}

int fs_road_class_from_name(const char *name)
{
	for (int c = 0; name && c < FS_ROAD_CLASS_COUNT; c++) {
		if (!strcmp(name, road_class_names[c])) {
			return c;
		}
	}
	return -1;
}

bool fs_road_is_motorway(uint8_t road_class)
{
	return road_class == FS_ROAD_MOTORWAY || road_class == FS_ROAD_MOTORWAY_LINK || road_class == FS_ROAD_TRUNK ||
	       road_class == FS_ROAD_TRUNK_LINK;
}
