/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_network_cache - a compact binary copy of a network (".fsnet"), so a
 * city loads in milliseconds instead of re-parsing its OSM extract.
 *
 * Layout, all integers and floats little-endian (IEEE 754), no padding:
 *   header (FS_CACHE_HEADER_BYTES = 372):
 *     magic "FSNET\r\n\x1a" (8; the CR LF / ^Z catch text-mode mangling)
 *     u32 version, u32 header size
 *     u64 source size, u64 source hash   (XXH3-64 of the source file; 0, 0 if none)
 *     u64 rules hash                      (XXH3-64 of the loader rules and parameters)
 *     u64 content size, u64 content hash  (XXH3-64 of everything after the header)
 *     u32 node count, edge count, shape point count, names size, banned turn count
 *     f64 origin_lat, origin_lon, metres_per_deg_lat, metres_per_deg_lon
 *     char source[256]                   (NUL-padded)
 *     u64 header hash                     (XXH3-64 of the header bytes before it)
 *   content:
 *     nodes  (40 bytes each): f64 x, y, lat, lon; i64 osm_id
 *     edges  (36 bytes each): u32 from, to; f32 length_m, speed_mps, travel_time_s;
 *            u8 lanes, road_class; u16 flags; u32 name, shape_first, shape_count
 *     shape  (16 bytes each): f64 x, y
 *     names  (names size bytes)
 *     banned turns (8 bytes each): u32 from edge, to edge; sorted, distinct
 * A reader checks the header hash, the sizes against the file size, the
 * content hash, then every index in the content (edges sorted by from, nodes,
 * shape ranges and names in bounds) before it builds the network, so a
 * truncated, corrupt or hand-edited file is an error, never a crash. A cache
 * whose source size/hash or rules hash differ from what the caller expects
 * is "stale" and rejected.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "fs/alloc.h"
#include "fs/network.h"
#include "fs/network_build.h"
#include "fs/network_load.h"
#include "fs_network_files.h"

#define FS_CACHE_MAGIC "FSNET\r\n\x1a"
#define FS_CACHE_VERSION 2u /* 2: banned turns */
#define FS_CACHE_HEADER_BYTES 372u
#define NODE_BYTES 40u
#define EDGE_BYTES 36u
#define SHAPE_BYTES 16u
#define TURN_BYTES 8u
/* Bump when the OSM loader's rules change in a way the parameters do not show. */
#define FS_OSM_RULES_VERSION 3u /* 2: turn restrictions; 3: junction control flags from node tags */

/* ---- little-endian encoding --------------------------------------------------- */

struct wbuf {
	uint8_t *p;
};

static void put_u8(struct wbuf *w, uint8_t v)
{
	*w->p++ = v;
}

/* The low @bytes bytes of @v, least significant first. */
static void put_le(struct wbuf *w, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++) {
		*w->p++ = (uint8_t)(v >> (8 * i));
	}
}

static void put_u16(struct wbuf *w, uint16_t v)
{
	put_le(w, v, 2);
}

static void put_u32(struct wbuf *w, uint32_t v)
{
	put_le(w, v, 4);
}

static void put_u64(struct wbuf *w, uint64_t v)
{
	put_le(w, v, 8);
}

static void put_f32(struct wbuf *w, float v)
{
	uint32_t bits;
	memcpy(&bits, &v, 4);
	put_u32(w, bits);
}

static void put_f64(struct wbuf *w, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, 8);
	put_u64(w, bits);
}

struct rbuf {
	const uint8_t *p;
};

static uint8_t get_u8(struct rbuf *r)
{
	return *r->p++;
}

/* @bytes bytes, least significant first. */
static uint64_t get_le(struct rbuf *r, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++) {
		v |= (uint64_t)r->p[i] << (8 * i);
	}
	r->p += bytes;
	return v;
}

static uint16_t get_u16(struct rbuf *r)
{
	return (uint16_t)get_le(r, 2);
}

static uint32_t get_u32(struct rbuf *r)
{
	return (uint32_t)get_le(r, 4);
}

static uint64_t get_u64(struct rbuf *r)
{
	return get_le(r, 8);
}

static float get_f32(struct rbuf *r)
{
	uint32_t bits = get_u32(r);
	float v;
	memcpy(&v, &bits, 4);
	return v;
}

