/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_scenario_command - what the conductor does with a ScenarioCommand off
 * the bus (fleetctl inject, or any client): every event is validated against
 * the run's scenario by fs_scenario_msg_event_parse(), and accepted or refused
 * with a reason that names the event. Never a crash, and never a hang: an
 * empty key once sent this path round forever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/scenario.h"
#include "fs/scenario_load.h"
#include "fs_scenario_msg.h"
#include "fuzz_util.h"
#include "scenario.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fs_scenario sc;
	static bool ready;
	if (!ready) {
		if (fs_scenario_defaults(&sc) < 0) {
			abort();
		}
		ready = true;
	}
	Fleetsim__V1__ScenarioCommand *cmd = fleetsim__v1__scenario_command__unpack(NULL, size, data);
	if (!cmd) {
		return 0;
	}
	for (size_t i = 0; i < cmd->n_events; i++) {
		struct fs_scenario_event e;
		struct fs_error err = { "" };
		int rc = fs_scenario_msg_event_parse(&sc, cmd->events[i], false, 0, "event", &e, &err);
		fuzz_report("scenario_command", rc == 0 ? "accepted" : err.message);
		if (rc < 0 && strncmp(err.message, "event", 5) != 0) {
			fprintf(stderr, "refusal that does not name the event: %s\n", err.message);
			abort();
		}
	}
	fleetsim__v1__scenario_command__free_unpacked(cmd, NULL);
	return 0;
}
