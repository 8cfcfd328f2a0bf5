/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run_plan.h - the processes of a run and their command lines, as data.
 *
 * `fleetsim run` is plan -> spawn -> supervise (run.c): the plan says which
 * children a run has (broker, recorder, conductor, one vehicle node per
 * shard, dispatch, production, viewer), in the order they start, and each
 * one's argv. It is built from the run's options and the programs found,
 * starts nothing, and can be checked without a bus (tests/unit/test_run_plan.c).
 * `fleetsim join` execs one participant's argv from the same builders.
 */
#ifndef RUN_PLAN_H
#define RUN_PLAN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "fs_bus.h"
#include "supervisor.h"

/* [est] Each shard is a process with its own copy of the road network; more than there are
 * cores only adds lockstep overhead. 256 starts in 3 s on a 6x6 grid (2 cores). */
#define MAX_SHARDS 256
#define MAX_ARGS 64
#define MAX_REMOTE (MAX_SHARDS + 2) /* every shard, dispatch and production */

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

/* A command line being built: items[count] is NULL. */
struct plan_argv {
	char *items[MAX_ARGS + 1];
	int count;
};

/* One process of the run. */
struct plan_child {
	char name[64];
	enum child_kind kind;
	struct plan_argv argv;
};

/* Where the programs of a run are, and which optional ones this build has. */
struct run_programs {
	char broker[PATH_MAX], conductor[PATH_MAX], recorder[PATH_MAX], viewer[PATH_MAX];
	bool with_dispatch, with_production; /* services join the run as they are built; none is imitated */
};

struct run_plan {
	struct plan_child *children; /* in start order */
	int count;
};

/**
 * Plan the run of @o (its address set) on road network @network (a path or
 * spec, resolve_network()). @keys: a tcp run's key directory (else NULL);
 * @recorder_ready: the file the recorder creates once it listens (with
 * --record). Returns 0 or -ENOMEM; run_plan_finish() in either case.
 */
int run_plan_build(struct run_plan *plan, const struct run_options *o, const struct run_programs *progs,
		   const char *network, const char *keys, const char *recorder_ready);
void run_plan_finish(struct run_plan *plan);

/** A vehicle shard's command line (`fleetsim run` starts it; `fleetsim join` runs it on another host). */
void plan_vehicle_argv(struct plan_argv *a, const struct run_options *o, const char *network, uint64_t shard,
		       bool with_dispatch);
void plan_dispatch_argv(struct plan_argv *a, const struct run_options *o, const char *network);
/** Deliveries continue the vehicle ids after the initial fleet. */
void plan_production_argv(struct plan_argv *a, const struct run_options *o);
void plan_argv_free(struct plan_argv *a);

/** Resolve a city name to its shipped OSM file; anything else passes through. */
void resolve_network(const char *spec, char *buf, size_t size);
/** Does participant @name join from another host (--remote)? */
bool is_remote(const struct run_options *o, const char *name);

#endif
