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

#include <xxhash.h>

#include "fs/network.h"
#include "fs/network_load.h"
#include "fs/rng.h"

/* ---- helpers -------------------------------------------------------------- */

static char tmp_dir[256];

static int make_tmp_dir(void **state)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/fs_test_network_XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
	return 0;
}

static int remove_tmp_dir(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name)
{
	static char path[32][512];
	static int next;
	char *p = path[next++ % 32];
	snprintf(p, 512, "%s/%s", tmp_dir, name);
	return p;
}

static const char *write_file(const char *name, const void *data, size_t size)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, size, f), size);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char *write_text(const char *name, const char *text)
{
	return write_file(name, text, strlen(text));
}

static const char *data_path(const char *rel)
{
	static char path[2][1024];
	static int next;
	char *p = path[next++ % 2];
	const char *root = getenv("FS_SOURCE_ROOT");
	snprintf(p, 1024, "%s/%s", root ? root : ".", rel);
	return p;
}

static void *read_all(const char *path, size_t *ret_size)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long size = ftell(f);
	assert_true(size > 0);
	rewind(f);
	void *data = malloc((size_t)size);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*ret_size = (size_t)size;
	return data;
}

static uint32_t node_by_osm(const struct fs_network *net, int64_t osm_id)
{
	for (uint32_t v = 0; v < net->node_count; v++) {
		if (net->nodes[v].osm_id == osm_id) {
			return v;
		}
	}
	return UINT32_MAX;
}

/* The edge from OSM node @a to OSM node @b, or NULL. */
static const struct fs_edge *edge_by_osm(const struct fs_network *net, int64_t a, int64_t b)
{
	uint32_t u = node_by_osm(net, a), v = node_by_osm(net, b);
	if (u == UINT32_MAX || v == UINT32_MAX) {
		return NULL;
	}
	for (uint32_t e = net->out_first[u]; e < net->out_first[u + 1]; e++) {
		if (net->edges[e].to == v) {
			return &net->edges[e];
		}
	}
	return NULL;
}

/* The error message must name the file and contain @what. */
static void assert_error_names(const struct fs_error *err, const char *path, const char *what)
{
	if (!strstr(err->message, path) || !strstr(err->message, what)) {
		fail_msg("error \"%s\" should name %s and say \"%s\"", err->message, path, what);
	}
}

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

/* ---- OSM ------------------------------------------------------------------ */

/* A hand-made extract exercising every rule of the drivable-way filter. */
static const char rules_osm[] =
	"<?xml version='1.0' encoding='UTF-8'?>\n"
	"<osm version=\"0.6\" generator=\"fleetsim test\">\n"
	" <node id=\"1\" lat=\"33.7500\" lon=\"-84.3900\"/>\n"
	" <node id=\"2\" lat=\"33.7500\" lon=\"-84.3890\"/>\n"
	" <node id=\"3\" lat=\"33.7500\" lon=\"-84.3880\"/>\n"
	" <node id=\"4\" lat=\"33.7500\" lon=\"-84.3870\"/>\n"
	" <node id=\"5\" lat=\"33.7510\" lon=\"-84.3880\"/>\n"
	" <node id=\"6\" lat=\"33.7520\" lon=\"-84.3880\"/>\n"
	" <node id=\"7\" lat=\"33.7530\" lon=\"-84.3880\"/>\n"
	" <node id=\"8\" lat=\"33.7490\" lon=\"-84.3870\"/>\n"
	" <node id=\"9\" lat=\"33.7540\" lon=\"-84.3880\"/>\n"
	" <node id=\"10\" lat=\"33.7530\" lon=\"-84.3800\"/>\n"
	" <node id=\"11\" lat=\"33.7530\" lon=\"-84.3700\"/>\n"
	" <node id=\"12\" lat=\"33.7535\" lon=\"-84.3695\"/>\n"
	" <node id=\"13\" lat=\"33.7525\" lon=\"-84.3690\"/>\n"
	" <node id=\"14\" lat=\"33.7400\" lon=\"-84.3900\"/>\n"
	" <node id=\"15\" lat=\"33.7400\" lon=\"-84.3890\"/>\n"
	" <node id=\"16\" lat=\"33.7545\" lon=\"-84.3695\"/>\n"
	" <way id=\"100\"><nd ref=\"1\"/><nd ref=\"2\"/><nd ref=\"3\"/><nd ref=\"4\"/>\n"
	"  <tag k=\"highway\" v=\"residential\"/><tag k=\"name\" v=\"Main Street\"/>\n"
	"  <tag k=\"lanes\" v=\"4\"/></way>\n"
	" <way id=\"101\"><nd ref=\"3\"/><nd ref=\"5\"/><nd ref=\"6\"/>\n"
	"  <tag k=\"highway\" v=\"primary\"/><tag k=\"oneway\" v=\"yes\"/>\n"
	"  <tag k=\"maxspeed\" v=\"30 mph\"/><tag k=\"ref\" v=\"GA 10\"/></way>\n"
	" <way id=\"102\"><nd ref=\"6\"/><nd ref=\"7\"/>\n"
	"  <tag k=\"highway\" v=\"secondary\"/><tag k=\"oneway\" v=\"-1\"/>\n"
	"  <tag k=\"maxspeed\" v=\"50\"/></way>\n"
	" <way id=\"103\"><nd ref=\"4\"/><nd ref=\"8\"/>\n"
	"  <tag k=\"highway\" v=\"service\"/><tag k=\"service\" v=\"driveway\"/></way>\n"
	" <way id=\"104\"><nd ref=\"7\"/><nd ref=\"9\"/>\n"
	"  <tag k=\"highway\" v=\"residential\"/><tag k=\"access\" v=\"private\"/></way>\n"
	" <way id=\"105\"><nd ref=\"1\"/><nd ref=\"14\"/><tag k=\"highway\" v=\"footway\"/></way>\n"
	" <way id=\"106\"><nd ref=\"7\"/><nd ref=\"10\"/>\n"
	"  <tag k=\"highway\" v=\"motorway\"/><tag k=\"lanes\" v=\"3\"/></way>\n"
	" <way id=\"107\"><nd ref=\"10\"/><nd ref=\"11\"/>\n"
	"  <tag k=\"highway\" v=\"motorway\"/><tag k=\"oneway\" v=\"no\"/></way>\n"
	" <way id=\"108\"><nd ref=\"11\"/><nd ref=\"12\"/><nd ref=\"13\"/><nd ref=\"11\"/>\n"
	"  <tag k=\"highway\" v=\"tertiary\"/><tag k=\"junction\" v=\"roundabout\"/></way>\n"
	" <way id=\"109\"><nd ref=\"14\"/><nd ref=\"1\"/>\n"
	"  <tag k=\"highway\" v=\"residential\"/><tag k=\"area\" v=\"yes\"/></way>\n"
	" <way id=\"110\"><nd ref=\"4\"/><nd ref=\"999\"/><nd ref=\"14\"/><nd ref=\"15\"/>\n"
	"  <tag k=\"highway\" v=\"residential\"/></way>\n"
	" <way id=\"111\"><nd ref=\"12\"/><nd ref=\"16\"/><tag k=\"highway\" v=\"residential\"/>\n"
	"  <tag k=\"motor_vehicle\" v=\"yes\"/></way>\n"
	"</osm>\n";

