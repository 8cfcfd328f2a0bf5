/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scenario events on the wire: an event from a file, packed as a
 * fleetsim.v1.ScenarioCommand, unpacked and parsed again is the same event;
 * and a scenario turns into launcher flags.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/scenario_load.h"
#include "fs_scenario_msg.h"

static void file_events_survive_the_wire(void **state)
{
	char path[512];
	const char *root = getenv("FS_SOURCE_ROOT");
	const char *files[] = { "storm-downtown.yaml", "lidar-fault-wave.yaml", "charger-outage.yaml",
				"stadium-surge.yaml", "stellantis-supplier-delay.yaml" };
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		snprintf(path, sizeof(path), "%s/examples/%s", root ? root : ".", files[f]);
		struct fs_scenario sc;
		struct fs_error err = { "" };
		if (fs_scenario_load(path, &sc, &err)) {
			fail_msg("%s", err.message);
		}
		Fleetsim__V1__ScenarioCommand *cmd = fs_scenario_msg_command_new(9, &sc, sc.events, sc.event_count);
		assert_non_null(cmd);
		size_t len = fleetsim__v1__scenario_command__get_packed_size(cmd);
		uint8_t *buf = malloc(len);
		fleetsim__v1__scenario_command__pack(cmd, buf);
		fs_scenario_msg_command_free(cmd);
		Fleetsim__V1__ScenarioCommand *back = fleetsim__v1__scenario_command__unpack(NULL, len, buf);
		assert_non_null(back);
		assert_int_equal(back->n_events, sc.event_count);
		for (size_t i = 0; i < back->n_events; i++) {
			struct fs_scenario_event e;
			if (fs_scenario_msg_event_parse(&sc, back->events[i], true, 0, "wire", &e, &err)) {
				fail_msg("%s: %s", files[f], err.message);
			}
			if (!fs_scenario_event_equal(&e, &sc.events[i])) {
				fail_msg("%s: event %zu changed on the wire", files[f], i);
			}
		}
		fleetsim__v1__scenario_command__free_unpacked(back, NULL);
		free(buf);
		fs_scenario_finish(&sc);
	}
}

static void next_tick_and_params_time(void **state)
{
	struct fs_scenario sc;
	assert_int_equal(fs_scenario_defaults(&sc), 0);
	Fleetsim__V1__ScenarioEvent m = FLEETSIM__V1__SCENARIO_EVENT__INIT;
	Fleetsim__V1__ScenarioEvent__ParamsEntry p[3], *pp[3];
	const char *kv[][2] = { { "zone", "stadium" }, { "multiplier", "5" }, { "for", "30m" } };
	for (int i = 0; i < 3; i++) {
		fleetsim__v1__scenario_event__params_entry__init(&p[i]);
		p[i].key = (char *)kv[i][0];
		p[i].value = (char *)kv[i][1];
		pp[i] = &p[i];
	}
	m.type = (char *)"demand_surge";
	m.n_params = 3;
	m.params = pp;
	struct fs_scenario_event e;
	struct fs_error err = { "" };
	assert_int_equal(fs_scenario_msg_event_parse(&sc, &m, false, 0, "cmd", &e, &err), 0);
	assert_int_equal(e.apply_tick, FS_SCN_NEXT_TICK); /* 0 = next tick */
	assert_int_equal(e.duration_ticks, 1800);
	m.apply_tick = 77;
	assert_int_equal(fs_scenario_msg_event_parse(&sc, &m, false, 0, "cmd", &e, &err), 0);
	assert_int_equal(e.apply_tick, 77);
	p[2].key = (char *)"at"; /* a time in the params and an apply_tick: ambiguous */
	assert_int_equal(fs_scenario_msg_event_parse(&sc, &m, false, 0, "cmd", &e, &err), -EINVAL);
	assert_non_null(strstr(err.message, "either as apply_tick or in the params"));
	fs_scenario_finish(&sc);
}

static void run_flags(void **state)
{
	struct fs_scenario sc;
	assert_int_equal(fs_scenario_defaults(&sc), 0);
	sc.fleet_size = 42;
	sc.matcher = FS_SCN_MATCHER_GREEDY;
	sc.rebalance_s = 90.5;
	sc.charging = false;
	char *argv[16];
	int n = fs_scenario_run_argv(&sc, argv, 16);
	assert_int_equal(n, 11);
	const char *expect[] = { "--seed=1", "--start=2028-06-01T12:00:00Z", "--duration=3600000ms", "--tick-ms=1000",
				 "--vehicles=42", "--shards=1", "--phase=driverless", "--matcher=greedy",
				 "--rebalance-s=90.5", "--charging=no", "--network=atlanta" };
	for (int i = 0; i < n; i++) {
		assert_string_equal(argv[i], expect[i]);
		free(argv[i]);
	}
	assert_int_equal(fs_scenario_run_argv(&sc, argv, 2), 2); /* bounded by max */
	free(argv[0]);
	free(argv[1]);
	fs_scenario_finish(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(file_events_survive_the_wire),
		cmocka_unit_test(next_tick_and_params_time),
		cmocka_unit_test(run_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
