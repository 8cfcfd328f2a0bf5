/* SPDX-License-Identifier: Apache-2.0 */
/* fs_outfile - result files written whole or not at all (see fs_outfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_log.h"
#include "fs_outfile.h"

/* mkdir -p: @dir and each missing parent (0755, as results are meant to be shared). */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		return -ENAMETOOLONG;
	}
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0') {
			continue;
		}
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			return -errno;
		}
		*p = c;
		if (!c) {
			return 0;
		}
	}
}

int fs_outfile_check_dir(const char *what, const char *dir)
{
	int rc = make_dirs(dir);
	if (rc < 0) {
		fs_error("%s: cannot create %s: %s", what, dir, strerror(-rc));
		return rc;
	}
	struct stat st;
	if (stat(dir, &st) < 0) {
		int e = errno;
		fs_error("%s: %s: %s", what, dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		fs_error("%s: %s exists and is not a directory: results need a directory (refused before the run, "
			 "so nothing is lost)",
			 what, dir);
		return -ENOTDIR;
	}
	/* A real write, not access(): read-only mounts, ACLs and root squash all show here. */
	char probe[PATH_MAX];
	if (snprintf(probe, sizeof(probe), "%s/.fleetsim-probe-XXXXXX", dir) >= (int)sizeof(probe)) {
		fs_error("%s: %s: name too long", what, dir);
		return -ENAMETOOLONG;
	}
	int fd = mkstemp(probe);
	if (fd < 0) {
		int e = errno;
		fs_error("%s: cannot write into %s: %s", what, dir, strerror(e));
		return -e;
	}
	close(fd);
	unlink(probe);
	return 0;
}

FILE *fs_outfile_open(struct fs_outfile *o, const char *dir, const char *name)
{
	memset(o, 0, sizeof(*o));
	if (snprintf(o->path, sizeof(o->path), "%s/%s", dir, name) >= (int)sizeof(o->path) ||
	    snprintf(o->tmp, sizeof(o->tmp), "%s/.%s.tmp-%d", dir, name, (int)getpid()) >= (int)sizeof(o->tmp)) {
		fs_error("cannot write %s/%s: name too long", dir, name);
		return NULL;
	}
	unlink(o->tmp); /* ours, from an earlier attempt: names carry our pid */
	int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		fs_error("cannot write %s: %s", o->tmp, strerror(errno));
		return NULL;
	}
	o->f = fdopen(fd, "w");
	if (!o->f) {
		fs_error("cannot write %s: %s", o->tmp, strerror(errno));
		close(fd);
		unlink(o->tmp);
	}
	return o->f;
}

static void sync_dir(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
	}
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd); /* the rename itself survives a crash */
		close(fd);
	}
}

int fs_outfile_commit(struct fs_outfile *o)
{
	int rc = 0;
	errno = 0;
	if (fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) < 0) {
		rc = -(errno ? errno : EIO);
	}
	if (fclose(o->f) != 0 && rc == 0) {
		rc = -(errno ? errno : EIO);
	}
	o->f = NULL;
	if (rc == 0 && rename(o->tmp, o->path) < 0) {
		rc = -errno;
	}
	if (rc < 0) {
		fs_error("cannot write %s: %s", o->path, strerror(-rc));
		unlink(o->tmp);
		return rc;
	}
	sync_dir(o->path);
	return 0;
}

void fs_outfile_abandon(struct fs_outfile *o)
{
	if (o->f) {
		fclose(o->f);
		o->f = NULL;
	}
	unlink(o->tmp);
}
