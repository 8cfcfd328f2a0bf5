/* SPDX-License-Identifier: Apache-2.0 */
/* fs_control_msg - the control message family's codec (see fs_control_msg.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_control_msg.h"
#include "fs/grow.h"

/* ---- encoding ---------------------------------------------------------------------------------- */

static Fleetsim__V1__Envelope *envelope(struct fs_control_msg *m, Fleetsim__V1__Envelope__PayloadCase which)
{
	fleetsim__v1__envelope__init(&m->env);
	m->env.payload_case = which;
	return &m->env;
}

static void stats_to_wire(const struct fs_control_stats *s, Fleetsim__V1__ClientStats *w)
{
	fleetsim__v1__client_stats__init(w);
	w->msgs_sent = s->bus.msgs_sent;
	w->bytes_sent = s->bus.bytes_sent;
	w->msgs_received = s->bus.msgs_received;
	w->bytes_received = s->bus.bytes_received;
	w->gaps = s->bus.gaps;
	w->malformed = s->bus.malformed;
	w->unknown = s->bus.unknown;
	w->oversize = s->bus.oversize;
	w->rejected = s->bus.rejected;
	w->input_waits = s->input_waits;
}

/* @marks[@n] as wire watermarks in @m; the pointer array, or NULL when out of memory. */
static Fleetsim__V1__TopicWatermark **marks_to_wire(struct fs_control_msg *m, const struct fs_control_watermark *marks,
						    size_t n)
{
	const struct fs_grow_array arrays[] = { FS_GROW_ARRAY(m->marks), FS_GROW_ARRAY(m->mark_ptrs) };
	if (fs_grow_parallel(&m->marks_cap, n ? n : 1, arrays, 2) < 0) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		Fleetsim__V1__TopicWatermark *w = &m->marks[i];
		fleetsim__v1__topic_watermark__init(w);
		w->sender = (char *)(marks[i].sender ? marks[i].sender : "");
		w->topic = (char *)marks[i].topic;
		w->topic_seq = marks[i].topic_seq;
		m->mark_ptrs[i] = w;
	}
	return m->mark_ptrs;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_hello(struct fs_control_msg *m, const struct fs_control_hello *h)
{
	fleetsim__v1__hello__init(&m->hello);
	m->hello.nonce = h->nonce;
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_HELLO);
	env->hello = &m->hello;
	return env;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_ready(struct fs_control_msg *m, const struct fs_control_ready *r)
{
	Fleetsim__V1__Ready *w = &m->ready;
	fleetsim__v1__ready__init(w);
	w->participant = (char *)r->participant;
	w->role = (char *)r->role;
	w->pid = r->pid;
	w->shard = r->shard;
	w->shard_count = r->shard_count;
	w->version = (char *)(r->version ? r->version : "");
	w->control_socket = r->control_socket;
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_READY);
	env->ready = w;
	return env;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_tick(struct fs_control_msg *m, const struct fs_control_tick *t)
{
	Fleetsim__V1__Tick *w = &m->tick;
	fleetsim__v1__tick__init(w);
	w->tick = t->tick;
	w->sim_time_ms = t->sim_time_ms;
	w->tick_ms = t->tick_ms;
	w->last = t->last;
	w->inputs = marks_to_wire(m, t->inputs, t->n_inputs);
	if (!w->inputs) {
		return NULL;
	}
	w->n_inputs = t->n_inputs;
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_START);
	env->tick_start = w;
	return env;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_tick_done(struct fs_control_msg *m,
							const struct fs_control_tick_done *d)
{
	Fleetsim__V1__TickDone *w = &m->done;
	fleetsim__v1__tick_done__init(w);
	w->tick = d->tick;
	w->state_hash = d->state_hash;
	w->work_us = d->work_us;
	if (d->has_stats) {
		stats_to_wire(&d->stats, &m->stats);
		w->stats = &m->stats;
	}
	w->published = marks_to_wire(m, d->published, d->n_published);
	if (!w->published) {
		return NULL;
	}
	w->n_published = d->n_published;
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_DONE);
	env->tick_done = w;
	return env;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_heartbeat(struct fs_control_msg *m,
							const struct fs_control_heartbeat *h)
{
	fleetsim__v1__heartbeat__init(&m->heartbeat);
	m->heartbeat.participant = (char *)h->participant;
	m->heartbeat.waiting_for_tick = h->waiting_for_tick;
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_HEARTBEAT);
	env->heartbeat = &m->heartbeat;
	return env;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_peer_lost(struct fs_control_msg *m,
							const struct fs_control_peer_lost *l)
{
	fleetsim__v1__peer_lost__init(&m->lost);
	m->lost.participant = (char *)(l->participant ? l->participant : "");
	m->lost.address = (char *)(l->address ? l->address : "");
	m->lost.reason = (char *)(l->reason ? l->reason : "");
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_PEER_LOST);
	env->peer_lost = &m->lost;
	return env;
}