static void osm_rules_on_a_hand_made_extract(void **state)
{
	const char *path = write_text("rules.osm", rules_osm);
	struct fs_osm_params params;
	fs_osm_params_defaults(&params);
	params.largest_scc_only = false;
	struct fs_error err = { 0 };
	struct fs_network *net = fs_network_load_osm_with(path, &params, &err);
	if (!net) {
		fail_msg("%s", err.message);
	}
	check_invariants(net);
	/* graph nodes: way ends and shared nodes; 2, 5, 13 are shape points; 8, 9
	 * only on dropped ways; 999 is missing and splits way 110 */
	const int64_t want_nodes[] = { 1, 3, 4, 6, 7, 10, 11, 12, 14, 15, 16 };
	assert_int_equal(net->node_count, 11);
	for (uint32_t i = 0; i < 11; i++) {
		assert_int_equal(net->nodes[i].osm_id, want_nodes[i]); /* OSM id order */
	}
	assert_int_equal(net->edge_count, 15);

	const struct fs_edge *e = edge_by_osm(net, 1, 3);
	assert_non_null(e);
	assert_non_null(edge_by_osm(net, 3, 1));
	assert_int_equal(e->shape_count, 3); /* through node 2 */
	assert_string_equal(net->names + e->name, "Main Street");
	assert_int_equal(e->lanes, 2); /* lanes=4 on a two-way street */
	assert_float_equal(e->speed_mps, 40 / 3.6, 1e-4);
	/* 0.002 deg of longitude at 33.75 N, great-circle */
	assert_float_equal(e->length_m, 0.002 * 111195.08 * cos(33.75 * M_PI / 180), 0.05);
	assert_int_equal(e->flags & FS_EDGE_ONEWAY, 0);

	e = edge_by_osm(net, 3, 6); /* oneway=yes, 30 mph, named by its ref */
	assert_non_null(e);
	assert_null(edge_by_osm(net, 6, 3));
	assert_float_equal(e->speed_mps, 30 * 1.609344 / 3.6, 1e-4);
	assert_true(e->flags & FS_EDGE_ONEWAY);
	assert_int_equal(e->road_class, FS_ROAD_PRIMARY);
	assert_string_equal(net->names + e->name, "GA 10");

	assert_null(edge_by_osm(net, 6, 7)); /* oneway=-1 runs 7 -> 6 */
	e = edge_by_osm(net, 7, 6);
	assert_non_null(e);
	assert_float_equal(e->speed_mps, 50 / 3.6, 1e-4);

	e = edge_by_osm(net, 7, 10); /* motorway: one-way by default, 97 km/h */
	assert_non_null(e);
	assert_null(edge_by_osm(net, 10, 7));
	assert_int_equal(e->lanes, 3);
	assert_float_equal(e->speed_mps, 97 / 3.6, 1e-4);
	assert_non_null(edge_by_osm(net, 10, 11)); /* oneway=no motorway */
	assert_non_null(edge_by_osm(net, 11, 10));

	e = edge_by_osm(net, 12, 11); /* roundabout: one-way, cut at the junction with 111 */
	assert_non_null(e);
	assert_true(e->flags & FS_EDGE_ROUNDABOUT);
	assert_int_equal(e->shape_count, 3);
	assert_non_null(edge_by_osm(net, 11, 12));
	assert_null(edge_by_osm(net, 12, 13));

	assert_non_null(edge_by_osm(net, 14, 15)); /* the piece of 110 after the gap */
	assert_null(edge_by_osm(net, 4, 14));
	assert_null(edge_by_osm(net, 1, 14)); /* footway and area=yes dropped */
	assert_int_equal(node_by_osm(net, 8), UINT32_MAX);  /* driveway dropped */
	assert_int_equal(node_by_osm(net, 9), UINT32_MAX);  /* access=private dropped */

	/* largest SCC: 10 <-> 11, roundabout 11 -> 12 -> 11, 12 <-> 16 */
	assert_int_equal(net->largest_scc_size, 4);
	assert_true(net->in_largest_scc[node_by_osm(net, 16)]);
	assert_false(net->in_largest_scc[node_by_osm(net, 1)]);
	fs_network_destroy(net);

	net = fs_network_load_osm(path, &err); /* default: largest SCC only */
	assert_non_null(net);
	check_invariants(net);
	assert_int_equal(net->node_count, 4);
	assert_int_equal(net->edge_count, 6);
	assert_int_equal(net->largest_scc_size, 4);
	fs_network_destroy(net);
}

