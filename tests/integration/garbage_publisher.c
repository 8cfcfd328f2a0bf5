/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-garbage-publisher - publishes bad input on a running bus for
 * test_bad_input.sh (never started by `fleetsim run`).
 *
 * It attaches like any client (PUB to the broker's pub endpoint, an observer
 * SUB on watch), proves the path with the hello echo, then sends rounds of
 * bad messages until the conductor's End goes by:
 *   framing   one frame, three and five frames, empty / non-printable /
 *             overlong topics
 *   bytes     random bytes on every topic the services subscribe to, empty
 *             bodies, truncated valid envelopes
 *   meaning   valid envelopes whose payload is not the topic's, schema
 *             version 2, unknown topics that prefix-match a subscription,
 *             senders with control bytes or longer than a client name,
 *             a payload field number this build does not know, a Tick and
 *             an End from a sender that is not "conductor", TickDone for a
 *             wrong tick under participants' names
 *   size      (first round) valid envelopes padded past a size limit
 *   stream    (first round, --raw) plain stream connections writing junk
 *             to every ipc endpoint; a subscriber sending huge and many
 *             subscriptions to the broker's output endpoints
 * Everything that is valid protobuf is built so that a service which failed
 * to drop it would apply it and change the run digest: a schema-2 End from
 * "conductor", a schema-2 vehicle-event batch, an oversize one, ... So the
 * test's digest comparison is what proves each check, not only the counters.
 * Random bodies that happen to decode into something a client would accept
 * are regenerated (checked with the same rules as fs_bus).
 *
 * Prints one line of key=value figures on stdout when done.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include "fs/rng.h"
#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_control.h"
#include "fs_log.h"
#include "fs_topic.h"
#include "pb_wire.h"

#define MAX_SPOOF 64
#define MAX_OVERSIZE 8
#define HANDSHAKE_MS 20000

struct oversize {
	char topic[FS_TOPIC_MAX];
	size_t bytes;
};

