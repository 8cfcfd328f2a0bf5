/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_geofence - ODD zones: point, segment, edge and route tests against
 * polygons with holes and multipolygons; GeoJSON loading.
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
 *
 * GeoJSON: jansson parses; it keeps no positions for values, so for errors
 * found after parsing we re-scan the raw text along the JSON path of the bad
 * value (features[3].geometry.coordinates[0][5]) to report its line:column.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fs/geofence.h"

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
	free(p->edges);
	free(p->slab_first);
	free(p->slab_edges);
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
	p->slab_first = calloc((size_t)slabs + 1, sizeof(*p->slab_first));
	p->slab_edges = malloc((size_t)total * sizeof(*p->slab_edges));
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
	uint32_t *fill = malloc((size_t)slabs * sizeof(*fill));
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
	free(fill);
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
	free(z->polys);
	free(z->name);
	free(z);
}

struct fs_geofence *fs_geofence_create(const struct fs_projection *proj)
{
	struct fs_geofence *g = calloc(1, sizeof(*g));
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
	free(g->zones);
	free(g);
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
	p->edges = malloc(total * sizeof(*p->edges));
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
	if (g->count == g->capacity) {
		size_t cap = g->capacity ? 2 * g->capacity : 16;
		struct fs_geofence_zone **zones = realloc(g->zones, cap * sizeof(*zones));
		if (!zones) {
			return -ENOMEM;
		}
		g->zones = zones;
		g->capacity = cap;
	}
	struct fs_geofence_zone *z = calloc(1, sizeof(*z));
	if (!z) {
		return -ENOMEM;
	}
	z->id = id;
	z->index = g->count;
	z->name = strdup(name ? name : "");
	z->polys = calloc(polygon_count, sizeof(*z->polys));
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
		double *nt = l->t == l->local ? malloc(cap * sizeof(*nt)) : realloc(l->t, cap * sizeof(*nt));
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
		free(l.t);
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

/* ---- GeoJSON ---- */

struct jstep {
	const char *key; /* NULL: array index */
	size_t index;
};

struct gj {
	const char *path;
	const char *text;
	size_t len;
	struct fs_error *err;
	struct jstep steps[16];
	int depth;
	/* one geometry being read: (lon, lat) pairs, rings, polygons */
	double *coords;
	size_t coord_count, coord_cap; /* in pairs */
	struct { size_t first, count; } *rings;
	size_t ring_count, ring_cap;
	struct { size_t first, count; } *polys;
	size_t poly_count, poly_cap;
};

static void push_key(struct gj *c, const char *key)
{
	if (c->depth < 16) {
		c->steps[c->depth] = (struct jstep){ .key = key };
	}
	c->depth++;
}

static void push_index(struct gj *c, size_t index)
{
	if (c->depth < 16) {
		c->steps[c->depth] = (struct jstep){ .key = NULL, .index = index };
	}
	c->depth++;
}

static void pop(struct gj *c)
{
	c->depth--;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
		i++;
	}
	return i;
}

static size_t skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n && s[i] != '"'; i++) {
		if (s[i] == '\\') {
			i++;
		}
	}
	return i < n ? i + 1 : n;
}

/* Index just after the JSON value starting at @i (the text is known valid). */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	if (i >= n) {
		return n;
	}
	if (s[i] == '"') {
		return skip_string(s, n, i);
	}
	if (s[i] == '{' || s[i] == '[') {
		int depth = 0;
		while (i < n) {
			char ch = s[i];
			if (ch == '"') {
				i = skip_string(s, n, i);
				continue;
			}
			if (ch == '{' || ch == '[') {
				depth++;
			} else if (ch == '}' || ch == ']') {
				if (--depth == 0) {
					return i + 1;
				}
			}
			i++;
		}
		return n;
	}
	while (i < n && !strchr(",]} \t\r\n", s[i])) {
		i++;
	}
	return i;
}

