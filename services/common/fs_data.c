/* SPDX-License-Identifier: Apache-2.0 */
/* fs_data - where the shipped data are. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fs_data.h"

const char *fs_data_dir(void)
{
	static char dir[PATH_MAX];
	struct stat st;
	const char *env = getenv("FLEETSIM_DATA");
	if (env && *env) {
		return env;
	}
	if (stat(FS_SOURCE_DATA_DIR "/osm", &st) == 0) {
		return FS_SOURCE_DATA_DIR;
	}
	snprintf(dir, sizeof(dir), "%s", FS_INSTALL_DATA_DIR);
	return dir;
}

