/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fleet-viz rendered headless (SDL offscreen driver, software renderer) from a
 * recording of the default Atlanta run, checked pixel by pixel; simulated
 * input (wheel, clicks, drags, keys) changes zoom, selection and what is sent
 * to the conductor.
 *
 * The recording viz/tests/data/atlanta-data-collection-2shards.rec holds the
 * last keyframe of each of 2 shards of a paused run and its status (paused:
 * the viewer shows the keyframes' time, where the keyframes' positions are the
 * vehicles' own), made with
 *   fleetsim run --bus ipc:///tmp/rec --shards 2 --vehicles 300 --speed 30 --duration 30m \
 *     --phase data-collection --seed 1 &
 *   sleep 9; fleetctl --bus ipc:///tmp/rec pause; sleep 1
 *   viz-probe --bus ipc:///tmp/rec --out atlanta-data-collection-2shards.rec --last --seconds 4
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs/timezone.h"
#include "fs/timezone_load.h"
#include "fs_vehicle_msg.h"
#include "fs_world.h"
#include "viz_app.h"
#include "viz_hud.h"
#include "viz_testlib.h"

#define MAX_CMDS 16

struct fixture {
	struct fs_world *world;
	struct viz_scene *scene;
	struct viz_sdl *sdl;
	struct viz_app *app;
	struct vt_vehicle *veh;
	size_t nveh;
	struct viz_fpoint depots[FS_WORLD_MAX_DEPOTS];
	char dir[256];
	struct fs_control_command cmds[MAX_CMDS];
	struct fs_control_msg ctl; /* the Status and CommandAcks fed to the app */
	size_t ncmds;
	int64_t now_ms;
};

static int capture(void *ctx, const struct fs_control_command *cmd)
{
	struct fixture *f = ctx;
	if (f->ncmds < MAX_CMDS) {
		f->cmds[f->ncmds++] = *cmd;
	}
	return 0;
}

static int feed(void *ctx, const char *topic, const Fleetsim__V1__Envelope *env)
{
	struct fixture *f = ctx;
	assert_int_equal(viz_app_ingest(f->app, topic, env), 0);
	if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES) {
		struct fs_vehicle_records recs = { 0 };
		assert_null(fs_vehicle_msg_decode_records(env->vehicle_states, env->sim_time_ms, &recs));
		assert_true(recs.info.full);
		f->veh = realloc(f->veh, (f->nveh + recs.count) * sizeof(*f->veh));
		for (size_t i = 0; i < recs.count; i++) {
			const struct fs_vehicle_record *r = &recs.items[i];
			assert_int_not_equal(r->edge, FS_NO_EDGE);
			f->veh[f->nveh++] = (struct vt_vehicle){ r->id, r->state, r->x, r->y };
		}
		fs_vehicle_records_finish(&recs);
	}
	return 0;
}

static int setup(void **state)
{
	const char *root = getenv("FS_SOURCE_ROOT");
	assert_non_null(root);
	struct fixture *f = calloc(1, sizeof(*f));
	char path[512];
	snprintf(path, sizeof(path), "%s/data/osm/atlanta.osm.pbf", root);
	f->world = fs_world_load(path, 4);
	assert_non_null(f->world);
	for (uint32_t d = 0; d < f->world->depot_count; d++) {
		const struct fs_node *n = &f->world->net->nodes[f->world->depot_nodes[d]];
		f->depots[d] = (struct viz_fpoint){ (float)n->x, (float)n->y };
	}
	f->scene = viz_scene_create(f->world->net, f->world->depot_nodes, f->world->depot_count);
	assert_non_null(f->scene);
	struct viz_sdl_options so = { .width = 1280, .height = 800, .headless = true };
	f->sdl = viz_sdl_create(&so);
	assert_non_null(f->sdl);
	snprintf(f->dir, sizeof(f->dir), "/tmp/fsviz-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	struct viz_app_options ao = { .screenshot_dir = f->dir };
	f->app = viz_app_create(&ao, f->scene, f->sdl);
	assert_non_null(f->app);
	viz_app_set_command_sink(f->app, &(struct viz_command_sink){ capture, f });
	snprintf(path, sizeof(path), "%s/viz/tests/data/atlanta-data-collection-2shards.rec", root);
	assert_int_equal(vt_rec_read(path, feed, f), 0);
	assert_int_equal(f->nveh, 300);
	assert_true(viz_app_has_snapshot(f->app));
	f->now_ms = 1000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	viz_app_destroy(f->app);
	viz_sdl_destroy(f->sdl);
	viz_scene_destroy(f->scene);
	fs_world_destroy(f->world);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "# could not remove %s\n", f->dir);
	}
	free(f->veh);
	fs_control_msg_finish(&f->ctl);
	free(f);
	return 0;
}

