/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_geofence - ODD zones: point, segment, edge and route tests against
 * polygons with holes and multipolygons (GeoJSON files: loaders/).
 *
 * Design: each polygon keeps its edges (outer ring and holes together) and a
 * slab index: the polygon's y extent is cut into horizontal slabs and every
 * slab lists the edges whose y range meets it. A ray cast to +x from (x, y)
 * only crosses edges spanning y, and every such edge is listed in y's slab
 * (slab_of() is monotone, so an edge listed for [slab(min y), slab(max y)]
 * covers every y it spans). Even-odd over outer ring and holes together
 * gives "inside the outer ring and in no hole".
 *
 * A segment is inside a zone when both ends are and no piece between two
 * consecutive boundary contacts lies outside: the contacts (crossings,
 * touches and collinear overlaps) split the segment into pieces that each lie
 * wholly on one side, so testing each piece's midpoint is exact. This catches
 * a segment that leaves through a concave notch or passes over a hole.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/geofence.h"
#include "fs/grow.h"

#define MAX_SLABS 8192u

struct seg {
	double ax, ay, bx, by;
};

struct poly {
	double min_x, min_y, max_x, max_y;
	double area;
	struct seg *edges;
	uint32_t edge_count;
	uint32_t slab_count;
	double slab_y0, slab_scale;
	uint32_t *slab_first; /* slab_count + 1 */
	uint32_t *slab_edges;
};

struct fs_geofence_zone {
	int64_t id;
	char *name;
	size_t index;
	double min_x, min_y, max_x, max_y;
	double area;
	struct poly *polys;
	size_t poly_count;
};

struct fs_geofence {
	struct fs_projection proj;
	bool have_proj;
	struct fs_geofence_zone **zones;
	size_t count;
	size_t capacity;
};

/* ---- polygons ---- */

static uint32_t slab_of(const struct poly *p, double y)
{
	double s = floor((y - p->slab_y0) * p->slab_scale);
	if (!(s >= 0.0)) {
		return 0;
	}
	if (s >= (double)(p->slab_count - 1)) {
		return p->slab_count - 1;
	}
	return (uint32_t)s;
}

static void poly_finish(struct poly *p)
{
	fs_free(p->edges);
	fs_free(p->slab_first);
	fs_free(p->slab_edges);
}

static void set_slabs(struct poly *p, uint32_t count)
{
	p->slab_count = count;
	p->slab_y0 = p->min_y;
	double h = p->max_y - p->min_y;
	p->slab_scale = h > 0.0 ? (double)count / h : 0.0;
}

static int poly_index(struct poly *p)
{
	uint32_t e_count = p->edge_count;
	uint32_t slabs = e_count / 2;
	slabs = slabs < 1 ? 1 : slabs > MAX_SLABS ? MAX_SLABS : slabs;
	uint64_t total;
	/* Fewer slabs when long edges would be listed in too many of them. */
	for (;;) {
		set_slabs(p, slabs);
		total = 0;
		for (uint32_t i = 0; i < e_count; i++) {
			const struct seg *e = &p->edges[i];
			total += slab_of(p, fmax(e->ay, e->by)) - slab_of(p, fmin(e->ay, e->by)) + 1;
		}
		if (slabs == 1 || total <= 8ull * e_count + 64) {
			break;
		}
		slabs /= 2;
	}
	p->slab_first = fs_calloc((size_t)slabs + 1, sizeof(*p->slab_first));
	p->slab_edges = fs_malloc((size_t)total * sizeof(*p->slab_edges));
	if (!p->slab_first || !p->slab_edges) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < e_count; i++) {
		const struct seg *e = &p->edges[i];
		for (uint32_t s = slab_of(p, fmin(e->ay, e->by)); s <= slab_of(p, fmax(e->ay, e->by)); s++) {
			p->slab_first[s + 1]++;
		}
	}
	for (uint32_t s = 0; s < slabs; s++) {
		p->slab_first[s + 1] += p->slab_first[s];
	}
	uint32_t *fill = fs_malloc((size_t)slabs * sizeof(*fill));
	if (!fill) {
		return -ENOMEM;
	}
	memcpy(fill, p->slab_first, (size_t)slabs * sizeof(*fill));
	for (uint32_t i = 0; i < e_count; i++) {
		const struct seg *e = &p->edges[i];
		for (uint32_t s = slab_of(p, fmin(e->ay, e->by)); s <= slab_of(p, fmax(e->ay, e->by)); s++) {
			p->slab_edges[fill[s]++] = i;
		}
	}
	fs_free(fill);
	return 0;
}

