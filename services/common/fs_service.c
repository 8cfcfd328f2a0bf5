/* SPDX-License-Identifier: Apache-2.0 */
/* fs_service.c - the shared part of every fleetsim program's main (fs_service.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fs_args.h"
#include "fs_log.h"
#include "fs_scenario_msg.h"
#include "fs_service.h"

#define MAX_OPTS 64

void fs_service_rename(char **argv, const char *name)
{
	fs_log_init(name, FS_LOG_INFO);
	argv[0] = (char *)name; /* getopt names the program in its one-line complaint */
}

bool fs_service_begin(int argc, char **argv, const char *program)
{
	fs_service_rename(argv, program);
	return fs_args_version(argc, argv, program);
}

bool fs_service_begin_as(int argc, char **argv, const char *program, const char *alias, const char **ret_name)
{
	*ret_name = !strcmp(argv[0], alias) ? alias : program;
	fs_service_rename(argv, *ret_name);
	return fs_args_version(argc, argv, program);
}

int fs_service_scenario(const char *path, struct fs_scenario *sc, int (*merge)(void *args, const struct fs_scenario *sc),
			void *args)
{
	if (fs_scenario_msg_load(path, sc) < 0) {
		return 2; /* the loader said where and why */
	}
	if (merge(args, sc) < 0) {
		fs_scenario_finish(sc);
		return 2;
	}
	return 0;
}

static bool choice_index(const struct fs_opt *o, const char *arg, int *ret)
{
	for (int i = 0;; i++) {
		const char *name = o->choices ? o->choices[i] : o->choice_name(i);
		if (!name) {
			return false;
		}
		if (!strcmp(name, arg)) {
			*ret = i;
			return true;
		}
	}
}

/* One option's value into its target; false after saying why. */
static bool take(const struct fs_opt *o, const char *arg, const char *typed)
{
	uint64_t u;
	double x;
	int index;
	bool ok = true;
	switch (o->kind) {
	case FS_OPT_STRING:
		*(const char **)o->target = arg;
		break;
	case FS_OPT_SET:
		*(bool *)o->target = true;
		break;
	case FS_OPT_U64:
	case FS_OPT_U32: {
		uint64_t max = o->max ? o->max : o->kind == FS_OPT_U32 ? UINT32_MAX : UINT64_MAX;
		ok = fs_args_u64(arg, &u) && u >= o->min && u <= max;
		if (ok && o->kind == FS_OPT_U64) {
			*(uint64_t *)o->target = u;
		} else if (ok) {
			*(uint32_t *)o->target = (uint32_t)u;
		}
		break;
	}
	case FS_OPT_DOUBLE:
		ok = fs_args_double(arg, &x) && (o->lo_open ? x > o->lo : x >= o->lo) && x <= o->hi;
		if (ok) {
			*(double *)o->target = x;
		}
		break;
	case FS_OPT_CHOICE:
		ok = choice_index(o, arg, &index);
		if (ok) {
			*(int *)o->target = index;
		}
		break;
	case FS_OPT_CALL:
		return o->call(o->target, arg) == 0; /* it said why */
	}
	if (!ok) {
		fs_error("%s: '%s' is not %s", typed, arg, o->what);
		return false;
	}
	return true;
}

int fs_service_take_speed(void *target, const char *arg)
{
	if (!fs_args_speed(arg, target)) {
		fs_error("--speed: '%s' is not 'max' or a positive factor", arg);
		return 2;
	}
	return 0;
}

