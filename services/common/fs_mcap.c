/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_mcap - MCAP writer and reader (see fs_mcap.h for the file layout).
 *
 * Writer: messages are appended to an in-memory chunk; a full chunk is
 * written with one write() followed by its message indexes, so the file on
 * disk always ends on a record boundary except during that write. The data
 * section CRC covers magic, header and everything up to DataEnd; the summary
 * CRC covers the summary, the summary offsets and the footer's first fields,
 * as the spec and @mcap/core compute them.
 *
 * Reader: the file is mapped read-only; every length is checked against what
 * is left of the file (or chunk) before it is used, so a truncated or
 * corrupt file ends the walk with a message instead of a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef FS_MCAP_ZSTD
#include <zstd.h>
#endif

#include "fs/grow.h"
#include "fs_log.h"
#include "fs_mcap.h"

static const uint8_t MAGIC[8] = { 0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n' };
#define FOOTER_RECORD_BYTES (1 + 8 + 8 + 8 + 4)
#define DEFAULT_CHUNK_BYTES ((size_t)4 << 20)

/* ---------------------------------------------------------------- buffers */

struct buf {
	uint8_t *data;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
	fs_xgrow(b->data, b->cap, b->len + more);
}

static void put(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (n) {
		memcpy(b->data + b->len, data, n);
	}
	b->len += n;
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	put(b, x, 2);
}

static void put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4];
	for (int i = 0; i < 4; i++) {
		x[i] = (uint8_t)(v >> (8 * i));
	}
	put(b, x, 4);
}

static void put_u64(struct buf *b, uint64_t v)
{
	uint8_t x[8];
	for (int i = 0; i < 8; i++) {
		x[i] = (uint8_t)(v >> (8 * i));
	}
	put(b, x, 8);
}

static void set_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void set_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void put_str(struct buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	put_u32(b, (uint32_t)n);
	put(b, s, n);
}

/* Start a record; returns the position of its length field for end_record(). */
static size_t begin_record(struct buf *b, uint8_t opcode)
{
	put_u8(b, opcode);
	size_t at = b->len;
	put_u64(b, 0);
	return at;
}

/* Returns the record's full length (opcode and length field included). */
static uint64_t end_record(struct buf *b, size_t at)
{
	uint64_t content = b->len - at - 8;
	set_u64(b->data + at, content);
	return content + 9;
}

static size_t begin_prefixed32(struct buf *b)
{
	size_t at = b->len;
	put_u32(b, 0);
	return at;
}

static void end_prefixed32(struct buf *b, size_t at)
{
	set_u32(b->data + at, (uint32_t)(b->len - at - 4));
}

static void put_kv_map(struct buf *b, const struct fs_mcap_kv *kv, size_t n)
{
	size_t at = begin_prefixed32(b);
	for (size_t i = 0; i < n; i++) {
		put_str(b, kv[i].key);
		put_str(b, kv[i].value);
	}
	end_prefixed32(b, at);
}

/* ----------------------------------------------------------------- writer */

struct index_entry {
	uint64_t log_time;
	uint64_t offset;
};

struct wchannel {
	uint16_t schema_id;
	char *topic;
	char *encoding;
	struct fs_mcap_kv *metadata;
	size_t n_metadata;
	bool written;        /* Channel record already in a chunk */
	struct index_entry *idx; /* this chunk's message index */
	size_t n_idx, cap_idx;
	uint64_t count;
};

struct wschema {
	char *name;
	char *encoding;
	uint8_t *data;
	size_t size;
	bool written;
};

struct chunk_index {
	uint64_t start_time, end_time, offset, length;
	uint64_t index_length;
	uint16_t *channel_ids;
	uint64_t *index_offsets;
	size_t n;
	uint64_t compressed_size, uncompressed_size;
};

struct named_offset {
	char *name;
	char *media_type;
	uint64_t offset, length, log_time, data_size;
};

struct fs_mcap_writer {
	int fd;
	uint64_t offset;
	uLong data_crc;
	size_t chunk_bytes;
	enum fs_mcap_compression compression;
	int zstd_level;
	struct wschema *schemas; /* id = index + 1 */
	size_t n_schemas, cap_schemas;
	struct wchannel *channels; /* id = index */
	size_t n_channels, cap_channels;
	struct buf chunk;
	uint64_t chunk_start, chunk_end;
	uint64_t chunk_messages;
	uint16_t *chunk_channels; /* channels with messages in the open chunk, first use order */
	size_t n_chunk_channels, cap_chunk_channels;
	struct chunk_index *chunks;
	size_t n_chunks, cap_chunks;
	struct named_offset *metadata, *attachments;
	size_t n_metadata, cap_metadata, n_attachments, cap_attachments;
	struct buf scratch;
	struct buf compressed;
	const uint8_t *tail;      /* data of a large message, written after chunk.data without a copy */
	size_t tail_size;
	struct fs_mcap_stats stats;
	int failed; /* first I/O error; the writer refuses work after it */
};

bool fs_mcap_compression_supported(enum fs_mcap_compression c)
{
#ifdef FS_MCAP_ZSTD
	return c == FS_MCAP_COMPRESSION_NONE || c == FS_MCAP_COMPRESSION_ZSTD;
#else
	return c == FS_MCAP_COMPRESSION_NONE;
#endif
}

const char *fs_mcap_compression_name(enum fs_mcap_compression c)
{
	return c == FS_MCAP_COMPRESSION_ZSTD ? "zstd" : "";
}

static int write_all(struct fs_mcap_writer *w, const void *data, size_t n, bool data_section)
{
	if (w->failed) {
		return w->failed;
	}
	const uint8_t *p = data;
	size_t left = n;
	while (left) {
		ssize_t k = write(w->fd, p, left);
		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			w->failed = -errno;
			return w->failed;
		}
		p += k;
		left -= (size_t)k;
	}
	if (data_section) {
		/* zlib's crc32 takes uInt lengths: feed large buffers in slices. */
		const uint8_t *q = data;
		for (size_t done = 0; done < n;) {
			size_t step = n - done > (1u << 30) ? (1u << 30) : n - done;
			w->data_crc = crc32(w->data_crc, q + done, (uInt)step);
			done += step;
		}
	}
	w->offset += n;
	w->stats.bytes = w->offset;
	return 0;
}

static uint32_t crc_of(const uint8_t *data, size_t n)
{
	uLong c = crc32(0L, Z_NULL, 0);
	for (size_t done = 0; done < n;) {
		size_t step = n - done > (1u << 30) ? (1u << 30) : n - done;
		c = crc32(c, data + done, (uInt)step);
		done += step;
	}
	return (uint32_t)c;
}

