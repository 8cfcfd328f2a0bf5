/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_route - travel-time routing with contraction hierarchies (CH).
 *
 * Preprocessing (per distinct time-factor shape, see route.h): nodes are
 * contracted one by one in the order of a priority that combines
 *   level (1 + the highest level of an already contracted neighbour),
 *   added shortcuts / removed edges, and
 *   original edges the added shortcuts stand for / those of removed edges
 * (the "edge difference + deleted neighbours" family, in the ratio form
 * RoutingKit uses). Contracting v adds a shortcut u -> w for every pair of
 * remaining neighbours whose path u -> v -> w has no witness: a path of at
 * most the same weight that avoids v, searched by a Dijkstra from u limited
 * in settled nodes and hops (a missed witness only costs an extra shortcut,
 * never correctness). Priorities of v's neighbours are recomputed after each
 * contraction. A shortcut remembers its two halves, so a path unpacks
 * recursively into network edges.
 *
 * Query graph: nodes are renumbered by descending rank (id 0 = contracted
 * last), so the few important nodes every search reaches share cache lines
 * and a sweep in id order visits nodes from the top of the hierarchy down.
 * Each node keeps its upward out-arcs ("up") and the arcs into it from higher
 * nodes ("down", stored at the lower end, which a backward search follows
 * upward). A point-to-point query is a bidirectional upward Dijkstra with
 * stall-on-demand that stops when both queues' minima reach the best meeting
 * distance. Many-to-one runs one backward upward search from the target and
 * then either a pruned forward upward search per source or, for many sources,
 * a PHAST sweep (Delling et al. 2011) that settles every node in id order
 * along the up arcs; one-to-many is the mirror image.
 *
 * Weights are doubles: a hierarchy holds edge.travel_time_s times its class
 * weights; an hour's times are that times the hour's scale.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/heap.h"
#include "fs/route.h"

#define NONE UINT32_MAX
#define SAME_SHAPE_TOLERANCE 1e-12 /* relative: hours this close share a hierarchy */
#define PHAST_MIN_COUNT 8          /* below this many endpoints, pruned searches win */
#define PHAST_NODES_PER_ENDPOINT 256 /* a sweep costs about this many pruned searches' worth per node */

/* ---- shared pieces ---------------------------------------------------------- */

struct qitem {
	double key;
	uint32_t node;
};

static inline bool qitem_less(void *ctx, const struct qitem *a, const struct qitem *b)
{
	return a->key < b->key;
}

FS_HEAP_DEFINE(qheap, void, struct qitem, qitem_less, FS_HEAP_STORE)

/* Min-heap with lazy deletion (stale entries are skipped on pop); room is reserved before pushing. */
struct lheap {
	struct qitem *a;
	size_t n, cap;
};

static inline void heap_push(struct lheap *h, double key, uint32_t node)
{
	qheap_push(NULL, h->a, &h->n, (struct qitem){ key, node });
}

static inline struct qitem heap_pop(struct lheap *h)
{
	return qheap_pop(NULL, h->a, &h->n);
}

static int heap_reserve(struct lheap *h, uint64_t need)
{
	return FS_GROW(h->a, h->cap, need);
}

/* ---- the hierarchy ------------------------------------------------------------ */

struct arc {
	uint32_t head;
	uint32_t edge; /* index into ch->edges */
	double w;
};

/* A hierarchy edge in query ids: original (b == NONE, a = network edge) or a
 * shortcut from -> to made of edges a (from -> middle) and b (middle -> to). */
struct ch_edge {
	uint32_t from, to;
	uint32_t a, b;
};

struct ch {
	uint32_t n;
	uint32_t *id_of;   /* network node -> query id */
	uint32_t *node_of; /* query id -> network node */
	uint32_t *up_first;
	struct arc *up;
	uint32_t *down_first;
	struct arc *down;
	struct ch_edge *edges;
	uint32_t edge_count;
	uint32_t shortcuts;
	double class_weight[FS_ROAD_CLASS_COUNT];
};

struct fs_router {
	const struct fs_network *net;
	struct fs_router_options opts;
	uint32_t ch_count;
	struct ch ch[FS_ROUTE_HOURS];
	uint8_t hour_ch[FS_ROUTE_HOURS];
	double hour_scale[FS_ROUTE_HOURS];
	uint32_t max_arcs; /* largest up or down arc count over the hierarchies */
	uint32_t max_degree;  /* most edges into or out of one node */
	uint64_t transitions; /* turns in the network: sum over nodes of in-degree x out-degree */
};

/* ---- contraction ---------------------------------------------------------------- */

/* Adjacency entry of the remaining graph: the node at the other end, the
 * edge, and its weight inline so a witness search never leaves the list. */
struct adj {
	uint32_t other;
	uint32_t id;
	double w;
};

struct vec {
	struct adj *a;
	uint32_t n, cap;
};

struct cedge {
	uint32_t from, to;
	double w;
	uint32_t a, b; /* as struct ch_edge, in network node ids */
	uint32_t hops; /* original edges this edge stands for */
};

struct ctr {
	uint32_t n;
	struct cedge *e;
	uint32_t m, cap;
	struct vec *out, *in;
	uint8_t *contracted;
	uint32_t *level;
	/* witness search */
	double *dist;
	uint32_t *stamp;
	uint32_t *target_stamp; /* out-neighbours still to settle, marked with the round */
	uint16_t *hops;
	uint32_t round;
	struct lheap heap;
	uint32_t settle_limit, hop_limit;
	/* priority queue: indexed binary heap over nodes */
	uint32_t *pq, *pq_pos;
	size_t pq_n;
	double *prio;
	uint32_t *nbr; /* scratch: neighbours of the node being contracted */
};

static int vec_push(struct vec *v, struct adj x)
{
	if (v->n == v->cap) {
		uint32_t cap = v->cap ? v->cap * 2 : 4;
		struct adj *a = fs_realloc(v->a, cap * sizeof(*a));
		if (!a) {
			return -ENOMEM;
		}
		v->a = a;
		v->cap = cap;
	}
	v->a[v->n++] = x;
	return 0;
}

static void vec_remove(struct vec *v, uint32_t id)
{
	for (uint32_t i = 0; i < v->n; i++) {
		if (v->a[i].id == id) {
			v->a[i] = v->a[--v->n];
			return;
		}
	}
}

static int ctr_new_edge(struct ctr *c, uint32_t from, uint32_t to, double w, uint32_t a,
			uint32_t b, uint32_t hops)
{
	if (c->m == c->cap) {
		uint64_t cap = c->cap ? (uint64_t)c->cap * 2 : 1024;
		if (cap >= NONE) {
			return -ENOMEM;
		}
		struct cedge *e = fs_realloc(c->e, (size_t)cap * sizeof(*e));
		if (!e) {
			return -ENOMEM;
		}
		c->e = e;
		c->cap = (uint32_t)cap;
	}
	uint32_t id = c->m++;
	c->e[id] = (struct cedge){ from, to, w, a, b, hops };
	if (vec_push(&c->out[from], (struct adj){ to, id, w }) < 0 ||
	    vec_push(&c->in[to], (struct adj){ from, id, w }) < 0) {
		return -ENOMEM;
	}
	return 0;
}

/* Add u -> w with weight @w, or lower the weight of an existing u -> w. */
static int ctr_add_or_improve(struct ctr *c, uint32_t u, uint32_t w, double weight, uint32_t a,
			      uint32_t b, uint32_t hops)
{
	struct vec *out = &c->out[u];
	for (uint32_t i = 0; i < out->n; i++) {
		if (out->a[i].other != w) {
			continue;
		}
		struct cedge *e = &c->e[out->a[i].id];
		if (weight < e->w) {
			e->w = weight;
			e->a = a;
			e->b = b;
			e->hops = hops;
			out->a[i].w = weight;
			struct vec *in = &c->in[w];
			for (uint32_t k = 0; k < in->n; k++) {
				if (in->a[k].id == out->a[i].id) {
					in->a[k].w = weight;
				}
			}
		}
		return 0;
	}
	return ctr_new_edge(c, u, w, weight, a, b, hops);
}

/* Dijkstra from @source avoiding @avoid, until @targets nodes marked with
 * target_stamp == round are settled, the distance passes @limit, or the
 * settle/hop limits are hit. */
