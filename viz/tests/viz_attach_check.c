/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz-attach-check - did a viewer attached mid-run show the fleet right,
 * frame by frame? (test helper for issue 17, Done-when 5)
 *
 * Takes the --state-log fleet-viz wrote (per frame: display time, each
 * shard's newest batch time, every vehicle placed on the map) and a recording
 * viz-probe made of the same run from before the viewer attached. Where each
 * vehicle really was comes from the probe's records (vt_mirror: the codec,
 * the vehicle's own placement, checked against every keyframe's positions),
 * never from the viewer. Checks:
 *  (a) before the viewer holds a keyframe of every shard, it shows only
 *      vehicles whose full record came on veh.state since it attached (or
 *      none) or whose shard's keyframe came, never the whole fleet, each
 *      where its records put it;
 *  (b) within one keyframe period of attaching it shows every vehicle of the
 *      run, and from then on exactly those, each where its records put it at
 *      the frame's display time (1 cm);
 *  (c) between two records of a vehicle that moves, its drawn position changes
 *      from frame to frame and stays on its road (the edge's geometry).
 * A viewer that draws the positions carried by the messages, or moves
 * vehicles only when a record arrives, fails (b) and (c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_args.h"
#include "fs_log.h"
#include "fs_world.h"
#include "viz_testlib.h"

#define TICK_MS 1000 /* the run's tick */
#define PLACE_TOLERANCE_M 0.01
#define ON_ROAD_M 0.05

struct shown {
	uint32_t id;
	double x, y;
};

struct frame {
	uint64_t n;
	int64_t display_ms, data_ms, since_ms;
	uint32_t keyframed, shards;
	int64_t shard_ms[VT_MAX_SHARDS];
	int64_t keyframe_ms[VT_MAX_SHARDS]; /* 0: the viewer has no keyframe of the shard yet */
	struct shown *v;
	size_t count, cap;
};

/* The previous frame, by vehicle id: where it was drawn and from which record. */
struct last_seen {
	uint64_t frame;  /* frame number + 1, 0 = not shown */
	double x, y;
	int64_t record_ms;
};

struct totals {
	int64_t attach_ms, first_full_ms;
	uint64_t frames, pre_frames, full_frames;
	uint64_t pre_max_shown, pre_fleet_min; /* the most shown before the keyframes; the run's fleet */
	uint64_t pre_not_news, misplaced, unknown, missing, extra;
	uint64_t smooth_checked, smooth_changed, smooth_on_road;
	uint64_t between, between_advanced; /* consecutive frames without new data; ... showing a later time */
};

/* Reads the next frame of the log; false at its end. */
static bool read_frame(FILE *f, struct frame *fr, char **line, size_t *cap)
{
	fr->count = 0;
	fr->shards = 0;
	memset(fr->keyframe_ms, 0, sizeof(fr->keyframe_ms));
	long pos = ftell(f);
	bool have = false;
	while (getline(line, cap, f) > 0) {
		const char *l = *line;
		if (!strncmp(l, "frame ", 6)) {
			if (have) {
				fseek(f, pos, SEEK_SET);
				return true;
			}
			unsigned shards = 0, keyframed = 0;
			if (sscanf(l,
				   "frame %" SCNu64 " wall %*d display %" SCNd64 " data %" SCNd64 " keyframed %u/%u shown %*u"
				   " ignored %*u refused %*u since %" SCNd64,
				   &fr->n, &fr->display_ms, &fr->data_ms, &keyframed, &shards, &fr->since_ms) != 6 ||
			    shards > VT_MAX_SHARDS) {
				return false;
			}
			fr->keyframed = keyframed;
			have = true;
		} else if (have && !strncmp(l, "shards ", 7)) {
			const char *p = l + 7;
			while (*p && fr->shards < VT_MAX_SHARDS) {
				char *end;
				fr->shard_ms[fr->shards++] = strtoll(p, &end, 10);
				p = *end == ',' ? end + 1 : "";
			}
		} else if (have && !strncmp(l, "keyframes ", 10)) {
			const char *p = l + 10;
			for (uint32_t s = 0; *p && s < VT_MAX_SHARDS; s++) {
				char *end;
				fr->keyframe_ms[s] = strtoll(p, &end, 10);
				p = *end == ',' ? end + 1 : "";
			}
		} else if (have && l[0] == 'v' && l[1] == ' ') {
			struct shown s;
			if (sscanf(l, "v %u %*u %lf %lf", &s.id, &s.x, &s.y) != 3) {
				return false;
			}
			if (fr->count == fr->cap) {
				fr->cap = fr->cap ? 2 * fr->cap : 1024;
				fr->v = realloc(fr->v, fr->cap * sizeof(*fr->v));
				if (!fr->v) {
					return false;
				}
			}
			fr->v[fr->count++] = s;
		}
		pos = ftell(f);
	}
	return have;
}

/* Distance from (x, y) to the polyline of @edge. */
static double road_distance(const struct fs_network *net, uint32_t edge, double x, double y)
{
	if (edge >= net->edge_count) {
		return INFINITY;
	}
	const struct fs_edge *e = &net->edges[edge];
	double best = INFINITY;
	for (uint32_t i = 1; i < e->shape_count; i++) {
		const struct fs_point *a = &net->shape[e->shape_first + i - 1], *b = &net->shape[e->shape_first + i];
		double dx = b->x - a->x, dy = b->y - a->y, len2 = dx * dx + dy * dy;
		double t = len2 > 0 ? ((x - a->x) * dx + (y - a->y) * dy) / len2 : 0;
		t = t < 0 ? 0 : t > 1 ? 1 : t;
		best = fmin(best, hypot(a->x + t * dx - x, a->y + t * dy - y));
	}
	return best;
}

/* Vehicles the records put on the map now (the whole fleet as the run knows it). */
static uint64_t on_map(const struct vt_mirror *m, int64_t t_ms)
{
	uint64_t n = 0;
	for (uint32_t id = 0; id < m->cap; id++) {
		double x, y;
		n += vt_mirror_place(m, id, t_ms, &x, &y);
	}
	return n;
}

/* The run's fleet: every vehicle some keyframe of the recording holds. */
static uint64_t run_fleet(const struct vt_mirror *m)
{
	uint8_t *seen = calloc(m->cap ? m->cap : 1, 1);
	uint64_t n = 0;
	for (size_t i = 0; seen && i < m->nbatches; i++) {
		for (size_t k = 0; m->batches[i].keyframe && k < m->batches[i].count; k++) {
			uint32_t id = m->batches[i].items[k].id;
			n += id < m->cap && !seen[id];
			if (id < m->cap) {
				seen[id] = 1;
			}
		}
	}
	free(seen);
	return n;
}

static void check_frame(struct vt_mirror *m, const struct frame *fr, struct last_seen *last, uint8_t *mark,
			uint64_t prev_frame, int64_t prev_display, struct totals *t)
{
	bool full = fr->shards && fr->keyframed == fr->shards;
	uint64_t fleet = on_map(m, fr->display_ms);
	memset(mark, 0, m->cap);
	for (size_t i = 0; i < fr->count; i++) {
		const struct shown *s = &fr->v[i];
		double x, y;
		if (s->id >= m->cap || !vt_mirror_place(m, s->id, fr->display_ms, &x, &y)) {
			t->unknown++;
			continue;
		}
		mark[s->id] = 1;
		if (fabs(x - s->x) > PLACE_TOLERANCE_M || fabs(y - s->y) > PLACE_TOLERANCE_M) {
			t->misplaced++;
		}
		const struct vt_mirror_vehicle *v = &m->v[s->id];
		if (!fr->keyframe_ms[v->shard] && v->news_full_ms < t->attach_ms) {
			t->pre_not_news++; /* shown before its shard's keyframe without a full record since attaching */
		}
		/* (c): the same record as in the previous frame, and it moves the vehicle in between. */
		struct last_seen *p = &last[s->id];
		double px, py;
		if (prev_frame && p->frame == prev_frame && fr->display_ms > prev_display &&
		    p->record_ms == v->rec.t_ms && vt_mirror_place(m, s->id, prev_display, &px, &py) &&
		    hypot(x - px, y - py) >= PLACE_TOLERANCE_M) {
			t->smooth_checked++;
			t->smooth_changed += hypot(s->x - p->x, s->y - p->y) > 0.0005;
			t->smooth_on_road += road_distance(m->net, v->rec.edge, s->x, s->y) < ON_ROAD_M;
		}
		*p = (struct last_seen){ .frame = fr->n + 1, .x = s->x, .y = s->y, .record_ms = v->rec.t_ms };
	}
	if (!full) {
		t->pre_frames++;
		t->pre_max_shown = fr->count > t->pre_max_shown ? fr->count : t->pre_max_shown;
		return;
	}
	if (!t->first_full_ms) {
		t->first_full_ms = fr->display_ms;
	}
	t->full_frames++;
	for (uint32_t id = 0; id < m->cap; id++) {
		double x, y;
		if (!mark[id] && vt_mirror_place(m, id, fr->display_ms, &x, &y)) {
			t->missing++;
		}
	}
	t->extra += fr->count > fleet ? fr->count - fleet : 0;
}

static int check_log(struct vt_mirror *m, const char *log_path, struct totals *t)
{
	FILE *f = fopen(log_path, "r");
	if (!f) {
		return -errno;
	}
	struct frame fr = { 0 };
	char *line = NULL;
	size_t cap = 0;
	struct last_seen *last = calloc(m->cap ? m->cap : 1, sizeof(*last));
	uint8_t *mark = calloc(m->cap ? m->cap : 1, 1);
	uint64_t prev_frame = 0;
	int64_t prev_display = 0, prev_data = 0;
	bool paced = false; /* the display clock has run ahead of the data */
	*t = (struct totals){ .pre_fleet_min = run_fleet(m) };
	while (last && mark && read_frame(f, &fr, &line, &cap)) {
		if (!fr.data_ms || !fr.shards) {
			continue; /* nothing received yet */
		}
		if (!t->attach_ms) {
			t->attach_ms = fr.since_ms;
		}
		for (uint32_t s = 0; s < fr.shards; s++) {
			vt_mirror_advance(m, s, fr.shard_ms[s]);
		}
		t->frames++;
		check_frame(m, &fr, last, mark, prev_frame, prev_display, t);
		/* (c) counts the frames with no new data since the previous one, once the display clock
		 * has shown that it runs (ahead of the data: its pace is measured), and while it could
		 * run on: the previous frame was not yet a tick ahead of the data, the most the clock
		 * shows (viz/viz_scene.h). A run slower than the display, as on a loaded machine,
		 * reaches that bound between ticks; a viewer that shows one position per tick never
		 * runs ahead and fails the count. */
		if (prev_frame && fr.data_ms == prev_data && paced && prev_display < prev_data + TICK_MS) {
			t->between++;
			t->between_advanced += fr.display_ms > prev_display;
		}
		paced |= fr.display_ms > fr.data_ms;
		prev_frame = fr.n + 1;
		prev_display = fr.display_ms;
		prev_data = fr.data_ms;
	}
	free(fr.v);
	free(line);
	free(last);
	free(mark);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	fs_log_init("viz-attach-check", FS_LOG_WARNING);
	const char *record = NULL, *log = NULL, *network = NULL;
	uint64_t keyframe_every_ms = 60000, min_smooth = 100, min_pre = 5;
	static const struct option options[] = {
		{ "record", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "network", required_argument, NULL, 'n' },
		{ "keyframe-every-ms", required_argument, NULL, 'k' },
		{ "min-smooth", required_argument, NULL, 's' },
		{ "min-pre-frames", required_argument, NULL, 'p' },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		bool ok = true;
		switch (opt) {
		case 'r':
			record = optarg;
			break;
		case 'l':
			log = optarg;
			break;
		case 'n':
			network = optarg;
			break;
		case 'k':
			ok = fs_args_u64(optarg, &keyframe_every_ms);
			break;
		case 's':
			ok = fs_args_u64(optarg, &min_smooth);
			break;
		case 'p':
			ok = fs_args_u64(optarg, &min_pre);
			break;
		default:
			ok = false;
		}
		if (!ok) {
			return 2;
		}
	}
	if (!record || !log || !network) {
		fprintf(stderr, "Usage: viz-attach-check --record F --log F --network SPEC [--keyframe-every-ms N]"
				" [--min-smooth N] [--min-pre-frames N]\n");
		return 2;
	}
	struct fs_world *world = fs_world_load(network, 4);
	if (!world) {
		return 1;
	}
	struct vt_mirror m;
	int rc = vt_mirror_load(&m, world->net, record);
	struct totals t = { 0 };
	if (rc == 0) {
		rc = check_log(&m, log, &t);
	}
	if (rc < 0) {
		fs_error("%s / %s: %s", record, log, strerror(-rc));
		return 1;
	}
	int64_t to_full = t.first_full_ms ? t.first_full_ms - t.attach_ms : -1;
	printf("# %" PRIu64 " frames from %" PRId64 ": %" PRIu64 " before the keyframes (at most %" PRIu64
	       " shown of a fleet of %" PRIu64 ", %" PRIu64 " without news), whole fleet after %.1f s simulated, %" PRIu64
	       " frames with it (%" PRIu64 " missing, %" PRIu64 " extra); %" PRIu64 " misplaced, %" PRIu64 " unknown;"
	       " smooth %" PRIu64 "/%" PRIu64 " moved, %" PRIu64 " on their road; display time ran on in %" PRIu64
	       " of %" PRIu64 " frames without new data; keyframes %" PRIu64 " vehicles, %" PRIu64 " off\n",
	       t.frames, t.attach_ms, t.pre_frames, t.pre_max_shown, t.pre_fleet_min,
	       t.pre_not_news, (double)to_full / 1000.0, t.full_frames, t.missing, t.extra, t.misplaced, t.unknown,
	       t.smooth_changed, t.smooth_checked, t.smooth_on_road, t.between_advanced, t.between, m.keyframe_checked,
	       m.keyframe_mismatched);
	struct {
		bool ok;
		const char *what;
	} checks[] = {
		{ m.keyframe_checked > 0 && m.keyframe_mismatched == 0, "the records agree with every keyframe" },
		{ t.pre_frames >= min_pre, "frames before the first keyframes" },
		{ t.pre_not_news == 0 && t.pre_max_shown < t.pre_fleet_min, "(a) before them, only vehicles with news" },
		{ to_full >= 0 && to_full <= (int64_t)keyframe_every_ms + 2 * TICK_MS, "(b) the whole fleet within one keyframe period" },
		{ t.full_frames >= 10 && t.missing == 0 && t.extra == 0, "(b) then every vehicle, no other" },
		{ t.misplaced == 0 && t.unknown == 0, "(a, b) every vehicle where its records put it at the display time" },
		{ t.smooth_checked >= min_smooth && t.smooth_changed == t.smooth_checked &&
			  t.smooth_on_road == t.smooth_checked,
		  "(c) moving vehicles move frame by frame between records, along their road" },
		{ t.between >= 50 && t.between_advanced * 10 >= t.between * 8,
		  "(c) frames between two ticks' data show later and later times (not one position per tick)" },
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		printf("%s %s\n", checks[i].ok ? "ok:" : "FAILED:", checks[i].what);
		failed += !checks[i].ok;
	}
	vt_mirror_finish(&m);
	fs_world_destroy(world);
	return failed ? 1 : 0;
}
