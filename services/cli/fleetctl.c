/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fleetctl - the operator's CLI for a running simulation (like `ros2 topic`).
 *
 * It attaches to the bus as an observer (it can never slow the run), reads
 * what is published, and sends commands to the conductor, waiting for the
 * acknowledgement.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fs/calendar.h"
#include "fs/scenario_load.h"
#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_control_msg.h"
#include "fs_log.h"
#include "fs_paths.h"
#include "fs_scenario_msg.h"
#include "fs_service.h"
#include "pbprint.h"

static volatile sig_atomic_t stop;
/* --curve-server / --curve-secret (else $FLEETSIM_CURVE_SERVER / $FLEETSIM_CURVE_SECRET) */
static const char *curve_server, *curve_secret;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fleetctl [--bus ADDR] COMMAND [args]\n"
		"\n"
		"Inspect and steer a running fleetsim simulation.\n"
		"\n"
		"Commands:\n"
		"  topics              list the topics with their message types and rates\n"
		"  echo TOPIC          print messages on TOPIC, decoded (TOPIC* for a prefix)\n"
		"       [-n COUNT] [--timeout S] [--field PATH] [--vehicle ID] [--csv|--json]\n"
		"  hz TOPIC            message rate on TOPIC [--window S] [--timeout S]\n"
		"  status              participants, tick, simulated/real ratio, drops\n"
		"  pause | resume      pause or resume the run\n"
		"  step [N]            run N ticks (default 1), then pause\n"
		"  speed X|max         pace at X times real time, or as fast as possible\n"
		"  stop                end the run after the current tick (results are written)\n"
		"  seek T              a playback (`fleetctl play`): move to T into the recording (15m),\n"
		"                      to +T / -T from where it is, or to a date-time\n"
		"  inject FILE         send the events: of a scenario file to the running simulation;\n"
		"                      offsets (at: 10m) count from now [--from-start]\n"
		"  inject --event TYPE [--tick N] KEY=VALUE...\n"
		"                      send one event (e.g. --event weather zone=downtown severity=storm for=30m)\n"
		"  record FILE         record every bus message into an MCAP file (Ctrl-C ends it)\n"
		"  info FILE           channels, message counts, time span of a recording\n"
		"  play FILE           republish a recording onto the bus, driven like a run (pause,\n"
		"                      resume, step, speed, seek, stop) [--speed X] [--from T] [--hold]\n"
		"  export FILE         --timeline CSV, --geojson trips, --report PNG of a recording\n"
		"  recover IN OUT      rewrite a cut-short recording with an index\n"
		"  keygen [DIR] [--name NAME]\n"
		"                      write a CURVE key pair: DIR/NAME.pub (for the broker's --allow list)\n"
		"                      and DIR/NAME.secret (mode 0600); default ./fleetctl\n"
		"\n"
		"Options:\n"
		"  --bus ADDR          bus address (default $FLEETSIM_BUS, else\n"
		"                      ipc://$XDG_RUNTIME_DIR/fleetsim or ipc:///tmp/fleetsim-UID)\n"
		"  --curve-server KEY|FILE  tcp bus: the broker's public key ($FLEETSIM_CURVE_SERVER)\n"
		"  --curve-secret FILE tcp bus: this client's secret key ($FLEETSIM_CURVE_SECRET); only\n"
		"                      keys on the broker's allow-list may send commands\n"
		"  --version           print the version\n"
		"  -h, --help          this text (also `fleetctl COMMAND --help`)\n");
}

static struct fs_bus *attach(const char *address)
{
	char name[64];
	snprintf(name, sizeof(name), "fleetctl-%d", (int)getpid());
	struct fs_bus_options opts = { .address = address, .name = name, .mode = FS_BUS_OBSERVER,
				       .curve_server = curve_server, .curve_secret = curve_secret };
	struct fs_bus *bus = fs_bus_connect(&opts);
	if (!bus) {
		return NULL;
	}
	return bus;
}

/* Why the bus did not answer, as precisely as the client can tell. */
static void report_unreachable(const char *address, int rc)
{
	if (rc == -EACCES) {
		fs_error("refused: the broker on %s did not accept this client's CURVE key (not on its allow-list; "
			 "use an authorised key with --curve-secret or $FLEETSIM_CURVE_SECRET)", address);
	} else if (!strncmp(address, "tcp://", 6) && !(curve_server && *curve_server) &&
		   !(getenv(FS_BUS_ENV_CURVE_SERVER) && *getenv(FS_BUS_ENV_CURVE_SERVER))) {
		/* a plain client: refused (-EPROTO) or not answered, the cure is the same */
		fs_error("no simulation answers on %s (a tcp bus is encrypted: give the broker's public key with "
			 "--curve-server or $FLEETSIM_CURVE_SERVER)", address);
	} else if (rc == -EPROTO) {
		fs_error("refused: the security handshake with %s failed (is --curve-server or "
			 "$FLEETSIM_CURVE_SERVER this broker's public key?)", address);
	} else if (!strncmp(address, "tcp://", 6)) {
		fs_error("no simulation answers on %s (is it running? is the broker's public key the one of this "
			 "broker?)", address);
	} else {
		fs_error("no simulation answers on %s (is `fleetsim run` running? --bus?)", address);
	}
}

/* Observers need the handshake too before sending: it proves the broker is there. */
static int attach_checked(const char *address, struct fs_bus **ret)
{
	struct fs_bus *bus = attach(address);
	if (!bus) {
		return 1;
	}
	int rc = fs_bus_handshake(bus, 3000);
	if (rc < 0) {
		char buf[FS_BUS_ADDRESS_MAX];
		report_unreachable(address ? address : fs_bus_default_address(buf, sizeof(buf)), rc);
		fs_bus_close(bus);
		return 1;
	}
	*ret = bus;
	return 0;
}

