/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_dispatch_kpi - key figures of the platform from its request records and
 * the vehicle time and distance integrated from the state batches.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs_dispatch_internal.h"

struct keyed {
	uint32_t key;
	double value;
};

static int compare_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->key != y->key) {
		return x->key < y->key ? -1 : 1;
	}
	return x->value < y->value ? -1 : x->value > y->value;
}

/* Type-7 quantile of @n sorted values (linear between order statistics). */
static double quantile(const struct keyed *v, size_t n, double p)
{
	if (!n) {
		return NAN;
	}
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)floor(h);
	if (lo + 1 >= n) {
		return v[n - 1].value;
	}
	return v[lo].value + (h - (double)lo) * (v[lo + 1].value - v[lo].value);
}

/* Fill the wait percentiles of the groups of sorted @v into @out[key]. */
static void group_quantiles(const struct keyed *v, size_t n, struct fs_dispatch_kpi *out, uint32_t groups)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && v[j].key == v[i].key) {
			j++;
		}
		if (v[i].key < groups) {
			struct fs_dispatch_kpi *k = &out[v[i].key];
			k->wait_p50_s = quantile(v + i, j - i, 0.50);
			k->wait_p90_s = quantile(v + i, j - i, 0.90);
			k->wait_p95_s = quantile(v + i, j - i, 0.95);
			k->wait_max_s = v[j - 1].value;
		}
		i = j;
	}
}

static void add_request(struct fs_dispatch_kpi *k, const struct fs_dispatch_request *r)
{
	k->requests++;
	switch (r->status) {
	case FS_DISPATCH_DROPPED_OFF:
		k->served++;
		k->wait_mean_s += (double)(r->t_arrive_ms - r->t_request_ms) / MS_PER_S;
		k->in_vehicle_mean_s += (double)(r->t_dropoff_ms - r->t_pickup_ms) / MS_PER_S;
		k->pickup_eta_mean_s += isfinite(r->offer_eta_s) ? r->offer_eta_s : 0.0;
		k->trip_km_mean += isfinite(r->route_m) ? r->route_m / 1000.0 : 0.0;
		break;
	case FS_DISPATCH_CANCELLED:
		k->cancelled++;
		k->cancelled_before_assignment += r->reason == FS_DISPATCH_REASON_BEFORE_ASSIGNMENT;
		k->cancelled_after_assignment += r->reason == FS_DISPATCH_REASON_AFTER_ASSIGNMENT;
		k->cancelled_no_show += r->reason == FS_DISPATCH_REASON_NO_SHOW;
		k->cancelled_aborted += r->reason == FS_DISPATCH_REASON_ABORTED;
		break;
	case FS_DISPATCH_REJECTED:
		k->rejected++;
		break;
	default:
		k->open++;
		break;
	}
}

static void add_hours(struct fs_dispatch_kpi *k, const struct hour_acc *h)
{
	k->vehicle_hours += h->vehicle_ms / 3.6e6;
	k->occupied_hours += h->occupied_ms / 3.6e6;
	k->busy_hours += h->busy_ms / 3.6e6;
	k->km_total += h->km_total;
	k->km_occupied += h->km_occupied;
}

static void finish_kpi(struct fs_dispatch_kpi *k)
{
	double served = (double)k->served;
	if (served > 0) {
		k->wait_mean_s /= served;
		k->in_vehicle_mean_s /= served;
		k->pickup_eta_mean_s /= served;
		k->trip_km_mean /= served;
	} else {
		k->wait_mean_s = k->in_vehicle_mean_s = k->pickup_eta_mean_s = k->trip_km_mean = NAN;
		k->wait_p50_s = k->wait_p90_s = k->wait_p95_s = k->wait_max_s = NAN;
	}
	k->km_empty = k->km_total - k->km_occupied;
	k->empty_km_share = k->km_total > 0 ? k->km_empty / k->km_total : NAN;
	k->utilisation = k->vehicle_hours > 0 ? k->occupied_hours / k->vehicle_hours : NAN;
	k->trips_per_vehicle_day = k->vehicle_hours > 0 ? served / (k->vehicle_hours / 24.0) : NAN;
}

