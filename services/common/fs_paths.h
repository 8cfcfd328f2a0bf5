/* SPDX-License-Identifier: Apache-2.0 */
/* fs_paths.h - where fleetsim's programs are: installed, or in the build tree. */
#ifndef FS_PATHS_H
#define FS_PATHS_H

#include <stdbool.h>
#include <stddef.h>

/** Directory of the running executable (/proc/self/exe, symlinks resolved); "." if unknown. */
const char *fs_paths_exe_dir(void);

/**
 * The installation prefix this executable runs from, or NULL when it runs from
 * the build tree. Found from the executable's own place (PREFIX/bin or
 * PREFIX/libexec/fleetsim as configured), so an install that was moved, or
 * unpacked under a DESTDIR, finds its own files and never the configured ones.
 */
const char *fs_paths_prefix(void);

/**
 * The rule behind fs_paths_prefix(), for any directory: true, with the prefix
 * in @ret, if @exe_dir is the configured bindir or libexecdir (FS_BINDIR,
 * FS_LIBEXECDIR) or ends in its part below the configured prefix.
 */
bool fs_paths_prefix_of(const char *exe_dir, char *ret, size_t size);

/**
 * A configured install directory (absolute, e.g. FS_DATADIR) under the prefix
 * this executable runs from; the directory itself when it lies outside the
 * configured prefix. Writes @buf; returns it.
 */
const char *fs_paths_installed(const char *configured, char *buf, size_t size);

/**
 * Path of the internal program @name (fs-broker, fs-rec, ...): in
 * PREFIX/libexec/fleetsim when installed, else beside this executable (the
 * build tree keeps every service in one directory). Writes @buf; returns it.
 */
const char *fs_paths_helper(const char *name, char *buf, size_t size);

/**
 * Path of the user program @name (fleetsim, fleetctl, fleet-viz): in PREFIX/bin
 * when installed, else where the build tree has it (services/ or viz/).
 * Writes @buf; returns it (the first candidate if none exists).
 */
const char *fs_paths_program(const char *name, char *buf, size_t size);

#endif
