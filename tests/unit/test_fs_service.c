/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared option loop of every fleetsim program (services/common/fs_service.h):
 * each kind of option lands in its target, within its bounds; a flag given
 * is marked given (it then overrides the scenario); a bad value, an unknown
 * option or a stray argument is a usage error (2), --help is 0; the
 * scenario's values fill in what no flag gave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs/scenario.h"
#include "fs_args.h"
#include "fs_service.h"

struct args {
	const char *bus, *text;
	bool set, seed_given, count_given;
	uint64_t seed;
	uint32_t count, limit;
	double seconds;
	int choice, phase;
};

static int helps;
static void usage(FILE *out)
{
	(void)out;
	helps++;
}

static int parse(struct args *a, int argc, char **argv, int *ret_optind, bool operands)
{
	static const char *const colours[] = { "red", "green", NULL };
	const struct fs_opt opts[] = {
		{ "bus", FS_OPT_STRING, &a->bus },
		{ "set", FS_OPT_SET, &a->set },
		{ "seed", FS_OPT_U64, &a->seed, &a->seed_given, .what = "a non-negative integer" },
		{ "count", FS_OPT_U32, &a->count, &a->count_given, .min = 1, .max = 10, .what = "a count" },
		{ "seconds", FS_OPT_DOUBLE, &a->seconds, .lo_open = true, .hi = 60, .what = "a positive time" },
		{ "colour", FS_OPT_CHOICE, &a->choice, .choices = colours, .text = &a->text, .what = "red or green" },
		{ "phase", FS_OPT_CHOICE, &a->phase, .choice_name = fs_scenario_phase_name, .what = "a phase" },
		{ "limit", FS_OPT_U32, &a->limit, .min = 1, .max = 9, .what = "a limit", .as_given = true },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "test", .usage = usage, .opts = opts, .operands = operands };
	return fs_service_parse(&spec, argc, argv, ret_optind);
}

static void options_land_in_their_targets(void **state)
{
	char *argv[] = { "test", "--bus=ipc:///x", "--set", "--seed", "42", "--count=10", "--seconds", "0.5",
			 "--colour", "green", "--phase", "supervised", NULL };
	struct args a = { .phase = -1 };
	assert_int_equal(parse(&a, 12, argv, NULL, false), FS_SERVICE_GO_ON);
	assert_string_equal(a.bus, "ipc:///x");
	assert_true(a.set);
	assert_int_equal(a.seed, 42);
	assert_true(a.seed_given);
	assert_int_equal(a.count, 10);
	assert_true(a.count_given);
	assert_true(a.seconds == 0.5);
	assert_int_equal(a.choice, 1);
	assert_string_equal(a.text, "green");
	assert_int_equal(a.phase, 1); /* enum fs_city_phase order */
}

static void a_flag_not_given_is_not_marked(void **state)
{
	char *argv[] = { "test", "--count", "3", NULL };
	struct args a = { .seed = 7 };
	assert_int_equal(parse(&a, 3, argv, NULL, false), FS_SERVICE_GO_ON);
	assert_false(a.seed_given);
	assert_int_equal(a.seed, 7);
	assert_true(a.count_given);
}

static void bad_values_are_usage_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "--seed", "-1" },   { "--seed", "x" },	 { "--count", "0" },	{ "--count", "11" },
		{ "--seconds", "0" }, { "--seconds", "61" }, { "--colour", "blue" }, { "--phase", "none" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { "test", (char *)bad[i][0], (char *)bad[i][1], NULL };
		struct args a = { 0 };
		assert_int_equal(parse(&a, 3, argv, NULL, false), 2);
		assert_false(a.seed_given || a.count_given);
	}
	char *unknown[] = { "test", "--nope", NULL };
	struct args a = { 0 };
	assert_int_equal(parse(&a, 2, unknown, NULL, false), 2);
}

