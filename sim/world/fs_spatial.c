/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_spatial - uniform-grid index of moving points with kNN and radius queries.
 *
 * Design: each cell keeps a dense array of (x, y, id) entries, and a slot
 * table indexed by id remembers (cell, position) of every point. Removing
 * swaps the last entry of the cell into the hole and fixes that entry's slot,
 * so insert/move/remove are O(1) and a query scans contiguous memory.
 *
 * kNN expands square rings of cells around the query cell and keeps the k
 * best so far in a bounded max-heap ordered by (squared distance, id). After
 * ring r every unvisited point lies outside the box of rings 0..r, so once
 * the k-th best is strictly nearer than that box's nearest open side the
 * answer is final. The strict test (and the id tie-break) make the result a
 * function of the positions alone. Points outside the bounding box live in
 * the border cells; the bounds above stay valid for them because a clamped
 * point is only ever farther from the grid interior than its cell.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/heap.h"
#include "fs/spatial.h"

#define NO_CELL UINT32_MAX
#define MAX_CELLS (1u << 22) /* 4M cells x 16 B: the grid stays below 64 MiB */

struct entry {
	double x, y;
	uint32_t id;
};

struct cell {
	struct entry *entries;
	uint32_t count;
	uint32_t capacity;
};

struct slot {
	uint32_t cell; /* NO_CELL when the id is not indexed */
	uint32_t index;
};

struct fs_spatial {
	double min_x, min_y;
	double cell_m, inv_cell;
	uint32_t nx, ny;
	struct cell *cells;
	struct slot *slots;
	uint32_t slot_capacity;
	size_t count;
};

struct fs_spatial *fs_spatial_create(double min_x, double min_y, double max_x, double max_y,
				     double cell_m)
{
	if (!(isfinite(min_x) && isfinite(min_y) && isfinite(max_x) && isfinite(max_y)) ||
	    !(cell_m > 0.0) || !isfinite(cell_m) || max_x < min_x || max_y < min_y) {
		return NULL;
	}
	/* Enlarge the cells rather than fail when the box is huge for @cell_m. */
	double nxf, nyf;
	for (;;) {
		nxf = floor((max_x - min_x) / cell_m) + 1.0;
		nyf = floor((max_y - min_y) / cell_m) + 1.0;
		if (nxf * nyf <= MAX_CELLS) {
			break;
		}
		cell_m *= 2.0;
	}
	struct fs_spatial *s = fs_calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	s->min_x = min_x;
	s->min_y = min_y;
	s->cell_m = cell_m;
	s->inv_cell = 1.0 / cell_m;
	s->nx = (uint32_t)nxf;
	s->ny = (uint32_t)nyf;
	s->cells = fs_calloc((size_t)s->nx * s->ny, sizeof(*s->cells));
	if (!s->cells) {
		fs_free(s);
		return NULL;
	}
	return s;
}

void fs_spatial_destroy(struct fs_spatial *s)
{
	if (!s) {
		return;
	}
	for (size_t i = 0; i < (size_t)s->nx * s->ny; i++) {
		fs_free(s->cells[i].entries);
	}
	fs_free(s->cells);
	fs_free(s->slots);
	fs_free(s);
}

static uint32_t clamp_index(double v, uint32_t n)
{
	if (!(v >= 0.0)) { /* also catches NaN */
		return 0;
	}
	if (v >= (double)(n - 1)) {
		return n - 1;
	}
	return (uint32_t)v;
}

static uint32_t column_of(const struct fs_spatial *s, double x)
{
	return clamp_index(floor((x - s->min_x) * s->inv_cell), s->nx);
}

static uint32_t row_of(const struct fs_spatial *s, double y)
{
	return clamp_index(floor((y - s->min_y) * s->inv_cell), s->ny);
}

static uint32_t cell_of(const struct fs_spatial *s, double x, double y)
{
	return row_of(s, y) * s->nx + column_of(s, x);
}

