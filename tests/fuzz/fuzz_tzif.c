/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_tzif - a time zone file (TZif, the system tz database's format) from
 * any bytes: fs_timezone_parse_tzif() either gives a zone whose transitions
 * ascend and whose every answer, before, between and after them (the footer's
 * rule), is an offset within 26 hours, or an error naming the zone.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/timezone.h"
#include "fs/timezone_load.h"
#include "fuzz_util.h"

#define MAX_OFFSET_S (26 * 3600)

static void check_offset(const struct fs_timezone *tz, int64_t t_s)
{
	if (t_s < -INT64_MAX / 1000 || t_s > INT64_MAX / 1000) {
		t_s = t_s < 0 ? -INT64_MAX / 1000 : INT64_MAX / 1000; /* transitions may lie anywhere in int64 */
	}
	int32_t off = fs_timezone_offset_s(tz, t_s * 1000);
	if (off <= -MAX_OFFSET_S || off >= MAX_OFFSET_S) {
		fprintf(stderr, "offset %d at %lld\n", off, (long long)t_s);
		abort();
	}
	(void)fs_timezone_utc_ms(tz, fs_timezone_local_ms(tz, t_s * 1000));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fs_timezone tz;
	struct fs_error err = { "" };
	int rc = fs_timezone_parse_tzif(data, size, "Fuzz/Zone", &tz, &err);
	fuzz_report("tzif", rc == 0 ? "loaded" : err.message);
	if (rc < 0) {
		if (!strstr(err.message, "Fuzz/Zone")) {
			fprintf(stderr, "error without the zone's name: %s\n", err.message);
			abort();
		}
		return 0;
	}
	for (size_t i = 0; i < tz.count; i++) {
		if (i && tz.at_s[i] <= tz.at_s[i - 1]) {
			abort();
		}
		check_offset(&tz, tz.at_s[i] == INT64_MIN ? INT64_MIN : tz.at_s[i] - 1);
		check_offset(&tz, tz.at_s[i]);
	}
	/* 1900 .. 2200, every 29 days and a bit: the rule's years, both sides of new year */
	for (int64_t t = -2208988800LL; t < 7258118400LL; t += 2505601) {
		check_offset(&tz, t);
	}
	fs_timezone_finish(&tz);
	return 0;
}
