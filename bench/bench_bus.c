/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_bus - the bus's figures (docs/bus.md).
 *
 * 1. Throughput of per-tick batch messages through fs-broker against raw
 *    ZeroMQ PUB/SUB, measured in the same run: a publisher process sends
 *    [topic][VehicleStateBatch envelope] messages of about 1 KiB, 64 KiB and
 *    4 MiB (a 100,000-vehicle batch is ~4 MB) to a subscriber process, over
 *    ipc, either directly (PUB bound, SUB connected), through libzmq's own
 *    zmq_proxy() between an XSUB and a lossless XPUB (the least any
 *    XSUB/XPUB broker does: the price of the hop itself), or through the
 *    broker (publisher -> pub endpoint -> broker -> lossless sub endpoint ->
 *    subscriber). Both sides are lossless (no high-water mark), so the
 *    publisher keeps at most a window of messages in flight (credit from the
 *    subscriber on a separate PUSH/PULL pair, the same in both modes), as
 *    lockstep keeps one tick's output in flight. The subscriber checks every
 *    message arrives, in order (a sequence number in the topic), whole.
 *    Time: from the publisher's first send to the subscriber's last receipt.
 *    A fan-out table sends to two subscribers (a participant and the
 *    recorder on the tap, as in a run with --record). The three alternate;
 *    each figure is the best of the runs (on a shared machine the slower
 *    ones measure the machine's other work).
 * 2. Lockstep cost per tick: fs-broker, fs-conductor --speed max and N
 *    participants (tests/integration/test_participant.c built as
 *    fs-bench-participant, --publish 0: no work, only the barrier), reading
 *    the conductor's tick wall-time percentiles from summary.json.
 *
 * Options: --quick (fewer messages and ticks), --part 1|2 (only one of
 * them), --size LABEL (one message size), --ticks N, --participants N,
 * --reps N. Processes are found beside this program (../services/fs-broker,
 * ../services/fs-conductor, ./fs-bench-participant).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_clock.h"
#include "envelope.pb-c.h"
#include "fs/rng.h"
#include "fs_vehicle_msg.h"
#include "fs_bus.h"
#include "fs_args.h"
#include "fs_paths.h"
#include "fs_service.h"

#define MAX_REPS 15
#define TOPIC_BASE "veh.state/"

static char work_dir[] = "/tmp/fsbench.XXXXXX";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_bus: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void set_int(void *s, int opt, int v)
{
	zmq_setsockopt(s, opt, &v, sizeof(v));
}

/* A socket of @type that lingers @linger_ms on close; @hwm (ZMQ_SNDHWM, ZMQ_RCVHWM or 0: none) set to 0, no limit. */
static void *open_socket(void *ctx, int type, int hwm, int linger_ms)
{
	void *s = zmq_socket(ctx, type);
	if (hwm) {
		set_int(s, hwm, 0);
	}
	set_int(s, ZMQ_LINGER, linger_ms);
	return s;
}

/* ---- 1. throughput ----------------------------------------------------- */

/* A VehicleStateBatch envelope of @vehicles full records (realistic field mix; a keyframe). */
static uint8_t *make_body(uint32_t vehicles, size_t *ret_len)
{
	struct fs_rng rng;
	fs_rng_init(&rng, 1, FS_RNG_STREAM_TEST, vehicles);
	struct fs_vehicle_record *recs = calloc(vehicles ? vehicles : 1, sizeof(*recs));
	const int64_t t = 1843560000000LL;
	for (uint32_t i = 0; i < vehicles; i++) {
		float len = (float)(20 + fs_rng_uniform(&rng) * 180);
		recs[i] = fs_vehicle_record_standing(i, 3 + (int)fs_rng_below(&rng, 7), (uint32_t)fs_rng_below(&rng, 400000),
						     0.0, fs_rng_uniform(&rng) * 40000 - 20000,
						     fs_rng_uniform(&rng) * 40000 - 20000, fs_rng_uniform(&rng), t);
		recs[i].seg_to_m = len;
		recs[i].seg_start_ms = t - (int64_t)fs_rng_below(&rng, 10000);
		recs[i].seg_end_ms = recs[i].seg_start_ms + 2000 + (int64_t)fs_rng_below(&rng, 20000);
		recs[i].odometer_m = fs_rng_uniform(&rng) * 1e6;
	}
	struct fs_vehicle_msg m = { 0 };
	struct fs_vehicle_batch_info info = { .shard_count = 1, .origin_lat = 33.749, .origin_lon = -84.388, .full = true };
	if (fs_vehicle_msg_encode_records(&m, &info, recs, vehicles, t) < 0) {
		die("out of memory");
	}
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.schema_version = FS_BUS_SCHEMA_VERSION;
	env.sender = (char *)"vehicle-0";
	env.seq = env.topic_seq = 1;
	env.sim_time_ms = t;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES;
	env.vehicle_states = &m.batch;
	size_t len = fleetsim__v1__envelope__get_packed_size(&env);
	uint8_t *buf = malloc(len);
	if (!buf) {
		die("out of memory");
	}
	fleetsim__v1__envelope__pack(&env, buf);
	fs_vehicle_msg_finish(&m);
	free(recs);
	*ret_len = len;
	return buf;
}

/* The largest batch whose envelope fits in @target bytes. */
static uint8_t *make_body_near(size_t target, size_t *ret_len, uint32_t *ret_vehicles)
{
	uint32_t lo = 1, hi = 1;
	size_t len;
	for (;;) {
		free(make_body(hi, &len));
		if (len > target) {
			break;
		}
		lo = hi;
		hi *= 2;
	}
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		free(make_body(mid, &len));
		*(len <= target ? &lo : &hi) = mid;
	}
	*ret_vehicles = lo;
	return make_body(lo, ret_len);
}

