/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_network_osm - the drivable road network of an OpenStreetMap extract.
 *
 * One readosm pass keeps every node's position and every drivable way's node
 * references and attributes (the file's own order puts nodes first, but
 * nothing here relies on it). Then:
 *   1. nodes are sorted by OSM id, way references resolved by binary search
 *      (references missing from an extract split the way);
 *   2. a node becomes a graph node if it ends a way piece or is met two or
 *      more times by kept ways (so a junction, or a closed way's seam);
 *   3. each way piece is cut at its graph nodes into edges that keep the
 *      geometry in between, one edge per allowed direction;
 *   4. turn restrictions (relations with a via node) are resolved to the
 *      edges of their from and to ways at the via node;
 *   5. optionally only the largest strongly connected component is kept.
 * Coordinates are projected about the centre of the bounding box of the
 * nodes the kept ways use.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>
#include <readosm.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/network.h"
#include "fs/network_build.h"
#include "fs/network_load.h"
#include "fs_network_files.h"

#define KMH_PER_MPH 1.609344 /* international mile */
#define NONE UINT32_MAX

void fs_osm_params_defaults(struct fs_osm_params *params)
{
	/* US-style defaults (assumptions, not OSM data), the same table as the
	 * derived graphs documented in data/README.md. */
	static const double kmh[FS_ROAD_CLASS_COUNT] = {
		[FS_ROAD_MOTORWAY] = 97,       [FS_ROAD_TRUNK] = 72,
		[FS_ROAD_PRIMARY] = 56,        [FS_ROAD_SECONDARY] = 48,
		[FS_ROAD_TERTIARY] = 40,       [FS_ROAD_UNCLASSIFIED] = 40,
		[FS_ROAD_RESIDENTIAL] = 40,    [FS_ROAD_LIVING_STREET] = 16,
		[FS_ROAD_SERVICE] = 16,        [FS_ROAD_MOTORWAY_LINK] = 56,
		[FS_ROAD_TRUNK_LINK] = 48,     [FS_ROAD_PRIMARY_LINK] = 48,
		[FS_ROAD_SECONDARY_LINK] = 40, [FS_ROAD_TERTIARY_LINK] = 40,
		[FS_ROAD_OTHER] = 40, /* highway=road */
	};
	memcpy(params->default_speed_kmh, kmh, sizeof(kmh));
	params->largest_scc_only = true;
}

struct osm_node {
	int64_t id;
	double lat, lon;
	uint16_t control; /* FS_EDGE_SIGNAL | FS_EDGE_STOP | FS_EDGE_GIVE_WAY from its tags */
};

struct osm_way {
	int64_t id;
	uint32_t ref_first, ref_count;
	uint32_t name;
	float speed_kmh;
	int8_t dir; /* 0 both ways, 1 along the way, -1 against it */
	uint8_t road_class;
	uint8_t lanes_fwd, lanes_bwd;
	uint16_t flags;
};

/* One from way, via node, to way of a turn restriction relation. */
struct osm_restriction {
	int64_t from_way, via_node, to_way;
	bool only;
};

struct osm_ctx {
	const struct fs_osm_params *params;
	struct fs_netb *b;
	struct osm_node *nodes;
	uint32_t node_count;
	size_t node_cap;
	struct osm_way *ways;
	uint32_t way_count;
	size_t way_cap;
	int64_t *refs;
	uint32_t ref_count;
	size_t ref_cap;
	struct osm_restriction *restrictions;
	uint32_t restriction_count;
	size_t restriction_cap;
	bool nomem;
	uint64_t off_globe;     /* nodes with coordinates no place on Earth has: a corrupt file */
	int64_t first_off_globe;
};

static const char *tag(const readosm_tag *tags, int count, const char *key)
{
	for (int i = 0; i < count; i++) {
		if (tags[i].key && !strcmp(tags[i].key, key)) {
			return tags[i].value ? tags[i].value : "";
		}
	}
	return NULL;
}

static bool is_one_of(const char *value, const char *const *set)
{
	if (!value) {
		return false;
	}
	for (; *set; set++) {
		if (!strcmp(value, *set)) {
			return true;
		}
	}
	return false;
}

/* "50", "50 km/h", "30 mph", "30mph", "50;40" (first value) -> km/h; <= 0 if unusable
 * ("none", "signals", "walk", "RU:urban", ...). */
static double parse_maxspeed_kmh(const char *value)
{
	if (!value) {
		return -1.0;
	}
	char *end;
	double v = strtod(value, &end);
	if (end == value || !isfinite(v) || v <= 0.0) {
		return -1.0;
	}
	while (*end == ' ') {
		end++;
	}
	if (!strncasecmp(end, "mph", 3)) {
		v *= KMH_PER_MPH;
	} else if (!strncasecmp(end, "knots", 5)) {
		v *= 1.852;
	} else if (*end && *end != ';' && strncasecmp(end, "km/h", 4) && strncasecmp(end, "kmh", 3) &&
		   strncasecmp(end, "kph", 3)) {
		return -1.0;
	}
	return v;
}

static int parse_lanes(const char *value)
{
	if (!value) {
		return 0;
	}
	char *end;
	long v = strtol(value, &end, 10);
	if (end == value || v <= 0) {
		return 0;
	}
	return v > 255 ? 255 : (int)v;
}

/* Junction control a node's tags declare (highway=traffic_signals|stop|give_way). */
static uint16_t node_control(const readosm_node *node)
{
	const char *highway = node->tags ? tag(node->tags, node->tag_count, "highway") : NULL;
	if (!highway) {
		return 0;
	}
	if (!strcmp(highway, "traffic_signals")) {
		return FS_EDGE_SIGNAL;
	}
	if (!strcmp(highway, "stop")) {
		return FS_EDGE_STOP;
	}
	return !strcmp(highway, "give_way") ? FS_EDGE_GIVE_WAY : 0;
}

/*
 * Out of memory in a callback: the load fails, but the parse goes on (each
 * callback then returns at once), because readosm 1.1 does not free its XML
 * parser when a callback aborts it.
 */
static int out_of_memory(struct osm_ctx *ctx)
{
	ctx->nomem = true;
	return READOSM_OK;
}

static int on_node(const void *user, const readosm_node *node)
{
	struct osm_ctx *ctx = (struct osm_ctx *)user;
	if (ctx->nomem) {
		return READOSM_OK;
	}
	if (node->latitude == READOSM_UNDEFINED || node->longitude == READOSM_UNDEFINED ||
	    !isfinite(node->latitude) || !isfinite(node->longitude)) {
		return READOSM_OK; /* a deleted or incomplete node: ways that use it are split */
	}
	if (!(fabs(node->latitude) <= 90.0 && fabs(node->longitude) <= 180.0)) {
		if (!ctx->off_globe++) {
			ctx->first_off_globe = node->id;
		}
		return READOSM_OK; /* reported once the file is read */
	}
	if (ctx->node_count + 1 >= UINT32_MAX || FS_GROW(ctx->nodes, ctx->node_cap, ctx->node_count + 1) < 0) {
		return out_of_memory(ctx);
	}
	ctx->nodes[ctx->node_count++] = (struct osm_node){
		.id = node->id,
		.lat = node->latitude,
		.lon = node->longitude,
		.control = node_control(node),
	};
	return READOSM_OK;
}

static int on_way(const void *user, const readosm_way *way)
{
	static const char *const no_access[] = { "no", "private", NULL };
	static const char *const bad_service[] = { "parking_aisle", "driveway", "drive-through",
						   "emergency_access", NULL };
	static const char *const yes[] = { "yes", "true", "1", NULL };
	static const char *const round[] = { "roundabout", "circular", NULL };
	struct osm_ctx *ctx = (struct osm_ctx *)user;
	const readosm_tag *tags = way->tags;
	int nt = way->tag_count;
	if (ctx->nomem || way->node_ref_count < 2) {
		return READOSM_OK;
	}
	int road_class = fs_road_class_from_name(tag(tags, nt, "highway"));
	if (road_class < 0) {
		return READOSM_OK;
	}
	const char *area = tag(tags, nt, "area");
	if ((area && !strcmp(area, "yes")) || is_one_of(tag(tags, nt, "access"), no_access) ||
	    is_one_of(tag(tags, nt, "motor_vehicle"), no_access) ||
	    is_one_of(tag(tags, nt, "motorcar"), no_access) ||
	    (road_class == FS_ROAD_SERVICE && is_one_of(tag(tags, nt, "service"), bad_service))) {
		return READOSM_OK;
	}
	struct osm_way w = { .id = way->id, .road_class = (uint8_t)road_class };
	const char *oneway = tag(tags, nt, "oneway");
	bool roundabout = is_one_of(tag(tags, nt, "junction"), round);
	if (oneway && !strcmp(oneway, "-1")) {
		w.dir = -1;
	} else if (is_one_of(oneway, yes) || roundabout ||
		   (road_class == FS_ROAD_MOTORWAY && !(oneway && !strcmp(oneway, "no")))) {
		w.dir = 1;
	}
	if (w.dir) {
		w.flags |= FS_EDGE_ONEWAY;
	}
	if (roundabout) {
		w.flags |= FS_EDGE_ROUNDABOUT;
	}
	double kmh = parse_maxspeed_kmh(tag(tags, nt, "maxspeed"));
	w.speed_kmh = (float)(kmh > 0.0 ? kmh : ctx->params->default_speed_kmh[road_class]);
	int lanes = parse_lanes(tag(tags, nt, "lanes"));
	int fwd = parse_lanes(tag(tags, nt, "lanes:forward"));
	int bwd = parse_lanes(tag(tags, nt, "lanes:backward"));
	if (w.dir) {
		fwd = bwd = lanes ? lanes : 1;
	} else {
		fwd = fwd ? fwd : (lanes >= 2 ? lanes / 2 : 1);
		bwd = bwd ? bwd : (lanes >= 2 ? lanes - lanes / 2 : 1);
	}
	w.lanes_fwd = (uint8_t)fwd;
	w.lanes_bwd = (uint8_t)bwd;
	const char *name = tag(tags, nt, "name");
	if (!name) {
		name = tag(tags, nt, "ref");
	}
	if (fs_netb_intern_name(ctx->b, name, &w.name) < 0 ||
	    ctx->way_count + 1 >= UINT32_MAX || FS_GROW(ctx->ways, ctx->way_cap, ctx->way_count + 1) < 0 ||
	    (uint64_t)ctx->ref_count + way->node_ref_count >= UINT32_MAX ||
	    FS_GROW(ctx->refs, ctx->ref_cap, (size_t)ctx->ref_count + way->node_ref_count) < 0) {
		return out_of_memory(ctx);
	}
	w.ref_first = ctx->ref_count;
	w.ref_count = (uint32_t)way->node_ref_count;
	for (int i = 0; i < way->node_ref_count; i++) {
		ctx->refs[ctx->ref_count++] = way->node_refs[i];
	}
	ctx->ways[ctx->way_count++] = w;
	return READOSM_OK;
}

/*
 * The restriction a car obeys, as OSRM's car profile reads it: the value of
 * the most specific of restriction:motorcar, :motor_vehicle, :vehicle and
 * restriction; NULL if none, or if it is neither only_* nor no_* (no_*_on_red
 * is a rule for red lights, not a turn ban).
 */
static const char *restriction_value(const readosm_tag *tags, int nt)
{
	static const char *const keys[] = { "restriction:motorcar", "restriction:motor_vehicle",
					    "restriction:vehicle", "restriction" };
	const char *value = NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !value; i++) {
		value = tag(tags, nt, keys[i]);
	}
	if (!value) {
		return NULL;
	}
	size_t n = strlen(value);
	bool no = !strncmp(value, "no_", 3) && !(n >= 7 && !strcmp(value + n - 7, "_on_red"));
	return no || !strncmp(value, "only_", 5) ? value : NULL;
}