static int witness_search(struct ctr *c, uint32_t source, uint32_t avoid, double limit,
			  uint32_t targets)
{
	c->round++; /* the caller reset the stamps before the counter could wrap */
	c->heap.n = 0;
	if (heap_reserve(&c->heap, 64) < 0) {
		return -ENOMEM;
	}
	c->dist[source] = 0.0;
	c->stamp[source] = c->round;
	c->hops[source] = 0;
	heap_push(&c->heap, 0.0, source);
	uint32_t settled = 0;
	while (c->heap.n) {
		struct qitem it = heap_pop(&c->heap);
		uint32_t u = it.node;
		if (it.key > c->dist[u]) {
			continue;
		}
		if (it.key > limit || ++settled > c->settle_limit) {
			break;
		}
		if (c->target_stamp[u] == c->round) {
			c->target_stamp[u] = 0; /* count each target once */
			if (--targets == 0) {
				break;
			}
		}
		if (c->hops[u] >= c->hop_limit) {
			continue;
		}
		const struct vec *out = &c->out[u];
		if (heap_reserve(&c->heap, (uint64_t)c->heap.n + out->n) < 0) {
			return -ENOMEM;
		}
		for (uint32_t i = 0; i < out->n; i++) {
			uint32_t x = out->a[i].other;
			double nd = it.key + out->a[i].w;
			if (x == avoid || (c->stamp[x] == c->round && nd >= c->dist[x])) {
				continue;
			}
			c->dist[x] = nd;
			c->stamp[x] = c->round;
			c->hops[x] = (uint16_t)(c->hops[u] + 1);
			heap_push(&c->heap, nd, x);
		}
	}
	return 0;
}

struct sim {
	uint32_t added, removed, added_hops, removed_hops;
};

/* Count (or, with @apply, add) the shortcuts that contracting @v needs. */
static int ctr_process(struct ctr *c, uint32_t v, bool apply, struct sim *ret)
{
	struct sim s = { .removed = c->in[v].n + c->out[v].n };
	for (uint32_t i = 0; i < c->in[v].n; i++) {
		s.removed_hops += c->e[c->in[v].a[i].id].hops;
	}
	for (uint32_t j = 0; j < c->out[v].n; j++) {
		s.removed_hops += c->e[c->out[v].a[j].id].hops;
	}
	for (uint32_t i = 0; i < c->in[v].n; i++) {
		uint32_t in_id = c->in[v].a[i].id;
		uint32_t u = c->e[in_id].from;
		double w_in = c->e[in_id].w;
		uint32_t hops_in = c->e[in_id].hops;
		double max_out = -1.0;
		uint32_t targets = 0;
		if (c->round + 1 == 0) {
			memset(c->stamp, 0, c->n * sizeof(*c->stamp));
			memset(c->target_stamp, 0, c->n * sizeof(*c->target_stamp));
			c->round = 0;
		}
		for (uint32_t j = 0; j < c->out[v].n; j++) {
			const struct cedge *e = &c->e[c->out[v].a[j].id];
			if (e->to != u) {
				max_out = e->w > max_out ? e->w : max_out;
				targets += c->target_stamp[e->to] != c->round + 1;
				c->target_stamp[e->to] = c->round + 1; /* the round the search will use */
			}
		}
		if (max_out < 0.0) {
			continue;
		}
		if (witness_search(c, u, v, w_in + max_out, targets) < 0) {
			return -ENOMEM;
		}
		for (uint32_t j = 0; j < c->out[v].n; j++) {
			uint32_t out_id = c->out[v].a[j].id;
			uint32_t w = c->e[out_id].to;
			double via = w_in + c->e[out_id].w;
			if (w == u || (c->stamp[w] == c->round && c->dist[w] <= via)) {
				continue;
			}
			uint32_t hops = hops_in + c->e[out_id].hops;
			s.added++;
			s.added_hops += hops;
			if (apply && ctr_add_or_improve(c, u, w, via, in_id, out_id, hops) < 0) {
				return -ENOMEM;
			}
		}
	}
	*ret = s;
	return 0;
}

static int ctr_priority(struct ctr *c, uint32_t v, double *ret)
{
	struct sim s;
	if (ctr_process(c, v, false, &s) < 0) {
		return -ENOMEM;
	}
	*ret = c->level[v] + (s.removed ? (double)s.added / s.removed : 0.0) +
	       (s.removed_hops ? (double)s.added_hops / s.removed_hops : 0.0);
	return 0;
}

/* Indexed min-heap on c->prio, ties broken by node id (deterministic order). */
static inline bool pq_less(const struct ctr *c, const uint32_t *a, const uint32_t *b)
{
	return c->prio[*a] < c->prio[*b] || (c->prio[*a] == c->prio[*b] && *a < *b);
}

static inline void pq_place(struct ctr *c, uint32_t *pq, size_t i, uint32_t v)
{
	pq[i] = v;
	c->pq_pos[v] = (uint32_t)i;
}

FS_HEAP_DEFINE(pq, struct ctr, uint32_t, pq_less, pq_place)

static void ctr_free(struct ctr *c)
{
	for (uint32_t v = 0; v < c->n; v++) {
		fs_free(c->out ? c->out[v].a : NULL);
		fs_free(c->in ? c->in[v].a : NULL);
	}
	fs_free(c->out);
	fs_free(c->in);
	fs_free(c->e);
	fs_free(c->contracted);
	fs_free(c->level);
	fs_free(c->dist);
	fs_free(c->stamp);
	fs_free(c->target_stamp);
	fs_free(c->hops);
	fs_free(c->heap.a);
	fs_free(c->pq);
	fs_free(c->pq_pos);
	fs_free(c->prio);
	fs_free(c->nbr);
}

static void ch_free(struct ch *ch)
{
	fs_free(ch->id_of);
	fs_free(ch->node_of);
	fs_free(ch->up_first);
	fs_free(ch->up);
	fs_free(ch->down_first);
	fs_free(ch->down);
	fs_free(ch->edges);
	memset(ch, 0, sizeof(*ch));
}

/* Turn the contracted graph (ranks in contraction order) into the query graph. */
static int ch_assemble(struct ch *ch, struct ctr *c, const uint32_t *rank)
{
	uint32_t n = c->n;
	ch->n = n;
	ch->edge_count = c->m;
	ch->id_of = fs_malloc(((size_t)n + 1) * sizeof(uint32_t));
	ch->node_of = fs_malloc(((size_t)n + 1) * sizeof(uint32_t));
	ch->up_first = fs_calloc((size_t)n + 1, sizeof(uint32_t));
	ch->down_first = fs_calloc((size_t)n + 1, sizeof(uint32_t));
	ch->edges = fs_malloc(((size_t)c->m + 1) * sizeof(struct ch_edge));
	ch->up = fs_malloc(((size_t)c->m + 1) * sizeof(struct arc));
	ch->down = fs_malloc(((size_t)c->m + 1) * sizeof(struct arc));
	uint32_t *fill = fs_malloc(((size_t)n + 1) * sizeof(uint32_t));
	if (!ch->id_of || !ch->node_of || !ch->up_first || !ch->down_first || !ch->edges ||
	    !ch->up || !ch->down || !fill) {
		fs_free(fill);
		return -ENOMEM;
	}
	for (uint32_t v = 0; v < n; v++) {
		ch->id_of[v] = n - 1 - rank[v];
		ch->node_of[n - 1 - rank[v]] = v;
	}
	for (uint32_t i = 0; i < c->m; i++) {
		const struct cedge *e = &c->e[i];
		uint32_t from = ch->id_of[e->from], to = ch->id_of[e->to];
		ch->edges[i] = (struct ch_edge){ from, to, e->a, e->b };
		if (from > to) {
			ch->up_first[from + 1]++; /* to is higher: an upward arc of from */
		} else {
			ch->down_first[to + 1]++; /* from is higher: a down arc stored at to */
		}
		ch->shortcuts += e->b != NONE;
	}
	for (uint32_t v = 0; v < n; v++) {
		ch->up_first[v + 1] += ch->up_first[v];
		ch->down_first[v + 1] += ch->down_first[v];
	}
	memcpy(fill, ch->up_first, n * sizeof(uint32_t));
	for (uint32_t i = 0; i < c->m; i++) {
		const struct ch_edge *e = &ch->edges[i];
		if (e->from > e->to) {
			ch->up[fill[e->from]++] = (struct arc){ e->to, i, c->e[i].w };
		}
	}
	memcpy(fill, ch->down_first, n * sizeof(uint32_t));
	for (uint32_t i = 0; i < c->m; i++) {
		const struct ch_edge *e = &ch->edges[i];
		if (e->from < e->to) {
			ch->down[fill[e->to]++] = (struct arc){ e->from, i, c->e[i].w };
		}
	}
	fs_free(fill);
	return 0;
}

