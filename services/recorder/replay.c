/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-replay - run a recorded simulation again and check it tick by tick.
 *
 * `fs-replay FILE --verify` (also `fleetsim replay FILE --verify`):
 *  1. reads the recording: the run's arguments (metadata "fleetsim.run",
 *     written by `fleetsim run --record`), the embedded scenario file, every
 *     participant's TickDone (tick, state hash), the scenario commands that
 *     were injected live and accepted (scn.cmd + scn.ack), and the events the
 *     conductor applied at each tick (scn.cmd/apply);
 *  2. starts `fleetsim run` with the same arguments on a private bus, paused,
 *     pacing as fast as possible;
 *  3. injects the recorded commands again, each with the tick the conductor
 *     gave it in the recorded run, then resumes: the conductor's schedule is
 *     then the recorded one (file events first, then injected ones in the
 *     order they were accepted, ties kept in that order);
 *  4. compares each TickDone of the new run with the recorded one as it
 *     arrives (lossless subscription); the first tick where a participant's
 *     state hash differs is reported with every participant that diverged at
 *     that tick, and the run is stopped. Scenario events applied at a tick
 *     that differ from the recorded ones are reported too (a tampered or
 *     misread command shows there first).
 * A recording is verified only if it reads whole: a chunk failing its CRC,
 * or any record that cannot be read before the end of the data, is reported
 * as damage naming the chunk and byte, and nothing is replayed. Only a file
 * cut short at its end (a recorder killed mid-run: no summary, no closing
 * magic) is verified as far as it goes, with its own exit status.
 * Exit status (REPLAY_* below): 0 identical, 1 diverged, 2 cannot replay
 * (usage, no run arguments, the run failed to start), 3 identical as far as
 * a recording cut short at its end goes, 4 the recording is damaged.
 */
#define _XOPEN_SOURCE 700 /* nftw() */
#include <errno.h>
#include <float.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs_args.h"
#include "fs_bus.h"
#include "fs_clock.h"
#include "fs_control_msg.h"
#include "fs_log.h"
#include "fs_mcap.h"
#include "fs_paths.h"
#include "fs_service.h"
#include "recorder.h"

#define MAX_RUN_ARGS 96

enum replay_status {
	REPLAY_IDENTICAL = 0,
	REPLAY_DIVERGED = 1,
	REPLAY_CANNOT = 2,
	REPLAY_IDENTICAL_AS_FAR_AS_RECORDED = 3, /* the file was cut short at its end */
	REPLAY_DAMAGED = 4,                      /* a chunk or record before the end cannot be read */
};

static volatile sig_atomic_t stop;

struct done_rec {
	uint64_t tick;
	uint64_t hash;
	char sender[64];
	bool seen;   /* replayed */
};

struct injected {
	uint64_t command_id;
	char sender[100];
	Fleetsim__V1__ScenarioCommand *cmd; /* unpacked from the recording (owned via env) */
	Fleetsim__V1__Envelope *env;
	bool accepted;
	uint64_t apply_tick;
	uint64_t from_tick; /* a from_now command: the tick its offsets counted from */
};

struct applied {
	uint64_t tick;
	uint8_t *bytes; /* packed ScenarioCommand */
	size_t size;
};

struct recording {
	struct done_rec *done;
	size_t n_done, cap_done;
	struct injected *inj;
	size_t n_inj, cap_inj;
	struct applied *applied;
	size_t n_applied, cap_applied;
	char participants[64][64];
	size_t n_participants;
	bool ended;
	uint64_t end_ticks;
	uint64_t max_tick;
	bool any_done;
	json_t *argv;
	char cwd[PATH_MAX];
	uint8_t *scenario;
	size_t scenario_size;
	bool truncated;         /* cut short at its end: read as far as it goes */
	uint64_t valid_bytes;   /* ... up to here */
	bool damaged;           /* a chunk or record before the end failed: nothing is verified */
	char damage[512];
};

/* "fleetsim replay" when run so (fleetsim execs us with that argv[0]), else our own name. */
static const char *program = "fs-replay";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s FILE --verify [options] [-- RUN-ARGS...]\n"
		"\n"
		"Run the simulation recorded in FILE again, from its recorded arguments,\n"
		"scenario and live-injected commands, and check tick by tick that every\n"
		"participant's state hash matches the recording. On a mismatch, name the\n"
		"first tick and the participant(s) that diverged.\n"
		"\n"
		"Exit status: 0 identical; 1 diverged; 2 cannot replay; 3 identical as far as\n"
		"a recording cut short at its end goes (its recorder was killed: later ticks\n"
		"are unknown); 4 the recording is damaged (a chunk fails its CRC or cannot be\n"
		"read before the end: named, and nothing is verified).\n"
		"\n"
		"Options:\n"
		"  --verify          compare state hashes (the only mode so far)\n"
		"  --keep DIR        keep the replay's logs and summary.json in DIR\n"
		"  --timeout S       give up after S seconds (default 1800)\n"
		"  -- RUN-ARGS       `fleetsim run` arguments to use instead of the recorded\n"
		"                    ones (for recordings made with `fleetctl record`)\n"
		"  --version         print the version\n"
		"  -h, --help        this text\n",
		program);
}

