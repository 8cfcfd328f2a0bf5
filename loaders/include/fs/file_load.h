/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/file_load.h - a whole file into memory, for the loaders that parse a
 * buffer (scenario YAML, GeoJSON, OSM PBF) and the recorder, which embeds
 * the run's scenario. Part of libfs-loaders.
 */
#ifndef FS_FILE_LOAD_H
#define FS_FILE_LOAD_H

#include <stddef.h>

#include "fs/error.h"

/**
 * The bytes of @path into a new buffer *@ret (free with fs_free()) of
 * *@ret_len bytes. A file of @max_bytes or more is refused (-EFBIG; 0: any
 * size). Returns 0, or -errno with "PATH: cannot open: why", "PATH: N bytes
 * or larger", "PATH: out of memory" or "PATH: read error" in @err.
 */
int fs_file_load(const char *path, size_t max_bytes, char **ret, size_t *ret_len, struct fs_error *err);

#endif
