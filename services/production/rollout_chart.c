/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rollout_chart - the rollout chart as a PNG (fs_chart: cairo, fontconfig):
 * fleet by OEM stacked over time with the target curve on top, and three
 * panels below: the city simulated in detail (two) and the fleet's software.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout.h"

/* A "nice" axis maximum and step (1, 2, 2.5, 5 x 10^k) for about @ticks ticks. */
static double nice_step(double max, int ticks, double *ret_max)
{
	if (!(max > 0)) {
		max = 1;
	}
	double raw = max / ticks, p = pow(10, floor(log10(raw))), m = raw / p;
	double step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
	*ret_max = ceil(max / step) * step;
	return step;
}

double rollout_chart_axis(double data_max, double fixed_max, int ticks, double *ret_step)
{
	double max;
	if (fixed_max > 0) {
		/* a share: its whole range, whatever the data (a served share of 100 % is the top, not 91 % of it) */
		*ret_step = nice_step(fixed_max, ticks, &max);
		return fixed_max;
	}
	*ret_step = nice_step(data_max * 1.1, ticks, &max);
	return max;
}

#ifdef FS_ROLLOUT_PNG
#include "fs/calendar.h"
#include "fs_chart.h"

#define W 1400
#define H 940

/* The type sizes (pixels) and weights of the chart. */
struct font {
	double size;
	bool bold;
};
static const struct font TEXT = { 16, false }, SMALL = { 13, false }, BOLD = { 17, true }, TITLE = { 22, true };

struct rect {
	int x0, y0, x1, y1;
};

static void text(struct fs_chart *cv, struct font f, const char *str, int x, int y, uint32_t rgb,
		 enum fs_chart_align al)
{
	fs_chart_text(cv, x, y, al, f.size, f.bold, rgb, str);
}

static void format_count(double v, char *buf, size_t size)
{
	if (fabs(v) >= 1000) {
		snprintf(buf, size, "%gk", v / 1000);
	} else {
		snprintf(buf, size, "%g", v);
	}
}

struct xaxis {
	double d0, d1;
	struct rect r;
};

static int xpix(const struct xaxis *xa, double day)
{
	return xa->r.x0 + (int)lround((day - xa->d0) / (xa->d1 - xa->d0 > 0 ? xa->d1 - xa->d0 : 1) * (xa->r.x1 - xa->r.x0));
}

static int ypix(const struct rect *r, double v, double vmax)
{
	return r->y1 - (int)lround(v / vmax * (r->y1 - r->y0));
}

/* Month and year ticks along the bottom of @xa: years always, quarters or months on shorter spans. */
static void time_ticks(struct fs_chart *cv, const struct xaxis *xa)
{
	const struct rect *r = &xa->r;
	char buf[32];
	struct fs_civil_time t0, t1;
	fs_calendar_from_ms((int64_t)xa->d0 * 86400000LL, &t0);
	fs_calendar_from_ms((int64_t)xa->d1 * 86400000LL, &t1);
	int span_months = (t1.year - t0.year) * 12 + t1.month - t0.month;
	for (int y = t0.year; y <= t1.year; y++) {
		for (int m = 1; m <= 12; m++) {
			double d = (double)fs_calendar_days_from_civil(y, m, 1);
			if (d < xa->d0 || d > xa->d1) {
				continue;
			}
			int x = xpix(xa, d);
			bool year = m == 1;
			if (year || (span_months <= 24 && (m - 1) % 3 == 0) || span_months <= 8) {
				fs_chart_line(cv, x, r->y0, x, r->y1, year ? 0xd0d0d0 : 0xeaeaea, 1, 0);
				snprintf(buf, sizeof(buf), year ? "%d" : "%d-%02d", y, m);
				text(cv, SMALL, buf, x, r->y1 + 4, 0x404040, FS_CHART_CENTER);
			}
		}
	}
}

/* Frame, grid, year ticks and value ticks (left; right if @rmax > 0). */
static void axes(struct fs_chart *cv, const struct xaxis *xa, double lmax, double lstep, double rmax, double rstep,
		 const char *lunit, const char *runit)
{
	const struct rect *r = &xa->r;
	fs_chart_fill(cv, r->x0, r->y0, r->x1, r->y1, 0xfbfbfb);
	char buf[32];
	for (double v = 0; v <= lmax + lstep / 2; v += lstep) {
		int y = ypix(r, v, lmax);
		fs_chart_line(cv, r->x0, y, r->x1, y, 0xe2e2e2, 1, 0);
		format_count(v, buf, sizeof(buf));
		text(cv, SMALL, buf, r->x0 - 6, y - 8, 0x404040, FS_CHART_RIGHT);
	}
	if (rmax > 0) {
		for (double v = 0; v <= rmax + rstep / 2; v += rstep) {
			format_count(v, buf, sizeof(buf));
			text(cv, SMALL, buf, r->x1 + 6, ypix(r, v, rmax) - 8, 0x404040, FS_CHART_LEFT);
		}
		text(cv, SMALL, runit, r->x1 + 6, r->y0 - 22, 0x404040, FS_CHART_LEFT);
	}
	text(cv, SMALL, lunit, r->x0 - 6, r->y0 - 22, 0x404040, FS_CHART_RIGHT);
	time_ticks(cv, xa);
	fs_chart_line(cv, r->x0, r->y1, r->x1, r->y1, 0x606060, 1, 0);
	fs_chart_line(cv, r->x0, r->y0, r->x0, r->y1, 0x606060, 1, 0);
	if (rmax > 0) {
		fs_chart_line(cv, r->x1, r->y0, r->x1, r->y1, 0x606060, 1, 0);
	}
}