/*
 * The tick a scn.cmd/apply message is for: its events' tick (the envelope's
 * tick is the conductor's clock, still the previous tick when it publishes).
 */
static uint64_t applied_tick(const Fleetsim__V1__Envelope *env)
{
	const Fleetsim__V1__ScenarioCommand *c = env->scenario_command;
	return c->n_events ? c->events[0]->apply_tick : env->tick;
}

static int cmp_done(const void *a, const void *b)
{
	const struct done_rec *x = a, *y = b;
	if (x->tick != y->tick) {
		return x->tick < y->tick ? -1 : 1;
	}
	return strcmp(x->sender, y->sender);
}

static struct done_rec *find_done(struct recording *r, uint64_t tick, const char *sender)
{
	struct done_rec key = { .tick = tick };
	snprintf(key.sender, sizeof(key.sender), "%s", sender);
	return bsearch(&key, r->done, r->n_done, sizeof(*r->done), cmp_done);
}

static void add_participant(struct recording *r, const char *name)
{
	for (size_t i = 0; i < r->n_participants; i++) {
		if (!strcmp(r->participants[i], name)) {
			return;
		}
	}
	if (r->n_participants < 64) {
		snprintf(r->participants[r->n_participants++], 64, "%s", name);
	}
}

/* A recorded TickDone, Ready or End: what the replay compares with. False if the codec refuses it. */
static bool read_control(struct recording *r, const Fleetsim__V1__Envelope *env, struct fs_control_in *in,
			 const char *path, const char *topic, uint64_t offset)
{
	const char *refused = fs_control_msg_decode(env, in);
	if (refused) {
		fs_warn("%s: a refused message on %s (byte %" PRIu64 ") skipped: %s", path, topic, offset, refused);
		return false;
	}
	if (in->kind == FS_CONTROL_TICK_DONE) {
		fs_xgrow(r->done, r->cap_done, r->n_done + 1);
		struct done_rec *d = &r->done[r->n_done++];
		memset(d, 0, sizeof(*d));
		d->tick = in->tick_done.tick;
		d->hash = in->tick_done.state_hash;
		snprintf(d->sender, sizeof(d->sender), "%s", env->sender);
		add_participant(r, env->sender);
		if (!r->any_done || d->tick > r->max_tick) {
			r->max_tick = d->tick;
		}
		r->any_done = true;
	} else if (in->kind == FS_CONTROL_READY) {
		add_participant(r, env->sender);
	} else if (in->kind == FS_CONTROL_END) {
		r->ended = true;
		r->end_ticks = in->end.ticks;
	}
	return true;
}