static bool poly_contains(const struct poly *p, double x, double y)
{
	if (x < p->min_x || x > p->max_x || y < p->min_y || y > p->max_y) {
		return false;
	}
	uint32_t s = slab_of(p, y);
	bool inside = false;
	for (uint32_t k = p->slab_first[s]; k < p->slab_first[s + 1]; k++) {
		const struct seg *e = &p->edges[p->slab_edges[k]];
		if ((e->ay > y) != (e->by > y)) {
			double xi = e->ax + (y - e->ay) * (e->bx - e->ax) / (e->by - e->ay);
			if (x < xi) {
				inside = !inside;
			}
		}
	}
	return inside;
}

/* ---- zones ---- */

static void zone_free(struct fs_geofence_zone *z)
{
	if (!z) {
		return;
	}
	for (size_t i = 0; i < z->poly_count; i++) {
		poly_finish(&z->polys[i]);
	}
	fs_free(z->polys);
	fs_free(z->name);
	fs_free(z);
}

struct fs_geofence *fs_geofence_create(const struct fs_projection *proj)
{
	struct fs_geofence *g = fs_calloc(1, sizeof(*g));
	if (!g) {
		return NULL;
	}
	if (proj) {
		g->proj = *proj;
		g->have_proj = true;
	}
	return g;
}

void fs_geofence_destroy(struct fs_geofence *g)
{
	if (!g) {
		return;
	}
	for (size_t i = 0; i < g->count; i++) {
		zone_free(g->zones[i]);
	}
	fs_free(g->zones);
	fs_free(g);
}

const struct fs_projection *fs_geofence_projection(const struct fs_geofence *g)
{
	return &g->proj;
}

static void pair_latlon(enum fs_geofence_coords coords, const double *c, double *lat, double *lon)
{
	if (coords == FS_GEOFENCE_LONLAT) {
		*lon = c[0];
		*lat = c[1];
	} else {
		*lat = c[0];
		*lon = c[1];
	}
}

static struct fs_point to_local(const struct fs_geofence *g, enum fs_geofence_coords coords,
				const double *c)
{
	if (coords == FS_GEOFENCE_XY) {
		return (struct fs_point){ c[0], c[1] };
	}
	double lat, lon;
	pair_latlon(coords, c, &lat, &lon);
	return fs_projection_to_xy(&g->proj, lat, lon);
}

/* Points of a ring without the closing repeat; < 3 distinct points is an error. */
static size_t ring_length(const struct fs_geofence_ring *r)
{
	size_t n = r->count;
	if (n >= 2 && r->coords[0] == r->coords[2 * (n - 1)] &&
	    r->coords[1] == r->coords[2 * (n - 1) + 1]) {
		n--;
	}
	return n;
}

static int check_polygons(const struct fs_geofence *g, int64_t id, enum fs_geofence_coords coords,
			  const struct fs_geofence_polygon *polygons, size_t polygon_count,
			  struct fs_error *err)
{
	if (polygon_count == 0) {
		return fs_error_set(err, -EINVAL, "zone %lld: no polygons", (long long)id);
	}
	for (size_t pi = 0; pi < polygon_count; pi++) {
		const struct fs_geofence_polygon *pg = &polygons[pi];
		if (pg->ring_count == 0) {
			return fs_error_set(err, -EINVAL, "zone %lld: polygon %zu has no rings",
					    (long long)id, pi);
		}
		for (size_t ri = 0; ri < pg->ring_count; ri++) {
			const struct fs_geofence_ring *r = &pg->rings[ri];
			for (size_t k = 0; k < r->count; k++) {
				const double *c = &r->coords[2 * k];
				bool bad = !isfinite(c[0]) || !isfinite(c[1]);
				if (!bad && coords != FS_GEOFENCE_XY) {
					double lat, lon;
					pair_latlon(coords, c, &lat, &lon);
					bad = fabs(lat) > 90.0 || fabs(lon) > 180.0;
				}
				if (bad) {
					return fs_error_set(err, -EINVAL,
							    "zone %lld: polygon %zu ring %zu point %zu: "
							    "coordinates out of range (%g, %g)",
							    (long long)id, pi, ri, k, c[0], c[1]);
				}
			}
			/* Three distinct points at least (a closing repeat does not count). */
			size_t n = ring_length(r), distinct = 0;
			for (size_t k = 0; k < n && distinct < 3; k++) {
				size_t j = k ? k - 1 : n - 1;
				if (r->coords[2 * k] != r->coords[2 * j] ||
				    r->coords[2 * k + 1] != r->coords[2 * j + 1]) {
					distinct++;
				}
			}
			if (distinct < 3) {
				return fs_error_set(err, -EINVAL,
						    "zone %lld: polygon %zu ring %zu has fewer than 3 "
						    "distinct points",
						    (long long)id, pi, ri);
			}
		}
	}
	(void)g;
	return 0;
}

