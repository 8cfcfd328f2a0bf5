/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz_scene - the viewer's model of a run and its draw lists (see viz_scene.h).
 *
 * Costs that matter at 100,000 vehicles: applying a full batch is one pass
 * (trails carried over by id; batches keep their order from tick to tick, so
 * the lookup is nearly always "same index"); drawing is one pass to bucket
 * vehicles by state (a counting sort) and a second to write one rectangle per
 * visible vehicle into the bucket's range, so the backend draws each state in
 * one call. Roads are culled by bounding box and thinned to one point per
 * pixel. Nothing allocates per frame once the lists have grown.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/grow.h"
#include "fs/idmap.h"
#include "fs_vehicle_msg.h"
#include "viz_scene.h"

#define MAX_KPIS 128
#define KPI_NAME_MAX 48
#define MAX_RIDERS 1000000u
#define MAX_HEALTH 1000000u
#define WAIT_RING 4096
#define HEAT_HALF_LIFE_MS (20 * 60 * 1000) /* demand fades with a 20 min half-life (viewer choice) */
#define RIDER_GRACE_MS (60 * 1000)         /* kept this long past their patience if no outcome is seen */
#define RIDER_DEFAULT_PATIENCE_S 600       /* for requests that carry none */
#define SERIES_STEP_MS (60 * 1000)
#define TRAIL_STEP_MS 1000
#define TRAIL_POINT_BUDGET 250000u /* trail points per frame at most */

/* ---- draw lists ---- */

void viz_draw_list_clear(struct viz_draw_list *l)
{
	l->ncmds = l->nrects = l->npoints = l->nverts = 0;
	l->failed = false;
}

void viz_draw_list_finish(struct viz_draw_list *l)
{
	free(l->cmds);
	free(l->rects);
	free(l->points);
	free(l->verts);
	*l = (struct viz_draw_list){ 0 };
}

/* Room for @more items in a draw list's array; a list that cannot grow is marked failed. */
#define GROW(list, arr, n, cap, more) \
	(FS_GROW((list)->arr, (list)->cap, (list)->n + (more)) == 0 || ((list)->failed = true, false))

static struct viz_cmd *add_cmd(struct viz_draw_list *l, enum viz_prim prim, struct viz_color c, bool blend,
			       uint32_t first)
{
	if (!GROW(l, cmds, ncmds, cmds_cap, 1)) {
		return NULL;
	}
	struct viz_cmd *cmd = &l->cmds[l->ncmds++];
	*cmd = (struct viz_cmd){ .prim = (uint8_t)prim, .width = 1, .blend = blend, .color = c, .first = first };
	return cmd;
}

/* ---- palette ---- */

static const struct viz_color state_colors[VIZ_STATE_COUNT] = {
	{ 255, 255, 255, 255 }, /* unspecified */
	{ 140, 155, 176, 255 }, /* delivered */
	{ 179, 157, 219, 255 }, /* commissioning */
	{ 60, 208, 112, 255 },  /* available */
	{ 255, 200, 60, 255 },  /* to pickup */
	{ 255, 140, 30, 255 },  /* waiting for rider */
	{ 50, 150, 255, 255 },  /* in trip */
	{ 40, 220, 220, 255 },  /* repositioning */
	{ 215, 140, 255, 255 }, /* to charger */
	{ 160, 80, 255, 255 },  /* charging */
	{ 190, 130, 70, 255 },  /* maintenance */
	{ 125, 125, 125, 255 }, /* out of service */
	{ 255, 50, 50, 255 },   /* minimal-risk stop / fault */
};

static const char *const state_names[VIZ_STATE_COUNT] = {
	"unknown", "delivered", "commissioning", "available", "to pickup", "waiting for rider", "in trip",
	"repositioning", "to charger", "charging", "maintenance", "out of service", "minimal-risk stop",
};

struct viz_color viz_state_color(uint32_t state)
{
	return state < VIZ_STATE_COUNT ? state_colors[state] : state_colors[0];
}

const char *viz_state_name(uint32_t state)
{
	return state < VIZ_STATE_COUNT ? state_names[state] : state_names[0];
}

/*
 * How each road class is drawn: colour, line width (px), rank in the drawing
 * order (minor roads first so major ones lie on top) and the scale (px/m)
 * below which it is left out (a city-wide view of service roads is noise).
 */
struct road_style {
	struct viz_color color;
	uint8_t width, rank;
	double min_scale;
};

static const struct road_style road_styles[FS_ROAD_CLASS_COUNT] = {
	[FS_ROAD_MOTORWAY] = { { 178, 122, 64, 255 }, 3, 6, 0.0 },
	[FS_ROAD_TRUNK] = { { 168, 138, 82, 255 }, 3, 6, 0.0 },
	[FS_ROAD_PRIMARY] = { { 150, 152, 164, 255 }, 2, 4, 0.0 },
	[FS_ROAD_SECONDARY] = { { 122, 125, 138, 255 }, 2, 3, 0.0 },
	[FS_ROAD_TERTIARY] = { { 98, 101, 114, 255 }, 1, 2, 0.0 },
	[FS_ROAD_UNCLASSIFIED] = { { 74, 77, 88, 255 }, 1, 1, 0.015 },
	[FS_ROAD_RESIDENTIAL] = { { 74, 77, 88, 255 }, 1, 1, 0.015 },
	[FS_ROAD_LIVING_STREET] = { { 56, 59, 68, 255 }, 1, 0, 0.05 },
	[FS_ROAD_SERVICE] = { { 56, 59, 68, 255 }, 1, 0, 0.05 },
	[FS_ROAD_MOTORWAY_LINK] = { { 178, 122, 64, 255 }, 2, 5, 0.0 },
	[FS_ROAD_TRUNK_LINK] = { { 168, 138, 82, 255 }, 2, 5, 0.0 },
	[FS_ROAD_PRIMARY_LINK] = { { 150, 152, 164, 255 }, 1, 4, 0.0 },
	[FS_ROAD_SECONDARY_LINK] = { { 122, 125, 138, 255 }, 1, 3, 0.0 },
	[FS_ROAD_TERTIARY_LINK] = { { 98, 101, 114, 255 }, 1, 2, 0.0 },
	[FS_ROAD_OTHER] = { { 84, 84, 94, 255 }, 1, 1, 0.015 },
};

/* A class this build does not know: drawn last, thin, grey. */
static const struct road_style unknown_road = { { 84, 84, 94, 255 }, 1, 6, 0.0 };

static const struct road_style *road_style(uint32_t cls)
{
	return cls < FS_ROAD_CLASS_COUNT ? &road_styles[cls] : &unknown_road;
}

struct viz_color viz_road_color(uint32_t cls)
{
	return road_style(cls)->color;
}

struct viz_color viz_background_color(void)
{
	return (struct viz_color){ 20, 22, 28, 255 };
}

struct viz_color viz_depot_color(void)
{
	return (struct viz_color){ 235, 235, 235, 255 };
}

struct viz_color viz_rider_color(void)
{
	return (struct viz_color){ 255, 90, 200, 255 };
}

struct viz_color viz_select_color(void)
{
	return (struct viz_color){ 255, 255, 255, 255 };
}

struct viz_color viz_refusal_color(void)
{
	return (struct viz_color){ 170, 24, 40, 255 };
}

/* ---- the view ---- */

void viz_view_fit(struct viz_view *v, double min_x, double min_y, double max_x, double max_y)
{
	double bw = max_x - min_x, bh = max_y - min_y;
	if (!(bw > 1)) {
		bw = 1000;
	}
	if (!(bh > 1)) {
		bh = 1000;
	}
	double aw = v->area.w > 1 ? v->area.w : 1, ah = v->area.h > 1 ? v->area.h : 1;
	double s = fmin(aw * 0.94 / bw, ah * 0.94 / bh);
	v->scale = fmin(fmax(s, VIZ_SCALE_MIN), VIZ_SCALE_MAX);
	v->cx = (min_x + max_x) / 2;
	v->cy = (min_y + max_y) / 2;
}

void viz_view_to_screen(const struct viz_view *v, double x, double y, float *ret_sx, float *ret_sy)
{
	*ret_sx = (float)(v->area.x + v->area.w / 2 + (x - v->cx) * v->scale);
	*ret_sy = (float)(v->area.y + v->area.h / 2 - (y - v->cy) * v->scale);
}

void viz_view_to_world(const struct viz_view *v, double sx, double sy, double *ret_x, double *ret_y)
{
	*ret_x = v->cx + (sx - v->area.x - v->area.w / 2) / v->scale;
	*ret_y = v->cy - (sy - v->area.y - v->area.h / 2) / v->scale;
}

void viz_view_zoom_at(struct viz_view *v, double factor, double sx, double sy)
{
	if (!(factor > 0)) {
		return;
	}
	double wx, wy;
	viz_view_to_world(v, sx, sy, &wx, &wy);
	v->scale = fmin(fmax(v->scale * factor, VIZ_SCALE_MIN), VIZ_SCALE_MAX);
	/* Keep (wx, wy) under (sx, sy). */
	v->cx = wx - (sx - v->area.x - v->area.w / 2) / v->scale;
	v->cy = wy + (sy - v->area.y - v->area.h / 2) / v->scale;
}