enum ack_kind { ACK_WARM = 1, ACK_CREDIT, ACK_DONE };

#define MAX_SUBS 2

struct ack {
	uint32_t kind;
	uint32_t sub; /* which subscriber */
	uint64_t count;
	int64_t t_ns;
	uint64_t errors;
};

struct tp_run {
	pid_t relay; /* 0: raw, PUB straight to SUB; else the relay's pid (fs-broker or zmq_proxy) */
	const char *what;
	bool codec;                        /* pack / unpack every message, as fs_bus clients do */
	const Fleetsim__V1__Envelope *env; /* decoded body, for packing */
	const uint8_t *body;
	size_t len;
	uint64_t count;
	unsigned window;
	int nsubs;                                  /* 1, or 2 for the fan-out table */
	char data_ep[MAX_SUBS][FS_BUS_ADDRESS_MAX]; /* where each subscriber connects */
	char pub_ep[FS_BUS_ADDRESS_MAX];  /* where the publisher binds (raw) or connects (broker) */
	char ack_ep[FS_BUS_ADDRESS_MAX];
};

static void send_ack(void *push, int sub, enum ack_kind kind, uint64_t count, int64_t t_ns, uint64_t errors)
{
	struct ack a = { kind, (uint32_t)sub, count, t_ns, errors };
	zmq_send(push, &a, sizeof(a), 0);
}

static int subscriber(const struct tp_run *r, int id)
{
	void *ctx = zmq_ctx_new();
	void *sub = open_socket(ctx, ZMQ_SUB, ZMQ_RCVHWM, 0);
	void *push = open_socket(ctx, ZMQ_PUSH, 0, 2000);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, TOPIC_BASE, strlen(TOPIC_BASE));
	if (zmq_connect(sub, r->data_ep[id]) < 0 || zmq_connect(push, r->ack_ep) < 0) {
		return 1;
	}
	uint64_t expected = 0, errors = 0, credit_every = r->window / 4 ? r->window / 4 : 1;
	bool warm = false;
	zmq_msg_t topic, body;
	zmq_msg_init(&topic);
	zmq_msg_init(&body);
	while (expected < r->count) {
		if (zmq_msg_recv(&topic, sub, 0) < 0 || zmq_msg_recv(&body, sub, 0) < 0) {
			return 1;
		}
		const char *t = zmq_msg_data(&topic);
		size_t tlen = zmq_msg_size(&topic);
		size_t base = strlen(TOPIC_BASE);
		if (tlen == base + 4 && !memcmp(t + base, "warm", 4)) {
			if (!warm) {
				send_ack(push, id, ACK_WARM, 0, 0, 0);
				warm = true;
			}
			continue;
		}
		char hex[17] = "";
		memcpy(hex, t + base, tlen - base < 16 ? tlen - base : 16);
		uint64_t seq = strtoull(hex, NULL, 16);
		errors += seq != expected || zmq_msg_size(&body) != r->len || zmq_msg_more(&body);
		if (r->codec) {
			/* what fs_bus_recv does with every message */
			Fleetsim__V1__Envelope *env =
				fleetsim__v1__envelope__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
			errors += !env;
			fleetsim__v1__envelope__free_unpacked(env, NULL);
		}
		expected++;
		if (expected == r->count) {
			send_ack(push, id, ACK_DONE, expected, bench_now_ns(), errors);
		} else if (expected % credit_every == 0) {
			send_ack(push, id, ACK_CREDIT, expected, 0, 0);
		}
	}
	zmq_msg_close(&topic);
	zmq_msg_close(&body);
	zmq_close(sub);
	zmq_close(push);
	zmq_ctx_term(ctx);
	return 0;
}

static void no_free(void *data, void *hint)
{
	(void)data;
	(void)hint;
}

