/* SPDX-License-Identifier: Apache-2.0 */
/* fs_participant - the lockstep participant loop (see fs_participant.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_clock.h"
#include "fs_log.h"
#include "fs_participant.h"

#define CONDUCTOR "conductor"
#define READY_RESEND_MS 250
#define HEARTBEAT_MS 1000

struct result {
	char *key;
	double value;
};

struct fs_participant {
	const struct fs_participant_config *cfg;
	struct fs_bus *bus;
	struct fs_bus_message **inbox;
	size_t inbox_len, inbox_cap;
	uint64_t next_tick;   /* the tick we expect next */
	bool started;
	struct result *results;
	size_t results_len, results_cap;
};

struct fs_bus *fs_participant_bus(struct fs_participant *p)
{
	return p->bus;
}

uint64_t fs_participant_tick(const struct fs_participant *p)
{
	return p->next_tick ? p->next_tick - 1 : 0;
}

int fs_participant_publish(struct fs_participant *p, const char *topic, Fleetsim__V1__Envelope *env)
{
	int rc = fs_bus_publish(p->bus, topic, env);
	if (rc < 0) {
		fs_error("%s: cannot publish on %s: %s", p->cfg->name, topic ? topic : "(payload topic)", strerror(-rc));
	}
	return rc;
}

void fs_participant_add_result(struct fs_participant *p, const char *key, double value)
{
	if (p->results_len == p->results_cap) {
		p->results_cap = p->results_cap ? p->results_cap * 2 : 16;
		struct result *r = realloc(p->results, p->results_cap * sizeof(*r));
		if (!r) {
			fs_error("out of memory for results");
			abort();
		}
		p->results = r;
	}
	p->results[p->results_len++] = (struct result){ fs_xstrdup(key), value };
}

