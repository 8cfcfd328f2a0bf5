/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control codec: what the conductor and the participants send is what the
 * other side reads, through the wire's bytes; and each validity rule refuses
 * what it names, with the message type in its text.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs_control_msg.h"

struct fixture {
	struct fs_control_msg out;
	struct fs_control_in in;
	Fleetsim__V1__Envelope *wire; /* the last envelope through the wire */
};

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct fixture));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fs_control_msg_finish(&f->out);
	fs_control_in_finish(&f->in);
	if (f->wire) {
		fleetsim__v1__envelope__free_unpacked(f->wire, NULL);
	}
	free(f);
	return 0;
}

/*
 * @env stamped as fs_bus_publish() would (sender, tick, time), packed and
 * unpacked as a receiver gets it, then decoded: NULL, or why it was refused.
 */
static const char *through_the_wire(struct fixture *f, Fleetsim__V1__Envelope *env, const char *sender, uint64_t tick,
				    int64_t sim_time_ms)
{
	assert_non_null(env);
	env->schema_version = 1;
	env->sender = (char *)sender;
	env->tick = tick;
	env->sim_time_ms = sim_time_ms;
	size_t len = fleetsim__v1__envelope__get_packed_size(env);
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	fleetsim__v1__envelope__pack(env, buf);
	if (f->wire) {
		fleetsim__v1__envelope__free_unpacked(f->wire, NULL);
	}
	f->wire = fleetsim__v1__envelope__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(f->wire);
	return fs_control_msg_decode(f->wire, &f->in);
}

/* Refused, and the text names @type and contains @what. */
static void assert_refused(const char *why, const char *type, const char *what)
{
	assert_non_null(why);
	assert_non_null(strstr(why, type));
	assert_non_null(strstr(why, what));
}

static const struct fs_control_stats some_stats = {
	.bus = { .msgs_sent = 1, .bytes_sent = 2, .msgs_received = 3, .bytes_received = 4, .gaps = 5, .malformed = 6,
		 .unknown = 7, .oversize = 8, .rejected = 9 },
	.input_waits = 10,
};

static void assert_some_stats(const struct fs_control_stats *s)
{
	assert_memory_equal(s, &some_stats, sizeof(some_stats));
}

static void tick_survives_the_wire(void **state)
{
	struct fixture *f = *state;
	const struct fs_control_watermark inputs[] = { { "vehicle-0", "veh.state", 41 },
						       { "conductor", "scn.cmd/apply", 2 } };
	const struct fs_control_tick t = { .tick = 7, .sim_time_ms = 1843500007000, .tick_ms = 1000, .last = true,
					   .inputs = inputs, .n_inputs = 2 };
	assert_null(through_the_wire(f, fs_control_msg_encode_tick(&f->out, &t), "conductor", 7, 1843500007000));
	assert_int_equal(f->in.kind, FS_CONTROL_TICK);
	assert_int_equal(f->in.tick.tick, 7);
	assert_int_equal(f->in.tick.sim_time_ms, 1843500007000);
	assert_int_equal(f->in.tick.tick_ms, 1000);
	assert_true(f->in.tick.last);
	assert_int_equal(f->in.tick.n_inputs, 2);
	assert_string_equal(f->in.tick.inputs[0].sender, "vehicle-0");
	assert_string_equal(f->in.tick.inputs[0].topic, "veh.state");
	assert_int_equal(f->in.tick.inputs[0].topic_seq, 41);
	assert_string_equal(f->in.tick.inputs[1].topic, "scn.cmd/apply");
}

