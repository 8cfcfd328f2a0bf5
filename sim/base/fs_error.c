/* SPDX-License-Identifier: Apache-2.0 */
/* fs_error - formatting of caller-owned error messages. */
#include <stdarg.h>
#include <stdio.h>

#include "fs/error.h"

int fs_error_set(struct fs_error *err, int code, const char *fmt, ...)
{
	if (!err) {
		return code;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

int fs_error_at(struct fs_error *err, int code, const char *path, unsigned line, unsigned column,
		const char *fmt, ...)
{
	if (!err) {
		return code;
	}
	int n;
	if (line && column) {
		n = snprintf(err->message, sizeof(err->message), "%s:%u:%u: ", path, line, column);
	} else if (line) {
		n = snprintf(err->message, sizeof(err->message), "%s:%u: ", path, line);
	} else {
		n = snprintf(err->message, sizeof(err->message), "%s: ", path);
	}
	if (n < 0 || (size_t)n >= sizeof(err->message)) {
		return code;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message + n, sizeof(err->message) - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}
