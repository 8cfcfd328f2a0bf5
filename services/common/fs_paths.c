/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_paths - where fleetsim's programs are: installed, or in the build tree.
 *
 * An installed program finds its prefix from its own place, as git's
 * RUNTIME_PREFIX does (exec-cmd.c): when the executable's directory ends in
 * the configured bindir or libexecdir below the configured prefix, what comes
 * before that is the prefix it runs from. So a tree installed to a DESTDIR,
 * copied elsewhere or with the source tree gone reads its own data and starts
 * its own helpers, never those of the build that made it. Anywhere else the
 * program runs from the build tree, where meson puts every service in
 * services/ and the viewer in viz/.
 *
 * FS_PREFIX, FS_BINDIR, FS_LIBEXECDIR: absolute, from meson (services/meson.build).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs_paths.h"

const char *fs_paths_exe_dir(void)
{
	static char dir[PATH_MAX];
	if (dir[0]) {
		return dir;
	}
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	dir[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(dir, '/');
	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else if (slash == dir) {
		dir[1] = '\0'; /* an executable in / */
	} else {
		*slash = '\0';
	}
	return dir;
}

/* The configured prefix without a trailing slash ("/" becomes ""). */
static size_t prefix_len(void)
{
	size_t n = strlen(FS_PREFIX);
	return n && FS_PREFIX[n - 1] == '/' ? n - 1 : n;
}

/* The part of @configured below the configured prefix ("/bin"), or NULL if it lies outside. */
static const char *below_prefix(const char *configured)
{
	size_t np = prefix_len();
	return !strncmp(configured, FS_PREFIX, np) && configured[np] == '/' ? configured + np : NULL;
}

/* If @dir is the configured directory @configured, moved with its prefix, write that prefix. */
static bool prefix_from(const char *dir, const char *configured, char *ret, size_t size)
{
	const char *tail = below_prefix(configured);
	if (!tail) {
		/* installed outside the prefix: only the configured place itself counts */
		if (strcmp(dir, configured)) {
			return false;
		}
		snprintf(ret, size, "%.*s", (int)prefix_len(), FS_PREFIX);
		return true;
	}
	size_t nd = strlen(dir), nt = strlen(tail);
	if (nd < nt || strcmp(dir + nd - nt, tail)) {
		return false;
	}
	snprintf(ret, size, "%.*s", (int)(nd - nt), dir);
	return true;
}

bool fs_paths_prefix_of(const char *exe_dir, char *ret, size_t size)
{
	return prefix_from(exe_dir, FS_BINDIR, ret, size) || prefix_from(exe_dir, FS_LIBEXECDIR, ret, size);
}

const char *fs_paths_prefix(void)
{
	static char prefix[PATH_MAX];
	static int known; /* 0 not yet looked, 1 installed, -1 build tree */
	if (!known) {
		known = fs_paths_prefix_of(fs_paths_exe_dir(), prefix, sizeof(prefix)) ? 1 : -1;
	}
	return known > 0 ? prefix : NULL;
}

const char *fs_paths_installed(const char *configured, char *buf, size_t size)
{
	const char *prefix = fs_paths_prefix();
	const char *tail = below_prefix(configured);
	if (prefix && tail) {
		snprintf(buf, size, "%s%s", prefix, tail);
	} else {
		snprintf(buf, size, "%s", configured);
	}
	return buf;
}

const char *fs_paths_helper(const char *name, char *buf, size_t size)
{
	char dir[PATH_MAX];
	if (fs_paths_prefix()) {
		fs_paths_installed(FS_LIBEXECDIR, dir, sizeof(dir));
	} else {
		snprintf(dir, sizeof(dir), "%s", fs_paths_exe_dir());
	}
	snprintf(buf, size, "%s/%s", dir, name);
	return buf;
}

const char *fs_paths_program(const char *name, char *buf, size_t size)
{
	if (fs_paths_prefix()) {
		char dir[PATH_MAX];
		snprintf(buf, size, "%s/%s", fs_paths_installed(FS_BINDIR, dir, sizeof(dir)), name);
		return buf;
	}
	/* the build tree: services/ holds fleetsim and fleetctl, viz/ the viewer */
	snprintf(buf, size, "%s/../viz/%s", fs_paths_exe_dir(), name);
	if (access(buf, X_OK) < 0) {
		snprintf(buf, size, "%s/%s", fs_paths_exe_dir(), name);
	}
	return buf;
}
