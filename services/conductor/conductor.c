/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-conductor - the deterministic lockstep barrier.
 *
 * The participant set is fixed at launch. Every participant reports Ready
 * before tick 0; tick n+1 starts only after every participant reported
 * TickDone(n). Each TickDone carries the participant's state hash; hashes of
 * the participants sharing a role are summed (shards of one fleet add up to
 * the same figure whatever the shard count) and the run digest is XXH3 over
 * (tick, role, role hash) for every tick, roles in name order.
 *
 * On an ipc bus Ready, Tick, TickDone and End travel on the control socket
 * (control_hub.c) and their copies on the bus; each Tick carries the
 * watermarks of the last tick's TickDones (tick_inputs.c), so participants
 * apply a tick's output only once all of it arrived (docs/bus.md).
 *
 * Pacing is wall-clock (as fast as possible, or real time x a factor) and
 * never changes what is simulated: only when ticks start, not what they do.
 *
 * Scenario events (the --scenario file's and those injected on scn.cmd) are
 * one schedule sorted by tick. An injected command is validated whole with
 * the scenario's own rules (fs_scenario_event_parse) and refused whole if any
 * event is invalid or in the past; accepted events get their tick ("next
 * tick" = the next tick this conductor starts). A command marked from_now
 * (fleetctl inject) counts its offsets (at: 10m) from that next tick. Just before starting tick t
 * the conductor publishes the events due at t on scn.cmd/apply, so every
 * participant applies them right before on_tick(t), in schedule order: a run
 * with an injected event and a run with the same event in its file publish
 * the same message at the same point and give the same digest.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zmq.h>

#include "fs/calendar.h"
#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_control_msg.h"
#include "fs_log.h"
#include "fs_outfile.h"
#include "fs_scenario_msg.h"
#include "fs_service.h"
#include "control_hub.h"
#include "lockstep_stats.h"
#include "tick_inputs.h"

#define NAME FS_CONTROL_CONDUCTOR /* who starts ticks and ends runs, to the control codec */
#define STATUS_EVERY_MS 250
#define STALL_WARN_MS 10000
#define BYE_TIMEOUT_MS 15000 /* after End: for the participants to write their outputs and say Bye */
#define CONTROL_GRACE_MS 600 /* > two of the participants' Ready intervals */
/*
 * [est] How long a stop request waits for the tick in flight before the run
 * ends without it: longer than the multi-second dispatch ticks of a
 * 100,000-vehicle run (issue 18), short enough that a stuck participant
 * (stopped, looping) cannot hold the results back. --stop-wait changes it.
 */
#define STOP_WAIT_MS_DEFAULT 10000
#define ABORT_BYE_TIMEOUT_MS 2000 /* a process of the run died: the others' outputs, quickly */
#define COPIED_SEQS 4 /* TickDone copies whose echo from the bus may still be on its way */
#define EXIT_NOT_ANSWERED 4 /* the run ended, summary written, but some participants did not answer */

struct participant {
	char *name;
	char *role;
	bool ready;
	bool done;       /* TickDone for the current tick received */
	bool bye;
	uint64_t hash;   /* of the current tick */
	uint64_t last_done_tick;
	bool has_done;
	uint64_t work_us;
	uint64_t work_total_us; /* sum over ticks: where the run's wall time goes */
	struct fs_control_stats stats;
	json_t *results; /* from Bye */
	bool gone;       /* closed its control connection before End: it died */
	bool bye_on_control;
	char not_answered[128]; /* why the run ended without it (summary.json "not_answered"), "" = it answered */
	bool on_control;      /* its lockstep runs on the control socket (fixed at tick 0) */
	uint8_t *done_copy;   /* its last TickDone from the control socket, packed, for the bus */
	size_t done_copy_len, done_copy_cap;
	uint64_t copied_seq[COPIED_SEQS]; /* envelope seqs of the last TickDones copied to the bus */
	unsigned copied_next;
};

struct role {
	char *name;
	uint64_t hash;
};

struct conductor {
	struct fs_bus *bus;
	char *address;
	bool use_control_socket;     /* --control=socket (on ipc buses) */
	struct control_hub *hub;     /* NULL: every lockstep message on the bus */
	struct tick_inputs inputs;   /* what the next Tick tells participants to wait for */
	bool broker_reported;
	bool done_copies_due;        /* TickDones from the control socket not yet copied to the bus */
	size_t on_control_socket;    /* participants bound to the control socket at tick 0 */
	struct participant *parts;
	size_t nparts;
	struct role *roles;
	size_t nroles;
	uint64_t seed;
	int64_t start_ms;
	uint32_t tick_ms;
	uint64_t duration_ticks;
	double speed;          /* 0 = as fast as possible */
	const char *out_dir;
	int ready_timeout_ms;

	enum fs_run_state state;
	uint64_t tick;         /* current (in flight) or next tick */
	bool in_flight;
	size_t pending_done;
	int64_t tick_started_us;
	bool paused;
	uint64_t steps_left;   /* > 0: pause after this many more ticks */
	bool stop_requested;
	char end_reason[256];
	int stop_wait_ms;      /* how long a stop waits for the tick in flight */
	int64_t stop_since_us; /* when the stop was requested, 0 = not yet */
	bool tick_abandoned;   /* the run ended during a tick: c->tick was never finished */

	int64_t anchor_us;     /* pacing: wall time at which anchor_tick may start */
	uint64_t anchor_tick;
	int64_t run_started_us, run_ended_us;
	int64_t last_status_us;
	uint64_t last_status_tick;
	double ratio;

	XXH3_state_t *digest;
	struct lockstep_stats lockstep;
	json_t *broker_stats;

	bool fleet_known;            /* --vehicles given: injected events naming other vehicles are refused */
	uint64_t fleet_ids;          /* vehicle ids 0..fleet_ids-1 exist: the initial fleet and deliveries so far */
	struct fs_scenario scenario; /* validation context; its events are the schedule */
	size_t next_event;           /* first event not yet published */
	uint64_t scn_accepted, scn_refused, events_applied;
	uint64_t forged_done;        /* TickDones on the bus under the name of a participant on the control socket */
	bool peer_lost;              /* the broker lost a participant's connection (tcp): the run failed */
	struct fs_control_msg out;   /* what we send: Tick, End, Status, CommandAck */
	struct fs_control_in in;     /* the control message being handled */
};

/* SIGINT/SIGTERM: 1 = stop at the next tick boundary (waiting --stop-wait for
 * the tick in flight), 2 = a second one: stop now, without that tick. */
static volatile sig_atomic_t stop_signal;
/* SIGUSR1: the launcher saw a process of the run die. End now (the tick in
 * flight will not complete) and write what was recorded. */
static volatile sig_atomic_t abort_signal;

static void on_abort(int sig)
{
	(void)sig;
	abort_signal = 1;
	stop_signal = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fs-conductor --participants NAME:ROLE[,NAME:ROLE...] [options]\n"
		"\n"
		"The lockstep conductor of a fleetsim run (normally started by `fleetsim run`).\n"
		"\n"
		"Options:\n"
		"  --bus ADDR            bus address (default $FLEETSIM_BUS, else\n"
		"                        ipc://$XDG_RUNTIME_DIR/fleetsim or ipc:///tmp/fleetsim-UID)\n"
		"  --participants LIST   the fixed participant set, e.g. vehicle-0:vehicle,dispatch:dispatch\n"
		"  --seed N              run seed (recorded in summary.json)\n"
		"  --start DATETIME      simulated start, e.g. 2028-06-01T06:00:00Z\n"
		"  --duration D          simulated duration: 3600, 90m, 2h, 1d (default 1h)\n"
		"  --tick-ms N           simulated milliseconds per tick (default 1000)\n"
		"  --speed X|max         pace: X times real time, or max (default max)\n"
		"  --paused              wait for `fleetctl resume` or `step` before tick 0\n"
		"  --ready-timeout S     give up if participants are not ready (default 60)\n"
		"  --vehicles N          the initial fleet (ids 0..N-1): injected events naming other\n"
		"                        vehicles (beyond it and the deliveries so far) are refused\n"
		"  --stop-wait S         a stop (signal, fleetctl stop) waits at most S seconds for the\n"
		"                        tick in flight, then ends the run without it (default 10)\n"
		"  --out DIR             write DIR/summary.json\n"
		"  --scenario FILE       scenario: its events are scheduled, injected ones validated with it\n"
		"  --no-scenario-events  schedule none of the file's events (a window of a longer scenario,\n"
		"                        as `fleetsim rollout` samples it); injected ones still apply\n"
		"  --control socket|bus  lockstep messages on the control socket DIR/ctl (ipc buses; default)\n"
		"                        or through the broker like everything else\n"
		"  --version             print the version\n"
		"  -h, --help            this text\n"
		"\n"
		"Exit status: 0 the run ended (summary.json says whether it completed), 1 failure,\n"
		"2 usage, 3 participants not ready in time, 4 the run ended but some participants\n"
		"did not answer (summary.json \"not_answered\" names them and why).\n");
}

static int parse_participants(struct conductor *c, const char *list)
{
	char *copy = fs_xstrdup(list), *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		if (!colon || colon == item || !colon[1]) {
			fs_error("--participants: '%s' is not NAME:ROLE", item);
			free(copy);
			return -EINVAL;
		}
		*colon = '\0';
		for (size_t i = 0; i < c->nparts; i++) {
			if (!strcmp(c->parts[i].name, item)) {
				fs_error("--participants: '%s' listed twice", item);
				free(copy);
				return -EINVAL;
			}
		}
		c->parts = realloc(c->parts, (c->nparts + 1) * sizeof(*c->parts));
		c->parts[c->nparts] = (struct participant){ .name = fs_xstrdup(item), .role = fs_xstrdup(colon + 1) };
		c->nparts++;
	}
	free(copy);
	return 0;
}

