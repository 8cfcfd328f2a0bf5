/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_network_csv - a road network given as CSV (--network csv:NODES,EDGES)
 * from any bytes: the input is split at its first NUL byte into the nodes
 * file and the edges file. fs_network_load_csv() loads a consistent network
 * or names the file, line and field.
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
	const uint8_t *nul = memchr(data, 0, size);
	size_t nodes_len = nul ? (size_t)(nul - data) : size;
	const uint8_t *edges = nul ? nul + 1 : data + size;
	size_t edges_len = (size_t)(data + size - edges);
	char nodes_path[64], edges_path[64];
	int nodes_fd = fuzz_memfile(data, nodes_len, nodes_path, sizeof(nodes_path));
	int edges_fd = fuzz_memfile(edges, edges_len, edges_path, sizeof(edges_path));
	if (nodes_fd >= 0 && edges_fd >= 0) {
		struct fs_error err = { "" };
		struct fs_network *net = fs_network_load_csv(nodes_path, edges_path, &err);
		fuzz_report("network_csv", net ? "loaded" : err.message);
		if (net) {
			fuzz_check_network(net);
			fs_network_destroy(net);
		} else if (!strstr(err.message, nodes_path) && !strstr(err.message, edges_path)) {
			fprintf(stderr, "error without a file's name: %s\n", err.message);
			abort();
		}
	}
	if (nodes_fd >= 0) {
		close(nodes_fd);
	}
	if (edges_fd >= 0) {
		close(edges_fd);
	}
	return 0;
}