void viz_view_pan(struct viz_view *v, double dx, double dy)
{
	v->cx -= dx / v->scale;
	v->cy += dy / v->scale;
}

void viz_view_scale_bar(const struct viz_view *v, double max_px, double *ret_m, double *ret_px, char *label,
			size_t label_size)
{
	double max_m = max_px / v->scale, best = 1;
	for (double p = 1; p <= 1e7; p *= 10) {
		const double steps[] = { 1, 2, 5 };
		for (int i = 0; i < 3; i++) {
			if (steps[i] * p <= max_m) {
				best = steps[i] * p;
			}
		}
	}
	*ret_m = best;
	*ret_px = best * v->scale;
	if (best >= 1000) {
		snprintf(label, label_size, "%g km", best / 1000);
	} else {
		snprintf(label, label_size, "%g m", best);
	}
}

float viz_marker_size(const struct viz_view *v)
{
	/* 3 px at city scale, growing by 2 px per doubling of zoom past 0.2 px/m, odd so it centres. */
	double s = 3;
	if (v->scale > 0.2) {
		s = 3 + 2 * log2(v->scale / 0.2);
	}
	int n = (int)lround(fmin(s, 15));
	return (float)(n | 1);
}

/* ---- the scene ---- */

struct road {
	uint32_t edge;
	uint8_t cls;
	float min_x, min_y, max_x, max_y;
};

struct shard {
	struct viz_vehicle *v;
	struct fs_vehicle_record *rec; /* each vehicle's last record, moves merged: parallel to v */
	struct viz_fpoint *trail; /* cap * VIZ_TRAIL_LEN */
	uint32_t count;
	size_t cap;
	/* the arrays of the keyframe before: the next keyframe is built in them, then swapped */
	struct viz_vehicle *spare_v;
	struct fs_vehicle_record *spare_rec;
	struct viz_fpoint *spare_trail;
	size_t spare_cap;
	struct fs_idmap index;      /* id -> position in v, valid if index_valid */
	bool index_valid;
	bool seen;
	bool keyframed;           /* a keyframe arrived: every vehicle of the shard is known */
	int64_t time_ms;          /* of the newest batch */
	int64_t keyframe_ms;      /* of the newest keyframe */
};

struct rider {
	uint64_t id;
	float x, y;
	int64_t requested_ms, deadline_ms;
};

struct health {
	uint8_t dev[VIZ_DEVICE_COUNT];
};

struct kpi {
	char name[KPI_NAME_MAX];
	double value;
};

struct viz_scene {
	const struct fs_network *net;
	struct road *roads;
	uint32_t nroads;
	struct viz_fpoint *depots;
	uint32_t ndepots;

	struct shard *shards;          /* VIZ_MAX_SHARDS */
	uint32_t shard_count;          /* from the batches; 0 before any */
	uint32_t prefix[VIZ_MAX_SHARDS + 1]; /* vehicles before shard s in the merged order */
	bool origin_mismatch;
	double run_origin_lat, run_origin_lon; /* of the refused batches' network */
	struct fs_vehicle_records decoded;   /* the batch being applied */
	struct fs_vehicle_event *events;     /* the event batch being applied */
	size_t events_cap;
	uint64_t moves_ignored;
	char refusal[160];
	int64_t data_ms;               /* newest vehicle batch */
	int64_t display_ms;            /* of the last placement */
	uint32_t place_cursor;         /* where the next frame's placement window starts */

	struct fs_idmap health_index;    /* vehicle id -> health slot */
	struct health *health;
	uint32_t nhealth;
	size_t health_cap;

	struct fs_idmap rider_index;     /* request id -> riders slot */
	struct rider *riders;
	uint32_t nriders;
	size_t riders_cap;
	uint64_t requests, served, cancelled, rejected;
	float waits[WAIT_RING];
	uint32_t nwaits, wait_head;
	double wait_p50, wait_p95;

	float heat[VIZ_HEAT_ROWS][VIZ_HEAT_COLS];
	int64_t heat_ms;

	struct kpi kpis[MAX_KPIS];
	uint32_t nkpis;

	struct viz_run run;
	int64_t now_ms;
	int64_t series_ms;
	struct viz_series series[VIZ_SERIES_COUNT];

	/* drawing scratch (the scene is logically const while drawing) */
	uint32_t *scratch;
	size_t scratch_cap;
};

static int cmp_road(const void *a, const void *b)
{
	const struct road *x = a, *y = b;
	int rx = road_style(x->cls)->rank, ry = road_style(y->cls)->rank;
	if (rx != ry) {
		return rx - ry;
	}
	return x->edge < y->edge ? -1 : x->edge > y->edge;
}

/* The other direction of a two-way road: same geometry reversed. */
static bool is_twin(const struct fs_network *net, uint32_t e, uint32_t f)
{
	const struct fs_edge *a = &net->edges[e], *b = &net->edges[f];
	if (a->from != b->to || a->to != b->from || a->shape_count != b->shape_count) {
		return false;
	}
	for (uint32_t i = 0; i < a->shape_count; i++) {
		const struct fs_point *p = &net->shape[a->shape_first + i];
		const struct fs_point *q = &net->shape[b->shape_first + b->shape_count - 1 - i];
		if (fabs(p->x - q->x) > 0.01 || fabs(p->y - q->y) > 0.01) {
			return false;
		}
	}
	return true;
}

static int build_roads(struct viz_scene *s)
{
	const struct fs_network *net = s->net;
	s->roads = calloc(net->edge_count ? net->edge_count : 1, sizeof(*s->roads));
	if (!s->roads) {
		return -ENOMEM;
	}
	for (uint32_t e = 0; e < net->edge_count; e++) {
		const struct fs_edge *ed = &net->edges[e];
		bool drawn_by_twin = false;
		for (uint32_t k = net->out_first[ed->to]; k < net->out_first[ed->to + 1]; k++) {
			if (k < e && is_twin(net, e, k)) {
				drawn_by_twin = true;
				break;
			}
		}
		if (drawn_by_twin || ed->shape_count < 2) {
			continue;
		}
		struct road *r = &s->roads[s->nroads++];
		r->edge = e;
		r->cls = ed->road_class;
		r->min_x = r->min_y = INFINITY;
		r->max_x = r->max_y = -INFINITY;
		for (uint32_t i = 0; i < ed->shape_count; i++) {
			const struct fs_point *p = &net->shape[ed->shape_first + i];
			r->min_x = fminf(r->min_x, (float)p->x);
			r->min_y = fminf(r->min_y, (float)p->y);
			r->max_x = fmaxf(r->max_x, (float)p->x);
			r->max_y = fmaxf(r->max_y, (float)p->y);
		}
	}
	qsort(s->roads, s->nroads, sizeof(*s->roads), cmp_road);
	return 0;
}

struct viz_scene *viz_scene_create(const struct fs_network *net, const uint32_t *depot_nodes, uint32_t depot_count)
{
	struct viz_scene *s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	s->net = net;
	s->shards = calloc(VIZ_MAX_SHARDS, sizeof(*s->shards));
	s->depots = calloc(depot_count ? depot_count : 1, sizeof(*s->depots));
	if (!s->shards || !s->depots || build_roads(s) < 0) {
		viz_scene_destroy(s);
		return NULL;
	}
	for (uint32_t d = 0; d < depot_count; d++) {
		if (depot_nodes[d] < net->node_count) {
			const struct fs_node *n = &net->nodes[depot_nodes[d]];
			s->depots[s->ndepots++] = (struct viz_fpoint){ (float)n->x, (float)n->y };
		}
	}
	s->wait_p50 = s->wait_p95 = NAN;
	s->series_ms = INT64_MIN;
	return s;
}

static void shard_reset(struct shard *sh)
{
	free(sh->v);
	free(sh->rec);
	free(sh->trail);
	free(sh->spare_v);
	free(sh->spare_rec);
	free(sh->spare_trail);
	fs_idmap_finish(&sh->index);
	*sh = (struct shard){ 0 };
}

void viz_scene_destroy(struct viz_scene *s)
{
	if (!s) {
		return;
	}
	if (s->shards) {
		for (uint32_t i = 0; i < VIZ_MAX_SHARDS; i++) {
			shard_reset(&s->shards[i]);
		}
	}
	free(s->shards);
	free(s->roads);
	free(s->depots);
	fs_idmap_finish(&s->health_index);
	free(s->health);
	fs_idmap_finish(&s->rider_index);
	free(s->riders);
	free(s->scratch);
	fs_vehicle_records_finish(&s->decoded);
	free(s->events);
	free(s);
}

const struct fs_network *viz_scene_network(const struct viz_scene *s)
{
	return s->net;
}

