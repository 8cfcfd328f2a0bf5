/* SPDX-License-Identifier: Apache-2.0 */
/* fs-vehicle - a vehicle-node process (one shard of the fleet). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/vehicle.h"
#include "fs_args.h"
#include "fs_log.h"
#include "fs_scenario_msg.h"
#include "fs_service.h"
#include "vehicle_node.h"

static volatile sig_atomic_t stop;

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

/* The command line, before the scenario fills in what it does not say. */
struct vehicle_args {
	struct vehicle_node_config cfg;
	const char *bus, *name, *scenario, *out;
	int self_charge;                       /* 0 no, 1 yes */
	bool seed, vehicles, depots, phase;    /* given: they override the scenario */
	char default_name[32];
};


/* The scenario's values where no flag gave one; without a file the flags' defaults stand. */
static int merge_scenario(void *args, const struct fs_scenario *sc)
{
	struct vehicle_args *a = args;
	struct vehicle_node_config *c = &a->cfg;
	if (a->scenario) {
		c->seed = a->seed ? c->seed : sc->seed;
		c->vehicles = a->vehicles ? c->vehicles : sc->fleet_size;
		c->depots = a->depots ? c->depots : (uint32_t)sc->depot_count;
		c->phase = a->phase ? c->phase : sc->phase;
	}
	c->scenario = sc;
	if (!c->network) {
		fs_error("--network is required");
		return -EINVAL;
	}
	if (c->shards == 0 || c->shard >= c->shards) {
		fs_error("--shard %u is not below --shards %u", c->shard, c->shards);
		return -EINVAL;
	}
	if (!a->name) {
		snprintf(a->default_name, sizeof(a->default_name), "vehicle-%u", c->shard);
		a->name = a->default_name;
	}
	return 0;
}

/* The options, then the scenario under them: FS_SERVICE_GO_ON with @sc loaded, or the exit status. */
static int configure(int argc, char **argv, struct vehicle_args *a, struct fs_scenario *sc)
{
	static const char *const no_yes[] = { "no", "yes", NULL };
	struct vehicle_node_config *c = &a->cfg;
	const struct fs_opt opts[] = {
		{ "bus", FS_OPT_STRING, &a->bus },
		{ "name", FS_OPT_STRING, &a->name },
		{ "seed", FS_OPT_U64, &c->seed, &a->seed, .what = "a non-negative integer" },
		{ "shard", FS_OPT_U32, &c->shard, .what = "a count", .as_given = true },
		{ "shards", FS_OPT_U32, &c->shards, .what = "a count", .as_given = true },
		{ "vehicles", FS_OPT_U32, &c->vehicles, &a->vehicles, .what = "a count", .as_given = true },
		{ "network", FS_OPT_STRING, &c->network },
		{ "depots", FS_OPT_U32, &c->depots, &a->depots, .what = "a count", .as_given = true },
		{ "keyframe-every-ms", FS_OPT_U32, &c->keyframe_every_ms, .what = "a count", .as_given = true },
		{ "phase", FS_OPT_CHOICE, &c->phase, &a->phase, .choice_name = fs_scenario_phase_name,
		  .what = "data-collection, supervised or driverless" },
		{ "self-charge", FS_OPT_CHOICE, &a->self_charge, .choices = no_yes, .what = "yes or no" },
		{ "out", FS_OPT_STRING, &a->out }, /* per-vehicle exports come with the recording work */
		{ "scenario", FS_OPT_STRING, &a->scenario },
		{ "fleet-csv", FS_OPT_STRING, &c->fleet_csv },
		{ "data", FS_OPT_STRING, &c->data_dir },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "fs-vehicle", .usage = usage, .opts = opts,
					      .operands_ignored = true };
	int rc = fs_service_parse(&spec, argc, argv, NULL);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	c->self_charge = a->self_charge == 1;
	return fs_service_scenario(a->scenario, sc, merge_scenario, a) == 0 ? FS_SERVICE_GO_ON : 2;
}

int main(int argc, char **argv)
{
	if (fs_service_begin(argc, argv, "fs-vehicle")) {
		return 0;
	}
	struct vehicle_args a = { .cfg = { .shards = 1, .vehicles = 300, .depots = 4, .keyframe_every_ms = 60000,
					   .phase = FS_CITY_DRIVERLESS },
				  .self_charge = 1 };
	struct fs_scenario sc;
	int rc = configure(argc, argv, &a, &sc);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	fs_service_start(a.name, &stop);

	struct vehicle_node *node = vehicle_node_create(&a.cfg);
	fs_scenario_finish(&sc); /* the node keeps its own copy */
	if (!node) {
		return 1;
	}
	static const char *const subs[] = { "ride.job", "prod.delivery", "world.traffic", FS_SCENARIO_APPLY_TOPIC, NULL };
	struct fs_participant_config pcfg = {
		.address = a.bus, .name = a.name, .role = "vehicle", .shard = a.cfg.shard, .shard_count = a.cfg.shards,
		.subscriptions = subs,
	};
	int status = fs_service_participate(&pcfg, &vehicle_node_ops, node, &stop);
	vehicle_node_destroy(node);
	return status;
}
