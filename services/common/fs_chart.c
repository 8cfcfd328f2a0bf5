/* SPDX-License-Identifier: Apache-2.0 */
/* fs_chart.c - PNG charts on cairo, fonts through fontconfig (fs_chart.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "fs_chart.h"

/*
 * DejaVu Sans is what the charts were designed with (Debian's
 * fonts-dejavu-core); fontconfig substitutes the nearest sans-serif font
 * where it is missing.
 */
#define FAMILY "DejaVu Sans"

struct fs_chart {
	cairo_surface_t *surface;
	cairo_t *cr;
};

static void set_rgb(cairo_t *cr, uint32_t rgb)
{
	cairo_set_source_rgb(cr, (double)((rgb >> 16) & 0xff) / 255.0, (double)((rgb >> 8) & 0xff) / 255.0,
			     (double)(rgb & 0xff) / 255.0);
}

struct fs_chart *fs_chart_create(int width, int height)
{
	struct fs_chart *c = calloc(1, sizeof(*c));
	if (!c) {
		return NULL;
	}
	c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
	c->cr = cairo_create(c->surface);
	if (cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS || cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
		fs_chart_destroy(c);
		return NULL;
	}
	fs_chart_fill(c, 0, 0, width, height, 0xffffff);
	return c;
}

void fs_chart_destroy(struct fs_chart *c)
{
	if (!c) {
		return;
	}
	cairo_destroy(c->cr);
	cairo_surface_destroy(c->surface);
	free(c);
	/*
	 * The fonts cairo found through fontconfig stay cached for the process;
	 * a program draws one chart, so they go with it (what TTF_Quit() did
	 * for SDL2_ttf), and a leak checker sees nothing left behind.
	 */
	cairo_debug_reset_static_data();
	FcFini();
}

int fs_chart_write_png(struct fs_chart *c, const char *path)
{
	cairo_surface_flush(c->surface);
	return cairo_surface_write_to_png(c->surface, path) == CAIRO_STATUS_SUCCESS ? 0 : -EIO;
}

void fs_chart_fill(struct fs_chart *c, double x0, double y0, double x1, double y1, uint32_t rgb)
{
	if (x1 <= x0 || y1 <= y0) {
		return;
	}
	set_rgb(c->cr, rgb);
	cairo_rectangle(c->cr, x0, y0, x1 - x0, y1 - y0);
	cairo_fill(c->cr);
}

static void stroke_style(cairo_t *cr, uint32_t rgb, double width, double dash)
{
	set_rgb(cr, rgb);
	cairo_set_line_width(cr, width);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	cairo_set_dash(cr, &dash, dash > 0 ? 1 : 0, 0);
}

void fs_chart_line(struct fs_chart *c, double x0, double y0, double x1, double y1, uint32_t rgb, double width,
		   double dash)
{
	stroke_style(c->cr, rgb, width, dash);
	/* an odd width centred on a pixel's middle stays crisp */
	double half = fmod(width, 2) == 1 ? 0.5 : 0;
	cairo_move_to(c->cr, x0 + half, y0 + half);
	cairo_line_to(c->cr, x1 + half, y1 + half);
	cairo_stroke(c->cr);
}

void fs_chart_polyline(struct fs_chart *c, const double *x, const double *y, size_t n, uint32_t rgb, double width,
		       double dash, double dot)
{
	stroke_style(c->cr, rgb, width, dash);
	bool open = false;
	for (size_t i = 0; i < n; i++) {
		if (isnan(y[i])) {
			open = false;
			continue;
		}
		if (open) {
			cairo_line_to(c->cr, x[i], y[i]);
		} else {
			cairo_move_to(c->cr, x[i], y[i]);
		}
		open = true;
	}
	cairo_stroke(c->cr);
	for (size_t i = 0; dot > 0 && i < n; i++) {
		if (!isnan(y[i])) {
			fs_chart_fill(c, x[i] - dot / 2, y[i] - dot / 2, x[i] + dot / 2, y[i] + dot / 2, rgb);
		}
	}
}

static void select_font(cairo_t *cr, double size, bool bold)
{
	cairo_select_font_face(cr, FAMILY, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
}

double fs_chart_text_width(struct fs_chart *c, double size, bool bold, const char *text)
{
	cairo_text_extents_t te;
	select_font(c->cr, size, bold);
	cairo_text_extents(c->cr, text, &te);
	return te.x_advance;
}

void fs_chart_text(struct fs_chart *c, double x, double y, enum fs_chart_align align, double size, bool bold,
		   uint32_t rgb, const char *text)
{
	if (!text || !*text) {
		return;
	}
	cairo_font_extents_t fe;
	select_font(c->cr, size, bold);
	cairo_font_extents(c->cr, &fe);
	double w = align == FS_CHART_LEFT ? 0 : fs_chart_text_width(c, size, bold, text);
	set_rgb(c->cr, rgb);
	cairo_move_to(c->cr, x - (align == FS_CHART_CENTER ? w / 2 : w), y + fe.ascent);
	cairo_show_text(c->cr, text);
}
