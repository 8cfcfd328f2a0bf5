/* SPDX-License-Identifier: Apache-2.0 */
/* fs_log - stderr logging for services. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/grow.h"
#include "fs_log.h"

static char program_name[64] = "fleetsim";
static enum fs_log_level max_level = FS_LOG_INFO;

void fs_log_init(const char *program, enum fs_log_level level)
{
	snprintf(program_name, sizeof(program_name), "%s", program);
	max_level = level;
	const char *env = getenv("FLEETSIM_LOG");
	if (env && !strcmp(env, "debug")) {
		max_level = FS_LOG_DEBUG;
	} else if (env && !strcmp(env, "quiet")) {
		max_level = FS_LOG_WARNING;
	}
}

const char *fs_log_program(void)
{
	return program_name;
}

void fs_log(enum fs_log_level level, const char *fmt, ...)
{
	static const char *prefix[] = { "error: ", "warning: ", "", "debug: " };
	if (level > max_level) {
		return;
	}
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so lines of concurrent processes do not interleave. */
	fprintf(stderr, "%s: %s%s\n", program_name, prefix[level], line);
}

bool fs_log_should(uint64_t count)
{
	return count <= FS_LOG_FIRST || count % FS_LOG_EVERY == 0;
}

void *fs_xcalloc_at(size_t n, size_t size, const char *file, int line)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		fprintf(stderr, "%s: out of memory at %s:%d\n", program_name, file, line);
		abort();
	}
	return p;
}

char *fs_xstrdup_at(const char *s, const char *file, int line)
{
	char *p = strdup(s);
	if (!p) {
		fprintf(stderr, "%s: out of memory at %s:%d\n", program_name, file, line);
		abort();
	}
	return p;
}

void fs_xgrow_at(void **items, size_t *cap, size_t need, size_t size, bool zeroed, const char *file, int line)
{
	if ((zeroed ? fs_grow_zeroed : fs_grow)(items, cap, need, size) < 0) {
		fprintf(stderr, "%s: out of memory at %s:%d\n", program_name, file, line);
		abort();
	}
}
