/* SPDX-License-Identifier: Apache-2.0 */
/* viz_scene: shard merge, trails, health, riders, KPIs, the view, draw lists and picking - no SDL. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs_vehicle_msg.h"
#include "viz_scene.h"

#define MAXV 64

/*
 * A record batch as a vehicle node sends it: records (fs/vehicle.h) encoded
 * by the vehicle family's codec. batch_add() puts a standing vehicle at a
 * point of the grid's streets; tests change a record's segment to make it move.
 */
struct batch {
	struct fs_vehicle_record r[MAXV];
	size_t n;
	struct fs_vehicle_batch_info info;
};

struct fixture {
	struct fs_network *net;
	struct viz_scene *scene;
};

static struct fs_vehicle_msg enc; /* the last encoded batch; freed in teardown */
static const struct fs_network *grid;

static void batch_init(struct batch *bt, uint32_t shard, uint32_t shards, bool full)
{
	memset(bt, 0, sizeof(*bt));
	bt->info = (struct fs_vehicle_batch_info){ .shard = shard, .shard_count = shards, .full = full,
						   .origin_lat = grid->proj.origin_lat,
						   .origin_lon = grid->proj.origin_lon };
}

/* The edge of the grid (x, y) lies on, and the offset along it. */
static uint32_t edge_at(double x, double y, float *ret_offset)
{
	for (uint32_t e = 0; e < grid->edge_count; e++) {
		const struct fs_point *a = &grid->shape[grid->edges[e].shape_first];
		const struct fs_point *b = a + grid->edges[e].shape_count - 1;
		double len = hypot(b->x - a->x, b->y - a->y), along = hypot(x - a->x, y - a->y);
		double cross = (b->x - a->x) * (y - a->y) - (b->y - a->y) * (x - a->x);
		double dot = (b->x - a->x) * (x - a->x) + (b->y - a->y) * (y - a->y);
		if (fabs(cross) < 1e-6 * len && dot >= 0 && along <= len) {
			*ret_offset = (float)along;
			return e;
		}
	}
	fail_msg("(%g, %g) is not on a street of the test grid", x, y);
	return 0;
}

static struct fs_vehicle_record *batch_add(struct batch *bt, uint32_t id, int state, double x, double y)
{
	assert_true(bt->n < MAXV);
	struct fs_vehicle_record *r = &bt->r[bt->n++];
	float off = 0;
	uint32_t e = edge_at(x, y, &off);
	*r = (struct fs_vehicle_record){ .id = id, .state = (uint8_t)state, .edge = e, .seg_from_m = off,
					  .seg_to_m = off, .seg_end_ms = FS_NEVER_MS, .x = (float)x, .y = (float)y,
					  .soc = 0.5f, .sw_version = 100 + id, .job_id = id * 10 };
	return r;
}

/* A move of vehicle @id onto the street at (x, y), standing there. */
static void batch_move(struct batch *bt, uint32_t id, double x, double y)
{
	batch_add(bt, id, 0, x, y)->kind = FS_VEHICLE_RECORD_MOVE;
}

/* The batch on the wire at @t_ms: records taken then (standing ones from then on). */
static Fleetsim__V1__VehicleStateBatch *encode(struct batch *bt, int64_t t_ms)
{
	for (size_t i = 0; i < bt->n; i++) {
		struct fs_vehicle_record *r = &bt->r[i];
		if (r->seg_end_ms == FS_NEVER_MS) {
			r->seg_start_ms = t_ms;
		}
		r->t_ms = r->soc_ms = t_ms;
	}
	assert_int_equal(fs_vehicle_msg_encode_records(&enc, &bt->info, bt->r, bt->n, t_ms), 0);
	return &enc.batch;
}

static int apply(struct fixture *f, struct batch *bt, int64_t t_ms)
{
	int rc = viz_scene_apply_states(f->scene, encode(bt, t_ms), t_ms);
	viz_scene_place(f->scene, t_ms);
	return rc;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct fs_error err = { "" };
	/* 3 rows x 4 columns, 100 m apart: x in [0, 300], y in [0, 200]. */
	f->net = fs_network_grid(3, 4, 100, 10, &err);
	assert_non_null(f->net);
	grid = f->net;
	uint32_t depots[] = { 0, 11 };
	f->scene = viz_scene_create(f->net, depots, 2);
	assert_non_null(f->scene);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	viz_scene_destroy(f->scene);
	fs_network_destroy(f->net);
	fs_vehicle_msg_finish(&enc);
	free(f);
	return 0;
}

static struct viz_view make_view(int w, int h, double area_x)
{
	struct viz_view v = { .width = w, .height = h, .area = { (float)area_x, 0, (float)(w - area_x), (float)h } };
	return v;
}

static void view_fit_zoom_pan_round_trip(void **state)
{
	struct viz_view v = make_view(1000, 600, 200);
	viz_view_fit(&v, 0, 0, 300, 200);
	float sx, sy;
	/* The box centre lands on the map area's centre; the box fits inside the area. */
	viz_view_to_screen(&v, 150, 100, &sx, &sy);
	assert_float_equal(sx, 600, 1e-3);
	assert_float_equal(sy, 300, 1e-3);
	float x0, y0, x1, y1;
	viz_view_to_screen(&v, 0, 0, &x0, &y0);
	viz_view_to_screen(&v, 300, 200, &x1, &y1);
	assert_true(x0 >= 200 && x1 <= 1000 && y1 >= 0 && y0 <= 600);
	assert_true(y1 < y0); /* north is up */
	/* Zooming at a point keeps the world point under it. */
	double wx, wy, wx2, wy2;
	viz_view_to_world(&v, 700, 250, &wx, &wy);
	double before = v.scale;
	viz_view_zoom_at(&v, 2.0, 700, 250);
	assert_float_equal(v.scale, before * 2, 1e-9);
	viz_view_to_world(&v, 700, 250, &wx2, &wy2);
	assert_float_equal(wx, wx2, 1e-6);
	assert_float_equal(wy, wy2, 1e-6);
	/* Zoom is clamped. */
	viz_view_zoom_at(&v, 1e12, 0, 0);
	assert_float_equal(v.scale, VIZ_SCALE_MAX, 1e-9);
	viz_view_zoom_at(&v, 0, 0, 0); /* ignored */
	assert_float_equal(v.scale, VIZ_SCALE_MAX, 1e-9);
	/* Dragging right by 10 px moves the map right by 10 px. */
	viz_view_fit(&v, 0, 0, 300, 200);
	viz_view_to_screen(&v, 100, 100, &x0, &y0);
	viz_view_pan(&v, 10, -5);
	viz_view_to_screen(&v, 100, 100, &x1, &y1);
	assert_float_equal(x1 - x0, 10, 1e-3);
	assert_float_equal(y1 - y0, -5, 1e-3);
}

