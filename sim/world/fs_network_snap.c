/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_network_snap - nearest road position to a point.
 *
 * A uniform grid over the network's bounding box; every shape segment of
 * every (eligible) edge is listed in each cell its bounding box touches,
 * in CSR form. A query scans rings of cells around the point's cell,
 * nearest ring first, and stops once the next ring cannot hold anything
 * closer than the best segment found (cells of ring r + 1 are at least
 * r * cell size away). Ties go to the lower edge id, so the answer does not
 * depend on the order cells are visited. The cell size targets about two
 * segments per cell.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/network.h"

#define MAX_CELLS_PER_AXIS 4096
#define MIN_CELL_M 5.0

struct seg_ref {
	uint32_t edge;
	uint32_t seg; /* segment index within the edge's shape */
};

struct fs_network_index {
	double x0, y0, cell;
	uint32_t nx, ny;
	uint32_t *cell_first; /* nx * ny + 1 */
	struct seg_ref *refs;
};

void fs_network_index_destroy(struct fs_network_index *idx)
{
	if (!idx) {
		return;
	}
	fs_free(idx->cell_first);
	fs_free(idx->refs);
	fs_free(idx);
}

static bool eligible(const struct fs_network *net, uint32_t e, bool largest_scc_only, const uint8_t *include)
{
	return (!include || include[e]) &&
	       (!largest_scc_only || (net->in_largest_scc[net->edges[e].from] && net->in_largest_scc[net->edges[e].to]));
}

static uint32_t clamp_cell(double v, double origin, double cell, uint32_t count)
{
	double c = floor((v - origin) / cell);
	if (!(c >= 0.0)) {
		return 0;
	}
	return c >= count ? count - 1 : (uint32_t)c;
}

/* The cells the bounding box of segment a-b touches: [x0, x1] x [y0, y1]. */
struct cell_box {
	uint32_t x0, x1, y0, y1;
};

static struct cell_box segment_cells(const struct fs_network_index *idx, struct fs_point a,
				     struct fs_point b)
{
	return (struct cell_box){
		clamp_cell(fmin(a.x, b.x), idx->x0, idx->cell, idx->nx),
		clamp_cell(fmax(a.x, b.x), idx->x0, idx->cell, idx->nx),
		clamp_cell(fmin(a.y, b.y), idx->y0, idx->cell, idx->ny),
		clamp_cell(fmax(a.y, b.y), idx->y0, idx->cell, idx->ny),
	};
}

/*
 * Every (cell, segment) pair of the index's edges: without @fill, counted into
 * cell_first[cell + 1] (returns how many); with it, stored at refs[fill[cell]++].
 */
static uint64_t walk_cells(struct fs_network_index *idx, const struct fs_network *net, bool largest_scc_only,
			   const uint8_t *include, uint32_t *fill)
{
	uint64_t total = 0;
	for (uint32_t e = 0; e < net->edge_count; e++) {
		if (!eligible(net, e, largest_scc_only, include)) {
			continue;
		}
		const struct fs_point *p = net->shape + net->edges[e].shape_first;
		for (uint32_t s = 0; s + 1 < net->edges[e].shape_count; s++) {
			struct cell_box box = segment_cells(idx, p[s], p[s + 1]);
			for (uint32_t cy = box.y0; cy <= box.y1; cy++) {
				for (uint32_t cx = box.x0; cx <= box.x1; cx++) {
					size_t c = (size_t)cy * idx->nx + cx;
					if (fill) {
						idx->refs[fill[c]++] = (struct seg_ref){ e, s };
					} else {
						idx->cell_first[c + 1]++;
					}
					total++;
				}
			}
		}
	}
	return total;
}

struct fs_network_index *fs_network_index_create(const struct fs_network *net,
						 bool largest_scc_only)
{
	return fs_network_index_create_for(net, largest_scc_only, NULL);
}

