/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs-mcap-tamper - test helper: copy a recording, changing one thing, the way
 * someone editing a recording would (a valid file, every CRC recomputed).
 *
 *   fs-mcap-tamper IN OUT --done TICK SENDER        flip a bit of SENDER's state hash at TICK
 *   fs-mcap-tamper IN OUT --scn-param KEY=VALUE     set KEY of the first event of the first
 *                                                   live-injected scenario command (scn.cmd)
 *   fs-mcap-tamper IN OUT --cut BYTES               keep only the first BYTES of IN (a crash)
 *   fs-mcap-tamper IN OUT --corrupt-chunk N         flip a byte in the middle of chunk N (1 = the
 *                                                   first), leaving its CRC as it was (bit rot,
 *                                                   or an edit by hand)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.pb-c.h"
#include "fs_log.h"
#include "fs_mcap.h"

static int cut(const char *in, const char *out, long bytes)
{
	FILE *f = fopen(in, "rb"), *g = fopen(out, "wb");
	if (!f || !g) {
		perror("fs-mcap-tamper");
		return 1;
	}
	for (long i = 0; i < bytes; i++) {
		int c = fgetc(f);
		if (c == EOF) {
			break;
		}
		fputc(c, g);
	}
	fclose(f);
	return fclose(g) ? 1 : 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

/* Walk the top-level records (magic, then op + u64 length + content) to chunk @n and flip a byte mid-way. */
static int corrupt_chunk(const char *in, const char *out, long n)
{
	FILE *f = fopen(in, "rb");
	if (!f || fseek(f, 0, SEEK_END) < 0) {
		perror("fs-mcap-tamper");
		return 1;
	}
	long size = ftell(f);
	uint8_t *data = malloc((size_t)size);
	rewind(f);
	if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(data);
		return 1;
	}
	fclose(f);
	long chunks = 0;
	int rc = 1;
	for (uint64_t at = 8; at + 9 <= (uint64_t)size; at += 9 + le64(data + at + 1)) {
		if (data[at] == FS_MCAP_OP_CHUNK && ++chunks == n) {
			uint64_t len = le64(data + at + 1);
			data[at + 9 + len / 2] ^= 0x40; /* inside its records, past the chunk header */
			fprintf(stderr, "fs-mcap-tamper: flipped a byte of chunk %ld (record at byte %" PRIu64 ")\n", n, at);
			rc = 0;
			break;
		}
	}
	FILE *g = fopen(out, "wb");
	if (rc == 0 && (!g || fwrite(data, 1, (size_t)size, g) != (size_t)size)) {
		rc = 1;
	}
	if (g) {
		fclose(g);
	}
	free(data);
	if (chunks < n) {
		fprintf(stderr, "fs-mcap-tamper: %s has %ld chunk(s), not %ld\n", in, chunks, n);
	}
	return rc;
}

int main(int argc, char **argv)
{
	fs_log_init("fs-mcap-tamper", FS_LOG_INFO);
	if (argc < 5 && !(argc == 5 || argc == 6)) {
		fprintf(stderr, "usage: fs-mcap-tamper IN OUT --done TICK SENDER | --scn-param KEY=VALUE | --cut BYTES | "
				"--corrupt-chunk N\n");
		return 2;
	}
	const char *in = argv[1], *out = argv[2], *what = argv[3];
	if (!strcmp(what, "--cut")) {
		return cut(in, out, atol(argv[4]));
	}
	if (!strcmp(what, "--corrupt-chunk")) {
		return corrupt_chunk(in, out, atol(argv[4]));
	}
	uint64_t tick = 0;
	const char *sender = NULL, *key = NULL, *value = NULL;
	if (!strcmp(what, "--done") && argc == 6) {
		tick = strtoull(argv[4], NULL, 10);
		sender = argv[5];
	} else if (!strcmp(what, "--scn-param") && argc == 5 && strchr(argv[4], '=')) {
		key = argv[4];
		char *eq = strchr(argv[4], '=');
		*eq = '\0';
		value = eq + 1;
	} else {
		fprintf(stderr, "fs-mcap-tamper: bad arguments\n");
		return 2;
	}
	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(in, &err);
	if (!r) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	struct fs_mcap_writer *w = fs_mcap_writer_open(out, NULL, &err);
	if (!w) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	static struct fs_mcap_copy copy; /* 512 KiB: not on the stack */
	fs_mcap_copy_init(&copy);
	int changed = 0;
	struct fs_mcap_message m;
	while (fs_mcap_reader_next(r, &m, &err) == 1) {
		const struct fs_mcap_channel *c = m.channel;
		int channel = fs_mcap_copy_channel(&copy, r, w, c);
		const uint8_t *data = m.data;
		size_t size = m.size;
		uint8_t *repacked = NULL;
		bool done = sender && !strcmp(c->topic, "ctl.done");
		bool cmd = key && !changed && !strcmp(c->topic, "scn.cmd");
		if (done || cmd) {
			Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, m.size, m.data);
			bool hit = false;
			if (done && env->tick_done && env->tick_done->tick == tick && !strcmp(env->sender, sender)) {
				env->tick_done->state_hash ^= 1;
				hit = true;
			} else if (cmd && env->scenario_command && env->scenario_command->n_events) {
				Fleetsim__V1__ScenarioEvent *e = env->scenario_command->events[0];
				for (size_t i = 0; i < e->n_params; i++) {
					if (!strcmp(e->params[i]->key, key)) {
						free(e->params[i]->value);
						e->params[i]->value = strdup(value);
						hit = true;
					}
				}
			}
			if (hit) {
				size = fleetsim__v1__envelope__get_packed_size(env);
				repacked = malloc(size);
				fleetsim__v1__envelope__pack(env, repacked);
				data = repacked;
				changed++;
			}
			fleetsim__v1__envelope__free_unpacked(env, NULL);
		}
		fs_mcap_writer_write(w, (uint16_t)channel, m.sequence, m.log_time, m.publish_time, data, size);
		free(repacked);
	}
	fs_mcap_copy_extras(r, w);
	fs_mcap_reader_close(r);
	if (fs_mcap_writer_close(w) < 0 || !changed) {
		fprintf(stderr, "fs-mcap-tamper: %s\n", changed ? "cannot write" : "nothing matched");
		return 1;
	}
	printf("changed %d message(s)\n", changed);
	return 0;
}
