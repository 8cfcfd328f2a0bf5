/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz_app - the viewer's behaviour (see viz_app.h).
 *
 * The viewer must never change or slow the run, so it only ever observes:
 * it subscribes on the broker's bounded watch endpoint (what it cannot keep
 * up with is dropped by the broker and counted as gaps), and the only thing
 * it publishes is what a user asks for - pause, resume, step, speed - sent
 * to the conductor exactly as `fleetctl` sends them, with the answer
 * (CommandAck) shown when it comes back. The lockstep makes results
 * independent of pacing, so even those commands leave the run digest alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "fs/calendar.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_log.h"
#include "viz_app.h"
#include "viz_hud.h"

#define OBSERVER_HWM 2000          /* messages queued for us before the broker drops (bounded staleness) */
#define HANDSHAKE_EVERY_MS 500
#define HANDSHAKE_TRY_MS 40
#define ACK_TIMEOUT_MS 3000
#define TOAST_MS 3500
#define ROADS_REBUILD_IDLE_MS 120  /* while the view moves, scale the cached roads; rebuild when it rests */
#define ROADS_CHEAP_MS 6.0         /* ... unless rebuilding is this cheap anyway */
#define CLICK_SLOP_PX 4

/* The speed ladder for '+' and '-' (x real time); 0 = as fast as possible. */
static const double speed_ladder[] = { 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600 };
#define LADDER_N (sizeof(speed_ladder) / sizeof(speed_ladder[0]))

struct pending_command {
	uint64_t id;
	int64_t sent_ms;
	bool active;
};

struct viz_app {
	struct fs_control_msg ctl_out; /* commands to the conductor or playback */
	struct fs_control_in ctl_in;   /* its Status and CommandAcks */
	struct viz_scene *scene;
	struct viz_sdl *sdl;
	struct fs_bus *bus;
	char bus_address[FS_BUS_ADDRESS_MAX];
	char name[64];
	char screenshot_dir[512];
	char city[64];
	const struct fs_timezone *tz;
	bool control_ready;
	int64_t next_handshake_ms;
	bool connected;
	uint64_t refused;
	bool told_network;          /* the wrong-network refusal was logged */
	const char *refused_why;    /* why viz_app_ingest() refused the last message it refused */
	struct viz_clock clock;     /* which simulated time a frame shows */
	struct viz_player *player;  /* playing a recording: its position is the display time */
	int64_t first_data_ms;      /* the first vehicle batch applied (for the state log) */
	struct viz_command_sink sink;
	struct pending_command pending[8];
	uint64_t command_seq;

	struct viz_view view;
	bool view_fitted;
	struct viz_layers layers;
	bool following;
	bool help;
	bool dragging, drag_moved;
	int drag_x, drag_y, press_x, press_y;
	int64_t view_changed_ms;
	double roads_ms;            /* what the last road rebuild cost */
	struct viz_draw_list roads, dynamic;

	char toast[256];
	int64_t toast_until_ms;
	char last_answer[256]; /* the conductor's last answer, kept after its toast fades */
	struct viz_player_state play; /* the player's, as of the last frame */
	int64_t now_ms;
	double frame_ms;
	int64_t last_frame_us;
	uint32_t screenshots;
};

static int bus_send(void *ctx, const struct fs_control_command *cmd)
{
	struct viz_app *app = ctx;
	if (!app->bus || !app->control_ready) {
		return -ENOTCONN;
	}
	return fs_bus_publish(app->bus, NULL, fs_control_msg_encode_command(&app->ctl_out, cmd));
}

static void city_name(const char *source, char *buf, size_t size)
{
	const char *base = strrchr(source, '/');
	base = base ? base + 1 : source;
	size_t n = strnlen(base, size - 1);
	memcpy(buf, base, n);
	buf[n] = '\0';
	char *dot = strchr(buf, '.');
	if (dot && dot != buf) {
		*dot = '\0';
	}
}

/* Recorded messages go in as bus messages would, except the run's control traffic. */
static int play_message(void *ctx, const char *topic, const Fleetsim__V1__Envelope *env)
{
	struct viz_app *app = ctx;
	if (!strncmp(topic, "ctl.", 4)) {
		return 0; /* the recorded run's status, acks, ticks: the player is in charge now */
	}
	if (viz_app_ingest(app, topic, env) == -EINVAL) {
		app->refused++;
	}
	return 0;
}

static void play_reset(void *ctx)
{
	struct viz_app *app = ctx;
	viz_scene_reset(app->scene);
	viz_clock_reset(&app->clock);
	app->first_data_ms = 0;
}