static void tick_refusals(void **state)
{
	struct fixture *f = *state;
	struct fs_control_watermark inputs[] = { { "vehicle-0", "veh.state", 41 } };
	struct fs_control_tick t = { .tick = 7, .sim_time_ms = 7000, .tick_ms = 1000, .inputs = inputs, .n_inputs = 1 };
	assert_refused(through_the_wire(f, fs_control_msg_encode_tick(&f->out, &t), "garbage", 7, 7000), "Tick",
		       "not the conductor");
	assert_int_equal(f->in.kind, FS_CONTROL_TICK);
	assert_refused(through_the_wire(f, fs_control_msg_encode_tick(&f->out, &t), "conductor", 6, 7000), "Tick",
		       "envelope's tick 6");
	assert_refused(through_the_wire(f, fs_control_msg_encode_tick(&f->out, &t), "conductor", 7, 6000), "Tick",
		       "envelope's tick");
	t.tick_ms = 0;
	assert_refused(through_the_wire(f, fs_control_msg_encode_tick(&f->out, &t), "conductor", 7, 7000), "Tick",
		       "0 ms");
	t.tick_ms = 1000;
	inputs[0].topic_seq = 0;
	assert_refused(through_the_wire(f, fs_control_msg_encode_tick(&f->out, &t), "conductor", 7, 7000), "Tick",
		       "sequence 0");
	inputs[0] = (struct fs_control_watermark){ "vehicle-0", "", 3 };
	assert_refused(through_the_wire(f, fs_control_msg_encode_tick(&f->out, &t), "conductor", 7, 7000), "Tick",
		       "without a sender or topic");
	inputs[0] = (struct fs_control_watermark){ NULL, "veh.state", 3 };
	assert_refused(through_the_wire(f, fs_control_msg_encode_tick(&f->out, &t), "conductor", 7, 7000), "Tick",
		       "without a sender or topic");
}

static void tick_done_survives_the_wire(void **state)
{
	struct fixture *f = *state;
	const struct fs_control_watermark published[] = { { NULL, "veh.state", 12 }, { "vehicle-1", "veh.event", 3 } };
	const struct fs_control_tick_done d = { .tick = 9, .state_hash = 0xfeedfacecafebeefULL, .work_us = 1234,
						.has_stats = true, .stats = some_stats, .published = published,
						.n_published = 2 };
	assert_null(through_the_wire(f, fs_control_msg_encode_tick_done(&f->out, &d), "vehicle-1", 9, 9000));
	assert_int_equal(f->in.kind, FS_CONTROL_TICK_DONE);
	const struct fs_control_tick_done *got = &f->in.tick_done;
	assert_int_equal(got->tick, 9);
	assert_true(got->state_hash == 0xfeedfacecafebeefULL);
	assert_int_equal(got->work_us, 1234);
	assert_true(got->has_stats);
	assert_some_stats(&got->stats);
	assert_int_equal(got->n_published, 2);
	assert_string_equal(got->published[0].sender, "vehicle-1"); /* none on the wire: the envelope's */
	assert_string_equal(got->published[0].topic, "veh.state");
	assert_int_equal(got->published[0].topic_seq, 12);
	assert_string_equal(got->published[1].sender, "vehicle-1");
	/* without counters: the receiver keeps the last ones */
	const struct fs_control_tick_done bare = { .tick = 9 };
	assert_null(through_the_wire(f, fs_control_msg_encode_tick_done(&f->out, &bare), "vehicle-1", 9, 9000));
	assert_false(f->in.tick_done.has_stats);
	assert_int_equal(f->in.tick_done.n_published, 0);
}

static void tick_done_refusals(void **state)
{
	struct fixture *f = *state;
	struct fs_control_watermark published[] = { { "vehicle-2", "veh.state", 12 } };
	struct fs_control_tick_done d = { .tick = 9, .published = published, .n_published = 1 };
	assert_refused(through_the_wire(f, fs_control_msg_encode_tick_done(&f->out, &d), "vehicle-1", 9, 9000),
		       "TickDone", "'vehicle-2', not its own");
	published[0].sender = NULL;
	assert_refused(through_the_wire(f, fs_control_msg_encode_tick_done(&f->out, &d), "vehicle-1", 1ULL << 40, 9000),
		       "TickDone", "not its envelope's tick");
	published[0].topic_seq = 0;
	assert_refused(through_the_wire(f, fs_control_msg_encode_tick_done(&f->out, &d), "vehicle-1", 9, 9000),
		       "TickDone", "sequence 0");
}

