/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_log.h - service logging to stderr ("fs-broker: warning: ...").
 *
 * Only services log; sim/ never does. Bad-input logs are rate limited so a
 * flood of garbage cannot drown the terminal: the first few are printed, then
 * one in every FS_LOG_EVERY, always with the running count.
 */
#ifndef FS_LOG_H
#define FS_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum fs_log_level {
	FS_LOG_ERROR = 0,
	FS_LOG_WARNING = 1,
	FS_LOG_INFO = 2,
	FS_LOG_DEBUG = 3,
};

#define FS_LOG_FIRST 10
#define FS_LOG_EVERY 1000

/** Set the program name printed before each line and the most verbose level shown. */
void fs_log_init(const char *program, enum fs_log_level level);
void fs_log(enum fs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** True if the @count-th occurrence of a repeated problem should be logged. */
bool fs_log_should(uint64_t count);
const char *fs_log_program(void);

#define fs_error(...) fs_log(FS_LOG_ERROR, __VA_ARGS__)
#define fs_warn(...) fs_log(FS_LOG_WARNING, __VA_ARGS__)
#define fs_info(...) fs_log(FS_LOG_INFO, __VA_ARGS__)
#define fs_debug(...) fs_log(FS_LOG_DEBUG, __VA_ARGS__)

/** malloc/calloc/strdup that abort with file:line on failure (services only). */
void *fs_xcalloc_at(size_t n, size_t size, const char *file, int line);
char *fs_xstrdup_at(const char *s, const char *file, int line);
#define fs_xcalloc(n, size) fs_xcalloc_at((n), (size), __FILE__, __LINE__)
#define fs_xstrdup(s) fs_xstrdup_at((s), __FILE__, __LINE__)
/** FS_GROW (fs/grow.h) that aborts with file:line on failure; _zeroed zeroes the new items. */
void fs_xgrow_at(void **items, size_t *cap, size_t need, size_t size, bool zeroed, const char *file, int line);
#define fs_xgrow(arr, cap, need) \
	fs_xgrow_at((void **)&(arr), &(cap), (need), sizeof(*(arr)), false, __FILE__, __LINE__)
#define fs_xgrow_zeroed(arr, cap, need) \
	fs_xgrow_at((void **)&(arr), &(cap), (need), sizeof(*(arr)), true, __FILE__, __LINE__)

#endif
