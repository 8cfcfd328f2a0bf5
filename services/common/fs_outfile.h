/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_outfile.h - result files written whole or not at all.
 *
 * A run's results (summary.json, trips.csv, ...) are written under a
 * temporary name in the output directory, flushed to disk (fsync), then
 * renamed over the final name and the directory synced: a reader, or a crash
 * or kill at any moment, sees the old file or the complete new one, never a
 * half-written one.
 */
#ifndef FS_OUTFILE_H
#define FS_OUTFILE_H

#include <limits.h>
#include <stdio.h>

struct fs_outfile {
	FILE *f;
	char path[PATH_MAX];
	char tmp[PATH_MAX];
};

/**
 * Check, before a run, that @dir can take its results: create it and its
 * missing parents (0755); refuse anything that is not a directory (an existing file,
 * /dev/null) or a directory we cannot write into. Logs why, naming @what
 * (e.g. "--out") and @dir. Returns 0 or -errno.
 */
int fs_outfile_check_dir(const char *what, const char *dir);
/** Start DIR/NAME under a temporary name; logs and returns NULL on failure. */
FILE *fs_outfile_open(struct fs_outfile *o, const char *dir, const char *name);
/** Flush, fsync, close and rename it into place. Logs and returns -errno on failure (the temporary is removed). */
int fs_outfile_commit(struct fs_outfile *o);
/** Close and remove the temporary (on an error before commit). */
void fs_outfile_abandon(struct fs_outfile *o);

#endif
