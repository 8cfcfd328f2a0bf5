/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz_sdl - SDL backend of the viewer (see viz_sdl.h).
 *
 * Speed on the software renderer is what decides the design: a draw list's
 * command is one SDL call over a contiguous array (SDL_RenderFillRectsF for
 * every vehicle of a state, SDL_RenderDrawPointsF for trails), never one call
 * per vehicle; the road layer is rendered once into a target texture and
 * copied each frame (a blit) until the view changes; text is rendered once
 * per distinct string and kept as a texture while it is being used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <SDL_image.h>
#include <SDL_ttf.h>

#include "fs_log.h"
#include "viz_sdl.h"

/* The draw lists hand their arrays straight to SDL. */
_Static_assert(sizeof(struct viz_vertex) == sizeof(SDL_Vertex), "viz_vertex must match SDL_Vertex");
_Static_assert(offsetof(struct viz_vertex, color) == offsetof(SDL_Vertex, color), "viz_vertex.color");
_Static_assert(offsetof(struct viz_vertex, uv) == offsetof(SDL_Vertex, tex_coord), "viz_vertex.uv");
_Static_assert(sizeof(struct viz_rect) == sizeof(SDL_FRect), "viz_rect must match SDL_FRect");
_Static_assert(sizeof(struct viz_fpoint) == sizeof(SDL_FPoint), "viz_fpoint must match SDL_FPoint");
_Static_assert(sizeof(struct viz_color) == sizeof(SDL_Color), "viz_color must match SDL_Color");

#define TEXT_CACHE 512
#define TEXT_MAX 160
#define TEXT_KEEP_FRAMES 90

static const int font_px[VIZ_FONT_COUNT] = { 12, 14, 20 };

struct text_entry {
	uint64_t hash;
	char text[TEXT_MAX];
	uint8_t font;
	SDL_Color color;
	SDL_Texture *tex;
	int w, h;
	uint64_t used;
};

struct viz_sdl {
	SDL_Window *window;
	SDL_Renderer *renderer;
	TTF_Font *fonts[VIZ_FONT_COUNT];
	struct text_entry text[TEXT_CACHE];
	uint64_t frame;
	SDL_Texture *roads;
	int roads_w, roads_h;
	struct viz_view roads_view;
	bool roads_valid;
	SDL_FPoint *scratch; /* offset copies of polylines */
	size_t scratch_cap;
	bool sdl_up, ttf_up, img_up;
};

static bool usable_font(const char *path)
{
	size_t n = strlen(path);
	if (n < 5 || access(path, R_OK) != 0) {
		return false;
	}
	const char *ext = path + n - 4;
	return !strcasecmp(ext, ".ttf") || !strcasecmp(ext, ".otf") || !strcasecmp(ext, ".ttc");
}

int viz_sdl_find_font(char *buf, size_t size)
{
	const char *env = getenv("FLEETSIM_FONT");
	if (env && *env && usable_font(env)) {
		snprintf(buf, size, "%s", env);
		return 0;
	}
	FILE *p = popen("fc-match -f '%{file}' sans 2>/dev/null", "r");
	if (p) {
		char line[1024] = "";
		size_t n = fread(line, 1, sizeof(line) - 1, p);
		line[n] = '\0';
		pclose(p);
		line[strcspn(line, "\n")] = '\0';
		if (usable_font(line)) {
			snprintf(buf, size, "%s", line);
			return 0;
		}
	}
	static const char *const known[] = {
		"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", /* Debian fonts-dejavu-core */
		"/usr/share/fonts/TTF/DejaVuSans.ttf",
		"/usr/share/fonts/dejavu/DejaVuSans.ttf",
		"/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
		"/usr/share/fonts/truetype/freefont/FreeSans.ttf",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (usable_font(known[i])) {
			snprintf(buf, size, "%s", known[i]);
			return 0;
		}
	}
	return -ENOENT;
}

