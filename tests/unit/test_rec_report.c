/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.png's axes and legend (rec_report.c, the parts that are not drawing):
 * time ticks fall on round times whatever the span starts on, and dispatch's
 * KPI names read as words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fs/calendar.h"
#include "fs/timezone.h"
#include "fs/timezone_load.h"
#include "rec_export.h"

static int64_t at(const char *when)
{
	int64_t ms = 0;
	assert_int_equal(fs_calendar_parse(when, &ms), 0);
	return ms;
}

static void ticks_fall_on_round_times(void **state)
{
	int64_t first;
	/* two hours from 12:00:00 to 13:59:59 with room for 9 ticks: every 15 minutes from 12:00 */
	int64_t step = fs_timezone_axis_step(NULL, at("2028-06-01T12:00:00Z"), at("2028-06-01T13:59:59Z"), 1000, 9, &first);
	assert_int_equal(step, 15 * 60000);
	assert_int_equal(first, at("2028-06-01T12:00:00Z"));
	/* a recording that starts at 12:14:59 ticks from 12:15, not at 12:14:59 */
	step = fs_timezone_axis_step(NULL, at("2028-06-01T12:14:59Z"), at("2028-06-01T14:14:59Z"), 1000, 5, &first);
	assert_int_equal(step, 30 * 60000);
	assert_int_equal(first, at("2028-06-01T12:30:00Z"));
	/* a day: every 6 hours from midnight; a minute: every 10 s */
	step = fs_timezone_axis_step(NULL, at("2028-06-01T00:00:00Z"), at("2028-06-02T00:00:00Z"), 1000, 6, &first);
	assert_int_equal(step, 6 * 3600000);
	step = fs_timezone_axis_step(NULL, at("2028-06-01T08:00:03Z"), at("2028-06-01T08:01:03Z"), 1000, 8, &first);
	assert_int_equal(step, 10000);
	assert_int_equal(first, at("2028-06-01T08:00:10Z"));
	/* a year: whole weeks */
	step = fs_timezone_axis_step(NULL, at("2028-01-01T00:00:00Z"), at("2029-01-01T00:00:00Z"), 1000, 6, &first);
	assert_int_equal(step % (7 * 86400000LL), 0);
}

/* The axis speaks the city's clock: round local times, labelled as a local reader reads them. */
static void ticks_fall_on_round_local_times(void **state)
{
	(void)state;
	struct fs_timezone ny;
	struct fs_error err = { "" };
	assert_int_equal(fs_timezone_load(FS_TZ_DIR, "America/New_York", &ny, &err), 0);
	/* 12:14:59 to 14:14:59 daylight time (UTC-4): ticks at 12:30, 13:00, ... local */
	int64_t first, step = fs_timezone_axis_step(&ny, at("2028-06-01T16:14:59Z"), at("2028-06-01T18:14:59Z"), 1000, 5,
						    &first);
	assert_int_equal(step, 30 * 60000);
	assert_int_equal(fs_timezone_utc_ms(&ny, first), at("2028-06-01T16:30:00Z"));
	char label[32];
	rec_report_tick_label(&ny, fs_timezone_utc_ms(&ny, first), step, label, sizeof(label));
	assert_string_equal(label, "12:30");
	rec_report_tick_label(&ny, at("2028-06-01T16:30:15Z"), 15000, label, sizeof(label));
	assert_string_equal(label, "12:30:15");
	rec_report_tick_label(&ny, at("2028-06-02T04:00:00Z"), 86400000, label, sizeof(label));
	assert_string_equal(label, "2028-06-02"); /* midnight in New York */
	/* across the change to daylight time (2028-03-12, 02:00 EST): every 3 h of local time, so the
	 * ticks 00:00 and 03:00 local are 2 h apart in UTC */
	step = fs_timezone_axis_step(&ny, at("2028-03-12T05:00:00Z"), at("2028-03-12T16:00:00Z"), 1000, 5, &first);
	assert_int_equal(step, 3 * 3600000);
	assert_int_equal(fs_timezone_utc_ms(&ny, first), at("2028-03-12T05:00:00Z"));
	assert_int_equal(fs_timezone_utc_ms(&ny, first + step), at("2028-03-12T07:00:00Z"));
	rec_report_tick_label(&ny, at("2028-03-12T07:00:00Z"), step, label, sizeof(label));
	assert_string_equal(label, "03:00");
	fs_timezone_finish(&ny);
}

static void legend_names_are_words(void **state)
{
	assert_string_equal(rec_report_kpi_label("wait.p50_s"), "median wait");
	assert_string_equal(rec_report_kpi_label("wait.p90_s"), "90th percentile wait");
	assert_string_equal(rec_report_kpi_label("wait.mean_s"), "mean wait");
	assert_string_equal(rec_report_kpi_label("fleet.size"), "fleet.size"); /* unknown: as published */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ticks_fall_on_round_times),
		cmocka_unit_test(ticks_fall_on_round_local_times),
		cmocka_unit_test(legend_names_are_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