/* How echo picks messages: `veh.state` exactly; `veh` (no such topic) or `kpi*` by prefix. */
struct echo_topic {
	char name[FS_TOPIC_MAX];
	bool prefix;
	const struct fs_topic_info *info; /* the one payload type of an exact topic, else NULL */
};

static int echo_topic_parse(const char *arg, struct echo_topic *ret)
{
	size_t len = strlen(arg);
	bool star = len > 0 && arg[len - 1] == '*';
	if (star) {
		len--;
	}
	if (len >= sizeof(ret->name) || (len && !fs_topic_valid(arg, len))) {
		fs_error("echo: '%s' is not a topic (`fleetctl topics` lists them)", arg);
		return -EINVAL;
	}
	memcpy(ret->name, arg, len);
	ret->name[len] = '\0';
	ret->info = star ? NULL : fs_topic_lookup(ret->name, len);
	ret->prefix = star || !ret->info;
	return 0;
}

static bool echo_topic_match(const struct echo_topic *t, const char *topic)
{
	return t->prefix ? !strncmp(topic, t->name, strlen(t->name)) : !strcmp(topic, t->name);
}

enum echo_format { ECHO_TEXT, ECHO_CSV, ECHO_JSON };

struct echo_options {
	uint64_t count;
	double timeout;
	enum echo_format format;
	bool by_vehicle;
	uint64_t vehicle;
	struct pbprint_options print;
	const ProtobufCMessageDescriptor *warned; /* the last type echo_fields_fit() warned about */
};

/* Columns for text tables: the terminal's, else $COLUMNS, else no limit (a pipe gets every column). */
static size_t terminal_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		return ws.ws_col;
	}
	uint64_t cols;
	const char *env = getenv("COLUMNS");
	return env && fs_args_u64(env, &cols) && cols > 0 && cols < 100000 ? (size_t)cols : 0;
}

static int echo_add_fields(struct echo_options *o, char *list)
{
	char *save = NULL;
	for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		if (o->print.n_fields == PBPRINT_MAX_FIELDS || !*f || strlen(f) > 200) {
			fs_error("--field: at most %d fields of at most 200 characters", PBPRINT_MAX_FIELDS);
			return -EINVAL;
		}
		o->print.fields[o->print.n_fields++] = f;
	}
	return 0;
}

static void echo_usage(FILE *out)
{
	fprintf(out, "Usage: fleetctl echo TOPIC [-n COUNT] [--timeout S] [--field PATH]... [--vehicle ID]\n"
		     "                    [--rows N] [--csv | --json]\n"
		     "Print each message on TOPIC, decoded.\n"
		     "\n"
		     "TOPIC: a topic name matches that topic only (kpi, not kpi/broker); end it with * for\n"
		     "every topic that starts so (kpi* also gets kpi/broker); a name that is no topic is a\n"
		     "prefix too (veh: veh.state, veh.event, veh.snapshot).\n"
		     "  -n COUNT        stop after COUNT messages (after the filter); also --count COUNT\n"
		     "  --timeout S     stop after S seconds; exit 1 if nothing was printed\n"
		     "  --field PATH    print only this field of the payload (a.b for nested ones and the\n"
		     "                  items of a list; repeatable or comma-separated: --field vehicle_id,soc)\n"
		     "  --vehicle ID    only what concerns vehicle ID: messages whose vehicle_id is ID, the\n"
		     "                  records or items of a batch whose vehicle_id is ID; others are skipped\n"
		     "  --rows N        rows of a table, items of a list to show (default 20, 0 = all; text)\n"
		     "  --csv           one CSV row per record (a batch's table or list, else the message):\n"
		     "                  topic,sender,tick,sim_time_utc then the fields; a header line whenever\n"
		     "                  the columns change\n"
		     "  --json          one JSON object per message (JSON Lines): topic, sender, seq, tick,\n"
		     "                  sim_time_ms, sim_time_utc, type, payload (fields by their proto names)\n"
		     "Every field prints, zeros included. Text tables fit the terminal's width ($COLUMNS);\n"
		     "the columns left out are named. Times are simulated UTC; messages outside simulated\n"
		     "time (the broker's kpi/broker counters) have none.\n");
}

static int take_fields(void *target, const char *arg)
{
	return echo_add_fields(target, (char *)arg) < 0 ? 2 : 0; /* @arg is argv's: split in place */
}

/* FS_SERVICE_GO_ON with *@ret_topic the index of the topic argument, or the exit status. */
static int echo_parse(int argc, char **argv, struct echo_options *o, int *ret_topic)
{
	uint64_t rows = o->print.max_rows;
	bool csv = false, json = false;
	const struct fs_opt opts[] = {
		{ "count", FS_OPT_U64, &o->count, .what = "a count", .as_given = true, .short_name = 'n' },
		{ "rows", FS_OPT_U64, &rows, .what = "a count" },
		{ "timeout", FS_OPT_DOUBLE, &o->timeout, .lo_open = true, .hi = DBL_MAX,
		  .what = "a positive number of seconds" },
		{ "field", FS_OPT_CALL, o, .call = take_fields },
		{ "vehicle", FS_OPT_U64, &o->vehicle, &o->by_vehicle, .what = "a vehicle id" },
		{ "csv", FS_OPT_SET, &csv },
		{ "json", FS_OPT_SET, &json },
		{ 0 },
	};
	int rc = fs_service_parse_command(opts, echo_usage, argc, argv, ret_topic);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if (csv && json) {
		fs_error("echo: give --csv or --json, not both");
		return 2;
	}
	o->format = csv ? ECHO_CSV : json ? ECHO_JSON : ECHO_TEXT;
	o->print.max_rows = (size_t)rows;
	return FS_SERVICE_GO_ON;
}

/*
 * Under a prefix (veh, kpi*) messages of several types arrive: one whose type
 * has none of the --field paths is skipped, said once per type.
 */
