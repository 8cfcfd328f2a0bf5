/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `fleetsim run` - start the broker, the conductor and the services of a
 * run, supervise them, and stop everything when the run ends or anything dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "fs/calendar.h"
#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs/scenario.h"
#include "fs_log.h"
#include "fs_outfile.h"
#include "fs_paths.h"
#include "fs_scenario_msg.h"
#include "launcher.h"
#include "supervisor.h"

/* [est] Each shard is a process with its own copy of the road network; more than there are
 * cores only adds lockstep overhead. 256 starts in 3 s on a 6x6 grid (2 cores). */
#define MAX_SHARDS 256
#define MAX_ARGS 64
#define MAX_REMOTE (MAX_SHARDS + 2) /* every shard, dispatch and production */
/*
 * How a run ends (docs/architecture.md "Supervision"). A stop: the conductor
 * waits --stop-wait for the tick in flight and 15 s for the participants'
 * outputs; if it has not ended the run this much later still, it is stuck
 * itself and the launcher aborts it.
 */
#define STOP_BACKSTOP_MS 25000
#define PARTICIPANT_EXIT_MS 2000      /* after the conductor ended: answering ones have said Bye by then */
#define ABORT_CONDUCTOR_WAIT_MS 4000  /* a process died: the conductor waits 2 s for Byes, then writes */
#define STOP_GRACE_MS 3000            /* SIGTERM to SIGKILL: a participant writes its outputs meanwhile */

struct run_options {
	char address[FS_BUS_ADDRESS_MAX];
	bool address_given;
	uint64_t seed;
	const char *duration;
	const char *start;
	uint64_t tick_ms;
	const char *speed;
	uint64_t shards;
	uint64_t vehicles;
	const char *network;
	const char *out_dir;
	bool paused;
	bool quiet;
	bool viz;
	const char *phase;
	const char *matcher;
	const char *rebalance_s; /* dispatch: rebalancing period, 0 = off */
	const char *charging;    /* dispatch: yes or no */
	const char *scenario;
	bool no_scenario_events; /* the file's settings without its timed events */
	const char *keyframe_every;
	const char *record;
	const char *fleet_csv;
	const char *demand_csv;
	const char *allow[16]; /* tcp: operators' public keys allowed to publish */
	int nallow;
	bool open_watch;
	const char *control;  /* lockstep path: socket (default on ipc) or bus */
	uint64_t stop_wait_s; /* a stop waits this long for the tick in flight */
	const char *external[16]; /* NAME:ROLE participants started by the user, not by us */
	int nexternal;
	const char *remote[MAX_REMOTE]; /* our participants that join from other hosts (`fleetsim join`) */
	int nremote;
	char *remote_lists[16]; /* the --remote values the names point into (free_options()) */
	int nremote_lists;
	const char *keys_dir; /* tcp: the run's CURVE keys, kept for the hosts that join */
	uint64_t ready_timeout_s; /* how long the run waits for every participant to be ready */
	int user_argc;      /* the run's arguments as given, for the recording */
	char **user_argv;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fleetsim run [options]\n"
		"\n"
		"Run a simulation: the broker, the conductor, --shards vehicle-node processes\n"
		"and the other services, in deterministic lockstep. Ctrl-C stops it cleanly.\n"
		"\n"
		"Options:\n"
		"  --scenario FILE     describe the run in a YAML file (examples/default.yaml shows\n"
		"                      every setting); flags given here override the file\n"
		"  --no-scenario-events  the file's settings without its timed events (a window of a\n"
		"                      longer scenario; `fleetsim rollout` runs its samples so); its\n"
		"                      production events still shape the production plan\n"
		"  --seed N            run seed (default 1); same seed, same results\n"
		"  --duration D        simulated duration: 3600, 90m, 2h, 1d (default 1h)\n"
		"  --start DATETIME    simulated start (default 2028-06-01T12:00:00Z,\n"
		"                      08:00 in Atlanta, EDT)\n"
		"  --tick-ms N         simulated ms per tick (default 1000)\n"
		"  --speed X|max       pace: X times real time or max (default max)\n"
		"  --shards N          vehicle-node processes (default 1; at most 256, and at most one\n"
		"                      per vehicle)\n"
		"  --vehicles N        fleet size (default 32: fleet.size); demand stays the city's\n"
		"                      (demand.city_trips_per_day x market_share), whatever N\n"
		"  --phase P           city phase: data-collection, supervised, driverless (default)\n"
		"  --matcher M         dispatch matcher: batch (default) or greedy\n"
		"  --rebalance-s S     dispatch: move idle cars toward demand every S seconds; 0 = off\n"
		"                      (default 120, dispatch.rebalance)\n"
		"  --charging yes|no   dispatch: send cars to charge (default yes, dispatch.charging)\n"
		"  --keyframe-every D  period of keyframes, every vehicle on veh.snapshot for observers that\n"
		"                      attach late (default 1m; 0 = never); what changes goes every tick,\n"
		"                      and keyframes never change a run's results\n"
		"  --fleet-csv FILE    start the fleet at given nodes (vehicle_id,node[,soc]), e.g. to\n"
		"                      compare with another simulator on the same inputs\n"
		"  --demand-csv FILE   replay these ride requests (t_request_s,origin_lat,origin_lon,\n"
		"                      dest_lat,dest_lon or ..._x/_y in metres) instead of generating demand\n"
		"  --network SPEC      road network: atlanta (default), columbus, FILE.osm.pbf,\n"
		"                      FILE.osm, grid:ROWSxCOLS:SPACING_M, csv:NODES.csv,EDGES.csv\n"
		"  --out DIR           write results (summary.json, ...) to DIR (created, with its parents)\n"
		"  --bus ADDR          bus address (default $FLEETSIM_BUS, else\n"
		"                      ipc://$XDG_RUNTIME_DIR/fleetsim or ipc:///tmp/fleetsim-UID; an ipc\n"
		"                      DIR and missing folders above it are created, private: 0700);\n"
		"                      tcp://HOST:PORT lets processes on other hosts attach\n"
		"  --allow FILE        tcp bus: also admit the CURVE public key(s) in FILE (operators;\n"
		"                      `fleetctl keygen`); repeatable\n"
		"  --open-watch        tcp bus: any client may observe (never publish)\n"
		"  --participant NAME:ROLE  also wait for a participant you start yourself (any language;\n"
		"                      examples/python/lockstep_participant.py); repeatable\n"
		"  --control socket|bus  lockstep messages on the conductor's control socket (ipc bus;\n"
		"                      default, faster) or through the broker (docs/bus.md)\n"
		"  --remote NAME[,NAME...]  tcp bus: these participants of the run (vehicle-K, dispatch,\n"
		"                      production) join from other hosts with `fleetsim join`; the run\n"
		"                      waits for them instead of starting them (docs/cluster.md)\n"
		"  --keys DIR          tcp bus: the run's CURVE keys in DIR (run.secret, run.pub,\n"
		"                      broker.secret, broker.pub; made if missing, kept after the run);\n"
		"                      hosts that join need run.secret (or their own key, --allow) and\n"
		"                      broker.pub\n"
		"  --ready-timeout S   wait at most S seconds for every participant to be ready\n"
		"                      (default 60)\n"
		"  --paused            start paused (then `fleetctl resume` or `fleetctl step`)\n"
		"  --stop-wait S       a stop (Ctrl-C, SIGTERM, `fleetctl stop`) waits at most S seconds\n"
		"                      for a tick in flight, then ends without it (default 10); the\n"
		"                      results are written either way, marked incomplete\n"
		"  --record FILE       record every bus message to FILE (MCAP; `fleetctl info FILE`,\n"
		"                      `fleetsim replay FILE --verify`)\n"
		"  --viz               open the viewer (fleet-viz) on the run; closing it does not stop the run\n"
		"  --quiet             no progress line\n"
		"  --version           print the version\n"
		"  -h, --help          this text\n"
		"\n"
		"Exit status: 0 the run ended (completed, or stopped by `fleetctl stop`); 130\n"
		"interrupted by a signal; 1 a process failed or a participant did not answer\n"
		"(summary.json \"not_answered\"); 2 bad arguments or input. Once the run has started,\n"
		"whatever ends it (short of SIGKILL to fleetsim itself), --out gets a summary.json\n"
		"(docs/architecture.md \"Stopping a run\").\n");
}

