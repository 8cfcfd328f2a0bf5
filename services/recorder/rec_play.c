/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rec_play - a recording played onto a bus, driven like a run (see rec_play.h).
 *
 * One loop, like the conductor's: publish what the position has reached,
 * report status every STATUS_EVERY_MS, then wait on the bus for commands until
 * the next message is due. The position runs at the pace from an anchor
 * (wall time, position) reset by every pause, resume, speed change and seek,
 * so a change of pace never jumps. The next message is held, peeked (sender,
 * tick, time) but not decoded, until the position reaches its log time.
 *
 * A mirror of every vehicle's last record (keyframes replace a shard's set,
 * news merge, as the viewer does: fs_vehicle_record_merge()) follows what
 * was played, or walked over by a seek, and becomes one keyframe per shard at
 * the position when the state must be re-established. Seeking back rewinds
 * and walks the recording again from its start; seeking forward walks on. A
 * walk decodes a sender's vehicle messages only from its last keyframe before
 * the target (their times, per sender, come from a pass over the file at
 * open), so it costs reading the file, not decoding it.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/calendar.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_control_msg.h"
#include "fs_log.h"
#include "fs_mcap.h"
#include "fs_vehicle_msg.h"
#include "rec_envelope.h"
#include "rec_play.h"
#include "recorder.h"

#define NS_PER_MS 1000000
#define STATUS_EVERY_MS 250  /* as the conductor's status (services/conductor/conductor.c) */
#define REPEAT_EVERY_MS 1000 /* keyframes while paused, as a paused run's shards send them (docs/bus.md) */
#define MAX_BURST_MS 20      /* at max speed, publish this long between looks at the commands */
#define MAX_SHARDS 4096
#define MAX_VEHICLE_ID (1u << 24) /* ids are dense from 0 (as in rec_fleet.c): a larger one is a bad record */

struct mirror {
	struct fs_vehicle_record rec;
	uint32_t shard;
	bool known;
};

/* When a sender's keyframes were recorded: a seek decodes only what follows the last one before it. */
struct keyframes {
	char sender[64];
	int64_t *ms;
	size_t n, cap;
};

struct player {
	const struct rec_play_options *o;
	struct fs_control_msg ctl_out; /* our Status and CommandAcks */
	struct fs_control_in ctl_in;   /* a Command */
	struct fs_mcap_reader *r;
	struct fs_bus *bus;
	int64_t start_ms, end_ms;    /* the recording's span: its envelopes' log times */
	uint64_t first_tick, end_tick;
	int64_t pos_ms;              /* the position: what has been published */
	uint64_t tick;               /* the newest tick published (or walked over) */
	double speed;                /* x real time, 0 = max */
	bool paused, at_end, stop;
	uint64_t step_to;            /* a step pauses before tick step_to + 1; 0 = none */
	int64_t anchor_us, anchor_ms;
	/* the next message, waiting for its time */
	struct fs_mcap_message next;
	struct rec_envelope next_env;
	bool have_next;
	/* the vehicles as of the position */
	struct mirror *veh;
	size_t n_veh;
	struct fs_vehicle_batch_info shards[MAX_SHARDS];
	bool shard_seen[MAX_SHARDS];
	struct fs_vehicle_records decoded;
	struct fs_vehicle_msg enc;
	struct fs_vehicle_record *out;
	size_t out_cap;
	uint64_t refused;
	struct keyframes *kf;
	size_t n_kf;
	/* reporting */
	uint64_t sent, bytes;
	int64_t status_us, status_pos_ms, repeat_us;
	double ratio;
};

static bool envelope_channel(const struct fs_mcap_reader *r, const struct fs_mcap_channel *c)
{
	const struct fs_mcap_schema *s = fs_mcap_reader_schema(r, c->schema_id);
	return s && !strcmp(s->name, RECORDER_SCHEMA_NAME); /* not the derived Foxglove channels */
}

/* The recorded run's handshakes and control dialogue: the player answers for itself now. */
static bool recorded_control(const char *topic)
{
	return !strncmp(topic, "ctl.hello", 9) || !strcmp(topic, "ctl.status") || !strcmp(topic, "ctl.cmd") ||
	       !strcmp(topic, "ctl.ack");
}