static int compare_roles(const void *a, const void *b)
{
	return strcmp(((const struct role *)a)->name, ((const struct role *)b)->name);
}

static void build_roles(struct conductor *c)
{
	c->roles = fs_xcalloc(c->nparts ? c->nparts : 1, sizeof(*c->roles));
	for (size_t i = 0; i < c->nparts; i++) {
		bool seen = false;
		for (size_t r = 0; r < c->nroles; r++) {
			seen |= !strcmp(c->roles[r].name, c->parts[i].role);
		}
		if (!seen) {
			c->roles[c->nroles++].name = c->parts[i].role;
		}
	}
	qsort(c->roles, c->nroles, sizeof(*c->roles), compare_roles);
}

static struct participant *find(struct conductor *c, const char *name)
{
	for (size_t i = 0; i < c->nparts; i++) {
		if (!strcmp(c->parts[i].name, name)) {
			return &c->parts[i];
		}
	}
	return NULL;
}

static int64_t sim_time_of(const struct conductor *c, uint64_t tick)
{
	return c->start_ms + (int64_t)tick * c->tick_ms;
}

static void publish(struct conductor *c, Fleetsim__V1__Envelope *env)
{
	int rc = fs_bus_publish(c->bus, NULL, env);
	if (rc < 0) {
		fs_error("cannot publish: %s", strerror(-rc));
	}
}

static void send_ack(struct conductor *c, uint64_t id, const char *requester, bool ok, const char *reason)
{
	const struct fs_control_command_ack ack = { .command_id = id, .requester = requester, .reason = reason,
						    .accepted = ok };
	publish(c, fs_control_msg_encode_command_ack(&c->out, &ack));
}

static void reanchor(struct conductor *c)
{
	c->anchor_us = fs_clock_now_us();
	c->anchor_tick = c->tick;
}

static void handle_command(struct conductor *c, const char *sender, const struct fs_control_command *cmd)
{
	char reason[128] = "";
	bool ok = true;
	switch (cmd->kind) {
	case FS_COMMAND_PAUSE:
		c->paused = true;
		c->steps_left = 0;
		snprintf(reason, sizeof(reason), "paused at tick %" PRIu64, c->tick);
		break;
	case FS_COMMAND_RESUME:
		c->paused = false;
		c->steps_left = 0;
		reanchor(c);
		snprintf(reason, sizeof(reason), "running from tick %" PRIu64, c->tick);
		break;
	case FS_COMMAND_STEP: {
		uint64_t n = cmd->steps ? cmd->steps : 1;
		c->steps_left = n;
		c->paused = false;
		reanchor(c);
		snprintf(reason, sizeof(reason), "stepping %" PRIu64 " tick(s) from tick %" PRIu64, n, c->tick);
		break;
	}
	case FS_COMMAND_SPEED: /* finite and >= 0: the codec refuses others */
		c->speed = cmd->speed;
		reanchor(c);
		if (c->speed > 0) {
			snprintf(reason, sizeof(reason), "speed %gx real time", c->speed);
		} else {
			snprintf(reason, sizeof(reason), "speed max");
		}
		break;
	case FS_COMMAND_STOP:
		c->stop_requested = true;
		snprintf(c->end_reason, sizeof(c->end_reason), "stopped by %s", sender);
		snprintf(reason, sizeof(reason), "stopping after tick %" PRIu64, c->tick);
		break;
	case FS_COMMAND_SEEK:
		ok = false; /* a run computes each tick from the last: only a playback (`fleetctl play`) can seek */
		snprintf(reason, sizeof(reason), "a live run cannot seek (only a recording played with `fleetctl play`)");
		break;
	default:
		ok = false;
		snprintf(reason, sizeof(reason), "unknown command kind %d", (int)cmd->kind);
		break;
	}
	fs_info("%s from %s: %s", ok ? "command" : "refused command", sender, reason);
	send_ack(c, cmd->command_id, sender, ok, reason);
}

static void send_scenario_ack(struct conductor *c, uint64_t id, const char *requester, bool ok, const char *reason,
			      uint64_t tick, uint64_t from_tick)
{
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	Fleetsim__V1__ScenarioAck ack = FLEETSIM__V1__SCENARIO_ACK__INIT;
	ack.command_id = id;
	ack.requester = (char *)requester;
	ack.accepted = ok;
	ack.reason = (char *)reason;
	ack.apply_tick = tick;
	ack.from_tick = from_tick;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_ACK;
	env.scenario_ack = &ack;
	publish(c, &env);
}

/* The next tick whose start is still ahead of us. */
static uint64_t next_tick(const struct conductor *c)
{
	return c->in_flight ? c->tick + 1 : c->tick;
}

