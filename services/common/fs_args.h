/* SPDX-License-Identifier: Apache-2.0 */
/* fs_args.h - parsing of command-line values shared by the fleetsim programs. */
#ifndef FS_ARGS_H
#define FS_ARGS_H

#include <stdbool.h>
#include <stdint.h>

/** The digits of a number macro, for an option's "is not WHAT": FS_ARGS_STR(MAX_REPS) is "15". */
#define FS_ARGS_STR_(x) #x
#define FS_ARGS_STR(x) FS_ARGS_STR_(x)

/** Parse a non-negative integer (decimal); false on junk or overflow. */
bool fs_args_u64(const char *text, uint64_t *ret);
/** Parse a finite double. */
bool fs_args_double(const char *text, double *ret);
/**
 * Parse a duration into milliseconds: "90" (seconds), "90s", "15m", "2h",
 * "1d", "1h30m", "250ms".
 */
bool fs_args_duration_ms(const char *text, uint64_t *ret);
/** Parse a speed: "max" (0) or a positive factor such as "60" or "0.5". */
bool fs_args_speed(const char *text, double *ret);
/**
 * If an argument before "--" is --version, print "@program VERSION" (the
 * project version from meson.build) on stdout and return true: every fleetsim
 * program answers --version so, wherever it stands among the options.
 */
bool fs_args_version(int argc, char **argv, const char *program);

/**
 * One option read by hand, where getopt cannot be (the options before a
 * command, `fleetctl --bus ADDR echo`; a look for --scenario in a command
 * line that is passed on): if argv[*@i] is "@name VALUE" (VALUE a word of
 * its own) or "@name=VALUE", *@ret gets VALUE, *@i moves past it and the
 * answer is true.
 */
bool fs_args_value(int argc, char **argv, int *i, const char *name, const char **ret);
/** The VALUE of the last "@name VALUE" or "@name=VALUE" among the @argc words of @argv, or NULL. */
const char *fs_args_last_value(int argc, char **argv, const char *name);

/**
 * After getopt_long() refused an option (it printed one line naming it, with
 * argv[0] as the program: set that to the full command, e.g. "fleetctl echo"):
 * add where help is, instead of the whole help text. Returns 2, the exit
 * status of a usage error.
 */
int fs_args_try_help(const char *command);

#endif