static bool selected(const struct rec_play_options *o, const char *topic)
{
	if (recorded_control(topic)) {
		return false;
	}
	for (size_t i = 0; i < o->nprefix; i++) {
		if (!strncmp(topic, o->prefixes[i], strlen(o->prefixes[i]))) {
			return true;
		}
	}
	return !o->nprefix;
}

static int64_t log_ms(const struct fs_mcap_message *m)
{
	return (int64_t)(m->log_time / NS_PER_MS);
}

/* The next envelope of the file into p->next; false at its end (or at damage: logged). */
static bool read_next(struct player *p)
{
	struct fs_error err = { "" };
	for (;;) {
		int rc = fs_mcap_reader_next(p->r, &p->next, &err);
		if (rc <= 0) {
			if (rc < 0) {
				fs_warn("%s (played what came before)", err.message);
			}
			p->have_next = false;
			return false;
		}
		if (envelope_channel(p->r, p->next.channel) &&
		    rec_envelope_peek(p->next.data, p->next.size, &p->next_env) == 0) {
			p->have_next = true;
			return true;
		}
	}
}

static void *xrealloc(void *ptr, size_t size)
{
	void *q = realloc(ptr, size);
	if (!q) {
		fs_error("out of memory for the playback's vehicles");
		abort();
	}
	return q;
}

/* @e's sender's keyframe times (added if new); NULL for a sender name too long to track. */
static struct keyframes *keyframes_of(struct player *p, const struct rec_envelope *e)
{
	if (e->sender_len >= sizeof(p->kf->sender)) {
		return NULL;
	}
	for (size_t i = 0; i < p->n_kf; i++) {
		if (strlen(p->kf[i].sender) == e->sender_len && !memcmp(p->kf[i].sender, e->sender, e->sender_len)) {
			return &p->kf[i];
		}
	}
	p->kf = xrealloc(p->kf, (p->n_kf + 1) * sizeof(*p->kf));
	struct keyframes *k = &p->kf[p->n_kf++];
	*k = (struct keyframes){ 0 };
	memcpy(k->sender, e->sender, e->sender_len);
	return k;
}

/*
 * True if a seek to @t_ms can leave the vehicle message @e (at @msg_ms) out of
 * the mirror: a keyframe of its sender at or before @t_ms, and after it, replaces it.
 */
static bool superseded(struct player *p, const struct rec_envelope *e, int64_t msg_ms, int64_t t_ms)
{
	struct keyframes *k = keyframes_of(p, e);
	if (!k) {
		return false;
	}
	size_t lo = 0, hi = k->n; /* the first keyframe after t_ms */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (k->ms[mid] <= t_ms) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo > 0 && msg_ms < k->ms[lo - 1];
}

/* A pass over the file: its span and ticks, from the envelopes alone. */
static int scan(struct player *p)
{
	p->start_ms = INT64_MAX;
	p->end_ms = INT64_MIN;
	while (read_next(p)) {
		int64_t t = log_ms(&p->next);
		p->start_ms = t < p->start_ms ? t : p->start_ms;
		p->end_ms = t > p->end_ms ? t : p->end_ms;
		uint64_t tick = p->next_env.tick;
		if (tick && (!p->first_tick || tick < p->first_tick)) {
			p->first_tick = tick;
		}
		p->end_tick = tick > p->end_tick ? tick : p->end_tick;
		if (!strcmp(p->next.channel->topic, "veh.snapshot")) {
			struct keyframes *k = keyframes_of(p, &p->next_env);
			if (k && k->n == k->cap) {
				k->cap = k->cap ? 2 * k->cap : 64;
				k->ms = xrealloc(k->ms, k->cap * sizeof(*k->ms));
			}
			if (k) {
				k->ms[k->n++] = t; /* in file order, which is time order for one sender */
			}
		}
	}
	fs_mcap_reader_rewind(p->r);
	if (p->start_ms == INT64_MAX) {
		fs_error("%s: no bus messages to play", p->o->path);
		return -ENODATA;
	}
	return 0;
}

/* ---- the vehicles' mirror ---- */