struct viz_sdl *viz_sdl_create(const struct viz_sdl_options *o)
{
	struct viz_sdl *g = calloc(1, sizeof(*g));
	if (!g) {
		fs_error("out of memory");
		return NULL;
	}
	char font[1024];
	if (o->font_path) {
		if (!usable_font(o->font_path)) {
			fs_error("--font: cannot read a TrueType/OpenType font at %s", o->font_path);
			goto fail;
		}
		snprintf(font, sizeof(font), "%s", o->font_path);
	} else if (viz_sdl_find_font(font, sizeof(font)) < 0) {
		fs_error("no font found: install fonts-dejavu-core (or any TrueType font fontconfig knows) "
			 "or pass --font FILE.ttf");
		goto fail;
	}
	if (o->headless) {
		setenv("SDL_VIDEODRIVER", "offscreen", 0); /* an explicit SDL_VIDEODRIVER wins */
	}
	SDL_SetHint(SDL_HINT_VIDEO_ALLOW_SCREENSAVER, "1");
	SDL_SetHint(SDL_HINT_RENDER_BATCHING, "1");
	if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) < 0) {
		const char *first = SDL_GetError();
		fs_warn("SDL video (%s): %s", getenv("SDL_VIDEODRIVER") ? getenv("SDL_VIDEODRIVER") : "default", first);
		if (!o->headless) {
			fs_error("cannot open a display: %s (use --headless without one)", first);
			goto fail;
		}
		setenv("SDL_VIDEODRIVER", "dummy", 1);
		if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) < 0) {
			fs_error("cannot start SDL video even with the dummy driver: %s", SDL_GetError());
			goto fail;
		}
	}
	g->sdl_up = true;
	const char *driver = SDL_GetCurrentVideoDriver();
	if (!o->headless && !getenv("SDL_VIDEODRIVER") && driver &&
	    (!strcmp(driver, "offscreen") || !strcmp(driver, "dummy"))) {
		/* SDL fell back to an invisible driver: a window nobody can see is not what was asked for. */
		fs_error("no display to open a window on (DISPLAY / WAYLAND_DISPLAY unset?): use --headless, "
			 "or SDL_VIDEODRIVER=%s to insist", driver);
		goto fail;
	}
	if (TTF_Init() < 0) {
		fs_error("SDL_ttf: %s", TTF_GetError());
		goto fail;
	}
	g->ttf_up = true;
	if (!(IMG_Init(IMG_INIT_PNG) & IMG_INIT_PNG)) {
		fs_warn("SDL_image has no PNG support: %s (screenshots will fail)", IMG_GetError());
	} else {
		g->img_up = true;
	}
	for (int f = 0; f < VIZ_FONT_COUNT; f++) {
		g->fonts[f] = TTF_OpenFont(font, font_px[f]);
		if (!g->fonts[f]) {
			fs_error("cannot open the font %s: %s", font, TTF_GetError());
			goto fail;
		}
		TTF_SetFontHinting(g->fonts[f], TTF_HINTING_LIGHT);
	}
	TTF_SetFontStyle(g->fonts[VIZ_FONT_LARGE], TTF_STYLE_BOLD);
	Uint32 wflags = SDL_WINDOW_RESIZABLE; /* no HIGHDPI: mouse and pixel coordinates stay the same */
	if (o->headless) {
		wflags = SDL_WINDOW_HIDDEN;
	}
	g->window = SDL_CreateWindow(o->title ? o->title : "fleet-viz", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
				     o->width, o->height, wflags);
	if (!g->window) {
		fs_error("cannot create a %dx%d window: %s", o->width, o->height, SDL_GetError());
		goto fail;
	}
	if (!o->headless && !o->software) {
		g->renderer = SDL_CreateRenderer(g->window, -1, SDL_RENDERER_ACCELERATED | SDL_RENDERER_TARGETTEXTURE);
	}
	if (!g->renderer) {
		SDL_SetHint(SDL_HINT_RENDER_DRIVER, "software");
		g->renderer = SDL_CreateRenderer(g->window, -1, SDL_RENDERER_SOFTWARE);
	}
	if (!g->renderer) {
		fs_error("cannot create a renderer: %s", SDL_GetError());
		goto fail;
	}
	return g;
fail:
	viz_sdl_destroy(g);
	return NULL;
}

