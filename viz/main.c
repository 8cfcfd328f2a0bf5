/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fleet-viz - watch a running fleetsim simulation: the fleet on the city map.
 *
 * One thread, one loop (STYLE.md section 6): SDL events, bus messages drained
 * within a budget, a frame, then zmq_poll() on the bus until the next frame is
 * due, so messages are taken as they come and the frame rate holds.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <SDL_image.h>

#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_data.h"
#include "fs_log.h"
#include "fs_service.h"
#include "fs/scenario.h"
#include "fs/scenario_load.h"
#include "fs/timezone.h"
#include "fs/timezone_load.h"
#include "fs_world.h"
#include "viz_app.h"
#include "viz_scene.h"
#include "viz_sdl.h"

#define FRAME_MS 16 /* ~60 frames per second */

static volatile sig_atomic_t stop;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fleet-viz [options]\n"
		"\n"
		"Watch a running simulation: the fleet on the city map, live. fleet-viz only\n"
		"observes (it can never slow or change the run); the control keys send\n"
		"pause / resume / step / speed to the conductor like `fleetctl` does.\n"
		"Press h in the window for the keys.\n"
		"\n"
		"Options:\n"
		"  --bus ADDR          bus of the run (default $FLEETSIM_BUS, else\n"
		"                      ipc://$XDG_RUNTIME_DIR/fleetsim or ipc:///tmp/fleetsim-UID)\n"
		"  --play FILE         play a recording (fleetsim run --record) instead, with a timeline:\n"
		"                      space pauses, + and - change the pace, [ and ] jump a minute,\n"
		"                      a click on the timeline seeks\n"
		"  --network SPEC      the run's road network, exactly as given to `fleetsim run`\n"
		"                      (default atlanta; also columbus, FILE.osm.pbf, grid:..., csv:...)\n"
		"  --depots N          depots in the city, as the vehicle nodes use (default 4)\n"
		"  --scenario FILE     the run's scenario: the HUD shows its city.timezone's local time\n"
		"                      (default: examples/default.yaml's, America/New_York)\n"
		"  --timezone ZONE     the HUD's clock: an IANA zone or UTC (overrides --scenario)\n"
		"  --width W --height H  window size (default 1280x800)\n"
		"  --headless          no display: SDL's offscreen driver and the software renderer\n"
		"  --software          the software renderer even with a display\n"
		"  --font FILE         a TrueType font (default: fontconfig's sans)\n"
		"  --trails            start with vehicle trails shown (key t)\n"
		"  --heatmap           start with the demand heatmap shown (key d)\n"
		"  --screenshot FILE   render --frames frames once every shard's keyframe came, save\n"
		"                      them as a PNG and exit (exit status 3 if no data came in --wait,\n"
		"                      4 at once if the run is on another road network)\n"
		"  --frames N          frames to render before the screenshot (default 1)\n"
		"  --wait S            seconds to wait for the fleet with --screenshot (default 30)\n"
		"  --screenshot-meta F with --screenshot: also write the view and the simulated time\n"
		"                      of each shard's batch shown (key=value lines; used by tests)\n"
		"  --screenshot-series K  with --screenshot: also save each of the last K frames as\n"
		"                      FILE-1.png .. FILE-K.png (and their meta as F-1 .. F-K)\n"
		"  --press KEYS        with --screenshot: press these keys, five frames apart, once every\n"
		"                      shard has reported and control is ready (' ' pauses; for tests)\n"
		"  --state-log FILE    append what every frame shows (display time, each vehicle's\n"
		"                      id, state and position) to FILE (for tests)\n"
		"  --screenshot-dir D  where the s key saves PNGs (default: the current directory)\n"
		"  --select ID         open the inspector on vehicle ID (as if clicked)\n"
		"  --version           print the version\n"
		"  -h, --help          this text\n");
}

/* City names resolve to the shipped OSM extracts, as `fleetsim run` does. */
static void resolve_network(const char *spec, char *buf, size_t size)
{
	if (strcmp(spec, "atlanta") && strcmp(spec, "columbus")) {
		snprintf(buf, size, "%s", spec);
		return;
	}
	snprintf(buf, size, "%s/osm/%s.osm.pbf", fs_data_dir(), spec);
}

