/* SPDX-License-Identifier: Apache-2.0 */
/* fs_file_load.c - a whole file into memory (fs/file_load.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/file_load.h"

int fs_file_load(const char *path, size_t max_bytes, char **ret, size_t *ret_len, struct fs_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		return fs_error_set(err, -e, "%s: cannot open: %s", path, strerror(e));
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;
	for (;;) {
		if (len == cap) {
			if (max_bytes && cap >= max_bytes) {
				rc = fs_error_set(err, -EFBIG, "%s: %zu bytes or larger", path, max_bytes);
				break;
			}
			size_t bigger = cap ? cap * 2 : 65536;
			if (max_bytes && bigger > max_bytes) {
				bigger = max_bytes; /* full at max_bytes: refused above */
			}
			char *n = fs_realloc(buf, bigger);
			if (!n) {
				rc = fs_error_set(err, -ENOMEM, "%s: out of memory", path);
				break;
			}
			buf = n;
			cap = bigger;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		rc = fs_error_set(err, -EIO, "%s: read error", path);
	}
	fclose(f);
	if (rc < 0) {
		fs_free(buf);
		return rc;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}