void viz_sdl_destroy(struct viz_sdl *g)
{
	if (!g) {
		return;
	}
	for (int i = 0; i < TEXT_CACHE; i++) {
		if (g->text[i].tex) {
			SDL_DestroyTexture(g->text[i].tex);
		}
	}
	if (g->roads) {
		SDL_DestroyTexture(g->roads);
	}
	if (g->renderer) {
		SDL_DestroyRenderer(g->renderer);
	}
	if (g->window) {
		SDL_DestroyWindow(g->window);
	}
	for (int f = 0; f < VIZ_FONT_COUNT; f++) {
		if (g->fonts[f]) {
			TTF_CloseFont(g->fonts[f]);
		}
	}
	if (g->img_up) {
		IMG_Quit();
	}
	if (g->ttf_up) {
		TTF_Quit();
	}
	if (g->sdl_up) {
		SDL_Quit();
	}
	free(g->scratch);
	free(g);
}

SDL_Renderer *viz_sdl_renderer(struct viz_sdl *g)
{
	return g->renderer;
}

SDL_Window *viz_sdl_window(struct viz_sdl *g)
{
	return g->window;
}

void viz_sdl_describe(struct viz_sdl *g, const char **ret_renderer, const char **ret_driver)
{
	SDL_RendererInfo info;
	*ret_renderer = SDL_GetRendererInfo(g->renderer, &info) == 0 ? info.name : "?";
	*ret_driver = SDL_GetCurrentVideoDriver();
	if (!*ret_driver) {
		*ret_driver = "?";
	}
}

void viz_sdl_size(struct viz_sdl *g, int *ret_w, int *ret_h)
{
	if (SDL_GetRendererOutputSize(g->renderer, ret_w, ret_h) < 0) {
		SDL_GetWindowSize(g->window, ret_w, ret_h);
	}
}

static void set_color(struct viz_sdl *g, struct viz_color c, bool blend)
{
	SDL_SetRenderDrawBlendMode(g->renderer, blend ? SDL_BLENDMODE_BLEND : SDL_BLENDMODE_NONE);
	SDL_SetRenderDrawColor(g->renderer, c.r, c.g, c.b, c.a);
}

void viz_sdl_clear(struct viz_sdl *g, struct viz_color c)
{
	set_color(g, c, false);
	SDL_RenderClear(g->renderer);
}

/* A polyline @width pixels wide: copies shifted across its main direction. */
static void draw_polyline(struct viz_sdl *g, const struct viz_fpoint *p, uint32_t n, int width)
{
	const SDL_FPoint *pts = (const SDL_FPoint *)p;
	SDL_RenderDrawLinesF(g->renderer, pts, (int)n);
	if (width <= 1 || n < 2) {
		return;
	}
	if (g->scratch_cap < n) {
		SDL_FPoint *s = realloc(g->scratch, n * sizeof(*s));
		if (!s) {
			return;
		}
		g->scratch = s;
		g->scratch_cap = n;
	}
	bool horizontal = SDL_fabsf(pts[n - 1].x - pts[0].x) >= SDL_fabsf(pts[n - 1].y - pts[0].y);
	static const float offsets[] = { 1, -1, 2 };
	for (int k = 0; k < width - 1 && k < 3; k++) {
		for (uint32_t i = 0; i < n; i++) {
			g->scratch[i] = pts[i];
			if (horizontal) {
				g->scratch[i].y += offsets[k];
			} else {
				g->scratch[i].x += offsets[k];
			}
		}
		SDL_RenderDrawLinesF(g->renderer, g->scratch, (int)n);
	}
}

void viz_sdl_draw(struct viz_sdl *g, const struct viz_draw_list *l)
{
	for (size_t c = 0; c < l->ncmds; c++) {
		const struct viz_cmd *cmd = &l->cmds[c];
		if (!cmd->count) {
			continue;
		}
		set_color(g, cmd->color, cmd->blend);
		switch (cmd->prim) {
		case VIZ_PRIM_RECTS:
			SDL_RenderFillRectsF(g->renderer, (const SDL_FRect *)&l->rects[cmd->first], (int)cmd->count);
			break;
		case VIZ_PRIM_OUTLINES:
			SDL_RenderDrawRectsF(g->renderer, (const SDL_FRect *)&l->rects[cmd->first], (int)cmd->count);
			break;
		case VIZ_PRIM_POINTS:
			SDL_RenderDrawPointsF(g->renderer, (const SDL_FPoint *)&l->points[cmd->first], (int)cmd->count);
			break;
		case VIZ_PRIM_POLYLINE:
			draw_polyline(g, &l->points[cmd->first], cmd->count, cmd->width);
			break;
		case VIZ_PRIM_TRIANGLES:
			SDL_RenderGeometry(g->renderer, NULL, (const SDL_Vertex *)&l->verts[cmd->first], (int)cmd->count,
					   NULL, 0);
			break;
		default:
			break;
		}
	}
}

