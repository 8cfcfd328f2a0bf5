/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle_motion - where a vehicle is, computed on demand.
 *
 * A vehicle stores one motion segment: on edge `edge` its offset goes from
 * seg_from_m to seg_to_m between seg_start_ms and seg_end_ms (a traversal,
 * the rest of an edge after a stop, or a hold with from == to). Positions are
 * interpolated linearly in time along it and mapped onto the edge's shape
 * points, so a position costs nothing until somebody asks for it.
 */
#include <errno.h>
#include <math.h>

#include "fs/vehicle.h"
#include "fs_vehicle_internal.h"

int64_t vehicle_edge_ms(const struct fs_vehicle *v, const struct fs_network *net, uint32_t edge,
			double factor)
{
	const struct fs_edge *e = &net->edges[edge];
	double s = e->travel_time_s;
	if (!(s > 0.0)) {
		double mps = e->speed_mps > 0.0f ? e->speed_mps : v->params->plan_speed_kmh / 3.6;
		s = e->length_m / mps;
	}
	if ((v->odd_flags & FS_ODD_SPEED_CAP) && v->speed_cap_mps > 0.0f &&
	    v->phase != FS_CITY_DATA_COLLECTION) {
		/* the cap slows the running, not the wait at the junction the edge ends in
		 * (travel_time_s holds both: fs_traffic_apply_junctions()) */
		double run = e->speed_mps > 0.0f ? e->length_m / e->speed_mps : s;
		double junction = fmax(0.0, s - run);
		s = fmax(run, e->length_m / v->speed_cap_mps) + junction;
	}
	double ms = ceil(s * (factor > 0.0 ? factor : 1.0) * MS_PER_S);
	return ms >= 1.0 ? (int64_t)ms : 1;
}

double vehicle_segment_offset_at(float from_m, float to_m, int64_t start_ms, int64_t end_ms, int64_t t)
{
	if (end_ms == FS_NEVER_MS || t >= end_ms || end_ms <= start_ms) {
		return t >= end_ms ? to_m : from_m;
	}
	if (t <= start_ms) {
		return from_m;
	}
	double f = (double)(t - start_ms) / (double)(end_ms - start_ms);
	return from_m + f * (to_m - from_m);
}

double vehicle_offset_at(const struct fs_vehicle *v, int64_t t)
{
	return vehicle_segment_offset_at(v->seg_from_m, v->seg_to_m, v->seg_start_ms, v->seg_end_ms, t);
}

void vehicle_shape_point(const struct fs_network *net, uint32_t edge, double offset_m, double *x, double *y,
			 double *heading)
{
	const struct fs_edge *e = &net->edges[edge];
	const struct fs_point *pts = net->shape + e->shape_first;
	uint32_t n = e->shape_count;
	double shape_len = fs_network_edge_shape_m(net, edge);
	double frac = e->length_m > 0.0f ? offset_m / e->length_m : 0.0;
	double want = fmin(1.0, fmax(0.0, frac)) * shape_len;
	for (uint32_t i = 1; i < n; i++) {
		double seg = fs_network_shape_seg_m(net, e->shape_first + i);
		if (seg <= 0.0) {
			continue;
		}
		*heading = fs_network_shape_heading(net, e->shape_first + i);
		if (want <= seg || i == n - 1) {
			double f = fmin(1.0, want / seg);
			*x = pts[i - 1].x + f * (pts[i].x - pts[i - 1].x);
			*y = pts[i - 1].y + f * (pts[i].y - pts[i - 1].y);
			return;
		}
		want -= seg;
	}
	*x = pts[n - 1].x; /* degenerate: all points coincide */
	*y = pts[n - 1].y;
}

int fs_vehicle_position(const struct fs_vehicle *v, const struct fs_network *net, int64_t now_ms,
			double *ret_x, double *ret_y, uint32_t *ret_edge, double *ret_offset_m)
{
	if (v->edge == FS_NO_EDGE || v->edge >= net->edge_count) {
		return -ENOENT;
	}
	double off = vehicle_offset_at(v, now_ms), x, y, heading = 0.0;
	vehicle_shape_point(net, v->edge, off, &x, &y, &heading);
	if (ret_x) {
		*ret_x = x;
	}
	if (ret_y) {
		*ret_y = y;
	}
	if (ret_edge) {
		*ret_edge = v->edge;
	}
	if (ret_offset_m) {
		*ret_offset_m = off;
	}
	return 0;
}

uint32_t vehicle_health_summary(const struct fs_vehicle *v)
{
	unsigned any = 0;
	for (size_t i = 0; i < sizeof(v->platform.health); i++) {
		any |= v->platform.health[i];
	}
	if (!any) { /* every device ok: nothing to summarise */
		return 0;
	}
	uint32_t flags = 0;
	struct fs_platform_assessment a;
	fs_platform_assess(&v->platform, v->params, &a);
	for (unsigned d = 0; d < FS_PLATFORM_DEVICES; d++) {
		int h = platform_get_global(&v->platform, d);
		flags |= h == FS_HEALTH_DEGRADED ? FS_HEALTH_SUMMARY_DEGRADED : 0u;
		flags |= h == FS_HEALTH_FAILED ? FS_HEALTH_SUMMARY_FAILED : 0u;
	}
	flags |= a.odd_flags ? FS_HEALTH_SUMMARY_RESTRICTED : 0u;
	flags |= a.minimal_risk ? FS_HEALTH_SUMMARY_MINIMAL_RISK : 0u;
	flags |= a.needs_depot ? FS_HEALTH_SUMMARY_NEEDS_DEPOT : 0u;
	return flags;
}

int fs_vehicle_snapshot(const struct fs_vehicle *v, const struct fs_network *net, int64_t now_ms,
			struct fs_vehicle_snapshot *ret)
{
	if (v->edge == FS_NO_EDGE || v->edge >= net->edge_count) {
		return -ENOENT;
	}
	struct fs_vehicle_snapshot s = { .edge = v->edge, .heading_rad = 0.0 };
	s.offset_m = vehicle_offset_at(v, now_ms);
	vehicle_shape_point(net, v->edge, s.offset_m, &s.x, &s.y, &s.heading_rad);
	bool moving = v->seg_end_ms != FS_NEVER_MS && now_ms >= v->seg_start_ms &&
		      now_ms < v->seg_end_ms && v->seg_to_m != v->seg_from_m;
	if (moving) {
		s.speed_mps = (v->seg_to_m - v->seg_from_m) /
			      ((double)(v->seg_end_ms - v->seg_start_ms) / MS_PER_S);
	}
	s.soc = fs_vehicle_soc(v, now_ms);
	s.health_flags = vehicle_health_summary(v);
	*ret = s;
	return 0;
}
