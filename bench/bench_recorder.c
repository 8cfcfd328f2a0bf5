/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_recorder - can the recorder keep up with the bus?
 *
 * For fleets of 10,000 and 100,000 vehicles, a publisher sends vehicle state
 * batches (one envelope per tick, the real VehicleStateBatch encoding, values
 * drawn from fs_rng) as fast as it can through a real fs-broker. Measured in
 * the same run:
 *   bus       a lossless subscriber on the broker's participant endpoint
 *             (what every lockstep participant uses): batches/s and MB/s
 *   recorder  the recorder library on the broker's capture tap writing an MCAP
 *             file (chunks written with write(2) as they fill): batches/s,
 *             MB/s, messages lost (sequence gaps), time to close the file
 * The recorder's rate is also compared with the rate a simulation produces
 * batches at: one per shard per tick.
 *
 * Usage: bench_recorder [--messages-10k N] [--messages-100k N] [--dir DIR]
 * fs-broker is found beside this program (../services/fs-broker).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "fs_vehicle_msg.h"
#include "envelope.pb-c.h"
#include "fs/rng.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_log.h"
#include "fs_paths.h"
#include "fs_service.h"
#include "pb_wire.h" /* tests/integration */
#include "recorder.h"

#define TOPIC "veh.state"

struct sink {
	void *ctx;
	char endpoint[FS_BUS_ADDRESS_MAX];
	uint64_t expect;          /* messages of the measured burst */
	uint64_t got, bytes;
	int64_t first_us, last_us;
	bool ready;               /* saw a probe */
	/* recorder only */
	bool record;
	enum fs_mcap_compression compression;
	const char *path;
	struct recorder_stats stats;
	int64_t close_us;
};

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "bench_recorder: %s %s\n", what, arg);
	exit(1);
}

/*
 * Envelope bytes as fs_bus_publish() makes them (fields in number order):
 * header fields 1-6, then the payload (field 30, VehicleStateBatch).
 */
static size_t envelope_head(uint8_t *p, uint64_t seq, uint64_t tick, int64_t sim_ms, size_t payload_size)
{
	size_t n = 0;
	p[n++] = 1 << 3; /* schema_version */
	n += pb_wire_varint(p + n, 1);
	p[n++] = 2 << 3 | 2; /* sender */
	p[n++] = 9;
	memcpy(p + n, "vehicle-0", 9);
	n += 9;
	p[n++] = 3 << 3;
	n += pb_wire_varint(p + n, seq);
	p[n++] = 4 << 3;
	n += pb_wire_varint(p + n, seq);
	p[n++] = 5 << 3;
	n += pb_wire_varint(p + n, tick);
	p[n++] = 6 << 3;
	n += pb_wire_varint(p + n, (uint64_t)sim_ms);
	n += pb_wire_varint(p + n, 30 << 3 | 2);
	n += pb_wire_varint(p + n, payload_size);
	return n;
}

#define DISTINCT_TICKS 16

/*
 * Realistic batches: every hosted vehicle with plausible values (keyframes),
 * and DISTINCT_TICKS consecutive ticks in which moving vehicles advance along
 * their edge and draw their battery (what makes consecutive batches alike
 * but not equal, which matters for compression). Packed before the timed part.
 */