/* Returns the elapsed ns from first send to last receipt (written to @out), or exit code. */
static int publisher(const struct tp_run *r, int out)
{
	void *ctx = zmq_ctx_new();
	void *pub = open_socket(ctx, ZMQ_PUB, ZMQ_SNDHWM, 0);
	void *pull = open_socket(ctx, ZMQ_PULL, 0, 0);
	if (zmq_bind(pull, r->ack_ep) < 0) {
		return 1;
	}
	if ((r->relay ? zmq_connect(pub, r->pub_ep) : zmq_bind(pub, r->pub_ep)) < 0) {
		return 1;
	}
	/* Slow joiner: publish small "warm" messages until every subscriber has one. */
	struct ack a;
	unsigned warm = 0, all = (1u << r->nsubs) - 1;
	while (warm != all) {
		zmq_send(pub, TOPIC_BASE "warm", strlen(TOPIC_BASE) + 4, ZMQ_SNDMORE);
		zmq_send(pub, "", 0, 0);
		zmq_pollitem_t item = { .socket = pull, .events = ZMQ_POLLIN };
		if (zmq_poll(&item, 1, 2) > 0 && zmq_recv(pull, &a, sizeof(a), 0) == sizeof(a) && a.kind == ACK_WARM &&
		    a.sub < MAX_SUBS) {
			warm |= 1u << a.sub;
		}
	}
	char topic[64];
	uint64_t sent = 0, acked = 0, acked_by[MAX_SUBS] = { 0 };
	int64_t t0 = bench_now_ns();
	while (sent < r->count) {
		while (sent < r->count && sent - acked < r->window) {
			int n = snprintf(topic, sizeof(topic), TOPIC_BASE "%016" PRIx64, sent);
			zmq_msg_t body;
			if (r->codec) {
				/* what fs_bus_publish does with every message */
				zmq_msg_init_size(&body, r->len);
				fleetsim__v1__envelope__pack(r->env, zmq_msg_data(&body));
			} else {
				/* Zero copy: both modes send the same bytes without a memcpy here. */
				zmq_msg_init_data(&body, (void *)r->body, r->len, no_free, NULL);
			}
			zmq_send(pub, topic, (size_t)n, ZMQ_SNDMORE);
			zmq_msg_send(&body, pub, 0);
			sent++;
		}
		if (sent < r->count) {
			if (zmq_recv(pull, &a, sizeof(a), 0) != sizeof(a) || a.sub >= MAX_SUBS) {
				return 1;
			}
			if (a.count > acked_by[a.sub]) {
				acked_by[a.sub] = a.count;
			}
			/* the window is the slowest subscriber's */
			acked = acked_by[0];
			for (int i = 1; i < r->nsubs; i++) {
				acked = acked_by[i] < acked ? acked_by[i] : acked;
			}
		}
	}
	int64_t result[2] = { 0, 0 };
	for (unsigned done = 0; done != all;) {
		if (zmq_recv(pull, &a, sizeof(a), 0) != sizeof(a) || a.sub >= MAX_SUBS) {
			return 1;
		}
		if (a.kind == ACK_DONE) {
			done |= 1u << a.sub;
			result[0] = a.t_ns - t0 > result[0] ? a.t_ns - t0 : result[0]; /* until the last one has all */
			result[1] += (int64_t)a.errors;
		}
	}
	if (write(out, result, sizeof(result)) != sizeof(result)) {
		return 1;
	}
	zmq_close(pub);
	zmq_close(pull);
	zmq_ctx_term(ctx);
	return 0;
}

static pid_t fork_or_die(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		die("fork: %s", strerror(errno));
	}
	return pid;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double least(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++) {
		m = v[i] < m ? v[i] : m;
	}
	return m;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), compare_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median time to pack (re-encode) or unpack + free one envelope of @len bytes. */
static double codec_us(const uint8_t *body, size_t len, bool unpack)
{
	Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, len, body);
	uint8_t *out = malloc(len);
	if (!env || !out) {
		die("cannot decode the benchmark's own envelope");
	}
	int rounds = len > (1 << 20) ? 15 : len > 16384 ? 301 : 5001;
	double *t = calloc((size_t)rounds, sizeof(*t));
	for (int i = 0; i < rounds; i++) {
		int64_t t0 = bench_now_ns();
		if (unpack) {
			fleetsim__v1__envelope__free_unpacked(fleetsim__v1__envelope__unpack(NULL, len, body), NULL);
		} else if (fleetsim__v1__envelope__pack(env, out) != len) {
			die("re-encoding changed the size");
		}
		t[i] = (double)(bench_now_ns() - t0) / 1e3;
	}
	double m = median(t, rounds);
	free(t);
	free(out);
	fleetsim__v1__envelope__free_unpacked(env, NULL);
	return m;
}

