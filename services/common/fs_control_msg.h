/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_control_msg.h - the codec of the control message family (proto/control.proto):
 * Hello, Ready, Tick, TickDone, Heartbeat, PeerLost, Status, Command,
 * CommandAck, End and Bye. The only place where those messages become plain
 * structs and back, with one set of validity rules for every reader: the
 * conductor, the participants' lockstep loop, the launcher, the recorder's
 * tools, the viewer.
 *
 * Encoding fills an envelope's payload, ready for fs_bus_publish() (which
 * stamps the header). Decoding reads an envelope, header and payload, and
 * refuses what no sender of this build sends, with a text naming the message
 * type and what is wrong; a service counts, logs and drops such a message
 * (fs_bus_reject()). What only a receiver's state can judge (a Tick out of
 * order, a TickDone for another tick, a command this receiver cannot do)
 * stays with the receiver.
 */
#ifndef FS_CONTROL_MSG_H
#define FS_CONTROL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"
#include "fs_bus.h"

/* The sender names the family's rules know: who starts ticks and ends runs, who reports lost peers. */
#define FS_CONTROL_CONDUCTOR "conductor"
#define FS_CONTROL_BROKER "broker"

enum fs_control_kind {
	FS_CONTROL_NONE = 0, /* the envelope carries another family's message */
	FS_CONTROL_HELLO,
	FS_CONTROL_READY,
	FS_CONTROL_TICK,
	FS_CONTROL_TICK_DONE,
	FS_CONTROL_HEARTBEAT,
	FS_CONTROL_PEER_LOST,
	FS_CONTROL_STATUS,
	FS_CONTROL_COMMAND,
	FS_CONTROL_COMMAND_ACK,
	FS_CONTROL_END,
	FS_CONTROL_BYE,
};

/* The values are the wire's (RunState). */
enum fs_run_state {
	FS_RUN_UNSPECIFIED = 0,
	FS_RUN_WAITING,  /* for participants to be ready */
	FS_RUN_RUNNING,
	FS_RUN_PAUSED,
	FS_RUN_ENDING,
	FS_RUN_ENDED,
};

/* The values are the wire's (CommandKind). */
enum fs_command_kind {
	FS_COMMAND_UNSPECIFIED = 0,
	FS_COMMAND_PAUSE,
	FS_COMMAND_RESUME,
	FS_COMMAND_STEP,  /* run `steps` ticks (0: one) then pause */
	FS_COMMAND_SPEED, /* pace at `speed` x real time, 0 = as fast as possible */
	FS_COMMAND_STOP,  /* end the run after the current tick */
	FS_COMMAND_SEEK,  /* playback only: move to sim_time_ms */
};

/* A bus client's counters (fs_bus_get_stats()), and a lockstep participant's input waits. */
struct fs_control_stats {
	struct fs_bus_stats bus;
	uint64_t input_waits;
};

/* What @sender published on @topic up to @topic_seq (a Tick's or End's inputs, a TickDone's output). */
struct fs_control_watermark {
	const char *sender; /* NULL in a TickDone being encoded: its envelope's sender */
	const char *topic;
	uint64_t topic_seq;
};

struct fs_control_hello {
	uint64_t nonce;
};

struct fs_control_ready {
	const char *participant, *role, *version;
	uint32_t pid, shard, shard_count;
	bool control_socket; /* also connected to the conductor's control socket */
};

struct fs_control_tick {
	uint64_t tick;
	int64_t sim_time_ms;
	uint32_t tick_ms;
	bool last;
	const struct fs_control_watermark *inputs;
	size_t n_inputs;
};

struct fs_control_tick_done {
	uint64_t tick, state_hash, work_us;
	bool has_stats; /* a TickDone without counters leaves the last ones standing */
	struct fs_control_stats stats;
	const struct fs_control_watermark *published;
	size_t n_published;
};

struct fs_control_heartbeat {
	const char *participant;
	uint64_t waiting_for_tick;
};

struct fs_control_peer_lost {
	const char *participant, *address, *reason;
};

struct fs_control_participant {
	const char *participant, *role;
	bool ready, control_socket;
	uint64_t last_done_tick;
	struct fs_control_stats stats;
};

struct fs_control_playback {
	const char *file;
	int64_t start_ms, end_ms;
	uint64_t first_tick;
};

struct fs_control_status {
	enum fs_run_state state;
	uint64_t tick, duration_ticks;
	int64_t sim_time_ms;
	double speed, sim_real_ratio;
	const struct fs_control_participant *participants;
	size_t n_participants;
	struct fs_control_stats conductor_stats;
	uint64_t lockstep_p50_us, lockstep_p99_us;
	const struct fs_control_playback *playback; /* NULL: a run, not a recording played on the bus */
};

struct fs_control_command {
	uint64_t command_id;
	enum fs_command_kind kind;
	uint64_t steps;
	double speed;
	int64_t sim_time_ms;
};

struct fs_control_command_ack {
	uint64_t command_id;
	const char *requester, *reason;
	bool accepted;
};

struct fs_control_end {
	uint64_t ticks;
	const char *reason;
	const struct fs_control_watermark *inputs;
	size_t n_inputs;
};

struct fs_control_result {
	const char *key;
	double value; /* not finite: not defined (readers skip it) */
};

struct fs_control_bye {
	const char *participant;
	bool has_stats;
	struct fs_control_stats stats;
	const struct fs_control_result *results;
	size_t n_results;
};

