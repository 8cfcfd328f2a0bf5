/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-rollout - `fleetsim rollout`: how does service evolve as the fleet grows?
 *
 * 1. The production model (fs/production.h) advances the calendar from
 *    --from to --to in whole days (the whole 2027-2030 plan takes ~20 ms).
 * 2. At each sample date (--cadence: one day a month by default) it records
 *    the fleet per city and per OEM, the vehicles in each stage, deliveries
 *    and retirements, and the in-service fleet of the city simulated in
 *    detail at the start of the window.
 * 3. For every sample with vehicles in that city it launches a real run,
 *    `fleetsim run --vehicles N --start DATE --duration WINDOW --phase P`,
 *    up to --jobs at once, each on its own bus, and reads the KPIs its
 *    summary.json reports. Missing KPIs (no dispatch in the build) stay empty.
 * 4. It writes DIR/rollout.csv, DIR/rollout.png and DIR/runs/DATE/ (each run).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "fs/calendar.h"
#include "fs/production.h"
#include "fs/scenario.h"
#include "fs/scenario_load.h"
#include "fs_args.h"
#include "fs_clock.h"
#include "fs_log.h"
#include "fs_paths.h"
#include "fs_service.h"
#include "rollout.h"

extern char **environ;

#define MAX_OEMS FS_PROD_PROGRAMMES_MAX

struct options {
	int64_t from_ms, to_ms;     /* first and last month (to: end of that month) */
	const char *cadence;
	int step_months, step_days; /* one of them */
	const char *out_dir;
	uint64_t seed;
	const char *city;
	uint64_t window_ms;
	int window_start_s;         /* time of day the window starts (UTC) */
	uint64_t jobs;
	bool detail;
	const char *fleetsim;
	const char *scenario;
	uint64_t tick_ms;
	bool quiet;
	bool resume;                /* keep the completed runs already in DIR/runs */
};

/* Ctrl-C or SIGTERM: no new runs; those running stop (and say so), then the CSV and chart are written. */
static volatile sig_atomic_t interrupted;

/* The fleet's software at a sample: the data flywheel's releases over the air. */
struct sw_mix {
	uint32_t latest;              /* the newest release out (or the factory's) */
	double latest_share;          /* of the fleet on it */
	double miles_per_disengagement; /* the fleet's: miles over disengagements, releases by share */
	double motorway_share;        /* of the fleet on a release whose ODD has motorways */
};

/* One row of the time series. */
struct sample {
	int32_t day;                /* the sample day */
	int64_t start_ms;           /* the window's start */
	struct fs_production_stats stats;
	double target;
	uint64_t deliveries, retirements; /* since the previous row */
	uint32_t vehicles;          /* detailed city, in service at the window's start */
	int phase;
	/* from the run */
	bool ran, run_ok;
	bool resumed;               /* its run was already in DIR/runs (--resume) */
	double wall_s;
	double trips, wait_p50_s, wait_p95_s, served_share, utilisation, km;
	double requests, open_at_end; /* dispatch's requests, and those still open when the window ends */
	double run_latest_share, run_no_motorway_share, run_disengagements; /* the plan's latest release in the run */
	struct sw_mix sw;             /* the fleet's software (data flywheel) at the sample */
	char digest[32];
	pid_t pid;
	int64_t started_us;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fleetsim rollout [--from YYYY-MM] [--to YYYY-MM] [options]\n"
		"\n"
		"Advance the production and rollout plan from --from to --to; at each sample\n"
		"date run a real simulation of the detailed city with the fleet in place then;\n"
		"write DIR/rollout.csv and DIR/rollout.png. Ctrl-C stops the runs in flight and\n"
		"writes both with the samples done so far; --resume then continues.\n"
		"\n"
		"Options:\n"
		"  --from YYYY-MM[-DD]   first month (default 2027-01)\n"
		"  --to YYYY-MM[-DD]     last month, included (default 2030-12)\n"
		"  --cadence C           monthly (default), quarterly, weekly, daily or Nd (every N days)\n"
		"  --out DIR             output directory (default rollout-out)\n"
		"  --seed N              run seed (default 1)\n"
		"  --city NAME           city simulated in detail (default atlanta)\n"
		"  --scenario FILE       programmes, stages, cities and production events from a\n"
		"                        scenario file (default: the built-in plan); the sampled runs\n"
		"                        use its settings too (not its timed events)\n"
		"  --window D            simulated length of each sampled run (default 2h; 1d = the\n"
		"                        whole day, which also fills trips_per_day)\n"
		"  --window-start HH:MM  time of day (UTC) the window starts (default 12:00)\n"
		"  --jobs N              runs at once (default: the number of cores)\n"
		"  --no-detail           production time series only, no runs\n"
		"  --tick-ms N           tick of the sampled runs (default 1000, a scenario's too)\n"
		"  --fleetsim PATH       the fleetsim launcher (default: the one installed with this\n"
		"                        program, or the build tree's)\n"
		"  --resume              keep the sampled runs that completed in an earlier rollout\n"
		"                        into the same --out (one stopped with Ctrl-C) and run the rest\n"
		"  --quiet               no progress lines\n"
		"  --version             print the version\n"
		"  -h, --help            this text\n");
}

static int parse_month(const char *text, int64_t *ret)
{
	return fs_calendar_parse(text, ret);
}

static int take_window(void *target, const char *arg)
{
	uint64_t *ms = target;
	if (!fs_args_duration_ms(arg, ms) || *ms == 0 || *ms > 7 * 86400000ULL) {
		fs_error("--window: '%s' is not a duration such as 2h or 1d (at most 7d)", arg);
		return 2;
	}
	return 0;
}

static int take_window_start(void *target, const char *arg)
{
	int hh, mm;
	char junk;
	if (sscanf(arg, "%d:%d%c", &hh, &mm, &junk) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59) {
		fs_error("--window-start: '%s' is not HH:MM", arg);
		return 2;
	}
	*(int *)target = hh * 3600 + mm * 60;
	return 0;
}