static void osm_atlanta_loads_with_sane_counts(void **state)
{
	struct fs_error err = { 0 };
	const char *path = data_path("data/osm/atlanta.osm.pbf");
	struct fs_network *net = fs_network_load_osm(path, &err);
	if (!net) {
		fail_msg("%s", err.message);
	}
	check_invariants(net);
	/* The whole drivable graph has 3,251 nodes / 6,670 directed edges (409.5
	 * km); its largest SCC, kept here, 2,785 nodes (cross-checked against an
	 * independent derivation with the same rules). */
	assert_int_equal(net->node_count, 2785);
	assert_int_equal(net->edge_count, 6153);
	assert_int_equal(net->largest_scc_size, 2785);
	double km = 0.0;
	uint32_t oneway = 0, named = 0, per_class[FS_ROAD_CLASS_COUNT] = { 0 };
	for (uint32_t e = 0; e < net->edge_count; e++) {
		const struct fs_edge *edge = &net->edges[e];
		km += edge->length_m / 1000.0;
		oneway += (edge->flags & FS_EDGE_ONEWAY) != 0;
		named += edge->name != 0;
		per_class[edge->road_class]++;
		assert_true(edge->speed_mps > 10 / 3.6 && edge->speed_mps < 130 / 3.6);
		assert_true(edge->length_m < 5000.0f);
	}
	assert_float_equal(km, 381.0, 0.5);
	assert_true(oneway > 500 && oneway < 2000);
	assert_true(named > net->edge_count / 2);
	assert_true(per_class[FS_ROAD_MOTORWAY] > 0 && per_class[FS_ROAD_RESIDENTIAL] > 1000);
	/* Projected about the bbox centre: a ~9 x 5 km box around (0, 0). */
	assert_true(net->min_x < -3500 && net->max_x > 3500);
	assert_true(net->max_x - net->min_x < 10000 && net->max_y - net->min_y < 6000);
	assert_float_equal(net->proj.origin_lat, 33.76, 0.02);
	assert_float_equal(net->proj.origin_lon, -84.39, 0.03);
	for (uint32_t v = 0; v < net->node_count; v += 97) {
		struct fs_point p = fs_projection_to_xy(&net->proj, net->nodes[v].lat,
							net->nodes[v].lon);
		assert_float_equal(p.x, net->nodes[v].x, 1e-6);
		assert_float_equal(p.y, net->nodes[v].y, 1e-6);
	}
	fs_network_destroy(net);
}

static void osm_columbus_reads_plain_pbf_nodes(void **state)
{
	/* columbus.osm.pbf stores nodes as plain Node messages, which readosm
	 * skips; without the PBF scan it would have no roads at all. */
	struct fs_error err = { 0 };
	struct fs_network *net = fs_network_load_osm(data_path("data/osm/columbus.osm.pbf"), &err);
	if (!net) {
		fail_msg("%s", err.message);
	}
	assert_int_equal(net->node_count, 19473);
	assert_int_equal(net->edge_count, 53291);
	fs_network_destroy(net);
}

static void osm_broken_files_name_the_file(void **state)
{
	struct fs_error err = { 0 };
	size_t size;
	uint8_t *pbf = read_all(data_path("data/osm/atlanta.osm.pbf"), &size);

	const char *path = write_file("trunc.osm.pbf", pbf, 100000);
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, "truncated");

	/* every cut must fail cleanly */
	for (size_t cut = 0; cut < size; cut += size / 37 + 1) {
		path = write_file("cut.osm.pbf", pbf, cut);
		assert_null(fs_network_load_osm(path, &err));
		assert_error_names(&err, path, "");
	}

	/* corrupt bytes: zlib's checksum or the framing check catches them */
	struct fs_rng rng;
	fs_rng_init(&rng, 7, FS_RNG_STREAM_TEST, 1);
	for (int i = 0; i < 12; i++) {
		uint8_t *copy = malloc(size);
		assert_non_null(copy);
		memcpy(copy, pbf, size);
		for (int k = 0; k < 4; k++) {
			copy[fs_rng_below(&rng, size)] ^= (uint8_t)(1 + fs_rng_below(&rng, 255));
		}
		path = write_file("flip.osm.pbf", copy, size);
		struct fs_network *net = fs_network_load_osm(path, &err);
		if (net) {
			check_invariants(net);
		} else {
			assert_error_names(&err, path, "");
		}
		fs_network_destroy(net);
		free(copy);
	}

	uint8_t garbage[4096];
	for (size_t i = 0; i < sizeof(garbage); i++) {
		garbage[i] = (uint8_t)fs_rng_next(&rng);
	}
	path = write_file("garbage.osm.pbf", garbage, sizeof(garbage));
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, "PBF");
	path = write_file("garbage.osm", garbage, sizeof(garbage));
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, "malformed OSM XML");

	path = write_text("broken.osm", "<?xml version='1.0'?>\n<osm version=\"0.6\">\n"
				       " <node id=\"1\" lat=\"1\" lon=\"2\"/>\n"
				       " <way id=\"5\"><nd ref=\"1\"/></wa>\n</osm>\n");
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, ":4:");
	assert_error_names(&err, path, "mismatched tag");

	/* readosm would call strlen(NULL) on these (found by tests/fuzz): refused with the place */
	path = write_text("no-value.osm", "<?xml version='1.0'?>\n<osm version=\"0.6\">\n"
					 " <node id=\"1\" lat=\"1\" lon=\"2\"/>\n"
					 " <way id=\"5\"><nd ref=\"1\"/><tag k=\"highway\"/></way>\n</osm>\n");
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, ":4:27:");
	assert_error_names(&err, path, "<tag> without its 'v' attribute");
	path = write_text("off-globe.osm", "<osm><node id=\"7\" lat=\"95\" lon=\"2\"/><node id=\"8\" lat=\"1\" lon=\"2\"/>"
					  "<way id=\"5\"><nd ref=\"7\"/><nd ref=\"8\"/><tag k=\"highway\" v=\"primary\"/></way></osm>");
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, "1 node(s) with a latitude beyond +-90 or a longitude beyond +-180 (the first: node 7)");
	path = write_text("no-ref.osm", "<osm><way id=\"5\"><nd/></way></osm>");
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, "<nd> without its 'ref' attribute");

	path = write_text("empty.osm", "<?xml version='1.0'?>\n<osm version=\"0.6\"></osm>\n");
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, "no drivable roads");

	/* zlib-valid, framing-valid, but a latitude varint runs past its packed field:
	 * readosm 1.1 dereferenced NULL on this (found by tests/fuzz/fuzz_osm_pbf) */
	static const uint8_t dense_overrun[] = {
		0x00, 0x00, 0x00, 0x0d, 0x0a, 0x09, 0x4f, 0x53, 0x4d, 0x48, 0x65, 0x61, 0x64, 0x65, 0x72, 0x18,
		0x20, 0x0a, 0x1c, 0x22, 0x0e, 0x4f, 0x73, 0x6d, 0x53, 0x63, 0x68, 0x65, 0x6d, 0x61, 0x2d, 0x56,
		0x30, 0x2e, 0x36, 0x22, 0x0a, 0x44, 0x65, 0x6e, 0x73, 0x65, 0x4e, 0x6f, 0x64, 0x68, 0x73, 0x10,
		0x1c, 0x00, 0x00, 0x00, 0x0b, 0x0a, 0x07, 0x4f, 0x53, 0x4d, 0x44, 0x61, 0x74, 0x61, 0x18, 0x7d,
		0x0a, 0x79, 0x0a, 0x41, 0x0a, 0x00, 0x0a, 0x07, 0x68, 0x69, 0x67, 0x68, 0x77, 0x61, 0x79, 0x0a,
		0x0b, 0x72, 0x65, 0x73, 0x69, 0x64, 0x65, 0x6e, 0x74, 0x69, 0x61, 0x6c, 0x0a, 0x04, 0x6e, 0x61,
		0x6d, 0x65, 0x0a, 0x0b, 0x4d, 0x61, 0x69, 0x6e, 0x20, 0x53, 0x74, 0x72, 0x65, 0x65, 0x74, 0x0a,
		0x07, 0x70, 0x72, 0x69, 0x6d, 0x61, 0x72, 0x79, 0x0a, 0x06, 0x6f, 0x00, 0x01, 0x77, 0x61, 0x79,
		0x0a, 0x03, 0x79, 0x65, 0x73, 0x12, 0x22, 0x12, 0x20, 0x0a, 0x04, 0x02, 0x02, 0x02, 0x02, 0x42,
		0x0a, 0xc0, 0xdd, 0xee, 0xc1, 0x02, 0x00, 0x00, 0x60, 0x63, 0xfc, 0x4a, 0x0c, 0xbf, 0x91, 0xe7,
		0xa4, 0x06, 0xa0, 0x9c, 0x01, 0xa0, 0x9c, 0x01, 0x00, 0x12, 0x10, 0x0a, 0x0e, 0x08, 0x0a, 0x40,
		0x80, 0x96, 0xf1, 0xc1, 0x02, 0x48, 0xff, 0xd8, 0xe4, 0xa4, 0x06, 0x10, 0x67,
	};
	path = write_file("dense-overrun.osm.pbf", dense_overrun, sizeof(dense_overrun));
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, "PBF block 1 at byte 64: corrupt dense nodes");

	path = tmp_path("missing.osm.pbf");
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, "No such file");

	path = write_text("roads.txt", "hello");
	assert_null(fs_network_load_osm(path, &err));
	assert_error_names(&err, path, "not an OSM file name");
	free(pbf);
}

