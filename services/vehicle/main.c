/* SPDX-License-Identifier: Apache-2.0 */
/* fs-vehicle - a vehicle-node process (one shard of the fleet). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/vehicle.h"
#include "fs_args.h"
#include "fs_log.h"
#include "fs_scenario_msg.h"
#include "vehicle_node.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fs-vehicle --network SPEC [options]\n"
		"\n"
		"A vehicle-node process: simulates the DRIVE AGX Hyperion 10 vehicles whose id\n"
		"falls in its shard (id %% shards == shard). Normally started by `fleetsim run`.\n"
		"\n"
		"Options:\n"
		"  --bus ADDR               bus address\n"
		"  --name NAME              participant name (default vehicle-SHARD)\n"
		"  --seed N                 run seed\n"
		"  --shard I --shards N     this process hosts ids with id %% N == I (default 0 of 1)\n"
		"  --vehicles N             initial fleet size over all shards (default 300)\n"
		"  --network SPEC           road network (see `fleetsim run --help`)\n"
		"  --depots N               depots in the city (default 4)\n"
		"  --keyframe-every-ms N    period of keyframes (every vehicle, on veh.snapshot) in simulated ms\n"
		"                           (default 60000, 0 = never); changes go on veh.state every tick\n"
		"  --phase P                city phase: data-collection, supervised, driverless (default)\n"
		"  --self-charge yes|no     go charging without dispatch (default yes)\n"
		"  --fleet-csv FILE         start positions vehicle_id,node[,soc] instead of seeded ones\n"
		"  --scenario FILE          vehicle model, fleet, depots, releases from FILE; flags override\n"
		"  --data DIR               shipped data for the traffic's hour factors (default as fs-dispatch)\n"
		"  --version                print the version\n"
		"  -h, --help               this text\n");
}

int main(int argc, char **argv)
{
	fs_log_init("fs-vehicle", FS_LOG_INFO);
	if (fs_args_version(argc, argv, "fs-vehicle")) {
		return 0;
	}
	argv[0] = (char *)"fs-vehicle"; /* getopt names the program in its one-line complaint */
	struct vehicle_node_config cfg = { .shards = 1, .vehicles = 300, .depots = 4, .keyframe_every_ms = 60000,
					   .phase = FS_CITY_DRIVERLESS, .self_charge = true };
	const char *address = NULL, *name = NULL, *scenario = NULL;
	bool given[4] = { false }; /* seed, vehicles, depots, phase: flags override the scenario */
	uint64_t u;
	enum { OPT_BUS = 256, OPT_NAME, OPT_SEED, OPT_SHARD, OPT_SHARDS, OPT_VEHICLES, OPT_NETWORK, OPT_DEPOTS,
	       OPT_PUBLISH, OPT_PHASE, OPT_SELF_CHARGE, OPT_OUT, OPT_SCENARIO, OPT_FLEET_CSV, OPT_DATA };
	static const struct option options[] = {
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "shard", required_argument, NULL, OPT_SHARD },
		{ "shards", required_argument, NULL, OPT_SHARDS },
		{ "vehicles", required_argument, NULL, OPT_VEHICLES },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "depots", required_argument, NULL, OPT_DEPOTS },
		{ "keyframe-every-ms", required_argument, NULL, OPT_PUBLISH },
		{ "phase", required_argument, NULL, OPT_PHASE },
		{ "self-charge", required_argument, NULL, OPT_SELF_CHARGE },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "scenario", required_argument, NULL, OPT_SCENARIO },
		{ "fleet-csv", required_argument, NULL, OPT_FLEET_CSV },
		{ "data", required_argument, NULL, OPT_DATA },
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
			given[0] = true;
			break;
		case OPT_SHARD:
		case OPT_SHARDS:
		case OPT_VEHICLES:
		case OPT_DEPOTS:
		case OPT_PUBLISH:
			if (!fs_args_u64(optarg, &u) || u > UINT32_MAX) {
				fs_error("%s: '%s' is not a count", argv[optind - 1], optarg);
				return 2;
			}
			given[1] |= opt == OPT_VEHICLES;
			given[2] |= opt == OPT_DEPOTS;
			*(opt == OPT_SHARD    ? &cfg.shard
			  : opt == OPT_SHARDS ? &cfg.shards
			  : opt == OPT_VEHICLES ? &cfg.vehicles
			  : opt == OPT_DEPOTS ? &cfg.depots
					      : &cfg.keyframe_every_ms) = (uint32_t)u;
			break;
		case OPT_NETWORK:
			cfg.network = optarg;
			break;
		case OPT_PHASE:
			if (!strcmp(optarg, "data-collection")) {
				cfg.phase = FS_CITY_DATA_COLLECTION;
			} else if (!strcmp(optarg, "supervised")) {
				cfg.phase = FS_CITY_SUPERVISED;
			} else if (!strcmp(optarg, "driverless")) {
				cfg.phase = FS_CITY_DRIVERLESS;
			} else {
				fs_error("--phase: '%s' is not data-collection, supervised or driverless", optarg);
				return 2;
			}
			given[3] = true;
			break;
		case OPT_SELF_CHARGE:
			if (strcmp(optarg, "yes") && strcmp(optarg, "no")) {
				fs_error("--self-charge: '%s' is not yes or no", optarg);
				return 2;
			}
			cfg.self_charge = !strcmp(optarg, "yes");
			break;
		case OPT_OUT:
			break; /* per-vehicle exports come with the recording work */
		case OPT_FLEET_CSV:
			cfg.fleet_csv = optarg;
			break;
		case OPT_SCENARIO:
			scenario = optarg;
			break;
		case OPT_DATA:
			cfg.data_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fs_args_try_help("fs-vehicle");
		}
	}
	struct fs_scenario sc;
	if (fs_scenario_msg_load(scenario, &sc) < 0) {
		return 2;
	}
	if (scenario) {
		cfg.seed = given[0] ? cfg.seed : sc.seed;
		cfg.vehicles = given[1] ? cfg.vehicles : sc.fleet_size;
		cfg.depots = given[2] ? cfg.depots : (uint32_t)sc.depot_count;
		cfg.phase = given[3] ? cfg.phase : sc.phase;
	}
	cfg.scenario = &sc;
	if (!cfg.network) {
		fs_error("--network is required");
		fs_scenario_finish(&sc);
		return 2;
	}
	if (cfg.shards == 0 || cfg.shard >= cfg.shards) {
		fs_error("--shard %u is not below --shards %u", cfg.shard, cfg.shards);
		return 2;
	}
	char default_name[32];
	snprintf(default_name, sizeof(default_name), "vehicle-%u", cfg.shard);
	if (!name) {
		name = default_name;
	}
	fs_log_init(name, FS_LOG_INFO);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct vehicle_node *node = vehicle_node_create(&cfg);
	fs_scenario_finish(&sc); /* the node keeps its own copy */
	if (!node) {
		return 1;
	}
	static const char *const subs[] = { "ride.job", "prod.delivery", "world.traffic", FS_SCENARIO_APPLY_TOPIC, NULL };
	struct fs_participant_config pcfg = {
		.address = address, .name = name, .role = "vehicle", .shard = cfg.shard, .shard_count = cfg.shards,
		.subscriptions = subs,
	};
	int rc = fs_participant_run(&pcfg, &vehicle_node_ops, node, &stop);
	vehicle_node_destroy(node);
	return rc == 0 || rc == -EINTR ? 0 : 1;
}
