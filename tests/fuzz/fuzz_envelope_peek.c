/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_envelope_peek - the recorder's hand-written walk over an Envelope's
 * top-level fields, from any bytes; where protobuf-c accepts the bytes, the
 * two must agree on the header fields.
 */
#include <stdlib.h>
#include <string.h>

#include "envelope.pb-c.h"
#include "fuzz_util.h"
#include "rec_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_envelope peek;
	int rc = rec_envelope_peek(data, size, &peek);
	if (rc == 0 && peek.sender_len) {
		/* the sender points into the input */
		if (peek.sender < (const char *)data || peek.sender + peek.sender_len > (const char *)data + size) {
			abort();
		}
	}
	Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, size, data);
	if (env) {
		if (rc != 0) {
			abort(); /* protobuf-c read it, so it is protobuf */
		}
		size_t len = env->sender ? strlen(env->sender) : 0;
		if (peek.seq != env->seq || peek.tick != env->tick || peek.topic_seq != env->topic_seq ||
		    peek.sim_time_ms != env->sim_time_ms || (uint32_t)env->payload_case != peek.payload_field ||
		    (len == peek.sender_len && len && memcmp(env->sender, peek.sender, len))) {
			abort();
		}
		fleetsim__v1__envelope__free_unpacked(env, NULL);
	}
	return 0;
}