struct fs_network_index *fs_network_index_create_for(const struct fs_network *net, bool largest_scc_only,
						     const uint8_t *include)
{
	struct fs_network_index *idx = fs_calloc(1, sizeof(*idx));
	if (!idx) {
		return NULL;
	}
	uint64_t segs = 0;
	for (uint32_t e = 0; e < net->edge_count; e++) {
		if (eligible(net, e, largest_scc_only, include)) {
			segs += net->edges[e].shape_count - 1;
		}
	}
	double w = net->max_x - net->min_x, h = net->max_y - net->min_y;
	double cell = sqrt(fmax(w * h, 1.0) / (double)(segs ? segs : 1) * 2.0);
	cell = fmax(cell, MIN_CELL_M);
	cell = fmax(cell, fmax(w, h) / MAX_CELLS_PER_AXIS);
	idx->cell = cell;
	idx->x0 = net->min_x;
	idx->y0 = net->min_y;
	idx->nx = (uint32_t)(w / cell) + 1;
	idx->ny = (uint32_t)(h / cell) + 1;
	size_t cells = (size_t)idx->nx * idx->ny;
	idx->cell_first = fs_calloc(cells + 1, sizeof(uint32_t));
	if (!idx->cell_first) {
		goto out_fail;
	}
	/* Count, prefix-sum, fill: the same walk twice. */
	uint64_t total = walk_cells(idx, net, largest_scc_only, include, NULL);
	if (total >= UINT32_MAX) {
		goto out_fail;
	}
	for (size_t c = 0; c < cells; c++) {
		idx->cell_first[c + 1] += idx->cell_first[c];
	}
	idx->refs = fs_malloc((size_t)(total + 1) * sizeof(*idx->refs));
	uint32_t *fill = fs_malloc((cells + 1) * sizeof(uint32_t));
	if (!idx->refs || !fill) {
		fs_free(fill);
		goto out_fail;
	}
	memcpy(fill, idx->cell_first, cells * sizeof(uint32_t));
	walk_cells(idx, net, largest_scc_only, include, fill);
	fs_free(fill);
	return idx;

out_fail:
	fs_network_index_destroy(idx);
	return NULL;
}

/* Squared distance from (x, y) to segment a-b and the fraction along it. */
static double seg_dist2(struct fs_point a, struct fs_point b, double x, double y, double *ret_t)
{
	double dx = b.x - a.x, dy = b.y - a.y;
	double len2 = dx * dx + dy * dy;
	double t = len2 > 0.0 ? ((x - a.x) * dx + (y - a.y) * dy) / len2 : 0.0;
	t = fmin(1.0, fmax(0.0, t));
	double px = a.x + t * dx - x, py = a.y + t * dy - y;
	*ret_t = t;
	return px * px + py * py;
}

int fs_network_snap(const struct fs_network *net, const struct fs_network_index *idx, double x,
		    double y, uint32_t *ret_edge, double *ret_offset_m, double *ret_dist_m)
{
	if (!isfinite(x) || !isfinite(y)) {
		return -EINVAL;
	}
	int64_t cx = (int64_t)clamp_cell(x, idx->x0, idx->cell, idx->nx);
	int64_t cy = (int64_t)clamp_cell(y, idx->y0, idx->cell, idx->ny);
	double best = INFINITY, best_t = 0.0;
	struct seg_ref best_ref = { UINT32_MAX, 0 };
	int64_t max_r = (int64_t)(idx->nx > idx->ny ? idx->nx : idx->ny);
	for (int64_t r = 0; r <= max_r; r++) {
		for (int64_t gy = cy - r; gy <= cy + r; gy++) {
			if (gy < 0 || gy >= idx->ny) {
				continue;
			}
			bool edge_row = gy == cy - r || gy == cy + r;
			for (int64_t gx = cx - r; gx <= cx + r; gx += edge_row ? 1 : 2 * r) {
				if (gx >= 0 && gx < idx->nx) {
					uint32_t c = (uint32_t)(gy * idx->nx + gx);
					for (uint32_t i = idx->cell_first[c]; i < idx->cell_first[c + 1];
					     i++) {
						struct seg_ref ref = idx->refs[i];
						const struct fs_point *p =
							net->shape + net->edges[ref.edge].shape_first;
						double t;
						double d = seg_dist2(p[ref.seg], p[ref.seg + 1], x, y, &t);
						if (d < best || (d == best && ref.edge < best_ref.edge)) {
							best = d;
							best_t = t;
							best_ref = ref;
						}
					}
				}
				if (r == 0) {
					break;
				}
			}
		}
		double reach = (double)r * idx->cell;
		if (best_ref.edge != UINT32_MAX && best <= reach * reach) {
			break;
		}
	}
	if (best_ref.edge == UINT32_MAX) {
		return -ENOENT;
	}
	/* Offset along the shape, scaled to the edge's length_m (see edge_point_at). */
	const struct fs_edge *e = &net->edges[best_ref.edge];
	const struct fs_point *p = net->shape + e->shape_first;
	double along = 0.0, shape_len = 0.0;
	for (uint32_t s = 0; s + 1 < e->shape_count; s++) {
		double seg = hypot(p[s + 1].x - p[s].x, p[s + 1].y - p[s].y);
		if (s < best_ref.seg) {
			along += seg;
		} else if (s == best_ref.seg) {
			along += best_t * seg;
		}
		shape_len += seg;
	}
	*ret_edge = best_ref.edge;
	*ret_offset_m = shape_len > 0.0 ? along / shape_len * e->length_m : 0.0;
	*ret_dist_m = sqrt(best);
	return 0;
}