struct garbage {
	void *ctx, *pub, *watch;
	char name[64];
	char address[FS_BUS_ADDRESS_MAX];
	struct fs_rng rng;
	uint64_t seq;
	char *spoof[MAX_SPOOF];
	size_t nspoof;
	struct oversize oversize[MAX_OVERSIZE];
	size_t noversize;
	bool raw;
	bool control;          /* also feed the conductor's control socket */
	/* what the watch saw */
	bool saw_tick, saw_end;
	uint64_t first_tick, last_tick;
	/* what we sent */
	uint64_t messages, bytes, regenerated;
	uint64_t control_datagrams, control_connections;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Topics some service subscribes to (participants, conductor, launcher, fleetctl). */
static const char *const victim_topics[] = {
	"ctl.tick", "ctl.end", "ctl.done", "ctl.ready", "ctl.bye", "ctl.heartbeat", "ctl.cmd", "ctl.status",
	"ctl.ack", "veh.state", "veh.event", "ride.job", "ride.request", "prod.delivery", "kpi/broker",
	"scn.cmd",
};
#define N_VICTIMS (sizeof(victim_topics) / sizeof(victim_topics[0]))

static void send_frames(struct garbage *g, const void *const *data, const size_t *len, int n)
{
	for (int i = 0; i < n; i++) {
		int rc;
		do {
			rc = zmq_send(g->pub, data[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0);
		} while (rc < 0 && errno == EINTR);
		if (rc < 0) {
			fs_error("send failed: %s", zmq_strerror(errno));
			exit(1);
		}
		g->bytes += len[i];
	}
	g->messages++;
}

static void send2(struct garbage *g, const char *topic, size_t topic_len, const void *body, size_t body_len)
{
	const void *data[2] = { topic, body };
	size_t len[2] = { topic_len, body_len };
	send_frames(g, data, len, 2);
}

/* Packs @env (caller's payload set) with the given header; caller frees. */
static uint8_t *pack(const Fleetsim__V1__Envelope *env, size_t *ret_len)
{
	size_t n = fleetsim__v1__envelope__get_packed_size(env);
	uint8_t *buf = fs_xcalloc(1, n ? n : 1);
	fleetsim__v1__envelope__pack(env, buf);
	*ret_len = n;
	return buf;
}

static void header(struct garbage *g, Fleetsim__V1__Envelope *env, const char *sender, uint32_t schema)
{
	env->schema_version = schema;
	env->sender = (char *)sender;
	env->seq = ++g->seq;
	env->topic_seq = 0; /* 0: never mistaken for a step in a real sender's sequence */
	env->tick = g->last_tick;
}

/* The payload shapes used below, each with content a receiver would act on. */
enum shape { SHAPE_EVENTS, SHAPE_TICK, SHAPE_DONE, SHAPE_END, SHAPE_HELLO, SHAPE_JOBS };

static uint8_t *make(struct garbage *g, enum shape shape, const char *sender, uint32_t schema, uint64_t tick,
		     size_t *ret_len)
{
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	Fleetsim__V1__VehicleEvent ev[16], *evp[16];
	Fleetsim__V1__VehicleEventBatch events = FLEETSIM__V1__VEHICLE_EVENT_BATCH__INIT;
	Fleetsim__V1__Tick t = FLEETSIM__V1__TICK__INIT;
	Fleetsim__V1__TickDone done = FLEETSIM__V1__TICK_DONE__INIT;
	Fleetsim__V1__End end = FLEETSIM__V1__END__INIT;
	Fleetsim__V1__Hello hello = FLEETSIM__V1__HELLO__INIT;
	Fleetsim__V1__Stop st = FLEETSIM__V1__STOP__INIT, *stp = &st;
	Fleetsim__V1__Job job = FLEETSIM__V1__JOB__INIT, *jobp = &job;
	Fleetsim__V1__JobBatch jobs = FLEETSIM__V1__JOB_BATCH__INIT;
	header(g, &env, sender, schema);
	switch (shape) {
	case SHAPE_EVENTS:
		for (int i = 0; i < 16; i++) {
			fleetsim__v1__vehicle_event__init(&ev[i]);
			ev[i].vehicle_id = (uint32_t)fs_rng_below(&g->rng, 1000);
			ev[i].kind = FLEETSIM__V1__VEHICLE_EVENT_KIND__VEHICLE_EVENT_KIND_STATE_CHANGED;
			ev[i].value = fs_rng_uniform(&g->rng);
			evp[i] = &ev[i];
		}
		events.n_events = 16;
		events.events = evp;
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_EVENTS;
		env.vehicle_events = &events;
		break;
	case SHAPE_TICK:
		t.tick = tick;
		t.sim_time_ms = env.sim_time_ms;
		t.tick_ms = 1000;
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_START;
		env.tick_start = &t;
		break;
	case SHAPE_DONE:
		done.tick = tick;
		done.state_hash = fs_rng_next(&g->rng);
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_DONE;
		env.tick_done = &done;
		break;
	case SHAPE_END:
		end.ticks = tick;
		end.reason = (char *)"garbage";
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_END;
		env.end = &end;
		break;
	case SHAPE_HELLO:
		hello.nonce = fs_rng_next(&g->rng);
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_HELLO;
		env.hello = &hello;
		break;
	case SHAPE_JOBS:
		st.kind = FLEETSIM__V1__STOP_KIND__STOP_KIND_REPOSITION;
		job.job_id = fs_rng_next(&g->rng);
		job.vehicle_id = (uint32_t)fs_rng_below(&g->rng, 1000);
		job.n_stops = 1;
		job.stops = &stp;
		jobs.n_jobs = 1;
		jobs.jobs = &jobp;
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_JOBS;
		env.jobs = &jobs;
		break;
	}
	return pack(&env, ret_len);
}

/* Would an fs_bus client accept these frames as a valid message (fs_bus.c rules)? */
static bool acceptable(const char *topic, size_t topic_len, const uint8_t *body, size_t len)
{
	if (!fs_topic_valid(topic, topic_len)) {
		return false;
	}
	const struct fs_topic_info *info = fs_topic_lookup(topic, topic_len);
	Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, len, body);
	if (!env) {
		return false;
	}
	bool ok = info && env->sender && *env->sender && env->schema_version == FS_BUS_SCHEMA_VERSION &&
		  env->payload_case == info->payload;
	fleetsim__v1__envelope__free_unpacked(env, NULL);
	return ok;
}

static void random_bytes(struct garbage *g, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)fs_rng_next(&g->rng);
	}
}

/*
 * A valid envelope for @topic's payload type whose payload carries @pad bytes
 * in an unknown field (protobuf keeps those): valid protobuf of any size.
 */
static uint8_t *make_padded(struct garbage *g, const struct fs_topic_info *info, size_t pad, size_t *ret_len)
{
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	header(g, &env, "garbage", FS_BUS_SCHEMA_VERSION);
	size_t head_len;
	uint8_t *head = pack(&env, &head_len); /* no payload yet */
	uint8_t inner_head[16];
	size_t inner_head_len = pb_wire_varint(inner_head, (1000u << 3) | 2); /* field 1000, length-delimited */
	inner_head_len += pb_wire_varint(inner_head + inner_head_len, pad);
	size_t inner_len = inner_head_len + pad;
	uint8_t outer_head[16];
	size_t outer_head_len = pb_wire_varint(outer_head, ((uint64_t)info->payload << 3) | 2);
	outer_head_len += pb_wire_varint(outer_head + outer_head_len, inner_len);
	size_t total = head_len + outer_head_len + inner_len;
	uint8_t *buf = malloc(total);
	if (!buf) {
		fs_error("out of memory for a %zu-byte message", total);
		exit(1);
	}
	uint8_t *p = buf;
	memcpy(p, head, head_len);
	p += head_len;
	memcpy(p, outer_head, outer_head_len);
	p += outer_head_len;
	memcpy(p, inner_head, inner_head_len);
	p += inner_head_len;
	memset(p, 'x', pad);
	free(head);
	*ret_len = total;
	return buf;
}