struct viz_app *viz_app_create(const struct viz_app_options *o, struct viz_scene *scene, struct viz_sdl *sdl)
{
	struct viz_app *app = calloc(1, sizeof(*app));
	if (!app) {
		fs_error("out of memory");
		return NULL;
	}
	app->scene = scene;
	app->sdl = sdl;
	app->sink = (struct viz_command_sink){ bus_send, app };
	app->layers = (struct viz_layers){ .trails = o->trails, .heatmap = o->heatmap, .riders = true, .depots = true,
					   .selected = VIZ_NO_VEHICLE };
	snprintf(app->screenshot_dir, sizeof(app->screenshot_dir), "%s", o->screenshot_dir ? o->screenshot_dir : ".");
	app->tz = o->tz;
	city_name(viz_scene_network(scene)->source, app->city, sizeof(app->city));
	snprintf(app->name, sizeof(app->name), "fleet-viz-%d", (int)getpid());
	if (o->bus_address) {
		snprintf(app->bus_address, sizeof(app->bus_address), "%s", o->bus_address);
		struct fs_bus_options bo = { .address = o->bus_address, .name = app->name, .mode = FS_BUS_OBSERVER,
					     .observer_hwm = OBSERVER_HWM };
		app->bus = fs_bus_connect(&bo);
		if (!app->bus) {
			free(app);
			return NULL;
		}
		/* veh.snapshot: what a paused run's shards repeat, so attaching while paused shows the fleet */
		static const char *const topics[] = { "veh.state", "veh.snapshot", "veh.event", "ride.request",
						      "ride.trip", "ctl.status", "ctl.ack", "ctl.end", "kpi" };
		for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
			fs_bus_subscribe(app->bus, topics[i]);
		}
	}
	app->frame_ms = 0;
	viz_clock_reset(&app->clock);
	if (o->play_path) {
		struct viz_player_sink sink = { play_message, play_reset, app };
		app->player = viz_player_open(o->play_path, &sink);
		if (!app->player) {
			viz_app_destroy(app);
			return NULL;
		}
		fs_info("playing %s", o->play_path);
	}
	return app;
}

void viz_app_destroy(struct viz_app *app)
{
	if (!app) {
		return;
	}
	fs_bus_close(app->bus);
	viz_player_close(app->player);
	viz_draw_list_finish(&app->roads);
	viz_draw_list_finish(&app->dynamic);
	fs_control_msg_finish(&app->ctl_out);
	fs_control_in_finish(&app->ctl_in);
	free(app);
}

void viz_app_select(struct viz_app *app, uint32_t id)
{
	app->layers.selected = id;
	if (id == VIZ_NO_VEHICLE) {
		app->following = false;
	}
}

void viz_app_set_command_sink(struct viz_app *app, const struct viz_command_sink *sink)
{
	app->sink = *sink;
}

/* Say loudly, once, that the run is not on our network: log, title, banner (viz_hud). */
static void refuse_network(struct viz_app *app)
{
	double lat, lon;
	viz_scene_run_origin(app->scene, &lat, &lon);
	fs_error("the run is on another road network (origin %.5f, %.5f) than %s: none of its vehicles are shown; "
		 "start fleet-viz with the run's --network", lat, lon, viz_scene_network(app->scene)->source);
	char title[FS_BUS_ADDRESS_MAX + 128];
	snprintf(title, sizeof(title), "fleet-viz - NOT THIS RUN'S NETWORK (%s) - %s", app->city,
		 app->bus ? app->bus_address : "no bus");
	viz_sdl_set_title(app->sdl, title);
	app->told_network = true;
}