static int read_recording(const char *path, struct recording *r)
{
	struct fs_error err = { "" };
	struct fs_mcap_reader *rd = fs_mcap_reader_open(path, &err);
	if (!rd) {
		fs_error("%s", err.message);
		return -1;
	}
	struct fs_mcap_message m;
	struct fs_control_in ctl = { 0 };
	int rc;
	while ((rc = fs_mcap_reader_next(rd, &m, &err)) == 1) {
		const char *topic = m.channel->topic;
		bool done = !strcmp(topic, "ctl.done"), ready = !strcmp(topic, "ctl.ready"),
		     cmd = !strcmp(topic, "scn.cmd"), ack = !strcmp(topic, "scn.ack"),
		     apply = !strcmp(topic, "scn.cmd/apply"), end = !strcmp(topic, "ctl.end");
		if (!done && !ready && !cmd && !ack && !apply && !end) {
			continue; /* vehicle batches are never decoded here */
		}
		Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, m.size, m.data);
		if (!env) {
			fs_warn("%s: an undecodable message on %s (byte %" PRIu64 ") skipped", path, topic, m.offset);
			continue;
		}
		bool keep = false;
		enum fs_control_kind kind = fs_control_msg_kind(env);
		if ((done && kind == FS_CONTROL_TICK_DONE) || (ready && kind == FS_CONTROL_READY) ||
		    (end && kind == FS_CONTROL_END)) {
			read_control(r, env, &ctl, path, topic, m.offset);
		} else if (cmd && env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND) {
			fs_xgrow(r->inj, r->cap_inj, r->n_inj + 1);
			struct injected *in = &r->inj[r->n_inj++];
			memset(in, 0, sizeof(*in));
			in->command_id = env->scenario_command->command_id;
			snprintf(in->sender, sizeof(in->sender), "%s", env->sender);
			in->cmd = env->scenario_command;
			in->env = env;
			keep = true;
		} else if (ack && env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_ACK) {
			const Fleetsim__V1__ScenarioAck *a = env->scenario_ack;
			for (size_t i = 0; i < r->n_inj; i++) {
				if (r->inj[i].command_id == a->command_id && !strcmp(r->inj[i].sender, a->requester)) {
					r->inj[i].accepted = a->accepted;
					r->inj[i].apply_tick = a->apply_tick;
					r->inj[i].from_tick = a->from_tick;
				}
			}
		} else if (apply && env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND) {
			fs_xgrow(r->applied, r->cap_applied, r->n_applied + 1);
			struct applied *a = &r->applied[r->n_applied++];
			a->tick = applied_tick(env);
			a->size = fleetsim__v1__scenario_command__get_packed_size(env->scenario_command);
			a->bytes = fs_xcalloc(1, a->size ? a->size : 1);
			fleetsim__v1__scenario_command__pack(env->scenario_command, a->bytes);
		}
		if (!keep) {
			fleetsim__v1__envelope__free_unpacked(env, NULL);
		}
	}
	if (rc < 0) {
		r->damaged = true;
		snprintf(r->damage, sizeof(r->damage), "%s", err.message);
	}
	r->truncated = fs_mcap_reader_truncated(rd, &r->valid_bytes);
	const char *argv = fs_mcap_reader_metadata_get(rd, RECORDER_RUN_METADATA, "argv");
	if (argv) {
		r->argv = json_loads(argv, 0, NULL);
	}
	const char *cwd = fs_mcap_reader_metadata_get(rd, RECORDER_RUN_METADATA, "cwd");
	snprintf(r->cwd, sizeof(r->cwd), "%s", cwd ? cwd : "");
	for (size_t i = 0; i < fs_mcap_reader_attachment_count(rd); i++) {
		const struct fs_mcap_attachment *a = fs_mcap_reader_attachment(rd, i);
		if (!strcmp(a->name, "scenario.yaml")) {
			r->scenario = fs_xcalloc(1, a->size + 1);
			memcpy(r->scenario, a->data, a->size);
			r->scenario_size = a->size;
		}
	}
	fs_mcap_reader_close(rd);
	fs_control_in_finish(&ctl);
	qsort(r->done, r->n_done, sizeof(*r->done), cmp_done);
	return 0;
}

static void free_recording(struct recording *r)
{
	free(r->done);
	for (size_t i = 0; i < r->n_inj; i++) {
		fleetsim__v1__envelope__free_unpacked(r->inj[i].env, NULL);
	}
	free(r->inj);
	for (size_t i = 0; i < r->n_applied; i++) {
		free(r->applied[i].bytes);
	}
	free(r->applied);
	json_decref(r->argv);
	free(r->scenario);
}

/* Arguments the replay decides itself: dropped from the recorded ones (with their value). */
static bool dropped_option(const char *a, bool *takes_value)
{
	static const char *with_value[] = { "--record", "--out", "--bus", "--speed" };
	static const char *flags[] = { "--paused", "--quiet", "--viz" };
	for (size_t i = 0; i < sizeof(with_value) / sizeof(*with_value); i++) {
		size_t n = strlen(with_value[i]);
		if (!strncmp(a, with_value[i], n) && (a[n] == '\0' || a[n] == '=')) {
			*takes_value = a[n] == '\0';
			return true;
		}
	}
	for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++) {
		if (!strcmp(a, flags[i])) {
			*takes_value = false;
			return true;
		}
	}
	return false;
}

struct run {
	pid_t pid;
	char dir[PATH_MAX];
	char bus[FS_BUS_ADDRESS_MAX];
	bool keep;
};