static void send_random_bodies(struct garbage *g)
{
	uint8_t buf[600];
	for (size_t t = 0; t < N_VICTIMS; t++) {
		const char *topic = victim_topics[t];
		size_t len = (size_t)fs_rng_below(&g->rng, sizeof(buf));
		random_bytes(g, buf, len);
		for (int tries = 0; tries < 16 && acceptable(topic, strlen(topic), buf, len); tries++) {
			g->regenerated++;
			random_bytes(g, buf, len);
		}
		if (!acceptable(topic, strlen(topic), buf, len)) {
			send2(g, topic, strlen(topic), buf, len);
		}
	}
	/* An empty body decodes as an envelope with every field at its default. */
	send2(g, "ctl.tick", 8, "", 0);
	send2(g, "veh.event", 9, "", 0);
}

static void send_truncated(struct garbage *g)
{
	static const struct {
		const char *topic;
		enum shape shape;
	} cases[] = {
		{ "veh.event", SHAPE_EVENTS }, { "ctl.tick", SHAPE_TICK }, { "ride.job", SHAPE_JOBS },
		{ "ctl.done", SHAPE_DONE },    { "ctl.end", SHAPE_END },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		uint8_t *body = make(g, cases[i].shape, "conductor", FS_BUS_SCHEMA_VERSION, g->last_tick + 1, &len);
		size_t cut = 1 + (size_t)fs_rng_below(&g->rng, len - 1);
		if (acceptable(cases[i].topic, strlen(cases[i].topic), body, cut)) {
			g->regenerated++; /* cannot happen: the payload is the last field */
		} else {
			send2(g, cases[i].topic, strlen(cases[i].topic), body, cut);
		}
		free(body);
	}
}

static void send_framing(struct garbage *g)
{
	size_t len;
	uint8_t *body = make(g, SHAPE_EVENTS, "garbage", FS_BUS_SCHEMA_VERSION, 0, &len);
	uint8_t junk[64];
	random_bytes(g, junk, sizeof(junk));
	/* one frame */
	send_frames(g, (const void *[]){ "veh.event" }, (size_t[]){ 9 }, 1);
	send_frames(g, (const void *[]){ body }, (size_t[]){ len }, 1);
	send_frames(g, (const void *[]){ junk }, (size_t[]){ sizeof(junk) }, 1);
	/* three and five frames around a valid envelope */
	send_frames(g, (const void *[]){ "veh.event", body, junk }, (size_t[]){ 9, len, sizeof(junk) }, 3);
	send_frames(g, (const void *[]){ "veh.event", body, "", body, "veh.event" },
		    (size_t[]){ 9, len, 0, len, 9 }, 5);
	/* topics that are not printable ASCII of 1-127 bytes */
	static const char *const bad_topics[] = { "veh.ev\x01nt", "veh.event ", "veh.event\n", "\xff\xfe", "\x1b[2J" };
	for (size_t i = 0; i < sizeof(bad_topics) / sizeof(bad_topics[0]); i++) {
		send2(g, bad_topics[i], strlen(bad_topics[i]), body, len);
	}
	send2(g, "", 0, body, len);
	send2(g, "veh.event\0x", 11, body, len);
	char long_topic[200];
	memcpy(long_topic, "veh.event/", 10);
	memset(long_topic + 10, 'v', sizeof(long_topic) - 10);
	send2(g, long_topic, sizeof(long_topic), body, len);
	free(body);
}

