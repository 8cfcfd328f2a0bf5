/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plan of a run (services/launcher/run_plan.h): which processes `fleetsim
 * run` starts, in which order, with which command lines, before it starts
 * any. A shard count gives that many vehicle nodes, each told its shard; the
 * conductor waits for every participant, remote ones included, which are not
 * started here; --record and --viz add their processes; a tcp run's broker
 * gets the run's keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "run_plan.h"

static struct run_options options(void)
{
	struct run_options o = { .seed = 7, .duration = "1h", .start = "2028-06-01T12:00:00Z", .tick_ms = 1000,
				 .speed = "max", .shards = 1, .vehicles = 32, .stop_wait_s = 10 };
	snprintf(o.address, sizeof(o.address), "ipc:///tmp/fs-plan-test");
	return o;
}

static const struct run_programs programs = { .broker = "/x/fs-broker", .conductor = "/x/fs-conductor",
					      .recorder = "/x/fs-recorder", .viewer = "/x/fleet-viz",
					      .with_dispatch = true, .with_production = true };

/* The argument of @child that starts with @prefix, or NULL. */
static const char *arg_of(const struct plan_child *child, const char *prefix)
{
	for (int i = 1; i < child->argv.count; i++) {
		if (!strncmp(child->argv.items[i], prefix, strlen(prefix))) {
			return child->argv.items[i];
		}
	}
	return NULL;
}

static const struct plan_child *find(const struct run_plan *plan, const char *name)
{
	for (int i = 0; i < plan->count; i++) {
		if (!strcmp(plan->children[i].name, name)) {
			return &plan->children[i];
		}
	}
	return NULL;
}

static void four_shards_plan_four_vehicle_nodes(void **state)
{
	struct run_options o = options();
	o.shards = 4;
	struct run_plan plan = { 0 };
	assert_int_equal(run_plan_build(&plan, &o, &programs, "/data/atlanta.osm.pbf", NULL, NULL), 0);
	/* broker, conductor, four shards, dispatch, production: in that order */
	static const char *const order[] = { "broker",	  "conductor", "vehicle-0", "vehicle-1",
					     "vehicle-2", "vehicle-3", "dispatch",  "production" };
	assert_int_equal(plan.count, 8);
	for (int i = 0; i < 8; i++) {
		assert_string_equal(plan.children[i].name, order[i]);
		assert_null(plan.children[i].argv.items[plan.children[i].argv.count]);
	}
	for (int k = 0; k < 4; k++) {
		char name[32], want[32];
		snprintf(name, sizeof(name), "vehicle-%d", k);
		const struct plan_child *v = find(&plan, name);
		assert_int_equal(v->kind, CHILD_PARTICIPANT);
		assert_non_null(strstr(v->argv.items[0], "fs-vehicle"));
		snprintf(want, sizeof(want), "--shard=%d", k);
		assert_string_equal(arg_of(v, "--shard="), want);
		snprintf(want, sizeof(want), "--name=vehicle-%d", k);
		assert_string_equal(arg_of(v, "--name="), want);
		assert_string_equal(arg_of(v, "--shards="), "--shards=4");
		assert_string_equal(arg_of(v, "--vehicles="), "--vehicles=32");
		assert_string_equal(arg_of(v, "--seed="), "--seed=7");
		assert_string_equal(arg_of(v, "--bus="), "--bus=ipc:///tmp/fs-plan-test");
		assert_string_equal(arg_of(v, "--network="), "--network=/data/atlanta.osm.pbf");
		assert_string_equal(arg_of(v, "--self-charge="), "--self-charge=no"); /* dispatch decides */
	}
	const struct plan_child *c = find(&plan, "conductor");
	assert_int_equal(c->kind, CHILD_CONDUCTOR);
	assert_string_equal(c->argv.items[0], "/x/fs-conductor");
	assert_string_equal(arg_of(c, "--participants="),
			    "--participants=vehicle-0:vehicle,vehicle-1:vehicle,vehicle-2:vehicle,vehicle-3:vehicle,"
			    "dispatch:dispatch,production:production");
	assert_string_equal(arg_of(c, "--duration="), "--duration=1h");
	assert_string_equal(arg_of(c, "--stop-wait="), "--stop-wait=10");
	assert_null(arg_of(c, "--paused"));
	assert_null(arg_of(find(&plan, "broker"), "--curve-dir="));
	assert_string_equal(arg_of(find(&plan, "production"), "--first-vehicle-id="), "--first-vehicle-id=32");
	run_plan_finish(&plan);
}