static bool echo_fields_fit(struct echo_options *o, const ProtobufCMessageDescriptor *d)
{
	char why[512] = "";
	for (size_t i = 0; i < o->print.n_fields; i++) {
		if (pbprint_field_exists(d, o->print.fields[i], why, sizeof(why))) {
			return true;
		}
	}
	if (o->print.n_fields && o->warned != d) {
		fs_warn("skipping %s messages: --field %s: %s", d->name, o->print.fields[0], why);
		o->warned = d;
	}
	return !o->print.n_fields;
}

/* One message as the user asked for it; false if the vehicle filter or --field left nothing. */
static bool echo_print(const struct fs_bus_message *msg, struct echo_options *o, struct pbprint_csv_state *csv)
{
	const Fleetsim__V1__Envelope *env = msg->env;
	ProtobufCMessage *payload = NULL;
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(&fleetsim__v1__envelope__descriptor, env->payload_case);
	if (f) {
		payload = *(ProtobufCMessage **)((char *)env + f->offset); /* ours: msg is owned by the caller */
	}
	if (payload && !echo_fields_fit(o, payload->descriptor)) {
		return false;
	}
	if (o->by_vehicle && (!payload || pbprint_filter_vehicle(payload, o->vehicle) != PBPRINT_THIS_VEHICLE)) {
		return false;
	}
	struct pbprint_meta meta = { .topic = msg->topic, .sender = env->sender, .seq = env->seq, .tick = env->tick,
				     .sim_time_ms = env->sim_time_ms, .type = msg->info->descriptor->name };
	if (o->format == ECHO_CSV && payload) {
		pbprint_csv(stdout, &meta, payload, &o->print, csv);
		return true;
	}
	if (o->format == ECHO_JSON && payload) {
		pbprint_json(stdout, &meta, payload, &o->print);
		return true;
	}
	char when[40] = "no simulated time";
	if (env->sim_time_ms) {
		fs_calendar_format(env->sim_time_ms, when, sizeof(when));
	}
	printf("--- %s  from %s  seq %" PRIu64 "  tick %" PRIu64 "  %s  %zu bytes\n", msg->topic, env->sender, env->seq,
	       env->tick, when, msg->bytes);
	if (payload) {
		printf("%s:\n", msg->info->descriptor->name);
		pbprint_message(stdout, payload, 2, &o->print);
	}
	fflush(stdout);
	return true;
}

static int cmd_echo(const char *address, int argc, char **argv)
{
	struct echo_options o = { .print = { .max_rows = 20 } };
	int first = 0;
	int rc = echo_parse(argc, argv, &o, &first);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if (first >= argc) {
		fs_error("echo: which topic? (`fleetctl topics` lists them)");
		return 2;
	}
	struct echo_topic topic;
	if (echo_topic_parse(argv[first], &topic) < 0) {
		return 2;
	}
	for (size_t i = 0; topic.info && i < o.print.n_fields; i++) {
		char why[512];
		if (!pbprint_field_exists(topic.info->descriptor, o.print.fields[i], why, sizeof(why))) {
			fs_error("--field %s: %s", o.print.fields[i], why);
			return 2;
		}
	}
	o.print.width = o.format == ECHO_TEXT ? terminal_width() : 0;
	struct fs_bus *bus = attach(address);
	if (!bus) {
		return 1;
	}
	fs_bus_subscribe(bus, topic.name);
	struct pbprint_csv_state csv = { 0 };
	int64_t deadline = o.timeout > 0 ? fs_clock_now_ms() + (int64_t)(o.timeout * 1000) : INT64_MAX;
	uint64_t seen = 0;
	while (!stop && (!o.count || seen < o.count)) {
		int64_t left = deadline - fs_clock_now_ms();
		if (left <= 0) {
			break;
		}
		struct fs_bus_message *msg = NULL;
		rc = fs_bus_recv(bus, &msg, left > 500 ? 500 : (int)left);
		if (rc == -EAGAIN && fs_bus_auth_status(bus) < 0) {
			char buf[FS_BUS_ADDRESS_MAX];
			report_unreachable(address ? address : fs_bus_default_address(buf, sizeof(buf)),
					   fs_bus_auth_status(bus));
			fs_bus_close(bus);
			return 1;
		}
		if (rc == -EAGAIN || rc == -EINTR) {
			continue;
		}
		if (rc < 0) {
			break;
		}
		if (echo_topic_match(&topic, msg->topic) && echo_print(msg, &o, &csv)) {
			seen++;
		}
		fs_bus_message_free(msg);
	}
	pbprint_csv_finish(&csv);
	const struct fs_bus_stats *st = fs_bus_get_stats(bus);
	if (st->gaps) {
		fs_warn("missed %" PRIu64 " message(s) (observers may drop when they fall behind)", st->gaps);
	}
	fs_bus_close(bus);
	if (!seen && o.timeout > 0) {
		fs_error("no message on '%s'%s within %g s", argv[first], o.by_vehicle ? " about that vehicle" : "",
			 o.timeout);
		return 1;
	}
	return 0;
}

/* A command that takes at most @max arguments (no options but --help): one line and a hint otherwise. */
static bool extra_arguments(int argc, char **argv, int max)
{
	for (int i = 1; i < argc; i++) {
		if (i > max || (argv[i][0] == '-' && argv[i][1] && !isdigit((unsigned char)argv[i][1]))) {
			fs_error("unexpected %s '%s'", argv[i][0] == '-' ? "option" : "argument", argv[i]);
			fs_args_try_help(argv[0]);
			return true;
		}
	}
	return false;
}

struct topic_rate {
	char topic[FS_TOPIC_MAX];
	uint64_t count;
	uint64_t bytes;
	const struct fs_topic_info *info;
};

static void topics_usage(FILE *out)
{
	fprintf(out, "Usage: fleetctl topics [--window S]\nListen for S seconds (default 2) and list the topics "
		     "seen, then the known topics that were silent.\n");
}