/* Does except= (";"-separated) exempt cars: motorcar, motor_vehicle or vehicle (OSRM's car rule)? */
static bool exempts_cars(const char *except)
{
	static const char *const car[] = { "motorcar", "motor_vehicle", "vehicle", NULL };
	while (except && *except) {
		while (*except == ' ' || *except == ';') {
			except++;
		}
		size_t n = strcspn(except, ";");
		size_t k = n;
		while (k && except[k - 1] == ' ') {
			k--;
		}
		for (const char *const *c = car; *c; c++) {
			if (k == strlen(*c) && !strncmp(except, *c, k)) {
				return true;
			}
		}
		except += n;
	}
	return false;
}

static int on_relation(const void *user, const readosm_relation *rel)
{
	struct osm_ctx *ctx = (struct osm_ctx *)user;
	const char *type = tag(rel->tags, rel->tag_count, "type");
	const char *value = type && !strcmp(type, "restriction") ? restriction_value(rel->tags, rel->tag_count) : NULL;
	if (ctx->nomem || !value || exempts_cars(tag(rel->tags, rel->tag_count, "except"))) {
		return READOSM_OK;
	}
	int64_t via = 0;
	int vias = 0, froms = 0, tos = 0;
	for (int i = 0; i < rel->member_count; i++) {
		const readosm_member *m = &rel->members[i];
		const char *role = m->role ? m->role : "";
		if (!strcmp(role, "via")) {
			vias += m->member_type == READOSM_MEMBER_NODE ? 1 : 100; /* a via way: not supported */
			via = m->id;
		} else if (m->member_type == READOSM_MEMBER_WAY) {
			froms += !strcmp(role, "from");
			tos += !strcmp(role, "to");
		}
	}
	/* several from ways only for no_entry, several to ways only for no_exit (as OSRM) */
	if (vias != 1 || !froms || !tos || (froms > 1 && strncmp(value, "no_entry", 8)) ||
	    (tos > 1 && strncmp(value, "no_exit", 7))) {
		return READOSM_OK;
	}
	for (int i = 0; i < rel->member_count; i++) {
		const readosm_member *f = &rel->members[i];
		if (f->member_type != READOSM_MEMBER_WAY || !f->role || strcmp(f->role, "from")) {
			continue;
		}
		for (int k = 0; k < rel->member_count; k++) {
			const readosm_member *t = &rel->members[k];
			if (t->member_type != READOSM_MEMBER_WAY || !t->role || strcmp(t->role, "to")) {
				continue;
			}
			if (ctx->restriction_count + 1 >= UINT32_MAX ||
			    FS_GROW(ctx->restrictions, ctx->restriction_cap, ctx->restriction_count + 1) < 0) {
				return out_of_memory(ctx);
			}
			ctx->restrictions[ctx->restriction_count++] =
				(struct osm_restriction){ f->id, via, t->id, value[0] == 'o' };
		}
	}
	return READOSM_OK;
}