/* CPU seconds (user + system) used so far by process @pid. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f) {
		return 0;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* fields after the command name; utime, stime are 14, 15 */
	unsigned long utime = 0, stime = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) {
		return 0;
	}
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double children_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* Context switches (voluntary + involuntary) of all waited-for children. */
static double children_switches(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)ru.ru_nvcsw + (double)ru.ru_nivcsw;
}

struct sample {
	double seconds; /* first send to last receipt */
	double cpu_s;   /* publisher + subscriber (+ broker) CPU over the whole measurement */
	double broker_cpu_s;
};

/* One measurement: fork the subscribers and a publisher. */
static struct sample measure(const struct tp_run *r)
{
	double broker0 = r->relay ? proc_cpu_s(r->relay) : 0, cpu0 = children_cpu_s() + broker0;
	int fds[2];
	if (pipe(fds) < 0) {
		die("pipe: %s", strerror(errno));
	}
	pid_t subs[MAX_SUBS];
	for (int i = 0; i < r->nsubs; i++) {
		subs[i] = fork_or_die();
		if (subs[i] == 0) {
			close(fds[0]);
			_exit(subscriber(r, i));
		}
	}
	pid_t pub = fork_or_die();
	if (pub == 0) {
		close(fds[0]);
		_exit(publisher(r, fds[1]));
	}
	close(fds[1]);
	int64_t result[2] = { 0, 0 };
	ssize_t got = read(fds[0], result, sizeof(result));
	close(fds[0]);
	int st = 0;
	waitpid(pub, &st, 0);
	bool ok = got == sizeof(result) && WIFEXITED(st) && !WEXITSTATUS(st);
	for (int i = 0; i < r->nsubs; i++) {
		waitpid(subs[i], &st, 0);
		ok &= WIFEXITED(st) && !WEXITSTATUS(st);
	}
	if (!ok) {
		die("%s measurement failed", r->what);
	}
	if (result[1]) {
		die("%s: %" PRId64 " messages lost, reordered or damaged", r->what, result[1]);
	}
	if (!r->relay) {
		unlink(r->pub_ep + 6);
	}
	unlink(r->ack_ep + 6);
	double broker1 = r->relay ? proc_cpu_s(r->relay) : 0, cpu1 = children_cpu_s() + broker1;
	return (struct sample){ (double)result[0] / 1e9, cpu1 - cpu0, broker1 - broker0 };
}