static double ring_area(const struct seg *edges, uint32_t n)
{
	double a = 0.0;
	for (uint32_t i = 0; i < n; i++) {
		a += edges[i].ax * edges[i].by - edges[i].bx * edges[i].ay;
	}
	return 0.5 * a;
}

static int build_poly(const struct fs_geofence *g, enum fs_geofence_coords coords,
		      const struct fs_geofence_polygon *pg, struct poly *p)
{
	size_t total = 0;
	for (size_t ri = 0; ri < pg->ring_count; ri++) {
		total += ring_length(&pg->rings[ri]);
	}
	if (total > UINT32_MAX / 16) {
		return -ENOMEM;
	}
	p->edges = fs_malloc(total * sizeof(*p->edges));
	if (!p->edges) {
		return -ENOMEM;
	}
	p->min_x = p->min_y = INFINITY;
	p->max_x = p->max_y = -INFINITY;
	uint32_t e = 0;
	for (size_t ri = 0; ri < pg->ring_count; ri++) {
		const struct fs_geofence_ring *r = &pg->rings[ri];
		size_t n = ring_length(r);
		uint32_t first = e;
		for (size_t k = 0; k < n; k++) {
			struct fs_point a = to_local(g, coords, &r->coords[2 * k]);
			struct fs_point b = to_local(g, coords, &r->coords[2 * ((k + 1) % n)]);
			p->edges[e++] = (struct seg){ a.x, a.y, b.x, b.y };
			p->min_x = fmin(p->min_x, a.x);
			p->max_x = fmax(p->max_x, a.x);
			p->min_y = fmin(p->min_y, a.y);
			p->max_y = fmax(p->max_y, a.y);
		}
		double area = fabs(ring_area(&p->edges[first], e - first));
		p->area += ri == 0 ? area : -area;
	}
	p->edge_count = e;
	return poly_index(p);
}

int fs_geofence_add_zone(struct fs_geofence *g, int64_t id, const char *name,
			 enum fs_geofence_coords coords, const struct fs_geofence_polygon *polygons,
			 size_t polygon_count, struct fs_error *err)
{
	int r = check_polygons(g, id, coords, polygons, polygon_count, err);
	if (r < 0) {
		return r;
	}
	if (fs_geofence_zone_by_id(g, id)) {
		return fs_error_set(err, -EINVAL, "zone %lld: duplicate zone id", (long long)id);
	}
	if (g->count >= INT32_MAX) {
		return -ENOMEM;
	}
	if (coords != FS_GEOFENCE_XY && !g->have_proj) {
		/* Origin at the centre of this zone's bounding box. */
		double lat0 = INFINITY, lat1 = -INFINITY, lon0 = INFINITY, lon1 = -INFINITY;
		for (size_t pi = 0; pi < polygon_count; pi++) {
			for (size_t ri = 0; ri < polygons[pi].ring_count; ri++) {
				const struct fs_geofence_ring *ring = &polygons[pi].rings[ri];
				for (size_t k = 0; k < ring->count; k++) {
					double lat, lon;
					pair_latlon(coords, &ring->coords[2 * k], &lat, &lon);
					lat0 = fmin(lat0, lat);
					lat1 = fmax(lat1, lat);
					lon0 = fmin(lon0, lon);
					lon1 = fmax(lon1, lon);
				}
			}
		}
		fs_projection_init(&g->proj, 0.5 * (lat0 + lat1), 0.5 * (lon0 + lon1));
		g->have_proj = true;
	}
	if (FS_GROW(g->zones, g->capacity, g->count + 1) < 0) {
		return -ENOMEM;
	}
	struct fs_geofence_zone *z = fs_calloc(1, sizeof(*z));
	if (!z) {
		return -ENOMEM;
	}
	z->id = id;
	z->index = g->count;
	z->name = fs_strdup(name ? name : "");
	z->polys = fs_calloc(polygon_count, sizeof(*z->polys));
	if (!z->name || !z->polys) {
		goto out_free_zone;
	}
	z->poly_count = polygon_count;
	z->min_x = z->min_y = INFINITY;
	z->max_x = z->max_y = -INFINITY;
	for (size_t pi = 0; pi < polygon_count; pi++) {
		struct poly *p = &z->polys[pi];
		if (build_poly(g, coords, &polygons[pi], p) < 0) {
			goto out_free_zone;
		}
		z->min_x = fmin(z->min_x, p->min_x);
		z->min_y = fmin(z->min_y, p->min_y);
		z->max_x = fmax(z->max_x, p->max_x);
		z->max_y = fmax(z->max_y, p->max_y);
		z->area += p->area;
	}
	g->zones[g->count++] = z;
	return (int)z->index;

out_free_zone:
	zone_free(z);
	return fs_error_set(err, -ENOMEM, "zone %lld: out of memory", (long long)id);
}

