/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_network_csv - a network given as two CSV files, loaded exactly as given.
 *
 * nodes.csv: header, then `id,x,y` (id an integer, x/y metres east/north).
 * edges.csv: header, then `from,to,length_m,speed_mps[,lanes][,name]`
 * (from/to are node ids of nodes.csv). Columns are found by their header
 * name, in any order; other columns are ignored. Nothing is filtered: every
 * node and edge is kept (see in_largest_scc for the strongly connected part).
 * Files are parsed with libcsv, fed one line at a time so every message can
 * say "file:line:column" (the column is the field number, from 1).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/network.h"
#include "fs/network_build.h"
#include "fs/network_load.h"
#include "fs_network_files.h"

#define MAX_FIELDS 8

struct csv_spec {
	const char *columns[MAX_FIELDS]; /* wanted header names; NULL ends */
	unsigned required;               /* the first @required are mandatory */
};

struct csv_reader {
	const char *path;
	const struct csv_spec *spec;
	int index[MAX_FIELDS];          /* field number of each wanted column, -1 if absent */
	char *fields[MAX_FIELDS];       /* current row, wanted columns only */
	unsigned field_no, line, row_line;
	bool header_done, failed;
	int (*on_row)(struct csv_reader *r, void *ctx);
	void *ctx;
	struct fs_error *err;
	int rc;
};

static int fail(struct csv_reader *r, int code, unsigned column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct csv_reader *r, int code, unsigned column, const char *fmt, ...)
{
	if (!r->failed) {
		char msg[384];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fs_error_at(r->err, code, r->path, r->row_line, column, "%s", msg);
		r->failed = true;
		r->rc = code;
	}
	return code;
}

static void on_field(void *data, size_t len, void *user)
{
	struct csv_reader *r = user;
	if (r->failed) {
		return;
	}
	if (r->field_no == 0) {
		r->row_line = r->line;
	}
	unsigned f = r->field_no++;
	if (!r->header_done) {
		if (f == 0 && len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
			data = (char *)data + 3; /* a UTF-8 byte order mark before the first name */
			len -= 3;
		}
		for (unsigned c = 0; c < MAX_FIELDS && r->spec->columns[c]; c++) {
			if (strlen(r->spec->columns[c]) == len && !memcmp(r->spec->columns[c], data, len)) {
				r->index[c] = (int)f;
			}
		}
		return;
	}
	for (unsigned c = 0; c < MAX_FIELDS && r->spec->columns[c]; c++) {
		if (r->index[c] == (int)f) {
			char *copy = fs_malloc(len + 1);
			if (!copy) {
				fail(r, -ENOMEM, 0, "out of memory");
				return;
			}
			memcpy(copy, data, len);
			copy[len] = '\0';
			fs_free(r->fields[c]);
			r->fields[c] = copy;
		}
	}
}

static void on_row_end(int c, void *user)
{
	struct csv_reader *r = user;
	unsigned nfields = r->field_no;
	r->field_no = 0;
	if (r->failed) {
		return;
	}
	if (!r->header_done) {
		r->header_done = true;
		for (unsigned k = 0; k < r->spec->required; k++) {
			if (r->index[k] < 0) {
				fail(r, -EINVAL, 0, "missing column '%s' in the header",
				     r->spec->columns[k]);
				return;
			}
		}
		return;
	}
	for (unsigned k = 0; k < r->spec->required; k++) {
		if ((unsigned)r->index[k] >= nfields) {
			fail(r, -EINVAL, nfields + 1, "missing field '%s' (row too short)",
			     r->spec->columns[k]);
			return;
		}
	}
	r->on_row(r, r->ctx);
	for (unsigned k = 0; k < MAX_FIELDS; k++) {
		fs_free(r->fields[k]);
		r->fields[k] = NULL;
	}
}