/* 0, 1 after --help, or -EINVAL (said why). */
static int parse_args(int argc, char **argv, struct options *o)
{
	const char *from = "2027-01", *to = "2030-12";
	bool no_detail = false;
	const struct fs_opt opts[] = {
		{ "from", FS_OPT_STRING, &from },
		{ "to", FS_OPT_STRING, &to },
		{ "cadence", FS_OPT_STRING, &o->cadence },
		{ "out", FS_OPT_STRING, &o->out_dir },
		{ "seed", FS_OPT_U64, &o->seed, .what = "a non-negative integer" },
		{ "city", FS_OPT_STRING, &o->city },
		{ "window", FS_OPT_CALL, &o->window_ms, .call = take_window },
		{ "window-start", FS_OPT_CALL, &o->window_start_s, .call = take_window_start },
		{ "jobs", FS_OPT_U64, &o->jobs, .min = 1, .max = 64, .what = "1..64" },
		{ "no-detail", FS_OPT_SET, &no_detail },
		{ "fleetsim", FS_OPT_STRING, &o->fleetsim },
		{ "tick-ms", FS_OPT_U64, &o->tick_ms, .min = 1, .max = 3600000, .what = "1..3600000" },
		{ "quiet", FS_OPT_SET, &o->quiet },
		{ "scenario", FS_OPT_STRING, &o->scenario },
		{ "resume", FS_OPT_SET, &o->resume },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "fleetsim rollout", .usage = usage, .opts = opts,
					      .unexpected_suffix = " (try --help)" };
	int rc = fs_service_parse(&spec, argc, argv, NULL);
	if (rc != FS_SERVICE_GO_ON) {
		return rc == 0 ? 1 : -EINVAL;
	}
	o->detail = !no_detail;
	char junk;
	if (parse_month(from, &o->from_ms) < 0) {
		fs_error("--from: '%s' is not a date such as 2027-01", from);
		return -EINVAL;
	}
	if (parse_month(to, &o->to_ms) < 0) {
		fs_error("--to: '%s' is not a date such as 2030-12", to);
		return -EINVAL;
	}
	if (strlen(to) == 7) { /* a month: through its last day */
		struct fs_civil_time t;
		fs_calendar_from_ms(o->to_ms, &t);
		int y = t.month == 12 ? t.year + 1 : t.year, m = t.month == 12 ? 1 : t.month + 1;
		o->to_ms = fs_calendar_days_from_civil(y, m, 1) * 86400000LL - 1;
	}
	if (o->to_ms < o->from_ms) {
		fs_error("--to is before --from");
		return -EINVAL;
	}
	const char *c = o->cadence;
	uint64_t n;
	size_t len = strlen(c);
	if (!strcmp(c, "monthly")) {
		o->step_months = 1;
	} else if (!strcmp(c, "quarterly")) {
		o->step_months = 3;
	} else if (!strcmp(c, "weekly")) {
		o->step_days = 7;
	} else if (!strcmp(c, "daily")) {
		o->step_days = 1;
	} else if (len > 1 && c[len - 1] == 'd' && sscanf(c, "%" SCNu64 "d%c", &n, &junk) == 1 && n > 0 &&
		   n < 3650) {
		o->step_days = (int)n;
	} else {
		fs_error("--cadence: '%s' is not monthly, quarterly, weekly, daily or Nd", c);
		return -EINVAL;
	}
	return 0;
}

/* Sample days from --from to --to at the cadence. */
static size_t sample_days(const struct options *o, int32_t **ret)
{
	int32_t first = fs_production_day_from_ms(o->from_ms), last = fs_production_day_from_ms(o->to_ms);
	size_t cap = 64, n = 0;
	int32_t *days = fs_xcalloc(cap, sizeof(*days));
	struct fs_civil_time t;
	fs_calendar_from_ms(o->from_ms, &t);
	for (int k = 0;; k++) {
		int32_t d;
		if (o->step_months) {
			int months = t.month - 1 + k * o->step_months;
			d = (int32_t)fs_calendar_days_from_civil(t.year + months / 12, months % 12 + 1, t.day);
		} else {
			d = first + k * o->step_days;
		}
		if (d > last) {
			break;
		}
		fs_xgrow(days, cap, n + 1);
		days[n++] = d;
	}
	*ret = days;
	return n;
}

static const char *phase_arg(int phase)
{
	return fs_production_phase_name(phase); /* the launcher's --phase values */
}

/* ---- runs ------------------------------------------------------------------ */

static int spawn_run(const struct options *o, struct sample *s, size_t index, const char *fleetsim)
{
	char start[32], dir[PATH_MAX], log_path[PATH_MAX + 16], bus[128], vehicles[32], window[32], seed[32],
		tick[32];
	fs_calendar_format(s->start_ms, start, sizeof(start));
	snprintf(dir, sizeof(dir), "%s/runs/%.10s", o->out_dir, start);
	mkdir(dir, 0755);
	snprintf(log_path, sizeof(log_path), "%s/run.log", dir);
	snprintf(bus, sizeof(bus), "ipc:///tmp/fs-rollout-%d-%zu", (int)getpid(), index);
	snprintf(vehicles, sizeof(vehicles), "%" PRIu32, s->vehicles);
	snprintf(window, sizeof(window), "%" PRIu64 "ms", o->window_ms);
	snprintf(seed, sizeof(seed), "%" PRIu64, o->seed);
	snprintf(tick, sizeof(tick), "%" PRIu64, o->tick_ms);
	char *argv[32];
	int a = 0;
	argv[a++] = (char *)fleetsim;
	argv[a++] = "run";
	argv[a++] = "--vehicles";
	argv[a++] = vehicles;
	argv[a++] = "--start";
	argv[a++] = start;
	argv[a++] = "--duration";
	argv[a++] = window;
	argv[a++] = "--seed";
	argv[a++] = seed;
	argv[a++] = "--phase";
	argv[a++] = (char *)phase_arg(s->phase);
	argv[a++] = "--out";
	argv[a++] = dir;
	argv[a++] = "--bus";
	argv[a++] = bus;
	argv[a++] = "--quiet";
	argv[a++] = "--tick-ms"; /* the window's, not a multi-year scenario's coarse tick */
	argv[a++] = tick;
	if (o->scenario) {
		/* The file's plan, vehicles, city and demand hold in every window; its timed
		 * events belong to its own timeline (the production ones shaped the plan). */
		argv[a++] = "--scenario";
		argv[a++] = (char *)o->scenario;
		argv[a++] = "--no-scenario-events";
	}
	argv[a] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	s->started_us = fs_clock_now_us();
	int rc = posix_spawn(&s->pid, fleetsim, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		fs_error("cannot start %s: %s", fleetsim, strerror(rc));
		return -rc;
	}
	s->ran = true;
	return 0;
}

