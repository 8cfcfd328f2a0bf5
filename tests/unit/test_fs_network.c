/* SPDX-License-Identifier: Apache-2.0 */
/* Road network: grid, OSM, CSV and cache loaders, geometry helpers, snapping. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/network.h"

/* Every network must satisfy these, whatever loaded it. */
static void check_invariants(const struct fs_network *net)
{
	assert_int_equal(net->out_first[0], 0);
	assert_int_equal(net->out_first[net->node_count], net->edge_count);
	assert_int_equal(net->in_first[net->node_count], net->edge_count);
	assert_int_equal(net->names[0], '\0');
	uint32_t marked = 0;
	for (uint32_t v = 0; v < net->node_count; v++) {
		assert_true(net->out_first[v] <= net->out_first[v + 1]);
		for (uint32_t e = net->out_first[v]; e < net->out_first[v + 1]; e++) {
			assert_int_equal(net->edges[e].from, v);
		}
		for (uint32_t i = net->in_first[v]; i < net->in_first[v + 1]; i++) {
			assert_int_equal(net->edges[net->in_edges[i]].to, v);
		}
		marked += net->in_largest_scc[v];
	}
	assert_int_equal(marked, net->largest_scc_size);
	for (uint32_t e = 0; e < net->edge_count; e++) {
		const struct fs_edge *edge = &net->edges[e];
		assert_true(edge->to < net->node_count);
		assert_true(edge->shape_count >= 2);
		assert_true((uint64_t)edge->shape_first + edge->shape_count <= net->shape_count);
		assert_true(edge->length_m >= 0.0f);
		assert_true(edge->speed_mps > 0.0f);
		assert_true(fabsf(edge->travel_time_s - edge->length_m / edge->speed_mps) <=
			    1e-5f * edge->travel_time_s + 1e-6f);
		assert_true(edge->name < net->names_size);
		const struct fs_point *a = &net->shape[edge->shape_first];
		const struct fs_point *b = &net->shape[edge->shape_first + edge->shape_count - 1];
		assert_true(fabs(a->x - net->nodes[edge->from].x) < 1e-6);
		assert_true(fabs(a->y - net->nodes[edge->from].y) < 1e-6);
		assert_true(fabs(b->x - net->nodes[edge->to].x) < 1e-6);
		assert_true(fabs(b->y - net->nodes[edge->to].y) < 1e-6);
	}
}

static void grid_has_expected_counts_and_lengths(void **state)
{
	struct fs_error err = { 0 };
	struct fs_network *net = fs_network_grid(4, 6, 100.0, 10.0, &err);
	assert_non_null(net);
	assert_int_equal(net->node_count, 24);
	/* two directions of (rows * (cols - 1) + cols * (rows - 1)) streets */
	assert_int_equal(net->edge_count, 2 * (4 * 5 + 6 * 3));
	assert_int_equal(net->largest_scc_size, 24);
	check_invariants(net);
	for (uint32_t e = 0; e < net->edge_count; e++) {
		assert_float_equal(net->edges[e].length_m, 100.0, 1e-4);
		assert_float_equal(net->edges[e].travel_time_s, 10.0, 1e-4);
		assert_int_equal(net->edges[e].road_class, FS_ROAD_RESIDENTIAL);
	}
	/* node r * cols + c sits at (c, r) * spacing */
	assert_float_equal(net->nodes[2 * 6 + 5].x, 500.0, 1e-9);
	assert_float_equal(net->nodes[2 * 6 + 5].y, 200.0, 1e-9);
	assert_float_equal(net->min_x, 0.0, 1e-9);
	assert_float_equal(net->max_x, 500.0, 1e-9);
	assert_float_equal(net->max_y, 300.0, 1e-9);
	/* corner has 2 out and 2 in edges, interior 4 */
	assert_int_equal(net->out_first[1] - net->out_first[0], 2);
	assert_int_equal(net->out_first[8] - net->out_first[7], 4);
	assert_int_equal(net->in_first[8] - net->in_first[7], 4);
	fs_network_destroy(net);
}

