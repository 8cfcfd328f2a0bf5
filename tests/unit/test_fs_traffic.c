/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for fs_traffic: junction control delays, hour factors, the fleet's own traffic. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs/demand.h"
#include "fs/network.h"
#include "fs/network_load.h"
#include "fs/traffic.h"

/* A signalised crossing of a primary road (nodes 1-2-3, signal at 2) and a
 * residential street (4-2-5); a residential side street 6 joins the primary
 * at 3 without signs; 6 and 7 are bends (residential ways meeting end to end). */
static const char crossing_osm[] =
	"<?xml version='1.0' encoding='UTF-8'?>\n"
	"<osm version='0.6'>\n"
	" <node id='1' lat='33.7500' lon='-84.3900'/>\n"
	" <node id='2' lat='33.7500' lon='-84.3890'><tag k='highway' v='traffic_signals'/></node>\n"
	" <node id='3' lat='33.7500' lon='-84.3880'/>\n"
	" <node id='4' lat='33.7510' lon='-84.3890'/>\n"
	" <node id='5' lat='33.7490' lon='-84.3890'/>\n"
	" <node id='6' lat='33.7510' lon='-84.3880'/>\n"
	" <node id='7' lat='33.7520' lon='-84.3880'/>\n"
	" <node id='8' lat='33.7520' lon='-84.3870'/>\n"
	" <way id='10'><nd ref='1'/><nd ref='2'/><nd ref='3'/><tag k='highway' v='primary'/></way>\n"
	" <way id='11'><nd ref='4'/><nd ref='2'/><nd ref='5'/><tag k='highway' v='residential'/></way>\n"
	" <way id='12'><nd ref='6'/><nd ref='3'/><tag k='highway' v='residential'/></way>\n"
	" <way id='13'><nd ref='6'/><nd ref='7'/><tag k='highway' v='residential'/></way>\n"
	" <way id='15'><nd ref='7'/><nd ref='8'/><tag k='highway' v='residential'/></way>\n"
	" <way id='14'><nd ref='3'/><nd ref='5'/><tag k='highway' v='primary'/></way>\n"
	"</osm>\n";

static struct fs_network *load_crossing(void)
{
	char path[] = "/tmp/test_fs_traffic_XXXXXX.osm";
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, crossing_osm, sizeof(crossing_osm) - 1), (ssize_t)(sizeof(crossing_osm) - 1));
	close(fd);
	struct fs_error err = { "" };
	struct fs_network *net = fs_network_load_osm(path, &err);
	unlink(path);
	assert_non_null(net);
	return net;
}

static uint32_t node_of(const struct fs_network *net, int64_t osm_id)
{
	for (uint32_t v = 0; v < net->node_count; v++) {
		if (net->nodes[v].osm_id == osm_id) {
			return v;
		}
	}
	fail_msg("no node %lld", (long long)osm_id);
	return 0;
}

static uint32_t edge_of(const struct fs_network *net, int64_t from, int64_t to)
{
	uint32_t a = node_of(net, from), b = node_of(net, to);
	for (uint32_t e = net->out_first[a]; e < net->out_first[a + 1]; e++) {
		if (net->edges[e].to == b) {
			return e;
		}
	}
	fail_msg("no edge %lld -> %lld", (long long)from, (long long)to);
	return 0;
}

static void test_junction_kinds_from_tags_and_classes(void **state)
{
	(void)state;
	struct fs_network *net = load_crossing();
	struct fs_traffic_params p;
	fs_traffic_params_defaults(&p);
	/* every approach to the tagged signal waits for green; the primary gets more of it */
	uint32_t major = edge_of(net, 1, 2), minor = edge_of(net, 4, 2);
	assert_int_equal(fs_traffic_junction_kind(net, major), FS_JUNCTION_SIGNAL);
	assert_int_equal(fs_traffic_junction_kind(net, minor), FS_JUNCTION_SIGNAL);
	double d_major = fs_traffic_junction_delay_s(net, &p, major), d_minor = fs_traffic_junction_delay_s(net, &p, minor);
	assert_true(fabs(d_major - 0.5 * 90 * 0.45 * 0.45) < 1e-9); /* HCM uniform delay, X -> 0 */
	assert_true(fabs(d_minor - 0.5 * 90 * 0.65 * 0.65) < 1e-9);
	/* leaving the signal: the primary's next junction (3) has no signal; the primary has priority */
	assert_int_equal(fs_traffic_junction_kind(net, edge_of(net, 2, 3)), FS_JUNCTION_NONE);
	/* the side street entering the primary at 3 stops */
	uint32_t side = edge_of(net, 6, 3);
	assert_int_equal(fs_traffic_junction_kind(net, side), FS_JUNCTION_MINOR);
	assert_true(fs_traffic_junction_delay_s(net, &p, side) == p.stop_delay_s);
	/* a bend where two ways of one street meet is no junction */
	assert_int_equal(fs_traffic_junction_kind(net, edge_of(net, 7, 6)), FS_JUNCTION_NONE);
	/* folded into the travel times once */
	float before = net->edges[minor].travel_time_s;
	struct fs_junction_stats st;
	fs_traffic_apply_junctions(net, &p, &st);
	assert_true(fabs(net->edges[minor].travel_time_s - (before + d_minor)) < 1e-3);
	assert_int_equal(st.edges[FS_JUNCTION_SIGNAL], 4); /* 1->2, 3->2, 4->2, 5->2 */
	fs_network_destroy(net);
}

