/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/heap.h - the binary heap every priority queue of sim/ is made of.
 *
 * A heap is an array the owner keeps (grown with fs/grow.h, or of a fixed
 * size) and a count; FS_HEAP_DEFINE writes the functions that keep it in
 * heap order, specialised for one element type and one order, so that a
 * search's inner loop compares and moves its own elements with no call
 * through a pointer (route searches and the assignment solver pop millions
 * of elements a second). The order and the moves are those of a textbook
 * binary heap with a hole: an element passes its parent only when strictly
 * less, and a parent takes its right child only when that is strictly less
 * than the left one. With an order that ranks every pair of elements (ties
 * broken by an id) what comes out does not depend on these rules.
 *
 * FS_HEAP_DEFINE(name, ctx_type, type, less, place) defines, static inline:
 *   size_t name_up(ctx_type *ctx, type *items, size_t i)    after items[i] became less: its new index
 *   size_t name_down(ctx_type *ctx, type *items, size_t count, size_t i)   ... greater
 *   size_t name_up_from(ctx, items, i, e), name_down_from(ctx, items, count, i, e): the same
 *          for @e put into the hole at @i (what push, pop and remove are made of)
 *   void   name_push(ctx_type *ctx, type *items, size_t *count, type e)    room for one more is the owner's
 *   type   name_pop(ctx_type *ctx, type *items, size_t *count)             the least; *count > 0
 *   void   name_remove(ctx_type *ctx, type *items, size_t *count, size_t i)
 * less(ctx, a, b), a and b `const type *`: a comes out before b.
 * place(ctx, items, i, e): store e at items[i]. FS_HEAP_STORE does only that;
 * a heap whose elements change their keys also records where e now stands,
 * so the owner can call name_up/name_down (or name_remove) at that index.
 * @ctx is handed to less and place as it is (NULL and ctx_type void when they
 * need nothing).
 */
#ifndef FS_HEAP_H
#define FS_HEAP_H

#include <stddef.h>

#define FS_HEAP_STORE(ctx, items, i, e) ((items)[i] = (e))

/* a heap need not use every function FS_HEAP_DEFINE writes */
#define FS_HEAP_FN static inline __attribute__((unused))

#define FS_HEAP_DEFINE(name, ctx_type, type, less, place)                                     \
	/* @e into the hole at @i, moving up past greater parents; its final index */           \
	FS_HEAP_FN size_t name##_up_from(ctx_type *ctx, type *items, size_t i, type e)          \
	{                                                                                       \
		while (i > 0) {                                                                 \
			size_t parent = (i - 1) / 2;                                            \
			if (!less(ctx, &e, &items[parent])) {                                   \
				break;                                                          \
			}                                                                       \
			place(ctx, items, i, items[parent]);                                    \
			i = parent;                                                             \
		}                                                                               \
		place(ctx, items, i, e);                                                        \
		return i;                                                                       \
	}                                                                                       \
	/* @e into the hole at @i, moving down past lesser children; its final index */         \
	FS_HEAP_FN size_t name##_down_from(ctx_type *ctx, type *items, size_t count, size_t i, type e) \
	{                                                                                       \
		for (;;) {                                                                      \
			size_t child = 2 * i + 1;                                               \
			if (child >= count) {                                                   \
				break;                                                          \
			}                                                                       \
			if (child + 1 < count && less(ctx, &items[child + 1], &items[child])) { \
				child++;                                                        \
			}                                                                       \
			if (!less(ctx, &items[child], &e)) {                                    \
				break;                                                          \
			}                                                                       \
			place(ctx, items, i, items[child]);                                     \
			i = child;                                                              \
		}                                                                               \
		place(ctx, items, i, e);                                                        \
		return i;                                                                       \
	}                                                                                       \
	FS_HEAP_FN size_t name##_up(ctx_type *ctx, type *items, size_t i)                       \
	{                                                                                       \
		return name##_up_from(ctx, items, i, items[i]);                                 \
	}                                                                                       \
	FS_HEAP_FN size_t name##_down(ctx_type *ctx, type *items, size_t count, size_t i)       \
	{                                                                                       \
		return name##_down_from(ctx, items, count, i, items[i]);                        \
	}                                                                                       \
	FS_HEAP_FN void name##_push(ctx_type *ctx, type *items, size_t *count, type e)          \
	{                                                                                       \
		name##_up_from(ctx, items, (*count)++, e);                                      \
	}                                                                                       \
	FS_HEAP_FN type name##_pop(ctx_type *ctx, type *items, size_t *count)                   \
	{                                                                                       \
		type top = items[0];                                                            \
		if (--*count > 0) {                                                             \
			name##_down_from(ctx, items, *count, 0, items[*count]);                 \
		}                                                                               \
		return top;                                                                     \
	}                                                                                       \
	FS_HEAP_FN void name##_remove(ctx_type *ctx, type *items, size_t *count, size_t i)      \
	{                                                                                       \
		if (i < --*count) {                                                             \
			name##_up(ctx, items, name##_down_from(ctx, items, *count, i, items[*count])); \
		}                                                                               \
	}

#endif