/* Offset of the value at the current path; as deep as it can get. */
static size_t locate(const struct gj *c)
{
	const char *s = c->text;
	size_t n = c->len, i = skip_ws(s, n, 0);
	int depth = c->depth < 16 ? c->depth : 16;
	for (int d = 0; d < depth; d++) {
		const struct jstep *st = &c->steps[d];
		size_t at = i;
		if (st->key) {
			if (i >= n || s[i] != '{') {
				return at;
			}
			i = skip_ws(s, n, i + 1);
			size_t klen = strlen(st->key);
			bool found = false;
			while (i < n && s[i] == '"') {
				size_t kend = skip_string(s, n, i);
				bool match = kend - i == klen + 2 && memcmp(s + i + 1, st->key, klen) == 0;
				i = skip_ws(s, n, kend);
				if (i < n && s[i] == ':') {
					i = skip_ws(s, n, i + 1);
				}
				if (match) {
					found = true;
					break;
				}
				i = skip_ws(s, n, skip_value(s, n, i));
				if (i < n && s[i] == ',') {
					i = skip_ws(s, n, i + 1);
				}
			}
			if (!found) {
				return at;
			}
		} else {
			if (i >= n || s[i] != '[') {
				return at;
			}
			i = skip_ws(s, n, i + 1);
			for (size_t k = 0; k < st->index; k++) {
				i = skip_ws(s, n, skip_value(s, n, i));
				if (i >= n || s[i] != ',') {
					return at;
				}
				i = skip_ws(s, n, i + 1);
			}
		}
	}
	return i;
}

