/* SPDX-License-Identifier: Apache-2.0 */
/* pbprint - reflection-based readable printing of protobuf-c messages. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "fs/calendar.h"
#include "pbprint.h"

static const void *field_ptr(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return (const char *)msg + f->offset;
}

static size_t field_count(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return *(const size_t *)((const char *)msg + f->quantifier_offset);
}

static bool is_scalar(const ProtobufCFieldDescriptor *f)
{
	return f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING &&
	       f->type != PROTOBUF_C_TYPE_BYTES;
}

static void print_enum(FILE *out, const ProtobufCEnumDescriptor *d, int value)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
	if (!v) {
		fprintf(out, "%d", value);
		return;
	}
	/* Drop the enum's own prefix: VEHICLE_STATE_IN_TRIP -> IN_TRIP. */
	const char *name = v->name;
	size_t best = 0;
	for (unsigned i = 0; i < d->n_values; i++) {
		const char *other = d->values[i].name;
		size_t n = 0;
		while (name[n] && name[n] == other[n]) {
			n++;
		}
		if (i == 0 || n < best) {
			best = n;
		}
	}
	while (best > 0 && name[best - 1] != '_') {
		best--;
	}
	fputs(d->n_values > 1 ? name + best : name, out);
}

static void print_value(FILE *out, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(out, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(out, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(out, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(out, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		fprintf(out, "%.6g", (double)*(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		fprintf(out, "%.10g", *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", out);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		print_enum(out, f->descriptor, *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_STRING:
		fprintf(out, "\"%s\"", *(char *const *)p ? *(char *const *)p : "");
		break;
	case PROTOBUF_C_TYPE_BYTES:
		fprintf(out, "<%zu bytes>", ((const ProtobufCBinaryData *)p)->len);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		break;
	}
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

static bool present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		return field_count(msg, f) > 0;
	}
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		return *(const uint32_t *)((const char *)msg + f->quantifier_offset) == f->id;
	}
	const void *p = field_ptr(msg, f);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING) {
		const char *s = *(const char *const *)p;
		return s && (f->type == PROTOBUF_C_TYPE_MESSAGE || *s);
	}
	/* proto3 scalars: show non-zero values only, like protobuf's text format. */
	static const char zero[16];
	return memcmp(p, zero, elem_size(f)) != 0;
}

/*
 * Columns of one table. A message may hold several struct-of-arrays groups:
 * VehicleStateBatch has full records (vehicle_id, state, x_m, ...) and moves
 * (move_vehicle_id, move_x_m, ...), of different vehicles, so each group gets
 * its own table. A field named PREFIX_NAME where the message also has NAME
 * belongs to group PREFIX; every other one to the unnamed group.
 */
struct table {
	const char *prefix; /* "" or e.g. "move" (not terminated: prefix_len) */
	size_t prefix_len;
	size_t len;         /* records: the count of the group's first non-empty field */
	size_t cols;        /* fields of that count */
};

#define MAX_TABLES 8

static bool is_column(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return f->label == PROTOBUF_C_LABEL_REPEATED && is_scalar(f) && field_count(msg, f) > 0;
}

static size_t group_prefix_len(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
	const char *us = strchr(f->name, '_');
	const ProtobufCFieldDescriptor *base = us ? protobuf_c_message_descriptor_get_field_by_name(d, us + 1) : NULL;
	return base && base->label == PROTOBUF_C_LABEL_REPEATED ? (size_t)(us - f->name) : 0;
}

static struct table *table_of(struct table *tables, size_t n, const ProtobufCMessageDescriptor *d,
			      const ProtobufCFieldDescriptor *f)
{
	size_t plen = group_prefix_len(d, f);
	for (size_t i = 0; i < n; i++) {
		if (tables[i].prefix_len == plen && !strncmp(tables[i].prefix, f->name, plen)) {
			return &tables[i];
		}
	}
	return NULL;
}

static size_t find_tables(const ProtobufCMessage *msg, struct table *tables)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	size_t n = 0;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (!is_column(msg, f)) {
			continue;
		}
		struct table *t = table_of(tables, n, d, f);
		if (!t && n < MAX_TABLES) {
			t = &tables[n++];
			*t = (struct table){ .prefix = f->name, .prefix_len = group_prefix_len(d, f),
					     .len = field_count(msg, f) };
		}
		if (t && field_count(msg, f) == t->len) {
			t->cols++;
		}
	}
	return n;
}

/* Is @f printed as a column of a table (two or more columns of the same length)? */
static bool in_table(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, struct table *tables, size_t n)
{
	if (!is_column(msg, f)) {
		return false;
	}
	const struct table *t = table_of(tables, n, msg->descriptor, f);
	return t && t->cols >= 2 && field_count(msg, f) == t->len;
}

/* A column is as wide as its name (without the group's prefix) and a space, at least 14. */
static int column_width(const char *name)
{
	int len = (int)strlen(name) + 1;
	return len > 14 ? len : 14;
}

static void print_table(FILE *out, const ProtobufCMessage *msg, const struct table *t, struct table *tables,
			size_t n, int indent, size_t max)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	size_t skip = t->prefix_len ? t->prefix_len + 1 : 0;
	fprintf(out, "%*s(%zu %.*s%srecords)\n%*s", indent, "", t->len, (int)t->prefix_len, t->prefix,
		t->prefix_len ? " " : "", indent, "");
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (in_table(msg, f, tables, n) && table_of(tables, n, d, f) == t) {
			fprintf(out, "%-*s", column_width(f->name + skip), f->name + skip);
		}
	}
	fputc('\n', out);
	for (size_t k = 0; k < t->len && k < max; k++) {
		fprintf(out, "%*s", indent, "");
		for (unsigned i = 0; i < d->n_fields; i++) {
			const ProtobufCFieldDescriptor *f = &d->fields[i];
			if (!in_table(msg, f, tables, n) || table_of(tables, n, d, f) != t) {
				continue;
			}
			char cell[64];
			FILE *mem = fmemopen(cell, sizeof(cell), "w");
			if (mem) {
				print_value(mem, f, *(const char *const *)field_ptr(msg, f) + k * elem_size(f));
				fclose(mem);
				cell[sizeof(cell) - 1] = '\0';
				fprintf(out, "%-*s", column_width(f->name + skip), cell);
			}
		}
		fputc('\n', out);
	}
	if (t->len > max) {
		fprintf(out, "%*s... %zu more records\n", indent, "", t->len - max);
	}
}

