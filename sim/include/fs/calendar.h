/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/calendar.h - simulated calendar time (UTC, proleptic Gregorian).
 *
 * Simulated time is Unix milliseconds in UTC. These are pure conversions: the
 * simulation never reads a wall clock, it is told the start date-time.
 */
#ifndef FS_CALENDAR_H
#define FS_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

struct fs_civil_time {
	int year;
	int month;  /* 1..12 */
	int day;    /* 1..31 */
	int hour;   /* 0..23 */
	int minute; /* 0..59 */
	int second; /* 0..59 */
	int weekday; /* 0 = Sunday; filled by fs_calendar_from_ms() */
};

/** Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
int64_t fs_calendar_days_from_civil(int year, int month, int day);

/**
 * Parse "YYYY-MM", "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS][Z]" (also with a space
 * instead of 'T') into Unix ms UTC. Returns 0 or -EINVAL; @ret_ms untouched on error.
 */
int fs_calendar_parse(const char *text, int64_t *ret_ms);

/** Break @ms (Unix ms UTC) into civil fields. */
void fs_calendar_from_ms(int64_t ms, struct fs_civil_time *ret);

/** Write "YYYY-MM-DDTHH:MM:SSZ" into @buf (at least 21 bytes). Returns @buf. */
char *fs_calendar_format(int64_t ms, char *buf, size_t size);

/** Seconds since local midnight of @ms (UTC-based day). */
int fs_calendar_second_of_day(int64_t ms);

#endif
