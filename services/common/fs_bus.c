/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_bus - bus client: connect, publish, subscribe, decode with clear errors.
 *
 * Loss policy (docs/bus.md): a participant's publish socket has no
 * high-water mark (lockstep bounds what is in flight to one tick's output) and
 * its subscription is on the broker's lossless endpoint, so nothing between
 * participants is ever dropped. Observers use the bounded endpoint; what they
 * miss shows as gaps in the per-(sender, topic) sequence numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_control_msg.h"
#include "fs_log.h"
#include "fs_strmap.h"

#define MAX_TRACKED_STREAMS 65536

struct pending {
	struct fs_bus_message *msg;
	struct pending *next;
};

struct fs_bus {
	void *ctx;
	struct fs_bus_watermark *published; /* since fs_bus_clear_published(), ctl.* excluded */
	size_t published_len, published_cap;
	void *pub;
	void *sub;
	char name[100];
	enum fs_bus_mode mode;
	size_t max_message_bytes;
	uint64_t seq;
	uint64_t tick;
	int64_t sim_time_ms;
	struct fs_strmap out_seq; /* topic -> last topic_seq sent */
	struct fs_strmap in_seq;  /* sender \0 topic -> last topic_seq seen */
	struct pending *pending_head, *pending_tail;
	struct fs_bus_stats stats;
	void *monitor[2];         /* handshake and disconnection events of pub and sub (tcp only) */
	int auth_status;          /* 0, -EACCES or -EPROTO (fs_bus_auth_status()) */
	bool handshake_done;      /* fs_bus_handshake() succeeded: a disconnection now is a lost link */
	bool link_lost;           /* tcp: a connection to the broker closed or timed out after the handshake */
};

const char *fs_bus_default_address(char *buf, size_t size)
{
	const char *env = getenv("FLEETSIM_BUS");
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	if (env && *env) {
		snprintf(buf, size, "%s", env);
	} else if (runtime && runtime[0] == '/' && strlen(runtime) + sizeof("/fleetsim/watch") <= 108) {
		/* the user's private runtime directory (XDG Base Directory spec): no other user can get in first */
		snprintf(buf, size, "ipc://%s/fleetsim", runtime);
	} else {
		snprintf(buf, size, "ipc:///tmp/fleetsim-%u", (unsigned)geteuid());
	}
	return buf;
}

int fs_bus_endpoint(const char *address, enum fs_bus_endpoint which, char *buf, size_t size)
{
	static const char *ipc_names[] = { "pub", "sub", "watch", "tap" };
	if (!address || which >= FS_BUS_EP_COUNT) {
		return -EINVAL;
	}
	int n;
	if (!strncmp(address, "ipc://", 6)) {
		n = snprintf(buf, size, "%s/%s", address, ipc_names[which]);
		/* sun_path holds 107 bytes; ZeroMQ would fail later with a vaguer error. */
		if (n - 6 > 107) {
			return -ENAMETOOLONG;
		}
	} else if (!strncmp(address, "tcp://", 6)) {
		const char *colon = strrchr(address + 6, ':');
		char *end = NULL;
		long port = colon ? strtol(colon + 1, &end, 10) : 0;
		if (!colon || !end || *end || port <= 0 || port + FS_BUS_EP_COUNT > 65536) {
			return -EINVAL;
		}
		n = snprintf(buf, size, "%.*s:%ld", (int)(colon - address), address, port + (long)which);
	} else {
		return -EINVAL;
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/*
 * A sender name is 1-99 printable ASCII bytes without spaces, like a topic:
 * receivers put it in logs and sequence keys, so a name carrying terminal
 * escapes or newlines is refused on both sides.
 */
static bool valid_name(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	return len < sizeof(((struct fs_bus *)NULL)->name) && fs_topic_valid(name, len);
}

static int set_int(void *socket, int option, int value)
{
	return zmq_setsockopt(socket, option, &value, sizeof(value));
}

/* ---- CURVE (tcp) ------------------------------------------------------------ */

static bool is_z85_key(const char *text, size_t len)
{
	if (len != FS_BUS_KEY_Z85) {
		return false;
	}
	char z85[FS_BUS_KEY_Z85 + 1];
	uint8_t binary[32];
	memcpy(z85, text, FS_BUS_KEY_Z85);
	z85[FS_BUS_KEY_Z85] = '\0';
	return zmq_z85_decode(binary, z85) != NULL;
}

/* The line at @p: its first word into *@ret_word / *@ret_len; returns the next line. */
static const char *next_line(const char *p, const char **ret_word, size_t *ret_len)
{
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	const char *word = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
		p++;
	}
	*ret_word = word;
	*ret_len = (size_t)(p - word);
	while (*p && *p != '\n') {
		p++;
	}
	return *p ? p + 1 : p;
}

/* Read a small text file whole (NUL-terminated, caller frees); a secret must be private. */
static char *read_key_file(const char *path, bool secret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fs_error("cannot read key file %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
		fs_error("%s: not a key file (a regular file of at most 1 MiB)", path);
		close(fd);
		return NULL;
	}
	if (secret && (st.st_mode & 077)) {
		fs_error("%s: a secret key file must be readable by its owner only (chmod 600 %s)", path, path);
		close(fd);
		return NULL;
	}
	char *text = fs_xcalloc(1, (size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR) {
				continue;
			}
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	text[got] = '\0';
	return text;
}

int fs_bus_key_load(const char *spec, bool secret, char ret[FS_BUS_KEY_Z85 + 1])
{
	if (!spec || !*spec) {
		fs_error("no CURVE key given");
		return -EINVAL;
	}
	if (!secret && is_z85_key(spec, strlen(spec))) {
		memcpy(ret, spec, FS_BUS_KEY_Z85 + 1);
		return 0;
	}
	char *text = read_key_file(spec, secret);
	if (!text) {
		return -EINVAL;
	}
	int rc = -EINVAL;
	for (const char *p = text; *p;) {
		const char *word;
		size_t len;
		p = next_line(p, &word, &len);
		/* '#' is a Z85 digit, but only for values a key's first digit never
		 * reaches (84 of 0..82 for 32-bit groups): a '#' line is a comment */
		if (!len || word[0] == '#') {
			continue;
		}
		if (is_z85_key(word, len)) {
			memcpy(ret, word, FS_BUS_KEY_Z85);
			ret[FS_BUS_KEY_Z85] = '\0';
			rc = 0;
		}
		break;
	}
	if (rc < 0) {
		fs_error("%s: no Z85 CURVE key (40 characters) in it (write one with `fleetctl keygen`)", spec);
	}
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

int fs_bus_allow_list_load(const char *path, uint8_t (**keys)[32], size_t *count)
{
	char *text = read_key_file(path, false);
	if (!text) {
		return -EINVAL;
	}
	int rc = 0;
	unsigned line = 0;
	for (const char *p = text; *p && rc == 0;) {
		const char *word;
		size_t len;
		p = next_line(p, &word, &len);
		line++;
		if (!len || word[0] == '#') {
			continue; /* no Z85 key starts with '#' (see fs_bus_key_load()) */
		}
		if (!is_z85_key(word, len)) {
			fs_error("%s:%u: '%.*s' is not a Z85 CURVE public key (40 characters)", path, line,
				 (int)(len > 48 ? 48 : len), word);
			rc = -EINVAL;
			break;
		}
		uint8_t (*grown)[32] = realloc(*keys, (*count + 1) * sizeof(**keys));
		if (!grown) {
			rc = -ENOMEM;
			break;
		}
		*keys = grown;
		char z85[FS_BUS_KEY_Z85 + 1];
		memcpy(z85, word, FS_BUS_KEY_Z85);
		z85[FS_BUS_KEY_Z85] = '\0';
		zmq_z85_decode((*keys)[*count], z85);
		(*count)++;
	}
	free(text);
	return rc;
}

/*
 * Write a key file whole or not at all: into a temporary file first, then
 * link()ed to @path, which fails if @path exists. A reader polling for the
 * file (the launcher waits for broker.pub) never sees it empty or half written.
 */
static int write_key_file(const char *path, mode_t mode, const char *comment, const char *key)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		fs_error("cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	int rc = 0;
	if (fchmod(fd, mode) < 0 || dprintf(fd, "# %s\n%s\n", comment, key) < 0) {
		rc = -errno;
	}
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
	}
	if (rc == 0 && link(tmp, path) < 0) {
		rc = -errno;
	}
	if (rc < 0) {
		fs_error("cannot create %s: %s", path, rc == -EEXIST ? "it exists (not overwritten)" : strerror(-rc));
	}
	unlink(tmp);
	return rc;
}

int fs_bus_keygen(const char *dir, const char *name, char ret_public[FS_BUS_KEY_Z85 + 1])
{
	char public_key[FS_BUS_KEY_Z85 + 1], secret_key[FS_BUS_KEY_Z85 + 1];
	if (!zmq_has("curve") || zmq_curve_keypair(public_key, secret_key) < 0) {
		fs_error("this libzmq cannot make CURVE keys (zmq_has(\"curve\") is false)");
		return -ENOTSUP;
	}
	char pub_path[4096], secret_path[4096];
	if (snprintf(pub_path, sizeof(pub_path), "%s/%s.pub", dir, name) >= (int)sizeof(pub_path) ||
	    snprintf(secret_path, sizeof(secret_path), "%s/%s.secret", dir, name) >= (int)sizeof(secret_path)) {
		fs_error("key directory name too long");
		return -ENAMETOOLONG;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fs_error("cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (access(pub_path, F_OK) == 0 || access(secret_path, F_OK) == 0) {
		fs_error("%s.pub or %s.secret exists in %s: not overwritten", name, name, dir);
		return -EEXIST;
	}
	int rc = write_key_file(secret_path, 0600,
				"fleetsim CURVE secret key (Z85); keep it private: FLEETSIM_CURVE_SECRET=this file",
				secret_key);
	if (rc == 0) {
		rc = write_key_file(pub_path, 0644,
				    "fleetsim CURVE public key (Z85); add this line to the broker's --allow list",
				    public_key);
		if (rc < 0) {
			unlink(secret_path);
		}
	}
	explicit_bzero(secret_key, sizeof(secret_key));
	if (rc == 0 && ret_public) {
		memcpy(ret_public, public_key, sizeof(public_key));
	}
	return rc;
}

/*
 * CURVE client options on both sockets, and a monitor on each so a refusal
 * by the broker's ZAP handler is reported instead of looking like silence
 * (ZeroMQ otherwise retries the connection quietly).
 */
static int setup_curve(struct fs_bus *bus, const struct fs_bus_options *opts)
{
	const char *server = opts->curve_server ? opts->curve_server : getenv(FS_BUS_ENV_CURVE_SERVER);
	const char *secret = opts->curve_secret ? opts->curve_secret : getenv(FS_BUS_ENV_CURVE_SECRET);
	if (!server || !*server) {
		if (secret && *secret) {
			fs_error("a CURVE secret key but not the broker's public key (" FS_BUS_ENV_CURVE_SERVER ")");
			return -EINVAL;
		}
		return 0; /* plain tcp: an encrypting broker refuses it (fs_bus_auth_status() says so) */
	}
	if (!zmq_has("curve")) {
		fs_error("this libzmq has no CURVE support (zmq_has(\"curve\") is false): cannot join an encrypted "
			 "tcp bus");
		return -ENOTSUP;
	}
	char server_key[FS_BUS_KEY_Z85 + 1], public_key[FS_BUS_KEY_Z85 + 1], secret_key[FS_BUS_KEY_Z85 + 1];
	if (fs_bus_key_load(server, false, server_key) < 0) {
		return -EINVAL;
	}
	int rc = 0;
	if (secret && *secret) {
		if (fs_bus_key_load(secret, true, secret_key) < 0 || zmq_curve_public(public_key, secret_key) < 0) {
			rc = -EINVAL;
		}
	} else if (zmq_curve_keypair(public_key, secret_key) < 0) {
		rc = -errno;
	}
	void *sockets[2] = { bus->pub, bus->sub };
	for (int i = 0; i < 2 && rc == 0; i++) {
		if (zmq_setsockopt(sockets[i], ZMQ_CURVE_SERVERKEY, server_key, FS_BUS_KEY_Z85) < 0 ||
		    zmq_setsockopt(sockets[i], ZMQ_CURVE_PUBLICKEY, public_key, FS_BUS_KEY_Z85) < 0 ||
		    zmq_setsockopt(sockets[i], ZMQ_CURVE_SECRETKEY, secret_key, FS_BUS_KEY_Z85) < 0) {
			fs_error("cannot set up CURVE on the bus sockets: %s", zmq_strerror(errno));
			rc = -EINVAL;
		}
	}
	explicit_bzero(secret_key, sizeof(secret_key));
	return rc;
}

/*
 * tcp: ZeroMQ heartbeats on both sockets (answered by ZeroMQ's I/O thread, so
 * a client busy in a long tick still answers), and a monitor on each that
 * reports a refusal by the broker (instead of a quiet retry) and a connection
 * lost after the handshake (fs_bus_link_lost()).
 */
static int setup_tcp(struct fs_bus *bus)
{
	void *sockets[2] = { bus->pub, bus->sub };
	for (int i = 0; i < 2; i++) {
		char endpoint[64];
		snprintf(endpoint, sizeof(endpoint), "inproc://fs-bus-monitor-%p-%d", (void *)bus, i);
		if (set_int(sockets[i], ZMQ_HEARTBEAT_IVL, FS_BUS_HEARTBEAT_IVL_MS) < 0 ||
		    set_int(sockets[i], ZMQ_HEARTBEAT_TIMEOUT, FS_BUS_HEARTBEAT_TIMEOUT_MS) < 0 ||
		    set_int(sockets[i], ZMQ_HEARTBEAT_TTL, FS_BUS_HEARTBEAT_TIMEOUT_MS) < 0 ||
		    zmq_socket_monitor(sockets[i], endpoint,
				       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
					       ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED) < 0 ||
		    !(bus->monitor[i] = zmq_socket(bus->ctx, ZMQ_PAIR)) || set_int(bus->monitor[i], ZMQ_LINGER, 0) < 0 ||
		    zmq_connect(bus->monitor[i], endpoint) < 0) {
			fs_error("cannot set up the tcp bus sockets: %s", zmq_strerror(errno));
			return -EINVAL;
		}
	}
	return 0;
}

int fs_bus_monitor_read(void *monitor, struct fs_bus_monitor_event *ret)
{
	/* [event u16, value u32][endpoint] */
	zmq_msg_t frame;
	zmq_msg_init(&frame);
	if (zmq_msg_recv(&frame, monitor, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&frame);
		return 0;
	}
	*ret = (struct fs_bus_monitor_event){ 0 };
	bool more = zmq_msg_more(&frame);
	if (zmq_msg_size(&frame) >= 2) {
		memcpy(&ret->event, zmq_msg_data(&frame), sizeof(ret->event));
	}
	if (zmq_msg_size(&frame) >= 6) {
		memcpy(&ret->value, (const char *)zmq_msg_data(&frame) + 2, sizeof(ret->value));
	}
	zmq_msg_close(&frame);
	for (bool first = true; more; first = false) {
		zmq_msg_init(&frame);
		if (zmq_msg_recv(&frame, monitor, ZMQ_DONTWAIT) < 0) {
			more = false;
		} else {
			more = zmq_msg_more(&frame);
			size_t len = zmq_msg_size(&frame);
			len = len < sizeof(ret->endpoint) - 1 ? len : sizeof(ret->endpoint) - 1;
			for (size_t i = 0; first && i < len; i++) {
				char c = ((const char *)zmq_msg_data(&frame))[i];
				ret->endpoint[i] = c >= 0x20 && c < 0x7f ? c : '?';
			}
		}
		zmq_msg_close(&frame);
	}
	return 1;
}

int fs_bus_auth_status(struct fs_bus *bus)
{
	for (int i = 0; i < 2; i++) {
		struct fs_bus_monitor_event ev;
		while (bus->monitor[i] && fs_bus_monitor_read(bus->monitor[i], &ev)) {
			uint16_t event = ev.event;
			if (event == ZMQ_EVENT_DISCONNECTED) {
				/* before the handshake it is a refusal, which the other events report */
				bus->link_lost |= bus->handshake_done;
			} else if (event && !bus->auth_status) {
				if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
					bus->auth_status = -EACCES;
				} else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
					   event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
					/* NO_DETAIL: the broker hung up mid-handshake, as it does on a HELLO
					 * sealed for another key (a wrong broker public key) */
					bus->auth_status = -EPROTO;
				}
			}
		}
	}
	return bus->auth_status;
}

bool fs_bus_link_lost(struct fs_bus *bus)
{
	fs_bus_auth_status(bus);
	return bus->link_lost;
}

struct fs_bus *fs_bus_connect(const struct fs_bus_options *opts)
{
	char address[FS_BUS_ADDRESS_MAX], endpoint[FS_BUS_ADDRESS_MAX];
	if (!opts->address) {
		fs_bus_default_address(address, sizeof(address));
	} else {
		snprintf(address, sizeof(address), "%s", opts->address);
	}
	if (!valid_name(opts->name)) {
		fs_error("bus client needs a name of 1 to 99 printable characters without spaces");
		return NULL;
	}
	struct fs_bus *bus = fs_xcalloc(1, sizeof(*bus));
	snprintf(bus->name, sizeof(bus->name), "%s", opts->name);
	bus->mode = opts->mode;
	bus->max_message_bytes = opts->max_message_bytes ? opts->max_message_bytes : FS_BUS_MAX_MESSAGE_DEFAULT;
	fs_strmap_init(&bus->out_seq, MAX_TRACKED_STREAMS);
	fs_strmap_init(&bus->in_seq, MAX_TRACKED_STREAMS);

	bus->ctx = zmq_ctx_new();
	bus->pub = zmq_socket(bus->ctx, ZMQ_PUB);
	bus->sub = zmq_socket(bus->ctx, ZMQ_SUB);
	if (!bus->ctx || !bus->pub || !bus->sub) {
		fs_error("cannot create ZeroMQ sockets: %s", zmq_strerror(errno));
		goto out_close;
	}
	set_int(bus->pub, ZMQ_LINGER, 2000); /* let the last messages (Bye) leave on close */
	set_int(bus->sub, ZMQ_LINGER, 0);
	set_int(bus->pub, ZMQ_SNDHWM, 0);
	if (opts->mode == FS_BUS_PARTICIPANT) {
		set_int(bus->sub, ZMQ_RCVHWM, 0);
	} else {
		set_int(bus->sub, ZMQ_RCVHWM, opts->observer_hwm > 0 ? opts->observer_hwm : 10000);
	}
	if (fs_bus_endpoint(address, FS_BUS_EP_PUB, endpoint, sizeof(endpoint)) < 0) {
		fs_error("bad bus address '%s' (expected ipc://DIR or tcp://HOST:PORT)", address);
		goto out_close;
	}
	if (fs_bus_dir_check(address, false, NULL) < 0) {
		goto out_close; /* said why, naming the directory */
	}
	if (!strncmp(address, "tcp://", 6) && (setup_curve(bus, opts) < 0 || setup_tcp(bus) < 0)) {
		goto out_close;
	}
	if (zmq_connect(bus->pub, endpoint) < 0) {
		fs_error("cannot connect to %s: %s", endpoint, zmq_strerror(errno));
		goto out_close;
	}
	fs_bus_endpoint(address, opts->mode == FS_BUS_PARTICIPANT ? FS_BUS_EP_SUB : FS_BUS_EP_WATCH,
			endpoint, sizeof(endpoint));
	if (zmq_connect(bus->sub, endpoint) < 0) {
		fs_error("cannot connect to %s: %s", endpoint, zmq_strerror(errno));
		goto out_close;
	}
	return bus;

out_close:
	fs_bus_close(bus);
	return NULL;
}

void fs_bus_message_free(struct fs_bus_message *msg)
{
	if (!msg) {
		return;
	}
	if (msg->env) {
		fleetsim__v1__envelope__free_unpacked(msg->env, NULL);
	}
	free(msg);
}

void fs_bus_close(struct fs_bus *bus)
{
	if (!bus) {
		return;
	}
	while (bus->pending_head) {
		struct pending *p = bus->pending_head;
		bus->pending_head = p->next;
		fs_bus_message_free(p->msg);
		free(p);
	}
	for (int i = 0; i < 2; i++) {
		if (bus->monitor[i]) {
			zmq_close(bus->monitor[i]);
		}
	}
	if (bus->pub) {
		zmq_close(bus->pub);
	}
	if (bus->sub) {
		zmq_close(bus->sub);
	}
	if (bus->ctx) {
		zmq_ctx_term(bus->ctx);
	}
	fs_strmap_finish(&bus->out_seq);
	fs_strmap_finish(&bus->in_seq);
	free(bus->published);
	free(bus);
}

void fs_bus_set_linger(struct fs_bus *bus, int ms)
{
	set_int(bus->pub, ZMQ_LINGER, ms);
}

int fs_bus_subscribe(struct fs_bus *bus, const char *prefix)
{
	if (zmq_setsockopt(bus->sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix)) < 0) {
		return -errno;
	}
	return 0;
}

void fs_bus_set_clock(struct fs_bus *bus, uint64_t tick, int64_t sim_time_ms)
{
	bus->tick = tick;
	bus->sim_time_ms = sim_time_ms;
}

/*
 * Remember the last topic_seq of each topic published since the last
 * fs_bus_clear_published(): a participant's TickDone announces them so its
 * peers know what to wait for. A sender publishes on a handful of topics per
 * tick, so a linear scan beats a map here.
 */
static void note_published(struct fs_bus *bus, const char *topic, size_t topic_len, uint64_t topic_seq)
{
	if (fs_topic_is_control(topic)) {
		return;
	}
	for (size_t i = 0; i < bus->published_len; i++) {
		if (!strcmp(bus->published[i].topic, topic)) {
			bus->published[i].topic_seq = topic_seq;
			return;
		}
	}
	fs_xgrow(bus->published, bus->published_cap, bus->published_len + 1);
	struct fs_bus_watermark *w = &bus->published[bus->published_len++];
	memcpy(w->topic, topic, topic_len + 1);
	w->topic_seq = topic_seq;
}

const char *fs_bus_stamp(struct fs_bus *bus, const char *topic, Fleetsim__V1__Envelope *env)
{
	const struct fs_topic_info *info = fs_topic_by_payload(env->payload_case);
	if (!info) {
		return NULL;
	}
	if (!topic) {
		topic = info->name;
	} else {
		/* a topic of this payload type (veh.state and veh.snapshot share one) */
		const struct fs_topic_info *named = fs_topic_lookup(topic, strlen(topic));
		if (!named || named->payload != info->payload || !fs_topic_valid(topic, strlen(topic))) {
			return NULL;
		}
	}
	uint64_t *topic_seq = fs_strmap_get(&bus->out_seq, topic, strlen(topic));
	if (!topic_seq) {
		return NULL;
	}
	env->schema_version = FS_BUS_SCHEMA_VERSION;
	env->sender = bus->name;
	env->seq = ++bus->seq;
	env->topic_seq = ++*topic_seq;
	env->tick = bus->tick;
	env->sim_time_ms = bus->sim_time_ms;
	note_published(bus, topic, strlen(topic), env->topic_seq);
	return topic;
}

/* Send [topic][body] and count it; @body is consumed either way. */
static int send_message(struct fs_bus *bus, const char *topic, zmq_msg_t *body)
{
	size_t topic_len = strlen(topic), size = zmq_msg_size(body);
	int rc;
	do {
		rc = zmq_send(bus->pub, topic, topic_len, ZMQ_SNDMORE);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		int e = errno;
		zmq_msg_close(body);
		return -e;
	}
	do {
		rc = zmq_msg_send(body, bus->pub, 0);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		int e = errno;
		zmq_msg_close(body);
		return -e;
	}
	bus->stats.msgs_sent++;
	bus->stats.bytes_sent += size + topic_len;
	return 0;
}

int fs_bus_send_stamped(struct fs_bus *bus, const char *topic, const Fleetsim__V1__Envelope *env)
{
	size_t size = fleetsim__v1__envelope__get_packed_size(env);
	zmq_msg_t body;
	if (zmq_msg_init_size(&body, size) < 0) {
		return -ENOMEM;
	}
	fleetsim__v1__envelope__pack(env, zmq_msg_data(&body));
	return send_message(bus, topic, &body);
}

int fs_bus_publish(struct fs_bus *bus, const char *topic, Fleetsim__V1__Envelope *env)
{
	const char *stamped = fs_bus_stamp(bus, topic, env);
	if (!stamped) {
		return -EINVAL;
	}
	return fs_bus_send_stamped(bus, stamped, env);
}

int fs_bus_forward(struct fs_bus *bus, const char *topic, const void *envelope, size_t size)
{
	zmq_msg_t body;
	if (zmq_msg_init_size(&body, size) < 0) {
		return -ENOMEM;
	}
	memcpy(zmq_msg_data(&body), envelope, size);
	return send_message(bus, topic, &body);
}

size_t fs_bus_published(const struct fs_bus *bus, const struct fs_bus_watermark **ret)
{
	*ret = bus->published;
	return bus->published_len;
}

void fs_bus_clear_published(struct fs_bus *bus)
{
	bus->published_len = 0;
}

/* The in_seq key of a (sender, topic) stream: "sender\0topic"; 0 if the names are too long to track. */
static size_t stream_key(const char *sender, const char *topic, char key[256])
{
	int n = snprintf(key, 256, "%s%c%s", sender, '\0', topic);
	return n < 0 || n >= 256 ? 0 : (size_t)n;
}

uint64_t fs_bus_received_seq(const struct fs_bus *bus, const char *sender, const char *topic)
{
	char key[256];
	size_t n = stream_key(sender, topic, key);
	if (!n) {
		return UINT64_MAX; /* never tracked (see track_sequence()): nothing to wait for */
	}
	const uint64_t *last = fs_strmap_find(&bus->in_seq, key, n);
	if (!last) {
		/* full map: new streams are no longer tracked, so waiting could never end */
		return bus->in_seq.count >= bus->in_seq.max_count ? UINT64_MAX : 0;
	}
	return *last;
}

static void drop(struct fs_bus *bus, uint64_t *counter, const char *kind, const char *topic,
		 size_t bytes, const char *sender, const char *why)
{
	(*counter)++;
	if (fs_log_should(*counter)) {
		fs_warn("dropped %s message on topic '%s' (%zu bytes)%s%s%s: %s [%" PRIu64 " %s so far]", kind,
			topic, bytes, sender ? " from '" : "", sender ? sender : "", sender ? "'" : "", why,
			*counter, kind);
	}
}

void fs_bus_reject(struct fs_bus *bus, const struct fs_bus_message *msg, const char *why)
{
	drop(bus, &bus->stats.rejected, "rejected", msg->topic, msg->bytes, msg->env->sender, why);
}

void fs_bus_drop_malformed(struct fs_bus *bus, const char *source, size_t bytes, const char *why)
{
	bus->stats.msgs_received++;
	bus->stats.bytes_received += bytes;
	drop(bus, &bus->stats.malformed, "malformed", source, bytes, NULL, why);
}

/* Printable copy of an untrusted topic frame for log messages. */
static void printable_topic(const char *data, size_t len, char *buf, size_t size)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 5 < size; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c >= 0x20 && c < 0x7f) {
			buf[n++] = (char)c;
		} else {
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
		}
	}
	buf[n] = '\0';
}