static double get_f64(struct rbuf *r)
{
	uint64_t bits = get_u64(r);
	double v;
	memcpy(&v, &bits, 8);
	return v;
}

/* ---- identities --------------------------------------------------------------- */

uint64_t fs_network_rules_hash(const struct fs_osm_params *params)
{
	/* Hash the values, not the struct bytes (padding is undefined). */
	XXH3_state_t *st = XXH3_createState();
	if (!st) {
		return 0;
	}
	XXH3_64bits_reset(st);
	uint32_t rules = FS_OSM_RULES_VERSION;
	XXH3_64bits_update(st, &rules, sizeof(rules));
	uint8_t buf[8];
	for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
		struct wbuf w = { buf };
		put_f64(&w, params->default_speed_kmh[c]);
		XXH3_64bits_update(st, buf, 8);
	}
	uint8_t scc = params->largest_scc_only;
	XXH3_64bits_update(st, &scc, 1);
	uint64_t h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

int fs_file_identity(const char *path, uint64_t *ret_size, uint64_t *ret_hash,
		     struct fs_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		return fs_error_set(err, -errno, "%s: %s", path, strerror(errno));
	}
	XXH3_state_t *st = XXH3_createState();
	uint8_t *buf = fs_malloc(1 << 16);
	if (!st || !buf) {
		XXH3_freeState(st);
		fs_free(buf);
		fclose(f);
		return fs_error_set(err, -ENOMEM, "%s: out of memory", path);
	}
	XXH3_64bits_reset(st);
	uint64_t size = 0;
	size_t n;
	while ((n = fread(buf, 1, 1 << 16, f)) > 0) {
		XXH3_64bits_update(st, buf, n);
		size += n;
	}
	int rc = ferror(f) ? fs_error_set(err, -EIO, "%s: read error", path) : 0;
	if (!rc) {
		*ret_size = size;
		*ret_hash = XXH3_64bits_digest(st);
	}
	XXH3_freeState(st);
	fs_free(buf);
	fclose(f);
	return rc;
}

/* ---- save ----------------------------------------------------------------------- */

int fs_network_save_cache_with(const struct fs_network *net, const char *path,
			       const struct fs_cache_identity *id, struct fs_error *err)
{
	uint64_t content = (uint64_t)net->node_count * NODE_BYTES +
			   (uint64_t)net->edge_count * EDGE_BYTES +
			   (uint64_t)net->shape_count * SHAPE_BYTES + net->names_size +
			   (uint64_t)net->banned_turn_count * TURN_BYTES;
	uint64_t total = FS_CACHE_HEADER_BYTES + content;
	if (total > SIZE_MAX / 2) {
		return fs_error_set(err, -EFBIG, "%s: network too large for a cache", path);
	}
	uint8_t *buf = fs_malloc((size_t)total);
	if (!buf) {
		return fs_error_set(err, -ENOMEM, "%s: out of memory", path);
	}
	struct wbuf w = { buf + FS_CACHE_HEADER_BYTES };
	for (uint32_t v = 0; v < net->node_count; v++) {
		const struct fs_node *n = &net->nodes[v];
		put_f64(&w, n->x);
		put_f64(&w, n->y);
		put_f64(&w, n->lat);
		put_f64(&w, n->lon);
		put_u64(&w, (uint64_t)n->osm_id);
	}
	for (uint32_t i = 0; i < net->edge_count; i++) {
		const struct fs_edge *e = &net->edges[i];
		put_u32(&w, e->from);
		put_u32(&w, e->to);
		put_f32(&w, e->length_m);
		put_f32(&w, e->speed_mps);
		put_f32(&w, e->travel_time_s);
		put_u8(&w, e->lanes);
		put_u8(&w, e->road_class);
		put_u16(&w, e->flags);
		put_u32(&w, e->name);
		put_u32(&w, e->shape_first);
		put_u32(&w, e->shape_count);
	}
	for (uint32_t i = 0; i < net->shape_count; i++) {
		put_f64(&w, net->shape[i].x);
		put_f64(&w, net->shape[i].y);
	}
	memcpy(w.p, net->names, net->names_size);
	w.p += net->names_size;
	for (uint32_t i = 0; i < net->banned_turn_count; i++) {
		put_u32(&w, net->banned_turns[i].from);
		put_u32(&w, net->banned_turns[i].to);
	}

	w.p = buf;
	memcpy(w.p, FS_CACHE_MAGIC, 8);
	w.p += 8;
	put_u32(&w, FS_CACHE_VERSION);
	put_u32(&w, FS_CACHE_HEADER_BYTES);
	put_u64(&w, id ? id->source_size : 0);
	put_u64(&w, id ? id->source_hash : 0);
	put_u64(&w, id ? id->rules_hash : 0);
	put_u64(&w, content);
	put_u64(&w, XXH3_64bits(buf + FS_CACHE_HEADER_BYTES, (size_t)content));
	put_u32(&w, net->node_count);
	put_u32(&w, net->edge_count);
	put_u32(&w, net->shape_count);
	put_u32(&w, net->names_size);
	put_u32(&w, net->banned_turn_count);
	put_f64(&w, net->proj.origin_lat);
	put_f64(&w, net->proj.origin_lon);
	put_f64(&w, net->proj.metres_per_deg_lat);
	put_f64(&w, net->proj.metres_per_deg_lon);
	memset(w.p, 0, sizeof(net->source));
	memcpy(w.p, net->source, strnlen(net->source, sizeof(net->source) - 1));
	w.p += sizeof(net->source);
	put_u64(&w, XXH3_64bits(buf, (size_t)(w.p - buf)));

	/* Write beside the target and rename, so a reader never sees half a file. */
	size_t plen = strlen(path);
	char *tmp = fs_malloc(plen + 16);
	int rc = 0;
	if (!tmp) {
		fs_free(buf);
		return fs_error_set(err, -ENOMEM, "%s: out of memory", path);
	}
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		rc = fs_error_set(err, -errno, "%s: cannot create a temporary file: %s", path,
				  strerror(errno));
		goto out;
	}
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		rc = fs_error_set(err, -errno, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	bool ok = fwrite(buf, 1, (size_t)total, f) == (size_t)total;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		rc = fs_error_set(err, errno ? -errno : -EIO, "%s: write failed: %s", path,
				  strerror(errno ? errno : EIO));
		unlink(tmp);
	}
