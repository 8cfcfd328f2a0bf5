/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_mcap - a recording (MCAP) from any bytes: the reader opens it or says
 * why, walks every message it can, gathers the statistics, and never reads
 * outside the file.
 */
#include <unistd.h>

#include "fs_mcap.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof(path));
	if (fd < 0) {
		return 0;
	}
	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(path, &err);
	fuzz_report("mcap", r ? "opened" : err.message);
	if (r) {
		struct fs_mcap_message m;
		volatile uint8_t sink = 0;
		for (int i = 0; i < 100000 && fs_mcap_reader_next(r, &m, &err) > 0; i++) {
			if (m.size) {
				sink ^= m.data[0] ^ m.data[m.size - 1]; /* the bytes promised are there */
			}
		}
		(void)sink;
		struct fs_mcap_stats st;
		fs_mcap_reader_stats(r, true, &st, &err);
		for (size_t i = 0; i < fs_mcap_reader_metadata_count(r); i++) {
			(void)fs_mcap_reader_metadata(r, i);
		}
		fs_mcap_reader_close(r);
	}
	close(fd);
	return 0;
}