static void ready_heartbeat_bye_survive_the_wire(void **state)
{
	struct fixture *f = *state;
	const struct fs_control_ready r = { .participant = "vehicle-1", .role = "vehicle", .version = "0.1.0",
					    .pid = 4242, .shard = 1, .shard_count = 4, .control_socket = true };
	assert_null(through_the_wire(f, fs_control_msg_encode_ready(&f->out, &r), "vehicle-1", 0, 0));
	assert_int_equal(f->in.kind, FS_CONTROL_READY);
	assert_string_equal(f->in.ready.participant, "vehicle-1");
	assert_string_equal(f->in.ready.role, "vehicle");
	assert_string_equal(f->in.ready.version, "0.1.0");
	assert_int_equal(f->in.ready.pid, 4242);
	assert_int_equal(f->in.ready.shard, 1);
	assert_int_equal(f->in.ready.shard_count, 4);
	assert_true(f->in.ready.control_socket);

	const struct fs_control_heartbeat hb = { "vehicle-1", 17 };
	assert_null(through_the_wire(f, fs_control_msg_encode_heartbeat(&f->out, &hb), "vehicle-1", 16, 0));
	assert_int_equal(f->in.kind, FS_CONTROL_HEARTBEAT);
	assert_int_equal(f->in.heartbeat.waiting_for_tick, 17);

	const struct fs_control_result results[] = { { "served", 232 }, { "wait_p50_s", NAN } };
	const struct fs_control_bye b = { .participant = "dispatch", .has_stats = true, .stats = some_stats,
					  .results = results, .n_results = 2 };
	assert_null(through_the_wire(f, fs_control_msg_encode_bye(&f->out, &b), "dispatch", 100, 0));
	assert_int_equal(f->in.kind, FS_CONTROL_BYE);
	assert_string_equal(f->in.bye.participant, "dispatch");
	assert_some_stats(&f->in.bye.stats);
	assert_int_equal(f->in.bye.n_results, 2);
	assert_string_equal(f->in.bye.results[0].key, "served");
	assert_float_equal(f->in.bye.results[0].value, 232, 0);
	assert_true(isnan(f->in.bye.results[1].value)); /* not defined: carried, the reader skips it */
}

static void ready_heartbeat_bye_refusals(void **state)
{
	struct fixture *f = *state;
	struct fs_control_ready r = { .participant = "vehicle-1", .role = "vehicle", .shard = 4, .shard_count = 4 };
	assert_refused(through_the_wire(f, fs_control_msg_encode_ready(&f->out, &r), "vehicle-1", 0, 0), "Ready",
		       "shard 4 of 4");
	r.shard = 0;
	assert_refused(through_the_wire(f, fs_control_msg_encode_ready(&f->out, &r), "vehicle-2", 0, 0), "Ready",
		       "sent by 'vehicle-2'");
	r.role = "";
	assert_refused(through_the_wire(f, fs_control_msg_encode_ready(&f->out, &r), "vehicle-1", 0, 0), "Ready",
		       "without a role");
	r.participant = "";
	assert_refused(through_the_wire(f, fs_control_msg_encode_ready(&f->out, &r), "vehicle-1", 0, 0), "Ready",
		       "without a participant name");

	const struct fs_control_heartbeat hb = { "dispatch", 3 };
	assert_refused(through_the_wire(f, fs_control_msg_encode_heartbeat(&f->out, &hb), "vehicle-0", 2, 0),
		       "Heartbeat", "sent by 'vehicle-0'");

	const struct fs_control_result results[] = { { "", 1 } };
	struct fs_control_bye b = { .participant = "dispatch", .results = results, .n_results = 1 };
	assert_refused(through_the_wire(f, fs_control_msg_encode_bye(&f->out, &b), "dispatch", 0, 0), "Bye",
		       "result 0 without a key");
	b.n_results = 0;
	assert_refused(through_the_wire(f, fs_control_msg_encode_bye(&f->out, &b), "vehicle-0", 0, 0), "Bye",
		       "for 'dispatch' sent by 'vehicle-0'");
}