/* Buffers for encoding; zero-initialise, fs_control_msg_finish() frees. */
struct fs_control_msg {
	Fleetsim__V1__Envelope env;
	union {
		Fleetsim__V1__Hello hello;
		Fleetsim__V1__Ready ready;
		Fleetsim__V1__Tick tick;
		Fleetsim__V1__TickDone done;
		Fleetsim__V1__Heartbeat heartbeat;
		Fleetsim__V1__PeerLost lost;
		Fleetsim__V1__Status status;
		Fleetsim__V1__Command command;
		Fleetsim__V1__CommandAck ack;
		Fleetsim__V1__End end;
		Fleetsim__V1__Bye bye;
	};
	Fleetsim__V1__ClientStats stats;
	Fleetsim__V1__PlaybackStatus playback;
	Fleetsim__V1__TopicWatermark *marks, **mark_ptrs;
	size_t marks_cap;
	Fleetsim__V1__ParticipantStatus *parts, **part_ptrs;
	Fleetsim__V1__ClientStats *part_stats;
	size_t parts_cap;
	Fleetsim__V1__KeyValue *results, **result_ptrs;
	size_t results_cap;
};

/*
 * Each fills @m->env with the message (pointing into @m and into the
 * strings and arrays of its argument, until the next call on @m) and returns
 * it; NULL only when out of memory.
 */
Fleetsim__V1__Envelope *fs_control_msg_encode_hello(struct fs_control_msg *m, const struct fs_control_hello *h);
Fleetsim__V1__Envelope *fs_control_msg_encode_ready(struct fs_control_msg *m, const struct fs_control_ready *r);
Fleetsim__V1__Envelope *fs_control_msg_encode_tick(struct fs_control_msg *m, const struct fs_control_tick *t);
Fleetsim__V1__Envelope *fs_control_msg_encode_tick_done(struct fs_control_msg *m,
							const struct fs_control_tick_done *d);
Fleetsim__V1__Envelope *fs_control_msg_encode_heartbeat(struct fs_control_msg *m,
							const struct fs_control_heartbeat *h);
Fleetsim__V1__Envelope *fs_control_msg_encode_peer_lost(struct fs_control_msg *m,
							const struct fs_control_peer_lost *l);
Fleetsim__V1__Envelope *fs_control_msg_encode_status(struct fs_control_msg *m, const struct fs_control_status *s);
Fleetsim__V1__Envelope *fs_control_msg_encode_command(struct fs_control_msg *m, const struct fs_control_command *c);
Fleetsim__V1__Envelope *fs_control_msg_encode_command_ack(struct fs_control_msg *m,
							  const struct fs_control_command_ack *a);
Fleetsim__V1__Envelope *fs_control_msg_encode_end(struct fs_control_msg *m, const struct fs_control_end *e);
Fleetsim__V1__Envelope *fs_control_msg_encode_bye(struct fs_control_msg *m, const struct fs_control_bye *b);
void fs_control_msg_finish(struct fs_control_msg *m);

/* A decoded message; zero-initialise, fs_control_in_finish() frees. */
struct fs_control_in {
	enum fs_control_kind kind;
	union {
		struct fs_control_hello hello;
		struct fs_control_ready ready;
		struct fs_control_tick tick;
		struct fs_control_tick_done tick_done;
		struct fs_control_heartbeat heartbeat;
		struct fs_control_peer_lost peer_lost;
		struct fs_control_status status;
		struct fs_control_command command;
		struct fs_control_command_ack command_ack;
		struct fs_control_end end;
		struct fs_control_bye bye;
	};
	struct fs_control_playback playback;
	struct fs_control_watermark *marks;
	size_t marks_cap;
	struct fs_control_participant *parts;
	size_t parts_cap;
	struct fs_control_result *results;
	size_t results_cap;
	char why[160];
};

/** The control message @env carries, FS_CONTROL_NONE for another family's: what to decode it as. */
enum fs_control_kind fs_control_msg_kind(const Fleetsim__V1__Envelope *env);

/**
 * Decode @env into @in: in->kind, and the member of that kind, whose strings
 * and arrays point into @env and @in until @env is freed or @in is used
 * again. NULL on success (also for another family's message: in->kind is
 * then FS_CONTROL_NONE), else why it is refused, e.g. "Tick: tick 7 is not
 * its envelope's tick 6". The rules, message by message:
 *   Ready, Heartbeat, Bye: the participant is named and is the envelope's
 *     sender; Ready names a role and a shard below its shard count;
 *   Tick, End: sent by the conductor; a Tick's tick, time and tick length
 *     are its envelope's tick and time and not 0; an End's tick count is not
 *     below its envelope's tick;
 *   TickDone: its tick is its envelope's; what it published names its own
 *     sender (or none);
 *   watermarks (Tick, End, TickDone): a sender, a topic, a sequence from 1;
 *   PeerLost: sent by the broker;
 *   Status: a known run state, a finite speed >= 0 and a finite ratio, named
 *     participants, a playback that does not end before it starts;
 *   Command: a known kind; SPEED a finite speed >= 0;
 *   CommandAck: names its requester; Bye: every result has a key.
 * A refused message leaves in->kind set, and a refused Command its
 * command_id in in->command, so that its sender can be answered.
 */
const char *fs_control_msg_decode(const Fleetsim__V1__Envelope *env, struct fs_control_in *in);
void fs_control_in_finish(struct fs_control_in *in);

#endif
