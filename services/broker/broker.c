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
 *
 * Security: on ipc the bus is a directory only its user can open (0700),
 * checked before binding (fs_bus_dir_check(): owner, mode, no link). On
 * tcp the four endpoints are CURVE servers (encrypted, the broker's key from
 * --curve-secret or generated into --curve-dir) and a ZAP handler on
 * inproc://zeromq.zap.01, served in the main loop, admits a client only if its
 * public key is on the allow-list (--allow FILE, one Z85 key a line): so only
 * authorised clients can publish anything, scenario commands included, or
 * take part. With --open-watch any key may observe on the watch endpoint.
 * Every refusal is counted (auth_denied, auth_denied_pub in kpi/broker and so
 * in summary.json) and logged with the client's address and key; a client
 * failing the handshake before ZAP is asked (no CURVE at all, or a wrong
 * broker key) is counted from the sockets' monitors (auth_handshake_failed).
 *
 * Supervision across hosts (tcp): every connection carries ZeroMQ heartbeats
 * (FS_BUS_HEARTBEAT_*), and the broker remembers which connection of the pub
 * endpoint each client's hellos (ctl.hello/NAME) came from. When one closes
 * or stops answering, it publishes PeerLost{NAME, peer address} on ctl.lost:
 * the conductor stops the run if NAME is one of its participants.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_control_msg.h"
#include "fs_kpi_msg.h"
#include "fs_log.h"
#include "fs_service.h"
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

#define MAX_ALLOW_FILES 16
#define CURVE_HANDSHAKE_MAX 1024 /* smallest ZMQ_MAXMSGSIZE a CURVE endpoint accepts (see setup_curve) */

/* ZAP domains of the four endpoints (ZMQ_ZAP_DOMAIN), in enum fs_bus_endpoint order. */
static const char *const domains[FS_BUS_EP_COUNT] = { "pub", "sub", "watch", "tap" };

/* A client connection of the pub endpoint and the name its hellos gave (tcp). */
struct peer {
	int fd;
	char name[FS_TOPIC_MAX];
	char address[INET6_ADDRSTRLEN + 8];
};

struct broker {
	void *ctx;
	void *zap;    /* REP on inproc://zeromq.zap.01: CURVE client keys (tcp only) */
	uint8_t (*allow)[32];
	size_t allow_count;
	bool open_watch;
	uint64_t auth_accepted, auth_denied, auth_denied_ep[FS_BUS_EP_COUNT];
	void *monitor[FS_BUS_EP_COUNT]; /* handshake failures before ZAP (no CURVE, wrong broker key) */
	uint64_t handshake_failed;
	void *front;  /* XSUB */
	void *sub;    /* XPUB, lossless */
	void *watch;  /* XPUB, bounded */
	void *tap;    /* PUB */
	size_t max_message_bytes;
	uint64_t msgs, bytes, malformed, oversize, seq;
	uint64_t stats_seq, lost_seq;
	bool track_peers;      /* tcp: name the clients whose connections are lost */
	struct peer *peers;    /* pub connections that said hello, by descriptor */
	size_t npeers, peers_cap;
	uint64_t peers_lost;
};

static volatile sig_atomic_t stop;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fs-broker [--bus ADDR] [options]\n"
		"\n"
		"The fleetsim message bus (normally started by `fleetsim run`).\n"
		"\n"
		"Options:\n"
		"  --bus ADDR          ipc://DIR (default $FLEETSIM_BUS, else\n"
		"                      ipc://$XDG_RUNTIME_DIR/fleetsim or ipc:///tmp/fleetsim-UID)\n"
		"                      or tcp://HOST:PORT (binds PORT..PORT+3, CURVE-encrypted)\n"
		"  --allow FILE        tcp: public keys (Z85, one a line) of the clients admitted;\n"
		"                      repeatable; required on tcp (`fleetctl keygen` makes keys)\n"
		"  --curve-secret FILE tcp: the broker's secret key (its public key is derived)\n"
		"  --curve-dir DIR     tcp, without --curve-secret: generate the broker's key pair\n"
		"                      into DIR/broker.secret and DIR/broker.pub (clients need .pub)\n"
		"  --open-watch        tcp: admit any client key on the watch endpoint (read-only\n"
		"                      observers); publishing still needs an allowed key\n"
		"  --max-message N     drop messages larger than N bytes (default %zu)\n"
		"  --watch-hwm N       observer queue per subscriber, messages (default 10000)\n"
		"  --tap-hwm N         capture tap queue, messages (default 1000000)\n"
		"  --version           print the version\n"
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