static int on_plain_node(void *user, int64_t id, double lat, double lon)
{
	readosm_node node = { .id = id, .latitude = lat, .longitude = lon };
	on_node(user, &node);
	return ((const struct osm_ctx *)user)->nomem ? -ENOMEM : 0; /* our own reader stops at once */
}

struct xml_check {
	XML_Parser parser;
	const char *path;
	struct fs_error *err;
	int rc;
};

/*
 * readosm reads the attributes it needs without checking that they are there
 * (a <tag/> without k and v made it call strlen(NULL); found by
 * tests/fuzz/fuzz_osm_xml), so an element missing one is an error here,
 * before readosm sees the file.
 */
static void XMLCALL check_element(void *user, const XML_Char *name, const XML_Char **attrs)
{
	static const struct {
		const char *element;
		const char *required[3];
	} rules[] = {
		{ "node", { "id", "lat", "lon" } }, { "way", { "id" } },	       { "relation", { "id" } },
		{ "nd", { "ref" } },		    { "tag", { "k", "v" } }, { "member", { "type", "ref", "role" } },
	};
	struct xml_check *c = user;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (strcmp(name, rules[i].element)) {
			continue;
		}
		for (size_t k = 0; k < 3 && rules[i].required[k]; k++) {
			bool found = false;
			for (size_t a = 0; attrs[a] && !found; a += 2) {
				found = !strcmp(attrs[a], rules[i].required[k]);
			}
			if (!found) {
				c->rc = fs_error_at(c->err, -EINVAL, c->path, (unsigned)XML_GetCurrentLineNumber(c->parser),
						    (unsigned)XML_GetCurrentColumnNumber(c->parser) + 1,
						    "malformed OSM XML: <%s> without its '%s' attribute", name,
						    rules[i].required[k]);
				XML_StopParser(c->parser, XML_FALSE);
				return;
			}
		}
		return;
	}
}

