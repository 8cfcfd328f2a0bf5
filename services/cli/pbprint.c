/* SPDX-License-Identifier: Apache-2.0 */
/* pbprint - reflection-based readable printing of protobuf-c messages (see pbprint.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fs/calendar.h"
#include "pbprint.h"

#define CELL_MAX 64

const void *pbprint_field(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return (const char *)msg + f->offset;
}

size_t pbprint_count(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return *(const size_t *)((const char *)msg + f->quantifier_offset);
}

bool pbprint_is_scalar(const ProtobufCFieldDescriptor *f)
{
	return f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_BYTES;
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

void pbprint_value(FILE *out, const ProtobufCFieldDescriptor *f, const void *p, bool quote)
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
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p ? *(char *const *)p : "";
		fprintf(out, quote ? "\"%s\"" : "%s", s);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES:
		fprintf(out, "<%zu bytes>", ((const ProtobufCBinaryData *)p)->len);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		break;
	}
}

size_t pbprint_elem_size(const ProtobufCFieldDescriptor *f)
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

bool pbprint_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		return *(const uint32_t *)((const char *)msg + f->quantifier_offset) == f->id;
	}
	if (f->label != PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE) {
		return *(ProtobufCMessage *const *)pbprint_field(msg, f) != NULL;
	}
	return true; /* scalars, zeros included; lists, empty included */
}

bool pbprint_selected(const struct pbprint_options *opts, const char *prefix, const char *name)
{
	if (!opts || !opts->n_fields) {
		return true;
	}
	char path[256];
	snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
	size_t len = strlen(path);
	for (size_t i = 0; i < opts->n_fields; i++) {
		const char *sel = opts->fields[i];
		size_t sl = strlen(sel);
		/* the field itself, one on the way to a selected field, or one inside a selected message */
		if (!strcmp(sel, path) || (sl > len && !strncmp(sel, path, len) && sel[len] == '.') ||
		    (len > sl && !strncmp(path, sel, sl) && path[sl] == '.')) {
			return true;
		}
	}
	return false;
}

/*
 * Arrays named PREFIX_NAME beside an array NAME are a family of their own (a
 * vehicle batch's moves beside its full records): the length of PREFIX_, or 0.
 * Two families of equal length must not share a table: a row would mix them.
 */
static size_t family_len(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
	for (const char *u = strchr(f->name, '_'); u; u = strchr(u + 1, '_')) {
		const ProtobufCFieldDescriptor *g = protobuf_c_message_descriptor_get_field_by_name(d, u + 1);
		if (g && g->label == PROTOBUF_C_LABEL_REPEATED) {
			return (size_t)(u - f->name) + 1;
		}
	}
	return 0;
}

/* The table is the family of the first non-empty array, in the message's field order. */
static bool in_table_family(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *first = &d->fields[i];
		if (first->label == PROTOBUF_C_LABEL_REPEATED && pbprint_is_scalar(first) && pbprint_count(msg, first) > 0) {
			size_t a = family_len(d, first), b = family_len(d, f);
			return a == b && !strncmp(first->name, f->name, a);
		}
	}
	return true;
}

size_t pbprint_table(const ProtobufCMessage *msg, const struct pbprint_options *opts, const char *prefix,
		     size_t *ret_len)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	size_t len = 0, cols = 0;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->label == PROTOBUF_C_LABEL_REPEATED && pbprint_is_scalar(f) && pbprint_count(msg, f) > 0 &&
		    pbprint_selected(opts, prefix, f->name) && in_table_family(msg, f)) {
			if (!cols) {
				len = pbprint_count(msg, f);
			}
			cols += pbprint_count(msg, f) == len;
		}
	}
	*ret_len = len;
	return cols;
}

bool pbprint_in_table(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, size_t len)
{
	return len && f->label == PROTOBUF_C_LABEL_REPEATED && pbprint_is_scalar(f) && pbprint_count(msg, f) == len &&
	       in_table_family(msg, f);
}

void pbprint_value_text(const ProtobufCFieldDescriptor *f, const void *p, char *buf, size_t size)
{
	FILE *mem = fmemopen(buf, size, "w");
	buf[0] = '\0';
	if (mem) {
		pbprint_value(mem, f, p, false);
		fclose(mem);
		buf[size - 1] = '\0';
	}
}

static void cell_text(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, size_t k, char *cell)
{
	pbprint_value_text(f, *(const char *const *)pbprint_field(msg, f) + k * pbprint_elem_size(f), cell, CELL_MAX);
}

/*
 * The struct-of-arrays table: columns as wide as their widest cell, and only
 * as many as fit @opts->width (a 180-column batch wraps into noise); the
 * rest are named so the user can pick them with --field.
 */
