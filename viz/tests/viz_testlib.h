/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz_testlib.h - what the viewer's tests share: bus recordings (files of
 * envelopes, as viz-probe writes them) and checks of rendered pixels against
 * where the vehicles are, independent of the viewer's own drawing code.
 *
 * Recording format: the 8 bytes "FSVREC1\n", then records of
 * [u32 topic length][topic][u32 envelope length][Envelope protobuf], lengths
 * little-endian.
 */
#ifndef VIZ_TESTLIB_H
#define VIZ_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <SDL.h>

#include "envelope.pb-c.h"
#include "fs/network.h"
#include "fs/vehicle.h"
#include "viz_scene.h"

#define VT_REC_MAGIC "FSVREC1\n"

/** Write the recording header. Returns 0 or -EIO. */
int vt_rec_begin(FILE *f);
/** Append one message. Returns 0 or -EIO / -ENOMEM. */
int vt_rec_write(FILE *f, const char *topic, const Fleetsim__V1__Envelope *env);
/**
 * Call @fn for each message of the recording @path, in order; stops early
 * when @fn returns non-zero. Returns 0, or -errno for an unreadable or
 * malformed file.
 */
int vt_rec_read(const char *path, int (*fn)(void *ctx, const char *topic, const Fleetsim__V1__Envelope *env),
		void *ctx);

struct vt_vehicle {
	uint32_t id;
	uint32_t state;
	double x, y;
};

/*
 * The run's vehicles as its records tell them, kept apart from the viewer's
 * code: record batches of a recording (decoded with the vehicle family's
 * codec, as every reader must), applied per shard up to a time, each vehicle
 * placed with the vehicle's own arithmetic (fs_vehicle_record_place). Each
 * keyframe applied is first compared with what the mirror already held: the
 * keyframe's positions are the vehicles' own, so a mismatch means the mirror
 * (or a record) is wrong, whatever the viewer does.
 */
struct vt_batch {
	int64_t t_ms;
	uint32_t shard, shard_count;
	bool keyframe;
	struct fs_vehicle_record *items;
	size_t count;
};

struct vt_mirror_vehicle {
	struct fs_vehicle_record rec;  /* moves merged */
	int64_t news_full_ms;          /* time of its newest full record on veh.state, 0 if none */
	uint32_t shard;
	bool have;
};

#define VT_MAX_SHARDS 64

struct vt_mirror {
	const struct fs_network *net;
	struct vt_batch *batches;      /* a recording's record batches, in order */
	size_t nbatches;
	size_t next[VT_MAX_SHARDS];    /* per shard: the next batch to apply */
	bool keyframed[VT_MAX_SHARDS];
	uint32_t shard_count;
	struct vt_mirror_vehicle *v;   /* by vehicle id */
	size_t cap;
	uint64_t keyframe_checked;     /* vehicles of keyframes compared with the mirror */
	uint64_t keyframe_mismatched;  /* ... placed more than 1 cm from the keyframe's position */
};

/**
 * Load the record batches of recording @path: a viz-probe recording or a
 * fleetsim one (MCAP, `fleetsim run --record`). Returns 0 or -errno (a batch
 * the codec refuses: -EINVAL).
 */
int vt_mirror_load(struct vt_mirror *m, const struct fs_network *net, const char *path);
void vt_mirror_finish(struct vt_mirror *m);
/** Apply the batches of @shard up to (and at) @t_ms. */
void vt_mirror_advance(struct vt_mirror *m, uint32_t shard, int64_t t_ms);
/** Where vehicle @id is at @t_ms; false when unknown or off the network. */
bool vt_mirror_place(const struct vt_mirror *m, uint32_t id, int64_t t_ms, double *ret_x, double *ret_y);

/* What a frame showed, checked against ground truth. */
struct vt_report {
	int vehicles;          /* vehicles given */
	int checked;           /* isolated, on the map, clear of the HUD: their pixel is checked */
	int matched;           /* ... and show their state's colour there */
	int roads_checked;     /* road midpoints checked (tertiary and above, clear of vehicles and HUD) */
	int roads_drawn;       /* ... with a road colour within a pixel */
	int empty_checked;     /* map pixels far from every vehicle, depot and rider */
	int false_colour;      /* ... that show a vehicle state colour anyway */
	int hud_text_pixels;   /* bright pixels in the panel */
	int legend_swatches;   /* legend states whose swatch colour is in the panel */
};

/** 0xAARRGGBB of pixel (@x, @y) of an ARGB8888 surface, 0 outside. */
uint32_t vt_pixel(const SDL_Surface *s, int x, int y);
bool vt_is_color(uint32_t pixel, struct viz_color c);
/** The loaded PNG as an ARGB8888 surface (caller frees), or NULL. */
SDL_Surface *vt_load_png(const char *path);

/**
 * Check @img (drawn with @view) against @vehicles: each isolated vehicle's
 * centre pixel must be its state colour; pixels far from every vehicle and
 * depot must not be any state colour; tertiary-and-above road midpoints must
 * show a road colour; the panel must hold text and the legend's swatches.
 * @avoid (may be NULL) is a screen rectangle covered by UI (the inspector).
 */
void vt_check_frame(const SDL_Surface *img, const struct viz_view *view, const struct fs_network *net,
		    const struct vt_vehicle *vehicles, size_t count, const struct viz_fpoint *depots_xy,
		    size_t depot_count, const struct viz_rect *avoid, struct vt_report *ret);
void vt_report_print(FILE *out, const struct vt_report *r);
/** The report says the frame is right: at least @min_checked vehicles checked, all thresholds met. */
bool vt_report_ok(const struct vt_report *r, int min_checked);

#endif