static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork_or_die();
	if (pid == 0) {
		if (log && !freopen(log, "w", stderr)) {
			_exit(127);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	int st;
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

static bool wait_for_file(const char *path, int timeout_ms)
{
	for (int i = 0; i < timeout_ms / 5; i++) {
		if (access(path, F_OK) == 0) {
			return true;
		}
		usleep(5000);
	}
	return false;
}

static const struct {
	size_t target;
	uint64_t count, quick_count;
	unsigned window;
	const char *label;
} sizes[] = {
	{ 1024, 200000, 20000, 1024, "1 KiB" },
	{ 64 * 1024, 8000, 800, 256, "64 KiB" },
	{ 4 * 1024 * 1024, 128, 16, 8, "4 MiB" },
};
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

/*
 * The least any XSUB/XPUB broker can do: libzmq's own zmq_proxy() between an
 * XSUB and a lossless XPUB, with fs-broker's socket options, and nothing else
 * (no validation, no counters, no watch or tap outputs). What it costs over
 * the raw path is the price of the hop itself, which no broker code can save.
 */
static int plain_proxy(const char *front_ep, const char *back_ep)
{
	void *ctx = zmq_ctx_new();
	void *xsub = open_socket(ctx, ZMQ_XSUB, ZMQ_RCVHWM, 0);
	void *xpub = open_socket(ctx, ZMQ_XPUB, ZMQ_SNDHWM, 0);
	set_int(xpub, ZMQ_XPUB_NODROP, 1);
	if (zmq_bind(xsub, front_ep) < 0 || zmq_bind(xpub, back_ep) < 0) {
		return 1;
	}
	zmq_proxy(xsub, xpub, NULL); /* returns when the context is terminated: on SIGTERM, exit */
	return 0;
}

static pid_t start_plain_proxy(const char *front_ep, const char *back_ep)
{
	pid_t pid = fork_or_die();
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		_exit(plain_proxy(front_ep, back_ep));
	}
	if (!wait_for_file(back_ep + 6, 5000)) {
		die("zmq_proxy did not start");
	}
	return pid;
}

enum { MODE_RAW, MODE_PROXY, MODE_BROKER, N_MODES };

static void table(const char *bus, pid_t broker, bool codec, int nsubs, bool quick, int reps, const char *only)
{
	char proxy_front[FS_BUS_ADDRESS_MAX], proxy_back[FS_BUS_ADDRESS_MAX];
	snprintf(proxy_front, sizeof(proxy_front), "ipc://%s/proxy-in", work_dir);
	snprintf(proxy_back, sizeof(proxy_back), "ipc://%s/proxy-out", work_dir);
	pid_t proxy = start_plain_proxy(proxy_front, proxy_back);
	printf("   %-7s %9s %6s | %9s %6s | %9s %6s %6s | %9s %6s %6s | %5s %5s %9s\n", "size", "envelope",
	       "msgs", "raw msg/s", "cpu us", "zmq_proxy", "cpu us", "relay", "fs-broker", "cpu us", "relay", "proxy", "bus",
	       "bus/proxy");
	for (size_t s = 0; s < N_SIZES; s++) {
		if (only && strcmp(only, sizes[s].label)) {
			continue;
		}
		struct tp_run r = { .codec = codec,
				    .nsubs = nsubs,
				    .count = quick ? sizes[s].quick_count : sizes[s].count,
				    .window = sizes[s].window };
		uint32_t vehicles;
		uint8_t *body = make_body_near(sizes[s].target, &r.len, &vehicles);
		Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, r.len, body);
		r.body = body;
		r.env = env;
		snprintf(r.ack_ep, sizeof(r.ack_ep), "ipc://%s/ack", work_dir);
		double secs[N_MODES][MAX_REPS] = { { 0 } }, cpu[N_MODES][MAX_REPS] = { { 0 } },
		       relay_cpu[N_MODES][MAX_REPS] = { { 0 } };
		for (int k = 0; k < reps; k++) {
			/* Alternate the three so the machine's other work falls on all of them alike. */
			for (int m = 0; m < N_MODES; m++) {
				if (m == MODE_RAW) {
					r.relay = 0;
					r.what = "raw";
					snprintf(r.pub_ep, sizeof(r.pub_ep), "ipc://%s/raw", work_dir);
					snprintf(r.data_ep[0], sizeof(r.data_ep[0]), "%s", r.pub_ep);
					snprintf(r.data_ep[1], sizeof(r.data_ep[1]), "%s", r.pub_ep);
				} else if (m == MODE_PROXY) {
					r.relay = proxy;
					r.what = "zmq_proxy";
					snprintf(r.pub_ep, sizeof(r.pub_ep), "%s", proxy_front);
					snprintf(r.data_ep[0], sizeof(r.data_ep[0]), "%s", proxy_back);
					snprintf(r.data_ep[1], sizeof(r.data_ep[1]), "%s", proxy_back);
				} else {
					r.relay = broker;
					r.what = "fs-broker";
					fs_bus_endpoint(bus, FS_BUS_EP_PUB, r.pub_ep, sizeof(r.pub_ep));
					/* a participant on the lossless endpoint; the second, the recorder, on the tap */
					fs_bus_endpoint(bus, FS_BUS_EP_SUB, r.data_ep[0], sizeof(r.data_ep[0]));
					fs_bus_endpoint(bus, FS_BUS_EP_TAP, r.data_ep[1], sizeof(r.data_ep[1]));
				}
				struct sample a = measure(&r);
				secs[m][k] = a.seconds;
				cpu[m][k] = a.cpu_s;
				relay_cpu[m][k] = a.broker_cpu_s;
			}
		}
		/* The best of the runs: on a shared machine the others measure its other work. */
		double n = (double)r.count, t[N_MODES], c[N_MODES], rc[N_MODES];
		for (int m = 0; m < N_MODES; m++) {
			t[m] = least(secs[m], reps);
			c[m] = least(cpu[m], reps) / n * 1e6;
			rc[m] = least(relay_cpu[m], reps) / n * 1e6;
		}
		printf("   %-7s %9zu %6" PRIu64 " | %9.0f %6.1f | %9.0f %6.1f %6.1f | %9.0f %6.1f %6.1f | %5.2f %5.2f %9.2f\n",
		       sizes[s].label, r.len, r.count, n / t[MODE_RAW], c[MODE_RAW], n / t[MODE_PROXY], c[MODE_PROXY],
		       rc[MODE_PROXY], n / t[MODE_BROKER], c[MODE_BROKER], rc[MODE_BROKER], t[MODE_RAW] / t[MODE_PROXY],
		       t[MODE_RAW] / t[MODE_BROKER], t[MODE_PROXY] / t[MODE_BROKER]);
		fflush(stdout);
		fleetsim__v1__envelope__free_unpacked(env, NULL);
		free(body);
	}
	stop(proxy);
}

