/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_demand - request generation speed with the NYC 2019 profile over
 * random places: an Atlanta-sized city (3,000 places in 9 x 5 km) and a
 * Columbus-sized one (20,000 places in 40 x 28 km). Run from the project
 * root (the profile is data/demand/nyc2019_profile.csv).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_clock.h"
#include "fs/demand.h"
#include "fs/demand_load.h"
#include "fs/rng.h"

static int run(const char *name, size_t n, double w, double h, double per_day)
{
	struct fs_demand_place *p = malloc(n * sizeof(*p));
	struct fs_rng rng;
	fs_rng_init(&rng, 3, FS_RNG_STREAM_TEST, n);
	for (size_t i = 0; i < n; i++) {
		p[i] = (struct fs_demand_place){ w * fs_rng_uniform(&rng), h * fs_rng_uniform(&rng),
						 FS_DEMAND_NO_ZONE, 1.0 };
	}
	struct fs_demand_params params;
	fs_demand_params_defaults(&params);
	params.trips_per_day = per_day;
	struct fs_error err;
	struct fs_demand *d = fs_demand_create(&params, p, n, &err);
	if (!d) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	struct fs_demand_batch b = { 0 };
	double t = bench_now_s();
	/* One simulated day in 1 s slices, as a 1 Hz simulation would ask. */
	for (int64_t s = 0; s < 86400; s++) {
		fs_demand_generate(d, s * 1000, (s + 1) * 1000, &b);
	}
	double dt = bench_now_s() - t;
	double sum = 0;
	for (size_t i = 0; i < b.count; i++) {
		sum += b.items[i].beeline_m;
	}
	printf("  %-9s %6zu places: %zu requests/day in %.2f s = %.2f us/request "
	       "(mean beeline %.2f km)\n",
	       name, n, b.count, dt, 1e6 * dt / (double)b.count, sum / (double)b.count / 1000);
	fs_demand_batch_finish(&b);
	fs_demand_destroy(d);
	free(p);
	return 0;
}

int main(void)
{
	printf("fs_demand generation, NYC 2019 profile, one day in 86,400 one-second calls (one run)\n");
	return run("atlanta", 3000, 9000, 5000, 50000) || run("columbus", 20000, 40000, 28000, 230000);
}