/* ---- CSV ------------------------------------------------------------------ */

static void csv_loads_exactly(void **state)
{
	/* a triangle 10 -> 20 -> 30 -> 10 plus a dead end 30 -> 40 */
	const char *nodes = write_text("nodes.csv", "\xEF\xBB\xBFid,x,y\r\n10,0,0\r\n20,100,0\r\n"
						   "30,100,100\r\n40,200,100\r\n"); /* BOM, CRLF */
	const char *edges = write_text("edges.csv",
				       "from,to,length_m,speed_mps,lanes,name\n"
				       "10,20,100,10,2,First\n20,30,100.5,5,,\n30,10,150,10,1,\"Long, Road\"\n"
				       "30,40,100,10,1,Dead End\n");
	struct fs_error err = { 0 };
	struct fs_network *net = fs_network_load_csv(nodes, edges, &err);
	if (!net) {
		fail_msg("%s", err.message);
	}
	check_invariants(net);
	assert_int_equal(net->node_count, 4);
	assert_int_equal(net->edge_count, 4);
	assert_int_equal(net->nodes[3].osm_id, 40);
	assert_float_equal(net->nodes[2].y, 100.0, 1e-9);
	const struct fs_edge *e = edge_by_osm(net, 20, 30);
	assert_non_null(e);
	assert_float_equal(e->length_m, 100.5, 1e-4);
	assert_float_equal(e->travel_time_s, 20.1, 1e-4);
	assert_int_equal(e->lanes, 1);
	assert_string_equal(net->names + edge_by_osm(net, 30, 10)->name, "Long, Road");
	assert_int_equal(edge_by_osm(net, 10, 20)->lanes, 2);
	/* kept exactly: the dead end stays, but outside the largest SCC */
	assert_int_equal(net->largest_scc_size, 3);
	assert_false(net->in_largest_scc[3]);
	assert_true(net->in_largest_scc[0] && net->in_largest_scc[1] && net->in_largest_scc[2]);
	fs_network_destroy(net);
}