int viz_sdl_roads(struct viz_sdl *g, const struct viz_draw_list *roads, const struct viz_view *view)
{
	if (roads) {
		if (!g->roads || g->roads_w != view->width || g->roads_h != view->height) {
			if (g->roads) {
				SDL_DestroyTexture(g->roads);
			}
			g->roads = SDL_CreateTexture(g->renderer, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_TARGET,
						     view->width, view->height);
			g->roads_w = view->width;
			g->roads_h = view->height;
		}
		if (!g->roads) {
			/* No render targets: draw the roads directly, every frame. */
			g->roads_valid = false;
			viz_sdl_draw(g, roads);
			return 0;
		}
		SDL_SetRenderTarget(g->renderer, g->roads);
		viz_sdl_clear(g, viz_background_color());
		viz_sdl_draw(g, roads);
		SDL_SetRenderTarget(g->renderer, NULL);
		SDL_SetTextureBlendMode(g->roads, SDL_BLENDMODE_NONE);
		g->roads_view = *view;
		g->roads_valid = true;
	}
	if (!g->roads_valid) {
		return -1;
	}
	/* The cache's pixel (x, y) shows world point p; place it where p is now. */
	const struct viz_view *c = &g->roads_view;
	double k = view->scale / c->scale;
	double acx = c->area.x + c->area.w / 2.0, acy = c->area.y + c->area.h / 2.0;
	double avx = view->area.x + view->area.w / 2.0, avy = view->area.y + view->area.h / 2.0;
	double ox = avx - k * acx + (c->cx - view->cx) * view->scale;
	double oy = avy - k * acy - (c->cy - view->cy) * view->scale;
	SDL_FRect dst = { (float)ox, (float)oy, (float)(g->roads_w * k), (float)(g->roads_h * k) };
	if (k == 1.0 && ox == 0 && oy == 0) {
		SDL_RenderCopy(g->renderer, g->roads, NULL, NULL);
	} else {
		viz_sdl_clear(g, viz_background_color());
		SDL_RenderCopyF(g->renderer, g->roads, NULL, &dst);
	}
	return 0;
}

const struct viz_view *viz_sdl_roads_view(struct viz_sdl *g)
{
	return g->roads_valid ? &g->roads_view : NULL;
}

void viz_sdl_fill_rect(struct viz_sdl *g, float x, float y, float w, float h, struct viz_color c)
{
	set_color(g, c, c.a < 255);
	SDL_RenderFillRectF(g->renderer, &(SDL_FRect){ x, y, w, h });
}

void viz_sdl_rect(struct viz_sdl *g, float x, float y, float w, float h, struct viz_color c)
{
	set_color(g, c, c.a < 255);
	SDL_RenderDrawRectF(g->renderer, &(SDL_FRect){ x, y, w, h });
}

void viz_sdl_line(struct viz_sdl *g, float x0, float y0, float x1, float y1, struct viz_color c)
{
	set_color(g, c, c.a < 255);
	SDL_RenderDrawLineF(g->renderer, x0, y0, x1, y1);
}

void viz_sdl_lines(struct viz_sdl *g, const struct viz_fpoint *p, size_t n, struct viz_color c)
{
	set_color(g, c, c.a < 255);
	SDL_RenderDrawLinesF(g->renderer, (const SDL_FPoint *)p, (int)n);
}

static uint64_t text_hash(enum viz_font font, struct viz_color c, const char *text)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)font;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		h = (h ^ *p) * 1099511628211ULL;
	}
	h = (h ^ c.r) * 1099511628211ULL;
	h = (h ^ c.g) * 1099511628211ULL;
	h = (h ^ c.b) * 1099511628211ULL;
	return (h ^ c.a) * 1099511628211ULL;
}

