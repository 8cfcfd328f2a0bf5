/* SPDX-License-Identifier: Apache-2.0 */
/* fs_data.h - where the shipped data (maps, demand profiles, geofences) are. */
#ifndef FS_DATA_H
#define FS_DATA_H

/**
 * $FLEETSIM_DATA if set, else the source tree's data/ when it is there (a
 * build that was not installed), else the installed share/fleetsim.
 */
const char *fs_data_dir(void);

#endif
