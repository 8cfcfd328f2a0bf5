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
#include "fs_control_msg.h"
#include "fs/scenario.h"
#include "fs_log.h"
#include "fs_outfile.h"
#include "fs_paths.h"
#include "fs_scenario_msg.h"
#include "fs_service.h"
#include "launcher.h"
#include "run_plan.h"
#include "supervisor.h"

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

static int take_duration(void *target, const char *arg)
{
	uint64_t ms;
	if (!fs_args_duration_ms(arg, &ms) || ms == 0 || ms > FS_SCN_DURATION_MAX_MS) {
		fs_error("--duration: '%s' is not a duration of 1 ms to 100 years such as 3600, 90m, 2h or 1d (as in a "
			 "scenario file)",
			 arg);
		return 2;
	}
	*(const char **)target = arg;
	return 0;
}

static int take_start(void *target, const char *arg)
{
	int64_t start_ms;
	if (fs_calendar_parse(arg, &start_ms) < 0) {
		fs_error("--start: '%s' is not a date-time such as 2028-06-01T06:00:00Z", arg);
		return 2;
	}
	*(const char **)target = arg;
	return 0;
}

static int take_speed(void *target, const char *arg)
{
	double speed;
	if (!fs_args_speed(arg, &speed)) {
		fs_error("--speed: '%s' is not 'max' or a positive factor", arg);
		return 2;
	}
	*(const char **)target = arg;
	return 0;
}

static int take_bus(void *target, const char *arg)
{
	struct run_options *o = target;
	if (fs_bus_endpoint(arg, FS_BUS_EP_PUB, (char[FS_BUS_ADDRESS_MAX]){ 0 }, FS_BUS_ADDRESS_MAX) < 0) {
		fs_error("--bus: '%s' is not ipc://DIR (short enough for a socket path) or tcp://HOST:PORT", arg);
		return 2;
	}
	snprintf(o->address, sizeof(o->address), "%s", arg);
	o->address_given = true;
	return 0;
}

/* @arg onto @list, which has room for @room; 2 after saying @full when it has none left. */
static int append_arg(const char **list, int *n, size_t room, const char *full, const char *arg)
{
	if ((size_t)*n >= room) {
		fs_error("%s", full);
		return 2;
	}
	list[(*n)++] = arg;
	return 0;
}

static int take_participant(void *target, const char *arg)
{
	struct run_options *o = target;
	const char *colon = strchr(arg, ':');
	size_t name_len = colon ? (size_t)(colon - arg) : 0;
	if (!colon || !name_len || !colon[1] || strchr(colon + 1, ':') || strchr(arg, ',') ||
	    !fs_topic_valid(arg, strlen(arg)) || name_len >= 100 || (name_len == 9 && !strncmp(arg, "conductor", 9))) {
		fs_error("--participant: '%s' is not NAME:ROLE (printable, no spaces or commas; not the conductor)", arg);
		return 2;
	}
	return append_arg(o->external, &o->nexternal, sizeof(o->external) / sizeof(o->external[0]),
			  "--participant: at most 16", arg);
}

static int take_remote(void *target, const char *arg)
{
	return add_remote(target, arg) < 0 ? 2 : 0;
}

static int take_allow(void *target, const char *arg)
{
	struct run_options *o = target;
	return append_arg(o->allow, &o->nallow, sizeof(o->allow) / sizeof(o->allow[0]), "--allow: at most 16 files",
			  arg);
}

static int take_keyframe_every(void *target, const char *arg)
{
	uint64_t ms;
	if (strcmp(arg, "0") && (!fs_args_duration_ms(arg, &ms) || ms > 86400000)) {
		fs_error("--keyframe-every: '%s' is not a duration such as 10s, 5m or 0", arg);
		return 2;
	}
	*(const char **)target = arg;
	return 0;
}

