/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_network_pbf - a checking pass over an OSM PBF file before readosm reads it.
 *
 * readosm 1.1 decodes DenseNodes and ways but silently skips plain Node
 * messages (PrimitiveGroup field 1), which some writers use for every node
 * (data/osm/columbus.osm.pbf is one), and its error codes say nothing about
 * where a file is broken. This pass walks the file's framing (BlobHeader,
 * Blob, zlib), reports plain nodes to the caller, and names the block and
 * byte offset of the first problem, so readosm only ever sees well-framed
 * files. Every read is bounds-checked against the file or the decompressed
 * block: a truncated or corrupt file is an error, never a crash.
 * Format: https://wiki.openstreetmap.org/wiki/PBF_Format (fileformat.proto,
 * osmformat.proto).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "fs/alloc.h"
#include "fs/file_load.h"
#include "fs/network_build.h"
#include "fs/network_load.h"
#include "fs_network_files.h"

#define MAX_HEADER_BYTES (64 * 1024)        /* fileformat.proto: BlobHeader < 64 KiB */
#define MAX_BLOB_BYTES (32 * 1024 * 1024)   /* fileformat.proto: Blob < 32 MiB */

struct pb {
	const uint8_t *p, *end;
};

static bool pb_varint(struct pb *r, uint64_t *ret)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) {
			return false;
		}
		uint8_t c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

/* Next field: number and wire type; for wire type 2 also the payload. */
static bool pb_field(struct pb *r, uint32_t *ret_field, uint32_t *ret_wire, struct pb *ret_len,
		     uint64_t *ret_varint)
{
	uint64_t key, len;
	if (!pb_varint(r, &key)) {
		return false;
	}
	*ret_field = (uint32_t)(key >> 3);
	*ret_wire = (uint32_t)(key & 7);
	switch (*ret_wire) {
	case 0:
		return pb_varint(r, ret_varint);
	case 1:
		if (r->end - r->p < 8) {
			return false;
		}
		r->p += 8;
		return true;
	case 2:
		if (!pb_varint(r, &len) || len > (uint64_t)(r->end - r->p)) {
			return false;
		}
		ret_len->p = r->p;
		ret_len->end = r->p + len;
		r->p += len;
		return true;
	case 5:
		if (r->end - r->p < 4) {
			return false;
		}
		r->p += 4;
		return true;
	default:
		return false;
	}
}

static int64_t zigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static bool pb_equals(const struct pb *s, const char *text)
{
	size_t n = strlen(text);
	return (size_t)(s->end - s->p) == n && !memcmp(s->p, text, n);
}

static int bad(struct fs_error *err, const char *path, uint32_t block, uint64_t offset,
	       const char *what)
{
	return fs_error_set(err, -EINVAL, "%s: PBF block %" PRIu32 " at byte %" PRIu64 ": %s", path,
			    block, offset, what);
}

/*
 * ---- what readosm trusts -------------------------------------------------
 *
 * readosm 1.1 decodes a PrimitiveBlock without checking what it reads: a
 * packed field whose last varint runs past its end makes it dereference a
 * NULL pointer (so does a varint longer than 5 bytes in a field it reads
 * as 32-bit), string-table indexes are used unchecked, and it reads field
 * keys as one byte. Found by tests/fuzz (fuzz_osm_pbf). So before readosm
 * sees a block, every structure it reads is checked here: one-byte keys
 * below the block level, packed fields made of whole varints of the width
 * readosm expects, string indexes inside the table, and parallel arrays of
 * equal length.
 */

/* Count the varints of a packed field; false unless they end exactly at its end
 * and none is longer than @max_bytes. */
static bool packed_count(struct pb field, int max_bytes, size_t *ret_count)
{
	size_t n = 0;
	uint64_t v;
	while (field.p < field.end) {
		const uint8_t *start = field.p;
		if (!pb_varint(&field, &v) || field.p - start > max_bytes) {
			return false;
		}
		n++;
	}
	*ret_count = n;
	return true;
}

/* Every value of a packed field (running sums when @delta, zigzag when @zz) is a string index. */
static bool packed_strings_ok(struct pb field, uint64_t nstrings, bool delta, bool zz)
{
	int64_t sum = 0;
	uint64_t v;
	while (field.p < field.end) {
		if (!pb_varint(&field, &v)) {
			return false;
		}
		int64_t x = zz ? zigzag(v) : (int64_t)(uint32_t)v;
		sum = delta ? (int64_t)((uint64_t)sum + (uint64_t)x) : x;
		if (sum < 0 || (uint64_t)sum >= nstrings) {
			return false;
		}
	}
	return true;
}