static int cmd_topics(const char *address, int argc, char **argv)
{
	double window = 2.0;
	const struct fs_opt opts[] = {
		{ "window", FS_OPT_DOUBLE, &window, .lo_open = true, .hi = DBL_MAX, .what = "a positive number of seconds" },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = argv[0], .usage = topics_usage, .opts = opts,
					      .unexpected_suffix = " (try --help)" };
	int rc = fs_service_parse(&spec, argc, argv, NULL);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	struct fs_bus *bus = NULL;
	if (attach_checked(address, &bus)) {
		return 1;
	}
	fs_bus_subscribe(bus, "");
	struct topic_rate rates[256];
	size_t n = 0;
	int64_t deadline = fs_clock_now_ms() + (int64_t)(window * 1000);
	while (!stop && fs_clock_now_ms() < deadline) {
		struct fs_bus_message *msg = NULL;
		if (fs_bus_recv(bus, &msg, 100) != 0) {
			continue;
		}
		if (strncmp(msg->topic, "ctl.hello", 9)) {
			size_t i = 0;
			while (i < n && strcmp(rates[i].topic, msg->topic)) {
				i++;
			}
			if (i == n && n < 256) {
				snprintf(rates[n].topic, sizeof(rates[n].topic), "%s", msg->topic);
				rates[n].info = msg->info;
				rates[n].count = rates[n].bytes = 0;
				n++;
			}
			if (i < n) {
				rates[i].count++;
				rates[i].bytes += msg->bytes;
			}
		}
		fs_bus_message_free(msg);
	}
	fs_bus_close(bus);
	printf("%-22s %-34s %10s %12s\n", "TOPIC", "TYPE", "MSG/S", "BYTES/S");
	for (size_t i = 0; i < n; i++) {
		printf("%-22s %-34s %10.1f %12.0f\n", rates[i].topic, rates[i].info->descriptor->name,
		       (double)rates[i].count / window, (double)rates[i].bytes / window);
	}
	for (const struct fs_topic_info *t = fs_topic_all(); t->name; t++) {
		bool seen = false;
		for (size_t i = 0; i < n; i++) {
			seen |= rates[i].info == t;
		}
		if (!seen && strcmp(t->name, "ctl.hello")) {
			printf("%-22s %-34s %10s %12s  %s\n", t->name, t->descriptor->name, "-", "-", t->summary);
		}
	}
	return 0;
}

static void hz_usage(FILE *out)
{
	fprintf(out, "Usage: fleetctl hz TOPIC [--window S] [--timeout S]\n"
		     "Rate of TOPIC in wall time and per simulated second, printed every S s (default 5);\n"
		     "runs until Ctrl-C (exit 0) or --timeout (exit 1 if nothing came).\n");
}

static int cmd_hz(const char *address, int argc, char **argv)
{
	double window = 5, timeout = 0;
	const struct fs_opt opts[] = {
		{ "window", FS_OPT_DOUBLE, &window, .lo_open = true, .hi = DBL_MAX, .what = "a positive number of seconds" },
		{ "timeout", FS_OPT_DOUBLE, &timeout, .lo_open = true, .hi = DBL_MAX, .what = "a positive number of seconds" },
		{ 0 },
	};
	int topic = 0;
	int rc = fs_service_parse_command(opts, hz_usage, argc, argv, &topic);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if (topic >= argc) {
		fs_error("hz: which topic?");
		return 2;
	}
	struct fs_bus *bus = attach(address);
	if (!bus) {
		return 1;
	}
	fs_bus_subscribe(bus, argv[topic]);
	int64_t end = timeout > 0 ? fs_clock_now_us() + (int64_t)(timeout * 1e6) : INT64_MAX;
	int64_t window_start = fs_clock_now_us(), last_us = 0;
	int64_t first_sim = -1, last_sim = 0;
	uint64_t count = 0, total = 0;
	/* The window's intervals, Welford's way: the first one may reach back into the previous window
	 * (a real interval all the same), so they are counted apart from the messages. */
	uint64_t n_dt = 0;
	double min_dt = INFINITY, max_dt = 0, mean_dt = 0, m2_dt = 0;
	while (!stop && fs_clock_now_us() < end) {
		struct fs_bus_message *msg = NULL;
		rc = fs_bus_recv(bus, &msg, 100);
		int64_t now = fs_clock_now_us();
		if (rc == 0) {
			if (last_us) {
				double dt = (double)(now - last_us) / 1e6;
				min_dt = dt < min_dt ? dt : min_dt;
				max_dt = dt > max_dt ? dt : max_dt;
				n_dt++;
				double delta = dt - mean_dt;
				mean_dt += delta / (double)n_dt;
				m2_dt += delta * (dt - mean_dt);
			}
			last_us = now;
			if (first_sim < 0) {
				first_sim = msg->env->sim_time_ms;
			}
			last_sim = msg->env->sim_time_ms;
			count++;
			total++;
			fs_bus_message_free(msg);
		}
		if (now - window_start >= (int64_t)(window * 1e6)) {
			double secs = (double)(now - window_start) / 1e6;
			if (count > 1 && n_dt > 0) {
				double sd = sqrt(m2_dt / (double)n_dt); /* of the intervals seen, like `ros2 topic hz` */
				double sim_s = (double)(last_sim - first_sim) / 1000.0;
				printf("%s: %.2f msg/s wall, %.3f msg per simulated s; interval min %.4fs max %.4fs "
				       "std %.4fs; window %" PRIu64 " msgs\n",
				       argv[topic], (double)count / secs, sim_s > 0 ? (double)(count - 1) / sim_s : 0.0,
				       min_dt, max_dt, sd, count);
			} else {
				printf("%s: %" PRIu64 " message(s) in %.1f s\n", argv[topic], count, secs);
			}
			fflush(stdout);
			window_start = now;
			count = 0;
			n_dt = 0;
			mean_dt = m2_dt = 0;
			min_dt = INFINITY;
			max_dt = 0;
			first_sim = -1;
		}
	}
	fs_bus_close(bus);
	if (!total && timeout > 0) {
		fs_error("no message on '%s' within %g s", argv[topic], timeout);
		return 1;
	}
	return 0; /* Ctrl-C ends it, as echo */
}