/* Linear interpolation of @y (NaN = gap) at @day. */
static double interp(const double *x, const double *y, size_t n, double day)
{
	if (n == 0) {
		return NAN;
	}
	if (day <= x[0]) {
		return y[0];
	}
	for (size_t i = 1; i < n; i++) {
		if (day <= x[i]) {
			double f = (day - x[i - 1]) / (x[i] - x[i - 1]);
			return y[i - 1] + f * (y[i] - y[i - 1]);
		}
	}
	return y[n - 1];
}

/* @s against @vmax (values above it drawn at the top), each sample marked. */
static void polyline(struct fs_chart *cv, const struct xaxis *xa, const double *x, const struct chart_series *s,
		     size_t n, double vmax, int thick)
{
	double *px = calloc(n ? n : 1, sizeof(double)), *py = calloc(n ? n : 1, sizeof(double));
	if (!px || !py) {
		free(px);
		free(py);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		double v = s->y[i];
		px[i] = xpix(xa, x[i]);
		py[i] = isnan(v) ? NAN : ypix(&xa->r, v < vmax ? v : vmax, vmax);
	}
	fs_chart_polyline(cv, px, py, n, s->rgb, thick, s->dashed ? 6 : 0, 5);
	free(px);
	free(py);
}

static double series_max(const struct chart_series *s, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isnan(s->y[i]) && s->y[i] > m) {
			m = s->y[i];
		}
	}
	return m;
}

static bool series_empty(const struct chart_series *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isnan(s->y[i])) {
			return false;
		}
	}
	return true;
}

static void legend_item(struct fs_chart *cv, int x, int y, const struct chart_series *s, bool box)
{
	if (box) {
		fs_chart_fill(cv, x, y + 3, x + 14, y + 15, s->rgb);
	} else {
		fs_chart_line(cv, x, y + 9, x + 18, y + 9, s->rgb, 3, s->dashed ? 4 : 0);
	}
	text(cv, SMALL, s->name, x + 24, y, 0x202020, FS_CHART_LEFT);
}

/* The fleet stacked by OEM, one pixel column at a time; returns the value axis's top. */
static double draw_stack(struct fs_chart *cv, const struct chart *c, const struct xaxis *xa)
{
	double top = 0;
	for (size_t i = 0; i < c->n; i++) {
		double sum = 0;
		for (size_t k = 0; k < c->stack_count; k++) {
			sum += c->stack[k].y[i];
		}
		top = fmax(top, sum);
		if (c->target.y && !isnan(c->target.y[i])) {
			top = fmax(top, c->target.y[i]);
		}
	}
	double vmax, step = nice_step(top * 1.05, 6, &vmax);
	axes(cv, xa, vmax, step, 0, 0, "vehicles", NULL);
	const struct rect *r = &xa->r;
	for (int x = r->x0 + 1; x < r->x1; x++) {
		double day = xa->d0 + (double)(x - r->x0) / (r->x1 - r->x0) * (xa->d1 - xa->d0);
		if (day < c->x_day[0] || day > c->x_day[c->n - 1]) {
			continue;
		}
		double base = 0;
		for (size_t k = 0; k < c->stack_count; k++) {
			double v = interp(c->x_day, c->stack[k].y, c->n, day);
			int y0 = ypix(r, base, vmax), y1 = ypix(r, base + v, vmax);
			if (y1 < y0) {
				fs_chart_fill(cv, x, y1, x + 1, y0, c->stack[k].rgb);
			}
			base += v;
		}
	}
	return vmax;
}