void pbprint_message(FILE *out, const ProtobufCMessage *msg, int indent, const struct pbprint_options *opts)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	size_t max = opts && opts->max_rows ? opts->max_rows : SIZE_MAX;
	/* Struct of arrays: repeated scalars of a group sharing one length print as a table. */
	struct table tables[MAX_TABLES];
	size_t n_tables = find_tables(msg, tables);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (!present(msg, f) || in_table(msg, f, tables, n_tables)) {
			continue;
		}
		const void *p = field_ptr(msg, f);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = field_count(msg, f);
			const char *base = *(const char *const *)p;
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				fprintf(out, "%*s%s: (%zu)\n", indent, "", f->name, n);
				for (size_t k = 0; k < n && k < max; k++) {
					fprintf(out, "%*s- \n", indent + 2, "");
					pbprint_message(out, ((ProtobufCMessage *const *)base)[k], indent + 4, opts);
				}
				if (n > max) {
					fprintf(out, "%*s... %zu more\n", indent + 2, "", n - max);
				}
			} else {
				fprintf(out, "%*s%s: [", indent, "", f->name);
				for (size_t k = 0; k < n && k < max; k++) {
					fputs(k ? ", " : "", out);
					print_value(out, f, base + k * elem_size(f));
				}
				fprintf(out, n > max ? ", ... %zu more]\n" : "]\n", n - max);
			}
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			fprintf(out, "%*s%s:\n", indent, "", f->name);
			pbprint_message(out, *(ProtobufCMessage *const *)p, indent + 2, opts);
		} else {
			fprintf(out, "%*s%s: ", indent, "", f->name);
			print_value(out, f, p);
			/* Simulated timestamps also as a date a person reads. */
			size_t len = strlen(f->name);
			if (f->type == PROTOBUF_C_TYPE_INT64 && len > 3 && !strcmp(f->name + len - 3, "_ms") &&
			    *(const int64_t *)p > 100000000000LL) {
				char when[32];
				fprintf(out, " (%s)", fs_calendar_format(*(const int64_t *)p, when, sizeof(when)));
			}
			fputc('\n', out);
		}
	}
	for (size_t t = 0; t < n_tables; t++) {
		if (tables[t].cols >= 2) {
			print_table(out, msg, &tables[t], tables, n_tables, indent, max);
		}
	}
}