static uint8_t **make_batches(uint32_t vehicles, size_t *ret_sizes)
{
	struct fs_vehicle_record *recs = calloc(vehicles ? vehicles : 1, sizeof(*recs));
	float *speed = calloc(vehicles ? vehicles : 1, sizeof(*speed));
	float *heading = calloc(vehicles ? vehicles : 1, sizeof(*heading));
	struct fs_rng rng;
	fs_rng_init(&rng, 1, FS_RNG_STREAM_TEST, vehicles);
	int64_t t = 1843560000000LL;
	for (uint32_t i = 0; i < vehicles; i++) {
		recs[i] = fs_vehicle_record_standing(i, 3 + (int)fs_rng_below(&rng, 7), (uint32_t)fs_rng_below(&rng, 400000),
						     fs_rng_uniform(&rng) * 200, fs_rng_uniform(&rng) * 30000 - 15000,
						     fs_rng_uniform(&rng) * 30000 - 15000, 0.2 + 0.8 * fs_rng_uniform(&rng), t);
		/* about a third parked (available, charging), the rest driving */
		speed[i] = fs_rng_below(&rng, 3) ? (float)(5 + fs_rng_uniform(&rng) * 12) : 0.0f;
		heading[i] = (float)(fs_rng_uniform(&rng) * 6.283);
		recs[i].job_id = fs_rng_below(&rng, 2) ? 1000000 + fs_rng_below(&rng, 1000000) : 0;
		recs[i].sw_version = 3;
		recs[i].soc_per_h = -0.01f;
	}
	struct fs_vehicle_msg m = { 0 };
	struct fs_vehicle_batch_info info = { .shard_count = 1, .origin_lat = 33.749, .origin_lon = -84.388, .full = true };
	uint8_t **out = calloc(DISTINCT_TICKS, sizeof(*out));
	for (int k = 0; k < DISTINCT_TICKS; k++) {
		t += 1000;
		for (uint32_t i = 0; i < vehicles; i++) {
			struct fs_vehicle_record *r = &recs[i];
			float v = speed[i];
			r->t_ms = r->soc_ms = t;
			r->x += v * cosf(heading[i]);
			r->y += v * sinf(heading[i]);
			r->seg_from_m += v;
			if (r->seg_from_m > 200) { /* next edge */
				r->seg_from_m -= 200;
				r->edge++;
			}
			r->seg_to_m = r->seg_from_m;
			r->odometer_m += v;
			r->soc -= v * 0.22f / 100.0f / 1000.0f; /* 0.22 kWh/km of 100 kWh */
		}
		if (fs_vehicle_msg_encode_records(&m, &info, recs, vehicles, t) < 0) {
			abort();
		}
		ret_sizes[k] = fleetsim__v1__vehicle_state_batch__get_packed_size(&m.batch);
		out[k] = malloc(ret_sizes[k]);
		fleetsim__v1__vehicle_state_batch__pack(&m.batch, out[k]);
	}
	fs_vehicle_msg_finish(&m);
	free(recs);
	free(speed);
	free(heading);
	return out;
}

/*
 * Receive until the burst is in. Probes (tick 0, topic "kpi") only mark the
 * sink live; burst messages are veh.state. The recorder writes every message.
 */
static void *sink_main(void *arg)
{
	struct sink *s = arg;
	void *sock = zmq_socket(s->ctx, ZMQ_SUB);
	int zero = 0;
	zmq_setsockopt(sock, ZMQ_RCVHWM, &zero, sizeof(zero));
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0);
	zmq_connect(sock, s->endpoint);
	struct recorder *rec = NULL;
	if (s->record) {
		struct fs_error err = { "" };
		struct recorder_options ro = { .compression = s->compression };
		rec = recorder_open(s->path, &ro, &err);
		if (!rec) {
			die("cannot record:", err.message);
		}
	}
	zmq_msg_t topic, body;
	zmq_msg_init(&topic);
	zmq_msg_init(&body);
	while (s->got < s->expect) {
		if (zmq_msg_recv(&topic, sock, 0) < 0 || zmq_msg_recv(&body, sock, 0) < 0) {
			if (errno == EINTR) {
				continue;
			}
			break;
		}
		bool burst = zmq_msg_size(&topic) == strlen(TOPIC) && !memcmp(zmq_msg_data(&topic), TOPIC, strlen(TOPIC));
		if (!burst) {
			__atomic_store_n(&s->ready, true, __ATOMIC_RELEASE);
			continue;
		}
		if (rec) {
			recorder_write(rec, zmq_msg_data(&topic), zmq_msg_size(&topic), zmq_msg_data(&body),
				       zmq_msg_size(&body), recorder_wall_ns());
			recorder_poll(rec, fs_clock_now_ms());
		}
		int64_t now = fs_clock_now_us();
		if (!s->got) {
			s->first_us = now;
		}
		s->last_us = now;
		s->got++;
		s->bytes += zmq_msg_size(&body) + zmq_msg_size(&topic);
	}
	zmq_msg_close(&topic);
	zmq_msg_close(&body);
	if (rec) {
		s->stats = *recorder_get_stats(rec);
		int64_t t0 = fs_clock_now_us();
		if (recorder_close(rec) < 0) {
			die("cannot close", s->path);
		}
		s->close_us = fs_clock_now_us() - t0;
		struct stat st;
		if (stat(s->path, &st) == 0) {
			s->stats.file_bytes = (uint64_t)st.st_size;
		}
	}
	zmq_close(sock);
	return NULL;
}

