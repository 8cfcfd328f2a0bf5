/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rec_export.h - a recording into files other tools read: a per-vehicle
 * timeline CSV, trips as GeoJSON for kepler.gl, a KPI report PNG.
 */
#ifndef REC_EXPORT_H
#define REC_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "fs/timezone.h"

struct rec_export_options {
	const char *timeline_csv;  /* may be NULL */
	const char *trips_geojson; /* may be NULL */
	const char *report_png;    /* may be NULL */
	const char *timezone;      /* the clock of local times: an IANA zone or "UTC"; NULL = the run's city's */
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
	const struct fs_timezone *tz; /* the local clock of the axes and heading (NULL = UTC) */
	const char *tz_source;        /* where it comes from, as the heading says it */
};

/**
 * A time-axis label of report.png for the tick at @t_ms, on @tz's clock:
 * "07:30", "07:30:15" for steps under a minute, "2028-06-01" from a day up.
 */
void rec_report_tick_label(const struct fs_timezone *tz, int64_t t_ms, int64_t step_ms, char *buf, size_t size);
/** A readable legend name for one of dispatch's KPI names ("wait.p50_s" -> "median wait"). */
const char *rec_report_kpi_label(const char *name);

/** Draw @rep into a PNG at @path. Returns 0, -ENOTSUP (built without SDL2) or -errno. */
int rec_report_png(const struct rec_report *rep, const char *path);

#endif
