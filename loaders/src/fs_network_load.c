/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_network_load - a network from a spec string: a synthetic grid, a CSV
 * pair, a cache or an OSM file, by prefix or suffix (fs/network_load.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/alloc.h"
#include "fs/network.h"
#include "fs/network_load.h"

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcasecmp(s + n - k, suffix);
}

struct fs_network *fs_network_load(const char *spec, struct fs_error *err)
{
	if (!strncmp(spec, "grid:", 5)) {
		unsigned long rows, cols;
		double spacing, speed = 40.0 / 3.6; /* residential default, fs_osm_params */
		char tail;
		int got = sscanf(spec + 5, "%lux%lu:%lf:%lf%c", &rows, &cols, &spacing, &speed, &tail);
		if (got != 3 && got != 4) {
			fs_error_set(err, -EINVAL,
				     "%s: expected grid:ROWSxCOLS:SPACING_M[:SPEED_MPS]", spec);
			return NULL;
		}
		if (rows > UINT32_MAX || cols > UINT32_MAX) {
			fs_error_set(err, -EINVAL, "%s: too many rows or columns", spec);
			return NULL;
		}
		return fs_network_grid((uint32_t)rows, (uint32_t)cols, spacing, speed, err);
	}
	if (!strncmp(spec, "csv:", 4)) {
		const char *comma = strchr(spec + 4, ',');
		if (!comma || comma == spec + 4 || !comma[1]) {
			fs_error_set(err, -EINVAL, "%s: expected csv:NODES.csv,EDGES.csv", spec);
			return NULL;
		}
		size_t len = (size_t)(comma - (spec + 4));
		char *nodes = fs_strndup(spec + 4, len);
		if (!nodes) {
			fs_error_set(err, -ENOMEM, "%s: out of memory", spec);
			return NULL;
		}
		struct fs_network *net = fs_network_load_csv(nodes, comma + 1, err);
		fs_free(nodes);
		return net;
	}
	if (has_suffix(spec, ".fsnet")) {
		return fs_network_load_cache(spec, err);
	}
	if (has_suffix(spec, ".pbf") || has_suffix(spec, ".osm")) {
		return fs_network_load_osm(spec, err);
	}
	fs_error_set(err, -EINVAL,
		     "%s: unknown network spec (want grid:RxC:SPACING, csv:N,E, *.fsnet, *.osm.pbf "
		     "or *.osm)",
		     spec);
	return NULL;
}
