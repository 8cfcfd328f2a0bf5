/* SPDX-License-Identifier: Apache-2.0 */
/* ODD zones: point-in-polygon with holes and concave shapes, segments that
 * cross a notch, routes that leave a zone, GeoJSON good and broken, and the
 * 263 real NYC taxi zones. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs/geofence.h"
#include "fs/geofence_load.h"
#include "fs/network.h"
#include "fs/rng.h"

/* 0..1000 square with a 400..600 square hole. */
static const double square[] = { 0, 0, 1000, 0, 1000, 1000, 0, 1000, 0, 0 };
static const double hole[] = { 400, 400, 400, 600, 600, 600, 600, 400 }; /* open ring */
/* A "U": arms x 0..300 and 700..1000, joined by y 0..300; the notch is open to the north. */
static const double u_shape[] = { 0, 0, 1000, 0, 1000, 1000, 700, 1000, 700, 300,
				  300, 300, 300, 1000, 0, 1000 };

static struct fs_geofence *square_and_u(void)
{
	struct fs_geofence *g = fs_geofence_create(NULL);
	assert_non_null(g);
	struct fs_geofence_ring rings[] = { { square, 5 }, { hole, 4 } };
	struct fs_geofence_polygon p = { rings, 2 };
	struct fs_error err;
	assert_int_equal(fs_geofence_add_zone(g, 10, "holed", FS_GEOFENCE_XY, &p, 1, &err), 0);
	struct fs_geofence_ring ur = { u_shape, 8 };
	struct fs_geofence_polygon up = { &ur, 1 };
	assert_int_equal(fs_geofence_add_zone(g, 20, NULL, FS_GEOFENCE_XY, &up, 1, &err), 1);
	return g;
}

static void points_in_holes_and_concave_shapes(void **state)
{
	struct fs_geofence *g = square_and_u();
	const struct fs_geofence_zone *sq = fs_geofence_zone_by_id(g, 10);
	const struct fs_geofence_zone *u = fs_geofence_zone(g, 1);
	assert_non_null(sq);
	assert_ptr_equal(u, fs_geofence_zone_by_id(g, 20));
	assert_null(fs_geofence_zone_by_id(g, 30));
	assert_null(fs_geofence_zone(g, 2));
	assert_string_equal(fs_geofence_zone_name(sq), "holed");
	assert_string_equal(fs_geofence_zone_name(u), "");
	assert_true(fabs(fs_geofence_zone_area(sq) - (1e6 - 4e4)) < 1e-6);
	assert_true(fabs(fs_geofence_zone_area(u) - (1e6 - 400.0 * 700)) < 1e-6);

	assert_true(fs_geofence_zone_contains(sq, 100, 100));
	assert_true(fs_geofence_zone_contains(sq, 999, 500));
	assert_false(fs_geofence_zone_contains(sq, 500, 500)); /* in the hole */
	assert_false(fs_geofence_zone_contains(sq, -1, 500));
	assert_false(fs_geofence_zone_contains(sq, 500, 1001));
	assert_true(fs_geofence_zone_contains(u, 150, 900));  /* west arm */
	assert_true(fs_geofence_zone_contains(u, 850, 900));  /* east arm */
	assert_false(fs_geofence_zone_contains(u, 500, 900)); /* the notch */
	assert_true(fs_geofence_zone_contains(u, 500, 100));  /* the base */

	uint32_t idx[4];
	assert_int_equal(fs_geofence_zones_at(g, 150, 900, idx, 4), 2);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 1);
	assert_int_equal(fs_geofence_zones_at(g, 500, 900, idx, 4), 1);
	assert_int_equal(idx[0], 0);
	assert_int_equal(fs_geofence_zones_at(g, 500, 500, idx, 4), 0);
	assert_int_equal(fs_geofence_zones_at(g, 150, 900, NULL, 0), 2); /* count only */

	/* Segments: both ends inside is not enough. */
	struct fs_point w = { 150, 900 }, e = { 850, 900 }, base = { 500, 100 };
	assert_false(fs_geofence_segment_inside(u, w, e));        /* crosses the notch */
	assert_true(fs_geofence_segment_inside(u, w, (struct fs_point){ 150, 50 }));
	assert_true(fs_geofence_segment_inside(u, (struct fs_point){ 50, 150 },
					       (struct fs_point){ 950, 150 }));
	assert_false(fs_geofence_segment_inside(u, w, base)); /* enters the notch at x = 300 */
	assert_false(fs_geofence_segment_inside(sq, (struct fs_point){ 100, 500 },
						(struct fs_point){ 900, 500 })); /* over the hole */
	assert_true(fs_geofence_segment_inside(sq, (struct fs_point){ 100, 100 },
					       (struct fs_point){ 900, 100 }));
	/* Through the notch's corner vertex exactly: (300,300) touched, then outside. */
	assert_false(fs_geofence_segment_inside(u, (struct fs_point){ 100, 100 },
						(struct fs_point){ 650, 650 }));
	/* Along the base, level with the notch floor: inside. */
	assert_true(fs_geofence_segment_inside(u, (struct fs_point){ 100, 300 },
					       (struct fs_point){ 250, 300 }));
	fs_geofence_destroy(g);
}

