/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_util.h - what the fuzz targets share.
 *
 * Loaders that take a path get the input through an anonymous memory file
 * (memfd), opened by its /proc/self/fd name, so no target writes to disk
 * and parallel runs cannot collide.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "fs/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A memfd holding @size bytes of @data, its /proc/self/fd path in @path; -1 on failure. */
int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t path_size);

/* With FUZZ_VERBOSE set, say what became of an input ("loaded", or the error):
 * to check that seeds reach the paths they are meant to. */
void fuzz_report(const char *target, const char *outcome);

/* Abort unless every edge of @net joins two of its nodes and has a length >= 0:
 * what every loader promises of a network it returns. */
void fuzz_check_network(const struct fs_network *net);

#endif