static void track_sequence(struct fs_bus *bus, const struct fs_bus_message *msg)
{
	char key[256];
	size_t n = stream_key(msg->env->sender, msg->topic, key);
	if (!n) {
		return;
	}
	uint64_t *last = fs_strmap_get(&bus->in_seq, key, n);
	if (!last) {
		return; /* too many streams to track: stop counting new ones, never grow */
	}
	uint64_t seq = msg->env->topic_seq;
	if (*last && seq > *last + 1) {
		uint64_t missing = seq - *last - 1;
		bus->stats.gaps += missing;
		if (fs_log_should(bus->stats.gaps)) {
			fs_warn("%" PRIu64 " message(s) missing from '%s' on topic '%s' (sequence %" PRIu64
				" after %" PRIu64 ") [%" PRIu64 " gaps so far]",
				missing, msg->env->sender, msg->topic, seq, *last, bus->stats.gaps);
		}
	}
	/* A sender that restarted counts from 1 again: follow it rather than count. */
	*last = seq;
}

/*
 * Validate one [topic][envelope] pair (from the bus or a control socket) into
 * an fs_bus_message. Returns 1 with *ret set, or 0 when it was bad: counted,
 * logged (rate limited) and dropped.
 */
static int decode(struct fs_bus *bus, const char *tdata, size_t tlen, const void *body, size_t body_len,
		  size_t total, struct fs_bus_message **ret)
{
	char topic[FS_TOPIC_MAX * 4 + 8];
	printable_topic(tdata, tlen, topic, sizeof(topic));
	if (!fs_topic_valid(tdata, tlen)) {
		drop(bus, &bus->stats.malformed, "malformed", topic, total, NULL, "topic is not printable ASCII of 1-127 bytes");
		return 0;
	}
	if (total > bus->max_message_bytes) {
		char why[96];
		snprintf(why, sizeof(why), "larger than the limit of %zu bytes", bus->max_message_bytes);
		drop(bus, &bus->stats.oversize, "oversize", topic, total, NULL, why);
		return 0;
	}
	const struct fs_topic_info *info = fs_topic_lookup(tdata, tlen);
	Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, body_len, body);
	if (!env) {
		drop(bus, &bus->stats.malformed, "malformed", topic, total, NULL,
		     "not a valid fleetsim.v1.Envelope (bad or truncated protobuf)");
		return 0;
	}
	const char *why = NULL;
	uint64_t *counter = &bus->stats.malformed;
	const char *kind = "malformed";
	char buf[160];
	if (!valid_name(env->sender)) {
		why = env->sender && *env->sender ? "sender is not 1-99 printable characters" : "envelope has no sender";
		drop(bus, counter, kind, topic, total, NULL, why);
		fleetsim__v1__envelope__free_unpacked(env, NULL);
		return 0;
	}
	if (env->schema_version != FS_BUS_SCHEMA_VERSION) {
		snprintf(buf, sizeof(buf), "schema version %u, this build speaks %d", env->schema_version,
			 FS_BUS_SCHEMA_VERSION);
		why = buf;
		counter = &bus->stats.rejected;
		kind = "rejected";
	} else if (!info || env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD__NOT_SET) {
		why = !info ? "topic not in the fleetsim.v1 registry" : "payload type unknown to this build";
		counter = &bus->stats.unknown;
		kind = "unknown";
	} else if (info->payload != env->payload_case) {
		const struct fs_topic_info *actual = fs_topic_by_payload(env->payload_case);
		snprintf(buf, sizeof(buf), "payload is %s, topic expects %s",
			 actual ? actual->descriptor->name : "unknown", info->descriptor->name);
		why = buf;
	}
	if (why) {
		drop(bus, counter, kind, topic, total, env->sender, why);
		fleetsim__v1__envelope__free_unpacked(env, NULL);
		return 0;
	}
	struct fs_bus_message *msg = fs_xcalloc(1, sizeof(*msg));
	memcpy(msg->topic, tdata, tlen);
	msg->topic[tlen] = '\0';
	msg->info = info;
	msg->env = env;
	msg->bytes = total;
	*ret = msg;
	return 1;
}