out:
	fs_free(tmp);
	fs_free(buf);
	return rc;
}

int fs_network_save_cache(const struct fs_network *net, const char *path, struct fs_error *err)
{
	return fs_network_save_cache_with(net, path, NULL, err);
}

/* ---- load ----------------------------------------------------------------------- */

static int invalid(struct fs_error *err, const char *path, const char *what, uint64_t index)
{
	return fs_error_set(err, -EINVAL, "%s: invalid network cache: %s %" PRIu64, path, what,
			    index);
}

/* Decode and check the content into @b (which owns the arrays afterwards). */
static int decode_content(struct fs_netb *b, struct rbuf *r, uint32_t nodes, uint32_t edges,
			  uint32_t shapes, uint32_t names_size, const char *path,
			  struct fs_error *err)
{
	b->nodes = fs_malloc(((size_t)nodes + 1) * sizeof(*b->nodes));
	b->edges = fs_malloc(((size_t)edges + 1) * sizeof(*b->edges));
	b->shape = fs_malloc(((size_t)shapes + 1) * sizeof(*b->shape));
	char *names = fs_malloc((size_t)names_size + 1);
	if (!b->nodes || !b->edges || !b->shape || !names) {
		fs_free(names);
		return fs_error_set(err, -ENOMEM, "%s: out of memory", path);
	}
	fs_free(b->names);
	b->names = names;
	b->names_size = b->names_cap = names_size;
	b->node_count = b->node_cap = nodes;
	b->edge_count = b->edge_cap = edges;
	b->shape_count = b->shape_cap = shapes;
	for (uint32_t v = 0; v < nodes; v++) {
		struct fs_node *n = &b->nodes[v];
		n->x = get_f64(r);
		n->y = get_f64(r);
		n->lat = get_f64(r);
		n->lon = get_f64(r);
		n->osm_id = (int64_t)get_u64(r);
		if (!isfinite(n->x) || !isfinite(n->y) || !isfinite(n->lat) || !isfinite(n->lon)) {
			return invalid(err, path, "non-finite coordinates of node", v);
		}
	}
	for (uint32_t i = 0; i < edges; i++) {
		struct fs_edge *e = &b->edges[i];
		e->from = get_u32(r);
		e->to = get_u32(r);
		e->length_m = get_f32(r);
		e->speed_mps = get_f32(r);
		e->travel_time_s = get_f32(r);
		e->lanes = get_u8(r);
		e->road_class = get_u8(r);
		e->flags = get_u16(r);
		e->name = get_u32(r);
		e->shape_first = get_u32(r);
		e->shape_count = get_u32(r);
		if (e->from >= nodes || e->to >= nodes || (i && e->from < b->edges[i - 1].from)) {
			return invalid(err, path, "bad or unsorted end nodes of edge", i);
		}
		if (!(e->length_m >= 0.0f) || !isfinite(e->length_m) || !(e->speed_mps > 0.0f) ||
		    !isfinite(e->speed_mps) || !(e->travel_time_s >= 0.0f) ||
		    !isfinite(e->travel_time_s) || e->road_class >= FS_ROAD_CLASS_COUNT) {
			return invalid(err, path, "bad length, speed or class of edge", i);
		}
		if (e->name >= names_size || e->shape_count < 2 ||
		    (uint64_t)e->shape_first + e->shape_count > shapes) {
			return invalid(err, path, "name or shape out of range in edge", i);
		}
	}
	for (uint32_t i = 0; i < shapes; i++) {
		b->shape[i].x = get_f64(r);
		b->shape[i].y = get_f64(r);
		if (!isfinite(b->shape[i].x) || !isfinite(b->shape[i].y)) {
			return invalid(err, path, "non-finite shape point", i);
		}
	}
	memcpy(names, r->p, names_size);
	r->p += names_size;
	if (names_size == 0 || names[0] != '\0' || names[names_size - 1] != '\0') {
		return invalid(err, path, "names not NUL-framed, size", names_size);
	}
	return 0;
}