static int participants_to_wire(struct fs_control_msg *m, const struct fs_control_participant *parts, size_t n)
{
	const struct fs_grow_array arrays[] = { FS_GROW_ARRAY(m->parts), FS_GROW_ARRAY(m->part_ptrs),
						FS_GROW_ARRAY(m->part_stats) };
	if (fs_grow_parallel(&m->parts_cap, n ? n : 1, arrays, 3) < 0) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		Fleetsim__V1__ParticipantStatus *w = &m->parts[i];
		fleetsim__v1__participant_status__init(w);
		w->participant = (char *)parts[i].participant;
		w->role = (char *)parts[i].role;
		w->ready = parts[i].ready;
		w->last_done_tick = parts[i].last_done_tick;
		stats_to_wire(&parts[i].stats, &m->part_stats[i]);
		w->stats = &m->part_stats[i];
		w->control_socket = parts[i].control_socket;
		m->part_ptrs[i] = w;
	}
	return 0;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_status(struct fs_control_msg *m, const struct fs_control_status *s)
{
	Fleetsim__V1__Status *w = &m->status;
	fleetsim__v1__status__init(w);
	if (participants_to_wire(m, s->participants, s->n_participants) < 0) {
		return NULL;
	}
	w->state = (Fleetsim__V1__RunState)s->state;
	w->tick = s->tick;
	w->sim_time_ms = s->sim_time_ms;
	w->speed = s->speed;
	w->sim_real_ratio = s->sim_real_ratio;
	w->duration_ticks = s->duration_ticks;
	w->n_participants = s->n_participants;
	w->participants = m->part_ptrs;
	stats_to_wire(&s->conductor_stats, &m->stats);
	w->conductor_stats = &m->stats;
	w->lockstep_p50_us = s->lockstep_p50_us;
	w->lockstep_p99_us = s->lockstep_p99_us;
	if (s->playback) {
		fleetsim__v1__playback_status__init(&m->playback);
		m->playback.file = (char *)(s->playback->file ? s->playback->file : "");
		m->playback.start_ms = s->playback->start_ms;
		m->playback.end_ms = s->playback->end_ms;
		m->playback.first_tick = s->playback->first_tick;
		w->playback = &m->playback;
	}
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_STATUS);
	env->status = w;
	return env;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_command(struct fs_control_msg *m, const struct fs_control_command *c)
{
	Fleetsim__V1__Command *w = &m->command;
	fleetsim__v1__command__init(w);
	w->command_id = c->command_id;
	w->kind = (Fleetsim__V1__CommandKind)c->kind;
	w->steps = c->steps;
	w->speed = c->speed;
	w->sim_time_ms = c->sim_time_ms;
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_COMMAND);
	env->command = w;
	return env;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_command_ack(struct fs_control_msg *m,
							  const struct fs_control_command_ack *a)
{
	Fleetsim__V1__CommandAck *w = &m->ack;
	fleetsim__v1__command_ack__init(w);
	w->command_id = a->command_id;
	w->requester = (char *)a->requester;
	w->accepted = a->accepted;
	w->reason = (char *)(a->reason ? a->reason : "");
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_COMMAND_ACK);
	env->command_ack = w;
	return env;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_end(struct fs_control_msg *m, const struct fs_control_end *e)
{
	Fleetsim__V1__End *w = &m->end;
	fleetsim__v1__end__init(w);
	w->ticks = e->ticks;
	w->reason = (char *)(e->reason ? e->reason : "");
	w->inputs = marks_to_wire(m, e->inputs, e->n_inputs);
	if (!w->inputs) {
		return NULL;
	}
	w->n_inputs = e->n_inputs;
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_END);
	env->end = w;
	return env;
}

