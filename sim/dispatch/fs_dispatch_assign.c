/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_dispatch_assign - exact minimum-cost assignment on a sparse matrix.
 *
 * The shortest-augmenting-path method of Jonker and Volgenant (1987), in the
 * rectangular form of Crouse (2016, "On implementing 2D rectangular
 * assignment algorithms", the algorithm behind SciPy's
 * linear_sum_assignment), with two changes for our use:
 *  - the matrix is sparse (a request has a handful of candidate vehicles),
 *    so the Dijkstra over columns takes its minimum from a binary heap and
 *    scans only the arcs of the rows it reaches;
 *  - every row has a private "stay unassigned" column at its own cost, so a
 *    complete assignment always exists and the optimum decides which rows
 *    are worth serving.
 * Rows are added one at a time; each augmentation keeps the potentials
 * (u, v) dual feasible (reduced costs c - u - v >= 0, zero on matched arcs),
 * which proves the final assignment optimal. Heap ties go to the lower
 * (distance, unmatched first, column) so results never depend on memory
 * layout.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/dispatch.h"
#include "fs/grow.h"
#include "fs/heap.h"

#define NONE UINT32_MAX

struct heap_item {
	double dist;
	uint32_t col;
	uint32_t matched; /* 0 = free column: preferred on ties (finds the sink sooner) */
};

struct solver {
	const struct fs_dispatch_assign_problem *p;
	uint32_t ncols;           /* real + one private column per row */
	double *u, *v, *spc;
	uint32_t *row4col, *col4row, *path;
	uint8_t *col_done;
	uint32_t *scanned_rows, *touched_cols;
	uint32_t nscanned, ntouched;
	struct heap_item *heap;
	size_t heap_len, heap_cap;
};

static inline bool item_less(void *ctx, const struct heap_item *a, const struct heap_item *b)
{
	if (a->dist != b->dist) {
		return a->dist < b->dist;
	}
	if (a->matched != b->matched) {
		return a->matched < b->matched;
	}
	return a->col < b->col;
}

FS_HEAP_DEFINE(item_heap, void, struct heap_item, item_less, FS_HEAP_STORE)

static int heap_push(struct solver *s, struct heap_item it)
{
	if (FS_GROW(s->heap, s->heap_cap, s->heap_len + 1) < 0) {
		return -ENOMEM;
	}
	item_heap_push(NULL, s->heap, &s->heap_len, it);
	return 0;
}

/* Relax the arc (row i -> column j, cost c) at distance min_val. */
static int relax(struct solver *s, uint32_t i, uint32_t j, double c, double min_val)
{
	if (s->col_done[j]) {
		return 0;
	}
	double r = min_val + c - s->u[i] - s->v[j];
	if (r < s->spc[j]) {
		if (s->spc[j] == INFINITY) {
			s->touched_cols[s->ntouched++] = j;
		}
		s->spc[j] = r;
		s->path[j] = i;
		return heap_push(s, (struct heap_item){ r, j, s->row4col[j] != NONE });
	}
	return 0;
}

/* One augmentation from free row @cur; returns 0 or -ENOMEM. */
static int augment(struct solver *s, uint32_t cur)
{
	const struct fs_dispatch_assign_problem *p = s->p;
	uint32_t real = p->cols;
	double min_val = 0.0;
	uint32_t i = cur, sink = NONE;
	s->nscanned = 0;
	s->ntouched = 0;
	s->heap_len = 0;
	while (sink == NONE) {
		s->scanned_rows[s->nscanned++] = i;
		for (uint32_t k = p->row_first[i]; k < p->row_first[i + 1]; k++) {
			if (relax(s, i, p->col[k], p->cost[k], min_val) < 0) {
				return -ENOMEM;
			}
		}
		if (relax(s, i, real + i, p->unassigned_cost[i], min_val) < 0) {
			return -ENOMEM;
		}
		struct heap_item top;
		do {
			/* never empty: the row's private column is always reachable */
			top = item_heap_pop(NULL, s->heap, &s->heap_len);
		} while (s->col_done[top.col] || top.dist != s->spc[top.col]);
		uint32_t j = top.col;
		min_val = top.dist;
		s->col_done[j] = 1;
		if (s->row4col[j] == NONE) {
			sink = j;
		} else {
			i = s->row4col[j];
		}
	}
	/* potentials: keep reduced costs non-negative and matched arcs tight */
	s->u[cur] += min_val;
	for (uint32_t k = 1; k < s->nscanned; k++) {
		uint32_t r = s->scanned_rows[k];
		s->u[r] += min_val - s->spc[s->col4row[r]];
	}
	for (uint32_t k = 0; k < s->ntouched; k++) {
		uint32_t j = s->touched_cols[k];
		if (s->col_done[j]) {
			s->v[j] -= min_val - s->spc[j];
		}
	}
	/* flip the alternating path */
	uint32_t j = sink;
	for (;;) {
		uint32_t r = s->path[j];
		s->row4col[j] = r;
		uint32_t prev = s->col4row[r];
		s->col4row[r] = j;
		j = prev;
		if (r == cur) {
			break;
		}
	}
	for (uint32_t k = 0; k < s->ntouched; k++) {
		uint32_t c = s->touched_cols[k];
		s->spc[c] = INFINITY;
		s->col_done[c] = 0;
	}
	return 0;
}