struct options {
	const char *bus;
	const char *network;
	uint64_t depots;
	uint64_t width, height;
	bool headless, software, trails, heatmap;
	const char *font;
	const char *screenshot;
	uint64_t frames;
	double wait_s;
	const char *screenshot_dir;
	const char *screenshot_meta;
	uint64_t series;
	const char *press;
	const char *state_log;
	const char *scenario;
	const char *timezone;
	const char *play;
	uint64_t select;
	bool select_given;
};

static int take_bus(void *target, const char *arg)
{
	if (fs_bus_endpoint(arg, FS_BUS_EP_WATCH, (char[FS_BUS_ADDRESS_MAX]){ 0 }, FS_BUS_ADDRESS_MAX) < 0) {
		fs_error("--bus: '%s' is not ipc://DIR (short enough for a socket path) or tcp://HOST:PORT", arg);
		return 2;
	}
	*(const char **)target = arg;
	return 0;
}

/* FS_SERVICE_GO_ON, or the exit status (0 after --help, 2 after a usage error). */
static int parse(int argc, char **argv, struct options *o)
{
	const struct fs_opt opts[] = {
		{ "bus", FS_OPT_CALL, &o->bus, .call = take_bus },
		{ "network", FS_OPT_STRING, &o->network },
		{ "depots", FS_OPT_U64, &o->depots, .min = 1, .max = FS_WORLD_MAX_DEPOTS,
		  .what = "a depot count (1.." FS_ARGS_STR(FS_WORLD_MAX_DEPOTS) ")" },
		{ "width", FS_OPT_U64, &o->width, .min = 320, .max = 16384, .what = "a size in pixels (320..16384)" },
		{ "height", FS_OPT_U64, &o->height, .min = 320, .max = 16384, .what = "a size in pixels (320..16384)" },
		{ "headless", FS_OPT_SET, &o->headless },
		{ "software", FS_OPT_SET, &o->software },
		{ "font", FS_OPT_STRING, &o->font },
		{ "trails", FS_OPT_SET, &o->trails },
		{ "heatmap", FS_OPT_SET, &o->heatmap },
		{ "screenshot", FS_OPT_STRING, &o->screenshot },
		{ "frames", FS_OPT_U64, &o->frames, .min = 1, .max = 1000000, .what = "a frame count (1..1000000)" },
		{ "screenshot-series", FS_OPT_U64, &o->series, .min = 1, .max = 1000, .what = "a frame count (1..1000)" },
		{ "wait", FS_OPT_DOUBLE, &o->wait_s, .hi = DBL_MAX, .what = "a number of seconds" },
		{ "screenshot-dir", FS_OPT_STRING, &o->screenshot_dir },
		{ "screenshot-meta", FS_OPT_STRING, &o->screenshot_meta },
		{ "press", FS_OPT_STRING, &o->press },
		{ "select", FS_OPT_U64, &o->select, &o->select_given, .max = UINT32_MAX - 1, .what = "a vehicle id" },
		{ "state-log", FS_OPT_STRING, &o->state_log },
		{ "scenario", FS_OPT_STRING, &o->scenario },
		{ "timezone", FS_OPT_STRING, &o->timezone },
		{ "play", FS_OPT_STRING, &o->play },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "fleet-viz", .usage = usage, .opts = opts,
					      .unexpected_suffix = " (try `fleet-viz --help`)" };
	int rc = fs_service_parse(&spec, argc, argv, NULL);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if ((o->screenshot_meta || o->press || o->series) && !o->screenshot) {
		fs_error("--screenshot-meta, --screenshot-series and --press go with --screenshot");
		return 2;
	}
	if (o->series > o->frames) {
		fs_error("--screenshot-series %" PRIu64 " is more than --frames %" PRIu64, o->series, o->frames);
		return 2;
	}
	return FS_SERVICE_GO_ON;
}