/* Validate every event of @cmd, then schedule them all, or none. */
static void handle_scenario_command(struct conductor *c, const char *sender, const Fleetsim__V1__ScenarioCommand *cmd)
{
	char reason[600] = "";
	struct fs_scenario_event *events = NULL;
	size_t n = cmd->n_events;
	uint64_t first = UINT64_MAX, next = next_tick(c);
	/* `fleetctl inject` counts a file's offsets (at: 10m) from now, not from the run's start */
	uint64_t from_tick = cmd->from_now ? (cmd->from_tick ? cmd->from_tick : next) : 0;
	bool ok = true;
	if (n == 0 || n > 1024) {
		ok = false;
		snprintf(reason, sizeof(reason), "a scenario command needs 1 to 1024 events, not %zu", n);
	} else if (c->state != FS_RUN_RUNNING &&
		   c->state != FS_RUN_WAITING) {
		ok = false;
		snprintf(reason, sizeof(reason), "the run is over");
	} else if (from_tick > c->duration_ticks) {
		ok = false;
		snprintf(reason, sizeof(reason), "from_tick %" PRIu64 " is after the run's end", from_tick);
	} else {
		events = fs_xcalloc(n, sizeof(*events));
	}
	for (size_t i = 0; ok && i < n; i++) {
		char origin[96];
		struct fs_error err = { "" };
		snprintf(origin, sizeof(origin), "event %zu (%s)", i + 1, cmd->events[i]->type);
		if (fs_scenario_msg_event_parse(&c->scenario, cmd->events[i], false, from_tick * c->tick_ms, origin,
						&events[i], &err) < 0) {
			ok = false;
			snprintf(reason, sizeof(reason), "%s", err.message);
			break;
		}
		if (events[i].apply_tick == FS_SCN_NEXT_TICK) {
			events[i].apply_tick = next;
		}
		for (uint32_t k = 0; c->fleet_known && k < events[i].vehicle_count; k++) {
			if (events[i].vehicles[k] >= c->fleet_ids) {
				ok = false;
				snprintf(reason, sizeof(reason), "%s: vehicle %u does not exist (the fleet has %" PRIu64
					 " so far, ids from 0)", origin, events[i].vehicles[k], c->fleet_ids);
				break;
			}
		}
		if (!ok) {
			break;
		}
		if (events[i].apply_tick < next) {
			ok = false;
			snprintf(reason, sizeof(reason), "%s: tick %" PRIu64 " is in the past (the next tick is %" PRIu64 ")",
				 origin, events[i].apply_tick, next);
		} else if (events[i].apply_tick >= c->duration_ticks) {
			ok = false;
			snprintf(reason, sizeof(reason), "%s: tick %" PRIu64 " is after the run's last tick %" PRIu64, origin,
				 events[i].apply_tick, c->duration_ticks - 1);
		}
		first = events[i].apply_tick < first ? events[i].apply_tick : first;
	}
	if (ok) {
		for (size_t i = 0; i < n; i++) {
			if (fs_scenario_add_event(&c->scenario, &events[i]) < 0) {
				fs_error("out of memory for scenario events");
				abort();
			}
		}
		c->scn_accepted++;
		snprintf(reason, sizeof(reason), "%zu event(s) scheduled from tick %" PRIu64, n, first);
		fs_info("scenario command %" PRIu64 " from %s: %s", cmd->command_id, sender, reason);
	} else {
		c->scn_refused++;
		first = 0;
		fs_warn("refused scenario command %" PRIu64 " from %s: %s", cmd->command_id, sender, reason);
	}
	send_scenario_ack(c, cmd->command_id, sender, ok, reason, first, ok ? from_tick : 0);
	free(events);
}

/* Publish the events due at the tick about to start (all at once, in schedule order). */
static void publish_due_events(struct conductor *c)
{
	const struct fs_scenario *sc = &c->scenario;
	size_t first = c->next_event, last = first;
	while (last < sc->event_count && sc->events[last].apply_tick <= c->tick) {
		last++;
	}
	if (last == first) {
		return;
	}
	Fleetsim__V1__ScenarioCommand *cmd =
		fs_scenario_msg_command_new(c->tick, sc, &sc->events[first], last - first);
	if (!cmd) {
		fs_error("cannot encode the scenario events of tick %" PRIu64, c->tick);
		abort();
	}
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND;
	env.scenario_command = cmd;
	int rc = fs_bus_publish(c->bus, FS_SCENARIO_APPLY_TOPIC, &env);
	if (rc < 0) {
		fs_error("cannot publish scenario events: %s", strerror(-rc));
	}
	fs_scenario_msg_command_free(cmd);
	c->events_applied += last - first;
	c->next_event = last;
}

/*
 * The watermarks for the next Tick or End: every TickDone's of the last
 * tick, and what the conductor itself published since the last Tick.
 */
static size_t take_inputs(struct conductor *c, const struct fs_control_watermark **ret)
{
	const struct fs_bus_watermark *own;
	size_t n = fs_bus_published(c->bus, &own);
	for (size_t i = 0; i < n; i++) {
		tick_inputs_add(&c->inputs, NAME, own[i].topic, own[i].topic_seq);
	}
	fs_bus_clear_published(c->bus);
	return tick_inputs_view(&c->inputs, ret);
}

/* A Tick or End, already on the bus, to the participants on the control socket. */
static void send_control(struct conductor *c, const char *topic, const Fleetsim__V1__Envelope *env)
{
	if (control_hub_broadcast(c->hub, topic, env) < 0) {
		fs_error("cannot send %s on the control socket: stopping the run", topic);
		abort_signal = 1;
		stop_signal = 1;
	}
}

/*
 * Observers (recorder, replay, fleetctl) read every participant's TickDone
 * on the bus; those that came on the control socket go there now, as their
 * senders stamped them, in one burst after the next Tick is on its way.
 */
static void copy_done_to_bus(struct conductor *c)
{
	if (!c->done_copies_due) {
		return;
	}
	for (size_t i = 0; i < c->nparts; i++) {
		struct participant *p = &c->parts[i];
		if (p->done_copy_len) {
			int rc = fs_bus_forward(c->bus, "ctl.done", p->done_copy, p->done_copy_len);
			if (rc < 0) {
				fs_error("cannot copy %s's TickDone to the bus: %s", p->name, strerror(-rc));
			}
			p->done_copy_len = 0;
		}
	}
	c->done_copies_due = false;
}

static void start_tick(struct conductor *c)
{
	struct fs_control_tick tick = {
		.tick = c->tick,
		.sim_time_ms = sim_time_of(c, c->tick),
		.tick_ms = c->tick_ms,
		.last = c->tick + 1 >= c->duration_ticks,
	};
	publish_due_events(c); /* before the Tick: delivered to on_message ahead of on_tick */
	tick.n_inputs = take_inputs(c, &tick.inputs);
	Fleetsim__V1__Envelope *env = fs_control_msg_encode_tick(&c->out, &tick);
	if (!env) {
		fs_error("out of memory for tick %" PRIu64, c->tick);
		abort();
	}
	for (size_t i = 0; i < c->nparts; i++) {
		c->parts[i].done = false;
	}
	c->pending_done = c->nparts;
	c->in_flight = true;
	c->tick_started_us = fs_clock_now_us();
	if (!c->run_started_us) {
		c->run_started_us = c->tick_started_us;
	}
	fs_bus_set_clock(c->bus, c->tick, tick.sim_time_ms);
	/* the participants first: the bus copies are for observers, off the critical path */
	const char *topic = fs_bus_stamp(c->bus, NULL, env);
	send_control(c, topic, env);
	copy_done_to_bus(c);
	int rc = fs_bus_send_stamped(c->bus, topic, env);
	if (rc < 0) {
		fs_error("cannot publish tick %" PRIu64 ": %s", c->tick, strerror(-rc));
	}
	tick_inputs_clear(&c->inputs);
}

static void finish_tick(struct conductor *c)
{
	int64_t now = fs_clock_now_us();
	uint64_t max_work = 0;
	for (size_t r = 0; r < c->nroles; r++) {
		c->roles[r].hash = 0;
	}
	for (size_t i = 0; i < c->nparts; i++) {
		struct participant *p = &c->parts[i];
		for (size_t r = 0; r < c->nroles; r++) {
			if (!strcmp(c->roles[r].name, p->role)) {
				c->roles[r].hash += p->hash; /* additive: shard-invariant */
			}
		}
		if (p->work_us > max_work) {
			max_work = p->work_us;
		}
	}
	for (size_t r = 0; r < c->nroles; r++) {
		uint64_t rec[2] = { c->tick, c->roles[r].hash };
		XXH3_64bits_update(c->digest, &rec[0], sizeof(rec[0]));
		XXH3_64bits_update(c->digest, c->roles[r].name, strlen(c->roles[r].name) + 1);
		XXH3_64bits_update(c->digest, &rec[1], sizeof(rec[1]));
	}
	uint64_t wall = (uint64_t)(now - c->tick_started_us);
	lockstep_stats_add(&c->lockstep, wall, wall > max_work ? wall - max_work : 0);
	c->in_flight = false;
	c->tick++;
	if (c->steps_left && --c->steps_left == 0) {
		c->paused = true;
		fs_info("paused at tick %" PRIu64 " after stepping", c->tick);
	}
}