static const char *state_name(enum fs_run_state s)
{
	switch (s) {
	case FS_RUN_WAITING:
		return "waiting for participants";
	case FS_RUN_RUNNING:
		return "running";
	case FS_RUN_PAUSED:
		return "paused";
	case FS_RUN_ENDING:
		return "ending";
	case FS_RUN_ENDED:
		return "ended";
	default:
		return "unknown";
	}
}

/* What a playback (`fleetctl play`) adds to its status: the recording, its span, where it is. */
static void print_playback(const struct fs_control_status *st)
{
	const struct fs_control_playback *pb = st->playback;
	char a[32], b[32];
	fs_calendar_format(pb->start_ms, a, sizeof(a));
	fs_calendar_format(pb->end_ms, b, sizeof(b));
	double span = (double)(pb->end_ms - pb->start_ms);
	printf("playback     %s\n", pb->file);
	printf("span         %s .. %s, at %.0f %%\n", a, b,
	       span > 0 ? 100.0 * (double)(st->sim_time_ms - pb->start_ms) / span : 100.0);
}

static int cmd_status(const char *address, int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: fleetctl status\nThe conductor's view: run state, tick, simulated time, "
		       "speed, participants and their message counters;\nof a playback (`fleetctl play`): "
		       "the recording, its span and where it is.\n");
		return 0;
	}
	if (extra_arguments(argc, argv, 0)) {
		return 2;
	}
	struct fs_bus *bus = attach(address);
	if (!bus) {
		return 1;
	}
	fs_bus_subscribe(bus, "ctl.status");
	struct fs_bus_message *msg = NULL;
	int64_t deadline = fs_clock_now_ms() + 3000;
	int rc = -EAGAIN;
	while (!stop && fs_clock_now_ms() < deadline && (rc = fs_bus_recv(bus, &msg, 200)) != 0 &&
	       fs_bus_auth_status(bus) == 0) {
	}
	if (rc != 0) {
		char buf[FS_BUS_ADDRESS_MAX];
		const char *where = address ? address : fs_bus_default_address(buf, sizeof(buf));
		/* Silence has three causes: no broker, a broker that will not talk to us, no run. */
		int auth = fs_bus_auth_status(bus);
		if (auth == 0) {
			auth = fs_bus_handshake(bus, 1000);
		}
		if (auth < 0) {
			report_unreachable(where, auth);
		} else {
			fs_error("the bus on %s answers, but no conductor reports status: no run is in progress there",
				 where);
		}
		fs_bus_close(bus);
		return 1;
	}
	struct fs_control_in in = { 0 };
	const char *refused = fs_control_msg_decode(msg->env, &in);
	if (refused || in.kind != FS_CONTROL_STATUS) {
		fs_error("%s's status refused: %s", msg->env->sender, refused ? refused : "not a Status");
		rc = 1;
		goto out;
	}
	const struct fs_control_status *st = &in.status;
	char when[32];
	fs_calendar_format(st->sim_time_ms, when, sizeof(when));
	printf("state        %s%s\n", state_name(st->state), st->playback ? " (playback)" : "");
	if (st->playback) {
		print_playback(st);
	}
	printf("tick         %" PRIu64 " of %" PRIu64 "\n", st->tick, st->duration_ticks);
	printf("sim time     %s\n", when);
	if (st->speed > 0) {
		printf("speed        %gx real time requested, %.1fx measured\n", st->speed, st->sim_real_ratio);
	} else {
		printf("speed        max, %.1fx real time measured\n", st->sim_real_ratio);
	}
	if (st->playback) {
		goto out; /* a playback has no lockstep and no participants */
	}
	printf("lockstep     p50 %" PRIu64 " us, p99 %" PRIu64 " us per tick\n", st->lockstep_p50_us,
	       st->lockstep_p99_us);
	printf("\n%-16s %-10s %-6s %-7s %10s %10s %12s %6s %8s\n", "PARTICIPANT", "ROLE", "READY", "TICKS", "DONE", "SENT",
	       "RECEIVED", "GAPS", "DROPPED");
	for (size_t i = 0; i < st->n_participants; i++) {
		const struct fs_control_participant *p = &st->participants[i];
		const struct fs_bus_stats *s = &p->stats.bus;
		uint64_t dropped = s->malformed + s->unknown + s->oversize + s->rejected;
		printf("%-16s %-10s %-6s %-8s %10" PRIu64 " %10" PRIu64 " %12" PRIu64 " %6" PRIu64 " %8" PRIu64 "\n",
		       p->participant, p->role, p->ready ? "yes" : "no", p->control_socket ? "socket" : "bus",
		       p->last_done_tick, s->msgs_sent, s->msgs_received, s->gaps, dropped);
	}
out:
	fs_control_in_finish(&in);
	fs_bus_message_free(msg);
	fs_bus_close(bus);
	return rc;
}

/*
 * Where `fleetctl seek @text` goes, from the playback's status: 15m into the
 * recording, +1m / -30s from its position, or a date-time. Returns 0, 1 (no
 * playback answers: said why) or 2 (@text is no time).
 */