static void toast(struct viz_app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void toast(struct viz_app *app, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(app->toast, sizeof(app->toast), fmt, ap);
	va_end(ap);
	app->toast_until_ms = app->now_ms + TOAST_MS;
}

/* A recording played onto the bus (`fleetctl play`): its status says so, and keys drive it by commands. */
static bool bus_playback(const struct viz_app *app)
{
	return !app->player && viz_scene_run(app->scene)->playback;
}

/* Send @cmd (its id is set here) and wait for its answer (toasts say what happened). */
static void dispatch(struct viz_app *app, struct fs_control_command *cmd, const char *what)
{
	cmd->command_id = ((uint64_t)getpid() << 32) ^ ((uint64_t)fs_clock_now_us() << 8) ^ ++app->command_seq;
	int rc = app->sink.send(app->sink.ctx, cmd);
	if (rc < 0) {
		toast(app, "%s: not sent (%s)", what,
		      rc == -ENOTCONN ? "not connected to a simulation yet" : strerror(-rc));
		return;
	}
	struct pending_command *slot = &app->pending[0];
	for (size_t i = 0; i < sizeof(app->pending) / sizeof(app->pending[0]); i++) {
		if (!app->pending[i].active || app->pending[i].sent_ms < slot->sent_ms) {
			slot = &app->pending[i];
			if (!slot->active) {
				break;
			}
		}
	}
	*slot = (struct pending_command){ .id = cmd->command_id, .sent_ms = app->now_ms, .active = true };
	toast(app, "%s...", what);
}

static void send_command(struct viz_app *app, enum fs_command_kind kind, double speed, const char *what)
{
	struct fs_control_command cmd = { .kind = kind, .speed = speed, .steps = kind == FS_COMMAND_STEP ? 1 : 0 };
	dispatch(app, &cmd, what);
}

/* A playback on the bus: move it to @t_ms (the player clamps it to the recording). */
static void send_seek(struct viz_app *app, int64_t t_ms)
{
	struct fs_control_command cmd = { .kind = FS_COMMAND_SEEK, .sim_time_ms = t_ms };
	char what[64], when[32];
	viz_hud_format_time(t_ms, app->tz, when, sizeof(when));
	snprintf(what, sizeof(what), "seek to %s", when);
	dispatch(app, &cmd, what);
}

static void handle_ack(struct viz_app *app, const struct fs_control_command_ack *ack)
{
	for (size_t i = 0; i < sizeof(app->pending) / sizeof(app->pending[0]); i++) {
		if (app->pending[i].active && app->pending[i].id == ack->command_id) {
			app->pending[i].active = false;
			const char *who = viz_scene_run(app->scene)->playback ? "playback" : "conductor";
			if (ack->accepted) {
				toast(app, "%s: %s", who, ack->reason ? ack->reason : "ok");
			} else {
				toast(app, "%s refused: %s", who, ack->reason ? ack->reason : "?");
			}
			snprintf(app->last_answer, sizeof(app->last_answer), "%s", app->toast);
		}
	}
}

static void check_timeouts(struct viz_app *app)
{
	for (size_t i = 0; i < sizeof(app->pending) / sizeof(app->pending[0]); i++) {
		if (app->pending[i].active && app->now_ms - app->pending[i].sent_ms > ACK_TIMEOUT_MS) {
			app->pending[i].active = false;
			toast(app, "no answer from the %s within %d s",
			      viz_scene_run(app->scene)->playback ? "playback" : "conductor", ACK_TIMEOUT_MS / 1000);
		}
	}
}

/* '+': the next ladder step above the current pace; '-': the next below. */
static void change_speed(struct viz_app *app, int dir)
{
	const struct viz_run *run = viz_scene_run(app->scene);
	if (!run->have_status) {
		toast(app, "speed: no status from the conductor yet");
		return;
	}
	double now = run->speed > 0 ? run->speed : INFINITY;
	double target = -1;
	if (dir > 0) {
		for (size_t i = 0; i < LADDER_N; i++) {
			if (speed_ladder[i] > now * 1.0001) {
				target = speed_ladder[i];
				break;
			}
		}
		if (target < 0) {
			if (isinf(now)) {
				toast(app, "already as fast as possible");
				return;
			}
			target = 0; /* past the top: max */
		}
	} else {
		/* From max, step below what the run actually achieves. */
		double from = isinf(now) ? fmax(run->sim_real_ratio, speed_ladder[0] * 2) : now;
		for (size_t i = LADDER_N; i-- > 0;) {
			if (speed_ladder[i] < from * 0.9999) {
				target = speed_ladder[i];
				break;
			}
		}
		if (target < 0) {
			toast(app, "already at the slowest pace (%gx)", speed_ladder[0]);
			return;
		}
	}
	char what[64];
	if (target > 0) {
		snprintf(what, sizeof(what), "speed %gx", target);
	} else {
		snprintf(what, sizeof(what), "speed max");
	}
	send_command(app, FS_COMMAND_SPEED, target, what);
}

static void fit_city(struct viz_app *app)
{
	const struct fs_network *n = viz_scene_network(app->scene);
	viz_view_fit(&app->view, n->min_x, n->min_y, n->max_x, n->max_y);
	app->following = false;
	app->view_changed_ms = app->now_ms;
}

static void layout(struct viz_app *app)
{
	int w, h;
	viz_sdl_size(app->sdl, &w, &h);
	if (w == app->view.width && h == app->view.height && app->view_fitted) {
		return;
	}
	double cx = app->view.cx, cy = app->view.cy;
	app->view.width = w;
	app->view.height = h;
	float panel = w > 2 * VIZ_HUD_PANEL_W ? VIZ_HUD_PANEL_W : 0;
	app->view.area = (struct viz_rect){ panel, 0, (float)w - panel, (float)h };
	if (!app->view_fitted) {
		fit_city(app);
		app->view_fitted = true;
	} else {
		app->view.cx = cx;
		app->view.cy = cy;
	}
	app->view_changed_ms = app->now_ms;
}

static struct viz_hud_input hud_input(const struct viz_app *app)
{
	const struct fs_bus_stats *bs = app->bus ? fs_bus_get_stats(app->bus) : NULL;
	return (struct viz_hud_input){
		.scene = app->scene,
		.view = &app->view,
		.layers = &app->layers,
		.city = app->city,
		.tz = app->tz,
		.bus_address = app->bus ? app->bus_address : NULL,
		.connected = app->connected || !app->bus,
		.control_ready = app->control_ready,
		.following = app->following,
		.help = app->help,
		.toast = app->now_ms < app->toast_until_ms ? app->toast : "",
		.frame_ms = app->frame_ms,
		.gaps = bs ? bs->gaps : 0,
		.refused = app->refused,
		.play = app->player || bus_playback(app) ? &app->play : NULL,
		.play_on_bus = bus_playback(app),
	};
}

static bool in_ui(const struct viz_app *app, int x, int y)
{
	if (x < app->view.area.x) {
		return true; /* the panel */
	}
	struct viz_hud_input in = hud_input(app);
	struct viz_rect r;
	return viz_hud_inspector_rect(&in, &r) && x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
}

static void zoom(struct viz_app *app, double factor, double sx, double sy)
{
	viz_view_zoom_at(&app->view, factor, sx, sy);
	app->view_changed_ms = app->now_ms;
}

/* A ladder step above (@dir > 0) or below the pace @now, or @now at either end. */
static double ladder_step(double now, int dir)
{
	if (dir > 0) {
		for (size_t i = 0; i < LADDER_N; i++) {
			if (speed_ladder[i] > now * 1.0001) {
				return speed_ladder[i];
			}
		}
		return now;
	}
	for (size_t i = LADDER_N; i-- > 0;) {
		if (speed_ladder[i] < now * 0.9999) {
			return speed_ladder[i];
		}
	}
	return now;
}

static void play_seek(struct viz_app *app, int64_t t_ms)
{
	if (viz_player_seek(app->player, t_ms) < 0) {
		toast(app, "the recording is damaged there: playback stops");
	}
	viz_player_get(app->player, &app->play);
}

/* Keys of a playback: the timeline's, not the conductor's. Returns false for keys it does not take. */
static bool play_key(struct viz_app *app, SDL_Keycode k)
{
	struct viz_player_state ps;
	viz_player_get(app->player, &ps);
	switch (k) {
	case SDLK_SPACE:
		if (ps.at_end) {
			play_seek(app, ps.start_ms); /* from the start again */
		}
		viz_player_set_paused(app->player, !ps.paused && !ps.at_end);
		toast(app, "%s", ps.paused || ps.at_end ? "playing" : "paused");
		break;
	case SDLK_PLUS:
	case SDLK_EQUALS:
	case SDLK_KP_PLUS:
	case SDLK_MINUS:
	case SDLK_KP_MINUS:
		viz_player_set_rate(app->player, ladder_step(ps.rate, k == SDLK_MINUS || k == SDLK_KP_MINUS ? -1 : 1));
		viz_player_get(app->player, &ps);
		toast(app, "playback at %gx", ps.rate);
		break;
	case SDLK_LEFTBRACKET:
	case SDLK_RIGHTBRACKET:
		play_seek(app, ps.position_ms + (k == SDLK_LEFTBRACKET ? -60000 : 60000));
		break;
	case SDLK_PERIOD:
	case SDLK_KP_PERIOD:
		viz_player_set_paused(app->player, true);
		play_seek(app, ps.position_ms + 1000);
		break;
	default:
		return false;
	}
	viz_player_get(app->player, &app->play);
	return true;
}

/*
 * Keys of a playback on the bus that differ from a run's: `[` / `]` seek a
 * minute (sent to the player); space at the end starts from the beginning.
 * Space, `.`, `+` and `-` otherwise go as to a conductor, which the player
 * answers. Returns false for keys it does not take.
 */
static bool bus_play_key(struct viz_app *app, SDL_Keycode k)
{
	switch (k) {
	case SDLK_LEFTBRACKET:
	case SDLK_RIGHTBRACKET:
		send_seek(app, app->play.position_ms + (k == SDLK_LEFTBRACKET ? -60000 : 60000));
		return true;
	case SDLK_SPACE:
		if (!app->play.at_end) {
			return false;
		}
		send_seek(app, app->play.start_ms);
		send_command(app, FS_COMMAND_RESUME, 0, "play from the start");
		return true;
	default:
		return false;
	}
}

static bool on_timeline(const struct viz_app *app, int x, int y)
{
	struct viz_rect r;
	viz_hud_timeline_rect(&app->view, &r);
	return (app->player || bus_playback(app)) && x >= r.x - 4 && x <= r.x + r.w + 4 && y >= r.y - 6 && y <= r.y + r.h + 6;
}

static void click(struct viz_app *app, int x, int y)
{
	if (on_timeline(app, x, y)) {
		struct viz_rect r;
		viz_hud_timeline_rect(&app->view, &r);
		double f = fmin(1, fmax(0, (x - r.x) / r.w));
		int64_t t = app->play.start_ms + (int64_t)llround(f * (double)(app->play.end_ms - app->play.start_ms));
		if (app->player) {
			play_seek(app, t);
		} else {
			send_seek(app, t);
		}
		return;
	}
	if (in_ui(app, x, y)) {
		return;
	}
	double radius = fmax(7, viz_marker_size(&app->view));
	uint32_t id = viz_scene_pick(app->scene, &app->view, x, y, radius);
	app->layers.selected = id;
	if (id == VIZ_NO_VEHICLE) {
		app->following = false;
	}
}

static void screenshot_key(struct viz_app *app)
{
	char when[40], path[700];
	struct viz_hud_input in = hud_input(app);
	int64_t t = viz_hud_clock(&in);
	if (t) {
		/* The clock's time: the city's, with its offset so the name says whose. */
		struct fs_civil_time c;
		fs_calendar_from_ms(fs_timezone_local_ms(app->tz, t), &c);
		int32_t off = fs_timezone_offset_s(app->tz, t) / 60;
		int32_t a = off < 0 ? -off : off;
		snprintf(when, sizeof(when), "%04d%02d%02d-%02d%02d%02d%c%02d%02d", c.year, c.month, c.day, c.hour, c.minute,
			 c.second, off < 0 ? '-' : '+', a / 60, a % 60);
	} else {
		snprintf(when, sizeof(when), "no-data");
	}
	struct stat st;
	for (uint32_t n = 0;; n++) {
		snprintf(path, sizeof(path), "%s/fleet-viz-%s%s%.0u.png", app->screenshot_dir, when, n ? "-" : "", n);
		if (stat(path, &st) < 0 || n > 999) {
			break;
		}
	}
	if (viz_app_screenshot(app, path) == 0) {
		toast(app, "saved %s", path);
	} else {
		toast(app, "could not save %s", path);
	}
}

/* A key: false to quit. */
/* Shows or hides a layer and says which: "@what @on" or "@what @off". */
static void toggle_layer(struct viz_app *app, bool *layer, const char *what, const char *on, const char *off)
{
	*layer = !*layer;
	toast(app, "%s %s", what, *layer ? on : off);
}

static bool handle_key(struct viz_app *app, SDL_Keycode k)
{
	double cx = app->view.area.x + app->view.area.w / 2, cy = app->view.area.y + app->view.area.h / 2;
	if ((app->player && play_key(app, k)) || (bus_playback(app) && bus_play_key(app, k))) {
		return true;
	}
	switch (k) {
	case SDLK_q:
		return false;
	case SDLK_h:
	case SDLK_F1:
		app->help = !app->help;
		break;
	case SDLK_ESCAPE:
		if (app->help) {
			app->help = false;
		} else {
			app->layers.selected = VIZ_NO_VEHICLE;
			app->following = false;
		}
		break;
	case SDLK_PAGEUP:
	case SDLK_z:
		zoom(app, 1.5, cx, cy);
		break;
	case SDLK_PAGEDOWN:
	case SDLK_x:
		zoom(app, 1 / 1.5, cx, cy);
		break;
	case SDLK_LEFT:
	case SDLK_RIGHT:
	case SDLK_UP:
	case SDLK_DOWN:
		viz_view_pan(&app->view, k == SDLK_LEFT ? 120 : k == SDLK_RIGHT ? -120 : 0,
			     k == SDLK_UP ? 120 : k == SDLK_DOWN ? -120 : 0);
		app->following = false;
		app->view_changed_ms = app->now_ms;
		break;
	case SDLK_c:
	case SDLK_HOME:
		fit_city(app);
		break;
	case SDLK_f:
		if (app->layers.selected != VIZ_NO_VEHICLE) {
			app->following = !app->following;
		} else {
			toast(app, "click a vehicle first, then f follows it");
		}
		break;
	case SDLK_d:
		toggle_layer(app, &app->layers.heatmap, "demand heatmap", "on", "off");
		break;
	case SDLK_t:
		toggle_layer(app, &app->layers.trails, "trails", "on", "off");
		break;
	case SDLK_r:
		toggle_layer(app, &app->layers.riders, "waiting riders", "shown", "hidden");
		break;
	case SDLK_s:
		screenshot_key(app);
		break;
	case SDLK_SPACE: {
		bool paused = viz_scene_run(app->scene)->state == VIZ_RUN_PAUSED;
		send_command(app,
			     paused ? FS_COMMAND_RESUME
				    : FS_COMMAND_PAUSE,
			     0, paused ? "resume" : "pause");
		break;
	}
	case SDLK_PERIOD:
	case SDLK_KP_PERIOD:
		send_command(app, FS_COMMAND_STEP, 0, "step");
		break;
	case SDLK_PLUS:
	case SDLK_EQUALS:
	case SDLK_KP_PLUS:
		change_speed(app, +1);
		break;
	case SDLK_MINUS:
	case SDLK_KP_MINUS:
		change_speed(app, -1);
		break;
	default:
		break;
	}
	return true;
}

bool viz_app_handle_event(struct viz_app *app, const SDL_Event *ev)
{
	switch (ev->type) {
	case SDL_QUIT:
		return false;
	case SDL_WINDOWEVENT:
		if (ev->window.event == SDL_WINDOWEVENT_SIZE_CHANGED) {
			layout(app);
		}
		break;
	case SDL_MOUSEBUTTONDOWN:
		if (ev->button.button == SDL_BUTTON_LEFT) {
			app->dragging = true;
			app->drag_moved = false;
			app->drag_x = app->press_x = ev->button.x;
			app->drag_y = app->press_y = ev->button.y;
		}
		break;
	case SDL_MOUSEMOTION:
		if (app->dragging) {
			int dx = ev->motion.x - app->drag_x, dy = ev->motion.y - app->drag_y;
			if (abs(ev->motion.x - app->press_x) > CLICK_SLOP_PX || abs(ev->motion.y - app->press_y) > CLICK_SLOP_PX) {
				app->drag_moved = true;
			}
			if (app->drag_moved && (dx || dy)) {
				viz_view_pan(&app->view, dx, dy);
				app->following = false;
				app->view_changed_ms = app->now_ms;
			}
			app->drag_x = ev->motion.x;
			app->drag_y = ev->motion.y;
		}
		break;
	case SDL_MOUSEBUTTONUP:
		if (ev->button.button == SDL_BUTTON_LEFT && app->dragging) {
			app->dragging = false;
			if (!app->drag_moved) {
				click(app, ev->button.x, ev->button.y);
			}
		}
		break;
	case SDL_MOUSEWHEEL: {
		float dy = ev->wheel.preciseY != 0 ? ev->wheel.preciseY : (float)ev->wheel.y;
		if (ev->wheel.direction == SDL_MOUSEWHEEL_FLIPPED) {
			dy = -dy;
		}
		int mx = ev->wheel.mouseX, my = ev->wheel.mouseY;
		if (dy != 0) {
			/* Zoom about the pointer, unless following (then about the vehicle). */
			if (app->following) {
				mx = (int)(app->view.area.x + app->view.area.w / 2);
				my = (int)(app->view.area.y + app->view.area.h / 2);
			}
			zoom(app, pow(1.25, dy), mx, my);
		}
		break;
	}
	case SDL_KEYDOWN:
		return handle_key(app, ev->key.keysym.sym);
	default:
		break;
	}
	return true;
}

int viz_app_ingest(struct viz_app *app, const char *topic, const Fleetsim__V1__Envelope *env)
{
	(void)topic;
	int rc = 0;
	enum fs_control_kind kind = fs_control_msg_kind(env);
	if (kind == FS_CONTROL_STATUS || kind == FS_CONTROL_COMMAND_ACK) {
		app->refused_why = fs_control_msg_decode(env, &app->ctl_in);
		if (app->refused_why) {
			return -EINVAL;
		}
		if (kind == FS_CONTROL_STATUS) {
			viz_scene_apply_status(app->scene, &app->ctl_in.status);
		} else {
			handle_ack(app, &app->ctl_in.command_ack);
		}
	}
	switch (env->payload_case) {
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES:
		rc = viz_scene_apply_states(app->scene, env->vehicle_states, env->sim_time_ms);
		if (rc == 0) {
			viz_clock_note(&app->clock, viz_scene_data_time(app->scene), app->now_ms);
			app->first_data_ms = app->first_data_ms ? app->first_data_ms : env->sim_time_ms;
		}
		if (rc == -EXDEV && !app->told_network) {
			refuse_network(app);
		}
		break;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS:
		rc = viz_scene_apply_events(app->scene, env->vehicle_events);
		break;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_RIDE_REQUESTS:
		rc = viz_scene_apply_requests(app->scene, env->ride_requests, env->sim_time_ms);
		break;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_TRIP_EVENTS:
		viz_scene_apply_trips(app->scene, env->trip_events);
		break;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_KPIS:
		viz_scene_apply_kpis(app->scene, env->kpis);
		break;
	default:
		break;
	}
	if (rc == -ENOMEM) {
		fs_error("out of memory applying a %s message", topic);
	}
	if (rc == -EINVAL || rc == -EXDEV) {
		app->refused_why = viz_scene_refusal(app->scene);
	}
	if (rc == 0 || rc == -EXDEV) {
		app->connected = true; /* the run answers, even if on another network */
	}
	return rc == -EINVAL || rc == -EXDEV ? -EINVAL : 0;
}

int viz_app_poll_bus(struct viz_app *app, int budget_ms)
{
	if (!app->bus) {
		return 0;
	}
	int64_t now = fs_clock_now_ms();
	if (!app->control_ready && now >= app->next_handshake_ms) {
		/* Commands need our publish leg proven (ZeroMQ slow joiner); what
		 * arrives meanwhile is kept by the bus client, not lost. */
		app->control_ready = fs_bus_handshake(app->bus, HANDSHAKE_TRY_MS) == 0;
		app->next_handshake_ms = fs_clock_now_ms() + HANDSHAKE_EVERY_MS;
		if (app->control_ready) {
			fs_info("attached to %s as %s: control keys ready", app->bus_address, app->name);
		}
	}
	int64_t deadline = now + (budget_ms > 0 ? budget_ms : 20);
	int applied = 0;
	for (;;) {
		struct fs_bus_message *msg = NULL;
		int rc = fs_bus_recv(app->bus, &msg, 0);
		if (rc == -EAGAIN) {
			break;
		}
		if (rc == -EINTR) {
			continue;
		}
		if (rc < 0) {
			return rc;
		}
		app->now_ms = fs_clock_now_ms();
		if (viz_app_ingest(app, msg->topic, msg->env) == -EINVAL) {
			app->refused++;
			fs_bus_reject(app->bus, msg, app->refused_why);
		}
		fs_bus_message_free(msg);
		applied++;
		if (fs_clock_now_ms() >= deadline) {
			break; /* the rest waits for the next frame (the broker bounds the queue) */
		}
	}
	return applied;
}

void *viz_app_bus_socket(struct viz_app *app)
{
	return app->bus ? fs_bus_socket(app->bus) : NULL;
}

/* The timeline of a playback on the bus, from its status and what the frame shows. */
static void playback_state(const struct viz_run *run, int64_t shown_ms, struct viz_player_state *ret)
{
	int64_t at = shown_ms ? shown_ms : run->sim_time_ms;
	at = at < run->play_start_ms ? run->play_start_ms : at > run->play_end_ms ? run->play_end_ms : at;
	*ret = (struct viz_player_state){ .start_ms = run->play_start_ms,
					  .end_ms = run->play_end_ms,
					  .position_ms = at,
					  .rate = run->speed,
					  .paused = run->state != VIZ_RUN_RUNNING,
					  .at_end = run->state != VIZ_RUN_RUNNING && at >= run->play_end_ms };
}

void viz_app_render(struct viz_app *app, int64_t now_ms)
{
	int64_t t0 = fs_clock_now_us();
	app->now_ms = now_ms;
	layout(app);
	check_timeouts(app);
	if (app->player) {
		struct viz_player_state ps;
		if (viz_player_advance(app->player, now_ms) < 0) {
			toast(app, "the recording is damaged here: playback stops");
		}
		viz_player_get(app->player, &ps);
		viz_scene_place(app->scene, ps.position_ms);
		app->play = ps;
	} else {
		const struct viz_run *run = viz_scene_run(app->scene);
		bool running = !run->have_status || run->state == VIZ_RUN_RUNNING;
		int64_t shown = viz_clock_frame(&app->clock, now_ms, running, run->have_status ? run->sim_real_ratio : 0);
		viz_scene_place(app->scene, shown);
		if (run->playback) {
			playback_state(run, shown, &app->play);
		}
	}
	if (app->following) {
		const struct viz_vehicle *v = viz_scene_find(app->scene, app->layers.selected);
		if (v) {
			if (v->x != app->view.cx || v->y != app->view.cy) {
				app->view.cx = v->x;
				app->view.cy = v->y;
				app->view_changed_ms = now_ms;
			}
		} else {
			app->following = false;
		}
	}

	/* Roads: from the cache while the view moves (if rebuilding is costly), rebuilt once it rests. */
	const struct viz_view *cached = viz_sdl_roads_view(app->sdl);
	bool same = cached && !memcmp(cached, &app->view, sizeof(app->view));
	bool moving = now_ms - app->view_changed_ms < ROADS_REBUILD_IDLE_MS && app->roads_ms > ROADS_CHEAP_MS;
	if (same || (cached && moving)) {
		viz_sdl_roads(app->sdl, NULL, &app->view);
	} else {
		int64_t r0 = fs_clock_now_us();
		viz_draw_list_clear(&app->roads);
		viz_scene_draw_roads(app->scene, &app->view, &app->roads);
		viz_sdl_roads(app->sdl, &app->roads, &app->view);
		app->roads_ms = (double)(fs_clock_now_us() - r0) / 1000.0;
	}

	viz_draw_list_clear(&app->dynamic);
	viz_scene_draw_dynamic(app->scene, &app->view, &app->layers, &app->dynamic);
	viz_sdl_draw(app->sdl, &app->dynamic);

	struct viz_hud_input in = hud_input(app);
	viz_hud_draw(app->sdl, &in);
	viz_sdl_end_frame(app->sdl);
	viz_sdl_flush(app->sdl); /* the software renderer draws its batch here: count it */
	double ms = (double)(fs_clock_now_us() - t0) / 1000.0;
	app->frame_ms = app->frame_ms > 0 ? 0.9 * app->frame_ms + 0.1 * ms : ms;
}

int viz_app_screenshot(struct viz_app *app, const char *path)
{
	return viz_sdl_save_png(app->sdl, path);
}

int viz_app_write_meta(const struct viz_app *app, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		int e = errno;
		fs_error("cannot write %s: %s", path, strerror(e));
		return -e;
	}
	const struct viz_view *v = &app->view;
	struct viz_stats st;
	viz_scene_stats(app->scene, &st);
	fprintf(f, "width=%d\nheight=%d\ncx=%.17g\ncy=%.17g\nscale=%.17g\n", v->width, v->height, v->cx, v->cy, v->scale);
	fprintf(f, "area_x=%.9g\narea_y=%.9g\narea_w=%.9g\narea_h=%.9g\nmarker=%g\n", v->area.x, v->area.y, v->area.w,
		v->area.h, viz_marker_size(v));
	fprintf(f, "vehicles=%u\nshards=%u\nkeyframed=%u\nsim_time_ms=%" PRId64 "\ndisplay_ms=%" PRId64
		   "\ndata_ms=%" PRId64 "\nselected=%u\n",
		st.fleet, st.shard_count, st.shards_keyframed, viz_scene_time(app->scene),
		viz_scene_display_time(app->scene), viz_scene_data_time(app->scene), app->layers.selected);
	for (uint32_t s = 0; s < st.shard_count; s++) {
		fprintf(f, "shard.%u.time_ms=%" PRId64 "\nshard.%u.keyframe_ms=%" PRId64 "\n", s,
			viz_scene_shard_time(app->scene, s), s, viz_scene_shard_keyframe_time(app->scene, s));
	}
	struct viz_hud_input in = hud_input(app);
	char clock[64] = "", zone[96] = "";
	if (viz_hud_clock(&in)) {
		viz_hud_format_time(viz_hud_clock(&in), app->tz, clock, sizeof(clock));
		fs_timezone_describe(app->tz, viz_hud_clock(&in), zone, sizeof(zone));
	}
	fprintf(f, "clock=%s\nzone=%s\n", clock, zone); /* what the HUD's clock says */
	if (app->player || bus_playback(app)) {
		fprintf(f, "play_source=%s\n", app->player ? "file" : "bus");
		fprintf(f, "play_start_ms=%" PRId64 "\nplay_end_ms=%" PRId64 "\nplay_position_ms=%" PRId64
			   "\nplay_rate=%g\nplay_paused=%d\nplay_at_end=%d\n",
			app->play.start_ms, app->play.end_ms, app->play.position_ms, app->play.rate, app->play.paused,
			app->play.at_end);
	}
	const struct viz_run *run = viz_scene_run(app->scene);
	fprintf(f, "run_state=%d\nrun_tick=%" PRIu64 "\ntoast=%s\nanswer=%s\nwrong_network=%d\nrefused=%" PRIu64 "\n",
		(int)run->state, run->tick, viz_app_toast(app), app->last_answer, viz_app_wrong_network(app), app->refused);
	if (fclose(f) != 0) {
		fs_error("cannot write %s: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

int viz_app_log_frame(const struct viz_app *app, FILE *f, uint64_t frame, int64_t wall_ms)
{
	struct viz_stats st;
	viz_scene_stats(app->scene, &st);
	uint32_t n = viz_scene_vehicle_count(app->scene), shown = 0;
	for (uint32_t i = 0; i < n; i++) {
		shown += viz_scene_vehicle_at(app->scene, i)->on_map;
	}
	fprintf(f, "frame %" PRIu64 " wall %" PRId64 " display %" PRId64 " data %" PRId64 " keyframed %u/%u shown %u"
		   " ignored %" PRIu64 " refused %" PRIu64 " since %" PRId64 "\n",
		frame, wall_ms, viz_scene_display_time(app->scene), viz_scene_data_time(app->scene), st.shards_keyframed,
		st.shard_count, shown, st.moves_ignored, app->refused, app->first_data_ms);
	for (uint32_t s = 0; s < st.shard_count; s++) {
		fprintf(f, "%s%" PRId64, s ? "," : "shards ", viz_scene_shard_time(app->scene, s));
	}
	fprintf(f, "%s", st.shard_count ? "\n" : "");
	for (uint32_t s = 0; s < st.shard_count; s++) {
		int64_t k = viz_scene_shard_keyframe_time(app->scene, s);
		fprintf(f, "%s%" PRId64, s ? "," : "keyframes ", k == INT64_MIN ? 0 : k);
	}
	fprintf(f, "%s", st.shard_count ? "\n" : "");
	for (uint32_t i = 0; i < n; i++) {
		const struct viz_vehicle *v = viz_scene_vehicle_at(app->scene, i);
		if (v->on_map) {
			fprintf(f, "v %u %u %.3f %.3f\n", v->id, v->state, v->x, v->y);
		}
	}
	return ferror(f) ? -EIO : 0;
}

bool viz_app_playback(const struct viz_app *app, struct viz_player_state *ret)
{
	if (app->player) {
		viz_player_get(app->player, ret);
		return true;
	}
	if (bus_playback(app)) {
		*ret = app->play; /* as of the last frame */
		return true;
	}
	return false;
}

bool viz_app_wrong_network(const struct viz_app *app)
{
	return viz_scene_origin_mismatch(app->scene);
}

bool viz_app_control_ready(const struct viz_app *app)
{
	if (app->player) {
		return true; /* the keys drive the player */
	}
	return app->control_ready && viz_scene_run(app->scene)->have_status;
}

bool viz_app_has_snapshot(const struct viz_app *app)
{
	struct viz_stats st;
	viz_scene_stats(app->scene, &st);
	return st.shard_count > 0 && st.shards_keyframed == st.shard_count;
}

const struct viz_view *viz_app_view(const struct viz_app *app)
{
	return &app->view;
}

uint32_t viz_app_selected(const struct viz_app *app)
{
	return app->layers.selected;
}

bool viz_app_following(const struct viz_app *app)
{
	return app->following;
}

bool viz_app_help_shown(const struct viz_app *app)
{
	return app->help;
}

const struct viz_layers *viz_app_layers(const struct viz_app *app)
{
	return &app->layers;
}

const char *viz_app_toast(const struct viz_app *app)
{
	return app->now_ms < app->toast_until_ms ? app->toast : "";
}

double viz_app_frame_ms(const struct viz_app *app)
{
	return app->frame_ms;
}