/* Decode and check the banned turns into @b (fs_netb_build() drops pairs that do not meet). */
static int decode_turns(struct fs_netb *b, struct rbuf *r, uint32_t turns, const char *path,
			struct fs_error *err)
{
	uint32_t prev_from = 0, prev_to = 0;
	for (uint32_t i = 0; i < turns; i++) {
		uint32_t from = get_u32(r), to = get_u32(r);
		if (from >= b->edge_count || to >= b->edge_count || b->edges[from].to != b->edges[to].from ||
		    (i && (from < prev_from || (from == prev_from && to <= prev_to)))) {
			return invalid(err, path, "bad, unsorted or repeated banned turn", i);
		}
		if (fs_netb_add_turn(b, from, to, false) < 0) {
			return fs_error_set(err, -ENOMEM, "%s: out of memory", path);
		}
		prev_from = from;
		prev_to = to;
	}
	return 0;
}

struct fs_network *fs_network_load_cache_with(const char *path, const struct fs_cache_identity *want,
					      struct fs_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fs_error_set(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	uint8_t header[FS_CACHE_HEADER_BYTES];
	size_t got = fread(header, 1, sizeof(header), f);
	if (got >= 8 && memcmp(header, FS_CACHE_MAGIC, 8) != 0) {
		fclose(f);
		fs_error_set(err, -EINVAL, "%s: not a fleetsim network cache (bad magic)", path);
		return NULL;
	}
	if (got < sizeof(header)) {
		fclose(f);
		fs_error_set(err, -EINVAL, "%s: truncated network cache (%zu-byte header of %u)", path,
			     got, FS_CACHE_HEADER_BYTES);
		return NULL;
	}
	struct rbuf r = { header + 8 };
	uint32_t version = get_u32(&r), header_size = get_u32(&r);
	struct fs_cache_identity id;
	id.source_size = get_u64(&r);
	id.source_hash = get_u64(&r);
	id.rules_hash = get_u64(&r);
	uint64_t content = get_u64(&r), content_hash = get_u64(&r);
	uint32_t nodes = get_u32(&r), edges = get_u32(&r), shapes = get_u32(&r);
	uint32_t names_size = get_u32(&r), turns = get_u32(&r);
	struct fs_projection proj;
	proj.origin_lat = get_f64(&r);
	proj.origin_lon = get_f64(&r);
	proj.metres_per_deg_lat = get_f64(&r);
	proj.metres_per_deg_lon = get_f64(&r);
	char source[256];
	memcpy(source, r.p, sizeof(source));
	source[sizeof(source) - 1] = '\0';
	r.p += sizeof(source);
	uint64_t header_hash = get_u64(&r);
	if (version != FS_CACHE_VERSION || header_size != FS_CACHE_HEADER_BYTES) {
		fclose(f);
		fs_error_set(err, -EINVAL, "%s: network cache version %" PRIu32 " (this build reads %u)",
			     path, version, FS_CACHE_VERSION);
		return NULL;
	}
	if (XXH3_64bits(header, FS_CACHE_HEADER_BYTES - 8) != header_hash) {
		fclose(f);
		fs_error_set(err, -EINVAL, "%s: corrupt network cache (header checksum mismatch)", path);
		return NULL;
	}
	if (want && (want->source_size != id.source_size || want->source_hash != id.source_hash ||
		     want->rules_hash != id.rules_hash)) {
		fclose(f);
		fs_error_set(err, -ESTALE,
			     "%s: stale network cache (built from a different source file or rules)",
			     path);
		return NULL;
	}
	uint64_t expect = (uint64_t)nodes * NODE_BYTES + (uint64_t)edges * EDGE_BYTES +
			  (uint64_t)shapes * SHAPE_BYTES + names_size + (uint64_t)turns * TURN_BYTES;
	if (content != expect || content > SIZE_MAX / 2) {
		fclose(f);
		fs_error_set(err, -EINVAL, "%s: corrupt network cache (sizes disagree)", path);
		return NULL;
	}
	uint8_t *body = fs_malloc((size_t)content + 1);
	if (!body) {
		fclose(f);
		fs_error_set(err, -ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	got = fread(body, 1, (size_t)content + 1, f);
	fclose(f);
	if (got != content) {
		fs_free(body);
		fs_error_set(err, -EINVAL, "%s: %s network cache (%zu content bytes, header says %" PRIu64 ")",
			     path, got < content ? "truncated" : "oversized", got, content);
		return NULL;
	}
	if (XXH3_64bits(body, (size_t)content) != content_hash) {
		fs_free(body);
		fs_error_set(err, -EINVAL, "%s: corrupt network cache (content checksum mismatch)", path);
		return NULL;
	}
	struct fs_netb b;
	if (fs_netb_init(&b) < 0) {
		fs_free(body);
		fs_error_set(err, -ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	r.p = body;
	if (decode_content(&b, &r, nodes, edges, shapes, names_size, path, err) < 0 ||
	    decode_turns(&b, &r, turns, path, err) < 0) {
		fs_free(body);
		fs_netb_finish_free(&b);
		return NULL;
	}
	fs_free(body);
	struct fs_network *net = fs_netb_build(&b, &proj, source);
	if (!net) {
		fs_error_set(err, -ENOMEM, "%s: out of memory", path);
	}
	return net;
}

struct fs_network *fs_network_load_cache(const char *path, struct fs_error *err)
{
	return fs_network_load_cache_with(path, NULL, err);
}

struct fs_network *fs_network_load_cached(const char *osm_path, const char *cache_dir,
					  int *ret_cache_status, struct fs_error *err)
{
	struct fs_osm_params params;
	fs_osm_params_defaults(&params);
	struct fs_cache_identity id = { .rules_hash = fs_network_rules_hash(&params) };
	if (fs_file_identity(osm_path, &id.source_size, &id.source_hash, err) < 0) {
		return NULL;
	}
	const char *base = strrchr(osm_path, '/');
	base = base ? base + 1 : osm_path;
	size_t len = strlen(cache_dir) + strlen(base) + 8;
	char *cache = fs_malloc(len);
	if (!cache) {
		fs_error_set(err, -ENOMEM, "%s: out of memory", osm_path);
		return NULL;
	}
	snprintf(cache, len, "%s/%s.fsnet", cache_dir, base);
	struct fs_network *net = fs_network_load_cache_with(cache, &id, NULL);
	if (net) {
		fs_free(cache);
		if (ret_cache_status) {
			*ret_cache_status = 1;
		}
		return net;
	}
	net = fs_network_load_osm_with(osm_path, &params, err);
	if (net) {
		/* The cache only saves time: a failure to write it is reported, not fatal. */
		int rc = fs_network_save_cache_with(net, cache, &id, NULL);
		if (ret_cache_status) {
			*ret_cache_status = rc;
		}
	}
	fs_free(cache);
	return net;
}
