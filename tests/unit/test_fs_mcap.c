/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MCAP writer and reader: round trip with several chunks, summary and
 * indexes; a file cut at every byte reads up to its last whole chunk and never
 * crashes; a corrupted chunk is refused by its CRC; zstd chunks; the
 * envelope header peek of the recorder.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "envelope.pb-c.h"
#include "fs_mcap.h"
#include "rec_envelope.h"

#define N_MESSAGES 610 /* the last ten are small: a writer abandoned then has an open chunk */

static char dir[] = "/tmp/test_fs_mcap.XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/*
 * Message i: channel i % 3, log time 1000 + i (ns), payload of 1..400 bytes
 * derived from i; every 50th is 6-7 KB, more than half a chunk, which the
 * writer puts in a chunk of its own without copying it.
 */
#define MAX_PAYLOAD 8192
static size_t payload(unsigned i, uint8_t *buf)
{
	size_t n = i % 50 == 49 ? 6000 + i : 1 + (i * 37) % 400;
	for (size_t k = 0; k < n; k++) {
		buf[k] = (uint8_t)(i * 7 + k);
	}
	return n;
}

static void write_file(const char *path, enum fs_mcap_compression c, bool close)
{
	struct fs_error err = { "" };
	struct fs_mcap_writer_options o = { .profile = "test", .library = "unit", .chunk_bytes = 8192, .compression = c };
	struct fs_mcap_writer *w = fs_mcap_writer_open(path, &o, &err);
	assert_non_null(w);
	static const uint8_t schema[] = { 1, 2, 3, 4 };
	int sid = fs_mcap_writer_add_schema(w, "test.Schema", "protobuf", schema, sizeof(schema));
	assert_int_equal(sid, 1);
	struct fs_mcap_kv meta[] = { { "payload", "test.Payload" } };
	const char *topics[] = { "veh.state", "ctl.done", "kpi" };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fs_mcap_writer_add_channel(w, (uint16_t)sid, topics[i], "protobuf", meta, 1), i);
	}
	struct fs_mcap_kv run[] = { { "argv", "[\"--seed=1\"]" }, { "cwd", "/x" } };
	assert_int_equal(fs_mcap_writer_add_metadata(w, "fleetsim.run", run, 2), 0);
	assert_int_equal(fs_mcap_writer_add_attachment(w, "scenario.yaml", "application/yaml", 5, "seed: 1\n", 8), 0);
	uint8_t buf[MAX_PAYLOAD];
	for (unsigned i = 0; i < N_MESSAGES; i++) {
		size_t n = payload(i, buf);
		assert_int_equal(fs_mcap_writer_write(w, (uint16_t)(i % 3), i, 1000 + i, 5000 + i, buf, n), 0);
	}
	assert_true(fs_mcap_writer_stats(w)->chunk_count >= 10);
	if (close) {
		assert_int_equal(fs_mcap_writer_close(w), 0);
	} else {
		fs_mcap_writer_abandon(w); /* what a killed writer leaves, minus the open chunk */
	}
}

/* Read every message; check contents; return how many. */
static int read_all(const char *path, int *ret_rc)
{
	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(path, &err);
	if (!r) {
		*ret_rc = -1;
		return -1;
	}
	struct fs_mcap_message m;
	uint8_t buf[MAX_PAYLOAD];
	int n = 0, rc;
	while ((rc = fs_mcap_reader_next(r, &m, &err)) == 1) {
		size_t size = payload((unsigned)n, buf);
		assert_int_equal(m.size, size);
		assert_memory_equal(m.data, buf, size);
		assert_int_equal(m.log_time, 1000u + (unsigned)n);
		assert_int_equal(m.publish_time, 5000u + (unsigned)n);
		assert_int_equal(m.channel->id, n % 3);
		n++;
	}
	*ret_rc = rc;
	fs_mcap_reader_close(r);
	return n;
}