static void csv_errors_name_file_line_and_problem(void **state)
{
	struct fs_error err = { 0 };
	const char *nodes = write_text("n.csv", "id,x,y\n1,0,0\n2,10,0\n");
	const char *edges;

	const char *bad_nodes = write_text("n_missing.csv", "id,x\n1,0\n");
	edges = write_text("e.csv", "from,to,length_m,speed_mps\n1,2,10,5\n");
	assert_null(fs_network_load_csv(bad_nodes, edges, &err));
	assert_error_names(&err, bad_nodes, "missing column 'y'");

	bad_nodes = write_text("n_num.csv", "id,x,y\n1,0,0\n2,ten,0\n");
	assert_null(fs_network_load_csv(bad_nodes, edges, &err));
	assert_error_names(&err, bad_nodes, ":3:2: 'ten' is not a number");

	bad_nodes = write_text("n_dup.csv", "id,x,y\n1,0,0\n2,1,1\n1,5,5\n");
	assert_null(fs_network_load_csv(bad_nodes, edges, &err));
	assert_error_names(&err, bad_nodes, ":4:1: duplicate node id 1");

	bad_nodes = write_text("n_short.csv", "id,x,y\n1,0\n");
	assert_null(fs_network_load_csv(bad_nodes, edges, &err));
	assert_error_names(&err, bad_nodes, ":2:");
	assert_error_names(&err, bad_nodes, "missing field 'y'");

	edges = write_text("e_col.csv", "from,to,speed_mps\n1,2,5\n");
	assert_null(fs_network_load_csv(nodes, edges, &err));
	assert_error_names(&err, edges, "missing column 'length_m'");

	edges = write_text("e_node.csv", "from,to,length_m,speed_mps\n1,2,10,5\n2,7,10,5\n");
	assert_null(fs_network_load_csv(nodes, edges, &err));
	assert_error_names(&err, edges, ":3:2: unknown node id 7");

	edges = write_text("e_neg.csv", "from,to,length_m,speed_mps\n1,2,-3,5\n");
	assert_null(fs_network_load_csv(nodes, edges, &err));
	assert_error_names(&err, edges, ":2:3: length_m -3 is negative");

	edges = write_text("e_speed.csv", "from,to,length_m,speed_mps\n1,2,3,0\n");
	assert_null(fs_network_load_csv(nodes, edges, &err));
	assert_error_names(&err, edges, "speed_mps 0");

	edges = write_text("e_num.csv", "from,to,length_m,speed_mps\n1,2,3,fast\n");
	assert_null(fs_network_load_csv(nodes, edges, &err));
	assert_error_names(&err, edges, ":2:4: 'fast' is not a number");

	edges = write_text("e_empty.csv", "");
	assert_null(fs_network_load_csv(nodes, edges, &err));
	assert_error_names(&err, edges, "empty");

	const char *missing = tmp_path("nope.csv");
	assert_null(fs_network_load_csv(missing, edges, &err));
	assert_error_names(&err, missing, "No such file");
}

/* ---- turn restrictions ------------------------------------------------------ */

static void assert_same_network(const struct fs_network *a, const struct fs_network *b);

/* The turn from OSM node a to b, then on to c: banned? */
static bool banned_osm(const struct fs_network *net, int64_t a, int64_t b, int64_t c)
{
	const struct fs_edge *in = edge_by_osm(net, a, b), *out = edge_by_osm(net, b, c);
	assert_non_null(in);
	assert_non_null(out);
	return !fs_network_turn_allowed(net, (uint32_t)(in - net->edges), (uint32_t)(out - net->edges));
}

static void osm_turn_restrictions(void **state)
{
	struct fs_error err = { 0 };
	struct fs_network *net = fs_network_load_osm(data_path("tests/data/turn_restrictions.osm"), &err);
	if (!net) {
		fail_msg("%s", err.message);
	}
	check_invariants(net);
	/* 200 no_left_turn: southbound North Street may not turn onto East Street */
	assert_true(banned_osm(net, 100, 101, 103));
	assert_false(banned_osm(net, 103, 101, 100)); /* the other way round is another turn */
	assert_false(banned_osm(net, 100, 101, 102));
	/* 201 only_straight_on from West Street: everything but East Street, U-turn included */
	assert_false(banned_osm(net, 104, 101, 103));
	assert_true(banned_osm(net, 104, 101, 100));
	assert_true(banned_osm(net, 104, 101, 102));
	assert_true(banned_osm(net, 104, 101, 104));
	/* 202 except=motorcar, 203 via way, 204 lorries only, 205 from way not at the via node */
	assert_false(banned_osm(net, 102, 101, 103));
	assert_false(banned_osm(net, 102, 101, 104));
	assert_false(banned_osm(net, 105, 100, 101));
	assert_int_equal(net->banned_turn_count, 4);
	for (uint32_t i = 1; i < net->banned_turn_count; i++) {
		const struct fs_turn *p = &net->banned_turns[i - 1], *t = &net->banned_turns[i];
		assert_true(p->from < t->from || (p->from == t->from && p->to < t->to));
	}
	/* a turn between edges that do not meet is never allowed */
	const struct fs_edge *far = edge_by_osm(net, 105, 103), *west = edge_by_osm(net, 101, 104);
	assert_false(fs_network_turn_allowed(net, (uint32_t)(far - net->edges), (uint32_t)(west - net->edges)));
	/* every street is two-way: each edge has its reverse, position mirrored */
	const struct fs_edge *north = edge_by_osm(net, 100, 101), *south = edge_by_osm(net, 101, 100);
	assert_int_equal(fs_network_reverse_edge(net, (uint32_t)(north - net->edges)), (uint32_t)(south - net->edges));

	/* the cache keeps them */
	const char *path = tmp_path("turns.fsnet");
	assert_int_equal(fs_network_save_cache(net, path, &err), 0);
	struct fs_network *back = fs_network_load_cache(path, &err);
	if (!back) {
		fail_msg("%s", err.message);
	}
	assert_same_network(net, back);
	assert_true(banned_osm(back, 100, 101, 103));
	fs_network_destroy(back);
	fs_network_destroy(net);
}

static void grid_has_no_banned_turns_and_reverse_edges(void **state)
{
	struct fs_network *net = fs_network_grid(2, 3, 100.0, 10.0, NULL);
	assert_int_equal(net->banned_turn_count, 0);
	for (uint32_t e = 0; e < net->edge_count; e++) {
		uint32_t r = fs_network_reverse_edge(net, e);
		assert_true(r < net->edge_count);
		assert_int_equal(net->edges[r].from, net->edges[e].to);
		assert_int_equal(net->edges[r].to, net->edges[e].from);
		assert_int_equal(fs_network_reverse_edge(net, r), e);
	}
	assert_int_equal(fs_network_reverse_edge(net, net->edge_count), UINT32_MAX);
	fs_network_destroy(net);
}