static void throughput(bool quick, int reps, const char *only)
{
	char broker_exe[PATH_MAX + 32], bus[FS_BUS_ADDRESS_MAX], bus_arg[FS_BUS_ADDRESS_MAX + 8], log[PATH_MAX];
	snprintf(broker_exe, sizeof(broker_exe), "%s/../services/fs-broker", fs_paths_exe_dir());
	snprintf(bus, sizeof(bus), "ipc://%s/bus", work_dir);
	snprintf(bus_arg, sizeof(bus_arg), "--bus=%s", bus);
	snprintf(log, sizeof(log), "%s/broker.log", work_dir);
	char *argv[] = { broker_exe, bus_arg, NULL };
	pid_t broker = spawn(argv, log);
	char tap[PATH_MAX];
	snprintf(tap, sizeof(tap), "%s/bus/tap", work_dir);
	if (!wait_for_file(tap, 5000)) {
		die("fs-broker did not start (%s)", log);
	}
	printf("1. throughput, ipc, one publisher process -> one subscriber process, lossless, credit window;\n"
	       "   raw ZeroMQ PUB->SUB, through libzmq's zmq_proxy (XSUB->XPUB, nothing else: the least any\n"
	       "   broker does) and through fs-broker (pub -> broker -> sub endpoint); best of %d runs each\n"
	       "   (cpu us: CPU time of all processes per message; relay: the proxy's or broker's share;\n"
	       "   proxy, bus: throughput as a fraction of raw; bus/proxy: fs-broker's as a fraction of zmq_proxy's)\n"
	       "1a. the bytes alone (envelopes encoded once, sent without a copy): the transport\n",
	       reps);
	table(bus, broker, false, 1, quick, reps, only);
	printf("1b. as fleetsim clients do it: the publisher packs every envelope (fs_bus_publish),\n"
	       "    the subscriber unpacks and frees it (fs_bus_recv), in all three\n");
	table(bus, broker, true, 1, quick, reps, only);
	printf("1c. fan-out, the bytes alone: the same messages to two subscriber processes, as in a run\n"
	       "    with --record (a participant on the sub endpoint and the recorder on the tap); raw:\n"
	       "    the publisher's PUB sends to both, zmq_proxy: its XPUB does; publisher kept to the\n"
	       "    slower one's credit\n");
	table(bus, broker, false, 2, quick, reps, only);
	stop(broker);
	printf("   for scale, protobuf-c alone in one process, per message:\n");
	for (size_t s = 0; s < N_SIZES; s++) {
		if (only && strcmp(only, sizes[s].label)) {
			continue;
		}
		size_t len;
		uint32_t vehicles;
		uint8_t *body = make_body_near(sizes[s].target, &len, &vehicles);
		printf("   %-7s %u vehicles, pack %.1f us, unpack + free %.1f us\n", sizes[s].label, vehicles,
		       codec_us(body, len, false), codec_us(body, len, true));
		free(body);
	}
}

/* ---- 2. lockstep -------------------------------------------------------- */

/*
 * The machine's price of waking another process: a one-byte ping-pong over
 * two pipes between two processes (like `perf bench sched pipe`), in us per
 * round trip (two wake-ups). Every message between lockstep processes costs
 * wake-ups of this kind (ZeroMQ adds one to its I/O thread on each side), so
 * the tick time divided by this figure compares across machines.
 */
static double pipe_round_trip_us(int rounds)
{
	int ping[2], pong[2];
	if (pipe(ping) < 0 || pipe(pong) < 0) {
		die("pipe: %s", strerror(errno));
	}
	pid_t pid = fork_or_die();
	char c = 0;
	if (pid == 0) {
		for (int i = 0; i < rounds; i++) {
			if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1) {
				_exit(1);
			}
		}
		_exit(0);
	}
	int64_t t0 = bench_now_ns();
	for (int i = 0; i < rounds; i++) {
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
			die("pipe ping-pong failed");
		}
	}
	int64_t t1 = bench_now_ns();
	waitpid(pid, NULL, 0);
	close(ping[0]);
	close(ping[1]);
	close(pong[0]);
	close(pong[1]);
	return (double)(t1 - t0) / 1e3 / rounds;
}

/* The same over ZeroMQ: a one-byte PAIR ping-pong between two processes over ipc. */
static double zmq_round_trip_us(int rounds)
{
	char ep[FS_BUS_ADDRESS_MAX];
	snprintf(ep, sizeof(ep), "ipc://%s/pingpong", work_dir);
	pid_t pid = fork_or_die();
	char c = 0;
	if (pid == 0) {
		void *ctx = zmq_ctx_new();
		void *s = open_socket(ctx, ZMQ_PAIR, 0, 0);
		zmq_connect(s, ep);
		for (int i = 0; i < rounds + 100; i++) {
			if (zmq_recv(s, &c, 1, 0) != 1 || zmq_send(s, &c, 1, 0) != 1) {
				_exit(1);
			}
		}
		zmq_close(s);
		zmq_ctx_term(ctx);
		_exit(0);
	}
	void *ctx = zmq_ctx_new();
	void *s = open_socket(ctx, ZMQ_PAIR, 0, 0);
	if (zmq_bind(s, ep) < 0) {
		die("bind %s: %s", ep, zmq_strerror(errno));
	}
	int64_t t0 = 0;
	for (int i = 0; i < rounds + 100; i++) {
		if (i == 100) {
			t0 = bench_now_ns(); /* after the connection is up and warm */
		}
		if (zmq_send(s, &c, 1, 0) != 1 || zmq_recv(s, &c, 1, 0) != 1) {
			die("zmq ping-pong failed");
		}
	}
	int64_t t1 = bench_now_ns();
	waitpid(pid, NULL, 0);
	zmq_close(s);
	zmq_ctx_term(ctx);
	unlink(ep + 6);
	return (double)(t1 - t0) / 1e3 / rounds;
}

