/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-fast-peer - plays the conductor and a participant "alpha" that is always
 * faster than the Tick, against one real participant on the bus.
 *
 * On the control socket a Tick reaches alpha long before its bus copy reaches
 * a participant that takes its lockstep from the bus (a mixed run), and alpha
 * publishes its output of the tick meanwhile. Left to timing, that happens on
 * a loaded machine now and then; here it happens every tick: alpha publishes
 * its output of tick t, this waits until the broker has forwarded it (its
 * echo came back, so it is queued for every subscriber), and only then
 * publishes Tick t, with the watermarks a conductor would send. The
 * participant under test must still apply alpha's output of tick t at tick
 * t+1. Before Tick 0 the conductor publishes one batch of its own, named by
 * Tick 0's watermarks as scenario events are: that one is due at tick 0.
 * The participant's Bye results (fs-test-participant: applied,
 * order_errors, from_conductor, conductor_tick) are printed as
 * "applied=N order_errors=M conductor=K@TICK".
 *
 *   fs-fast-peer --bus ADDR --participant NAME [--ticks N] [--publish K]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_log.h"
#include "fs_topic.h"

#define PEER "alpha"
#define PEER_TOPIC "veh.event"
#define WAIT_MS (300 * 1000) /* a hang guard for a busy machine, not a speed limit */

struct script {
	struct fs_bus *conductor, *peer;
	const char *participant;
	uint64_t ticks, publish;
	/* the participant's last TickDone's watermarks, for the next Tick */
	Fleetsim__V1__TopicWatermark marks[16];
	size_t n_marks;
	double applied, order_errors, from_conductor, conductor_tick;
	bool ready, bye;
};

/* Note one message on the conductor's connection; returns a TickDone's tick + 1, else 0. */
static uint64_t take(struct script *s, struct fs_bus_message *msg)
{
	const Fleetsim__V1__Envelope *env = msg->env;
	uint64_t done_tick = 0;
	if (strcmp(env->sender, s->participant)) {
		return 0;
	}
	if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_READY) {
		s->ready = true;
	} else if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_DONE) {
		const Fleetsim__V1__TickDone *d = env->tick_done;
		s->n_marks = 0;
		for (size_t i = 0; i < d->n_published && s->n_marks < sizeof(s->marks) / sizeof(s->marks[0]); i++) {
			Fleetsim__V1__TopicWatermark *w = &s->marks[s->n_marks++];
			free(w->topic);
			fleetsim__v1__topic_watermark__init(w);
			w->sender = (char *)s->participant;
			w->topic = fs_xstrdup(d->published[i]->topic);
			w->topic_seq = d->published[i]->topic_seq;
		}
		done_tick = d->tick + 1;
	} else if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_BYE) {
		for (size_t i = 0; i < env->bye->n_results; i++) {
			if (!strcmp(env->bye->results[i]->key, "applied")) {
				s->applied = env->bye->results[i]->value;
			} else if (!strcmp(env->bye->results[i]->key, "order_errors")) {
				s->order_errors = env->bye->results[i]->value;
			} else if (!strcmp(env->bye->results[i]->key, "from_conductor")) {
				s->from_conductor = env->bye->results[i]->value;
			} else if (!strcmp(env->bye->results[i]->key, "conductor_tick")) {
				s->conductor_tick = env->bye->results[i]->value;
			}
		}
		s->bye = true;
	}
	return done_tick;
}

enum awaited { AWAIT_READY, AWAIT_DONE, AWAIT_BYE, AWAIT_ECHO };

/*
 * Read the conductor's connection until the participant is ready, its
 * TickDone(@n) came, its Bye came, or alpha's echo reached topic_seq @n.
 * Returns 0 or -ETIMEDOUT.
 */
static int wait_for(struct script *s, enum awaited what, uint64_t n)
{
	int64_t deadline = fs_clock_now_ms() + WAIT_MS;
	for (;;) {
		if ((what == AWAIT_READY && s->ready) || (what == AWAIT_BYE && s->bye) ||
		    (what == AWAIT_ECHO && fs_bus_received_seq(s->conductor, PEER, PEER_TOPIC) >= n)) {
			return 0;
		}
		int64_t left = deadline - fs_clock_now_ms();
		struct fs_bus_message *msg = NULL;
		if (left <= 0 || fs_bus_recv(s->conductor, &msg, (int)left) < 0) {
			return -ETIMEDOUT;
		}
		bool done = take(s, msg) == n + 1 && what == AWAIT_DONE;
		fs_bus_message_free(msg);
		if (done) {
			return 0;
		}
	}
}

/* A batch of one vehicle event on @bus. */
static int publish_event(struct fs_bus *bus, double value)
{
	Fleetsim__V1__VehicleEvent ev = FLEETSIM__V1__VEHICLE_EVENT__INIT, *evp = &ev;
	Fleetsim__V1__VehicleEventBatch batch = FLEETSIM__V1__VEHICLE_EVENT_BATCH__INIT;
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	ev.kind = FLEETSIM__V1__VEHICLE_EVENT_KIND__VEHICLE_EVENT_KIND_STATE_CHANGED;
	ev.value = value;
	batch.n_events = 1;
	batch.events = &evp;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS;
	env.vehicle_events = &batch;
	return fs_bus_publish(bus, PEER_TOPIC, &env);
}

