/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz_scene.h - what the viewer knows about a run and what it draws, without SDL.
 *
 * The scene is fed decoded bus payloads (vehicle state batches per shard,
 * vehicle events, ride requests, trip events, conductor status, KPI
 * snapshots) and turns them, for a given view, into draw lists: arrays of
 * rectangles, points, polylines and triangles grouped by colour, so a
 * backend submits a whole layer in a handful of calls. Nothing here touches
 * a window, a clock or a socket: tests drive it with recorded or synthetic
 * batches and check the draw lists.
 *
 * Fleet merge: vehicles publish records (fs/vehicle.h struct fs_vehicle_record,
 * decoded by the vehicle family's one codec, fs_vehicle_msg.h), not positions:
 * a full record when a vehicle changes state, job, flags, software or charge,
 * a move when it only enters its next motion segment. Each shard sends its
 * news on veh.state every tick and a keyframe (every vehicle it hosts, `full`)
 * on veh.snapshot now and then. The scene keeps each vehicle's last record per
 * shard: a keyframe replaces the shard's set, news update single vehicles, a
 * move for a vehicle without a known full record is ignored (counted) until
 * the shard's next keyframe. So a viewer that attaches mid run shows the
 * vehicles that changed at once and the whole fleet after one keyframe per
 * shard. Positions are computed from the records at a display time
 * (viz_scene_place(), the vehicle's own arithmetic), so vehicles move
 * smoothly between records; viz_clock says which display time a frame shows.
 */
#ifndef VIZ_SCENE_H
#define VIZ_SCENE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"
#include "fs/network.h"
#include "fs/vehicle.h"
#include "fs_control_msg.h"

#define VIZ_STATE_COUNT 13     /* fleetsim.v1.VehicleState values 0..12 */
#define VIZ_DEVICE_COUNT 38    /* Hyperion 10: 14 cameras, 9 radars, 1 lidar, 12 ultrasonics, 2 Thor */
#define VIZ_TRAIL_LEN 12       /* positions kept per vehicle for trails */
#define VIZ_MAX_SHARDS 1024
#define VIZ_SERIES_LEN 240     /* samples kept per chart */
#define VIZ_HEAT_COLS 96
#define VIZ_HEAT_ROWS 64
#define VIZ_HEAT_LEVELS 9      /* colours of the demand heatmap (viz_heat_color) */
#define VIZ_PLACE_BUDGET 40000u /* moving vehicles placed per frame at most (viz_scene_place) */
#define VIZ_NO_VEHICLE UINT32_MAX

/* Layouts match SDL_Color, SDL_FPoint, SDL_FRect and SDL_Vertex (checked in viz_sdl.c). */
struct viz_color {
	uint8_t r, g, b, a;
};

struct viz_fpoint {
	float x, y;
};

struct viz_rect {
	float x, y, w, h;
};

struct viz_vertex {
	struct viz_fpoint pos;
	struct viz_color color;
	struct viz_fpoint uv;
};

enum viz_prim {
	VIZ_PRIM_RECTS = 0,   /* filled rectangles rects[first .. first + count) */
	VIZ_PRIM_POINTS,      /* points[first ..] */
	VIZ_PRIM_POLYLINE,    /* one connected line through points[first ..], @width px */
	VIZ_PRIM_TRIANGLES,   /* verts[first ..], three per triangle, per-vertex colour */
	VIZ_PRIM_OUTLINES,    /* rectangle outlines rects[first ..] */
};

struct viz_cmd {
	uint8_t prim;         /* enum viz_prim */
	uint8_t width;        /* polyline width in pixels (1..4) */
	bool blend;           /* alpha blending (else the colour is written as is) */
	struct viz_color color;
	uint32_t first, count;
};

/* A caller-owned list of draw commands. Zero-initialise; viz_draw_list_finish() frees. */
struct viz_draw_list {
	struct viz_cmd *cmds;
	size_t ncmds, cmds_cap;
	struct viz_rect *rects;
	size_t nrects, rects_cap;
	struct viz_fpoint *points;
	size_t npoints, points_cap;
	struct viz_vertex *verts;
	size_t nverts, verts_cap;
	bool failed;          /* an allocation failed: the list is incomplete */
};

void viz_draw_list_clear(struct viz_draw_list *list);
void viz_draw_list_finish(struct viz_draw_list *list);

/* The camera: world metres (x east, y north) to window pixels (y down). */
struct viz_view {
	double cx, cy;        /* world point at the centre of the map area */
	double scale;         /* pixels per metre */
	int width, height;    /* window, pixels */
	struct viz_rect area; /* map area inside the window (the rest is HUD) */
};

#define VIZ_SCALE_MIN 1e-4 /* px/m: a 10,000 km wide view in 1,000 px */
#define VIZ_SCALE_MAX 50.0 /* px/m: a car is 250 px long */

/** Fit the box [@min_x, @max_x] x [@min_y, @max_y] into @view->area with a small margin. */
void viz_view_fit(struct viz_view *view, double min_x, double min_y, double max_x, double max_y);
/** Multiply the scale by @factor (clamped), keeping the world point under (@sx, @sy) fixed. */
void viz_view_zoom_at(struct viz_view *view, double factor, double sx, double sy);
/** Move the map by (@dx, @dy) pixels (dragging right moves the map right). */
void viz_view_pan(struct viz_view *view, double dx, double dy);
void viz_view_to_screen(const struct viz_view *view, double x, double y, float *ret_sx, float *ret_sy);
void viz_view_to_world(const struct viz_view *view, double sx, double sy, double *ret_x, double *ret_y);
/**
 * A round length (1, 2 or 5 x 10^k metres) whose bar is at most @max_px
 * pixels at this scale: its metres, pixels and a label ("500 m", "2 km").
 */
void viz_view_scale_bar(const struct viz_view *view, double max_px, double *ret_m, double *ret_px, char *label,
			size_t label_size);

/* One vehicle as its last record places it at the display time (viz_scene_place()). */
struct viz_vehicle {
	uint32_t id;
	uint8_t state;        /* fleetsim.v1.VehicleState */
	uint8_t trail_len;    /* valid trail positions */
	uint8_t trail_head;   /* next trail slot to write */
	bool on_map;          /* placed on a road of the network (else not drawn) */
	double x, y;          /* metres, network frame, at the display time */
	float soc;            /* 0..1 */
	float speed_mps;
	float heading_rad;
	uint32_t edge;
	uint32_t health_flags;/* FS_HEALTH_SUMMARY_* bits */
	uint32_t odd_flags;
	uint32_t sw_version;
	uint64_t job_id;
	int64_t trail_ms;     /* simulated time of the newest trail position */
	int64_t record_ms;    /* simulated time of its last record */
	int64_t placed_ms;    /* display time x, y are for (INT64_MIN: not placed since the record) */
};

enum viz_run_state {
	VIZ_RUN_UNKNOWN = 0,  /* no status seen yet */
	VIZ_RUN_WAITING,
	VIZ_RUN_RUNNING,
	VIZ_RUN_PAUSED,
	VIZ_RUN_ENDING,
	VIZ_RUN_ENDED,
};

/* Figures for the HUD. A figure that is not known is NAN. */
struct viz_stats {
	uint32_t fleet;                   /* vehicles in the merged fleet */
	uint32_t by_state[VIZ_STATE_COUNT];
	uint32_t shards_seen, shard_count;
	uint32_t shards_keyframed;        /* shards whose keyframe arrived: their whole fleet is known */
	uint64_t moves_ignored;           /* moves of vehicles with no known full record (before a keyframe) */
	uint32_t waiting_riders;
	double fleet_target;              /* KPI fleet.target */
	double served_share;              /* KPI served.share, else served / (served + cancelled + rejected) */
	double wait_p50_s, wait_p95_s;    /* KPIs wait.p50_s / wait.p95_s, else from trip events seen */
	double utilisation;               /* share of the fleet with a rider job (to pickup, waiting, in trip) */
	uint64_t requests, served, cancelled, rejected; /* trip outcomes seen since attaching */
};

/* The status the conductor last published. */
struct viz_run {
	enum viz_run_state state;
	uint64_t tick, duration_ticks;
	int64_t sim_time_ms;
	double speed;            /* requested factor, 0 = max */
	double sim_real_ratio;
	bool have_status;
	bool playback;                  /* the status is a recording's playback (`fleetctl play`), not a run */
	int64_t play_start_ms, play_end_ms; /* ... and the recording's span */
};

/* A chart's samples, oldest first from @first, one per simulated minute, each with its time. */
struct viz_series {
	float values[VIZ_SERIES_LEN];
	int64_t times_ms[VIZ_SERIES_LEN]; /* simulated time of each sample */
	uint32_t first, count;
};

enum viz_series_kind {
	VIZ_SERIES_FLEET = 0,
	VIZ_SERIES_WAIT_P50,
	VIZ_SERIES_UTILISATION,
	VIZ_SERIES_COUNT,
};

/* What the dynamic layer shows. */
struct viz_layers {
	bool trails;
	bool heatmap;
	bool riders;
	bool depots;
	uint32_t selected;    /* vehicle id or VIZ_NO_VEHICLE */
};

struct viz_scene;

/**
 * A scene over @net (which must outlive it) with @depot_count depots at the
 * given network nodes. NULL on no memory.
 */
struct viz_scene *viz_scene_create(const struct fs_network *net, const uint32_t *depot_nodes,
				   uint32_t depot_count);
/** NULL is a no-op. */
void viz_scene_destroy(struct viz_scene *scene);
const struct fs_network *viz_scene_network(const struct viz_scene *scene);

/**
 * Apply one shard's record batch sent at @sim_time_ms (veh.state news or a
 * veh.snapshot keyframe). Returns 0; -EINVAL for a batch the codec refuses or
 * whose shard is out of range, -EXDEV for a batch computed on another road
 * network (its projection origin differs from the scene's), both with nothing
 * applied and the reason in viz_scene_refusal(); -ENOMEM.
 */
int viz_scene_apply_states(struct viz_scene *scene, const Fleetsim__V1__VehicleStateBatch *batch,
			   int64_t sim_time_ms);
/** Why the last refused batch was refused ("" if none was). */
const char *viz_scene_refusal(const struct viz_scene *scene);
/**
 * Place every vehicle at display time @display_ms from its last record (a
 * record newer than @display_ms places it at the record's time), and add a
 * trail point per simulated second. Cheap for vehicles that stand; in fleets
 * over VIZ_PLACE_BUDGET the moving ones take turns, frame by frame.
 */
void viz_scene_place(struct viz_scene *scene, int64_t display_ms);
/** The display time of the last viz_scene_place() (0 before any). */
int64_t viz_scene_display_time(const struct viz_scene *scene);
/** Newest simulated time of a vehicle batch (0 before any). */
int64_t viz_scene_data_time(const struct viz_scene *scene);
/** Device health changes (DEVICE_HEALTH events) per vehicle. Returns 0, -EINVAL (refused by the codec) or -ENOMEM. */
int viz_scene_apply_events(struct viz_scene *scene, const Fleetsim__V1__VehicleEventBatch *batch);
/** Riders who asked for a ride: waiting until a trip event ends their wait. 0 or -ENOMEM. */
int viz_scene_apply_requests(struct viz_scene *scene, const Fleetsim__V1__RideRequestBatch *batch,
			     int64_t sim_time_ms);
/** Trip lifecycle: pickups end waits (and give wait times), outcomes count. */
void viz_scene_apply_trips(struct viz_scene *scene, const Fleetsim__V1__TripEventBatch *batch);
void viz_scene_apply_status(struct viz_scene *scene, const struct fs_control_status *status);
/** Whole-run KPIs (scope ""), by name; later snapshots replace earlier values. */
void viz_scene_apply_kpis(struct viz_scene *scene, const Fleetsim__V1__KpiSnapshot *snapshot);
/**
 * Move the scene's simulated clock to @sim_time_ms (never backwards): decay
 * the heatmap, forget riders whose patience ran out, sample the charts.
 */
void viz_scene_advance(struct viz_scene *scene, int64_t sim_time_ms);

/** Forget the run: vehicles, riders, heatmap, KPIs, charts, status (a playback seeking back). */
void viz_scene_reset(struct viz_scene *scene);
/** Newest simulated time the scene has seen (0 before any). */
int64_t viz_scene_time(const struct viz_scene *scene);
const struct viz_run *viz_scene_run(const struct viz_scene *scene);
void viz_scene_stats(const struct viz_scene *scene, struct viz_stats *ret);
const struct viz_series *viz_scene_series(const struct viz_scene *scene, enum viz_series_kind kind);
/** KPI @name (scope ""), or NAN if none was seen. */
double viz_scene_kpi(const struct viz_scene *scene, const char *name);
/** Simulated time of the state batch last applied for @shard, or INT64_MIN if none. */
int64_t viz_scene_shard_time(const struct viz_scene *scene, uint32_t shard);
/** Simulated time of @shard's last keyframe, or INT64_MIN if none arrived since attaching. */
int64_t viz_scene_shard_keyframe_time(const struct viz_scene *scene, uint32_t shard);
/**
 * True when batches came from another road network than the scene's (their
 * projection origin differs: the run's --network is not the viewer's); they
 * are refused. viz_scene_run_origin() gives the run's origin (0, 0 before).
 */
bool viz_scene_origin_mismatch(const struct viz_scene *scene);
void viz_scene_run_origin(const struct viz_scene *scene, double *ret_lat, double *ret_lon);

/** The last record of vehicle @id, or NULL. */
const struct fs_vehicle_record *viz_scene_record(const struct viz_scene *scene, uint32_t id);
/** Vehicles in the merged fleet and the @i-th of them (0 <= i < count; order: shard, then batch order). */
uint32_t viz_scene_vehicle_count(const struct viz_scene *scene);
const struct viz_vehicle *viz_scene_vehicle_at(const struct viz_scene *scene, uint32_t i);
/** Vehicle @id, or NULL. */
const struct viz_vehicle *viz_scene_find(const struct viz_scene *scene, uint32_t id);
/**
 * The vehicle drawn nearest to window point (@sx, @sy) within @radius_px, or
 * VIZ_NO_VEHICLE. Ties go to the one drawn last (on top).
 */
uint32_t viz_scene_pick(const struct viz_scene *scene, const struct viz_view *view, double sx, double sy,
			double radius_px);
/**
 * Health of vehicle @id's 38 devices as known from DEVICE_HEALTH events seen
 * since attaching (fleetsim.v1.DeviceHealth per device, flat index: cameras
 * 0-13, radars 14-22, lidar 23, ultrasonics 24-35, Thor 36-37). Returns false
 * (and fills OK) when no event about the vehicle was seen.
 */
bool viz_scene_device_health(const struct viz_scene *scene, uint32_t id, uint8_t ret[VIZ_DEVICE_COUNT]);
/** Flat device index for (kind, index), or -1 if out of range. */
int viz_device_flat_index(int kind, uint32_t index);

/*
 * Which simulated time a frame shows. Records place a vehicle at any time up
 * to its next record, which comes with the next tick, so while the run goes
 * the display time runs on from the newest data at the measured pace, at
 * most one tick ahead of it and never behind it: vehicles glide between
 * ticks instead of jumping once a tick. A paused or ended run shows the
 * newest data's time. Pure: the caller passes wall times.
 */
struct viz_clock {
	int64_t data_ms;          /* newest simulated time of data */
	int64_t shown_ms;         /* display time of the last frame */
	int64_t wall_ms;          /* wall time of the last frame */
	int64_t tick_ms;          /* smallest step between data times seen (the run's tick) */
	int64_t anchor_wall_ms, anchor_data_ms; /* start of the pace measurement */
	double rate;              /* simulated ms per wall ms, measured (0: unknown) */
};

#define VIZ_CLOCK_TICK_MS 1000 /* assumed tick until two data times tell it */

void viz_clock_reset(struct viz_clock *clock);
/** Data of simulated time @data_ms arrived at wall time @wall_ms. */
void viz_clock_note(struct viz_clock *clock, int64_t data_ms, int64_t wall_ms);
/**
 * The display time of a frame at wall time @wall_ms. @running: the run goes
 * (else the newest data's time is shown); @hint_rate: the pace to assume
 * before one is measured (the conductor's, 0 if unknown).
 */
int64_t viz_clock_frame(struct viz_clock *clock, int64_t wall_ms, bool running, double hint_rate);

/** Roads by class, culled to the view (the static layer a backend may cache). */
void viz_scene_draw_roads(const struct viz_scene *scene, const struct viz_view *view, struct viz_draw_list *list);
/** Heatmap, depots, riders, trails, vehicles (by state) and the selection, in that order. */
void viz_scene_draw_dynamic(const struct viz_scene *scene, const struct viz_view *view,
			    const struct viz_layers *layers, struct viz_draw_list *list);
/** Side of a vehicle marker in pixels at this view (grows as one zooms in). */
float viz_marker_size(const struct viz_view *view);

/* The palette (one place, so the legend, the markers and the tests agree). */
struct viz_color viz_state_color(uint32_t state);
const char *viz_state_name(uint32_t state);
struct viz_color viz_road_color(uint32_t road_class);
struct viz_color viz_background_color(void);
struct viz_color viz_depot_color(void);
struct viz_color viz_rider_color(void);
struct viz_color viz_select_color(void);
struct viz_color viz_refusal_color(void); /* the wrong-network banner */
/** Demand heatmap colour (alpha included) of level 0 (faint) .. VIZ_HEAT_LEVELS - 1 (the busiest place). */
struct viz_color viz_heat_color(int level);
/** The level of a place with @share of the busiest place's demand (smoothed), or -1: not drawn. */
int viz_heat_level(float share);

#endif
