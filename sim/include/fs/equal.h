/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/equal.h - comparing two structs field by field, naming the first that
 * differs (the fs_*_equal() functions that tests and the scenario's
 * defaults check use).
 */
#ifndef FS_EQUAL_H
#define FS_EQUAL_H

/* In a `bool f(..., const char **ret_field)`: when @cond holds, set *ret_field
 * (if not NULL) to @name and return false. */
#define FS_EQUAL_DIFF(cond, name)                                                              \
	do {                                                                                   \
		if (cond) {                                                                    \
			if (ret_field) {                                                       \
				*ret_field = name;                                             \
			}                                                                      \
			return false;                                                          \
		}                                                                              \
	} while (0)

#endif