static void scale_bar_picks_round_lengths(void **state)
{
	struct viz_view v = make_view(1000, 600, 0);
	v.scale = 0.1; /* 10 m per px */
	double m, px;
	char label[32];
	viz_view_scale_bar(&v, 150, &m, &px, label, sizeof(label));
	assert_float_equal(m, 1000, 1e-9);
	assert_float_equal(px, 100, 1e-9);
	assert_string_equal(label, "1 km");
	v.scale = 1.0;
	viz_view_scale_bar(&v, 150, &m, &px, label, sizeof(label));
	assert_float_equal(m, 100, 1e-9);
	assert_string_equal(label, "100 m");
	v.scale = 0.004; /* 250 m per px: 37.5 km fits, 20 km is the round length */
	viz_view_scale_bar(&v, 150, &m, &px, label, sizeof(label));
	assert_string_equal(label, "20 km");
}

static void shards_merge_and_full_batches_replace(void **state)
{
	struct fixture *f = *state;
	struct batch a, b;
	batch_init(&a, 0, 2, true);
	batch_add(&a, 0, 3, 10, 0);
	batch_add(&a, 2, 6, 20, 0);
	batch_init(&b, 1, 2, true);
	batch_add(&b, 1, 7, 30, 0);
	assert_int_equal(apply(f, &a, 1000), 0);
	struct viz_stats st;
	viz_scene_stats(f->scene, &st);
	assert_int_equal(st.fleet, 2);
	assert_int_equal(st.shards_seen, 1);
	assert_int_equal(st.shard_count, 2);
	assert_int_equal(apply(f, &b, 1000), 0);
	viz_scene_stats(f->scene, &st);
	assert_int_equal(st.fleet, 3);
	assert_int_equal(st.shards_seen, 2);
	assert_int_equal(st.by_state[3], 1);
	assert_int_equal(st.by_state[6], 1);
	assert_int_equal(st.by_state[7], 1);
	/* Merged order: shard 0's vehicles, then shard 1's. */
	assert_int_equal(viz_scene_vehicle_count(f->scene), 3);
	assert_int_equal(viz_scene_vehicle_at(f->scene, 0)->id, 0);
	assert_int_equal(viz_scene_vehicle_at(f->scene, 1)->id, 2);
	assert_int_equal(viz_scene_vehicle_at(f->scene, 2)->id, 1);
	assert_null(viz_scene_vehicle_at(f->scene, 3));
	/* A later full batch of shard 0 replaces its vehicles (vehicle 2 left the shard). */
	batch_init(&a, 0, 2, true);
	batch_add(&a, 0, 6, 11, 0);
	assert_int_equal(apply(f, &a, 2000), 0);
	viz_scene_stats(f->scene, &st);
	assert_int_equal(st.fleet, 2);
	assert_null(viz_scene_find(f->scene, 2));
	const struct viz_vehicle *v = viz_scene_find(f->scene, 0);
	assert_non_null(v);
	assert_int_equal(v->state, 6);
	assert_float_equal(v->x, 11, 1e-6);
	assert_int_equal(v->sw_version, 100);
	assert_int_equal(v->job_id, 0);
	assert_float_equal(v->soc, 0.5, 1e-6);
	/* The run now has one shard: shard 1's vehicles go. */
	batch_init(&a, 0, 1, true);
	batch_add(&a, 5, 3, 1, 0);
	assert_int_equal(apply(f, &a, 3000), 0);
	viz_scene_stats(f->scene, &st);
	assert_int_equal(st.fleet, 1);
	assert_null(viz_scene_find(f->scene, 1));
	assert_non_null(viz_scene_find(f->scene, 5));
}

static void bad_batches_are_refused_whole(void **state)
{
	struct fixture *f = *state;
	struct batch a;
	batch_init(&a, 0, 1, true);
	batch_add(&a, 1, 3, 10, 0);
	assert_int_equal(apply(f, &a, 1000), 0);
	assert_string_equal(viz_scene_refusal(f->scene), "");
	batch_init(&a, 0, 1, true);
	batch_add(&a, 1, 3, 10, 0);
	batch_add(&a, 2, 3, 20, 0);
	Fleetsim__V1__VehicleStateBatch *b = encode(&a, 2000);
	b->n_y_m = 1; /* arrays disagree */
	assert_int_equal(viz_scene_apply_states(f->scene, b, 2000), -EINVAL);
	assert_true(strstr(viz_scene_refusal(f->scene), "lengths") != NULL);
	b->n_y_m = 2;
	b->n_soc = 0; /* every array of a full record is needed */
	assert_int_equal(viz_scene_apply_states(f->scene, b, 2000), -EINVAL);
	b->n_soc = 2;
	b->shard = 1; /* not below shard_count */
	assert_int_equal(viz_scene_apply_states(f->scene, b, 2000), -EINVAL);
	b->shard = 0;
	b->y_m[1] = NAN;
	assert_int_equal(viz_scene_apply_states(f->scene, b, 2000), -EINVAL);
	b->y_m[1] = 0;
	b->state[1] = (Fleetsim__V1__VehicleState)99;
	assert_int_equal(viz_scene_apply_states(f->scene, b, 2000), -EINVAL);
	assert_int_equal(viz_scene_vehicle_count(f->scene), 1);
	b->state[1] = (Fleetsim__V1__VehicleState)3;
	assert_int_equal(viz_scene_apply_states(f->scene, b, 2000), 0);
	assert_int_equal(viz_scene_vehicle_count(f->scene), 2);
}