static struct mirror *slot(struct player *p, uint32_t id)
{
	if (id >= MAX_VEHICLE_ID) {
		return NULL;
	}
	if (id >= p->n_veh) {
		size_t n = p->n_veh ? p->n_veh : 1024;
		while (n <= id) {
			n *= 2;
		}
		p->veh = xrealloc(p->veh, n * sizeof(*p->veh));
		memset(p->veh + p->n_veh, 0, (n - p->n_veh) * sizeof(*p->veh));
		p->n_veh = n;
	}
	return &p->veh[id];
}

static void mirror_reset(struct player *p)
{
	memset(p->veh, 0, p->n_veh * sizeof(*p->veh));
	memset(p->shard_seen, 0, sizeof(p->shard_seen));
}

/* A veh.state or veh.snapshot envelope (@data) into the mirror. */
static void mirror_apply(struct player *p, const uint8_t *data, size_t size)
{
	Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, size, data);
	if (!env || env->payload_case != FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES ||
	    fs_vehicle_msg_decode_records(env->vehicle_states, env->sim_time_ms, &p->decoded) ||
	    p->decoded.info.shard >= MAX_SHARDS) {
		p->refused++; /* played as recorded; the rebuilt state does without it */
		goto out;
	}
	const struct fs_vehicle_batch_info *info = &p->decoded.info;
	if (info->full) {
		for (size_t i = 0; i < p->n_veh; i++) {
			if (p->veh[i].shard == info->shard) {
				p->veh[i].known = false; /* a keyframe is the shard's whole set */
			}
		}
	}
	p->shards[info->shard] = *info;
	p->shard_seen[info->shard] = true;
	for (size_t i = 0; i < p->decoded.count; i++) {
		const struct fs_vehicle_record *in = &p->decoded.items[i];
		struct mirror *m = slot(p, in->id);
		struct fs_vehicle_record r = m ? m->rec : (struct fs_vehicle_record){ 0 };
		if (!m || fs_vehicle_record_merge(&r, m->known, in) < 0) {
			continue; /* a move before the vehicle's first full record: its next keyframe brings it */
		}
		m->rec = r;
		m->rec.kind = FS_VEHICLE_RECORD_FULL;
		m->shard = info->shard;
		m->known = true;
	}
out:
	if (env) {
		fleetsim__v1__envelope__free_unpacked(env, NULL);
	}
}

static bool vehicle_topic(const char *topic)
{
	return !strcmp(topic, "veh.state") || !strcmp(topic, "veh.snapshot");
}

/* Every shard's vehicles as one keyframe at the position, published on veh.snapshot. */
static void publish_keyframes(struct player *p)
{
	if (!selected(p->o, "veh.snapshot")) {
		return; /* --topics left the vehicles out */
	}
	fs_bus_set_clock(p->bus, p->tick, p->pos_ms);
	for (uint32_t s = 0; s < MAX_SHARDS; s++) {
		if (!p->shard_seen[s]) {
			continue;
		}
		size_t n = 0;
		for (size_t i = 0; i < p->n_veh; i++) {
			if (p->veh[i].known && p->veh[i].shard == s) {
				if (n == p->out_cap) {
					p->out_cap = p->out_cap ? 2 * p->out_cap : 1024;
					p->out = xrealloc(p->out, p->out_cap * sizeof(*p->out));
				}
				p->out[n++] = p->veh[i].rec;
			}
		}
		struct fs_vehicle_batch_info info = p->shards[s];
		info.full = true;
		if (fs_vehicle_msg_encode_records(&p->enc, &info, p->out, n, p->pos_ms) < 0) {
			fs_error("out of memory encoding shard %u's keyframe", s);
			continue;
		}
		Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES;
		env.vehicle_states = &p->enc.batch;
		if (fs_bus_publish(p->bus, "veh.snapshot", &env) < 0) {
			fs_warn("cannot publish shard %u's keyframe", s);
		}
	}
}

/* ---- position ---- */

static void reanchor(struct player *p)
{
	p->anchor_us = fs_clock_now_us();
	p->anchor_ms = p->pos_ms;
}

/*
 * The held message as played (@publish) or walked over by a seek to @seek_ms:
 * tick, mirror, bus. Then the next.
 */
