/* SPDX-License-Identifier: Apache-2.0 */
/* run_plan.c - the processes of a run and their command lines (run_plan.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_args.h"
#include "fs_log.h"
#include "fs_paths.h"
#include "launcher.h"
#include "run_plan.h"

static void arg(struct plan_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct plan_argv *a, const char *fmt, ...)
{
	if (a->count >= MAX_ARGS) {
		fs_error("internal: too many arguments");
		abort();
	}
	/* sized to fit: the participant list of a many-shard run is longer than any path */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *buf = fs_xcalloc((size_t)(n > 0 ? n : 0) + 1, 1);
	va_start(ap, fmt);
	vsnprintf(buf, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
	va_end(ap);
	a->items[a->count++] = buf;
	a->items[a->count] = NULL;
}

void plan_argv_free(struct plan_argv *a)
{
	for (int i = 0; i < a->count; i++) {
		free(a->items[i]);
	}
	a->count = 0;
}

/* "FLAG=VALUE" when there is a value. */
static void arg_if(struct plan_argv *a, const char *flag, const char *value)
{
	if (value) {
		arg(a, "%s=%s", flag, value);
	}
}

/* What every participant's command line starts with: @program, the bus, its @name, the seed. */
static void participant_argv(struct plan_argv *a, const char *program, const struct run_options *o, const char *name)
{
	char exe[PATH_MAX];
	fs_paths_helper(program, exe, sizeof(exe));
	arg(a, "%s", exe);
	arg(a, "--bus=%s", o->address);
	arg(a, "--name=%s", name);
	arg(a, "--seed=%" PRIu64, o->seed);
}

void plan_vehicle_argv(struct plan_argv *a, const struct run_options *o, const char *network, uint64_t shard,
		       bool with_dispatch)
{
	char name[32];
	snprintf(name, sizeof(name), "vehicle-%" PRIu64, shard);
	participant_argv(a, "fs-vehicle", o, name);
	arg(a, "--shard=%" PRIu64, shard);
	arg(a, "--shards=%" PRIu64, o->shards);
	arg(a, "--vehicles=%" PRIu64, o->vehicles);
	arg(a, "--network=%s", network);
	arg(a, "--self-charge=%s", with_dispatch ? "no" : "yes");
	arg(a, "--data=%s", launcher_data_dir());
	arg_if(a, "--fleet-csv", o->fleet_csv);
	if (o->keyframe_every) {
		uint64_t every_ms = 0;
		fs_args_duration_ms(o->keyframe_every, &every_ms);
		arg(a, "--keyframe-every-ms=%" PRIu64, every_ms);
	}
	arg_if(a, "--phase", o->phase);
	arg_if(a, "--scenario", o->scenario);
	arg_if(a, "--out", o->out_dir);
}

void plan_dispatch_argv(struct plan_argv *a, const struct run_options *o, const char *network)
{
	participant_argv(a, "fs-dispatch", o, "dispatch");
	arg(a, "--vehicles=%" PRIu64, o->vehicles);
	arg(a, "--network=%s", network);
	arg(a, "--data=%s", launcher_data_dir());
	arg_if(a, "--phase", o->phase);
	arg_if(a, "--fleet-csv", o->fleet_csv);
	arg_if(a, "--demand-csv", o->demand_csv);
	arg_if(a, "--matcher", o->matcher);
	arg_if(a, "--rebalance-s", o->rebalance_s);
	arg_if(a, "--charging", o->charging);
	arg_if(a, "--scenario", o->scenario);
	arg_if(a, "--out", o->out_dir);
}

void plan_production_argv(struct plan_argv *a, const struct run_options *o)
{
	participant_argv(a, "fs-production", o, "production");
	arg(a, "--first-vehicle-id=%" PRIu64, o->vehicles);
	arg_if(a, "--scenario", o->scenario);
	if (o->no_scenario_events) {
		arg(a, "--no-scenario-events"); /* then the file's production events are its plan */
	}
}

void resolve_network(const char *spec, char *buf, size_t size)
{
	if (!spec || !strcmp(spec, "atlanta") || !strcmp(spec, "columbus")) {
		snprintf(buf, size, "%s/osm/%s.osm.pbf", launcher_data_dir(), spec ? spec : "atlanta");
	} else {
		snprintf(buf, size, "%s", spec);
	}
}

bool is_remote(const struct run_options *o, const char *name)
{
	for (int i = 0; i < o->nremote; i++) {
		if (!strcmp(o->remote[i], name)) {
			return true;
		}
	}
	return false;
}