static void draw_top(struct fs_chart *cv, const struct chart *c, const struct xaxis *xa)
{
	double vmax = draw_stack(cv, c, xa);
	if (c->target.y) {
		polyline(cv, xa, c->x_day, &c->target, c->n, vmax, 2);
	}
	/* legend, right of the panel, top-down in stacking order reversed */
	const struct rect *r = &xa->r;
	int ly = r->y0;
	text(cv, BOLD, "Fleet by OEM", r->x1 + 20, ly, 0x202020, FS_CHART_LEFT);
	ly += 26;
	for (size_t k = c->stack_count; k-- > 0;) {
		legend_item(cv, r->x1 + 20, ly, &c->stack[k], true);
		ly += 22;
	}
	if (c->target.y) {
		legend_item(cv, r->x1 + 20, ly + 6, &c->target, false);
		ly += 28;
	}
	/* the latest figures, readable at a glance */
	char buf[96];
	double last = 0;
	for (size_t k = 0; k < c->stack_count; k++) {
		last += c->stack[k].y[c->n - 1];
	}
	snprintf(buf, sizeof(buf), "fleet at the end: %.0f", last);
	text(cv, TEXT, buf, r->x1 + 20, ly + 14, 0x202020, FS_CHART_LEFT);
	/* releases of the driving software, where they went out */
	for (size_t k = 0; k < c->marker_count; k++) {
		if (c->markers[k].day < xa->d0 || c->markers[k].day > xa->d1) {
			continue;
		}
		int x = xpix(xa, c->markers[k].day);
		fs_chart_line(cv, x, r->y0, x, r->y1, 0x7a3db8, 1, 4);
		text(cv, SMALL, c->markers[k].label, x + 3, r->y0 + 2, 0x7a3db8, FS_CHART_LEFT);
	}
}

static void draw_kpi(struct fs_chart *cv, const struct chart *c, int panel, const struct xaxis *xa)
{
	size_t n = c->n;
	double lmax = 0, rmax = 0;
	bool any = false, right = false;
	for (size_t k = 0; k < c->kpi_count[panel]; k++) {
		const struct chart_series *s = &c->kpi[panel][k];
		any |= !series_empty(s, n);
		if (s->right_axis) {
			right = true;
			rmax = fmax(rmax, series_max(s, n));
		} else {
			lmax = fmax(lmax, series_max(s, n));
		}
	}
	double ls, rs = 0, lm = rollout_chart_axis(lmax, 0, 4, &ls), rm = 0;
	if (right) {
		rm = rollout_chart_axis(rmax, c->kpi_right_max[panel], 4, &rs);
	}
	axes(cv, xa, lm, ls, right ? rm : 0, rs, c->kpi_left_unit[panel], c->kpi_right_unit[panel]);
	text(cv, BOLD, c->kpi_title[panel], xa->r.x0, xa->r.y0 - 50, 0x202020, FS_CHART_LEFT);
	int lx = xa->r.x0, ly = xa->r.y1 + 26;
	for (size_t k = 0; k < c->kpi_count[panel]; k++) {
		const struct chart_series *s = &c->kpi[panel][k];
		polyline(cv, xa, c->x_day, s, n, s->right_axis ? rm : lm, 2);
		int w = (int)ceil(fs_chart_text_width(cv, SMALL.size, SMALL.bold, s->name));
		if (lx > xa->r.x0 && lx + w + 24 > xa->r.x1 + 40) { /* the next row */
			lx = xa->r.x0;
			ly += 20;
		}
		legend_item(cv, lx, ly, s, false);
		lx += w + 44;
	}
	if (!any && c->kpi_empty_note[panel]) {
		text(cv, TEXT, c->kpi_empty_note[panel], (xa->r.x0 + xa->r.x1) / 2, (xa->r.y0 + xa->r.y1) / 2 - 10,
		     0x808080, FS_CHART_CENTER);
	}
}

int rollout_chart_write(const struct chart *c, const char *path, char *err, size_t err_size)
{
	if (c->n == 0) {
		snprintf(err, err_size, "no data to chart");
		return -1;
	}
	struct fs_chart *cv = fs_chart_create(W, H);
	if (!cv) {
		snprintf(err, err_size, "cannot make a %dx%d picture", W, H);
		return -1;
	}
	text(cv, TITLE, c->title, 24, 14, 0x101010, FS_CHART_LEFT);
	text(cv, TEXT, c->subtitle, 24, 46, 0x505050, FS_CHART_LEFT);
	double d0 = c->x_day[0], d1 = c->x_day[c->n - 1];
	if (d1 <= d0) {
		d1 = d0 + 1;
	}
	struct xaxis top = { d0, d1, { 90, 110, 1110, 480 } };
	draw_top(cv, c, &top);
	static const int panel_x[CHART_PANELS][2] = { { 70, 380 }, { 490, 800 }, { 990, 1300 } };
	for (int k = 0; k < CHART_PANELS; k++) {
		struct xaxis xa = { d0, d1, { panel_x[k][0], 610, panel_x[k][1], 850 } };
		draw_kpi(cv, c, k, &xa);
	}
	int rc = fs_chart_write_png(cv, path);
	if (rc < 0) {
		snprintf(err, err_size, "cannot write the PNG");
	}
	fs_chart_destroy(cv);
	return rc < 0 ? -1 : 0;
}

#else

int rollout_chart_write(const struct chart *c, const char *path, char *err, size_t err_size)
{
	(void)c;
	(void)path;
	snprintf(err, err_size, "built without cairo");
	return -1;
}

#endif