/* Well-formedness check with expat so a broken file is reported with its line
 * and column (readosm says only "XML error", and leaks its parser then), and
 * the attributes readosm relies on (check_element). */
static int check_xml(const char *path, struct fs_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		return fs_error_set(err, -errno, "%s: %s", path, strerror(errno));
	}
	XML_Parser parser = XML_ParserCreate(NULL);
	if (!parser) {
		fclose(f);
		return fs_error_set(err, -ENOMEM, "%s: out of memory", path);
	}
	struct xml_check check = { .parser = parser, .path = path, .err = err };
	XML_SetUserData(parser, &check);
	XML_SetStartElementHandler(parser, check_element);
	int rc = 0;
	for (;;) {
		void *buf = XML_GetBuffer(parser, 1 << 16);
		if (!buf) {
			rc = fs_error_set(err, -ENOMEM, "%s: out of memory", path);
			break;
		}
		size_t n = fread(buf, 1, 1 << 16, f);
		if (ferror(f)) {
			rc = fs_error_set(err, -EIO, "%s: read error", path);
			break;
		}
		bool last = n < (1 << 16);
		if (XML_ParseBuffer(parser, (int)n, last) != XML_STATUS_OK) {
			if (check.rc < 0) {
				rc = check.rc; /* check_element() stopped the parser and said why */
				break;
			}
			rc = fs_error_at(err, -EINVAL, path,
					 (unsigned)XML_GetCurrentLineNumber(parser),
					 (unsigned)XML_GetCurrentColumnNumber(parser) + 1,
					 "malformed OSM XML: %s",
					 XML_ErrorString(XML_GetErrorCode(parser)));
			break;
		}
		if (last) {
			break;
		}
	}
	XML_ParserFree(parser);
	fclose(f);
	return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcasecmp(s + n - k, suffix);
}