struct fs_geofence_mark fs_geofence_get_mark(const struct fs_geofence *g)
{
	return (struct fs_geofence_mark){ .zone_count = g->count, .have_proj = g->have_proj };
}

void fs_geofence_rollback(struct fs_geofence *g, struct fs_geofence_mark mark)
{
	while (g->count > mark.zone_count) {
		zone_free(g->zones[--g->count]);
	}
	g->have_proj = mark.have_proj;
}

size_t fs_geofence_zone_count(const struct fs_geofence *g)
{
	return g->count;
}

const struct fs_geofence_zone *fs_geofence_zone(const struct fs_geofence *g, size_t index)
{
	return index < g->count ? g->zones[index] : NULL;
}

const struct fs_geofence_zone *fs_geofence_zone_by_id(const struct fs_geofence *g, int64_t id)
{
	for (size_t i = 0; i < g->count; i++) {
		if (g->zones[i]->id == id) {
			return g->zones[i];
		}
	}
	return NULL;
}

int64_t fs_geofence_zone_id(const struct fs_geofence_zone *z)
{
	return z->id;
}

const char *fs_geofence_zone_name(const struct fs_geofence_zone *z)
{
	return z->name;
}

size_t fs_geofence_zone_index(const struct fs_geofence_zone *z)
{
	return z->index;
}

void fs_geofence_zone_bounds(const struct fs_geofence_zone *z, double *ret_min_x, double *ret_min_y,
			     double *ret_max_x, double *ret_max_y)
{
	*ret_min_x = z->min_x;
	*ret_min_y = z->min_y;
	*ret_max_x = z->max_x;
	*ret_max_y = z->max_y;
}

double fs_geofence_zone_area(const struct fs_geofence_zone *z)
{
	return z->area;
}

bool fs_geofence_zone_contains(const struct fs_geofence_zone *z, double x, double y)
{
	if (x < z->min_x || x > z->max_x || y < z->min_y || y > z->max_y) {
		return false;
	}
	for (size_t i = 0; i < z->poly_count; i++) {
		if (poly_contains(&z->polys[i], x, y)) {
			return true;
		}
	}
	return false;
}

size_t fs_geofence_zones_at(const struct fs_geofence *g, double x, double y, uint32_t *ret_zones,
			    size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < g->count; i++) {
		if (fs_geofence_zone_contains(g->zones[i], x, y)) {
			if (n < max) {
				ret_zones[n] = (uint32_t)i;
			}
			n++;
		}
	}
	return n;
}

/* ---- segments ---- */

struct tlist {
	double *t;
	size_t n, cap;
	double local[64];
	bool failed;
};

static void tlist_add(struct tlist *l, double t)
{
	if (l->n == l->cap) {
		size_t cap = l->cap * 2;
		double *nt = l->t == l->local ? fs_malloc(cap * sizeof(*nt)) : fs_realloc(l->t, cap * sizeof(*nt));
		if (!nt) {
			l->failed = true;
			return;
		}
		if (l->t == l->local) {
			memcpy(nt, l->local, l->n * sizeof(*nt));
		}
		l->t = nt;
		l->cap = cap;
	}
	l->t[l->n++] = t;
}

static int double_cmp(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return a < b ? -1 : a > b;
}

