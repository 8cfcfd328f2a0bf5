/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_geofence_geojson - geofence zones from GeoJSON files (fs/geofence_load.h).
 *
 * jansson parses; it keeps no positions for values, so for errors found
 * after parsing we re-scan the raw text along the JSON path of the bad value
 * (features[3].geometry.coordinates[0][5]) to report its line:column.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fs/alloc.h"
#include "fs/file_load.h"
#include "fs/geofence.h"
#include "fs/geofence_load.h"
#include "fs/grow.h"

struct jstep {
	const char *key; /* NULL: array index */
	size_t index;
};

struct gj {
	const char *path;
	const char *text;
	size_t len;
	struct fs_error *err;
	struct jstep steps[16];
	int depth;
	/* one geometry being read: (lon, lat) pairs, rings, polygons */
	double *coords;
	size_t coord_count, coord_cap; /* in pairs */
	struct { size_t first, count; } *rings;
	size_t ring_count, ring_cap;
	struct { size_t first, count; } *polys;
	size_t poly_count, poly_cap;
};

static void push_key(struct gj *c, const char *key)
{
	if (c->depth < 16) {
		c->steps[c->depth] = (struct jstep){ .key = key };
	}
	c->depth++;
}

static void push_index(struct gj *c, size_t index)
{
	if (c->depth < 16) {
		c->steps[c->depth] = (struct jstep){ .key = NULL, .index = index };
	}
	c->depth++;
}

static void pop(struct gj *c)
{
	c->depth--;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
		i++;
	}
	return i;
}

static size_t skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n && s[i] != '"'; i++) {
		if (s[i] == '\\') {
			i++;
		}
	}
	return i < n ? i + 1 : n;
}

/* Index just after the JSON value starting at @i (the text is known valid). */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	if (i >= n) {
		return n;
	}
	if (s[i] == '"') {
		return skip_string(s, n, i);
	}
	if (s[i] == '{' || s[i] == '[') {
		int depth = 0;
		while (i < n) {
			char ch = s[i];
			if (ch == '"') {
				i = skip_string(s, n, i);
				continue;
			}
			if (ch == '{' || ch == '[') {
				depth++;
			} else if (ch == '}' || ch == ']') {
				if (--depth == 0) {
					return i + 1;
				}
			}
			i++;
		}
		return n;
	}
	while (i < n && !strchr(",]} \t\r\n", s[i])) {
		i++;
	}
	return i;
}

/* Offset of the value at the current path; as deep as it can get. */
static size_t locate(const struct gj *c)
{
	const char *s = c->text;
	size_t n = c->len, i = skip_ws(s, n, 0);
	int depth = c->depth < 16 ? c->depth : 16;
	for (int d = 0; d < depth; d++) {
		const struct jstep *st = &c->steps[d];
		size_t at = i;
		if (st->key) {
			if (i >= n || s[i] != '{') {
				return at;
			}
			i = skip_ws(s, n, i + 1);
			size_t klen = strlen(st->key);
			bool found = false;
			while (i < n && s[i] == '"') {
				size_t kend = skip_string(s, n, i);
				bool match = kend - i == klen + 2 && memcmp(s + i + 1, st->key, klen) == 0;
				i = skip_ws(s, n, kend);
				if (i < n && s[i] == ':') {
					i = skip_ws(s, n, i + 1);
				}
				if (match) {
					found = true;
					break;
				}
				i = skip_ws(s, n, skip_value(s, n, i));
				if (i < n && s[i] == ',') {
					i = skip_ws(s, n, i + 1);
				}
			}
			if (!found) {
				return at;
			}
		} else {
			if (i >= n || s[i] != '[') {
				return at;
			}
			i = skip_ws(s, n, i + 1);
			for (size_t k = 0; k < st->index; k++) {
				i = skip_ws(s, n, skip_value(s, n, i));
				if (i >= n || s[i] != ',') {
					return at;
				}
				i = skip_ws(s, n, i + 1);
			}
		}
	}
	return i;
}

