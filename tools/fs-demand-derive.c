/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-demand-derive - derive fleetsim's default demand profiles from the real
 * trip samples in data/ and write them into data/demand/.
 *
 *   fs-demand-derive nyc --name NAME --out PROFILE.csv [--zones ZONES.csv
 *                    [--zone-weights WEIGHTS.csv]] TLC.csv...
 *   fs-demand-derive chicago --name NAME --out PROFILE.csv CHICAGO.csv...
 *   fs-demand-derive reach --network SPEC --area AREA.geojson --profile PROFILE.csv
 *                    [--samples N]
 *
 * `reach` prints the service area's size and the share of the trips starting
 * in it that also end in it (fs_demand_internal_share()): two steps of the
 * default `demand.city_trips_per_day` (docs/demand.md "Trips of the city").
 *
 * The written files start with '#' lines giving this command and the
 * record counts, so the data says how it was made. Run from the project root
 * so the paths in those lines are the repository's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/demand.h"
#include "fs/demand_load.h"
#include "fs/geofence.h"
#include "fs/geofence_load.h"
#include "fs/network.h"
#include "fs/network_load.h"

static void usage(void)
{
	fprintf(stderr, "usage: fs-demand-derive nyc|chicago --name NAME --out PROFILE.csv "
			"[--zones ZONES.csv [--zone-weights WEIGHTS.csv]] FILE.csv...\n"
			"       fs-demand-derive reach --network SPEC --area AREA.geojson --profile PROFILE.csv "
			"[--samples N]\n");
	exit(2);
}

struct flag {
	const char *name; /* "--name" */
	const char **value;
};

/*
 * "--NAME VALUE" pairs from argv[@i] on, each VALUE into its flag's value
 * (usage() on an unknown flag): the index of the first argument after them.
 */
static int read_flags(int argc, char **argv, int i, const struct flag *flags)
{
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const struct flag *f = flags;
		while (f->name && strcmp(argv[i], f->name) != 0) {
			f++;
		}
		if (!f->name) {
			usage();
		}
		*f->value = argv[i + 1];
	}
	return i;
}

/* The area's first zone, the network's places in it, and the share of trips that stay inside. */
static int reach(int argc, char **argv)
{
	const char *network = NULL, *area_path = NULL, *profile = NULL, *samples_text = NULL;
	const struct flag flags[] = {
		{ "--network", &network }, { "--area", &area_path }, { "--profile", &profile },
		{ "--samples", &samples_text }, { NULL, NULL },
	};
	if (read_flags(argc, argv, 2, flags) != argc) {
		usage();
	}
	unsigned long samples = samples_text ? strtoul(samples_text, NULL, 10) : 1000000;
	if (!network || !area_path || !profile || samples == 0 || samples > UINT32_MAX) {
		usage();
	}
	struct fs_error err = { { 0 } };
	struct fs_network *net = fs_network_load(network, &err);
	if (!net) {
		fprintf(stderr, "fs-demand-derive: %s\n", err.message);
		return 1;
	}
	struct fs_geofence *area = fs_geofence_create(&net->proj);
	struct fs_demand_place *places = NULL;
	size_t n = 0;
	struct fs_demand *d = NULL;
	int rc = 1;
	if (!area || fs_geofence_load_geojson(area, area_path, &err) <= 0) {
		fprintf(stderr, "fs-demand-derive: %s: %s\n", area_path, area ? err.message : "out of memory");
		goto out;
	}
	if (fs_demand_places_from_network(net, true, &places, &n) < 0) {
		fprintf(stderr, "fs-demand-derive: out of memory\n");
		goto out;
	}
	struct fs_demand_params dp;
	fs_demand_params_defaults(&dp);
	dp.profile_path = profile;
	d = fs_demand_create(&dp, places, n, &err);
	if (!d) {
		fprintf(stderr, "fs-demand-derive: %s\n", err.message);
		goto out;
	}
	const struct fs_geofence_zone *z = fs_geofence_zone(area, 0);
	double share = fs_demand_internal_share(d, z, (uint32_t)samples, dp.seed);
	printf("area %s: %.3f km2, %zu places; of %lu trips of %s starting there, %.4f end there\n",
	       area_path, fs_geofence_zone_area(z) / 1e6, n, samples, profile, share);
	rc = 0;
out:
	fs_demand_destroy(d);
	free(places);
	fs_geofence_destroy(area);
	fs_network_destroy(net);
	return rc;
}