static void news_update_add_and_wait_for_a_keyframe(void **state)
{
	struct fixture *f = *state;
	struct batch a;
	batch_init(&a, 0, 1, true);
	for (uint32_t i = 0; i < 40; i++) {
		batch_add(&a, i, 3, (float)i, 0);
	}
	assert_int_equal(apply(f, &a, 1000), 0);
	/* News: a full record changes vehicle 7, another adds vehicle 100, a move takes 8 elsewhere. */
	batch_init(&a, 0, 1, false);
	batch_add(&a, 7, 6, 70, 0);
	batch_add(&a, 100, 9, 0, 2);
	batch_move(&a, 8, 300, 150);
	assert_int_equal(apply(f, &a, 2000), 0);
	assert_int_equal(viz_scene_vehicle_count(f->scene), 41);
	assert_int_equal(viz_scene_find(f->scene, 7)->state, 6);
	assert_float_equal(viz_scene_find(f->scene, 7)->x, 70, 1e-6);
	assert_int_equal(viz_scene_find(f->scene, 100)->state, 9);
	const struct viz_vehicle *v = viz_scene_find(f->scene, 8);
	assert_int_equal(v->state, 3); /* a move keeps the state */
	assert_float_equal(v->x, 300, 1e-6);
	assert_float_equal(v->y, 150, 1e-6);
	assert_int_equal(viz_scene_record(f->scene, 8)->job_id, 80);
	/* A move of a vehicle whose full record never came is not shown (its state is unknown) ... */
	batch_init(&a, 0, 1, false);
	batch_move(&a, 200, 50, 0);
	assert_int_equal(apply(f, &a, 3000), 0);
	assert_null(viz_scene_find(f->scene, 200));
	struct viz_stats st;
	viz_scene_stats(f->scene, &st);
	assert_int_equal(st.moves_ignored, 1);
	assert_int_equal(st.shards_keyframed, 1);
	/* ... until a keyframe, which is the shard's whole fleet. */
	batch_init(&a, 0, 1, true);
	batch_add(&a, 200, 7, 50, 0);
	assert_int_equal(apply(f, &a, 60000), 0);
	assert_int_equal(viz_scene_vehicle_count(f->scene), 1);
	assert_int_equal(viz_scene_find(f->scene, 200)->state, 7);
	assert_int_equal(viz_scene_shard_keyframe_time(f->scene, 0), 60000);
}

static void news_before_any_keyframe_show_what_changed(void **state)
{
	struct fixture *f = *state;
	struct batch a;
	batch_init(&a, 0, 2, false);
	batch_add(&a, 4, 6, 40, 0);
	batch_move(&a, 5, 50, 0);
	assert_int_equal(apply(f, &a, 1000), 0);
	struct viz_stats st;
	viz_scene_stats(f->scene, &st);
	assert_int_equal(st.fleet, 1);
	assert_int_equal(st.shards_keyframed, 0);
	assert_int_equal(st.moves_ignored, 1);
	assert_non_null(viz_scene_find(f->scene, 4));
}

static void vehicles_move_along_their_segment_between_records(void **state)
{
	struct fixture *f = *state;
	struct batch a;
	batch_init(&a, 0, 1, true);
	/* Vehicle 1 drives the bottom street from x = 0 to 100 in 10 s, starting at 1 s. */
	struct fs_vehicle_record *r = batch_add(&a, 1, 6, 0, 0);
	r->seg_from_m = 0;
	r->seg_to_m = 100;
	r->seg_start_ms = 1000;
	r->seg_end_ms = 11000;
	r->soc_per_h = -0.36f; /* 0.01 per 100 s */
	batch_add(&a, 2, 3, 200, 0);
	assert_int_equal(apply(f, &a, 1000), 0);
	const struct viz_vehicle *v = viz_scene_find(f->scene, 1);
	assert_float_equal(v->x, 0, 1e-9);
	for (int64_t t = 1000; t <= 11000; t += 16) {
		viz_scene_place(f->scene, t);
		assert_float_equal(v->x, (double)(t - 1000) / 100.0, 1e-9);
		assert_float_equal(v->y, 0, 1e-9);
	}
	viz_scene_place(f->scene, 6000);
	assert_float_equal(v->speed_mps, 10, 1e-6);
	assert_float_equal(v->heading_rad, 0, 1e-6); /* east */
	assert_float_equal(v->soc, 0.5 - 0.36 * 5 / 3600, 1e-6);
	assert_int_equal(viz_scene_display_time(f->scene), 6000);
	/* At the segment's end it stands until its next record. */
	viz_scene_place(f->scene, 20000);
	assert_float_equal(v->x, 100, 1e-9);
	assert_float_equal(v->speed_mps, 0, 1e-9);
	/* A display time before a newer record places the vehicle at the record's time. */
	viz_scene_place(f->scene, 500);
	assert_float_equal(v->x, 0, 1e-9);
}

static void big_fleets_take_turns_to_move(void **state)
{
	struct fixture *f = *state;
	/* More moving vehicles than a frame places: each frame places VIZ_PLACE_BUDGET of them, in turns. */
	uint32_t n = VIZ_PLACE_BUDGET + VIZ_PLACE_BUDGET / 2;
	struct fs_vehicle_record *r = calloc(n, sizeof(*r));
	float off;
	uint32_t e = edge_at(0, 0, &off);
	for (uint32_t i = 0; i < n; i++) {
		r[i] = (struct fs_vehicle_record){ .id = i, .state = 7, .edge = e, .seg_from_m = 0, .seg_to_m = 100,
						   .seg_start_ms = 1000, .seg_end_ms = 101000, .t_ms = 1000, .soc_ms = 1000 };
	}
	struct fs_vehicle_batch_info info = { .shard_count = 1, .full = true, .origin_lat = grid->proj.origin_lat,
					      .origin_lon = grid->proj.origin_lon };
	assert_int_equal(fs_vehicle_msg_encode_records(&enc, &info, r, n, 1000), 0);
	assert_int_equal(viz_scene_apply_states(f->scene, &enc.batch, 1000), 0);
	viz_scene_place(f->scene, 1000); /* new records: all placed at once */
	for (uint32_t i = 0; i < n; i++) {
		assert_float_equal(viz_scene_vehicle_at(f->scene, i)->x, 0, 1e-9);
	}
	viz_scene_place(f->scene, 2000);
	uint32_t moved = 0;
	for (uint32_t i = 0; i < n; i++) {
		moved += viz_scene_vehicle_at(f->scene, i)->x > 0.5;
	}
	assert_int_equal(moved, VIZ_PLACE_BUDGET);
	viz_scene_place(f->scene, 3000); /* the others' turn: every vehicle moved within two frames */
	uint32_t now = 0;
	for (uint32_t i = 0; i < n; i++) {
		double x = viz_scene_vehicle_at(f->scene, i)->x;
		assert_true(fabs(x - 2) < 1e-9 || fabs(x - 1) < 1e-9);
		now += fabs(x - 2) < 1e-9;
	}
	assert_int_equal(now, VIZ_PLACE_BUDGET);
	free(r);
}