Fleetsim__V1__Envelope *fs_control_msg_encode_bye(struct fs_control_msg *m, const struct fs_control_bye *b)
{
	size_t n = b->n_results;
	const struct fs_grow_array arrays[] = { FS_GROW_ARRAY(m->results), FS_GROW_ARRAY(m->result_ptrs) };
	if (fs_grow_parallel(&m->results_cap, n ? n : 1, arrays, 2) < 0) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		fleetsim__v1__key_value__init(&m->results[i]);
		m->results[i].key = (char *)b->results[i].key;
		m->results[i].value = b->results[i].value;
		m->result_ptrs[i] = &m->results[i];
	}
	Fleetsim__V1__Bye *w = &m->bye;
	fleetsim__v1__bye__init(w);
	w->participant = (char *)b->participant;
	if (b->has_stats) {
		stats_to_wire(&b->stats, &m->stats);
		w->stats = &m->stats;
	}
	w->n_results = n;
	w->results = m->result_ptrs;
	Fleetsim__V1__Envelope *env = envelope(m, FLEETSIM__V1__ENVELOPE__PAYLOAD_BYE);
	env->bye = w;
	return env;
}

void fs_control_msg_finish(struct fs_control_msg *m)
{
	free(m->marks);
	free(m->mark_ptrs);
	free(m->parts);
	free(m->part_ptrs);
	free(m->part_stats);
	free(m->results);
	free(m->result_ptrs);
	memset(m, 0, sizeof(*m));
}

/* ---- decoding ---------------------------------------------------------------------------------- */

