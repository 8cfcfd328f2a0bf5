/* SPDX-License-Identifier: Apache-2.0 */
/* fs-dispatch - the ride platform: requests, matching, rebalancing, charging, KPIs. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch_service.h"
#include "fs_args.h"
#include "fs_data.h"
#include "fs_log.h"
#include "fs_outfile.h"
#include "fs_scenario_msg.h"
#include "fs_service.h"
#include "fs_workers.h"

static volatile sig_atomic_t stop;

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
		"  --workers N              threads for the matching rounds and new requests (default:\n"
		"                           the processors this process may use); results do not depend on it\n"
		"  -h, --help               this text\n");
}

/* The command line, before the scenario fills in what it does not say. */
struct dispatch_args {
	struct dispatch_config cfg;
	const char *bus, *name, *scenario, *data_dir;
	uint32_t plugs_per_depot; /* 0: the scenario's per depot */
	int phase;                /* -1: the scenario's */
	int matcher, charging;    /* FS_DISPATCH_MATCH_*, 0 no / 1 yes: when given */
	bool seed, vehicles, depots, matcher_given, batch, patience, demand, rebalance, charging_given; /* given */
	char profile[PATH_MAX], replay[PATH_MAX];
};


/* Each depot's plugs: the flag's, else the scenario's (depots it does not describe get the last one's). */
static int merge_depots(struct dispatch_args *a, const struct fs_scenario *sc)
{
	struct dispatch_config *c = &a->cfg;
	if (!a->depots) {
		c->depots = sc->depot_count ? (uint32_t)sc->depot_count : 1;
	}
	if (c->depots > FS_WORLD_MAX_DEPOTS) {
		fs_error("%u depots: at most %d", c->depots, FS_WORLD_MAX_DEPOTS);
		return -EINVAL;
	}
	for (uint32_t k = 0; k < c->depots; k++) {
		uint32_t plugs = a->plugs_per_depot ? a->plugs_per_depot
				 : sc->depot_count ? sc->depots[k < sc->depot_count ? k : sc->depot_count - 1].plugs
						   : 1;
		c->plugs[k] = (uint16_t)(plugs > UINT16_MAX ? UINT16_MAX : plugs);
	}
	return 0;
}

/* The scenario's settings where no flag gave one; the vehicle model always from it. */
static int merge_scenario(void *args, const struct fs_scenario *sc)
{
	struct dispatch_args *a = args;
	struct dispatch_config *c = &a->cfg;
	struct fs_dispatch_params *p = &c->params;
	c->seed = a->seed ? c->seed : sc->seed;
	c->vehicles = a->vehicles ? c->vehicles : sc->fleet_size;
	if (merge_depots(a, sc) < 0) {
		return -EINVAL;
	}
	if (!a->matcher_given) {
		p->matcher = sc->matcher == FS_SCN_MATCHER_GREEDY ? FS_DISPATCH_MATCH_GREEDY : FS_DISPATCH_MATCH_BATCH;
	}
	if (!a->batch && sc->batch_s > 0) {
		p->batch_s = sc->batch_s;
	}
	if (!a->patience && sc->patience_s > 0) {
		p->patience_s = sc->patience_s;
	}
	p->rebalance_s = a->rebalance ? p->rebalance_s : sc->rebalance_s;
	p->charging = a->charging_given ? p->charging : sc->charging;
	/* the city's demand, whatever the fleet: a fleet too small leaves riders waiting */
	c->demand_per_day = a->demand ? c->demand_per_day : sc->trips_per_day;
	if (!c->profile) {
		if (strchr(sc->demand_profile, '/')) {
			snprintf(a->profile, sizeof(a->profile), "%s", sc->demand_profile);
		} else {
			snprintf(a->profile, sizeof(a->profile), "%s/demand/%s_profile.csv", a->data_dir, sc->demand_profile);
		}
		c->profile = a->profile;
	}
	if (!c->demand_csv && sc->demand_replay[0]) {
		snprintf(a->replay, sizeof(a->replay), "%s", sc->demand_replay);
		c->demand_csv = a->replay;
	}
	c->data_dir = a->data_dir;
	if ((a->phase < 0 ? sc->phase : a->phase) == FS_CITY_DATA_COLLECTION) {
		/* human-driven mapping drives: the platform offers no rides in the city yet */
		fs_info("city phase data-collection: no rider requests");
		c->demand_per_day = 0;
		c->demand_csv = NULL;
	}
	p->battery_kwh = sc->vehicle.battery_kwh;
	p->kwh_per_km = sc->vehicle.kwh_per_km;
	p->av_stack_kw = sc->vehicle.av_stack_kw;
	p->job_reserve_soc = sc->vehicle.job_reserve_soc;
	p->charge_target_soc = sc->vehicle.charge_target_soc;
	p->max_rain = sc->vehicle.max_rain;
	p->seed = c->seed; /* the riders' draws, as the vehicle nodes make them */
	p->riders = sc->riders;
	p->max_wait_s = sc->vehicle.max_wait_s; /* how long a car waits at the kerb */
	c->scenario = sc;
	if (p->max_pickup_eta_s > p->patience_s) {
		p->max_pickup_eta_s = p->patience_s; /* never quote past the rider's patience */
	}
	return 0;
}