static void send_meaning(struct garbage *g)
{
	size_t len;
	uint8_t *b;
	uint64_t next = g->saw_tick ? g->last_tick + 1 : 0;
	/* payload is not the topic's */
	static const struct {
		const char *topic;
		enum shape shape;
	} mismatch[] = {
		{ "ctl.tick", SHAPE_EVENTS }, { "veh.event", SHAPE_TICK }, { "ride.job", SHAPE_DONE },
		{ "ctl.end", SHAPE_HELLO },   { "ctl.done", SHAPE_END },   { "prod.delivery", SHAPE_EVENTS },
		{ "ctl.tick", SHAPE_END },    { "ctl.end", SHAPE_TICK },
	};
	for (size_t i = 0; i < sizeof(mismatch) / sizeof(mismatch[0]); i++) {
		b = make(g, mismatch[i].shape, "conductor", FS_BUS_SCHEMA_VERSION, next, &len);
		send2(g, mismatch[i].topic, strlen(mismatch[i].topic), b, len);
		free(b);
	}
	/* schema version 2: each would be acted on if the version check were missing */
	b = make(g, SHAPE_EVENTS, "garbage", 2, 0, &len);
	send2(g, "veh.event", 9, b, len);
	free(b);
	b = make(g, SHAPE_TICK, "conductor", 2, next, &len);
	send2(g, "ctl.tick", 8, b, len);
	free(b);
	b = make(g, SHAPE_END, "conductor", 2, next, &len);
	send2(g, "ctl.end", 7, b, len);
	free(b);
	b = make(g, SHAPE_JOBS, "garbage", 2, 0, &len);
	send2(g, "ride.job", 8, b, len);
	free(b);
	b = make(g, SHAPE_EVENTS, "garbage", 2, 0, &len); /* the version is checked before the payload */
	send2(g, "scn.cmd", 7, b, len);
	free(b);
	/* unknown topics that prefix-match subscriptions ("veh.event", "ctl.tick") */
	b = make(g, SHAPE_EVENTS, "garbage", FS_BUS_SCHEMA_VERSION, 0, &len);
	send2(g, "veh.eventx", 10, b, len);
	free(b);
	b = make(g, SHAPE_TICK, "conductor", FS_BUS_SCHEMA_VERSION, next, &len);
	send2(g, "ctl.tickle", 10, b, len);
	free(b);
	/* a payload field number this build does not know (a future schema's) */
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	header(g, &env, "conductor", FS_BUS_SCHEMA_VERSION);
	uint8_t *head = pack(&env, &len);
	uint8_t future[300];
	memcpy(future, head, len);
	free(head);
	size_t n = len + pb_wire_varint(future + len, (99u << 3) | 2);
	future[n++] = 0;
	send2(g, "ctl.tick", 8, future, n);
	send2(g, "veh.event", 9, future, n);
	send2(g, "ride.job", 8, future, n);
	/* lockstep control from someone who is not the conductor */
	b = make(g, SHAPE_TICK, "garbage", FS_BUS_SCHEMA_VERSION, next, &len);
	send2(g, "ctl.tick", 8, b, len);
	free(b);
	b = make(g, SHAPE_END, "garbage", FS_BUS_SCHEMA_VERSION, next, &len);
	send2(g, "ctl.end", 7, b, len);
	free(b);
	/* senders no participant can have: terminal escapes, control bytes, too long */
	static const char *const bad_senders[] = { "\x1b[2J\x1b]0;pwned\a", "con\nductor", "garbage\x7f" };
	for (size_t i = 0; i < sizeof(bad_senders) / sizeof(bad_senders[0]); i++) {
		b = make(g, SHAPE_TICK, bad_senders[i], FS_BUS_SCHEMA_VERSION, next, &len);
		send2(g, "ctl.tick", 8, b, len);
		free(b);
		b = make(g, SHAPE_EVENTS, bad_senders[i], 2, next, &len);
		send2(g, "veh.event", 9, b, len);
		free(b);
	}
	char long_sender[300];
	memset(long_sender, 's', sizeof(long_sender) - 1);
	long_sender[sizeof(long_sender) - 1] = '\0';
	b = make(g, SHAPE_EVENTS, long_sender, FS_BUS_SCHEMA_VERSION, 0, &len);
	send2(g, "veh.event", 9, b, len);
	free(b);
	/* TickDone for a tick that is not running, under each participant's name */
	for (size_t i = 0; i < g->nspoof; i++) {
		b = make(g, SHAPE_DONE, g->spoof[i], FS_BUS_SCHEMA_VERSION, (uint64_t)1 << 40, &len);
		send2(g, "ctl.done", 8, b, len);
		free(b);
	}
	/* and for the current tick from a sender that is not a participant */
	b = make(g, SHAPE_DONE, "garbage", FS_BUS_SCHEMA_VERSION, g->last_tick, &len);
	send2(g, "ctl.done", 8, b, len);
	free(b);
}

static void free_buffer(void *data, void *hint)
{
	(void)hint;
	free(data);
}