/* The next field of a structure readosm reads, whose keys it takes as one byte. */
static bool pb_field_1(struct pb *r, uint32_t *ret_field, uint32_t *ret_wire, struct pb *ret_len,
		       uint64_t *ret_varint)
{
	return r->p < r->end && *r->p < 0x80 && pb_field(r, ret_field, ret_wire, ret_len, ret_varint);
}

/* Every field of @msg one-byte keyed and well formed; packed ones (a bit per field
 * number in @packed) made of whole varints, at most 5 bytes long in those readosm
 * reads as 32-bit (@narrow), their counts in @counts[field]. */
static bool fields_ok(struct pb msg, uint32_t packed, uint32_t narrow, size_t counts[16])
{
	uint32_t f, w;
	uint64_t v;
	struct pb sub;
	while (msg.p < msg.end) {
		if (!pb_field_1(&msg, &f, &w, &sub, &v)) {
			return false;
		}
		if (f < 16 && (packed >> f & 1)) {
			if (w != 2 || !packed_count(sub, (narrow >> f & 1) ? 5 : 10, &counts[f])) {
				return false;
			}
		}
	}
	return true;
}

/* The field @number (wire type 2) of @msg, the last one if repeated; false if absent. */
static bool pb_find(struct pb msg, uint32_t number, struct pb *ret)
{
	uint32_t f, w;
	uint64_t v;
	struct pb sub;
	bool found = false;
	while (msg.p < msg.end && pb_field(&msg, &f, &w, &sub, &v)) {
		if (f == number && w == 2) {
			*ret = sub;
			found = true;
		}
	}
	return found;
}

static const char *check_dense(struct pb dense, uint64_t nstrings)
{
	size_t n[16] = { 0 };
	struct pb sub;
	if (!fields_ok(dense, 1u << 1 | 1u << 8 | 1u << 9 | 1u << 10, 1u << 10, n)) {
		return "corrupt dense nodes";
	}
	if (n[1] != n[8] || n[1] != n[9]) {
		return "dense nodes: ids, latitudes and longitudes differ in number";
	}
	if (pb_find(dense, 10, &sub) && !packed_strings_ok(sub, nstrings, false, false)) {
		return "dense nodes: a tag names a string outside the block's table";
	}
	if (pb_find(dense, 5, &sub)) {
		size_t info[16] = { 0 };
		struct pb users;
		if (!fields_ok(sub, 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5, 1u << 1 | 1u << 4 | 1u << 5, info)) {
			return "corrupt dense node infos";
		}
		if (pb_find(sub, 5, &users) && !packed_strings_ok(users, nstrings, true, true)) {
			return "dense node infos: a user names a string outside the block's table";
		}
	}
	return NULL;
}

static const char *check_way_or_relation(struct pb m, uint64_t nstrings, bool relation)
{
	size_t n[16] = { 0 };
	struct pb sub;
	uint32_t packed = 1u << 2 | 1u << 3 | (relation ? 1u << 8 | 1u << 9 | 1u << 10 : 1u << 8);
	uint32_t narrow = 1u << 2 | 1u << 3 | (relation ? 1u << 8 | 1u << 10 : 0);
	if (!fields_ok(m, packed, narrow, n)) {
		return relation ? "corrupt relation" : "corrupt way";
	}
	if (n[2] != n[3]) {
		return "tag keys and values differ in number";
	}
	if ((pb_find(m, 2, &sub) && !packed_strings_ok(sub, nstrings, false, false)) ||
	    (pb_find(m, 3, &sub) && !packed_strings_ok(sub, nstrings, false, false))) {
		return "a tag names a string outside the block's table";
	}
	if (relation && (n[8] != n[9] || n[8] != n[10])) {
		return "relation: roles, members and member types differ in number";
	}
	if (relation && pb_find(m, 8, &sub) && !packed_strings_ok(sub, nstrings, false, false)) {
		return "relation: a role names a string outside the block's table";
	}
	if (pb_find(m, 4, &sub)) {
		size_t info[16] = { 0 };
		if (!fields_ok(sub, 0, 0, info)) {
			return "corrupt way or relation info";
		}
	}
	return NULL;
}