static void round_trip(enum fs_mcap_compression c)
{
	char path[256];
	path_of(path, sizeof(path), c == FS_MCAP_COMPRESSION_ZSTD ? "zstd.mcap" : "plain.mcap");
	write_file(path, c, true);
	int rc;
	assert_int_equal(read_all(path, &rc), N_MESSAGES);
	assert_int_equal(rc, 0);

	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(path, &err);
	assert_non_null(r);
	assert_true(fs_mcap_reader_has_summary(r));
	assert_string_equal(fs_mcap_reader_profile(r), "test");
	assert_string_equal(fs_mcap_reader_library(r), "unit");
	/* Summary: channels, schema, metadata and attachment without walking the data. */
	assert_int_equal(fs_mcap_reader_channel_count(r), 3);
	assert_string_equal(fs_mcap_reader_channel(r, 1)->topic, "ctl.done");
	assert_int_equal(fs_mcap_reader_channel(r, 1)->message_count, N_MESSAGES / 3);
	assert_string_equal(fs_mcap_reader_schema(r, 1)->name, "test.Schema");
	assert_int_equal(fs_mcap_reader_schema(r, 1)->size, 4);
	assert_string_equal(fs_mcap_reader_metadata_get(r, "fleetsim.run", "cwd"), "/x");
	assert_null(fs_mcap_reader_metadata_get(r, "fleetsim.run", "nope"));
	assert_int_equal(fs_mcap_reader_attachment_count(r), 1);
	assert_memory_equal(fs_mcap_reader_attachment(r, 0)->data, "seed: 1\n", 8);
	struct fs_mcap_stats st, scanned;
	assert_int_equal(fs_mcap_reader_stats(r, false, &st, &err), 0);
	assert_int_equal(st.message_count, N_MESSAGES);
	assert_int_equal(st.message_start_time, 1000);
	assert_int_equal(st.message_end_time, 1000 + N_MESSAGES - 1);
	assert_int_equal(fs_mcap_reader_stats(r, true, &scanned, &err), 0);
	assert_int_equal(scanned.message_count, st.message_count);
	assert_int_equal(scanned.chunk_count, st.chunk_count);
	assert_false(fs_mcap_reader_truncated(r, NULL));
	fs_mcap_reader_close(r);
}

static void round_trip_uncompressed(void **state)
{
	round_trip(FS_MCAP_COMPRESSION_NONE);
}

static void round_trip_zstd(void **state)
{
	if (!fs_mcap_compression_supported(FS_MCAP_COMPRESSION_ZSTD)) {
		skip();
	}
	round_trip(FS_MCAP_COMPRESSION_ZSTD);
}

static void write_prefix(const uint8_t *data, long n, const char *to)
{
	FILE *g = fopen(to, "wb");
	assert_non_null(g);
	assert_int_equal(fwrite(data, 1, (size_t)n, g), (size_t)n);
	fclose(g);
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return n;
}

/* Cut a complete file at every byte: never a crash, counts only grow, whole chunks always read. */
static void every_truncation_reads_whole_chunks(void **state)
{
	char path[256], cut[256];
	path_of(path, sizeof(path), "full.mcap");
	path_of(cut, sizeof(cut), "cut.mcap");
	write_file(path, FS_MCAP_COMPRESSION_NONE, true);
	long size = file_size(path);
	uint8_t *data = malloc((size_t)size);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	int last = 0;
	bool opened_any = false;
	/* Every byte of the head and tail, every 97th in between (chunks are ~8 KiB). */
	for (long n = 0; n <= size; n += (n < 64 || n > size - 200 ? 1 : 97)) {
		write_prefix(data, n, cut);
		int rc, count = read_all(cut, &rc);
		if (count < 0) {
			assert_false(opened_any); /* once the header is complete, every longer prefix opens */
			continue;
		}
		opened_any = true;
		assert_int_equal(rc, 0);
		assert_true(count >= last);
		last = count;
	}
	free(data);
	assert_int_equal(last, N_MESSAGES);
}

/* A writer that never closed (killed): no summary, every flushed chunk readable. */
static void abandoned_file_is_readable(void **state)
{
	char path[256];
	path_of(path, sizeof(path), "abandoned.mcap");
	write_file(path, FS_MCAP_COMPRESSION_NONE, false);
	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(path, &err);
	assert_non_null(r);
	assert_false(fs_mcap_reader_has_summary(r));
	struct fs_mcap_stats st;
	assert_int_equal(fs_mcap_reader_stats(r, false, &st, &err), 0);
	assert_true(st.message_count > N_MESSAGES / 2 && st.message_count < N_MESSAGES);
	uint64_t valid = 0;
	assert_true(fs_mcap_reader_truncated(r, &valid));
	assert_int_equal(valid, (uint64_t)file_size(path));
	assert_int_equal(fs_mcap_reader_channel_count(r), 3);
	assert_string_equal(fs_mcap_reader_metadata_get(r, "fleetsim.run", "argv"), "[\"--seed=1\"]");
	fs_mcap_reader_close(r);
}

static void corrupt_chunk_is_refused(void **state)
{
	char path[256];
	path_of(path, sizeof(path), "corrupt.mcap");
	write_file(path, FS_MCAP_COMPRESSION_NONE, true);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 2000, SEEK_SET); /* inside the first chunk's records */
	int c = fgetc(f);
	fseek(f, 2000, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(path, &err);
	assert_non_null(r);
	struct fs_mcap_message m;
	int rc;
	while ((rc = fs_mcap_reader_next(r, &m, &err)) == 1) {
	}
	assert_int_equal(rc, -EBADMSG);
	assert_non_null(strstr(err.message, "CRC"));
	assert_non_null(strstr(err.message, "chunk 1 (byte ")); /* which chunk, where */
	assert_false(fs_mcap_reader_truncated(r, NULL));     /* damage, not a cut */
	fs_mcap_reader_close(r);
}

