/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-rec - work with recordings: info, play, export, recover.
 *
 * `fleetctl info|play|export|recover ...` run this program (as `git` runs
 * git-*), so the operator has one CLI and fleetctl stays free of file I/O.
 *
 *   info FILE             channels, message counts, time span (like `mcap info`);
 *                         a file without summary (killed recorder) is read by
 *                         walking its chunks, and says where it was cut
 *   recover IN OUT        rewrite what IN holds into OUT with a summary and indexes
 *   play FILE             republish the recorded envelopes onto a bus, paced by
 *                         their simulated time, so the viewer and `fleetctl echo`
 *                         see the run as if live; it reports status and takes
 *                         commands like a conductor (rec_play.c)
 *   export FILE ...       per-vehicle timeline CSV, trips GeoJSON, KPI report PNG
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "fs/calendar.h"
#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_control_msg.h"
#include "fs_log.h"
#include "fs_service.h"
#include "fs_mcap.h"
#include "fs_paths.h"
#include "rec_export.h"
#include "rec_play.h"
#include "recorder.h"

static volatile sig_atomic_t stop;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fs-rec COMMAND [args]      (also as `fleetctl COMMAND`)\n"
		"\n"
		"Commands:\n"
		"  info FILE [--scan]          channels, message counts, time span of a recording\n"
		"  recover IN OUT              rewrite a recording (e.g. of a killed recorder) with\n"
		"                              a summary and indexes\n"
		"  play FILE [--speed X|max] [--from T] [--topics P,...] [--bus ADDR] [--paused] [--hold]\n"
		"                              republish a recording onto a bus as if live, driven\n"
		"                              like a run (fleetctl pause|resume|step|speed|seek|stop)\n"
		"  export FILE [--timeline OUT.csv] [--geojson OUT.geojson] [--report OUT.png]\n"
		"                              per-vehicle timeline, trips for kepler.gl, KPI report\n"
		"\n"
		"`fs-rec COMMAND --help` describes a command; `fs-rec --version` prints the version.\n");
}

static void format_ns(uint64_t ns, char *buf, size_t size)
{
	char date[32];
	fs_calendar_format((int64_t)(ns / 1000000u), date, sizeof(date));
	/* "YYYY-MM-DDTHH:MM:SSZ" -> add milliseconds before the Z */
	size_t len = strlen(date);
	if (len && date[len - 1] == 'Z') {
		date[len - 1] = '\0';
	}
	snprintf(buf, size, "%s.%03uZ", date, (unsigned)((ns / 1000000u) % 1000u));
}

static void format_duration(double s, char *buf, size_t size)
{
	uint64_t t = (uint64_t)(s + 0.5);
	if (t >= 86400) {
		snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", t / 86400, t / 3600 % 24,
			 t / 60 % 60, t % 60);
	} else if (t >= 3600) {
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", t / 3600, t / 60 % 60, t % 60);
	} else if (t >= 60) {
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", t / 60, t % 60);
	} else {
		snprintf(buf, size, "%.3fs", s);
	}
}

static void info_usage(FILE *out)
{
	fprintf(out, "Usage: fleetctl info FILE [--scan]\n"
		     "Channels, message counts and time span of a recording. The summary section is\n"
		     "used when present (--scan counts by reading every chunk instead); a file\n"
		     "without one (a recorder killed mid-run) is read chunk by chunk up to where it\n"
		     "was cut, and `fleetctl recover` rewrites it with an index.\n");
}

