/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_osm_pbf, fuzz_osm_xml - an OpenStreetMap file from any bytes:
 * fs_network_load_osm() loads a consistent road network or names the file and
 * the problem. The PBF path runs fleetsim's own framing pass
 * (fs_network_pbf.c) before readosm, and the XML path expat; which one is
 * chosen by the file name, so the input goes to a temporary file named
 * .osm.pbf or .osm (FUZZ_OSM_SUFFIX, set by meson per target).
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
	static char path[64];
	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/fleetsim-fuzz-%d%s", (int)getpid(), FUZZ_OSM_SUFFIX);
	}
	FILE *f = fopen(path, "wb");
	if (!f) {
		return 0;
	}
	bool written = fwrite(data, 1, size, f) == size;
	if (fclose(f) != 0 || !written) {
		unlink(path);
		return 0;
	}
	struct fs_error err = { "" };
	struct fs_network *net = fs_network_load_osm(path, &err);
	fuzz_report("osm", net ? "loaded" : err.message);
	unlink(path);
	if (net) {
		fuzz_check_network(net);
		fs_network_destroy(net);
	} else if (!strstr(err.message, path)) {
		fprintf(stderr, "error without the file's name: %s\n", err.message);
		abort();
	}
	return 0;
}