static int compare_messages(const void *a, const void *b)
{
	const Fleetsim__V1__Envelope *x = (*(struct fs_bus_message *const *)a)->env;
	const Fleetsim__V1__Envelope *y = (*(struct fs_bus_message *const *)b)->env;
	if (x->tick != y->tick) {
		return x->tick < y->tick ? -1 : 1;
	}
	int c = strcmp(x->sender, y->sender);
	if (c) {
		return c;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void inbox_push(struct fs_participant *p, struct fs_bus_message *msg)
{
	if (p->inbox_len == p->inbox_cap) {
		p->inbox_cap = p->inbox_cap ? p->inbox_cap * 2 : 64;
		struct fs_bus_message **n = realloc(p->inbox, p->inbox_cap * sizeof(*n));
		if (!n) {
			fs_error("out of memory for the inbox");
			abort();
		}
		p->inbox = n;
	}
	p->inbox[p->inbox_len++] = msg;
}

/* Deliver everything produced before @tick, in (tick, sender, sequence) order. */
static void apply_inbox(struct fs_participant *p, const struct fs_participant_ops *ops, void *ctx, uint64_t tick)
{
	if (p->inbox_len > 1) {
		qsort(p->inbox, p->inbox_len, sizeof(*p->inbox), compare_messages);
	}
	size_t keep = 0;
	for (size_t i = 0; i < p->inbox_len; i++) {
		struct fs_bus_message *msg = p->inbox[i];
		if (msg->env->tick < tick || !p->started) {
			if (ops->on_message) {
				ops->on_message(ctx, p, msg);
			}
			fs_bus_message_free(msg);
		} else {
			p->inbox[keep++] = msg; /* produced in this tick by a faster peer: next time */
		}
	}
	p->inbox_len = keep;
}

static int publish_ready(struct fs_participant *p)
{
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	Fleetsim__V1__Ready ready = FLEETSIM__V1__READY__INIT;
	ready.participant = (char *)p->cfg->name;
	ready.role = (char *)p->cfg->role;
	ready.pid = (uint32_t)getpid();
	ready.shard = p->cfg->shard;
	ready.shard_count = p->cfg->shard_count;
	ready.version = (char *)FS_VERSION;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_READY;
	env.ready = &ready;
	return fs_participant_publish(p, NULL, &env);
}

static int publish_heartbeat(struct fs_participant *p)
{
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	Fleetsim__V1__Heartbeat hb = FLEETSIM__V1__HEARTBEAT__INIT;
	hb.participant = (char *)p->cfg->name;
	hb.waiting_for_tick = p->next_tick;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_HEARTBEAT;
	env.heartbeat = &hb;
	return fs_participant_publish(p, NULL, &env);
}

static int run_tick(struct fs_participant *p, const struct fs_participant_ops *ops, void *ctx,
		    const Fleetsim__V1__Tick *tick)
{
	int64_t started_us = fs_clock_now_us();
	fs_bus_set_clock(p->bus, tick->tick, tick->sim_time_ms);
	apply_inbox(p, ops, ctx, tick->tick);
	p->started = true;
	int rc = ops->on_tick ? ops->on_tick(ctx, p, tick->tick, tick->sim_time_ms) : 0;
	if (rc) {
		fs_error("%s: tick %" PRIu64 " failed (%d)", p->cfg->name, tick->tick, rc);
		return rc < 0 ? rc : -EIO;
	}
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	Fleetsim__V1__TickDone done = FLEETSIM__V1__TICK_DONE__INIT;
	Fleetsim__V1__ClientStats stats = FLEETSIM__V1__CLIENT_STATS__INIT;
	done.tick = tick->tick;
	done.state_hash = ops->state_hash ? ops->state_hash(ctx) : 0;
	/* Counted before this message is sent, so the figure is stable run to run. */
	fs_bus_stats_to_proto(fs_bus_get_stats(p->bus), &stats);
	done.stats = &stats;
	done.work_us = (uint64_t)(fs_clock_now_us() - started_us);
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_DONE;
	env.tick_done = &done;
	p->next_tick = tick->tick + 1;
	return fs_participant_publish(p, NULL, &env);
}

static int say_bye(struct fs_participant *p)
{
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	Fleetsim__V1__Bye bye = FLEETSIM__V1__BYE__INIT;
	Fleetsim__V1__ClientStats stats = FLEETSIM__V1__CLIENT_STATS__INIT;
	Fleetsim__V1__KeyValue *kv = calloc(p->results_len ? p->results_len : 1, sizeof(*kv));
	Fleetsim__V1__KeyValue **kvp = calloc(p->results_len ? p->results_len : 1, sizeof(*kvp));
	if (!kv || !kvp) {
		free(kv);
		free(kvp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->results_len; i++) {
		fleetsim__v1__key_value__init(&kv[i]);
		kv[i].key = p->results[i].key;
		kv[i].value = p->results[i].value;
		kvp[i] = &kv[i];
	}
	fs_bus_stats_to_proto(fs_bus_get_stats(p->bus), &stats);
	bye.participant = (char *)p->cfg->name;
	bye.stats = &stats;
	bye.n_results = p->results_len;
	bye.results = kvp;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_BYE;
	env.bye = &bye;
	int rc = fs_participant_publish(p, NULL, &env);
	free(kv);
	free(kvp);
	return rc;
}

/* Returns 1 when the run ended, 0 to go on, -errno on failure. */
static int handle(struct fs_participant *p, const struct fs_participant_ops *ops, void *ctx,
		  struct fs_bus_message *msg)
{
	const Fleetsim__V1__Envelope *env = msg->env;
	if (!strcmp(env->sender, p->cfg->name)) {
		fs_bus_message_free(msg); /* our own output, echoed by the broker */
		return 0;
	}
	switch (env->payload_case) {
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_START: {
		if (strcmp(env->sender, CONDUCTOR)) {
			fs_bus_reject(p->bus, msg, "only the conductor starts ticks");
			break;
		}
		if (env->tick_start->tick != p->next_tick) {
			char why[96];
			snprintf(why, sizeof(why), "tick %" PRIu64 " out of order, expected %" PRIu64,
				 env->tick_start->tick, p->next_tick);
			fs_bus_reject(p->bus, msg, why);
			break;
		}
		int rc = run_tick(p, ops, ctx, env->tick_start);
		fs_bus_message_free(msg);
		return rc < 0 ? rc : 0;
	}
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_END:
		if (strcmp(env->sender, CONDUCTOR)) {
			fs_bus_reject(p->bus, msg, "only the conductor ends the run");
			break;
		}
		fs_bus_message_free(msg);
		apply_inbox(p, ops, ctx, UINT64_MAX);
		if (ops->on_end && ops->on_end(ctx, p) < 0) {
			fs_error("%s: could not finish its outputs", p->cfg->name);
		}
		return say_bye(p) < 0 ? -EIO : 1;
	default:
		inbox_push(p, msg);
		return 0;
	}
	fs_bus_message_free(msg);
	return 0;
}

int fs_participant_run(const struct fs_participant_config *cfg, const struct fs_participant_ops *ops,
		       void *ctx, volatile sig_atomic_t *stop)
{
	struct fs_participant p = { .cfg = cfg };
	struct fs_bus_options opts = {
		.address = cfg->address,
		.name = cfg->name,
		.mode = FS_BUS_PARTICIPANT,
		.max_message_bytes = cfg->max_message_bytes,
	};
	int rc = 0;
	p.bus = fs_bus_connect(&opts);
	if (!p.bus) {
		return -ECONNREFUSED;
	}
	fs_bus_subscribe(p.bus, "ctl.tick");
	fs_bus_subscribe(p.bus, "ctl.end");
	for (const char *const *s = cfg->subscriptions; s && *s; s++) {
		fs_bus_subscribe(p.bus, *s);
	}
	rc = fs_bus_handshake(p.bus, cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 20000);
	if (rc < 0) {
		fs_error("%s: no answer from the broker: %s", cfg->name, strerror(-rc));
		goto out;
	}
	int64_t next_ready = 0, next_heartbeat = fs_clock_now_ms() + HEARTBEAT_MS;
	while (!*stop) {
		int64_t now = fs_clock_now_ms();
		if (!p.started && now >= next_ready) {
			/* Repeated until tick 0: the conductor may have subscribed after our first one. */
			publish_ready(&p);
			next_ready = now + READY_RESEND_MS;
		}
		if (now >= next_heartbeat) {
			publish_heartbeat(&p);
			if (p.started && ops->on_idle) {
				ops->on_idle(ctx, &p);
			}
			next_heartbeat = now + HEARTBEAT_MS;
		}
		int64_t wake = p.started ? next_heartbeat : (next_ready < next_heartbeat ? next_ready : next_heartbeat);
		struct fs_bus_message *msg = NULL;
		rc = fs_bus_recv(p.bus, &msg, (int)(wake > now ? wake - now : 0));
		if (rc == -EAGAIN || rc == -EINTR) {
			rc = 0;
			continue;
		}
		if (rc < 0) {
			fs_error("%s: bus receive failed: %s", cfg->name, strerror(-rc));
			goto out;
		}
		next_heartbeat = fs_clock_now_ms() + HEARTBEAT_MS; /* traffic shows we are alive */
		rc = handle(&p, ops, ctx, msg);
		if (rc < 0) {
			goto out;
		}
		if (rc == 1) {
			rc = 0;
			goto out;
		}
	}
	rc = -EINTR;
	/* Stopped from outside: the broker may be gone, do not wait to deliver. */
	fs_bus_set_linger(p.bus, 0);
out:
	for (size_t i = 0; i < p.inbox_len; i++) {
		fs_bus_message_free(p.inbox[i]);
	}
	free(p.inbox);
	for (size_t i = 0; i < p.results_len; i++) {
		free(p.results[i].key);
	}
	free(p.results);
	fs_bus_close(p.bus);
	return rc;
}