static int cmd_info(int argc, char **argv)
{
	bool scan = false;
	const struct fs_opt opts[] = {
		{ "scan", FS_OPT_SET, &scan },
		{ 0 },
	};
	int file = 0;
	int rc = fs_service_parse_command(opts, info_usage, argc, argv, &file);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if (file + 1 != argc) {
		fs_error("info: give one recording (see --help)");
		return 2;
	}
	const char *path = argv[file];
	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(path, &err);
	if (!r) {
		fs_error("%s", err.message);
		return 1;
	}
	bool summary = fs_mcap_reader_has_summary(r);
	struct fs_mcap_stats st;
	rc = fs_mcap_reader_stats(r, scan || !summary, &st, &err);
	if (rc < 0) {
		fs_error("%s (counts below stop there)", err.message);
	}
	uint64_t valid = 0;
	bool truncated = fs_mcap_reader_truncated(r, &valid);
	printf("file:        %s (%" PRIu64 " bytes)\n", path, st.bytes);
	printf("library:     %s\n", fs_mcap_reader_library(r));
	printf("profile:     %s\n", fs_mcap_reader_profile(r));
	if (summary) {
		printf("index:       summary present%s\n", scan ? " (counts from reading every chunk)" : "");
	} else if (truncated) {
		printf("index:       none: the file was cut short after byte %" PRIu64
		       " (recorder stopped before closing it);\n"
		       "             counts from reading every whole chunk; `fleetctl recover` adds an index\n",
		       valid);
	} else {
		printf("index:       none (counts from reading every chunk)\n");
	}
	printf("messages:    %" PRIu64 "\n", st.message_count);
	printf("chunks:      %" PRIu32 "\n", st.chunk_count);
	if (st.message_count) {
		char a[48], b[48], d[48];
		format_ns(st.message_start_time, a, sizeof(a));
		format_ns(st.message_end_time, b, sizeof(b));
		double secs = (double)(st.message_end_time - st.message_start_time) / 1e9;
		format_duration(secs, d, sizeof(d));
		printf("start:       %s (%" PRIu64 ".%09" PRIu64 ")\n", a, st.message_start_time / 1000000000u,
		       st.message_start_time % 1000000000u);
		printf("end:         %s (%" PRIu64 ".%09" PRIu64 ")\n", b, st.message_end_time / 1000000000u,
		       st.message_end_time % 1000000000u);
		printf("duration:    %s (simulated)\n", d);
	}
	printf("metadata:    %" PRIu32 "   attachments: %" PRIu32 "\n", st.metadata_count, st.attachment_count);
	size_t nch = fs_mcap_reader_channel_count(r);
	printf("channels:    %zu\n", nch);
	double span = st.message_end_time > st.message_start_time
			      ? (double)(st.message_end_time - st.message_start_time) / 1e9
			      : 0;
	for (size_t i = 0; i < nch; i++) {
		const struct fs_mcap_channel *c = fs_mcap_reader_channel(r, i);
		const struct fs_mcap_schema *s = fs_mcap_reader_schema(r, c->schema_id);
		const char *payload = "";
		for (size_t k = 0; k < c->n_metadata; k++) {
			if (!strcmp(c->metadata[k].key, "payload")) {
				payload = c->metadata[k].value;
			}
		}
		char hz[32] = "";
		if (span > 0 && c->message_count > 1) {
			snprintf(hz, sizeof(hz), "%.3g Hz", (double)c->message_count / span);
		}
		printf("  (%u) %-26s %9" PRIu64 " msgs %12s  %s [%s: %s]\n", c->id, c->topic, c->message_count, hz,
		       payload, c->message_encoding, s ? s->name : "no schema");
	}
	const char *args = fs_mcap_reader_metadata_get(r, RECORDER_RUN_METADATA, "argv");
	if (args) {
		printf("run:         fleetsim run %s\n", args);
	}
	fs_mcap_reader_close(r);
	return rc < 0 ? 1 : 0;
}