static void handle_done(struct conductor *c, const struct fs_bus_message *msg, bool from_control)
{
	struct participant *p = find(c, msg->env->sender);
	if (!p) {
		fs_bus_reject(c->bus, msg, "not a participant of this run");
		return;
	}
	if (!from_control && p->on_control) {
		/* Ours came on the control socket: this is a copy we put on the bus for observers, echoed
		 * (one of the last few we copied), or someone else's forgery, counted. */
		bool echo = false;
		for (int k = 0; k < COPIED_SEQS; k++) {
			echo |= p->copied_seq[k] == msg->env->seq;
		}
		if (!echo) {
			c->forged_done++;
			fs_bus_reject(c->bus, msg, "TickDone on the bus for a participant whose lockstep runs on the "
						   "control socket");
		}
		return;
	}
	const char *refused = fs_control_msg_decode(msg->env, &c->in);
	if (refused) {
		fs_bus_reject(c->bus, msg, refused);
		return;
	}
	const struct fs_control_tick_done *done = &c->in.tick_done;
	if (c->tick_abandoned && done->tick == c->tick) {
		return; /* late for the tick the run ended without: it is alive, its Bye will follow */
	}
	if (!c->in_flight || done->tick != c->tick || p->done) {
		char why[96];
		snprintf(why, sizeof(why), "TickDone for tick %" PRIu64 " while at tick %" PRIu64 "%s", done->tick,
			 c->tick, p->done ? " (duplicate)" : "");
		fs_bus_reject(c->bus, msg, why);
		return;
	}
	p->done = true;
	if (from_control) {
		size_t len = fleetsim__v1__envelope__get_packed_size(msg->env);
		if (len > p->done_copy_cap) {
			free(p->done_copy);
			p->done_copy_cap = len * 2;
			p->done_copy = fs_xcalloc(1, p->done_copy_cap);
		}
		p->done_copy_len = fleetsim__v1__envelope__pack(msg->env, p->done_copy);
		p->copied_seq[p->copied_next++ % COPIED_SEQS] = msg->env->seq;
		c->done_copies_due = true;
	}
	for (size_t i = 0; i < done->n_published; i++) {
		const struct fs_control_watermark *w = &done->published[i];
		if (!tick_inputs_add(&c->inputs, p->name, w->topic, w->topic_seq)) {
			fs_bus_reject(c->bus, msg, "TickDone announces an invalid or control topic (ignored)");
		}
	}
	p->hash = done->state_hash;
	p->has_done = true;
	p->last_done_tick = done->tick;
	p->work_us = done->work_us;
	p->work_total_us += done->work_us;
	if (done->has_stats) {
		p->stats = done->stats;
	}
	if (--c->pending_done == 0) {
		finish_tick(c);
	}
}

/*
 * A result as JSON: results travel as doubles, but most are counts (requests,
 * served, faults), which a reader expects as 232, not 232.0; a whole number
 * within a double's exact range is written as an integer, anything else as is.
 */
static json_t *json_result(double v)
{
	if (v == floor(v) && fabs(v) <= 9007199254740992.0) { /* 2^53 */
		return json_integer((json_int_t)v);
	}
	return json_real(v);
}

static void handle_bye(struct conductor *c, const struct fs_bus_message *msg, bool from_control)
{
	const struct fs_control_bye *bye = &c->in.bye;
	struct participant *p = find(c, msg->env->sender);
	if (p && !from_control && control_hub_bound(c->hub, (size_t)(p - c->parts))) {
		return; /* the observers' copy: ours comes on the control socket, also when the broker is gone */
	}
	if (p && p->bye && p->bye_on_control && !from_control) {
		return; /* the observers' copy of one that came on the control socket (now closed) */
	}
	if (!p || p->bye) {
		fs_bus_reject(c->bus, msg, p ? "duplicate Bye" : "not a participant of this run");
		return;
	}
	p->bye = true;
	p->bye_on_control = from_control;
	if (bye->has_stats) {
		p->stats = bye->stats;
	}
	p->results = json_object();
	for (size_t i = 0; i < bye->n_results; i++) {
		if (isfinite(bye->results[i].value)) { /* not finite: not defined */
			json_object_set_new(p->results, bye->results[i].key, json_result(bye->results[i].value));
		}
	}
}

static void handle_broker_kpis(struct conductor *c, const struct fs_bus_message *msg)
{
	if (strcmp(msg->env->sender, "broker")) {
		return;
	}
	c->broker_reported = true;
	json_t *o = json_object();
	for (size_t i = 0; i < msg->env->kpis->n_kpis; i++) {
		const Fleetsim__V1__Kpi *k = msg->env->kpis->kpis[i];
		json_object_set_new(o, k->name, json_integer((json_int_t)k->value));
	}
	json_decref(c->broker_stats);
	c->broker_stats = o;
}

/*
 * The broker lost a client's connection (tcp; docs/cluster.md): if it is one
 * of ours and the run is not over, the run cannot go on (what it owed will
 * never come): end it now, as when the launcher sees a local process die,
 * naming it and its address.
 */
static void handle_peer_lost(struct conductor *c, const struct fs_bus_message *msg)
{
	const struct fs_control_peer_lost *lost = &c->in.peer_lost; /* from the broker: the codec checked */
	struct participant *p = lost->participant ? find(c, lost->participant) : NULL;
	if (!p || p->bye || (c->state != FS_RUN_WAITING &&
			     c->state != FS_RUN_RUNNING)) {
		return; /* an observer, or one that already left after End */
	}
	char address[64] = "?";
	for (size_t i = 0; lost->address && lost->address[i] && i + 1 < sizeof(address); i++) {
		address[i] = lost->address[i] > 0x20 && lost->address[i] < 0x7f ? lost->address[i] : '?';
		address[i + 1] = '\0';
	}
	p->gone = true;
	if (c->state == FS_RUN_WAITING) {
		snprintf(p->not_answered, sizeof(p->not_answered), "lost at %s before tick 0", address);
	} else {
		snprintf(p->not_answered, sizeof(p->not_answered), "lost at %s during tick %" PRIu64, address, c->tick);
	}
	if (!abort_signal) {
		snprintf(c->end_reason, sizeof(c->end_reason), "aborted: %s at %s was lost (%s)", p->name, address,
			 "process ended, or host or network gone");
	}
	fs_error("%s at %s was lost: its connection to the broker closed or stopped answering heartbeats; stopping "
		 "the run", p->name, address);
	c->stop_requested = true;
	c->peer_lost = true;
	abort_signal = 1;
	stop_signal = 1;
}

/* The participant a Ready speaks for, or NULL (rejected, counted). */
static struct participant *ready_participant(struct conductor *c, const struct fs_bus_message *msg)
{
	const char *refused = fs_control_msg_decode(msg->env, &c->in);
	if (refused) {
		fs_bus_reject(c->bus, msg, refused);
		return NULL;
	}
	const struct fs_control_ready *ready = &c->in.ready; /* from the participant it names: the codec checked */
	struct participant *p = find(c, ready->participant);
	if (!p) {
		fs_bus_reject(c->bus, msg, "not a participant of this run");
		return NULL;
	}
	if (strcmp(p->role, ready->role)) {
		fs_bus_reject(c->bus, msg, "role differs from the one the run was launched with");
		return NULL;
	}
	return p;
}

static void handle_data(struct conductor *c, const struct fs_bus_message *msg);