static int gj_fail(struct gj *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int gj_fail(struct gj *c, const char *fmt, ...)
{
	size_t off = locate(c);
	unsigned line = 1, column = 1;
	for (size_t i = 0; i < off && i < c->len; i++) {
		if (c->text[i] == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
	}
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fs_error_at(c->err, -EINVAL, c->path, line, column, "%s", msg);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

#define GROW(arr, count, cap)                                                          \
	((count) < (cap) ? 0 : grow((void **)&(arr), &(cap), sizeof(*(arr))))

static int grow(void **arr, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, ncap * elem);
	if (!p) {
		return -ENOMEM;
	}
	*arr = p;
	*cap = ncap;
	return 0;
}

static int read_ring(struct gj *c, const json_t *ring)
{
	if (!json_is_array(ring)) {
		return gj_fail(c, "a linear ring must be an array of positions, not %s", type_name(ring));
	}
	size_t n = json_array_size(ring);
	if (n < 4) {
		return gj_fail(c, "ring has %zu positions; a closed ring needs at least 4", n);
	}
	if (GROW(c->rings, c->ring_count, c->ring_cap) < 0) {
		return -ENOMEM;
	}
	size_t first = c->coord_count;
	for (size_t k = 0; k < n; k++) {
		const json_t *pos = json_array_get(ring, k);
		push_index(c, k);
		if (!json_is_array(pos) || json_array_size(pos) < 2 ||
		    !json_is_number(json_array_get(pos, 0)) || !json_is_number(json_array_get(pos, 1))) {
			return gj_fail(c, "a position must be [longitude, latitude]");
		}
		double lon = json_number_value(json_array_get(pos, 0));
		double lat = json_number_value(json_array_get(pos, 1));
		if (!(fabs(lon) <= 180.0) || !(fabs(lat) <= 90.0)) {
			return gj_fail(c, "position [%g, %g] is not a longitude, latitude pair", lon, lat);
		}
		pop(c);
		if (GROW(c->coords, c->coord_count * 2, c->coord_cap) < 0) {
			return -ENOMEM;
		}
		c->coords[2 * c->coord_count] = lon;
		c->coords[2 * c->coord_count + 1] = lat;
		c->coord_count++;
	}
	const double *f = &c->coords[2 * first], *l = &c->coords[2 * (c->coord_count - 1)];
	if (f[0] != l[0] || f[1] != l[1]) {
		push_index(c, n - 1);
		return gj_fail(c, "ring is not closed: last position [%g, %g] differs from the first [%g, %g]",
			       l[0], l[1], f[0], f[1]);
	}
	c->rings[c->ring_count].first = first;
	c->rings[c->ring_count].count = n;
	c->ring_count++;
	return 0;
}

static int read_polygon(struct gj *c, const json_t *rings)
{
	if (!json_is_array(rings)) {
		return gj_fail(c, "polygon coordinates must be an array of rings, not %s",
			       type_name(rings));
	}
	if (json_array_size(rings) == 0) {
		return gj_fail(c, "polygon has no rings");
	}
	if (GROW(c->polys, c->poly_count, c->poly_cap) < 0) {
		return -ENOMEM;
	}
	size_t first = c->ring_count;
	for (size_t i = 0; i < json_array_size(rings); i++) {
		push_index(c, i);
		int r = read_ring(c, json_array_get(rings, i));
		if (r < 0) {
			return r;
		}
		pop(c);
	}
	c->polys[c->poly_count].first = first;
	c->polys[c->poly_count].count = c->ring_count - first;
	c->poly_count++;
	return 0;
}

/* Reads @geom (a Polygon or MultiPolygon object) into c->coords/rings/polys. */
static int read_geometry(struct gj *c, const json_t *geom)
{
	c->coord_count = c->ring_count = c->poly_count = 0;
	if (!json_is_object(geom)) {
		return gj_fail(c, "geometry must be an object, not %s", type_name(geom));
	}
	const char *type = json_string_value(json_object_get(geom, "type"));
	if (!type) {
		return gj_fail(c, "geometry has no \"type\" string");
	}
	bool multi = strcmp(type, "MultiPolygon") == 0;
	if (!multi && strcmp(type, "Polygon") != 0) {
		push_key(c, "type");
		return gj_fail(c, "geometry type \"%s\" is not a Polygon or MultiPolygon", type);
	}
	const json_t *coords = json_object_get(geom, "coordinates");
	if (!coords) {
		return gj_fail(c, "%s has no \"coordinates\"", type);
	}
	push_key(c, "coordinates");
	int r;
	if (multi) {
		if (!json_is_array(coords)) {
			return gj_fail(c, "MultiPolygon coordinates must be an array of polygons, not %s",
				       type_name(coords));
		}
		if (json_array_size(coords) == 0) {
			return gj_fail(c, "MultiPolygon has no polygons");
		}
		for (size_t i = 0; i < json_array_size(coords); i++) {
			push_index(c, i);
			r = read_polygon(c, json_array_get(coords, i));
			if (r < 0) {
				return r;
			}
			pop(c);
		}
	} else {
		r = read_polygon(c, coords);
		if (r < 0) {
			return r;
		}
	}
	pop(c);
	return 0;
}

static bool integer_of(const json_t *v, int64_t *ret)
{
	if (json_is_integer(v)) {
		*ret = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d == floor(d) && fabs(d) < 9e15) {
			*ret = (int64_t)d;
			return true;
		}
		return false;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		long long x = strtoll(s, &end, 10);
		if (*s && !*end && errno == 0) {
			*ret = x;
			return true;
		}
	}
	return false;
}

static int add_geometry(struct fs_geofence *g, struct gj *c, int64_t id, const char *name)
{
	struct fs_geofence_ring *rings = malloc(c->ring_count * sizeof(*rings));
	struct fs_geofence_polygon *polys = malloc(c->poly_count * sizeof(*polys));
	int r = -ENOMEM;
	if (rings && polys) {
		for (size_t i = 0; i < c->ring_count; i++) {
			rings[i].coords = &c->coords[2 * c->rings[i].first];
			rings[i].count = c->rings[i].count;
		}
		for (size_t i = 0; i < c->poly_count; i++) {
			polys[i].rings = &rings[c->polys[i].first];
			polys[i].ring_count = c->polys[i].count;
		}
		struct fs_error inner;
		r = fs_geofence_add_zone(g, id, name, FS_GEOFENCE_LONLAT, polys, c->poly_count, &inner);
		if (r == -EINVAL) {
			r = gj_fail(c, "%s", inner.message);
		}
	}
	free(rings);
	free(polys);
	return r < 0 ? r : 0;
}

static int read_feature(struct fs_geofence *g, struct gj *c, const json_t *f)
{
	if (!json_is_object(f)) {
		return gj_fail(c, "a feature must be an object, not %s", type_name(f));
	}
	const char *type = json_string_value(json_object_get(f, "type"));
	if (!type || strcmp(type, "Feature") != 0) {
		if (type) {
			push_key(c, "type");
		}
		return gj_fail(c, "expected an object with \"type\": \"Feature\"");
	}
	const json_t *props = json_object_get(f, "properties");
	int64_t id = (int64_t)g->count;
	bool have_id = integer_of(json_object_get(f, "id"), &id);
	static const char *const id_keys[] = { "id", "location_id", "LocationID", "OBJECTID" };
	for (size_t i = 0; !have_id && json_is_object(props) && i < 4; i++) {
		have_id = integer_of(json_object_get(props, id_keys[i]), &id);
	}
	const char *name = NULL;
	if (json_is_object(props)) {
		name = json_string_value(json_object_get(props, "name"));
		if (!name) {
			name = json_string_value(json_object_get(props, "zone"));
		}
	}
	const json_t *geom = json_object_get(f, "geometry");
	if (!geom || json_is_null(geom)) {
		return gj_fail(c, "feature has no geometry");
	}
	push_key(c, "geometry");
	int r = read_geometry(c, geom);
	if (r < 0) {
		return r;
	}
	r = add_geometry(g, c, id, name);
	pop(c);
	return r;
}

static int read_file(const char *path, char **ret_text, size_t *ret_len, struct fs_error *err)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		int e = errno;
		return fs_error_at(err, -e, path, 0, 0, "cannot open: %s", strerror(e));
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fclose(fp);
			return fs_error_at(err, -ENOMEM, path, 0, 0, "out of memory");
		}
		len += fread(buf + len, 1, cap - len, fp);
		if (len < cap) {
			break;
		}
		cap *= 2;
		char *nb = realloc(buf, cap);
		if (!nb) {
			free(buf);
		}
		buf = nb;
	}
	bool failed = ferror(fp);
	fclose(fp);
	if (failed) {
		free(buf);
		return fs_error_at(err, -EIO, path, 0, 0, "read error");
	}
	*ret_text = buf;
	*ret_len = len;
	return 0;
}