static pid_t start_run(const struct recording *rec, int n_override, char **override, struct run *run)
{
	char *args[MAX_RUN_ARGS + 16];
	char *owned[MAX_RUN_ARGS + 16];
	int na = 0, no = 0;
	char fleetsim[PATH_MAX];
	fs_paths_program("fleetsim", fleetsim, sizeof(fleetsim));
	args[na++] = fleetsim;
	args[na++] = (char *)"run";
	const char *src[MAX_RUN_ARGS];
	int nsrc = 0;
	if (n_override > 0) {
		for (int i = 0; i < n_override && nsrc < MAX_RUN_ARGS; i++) {
			src[nsrc++] = override[i];
		}
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(rec->argv, i, v)
		{
			if (json_is_string(v) && nsrc < MAX_RUN_ARGS) {
				src[nsrc++] = json_string_value(v);
			}
		}
	}
	char scenario_path[PATH_MAX + 32] = "";
	if (rec->scenario && n_override <= 0) {
		snprintf(scenario_path, sizeof(scenario_path), "%s/scenario.yaml", run->dir);
		FILE *f = fopen(scenario_path, "wb");
		if (!f || fwrite(rec->scenario, 1, rec->scenario_size, f) != rec->scenario_size || fclose(f) != 0) {
			fs_error("cannot write %s", scenario_path);
			return -1;
		}
	}
	for (int i = 0; i < nsrc; i++) {
		bool takes_value = false;
		if (!strcmp(src[i], "run") && i == 0) {
			continue;
		}
		if (dropped_option(src[i], &takes_value)) {
			i += takes_value;
			continue;
		}
		if (scenario_path[0] && (!strcmp(src[i], "--scenario") || !strncmp(src[i], "--scenario=", 11))) {
			i += !strcmp(src[i], "--scenario");
			char buf[PATH_MAX + 64];
			snprintf(buf, sizeof(buf), "--scenario=%s", scenario_path);
			args[na++] = owned[no++] = fs_xstrdup(buf);
			continue;
		}
		args[na++] = (char *)src[i];
	}
	char bus_arg[FS_BUS_ADDRESS_MAX + 8], out_arg[PATH_MAX + 16];
	if ((size_t)snprintf(run->bus, sizeof(run->bus), "ipc://%.200s/bus", run->dir) >= sizeof(run->bus) - 8) {
		fs_error("%s: too long for a bus address", run->dir);
		return -1;
	}
	snprintf(bus_arg, sizeof(bus_arg), "--bus=%s", run->bus);
	snprintf(out_arg, sizeof(out_arg), "--out=%.4000s/out", run->dir);
	args[na++] = bus_arg;
	args[na++] = out_arg;
	args[na++] = (char *)"--speed=max";
	args[na++] = (char *)"--paused";
	args[na++] = (char *)"--quiet";
	args[na] = NULL;
	fprintf(stderr, "%s: running", program);
	for (int i = 1; i < na; i++) {
		fprintf(stderr, " %s", args[i]);
	}
	fprintf(stderr, "\n");
	char log[PATH_MAX + 16];
	snprintf(log, sizeof(log), "%s/run.log", run->dir);
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0); /* a group of its own, so a stuck run can be ended whole */
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		if (rec->cwd[0] && n_override <= 0 && chdir(rec->cwd) < 0) {
			fprintf(stderr, "%s: cannot enter the recorded directory %s: %s\n", program, rec->cwd,
				strerror(errno));
		}
		execv(fleetsim, args);
		fprintf(stderr, "%s: cannot run %s: %s\n", program, fleetsim, strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < no; i++) {
		free(owned[i]);
	}
	return pid;
}

static void show_log(const struct run *run)
{
	char path[PATH_MAX + 16], line[1024];
	snprintf(path, sizeof(path), "%s/run.log", run->dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		fprintf(stderr, "  | %s", line);
	}
	fclose(f);
}

static bool run_alive(struct run *run, int *ret_status)
{
	if (run->pid <= 0) {
		return false;
	}
	int status;
	pid_t p = waitpid(run->pid, &status, WNOHANG);
	if (p == run->pid) {
		run->pid = 0;
		if (ret_status) {
			*ret_status = status;
		}
		return false;
	}
	return true;
}

static void stop_run(struct run *run)
{
	if (run->pid <= 0) {
		return;
	}
	/* The launcher stops its processes on SIGTERM (it may wait 5 s for participants). */
	kill(run->pid, SIGTERM);
	for (int i = 0; i < 1500 && run_alive(run, NULL); i++) {
		usleep(10000);
	}
	if (run->pid > 0) {
		kill(-run->pid, SIGKILL); /* its process group: the launcher and what it started */
		waitpid(run->pid, NULL, 0);
		run->pid = 0;
	}
}

/* Wait for an answer to command @id on scn.ack or ctl.ack; other messages go to @on_other. */
struct verify {
	struct recording *rec;
	struct fs_bus *bus;
	uint64_t compared, mismatched_hashes, unrecorded;
	uint64_t first_bad_tick;
	bool diverged;
	char bad[1024];          /* participants diverged at first_bad_tick */
	uint64_t events_diff_tick;
	bool events_differ;
	uint64_t last_tick_done; /* highest tick every participant finished */
	size_t done_in_tick;
	uint64_t current_tick;
	bool ended;
	struct fs_control_msg out; /* the commands we send */
	struct fs_control_in in;   /* the control message being read */
};