/* Riders of a junction stand along the half-blocks around it, uniformly along the streets. */
static void points_near_a_junction(void **state)
{
	struct fs_network *net = fs_network_grid(3, 3, 100.0, 10.0, NULL);
	struct fs_network_index *idx = fs_network_index_create(net, true);
	int per_street[4] = { 0 };
	double sum = 0.0;
	const int n = 4000;
	for (int i = 0; i < n; i++) {
		struct fs_point p;
		double u = (i + 0.5) / n, v = ((i * 7919) % n + 0.5) / n;
		assert_int_equal(fs_network_point_near_junction(net, idx, 101.0, 99.0, u, v, &p), 0); /* node 4 */
		double dx = p.x - 100.0, dy = p.y - 100.0;
		assert_true(fabs(dx) < 1e-9 || fabs(dy) < 1e-9); /* on one of the four streets */
		double d = fabs(dx) + fabs(dy);
		assert_true(d <= 50.0 + 1e-9); /* never past the middle of the block */
		per_street[dx > 0.5 ? 0 : dx < -0.5 ? 1 : dy > 0.5 ? 2 : 3] += d > 0.5;
		sum += d;
	}
	for (int k = 0; k < 4; k++) {
		assert_true(abs(per_street[k] - n / 4) < n / 40); /* equal lengths, equal shares */
	}
	assert_true(fabs(sum / n - 25.0) < 0.5); /* uniform over the half-block */
	/* a corner has two streets; a point far off still finds its nearest junction */
	struct fs_point p;
	assert_int_equal(fs_network_point_near_junction(net, idx, -30.0, -40.0, 0.9, 1.0, &p), 0);
	assert_true((fabs(p.x) < 1e-9 && fabs(p.y - 50.0) < 1e-9) || (fabs(p.y) < 1e-9 && fabs(p.x - 50.0) < 1e-9));
	assert_int_equal(fs_network_point_near_junction(net, idx, NAN, 0.0, 0.5, 0.5, &p), -EINVAL);
	fs_network_index_destroy(idx);
	fs_network_destroy(net);
}

/* ---- cache ---------------------------------------------------------------- */

static void assert_same_network(const struct fs_network *a, const struct fs_network *b)
{
	assert_int_equal(a->node_count, b->node_count);
	assert_int_equal(a->edge_count, b->edge_count);
	assert_int_equal(a->shape_count, b->shape_count);
	assert_int_equal(a->names_size, b->names_size);
	assert_memory_equal(a->nodes, b->nodes, a->node_count * sizeof(*a->nodes));
	assert_memory_equal(a->edges, b->edges, a->edge_count * sizeof(*a->edges));
	assert_memory_equal(a->out_first, b->out_first, (a->node_count + 1) * sizeof(uint32_t));
	assert_memory_equal(a->in_edges, b->in_edges, a->edge_count * sizeof(uint32_t));
	assert_memory_equal(a->shape, b->shape, a->shape_count * sizeof(*a->shape));
	assert_memory_equal(a->names, b->names, a->names_size);
	assert_memory_equal(a->in_largest_scc, b->in_largest_scc, a->node_count);
	assert_int_equal(a->banned_turn_count, b->banned_turn_count);
	assert_memory_equal(a->banned_turns, b->banned_turns, a->banned_turn_count * sizeof(*a->banned_turns));
	assert_memory_equal(&a->proj, &b->proj, sizeof(a->proj));
	assert_string_equal(a->source, b->source);
	assert_true(a->min_x == b->min_x && a->max_y == b->max_y);
}

static void cache_round_trips_exactly(void **state)
{
	struct fs_error err = { 0 };
	struct fs_network *net = fs_network_load_osm(data_path("data/osm/atlanta.osm.pbf"), &err);
	assert_non_null(net);
	const char *path = tmp_path("atlanta.fsnet");
	assert_int_equal(fs_network_save_cache(net, path, &err), 0);
	struct fs_network *back = fs_network_load_cache(path, &err);
	if (!back) {
		fail_msg("%s", err.message);
	}
	assert_same_network(net, back);
	fs_network_destroy(back);
	back = fs_network_load(path, &err); /* the spec form */
	assert_non_null(back);
	assert_same_network(net, back);
	fs_network_destroy(back);
	fs_network_destroy(net);

	net = fs_network_grid(3, 4, 25.0, 7.0, NULL);
	assert_int_equal(fs_network_save_cache(net, path, &err), 0);
	back = fs_network_load_cache(path, &err);
	assert_non_null(back);
	assert_same_network(net, back);
	fs_network_destroy(back);
	fs_network_destroy(net);
}

static void cache_rejects_corrupt_files(void **state)
{
	struct fs_error err = { 0 };
	struct fs_network *net = fs_network_grid(5, 5, 50.0, 10.0, NULL);
	const char *good = tmp_path("grid.fsnet");
	assert_int_equal(fs_network_save_cache(net, good, &err), 0);
	size_t size;
	uint8_t *bytes = read_all(good, &size);
	assert_int_equal(size, 372 + 25 * 40 + net->edge_count * (36 + 2 * 16) + net->names_size);

	const char *path;
	for (size_t cut = 0; cut < size; cut += size / 23 + 1) {
		path = write_file("cut.fsnet", bytes, cut);
		assert_null(fs_network_load_cache(path, &err));
		assert_error_names(&err, path, cut >= 8 || cut == 0 ? "truncated" : "");
	}
	uint8_t *copy = malloc(size + 1);
	assert_non_null(copy);
	memcpy(copy, bytes, size);
	copy[size] = 0;
	path = write_file("long.fsnet", copy, size + 1);
	assert_null(fs_network_load_cache(path, &err));
	assert_error_names(&err, path, "oversized");

	copy[size - 40] ^= 0x10; /* a shape coordinate */
	path = write_file("flip.fsnet", copy, size);
	assert_null(fs_network_load_cache(path, &err));
	assert_error_names(&err, path, "content checksum");
	memcpy(copy, bytes, size);
	copy[100] ^= 1; /* the projection */
	path = write_file("flip2.fsnet", copy, size);
	assert_null(fs_network_load_cache(path, &err));
	assert_error_names(&err, path, "header checksum");
	memcpy(copy, bytes, size);
	copy[8] = 99; /* version */
	path = write_file("version.fsnet", copy, size);
	assert_null(fs_network_load_cache(path, &err));
	assert_error_names(&err, path, "version 99");

	/* Checksums right, content wrong: an edge to a node that does not exist. */
	memcpy(copy, bytes, size);
	size_t edge0 = 372 + 25 * 40;
	copy[edge0 + 4] = 200; /* edge 0 'to' = 200 */
	uint64_t h = XXH3_64bits(copy + 372, size - 372);
	for (int i = 0; i < 8; i++) {
		copy[48 + i] = (uint8_t)(h >> (8 * i));
	}
	h = XXH3_64bits(copy, 364);
	for (int i = 0; i < 8; i++) {
		copy[364 + i] = (uint8_t)(h >> (8 * i));
	}
	path = write_file("edited.fsnet", copy, size);
	assert_null(fs_network_load_cache(path, &err));
	assert_error_names(&err, path, "invalid network cache: bad or unsorted end nodes of edge 0");

	path = write_text("text.fsnet", "nodes,edges\n1,2\n");
	assert_null(fs_network_load_cache(path, &err));
	assert_error_names(&err, path, "bad magic");
	assert_null(fs_network_load_cache(tmp_path("none.fsnet"), &err));
	assert_error_names(&err, tmp_path("none.fsnet"), "No such file");
	free(copy);
	free(bytes);
	fs_network_destroy(net);
}

