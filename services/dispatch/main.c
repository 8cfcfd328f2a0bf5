/* SPDX-License-Identifier: Apache-2.0 */
/* fs-dispatch - the ride platform: requests, matching, rebalancing, charging, KPIs. */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch_service.h"
#include "fs_args.h"
#include "fs_data.h"
#include "fs_workers.h"
#include "fs_log.h"
#include "fs_outfile.h"
#include "fs_scenario_msg.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fs-dispatch --network SPEC [options]\n"
		"\n"
		"The ride platform: turns demand into requests, matches them to vehicles, rebalances\n"
		"idle vehicles, decides who charges where, and reports KPIs. Normally started by\n"
		"`fleetsim run`. Settings come from the scenario (examples/default.yaml without\n"
		"--scenario); the flags override them. docs/dispatch.md.\n"
		"\n"
		"Options:\n"
		"  --bus ADDR               bus address\n"
		"  --name NAME              participant name (default dispatch)\n"
		"  --scenario FILE          demand, dispatch, depots, vehicle model from FILE\n"
		"  --phase P                city phase (fleet.phase): no riders in data-collection\n"
		"  --seed N                 run seed (demand stream)\n"
		"  --vehicles N             initial fleet, ids 0..N-1 (scenario fleet.size)\n"
		"  --network SPEC           road network, as the vehicle nodes get it\n"
		"  --data DIR               shipped data (default $FLEETSIM_DATA, the source tree's data/, or the installed share/fleetsim)\n"
		"  --out DIR                write trips.csv, dispatch_by_hour.csv, dispatch_by_zone.csv\n"
		"  --matcher batch|greedy   optimal assignment every batch or SUMO-style greedy\n"
		"  --batch-s S              matching period in seconds, both matchers (dispatch.batch)\n"
		"  --patience-s S           riders cancel when no car is offered within S (demand.patience)\n"
		"  --candidates K           nearest vehicles considered per request (default 8)\n"
		"  --demand-per-day N       generated requests per day (default: the scenario's\n"
		"                           demand.trips_per_day; the fleet size does not change it)\n"
		"  --demand-csv FILE        replay requests: t_request_s,origin_x,origin_y,dest_x,dest_y\n"
		"                           (metres) or ..._lat/_lon columns; times from the run's start\n"
		"  --profile FILE           demand profile CSV (demand.profile)\n"
		"  --fleet-csv FILE         fixed fleet vehicle_id,node[,soc]: checked against the network\n"
		"                           and --vehicles (the vehicle nodes place it)\n"
		"  --depots N               depots, as the vehicle nodes (city.depots)\n"
		"  --plugs-per-depot N      DC plugs at every depot (city.depots[].plugs)\n"
		"  --rebalance-s S          rebalancing period, 0 = off (dispatch.rebalance)\n"
		"  --charging yes|no        charging decisions (dispatch.charging)\n"
		"  --kpi-every-s S          KPI snapshot period on topic kpi (default 60, 0 = off)\n"
		"  --workers N              threads for the matching rounds (default: the processors this\n"
		"                           process may use); results do not depend on it\n"
		"  -h, --help               this text\n");
}

static bool positive_seconds(const char *opt, const char *text, double *ret, bool zero_ok)
{
	double v;
	if (!fs_args_double(text, &v) || v < 0 || (!zero_ok && v == 0) || v > 86400.0 * 365) {
		fs_error("%s: '%s' is not a %s number of seconds", opt, text, zero_ok ? "non-negative" : "positive");
		return false;
	}
	*ret = v;
	return true;
}