static const char *readosm_message(int rc)
{
	switch (rc) {
	case READOSM_INVALID_SUFFIX:
		return "not an OSM file name (expected .osm, .osm.pbf or .pbf)";
	case READOSM_FILE_NOT_FOUND:
		return "cannot open for reading";
	case READOSM_INSUFFICIENT_MEMORY:
		return "out of memory";
	case READOSM_CREATE_XML_PARSER_ERROR:
		return "cannot create the XML parser";
	case READOSM_READ_ERROR:
		return "read error (truncated or not an OSM file)";
	case READOSM_XML_ERROR:
		return "malformed OSM XML";
	case READOSM_INVALID_PBF_HEADER:
		return "invalid PBF block header (truncated or not an OSM PBF file)";
	case READOSM_UNZIP_ERROR:
		return "cannot decompress a PBF block (truncated or corrupt)";
	default:
		return "readosm failed";
	}
}

static int cmp_node(const void *a, const void *b)
{
	int64_t x = ((const struct osm_node *)a)->id, y = ((const struct osm_node *)b)->id;
	return (x > y) - (x < y);
}

static uint32_t find_node(const struct osm_ctx *ctx, int64_t id)
{
	uint32_t lo = 0, hi = ctx->node_count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ctx->nodes[mid].id < id) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < ctx->node_count && ctx->nodes[lo].id == id ? lo : NONE;
}

/* Add @e from @from to @to along @pts: its own copy of the shape points, then the edge. */
static int add_directed(struct fs_netb *b, struct fs_edge *e, uint32_t from, uint32_t to, uint8_t lanes,
			uint16_t flags, const struct fs_point *pts)
{
	e->from = from;
	e->to = to;
	e->lanes = lanes;
	e->flags = flags;
	e->shape_first = b->shape_count;
	return fs_netb_add_shape(b, pts, e->shape_count) < 0 || fs_netb_add_edge(b, e) < 0 ? -ENOMEM : 0;
}

/* @control_fwd/@control_bwd: signs and signals met driving along / against the way. */
static int emit_edges(struct fs_netb *b, const struct osm_way *w, uint32_t from, uint32_t to,
		      double length_m, struct fs_point *pts, uint32_t count, uint16_t control_fwd,
		      uint16_t control_bwd)
{
	if (from == to) {
		return 0; /* a loop back to the same junction never shortens a route */
	}
	struct fs_edge e = {
		.length_m = (float)length_m,
		.speed_mps = (float)(w->speed_kmh / 3.6),
		.road_class = w->road_class,
		.name = w->name,
		.shape_count = count,
	};
	e.travel_time_s = e.length_m / e.speed_mps;
	if (w->dir >= 0 && add_directed(b, &e, from, to, w->lanes_fwd, w->flags | control_fwd, pts) < 0) {
		return -ENOMEM;
	}
	if (w->dir <= 0) {
		for (uint32_t i = 0; i < count / 2; i++) {
			struct fs_point t = pts[i];
			pts[i] = pts[count - 1 - i];
			pts[count - 1 - i] = t;
		}
		return add_directed(b, &e, to, from, w->lanes_bwd, w->flags | control_bwd, pts);
	}
	return 0;
}

struct way_key {
	int64_t id;
	uint32_t index;
};

static int cmp_way_key(const void *a, const void *b)
{
	const struct way_key *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static uint32_t find_way(const struct way_key *keys, uint32_t n, int64_t id)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (keys[mid].id < id) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < n && keys[lo].id == id ? keys[lo].index : NONE;
}

/* Does @way start or end at OSM node @id (OSRM's condition on a restriction's from and to ways)? */
static bool way_ends_at(const struct osm_ctx *ctx, const struct osm_way *way, int64_t id)
{
	return ctx->refs[way->ref_first] == id || ctx->refs[way->ref_first + way->ref_count - 1] == id;
}

