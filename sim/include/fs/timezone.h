/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/timezone.h - a city's clock: the UTC offset in force at any instant, from
 * the IANA time zone database (the system's tzdata) or a fixed offset.
 *
 * A zone is read once, by the scenario loader, from its TZif file
 * (RFC 8536; fs/timezone_load.h in loaders/) into a table of transitions plus the POSIX TZ rule the file
 * ends with (which gives the offsets after its last transition, every year
 * on). Looking up an offset is then a pure function of the table and the
 * instant: no environment (TZ), no process-wide state, no locking, so every
 * shard and thread of a run computes the same local hour (docs/architecture.md
 * "Time").
 */
#ifndef FS_TIMEZONE_H
#define FS_TIMEZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"

#define FS_TZ_NAME_MAX 64

/* One end of daylight time in a POSIX TZ rule: a day of the year and a local time. */
struct fs_tz_date {
	char kind;       /* 'J': day 1..365, never Feb 29; 'D': day 0..365; 'M': month.week.weekday */
	int16_t day;     /* 'J', 'D' */
	int8_t month;    /* 'M': 1..12 */
	int8_t week;     /* 'M': 1..5 (5 = the last) */
	int8_t weekday;  /* 'M': 0 = Sunday */
	int32_t time_s;  /* local time of the change (-167 h .. 167 h) */
};

/* The rule after the last transition (a TZif v2+ footer such as "EST5EDT,M3.2.0,M11.1.0"). */
struct fs_tz_rule {
	int32_t std_offset_s;   /* UTC offset of standard time, east positive */
	int32_t dst_offset_s;   /* of daylight time; = std with no daylight time */
	bool has_dst;
	struct fs_tz_date start, end; /* daylight time starts (in standard time) and ends (in daylight time) */
};

struct fs_timezone {
	char name[FS_TZ_NAME_MAX]; /* "America/New_York"; "" for a fixed offset */
	int32_t initial_offset_s;  /* before the first transition, or always with neither table nor rule */
	size_t count;
	int64_t *at_s;             /* transition instants, Unix seconds UTC, strictly ascending (owned) */
	int32_t *offset_s;         /* the offset in force from at_s[i] on (owned) */
	bool has_rule;
	struct fs_tz_rule rule;    /* after the last transition */
};

/** A zone of one fixed offset (no allocation; fs_timezone_finish() is still fine). */
void fs_timezone_fixed(struct fs_timezone *tz, int32_t offset_s);

/** Free what @tz holds and zero it; NULL is a no-op. */
void fs_timezone_finish(struct fs_timezone *tz);
/** Deep copy of @src into @dst (overwritten). 0 or -ENOMEM. */
int fs_timezone_copy(struct fs_timezone *dst, const struct fs_timezone *src);
/** Same name, table and rule. */
bool fs_timezone_equal(const struct fs_timezone *a, const struct fs_timezone *b);

/** The UTC offset in force at @t_ms (Unix ms UTC); @tz NULL is UTC. Pure. */
int32_t fs_timezone_offset_s(const struct fs_timezone *tz, int64_t t_ms);
/** Local wall-clock time at @t_ms as Unix-style ms: @t_ms + its offset. */
int64_t fs_timezone_local_ms(const struct fs_timezone *tz, int64_t t_ms);
/**
 * The instant (Unix ms UTC) of wall-clock time @local_ms (Unix-style ms) on
 * @tz's clock. A time that happens twice (clocks go back) gives the first; one
 * that never happens (clocks go forward) is read with the offset before the
 * change, as a clock not yet changed would show it. Pure; @tz NULL is UTC.
 */
int64_t fs_timezone_utc_ms(const struct fs_timezone *tz, int64_t local_ms);

/**
 * The clock in force at @t_ms, as readers say it: "UTC-5 America/New_York",
 * "UTC+5:30" (a fixed offset), "UTC" (@tz NULL or offset 0 without a name).
 */
void fs_timezone_describe(const struct fs_timezone *tz, int64_t t_ms, char *buf, size_t size);
/**
 * @t_ms as ISO 8601 / RFC 3339 local time with its offset, "2028-06-01T02:00:19-04:00"
 * (at least 26 bytes; "+00:00" for UTC), which spreadsheets, pandas, kepler.gl and
 * QGIS read as an instant. Returns @buf.
 */
char *fs_timezone_format_iso(const struct fs_timezone *tz, int64_t t_ms, char *buf, size_t size);
/**
 * A time axis over [@t0_ms, @t1_ms] on round local times of @tz's clock: the
 * shortest step of 1, 2, 5, 10, 15, 30 s or min, 1, 2, 3, 6, 12 h, 1, 2, 7 d
 * (then whole weeks) that is at least @min_step_ms and puts at most @max ticks
 * in the span. The ticks are @ret_first_local_ms + k * step (k = 0, 1, ... while
 * at most fs_timezone_local_ms(@tz, @t1_ms)), in local Unix-style ms: read
 * each back with fs_timezone_utc_ms(). Returns the step in ms; @max >= 1.
 */
int64_t fs_timezone_axis_step(const struct fs_timezone *tz, int64_t t0_ms, int64_t t1_ms, int64_t min_step_ms,
			      int max, int64_t *ret_first_local_ms);

#endif