static void grid_names_and_points_along_edges(void **state)
{
	struct fs_network *net = fs_network_grid(3, 3, 50.0, 5.0, NULL);
	assert_non_null(net);
	uint32_t seen_street = 0, seen_avenue = 0;
	for (uint32_t e = 0; e < net->edge_count; e++) {
		const struct fs_edge *edge = &net->edges[e];
		const char *name = fs_network_edge_name(net, e);
		if (edge->to == edge->from + 1 || edge->to + 1 == edge->from) {
			char want[32];
			snprintf(want, sizeof(want), "Street %u", edge->from / 3);
			assert_string_equal(name, want);
			seen_street++;
		} else {
			char want[32];
			snprintf(want, sizeof(want), "Avenue %u", edge->from % 3);
			assert_string_equal(name, want);
			seen_avenue++;
		}
		struct fs_point p;
		assert_int_equal(fs_network_edge_point_at(net, e, 20.0, &p), 0);
		double fx = net->nodes[edge->from].x, fy = net->nodes[edge->from].y;
		double tx = net->nodes[edge->to].x, ty = net->nodes[edge->to].y;
		assert_float_equal(p.x, fx + 0.4 * (tx - fx), 1e-9);
		assert_float_equal(p.y, fy + 0.4 * (ty - fy), 1e-9);
		/* offsets are clamped to the edge */
		assert_int_equal(fs_network_edge_point_at(net, e, -5.0, &p), 0);
		assert_float_equal(p.x, fx, 1e-9);
		assert_int_equal(fs_network_edge_point_at(net, e, 1e9, &p), 0);
		assert_float_equal(p.y, ty, 1e-9);
	}
	assert_int_equal(seen_street, 12);
	assert_int_equal(seen_avenue, 12);
	struct fs_point p;
	assert_int_equal(fs_network_edge_point_at(net, net->edge_count, 0.0, &p), -EINVAL);
	assert_string_equal(fs_network_edge_name(net, net->edge_count), "");
	fs_network_destroy(net);
}

static void grid_rejects_bad_arguments(void **state)
{
	struct fs_error err = { 0 };
	assert_null(fs_network_grid(0, 5, 100.0, 10.0, &err));
	assert_non_null(strstr(err.message, "grid"));
	assert_null(fs_network_grid(5, 5, -1.0, 10.0, &err));
	assert_non_null(strstr(err.message, "spacing"));
	assert_null(fs_network_grid(5, 5, 100.0, NAN, &err));
	assert_null(fs_network_grid(5, 5, 100.0, 0.0, NULL));
	fs_network_destroy(NULL);
}

static void projection_round_trips(void **state)
{
	struct fs_projection proj;
	fs_projection_init(&proj, 33.76, -84.39);
	struct fs_point p = fs_projection_to_xy(&proj, 33.77, -84.38);
	/* 0.01 deg of latitude is ~1,112 m; of longitude at 33.76 N ~925 m */
	assert_float_equal(p.y, 1111.95, 0.1);
	assert_float_equal(p.x, 1111.95 * cos(33.76 * M_PI / 180.0), 0.1);
	double lat, lon;
	fs_projection_to_latlon(&proj, p, &lat, &lon);
	assert_float_equal(lat, 33.77, 1e-12);
	assert_float_equal(lon, -84.38, 1e-12);
}

static void largest_scc_of_a_one_way_appendix(void **state)
{
	/* A grid is one component; a node that can be entered but not left must
	 * fall out of the largest component. */
	struct fs_network *net = fs_network_grid(2, 3, 10.0, 1.0, NULL);
	assert_non_null(net);
	uint8_t mask[6];
	assert_int_equal(fs_network_largest_scc(net, mask), 6);
	/* Turn the out-edges of node 2 (row 0, column 2) into self-loops. */
	for (uint32_t e = net->out_first[2]; e < net->out_first[3]; e++) {
		net->edges[e].to = 2;
	}
	assert_int_equal(fs_network_largest_scc(net, mask), 5);
	assert_int_equal(mask[2], 0);
	assert_int_equal(mask[0] + mask[1] + mask[3] + mask[4] + mask[5], 5);
	fs_network_destroy(net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grid_has_expected_counts_and_lengths),
		cmocka_unit_test(grid_names_and_points_along_edges),
		cmocka_unit_test(grid_rejects_bad_arguments),
		cmocka_unit_test(projection_round_trips),
		cmocka_unit_test(largest_scc_of_a_one_way_appendix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
