/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/scenario_load.h - scenarios from YAML files (and the default scenario,
 * whose zone comes from the system tz database). Part of libfs-loaders; the
 * scenario itself, its defaults and its events are fs/scenario.h in sim/.
 */
#ifndef FS_SCENARIO_LOAD_H
#define FS_SCENARIO_LOAD_H

#include <stddef.h>

#include "fs/error.h"
#include "fs/scenario.h"

/**
 * fs_scenario_defaults_with_tz() (fs/scenario.h) with the default zone read
 * from the system tz database (FS_TZ_DIR, package tzdata). Returns 0,
 * -ENOMEM, or -ENOENT / -EIO / -EINVAL when that zone cannot be read (then
 * @sc is empty). Release with fs_scenario_finish().
 */
int fs_scenario_defaults(struct fs_scenario *sc);

/**
 * Read @path into @sc (defaults first, then the file's values). On error @sc
 * is left empty (finished) and @err reads "path:line:column: reason".
 * Returns 0, -EINVAL (bad content), -ENOENT/-EIO (cannot read), -ENOMEM.
 */
int fs_scenario_load(const char *path, struct fs_scenario *sc, struct fs_error *err);

/**
 * The same from @len bytes of YAML at @text; @name is used in messages and
 * @base_dir for relative paths (NULL = "."). */
int fs_scenario_load_string(const char *text, size_t len, const char *name, const char *base_dir,
			    struct fs_scenario *sc, struct fs_error *err);

/* Events as written, not yet validated (what `fleetctl inject FILE` sends). */
struct fs_scenario_raw_event {
	char *type;
	struct fs_scenario_kv *kv;      /* keys and values owned by the list */
	size_t count;
	unsigned line, column;
};

struct fs_scenario_raw_events {
	struct fs_scenario_raw_event *items;
	size_t count;
};

/**
 * Read the `events:` list of the YAML file @path as key/value strings, lists
 * flattened to "a,b,c" (the form the bus carries), without validating them
 * against a scenario: the receiver does, with its own. Other top-level keys
 * are ignored. Returns 0, -EINVAL ("path:line:column: reason"), -ENOENT,
 * -EIO or -ENOMEM. Free with fs_scenario_raw_events_finish().
 */
int fs_scenario_read_raw_events(const char *path, struct fs_scenario_raw_events *ret, struct fs_error *err);
void fs_scenario_raw_events_finish(struct fs_scenario_raw_events *r);

#endif
