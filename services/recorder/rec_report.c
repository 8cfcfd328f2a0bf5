/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rec_report - the KPI report of a recorded run as a PNG, drawn on an SDL2
 * software surface (no window, no renderer, works headless): the fleet by
 * state stacked over simulated time, the fleet's mean charge, trips
 * completed, and dispatch's waiting-time KPIs.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_export.h"

int64_t rec_report_time_step(int64_t t0_ms, int64_t t1_ms, int max_ticks, int64_t *ret_first_ms)
{
	static const int64_t steps_s[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
					   21600, 43200, 86400, 172800, 604800 };
	int64_t span = t1_ms > t0_ms ? t1_ms - t0_ms : 1, step = 0;
	for (size_t i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]) && !step; i++) {
		if (span / (steps_s[i] * 1000) + 1 <= max_ticks) {
			step = steps_s[i] * 1000;
		}
	}
	if (!step) {
		step = (span / max_ticks / 604800000 + 1) * 604800000; /* weeks */
	}
	int64_t first = t0_ms / step * step;
	*ret_first_ms = first < t0_ms ? first + step : first;
	return step;
}

const char *rec_report_kpi_label(const char *name)
{
	static const struct {
		const char *name, *label;
	} labels[] = {
		{ "wait.p50_s", "median wait" },
		{ "wait.p90_s", "90th percentile wait" },
		{ "wait.p95_s", "95th percentile wait" },
		{ "wait.mean_s", "mean wait" },
		{ "in_vehicle.mean_s", "mean time in vehicle" },
	};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		if (!strcmp(labels[i].name, name)) {
			return labels[i].label;
		}
	}
	return name;
}

#ifdef FS_REC_PNG
#include <SDL.h>
#include <SDL_image.h>
#include <SDL_ttf.h>

#include "fs/calendar.h"

#define W 1400
#define H 1000
#define FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

struct canvas {
	SDL_Surface *s;
	TTF_Font *font, *small, *big;
};

struct panel {
	int x0, y0, x1, y1;      /* plot area */
	int64_t t0, t1;
	double v0, v1;
};

/* Colours per vehicle state (index = VehicleState), like the viewer's legend. */
static const uint32_t STATE_RGB[REC_STATES] = {
	0x9e9e9e, 0xbcaaa4, 0xce93d8, 0x66bb6a, 0xffca28, 0xffa726, 0x1e88e5,
	0x26c6da, 0xab47bc, 0x7e57c2, 0x8d6e63, 0x616161, 0xe53935,
};
static const char *STATE_LABEL[REC_STATES] = {
	"unknown", "delivered", "commissioning", "available", "to pickup", "waiting for rider", "in trip",
	"repositioning", "to charger", "charging", "maintenance", "out of service", "minimal risk",
};

static void fill(struct canvas *cv, int x0, int y0, int x1, int y1, uint32_t rgb)
{
	SDL_Rect r = { x0, y0, x1 - x0, y1 - y0 };
	if (r.w > 0 && r.h > 0) {
		SDL_FillRect(cv->s, &r, 0xff000000u | rgb);
	}
}

static void put(struct canvas *cv, int x, int y, uint32_t rgb)
{
	if (x < 0 || y < 0 || x >= cv->s->w || y >= cv->s->h) {
		return;
	}
	uint32_t *row = (uint32_t *)((uint8_t *)cv->s->pixels + (size_t)y * cv->s->pitch);
	row[x] = 0xff000000u | rgb;
}

static void line(struct canvas *cv, int x0, int y0, int x1, int y1, uint32_t rgb, int thick)
{
	int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
	int err = dx + dy;
	for (;;) {
		for (int a = -(thick / 2); a <= (thick - 1) / 2; a++) {
			for (int b = -(thick / 2); b <= (thick - 1) / 2; b++) {
				put(cv, x0 + a, y0 + b, rgb);
			}
		}
		if (x0 == x1 && y0 == y1) {
			break;
		}
		int e2 = 2 * err;
		if (e2 >= dy) {
			err += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			err += dx;
			y0 += sy;
		}
	}
}

/* @align: 0 left, 1 centre, 2 right of x. */
static void text(struct canvas *cv, TTF_Font *font, int x, int y, int align, uint32_t rgb, const char *s)
{
	SDL_Color c = { (uint8_t)(rgb >> 16), (uint8_t)(rgb >> 8), (uint8_t)rgb, 255 };
	SDL_Surface *t = TTF_RenderUTF8_Blended(font, s, c);
	if (!t) {
		return;
	}
	SDL_Rect d = { x - (align == 1 ? t->w / 2 : align == 2 ? t->w : 0), y, t->w, t->h };
	SDL_BlitSurface(t, NULL, cv->s, &d);
	SDL_FreeSurface(t);
}

static int px(const struct panel *p, int64_t t)
{
	if (p->t1 <= p->t0) {
		return p->x0;
	}
	return p->x0 + (int)((double)(t - p->t0) / (double)(p->t1 - p->t0) * (p->x1 - p->x0));
}