static void pump(struct fixture *f)
{
	SDL_Event ev;
	while (SDL_PollEvent(&ev)) {
		assert_true(viz_app_handle_event(f->app, &ev));
	}
}

static void key(struct fixture *f, SDL_Keycode k)
{
	SDL_Event ev = { .type = SDL_KEYDOWN };
	ev.key.state = SDL_PRESSED;
	ev.key.keysym.sym = k;
	SDL_PushEvent(&ev);
	pump(f);
}

static void mouse_button(struct fixture *f, Uint32 type, int x, int y)
{
	SDL_Event ev = { .type = type };
	ev.button.button = SDL_BUTTON_LEFT;
	ev.button.state = type == SDL_MOUSEBUTTONDOWN ? SDL_PRESSED : SDL_RELEASED;
	ev.button.x = x;
	ev.button.y = y;
	SDL_PushEvent(&ev);
	pump(f);
}

static void mouse_move(struct fixture *f, int x, int y)
{
	SDL_Event ev = { .type = SDL_MOUSEMOTION };
	ev.motion.x = x;
	ev.motion.y = y;
	SDL_PushEvent(&ev);
	pump(f);
}

static SDL_Surface *render(struct fixture *f)
{
	f->now_ms += 16;
	viz_app_render(f->app, f->now_ms);
	SDL_Surface *s = viz_sdl_read_pixels(f->sdl);
	assert_non_null(s);
	return s;
}

static void check_frame(struct fixture *f, SDL_Surface *img, const struct viz_rect *avoid, int min_checked)
{
	struct vt_report r;
	vt_check_frame(img, viz_app_view(f->app), f->world->net, f->veh, f->nveh, f->depots, f->world->depot_count,
		       avoid, &r);
	vt_report_print(stdout, &r);
	assert_true(vt_report_ok(&r, min_checked));
}

/* A vehicle alone on screen, clear of the HUD, for clicks. */
static const struct vt_vehicle *lonely_vehicle(struct fixture *f, float *ret_x, float *ret_y)
{
	const struct viz_view *v = viz_app_view(f->app);
	for (size_t i = 0; i < f->nveh; i++) {
		float x, y;
		viz_view_to_screen(v, f->veh[i].x, f->veh[i].y, &x, &y);
		if (x < v->area.x + 20 || x > v->width - 320 || y < 60 || y > v->height - 80) {
			continue;
		}
		bool alone = true;
		for (size_t j = 0; j < f->nveh && alone; j++) {
			float x2, y2;
			viz_view_to_screen(v, f->veh[j].x, f->veh[j].y, &x2, &y2);
			alone = j == i || fabsf(x2 - x) > 20 || fabsf(y2 - y) > 20;
		}
		if (alone) {
			*ret_x = x;
			*ret_y = y;
			return &f->veh[i];
		}
	}
	return NULL;
}

static void renders_the_recorded_run(void **state)
{
	struct fixture *f = *state;
	SDL_Surface *img = render(f);
	check_frame(f, img, NULL, 100);
	/* The whole city fits: every vehicle is inside the map area. */
	const struct viz_view *v = viz_app_view(f->app);
	for (size_t i = 0; i < f->nveh; i++) {
		float x, y;
		viz_view_to_screen(v, f->veh[i].x, f->veh[i].y, &x, &y);
		assert_true(x >= v->area.x && x < v->width && y >= 0 && y < v->height);
	}
	SDL_FreeSurface(img);
}