int fs_dispatch_kpi(const struct fs_dispatch *d, struct fs_dispatch_kpi *total, struct fs_dispatch_kpi *by_hour,
		    struct fs_dispatch_kpi *by_zone)
{
	uint32_t nz = fs_dispatch_zone_count(d);
	size_t served = 0;
	for (uint64_t i = 0; i < d->nreq; i++) {
		served += d->req[i].status == FS_DISPATCH_DROPPED_OFF;
	}
	struct keyed *all = fs_malloc((served ? served : 1) * sizeof(*all));
	struct keyed *hour = by_hour ? fs_malloc((served ? served : 1) * sizeof(*hour)) : NULL;
	struct keyed *zone = by_zone ? fs_malloc((served ? served : 1) * sizeof(*zone)) : NULL;
	if (!all || (by_hour && !hour) || (by_zone && !zone)) {
		fs_free(all);
		fs_free(hour);
		fs_free(zone);
		return -ENOMEM;
	}
	struct fs_dispatch_kpi t = { 0 };
	if (by_hour) {
		memset(by_hour, 0, 24 * sizeof(*by_hour));
	}
	if (by_zone) {
		memset(by_zone, 0, nz * sizeof(*by_zone));
	}
	size_t n = 0;
	for (uint64_t i = 0; i < d->nreq; i++) {
		const struct fs_dispatch_request *r = &d->req[i];
		uint32_t h = (uint32_t)dispatch_local_hour(d, r->t_request_ms);
		add_request(&t, r);
		if (by_hour) {
			add_request(&by_hour[h], r);
		}
		if (by_zone) {
			add_request(&by_zone[r->zone], r);
		}
		if (r->status == FS_DISPATCH_DROPPED_OFF) {
			double w = (double)(r->t_arrive_ms - r->t_request_ms) / MS_PER_S;
			all[n] = (struct keyed){ 0, w };
			if (hour) {
				hour[n] = (struct keyed){ h, w };
			}
			if (zone) {
				zone[n] = (struct keyed){ r->zone, w };
			}
			n++;
		}
	}
	for (int h = 0; h < 24; h++) {
		add_hours(&t, &d->hours[h]);
		if (by_hour) {
			add_hours(&by_hour[h], &d->hours[h]);
		}
	}
	qsort(all, n, sizeof(*all), compare_keyed);
	group_quantiles(all, n, &t, 1);
	finish_kpi(&t);
	*total = t;
	if (by_hour) {
		qsort(hour, n, sizeof(*hour), compare_keyed);
		group_quantiles(hour, n, by_hour, 24);
		for (int h = 0; h < 24; h++) {
			finish_kpi(&by_hour[h]);
		}
	}
	if (by_zone) {
		qsort(zone, n, sizeof(*zone), compare_keyed);
		group_quantiles(zone, n, by_zone, nz);
		for (uint32_t z = 0; z < nz; z++) {
			finish_kpi(&by_zone[z]);
			/* vehicle figures are city-wide only */
			by_zone[z].empty_km_share = by_zone[z].utilisation = by_zone[z].trips_per_vehicle_day = NAN;
		}
	}
	fs_free(all);
	fs_free(hour);
	fs_free(zone);
	return 0;
}

int fs_dispatch_kpi_select(const struct fs_dispatch *d,
			   bool (*select)(const struct fs_dispatch_request *r, void *ctx), void *ctx,
			   struct fs_dispatch_kpi *ret)
{
	struct keyed *waits = fs_malloc((d->n_served ? d->n_served : 1) * sizeof(*waits));
	if (!waits) {
		return -ENOMEM;
	}
	struct fs_dispatch_kpi k = { 0 };
	size_t n = 0;
	for (uint64_t i = 0; i < d->nreq; i++) {
		const struct fs_dispatch_request *r = &d->req[i];
		if (!select(r, ctx)) {
			continue;
		}
		add_request(&k, r);
		if (r->status == FS_DISPATCH_DROPPED_OFF && n < d->n_served) {
			waits[n++] = (struct keyed){ 0, (double)(r->t_arrive_ms - r->t_request_ms) / MS_PER_S };
		}
	}
	qsort(waits, n, sizeof(*waits), compare_keyed);
	group_quantiles(waits, n, &k, 1);
	finish_kpi(&k);
	k.empty_km_share = k.utilisation = k.trips_per_vehicle_day = NAN; /* vehicle figures are city-wide */
	fs_free(waits);
	*ret = k;
	return 0;
}

/* The quantile @p of the running wait histogram (1 s bins, linear inside a bin). */
static double hist_quantile(const struct fs_dispatch *d, double p)
{
	if (!d->n_served) {
		return NAN;
	}
	double rank = p * (double)d->n_served, seen = 0.0;
	for (size_t b = 0; b < WAIT_BINS; b++) {
		double n = d->wait_hist[b];
		if (n > 0 && seen + n >= rank) {
			return (double)b + (rank - seen) / n;
		}
		seen += n;
	}
	return WAIT_BINS;
}

void fs_dispatch_kpi_running(const struct fs_dispatch *d, struct fs_dispatch_kpi *ret)
{
	struct fs_dispatch_kpi k = { 0 };
	k.requests = d->nreq;
	k.served = d->n_served;
	k.cancelled = d->n_cancelled;
	k.rejected = d->n_rejected;
	k.open = d->nreq - d->n_served - d->n_cancelled - d->n_rejected;
	k.cancelled_before_assignment = d->n_cancelled_by[FS_DISPATCH_REASON_BEFORE_ASSIGNMENT];
	k.cancelled_after_assignment = d->n_cancelled_by[FS_DISPATCH_REASON_AFTER_ASSIGNMENT];
	k.cancelled_no_show = d->n_cancelled_by[FS_DISPATCH_REASON_NO_SHOW];
	k.cancelled_aborted = d->n_cancelled_by[FS_DISPATCH_REASON_ABORTED];
	k.wait_mean_s = d->sum_wait_s;
	k.in_vehicle_mean_s = d->sum_in_vehicle_s;
	k.pickup_eta_mean_s = d->sum_eta_s;
	k.trip_km_mean = d->sum_trip_km;
	for (int h = 0; h < 24; h++) {
		add_hours(&k, &d->hours[h]);
	}
	finish_kpi(&k);
	k.wait_p50_s = hist_quantile(d, 0.50);
	k.wait_p90_s = hist_quantile(d, 0.90);
	k.wait_p95_s = hist_quantile(d, 0.95);
	k.wait_max_s = NAN;
	*ret = k;
}

const struct fs_dispatch_counters *fs_dispatch_get_counters(const struct fs_dispatch *d)
{
	return &d->counters;
}
