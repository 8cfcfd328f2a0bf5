/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_demand_csv - a trip-record file for demand replay (--demand-replay,
 * scenario demand.replay) from any bytes: fs_demand_replay_csv() either
 * appends every request, in time order, or names file:line:column and
 * leaves the batch as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/demand.h"
#include "fs/demand_load.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof(path));
	if (fd < 0) {
		return 0;
	}
	struct fs_projection proj;
	fs_projection_init(&proj, 33.7490, -84.3880); /* Atlanta */
	struct fs_demand_replay_params params = { .proj = &proj };
	struct fs_demand_batch out = { 0 };
	struct fs_error err = { "" };
	int64_t n = fs_demand_replay_csv(path, &params, &out, &err);
	fuzz_report("demand_csv", n >= 0 ? "loaded" : err.message);
	if (n >= 0) {
		if ((size_t)n != out.count) {
			abort();
		}
		for (size_t i = 1; i < out.count; i++) {
			if (out.items[i].t_ms < out.items[i - 1].t_ms) {
				abort(); /* ordered by time */
			}
		}
	} else if (out.count != 0 || !strstr(err.message, path)) {
		fprintf(stderr, "batch changed or error without the file's name: %s\n", err.message);
		abort();
	}
	fs_demand_batch_finish(&out);
	close(fd);
	return 0;
}