static pid_t spawn_broker(const char *exe, const char *address)
{
	char bus[FS_BUS_ADDRESS_MAX + 8];
	snprintf(bus, sizeof(bus), "--bus=%s", address);
	pid_t pid = fork();
	if (pid == 0) {
		execl(exe, exe, bus, "--tap-hwm=100000", (char *)NULL);
		_exit(127);
	}
	return pid;
}

struct result {
	double bus_mps, bus_MBps, rec_mps, rec_MBps, pub_mps;
	uint64_t lost, recorded;
	double close_ms, file_MB, rec_lag_ms;
	size_t batch_bytes;
};

static void run(const char *broker_exe, const char *dir, uint32_t vehicles, uint64_t messages,
		enum fs_mcap_compression compression, struct result *ret)
{
	char address[FS_BUS_ADDRESS_MAX], path[PATH_MAX];
	snprintf(address, sizeof(address), "ipc://%s/bus-%u", dir, vehicles);
	snprintf(path, sizeof(path), "%s/bench-%u.mcap", dir, vehicles);
	pid_t broker = spawn_broker(broker_exe, address);
	char tap[FS_BUS_ADDRESS_MAX];
	fs_bus_endpoint(address, FS_BUS_EP_TAP, tap, sizeof(tap));
	for (int i = 0; i < 500 && access(tap + 6, F_OK) < 0; i++) {
		usleep(10000);
	}
	size_t sizes[DISTINCT_TICKS];
	uint8_t **payloads = make_batches(vehicles, sizes);
	void *ctx = zmq_ctx_new();
	struct sink bus = { .ctx = ctx, .expect = messages };
	struct sink rec = { .ctx = ctx, .expect = messages, .record = true, .path = path, .compression = compression };
	fs_bus_endpoint(address, FS_BUS_EP_SUB, bus.endpoint, sizeof(bus.endpoint));
	fs_bus_endpoint(address, FS_BUS_EP_TAP, rec.endpoint, sizeof(rec.endpoint));
	pthread_t tb, tr;
	pthread_create(&tb, NULL, sink_main, &bus);
	pthread_create(&tr, NULL, sink_main, &rec);
	void *pub = zmq_socket(ctx, ZMQ_PUB);
	int zero = 0;
	zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof(zero));
	char ep[FS_BUS_ADDRESS_MAX];
	fs_bus_endpoint(address, FS_BUS_EP_PUB, ep, sizeof(ep));
	zmq_connect(pub, ep);
	/* Probe until both sinks are live (slow joiner), then the burst. */
	while (!__atomic_load_n(&bus.ready, __ATOMIC_ACQUIRE) || !__atomic_load_n(&rec.ready, __ATOMIC_ACQUIRE)) {
		zmq_send(pub, "kpi", 3, ZMQ_SNDMORE);
		zmq_send(pub, "", 0, 0);
		usleep(20000);
	}
	uint8_t head[64];
	int64_t t0 = fs_clock_now_us();
	for (uint64_t i = 1; i <= messages; i++) {
		size_t k = i % DISTINCT_TICKS, payload_size = sizes[k];
		size_t h = envelope_head(head, i, i, 1843452000000 + (int64_t)i * 1000, payload_size);
		zmq_msg_t m;
		zmq_msg_init_size(&m, h + payload_size);
		memcpy(zmq_msg_data(&m), head, h);
		memcpy((uint8_t *)zmq_msg_data(&m) + h, payloads[k], payload_size);
		zmq_send(pub, TOPIC, strlen(TOPIC), ZMQ_SNDMORE);
		zmq_msg_send(&m, pub, 0);
	}
	int64_t t1 = fs_clock_now_us();
	pthread_join(tb, NULL);
	pthread_join(tr, NULL);
	zmq_close(pub);
	zmq_ctx_term(ctx);
	kill(broker, SIGTERM);
	waitpid(broker, NULL, 0);
	double bus_s = (double)(bus.last_us - t0) / 1e6, rec_s = (double)(rec.last_us - t0) / 1e6;
	ret->pub_mps = (double)messages / ((double)(t1 - t0) / 1e6);
	ret->bus_mps = (double)bus.got / bus_s;
	ret->bus_MBps = (double)bus.bytes / 1e6 / bus_s;
	ret->rec_mps = (double)rec.got / rec_s;
	ret->rec_MBps = (double)rec.bytes / 1e6 / rec_s;
	ret->rec_lag_ms = (double)(rec.last_us - bus.last_us) / 1000.0;
	ret->recorded = rec.stats.messages;
	ret->lost = rec.stats.gaps + (messages - rec.got);
	ret->close_ms = (double)rec.close_us / 1000.0;
	ret->file_MB = (double)rec.stats.file_bytes / 1e6;
	ret->batch_bytes = sizes[0];
	unlink(path);
	for (int k = 0; k < DISTINCT_TICKS; k++) {
		free(payloads[k]);
	}
	free(payloads);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: bench_recorder [--messages-10k N] [--messages-100k N] [--dir DIR]\n"
		     "Batches of 10,000 and 100,000 vehicles (default 1000 and 200 of them) through fs-broker,\n"
		     "to a bus subscriber and the recorder; the recording goes to DIR (default a new /tmp one).\n");
}

