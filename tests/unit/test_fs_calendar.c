/* SPDX-License-Identifier: Apache-2.0 */
/* Calendar conversions: the rollout spans years, so leap days and month ends matter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fs/calendar.h"

static void parses_iso_forms(void **state)
{
	int64_t ms = 0;
	assert_int_equal(fs_calendar_parse("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(fs_calendar_parse("2027-01-01", &ms), 0);
	assert_int_equal(ms, 1798761600000LL);
	assert_int_equal(fs_calendar_parse("2027-01", &ms), 0);
	assert_int_equal(ms, 1798761600000LL);
	assert_int_equal(fs_calendar_parse("2028-02-29T06:30", &ms), 0);
	assert_int_equal(ms, 1835418600000LL);
	assert_int_equal(fs_calendar_parse("2028-02-29 06:30:15", &ms), 0);
	assert_int_equal(ms, 1835418615000LL);
}

static void rejects_bad_dates_without_touching_output(void **state)
{
	int64_t ms = 42;
	const char *bad[] = { "", "2027", "2027-13", "2027-02-29", "2027-01-01T24:00", "2027-1-1",
			      "2027-01-01T06:00:00+01", "tomorrow", "2027-04-31" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fs_calendar_parse(bad[i], &ms), -EINVAL);
	}
	assert_int_equal(fs_calendar_parse(NULL, &ms), -EINVAL);
	assert_int_equal(ms, 42);
}

static void round_trips_every_day_for_a_decade(void **state)
{
	int64_t start = 0, end = 0;
	assert_int_equal(fs_calendar_parse("2026-01-01", &start), 0);
	assert_int_equal(fs_calendar_parse("2036-01-01", &end), 0);
	char buf[32];
	for (int64_t ms = start + 3723000; ms < end; ms += 86400000LL) {
		int64_t back = -1;
		fs_calendar_format(ms, buf, sizeof(buf));
		assert_int_equal(fs_calendar_parse(buf, &back), 0);
		assert_int_equal(back, ms);
	}
	assert_int_equal(end - start, 3652LL * 86400000LL); /* 2026..2035 holds two leap days */
}

static void breaks_down_fields(void **state)
{
	struct fs_civil_time t;
	int64_t ms = 0;
	assert_int_equal(fs_calendar_parse("2027-06-15T18:05:09Z", &ms), 0);
	fs_calendar_from_ms(ms, &t);
	assert_int_equal(t.year, 2027);
	assert_int_equal(t.month, 6);
	assert_int_equal(t.day, 15);
	assert_int_equal(t.hour, 18);
	assert_int_equal(t.minute, 5);
	assert_int_equal(t.second, 9);
	assert_int_equal(t.weekday, 2); /* a Tuesday */
	assert_int_equal(fs_calendar_second_of_day(ms), 18 * 3600 + 5 * 60 + 9);
	fs_calendar_from_ms(-1, &t); /* one ms before the epoch */
	assert_int_equal(t.year, 1969);
	assert_int_equal(t.hour, 23);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_iso_forms),
		cmocka_unit_test(rejects_bad_dates_without_touching_output),
		cmocka_unit_test(round_trips_every_day_for_a_decade),
		cmocka_unit_test(breaks_down_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