int fs_service_parse(const struct fs_service_spec *spec, int argc, char **argv, int *ret_optind)
{
	struct option longs[MAX_OPTS + 2];
	char shorts[2 * MAX_OPTS + 3] = "+h";
	size_t n = 0, ns = 2;
	for (const struct fs_opt *o = spec->opts; o->name; o++, n++) {
		if (n == MAX_OPTS) {
			abort(); /* programmer error: a table this long wants another layout */
		}
		bool has_arg = o->kind != FS_OPT_SET;
		longs[n] = (struct option){ o->name, has_arg ? required_argument : no_argument, NULL, 256 + (int)n };
		if (o->short_name) {
			shorts[ns++] = (char)o->short_name;
			if (has_arg) {
				shorts[ns++] = ':';
			}
		}
	}
	shorts[ns] = '\0';
	const char *getopt_shorts = spec->in_order ? shorts : shorts + 1; /* "+": stop at the first operand */
	longs[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longs[n] = (struct option){ 0 };
	int opt;
	optind = 0; /* 0, not 1: glibc then reads the ordering ("+") of this call afresh */
	while ((opt = getopt_long(argc, argv, getopt_shorts, longs, NULL)) != -1) {
		const struct fs_opt *o = NULL;
		if (opt >= 256) {
			o = &spec->opts[opt - 256];
		}
		for (const struct fs_opt *s = spec->opts; !o && opt != 'h' && opt != '?' && s->name; s++) {
			o = s->short_name == opt ? s : NULL;
		}
		if (opt == 'h' && !o) {
			spec->usage(stdout);
			return 0;
		}
		if (!o) {
			return fs_args_try_help(spec->program);
		}
		char typed[80];
		snprintf(typed, sizeof(typed), "--%s", o->name);
		/* as typed: "--x=5" is one word; in "--x 5" the value is a word of its own */
		const char *as_typed = argv[optind - 1];
		if (optarg == as_typed && optind >= 2) {
			as_typed = argv[optind - 2];
		}
		if (!take(o, optarg, o->as_given ? as_typed : typed)) {
			return 2;
		}
		if (o->given) {
			*o->given = true;
		}
		if (o->text) {
			*o->text = optarg;
		}
	}
	if (!spec->operands && !spec->operands_ignored && optind < argc) {
		fs_error("unexpected argument '%s'%s", argv[optind], spec->unexpected_suffix ? spec->unexpected_suffix : "");
		return 2;
	}
	if (ret_optind) {
		*ret_optind = optind;
	}
	return FS_SERVICE_GO_ON;
}

int fs_service_parse_command(const struct fs_opt *opts, void (*usage)(FILE *out), int argc, char **argv,
			     int *ret_optind)
{
	const struct fs_service_spec spec = { .program = argv[0], .usage = usage, .opts = opts, .operands = true };
	return fs_service_parse(&spec, argc, argv, ret_optind);
}

int fs_service_parse_before_dashes(const struct fs_service_spec *spec, int argc, char **argv, int *ret_optind,
				   int *ret_dashes)
{
	int dd = 1;
	while (dd < argc && strcmp(argv[dd], "--")) {
		dd++;
	}
	int rc = fs_service_parse(spec, dd, argv, ret_optind);
	if (rc == FS_SERVICE_GO_ON) {
		*ret_dashes = dd;
	}
	return rc;
}

static volatile sig_atomic_t *stop_flag;

static void on_stop_signal(int sig)
{
	(void)sig;
	*stop_flag = *stop_flag ? 2 : 1;
}

void fs_service_catch_stop(volatile sig_atomic_t *stop)
{
	stop_flag = stop;
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void fs_service_start(const char *name, volatile sig_atomic_t *stop)
{
	fs_log_init(name, FS_LOG_INFO);
	fs_service_catch_stop(stop);
}

void fs_service_add_results(struct fs_participant *p, const struct fs_service_result *results, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fs_participant_add_result(p, results[i].key, results[i].value);
	}
}

int fs_service_participate(const struct fs_participant_config *cfg, const struct fs_participant_ops *ops, void *ctx,
			   volatile sig_atomic_t *stop)
{
	int rc = fs_participant_run(cfg, ops, ctx, stop);
	return rc == 0 || rc == -EINTR ? 0 : 1;
}
