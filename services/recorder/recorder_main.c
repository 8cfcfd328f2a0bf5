/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-recorder - record every message of a fleetsim bus into an MCAP file.
 *
 * It reads the broker's capture tap (a PUB socket that gets a copy of every
 * message the broker forwards) with no receive limit, so the broker's tap
 * queue (--tap-hwm, 1,000,000 messages) is the only place a message can be
 * lost; a lost message shows as a gap in its (sender, topic) sequence and is
 * counted and reported. Before it reports ready it proves the tap is live: it
 * publishes hellos on the bus until one comes back through the tap (ZeroMQ's
 * slow joiner would otherwise lose the first messages of the run).
 *
 * Chunks are written as they fill, and at least every --flush-ms, so a
 * recorder killed with SIGKILL leaves a file readable up to its last chunk
 * (`fleetctl info` reads it; `fleetctl recover` rewrites it with an index).
 * SIGINT/SIGTERM: take what is still queued, write the summary, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_control_msg.h"
#include "fs_log.h"
#include "fs_service.h"
#include "recorder.h"

#define HANDSHAKE_MS 10000
#define END_QUIET_MS 1000     /* after ctl.end: stop once nothing but chatter came this long */
#define END_MAX_MS 20000      /* ... or this long after ctl.end at most */
#define DRAIN_MS 1000         /* on a signal: take what is queued for at most this long */

static volatile sig_atomic_t stop;

/* "fleetctl record" when run so (fleetctl execs us with that argv[0]), else our own name. */
static const char *program = "fs-recorder";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s FILE [options] [-- RUN-ARGS...]\n"
		"\n"
		"Record every message on a fleetsim bus into an MCAP file (Foxglove, Lichtblick,\n"
		"`fleetctl info|play|export`, `fleetsim replay --verify`). Stop it with Ctrl-C or SIGTERM.\n"
		"\n"
		"Options:\n"
		"  --bus ADDR          bus address (default $FLEETSIM_BUS, else\n"
		"                      ipc://$XDG_RUNTIME_DIR/fleetsim or ipc:///tmp/fleetsim-UID)\n"
		"  FILE, --out FILE    the MCAP file to write (replaced if it exists)\n"
		"  --name NAME         bus client name (default recorder-PID)\n"
		"  --ready-file PATH   create PATH once the tap is proven live (for launchers)\n"
		"  --exit-on-end       exit by itself once the run has ended (ctl.end, then quiet)\n"
		"  --chunk-size N      chunk size in bytes (default 4194304)\n"
		"  --flush-ms N        write an open chunk at least every N ms (default 1000)\n"
		"  --compression C     none (default) or zstd\n"
		"  --fleet-every S     the fleet for Foxglove's Map panel (/fleet/geojson,\n"
		"                      /fleet/center) every S simulated seconds; 0 = none\n"
		"                      (default 5, less often for fleets over 250 vehicles)\n"
		"  --meta KEY=VALUE    add to the file's \"fleetsim.run\" metadata (repeatable)\n"
		"  -- RUN-ARGS         the `fleetsim run` arguments of the run, kept in the\n"
		"                      metadata so `fleetsim replay` can run it again; the file of\n"
		"                      a --scenario argument is embedded\n"
		"  -q, --quiet         no final report\n"
		"  --version           print the version\n"
		"  -h, --help          this text\n",
		program);
}

static int recv_message(void *tap, zmq_msg_t *topic, zmq_msg_t *body, bool *bad)
{
	*bad = false;
	if (zmq_msg_recv(topic, tap, ZMQ_DONTWAIT) < 0) {
		return -errno;
	}
	if (!zmq_msg_more(topic)) {
		*bad = true;
		return 0;
	}
	/* Frames of one message arrive together. */
	if (zmq_msg_recv(body, tap, 0) < 0) {
		return -errno;
	}
	while (zmq_msg_more(body)) {
		*bad = true;
		if (zmq_msg_recv(body, tap, 0) < 0) {
			return -errno;
		}
	}
	return 0;
}

struct session {
	void *ctx, *tap;
	struct fs_bus *bus;
	struct recorder *rec;
	const char *name;
	uint64_t malformed_frames;
};

/* Receive what is queued (at most @max messages). Returns count or -errno. */
/*
 * Periodic chatter that goes on after a run ended (the broker's counters, the
 * conductor's status, heartbeats): recorded, but not a sign that the run is
 * still producing anything.
 */
static bool is_chatter(const char *topic, size_t len)
{
	static const char *const topics[] = { "kpi/broker", "ctl.status", "ctl.heartbeat" };
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		if (len == strlen(topics[i]) && !memcmp(topic, topics[i], len)) {
			return true;
		}
	}
	return false;
}