static void handle_message(struct conductor *c, const struct fs_bus_message *msg, bool from_control)
{
	const Fleetsim__V1__Envelope *env = msg->env;
	enum fs_control_kind kind = fs_control_msg_kind(env);
	if (from_control && kind != FS_CONTROL_READY && kind != FS_CONTROL_TICK_DONE && kind != FS_CONTROL_BYE) {
		fs_bus_reject(c->bus, msg, "not a control message");
		return;
	}
	/* What we act on is decoded here; a TickDone after its sender is known (handle_done()). */
	const char *refused = NULL;
	if (kind == FS_CONTROL_BYE || kind == FS_CONTROL_COMMAND || kind == FS_CONTROL_PEER_LOST) {
		refused = fs_control_msg_decode(env, &c->in);
	}
	if (refused) {
		fs_bus_reject(c->bus, msg, refused);
		if (kind == FS_CONTROL_COMMAND) {
			send_ack(c, c->in.command.command_id, env->sender, false, refused); /* its sender waits */
		}
		return;
	}
	switch (kind) {
	case FS_CONTROL_READY: {
		struct participant *p = ready_participant(c, msg);
		if (!p) {
			break;
		}
		/* Said on the bus, but we have not seen it on the control socket yet: wait for that. */
		if (!from_control && c->in.ready.control_socket && c->hub &&
		    !control_hub_bound(c->hub, (size_t)(p - c->parts))) {
			break;
		}
		if (!p->ready) {
			p->ready = true;
			fs_debug("%s ready (pid %u)", p->name, c->in.ready.pid);
		}
		break;
	}
	case FS_CONTROL_TICK_DONE:
		handle_done(c, msg, from_control);
		break;
	case FS_CONTROL_BYE:
		handle_bye(c, msg, from_control);
		break;
	case FS_CONTROL_COMMAND:
		handle_command(c, env->sender, &c->in.command);
		break;
	case FS_CONTROL_PEER_LOST:
		handle_peer_lost(c, msg);
		break;
	default:
		handle_data(c, msg);
		break;
	}
}

/* The other families' messages the conductor reads. */
static void handle_data(struct conductor *c, const struct fs_bus_message *msg)
{
	const Fleetsim__V1__Envelope *env = msg->env;
	switch (env->payload_case) {
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_KPIS:
		handle_broker_kpis(c, msg);
		break;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_DELIVERIES:
		/* new vehicles: injected events may name them from now on */
		for (size_t i = 0; i < env->deliveries->n_deliveries; i++) {
			if (env->deliveries->deliveries[i]->vehicle_id >= c->fleet_ids) {
				c->fleet_ids = (uint64_t)env->deliveries->deliveries[i]->vehicle_id + 1;
			}
		}
		break;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND:
		if (!strcmp(msg->topic, "scn.cmd")) { /* not our own scn.cmd/apply */
			handle_scenario_command(c, env->sender, env->scenario_command);
		}
		break;
	default:
		break;
	}
}

/* ---- control socket ------------------------------------------------------ */

static long control_identify(void *ctx, const struct fs_bus_message *msg)
{
	struct conductor *c = ctx;
	struct participant *p = ready_participant(c, msg);
	if (p && c->state != FS_RUN_WAITING) {
		/* the participant set and its paths are fixed at tick 0 */
		fs_bus_reject(c->bus, msg, "control connection after the run started");
		return -1;
	}
	return p ? (long)(p - c->parts) : -1;
}

static void control_message(void *ctx, size_t index, const struct fs_bus_message *msg)
{
	struct conductor *c = ctx;
	if (strcmp(msg->env->sender, c->parts[index].name)) {
		fs_bus_reject(c->bus, msg, "sender is not the participant of this control connection");
		return;
	}
	handle_message(c, msg, true);
}

static void control_closed(void *ctx, size_t index)
{
	struct conductor *c = ctx;
	if (c->state != FS_RUN_WAITING &&
	    c->state != FS_RUN_RUNNING) {
		return; /* after End: participants leave */
	}
	/* It died (the launcher stops the run) or is about to: nobody closes a live one's. */
	c->parts[index].gone = true;
	fs_warn("%s closed its control connection", c->parts[index].name);
}

static const struct control_hub_ops control_ops = {
	.identify = control_identify,
	.message = control_message,
	.closed = control_closed,
};

/*
 * Wait at most @timeout_ms for input, then handle everything that arrived,
 * on the control socket and on the bus. Returns 0 or -errno.
 */
static int wait_input(struct conductor *c, int timeout_ms)
{
	if (!fs_bus_has_pending(c->bus)) {
		int rc = control_hub_wait(c->hub, fs_bus_socket(c->bus), timeout_ms);
		if (rc < 0 && rc != -EINTR) {
			return rc;
		}
	}
	for (;;) {
		struct fs_bus_message *msg = NULL;
		int rc = fs_bus_recv(c->bus, &msg, 0);
		if (rc == -EAGAIN || rc == -EINTR) {
			return 0;
		}
		if (rc < 0) {
			return rc;
		}
		handle_message(c, msg, false);
		fs_bus_message_free(msg);
	}
}

static void publish_status(struct conductor *c)
{
	int64_t now = fs_clock_now_us();
	if (c->last_status_us && now > c->last_status_us) {
		double sim_s = (double)(c->tick - c->last_status_tick) * c->tick_ms / 1000.0;
		double wall_s = (double)(now - c->last_status_us) / 1e6;
		c->ratio = sim_s / wall_s;
	}
	c->last_status_us = now;
	c->last_status_tick = c->tick;

	struct fs_control_participant *ps = fs_xcalloc(c->nparts ? c->nparts : 1, sizeof(*ps));
	for (size_t i = 0; i < c->nparts; i++) {
		ps[i] = (struct fs_control_participant){
			.participant = c->parts[i].name, .role = c->parts[i].role, .ready = c->parts[i].ready,
			.control_socket = control_hub_bound(c->hub, i), .last_done_tick = c->parts[i].last_done_tick,
			.stats = c->parts[i].stats,
		};
	}
	const struct fs_control_status st = {
		.state = c->paused && c->state == FS_RUN_RUNNING ? FS_RUN_PAUSED : c->state,
		.tick = c->tick,
		.duration_ticks = c->duration_ticks,
		.sim_time_ms = sim_time_of(c, c->tick),
		.speed = c->speed,
		.sim_real_ratio = c->ratio,
		.participants = ps,
		.n_participants = c->nparts,
		.conductor_stats = { .bus = *fs_bus_get_stats(c->bus) },
		.lockstep_p50_us = lockstep_stats_percentile(&c->lockstep, 0.5, false),
		.lockstep_p99_us = lockstep_stats_percentile(&c->lockstep, 0.99, false),
	};
	Fleetsim__V1__Envelope *env = fs_control_msg_encode_status(&c->out, &st);
	if (env) {
		publish(c, env);
	}
	free(ps);
}

static json_t *stats_json(const struct fs_control_stats *s)
{
	const struct fs_bus_stats *b = &s->bus;
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "msgs_sent", (json_int_t)b->msgs_sent,
			 "bytes_sent", (json_int_t)b->bytes_sent, "msgs_received", (json_int_t)b->msgs_received,
			 "bytes_received", (json_int_t)b->bytes_received, "gaps", (json_int_t)b->gaps,
			 "malformed", (json_int_t)b->malformed, "unknown", (json_int_t)b->unknown, "oversize",
			 (json_int_t)b->oversize, "rejected", (json_int_t)b->rejected, "input_waits",
			 (json_int_t)s->input_waits);
}

