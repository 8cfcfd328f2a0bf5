/* SPDX-License-Identifier: Apache-2.0 */
/* launcher.h - the `fleetsim` command's subcommands. */
#ifndef LAUNCHER_H
#define LAUNCHER_H

/** `fleetsim run ...`: argv[0] is "run". Returns the process exit status. */
int launcher_run(int argc, char **argv);
/** `fleetsim join ...`: become a participant of a run on another host (execs it). */
int launcher_join(int argc, char **argv);

/* the shipped data: fs_data_dir() ($FLEETSIM_DATA, the install's share/fleetsim, or in the build
 * tree the source tree's data/) */
#include "fs_data.h"
#define launcher_data_dir fs_data_dir

#endif
