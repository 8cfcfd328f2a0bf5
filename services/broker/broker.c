/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-broker - the bus: an XSUB/XPUB proxy with a lossless participant side, a
 * bounded observer side, and a capture tap.
 *
 *   pub   (XSUB, bound)  every client publishes here; subscribed to everything
 *   sub   (XPUB, bound)  lockstep participants; XPUB_NODROP and no HWM: lossless
 *   watch (XPUB, bound)  observers (viewer, fleetctl); bounded HWM, may drop
 *   tap   (PUB, bound)   a copy of every message, for a recorder
 *
 * The broker subscribes its XSUB to everything instead of forwarding
 * subscriptions upstream: publishers then never filter, so a message cannot be
 * lost because a subscription was still on its way to the publisher, and the
 * order of everything through the broker is the one order it forwards in.
 * It checks only framing and size (it never decodes): a message that is not
 * [topic][body] or is over the limit is counted, logged and dropped.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_log.h"
#include "fs_topic.h"

#define STATS_EVERY_MS 1000
#define HARD_MAX_MESSAGE ((int64_t)1 << 30) /* a peer sending more is disconnected by ZeroMQ */
/*
 * Subscribers send the broker only subscriptions: one byte and a topic prefix.
 * ZeroMQ keeps each subscription in a trie with a node per byte (about 50
 * bytes each), so one 2 MiB subscription would cost the broker ~100 MB; a
 * subscriber sending more than this is disconnected instead.
 */
#define MAX_SUBSCRIPTION_MESSAGE ((int64_t)FS_TOPIC_MAX * 2)

struct broker {
	void *ctx;
	void *front;  /* XSUB */
	void *sub;    /* XPUB, lossless */
	void *watch;  /* XPUB, bounded */
	void *tap;    /* PUB */
	size_t max_message_bytes;
	uint64_t msgs, bytes, malformed, oversize, seq;
	uint64_t stats_seq;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fs-broker [--bus ADDR] [options]\n"
		"\n"
		"The fleetsim message bus (normally started by `fleetsim run`).\n"
		"\n"
		"Options:\n"
		"  --bus ADDR          ipc://DIR (default $FLEETSIM_BUS or ipc:///tmp/fleetsim-UID)\n"
		"                      or tcp://HOST:PORT (binds PORT..PORT+3)\n"
		"  --max-message N     drop messages larger than N bytes (default %zu)\n"
		"  --watch-hwm N       observer queue per subscriber, messages (default 10000)\n"
		"  --tap-hwm N         capture tap queue, messages (default 1000000)\n"
		"  -h, --help          this text\n",
		FS_BUS_MAX_MESSAGE_DEFAULT);
}

static int set_int(void *s, int opt, int v)
{
	return zmq_setsockopt(s, opt, &v, sizeof(v));
}

static int bind_endpoint(void *socket, const char *address, enum fs_bus_endpoint which)
{
	char endpoint[FS_BUS_ADDRESS_MAX];
	int rc = fs_bus_endpoint(address, which, endpoint, sizeof(endpoint));
	if (rc < 0) {
		fs_error("bad bus address '%s': %s", address, strerror(-rc));
		return rc;
	}
	if (!strncmp(endpoint, "ipc://", 6)) {
		unlink(endpoint + 6); /* a stale socket file of a dead broker */
	}
	if (zmq_bind(socket, endpoint) < 0) {
		fs_error("cannot bind %s: %s", endpoint, zmq_strerror(errno));
		return -errno;
	}
	return 0;
}

/* Broker counters as a KPI snapshot from sender "broker" on topic kpi/broker. */
static void publish_stats(struct broker *b)
{
	Fleetsim__V1__Kpi k[5];
	Fleetsim__V1__Kpi *kp[5];
	const char *names[] = { "msgs_forwarded", "bytes_forwarded", "dropped_malformed", "dropped_oversize",
				"max_message_bytes" };
	double values[] = { (double)b->msgs, (double)b->bytes, (double)b->malformed, (double)b->oversize,
			    (double)b->max_message_bytes };
	for (int i = 0; i < 5; i++) {
		fleetsim__v1__kpi__init(&k[i]);
		k[i].name = (char *)names[i];
		k[i].value = values[i];
		kp[i] = &k[i];
	}
	Fleetsim__V1__KpiSnapshot snap = FLEETSIM__V1__KPI_SNAPSHOT__INIT;
	snap.n_kpis = 5;
	snap.kpis = kp;
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.schema_version = FS_BUS_SCHEMA_VERSION;
	env.sender = (char *)"broker";
	env.seq = ++b->seq;
	env.topic_seq = ++b->stats_seq;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_KPIS;
	env.kpis = &snap;
	uint8_t buf[512];
	size_t n = fleetsim__v1__envelope__get_packed_size(&env);
	if (n > sizeof(buf)) {
		return;
	}
	fleetsim__v1__envelope__pack(&env, buf);
	static const char topic[] = "kpi/broker";
	void *outs[] = { b->sub, b->watch, b->tap };
	for (int i = 0; i < 3; i++) {
		zmq_send(outs[i], topic, sizeof(topic) - 1, ZMQ_SNDMORE | ZMQ_DONTWAIT);
		zmq_send(outs[i], buf, n, ZMQ_DONTWAIT);
	}
}

