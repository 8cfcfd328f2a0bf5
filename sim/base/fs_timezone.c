/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_timezone - the UTC offset of a city at any instant, from a table of
 * transitions and a POSIX rule (read from a TZif file by loaders/).
 *
 * Why our own reader and not localtime_r(): the C library takes the zone from
 * the process's TZ variable, a process-wide setting that would have to be
 * switched per city and is not thread-safe to change, and its answer would
 * depend on the environment a service was started in. sim/ takes everything
 * as arguments, so the zone is read once into a table (by
 * loaders/fs_timezone_tzif.c) and every later question is a pure lookup (fs_timezone_offset_s()).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/timezone.h"

void fs_timezone_fixed(struct fs_timezone *tz, int32_t offset_s)
{
	*tz = (struct fs_timezone){ .initial_offset_s = offset_s };
}

void fs_timezone_finish(struct fs_timezone *tz)
{
	if (!tz) {
		return;
	}
	fs_free(tz->at_s);
	fs_free(tz->offset_s);
	*tz = (struct fs_timezone){ 0 };
}

int fs_timezone_copy(struct fs_timezone *dst, const struct fs_timezone *src)
{
	struct fs_timezone t = *src;
	t.at_s = NULL;
	t.offset_s = NULL;
	if (src->count) {
		t.at_s = fs_malloc(src->count * sizeof(*t.at_s));
		t.offset_s = fs_malloc(src->count * sizeof(*t.offset_s));
		if (!t.at_s || !t.offset_s) {
			fs_timezone_finish(&t);
			return -ENOMEM;
		}
		memcpy(t.at_s, src->at_s, src->count * sizeof(*t.at_s));
		memcpy(t.offset_s, src->offset_s, src->count * sizeof(*t.offset_s));
	}
	*dst = t;
	return 0;
}

static bool date_equal(const struct fs_tz_date *a, const struct fs_tz_date *b)
{
	return a->kind == b->kind && a->day == b->day && a->month == b->month && a->week == b->week &&
	       a->weekday == b->weekday && a->time_s == b->time_s;
}

bool fs_timezone_equal(const struct fs_timezone *a, const struct fs_timezone *b)
{
	if (strcmp(a->name, b->name) || a->initial_offset_s != b->initial_offset_s || a->count != b->count ||
	    a->has_rule != b->has_rule) {
		return false;
	}
	if (a->count && (memcmp(a->at_s, b->at_s, a->count * sizeof(*a->at_s)) ||
			 memcmp(a->offset_s, b->offset_s, a->count * sizeof(*a->offset_s)))) {
		return false;
	}
	const struct fs_tz_rule *r = &a->rule, *s = &b->rule;
	return !a->has_rule || (r->std_offset_s == s->std_offset_s && r->dst_offset_s == s->dst_offset_s &&
				r->has_dst == s->has_dst && date_equal(&r->start, &s->start) &&
				date_equal(&r->end, &s->end));
}

/* ---- lookup ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* a + b, held at the ends of int64_t: instants near them come from broken input, not from runs */
static int64_t add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b) {
		return INT64_MAX;
	}
	if (b < 0 && a < INT64_MIN - b) {
		return INT64_MIN;
	}
	return a + b;
}

/* Days since 1970-01-01 of the day @d names in @year. */
static int64_t rule_day(const struct fs_tz_date *d, int year)
{
	int64_t jan1 = fs_calendar_days_from_civil(year, 1, 1);
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	switch (d->kind) {
	case 'J': /* 1..365, February 29 never counted: day 60 is always March 1 */
		return jan1 + d->day - 1 + (leap && d->day >= 60);
	case 'D':
		return jan1 + d->day;
	default: { /* 'M': weekday of week 1..5 of month; 5 = the last */
		int64_t first = fs_calendar_days_from_civil(year, d->month, 1);
		int64_t next = d->month == 12 ? fs_calendar_days_from_civil(year + 1, 1, 1)
					      : fs_calendar_days_from_civil(year, d->month + 1, 1);
		int first_wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
		int64_t day = first + (d->weekday - first_wd + 7) % 7 + 7 * (d->week - 1);
		while (day >= next) {
			day -= 7;
		}
		return day;
	}
	}
}