static int seek_target(struct fs_bus *bus, const char *address, const char *text, int64_t *ret_ms)
{
	fs_bus_subscribe(bus, "ctl.status");
	struct fs_bus_message *msg = NULL;
	int64_t deadline = fs_clock_now_ms() + 3000;
	while (!stop && fs_clock_now_ms() < deadline && fs_bus_recv(bus, &msg, 200) != 0) {
	}
	if (!msg) {
		fs_error("no status on %s within 3 s: nothing plays there", address ? address : "the bus");
		return 1;
	}
	struct fs_control_in in = { 0 };
	const char *refused = fs_control_msg_decode(msg->env, &in);
	const struct fs_control_status *st = &in.status;
	int rc = 0;
	uint64_t d;
	int64_t at;
	if (refused || in.kind != FS_CONTROL_STATUS) {
		fs_error("%s's status refused: %s", msg->env->sender, refused ? refused : "not a Status");
		rc = 1;
	} else if (!st->playback) {
		fs_error("the bus has a live run (%s at tick %" PRIu64 "): a run cannot seek, only a recording played "
			 "with `fleetctl play`", msg->env->sender, st->tick);
		rc = 1;
	} else if ((text[0] == '+' || text[0] == '-') && fs_args_duration_ms(text + 1, &d)) {
		*ret_ms = st->sim_time_ms + (text[0] == '+' ? (int64_t)d : -(int64_t)d);
	} else if (fs_args_duration_ms(text, &d)) {
		*ret_ms = st->playback->start_ms + (int64_t)d;
	} else if (fs_calendar_parse(text, &at) == 0) {
		*ret_ms = at;
	} else {
		fs_error("seek: '%s' is not a time: 15m (into the recording), +1m or -30s (from where it is), or a "
			 "date-time (2028-06-01T12:05:00Z)", text);
		rc = 2;
	}
	fs_control_in_finish(&in);
	fs_bus_message_free(msg);
	return rc;
}

static int cmd_control(const char *address, enum fs_command_kind kind, int argc, char **argv)
{
	struct fs_control_command cmd = { .kind = kind };
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		if (kind == FS_COMMAND_SEEK) {
			printf("Usage: fleetctl seek T\nMove a playback (`fleetctl play`) to T: a duration into the "
			       "recording (15m),\n+T or -T from where it is (+1m, -30s), or a date-time "
			       "(2028-06-01T12:05:00Z).\nThe vehicles are shown as they were then. Prints the "
			       "playback's answer; exits 1 if\nrefused or if the bus has a live run (a run cannot "
			       "seek).\n");
			return 0;
		}
		printf("Usage: %s\nSent to the conductor (or a playback); prints its answer and exits 1 if refused.\n",
		       kind == FS_COMMAND_STEP    ? "fleetctl step [N]"
		       : kind == FS_COMMAND_SPEED ? "fleetctl speed X|max"
										: argv[0]);
		return 0;
	}
	bool takes_value = kind == FS_COMMAND_STEP ||
			   kind == FS_COMMAND_SPEED ||
			   kind == FS_COMMAND_SEEK;
	if (extra_arguments(argc, argv, takes_value ? 1 : 0)) {
		return 2;
	}
	if (kind == FS_COMMAND_STEP) {
		cmd.steps = 1;
		if (argc > 1 && (!fs_args_u64(argv[1], &cmd.steps) || cmd.steps == 0)) {
			fs_error("step: '%s' is not a positive number of ticks", argv[1]);
			return 2;
		}
	} else if (kind == FS_COMMAND_SPEED) {
		if (argc < 2 || !fs_args_speed(argv[1], &cmd.speed)) {
			fs_error("speed: give a positive factor (e.g. 60) or 'max'");
			return 2;
		}
	} else if (kind == FS_COMMAND_SEEK && argc < 2) {
		fs_error("seek: where to? 15m (into the recording), +1m or -30s (from where it is), or a date-time");
		return 2;
	}
	struct fs_bus *bus = NULL;
	if (attach_checked(address, &bus)) {
		return 1;
	}
	if (kind == FS_COMMAND_SEEK) {
		int rc = seek_target(bus, address, argv[1], &cmd.sim_time_ms);
		if (rc) {
			fs_bus_close(bus);
			return rc;
		}
	}
	fs_bus_subscribe(bus, "ctl.ack");
	cmd.command_id = ((uint64_t)getpid() << 20) ^ (uint64_t)fs_clock_now_us();
	struct fs_control_msg out = { 0 }; /* a Command has no arrays: nothing to finish */
	struct fs_control_in in = { 0 };
	if (fs_bus_publish(bus, NULL, fs_control_msg_encode_command(&out, &cmd)) < 0) {
		fs_error("cannot send the command");
		fs_bus_close(bus);
		return 1;
	}
	int64_t deadline = fs_clock_now_ms() + 3000;
	int status = 1;
	bool answered = false;
	while (!stop && !answered && fs_clock_now_ms() < deadline) {
		struct fs_bus_message *msg = NULL;
		if (fs_bus_recv(bus, &msg, 200) != 0) {
			continue;
		}
		const struct fs_control_command_ack *ack = &in.command_ack;
		if (fs_control_msg_kind(msg->env) == FS_CONTROL_COMMAND_ACK && !fs_control_msg_decode(msg->env, &in) &&
		    ack->command_id == cmd.command_id) {
			answered = true;
			if (ack->accepted) {
				printf("%s\n", ack->reason);
				status = 0;
			} else {
				fs_error("refused: %s", ack->reason);
			}
		}
		fs_bus_message_free(msg);
	}
	if (!answered && !stop) {
		fs_error("no answer from the conductor within 3 s");
	}
	fs_control_in_finish(&in);
	fs_bus_close(bus);
	return status;
}

static void free_command(Fleetsim__V1__ScenarioCommand *cmd)
{
	for (size_t i = 0; i < cmd->n_events; i++) {
		Fleetsim__V1__ScenarioEvent *e = cmd->events[i];
		for (size_t k = 0; k < e->n_params; k++) {
			free(e->params[k]);
		}
		free(e->params);
		free(e);
	}
	free(cmd->events);
}

/* An event whose params point at @kv (borrowed). */
static Fleetsim__V1__ScenarioEvent *raw_event(const char *type, const struct fs_scenario_kv *kv, size_t n,
					      uint64_t tick)
{
	Fleetsim__V1__ScenarioEvent *e = fs_xcalloc(1, sizeof(*e));
	fleetsim__v1__scenario_event__init(e);
	e->type = (char *)type;
	e->apply_tick = tick;
	e->params = fs_xcalloc(n ? n : 1, sizeof(*e->params));
	for (size_t k = 0; k < n; k++) {
		Fleetsim__V1__ScenarioEvent__ParamsEntry *p = fs_xcalloc(1, sizeof(*p));
		fleetsim__v1__scenario_event__params_entry__init(p);
		p->key = (char *)kv[k].key;
		p->value = (char *)kv[k].value;
		e->params[e->n_params++] = p;
	}
	return e;
}

