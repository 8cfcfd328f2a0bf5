/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_bus.h - the client side of the fleetsim bus (every service uses it).
 *
 * A bus is one broker with four endpoints derived from one address:
 *   pub    publishers connect here (broker XSUB)
 *   sub    lockstep participants subscribe here (broker XPUB, lossless)
 *   watch  observers subscribe here: viewer, fleetctl (broker XPUB, bounded, may drop)
 *   tap    capture of every message for a recorder (broker PUB)
 * The address is "ipc://DIR" (endpoints DIR/pub, DIR/sub, ...) or
 * "tcp://HOST:PORT" (ports PORT .. PORT+3).
 *
 * Security (docs/scenario.md): an ipc bus is a directory only its user can
 * open. A tcp bus is CURVE-encrypted and authenticated: the broker is a CURVE
 * server and admits only the client keys of its allow-list (optionally any
 * key on the watch endpoint). A client on tcp uses CURVE when it knows the
 * broker's public key: FLEETSIM_CURVE_SERVER (the key or a file holding it)
 * or fs_bus_options.curve_server, with its own secret key from
 * FLEETSIM_CURVE_SECRET / curve_secret (a file, mode 0600; the public key is
 * derived from it) or, without one, a fresh key pair that only an open watch
 * endpoint admits. `fleetctl keygen` writes key files.
 *
 * Every message is two frames, [topic][Envelope] (docs/bus.md). The
 * client stamps schema version, sender, per-sender and per-topic sequence
 * numbers, and the current tick and simulated time on what it publishes, and
 * on receipt decodes, validates and counts: a malformed, unknown or oversize
 * message is logged (rate limited), counted and dropped, never returned.
 */
#ifndef FS_BUS_H
#define FS_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"
#include "fs_topic.h"

#define FS_BUS_SCHEMA_VERSION 1
#define FS_BUS_MAX_MESSAGE_DEFAULT ((size_t)64 << 20)
#define FS_BUS_ADDRESS_MAX 256
#define FS_BUS_KEY_Z85 40 /* characters of a CURVE key in Z85 */
#define FS_BUS_ENV_CURVE_SERVER "FLEETSIM_CURVE_SERVER"
#define FS_BUS_ENV_CURVE_SECRET "FLEETSIM_CURVE_SECRET"
/*
 * tcp buses: ZeroMQ heartbeats (ZMTP 3.1 PING/PONG) on every connection, both
 * ways. [est] A peer silent for 2 s after a ping is taken for gone: a killed
 * process closes its connections at once, so this bounds only a host or
 * network that vanished (docs/cluster.md "Supervision across hosts"); 2 s is
 * four pings, and far above a LAN's round trip (0.1-2 ms here with added
 * latency), yet lets the run stop within 5 s. A loaded machine must not starve
 * ZeroMQ's I/O thread that long.
 */
#define FS_BUS_HEARTBEAT_IVL_MS 500
#define FS_BUS_HEARTBEAT_TIMEOUT_MS 2000

enum fs_bus_endpoint {
	FS_BUS_EP_PUB = 0,
	FS_BUS_EP_SUB,
	FS_BUS_EP_WATCH,
	FS_BUS_EP_TAP,
	FS_BUS_EP_COUNT,
};

enum fs_bus_mode {
	FS_BUS_PARTICIPANT = 0, /* lossless subscription: must keep up, never dropped */
	FS_BUS_OBSERVER,        /* bounded subscription: may lose messages, counted as gaps */
};

struct fs_bus_options {
	const char *address;      /* NULL = fs_bus_default_address() */
	const char *name;         /* sender name, unique in the run */
	enum fs_bus_mode mode;
	size_t max_message_bytes; /* 0 = FS_BUS_MAX_MESSAGE_DEFAULT */
	int observer_hwm;         /* observers' receive queue, messages; 0 = 10000 */
	/* tcp only (ignored on ipc): NULL = the environment variable */
	const char *curve_server; /* broker's public key: Z85 or a file; $FLEETSIM_CURVE_SERVER */
	const char *curve_secret; /* our secret key FILE (0600); $FLEETSIM_CURVE_SECRET; none = fresh pair */
};

struct fs_bus_stats {
	uint64_t msgs_sent, bytes_sent;
	uint64_t msgs_received, bytes_received;
	uint64_t gaps, malformed, unknown, oversize, rejected;
};