static void send_oversize(struct garbage *g)
{
	for (size_t i = 0; i < g->noversize; i++) {
		const struct oversize *o = &g->oversize[i];
		const struct fs_topic_info *info = fs_topic_lookup(o->topic, strlen(o->topic));
		size_t len;
		uint8_t *b = make_padded(g, info, o->bytes, &len);
		zmq_msg_t body;
		/* Hand the buffer to ZeroMQ rather than copying tens of MiB. */
		zmq_msg_init_data(&body, b, len, free_buffer, NULL);
		zmq_send(g->pub, o->topic, strlen(o->topic), ZMQ_SNDMORE);
		if (zmq_msg_send(&body, g->pub, 0) < 0) {
			zmq_msg_close(&body);
		}
		g->messages++;
		g->bytes += strlen(o->topic) + len;
	}
}

static int unix_connect(const char *endpoint)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t path_len = strlen(endpoint + 6);
	if (strncmp(endpoint, "ipc://", 6) || path_len >= sizeof(sa.sun_path)) {
		return -1;
	}
	memcpy(sa.sun_path, endpoint + 6, path_len + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0) {
			return; /* the broker hung up on us: what it should do */
		}
		p += n;
		len -= (size_t)n;
	}
}

/* A ZMTP 3.0 frame header: short (1-byte size) or long (8-byte size). */
static size_t zmtp_frame_header(uint8_t *p, uint8_t flags, uint64_t size)
{
	if (size < 256) {
		p[0] = flags;
		p[1] = (uint8_t)size;
		return 2;
	}
	p[0] = flags | 0x02;
	for (int i = 0; i < 8; i++) {
		p[1 + i] = (uint8_t)(size >> (56 - 8 * i));
	}
	return 9;
}

/* Connect with plain ZMTP 3.0 (NULL mechanism) as an XSUB: no libzmq on our side. */
static int zmtp_connect_xsub(const char *endpoint)
{
	int fd = unix_connect(endpoint);
	if (fd < 0) {
		return -1;
	}
	uint8_t greeting[64] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L' };
	write_all(fd, greeting, sizeof(greeting));
	static const char ready[] = "\x05READY\x0bSocket-Type\0\0\0\x04XSUB";
	uint8_t head[9];
	size_t n = zmtp_frame_header(head, 0x04, sizeof(ready) - 1); /* a command */
	write_all(fd, head, n);
	write_all(fd, ready, sizeof(ready) - 1);
	return fd;
}

/*
 * A subscriber speaking ZMTP by hand to the broker's output endpoints: a
 * 2 MiB subscription, many random ones, a 2 MiB non-subscription message
 * (XPUB hands those to the broker), and a frame that announces 2^40 bytes.
 * Subscribers may send only subscriptions of a topic's length: the broker
 * must neither die nor keep what it cannot use.
 */
static void send_subscriber_junk(struct garbage *g)
{
	if (strncmp(g->address, "ipc://", 6)) {
		return;
	}
	for (int w = FS_BUS_EP_SUB; w <= FS_BUS_EP_TAP; w++) {
		char endpoint[FS_BUS_ADDRESS_MAX];
		fs_bus_endpoint(g->address, (enum fs_bus_endpoint)w, endpoint, sizeof(endpoint));
		int fd = zmtp_connect_xsub(endpoint);
		if (fd < 0) {
			continue;
		}
		uint8_t head[9], sub[121];
		for (int i = 0; i < 200; i++) {
			sub[0] = 1; /* subscribe */
			random_bytes(g, sub + 1, sizeof(sub) - 1);
			write_all(fd, head, zmtp_frame_header(head, 0, sizeof(sub)));
			write_all(fd, sub, sizeof(sub));
		}
		size_t big = (size_t)2 << 20;
		uint8_t *buf = malloc(big);
		if (buf) {
			memset(buf, 'x', big);
			buf[0] = 1; /* a 2 MiB subscription */
			write_all(fd, head, zmtp_frame_header(head, 0, big));
			write_all(fd, buf, big);
			buf[0] = 7; /* not a subscription */
			write_all(fd, head, zmtp_frame_header(head, 0, big));
			write_all(fd, buf, big);
			free(buf);
		}
		write_all(fd, head, zmtp_frame_header(head, 0, (uint64_t)1 << 40));
		write_all(fd, "\x01", 1);
		close(fd);
	}
	/* The same announcement to the publishers' endpoint, as a PUB would send it. */
	char endpoint[FS_BUS_ADDRESS_MAX];
	fs_bus_endpoint(g->address, FS_BUS_EP_PUB, endpoint, sizeof(endpoint));
	int fd = unix_connect(endpoint);
	if (fd >= 0) {
		uint8_t greeting[64] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L' };
		static const char ready[] = "\x05READY\x0bSocket-Type\0\0\0\x03PUB";
		uint8_t head[9];
		write_all(fd, greeting, sizeof(greeting));
		write_all(fd, head, zmtp_frame_header(head, 0x04, sizeof(ready) - 1));
		write_all(fd, ready, sizeof(ready) - 1);
		write_all(fd, head, zmtp_frame_header(head, 0, (uint64_t)1 << 40));
		write_all(fd, "x", 1);
		close(fd);
	}
}