/* Brute-force even-odd over all rings: the reference for the slab index. */
static bool brute_inside(const double *const *rings, const size_t *counts, size_t n, double x, double y)
{
	bool in = false;
	for (size_t r = 0; r < n; r++) {
		for (size_t i = 0, j = counts[r] - 1; i < counts[r]; j = i++) {
			double xi = rings[r][2 * i], yi = rings[r][2 * i + 1];
			double xj = rings[r][2 * j], yj = rings[r][2 * j + 1];
			if ((yi > y) != (yj > y) && x < xi + (y - yi) * (xj - xi) / (yj - yi)) {
				in = !in;
			}
		}
	}
	return in;
}

static void large_star_polygon_matches_brute_force(void **state)
{
	/* A 3000-point star (very concave) with two star-shaped holes. */
	enum { NS = 3000, NH = 500 };
	static double star[2 * NS], h1[2 * NH], h2[2 * NH];
	struct fs_rng rng;
	fs_rng_init(&rng, 3, FS_RNG_STREAM_TEST, 0);
	for (int i = 0; i < NS; i++) {
		double a = 2 * M_PI * i / NS, r = i % 2 ? 5000.0 : 2000.0 + 3000.0 * fs_rng_uniform(&rng);
		star[2 * i] = r * cos(a);
		star[2 * i + 1] = r * sin(a);
	}
	for (int i = 0; i < NH; i++) {
		double a = -2 * M_PI * i / NH, r = i % 2 ? 600.0 : 300.0;
		h1[2 * i] = 1000.0 + r * cos(a);
		h1[2 * i + 1] = r * sin(a);
		h2[2 * i] = -1000.0 + r * cos(a);
		h2[2 * i + 1] = 200.0 + r * sin(a);
	}
	struct fs_geofence_ring rings[] = { { star, NS }, { h1, NH }, { h2, NH } };
	struct fs_geofence_polygon p = { rings, 3 };
	struct fs_geofence *g = fs_geofence_create(NULL);
	assert_int_equal(fs_geofence_add_zone(g, 1, "star", FS_GEOFENCE_XY, &p, 1, NULL), 0);
	const struct fs_geofence_zone *z = fs_geofence_zone(g, 0);
	const double *rr[] = { star, h1, h2 };
	const size_t cc[] = { NS, NH, NH };
	int inside = 0;
	for (int i = 0; i < 20000; i++) {
		double x = -5500.0 + 11000.0 * fs_rng_uniform(&rng);
		double y = -5500.0 + 11000.0 * fs_rng_uniform(&rng);
		bool want = brute_inside(rr, cc, 3, x, y);
		assert_int_equal(fs_geofence_zone_contains(z, x, y), want);
		inside += want;
	}
	assert_true(inside > 5000 && inside < 15000); /* the test exercised both answers */
	fs_geofence_destroy(g);
}

