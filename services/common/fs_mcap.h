/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_mcap.h - an MCAP writer and reader (https://mcap.dev/spec), in C.
 *
 * MCAP is the recording format of Foxglove, Lichtblick and rosbag2: records of
 * [opcode u8][length u64][content], little endian. The writer produces what
 * viewers expect of an indexed file:
 *
 *   magic Header
 *   ( Chunk MessageIndex* | Metadata | Attachment )*      data section
 *   DataEnd
 *   Schema* Channel* Statistics MetadataIndex* AttachmentIndex* ChunkIndex*
 *   SummaryOffset*
 *   Footer magic
 *
 * A chunk holds the Schema and Channel records of the channels it is the
 * first to use, then Message records; it is written with its message indexes
 * as soon as it is full (or fs_mcap_writer_flush() is called), so a writer
 * killed mid-run leaves every finished chunk readable. The summary and footer
 * come only with fs_mcap_writer_close().
 *
 * The reader maps the file and walks the data section record by record, so it
 * reads files without summary or footer (a killed writer): it stops at the
 * first incomplete record and says so (fs_mcap_reader_truncated()). Chunks are
 * checked against their CRC. Compression: none, or zstd when built with it.
 */
#ifndef FS_MCAP_H
#define FS_MCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"

enum fs_mcap_opcode {
	FS_MCAP_OP_HEADER = 0x01,
	FS_MCAP_OP_FOOTER = 0x02,
	FS_MCAP_OP_SCHEMA = 0x03,
	FS_MCAP_OP_CHANNEL = 0x04,
	FS_MCAP_OP_MESSAGE = 0x05,
	FS_MCAP_OP_CHUNK = 0x06,
	FS_MCAP_OP_MESSAGE_INDEX = 0x07,
	FS_MCAP_OP_CHUNK_INDEX = 0x08,
	FS_MCAP_OP_ATTACHMENT = 0x09,
	FS_MCAP_OP_ATTACHMENT_INDEX = 0x0A,
	FS_MCAP_OP_STATISTICS = 0x0B,
	FS_MCAP_OP_METADATA = 0x0C,
	FS_MCAP_OP_METADATA_INDEX = 0x0D,
	FS_MCAP_OP_SUMMARY_OFFSET = 0x0E,
	FS_MCAP_OP_DATA_END = 0x0F,
};

enum fs_mcap_compression {
	FS_MCAP_COMPRESSION_NONE = 0,
	FS_MCAP_COMPRESSION_ZSTD,
};

/** String key/value pair of a channel's or a metadata record's map. */
struct fs_mcap_kv {
	const char *key;
	const char *value;
};

struct fs_mcap_writer_options {
	const char *profile;             /* Header.profile; NULL = "" */
	const char *library;             /* Header.library; NULL = "fleetsim" */
	size_t chunk_bytes;              /* close a chunk at this size; 0 = 4 MiB */
	enum fs_mcap_compression compression;
	int zstd_level;                  /* 0 = 3 */
};

struct fs_mcap_stats {
	uint64_t message_count;
	uint64_t message_start_time, message_end_time; /* ns; 0/0 without messages */
	uint32_t chunk_count;
	uint16_t schema_count;
	uint32_t channel_count;
	uint32_t attachment_count;
	uint32_t metadata_count;
	uint64_t bytes;                  /* file size (writer: written so far) */
};

struct fs_mcap_writer;

/** Create (truncate) @path and write magic and Header. NULL and @err filled on failure. */
struct fs_mcap_writer *fs_mcap_writer_open(const char *path, const struct fs_mcap_writer_options *opts,
					   struct fs_error *err);
/** True if this build can write (and read) @c. */
bool fs_mcap_compression_supported(enum fs_mcap_compression c);
/** Register a schema (written into the first chunk that uses it). Returns id >= 1 or -errno. */
int fs_mcap_writer_add_schema(struct fs_mcap_writer *w, const char *name, const char *encoding, const void *data,
			      size_t size);
/** Register a channel on @schema_id (0 = none). Returns its id (>= 0) or -errno. */
int fs_mcap_writer_add_channel(struct fs_mcap_writer *w, uint16_t schema_id, const char *topic,
			       const char *message_encoding, const struct fs_mcap_kv *metadata, size_t n_metadata);
/** Append a message to the open chunk (copies @data). Returns 0 or -errno (I/O error on a chunk write). */
int fs_mcap_writer_write(struct fs_mcap_writer *w, uint16_t channel_id, uint32_t sequence, uint64_t log_time,
			 uint64_t publish_time, const void *data, size_t size);
/** A Metadata record, written at once (outside chunks). Returns 0 or -errno. */
int fs_mcap_writer_add_metadata(struct fs_mcap_writer *w, const char *name, const struct fs_mcap_kv *kv, size_t n);
/** An Attachment record, written at once. Returns 0 or -errno. */
int fs_mcap_writer_add_attachment(struct fs_mcap_writer *w, const char *name, const char *media_type,
				  uint64_t log_time, const void *data, size_t size);
/** Write the open chunk (if any) and its message indexes now. Returns 0 or -errno. */
int fs_mcap_writer_flush(struct fs_mcap_writer *w);
/** Bytes in the open chunk. */
size_t fs_mcap_writer_pending(const struct fs_mcap_writer *w);
const struct fs_mcap_stats *fs_mcap_writer_stats(const struct fs_mcap_writer *w);
/** Flush, write the summary section and footer, close, free. Returns 0 or -errno (freed either way). */
int fs_mcap_writer_close(struct fs_mcap_writer *w);
/** Close the file without summary or footer (what a crash leaves) and free. NULL is a no-op. */
void fs_mcap_writer_abandon(struct fs_mcap_writer *w);

struct fs_mcap_schema {
	uint16_t id;
	char *name;
	char *encoding;
	const uint8_t *data;             /* points into the mapped file */
	size_t size;
};

struct fs_mcap_channel {
	uint16_t id;
	uint16_t schema_id;
	char *topic;
	char *message_encoding;
	struct fs_mcap_kv *metadata;     /* owned strings */
	size_t n_metadata;
	uint64_t message_count;          /* counted by the reader as it goes (or from Statistics) */
};

struct fs_mcap_message {
	const struct fs_mcap_channel *channel;
	uint32_t sequence;
	uint64_t log_time, publish_time;
	const uint8_t *data;             /* valid until the next fs_mcap_reader_next() */
	size_t size;
	uint64_t offset;                 /* of the record (of its chunk, for chunked messages) */
};

struct fs_mcap_metadata {
	char *name;
	struct fs_mcap_kv *kv;
	size_t n;
};

struct fs_mcap_attachment {
	char *name;
	char *media_type;
	uint64_t log_time;
	const uint8_t *data;
	size_t size;
};

struct fs_mcap_reader;

/** Map @path and read its header and, if present, its summary. NULL and @err filled on failure. */
struct fs_mcap_reader *fs_mcap_reader_open(const char *path, struct fs_error *err);
void fs_mcap_reader_close(struct fs_mcap_reader *r);
/**
 * Next message in file order. Returns 1 with *ret filled, 0 at the end of the
 * data (DataEnd, or the first incomplete record of a file cut short: one that
 * does not end with the MCAP magic), -EBADMSG on a corrupt record or chunk, or
 * on a record running past the end of a file that does end with the magic
 * (@err says which and where: "chunk N (byte OFFSET): chunk CRC mismatch").
 */
int fs_mcap_reader_next(struct fs_mcap_reader *r, struct fs_mcap_message *ret, struct fs_error *err);
/** Start again from the first record. */
void fs_mcap_reader_rewind(struct fs_mcap_reader *r);
/** True if the summary section was found and its CRC matched. */
bool fs_mcap_reader_has_summary(const struct fs_mcap_reader *r);
/** True once the walk stopped at an incomplete record; *ret_valid_bytes = where the last whole record ends. */
bool fs_mcap_reader_truncated(const struct fs_mcap_reader *r, uint64_t *ret_valid_bytes);
/**
 * Statistics: from the summary when present (unless @rescan), otherwise by
 * walking the whole file (this also fills every channel's message_count and
 * collects metadata and attachments). Returns 0 or -EBADMSG.
 */
int fs_mcap_reader_stats(struct fs_mcap_reader *r, bool rescan, struct fs_mcap_stats *ret, struct fs_error *err);
const char *fs_mcap_reader_profile(const struct fs_mcap_reader *r);
const char *fs_mcap_reader_library(const struct fs_mcap_reader *r);
/** Channels known so far (all of them after fs_mcap_reader_stats()), ordered by id. */
size_t fs_mcap_reader_channel_count(const struct fs_mcap_reader *r);
const struct fs_mcap_channel *fs_mcap_reader_channel(const struct fs_mcap_reader *r, size_t index);
const struct fs_mcap_schema *fs_mcap_reader_schema(const struct fs_mcap_reader *r, uint16_t id);
/** Metadata and attachments seen so far (all after a full walk or fs_mcap_reader_stats()). */
size_t fs_mcap_reader_metadata_count(const struct fs_mcap_reader *r);
const struct fs_mcap_metadata *fs_mcap_reader_metadata(const struct fs_mcap_reader *r, size_t index);
/** Value of @key in the metadata record named @name, or NULL. */
const char *fs_mcap_reader_metadata_get(const struct fs_mcap_reader *r, const char *name, const char *key);
size_t fs_mcap_reader_attachment_count(const struct fs_mcap_reader *r);
const struct fs_mcap_attachment *fs_mcap_reader_attachment(const struct fs_mcap_reader *r, size_t index);
/** Chunk compression names seen ("" = none), for info output: a static string. */
const char *fs_mcap_compression_name(enum fs_mcap_compression c);

/*
 * Copying a recording (fleetctl recover, the tests' tamper tool): the new
 * file's schema and channel ids are given as the reader first meets them.
 */
struct fs_mcap_copy {
	int schema[65536];  /* reader's schema id -> writer's; -1 = not registered yet */
	int channel[65536]; /* reader's channel id -> writer's */
};

void fs_mcap_copy_init(struct fs_mcap_copy *c);
/**
 * The writer's id of the reader's channel @ch, registering it (and its
 * schema) on first use. Returns the id (>= 0) or -errno.
 */
int fs_mcap_copy_channel(struct fs_mcap_copy *c, const struct fs_mcap_reader *r, struct fs_mcap_writer *w,
			 const struct fs_mcap_channel *ch);
/** Write the metadata and attachments @r has seen into @w. */
void fs_mcap_copy_extras(const struct fs_mcap_reader *r, struct fs_mcap_writer *w);

#endif