static void send_own(struct broker *b, const char *topic, Fleetsim__V1__Envelope *env, uint64_t topic_seq);

/* Broker counters as a KPI snapshot from sender "broker" on topic kpi/broker. */
static void publish_stats(struct broker *b)
{
	const struct fs_kpi kpis[] = {
		{ "msgs_forwarded", (double)b->msgs },
		{ "bytes_forwarded", (double)b->bytes },
		{ "dropped_malformed", (double)b->malformed },
		{ "dropped_oversize", (double)b->oversize },
		{ "max_message_bytes", (double)b->max_message_bytes },
		{ "auth_accepted", (double)b->auth_accepted },
		{ "auth_denied", (double)b->auth_denied },
		{ "auth_denied_pub", (double)b->auth_denied_ep[FS_BUS_EP_PUB] },
		{ "auth_handshake_failed", (double)b->handshake_failed },
		{ "peers_lost", (double)b->peers_lost },
	};
	struct fs_kpi_msg m;
	send_own(b, "kpi/broker", fs_kpi_msg_encode(&m, kpis, sizeof(kpis) / sizeof(kpis[0])), ++b->stats_seq);
}

/* One message of the broker's own to every output (sub, watch, tap). */
static void send_own(struct broker *b, const char *topic, Fleetsim__V1__Envelope *env, uint64_t topic_seq)
{
	env->schema_version = FS_BUS_SCHEMA_VERSION;
	env->sender = (char *)"broker";
	env->seq = ++b->seq;
	env->topic_seq = topic_seq;
	uint8_t buf[1024];
	size_t n = fleetsim__v1__envelope__get_packed_size(env);
	if (n > sizeof(buf)) {
		return;
	}
	fleetsim__v1__envelope__pack(env, buf);
	void *outs[] = { b->sub, b->watch, b->tap };
	for (int i = 0; i < 3; i++) {
		zmq_send(outs[i], topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
		zmq_send(outs[i], buf, n, ZMQ_DONTWAIT);
	}
}

/* A hello on @topic (ctl.hello/NAME) came on connection @fd: remember who is there. */
static void note_peer(struct broker *b, const zmq_msg_t *topic, int fd)
{
	const char *t = zmq_msg_data((zmq_msg_t *)topic);
	size_t len = zmq_msg_size((zmq_msg_t *)topic), prefix = sizeof("ctl.hello/") - 1;
	struct peer *p = NULL;
	for (size_t i = 0; i < b->npeers && !p; i++) {
		p = b->peers[i].fd == fd ? &b->peers[i] : NULL;
	}
	if (!p) {
		fs_xgrow(b->peers, b->peers_cap, b->npeers + 1);
		p = &b->peers[b->npeers++];
		*p = (struct peer){ .fd = fd };
		struct sockaddr_storage sa;
		socklen_t sa_len = sizeof(sa);
		char host[INET6_ADDRSTRLEN] = "?";
		int port = 0;
		if (getpeername(fd, (struct sockaddr *)&sa, &sa_len) == 0) {
			if (sa.ss_family == AF_INET) {
				inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof(host));
				port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
			} else if (sa.ss_family == AF_INET6) {
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof(host));
				port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
			}
		}
		snprintf(p->address, sizeof(p->address), "%s:%d", host, port);
	}
	size_t n = len - prefix < sizeof(p->name) - 1 ? len - prefix : sizeof(p->name) - 1;
	memcpy(p->name, t + prefix, n); /* printable ASCII: the topic was validated */
	p->name[n] = '\0';
}