static void latlon_zone_uses_the_projection(void **state)
{
	struct fs_projection proj;
	fs_projection_init(&proj, 33.76, -84.39);
	struct fs_geofence *g = fs_geofence_create(&proj);
	/* Same quadrilateral as (lat, lon) and as (lon, lat). */
	const double ll[] = { 33.75, -84.40, 33.75, -84.38, 33.77, -84.38, 33.77, -84.40 };
	const double lonlat[] = { -84.40, 33.75, -84.38, 33.75, -84.38, 33.77, -84.40, 33.77, -84.40, 33.75 };
	struct fs_geofence_ring r1 = { ll, 4 }, r2 = { lonlat, 5 };
	struct fs_geofence_polygon p1 = { &r1, 1 }, p2 = { &r2, 1 };
	assert_int_equal(fs_geofence_add_zone(g, 1, "a", FS_GEOFENCE_LATLON, &p1, 1, NULL), 0);
	assert_int_equal(fs_geofence_add_zone(g, 2, "b", FS_GEOFENCE_LONLAT, &p2, 1, NULL), 1);
	struct fs_error err = { { 0 } };
	assert_int_equal(fs_geofence_add_zone(g, 2, "dup", FS_GEOFENCE_LONLAT, &p2, 1, &err), -EINVAL);
	assert_non_null(strstr(err.message, "duplicate"));
	struct fs_point in = fs_projection_to_xy(&proj, 33.76, -84.39);
	struct fs_point out = fs_projection_to_xy(&proj, 33.78, -84.39);
	assert_int_equal(fs_geofence_zones_at(g, in.x, in.y, NULL, 0), 2);
	assert_int_equal(fs_geofence_zones_at(g, out.x, out.y, NULL, 0), 0);
	double x0, y0, x1, y1;
	fs_geofence_zone_bounds(fs_geofence_zone(g, 0), &x0, &y0, &x1, &y1);
	/* 0.02 deg of latitude is about 2.2 km; 0.02 deg of longitude at 33.76 N about 1.85 km. */
	assert_true(fabs((y1 - y0) - 2224.0) < 10.0);
	assert_true(fabs((x1 - x0) - 1849.0) < 10.0);

	/* Bad rings are refused with a reason. */
	const double two[] = { 0, 0, 1, 1, 0, 0 };
	struct fs_geofence_ring bad = { two, 3 };
	struct fs_geofence_polygon bp = { &bad, 1 };
	assert_int_equal(fs_geofence_add_zone(g, 3, NULL, FS_GEOFENCE_XY, &bp, 1, &err), -EINVAL);
	assert_non_null(strstr(err.message, "fewer than 3"));
	const double far[] = { 95, 0, 1, 1, 2, 0 };
	struct fs_geofence_ring fr = { far, 3 };
	struct fs_geofence_polygon fp = { &fr, 1 };
	assert_int_equal(fs_geofence_add_zone(g, 4, NULL, FS_GEOFENCE_LATLON, &fp, 1, &err), -EINVAL);
	assert_non_null(strstr(err.message, "out of range"));
	assert_int_equal(fs_geofence_add_zone(g, 5, NULL, FS_GEOFENCE_XY, &fp, 0, &err), -EINVAL);
	assert_int_equal(fs_geofence_zone_count(g), 2);
	fs_geofence_destroy(g);
	fs_geofence_destroy(NULL);
}

static uint32_t edge_between(const struct fs_network *net, uint32_t a, uint32_t b)
{
	for (uint32_t e = net->out_first[a]; e < net->out_first[a + 1]; e++) {
		if (net->edges[e].to == b) {
			return e;
		}
	}
	fail_msg("no edge %u -> %u", a, b);
	return UINT32_MAX;
}

static void route_leaving_a_zone_is_detected(void **state)
{
	/* 11 x 11 grid, 100 m blocks: node r * 11 + c at (100 c, 100 r). */
	struct fs_network *net = fs_network_grid(11, 11, 100.0, 10.0, NULL);
	assert_non_null(net);
	struct fs_geofence *g = fs_geofence_create(&net->proj);
	/* The U again, scaled to 0..1000 and grown by 5 m so the streets on
	 * its outline are inside: the notch spans x 305..695, y >= 295. */
	const double u[] = { -5, -5, 1005, -5, 1005, 1005, 695, 1005, 695, 295,
			     305, 295, 305, 1005, -5, 1005 };
	struct fs_geofence_ring r = { u, 8 };
	struct fs_geofence_polygon p = { &r, 1 };
	assert_int_equal(fs_geofence_add_zone(g, 7, "odd", FS_GEOFENCE_XY, &p, 1, NULL), 0);
	const struct fs_geofence_zone *z = fs_geofence_zone(g, 0);

	/* Along row 10 (y = 1000) from column 0 to 10: leaves at the notch. */
	uint32_t path[10];
	for (uint32_t c = 0; c < 10; c++) {
		path[c] = edge_between(net, 110 + c, 110 + c + 1);
	}
	size_t first = 99;
	assert_true(fs_geofence_path_leaves(z, net, path, 10, &first));
	assert_int_equal(first, 3); /* edge (300,1000)->(400,1000): crosses x = 305 */
	assert_true(fs_geofence_edge_inside(z, net, path[0]));
	/* Around the notch via the base (row 2, y = 200) stays inside. */
	uint32_t around[30], n = 0;
	for (uint32_t rr = 10; rr > 2; rr--) {
		around[n++] = edge_between(net, rr * 11, (rr - 1) * 11);
	}
	for (uint32_t c = 0; c < 10; c++) {
		around[n++] = edge_between(net, 22 + c, 22 + c + 1);
	}
	assert_false(fs_geofence_path_leaves(z, net, around, n, &first));
	assert_false(fs_geofence_path_leaves(z, net, around, 0, NULL));
	assert_false(fs_geofence_edge_inside(z, net, net->edge_count)); /* bad id */
	fs_geofence_destroy(g);
	fs_network_destroy(net);
}