static int write_summary(struct conductor *c, bool completed)
{
	if (!c->out_dir) {
		return 0;
	}
	char digest[17], start[32];
	snprintf(digest, sizeof(digest), "%016" PRIx64, XXH3_64bits_digest(c->digest));
	fs_calendar_format(c->start_ms, start, sizeof(start));
	double wall = c->run_started_us ? (double)(c->run_ended_us - c->run_started_us) / 1e6 : 0.0;
	json_t *root = json_object();
	json_object_set_new(root, "fleetsim_version", json_string(FS_VERSION));
	json_object_set_new(root, "seed", json_integer((json_int_t)c->seed));
	json_object_set_new(root, "start", json_string(start));
	json_object_set_new(root, "tick_ms", json_integer(c->tick_ms));
	json_object_set_new(root, "ticks", json_integer((json_int_t)c->tick));
	json_object_set_new(root, "simulated_seconds", json_real((double)c->tick * c->tick_ms / 1000.0));
	json_object_set_new(root, "wall_seconds", json_real(wall));
	json_object_set_new(root, "sim_real_ratio",
			    json_real(wall > 0 ? (double)c->tick * c->tick_ms / 1000.0 / wall : 0.0));
	json_object_set_new(root, "completed", json_boolean(completed));
	json_object_set_new(root, "end_reason", json_string(c->end_reason));
	json_t *not_answered = json_object();
	for (size_t i = 0; i < c->nparts; i++) {
		if (c->parts[i].not_answered[0]) {
			json_object_set_new(not_answered, c->parts[i].name, json_string(c->parts[i].not_answered));
		}
	}
	json_object_set_new(root, "not_answered", not_answered);
	json_object_set_new(root, "run_digest", json_string(digest));
	json_t *roles = json_array();
	for (size_t r = 0; r < c->nroles; r++) {
		json_array_append_new(roles, json_string(c->roles[r].name));
	}
	json_object_set_new(root, "digest_roles", roles);
	json_object_set_new(root, "lockstep",
			    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ticks", (json_int_t)c->lockstep.count,
				      "on_control_socket", (json_int_t)c->on_control_socket,
				      "forged_done_refused", (json_int_t)c->forged_done,
				      "tick_wall_p50_us", (json_int_t)lockstep_stats_percentile(&c->lockstep, 0.5, false),
				      "tick_wall_p99_us", (json_int_t)lockstep_stats_percentile(&c->lockstep, 0.99, false),
				      "overhead_p50_us", (json_int_t)lockstep_stats_percentile(&c->lockstep, 0.5, true),
				      "overhead_p99_us", (json_int_t)lockstep_stats_percentile(&c->lockstep, 0.99, true)));
	json_t *parts = json_object(), *results = json_object();
	struct fs_control_stats total = { 0 };
	const struct fs_control_stats mine = { .bus = *fs_bus_get_stats(c->bus) };
	for (size_t i = 0; i <= c->nparts; i++) {
		const struct fs_control_stats *s = i < c->nparts ? &c->parts[i].stats : &mine;
		json_t *o = stats_json(s);
		if (i < c->nparts) {
			json_object_set_new(o, "role", json_string(c->parts[i].role));
			json_object_set_new(o, "said_bye", json_boolean(c->parts[i].bye));
			json_object_set_new(o, "work_seconds", json_real((double)c->parts[i].work_total_us / 1e6));
			json_object_set_new(parts, c->parts[i].name, o);
			if (c->parts[i].results) {
				json_object_set(results, c->parts[i].name, c->parts[i].results);
			}
		} else {
			json_object_set_new(parts, NAME, o);
		}
		total.bus.msgs_sent += s->bus.msgs_sent;
		total.bus.bytes_sent += s->bus.bytes_sent;
		total.bus.msgs_received += s->bus.msgs_received;
		total.bus.bytes_received += s->bus.bytes_received;
		total.bus.gaps += s->bus.gaps;
		total.bus.malformed += s->bus.malformed;
		total.bus.unknown += s->bus.unknown;
		total.bus.oversize += s->bus.oversize;
		total.bus.rejected += s->bus.rejected;
		total.input_waits += s->input_waits;
	}
	json_t *tot = stats_json(&total);
	json_object_set_new(tot, "dropped",
			    json_integer((json_int_t)(total.bus.malformed + total.bus.unknown + total.bus.oversize +
						      total.bus.rejected)));
	json_object_set_new(root, "participants", parts);
	json_object_set_new(root, "totals", tot);
	json_object_set_new(root, "broker", c->broker_stats ? json_incref(c->broker_stats) : json_object());
	json_object_set_new(root, "results", results);
	json_object_set_new(root, "scenario",
			    json_pack("{s:s,s:I,s:I,s:I}", "file", c->scenario.source, "commands_accepted",
				      (json_int_t)c->scn_accepted, "commands_refused", (json_int_t)c->scn_refused,
				      "events_applied", (json_int_t)c->events_applied));

	struct fs_outfile out;
	FILE *f = fs_outfile_open(&out, c->out_dir, "summary.json");
	int rc = f ? json_dumpf(root, f, JSON_INDENT(2) | JSON_SORT_KEYS) : -1;
	json_decref(root);
	if (rc < 0) {
		if (f) {
			fs_error("cannot write %s", out.path);
			fs_outfile_abandon(&out);
		}
		return -EIO;
	}
	return fs_outfile_commit(&out) < 0 ? -EIO : 0;
}

static int wait_ready(struct conductor *c)
{
	int64_t deadline = fs_clock_now_ms() + c->ready_timeout_ms, grace_end = 0;
	c->state = FS_RUN_WAITING;
	for (;;) {
		size_t ready = 0;
		for (size_t i = 0; i < c->nparts; i++) {
			ready += c->parts[i].ready;
		}
		if (ready == c->nparts) {
			/*
			 * One that said Ready on the bus before our control socket
			 * existed tries it again with its next Ready (every 250 ms):
			 * give it that long before settling on the bus for it.
			 */
			if (control_hub_bound_count(c->hub) == c->nparts || !c->hub) {
				return 0;
			}
			if (!grace_end) {
				grace_end = fs_clock_now_ms() + CONTROL_GRACE_MS;
			} else if (fs_clock_now_ms() >= grace_end) {
				return 0;
			}
		}
		if (stop_signal || c->stop_requested) {
			if (!c->stop_requested) {
				snprintf(c->end_reason, sizeof(c->end_reason), "%s before tick 0",
					 abort_signal ? "aborted: a process of the run died" : "interrupted");
			}
			return -EINTR;
		}
		int64_t now = fs_clock_now_ms();
		if (now >= deadline) {
			char missing[1024] = "";
			for (size_t i = 0; i < c->nparts; i++) {
				if (!c->parts[i].ready && strlen(missing) + strlen(c->parts[i].name) + 3 < sizeof(missing)) {
					strcat(missing, missing[0] ? ", " : "");
					strcat(missing, c->parts[i].name);
				}
			}
			fs_error("participants not ready after %d s: %s", c->ready_timeout_ms / 1000, missing);
			snprintf(c->end_reason, sizeof(c->end_reason), "participants not ready after %d s",
				 c->ready_timeout_ms / 1000);
			return -ETIMEDOUT;
		}
		if (now * 1000 - c->last_status_us >= STATUS_EVERY_MS * 1000) {
			publish_status(c);
		}
		int rc = wait_input(c, 50);
		if (rc < 0) {
			return rc;
		}
	}
}

/* The participants that have not answered tick c->tick, comma separated, into @buf. */
static void list_waiting(const struct conductor *c, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < c->nparts; i++) {
		if (!c->parts[i].done && strlen(buf) + strlen(c->parts[i].name) + 3 < size) {
			strcat(buf, buf[0] ? ", " : "");
			strcat(buf, c->parts[i].name);
		}
	}
}

/*
 * A stop (signal, fleetctl stop) or an abort came: true when the run ends
 * now. Between ticks it ends at once; during a tick it waits for the tick,
 * but at most --stop-wait (not at all after an abort or a second signal),
 * then gives the tick up, noting who did not answer it.
 */
static bool stop_now(struct conductor *c)
{
	if (stop_signal && !c->stop_requested) {
		c->stop_requested = true;
		snprintf(c->end_reason, sizeof(c->end_reason), abort_signal ? "aborted: a process of the run died"
									  : "interrupted");
	}
	if (!c->stop_requested && !abort_signal) {
		return false;
	}
	int64_t now = fs_clock_now_us();
	if (!c->in_flight) {
		return true;
	}
	if (!c->stop_since_us) {
		char waiting[1024];
		list_waiting(c, waiting, sizeof(waiting));
		c->stop_since_us = now;
		if (!abort_signal) {
			fs_info("stopping: waiting at most %d s for tick %" PRIu64 " (%s)", c->stop_wait_ms / 1000, c->tick,
				waiting);
		}
	}
	bool hurry = abort_signal || stop_signal > 1;
	if (!hurry && now - c->stop_since_us < (int64_t)c->stop_wait_ms * 1000) {
		return false;
	}
	for (size_t i = 0; i < c->nparts; i++) {
		struct participant *p = &c->parts[i];
		if (!p->done && !p->not_answered[0]) { /* a lost one's says where it was */
			snprintf(p->not_answered, sizeof(p->not_answered),
				 "no TickDone for tick %" PRIu64 " %s%.1f s after the stop", c->tick,
				 p->gone ? "(it died); " : "", (double)(now - c->stop_since_us) / 1e6);
		}
	}
	char waiting[1024];
	list_waiting(c, waiting, sizeof(waiting));
	fs_warn("ending the run without tick %" PRIu64 ": no answer from %s", c->tick, waiting);
	c->tick_abandoned = true;
	c->in_flight = false;
	return true;
}

