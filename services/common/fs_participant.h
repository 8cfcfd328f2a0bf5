/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_participant.h - the lockstep loop every simulation service runs.
 *
 * connect -> handshake -> Ready (repeated until tick 0; on an ipc bus also on
 * the conductor's control socket, which then carries Tick, TickDone and End)
 * -> for each Tick n:
 *   1. wait until every message the Tick's watermarks name (on topics we
 *      subscribe to) has arrived;
 *   2. apply, via on_message, every message produced before tick n (at tick
 *      0: what the Tick's watermarks name), sorted by (tick, sender,
 *      sequence): never in arrival order;
 *   3. on_tick(n): simulate, publish outputs (stamped with tick n);
 *   4. send TickDone(n) with state_hash() and the watermarks of what we
 *      published, the way the Tick came.
 * On End: wait for the last tick's inputs, on_end() writes outputs, Bye
 * carries the final counters and results.
 *
 * Why messages of tick n are all present at step 2 of tick n+1: the
 * watermarks say what was sent, the bus to participants is lossless, and
 * step 1 waits for it; a Tick on the control socket overtakes the data on
 * the bus all the time (docs/bus.md "Why lockstep ordering holds").
 */
#ifndef FS_PARTICIPANT_H
#define FS_PARTICIPANT_H

#include <signal.h>
#include <stdint.h>

#include "fs_bus.h"

struct fs_participant;

struct fs_participant_ops {
	/** Apply one message produced in an earlier tick (may be NULL). */
	void (*on_message)(void *ctx, struct fs_participant *p, const struct fs_bus_message *msg);
	/** Simulate tick @tick (simulated time @sim_time_ms at its start). Non-zero aborts the run. */
	int (*on_tick)(void *ctx, struct fs_participant *p, uint64_t tick, int64_t sim_time_ms);
	/** Additive hash of the participant's state after the tick. */
	uint64_t (*state_hash)(void *ctx);
	/** The run is over: write outputs, add results (may be NULL). */
	int (*on_end)(void *ctx, struct fs_participant *p);
	/**
	 * Waiting for the next tick for a second or more after tick 0 (paused, or
	 * a slow pace), about once a second (may be NULL). For observers only:
	 * whatever it publishes must be on a topic no participant applies, or
	 * the run would depend on the wall clock.
	 */
	void (*on_idle)(void *ctx, struct fs_participant *p);
};

struct fs_participant_config {
	const char *address;                /* bus address, NULL = default */
	const char *name;                   /* e.g. "vehicle-0" */
	const char *role;                   /* e.g. "vehicle" */
	uint32_t shard, shard_count;
	const char *const *subscriptions;   /* NULL-terminated topic prefixes */
	size_t max_message_bytes;           /* 0 = default */
	int connect_timeout_ms;             /* 0 = 20 s */
	bool bus_only;                      /* never use the conductor's control socket (tests) */
};

/**
 * Run the loop until End (returns 0), a signal sets *@stop (returns -EINTR),
 * or an error (-errno, logged).
 */
int fs_participant_run(const struct fs_participant_config *cfg, const struct fs_participant_ops *ops,
		       void *ctx, volatile sig_atomic_t *stop);

struct fs_bus *fs_participant_bus(struct fs_participant *p);
int fs_participant_publish(struct fs_participant *p, const char *topic, Fleetsim__V1__Envelope *env);
/** Add a named figure to the Bye results (and so to summary.json). */
void fs_participant_add_result(struct fs_participant *p, const char *key, double value);
uint64_t fs_participant_tick(const struct fs_participant *p);

#endif