static void inject_usage(FILE *out)
{
	fprintf(out, "Usage: fleetctl inject [--from-start] FILE\n"
		     "       fleetctl inject --event TYPE [--tick N] [KEY=VALUE...]\n"
		     "Send scenario events to the running simulation and print the conductor's answer;\n"
		     "exit 1 if it refuses them (the reason says why) or does not answer within --timeout\n"
		     "(default 5 s). FILE is YAML with an events: list as in a scenario file.\n"
		     "\n"
		     "When: an offset (at: 10m, from: 20m, until: 1h10m) counts from now, the next tick\n"
		     "the run starts, so a file's events play out as written whenever it is injected;\n"
		     "with --from-start offsets count from the run's start, as in a scenario file. A\n"
		     "date-time (at: 2028-06-01T21:20:00Z) or a tick (tick: 600, --tick N) is that\n"
		     "moment either way. Without a time an event applies at the next tick.\n"
		     "\n"
		     "Types and keys: docs/scenario.md (weather, geofence, demand_surge, road_closure,\n"
		     "device_fault, software_update, depot_outage, supplier_shortage, recall,\n"
		     "calibration_spike).\n");
}

/*
 * The conductor validates with the run's scenario (zones, releases, depots,
 * start and tick), so fleetctl sends the events as written and reports the
 * conductor's verdict. Offsets (at: 10m) count from now unless --from-start:
 * a scenario file's offsets count from the start of the run, which a running
 * simulation may have passed long ago, and "10 minutes in" is what a storm
 * file injected live means. Date-times and tick: name one moment either way.
 */
static int cmd_inject(const char *address, int argc, char **argv)
{
	const char *type = NULL;
	uint64_t tick = 0;
	double timeout = 5;
	bool from_start = false;
	const struct fs_opt opts[] = {
		{ "event", FS_OPT_STRING, &type },
		{ "tick", FS_OPT_U64, &tick, .min = 1, .what = "a tick number (>= 1; leave it out for the next tick)" },
		{ "from-start", FS_OPT_SET, &from_start },
		{ "timeout", FS_OPT_DOUBLE, &timeout, .lo_open = true, .hi = DBL_MAX, .what = "a positive number of seconds" },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = argv[0], .usage = inject_usage, .opts = opts, .operands = true,
					      .in_order = true };
	int first = 0;
	int rc = fs_service_parse(&spec, argc, argv, &first);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	Fleetsim__V1__ScenarioCommand cmd = FLEETSIM__V1__SCENARIO_COMMAND__INIT;
	struct fs_scenario_raw_events raw = { 0 };
	struct fs_scenario_kv kv[64];
	if (type) {
		size_t n = 0;
		for (int i = first; i < argc; i++) {
			char *eq = strchr(argv[i], '=');
			if (!eq || eq == argv[i] || n == 64) {
				fs_error("inject: '%s' is not KEY=VALUE", argv[i]);
				return 2;
			}
			*eq = '\0';
			kv[n++] = (struct fs_scenario_kv){ .key = argv[i], .value = eq + 1 };
		}
		cmd.events = fs_xcalloc(1, sizeof(*cmd.events));
		cmd.events[0] = raw_event(type, kv, n, tick);
		cmd.n_events = 1;
	} else {
		if (first + 1 != argc) {
			fs_error("inject: give one FILE, or --event TYPE KEY=VALUE... (see --help)");
			return 2;
		}
		if (tick) {
			fs_error("inject: --tick goes with --event; in a file, give each event a time");
			return 2;
		}
		struct fs_error err = { "" };
		if (fs_scenario_read_raw_events(argv[first], &raw, &err) < 0) {
			fs_error("%s", err.message);
			return 1;
		}
		cmd.events = fs_xcalloc(raw.count, sizeof(*cmd.events));
		for (size_t i = 0; i < raw.count; i++) {
			cmd.events[i] = raw_event(raw.items[i].type, raw.items[i].kv, raw.items[i].count, 0);
		}
		cmd.n_events = raw.count;
	}
	int status = 1;
	struct fs_bus *bus = NULL;
	if (attach_checked(address, &bus)) {
		goto out;
	}
	fs_bus_subscribe(bus, "scn.ack");
	cmd.command_id = ((uint64_t)getpid() << 20) ^ (uint64_t)fs_clock_now_us();
	cmd.from_now = !from_start;
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND;
	env.scenario_command = &cmd;
	if (fs_bus_publish(bus, "scn.cmd", &env) < 0) {
		fs_error("cannot send the scenario command");
		goto out;
	}
	int64_t deadline = fs_clock_now_ms() + (int64_t)(timeout * 1000);
	bool answered = false;
	while (!stop && !answered && fs_clock_now_ms() < deadline) {
		struct fs_bus_message *msg = NULL;
		if (fs_bus_recv(bus, &msg, 200) != 0) {
			continue;
		}
		const Fleetsim__V1__ScenarioAck *ack = msg->env->scenario_ack;
		if (msg->env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_ACK &&
		    ack->command_id == cmd.command_id) {
			answered = true;
			if (ack->accepted) {
				printf("accepted: %s (apply tick %" PRIu64 ")", ack->reason, ack->apply_tick);
				if (cmd.from_now) {
					printf("; offsets counted from tick %" PRIu64, ack->from_tick);
				}
				putchar('\n');
				status = 0;
			} else {
				fs_error("refused: %s", ack->reason);
			}
		}
		fs_bus_message_free(msg);
	}
	if (!answered && !stop) {
		fs_error("no answer from the conductor within %g s", timeout);
	}
out:
	fs_bus_close(bus);
	free_command(&cmd);
	fs_scenario_raw_events_finish(&raw);
	return status;
}