static void wheel_and_keys_zoom(void **state)
{
	struct fixture *f = *state;
	SDL_FreeSurface(render(f));
	struct viz_view before = *viz_app_view(f->app);
	double wx, wy, wx2, wy2;
	viz_view_to_world(&before, 800, 400, &wx, &wy);
	SDL_Event ev = { .type = SDL_MOUSEWHEEL };
	ev.wheel.y = 2;
	ev.wheel.preciseY = 2;
	ev.wheel.mouseX = 800;
	ev.wheel.mouseY = 400;
	SDL_PushEvent(&ev);
	pump(f);
	const struct viz_view *v = viz_app_view(f->app);
	assert_float_equal(v->scale, before.scale * 1.5625, 1e-9);
	viz_view_to_world(v, 800, 400, &wx2, &wy2);
	assert_float_equal(wx, wx2, 1e-6);
	assert_float_equal(wy, wy2, 1e-6);
	/* Zoomed in and at rest (roads redrawn, not the scaled cache), the frame is right. */
	SDL_FreeSurface(render(f));
	f->now_ms += 500;
	SDL_Surface *img = render(f);
	check_frame(f, img, NULL, 20);
	SDL_FreeSurface(img);
	key(f, SDLK_x);
	assert_float_equal(viz_app_view(f->app)->scale, before.scale * 1.5625 / 1.5, 1e-9);
	key(f, SDLK_PAGEUP);
	assert_float_equal(viz_app_view(f->app)->scale, before.scale * 1.5625, 1e-9);
	key(f, SDLK_c); /* fit the city again */
	assert_float_equal(viz_app_view(f->app)->scale, before.scale, 1e-12);
	assert_float_equal(viz_app_view(f->app)->cx, before.cx, 1e-9);
}

static void click_selects_inspects_and_follows(void **state)
{
	struct fixture *f = *state;
	SDL_FreeSurface(render(f));
	float x = 0, y = 0;
	const struct vt_vehicle *target = lonely_vehicle(f, &x, &y);
	assert_non_null(target);
	mouse_button(f, SDL_MOUSEBUTTONDOWN, (int)x + 1, (int)y);
	mouse_button(f, SDL_MOUSEBUTTONUP, (int)x + 1, (int)y);
	assert_int_equal(viz_app_selected(f->app), target->id);
	SDL_Surface *img = render(f);
	/* The inspector: a box at the top right with the vehicle's state swatch and text. */
	struct viz_hud_input in = { .view = viz_app_view(f->app), .layers = viz_app_layers(f->app) };
	struct viz_rect box;
	assert_true(viz_hud_inspector_rect(&in, &box));
	int swatch = 0, bright = 0;
	for (int py = (int)box.y; py < (int)(box.y + box.h); py++) {
		for (int px = (int)box.x; px < (int)(box.x + box.w); px++) {
			uint32_t p = vt_pixel(img, px, py);
			swatch += vt_is_color(p, viz_state_color(target->state));
			bright += ((p >> 16) & 0xff) > 190 && ((p >> 8) & 0xff) > 190 && (p & 0xff) > 190;
		}
	}
	assert_true(swatch >= 100); /* the 11 x 11 swatch */
	assert_true(bright >= 200);
	/* A white ring around the selected vehicle. */
	int ring = 0;
	for (int d = -12; d <= 12; d++) {
		for (int e = -12; e <= 12; e++) {
			ring += vt_is_color(vt_pixel(img, (int)x + d, (int)y + e), viz_select_color());
		}
	}
	assert_true(ring >= 20);
	check_frame(f, img, &box, 100);
	SDL_FreeSurface(img);
	/* f follows it: the view centres on the vehicle. */
	key(f, SDLK_f);
	assert_true(viz_app_following(f->app));
	SDL_FreeSurface(render(f));
	const struct viz_view *v = viz_app_view(f->app);
	assert_float_equal(v->cx, (float)target->x, 1e-3);
	assert_float_equal(v->cy, (float)target->y, 1e-3);
	/* Escape closes the inspector; clicking empty map selects nothing. */
	key(f, SDLK_ESCAPE);
	assert_int_equal(viz_app_selected(f->app), VIZ_NO_VEHICLE);
	assert_false(viz_app_following(f->app));
	key(f, SDLK_c);
	mouse_button(f, SDL_MOUSEBUTTONDOWN, 1270, 790);
	mouse_button(f, SDL_MOUSEBUTTONUP, 1270, 790);
	assert_int_equal(viz_app_selected(f->app), VIZ_NO_VEHICLE);
	/* Clicks on the panel never pick. */
	mouse_button(f, SDL_MOUSEBUTTONDOWN, 100, 400);
	mouse_button(f, SDL_MOUSEBUTTONUP, 100, 400);
	assert_int_equal(viz_app_selected(f->app), VIZ_NO_VEHICLE);
}

static void drag_pans_without_selecting(void **state)
{
	struct fixture *f = *state;
	SDL_FreeSurface(render(f));
	double wx, wy, wx2, wy2;
	viz_view_to_world(viz_app_view(f->app), 700, 300, &wx, &wy);
	mouse_button(f, SDL_MOUSEBUTTONDOWN, 700, 300);
	mouse_move(f, 730, 315);
	mouse_move(f, 760, 330);
	mouse_button(f, SDL_MOUSEBUTTONUP, 760, 330);
	viz_view_to_world(viz_app_view(f->app), 760, 330, &wx2, &wy2);
	assert_float_equal(wx, wx2, 1e-6);
	assert_float_equal(wy, wy2, 1e-6);
	assert_int_equal(viz_app_selected(f->app), VIZ_NO_VEHICLE);
	/* The frame drawn right after the drag (roads from the cache, shifted) is still right. */
	SDL_Surface *img = render(f);
	check_frame(f, img, NULL, 100);
	SDL_FreeSurface(img);
}

