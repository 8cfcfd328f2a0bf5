/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_viz - fleet-viz frame time at 10,000 and 100,000 vehicles on SDL's
 * software renderer at 1280x800 (the viewer's own code: scene, draw lists,
 * SDL backend, HUD).
 *
 * Synthetic fleet on the Atlanta network, as vehicles publish it: records
 * (fs/vehicle.h), encoded by the vehicle family's codec. Seeded random
 * vehicles in seeded random states drive along seeded random roads at 12 m/s
 * (charging and minimal-risk ones stand); a vehicle that reaches the end of
 * its road sends a move onto the next, 1 % of the fleet changes state each
 * simulated second (a full record), and a keyframe of every vehicle comes
 * every 60 simulated seconds. Each frame is one simulated second (60x real
 * time at 60 frames per second): it pays the protobuf decode and apply of
 * that second's news, placing every moving vehicle at the frame's display
 * time, the draw lists, rasterisation, HUD and present. Cases: a still view
 * (roads from the cached layer), a view panned every frame (roads redrawn each
 * frame), trails on. Reported per video driver: dummy (pure rendering) and
 * offscreen (what --headless uses).
 *
 * Run from the project root (scripts/bench does): it reads data/osm/atlanta.osm.pbf.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/rng.h"
#include "fs_clock.h"
#include "fs_log.h"
#include "fs_vehicle_msg.h"
#include "fs_world.h"
#include "viz_app.h"
#include "viz_scene.h"
#include "viz_sdl.h"

#define WIDTH 1280
#define HEIGHT 800
#define FRAMES 90
#define WARMUP 10
#define SPEED_MPS 12.0
#define KEYFRAME_EVERY 60 /* frames (simulated seconds), the vehicle nodes' default */

struct fleet {
	uint32_t n;
	struct fs_vehicle_record *truth; /* each vehicle's current record */
	struct fs_vehicle_record *news;  /* this second's */
	const struct fs_world *w;
	struct fs_vehicle_msg msg;
};

/* Vehicle @v drives the whole of edge @e from @t_ms (or stands on it). */
static void drive(struct fleet *f, struct fs_vehicle_record *v, uint32_t e, int64_t t_ms, struct fs_rng *r)
{
	float len = f->w->net->edges[e].length_m;
	bool stands = v->state == 9 || v->state == 12;
	v->edge = e;
	v->seg_from_m = stands ? (float)(fs_rng_uniform(r) * len) : 0;
	v->seg_to_m = stands ? v->seg_from_m : len;
	v->seg_start_ms = t_ms;
	v->seg_end_ms = stands ? FS_NEVER_MS : t_ms + (int64_t)ceil(len / SPEED_MPS * 1000) + 1;
}

static uint32_t random_edge(const struct fs_world *w, struct fs_rng *r)
{
	return w->service_edges[fs_rng_below(r, w->service_edge_count)];
}

static void fleet_init(struct fleet *f, uint32_t n, const struct fs_world *w, int64_t t_ms)
{
	*f = (struct fleet){ .n = n, .w = w, .truth = calloc(n, sizeof(*f->truth)), .news = calloc(n, sizeof(*f->news)) };
	/* A mix like a busy driverless fleet. */
	static const int mix[] = { 3, 3, 3, 4, 5, 6, 6, 6, 6, 7, 8, 9, 9, 12, 11 };
	for (uint32_t i = 0; i < n; i++) {
		struct fs_rng r;
		fs_rng_init(&r, 2027, 1, i);
		struct fs_vehicle_record *v = &f->truth[i];
		*v = (struct fs_vehicle_record){ .id = i, .sw_version = 100, .soc = (float)(0.2 + 0.8 * fs_rng_uniform(&r)) };
		v->state = (uint8_t)mix[fs_rng_below(&r, sizeof(mix) / sizeof(mix[0]))];
		v->job_id = v->state >= 4 && v->state <= 6 ? 1000 + i : 0;
		drive(f, v, random_edge(w, &r), t_ms - (int64_t)(fs_rng_uniform(&r) * 15000), &r);
	}
}

static void fleet_free(struct fleet *f)
{
	free(f->truth);
	free(f->news);
	fs_vehicle_msg_finish(&f->msg);
}

