/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protobuf wire bytes written by hand, for the programs that build envelopes
 * around bytes of their own: fs-garbage-publisher (malformed, oversized or
 * future fields) and bench_recorder (pre-packed payloads).
 */
#ifndef PB_WIRE_H
#define PB_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* @v as a base-128 varint at @p (at most 10 bytes): the number of bytes written. */
static inline size_t pb_wire_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

#endif