/* --remote NAME[,NAME...]: checked against the run once every option is read. */
static int add_remote(struct run_options *o, const char *arg)
{
	if (o->nremote_lists == 16) {
		fs_error("--remote: at most 16 times (names may be comma separated)");
		return -EINVAL;
	}
	char *list = fs_xstrdup(arg); /* the names point into it for the whole run */
	o->remote_lists[o->nremote_lists++] = list;
	for (char *save = NULL, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		for (int i = 0; i < o->nremote; i++) {
			if (!strcmp(o->remote[i], name)) {
				fs_error("--remote: '%s' given twice", name);
				return -EINVAL;
			}
		}
		if (o->nremote == MAX_REMOTE) {
			fs_error("--remote: at most %d", MAX_REMOTE);
			return -EINVAL;
		}
		o->remote[o->nremote++] = name;
	}
	return 0;
}

static bool is_remote(const struct run_options *o, const char *name)
{
	for (int i = 0; i < o->nremote; i++) {
		if (!strcmp(o->remote[i], name)) {
			return true;
		}
	}
	return false;
}

static int parse(int argc, char **argv, struct run_options *o)
{
	enum { OPT_SEED = 256, OPT_DURATION, OPT_START, OPT_TICK, OPT_SPEED, OPT_SHARDS, OPT_VEHICLES,
	       OPT_NETWORK, OPT_OUT, OPT_BUS, OPT_PAUSED, OPT_QUIET, OPT_VIZ, OPT_PHASE, OPT_MATCHER, OPT_REBALANCE, OPT_CHARGING, OPT_SCENARIO, OPT_KEYFRAME_EVERY, OPT_RECORD, OPT_FLEET_CSV, OPT_DEMAND_CSV, OPT_ALLOW, OPT_OPEN_WATCH, OPT_CONTROL, OPT_PARTICIPANT, OPT_NO_EVENTS, OPT_STOP_WAIT };
	enum { OPT_REMOTE = 512, OPT_KEYS, OPT_READY_TIMEOUT }; /* several hosts (docs/cluster.md) */
	static const struct option options[] = {
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "start", required_argument, NULL, OPT_START },
		{ "tick-ms", required_argument, NULL, OPT_TICK },
		{ "speed", required_argument, NULL, OPT_SPEED },
		{ "shards", required_argument, NULL, OPT_SHARDS },
		{ "vehicles", required_argument, NULL, OPT_VEHICLES },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "paused", no_argument, NULL, OPT_PAUSED },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "viz", no_argument, NULL, OPT_VIZ },
		{ "phase", required_argument, NULL, OPT_PHASE },
		{ "matcher", required_argument, NULL, OPT_MATCHER },
		{ "rebalance-s", required_argument, NULL, OPT_REBALANCE },
		{ "charging", required_argument, NULL, OPT_CHARGING },
		{ "scenario", required_argument, NULL, OPT_SCENARIO },
		{ "no-scenario-events", no_argument, NULL, OPT_NO_EVENTS },
		{ "keyframe-every", required_argument, NULL, OPT_KEYFRAME_EVERY },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "fleet-csv", required_argument, NULL, OPT_FLEET_CSV },
		{ "demand-csv", required_argument, NULL, OPT_DEMAND_CSV },
		{ "allow", required_argument, NULL, OPT_ALLOW },
		{ "open-watch", no_argument, NULL, OPT_OPEN_WATCH },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "participant", required_argument, NULL, OPT_PARTICIPANT },
		{ "stop-wait", required_argument, NULL, OPT_STOP_WAIT },
		{ "remote", required_argument, NULL, OPT_REMOTE },
		{ "keys", required_argument, NULL, OPT_KEYS },
		{ "ready-timeout", required_argument, NULL, OPT_READY_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t ms;
	double speed, seconds;
	int64_t start_ms;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_SEED:
			if (!fs_args_u64(optarg, &o->seed)) {
				fs_error("--seed: '%s' is not a non-negative integer", optarg);
				return -EINVAL;
			}
			break;
		case OPT_DURATION:
			if (!fs_args_duration_ms(optarg, &ms) || ms == 0 || ms > FS_SCN_DURATION_MAX_MS) {
				fs_error("--duration: '%s' is not a duration of 1 ms to 100 years such as 3600, 90m, 2h "
					 "or 1d (as in a scenario file)",
					 optarg);
				return -EINVAL;
			}
			o->duration = optarg;
			break;
		case OPT_START:
			if (fs_calendar_parse(optarg, &start_ms) < 0) {
				fs_error("--start: '%s' is not a date-time such as 2028-06-01T06:00:00Z", optarg);
				return -EINVAL;
			}
			o->start = optarg;
			break;
		case OPT_TICK:
			if (!fs_args_u64(optarg, &o->tick_ms) || o->tick_ms == 0 || o->tick_ms > 3600000) {
				fs_error("--tick-ms: '%s' is not a tick length in ms (1..3600000)", optarg);
				return -EINVAL;
			}
			break;
		case OPT_SPEED:
			if (!fs_args_speed(optarg, &speed)) {
				fs_error("--speed: '%s' is not 'max' or a positive factor", optarg);
				return -EINVAL;
			}
			o->speed = optarg;
			break;
		case OPT_SHARDS:
			if (!fs_args_u64(optarg, &o->shards) || o->shards == 0 || o->shards > MAX_SHARDS) {
				fs_error("--shards: '%s' is not a process count (1..%d)", optarg, MAX_SHARDS);
				return -EINVAL;
			}
			break;
		case OPT_VEHICLES:
			if (!fs_args_u64(optarg, &o->vehicles) || o->vehicles > 1000000) {
				fs_error("--vehicles: '%s' is not a fleet size (0..1000000)", optarg);
				return -EINVAL;
			}
			break;
		case OPT_NETWORK:
			o->network = optarg;
			break;
		case OPT_OUT:
			o->out_dir = optarg;
			break;
		case OPT_BUS:
			if (fs_bus_endpoint(optarg, FS_BUS_EP_PUB, (char[FS_BUS_ADDRESS_MAX]){ 0 }, FS_BUS_ADDRESS_MAX) < 0) {
				fs_error("--bus: '%s' is not ipc://DIR (short enough for a socket path) or tcp://HOST:PORT",
					 optarg);
				return -EINVAL;
			}
			snprintf(o->address, sizeof(o->address), "%s", optarg);
			o->address_given = true;
			break;
		case OPT_PAUSED:
			o->paused = true;
			break;
		case OPT_PARTICIPANT: {
			const char *colon = strchr(optarg, ':');
			size_t name_len = colon ? (size_t)(colon - optarg) : 0;
			if (!colon || !name_len || !colon[1] || strchr(colon + 1, ':') || strchr(optarg, ',') ||
			    !fs_topic_valid(optarg, strlen(optarg)) || name_len >= 100 ||
			    (name_len == 9 && !strncmp(optarg, "conductor", 9))) {
				fs_error("--participant: '%s' is not NAME:ROLE (printable, no spaces or commas; "
					 "not the conductor)", optarg);
				return -EINVAL;
			}
			if (o->nexternal >= 16) {
				fs_error("--participant: at most 16");
				return -EINVAL;
			}
			o->external[o->nexternal++] = optarg;
			break;
		}
		case OPT_REMOTE:
			if (add_remote(o, optarg) < 0) {
				return -EINVAL;
			}
			break;
		case OPT_KEYS:
			o->keys_dir = optarg;
			break;
		case OPT_READY_TIMEOUT:
			if (!fs_args_u64(optarg, &o->ready_timeout_s) || o->ready_timeout_s == 0 ||
			    o->ready_timeout_s > 86400) {
				fs_error("--ready-timeout: '%s' is not a number of seconds (1..86400)", optarg);
				return -EINVAL;
			}
			break;
		case OPT_STOP_WAIT:
			if (!fs_args_u64(optarg, &o->stop_wait_s) || o->stop_wait_s > 3600) {
				fs_error("--stop-wait: '%s' is not a number of seconds (0..3600)", optarg);
				return -EINVAL;
			}
			break;
		case OPT_CONTROL:
			if (strcmp(optarg, "socket") && strcmp(optarg, "bus")) {
				fs_error("--control: '%s' is not 'socket' or 'bus'", optarg);
				return -EINVAL;
			}
			o->control = optarg;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_VIZ:
			o->viz = true;
			break;
		case OPT_PHASE:
			if (strcmp(optarg, "data-collection") && strcmp(optarg, "supervised") && strcmp(optarg, "driverless")) {
				fs_error("--phase: '%s' is not data-collection, supervised or driverless", optarg);
				return -EINVAL;
			}
			o->phase = optarg;
			break;
		case OPT_ALLOW:
			if (o->nallow >= 16) {
				fs_error("--allow: at most 16 files");
				return -EINVAL;
			}
			o->allow[o->nallow++] = optarg;
			break;
		case OPT_OPEN_WATCH:
			o->open_watch = true;
			break;
		case OPT_DEMAND_CSV:
			o->demand_csv = optarg;
			break;
		case OPT_FLEET_CSV:
			o->fleet_csv = optarg;
			break;
		case OPT_RECORD:
			o->record = optarg;
			break;
		case OPT_KEYFRAME_EVERY:
			if (strcmp(optarg, "0") && (!fs_args_duration_ms(optarg, &ms) || ms > 86400000)) {
				fs_error("--keyframe-every: '%s' is not a duration such as 10s, 5m or 0", optarg);
				return -EINVAL;
			}
			o->keyframe_every = optarg;
			break;
		case OPT_SCENARIO:
			o->scenario = optarg;
			break;
		case OPT_NO_EVENTS:
			o->no_scenario_events = true;
			break;
		case OPT_MATCHER:
			if (strcmp(optarg, "batch") && strcmp(optarg, "greedy")) {
				fs_error("--matcher: '%s' is not batch or greedy", optarg);
				return -EINVAL;
			}
			o->matcher = optarg;
			break;
		case OPT_REBALANCE:
			if (!fs_args_double(optarg, &seconds) || !(seconds >= 0) || seconds > 86400) {
				fs_error("--rebalance-s: '%s' is not a number of seconds (0 = off, at most 86400)", optarg);
				return -EINVAL;
			}
			o->rebalance_s = optarg;
			break;
		case OPT_CHARGING:
			if (strcmp(optarg, "yes") && strcmp(optarg, "no")) {
				fs_error("--charging: '%s' is not yes or no", optarg);
				return -EINVAL;
			}
			o->charging = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			fs_args_try_help("fleetsim run");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fs_error("unexpected argument '%s' (try `fleetsim run --help`)", argv[optind]);
		return -EINVAL;
	}
	for (int i = 0; i < o->nremote; i++) {
		uint64_t k;
		const char *r = o->remote[i];
		bool shard = !strncmp(r, "vehicle-", 8) && fs_args_u64(r + 8, &k) && k < o->shards;
		if (!shard && strcmp(r, "dispatch") && strcmp(r, "production")) {
			fs_error("--remote: '%s' is not a participant of this run (vehicle-0..vehicle-%" PRIu64
				 ", dispatch, production)", r, o->shards - 1);
			return -EINVAL;
		}
	}
	if (o->shards > (o->vehicles ? o->vehicles : 1)) {
		fs_error("--shards %" PRIu64 ": more vehicle processes than vehicles (%" PRIu64 "); at most one per "
			 "vehicle",
			 o->shards, o->vehicles);
		return -EINVAL;
	}
	return 0;
}

