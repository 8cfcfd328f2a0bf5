/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pbprint.h - print any protobuf-c message readably, by reflection.
 *
 * Nothing here knows a message type: everything walks the protobuf-c
 * descriptors, so a message added or redesigned in proto/ prints, filters
 * and exports without a change here.
 *
 * Text: nested messages indent; enums print their names; every field prints,
 * zeros too (proto3 does not tell a zero from an unset scalar, and a counter
 * at 0 is news); repeated scalars of one length in one message (the
 * struct-of-arrays batches) print as a table, one row per record, in columns
 * as wide as their contents, cut to the terminal's width.
 * CSV: one row per record of the message's table, or per item of its list,
 * or one row; a header whenever the columns change. JSON: one object per
 * message (JSON Lines), fields by their proto names.
 * Field selection (`a.b` paths) and the vehicle filter work on any message.
 */
#ifndef PBPRINT_H
#define PBPRINT_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PBPRINT_MAX_FIELDS 16

struct pbprint_options {
	size_t max_rows;                          /* rows of a table or items of a list to show; 0 = all */
	size_t width;                             /* text tables: columns of the terminal; 0 = no limit */
	const char *fields[PBPRINT_MAX_FIELDS];   /* selected field paths ("stops.node"); none = all */
	size_t n_fields;
};

/* Where a message came from, for the CSV and JSON columns. */
struct pbprint_meta {
	const char *topic;
	const char *sender;
	uint64_t seq;
	uint64_t tick;
	int64_t sim_time_ms; /* 0: none (the broker's own counters are outside simulated time) */
	const char *type;    /* full name of the payload's message type */
};

/* Remembers the last CSV header, so a new one is printed only when the columns change. */
struct pbprint_csv_state {
	char *header;
};

void pbprint_message(FILE *out, const ProtobufCMessage *msg, int indent, const struct pbprint_options *opts);
void pbprint_csv(FILE *out, const struct pbprint_meta *meta, const ProtobufCMessage *msg,
		 const struct pbprint_options *opts, struct pbprint_csv_state *state);
void pbprint_csv_finish(struct pbprint_csv_state *state);
void pbprint_json(FILE *out, const struct pbprint_meta *meta, const ProtobufCMessage *msg,
		  const struct pbprint_options *opts);

/**
 * Check that @path ("a.b", through sub-messages and lists) names a field of
 * @d. On failure writes why (listing the fields that exist there) into @why.
 */
bool pbprint_field_exists(const ProtobufCMessageDescriptor *d, const char *path, char *why, size_t size);

enum pbprint_vehicle_match {
	PBPRINT_NO_VEHICLE,    /* the message says nothing about vehicles */
	PBPRINT_OTHER_VEHICLE, /* it does, but not about this one */
	PBPRINT_THIS_VEHICLE,  /* it does about this one: what concerns others was removed */
};

/**
 * Keep in @msg (owned by the caller, unpacked with the default allocator)
 * only what concerns vehicle @id: a message with a `vehicle_id` field
 * matches when it equals @id; one with a repeated `vehicle_id` keeps the
 * records at the matching indexes of every repeated field of that length;
 * lists of sub-messages keep the items that match.
 */
enum pbprint_vehicle_match pbprint_filter_vehicle(ProtobufCMessage *msg, uint64_t id);

/* Shared by the printers (pbprint.c, pbexport.c). */
size_t pbprint_count(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);
const void *pbprint_field(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);
size_t pbprint_elem_size(const ProtobufCFieldDescriptor *f);
bool pbprint_is_scalar(const ProtobufCFieldDescriptor *f);
/** Is @f (the value of a oneof member, or any other field) part of what @msg holds? */
bool pbprint_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);
/** One scalar value as text: @quote strings for text output, not for CSV/JSON. */
void pbprint_value(FILE *out, const ProtobufCFieldDescriptor *f, const void *p, bool quote);
/** The same into @buf (truncated to @size), unquoted. */
void pbprint_value_text(const ProtobufCFieldDescriptor *f, const void *p, char *buf, size_t size);
/** Is the field at @path (prefix + "." + name) selected, inside or on the way to a selection? */
bool pbprint_selected(const struct pbprint_options *opts, const char *prefix, const char *name);
/** The length of @msg's table (repeated scalars sharing one length) and its column count, 0 if none. */
size_t pbprint_table(const ProtobufCMessage *msg, const struct pbprint_options *opts, const char *prefix,
		     size_t *ret_len);
/** Is @f one of the table's columns (of @len records)? */
bool pbprint_in_table(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, size_t len);

#endif