/* Record up to @max waiting messages; @ret_news counts those that are not chatter. */
static int drain(struct session *s, int max, int *ret_news)
{
	zmq_msg_t topic, body;
	int n = 0;
	zmq_msg_init(&topic);
	zmq_msg_init(&body);
	for (; n < max; n++) {
		bool bad;
		int rc = recv_message(s->tap, &topic, &body, &bad);
		if (rc == -EAGAIN) {
			break;
		}
		if (rc == -EINTR) {
			continue;
		}
		if (rc < 0) {
			n = rc;
			break;
		}
		if (bad) {
			s->malformed_frames++;
			continue;
		}
		if (ret_news && !is_chatter(zmq_msg_data(&topic), zmq_msg_size(&topic))) {
			(*ret_news)++;
		}
		rc = recorder_write(s->rec, zmq_msg_data(&topic), zmq_msg_size(&topic), zmq_msg_data(&body),
				    zmq_msg_size(&body), recorder_wall_ns());
		if (rc < 0) {
			fs_error("cannot write the recording: %s", strerror(-rc));
			n = rc;
			break;
		}
	}
	zmq_msg_close(&topic);
	zmq_msg_close(&body);
	return n;
}

/* Publish hellos until one of ours comes back through the tap (recorded like any message). */
static int handshake(struct session *s)
{
	char topic[FS_TOPIC_MAX];
	snprintf(topic, sizeof(topic), "ctl.hello/%s", s->name);
	int64_t deadline = fs_clock_now_ms() + HANDSHAKE_MS;
	uint64_t seen_before = 0;
	while (!stop && fs_clock_now_ms() < deadline) {
		struct fs_control_msg m = { 0 }; /* a Hello has no arrays: nothing to finish */
		const struct fs_control_hello hello = { (uint64_t)getpid() };
		int rc = fs_bus_publish(s->bus, topic, fs_control_msg_encode_hello(&m, &hello));
		if (rc < 0) {
			return rc;
		}
		int64_t retry = fs_clock_now_ms() + 50;
		while (fs_clock_now_ms() < retry) {
			zmq_pollitem_t item = { .socket = s->tap, .events = ZMQ_POLLIN };
			zmq_poll(&item, 1, 10);
			zmq_msg_t t, b;
			zmq_msg_init(&t);
			zmq_msg_init(&b);
			bool bad;
			while (recv_message(s->tap, &t, &b, &bad) == 0) {
				if (bad) {
					continue;
				}
				bool ours = zmq_msg_size(&t) == strlen(topic) && !memcmp(zmq_msg_data(&t), topic, strlen(topic));
				recorder_write(s->rec, zmq_msg_data(&t), zmq_msg_size(&t), zmq_msg_data(&b), zmq_msg_size(&b),
					       recorder_wall_ns());
				if (ours) {
					seen_before++;
				}
			}
			zmq_msg_close(&t);
			zmq_msg_close(&b);
			if (seen_before) {
				return 0;
			}
		}
	}
	return stop ? -EINTR : -ETIMEDOUT;
}

/* The command line. */
struct recorder_args {
	const char *bus, *out, *ready_file, *name;
	bool exit_on_end, quiet, fleet_given;
	uint64_t chunk_bytes, flush_ms, fleet_every_s;
	struct recorder_options ro;
	struct fs_mcap_kv meta[16];
	size_t n_meta;
	int run_argc;    /* the run's arguments, after "--" */
	char **run_argv;
	char address[FS_BUS_ADDRESS_MAX], endpoint[FS_BUS_ADDRESS_MAX], name_buf[64];
};

static int parse_compression(void *target, const char *arg)
{
	enum fs_mcap_compression *compression = target;
	if (!strcmp(arg, "none")) {
		*compression = FS_MCAP_COMPRESSION_NONE;
	} else if (!strcmp(arg, "zstd") && fs_mcap_compression_supported(FS_MCAP_COMPRESSION_ZSTD)) {
		*compression = FS_MCAP_COMPRESSION_ZSTD;
	} else {
		fs_error("--compression: '%s' is not none%s", arg,
			 fs_mcap_compression_supported(FS_MCAP_COMPRESSION_ZSTD) ? " or zstd" : " (zstd is not in this build)");
		return 2;
	}
	return 0;
}

static int add_meta(void *target, const char *arg)
{
	struct recorder_args *a = target;
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg || a->n_meta == 16) {
		fs_error("--meta: '%s' is not KEY=VALUE (at most 16)", arg);
		return 2;
	}
	*eq = '\0'; /* in argv: the key and the value stay where they are */
	a->meta[a->n_meta++] = (struct fs_mcap_kv){ arg, eq + 1 };
	return 0;
}