static void the_clock_runs_on_between_ticks_and_never_behind_the_data(void **state)
{
	(void)state;
	struct viz_clock c;
	viz_clock_reset(&c);
	assert_int_equal(viz_clock_frame(&c, 0, true, 10), 0); /* no data: nothing to show */
	/* Ticks of 1 s every 100 ms of wall time: 10x. */
	viz_clock_note(&c, 100000, 0);
	assert_int_equal(viz_clock_frame(&c, 1, true, 10), 100000);
	assert_int_equal(viz_clock_frame(&c, 17, true, 10), 100160); /* the hint's pace before one is measured */
	viz_clock_note(&c, 101000, 100);
	assert_int_equal(c.tick_ms, 1000);
	/* Never behind the newest data, never more than a tick ahead of it. */
	assert_int_equal(viz_clock_frame(&c, 101, true, 10), 101000);
	assert_int_equal(viz_clock_frame(&c, 5000, true, 10), 102000);
	for (int64_t w = 200, d = 102000; w <= 1000; w += 100, d += 1000) {
		viz_clock_note(&c, d, w);
	}
	assert_float_equal(c.rate, 10, 1e-9); /* measured */
	int64_t last = viz_clock_frame(&c, 1000, true, 0);
	assert_int_equal(last, 110000);
	for (int64_t w = 1016; w < 1100; w += 16) {
		int64_t t = viz_clock_frame(&c, w, true, 0);
		assert_true(t > last && t <= 111000);
		last = t;
	}
	/* Paused: the newest data's time. */
	assert_int_equal(viz_clock_frame(&c, 1200, false, 0), 110000);
	/* A new run on the same bus starts over. */
	viz_clock_note(&c, 5000, 1300);
	assert_int_equal(viz_clock_frame(&c, 1316, true, 0), 5000);
}

static void trails_follow_vehicles_across_batches(void **state)
{
	struct fixture *f = *state;
	struct batch a;
	for (int t = 0; t < 20; t++) {
		batch_init(&a, 0, 1, true);
		/* Reverse the order every other batch: trails follow ids, not slots. */
		if (t % 2) {
			batch_add(&a, 2, 7, 0, 0);
			batch_add(&a, 1, 7, t, 0);
		} else {
			batch_add(&a, 1, 7, t, 0);
			batch_add(&a, 2, 7, 0, 0);
		}
		assert_int_equal(apply(f, &a, 1000 * (t + 1)), 0);
		/* A second batch within the same second adds no trail point. */
		assert_int_equal(apply(f, &a, 1000 * (t + 1) + 500), 0);
	}
	assert_int_equal(viz_scene_find(f->scene, 1)->trail_len, VIZ_TRAIL_LEN);
	assert_int_equal(viz_scene_find(f->scene, 2)->trail_len, 1); /* standing still */
	/* Drawn trails: squares for vehicle 1 only, left of it (older positions have smaller x). */
	struct viz_view v = make_view(800, 600, 0);
	viz_view_fit(&v, 0, 0, 300, 200);
	struct viz_layers layers = { .trails = true, .selected = VIZ_NO_VEHICLE };
	struct viz_draw_list l = { 0 };
	viz_scene_draw_dynamic(f->scene, &v, &layers, &l);
	size_t points = 0;
	float vx, vy;
	viz_view_to_screen(&v, 19, 0, &vx, &vy);
	struct viz_color sc = viz_state_color(7), bg = viz_background_color();
	for (size_t c = 0; c < l.ncmds; c++) {
		struct viz_color tc = l.cmds[c].color;
		if (l.cmds[c].prim != VIZ_PRIM_RECTS || !memcmp(&tc, &sc, 4)) {
			continue; /* the markers themselves */
		}
		/* Faded towards the background: between it and the state colour, never either. */
		assert_true(tc.g > bg.g && tc.g < sc.g);
		assert_true(tc.b > bg.b && tc.b < sc.b);
		for (uint32_t k = 0; k < l.cmds[c].count; k++) {
			const struct viz_rect *rc = &l.rects[l.cmds[c].first + k];
			assert_true(rc->x + rc->w / 2 < vx);
		}
		points += l.cmds[c].count;
	}
	assert_int_equal(points, VIZ_TRAIL_LEN - 1);
	viz_draw_list_finish(&l);
}

