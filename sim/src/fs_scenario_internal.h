/* SPDX-License-Identifier: Apache-2.0 */
/* fs_scenario_internal.h - what the scenario reader (fs_scenario.c) shares with its event parser. */
#ifndef FS_SCENARIO_INTERNAL_H
#define FS_SCENARIO_INTERNAL_H

#include <stdbool.h>

/* Is @word one of the space-separated words of @list? Never for an empty word. */
bool fs_scenario_word_in(const char *list, const char *word);

#endif