static void end_survives_the_wire(void **state)
{
	struct fixture *f = *state;
	const struct fs_control_watermark inputs[] = { { "dispatch", "ride.job/0/", 99 } };
	const struct fs_control_end e = { .ticks = 300, .reason = "completed", .inputs = inputs, .n_inputs = 1 };
	assert_null(through_the_wire(f, fs_control_msg_encode_end(&f->out, &e), "conductor", 299, 0));
	assert_int_equal(f->in.kind, FS_CONTROL_END);
	assert_int_equal(f->in.end.ticks, 300);
	assert_string_equal(f->in.end.reason, "completed");
	assert_int_equal(f->in.end.n_inputs, 1);
	assert_string_equal(f->in.end.inputs[0].topic, "ride.job/0/");
	assert_refused(through_the_wire(f, fs_control_msg_encode_end(&f->out, &e), "dispatch", 299, 0), "End",
		       "not the conductor");
	assert_refused(through_the_wire(f, fs_control_msg_encode_end(&f->out, &e), "conductor", 301, 0), "End",
		       "300 ticks run, yet sent in tick 301");
}

static void status_survives_the_wire(void **state)
{
	struct fixture *f = *state;
	const struct fs_control_participant parts[] = {
		{ .participant = "vehicle-0", .role = "vehicle", .ready = true, .control_socket = true,
		  .last_done_tick = 41, .stats = some_stats },
		{ .participant = "dispatch", .role = "dispatch" },
	};
	const struct fs_control_playback pb = { .file = "day.mcap", .start_ms = 1000, .end_ms = 2000, .first_tick = 3 };
	struct fs_control_status s = { .state = FS_RUN_PAUSED, .tick = 42, .duration_ticks = 86400,
				       .sim_time_ms = 1843500042000, .speed = 60, .sim_real_ratio = -3.5,
				       .participants = parts, .n_participants = 2, .conductor_stats = some_stats,
				       .lockstep_p50_us = 800, .lockstep_p99_us = 4000 };
	assert_null(through_the_wire(f, fs_control_msg_encode_status(&f->out, &s), "conductor", 42, 0));
	const struct fs_control_status *got = &f->in.status;
	assert_int_equal(f->in.kind, FS_CONTROL_STATUS);
	assert_int_equal(got->state, FS_RUN_PAUSED);
	assert_int_equal(got->tick, 42);
	assert_int_equal(got->duration_ticks, 86400);
	assert_int_equal(got->sim_time_ms, 1843500042000);
	assert_float_equal(got->speed, 60, 0);
	assert_float_equal(got->sim_real_ratio, -3.5, 0); /* a playback seeking back */
	assert_int_equal(got->n_participants, 2);
	assert_string_equal(got->participants[0].participant, "vehicle-0");
	assert_true(got->participants[0].ready && got->participants[0].control_socket);
	assert_int_equal(got->participants[0].last_done_tick, 41);
	assert_some_stats(&got->participants[0].stats);
	assert_false(got->participants[1].ready);
	assert_some_stats(&got->conductor_stats);
	assert_int_equal(got->lockstep_p99_us, 4000);
	assert_null(got->playback); /* a run */
	s.playback = &pb;
	s.n_participants = 0;
	assert_null(through_the_wire(f, fs_control_msg_encode_status(&f->out, &s), "fleetctl-play", 42, 0));
	assert_non_null(f->in.status.playback);
	assert_string_equal(f->in.status.playback->file, "day.mcap");
	assert_int_equal(f->in.status.playback->end_ms, 2000);
	assert_int_equal(f->in.status.playback->first_tick, 3);
}