static void device_health_from_events(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(viz_device_flat_index(FLEETSIM__V1__DEVICE_KIND__DEVICE_KIND_CAMERA, 13), 13);
	assert_int_equal(viz_device_flat_index(FLEETSIM__V1__DEVICE_KIND__DEVICE_KIND_CAMERA, 14), -1);
	assert_int_equal(viz_device_flat_index(FLEETSIM__V1__DEVICE_KIND__DEVICE_KIND_RADAR, 0), 14);
	assert_int_equal(viz_device_flat_index(FLEETSIM__V1__DEVICE_KIND__DEVICE_KIND_LIDAR, 0), 23);
	assert_int_equal(viz_device_flat_index(FLEETSIM__V1__DEVICE_KIND__DEVICE_KIND_ULTRASONIC, 11), 35);
	assert_int_equal(viz_device_flat_index(FLEETSIM__V1__DEVICE_KIND__DEVICE_KIND_THOR, 1), 37);
	assert_int_equal(viz_device_flat_index(FLEETSIM__V1__DEVICE_KIND__DEVICE_KIND_THOR, 2), -1);
	assert_int_equal(viz_device_flat_index(0, 0), -1);

	Fleetsim__V1__VehicleEvent e[4];
	Fleetsim__V1__VehicleEvent *ep[4];
	for (int i = 0; i < 4; i++) {
		fleetsim__v1__vehicle_event__init(&e[i]);
		e[i].kind = FLEETSIM__V1__VEHICLE_EVENT_KIND__VEHICLE_EVENT_KIND_DEVICE_HEALTH;
		e[i].vehicle_id = 9;
		ep[i] = &e[i];
	}
	e[0].device = FLEETSIM__V1__DEVICE_KIND__DEVICE_KIND_THOR;
	e[0].device_index = 1;
	e[0].health = FLEETSIM__V1__DEVICE_HEALTH__DEVICE_HEALTH_FAILED;
	e[1].device = FLEETSIM__V1__DEVICE_KIND__DEVICE_KIND_CAMERA;
	e[1].device_index = 3;
	e[1].health = FLEETSIM__V1__DEVICE_HEALTH__DEVICE_HEALTH_DEGRADED;
	e[2].device = FLEETSIM__V1__DEVICE_KIND__DEVICE_KIND_CAMERA;
	e[2].device_index = 99; /* out of range: the codec refuses the batch */
	e[2].health = FLEETSIM__V1__DEVICE_HEALTH__DEVICE_HEALTH_FAILED;
	e[3].kind = FLEETSIM__V1__VEHICLE_EVENT_KIND__VEHICLE_EVENT_KIND_ARRIVED; /* not health */
	e[3].vehicle_id = 10;
	Fleetsim__V1__VehicleEventBatch b = FLEETSIM__V1__VEHICLE_EVENT_BATCH__INIT;
	b.events = ep;
	b.n_events = 4;
	uint8_t h[VIZ_DEVICE_COUNT];
	assert_int_equal(viz_scene_apply_events(f->scene, &b), -EINVAL);
	assert_false(viz_scene_device_health(f->scene, 9, h)); /* refused whole */
	e[2].device_index = 13;
	assert_int_equal(viz_scene_apply_events(f->scene, &b), 0);
	assert_true(viz_scene_device_health(f->scene, 9, h));
	assert_int_equal(h[37], FLEETSIM__V1__DEVICE_HEALTH__DEVICE_HEALTH_FAILED);
	assert_int_equal(h[3], FLEETSIM__V1__DEVICE_HEALTH__DEVICE_HEALTH_DEGRADED);
	int bad = 0;
	for (int d = 0; d < VIZ_DEVICE_COUNT; d++) {
		bad += h[d] != 0;
	}
	assert_int_equal(bad, 3);
	assert_false(viz_scene_device_health(f->scene, 10, h));
	/* Repaired: an OK event clears it. */
	e[0].health = FLEETSIM__V1__DEVICE_HEALTH__DEVICE_HEALTH_OK;
	b.n_events = 1;
	assert_int_equal(viz_scene_apply_events(f->scene, &b), 0);
	assert_true(viz_scene_device_health(f->scene, 9, h));
	assert_int_equal(h[37], 0);
}

static void add_request(Fleetsim__V1__RideRequest *r, Fleetsim__V1__Place *p, uint64_t id, int64_t at_ms, float x,
			float y, uint32_t patience_s)
{
	fleetsim__v1__ride_request__init(r);
	fleetsim__v1__place__init(p);
	p->x_m = x;
	p->y_m = y;
	r->request_id = id;
	r->requested_ms = at_ms;
	r->origin = p;
	r->patience_s = patience_s;
}

/* @n riders asking at (@x, @y) at @t_ms (ids from @first_id, no patience given). */
static void requests_at(struct fixture *f, int n, uint64_t first_id, float x, float y, int64_t t_ms)
{
	Fleetsim__V1__RideRequest r[8];
	Fleetsim__V1__RideRequest *rp[8];
	Fleetsim__V1__Place p[8];
	assert_true(n <= 8);
	for (int i = 0; i < n; i++) {
		add_request(&r[i], &p[i], first_id + (uint64_t)i, 0, x, y, 0);
		rp[i] = &r[i];
	}
	Fleetsim__V1__RideRequestBatch rb = FLEETSIM__V1__RIDE_REQUEST_BATCH__INIT;
	rb.requests = rp;
	rb.n_requests = (size_t)n;
	assert_int_equal(viz_scene_apply_requests(f->scene, &rb, t_ms), 0);
}

static void riders_wait_until_their_outcome(void **state)
{
	struct fixture *f = *state;
	enum { N = 20 };
	Fleetsim__V1__RideRequest r[N];
	Fleetsim__V1__RideRequest *rp[N];
	Fleetsim__V1__Place p[N];
	for (int i = 0; i < N; i++) {
		add_request(&r[i], &p[i], 100 + i, 1000, 10.0f * i, 50, 300);
		rp[i] = &r[i];
	}
	Fleetsim__V1__RideRequestBatch rb = FLEETSIM__V1__RIDE_REQUEST_BATCH__INIT;
	rb.requests = rp;
	rb.n_requests = N;
	assert_int_equal(viz_scene_apply_requests(f->scene, &rb, 1000), 0);
	struct viz_stats st;
	viz_scene_stats(f->scene, &st);
	assert_int_equal(st.waiting_riders, N);
	assert_true(isnan(st.wait_p50_s));
	assert_true(isnan(st.served_share));
	/* Riders 0..9 are picked up after 10, 20, ... 100 s; 10 is cancelled; 11 rejected. */
	Fleetsim__V1__TripEvent e[N];
	Fleetsim__V1__TripEvent *ep[N];
	size_t n = 0;
	for (int i = 0; i < 12; i++) {
		fleetsim__v1__trip_event__init(&e[n]);
		e[n].request_id = 100 + i;
		e[n].kind = i < 10 ? FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_PICKED_UP
			    : i == 10 ? FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_CANCELLED
				      : FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_REJECTED;
		e[n].sim_time_ms = 1000 + 10000 * (i + 1);
		ep[n] = &e[n];
		n++;
	}
	Fleetsim__V1__TripEventBatch tb = FLEETSIM__V1__TRIP_EVENT_BATCH__INIT;
	tb.events = ep;
	tb.n_events = n;
	viz_scene_apply_trips(f->scene, &tb);
	viz_scene_stats(f->scene, &st);
	assert_int_equal(st.waiting_riders, N - 12);
	assert_float_equal(st.wait_p50_s, 50, 1e-6); /* nearest rank of 10, 20, ..., 100 */
	assert_float_equal(st.wait_p95_s, 100, 1e-6);
	/* Drop-offs of the picked-up ones: served share 10 / 12. */
	for (size_t i = 0; i < 10; i++) {
		e[i].kind = FLEETSIM__V1__TRIP_EVENT_KIND__TRIP_EVENT_KIND_DROPPED_OFF;
	}
	tb.n_events = 10;
	viz_scene_apply_trips(f->scene, &tb);
	viz_scene_stats(f->scene, &st);
	assert_float_equal(st.served_share, 10.0 / 12.0, 1e-9);
	assert_int_equal(st.requests, N);
	/* KPIs from dispatch take precedence. */
	Fleetsim__V1__Kpi k[3];
	Fleetsim__V1__Kpi *kp[3];
	const char *names[] = { "wait.p50_s", "served.share", "wait.p95_s" };
	const double values[] = { 123, 0.9, 456 };
	for (int i = 0; i < 3; i++) {
		fleetsim__v1__kpi__init(&k[i]);
		k[i].name = (char *)names[i];
		k[i].value = values[i];
		kp[i] = &k[i];
	}
	k[2].scope = "zone:3"; /* not whole-run: ignored */
	Fleetsim__V1__KpiSnapshot ks = FLEETSIM__V1__KPI_SNAPSHOT__INIT;
	ks.kpis = kp;
	ks.n_kpis = 3;
	viz_scene_apply_kpis(f->scene, &ks);
	viz_scene_stats(f->scene, &st);
	assert_float_equal(st.wait_p50_s, 123, 1e-9);
	assert_float_equal(st.served_share, 0.9, 1e-9);
	assert_float_equal(st.wait_p95_s, 100, 1e-9);
	assert_true(isnan(viz_scene_kpi(f->scene, "nope")));
	/* The remaining riders are forgotten once their patience (300 s) and the grace have passed. */
	viz_scene_advance(f->scene, 1000 + 300000 + 59000);
	viz_scene_stats(f->scene, &st);
	assert_int_equal(st.waiting_riders, N - 12);
	viz_scene_advance(f->scene, 1000 + 300000 + 61000);
	viz_scene_stats(f->scene, &st);
	assert_int_equal(st.waiting_riders, 0);
}