/* NULL if readosm can read the block safely, else what is wrong with it. */
static const char *check_primitive_block(struct pb blk)
{
	struct pb r = blk, sub, table = { 0 };
	uint32_t f, w;
	uint64_t v, nstrings = 0;
	while (r.p < r.end) {
		if (!pb_field(&r, &f, &w, &sub, &v)) {
			return "corrupt primitive block";
		}
		if (f == 1 && w == 2) {
			table = sub;
		}
	}
	if (table.p) {
		while (table.p < table.end) {
			if (!pb_field_1(&table, &f, &w, &sub, &v)) {
				return "corrupt string table";
			}
			nstrings += f == 1 && w == 2;
		}
	}
	r = blk;
	while (r.p < r.end && pb_field(&r, &f, &w, &sub, &v)) {
		if (f != 2) {
			continue;
		}
		if (w != 2) {
			return "corrupt primitive group";
		}
		struct pb group = sub, item;
		while (group.p < group.end) {
			if (!pb_field_1(&group, &f, &w, &item, &v) || w != 2) {
				return "corrupt primitive group";
			}
			const char *why = f == 2   ? check_dense(item, nstrings)
					  : f == 3 ? check_way_or_relation(item, nstrings, false)
					  : f == 4 ? check_way_or_relation(item, nstrings, true)
						   : NULL;
			if (why) {
				return why;
			}
		}
	}
	return NULL;
}

/* PrimitiveBlock: plain nodes of every group, scaled by the block's granularity. */
static int scan_primitive_block(struct pb blk, fs_osm_pbf_node_fn on_node, void *ctx)
{
	int64_t granularity = 100, lat_offset = 0, lon_offset = 0;
	struct pb r = blk, sub;
	uint32_t f, w;
	uint64_t v;
	while (r.p < r.end) {
		if (!pb_field(&r, &f, &w, &sub, &v)) {
			return -EINVAL;
		}
		if (f == 17 && w == 0) {
			granularity = (int64_t)v;
		} else if (f == 19 && w == 0) {
			lat_offset = (int64_t)v;
		} else if (f == 20 && w == 0) {
			lon_offset = (int64_t)v;
		}
	}
	r = blk;
	while (r.p < r.end) {
		if (!pb_field(&r, &f, &w, &sub, &v)) {
			return -EINVAL;
		}
		if (f != 2 || w != 2) {
			continue;
		}
		struct pb group = sub, node;
		while (group.p < group.end) {
			if (!pb_field(&group, &f, &w, &node, &v)) {
				return -EINVAL;
			}
			if (f != 1 || w != 2) {
				continue;
			}
			int64_t id = 0, lat = 0, lon = 0;
			int have = 0;
			while (node.p < node.end) {
				if (!pb_field(&node, &f, &w, &sub, &v)) {
					return -EINVAL;
				}
				if (w != 0) {
					continue;
				}
				if (f == 1) {
					id = zigzag(v);
					have |= 1;
				} else if (f == 8) {
					lat = zigzag(v);
					have |= 2;
				} else if (f == 9) {
					lon = zigzag(v);
					have |= 4;
				}
			}
			if (have != 7) {
				return -EINVAL;
			}
			/* in doubles: a corrupt file's values overflow int64 (found by tests/fuzz);
			 * the loader refuses coordinates outside the globe */
			int rc = on_node(ctx, id, 1e-9 * ((double)lat_offset + (double)granularity * (double)lat),
					 1e-9 * ((double)lon_offset + (double)granularity * (double)lon));
			if (rc < 0) {
				return rc;
			}
		}
	}
	return 0;
}