static void check_done(struct verify *v, const struct fs_bus_message *msg)
{
	const struct fs_control_tick_done *d = &v->in.tick_done;
	if (v->diverged && d->tick > v->first_bad_tick) {
		return;
	}
	struct done_rec *r = find_done(v->rec, d->tick, msg->env->sender);
	if (!r) {
		if (d->tick <= v->rec->max_tick) {
			v->unrecorded++;
		}
		return;
	}
	r->seen = true;
	v->compared++;
	if (r->hash != d->state_hash) {
		v->mismatched_hashes++;
		if (!v->diverged) {
			v->diverged = true;
			v->first_bad_tick = d->tick;
		}
		if (d->tick == v->first_bad_tick) {
			size_t len = strlen(v->bad);
			snprintf(v->bad + len, sizeof(v->bad) - len,
				 "%s  participant %s: state hash %016" PRIx64 ", recorded %016" PRIx64, len ? "\n" : "",
				 msg->env->sender, d->state_hash, r->hash);
		}
	}
}

static void check_applied(struct verify *v, const struct fs_bus_message *msg)
{
	uint64_t tick = applied_tick(msg->env);
	size_t size = fleetsim__v1__scenario_command__get_packed_size(msg->env->scenario_command);
	uint8_t *bytes = fs_xcalloc(1, size ? size : 1);
	fleetsim__v1__scenario_command__pack(msg->env->scenario_command, bytes);
	bool same = false, found = false;
	for (size_t i = 0; i < v->rec->n_applied; i++) {
		if (v->rec->applied[i].tick == tick) {
			found = true;
			same = v->rec->applied[i].size == size && !memcmp(v->rec->applied[i].bytes, bytes, size);
			break;
		}
	}
	free(bytes);
	if ((!same || !found) && !v->events_differ && tick <= v->rec->max_tick) {
		v->events_differ = true;
		v->events_diff_tick = tick;
	}
}

static void handle(struct verify *v, struct fs_bus_message *msg)
{
	const char *refused = fs_control_msg_decode(msg->env, &v->in);
	if (refused) {
		fs_bus_reject(v->bus, msg, refused);
		return;
	}
	switch (v->in.kind) {
	case FS_CONTROL_TICK_DONE:
		check_done(v, msg);
		break;
	case FS_CONTROL_TICK:
		v->current_tick = v->in.tick.tick;
		break;
	case FS_CONTROL_END:
		v->ended = true;
		break;
	case FS_CONTROL_NONE:
		if (msg->env->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND &&
		    !strcmp(msg->topic, "scn.cmd/apply")) {
			check_applied(v, msg);
		}
		break;
	default:
		break;
	}
}

static int wait_ack(struct verify *v, uint64_t id, bool scenario, char *reason, size_t size, struct run *run)
{
	int64_t deadline = fs_clock_now_ms() + 30000;
	while (!stop && fs_clock_now_ms() < deadline && run_alive(run, NULL)) {
		struct fs_bus_message *msg = NULL;
		if (fs_bus_recv(v->bus, &msg, 100) != 0) {
			continue;
		}
		const Fleetsim__V1__Envelope *e = msg->env;
		int result = -1;
		if (scenario && e->payload_case == FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_ACK &&
		    e->scenario_ack->command_id == id && !strcmp(e->scenario_ack->requester, fs_bus_name(v->bus))) {
			snprintf(reason, size, "%s", e->scenario_ack->reason);
			result = e->scenario_ack->accepted ? 0 : 1;
		} else if (!scenario && fs_control_msg_kind(e) == FS_CONTROL_COMMAND_ACK &&
			   !fs_control_msg_decode(e, &v->in) && v->in.command_ack.command_id == id &&
			   !strcmp(v->in.command_ack.requester, fs_bus_name(v->bus))) {
			snprintf(reason, size, "%s", v->in.command_ack.reason);
			result = v->in.command_ack.accepted ? 0 : 1;
		} else {
			handle(v, msg);
		}
		fs_bus_message_free(msg);
		if (result >= 0) {
			return result;
		}
	}
	snprintf(reason, size, "no answer from the conductor");
	return -ETIMEDOUT;
}

static int send_command(struct verify *v, enum fs_command_kind kind, struct run *run)
{
	static uint64_t next_id = 1;
	const struct fs_control_command cmd = { .command_id = next_id++, .kind = kind };
	int rc = fs_bus_publish(v->bus, NULL, fs_control_msg_encode_command(&v->out, &cmd));
	if (rc < 0) {
		return rc;
	}
	char reason[256];
	return wait_ack(v, cmd.command_id, false, reason, sizeof(reason), run);
}

/* Does @e give its own time (at/from/tick in its params)? Then apply_tick must stay 0. */
static bool has_time_param(const Fleetsim__V1__ScenarioEvent *e)
{
	for (size_t i = 0; i < e->n_params; i++) {
		const char *k = e->params[i]->key;
		if (k && (!strcmp(k, "at") || !strcmp(k, "from") || !strcmp(k, "tick"))) {
			return true;
		}
	}
	return false;
}

