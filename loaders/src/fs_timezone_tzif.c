/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_timezone_tzif - a city's zone from the system tz database: TZif files
 * and the POSIX TZ rule they end with (fs/timezone_load.h).
 *
 * TZif (RFC 8536): a header and a data block of 32-bit times (version 1);
 * versions 2-4 repeat both with 64-bit times and end with a footer, a POSIX
 * TZ string such as "EST5EDT,M3.2.0,M11.1.0" that gives the offsets after
 * the last transition. "Slim" files (zic -b slim) stop their table at the
 * last rule change and rely on the footer; "fat" ones list transitions to
 * 2037. Both give the same answers: after the last transition the footer's
 * rule is evaluated for the instant's year (fs_timezone_offset_s(), sim/).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/timezone.h"
#include "fs/timezone_load.h"

#define TZIF_HEADER_LEN 44
#define MAX_OFFSET_S (26 * 3600)  /* RFC 8536: |utoff| < 26 h */
#define MAX_RULE_TIME_S (167 * 3600) /* RFC 8536 extension of POSIX rule times */
#define MAX_FILE_LEN (1 << 20)

/* ---- the footer: a POSIX TZ string ---- */

/* "EST" or "<-03>"; names are only skipped (the offsets are what counts). */
static bool skip_name(const char **s)
{
	const char *p = *s;
	if (*p == '<') {
		while (*p && *p != '>') {
			p++;
		}
		if (*p != '>' || p - *s < 4) {
			return false;
		}
		*s = p + 1;
		return true;
	}
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
		p++;
	}
	if (p - *s < 3) {
		return false;
	}
	*s = p;
	return true;
}

/* [+-]h[h[h]][:mm[:ss]] as seconds, within @max_s. */
static bool parse_hms(const char **s, int32_t max_s, int32_t *ret)
{
	const char *p = *s;
	int sign = 1;
	if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
	}
	int32_t part[3] = { 0, 0, 0 };
	for (int k = 0; k < 3; k++) {
		if (k && *p != ':') {
			break;
		}
		p += k > 0;
		int digits = 0;
		for (; *p >= '0' && *p <= '9' && digits < 3; digits++) {
			part[k] = part[k] * 10 + (*p++ - '0');
		}
		if (!digits || (k && (digits != 2 || part[k] > 59))) {
			return false;
		}
	}
	int32_t v = part[0] * 3600 + part[1] * 60 + part[2];
	if (v > max_s) {
		return false;
	}
	*ret = sign * v;
	*s = p;
	return true;
}

static bool parse_number(const char **s, int lo, int hi, int *ret)
{
	const char *p = *s;
	int v = 0, digits = 0;
	for (; *p >= '0' && *p <= '9' && digits < 4; digits++) {
		v = v * 10 + (*p++ - '0');
	}
	if (!digits || v < lo || v > hi) {
		return false;
	}
	*ret = v;
	*s = p;
	return true;
}

/* Jn, n or Mm.w.d, then an optional /time (default 02:00). */
static bool parse_date(const char **s, struct fs_tz_date *d)
{
	int a = 0, b = 0, c = 0;
	*d = (struct fs_tz_date){ .time_s = 2 * 3600 };
	if (**s == 'J') {
		(*s)++;
		if (!parse_number(s, 1, 365, &a)) {
			return false;
		}
		*d = (struct fs_tz_date){ .kind = 'J', .day = (int16_t)a, .time_s = 2 * 3600 };
	} else if (**s == 'M') {
		(*s)++;
		if (!parse_number(s, 1, 12, &a) || *(*s)++ != '.' || !parse_number(s, 1, 5, &b) || *(*s)++ != '.' ||
		    !parse_number(s, 0, 6, &c)) {
			return false;
		}
		*d = (struct fs_tz_date){ .kind = 'M', .month = (int8_t)a, .week = (int8_t)b, .weekday = (int8_t)c,
					  .time_s = 2 * 3600 };
	} else {
		if (!parse_number(s, 0, 365, &a)) {
			return false;
		}
		*d = (struct fs_tz_date){ .kind = 'D', .day = (int16_t)a, .time_s = 2 * 3600 };
	}
	if (**s == '/') {
		(*s)++;
		return parse_hms(s, MAX_RULE_TIME_S, &d->time_s);
	}
	return true;
}