/* Options and FILE before "--", the run's arguments after it. */
static int parse_args(int argc, char **argv, struct recorder_args *a)
{
	const struct fs_opt opts[] = {
		{ "bus", FS_OPT_STRING, &a->bus },
		{ "out", FS_OPT_STRING, &a->out },
		{ "name", FS_OPT_STRING, &a->name },
		{ "ready-file", FS_OPT_STRING, &a->ready_file },
		{ "exit-on-end", FS_OPT_SET, &a->exit_on_end },
		{ "chunk-size", FS_OPT_U64, &a->chunk_bytes, .min = 1024, .max = (uint64_t)1 << 30,
		  .what = "a size in bytes (1024..1073741824)" },
		{ "flush-ms", FS_OPT_U64, &a->flush_ms, .min = 1, .max = 3600000, .what = "a time in ms (1..3600000)" },
		{ "compression", FS_OPT_CALL, &a->ro.compression, .call = parse_compression },
		{ "meta", FS_OPT_CALL, a, .call = add_meta },
		{ "fleet-every", FS_OPT_U64, &a->fleet_every_s, &a->fleet_given, .max = 86400,
		  .what = "a number of simulated seconds (0..86400)" },
		{ "quiet", FS_OPT_SET, &a->quiet, .short_name = 'q' },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = program, .usage = usage, .opts = opts, .operands = true };
	int operand = 0, dd = 0;
	int rc = fs_service_parse_before_dashes(&spec, argc, argv, &operand, &dd);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	a->ro.chunk_bytes = (size_t)a->chunk_bytes;
	a->ro.flush_ms = (int)a->flush_ms;
	if (a->fleet_given) {
		a->ro.fleet_every_ms = a->fleet_every_s ? (int64_t)a->fleet_every_s * 1000 : -1;
	}
	if (!a->out && operand < dd) {
		a->out = argv[operand++]; /* fs-recorder FILE */
	}
	if (operand < dd) {
		fs_error("unexpected argument '%s' (the run's arguments go after --)", argv[operand]);
		return 2;
	}
	if (!a->out) {
		fs_error("which file? (`%s FILE`; try --help)", program);
		return 2;
	}
	a->run_argc = dd < argc ? argc - dd - 1 : 0;
	a->run_argv = argv + (dd < argc ? dd + 1 : argc);
	if (!a->bus) {
		a->bus = fs_bus_default_address(a->address, sizeof(a->address));
	}
	if (fs_bus_endpoint(a->bus, FS_BUS_EP_TAP, a->endpoint, sizeof(a->endpoint)) < 0) {
		fs_error("--bus: '%s' is not ipc://DIR or tcp://HOST:PORT", a->bus);
		return 2;
	}
	if (fs_bus_dir_check(a->bus, false, NULL) < 0) {
		return 1; /* the tap is not connected through a directory someone else controls */
	}
	if (!a->name) {
		snprintf(a->name_buf, sizeof(a->name_buf), "recorder-%d", (int)getpid());
		a->name = a->name_buf;
	}
	return FS_SERVICE_GO_ON;
}

/* The file, the tap, the bus, and proof the tap is live; then the ready file. 0 or -1 (said why). */
static int session_open(struct session *s, const struct recorder_args *a)
{
	struct fs_error err = { "" };
	s->rec = recorder_open(a->out, &a->ro, &err);
	if (!s->rec) {
		fs_error("%s", err.message);
		return -1;
	}
	int rc = recorder_add_run(s->rec, a->run_argc, a->run_argv, a->meta, a->n_meta);
	if (rc < 0) {
		fs_error("%s: cannot write the run metadata: %s", a->out, strerror(-rc));
		return -1;
	}
	s->ctx = zmq_ctx_new();
	s->tap = zmq_socket(s->ctx, ZMQ_SUB);
	int zero = 0, big = 8 << 20;
	zmq_setsockopt(s->tap, ZMQ_RCVHWM, &zero, sizeof(zero)); /* never drop on our side */
	zmq_setsockopt(s->tap, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s->tap, ZMQ_RCVBUF, &big, sizeof(big));
	zmq_setsockopt(s->tap, ZMQ_SUBSCRIBE, "", 0);
	if (zmq_connect(s->tap, a->endpoint) < 0) {
		fs_error("cannot connect to %s: %s", a->endpoint, zmq_strerror(errno));
		return -1;
	}
	struct fs_bus_options bo = { .address = a->bus, .name = a->name, .mode = FS_BUS_OBSERVER, .observer_hwm = 1 };
	s->bus = fs_bus_connect(&bo);
	if (!s->bus) {
		return -1;
	}
	fs_bus_set_linger(s->bus, 0);
	rc = handshake(s);
	if (rc < 0) {
		if (rc != -EINTR) {
			fs_error("no broker answers on %s (is a simulation running? --bus?)", a->bus);
		}
		return -1;
	}
	if (a->ready_file) {
		int fd = open(a->ready_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			fs_error("cannot create %s: %s", a->ready_file, strerror(errno));
			return -1;
		}
		dprintf(fd, "%d\n", (int)getpid());
		close(fd);
	}
	return 0;
}

