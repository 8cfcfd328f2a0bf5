/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_bus_dir - the private directory of an ipc bus (see fs_bus.h).
 *
 * Whoever can create entries in an ipc bus's directory can bind its sockets
 * and read or answer everything a run's clients send (pause, inject, ...).
 * The directory sits in /tmp unless $XDG_RUNTIME_DIR is set, where any local
 * user may have created it first, with any mode, or planted a symbolic link
 * in its place. So every process of a run (broker and launcher when they
 * start, every client before it connects) checks the same things the same
 * way: the name is a directory and not a link (lstat, then open with
 * O_NOFOLLOW and compare the inode), it belongs to the effective user, its
 * mode is exactly 0700, and its parent cannot be used by another user to
 * swap it (owned by root or us, and sticky if others may write there). The
 * first failed check is the refusal, naming the path and what is wrong.
 * Whoever creates the directory (launcher, broker) also creates its missing
 * ancestors, each 0700 and each inside a folder that passes the parent check.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_bus.h"
#include "fs_log.h"

/* Every name a run creates in its bus directory (fs_bus_endpoint(), fs_control_path(), the launcher's lock). */
static const char *const run_files[] = { "pub", "sub", "watch", "tap", "ctl", "lock" };

static const char *user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);
	snprintf(buf, size, "%s", pw ? pw->pw_name : "?");
	return buf;
}

/* The parent of @dir must not let another user rename @dir away and put theirs in its place. */
static int check_parent(const char *dir)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (!slash) {
		snprintf(parent, sizeof(parent), ".");
	} else if (slash == parent) {
		parent[1] = '\0';
	} else {
		*slash = '\0';
	}
	struct stat st;
	if (stat(parent, &st) < 0) {
		int e = errno;
		fs_error("bus directory %s: cannot check its parent %s: %s", dir, parent, strerror(e));
		return -e;
	}
	char name[64];
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		fs_error("bus directory %s refused: its parent %s belongs to %s (uid %u), who could replace it; "
			 "use a --bus under a directory of yours or root's",
			 dir, parent, user_name(st.st_uid, name, sizeof(name)), (unsigned)st.st_uid);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		fs_error("bus directory %s refused: its parent %s (mode %04o) is writable by other users and not "
			 "sticky, so they could replace it",
			 dir, parent, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/*
 * `--bus ipc:///tmp/runs/a/bus` where /tmp/runs does not exist yet: make each
 * missing ancestor of @dir private (0700), and only inside a folder that
 * check_parent() accepts, so no other user can swap it out from under us. An
 * ancestor that exists is left as it is; @dir's own parent is checked again
 * by the caller like any other.
 */
static int make_ancestors(const char *dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		fs_error("bus directory %s: name too long", dir);
		return -ENAMETOOLONG;
	}
	char *last = strrchr(path, '/');
	for (char *p = path + 1; last && p <= last; p++) {
		if (*p != '/' || p[-1] == '/') {
			continue;
		}
		*p = '\0';
		struct stat st;
		if (lstat(path, &st) < 0 && errno == ENOENT) {
			int rc = check_parent(path);
			if (rc < 0) {
				return rc;
			}
			if (mkdir(path, 0700) < 0 && errno != EEXIST) {
				int e = errno;
				fs_error("cannot create %s for bus directory %s: %s", path, dir, strerror(e));
				return -e;
			}
		}
		*p = '/';
	}
	return 0;
}

/* lstat, open without following a link, and check that both saw the same directory. */
static int open_dir(const char *dir, struct stat *ret)
{
	struct stat lst;
	if (lstat(dir, &lst) < 0) {
		int e = errno;
		if (e == ENOENT) {
			fs_error("no simulation answers on ipc://%s: its bus directory does not exist (is `fleetsim run` "
				 "running? --bus?)",
				 dir);
		} else {
			fs_error("bus directory %s: %s", dir, strerror(e));
		}
		return -e;
	}
	if (S_ISLNK(lst.st_mode)) {
		fs_error("bus directory %s refused: it is a symbolic link (a bus directory must be a real directory "
			 "of yours; someone else may have planted it)",
			 dir);
		return -ELOOP;
	}
	if (!S_ISDIR(lst.st_mode)) {
		fs_error("bus directory %s refused: it is not a directory", dir);
		return -ENOTDIR;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		fs_error("bus directory %s refused: cannot open it: %s", dir, strerror(e));
		return -e;
	}
	if (fstat(fd, ret) < 0 || ret->st_dev != lst.st_dev || ret->st_ino != lst.st_ino) {
		fs_error("bus directory %s refused: it changed while being checked", dir);
		close(fd);
		return -EAGAIN;
	}
	return fd;
}

static int check_owner_and_mode(const char *dir, int fd, const struct stat *st, bool created)
{
	char name[64];
	if (st->st_uid != geteuid()) {
		fs_error("bus directory %s refused: it belongs to %s (uid %u), not to you (uid %u); another user may "
			 "be listening there. Use --bus ipc://DIR with a directory of yours",
			 dir, user_name(st->st_uid, name, sizeof(name)), (unsigned)st->st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	mode_t mode = st->st_mode & 07777;
	if (created && mode != 0700 && fchmod(fd, 0700) == 0) {
		mode = 0700; /* ours, just made: only the umask narrowed it */
	}
	if (mode != 0700) {
		fs_error("bus directory %s refused: its mode is %04o; a bus directory must be 0700 (only you may "
			 "enter it). `chmod 700 %s` if it is yours",
			 dir, (unsigned)mode, dir);
		return -EACCES;
	}
	return 0;
}

int fs_bus_dir_check(const char *address, bool create, int *ret_fd)
{
	if (!address || strncmp(address, "ipc://", 6)) {
		return 0; /* tcp: CURVE guards it */
	}
	const char *dir = address + 6;
	if (!dir[0]) {
		fs_error("bus address %s names no directory", address);
		return -EINVAL;
	}
	int rc = create ? make_ancestors(dir) : 0;
	if (rc < 0) {
		return rc;
	}
	rc = check_parent(dir);
	if (rc < 0) {
		return rc;
	}
	bool created = false;
	if (create) {
		if (mkdir(dir, 0700) == 0) {
			created = true;
		} else if (errno != EEXIST) {
			int e = errno;
			fs_error("cannot create bus directory %s: %s", dir, strerror(e));
			return -e;
		}
	}
	struct stat st;
	int fd = open_dir(dir, &st);
	if (fd < 0) {
		return fd;
	}
	rc = check_owner_and_mode(dir, fd, &st, created);
	if (rc < 0 || !ret_fd) {
		close(fd);
	} else {
		*ret_fd = fd;
	}
	return rc;
}

void fs_bus_dir_remove(const char *address, int dir_fd)
{
	if (!address || strncmp(address, "ipc://", 6)) {
		return;
	}
	int fd = dir_fd >= 0 ? dir_fd : open(address + 6, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return;
	}
	for (size_t i = 0; i < sizeof(run_files) / sizeof(run_files[0]); i++) {
		unlinkat(fd, run_files[i], 0);
	}
	if (fd != dir_fd) {
		close(fd);
	}
	rmdir(address + 6); /* fails, as it should, if it holds anything else */
}