static void drop(struct broker *b, uint64_t *counter, const char *what, const zmq_msg_t *topic, size_t bytes)
{
	(*counter)++;
	if (fs_log_should(*counter)) {
		char t[64] = "";
		size_t len = zmq_msg_size(topic) < 40 ? zmq_msg_size(topic) : 40;
		const char *d = zmq_msg_data((zmq_msg_t *)topic);
		for (size_t i = 0; i < len; i++) {
			t[i] = d[i] >= 0x20 && d[i] < 0x7f ? d[i] : '?';
		}
		fs_warn("dropped %s message (topic '%s', %zu bytes) [%" PRIu64 " so far]", what, t, bytes, *counter);
	}
}

/*
 * Forward one message from the XSUB to every output. Frames are read whole
 * first so a bad message is dropped entirely, never half forwarded.
 */
static int forward(struct broker *b)
{
	zmq_msg_t frames[2];
	int n = 0;
	size_t total = 0;
	bool more = true, bad = false;
	zmq_msg_init(&frames[0]);
	zmq_msg_init(&frames[1]);
	while (more) {
		zmq_msg_t *f = &frames[n < 2 ? n : 1];
		if (n >= 2) {
			zmq_msg_close(f);
			zmq_msg_init(f);
			bad = true;
		}
		if (zmq_msg_recv(f, b->front, ZMQ_DONTWAIT) < 0) {
			int e = errno;
			zmq_msg_close(&frames[0]);
			zmq_msg_close(&frames[1]);
			return e == EAGAIN && n == 0 ? 0 : -e;
		}
		total += zmq_msg_size(f);
		more = zmq_msg_more(f);
		n++;
	}
	bool is_end = false;
	if (bad || n != 2 || !fs_topic_valid(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]))) {
		drop(b, &b->malformed, "malformed", &frames[0], total);
	} else if (total > b->max_message_bytes) {
		drop(b, &b->oversize, "oversize", &frames[0], total);
	} else {
		is_end = zmq_msg_size(&frames[0]) == 7 && !memcmp(zmq_msg_data(&frames[0]), "ctl.end", 7);
		b->msgs++;
		b->bytes += total;
		void *outs[] = { b->sub, b->watch, b->tap };
		for (int i = 0; i < 3; i++) {
			zmq_msg_t t, body;
			zmq_msg_init(&t);
			zmq_msg_init(&body);
			zmq_msg_copy(&t, &frames[0]); /* reference counted, not copied, for large bodies */
			zmq_msg_copy(&body, &frames[1]);
			/* The lossless side blocks rather than drop (it has no HWM, so it
			 * never needs to); the others drop at their HWM. */
			int flags = i == 0 ? 0 : ZMQ_DONTWAIT;
			if (zmq_msg_send(&t, outs[i], ZMQ_SNDMORE | flags) < 0) {
				zmq_msg_close(&t);
				zmq_msg_close(&body);
				continue;
			}
			if (zmq_msg_send(&body, outs[i], flags) < 0) {
				zmq_msg_close(&body);
			}
		}
	}
	zmq_msg_close(&frames[0]);
	zmq_msg_close(&frames[1]);
	return is_end ? 2 : 1;
}

/* XPUB sockets hand us subscription messages; we neither need nor forward them. */
static void discard(void *socket)
{
	zmq_msg_t m;
	zmq_msg_init(&m);
	while (zmq_msg_recv(&m, socket, ZMQ_DONTWAIT) >= 0) {
	}
	zmq_msg_close(&m);
}