static void curved_edge_with_ends_inside_can_leave(void **state)
{
	/* A hand-built two-node network: one edge whose shape bulges out through
	 * the U's notch although both its nodes are in the arms. */
	struct fs_node nodes[2] = { { .x = 150, .y = 900 }, { .x = 850, .y = 900 } };
	struct fs_point shape[4] = { { 150, 900 }, { 150, 100 }, { 850, 100 }, { 850, 900 } };
	struct fs_point shape2[4] = { { 150, 900 }, { 150, 950 }, { 850, 950 }, { 850, 900 } };
	struct fs_edge edges[2] = {
		{ .from = 0, .to = 1, .shape_first = 0, .shape_count = 4 },
		{ .from = 0, .to = 1, .shape_first = 4, .shape_count = 4 },
	};
	struct fs_point all[8];
	memcpy(all, shape, sizeof(shape));
	memcpy(all + 4, shape2, sizeof(shape2));
	uint32_t out_first[3] = { 0, 2, 2 };
	struct fs_network net = { .node_count = 2, .edge_count = 2, .nodes = nodes, .edges = edges,
				  .out_first = out_first, .shape = all, .shape_count = 8 };
	struct fs_geofence *g = square_and_u();
	const struct fs_geofence_zone *u = fs_geofence_zone_by_id(g, 20);
	assert_true(fs_geofence_edge_inside(u, &net, 0));  /* down, across the base, up */
	assert_false(fs_geofence_edge_inside(u, &net, 1)); /* straight over the notch */
	uint32_t route[] = { 0, 1 };
	size_t first = 0;
	assert_true(fs_geofence_path_leaves(u, &net, route, 2, &first));
	assert_int_equal(first, 1);
	fs_geofence_destroy(g);
}

/* ---- GeoJSON ---- */

static char tmpdir[256];