static void remote_participants_are_waited_for_not_started(void **state)
{
	struct run_options o = options();
	o.shards = 2;
	o.remote[o.nremote++] = "vehicle-1";
	o.remote[o.nremote++] = "dispatch";
	o.external[o.nexternal++] = "probe:observer";
	struct run_plan plan = { 0 };
	assert_int_equal(run_plan_build(&plan, &o, &programs, "grid:3x3:100", NULL, NULL), 0);
	assert_non_null(find(&plan, "vehicle-0"));
	assert_null(find(&plan, "vehicle-1"));
	assert_null(find(&plan, "dispatch"));
	assert_null(find(&plan, "probe"));
	assert_string_equal(arg_of(find(&plan, "conductor"), "--participants="),
			    "--participants=vehicle-0:vehicle,vehicle-1:vehicle,dispatch:dispatch,production:production,"
			    "probe:observer");
	run_plan_finish(&plan);
}

static void record_viz_and_tcp_add_their_processes_and_arguments(void **state)
{
	struct run_options o = options();
	char *user[] = { "--seed", "7", "--record", "run.mcap", "--viz", "--record=other.mcap", "--paused" };
	o.user_argc = 7;
	o.user_argv = user;
	o.record = "run.mcap";
	o.viz = true;
	o.paused = true;
	o.scenario = "city.yaml";
	snprintf(o.address, sizeof(o.address), "tcp://127.0.0.1:7000");
	o.allow[o.nallow++] = "ops.pub";
	struct run_programs progs = programs;
	progs.with_dispatch = false;
	struct run_plan plan = { 0 };
	assert_int_equal(run_plan_build(&plan, &o, &progs, "net.osm", "/keys", "/tmp/r/ready"), 0);
	static const char *const order[] = { "broker", "recorder", "conductor", "vehicle-0", "production", "viewer" };
	assert_int_equal(plan.count, 6);
	for (int i = 0; i < 6; i++) {
		assert_string_equal(plan.children[i].name, order[i]);
	}
	const struct plan_child *b = find(&plan, "broker");
	assert_string_equal(arg_of(b, "--curve-dir="), "--curve-dir=/keys");
	assert_string_equal(arg_of(b, "--allow=/"), "--allow=/keys/run.pub");
	assert_string_equal(b->argv.items[b->argv.count - 1], "--allow=ops.pub");
	/* the recorder keeps the run's own arguments, without --record */
	const struct plan_child *r = find(&plan, "recorder");
	assert_int_equal(r->kind, CHILD_RECORDER);
	assert_string_equal(arg_of(r, "--ready-file="), "--ready-file=/tmp/r/ready");
	int dd = 0;
	while (strcmp(r->argv.items[dd], "--")) {
		dd++;
	}
	assert_int_equal(r->argv.count - dd - 1, 4);
	assert_string_equal(r->argv.items[dd + 1], "--seed");
	assert_string_equal(r->argv.items[dd + 3], "--viz");
	assert_string_equal(r->argv.items[dd + 4], "--paused");
	assert_non_null(arg_of(find(&plan, "conductor"), "--paused"));
	/* no dispatch in this build: the vehicles charge by themselves */
	assert_string_equal(arg_of(find(&plan, "vehicle-0"), "--self-charge="), "--self-charge=yes");
	assert_string_equal(arg_of(find(&plan, "conductor"), "--participants="),
			    "--participants=vehicle-0:vehicle,production:production");
	const struct plan_child *v = find(&plan, "viewer");
	assert_int_equal(v->kind, CHILD_OBSERVER);
	assert_string_equal(arg_of(v, "--scenario="), "--scenario=city.yaml");
	run_plan_finish(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(four_shards_plan_four_vehicle_nodes),
		cmocka_unit_test(remote_participants_are_waited_for_not_started),
		cmocka_unit_test(record_viz_and_tcp_add_their_processes_and_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