static int run(struct conductor *c)
{
	c->state = FS_RUN_RUNNING;
	reanchor(c);
	int64_t last_progress_us = fs_clock_now_us(), next_stall_warn = 0;
	while (c->tick < c->duration_ticks) {
		if (stop_now(c)) {
			break;
		}
		int64_t now = fs_clock_now_us();
		long wait_ms = 50;
		if (!c->in_flight && !c->paused) {
			int64_t due = c->speed > 0 ? c->anchor_us + (int64_t)((double)(c->tick - c->anchor_tick) *
									 c->tick_ms * 1000.0 / c->speed)
						   : now;
			if (now >= due) {
				start_tick(c);
				last_progress_us = now;
				next_stall_warn = 0;
				continue;
			}
			wait_ms = (long)((due - now + 999) / 1000);
		}
		if (!c->in_flight) {
			copy_done_to_bus(c); /* paused or pacing: observers should not wait for the next tick */
		}
		if (now - c->last_status_us >= STATUS_EVERY_MS * 1000) {
			publish_status(c);
		}
		if (c->in_flight && now - last_progress_us > STALL_WARN_MS * 1000LL && now > next_stall_warn) {
			char waiting[1024];
			list_waiting(c, waiting, sizeof(waiting));
			fs_warn("tick %" PRIu64 " waiting for %s for %.0f s", c->tick, waiting,
				(double)(now - last_progress_us) / 1e6);
			next_stall_warn = now + STALL_WARN_MS * 1000LL;
		}
		if (wait_ms > STATUS_EVERY_MS) {
			wait_ms = STATUS_EVERY_MS;
		}
		if (c->stop_since_us && wait_ms > 50) {
			wait_ms = 50; /* the stop's wait is counted in wall time */
		}
		bool was = c->in_flight;
		int rc = wait_input(c, c->in_flight ? (int)wait_ms : (int)(wait_ms > 0 ? wait_ms : 0));
		if (rc < 0) {
			fs_error("bus receive failed: %s", strerror(-rc));
			return rc;
		}
		if (was && !c->in_flight) {
			last_progress_us = fs_clock_now_us();
		}
	}
	c->run_ended_us = fs_clock_now_us();
	if (!c->end_reason[0]) {
		snprintf(c->end_reason, sizeof(c->end_reason), "duration reached");
	}
	return 0;
}

/*
 * Whether to wait for @p's Bye: it is alive and answered the run so far. After
 * an abort, also one that had no time to finish the last tick (it gets End
 * and says Bye like the others; the short abort bound caps a stuck one).
 */
static bool bye_expected(const struct participant *p)
{
	return p->ready && !p->gone && (!p->not_answered[0] || abort_signal);
}

/*
 * After End: wait for every participant that answered so far to write its
 * outputs and say Bye (one that did not answer the last tick is not waited
 * for, but its Bye is taken if it comes meanwhile), at most BYE_TIMEOUT_MS,
 * or ABORT_BYE_TIMEOUT_MS when a process of the run died.
 */
static void wait_byes(struct conductor *c)
{
	int64_t deadline = fs_clock_now_ms() + (abort_signal ? ABORT_BYE_TIMEOUT_MS : BYE_TIMEOUT_MS);
	for (;;) {
		size_t missing = 0;
		for (size_t i = 0; i < c->nparts; i++) {
			missing += !c->parts[i].bye && bye_expected(&c->parts[i]);
		}
		if (!missing || fs_clock_now_ms() >= deadline || wait_input(c, 100) < 0) {
			break;
		}
	}
	for (size_t i = 0; i < c->nparts; i++) {
		struct participant *p = &c->parts[i];
		if (!p->bye && !p->not_answered[0]) {
			snprintf(p->not_answered, sizeof(p->not_answered), "%s", p->gone ? "it died: no Bye, no results"
								   : !p->ready ? "never ready"
									       : "no Bye (its results and outputs may be missing)");
		}
		if (p->not_answered[0]) {
			fs_warn("%s did not answer: %s", p->name, p->not_answered);
		}
	}
}

static bool someone_did_not_answer(const struct conductor *c)
{
	for (size_t i = 0; i < c->nparts; i++) {
		if (c->parts[i].not_answered[0]) {
			return true;
		}
	}
	return false;
}

static void end_run(struct conductor *c)
{
	c->state = FS_RUN_ENDING;
	struct fs_control_end end = { .ticks = c->tick, .reason = c->end_reason };
	end.n_inputs = take_inputs(c, &end.inputs);
	if (abort_signal) {
		/* A process died (maybe the broker): what it owed may never come, so nobody waits for it. */
		end.n_inputs = 0;
	}
	Fleetsim__V1__Envelope *env = fs_control_msg_encode_end(&c->out, &end);
	if (!env) {
		fs_error("out of memory for End");
		abort();
	}
	copy_done_to_bus(c);
	const char *topic = fs_bus_stamp(c->bus, NULL, env);
	send_control(c, topic, env);
	if (fs_bus_send_stamped(c->bus, topic, env) < 0) {
		fs_error("cannot publish End");
	}
	tick_inputs_clear(&c->inputs);
	wait_byes(c);
	/* The broker reports its counters when it sees End go by; give them a moment. */
	int64_t broker_deadline = fs_clock_now_ms() + (abort_signal ? 0 : stop_signal ? 100 : 300);
	c->broker_reported = false;
	while (!c->broker_reported && fs_clock_now_ms() < broker_deadline) {
		if (wait_input(c, 50) < 0) {
			break;
		}
	}
	c->state = FS_RUN_ENDED;
	publish_status(c);
}

/* The command line, before the scenario fills in what it does not say. */
struct conductor_args {
	const char *bus, *participants, *start, *scenario;
	uint64_t duration_ms, ready_timeout_s, stop_wait_s;
	int control; /* 0 socket, 1 bus */
	bool paused, no_file_events;
	bool seed, start_given, duration, tick; /* given: they override the scenario */
};