static int ch_build(struct ch *ch, const struct fs_network *net, const double *class_weight,
		    uint32_t settle_limit, uint32_t hop_limit, bool surface_only)
{
	struct ctr c = { .n = net->node_count, .settle_limit = settle_limit, .hop_limit = hop_limit };
	uint32_t n = c.n;
	uint32_t *rank = NULL;
	int rc = -ENOMEM;
	memcpy(ch->class_weight, class_weight, sizeof(ch->class_weight));
	c.out = fs_calloc((size_t)n + 1, sizeof(*c.out));
	c.in = fs_calloc((size_t)n + 1, sizeof(*c.in));
	c.contracted = fs_calloc((size_t)n + 1, 1);
	c.level = fs_calloc((size_t)n + 1, sizeof(*c.level));
	c.dist = fs_malloc(((size_t)n + 1) * sizeof(*c.dist));
	c.stamp = fs_calloc((size_t)n + 1, sizeof(*c.stamp));
	c.target_stamp = fs_calloc((size_t)n + 1, sizeof(*c.target_stamp));
	c.hops = fs_calloc((size_t)n + 1, sizeof(*c.hops));
	c.pq = fs_malloc(((size_t)n + 1) * sizeof(*c.pq));
	c.pq_pos = fs_malloc(((size_t)n + 1) * sizeof(*c.pq_pos));
	c.prio = fs_malloc(((size_t)n + 1) * sizeof(*c.prio));
	c.nbr = fs_malloc(((size_t)n + 1) * sizeof(*c.nbr));
	rank = fs_malloc(((size_t)n + 1) * sizeof(*rank));
	if (!c.out || !c.in || !c.contracted || !c.level || !c.dist || !c.stamp ||
	    !c.target_stamp || !c.hops ||
	    !c.pq || !c.pq_pos || !c.prio || !c.nbr || !rank) {
		goto out;
	}
	/* Original edges; parallel edges keep the fastest, loops are useless. */
	for (uint32_t e = 0; e < net->edge_count; e++) {
		const struct fs_edge *edge = &net->edges[e];
		if (edge->from == edge->to || (surface_only && fs_road_is_motorway(edge->road_class))) {
			continue;
		}
		double w = (double)edge->travel_time_s * class_weight[edge->road_class];
		if (ctr_add_or_improve(&c, edge->from, edge->to, w, e, NONE, 1) < 0) {
			goto out;
		}
	}
	for (uint32_t v = 0; v < n; v++) {
		if (ctr_priority(&c, v, &c.prio[v]) < 0) {
			goto out;
		}
		pq_place(&c, c.pq, v, v);
	}
	c.pq_n = n;
	for (uint32_t i = n / 2; i-- > 0;) {
		pq_down(&c, c.pq, c.pq_n, i);
	}
	for (uint32_t next = 0; next < n; next++) {
		uint32_t v = pq_pop(&c, c.pq, &c.pq_n);
		struct sim s;
		if (ctr_process(&c, v, true, &s) < 0) {
			goto out;
		}
		rank[v] = next;
		c.contracted[v] = 1;
		/* Detach v and collect its neighbours (each once). */
		uint32_t nn = 0;
		for (uint32_t i = 0; i < c.in[v].n; i++) {
			uint32_t u = c.in[v].a[i].other;
			vec_remove(&c.out[u], c.in[v].a[i].id);
			c.nbr[nn++] = u;
		}
		for (uint32_t j = 0; j < c.out[v].n; j++) {
			uint32_t w = c.out[v].a[j].other;
			vec_remove(&c.in[w], c.out[v].a[j].id);
			c.nbr[nn++] = w;
		}
		for (uint32_t k = 0; k < nn; k++) {
			uint32_t x = c.nbr[k];
			if (c.contracted[x]) {
				continue;
			}
			c.contracted[x] = 2; /* seen: update once */
			if (c.level[x] < c.level[v] + 1) {
				c.level[x] = c.level[v] + 1;
			}
		}
		for (uint32_t k = 0; k < nn; k++) {
			uint32_t x = c.nbr[k];
			if (c.contracted[x] != 2) {
				continue;
			}
			c.contracted[x] = 0;
			double old = c.prio[x];
			if (ctr_priority(&c, x, &c.prio[x]) < 0) {
				goto out;
			}
			if (c.prio[x] < old) {
				pq_up(&c, c.pq, c.pq_pos[x]);
			} else {
				pq_down(&c, c.pq, c.pq_n, c.pq_pos[x]);
			}
		}
		fs_free(c.in[v].a);
		fs_free(c.out[v].a);
		c.in[v] = c.out[v] = (struct vec){ 0 };
	}
	rc = ch_assemble(ch, &c, rank);
out:
	fs_free(rank);
	ctr_free(&c);
	if (rc < 0) {
		ch_free(ch);
	}
	return rc;
}

/* ---- router ------------------------------------------------------------------- */

void fs_router_options_defaults(struct fs_router_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	for (int h = 0; h < FS_ROUTE_HOURS; h++) {
		for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
			opts->time_factor[h][c] = 1.0; /* free flow until a scenario says otherwise */
		}
	}
	opts->witness_settle_limit = 500; /* see docs/world.md: build time vs. shortcuts */
	opts->witness_hop_limit = 8;
	opts->uturn_penalty_s = 20.0; /* OSRM profiles/car.lua: properties.u_turn_penalty */
}

void fs_router_options_set_hourly(struct fs_router_options *opts,
				  const double factor[FS_ROUTE_HOURS])
{
	for (int h = 0; h < FS_ROUTE_HOURS; h++) {
		for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
			opts->time_factor[h][c] = factor[h];
		}
	}
}

void fs_router_destroy(struct fs_router *router)
{
	if (!router) {
		return;
	}
	for (uint32_t i = 0; i < router->ch_count; i++) {
		ch_free(&router->ch[i]);
	}
	fs_free(router);
}

struct fs_router *fs_router_create(const struct fs_network *net,
				   const struct fs_router_options *opts, struct fs_error *err)
{
	struct fs_router_options defaults;
	if (!opts) {
		fs_router_options_defaults(&defaults);
		opts = &defaults;
	}
	if (opts->witness_settle_limit == 0 || opts->witness_hop_limit == 0 ||
	    opts->witness_hop_limit > UINT16_MAX) {
		fs_error_set(err, -EINVAL, "router: witness limits must be positive");
		return NULL;
	}
	if (!(opts->uturn_penalty_s >= 0.0) || !isfinite(opts->uturn_penalty_s)) {
		fs_error_set(err, -EINVAL, "router: U-turn penalty %g s is not a number >= 0", opts->uturn_penalty_s);
		return NULL;
	}
	for (int h = 0; h < FS_ROUTE_HOURS; h++) {
		for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
			double f = opts->time_factor[h][c];
			if (!(f > 0.0) || !isfinite(f)) {
				fs_error_set(err, -EINVAL,
					     "router: time factor for hour %d, road class %d is %g, "
					     "not a positive number",
					     h, c, f);
				return NULL;
			}
		}
	}
	struct fs_router *r = fs_calloc(1, sizeof(*r));
	if (!r) {
		fs_error_set(err, -ENOMEM, "router: out of memory");
		return NULL;
	}
	r->net = net;
	r->opts = *opts;
	for (uint32_t v = 0; v < net->node_count; v++) {
		uint32_t out = net->out_first[v + 1] - net->out_first[v], in = net->in_first[v + 1] - net->in_first[v];
		r->max_degree = out > r->max_degree ? out : r->max_degree;
		r->max_degree = in > r->max_degree ? in : r->max_degree;
		r->transitions += (uint64_t)in * out;
	}
	/* Group hours whose factor vectors are proportional: shape = factors / max. */
	double shape[FS_ROUTE_HOURS][FS_ROAD_CLASS_COUNT];
	for (int h = 0; h < FS_ROUTE_HOURS; h++) {
		double scale = 0.0;
		for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
			scale = fmax(scale, opts->time_factor[h][c]);
		}
		for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
			shape[h][c] = opts->time_factor[h][c] / scale;
		}
		r->hour_scale[h] = scale;
		uint32_t g = 0;
		for (; g < r->ch_count; g++) {
			bool same = true;
			for (int c = 0; c < FS_ROAD_CLASS_COUNT && same; c++) {
				same = fabs(shape[h][c] - r->ch[g].class_weight[c]) <=
				       SAME_SHAPE_TOLERANCE * shape[h][c];
			}
			if (same) {
				break;
			}
		}
		if (g == r->ch_count) {
			if (ch_build(&r->ch[g], net, shape[h], opts->witness_settle_limit,
				     opts->witness_hop_limit, opts->surface_only) < 0) {
				fs_error_set(err, -ENOMEM, "router: out of memory");
				fs_router_destroy(r);
				return NULL;
			}
			r->ch_count++;
			uint32_t n = r->ch[g].n;
			if (r->ch[g].up_first[n] > r->max_arcs) {
				r->max_arcs = r->ch[g].up_first[n];
			}
			if (r->ch[g].down_first[n] > r->max_arcs) {
				r->max_arcs = r->ch[g].down_first[n];
			}
		}
		r->hour_ch[h] = (uint8_t)g;
	}
	return r;
}

