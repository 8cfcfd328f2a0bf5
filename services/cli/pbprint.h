/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pbprint.h - print any protobuf-c message readably, by reflection.
 *
 * Nested messages indent; enums print their names; packed arrays of the same
 * length in one message (the struct-of-arrays batches) print as a table, one
 * row per record, so a vehicle batch reads like a table of vehicles. Arrays
 * named PREFIX_NAME beside an array NAME form a table of their own, headed
 * "(N PREFIX records)" with columns named NAME: a vehicle batch's moves.
 */
#ifndef PBPRINT_H
#define PBPRINT_H

#include <protobuf-c/protobuf-c.h>
#include <stdio.h>

struct pbprint_options {
	size_t max_rows; /* rows of a table or items of a list to show; 0 = all */
};

void pbprint_message(FILE *out, const ProtobufCMessage *msg, int indent, const struct pbprint_options *opts);

#endif