static void print_profile(const struct fs_demand_profile *p)
{
	const struct fs_demand_source *s = &p->source;
	printf("profile %s: %llu rows read, %llu kept (dropped %llu zero distance, %llu under 30 s, "
	       "%llu over 3 h, %llu missing fields)\n",
	       p->name, (unsigned long long)s->read, (unsigned long long)s->kept,
	       (unsigned long long)s->dropped_zero, (unsigned long long)s->dropped_short,
	       (unsigned long long)s->dropped_long, (unsigned long long)s->dropped_missing);
	printf("hour share %%:");
	for (uint32_t h = 0; h < p->slots_per_day; h++) {
		printf(" %.2f", 100.0 * p->slot_share[h]);
	}
	printf("\nlength quantiles (mi):");
	for (int q = 0; q < FS_DEMAND_QUANTILES; q++) {
		printf(" p%.0f=%.2f", 100 * fs_demand_quantile_p[q], p->length_quantile_m[q] / 1609.344);
	}
	printf("\nduration quantiles (min):");
	for (int q = 0; q < FS_DEMAND_QUANTILES; q++) {
		printf(" p%.0f=%.1f", 100 * fs_demand_quantile_p[q], p->duration_quantile_s[q] / 60.0);
	}
	printf("\nmean %.2f mi, %.1f min; detour %.3f\nhour speed (km/h):", p->mean_length_m / 1609.344,
	       p->mean_duration_s / 60.0, p->detour_factor);
	for (int h = 0; h < 24; h++) {
		printf(" %.1f", 3.6 * p->hour_speed_mps[h]);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
	}
	if (strcmp(argv[1], "reach") == 0) {
		return reach(argc, argv);
	}
	bool nyc = strcmp(argv[1], "nyc") == 0;
	if (!nyc && strcmp(argv[1], "chicago") != 0) {
		usage();
	}
	const char *name = NULL, *out = NULL, *zones_path = NULL, *weights_path = NULL;
	const struct flag flags[] = {
		{ "--name", &name }, { "--out", &out }, { "--zones", &zones_path }, { "--zone-weights", &weights_path },
		{ NULL, NULL },
	};
	int i = read_flags(argc, argv, 2, flags);
	if (!name || !out || i >= argc || (weights_path && !zones_path) || (!nyc && zones_path)) {
		usage();
	}
	const char *const *paths = (const char *const *)&argv[i];
	size_t n = (size_t)(argc - i);

	/* The command, with the file list as given, for the data's header. */
	size_t cmd_len = 64;
	for (int k = 0; k < argc; k++) {
		cmd_len += strlen(argv[k]) + 1;
	}
	char *comment = malloc(cmd_len + 1024);
	if (!comment) {
		return 1;
	}
	char *c = comment;
	c += sprintf(c, "derived by: fs-demand-derive");
	for (int k = 1; k < argc; k++) {
		c += sprintf(c, " %s", argv[k]);
	}

	struct fs_error err = { { 0 } };
	struct fs_demand_profile *p = malloc(sizeof(*p));
	int r = nyc ? fs_demand_profile_from_tlc(paths, n, p, &err)
		    : fs_demand_profile_from_chicago(paths, n, p, &err);
	if (r < 0) {
		fprintf(stderr, "fs-demand-derive: %s\n", err.message);
		return 1;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	struct fs_demand_zones zones = { 0 };
	if (zones_path) {
		if (fs_demand_zones_load(zones_path, NULL, &zones, &err) < 0) {
			fprintf(stderr, "fs-demand-derive: %s\n", err.message);
			return 1;
		}
		struct fs_demand_detour det;
		if (fs_demand_detour_from_tlc(paths, n, &zones, 2000.0, &det, &err) < 0) {
			fprintf(stderr, "fs-demand-derive: %s\n", err.message);
			return 1;
		}
		p->detour_factor = det.median_ratio;
		printf("detour over %llu trips with centroids >= 2 km apart: median %.4f, "
		       "sum ratio %.4f\n",
		       (unsigned long long)det.trips, det.median_ratio, det.sum_ratio);
		c += sprintf(c, "\ndetour_factor: median of trip_distance / centroid beeline over %llu "
				"trips >= 2 km apart (sum ratio %.4f)",
			     (unsigned long long)det.trips, det.sum_ratio);
	}
	const struct fs_demand_source *s = &p->source;
	sprintf(c, "\nrows read %llu, kept %llu; dropped: %llu distance <= 0, %llu duration < 30 s, "
		   "%llu duration > 3 h, %llu with an empty field",
		(unsigned long long)s->read, (unsigned long long)s->kept,
		(unsigned long long)s->dropped_zero, (unsigned long long)s->dropped_short,
		(unsigned long long)s->dropped_long, (unsigned long long)s->dropped_missing);
	print_profile(p);
	if (fs_demand_profile_save(p, out, comment, &err) < 0) {
		fprintf(stderr, "fs-demand-derive: %s\n", err.message);
		return 1;
	}
	if (weights_path) {
		struct fs_demand_zone_weight *w;
		size_t wn;
		if (fs_demand_zone_weights_from_tlc(paths, n, &zones, &w, &wn, &err) < 0 ||
		    fs_demand_zone_weights_save(w, wn, weights_path, comment, &err) < 0) {
			fprintf(stderr, "fs-demand-derive: %s\n", err.message);
			return 1;
		}
		free(w);
	}
	fs_demand_zones_finish(&zones);
	free(p);
	free(comment);
	return 0;
}