static int py(const struct panel *p, double v)
{
	if (p->v1 <= p->v0) {
		return p->y1;
	}
	return p->y1 - (int)((v - p->v0) / (p->v1 - p->v0) * (p->y1 - p->y0));
}

static double nice_max(double v)
{
	if (!(v > 0)) {
		return 1;
	}
	double e = pow(10, floor(log10(v)));
	for (double m = 1; m <= 10; m += (m < 2 ? 0.5 : 1)) {
		if (m * e >= v) {
			return m * e;
		}
	}
	return 10 * e;
}

static void frame(struct canvas *cv, const struct panel *p, const char *title, const char *unit)
{
	fill(cv, p->x0, p->y0, p->x1, p->y1, 0xfafafa);
	text(cv, cv->font, p->x0, p->y0 - 26, 0, 0x212121, title);
	for (int i = 0; i <= 4; i++) {
		double v = p->v0 + (p->v1 - p->v0) * i / 4;
		int y = py(p, v);
		line(cv, p->x0, y, p->x1, y, 0xe0e0e0, 1);
		char b[32];
		if (fabs(p->v1) >= 1000) {
			snprintf(b, sizeof(b), "%.0f%s", v, unit);
		} else {
			snprintf(b, sizeof(b), "%.3g%s", v, unit);
		}
		text(cv, cv->small, p->x0 - 6, y - 8, 2, 0x616161, b);
	}
	/* ticks on round times (12:00, 12:30, ...), in UTC, which the axis says */
	int64_t first, step = rec_report_time_step(p->t0, p->t1, (p->x1 - p->x0) / 70, &first);
	for (int64_t t = first; t <= p->t1; t += step) {
		char b[32];
		fs_calendar_format(t, b, sizeof(b));
		/* "YYYY-MM-DDTHH:MM:SSZ": HH:MM, with seconds for steps under a minute, the date from a day up */
		b[step < 60000 ? 19 : 16] = '\0';
		const char *label = step >= 86400000 ? b : b + 11;
		if (step >= 86400000) {
			b[10] = '\0';
		}
		int x = px(p, t);
		line(cv, x, p->y0, x, p->y1, 0xeeeeee, 1);
		line(cv, x, p->y1, x, p->y1 + 4, 0x757575, 1);
		text(cv, cv->small, x, p->y1 + 6, 1, 0x616161, label);
	}
	text(cv, cv->small, p->x1, p->y1 + 22, 2, 0x616161, "simulated time, UTC");
	line(cv, p->x0, p->y1, p->x1, p->y1, 0x757575, 1);
	line(cv, p->x0, p->y0, p->x0, p->y1, 0x757575, 1);
}

static void plot(struct canvas *cv, const struct panel *p, const int64_t *t, const double *v, size_t n,
		 uint32_t rgb)
{
	int lx = 0, ly = 0;
	bool have = false;
	for (size_t i = 0; i < n; i++) {
		if (isnan(v[i])) {
			have = false;
			continue;
		}
		int x = px(p, t[i]), y = py(p, v[i]);
		if (have) {
			line(cv, lx, ly, x, y, rgb, 2);
		}
		lx = x;
		ly = y;
		have = true;
	}
}

static const struct rec_kpi_series *kpi(const struct rec_report *rep, const char *name)
{
	for (size_t i = 0; i < rep->n_kpis; i++) {
		if (!strcmp(rep->kpis[i].name, name)) {
			return &rep->kpis[i];
		}
	}
	return NULL;
}