int fs_bus_decode(struct fs_bus *bus, const char *topic, size_t topic_len, const void *body, size_t body_len,
		  struct fs_bus_message **ret)
{
	bus->stats.msgs_received++;
	bus->stats.bytes_received += topic_len + body_len;
	return decode(bus, topic, topic_len, body, body_len, topic_len + body_len, ret);
}

/*
 * Receive one ZeroMQ message (all its frames) and turn it into a validated
 * fs_bus_message. Returns 1 with *ret set, 0 if the message was bad and
 * dropped, -EAGAIN if nothing was waiting, other -errno on failure.
 */
static int receive_one(struct fs_bus *bus, struct fs_bus_message **ret)
{
	zmq_msg_t frames[2];
	zmq_msg_init(&frames[0]);
	zmq_msg_init(&frames[1]);
	int nframes = 0, rc = 0;
	size_t total = 0;
	bool more = true;
	while (more) {
		zmq_msg_t *f = &frames[nframes < 2 ? nframes : 1];
		if (nframes >= 2) {
			zmq_msg_close(f);
			zmq_msg_init(f);
		}
		if (zmq_msg_recv(f, bus->sub, ZMQ_DONTWAIT) < 0) {
			rc = -errno;
			if (nframes == 0) {
				goto out;
			}
			/* Frames of one message arrive together; a failure mid-way is a broken socket. */
			goto out;
		}
		total += zmq_msg_size(f);
		more = zmq_msg_more(f);
		nframes++;
	}
	bus->stats.msgs_received++;
	bus->stats.bytes_received += total;

	if (nframes != 2) {
		char topic[FS_TOPIC_MAX * 4 + 8];
		printable_topic(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]), topic, sizeof(topic));
		drop(bus, &bus->stats.malformed, "malformed", topic, total, NULL,
		     nframes == 1 ? "one frame, expected [topic][envelope]" : "more than two frames");
		goto out;
	}
	rc = decode(bus, zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]), zmq_msg_data(&frames[1]),
		    zmq_msg_size(&frames[1]), total, ret);
	if (rc == 1) {
		track_sequence(bus, *ret);
	}
