/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_network_cache - a road network cache file (~/.cache/fleetsim/NAME.fsnet)
 * from any bytes: a truncated, corrupt or foreign file is an error naming the
 * file, never a crash; what loads is a network every query can trust.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/network.h"
#include "fs/network_load.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof(path));
	if (fd < 0) {
		return 0;
	}
	struct fs_error err = { "" };
	struct fs_network *net = fs_network_load_cache(path, &err);
	fuzz_report("network_cache", net ? "loaded" : err.message);
	if (net) {
		fuzz_check_network(net);
		fs_network_destroy(net);
	} else if (!strstr(err.message, path)) {
		fprintf(stderr, "error without the file's name: %s\n", err.message);
		abort();
	}
	close(fd);
	return 0;
}