static int read_csv(const char *path, const struct csv_spec *spec,
		    int (*on_row)(struct csv_reader *r, void *ctx), void *ctx, struct fs_error *err)
{
	struct csv_reader r = {
		.path = path, .spec = spec, .on_row = on_row, .ctx = ctx, .err = err,
	};
	for (unsigned k = 0; k < MAX_FIELDS; k++) {
		r.index[k] = -1;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		return fs_error_set(err, -errno, "%s: %s", path, strerror(errno));
	}
	struct csv_parser p;
	if (csv_init(&p, CSV_APPEND_NULL) != 0) {
		fclose(f);
		return fs_error_set(err, -ENOMEM, "%s: out of memory", path);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while (!r.failed && (n = getline(&line, &cap, f)) > 0) {
		r.line++;
		if (csv_parse(&p, line, (size_t)n, on_field, on_row_end, &r) != (size_t)n) {
			fail(&r, -EINVAL, 0, "CSV syntax error: %s", csv_strerror(csv_error(&p)));
		}
	}
	if (!r.failed && ferror(f)) {
		fail(&r, -EIO, 0, "read error");
	}
	if (!r.failed) {
		csv_fini(&p, on_field, on_row_end, &r);
	}
	if (!r.failed && !r.header_done) {
		fs_error_set(err, -EINVAL, "%s: empty file (expected a header row)", path);
		r.rc = -EINVAL;
	}
	fs_free(line);
	csv_free(&p);
	fclose(f);
	for (unsigned k = 0; k < MAX_FIELDS; k++) {
		fs_free(r.fields[k]);
	}
	return r.rc;
}

static bool parse_double(struct csv_reader *r, unsigned c, double *ret)
{
	const char *s = r->fields[c];
	char *end;
	if (!s) {
		fail(r, -EINVAL, (unsigned)r->index[c] + 1, "missing field '%s'", r->spec->columns[c]);
		return false;
	}
	errno = 0;
	double v = strtod(s, &end);
	while (*end == ' ' || *end == '\r') {
		end++;
	}
	if (end == s || *end || errno == ERANGE || !isfinite(v)) {
		fail(r, -EINVAL, (unsigned)r->index[c] + 1, "'%s' is not a number (column '%s')", s,
		     r->spec->columns[c]);
		return false;
	}
	*ret = v;
	return true;
}

static bool parse_int64(struct csv_reader *r, unsigned c, int64_t *ret)
{
	const char *s = r->fields[c];
	char *end;
	errno = 0;
	long long v = s ? strtoll(s, &end, 10) : 0;
	if (s) {
		while (*end == ' ' || *end == '\r') {
			end++;
		}
	}
	if (!s || end == s || *end || errno == ERANGE) {
		fail(r, -EINVAL, (unsigned)r->index[c] + 1, "'%s' is not an integer id (column '%s')",
		     s ? s : "", r->spec->columns[c]);
		return false;
	}
	*ret = v;
	return true;
}

/* ---- nodes ---------------------------------------------------------------- */

enum { NODE_ID, NODE_X, NODE_Y };
static const struct csv_spec node_spec = { { "id", "x", "y", NULL }, 3 };

struct id_line {
	int64_t id;
	uint32_t index;
	uint32_t line;
};

struct csv_ctx {
	struct fs_netb *b;
	const struct fs_projection *proj;
	struct id_line *ids; /* sorted by id after the node file */
	size_t id_cap;
};

static int on_node_row(struct csv_reader *r, void *user)
{
	struct csv_ctx *ctx = user;
	struct fs_node node;
	if (!parse_int64(r, NODE_ID, &node.osm_id) || !parse_double(r, NODE_X, &node.x) ||
	    !parse_double(r, NODE_Y, &node.y)) {
		return r->rc;
	}
	fs_projection_to_latlon(ctx->proj, (struct fs_point){ node.x, node.y }, &node.lat, &node.lon);
	if (FS_GROW(ctx->ids, ctx->id_cap, (size_t)ctx->b->node_count + 1) < 0) {
		return fail(r, -ENOMEM, 0, "out of memory");
	}
	ctx->ids[ctx->b->node_count] = (struct id_line){ node.osm_id, ctx->b->node_count, r->row_line };
	if (fs_netb_add_node(ctx->b, &node) < 0) {
		return fail(r, -ENOMEM, 0, "out of memory");
	}
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	const struct id_line *x = a, *y = b;
	if (x->id != y->id) {
		return (x->id > y->id) - (x->id < y->id);
	}
	return (x->line > y->line) - (x->line < y->line);
}

static uint32_t lookup(const struct csv_ctx *ctx, int64_t id)
{
	uint32_t lo = 0, hi = ctx->b->node_count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ctx->ids[mid].id < id) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < ctx->b->node_count && ctx->ids[lo].id == id ? ctx->ids[lo].index : UINT32_MAX;
}

/* ---- edges ---------------------------------------------------------------- */

enum { EDGE_FROM, EDGE_TO, EDGE_LENGTH, EDGE_SPEED, EDGE_LANES, EDGE_NAME };
static const struct csv_spec edge_spec = {
	{ "from", "to", "length_m", "speed_mps", "lanes", "name", NULL }, 4
};