int fs_osm_pbf_scan(const char *path, fs_osm_pbf_node_fn on_node, void *ctx, struct fs_error *err)
{
	uint8_t *raw = NULL;
	size_t size = 0, off = 0, raw_cap = 0;
	char *file = NULL;
	int rc = fs_file_load(path, 0, &file, &size, err);
	if (rc < 0) {
		return rc;
	}
	const uint8_t *data = (const uint8_t *)file;
	uint32_t block = 0;
	bool seen_header = false;
	for (; off < size; block++) {
		if (size - off < 4) {
			rc = bad(err, path, block, off, "truncated block length");
			goto out;
		}
		uint32_t hlen = (uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 |
				(uint32_t)data[off + 2] << 8 | data[off + 3];
		if (hlen == 0 || hlen > MAX_HEADER_BYTES) {
			rc = bad(err, path, block, off,
				 "block header length out of range (not an OSM PBF file?)");
			goto out;
		}
		if (hlen > size - off - 4) {
			rc = bad(err, path, block, off, "truncated block header");
			goto out;
		}
		struct pb r = { data + off + 4, data + off + 4 + hlen }, type = { 0 }, sub;
		uint64_t datasize = UINT64_MAX, v;
		uint32_t f, w;
		while (r.p < r.end) {
			if (!pb_field(&r, &f, &w, &sub, &v)) {
				rc = bad(err, path, block, off, "corrupt block header");
				goto out;
			}
			if (f == 1 && w == 2) {
				type = sub;
			} else if (f == 3 && w == 0) {
				datasize = v;
			}
		}
		if (!type.p || datasize == UINT64_MAX || datasize > MAX_BLOB_BYTES) {
			rc = bad(err, path, block, off,
				 "block header without type or with a bad size (not an OSM PBF file?)");
			goto out;
		}
		if (!seen_header && !pb_equals(&type, "OSMHeader")) {
			rc = bad(err, path, block, off, "file does not start with an OSMHeader block");
			goto out;
		}
		seen_header = true;
		size_t blob_at = off + 4 + hlen;
		if (datasize > size - blob_at) {
			char msg[160];
			snprintf(msg, sizeof(msg),
				 "truncated: the block needs %" PRIu64 " bytes, the file has %zu more",
				 datasize, size - blob_at);
			rc = bad(err, path, block, off, msg);
			goto out;
		}
		struct pb blob = { data + blob_at, data + blob_at + datasize }, payload = { 0 };
		uint64_t raw_size = UINT64_MAX;
		bool zlib = false;
		while (blob.p < blob.end) {
			if (!pb_field(&blob, &f, &w, &sub, &v)) {
				rc = bad(err, path, block, off, "corrupt blob");
				goto out;
			}
			if (f == 1 && w == 2) {
				payload = sub;
			} else if (f == 2 && w == 0) {
				raw_size = v;
			} else if (f == 3 && w == 2) {
				payload = sub;
				zlib = true;
			} else if (f >= 4 && f <= 7) {
				rc = bad(err, path, block, off,
					 "unsupported compression (only raw and zlib blobs)");
				goto out;
			}
		}
		if (!payload.p) {
			rc = bad(err, path, block, off, "blob without data");
			goto out;
		}
		off = blob_at + datasize;
		if (!pb_equals(&type, "OSMData")) {
			continue; /* OSMHeader (readosm checks its features) or unknown: skip */
		}
		struct pb content = payload;
		if (zlib) {
			if (raw_size > MAX_BLOB_BYTES) {
				rc = bad(err, path, block, off, "blob raw size out of range");
				goto out;
			}
			if (raw_size > raw_cap) {
				uint8_t *bigger = fs_realloc(raw, raw_size ? raw_size : 1);
				if (!bigger) {
					rc = fs_error_set(err, -ENOMEM, "%s: out of memory", path);
					goto out;
				}
				raw = bigger;
				raw_cap = raw_size;
			}
			uLongf got = (uLongf)raw_size;
			int zrc = uncompress(raw, &got, payload.p, (uLong)(payload.end - payload.p));
			if (zrc != Z_OK || got != raw_size) {
				rc = bad(err, path, block, blob_at, "cannot decompress (corrupt zlib data)");
				goto out;
			}
			content = (struct pb){ raw, raw + raw_size };
		}
		const char *why = check_primitive_block(content);
		if (why) {
			rc = bad(err, path, block, blob_at, why);
			goto out;
		}
		rc = scan_primitive_block(content, on_node, ctx);
		if (rc == -EINVAL) {
			rc = bad(err, path, block, blob_at, "corrupt primitive block");
			goto out;
		} else if (rc < 0) {
			fs_error_set(err, rc, "%s: out of memory", path);
			goto out;
		}
	}
	if (!seen_header) {
		rc = fs_error_set(err, -EINVAL, "%s: empty file", path);
	}
out:
	fs_free(raw);
	fs_free(file);
	return rc;
}