/*
 * Step 4: each restriction bans (or, only_*, allows alone) the turns from the
 * from way's edges into the via node onto the to way's edges out of it.
 * Restrictions naming ways or nodes that are not drivable or not in the
 * extract, a via node that is no junction, or ways that do not start or end
 * at it, are skipped.
 */
static int resolve_restrictions(struct osm_ctx *ctx, const uint32_t *graph_id, const uint32_t *way_edges)
{
	if (!ctx->restriction_count) {
		return 0;
	}
	struct fs_netb *b = ctx->b;
	struct way_key *keys = fs_malloc(((size_t)ctx->way_count + 1) * sizeof(*keys));
	if (!keys) {
		return -ENOMEM;
	}
	for (uint32_t w = 0; w < ctx->way_count; w++) {
		keys[w] = (struct way_key){ ctx->ways[w].id, w };
	}
	qsort(keys, ctx->way_count, sizeof(*keys), cmp_way_key);
	for (uint32_t i = 0; i < ctx->restriction_count; i++) {
		const struct osm_restriction *r = &ctx->restrictions[i];
		uint32_t wf = find_way(keys, ctx->way_count, r->from_way);
		uint32_t wt = find_way(keys, ctx->way_count, r->to_way);
		uint32_t v = find_node(ctx, r->via_node);
		uint32_t g = v == NONE ? NONE : graph_id[v];
		if (wf == NONE || wt == NONE || g == NONE || !way_ends_at(ctx, &ctx->ways[wf], r->via_node) ||
		    !way_ends_at(ctx, &ctx->ways[wt], r->via_node)) {
			continue;
		}
		for (uint32_t f = way_edges[wf]; f < way_edges[wf + 1]; f++) {
			for (uint32_t t = way_edges[wt]; t < way_edges[wt + 1] && b->edges[f].to == g; t++) {
				if (b->edges[t].from == g && fs_netb_add_turn(b, f, t, r->only) < 0) {
					fs_free(keys);
					return -ENOMEM;
				}
			}
		}
	}
	fs_free(keys);
	return 0;
}

/* Steps 1-4 of the file comment; the ways' references become node indices in place. */
/* Resolve every way's refs into @ref_idx (NONE: missing, NONE - 1: an immediate
 * repeat, skipped), and mark in @uses the graph nodes (2): nodes shared by two
 * kept ways or met twice, and the ends of each run of resolved refs. */
static void mark_graph_nodes(struct osm_ctx *ctx, uint32_t *ref_idx, uint8_t *uses)
{
	for (uint32_t w = 0; w < ctx->way_count; w++) {
		const struct osm_way *way = &ctx->ways[w];
		uint32_t prev = NONE;
		for (uint32_t i = 0; i < way->ref_count; i++) {
			uint32_t k = way->ref_first + i;
			uint32_t v = find_node(ctx, ctx->refs[k]);
			if (v != NONE && v == prev) {
				v = NONE - 1; /* a repeated reference: skip, do not split */
			} else if (v != NONE) {
				prev = v;
				if (uses[v] < 2) {
					uses[v]++;
				}
			} else {
				prev = NONE;
			}
			ref_idx[k] = v;
		}
		/* ends of each run of resolved refs are graph nodes */
		uint32_t first = NONE, last = NONE, run = 0;
		for (uint32_t i = 0; i <= way->ref_count; i++) {
			uint32_t v = i < way->ref_count ? ref_idx[way->ref_first + i] : NONE;
			if (v == NONE - 1) {
				continue;
			}
			if (v == NONE) {
				if (run >= 2) {
					uses[first] = uses[last] = 2;
				}
				first = last = NONE;
				run = 0;
				continue;
			}
			if (first == NONE) {
				first = v;
			}
			last = v;
			run++;
		}
	}
}

/* The projection about the bbox centre of the used nodes; false when none is used. */
static bool project_used_nodes(const struct osm_ctx *ctx, const uint8_t *uses, struct fs_projection *ret)
{
	double min_lat = INFINITY, max_lat = -INFINITY, min_lon = INFINITY, max_lon = -INFINITY;
	for (uint32_t v = 0; v < ctx->node_count; v++) {
		if (uses[v]) {
			min_lat = fmin(min_lat, ctx->nodes[v].lat);
			max_lat = fmax(max_lat, ctx->nodes[v].lat);
			min_lon = fmin(min_lon, ctx->nodes[v].lon);
			max_lon = fmax(max_lon, ctx->nodes[v].lon);
		}
	}
	if (min_lat > max_lat) {
		return false;
	}
	fs_projection_init(ret, (min_lat + max_lat) / 2, (min_lon + max_lon) / 2);
	return true;
}