enum fs_control_kind fs_control_msg_kind(const Fleetsim__V1__Envelope *env)
{
	switch (env->payload_case) {
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_HELLO:
		return FS_CONTROL_HELLO;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_READY:
		return FS_CONTROL_READY;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_START:
		return FS_CONTROL_TICK;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_DONE:
		return FS_CONTROL_TICK_DONE;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_HEARTBEAT:
		return FS_CONTROL_HEARTBEAT;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_PEER_LOST:
		return FS_CONTROL_PEER_LOST;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_STATUS:
		return FS_CONTROL_STATUS;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_COMMAND:
		return FS_CONTROL_COMMAND;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_COMMAND_ACK:
		return FS_CONTROL_COMMAND_ACK;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_END:
		return FS_CONTROL_END;
	case FLEETSIM__V1__ENVELOPE__PAYLOAD_BYE:
		return FS_CONTROL_BYE;
	default:
		return FS_CONTROL_NONE;
	}
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static const char *refuse(struct fs_control_in *in, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(in->why, sizeof(in->why), fmt, ap);
	va_end(ap);
	return in->why;
}

static bool named(const char *s)
{
	return s && s[0];
}

/* The envelope's sender; "" in one built by hand without one (the bus always sets it). */
static const char *sender_of(const Fleetsim__V1__Envelope *env)
{
	return env->sender ? env->sender : "";
}

static void stats_from_wire(const Fleetsim__V1__ClientStats *w, struct fs_control_stats *s)
{
	*s = (struct fs_control_stats){
		.bus = { .msgs_sent = w->msgs_sent, .bytes_sent = w->bytes_sent, .msgs_received = w->msgs_received,
			 .bytes_received = w->bytes_received, .gaps = w->gaps, .malformed = w->malformed,
			 .unknown = w->unknown, .oversize = w->oversize, .rejected = w->rejected },
		.input_waits = w->input_waits,
	};
}

/*
 * The watermarks of a @type message into in->marks. @own_sender: those of a
 * TickDone, which name no sender or their envelope's (filled in here).
 */
static const char *marks_from_wire(struct fs_control_in *in, const char *type, Fleetsim__V1__TopicWatermark *const *w,
				   size_t n, const char *own_sender)
{
	if (FS_GROW(in->marks, in->marks_cap, n ? n : 1) < 0) {
		return refuse(in, "%s: out of memory", type);
	}
	for (size_t i = 0; i < n; i++) {
		const char *sender = w[i]->sender;
		if (own_sender && !named(sender)) {
			sender = own_sender;
		} else if (own_sender && strcmp(sender, own_sender)) {
			return refuse(in, "%s: watermark %zu names sender '%s', not its own", type, i, sender);
		}
		if (!named(sender) || !named(w[i]->topic)) {
			return refuse(in, "%s: watermark %zu without a sender or topic", type, i);
		}
		if (w[i]->topic_seq == 0) {
			return refuse(in, "%s: watermark %zu (%s) at sequence 0 (sequences count from 1)", type, i,
				      w[i]->topic);
		}
		in->marks[i] = (struct fs_control_watermark){ sender, w[i]->topic, w[i]->topic_seq };
	}
	return NULL;
}

/* The participant a Ready, Heartbeat or Bye speaks for must be its sender. */
static const char *check_participant(struct fs_control_in *in, const char *type, const char *participant,
				     const char *sender)
{
	if (!named(participant)) {
		return refuse(in, "%s without a participant name", type);
	}
	if (strcmp(participant, sender)) {
		return refuse(in, "%s for '%s' sent by '%s'", type, participant, sender);
	}
	return NULL;
}

static const char *check_sender(struct fs_control_in *in, const char *type, const char *sender, const char *expected)
{
	return strcmp(sender, expected) ? refuse(in, "%s sent by '%s', not the %s", type, sender, expected) : NULL;
}

static const char *decode_ready(const Fleetsim__V1__Envelope *env, struct fs_control_in *in)
{
	const Fleetsim__V1__Ready *w = env->ready;
	const char *why = check_participant(in, "Ready", w->participant, sender_of(env));
	if (why) {
		return why;
	}
	if (!named(w->role)) {
		return refuse(in, "Ready without a role");
	}
	if (w->shard_count && w->shard >= w->shard_count) {
		return refuse(in, "Ready for shard %" PRIu32 " of %" PRIu32, w->shard, w->shard_count);
	}
	in->ready = (struct fs_control_ready){ .participant = w->participant, .role = w->role, .version = w->version,
					       .pid = w->pid, .shard = w->shard, .shard_count = w->shard_count,
					       .control_socket = w->control_socket };
	return NULL;
}

static const char *decode_tick(const Fleetsim__V1__Envelope *env, struct fs_control_in *in)
{
	const Fleetsim__V1__Tick *w = env->tick_start;
	const char *why = check_sender(in, "Tick", sender_of(env), FS_CONTROL_CONDUCTOR);
	if (why) {
		return why;
	}
	if (w->tick != env->tick || w->sim_time_ms != env->sim_time_ms) {
		return refuse(in, "Tick: tick %" PRIu64 " at %" PRId64 " ms is not its envelope's tick %" PRIu64
				  " at %" PRId64 " ms", w->tick, w->sim_time_ms, env->tick, env->sim_time_ms);
	}
	if (w->tick_ms == 0) {
		return refuse(in, "Tick: tick %" PRIu64 " lasts 0 ms", w->tick);
	}
	if ((why = marks_from_wire(in, "Tick", w->inputs, w->n_inputs, NULL))) {
		return why;
	}
	in->tick = (struct fs_control_tick){ .tick = w->tick, .sim_time_ms = w->sim_time_ms, .tick_ms = w->tick_ms,
					     .last = w->last, .inputs = in->marks, .n_inputs = w->n_inputs };
	return NULL;
}

static const char *decode_tick_done(const Fleetsim__V1__Envelope *env, struct fs_control_in *in)
{
	const Fleetsim__V1__TickDone *w = env->tick_done;
	if (w->tick != env->tick) {
		return refuse(in, "TickDone: tick %" PRIu64 " is not its envelope's tick %" PRIu64, w->tick, env->tick);
	}
	const char *why = marks_from_wire(in, "TickDone", w->published, w->n_published, sender_of(env));
	if (why) {
		return why;
	}
	in->tick_done = (struct fs_control_tick_done){ .tick = w->tick, .state_hash = w->state_hash,
						       .work_us = w->work_us, .has_stats = w->stats != NULL,
						       .published = in->marks, .n_published = w->n_published };
	if (w->stats) {
		stats_from_wire(w->stats, &in->tick_done.stats);
	}
	return NULL;
}

static const char *decode_status(const Fleetsim__V1__Envelope *env, struct fs_control_in *in)
{
	const Fleetsim__V1__Status *w = env->status;
	if ((unsigned)w->state < FS_RUN_WAITING || (unsigned)w->state > FS_RUN_ENDED) {
		return refuse(in, "Status: unknown run state %d", (int)w->state);
	}
	if (!isfinite(w->speed) || w->speed < 0 || !isfinite(w->sim_real_ratio)) {
		return refuse(in, "Status: speed %g or ratio %g is not a finite factor", w->speed, w->sim_real_ratio);
	}
	if (w->playback && w->playback->end_ms < w->playback->start_ms) {
		return refuse(in, "Status: playback ends (%" PRId64 ") before it starts (%" PRId64 ")",
			      w->playback->end_ms, w->playback->start_ms);
	}
	if (FS_GROW(in->parts, in->parts_cap, w->n_participants ? w->n_participants : 1) < 0) {
		return refuse(in, "Status: out of memory");
	}
	for (size_t i = 0; i < w->n_participants; i++) {
		const Fleetsim__V1__ParticipantStatus *p = w->participants[i];
		if (!named(p->participant)) {
			return refuse(in, "Status: participant %zu without a name", i);
		}
		in->parts[i] = (struct fs_control_participant){ .participant = p->participant, .role = p->role,
								.ready = p->ready, .control_socket = p->control_socket,
								.last_done_tick = p->last_done_tick };
		if (p->stats) {
			stats_from_wire(p->stats, &in->parts[i].stats);
		}
	}
	in->status = (struct fs_control_status){
		.state = (enum fs_run_state)w->state, .tick = w->tick, .duration_ticks = w->duration_ticks,
		.sim_time_ms = w->sim_time_ms, .speed = w->speed, .sim_real_ratio = w->sim_real_ratio,
		.participants = in->parts, .n_participants = w->n_participants,
		.lockstep_p50_us = w->lockstep_p50_us, .lockstep_p99_us = w->lockstep_p99_us,
	};
	if (w->conductor_stats) {
		stats_from_wire(w->conductor_stats, &in->status.conductor_stats);
	}
	if (w->playback) {
		in->playback = (struct fs_control_playback){ .file = w->playback->file, .start_ms = w->playback->start_ms,
							     .end_ms = w->playback->end_ms,
							     .first_tick = w->playback->first_tick };
		in->status.playback = &in->playback;
	}
	return NULL;
}

static const char *decode_command(const Fleetsim__V1__Envelope *env, struct fs_control_in *in)
{
	const Fleetsim__V1__Command *w = env->command;
	in->command = (struct fs_control_command){ .command_id = w->command_id, .kind = (enum fs_command_kind)w->kind,
						   .steps = w->steps, .speed = w->speed,
						   .sim_time_ms = w->sim_time_ms };
	if ((unsigned)w->kind < FS_COMMAND_PAUSE || (unsigned)w->kind > FS_COMMAND_SEEK) {
		return refuse(in, "Command: unknown command kind %d", (int)w->kind);
	}
	if (w->kind == FLEETSIM__V1__COMMAND_KIND__COMMAND_KIND_SPEED && (!isfinite(w->speed) || w->speed < 0)) {
		return refuse(in, "Command: speed must be a positive factor or 0 (max)");
	}
	return NULL;
}

static const char *decode_end(const Fleetsim__V1__Envelope *env, struct fs_control_in *in)
{
	const Fleetsim__V1__End *w = env->end;
	const char *why = check_sender(in, "End", sender_of(env), FS_CONTROL_CONDUCTOR);
	if (why) {
		return why;
	}
	if (w->ticks < env->tick) {
		return refuse(in, "End: %" PRIu64 " ticks run, yet sent in tick %" PRIu64, w->ticks, env->tick);
	}
	if ((why = marks_from_wire(in, "End", w->inputs, w->n_inputs, NULL))) {
		return why;
	}
	in->end = (struct fs_control_end){ .ticks = w->ticks, .reason = w->reason, .inputs = in->marks,
					   .n_inputs = w->n_inputs };
	return NULL;
}

static const char *decode_bye(const Fleetsim__V1__Envelope *env, struct fs_control_in *in)
{
	const Fleetsim__V1__Bye *w = env->bye;
	const char *why = check_participant(in, "Bye", w->participant, sender_of(env));
	if (why) {
		return why;
	}
	if (FS_GROW(in->results, in->results_cap, w->n_results ? w->n_results : 1) < 0) {
		return refuse(in, "Bye: out of memory");
	}
	for (size_t i = 0; i < w->n_results; i++) {
		if (!named(w->results[i]->key)) {
			return refuse(in, "Bye: result %zu without a key", i);
		}
		in->results[i] = (struct fs_control_result){ w->results[i]->key, w->results[i]->value };
	}
	in->bye = (struct fs_control_bye){ .participant = w->participant, .has_stats = w->stats != NULL,
					   .results = in->results, .n_results = w->n_results };
	if (w->stats) {
		stats_from_wire(w->stats, &in->bye.stats);
	}
	return NULL;
}

/* The messages with no arrays: Hello, Heartbeat, PeerLost, CommandAck. */
static const char *decode_small(const Fleetsim__V1__Envelope *env, struct fs_control_in *in)
{
	const char *why = NULL;
	switch (in->kind) {
	case FS_CONTROL_HELLO:
		in->hello.nonce = env->hello->nonce;
		break;
	case FS_CONTROL_HEARTBEAT:
		why = check_participant(in, "Heartbeat", env->heartbeat->participant, sender_of(env));
		in->heartbeat = (struct fs_control_heartbeat){ env->heartbeat->participant,
							       env->heartbeat->waiting_for_tick };
		break;
	case FS_CONTROL_PEER_LOST:
		why = check_sender(in, "PeerLost", sender_of(env), FS_CONTROL_BROKER);
		in->peer_lost = (struct fs_control_peer_lost){ env->peer_lost->participant, env->peer_lost->address,
							       env->peer_lost->reason };
		break;
	case FS_CONTROL_COMMAND_ACK:
		if (!named(env->command_ack->requester)) {
			why = refuse(in, "CommandAck without a requester");
		}
		in->command_ack = (struct fs_control_command_ack){ .command_id = env->command_ack->command_id,
								   .requester = env->command_ack->requester,
								   .reason = env->command_ack->reason,
								   .accepted = env->command_ack->accepted };
		break;
	default:
		break;
	}
	return why;
}

const char *fs_control_msg_decode(const Fleetsim__V1__Envelope *env, struct fs_control_in *in)
{
	in->kind = fs_control_msg_kind(env);
	switch (in->kind) {
	case FS_CONTROL_READY:
		return decode_ready(env, in);
	case FS_CONTROL_TICK:
		return decode_tick(env, in);
	case FS_CONTROL_TICK_DONE:
		return decode_tick_done(env, in);
	case FS_CONTROL_STATUS:
		return decode_status(env, in);
	case FS_CONTROL_COMMAND:
		return decode_command(env, in);
	case FS_CONTROL_END:
		return decode_end(env, in);
	case FS_CONTROL_BYE:
		return decode_bye(env, in);
	default:
		return decode_small(env, in);
	}
}

void fs_control_in_finish(struct fs_control_in *in)
{
	free(in->marks);
	free(in->parts);
	free(in->results);
	memset(in, 0, sizeof(*in));
}
