/* SPDX-License-Identifier: Apache-2.0 */
/* fs_data - where the shipped data are. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fs_data.h"
#include "fs_paths.h"

const char *fs_data_dir(void)
{
	static char dir[PATH_MAX];
	struct stat st;
	const char *env = getenv("FLEETSIM_DATA");
	if (env && *env) {
		return env;
	}
	if (fs_paths_prefix()) {
		return fs_paths_installed(FS_DATADIR, dir, sizeof(dir));
	}
	if (stat(FS_SOURCE_DATA_DIR "/osm", &st) == 0) {
		return FS_SOURCE_DATA_DIR; /* a build that was not installed */
	}
	snprintf(dir, sizeof(dir), "%s", FS_DATADIR);
	return dir;
}