static bool has(const struct fs_spatial *s, uint32_t id)
{
	return id < s->slot_capacity && s->slots[id].cell != NO_CELL;
}

static int reserve_slots(struct fs_spatial *s, uint32_t id)
{
	if (id < s->slot_capacity) {
		return 0;
	}
	if (id == UINT32_MAX) {
		return -EINVAL; /* capacity id + 1 would overflow */
	}
	uint64_t want = s->slot_capacity ? s->slot_capacity : 64;
	while (want <= id) {
		want *= 2;
	}
	if (want > UINT32_MAX) {
		want = UINT32_MAX;
	}
	struct slot *slots = fs_realloc(s->slots, (size_t)want * sizeof(*slots));
	if (!slots) {
		return -ENOMEM;
	}
	for (uint64_t i = s->slot_capacity; i < want; i++) {
		slots[i].cell = NO_CELL;
		slots[i].index = 0;
	}
	s->slots = slots;
	s->slot_capacity = (uint32_t)want;
	return 0;
}

/* Room in @cell for one more entry: 0, or -ENOMEM with the cell as it was. */
static int cell_reserve(struct cell *cell)
{
	if (cell->count == cell->capacity) {
		uint32_t cap = cell->capacity ? cell->capacity * 2 : 4;
		struct entry *e = fs_realloc(cell->entries, (size_t)cap * sizeof(*e));
		if (!e) {
			return -ENOMEM;
		}
		cell->entries = e;
		cell->capacity = cap;
	}
	return 0;
}

static int cell_append(struct fs_spatial *s, uint32_t c, uint32_t id, double x, double y)
{
	struct cell *cell = &s->cells[c];
	if (cell_reserve(cell) < 0) {
		return -ENOMEM;
	}
	cell->entries[cell->count] = (struct entry){ .x = x, .y = y, .id = id };
	s->slots[id].cell = c;
	s->slots[id].index = cell->count;
	cell->count++;
	return 0;
}

static void cell_unlink(struct fs_spatial *s, uint32_t id)
{
	struct slot *slot = &s->slots[id];
	struct cell *cell = &s->cells[slot->cell];
	uint32_t last = cell->count - 1;
	if (slot->index != last) {
		cell->entries[slot->index] = cell->entries[last];
		s->slots[cell->entries[slot->index].id].index = slot->index;
	}
	cell->count--;
	slot->cell = NO_CELL;
}

int fs_spatial_insert(struct fs_spatial *s, uint32_t id, double x, double y)
{
	if (!isfinite(x) || !isfinite(y)) {
		return -EINVAL;
	}
	int r = reserve_slots(s, id);
	if (r < 0) {
		return r;
	}
	if (s->slots[id].cell != NO_CELL) {
		return -EEXIST;
	}
	r = cell_append(s, cell_of(s, x, y), id, x, y);
	if (r < 0) {
		return r;
	}
	s->count++;
	return 0;
}

int fs_spatial_move(struct fs_spatial *s, uint32_t id, double x, double y)
{
	if (!has(s, id)) {
		return -ENOENT;
	}
	if (!isfinite(x) || !isfinite(y)) {
		return -EINVAL;
	}
	struct slot *slot = &s->slots[id];
	uint32_t c = cell_of(s, x, y);
	if (c == slot->cell) {
		struct entry *e = &s->cells[c].entries[slot->index];
		e->x = x;
		e->y = y;
		return 0;
	}
	/* Make room first so a failed allocation leaves the point where it was. */
	if (cell_reserve(&s->cells[c]) < 0) {
		return -ENOMEM;
	}
	cell_unlink(s, id);
	return cell_append(s, c, id, x, y); /* cannot fail: room reserved */
}

int fs_spatial_remove(struct fs_spatial *s, uint32_t id)
{
	if (!has(s, id)) {
		return -ENOENT;
	}
	cell_unlink(s, id);
	s->count--;
	return 0;
}

