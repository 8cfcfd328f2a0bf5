/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_network_files.h - what the network file loaders share (not installed):
 * the PBF framing scan and the cache's identity of its source.
 */
#ifndef FS_NETWORK_FILES_H
#define FS_NETWORK_FILES_H

#include <stdint.h>

#include "fs/error.h"
#include "fs/network_load.h"

/** Called for each plain (non-dense) node of a PBF file; a negative return stops the scan. */
typedef int (*fs_osm_pbf_node_fn)(void *ctx, int64_t id, double lat, double lon);

/**
 * Check the framing of the OSM PBF file @path (block headers, sizes, zlib) and
 * report its plain Node messages, which readosm 1.1 skips, to @on_node.
 * Returns 0, or -errno with @err naming the file, block and byte offset.
 */
int fs_osm_pbf_scan(const char *path, fs_osm_pbf_node_fn on_node, void *ctx, struct fs_error *err);

/* What a cache was built from: the source file's size and XXH3-64 hash and a
 * hash of the loader's rules and parameters (all 0 when not applicable). */
struct fs_cache_identity {
	uint64_t source_size;
	uint64_t source_hash;
	uint64_t rules_hash;
};

/** Hash of the OSM loader's rules version and @params. */
uint64_t fs_network_rules_hash(const struct fs_osm_params *params);
/** Size and XXH3-64 hash of the file @path. */
int fs_file_identity(const char *path, uint64_t *ret_size, uint64_t *ret_hash,
		     struct fs_error *err);
/** fs_network_save_cache() recording @id (NULL = zeros). */
int fs_network_save_cache_with(const struct fs_network *net, const char *path,
			       const struct fs_cache_identity *id, struct fs_error *err);
/** fs_network_load_cache() that rejects (-ESTALE) a cache whose identity differs from @want. */
struct fs_network *fs_network_load_cache_with(const char *path, const struct fs_cache_identity *want,
					      struct fs_error *err);

#endif