/* Little-endian u64 at @p. */
static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

/*
 * A whole file (it ends with the MCAP magic) whose second chunk's length runs
 * past the end: that is damage, not a recorder killed mid-chunk, so reading
 * fails naming the byte instead of stopping "cut short" before that chunk.
 */
static void an_overlong_record_in_a_whole_file_is_damage(void **state)
{
	char path[256];
	path_of(path, sizeof(path), "overlong.mcap");
	write_file(path, FS_MCAP_COMPRESSION_NONE, true);
	long size = file_size(path);
	uint8_t *data = malloc((size_t)size);
	FILE *f = fopen(path, "rb");
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	uint64_t at = 8 + 9 + le64(data + 9), second = 0; /* after the magic and the header record */
	for (int chunks = 0; at + 9 <= (uint64_t)size && chunks < 2; at += 9 + le64(data + at + 1)) {
		if (data[at] == FS_MCAP_OP_CHUNK && ++chunks == 2) {
			second = at;
		}
	}
	assert_true(second > 0);
	for (int i = 0; i < 8; i++) {
		data[second + 1 + i] = i == 5 ? 0x01 : 0x00; /* a length of 2^40 */
	}
	f = fopen(path, "wb");
	assert_int_equal(fwrite(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	free(data);
	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(path, &err);
	assert_non_null(r);
	struct fs_mcap_message m;
	int rc, count = 0;
	while ((rc = fs_mcap_reader_next(r, &m, &err)) == 1) {
		count++;
	}
	assert_int_equal(rc, -EBADMSG);
	assert_true(count > 0); /* the first chunk was read */
	assert_false(fs_mcap_reader_truncated(r, NULL));
	char where[64];
	snprintf(where, sizeof(where), "byte %" PRIu64 ":", second);
	assert_non_null(strstr(err.message, where));
	fs_mcap_reader_close(r);
}

static void not_mcap_is_refused(void **state)
{
	char path[256];
	path_of(path, sizeof(path), "text.mcap");
	FILE *f = fopen(path, "w");
	fputs("hello, this is not an MCAP file at all\n", f);
	fclose(f);
	struct fs_error err = { "" };
	assert_null(fs_mcap_reader_open(path, &err));
	assert_non_null(strstr(err.message, "not an MCAP file"));
	path_of(path, sizeof(path), "missing.mcap");
	assert_null(fs_mcap_reader_open(path, &err));
}

static void envelope_peek(void **state)
{
	Fleetsim__V1__Envelope env = FLEETSIM__V1__ENVELOPE__INIT;
	Fleetsim__V1__TickDone done = FLEETSIM__V1__TICK_DONE__INIT;
	done.tick = 77;
	done.state_hash = 0xdeadbeefcafef00dULL;
	env.schema_version = 1;
	env.sender = (char *)"vehicle-3";
	env.seq = 12345678901ULL;
	env.topic_seq = 99;
	env.tick = 77;
	env.sim_time_ms = 1843452077000;
	env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_DONE;
	env.tick_done = &done;
	uint8_t buf[256];
	size_t n = fleetsim__v1__envelope__pack(&env, buf);
	struct rec_envelope e;
	assert_int_equal(rec_envelope_peek(buf, n, &e), 0);
	assert_int_equal(e.sender_len, 9);
	assert_memory_equal(e.sender, "vehicle-3", 9);
	assert_int_equal(e.seq, 12345678901ULL);
	assert_int_equal(e.topic_seq, 99);
	assert_int_equal(e.tick, 77);
	assert_int_equal(e.sim_time_ms, 1843452077000);
	assert_int_equal(e.payload_field, FLEETSIM__V1__ENVELOPE__PAYLOAD_TICK_DONE);
	/* Every truncation of it is either a shorter valid prefix or refused, never read past the end. */
	for (size_t k = 0; k < n; k++) {
		struct rec_envelope t;
		int rc = rec_envelope_peek(buf, k, &t);
		assert_true(rc == 0 || rc == -EBADMSG);
	}
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(rec_envelope_peek(junk, sizeof(junk), &e), -EBADMSG);
	const uint8_t group[] = { 0x0b }; /* field 1, wire type 3 (group): not ours */
	assert_int_equal(rec_envelope_peek(group, sizeof(group), &e), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_uncompressed),
		cmocka_unit_test(round_trip_zstd),
		cmocka_unit_test(every_truncation_reads_whole_chunks),
		cmocka_unit_test(abandoned_file_is_readable),
		cmocka_unit_test(corrupt_chunk_is_refused),
		cmocka_unit_test(an_overlong_record_in_a_whole_file_is_damage),
		cmocka_unit_test(not_mcap_is_refused),
		cmocka_unit_test(envelope_peek),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