/* Argument vector builder for child processes. */
struct argv_builder {
	char *items[MAX_ARGS + 1];
	int count;
};

static void arg(struct argv_builder *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv_builder *a, const char *fmt, ...)
{
	if (a->count >= MAX_ARGS) {
		fs_error("internal: too many arguments");
		abort();
	}
	/* sized to fit: the participant list of a many-shard run is longer than any path */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *buf = fs_xcalloc((size_t)(n > 0 ? n : 0) + 1, 1);
	va_start(ap, fmt);
	vsnprintf(buf, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
	va_end(ap);
	a->items[a->count++] = buf;
	a->items[a->count] = NULL;
}

static void args_free(struct argv_builder *a)
{
	for (int i = 0; i < a->count; i++) {
		free(a->items[i]);
	}
	a->count = 0;
}

/* "FLAG=VALUE" when there is a value. */
static void arg_if(struct argv_builder *a, const char *flag, const char *value)
{
	if (value) {
		arg(a, "%s=%s", flag, value);
	}
}

/* A vehicle shard's command line (`fleetsim run` starts it; `fleetsim join` runs it on another host). */
static void vehicle_args(struct argv_builder *a, const struct run_options *o, const char *network,
			 uint64_t shard, bool with_dispatch)
{
	char exe[PATH_MAX];
	fs_paths_helper("fs-vehicle", exe, sizeof(exe));
	arg(a, "%s", exe);
	arg(a, "--bus=%s", o->address);
	arg(a, "--name=vehicle-%" PRIu64, shard);
	arg(a, "--seed=%" PRIu64, o->seed);
	arg(a, "--shard=%" PRIu64, shard);
	arg(a, "--shards=%" PRIu64, o->shards);
	arg(a, "--vehicles=%" PRIu64, o->vehicles);
	arg(a, "--network=%s", network);
	arg(a, "--self-charge=%s", with_dispatch ? "no" : "yes");
	arg(a, "--data=%s", launcher_data_dir());
	arg_if(a, "--fleet-csv", o->fleet_csv);
	if (o->keyframe_every) {
		uint64_t every_ms = 0;
		fs_args_duration_ms(o->keyframe_every, &every_ms);
		arg(a, "--keyframe-every-ms=%" PRIu64, every_ms);
	}
	arg_if(a, "--phase", o->phase);
	arg_if(a, "--scenario", o->scenario);
	arg_if(a, "--out", o->out_dir);
}

static void dispatch_args(struct argv_builder *a, const struct run_options *o, const char *network)
{
	char exe[PATH_MAX];
	fs_paths_helper("fs-dispatch", exe, sizeof(exe));
	arg(a, "%s", exe);
	arg(a, "--bus=%s", o->address);
	arg(a, "--name=dispatch");
	arg(a, "--seed=%" PRIu64, o->seed);
	arg(a, "--vehicles=%" PRIu64, o->vehicles);
	arg(a, "--network=%s", network);
	arg(a, "--data=%s", launcher_data_dir());
	arg_if(a, "--phase", o->phase);
	arg_if(a, "--fleet-csv", o->fleet_csv);
	arg_if(a, "--demand-csv", o->demand_csv);
	arg_if(a, "--matcher", o->matcher);
	arg_if(a, "--rebalance-s", o->rebalance_s);
	arg_if(a, "--charging", o->charging);
	arg_if(a, "--scenario", o->scenario);
	arg_if(a, "--out", o->out_dir);
}

/* Deliveries continue the vehicle ids after the initial fleet. */
static void production_args(struct argv_builder *a, const struct run_options *o)
{
	char exe[PATH_MAX];
	fs_paths_helper("fs-production", exe, sizeof(exe));
	arg(a, "%s", exe);
	arg(a, "--bus=%s", o->address);
	arg(a, "--name=production");
	arg(a, "--seed=%" PRIu64, o->seed);
	arg(a, "--first-vehicle-id=%" PRIu64, o->vehicles);
	arg_if(a, "--scenario", o->scenario);
	if (o->no_scenario_events) {
		arg(a, "--no-scenario-events"); /* then the file's production events are its plan */
	}
}

static bool executable_exists(const char *path)
{
	return access(path, X_OK) == 0;
}

/* Resolve a city name to its shipped OSM file; anything else passes through. */
static void resolve_network(const char *spec, char *buf, size_t size)
{
	if (!spec || !strcmp(spec, "atlanta") || !strcmp(spec, "columbus")) {
		snprintf(buf, size, "%s/osm/%s.osm.pbf", launcher_data_dir(), spec ? spec : "atlanta");
	} else {
		snprintf(buf, size, "%s", spec);
	}
}

/*
 * Make (or check) the ipc bus directory, private to us (fs_bus_dir_check()),
 * and hold a lock inside it so two runs cannot share one bus by accident.
 * Returns the lock's descriptor (*@ret_dir_fd the directory's), -1 on tcp,
 * or -2 when the run must not start (said why).
 */
static int lock_bus(const char *address, int *ret_dir_fd)
{
	*ret_dir_fd = -1;
	if (strncmp(address, "ipc://", 6)) {
		return -1;
	}
	int dir_fd;
	if (fs_bus_dir_check(address, true, &dir_fd) < 0) {
		return -2;
	}
	/* Inside a directory only we can enter: nobody else can plant a file or a link here. */
	int fd = openat(dir_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fs_error("cannot create %s/lock: %s", address + 6, strerror(errno));
		close(dir_fd);
		return -2;
	}
	struct stat held, named;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char pid[32] = "";
		ssize_t n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fs_error("a simulation is already running on %s%s%s%s; stop it or pass --bus ipc:///tmp/another", address,
			 pid[0] ? " (launcher pid " : "", pid, pid[0] ? ")" : "");
		close(fd);
		close(dir_fd);
		return -2;
	}
	/* A run ending now unlinks the lock it held: make sure ours is the one on disk. */
	if (fstat(fd, &held) < 0 || fstatat(dir_fd, "lock", &named, AT_SYMLINK_NOFOLLOW) < 0 ||
	    held.st_ino != named.st_ino || held.st_dev != named.st_dev) {
		fs_error("the run on %s was ending while this one started; try again", address);
		close(fd);
		close(dir_fd);
		return -2;
	}
	if (ftruncate(fd, 0) == 0) {
		dprintf(fd, "%d\n", (int)getpid());
	}
	*ret_dir_fd = dir_fd;
	return fd;
}

