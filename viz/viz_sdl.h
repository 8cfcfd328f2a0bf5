/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz_sdl.h - the viewer's SDL backend: window and renderer, batched drawing
 * of draw lists, a cached road layer, text through SDL2_ttf, PNG screenshots.
 */
#ifndef VIZ_SDL_H
#define VIZ_SDL_H

#include <stdbool.h>
#include <stddef.h>

#include <SDL.h>

#include "viz_scene.h"

enum viz_font {
	VIZ_FONT_SMALL = 0, /* 12 px: labels, charts */
	VIZ_FONT_NORMAL,    /* 14 px: HUD lines */
	VIZ_FONT_LARGE,     /* 20 px bold: the clock */
	VIZ_FONT_COUNT,
};

struct viz_sdl_options {
	int width, height;
	bool headless;       /* no display: SDL's offscreen driver (unless SDL_VIDEODRIVER says) */
	bool software;       /* the software renderer even with a display */
	const char *font_path;
	const char *title;
};

struct viz_sdl;

/**
 * A font file: $FLEETSIM_FONT, else `fc-match -f '%{file}' sans`, else a
 * known Debian path. Returns 0 with @buf filled, or -ENOENT.
 */
int viz_sdl_find_font(char *buf, size_t size);

/** Open the window and renderer and load the font. Logs why and returns NULL on failure. */
struct viz_sdl *viz_sdl_create(const struct viz_sdl_options *opts);
/** NULL is a no-op. */
void viz_sdl_destroy(struct viz_sdl *g);

SDL_Renderer *viz_sdl_renderer(struct viz_sdl *g);
SDL_Window *viz_sdl_window(struct viz_sdl *g);
/** Renderer and video driver names, e.g. "software" and "offscreen". */
void viz_sdl_describe(struct viz_sdl *g, const char **ret_renderer, const char **ret_driver);
/** Drawable size in pixels. */
void viz_sdl_size(struct viz_sdl *g, int *ret_w, int *ret_h);

void viz_sdl_clear(struct viz_sdl *g, struct viz_color color);
/** Submit every command of @list (one SDL call per command). */
void viz_sdl_draw(struct viz_sdl *g, const struct viz_draw_list *list);

/**
 * The road layer: rendered into a texture for @view when @roads is given
 * (then @view becomes the cache's view), else drawn from the cache scaled and
 * shifted to @view (what panning and zooming show until the next rebuild).
 * Returns 0, or -1 if there is no cache (call again with @roads).
 */
int viz_sdl_roads(struct viz_sdl *g, const struct viz_draw_list *roads, const struct viz_view *view);
/** The view the road cache was last rendered for, or NULL. */
const struct viz_view *viz_sdl_roads_view(struct viz_sdl *g);

void viz_sdl_fill_rect(struct viz_sdl *g, float x, float y, float w, float h, struct viz_color color);
void viz_sdl_rect(struct viz_sdl *g, float x, float y, float w, float h, struct viz_color color);
void viz_sdl_line(struct viz_sdl *g, float x0, float y0, float x1, float y1, struct viz_color color);
void viz_sdl_lines(struct viz_sdl *g, const struct viz_fpoint *points, size_t count, struct viz_color color);

/** Draw @text (UTF-8) with its top left at (@x, @y). Returns its width in pixels. */
int viz_sdl_text(struct viz_sdl *g, enum viz_font font, float x, float y, struct viz_color color, const char *text);
/** Width and height of @text in @font. */
void viz_sdl_text_size(struct viz_sdl *g, enum viz_font font, const char *text, int *ret_w, int *ret_h);
int viz_sdl_line_height(struct viz_sdl *g, enum viz_font font);
/** Called once per frame: forgets text textures unused for a while. */
void viz_sdl_end_frame(struct viz_sdl *g);

/** What has been drawn so far, as a new ARGB8888 surface (caller frees), or NULL. */
SDL_Surface *viz_sdl_read_pixels(struct viz_sdl *g);
/** Save what has been drawn so far as a PNG. Returns 0 or -EIO (logged). */
int viz_sdl_save_png(struct viz_sdl *g, const char *path);
/** Execute the batched drawing now (the software renderer rasterises here, not per call). */
void viz_sdl_flush(struct viz_sdl *g);
/** Set the window's title. */
void viz_sdl_set_title(struct viz_sdl *g, const char *title);
void viz_sdl_present(struct viz_sdl *g);

#endif