/* Plain stream connections that write junk where ZeroMQ expects its protocol. */
static void send_raw(struct garbage *g)
{
	if (strncmp(g->address, "ipc://", 6)) {
		return;
	}
	for (int w = 0; w < FS_BUS_EP_COUNT; w++) {
		char endpoint[FS_BUS_ADDRESS_MAX];
		fs_bus_endpoint(g->address, (enum fs_bus_endpoint)w, endpoint, sizeof(endpoint));
		for (int variant = 0; variant < 3; variant++) {
			int fd = unix_connect(endpoint);
			if (fd < 0) {
				continue;
			}
			uint8_t buf[4096];
			random_bytes(g, buf, sizeof(buf));
			size_t len = sizeof(buf);
			if (variant == 1) {
				/* a ZMTP 3.0 greeting, then junk where the handshake belongs */
				static const uint8_t greeting[] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L' };
				memset(buf, 0, 64);
				memcpy(buf, greeting, sizeof(greeting));
			} else if (variant == 2) {
				len = 3; /* a connection that says almost nothing and leaves */
			}
			write_all(fd, buf, len);
			close(fd);
		}
	}
}

/* Read what the watch has: the conductor's ticks and End, our hello. Returns true on our hello. */
static bool read_watch(struct garbage *g, int wait_ms)
{
	bool hello = false;
	zmq_pollitem_t item = { .socket = g->watch, .events = ZMQ_POLLIN };
	if (zmq_poll(&item, 1, wait_ms) <= 0) {
		return false;
	}
	for (;;) {
		zmq_msg_t f[2];
		zmq_msg_init(&f[0]);
		zmq_msg_init(&f[1]);
		int n = 0;
		bool more = true;
		while (more) {
			zmq_msg_t *m = &f[n < 2 ? n : 1];
			if (n >= 2) {
				zmq_msg_close(m);
				zmq_msg_init(m);
			}
			if (zmq_msg_recv(m, g->watch, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&f[0]);
				zmq_msg_close(&f[1]);
				return hello;
			}
			more = zmq_msg_more(m);
			n++;
		}
		const char *topic = zmq_msg_data(&f[0]);
		size_t topic_len = zmq_msg_size(&f[0]);
		if (n == 2 && acceptable(topic, topic_len, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]))) {
			Fleetsim__V1__Envelope *env =
				fleetsim__v1__envelope__unpack(NULL, zmq_msg_size(&f[1]), zmq_msg_data(&f[1]));
			if (!strcmp(env->sender, g->name) && env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_HELLO) {
				hello = true;
			} else if (!strcmp(env->sender, "conductor")) {
				if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_START) {
					if (!g->saw_tick) {
						g->first_tick = env->tick_start->tick;
					}
					g->saw_tick = true;
					g->last_tick = env->tick_start->tick;
				} else if (env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_END) {
					g->saw_end = true;
				}
			}
			fleetsim__v1__envelope__free_unpacked(env, NULL);
		}
		zmq_msg_close(&f[0]);
		zmq_msg_close(&f[1]);
	}
}

static int handshake(struct garbage *g)
{
	char topic[FS_TOPIC_MAX];
	snprintf(topic, sizeof(topic), "ctl.hello/%s", g->name);
	zmq_setsockopt(g->watch, ZMQ_SUBSCRIBE, topic, strlen(topic));
	int64_t deadline = fs_clock_now_ms() + HANDSHAKE_MS;
	while (!stop && fs_clock_now_ms() < deadline) {
		size_t len;
		uint8_t *b = make(g, SHAPE_HELLO, g->name, FS_BUS_SCHEMA_VERSION, 0, &len);
		send2(g, topic, strlen(topic), b, len);
		free(b);
		if (read_watch(g, 50)) {
			return 0;
		}
	}
	return -ETIMEDOUT;
}

/* One datagram on a control connection; the conductor may already have hung up, which is fine. */
static void control_send(struct garbage *g, int fd, const void *data, size_t len)
{
	if (send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) {
		g->control_datagrams++;
	}
}

static void control_send_framed(struct garbage *g, int fd, const char *topic, const uint8_t *body, size_t len)
{
	size_t topic_len = strlen(topic);
	uint8_t *d = malloc(topic_len + 1 + len);
	if (!d) {
		return;
	}
	memcpy(d, topic, topic_len + 1);
	memcpy(d + topic_len + 1, body, len);
	control_send(g, fd, d, topic_len + 1 + len);
	free(d);
}

