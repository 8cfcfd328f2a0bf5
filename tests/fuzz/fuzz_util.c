/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t path_size)
{
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	snprintf(path, path_size, "/proc/self/fd/%d", fd);
	return fd;
}

void fuzz_report(const char *target, const char *outcome)
{
	static int verbose = -1;
	if (verbose < 0) {
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	}
	if (verbose) {
		fprintf(stderr, "%s: %s\n", target, outcome);
	}
}

void fuzz_check_network(const struct fs_network *net)
{
	for (uint32_t e = 0; e < net->edge_count; e++) {
		const struct fs_edge *ed = &net->edges[e];
		if (ed->from >= net->node_count || ed->to >= net->node_count || !(ed->length_m >= 0.0)) {
			abort();
		}
	}
	for (uint32_t i = 0; i < net->banned_turn_count; i++) {
		const struct fs_turn *t = &net->banned_turns[i];
		if (t->from >= net->edge_count || t->to >= net->edge_count ||
		    net->edges[t->from].to != net->edges[t->to].from || fs_network_turn_allowed(net, t->from, t->to)) {
			abort(); /* every banned turn meets, and the lookup finds it */
		}
	}
}