static void cached_loader_rebuilds_stale_caches(void **state)
{
	struct fs_error err = { 0 };
	const char *src = write_text("city.osm", rules_osm);
	int status = -1;
	struct fs_network *first = fs_network_load_cached(src, tmp_dir, &status, &err);
	if (!first) {
		fail_msg("%s", err.message);
	}
	assert_int_equal(status, 0); /* parsed, cache written */
	struct fs_network *second = fs_network_load_cached(src, tmp_dir, &status, &err);
	assert_non_null(second);
	assert_int_equal(status, 1); /* from the cache */
	assert_same_network(first, second);
	fs_network_destroy(second);

	/* Same size, one byte different: node 16 moves 111 m north. */
	char *edited = strdup(rules_osm);
	assert_non_null(edited);
	char *lat = strstr(edited, "33.7545");
	assert_non_null(lat);
	lat[5] = '5';
	src = write_text("city.osm", edited);
	second = fs_network_load_cached(src, tmp_dir, &status, &err);
	assert_non_null(second);
	assert_int_equal(status, 0); /* stale: parsed again, cache rewritten */
	fs_network_destroy(second);
	second = fs_network_load_cached(src, tmp_dir, &status, &err);
	assert_non_null(second);
	assert_int_equal(status, 1);
	assert_int_equal(second->edge_count, first->edge_count);
	double moved = 0.0;
	for (uint32_t e = 0; e < second->edge_count; e++) {
		moved += fabs(second->edges[e].length_m - first->edges[e].length_m);
	}
	assert_float_equal(moved, 2 * 111.2, 1.0); /* both directions of 12 <-> 16 */
	fs_network_destroy(second);

	/* An unwritable cache directory still loads, and says why it did not cache. */
	second = fs_network_load_cached(src, "/nonexistent/dir", &status, &err);
	assert_non_null(second);
	assert_true(status < 0);
	fs_network_destroy(second);
	free(edited);
	fs_network_destroy(first);
}

/* ---- snapping ---------------------------------------------------------------- */

static void snap_on_a_grid(void **state)
{
	struct fs_network *net = fs_network_grid(3, 4, 100.0, 10.0, NULL);
	struct fs_network_index *idx = fs_network_index_create(net, false);
	assert_non_null(idx);
	uint32_t edge;
	double offset, dist;
	assert_int_equal(fs_network_snap(net, idx, 130.0, 7.0, &edge, &offset, &dist), 0);
	/* Street 0 between nodes 1 and 2: the lower id of the two directions */
	const struct fs_edge *e = &net->edges[edge];
	assert_true((e->from == 1 && e->to == 2) || (e->from == 2 && e->to == 1));
	for (uint32_t k = 0; k < net->edge_count; k++) {
		if (net->edges[k].from + net->edges[k].to == 3 && net->edges[k].from * net->edges[k].to == 2) {
			assert_true(edge <= k);
		}
	}
	assert_float_equal(dist, 7.0, 1e-9);
	assert_float_equal(offset, e->from == 1 ? 30.0 : 70.0, 1e-9);
	struct fs_point p;
	assert_int_equal(fs_network_edge_point_at(net, edge, offset, &p), 0);
	assert_float_equal(p.x, 130.0, 1e-9);
	assert_float_equal(p.y, 0.0, 1e-9);
	/* far outside the box: the nearest corner */
	assert_int_equal(fs_network_snap(net, idx, -1000.0, -1000.0, &edge, &offset, &dist), 0);
	assert_float_equal(dist, 1000.0 * sqrt(2.0), 1e-6);
	assert_int_equal(fs_network_snap(net, idx, NAN, 0.0, &edge, &offset, &dist), -EINVAL);
	fs_network_index_destroy(idx);
	fs_network_index_destroy(NULL);
	fs_network_destroy(net);

	net = fs_network_grid(1, 1, 100.0, 10.0, NULL); /* one node, no roads */
	idx = fs_network_index_create(net, false);
	assert_non_null(idx);
	assert_int_equal(fs_network_snap(net, idx, 0.0, 0.0, &edge, &offset, &dist), -ENOENT);
	fs_network_index_destroy(idx);
	fs_network_destroy(net);
}

static double brute_force_dist(const struct fs_network *net, double x, double y, bool scc_only)
{
	double best = INFINITY;
	for (uint32_t e = 0; e < net->edge_count; e++) {
		if (scc_only && !(net->in_largest_scc[net->edges[e].from] &&
				  net->in_largest_scc[net->edges[e].to])) {
			continue;
		}
		const struct fs_point *p = net->shape + net->edges[e].shape_first;
		for (uint32_t s = 0; s + 1 < net->edges[e].shape_count; s++) {
			double dx = p[s + 1].x - p[s].x, dy = p[s + 1].y - p[s].y;
			double len2 = dx * dx + dy * dy;
			double t = len2 > 0 ? ((x - p[s].x) * dx + (y - p[s].y) * dy) / len2 : 0;
			t = fmin(1, fmax(0, t));
			best = fmin(best, hypot(p[s].x + t * dx - x, p[s].y + t * dy - y));
		}
	}
	return best;
}