/* ---- points near a junction ------------------------------------------------ */

/* A street at node @n: edge @e out of it, or into it (@inbound) when there is no edge the other way. */
static bool street_at(const struct fs_network *net, uint32_t e, bool inbound, bool motorways)
{
	const struct fs_edge *ed = &net->edges[e];
	if (!net->in_largest_scc[ed->from] || !net->in_largest_scc[ed->to] ||
	    (!motorways && fs_road_is_motorway(ed->road_class)) || !(ed->length_m > 0.0f)) {
		return false;
	}
	return !inbound || fs_network_reverse_edge(net, e) == UINT32_MAX;
}

/* Sum of the lengths of the streets at @n (fs_network_point_near_junction()), and with
 * @pick >= 0, the street where that running sum passes @pick. */
static double streets_at(const struct fs_network *net, uint32_t n, bool motorways, double pick, uint32_t *ret_edge,
			 bool *ret_inbound)
{
	double sum = 0.0;
	for (int inbound = 0; inbound < 2; inbound++) {
		uint32_t first = inbound ? net->in_first[n] : net->out_first[n];
		uint32_t last = inbound ? net->in_first[n + 1] : net->out_first[n + 1];
		for (uint32_t k = first; k < last; k++) {
			uint32_t e = inbound ? net->in_edges[k] : k;
			if (!street_at(net, e, inbound, motorways)) {
				continue;
			}
			sum += net->edges[e].length_m;
			if (pick >= 0.0 && (pick < sum || *ret_edge == UINT32_MAX)) {
				*ret_edge = e;
				*ret_inbound = inbound;
				if (pick < sum) {
					return sum;
				}
			}
		}
	}
	return sum;
}

int fs_network_point_near_junction(const struct fs_network *net, const struct fs_network_index *idx, double x,
				   double y, double u, double v, struct fs_point *ret_point)
{
	uint32_t e;
	double off, dist;
	if (!isfinite(u) || !isfinite(v)) {
		return -EINVAL;
	}
	int rc = fs_network_snap(net, idx, x, y, &e, &off, &dist);
	if (rc < 0) {
		return rc;
	}
	uint32_t n = off < 0.5 * net->edges[e].length_m ? net->edges[e].from : net->edges[e].to;
	bool motorways = streets_at(net, n, false, -1.0, NULL, NULL) <= 0.0;
	double total = streets_at(net, n, motorways, -1.0, NULL, NULL);
	if (!(total > 0.0)) {
		return -ENOENT;
	}
	uint32_t street = UINT32_MAX;
	bool inbound = false;
	streets_at(net, n, motorways, fmin(fmax(u, 0.0), 1.0) * total, &street, &inbound);
	double len = net->edges[street].length_m, along = fmin(fmax(v, 0.0), 1.0) * 0.5 * len;
	return fs_network_edge_point_at(net, street, inbound ? len - along : along, ret_point);
}