/*
 * --keys DIR: the run's key pair (run.secret, run.pub) made if missing and
 * kept, so the hosts that join can hold a copy; the broker makes and keeps
 * its own there (broker.secret, broker.pub).
 */
static int run_keys(const char *dir)
{
	char path[PATH_MAX];
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fs_error("--keys: cannot make %s: %s", dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/run.secret", dir);
	if (access(path, F_OK) < 0 && fs_bus_keygen(dir, "run", NULL) < 0) {
		return -EIO;
	}
	char key[FS_BUS_KEY_Z85 + 1];
	return fs_bus_key_load(path, true, key) < 0 ? -EINVAL : 0; /* private, and a key */
}

static bool wait_for_broker(struct supervisor *s, struct child *broker, const char *address, const char *keydir)
{
	char endpoint[FS_BUS_ADDRESS_MAX + 8];
	if (strncmp(address, "ipc://", 6)) {
		/* tcp: clients retry until it binds, but they need its public key first */
		snprintf(endpoint, sizeof(endpoint), "ipc://%s/broker.pub", keydir);
	} else {
		fs_bus_endpoint(address, FS_BUS_EP_TAP, endpoint, sizeof(endpoint));
	}
	int64_t deadline = fs_clock_now_ms() + 5000;
	while (fs_clock_now_ms() < deadline) {
		if (access(endpoint + 6, F_OK) == 0) {
			return true; /* the tap is bound last */
		}
		if (supervisor_wait(s, broker, 10)) {
			return false;
		}
	}
	return false;
}

/*
 * What the progress line needs across status messages: the last status, and
 * two samples of (wall time, tick) 5 to 10 s apart for the ETA, so it follows
 * a change of speed (fleetctl speed, a busy hour) within seconds.
 */
struct progress {
	int64_t start_ms;
	int64_t sample_ms[2];
	uint64_t sample_tick[2];
	int64_t sim_time_ms;
	uint64_t tick, duration_ticks;
};

static void format_wall(double s, char *buf, size_t size)
{
	long t = lround(s);
	if (t >= 3600) {
		snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	} else {
		snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
	}
}

/* "ETA 1:05" from the ticks done in the last 5-10 s of wall time; "" before there is a rate. */
static void progress_eta(struct progress *pg, const Fleetsim__V1__Status *st, int64_t now, char *buf, size_t size)
{
	buf[0] = '\0';
	if (st->state != FLEETSIM__V1__RUN_STATE__RUN_STATE_RUNNING) {
		pg->sample_ms[0] = pg->sample_ms[1] = 0; /* a pause is no part of the rate */
		return;
	}
	if (!pg->sample_ms[1] || now - pg->sample_ms[1] >= 5000) {
		pg->sample_ms[0] = pg->sample_ms[1] ? pg->sample_ms[1] : now;
		pg->sample_tick[0] = pg->sample_ms[1] ? pg->sample_tick[1] : st->tick;
		pg->sample_ms[1] = now;
		pg->sample_tick[1] = st->tick;
	}
	double secs = (double)(now - pg->sample_ms[0]) / 1000.0;
	if (secs < 0.5 || st->tick <= pg->sample_tick[0] || st->tick >= st->duration_ticks) {
		return;
	}
	double rate = (double)(st->tick - pg->sample_tick[0]) / secs;
	char left[32];
	format_wall((double)(st->duration_ticks - st->tick) / rate, left, sizeof(left));
	snprintf(buf, size, "  ETA %s", left);
}

static void show_progress(struct supervisor *sup, struct progress *pg, const Fleetsim__V1__Status *st, bool tty)
{
	int64_t now = fs_clock_now_ms();
	if (!pg->start_ms) {
		pg->start_ms = now;
	}
	pg->sim_time_ms = st->sim_time_ms;
	pg->tick = st->tick;
	pg->duration_ticks = st->duration_ticks;
	char when[32], eta[48], speed[32], line[400];
	fs_calendar_format(st->sim_time_ms, when, sizeof(when));
	size_t ready = 0;
	for (size_t i = 0; i < st->n_participants; i++) {
		ready += st->participants[i]->ready;
	}
	const char *state = st->state == FLEETSIM__V1__RUN_STATE__RUN_STATE_PAUSED    ? "paused"
			    : st->state == FLEETSIM__V1__RUN_STATE__RUN_STATE_WAITING ? "waiting"
			    : st->state == FLEETSIM__V1__RUN_STATE__RUN_STATE_RUNNING ? "running"
										      : "ending";
	double pct = st->duration_ticks ? 100.0 * (double)st->tick / (double)st->duration_ticks : 0;
	if (st->speed > 0) {
		snprintf(speed, sizeof(speed), "%gx", st->speed);
	} else {
		snprintf(speed, sizeof(speed), "max");
	}
	progress_eta(pg, st, now, eta, sizeof(eta));
	snprintf(line, sizeof(line), "%s  tick %" PRIu64 "/%" PRIu64 " (%3.0f%%)%s  %7.1fx real time (target %s)  %s  %zu/%zu ready",
		 when, st->tick, st->duration_ticks, pct, eta, st->sim_real_ratio, speed, state, ready,
		 st->n_participants);
	if (tty) {
		supervisor_progress(sup, line);
	} else {
		fprintf(stderr, "%s\n", line);
	}
}

/* The run is over: the last line says how it ended and how long it took, not "running". */
static void show_final_progress(struct supervisor *sup, const struct progress *pg, uint64_t tick_ms, bool tty,
				bool stopped)
{
	if (!pg->start_ms) {
		return;
	}
	char when[32], took[32], line[300];
	fs_calendar_format(pg->sim_time_ms, when, sizeof(when));
	int64_t wall_ms = fs_clock_now_ms() - pg->start_ms;
	format_wall((double)wall_ms / 1000.0, took, sizeof(took));
	snprintf(line, sizeof(line), "%s  tick %" PRIu64 "/%" PRIu64 "  %s after %s of wall time (%.1fx real time)", when,
		 pg->tick, pg->duration_ticks, stopped ? "stopped" : "ended", took,
		 wall_ms > 0 ? (double)pg->tick * (double)tick_ms / (double)wall_ms : 0.0);
	if (tty) {
		supervisor_progress_end(sup, line);
	} else {
		fprintf(stderr, "%s\n", line);
	}
}

/* fs-conductor's exit status 4: it ended the run and wrote summary.json, but not everyone answered. */
static bool conductor_not_answered(const struct child *c)
{
	return WIFEXITED(c->status) && WEXITSTATUS(c->status) == 4;
}

/* A stop signal (Ctrl-C, SIGTERM, SIGHUP): the conductor ends the run; a second one, without the tick in flight. */
static void ask_to_stop(struct child *conductor, const struct run_options *o, int64_t *stop_started_ms, bool tty)
{
	if (!*stop_started_ms) {
		*stop_started_ms = fs_clock_now_ms();
		fs_info("%sstopping the run at the end of this tick (waiting at most %" PRIu64
			" s for it); the results are written. Ctrl-C again: stop without waiting for the tick",
			tty ? "\n" : "", o->stop_wait_s);
	} else {
		fs_info("stopping without waiting for the tick in flight; the results are being written");
	}
	kill(conductor->pid, SIGTERM);
}

/* Wait up to @ms for every participant to exit by itself. */
static void wait_participants(struct supervisor *sup, int ms)
{
	int64_t deadline = fs_clock_now_ms() + ms;
	while (supervisor_running(sup, CHILD_PARTICIPANT) && fs_clock_now_ms() < deadline) {
		supervisor_poll(sup, 20);
		supervisor_take_stops(sup); /* the run is ending already */
		supervisor_reap(sup, NULL, 0);
	}
}

/*
 * A process of the run died (or one left early): the conductor ends the run
 * now and writes what it has (SIGUSR1), the others write their outputs as
 * they receive End or SIGTERM, then whatever is left is killed.
 */
static void abort_run(struct supervisor *sup, struct child *conductor)
{
	if (conductor->running) {
		kill(conductor->pid, SIGUSR1);
		supervisor_wait(sup, conductor, ABORT_CONDUCTOR_WAIT_MS);
		wait_participants(sup, PARTICIPANT_EXIT_MS); /* they leave after End and their Bye */
	}
	supervisor_stop_all(sup, STOP_GRACE_MS);
}

/*
 * The conductor died, so nobody wrote summary.json: write what the launcher
 * knows (marked incomplete, naming why), so no earlier run's file stands in
 * for this one. The participants wrote their outputs when stopped.
 */
static void write_orphan_summary(const struct run_options *o, const struct child *conductor, uint64_t last_tick)
{
	char why[128], reason[192];
	supervisor_describe(conductor->status, why, sizeof(why));
	snprintf(reason, sizeof(reason), "aborted: the conductor %s", why);
	json_t *root = json_pack("{s:s,s:I,s:s,s:I,s:I,s:b,s:s,s:{s:s},s:{},s:s}", "fleetsim_version", FS_VERSION, "seed",
				 (json_int_t)o->seed, "start", o->start, "tick_ms", (json_int_t)o->tick_ms, "ticks",
				 (json_int_t)last_tick, "completed", 0, "end_reason", reason, "not_answered", "conductor",
				 why, "results", "written_by",
				 "fleetsim run: the conductor died, so ticks is the last one it reported and the "
				 "participants' results are in their own outputs only");
	struct fs_outfile out;
	FILE *f = root ? fs_outfile_open(&out, o->out_dir, "summary.json") : NULL;
	if (f && json_dumpf(root, f, JSON_INDENT(2) | JSON_SORT_KEYS) == 0) {
		fs_outfile_commit(&out);
	} else if (f) {
		fs_outfile_abandon(&out);
	}
	json_decref(root);
}

static double timeval_s(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec * 1e-6;
}

static json_t *usage_json(const struct rusage *u)
{
	double user = timeval_s(u->ru_utime), sys = timeval_s(u->ru_stime);
	return json_pack("{s:f,s:f,s:f,s:I}", "cpu_user_seconds", user, "cpu_system_seconds", sys, "cpu_seconds",
			 user + sys, "peak_rss_bytes", (json_int_t)u->ru_maxrss * 1024);
}

/*
 * Add what each process of the run cost to the conductor's summary.json:
 * CPU time and peak resident memory from wait4() when it ended (exact: the
 * kernel's accounting over its whole life), and the launcher's own from
 * getrusage(). The total's peak_rss_bytes sums the peaks, an upper bound on
 * the memory the run held at any one time.
 */
static void add_process_usage(const struct run_options *o, const struct supervisor *sup)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/summary.json", o->out_dir);
	json_t *root = json_load_file(path, 0, NULL);
	json_t *procs = json_object();
	if (!root || !procs) {
		fs_warn("cannot add the processes' CPU time and memory to %s", path);
		json_decref(root);
		json_decref(procs);
		return;
	}
	struct rusage self;
	getrusage(RUSAGE_SELF, &self);
	json_object_set_new(procs, "fleetsim", usage_json(&self));
	double cpu = timeval_s(self.ru_utime) + timeval_s(self.ru_stime);
	json_int_t rss = (json_int_t)self.ru_maxrss * 1024;
	for (int i = 0; i < sup->count; i++) {
		const struct child *c = &sup->children[i];
		if (c->running) {
			continue;
		}
		json_object_set_new(procs, c->name, usage_json(&c->usage));
		cpu += timeval_s(c->usage.ru_utime) + timeval_s(c->usage.ru_stime);
		rss += (json_int_t)c->usage.ru_maxrss * 1024;
	}
	json_object_set_new(root, "processes", procs);
	json_object_set_new(root, "processes_total",
			    json_pack("{s:f,s:I}", "cpu_seconds", cpu, "peak_rss_bytes_sum", rss));
	struct fs_outfile out;
	FILE *f = fs_outfile_open(&out, o->out_dir, "summary.json");
	if (f && json_dumpf(root, f, JSON_INDENT(2) | JSON_SORT_KEYS) == 0) {
		fs_outfile_commit(&out);
	} else if (f) {
		fs_outfile_abandon(&out);
	}
	json_decref(root);
}