/* Record until a signal, or (--exit-on-end) the run ended and went quiet. 0 or -1 (said why). */
static int record(struct session *s, const struct recorder_args *a)
{
	int64_t started = fs_clock_now_ms(), last_msg = started, end_seen_at = 0;
	while (!stop) {
		zmq_pollitem_t item = { .socket = s->tap, .events = ZMQ_POLLIN };
		if (zmq_poll(&item, 1, 100) < 0 && errno != EINTR) {
			fs_error("poll failed: %s", zmq_strerror(errno));
			return -1;
		}
		int news = 0;
		if (drain(s, 4096, &news) < 0) {
			return -1;
		}
		int64_t now = fs_clock_now_ms();
		if (news > 0) {
			last_msg = now;
		}
		int rc = recorder_poll(s->rec, now);
		if (rc < 0) {
			fs_error("cannot write the recording: %s", strerror(-rc));
			return -1;
		}
		if (a->exit_on_end && recorder_get_stats(s->rec)->seen_end) {
			if (!end_seen_at) {
				end_seen_at = now;
			}
			if (now - last_msg >= END_QUIET_MS || now - end_seen_at >= END_MAX_MS) {
				break;
			}
		}
	}
	return 0;
}

/* Take what is still queued, close the file, report. The exit status. */
static int session_finish(struct session *s, const struct recorder_args *a, int64_t started)
{
	/* Stopped: what the broker already sent is still worth keeping. */
	int64_t drain_until = fs_clock_now_ms() + DRAIN_MS;
	while (fs_clock_now_ms() < drain_until) {
		zmq_pollitem_t item = { .socket = s->tap, .events = ZMQ_POLLIN };
		zmq_poll(&item, 1, 50);
		if (drain(s, 4096, NULL) <= 0) {
			break;
		}
	}
	int status = 0;
	double secs = (double)(fs_clock_now_ms() - started) / 1000.0;
	int rc = recorder_finish(s->rec);
	const struct recorder_stats st = *recorder_get_stats(s->rec);
	int crc = recorder_close(s->rec);
	rc = rc < 0 ? rc : crc;
	s->rec = NULL;
	if (rc < 0) {
		fs_error("cannot finish %s: %s", a->out, strerror(-rc));
		status = 1;
	}
	if (!a->quiet) {
		fs_info("recorded %" PRIu64 " messages (%.1f MB) in %" PRIu64 " chunks to %s in %.1f s; "
			"%" PRIu64 " lost (sequence gaps), %" PRIu64 " malformed not recorded; "
			"%" PRIu64 " fleet samples for Foxglove",
			st.messages, (double)st.bytes / 1e6, st.chunks, a->out, secs, st.gaps,
			st.malformed + s->malformed_frames, st.fleet_samples);
	}
	if (st.gaps) {
		fs_warn("%" PRIu64 " message(s) were lost before reaching the recorder (see the warnings above)", st.gaps);
	}
	return status;
}

int main(int argc, char **argv)
{
	if (fs_service_begin_as(argc, argv, "fs-recorder", "fleetctl record", &program)) {
		return 0;
	}
	struct recorder_args a = { 0 };
	int rc = parse_args(argc, argv, &a);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	fs_service_catch_stop(&stop);
	signal(SIGPIPE, SIG_IGN);

	int status = 1;
	struct session s = { .name = a.name };
	if (session_open(&s, &a) == 0) {
		if (!a.quiet) {
			fs_info("recording %s to %s", a.bus, a.out);
		}
		int64_t started = fs_clock_now_ms();
		if (record(&s, &a) == 0) {
			status = session_finish(&s, &a, started);
		}
	}
	recorder_close(s.rec);
	fs_bus_close(s.bus);
	if (s.tap) {
		zmq_close(s.tap);
	}
	if (s.ctx) {
		zmq_ctx_term(s.ctx);
	}
	return status;
}