/* A result's value from any participant (the first that has it), else NaN. */
static double result_any(json_t *results, const char *key)
{
	const char *name;
	json_t *r;
	json_object_foreach(results, name, r) {
		json_t *v = json_object_get(r, key);
		if (json_is_number(v)) {
			return json_number_value(v);
		}
	}
	return NAN;
}

static double result_sum(json_t *results, const char *prefix, const char *key)
{
	const char *name;
	json_t *r;
	double sum = 0;
	bool any = false;
	json_object_foreach(results, name, r) {
		json_t *v = json_object_get(r, key);
		if (!strncmp(name, prefix, strlen(prefix)) && json_is_number(v)) {
			sum += json_number_value(v);
			any = true;
		}
	}
	return any ? sum : NAN;
}

static double first_of(json_t *results, json_t *kpis, const char *const *keys)
{
	for (; *keys; keys++) {
		json_t *v = kpis ? json_object_get(kpis, *keys) : NULL;
		if (json_is_number(v)) {
			return json_number_value(v);
		}
		double x = result_any(results, *keys);
		if (!isnan(x)) {
			return x;
		}
	}
	return NAN;
}

/* Read the KPIs of a finished run; what is not reported stays NaN. */
static void read_summary(const struct options *o, struct sample *s)
{
	char start[32], path[PATH_MAX];
	fs_calendar_format(s->start_ms, start, sizeof(start));
	snprintf(path, sizeof(path), "%s/runs/%.10s/summary.json", o->out_dir, start);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root) {
		fs_warn("%s: %s", path, jerr.text);
		s->run_ok = false;
		return;
	}
	json_t *results = json_object_get(root, "results"), *kpis = json_object_get(root, "kpis");
	json_t *participants = json_object_get(root, "participants");
	bool dispatch = false;
	const char *name;
	json_t *pv;
	json_object_foreach(participants, name, pv) {
		const char *role = json_string_value(json_object_get(pv, "role"));
		dispatch |= role && !strcmp(role, "dispatch");
	}
	static const char *const k_trips[] = { "trips_completed", "served", "trips", NULL };
	static const char *const k_p50[] = { "wait_p50_s", "wait.p50_s", NULL };
	static const char *const k_p95[] = { "wait_p95_s", "wait.p95_s", NULL };
	static const char *const k_served[] = { "served_share", NULL };
	static const char *const k_util[] = { "utilisation", "utilization", NULL };
	static const char *const k_req[] = { "requests", NULL };
	static const char *const k_open[] = { "open", NULL };
	s->km = result_sum(results, "vehicle", "km_driven");
	s->trips = first_of(results, kpis, k_trips);
	if (isnan(s->trips) && dispatch) {
		s->trips = result_sum(results, "vehicle", "jobs_completed");
	}
	s->wait_p50_s = first_of(results, kpis, k_p50);
	s->wait_p95_s = first_of(results, kpis, k_p95);
	s->served_share = first_of(results, kpis, k_served);
	s->requests = first_of(results, kpis, k_req);
	s->open_at_end = first_of(results, kpis, k_open);
	/* A request still open when the window closes is neither served nor lost:
	 * the share is of the requests whose outcome the window saw. */
	double closed = s->requests - (isnan(s->open_at_end) ? 0.0 : s->open_at_end);
	if (isnan(s->served_share) && !isnan(closed) && closed > 0 && !isnan(s->trips)) {
		s->served_share = s->trips / closed;
	}
	s->utilisation = first_of(results, kpis, k_util);
	/* the flywheel's latest release in the run's fleet, and what it changes there */
	char on_latest[40];
	snprintf(on_latest, sizeof(on_latest), "vehicles_sw_%u", s->sw.latest);
	double vehicles = result_sum(results, "vehicle", "vehicles");
	if (vehicles > 0) {
		s->run_latest_share = result_sum(results, "vehicle", on_latest) / vehicles;
		s->run_no_motorway_share = result_sum(results, "vehicle", "vehicles_no_motorway") / vehicles;
	}
	s->run_disengagements = result_sum(results, "vehicle", "disengagements");
	const char *digest = json_string_value(json_object_get(root, "run_digest"));
	snprintf(s->digest, sizeof(s->digest), "%s", digest ? digest : "");
	s->run_ok = json_is_true(json_object_get(root, "completed"));
	json_decref(root);
}

/* The plan (and vehicle model) of --scenario FILE, or the defaults. */
static int load_plan(const struct options *o, struct fs_production_params *ret_params,
		     struct fs_vehicle_params *ret_vehicle, struct fs_error *err)
{
	struct fs_scenario sc;
	int rc = o->scenario ? fs_scenario_load(o->scenario, &sc, err) : fs_scenario_defaults(&sc);
	if (rc < 0) {
		if (!o->scenario) {
			fs_error_set(err, rc, "out of memory for the default scenario");
		}
		return rc;
	}
	rc = fs_production_params_from_scenario(&sc, ret_params, err);
	*ret_vehicle = sc.vehicle;
	fs_scenario_finish(&sc);
	return rc;
}

/*
 * --resume: the sample's run is done if DIR/runs/DATE/summary.json is a
 * completed run of this sample (same seed, start, tick and window): an earlier
 * rollout into the same --out wrote it before it was stopped.
 */