static void riders_and_heatmap_are_drawn(void **state)
{
	struct fixture *f = *state;
	requests_at(f, 3, 7, 250, 150, 5000);
	struct viz_view v = make_view(800, 600, 0);
	viz_view_fit(&v, 0, 0, 300, 200);
	struct viz_layers layers = { .riders = true, .heatmap = true, .selected = VIZ_NO_VEHICLE };
	struct viz_draw_list l = { 0 };
	viz_scene_draw_dynamic(f->scene, &v, &layers, &l);
	bool rider = false, heat = false;
	float rx, ry;
	viz_view_to_screen(&v, 250, 150, &rx, &ry);
	for (size_t c = 0; c < l.ncmds; c++) {
		const struct viz_cmd *cmd = &l.cmds[c];
		if (cmd->prim == VIZ_PRIM_RECTS && !memcmp(&cmd->color, &(struct viz_color){ 255, 90, 200, 255 }, 4)) {
			rider = true;
			assert_int_equal(cmd->count, 6); /* a plus sign (two bars) per rider */
		}
		struct viz_color top = viz_heat_color(VIZ_HEAT_LEVELS - 1);
		if (cmd->prim == VIZ_PRIM_RECTS && cmd->blend && !memcmp(&cmd->color, &top, 4)) {
			/* The busiest level covers where the riders asked. */
			for (uint32_t k = 0; k < cmd->count; k++) {
				const struct viz_rect *rc = &l.rects[cmd->first + k];
				heat |= rc->x <= rx + 1 && rx <= rc->x + rc->w + 1 && rc->y <= ry + 1 && ry <= rc->y + rc->h + 1;
			}
		}
	}
	assert_true(rider);
	assert_true(heat);
	/* Demand fades: after 10 half-lives the cell is below the drawing threshold relative to a new one. */
	viz_draw_list_finish(&l);
}

static double luminance(struct viz_color c)
{
	return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
}

/* A heat colour as it shows over the map's background. */
static struct viz_color over_background(struct viz_color c)
{
	struct viz_color bg = viz_background_color();
	double a = c.a / 255.0;
	return (struct viz_color){ (uint8_t)lround(a * c.r + (1 - a) * bg.r), (uint8_t)lround(a * c.g + (1 - a) * bg.g),
				   (uint8_t)lround(a * c.b + (1 - a) * bg.b), 255 };
}

static double distance(struct viz_color a, struct viz_color b)
{
	return sqrt((double)((a.r - b.r) * (a.r - b.r) + (a.g - b.g) * (a.g - b.g) + (a.b - b.b) * (a.b - b.b)));
}

static void heatmap_is_smooth_ordered_and_apart_from_the_states(void **state)
{
	struct fixture *f = *state;
	/* A perceptual map: each level brighter than the one below, as shown over the map. */
	for (int lv = 1; lv < VIZ_HEAT_LEVELS; lv++) {
		assert_true(luminance(over_background(viz_heat_color(lv))) >
			    luminance(over_background(viz_heat_color(lv - 1))) + 5);
	}
	/* Not the colour of a vehicle state or a road. */
	for (int lv = 0; lv < VIZ_HEAT_LEVELS; lv++) {
		struct viz_color c = over_background(viz_heat_color(lv));
		for (uint32_t st = 1; st < VIZ_STATE_COUNT; st++) {
			assert_true(distance(c, viz_state_color(st)) >= 30);
		}
		for (uint32_t rc = 0; rc < FS_ROAD_CLASS_COUNT; rc++) {
			assert_true(distance(c, viz_road_color(rc)) >= 30);
		}
	}
	/* Smoothed: requests at one point colour a soft spot several grid cells wide, brightest in its middle. */
	requests_at(f, 4, 50, 150, 100, 5000);
	struct viz_view v = make_view(960, 640, 0);
	viz_view_fit(&v, 0, 0, 300, 200);
	struct viz_layers layers = { .heatmap = true, .selected = VIZ_NO_VEHICLE };
	struct viz_draw_list l = { 0 };
	viz_scene_draw_dynamic(f->scene, &v, &layers, &l);
	float cx, cy, cell = (float)(300.0 / VIZ_HEAT_COLS * v.scale); /* a grid cell in pixels */
	viz_view_to_screen(&v, 150, 100, &cx, &cy);
	float reach = 0;
	int levels = 0;
	for (size_t c = 0; c < l.ncmds; c++) {
		assert_true(l.cmds[c].blend);
		levels++;
		for (uint32_t k = 0; k < l.cmds[c].count; k++) {
			const struct viz_rect *rc = &l.rects[l.cmds[c].first + k];
			reach = fmaxf(reach, fabsf(rc->x + rc->w / 2 - cx));
		}
	}
	assert_true(levels >= 4);          /* a gradient, not one block */
	assert_true(reach >= 1.5f * cell); /* beyond the cell the requests fell in */
	viz_draw_list_finish(&l);
}