/* alpha's output of @tick: @publish batches. */
static int peer_publishes(struct script *s, uint64_t tick)
{
	fs_bus_set_clock(s->peer, tick, (int64_t)tick * 1000);
	for (uint64_t m = 0; m < s->publish; m++) {
		int rc = publish_event(s->peer, (double)(tick * s->publish + m));
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* Tick @tick (or End, @end) with the watermarks of the tick before: alpha's and the participant's. */
static int conductor_sends(struct script *s, uint64_t tick, bool end)
{
	Fleetsim__V1__TopicWatermark alpha = FLEETSIM__V1__TOPIC_WATERMARK__INIT;
	Fleetsim__V1__TopicWatermark own = FLEETSIM__V1__TOPIC_WATERMARK__INIT;
	Fleetsim__V1__TopicWatermark *inputs[1 + sizeof(s->marks) / sizeof(s->marks[0])];
	size_t n = 0;
	if (tick == 0) {
		/* our batch published before Tick 0, named as the conductor names its scenario events */
		own.sender = (char *)"conductor";
		own.topic = (char *)PEER_TOPIC;
		own.topic_seq = 1;
		inputs[n++] = &own;
	} else {
		alpha.sender = (char *)PEER;
		alpha.topic = (char *)PEER_TOPIC;
		alpha.topic_seq = tick * s->publish;
		inputs[n++] = &alpha;
		for (size_t i = 0; i < s->n_marks; i++) {
			inputs[n++] = &s->marks[i];
		}
	}
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	Fleetsim__V1__Tick t = FLEETSIM__V1__TICK__INIT;
	Fleetsim__V1__End e = FLEETSIM__V1__END__INIT;
	fs_bus_set_clock(s->conductor, tick, (int64_t)tick * 1000);
	if (end) {
		e.ticks = tick;
		e.reason = (char *)"completed";
		e.n_inputs = n;
		e.inputs = inputs;
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_END;
		env.end = &e;
	} else {
		t.tick = tick;
		t.sim_time_ms = (int64_t)tick * 1000;
		t.tick_ms = 1000;
		t.last = tick + 1 == s->ticks;
		t.n_inputs = n;
		t.inputs = inputs;
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_START;
		env.tick_start = &t;
	}
	return fs_bus_publish(s->conductor, NULL, &env);
}

static int play(struct script *s)
{
	if (wait_for(s, AWAIT_READY, 0) < 0) {
		fs_error("%s never said Ready", s->participant);
		return -ETIMEDOUT;
	}
	int rc = publish_event(s->conductor, -1.0);
	if (rc < 0) {
		fs_error("cannot publish the conductor's batch: %s", strerror(-rc));
		return rc;
	}
	for (uint64_t tick = 0; tick <= s->ticks; tick++) {
		bool end = tick == s->ticks;
		if (!end) {
			rc = peer_publishes(s, tick);
			if (rc < 0 || wait_for(s, AWAIT_ECHO, (tick + 1) * s->publish) < 0) {
				fs_error("%s's output of tick %" PRIu64 " did not come back through the broker", PEER, tick);
				return rc < 0 ? rc : -ETIMEDOUT;
			}
		}
		rc = conductor_sends(s, tick, end);
		if (rc < 0) {
			fs_error("cannot publish %s %" PRIu64 ": %s", end ? "End after tick" : "Tick", tick, strerror(-rc));
			return rc;
		}
		if (wait_for(s, end ? AWAIT_BYE : AWAIT_DONE, tick) < 0) {
			fs_error("no %s from %s after %s %" PRIu64, end ? "Bye" : "TickDone", s->participant,
				 end ? "End after tick" : "Tick", tick);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

static struct fs_bus *join(const char *address, const char *name, const char *const *subs)
{
	struct fs_bus_options opts = { .address = address, .name = name, .mode = FS_BUS_PARTICIPANT };
	struct fs_bus *bus = fs_bus_connect(&opts);
	if (!bus) {
		return NULL;
	}
	for (const char *const *t = subs; *t; t++) {
		fs_bus_subscribe(bus, *t);
	}
	if (fs_bus_handshake(bus, WAIT_MS) < 0) {
		fs_error("%s: no answer from the broker", name);
		fs_bus_close(bus);
		return NULL;
	}
	return bus;
}

int main(int argc, char **argv)
{
	fs_log_init("fs-fast-peer", FS_LOG_WARNING);
	struct script s = { .participant = "gamma", .ticks = 3, .publish = 4 };
	const char *address = NULL;
	enum { OPT_BUS = 256, OPT_PARTICIPANT, OPT_TICKS, OPT_PUBLISH };
	static const struct option options[] = {
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "participant", required_argument, NULL, OPT_PARTICIPANT },
		{ "ticks", required_argument, NULL, OPT_TICKS },
		{ "publish", required_argument, NULL, OPT_PUBLISH },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_BUS:
			address = optarg;
			break;
		case OPT_PARTICIPANT:
			s.participant = optarg;
			break;
		case OPT_TICKS:
		case OPT_PUBLISH:
			if (!fs_args_u64(optarg, opt == OPT_TICKS ? &s.ticks : &s.publish) || !s.ticks || !s.publish) {
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	static const char *const conductor_subs[] = { "ctl.ready", "ctl.done", "ctl.bye", PEER_TOPIC, NULL };
	static const char *const peer_subs[] = { NULL };
	s.conductor = join(address, "conductor", conductor_subs);
	s.peer = s.conductor ? join(address, PEER, peer_subs) : NULL;
	int rc = s.peer ? play(&s) : -ECONNREFUSED;
	if (rc == 0) {
		printf("applied=%.0f order_errors=%.0f conductor=%.0f@%.0f\n", s.applied, s.order_errors, s.from_conductor,
		       s.conductor_tick);
	}
	for (size_t i = 0; i < sizeof(s.marks) / sizeof(s.marks[0]); i++) {
		free(s.marks[i].topic); /* also those of an earlier, longer TickDone */
	}
	fs_bus_close(s.peer);
	fs_bus_close(s.conductor);
	return rc == 0 ? 0 : 1;
}
