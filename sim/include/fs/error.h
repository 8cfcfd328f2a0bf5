/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/error.h - a caller-owned error message for library calls that read input.
 *
 * sim/ never logs. A loader that fails returns -errno and, when the caller
 * passed a struct fs_error, fills it with where and what went wrong, in the
 * form "file:line:column: message" (or "file: message" when there is no line).
 */
#ifndef FS_ERROR_H
#define FS_ERROR_H

#include <stddef.h>

struct fs_error {
	char message[512];
};

/** printf-style; a NULL @err is allowed and ignored. Always returns @code (a -errno). */
int fs_error_set(struct fs_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Like fs_error_set() with a "path:line:column: " prefix (line/column 0 are omitted). */
int fs_error_at(struct fs_error *err, int code, const char *path, unsigned line, unsigned column,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