static void print_table(FILE *out, const ProtobufCMessage *msg, int indent, size_t len, size_t max,
			const struct pbprint_options *opts, const char *prefix)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	size_t rows = len < max ? len : max;
	const ProtobufCFieldDescriptor *cols[256];
	size_t widths[256], ncols = 0, used = (size_t)indent, hidden = 0;
	char hidden_names[512] = "";
	for (unsigned i = 0; i < d->n_fields && ncols < 256; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (!pbprint_in_table(msg, f, len) || !pbprint_selected(opts, prefix, f->name)) {
			continue;
		}
		size_t w = strlen(f->name);
		for (size_t k = 0; k < rows; k++) {
			char cell[CELL_MAX];
			cell_text(msg, f, k, cell);
			w = strlen(cell) > w ? strlen(cell) : w;
		}
		w += 2;
		if (opts && opts->width && used + w > opts->width && ncols > 0) {
			size_t l = strlen(hidden_names);
			snprintf(hidden_names + l, sizeof(hidden_names) - l, "%s%s", hidden ? ", " : "", f->name);
			hidden++;
			continue;
		}
		cols[ncols] = f;
		widths[ncols++] = w;
		used += w;
	}
	fprintf(out, "%*s(%zu records)\n%*s", indent, "", len, indent, "");
	for (size_t c = 0; c < ncols; c++) {
		fprintf(out, "%-*s", c + 1 < ncols ? (int)widths[c] : 0, cols[c]->name);
	}
	fputc('\n', out);
	for (size_t k = 0; k < rows; k++) {
		fprintf(out, "%*s", indent, "");
		for (size_t c = 0; c < ncols; c++) {
			char cell[CELL_MAX];
			cell_text(msg, cols[c], k, cell);
			fprintf(out, "%-*s", c + 1 < ncols ? (int)widths[c] : 0, cell);
		}
		fputc('\n', out);
	}
	if (len > max) {
		fprintf(out, "%*s... %zu more records\n", indent, "", len - max);
	}
	if (hidden) {
		fprintf(out, "%*s(%zu more columns: %s; --field picks them)\n", indent, "", hidden, hidden_names);
	}
}

static void print_fields(FILE *out, const ProtobufCMessage *msg, int indent, const struct pbprint_options *opts,
			 const char *prefix);

static void print_list(FILE *out, const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, int indent,
		       size_t max, const struct pbprint_options *opts, const char *path)
{
	size_t n = pbprint_count(msg, f);
	const char *base = *(const char *const *)pbprint_field(msg, f);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		fprintf(out, "%*s%s: (%zu)\n", indent, "", f->name, n);
		for (size_t k = 0; k < n && k < max; k++) {
			fprintf(out, "%*s- \n", indent + 2, "");
			print_fields(out, ((ProtobufCMessage *const *)(const void *)base)[k], indent + 4, opts, path);
		}
		if (n > max) {
			fprintf(out, "%*s... %zu more\n", indent + 2, "", n - max);
		}
		return;
	}
	fprintf(out, "%*s%s: [", indent, "", f->name);
	for (size_t k = 0; k < n && k < max; k++) {
		fputs(k ? ", " : "", out);
		pbprint_value(out, f, base + k * pbprint_elem_size(f), true);
	}
	fprintf(out, n > max ? ", ... %zu more]\n" : "]\n", n - max);
}

static void print_fields(FILE *out, const ProtobufCMessage *msg, int indent, const struct pbprint_options *opts,
			 const char *prefix)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	size_t max = opts && opts->max_rows ? opts->max_rows : SIZE_MAX;
	size_t table_len = 0;
	bool table = pbprint_table(msg, opts, prefix, &table_len) >= 2;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (!pbprint_present(msg, f) || !pbprint_selected(opts, prefix, f->name) ||
		    (table && pbprint_in_table(msg, f, table_len))) {
			continue;
		}
		char path[256];
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", f->name);
		const void *p = pbprint_field(msg, f);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			print_list(out, msg, f, indent, max, opts, path);
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			fprintf(out, "%*s%s:\n", indent, "", f->name);
			print_fields(out, *(ProtobufCMessage *const *)p, indent + 2, opts, path);
		} else {
			fprintf(out, "%*s%s: ", indent, "", f->name);
			pbprint_value(out, f, p, true);
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
	if (table) {
		print_table(out, msg, indent, table_len, max, opts, prefix);
	}
}

void pbprint_message(FILE *out, const ProtobufCMessage *msg, int indent, const struct pbprint_options *opts)
{
	print_fields(out, msg, indent, opts, "");
}