/* A new run on the same bus (time went backwards): forget the old one. */
static void scene_reset_run(struct viz_scene *s)
{
	for (uint32_t i = 0; i < VIZ_MAX_SHARDS; i++) {
		shard_reset(&s->shards[i]);
	}
	memset(s->prefix, 0, sizeof(s->prefix));
	s->shard_count = 0;
	fs_idmap_finish(&s->health_index);
	s->nhealth = 0;
	fs_idmap_finish(&s->rider_index);
	s->nriders = 0;
	s->requests = s->served = s->cancelled = s->rejected = 0;
	s->nwaits = s->wait_head = 0;
	s->wait_p50 = s->wait_p95 = NAN;
	memset(s->heat, 0, sizeof(s->heat));
	s->nkpis = 0;
	memset(s->series, 0, sizeof(s->series));
	s->series_ms = INT64_MIN;
	s->now_ms = 0;
	s->heat_ms = 0;
	s->data_ms = s->display_ms = 0;
	s->moves_ignored = 0;
}

static void update_prefix(struct viz_scene *s)
{
	uint32_t total = 0;
	for (uint32_t i = 0; i < VIZ_MAX_SHARDS; i++) {
		s->prefix[i] = total;
		total += s->shards[i].count;
	}
	s->prefix[VIZ_MAX_SHARDS] = total;
}

static int shard_index(struct shard *sh)
{
	if (sh->index_valid) {
		return 0;
	}
	if (sh->index.cap) {
		fs_idmap_clear(&sh->index);
	}
	int rc = fs_idmap_reserve(&sh->index, sh->count);
	if (rc < 0) {
		return rc;
	}
	for (uint32_t i = 0; i < sh->count; i++) {
		if ((rc = fs_idmap_put(&sh->index, sh->v[i].id, i)) < 0) {
			return rc;
		}
	}
	sh->index_valid = true;
	return 0;
}

static int shard_reserve(struct shard *sh, uint32_t n)
{
	const struct fs_grow_array arrays[] = {
		FS_GROW_ARRAY(sh->v),
		FS_GROW_ARRAY(sh->rec),
		{ (void **)&sh->trail, VIZ_TRAIL_LEN * sizeof(*sh->trail) },
	};
	return fs_grow_parallel(&sh->cap, n, arrays, 3);
}

static void trail_push(struct viz_vehicle *v, struct viz_fpoint *trail, int64_t now_ms)
{
	if (v->trail_len && now_ms - v->trail_ms < TRAIL_STEP_MS) {
		return;
	}
	struct viz_fpoint here = { (float)v->x, (float)v->y };
	if (v->trail_len) {
		const struct viz_fpoint *last = &trail[(v->trail_head + VIZ_TRAIL_LEN - 1) % VIZ_TRAIL_LEN];
		if (last->x == here.x && last->y == here.y) {
			v->trail_ms = now_ms;
			return; /* standing still adds nothing */
		}
	}
	trail[v->trail_head] = here;
	v->trail_head = (uint8_t)((v->trail_head + 1) % VIZ_TRAIL_LEN);
	if (v->trail_len < VIZ_TRAIL_LEN) {
		v->trail_len++;
	}
	v->trail_ms = now_ms;
}

/* What a full record says about a vehicle apart from where it is (placed later). */
static void take_status(struct viz_vehicle *v, const struct fs_vehicle_record *r)
{
	v->id = r->id;
	v->state = r->state < VIZ_STATE_COUNT ? r->state : 0;
	v->health_flags = r->health_flags;
	v->odd_flags = r->odd_flags;
	v->sw_version = r->sw_version;
	v->job_id = r->job_id;
	v->edge = r->edge;
	v->record_ms = r->t_ms;
	v->placed_ms = INT64_MIN;
}

static bool same_segment(const struct fs_vehicle_record *a, const struct fs_vehicle_record *b)
{
	return a->edge == b->edge && a->seg_start_ms == b->seg_start_ms && a->seg_end_ms == b->seg_end_ms &&
	       a->seg_from_m == b->seg_from_m && a->seg_to_m == b->seg_to_m;
}

/* A vehicle new to the shard: no trail yet, not placed. */
static void vehicle_init(struct viz_vehicle *v, const struct fs_vehicle_record *r)
{
	*v = (struct viz_vehicle){ .trail_ms = INT64_MIN, .soc = NAN };
	take_status(v, r);
}

/*
 * A keyframe: the shard's whole set becomes the batch's records. Trails and
 * places carry over by id (batches keep their order from one keyframe to the
 * next, so the lookup is nearly always "same index").
 */
static int apply_keyframe(struct shard *sh, const struct fs_vehicle_records *in)
{
	size_t n = 0;
	while (n < in->count && in->items[n].kind != FS_VEHICLE_RECORD_MOVE) {
		n++; /* full records come first */
	}
	/* Grown with room, and reused keyframe after keyframe: a 100,000-vehicle keyframe
	 * in fresh memory each time costs more in page faults than in work. */
	const struct fs_grow_array spares[] = {
		FS_GROW_ARRAY(sh->spare_v),
		FS_GROW_ARRAY(sh->spare_rec),
		{ (void **)&sh->spare_trail, VIZ_TRAIL_LEN * sizeof(*sh->spare_trail) },
	};
	if (fs_grow_parallel(&sh->spare_cap, n, spares, 3) < 0) {
		return -ENOMEM;
	}
	struct viz_vehicle *nv = sh->spare_v;
	struct fs_vehicle_record *nr = sh->spare_rec;
	struct viz_fpoint *nt = sh->spare_trail;
	for (size_t i = 0; i < n; i++) {
		const struct fs_vehicle_record *r = &in->items[i];
		uint32_t old = UINT32_MAX;
		if (i < sh->count && sh->v[i].id == r->id) {
			old = (uint32_t)i;
		} else if (sh->count && shard_index(sh) == 0) {
			fs_idmap_get(&sh->index, r->id, &old);
		}
		nr[i] = *r;
		if (old != UINT32_MAX) {
			nv[i] = sh->v[old];
			take_status(&nv[i], r);
			if (same_segment(&sh->rec[old], r)) {
				nv[i].placed_ms = sh->v[old].placed_ms; /* nothing new about where it is */
			}
			memcpy(&nt[i * VIZ_TRAIL_LEN], &sh->trail[(size_t)old * VIZ_TRAIL_LEN], VIZ_TRAIL_LEN * sizeof(*nt));
		} else {
			vehicle_init(&nv[i], r);
		}
	}
	sh->spare_v = sh->v;
	sh->spare_rec = sh->rec;
	sh->spare_trail = sh->trail;
	size_t cap = sh->cap;
	sh->v = nv;
	sh->rec = nr;
	sh->trail = nt;
	sh->cap = sh->spare_cap;
	sh->spare_cap = cap;
	sh->count = (uint32_t)n;
	sh->index_valid = false;
	return 0;
}

/*
 * News: full records replace (or add) their vehicle's, moves update a known
 * one. A move for a vehicle whose full record we never had cannot be shown
 * (its state is unknown): it waits for the shard's next keyframe. Records
 * older than the one held (a reordered delivery) are left out.
 */
static int apply_news(struct shard *sh, const struct fs_vehicle_records *in, uint64_t *moves_ignored)
{
	int rc = shard_index(sh);
	if (rc < 0) {
		return rc;
	}
	for (size_t i = 0; i < in->count; i++) {
		const struct fs_vehicle_record *r = &in->items[i];
		uint32_t at;
		bool known = fs_idmap_get(&sh->index, r->id, &at);
		if (!known && r->kind == FS_VEHICLE_RECORD_MOVE) {
			(*moves_ignored)++;
			continue;
		}
		if (!known) {
			if ((rc = shard_reserve(sh, sh->count + 1)) < 0 || (rc = fs_idmap_put(&sh->index, r->id, sh->count)) < 0) {
				return rc;
			}
			at = sh->count++;
			vehicle_init(&sh->v[at], r);
		} else if (r->t_ms < sh->rec[at].t_ms) {
			continue;
		}
		fs_vehicle_record_merge(&sh->rec[at], known, r); /* cannot fail: known, or a full record */
		if (r->kind == FS_VEHICLE_RECORD_MOVE) {
			sh->v[at].edge = r->edge;
			sh->v[at].record_ms = r->t_ms;
			sh->v[at].placed_ms = INT64_MIN;
		} else {
			take_status(&sh->v[at], r);
		}
	}
	return 0;
}

/* Does the record put the vehicle at the same place at times @a and @b? */
static bool same_place(const struct fs_vehicle_record *r, int64_t a, int64_t b)
{
	if (r->seg_from_m == r->seg_to_m || r->seg_end_ms == FS_NEVER_MS) {
		return true;
	}
	return (a >= r->seg_end_ms && b >= r->seg_end_ms) || (a <= r->seg_start_ms && b <= r->seg_start_ms);
}

/* Place @v from @r at @display_ms; false (and nothing done) when that needs placing and @may_place is not. */
static bool place_vehicle(const struct fs_network *net, struct viz_vehicle *v, const struct fs_vehicle_record *r,
			  int64_t display_ms, bool may_place)
{
	int64_t t = display_ms > r->t_ms ? display_ms : r->t_ms;
	v->soc = (float)fs_vehicle_record_soc_at(r, t);
	if (v->placed_ms != INT64_MIN && same_place(r, v->placed_ms, t)) {
		return true; /* standing: nothing to compute */
	}
	if (!may_place && v->placed_ms != INT64_MIN) {
		return false;
	}
	struct fs_vehicle_snapshot s;
	v->on_map = fs_vehicle_record_place(r, net, t, &s) == 0;
	v->x = v->on_map ? s.x : 0;
	v->y = v->on_map ? s.y : 0;
	v->heading_rad = (float)s.heading_rad;
	v->speed_mps = (float)s.speed_mps;
	v->placed_ms = t;
	return true;
}