static void test_grid_crossings_yield(void **state)
{
	(void)state;
	struct fs_error err = { "" };
	struct fs_network *net = fs_network_grid(3, 3, 100.0, 10.0, &err);
	assert_non_null(net);
	struct fs_traffic_params p;
	fs_traffic_params_defaults(&p);
	/* into the centre node 4 from node 3: two roads of one class cross */
	uint32_t e = UINT32_MAX;
	for (uint32_t i = net->out_first[3]; i < net->out_first[4]; i++) {
		e = net->edges[i].to == 4 ? i : e;
	}
	assert_int_equal(fs_traffic_junction_kind(net, e), FS_JUNCTION_EQUAL);
	assert_true(fs_traffic_junction_delay_s(net, &p, e) == p.equal_delay_s);
	fs_network_destroy(net);
}

static void test_hour_factors_from_profile(void **state)
{
	(void)state;
	struct fs_demand_profile *pr = calloc(1, sizeof(*pr));
	assert_non_null(pr);
	pr->slots_per_day = 24;
	for (int h = 0; h < 24; h++) {
		pr->slot_share[h] = h >= 1 && h <= 4 ? 0.001 : 0.05; /* quiet 1-4 h */
		pr->hour_speed_mps[h] = h >= 1 && h <= 4 ? 10.0 : 5.0;
	}
	pr->hour_speed_mps[3] = 20.0; /* a fast outlier among the quiet hours */
	struct fs_traffic_params p;
	fs_traffic_params_defaults(&p);
	p.profile_congestion_level = 0.0; /* no scaling */
	struct fs_error err = { "" };
	assert_int_equal(fs_traffic_hour_factors_from_profile(&p, pr, &err), 0);
	/* night = mean of the four quiet hours = 12.5 m/s */
	assert_true(fabs(p.hour_factor[12][FS_ROAD_PRIMARY] - 2.5) < 1e-9);
	assert_true(p.hour_factor[3][FS_ROAD_MOTORWAY] == 1.0); /* never faster than the night */
	/* scaled to a city with half the congestion */
	p.congestion_level = 0.2;
	p.profile_congestion_level = 0.4;
	assert_int_equal(fs_traffic_hour_factors_from_profile(&p, pr, &err), 0);
	assert_true(fabs(p.hour_factor[12][FS_ROAD_PRIMARY] - 1.75) < 1e-9);
	/* a profile without speeds is refused, naming the hour */
	pr->hour_speed_mps[7] = 0.0;
	assert_int_equal(fs_traffic_hour_factors_from_profile(&p, pr, &err), -EINVAL);
	assert_non_null(strstr(err.message, "hour 7"));
	free(pr);
}

static void test_fleet_slows_itself(void **state)
{
	(void)state;
	struct fs_error err = { "" };
	struct fs_network *net = fs_network_grid(5, 5, 200.0, 12.0, &err);
	assert_non_null(net);
	struct fs_traffic_params p;
	fs_traffic_params_defaults(&p);
	for (int h = 0; h < 24; h++) {
		for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
			p.hour_factor[h][c] = h == 8 ? 1.5 : 1.0;
		}
	}
	struct fs_traffic *t = fs_traffic_create(net, &p, &err);
	assert_non_null(t);
	uint32_t n = fs_traffic_slot_count(t), slot = fs_traffic_slot_of_edge(t, 0);
	uint32_t *veh = calloc(n, sizeof(*veh));
	/* no fleet: the hour factor alone */
	fs_traffic_update(t, 8, veh);
	assert_true(fabs(fs_traffic_edge_factor(t, 0) - 1.5) < 1e-12);
	assert_true(fs_traffic_fleet_factor(t, 0) == 1.0);
	/* more vehicles in the cell, slower; other cells unchanged */
	double last = 1.0;
	for (uint32_t k = 10; k <= 160; k *= 2) {
		veh[slot] = k;
		fs_traffic_update(t, 8, veh);
		double f = fs_traffic_fleet_factor(t, 0);
		assert_true(f > last);
		last = f;
	}
	for (uint32_t e = 0; e < net->edge_count; e++) {
		if (fs_traffic_slot_of_edge(t, e) != slot) {
			assert_true(fs_traffic_fleet_factor(t, e) == 1.0);
		}
	}
	assert_true(fs_traffic_max_fleet_factor(t) == last);
	/* the same flow weighs more on a busier hour (BPR is convex) */
	veh[slot] = 40;
	fs_traffic_update(t, 3, veh);
	double quiet = fs_traffic_edge_factor(t, 0);
	fs_traffic_update(t, 8, veh);
	assert_true(fs_traffic_edge_factor(t, 0) - 1.5 > quiet - 1.0);
	free(veh);
	fs_traffic_destroy(t);
	fs_network_destroy(net);
}

static void test_bad_params_refused(void **state)
{
	(void)state;
	struct fs_traffic_params p;
	fs_traffic_params_defaults(&p);
	assert_null(fs_traffic_params_invalid(&p));
	p.hour_factor[5][2] = 0.5;
	assert_non_null(fs_traffic_params_invalid(&p));
	fs_traffic_params_defaults(&p);
	p.capacity_vphpl[FS_ROAD_RESIDENTIAL] = 0.0;
	assert_non_null(fs_traffic_params_invalid(&p));
	struct fs_error err = { "" };
	struct fs_network *net = fs_network_grid(2, 2, 100.0, 10.0, &err);
	assert_null(fs_traffic_create(net, &p, &err));
	assert_non_null(strstr(err.message, "capacit"));
	fs_network_destroy(net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_junction_kinds_from_tags_and_classes),
		cmocka_unit_test(test_grid_crossings_yield),
		cmocka_unit_test(test_hour_factors_from_profile),
		cmocka_unit_test(test_fleet_slows_itself),
		cmocka_unit_test(test_bad_params_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
