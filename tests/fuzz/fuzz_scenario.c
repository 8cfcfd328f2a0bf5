/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_scenario - a scenario file (YAML) from any bytes: fs_scenario_load_string()
 * either loads it or fails with "name:line:column: reason", never crashes or leaks.
 * Paths in the input resolve against an empty directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/scenario.h"
#include "fs/scenario_load.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fs_scenario sc;
	struct fs_error err = { "" };
	int rc = fs_scenario_load_string((const char *)data, size, "fuzz.yaml", "/nonexistent", &sc, &err);
	fuzz_report("scenario", rc == 0 ? "loaded" : err.message);
	if (rc == 0) {
		fs_scenario_finish(&sc);
	} else if (strncmp(err.message, "fuzz.yaml", 9) != 0) {
		/* every error names the file (and, for content, line and column) */
		fprintf(stderr, "error without the file's name: %s\n", err.message);
		abort();
	}
	return 0;
}
