/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rec_export.h - a recording into files other tools read: a per-vehicle
 * timeline CSV, trips as GeoJSON for kepler.gl, a KPI report PNG.
 */
#ifndef REC_EXPORT_H
#define REC_EXPORT_H

#include <stddef.h>
#include <stdint.h>

struct rec_export_options {
	const char *timeline_csv;  /* may be NULL */
	const char *trips_geojson; /* may be NULL */
	const char *report_png;    /* may be NULL */
};

/** Read @path once and write the requested files. Returns 0 or -errno (logged). */
int rec_export(const char *path, const struct rec_export_options *opts);

/* The report's data, gathered per tick by rec_export() (rec_report.c draws it). */
#define REC_STATES 13

struct rec_series {
	size_t n, cap;
	int64_t *t_ms;                    /* simulated time of each sample */
	uint32_t (*by_state)[REC_STATES]; /* vehicles per state */
	float *mean_soc;
	uint32_t *trips_done;             /* trips completed in the run so far */
};

struct rec_kpi_series {
	char name[48];
	size_t n, cap;
	int64_t *t_ms;
	double *v;
};

struct rec_report {
	const char *source;
	struct rec_series fleet;
	struct rec_kpi_series *kpis;
	size_t n_kpis;
	uint64_t messages, ticks, trips, vehicles_max;
	char participants[256];
	int64_t start_ms, end_ms;
};

/**
 * The time axis of a report over [@t0_ms, @t1_ms]: a round step (1, 2, 5,
 * 10, 15, 30 s or min, 1, 2, 3, 6, 12 h, 1, 2, 7 d) giving at most @max_ticks
 * ticks, and the first multiple of it (UTC) at or after @t0_ms.
 */
int64_t rec_report_time_step(int64_t t0_ms, int64_t t1_ms, int max_ticks, int64_t *ret_first_ms);
/** A readable legend name for one of dispatch's KPI names ("wait.p50_s" -> "median wait"). */
const char *rec_report_kpi_label(const char *name);

/** Draw @rep into a PNG at @path. Returns 0, -ENOTSUP (built without SDL2) or -errno. */
int rec_report_png(const struct rec_report *rep, const char *path);

#endif
