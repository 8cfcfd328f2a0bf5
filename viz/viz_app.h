/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz_app.h - the viewer: bus intake, input, control commands, one frame.
 *
 * The app borrows a scene and an SDL backend. It attaches to the bus as an
 * observer (the broker's bounded watch endpoint: it can fall behind and lose
 * messages, never slow the run), feeds what it receives to the scene, maps
 * input events to view changes, selection and commands for the conductor, and
 * draws frames. Tests drive it without a bus: they feed envelopes with
 * viz_app_ingest(), push SDL events, and catch commands with a command sink.
 */
#ifndef VIZ_APP_H
#define VIZ_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <SDL.h>

#include "envelope.pb-c.h"
#include "viz_player.h"
#include "viz_scene.h"
#include "viz_sdl.h"

struct fs_bus;

/* Where commands for the conductor go; the default publishes them on the bus. */
struct viz_command_sink {
	/* Send @cmd (its command_id is set). Returns 0 or -errno. */
	int (*send)(void *ctx, const struct fs_control_command *cmd);
	void *ctx;
};

struct viz_app_options {
	const char *bus_address;     /* NULL: no bus (tests feed envelopes) */
	const char *play_path;       /* a recording to play (with a timeline) instead of a bus */
	const char *screenshot_dir;  /* where 's' writes PNGs; NULL = current directory */
	const struct fs_timezone *tz;/* the city's clock for the HUD (borrowed); NULL = UTC */
	bool trails;                 /* initial layer switches */
	bool heatmap;
};

struct viz_app;

/** A viewer over @scene drawn with @sdl (both borrowed). Logs and returns NULL on failure. */
struct viz_app *viz_app_create(const struct viz_app_options *opts, struct viz_scene *scene, struct viz_sdl *sdl);
/** NULL is a no-op. */
void viz_app_destroy(struct viz_app *app);

/** Open the inspector on vehicle @id (VIZ_NO_VEHICLE closes it), as a click would. */
void viz_app_select(struct viz_app *app, uint32_t id);
/** Replace the command sink (tests). */
void viz_app_set_command_sink(struct viz_app *app, const struct viz_command_sink *sink);
/** Handle one SDL event. Returns false when the user asked to quit. */
bool viz_app_handle_event(struct viz_app *app, const SDL_Event *event);
/** Apply one decoded bus message (topic as received). Returns 0, or -EINVAL if the scene refused it. */
int viz_app_ingest(struct viz_app *app, const char *topic, const Fleetsim__V1__Envelope *env);
/**
 * Receive and apply bus messages for at most @budget_ms (0 = what is queued
 * now, still bounded). Also completes the bus handshake that commands need.
 * Returns the number of messages applied, or -errno if the bus broke.
 */
int viz_app_poll_bus(struct viz_app *app, int budget_ms);
/** The bus's socket for zmq_poll(), or NULL without a bus. */
void *viz_app_bus_socket(struct viz_app *app);
/** Draw a frame at wall time @now_ms (for toasts and timeouts); does not present. */
void viz_app_render(struct viz_app *app, int64_t now_ms);
/** Save what the last viz_app_render() drew. Returns 0 or -EIO. */
int viz_app_screenshot(struct viz_app *app, const char *path);

/**
 * Write key=value lines describing the last frame: the view (cx, cy, scale,
 * map area, window size, marker size) and, per shard, the simulated time of
 * the state batch shown. Returns 0 or -errno (logged).
 */
int viz_app_write_meta(const struct viz_app *app, const char *path);
/** Playing a recording: its state (false and nothing filled when attached to a bus). */
bool viz_app_playback(const struct viz_app *app, struct viz_player_state *ret);
/** True when the run is on another road network than the viewer's: its vehicles are refused. */
bool viz_app_wrong_network(const struct viz_app *app);
/** True once the bus handshake succeeded and a conductor status arrived (or playing): control keys work. */
bool viz_app_control_ready(const struct viz_app *app);
/**
 * Append what frame @frame (drawn at wall time @wall_ms) showed to @f: a line
 * "frame N wall W display D data T keyframed K/S shown M ignored I refused R
 * since A" (A: the time of the first vehicle batch applied); once shards are
 * known, "shards T0,T1,..." (each shard's newest batch time) and "keyframes
 * K0,K1,..." (each shard's last keyframe time, 0 before one); then "v ID STATE
 * X Y" per vehicle placed on the map (metres, at the display time). For tests
 * that follow the fleet frame by frame. Returns 0 or -EIO.
 */
int viz_app_log_frame(const struct viz_app *app, FILE *f, uint64_t frame, int64_t wall_ms);
/** True once every shard of the run has delivered a keyframe (the whole fleet is known). */
bool viz_app_has_snapshot(const struct viz_app *app);
const struct viz_view *viz_app_view(const struct viz_app *app);
uint32_t viz_app_selected(const struct viz_app *app);
bool viz_app_following(const struct viz_app *app);
bool viz_app_help_shown(const struct viz_app *app);
const struct viz_layers *viz_app_layers(const struct viz_app *app);
/** The message shown at the bottom of the map (command answers, screenshots), or "". */
const char *viz_app_toast(const struct viz_app *app);
/** Measured frame time, ms (exponential average), for the HUD and the benchmark. */
double viz_app_frame_ms(const struct viz_app *app);

#endif
