/* SPDX-License-Identifier: Apache-2.0 */
/* rec_envelope - protobuf wire-format walk over fleetsim.v1.Envelope's header fields. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "envelope.pb-c.h"
#include "rec_envelope.h"

/* Is @field one of the payload oneof's members? Other numbers are unknown fields
 * (from a newer schema, or noise), which protobuf skips and so do we. */
static bool is_payload_field(uint32_t field)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(&fleetsim__v1__envelope__descriptor, (unsigned)field);
	return f && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && f->type == PROTOBUF_C_TYPE_MESSAGE;
}

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end) {
			return -EBADMSG;
		}
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EBADMSG;
}

int rec_envelope_peek(const uint8_t *data, size_t size, struct rec_envelope *ret)
{
	struct rec_envelope e = { 0 };
	const uint8_t *p = data, *end = data + size;
	while (p < end) {
		uint64_t key, v;
		if (varint(&p, end, &key) < 0) {
			return -EBADMSG;
		}
		uint32_t field = (uint32_t)(key >> 3);
		switch (key & 7) {
		case 0: /* varint */
			if (varint(&p, end, &v) < 0) {
				return -EBADMSG;
			}
			if (field == 3) {
				e.seq = v;
			} else if (field == 4) {
				e.topic_seq = v;
			} else if (field == 5) {
				e.tick = v;
			} else if (field == 6) {
				e.sim_time_ms = (int64_t)v;
			}
			break;
		case 2: /* length-delimited */
			if (varint(&p, end, &v) < 0 || v > (uint64_t)(end - p)) {
				return -EBADMSG;
			}
			if (field == 2) {
				e.sender = (const char *)p;
				e.sender_len = (size_t)v;
			} else if (is_payload_field(field)) {
				e.payload_field = field;
			}
			p += v;
			break;
		case 1: /* 64-bit */
		case 5: /* 32-bit */
			v = (key & 7) == 1 ? 8 : 4;
			if ((uint64_t)(end - p) < v) {
				return -EBADMSG;
			}
			p += v;
			break;
		default:
			return -EBADMSG;
		}
		/* Field number 0 is not valid protobuf, but protobuf-c, which every client
		 * decodes with, skips it like any unknown field; so do we, or the recorder
		 * would leave out a message that every participant applied (tests/fuzz). */
	}
	*ret = e;
	return 0;
}