static void status(struct fixture *f, enum fs_run_state state, double speed, double ratio)
{
	const struct fs_control_status st = { .state = state, .tick = 100, .duration_ticks = 1800,
					      .sim_time_ms = viz_scene_time(f->scene), .speed = speed,
					      .sim_real_ratio = ratio };
	assert_int_equal(viz_app_ingest(f->app, "ctl.status", fs_control_msg_encode_status(&f->ctl, &st)), 0);
}

static void control_keys_send_commands(void **state)
{
	struct fixture *f = *state;
	status(f, FS_RUN_RUNNING, 60, 58);
	key(f, SDLK_SPACE);
	assert_int_equal(f->ncmds, 1);
	assert_int_equal(f->cmds[0].kind, FS_COMMAND_PAUSE);
	status(f, FS_RUN_PAUSED, 60, 0);
	key(f, SDLK_SPACE);
	assert_int_equal(f->cmds[1].kind, FS_COMMAND_RESUME);
	key(f, SDLK_PERIOD);
	assert_int_equal(f->cmds[2].kind, FS_COMMAND_STEP);
	assert_int_equal(f->cmds[2].steps, 1);
	key(f, SDLK_PLUS);
	assert_int_equal(f->cmds[3].kind, FS_COMMAND_SPEED);
	assert_float_equal(f->cmds[3].speed, 120, 1e-9);
	key(f, SDLK_MINUS);
	assert_float_equal(f->cmds[4].speed, 30, 1e-9);
	/* Distinct ids, and the conductor's answer is shown. */
	assert_int_not_equal(f->cmds[3].command_id, f->cmds[4].command_id);
	const struct fs_control_command_ack ack = { .command_id = f->cmds[4].command_id, .requester = "viz-test",
						    .reason = "speed 30x real time", .accepted = true };
	assert_int_equal(viz_app_ingest(f->app, "ctl.ack", fs_control_msg_encode_command_ack(&f->ctl, &ack)), 0);
	SDL_FreeSurface(render(f));
	assert_non_null(strstr(viz_app_toast(f->app), "speed 30x real time"));
	/* At max pace '+' has nowhere to go; '-' steps below what the run achieves. */
	status(f, FS_RUN_RUNNING, 0, 450);
	key(f, SDLK_PLUS);
	assert_int_equal(f->ncmds, 5);
	key(f, SDLK_MINUS);
	assert_int_equal(f->ncmds, 6);
	assert_float_equal(f->cmds[5].speed, 300, 1e-9);
	/* An unanswered command times out visibly. */
	f->now_ms += 4000;
	SDL_FreeSurface(render(f));
	assert_non_null(strstr(viz_app_toast(f->app), "no answer"));
}

static void help_layers_and_screenshot_keys(void **state)
{
	struct fixture *f = *state;
	key(f, SDLK_h);
	assert_true(viz_app_help_shown(f->app));
	SDL_Surface *img = render(f);
	int border = 0;
	for (int y = 0; y < img->h; y++) {
		for (int x = 0; x < img->w; x++) {
			border += vt_is_color(vt_pixel(img, x, y), (struct viz_color){ 120, 200, 255, 255 });
		}
	}
	SDL_FreeSurface(img);
	assert_true(border >= 1000); /* the help box's outline and its key names */
	key(f, SDLK_h);
	assert_false(viz_app_help_shown(f->app));
	key(f, SDLK_t);
	assert_true(viz_app_layers(f->app)->trails);
	key(f, SDLK_d);
	assert_true(viz_app_layers(f->app)->heatmap);
	/* With the heatmap, its legend: one swatch per level, darkest to brightest (the colour map's order). */
	img = render(f);
	struct viz_rect lg;
	viz_hud_heat_legend_rect(viz_app_view(f->app), false, &lg);
	int sh = 15, brighter = 0;
	double last = -1;
	for (int lv = 0; lv < VIZ_HEAT_LEVELS; lv++) {
		uint32_t p = vt_pixel(img, (int)lg.x + 6 + lv * 24 + 12, (int)lg.y + 5 + sh + 7);
		double lum = 0.2126 * ((p >> 16) & 0xff) + 0.7152 * ((p >> 8) & 0xff) + 0.0722 * (p & 0xff);
		brighter += lum > last;
		last = lum;
	}
	SDL_FreeSurface(img);
	assert_int_equal(brighter, VIZ_HEAT_LEVELS);
	key(f, SDLK_r);
	assert_false(viz_app_layers(f->app)->riders);
	SDL_FreeSurface(render(f));
	key(f, SDLK_s);
	const char *toast = viz_app_toast(f->app);
	assert_non_null(strstr(toast, "saved "));
	assert_non_null(strstr(toast, "+0000.png")); /* the clock's offset: UTC here (no zone given) */
	SDL_Surface *png = vt_load_png(toast + strlen("saved "));
	assert_non_null(png);
	assert_int_equal(png->w, 1280);
	assert_int_equal(png->h, 800);
	SDL_FreeSurface(png);
	/* q and the window's close button quit. */
	SDL_Event ev = { .type = SDL_KEYDOWN };
	ev.key.keysym.sym = SDLK_q;
	assert_false(viz_app_handle_event(f->app, &ev));
	ev.type = SDL_QUIT;
	assert_false(viz_app_handle_event(f->app, &ev));
}

