/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/timezone_load.h - a city's zone from the system tz database (TZif files,
 * RFC 8536). Part of libfs-loaders; the zone and its lookups are
 * fs/timezone.h in sim/.
 */
#ifndef FS_TIMEZONE_LOAD_H
#define FS_TIMEZONE_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"
#include "fs/timezone.h"

#ifndef FS_TZ_DIR
#define FS_TZ_DIR "/usr/share/zoneinfo" /* the tzdata package's zoneinfo */
#endif

/**
 * Parse the TZif data @data (@len bytes, versions 1-4) of the zone @name into
 * @ret. Zones with leap seconds ("right/...") are refused. Returns 0, -EINVAL
 * with the reason in @err, or -ENOMEM. Free with fs_timezone_finish().
 */
int fs_timezone_parse_tzif(const uint8_t *data, size_t len, const char *name, struct fs_timezone *ret,
			   struct fs_error *err);

/**
 * Read zone @name ("America/New_York") from the directory @zoneinfo_dir
 * (FS_TZ_DIR). A name that is not a plain relative path of letters, digits,
 * '_', '-', '+' and '/' is -EINVAL; a zone that is not there -ENOENT; then as
 * fs_timezone_parse_tzif(). @err says which.
 */
int fs_timezone_load(const char *zoneinfo_dir, const char *name, struct fs_timezone *ret, struct fs_error *err);

#endif