static void free_args(char **pre, int npre, char **all)
{
	for (int i = 0; i < npre; i++) {
		free(pre[i]);
	}
	free(all);
}

/* What parse() allocated (the --remote lists). */
static void free_options(struct run_options *o)
{
	for (int i = 0; i < o->nremote_lists; i++) {
		free(o->remote_lists[i]);
	}
	o->nremote_lists = 0;
}

static int launch(const struct run_options *opts);

/*
 * The recorder starts before the conductor and says when it is subscribed to
 * the tap (a ready file), so tick 0 and everything after it are recorded. It
 * keeps the run's arguments (and scenario file) so `fleetsim replay` can re-run it.
 */
static struct child *start_recorder(struct supervisor *sup, const struct run_options *o)
{
	char exe[PATH_MAX], ready[PATH_MAX], ready_dir[64] = "/tmp/fleetsim-recorder-XXXXXX";
	fs_paths_helper("fs-recorder", exe, sizeof(exe));
	/* in a directory of our own: a name in /tmp itself could be planted (as a link) by another user */
	if (!mkdtemp(ready_dir)) {
		fs_error("cannot make a private directory in /tmp for the recorder: %s", strerror(errno));
		return NULL;
	}
	snprintf(ready, sizeof(ready), "%s/ready", ready_dir);
	struct argv_builder a = { 0 };
	arg(&a, "%s", exe);
	arg(&a, "--bus=%s", o->address);
	arg(&a, "--out=%s", o->record);
	arg(&a, "--ready-file=%s", ready);
	arg(&a, "--exit-on-end");
	arg(&a, "--");
	for (int i = 0; i < o->user_argc; i++) {
		const char *u = o->user_argv[i];
		if (!strcmp(u, "--record")) {
			i++; /* and its value */
			continue;
		}
		if (!strncmp(u, "--record=", 9)) {
			continue;
		}
		arg(&a, "%s", u);
	}
	struct child *c = supervisor_spawn(sup, "recorder", CHILD_RECORDER, a.items);
	args_free(&a);
	int64_t deadline = fs_clock_now_ms() + 10000;
	while (c && access(ready, F_OK) != 0) {
		if (fs_clock_now_ms() >= deadline || supervisor_wait(sup, c, 10)) {
			char why[128] = "did not get ready in 10 s";
			if (!c->running) {
				supervisor_describe(c->status, why, sizeof(why));
			}
			fs_error("the recorder for %s %s", o->record, why);
			c = NULL;
		}
	}
	unlink(ready);
	rmdir(ready_dir);
	return c;
}

/*
 * The run's settings: a scenario file's (else the defaults, examples/default.yaml)
 * first, so flags on the command line win. Returns 0, 1 after --help, or -EINVAL
 * (said why). The options point into *@ret_pre and *@ret_all (free_args()).
 */
static int load_options(int argc, char **argv, struct run_options *o, char **pre, int *ret_npre, char ***ret_all)
{
	*o = (struct run_options){ .seed = 1, .duration = "1h", .start = "2028-06-01T12:00:00Z", .tick_ms = 1000,
				   .speed = "max", .shards = 1, .stop_wait_s = 10 };
	*ret_npre = 0;
	*ret_all = NULL;
	const char *scenario_path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--scenario") && i + 1 < argc) {
			scenario_path = argv[i + 1];
		} else if (!strncmp(argv[i], "--scenario=", 11)) {
			scenario_path = argv[i] + 11;
		}
	}
	struct fs_scenario sc;
	if (fs_scenario_msg_load(scenario_path, &sc) < 0) {
		return -EINVAL; /* the loader said where and why */
	}
	int npre = fs_scenario_run_argv(&sc, pre, 32);
	fs_scenario_finish(&sc);
	if (npre < 0) {
		fs_error("%s: cannot turn the scenario into run settings", scenario_path ? scenario_path : "the defaults");
		return -EINVAL;
	}
	char **all = fs_xcalloc((size_t)(argc + npre + 1), sizeof(char *));
	all[0] = argv[0];
	for (int i = 0; i < npre; i++) {
		all[1 + i] = pre[i];
	}
	for (int i = 1; i < argc; i++) {
		all[npre + i] = argv[i];
	}
	*ret_npre = npre;
	*ret_all = all;
	return parse(argc + npre, all, o);
}