/* Cut every run at graph nodes; way w's edges are [way_edges[w], way_edges[w + 1]). */
static int cut_ways(struct osm_ctx *ctx, const uint32_t *ref_idx, const uint32_t *graph_id,
		    const struct fs_projection *proj, uint32_t *way_edges)
{
	struct fs_netb *b = ctx->b;
	struct fs_point *pts = NULL;
	size_t pts_cap = 0;
	int rc = 0;
	for (uint32_t w = 0; w < ctx->way_count && rc == 0; w++) {
		const struct osm_way *way = &ctx->ways[w];
		uint32_t start = NONE, prev = NONE, count = 0;
		uint16_t control_fwd = 0, control_bwd = 0;
		way_edges[w] = b->edge_count;
		double length = 0.0;
		for (uint32_t i = 0; i < way->ref_count; i++) {
			uint32_t v = ref_idx[way->ref_first + i];
			if (v == NONE - 1) {
				continue;
			}
			if (v == NONE) {
				start = prev = NONE;
				continue;
			}
			const struct osm_node *o = &ctx->nodes[v];
			if ((rc = FS_GROW(pts, pts_cap, (size_t)count + 1)) < 0) {
				break;
			}
			if (start == NONE) {
				/* A run always starts at a graph node (its first resolved ref). */
				start = v;
				count = 0;
				length = 0.0;
				control_fwd = 0;
				control_bwd = o->control;
			} else {
				control_fwd |= o->control;
				length += fs_geo_distance_m(ctx->nodes[prev].lat, ctx->nodes[prev].lon,
							    o->lat, o->lon);
			}
			pts[count++] = fs_projection_to_xy(proj, o->lat, o->lon);
			prev = v;
			if (graph_id[v] != NONE && count > 1) {
				if ((rc = emit_edges(b, way, graph_id[start], graph_id[v], length, pts,
						     count, control_fwd, control_bwd)) < 0) {
					break;
				}
				start = v;
				pts[0] = fs_projection_to_xy(proj, o->lat, o->lon);
				count = 1;
				length = 0.0;
				control_fwd = 0;
				control_bwd = o->control;
			} else if (count > 1) {
				control_bwd |= o->control; /* a signal between junctions: both ways */
			}
		}
	}
	way_edges[ctx->way_count] = b->edge_count;
	fs_free(pts);
	return rc < 0 ? -ENOMEM : 0;
}

static struct fs_network *build_graph(struct osm_ctx *ctx, const char *path, struct fs_error *err)
{
	struct fs_netb *b = ctx->b;
	bool sorted = true;
	for (uint32_t i = 1; i < ctx->node_count && sorted; i++) {
		sorted = ctx->nodes[i - 1].id < ctx->nodes[i].id;
	}
	if (!sorted) {
		qsort(ctx->nodes, ctx->node_count, sizeof(*ctx->nodes), cmp_node);
	}
	uint32_t *ref_idx = fs_malloc(((size_t)ctx->ref_count + 1) * sizeof(*ref_idx));
	uint8_t *uses = fs_calloc((size_t)ctx->node_count + 1, 1);
	uint32_t *graph_id = fs_malloc(((size_t)ctx->node_count + 1) * sizeof(*graph_id));
	uint32_t *way_edges = fs_malloc(((size_t)ctx->way_count + 1) * sizeof(*way_edges));
	struct fs_network *net = NULL;
	struct fs_projection proj;
	if (!ref_idx || !uses || !graph_id || !way_edges) {
		goto out_nomem;
	}
	mark_graph_nodes(ctx, ref_idx, uses);
	/* Graph nodes in OSM id order; project about the bbox centre of used nodes. */
	if (!project_used_nodes(ctx, uses, &proj)) {
		fs_error_set(err, -EINVAL, "%s: no drivable roads (highway=* ways with known nodes)",
			     path);
		goto out_free;
	}
	for (uint32_t v = 0; v < ctx->node_count; v++) {
		graph_id[v] = NONE;
		if (uses[v] >= 2) {
			const struct osm_node *o = &ctx->nodes[v];
			struct fs_point p = fs_projection_to_xy(&proj, o->lat, o->lon);
			struct fs_node node = { p.x, p.y, o->lat, o->lon, o->id };
			graph_id[v] = b->node_count;
			if (fs_netb_add_node(b, &node) < 0) {
				goto out_nomem;
			}
		}
	}
	if (cut_ways(ctx, ref_idx, graph_id, &proj, way_edges) < 0 ||
	    resolve_restrictions(ctx, graph_id, way_edges) < 0) {
		goto out_nomem;
	}
	fs_free(ref_idx);
	fs_free(uses);
	fs_free(graph_id);
	fs_free(way_edges);
	net = fs_netb_build(b, &proj, path);
	if (!net) {
		fs_error_set(err, -ENOMEM, "%s: out of memory", path);
	}
	return net;

out_nomem:
	fs_error_set(err, -ENOMEM, "%s: out of memory", path);
out_free:
	fs_free(ref_idx);
	fs_free(uses);
	fs_free(graph_id);
	fs_free(way_edges);
	fs_netb_finish_free(b);
	return NULL;
}

