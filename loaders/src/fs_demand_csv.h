/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_demand_csv.h - the CSV row reader the demand and fleet loaders share
 * (not installed).
 *
 * A CSV row reader over libcsv that knows where each record starts (line)
 * and where each field starts (column), so loaders can say
 * "file:line:column: what is wrong". '#' lines and blank lines between
 * records are skipped.
 */
#ifndef FS_DEMAND_CSV_H
#define FS_DEMAND_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "fs/demand.h"
#include "fs/error.h"

struct fs_demand_csv_row {
	const char *path;
	unsigned line;              /* 1-based line where the record starts */
	size_t count;               /* number of fields */
	const char *const *fields;  /* NUL-terminated */
	const char *text;           /* the record's first line, for columns */
};

/* Called per record (the header too); return 0 to go on or a -errno to stop
 * (which fs_demand_csv_read() then returns). */
typedef int (*fs_demand_csv_row_fn)(void *user, const struct fs_demand_csv_row *row);

/** Read @path record by record. Returns 0 or the first error (err filled). */
int fs_demand_csv_read(const char *path, fs_demand_csv_row_fn fn, void *user, struct fs_error *err);

/** 1-based character column where field @field starts in the row's first line, 0 if unknown. */
unsigned fs_demand_csv_column(const struct fs_demand_csv_row *row, size_t field);

/** Fill @err with "path:line:column: message" for field @field; returns -EINVAL. */
int fs_demand_csv_fail(const struct fs_demand_csv_row *row, size_t field, struct fs_error *err,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Index of the header field named @name, or -1. */
int fs_demand_csv_find(const struct fs_demand_csv_row *header, const char *name);

/**
 * The indexes of the @count columns @names in the header row @header into
 * @ret_cols (-1: absent). Those whose bit is set in @required (bit i:
 * names[i]) must be there: 0, or -EINVAL with "path:line: header has no
 * column "NAME"" for the first one missing.
 */
int fs_demand_csv_columns(const struct fs_demand_csv_row *header, const char *const *names, int count,
			  uint32_t required, int *ret_cols, struct fs_error *err);

/** Parse a whole field as a finite double. */
bool fs_demand_csv_double(const char *s, double *ret);

#endif