out:
	zmq_msg_close(&frames[0]);
	zmq_msg_close(&frames[1]);
	return rc;
}

bool fs_bus_has_pending(const struct fs_bus *bus)
{
	return bus->pending_head != NULL;
}

int fs_bus_recv(struct fs_bus *bus, struct fs_bus_message **ret, int timeout_ms)
{
	if (bus->pending_head) {
		struct pending *p = bus->pending_head;
		bus->pending_head = p->next;
		if (!bus->pending_head) {
			bus->pending_tail = NULL;
		}
		*ret = p->msg;
		free(p);
		return 0;
	}
	int64_t deadline = timeout_ms >= 0 ? fs_clock_now_ms() + timeout_ms : -1;
	for (;;) {
		int rc = receive_one(bus, ret);
		if (rc == 1) {
			return 0;
		}
		if (rc == 0) {
			continue; /* a bad message was dropped; look for the next one */
		}
		if (rc != -EAGAIN) {
			return rc;
		}
		long wait = -1;
		if (deadline >= 0) {
			wait = (long)(deadline - fs_clock_now_ms());
			if (wait <= 0) {
				return -EAGAIN;
			}
		}
		zmq_pollitem_t item = { .socket = bus->sub, .events = ZMQ_POLLIN };
		if (zmq_poll(&item, 1, wait) < 0) {
			return -errno;
		}
	}
}