int main(int argc, char **argv)
{
	fs_log_init("fs-dispatch", FS_LOG_INFO);
	if (fs_args_version(argc, argv, "fs-dispatch")) {
		return 0;
	}
	argv[0] = (char *)"fs-dispatch"; /* getopt names the program in its one-line complaint */
	struct dispatch_config cfg = { .kpi_every_s = 60 }; /* the issue: a snapshot per simulated minute */
	fs_dispatch_params_defaults(&cfg.params);
	const char *address = NULL, *name = "dispatch", *scenario = NULL, *data_dir = NULL;
	uint32_t plugs_per_depot = 0;
	int phase = -1;
	/* what the command line sets; the rest comes from the scenario */
	bool g_seed = false, g_vehicles = false, g_depots = false, g_matcher = false, g_batch = false,
	     g_patience = false, g_demand = false, g_rebalance = false, g_charging = false;
	uint64_t u;
	double x;
	enum { OPT_BUS = 256, OPT_NAME, OPT_SEED, OPT_VEHICLES, OPT_NETWORK, OPT_DATA, OPT_OUT, OPT_MATCHER,
	       OPT_BATCH, OPT_PATIENCE, OPT_CANDIDATES, OPT_DEMAND, OPT_DEMAND_CSV, OPT_PROFILE, OPT_FLEET_CSV,
	       OPT_DEPOTS, OPT_PLUGS, OPT_REBALANCE, OPT_CHARGING, OPT_KPI, OPT_SCENARIO, OPT_PHASE, OPT_WORKERS };
	static const struct option options[] = {
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "vehicles", required_argument, NULL, OPT_VEHICLES },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "matcher", required_argument, NULL, OPT_MATCHER },
		{ "batch-s", required_argument, NULL, OPT_BATCH },
		{ "patience-s", required_argument, NULL, OPT_PATIENCE },
		{ "candidates", required_argument, NULL, OPT_CANDIDATES },
		{ "demand-per-day", required_argument, NULL, OPT_DEMAND },
		{ "demand-csv", required_argument, NULL, OPT_DEMAND_CSV },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "fleet-csv", required_argument, NULL, OPT_FLEET_CSV },
		{ "depots", required_argument, NULL, OPT_DEPOTS },
		{ "plugs-per-depot", required_argument, NULL, OPT_PLUGS },
		{ "rebalance-s", required_argument, NULL, OPT_REBALANCE },
		{ "charging", required_argument, NULL, OPT_CHARGING },
		{ "kpi-every-s", required_argument, NULL, OPT_KPI },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "scenario", required_argument, NULL, OPT_SCENARIO },
		{ "phase", required_argument, NULL, OPT_PHASE },
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
			g_seed = true;
			break;
		case OPT_SCENARIO:
			scenario = optarg;
			break;
		case OPT_PHASE:
			if (!strcmp(optarg, "data-collection")) {
				phase = FS_CITY_DATA_COLLECTION;
			} else if (!strcmp(optarg, "supervised")) {
				phase = FS_CITY_SUPERVISED;
			} else if (!strcmp(optarg, "driverless")) {
				phase = FS_CITY_DRIVERLESS;
			} else {
				fs_error("--phase: '%s' is not data-collection, supervised or driverless", optarg);
				return 2;
			}
			break;
		case OPT_VEHICLES:
		case OPT_CANDIDATES:
		case OPT_DEPOTS:
		case OPT_PLUGS:
		case OPT_KPI:
		case OPT_WORKERS:
			if (!fs_args_u64(optarg, &u) || u > UINT32_MAX || (opt == OPT_CANDIDATES && (u < 1 || u > 1024)) ||
			    (opt == OPT_DEPOTS && (u < 1 || u > FS_WORLD_MAX_DEPOTS)) || (opt == OPT_PLUGS && (u < 1 || u > UINT16_MAX)) ||
			    (opt == OPT_WORKERS && (u < 1 || u > FS_WORKERS_MAX))) {
				fs_error("%s: '%s' is not a valid count", argv[optind - 1], optarg);
				return 2;
			}
			*(opt == OPT_VEHICLES     ? &cfg.vehicles
			  : opt == OPT_CANDIDATES ? &cfg.params.candidates
			  : opt == OPT_DEPOTS     ? &cfg.depots
			  : opt == OPT_PLUGS      ? &plugs_per_depot
			  : opt == OPT_WORKERS    ? &cfg.workers
						  : &cfg.kpi_every_s) = (uint32_t)u;
			g_vehicles |= opt == OPT_VEHICLES;
			g_depots |= opt == OPT_DEPOTS;
			break;
		case OPT_NETWORK:
			cfg.network = optarg;
			break;
		case OPT_DATA:
			data_dir = optarg;
			break;
		case OPT_OUT:
			cfg.out_dir = optarg;
			break;
		case OPT_MATCHER:
			if (!strcmp(optarg, "batch")) {
				cfg.params.matcher = FS_DISPATCH_MATCH_BATCH;
			} else if (!strcmp(optarg, "greedy")) {
				cfg.params.matcher = FS_DISPATCH_MATCH_GREEDY;
			} else {
				fs_error("--matcher: '%s' is not batch or greedy", optarg);
				return 2;
			}
			g_matcher = true;
			break;
		case OPT_BATCH:
			if (!positive_seconds("--batch-s", optarg, &cfg.params.batch_s, false)) {
				return 2;
			}
			g_batch = true;
			break;
		case OPT_PATIENCE:
			if (!positive_seconds("--patience-s", optarg, &cfg.params.patience_s, false)) {
				return 2;
			}
			g_patience = true;
			break;
		case OPT_REBALANCE:
			if (!positive_seconds("--rebalance-s", optarg, &cfg.params.rebalance_s, true)) {
				return 2;
			}
			g_rebalance = true;
			break;
		case OPT_DEMAND:
			if (!fs_args_double(optarg, &x) || x < 0 || x > 1e9) {
				fs_error("--demand-per-day: '%s' is not a number of requests per day", optarg);
				return 2;
			}
			cfg.demand_per_day = x;
			g_demand = true;
			break;
		case OPT_DEMAND_CSV:
			cfg.demand_csv = optarg;
			break;
		case OPT_PROFILE:
			cfg.profile = optarg;
			break;
		case OPT_FLEET_CSV:
			cfg.fleet_csv = optarg;
			break;
		case OPT_CHARGING:
			if (strcmp(optarg, "yes") && strcmp(optarg, "no")) {
				fs_error("--charging: '%s' is not yes or no", optarg);
				return 2;
			}
			cfg.params.charging = !strcmp(optarg, "yes");
			g_charging = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return fs_args_try_help("fs-dispatch");
		}
	}
	if (optind < argc) {
		fs_error("unexpected argument '%s' (try --help)", argv[optind]);
		return 2;
	}
	if (!cfg.network) {
		fs_error("--network is required");
		return 2;
	}
	if (cfg.out_dir && fs_outfile_check_dir("--out", cfg.out_dir) < 0) {
		return 2; /* before the run, not after it */
	}
	/* the scenario first (its file:line:column errors stop us here), then the flags */
	if (!data_dir) {
		data_dir = fs_data_dir();
	}
	struct fs_scenario sc;
	if (fs_scenario_msg_load(scenario, &sc) < 0) {
		return 2;
	}
	char profile[PATH_MAX], replay[PATH_MAX];
	if (!g_seed) {
		cfg.seed = sc.seed;
	}
	if (!g_vehicles) {
		cfg.vehicles = sc.fleet_size;
	}
	if (!g_depots) {
		cfg.depots = sc.depot_count ? (uint32_t)sc.depot_count : 1;
	}
	if (cfg.depots > FS_WORLD_MAX_DEPOTS) {
		fs_error("%u depots: at most %d", cfg.depots, FS_WORLD_MAX_DEPOTS);
		fs_scenario_finish(&sc);
		return 2;
	}
	for (uint32_t k = 0; k < cfg.depots; k++) {
		/* depots the scenario does not describe get the last one's plugs */
		uint32_t plugs = plugs_per_depot ? plugs_per_depot
				 : sc.depot_count ? sc.depots[k < sc.depot_count ? k : sc.depot_count - 1].plugs
						  : 1;
		cfg.plugs[k] = (uint16_t)(plugs > UINT16_MAX ? UINT16_MAX : plugs);
	}
	if (!g_matcher) {
		cfg.params.matcher = sc.matcher == FS_SCN_MATCHER_GREEDY ? FS_DISPATCH_MATCH_GREEDY : FS_DISPATCH_MATCH_BATCH;
	}
	if (!g_batch && sc.batch_s > 0) {
		cfg.params.batch_s = sc.batch_s;
	}
	if (!g_patience && sc.patience_s > 0) {
		cfg.params.patience_s = sc.patience_s;
	}
	if (!g_rebalance) {
		cfg.params.rebalance_s = sc.rebalance_s;
	}
	if (!g_charging) {
		cfg.params.charging = sc.charging;
	}
	if (!g_demand) {
		/* the city's demand, whatever the fleet: a fleet too small leaves riders waiting */
		cfg.demand_per_day = sc.trips_per_day;
	}
	if (!cfg.profile) {
		if (strchr(sc.demand_profile, '/')) {
			snprintf(profile, sizeof(profile), "%s", sc.demand_profile);
		} else {
			snprintf(profile, sizeof(profile), "%s/demand/%s_profile.csv", data_dir, sc.demand_profile);
		}
		cfg.profile = profile;
	}
	if (!cfg.demand_csv && sc.demand_replay[0]) {
		snprintf(replay, sizeof(replay), "%s", sc.demand_replay);
		cfg.demand_csv = replay;
	}
	cfg.data_dir = data_dir;
	if ((phase < 0 ? sc.phase : phase) == FS_CITY_DATA_COLLECTION) {
		/* human-driven mapping drives: the platform offers no rides in the city yet */
		fs_info("city phase data-collection: no rider requests");
		cfg.demand_per_day = 0;
		cfg.demand_csv = NULL;
	}
	cfg.params.battery_kwh = sc.vehicle.battery_kwh;
	cfg.params.kwh_per_km = sc.vehicle.kwh_per_km;
	cfg.params.av_stack_kw = sc.vehicle.av_stack_kw;
	cfg.params.job_reserve_soc = sc.vehicle.job_reserve_soc;
	cfg.params.charge_target_soc = sc.vehicle.charge_target_soc;
	cfg.params.max_rain = sc.vehicle.max_rain;
	cfg.params.seed = cfg.seed; /* the riders' draws, as the vehicle nodes make them */
	cfg.params.riders = sc.riders;
	cfg.params.max_wait_s = sc.vehicle.max_wait_s; /* how long a car waits at the kerb */
	cfg.scenario = &sc;
	if (cfg.params.max_pickup_eta_s > cfg.params.patience_s) {
		cfg.params.max_pickup_eta_s = cfg.params.patience_s; /* never quote past the rider's patience */
	}
	fs_log_init(name, FS_LOG_INFO);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* inputs are read and checked here, before the run: bad files stop us with file:line */
	struct dispatch_service *s = dispatch_service_create(&cfg);
	fs_scenario_finish(&sc); /* the service keeps its own copy */
	if (!s) {
		return 1;
	}
	static const char *const subs[] = { "veh.state", "veh.event", FS_SCENARIO_APPLY_TOPIC, NULL };
	struct fs_participant_config pcfg = {
		.address = address, .name = name, .role = "dispatch", .shard = 0, .shard_count = 1, .subscriptions = subs,
	};
	int rc = fs_participant_run(&pcfg, &dispatch_service_ops, s, &stop);
	dispatch_service_destroy(s);
	return rc == 0 || rc == -EINTR ? 0 : 1;
}