uint32_t fs_router_hierarchy_count(const struct fs_router *router)
{
	return router->ch_count;
}

uint64_t fs_router_shortcut_count(const struct fs_router *router)
{
	uint64_t total = 0;
	for (uint32_t i = 0; i < router->ch_count; i++) {
		total += router->ch[i].shortcuts;
	}
	return total;
}

/* ---- queries ------------------------------------------------------------------ */

/* Where a hierarchy search starts: query id @node, at @w (hierarchy units), from end state @state. */
struct seed {
	uint32_t node;
	uint32_t state;
	double w;
};

/*
 * An edge within SEED_DEPTH edges of a route's first (or last) edge, reached
 * turn by turn: forward, @t is the time from the end of the first edge to
 * the end of @edge; backward, from the start of @edge to the start of the
 * last one. @parent is the state it continues (forward) or leads into
 * (backward), NONE next to the end edge.
 */
struct end_state {
	uint32_t edge;
	uint32_t parent;
	double t;
};

struct fs_route_query {
	const struct fs_router *r;
	uint32_t n;
	double *df, *db;     /* tentative distances, valid where the stamp matches */
	uint32_t *sf, *sb;   /* stamps */
	uint32_t rf, rb;     /* current rounds */
	uint32_t *pf, *pb;   /* parent edge (hierarchy edge, or network edge for Dijkstra) */
	struct lheap hf, hb;
	double *sweep;       /* PHAST distances, query ids */
	uint32_t *stack;     /* path unpacking */
	uint32_t *chain;
	const uint8_t *avoid;/* closed edges (fs_route_query_avoid), or NULL */
	struct fs_path scratch; /* the hierarchy's route, to check its turns and against @avoid */
	/* turn by turn: Dijkstra over edges, a label per edge */
	double *de;
	uint32_t *se, *pe;
	uint32_t re;
	struct lheap he;
	struct end_state *fst, *bst; /* the turns near a route's ends, exactly */
	struct seed *fseed, *bseed;  /* where the hierarchy takes over from them */
	struct fs_route_stats stats;
};

void fs_route_query_avoid(struct fs_route_query *q, const uint8_t *edge_closed)
{
	q->avoid = edge_closed;
}

const uint8_t *fs_route_query_avoided(const struct fs_route_query *q)
{
	return q->avoid;
}

struct fs_route_stats fs_route_query_stats(const struct fs_route_query *q)
{
	return q->stats;
}

void fs_route_query_destroy(struct fs_route_query *q)
{
	if (!q) {
		return;
	}
	fs_free(q->df);
	fs_free(q->db);
	fs_free(q->sf);
	fs_free(q->sb);
	fs_free(q->pf);
	fs_free(q->pb);
	fs_free(q->hf.a);
	fs_free(q->hb.a);
	fs_free(q->sweep);
	fs_free(q->stack);
	fs_free(q->chain);
	fs_path_finish(&q->scratch);
	fs_free(q->de);
	fs_free(q->se);
	fs_free(q->pe);
	fs_free(q->he.a);
	fs_free(q->fst);
	fs_free(q->bst);
	fs_free(q->fseed);
	fs_free(q->bseed);
	fs_free(q);
}

struct fs_route_query *fs_route_query_create(const struct fs_router *router)
{
	struct fs_route_query *q = fs_calloc(1, sizeof(*q));
	if (!q) {
		return NULL;
	}
	size_t n = (size_t)router->net->node_count + 1;
	q->r = router;
	q->n = router->net->node_count;
	q->df = fs_malloc(n * sizeof(double));
	q->db = fs_malloc(n * sizeof(double));
	q->sf = fs_calloc(n, sizeof(uint32_t));
	q->sb = fs_calloc(n, sizeof(uint32_t));
	q->pf = fs_malloc(n * sizeof(uint32_t));
	q->pb = fs_malloc(n * sizeof(uint32_t));
	q->sweep = fs_malloc(n * sizeof(double));
	size_t m = (size_t)router->net->edge_count + 1;
	q->stack = fs_malloc(2 * n * sizeof(uint32_t));
	q->chain = fs_malloc((n + m) * sizeof(uint32_t)); /* a turn-by-turn path may pass a node twice */
	q->de = fs_malloc(m * sizeof(double));
	q->se = fs_calloc(m, sizeof(uint32_t));
	q->pe = fs_malloc(m * sizeof(uint32_t));
	size_t d = router->max_degree, states = d + d * d + 1; /* SEED_DEPTH 2 */
	q->fst = fs_malloc(states * sizeof(*q->fst));
	q->bst = fs_malloc(states * sizeof(*q->bst));
	q->fseed = fs_malloc(states * sizeof(*q->fseed));
	q->bseed = fs_malloc(states * sizeof(*q->bseed));
	/* A lazy heap holds at most one entry per relaxed arc (or turn) plus the sources. */
	uint64_t cap = (uint64_t)router->max_arcs + router->net->edge_count + 2;
	uint64_t cap_e = router->transitions + router->net->edge_count + 2;
	if (!q->df || !q->db || !q->sf || !q->sb || !q->pf || !q->pb || !q->sweep || !q->stack ||
	    !q->chain || !q->de || !q->se || !q->pe || !q->fst || !q->bst || !q->fseed || !q->bseed ||
	    heap_reserve(&q->hf, cap) < 0 ||
	    heap_reserve(&q->hb, cap) < 0 || heap_reserve(&q->he, cap_e) < 0) {
		fs_route_query_destroy(q);
		return NULL;
	}
	return q;
}

void fs_path_finish(struct fs_path *path)
{
	fs_free(path->edges);
	*path = (struct fs_path){ 0 };
}

static int path_push(struct fs_path *path, uint32_t edge)
{
	if (FS_GROW(path->edges, path->capacity, (size_t)path->count + 1) < 0) {
		return -ENOMEM;
	}
	path->edges[path->count++] = edge;
	return 0;
}

static void new_round(uint32_t *round, uint32_t *stamps, uint32_t n)
{
	if (++*round == 0) {
		memset(stamps, 0, (size_t)n * sizeof(*stamps));
		*round = 1;
	}
}

/*
 * One direction of an upward search: forward ones follow the up arcs and are
 * stalled by the down arcs (stored at the lower end, they lead up against the
 * search's direction); backward ones the other way round.
 */
struct side {
	struct lheap *heap;
	double *dist;
	uint32_t *stamp, *parent; /* parent: NULL once the seeds are planted, for a search of times only */
	uint32_t round;
	const uint32_t *own_first, *stall_first;
	const struct arc *own, *stall;
};

/* Start @forward's side of a search on @ch at @seeds (several on one node keep the least weight). */
static struct side side_start(struct fs_route_query *q, const struct ch *ch, bool forward, const struct seed *seeds,
			      uint32_t count)
{
	struct side sd = {
		.heap = forward ? &q->hf : &q->hb,
		.dist = forward ? q->df : q->db,
		.stamp = forward ? q->sf : q->sb,
		.parent = forward ? q->pf : q->pb,
		.own_first = forward ? ch->up_first : ch->down_first,
		.own = forward ? ch->up : ch->down,
		.stall_first = forward ? ch->down_first : ch->up_first,
		.stall = forward ? ch->down : ch->up,
	};
	uint32_t *round = forward ? &q->rf : &q->rb;
	new_round(round, sd.stamp, q->n);
	sd.round = *round;
	sd.heap->n = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t v = seeds[i].node;
		if (sd.stamp[v] != sd.round || seeds[i].w < sd.dist[v]) {
			sd.dist[v] = seeds[i].w;
			sd.stamp[v] = sd.round;
			sd.parent[v] = NONE;
			heap_push(sd.heap, seeds[i].w, v);
		}
	}
	return sd;
}