/*
 * The city's clock for the HUD: --timezone, else the scenario's city.timezone
 * (--scenario, else the defaults). Returns 0, or -1 after saying why.
 */
static int load_clock(const struct options *o, struct fs_timezone *ret)
{
	struct fs_error err = { "" };
	if (o->timezone && !strcmp(o->timezone, "UTC")) {
		fs_timezone_fixed(ret, 0);
		return 0;
	}
	if (o->timezone) {
		if (fs_timezone_load(FS_TZ_DIR, o->timezone, ret, &err) < 0) {
			fs_error("--timezone: %s", err.message);
			return -1;
		}
		return 0;
	}
	struct fs_scenario sc;
	int rc = o->scenario ? fs_scenario_load(o->scenario, &sc, &err) : fs_scenario_defaults(&sc);
	if (rc < 0) {
		fs_error("%s", o->scenario ? err.message : "cannot read the default time zone (package tzdata)");
		return -1;
	}
	rc = fs_timezone_copy(ret, &sc.tz);
	fs_scenario_finish(&sc);
	return rc < 0 ? -1 : 0;
}

/* Until the next frame is due, take bus messages as they arrive. */
static int wait_next_frame(struct viz_app *app, int64_t *next)
{
	void *socket = viz_app_bus_socket(app);
	for (int64_t now = fs_clock_now_ms(); now < *next && !stop; now = fs_clock_now_ms()) {
		zmq_pollitem_t item = { .socket = socket, .events = ZMQ_POLLIN };
		if (zmq_poll(&item, 1, (long)(*next - now)) < 0 && errno != EINTR) {
			break;
		}
		if (item.revents & ZMQ_POLLIN && viz_app_poll_bus(app, (int)(*next - now)) < 0) {
			fs_error("the bus broke");
			return -EIO;
		}
	}
	*next += FRAME_MS;
	int64_t now = fs_clock_now_ms();
	if (*next < now) {
		*next = now + FRAME_MS; /* a slow frame: do not try to catch up */
	}
	return 0;
}

static bool handle_events(struct viz_app *app)
{
	SDL_Event ev;
	while (SDL_PollEvent(&ev)) {
		if (!viz_app_handle_event(app, &ev)) {
			return false;
		}
	}
	return true;
}

/* A key press as SDL would deliver it, through the same event path. */
static void press_key(char c)
{
	SDL_Keycode k = c == ' ' ? SDLK_SPACE : c == '+' ? SDLK_PLUS : c == '-' ? SDLK_MINUS : c == '.' ? SDLK_PERIOD
										: (SDL_Keycode)(unsigned char)c;
	SDL_Event ev = { .type = SDL_KEYDOWN };
	ev.key.state = SDL_PRESSED;
	ev.key.keysym.sym = k;
	SDL_PushEvent(&ev);
	ev.type = SDL_KEYUP;
	ev.key.state = SDL_RELEASED;
	SDL_PushEvent(&ev);
}

/* Draw a frame (and log it with --state-log). */
static int frame(struct viz_app *app, FILE *log, uint64_t *count)
{
	int64_t now = fs_clock_now_ms();
	viz_app_render(app, now);
	if (log && viz_app_log_frame(app, log, (*count)++, now) < 0) {
		fs_error("cannot write the state log");
		return -EIO;
	}
	return 0;
}

/*
 * Keep frame @n of a --screenshot-series: its pixels in memory (a PNG takes
 * longer to write than a frame lasts: consecutive frames are the point), its
 * meta as META-n at once.
 */
static int keep_series(struct viz_app *app, struct viz_sdl *sdl, const struct options *o, uint64_t n,
		       SDL_Surface **shots)
{
	char meta[PATH_MAX];
	snprintf(meta, sizeof(meta), "%s-%" PRIu64, o->screenshot_meta ? o->screenshot_meta : "", n);
	shots[n - 1] = viz_sdl_read_pixels(sdl);
	if (!shots[n - 1] || (o->screenshot_meta && viz_app_write_meta(app, meta) < 0)) {
		return -EIO;
	}
	return 0;
}