/* A Ready for @name claiming process @pid, as the conductor's control socket expects first. */
static uint8_t *make_ready(struct garbage *g, const char *name, uint32_t pid, size_t *ret_len)
{
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	Fleetsim__V1__Ready ready = FLEETSIM__V1__READY__INIT;
	header(g, &env, name, FS_BUS_SCHEMA_VERSION);
	ready.participant = (char *)name;
	ready.role = (char *)"vehicle";
	ready.pid = pid;
	ready.control_socket = true;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_READY;
	env.ready = &ready;
	return pack(&env, ret_len);
}

/*
 * The conductor's control socket (DIR/ctl): junk datagrams, truncated
 * envelopes, a connection that does not begin with Ready, Readies for
 * strangers, for participants under a pid that is not the sender's, and
 * (once ticks run) under our own pid, too late to join. Each must be counted
 * and refused without disturbing the participants' own connections.
 */
static void send_control_junk(struct garbage *g)
{
	int fd = fs_control_connect(g->address);
	if (fd < 0) {
		return; /* no control socket (yet): --control=bus, or not started */
	}
	g->control_connections++;
	uint8_t junk[256];
	size_t n = 1 + (size_t)fs_rng_below(&g->rng, sizeof(junk));
	random_bytes(g, junk, n);
	for (size_t i = 0; i < n; i++) {
		junk[i] |= 1; /* no NUL: no topic/envelope boundary */
	}
	control_send(g, fd, junk, n);
	size_t len;
	uint8_t *b = make(g, SHAPE_DONE, "garbage", FS_BUS_SCHEMA_VERSION, g->last_tick, &len);
	control_send_framed(g, fd, "ctl.done", b, len / 2);   /* truncated */
	control_send_framed(g, fd, "ctl.tick", b, len);       /* payload is not the topic's */
	control_send_framed(g, fd, "veh.eventx", b, len);     /* unknown topic */
	control_send_framed(g, fd, "ctl.done", b, len);       /* valid, but not a Ready first: hung up */
	free(b);
	close(fd);

	const char *names[] = { "garbage", g->nspoof ? g->spoof[fs_rng_below(&g->rng, g->nspoof)] : "vehicle-0" };
	for (size_t i = 0; i < 2; i++) {
		/* a stranger, then a participant's name under a pid that is not ours */
		if ((fd = fs_control_connect(g->address)) < 0) {
			return;
		}
		g->control_connections++;
		b = make_ready(g, names[i], i == 0 ? (uint32_t)getpid() : 1, &len);
		control_send_framed(g, fd, "ctl.ready", b, len);
		free(b);
		close(fd);
	}
	if (g->saw_tick && g->nspoof) {
		/* our own pid, a participant's name: only refused because the run started */
		if ((fd = fs_control_connect(g->address)) < 0) {
			return;
		}
		g->control_connections++;
		b = make_ready(g, names[1], (uint32_t)getpid(), &len);
		control_send_framed(g, fd, "ctl.ready", b, len);
		free(b);
		close(fd);
	}
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: fs-garbage-publisher --bus ADDR [--seed N] [--spoof NAME,...]\n"
		     "         [--oversize TOPIC:BYTES,...] [--interval-ms N] [--max-rounds N] [--raw] [--control]\n"
		     "         [--ready-file PATH]\n"
		     "Publish rounds of bad messages until the conductor's End passes (or --max-rounds).\n"
		     "--ready-file: create PATH once the first round is out (a test then resumes its paused\n"
		     "run, so the garbage lands during ticks however busy the machine is).\n");
}

static int parse_list(char *list, struct garbage *g, bool oversize)
{
	char *save = NULL;
	for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (!oversize) {
			if (g->nspoof == MAX_SPOOF) {
				return -EINVAL;
			}
			g->spoof[g->nspoof++] = item;
			continue;
		}
		char *colon = strrchr(item, ':');
		uint64_t bytes;
		if (!colon || g->noversize == MAX_OVERSIZE || !fs_args_u64(colon + 1, &bytes) ||
		    !fs_topic_lookup(item, (size_t)(colon - item)) || (size_t)(colon - item) >= FS_TOPIC_MAX) {
			return -EINVAL;
		}
		struct oversize *o = &g->oversize[g->noversize++];
		snprintf(o->topic, sizeof(o->topic), "%.*s", (int)(colon - item), item);
		o->bytes = bytes;
	}
	return 0;
}