/* Re-inject the accepted live commands with the ticks they got in the recorded run. */
static int reinject(struct verify *v, struct run *run)
{
	for (size_t i = 0; i < v->rec->n_inj; i++) {
		struct injected *in = &v->rec->inj[i];
		if (!in->accepted) {
			continue; /* refused then: it changed nothing */
		}
		Fleetsim__V1__ScenarioCommand cmd = *in->cmd;
		Fleetsim__V1__ScenarioEvent *events = fs_xcalloc(cmd.n_events ? cmd.n_events : 1, sizeof(*events));
		Fleetsim__V1__ScenarioEvent **ptrs = fs_xcalloc(cmd.n_events ? cmd.n_events : 1, sizeof(*ptrs));
		for (size_t k = 0; k < cmd.n_events; k++) {
			events[k] = *in->cmd->events[k];
			if (events[k].apply_tick == 0 && !has_time_param(&events[k])) {
				events[k].apply_tick = in->apply_tick; /* "next tick" then is this tick */
			}
			ptrs[k] = &events[k];
		}
		cmd.events = ptrs;
		if (cmd.from_now) {
			cmd.from_tick = in->from_tick; /* "10m from now" then was from this tick */
		}
		Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
		env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND;
		env.scenario_command = &cmd;
		int rc = fs_bus_publish(v->bus, "scn.cmd", &env);
		char reason[600] = "";
		if (rc == 0) {
			rc = wait_ack(v, cmd.command_id, true, reason, sizeof(reason), run);
		}
		free(events);
		free(ptrs);
		if (rc != 0) {
			fs_error("the recorded command %" PRIu64 " from %s (tick %" PRIu64 ") was not accepted again: %s",
				 in->command_id, in->sender, in->apply_tick, reason[0] ? reason : strerror(-rc));
			return -EINVAL;
		}
		fs_info("re-injected command %" PRIu64 " from %s: %s", in->command_id, in->sender, reason);
	}
	return 0;
}

static bool make_dir(const char *keep, char *dir, size_t size)
{
	if (keep) {
		if (mkdir(keep, 0755) < 0 && errno != EEXIST) {
			fs_error("--keep: cannot create %s: %s", keep, strerror(errno));
			return false;
		}
		char *real = realpath(keep, NULL);
		snprintf(dir, size, "%s", real ? real : keep);
		free(real);
		return true;
	}
	snprintf(dir, size, "/tmp/fs-replay.XXXXXX");
	return mkdtemp(dir) != NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path); /* best effort: keep going */
	return 0;
}