static void draw(struct canvas *cv, const struct rec_report *rep)
{
	fill(cv, 0, 0, W, H, 0xffffff);
	const struct rec_series *s = &rep->fleet;
	char b[512], t0[32], t1[32];
	fs_calendar_format(rep->start_ms, t0, sizeof(t0));
	fs_calendar_format(rep->end_ms, t1, sizeof(t1));
	text(cv, cv->big, 40, 18, 0, 0x212121, "fleetsim run report");
	snprintf(b, sizeof(b), "%s  |  %s to %s (simulated, UTC), %llu ticks  |  %llu messages", rep->source, t0, t1,
		 (unsigned long long)rep->ticks, (unsigned long long)rep->messages);
	text(cv, cv->font, 40, 58, 0, 0x424242, b);
	snprintf(b, sizeof(b), "vehicles: up to %llu  |  trips completed: %llu  |  participants: %s",
		 (unsigned long long)rep->vehicles_max, (unsigned long long)rep->trips,
		 rep->participants[0] ? rep->participants : "-");
	text(cv, cv->font, 40, 82, 0, 0x424242, b);

	int64_t ta = s->n ? s->t_ms[0] : rep->start_ms, tb = s->n ? s->t_ms[s->n - 1] : rep->end_ms;
	if (tb <= ta) {
		tb = ta + 1000;
	}
	/* Fleet by state, stacked. */
	struct panel p = { 110, 150, W - 290, 530, ta, tb, 0, nice_max((double)rep->vehicles_max) };
	frame(cv, &p, "Fleet by state", "");
	for (size_t i = 0; i < s->n; i++) {
		int xa = px(&p, s->t_ms[i]);
		int xb = i + 1 < s->n ? px(&p, s->t_ms[i + 1]) : xa + 1;
		if (xb <= xa) {
			xb = xa + 1;
		}
		double acc = 0;
		for (int k = 0; k < REC_STATES; k++) {
			double next = acc + s->by_state[i][k];
			fill(cv, xa, py(&p, next), xb, py(&p, acc), STATE_RGB[k]);
			acc = next;
		}
	}
	int ly = 150;
	for (int k = 1; k < REC_STATES; k++) {
		fill(cv, W - 270, ly + 3, W - 256, ly + 17, STATE_RGB[k]);
		text(cv, cv->small, W - 248, ly + 1, 0, 0x424242, STATE_LABEL[k]);
		ly += 24;
	}

	/* Mean charge. */
	double *soc = calloc(s->n ? s->n : 1, sizeof(double));
	double *trips = calloc(s->n ? s->n : 1, sizeof(double));
	if (!soc || !trips) {
		free(soc);
		free(trips);
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		soc[i] = 100.0 * s->mean_soc[i];
		trips[i] = s->trips_done[i];
	}
	int top = 620, bottom = 930, wpanel = (W - 110 - 60 - 2 * 90) / 3;
	struct panel q = { 110, top, 110 + wpanel, bottom, ta, tb, 0, 100 };
	frame(cv, &q, "Mean state of charge", " %");
	plot(cv, &q, s->t_ms, soc, s->n, 0x43a047);

	struct panel r = { q.x1 + 90, top, q.x1 + 90 + wpanel, bottom, ta, tb, 0,
			   nice_max(s->n ? trips[s->n - 1] : 0) };
	frame(cv, &r, "Trips completed", "");
	plot(cv, &r, s->t_ms, trips, s->n, 0x1e88e5);

	/* Dispatch's waiting time, as it publishes it on kpi. */
	const char *names[] = { "wait.p50_s", "wait.p90_s", "wait.mean_s" };
	const uint32_t colours[] = { 0xfb8c00, 0xe53935, 0x8e24aa };
	double vmax = 0;
	for (int i = 0; i < 3; i++) {
		const struct rec_kpi_series *k = kpi(rep, names[i]);
		for (size_t j = 0; k && j < k->n; j++) {
			if (!isnan(k->v[j]) && k->v[j] > vmax) {
				vmax = k->v[j];
			}
		}
	}
	struct panel u = { r.x1 + 90, top, r.x1 + 90 + wpanel, bottom, ta, tb, 0, nice_max(vmax) };
	frame(cv, &u, "Rider wait (dispatch KPIs)", " s");
	int lx = u.x0 + 10;
	for (int i = 0; i < 3; i++) {
		const struct rec_kpi_series *k = kpi(rep, names[i]);
		if (!k) {
			continue;
		}
		plot(cv, &u, k->t_ms, k->v, k->n, colours[i]);
		const char *label = rec_report_kpi_label(names[i]);
		int w = 0;
		TTF_SizeUTF8(cv->small, label, &w, NULL);
		fill(cv, lx, u.y0 + 8, lx + 14, u.y0 + 22, colours[i]);
		text(cv, cv->small, lx + 18, u.y0 + 6, 0, 0x424242, label);
		lx += w + 32;
	}
	if (!kpi(rep, names[0])) {
		text(cv, cv->small, (u.x0 + u.x1) / 2, (u.y0 + u.y1) / 2, 1, 0x9e9e9e, "no dispatch KPIs recorded");
	}
	free(soc);
	free(trips);
}

int rec_report_png(const struct rec_report *rep, const char *path)
{
	if (TTF_Init() < 0) {
		return -EIO;
	}
	struct canvas cv = { 0 };
	int rc = -EIO;
	cv.s = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
	cv.font = TTF_OpenFont(FONT, 16);
	cv.small = TTF_OpenFont(FONT, 12);
	cv.big = TTF_OpenFont(FONT, 28);
	if (!cv.s || !cv.font || !cv.small || !cv.big) {
		goto out;
	}
	draw(&cv, rep);
	rc = IMG_SavePNG(cv.s, path) == 0 ? 0 : -EIO;
out:
	if (cv.font) {
		TTF_CloseFont(cv.font);
	}
	if (cv.small) {
		TTF_CloseFont(cv.small);
	}
	if (cv.big) {
		TTF_CloseFont(cv.big);
	}
	SDL_FreeSurface(cv.s);
	TTF_Quit();
	return rc;
}

#else

int rec_report_png(const struct rec_report *rep, const char *path)
{
	(void)rep;
	(void)path;
	return -ENOTSUP;
}

#endif