static struct plan_argv *add_child(struct run_plan *plan, const char *name, enum child_kind kind)
{
	struct plan_child *c = &plan->children[plan->count++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->kind = kind;
	return &c->argv;
}

/* A tcp bus is always CURVE: the run's processes share a key pair made for it; operators are admitted by --allow. */
static void broker_argv(struct plan_argv *a, const struct run_options *o, const struct run_programs *progs,
			const char *keys)
{
	arg(a, "%s", progs->broker);
	arg(a, "--bus=%s", o->address);
	if (keys) {
		arg(a, "--curve-dir=%s", keys);
		arg(a, "--allow=%s/run.pub", keys);
		for (int i = 0; i < o->nallow; i++) {
			arg(a, "--allow=%s", o->allow[i]);
		}
		if (o->open_watch) {
			arg(a, "--open-watch");
		}
	}
}

/*
 * The recorder starts before the conductor and says when it is subscribed to
 * the tap (@ready), so tick 0 and everything after it are recorded. It keeps
 * the run's arguments (and scenario file) so `fleetsim replay` can re-run it.
 */
static void recorder_argv(struct plan_argv *a, const struct run_options *o, const struct run_programs *progs,
			  const char *ready)
{
	arg(a, "%s", progs->recorder);
	arg(a, "--bus=%s", o->address);
	arg(a, "--out=%s", o->record);
	arg(a, "--ready-file=%s", ready);
	arg(a, "--exit-on-end");
	arg(a, "--");
	for (int i = 0; i < o->user_argc; i++) {
		const char *u = o->user_argv[i];
		if (!strcmp(u, "--record")) {
			i++; /* and its value */
			continue;
		}
		if (!strncmp(u, "--record=", 9)) {
			continue;
		}
		arg(a, "%s", u);
	}
}

/* The participant set, fixed for the whole run: every shard, dispatch, production, and the user's own. */
static void conductor_argv(struct plan_argv *a, const struct run_options *o, const struct run_programs *progs)
{
	char participants[MAX_SHARDS * 24 + 256 + 16 * 128] = "";
	for (uint64_t i = 0; i < o->shards; i++) {
		size_t len = strlen(participants);
		snprintf(participants + len, sizeof(participants) - len, "%svehicle-%" PRIu64 ":vehicle", i ? "," : "", i);
	}
	if (progs->with_dispatch) {
		strcat(participants, ",dispatch:dispatch");
	}
	if (progs->with_production) {
		strcat(participants, ",production:production");
	}
	for (int i = 0; i < o->nexternal; i++) {
		size_t len = strlen(participants);
		snprintf(participants + len, sizeof(participants) - len, ",%s", o->external[i]);
	}
	arg(a, "%s", progs->conductor);
	arg(a, "--bus=%s", o->address);
	arg(a, "--participants=%s", participants);
	arg(a, "--seed=%" PRIu64, o->seed);
	arg(a, "--start=%s", o->start);
	arg(a, "--duration=%s", o->duration);
	arg(a, "--tick-ms=%" PRIu64, o->tick_ms);
	arg(a, "--speed=%s", o->speed);
	if (o->paused) {
		arg(a, "--paused");
	}
	arg_if(a, "--control", o->control);
	arg(a, "--stop-wait=%" PRIu64, o->stop_wait_s);
	if (o->ready_timeout_s) {
		arg(a, "--ready-timeout=%" PRIu64, o->ready_timeout_s);
	}
	arg(a, "--vehicles=%" PRIu64, o->vehicles);
	arg_if(a, "--scenario", o->scenario);
	if (o->no_scenario_events) {
		arg(a, "--no-scenario-events");
	}
	arg_if(a, "--out", o->out_dir);
}

int run_plan_build(struct run_plan *plan, const struct run_options *o, const struct run_programs *progs,
		   const char *network, const char *keys, const char *recorder_ready)
{
	/* broker, recorder, conductor, the shards, dispatch, production, viewer */
	plan->children = calloc((size_t)o->shards + 6, sizeof(*plan->children));
	plan->count = 0;
	if (!plan->children) {
		return -ENOMEM;
	}
	broker_argv(add_child(plan, "broker", CHILD_BROKER), o, progs, keys);
	if (o->record) {
		recorder_argv(add_child(plan, "recorder", CHILD_RECORDER), o, progs, recorder_ready);
	}
	conductor_argv(add_child(plan, "conductor", CHILD_CONDUCTOR), o, progs);
	for (uint64_t i = 0; i < o->shards; i++) {
		char name[32];
		snprintf(name, sizeof(name), "vehicle-%" PRIu64, i);
		if (!is_remote(o, name)) { /* else it joins from its host */
			plan_vehicle_argv(add_child(plan, name, CHILD_PARTICIPANT), o, network, i, progs->with_dispatch);
		}
	}
	if (progs->with_dispatch && !is_remote(o, "dispatch")) {
		plan_dispatch_argv(add_child(plan, "dispatch", CHILD_PARTICIPANT), o, network);
	}
	if (progs->with_production && !is_remote(o, "production")) {
		plan_production_argv(add_child(plan, "production", CHILD_PARTICIPANT), o);
	}
	if (o->viz) {
		/* An observer: it can neither slow the run nor stop it by closing. */
		struct plan_argv *a = add_child(plan, "viewer", CHILD_OBSERVER);
		arg(a, "%s", progs->viewer);
		arg(a, "--bus=%s", o->address);
		arg(a, "--network=%s", network);
		arg_if(a, "--scenario", o->scenario); /* its clock: the city's time zone */
	}
	return 0;
}

void run_plan_finish(struct run_plan *plan)
{
	for (int i = 0; i < plan->count; i++) {
		plan_argv_free(&plan->children[i].argv);
	}
	free(plan->children);
	plan->children = NULL;
	plan->count = 0;
}