int fs_geofence_load_geojson(struct fs_geofence *g, const char *path, struct fs_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r = read_file(path, &text, &len, err);
	if (r < 0) {
		return r;
	}
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	if (!root) {
		r = fs_error_at(err, -EINVAL, path, (unsigned)(jerr.line > 0 ? jerr.line : 0),
				(unsigned)(jerr.column > 0 ? jerr.column : 0), "%s", jerr.text);
		free(text);
		return r;
	}
	struct gj c = { .path = path, .text = text, .len = len, .err = err };
	size_t before = g->count;
	bool had_proj = g->have_proj;
	const char *type = json_is_object(root) ? json_string_value(json_object_get(root, "type")) : NULL;
	if (!json_is_object(root)) {
		r = gj_fail(&c, "top level is %s, not a GeoJSON object", type_name(root));
	} else if (!type) {
		r = gj_fail(&c, "top-level object has no \"type\" string");
	} else if (strcmp(type, "FeatureCollection") == 0) {
		const json_t *features = json_object_get(root, "features");
		if (!json_is_array(features)) {
			if (features) {
				push_key(&c, "features");
			}
			r = gj_fail(&c, "FeatureCollection needs a \"features\" array");
		} else {
			push_key(&c, "features");
			for (size_t i = 0; i < json_array_size(features) && r >= 0; i++) {
				push_index(&c, i);
				r = read_feature(g, &c, json_array_get(features, i));
				pop(&c);
			}
		}
	} else if (strcmp(type, "Feature") == 0) {
		r = read_feature(g, &c, root);
	} else if (strcmp(type, "Polygon") == 0 || strcmp(type, "MultiPolygon") == 0) {
		r = read_geometry(&c, root);
		if (r >= 0) {
			r = add_geometry(g, &c, (int64_t)g->count, NULL);
		}
	} else {
		push_key(&c, "type");
		r = gj_fail(&c, "type \"%s\" is not a Polygon, MultiPolygon, Feature or FeatureCollection",
			    type);
	}
	if (r == -ENOMEM) {
		fs_error_at(err, r, path, 0, 0, "out of memory");
	}
	if (r >= 0 && g->count == before) {
		r = fs_error_at(err, -EINVAL, path, 0, 0, "no polygons");
	}
	if (r < 0) {
		/* All or nothing: drop what this file added. */
		while (g->count > before) {
			zone_free(g->zones[--g->count]);
		}
		g->have_proj = had_proj;
	} else {
		r = (int)(g->count - before);
	}
	free(c.coords);
	free(c.rings);
	free(c.polys);
	json_decref(root);
	free(text);
	return r;
}
