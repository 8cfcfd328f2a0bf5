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
	int64_t step = rec_report_time_step(at("2028-06-01T12:00:00Z"), at("2028-06-01T13:59:59Z"), 9, &first);
	assert_int_equal(step, 15 * 60000);
	assert_int_equal(first, at("2028-06-01T12:00:00Z"));
	/* a recording that starts at 12:14:59 ticks from 12:15, not at 12:14:59 */
	step = rec_report_time_step(at("2028-06-01T12:14:59Z"), at("2028-06-01T14:14:59Z"), 5, &first);
	assert_int_equal(step, 30 * 60000);
	assert_int_equal(first, at("2028-06-01T12:30:00Z"));
	/* a day: every 6 hours from midnight; a minute: every 10 s */
	step = rec_report_time_step(at("2028-06-01T00:00:00Z"), at("2028-06-02T00:00:00Z"), 6, &first);
	assert_int_equal(step, 6 * 3600000);
	step = rec_report_time_step(at("2028-06-01T08:00:03Z"), at("2028-06-01T08:01:03Z"), 8, &first);
	assert_int_equal(step, 10000);
	assert_int_equal(first, at("2028-06-01T08:00:10Z"));
	/* a year: whole weeks */
	step = rec_report_time_step(at("2028-01-01T00:00:00Z"), at("2029-01-01T00:00:00Z"), 6, &first);
	assert_int_equal(step % (7 * 86400000LL), 0);
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
		cmocka_unit_test(legend_names_are_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