/* The offset the footer's rule gives at @t_s (Unix seconds). */
static int32_t rule_offset(const struct fs_tz_rule *r, int64_t t_s)
{
	if (!r->has_dst) {
		return r->std_offset_s;
	}
	/* the year of local standard time; beyond +-31 million years the year is held (no overflow) */
	const int64_t limit_s = INT64_C(1000000000000000);
	int64_t local_s = t_s + r->std_offset_s;
	struct fs_civil_time c;
	fs_calendar_from_ms((local_s < -limit_s ? -limit_s : local_s > limit_s ? limit_s : local_s) * 1000, &c);
	/* daylight time starts at a local standard time and ends at a local daylight time */
	int64_t start = rule_day(&r->start, c.year) * 86400 + r->start.time_s - r->std_offset_s;
	int64_t end = rule_day(&r->end, c.year) * 86400 + r->end.time_s - r->dst_offset_s;
	bool dst = start < end ? t_s >= start && t_s < end   /* northern: within the year */
			       : !(t_s >= end && t_s < start); /* southern: across new year */
	return dst ? r->dst_offset_s : r->std_offset_s;
}

int32_t fs_timezone_offset_s(const struct fs_timezone *tz, int64_t t_ms)
{
	if (!tz) {
		return 0;
	}
	int64_t t = floor_div(t_ms, 1000);
	if (!tz->count) {
		return tz->has_rule ? rule_offset(&tz->rule, t) : tz->initial_offset_s;
	}
	if (t < tz->at_s[0]) {
		return tz->initial_offset_s;
	}
	if (tz->has_rule && t >= tz->at_s[tz->count - 1]) {
		return rule_offset(&tz->rule, t);
	}
	size_t lo = 0, hi = tz->count - 1; /* the last transition at or before t */
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		if (tz->at_s[mid] <= t) {
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	return tz->offset_s[lo];
}

int64_t fs_timezone_local_ms(const struct fs_timezone *tz, int64_t t_ms)
{
	return add_sat(t_ms, (int64_t)fs_timezone_offset_s(tz, t_ms) * 1000);
}

int64_t fs_timezone_utc_ms(const struct fs_timezone *tz, int64_t local_ms)
{
	/* Offsets change by less than a day: the offset a day earlier or later brackets the
	 * answer. Try the earlier one first, so a repeated hour gives its first instant. */
	int32_t before = fs_timezone_offset_s(tz, add_sat(local_ms, -86400000));
	int32_t after = fs_timezone_offset_s(tz, add_sat(local_ms, 86400000));
	int64_t t = add_sat(local_ms, -(int64_t)before * 1000);
	if (fs_timezone_offset_s(tz, t) == before) {
		return t;
	}
	t = add_sat(local_ms, -(int64_t)after * 1000);
	if (fs_timezone_offset_s(tz, t) == after) {
		return t;
	}
	return add_sat(local_ms, -(int64_t)before * 1000); /* the skipped hour */
}

/* The first multiple of @step at or after @t (negative times too). */
static int64_t ceil_to(int64_t t, int64_t step)
{
	return -floor_div(-t, step) * step;
}

void fs_timezone_describe(const struct fs_timezone *tz, int64_t t_ms, char *buf, size_t size)
{
	int32_t off = fs_timezone_offset_s(tz, t_ms);
	int32_t a = off < 0 ? -off : off;
	char hm[16] = "";
	if (off) {
		snprintf(hm, sizeof(hm), a % 3600 ? "%c%d:%02d" : "%c%d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
	}
	const char *name = tz && tz->name[0] ? tz->name : "";
	snprintf(buf, size, "UTC%s%s%s", hm, name[0] ? " " : "", name);
}

char *fs_timezone_format_iso(const struct fs_timezone *tz, int64_t t_ms, char *buf, size_t size)
{
	int32_t off = fs_timezone_offset_s(tz, t_ms);
	int32_t a = off < 0 ? -off : off;
	struct fs_civil_time c;
	fs_calendar_from_ms(add_sat(t_ms, (int64_t)off * 1000), &c);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year, c.month, c.day, c.hour, c.minute,
		 c.second, off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
	return buf;
}

int64_t fs_timezone_axis_step(const struct fs_timezone *tz, int64_t t0_ms, int64_t t1_ms, int64_t min_step_ms,
			      int max, int64_t *ret_first_local_ms)
{
	static const int64_t steps_s[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
					   21600, 43200, 86400, 172800, 604800 };
	const int64_t week = 604800000;
	int64_t local0 = fs_timezone_local_ms(tz, t0_ms), local1 = fs_timezone_local_ms(tz, t1_ms);
	if (local1 < local0) {
		local1 = local0;
	}
	if (max < 1) {
		max = 1;
	}
	int64_t step = 0;
	for (size_t i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]) && !step; i++) {
		int64_t s = steps_s[i] * 1000;
		if (s >= min_step_ms && (local1 - ceil_to(local0, s)) / s + 1 <= max) {
			step = s;
		}
	}
	if (!step) { /* whole weeks, as many as keep the ticks to max */
		step = ((local1 - local0) / max / week + 1) * week;
		if (step < min_step_ms) {
			step = (min_step_ms + week - 1) / week * week;
		}
	}
	*ret_first_local_ms = ceil_to(local0, step);
	return step;
}