static int cmd_recover(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: fleetctl recover IN OUT\n"
		       "Copy every readable message, the metadata and attachments of IN (e.g. the file\n"
		       "of a recorder killed mid-run) into OUT, a complete file with summary and indexes.\n");
		return 0;
	}
	if (argc != 3) {
		fs_error("recover: give IN and OUT (see --help)");
		return 2;
	}
	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(argv[1], &err);
	if (!r) {
		fs_error("%s", err.message);
		return 1;
	}
	struct fs_mcap_writer_options wo = { .profile = fs_mcap_reader_profile(r), .library = fs_mcap_reader_library(r) };
	struct fs_mcap_writer *w = fs_mcap_writer_open(argv[2], &wo, &err);
	if (!w) {
		fs_error("%s", err.message);
		fs_mcap_reader_close(r);
		return 1;
	}
	static struct fs_mcap_copy copy; /* 512 KiB: not on the stack */
	fs_mcap_copy_init(&copy);
	struct fs_mcap_message m;
	int rc;
	uint64_t n = 0;
	while ((rc = fs_mcap_reader_next(r, &m, &err)) == 1) {
		int channel = fs_mcap_copy_channel(&copy, r, w, m.channel);
		if (channel < 0 ||
		    fs_mcap_writer_write(w, (uint16_t)channel, m.sequence, m.log_time, m.publish_time, m.data, m.size) < 0) {
			rc = -EIO;
			break;
		}
		n++;
	}
	if (rc < 0) {
		fs_warn("%s: stopped there; %" PRIu64 " messages before it are kept", err.message[0] ? err.message : "write failed", n);
	}
	fs_mcap_copy_extras(r, w);
	uint64_t valid = 0;
	bool truncated = fs_mcap_reader_truncated(r, &valid);
	fs_mcap_reader_close(r);
	int crc = fs_mcap_writer_close(w);
	if (crc < 0) {
		fs_error("%s: %s", argv[2], strerror(-crc));
		return 1;
	}
	printf("recovered %" PRIu64 " messages into %s%s\n", n, argv[2],
	       truncated ? " (the input was cut short; its last incomplete chunk is lost)" : "");
	return 0;
}

/* ------------------------------------------------------------------ play */

static bool broker_up(const char *address)
{
	char ep[FS_BUS_ADDRESS_MAX];
	if (strncmp(address, "ipc://", 6)) {
		return true; /* tcp: assume someone runs it */
	}
	fs_bus_endpoint(address, FS_BUS_EP_TAP, ep, sizeof(ep));
	return access(ep + 6, F_OK) == 0;
}