static void status_refusals(void **state)
{
	struct fixture *f = *state;
	const struct fs_control_participant nameless[] = { { .participant = "" } };
	const struct fs_control_playback backwards = { .file = "x.mcap", .start_ms = 2000, .end_ms = 1000 };
	struct fs_control_status s = { .state = FS_RUN_RUNNING, .speed = 1 };
	s.state = FS_RUN_UNSPECIFIED;
	assert_refused(through_the_wire(f, fs_control_msg_encode_status(&f->out, &s), "conductor", 0, 0), "Status",
		       "unknown run state 0");
	s.state = (enum fs_run_state)9;
	assert_refused(through_the_wire(f, fs_control_msg_encode_status(&f->out, &s), "conductor", 0, 0), "Status",
		       "unknown run state 9");
	s.state = FS_RUN_RUNNING;
	s.speed = -1;
	assert_refused(through_the_wire(f, fs_control_msg_encode_status(&f->out, &s), "conductor", 0, 0), "Status",
		       "speed");
	s.speed = 1;
	s.sim_real_ratio = INFINITY;
	assert_refused(through_the_wire(f, fs_control_msg_encode_status(&f->out, &s), "conductor", 0, 0), "Status",
		       "ratio");
	s.sim_real_ratio = 1;
	s.participants = nameless;
	s.n_participants = 1;
	assert_refused(through_the_wire(f, fs_control_msg_encode_status(&f->out, &s), "conductor", 0, 0), "Status",
		       "participant 0 without a name");
	s.n_participants = 0;
	s.playback = &backwards;
	assert_refused(through_the_wire(f, fs_control_msg_encode_status(&f->out, &s), "conductor", 0, 0), "Status",
		       "playback ends");
}

static void commands_survive_the_wire(void **state)
{
	struct fixture *f = *state;
	const struct fs_control_command c = { .command_id = 77, .kind = FS_COMMAND_SEEK, .steps = 3, .speed = 2.5,
					      .sim_time_ms = 1843500000000 };
	assert_null(through_the_wire(f, fs_control_msg_encode_command(&f->out, &c), "fleetctl-1", 0, 0));
	assert_int_equal(f->in.kind, FS_CONTROL_COMMAND);
	assert_int_equal(f->in.command.command_id, 77);
	assert_int_equal(f->in.command.kind, FS_COMMAND_SEEK);
	assert_int_equal(f->in.command.steps, 3);
	assert_float_equal(f->in.command.speed, 2.5, 0);
	assert_int_equal(f->in.command.sim_time_ms, 1843500000000);
	const struct fs_control_command_ack a = { .command_id = 77, .requester = "fleetctl-1", .reason = "ok",
						  .accepted = true };
	assert_null(through_the_wire(f, fs_control_msg_encode_command_ack(&f->out, &a), "conductor", 0, 0));
	assert_int_equal(f->in.kind, FS_CONTROL_COMMAND_ACK);
	assert_int_equal(f->in.command_ack.command_id, 77);
	assert_string_equal(f->in.command_ack.requester, "fleetctl-1");
	assert_string_equal(f->in.command_ack.reason, "ok");
	assert_true(f->in.command_ack.accepted);
}