/* Parameters t in [0, 1] along p->q where edge e touches the segment. */
static void contacts(const struct seg *e, struct fs_point p, struct fs_point q, struct tlist *l)
{
	double rx = q.x - p.x, ry = q.y - p.y;
	double sx = e->bx - e->ax, sy = e->by - e->ay;
	double wx = e->ax - p.x, wy = e->ay - p.y;
	double d = rx * sy - ry * sx;
	if (d != 0.0) {
		double t = (wx * sy - wy * sx) / d;
		double u = (wx * ry - wy * rx) / d;
		if (t >= 0.0 && t <= 1.0 && u >= 0.0 && u <= 1.0) {
			tlist_add(l, t);
		}
		return;
	}
	if (wx * ry - wy * rx != 0.0) {
		return; /* parallel, not collinear */
	}
	double rr = rx * rx + ry * ry;
	if (rr == 0.0) {
		return;
	}
	/* Collinear: the overlap's ends are where the pieces change. */
	double ta = (wx * rx + wy * ry) / rr;
	double tb = ((e->bx - p.x) * rx + (e->by - p.y) * ry) / rr;
	if (ta >= 0.0 && ta <= 1.0) {
		tlist_add(l, ta);
	}
	if (tb >= 0.0 && tb <= 1.0) {
		tlist_add(l, tb);
	}
}

static void poly_contacts(const struct poly *pg, struct fs_point p, struct fs_point q,
			  struct tlist *l)
{
	double lo_y = fmin(p.y, q.y), hi_y = fmax(p.y, q.y);
	double lo_x = fmin(p.x, q.x), hi_x = fmax(p.x, q.x);
	if (hi_x < pg->min_x || lo_x > pg->max_x || hi_y < pg->min_y || lo_y > pg->max_y) {
		return;
	}
	uint32_t s1 = slab_of(pg, hi_y);
	for (uint32_t s = slab_of(pg, lo_y); s <= s1; s++) {
		for (uint32_t k = pg->slab_first[s]; k < pg->slab_first[s + 1]; k++) {
			const struct seg *e = &pg->edges[pg->slab_edges[k]];
			if (fmax(e->ax, e->bx) < lo_x || fmin(e->ax, e->bx) > hi_x ||
			    fmax(e->ay, e->by) < lo_y || fmin(e->ay, e->by) > hi_y) {
				continue;
			}
			contacts(e, p, q, l);
		}
	}
}

bool fs_geofence_segment_inside(const struct fs_geofence_zone *z, struct fs_point a,
				struct fs_point b)
{
	if (!fs_geofence_zone_contains(z, a.x, a.y) || !fs_geofence_zone_contains(z, b.x, b.y)) {
		return false;
	}
	struct tlist l = { .n = 0, .cap = 64, .failed = false };
	l.t = l.local;
	for (size_t i = 0; i < z->poly_count; i++) {
		poly_contacts(&z->polys[i], a, b, &l);
	}
	bool inside = !l.failed;
	if (inside && l.n > 0) {
		qsort(l.t, l.n, sizeof(*l.t), double_cmp);
		double prev = 0.0;
		for (size_t i = 0; i <= l.n && inside; i++) {
			double t = i < l.n ? l.t[i] : 1.0;
			if (t - prev > 1e-9) {
				double m = 0.5 * (prev + t);
				inside = fs_geofence_zone_contains(z, a.x + m * (b.x - a.x),
								   a.y + m * (b.y - a.y));
			}
			prev = t;
		}
	}
	if (l.t != l.local) {
		fs_free(l.t);
	}
	return inside; /* out of memory answers "not inside": the safe side */
}

bool fs_geofence_edge_inside(const struct fs_geofence_zone *z, const struct fs_network *net,
			     uint32_t edge)
{
	if (edge >= net->edge_count) {
		return false;
	}
	const struct fs_edge *e = &net->edges[edge];
	const struct fs_point *pts = &net->shape[e->shape_first];
	if (e->shape_count < 2) {
		const struct fs_node *a = &net->nodes[e->from], *b = &net->nodes[e->to];
		return fs_geofence_segment_inside(z, (struct fs_point){ a->x, a->y },
						  (struct fs_point){ b->x, b->y });
	}
	for (uint32_t i = 0; i + 1 < e->shape_count; i++) {
		if (!fs_geofence_segment_inside(z, pts[i], pts[i + 1])) {
			return false;
		}
	}
	return true;
}

bool fs_geofence_path_leaves(const struct fs_geofence_zone *z, const struct fs_network *net,
			     const uint32_t *edges, size_t n, size_t *ret_first_outside)
{
	for (size_t i = 0; i < n; i++) {
		if (!fs_geofence_edge_inside(z, net, edges[i])) {
			if (ret_first_outside) {
				*ret_first_outside = i;
			}
			return true;
		}
	}
	return false;
}