int launcher_run(int argc, char **argv)
{
	struct run_options o;
	char *pre[32], **all;
	int npre;
	int rc = load_options(argc, argv, &o, pre, &npre, &all);
	if (rc) {
		free_options(&o);
		free_args(pre, npre, all);
		return rc > 0 ? 0 : 2;
	}
	o.user_argc = argc - 1;
	o.user_argv = argv + 1;
	int status = launch(&o);
	free_options(&o);
	free_args(pre, npre, all);
	return status;
}

static void join_usage(FILE *out)
{
	fprintf(out,
		"Usage: fleetsim join --bus tcp://HOST:PORT --role ROLE [--shard K/N] [keys] [run options]\n"
		"\n"
		"Take part, from this host, in a run started elsewhere with `fleetsim run --bus tcp://...\n"
		"--remote NAME` (or by Slurm or systemd: docs/cluster.md). This process becomes the\n"
		"participant (fs-vehicle, fs-dispatch or fs-production) with the command line\n"
		"`fleetsim run` would give it, so give the same run options as the run (--scenario,\n"
		"--seed, --vehicles, --network, --shards ...).\n"
		"\n"
		"  --role vehicle|dispatch|production\n"
		"  --shard K/N         vehicle role: shard K of N (the participant vehicle-K)\n"
		"  --keys DIR          the run's key directory (`fleetsim run --keys DIR`): our secret key\n"
		"                      DIR/run.secret and the broker's public key DIR/broker.pub\n"
		"  --key FILE          our CURVE secret key instead (its public key on the run's --allow)\n"
		"  --broker-key KEY    the broker's public key instead (Z85 or a file)\n"
		"\n"
		"Exit status: the participant's (0 the run ended; 1 refused, lost the bus, or failed).\n");
}

/* One join-only option at argv[*i] (--role, --shard, --keys, --key, --broker-key, =VALUE or VALUE); NULL if not one. */
static const char *join_option(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n)) {
		return NULL;
	}
	if (argv[*i][n] == '=') {
		return argv[*i] + n + 1;
	}
	if (argv[*i][n] == '\0' && *i + 1 < argc) {
		return argv[++*i];
	}
	return NULL;
}

/* "K/N" with 0 <= K < N <= MAX_SHARDS. */
static bool parse_shard(const char *text, uint64_t *k, uint64_t *n)
{
	const char *slash = text ? strchr(text, '/') : NULL;
	char first[24];
	if (!slash || (size_t)(slash - text) >= sizeof(first)) {
		return false;
	}
	memcpy(first, text, (size_t)(slash - text));
	first[slash - text] = '\0';
	return fs_args_u64(first, k) && fs_args_u64(slash + 1, n) && *n > 0 && *n <= MAX_SHARDS && *k < *n;
}

/*
 * Become participant @role (shard @k) of the run the options in @argv
 * describe: the same command line `fleetsim run` would start it with, the
 * keys in the environment fs_bus reads. Returns only on failure.
 */
static int join_exec(int argc, char **argv, const char *role, uint64_t k, const char *keys, const char *key,
		     const char *broker_key)
{
	struct run_options o;
	char *pre[32], **all;
	int npre;
	int rc = load_options(argc, argv, &o, pre, &npre, &all);
	if (rc) {
		free_options(&o);
		free_args(pre, npre, all);
		return rc > 0 ? 0 : 2;
	}
	char secret[PATH_MAX] = "", server[PATH_MAX] = "", network[PATH_MAX];
	if (keys) {
		snprintf(secret, sizeof(secret), "%s/run.secret", keys);
		snprintf(server, sizeof(server), "%s/broker.pub", keys);
	}
	if (key) {
		snprintf(secret, sizeof(secret), "%s", key);
	}
	if (broker_key) {
		snprintf(server, sizeof(server), "%s", broker_key);
	}
	if (secret[0]) {
		setenv(FS_BUS_ENV_CURVE_SECRET, secret, 1);
	}
	if (server[0]) {
		setenv(FS_BUS_ENV_CURVE_SERVER, server, 1);
	}
	char dispatch_exe[PATH_MAX];
	fs_paths_helper("fs-dispatch", dispatch_exe, sizeof(dispatch_exe));
	resolve_network(o.network, network, sizeof(network));
	struct argv_builder a = { 0 };
	if (!o.address_given || strncmp(o.address, "tcp://", 6)) {
		fs_error("join: --bus tcp://HOST:PORT is required (the run's broker, on another host)");
	} else if (!getenv(FS_BUS_ENV_CURVE_SECRET) || !getenv(FS_BUS_ENV_CURVE_SERVER)) {
		fs_error("join: a tcp bus is encrypted: give --keys DIR (the run's run.secret and broker.pub), or "
			 "--key FILE and --broker-key KEY");
	} else if (!strchr(network, ':') && access(network, R_OK) < 0) {
		fs_error("--network: cannot read %s on this host: %s", network, strerror(errno));
	} else if (!strcmp(role, "vehicle")) {
		vehicle_args(&a, &o, network, k, executable_exists(dispatch_exe));
	} else if (!strcmp(role, "dispatch")) {
		dispatch_args(&a, &o, network);
	} else {
		production_args(&a, &o);
	}
	if (a.count) {
		fs_info("joining the run on %s as %s", o.address, a.items[2] + strlen("--name="));
		fflush(stderr);
		execv(a.items[0], a.items);
		fs_error("cannot run %s: %s", a.items[0], strerror(errno));
	}
	int status = a.count ? 1 : 2;
	args_free(&a);
	free_options(&o);
	free_args(pre, npre, all);
	return status;
}

int launcher_join(int argc, char **argv)
{
	const char *role = NULL, *shard = NULL, *keys = NULL, *key = NULL, *broker_key = NULL;
	char **rest = fs_xcalloc((size_t)argc + 2, sizeof(char *));
	int nrest = 0;
	rest[nrest++] = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			join_usage(stdout);
			free(rest);
			return 0;
		} else if ((v = join_option(argc, argv, &i, "--role"))) {
			role = v;
		} else if ((v = join_option(argc, argv, &i, "--shard"))) {
			shard = v;
		} else if ((v = join_option(argc, argv, &i, "--keys"))) {
			keys = v;
		} else if ((v = join_option(argc, argv, &i, "--key"))) {
			key = v;
		} else if ((v = join_option(argc, argv, &i, "--broker-key"))) {
			broker_key = v;
		} else {
			rest[nrest++] = argv[i];
		}
	}
	uint64_t k = 0, n = 0;
	char shards_arg[48] = "";
	int status = 2;
	if (!role || (strcmp(role, "vehicle") && strcmp(role, "dispatch") && strcmp(role, "production"))) {
		fs_error("join: --role vehicle, dispatch or production is required (`fleetsim join --help`)");
		goto out;
	}
	if (!strcmp(role, "vehicle")) {
		if (!parse_shard(shard, &k, &n)) {
			fs_error("join: --shard '%s' is not K/N with 0 <= K < N <= %d (vehicle role)", shard ? shard : "",
				 MAX_SHARDS);
			goto out;
		}
		snprintf(shards_arg, sizeof(shards_arg), "--shards=%" PRIu64, n);
		rest[nrest++] = shards_arg; /* after the user's: the shard count is the one of K/N */
	} else if (shard) {
		fs_error("join: --shard is for the vehicle role");
		goto out;
	}
	status = join_exec(nrest, rest, role, k, keys, key, broker_key);
out:
	free(rest);
	return status;
}

/*
 * A run that ended by itself leaves the viewer open on its final state ("run
 * ended") until the user closes it; a stop request (Ctrl-C, a signal) closes
 * it with the rest.
 */
static void wait_for_viewer(struct supervisor *sup, struct child *viewer, bool stopping)
{
	if (!viewer || !viewer->running || stopping) {
		return;
	}
	fs_info("the viewer shows the run's final state; close it (q) or press Ctrl-C to finish");
	while (!supervisor_wait(sup, viewer, 200)) {
		if (supervisor_take_stops(sup) > 0) {
			return;
		}
		supervisor_relay_logs(sup, false);
	}
}

