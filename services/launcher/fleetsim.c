/* SPDX-License-Identifier: Apache-2.0 */
/* fleetsim - the launcher: one command to run a fleet simulation. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_log.h"
#include "launcher.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fleetsim COMMAND [options]\n"
		"\n"
		"Robotaxi fleet rollout simulator: vehicle nodes, dispatch and production as\n"
		"separate processes in deterministic lockstep over a ZeroMQ bus.\n"
		"\n"
		"Commands:\n"
		"  run        run a simulation (default city: Atlanta)\n"
		"  join       take part from this host in a run on another (docs/cluster.md)\n"
		"  rollout    the multi-year rollout: production ramps and sampled service days\n"
		"  replay     re-run a recorded run and check it tick by tick (replay FILE --verify)\n"
		"  version    print the version\n"
		"\n"
		"`fleetsim COMMAND --help` describes a command's options.\n"
		"Operate a running simulation with `fleetctl`.\n");
}

const char *launcher_exe_dir(void)
{
	static char dir[PATH_MAX];
	if (!dir[0]) {
		ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
		if (n <= 0) {
			snprintf(dir, sizeof(dir), ".");
		} else {
			dir[n] = '\0';
			char *slash = strrchr(dir, '/');
			if (slash) {
				*slash = '\0';
			}
		}
	}
	return dir;
}

int main(int argc, char **argv)
{
	fs_log_init("fleetsim", FS_LOG_INFO);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("fleetsim %s\n", FS_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run")) {
		return launcher_run(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "join")) {
		return launcher_join(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "rollout") || !strcmp(argv[1], "replay")) {
		/* Their own programs: each starts `fleetsim run` itself. */
		char exe[PATH_MAX];
		snprintf(exe, sizeof(exe), "%s/fs-%s", launcher_exe_dir(), argv[1]);
		argv[1] = exe;
		execv(exe, argv + 1);
		fs_error("cannot run %s: %s", exe, strerror(errno));
		return 1;
	}
	fs_error("unknown command '%s' (try `fleetsim --help`)", argv[1]);
	return 2;
}
