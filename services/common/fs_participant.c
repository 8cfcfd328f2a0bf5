/* SPDX-License-Identifier: Apache-2.0 */
/* fs_participant - the lockstep participant loop (see fs_participant.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "fs_clock.h"
#include "fs_control.h"
#include "fs_control_msg.h"
#include "fs_log.h"
#include "fs_participant.h"

#define READY_RESEND_MS 250
#define HEARTBEAT_MS 1000
#define INPUT_STALL_WARN_MS 10000

struct fs_participant {
	const struct fs_participant_config *cfg;
	char address[FS_BUS_ADDRESS_MAX];
	volatile sig_atomic_t *stop;
	struct fs_bus *bus;
	int control_fd;        /* the conductor's control socket, -1 = none (Ticks come on the bus) */
	bool control_mute;     /* sending on it failed: still read what the conductor sent before (End) */
	bool bus_ticks_off;    /* a Tick came on the control socket: the bus copies are unsubscribed */
	struct fs_bus_message **inbox;
	size_t inbox_len, inbox_cap;
	uint64_t next_tick;   /* the tick we expect next */
	bool started;
	uint64_t input_waits;  /* ticks whose inputs were still on the way when the Tick came */
	struct fs_control_result *results; /* keys owned */
	size_t results_len, results_cap;
	struct fs_bus_message *pending_end; /* an End that came while a tick waited for its inputs */
	struct fs_control_msg out;    /* what we send: Ready, Heartbeat, TickDone, Bye */
	struct fs_control_in in;      /* the Tick or End being handled */
	struct fs_control_in waiting; /* a Tick or End that came while the tick waited for its inputs */
	struct fs_control_watermark *published; /* TickDone's, from fs_bus_published() */
	size_t published_cap;
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
	fs_xgrow(p->results, p->results_cap, p->results_len + 1);
	p->results[p->results_len++] = (struct fs_control_result){ fs_xstrdup(key), value };
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
	fs_xgrow(p->inbox, p->inbox_cap, p->inbox_len + 1);
	p->inbox[p->inbox_len++] = msg;
}

/* Is @msg among what @inputs name (its sender's topic up to the watermark)? */
static bool named_by(const struct fs_bus_message *msg, const struct fs_control_watermark *inputs, size_t n_inputs)
{
	for (size_t i = 0; i < n_inputs; i++) {
		const struct fs_control_watermark *w = &inputs[i];
		if (!strcmp(w->sender, msg->env->sender) && !strcmp(w->topic, msg->topic)) {
			return msg->env->topic_seq <= w->topic_seq;
		}
	}
	return false;
}

/*
 * Deliver what is due at @tick, in (tick, sender, sequence) order: everything
 * produced before it, and what the Tick's @inputs name. The latter matters at
 * tick 0 only: the scenario events the conductor published before Tick 0 are
 * stamped tick 0, like a faster peer's tick-0 output, which is due at tick 1;
 * only the watermarks tell them apart, not whether the Tick came first.
 */