static int take_next(struct player *p, bool publish, int64_t seek_ms)
{
	const char *topic = p->next.channel->topic;
	if (p->next_env.tick > p->tick) {
		p->tick = p->next_env.tick;
	}
	if (vehicle_topic(topic) && (publish || !superseded(p, &p->next_env, log_ms(&p->next), seek_ms))) {
		mirror_apply(p, p->next.data, p->next.size);
	}
	if (publish && selected(p->o, topic)) {
		int rc = fs_bus_forward(p->bus, topic, p->next.data, p->next.size);
		if (rc < 0) {
			fs_error("cannot publish: %s", strerror(-rc));
			return rc;
		}
		p->sent++;
		p->bytes += p->next.size;
	}
	read_next(p);
	return 0;
}

/* Move to @t_ms at once: walk (from the start if back), then publish the vehicles as of there. */
static void seek(struct player *p, int64_t t_ms)
{
	t_ms = t_ms < p->start_ms ? p->start_ms : t_ms > p->end_ms ? p->end_ms : t_ms;
	if (t_ms < p->pos_ms) {
		fs_mcap_reader_rewind(p->r);
		mirror_reset(p);
		p->tick = 0;
		read_next(p);
	}
	while (p->have_next && log_ms(&p->next) <= t_ms) {
		take_next(p, false, t_ms);
	}
	p->pos_ms = t_ms;
	p->at_end = !p->have_next;
	p->step_to = 0;
	publish_keyframes(p);
	p->repeat_us = fs_clock_now_us();
	reanchor(p);
}

/*
 * Publish what the position has reached. Returns 0, or -errno if the bus
 * failed. At max speed it publishes for at most MAX_BURST_MS, so commands
 * are still answered.
 */
static int advance(struct player *p)
{
	if (p->paused || p->at_end) {
		return 0;
	}
	int64_t now = fs_clock_now_us();
	int64_t target = p->speed > 0 ? p->anchor_ms + (int64_t)((double)(now - p->anchor_us) * p->speed / 1000.0)
				       : INT64_MAX;
	int64_t burst_end = now + MAX_BURST_MS * 1000;
	while (p->have_next && log_ms(&p->next) <= target) {
		if (p->step_to && p->next_env.tick > p->step_to) {
			p->paused = true; /* the step's last tick is out */
			p->step_to = 0;
			return 0;
		}
		int64_t t = log_ms(&p->next);
		int rc = take_next(p, true, 0);
		if (rc < 0) {
			return rc;
		}
		p->pos_ms = t > p->pos_ms ? t : p->pos_ms;
		if (p->step_to && p->have_next && p->next_env.tick > p->step_to) {
			p->paused = true; /* the step's last tick is out: pause now, not when the next is due */
			p->step_to = 0;
			return 0;
		}
		if (p->speed <= 0 && fs_clock_now_us() >= burst_end) {
			return 0;
		}
	}
	if (!p->have_next) {
		p->at_end = true;
		p->pos_ms = p->end_ms;
		p->step_to = 0;
	} else if (p->speed > 0 && !p->step_to) {
		p->pos_ms = target < p->end_ms ? target : p->end_ms;
	}
	return 0;
}

/* ---- status and commands ---- */

static void publish_status(struct player *p, bool ended)
{
	int64_t now = fs_clock_now_us();
	if (p->status_us && now > p->status_us) {
		p->ratio = (double)(p->pos_ms - p->status_pos_ms) / ((double)(now - p->status_us) / 1000.0);
	}
	p->status_us = now;
	p->status_pos_ms = p->pos_ms;
	const struct fs_control_playback pb = { .file = p->o->path, .start_ms = p->start_ms, .end_ms = p->end_ms,
						.first_tick = p->first_tick };
	const struct fs_control_status st = {
		.state = ended ? FS_RUN_ENDED : p->paused || p->at_end ? FS_RUN_PAUSED : FS_RUN_RUNNING,
		.tick = p->tick,
		.duration_ticks = p->end_tick,
		.sim_time_ms = p->pos_ms,
		.speed = p->speed,
		.sim_real_ratio = p->paused || p->at_end ? 0 : p->ratio,
		.conductor_stats = { .bus = *fs_bus_get_stats(p->bus) },
		.playback = &pb,
	};
	fs_bus_set_clock(p->bus, p->tick, p->pos_ms);
	Fleetsim__V1__Envelope *env = fs_control_msg_encode_status(&p->ctl_out, &st);
	if (!env || fs_bus_publish(p->bus, NULL, env) < 0) {
		fs_warn("cannot publish the playback's status");
	}
}