struct lockstep_figures {
	int64_t p50_us, p99_us, overhead_p50_us, overhead_p99_us, on_socket;
	double ticks_per_s, cpu_us, switches;
};

/* One run of fs-conductor and @nparts fs-bench-participants with the lockstep on @control. */
static struct lockstep_figures lockstep_run(uint64_t ticks, int nparts, const char *control)
{
	char broker_exe[PATH_MAX + 32], conductor_exe[PATH_MAX + 32], part_exe[PATH_MAX + 32];
	snprintf(broker_exe, sizeof(broker_exe), "%s/../services/fs-broker", fs_paths_exe_dir());
	snprintf(conductor_exe, sizeof(conductor_exe), "%s/../services/fs-conductor", fs_paths_exe_dir());
	snprintf(part_exe, sizeof(part_exe), "%s/fs-bench-participant", fs_paths_exe_dir());
	char bus[FS_BUS_ADDRESS_MAX], bus_arg[FS_BUS_ADDRESS_MAX + 8], log[PATH_MAX], tap[PATH_MAX];
	snprintf(bus, sizeof(bus), "ipc://%s/lockstep-%s", work_dir, control);
	snprintf(bus_arg, sizeof(bus_arg), "--bus=%s", bus);
	snprintf(log, sizeof(log), "%s/lockstep-broker.log", work_dir);
	snprintf(tap, sizeof(tap), "%s/lockstep-%s/tap", work_dir, control);
	double cpu0 = children_cpu_s(), switches0 = children_switches();
	char *bargv[] = { broker_exe, bus_arg, NULL };
	pid_t broker = spawn(bargv, log);
	if (!wait_for_file(tap, 5000)) {
		die("fs-broker did not start (%s)", log);
	}
	char parts[64 * 16] = "", duration[64], out[PATH_MAX + 8], names[64][32], control_arg[32];
	pid_t pids[64];
	for (int i = 0; i < nparts; i++) {
		size_t n = strlen(parts);
		snprintf(parts + n, sizeof(parts) - n, "%sp%d:test", i ? "," : "", i);
	}
	char parts_arg[sizeof(parts) + 16];
	snprintf(parts_arg, sizeof(parts_arg), "--participants=%s", parts);
	snprintf(duration, sizeof(duration), "--duration=%" PRIu64, ticks); /* seconds = ticks of 1 s */
	snprintf(out, sizeof(out), "--out=%s", work_dir);
	snprintf(control_arg, sizeof(control_arg), "--control=%s", control);
	snprintf(log, sizeof(log), "%s/conductor.log", work_dir);
	char *cargv[] = { conductor_exe, bus_arg, parts_arg, duration, (char *)"--speed=max", (char *)"--seed=1", out,
			  control_arg, NULL };
	pid_t conductor = spawn(cargv, log);
	for (int i = 0; i < nparts; i++) {
		snprintf(names[i], sizeof(names[i]), "--name=p%d", i);
		char *pargv[] = { part_exe, bus_arg, names[i], (char *)"--publish=0", (char *)"--seed=1", NULL };
		pids[i] = spawn(pargv, NULL);
	}
	int st;
	waitpid(conductor, &st, 0);
	for (int i = 0; i < nparts; i++) {
		waitpid(pids[i], NULL, 0);
	}
	stop(broker);
	double cpu = children_cpu_s() - cpu0, switches = children_switches() - switches0;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		die("fs-conductor failed (%s)", log);
	}
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/summary.json", work_dir);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	json_t *ls = root ? json_object_get(root, "lockstep") : NULL;
	if (!ls) {
		die("no lockstep figures in %s", path);
	}
	double wall = json_real_value(json_object_get(root, "wall_seconds"));
	json_int_t done = json_integer_value(json_object_get(ls, "ticks"));
	struct lockstep_figures f = {
		.p50_us = (int64_t)json_integer_value(json_object_get(ls, "tick_wall_p50_us")),
		.p99_us = (int64_t)json_integer_value(json_object_get(ls, "tick_wall_p99_us")),
		.overhead_p50_us = (int64_t)json_integer_value(json_object_get(ls, "overhead_p50_us")),
		.overhead_p99_us = (int64_t)json_integer_value(json_object_get(ls, "overhead_p99_us")),
		.on_socket = (int64_t)json_integer_value(json_object_get(ls, "on_control_socket")),
		.ticks_per_s = wall > 0 ? (double)done / wall : 0,
		.cpu_us = done ? cpu / (double)done * 1e6 : 0,
		.switches = done ? switches / (double)done : 0,
	};
	json_decref(root);
	if (!strcmp(control, "socket") && f.on_socket != nparts) {
		die("only %" PRId64 " of %d participants used the control socket", f.on_socket, nparts);
	}
	return f;
}