/* Write the kept frames as FILE-1.png .. FILE-K.png (numbered before the extension) and free them. */
static int write_series(const struct options *o, SDL_Surface **shots)
{
	int rc = 0;
	const char *dot = strrchr(o->screenshot, '.');
	int base = dot && !strchr(dot, '/') ? (int)(dot - o->screenshot) : (int)strlen(o->screenshot);
	for (uint64_t n = 1; n <= o->series; n++) {
		char png[PATH_MAX];
		snprintf(png, sizeof(png), "%.*s-%" PRIu64 "%s", base, o->screenshot, n, o->screenshot + base);
		if (shots[n - 1] && IMG_SavePNG(shots[n - 1], png) < 0) {
			fs_error("cannot save %s: %s", png, IMG_GetError());
			rc = -EIO;
		}
		SDL_FreeSurface(shots[n - 1]);
		shots[n - 1] = NULL;
	}
	return rc;
}

/* Render once every shard's keyframe came, then save and leave (tests, README images). */
static int run_screenshot(struct viz_app *app, struct viz_sdl *sdl, const struct options *o, FILE *log)
{
	int64_t start = fs_clock_now_ms(), deadline = start + (int64_t)(o->wait_s * 1000), next = start;
	uint64_t frames = 0, drawn = 0;
	const char *press = o->press ? o->press : "";
	SDL_Surface *shots[1000] = { 0 }; /* --screenshot-series, at most 1000 */
	bool waited_out = false;
	while (!stop) {
		if (!handle_events(app)) {
			return 0;
		}
		if (viz_app_poll_bus(app, 50) < 0) {
			fs_error("the bus broke");
			return 1;
		}
		if (viz_app_wrong_network(app)) {
			/* Refused: what the window shows now (the banner) is the answer. */
			viz_app_render(app, fs_clock_now_ms());
			if (viz_app_screenshot(app, o->screenshot) < 0 ||
			    (o->screenshot_meta && viz_app_write_meta(app, o->screenshot_meta) < 0)) {
				return 1;
			}
			return 4;
		}
		if (!viz_app_has_snapshot(app) && !waited_out) {
			if (fs_clock_now_ms() < deadline) {
				/* Until then the frames show what news came (logged for tests), not saved. */
				if (frame(app, log, &drawn) < 0) {
					return 1;
				}
				viz_sdl_present(sdl);
				if (wait_next_frame(app, &next) < 0) {
					return 1;
				}
				continue;
			}
			waited_out = true;
		}
		if (*press && !viz_app_control_ready(app) && fs_clock_now_ms() > deadline) {
			fs_error("--press: no control of the run (handshake and conductor status) within %g s", o->wait_s);
			return 1;
		}
		/* Keys go in like a person's: once control works, a few frames apart. */
		if (*press && viz_app_control_ready(app) && frames % 5 == 0) {
			press_key(*press++);
		}
		if (frame(app, log, &drawn) < 0) {
			return 1;
		}
		if (o->series && !*press && frames + o->series >= o->frames &&
		    keep_series(app, sdl, o, frames + o->series + 1 - o->frames, shots) < 0) {
			return 1;
		}
		if (++frames >= o->frames && !*press) {
			if (viz_app_screenshot(app, o->screenshot) < 0 ||
			    (o->screenshot_meta && viz_app_write_meta(app, o->screenshot_meta) < 0) ||
			    (o->series && write_series(o, shots) < 0)) {
				return 1;
			}
			if (waited_out) {
				fs_error("no vehicle data from every shard within %g s; saved %s anyway", o->wait_s, o->screenshot);
				return 3;
			}
			fs_info("saved %s after %" PRIu64 " frame(s), %.1f ms/frame", o->screenshot, frames,
				viz_app_frame_ms(app));
			return 0;
		}
		viz_sdl_present(sdl);
		if (wait_next_frame(app, &next) < 0) {
			return 1;
		}
	}
	return 1;
}