static bool resume_sample(const struct options *o, struct sample *s)
{
	char start[32], path[PATH_MAX];
	fs_calendar_format(s->start_ms, start, sizeof(start));
	snprintf(path, sizeof(path), "%s/runs/%.10s/summary.json", o->out_dir, start);
	json_t *root = json_load_file(path, 0, NULL);
	if (!root) {
		return false;
	}
	const char *was = json_string_value(json_object_get(root, "start"));
	bool same = json_is_true(json_object_get(root, "completed")) && was && !strcmp(was, start) &&
		    json_integer_value(json_object_get(root, "seed")) == (json_int_t)o->seed &&
		    json_integer_value(json_object_get(root, "tick_ms")) == (json_int_t)o->tick_ms &&
		    json_integer_value(json_object_get(root, "ticks")) == (json_int_t)((o->window_ms + o->tick_ms - 1) / o->tick_ms);
	json_decref(root);
	if (!same) {
		return false;
	}
	s->ran = s->resumed = true;
	read_summary(o, s);
	return s->run_ok;
}

/* "[3/24] 2028-03-01T12:00:00Z: 120 vehicles (driverless), 3.2 s wall; ETA 1:05" */
static void report_run(const struct options *o, const struct sample *s, size_t done, size_t total, int64_t t0_us)
{
	char start[32], eta[48] = "";
	fs_calendar_format(s->start_ms, start, sizeof(start));
	if (done < total && done > 0) {
		/* the runs' own pace so far, --jobs at once: remaining x elapsed / done */
		long left = lround((double)(fs_clock_now_us() - t0_us) / 1e6 / (double)done * (double)(total - done));
		snprintf(eta, sizeof(eta), "; ETA %ld:%02ld", left / 60, left % 60);
	}
	fs_info("[%zu/%zu] %s: %u vehicles (%s), %.1f s wall%s%s", done, total, start, s->vehicles, phase_arg(s->phase),
		s->wall_s, s->run_ok ? "" : " (failed)", eta);
}

/* Stop the runs in flight: each writes what it has (fleetsim run ends cleanly on SIGTERM). */
static void stop_runs(struct sample *const *by_pid)
{
	for (size_t j = 0; j < 64; j++) {
		if (by_pid[j]) {
			kill(by_pid[j]->pid, SIGTERM);
		}
	}
}

/* A run ended: its results, or why not. Returns true if it failed (not stopped by us). */
static bool finish_run(const struct options *o, struct sample *s, int status)
{
	s->wall_s = (double)(fs_clock_now_us() - s->started_us) / 1e6;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		read_summary(o, s);
		return false;
	}
	s->run_ok = false;
	if (interrupted) {
		s->ran = false; /* stopped by us: not done, --resume runs it again */
		return false;
	}
	char start[32];
	fs_calendar_format(s->start_ms, start, sizeof(start));
	fs_error("the run of %s failed (see %s/runs/%.10s/run.log)", start, o->out_dir, start);
	return true;
}

static int run_all(const struct options *o, struct sample *samples, size_t n, const char *fleetsim)
{
	size_t next = 0, running = 0, failed = 0, total = 0, done = 0, resumed = 0;
	struct sample *by_pid[64] = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (samples[i].vehicles && !(o->resume && resume_sample(o, &samples[i]))) {
			total++;
		}
		resumed += samples[i].resumed && samples[i].run_ok;
	}
	if (resumed && !o->quiet) {
		fs_info("--resume: %zu sampled run(s) already done in %s/runs; %zu to run", resumed, o->out_dir, total);
	}
	int64_t t0_us = fs_clock_now_us();
	bool stopping = false;
	for (;;) {
		while (!interrupted && running < o->jobs && next < n) {
			struct sample *s = &samples[next];
			size_t k = next++;
			if (!s->vehicles || (s->resumed && s->run_ok)) {
				continue;
			}
			if (spawn_run(o, s, k, fleetsim) < 0) {
				failed++; /* reported; the other samples still run */
				continue;
			}
			for (size_t j = 0; j < 64; j++) {
				if (!by_pid[j]) {
					by_pid[j] = s;
					break;
				}
			}
			running++;
		}
		if (interrupted && !stopping) {
			stopping = true;
			fs_info("stopping: %zu run(s) in flight end now; rollout.csv and rollout.png get the %zu done", running,
				done + resumed);
			stop_runs(by_pid);
		}
		if (!running) {
			break;
		}
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR) {
				continue;
			}
			fs_error("waitpid: %s", strerror(errno));
			return -1;
		}
		for (size_t j = 0; j < 64; j++) {
			struct sample *s = by_pid[j];
			if (!s || s->pid != pid) {
				continue;
			}
			by_pid[j] = NULL;
			running--;
			failed += finish_run(o, s, status);
			if (s->ran) {
				done++;
				if (!o->quiet) {
					report_run(o, s, done, total, t0_us);
				}
			}
		}
	}
	return failed ? -1 : 0;
}

/* ---- output --------------------------------------------------------------- */