int main(int argc, char **argv)
{
	fs_log_init("fs-garbage-publisher", FS_LOG_INFO);
	static struct garbage g;
	uint64_t seed = 1, interval_ms = 20, max_rounds = 100000;
	fs_bus_default_address(g.address, sizeof(g.address));
	enum { OPT_BUS = 256, OPT_SEED, OPT_SPOOF, OPT_OVERSIZE, OPT_INTERVAL, OPT_ROUNDS, OPT_RAW, OPT_CONTROL,
	       OPT_READY };
	const char *ready_file = NULL;
	static const struct option options[] = {
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "spoof", required_argument, NULL, OPT_SPOOF },
		{ "oversize", required_argument, NULL, OPT_OVERSIZE },
		{ "interval-ms", required_argument, NULL, OPT_INTERVAL },
		{ "max-rounds", required_argument, NULL, OPT_ROUNDS },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "control", no_argument, NULL, OPT_CONTROL },
		{ "ready-file", required_argument, NULL, OPT_READY },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_BUS:
			snprintf(g.address, sizeof(g.address), "%s", optarg);
			break;
		case OPT_SEED:
		case OPT_INTERVAL:
		case OPT_ROUNDS:
			if (!fs_args_u64(optarg, opt == OPT_SEED ? &seed : opt == OPT_INTERVAL ? &interval_ms : &max_rounds)) {
				fs_error("%s: '%s' is not a number", argv[optind - 1], optarg);
				return 2;
			}
			break;
		case OPT_SPOOF:
		case OPT_OVERSIZE:
			if (parse_list(optarg, &g, opt == OPT_OVERSIZE) < 0) {
				fs_error("%s: cannot use '%s'", argv[optind - 1], optarg);
				return 2;
			}
			break;
		case OPT_RAW:
			g.raw = true;
			break;
		case OPT_CONTROL:
			g.control = true;
			break;
		case OPT_READY:
			ready_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	snprintf(g.name, sizeof(g.name), "garbage-%d", (int)getpid());

	char endpoint[FS_BUS_ADDRESS_MAX];
	int status = 1;
	g.ctx = zmq_ctx_new();
	g.pub = zmq_socket(g.ctx, ZMQ_PUB);
	g.watch = zmq_socket(g.ctx, ZMQ_SUB);
	int zero = 0, linger = 10000;
	zmq_setsockopt(g.pub, ZMQ_SNDHWM, &zero, sizeof(zero));
	zmq_setsockopt(g.pub, ZMQ_LINGER, &linger, sizeof(linger)); /* what we sent leaves before exit */
	zmq_setsockopt(g.watch, ZMQ_LINGER, &zero, sizeof(zero));
	if (fs_bus_endpoint(g.address, FS_BUS_EP_PUB, endpoint, sizeof(endpoint)) < 0 ||
	    zmq_connect(g.pub, endpoint) < 0) {
		fs_error("cannot connect to bus '%s'", g.address);
		goto out;
	}
	fs_bus_endpoint(g.address, FS_BUS_EP_WATCH, endpoint, sizeof(endpoint));
	zmq_connect(g.watch, endpoint);
	zmq_setsockopt(g.watch, ZMQ_SUBSCRIBE, "ctl.tick", 8);
	zmq_setsockopt(g.watch, ZMQ_SUBSCRIBE, "ctl.end", 7);
	fs_rng_init(&g.rng, seed, FS_RNG_STREAM_TEST, 0x6a7262616765ull);
	if (handshake(&g) < 0) {
		fs_error("no answer from the broker on %s", g.address);
		goto out;
	}
	uint64_t rounds = 0, during = 0;
	while (!stop && !g.saw_end && rounds < max_rounds) {
		if (rounds == 0) {
			send_oversize(&g);
			if (g.raw) {
				send_raw(&g);
				send_subscriber_junk(&g);
			}
		}
		during += g.saw_tick;
		send_framing(&g);
		send_random_bodies(&g);
		send_truncated(&g);
		send_meaning(&g);
		if (g.control) {
			send_control_junk(&g);
		}
		rounds++;
		if (rounds == 1 && ready_file) {
			FILE *f = fopen(ready_file, "w");
			if (f) {
				fclose(f);
			}
		}
		int64_t until = fs_clock_now_ms() + (int64_t)interval_ms;
		do {
			read_watch(&g, (int)interval_ms);
		} while (!g.saw_end && fs_clock_now_ms() < until);
	}
	printf("rounds=%" PRIu64 " rounds_during_ticks=%" PRIu64 " first_tick=%" PRIu64 " last_tick=%" PRIu64
	       " end_seen=%d messages=%" PRIu64 " bytes=%" PRIu64 " regenerated=%" PRIu64
	       " control_connections=%" PRIu64 " control_datagrams=%" PRIu64 "\n",
	       rounds, during, g.first_tick, g.last_tick, g.saw_end, g.messages, g.bytes, g.regenerated,
	       g.control_connections, g.control_datagrams);
	fflush(stdout);
	status = 0;
out:
	zmq_close(g.pub);
	zmq_close(g.watch);
	zmq_ctx_term(g.ctx);
	return status;
}