/* Drop nodes left without edges (their only edges were loops) and, if asked,
 * everything outside the largest strongly connected component. */
static struct fs_network *keep_used_nodes(struct fs_network *net, bool largest_scc_only,
					  struct fs_error *err)
{
	uint8_t *keep = fs_malloc((size_t)net->node_count + 1);
	if (!keep) {
		goto out_nomem;
	}
	bool all = true;
	for (uint32_t v = 0; v < net->node_count; v++) {
		keep[v] = (net->out_first[v + 1] > net->out_first[v] ||
			   net->in_first[v + 1] > net->in_first[v]) &&
			  (!largest_scc_only || net->in_largest_scc[v]);
		all = all && keep[v];
	}
	if (all) {
		fs_free(keep);
		return net;
	}
	struct fs_network *sub = fs_network_subset(net, keep);
	fs_free(keep);
	if (!sub) {
		goto out_nomem;
	}
	fs_network_destroy(net);
	return sub;

out_nomem:
	fs_error_set(err, -ENOMEM, "%s: out of memory", net->source);
	fs_network_destroy(net);
	return NULL;
}

struct fs_network *fs_network_load_osm_with(const char *path, const struct fs_osm_params *params,
					    struct fs_error *err)
{
	struct fs_osm_params defaults;
	struct fs_netb b;
	struct osm_ctx ctx = { .b = &b };
	const void *handle = NULL;
	struct fs_network *net = NULL;
	if (!params) {
		fs_osm_params_defaults(&defaults);
		params = &defaults;
	}
	ctx.params = params;
	if (fs_netb_init(&b) < 0) {
		fs_error_set(err, -ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	int rc;
	if (ends_with(path, ".pbf")) {
		rc = fs_osm_pbf_scan(path, on_plain_node, &ctx, err);
	} else if (ends_with(path, ".osm")) {
		rc = check_xml(path, err);
	} else {
		rc = fs_error_set(err, -EINVAL, "%s: %s", path,
				  readosm_message(READOSM_INVALID_SUFFIX));
	}
	if (rc < 0) {
		goto out_free;
	}
	rc = readosm_open(path, &handle);
	if (rc == READOSM_OK) {
		rc = readosm_parse(handle, &ctx, on_node, on_way, on_relation);
	}
	readosm_close(handle);
	if (ctx.nomem) {
		fs_error_set(err, -ENOMEM, "%s: out of memory", path);
		goto out_free;
	}
	if (rc != READOSM_OK) {
		fs_error_set(err, rc == READOSM_INVALID_SUFFIX ? -EINVAL : -EIO, "%s: %s (readosm %d)",
			     path, readosm_message(rc), rc);
		goto out_free;
	}
	if (ctx.off_globe) {
		fs_error_set(err, -EINVAL,
			     "%s: %" PRIu64 " node(s) with a latitude beyond +-90 or a longitude beyond +-180 "
			     "(the first: node %" PRId64 "); the file is corrupt",
			     path, ctx.off_globe, ctx.first_off_globe);
		goto out_free;
	}
	net = build_graph(&ctx, path, err);
	if (net) {
		net = keep_used_nodes(net, params->largest_scc_only, err);
	}
	fs_free(ctx.nodes);
	fs_free(ctx.ways);
	fs_free(ctx.refs);
	fs_free(ctx.restrictions);
	return net;

out_free:
	fs_free(ctx.nodes);
	fs_free(ctx.ways);
	fs_free(ctx.refs);
	fs_free(ctx.restrictions);
	fs_netb_finish_free(&b);
	return NULL;
}

struct fs_network *fs_network_load_osm(const char *path, struct fs_error *err)
{
	return fs_network_load_osm_with(path, NULL, err);
}
