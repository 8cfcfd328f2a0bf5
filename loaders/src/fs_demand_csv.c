/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_demand_csv - record reader over libcsv with line and column positions.
 *
 * Lines are fed to libcsv one at a time (getline), so the line where a
 * record starts is known; a quoted field may span lines, in which case the
 * record keeps its first line number. Fields are copied into one growing
 * buffer per record and handed over as NUL-terminated strings.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs_demand_csv.h"

struct reader {
	const char *path;
	fs_demand_csv_row_fn fn;
	void *user;
	struct fs_error *err;
	char *buf;          /* field bytes, each NUL-terminated */
	size_t buf_len, buf_cap;
	size_t *offsets;    /* field starts in buf */
	size_t count, cap;
	const char **fields;
	size_t fields_cap;
	unsigned line;      /* record start line */
	const char *text;
	bool ended;         /* a record ended during the last feed */
	int status;         /* first error from fn or memory */
};

static void on_field(void *data, size_t len, void *user)
{
	struct reader *r = user;
	if (r->status < 0) {
		return;
	}
	if (FS_GROW(r->offsets, r->cap, r->count + 1) < 0 || FS_GROW(r->buf, r->buf_cap, r->buf_len + len + 1) < 0) {
		r->status = -ENOMEM;
		return;
	}
	if (len) {
		memcpy(r->buf + r->buf_len, data, len);
	}
	r->buf[r->buf_len + len] = '\0';
	r->offsets[r->count++] = r->buf_len;
	r->buf_len += len + 1;
}

static void on_record(int c, void *user)
{
	struct reader *r = user;
	r->ended = true;
	if (r->status < 0) {
		return;
	}
	if (FS_GROW(r->fields, r->fields_cap, r->count) < 0) {
		r->status = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < r->count; i++) {
		r->fields[i] = r->buf + r->offsets[i];
	}
	struct fs_demand_csv_row row = {
		.path = r->path, .line = r->line, .count = r->count,
		.fields = r->fields, .text = r->text,
	};
	int s = r->fn(r->user, &row);
	if (s < 0) {
		r->status = s;
	}
	r->count = 0;
	r->buf_len = 0;
}

static bool blank_or_comment(const char *s)
{
	while (*s == ' ' || *s == '\t') {
		s++;
	}
	return *s == '#' || *s == '\n' || *s == '\r' || *s == '\0';
}

int fs_demand_csv_read(const char *path, fs_demand_csv_row_fn fn, void *user, struct fs_error *err)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		int e = errno;
		return fs_error_at(err, -e, path, 0, 0, "cannot open: %s", strerror(e));
	}
	struct csv_parser p;
	if (csv_init(&p, CSV_APPEND_NULL) != 0) {
		fclose(fp);
		return fs_error_at(err, -ENOMEM, path, 0, 0, "out of memory");
	}
	struct reader r = { .path = path, .fn = fn, .user = user, .err = err };
	char *line = NULL, *first = NULL;
	size_t line_cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	bool at_start = true, last_newline = false;
	while (r.status == 0 && (len = getline(&line, &line_cap, fp)) >= 0) {
		lineno++;
		if (at_start) {
			if (blank_or_comment(line)) {
				continue;
			}
			fs_free(first);
			first = fs_strdup(line);
			if (!first) {
				r.status = -ENOMEM;
				break;
			}
			r.line = lineno;
			r.text = first;
		}
		r.ended = false;
		last_newline = line[len - 1] == '\n';
		if (csv_parse(&p, line, (size_t)len, on_field, on_record, &r) != (size_t)len) {
			r.status = fs_error_at(err, -EINVAL, path, lineno, 0, "%s",
					       csv_strerror(csv_error(&p)));
			break;
		}
		at_start = r.ended;
	}
	bool read_error = ferror(fp);
	if (r.status == 0) {
		/* A last record without a newline ends here. */
		if (!at_start && last_newline) {
			/* Every line ended, yet the record did not: a quote is open. */
			r.status = fs_error_at(err, -EINVAL, path, r.line, 0,
					       "unterminated quoted field");
		} else if (csv_fini(&p, on_field, on_record, &r) != 0 && r.status == 0) {
			r.status = fs_error_at(err, -EINVAL, path, r.line, 0, "%s",
					       csv_strerror(csv_error(&p)));
		}
	}
	if (r.status == 0 && read_error) {
		r.status = fs_error_at(err, -EIO, path, 0, 0, "read error");
	}
	if (r.status == -ENOMEM) {
		fs_error_at(err, -ENOMEM, path, r.line, 0, "out of memory");
	}
	csv_free(&p);
	fclose(fp);
	fs_free(line);
	fs_free(first);
	fs_free(r.buf);
	fs_free(r.offsets);
	fs_free(r.fields);
	return r.status;
}

unsigned fs_demand_csv_column(const struct fs_demand_csv_row *row, size_t field)
{
	const char *s = row->text;
	if (!s) {
		return 0;
	}
	size_t f = 0;
	bool quoted = false;
	for (size_t i = 0; s[i] && s[i] != '\n'; i++) {
		if (f == field) {
			return (unsigned)i + 1;
		}
		if (s[i] == '"') {
			quoted = !quoted;
		} else if (s[i] == ',' && !quoted) {
			f++;
			if (f == field) {
				return (unsigned)i + 2;
			}
		}
	}
	/* An empty last field, or one the line does not have: point past its end. */
	return (unsigned)strcspn(s, "\r\n") + 1;
}

int fs_demand_csv_fail(const struct fs_demand_csv_row *row, size_t field, struct fs_error *err,
		       const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fs_error_at(err, -EINVAL, row->path, row->line, fs_demand_csv_column(row, field), "%s",
			   msg);
}

int fs_demand_csv_find(const struct fs_demand_csv_row *header, const char *name)
{
	for (size_t i = 0; i < header->count; i++) {
		if (strcmp(header->fields[i], name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

int fs_demand_csv_columns(const struct fs_demand_csv_row *header, const char *const *names, int count,
			  uint32_t required, int *ret_cols, struct fs_error *err)
{
	for (int i = 0; i < count; i++) {
		ret_cols[i] = fs_demand_csv_find(header, names[i]);
		if (ret_cols[i] < 0 && (required >> i & 1u)) {
			return fs_error_at(err, -EINVAL, header->path, header->line, 0, "header has no column \"%s\"",
					   names[i]);
		}
	}
	return 0;
}

bool fs_demand_csv_double(const char *s, double *ret)
{
	if (!*s) {
		return false;
	}
	char *end;
	double v = strtod(s, &end);
	while (*end == ' ' || *end == '\t' || *end == '\r') {
		end++;
	}
	if (*end || !isfinite(v)) {
		return false;
	}
	*ret = v;
	return true;
}