/* The replay's own directory (outputs of the run it started): everything in it goes. */
static void remove_dir(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The command line. */
struct replay_args {
	bool verify;
	const char *keep, *file;
	double timeout_s;
	int n_override;   /* replacement run arguments, after "--" */
	char **override;
};

/* Options and FILE before "--", replacement run arguments after it. */
static int parse_args(int argc, char **argv, struct replay_args *a)
{
	const struct fs_opt opts[] = {
		{ "verify", FS_OPT_SET, &a->verify },
		{ "keep", FS_OPT_STRING, &a->keep },
		{ "timeout", FS_OPT_DOUBLE, &a->timeout_s, .lo_open = true, .hi = DBL_MAX,
		  .what = "a positive number of seconds" },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = program, .usage = usage, .opts = opts, .operands = true };
	int operand = 0, dd = 0;
	int rc = fs_service_parse_before_dashes(&spec, argc, argv, &operand, &dd);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	a->file = operand < dd ? argv[operand++] : NULL;
	if (operand < dd) {
		fs_error("unexpected argument '%s' (run arguments go after --)", argv[operand]);
		return 2;
	}
	a->n_override = dd < argc ? argc - dd - 1 : 0;
	a->override = dd < argc ? argv + dd + 1 : NULL;
	if (!a->file || !a->verify) {
		fs_error("give a recording and --verify (try --help)");
		return 2;
	}
	return FS_SERVICE_GO_ON;
}

/* Can this recording be replayed at all? FS_SERVICE_GO_ON, or the exit status (said why). */
static int check_recording(const struct recording *rec, const struct replay_args *a)
{
	if (rec->damaged) {
		/* What comes after the damage is unknown: a verdict on the rest would be a guess. */
		printf("DAMAGED: %s\nreplay: the recording cannot be verified (%zu state hashes read before the "
		       "damage)\n",
		       rec->damage, rec->n_done);
		return REPLAY_DAMAGED;
	}
	if (!rec->any_done) {
		fs_error("%s has no TickDone messages: nothing to verify", a->file);
		return REPLAY_CANNOT;
	}
	if (a->n_override <= 0 && (!rec->argv || !json_array_size(rec->argv))) {
		fs_error("%s does not say how its run was started (record with `fleetsim run --record`, "
			 "or give the run's arguments after --)",
			 a->file);
		return REPLAY_CANNOT;
	}
	if (a->n_override <= 0 && rec->argv) {
		size_t k;
		json_t *arg;
		json_array_foreach(rec->argv, k, arg)
		{
			const char *text = json_string_value(arg);
			if (text && !strncmp(text, "--participant", 13)) {
				const char *value = strchr(text, '=') ? "" : json_string_value(json_array_get(rec->argv, k + 1));
				fs_error("%s: its run had a participant started outside fleetsim (%s%s%s): a replay "
					 "cannot start it, so it cannot reproduce the run",
					 a->file, text, value && *value ? " " : "", value ? value : "");
				return REPLAY_CANNOT;
			}
		}
	}
	return FS_SERVICE_GO_ON;
}

/*
 * Attach to the replay's bus once the broker is up, lossless, like a
 * participant, so no TickDone is missed; then wait for the conductor. The
 * conductor subscribes before its own handshake and reports status only
 * after it: its first status proves our commands will reach it.
 */
static int attach(struct verify *v, struct run *run)
{
	char tap[PATH_MAX + 16];
	snprintf(tap, sizeof(tap), "%s/bus/tap", run->dir);
	int64_t deadline = fs_clock_now_ms() + 30000;
	while (access(tap, F_OK) < 0 && fs_clock_now_ms() < deadline && run_alive(run, NULL)) {
		usleep(10000);
	}
	struct fs_bus_options bo = { .address = run->bus, .name = "replay", .mode = FS_BUS_PARTICIPANT };
	v->bus = fs_bus_connect(&bo);
	if (!v->bus) {
		return -1;
	}
	const char *subs[] = { "ctl.done", "ctl.tick", "ctl.end", "ctl.ack", "scn.ack", "scn.cmd/apply", "ctl.status" };
	for (size_t i = 0; i < sizeof(subs) / sizeof(*subs); i++) {
		fs_bus_subscribe(v->bus, subs[i]);
	}
	if (fs_bus_handshake(v->bus, 30000) < 0) {
		fs_error("the replay's bus did not answer");
		return -1;
	}
	bool conductor_up = false;
	int64_t up_deadline = fs_clock_now_ms() + 30000;
	while (!conductor_up && !stop && fs_clock_now_ms() < up_deadline && run_alive(run, NULL)) {
		struct fs_bus_message *msg = NULL;
		if (fs_bus_recv(v->bus, &msg, 100) == 0) {
			conductor_up = fs_control_msg_kind(msg->env) == FS_CONTROL_STATUS &&
				       !strcmp(msg->env->sender, "conductor");
			handle(v, msg);
			fs_bus_message_free(msg);
		}
	}
	if (!conductor_up) {
		fs_error("the replay's conductor did not come up:");
		show_log(run);
		return -1;
	}
	return 0;
}

/*
 * Compare the run's TickDones as they come until it is past the last
 * recorded tick, diverged, or ended; then what is queued. 0, or -1 (said why).
 */
static int follow(struct verify *v, struct run *run, double timeout_s)
{
	int64_t give_up = fs_clock_now_ms() + (int64_t)(timeout_s * 1000);
	int run_status = 0;
	bool exited = false;
	while (!stop) {
		if (fs_clock_now_ms() > give_up) {
			fs_error("timed out after %g s at tick %" PRIu64, timeout_s, v->current_tick);
			return -1;
		}
		struct fs_bus_message *msg = NULL;
		int rc = fs_bus_recv(v->bus, &msg, 200);
		if (rc == 0) {
			handle(v, msg);
			fs_bus_message_free(msg);
		} else if (!run_alive(run, &run_status)) {
			exited = true;
			break;
		}
		/* Everything recorded is compared once the run is past the last recorded tick. */
		bool past = v->current_tick > v->rec->max_tick;
		if (v->diverged && v->current_tick > v->first_bad_tick + 1) {
			break; /* every TickDone of the bad tick is in: its tick is over */
		}
		if (past || v->ended) {
			break;
		}
	}
	if (exited && !v->ended && (!WIFEXITED(run_status) || WEXITSTATUS(run_status) != 0)) {
		fs_error("the replayed run failed:");
		show_log(run);
		return -1;
	}
	/* Drain what is already queued (the last tick's TickDones). */
	struct fs_bus_message *msg = NULL;
	while (fs_bus_recv(v->bus, &msg, 300) == 0) {
		handle(v, msg);
		fs_bus_message_free(msg);
	}
	return 0;
}

/* Say what the comparison found; the exit status. */
static int verdict(const struct verify *v, size_t expected)
{
	const struct recording *rec = v->rec;
	int status;
	uint64_t missing = 0;
	for (size_t i = 0; i < rec->n_done; i++) {
		missing += !rec->done[i].seen && (!v->diverged || rec->done[i].tick <= v->first_bad_tick);
	}
	if (v->diverged) {
		printf("DIVERGED at tick %" PRIu64 ":\n%s\n", v->first_bad_tick, v->bad);
		if (v->events_differ) {
			printf("note: the scenario events applied at tick %" PRIu64
			       " differ from the recorded ones (scn.cmd/apply)\n",
			       v->events_diff_tick);
		}
		printf("replay: %" PRIu64 " state hashes compared up to tick %" PRIu64 ", %" PRIu64 " differ\n",
		       v->compared, v->first_bad_tick, v->mismatched_hashes);
		status = REPLAY_DIVERGED;
	} else if (missing) {
		printf("INCOMPLETE: %" PRIu64 " recorded state hashes were never produced by the replay "
		       "(it ended at tick %" PRIu64 ")\n",
		       missing, v->current_tick);
		status = REPLAY_DIVERGED;
	} else if (v->events_differ) {
		printf("DIVERGED: the scenario events applied at tick %" PRIu64 " differ from the recorded ones, "
		       "though every state hash matched\n",
		       v->events_diff_tick);
		status = REPLAY_DIVERGED;
	} else if (rec->truncated) {
		printf("identical as far as it was recorded: %" PRIu64 " state hashes of ticks 0..%" PRIu64
		       " (%zu participant(s)) match; the recording was cut short after byte %" PRIu64
		       " (its recorder stopped before the run ended), so later ticks were not checked\n",
		       v->compared, rec->max_tick, expected, rec->valid_bytes);
		status = REPLAY_IDENTICAL_AS_FAR_AS_RECORDED;
	} else {
		printf("identical: %" PRIu64 " state hashes of ticks 0..%" PRIu64 " (%zu participant(s)) match the "
		       "recording\n",
		       v->compared, rec->max_tick, expected);
		status = REPLAY_IDENTICAL;
	}
	if (v->unrecorded) {
		printf("note: %" PRIu64 " state hashes of the replay were not in the recording (lost while recording)\n",
		       v->unrecorded);
	}
	return status;
}

/* Start the run, attach, inject the recorded commands, resume, compare: the exit status. */
static int replay(struct recording *rec, const struct replay_args *a, struct run *run)
{
	size_t expected = 0;
	for (size_t i = 0; i < rec->n_done && rec->done[i].tick == rec->done[0].tick; i++) {
		expected++;
	}
	fs_info("%s: %zu state hashes of ticks 0..%" PRIu64 " from %zu participant(s), %zu live command(s)%s", a->file,
		rec->n_done, rec->max_tick, expected, rec->n_inj, rec->truncated ? " (recording cut short)" : "");
	if (!make_dir(a->keep, run->dir, sizeof(run->dir))) {
		fs_error("cannot create a directory for the replay");
		return REPLAY_CANNOT;
	}
	fs_service_catch_stop(&stop);
	run->pid = start_run(rec, a->n_override, a->override, run);
	if (run->pid < 0) {
		return REPLAY_CANNOT;
	}
	int status = REPLAY_CANNOT;
	struct verify v = { .rec = rec };
	if (attach(&v, run) < 0 || reinject(&v, run) < 0) {
		goto out;
	}
	if (send_command(&v, FS_COMMAND_RESUME, run) != 0) {
		fs_error("the replay's conductor did not resume");
		goto out;
	}
	if (follow(&v, run, a->timeout_s) == 0) {
		status = verdict(&v, expected);
	}
out:
	fs_bus_close(v.bus);
	fs_control_msg_finish(&v.out);
	fs_control_in_finish(&v.in);
	stop_run(run);
	if (!a->keep && run->dir[0]) {
		remove_dir(run->dir);
	}
	return status;
}

int main(int argc, char **argv)
{
	if (fs_service_begin_as(argc, argv, "fs-replay", "fleetsim replay", &program)) {
		return 0;
	}
	struct replay_args a = { .timeout_s = 1800 };
	int rc = parse_args(argc, argv, &a);
	if (rc != FS_SERVICE_GO_ON) {
		return rc;
	}
	struct recording rec = { 0 };
	if (read_recording(a.file, &rec) < 0) {
		return REPLAY_CANNOT;
	}
	int status = check_recording(&rec, &a);
	if (status == FS_SERVICE_GO_ON) {
		struct run run = { 0 };
		status = replay(&rec, &a, &run);
	}
	free_recording(&rec);
	return status;
}