/*
 * Placing a moving vehicle costs ~0.1 us (its road's geometry); past
 * VIZ_PLACE_BUDGET vehicles a frame, the moving ones take turns (a window of
 * the merged order that moves on each frame), so a 100,000-vehicle fleet
 * moves at a fraction of the frame rate instead of slowing every frame.
 * Vehicles with a new record are always placed.
 */
void viz_scene_place(struct viz_scene *s, int64_t display_ms)
{
	s->display_ms = display_ms;
	uint32_t total = viz_scene_vehicle_count(s), n = 0;
	bool budgeted = total > VIZ_PLACE_BUDGET;
	uint32_t from = budgeted ? s->place_cursor % total : 0;
	for (uint32_t i = 0; i < VIZ_MAX_SHARDS; i++) {
		struct shard *sh = &s->shards[i];
		for (uint32_t k = 0; k < sh->count; k++, n++) {
			struct viz_vehicle *v = &sh->v[k];
			bool turn = !budgeted || (n - from + total) % total < VIZ_PLACE_BUDGET;
			if (place_vehicle(s->net, v, &sh->rec[k], display_ms, turn) && v->on_map) {
				trail_push(v, &sh->trail[(size_t)k * VIZ_TRAIL_LEN], v->placed_ms);
			}
		}
	}
	s->place_cursor = budgeted ? (from + VIZ_PLACE_BUDGET) % total : 0;
}

int64_t viz_scene_display_time(const struct viz_scene *s)
{
	return s->display_ms;
}

int64_t viz_scene_data_time(const struct viz_scene *s)
{
	return s->data_ms;
}

const char *viz_scene_refusal(const struct viz_scene *s)
{
	return s->refusal;
}

static int refuse(struct viz_scene *s, int rc, const char *why)
{
	snprintf(s->refusal, sizeof(s->refusal), "%s", why);
	return rc;
}

/* Batches carry the origin of the network they were computed on: another one means another city. */
static bool same_network(const struct viz_scene *s, const struct fs_vehicle_batch_info *info)
{
	return fabs(info->origin_lat - s->net->proj.origin_lat) <= 1e-6 &&
	       fabs(info->origin_lon - s->net->proj.origin_lon) <= 1e-6;
}

int viz_scene_apply_states(struct viz_scene *s, const Fleetsim__V1__VehicleStateBatch *b, int64_t sim_time_ms)
{
	const char *why = fs_vehicle_msg_decode_records(b, sim_time_ms, &s->decoded);
	if (why) {
		return refuse(s, -EINVAL, why);
	}
	const struct fs_vehicle_batch_info *info = &s->decoded.info;
	if (info->shard_count > VIZ_MAX_SHARDS) {
		return refuse(s, -EINVAL, "a batch from more shards than the viewer holds");
	}
	if (!same_network(s, info)) {
		s->origin_mismatch = true;
		s->run_origin_lat = info->origin_lat;
		s->run_origin_lon = info->origin_lon;
		return refuse(s, -EXDEV, "a batch computed on another road network (projection origin)");
	}
	if (s->shards[info->shard].seen && sim_time_ms < s->shards[info->shard].time_ms) {
		scene_reset_run(s);
	}
	if (info->shard_count != s->shard_count) {
		/* The run has a different shard layout than we knew: drop shards it no longer has. */
		for (uint32_t i = info->shard_count; i < VIZ_MAX_SHARDS; i++) {
			if (s->shards[i].seen) {
				shard_reset(&s->shards[i]);
			}
		}
		s->shard_count = info->shard_count;
	}
	struct shard *sh = &s->shards[info->shard];
	int rc = info->full ? apply_keyframe(sh, &s->decoded) : apply_news(sh, &s->decoded, &s->moves_ignored);
	if (rc < 0) {
		return rc;
	}
	if (info->full) {
		sh->keyframe_ms = sim_time_ms;
		sh->keyframed = true;
		/* Moves in a keyframe's batch (vehicle nodes send none there) update its full records. */
		if (s->decoded.count > sh->count) {
			rc = apply_news(sh, &(struct fs_vehicle_records){ .items = s->decoded.items + sh->count,
									  .count = s->decoded.count - sh->count },
					&s->moves_ignored);
		}
		if (rc < 0) {
			return rc;
		}
	}
	sh->seen = true;
	sh->time_ms = sim_time_ms;
	if (sim_time_ms > s->data_ms) {
		s->data_ms = sim_time_ms;
	}
	update_prefix(s);
	viz_scene_advance(s, sim_time_ms);
	return 0;
}

int viz_device_flat_index(int kind, uint32_t index)
{
	static const uint32_t first[] = { 0, 0, 14, 23, 24, 36 };
	static const uint32_t count[] = { 0, 14, 9, 1, 12, 2 };
	if (kind < 1 || kind > 5 || index >= count[kind]) {
		return -1;
	}
	return (int)(first[kind] + index);
}

int viz_scene_apply_events(struct viz_scene *s, const Fleetsim__V1__VehicleEventBatch *b)
{
	size_t n;
	const char *why = fs_vehicle_msg_decode_events(b, &s->events, &s->events_cap, &n);
	if (why) {
		return refuse(s, -EINVAL, why);
	}
	for (size_t i = 0; i < n; i++) {
		const struct fs_vehicle_event *e = &s->events[i];
		if (e->kind != FS_VEV_DEVICE_HEALTH) {
			continue;
		}
		int d = viz_device_flat_index(e->device, e->device_index);
		if (d < 0) {
			continue;
		}
		uint32_t slot;
		if (!fs_idmap_get(&s->health_index, e->vehicle_id, &slot)) {
			if (s->nhealth >= MAX_HEALTH) {
				continue;
			}
			if (FS_GROW(s->health, s->health_cap, s->nhealth + 1) < 0) {
				return -ENOMEM;
			}
			slot = s->nhealth;
			if (fs_idmap_put(&s->health_index, e->vehicle_id, slot) < 0) {
				return -ENOMEM;
			}
			memset(&s->health[slot], 0, sizeof(s->health[slot]));
			s->nhealth++;
		}
		s->health[slot].dev[d] = (uint8_t)e->health;
	}
	return 0;
}

bool viz_scene_device_health(const struct viz_scene *s, uint32_t id, uint8_t ret[VIZ_DEVICE_COUNT])
{
	uint32_t slot;
	if (!fs_idmap_get(&s->health_index, id, &slot)) {
		memset(ret, 0, VIZ_DEVICE_COUNT);
		return false;
	}
	memcpy(ret, s->health[slot].dev, VIZ_DEVICE_COUNT);
	return true;
}

static void heat_cell(const struct viz_scene *s, double x, double y, int *ret_c, int *ret_r)
{
	const struct fs_network *n = s->net;
	double w = n->max_x - n->min_x, h = n->max_y - n->min_y;
	int c = w > 0 ? (int)((x - n->min_x) / w * VIZ_HEAT_COLS) : 0;
	int r = h > 0 ? (int)((y - n->min_y) / h * VIZ_HEAT_ROWS) : 0;
	*ret_c = c < 0 ? 0 : c >= VIZ_HEAT_COLS ? VIZ_HEAT_COLS - 1 : c;
	*ret_r = r < 0 ? 0 : r >= VIZ_HEAT_ROWS ? VIZ_HEAT_ROWS - 1 : r;
}

static void rider_remove(struct viz_scene *s, uint32_t slot)
{
	fs_idmap_del(&s->rider_index, s->riders[slot].id);
	uint32_t last = --s->nriders;
	if (slot != last) {
		s->riders[slot] = s->riders[last];
		fs_idmap_put(&s->rider_index, s->riders[slot].id, slot); /* replaces: cannot fail to allocate */
	}
}