/* The side as a finished search left it, to meet from the other side. */
static struct side side_done(struct fs_route_query *q, bool forward)
{
	return (struct side){ .dist = forward ? q->df : q->db, .stamp = forward ? q->sf : q->sb,
			      .round = forward ? q->rf : q->rb };
}

/* A popped label that a shorter one of the same node came before. */
static inline bool stale(const struct side *sd, struct qitem it)
{
	return it.key > sd->dist[it.node];
}

/* Node @it reached from one side meets @other's search: keep the shorter meeting. */
static inline void meet_at(const struct side *other, struct qitem it, double *best, uint32_t *meet)
{
	if (other->stamp[it.node] == other->round && it.key + other->dist[it.node] < *best) {
		*best = it.key + other->dist[it.node];
		*meet = it.node;
	}
}

/* Settle @it: unless a shorter path reaches it from above (stall on demand), relax its arcs.
 * Forced inline (as meet_step()): it is the searches' inner loop, and GCC otherwise calls
 * it, which costs them 1-2 % more instructions (callgrind, bench-sized queries on Atlanta). */
static inline __attribute__((always_inline)) void expand(struct side *sd, struct qitem it)
{
	uint32_t u = it.node;
	for (uint32_t i = sd->stall_first[u]; i < sd->stall_first[u + 1]; i++) {
		const struct arc *a = &sd->stall[i];
		if (sd->stamp[a->head] == sd->round && sd->dist[a->head] + a->w < it.key) {
			return;
		}
	}
	for (uint32_t i = sd->own_first[u]; i < sd->own_first[u + 1]; i++) {
		const struct arc *a = &sd->own[i];
		double nd = it.key + a->w;
		if (sd->stamp[a->head] != sd->round || nd < sd->dist[a->head]) {
			sd->dist[a->head] = nd;
			sd->stamp[a->head] = sd->round;
			if (sd->parent) {
				sd->parent[a->head] = a->edge;
			}
			heap_push(sd->heap, nd, a->head);
		}
	}
}

/* Settle the least label of @me's queue, meeting @other's search on the way. */
static inline __attribute__((always_inline)) void meet_step(struct side *me, const struct side *other,
							   double *best, uint32_t *meet)
{
	struct qitem it = heap_pop(me->heap);
	if (!stale(me, it)) {
		meet_at(other, it, best, meet);
		expand(me, it);
	}
}

/*
 * Bidirectional upward search from the forward seeds @fs to the backward
 * seeds @bs (query ids); sets *ret_meet (NONE if they never meet).
 */
static double ch_search(struct fs_route_query *q, const struct ch *ch, const struct seed *fs, uint32_t nf,
			const struct seed *bs, uint32_t nb, uint32_t *ret_meet)
{
	struct side f = side_start(q, ch, true, fs, nf), b = side_start(q, ch, false, bs, nb);
	double best = INFINITY;
	uint32_t meet = NONE;
	while (f.heap->n || b.heap->n) {
		double min_f = f.heap->n ? f.heap->a[0].key : INFINITY;
		double min_b = b.heap->n ? b.heap->a[0].key : INFINITY;
		if (fmin(min_f, min_b) >= best) {
			break;
		}
		/* two calls, not one through a pointer chosen here: each side stays in registers */
		if (min_f <= min_b) {
			meet_step(&f, &b, &best, &meet);
		} else {
			meet_step(&b, &f, &best, &meet);
		}
	}
	*ret_meet = meet;
	return best;
}

/* ch_search() between the query ids @s and @t. */
static double ch_distance(struct fs_route_query *q, const struct ch *ch, uint32_t s, uint32_t t,
			  uint32_t *ret_meet)
{
	struct seed from = { s, NONE, 0.0 }, to = { t, NONE, 0.0 };
	return ch_search(q, ch, &from, 1, &to, 1, ret_meet);
}

static int unpack_edge(struct fs_route_query *q, const struct ch *ch, uint32_t edge,
		       struct fs_path *path)
{
	uint32_t sp = 0;
	q->stack[sp++] = edge;
	while (sp) {
		const struct ch_edge *e = &ch->edges[q->stack[--sp]];
		if (e->b == NONE) {
			if (path_push(path, e->a) < 0) {
				return -ENOMEM;
			}
		} else {
			q->stack[sp++] = e->b;
			q->stack[sp++] = e->a;
		}
	}
	return 0;
}

/* Unpack the route through @meet into @path; the roots of both searches (the
 * seeds it started from) into *@ret_first and *@ret_last. */
static int ch_unpack(struct fs_route_query *q, const struct ch *ch, uint32_t meet, struct fs_path *path,
		     uint32_t *ret_first, uint32_t *ret_last)
{
	uint32_t k = 0, x = meet;
	for (; q->pf[x] != NONE; x = ch->edges[q->pf[x]].from) {
		q->chain[k++] = q->pf[x];
	}
	*ret_first = x;
	while (k) {
		if (unpack_edge(q, ch, q->chain[--k], path) < 0) {
			return -ENOMEM;
		}
	}
	for (x = meet; q->pb[x] != NONE; x = ch->edges[q->pb[x]].to) {
		if (unpack_edge(q, ch, q->pb[x], path) < 0) {
			return -ENOMEM;
		}
	}
	*ret_last = x;
	return 0;
}

/* The roots of both searches of the route through @meet (ch_unpack() without the path). */
static void ch_roots(const struct fs_route_query *q, const struct ch *ch, uint32_t meet, uint32_t *ret_first,
		     uint32_t *ret_last)
{
	uint32_t x = meet;
	for (; q->pf[x] != NONE; x = ch->edges[q->pf[x]].from) {
	}
	*ret_first = x;
	for (x = meet; q->pb[x] != NONE; x = ch->edges[q->pb[x]].to) {
	}
	*ret_last = x;
}

/* ---- turns ------------------------------------------------------------------- */

/* Seconds to drive all of @edge at @hour. */
static double edge_seconds(const struct fs_router *r, uint32_t hour, uint32_t edge)
{
	const struct fs_edge *e = &r->net->edges[edge];
	return (double)e->travel_time_s * r->opts.time_factor[hour][e->road_class];
}

/* Time to drive @edge from @from_m to @to_m metres along it at @hour. */
static double edge_time(const struct fs_router *r, uint32_t hour, uint32_t edge, double from_m,
			double to_m)
{
	const struct fs_edge *e = &r->net->edges[edge];
	if (!(e->length_m > 0.0f)) {
		return 0.0;
	}
	return (to_m - from_m) / e->length_m * edge_seconds(r, hour, edge);
}

static double clamp_offset(const struct fs_network *net, struct fs_road_pos p)
{
	double len = net->edges[p.edge].length_m;
	return isnan(p.offset_m) ? 0.0 : fmin(len, fmax(0.0, p.offset_m));
}

/* May a traveller at the end of @a go on along @b (which starts there)? */
static bool turn_ok(const struct fs_router *r, uint32_t a, uint32_t b)
{
	return r->opts.ignore_banned_turns || fs_network_turn_allowed(r->net, a, b);
}

static bool is_uturn(const struct fs_network *net, uint32_t a, uint32_t b)
{
	return net->edges[b].to == net->edges[a].from;
}

/* Seconds the turn from @a onto @b costs: the U-turn penalty when @b leads back where @a came from. */
static double turn_seconds(const struct fs_router *r, uint32_t a, uint32_t b)
{
	return is_uturn(r->net, a, b) ? r->opts.uturn_penalty_s : 0.0;
}

static bool avoided(const struct fs_route_query *q, uint32_t edge)
{
	return (q->avoid && q->avoid[edge]) ||
	       (q->r->opts.surface_only && fs_road_is_motorway(q->r->net->edges[edge].road_class));
}

/* Edge @edge is reached at its end at @t over @parent; @estimate is what is left at least. */
static void label_edge(struct fs_route_query *q, uint32_t edge, double t, uint32_t parent, double estimate)
{
	q->de[edge] = t;
	q->se[edge] = q->re;
	q->pe[edge] = parent;
	heap_push(&q->he, t + estimate, edge);
}

