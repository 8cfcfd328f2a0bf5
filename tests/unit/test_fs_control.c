/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lockstep control socket (services/common/fs_control.h) and the
 * watermarks a TickDone announces (fs_bus_published()): datagrams arrive
 * whole and validated like bus messages, bad ones are counted and dropped,
 * a closed peer shows as -EPIPE, and a sender's watermarks name each topic
 * it published once, with its last sequence number, control topics aside.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs_bus.h"
#include "fs_control.h"
#include "fs_vehicle_msg.h"

static char dir[64], address[96];

static int make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/fs-test-control.XXXXXX");
	if (!mkdtemp(dir)) {
		return -1;
	}
	snprintf(address, sizeof(address), "ipc://%s", dir);
	return 0;
}

static int remove_dir(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A bus client with no broker behind it: publishing queues, which is all these tests need. */
static struct fs_bus *client(const char *name)
{
	struct fs_bus_options o = { .address = address, .name = name, .mode = FS_BUS_PARTICIPANT };
	struct fs_bus *bus = fs_bus_connect(&o);
	assert_non_null(bus);
	fs_bus_set_linger(bus, 0);
	return bus;
}

/* A connected pair: *server from the listener's side, *peer the participant's. */
static int connect_pair(int *server, int *peer)
{
	int listener = fs_control_listen(address);
	assert_true(listener >= 0);
	*peer = fs_control_connect(address);
	assert_true(*peer >= 0);
	*server = fs_control_accept(listener);
	assert_true(*server >= 0);
	assert_int_equal(fs_control_accept(listener), -EAGAIN);
	return listener;
}

static void paths_exist_only_for_ipc_buses(void **state)
{
	char path[256], long_address[200];
	assert_int_equal(fs_control_path("ipc:///tmp/x", path, sizeof(path)), 0);
	assert_string_equal(path, "/tmp/x/ctl");
	assert_int_equal(fs_control_path("tcp://127.0.0.1:5555", path, sizeof(path)), -ENOTSUP);
	memset(long_address, 'd', sizeof(long_address) - 1);
	memcpy(long_address, "ipc://", 6);
	long_address[sizeof(long_address) - 1] = '\0';
	assert_int_equal(fs_control_path(long_address, path, sizeof(path)), -ENAMETOOLONG);
	assert_int_equal(fs_control_connect("ipc:///nonexistent/fleetsim"), -ENOENT);
}

static void a_tick_arrives_whole_with_its_inputs(void **state)
{
	struct fs_bus *conductor = client("conductor"), *participant = client("vehicle-0");
	int server, peer, listener = connect_pair(&server, &peer);

	Fleetsim__V1__TopicWatermark w[2] = { FLEETSIM__V1__TOPIC_WATERMARK__INIT, FLEETSIM__V1__TOPIC_WATERMARK__INIT };
	Fleetsim__V1__TopicWatermark *wp[2] = { &w[0], &w[1] };
	w[0].sender = (char *)"vehicle-1";
	w[0].topic = (char *)"veh.state";
	w[0].topic_seq = 41;
	w[1].sender = (char *)"dispatch";
	w[1].topic = (char *)"ride.job/0/";
	w[1].topic_seq = 7;
	Fleetsim__V1__Tick tick = FLEETSIM__V1__TICK__INIT;
	tick.tick = 42;
	tick.n_inputs = 2;
	tick.inputs = wp;
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_START;
	env.tick_start = &tick;
	fs_bus_set_clock(conductor, 41, 0);
	assert_int_equal(fs_bus_publish(conductor, NULL, &env), 0); /* stamps the header */
	assert_int_equal(fs_control_send(server, "ctl.tick", &env), 0);

	struct fs_bus_message *msg = NULL;
	assert_int_equal(fs_control_recv(peer, participant, &msg), 1);
	assert_string_equal(msg->topic, "ctl.tick");
	assert_string_equal(msg->env->sender, "conductor");
	assert_int_equal(msg->env->tick, 41);
	assert_int_equal(msg->env->payload_case, FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_START);
	assert_int_equal(msg->env->tick_start->tick, 42);
	assert_int_equal(msg->env->tick_start->n_inputs, 2);
	assert_string_equal(msg->env->tick_start->inputs[1]->topic, "ride.job/0/");
	assert_int_equal(msg->env->tick_start->inputs[1]->topic_seq, 7);
	fs_bus_message_free(msg);
	assert_int_equal(fs_control_recv(peer, participant, &msg), -EAGAIN);
	assert_int_equal(fs_bus_get_stats(participant)->msgs_received, 1);
	assert_int_equal(fs_bus_get_stats(participant)->malformed, 0);

	close(server);
	assert_int_equal(fs_control_recv(peer, participant, &msg), -EPIPE);
	close(peer);
	close(listener);
	fs_bus_close(conductor);
	fs_bus_close(participant);
}

static void bad_datagrams_are_counted_and_dropped(void **state)
{
	struct fs_bus *conductor = client("conductor");
	int server, peer, listener = connect_pair(&server, &peer);
	struct fs_bus_message *msg = NULL;
	const struct fs_bus_stats *st = fs_bus_get_stats(conductor);

	assert_int_equal(send(peer, "no separator at all", 19, 0), 19);
	assert_int_equal(fs_control_recv(server, conductor, &msg), 0);
	assert_int_equal(st->malformed, 1);
	/* a topic, then bytes that are not an Envelope */
	static const char bad_body[] = "ctl.done\0\xff\xff\xff\xff\xff";
	assert_int_equal(send(peer, bad_body, sizeof(bad_body) - 1, 0), (ssize_t)sizeof(bad_body) - 1);
	assert_int_equal(fs_control_recv(server, conductor, &msg), 0);
	assert_int_equal(st->malformed, 2);
	/* a TickDone under the topic of a Tick */
	Fleetsim__V1__TickDone done = FLEETSIM__V1__TICK_DONE__INIT;
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.schema_version = FS_BUS_SCHEMA_VERSION;
	env.sender = (char *)"vehicle-0";
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_DONE;
	env.tick_done = &done;
	assert_int_equal(fs_control_send(peer, "ctl.tick", &env), 0);
	assert_int_equal(fs_control_recv(server, conductor, &msg), 0);
	assert_int_equal(st->malformed, 3);
	/* another schema version is refused, not misread */
	env.schema_version = FS_BUS_SCHEMA_VERSION + 1;
	assert_int_equal(fs_control_send(peer, "ctl.done", &env), 0);
	assert_int_equal(fs_control_recv(server, conductor, &msg), 0);
	assert_int_equal(st->rejected, 1);
	/* and the connection still carries good ones afterwards */
	env.schema_version = FS_BUS_SCHEMA_VERSION;
	assert_int_equal(fs_control_send(peer, "ctl.done", &env), 0);
	assert_int_equal(fs_control_recv(server, conductor, &msg), 1);
	assert_string_equal(msg->env->sender, "vehicle-0");
	fs_bus_message_free(msg);
	assert_int_equal(st->msgs_received, 5);

	close(server);
	close(peer);
	close(listener);
	fs_bus_close(conductor);
}

static void published_watermarks_name_each_topic_once(void **state)
{
	struct fs_bus *bus = client("vehicle-3");
	const struct fs_bus_watermark *w;
	assert_int_equal(fs_bus_published(bus, &w), 0);
	Fleetsim__V1__VehicleEventBatch events = FLEETSIM__V1__VEHICLE_EVENT_BATCH__INIT;
	Fleetsim__V1__Heartbeat hb = FLEETSIM__V1__HEARTBEAT__INIT;
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS;
	env.vehicle_events = &events;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fs_bus_publish(bus, NULL, &env), 0);
	}
	Fleetsim__V1__Envelope beat = FLEETSIM__V1__ENVELOPE__INIT;
	beat.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_HEARTBEAT;
	beat.heartbeat = &hb;
	assert_int_equal(fs_bus_publish(bus, NULL, &beat), 0); /* control: no watermark */
	/* a keyframe of the shard's one vehicle, as the vehicle codec makes it */
	struct fs_vehicle_msg keyframe = { 0 };
	struct fs_vehicle_batch_info info = { .shard = 3, .shard_count = 4, .full = true };
	struct fs_vehicle_record car = fs_vehicle_record_standing(3, FS_VEHICLE_AVAILABLE, 0, 0.0, 0.0, 0.0, 1.0, 0);
	assert_int_equal(fs_vehicle_msg_encode_records(&keyframe, &info, &car, 1, 0), 0);
	Fleetsim__V1__Envelope snap = FLEETSIM__V1__ENVELOPE__INIT;
	snap.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES;
	snap.vehicle_states = &keyframe.batch;
	assert_int_equal(fs_bus_publish(bus, "veh.snapshot", &snap), 0);
	fs_vehicle_msg_finish(&keyframe);

	assert_int_equal(fs_bus_published(bus, &w), 2);
	assert_string_equal(w[0].topic, "veh.event");
	assert_int_equal(w[0].topic_seq, 3);
	assert_string_equal(w[1].topic, "veh.snapshot");
	assert_int_equal(w[1].topic_seq, 1);
	fs_bus_clear_published(bus);
	assert_int_equal(fs_bus_published(bus, &w), 0);
	/* sequence numbers go on across ticks; the watermark follows them */
	assert_int_equal(fs_bus_publish(bus, NULL, &env), 0);
	assert_int_equal(fs_bus_published(bus, &w), 1);
	assert_int_equal(w[0].topic_seq, 4);
	/* nothing received yet from anyone */
	assert_int_equal(fs_bus_received_seq(bus, "vehicle-1", "veh.event"), 0);
	fs_bus_close(bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paths_exist_only_for_ipc_buses),
		cmocka_unit_test(a_tick_arrives_whole_with_its_inputs),
		cmocka_unit_test(bad_datagrams_are_counted_and_dropped),
		cmocka_unit_test(published_watermarks_name_each_topic_once),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