static void slug(const char *in, char *out, size_t size)
{
	size_t k = 0;
	for (; *in && k + 1 < size; in++) {
		char c = *in;
		out[k++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (c == ' ' || c == '/') ? '-' : c;
	}
	out[k] = '\0';
}

/* OEMs in programme order, and each programme's OEM index. */
static size_t oems(const struct fs_production_params *p, const char **names, int *of_programme)
{
	size_t n = 0;
	for (uint32_t g = 0; g < p->programme_count; g++) {
		size_t k = 0;
		while (k < n && strcmp(names[k], p->programmes[g].oem)) {
			k++;
		}
		if (k == n) {
			names[n++] = p->programmes[g].oem;
		}
		of_programme[g] = (int)k;
	}
	return n;
}

static const struct fs_sw_version *release_of(const struct fs_vehicle_params *v, uint32_t version)
{
	for (uint32_t k = 0; k < v->sw_count; k++) {
		if (v->sw[k].version == version) {
			return &v->sw[k];
		}
	}
	return NULL;
}

/*
 * The fleet's releases from the flywheel's shares: the releases' staged
 * rollouts are nested (fs_production_vehicle_release()), so the share on
 * release k exactly is share(>= k) - share(>= k+1); the rest of the fleet
 * runs the programmes' factory release (the oldest of them).
 */
static void software_mix(const struct fs_production_stats *st, const struct fs_production_params *p,
			 const struct fs_vehicle_params *v, struct sw_mix *ret)
{
	uint32_t factory = UINT32_MAX;
	for (uint32_t g = 0; g < p->programme_count; g++) {
		factory = p->programmes[g].sw_version < factory ? p->programmes[g].sw_version : factory;
	}
	const struct fs_prod_flywheel_stats *fw = &st->flywheel;
	double rest = 1.0, per_mile = 0.0, motorway = 0.0;
	*ret = (struct sw_mix){ .latest = factory, .latest_share = 1.0 };
	for (uint32_t k = fw->release_count; k-- > 0;) {
		double on = fw->releases[k].share - (k + 1 < fw->release_count ? fw->releases[k + 1].share : 0.0);
		const struct fs_sw_version *r = release_of(v, fw->releases[k].version);
		if (fw->releases[k].share > 0 && ret->latest == factory) {
			ret->latest = fw->releases[k].version;
			ret->latest_share = fw->releases[k].share;
		}
		if (r && on > 0) {
			per_mile += on / r->miles_per_disengagement;
			motorway += (r->odd_flags & FS_ODD_NO_MOTORWAY) ? 0.0 : on;
			rest -= on;
		}
	}
	const struct fs_sw_version *base = release_of(v, factory);
	if (base && rest > 0) {
		per_mile += rest / base->miles_per_disengagement;
		motorway += (base->odd_flags & FS_ODD_NO_MOTORWAY) ? 0.0 : rest;
	}
	ret->miles_per_disengagement = per_mile > 0 ? 1.0 / per_mile : NAN;
	ret->motorway_share = motorway;
}

/* ",1.2" for 120 and ",1.15" for 115 (fs_scenario_parse_version()'s numbering). */
static void put_version(FILE *f, uint32_t version)
{
	uint32_t minor = version % 100;
	fprintf(f, minor % 10 ? ",%u.%02u" : ",%u.%u", version / 100, minor % 10 ? minor : minor / 10);
}

/* ",value" with @decimals digits, or "," alone for a missing (NaN) value. */
static void put_num(FILE *f, double v, int decimals)
{
	fputc(',', f);
	if (!isnan(v)) {
		fprintf(f, "%.*f", decimals, v);
	}
}

static int write_csv(const struct options *o, const struct fs_production_params *p, const struct sample *samples,
		     size_t n, int city)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/rollout.csv", o->out_dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		fs_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	const char *oem_names[MAX_OEMS];
	int oem_of[FS_PROD_PROGRAMMES_MAX];
	size_t noem = oems(p, oem_names, oem_of);
	char s1[64];
	fprintf(f, "date,fleet_total,target_fleet,delivered_cum,retired_cum,deliveries,retirements");
	for (uint32_t c = 0; c < p->city_count; c++) {
		fprintf(f, ",fleet_city_%s", p->cities[c].name);
	}
	for (size_t k = 0; k < noem; k++) {
		slug(oem_names[k], s1, sizeof(s1));
		fprintf(f, ",fleet_oem_%s", s1);
	}
	for (size_t k = 0; k < noem; k++) {
		slug(oem_names[k], s1, sizeof(s1));
		fprintf(f, ",delivered_oem_%s", s1);
	}
	for (int st = FS_PROD_STAGE_BUILD; st < FS_PROD_STAGE_COUNT; st++) {
		if (st != FS_PROD_STAGE_RETIRED) {
			fprintf(f, ",stage_%s", fs_production_stage_name(st));
		}
	}
	for (uint32_t k = 0; k < p->integrator_count; k++) {
		slug(p->integrators[k].name, s1, sizeof(s1));
		fprintf(f, ",%s_capacity_per_day,%s_queued,%s_started", s1, s1, s1);
	}
	fprintf(f, ",fleet_km_cum,data_pb,sw_latest,sw_latest_share,fleet_miles_per_disengagement,fleet_motorway_share");
	fprintf(f, ",city,city_phase,vehicles,window_h,trips_window,trips_per_day,requests,open_at_end,wait_p50_s,"
		   "wait_p95_s,served_share,utilisation,vehicle_km,run_sw_latest_share,run_no_motorway_share,"
		   "run_disengagements,run_wall_s,run_digest\n");
	for (size_t i = 0; i < n; i++) {
		const struct sample *s = &samples[i];
		const struct fs_production_stats *st = &s->stats;
		char date[32];
		fs_calendar_format((int64_t)s->day * 86400000LL, date, sizeof(date));
		fprintf(f, "%.10s,%u,%.0f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, date, st->fleet, s->target,
			st->delivered, st->retired, s->deliveries, s->retirements);
		for (uint32_t c = 0; c < st->city_count; c++) {
			fprintf(f, ",%u", st->cities[c].fleet);
		}
		uint64_t by_oem[MAX_OEMS] = { 0 }, delivered_by_oem[MAX_OEMS] = { 0 };
		for (uint32_t g = 0; g < st->programme_count; g++) {
			by_oem[oem_of[g]] += st->programmes[g].fleet;
			delivered_by_oem[oem_of[g]] += st->programmes[g].delivered;
		}
		for (size_t k = 0; k < noem; k++) {
			fprintf(f, ",%" PRIu64, by_oem[k]);
		}
		for (size_t k = 0; k < noem; k++) {
			fprintf(f, ",%" PRIu64, delivered_by_oem[k]);
		}
		for (int stg = FS_PROD_STAGE_BUILD; stg < FS_PROD_STAGE_COUNT; stg++) {
			if (stg == FS_PROD_STAGE_RETIRED) {
				continue;
			}
			fprintf(f, ",%" PRIu64, fs_production_stats_in_stage(st, stg));
		}
		for (uint32_t k = 0; k < st->integrator_count; k++) {
			const struct fs_prod_integrator_stats *is = &st->integrators[k];
			fprintf(f, ",%u,%u,%" PRIu64, is->capacity_per_day, is->queued, is->started);
		}
		fprintf(f, ",%.0f,%.3f", st->flywheel.fleet_km, st->flywheel.data_pb);
		put_version(f, s->sw.latest);
		put_num(f, s->sw.latest_share, 4);
		put_num(f, s->sw.miles_per_disengagement, 0);
		put_num(f, s->sw.motorway_share, 4);
		fprintf(f, ",%s,%s,%u,%g", p->cities[city].name, fs_production_phase_name(s->phase), s->vehicles,
			(double)o->window_ms / 3600000.0);
		bool have = s->ran && s->run_ok;
		double trips = have ? s->trips : NAN;
		double per_day = o->window_ms >= 86400000ULL && !isnan(trips) ? trips / ((double)o->window_ms / 86400000.0) : NAN;
		put_num(f, trips, 0);
		put_num(f, per_day, 1);
		put_num(f, have ? s->requests : NAN, 0);
		put_num(f, have ? s->open_at_end : NAN, 0);
		put_num(f, have ? s->wait_p50_s : NAN, 1);
		put_num(f, have ? s->wait_p95_s : NAN, 1);
		put_num(f, have ? s->served_share : NAN, 4);
		put_num(f, have ? s->utilisation : NAN, 4);
		put_num(f, have ? s->km : NAN, 1);
		put_num(f, have ? s->run_latest_share : NAN, 4);
		put_num(f, have ? s->run_no_motorway_share : NAN, 4);
		put_num(f, have ? s->run_disengagements : NAN, 0);
		put_num(f, s->ran && !s->resumed ? s->wall_s : NAN, 2); /* a resumed run's wall was not measured here */
		fprintf(f, ",%s\n", have ? s->digest : "");
	}
	if (fclose(f) != 0) {
		fs_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static const uint32_t palette[] = { 0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2,
				    0x7f7f7f, 0xbcbd22, 0x17becf };

#ifdef FS_ROLLOUT_PNG
/*
 * The third panel: the data flywheel's releases in the fleet (its miles per
 * disengagement, the share on the latest release and with motorways in the
 * ODD) and in the detailed city's sampled runs; release days marked on the
 * fleet panel. @y: 4 x n values, @labels: the markers' text; both outlive @c.
 */
static void software_panel(struct chart *c, const struct sample *samples, size_t n, double *y,
			   char (*labels)[32])
{
	double *mpd = y, *latest = y + n, *motorway = y + 2 * n, *run_latest = y + 3 * n;
	for (size_t i = 0; i < n; i++) {
		const struct sample *s = &samples[i];
		mpd[i] = s->sw.miles_per_disengagement;
		latest[i] = s->sw.latest_share * 100.0;
		motorway[i] = s->sw.motorway_share * 100.0;
		run_latest[i] = s->ran && s->run_ok ? s->run_latest_share * 100.0 : NAN;
	}
	c->kpi[2][c->kpi_count[2]++] = (struct chart_series){ .name = "miles per disengagement", .y = mpd,
							       .rgb = 0x7a3db8 };
	c->kpi[2][c->kpi_count[2]++] = (struct chart_series){ .name = "on the latest release", .y = latest,
							       .rgb = 0x2ca02c, .right_axis = 1 };
	c->kpi[2][c->kpi_count[2]++] = (struct chart_series){ .name = "motorways in the ODD", .y = motorway,
							       .rgb = 0xff7f0e, .right_axis = 1, .dashed = 1 };
	c->kpi[2][c->kpi_count[2]++] = (struct chart_series){ .name = "latest, in the city's runs", .y = run_latest,
							       .rgb = 0x17becf, .right_axis = 1 };
	const struct fs_prod_flywheel_stats *fw = &samples[n - 1].stats.flywheel;
	for (uint32_t k = 0; k < fw->release_count && c->marker_count < CHART_MARKERS_MAX; k++) {
		if (fw->releases[k].release_day == INT32_MIN) {
			continue;
		}
		uint32_t v = fw->releases[k].version, minor = v % 100;
		snprintf(labels[c->marker_count], 32, minor % 10 ? "%u.%02u out" : "%u.%u out", v / 100,
			 minor % 10 ? minor : minor / 10);
		c->markers[c->marker_count].day = fw->releases[k].release_day;
		c->markers[c->marker_count].label = labels[c->marker_count];
		c->marker_count++;
	}
}
#endif

static int write_chart(const struct options *o, const struct fs_production_params *p, const struct sample *samples,
		       size_t n, int city)
{
#ifdef FS_ROLLOUT_PNG
	const char *oem_names[MAX_OEMS];
	int oem_of[FS_PROD_PROGRAMMES_MAX];
	size_t noem = oems(p, oem_names, oem_of);
	double *buf = fs_xcalloc((noem + 10) * (n ? n : 1), sizeof(double));
	double *sw_series = fs_xcalloc(4 * (n ? n : 1), sizeof(double));
	double *x = buf, *target = buf + n, *veh = buf + 2 * n, *trips = buf + 3 * n, *p50 = buf + 4 * n,
	       *p95 = buf + 5 * n, *served = buf + 6 * n, *km = buf + 7 * n, *fleet_city = buf + 8 * n,
	       *stack = buf + 10 * n;
	bool any_kpi = false, any_trips = false;
	for (size_t i = 0; i < n; i++) {
		const struct sample *s = &samples[i];
		bool have = s->ran && s->run_ok;
		x[i] = s->day;
		target[i] = s->target;
		veh[i] = s->vehicles;
		fleet_city[i] = s->stats.cities[city].fleet;
		/* trips per day with a window of whole days, else the trips in the window */
		double days_in_window = o->window_ms >= 86400000ULL ? (double)o->window_ms / 86400000.0 : 1.0;
		trips[i] = have && !isnan(s->trips) ? s->trips / days_in_window : NAN;
		p50[i] = have ? s->wait_p50_s / 60.0 : NAN;
		p95[i] = have ? s->wait_p95_s / 60.0 : NAN;
		served[i] = have ? s->served_share * 100.0 : NAN;
		km[i] = have ? s->km : NAN;
		any_kpi |= !isnan(p50[i]) || !isnan(p95[i]) || !isnan(served[i]);
		any_trips |= !isnan(trips[i]);
		for (uint32_t g = 0; g < s->stats.programme_count; g++) {
			stack[(size_t)oem_of[g] * n + i] += s->stats.programmes[g].fleet;
		}
	}
	char title[160], subtitle[256], kt0[128], kt1[128], trips_name[64];
	fs_calendar_format((int64_t)samples[0].day * 86400000LL, title, sizeof(title));
	char from[16], to[16];
	snprintf(from, sizeof(from), "%.7s", title);
	fs_calendar_format((int64_t)samples[n - 1].day * 86400000LL, title, sizeof(title));
	snprintf(to, sizeof(to), "%.7s", title);
	snprintf(title, sizeof(title), "Robotaxi fleet rollout %s to %s: fleet by OEM", from, to);
	char window[32];
	if (o->window_ms < 3600000ULL) {
		snprintf(window, sizeof(window), "%g min", (double)o->window_ms / 60000.0);
	} else {
		snprintf(window, sizeof(window), "%g h", (double)o->window_ms / 3600000.0);
	}
	snprintf(subtitle, sizeof(subtitle), "%u cities; %s in detail: one %s run per sample from %02d:%02d UTC, seed %" PRIu64,
		 p->city_count, p->cities[city].name, window, o->window_start_s / 3600, o->window_start_s / 60 % 60,
		 o->seed);
	snprintf(kt0, sizeof(kt0), "%s: fleet and trips", p->cities[city].name);
	snprintf(kt1, sizeof(kt1), "%s: wait and served share", p->cities[city].name);
	snprintf(trips_name, sizeof(trips_name), o->window_ms >= 86400000ULL ? "trips per day" : "trips in window");
	char target_name[96];
	snprintf(target_name, sizeof(target_name), "target (logistic, %gk)", p->target_fleet / 1000.0);
	struct chart c = {
		.title = title,
		.subtitle = subtitle,
		.n = n,
		.x_day = x,
		.target = { .name = target_name, .y = target, .rgb = 0x000000, .dashed = 1 },
		.kpi_title = { kt0, kt1, "software from fleet data" },
		.kpi_left_unit = { "vehicles", "minutes", "mi/diseng." },
		.kpi_right_unit = { any_trips ? "trips" : "km", "% served", "% of fleet" },
		.kpi_empty_note = { NULL, o->detail ? "no wait / served KPIs in these runs" : "no runs (--no-detail)" },
		.kpi_right_max = { 0, 100, 100 }, /* shares, % */
	};
	for (size_t k = 0; k < noem && k < CHART_STACK_MAX; k++) {
		c.stack[k] = (struct chart_series){ .name = oem_names[k], .y = stack + k * n,
						    .rgb = palette[k % (sizeof(palette) / sizeof(palette[0]))] };
		c.stack_count++;
	}
	c.kpi[0][c.kpi_count[0]++] = (struct chart_series){ .name = "fleet", .y = fleet_city, .rgb = 0x1f77b4 };
	c.kpi[0][c.kpi_count[0]++] = (struct chart_series){ .name = "in service at the window", .y = veh,
							     .rgb = 0x2ca02c, .dashed = 1 };
	if (any_trips) {
		c.kpi[0][c.kpi_count[0]++] = (struct chart_series){ .name = trips_name, .y = trips, .rgb = 0xd62728,
								     .right_axis = 1 };
	} else {
		c.kpi[0][c.kpi_count[0]++] = (struct chart_series){ .name = "vehicle km in window", .y = km,
								     .rgb = 0xff7f0e, .right_axis = 1 };
	}
	c.kpi[1][c.kpi_count[1]++] = (struct chart_series){ .name = "wait p50", .y = p50, .rgb = 0x1f77b4 };
	c.kpi[1][c.kpi_count[1]++] = (struct chart_series){ .name = "wait p95", .y = p95, .rgb = 0xd62728 };
	c.kpi[1][c.kpi_count[1]++] = (struct chart_series){ .name = "served %", .y = served, .rgb = 0x2ca02c,
							     .right_axis = 1 };
	(void)any_kpi;
	char labels[FS_PROD_RELEASES_MAX][32];
	software_panel(&c, samples, n, sw_series, labels);
	char path[PATH_MAX], err[256];
	snprintf(path, sizeof(path), "%s/rollout.png", o->out_dir);
	int rc = rollout_chart_write(&c, path, err, sizeof(err));
	if (rc < 0) {
		fs_error("%s: %s", path, err);
	}
	free(buf);
	free(sw_series);
	return rc;
#else
	(void)o, (void)p, (void)samples, (void)n, (void)city;
	fs_warn("built without SDL2/SDL2_ttf/SDL2_image: no rollout.png");
	return 0;
#endif
}

/* The plan, its model, and the samples along it. */
struct rollout {
	struct fs_production_params *params;
	struct fs_vehicle_params vehicle; /* the releases' rates and ODD, for the fleet's software */
	struct fs_production *model;
	int city;
	int32_t *days;
	struct sample *samples;
	size_t n;
};

/* The fleetsim that runs the samples, and the folders: 0, or the exit status (said why). */
static int prepare(const struct options *o, char *fleetsim, size_t size)
{
	if (o->fleetsim) {
		snprintf(fleetsim, size, "%s", o->fleetsim);
	} else {
		fs_paths_program("fleetsim", fleetsim, size);
	}
	if (o->detail && access(fleetsim, X_OK) < 0) {
		fs_error("cannot run %s (use --fleetsim PATH or --no-detail)", fleetsim);
		return 1;
	}
	if (mkdir(o->out_dir, 0755) < 0 && errno != EEXIST) {
		fs_error("--out: cannot create %s: %s", o->out_dir, strerror(errno));
		return 2;
	}
	char runs[PATH_MAX];
	snprintf(runs, sizeof(runs), "%s/runs", o->out_dir);
	if (o->detail && mkdir(runs, 0755) < 0 && errno != EEXIST) {
		fs_error("cannot create %s: %s", runs, strerror(errno));
		return 2;
	}
	return 0;
}

/* The model's fleet at every sample date (the sampled runs add the rest): 0, or the exit status (said why). */
static int model_samples(const struct options *o, struct rollout *r)
{
	r->params = fs_xcalloc(1, sizeof(*r->params));
	struct fs_error err = { { 0 } };
	if (load_plan(o, r->params, &r->vehicle, &err) < 0) {
		fs_error("%s", err.message);
		return 2;
	}
	r->model = fs_production_create(r->params, o->seed, &err);
	if (!r->model) {
		fs_error("production model: %s", err.message);
		return 2;
	}
	r->city = fs_production_find_city(r->model, o->city);
	if (r->city < 0) {
		fs_error("--city: '%s' is not a city of the rollout plan", o->city);
		return 2;
	}
	r->n = sample_days(o, &r->days);
	if (!r->n) {
		fs_error("no sample date between --from and --to");
		return 2;
	}
	r->samples = fs_xcalloc(r->n, sizeof(*r->samples));
	uint64_t prev_delivered = 0, prev_retired = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct sample *s = &r->samples[i];
		s->day = r->days[i];
		s->start_ms = (int64_t)r->days[i] * 86400000LL + (int64_t)o->window_start_s * 1000;
		/* The fleet in place when the window starts: every day whose midnight is
		 * before it (the production service's rule for a run's past). */
		if (fs_production_advance(r->model, fs_production_day_from_ms(s->start_ms - 1), NULL) < 0) {
			fs_error("out of memory");
			return 1;
		}
		fs_production_get_stats(r->model, &s->stats);
		s->target = fs_production_target_fleet(r->params, s->day);
		s->deliveries = s->stats.delivered - prev_delivered;
		s->retirements = s->stats.retired - prev_retired;
		prev_delivered = s->stats.delivered;
		prev_retired = s->stats.retired;
		s->vehicles = s->stats.cities[r->city].in_service;
		software_mix(&s->stats, r->params, &r->vehicle, &s->sw);
		s->phase = s->stats.cities[r->city].phase;
		s->trips = s->wait_p50_s = s->wait_p95_s = s->served_share = s->utilisation = s->km = NAN;
		s->requests = s->open_at_end = s->run_latest_share = s->run_no_motorway_share = s->run_disengagements = NAN;
	}
	return 0;
}

/* The last line: how far an interrupted rollout got, or what it cost. The exit status. */
static int report(const struct options *o, const struct rollout *r, int status, int64_t t0, double model_s)
{
	size_t ran = 0;
	double run_wall = 0;
	for (size_t i = 0; o->detail && i < r->n; i++) {
		if (r->samples[i].ran && !r->samples[i].resumed) {
			ran++;
			run_wall += r->samples[i].wall_s;
		}
	}
	double wall = (double)(fs_clock_now_us() - t0) / 1e6;
	if (interrupted) {
		size_t done = 0, todo = 0;
		for (size_t i = 0; i < r->n; i++) {
			done += r->samples[i].ran && r->samples[i].run_ok;
			todo += r->samples[i].vehicles > 0;
		}
		fs_info("interrupted: %zu of %zu sampled runs done, in %s/rollout.csv and rollout.png; the same command "
			"with --resume runs the other %zu", done, todo, o->out_dir, todo - done);
		return 130;
	}
	if (!o->quiet) {
		fs_info("%zu samples, %zu runs; wall %.1f s (model %.3f s); per sampled run %.2f s of its own wall, "
			"%.2f s of the total; results in %s/rollout.csv and rollout.png",
			r->n, ran, wall, model_s, ran ? run_wall / (double)ran : 0.0, ran ? wall / (double)ran : 0.0,
			o->out_dir);
	}
	return status;
}

int main(int argc, char **argv)
{
	if (fs_service_begin(argc, argv, "fs-rollout")) {
		return 0;
	}
	fs_service_rename(argv, "fleetsim rollout");
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct options o = { .cadence = "monthly", .out_dir = "rollout-out", .seed = 1, .city = "atlanta",
			     .window_ms = 2 * 3600000ULL, .window_start_s = 12 * 3600, .tick_ms = 1000,
			     .jobs = cores > 0 ? (uint64_t)cores : 1, .detail = true };
	int rc = parse_args(argc, argv, &o);
	if (rc) {
		return rc > 0 ? 0 : 2;
	}
	char fleetsim[PATH_MAX];
	if ((rc = prepare(&o, fleetsim, sizeof(fleetsim))) != 0) {
		return rc;
	}
	signal(SIGPIPE, SIG_IGN);
	fs_service_catch_stop(&interrupted); /* no SA_RESTART: waitpid() returns to look */

	int64_t t0 = fs_clock_now_us();
	struct rollout r = { 0 };
	if ((rc = model_samples(&o, &r)) != 0) {
		return rc;
	}
	double model_s = (double)(fs_clock_now_us() - t0) / 1e6;
	int status = 0;
	if (o.detail) {
		if (!o.quiet) {
			fs_info("production model: %zu samples in %.3f s; running %s with up to %" PRIu64 " at once",
				r.n, model_s, o.city, o.jobs);
		}
		status = run_all(&o, r.samples, r.n, fleetsim) < 0 ? 1 : 0;
	}
	if (write_csv(&o, r.params, r.samples, r.n, r.city) < 0 || write_chart(&o, r.params, r.samples, r.n, r.city) < 0) {
		status = 1;
	}
	status = report(&o, &r, status, t0, model_s);
	free(r.samples);
	free(r.days);
	free(r.params);
	fs_production_destroy(r.model);
	return status;
}
