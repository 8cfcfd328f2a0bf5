/* SPDX-License-Identifier: Apache-2.0 */
/* fs_calendar - civil date <-> Unix ms, without libc's time zone state. */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/calendar.h"

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t fs_calendar_days_from_civil(int year, int month, int day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t mp = (month + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

/* Reads exactly @width digits. */
static bool read_digits(const char **p, int width, int *ret)
{
	int v = 0;
	for (int i = 0; i < width; i++) {
		if (!isdigit((unsigned char)(*p)[i])) {
			return false;
		}
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += width;
	*ret = v;
	return true;
}

int fs_calendar_parse(const char *text, int64_t *ret_ms)
{
	if (!text) {
		return -EINVAL;
	}
	const char *p = text;
	int year, month, day = 1, hour = 0, minute = 0, second = 0;
	if (!read_digits(&p, 4, &year) || *p++ != '-' || !read_digits(&p, 2, &month)) {
		return -EINVAL;
	}
	if (*p == '-') {
		p++;
		if (!read_digits(&p, 2, &day)) {
			return -EINVAL;
		}
		if (*p == 'T' || *p == ' ') {
			p++;
			if (!read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &minute)) {
				return -EINVAL;
			}
			if (*p == ':') {
				p++;
				if (!read_digits(&p, 2, &second)) {
					return -EINVAL;
				}
			}
			if (*p == 'Z') {
				p++;
			}
		}
	}
	if (*p != '\0' || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
	    hour > 23 || minute > 59 || second > 59) {
		return -EINVAL;
	}
	int64_t days = fs_calendar_days_from_civil(year, month, day);
	*ret_ms = ((days * 24 + hour) * 60 + minute) * 60000LL + second * 1000LL;
	return 0;
}

void fs_calendar_from_ms(int64_t ms, struct fs_civil_time *ret)
{
	int64_t days = floor_div(ms, 86400000LL);
	int64_t rem = ms - days * 86400000LL;
	/* civil_from_days */
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	ret->year = (int)(yoe + era * 400 + (m <= 2));
	ret->month = m;
	ret->day = d;
	ret->hour = (int)(rem / 3600000);
	ret->minute = (int)(rem / 60000 % 60);
	ret->second = (int)(rem / 1000 % 60);
	int64_t wd = (days + 4) % 7; /* 1970-01-01 was a Thursday */
	ret->weekday = (int)(wd < 0 ? wd + 7 : wd);
}

char *fs_calendar_format(int64_t ms, char *buf, size_t size)
{
	struct fs_civil_time t;
	fs_calendar_from_ms(ms, &t);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", t.year, t.month, t.day, t.hour,
		 t.minute, t.second);
	return buf;
}

int fs_calendar_second_of_day(int64_t ms)
{
	int64_t days = floor_div(ms, 86400000LL);
	return (int)((ms - days * 86400000LL) / 1000);
}
