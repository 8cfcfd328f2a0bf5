/* SPDX-License-Identifier: Apache-2.0 */
/* fleetsim - the launcher: one command to run a fleet simulation. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_args.h"
#include "fs_log.h"
#include "fs_paths.h"
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
		"`fleetsim COMMAND --help` describes a command's options; --version prints the\n"
		"version.\n"
		"Operate a running simulation with `fleetctl`.\n");
}

int main(int argc, char **argv)
{
	fs_log_init("fleetsim", FS_LOG_INFO);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (fs_args_version(argc, argv, "fleetsim")) {
		return 0; /* `fleetsim --version`, also after a command: `fleetsim run --version` */
	}
	if (!strcmp(argv[1], "version")) {
		printf("fleetsim %s\n", FS_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run")) {
		argv[1] = (char *)"fleetsim run"; /* getopt names the command in its one-line complaint */
		return launcher_run(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "join")) {
		return launcher_join(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "rollout") || !strcmp(argv[1], "replay")) {
		/* Their own programs: each starts `fleetsim run` itself. */
		char name[32], exe[PATH_MAX];
		snprintf(name, sizeof(name), "fs-%s", argv[1]);
		fs_paths_helper(name, exe, sizeof(exe));
		/* argv[0] is the name it gives in help and messages: what the user typed */
		argv[1] = (char *)(!strcmp(argv[1], "rollout") ? "fleetsim rollout" : "fleetsim replay");
		execv(exe, argv + 1);
		fs_error("cannot run %s: %s", exe, strerror(errno));
		return 1;
	}
	fs_error("unknown command '%s' (try `fleetsim --help`)", argv[1]);
	return 2;
}
