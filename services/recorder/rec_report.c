/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rec_report - the KPI report of a recorded run as a PNG (fs_chart: cairo,
 * fonts by fontconfig; no display needed): the fleet by state stacked over
 * simulated time, the fleet's mean charge, trips completed, and dispatch's
 * waiting-time KPIs.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/calendar.h"
#include "fs/timezone.h"
#include "rec_export.h"

void rec_report_tick_label(const struct fs_timezone *tz, int64_t t_ms, int64_t step_ms, char *buf, size_t size)
{
	char b[32];
	/* "YYYY-MM-DDTHH:MM:SSZ" of the local clock: HH:MM, with seconds for steps under a minute, the date from a day up */
	fs_calendar_format(fs_timezone_local_ms(tz, t_ms), b, sizeof(b));
	if (step_ms >= 86400000) {
		b[10] = '\0';
		snprintf(buf, size, "%s", b);
		return;
	}
	b[step_ms < 60000 ? 19 : 16] = '\0';
	snprintf(buf, size, "%s", b + 11);
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
#include "fs_chart.h"

#define W 1400
#define H 1000

/* The type sizes (pixels) of the report. */
#define TEXT 16
#define SMALL 12
#define BIG 28

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

static void text(struct fs_chart *cv, double size, int x, int y, enum fs_chart_align align, uint32_t rgb,
		 const char *s)
{
	fs_chart_text(cv, x, y, align, size, false, rgb, s);
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

/* Ticks on round times (12:00, 12:30, ...) of the run's local clock, which the axis names. */
static void time_ticks(struct fs_chart *cv, const struct panel *p, const struct rec_report *rep)
{
	int64_t first, step = fs_timezone_axis_step(rep->tz, p->t0, p->t1, 1000, (p->x1 - p->x0) / 70, &first);
	for (int64_t local = first; local <= fs_timezone_local_ms(rep->tz, p->t1); local += step) {
		int64_t t = fs_timezone_utc_ms(rep->tz, local);
		char label[32];
		rec_report_tick_label(rep->tz, t, step, label, sizeof(label));
		int x = px(p, t);
		fs_chart_line(cv, x, p->y0, x, p->y1, 0xeeeeee, 1, 0);
		fs_chart_line(cv, x, p->y1, x, p->y1 + 4, 0x757575, 1, 0);
		text(cv, SMALL, x, p->y1 + 6, FS_CHART_CENTER, 0x616161, label);
	}
	char zone[96], caption[128];
	fs_timezone_describe(rep->tz, p->t0, zone, sizeof(zone));
	snprintf(caption, sizeof(caption), "simulated time, %s", zone);
	text(cv, SMALL, p->x1, p->y1 + 22, FS_CHART_RIGHT, 0x616161, caption);
}

static void frame(struct fs_chart *cv, const struct panel *p, const struct rec_report *rep, const char *title,
		  const char *unit)
{
	fs_chart_fill(cv, p->x0, p->y0, p->x1, p->y1, 0xfafafa);
	text(cv, TEXT, p->x0, p->y0 - 26, FS_CHART_LEFT, 0x212121, title);
	for (int i = 0; i <= 4; i++) {
		double v = p->v0 + (p->v1 - p->v0) * i / 4;
		int y = py(p, v);
		fs_chart_line(cv, p->x0, y, p->x1, y, 0xe0e0e0, 1, 0);
		char b[32];
		if (fabs(p->v1) >= 1000) {
			snprintf(b, sizeof(b), "%.0f%s", v, unit);
		} else {
			snprintf(b, sizeof(b), "%.3g%s", v, unit);
		}
		text(cv, SMALL, p->x0 - 6, y - 8, FS_CHART_RIGHT, 0x616161, b);
	}
	time_ticks(cv, p, rep);
	fs_chart_line(cv, p->x0, p->y1, p->x1, p->y1, 0x757575, 1, 0);
	fs_chart_line(cv, p->x0, p->y0, p->x0, p->y1, 0x757575, 1, 0);
}

static void plot(struct fs_chart *cv, const struct panel *p, const int64_t *t, const double *v, size_t n,
		 uint32_t rgb)
{
	double *x = calloc(n ? n : 1, sizeof(double)), *y = calloc(n ? n : 1, sizeof(double));
	if (!x || !y) {
		free(x);
		free(y);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		x[i] = px(p, t[i]);
		y[i] = isnan(v[i]) ? NAN : py(p, v[i]);
	}
	fs_chart_polyline(cv, x, y, n, rgb, 2, 0, 0);
	free(x);
	free(y);
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

static void heading(struct fs_chart *cv, const struct rec_report *rep)
{
	char b[640], t0[32], t1[32], zone[96];
	fs_timezone_format_iso(rep->tz, rep->start_ms, t0, sizeof(t0));
	fs_timezone_format_iso(rep->tz, rep->end_ms, t1, sizeof(t1));
	fs_timezone_describe(rep->tz, rep->start_ms, zone, sizeof(zone));
	text(cv, BIG, 40, 12, FS_CHART_LEFT, 0x212121, "fleetsim run report");
	snprintf(b, sizeof(b), "%s  |  %s to %s (simulated)  |  %llu ticks  |  %llu messages", rep->source, t0, t1,
		 (unsigned long long)rep->ticks, (unsigned long long)rep->messages);
	text(cv, TEXT, 40, 50, FS_CHART_LEFT, 0x424242, b);
	snprintf(b, sizeof(b), "times on the clock %s (%s)", zone, rep->tz_source);
	text(cv, TEXT, 40, 72, FS_CHART_LEFT, 0x424242, b);
	snprintf(b, sizeof(b), "vehicles: up to %llu  |  trips completed: %llu  |  participants: %s",
		 (unsigned long long)rep->vehicles_max, (unsigned long long)rep->trips,
		 rep->participants[0] ? rep->participants : "-");
	text(cv, TEXT, 40, 94, FS_CHART_LEFT, 0x424242, b);
}

/* Fleet by state, stacked, with its legend. */
static void fleet_panel(struct fs_chart *cv, const struct rec_report *rep, int64_t ta, int64_t tb)
{
	const struct rec_series *s = &rep->fleet;
	struct panel p = { 110, 150, W - 290, 530, ta, tb, 0, nice_max((double)rep->vehicles_max) };
	frame(cv, &p, rep, "Fleet by state", "");
	for (size_t i = 0; i < s->n; i++) {
		int xa = px(&p, s->t_ms[i]);
		int xb = i + 1 < s->n ? px(&p, s->t_ms[i + 1]) : xa + 1;
		if (xb <= xa) {
			xb = xa + 1;
		}
		double acc = 0;
		for (int k = 0; k < REC_STATES; k++) {
			double next = acc + s->by_state[i][k];
			fs_chart_fill(cv, xa, py(&p, next), xb, py(&p, acc), STATE_RGB[k]);
			acc = next;
		}
	}
	int ly = 150;
	for (int k = 1; k < REC_STATES; k++) {
		fs_chart_fill(cv, W - 270, ly + 3, W - 256, ly + 17, STATE_RGB[k]);
		text(cv, SMALL, W - 248, ly + 1, FS_CHART_LEFT, 0x424242, STATE_LABEL[k]);
		ly += 24;
	}
}

/* Dispatch's waiting time, as it publishes it on kpi. */
static void wait_panel(struct fs_chart *cv, const struct rec_report *rep, struct panel u)
{
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
	u.v1 = nice_max(vmax);
	frame(cv, &u, rep, "Rider wait (dispatch KPIs)", " s");
	int lx = u.x0 + 10;
	for (int i = 0; i < 3; i++) {
		const struct rec_kpi_series *k = kpi(rep, names[i]);
		if (!k) {
			continue;
		}
		plot(cv, &u, k->t_ms, k->v, k->n, colours[i]);
		const char *label = rec_report_kpi_label(names[i]);
		int w = (int)ceil(fs_chart_text_width(cv, SMALL, false, label));
		fs_chart_fill(cv, lx, u.y0 + 8, lx + 14, u.y0 + 22, colours[i]);
		text(cv, SMALL, lx + 18, u.y0 + 6, FS_CHART_LEFT, 0x424242, label);
		lx += w + 32;
	}
	if (!kpi(rep, names[0])) {
		text(cv, SMALL, (u.x0 + u.x1) / 2, (u.y0 + u.y1) / 2, FS_CHART_CENTER, 0x9e9e9e, "no dispatch KPIs recorded");
	}
}

static void draw(struct fs_chart *cv, const struct rec_report *rep)
{
	const struct rec_series *s = &rep->fleet;
	heading(cv, rep);
	int64_t ta = s->n ? s->t_ms[0] : rep->start_ms, tb = s->n ? s->t_ms[s->n - 1] : rep->end_ms;
	if (tb <= ta) {
		tb = ta + 1000;
	}
	fleet_panel(cv, rep, ta, tb);
	/* Mean charge and trips completed. */
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
	frame(cv, &q, rep, "Mean state of charge", " %");
	plot(cv, &q, s->t_ms, soc, s->n, 0x43a047);
	struct panel r = { q.x1 + 90, top, q.x1 + 90 + wpanel, bottom, ta, tb, 0,
			   nice_max(s->n ? trips[s->n - 1] : 0) };
	frame(cv, &r, rep, "Trips completed", "");
	plot(cv, &r, s->t_ms, trips, s->n, 0x1e88e5);
	wait_panel(cv, rep, (struct panel){ r.x1 + 90, top, r.x1 + 90 + wpanel, bottom, ta, tb, 0, 0 });
	free(soc);
	free(trips);
}

int rec_report_png(const struct rec_report *rep, const char *path)
{
	struct fs_chart *cv = fs_chart_create(W, H);
	if (!cv) {
		return -EIO;
	}
	draw(cv, rep);
	int rc = fs_chart_write_png(cv, path);
	fs_chart_destroy(cv);
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