static uint8_t *pack(struct fleet *f, const struct fs_vehicle_record *recs, size_t count, bool full, int64_t t_ms,
		     size_t *ret_size)
{
	struct fs_vehicle_batch_info info = { .shard_count = 1, .full = full, .origin_lat = f->w->net->proj.origin_lat,
					      .origin_lon = f->w->net->proj.origin_lon };
	fs_vehicle_msg_encode_records(&f->msg, &info, recs, count, t_ms);
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES;
	env.vehicle_states = &f->msg.batch;
	env.sim_time_ms = t_ms;
	*ret_size = fleetsim__v1__envelope__get_packed_size(&env);
	uint8_t *buf = malloc(*ret_size);
	fleetsim__v1__envelope__pack(&env, buf);
	return buf;
}

/* One simulated second: the records vehicles send (every vehicle in a keyframe second), packed. */
static uint8_t *fleet_second(struct fleet *f, int64_t t_ms, bool keyframe, size_t *ret_size)
{
	size_t k = 0;
	for (uint32_t i = 0; i < f->n; i++) {
		struct fs_vehicle_record *v = &f->truth[i];
		struct fs_rng r;
		fs_rng_init(&r, 2027, 2, (uint64_t)t_ms * 1000003u + i);
		bool changes = fs_rng_uniform(&r) < 0.01;
		if (changes) {
			v->state = (uint8_t)(3 + fs_rng_below(&r, 6));
		}
		bool moves = v->seg_end_ms != FS_NEVER_MS && t_ms >= v->seg_end_ms;
		if (moves) {
			drive(f, v, random_edge(f->w, &r), v->seg_end_ms, &r);
		}
		if (changes || moves || keyframe) {
			struct fs_vehicle_snapshot p;
			fs_vehicle_record_place(v, f->w->net, t_ms, &p);
			v->x = (float)p.x;
			v->y = (float)p.y;
			v->t_ms = v->soc_ms = t_ms;
			f->news[k] = *v;
			f->news[k++].kind = changes || keyframe ? FS_VEHICLE_RECORD_FULL : FS_VEHICLE_RECORD_MOVE;
		}
	}
	return pack(f, f->news, k, keyframe, t_ms, ret_size);
}

/* CPU time of this thread, ms: the viewer's own work, whatever else the machine runs. */
static double thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return v[(int)ceil(q * n) - 1];
}

enum view_case { STILL, PANNING, TRAILS };