/* What parse() of @argv says on stderr, into @buf. */
static void error_of(char **argv, int argc, char *buf, size_t size)
{
	char path[] = "/tmp/fs-test-service-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	struct args a = { 0 };
	assert_int_equal(parse(&a, argc, argv, NULL, false), 2);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

/* An option whose error names it as typed names the option, not its value. */
static void errors_name_the_option_as_typed(void **state)
{
	char out[512];
	char *apart[] = { "test", "--limit", "0", NULL };
	error_of(apart, 3, out, sizeof(out));
	assert_non_null(strstr(out, "--limit: '0' is not a limit"));
	char *joined[] = { "test", "--limit=10", NULL };
	error_of(joined, 2, out, sizeof(out));
	assert_non_null(strstr(out, "--limit=10: '10' is not a limit"));
}

static void help_and_operands(void **state)
{
	char *help[] = { "test", "--seed", "1", "-h", NULL };
	struct args a = { 0 };
	helps = 0;
	assert_int_equal(parse(&a, 4, help, NULL, false), 0);
	assert_int_equal(helps, 1);
	char *stray[] = { "test", "file.mcap", NULL };
	assert_int_equal(parse(&a, 2, stray, NULL, false), 2);
	int first = 0;
	char *file[] = { "test", "file.mcap", "--set", NULL };
	struct args b = { 0 };
	assert_int_equal(parse(&b, 3, file, &first, true), FS_SERVICE_GO_ON);
	assert_true(b.set);
	assert_string_equal(file[first], "file.mcap"); /* getopt moved it after the options */
}

/* fleetctl inject --event TYPE KEY=VALUE...: what follows the first operand is operands, "-"s and all. */
static void in_order_options_end_at_the_first_operand(void **state)
{
	bool set = false;
	uint64_t seed = 0;
	const struct fs_opt opts[] = {
		{ "set", FS_OPT_SET, &set },
		{ "seed", FS_OPT_U64, &seed, .what = "a seed" },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "test", .usage = usage, .opts = opts, .operands = true,
					      .in_order = true };
	char *argv[] = { "test", "--set", "key=value", "--seed", "5", NULL };
	int first = 0;
	assert_int_equal(fs_service_parse(&spec, 5, argv, &first), FS_SERVICE_GO_ON);
	assert_true(set);
	assert_int_equal(seed, 0);
	assert_int_equal(first, 2);
	assert_string_equal(argv[3], "--seed"); /* not moved: an operand */
}

static void speed_is_a_positive_factor_or_max(void **state)
{
	double speed = 1;
	const struct fs_opt opts[] = {
		{ "speed", FS_OPT_CALL, &speed, .call = fs_service_take_speed },
		{ 0 },
	};
	const struct fs_service_spec spec = { .program = "test", .usage = usage, .opts = opts };
	char *fast[] = { "test", "--speed", "60", NULL };
	assert_int_equal(fs_service_parse(&spec, 3, fast, NULL), FS_SERVICE_GO_ON);
	assert_true(speed == 60);
	char *max[] = { "test", "--speed=max", NULL };
	assert_int_equal(fs_service_parse(&spec, 2, max, NULL), FS_SERVICE_GO_ON);
	assert_true(speed == 0);
	char *zero[] = { "test", "--speed", "0", NULL };
	assert_int_equal(fs_service_parse(&spec, 3, zero, NULL), 2);
}

/* fleetctl's and fs-rec's options before the command: --bus ADDR, --bus=ADDR; a last --bus has no value. */
static void an_option_before_the_command_takes_its_value(void **state)
{
	char *argv[] = { "fleetctl", "--bus", "ipc:///a", "--curve-server=KEY", "--busy=1", "--bus", NULL };
	const char *bus = NULL, *key = NULL;
	int i = 1;
	assert_true(fs_args_value(6, argv, &i, "--bus", &bus));
	assert_string_equal(bus, "ipc:///a");
	assert_int_equal(i, 3);
	assert_false(fs_args_value(6, argv, &i, "--bus", &bus));
	assert_true(fs_args_value(6, argv, &i, "--curve-server", &key));
	assert_string_equal(key, "KEY");
	assert_int_equal(i, 4);
	assert_false(fs_args_value(6, argv, &i, "--bus", &bus)); /* --busy is another option */
	i = 5;
	assert_false(fs_args_value(6, argv, &i, "--bus", &bus));
	assert_int_equal(i, 5);
	assert_string_equal(bus, "ipc:///a");
}

/* The launcher's and the recorder's look for the run's scenario: the last one given, either spelling. */
static void the_last_value_of_an_option_is_found(void **state)
{
	char *argv[] = { "--seed", "1", "--scenario", "a.yaml", "--shards=2", "--scenario=b.yaml", "--scenario", NULL };
	assert_string_equal(fs_args_last_value(6, argv, "--scenario"), "b.yaml");
	assert_string_equal(fs_args_last_value(4, argv, "--scenario"), "a.yaml");
	assert_string_equal(fs_args_last_value(7, argv, "--scenario"), "b.yaml"); /* a last --scenario has no value */
	assert_null(fs_args_last_value(2, argv, "--scenario"));
	assert_null(fs_args_last_value(7, argv, "--shard"));
}

static int merge_seed(void *args, const struct fs_scenario *sc)
{
	struct args *a = args;
	a->seed = a->seed_given ? a->seed : sc->seed;
	return a->seed == 13 ? -1 : 0;
}

static void the_scenario_fills_in_what_no_flag_gave(void **state)
{
	struct fs_scenario sc;
	struct args a = { 0 };
	assert_int_equal(fs_service_scenario(NULL, &sc, merge_seed, &a), 0);
	assert_int_equal(a.seed, sc.seed); /* the defaults' (examples/default.yaml) */
	fs_scenario_finish(&sc);
	struct args given = { .seed = 99, .seed_given = true };
	assert_int_equal(fs_service_scenario(NULL, &sc, merge_seed, &given), 0);
	assert_int_equal(given.seed, 99);
	fs_scenario_finish(&sc);
	struct args refused = { .seed = 13, .seed_given = true };
	assert_int_equal(fs_service_scenario(NULL, &sc, merge_seed, &refused), 2); /* and @sc is freed */
	assert_int_equal(fs_service_scenario("/nonexistent/scenario.yaml", &sc, merge_seed, &a), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(options_land_in_their_targets),
		cmocka_unit_test(a_flag_not_given_is_not_marked),
		cmocka_unit_test(bad_values_are_usage_errors),
		cmocka_unit_test(errors_name_the_option_as_typed),
		cmocka_unit_test(help_and_operands),
		cmocka_unit_test(in_order_options_end_at_the_first_operand),
		cmocka_unit_test(speed_is_a_positive_factor_or_max),
		cmocka_unit_test(an_option_before_the_command_takes_its_value),
		cmocka_unit_test(the_last_value_of_an_option_is_found),
		cmocka_unit_test(the_scenario_fills_in_what_no_flag_gave),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
