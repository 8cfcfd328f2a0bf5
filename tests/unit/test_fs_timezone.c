/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Time zones from the system tz database: New York's 2028 daylight-saving
 * changes to the second, the rule after the file's last transition (both
 * hemispheres), agreement with the C library over 1970-2100 in zones with
 * odd rules, slim and version-1 files, and every way a zone can be wrong.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "fs/calendar.h"
#include "fs/timezone.h"
#include "fs/timezone_load.h"

static int64_t ms(const char *utc)
{
	int64_t t;
	assert_int_equal(fs_calendar_parse(utc, &t), 0);
	return t;
}

static void load(const char *name, struct fs_timezone *tz)
{
	struct fs_error err = { "" };
	if (fs_timezone_load(FS_TZ_DIR, name, tz, &err)) {
		fail_msg("%s (is tzdata installed? scripts/deps)", err.message);
	}
}

static void new_york_2028(void **state)
{
	struct fs_timezone tz;
	load("America/New_York", &tz);
	assert_string_equal(tz.name, "America/New_York");
	/* daylight time starts Sunday 2028-03-12 at 02:00 EST = 07:00 UTC */
	assert_int_equal(fs_timezone_offset_s(&tz, ms("2028-03-12T06:59:59Z")), -5 * 3600);
	assert_int_equal(fs_timezone_offset_s(&tz, ms("2028-03-12T07:00:00Z")), -4 * 3600);
	/* and ends Sunday 2028-11-05 at 02:00 EDT = 06:00 UTC */
	assert_int_equal(fs_timezone_offset_s(&tz, ms("2028-11-05T05:59:59Z")), -4 * 3600);
	assert_int_equal(fs_timezone_offset_s(&tz, ms("2028-11-05T06:00:00Z")), -5 * 3600);
	/* the default run's start: 12:00 UTC on 1 June is 08:00 in Atlanta, not 07:00 */
	assert_int_equal(fs_calendar_second_of_day(fs_timezone_local_ms(&tz, ms("2028-06-01T12:00:00Z"))) / 3600, 8);
	assert_int_equal(fs_calendar_second_of_day(fs_timezone_local_ms(&tz, ms("2028-01-15T12:00:00Z"))) / 3600, 7);
	/* before 1883 New York kept local mean time (-4:56:02) */
	assert_int_equal(fs_timezone_offset_s(&tz, ms("1850-06-01T00:00:00Z")), -(4 * 3600 + 56 * 60 + 2));
	fs_timezone_finish(&tz);
}

/* What exports write: an instant readers parse back, and the clock named as people say it. */
static void local_time_as_written(void **state)
{
	struct fs_timezone tz;
	load("America/New_York", &tz);
	char buf[40];
	assert_string_equal(fs_timezone_format_iso(&tz, ms("2028-06-01T06:00:19Z"), buf, sizeof(buf)),
			    "2028-06-01T02:00:19-04:00");
	assert_string_equal(fs_timezone_format_iso(&tz, ms("2028-01-01T00:00:00Z"), buf, sizeof(buf)),
			    "2027-12-31T19:00:00-05:00");
	fs_timezone_describe(&tz, ms("2028-01-01T00:00:00Z"), buf, sizeof(buf));
	assert_string_equal(buf, "UTC-5 America/New_York");
	fs_timezone_finish(&tz);
	assert_string_equal(fs_timezone_format_iso(NULL, ms("2028-06-01T06:00:19Z"), buf, sizeof(buf)),
			    "2028-06-01T06:00:19+00:00");
	fs_timezone_describe(NULL, 0, buf, sizeof(buf));
	assert_string_equal(buf, "UTC");
	fs_timezone_fixed(&tz, 19800); /* India */
	assert_string_equal(fs_timezone_format_iso(&tz, ms("2028-06-01T06:00:19Z"), buf, sizeof(buf)),
			    "2028-06-01T11:30:19+05:30");
	fs_timezone_describe(&tz, 0, buf, sizeof(buf));
	assert_string_equal(buf, "UTC+5:30");
	fs_timezone_fixed(&tz, -(3 * 3600 + 30 * 60)); /* Newfoundland standard time */
	assert_string_equal(fs_timezone_format_iso(&tz, ms("2028-01-01T00:00:00Z"), buf, sizeof(buf)),
			    "2027-12-31T20:30:00-03:30");
}