static void vehicles_drawn_in_state_colours_where_they_are(void **state)
{
	struct fixture *f = *state;
	struct batch a;
	batch_init(&a, 0, 1, true);
	batch_add(&a, 1, 3, 0, 0);
	batch_add(&a, 2, 6, 100, 100);
	batch_add(&a, 3, 3, 300, 200);
	batch_add(&a, 4, 12, 200, 0);
	batch_add(&a, 5, 6, 300, 100);
	assert_int_equal(apply(f, &a, 1000), 0);
	struct viz_view v = make_view(800, 600, 0);
	viz_view_fit(&v, 0, 0, 300, 200);
	v.scale = 0.2; /* city scale: 3 px squares */
	struct viz_layers layers = { .selected = VIZ_NO_VEHICLE };
	struct viz_draw_list l = { 0 };
	viz_scene_draw_dynamic(f->scene, &v, &layers, &l);
	assert_false(l.failed);
	float size = viz_marker_size(&v);
	int seen[VIZ_STATE_COUNT] = { 0 };
	for (size_t c = 0; c < l.ncmds; c++) {
		const struct viz_cmd *cmd = &l.cmds[c];
		assert_int_equal(cmd->prim, VIZ_PRIM_RECTS);
		assert_false(cmd->blend);
		int st = -1;
		for (int s = 0; s < VIZ_STATE_COUNT; s++) {
			if (!memcmp(&cmd->color, &(struct viz_color){ viz_state_color(s).r, viz_state_color(s).g,
								      viz_state_color(s).b, 255 }, 4)) {
				st = s;
			}
		}
		assert_true(st == 3 || st == 6 || st == 12);
		seen[st] += (int)cmd->count;
		for (uint32_t k = 0; k < cmd->count; k++) {
			const struct viz_rect *rc = &l.rects[cmd->first + k];
			double wx, wy;
			viz_view_to_world(&v, rc->x + rc->w / 2, rc->y + rc->h / 2, &wx, &wy);
			assert_float_equal(rc->w, size, 1e-6);
			/* The rectangle is centred on a vehicle of this state. */
			bool match = false;
			for (size_t i = 0; i < a.n; i++) {
				match |= a.r[i].state == st && fabs(a.r[i].x - wx) < 1e-3 && fabs(a.r[i].y - wy) < 1e-3;
			}
			assert_true(match);
		}
	}
	assert_int_equal(seen[3], 2);
	assert_int_equal(seen[6], 2);
	assert_int_equal(seen[12], 1);
	/* Selecting adds two outlines around the vehicle. */
	viz_draw_list_clear(&l);
	layers.selected = 2;
	viz_scene_draw_dynamic(f->scene, &v, &layers, &l);
	const struct viz_cmd *last = &l.cmds[l.ncmds - 1];
	assert_int_equal(last->prim, VIZ_PRIM_OUTLINES);
	assert_int_equal(last->count, 2);
	float sx, sy;
	viz_view_to_screen(&v, 100, 100, &sx, &sy);
	const struct viz_rect *ring = &l.rects[last->first];
	assert_float_equal(ring->x + ring->w / 2, sx, 1e-3);
	assert_float_equal(ring->y + ring->h / 2, sy, 1e-3);
	/* Zoomed in: arrows (three vertices each) in the state colour around the vehicle. */
	viz_draw_list_clear(&l);
	layers.selected = VIZ_NO_VEHICLE;
	viz_view_zoom_at(&v, 20, sx, sy);
	assert_true(viz_marker_size(&v) >= 9);
	viz_scene_draw_dynamic(f->scene, &v, &layers, &l);
	assert_int_equal(l.ncmds, 1);
	assert_int_equal(l.cmds[0].prim, VIZ_PRIM_TRIANGLES);
	assert_int_equal(l.cmds[0].count, 3); /* the others are off screen: culled */
	float cx = 0, cy = 0;
	for (int k = 0; k < 3; k++) {
		cx += l.verts[k].pos.x / 3;
		cy += l.verts[k].pos.y / 3;
		assert_int_equal(l.verts[k].color.b, viz_state_color(6).b);
	}
	assert_true(fabsf(cx - sx) < viz_marker_size(&v) / 2 && fabsf(cy - sy) < viz_marker_size(&v) / 2);
	viz_draw_list_finish(&l);
}

static void picking_finds_the_nearest_vehicle(void **state)
{
	struct fixture *f = *state;
	struct batch a;
	batch_init(&a, 0, 1, true);
	batch_add(&a, 1, 3, 0, 0);
	batch_add(&a, 2, 6, 100, 100);
	batch_add(&a, 3, 6, 104, 100);
	assert_int_equal(apply(f, &a, 1000), 0);
	struct viz_view v = make_view(800, 600, 0);
	viz_view_fit(&v, 0, 0, 300, 200);
	float sx, sy;
	viz_view_to_screen(&v, 100, 100, &sx, &sy);
	assert_int_equal(viz_scene_pick(f->scene, &v, sx + 1, sy, 8), 2);
	viz_view_to_screen(&v, 104, 100, &sx, &sy);
	assert_int_equal(viz_scene_pick(f->scene, &v, sx + 1, sy, 8), 3);
	assert_int_equal(viz_scene_pick(f->scene, &v, sx + 100, sy, 8), VIZ_NO_VEHICLE);
	viz_view_to_screen(&v, 0, 0, &sx, &sy);
	assert_int_equal(viz_scene_pick(f->scene, &v, sx - 3, sy + 3, 8), 1);
}

