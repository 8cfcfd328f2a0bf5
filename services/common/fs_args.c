/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_args.h"

bool fs_args_u64(const char *text, uint64_t *ret)
{
	if (!text || !*text || *text == '-' || *text == '+') {
		return false;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end) {
		return false;
	}
	*ret = v;
	return true;
}

bool fs_args_double(const char *text, double *ret)
{
	if (!text || !*text) {
		return false;
	}
	char *end = NULL;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || *end || !isfinite(v)) {
		return false;
	}
	*ret = v;
	return true;
}

bool fs_args_duration_ms(const char *text, uint64_t *ret)
{
	if (!text || !*text) {
		return false;
	}
	uint64_t total = 0;
	const char *p = text;
	bool any = false;
	while (*p) {
		char *end = NULL;
		errno = 0;
		double v = strtod(p, &end);
		if (end == p || errno || v < 0 || !isfinite(v)) {
			return false;
		}
		double unit;
		if (!strncmp(end, "ms", 2)) {
			unit = 1;
			end += 2;
		} else if (*end == 's' || *end == '\0') {
			unit = 1000;
			end += *end == 's';
		} else if (*end == 'm') {
			unit = 60000;
			end++;
		} else if (*end == 'h') {
			unit = 3600000;
			end++;
		} else if (*end == 'd') {
			unit = 86400000;
			end++;
		} else {
			return false;
		}
		double ms = v * unit;
		if (ms > 9.0e18 || (uint64_t)llround(ms) > UINT64_MAX - total) {
			return false; /* 1e30: beyond any clock, and llround() would be undefined */
		}
		total += (uint64_t)llround(ms);
		any = true;
		p = end;
	}
	if (!any) {
		return false;
	}
	*ret = total;
	return true;
}

bool fs_args_speed(const char *text, double *ret)
{
	if (text && !strcmp(text, "max")) {
		*ret = 0;
		return true;
	}
	double v;
	if (!fs_args_double(text, &v) || v <= 0) {
		return false;
	}
	*ret = v;
	return true;
}

bool fs_args_version(int argc, char **argv, const char *program)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("%s %s\n", program, FS_VERSION);
			return true;
		}
	}
	return false;
}

bool fs_args_value(int argc, char **argv, int *i, const char *name, const char **ret)
{
	const char *arg = argv[*i];
	size_t len = strlen(name);
	if (!strcmp(arg, name) && *i + 1 < argc) {
		*ret = argv[*i + 1];
		*i += 2;
		return true;
	}
	if (!strncmp(arg, name, len) && arg[len] == '=') {
		*ret = arg + len + 1;
		*i += 1;
		return true;
	}
	return false;
}

const char *fs_args_last_value(int argc, char **argv, const char *name)
{
	const char *value = NULL;
	for (int i = 0; i < argc;) {
		if (!fs_args_value(argc, argv, &i, name, &value)) {
			i++;
		}
	}
	return value;
}

int fs_args_try_help(const char *command)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", command);
	return 2;
}