static int on_edge_row(struct csv_reader *r, void *user)
{
	struct csv_ctx *ctx = user;
	int64_t from_id, to_id, lanes = 1;
	double length, speed;
	if (!parse_int64(r, EDGE_FROM, &from_id) || !parse_int64(r, EDGE_TO, &to_id) ||
	    !parse_double(r, EDGE_LENGTH, &length) || !parse_double(r, EDGE_SPEED, &speed)) {
		return r->rc;
	}
	if (r->fields[EDGE_LANES] && *r->fields[EDGE_LANES] &&
	    !parse_int64(r, EDGE_LANES, &lanes)) {
		return r->rc;
	}
	char buf[32];
	uint32_t from = lookup(ctx, from_id), to = lookup(ctx, to_id);
	if (from == UINT32_MAX || to == UINT32_MAX) {
		snprintf(buf, sizeof(buf), "%" PRId64, from == UINT32_MAX ? from_id : to_id);
		return fail(r, -EINVAL, (unsigned)r->index[from == UINT32_MAX ? EDGE_FROM : EDGE_TO] + 1,
			    "unknown node id %s (not in the nodes file)", buf);
	}
	if (length < 0.0 || length > 1e7) {
		return fail(r, -EINVAL, (unsigned)r->index[EDGE_LENGTH] + 1,
			    "length_m %s is negative or too large", r->fields[EDGE_LENGTH]);
	}
	if (speed <= 0.0 || speed > 200.0) {
		return fail(r, -EINVAL, (unsigned)r->index[EDGE_SPEED] + 1,
			    "speed_mps %s is not in (0, 200]", r->fields[EDGE_SPEED]);
	}
	if (lanes < 1 || lanes > 255) {
		return fail(r, -EINVAL, (unsigned)r->index[EDGE_LANES] + 1,
			    "lanes %s is not in 1..255", r->fields[EDGE_LANES]);
	}
	const struct fs_node *a = &ctx->b->nodes[from], *z = &ctx->b->nodes[to];
	struct fs_point pts[2] = { { a->x, a->y }, { z->x, z->y } };
	struct fs_edge e = {
		.from = from,
		.to = to,
		.length_m = (float)length,
		.speed_mps = (float)speed,
		.lanes = (uint8_t)lanes,
		.road_class = FS_ROAD_OTHER,
		.shape_first = ctx->b->shape_count,
		.shape_count = 2,
	};
	e.travel_time_s = e.length_m / e.speed_mps;
	if (fs_netb_intern_name(ctx->b, r->fields[EDGE_NAME], &e.name) < 0 ||
	    fs_netb_add_shape(ctx->b, pts, 2) < 0 || fs_netb_add_edge(ctx->b, &e) < 0) {
		return fail(r, -ENOMEM, 0, "out of memory");
	}
	return 0;
}

struct fs_network *fs_network_load_csv(const char *nodes_csv, const char *edges_csv,
				       struct fs_error *err)
{
	struct fs_netb b;
	struct fs_projection proj;
	fs_projection_init(&proj, 0.0, 0.0);
	struct csv_ctx ctx = { .b = &b, .proj = &proj };
	if (fs_netb_init(&b) < 0) {
		fs_error_set(err, -ENOMEM, "%s: out of memory", nodes_csv);
		return NULL;
	}
	if (read_csv(nodes_csv, &node_spec, on_node_row, &ctx, err) < 0) {
		goto out_free;
	}
	if (b.node_count == 0) {
		fs_error_set(err, -EINVAL, "%s: no nodes", nodes_csv);
		goto out_free;
	}
	qsort(ctx.ids, b.node_count, sizeof(*ctx.ids), cmp_id);
	for (uint32_t i = 1; i < b.node_count; i++) {
		if (ctx.ids[i].id == ctx.ids[i - 1].id) {
			fs_error_at(err, -EINVAL, nodes_csv, ctx.ids[i].line, 1,
				    "duplicate node id %" PRId64 " (first on line %" PRIu32 ")",
				    ctx.ids[i].id, ctx.ids[i - 1].line);
			goto out_free;
		}
	}
	if (read_csv(edges_csv, &edge_spec, on_edge_row, &ctx, err) < 0) {
		goto out_free;
	}
	fs_free(ctx.ids);
	char source[256];
	snprintf(source, sizeof(source), "csv:%s,%s", nodes_csv, edges_csv);
	struct fs_network *net = fs_netb_build(&b, &proj, source);
	if (!net) {
		fs_error_set(err, -ENOMEM, "%s: out of memory", edges_csv);
	}
	return net;

out_free:
	fs_free(ctx.ids);
	fs_netb_finish_free(&b);
	return NULL;
}
