/* SPDX-License-Identifier: Apache-2.0 */
/* fs_data.h - where the shipped data (maps, demand profiles, geofences) are. */
#ifndef FS_DATA_H
#define FS_DATA_H

/**
 * $FLEETSIM_DATA if set; else, for an installed program, share/fleetsim under
 * the prefix it runs from (fs_paths_prefix()); else, in the build tree, the
 * source tree's data/ when it is there, else the configured share/fleetsim.
 */
const char *fs_data_dir(void);

#endif