/* Connection @fd of the pub endpoint closed or timed out: say who it was. */
static void peer_lost(struct broker *b, int fd)
{
	for (size_t i = 0; i < b->npeers; i++) {
		if (b->peers[i].fd != fd) {
			continue;
		}
		struct peer lost = b->peers[i];
		b->peers[i] = b->peers[--b->npeers];
		b->peers_lost++;
		/* observers (fleetctl) come and go: the conductor says it when a participant is lost */
		fs_debug("lost %s at %s: its connection closed or stopped answering heartbeats", lost.name,
			 lost.address);
		const struct fs_control_peer_lost pl = {
			.participant = lost.name,
			.address = lost.address,
			.reason = "its connection to the broker closed (process ended) or stopped answering heartbeats "
				  "(host or network gone)",
		};
		struct fs_control_msg m = { 0 }; /* a PeerLost has no arrays: nothing to finish */
		send_own(b, "ctl.lost", fs_control_msg_encode_peer_lost(&m, &pl), ++b->lost_seq);
		return;
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
		if (b->track_peers && zmq_msg_size(&frames[0]) > 10 && !memcmp(zmq_msg_data(&frames[0]), "ctl.hello/", 10)) {
			int fd = zmq_msg_get(&frames[0], ZMQ_SRCFD);
			if (fd >= 0) {
				note_peer(b, &frames[0], fd);
			}
		}
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

static bool frame_is(const zmq_msg_t *m, const char *text)
{
	size_t len = strlen(text);
	return zmq_msg_size((zmq_msg_t *)m) == len && !memcmp(zmq_msg_data((zmq_msg_t *)m), text, len);
}

static bool allowed_key(const struct broker *b, const uint8_t *key)
{
	for (size_t i = 0; i < b->allow_count; i++) {
		if (!memcmp(b->allow[i], key, 32)) {
			return true;
		}
	}
	return false;
}

/*
 * One ZAP request (RFC 27: version, request id, domain, address, identity,
 * mechanism, credentials...) answered 200 or 400. ZeroMQ asks on every
 * connection attempt, so a refused client that keeps retrying is counted
 * each time.
 */
static bool handle_zap(struct broker *b)
{
	enum { MAX_FRAMES = 8 };
	zmq_msg_t f[MAX_FRAMES];
	int n = 0;
	bool more = true;
	while (more) {
		zmq_msg_t *m = &f[n < MAX_FRAMES ? n : MAX_FRAMES - 1];
		if (n >= MAX_FRAMES) {
			zmq_msg_close(m);
		}
		zmq_msg_init(m);
		if (zmq_msg_recv(m, b->zap, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(m);
			if (n == 0) {
				return false;
			}
			break; /* a REP socket hands over whole requests; cannot happen */
		}
		more = zmq_msg_more(m);
		n = n < MAX_FRAMES ? n + 1 : n;
	}
	if (n < 6 || !frame_is(&f[0], "1.0")) {
		/* Not a ZAP request we can answer; ZeroMQ itself never sends one. */
		for (int i = 0; i < n; i++) {
			zmq_msg_close(&f[i]);
		}
		fs_warn("malformed ZAP request (%d frames) ignored", n);
		return true;
	}
	int ep = -1;
	for (int i = 0; i < FS_BUS_EP_COUNT; i++) {
		if (frame_is(&f[2], domains[i])) {
			ep = i;
		}
	}
	bool curve = frame_is(&f[5], "CURVE") && n >= 7 && zmq_msg_size(&f[6]) == 32;
	const uint8_t *key = curve ? zmq_msg_data(&f[6]) : NULL;
	bool ok = curve && ep >= 0 && ((ep == FS_BUS_EP_WATCH && b->open_watch) || allowed_key(b, key));
	const char *status = ok ? "200" : "400";
	const char *text = ok ? "OK" : !curve ? "CURVE required" : "key not on the allow-list";
	zmq_send(b->zap, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(b->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
	zmq_send(b->zap, status, 3, ZMQ_SNDMORE);
	zmq_send(b->zap, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(b->zap, "", 0, ZMQ_SNDMORE); /* user id */
	zmq_send(b->zap, "", 0, 0);           /* metadata */
	fs_debug("ZAP %s on %s: %s", status, ep >= 0 ? domains[ep] : "?", text);
	if (ok) {
		b->auth_accepted++;
	} else {
		b->auth_denied++;
		if (ep >= 0) {
			b->auth_denied_ep[ep]++;
		}
		if (fs_log_should(b->auth_denied)) {
			char z85[FS_BUS_KEY_Z85 + 1] = "-";
			char address[64] = "";
			size_t alen = zmq_msg_size(&f[3]) < sizeof(address) - 1 ? zmq_msg_size(&f[3]) : sizeof(address) - 1;
			const char *adata = zmq_msg_data(&f[3]);
			for (size_t i = 0; i < alen; i++) {
				address[i] = adata[i] >= 0x20 && adata[i] < 0x7f ? adata[i] : '?';
			}
			if (key) {
				zmq_z85_encode(z85, key, 32);
			}
			fs_warn("refused a client at %s on the %s endpoint: %s (key %s) [%" PRIu64 " refused so far]",
				address[0] ? address : "?", ep >= 0 ? domains[ep] : "unknown", text, z85, b->auth_denied);
		}
	}
	for (int i = 0; i < n; i++) {
		zmq_msg_close(&f[i]);
	}
	return true;
}

/* Handshake failures on endpoint @ep (monitor events: [event u16, value u32][endpoint]). */
static void handle_monitor(struct broker *b, int ep)
{
	struct fs_bus_monitor_event ev;
	for (int n = 0; n < 64 && fs_bus_monitor_read(b->monitor[ep], &ev); n++) {
		if (ev.event == ZMQ_EVENT_DISCONNECTED && ep == FS_BUS_EP_PUB) {
			peer_lost(b, (int)ev.value); /* the value of a disconnection is the connection's descriptor */
		}
		if (ev.event && ev.event != ZMQ_EVENT_DISCONNECTED) {
			b->handshake_failed++;
			if (fs_log_should(b->handshake_failed)) {
				/* the endpoint is the broker's own address, for the log */
				fs_warn("refused a client on the %s endpoint %s: its security handshake failed (no CURVE, or "
					"not this broker's public key) [%" PRIu64 " so far]",
					domains[ep], ev.endpoint, b->handshake_failed);
			}
		}
	}
}

struct curve_options {
	const char *secret_file;
	const char *dir;
	const char *allow_files[MAX_ALLOW_FILES];
	int allow_file_count;
};

/*
 * tcp: load the allow-list and the broker's key, start the ZAP handler and
 * make the four sockets CURVE servers. Must run before they bind.
 */
static int setup_curve(struct broker *b, const struct curve_options *co, void *const sockets[FS_BUS_EP_COUNT])
{
	if (!zmq_has("curve")) {
		fs_error("a tcp bus is CURVE-encrypted, but this libzmq has no CURVE (zmq_has(\"curve\") is false); "
			 "use an ipc:// bus");
		return -ENOTSUP;
	}
	if (!co->allow_file_count) {
		fs_error("a tcp bus needs --allow FILE: the public keys of the clients admitted (`fleetctl keygen`)");
		return -EINVAL;
	}
	for (int i = 0; i < co->allow_file_count; i++) {
		if (fs_bus_allow_list_load(co->allow_files[i], &b->allow, &b->allow_count) < 0) {
			return -EINVAL;
		}
	}
	char public_key[FS_BUS_KEY_Z85 + 1], secret_key[FS_BUS_KEY_Z85 + 1];
	char generated[4096];
	const char *secret = co->secret_file;
	if (!secret) {
		if (!co->dir) {
			fs_error("a tcp bus needs the broker's key: --curve-secret FILE, or --curve-dir DIR to generate one");
			return -EINVAL;
		}
		/* a restarted broker keeps the key its clients already have */
		snprintf(generated, sizeof(generated), "%s/broker.secret", co->dir);
		if (access(generated, F_OK) < 0 && fs_bus_keygen(co->dir, "broker", NULL) < 0) {
			return -EINVAL;
		}
		secret = generated;
	}
	if (fs_bus_key_load(secret, true, secret_key) < 0 || zmq_curve_public(public_key, secret_key) < 0) {
		return -EINVAL;
	}
	b->zap = zmq_socket(b->ctx, ZMQ_REP);
	int rc = 0;
	if (!b->zap || set_int(b->zap, ZMQ_LINGER, 0) < 0 || zmq_bind(b->zap, "inproc://zeromq.zap.01") < 0) {
		fs_error("cannot start the ZAP handler: %s", zmq_strerror(errno));
		rc = -EIO;
	}
	/* ZMQ_MAXMSGSIZE also bounds the handshake's commands, and CURVE's INITIATE
	 * (a vouch box plus metadata) is ~350 bytes: a tighter limit on an endpoint
	 * that receives only subscriptions would drop every CURVE client there. */
	const int64_t handshake_min = CURVE_HANDSHAKE_MAX;
	for (int i = 0; i < FS_BUS_EP_COUNT && rc == 0; i++) {
		int64_t limit = 0;
		size_t size = sizeof(limit);
		if (zmq_getsockopt(sockets[i], ZMQ_MAXMSGSIZE, &limit, &size) == 0 && limit >= 0 && limit < handshake_min) {
			zmq_setsockopt(sockets[i], ZMQ_MAXMSGSIZE, &handshake_min, sizeof(handshake_min));
		}
		if (set_int(sockets[i], ZMQ_CURVE_SERVER, 1) < 0 ||
		    zmq_setsockopt(sockets[i], ZMQ_CURVE_SECRETKEY, secret_key, FS_BUS_KEY_Z85) < 0 ||
		    zmq_setsockopt(sockets[i], ZMQ_ZAP_DOMAIN, domains[i], strlen(domains[i])) < 0) {
			fs_error("cannot make the %s endpoint a CURVE server: %s", domains[i], zmq_strerror(errno));
			rc = -EIO;
		}
	}
	/* Clients that fail before ZAP is asked (plain tcp, a wrong broker key)
	 * are refused by ZeroMQ itself; the socket monitors let us count them. */
	for (int i = 0; i < FS_BUS_EP_COUNT && rc == 0; i++) {
		char endpoint[64];
		snprintf(endpoint, sizeof(endpoint), "inproc://fs-broker-monitor-%s", domains[i]);
		int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
			     (i == FS_BUS_EP_PUB ? ZMQ_EVENT_DISCONNECTED : 0);
		if (set_int(sockets[i], ZMQ_HEARTBEAT_IVL, FS_BUS_HEARTBEAT_IVL_MS) < 0 ||
		    set_int(sockets[i], ZMQ_HEARTBEAT_TIMEOUT, FS_BUS_HEARTBEAT_TIMEOUT_MS) < 0 ||
		    set_int(sockets[i], ZMQ_HEARTBEAT_TTL, FS_BUS_HEARTBEAT_TIMEOUT_MS) < 0 ||
		    zmq_socket_monitor(sockets[i], endpoint, events) < 0 ||
		    !(b->monitor[i] = zmq_socket(b->ctx, ZMQ_PAIR)) || set_int(b->monitor[i], ZMQ_LINGER, 0) < 0 ||
		    zmq_connect(b->monitor[i], endpoint) < 0) {
			fs_error("cannot monitor the %s endpoint: %s", domains[i], zmq_strerror(errno));
			rc = -EIO;
		}
	}
	explicit_bzero(secret_key, sizeof(secret_key));
	b->track_peers = rc == 0;
	if (rc == 0) {
		fs_info("CURVE on: broker public key %s, %zu client key(s) allowed%s", public_key, b->allow_count,
			b->open_watch ? ", any key may watch" : "");
	}
	return rc;
}

/* The command line. */
struct broker_args {
	char address[FS_BUS_ADDRESS_MAX];
	const char *bus;
	uint64_t max_message_bytes, watch_hwm, tap_hwm;
	bool open_watch;
	struct curve_options co;
};

static int add_allow(void *target, const char *file)
{
	struct curve_options *co = target;
	if (co->allow_file_count == MAX_ALLOW_FILES) {
		fs_error("--allow: at most %d files", MAX_ALLOW_FILES);
		return 2;
	}
	co->allow_files[co->allow_file_count++] = file;
	return 0;
}

static int parse_args(int argc, char **argv, struct broker_args *a)
{
	char max_what[64];
	snprintf(max_what, sizeof(max_what), "a size in bytes (1024..%" PRId64 ")", HARD_MAX_MESSAGE);
	const struct fs_opt opts[] = {
		{ "bus", FS_OPT_STRING, &a->bus },
		{ "allow", FS_OPT_CALL, &a->co, .call = add_allow },
		{ "curve-secret", FS_OPT_STRING, &a->co.secret_file },
		{ "curve-dir", FS_OPT_STRING, &a->co.dir },
		{ "open-watch", FS_OPT_SET, &a->open_watch },
		{ "max-message", FS_OPT_U64, &a->max_message_bytes, .min = 1024, .max = HARD_MAX_MESSAGE, .what = max_what },
		{ "watch-hwm", FS_OPT_U64, &a->watch_hwm, .min = 1, .max = INT32_MAX, .what = "a positive number of messages",
		  .as_given = true },
		{ "tap-hwm", FS_OPT_U64, &a->tap_hwm, .min = 1, .max = INT32_MAX, .what = "a positive number of messages",
		  .as_given = true },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "fs-broker", .usage = usage, .opts = opts };
	int rc = fs_service_parse(&spec, argc, argv, NULL);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if (a->bus) {
		snprintf(a->address, sizeof(a->address), "%s", a->bus);
	}
	if (fs_bus_dir_check(a->address, true, NULL) < 0) {
		return 1; /* not a private directory of ours: said why */
	}
	bool tcp = !strncmp(a->address, "tcp://", 6);
	if (!tcp && (a->co.allow_file_count || a->co.secret_file || a->co.dir || a->open_watch)) {
		fs_warn("--allow, --curve-secret, --curve-dir and --open-watch apply to tcp buses only; ignored on %s",
			a->address);
	}
	return FS_SERVICE_GO_ON;
}

/* The four endpoints, their limits and (tcp) CURVE, bound. Returns 0, 1, or 2 (bad keys). */
static int broker_open(struct broker *b, const struct broker_args *a)
{
	b->ctx = zmq_ctx_new();
	b->front = zmq_socket(b->ctx, ZMQ_XSUB);
	b->sub = zmq_socket(b->ctx, ZMQ_XPUB);
	b->watch = zmq_socket(b->ctx, ZMQ_XPUB);
	b->tap = zmq_socket(b->ctx, ZMQ_PUB);
	void *all[] = { b->front, b->sub, b->watch, b->tap };
	for (int i = 0; i < 4; i++) {
		set_int(all[i], ZMQ_LINGER, 0);
	}
	int64_t hard_max = HARD_MAX_MESSAGE;
	zmq_setsockopt(b->front, ZMQ_MAXMSGSIZE, &hard_max, sizeof(hard_max));
	int64_t max_subscription = MAX_SUBSCRIPTION_MESSAGE;
	for (int i = 1; i < 4; i++) {
		zmq_setsockopt(all[i], ZMQ_MAXMSGSIZE, &max_subscription, sizeof(max_subscription));
	}
	set_int(b->front, ZMQ_RCVHWM, 0);
	set_int(b->sub, ZMQ_SNDHWM, 0);
	set_int(b->sub, ZMQ_XPUB_NODROP, 1);
	set_int(b->watch, ZMQ_SNDHWM, (int)a->watch_hwm);
	set_int(b->tap, ZMQ_SNDHWM, (int)a->tap_hwm);
	if (!strncmp(a->address, "tcp://", 6) && setup_curve(b, &a->co, all) < 0) {
		return 2;
	}
	const char *address = a->address;
	if (bind_endpoint(b->front, address, FS_BUS_EP_PUB) < 0 || bind_endpoint(b->sub, address, FS_BUS_EP_SUB) < 0 ||
	    bind_endpoint(b->watch, address, FS_BUS_EP_WATCH) < 0 || bind_endpoint(b->tap, address, FS_BUS_EP_TAP) < 0) {
		return 1;
	}
	/* Subscribe the XSUB to everything: publishers never filter (see above). */
	const uint8_t subscribe_all = 1;
	zmq_send(b->front, &subscribe_all, 1, 0);
	fs_debug("listening on %s", address);
	return 0;
}

/* Forward until a stop signal: 0, or -1 when the sockets fail (logged). */
static int broker_serve(struct broker *b)
{
	int64_t next_stats = fs_clock_now_ms() + STATS_EVERY_MS;
	while (!stop) {
		zmq_pollitem_t items[] = {
			{ .socket = b->front, .events = ZMQ_POLLIN },
			{ .socket = b->sub, .events = ZMQ_POLLIN },
			{ .socket = b->watch, .events = ZMQ_POLLIN },
			{ .socket = b->zap, .events = ZMQ_POLLIN },
			{ .socket = b->monitor[0], .events = ZMQ_POLLIN },
			{ .socket = b->monitor[1], .events = ZMQ_POLLIN },
			{ .socket = b->monitor[2], .events = ZMQ_POLLIN },
			{ .socket = b->monitor[3], .events = ZMQ_POLLIN },
		};
		long wait = (long)(next_stats - fs_clock_now_ms());
		if (zmq_poll(items, b->zap ? 8 : 3, wait > 0 ? wait : 0) < 0) {
			if (errno == EINTR) {
				continue;
			}
			fs_error("poll failed: %s", zmq_strerror(errno));
			return -1;
		}
		if (items[0].revents & ZMQ_POLLIN) {
			/* Bounded burst so subscription traffic and stats still get a turn. */
			for (int i = 0; i < 4096 && !stop; i++) {
				int rc = forward(b);
				if (rc == 0) {
					break;
				}
				if (rc == 2) {
					publish_stats(b); /* final counters for the summary */
				}
				if (rc < 0 && rc != -EINTR) {
					fs_error("receive failed: %s", zmq_strerror(-rc));
					return -1;
				}
			}
		}
		if (items[1].revents & ZMQ_POLLIN) {
			discard(b->sub);
		}
		if (items[2].revents & ZMQ_POLLIN) {
			discard(b->watch);
		}
		if (b->zap && items[3].revents & ZMQ_POLLIN) {
			for (int i = 0; i < 64 && handle_zap(b); i++) {
			}
		}
		for (int i = 0; b->zap && i < FS_BUS_EP_COUNT; i++) {
			if (items[4 + i].revents & ZMQ_POLLIN) {
				handle_monitor(b, i);
			}
		}
		if (fs_clock_now_ms() >= next_stats) {
			publish_stats(b);
			next_stats = fs_clock_now_ms() + STATS_EVERY_MS;
		}
	}
	fs_debug("forwarded %" PRIu64 " messages (%" PRIu64 " bytes); dropped %" PRIu64 " malformed, %" PRIu64
		 " oversize",
		 b->msgs, b->bytes, b->malformed, b->oversize);
	return 0;
}

/* Close everything; on ipc, remove the bus's sockets and directory. */
static void broker_close(struct broker *b, const char *address)
{
	if (b->zap) {
		zmq_close(b->zap);
	}
	for (int i = 0; i < FS_BUS_EP_COUNT; i++) {
		if (b->monitor[i]) {
			zmq_close(b->monitor[i]);
		}
	}
	void *all[] = { b->front, b->sub, b->watch, b->tap };
	for (int i = 0; i < 4; i++) {
		if (all[i]) {
			zmq_close(all[i]);
		}
	}
	zmq_ctx_term(b->ctx);
	free(b->allow);
	free(b->peers);
	if (!strncmp(address, "ipc://", 6)) {
		char endpoint[FS_BUS_ADDRESS_MAX];
		for (int w = 0; w < FS_BUS_EP_COUNT; w++) {
			if (fs_bus_endpoint(address, (enum fs_bus_endpoint)w, endpoint, sizeof(endpoint)) == 0) {
				unlink(endpoint + 6);
			}
		}
		rmdir(address + 6);
	}
}

int main(int argc, char **argv)
{
	if (fs_service_begin(argc, argv, "fs-broker")) {
		return 0;
	}
	struct broker_args a = { .max_message_bytes = FS_BUS_MAX_MESSAGE_DEFAULT, .watch_hwm = 10000,
				 .tap_hwm = 1000000 };
	fs_bus_default_address(a.address, sizeof(a.address));
	int rc = parse_args(argc, argv, &a);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	fs_service_catch_stop(&stop);
	struct broker b = { .max_message_bytes = a.max_message_bytes, .open_watch = a.open_watch };
	int status = broker_open(&b, &a);
	if (status == 0) {
		status = broker_serve(&b) < 0 ? 1 : 0;
	}
	broker_close(&b, a.address);
	return status;
}