struct fs_bus_message {
	char topic[FS_TOPIC_MAX];
	const struct fs_topic_info *info;
	Fleetsim__V1__Envelope *env; /* owned; freed by fs_bus_message_free() */
	size_t bytes;
};

/* What a sender published on one topic up to now (see fs_bus_published()). */
struct fs_bus_watermark {
	char topic[FS_TOPIC_MAX];
	uint64_t topic_seq;
};

struct fs_bus;

/** Endpoint @which of bus @address into @buf. Returns 0 or -EINVAL. */
int fs_bus_endpoint(const char *address, enum fs_bus_endpoint which, char *buf, size_t size);
/** $FLEETSIM_BUS, else "ipc://$XDG_RUNTIME_DIR/fleetsim" if that is set, else "ipc:///tmp/fleetsim-UID". */
const char *fs_bus_default_address(char *buf, size_t size);
/**
 * Check that the directory of ipc bus @address is private (fs_bus_dir.c):
 * a directory, not a symbolic link, owned by the effective user, mode 0700,
 * in a parent no other user can replace it from. @create: make it (0700)
 * first if it does not exist, and its missing ancestors (0700, each checked
 * like a parent). Every process of a run checks before it binds
 * or connects; fs_bus_connect() does. A refusal is logged naming the path and
 * what is wrong. tcp addresses pass. Returns 0 with *@ret_fd (may be NULL) an
 * O_DIRECTORY descriptor of it (ipc only; caller closes), or -errno: -ENOENT
 * missing, -ELOOP a link, -ENOTDIR not a directory, -EPERM another owner or
 * an unsafe parent, -EACCES a mode other than 0700.
 */
int fs_bus_dir_check(const char *address, bool create, int *ret_fd);
/**
 * Remove what a run leaves in ipc bus directory @address (sockets, control
 * socket, lock), then the directory if that emptied it. @dir_fd: its
 * descriptor from fs_bus_dir_check(), or -1.
 */
void fs_bus_dir_remove(const char *address, int dir_fd);

/** Connect; logs why and returns NULL on failure. */
struct fs_bus *fs_bus_connect(const struct fs_bus_options *opts);
void fs_bus_close(struct fs_bus *bus);
/** How long closing may wait to deliver what is still queued (default 2000 ms; 0 when aborting). */
void fs_bus_set_linger(struct fs_bus *bus, int ms);

int fs_bus_subscribe(struct fs_bus *bus, const char *prefix);
/**
 * Publish hellos until our own comes back through the broker, proving both
 * directions are live (ZeroMQ's slow joiner). Messages received meanwhile are
 * kept for fs_bus_recv(). Returns 0 or -ETIMEDOUT.
 */
int fs_bus_handshake(struct fs_bus *bus, int timeout_ms);
/** Tick and simulated time stamped on what is published from now on. */
void fs_bus_set_clock(struct fs_bus *bus, uint64_t tick, int64_t sim_time_ms);
/**
 * Publish @env (its payload must be set). @topic NULL uses the payload's base
 * topic; otherwise it must be that base or base + "/...". Fills the envelope's
 * header fields. Returns 0 or -errno.
 */
int fs_bus_publish(struct fs_bus *bus, const char *topic, Fleetsim__V1__Envelope *env);
/**
 * fs_bus_publish() in two steps, for a message that also travels another way
 * (the control socket): fill @env's header and count it in the sequences,
 * returning the topic it goes on (NULL if @topic does not fit the payload);
 * then, if wanted, send it on the bus as stamped.
 */
const char *fs_bus_stamp(struct fs_bus *bus, const char *topic, Fleetsim__V1__Envelope *env);
int fs_bus_send_stamped(struct fs_bus *bus, const char *topic, const Fleetsim__V1__Envelope *env);
/**
 * Publish the packed envelope of another sender as it is (the conductor
 * copying TickDones it received on the control socket to the bus for
 * observers: recorder, replay, fleetctl). Returns 0 or -errno.
 */
int fs_bus_forward(struct fs_bus *bus, const char *topic, const void *envelope, size_t size);
/**
 * Next valid message, waiting at most @timeout_ms (-1 = forever, 0 = poll).
 * Returns 0 with *ret set (caller frees), -EAGAIN on timeout, -EINTR on a
 * signal, other -errno if the bus is broken.
 */