static void lockstep(uint64_t ticks, int nparts)
{
	double round_trip = INFINITY, zmq_round_trip = INFINITY;
	for (int i = 0; i < 3; i++) { /* best of 3, as above */
		round_trip = fmin(round_trip, pipe_round_trip_us(5000));
		zmq_round_trip = fmin(zmq_round_trip, zmq_round_trip_us(2000));
	}
	static const char *const controls[] = { "socket", "bus" };
	static const char *const what[] = {
		"control socket (default on ipc): Tick/TickDone straight between conductor and participants",
		"bus (--control=bus, and every tcp bus): Tick/TickDone through fs-broker",
	};
	struct lockstep_figures f[2];
	printf("2. lockstep, %d participants (--publish 0), fs-conductor --speed max, %" PRIu64 " ticks each way:\n",
	       nparts, ticks);
	for (int i = 0; i < 2; i++) {
		f[i] = lockstep_run(ticks, nparts, controls[i]);
		printf("   %s\n"
		       "     tick wall time p50 %" PRId64 " us, p99 %" PRId64 " us (barrier overhead p50 %" PRId64
		       " us, p99 %" PRId64 " us); %.0f ticks/s\n"
		       "     per tick, all processes: %.0f us CPU, %.1f context switches\n",
		       what[i], f[i].p50_us, f[i].p99_us, f[i].overhead_p50_us, f[i].overhead_p99_us, f[i].ticks_per_s,
		       f[i].cpu_us, f[i].switches);
	}
	printf("   control socket / bus, same run: p50 %.2f, p99 %.2f, CPU %.2f\n"
	       "   this machine's round trips between two processes: pipe %.1f us, ZeroMQ ipc %.1f us;\n"
	       "   p50 tick on the control socket = %.1f pipe round trips (a tick needs at least 2 wake-ups\n"
	       "   per participant: its Tick, and the conductor's for its TickDone)\n",
	       f[1].p50_us ? (double)f[0].p50_us / (double)f[1].p50_us : 0,
	       f[1].p99_us ? (double)f[0].p99_us / (double)f[1].p99_us : 0,
	       f[1].cpu_us > 0 ? f[0].cpu_us / f[1].cpu_us : 0, round_trip, zmq_round_trip,
	       (double)f[0].p50_us / round_trip);
}

static void remove_work_dir(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work_dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_bus: could not remove %s\n", work_dir);
	}
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: bench_bus [--quick] [--part 1|2] [--size '1 KiB'|'64 KiB'|'4 MiB'] [--ticks N]\n"
		     "                 [--participants N] [--reps N]\n");
}

int main(int argc, char **argv)
{
	fs_service_rename(argv, "bench_bus");
	bool quick = getenv("FS_BENCH_QUICK") != NULL;
	uint64_t ticks = 0;
	uint32_t nparts = 6, reps = 0, part = 0;
	const char *only = NULL;
	const struct fs_opt opts[] = {
		{ "quick", FS_OPT_SET, &quick },
		{ "ticks", FS_OPT_U64, &ticks, .what = "a tick count" },
		{ "participants", FS_OPT_U32, &nparts, .min = 1, .max = 64, .what = "1..64" },
		{ "reps", FS_OPT_U32, &reps, .max = MAX_REPS, .what = "a count up to " FS_ARGS_STR(MAX_REPS) },
		{ "part", FS_OPT_U32, &part, .min = 1, .max = 2, .what = "1 or 2" },
		{ "size", FS_OPT_STRING, &only },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "bench_bus", .usage = usage, .opts = opts };
	int rc = fs_service_parse(&spec, argc, argv, NULL);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if (!ticks) {
		ticks = quick ? 2000 : 20000;
	}
	if (!reps) {
		reps = quick ? 1 : 5;
	}
	if (!mkdtemp(work_dir)) {
		die("mkdtemp: %s", strerror(errno));
	}
	atexit(remove_work_dir);
	signal(SIGPIPE, SIG_IGN);
	double load[3] = { 0, 0, 0 };
	getloadavg(load, 3);
	printf("bench_bus: %ld cores, load average %.2f at start (other work on the machine shows in these figures)\n",
	       sysconf(_SC_NPROCESSORS_ONLN), load[0]);
	if (part != 2) {
		throughput(quick, (int)reps, only);
	}
	if (part != 1) {
		lockstep(ticks, (int)nparts);
	}
	return 0;
}