static void apply_inbox(struct fs_participant *p, const struct fs_participant_ops *ops, void *ctx, uint64_t tick,
			const struct fs_control_watermark *inputs, size_t n_inputs)
{
	if (p->inbox_len > 1) {
		qsort(p->inbox, p->inbox_len, sizeof(*p->inbox), compare_messages);
	}
	size_t keep = 0;
	for (size_t i = 0; i < p->inbox_len; i++) {
		struct fs_bus_message *msg = p->inbox[i];
		if (msg->env->tick < tick || named_by(msg, inputs, n_inputs)) {
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

/* The control socket is gone (the conductor closed it): go on with the bus copies. */
static void control_lost(struct fs_participant *p, int err)
{
	fs_warn("%s: lost the conductor's control socket (%s); listening for ticks on the bus", p->cfg->name,
		strerror(-err));
	close(p->control_fd);
	p->control_fd = -1;
	p->control_mute = false;
	if (p->bus_ticks_off) {
		fs_bus_subscribe(p->bus, "ctl.tick");
		fs_bus_subscribe(p->bus, "ctl.end");
		p->bus_ticks_off = false;
	}
}

/* True if a control message sent now reaches the conductor's control socket. */
static bool control_sends(const struct fs_participant *p)
{
	return p->control_fd >= 0 && !p->control_mute;
}

/*
 * Send a control message already published (and so stamped) on the bus. If
 * that fails (the conductor closed its end), the socket is kept for reading:
 * an End the conductor sent before it left is still queued there, and is
 * read before the end of the stream, which then closes it (control_lost()).
 */
static void send_control(struct fs_participant *p, const char *topic, const Fleetsim__V1__Envelope *env)
{
	if (control_sends(p)) {
		int rc = fs_control_send(p->control_fd, topic, env);
		if (rc < 0) {
			fs_warn("%s: cannot send %s on the control socket (%s); the bus carries it", p->cfg->name, topic,
				strerror(-rc));
			p->control_mute = true;
		}
	}
}

static int publish_ready(struct fs_participant *p, bool on_control)
{
	const struct fs_control_ready ready = {
		.participant = p->cfg->name, .role = p->cfg->role, .version = FS_VERSION, .pid = (uint32_t)getpid(),
		.shard = p->cfg->shard, .shard_count = p->cfg->shard_count, .control_socket = p->control_fd >= 0,
	};
	Fleetsim__V1__Envelope *env = fs_control_msg_encode_ready(&p->out, &ready);
	int rc = fs_participant_publish(p, NULL, env);
	if (rc == 0 && on_control) {
		send_control(p, "ctl.ready", env);
	}
	return rc;
}

/*
 * Before tick 0, on an ipc bus: connect to the conductor's control socket if
 * it has one (a conductor told --control=bus, or on tcp, has none: then the
 * bus carries everything, as it does for a participant that is not us).
 */
static void try_control_socket(struct fs_participant *p)
{
	char path[FS_BUS_ADDRESS_MAX];
	if (p->control_fd >= 0 || p->cfg->bus_only || fs_control_path(p->address, path, sizeof(path)) < 0) {
		return;
	}
	int fd = fs_control_connect(p->address);
	if (fd >= 0) {
		p->control_fd = fd;
		fs_debug("%s: on the conductor's control socket %s", p->cfg->name, path);
	}
}

static bool subscribed(const struct fs_participant *p, const char *topic)
{
	for (const char *const *s = p->cfg->subscriptions; s && *s; s++) {
		if (!strncmp(topic, *s, strlen(*s))) {
			return true;
		}
	}
	return false;
}

/*
 * A message that arrived while waiting for a tick's inputs: data goes to the
 * inbox; a copy of a Tick already taken is dropped; other control messages
 * cannot be due now (the conductor waits for our TickDone) and are refused.
 */
static void inbox_push(struct fs_participant *p, struct fs_bus_message *msg);

static void take_while_waiting(struct fs_participant *p, struct fs_bus_message *msg)
{
	const Fleetsim__V1__Envelope *env = msg->env;
	enum fs_control_kind kind = fs_control_msg_kind(env);
	if (!strcmp(env->sender, p->cfg->name)) {
		fs_bus_message_free(msg);
	} else if (kind == FS_CONTROL_TICK || kind == FS_CONTROL_END) {
		const char *why = fs_control_msg_decode(env, &p->waiting);
		if (why) {
			fs_bus_reject(p->bus, msg, why);
		} else if (kind == FS_CONTROL_END || p->waiting.tick.tick >= p->next_tick) {
			fs_bus_reject(p->bus, msg, "control message while waiting for a tick's inputs");
		}
		fs_bus_message_free(msg);
	} else {
		inbox_push(p, msg);
	}
}

/*
 * Wait until the bus delivered every message the conductor says was produced
 * before this tick on topics we subscribe to (Tick.inputs, End.inputs): the
 * control socket outruns the broker, so a Tick may arrive first. The bus is
 * lossless for participants, so this ends unless a peer died, which the
 * launcher sees; meanwhile the wait is reported every 10 s.
 */
static int next_message(struct fs_participant *p, struct fs_bus_message **ret, bool *from_control, int timeout_ms);

/*
 * An End from the conductor while a tick waits for its inputs: the run was
 * stopped or aborted without that tick (docs/architecture.md "Stopping a
 * run"), and what the tick waits for may never come (a dead peer or broker).
 * Keep it for the loop, which ends the run with the last tick's state.
 */
static bool end_while_waiting(struct fs_participant *p, struct fs_bus_message *msg, bool waiting_for_end)
{
	if (fs_control_msg_kind(msg->env) != FS_CONTROL_END || fs_control_msg_decode(msg->env, &p->waiting)) {
		return false; /* a refused one is counted by take_while_waiting() */
	}
	if (waiting_for_end || p->pending_end) {
		fs_bus_message_free(msg); /* the other copy (bus or control socket) of the End being handled */
	} else {
		p->pending_end = msg;
	}
	return true;
}

static int wait_inputs(struct fs_participant *p, uint64_t tick, const struct fs_control_watermark *inputs,
		       size_t n_inputs, bool for_end)
{
	bool counted = false;
	for (size_t i = 0; i < n_inputs; i++) {
		const struct fs_control_watermark *w = &inputs[i];
		if (!strcmp(w->sender, p->cfg->name) || !subscribed(p, w->topic)) {
			continue;
		}
		int64_t since = fs_clock_now_ms(), warn_at = since + INPUT_STALL_WARN_MS;
		uint64_t have;
		while ((have = fs_bus_received_seq(p->bus, w->sender, w->topic)) < w->topic_seq) {
			if (!counted) {
				p->input_waits++;
				counted = true;
			}
			if (*p->stop) {
				return -EINTR;
			}
			struct fs_bus_message *msg = NULL;
			bool from_control = false;
			int rc = next_message(p, &msg, &from_control, 1000);
			if (rc == 0 && end_while_waiting(p, msg, for_end)) {
				if (p->pending_end) {
					return -ECANCELED;
				}
			} else if (rc == 0) {
				take_while_waiting(p, msg);
			} else if (rc != -EAGAIN && rc != -EINTR) {
				return rc;
			}
			int64_t now = fs_clock_now_ms();
			if (now >= warn_at) {
				fs_warn("%s: tick %" PRIu64 " still waits for %s's %s #%" PRIu64 " (has #%" PRIu64
					") after %.0f s",
					p->cfg->name, tick, w->sender, w->topic, w->topic_seq, have,
					(double)(now - since) / 1000.0);
				warn_at = now + INPUT_STALL_WARN_MS;
			}
		}
	}
	return 0;
}

static int publish_heartbeat(struct fs_participant *p)
{
	const struct fs_control_heartbeat hb = { p->cfg->name, p->next_tick };
	return fs_participant_publish(p, NULL, fs_control_msg_encode_heartbeat(&p->out, &hb));
}

/* Our counters as a TickDone or Bye reports them. */
static struct fs_control_stats own_stats(const struct fs_participant *p)
{
	return (struct fs_control_stats){ *fs_bus_get_stats(p->bus), p->input_waits };
}

/* What we published since the last TickDone: what our peers wait for before tick n+1. */
static size_t take_published(struct fs_participant *p)
{
	const struct fs_bus_watermark *published;
	size_t n = fs_bus_published(p->bus, &published);
	fs_xgrow(p->published, p->published_cap, n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		p->published[i] = (struct fs_control_watermark){ NULL, published[i].topic, published[i].topic_seq };
	}
	return n;
}

static int run_tick(struct fs_participant *p, const struct fs_participant_ops *ops, void *ctx,
		    const struct fs_control_tick *tick, bool from_control)
{
	int64_t started_us = fs_clock_now_us();
	p->next_tick = tick->tick + 1; /* from now on, copies of this Tick are duplicates */
	int rc = wait_inputs(p, tick->tick, tick->inputs, tick->n_inputs, false);
	if (rc < 0) {
		return rc;
	}
	fs_bus_set_clock(p->bus, tick->tick, tick->sim_time_ms);
	apply_inbox(p, ops, ctx, tick->tick, tick->inputs, tick->n_inputs);
	p->started = true;
	rc = ops->on_tick ? ops->on_tick(ctx, p, tick->tick, tick->sim_time_ms) : 0;
	if (rc) {
		fs_error("%s: tick %" PRIu64 " failed (%d)", p->cfg->name, tick->tick, rc);
		return rc < 0 ? rc : -EIO;
	}
	size_t n_published = take_published(p); /* may move p->published */
	struct fs_control_tick_done done = {
		.tick = tick->tick,
		.state_hash = ops->state_hash ? ops->state_hash(ctx) : 0,
		.has_stats = true,
		.stats = own_stats(p), /* counted before this message is sent, so the figure is stable run to run */
		.published = p->published,
		.n_published = n_published,
	};
	done.work_us = (uint64_t)(fs_clock_now_us() - started_us);
	Fleetsim__V1__Envelope *env = fs_control_msg_encode_tick_done(&p->out, &done);
	if (!env) {
		return -ENOMEM;
	}
	/*
	 * Answered the way the Tick came. On the control socket only: the
	 * conductor copies it to the bus for observers (recorder, replay), one
	 * burst per tick instead of a wake-up of every participant's ZeroMQ
	 * thread and the broker for each. A Tick from the bus means the
	 * conductor has not bound our connection (it came too late, after tick
	 * 0 started): it expects the TickDone on the bus.
	 */
	if (from_control && control_sends(p) && fs_bus_stamp(p->bus, NULL, env)) {
		send_control(p, "ctl.done", env);
		rc = control_sends(p) ? 0 : fs_bus_send_stamped(p->bus, "ctl.done", env);
	} else {
		rc = fs_participant_publish(p, NULL, env);
	}
	if (rc == 0) {
		fs_bus_clear_published(p->bus);
	} else {
		fs_error("%s: cannot send TickDone: %s", p->cfg->name, strerror(-rc));
	}
	return rc;
}

static int say_bye(struct fs_participant *p)
{
	const struct fs_control_bye bye = { .participant = p->cfg->name, .has_stats = true, .stats = own_stats(p),
					    .results = p->results, .n_results = p->results_len };
	Fleetsim__V1__Envelope *env = fs_control_msg_encode_bye(&p->out, &bye);
	if (!env) {
		return -ENOMEM;
	}
	/* On the control socket too, when we have one: the results reach the conductor even if the
	 * broker died. (Closing still lingers for the bus: our last tick's data may be queued there.) */
	int rc;
	if (control_sends(p) && fs_bus_stamp(p->bus, NULL, env)) {
		send_control(p, "ctl.bye", env);
		rc = fs_bus_send_stamped(p->bus, "ctl.bye", env);
	} else {
		rc = fs_participant_publish(p, NULL, env);
	}
	return rc;
}

/* Returns 1 when the run ended, 0 to go on, -errno on failure. */
static int handle(struct fs_participant *p, const struct fs_participant_ops *ops, void *ctx,
		  struct fs_bus_message *msg, bool from_control)
{
	const Fleetsim__V1__Envelope *env = msg->env;
	if (!strcmp(env->sender, p->cfg->name)) {
		fs_bus_message_free(msg); /* our own output, echoed by the broker */
		return 0;
	}
	enum fs_control_kind kind = fs_control_msg_kind(env);
	if (kind == FS_CONTROL_TICK || kind == FS_CONTROL_END) {
		const char *why = fs_control_msg_decode(env, &p->in);
		if (why) {
			fs_bus_reject(p->bus, msg, why);
			fs_bus_message_free(msg);
			return 0;
		}
	}
	switch (kind) {
	case FS_CONTROL_TICK: {
		const struct fs_control_tick *tick = &p->in.tick;
		if (tick->tick < p->next_tick) {
			break; /* the other copy (bus or control socket) of a Tick already taken */
		}
		if (from_control && !p->bus_ticks_off) {
			/* Ticks come here now: stop waking up for their bus copies. */
			zmq_setsockopt(fs_bus_socket(p->bus), ZMQ_UNSUBSCRIBE, "ctl.tick", 8);
			zmq_setsockopt(fs_bus_socket(p->bus), ZMQ_UNSUBSCRIBE, "ctl.end", 7);
			p->bus_ticks_off = true;
		}
		if (tick->tick != p->next_tick) {
			char why[96];
			snprintf(why, sizeof(why), "tick %" PRIu64 " out of order, expected %" PRIu64, tick->tick,
				 p->next_tick);
			fs_bus_reject(p->bus, msg, why);
			break;
		}
		int rc = run_tick(p, ops, ctx, tick, from_control);
		fs_bus_message_free(msg);
		return rc < 0 ? rc : 0;
	}
	case FS_CONTROL_END: {
		int rc = wait_inputs(p, p->next_tick, p->in.end.inputs, p->in.end.n_inputs, true);
		fs_bus_message_free(msg);
		if (rc < 0) {
			return rc;
		}
		apply_inbox(p, ops, ctx, UINT64_MAX, NULL, 0);
		if (ops->on_end && ops->on_end(ctx, p) < 0) {
			fs_error("%s: could not finish its outputs", p->cfg->name);
		}
		return say_bye(p) < 0 ? -EIO : 1;
	}
	default:
		if (from_control) {
			fs_bus_reject(p->bus, msg, "not a control message");
			break;
		}
		inbox_push(p, msg);
		return 0;
	}
	fs_bus_message_free(msg);
	return 0;
}

/*
 * The next message from the control socket or the bus, waiting at most
 * @timeout_ms. Returns 0 with *ret set, -EAGAIN on timeout, other -errno.
 */
static int next_message(struct fs_participant *p, struct fs_bus_message **ret, bool *from_control, int timeout_ms)
{
	int64_t deadline = fs_clock_now_ms() + timeout_ms;
	for (;;) {
		*from_control = false;
		if (p->control_fd >= 0) {
			int rc = fs_control_recv(p->control_fd, p->bus, ret);
			if (rc == 1) {
				*from_control = true;
				return 0;
			}
			if (rc == 0) {
				continue; /* bad datagram, counted and dropped */
			}
			if (rc != -EAGAIN) {
				control_lost(p, rc);
			}
		}
		int rc = fs_bus_recv(p->bus, ret, 0);
		if (rc != -EAGAIN) {
			return rc;
		}
		if (fs_bus_link_lost(p->bus)) {
			/* tcp: what the broker queued for us is gone; the run cannot go on with us (docs/cluster.md) */
			fs_error("%s: lost the bus %s (the broker, its host or the network is gone): exiting", p->cfg->name,
				 p->address);
			return -ENOTCONN;
		}
		long wait = (long)(deadline - fs_clock_now_ms());
		if (wait <= 0) {
			return -EAGAIN;
		}
		zmq_pollitem_t items[2] = {
			{ .socket = fs_bus_socket(p->bus), .events = ZMQ_POLLIN },
			{ .fd = p->control_fd, .events = ZMQ_POLLIN },
		};
		if (zmq_poll(items, p->control_fd >= 0 ? 2 : 1, wait) < 0) {
			return errno == EINTR ? -EINTR : -errno;
		}
	}
}

/*
 * A participant may be started before its run's broker (a --participant
 * started by hand): wait for the ipc bus directory to appear, at most
 * @timeout_ms; fs_bus_connect() then checks it is private before using it.
 */
static int wait_for_bus_dir(struct fs_participant *p, int timeout_ms)
{
	if (strncmp(p->address, "ipc://", 6)) {
		return 0;
	}
	int64_t deadline = fs_clock_now_ms() + timeout_ms;
	while (access(p->address + 6, F_OK) < 0 && errno == ENOENT && !*p->stop && fs_clock_now_ms() < deadline) {
		usleep(20000);
	}
	return *p->stop ? -EINTR : 0;
}

/*
 * Stopped by a signal without End (the conductor died, or someone stopped
 * this process): the state is the one after the last finished tick, since
 * a signal only sets *stop, read between messages; write the outputs of the
 * run so far rather than lose them.
 */
static void keep_outputs(struct fs_participant *p, const struct fs_participant_ops *ops, void *ctx)
{
	if (!p->started || !ops->on_end) {
		return;
	}
	fs_warn("%s: stopped without End after tick %" PRIu64 ": writing its outputs as they stand", p->cfg->name,
		fs_participant_tick(p));
	if (ops->on_end(ctx, p) < 0) {
		fs_error("%s: could not finish its outputs", p->cfg->name);
	}
}

int fs_participant_run(const struct fs_participant_config *cfg, const struct fs_participant_ops *ops,
		       void *ctx, volatile sig_atomic_t *stop)
{
	struct fs_participant p = { .cfg = cfg, .stop = stop, .control_fd = -1 };
	if (cfg->address) {
		snprintf(p.address, sizeof(p.address), "%s", cfg->address);
	} else {
		fs_bus_default_address(p.address, sizeof(p.address));
	}
	struct fs_bus_options opts = {
		.address = p.address,
		.name = cfg->name,
		.mode = FS_BUS_PARTICIPANT,
		.max_message_bytes = cfg->max_message_bytes,
	};
	int rc = wait_for_bus_dir(&p, cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 20000);
	if (rc < 0) {
		return rc;
	}
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
		fs_error("%s: %s %s", cfg->name,
			 rc == -EACCES ? "the broker refused our CURVE key (not on the run's allow-list) at"
			 : rc == -EPROTO ? "the security handshake failed (no CURVE key, or not this broker's public key) at"
					 : "no answer from the broker at",
			 p.address);
		goto out;
	}
	int64_t next_ready = 0, next_heartbeat = fs_clock_now_ms() + HEARTBEAT_MS;
	while (!*stop) {
		int64_t now = fs_clock_now_ms();
		if (!p.started && now >= next_ready) {
			/* Repeated until tick 0: the conductor may have subscribed after our first one. */
			bool connected = p.control_fd >= 0;
			try_control_socket(&p);
			publish_ready(&p, !connected && p.control_fd >= 0);
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
		bool from_control = false;
		rc = next_message(&p, &msg, &from_control, (int)(wake > now ? wake - now : 0));
		if (rc == -EAGAIN || rc == -EINTR) {
			rc = 0;
			continue;
		}
		if (rc < 0) {
			if (rc != -ENOTCONN) { /* that one is said where it is seen */
				fs_error("%s: bus receive failed: %s", cfg->name, strerror(-rc));
			}
			goto out;
		}
		next_heartbeat = fs_clock_now_ms() + HEARTBEAT_MS; /* traffic shows we are alive */
		rc = handle(&p, ops, ctx, msg, from_control);
		if (rc == -ECANCELED && p.pending_end) {
			/* the tick was given up: end with the state of the one before */
			fs_warn("%s: the run ended during tick %" PRIu64 ", before its inputs came", cfg->name,
				fs_participant_tick(&p));
			msg = p.pending_end;
			p.pending_end = NULL;
			rc = handle(&p, ops, ctx, msg, false);
		}
		if (rc < 0) {
			goto out;
		}
		if (rc == 1) {
			rc = 0;
			goto out;
		}
	}
	rc = -EINTR;
out:
	if (rc == -EINTR || rc == -ENOTCONN) {
		/* Stopped from outside, or the bus is lost: do not wait to deliver. */
		fs_bus_set_linger(p.bus, 0);
		keep_outputs(&p, ops, ctx);
	}
	for (size_t i = 0; i < p.inbox_len; i++) {
		fs_bus_message_free(p.inbox[i]);
	}
	free(p.inbox);
	fs_bus_message_free(p.pending_end);
	fs_control_msg_finish(&p.out);
	fs_control_in_finish(&p.in);
	fs_control_in_finish(&p.waiting);
	free(p.published);
	for (size_t i = 0; i < p.results_len; i++) {
		free((char *)p.results[i].key);
	}
	free(p.results);
	if (p.control_fd >= 0) {
		close(p.control_fd);
	}
	fs_bus_close(p.bus);
	return rc;
}