int viz_scene_apply_requests(struct viz_scene *s, const Fleetsim__V1__RideRequestBatch *b, int64_t sim_time_ms)
{
	for (size_t i = 0; i < b->n_requests; i++) {
		const Fleetsim__V1__RideRequest *r = b->requests[i];
		if (!r->origin || !isfinite(r->origin->x_m) || !isfinite(r->origin->y_m)) {
			continue;
		}
		s->requests++;
		int c, row;
		heat_cell(s, r->origin->x_m, r->origin->y_m, &c, &row);
		s->heat[row][c] += 1.0f;
		uint32_t slot;
		if (fs_idmap_get(&s->rider_index, r->request_id, &slot) || s->nriders >= MAX_RIDERS) {
			continue;
		}
		if (FS_GROW(s->riders, s->riders_cap, s->nriders + 1) < 0) {
			return -ENOMEM;
		}
		if (fs_idmap_put(&s->rider_index, r->request_id, s->nriders) < 0) {
			return -ENOMEM;
		}
		int64_t asked = r->requested_ms ? r->requested_ms : sim_time_ms;
		uint32_t patience = r->patience_s ? r->patience_s : RIDER_DEFAULT_PATIENCE_S;
		s->riders[s->nriders++] = (struct rider){ .id = r->request_id, .x = r->origin->x_m, .y = r->origin->y_m,
							  .requested_ms = asked,
							  .deadline_ms = asked + (int64_t)patience * 1000 + RIDER_GRACE_MS };
	}
	viz_scene_advance(s, sim_time_ms);
	return 0;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank quantile of the sorted @v[0..n). */
static double quantile(const float *v, uint32_t n, double q)
{
	uint32_t k = (uint32_t)ceil(q * n);
	return v[k ? k - 1 : 0];
}

void viz_scene_apply_trips(struct viz_scene *s, const Fleetsim__V1__TripEventBatch *b)
{
	bool new_waits = false;
	for (size_t i = 0; i < b->n_events; i++) {
		const Fleetsim__V1__TripEvent *e = b->events[i];
		uint32_t slot;
		bool waiting = fs_idmap_get(&s->rider_index, e->request_id, &slot);
		switch (e->kind) {
		case FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_PICKED_UP:
			if (waiting) {
				double wait_s = (double)(e->sim_time_ms - s->riders[slot].requested_ms) / 1000.0;
				if (wait_s >= 0) {
					s->waits[s->wait_head] = (float)wait_s;
					s->wait_head = (s->wait_head + 1) % WAIT_RING;
					s->nwaits += s->nwaits < WAIT_RING;
					new_waits = true;
				}
				rider_remove(s, slot);
			}
			break;
		case FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_DROPPED_OFF:
			s->served++;
			if (waiting) {
				rider_remove(s, slot);
			}
			break;
		case FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_CANCELLED:
		case FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_REJECTED:
			if (e->kind == FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_CANCELLED) {
				s->cancelled++;
			} else {
				s->rejected++;
			}
			if (waiting) {
				rider_remove(s, slot);
			}
			break;
		default:
			break;
		}
	}
	if (new_waits) {
		float sorted[WAIT_RING];
		memcpy(sorted, s->waits, s->nwaits * sizeof(float));
		qsort(sorted, s->nwaits, sizeof(float), cmp_float);
		s->wait_p50 = quantile(sorted, s->nwaits, 0.50);
		s->wait_p95 = quantile(sorted, s->nwaits, 0.95);
	}
}

void viz_scene_apply_status(struct viz_scene *s, const struct fs_control_status *st)
{
	static const enum viz_run_state map[] = { VIZ_RUN_UNKNOWN, VIZ_RUN_WAITING, VIZ_RUN_RUNNING,
						  VIZ_RUN_PAUSED, VIZ_RUN_ENDING, VIZ_RUN_ENDED };
	if (s->run.have_status && st->tick + 1 < s->run.tick && st->state != FS_RUN_ENDED) {
		scene_reset_run(s); /* a new run on the same bus */
	}
	s->run.state = (uint32_t)st->state < sizeof(map) / sizeof(map[0]) ? map[st->state] : VIZ_RUN_UNKNOWN;
	s->run.tick = st->tick;
	s->run.duration_ticks = st->duration_ticks;
	s->run.sim_time_ms = st->sim_time_ms;
	s->run.speed = st->speed;
	s->run.sim_real_ratio = st->sim_real_ratio;
	s->run.have_status = true;
	s->run.playback = st->playback != NULL;
	s->run.play_start_ms = st->playback ? st->playback->start_ms : 0;
	s->run.play_end_ms = st->playback ? st->playback->end_ms : 0;
	if (st->state == FS_RUN_RUNNING || st->state == FS_RUN_PAUSED) {
		viz_scene_advance(s, st->sim_time_ms);
	}
}

void viz_scene_apply_kpis(struct viz_scene *s, const Fleetsim__V1__KpiSnapshot *snap)
{
	for (size_t i = 0; i < snap->n_kpis; i++) {
		const Fleetsim__V1__Kpi *k = snap->kpis[i];
		if (!k->name || (k->scope && k->scope[0]) || strlen(k->name) >= KPI_NAME_MAX) {
			continue;
		}
		uint32_t j = 0;
		while (j < s->nkpis && strcmp(s->kpis[j].name, k->name)) {
			j++;
		}
		if (j == s->nkpis) {
			if (s->nkpis == MAX_KPIS) {
				continue;
			}
			snprintf(s->kpis[s->nkpis++].name, KPI_NAME_MAX, "%s", k->name);
		}
		s->kpis[j].value = k->value;
	}
}

double viz_scene_kpi(const struct viz_scene *s, const char *name)
{
	for (uint32_t j = 0; j < s->nkpis; j++) {
		if (!strcmp(s->kpis[j].name, name)) {
			return s->kpis[j].value;
		}
	}
	return NAN;
}

static void series_push(struct viz_series *se, double value, int64_t t_ms)
{
	uint32_t at = (se->first + se->count) % VIZ_SERIES_LEN;
	se->values[at] = (float)value;
	se->times_ms[at] = t_ms;
	if (se->count < VIZ_SERIES_LEN) {
		se->count++;
	} else {
		se->first = (se->first + 1) % VIZ_SERIES_LEN;
	}
}

void viz_scene_advance(struct viz_scene *s, int64_t t)
{
	if (t <= s->now_ms) {
		return;
	}
	s->now_ms = t;
	/* Heatmap decay, in steps of at least a simulated minute. */
	if (!s->heat_ms) {
		s->heat_ms = t;
	} else if (t - s->heat_ms >= 60000) {
		float f = (float)pow(0.5, (double)(t - s->heat_ms) / HEAT_HALF_LIFE_MS);
		for (int r = 0; r < VIZ_HEAT_ROWS; r++) {
			for (int c = 0; c < VIZ_HEAT_COLS; c++) {
				s->heat[r][c] *= f;
			}
		}
		s->heat_ms = t;
	}
	for (uint32_t i = 0; i < s->nriders;) {
		if (s->riders[i].deadline_ms < t) {
			rider_remove(s, i); /* its outcome was lost (observers may drop messages) */
		} else {
			i++;
		}
	}
	if (s->series_ms == INT64_MIN || t - s->series_ms >= SERIES_STEP_MS) {
		struct viz_stats st;
		viz_scene_stats(s, &st);
		if (st.fleet) {
			series_push(&s->series[VIZ_SERIES_FLEET], st.fleet, t);
			series_push(&s->series[VIZ_SERIES_WAIT_P50], st.wait_p50_s, t);
			series_push(&s->series[VIZ_SERIES_UTILISATION], st.utilisation, t);
			s->series_ms = s->series_ms == INT64_MIN ? t : s->series_ms + (t - s->series_ms) / SERIES_STEP_MS * SERIES_STEP_MS;
		}
	}
}

void viz_scene_reset(struct viz_scene *s)
{
	scene_reset_run(s);
	s->run = (struct viz_run){ 0 };
}

int64_t viz_scene_time(const struct viz_scene *s)
{
	return s->now_ms;
}

const struct viz_run *viz_scene_run(const struct viz_scene *s)
{
	return &s->run;
}

const struct viz_series *viz_scene_series(const struct viz_scene *s, enum viz_series_kind kind)
{
	return &s->series[kind < VIZ_SERIES_COUNT ? kind : 0];
}

int64_t viz_scene_shard_time(const struct viz_scene *s, uint32_t shard)
{
	return shard < VIZ_MAX_SHARDS && s->shards[shard].seen ? s->shards[shard].time_ms : INT64_MIN;
}

int64_t viz_scene_shard_keyframe_time(const struct viz_scene *s, uint32_t shard)
{
	return shard < VIZ_MAX_SHARDS && s->shards[shard].keyframed ? s->shards[shard].keyframe_ms : INT64_MIN;
}

bool viz_scene_origin_mismatch(const struct viz_scene *s)
{
	return s->origin_mismatch;
}

void viz_scene_run_origin(const struct viz_scene *s, double *ret_lat, double *ret_lon)
{
	*ret_lat = s->run_origin_lat;
	*ret_lon = s->run_origin_lon;
}

static double kpi_or(const struct viz_scene *s, const char *name, double fallback)
{
	double v = viz_scene_kpi(s, name);
	return isnan(v) ? fallback : v;
}

void viz_scene_stats(const struct viz_scene *s, struct viz_stats *ret)
{
	struct viz_stats st = { 0 };
	for (uint32_t i = 0; i < VIZ_MAX_SHARDS; i++) {
		const struct shard *sh = &s->shards[i];
		if (!sh->seen) {
			continue;
		}
		st.shards_seen++;
		st.shards_keyframed += sh->keyframed;
		for (uint32_t k = 0; k < sh->count; k++) {
			st.by_state[sh->v[k].state]++;
		}
		st.fleet += sh->count;
	}
	st.shard_count = s->shard_count;
	st.moves_ignored = s->moves_ignored;
	st.requests = s->requests;
	st.served = s->served;
	st.cancelled = s->cancelled;
	st.rejected = s->rejected;
	uint64_t outcomes = s->served + s->cancelled + s->rejected;
	st.served_share = kpi_or(s, "served.share", outcomes ? (double)s->served / (double)outcomes : NAN);
	st.wait_p50_s = kpi_or(s, "wait.p50_s", s->wait_p50);
	st.wait_p95_s = kpi_or(s, "wait.p95_s", s->wait_p95);
	st.fleet_target = viz_scene_kpi(s, "fleet.target");
	double waiting = viz_scene_kpi(s, "riders.waiting");
	st.waiting_riders = isnan(waiting) ? s->nriders : (uint32_t)waiting;
	uint32_t busy = st.by_state[FLEETSIM__V1__VEHICLE_STATE__VEHICLE_STATE_TO_PICKUP] +
			st.by_state[FLEETSIM__V1__VEHICLE_STATE__VEHICLE_STATE_WAITING_FOR_RIDER] +
			st.by_state[FLEETSIM__V1__VEHICLE_STATE__VEHICLE_STATE_IN_TRIP];
	st.utilisation = kpi_or(s, "utilisation", st.fleet ? (double)busy / st.fleet : NAN);
	*ret = st;
}

uint32_t viz_scene_vehicle_count(const struct viz_scene *s)
{
	return s->prefix[VIZ_MAX_SHARDS];
}

const struct viz_vehicle *viz_scene_vehicle_at(const struct viz_scene *s, uint32_t i)
{
	if (i >= s->prefix[VIZ_MAX_SHARDS]) {
		return NULL;
	}
	/* Last shard whose prefix is <= i and which holds vehicles. */
	uint32_t lo = 0, hi = VIZ_MAX_SHARDS;
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (s->prefix[mid] <= i) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	while (s->shards[lo].count == 0 || i - s->prefix[lo] >= s->shards[lo].count) {
		lo++;
	}
	return &s->shards[lo].v[i - s->prefix[lo]];
}

/* Shard and index of vehicle @id; false if unknown. */
static bool locate(const struct viz_scene *s, uint32_t id, uint32_t *ret_shard, uint32_t *ret_at)
{
	for (uint32_t i = 0; i < VIZ_MAX_SHARDS; i++) {
		const struct shard *sh = &s->shards[i];
		uint32_t at = UINT32_MAX;
		if (sh->index_valid) {
			fs_idmap_get(&sh->index, id, &at);
		} else {
			for (uint32_t k = 0; k < sh->count && at == UINT32_MAX; k++) {
				at = sh->v[k].id == id ? k : UINT32_MAX;
			}
		}
		if (at != UINT32_MAX) {
			*ret_shard = i;
			*ret_at = at;
			return true;
		}
	}
	return false;
}

const struct viz_vehicle *viz_scene_find(const struct viz_scene *s, uint32_t id)
{
	uint32_t sh, at;
	return locate(s, id, &sh, &at) ? &s->shards[sh].v[at] : NULL;
}

const struct fs_vehicle_record *viz_scene_record(const struct viz_scene *s, uint32_t id)
{
	uint32_t sh, at;
	return locate(s, id, &sh, &at) ? &s->shards[sh].rec[at] : NULL;
}

uint32_t viz_scene_pick(const struct viz_scene *s, const struct viz_view *view, double sx, double sy,
			double radius_px)
{
	uint32_t best = VIZ_NO_VEHICLE, best_state = 0;
	double best_d2 = radius_px * radius_px;
	for (uint32_t i = 0; i < VIZ_MAX_SHARDS; i++) {
		const struct shard *sh = &s->shards[i];
		for (uint32_t k = 0; k < sh->count; k++) {
			const struct viz_vehicle *v = &sh->v[k];
			if (!v->on_map) {
				continue;
			}
			float px, py;
			viz_view_to_screen(view, v->x, v->y, &px, &py);
			double d2 = (px - sx) * (px - sx) + (py - sy) * (py - sy);
			/* Vehicles are drawn by state, then in merged order: later wins a tie. */
			if (d2 < best_d2 || (d2 == best_d2 && best != VIZ_NO_VEHICLE && v->state >= best_state) ||
			    (d2 == best_d2 && best == VIZ_NO_VEHICLE)) {
				best = v->id;
				best_d2 = d2;
				best_state = v->state;
			}
		}
	}
	return best;
}

/* ---- drawing ---- */

static bool on_screen(const struct viz_view *v, float x, float y, float pad)
{
	return x >= -pad && y >= -pad && x <= v->width + pad && y <= v->height + pad;
}

void viz_scene_draw_roads(const struct viz_scene *s, const struct viz_view *view, struct viz_draw_list *l)
{
	const struct fs_network *net = s->net;
	double x0, y0, x1, y1, pad = 4 / view->scale;
	viz_view_to_world(view, 0, view->height, &x0, &y0);
	viz_view_to_world(view, view->width, 0, &x1, &y1);
	int widen = view->scale >= 1.0 ? 1 : 0;
	for (uint32_t r = 0; r < s->nroads; r++) {
		const struct road *rd = &s->roads[r];
		if (rd->max_x < x0 - pad || rd->min_x > x1 + pad || rd->max_y < y0 - pad || rd->min_y > y1 + pad ||
		    view->scale < road_style(rd->cls)->min_scale) {
			continue;
		}
		const struct fs_edge *e = &net->edges[rd->edge];
		if (!GROW(l, points, npoints, points_cap, e->shape_count)) {
			return;
		}
		uint32_t first = (uint32_t)l->npoints;
		float lx = 0, ly = 0;
		for (uint32_t i = 0; i < e->shape_count; i++) {
			const struct fs_point *p = &net->shape[e->shape_first + i];
			float sx, sy;
			viz_view_to_screen(view, p->x, p->y, &sx, &sy);
			bool last = i + 1 == e->shape_count;
			/* Thin to about one point per pixel; always keep both ends. */
			if (i > 0 && !last && fabsf(sx - lx) < 1.0f && fabsf(sy - ly) < 1.0f) {
				continue;
			}
			l->points[l->npoints++] = (struct viz_fpoint){ sx, sy };
			lx = sx;
			ly = sy;
		}
		struct viz_cmd *cmd = add_cmd(l, VIZ_PRIM_POLYLINE, viz_road_color(rd->cls), false, first);
		if (!cmd) {
			return;
		}
		cmd->count = (uint32_t)l->npoints - first;
		cmd->width = (uint8_t)(road_style(rd->cls)->width + widen);
	}
}

/*
 * The demand colour map: matplotlib's magma (perceptually uniform, readable
 * with colour-vision deficiency; van der Walt and Smith 2015), sampled at
 * 0.2 .. 1.0, dark purple to pale cream. Its alpha rises with density so
 * quiet streets show through; blended over the map its colours keep clear of
 * the vehicle states' and the roads' (checked by the tests).
 */
static const struct viz_color heat_ramp[VIZ_HEAT_LEVELS] = {
	{ 59, 15, 112, 160 }, { 100, 26, 128, 169 }, { 140, 41, 129, 178 }, { 183, 55, 121, 186 },
	{ 222, 73, 104, 195 }, { 247, 112, 92, 204 }, { 254, 159, 109, 212 }, { 254, 206, 145, 221 },
	{ 252, 253, 191, 230 },
};

struct viz_color viz_heat_color(int level)
{
	return heat_ramp[level < 0 ? 0 : level >= VIZ_HEAT_LEVELS ? VIZ_HEAT_LEVELS - 1 : level];
}

#define HEAT_UP 2 /* drawn cells per grid cell and axis (bilinear) */

/* One pass of a 5-tap binomial kernel along rows (@by_row) or columns of the grid. */
static void heat_blur(const float in[VIZ_HEAT_ROWS][VIZ_HEAT_COLS], float out[VIZ_HEAT_ROWS][VIZ_HEAT_COLS],
		      bool by_row)
{
	static const float k[5] = { 1 / 16.0f, 4 / 16.0f, 6 / 16.0f, 4 / 16.0f, 1 / 16.0f };
	for (int r = 0; r < VIZ_HEAT_ROWS; r++) {
		for (int c = 0; c < VIZ_HEAT_COLS; c++) {
			float v = 0;
			for (int d = -2; d <= 2; d++) {
				int rr = by_row ? r : r + d, cc = by_row ? c + d : c;
				v += rr >= 0 && rr < VIZ_HEAT_ROWS && cc >= 0 && cc < VIZ_HEAT_COLS ? k[d + 2] * in[rr][cc] : 0;
			}
			out[r][c] = v;
		}
	}
}

/* The grid smoothed with a 5 x 5 binomial kernel (a Gaussian of about one cell), separably. */
static void heat_smooth(const float in[VIZ_HEAT_ROWS][VIZ_HEAT_COLS], float out[VIZ_HEAT_ROWS][VIZ_HEAT_COLS])
{
	static float tmp[VIZ_HEAT_ROWS][VIZ_HEAT_COLS];
	heat_blur(in, tmp, true);
	heat_blur(tmp, out, false);
}

/* The smoothed grid at fractional cell (@fc, @fr), bilinear. */
static float heat_at(const float g[VIZ_HEAT_ROWS][VIZ_HEAT_COLS], float fc, float fr)
{
	int c0 = (int)floorf(fc), r0 = (int)floorf(fr);
	float tc = fc - (float)c0, tr = fr - (float)r0, v = 0;
	for (int dr = 0; dr <= 1; dr++) {
		for (int dc = 0; dc <= 1; dc++) {
			int r = r0 + dr, c = c0 + dc;
			if (r >= 0 && r < VIZ_HEAT_ROWS && c >= 0 && c < VIZ_HEAT_COLS) {
				v += (dr ? tr : 1 - tr) * (dc ? tc : 1 - tc) * g[r][c];
			}
		}
	}
	return v;
}

int viz_heat_level(float share)
{
	if (!(share >= 0.02f)) {
		return -1;
	}
	int lv = (int)(sqrtf(share) * VIZ_HEAT_LEVELS); /* square root: faint demand gets more levels */
	return lv >= VIZ_HEAT_LEVELS ? VIZ_HEAT_LEVELS - 1 : lv;
}

static void draw_heatmap(const struct viz_scene *s, const struct viz_view *view, struct viz_draw_list *l)
{
	static float smooth[VIZ_HEAT_ROWS][VIZ_HEAT_COLS];
	heat_smooth(s->heat, smooth);
	float max = 0;
	for (int r = 0; r < VIZ_HEAT_ROWS; r++) {
		for (int c = 0; c < VIZ_HEAT_COLS; c++) {
			max = fmaxf(max, smooth[r][c]);
		}
	}
	if (max <= 0) {
		return;
	}
	const struct fs_network *n = s->net;
	double cw = (n->max_x - n->min_x) / (VIZ_HEAT_COLS * HEAT_UP), ch = (n->max_y - n->min_y) / (VIZ_HEAT_ROWS * HEAT_UP);
	uint32_t count[VIZ_HEAT_LEVELS] = { 0 }, fill[VIZ_HEAT_LEVELS];
	/* Two passes, as for the vehicles: count per level, then write each level's range. */
	for (int pass = 0; pass < 2; pass++) {
		for (int r = 0; r < VIZ_HEAT_ROWS * HEAT_UP; r++) {
			for (int c = 0; c < VIZ_HEAT_COLS * HEAT_UP; c++) {
				/* Fine cell centres in grid-cell units: a value per grid cell sits at its centre. */
				float v = heat_at(smooth, ((float)c + 0.5f) / HEAT_UP - 0.5f, ((float)r + 0.5f) / HEAT_UP - 0.5f);
				int lv = viz_heat_level(v / max);
				if (lv < 0) {
					continue;
				}
				float x0, y0, x1, y1;
				viz_view_to_screen(view, n->min_x + c * cw, n->min_y + (r + 1) * ch, &x0, &y0);
				viz_view_to_screen(view, n->min_x + (c + 1) * cw, n->min_y + r * ch, &x1, &y1);
				/* Whole pixels, so neighbours tile without gaps or blended overlaps. */
				x0 = roundf(x0), y0 = roundf(y0), x1 = roundf(x1), y1 = roundf(y1);
				if (x1 < 0 || y1 < 0 || x0 > view->width || y0 > view->height || x1 <= x0 || y1 <= y0) {
					continue;
				}
				if (pass == 0) {
					count[lv]++;
				} else {
					l->rects[fill[lv]++] = (struct viz_rect){ x0, y0, x1 - x0, y1 - y0 };
				}
			}
		}
		if (pass == 0) {
			uint32_t total = 0;
			for (int lv = 0; lv < VIZ_HEAT_LEVELS; lv++) {
				fill[lv] = (uint32_t)l->nrects + total;
				total += count[lv];
			}
			if (!total || !GROW(l, rects, nrects, rects_cap, total)) {
				return;
			}
		}
	}
	for (int lv = 0; lv < VIZ_HEAT_LEVELS; lv++) {
		if (count[lv]) {
			struct viz_cmd *cmd = add_cmd(l, VIZ_PRIM_RECTS, heat_ramp[lv], true, fill[lv] - count[lv]);
			if (cmd) {
				cmd->count = count[lv];
			}
		}
	}
	l->nrects = fill[VIZ_HEAT_LEVELS - 1];
}

static void draw_depots(const struct viz_scene *s, const struct viz_view *view, struct viz_draw_list *l)
{
	if (!s->ndepots || !GROW(l, rects, nrects, rects_cap, 2 * s->ndepots)) {
		return;
	}
	float size = fmaxf(9, viz_marker_size(view) + 6);
	uint32_t first = (uint32_t)l->nrects;
	for (uint32_t d = 0; d < s->ndepots; d++) {
		float x, y;
		viz_view_to_screen(view, s->depots[d].x, s->depots[d].y, &x, &y);
		l->rects[l->nrects++] = (struct viz_rect){ x - size / 2, y - size / 2, size, size };
	}
	struct viz_cmd *cmd = add_cmd(l, VIZ_PRIM_RECTS, (struct viz_color){ 40, 44, 56, 255 }, false, first);
	if (cmd) {
		cmd->count = s->ndepots;
	}
	first = (uint32_t)l->nrects;
	for (uint32_t d = 0; d < s->ndepots; d++) {
		l->rects[l->nrects++] = l->rects[first - s->ndepots + d];
	}
	cmd = add_cmd(l, VIZ_PRIM_OUTLINES, viz_depot_color(), false, first);
	if (cmd) {
		cmd->count = s->ndepots;
	}
}

static void draw_riders(const struct viz_scene *s, const struct viz_view *view, struct viz_draw_list *l)
{
	if (!s->nriders || !GROW(l, rects, nrects, rects_cap, 2 * s->nriders)) {
		return;
	}
	/* A small plus sign: a horizontal and a vertical bar. */
	float arm = fmaxf(2, viz_marker_size(view) / 2 + 1);
	uint32_t first = (uint32_t)l->nrects;
	for (uint32_t i = 0; i < s->nriders; i++) {
		float x, y;
		viz_view_to_screen(view, s->riders[i].x, s->riders[i].y, &x, &y);
		if (!on_screen(view, x, y, arm)) {
			continue;
		}
		l->rects[l->nrects++] = (struct viz_rect){ x - arm, y, 2 * arm + 1, 1 };
		l->rects[l->nrects++] = (struct viz_rect){ x, y - arm, 1, 2 * arm + 1 };
	}
	struct viz_cmd *cmd = add_cmd(l, VIZ_PRIM_RECTS, viz_rider_color(), false, first);
	if (cmd) {
		cmd->count = (uint32_t)l->nrects - first;
	}
}

/* Vehicles bucketed by state (counting sort of visible vehicle positions). */
/*
 * Each visible vehicle's trail (s->scratch marks the visible ones), as
 * squares in buckets of (state, older half / newer half).
 */
static void draw_trails(struct viz_scene *s, const struct viz_view *view, uint32_t visible, float size,
			struct viz_draw_list *l)
{
	/* A point budget keeps big fleets smooth: at 100,000 visible vehicles the
	 * trails shorten to the last few positions. */
	uint32_t max_age = visible ? TRAIL_POINT_BUDGET / visible + 1 : VIZ_TRAIL_LEN;
	max_age = max_age < 3 ? 3 : max_age > VIZ_TRAIL_LEN ? VIZ_TRAIL_LEN : max_age;
	/* Buckets (state, older half / newer half), filled in two passes like the markers. */
	uint32_t tcount[2 * VIZ_STATE_COUNT] = { 0 }, tfill[2 * VIZ_STATE_COUNT];
	size_t total_points = 0;
	uint32_t i = 0;
	for (uint32_t sh = 0; sh < VIZ_MAX_SHARDS; sh++) {
		const struct shard *d = &s->shards[sh];
		for (uint32_t k = 0; k < d->count; k++, i++) {
			uint32_t len = d->v[k].trail_len < max_age ? d->v[k].trail_len : max_age;
			if (!s->scratch[i] || len < 2) {
				continue;
			}
			uint32_t older = len / 2; /* ages (len+1)/2+1 .. len */
			tcount[2 * d->v[k].state] += older;
			tcount[2 * d->v[k].state + 1] += len - 1 - older;
			total_points += len - 1;
		}
	}
	/* Small squares rather than 1 px points, so the trail reads over a road line. */
	float dot = size >= 9 ? 3 : 2;
	if (total_points && GROW(l, rects, nrects, rects_cap, total_points)) {
		uint32_t base = (uint32_t)l->nrects, acc = 0;
		for (uint32_t b = 0; b < 2 * VIZ_STATE_COUNT; b++) {
			tfill[b] = base + acc;
			acc += tcount[b];
		}
		i = 0;
		for (uint32_t sh = 0; sh < VIZ_MAX_SHARDS; sh++) {
			const struct shard *d = &s->shards[sh];
			for (uint32_t k = 0; k < d->count; k++, i++) {
				const struct viz_vehicle *v = &d->v[k];
				uint32_t len = v->trail_len < max_age ? v->trail_len : max_age;
				if (!s->scratch[i] || len < 2) {
					continue;
				}
				/* age 1 = newest (the vehicle itself, skipped) ... len = oldest drawn */
				for (uint32_t age = 2; age <= len; age++) {
					const struct viz_fpoint *p =
						&d->trail[(size_t)k * VIZ_TRAIL_LEN + (v->trail_head + VIZ_TRAIL_LEN - age) % VIZ_TRAIL_LEN];
					float x, y;
					viz_view_to_screen(view, p->x, p->y, &x, &y);
					uint32_t b = 2 * v->state + (age > (len + 1) / 2 ? 0 : 1);
					l->rects[tfill[b]++] = (struct viz_rect){ x - dot / 2, y - dot / 2, dot, dot };
				}
			}
		}
		l->nrects += total_points;
		for (uint32_t b = 0; b < 2 * VIZ_STATE_COUNT; b++) {
			if (!tcount[b]) {
				continue;
			}
			/* Faded by mixing with the background here, not by alpha blending:
			 * the software renderer blends at a fraction of the speed. */
			struct viz_color c = viz_state_color(b / 2), bg = viz_background_color(), m = c;
			int keep = b % 2 == 0 ? 35 : 60; /* percent of the state colour: older fainter */
			m.r = (uint8_t)((c.r * keep + bg.r * (100 - keep)) / 100);
			m.g = (uint8_t)((c.g * keep + bg.g * (100 - keep)) / 100);
			m.b = (uint8_t)((c.b * keep + bg.b * (100 - keep)) / 100);
			struct viz_cmd *cmd = add_cmd(l, VIZ_PRIM_RECTS, m, false, tfill[b] - tcount[b]);
			if (cmd) {
				cmd->count = tcount[b];
			}
		}
	}
}

static void draw_vehicles(const struct viz_scene *s_const, const struct viz_view *view,
			  const struct viz_layers *layers, struct viz_draw_list *l)
{
	struct viz_scene *s = (struct viz_scene *)s_const; /* scratch only */
	uint32_t total = viz_scene_vehicle_count(s);
	if (!total) {
		return;
	}
	if (FS_GROW(s->scratch, s->scratch_cap, total) < 0) {
		l->failed = true;
		return;
	}
	float size = viz_marker_size(view), half = size / 2;
	uint32_t counts[VIZ_STATE_COUNT] = { 0 }, visible = 0;
	/* Pass 1: visibility and counts; scratch[i] = state + 1 or 0 (hidden). */
	uint32_t i = 0;
	for (uint32_t sh = 0; sh < VIZ_MAX_SHARDS; sh++) {
		const struct shard *d = &s->shards[sh];
		for (uint32_t k = 0; k < d->count; k++, i++) {
			float x, y;
			viz_view_to_screen(view, d->v[k].x, d->v[k].y, &x, &y);
			if (d->v[k].on_map && on_screen(view, x, y, size)) {
				counts[d->v[k].state]++;
				s->scratch[i] = d->v[k].state + 1u;
				visible++;
			} else {
				s->scratch[i] = 0;
			}
		}
	}
	if (layers->trails) {
		draw_trails(s, view, visible, size, l);
	}
	/* Arrows pointing along the heading when zoomed in and few are visible; squares otherwise. */
	bool arrows = size >= 9 && visible <= 20000;
	uint32_t start[VIZ_STATE_COUNT], fill[VIZ_STATE_COUNT], base = arrows ? (uint32_t)l->nverts : (uint32_t)l->nrects;
	for (uint32_t st = 0, acc = 0; st < VIZ_STATE_COUNT; st++) {
		start[st] = fill[st] = base + acc * (arrows ? 3 : 1);
		acc += counts[st];
	}
	if (arrows ? !GROW(l, verts, nverts, verts_cap, 3 * (size_t)visible) : !GROW(l, rects, nrects, rects_cap, visible)) {
		return;
	}
	i = 0;
	for (uint32_t sh = 0; sh < VIZ_MAX_SHARDS; sh++) {
		const struct shard *d = &s->shards[sh];
		for (uint32_t k = 0; k < d->count; k++, i++) {
			if (!s->scratch[i]) {
				continue;
			}
			const struct viz_vehicle *v = &d->v[k];
			float x, y;
			viz_view_to_screen(view, v->x, v->y, &x, &y);
			if (arrows) {
				struct viz_color c = viz_state_color(v->state);
				float ch = cosf(v->heading_rad), sn = -sinf(v->heading_rad); /* screen y is down */
				float tip = 0.75f * size, back = 0.5f * size, wing = 0.5f * size;
				struct viz_vertex *t = &l->verts[fill[v->state]];
				t[0] = (struct viz_vertex){ { x + ch * tip, y + sn * tip }, c, { 0, 0 } };
				t[1] = (struct viz_vertex){ { x - ch * back - sn * wing, y - sn * back + ch * wing }, c, { 0, 0 } };
				t[2] = (struct viz_vertex){ { x - ch * back + sn * wing, y - sn * back - ch * wing }, c, { 0, 0 } };
				fill[v->state] += 3;
			} else {
				l->rects[fill[v->state]++] = (struct viz_rect){ x - half, y - half, size, size };
			}
		}
	}
	if (arrows) {
		l->nverts += 3 * (size_t)visible;
	} else {
		l->nrects += visible;
	}
	for (uint32_t st = 0; st < VIZ_STATE_COUNT; st++) {
		if (!counts[st]) {
			continue;
		}
		struct viz_cmd *cmd = add_cmd(l, arrows ? VIZ_PRIM_TRIANGLES : VIZ_PRIM_RECTS, viz_state_color(st), false,
					      start[st]);
		if (cmd) {
			cmd->count = counts[st] * (arrows ? 3 : 1);
		}
	}
	if (layers->selected != VIZ_NO_VEHICLE) {
		const struct viz_vehicle *v = viz_scene_find(s, layers->selected);
		if (v && v->on_map && GROW(l, rects, nrects, rects_cap, 2)) {
			float x, y;
			viz_view_to_screen(view, v->x, v->y, &x, &y);
			uint32_t first = (uint32_t)l->nrects;
			float r1 = size / 2 + 4, r2 = size / 2 + 6;
			l->rects[l->nrects++] = (struct viz_rect){ x - r1, y - r1, 2 * r1, 2 * r1 };
			l->rects[l->nrects++] = (struct viz_rect){ x - r2, y - r2, 2 * r2, 2 * r2 };
			struct viz_cmd *cmd = add_cmd(l, VIZ_PRIM_OUTLINES, viz_select_color(), false, first);
			if (cmd) {
				cmd->count = 2;
			}
		}
	}
}

void viz_scene_draw_dynamic(const struct viz_scene *s, const struct viz_view *view, const struct viz_layers *layers,
			    struct viz_draw_list *l)
{
	if (layers->heatmap) {
		draw_heatmap(s, view, l);
	}
	if (layers->depots) {
		draw_depots(s, view, l);
	}
	if (layers->riders) {
		draw_riders(s, view, l);
	}
	draw_vehicles(s, view, layers, l);
}

/* ---- the display clock ---- */

#define PACE_WINDOW_MS 500 /* wall time over which the pace is measured: several frames and ticks */

void viz_clock_reset(struct viz_clock *c)
{
	*c = (struct viz_clock){ .anchor_wall_ms = INT64_MIN, .wall_ms = INT64_MIN };
}

void viz_clock_note(struct viz_clock *c, int64_t data_ms, int64_t wall_ms)
{
	if (data_ms < c->data_ms) {
		viz_clock_reset(c); /* a new run on the same bus */
	}
	if (data_ms <= c->data_ms) {
		return;
	}
	int64_t step = data_ms - c->data_ms;
	if (c->data_ms && (!c->tick_ms || step < c->tick_ms)) {
		c->tick_ms = step;
	}
	if (c->anchor_wall_ms == INT64_MIN) {
		c->anchor_wall_ms = wall_ms;
		c->anchor_data_ms = data_ms;
	} else if (wall_ms - c->anchor_wall_ms >= PACE_WINDOW_MS) {
		double rate = (double)(data_ms - c->anchor_data_ms) / (double)(wall_ms - c->anchor_wall_ms);
		c->rate = c->rate > 0 ? 0.5 * c->rate + 0.5 * rate : rate;
		c->anchor_wall_ms = wall_ms;
		c->anchor_data_ms = data_ms;
	}
	c->data_ms = data_ms;
}

int64_t viz_clock_frame(struct viz_clock *c, int64_t wall_ms, bool running, double hint_rate)
{
	if (!running || c->wall_ms == INT64_MIN || !c->data_ms) {
		if (!running) {
			c->anchor_wall_ms = INT64_MIN; /* a pause is not pace: measure afresh after it */
		}
		c->shown_ms = c->data_ms;
		c->wall_ms = wall_ms;
		return c->shown_ms;
	}
	double rate = c->rate > 0 ? c->rate : hint_rate > 0 ? hint_rate : 0;
	int64_t t = c->shown_ms + (int64_t)llround((double)(wall_ms - c->wall_ms) * rate);
	int64_t ahead = c->data_ms + (c->tick_ms ? c->tick_ms : VIZ_CLOCK_TICK_MS);
	c->shown_ms = t < c->data_ms ? c->data_ms : t > ahead ? ahead : t;
	c->wall_ms = wall_ms;
	return c->shown_ms;
}
