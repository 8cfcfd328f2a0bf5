/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_chart.h - a small drawing surface for the PNG charts of fleetsim
 * (`fleetsim rollout`'s rollout.png, `fleetctl export --report`'s report.png).
 *
 * cairo draws (an image surface, antialiased lines and text, PNG output);
 * fonts are found by family name through fontconfig, so no program names a
 * font file. Coordinates are pixels from the top left; text is placed by
 * the top of its line, as a layout thinks of it, not by its baseline.
 */
#ifndef FS_CHART_H
#define FS_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fs_chart;

enum fs_chart_align { FS_CHART_LEFT, FS_CHART_CENTER, FS_CHART_RIGHT };

/** A @width x @height chart, white. NULL on failure (out of memory). */
struct fs_chart *fs_chart_create(int width, int height);
void fs_chart_destroy(struct fs_chart *c); /* NULL: nothing */
/** Write it as a PNG. Returns 0 or -EIO. */
int fs_chart_write_png(struct fs_chart *c, const char *path);

/** Fill the rectangle [x0, x1) x [y0, y1) with @rgb (0xRRGGBB). */
void fs_chart_fill(struct fs_chart *c, double x0, double y0, double x1, double y1, uint32_t rgb);
/** A straight line @width pixels wide; @dash > 0: on and off every @dash pixels. */
void fs_chart_line(struct fs_chart *c, double x0, double y0, double x1, double y1, uint32_t rgb, double width,
		   double dash);
/**
 * A polyline through @n points (@x, @y); a NaN in @y is a gap. @dot > 0
 * marks each point with a square @dot pixels wide.
 */
void fs_chart_polyline(struct fs_chart *c, const double *x, const double *y, size_t n, uint32_t rgb, double width,
		       double dash, double dot);

/** Text of @size pixels (bold or not) whose line's top is at @y, aligned on @x. */
void fs_chart_text(struct fs_chart *c, double x, double y, enum fs_chart_align align, double size, bool bold,
		   uint32_t rgb, const char *text);
/** How wide fs_chart_text() draws @text, in pixels. */
double fs_chart_text_width(struct fs_chart *c, double size, bool bold, const char *text);

#endif