static void command_refusals_keep_the_id(void **state)
{
	struct fixture *f = *state;
	struct fs_control_command c = { .command_id = 78, .kind = (enum fs_command_kind)42 };
	assert_refused(through_the_wire(f, fs_control_msg_encode_command(&f->out, &c), "fleetctl-1", 0, 0), "Command",
		       "unknown command kind 42");
	assert_int_equal(f->in.kind, FS_CONTROL_COMMAND);
	assert_int_equal(f->in.command.command_id, 78); /* so that the sender can be answered */
	c.kind = FS_COMMAND_UNSPECIFIED;
	assert_refused(through_the_wire(f, fs_control_msg_encode_command(&f->out, &c), "fleetctl-1", 0, 0), "Command",
		       "unknown command kind 0");
	c.kind = FS_COMMAND_SPEED;
	c.speed = -2;
	assert_refused(through_the_wire(f, fs_control_msg_encode_command(&f->out, &c), "fleetctl-1", 0, 0), "Command",
		       "speed must be");
	c.speed = NAN;
	assert_refused(through_the_wire(f, fs_control_msg_encode_command(&f->out, &c), "fleetctl-1", 0, 0), "Command",
		       "speed must be");
	c.speed = 0; /* as fast as possible */
	assert_null(through_the_wire(f, fs_control_msg_encode_command(&f->out, &c), "fleetctl-1", 0, 0));
	const struct fs_control_command_ack a = { .command_id = 78, .requester = "" };
	assert_refused(through_the_wire(f, fs_control_msg_encode_command_ack(&f->out, &a), "conductor", 0, 0),
		       "CommandAck", "without a requester");
}

static void hello_and_peer_lost(void **state)
{
	struct fixture *f = *state;
	const struct fs_control_hello h = { 0x1234567890abcdefULL };
	assert_null(through_the_wire(f, fs_control_msg_encode_hello(&f->out, &h), "viewer", 0, 0));
	assert_int_equal(f->in.kind, FS_CONTROL_HELLO);
	assert_true(f->in.hello.nonce == 0x1234567890abcdefULL);
	const struct fs_control_peer_lost l = { "vehicle-3", "10.77.1.2:40312", "closed" };
	assert_null(through_the_wire(f, fs_control_msg_encode_peer_lost(&f->out, &l), "broker", 0, 0));
	assert_int_equal(f->in.kind, FS_CONTROL_PEER_LOST);
	assert_string_equal(f->in.peer_lost.participant, "vehicle-3");
	assert_string_equal(f->in.peer_lost.address, "10.77.1.2:40312");
	assert_refused(through_the_wire(f, fs_control_msg_encode_peer_lost(&f->out, &l), "vehicle-3", 0, 0),
		       "PeerLost", "not the broker");
}

static void other_families_pass_untouched(void **state)
{
	struct fixture *f = *state;
	Fleetsim__V1__VehicleEventBatch events = FLEETSIM__V1__VEHICLE_EVENT_BATCH__INIT;
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS;
	env.vehicle_events = &events;
	assert_int_equal(fs_control_msg_kind(&env), FS_CONTROL_NONE);
	assert_null(through_the_wire(f, &env, "vehicle-0", 3, 0));
	assert_int_equal(f->in.kind, FS_CONTROL_NONE);
}

/* Growing arrays are reused: a big Tick after a small one, then a small one again. */
static void buffers_are_reused(void **state)
{
	struct fixture *f = *state;
	struct fs_control_watermark *many = calloc(1000, sizeof(*many));
	assert_non_null(many);
	for (size_t i = 0; i < 1000; i++) {
		many[i] = (struct fs_control_watermark){ "vehicle-0", "veh.event", i + 1 };
	}
	for (size_t n = 1; n <= 1000; n *= 10) {
		const struct fs_control_tick t = { .tick = n, .sim_time_ms = 0, .tick_ms = 100, .inputs = many,
						   .n_inputs = n };
		assert_null(through_the_wire(f, fs_control_msg_encode_tick(&f->out, &t), "conductor", n, 0));
		assert_int_equal(f->in.tick.n_inputs, n);
		assert_int_equal(f->in.tick.inputs[n - 1].topic_seq, n);
	}
	free(many);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(tick_survives_the_wire),
		T(tick_refusals),
		T(tick_done_survives_the_wire),
		T(tick_done_refusals),
		T(ready_heartbeat_bye_survive_the_wire),
		T(ready_heartbeat_bye_refusals),
		T(end_survives_the_wire),
		T(status_survives_the_wire),
		T(status_refusals),
		T(commands_survive_the_wire),
		T(command_refusals_keep_the_id),
		T(hello_and_peer_lost),
		T(other_families_pass_untouched),
		T(buffers_are_reused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