static void queue_pending(struct fs_bus *bus, struct fs_bus_message *msg)
{
	struct pending *p = fs_xcalloc(1, sizeof(*p));
	p->msg = msg;
	if (bus->pending_tail) {
		bus->pending_tail->next = p;
	} else {
		bus->pending_head = p;
	}
	bus->pending_tail = p;
}

int fs_bus_handshake(struct fs_bus *bus, int timeout_ms)
{
	char topic[FS_TOPIC_MAX];
	snprintf(topic, sizeof(topic), "ctl.hello/%s", bus->name);
	int rc = fs_bus_subscribe(bus, topic);
	if (rc < 0) {
		return rc;
	}
	/* The nonce tells this handshake's hellos from a previous client's of the same name. */
	uint64_t nonce = (uint64_t)fs_clock_now_us() ^ ((uint64_t)getpid() << 32);
	int64_t deadline = fs_clock_now_ms() + timeout_ms;
	while (fs_clock_now_ms() < deadline) {
		struct fs_control_msg m = { 0 }; /* a Hello has no arrays: nothing to finish */
		const struct fs_control_hello hello = { nonce };
		if ((rc = fs_bus_publish(bus, topic, fs_control_msg_encode_hello(&m, &hello))) < 0) {
			return rc;
		}
		int64_t retry = fs_clock_now_ms() + 25;
		while (fs_clock_now_ms() < retry) {
			struct fs_bus_message *msg = NULL;
			/* Read the socket directly: pending messages are what we queue here. */
			rc = receive_one(bus, &msg);
			if (rc == 1) {
				struct fs_control_in in = { 0 }; /* a Hello has no arrays: nothing to finish */
				if (fs_control_msg_kind(msg->env) == FS_CONTROL_HELLO && !strcmp(msg->env->sender, bus->name)) {
					bool ours = !fs_control_msg_decode(msg->env, &in) && in.hello.nonce == nonce;
					fs_bus_message_free(msg);
					if (ours) {
						bus->handshake_done = true;
						zmq_setsockopt(bus->sub, ZMQ_UNSUBSCRIBE, topic, strlen(topic));
						return 0;
					}
					continue;
				}
				queue_pending(bus, msg);
				continue;
			}
			if (rc == 0) {
				continue;
			}
			if (rc != -EAGAIN) {
				return rc;
			}
			zmq_pollitem_t item = { .socket = bus->sub, .events = ZMQ_POLLIN };
			long wait = (long)(retry - fs_clock_now_ms());
			if (zmq_poll(&item, 1, wait > 0 ? wait : 0) < 0 && errno != EINTR) {
				return -errno;
			}
			if ((rc = fs_bus_auth_status(bus)) < 0) {
				return rc; /* the broker refused our key: retrying cannot help */
			}
		}
	}
	return -ETIMEDOUT;
}

void *fs_bus_socket(struct fs_bus *bus)
{
	return bus->sub;
}

const char *fs_bus_name(const struct fs_bus *bus)
{
	return bus->name;
}

const struct fs_bus_stats *fs_bus_get_stats(const struct fs_bus *bus)
{
	return &bus->stats;
}