static void snap_matches_brute_force_on_atlanta(void **state)
{
	struct fs_network *net = fs_network_load_osm(data_path("data/osm/atlanta.osm.pbf"), NULL);
	assert_non_null(net);
	struct fs_network_index *idx = fs_network_index_create(net, false);
	assert_non_null(idx);
	struct fs_rng rng;
	fs_rng_init(&rng, 11, FS_RNG_STREAM_TEST, 4);
	for (int i = 0; i < 500; i++) {
		/* inside the box, and some well outside it */
		double margin = i % 5 == 0 ? 2000.0 : 0.0;
		double x = net->min_x - margin + fs_rng_uniform(&rng) * (net->max_x - net->min_x + 2 * margin);
		double y = net->min_y - margin + fs_rng_uniform(&rng) * (net->max_y - net->min_y + 2 * margin);
		uint32_t edge;
		double offset, dist;
		assert_int_equal(fs_network_snap(net, idx, x, y, &edge, &offset, &dist), 0);
		assert_float_equal(dist, brute_force_dist(net, x, y, false), 1e-9);
		assert_true(offset >= 0.0 && offset <= net->edges[edge].length_m * (1 + 1e-9));
		struct fs_point p;
		assert_int_equal(fs_network_edge_point_at(net, edge, offset, &p), 0);
		assert_float_equal(hypot(p.x - x, p.y - y), dist, 1e-6 * fmax(1.0, dist));
	}
	fs_network_index_destroy(idx);
	fs_network_destroy(net);
}

static void snap_can_skip_roads_outside_the_largest_scc(void **state)
{
	const char *nodes = write_text("sn.csv", "id,x,y\n1,0,0\n2,100,0\n3,100,100\n4,100,300\n");
	const char *edges = write_text("se.csv", "from,to,length_m,speed_mps\n1,2,100,10\n2,1,100,10\n"
						 "2,3,100,10\n3,2,100,10\n3,4,200,10\n");
	struct fs_network *net = fs_network_load_csv(nodes, edges, NULL);
	assert_non_null(net);
	struct fs_network_index *all = fs_network_index_create(net, false);
	struct fs_network_index *scc = fs_network_index_create(net, true);
	uint32_t edge;
	double offset, dist;
	assert_int_equal(fs_network_snap(net, all, 103.0, 250.0, &edge, &offset, &dist), 0);
	assert_int_equal(net->edges[edge].to, 3); /* the dead end 3 -> 4 */
	assert_float_equal(dist, 3.0, 1e-9);
	assert_float_equal(offset, 150.0, 1e-9);
	assert_int_equal(fs_network_snap(net, scc, 103.0, 250.0, &edge, &offset, &dist), 0);
	assert_float_equal(dist, hypot(3.0, 150.0), 1e-9); /* node 3, end of 2 <-> 3 */
	assert_true(net->in_largest_scc[net->edges[edge].from] && net->in_largest_scc[net->edges[edge].to]);
	fs_network_index_destroy(all);
	fs_network_index_destroy(scc);
	fs_network_destroy(net);
}

/* ---- spec strings -------------------------------------------------------------- */

static void load_dispatches_on_the_spec(void **state)
{
	struct fs_error err = { 0 };
	struct fs_network *net = fs_network_load("grid:3x5:80", &err);
	assert_non_null(net);
	assert_int_equal(net->node_count, 15);
	assert_float_equal(net->edges[0].speed_mps, 40 / 3.6, 1e-5);
	fs_network_destroy(net);
	net = fs_network_load("grid:2x2:50:20", &err);
	assert_non_null(net);
	assert_float_equal(net->edges[0].travel_time_s, 2.5, 1e-6);
	fs_network_destroy(net);

	const char *nodes = write_text("ln.csv", "id,x,y\n1,0,0\n2,3,4\n");
	const char *edges = write_text("le.csv", "from,to,length_m,speed_mps\n1,2,5,1\n");
	char spec[600];
	snprintf(spec, sizeof(spec), "csv:%s,%s", nodes, edges);
	net = fs_network_load(spec, &err);
	assert_non_null(net);
	assert_int_equal(net->edge_count, 1);
	fs_network_destroy(net);

	net = fs_network_load(data_path("data/osm/atlanta.osm.pbf"), &err);
	assert_non_null(net);
	assert_int_equal(net->node_count, 2785);
	fs_network_destroy(net);

	assert_null(fs_network_load("grid:3x:80", &err));
	assert_non_null(strstr(err.message, "grid:ROWSxCOLS"));
	assert_null(fs_network_load("grid:0x3:80", &err));
	assert_null(fs_network_load("csv:onlyone.csv", &err));
	assert_non_null(strstr(err.message, "csv:NODES"));
	assert_null(fs_network_load("roads.shp", &err));
	assert_non_null(strstr(err.message, "roads.shp: unknown network spec"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grid_has_expected_counts_and_lengths),
		cmocka_unit_test(grid_names_and_points_along_edges),
		cmocka_unit_test(grid_rejects_bad_arguments),
		cmocka_unit_test(projection_round_trips),
		cmocka_unit_test(largest_scc_of_a_one_way_appendix),
		cmocka_unit_test(osm_rules_on_a_hand_made_extract),
		cmocka_unit_test(osm_atlanta_loads_with_sane_counts),
		cmocka_unit_test(osm_columbus_reads_plain_pbf_nodes),
		cmocka_unit_test(osm_broken_files_name_the_file),
		cmocka_unit_test(osm_turn_restrictions),
		cmocka_unit_test(points_near_a_junction),
		cmocka_unit_test(grid_has_no_banned_turns_and_reverse_edges),
		cmocka_unit_test(csv_loads_exactly),
		cmocka_unit_test(csv_errors_name_file_line_and_problem),
		cmocka_unit_test(cache_round_trips_exactly),
		cmocka_unit_test(cache_rejects_corrupt_files),
		cmocka_unit_test(cached_loader_rebuilds_stale_caches),
		cmocka_unit_test(snap_on_a_grid),
		cmocka_unit_test(snap_matches_brute_force_on_atlanta),
		cmocka_unit_test(snap_can_skip_roads_outside_the_largest_scc),
		cmocka_unit_test(load_dispatches_on_the_spec),
	};
	return cmocka_run_group_tests(tests, make_tmp_dir, remove_tmp_dir);
}