static int make_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fs_geofence_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_tmp(const char *name, const char *text)
{
	static char path[400];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void geojson_feature_collection_loads(void **state)
{
	const char *path = write_tmp("zones.geojson",
		"{\"type\": \"FeatureCollection\", \"features\": [\n"
		" {\"type\": \"Feature\", \"id\": 5, \"properties\": {\"name\": \"midtown\"},\n"
		"  \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [\n"
		"   [[-84.40, 33.75], [-84.38, 33.75], [-84.38, 33.77], [-84.40, 33.77], [-84.40, 33.75]],\n"
		"   [[-84.395, 33.755], [-84.395, 33.765], [-84.385, 33.765], [-84.385, 33.755], [-84.395, 33.755]]]}},\n"
		" {\"type\": \"Feature\", \"properties\": {\"location_id\": \"12\", \"zone\": \"two parts\"},\n"
		"  \"geometry\": {\"type\": \"MultiPolygon\", \"coordinates\": [\n"
		"   [[[-84.50, 33.70], [-84.49, 33.70], [-84.49, 33.71], [-84.50, 33.70]]],\n"
		"   [[[-84.30, 33.80], [-84.29, 33.80], [-84.29, 33.81], [-84.30, 33.81], [-84.30, 33.80]]]]}}\n"
		"]}\n");
	struct fs_projection proj;
	fs_projection_init(&proj, 33.76, -84.39);
	struct fs_geofence *g = fs_geofence_create(&proj);
	struct fs_error err = { { 0 } };
	int r = fs_geofence_load_geojson(g, path, &err);
	assert_int_equal(r, 2);
	const struct fs_geofence_zone *a = fs_geofence_zone_by_id(g, 5);
	const struct fs_geofence_zone *b = fs_geofence_zone_by_id(g, 12);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(fs_geofence_zone_name(a), "midtown");
	assert_string_equal(fs_geofence_zone_name(b), "two parts");
	struct fs_point p = fs_projection_to_xy(&proj, 33.752, -84.39);
	assert_true(fs_geofence_zone_contains(a, p.x, p.y));
	p = fs_projection_to_xy(&proj, 33.76, -84.39); /* in the hole */
	assert_false(fs_geofence_zone_contains(a, p.x, p.y));
	p = fs_projection_to_xy(&proj, 33.805, -84.295); /* second part */
	assert_true(fs_geofence_zone_contains(b, p.x, p.y));
	p = fs_projection_to_xy(&proj, 33.702, -84.492); /* first part (triangle) */
	assert_true(fs_geofence_zone_contains(b, p.x, p.y));
	p = fs_projection_to_xy(&proj, 33.709, -84.499); /* outside the triangle, in its box */
	assert_false(fs_geofence_zone_contains(b, p.x, p.y));

	/* A bare Feature and a bare geometry load too, appended to the set. */
	path = write_tmp("one.geojson", "{\"type\":\"Feature\",\"properties\":null,\"geometry\":"
					"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}}");
	assert_int_equal(fs_geofence_load_geojson(g, path, &err), 1);
	assert_int_equal(fs_geofence_zone_id(fs_geofence_zone(g, 2)), 2); /* index as id */
	path = write_tmp("bare.geojson",
			 "{\"type\":\"Polygon\",\"coordinates\":[[[2,0],[3,0],[3,1],[2,0]]]}");
	assert_int_equal(fs_geofence_load_geojson(g, path, &err), 1);
	assert_int_equal(fs_geofence_zone_count(g), 4);
	fs_geofence_destroy(g);
}

struct broken {
	const char *name;
	const char *text;
	const char *where; /* expected "line:column: " after the path */
	const char *what;  /* expected part of the message */
};

static void geojson_errors_say_where_and_what(void **state)
{
	static const struct broken cases[] = {
		{ "syntax", "{\"type\": \"FeatureCollection\",\n \"features\": [,]}", ":2:", "" },
		{ "point",
		  "{\"type\": \"FeatureCollection\", \"features\": [\n"
		  " {\"type\": \"Feature\", \"properties\": {},\n"
		  "  \"geometry\": {\"type\": \"Point\", \"coordinates\": [1, 2]}}]}",
		  ":3:24: ", "\"Point\" is not a Polygon or MultiPolygon" },
		{ "open",
		  "{\"type\": \"Polygon\", \"coordinates\": [\n"
		  "  [[0, 0], [1, 0], [1, 1], [0, 1]]]}",
		  ":2:28: ", "ring is not closed" },
		{ "short",
		  "{\"type\": \"Polygon\", \"coordinates\": [\n"
		  "  [[0, 0], [1, 0], [0, 0]]]}",
		  ":2:3: ", "at least 4" },
		{ "notnum",
		  "{\"type\": \"Polygon\",\n \"coordinates\": [[[0, 0], [1, \"x\"], [1, 1], [0, 0]]]}",
		  ":2:27: ", "[longitude, latitude]" },
		{ "range",
		  "{\"type\": \"Polygon\", \"coordinates\": [[[0, 0], [1, 0], [1, 91], [0, 0]]]}",
		  ":1:54: ", "not a longitude, latitude pair" },
		{ "nullgeom",
		  "{\"type\": \"FeatureCollection\", \"features\": [\n"
		  "  {\"type\": \"Feature\", \"geometry\": null, \"properties\": {}}]}",
		  ":2:3: ", "no geometry" },
		{ "nofeatures", "{\"type\": \"FeatureCollection\"}", ":1:1: ", "\"features\" array" },
		{ "toplevel", "[1, 2]", ":1:1: ", "not a GeoJSON object" },
		{ "type", "{\"type\": \"GeometryCollection\", \"geometries\": []}", ":1:10: ",
		  "is not a Polygon, MultiPolygon, Feature or FeatureCollection" },
		{ "degenerate",
		  "{\"type\": \"MultiPolygon\", \"coordinates\": [[[[0, 0], [0, 0], [0, 0], [0, 0]]]]}",
		  ":1:1: ", "fewer than 3 distinct points" },
		{ "empty", "{\"type\": \"FeatureCollection\", \"features\": []}", "", "no polygons" },
	};
	struct fs_geofence *g = fs_geofence_create(NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_tmp(cases[i].name, cases[i].text);
		struct fs_error err = { { 0 } };
		assert_int_equal(fs_geofence_load_geojson(g, path, &err), -EINVAL);
		char want[512];
		snprintf(want, sizeof(want), "%s%s", path, cases[i].where);
		if (strncmp(err.message, want, strlen(want)) != 0 || !strstr(err.message, cases[i].what)) {
			fail_msg("case %s: got \"%s\", want prefix \"%s\" and \"%s\"", cases[i].name,
				 err.message, want, cases[i].what);
		}
	}
	/* A failing file adds nothing, even after good features. */
	const char *path = write_tmp("half",
		"{\"type\": \"FeatureCollection\", \"features\": [\n"
		" {\"type\": \"Feature\", \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[0,0],[1,0],[1,1],[0,0]]]}},\n"
		" {\"type\": \"Feature\", \"geometry\": {\"type\": \"LineString\", \"coordinates\": [[0,0],[1,1]]}}]}");
	struct fs_error err;
	assert_int_equal(fs_geofence_load_geojson(g, path, &err), -EINVAL);
	assert_int_equal(fs_geofence_zone_count(g), 0);
	char missing[400];
	snprintf(missing, sizeof(missing), "%s/none.geojson", tmpdir);
	assert_int_equal(fs_geofence_load_geojson(g, missing, &err), -ENOENT);
	assert_non_null(strstr(err.message, "none.geojson: cannot open"));
	fs_geofence_destroy(g);
}

static void nyc_taxi_zones_contain_their_inside_points(void **state)
{
	const char *root = getenv("FS_SOURCE_ROOT");
	assert_non_null(root);
	char path[512];
	snprintf(path, sizeof(path), "%s/data/nyc_tlc/taxi_zones_wgs84.geojson", root);
	struct fs_geofence *g = fs_geofence_create(NULL);
	struct fs_error err = { { 0 } };
	int r = fs_geofence_load_geojson(g, path, &err);
	if (r < 0) {
		fail_msg("%s", err.message);
	}
	assert_int_equal(r, 263);
	const struct fs_projection *proj = fs_geofence_projection(g);
	snprintf(path, sizeof(path), "%s/data/nyc_tlc/taxi_zone_centroids.csv", root);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char line[512];
	assert_non_null(fgets(line, sizeof(line), fp)); /* header */
	int zones = 0, area_ok = 0;
	while (fgets(line, sizeof(line), fp)) {
		/* location_id,zone,borough,area_group,centroid_lon,centroid_lat,inside_lon,inside_lat,area_km2 */
		char *f[9];
		int nf = 0;
		for (char *tok = strtok(line, ",\n"); tok && nf < 9; tok = strtok(NULL, ",\n")) {
			f[nf++] = tok;
		}
		assert_int_equal(nf, 9);
		int64_t id = atoll(f[0]);
		struct fs_point p = fs_projection_to_xy(proj, atof(f[7]), atof(f[6]));
		uint32_t hit[4];
		size_t n = fs_geofence_zones_at(g, p.x, p.y, hit, 4);
		if (n != 1 || fs_geofence_zone_id(fs_geofence_zone(g, hit[0])) != id) {
			fail_msg("inside point of zone %lld (%s) is in %zu zones", (long long)id, f[1], n);
		}
		double km2 = fs_geofence_zone_area(fs_geofence_zone(g, hit[0])) / 1e6;
		area_ok += fabs(km2 - atof(f[8])) <= 0.01 * atof(f[8]) + 0.01;
		zones++;
	}
	fclose(fp);
	assert_int_equal(zones, 263);
	/* Areas from the equirectangular frame agree with the source's within 1 %. */
	assert_int_equal(area_ok, 263);
	fs_geofence_destroy(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(points_in_holes_and_concave_shapes),
		cmocka_unit_test(large_star_polygon_matches_brute_force),
		cmocka_unit_test(latlon_zone_uses_the_projection),
		cmocka_unit_test(route_leaving_a_zone_is_detected),
		cmocka_unit_test(curved_edge_with_ends_inside_can_leave),
		cmocka_unit_test(geojson_feature_collection_loads),
		cmocka_unit_test(geojson_errors_say_where_and_what),
		cmocka_unit_test(nyc_taxi_zones_contain_their_inside_points),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