int fs_bus_recv(struct fs_bus *bus, struct fs_bus_message **ret, int timeout_ms);
void fs_bus_message_free(struct fs_bus_message *msg);
/**
 * Validate a [topic][envelope] pair that arrived another way (the lockstep
 * control socket) exactly as a bus message, counting it in the stats.
 * Returns 1 with *ret set, 0 if it was bad (counted, logged, dropped).
 */
int fs_bus_decode(struct fs_bus *bus, const char *topic, size_t topic_len, const void *body, size_t body_len,
		  struct fs_bus_message **ret);
/** Count and log (rate limited) bytes from @source that are not a message at all. */
void fs_bus_drop_malformed(struct fs_bus *bus, const char *source, size_t bytes, const char *why);
/**
 * The topics published since the last fs_bus_clear_published() (control
 * topics excluded), each with its last topic_seq: what a TickDone announces.
 */
size_t fs_bus_published(const struct fs_bus *bus, const struct fs_bus_watermark **ret);
void fs_bus_clear_published(struct fs_bus *bus);
/**
 * The last topic_seq received from @sender on @topic: 0 if none yet,
 * UINT64_MAX if the stream is not tracked (too many streams, or names too
 * long), in which case there is nothing to wait for.
 */
uint64_t fs_bus_received_seq(const struct fs_bus *bus, const char *sender, const char *topic);
/** True if messages received during the handshake are still queued. */
bool fs_bus_has_pending(const struct fs_bus *bus);
/** The subscribe socket, for zmq_poll() alongside other sources. */
void *fs_bus_socket(struct fs_bus *bus);
const char *fs_bus_name(const struct fs_bus *bus);
const struct fs_bus_stats *fs_bus_get_stats(const struct fs_bus *bus);
/** Count and log (rate limited) a valid message the caller refuses. */
void fs_bus_reject(struct fs_bus *bus, const struct fs_bus_message *msg, const char *why);

/**
 * The broker's verdict on this client's CURVE key so far: 0 (accepted, not
 * yet known, or no CURVE), -EACCES (the broker refused the key: not on its
 * allow-list) or -EPROTO (the security handshake failed otherwise, e.g. a
 * plain client on a CURVE bus). fs_bus_handshake() fails with it at once.
 */
int fs_bus_auth_status(struct fs_bus *bus);

/**
 * tcp: true once a connection to the broker closed or went silent (no
 * heartbeat answer for FS_BUS_HEARTBEAT_TIMEOUT_MS) after fs_bus_handshake()
 * succeeded. What the broker queued for us is then lost, so a participant
 * cannot go on; it should exit. Always false on ipc.
 */
bool fs_bus_link_lost(struct fs_bus *bus);

/* One event of a ZeroMQ socket monitor (zmq_socket_monitor()). */
struct fs_bus_monitor_event {
	uint16_t event;     /* ZMQ_EVENT_*; 0 if the frame was too short */
	uint32_t value;     /* e.g. the connection's descriptor of a disconnection */
	char endpoint[96];  /* the monitored socket's address, unprintable bytes as '?' */
};

/** Read one event from the monitor socket @monitor without waiting: 1 with *@ret filled, 0 if none is queued. */
int fs_bus_monitor_read(void *monitor, struct fs_bus_monitor_event *ret);

/**
 * A CURVE key in Z85 into @ret: @spec itself when it is a 40-character Z85
 * key, else the file @spec names (the first line that is not blank or a
 * '#' comment holds the key; text after it is ignored). A @secret file must
 * not be readable by group or others. Returns 0 or -errno, logged with why.
 */
int fs_bus_key_load(const char *spec, bool secret, char ret[FS_BUS_KEY_Z85 + 1]);

/**
 * A new CURVE key pair written to DIR/NAME.pub (mode 0644) and
 * DIR/NAME.secret (mode 0600); neither may exist. The public key also goes
 * to @ret_public (may be NULL). Returns 0 or -errno, logged with why.
 */
int fs_bus_keygen(const char *dir, const char *name, char ret_public[FS_BUS_KEY_Z85 + 1]);

/**
 * Append the public keys of allow-list file @path (one Z85 key a line; blank
 * lines, '#' comments and text after a key ignored; a key file of
 * fs_bus_keygen() is a one-key list) to *@keys (32-byte binary keys, grown
 * with realloc; caller frees) and *@count. A malformed line fails with
 * path:line. Returns 0 or -errno, logged with why.
 */
int fs_bus_allow_list_load(const char *path, uint8_t (**keys)[32], size_t *count);

#endif
