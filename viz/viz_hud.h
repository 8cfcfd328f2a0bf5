/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz_hud.h - what is drawn over the map: the run panel (clock, pace, fleet,
 * vehicles by state as the legend, riders, waits, charts), the scale bar, the
 * vehicle inspector, banners, the toast and the help overlay.
 */
#ifndef VIZ_HUD_H
#define VIZ_HUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/timezone.h"
#include "viz_player.h"
#include "viz_scene.h"
#include "viz_sdl.h"

#define VIZ_HUD_PANEL_W 300 /* the left panel; the map area starts right of it */

struct viz_hud_input {
	const struct viz_scene *scene;
	const struct viz_view *view;
	const struct viz_layers *layers;
	const char *city;          /* shown in the title, e.g. "atlanta" */
	const struct fs_timezone *tz; /* the city's clock (the scenario's city.timezone); NULL = UTC */
	const char *bus_address;   /* NULL without a bus */
	bool connected;            /* a message from the run arrived */
	bool control_ready;        /* the bus handshake succeeded: commands can be sent */
	bool following;
	bool help;
	const char *toast;         /* "" for none */
	double frame_ms;
	uint64_t gaps;             /* messages the observer lost (bounded queue) */
	uint64_t refused;          /* messages the viewer refused */
	const struct viz_player_state *play; /* playing a recording (its timeline), NULL when live */
	bool play_on_bus;          /* ... played onto the bus by `fleetctl play`: keys send it commands */
};

/** Draw the HUD for @in over what is already drawn. */
void viz_hud_draw(struct viz_sdl *g, const struct viz_hud_input *in);
/** The simulated time the clock shows: the frame's display time (else the newest seen; 0 before any). */
int64_t viz_hud_clock(const struct viz_hud_input *in);
/** Where the heatmap's legend is drawn (bottom left of the map; above the timeline when playing). */
void viz_hud_heat_legend_rect(const struct viz_view *view, bool playing, struct viz_rect *ret);
/** The playback timeline's bar (bottom of the map); a click on it seeks. */
void viz_hud_timeline_rect(const struct viz_view *view, struct viz_rect *ret);
/** The inspector's rectangle (where clicks do not pick vehicles) when @in shows one. */
bool viz_hud_inspector_rect(const struct viz_hud_input *in, struct viz_rect *ret);

/* Text helpers, pure (tested): */
/** "2028-06-01 02:42:10 Thu": the wall clock of @tz (NULL: UTC) at simulated Unix ms @ms. */
void viz_hud_format_time(int64_t ms, const struct fs_timezone *tz, char *buf, size_t size);
/** "3:12" (m:ss) or "1:02:03" (h:mm:ss) for @seconds; "-" when NAN. */
void viz_hud_format_duration(double seconds, char *buf, size_t size);
/**
 * Up to @max chart ticks at round local times of @tz (every 5, 10, 15, 30
 * min, 1, 2, 3, 6, 12 h, 1, 2, 7 d: the shortest step that fits;
 * fs_timezone_axis_step()) within
 * [@t0_ms, @t1_ms], as simulated Unix ms in @ret. Returns how many.
 */
int viz_hud_time_ticks(int64_t t0_ms, int64_t t1_ms, const struct fs_timezone *tz, int max, int64_t *ret);
/** "1.0" for software version 100 (major * 100 + minor). */
void viz_hud_format_version(uint32_t version, char *buf, size_t size);

#endif
