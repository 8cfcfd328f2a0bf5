/* SPDX-License-Identifier: Apache-2.0 */
/* fs_topic - payload <-> topic registry. */
#include <string.h>

#include "fs_topic.h"

#define P(x) FLEETSIM__V1__ENVELOPE__PAYLOAD_##x
#define D(x) &fleetsim__v1__##x##__descriptor

static const struct fs_topic_info topics[] = {
	{ "ctl.hello", P(HELLO), D(hello), "handshake echo (slow-joiner guard)" },
	{ "ctl.ready", P(READY), D(ready), "participant ready before tick 0" },
	{ "ctl.tick", P(TICK_START), D(tick), "conductor starts a tick" },
	{ "ctl.done", P(TICK_DONE), D(tick_done), "participant finished a tick, with state hash" },
	{ "ctl.heartbeat", P(HEARTBEAT), D(heartbeat), "participant alive while waiting" },
	{ "ctl.status", P(STATUS), D(status), "conductor run status (wall-clock paced)" },
	{ "ctl.cmd", P(COMMAND), D(command), "pause / resume / step / speed / stop (seek: a playback)" },
	{ "ctl.ack", P(COMMAND_ACK), D(command_ack), "conductor's answer to a command" },
	{ "ctl.end", P(END), D(end), "the run is over" },
	{ "ctl.bye", P(BYE), D(bye), "participant's final counters and results" },
	{ "ctl.lost", P(PEER_LOST), D(peer_lost), "broker: a client's connection closed or timed out (tcp)" },
	{ "veh.state", P(VEHICLE_STATES), D(vehicle_state_batch), "vehicle state batch per shard" },
	{ "veh.snapshot", P(VEHICLE_STATES), D(vehicle_state_batch),
	  "a waiting (paused) shard's vehicle states, for viewers; no participant applies it" },
	{ "veh.event", P(VEHICLE_EVENTS), D(vehicle_event_batch), "vehicle events per shard" },
	{ "ride.request", P(RIDE_REQUESTS), D(ride_request_batch), "ride requests" },
	{ "ride.offer", P(RIDE_OFFERS), D(ride_offer_batch), "pickup-time offers" },
	{ "ride.job", P(JOBS), D(job_batch), "jobs (stop lists) for vehicles" },
	{ "ride.trip", P(TRIP_EVENTS), D(trip_event_batch), "trip lifecycle events" },
	{ "prod.stage", P(PRODUCTION), D(production_event_batch), "production stage counts" },
	{ "prod.delivery", P(DELIVERIES), D(delivery_batch), "vehicles delivered to city depots" },
	{ "scn.cmd", P(SCENARIO_COMMAND), D(scenario_command), "scenario events to inject" },
	{ "scn.ack", P(SCENARIO_ACK), D(scenario_ack), "acknowledgement of scenario commands" },
	{ "kpi", P(KPIS), D(kpi_snapshot), "KPI snapshots" },
	{ "world.traffic", P(TRAFFIC), D(traffic_state), "vehicles driving per cell and road class" },
	{ NULL, 0, NULL, NULL },
};

const struct fs_topic_info *fs_topic_all(void)
{
	return topics;
}

const struct fs_topic_info *fs_topic_by_payload(Fleetsim__V1__Envelope__PayloadCase payload)
{
	for (const struct fs_topic_info *t = topics; t->name; t++) {
		if (t->payload == payload) {
			return t;
		}
	}
	return NULL;
}

const struct fs_topic_info *fs_topic_lookup(const char *topic, size_t len)
{
	for (const struct fs_topic_info *t = topics; t->name; t++) {
		size_t n = strlen(t->name);
		if (len >= n && !memcmp(topic, t->name, n) && (len == n || topic[n] == '/')) {
			return t;
		}
	}
	return NULL;
}

bool fs_topic_valid(const char *topic, size_t len)
{
	if (len == 0 || len >= FS_TOPIC_MAX) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (topic[i] < 0x21 || topic[i] > 0x7e) {
			return false;
		}
	}
	return true;
}

bool fs_topic_is_control(const char *topic)
{
	return !strncmp(topic, "ctl.", 4);
}