struct fs_mcap_writer *fs_mcap_writer_open(const char *path, const struct fs_mcap_writer_options *opts,
					   struct fs_error *err)
{
	struct fs_mcap_writer_options o = opts ? *opts : (struct fs_mcap_writer_options){ 0 };
	if (!fs_mcap_compression_supported(o.compression)) {
		fs_error_set(err, -ENOTSUP, "%s: compression %s is not in this build", path,
			     fs_mcap_compression_name(o.compression));
		return NULL;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fs_error_set(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct fs_mcap_writer *w = fs_xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->data_crc = crc32(0L, Z_NULL, 0);
	w->chunk_bytes = o.chunk_bytes ? o.chunk_bytes : DEFAULT_CHUNK_BYTES;
	w->compression = o.compression;
	w->zstd_level = o.zstd_level ? o.zstd_level : 3;
	struct buf *b = &w->scratch;
	put(b, MAGIC, sizeof(MAGIC));
	size_t at = begin_record(b, FS_MCAP_OP_HEADER);
	put_str(b, o.profile ? o.profile : "");
	put_str(b, o.library ? o.library : "fleetsim");
	end_record(b, at);
	int rc = write_all(w, b->data, b->len, true);
	b->len = 0;
	if (rc < 0) {
		fs_error_set(err, rc, "%s: %s", path, strerror(-rc));
		fs_mcap_writer_abandon(w);
		return NULL;
	}
	return w;
}

int fs_mcap_writer_add_schema(struct fs_mcap_writer *w, const char *name, const char *encoding, const void *data,
			      size_t size)
{
	if (w->n_schemas >= UINT16_MAX || size > UINT32_MAX) {
		return -ENOSPC;
	}
	if (FS_GROW(w->schemas, w->cap_schemas, w->n_schemas + 1) < 0) {
		return -ENOMEM;
	}
	struct wschema *s = &w->schemas[w->n_schemas];
	memset(s, 0, sizeof(*s));
	s->name = fs_xstrdup(name);
	s->encoding = fs_xstrdup(encoding);
	s->data = malloc(size ? size : 1);
	if (!s->data) {
		return -ENOMEM;
	}
	memcpy(s->data, data, size);
	s->size = size;
	w->n_schemas++;
	w->stats.schema_count = (uint16_t)w->n_schemas;
	return (int)w->n_schemas;
}

int fs_mcap_writer_add_channel(struct fs_mcap_writer *w, uint16_t schema_id, const char *topic,
			       const char *message_encoding, const struct fs_mcap_kv *metadata, size_t n_metadata)
{
	if (w->n_channels > UINT16_MAX) {
		return -ENOSPC;
	}
	if (schema_id > w->n_schemas) {
		return -EINVAL;
	}
	if (FS_GROW(w->channels, w->cap_channels, w->n_channels + 1) < 0) {
		return -ENOMEM;
	}
	struct wchannel *c = &w->channels[w->n_channels];
	memset(c, 0, sizeof(*c));
	c->schema_id = schema_id;
	c->topic = fs_xstrdup(topic);
	c->encoding = fs_xstrdup(message_encoding);
	c->metadata = n_metadata ? fs_xcalloc(n_metadata, sizeof(*c->metadata)) : NULL;
	for (size_t i = 0; i < n_metadata; i++) {
		c->metadata[i].key = fs_xstrdup(metadata[i].key);
		c->metadata[i].value = fs_xstrdup(metadata[i].value);
	}
	c->n_metadata = n_metadata;
	w->stats.channel_count = (uint32_t)++w->n_channels;
	return (int)(w->n_channels - 1);
}

static void put_schema(struct buf *b, uint16_t id, const struct wschema *s)
{
	size_t at = begin_record(b, FS_MCAP_OP_SCHEMA);
	put_u16(b, id);
	put_str(b, s->name);
	put_str(b, s->encoding);
	put_u32(b, (uint32_t)s->size);
	put(b, s->data, s->size);
	end_record(b, at);
}

static void put_channel(struct buf *b, uint16_t id, const struct wchannel *c)
{
	size_t at = begin_record(b, FS_MCAP_OP_CHANNEL);
	put_u16(b, id);
	put_u16(b, c->schema_id);
	put_str(b, c->topic);
	put_str(b, c->encoding);
	put_kv_map(b, c->metadata, c->n_metadata);
	end_record(b, at);
}

int fs_mcap_writer_write(struct fs_mcap_writer *w, uint16_t channel_id, uint32_t sequence, uint64_t log_time,
			 uint64_t publish_time, const void *data, size_t size)
{
	if (w->failed) {
		return w->failed;
	}
	if (channel_id >= w->n_channels) {
		return -EINVAL;
	}
	struct wchannel *c = &w->channels[channel_id];
	struct buf *b = &w->chunk;
	/*
	 * A large message (a 100,000-vehicle batch is 3.6 MB) gets a chunk of its
	 * own, written straight from the caller's buffer: one copy less.
	 */
	bool direct = w->compression == FS_MCAP_COMPRESSION_NONE && size >= w->chunk_bytes / 2;
	if (direct && w->chunk_messages) {
		int rc = fs_mcap_writer_flush(w);
		if (rc < 0) {
			return rc;
		}
	}
	if (!c->written) {
		if (c->schema_id && !w->schemas[c->schema_id - 1].written) {
			put_schema(b, c->schema_id, &w->schemas[c->schema_id - 1]);
			w->schemas[c->schema_id - 1].written = true;
		}
		put_channel(b, channel_id, c);
		c->written = true;
	}
	if (c->n_idx == 0) {
		if (FS_GROW(w->chunk_channels, w->cap_chunk_channels, w->n_chunk_channels + 1) < 0) {
			return -ENOMEM;
		}
		w->chunk_channels[w->n_chunk_channels++] = channel_id;
	}
	if (FS_GROW(c->idx, c->cap_idx, c->n_idx + 1) < 0) {
		return -ENOMEM;
	}
	c->idx[c->n_idx++] = (struct index_entry){ log_time, b->len };
	size_t at = begin_record(b, FS_MCAP_OP_MESSAGE);
	put_u16(b, channel_id);
	put_u32(b, sequence);
	put_u64(b, log_time);
	put_u64(b, publish_time);
	if (direct) {
		set_u64(b->data + at, 2 + 4 + 8 + 8 + (uint64_t)size); /* the data follows as the chunk's tail */
	} else {
		put(b, data, size);
		end_record(b, at);
	}

	if (w->chunk_messages == 0 || log_time < w->chunk_start) {
		w->chunk_start = log_time;
	}
	if (w->chunk_messages == 0 || log_time > w->chunk_end) {
		w->chunk_end = log_time;
	}
	w->chunk_messages++;
	c->count++;
	if (w->stats.message_count == 0 || log_time < w->stats.message_start_time) {
		w->stats.message_start_time = log_time;
	}
	if (w->stats.message_count == 0 || log_time > w->stats.message_end_time) {
		w->stats.message_end_time = log_time;
	}
	w->stats.message_count++;
	if (direct) {
		w->tail = data;
		w->tail_size = size;
		int rc = fs_mcap_writer_flush(w);
		w->tail = NULL;
		w->tail_size = 0;
		return rc;
	}
	if (b->len >= w->chunk_bytes) {
		return fs_mcap_writer_flush(w);
	}
	return 0;
}

/* Stable sort by log time; entries are nearly always in order already. */
static void sort_index(struct index_entry *e, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (e[i].log_time >= e[i - 1].log_time) {
			continue;
		}
		struct index_entry x = e[i];
		size_t j = i;
		while (j > 0 && e[j - 1].log_time > x.log_time) {
			e[j] = e[j - 1];
			j--;
		}
		e[j] = x;
	}
}

static int compress_chunk(struct fs_mcap_writer *w, const uint8_t **ret, size_t *ret_size)
{
#ifdef FS_MCAP_ZSTD
	if (w->compression == FS_MCAP_COMPRESSION_ZSTD) {
		size_t bound = ZSTD_compressBound(w->chunk.len);
		w->compressed.len = 0;
		buf_reserve(&w->compressed, bound);
		size_t n = ZSTD_compress(w->compressed.data, bound, w->chunk.data, w->chunk.len, w->zstd_level);
		if (ZSTD_isError(n)) {
			fs_error("zstd: %s", ZSTD_getErrorName(n));
			return -EIO;
		}
		*ret = w->compressed.data;
		*ret_size = n;
		return 0;
	}
#endif
	*ret = w->chunk.data;
	*ret_size = w->chunk.len;
	return 0;
}

int fs_mcap_writer_flush(struct fs_mcap_writer *w)
{
	if (w->failed) {
		return w->failed;
	}
	if (w->chunk_messages == 0) {
		return 0; /* Schema/Channel records wait for a message; chunk stays open */
	}
	const uint8_t *records;
	size_t records_size;
	int rc = compress_chunk(w, &records, &records_size);
	if (rc < 0) {
		return rc;
	}
	struct buf *b = &w->scratch;
	b->len = 0;
	size_t usize = w->chunk.len + w->tail_size; /* a tail only on uncompressed chunks */
	uLong chunk_crc = crc_of(w->chunk.data, w->chunk.len);
	if (w->tail_size) {
		chunk_crc = crc32_combine(chunk_crc, crc_of(w->tail, w->tail_size), (z_off_t)w->tail_size);
		records_size = usize;
	}
	size_t at = begin_record(b, FS_MCAP_OP_CHUNK);
	put_u64(b, w->chunk_start);
	put_u64(b, w->chunk_end);
	put_u64(b, usize);
	put_u32(b, (uint32_t)chunk_crc);
	put_str(b, fs_mcap_compression_name(w->compression));
	put_u64(b, records_size);
	/* The records follow the head; patch the record length to cover them. */
	set_u64(b->data + at, (uint64_t)(b->len - at - 8) + records_size);
	struct chunk_index ci = {
		.start_time = w->chunk_start,
		.end_time = w->chunk_end,
		.offset = w->offset,
		.length = b->len + records_size,
		.compressed_size = records_size,
		.uncompressed_size = usize,
	};
	/*
	 * The data section CRC continues over the records: for an uncompressed
	 * chunk it is combined from the chunk's own CRC instead of a second pass
	 * over megabytes (crc32_combine is O(log n)).
	 */
	bool combine = records == w->chunk.data;
	if ((rc = write_all(w, b->data, b->len, true)) < 0 ||
	    (rc = write_all(w, records, records_size - w->tail_size, !combine)) < 0 ||
	    (w->tail_size && (rc = write_all(w, w->tail, w->tail_size, false)) < 0)) {
		return rc;
	}
	if (combine) {
		w->data_crc = crc32_combine(w->data_crc, chunk_crc, (z_off_t)usize);
	}
	b->len = 0;
	ci.channel_ids = fs_xcalloc(w->n_chunk_channels ? w->n_chunk_channels : 1, sizeof(uint16_t));
	ci.index_offsets = fs_xcalloc(w->n_chunk_channels ? w->n_chunk_channels : 1, sizeof(uint64_t));
	ci.n = w->n_chunk_channels;
	for (size_t i = 0; i < w->n_chunk_channels; i++) {
		uint16_t id = w->chunk_channels[i];
		struct wchannel *c = &w->channels[id];
		sort_index(c->idx, c->n_idx);
		ci.channel_ids[i] = id;
		ci.index_offsets[i] = w->offset + b->len;
		size_t mat = begin_record(b, FS_MCAP_OP_MESSAGE_INDEX);
		put_u16(b, id);
		size_t aat = begin_prefixed32(b);
		for (size_t k = 0; k < c->n_idx; k++) {
			put_u64(b, c->idx[k].log_time);
			put_u64(b, c->idx[k].offset);
		}
		end_prefixed32(b, aat);
		end_record(b, mat);
		c->n_idx = 0;
	}
	ci.index_length = b->len;
	rc = write_all(w, b->data, b->len, true);
	b->len = 0;
	if (rc < 0) {
		free(ci.channel_ids);
		free(ci.index_offsets);
		return rc;
	}
	if (FS_GROW(w->chunks, w->cap_chunks, w->n_chunks + 1) < 0) {
		return -ENOMEM;
	}
	w->chunks[w->n_chunks++] = ci;
	w->stats.chunk_count = (uint32_t)w->n_chunks;
	w->chunk.len = 0;
	w->chunk_messages = 0;
	w->n_chunk_channels = 0;
	/* A huge message grew the buffer: give the memory back. */
	if (w->chunk.cap > 4 * w->chunk_bytes) {
		free(w->chunk.data);
		w->chunk = (struct buf){ 0 };
	}
	return 0;
}

size_t fs_mcap_writer_pending(const struct fs_mcap_writer *w)
{
	return w->chunk_messages ? w->chunk.len : 0;
}

const struct fs_mcap_stats *fs_mcap_writer_stats(const struct fs_mcap_writer *w)
{
	return &w->stats;
}

static int add_named(struct named_offset **list, size_t *n, size_t *cap, const char *name, const char *media_type,
		     uint64_t offset, uint64_t length, uint64_t log_time, uint64_t data_size)
{
	if (FS_GROW(*list, *cap, *n + 1) < 0) {
		return -ENOMEM;
	}
	(*list)[*n] = (struct named_offset){ fs_xstrdup(name), media_type ? fs_xstrdup(media_type) : NULL, offset, length,
				       log_time, data_size };
	(*n)++;
	return 0;
}

/* Ends the record begun at @at in the scratch buffer and writes the buffer; the record's length for its index. */
static int write_indexed(struct fs_mcap_writer *w, size_t at, uint64_t *ret_length)
{
	struct buf *b = &w->scratch;
	uint64_t length = end_record(b, at);
	int rc = write_all(w, b->data, b->len, true);
	b->len = 0;
	if (rc == 0) {
		*ret_length = length;
	}
	return rc;
}

int fs_mcap_writer_add_metadata(struct fs_mcap_writer *w, const char *name, const struct fs_mcap_kv *kv, size_t n)
{
	struct buf *b = &w->scratch;
	b->len = 0;
	size_t at = begin_record(b, FS_MCAP_OP_METADATA);
	put_str(b, name);
	put_kv_map(b, kv, n);
	uint64_t offset = w->offset, length = 0;
	int rc = write_indexed(w, at, &length);
	if (rc < 0) {
		return rc;
	}
	w->stats.metadata_count++;
	return add_named(&w->metadata, &w->n_metadata, &w->cap_metadata, name, NULL, offset, length, 0, 0);
}

int fs_mcap_writer_add_attachment(struct fs_mcap_writer *w, const char *name, const char *media_type,
				  uint64_t log_time, const void *data, size_t size)
{
	struct buf *b = &w->scratch;
	b->len = 0;
	size_t at = begin_record(b, FS_MCAP_OP_ATTACHMENT);
	put_u64(b, log_time);
	put_u64(b, log_time); /* create_time */
	put_str(b, name);
	put_str(b, media_type);
	put_u64(b, size);
	put(b, data, size);
	/* The CRC covers every field before it. */
	uint32_t crc = crc_of(b->data + at + 8, b->len - at - 8);
	put_u32(b, crc);
	uint64_t offset = w->offset, length = 0;
	int rc = write_indexed(w, at, &length);
	if (rc < 0) {
		return rc;
	}
	w->stats.attachment_count++;
	return add_named(&w->attachments, &w->n_attachments, &w->cap_attachments, name, media_type, offset, length, log_time, size);
}

static void free_writer(struct fs_mcap_writer *w)
{
	for (size_t i = 0; i < w->n_schemas; i++) {
		free(w->schemas[i].name);
		free(w->schemas[i].encoding);
		free(w->schemas[i].data);
	}
	free(w->schemas);
	for (size_t i = 0; i < w->n_channels; i++) {
		struct wchannel *c = &w->channels[i];
		free(c->topic);
		free(c->encoding);
		for (size_t k = 0; k < c->n_metadata; k++) {
			free((char *)c->metadata[k].key);
			free((char *)c->metadata[k].value);
		}
		free(c->metadata);
		free(c->idx);
	}
	free(w->channels);
	for (size_t i = 0; i < w->n_chunks; i++) {
		free(w->chunks[i].channel_ids);
		free(w->chunks[i].index_offsets);
	}
	free(w->chunks);
	for (size_t i = 0; i < w->n_metadata; i++) {
		free(w->metadata[i].name);
	}
	free(w->metadata);
	for (size_t i = 0; i < w->n_attachments; i++) {
		free(w->attachments[i].name);
		free(w->attachments[i].media_type);
	}
	free(w->attachments);
	free(w->chunk_channels);
	free(w->chunk.data);
	free(w->scratch.data);
	free(w->compressed.data);
	free(w);
}

void fs_mcap_writer_abandon(struct fs_mcap_writer *w)
{
	if (!w) {
		return;
	}
	close(w->fd);
	free_writer(w);
}

struct group {
	uint8_t opcode;
	uint64_t start, length;
};

/* The summary section as it is built in memory: its records in b, one group per record kind. */
struct summary {
	struct buf *b;
	uint64_t start;     /* the section's offset in the file: b's offsets count from it */
	size_t group_start; /* where in b the group being written began */
	struct group groups[6];
	int n_groups;
};

/* Closes the group of @opcode records written since the last one; an empty group gets no Summary Offset. */
static void summary_group_end(struct summary *s, uint8_t opcode)
{
	if (s->b->len > s->group_start) {
		s->groups[s->n_groups++] =
			(struct group){ opcode, s->start + s->group_start, s->b->len - s->group_start };
	}
	s->group_start = s->b->len;
}

static void put_statistics(struct buf *b, const struct fs_mcap_writer *w)
{
	size_t at = begin_record(b, FS_MCAP_OP_STATISTICS);
	put_u64(b, w->stats.message_count);
	put_u16(b, (uint16_t)w->n_schemas);
	put_u32(b, (uint32_t)w->n_channels);
	put_u32(b, w->stats.attachment_count);
	put_u32(b, w->stats.metadata_count);
	put_u32(b, (uint32_t)w->n_chunks);
	put_u64(b, w->stats.message_start_time);
	put_u64(b, w->stats.message_end_time);
	size_t mat = begin_prefixed32(b);
	for (size_t i = 0; i < w->n_channels; i++) {
		if (w->channels[i].count) {
			put_u16(b, (uint16_t)i);
			put_u64(b, w->channels[i].count);
		}
	}
	end_prefixed32(b, mat);
	end_record(b, at);
}

static void put_metadata_indexes(struct buf *b, const struct fs_mcap_writer *w)
{
	for (size_t i = 0; i < w->n_metadata; i++) {
		size_t at = begin_record(b, FS_MCAP_OP_METADATA_INDEX);
		put_u64(b, w->metadata[i].offset);
		put_u64(b, w->metadata[i].length);
		put_str(b, w->metadata[i].name);
		end_record(b, at);
	}
}

static void put_attachment_indexes(struct buf *b, const struct fs_mcap_writer *w)
{
	for (size_t i = 0; i < w->n_attachments; i++) {
		const struct named_offset *a = &w->attachments[i];
		size_t at = begin_record(b, FS_MCAP_OP_ATTACHMENT_INDEX);
		put_u64(b, a->offset);
		put_u64(b, a->length);
		put_u64(b, a->log_time);
		put_u64(b, a->log_time);
		put_u64(b, a->data_size);
		put_str(b, a->name);
		put_str(b, a->media_type);
		end_record(b, at);
	}
}

static void put_chunk_indexes(struct buf *b, const struct fs_mcap_writer *w)
{
	for (size_t i = 0; i < w->n_chunks; i++) {
		const struct chunk_index *ci = &w->chunks[i];
		size_t at = begin_record(b, FS_MCAP_OP_CHUNK_INDEX);
		put_u64(b, ci->start_time);
		put_u64(b, ci->end_time);
		put_u64(b, ci->offset);
		put_u64(b, ci->length);
		size_t mat = begin_prefixed32(b);
		for (size_t k = 0; k < ci->n; k++) {
			put_u16(b, ci->channel_ids[k]);
			put_u64(b, ci->index_offsets[k]);
		}
		end_prefixed32(b, mat);
		put_u64(b, ci->index_length);
		put_str(b, fs_mcap_compression_name(w->compression));
		put_u64(b, ci->compressed_size);
		put_u64(b, ci->uncompressed_size);
		end_record(b, at);
	}
}

int fs_mcap_writer_close(struct fs_mcap_writer *w)
{
	int rc = fs_mcap_writer_flush(w);
	if (rc < 0) {
		fs_mcap_writer_abandon(w);
		return rc;
	}
	struct buf *b = &w->scratch;
	b->len = 0;
	size_t at = begin_record(b, FS_MCAP_OP_DATA_END);
	put_u32(b, (uint32_t)w->data_crc);
	end_record(b, at);
	if ((rc = write_all(w, b->data, b->len, false)) < 0) {
		fs_mcap_writer_abandon(w);
		return rc;
	}
	b->len = 0;

	/* Summary: built in memory, offsets relative to summary_start. */
	uint64_t summary_start = w->offset;
	struct summary sum = { .b = b, .start = summary_start };
	for (size_t i = 0; i < w->n_schemas; i++) {
		put_schema(b, (uint16_t)(i + 1), &w->schemas[i]);
	}
	summary_group_end(&sum, FS_MCAP_OP_SCHEMA);
	for (size_t i = 0; i < w->n_channels; i++) {
		put_channel(b, (uint16_t)i, &w->channels[i]);
	}
	summary_group_end(&sum, FS_MCAP_OP_CHANNEL);
	put_statistics(b, w);
	summary_group_end(&sum, FS_MCAP_OP_STATISTICS);
	put_metadata_indexes(b, w);
	summary_group_end(&sum, FS_MCAP_OP_METADATA_INDEX);
	put_attachment_indexes(b, w);
	summary_group_end(&sum, FS_MCAP_OP_ATTACHMENT_INDEX);
	put_chunk_indexes(b, w);
	summary_group_end(&sum, FS_MCAP_OP_CHUNK_INDEX);
	uint64_t summary_offset_start = summary_start + b->len;
	for (int i = 0; i < sum.n_groups; i++) {
		at = begin_record(b, FS_MCAP_OP_SUMMARY_OFFSET);
		put_u8(b, sum.groups[i].opcode);
		put_u64(b, sum.groups[i].start);
		put_u64(b, sum.groups[i].length);
		end_record(b, at);
	}
	at = begin_record(b, FS_MCAP_OP_FOOTER);
	put_u64(b, summary_start);
	put_u64(b, summary_offset_start);
	put_u32(b, 0);
	end_record(b, at);
	/* The summary CRC runs from summary_start through summary_offset_start of the footer. */
	set_u32(b->data + b->len - 4, crc_of(b->data, b->len - 4));
	put(b, MAGIC, sizeof(MAGIC));
	rc = write_all(w, b->data, b->len, false);
	b->len = 0;
	if (close(w->fd) < 0 && rc == 0) {
		rc = -errno;
	}
	free_writer(w);
	return rc;
}

/* ----------------------------------------------------------------- reader */

struct rchunk {
	const uint8_t *records;   /* uncompressed records of the chunk being walked */
	size_t size, pos;
	uint64_t offset;          /* of the Chunk record in the file */
	uint64_t number;          /* 1 for the file's first chunk: named in errors */
	uint8_t *owned;           /* decompressed copy, if compressed */
	bool active;
};

struct fs_mcap_reader {
	int fd;
	const uint8_t *map;
	size_t size;
	char *path;
	char *profile, *library;
	uint64_t data_start;      /* first record after the header */
	uint64_t pos;             /* next record of the data section */
	bool done, truncated;
	uint64_t valid_bytes;
	bool has_summary;
	bool have_stats;
	struct fs_mcap_stats stats;
	struct fs_mcap_schema *schemas;
	size_t n_schemas, cap_schemas;
	struct fs_mcap_channel *channels; /* sorted by id */
	size_t n_channels, cap_channels;
	struct fs_mcap_metadata *metadata;
	size_t n_metadata, cap_metadata;
	struct fs_mcap_attachment *attachments;
	size_t n_attachments, cap_attachments;
	uint64_t last_metadata_offset, last_attachment_offset; /* dedupe on rewind */
	struct rchunk chunk;
	bool counting;            /* fill channel message counts while walking */
};

/* Bounds-checked little-endian cursor. */
struct cur {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static uint64_t get_n(struct cur *c, int n)
{
	if (c->bad || c->left < (size_t)n) {
		c->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (int i = 0; i < n; i++) {
		v |= (uint64_t)c->p[i] << (8 * i);
	}
	c->p += n;
	c->left -= (size_t)n;
	return v;
}

static const uint8_t *get_bytes(struct cur *c, uint64_t n)
{
	if (c->bad || c->left < n) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *p = c->p;
	c->p += n;
	c->left -= (size_t)n;
	return p;
}

static char *get_str(struct cur *c)
{
	uint32_t n = (uint32_t)get_n(c, 4);
	const uint8_t *p = get_bytes(c, n);
	if (!p) {
		return NULL;
	}
	char *s = malloc((size_t)n + 1);
	if (!s) {
		fs_error("out of memory");
		abort();
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int get_kv_map(struct cur *c, struct fs_mcap_kv **ret, size_t *ret_n)
{
	uint32_t bytes = (uint32_t)get_n(c, 4);
	const uint8_t *p = get_bytes(c, bytes);
	if (!p) {
		return -EBADMSG;
	}
	struct cur m = { p, bytes, false };
	struct fs_mcap_kv *kv = NULL;
	size_t n = 0, cap = 0;
	while (m.left && !m.bad) {
		char *k = get_str(&m);
		char *v = get_str(&m);
		if (!k || !v) {
			free(k);
			free(v);
			break;
		}
		fs_xgrow(kv, cap, n + 1);
		kv[n++] = (struct fs_mcap_kv){ k, v };
	}
	*ret = kv;
	*ret_n = n;
	return m.bad ? -EBADMSG : 0;
}

static void free_kv(struct fs_mcap_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)kv[i].key);
		free((char *)kv[i].value);
	}
	free(kv);
}

static int cmp_channel_id(const void *key, const void *item)
{
	uint16_t a = *(const uint16_t *)key, b = ((const struct fs_mcap_channel *)item)->id;
	return (a > b) - (a < b);
}

/* Channels are kept ordered by id, each id once (parse_channel). */
static struct fs_mcap_channel *find_channel(const struct fs_mcap_reader *r, uint16_t id)
{
	return r->n_channels ? bsearch(&id, r->channels, r->n_channels, sizeof(*r->channels), cmp_channel_id) : NULL;
}

const struct fs_mcap_schema *fs_mcap_reader_schema(const struct fs_mcap_reader *r, uint16_t id)
{
	for (size_t i = 0; i < r->n_schemas; i++) {
		if (r->schemas[i].id == id) {
			return &r->schemas[i];
		}
	}
	return NULL;
}

static int parse_schema(struct fs_mcap_reader *r, struct cur *c)
{
	uint16_t id = (uint16_t)get_n(c, 2);
	char *name = get_str(c);
	char *enc = get_str(c);
	uint32_t n = (uint32_t)get_n(c, 4);
	const uint8_t *data = get_bytes(c, n);
	if (c->bad || !name || !enc) {
		free(name);
		free(enc);
		return -EBADMSG;
	}
	if (fs_mcap_reader_schema(r, id)) {
		free(name);
		free(enc);
		return 0;
	}
	fs_xgrow(r->schemas, r->cap_schemas, r->n_schemas + 1);
	r->schemas[r->n_schemas++] = (struct fs_mcap_schema){ id, name, enc, data, n };
	return 0;
}

static int parse_channel(struct fs_mcap_reader *r, struct cur *c)
{
	struct fs_mcap_channel ch = { 0 };
	ch.id = (uint16_t)get_n(c, 2);
	ch.schema_id = (uint16_t)get_n(c, 2);
	ch.topic = get_str(c);
	ch.message_encoding = get_str(c);
	int rc = c->bad ? -EBADMSG : get_kv_map(c, &ch.metadata, &ch.n_metadata);
	if (rc < 0 || !ch.topic || !ch.message_encoding) {
		free(ch.topic);
		free(ch.message_encoding);
		free_kv(ch.metadata, ch.n_metadata);
		return -EBADMSG;
	}
	if (find_channel(r, ch.id)) {
		free(ch.topic);
		free(ch.message_encoding);
		free_kv(ch.metadata, ch.n_metadata);
		return 0;
	}
	fs_xgrow(r->channels, r->cap_channels, r->n_channels + 1);
	size_t i = r->n_channels;
	while (i > 0 && r->channels[i - 1].id > ch.id) {
		r->channels[i] = r->channels[i - 1];
		i--;
	}
	r->channels[i] = ch;
	r->n_channels++;
	return 0;
}

static int parse_metadata(struct fs_mcap_reader *r, struct cur *c, uint64_t offset)
{
	if (offset <= r->last_metadata_offset && r->n_metadata) {
		return 0; /* seen before a rewind */
	}
	struct fs_mcap_metadata m = { 0 };
	m.name = get_str(c);
	if (!m.name || get_kv_map(c, &m.kv, &m.n) < 0) {
		free(m.name);
		free_kv(m.kv, m.n);
		return -EBADMSG;
	}
	fs_xgrow(r->metadata, r->cap_metadata, r->n_metadata + 1);
	r->metadata[r->n_metadata++] = m;
	r->last_metadata_offset = offset;
	return 0;
}

static int parse_attachment(struct fs_mcap_reader *r, struct cur *c, uint64_t offset)
{
	if (offset <= r->last_attachment_offset && r->n_attachments) {
		return 0;
	}
	const uint8_t *start = c->p;
	struct fs_mcap_attachment a = { 0 };
	a.log_time = get_n(c, 8);
	get_n(c, 8);
	a.name = get_str(c);
	a.media_type = get_str(c);
	a.size = get_n(c, 8);
	a.data = get_bytes(c, a.size);
	size_t covered = (size_t)(c->p - start);
	uint32_t crc = (uint32_t)get_n(c, 4);
	if (c->bad || !a.name || !a.media_type || (crc && crc != crc_of(start, covered))) {
		free(a.name);
		free(a.media_type);
		return -EBADMSG;
	}
	fs_xgrow(r->attachments, r->cap_attachments, r->n_attachments + 1);
	r->attachments[r->n_attachments++] = a;
	r->last_attachment_offset = offset;
	return 0;
}

static void parse_statistics(struct fs_mcap_reader *r, struct cur *c)
{
	struct fs_mcap_stats s = { 0 };
	s.message_count = get_n(c, 8);
	s.schema_count = (uint16_t)get_n(c, 2);
	s.channel_count = (uint32_t)get_n(c, 4);
	s.attachment_count = (uint32_t)get_n(c, 4);
	s.metadata_count = (uint32_t)get_n(c, 4);
	s.chunk_count = (uint32_t)get_n(c, 4);
	s.message_start_time = get_n(c, 8);
	s.message_end_time = get_n(c, 8);
	uint32_t bytes = (uint32_t)get_n(c, 4);
	const uint8_t *p = get_bytes(c, bytes);
	if (c->bad) {
		return;
	}
	struct cur m = { p, bytes, false };
	while (m.left >= 10) {
		uint16_t id = (uint16_t)get_n(&m, 2);
		uint64_t n = get_n(&m, 8);
		struct fs_mcap_channel *ch = find_channel(r, id);
		if (ch) {
			ch->message_count = n;
		}
	}
	s.bytes = r->size;
	r->stats = s;
	r->have_stats = true;
}

/* Read the footer and, if its CRC holds, the summary's schemas, channels, statistics. */
static void read_summary(struct fs_mcap_reader *r)
{
	if (r->size < sizeof(MAGIC) * 2 + FOOTER_RECORD_BYTES ||
	    memcmp(r->map + r->size - sizeof(MAGIC), MAGIC, sizeof(MAGIC))) {
		return;
	}
	const uint8_t *f = r->map + r->size - sizeof(MAGIC) - FOOTER_RECORD_BYTES;
	struct cur c = { f, FOOTER_RECORD_BYTES, false };
	if (get_n(&c, 1) != FS_MCAP_OP_FOOTER || get_n(&c, 8) != 20) {
		return;
	}
	uint64_t summary_start = get_n(&c, 8);
	get_n(&c, 8);
	uint32_t crc = (uint32_t)get_n(&c, 4);
	uint64_t footer_at = (uint64_t)(f - r->map);
	if (summary_start == 0 || summary_start < r->data_start || summary_start > footer_at) {
		return;
	}
	if (crc && crc != crc_of(r->map + summary_start, footer_at + 25 - summary_start)) {
		return;
	}
	struct cur s = { r->map + summary_start, footer_at - summary_start, false };
	struct cur stats_rec = { 0 };
	bool have_stats = false;
	while (s.left && !s.bad) {
		uint8_t op = (uint8_t)get_n(&s, 1);
		uint64_t len = get_n(&s, 8);
		const uint8_t *p = get_bytes(&s, len);
		if (!p) {
			return;
		}
		struct cur rc = { p, len, false };
		if (op == FS_MCAP_OP_SCHEMA) {
			parse_schema(r, &rc);
		} else if (op == FS_MCAP_OP_CHANNEL) {
			parse_channel(r, &rc);
		} else if (op == FS_MCAP_OP_STATISTICS) {
			stats_rec = rc;
			have_stats = true;
		} else if (op == FS_MCAP_OP_METADATA_INDEX || op == FS_MCAP_OP_ATTACHMENT_INDEX) {
			/* Read the record it points at now: info and replay need it without a walk. */
			uint64_t at = get_n(&rc, 8), length = get_n(&rc, 8);
			if (rc.bad || at < r->data_start || at > summary_start || length < 9 || length > summary_start - at) {
				continue;
			}
			struct cur rec = { r->map + at + 9, length - 9, false };
			if (r->map[at] == FS_MCAP_OP_METADATA && op == FS_MCAP_OP_METADATA_INDEX) {
				parse_metadata(r, &rec, at);
			} else if (r->map[at] == FS_MCAP_OP_ATTACHMENT && op == FS_MCAP_OP_ATTACHMENT_INDEX) {
				parse_attachment(r, &rec, at);
			}
		}
	}
	r->has_summary = true;
	if (have_stats) {
		parse_statistics(r, &stats_rec); /* after the channels: it fills their counts */
	}
}

struct fs_mcap_reader *fs_mcap_reader_open(const char *path, struct fs_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fs_error_set(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		fs_error_set(err, -errno, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	size_t size = (size_t)st.st_size;
	if (size < sizeof(MAGIC) || size < 8 + 9) {
		fs_error_set(err, -EBADMSG, "%s: not an MCAP file (%zu bytes)", path, size);
		close(fd);
		return NULL;
	}
	const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		fs_error_set(err, -errno, "%s: cannot map: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	madvise((void *)map, size, MADV_SEQUENTIAL);
	if (memcmp(map, MAGIC, sizeof(MAGIC))) {
		fs_error_set(err, -EBADMSG, "%s: not an MCAP file (bad magic)", path);
		munmap((void *)map, size);
		close(fd);
		return NULL;
	}
	struct fs_mcap_reader *r = fs_xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->map = map;
	r->size = size;
	r->path = fs_xstrdup(path);
	struct cur c = { map + 8, size - 8, false };
	uint8_t op = (uint8_t)get_n(&c, 1);
	uint64_t len = get_n(&c, 8);
	const uint8_t *h = get_bytes(&c, len);
	if (op != FS_MCAP_OP_HEADER || !h) {
		fs_error_set(err, -EBADMSG, "%s: no MCAP header record", path);
		fs_mcap_reader_close(r);
		return NULL;
	}
	struct cur hc = { h, len, false };
	r->profile = get_str(&hc);
	r->library = get_str(&hc);
	if (!r->profile || !r->library) {
		fs_error_set(err, -EBADMSG, "%s: bad MCAP header record", path);
		fs_mcap_reader_close(r);
		return NULL;
	}
	r->data_start = 8 + 9 + len;
	r->pos = r->data_start;
	r->valid_bytes = r->data_start;
	read_summary(r);
	return r;
}

void fs_mcap_reader_close(struct fs_mcap_reader *r)
{
	if (!r) {
		return;
	}
	for (size_t i = 0; i < r->n_schemas; i++) {
		free(r->schemas[i].name);
		free(r->schemas[i].encoding);
	}
	free(r->schemas);
	for (size_t i = 0; i < r->n_channels; i++) {
		free(r->channels[i].topic);
		free(r->channels[i].message_encoding);
		free_kv(r->channels[i].metadata, r->channels[i].n_metadata);
	}
	free(r->channels);
	for (size_t i = 0; i < r->n_metadata; i++) {
		free(r->metadata[i].name);
		free_kv(r->metadata[i].kv, r->metadata[i].n);
	}
	free(r->metadata);
	for (size_t i = 0; i < r->n_attachments; i++) {
		free(r->attachments[i].name);
		free(r->attachments[i].media_type);
	}
	free(r->attachments);
	free(r->chunk.owned);
	free(r->profile);
	free(r->library);
	free(r->path);
	munmap((void *)r->map, r->size);
	close(r->fd);
	free(r);
}

void fs_mcap_reader_rewind(struct fs_mcap_reader *r)
{
	r->pos = r->data_start;
	r->done = false;
	r->chunk.active = false;
	r->chunk.number = 0;
}

static int corrupt(struct fs_mcap_reader *r, struct fs_error *err, uint64_t offset, const char *what)
{
	r->done = true;
	return fs_error_set(err, -EBADMSG, "%s: byte %" PRIu64 ": %s", r->path, offset, what);
}

/* A damaged chunk, named by its number and offset (the chunk being opened or walked). */
static int corrupt_chunk(struct fs_mcap_reader *r, struct fs_error *err, uint64_t offset, const char *what)
{
	r->done = true;
	return fs_error_set(err, -EBADMSG, "%s: chunk %" PRIu64 " (byte %" PRIu64 "): %s", r->path, r->chunk.number,
			    offset, what);
}

/*
 * A record running past the end of the file: the file was cut there (a
 * killed recorder), unless the file ends with the closing magic, i.e. it was
 * written whole and a length inside it is wrong.
 */
static int overrun(struct fs_mcap_reader *r, struct fs_error *err, uint64_t offset)
{
	if (r->size >= 2 * sizeof(MAGIC) && !memcmp(r->map + r->size - sizeof(MAGIC), MAGIC, sizeof(MAGIC))) {
		return corrupt(r, err, offset, "a record runs past the end of a file that was written whole (damaged)");
	}
	r->truncated = true;
	r->done = true;
	return 0;
}

static int open_chunk(struct fs_mcap_reader *r, struct cur *c, uint64_t offset, struct fs_error *err)
{
	r->chunk.number++;
	get_n(c, 8);
	get_n(c, 8);
	uint64_t usize = get_n(c, 8);
	uint32_t crc = (uint32_t)get_n(c, 4);
	char *compression = get_str(c);
	uint64_t rsize = get_n(c, 8);
	const uint8_t *records = get_bytes(c, rsize);
	if (c->bad || !compression) {
		free(compression);
		return corrupt_chunk(r, err, offset, "bad chunk record");
	}
	free(r->chunk.owned);
	r->chunk.owned = NULL;
	if (!*compression) {
		if (usize != rsize) {
			free(compression);
			return corrupt_chunk(r, err, offset, "chunk sizes disagree");
		}
		r->chunk.records = records;
	}
#ifdef FS_MCAP_ZSTD
	else if (!strcmp(compression, "zstd")) {
		if (usize > ((uint64_t)1 << 34)) {
			free(compression);
			return corrupt_chunk(r, err, offset, "chunk too large");
		}
		r->chunk.owned = malloc(usize ? usize : 1);
		if (!r->chunk.owned) {
			free(compression);
			return corrupt_chunk(r, err, offset, "out of memory for a chunk");
		}
		size_t n = ZSTD_decompress(r->chunk.owned, usize, records, rsize);
		if (ZSTD_isError(n) || n != usize) {
			free(compression);
			return corrupt_chunk(r, err, offset, "zstd chunk does not decompress");
		}
		r->chunk.records = r->chunk.owned;
	}
#endif
	else {
		char what[96];
		snprintf(what, sizeof(what), "chunk compression '%.32s' is not supported by this build", compression);
		free(compression);
		return corrupt_chunk(r, err, offset, what);
	}
	free(compression);
	if (crc && crc != crc_of(r->chunk.records, usize)) {
		return corrupt_chunk(r, err, offset, "chunk CRC mismatch");
	}
	r->chunk.size = usize;
	r->chunk.pos = 0;
	r->chunk.offset = offset;
	r->chunk.active = true;
	return 0;
}

/* A Message record's content into *ret. */
static int fill_message(struct fs_mcap_reader *r, struct cur *c, uint64_t offset, struct fs_mcap_message *ret,
			struct fs_error *err)
{
	uint16_t id = (uint16_t)get_n(c, 2);
	ret->sequence = (uint32_t)get_n(c, 4);
	ret->log_time = get_n(c, 8);
	ret->publish_time = get_n(c, 8);
	if (c->bad) {
		return (r->chunk.active ? corrupt_chunk : corrupt)(r, err, offset, "bad message record");
	}
	ret->channel = find_channel(r, id);
	if (!ret->channel) {
		return (r->chunk.active ? corrupt_chunk : corrupt)(r, err, offset,
								  "message on a channel that was never defined");
	}
	ret->data = c->p;
	ret->size = c->left;
	ret->offset = offset;
	if (r->counting) {
		((struct fs_mcap_channel *)ret->channel)->message_count++;
	}
	return 1;
}

int fs_mcap_reader_next(struct fs_mcap_reader *r, struct fs_mcap_message *ret, struct fs_error *err)
{
	for (;;) {
		if (r->chunk.active) {
			struct cur c = { r->chunk.records + r->chunk.pos, r->chunk.size - r->chunk.pos, false };
			if (!c.left) {
				r->chunk.active = false;
				continue;
			}
			uint8_t op = (uint8_t)get_n(&c, 1);
			uint64_t len = get_n(&c, 8);
			const uint8_t *p = get_bytes(&c, len);
			if (!p) {
				return corrupt_chunk(r, err, r->chunk.offset, "a record overruns its chunk");
			}
			r->chunk.pos += 9 + len;
			struct cur rc = { p, len, false };
			int k = 0;
			if (op == FS_MCAP_OP_MESSAGE) {
				return fill_message(r, &rc, r->chunk.offset, ret, err);
			} else if (op == FS_MCAP_OP_SCHEMA) {
				k = parse_schema(r, &rc);
			} else if (op == FS_MCAP_OP_CHANNEL) {
				k = parse_channel(r, &rc);
			}
			if (k < 0) {
				return corrupt_chunk(r, err, r->chunk.offset, "bad schema or channel record");
			}
			continue;
		}
		if (r->done) {
			return 0;
		}
		uint64_t offset = r->pos;
		if (r->size - offset < 9) {
			/* A complete file ends with DataEnd and the summary; anything else was cut short. */
			return overrun(r, err, offset);
		}
		struct cur c = { r->map + offset, r->size - offset, false };
		uint8_t op = (uint8_t)get_n(&c, 1);
		uint64_t len = get_n(&c, 8);
		const uint8_t *p = get_bytes(&c, len);
		if (!p) {
			return overrun(r, err, offset);
		}
		r->pos = offset + 9 + len;
		struct cur rc = { p, len, false };
		int k = 0;
		switch (op) {
		case FS_MCAP_OP_DATA_END:
		case FS_MCAP_OP_FOOTER:
			r->done = true;
			r->valid_bytes = r->size;
			return 0;
		case FS_MCAP_OP_CHUNK:
			k = open_chunk(r, &rc, offset, err);
			if (k < 0) {
				return k;
			}
			break;
		case FS_MCAP_OP_MESSAGE:
			r->valid_bytes = r->pos;
			return fill_message(r, &rc, offset, ret, err);
		case FS_MCAP_OP_SCHEMA:
			k = parse_schema(r, &rc);
			break;
		case FS_MCAP_OP_CHANNEL:
			k = parse_channel(r, &rc);
			break;
		case FS_MCAP_OP_METADATA:
			k = parse_metadata(r, &rc, offset);
			break;
		case FS_MCAP_OP_ATTACHMENT:
			k = parse_attachment(r, &rc, offset);
			break;
		default:
			break; /* message indexes and unknown records: skipped, as the spec allows */
		}
		if (k < 0) {
			return corrupt(r, err, offset, "bad record");
		}
		r->valid_bytes = r->pos;
	}
}

bool fs_mcap_reader_has_summary(const struct fs_mcap_reader *r)
{
	return r->has_summary;
}

bool fs_mcap_reader_truncated(const struct fs_mcap_reader *r, uint64_t *ret_valid_bytes)
{
	if (ret_valid_bytes) {
		*ret_valid_bytes = r->valid_bytes;
	}
	return r->truncated;
}

int fs_mcap_reader_stats(struct fs_mcap_reader *r, bool rescan, struct fs_mcap_stats *ret, struct fs_error *err)
{
	if (r->have_stats && !rescan) {
		*ret = r->stats;
		return 0;
	}
	struct fs_mcap_stats s = { 0 };
	for (size_t i = 0; i < r->n_channels; i++) {
		r->channels[i].message_count = 0;
	}
	fs_mcap_reader_rewind(r);
	r->counting = true;
	uint64_t last_chunk = UINT64_MAX;
	struct fs_mcap_message m;
	int rc;
	while ((rc = fs_mcap_reader_next(r, &m, err)) == 1) {
		if (s.message_count == 0 || m.log_time < s.message_start_time) {
			s.message_start_time = m.log_time;
		}
		if (s.message_count == 0 || m.log_time > s.message_end_time) {
			s.message_end_time = m.log_time;
		}
		s.message_count++;
		if (r->chunk.active && r->chunk.offset != last_chunk) {
			last_chunk = r->chunk.offset;
			s.chunk_count++;
		}
	}
	r->counting = false;
	fs_mcap_reader_rewind(r);
	if (rc < 0) {
		return rc;
	}
	s.schema_count = (uint16_t)r->n_schemas;
	s.channel_count = (uint32_t)r->n_channels;
	s.metadata_count = (uint32_t)r->n_metadata;
	s.attachment_count = (uint32_t)r->n_attachments;
	s.bytes = r->size;
	r->stats = s;
	r->have_stats = true;
	*ret = s;
	return 0;
}

const char *fs_mcap_reader_profile(const struct fs_mcap_reader *r)
{
	return r->profile;
}

const char *fs_mcap_reader_library(const struct fs_mcap_reader *r)
{
	return r->library;
}

size_t fs_mcap_reader_channel_count(const struct fs_mcap_reader *r)
{
	return r->n_channels;
}

const struct fs_mcap_channel *fs_mcap_reader_channel(const struct fs_mcap_reader *r, size_t index)
{
	return index < r->n_channels ? &r->channels[index] : NULL;
}

size_t fs_mcap_reader_metadata_count(const struct fs_mcap_reader *r)
{
	return r->n_metadata;
}

const struct fs_mcap_metadata *fs_mcap_reader_metadata(const struct fs_mcap_reader *r, size_t index)
{
	return index < r->n_metadata ? &r->metadata[index] : NULL;
}

const char *fs_mcap_reader_metadata_get(const struct fs_mcap_reader *r, const char *name, const char *key)
{
	for (size_t i = 0; i < r->n_metadata; i++) {
		if (strcmp(r->metadata[i].name, name)) {
			continue;
		}
		for (size_t k = 0; k < r->metadata[i].n; k++) {
			if (!strcmp(r->metadata[i].kv[k].key, key)) {
				return r->metadata[i].kv[k].value;
			}
		}
	}
	return NULL;
}

size_t fs_mcap_reader_attachment_count(const struct fs_mcap_reader *r)
{
	return r->n_attachments;
}

const struct fs_mcap_attachment *fs_mcap_reader_attachment(const struct fs_mcap_reader *r, size_t index)
{
	return index < r->n_attachments ? &r->attachments[index] : NULL;
}

/* ---- copying a recording ---- */

void fs_mcap_copy_init(struct fs_mcap_copy *c)
{
	memset(c->schema, -1, sizeof(c->schema));
	memset(c->channel, -1, sizeof(c->channel));
}

int fs_mcap_copy_channel(struct fs_mcap_copy *c, const struct fs_mcap_reader *r, struct fs_mcap_writer *w,
			 const struct fs_mcap_channel *ch)
{
	if (c->channel[ch->id] >= 0) {
		return c->channel[ch->id];
	}
	int sid = 0;
	const struct fs_mcap_schema *s = fs_mcap_reader_schema(r, ch->schema_id);
	if (s) {
		if (c->schema[s->id] < 0) {
			c->schema[s->id] = fs_mcap_writer_add_schema(w, s->name, s->encoding, s->data, s->size);
		}
		sid = c->schema[s->id];
	}
	c->channel[ch->id] = fs_mcap_writer_add_channel(w, (uint16_t)(sid > 0 ? sid : 0), ch->topic,
							 ch->message_encoding, ch->metadata, ch->n_metadata);
	return c->channel[ch->id];
}

void fs_mcap_copy_extras(const struct fs_mcap_reader *r, struct fs_mcap_writer *w)
{
	for (size_t i = 0; i < r->n_metadata; i++) {
		const struct fs_mcap_metadata *md = &r->metadata[i];
		fs_mcap_writer_add_metadata(w, md->name, md->kv, md->n);
	}
	for (size_t i = 0; i < r->n_attachments; i++) {
		const struct fs_mcap_attachment *a = &r->attachments[i];
		fs_mcap_writer_add_attachment(w, a->name, a->media_type, a->log_time, a->data, a->size);
	}
}