static int run_interactive(struct viz_app *app, struct viz_sdl *sdl, FILE *log)
{
	int64_t next = fs_clock_now_ms() + FRAME_MS;
	uint64_t drawn = 0;
	while (!stop) {
		if (!handle_events(app)) {
			return 0;
		}
		if (viz_app_poll_bus(app, FRAME_MS / 2) < 0) {
			fs_error("the bus broke");
			return 1;
		}
		if (frame(app, log, &drawn) < 0) {
			return 1;
		}
		viz_sdl_present(sdl);
		if (wait_next_frame(app, &next) < 0) {
			return 1;
		}
	}
	return 0;
}

/* What a viewer holds open. */
struct viewer {
	struct fs_world *world;
	struct viz_scene *scene;
	struct viz_sdl *sdl;
	struct viz_app *app;
};

/* The map, the window and the viewer on the bus (or a recording): 0, or -1 (said why). */
static int viewer_open(struct viewer *v, const struct options *o, const char *network, const struct fs_timezone *tz)
{
	v->world = fs_world_load(network, (uint32_t)o->depots);
	if (!v->world) {
		return -1;
	}
	v->scene = viz_scene_create(v->world->net, v->world->depot_nodes, v->world->depot_count);
	if (!v->scene) {
		fs_error("out of memory building the scene");
		return -1;
	}
	char title[PATH_MAX + 64];
	snprintf(title, sizeof(title), "fleet-viz - %s - %s", network, o->play ? o->play : o->bus);
	struct viz_sdl_options so = { .width = (int)o->width, .height = (int)o->height, .headless = o->headless,
				      .software = o->software, .font_path = o->font, .title = title };
	v->sdl = viz_sdl_create(&so);
	if (!v->sdl) {
		return -1;
	}
	struct viz_app_options ao = { .bus_address = o->play ? NULL : o->bus, .play_path = o->play,
				      .screenshot_dir = o->screenshot_dir, .trails = o->trails, .heatmap = o->heatmap, .tz = tz };
	v->app = viz_app_create(&ao, v->scene, v->sdl);
	if (!v->app) {
		return -1;
	}
	if (o->select_given) {
		viz_app_select(v->app, (uint32_t)o->select);
	}
	const char *renderer, *driver;
	viz_sdl_describe(v->sdl, &renderer, &driver);
	fs_info("watching %s (network %s, %u roads) with the %s renderer on %s", o->play ? o->play : o->bus, network,
		v->world->net->edge_count, renderer, driver);
	return 0;
}

static void viewer_close(struct viewer *v)
{
	viz_app_destroy(v->app);
	viz_sdl_destroy(v->sdl);
	viz_scene_destroy(v->scene);
	fs_world_destroy(v->world);
}

int main(int argc, char **argv)
{
	if (fs_service_begin(argc, argv, "fleet-viz")) {
		return 0;
	}
	struct options o = { .network = "atlanta", .depots = 4, .width = 1280, .height = 800, .frames = 1, .wait_s = 30 };
	int rc = parse(argc, argv, &o);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	char address[FS_BUS_ADDRESS_MAX], network[PATH_MAX];
	if (!o.bus && !o.play) {
		o.bus = fs_bus_default_address(address, sizeof(address));
	}
	resolve_network(o.network, network, sizeof(network));
	fs_service_catch_stop(&stop);
	SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1"); /* ours above stop the loop */

	struct fs_timezone tz = { 0 };
	if (load_clock(&o, &tz) < 0) {
		return 2;
	}
	FILE *log = NULL;
	if (o.state_log && !(log = fopen(o.state_log, "w"))) {
		fs_error("cannot write %s: %s", o.state_log, strerror(errno));
		return 1;
	}
	int status = 1;
	struct viewer v = { 0 };
	if (viewer_open(&v, &o, network, &tz) == 0) {
		status = o.screenshot ? run_screenshot(v.app, v.sdl, &o, log) : run_interactive(v.app, v.sdl, log);
	}
	if (log && fclose(log) != 0) {
		fs_error("cannot write %s", o.state_log);
		status = 1;
	}
	viewer_close(&v);
	fs_timezone_finish(&tz);
	return status;
}