int main(int argc, char **argv)
{
	fs_log_init("fs-broker", FS_LOG_INFO);
	struct broker b = { .max_message_bytes = FS_BUS_MAX_MESSAGE_DEFAULT };
	char address[FS_BUS_ADDRESS_MAX];
	fs_bus_default_address(address, sizeof(address));
	uint64_t watch_hwm = 10000, tap_hwm = 1000000, u;
	enum { OPT_BUS = 256, OPT_MAX, OPT_WATCH, OPT_TAP };
	static const struct option options[] = {
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "max-message", required_argument, NULL, OPT_MAX },
		{ "watch-hwm", required_argument, NULL, OPT_WATCH },
		{ "tap-hwm", required_argument, NULL, OPT_TAP },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_BUS:
			snprintf(address, sizeof(address), "%s", optarg);
			break;
		case OPT_MAX:
			if (!fs_args_u64(optarg, &u) || u < 1024 || (int64_t)u > HARD_MAX_MESSAGE) {
				fs_error("--max-message: '%s' is not a size in bytes (1024..%" PRId64 ")", optarg,
					 HARD_MAX_MESSAGE);
				return 2;
			}
			b.max_message_bytes = u;
			break;
		case OPT_WATCH:
		case OPT_TAP:
			if (!fs_args_u64(optarg, &u) || u == 0 || u > INT32_MAX) {
				fs_error("%s: '%s' is not a positive number of messages", argv[optind - 1], optarg);
				return 2;
			}
			*(opt == OPT_WATCH ? &watch_hwm : &tap_hwm) = u;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fs_error("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (!strncmp(address, "ipc://", 6)) {
		mkdir(address + 6, 0700); /* the run directory; fine if it exists */
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int status = 1;
	b.ctx = zmq_ctx_new();
	b.front = zmq_socket(b.ctx, ZMQ_XSUB);
	b.sub = zmq_socket(b.ctx, ZMQ_XPUB);
	b.watch = zmq_socket(b.ctx, ZMQ_XPUB);
	b.tap = zmq_socket(b.ctx, ZMQ_PUB);
	void *all[] = { b.front, b.sub, b.watch, b.tap };
	for (int i = 0; i < 4; i++) {
		set_int(all[i], ZMQ_LINGER, 0);
	}
	int64_t hard_max = HARD_MAX_MESSAGE;
	zmq_setsockopt(b.front, ZMQ_MAXMSGSIZE, &hard_max, sizeof(hard_max));
	int64_t max_subscription = MAX_SUBSCRIPTION_MESSAGE;
	for (int i = 1; i < 4; i++) {
		zmq_setsockopt(all[i], ZMQ_MAXMSGSIZE, &max_subscription, sizeof(max_subscription));
	}
	set_int(b.front, ZMQ_RCVHWM, 0);
	set_int(b.sub, ZMQ_SNDHWM, 0);
	set_int(b.sub, ZMQ_XPUB_NODROP, 1);
	set_int(b.watch, ZMQ_SNDHWM, (int)watch_hwm);
	set_int(b.tap, ZMQ_SNDHWM, (int)tap_hwm);
	if (bind_endpoint(b.front, address, FS_BUS_EP_PUB) < 0 || bind_endpoint(b.sub, address, FS_BUS_EP_SUB) < 0 ||
	    bind_endpoint(b.watch, address, FS_BUS_EP_WATCH) < 0 || bind_endpoint(b.tap, address, FS_BUS_EP_TAP) < 0) {
		goto out;
	}
	/* Subscribe the XSUB to everything: publishers never filter (see above). */
	const uint8_t subscribe_all = 1;
	zmq_send(b.front, &subscribe_all, 1, 0);
	fs_debug("listening on %s", address);

	int64_t next_stats = fs_clock_now_ms() + STATS_EVERY_MS;
	while (!stop) {
		zmq_pollitem_t items[] = {
			{ .socket = b.front, .events = ZMQ_POLLIN },
			{ .socket = b.sub, .events = ZMQ_POLLIN },
			{ .socket = b.watch, .events = ZMQ_POLLIN },
		};
		long wait = (long)(next_stats - fs_clock_now_ms());
		if (zmq_poll(items, 3, wait > 0 ? wait : 0) < 0) {
			if (errno == EINTR) {
				continue;
			}
			fs_error("poll failed: %s", zmq_strerror(errno));
			goto out;
		}
		if (items[0].revents & ZMQ_POLLIN) {
			/* Bounded burst so subscription traffic and stats still get a turn. */
			for (int i = 0; i < 4096 && !stop; i++) {
				int rc = forward(&b);
				if (rc == 0) {
					break;
				}
				if (rc == 2) {
					publish_stats(&b); /* final counters for the summary */
				}
				if (rc < 0 && rc != -EINTR) {
					fs_error("receive failed: %s", zmq_strerror(-rc));
					goto out;
				}
			}
		}
		if (items[1].revents & ZMQ_POLLIN) {
			discard(b.sub);
		}
		if (items[2].revents & ZMQ_POLLIN) {
			discard(b.watch);
		}
		if (fs_clock_now_ms() >= next_stats) {
			publish_stats(&b);
			next_stats = fs_clock_now_ms() + STATS_EVERY_MS;
		}
	}
	status = 0;
	fs_debug("forwarded %" PRIu64 " messages (%" PRIu64 " bytes); dropped %" PRIu64 " malformed, %" PRIu64
		 " oversize",
		 b.msgs, b.bytes, b.malformed, b.oversize);
out:
	for (int i = 0; i < 4; i++) {
		if (all[i]) {
			zmq_close(all[i]);
		}
	}
	zmq_ctx_term(b.ctx);
	if (!strncmp(address, "ipc://", 6)) {
		char endpoint[FS_BUS_ADDRESS_MAX];
		for (int w = 0; w < FS_BUS_EP_COUNT; w++) {
			if (fs_bus_endpoint(address, (enum fs_bus_endpoint)w, endpoint, sizeof(endpoint)) == 0) {
				unlink(endpoint + 6);
			}
		}
		rmdir(address + 6);
	}
	return status;
}