int fs_dispatch_assign_solve(const struct fs_dispatch_assign_problem *p, uint32_t *ret_col_of_row,
			     double *ret_cost)
{
	if (!p || !ret_col_of_row || (p->rows && (!p->row_first || !p->unassigned_cost)) ||
	    p->rows > UINT32_MAX / 2 || p->cols > UINT32_MAX / 2) {
		return -EINVAL;
	}
	for (uint32_t r = 0; r < p->rows; r++) {
		if (p->row_first[r + 1] < p->row_first[r] || !isfinite(p->unassigned_cost[r])) {
			return -EINVAL;
		}
		for (uint32_t k = p->row_first[r]; k < p->row_first[r + 1]; k++) {
			if (p->col[k] >= p->cols || !isfinite(p->cost[k])) {
				return -EINVAL;
			}
		}
	}
	struct solver s = { .p = p, .ncols = p->cols + p->rows };
	size_t nc = s.ncols ? s.ncols : 1, nr = p->rows ? p->rows : 1;
	s.u = fs_calloc(nr, sizeof(*s.u));
	s.v = fs_calloc(nc, sizeof(*s.v));
	s.spc = fs_malloc(nc * sizeof(*s.spc));
	s.row4col = fs_malloc(nc * sizeof(*s.row4col));
	s.col4row = fs_malloc(nr * sizeof(*s.col4row));
	s.path = fs_malloc(nc * sizeof(*s.path));
	s.col_done = fs_calloc(nc, 1);
	s.scanned_rows = fs_malloc(nr * sizeof(*s.scanned_rows));
	s.touched_cols = fs_malloc(nc * sizeof(*s.touched_cols));
	int rc = 0;
	if (!s.u || !s.v || !s.spc || !s.row4col || !s.col4row || !s.path || !s.col_done || !s.scanned_rows ||
	    !s.touched_cols) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t j = 0; j < nc; j++) {
		s.spc[j] = INFINITY;
		s.row4col[j] = NONE;
	}
	for (size_t r = 0; r < nr; r++) {
		s.col4row[r] = NONE;
	}
	for (uint32_t r = 0; r < p->rows; r++) {
		rc = augment(&s, r);
		if (rc < 0) {
			goto out;
		}
	}
	double total = 0.0;
	for (uint32_t r = 0; r < p->rows; r++) {
		uint32_t j = s.col4row[r];
		if (j >= p->cols) {
			ret_col_of_row[r] = FS_DISPATCH_NONE;
			total += p->unassigned_cost[r];
			continue;
		}
		ret_col_of_row[r] = j;
		for (uint32_t k = p->row_first[r]; k < p->row_first[r + 1]; k++) {
			if (p->col[k] == j) {
				total += p->cost[k];
				break;
			}
		}
	}
	if (ret_cost) {
		*ret_cost = total;
	}
out:
	fs_free(s.u);
	fs_free(s.v);
	fs_free(s.spc);
	fs_free(s.row4col);
	fs_free(s.col4row);
	fs_free(s.path);
	fs_free(s.col_done);
	fs_free(s.scanned_rows);
	fs_free(s.touched_cols);
	fs_free(s.heap);
	return rc;
}