static pid_t start_broker(const char *address)
{
	char broker[PATH_MAX], bus_arg[FS_BUS_ADDRESS_MAX + 8];
	fs_paths_helper("fs-broker", broker, sizeof(broker));
	snprintf(bus_arg, sizeof(bus_arg), "--bus=%s", address);
	pid_t pid = fork();
	if (pid == 0) {
		execl(broker, broker, bus_arg, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 250 && !broker_up(address); i++) {
		usleep(20000);
	}
	return pid;
}

/*
 * A run in progress on @address: its conductor publishes its status every
 * 250 ms. Playing a recording there would feed the run messages from senders
 * named like its own participants (a recorded vehicle-1's veh.event #53 is
 * not the live vehicle-1's), which breaks its lockstep; so play refuses.
 * Returns true (and says so) if one answered within a second.
 */
static bool live_run_on(const char *address)
{
	char name[64];
	snprintf(name, sizeof(name), "play-check-%d", (int)getpid());
	struct fs_bus_options bo = { .address = address, .name = name, .mode = FS_BUS_OBSERVER, .observer_hwm = 100 };
	struct fs_bus *bus = fs_bus_connect(&bo);
	if (!bus) {
		return false;
	}
	fs_bus_set_linger(bus, 0);
	fs_bus_subscribe(bus, "ctl.status");
	bool live = false;
	struct fs_control_in in = { 0 };
	int64_t deadline = fs_clock_now_ms() + 1000;
	while (!live && fs_clock_now_ms() < deadline) {
		struct fs_bus_message *msg = NULL;
		if (fs_bus_recv(bus, &msg, 100) != 0) {
			continue;
		}
		const struct fs_control_status *st = &in.status;
		if (fs_control_msg_kind(msg->env) == FS_CONTROL_STATUS && !fs_control_msg_decode(msg->env, &in) &&
		    st->state < FS_RUN_ENDED) {
			fs_error("a %s is live on %s (%s at tick %" PRIu64 "): playing a recording there would mix "
				 "its messages into that %s; play onto a bus of its own (--bus ipc:///tmp/replay)",
				 st->playback ? "playback" : "run", address, msg->env->sender, st->tick,
				 st->playback ? "playback" : "run");
			live = true;
		}
		fs_bus_message_free(msg);
	}
	fs_control_in_finish(&in);
	fs_bus_close(bus);
	return live;
}

static void play_usage(FILE *out)
{
	fprintf(out, "Usage: fleetctl play FILE [--speed X|max] [--from T] [--topics P,...] [--bus ADDR]\n"
		     "                     [--paused] [--hold] [--loop]\n"
		     "Republish the envelopes of a recording onto a bus, paced by their simulated\n"
		     "time at X times real time (default 1; max = no pacing), so `fleet-viz`,\n"
		     "`fleetctl echo` and other observers show the run as if live. The playback\n"
		     "reports status like a run's conductor (`fleetctl status`: playback, tick,\n"
		     "simulated time, pace, the recording's span) and takes its commands:\n"
		     "`fleetctl pause|resume|step [N]|speed X|stop` and `fleetctl seek T`; a viewer\n"
		     "on the bus shows its timeline and drives it with its keys. After a seek, and\n"
		     "every second while paused, it publishes a keyframe of every shard as of the\n"
		     "position (veh.snapshot), rebuilt from the recording's keyframes and news.\n"
		     "  --from T    start T into the recording (90s, 15m, 2h) or at a date-time\n"
		     "              (2028-06-01T08:00:00Z)\n"
		     "  --topics P  republish only topics starting with one of the prefixes (veh.,kpi)\n"
		     "  --paused    start paused (resume, step or seek to go on)\n"
		     "  --hold      at the end, stay on the last position until `fleetctl stop` or\n"
		     "              Ctrl-C (seek back to play again); without it play exits there\n"
		     "  --loop      at the end, start again\n"
		     "Starts a broker on the bus if none is running there, and refuses a bus where\n"
		     "a run (or another playback) is live: the recording's senders would collide\n"
		     "with the run's. The recorded run's handshakes, status and commands are not\n"
		     "replayed: the playback answers for itself.\n");
}

static int cmd_play(const char *global_bus, int argc, char **argv)
{
	const char *from = NULL, *topics = NULL;
	struct rec_play_options o = { .address = global_bus, .speed = 1 };
	const struct fs_opt opts[] = {
		{ "speed", FS_OPT_CALL, &o.speed, .call = fs_service_take_speed },
		{ "from", FS_OPT_STRING, &from },
		{ "topics", FS_OPT_STRING, &topics },
		{ "bus", FS_OPT_STRING, &o.address },
		{ "loop", FS_OPT_SET, &o.loop },
		{ "hold", FS_OPT_SET, &o.hold },
		{ "paused", FS_OPT_SET, &o.paused },
		{ 0 },
	};
	int file = 0;
	int rc = fs_service_parse_command(opts, play_usage, argc, argv, &file);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if (file + 1 != argc) {
		fs_error("play: give one recording (see --help)");
		return 2;
	}
	o.path = argv[file];
	char abuf[FS_BUS_ADDRESS_MAX], endpoint[FS_BUS_ADDRESS_MAX];
	if (!o.address) {
		o.address = fs_bus_default_address(abuf, sizeof(abuf));
	}
	if (fs_bus_endpoint(o.address, FS_BUS_EP_PUB, endpoint, sizeof(endpoint)) < 0) {
		fs_error("--bus: '%s' is not ipc://DIR or tcp://HOST:PORT", o.address);
		return 2;
	}
	if (from) {
		uint64_t ms;
		if (fs_args_duration_ms(from, &ms)) {
			o.from_ms = (int64_t)ms;
			o.from_offset = true;
		} else if (fs_calendar_parse(from, &o.from_ms) < 0 || o.from_ms <= 0) {
			fs_error("--from: '%s' is not a duration (90s, 15m) or a date-time", from);
			return 2;
		}
	}
	char *prefixes[64];
	char *topics_copy = topics ? fs_xstrdup(topics) : NULL;
	for (char *save = NULL, *t = topics_copy ? strtok_r(topics_copy, ",", &save) : NULL; t && o.nprefix < 64;
	     t = strtok_r(NULL, ",", &save)) {
		prefixes[o.nprefix++] = t;
	}
	o.prefixes = prefixes;
	int status = 1;
	pid_t broker = 0;
	if (broker_up(o.address) && live_run_on(o.address)) {
		goto out;
	}
	if (!broker_up(o.address)) {
		broker = start_broker(o.address);
		if (broker <= 0 || !broker_up(o.address)) {
			fs_error("no broker on %s and cannot start one", o.address);
			goto out;
		}
		fs_info("started a broker on %s", o.address);
	}
	if (fs_bus_dir_check(o.address, false, NULL) < 0) {
		goto out; /* said why */
	}
	fs_service_catch_stop(&stop);
	status = rec_play(&o, &stop);
out:
	free(topics_copy);
	if (broker > 0) {
		usleep(300000); /* observers take the last messages */
		kill(broker, SIGTERM);
		waitpid(broker, NULL, 0);
	}
	return status;
}

/* ---------------------------------------------------------------- export */

static void export_usage(FILE *out)
{
	fprintf(out, "Usage: fleetctl export FILE [--timeline OUT.csv] [--geojson OUT.geojson] [--report OUT.png]\n"
		     "                            [--timezone ZONE]\n"
		     "  --timeline  per-vehicle timeline: one row per stretch of constant state\n"
		     "              (start, end, duration, position, charge, distance) and one per\n"
		     "              vehicle event, ordered by vehicle then time\n"
		     "  --geojson   trips as LineString features with [lon, lat, 0, unix_time]\n"
		     "              coordinates (at each of the vehicle's records while IN_TRIP),\n"
		     "              which kepler.gl's trip layer animates\n"
		     "  --report    KPI report of the run as a PNG: fleet by state, charge, trips,\n"
		     "              dispatch KPIs over simulated time\n"
		     "  --timezone  the clock of the report's axes and the timeline's start_local/\n"
		     "              end_local: an IANA zone (America/Chicago) or UTC; default the\n"
		     "              city's of the run's scenario (kept in the recording)\n"
		     "trips.csv itself comes from dispatch (`fleetsim run --out DIR`).\n");
}

static int cmd_export(int argc, char **argv)
{
	struct rec_export_options o = { 0 };
	const struct fs_opt opts[] = {
		{ "timeline", FS_OPT_STRING, &o.timeline_csv },
		{ "geojson", FS_OPT_STRING, &o.trips_geojson },
		{ "report", FS_OPT_STRING, &o.report_png },
		{ "timezone", FS_OPT_STRING, &o.timezone },
		{ 0 },
	};
	int file = 0;
	int rc = fs_service_parse_command(opts, export_usage, argc, argv, &file);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if (file + 1 != argc || (!o.timeline_csv && !o.trips_geojson && !o.report_png)) {
		fs_error("export: give one recording and at least one of --timeline, --geojson, --report");
		return 2;
	}
	return rec_export(argv[file], &o) < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	fs_log_init("fs-rec", FS_LOG_INFO);
	if (fs_args_version(argc, argv, "fs-rec")) {
		return 0;
	}
	if (strcmp(argv[0], "fleetctl")) {
		argv[0] = (char *)"fs-rec";
	}
	const char *bus = NULL;
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!fs_args_value(argc, argv, &i, "--bus", &bus)) {
			fs_error("unknown option '%s'", argv[i]);
			return fs_args_try_help(argv[0]);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i];
	/* Run as `fleetctl info ...` (fleetctl execs us with argv[0] "fleetctl"): say so in messages. */
	static char program[64];
	snprintf(program, sizeof(program), "%s %s", argv[0], cmd);
	fs_log_init(program, FS_LOG_INFO);
	argv[i] = program; /* the subcommand's argv[0]: getopt names it in its one-line complaint */
	if (!strcmp(cmd, "info")) {
		return cmd_info(argc - i, argv + i);
	} else if (!strcmp(cmd, "recover")) {
		return cmd_recover(argc - i, argv + i);
	} else if (!strcmp(cmd, "play")) {
		return cmd_play(bus, argc - i, argv + i);
	} else if (!strcmp(cmd, "export")) {
		return cmd_export(argc - i, argv + i);
	}
	fs_error("unknown command '%s' (try --help)", cmd);
	return 2;
}
