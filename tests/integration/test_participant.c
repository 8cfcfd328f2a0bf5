/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-test-participant - a lockstep participant for the bus and conductor
 * tests and the lockstep benchmark (never started by `fleetsim run`).
 *
 * Each tick it publishes --publish vehicle-event batches (of --batch events,
 * default 1) whose content derives
 * from (seed, name, tick), and folds every message it receives into its state
 * hash together with the tick it was applied in. So the run digest changes if
 * any message is lost, duplicated, applied in another tick or another order:
 * the tests assert that it does not change from run to run.
 *
 * --tick-sleep-ms N --sleep-from-tick K: each tick from K on also takes N ms
 * of wall time, like dispatch on a 100,000-vehicle fleet (a multi-second
 * tick to stop a run in).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "fs/rng.h"
#include "fs_args.h"
#include "fs_log.h"
#include "fs_participant.h"

struct state {
	const char *name;
	uint64_t seed;
	uint64_t publish;
	uint64_t batch;        /* events per message: large ones make the broker lag the control socket */
	uint64_t applied_hash;
	uint64_t applied;
	uint64_t current_tick;
	uint64_t last_applied_tick;
	uint64_t order_errors;
	uint64_t from_conductor, conductor_tick; /* fs-fast-peer's scenario input, and the tick it was applied in */
	uint64_t tick_sleep_ms, sleep_from_tick;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_message(void *ctx, struct fs_participant *p, const struct fs_bus_message *msg)
{
	struct state *s = ctx;
	const Fleetsim__V1__Envelope *env = msg->env;
	if (env->payload_case != FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS) {
		return;
	}
	if (!strcmp(env->sender, "conductor")) {
		/* published before a Tick, like scenario events: due in that tick, at tick 0 too */
		s->from_conductor++;
		s->conductor_tick = s->current_tick;
		return;
	}
	/* Messages of tick n must be applied at tick n+1, in (tick, sender, seq) order. */
	if (env->tick + 1 != s->current_tick || env->tick < s->last_applied_tick) {
		s->order_errors++;
	}
	s->last_applied_tick = env->tick;
	/* topic_seq, not seq: seq also counts the sender's hellos, repeated Ready
	 * and heartbeats, and how many of those it sent depends on timing. */
	uint64_t rec[3] = { s->current_tick, env->tick, env->topic_seq };
	uint64_t h = XXH3_64bits_withSeed(rec, sizeof(rec), XXH3_64bits(env->sender, strlen(env->sender)));
	for (size_t i = 0; i < env->vehicle_events->n_events; i++) {
		h = XXH3_64bits_withSeed(&env->vehicle_events->events[i]->value, sizeof(double), h);
	}
	s->applied_hash = s->applied_hash * 31 + h;
	s->applied++;
}

static int on_tick(void *ctx, struct fs_participant *p, uint64_t tick, int64_t sim_time_ms)
{
	struct state *s = ctx;
	s->current_tick = tick + 1; /* messages of this tick apply in the next */
	if (s->tick_sleep_ms && tick >= s->sleep_from_tick) {
		struct timespec ts = { (time_t)(s->tick_sleep_ms / 1000), (long)(s->tick_sleep_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
		}
	}
	struct fs_rng rng;
	fs_rng_init(&rng, s->seed, FS_RNG_STREAM_TEST, XXH3_64bits(s->name, strlen(s->name)) ^ tick);
	size_t n = s->batch ? (size_t)s->batch : 1;
	Fleetsim__V1__VehicleEvent *ev = fs_xcalloc(n, sizeof(*ev));
	Fleetsim__V1__VehicleEvent **evp = fs_xcalloc(n, sizeof(*evp));
	int rc = 0;
	for (uint64_t m = 0; m < s->publish && rc == 0; m++) {
		Fleetsim__V1__VehicleEventBatch batch = FLEETSIM__V1__VEHICLE_EVENT_BATCH__INIT;
		Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
		for (size_t i = 0; i < n; i++) {
			fleetsim__v1__vehicle_event__init(&ev[i]);
			ev[i].kind = FLEETSIM__V1__VEHICLE_EVENT_KIND__VEHICLE_EVENT_KIND_STATE_CHANGED;
			ev[i].sim_time_ms = sim_time_ms;
			ev[i].value = fs_rng_uniform(&rng);
			evp[i] = &ev[i];
		}
		batch.n_events = n;
		batch.events = evp;
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS;
		env.vehicle_events = &batch;
		if (fs_participant_publish(p, NULL, &env) < 0) {
			rc = -EIO;
		}
	}
	free(ev);
	free(evp);
	return rc;
}

static uint64_t state_hash(void *ctx)
{
	struct state *s = ctx;
	return s->applied_hash ^ fs_mix64(s->seed + s->current_tick);
}

static int on_end(void *ctx, struct fs_participant *p)
{
	struct state *s = ctx;
	fs_participant_add_result(p, "applied", (double)s->applied);
	fs_participant_add_result(p, "order_errors", (double)s->order_errors);
	if (s->from_conductor) {
		fs_participant_add_result(p, "from_conductor", (double)s->from_conductor);
		fs_participant_add_result(p, "conductor_tick", (double)s->conductor_tick);
	}
	return 0;
}

int main(int argc, char **argv)
{
	fs_log_init("fs-test-participant", FS_LOG_WARNING);
	struct state s = { .name = "test" };
	const char *address = NULL, *role = "test";
	enum { OPT_BUS = 256, OPT_NAME, OPT_ROLE, OPT_SEED, OPT_PUBLISH, OPT_BATCH, OPT_BUS_ONLY, OPT_SLEEP,
	       OPT_SLEEP_FROM };
	bool bus_only = false;
	static const struct option options[] = {
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "publish", required_argument, NULL, OPT_PUBLISH },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "bus-only", no_argument, NULL, OPT_BUS_ONLY }, /* as a participant that cannot use the control socket */
		{ "tick-sleep-ms", required_argument, NULL, OPT_SLEEP },
		{ "sleep-from-tick", required_argument, NULL, OPT_SLEEP_FROM },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_BUS:
			address = optarg;
			break;
		case OPT_NAME:
			s.name = optarg;
			break;
		case OPT_ROLE:
			role = optarg;
			break;
		case OPT_SEED:
			if (!fs_args_u64(optarg, &s.seed)) {
				return 2;
			}
			break;
		case OPT_PUBLISH:
			if (!fs_args_u64(optarg, &s.publish)) {
				return 2;
			}
			break;
		case OPT_BUS_ONLY:
			bus_only = true;
			break;
		case OPT_SLEEP:
		case OPT_SLEEP_FROM:
			if (!fs_args_u64(optarg, opt == OPT_SLEEP ? &s.tick_sleep_ms : &s.sleep_from_tick)) {
				return 2;
			}
			break;
		case OPT_BATCH:
			if (!fs_args_u64(optarg, &s.batch) || s.batch > 1000000) {
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	static const char *const subs[] = { "veh.event", NULL };
	struct fs_participant_config cfg = {
		.address = address, .name = s.name, .role = role, .shard_count = 1, .subscriptions = subs,
		.bus_only = bus_only,
	};
	struct fs_participant_ops ops = {
		.on_message = on_message, .on_tick = on_tick, .state_hash = state_hash, .on_end = on_end,
	};
	int rc = fs_participant_run(&cfg, &ops, &s, &stop);
	return rc == 0 || rc == -EINTR ? 0 : 1;
}