bool fs_spatial_get(const struct fs_spatial *s, uint32_t id, double *ret_x, double *ret_y)
{
	if (!has(s, id)) {
		return false;
	}
	const struct slot *slot = &s->slots[id];
	const struct entry *e = &s->cells[slot->cell].entries[slot->index];
	if (ret_x) {
		*ret_x = e->x;
	}
	if (ret_y) {
		*ret_y = e->y;
	}
	return true;
}

size_t fs_spatial_count(const struct fs_spatial *s)
{
	return s->count;
}

/* ---- queries ---- */

/* a is a worse answer than b: farther, or as far with a larger id. */
static inline bool worse(const struct fs_spatial_hit *a, const struct fs_spatial_hit *b)
{
	return a->dist_m > b->dist_m || (a->dist_m == b->dist_m && a->id > b->id);
}

static int hit_cmp(const void *pa, const void *pb)
{
	const struct fs_spatial_hit *a = pa, *b = pb;
	if (worse(a, b)) {
		return 1;
	}
	return worse(b, a) ? -1 : 0;
}

static inline bool worse_first(void *ctx, const struct fs_spatial_hit *a, const struct fs_spatial_hit *b)
{
	return worse(a, b);
}

FS_HEAP_DEFINE(hit_heap, void, struct fs_spatial_hit, worse_first, FS_HEAP_STORE)

/* The k best so far, the worst on top; dist_m holds squared distances. */
struct heap {
	struct fs_spatial_hit *h;
	size_t n, k;
};

static void heap_offer(struct heap *hp, uint32_t id, double d2)
{
	struct fs_spatial_hit cand = { .id = id, .dist_m = d2 };
	if (hp->n < hp->k) {
		hit_heap_push(NULL, hp->h, &hp->n, cand);
	} else if (worse(&hp->h[0], &cand)) {
		hit_heap_down_from(NULL, hp->h, hp->n, 0, cand); /* in place of the worst */
	}
}

static void scan_cell(const struct fs_spatial *s, uint32_t cx, uint32_t cy, double x, double y,
		      fs_spatial_filter_fn filter, void *user, struct heap *hp)
{
	const struct cell *cell = &s->cells[(size_t)cy * s->nx + cx];
	for (uint32_t i = 0; i < cell->count; i++) {
		const struct entry *e = &cell->entries[i];
		double dx = e->x - x, dy = e->y - y;
		double d2 = dx * dx + dy * dy;
		if (hp->n == hp->k && d2 > hp->h[0].dist_m) {
			continue; /* cheap reject before the filter call */
		}
		if (filter && !filter(user, e->id)) {
			continue;
		}
		heap_offer(hp, e->id, d2);
	}
}

/*
 * Lower bound on the distance from (x, y) to any point in ring >= r (r >= 1)
 * around cell (cx, cy): the nearest side of the box of rings < r beyond
 * which cells still exist. INFINITY when no such side is left.
 */
static double ring_bound(const struct fs_spatial *s, uint32_t cx, uint32_t cy, double x, double y,
			 int64_t r)
{
	double b = INFINITY;
	if ((int64_t)cx - r >= 0) {
		b = fmin(b, x - (s->min_x + (double)((int64_t)cx - r + 1) * s->cell_m));
	}
	if ((int64_t)cx + r <= (int64_t)s->nx - 1) {
		b = fmin(b, s->min_x + (double)((int64_t)cx + r) * s->cell_m - x);
	}
	if ((int64_t)cy - r >= 0) {
		b = fmin(b, y - (s->min_y + (double)((int64_t)cy - r + 1) * s->cell_m));
	}
	if ((int64_t)cy + r <= (int64_t)s->ny - 1) {
		b = fmin(b, s->min_y + (double)((int64_t)cy + r) * s->cell_m - y);
	}
	return b < 0.0 ? 0.0 : b;
}