static int parse_duration(void *target, const char *arg)
{
	uint64_t *ms = target;
	if (!fs_args_duration_ms(arg, ms) || *ms == 0 || *ms > FS_SCN_DURATION_MAX_MS) {
		fs_error("--duration: '%s' is not a duration of 1 ms to 100 years such as 3600, 90m, 2h or 1d", arg);
		return 2;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct conductor *c, struct conductor_args *a)
{
	static const char *const controls[] = { "socket", "bus", NULL };
	const struct fs_opt opts[] = {
		{ "bus", FS_OPT_STRING, &a->bus },
		{ "participants", FS_OPT_STRING, &a->participants },
		{ "seed", FS_OPT_U64, &c->seed, &a->seed, .what = "a non-negative integer" },
		{ "start", FS_OPT_STRING, &a->start, &a->start_given },
		{ "duration", FS_OPT_CALL, &a->duration_ms, &a->duration, .call = parse_duration },
		{ "tick-ms", FS_OPT_U32, &c->tick_ms, &a->tick, .min = 1, .max = 3600000,
		  .what = "a tick length in ms (1..3600000)" },
		{ "speed", FS_OPT_CALL, &c->speed, .call = fs_service_take_speed },
		{ "paused", FS_OPT_SET, &a->paused },
		{ "ready-timeout", FS_OPT_U64, &a->ready_timeout_s, .min = 1, .max = 86400,
		  .what = "a number of seconds (1..86400)" },
		{ "stop-wait", FS_OPT_U64, &a->stop_wait_s, .max = 3600, .what = "a number of seconds (0..3600)" },
		{ "vehicles", FS_OPT_U64, &c->fleet_ids, &c->fleet_known, .max = UINT32_MAX, .what = "a fleet size" },
		{ "out", FS_OPT_STRING, &c->out_dir },
		{ "scenario", FS_OPT_STRING, &a->scenario },
		{ "control", FS_OPT_CHOICE, &a->control, .choices = controls, .what = "'socket' or 'bus'" },
		{ "no-scenario-events", FS_OPT_SET, &a->no_file_events },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "fs-conductor", .usage = usage, .opts = opts };
	int rc = fs_service_parse(&spec, argc, argv, NULL);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	c->address = (char *)a->bus;
	c->use_control_socket = a->control == 0;
	c->paused = a->paused;
	c->stop_wait_ms = (int)(a->stop_wait_s * 1000);
	if (a->ready_timeout_s) {
		c->ready_timeout_ms = (int)(a->ready_timeout_s * 1000);
	}
	if (!a->participants) {
		fs_error("--participants is required");
		return 2;
	}
	if (c->out_dir && fs_outfile_check_dir("--out", c->out_dir) < 0) {
		return 2; /* before the run, not after it */
	}
	if (fs_calendar_parse(a->start, &c->start_ms) < 0) {
		fs_error("--start: '%s' is not a date-time such as 2028-06-01T06:00:00Z", a->start);
		return 2;
	}
	return FS_SERVICE_GO_ON;
}

/* The file's values unless a flag overrides them, its events checked against the run. */
static int merge_scenario(struct conductor *c, const struct conductor_args *a)
{
	uint64_t duration_ms = a->duration_ms;
	if (a->no_file_events) {
		c->scenario.event_count = 0; /* the rules stay: injected events are still checked with them */
	}
	if (a->scenario) {
		c->seed = a->seed ? c->seed : c->scenario.seed;
		c->start_ms = a->start_given ? c->start_ms : c->scenario.start_ms;
		duration_ms = a->duration ? duration_ms : c->scenario.duration_ms;
		c->tick_ms = a->tick ? c->tick_ms : c->scenario.tick_ms;
	}
	c->duration_ticks = (duration_ms + c->tick_ms - 1) / c->tick_ms;
	/* The file's events were timed with its start and tick: they must be the run's. */
	if (c->scenario.event_count && (c->scenario.start_ms != c->start_ms || c->scenario.tick_ms != c->tick_ms)) {
		fs_error("%s: its events are timed from start %s with tick %u ms; the run's --start/--tick-ms "
			 "differ (change them in the file)", a->scenario, a->start, c->scenario.tick_ms);
		return -EINVAL;
	}
	c->scenario.start_ms = c->start_ms;
	c->scenario.tick_ms = c->tick_ms;
	c->scenario.duration_ms = duration_ms;
	for (size_t i = 0; i < c->scenario.event_count; i++) {
		if (c->scenario.events[i].apply_tick >= c->duration_ticks) {
			fs_warn("%s: events from tick %" PRIu64 " on fall after the run's end", a->scenario,
				c->scenario.events[i].apply_tick);
			break;
		}
	}
	return 0;
}

/* Connect, wait for every participant, run the ticks, end: the exit status. */
static int conduct(struct conductor *c)
{
	struct fs_bus_options bopts = { .address = c->address, .name = NAME, .mode = FS_BUS_PARTICIPANT };
	c->bus = fs_bus_connect(&bopts);
	if (!c->bus) {
		return 1;
	}
	const char *subs[] = { "ctl.ready", "ctl.done", "ctl.cmd", "ctl.bye", "ctl.heartbeat", "ctl.lost", "kpi/broker",
			       "scn.cmd", "prod.delivery" };
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		fs_bus_subscribe(c->bus, subs[i]);
	}
	if (fs_bus_handshake(c->bus, 20000) < 0) {
		fs_error("no answer from the broker");
		return 1;
	}
	if (c->use_control_socket) {
		char address[FS_BUS_ADDRESS_MAX];
		c->hub = control_hub_open(c->address ? c->address : fs_bus_default_address(address, sizeof(address)),
					  c->nparts, c->bus, &control_ops, c);
	}
	int rc = wait_ready(c);
	if (rc < 0) {
		/* No tick ran; still say why in summary.json, and let the ready ones leave now. */
		c->run_ended_us = fs_clock_now_us();
		end_run(c);
		return write_summary(c, false) < 0 ? 1 : c->peer_lost ? EXIT_NOT_ANSWERED : rc == -EINTR ? 0 : 3;
	}
	size_t on_socket = c->on_control_socket = control_hub_bound_count(c->hub);
	for (size_t i = 0; i < c->nparts; i++) {
		c->parts[i].on_control = control_hub_bound(c->hub, i);
	}
	if (on_socket == c->nparts) {
		/* Every TickDone comes on the control socket: stop waking up for the bus copies. */
		zmq_setsockopt(fs_bus_socket(c->bus), ZMQ_UNSUBSCRIBE, "ctl.done", 8);
		fs_info("lockstep on the control socket for all %zu participant(s)", c->nparts);
	} else if (c->hub) {
		fs_info("lockstep on the control socket for %zu of %zu participant(s), the others on the bus", on_socket,
			c->nparts);
	} else {
		fs_info("lockstep on the bus for all %zu participant(s)", c->nparts);
	}
	fs_info("%zu participant(s) ready; running %" PRIu64 " tick(s) of %u ms", c->nparts, c->duration_ticks,
		c->tick_ms);
	if (run(c) < 0) {
		return 1;
	}
	end_run(c);
	bool completed = c->tick >= c->duration_ticks;
	int status = write_summary(c, completed) < 0 ? 1 : someone_did_not_answer(c) ? EXIT_NOT_ANSWERED : 0;
	char digest[17];
	snprintf(digest, sizeof(digest), "%016" PRIx64, XXH3_64bits_digest(c->digest));
	fs_info("run %s after %" PRIu64 " ticks; digest %s", completed ? "complete" : "ended", c->tick, digest);
	return status;
}

static void free_participants(struct conductor *c)
{
	for (size_t i = 0; i < c->nparts; i++) {
		free(c->parts[i].name);
		free(c->parts[i].role);
		free(c->parts[i].done_copy);
		json_decref(c->parts[i].results);
	}
	free(c->parts);
	c->parts = NULL;
	c->nparts = 0;
}

static void conductor_finish(struct conductor *c)
{
	if (c->bus && stop_signal) {
		fs_bus_set_linger(c->bus, 0); /* being torn down: do not wait for delivery */
	}
	control_hub_close(c->hub);
	fs_bus_close(c->bus);
	tick_inputs_finish(&c->inputs);
	fs_control_msg_finish(&c->out);
	fs_control_in_finish(&c->in);
	XXH3_freeState(c->digest);
	free_participants(c);
	free(c->roles);
	json_decref(c->broker_stats);
	lockstep_stats_finish(&c->lockstep);
	fs_scenario_finish(&c->scenario);
}

int main(int argc, char **argv)
{
	if (fs_service_begin(argc, argv, "fs-conductor")) {
		return 0;
	}
	struct conductor c = { .tick_ms = 1000, .ready_timeout_ms = 60000 };
	struct conductor_args a = { .duration_ms = 3600000, .start = "2028-06-01T12:00:00Z",
				    .stop_wait_s = STOP_WAIT_MS_DEFAULT / 1000 };
	int rc = parse_args(argc, argv, &c, &a);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if (fs_scenario_msg_load(a.scenario, &c.scenario) < 0) {
		return 2;
	}
	/* Last of the checks, so the early exits above own nothing to free. */
	if (merge_scenario(&c, &a) < 0 || parse_participants(&c, a.participants) < 0 || c.nparts == 0) {
		free_participants(&c);
		fs_scenario_finish(&c.scenario);
		return 2;
	}
	build_roles(&c);
	lockstep_stats_init(&c.lockstep);
	c.digest = XXH3_createState();
	XXH3_64bits_reset(c.digest);

	struct sigaction sa_abort = { .sa_handler = on_abort };
	sigaction(SIGUSR1, &sa_abort, NULL);
	fs_service_catch_stop(&stop_signal);
	int status = conduct(&c);
	conductor_finish(&c);
	return status;
}
