/* SPDX-License-Identifier: Apache-2.0 */
/*
 * supervisor.h - start, watch and stop the processes of one run.
 *
 * Children run in their own process groups (a terminal's Ctrl-C reaches only
 * the launcher, which then ends the run in order) and die with the launcher
 * (PR_SET_PDEATHSIG), so no fleetsim process outlives it.
 */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#define SUPERVISOR_MAX_CHILDREN 1100

enum child_kind {
	CHILD_BROKER,
	CHILD_CONDUCTOR,
	CHILD_PARTICIPANT,
	CHILD_OBSERVER, /* viewer: its death does not stop the run */
	CHILD_RECORDER, /* asked for by the user: its death stops the run */
};

struct child {
	char name[64];
	enum child_kind kind;
	pid_t pid;
	bool running;
	int status; /* wait status once it ended */
	struct rusage usage; /* once it ended: its CPU time and peak RSS (wait4) */
};

struct supervisor {
	struct child children[SUPERVISOR_MAX_CHILDREN];
	int count;
	int signal_fd; /* SIGCHLD, SIGINT, SIGTERM, SIGHUP */
	int stops;     /* SIGINT, SIGTERM and SIGHUP read from it and not yet taken */
};

/** Block the signals we handle and open a signalfd for them. Returns 0 or -errno. */
int supervisor_init(struct supervisor *s);
void supervisor_finish(struct supervisor *s);
/** fork+exec argv; returns the child or NULL (logged). */
struct child *supervisor_spawn(struct supervisor *s, const char *name, enum child_kind kind, char *const argv[]);
/**
 * Reap every child that ended; returns how many. Each one's `running` turns
 * false and its status is kept.
 */
int supervisor_reap(struct supervisor *s, struct child **ret_ended, int max);
/** SIGTERM everyone still running, wait up to @grace_ms, then SIGKILL and reap. */
void supervisor_stop_all(struct supervisor *s, int grace_ms);
/** Wait up to @timeout_ms for @c to end. True if it did. */
bool supervisor_wait(struct supervisor *s, struct child *c, int timeout_ms);
/**
 * How many stop signals (SIGINT, SIGTERM, SIGHUP) came since the last call,
 * including those read while waiting in the calls above: none is lost.
 */
int supervisor_take_stops(struct supervisor *s);
/** "exited with status 3", "was killed by signal 9 (Killed)". */
const char *supervisor_describe(int status, char *buf, size_t size);
int supervisor_running(const struct supervisor *s, enum child_kind kind);

#endif