/* "std offset [dst [offset] ,start[/time],end[/time]]"; POSIX offsets are west-positive. */
static bool parse_rule(const char *s, struct fs_tz_rule *r)
{
	int32_t west;
	*r = (struct fs_tz_rule){ 0 };
	if (!skip_name(&s) || !parse_hms(&s, MAX_OFFSET_S - 1, &west)) {
		return false;
	}
	r->std_offset_s = r->dst_offset_s = -west;
	if (!*s) {
		return true;
	}
	if (!skip_name(&s)) {
		return false;
	}
	r->has_dst = true;
	r->dst_offset_s = r->std_offset_s + 3600;
	if (*s != ',') {
		if (!parse_hms(&s, MAX_OFFSET_S - 1, &west)) {
			return false;
		}
		r->dst_offset_s = -west;
	}
	/* zic always writes the rule; POSIX leaves a missing one to the implementation */
	return *s++ == ',' && parse_date(&s, &r->start) && *s++ == ',' && parse_date(&s, &r->end) && !*s;
}

/* ---- TZif ---- */

struct tzif_header {
	int version; /* 1..4 */
	uint32_t isut, isstd, leap, times, types, chars;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int bad(struct fs_error *err, const char *name, const char *what)
{
	return fs_error_set(err, -EINVAL, "time zone %s: %s", name, what);
}

static bool read_header(const uint8_t *p, size_t len, struct tzif_header *h)
{
	if (len < TZIF_HEADER_LEN || memcmp(p, "TZif", 4) || (p[4] && (p[4] < '2' || p[4] > '4'))) {
		return false;
	}
	h->version = p[4] ? p[4] - '0' : 1;
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->times = be32(p + 32);
	h->types = be32(p + 36);
	h->chars = be32(p + 40);
	/* RFC 8536 3.1: at least one type; isut and isstd counts 0 or the type count */
	return h->types >= 1 && h->types <= 256 && h->times <= 100000 && h->chars <= 65536 &&
	       h->leap <= 100000 && (h->isut == 0 || h->isut == h->types) && (h->isstd == 0 || h->isstd == h->types);
}

static size_t block_len(const struct tzif_header *h, size_t time_size)
{
	return h->times * time_size + h->times + h->types * 6u + h->chars + h->leap * (time_size + 4) + h->isstd +
	       h->isut;
}

/* The transitions and types of one data block into @tz (offsets only; repeats merged). */
static int read_block(const uint8_t *p, const struct tzif_header *h, size_t time_size, const char *name,
		      struct fs_timezone *tz, struct fs_error *err)
{
	const uint8_t *times = p, *idx = p + h->times * time_size, *types = idx + h->times;
	int32_t offset[256];
	for (uint32_t k = 0; k < h->types; k++) {
		int32_t off = (int32_t)be32(types + 6 * k);
		if (off <= -MAX_OFFSET_S || off >= MAX_OFFSET_S || types[6 * k + 4] > 1 || types[6 * k + 5] >= h->chars) {
			return bad(err, name, "a local time type is out of range");
		}
		offset[k] = off;
	}
	tz->initial_offset_s = offset[0]; /* RFC 8536: before the first transition, type 0 */
	tz->at_s = fs_malloc((h->times ? h->times : 1) * sizeof(*tz->at_s));
	tz->offset_s = fs_malloc((h->times ? h->times : 1) * sizeof(*tz->offset_s));
	if (!tz->at_s || !tz->offset_s) {
		return -ENOMEM;
	}
	int32_t current = tz->initial_offset_s;
	int64_t prev = INT64_MIN;
	for (uint32_t i = 0; i < h->times; i++) {
		int64_t at = time_size == 8 ? be64(times + 8 * i) : (int64_t)(int32_t)be32(times + 4 * i);
		if (idx[i] >= h->types) {
			return bad(err, name, "a transition names a local time type that is not there");
		}
		if (i && at <= prev) {
			return bad(err, name, "transition times are not in ascending order");
		}
		prev = at;
		if (offset[idx[i]] != current) { /* a change of name or DST flag alone changes no clock */
			tz->at_s[tz->count] = at;
			tz->offset_s[tz->count++] = current = offset[idx[i]];
		}
	}
	return 0;
}

/* The footer of a version 2+ file: "\nTZ\n" at @p, @len bytes to the end of the data. */
static int read_footer(const uint8_t *p, size_t len, const char *name, struct fs_timezone *tz, struct fs_error *err)
{
	const uint8_t *end = len ? memchr(p + 1, '\n', len - 1) : NULL;
	if (!len || p[0] != '\n' || !end || end - p - 1 >= 128) {
		return bad(err, name, "no TZ string at the end of a version 2+ file");
	}
	char text[128];
	memcpy(text, p + 1, (size_t)(end - p - 1));
	text[end - p - 1] = '\0';
	if (!text[0]) {
		return 0; /* no rule: the last transition's offset holds for ever */
	}
	if (!parse_rule(text, &tz->rule)) {
		char what[200];
		snprintf(what, sizeof(what), "cannot read the rule '%s' at the end of the file", text);
		return bad(err, name, what);
	}
	tz->has_rule = true;
	return 0;
}

int fs_timezone_parse_tzif(const uint8_t *data, size_t len, const char *name, struct fs_timezone *ret,
			   struct fs_error *err)
{
	struct fs_timezone tz = { 0 };
	struct tzif_header h;
	if (strlen(name) >= sizeof(tz.name)) {
		return bad(err, "", "name too long");
	}
	snprintf(tz.name, sizeof(tz.name), "%s", name);
	if (!read_header(data, len, &h)) {
		return bad(err, name, "not a TZif file (RFC 8536)");
	}
	size_t at = TZIF_HEADER_LEN, time_size = 4;
	if (h.version >= 2) { /* skip the 32-bit block: the 64-bit one follows with its own header */
		at += block_len(&h, 4);
		if (at > len || !read_header(data + at, len - at, &h)) {
			return bad(err, name, "truncated or bad second header");
		}
		at += TZIF_HEADER_LEN;
		time_size = 8;
	}
	if (h.leap) {
		return bad(err, name, "zones with leap seconds (right/...) are not supported");
	}
	if (block_len(&h, time_size) > len - at) {
		return bad(err, name, "truncated data");
	}
	int rc = read_block(data + at, &h, time_size, name, &tz, err);
	at += block_len(&h, time_size);
	if (rc == 0 && h.version >= 2) {
		rc = read_footer(data + at, len - at, name, &tz, err);
	}
	if (rc < 0) {
		fs_timezone_finish(&tz);
		return rc == -ENOMEM ? fs_error_set(err, -ENOMEM, "time zone %s: out of memory", name) : rc;
	}
	*ret = tz;
	return 0;
}

/* A plain relative path: letters, digits, _ - + and single slashes between names not starting with '.'. */
static bool good_name(const char *name)
{
	size_t n = strlen(name);
	if (!n || n >= FS_TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			  c == '-' || c == '+' || (c == '/' && name[i + 1] != '/');
		if (!ok || ((i == 0 || name[i - 1] == '/') && (c == '.' || c == '-'))) {
			return false;
		}
	}
	return true;
}

int fs_timezone_load(const char *zoneinfo_dir, const char *name, struct fs_timezone *ret, struct fs_error *err)
{
	if (!good_name(name)) {
		return fs_error_set(err, -EINVAL, "'%s' is not a time zone name such as America/New_York", name);
	}
	char path[1024];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", zoneinfo_dir, name) >= sizeof(path)) {
		return fs_error_set(err, -ENAMETOOLONG, "time zone %s: path too long", name);
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		return fs_error_set(err, e == ENOENT || e == ENOTDIR ? -ENOENT : -e,
				    "unknown time zone '%s' (cannot read %s: %s; the zones come from the "
				    "system's tz database, package tzdata)",
				    name, path, strerror(e));
	}
	uint8_t *buf = fs_malloc(MAX_FILE_LEN);
	if (!buf) {
		fclose(f);
		return fs_error_set(err, -ENOMEM, "time zone %s: out of memory", name);
	}
	size_t len = fread(buf, 1, MAX_FILE_LEN, f);
	bool failed = ferror(f) || !feof(f);
	fclose(f);
	int rc = failed ? fs_error_set(err, -EIO, "time zone %s: cannot read %s (or larger than 1 MiB)", name, path)
			: fs_timezone_parse_tzif(buf, len, name, ret, err);
	fs_free(buf);
	return rc;
}
