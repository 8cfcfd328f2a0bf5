/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_viz - fleet-viz frame time at 10,000 and 100,000 vehicles on SDL's
 * software renderer at 1280x800 (the viewer's own code: scene, draw lists,
 * SDL backend, HUD).
 *
 * Synthetic fleet on the Atlanta network: vehicles at seeded random points on
 * the roads, in seeded random states, moving along their heading. Every frame
 * a new full state batch arrives (as at 60x real time with one batch per
 * simulated second), so each frame pays: protobuf decode + apply, the draw
 * lists, rasterisation, HUD and present. Cases: a still view (roads from the
 * cached layer), a view panned every frame (roads redrawn each frame), trails
 * on. Reported per video driver: dummy (pure rendering) and offscreen (what
 * --headless uses).
 *
 * Run from the project root (scripts/bench does): it reads data/osm/atlanta.osm.pbf.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/rng.h"
#include "fs_clock.h"
#include "fs_log.h"
#include "fs_world.h"
#include "viz_app.h"
#include "viz_scene.h"
#include "viz_sdl.h"

#define WIDTH 1280
#define HEIGHT 800
#define FRAMES 90
#define WARMUP 10

struct fleet {
	uint32_t n;
	uint32_t *id, *edge, *sw, *health;
	Fleetsim__V1__VehicleState *state;
	float *x, *y, *soc, *heading, *speed;
	uint64_t *job;
};

static void fleet_init(struct fleet *f, uint32_t n, const struct fs_world *w)
{
	f->n = n;
	f->id = calloc(n, sizeof(uint32_t));
	f->edge = calloc(n, sizeof(uint32_t));
	f->sw = calloc(n, sizeof(uint32_t));
	f->health = calloc(n, sizeof(uint32_t));
	f->state = calloc(n, sizeof(*f->state));
	f->x = calloc(n, sizeof(float));
	f->y = calloc(n, sizeof(float));
	f->soc = calloc(n, sizeof(float));
	f->heading = calloc(n, sizeof(float));
	f->speed = calloc(n, sizeof(float));
	f->job = calloc(n, sizeof(uint64_t));
	/* A mix like a busy driverless fleet. */
	static const int mix[] = { 3, 3, 3, 4, 5, 6, 6, 6, 6, 7, 8, 9, 9, 12, 11 };
	for (uint32_t i = 0; i < n; i++) {
		struct fs_rng r;
		fs_rng_init(&r, 2027, 1, i);
		uint32_t e = w->service_edges[fs_rng_below(&r, w->service_edge_count)];
		struct fs_point p;
		fs_network_edge_point_at(w->net, e, fs_rng_uniform(&r) * w->net->edges[e].length_m, &p);
		f->id[i] = i;
		f->edge[i] = e;
		f->sw[i] = 100;
		f->state[i] = (Fleetsim__V1__VehicleState)mix[fs_rng_below(&r, sizeof(mix) / sizeof(mix[0]))];
		f->x[i] = (float)p.x;
		f->y[i] = (float)p.y;
		f->soc[i] = (float)(0.2 + 0.8 * fs_rng_uniform(&r));
		f->heading[i] = (float)(2 * M_PI * fs_rng_uniform(&r));
		f->speed[i] = f->state[i] == 9 || f->state[i] == 12 ? 0 : 12;
		f->job[i] = f->state[i] >= 4 && f->state[i] <= 6 ? 1000 + i : 0;
	}
}

static void fleet_free(struct fleet *f)
{
	free(f->id);
	free(f->edge);
	free(f->sw);
	free(f->health);
	free(f->state);
	free(f->x);
	free(f->y);
	free(f->soc);
	free(f->heading);
	free(f->speed);
	free(f->job);
}

/* One simulated second of movement, packed as a vehicle node would send it. */
static uint8_t *fleet_pack(struct fleet *f, int64_t sim_ms, size_t *ret_size)
{
	for (uint32_t i = 0; i < f->n; i++) {
		f->x[i] += f->speed[i] * cosf(f->heading[i]);
		f->y[i] += f->speed[i] * sinf(f->heading[i]);
	}
	Fleetsim__V1__VehicleStateBatch b = FLEETSIM__V1__VEHICLE_STATE_BATCH__INIT;
	b.shard = 0;
	b.shard_count = 1;
	b.full = true;
	size_t n = f->n;
	b.n_vehicle_id = b.n_state = b.n_x_m = b.n_y_m = b.n_edge = b.n_soc = b.n_speed_mps = b.n_heading_rad =
		b.n_health_flags = b.n_job_id = b.n_sw_version = n;
	b.vehicle_id = f->id;
	b.state = f->state;
	b.x_m = f->x;
	b.y_m = f->y;
	b.edge = f->edge;
	b.soc = f->soc;
	b.speed_mps = f->speed;
	b.heading_rad = f->heading;
	b.health_flags = f->health;
	b.job_id = f->job;
	b.sw_version = f->sw;
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES;
	env.vehicle_states = &b;
	env.sim_time_ms = sim_ms;
	*ret_size = fleetsim__v1__envelope__get_packed_size(&env);
	uint8_t *buf = malloc(*ret_size);
	fleetsim__v1__envelope__pack(&env, buf);
	return buf;
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
	fleet_init(&f, vehicles, w);
	double apply_ms[FRAMES], render_ms[FRAMES], present_ms[FRAMES], frame_ms[FRAMES];
	size_t bytes = 0;
	int64_t sim = 1843452000000;
	for (int i = 0; i < WARMUP + FRAMES; i++) {
		size_t size;
		uint8_t *buf = fleet_pack(&f, sim += 1000, &size);
		bytes = size;
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
		viz_sdl_present(sdl);
		int64_t t3 = fs_clock_now_us();
		free(buf);
		if (i >= WARMUP) {
			int k = i - WARMUP;
			apply_ms[k] = (double)(t1 - t0) / 1000;
			render_ms[k] = (double)(t2 - t1) / 1000;
			present_ms[k] = (double)(t3 - t2) / 1000;
			frame_ms[k] = (double)(t3 - t0) / 1000;
		}
	}
	struct viz_draw_list l = { 0 };
	struct viz_layers layers = *viz_app_layers(app);
	viz_scene_draw_dynamic(scene, viz_app_view(app), &layers, &l);
	size_t cmds = l.ncmds;
	viz_draw_list_finish(&l);
	static const char *const names[] = { "still", "panning", "trails" };
	double p50 = pct(frame_ms, FRAMES, 0.5), p95 = pct(frame_ms, FRAMES, 0.95);
	printf("%-9s %8u  %-8s %7.1f KB  %6.2f  %7.2f  %6.2f  %6.2f %6.2f  %6.1f  %5zu\n", driver, vehicles,
	       names[vc], (double)bytes / 1024, pct(apply_ms, FRAMES, 0.5), pct(render_ms, FRAMES, 0.5),
	       pct(present_ms, FRAMES, 0.5), p50, p95, 1000 / p50, cmds);
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
	printf("fleet-viz frame time, SDL software renderer, %dx%d, Atlanta (%u edges); a new full batch every frame;\n"
	       "median ms of %d frames (p95 for the frame); cmds = draw calls of the dynamic layer\n",
	       WIDTH, HEIGHT, w->net->edge_count, FRAMES);
	printf("%-9s %8s  %-8s %10s  %6s  %7s  %6s  %6s %6s  %6s  %5s\n", "driver", "vehicles", "view", "batch",
	       "apply", "render", "present", "frame", "p95", "fps", "cmds");
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