/* What the options say together: the remote participants are the run's, one vehicle per shard at least. */
static int check_options(const struct run_options *o)
{
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

/* The options of `fleetsim run`: 0, 1 after --help, or -EINVAL (said why). */
static int parse(int argc, char **argv, struct run_options *o)
{
	static const char *const controls[] = { "socket", "bus", NULL };
	static const char *const matchers[] = { "batch", "greedy", NULL };
	static const char *const yes_no[] = { "yes", "no", NULL };
	char shards_what[48];
	snprintf(shards_what, sizeof(shards_what), "a process count (1..%d)", MAX_SHARDS);
	int choice;
	double seconds;
	const struct fs_opt opts[] = {
		{ "seed", FS_OPT_U64, &o->seed, .what = "a non-negative integer" },
		{ "duration", FS_OPT_CALL, &o->duration, .call = take_duration },
		{ "start", FS_OPT_CALL, &o->start, .call = take_start },
		{ "tick-ms", FS_OPT_U64, &o->tick_ms, .min = 1, .max = 3600000, .what = "a tick length in ms (1..3600000)" },
		{ "speed", FS_OPT_CALL, &o->speed, .call = take_speed },
		{ "shards", FS_OPT_U64, &o->shards, .min = 1, .max = MAX_SHARDS, .what = shards_what },
		{ "vehicles", FS_OPT_U64, &o->vehicles, .max = 1000000, .what = "a fleet size (0..1000000)" },
		{ "network", FS_OPT_STRING, &o->network },
		{ "out", FS_OPT_STRING, &o->out_dir },
		{ "bus", FS_OPT_CALL, o, .call = take_bus },
		{ "paused", FS_OPT_SET, &o->paused },
		{ "quiet", FS_OPT_SET, &o->quiet },
		{ "viz", FS_OPT_SET, &o->viz },
		{ "phase", FS_OPT_CHOICE, &choice, .choice_name = fs_scenario_phase_name, .text = &o->phase,
		  .what = "data-collection, supervised or driverless" },
		{ "matcher", FS_OPT_CHOICE, &choice, .choices = matchers, .text = &o->matcher, .what = "batch or greedy" },
		{ "rebalance-s", FS_OPT_DOUBLE, &seconds, .hi = 86400, .text = &o->rebalance_s,
		  .what = "a number of seconds (0 = off, at most 86400)" },
		{ "charging", FS_OPT_CHOICE, &choice, .choices = yes_no, .text = &o->charging, .what = "yes or no" },
		{ "scenario", FS_OPT_STRING, &o->scenario },
		{ "no-scenario-events", FS_OPT_SET, &o->no_scenario_events },
		{ "keyframe-every", FS_OPT_CALL, &o->keyframe_every, .call = take_keyframe_every },
		{ "record", FS_OPT_STRING, &o->record },
		{ "fleet-csv", FS_OPT_STRING, &o->fleet_csv },
		{ "demand-csv", FS_OPT_STRING, &o->demand_csv },
		{ "allow", FS_OPT_CALL, o, .call = take_allow },
		{ "open-watch", FS_OPT_SET, &o->open_watch },
		{ "control", FS_OPT_CHOICE, &choice, .choices = controls, .text = &o->control, .what = "'socket' or 'bus'" },
		{ "participant", FS_OPT_CALL, o, .call = take_participant },
		{ "stop-wait", FS_OPT_U64, &o->stop_wait_s, .max = 3600, .what = "a number of seconds (0..3600)" },
		/* several hosts (docs/cluster.md) */
		{ "remote", FS_OPT_CALL, o, .call = take_remote },
		{ "keys", FS_OPT_STRING, &o->keys_dir },
		{ "ready-timeout", FS_OPT_U64, &o->ready_timeout_s, .min = 1, .max = 86400,
		  .what = "a number of seconds (1..86400)" },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "fleetsim run", .usage = usage, .opts = opts,
					      .unexpected_suffix = " (try `fleetsim run --help`)" };
	int rc = fs_service_parse(&spec, argc, argv, NULL);
	if (rc != FS_SERVICE_GO_ON) {
		return rc == 0 ? 1 : -EINVAL;
	}
	return check_options(o);
}

static bool executable_exists(const char *path)
{
	return access(path, X_OK) == 0;
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
static void progress_eta(struct progress *pg, const struct fs_control_status *st, int64_t now, char *buf, size_t size)
{
	buf[0] = '\0';
	if (st->state != FS_RUN_RUNNING) {
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

static void show_progress(struct supervisor *sup, struct progress *pg, const struct fs_control_status *st, bool tty)
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
		ready += st->participants[i].ready;
	}
	const char *state = st->state == FS_RUN_PAUSED    ? "paused"
			    : st->state == FS_RUN_WAITING ? "waiting"
			    : st->state == FS_RUN_RUNNING ? "running"
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

/* The run's command line as parse() reads it: the options point into it. */
struct run_args {
	char *pre[32]; /* the scenario's settings as flags (owned) */
	int npre;
	char **all;    /* argv[0], pre, then the user's arguments */
};

/* What load_options() allocated: @args, and parse()'s --remote lists in @o. */
static void unload_options(struct run_options *o, struct run_args *args)
{
	for (int i = 0; i < o->nremote_lists; i++) {
		free(o->remote_lists[i]);
	}
	o->nremote_lists = 0;
	for (int i = 0; i < args->npre; i++) {
		free(args->pre[i]);
	}
	free(args->all);
}

static int launch(const struct run_options *opts);

/*
 * The run's settings: a scenario file's (else the defaults, examples/default.yaml)
 * first, so flags on the command line win. Returns 0, 1 after --help, or -EINVAL
 * (said why). The options point into @args; unload_options() frees both, whatever it returned.
 */
static int read_options(int argc, char **argv, struct run_options *o, struct run_args *args)
{
	*o = (struct run_options){ .seed = 1, .duration = "1h", .start = "2028-06-01T12:00:00Z", .tick_ms = 1000,
				   .speed = "max", .shards = 1, .stop_wait_s = 10 };
	*args = (struct run_args){ .npre = 0 };
	const char *scenario_path = fs_args_last_value(argc - 1, argv + 1, "--scenario");
	struct fs_scenario sc;
	if (fs_scenario_msg_load(scenario_path, &sc) < 0) {
		return -EINVAL; /* the loader said where and why */
	}
	int npre = fs_scenario_run_argv(&sc, args->pre, (int)(sizeof(args->pre) / sizeof(args->pre[0])));
	fs_scenario_finish(&sc);
	if (npre < 0) {
		fs_error("%s: cannot turn the scenario into run settings", scenario_path ? scenario_path : "the defaults");
		return -EINVAL;
	}
	char **all = fs_xcalloc((size_t)(argc + npre + 1), sizeof(char *));
	all[0] = argv[0];
	for (int i = 0; i < npre; i++) {
		all[1 + i] = args->pre[i];
	}
	for (int i = 1; i < argc; i++) {
		all[npre + i] = argv[i];
	}
	args->npre = npre;
	args->all = all;
	return parse(argc + npre, all, o);
}

/*
 * read_options() for a command: FS_SERVICE_GO_ON with the options (unload_options()
 * frees them), or the command's exit status, 0 after --help or 2 after saying why.
 */
static int load_options(int argc, char **argv, struct run_options *o, struct run_args *args)
{
	int rc = read_options(argc, argv, o, args);
	if (rc) {
		unload_options(o, args);
		return rc > 0 ? 0 : 2;
	}
	return FS_SERVICE_GO_ON;
}

int launcher_run(int argc, char **argv)
{
	struct run_options o;
	struct run_args args;
	int rc = load_options(argc, argv, &o, &args);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	o.user_argc = argc - 1;
	o.user_argv = argv + 1;
	int status = launch(&o);
	unload_options(&o, &args);
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
	struct run_args args;
	int rc = load_options(argc, argv, &o, &args);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
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
	struct plan_argv a = { 0 };
	if (!o.address_given || strncmp(o.address, "tcp://", 6)) {
		fs_error("join: --bus tcp://HOST:PORT is required (the run's broker, on another host)");
	} else if (!getenv(FS_BUS_ENV_CURVE_SECRET) || !getenv(FS_BUS_ENV_CURVE_SERVER)) {
		fs_error("join: a tcp bus is encrypted: give --keys DIR (the run's run.secret and broker.pub), or "
			 "--key FILE and --broker-key KEY");
	} else if (!strchr(network, ':') && access(network, R_OK) < 0) {
		fs_error("--network: cannot read %s on this host: %s", network, strerror(errno));
	} else if (!strcmp(role, "vehicle")) {
		plan_vehicle_argv(&a, &o, network, k, executable_exists(dispatch_exe));
	} else if (!strcmp(role, "dispatch")) {
		plan_dispatch_argv(&a, &o, network);
	} else {
		plan_production_argv(&a, &o);
	}
	if (a.count) {
		fs_info("joining the run on %s as %s", o.address, a.items[2] + strlen("--name="));
		fflush(stderr);
		execv(a.items[0], a.items);
		fs_error("cannot run %s: %s", a.items[0], strerror(errno));
	}
	int status = a.count ? 1 : 2;
	plan_argv_free(&a);
	unload_options(&o, &args);
	return status;
}

int launcher_join(int argc, char **argv)
{
	const char *role = NULL, *shard = NULL, *keys = NULL, *key = NULL, *broker_key = NULL;
	char **rest = fs_xcalloc((size_t)argc + 2, sizeof(char *));
	int nrest = 0;
	rest[nrest++] = argv[0];
	for (int i = 1; i < argc;) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			join_usage(stdout);
			free(rest);
			return 0;
		}
		/* join's own options; the rest goes to `fleetsim run` */
		if (!fs_args_value(argc, argv, &i, "--role", &role) && !fs_args_value(argc, argv, &i, "--shard", &shard) &&
		    !fs_args_value(argc, argv, &i, "--keys", &keys) && !fs_args_value(argc, argv, &i, "--key", &key) &&
		    !fs_args_value(argc, argv, &i, "--broker-key", &broker_key)) {
			rest[nrest++] = argv[i++];
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

/* A run being launched: what it holds, and what its supervision tracks. */
struct launch {
	struct run_options o;
	struct run_programs progs;
	char network[PATH_MAX];
	struct supervisor *sup;
	struct child *conductor, *recorder, *viewer;
	struct fs_bus *watch;
	bool tcp, tty, interrupted;
	int lock_fd, dir_fd;       /* the ipc bus's lock and directory, -1 on tcp */
	char keydir[64];           /* a tcp run's own keys, removed after it ("" for none) */
	const char *keys;          /* the key directory in use (tcp) */
	char ready_dir[64];        /* the recorder's ready file's private directory ("" for none) */
	char ready[PATH_MAX];
	int64_t participant_exit_ms, stop_started_ms, last_progress_ms;
	uint64_t last_tick;        /* from the conductor's status: for a summary if it dies */
	bool run_ending;           /* End was published: participants leave as they finish their outputs */
	struct progress pg;
	struct fs_control_in in; /* the conductor's last Status or End */
};

/* The programs of the run, its network and its --out: 0, or the exit status (said why). */
static int check_inputs(struct launch *l)
{
	struct run_options *o = &l->o;
	char vehicle[PATH_MAX], dispatch[PATH_MAX], production[PATH_MAX];
	fs_paths_helper("fs-broker", l->progs.broker, sizeof(l->progs.broker));
	fs_paths_helper("fs-conductor", l->progs.conductor, sizeof(l->progs.conductor));
	fs_paths_helper("fs-recorder", l->progs.recorder, sizeof(l->progs.recorder));
	fs_paths_helper("fs-vehicle", vehicle, sizeof(vehicle));
	fs_paths_helper("fs-dispatch", dispatch, sizeof(dispatch));
	fs_paths_helper("fs-production", production, sizeof(production));
	/* Services join the run as they are built; none is ever imitated. */
	l->progs.with_dispatch = executable_exists(dispatch);
	l->progs.with_production = executable_exists(production);
	const char *needed[] = { l->progs.broker, l->progs.conductor, vehicle };
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!executable_exists(needed[i])) {
			fs_error("cannot find %s (is the build complete?)", needed[i]);
			return 1;
		}
	}
	fs_paths_program("fleet-viz", l->progs.viewer, sizeof(l->progs.viewer));
	if (o->viz && !executable_exists(l->progs.viewer)) {
		fs_error("--viz: cannot find fleet-viz (built only where SDL2, SDL2_ttf and SDL2_image are found)");
		return 2;
	}
	resolve_network(o->network, l->network, sizeof(l->network));
	if (!strchr(l->network, ':') && access(l->network, R_OK) < 0) {
		fs_error("--network: cannot read %s: %s", l->network, strerror(errno));
		return 2;
	}
	if (o->out_dir && fs_outfile_check_dir("--out", o->out_dir) < 0) {
		return 2; /* a file, /dev/null, a read-only place: said now, not after the run */
	}
	if ((o->nremote || o->keys_dir) && strncmp(o->address, "tcp://", 6)) {
		fs_error("--remote and --keys need a tcp bus (--bus tcp://HOST:PORT): other hosts join over tcp");
		return 2;
	}
	if (o->nremote && !o->quiet) {
		fs_info("waiting for %d participant(s) to join from other hosts (`fleetsim join`), at most %" PRIu64
			" s", o->nremote, o->ready_timeout_s ? o->ready_timeout_s : 60);
	}
	return 0;
}

/*
 * A tcp bus is always CURVE: the run's processes share a key pair made for
 * this run (or kept in --keys DIR), found through the environment they
 * inherit; operators are admitted by --allow. 0 or -1 (said why).
 */
static int make_keys(struct launch *l)
{
	l->keys = l->o.keys_dir ? l->o.keys_dir : l->keydir;
	if (!zmq_has("curve")) {
		fs_error("a tcp bus needs CURVE, which this libzmq lacks (install libzmq with libsodium)");
		return -1;
	}
	if (l->o.keys_dir) {
		if (run_keys(l->o.keys_dir) < 0) {
			return -1;
		}
	} else {
		snprintf(l->keydir, sizeof(l->keydir), "/tmp/fleetsim-keys-XXXXXX");
		if (!mkdtemp(l->keydir) || fs_bus_keygen(l->keydir, "run", NULL) < 0) {
			fs_error("cannot make the run's CURVE keys in /tmp");
			l->keydir[0] = '\0';
			return -1;
		}
	}
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/run.secret", l->keys);
	setenv("FLEETSIM_CURVE_SECRET", path, 1);
	snprintf(path, sizeof(path), "%s/broker.pub", l->keys);
	setenv("FLEETSIM_CURVE_SERVER", path, 1);
	return 0;
}

/* The recorder's ready file goes in a directory of our own: a name in /tmp itself could be planted (as a link). */
static int make_ready_dir(struct launch *l)
{
	snprintf(l->ready_dir, sizeof(l->ready_dir), "/tmp/fleetsim-recorder-XXXXXX");
	if (!mkdtemp(l->ready_dir)) {
		fs_error("cannot make a private directory in /tmp for the recorder: %s", strerror(errno));
		l->ready_dir[0] = '\0';
		return -1;
	}
	snprintf(l->ready, sizeof(l->ready), "%s/ready", l->ready_dir);
	return 0;
}

/* The recorder says when it is subscribed to the tap: until then the run must not start. */
static bool wait_recorder(struct launch *l, struct child *c)
{
	int64_t deadline = fs_clock_now_ms() + 10000;
	while (c && access(l->ready, F_OK) != 0) {
		if (fs_clock_now_ms() >= deadline || supervisor_wait(l->sup, c, 10)) {
			char why[128] = "did not get ready in 10 s";
			if (!c->running) {
				supervisor_describe(c->status, why, sizeof(why));
			}
			fs_error("the recorder for %s %s", l->o.record, why);
			c = NULL;
		}
	}
	unlink(l->ready);
	rmdir(l->ready_dir);
	l->ready_dir[0] = '\0';
	return c != NULL;
}

/* Start the plan's children in order, each once the one before it is ready where that matters. 0 or -1. */
static int spawn(struct launch *l, const struct run_plan *plan)
{
	for (int i = 0; i < plan->count; i++) {
		const struct plan_child *pc = &plan->children[i];
		struct child *c = supervisor_spawn(l->sup, pc->name, pc->kind, pc->argv.items);
		if (pc->kind == CHILD_BROKER && (!c || !wait_for_broker(l->sup, c, l->o.address, l->keys))) {
			char why[128];
			fs_error("the broker did not start on %s%s%s", l->o.address, c && !c->running ? ": it " : "",
				 c && !c->running ? supervisor_describe(c->status, why, sizeof(why)) : "");
			return -1;
		}
		if (pc->kind == CHILD_RECORDER && !wait_recorder(l, c)) {
			return -1;
		}
		if (!c) {
			return -1;
		}
		l->recorder = pc->kind == CHILD_RECORDER ? c : l->recorder;
		l->conductor = pc->kind == CHILD_CONDUCTOR ? c : l->conductor;
		l->viewer = pc->kind == CHILD_OBSERVER ? c : l->viewer;
	}
	return 0;
}

/* Progress comes from the conductor's status messages, as an observer. */
static void watch_run(struct launch *l)
{
	char wname[48];
	snprintf(wname, sizeof(wname), "launcher-%d", (int)getpid());
	struct fs_bus_options wopts = { .address = l->o.address, .name = wname, .mode = FS_BUS_OBSERVER,
					.observer_hwm = 100 };
	l->watch = fs_bus_connect(&wopts);
	if (l->watch) {
		fs_bus_subscribe(l->watch, "ctl.status");
		fs_bus_subscribe(l->watch, "ctl.end");
	}
	if (!l->o.quiet) {
		fs_info("run on %s: %" PRIu64 " vehicle shard(s), network %s, seed %" PRIu64, l->o.address, l->o.shards,
			l->network, l->o.seed);
	}
	if (l->tcp) {
		fs_info("tcp bus with CURVE: operators need FLEETSIM_CURVE_SERVER=%s/broker.pub and a secret key "
			"whose public key was given with --allow", l->keys);
	}
}

/* Stop signals go to the conductor; one that does not end the run in time is aborted. -1: aborted. */
static int handle_stops(struct launch *l)
{
	for (int stops = supervisor_take_stops(l->sup); stops > 0 && l->conductor->running; stops--) {
		ask_to_stop(l->conductor, &l->o, &l->stop_started_ms, l->tty);
		l->interrupted = true;
	}
	if (l->stop_started_ms && l->conductor->running &&
	    fs_clock_now_ms() - l->stop_started_ms > ((int64_t)l->o.stop_wait_s * 1000 + STOP_BACKSTOP_MS)) {
		fs_error("%sthe conductor did not end the run %" PRIu64 " s after the stop; aborting it",
			 l->tty ? "\n" : "", l->o.stop_wait_s + STOP_BACKSTOP_MS / 1000);
		abort_run(l->sup, l->conductor);
		return -1;
	}
	return 0;
}

/* Children that ended: expected, or a reason to stop the run (-1: aborted). */
static int handle_ended(struct launch *l)
{
	struct child *ended[SUPERVISOR_MAX_CHILDREN];
	int n = supervisor_reap(l->sup, ended, SUPERVISOR_MAX_CHILDREN);
	for (int i = 0; i < n; i++) {
		struct child *c = ended[i];
		bool clean = WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
		char why[128];
		if (c->kind == CHILD_CONDUCTOR && (clean || conductor_not_answered(c))) {
			continue; /* the run is over, summary written; the participants follow */
		}
		if (c->kind == CHILD_PARTICIPANT && clean) {
			if (!l->participant_exit_ms) {
				l->participant_exit_ms = fs_clock_now_ms();
			}
			continue;
		}
		if (c->kind == CHILD_RECORDER && clean && !l->conductor->running) {
			continue; /* it finished the file after End */
		}
		if (c->kind == CHILD_OBSERVER) {
			fs_warn("%s (pid %d) %s; the run goes on", c->name, (int)c->pid,
				supervisor_describe(c->status, why, sizeof(why)));
			continue;
		}
		fs_error("%s%s (pid %d) %s; stopping the run", l->tty ? "\n" : "", c->name, (int)c->pid,
			 supervisor_describe(c->status, why, sizeof(why)));
		abort_run(l->sup, l->conductor);
		if (c == l->conductor && l->o.out_dir && WIFSIGNALED(c->status)) {
			/* killed: it wrote nothing (one that exited wrote its own, e.g. participants not ready) */
			write_orphan_summary(&l->o, c, l->last_tick);
		}
		return -1;
	}
	return 0;
}

/* The conductor ended the run: let the others finish, say how it went. The exit status. */
static int finish_run(struct launch *l)
{
	struct supervisor *sup = l->sup;
	/* Normal end: participants exit right after their Bye; the conductor waited for those. */
	wait_participants(sup, PARTICIPANT_EXIT_MS);
	if (supervisor_running(sup, CHILD_PARTICIPANT)) {
		fs_error("participants still running %d s after the run ended: stopping them", PARTICIPANT_EXIT_MS / 1000);
	}
	if (l->recorder && l->recorder->running && !supervisor_wait(sup, l->recorder, 25000)) {
		fs_error("the recorder did not finish %s within 25 s", l->o.record);
	}
	wait_for_viewer(sup, l->viewer, l->interrupted || l->stop_started_ms);
	supervisor_stop_all(sup, 1000);
	if (l->o.out_dir) {
		add_process_usage(&l->o, sup);
	}
	bool failed = false;
	for (int i = 0; i < sup->count; i++) {
		const struct child *c = &sup->children[i];
		if ((c->kind == CHILD_PARTICIPANT || c->kind == CHILD_CONDUCTOR || c->kind == CHILD_RECORDER) &&
		    (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)) {
			char why[128];
			if (c == l->conductor && conductor_not_answered(c)) {
				fs_error("the run ended without an answer from some participants "
					 "(summary.json \"not_answered\")");
			} else {
				fs_error("%s (pid %d) %s at the end of the run", c->name, (int)c->pid,
					 supervisor_describe(c->status, why, sizeof(why)));
			}
			failed = true;
		}
	}
	if (!l->o.quiet) {
		show_final_progress(sup, &l->pg, l->o.tick_ms, l->tty, l->interrupted || l->stop_started_ms);
	}
	if (!failed && l->o.out_dir && !l->o.quiet) {
		fs_info("results in %s/summary.json", l->o.out_dir);
	}
	return failed ? 1 : l->interrupted ? 130 : 0;
}

/* The conductor's status messages: whether the run is ending, and the progress line. */
static void read_status(struct launch *l)
{
	struct fs_bus_message *msg = NULL, *keep = NULL;
	while (fs_bus_recv(l->watch, &msg, 0) == 0) {
		enum fs_control_kind kind = fs_control_msg_kind(msg->env);
		const char *refused = kind == FS_CONTROL_END || kind == FS_CONTROL_STATUS
					      ? fs_control_msg_decode(msg->env, &l->in)
					      : NULL;
		if (refused) {
			fs_bus_reject(l->watch, msg, refused);
		} else if (kind == FS_CONTROL_END) {
			l->run_ending = true;
			l->pg.tick = l->in.end.ticks; /* for the final line */
			l->pg.sim_time_ms = msg->env->sim_time_ms;
		} else if (kind == FS_CONTROL_STATUS) {
			l->run_ending |= l->in.status.state >= FS_RUN_ENDING;
			l->last_tick = l->in.status.tick;
			fs_bus_message_free(keep);
			keep = msg;
			continue;
		}
		fs_bus_message_free(msg);
	}
	int64_t now = fs_clock_now_ms();
	/* the latest Status, decoded again: an End may have come after it */
	if (keep && !fs_control_msg_decode(keep->env, &l->in) && !l->o.quiet &&
	    (l->tty || now - l->last_progress_ms >= 10000)) {
		show_progress(l->sup, &l->pg, &l->in.status, l->tty);
		l->last_progress_ms = now;
	}
	fs_bus_message_free(keep);
}

/* Watch the run until it ends, whatever ends it: the exit status. */
static int supervise(struct launch *l)
{
	for (;;) {
		zmq_pollitem_t items[3] = {
			{ .fd = l->sup->signal_fd, .events = ZMQ_POLLIN },
			{ .fd = l->sup->log_fd, .events = ZMQ_POLLIN },
			{ .socket = l->watch ? fs_bus_socket(l->watch) : NULL, .events = ZMQ_POLLIN },
		};
		zmq_poll(items, l->watch ? 3 : 2, 200);
		supervisor_relay_logs(l->sup, false);
		if (handle_stops(l) < 0 || handle_ended(l) < 0) {
			return 1;
		}
		if (!l->conductor->running) {
			return finish_run(l);
		}
		if (l->participant_exit_ms && !l->run_ending && fs_clock_now_ms() - l->participant_exit_ms > 5000) {
			fs_error("%sa participant exited but the run did not end; stopping the run", l->tty ? "\n" : "");
			abort_run(l->sup, l->conductor);
			return 1;
		}
		if (l->watch && (items[2].revents & ZMQ_POLLIN || fs_bus_has_pending(l->watch))) {
			read_status(l);
		}
	}
}

/* Everything of the run goes: its processes, sockets, lock and keys. */
static void launch_finish(struct launch *l)
{
	fs_bus_close(l->watch);
	fs_control_in_finish(&l->in);
	supervisor_stop_all(l->sup, 1000);
	supervisor_finish(l->sup);
	free(l->sup);
	if (l->lock_fd >= 0) {
		/* everything of the run is gone: its sockets (a killed conductor's ctl too), the lock */
		fs_bus_dir_remove(l->o.address, l->dir_fd);
		close(l->lock_fd);
		close(l->dir_fd);
	}
	if (l->keydir[0]) {
		static const char *const files[] = { "run.pub", "run.secret", "broker.pub", "broker.secret" };
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", l->keydir, files[i]);
			unlink(path);
		}
		rmdir(l->keydir);
	}
	if (l->ready_dir[0]) {
		rmdir(l->ready_dir);
	}
}

/* Plan the run, start it, supervise it: the exit status. */
static int launch(const struct run_options *opts)
{
	struct launch l = { .o = *opts, .lock_fd = -1, .dir_fd = -1 };
	if (!l.o.address_given) {
		fs_bus_default_address(l.o.address, sizeof(l.o.address));
	}
	int status = check_inputs(&l);
	if (status) {
		return status;
	}
	l.lock_fd = lock_bus(l.o.address, &l.dir_fd);
	if (l.lock_fd == -2) {
		return 1;
	}
	l.sup = fs_xcalloc(1, sizeof(*l.sup));
	if (supervisor_init(l.sup) < 0) {
		fs_error("cannot set up signal handling: %s", strerror(errno));
		free(l.sup);
		return 1;
	}
	l.tty = isatty(STDERR_FILENO) && !l.o.quiet;
	if (l.tty && supervisor_capture_logs(l.sup) < 0) {
		l.tty = false; /* no pipe: progress as whole lines, as into a file */
	}
	l.tcp = !strncmp(l.o.address, "tcp://", 6);
	struct run_plan plan = { 0 };
	status = 1;
	if ((!l.tcp || make_keys(&l) == 0) && (!l.o.record || make_ready_dir(&l) == 0) &&
	    run_plan_build(&plan, &l.o, &l.progs, l.network, l.tcp ? l.keys : NULL, l.ready) == 0 &&
	    spawn(&l, &plan) == 0) {
		run_plan_finish(&plan);
		watch_run(&l);
		status = supervise(&l);
	}
	run_plan_finish(&plan);
	launch_finish(&l);
	return status;
}