static void roads_drawn_once_per_street_and_culled(void **state)
{
	struct fixture *f = *state;
	struct viz_view v = make_view(800, 600, 0);
	viz_view_fit(&v, 0, 0, 300, 200);
	struct viz_draw_list l = { 0 };
	viz_scene_draw_roads(f->scene, &v, &l);
	/* 3 rows x 3 blocks + 4 columns x 2 blocks = 17 two-way streets, each drawn once. */
	assert_int_equal(l.ncmds, 17);
	for (size_t c = 0; c < l.ncmds; c++) {
		assert_int_equal(l.cmds[c].prim, VIZ_PRIM_POLYLINE);
		assert_int_equal(l.cmds[c].count, 2);
		assert_int_equal(l.cmds[c].width, 2); /* residential 1 px, one more at >= 1 px/m */
		struct viz_color want = viz_road_color(FS_ROAD_RESIDENTIAL); /* fs_network_grid's class */
		assert_memory_equal(&l.cmds[c].color, &want, 4);
	}
	/* Zoomed on the south-west corner, only the streets near it remain. */
	viz_draw_list_clear(&l);
	float sx, sy;
	viz_view_to_screen(&v, 0, 0, &sx, &sy);
	viz_view_zoom_at(&v, 30, sx, sy);
	viz_scene_draw_roads(f->scene, &v, &l);
	assert_true(l.ncmds > 0 && l.ncmds < 17);
	viz_draw_list_finish(&l);
}

static void depots_drawn(void **state)
{
	struct fixture *f = *state;
	struct viz_view v = make_view(800, 600, 0);
	viz_view_fit(&v, 0, 0, 300, 200);
	struct viz_layers layers = { .depots = true, .selected = VIZ_NO_VEHICLE };
	struct viz_draw_list l = { 0 };
	viz_scene_draw_dynamic(f->scene, &v, &layers, &l);
	assert_int_equal(l.ncmds, 2);
	assert_int_equal(l.cmds[1].prim, VIZ_PRIM_OUTLINES);
	assert_int_equal(l.cmds[1].count, 2);
	/* Depot 1 is node 11: the north-east corner (300, 200). */
	float sx, sy;
	viz_view_to_screen(&v, 300, 200, &sx, &sy);
	const struct viz_rect *rc = &l.rects[l.cmds[1].first + 1];
	assert_float_equal(rc->x + rc->w / 2, sx, 1e-3);
	assert_float_equal(rc->y + rc->h / 2, sy, 1e-3);
	viz_draw_list_finish(&l);
}

static void a_new_run_resets_the_scene(void **state)
{
	struct fixture *f = *state;
	struct batch a;
	batch_init(&a, 0, 1, true);
	batch_add(&a, 1, 3, 0, 0);
	batch_add(&a, 2, 3, 0, 0);
	assert_int_equal(apply(f, &a, 500000), 0);
	assert_int_equal(viz_scene_time(f->scene), 500000);
	batch_init(&a, 0, 1, true);
	batch_add(&a, 7, 3, 0, 0);
	assert_int_equal(apply(f, &a, 1000), 0);
	assert_int_equal(viz_scene_vehicle_count(f->scene), 1);
	assert_int_equal(viz_scene_time(f->scene), 1000);
}

static void charts_sample_each_simulated_minute(void **state)
{
	struct fixture *f = *state;
	struct batch a;
	for (int t = 0; t <= 600; t += 10) {
		batch_init(&a, 0, 1, true);
		batch_add(&a, 1, t < 300 ? 3 : 6, 0, 0);
		batch_add(&a, 2, 6, 0, 0);
		assert_int_equal(apply(f, &a, 1000 + (int64_t)t * 1000), 0);
	}
	const struct viz_series *fleet = viz_scene_series(f->scene, VIZ_SERIES_FLEET);
	const struct viz_series *util = viz_scene_series(f->scene, VIZ_SERIES_UTILISATION);
	assert_int_equal(fleet->count, 11); /* minutes 0..10 */
	for (uint32_t i = 0; i < fleet->count; i++) {
		assert_int_equal(fleet->times_ms[i], 1000 + (int64_t)i * 60000); /* for the charts' time axis */
	}
	assert_float_equal(fleet->values[0], 2, 1e-6);
	assert_float_equal(util->values[0], 0.5, 1e-6);
	assert_float_equal(util->values[10], 1.0, 1e-6);
	assert_true(isnan(viz_scene_series(f->scene, VIZ_SERIES_WAIT_P50)->values[0]));
}

static void status_is_kept(void **state)
{
	struct fixture *f = *state;
	const struct fs_control_status st = { .state = FS_RUN_PAUSED, .tick = 42, .sim_time_ms = 1843500000000,
					      .speed = 60, .sim_real_ratio = 59.5, .duration_ticks = 7200 };
	viz_scene_apply_status(f->scene, &st);
	const struct viz_run *run = viz_scene_run(f->scene);
	assert_true(run->have_status);
	assert_int_equal(run->state, VIZ_RUN_PAUSED);
	assert_int_equal(run->tick, 42);
	assert_float_equal(run->speed, 60, 1e-9);
	assert_int_equal(viz_scene_time(f->scene), 1843500000000);
}

static void wrong_network_is_noticed(void **state)
{
	struct fixture *f = *state;
	struct batch a;
	batch_init(&a, 0, 1, true);
	batch_add(&a, 1, 3, 0, 0);
	a.info.origin_lat = 33.75;
	a.info.origin_lon = -84.39;
	assert_int_equal(apply(f, &a, 1000), -EXDEV);
	assert_true(viz_scene_origin_mismatch(f->scene));
	assert_int_equal(viz_scene_vehicle_count(f->scene), 0); /* not drawn over the wrong streets */
	assert_true(strstr(viz_scene_refusal(f->scene), "another road network") != NULL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(view_fit_zoom_pan_round_trip),
		T(scale_bar_picks_round_lengths),
		T(shards_merge_and_full_batches_replace),
		T(bad_batches_are_refused_whole),
		T(news_update_add_and_wait_for_a_keyframe),
		T(news_before_any_keyframe_show_what_changed),
		T(vehicles_move_along_their_segment_between_records),
		T(big_fleets_take_turns_to_move),
		T(the_clock_runs_on_between_ticks_and_never_behind_the_data),
		T(trails_follow_vehicles_across_batches),
		T(device_health_from_events),
		T(riders_wait_until_their_outcome),
		T(riders_and_heatmap_are_drawn),
		T(heatmap_is_smooth_ordered_and_apart_from_the_states),
		T(vehicles_drawn_in_state_colours_where_they_are),
		T(picking_finds_the_nearest_vehicle),
		T(roads_drawn_once_per_street_and_culled),
		T(depots_drawn),
		T(a_new_run_resets_the_scene),
		T(charts_sample_each_simulated_minute),
		T(status_is_kept),
		T(wrong_network_is_noticed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