static void hud_text_formats(void **state)
{
	(void)state;
	char buf[64];
	viz_hud_format_time(1843452019000, NULL, buf, sizeof(buf)); /* 2028-06-01 06:00:19 UTC, a Thursday */
	assert_string_equal(buf, "2028-06-01 06:00:19 Thu");
	fs_timezone_describe(NULL, 1843452019000, buf, sizeof(buf));
	assert_string_equal(buf, "UTC");
	/* The city's clock: Atlanta on daylight time in June, standard time in January. */
	struct fs_timezone tz;
	struct fs_error err = { "" };
	assert_int_equal(fs_timezone_load(FS_TZ_DIR, "America/New_York", &tz, &err), 0);
	viz_hud_format_time(1843452019000, &tz, buf, sizeof(buf));
	assert_string_equal(buf, "2028-06-01 02:00:19 Thu");
	fs_timezone_describe(&tz, 1843452019000, buf, sizeof(buf));
	assert_string_equal(buf, "UTC-4 America/New_York");
	viz_hud_format_time(1830297600000, &tz, buf, sizeof(buf)); /* 2028-01-01 00:00 UTC */
	assert_string_equal(buf, "2027-12-31 19:00:00 Fri");
	fs_timezone_describe(&tz, 1830297600000, buf, sizeof(buf));
	assert_string_equal(buf, "UTC-5 America/New_York");
	/* Chart ticks at round local times: 10:05 to 12:40 in New York (14:05 to 16:40 UTC) -> 11:00, 12:00. */
	int64_t ticks[4], t0 = 1843481100000; /* 2028-06-01 14:05 UTC */
	assert_int_equal(viz_hud_time_ticks(t0, t0 + 155 * 60000, &tz, 4, ticks), 2);
	assert_int_equal(ticks[0], t0 + 55 * 60000);
	assert_int_equal(ticks[1], t0 + 115 * 60000);
	/* An hour, 10:05 to 11:05: the shortest step with at most 4 ticks is 15 min (10:15 ... 11:00). */
	assert_int_equal(viz_hud_time_ticks(t0, t0 + 60 * 60000, &tz, 4, ticks), 4);
	assert_int_equal(ticks[0], t0 + 10 * 60000);
	assert_int_equal(ticks[3], t0 + 55 * 60000);
	fs_timezone_finish(&tz);
	fs_timezone_fixed(&tz, 19800); /* a fixed offset: India */
	fs_timezone_describe(&tz, 0, buf, sizeof(buf));
	assert_string_equal(buf, "UTC+5:30");
	viz_hud_format_duration(192, buf, sizeof(buf));
	assert_string_equal(buf, "3:12");
	viz_hud_format_duration(3723, buf, sizeof(buf));
	assert_string_equal(buf, "1:02:03");
	viz_hud_format_duration(NAN, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	viz_hud_format_version(100, buf, sizeof(buf));
	assert_string_equal(buf, "1.0");
	viz_hud_format_version(203, buf, sizeof(buf));
	assert_string_equal(buf, "2.3");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hud_text_formats),
		T(renders_the_recorded_run),
		T(wheel_and_keys_zoom),
		T(click_selects_inspects_and_follows),
		T(drag_pans_without_selecting),
		T(control_keys_send_commands),
		T(help_layers_and_screenshot_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
