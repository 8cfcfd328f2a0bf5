/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz-probe - record what the viewer would see (test helper).
 *
 * Attaches to a run's bus as an observer, like fleet-viz, and records vehicle
 * record batches (news on veh.state, keyframes on veh.snapshot), vehicle
 * events and conductor status into a recording (see viz_testlib.h): every
 * message, or with --last only the newest keyframe of each shard and the
 * newest status. Prints "ready" once attached and "keyframe SHARD TIME_MS"
 * for each keyframe it records (so a test can time an attach); stops after
 * --seconds or on SIGTERM / SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_control_msg.h"
#include "fs_log.h"
#include "viz_testlib.h"

#define MAX_SHARDS 1024

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	fs_log_init("viz-probe", FS_LOG_WARNING);
	const char *address = NULL, *out = NULL;
	double seconds = 3600;
	bool last = false;
	static const struct option options[] = {
		{ "bus", required_argument, NULL, 'b' },
		{ "out", required_argument, NULL, 'o' },
		{ "seconds", required_argument, NULL, 's' },
		{ "last", no_argument, NULL, 'l' },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'b':
			address = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 's':
			if (!fs_args_double(optarg, &seconds) || seconds <= 0) {
				fs_error("--seconds: '%s' is not a positive number", optarg);
				return 2;
			}
			break;
		case 'l':
			last = true;
			break;
		default:
			fprintf(stderr, "Usage: viz-probe --bus ADDR --out FILE [--seconds S] [--last]\n");
			return 2;
		}
	}
	if (!out) {
		fs_error("--out is required");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	char name[64];
	snprintf(name, sizeof(name), "viz-probe-%d", (int)getpid());
	struct fs_bus_options bo = { .address = address, .name = name, .mode = FS_BUS_OBSERVER, .observer_hwm = 100000 };
	struct fs_bus *bus = fs_bus_connect(&bo);
	if (!bus) {
		return 1;
	}
	fs_bus_subscribe(bus, "veh.state");
	fs_bus_subscribe(bus, "veh.snapshot");
	fs_bus_subscribe(bus, "veh.event");
	fs_bus_subscribe(bus, "ctl.status");
	if (fs_bus_handshake(bus, 10000) < 0) {
		fs_error("no broker answers on %s", address ? address : "the default bus");
		fs_bus_close(bus);
		return 1;
	}
	FILE *f = fopen(out, "wb");
	if (!f || vt_rec_begin(f) < 0) {
		fs_error("cannot write %s", out);
		fs_bus_close(bus);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	struct fs_bus_message **latest = calloc(MAX_SHARDS + 1, sizeof(*latest)); /* [MAX_SHARDS] = status */
	int64_t deadline = fs_clock_now_ms() + (int64_t)(seconds * 1000);
	int status = 0;
	uint64_t written = 0;
	while (!stop && fs_clock_now_ms() < deadline) {
		struct fs_bus_message *msg = NULL;
		int rc = fs_bus_recv(bus, &msg, 100);
		if (rc == -EAGAIN || rc == -EINTR) {
			continue;
		}
		if (rc < 0) {
			status = 1;
			break;
		}
		const Fleetsim__V1__Envelope *env = msg->env;
		bool keyframe = env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES && env->vehicle_states->full;
		if (keyframe) {
			printf("keyframe %u %lld\n", env->vehicle_states->shard, (long long)env->sim_time_ms);
			fflush(stdout);
		}
		if (!last) {
			if (vt_rec_write(f, msg->topic, env) < 0) {
				status = 1;
			}
			written++;
			fs_bus_message_free(msg);
			continue;
		}
		size_t slot = MAX_SHARDS;
		if (keyframe) {
			slot = env->vehicle_states->shard < MAX_SHARDS ? env->vehicle_states->shard : MAX_SHARDS;
		} else if (fs_control_msg_kind(env) != FS_CONTROL_STATUS) {
			fs_bus_message_free(msg);
			continue;
		}
		fs_bus_message_free(latest[slot]);
		latest[slot] = msg;
	}
	for (size_t i = 0; i <= MAX_SHARDS; i++) {
		if (latest[i]) {
			if (vt_rec_write(f, latest[i]->topic, latest[i]->env) < 0) {
				status = 1;
			}
			written++;
			fs_bus_message_free(latest[i]);
		}
	}
	free(latest);
	if (fclose(f) != 0) {
		status = 1;
	}
	fprintf(stderr, "viz-probe: %llu message(s) written to %s, %llu lost\n", (unsigned long long)written, out,
		(unsigned long long)fs_bus_get_stats(bus)->gaps);
	fs_bus_close(bus);
	return status;
}