static struct text_entry *text_get(struct viz_sdl *g, enum viz_font font, struct viz_color c, const char *text)
{
	uint64_t h = text_hash(font, c, text);
	struct text_entry *oldest = NULL; /* an empty slot, else the least recently used */
	for (int i = 0; i < TEXT_CACHE; i++) {
		struct text_entry *e = &g->text[i];
		if (e->tex && e->hash == h && e->font == font && !strcmp(e->text, text)) {
			e->used = g->frame;
			return e;
		}
		if (!oldest || (oldest->tex && (!e->tex || e->used < oldest->used))) {
			oldest = e;
		}
	}
	if (oldest->tex) {
		SDL_DestroyTexture(oldest->tex);
		oldest->tex = NULL;
	}
	SDL_Surface *s = TTF_RenderUTF8_Blended(g->fonts[font], text, (SDL_Color){ c.r, c.g, c.b, c.a });
	if (!s) {
		return NULL;
	}
	oldest->tex = SDL_CreateTextureFromSurface(g->renderer, s);
	oldest->w = s->w;
	oldest->h = s->h;
	SDL_FreeSurface(s);
	if (!oldest->tex) {
		return NULL;
	}
	SDL_SetTextureBlendMode(oldest->tex, SDL_BLENDMODE_BLEND);
	oldest->hash = h;
	oldest->font = (uint8_t)font;
	oldest->color = (SDL_Color){ c.r, c.g, c.b, c.a };
	snprintf(oldest->text, sizeof(oldest->text), "%s", text);
	oldest->used = g->frame;
	return oldest;
}

int viz_sdl_text(struct viz_sdl *g, enum viz_font font, float x, float y, struct viz_color c, const char *text)
{
	if (!text[0]) {
		return 0;
	}
	char clipped[TEXT_MAX];
	snprintf(clipped, sizeof(clipped), "%s", text);
	struct text_entry *e = text_get(g, font, c, clipped);
	if (!e) {
		return 0;
	}
	SDL_RenderCopyF(g->renderer, e->tex, NULL, &(SDL_FRect){ x, y, (float)e->w, (float)e->h });
	return e->w;
}

void viz_sdl_text_size(struct viz_sdl *g, enum viz_font font, const char *text, int *ret_w, int *ret_h)
{
	if (TTF_SizeUTF8(g->fonts[font], text, ret_w, ret_h) < 0) {
		*ret_w = *ret_h = 0;
	}
}

int viz_sdl_line_height(struct viz_sdl *g, enum viz_font font)
{
	return TTF_FontLineSkip(g->fonts[font]);
}

void viz_sdl_end_frame(struct viz_sdl *g)
{
	for (int i = 0; i < TEXT_CACHE; i++) {
		struct text_entry *e = &g->text[i];
		if (e->tex && g->frame - e->used > TEXT_KEEP_FRAMES) {
			SDL_DestroyTexture(e->tex);
			e->tex = NULL;
		}
	}
	g->frame++;
}

SDL_Surface *viz_sdl_read_pixels(struct viz_sdl *g)
{
	int w, h;
	viz_sdl_size(g, &w, &h);
	SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
	if (!s) {
		return NULL;
	}
	if (SDL_RenderReadPixels(g->renderer, NULL, SDL_PIXELFORMAT_ARGB8888, s->pixels, s->pitch) < 0) {
		fs_error("cannot read the rendered pixels: %s", SDL_GetError());
		SDL_FreeSurface(s);
		return NULL;
	}
	/* The frame is opaque; make the alpha say so (software targets may leave it 0). */
	for (int y = 0; y < h; y++) {
		Uint32 *row = (Uint32 *)((Uint8 *)s->pixels + (size_t)y * s->pitch);
		for (int x = 0; x < w; x++) {
			row[x] |= 0xff000000u;
		}
	}
	return s;
}

int viz_sdl_save_png(struct viz_sdl *g, const char *path)
{
	SDL_Surface *s = viz_sdl_read_pixels(g);
	if (!s) {
		return -EIO;
	}
	int rc = IMG_SavePNG(s, path);
	SDL_FreeSurface(s);
	if (rc < 0) {
		fs_error("cannot save %s: %s", path, IMG_GetError());
		return -EIO;
	}
	return 0;
}

void viz_sdl_flush(struct viz_sdl *g)
{
	SDL_RenderFlush(g->renderer);
}

void viz_sdl_set_title(struct viz_sdl *g, const char *title)
{
	SDL_SetWindowTitle(g->window, title);
}

void viz_sdl_present(struct viz_sdl *g)
{
	SDL_RenderPresent(g->renderer);
}