static void describe_position(const struct player *p, char *buf, size_t size)
{
	char when[32];
	fs_calendar_format(p->pos_ms, when, sizeof(when));
	snprintf(buf, size, "tick %" PRIu64 ", %s", p->tick, when);
}

static bool handle_command(struct player *p, const struct fs_control_command *cmd, char *reason, size_t size)
{
	char where[64];
	switch (cmd->kind) {
	case FS_COMMAND_PAUSE:
		p->paused = true;
		p->step_to = 0;
		describe_position(p, where, sizeof(where));
		snprintf(reason, size, "playback paused at %s", where);
		return true;
	case FS_COMMAND_RESUME:
	case FS_COMMAND_STEP:
		if (p->at_end) {
			snprintf(reason, size, "at the end of the recording: seek back first (fleetctl seek)");
			return false;
		}
		p->paused = false;
		p->step_to = cmd->kind == FS_COMMAND_STEP
				     ? p->tick + (cmd->steps ? cmd->steps : 1)
				     : 0;
		reanchor(p);
		describe_position(p, where, sizeof(where));
		if (p->step_to) {
			snprintf(reason, size, "playing %" PRIu64 " tick(s) from %s", p->step_to - p->tick, where);
		} else {
			snprintf(reason, size, "playing from %s", where);
		}
		return true;
	case FS_COMMAND_SPEED: /* finite and >= 0: the codec refuses others */
		p->speed = cmd->speed;
		reanchor(p);
		if (p->speed > 0) {
			snprintf(reason, size, "playback at %gx real time", p->speed);
		} else {
			snprintf(reason, size, "playback as fast as possible");
		}
		return true;
	case FS_COMMAND_STOP:
		p->stop = true;
		snprintf(reason, size, "playback stopping");
		return true;
	case FS_COMMAND_SEEK:
		seek(p, cmd->sim_time_ms);
		describe_position(p, where, sizeof(where));
		snprintf(reason, size, "playback at %s%s", where, p->at_end ? " (the end)" : "");
		return true;
	default:
		snprintf(reason, size, "unknown command kind %d", (int)cmd->kind);
		return false;
	}
}

static void answer(struct player *p, const struct fs_bus_message *msg)
{
	char reason[160];
	const char *refused = fs_control_msg_decode(msg->env, &p->ctl_in);
	bool ok = false;
	if (refused) {
		fs_bus_reject(p->bus, msg, refused);
		snprintf(reason, sizeof(reason), "%s", refused); /* its sender waits for an answer */
	} else {
		ok = handle_command(p, &p->ctl_in.command, reason, sizeof(reason));
		fs_info("%s from %s: %s", ok ? "command" : "refused command", msg->env->sender, reason);
	}
	const struct fs_control_command_ack ack = { .command_id = p->ctl_in.command.command_id,
						    .requester = msg->env->sender, .reason = reason, .accepted = ok };
	fs_bus_set_clock(p->bus, p->tick, p->pos_ms);
	if (fs_bus_publish(p->bus, NULL, fs_control_msg_encode_command_ack(&p->ctl_out, &ack)) < 0) {
		fs_warn("cannot answer %s", msg->env->sender);
	}
	publish_status(p, false); /* observers see the change at once */
}

/* How long the loop may wait for commands before it has something to do. */
static int wait_ms(const struct player *p)
{
	int64_t now = fs_clock_now_us();
	int64_t until = p->status_us + STATUS_EVERY_MS * 1000;
	if (p->paused || p->at_end) {
		int64_t repeat = p->repeat_us + REPEAT_EVERY_MS * 1000;
		until = repeat < until ? repeat : until;
	} else if (p->speed <= 0) {
		return 0;
	} else if (p->have_next) {
		int64_t due = p->anchor_us + (int64_t)((double)(log_ms(&p->next) - p->anchor_ms) * 1000.0 / p->speed);
		until = due < until ? due : until;
	}
	int64_t ms = (until - now + 999) / 1000;
	return ms < 0 ? 0 : ms > 100 ? 100 : (int)ms;
}