static void keygen_usage(FILE *out)
{
	fprintf(out, "Usage: fleetctl keygen [DIR] [--name NAME]\n"
		     "Write a new CURVE key pair in Z85: DIR/NAME.pub, the public key to add to the\n"
		     "broker's --allow list, and DIR/NAME.secret (mode 0600), for FLEETSIM_CURVE_SECRET\n"
		     "or --curve-secret. DIR defaults to the current directory (created 0700 if\n"
		     "missing), NAME to fleetctl; existing files are never overwritten.\n");
}

static int take_key_name(void *target, const char *arg)
{
	if (!*arg || strchr(arg, '/')) {
		fs_error("--name: '%s' is not a file name", arg);
		return 2;
	}
	*(const char **)target = arg;
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	const char *name = "fleetctl";
	const struct fs_opt opts[] = {
		{ "name", FS_OPT_CALL, &name, .call = take_key_name },
		{ 0 },
	};
	int first = 0;
	int rc = fs_service_parse_command(opts, keygen_usage, argc, argv, &first);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	if (argc - first > 1) {
		fs_error("keygen: give at most one directory");
		return 2;
	}
	const char *dir = first < argc ? argv[first] : ".";
	char public_key[FS_BUS_KEY_Z85 + 1];
	if (fs_bus_keygen(dir, name, public_key) < 0) {
		return 1;
	}
	printf("public key %s\nwritten to %s/%s.pub (allow-list line) and %s/%s.secret (keep private)\n", public_key,
	       dir, name, dir, name);
	return 0;
}

/*
 * Recording commands live in sibling programs (fs-recorder, fs-rec), run the
 * way git runs git-*: fleetctl stays a bus client, they own the file formats.
 */
static int run_sibling(const char *program, const char *display, const char *command, const char *address, int argc,
		       char **argv)
{
	char exe[PATH_MAX], bus[FS_BUS_ADDRESS_MAX + 8];
	fs_paths_helper(program, exe, sizeof(exe));
	char **args = fs_xcalloc((size_t)argc + 4, sizeof(char *));
	int k = 0;
	args[k++] = (char *)display; /* its argv[0]: the name it gives in help and messages */
	if (address) {
		snprintf(bus, sizeof(bus), "--bus=%s", address);
		args[k++] = bus;
	}
	if (command) {
		args[k++] = (char *)command;
	}
	for (int i = 1; i < argc; i++) {
		args[k++] = argv[i];
	}
	execv(exe, args);
	fs_error("cannot run %s: %s", exe, strerror(errno));
	free(args);
	return 1;
}

/*
 * The options before the command (--bus, --curve-server, --curve-secret,
 * --help): FS_SERVICE_GO_ON with *@ret_command the command's index, or the
 * exit status.
 */
static int parse_global(int argc, char **argv, const char **ret_address, int *ret_command)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!fs_args_value(argc, argv, &i, "--bus", ret_address) &&
			   !fs_args_value(argc, argv, &i, "--curve-server", &curve_server) &&
			   !fs_args_value(argc, argv, &i, "--curve-secret", &curve_secret)) {
			fs_error("unknown option '%s'", argv[i]);
			return fs_args_try_help("fleetctl");
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	*ret_command = i;
	return FS_SERVICE_GO_ON;
}

/* Run command argv[0] ("fleetctl CMD" by now, @cmd its name): its exit status. */
static int run_command(const char *cmd, const char *address, int argc, char **argv)
{
	static const struct {
		const char *name;
		enum fs_command_kind kind;
	} controls[] = {
		{ "pause", FS_COMMAND_PAUSE },
		{ "resume", FS_COMMAND_RESUME },
		{ "step", FS_COMMAND_STEP },
		{ "speed", FS_COMMAND_SPEED },
		{ "stop", FS_COMMAND_STOP },
		{ "seek", FS_COMMAND_SEEK },
	};
	for (size_t k = 0; k < sizeof(controls) / sizeof(controls[0]); k++) {
		if (!strcmp(cmd, controls[k].name)) {
			return cmd_control(address, controls[k].kind, argc, argv);
		}
	}
	if (!strcmp(cmd, "topics")) {
		return cmd_topics(address, argc, argv);
	} else if (!strcmp(cmd, "echo")) {
		return cmd_echo(address, argc, argv);
	} else if (!strcmp(cmd, "hz")) {
		return cmd_hz(address, argc, argv);
	} else if (!strcmp(cmd, "status")) {
		return cmd_status(address, argc, argv);
	} else if (!strcmp(cmd, "inject")) {
		return cmd_inject(address, argc, argv);
	} else if (!strcmp(cmd, "record")) {
		return run_sibling("fs-recorder", "fleetctl record", NULL, address, argc, argv);
	} else if (!strcmp(cmd, "info") || !strcmp(cmd, "play") || !strcmp(cmd, "export") || !strcmp(cmd, "recover")) {
		return run_sibling("fs-rec", "fleetctl", cmd, !strcmp(cmd, "play") ? address : NULL, argc, argv);
	} else if (!strcmp(cmd, "keygen")) {
		return cmd_keygen(argc, argv);
	}
	fs_error("unknown command '%s' (try `fleetctl --help`)", cmd);
	return 2;
}

int main(int argc, char **argv)
{
	fs_log_init("fleetctl", FS_LOG_WARNING);
	if (fs_args_version(argc, argv, "fleetctl")) {
		return 0;
	}
	const char *address = NULL;
	int command = 0;
	int rc = parse_global(argc, argv, &address, &command);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	fs_service_catch_stop(&stop);
	const char *cmd = argv[command];
	char full_name[64];
	snprintf(full_name, sizeof(full_name), "fleetctl %s", cmd);
	argv[command] = full_name; /* getopt names the command in its one-line complaints */
	fs_log_init(full_name, FS_LOG_WARNING); /* and so do our messages: "fleetctl echo: error: ..." */
	return run_command(cmd, address, argc - command, argv + command);
}