static int gj_fail(struct gj *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int gj_fail(struct gj *c, const char *fmt, ...)
{
	size_t off = locate(c);
	unsigned line = 1, column = 1;
	for (size_t i = 0; i < off && i < c->len; i++) {
		if (c->text[i] == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
	}
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fs_error_at(c->err, -EINVAL, c->path, line, column, "%s", msg);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int read_ring(struct gj *c, const json_t *ring)
{
	if (!json_is_array(ring)) {
		return gj_fail(c, "a linear ring must be an array of positions, not %s", type_name(ring));
	}
	size_t n = json_array_size(ring);
	if (n < 4) {
		return gj_fail(c, "ring has %zu positions; a closed ring needs at least 4", n);
	}
	if (FS_GROW(c->rings, c->ring_cap, c->ring_count + 1) < 0) {
		return -ENOMEM;
	}
	size_t first = c->coord_count;
	for (size_t k = 0; k < n; k++) {
		const json_t *pos = json_array_get(ring, k);
		push_index(c, k);
		if (!json_is_array(pos) || json_array_size(pos) < 2 ||
		    !json_is_number(json_array_get(pos, 0)) || !json_is_number(json_array_get(pos, 1))) {
			return gj_fail(c, "a position must be [longitude, latitude]");
		}
		double lon = json_number_value(json_array_get(pos, 0));
		double lat = json_number_value(json_array_get(pos, 1));
		if (!(fabs(lon) <= 180.0) || !(fabs(lat) <= 90.0)) {
			return gj_fail(c, "position [%g, %g] is not a longitude, latitude pair", lon, lat);
		}
		pop(c);
		if (FS_GROW(c->coords, c->coord_cap, 2 * c->coord_count + 2) < 0) {
			return -ENOMEM;
		}
		c->coords[2 * c->coord_count] = lon;
		c->coords[2 * c->coord_count + 1] = lat;
		c->coord_count++;
	}
	const double *f = &c->coords[2 * first], *l = &c->coords[2 * (c->coord_count - 1)];
	if (f[0] != l[0] || f[1] != l[1]) {
		push_index(c, n - 1);
		return gj_fail(c, "ring is not closed: last position [%g, %g] differs from the first [%g, %g]",
			       l[0], l[1], f[0], f[1]);
	}
	c->rings[c->ring_count].first = first;
	c->rings[c->ring_count].count = n;
	c->ring_count++;
	return 0;
}

static int read_polygon(struct gj *c, const json_t *rings)
{
	if (!json_is_array(rings)) {
		return gj_fail(c, "polygon coordinates must be an array of rings, not %s",
			       type_name(rings));
	}
	if (json_array_size(rings) == 0) {
		return gj_fail(c, "polygon has no rings");
	}
	if (FS_GROW(c->polys, c->poly_cap, c->poly_count + 1) < 0) {
		return -ENOMEM;
	}
	size_t first = c->ring_count;
	for (size_t i = 0; i < json_array_size(rings); i++) {
		push_index(c, i);
		int r = read_ring(c, json_array_get(rings, i));
		if (r < 0) {
			return r;
		}
		pop(c);
	}
	c->polys[c->poly_count].first = first;
	c->polys[c->poly_count].count = c->ring_count - first;
	c->poly_count++;
	return 0;
}

/* Reads @geom (a Polygon or MultiPolygon object) into c->coords/rings/polys. */
static int read_geometry(struct gj *c, const json_t *geom)
{
	c->coord_count = c->ring_count = c->poly_count = 0;
	if (!json_is_object(geom)) {
		return gj_fail(c, "geometry must be an object, not %s", type_name(geom));
	}
	const char *type = json_string_value(json_object_get(geom, "type"));
	if (!type) {
		return gj_fail(c, "geometry has no \"type\" string");
	}
	bool multi = strcmp(type, "MultiPolygon") == 0;
	if (!multi && strcmp(type, "Polygon") != 0) {
		push_key(c, "type");
		return gj_fail(c, "geometry type \"%s\" is not a Polygon or MultiPolygon", type);
	}
	const json_t *coords = json_object_get(geom, "coordinates");
	if (!coords) {
		return gj_fail(c, "%s has no \"coordinates\"", type);
	}
	push_key(c, "coordinates");
	int r;
	if (multi) {
		if (!json_is_array(coords)) {
			return gj_fail(c, "MultiPolygon coordinates must be an array of polygons, not %s",
				       type_name(coords));
		}
		if (json_array_size(coords) == 0) {
			return gj_fail(c, "MultiPolygon has no polygons");
		}
		for (size_t i = 0; i < json_array_size(coords); i++) {
			push_index(c, i);
			r = read_polygon(c, json_array_get(coords, i));
			if (r < 0) {
				return r;
			}
			pop(c);
		}
	} else {
		r = read_polygon(c, coords);
		if (r < 0) {
			return r;
		}
	}
	pop(c);
	return 0;
}

static bool integer_of(const json_t *v, int64_t *ret)
{
	if (json_is_integer(v)) {
		*ret = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d == floor(d) && fabs(d) < 9e15) {
			*ret = (int64_t)d;
			return true;
		}
		return false;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		long long x = strtoll(s, &end, 10);
		if (*s && !*end && errno == 0) {
			*ret = x;
			return true;
		}
	}
	return false;
}

static int add_geometry(struct fs_geofence *g, struct gj *c, int64_t id, const char *name)
{
	struct fs_geofence_ring *rings = fs_malloc(c->ring_count * sizeof(*rings));
	struct fs_geofence_polygon *polys = fs_malloc(c->poly_count * sizeof(*polys));
	int r = -ENOMEM;
	if (rings && polys) {
		for (size_t i = 0; i < c->ring_count; i++) {
			rings[i].coords = &c->coords[2 * c->rings[i].first];
			rings[i].count = c->rings[i].count;
		}
		for (size_t i = 0; i < c->poly_count; i++) {
			polys[i].rings = &rings[c->polys[i].first];
			polys[i].ring_count = c->polys[i].count;
		}
		struct fs_error inner;
		r = fs_geofence_add_zone(g, id, name, FS_GEOFENCE_LONLAT, polys, c->poly_count, &inner);
		if (r == -EINVAL) {
			r = gj_fail(c, "%s", inner.message);
		}
	}
	fs_free(rings);
	fs_free(polys);
	return r < 0 ? r : 0;
}

static int read_feature(struct fs_geofence *g, struct gj *c, const json_t *f)
{
	if (!json_is_object(f)) {
		return gj_fail(c, "a feature must be an object, not %s", type_name(f));
	}
	const char *type = json_string_value(json_object_get(f, "type"));
	if (!type || strcmp(type, "Feature") != 0) {
		if (type) {
			push_key(c, "type");
		}
		return gj_fail(c, "expected an object with \"type\": \"Feature\"");
	}
	const json_t *props = json_object_get(f, "properties");
	int64_t id = (int64_t)fs_geofence_zone_count(g);
	bool have_id = integer_of(json_object_get(f, "id"), &id);
	static const char *const id_keys[] = { "id", "location_id", "LocationID", "OBJECTID" };
	for (size_t i = 0; !have_id && json_is_object(props) && i < 4; i++) {
		have_id = integer_of(json_object_get(props, id_keys[i]), &id);
	}
	const char *name = NULL;
	if (json_is_object(props)) {
		name = json_string_value(json_object_get(props, "name"));
		if (!name) {
			name = json_string_value(json_object_get(props, "zone"));
		}
	}
	const json_t *geom = json_object_get(f, "geometry");
	if (!geom || json_is_null(geom)) {
		return gj_fail(c, "feature has no geometry");
	}
	push_key(c, "geometry");
	int r = read_geometry(c, geom);
	if (r < 0) {
		return r;
	}
	r = add_geometry(g, c, id, name);
	pop(c);
	return r;
}

int fs_geofence_load_geojson(struct fs_geofence *g, const char *path, struct fs_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r = fs_file_load(path, 0, &text, &len, err);
	if (r < 0) {
		return r;
	}
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	if (!root) {
		r = fs_error_at(err, -EINVAL, path, (unsigned)(jerr.line > 0 ? jerr.line : 0),
				(unsigned)(jerr.column > 0 ? jerr.column : 0), "%s", jerr.text);
		fs_free(text);
		return r;
	}
	struct gj c = { .path = path, .text = text, .len = len, .err = err };
	struct fs_geofence_mark before = fs_geofence_get_mark(g);
	const char *type = json_is_object(root) ? json_string_value(json_object_get(root, "type")) : NULL;
	if (!json_is_object(root)) {
		r = gj_fail(&c, "top level is %s, not a GeoJSON object", type_name(root));
	} else if (!type) {
		r = gj_fail(&c, "top-level object has no \"type\" string");
	} else if (strcmp(type, "FeatureCollection") == 0) {
		const json_t *features = json_object_get(root, "features");
		if (!json_is_array(features)) {
			if (features) {
				push_key(&c, "features");
			}
			r = gj_fail(&c, "FeatureCollection needs a \"features\" array");
		} else {
			push_key(&c, "features");
			for (size_t i = 0; i < json_array_size(features) && r >= 0; i++) {
				push_index(&c, i);
				r = read_feature(g, &c, json_array_get(features, i));
				pop(&c);
			}
		}
	} else if (strcmp(type, "Feature") == 0) {
		r = read_feature(g, &c, root);
	} else if (strcmp(type, "Polygon") == 0 || strcmp(type, "MultiPolygon") == 0) {
		r = read_geometry(&c, root);
		if (r >= 0) {
			r = add_geometry(g, &c, (int64_t)fs_geofence_zone_count(g), NULL);
		}
	} else {
		push_key(&c, "type");
		r = gj_fail(&c, "type \"%s\" is not a Polygon, MultiPolygon, Feature or FeatureCollection",
			    type);
	}
	if (r == -ENOMEM) {
		fs_error_at(err, r, path, 0, 0, "out of memory");
	}
	if (r >= 0 && fs_geofence_zone_count(g) == before.zone_count) {
		r = fs_error_at(err, -EINVAL, path, 0, 0, "no polygons");
	}
	if (r < 0) {
		/* All or nothing: drop what this file added. */
		fs_geofence_rollback(g, before);
	} else {
		r = (int)(fs_geofence_zone_count(g) - before.zone_count);
	}
	fs_free(c.coords);
	fs_free(c.rings);
	fs_free(c.polys);
	json_decref(root);
	fs_free(text);
	return r;
}