/* One turn of the loop. Returns 0, 1 when the playback is over, or -errno. */
static int turn(struct player *p)
{
	int rc = advance(p);
	if (rc < 0) {
		return rc;
	}
	if (p->at_end && !p->paused) {
		if (p->o->loop) {
			seek(p, p->o->from_offset ? p->start_ms + p->o->from_ms
						  : p->o->from_ms > p->start_ms ? p->o->from_ms : p->start_ms);
		} else if (p->o->hold) {
			p->paused = true; /* stays on the last picture: seek back, or stop */
		} else {
			return 1;
		}
	}
	int64_t now = fs_clock_now_us();
	if (now - p->status_us >= STATUS_EVERY_MS * 1000) {
		publish_status(p, false);
	}
	if ((p->paused || p->at_end) && now - p->repeat_us >= REPEAT_EVERY_MS * 1000) {
		publish_keyframes(p); /* an observer attaching now sees the fleet, as with a paused run */
		p->repeat_us = now;
	}
	struct fs_bus_message *msg = NULL;
	rc = fs_bus_recv(p->bus, &msg, wait_ms(p));
	if (rc == 0) {
		if (fs_control_msg_kind(msg->env) == FS_CONTROL_COMMAND) {
			answer(p, msg);
		}
		fs_bus_message_free(msg);
	} else if (rc != -EAGAIN && rc != -EINTR) {
		return rc;
	}
	return p->stop ? 1 : 0;
}

static void player_finish(struct player *p)
{
	fs_vehicle_records_finish(&p->decoded);
	fs_vehicle_msg_finish(&p->enc);
	fs_control_msg_finish(&p->ctl_out);
	fs_control_in_finish(&p->ctl_in);
	free(p->out);
	free(p->veh);
	for (size_t i = 0; i < p->n_kf; i++) {
		free(p->kf[i].ms);
	}
	free(p->kf);
}

int rec_play(const struct rec_play_options *o, volatile sig_atomic_t *stop)
{
	struct player *p = fs_xcalloc(1, sizeof(*p));
	p->o = o;
	p->speed = o->speed;
	int status = 1;
	struct fs_error err = { "" };
	p->r = fs_mcap_reader_open(o->path, &err);
	if (!p->r) {
		fs_error("%s", err.message);
		goto out;
	}
	if (scan(p) < 0) {
		goto out;
	}
	struct fs_bus_options bo = { .address = o->address, .name = REC_PLAY_SENDER, .mode = FS_BUS_OBSERVER };
	p->bus = fs_bus_connect(&bo);
	if (!p->bus) {
		goto out;
	}
	fs_bus_subscribe(p->bus, "ctl.cmd");
	if (fs_bus_handshake(p->bus, 10000) < 0) { /* what is published before the broker has us is lost */
		fs_error("the broker on %s does not answer", o->address);
		goto out;
	}
	p->pos_ms = p->start_ms;
	read_next(p);
	int64_t from = o->from_offset ? p->start_ms + o->from_ms : o->from_ms;
	if (from > p->start_ms) {
		seek(p, from);
	}
	p->paused = o->paused;
	reanchor(p);
	char when[32], pace[48];
	fs_calendar_format(p->pos_ms, when, sizeof(when));
	if (p->speed > 0) {
		snprintf(pace, sizeof(pace), "at %gx real time", p->speed);
	} else {
		snprintf(pace, sizeof(pace), "as fast as possible");
	}
	fs_info("playing %s onto %s from %s, %s%s", o->path, o->address, when, pace, o->paused ? " (paused)" : "");
	int64_t wall0 = fs_clock_now_us();
	int rc = 0;
	while (!*stop && (rc = turn(p)) == 0) {
	}
	publish_status(p, true);
	if (rc < 0) {
		goto out;
	}
	double secs = (double)(fs_clock_now_us() - wall0) / 1e6;
	printf("played %" PRIu64 " messages (%.1f MB) in %.1f s\n", p->sent, (double)p->bytes / 1e6, secs);
	if (p->refused) {
		fs_warn("%" PRIu64 " vehicle batch(es) the vehicle codec refused: played, not in the rebuilt state",
			p->refused);
	}
	status = 0;
out:
	fs_bus_close(p->bus);
	fs_mcap_reader_close(p->r);
	player_finish(p);
	free(p);
	return status;
}