/* Past the file's last transition the footer's rule decides, every year on. */
static void rule_after_the_table(void **state)
{
	struct fs_timezone ny, syd;
	load("America/New_York", &ny);
	load("Australia/Sydney", &syd);
	assert_true(ny.has_rule && ny.rule.has_dst);
	assert_int_equal(ny.rule.std_offset_s, -5 * 3600);
	assert_int_equal(ny.rule.dst_offset_s, -4 * 3600);
	assert_int_equal(fs_timezone_offset_s(&ny, ms("2099-07-01T00:00:00Z")), -4 * 3600);
	assert_int_equal(fs_timezone_offset_s(&ny, ms("2099-12-01T00:00:00Z")), -5 * 3600);
	assert_int_equal(fs_timezone_offset_s(&ny, ms("2099-03-08T06:59:59Z")), -5 * 3600); /* 2nd Sunday of March */
	assert_int_equal(fs_timezone_offset_s(&ny, ms("2099-03-08T07:00:00Z")), -4 * 3600);
	/* southern hemisphere: daylight time spans the new year */
	assert_int_equal(fs_timezone_offset_s(&syd, ms("2099-01-01T00:00:00Z")), 11 * 3600);
	assert_int_equal(fs_timezone_offset_s(&syd, ms("2099-07-01T00:00:00Z")), 10 * 3600);
	assert_int_equal(fs_timezone_offset_s(&syd, ms("2028-04-01T15:59:59Z")), 11 * 3600);
	assert_int_equal(fs_timezone_offset_s(&syd, ms("2028-04-01T16:00:00Z")), 10 * 3600);
	assert_int_equal(fs_timezone_offset_s(&syd, ms("2028-09-30T15:59:59Z")), 10 * 3600);
	assert_int_equal(fs_timezone_offset_s(&syd, ms("2028-09-30T16:00:00Z")), 11 * 3600);
	/* a milliseconds before the change still counts as before it */
	assert_int_equal(fs_timezone_offset_s(&ny, ms("2028-03-12T07:00:00Z") - 1), -5 * 3600);
	fs_timezone_finish(&ny);
	fs_timezone_finish(&syd);
}

/* Wall-clock time back to UTC: a repeated hour gives its first instant, a skipped one the old offset. */
static void wall_clock_to_utc(void **state)
{
	struct fs_timezone tz;
	load("America/New_York", &tz);
	assert_int_equal(fs_timezone_utc_ms(&tz, ms("2028-06-01T08:00:00Z")), ms("2028-06-01T12:00:00Z"));
	assert_int_equal(fs_timezone_utc_ms(&tz, ms("2028-01-15T07:00:00Z")), ms("2028-01-15T12:00:00Z"));
	/* 01:30 on 5 November happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST) */
	assert_int_equal(fs_timezone_utc_ms(&tz, ms("2028-11-05T01:30:00Z")), ms("2028-11-05T05:30:00Z"));
	/* 02:30 on 12 March never happens: read on EST, 07:30 UTC */
	assert_int_equal(fs_timezone_utc_ms(&tz, ms("2028-03-12T02:30:00Z")), ms("2028-03-12T07:30:00Z"));
	assert_int_equal(fs_timezone_utc_ms(&tz, ms("2028-03-12T03:00:00Z")), ms("2028-03-12T07:00:00Z"));
	assert_int_equal(fs_timezone_utc_ms(&tz, ms("2028-03-12T01:59:59Z")), ms("2028-03-12T06:59:59Z"));
	assert_int_equal(fs_timezone_utc_ms(NULL, 12345), 12345);
	/* round trip over a year, hour by hour, away from the repeated hour */
	for (int64_t t = ms("2028-01-01T00:00:00Z"); t < ms("2029-01-01T00:00:00Z"); t += 3600000) {
		int64_t local = fs_timezone_local_ms(&tz, t);
		if (fs_timezone_utc_ms(&tz, local) != t) {
			assert_int_equal(t, ms("2028-11-05T06:00:00Z")); /* 01:00 EST, the second 01:00 */
		}
	}
	fs_timezone_finish(&tz);
}

/* The C library's own answer (glibc reads the same files) at @t seconds in zone @name. */
static long libc_offset(const char *name, time_t t)
{
	struct tm tm;
	setenv("TZ", name, 1);
	tzset();
	assert_non_null(localtime_r(&t, &tm));
	return tm.tm_gmtoff;
}