static int launch(const struct run_options *opts)
{
	struct run_options o = *opts;
	if (!o.address_given) {
		fs_bus_default_address(o.address, sizeof(o.address));
	}
	char broker_exe[PATH_MAX], conductor_exe[PATH_MAX], vehicle_exe[PATH_MAX], dispatch_exe[PATH_MAX],
		production_exe[PATH_MAX], network[PATH_MAX];
	fs_paths_helper("fs-broker", broker_exe, sizeof(broker_exe));
	fs_paths_helper("fs-conductor", conductor_exe, sizeof(conductor_exe));
	fs_paths_helper("fs-vehicle", vehicle_exe, sizeof(vehicle_exe));
	fs_paths_helper("fs-dispatch", dispatch_exe, sizeof(dispatch_exe));
	/* Services join the run as they are built; none is ever imitated. */
	bool with_dispatch = executable_exists(dispatch_exe);
	fs_paths_helper("fs-production", production_exe, sizeof(production_exe));
	bool with_production = executable_exists(production_exe);
	const char *needed[] = { broker_exe, conductor_exe, vehicle_exe };
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!executable_exists(needed[i])) {
			fs_error("cannot find %s (is the build complete?)", needed[i]);
			return 1;
		}
	}
	char viz_exe[PATH_MAX];
	fs_paths_program("fleet-viz", viz_exe, sizeof(viz_exe));
	if (o.viz && !executable_exists(viz_exe)) {
		fs_error("--viz: cannot find fleet-viz (built only where SDL2, SDL2_ttf and SDL2_image are found)");
		return 2;
	}
	resolve_network(o.network, network, sizeof(network));
	if (!strchr(network, ':') && access(network, R_OK) < 0) {
		fs_error("--network: cannot read %s: %s", network, strerror(errno));
		return 2;
	}
	if (o.out_dir && fs_outfile_check_dir("--out", o.out_dir) < 0) {
		return 2; /* a file, /dev/null, a read-only place: said now, not after the run */
	}

	if ((o.nremote || o.keys_dir) && strncmp(o.address, "tcp://", 6)) {
		fs_error("--remote and --keys need a tcp bus (--bus tcp://HOST:PORT): other hosts join over tcp");
		return 2;
	}
	if (o.nremote && !o.quiet) {
		fs_info("waiting for %d participant(s) to join from other hosts (`fleetsim join`), at most %" PRIu64
			" s", o.nremote, o.ready_timeout_s ? o.ready_timeout_s : 60);
	}
	int dir_fd;
	int lock_fd = lock_bus(o.address, &dir_fd);
	if (lock_fd == -2) {
		return 1;
	}
	struct supervisor *sup = fs_xcalloc(1, sizeof(*sup));
	if (supervisor_init(sup) < 0) {
		fs_error("cannot set up signal handling: %s", strerror(errno));
		free(sup);
		return 1;
	}
	int status = 1;
	bool interrupted = false, tty = isatty(STDERR_FILENO) && !o.quiet;
	if (tty && supervisor_capture_logs(sup) < 0) {
		tty = false; /* no pipe: progress as whole lines, as into a file */
	}
	struct argv_builder a = { 0 };
	struct child *viewer = NULL;
	struct fs_bus *watch = NULL;
	char keydir[64] = ""; /* a tcp run's own keys, removed after it */
	const char *keys = o.keys_dir ? o.keys_dir : keydir;

	/* A tcp bus is always CURVE: the run's processes share a key pair made
	 * for this run; operators are admitted by --allow. */
	bool tcp = !strncmp(o.address, "tcp://", 6);
	if (tcp) {
		if (!zmq_has("curve")) {
			fs_error("a tcp bus needs CURVE, which this libzmq lacks (install libzmq with libsodium)");
			goto out;
		}
		if (o.keys_dir) {
			if (run_keys(o.keys_dir) < 0) {
				goto out;
			}
		} else {
			snprintf(keydir, sizeof(keydir), "/tmp/fleetsim-keys-XXXXXX");
			if (!mkdtemp(keydir) || fs_bus_keygen(keydir, "run", NULL) < 0) {
				fs_error("cannot make the run's CURVE keys in /tmp");
				keydir[0] = '\0';
				goto out;
			}
		}
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/run.secret", keys);
		setenv("FLEETSIM_CURVE_SECRET", path, 1);
		snprintf(path, sizeof(path), "%s/broker.pub", keys);
		setenv("FLEETSIM_CURVE_SERVER", path, 1);
	}
	arg(&a, "%s", broker_exe);
	arg(&a, "--bus=%s", o.address);
	if (tcp) {
		arg(&a, "--curve-dir=%s", keys);
		arg(&a, "--allow=%s/run.pub", keys);
		for (int i = 0; i < o.nallow; i++) {
			arg(&a, "--allow=%s", o.allow[i]);
		}
		if (o.open_watch) {
			arg(&a, "--open-watch");
		}
	}
	struct child *broker = supervisor_spawn(sup, "broker", CHILD_BROKER, a.items);
	args_free(&a);
	if (!broker || !wait_for_broker(sup, broker, o.address, keys)) {
		char why[128];
		fs_error("the broker did not start on %s%s%s", o.address, broker && !broker->running ? ": it " : "",
			 broker && !broker->running ? supervisor_describe(broker->status, why, sizeof(why)) : "");
		goto out;
	}

	struct child *recorder = NULL;
	if (o.record && !(recorder = start_recorder(sup, &o))) {
		goto out;
	}

	/* The participant set, fixed for the whole run. */
	char participants[MAX_SHARDS * 24 + 256 + 16 * 128] = "";
	for (uint64_t i = 0; i < o.shards; i++) {
		size_t len = strlen(participants);
		snprintf(participants + len, sizeof(participants) - len, "%svehicle-%" PRIu64 ":vehicle", i ? "," : "", i);
	}
	if (with_dispatch) {
		strcat(participants, ",dispatch:dispatch");
	}
	if (with_production) {
		strcat(participants, ",production:production");
	}
	for (int i = 0; i < o.nexternal; i++) {
		size_t len = strlen(participants);
		snprintf(participants + len, sizeof(participants) - len, ",%s", o.external[i]);
	}
	arg(&a, "%s", conductor_exe);
	arg(&a, "--bus=%s", o.address);
	arg(&a, "--participants=%s", participants);
	arg(&a, "--seed=%" PRIu64, o.seed);
	arg(&a, "--start=%s", o.start);
	arg(&a, "--duration=%s", o.duration);
	arg(&a, "--tick-ms=%" PRIu64, o.tick_ms);
	arg(&a, "--speed=%s", o.speed);
	if (o.paused) {
		arg(&a, "--paused");
	}
	if (o.control) {
		arg(&a, "--control=%s", o.control);
	}
	arg(&a, "--stop-wait=%" PRIu64, o.stop_wait_s);
	if (o.ready_timeout_s) {
		arg(&a, "--ready-timeout=%" PRIu64, o.ready_timeout_s);
	}
	arg(&a, "--vehicles=%" PRIu64, o.vehicles);
	if (o.scenario) {
		arg(&a, "--scenario=%s", o.scenario);
	}
	if (o.no_scenario_events) {
		arg(&a, "--no-scenario-events");
	}
	if (o.out_dir) {
		arg(&a, "--out=%s", o.out_dir);
	}
	struct child *conductor = supervisor_spawn(sup, "conductor", CHILD_CONDUCTOR, a.items);
	args_free(&a);
	if (!conductor) {
		goto out;
	}
	for (uint64_t i = 0; i < o.shards; i++) {
		char name[32];
		snprintf(name, sizeof(name), "vehicle-%" PRIu64, i);
		if (is_remote(&o, name)) {
			continue; /* it joins from its host */
		}
		vehicle_args(&a, &o, network, i, with_dispatch);
		struct child *c = supervisor_spawn(sup, name, CHILD_PARTICIPANT, a.items);
		args_free(&a);
		if (!c) {
			goto out;
		}
	}
	if (with_dispatch && !is_remote(&o, "dispatch")) {
		dispatch_args(&a, &o, network);
		struct child *c = supervisor_spawn(sup, "dispatch", CHILD_PARTICIPANT, a.items);
		args_free(&a);
		if (!c) {
			goto out;
		}
	}
	if (with_production && !is_remote(&o, "production")) {
		production_args(&a, &o);
		struct child *c = supervisor_spawn(sup, "production", CHILD_PARTICIPANT, a.items);
		args_free(&a);
		if (!c) {
			goto out;
		}
	}

	if (o.viz) {
		/* An observer: it can neither slow the run nor stop it by closing. */
		arg(&a, "%s", viz_exe);
		arg(&a, "--bus=%s", o.address);
		arg(&a, "--network=%s", network);
		if (o.scenario) {
			arg(&a, "--scenario=%s", o.scenario); /* its clock: the city's time zone */
		}
		viewer = supervisor_spawn(sup, "viewer", CHILD_OBSERVER, a.items);
		args_free(&a);
		if (!viewer) {
			goto out;
		}
	}

	/* Progress comes from the conductor's status messages, as an observer. */
	struct fs_bus_options wopts = { .address = o.address, .name = "launcher", .mode = FS_BUS_OBSERVER,
					.observer_hwm = 100 };
	char wname[48];
	snprintf(wname, sizeof(wname), "launcher-%d", (int)getpid());
	wopts.name = wname;
	watch = fs_bus_connect(&wopts);
	if (watch) {
		fs_bus_subscribe(watch, "ctl.status");
		fs_bus_subscribe(watch, "ctl.end");
	}
	if (!o.quiet) {
		fs_info("run on %s: %" PRIu64 " vehicle shard(s), network %s, seed %" PRIu64, o.address, o.shards, network,
			o.seed);
	}
	if (tcp) {
		fs_info("tcp bus with CURVE: operators need FLEETSIM_CURVE_SERVER=%s/broker.pub and a secret key "
			"whose public key was given with --allow", keys);
	}

	int64_t participant_exit_ms = 0, stop_started_ms = 0;
	uint64_t last_tick = 0; /* from the conductor's status: for a summary if it dies */
	bool run_ending = false; /* End was published: participants leave as they finish their outputs */
	int64_t last_progress_ms = 0;
	struct progress pg = { 0 };
	for (;;) {
		zmq_pollitem_t items[3] = {
			{ .fd = sup->signal_fd, .events = ZMQ_POLLIN },
			{ .fd = sup->log_fd, .events = ZMQ_POLLIN },
			{ .socket = watch ? fs_bus_socket(watch) : NULL, .events = ZMQ_POLLIN },
		};
		zmq_poll(items, watch ? 3 : 2, 200);
		supervisor_relay_logs(sup, false);
		for (int stops = supervisor_take_stops(sup); stops > 0 && conductor->running; stops--) {
			ask_to_stop(conductor, &o, &stop_started_ms, tty);
			interrupted = true;
		}
		if (stop_started_ms && conductor->running &&
		    fs_clock_now_ms() - stop_started_ms > ((int64_t)o.stop_wait_s * 1000 + STOP_BACKSTOP_MS)) {
			fs_error("%sthe conductor did not end the run %" PRIu64 " s after the stop; aborting it",
				 tty ? "\n" : "", o.stop_wait_s + STOP_BACKSTOP_MS / 1000);
			abort_run(sup, conductor);
			status = 1;
			goto out;
		}
		struct child *ended[SUPERVISOR_MAX_CHILDREN];
		int n = supervisor_reap(sup, ended, SUPERVISOR_MAX_CHILDREN);
		for (int i = 0; i < n; i++) {
			struct child *c = ended[i];
			bool clean = WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
			if (c->kind == CHILD_CONDUCTOR && (clean || conductor_not_answered(c))) {
				continue; /* the run is over, summary written; the participants follow */
			}
			if (c->kind == CHILD_PARTICIPANT && clean) {
				if (!participant_exit_ms) {
					participant_exit_ms = fs_clock_now_ms();
				}
				continue;
			}
			if (c->kind == CHILD_RECORDER && clean && !conductor->running) {
				continue; /* it finished the file after End */
			}
			if (c->kind == CHILD_OBSERVER) {
				char why[128];
				fs_warn("%s (pid %d) %s; the run goes on", c->name, (int)c->pid,
					supervisor_describe(c->status, why, sizeof(why)));
				continue;
			}
			char why[128];
			fs_error("%s%s (pid %d) %s; stopping the run", tty ? "\n" : "", c->name, (int)c->pid,
				 supervisor_describe(c->status, why, sizeof(why)));
			abort_run(sup, conductor);
			if (c == conductor && o.out_dir && WIFSIGNALED(c->status)) {
				/* killed: it wrote nothing (one that exited wrote its own, e.g. participants not ready) */
				write_orphan_summary(&o, c, last_tick);
			}
			status = 1;
			goto out;
		}
		if (!conductor->running) {
			/* Normal end: participants exit right after their Bye; the conductor waited for those. */
			wait_participants(sup, PARTICIPANT_EXIT_MS);
			if (supervisor_running(sup, CHILD_PARTICIPANT)) {
				fs_error("participants still running %d s after the run ended: stopping them",
					 PARTICIPANT_EXIT_MS / 1000);
			}
			if (recorder && recorder->running && !supervisor_wait(sup, recorder, 25000)) {
				fs_error("the recorder did not finish %s within 25 s", o.record);
			}
			wait_for_viewer(sup, viewer, interrupted || stop_started_ms);
			supervisor_stop_all(sup, 1000);
			if (o.out_dir) {
				add_process_usage(&o, sup);
			}
			bool failed = false;
			for (int i = 0; i < sup->count; i++) {
				const struct child *c = &sup->children[i];
				if ((c->kind == CHILD_PARTICIPANT || c->kind == CHILD_CONDUCTOR || c->kind == CHILD_RECORDER) &&
				    (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)) {
					char why[128];
					if (c == conductor && conductor_not_answered(c)) {
						fs_error("the run ended without an answer from some participants "
							 "(summary.json \"not_answered\")");
					} else {
						fs_error("%s (pid %d) %s at the end of the run", c->name, (int)c->pid,
							 supervisor_describe(c->status, why, sizeof(why)));
					}
					failed = true;
				}
			}
			status = failed ? 1 : interrupted ? 130 : 0;
			if (!o.quiet) {
				show_final_progress(sup, &pg, o.tick_ms, tty, interrupted || stop_started_ms);
			}
			if (!failed && o.out_dir && !o.quiet) {
				fs_info("results in %s/summary.json", o.out_dir);
			}
			goto out;
		}
		if (participant_exit_ms && !run_ending && fs_clock_now_ms() - participant_exit_ms > 5000) {
			fs_error("%sa participant exited but the run did not end; stopping the run", tty ? "\n" : "");
			abort_run(sup, conductor);
			status = 1;
			goto out;
		}
		if (watch && (items[2].revents & ZMQ_POLLIN || fs_bus_has_pending(watch))) {
			struct fs_bus_message *msg = NULL;
			const Fleetsim__V1__Status *latest = NULL;
			struct fs_bus_message *keep = NULL;
			while (fs_bus_recv(watch, &msg, 0) == 0) {
				if (msg->env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_END ||
				    (msg->env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_STATUS &&
				     msg->env->status->state >= FLEETSIM__V1__RUN_STATE__RUN_STATE_ENDING)) {
					run_ending = true;
				}
				if (msg->env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_END) {
					pg.tick = msg->env->end->ticks; /* for the final line */
					pg.sim_time_ms = msg->env->sim_time_ms;
				}
				if (msg->env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_STATUS) {
					fs_bus_message_free(keep);
					keep = msg;
					latest = msg->env->status;
					last_tick = latest->tick;
				} else {
					fs_bus_message_free(msg);
				}
			}
			int64_t now = fs_clock_now_ms();
			if (latest && !o.quiet && (tty || now - last_progress_ms >= 10000)) {
				show_progress(sup, &pg, latest, tty);
				last_progress_ms = now;
			}
			fs_bus_message_free(keep);
		}
	}
out:
	fs_bus_close(watch);
	supervisor_stop_all(sup, 1000);
	supervisor_finish(sup);
	free(sup);
	if (lock_fd >= 0) {
		/* everything of the run is gone: its sockets (a killed conductor's ctl too), the lock */
		fs_bus_dir_remove(o.address, dir_fd);
		close(lock_fd);
		close(dir_fd);
	}
	if (keydir[0]) {
		static const char *const files[] = { "run.pub", "run.secret", "broker.pub", "broker.secret" };
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", keydir, files[i]);
			unlink(path);
		}
		rmdir(keydir);
	}
	return status;
}
