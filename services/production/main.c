/* SPDX-License-Identifier: Apache-2.0 */
/* fs-production - the production service: OEM ramps, integration and deliveries. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/production.h"
#include "fs/scenario.h"
#include "fs_args.h"
#include "fs_log.h"
#include "fs_scenario_msg.h"
#include "production_node.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fs-production [options]\n"
		"\n"
		"The production service: advances the OEM programmes, the Foxconn integration\n"
		"and calibration pipeline and the city rollout with the run's simulated days;\n"
		"publishes stage counts daily (prod.stage) and the vehicles delivered to the\n"
		"city simulated in detail (prod.delivery). Normally started by `fleetsim run`.\n"
		"\n"
		"Options:\n"
		"  --bus ADDR               bus address\n"
		"  --name NAME              participant name (default production)\n"
		"  --seed N                 run seed (default 1)\n"
		"  --city NAME              city simulated in detail (default atlanta)\n"
		"  --first-vehicle-id N     id of the first delivered vehicle: the run's initial\n"
		"                           fleet size, so new ids follow the vehicle nodes' own\n"
		"                           (default 0)\n"
		"  --depots N               depots of the detailed city (default 4)\n"
		"  --scenario FILE          programmes, stages and rollout cities from a scenario\n"
		"                           file (default: examples/default.yaml's plan); its events\n"
		"                           arrive from the conductor, which must get the same file\n"
		"  --no-scenario-events     the conductor schedules none of the file's events (a window\n"
		"                           of a longer scenario): its production events are then part\n"
		"                           of the plan this node simulates\n"
		"  --out DIR                accepted for symmetry; results go to summary.json\n"
		"  --version                print the version\n"
		"  -h, --help               this text\n");
}

int main(int argc, char **argv)
{
	fs_log_init("fs-production", FS_LOG_INFO);
	if (fs_args_version(argc, argv, "fs-production")) {
		return 0;
	}
	argv[0] = (char *)"fs-production"; /* getopt names the program in its one-line complaint */
	struct production_node_config cfg = { .seed = 1, .city = "atlanta", .depots = 4 };
	const char *address = NULL, *name = "production", *scenario = NULL;
	bool file_events_in_plan = false;
	uint64_t u;
	enum { OPT_BUS = 256, OPT_NAME, OPT_SEED, OPT_CITY, OPT_FIRST_ID, OPT_DEPOTS, OPT_OUT, OPT_SCENARIO, OPT_NO_EVENTS };
	static const struct option options[] = {
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "city", required_argument, NULL, OPT_CITY },
		{ "first-vehicle-id", required_argument, NULL, OPT_FIRST_ID },
		{ "depots", required_argument, NULL, OPT_DEPOTS },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "scenario", required_argument, NULL, OPT_SCENARIO },
		{ "no-scenario-events", no_argument, NULL, OPT_NO_EVENTS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_BUS:
			address = optarg;
			break;
		case OPT_NAME:
			name = optarg;
			break;
		case OPT_SEED:
			if (!fs_args_u64(optarg, &cfg.seed)) {
				fs_error("--seed: '%s' is not a non-negative integer", optarg);
				return 2;
			}
			break;
		case OPT_CITY:
			cfg.city = optarg;
			break;
		case OPT_FIRST_ID:
		case OPT_DEPOTS:
			if (!fs_args_u64(optarg, &u) || u > UINT32_MAX / 2 || (opt == OPT_DEPOTS && u == 0)) {
				fs_error("%s: '%s' is not a count", argv[optind - 1], optarg);
				return 2;
			}
			*(opt == OPT_FIRST_ID ? &cfg.first_vehicle_id : &cfg.depots) = (uint32_t)u;
			break;
		case OPT_OUT:
			break;
		case OPT_SCENARIO:
			scenario = optarg;
			break;
		case OPT_NO_EVENTS:
			file_events_in_plan = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fs_args_try_help("fs-production");
		}
	}
	if (optind < argc) {
		fs_error("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	fs_log_init(name, FS_LOG_INFO);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* The scenario (or the defaults, which are the same plan): the model's
	 * params, and the rules to validate the scheduled events with. */
	struct fs_scenario sc;
	if (fs_scenario_msg_load(scenario, &sc) < 0) {
		return 2; /* the loader said where and why */
	}
	struct fs_production_params *params = fs_xcalloc(1, sizeof(*params));
	struct fs_error err = { { 0 } };
	if (fs_production_params_from_scenario(&sc, params, &err) < 0) {
		fs_error("%s: %s", scenario ? scenario : "defaults", err.message);
		fs_scenario_finish(&sc);
		free(params);
		return 2;
	}
	/* The file's production events reach us from the conductor at their
	 * ticks, as injected ones do (production_node.h): not twice. Unless the
	 * conductor schedules none of them: then they are the plan's history. */
	if (!file_events_in_plan) {
		params->disruption_count = 0;
	}
	cfg.scenario = &sc;
	struct production_node *node = production_node_create(&cfg, params);
	free(params);
	fs_scenario_finish(&sc);
	if (!node) {
		return 2;
	}
	static const char *const subs[] = { "scn.cmd", NULL };
	struct fs_participant_config pcfg = {
		.address = address, .name = name, .role = "production", .shard = 0, .shard_count = 1,
		.subscriptions = subs,
	};
	int rc = fs_participant_run(&pcfg, &production_node_ops, node, &stop);
	production_node_destroy(node);
	return rc == 0 || rc == -EINTR ? 0 : 1;
}
