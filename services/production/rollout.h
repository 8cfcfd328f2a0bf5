/* SPDX-License-Identifier: Apache-2.0 */
/* rollout.h - the chart of `fleetsim rollout` (rollout_chart.c). */
#ifndef ROLLOUT_H
#define ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#define CHART_STACK_MAX 16
#define CHART_KPI_MAX 4
#define CHART_PANELS 3   /* below the fleet: the city in detail (two), the fleet's software */
#define CHART_MARKERS_MAX 8

/* One time series; NaN values are gaps. */
struct chart_series {
	const char *name;
	const double *y;
	uint32_t rgb;       /* 0xRRGGBB */
	int right_axis;     /* KPI panels: drawn against the right-hand axis */
	int dashed;
};

struct chart {
	const char *title;
	const char *subtitle;
	size_t n;                       /* points */
	const double *x_day;            /* days since 1970-01-01 */
	/* top panel: fleet stacked by OEM, with the target curve */
	struct chart_series stack[CHART_STACK_MAX];
	size_t stack_count;
	struct chart_series target;
	/* days marked on the fleet panel with a label (software releases) */
	struct { double day; const char *label; } markers[CHART_MARKERS_MAX];
	size_t marker_count;
	/* bottom panels: the city simulated in detail, the fleet's software */
	const char *kpi_title[CHART_PANELS];
	const char *kpi_left_unit[CHART_PANELS], *kpi_right_unit[CHART_PANELS];
	struct chart_series kpi[CHART_PANELS][CHART_KPI_MAX];
	size_t kpi_count[CHART_PANELS];
	const char *kpi_empty_note[CHART_PANELS]; /* shown when a panel has no values at all */
	double kpi_right_max[CHART_PANELS];       /* > 0: the right axis always spans [0, this] (a share in %) */
};

/**
 * The top of a value axis with about @ticks ticks, and its step in
 * @ret_step: [0, @fixed_max] when @fixed_max > 0 (shares), else a "nice"
 * number (1, 2, 2.5, 5 x 10^k steps) at least 10 % above @data_max.
 */
double rollout_chart_axis(double data_max, double fixed_max, int ticks, double *ret_step);

/**
 * Render @c to a PNG at @path (fs_chart: cairo, fonts by fontconfig).
 * Returns 0, or -1 with a reason in @err.
 */
int rollout_chart_write(const struct chart *c, const char *path, char *err, size_t err_size);

#endif