/* Append the edges of the search tree from its root to @last (inclusive) to @path. */
static int push_chain(struct fs_route_query *q, uint32_t last, struct fs_path *path)
{
	uint32_t k = 0;
	for (uint32_t x = last; x != NONE; x = q->pe[x]) {
		q->chain[k++] = x;
	}
	while (k) {
		if (path_push(path, q->chain[--k]) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

static void upward_search(struct fs_route_query *q, const struct ch *ch, const struct seed *seeds, uint32_t count,
			  bool forward);
static void phast_sweep(struct fs_route_query *q, const struct ch *ch, bool forward);

/*
 * Lower bounds for a search towards node @t: the hierarchy's times (turns
 * ignored) from every node to @t, into q->sweep (hierarchy units).
 */
static void times_to(struct fs_route_query *q, const struct ch *ch, uint32_t t)
{
	struct seed root = { ch->id_of[t], NONE, 0.0 };
	upward_search(q, ch, &root, 1, false);
	phast_sweep(q, ch, false);
}

/*
 * Turn by turn: Dijkstra over edges, an edge's label the time at its end.
 * From the end of @src_edge (time 0), or, when it is NONE, along any edge out
 * of node @src_node; to the start of @dst_edge (entered by an allowed turn),
 * or, when it is NONE, to the end of an edge into node @dst_node. Banned
 * turns are never taken, U-turns pay their penalty, avoided edges are
 * skipped (but @dst_edge). @path (may be NULL) gets the edges driven,
 * @src_edge and @dst_edge included. @guided makes it an A* search whose
 * estimate is the hierarchy's time (turns ignored: a lower bound, and
 * consistent) from an edge's end to the destination, so it settles little
 * more than the routes within the turns' extra cost of the fastest.
 */
static int turn_search(struct fs_route_query *q, uint32_t hour, uint32_t src_edge, uint32_t src_node,
		       uint32_t dst_edge, uint32_t dst_node, bool guided, double *ret_time_s, struct fs_path *path)
{
	const struct fs_router *r = q->r;
	const struct fs_network *net = r->net;
	const struct ch *ch = &r->ch[r->hour_ch[hour]];
	const double scale = r->hour_scale[hour];
	if (guided) {
		times_to(q, ch, dst_edge != NONE ? net->edges[dst_edge].from : dst_node);
	}
#define ESTIMATE(e) (guided ? q->sweep[ch->id_of[net->edges[e].to]] * scale : 0.0)
	new_round(&q->re, q->se, net->edge_count);
	q->he.n = 0;
	if (src_edge != NONE) {
		label_edge(q, src_edge, 0.0, NONE, ESTIMATE(src_edge));
	} else {
		for (uint32_t e = net->out_first[src_node]; e < net->out_first[src_node + 1]; e++) {
			double t = edge_seconds(r, hour, e);
			if (!avoided(q, e) && (q->se[e] != q->re || t < q->de[e])) {
				label_edge(q, e, t, NONE, ESTIMATE(e));
			}
		}
	}
	double best = INFINITY;
	uint32_t last = NONE;
	while (q->he.n) {
		struct qitem it = heap_pop(&q->he);
		uint32_t e = it.node;
		double at_end = q->de[e];
		if (it.key > at_end + ESTIMATE(e)) {
			continue;
		}
		if (it.key >= best) {
			break;
		}
		uint32_t v = net->edges[e].to;
		if (dst_edge == NONE && v == dst_node) {
			best = at_end;
			last = e;
			break;
		}
		for (uint32_t f = net->out_first[v]; f < net->out_first[v + 1]; f++) {
			if (!turn_ok(r, e, f)) {
				continue;
			}
			double at = at_end + turn_seconds(r, e, f);
			if (f == dst_edge && at < best) {
				best = at;
				last = e;
			}
			double t = at + edge_seconds(r, hour, f), h = ESTIMATE(f);
			if (!avoided(q, f) && !isinf(h) && (q->se[f] != q->re || t < q->de[f])) {
				label_edge(q, f, t, e, h);
			}
		}
	}
#undef ESTIMATE
	if (last == NONE) {
		return -ENOENT;
	}
	if (path && (push_chain(q, last, path) < 0 || (dst_edge != NONE && path_push(path, dst_edge) < 0))) {
		return -ENOMEM;
	}
	*ret_time_s = best;
	return 0;
}

/* Does @path[first, last) take a banned turn, an uncharged U-turn or an avoided edge? */
static bool needs_turn_search(const struct fs_route_query *q, const struct fs_path *path, uint32_t first,
			      uint32_t last)
{
	const struct fs_router *r = q->r;
	for (uint32_t i = first; i < last; i++) {
		uint32_t e = path->edges[i];
		if (avoided(q, e)) {
			return true;
		}
		if (i > first && (!turn_ok(r, path->edges[i - 1], e) ||
				  (r->opts.uturn_penalty_s > 0.0 && is_uturn(r->net, path->edges[i - 1], e)))) {
			return true;
		}
	}
	return false;
}

/* Check a node-to-node query and answer it if there is nothing to search: -EINVAL, 1 (done) or 0. */
static int nodes_trivial(const struct fs_route_query *q, uint32_t hour, uint32_t from, uint32_t to,
			 double *ret_time_s, struct fs_path *path)
{
	if (hour >= FS_ROUTE_HOURS || from >= q->n || to >= q->n) {
		return -EINVAL;
	}
	if (path) {
		path->count = 0;
	}
	if (from == to) {
		*ret_time_s = 0.0;
		return 1;
	}
	return 0;
}

int fs_route_nodes(struct fs_route_query *q, uint32_t hour, uint32_t from, uint32_t to,
		   double *ret_time_s, struct fs_path *path)
{
	const struct fs_router *r = q->r;
	int rc = nodes_trivial(q, hour, from, to, ret_time_s, path);
	if (rc) {
		return rc < 0 ? rc : 0;
	}
	q->stats.routes++;
	const struct ch *ch = &r->ch[r->hour_ch[hour]];
	uint32_t meet, first, last;
	double d = ch_distance(q, ch, ch->id_of[from], ch->id_of[to], &meet);
	if (meet == NONE) {
		return -ENOENT; /* not even ignoring turns and closures */
	}
	/* A shortest node path passes no node twice: its turns can only be banned ones. */
	bool check = q->avoid || (r->net->banned_turn_count && !r->opts.ignore_banned_turns);
	struct fs_path *out = path ? path : check ? &q->scratch : NULL;
	if (out) {
		out->count = 0;
		if (ch_unpack(q, ch, meet, out, &first, &last) < 0) {
			return -ENOMEM;
		}
	}
	if (check && needs_turn_search(q, out, 0, out->count)) {
		q->stats.fallbacks++;
		out->count = 0;
		return turn_search(q, hour, NONE, from, NONE, to, true, ret_time_s, path);
	}
	*ret_time_s = d * r->hour_scale[hour];
	return 0;
}

/*
 * The edges within SEED_DEPTH (2) turns after @a (@forward) or before @a,
 * with exact times: banned turns skipped, U-turns charged, avoided edges left
 * out. A duplicate of an edge reached twice does no harm. Returns the count.
 */
static uint32_t end_states(struct fs_route_query *q, uint32_t hour, uint32_t a, bool forward, struct end_state *st)
{
	const struct fs_router *r = q->r;
	const struct fs_network *net = r->net;
	uint32_t n = 0;
	for (uint32_t depth = 0, begin = 0, end = 0; depth < 2; depth++, begin = end, end = n) {
		for (uint32_t i = depth ? begin : 0; depth ? i < end : i < 1; i++) {
			uint32_t from = depth ? st[i].edge : a, parent = depth ? i : NONE;
			double t0 = depth ? st[i].t : 0.0;
			uint32_t v = forward ? net->edges[from].to : net->edges[from].from;
			uint32_t first = forward ? net->out_first[v] : net->in_first[v];
			uint32_t last = forward ? net->out_first[v + 1] : net->in_first[v + 1];
			for (uint32_t k = first; k < last; k++) {
				uint32_t e = forward ? k : net->in_edges[k];
				uint32_t x = forward ? from : e, y = forward ? e : from; /* the turn x -> y */
				if (!avoided(q, e) && turn_ok(r, x, y)) {
					st[n++] = (struct end_state){ e, parent, t0 + edge_seconds(r, hour, e) + turn_seconds(r, x, y) };
				}
			}
		}
	}
	return n;
}

static int depth_of(const struct end_state *st, uint32_t i)
{
	int d = 0;
	for (; i != NONE; i = st[i].parent) {
		d++;
	}
	return d;
}

/* Append the forward states' edges up to state @i, in travel order. */
static int push_forward(struct fs_path *path, const struct end_state *st, uint32_t i)
{
	for (uint32_t k = i; k != NONE; k = st[k].parent) {
		if (path_push(path, NONE) < 0) {
			return -ENOMEM;
		}
	}
	for (uint32_t k = i, j = path->count; k != NONE; k = st[k].parent) {
		path->edges[--j] = st[k].edge;
	}
	return 0;
}

/* Append the backward states' edges from state @i on, in travel order. */
static int push_backward(struct fs_path *path, const struct end_state *st, uint32_t i)
{
	for (uint32_t k = i; k != NONE; k = st[k].parent) {
		if (path_push(path, st[k].edge) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* The state a search rooted at query id @node started from (the least weight there). */
static uint32_t seed_state(const struct seed *seeds, uint32_t count, uint32_t node)
{
	uint32_t best = NONE;
	double w = INFINITY;
	for (uint32_t i = 0; i < count; i++) {
		if (seeds[i].node == node && seeds[i].w < w) {
			w = seeds[i].w;
			best = seeds[i].state;
		}
	}
	return best;
}

/*
 * Seeds for the hierarchy where every route of more than four edges between
 * the ends leaves the end states @st (@n of them): those two turns deep,
 * at the far end of their edge (@forward) or its start. Returns the count.
 */
static uint32_t seeds_from(const struct fs_route_query *q, const struct ch *ch, uint32_t hour,
			   const struct end_state *st, uint32_t n, bool forward, struct seed *seeds)
{
	const struct fs_network *net = q->r->net;
	const double scale = q->r->hour_scale[hour];
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (st[i].parent != NONE) {
			const struct fs_edge *e = &net->edges[st[i].edge];
			seeds[k++] = (struct seed){ ch->id_of[forward ? e->to : e->from], i, st[i].t / scale };
		}
	}
	return k;
}

/*
 * The fastest way from the end of @a to the start of @b within the end
 * states alone (at most four edges between), exact; the states it ends and
 * starts with into *@ret_i and *@ret_j (NONE: @a or @b itself).
 */
static double pair_ends(const struct fs_route_query *q, uint32_t a, uint32_t nf, uint32_t b, uint32_t nb,
			uint32_t *ret_i, uint32_t *ret_j)
{
	const struct fs_router *r = q->r;
	const struct fs_network *net = r->net;
	double best = INFINITY;
	*ret_i = *ret_j = NONE;
	for (uint32_t i = 0; i <= nf; i++) { /* i == nf: @a itself */
		uint32_t e = i < nf ? q->fst[i].edge : a;
		for (uint32_t j = 0; j <= nb; j++) {
			uint32_t g = j < nb ? q->bst[j].edge : b;
			if (net->edges[e].to != net->edges[g].from || !turn_ok(r, e, g)) {
				continue;
			}
			double c = (i < nf ? q->fst[i].t : 0.0) + turn_seconds(r, e, g) + (j < nb ? q->bst[j].t : 0.0);
			if (c < best) {
				best = c;
				*ret_i = i < nf ? i : NONE;
				*ret_j = j < nb ? j : NONE;
			}
		}
	}
	return best;
}

/*
 * The fastest route from the end of edge @a to the start of edge @b, turns
 * at both included, into *@ret_time_s and @path (a, the edges between, b).
 * Near both ends every turn is taken exactly: the edges up to two turns
 * after @a and before @b (end_states()). Routes of at most four edges
 * between are their pairings; longer ones go through the hierarchy from the
 * forward states two turns deep to the backward ones. The hierarchy ignores
 * the turns in between and avoided edges, so its best is a lower bound:
 * exact when its route takes none of them (no banned turn, no U-turn, no
 * avoided edge), else the turn-by-turn search decides.
 */
static int route_between(struct fs_route_query *q, uint32_t hour, uint32_t a, uint32_t b, double *ret_time_s,
			 struct fs_path *path)
{
	const struct fs_router *r = q->r;
	const struct ch *ch = &r->ch[r->hour_ch[hour]];
	q->stats.routes++;
	uint32_t nf = end_states(q, hour, a, true, q->fst), nb = end_states(q, hour, b, false, q->bst);
	uint32_t bi, bj;
	double best = pair_ends(q, a, nf, b, nb, &bi, &bj);
	uint32_t nfs = seeds_from(q, ch, hour, q->fst, nf, true, q->fseed);
	uint32_t nbs = seeds_from(q, ch, hour, q->bst, nb, false, q->bseed);
	uint32_t meet = NONE, first, last;
	double mid = nfs && nbs ? ch_search(q, ch, q->fseed, nfs, q->bseed, nbs, &meet) * r->hour_scale[hour] : INFINITY;
	path->count = 0;
	if (path_push(path, a) < 0) {
		return -ENOMEM;
	}
	if (meet != NONE && mid < best) {
		ch_roots(q, ch, meet, &first, &last);
		uint32_t fi = seed_state(q->fseed, nfs, first), bk = seed_state(q->bseed, nbs, last);
		uint32_t df = (uint32_t)depth_of(q->fst, fi), db = (uint32_t)depth_of(q->bst, bk);
		if (push_forward(path, q->fst, fi) < 0 || ch_unpack(q, ch, meet, path, &first, &last) < 0 ||
		    push_backward(path, q->bst, bk) < 0 || path_push(path, b) < 0) {
			return -ENOMEM;
		}
		/* the turns from the last forward state to the first backward one were not charged */
		if (needs_turn_search(q, path, df, path->count - db)) {
			q->stats.fallbacks++;
			path->count = 0;
			return turn_search(q, hour, a, NONE, b, NONE, true, ret_time_s, path);
		}
		*ret_time_s = mid;
		return 0;
	}
	if (isinf(best)) {
		return -ENOENT;
	}
	if ((bi != NONE && push_forward(path, q->fst, bi) < 0) || (bj != NONE && push_backward(path, q->bst, bj) < 0) ||
	    path_push(path, b) < 0) {
		return -ENOMEM;
	}
	*ret_time_s = best;
	return 0;
}

int fs_route_positions(struct fs_route_query *q, uint32_t hour, struct fs_road_pos from,
		       struct fs_road_pos to, double *ret_time_s, struct fs_path *path)
{
	const struct fs_network *net = q->r->net;
	if (hour >= FS_ROUTE_HOURS || from.edge >= net->edge_count || to.edge >= net->edge_count) {
		return -EINVAL;
	}
	double a = clamp_offset(net, from), b = clamp_offset(net, to);
	if (from.edge == to.edge && a <= b) {
		if (path) {
			path->count = 0;
			if (path_push(path, from.edge) < 0) {
				return -ENOMEM;
			}
		}
		*ret_time_s = edge_time(q->r, hour, from.edge, a, b);
		return 0;
	}
	double middle;
	int rc = route_between(q, hour, from.edge, to.edge, &middle, path ? path : &q->scratch);
	if (rc < 0) {
		return rc;
	}
	*ret_time_s = edge_time(q->r, hour, from.edge, a, net->edges[from.edge].length_m) + middle +
		      edge_time(q->r, hour, to.edge, 0.0, b);
	return 0;
}

/* Full upward search from @seeds: forward along up arcs into df, or backward
 * along down arcs into db. Stall-on-demand leaves some distances as upper
 * bounds, which is all the pruned searches and the sweep need. */
static void upward_search(struct fs_route_query *q, const struct ch *ch, const struct seed *seeds, uint32_t count,
			  bool forward)
{
	struct side sd = side_start(q, ch, forward, seeds, count);
	sd.parent = NULL; /* times only: no path is unpacked */
	while (sd.heap->n) {
		struct qitem it = heap_pop(sd.heap);
		if (!stale(&sd, it)) {
			expand(&sd, it);
		}
	}
}

/* Upward search from @seeds in the direction opposite to the completed full
 * search, stopping once no meeting below the best so far is possible. */
static double pruned_search(struct fs_route_query *q, const struct ch *ch, const struct seed *seeds, uint32_t count,
			    bool forward)
{
	struct side other = side_done(q, !forward);
	struct side sd = side_start(q, ch, forward, seeds, count);
	sd.parent = NULL; /* times only: no path is unpacked */
	double best = INFINITY;
	uint32_t meet = NONE;
	while (sd.heap->n) {
		struct qitem it = heap_pop(sd.heap);
		if (it.key >= best) {
			break;
		}
		if (stale(&sd, it)) {
			continue;
		}
		meet_at(&other, it, &best, &meet);
		expand(&sd, it);
	}
	return best;
}

/* PHAST: complete the full upward search by a sweep from the top of the
 * hierarchy down. Backward (many-to-one): sweep[v] = min over up arcs v -> x
 * of w + sweep[x]; forward (one-to-many): min over down arcs x -> v. */
static void phast_sweep(struct fs_route_query *q, const struct ch *ch, bool forward)
{
	const uint32_t rd = forward ? q->rf : q->rb;
	const uint32_t *stamp = forward ? q->sf : q->sb;
	const double *dist = forward ? q->df : q->db;
	const uint32_t *first = forward ? ch->down_first : ch->up_first;
	const struct arc *arcs = forward ? ch->down : ch->up;
	double *sweep = q->sweep;
	for (uint32_t v = 0; v < ch->n; v++) {
		double d = stamp[v] == rd ? dist[v] : INFINITY;
		for (uint32_t i = first[v]; i < first[v + 1]; i++) {
			double via = sweep[arcs[i].head] + arcs[i].w;
			if (via < d) {
				d = via;
			}
		}
		sweep[v] = d;
	}
}

static bool use_sweep(uint32_t count, uint32_t n)
{
	return count >= PHAST_MIN_COUNT && (uint64_t)count * PHAST_NODES_PER_ENDPOINT >= n;
}

static int check_positions(const struct fs_network *net, uint32_t hour,
			   const struct fs_road_pos *pos, uint32_t count, struct fs_road_pos one)
{
	if (hour >= FS_ROUTE_HOURS || one.edge >= net->edge_count) {
		return -EINVAL;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (pos[i].edge >= net->edge_count) {
			return -EINVAL;
		}
	}
	return 0;
}

/* The least of the seeds' weights plus the PHAST sweep's time from (or to) their nodes. */
static double via_sweep(const struct fs_route_query *q, const struct seed *seeds, uint32_t count)
{
	double d = INFINITY;
	for (uint32_t i = 0; i < count; i++) {
		d = fmin(d, seeds[i].w + q->sweep[seeds[i].node]);
	}
	return d;
}

/*
 * Many-to-one and one-to-many take the turns near both ends exactly, as
 * route_between() does (end states, their pairings, the hierarchy between
 * the states two turns deep), and ignore those further in: lower bounds,
 * and exact for most routes. The fixed end's states seed one full upward
 * search (and the PHAST sweep); each other end its own pruned search.
 */
static int one_end_fixed(struct fs_route_query *q, uint32_t hour, struct fs_road_pos fixed, bool fixed_is_source,
			 const struct fs_road_pos *others, uint32_t count, double *ret_times_s)
{
	const struct fs_router *r = q->r;
	const struct fs_network *net = r->net;
	if (check_positions(net, hour, others, count, fixed) < 0) {
		return -EINVAL;
	}
	/* The source's states search forward (q->fst, q->fseed), the target's backward (q->bst, q->bseed). */
	const bool fwd = fixed_is_source;
	struct end_state *fixed_st = fwd ? q->fst : q->bst, *other_st = fwd ? q->bst : q->fst;
	struct seed *fixed_seed = fwd ? q->fseed : q->bseed, *other_seed = fwd ? q->bseed : q->fseed;
	const struct ch *ch = &r->ch[r->hour_ch[hour]];
	const double scale = r->hour_scale[hour];
	const double f = clamp_offset(net, fixed);
	/* the fixed end's own stretch: from the source to its edge's end, or from the target's edge's start */
	const double fixed_s = fwd ? edge_time(r, hour, fixed.edge, f, net->edges[fixed.edge].length_m)
				   : edge_time(r, hour, fixed.edge, 0.0, f);
	uint32_t nfixed = end_states(q, hour, fixed.edge, fwd, fixed_st);
	uint32_t nfixed_seeds = seeds_from(q, ch, hour, fixed_st, nfixed, fwd, fixed_seed);
	upward_search(q, ch, fixed_seed, nfixed_seeds, fwd);
	bool sweep = use_sweep(count, q->n);
	if (sweep) {
		phast_sweep(q, ch, fwd);
	}
	for (uint32_t i = 0; i < count; i++) {
		const struct fs_road_pos *other = &others[i];
		double o = clamp_offset(net, *other);
		double a = fwd ? f : o, b = fwd ? o : f;
		if (other->edge == fixed.edge && a <= b) {
			ret_times_s[i] = edge_time(r, hour, fixed.edge, a, b);
			continue;
		}
		uint32_t nother = end_states(q, hour, other->edge, !fwd, other_st), fi, bj;
		double best = fwd ? pair_ends(q, fixed.edge, nfixed, other->edge, nother, &fi, &bj)
				  : pair_ends(q, other->edge, nother, fixed.edge, nfixed, &fi, &bj);
		uint32_t nother_seeds = seeds_from(q, ch, hour, other_st, nother, !fwd, other_seed);
		double d = sweep ? via_sweep(q, other_seed, nother_seeds)
			   : nother_seeds && nfixed_seeds ? pruned_search(q, ch, other_seed, nother_seeds, !fwd)
			   : INFINITY;
		best = fmin(best, d * scale);
		if (isinf(best)) {
			ret_times_s[i] = INFINITY;
		} else if (fwd) {
			ret_times_s[i] = fixed_s + best + edge_time(r, hour, other->edge, 0.0, o);
		} else {
			ret_times_s[i] = edge_time(r, hour, other->edge, o, net->edges[other->edge].length_m) + best + fixed_s;
		}
	}
	return 0;
}

int fs_route_many_to_one(struct fs_route_query *q, uint32_t hour, const struct fs_road_pos *sources,
			 uint32_t count, struct fs_road_pos target, double *ret_times_s)
{
	return one_end_fixed(q, hour, target, false, sources, count, ret_times_s);
}

int fs_route_one_to_many(struct fs_route_query *q, uint32_t hour, struct fs_road_pos source,
			 const struct fs_road_pos *targets, uint32_t count, double *ret_times_s)
{
	return one_end_fixed(q, hour, source, true, targets, count, ret_times_s);
}

/* ---- reference Dijkstra ---------------------------------------------------------- */

int fs_router_dijkstra(struct fs_route_query *q, uint32_t hour, uint32_t from, uint32_t to,
		       double *ret_time_s, struct fs_path *path)
{
	int rc = nodes_trivial(q, hour, from, to, ret_time_s, path);
	if (rc) {
		return rc < 0 ? rc : 0;
	}
	return turn_search(q, hour, NONE, from, NONE, to, false, ret_time_s, path);
}

int fs_router_dijkstra_positions(struct fs_route_query *q, uint32_t hour, struct fs_road_pos from,
				 struct fs_road_pos to, double *ret_time_s, struct fs_path *path)
{
	const struct fs_network *net = q->r->net;
	if (hour >= FS_ROUTE_HOURS || from.edge >= net->edge_count || to.edge >= net->edge_count) {
		return -EINVAL;
	}
	double a = clamp_offset(net, from), b = clamp_offset(net, to);
	if (path) {
		path->count = 0;
	}
	if (from.edge == to.edge && a <= b) {
		if (path && path_push(path, from.edge) < 0) {
			return -ENOMEM;
		}
		*ret_time_s = edge_time(q->r, hour, from.edge, a, b);
		return 0;
	}
	double middle;
	int rc = turn_search(q, hour, from.edge, NONE, to.edge, NONE, false, &middle, path);
	if (rc < 0) {
		return rc;
	}
	*ret_time_s = edge_time(q->r, hour, from.edge, a, net->edges[from.edge].length_m) + middle +
		      edge_time(q->r, hour, to.edge, 0.0, b);
	return 0;
}

int fs_router_dijkstra_all(struct fs_route_query *q, uint32_t hour, uint32_t from,
			   double *ret_times_s)
{
	if (hour >= FS_ROUTE_HOURS || from >= q->n) {
		return -EINVAL;
	}
	const struct fs_network *net = q->r->net;
	double t;
	turn_search(q, hour, NONE, from, NONE, NONE, false, &t, NULL); /* no node NONE: searches everything */
	for (uint32_t v = 0; v < q->n; v++) {
		ret_times_s[v] = v == from ? 0.0 : INFINITY;
	}
	for (uint32_t e = 0; e < net->edge_count; e++) {
		uint32_t v = net->edges[e].to;
		if (q->se[e] == q->re && q->de[e] < ret_times_s[v]) {
			ret_times_s[v] = q->de[e];
		}
	}
	return 0;
}