/* The options, then the scenario under them: FS_SERVICE_GO_ON with @sc loaded, or the exit status. */
static int configure(int argc, char **argv, struct dispatch_args *a, struct fs_scenario *sc)
{
	static const char *const matchers[] = { "batch", "greedy", NULL }; /* FS_DISPATCH_MATCH_* order */
	static const char *const no_yes[] = { "no", "yes", NULL };
	struct dispatch_config *c = &a->cfg;
	const double year_s = 86400.0 * 365;
	const struct fs_opt opts[] = {
		{ "bus", FS_OPT_STRING, &a->bus },
		{ "name", FS_OPT_STRING, &a->name },
		{ "seed", FS_OPT_U64, &c->seed, &a->seed, .what = "a non-negative integer" },
		{ "vehicles", FS_OPT_U32, &c->vehicles, &a->vehicles, .what = "a valid count", .as_given = true },
		{ "network", FS_OPT_STRING, &c->network },
		{ "data", FS_OPT_STRING, &a->data_dir },
		{ "out", FS_OPT_STRING, &c->out_dir },
		{ "matcher", FS_OPT_CHOICE, &a->matcher, &a->matcher_given, .choices = matchers, .what = "batch or greedy" },
		{ "batch-s", FS_OPT_DOUBLE, &c->params.batch_s, &a->batch, .lo_open = true, .hi = year_s,
		  .what = "a positive number of seconds" },
		{ "patience-s", FS_OPT_DOUBLE, &c->params.patience_s, &a->patience, .lo_open = true, .hi = year_s,
		  .what = "a positive number of seconds" },
		{ "candidates", FS_OPT_U32, &c->params.candidates, .min = 1, .max = 1024, .what = "a valid count",
		  .as_given = true },
		{ "demand-per-day", FS_OPT_DOUBLE, &c->demand_per_day, &a->demand, .hi = 1e9,
		  .what = "a number of requests per day" },
		{ "demand-csv", FS_OPT_STRING, &c->demand_csv },
		{ "profile", FS_OPT_STRING, &c->profile },
		{ "fleet-csv", FS_OPT_STRING, &c->fleet_csv },
		{ "depots", FS_OPT_U32, &c->depots, &a->depots, .min = 1, .max = FS_WORLD_MAX_DEPOTS,
		  .what = "a valid count", .as_given = true },
		{ "plugs-per-depot", FS_OPT_U32, &a->plugs_per_depot, .min = 1, .max = UINT16_MAX, .what = "a valid count",
		  .as_given = true },
		{ "rebalance-s", FS_OPT_DOUBLE, &c->params.rebalance_s, &a->rebalance, .hi = year_s,
		  .what = "a non-negative number of seconds" },
		{ "charging", FS_OPT_CHOICE, &a->charging, &a->charging_given, .choices = no_yes, .what = "yes or no" },
		{ "kpi-every-s", FS_OPT_U32, &c->kpi_every_s, .what = "a valid count", .as_given = true },
		{ "workers", FS_OPT_U32, &c->workers, .min = 1, .max = FS_WORKERS_MAX, .what = "a valid count",
		  .as_given = true },
		{ "scenario", FS_OPT_STRING, &a->scenario },
		{ "phase", FS_OPT_CHOICE, &a->phase, .choice_name = fs_scenario_phase_name,
		  .what = "data-collection, supervised or driverless" },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "fs-dispatch", .usage = usage, .opts = opts,
					      .unexpected_suffix = " (try --help)" };
	int rc = fs_service_parse(&spec, argc, argv, NULL);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	c->params.matcher = a->matcher == 1 ? FS_DISPATCH_MATCH_GREEDY : FS_DISPATCH_MATCH_BATCH;
	c->params.charging = a->charging == 1;
	if (!c->network) {
		fs_error("--network is required");
		return 2;
	}
	if (c->out_dir && fs_outfile_check_dir("--out", c->out_dir) < 0) {
		return 2; /* before the run, not after it */
	}
	if (!a->data_dir) {
		a->data_dir = fs_data_dir();
	}
	/* the scenario first (its file:line:column errors stop us here), then the flags */
	return fs_service_scenario(a->scenario, sc, merge_scenario, a) == 0 ? FS_SERVICE_GO_ON : 2;
}

int main(int argc, char **argv)
{
	if (fs_service_begin(argc, argv, "fs-dispatch")) {
		return 0;
	}
	struct dispatch_args a = { .cfg.kpi_every_s = 60, /* the issue: a snapshot per simulated minute */
				   .name = "dispatch", .phase = -1 };
	fs_dispatch_params_defaults(&a.cfg.params);
	struct fs_scenario sc;
	int rc = configure(argc, argv, &a, &sc);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	fs_service_start(a.name, &stop);

	/* inputs are read and checked here, before the run: bad files stop us with file:line */
	struct dispatch_service *s = dispatch_service_create(&a.cfg);
	fs_scenario_finish(&sc); /* the service keeps its own copy */
	if (!s) {
		return 1;
	}
	static const char *const subs[] = { "veh.state", "veh.event", FS_SCENARIO_APPLY_TOPIC, NULL };
	struct fs_participant_config pcfg = {
		.address = a.bus, .name = a.name, .role = "dispatch", .shard = 0, .shard_count = 1, .subscriptions = subs,
	};
	int status = fs_service_participate(&pcfg, &dispatch_service_ops, s, &stop);
	dispatch_service_destroy(s);
	return status;
}
