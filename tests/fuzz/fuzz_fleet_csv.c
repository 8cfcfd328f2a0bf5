/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_fleet_csv - a fleet placement file (scenario fleet.placement) from any
 * bytes, on a 3 x 3 grid: fs_fleet_placement_load_csv() either places
 * vehicles 0..n-1, each once, on nodes of the network with a state of charge
 * in 0..1 (or none), or names file:line:column.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/fleet_placement.h"
#include "fs/fleet_placement_load.h"
#include "fs/network.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fs_network *net;
	if (!net && !(net = fs_network_grid(3, 3, 100.0, 10.0, NULL))) {
		abort();
	}
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof(path));
	if (fd < 0) {
		return 0;
	}
	struct fs_fleet_placement *fleet = NULL;
	size_t n = 0;
	struct fs_error err = { "" };
	int rc = fs_fleet_placement_load_csv(path, net, NULL, &fleet, &n, &err);
	fuzz_report("fleet_csv", rc == 0 ? "loaded" : err.message);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++) {
			const struct fs_fleet_placement *v = &fleet[i];
			if (v->vehicle_id != i || v->node >= net->node_count || v->pos.edge >= net->edge_count ||
			    net->edges[v->pos.edge].to != v->node || (!isnan(v->soc) && !(v->soc >= 0.0 && v->soc <= 1.0))) {
				abort();
			}
		}
		free(fleet);
	} else if (!strstr(err.message, path)) {
		fprintf(stderr, "error without the file's name: %s\n", err.message);
		abort();
	}
	close(fd);
	return 0;
}