int main(int argc, char **argv)
{
	fs_service_rename(argv, "bench_recorder");
	fs_log_init("bench_recorder", FS_LOG_WARNING);
	uint64_t m10k = 1000, m100k = 200;
	const char *dir = NULL;
	const struct fs_opt opts[] = {
		{ "messages-10k", FS_OPT_U64, &m10k, .what = "a message count" },
		{ "messages-100k", FS_OPT_U64, &m100k, .what = "a message count" },
		{ "dir", FS_OPT_STRING, &dir },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "bench_recorder", .usage = usage, .opts = opts };
	int rc = fs_service_parse(&spec, argc, argv, NULL);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	char broker[PATH_MAX + 32], tmp[] = "/tmp/bench_recorder.XXXXXX";
	snprintf(broker, sizeof(broker), "%s/../services/fs-broker", fs_paths_exe_dir());
	if (access(broker, X_OK) < 0) {
		die("cannot find", broker);
	}
	if (!dir) {
		dir = mkdtemp(tmp);
		if (!dir) {
			die("cannot create", "a temporary directory");
		}
	}
	printf("bench_recorder: vehicle state batches through fs-broker; a lossless bus subscriber and the recorder\n"
	       "on the capture tap, measured in the same run (file in %s)\n",
	       dir);
	printf("%9s %5s %10s %8s | %10s %9s | %10s %9s %6s %6s %8s %9s\n", "vehicles", "chunk", "batch", "batches",
	       "bus msg/s", "bus MB/s", "rec msg/s", "rec MB/s", "ratio", "lost", "close", "file");
	struct {
		uint32_t vehicles;
		uint64_t count;
		enum fs_mcap_compression c;
	} cases[] = {
		{ 10000, m10k, FS_MCAP_COMPRESSION_NONE },
		{ 100000, m100k, FS_MCAP_COMPRESSION_NONE },
		{ 10000, m10k, FS_MCAP_COMPRESSION_ZSTD },
		{ 100000, m100k, FS_MCAP_COMPRESSION_ZSTD },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!fs_mcap_compression_supported(cases[i].c)) {
			continue;
		}
		struct result r;
		run(broker, dir, cases[i].vehicles, cases[i].count, cases[i].c, &r);
		printf("%9u %5s %8.2fMB %8" PRIu64 " | %10.1f %9.1f | %10.1f %9.1f %6.2f %6" PRIu64 " %6.1fms %7.0fMB\n",
		       cases[i].vehicles, cases[i].c == FS_MCAP_COMPRESSION_ZSTD ? "zstd" : "none",
		       (double)r.batch_bytes / 1e6, cases[i].count, r.bus_mps, r.bus_MBps, r.rec_mps, r.rec_MBps,
		       r.rec_mps / r.bus_mps, r.lost, r.close_ms, r.file_MB);
	}
	printf("A run in lockstep emits one batch per vehicle shard per tick: the recorder keeps up while\n"
	       "ticks x shards per wall second stay below 'rec msg/s' (a real-time run: 1 per shard).\n");
	if (!strncmp(dir, "/tmp/bench_recorder.", 20)) {
		rmdir(dir);
	}
	return 0;
}
