/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_service.h - the one way to write a fleetsim program's main.
 *
 * What every service's main needs and none should spell out again: its name
 * on its logs and in getopt's complaints, --version and --help, the option
 * loop with the usual checks and messages, which options the command line
 * gave (a given flag overrides the scenario; the rest comes from the file),
 * the stop signals, and a participant's exit status. A main then reads:
 *
 *	if (fs_service_begin(argc, argv, "fs-dispatch")) {
 *		return 0; // it printed the version
 *	}
 *	int rc = fs_service_parse(&spec, argc, argv, NULL);
 *	if (rc != FS_SERVICE_GO_ON) {
 *		return rc; // 0 after --help, 2 after a usage error (said why)
 *	}
 *	if (fs_service_scenario(a.scenario, &sc, merge_scenario, &a) != 0) {
 *		return 2; // the flags win; the scenario fills in the rest
 *	}
 *	fs_service_catch_stop(&stop);
 *	return fs_service_participate(&pcfg, &ops, ctx, &stop);
 *
 * An option table says, per option, its kind, where its value goes, its
 * bounds and the words of its error: "--NAME: 'ARG' is not WHAT".
 */
#ifndef FS_SERVICE_H
#define FS_SERVICE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fs_participant.h"

/** fs_service_parse(): go on with the program (else: exit with the status returned). */
#define FS_SERVICE_GO_ON (-1)

enum fs_opt_kind {
	FS_OPT_STRING, /* const char *: the argument itself */
	FS_OPT_SET,    /* bool, no argument: true */
	FS_OPT_U64,    /* uint64_t in [min, max] */
	FS_OPT_U32,    /* uint32_t in [min, max] */
	FS_OPT_DOUBLE, /* double in [lo, hi] (lo excluded with lo_open) */
	FS_OPT_CHOICE, /* int: the index of the argument in choices */
	FS_OPT_CALL,   /* call(target, argument): 0, or 2 after saying why */
};

struct fs_opt {
	const char *name;   /* long name, without "--" */
	enum fs_opt_kind kind;
	void *target;       /* where the value goes (FS_OPT_CALL: call's first argument) */
	bool *given;        /* set true when the option appears; may be NULL */
	uint64_t min, max;  /* FS_OPT_U64, FS_OPT_U32: inclusive bounds (max 0 = the type's) */
	double lo, hi;      /* FS_OPT_DOUBLE */
	bool lo_open;       /* FS_OPT_DOUBLE: lo itself is refused */
	const char *what;   /* the error's "is not WHAT" (FS_OPT_CHOICE: "batch or greedy") */
	bool as_given;      /* the error names the option as typed ("--x=5"), not "--x" */
	const char *const *choices; /* FS_OPT_CHOICE: NULL-terminated, or: */
	const char *(*choice_name)(int index); /* FS_OPT_CHOICE: NULL past the last */
	int (*call)(void *target, const char *arg);
	int short_name;     /* also -C (0: none) */
	const char **text;  /* also the argument as typed, once checked (may be NULL) */
};

/** An FS_OPT_CALL for --speed X|max: the pace (a double: X, or 0 for max) into target. */
int fs_service_take_speed(void *target, const char *arg);

struct fs_service_spec {
	const char *program;        /* in "Try 'PROGRAM --help'" */
	void (*usage)(FILE *out);   /* --help and -h print it on stdout */
	const struct fs_opt *opts;  /* ends with { 0 } */
	/*
	 * Arguments that are not options: NULL refuses any ("unexpected argument
	 * 'X'" + this suffix); otherwise the caller takes them from *ret_optind.
	 */
	const char *unexpected_suffix;
	bool operands;              /* the caller takes the operands */
	bool operands_ignored;      /* no check at all (kept for fs-vehicle's command line) */
	bool in_order;              /* the options end at the first operand (all after it are operands) */
};

/**
 * Name the program @program on its logs and in getopt's complaints
 * (argv[0]), then answer --version. True: the version was printed, exit 0.
 */
bool fs_service_begin(int argc, char **argv, const char *program);
/**
 * As fs_service_begin(), for a program another one runs as its command
 * (fleetctl execs fs-recorder with argv[0] "fleetctl record"): when argv[0]
 * is @alias the program goes by that name, else by @program; --version
 * answers as @program. *@ret_name gets the name it goes by.
 */
bool fs_service_begin_as(int argc, char **argv, const char *program, const char *alias, const char **ret_name);
/** Name the program @name on its logs and in getopt's complaints. */
void fs_service_rename(char **argv, const char *name);

/**
 * Read the options of @spec from @argv (up to @argc: a program with a "--"
 * passes its position). Returns FS_SERVICE_GO_ON, or the exit status: 0
 * after --help, 2 after a bad option (logged). *@ret_optind, if not NULL,
 * gets the index of the first operand.
 */
int fs_service_parse(const struct fs_service_spec *spec, int argc, char **argv, int *ret_optind);
/**
 * fs_service_parse() for a command of a program with several (fleetctl hz,
 * fs-rec info): it goes by argv[0] ("fleetctl hz"), @usage answers --help,
 * and the caller takes the operands from *@ret_optind.
 */
int fs_service_parse_command(const struct fs_opt *opts, void (*usage)(FILE *out), int argc, char **argv,
			     int *ret_optind);
/**
 * As fs_service_parse(), for a program whose arguments after a "--" are
 * another command line: reads the options before it. *@ret_dashes gets the
 * index of the "--" in @argv (@argc when there is none).
 */
int fs_service_parse_before_dashes(const struct fs_service_spec *spec, int argc, char **argv, int *ret_optind,
				   int *ret_dashes);

struct fs_scenario;

/**
 * The scenario @path (NULL: the defaults, examples/default.yaml) into @sc,
 * then @merge(@args, @sc) takes its values where no flag gave one. Returns
 * 0, or 2 (said why, with file:line:column; @sc freed).
 */
int fs_service_scenario(const char *path, struct fs_scenario *sc, int (*merge)(void *args, const struct fs_scenario *sc),
			void *args);

/**
 * SIGINT and SIGTERM set *@stop: 1 the first time, 2 after that (a second
 * Ctrl-C may mean "now"). One flag per process.
 */
void fs_service_catch_stop(volatile sig_atomic_t *stop);

/**
 * From here on the program goes by @name on its logs (its participant name,
 * "vehicle-3") and a stop signal sets *@stop (fs_service_catch_stop()).
 */
void fs_service_start(const char *name, volatile sig_atomic_t *stop);

/** A figure a service reports at the end of the run, by name (its results in summary.json). */
struct fs_service_result {
	const char *key;
	double value;
};

/** fs_participant_add_result() of each of the @n @results, in order. */
void fs_service_add_results(struct fs_participant *p, const struct fs_service_result *results, size_t n);
/** fs_service_add_results() of a whole array. */
#define FS_SERVICE_RESULTS(p, array) fs_service_add_results((p), (array), sizeof(array) / sizeof((array)[0]))

/** Run the lockstep loop until the run ends or *@stop; the exit status (0 or 1). */
int fs_service_participate(const struct fs_participant_config *cfg, const struct fs_participant_ops *ops, void *ctx,
			   volatile sig_atomic_t *stop);

#endif