size_t fs_spatial_knn(const struct fs_spatial *s, double x, double y, size_t k,
		      fs_spatial_filter_fn filter, void *user, struct fs_spatial_hit *ret_hits)
{
	if (k == 0 || s->count == 0 || !isfinite(x) || !isfinite(y)) {
		return 0;
	}
	struct heap hp = { .h = ret_hits, .n = 0, .k = k };
	uint32_t cx = column_of(s, x), cy = row_of(s, y);
	scan_cell(s, cx, cy, x, y, filter, user, &hp);
	for (int64_t r = 1;; r++) {
		double b = ring_bound(s, cx, cy, x, y, r);
		if (isinf(b)) {
			break; /* every cell visited */
		}
		/* Strictly nearer (with a rounding margin): a point at exactly the
		 * bound could still win the id tie-break. */
		if (hp.n == k && hp.h[0].dist_m < b * b * (1.0 - 1e-12)) {
			break;
		}
		int64_t x0 = (int64_t)cx - r, x1 = (int64_t)cx + r;
		int64_t y0 = (int64_t)cy - r, y1 = (int64_t)cy + r;
		int64_t xa = x0 < 0 ? 0 : x0, xb = x1 >= s->nx ? s->nx - 1 : x1;
		for (int64_t yy = y0 < 0 ? 0 : y0; yy <= y1 && yy < s->ny; yy++) {
			if (yy == y0 || yy == y1) {
				for (int64_t xx = xa; xx <= xb; xx++) {
					scan_cell(s, (uint32_t)xx, (uint32_t)yy, x, y, filter, user, &hp);
				}
			} else {
				if (x0 >= 0) {
					scan_cell(s, (uint32_t)x0, (uint32_t)yy, x, y, filter, user, &hp);
				}
				if (x1 < s->nx) {
					scan_cell(s, (uint32_t)x1, (uint32_t)yy, x, y, filter, user, &hp);
				}
			}
		}
	}
	size_t n = hp.n;
	qsort(ret_hits, n, sizeof(*ret_hits), hit_cmp);
	for (size_t i = 0; i < n; i++) {
		ret_hits[i].dist_m = sqrt(ret_hits[i].dist_m);
	}
	return n;
}

int fs_spatial_radius(const struct fs_spatial *s, double x, double y, double radius_m,
		      fs_spatial_filter_fn filter, void *user, struct fs_spatial_hits *hits)
{
	hits->count = 0;
	if (!(radius_m >= 0.0) || !isfinite(x) || !isfinite(y) || s->count == 0) {
		return 0;
	}
	double r2 = radius_m * radius_m;
	uint32_t xa = column_of(s, x - radius_m), xb = column_of(s, x + radius_m);
	uint32_t ya = row_of(s, y - radius_m), yb = row_of(s, y + radius_m);
	for (uint32_t cy = ya; cy <= yb; cy++) {
		for (uint32_t cx = xa; cx <= xb; cx++) {
			const struct cell *cell = &s->cells[(size_t)cy * s->nx + cx];
			for (uint32_t i = 0; i < cell->count; i++) {
				const struct entry *e = &cell->entries[i];
				double dx = e->x - x, dy = e->y - y;
				double d2 = dx * dx + dy * dy;
				if (d2 > r2 || (filter && !filter(user, e->id))) {
					continue;
				}
				if (FS_GROW(hits->items, hits->capacity, hits->count + 1) < 0) {
					hits->count = 0;
					return -ENOMEM;
				}
				hits->items[hits->count++] =
					(struct fs_spatial_hit){ .id = e->id, .dist_m = d2 };
			}
		}
	}
	if (hits->count > 1) {
		qsort(hits->items, hits->count, sizeof(*hits->items), hit_cmp);
	}
	for (size_t i = 0; i < hits->count; i++) {
		hits->items[i].dist_m = sqrt(hits->items[i].dist_m);
	}
	return hits->count > INT32_MAX ? INT32_MAX : (int)hits->count;
}

void fs_spatial_hits_finish(struct fs_spatial_hits *hits)
{
	if (!hits) {
		return;
	}
	fs_free(hits->items);
	*hits = (struct fs_spatial_hits){ 0 };
}