static void agrees_with_the_c_library(void **state)
{
	/* DST across new year, half-hour DST, a 45-minute offset, a zone on UTC with
	 * summer time, one that moved across the date line, and Atlanta's */
	static const char *const zones[] = { "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
					     "Pacific/Chatham", "Europe/London", "Pacific/Apia",
					     "America/Santiago", "Asia/Kolkata" };
	const char *saved = getenv("TZ");
	char *keep = saved ? strdup(saved) : NULL;
	uint64_t x = 88172645463325252ULL;
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct fs_timezone tz;
		load(zones[z], &tz);
		for (int i = 0; i < 4000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			int64_t t = (int64_t)(x % (uint64_t)(4102444800LL)); /* 1970 .. 2100 */
			long want = libc_offset(zones[z], (time_t)t);
			int32_t got = fs_timezone_offset_s(&tz, t * 1000);
			if (got != want) {
				fail_msg("%s at %lld: %d, the C library says %ld", zones[z], (long long)t, got, want);
			}
		}
		fs_timezone_finish(&tz);
	}
	if (keep) {
		setenv("TZ", keep, 1);
		free(keep);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

/* ---- synthetic files ---- */

static size_t put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

/* A TZif file of @version (1 or 2) with @n transitions to types @idx of offsets @off[@types]. */
static size_t tzif(uint8_t *buf, int version, const int64_t *at, const uint8_t *idx, size_t n, const int32_t *off,
		   size_t types, const char *footer)
{
	size_t len = 0;
	for (int pass = 0; pass < (version >= 2 ? 2 : 1); pass++) {
		size_t tsize = pass ? 8 : 4;
		memcpy(buf + len, "TZif", 4);
		buf[len + 4] = version >= 2 ? (uint8_t)('0' + version) : 0;
		memset(buf + len + 5, 0, 15);
		len += 20;
		len += put32(buf + len, 0);                 /* isut */
		len += put32(buf + len, 0);                 /* isstd */
		len += put32(buf + len, 0);                 /* leap */
		len += put32(buf + len, (uint32_t)n);       /* times */
		len += put32(buf + len, (uint32_t)types);   /* types */
		len += put32(buf + len, 4);                 /* chars */
		for (size_t i = 0; i < n; i++) {
			if (tsize == 8) {
				len += put32(buf + len, (uint32_t)((uint64_t)at[i] >> 32));
			}
			len += put32(buf + len, (uint32_t)at[i]);
		}
		if (n) {
			memcpy(buf + len, idx, n);
		}
		len += n;
		for (size_t k = 0; k < types; k++) {
			len += put32(buf + len, (uint32_t)off[k]);
			buf[len++] = 0;
			buf[len++] = 0;
		}
		memcpy(buf + len, "ABC", 4);
		len += 4;
	}
	if (version >= 2) {
		len += (size_t)sprintf((char *)buf + len, "\n%s\n", footer);
	}
	return len;
}

static void slim_and_version_one_files(void **state)
{
	uint8_t buf[1024];
	struct fs_timezone tz;
	struct fs_error err = { "" };
	/* slim: no transition at all, only the rule */
	int32_t est = -5 * 3600;
	size_t len = tzif(buf, 2, NULL, NULL, 0, &est, 1, "EST5EDT,M3.2.0,M11.1.0");
	assert_int_equal(fs_timezone_parse_tzif(buf, len, "Slim/NY", &tz, &err), 0);
	assert_int_equal(fs_timezone_offset_s(&tz, ms("2028-03-12T06:59:59Z")), -5 * 3600);
	assert_int_equal(fs_timezone_offset_s(&tz, ms("2028-03-12T07:00:00Z")), -4 * 3600);
	assert_int_equal(fs_timezone_offset_s(&tz, ms("2028-11-05T06:00:00Z")), -5 * 3600);
	struct fs_timezone copy;
	assert_int_equal(fs_timezone_copy(&copy, &tz), 0);
	assert_true(fs_timezone_equal(&copy, &tz));
	fs_timezone_finish(&copy);
	fs_timezone_finish(&tz);
	/* version 1: 32-bit times, no footer; repeated offsets are merged */
	int64_t at[3] = { 1000, 2000, 3000 };
	uint8_t idx[3] = { 1, 2, 0 };
	int32_t off[3] = { 3600, 7200, 7200 };
	len = tzif(buf, 1, at, idx, 3, off, 3, "");
	assert_int_equal(fs_timezone_parse_tzif(buf, len, "Old/One", &tz, &err), 0);
	assert_int_equal(tz.count, 2);
	assert_false(tz.has_rule);
	assert_int_equal(fs_timezone_offset_s(&tz, 999 * 1000), 3600);
	assert_int_equal(fs_timezone_offset_s(&tz, 1000 * 1000), 7200);
	assert_int_equal(fs_timezone_offset_s(&tz, 2500 * 1000), 7200);
	assert_int_equal(fs_timezone_offset_s(&tz, 3000 * 1000), 3600);
	assert_int_equal(fs_timezone_offset_s(&tz, INT64_C(4000000000000)), 3600);
	fs_timezone_finish(&tz);
	/* a fixed zone and no zone */
	fs_timezone_fixed(&tz, 5 * 3600 + 1800);
	assert_int_equal(fs_timezone_offset_s(&tz, ms("2028-06-01T00:00:00Z")), 19800);
	assert_int_equal(fs_timezone_local_ms(&tz, 0), 19800 * 1000);
	assert_int_equal(fs_timezone_offset_s(NULL, 12345), 0);
	fs_timezone_finish(&tz);
	fs_timezone_finish(NULL);
}

static void expect(int want, const char *what, int rc, const struct fs_error *err)
{
	if (rc != want || !strstr(err->message, what)) {
		fail_msg("expected %d '%s', got %d '%s'", want, what, rc, err->message);
	}
}

static void bad_zones(void **state)
{
	struct fs_timezone tz = { .name = "untouched" };
	struct fs_error err = { "" };
	expect(-ENOENT, "unknown time zone 'America/Atlantis'",
	       fs_timezone_load(FS_TZ_DIR, "America/Atlantis", &tz, &err), &err);
	expect(-ENOENT, "tzdata", fs_timezone_load(FS_TZ_DIR, "America/Atlantis", &tz, &err), &err);
	static const char *const names[] = { "", "/etc/passwd", "../../etc/passwd", "America/../../etc/passwd",
					     "America//New_York", "America/New_York/", ".hidden", "UTC 5", "-x" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		expect(-EINVAL, "is not a time zone name", fs_timezone_load(FS_TZ_DIR, names[i], &tz, &err), &err);
	}
	assert_string_equal(tz.name, "untouched"); /* nothing written on failure */

	uint8_t buf[1024];
	expect(-EINVAL, "not a TZif file", fs_timezone_parse_tzif((const uint8_t *)"hello", 5, "X", &tz, &err), &err);
	int32_t est = -5 * 3600;
	size_t len = tzif(buf, 2, NULL, NULL, 0, &est, 1, "EST5EDT,M3.2.0,M11.1.0");
	expect(-EINVAL, "no TZ string", fs_timezone_parse_tzif(buf, len - 1, "X", &tz, &err), &err);
	expect(-EINVAL, "truncated", fs_timezone_parse_tzif(buf, 60, "X", &tz, &err), &err);
	static const char *const rules[] = { "EST", "EST5EDT", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0",
					     "EST5EDT,M3.6.0,M11.1.0", "EST5EDT,J366,J300", "EST5EDT,M3.2.0/200,M11.1.0",
					     "E5", "<+03-3", "EST5EDT,M3.2.0,M11.1.0x" };
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		len = tzif(buf, 2, NULL, NULL, 0, &est, 1, rules[i]);
		expect(-EINVAL, "cannot read the rule", fs_timezone_parse_tzif(buf, len, "X", &tz, &err), &err);
	}
	int64_t at[2] = { 2000, 1000 };
	uint8_t idx[2] = { 0, 0 };
	len = tzif(buf, 1, at, idx, 2, &est, 1, "");
	expect(-EINVAL, "ascending", fs_timezone_parse_tzif(buf, len, "X", &tz, &err), &err);
	idx[1] = 3;
	at[1] = 3000;
	len = tzif(buf, 1, at, idx, 2, &est, 1, "");
	expect(-EINVAL, "type that is not there", fs_timezone_parse_tzif(buf, len, "X", &tz, &err), &err);
	int32_t huge = 30 * 3600;
	len = tzif(buf, 1, NULL, NULL, 0, &huge, 1, "");
	expect(-EINVAL, "out of range", fs_timezone_parse_tzif(buf, len, "X", &tz, &err), &err);
	/* fixed-offset zones the tz database writes with <...> names parse */
	len = tzif(buf, 2, NULL, NULL, 0, &est, 1, "<-03>3");
	assert_int_equal(fs_timezone_parse_tzif(buf, len, "X", &tz, &err), 0);
	assert_int_equal(fs_timezone_offset_s(&tz, 0), -3 * 3600);
	fs_timezone_finish(&tz);
	/* zones counted with leap seconds are refused */
	if (fs_timezone_load(FS_TZ_DIR, "right/America/New_York", &tz, &err) != -ENOENT) {
		expect(-EINVAL, "leap seconds", fs_timezone_load(FS_TZ_DIR, "right/America/New_York", &tz, &err), &err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_york_2028),
		cmocka_unit_test(rule_after_the_table),
		cmocka_unit_test(local_time_as_written),
		cmocka_unit_test(wall_clock_to_utc),
		cmocka_unit_test(agrees_with_the_c_library),
		cmocka_unit_test(slim_and_version_one_files),
		cmocka_unit_test(bad_zones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