static void run_case(struct fs_world *w, const char *driver, uint32_t vehicles, enum view_case vc)
{
	setenv("SDL_VIDEODRIVER", driver, 1);
	struct viz_scene *scene = viz_scene_create(w->net, w->depot_nodes, w->depot_count);
	struct viz_sdl_options so = { .width = WIDTH, .height = HEIGHT, .headless = true };
	struct viz_sdl *sdl = viz_sdl_create(&so);
	struct viz_app_options ao = { .trails = vc == TRAILS };
	struct viz_app *app = sdl && scene ? viz_app_create(&ao, scene, sdl) : NULL;
	if (!app) {
		fprintf(stderr, "bench_viz: cannot set up the %s driver\n", driver);
		exit(1);
	}
	struct fleet f;
	int64_t sim = 1843452000000;
	fleet_init(&f, vehicles, w, sim);
	double apply_ms[FRAMES], render_ms[FRAMES], present_ms[FRAMES], frame_ms[FRAMES], cpu_ms[FRAMES];
	size_t bytes = 0, keyframe_bytes = 0;
	double keyframe_ms = 0;
	for (int i = 0; i < WARMUP + FRAMES; i++) {
		size_t size;
		bool keyframe = i % KEYFRAME_EVERY == 0;
		uint8_t *buf = fleet_second(&f, sim += 1000, keyframe, &size);
		double c0 = thread_cpu_ms();
		int64_t t0 = fs_clock_now_us();
		Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, size, buf);
		viz_app_ingest(app, "veh.state", env);
		fleetsim__v1__envelope__free_unpacked(env, NULL);
		int64_t t1 = fs_clock_now_us();
		if (vc == PANNING) {
			SDL_Event ev = { .type = SDL_KEYDOWN };
			ev.key.keysym.sym = i % 2 ? SDLK_LEFT : SDLK_RIGHT; /* the whole view moves */
			viz_app_handle_event(app, &ev);
		}
		/* Wall time in the render call only drives toasts and the road-cache idle rule:
		 * frames 1 s apart, so a panned view counts as at rest and its roads are redrawn. */
		viz_app_render(app, (int64_t)i * 1000);
		int64_t t2 = fs_clock_now_us();
		double c2 = thread_cpu_ms();
		viz_sdl_present(sdl);
		int64_t t3 = fs_clock_now_us();
		free(buf);
		if (keyframe) {
			keyframe_bytes = size;
			keyframe_ms = (double)(t1 - t0) / 1000;
		}
		if (i >= WARMUP) {
			int k = i - WARMUP;
			bytes += size;
			apply_ms[k] = (double)(t1 - t0) / 1000;
			render_ms[k] = (double)(t2 - t1) / 1000;
			present_ms[k] = (double)(t3 - t2) / 1000;
			frame_ms[k] = (double)(t3 - t0) / 1000;
			cpu_ms[k] = c2 - c0;
		}
	}
	struct viz_draw_list l = { 0 };
	struct viz_layers layers = *viz_app_layers(app);
	viz_scene_draw_dynamic(scene, viz_app_view(app), &layers, &l);
	size_t cmds = l.ncmds;
	viz_draw_list_finish(&l);
	static const char *const names[] = { "still", "panning", "trails" };
	double p50 = pct(frame_ms, FRAMES, 0.5), p95 = pct(frame_ms, FRAMES, 0.95);
	printf("%-9s %8u  %-8s %7.1f KB  %6.2f  %7.2f  %6.2f  %6.2f %6.2f  %6.1f  %6.2f  %5zu  %7.1f KB %6.2f\n",
	       driver, vehicles, names[vc], (double)bytes / FRAMES / 1024, pct(apply_ms, FRAMES, 0.5),
	       pct(render_ms, FRAMES, 0.5), pct(present_ms, FRAMES, 0.5), p50, p95, 1000 / p50, pct(cpu_ms, FRAMES, 0.5),
	       cmds, (double)keyframe_bytes / 1024, keyframe_ms);
	fflush(stdout);
	fleet_free(&f);
	viz_app_destroy(app);
	viz_sdl_destroy(sdl);
	viz_scene_destroy(scene);
}

int main(void)
{
	fs_log_init("bench_viz", FS_LOG_WARNING);
	struct fs_world *w = fs_world_load("data/osm/atlanta.osm.pbf", 4);
	if (!w) {
		fprintf(stderr, "bench_viz: run from the project root (needs data/osm/atlanta.osm.pbf)\n");
		return 1;
	}
	printf("fleet-viz frame time, SDL software renderer, %dx%d, Atlanta (%u edges); a simulated second of records\n"
	       "every frame, a keyframe every %d; median ms of %d frames (p95 for the frame); batch = mean news per\n"
	       "frame; cpu = this thread's CPU ms for apply + render (the viewer's own work, robust to a busy\n"
	       "machine); cmds = draw calls of the dynamic layer; keyframe: its size and decode + apply ms\n",
	       WIDTH, HEIGHT, w->net->edge_count, KEYFRAME_EVERY, FRAMES);
	printf("%-9s %8s  %-8s %10s  %6s  %7s  %6s  %6s %6s  %6s  %6s  %5s  %10s %6s\n", "driver", "vehicles", "view",
	       "batch", "apply", "render", "present", "frame", "p95", "fps", "cpu", "cmds", "keyframe", "apply");
	const char *drivers[] = { "dummy", "offscreen" };
	const uint32_t sizes[] = { 10000, 100000 };
	for (size_t d = 0; d < 2; d++) {
		for (size_t s = 0; s < 2; s++) {
			for (int vc = STILL; vc <= TRAILS; vc++) {
				run_case(w, drivers[d], sizes[s], (enum view_case)vc);
			}
		}
	}
	fs_world_destroy(w);
	return 0;
}
