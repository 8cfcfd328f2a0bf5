/* SPDX-License-Identifier: Apache-2.0 */
/* fs-production - the production service: OEM ramps, integration and deliveries. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/production.h"
#include "fs/scenario.h"
#include "fs_args.h"
#include "fs_log.h"
#include "fs_scenario_msg.h"
#include "fs_service.h"
#include "production_node.h"

static volatile sig_atomic_t stop;

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
		"  --city NAME              city simulated in detail (default: the scenario's\n"
		"                           city.name; one outside the plan gets no deliveries)\n"
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

struct production_args {
	struct production_node_config cfg;
	const char *bus, *name, *scenario, *out;
	bool file_events_in_plan; /* --no-scenario-events */
};

static int parse_args(int argc, char **argv, struct production_args *a)
{
	struct production_node_config *c = &a->cfg;
	const struct fs_opt opts[] = {
		{ "bus", FS_OPT_STRING, &a->bus },
		{ "name", FS_OPT_STRING, &a->name },
		{ "seed", FS_OPT_U64, &c->seed, .what = "a non-negative integer" },
		{ "city", FS_OPT_STRING, &c->city },
		{ "first-vehicle-id", FS_OPT_U32, &c->first_vehicle_id, .max = UINT32_MAX / 2, .what = "a count",
		  .as_given = true },
		{ "depots", FS_OPT_U32, &c->depots, .min = 1, .max = UINT32_MAX / 2, .what = "a count", .as_given = true },
		{ "out", FS_OPT_STRING, &a->out }, /* accepted for symmetry: results go to summary.json */
		{ "scenario", FS_OPT_STRING, &a->scenario },
		{ "no-scenario-events", FS_OPT_SET, &a->file_events_in_plan },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "fs-production", .usage = usage, .opts = opts };
	return fs_service_parse(&spec, argc, argv, NULL);
}

/*
 * The scenario (or the defaults, which are the same plan): the model's
 * params, and the rules to validate the scheduled events with. The file's
 * production events reach us from the conductor at their ticks, as injected
 * ones do (production_node.h): not twice. Unless the conductor schedules none
 * of them: then they are the plan's history.
 */
static struct production_node *create_node(struct production_args *a, const struct fs_scenario *sc)
{
	struct fs_production_params *params = fs_xcalloc(1, sizeof(*params));
	struct fs_error err = { { 0 } };
	if (fs_production_params_from_scenario(sc, params, &err) < 0) {
		fs_error("%s: %s", a->scenario ? a->scenario : "defaults", err.message);
		free(params);
		return NULL;
	}
	if (!a->file_events_in_plan) {
		params->disruption_count = 0;
	}
	a->cfg.scenario = sc;
	struct production_node *node = production_node_create(&a->cfg, params);
	free(params);
	return node;
}

int main(int argc, char **argv)
{
	if (fs_service_begin(argc, argv, "fs-production")) {
		return 0;
	}
	struct production_args a = { .cfg = { .seed = 1, .depots = 4 }, .name = "production" };
	int rc = parse_args(argc, argv, &a);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	fs_service_start(a.name, &stop);

	struct fs_scenario sc;
	if (fs_scenario_msg_load(a.scenario, &sc) < 0) {
		return 2; /* the loader said where and why */
	}
	struct production_node *node = create_node(&a, &sc);
	fs_scenario_finish(&sc);
	if (!node) {
		return 2;
	}
	static const char *const subs[] = { "scn.cmd", NULL };
	struct fs_participant_config pcfg = {
		.address = a.bus, .name = a.name, .role = "production", .shard = 0, .shard_count = 1,
		.subscriptions = subs,
	};
	int status = fs_service_participate(&pcfg, &production_node_ops, node, &stop);
	production_node_destroy(node);
	return status;
}
