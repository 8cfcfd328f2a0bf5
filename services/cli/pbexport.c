/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pbexport - protobuf-c messages as CSV rows and JSON objects, field
 * selection and the vehicle filter, all by reflection (see pbprint.h).
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/calendar.h"
#include "fs_log.h"
#include "pbprint.h"

/* ---- field paths ---------------------------------------------------------------- */

bool pbprint_field_exists(const ProtobufCMessageDescriptor *d, const char *path, char *why, size_t size)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	for (char *name = strtok_r(buf, ".", &save); name; name = strtok_r(NULL, ".", &save)) {
		const ProtobufCFieldDescriptor *f = d ? protobuf_c_message_descriptor_get_field_by_name(d, name) : NULL;
		if (!f) {
			size_t len = (size_t)snprintf(why, size, "%s has no field '%s'%s", d ? d->name : "a scalar", name,
						      d ? " (fields:" : "");
			for (unsigned i = 0; d && i < d->n_fields && len < size; i++) {
				len += (size_t)snprintf(why + len, size - len, " %s", d->fields[i].name);
			}
			if (d && len < size) {
				snprintf(why + len, size - len, ")");
			}
			return false;
		}
		d = f->type == PROTOBUF_C_TYPE_MESSAGE ? f->descriptor : NULL;
	}
	return true;
}

/* ---- the vehicle filter ---------------------------------------------------------- */

static bool is_vehicle_id(const ProtobufCFieldDescriptor *f)
{
	return !strcmp(f->name, "vehicle_id") && pbprint_is_scalar(f) && f->type != PROTOBUF_C_TYPE_STRING &&
	       f->type != PROTOBUF_C_TYPE_FLOAT && f->type != PROTOBUF_C_TYPE_DOUBLE && f->type != PROTOBUF_C_TYPE_BOOL;
}

static uint64_t int_at(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (pbprint_elem_size(f)) {
	case 8:
		return *(const uint64_t *)p;
	default:
		return *(const uint32_t *)p;
	}
}

static void free_element(const ProtobufCFieldDescriptor *f, void *p)
{
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		protobuf_c_message_free_unpacked(*(ProtobufCMessage **)p, NULL);
	} else if (f->type == PROTOBUF_C_TYPE_STRING) {
		char *s = *(char **)p;
		if (s && s != protobuf_c_empty_string) {
			free(s);
		}
	} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
		free(((ProtobufCBinaryData *)p)->data);
	}
}

/* Keep the elements of list @f marked in @keep (@n of them), freeing the others. */
static void compact(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, const bool *keep, size_t n)
{
	char *base = *(char **)((char *)msg + f->offset);
	size_t size = pbprint_elem_size(f), kept = 0;
	for (size_t k = 0; k < n; k++) {
		if (!keep[k]) {
			free_element(f, base + k * size);
			continue;
		}
		if (kept != k) {
			memmove(base + kept * size, base + k * size, size);
		}
		kept++;
	}
	*(size_t *)((char *)msg + f->quantifier_offset) = kept;
}

/* A struct-of-arrays batch: keep record k of every list of @vid's length where vehicle_id[k] == @id. */
static enum pbprint_vehicle_match filter_records(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *vid,
						 uint64_t id)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	size_t n = pbprint_count(msg, vid);
	bool *keep = fs_xcalloc(n ? n : 1, sizeof(*keep));
	const char *ids = *(const char *const *)pbprint_field(msg, vid);
	bool any = false;
	for (size_t k = 0; k < n; k++) {
		keep[k] = int_at(vid, ids + k * pbprint_elem_size(vid)) == id;
		any |= keep[k];
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->label == PROTOBUF_C_LABEL_REPEATED && pbprint_count(msg, f) == n) {
			compact(msg, f, keep, n);
		}
	}
	free(keep);
	return any ? PBPRINT_THIS_VEHICLE : PBPRINT_OTHER_VEHICLE;
}

enum pbprint_vehicle_match pbprint_filter_vehicle(ProtobufCMessage *msg, uint64_t id)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (is_vehicle_id(f) && f->label != PROTOBUF_C_LABEL_REPEATED) {
			return int_at(f, pbprint_field(msg, f)) == id ? PBPRINT_THIS_VEHICLE : PBPRINT_OTHER_VEHICLE;
		}
		if (is_vehicle_id(f)) {
			return filter_records(msg, f, id);
		}
	}
	bool about_vehicles = false, match = false;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE || !pbprint_present(msg, f)) {
			continue;
		}
		ProtobufCMessage **p = (ProtobufCMessage **)((char *)msg + f->offset);
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			enum pbprint_vehicle_match r = pbprint_filter_vehicle(*p, id);
			about_vehicles |= r != PBPRINT_NO_VEHICLE;
			match |= r == PBPRINT_THIS_VEHICLE;
			continue;
		}
		size_t n = pbprint_count(msg, f);
		bool *keep = fs_xcalloc(n ? n : 1, sizeof(*keep));
		ProtobufCMessage **items = *(ProtobufCMessage ***)p;
		for (size_t k = 0; k < n; k++) {
			enum pbprint_vehicle_match r = pbprint_filter_vehicle(items[k], id);
			keep[k] = r != PBPRINT_OTHER_VEHICLE; /* items about no vehicle stay: they are context */
			about_vehicles |= r != PBPRINT_NO_VEHICLE;
			match |= r == PBPRINT_THIS_VEHICLE;
		}
		compact(msg, f, keep, n);
		free(keep);
	}
	return !about_vehicles ? PBPRINT_NO_VEHICLE : match ? PBPRINT_THIS_VEHICLE : PBPRINT_OTHER_VEHICLE;
}

/* ---- CSV ------------------------------------------------------------------------- */

/* One CSV cell from printed text: quoted when it holds a separator, a quote or a line break. */
static void csv_cell(FILE *out, const char *text, bool first)
{
	if (!first) {
		fputc(',', out);
	}
	if (!strpbrk(text, ",\"\n\r")) {
		fputs(text, out);
		return;
	}
	fputc('"', out);
	for (const char *c = text; *c; c++) {
		if (*c == '"') {
			fputc('"', out);
		}
		fputc(*c, out);
	}
	fputc('"', out);
}

/* A list that is not the rows' source, as one cell: its values separated by spaces. */
static void list_text(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, char *buf, size_t size)
{
	const char *base = *(const char *const *)pbprint_field(msg, f);
	size_t n = pbprint_count(msg, f), len = 0;
	buf[0] = '\0';
	for (size_t k = 0; k < n && len + 1 < size; k++) {
		char one[128];
		pbprint_value_text(f, base + k * pbprint_elem_size(f), one, sizeof(one));
		len += (size_t)snprintf(buf + len, size - len, "%s%s", k ? " " : "", one);
	}
}

struct csv_line {
	FILE *header, *row;
	bool first;
};

static void csv_put(struct csv_line *l, const char *name, const char *value)
{
	csv_cell(l->header, name, l->first);
	csv_cell(l->row, value, l->first);
	l->first = false;
}

/*
 * The columns every row of @msg shares: its singular scalars (and those of
 * its singular sub-messages, as a.b), and lists other than the rows' own as
 * one cell. @table_len: skip the table's columns; @rows_list: skip that list.
 */
static void csv_flat(struct csv_line *l, const ProtobufCMessage *msg, const struct pbprint_options *opts,
		     const char *prefix, size_t table_len, const ProtobufCFieldDescriptor *rows_list)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f == rows_list || !pbprint_present(msg, f) || !pbprint_selected(opts, prefix, f->name) ||
		    pbprint_in_table(msg, f, table_len)) {
			continue;
		}
		char path[256], text[4096];
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", f->name);
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED) {
			csv_flat(l, *(ProtobufCMessage *const *)pbprint_field(msg, f), opts, path, 0, NULL);
		} else if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
			if (f->label == PROTOBUF_C_LABEL_REPEATED) {
				list_text(msg, f, text, sizeof(text));
			} else {
				pbprint_value_text(f, pbprint_field(msg, f), text, sizeof(text));
			}
			csv_put(l, path, text);
		}
	}
}

static void csv_meta(struct csv_line *l, const struct pbprint_meta *meta)
{
	char num[32], when[32] = "";
	csv_put(l, "topic", meta->topic);
	csv_put(l, "sender", meta->sender);
	snprintf(num, sizeof(num), "%" PRIu64, meta->tick);
	csv_put(l, "tick", num);
	if (meta->sim_time_ms) {
		fs_calendar_format(meta->sim_time_ms, when, sizeof(when));
	}
	csv_put(l, "sim_time_utc", when);
}

/* Emit the line: a header first if the columns are not the last header's. */
static void csv_emit(FILE *out, char *hbuf, char *rbuf, struct pbprint_csv_state *state)
{
	if (!state->header || strcmp(state->header, hbuf)) {
		fprintf(out, "%s\n", hbuf);
		free(state->header);
		state->header = fs_xstrdup(hbuf);
	}
	fprintf(out, "%s\n", rbuf);
	free(hbuf);
	free(rbuf);
}

/* The first selected list of sub-messages that holds items: its items are the rows. */
static const ProtobufCFieldDescriptor *rows_list(const ProtobufCMessage *msg, const struct pbprint_options *opts)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label == PROTOBUF_C_LABEL_REPEATED &&
		    pbprint_count(msg, f) > 0 && pbprint_selected(opts, "", f->name)) {
			return f;
		}
	}
	return NULL;
}

static size_t csv_rows(const ProtobufCMessage *msg, const struct pbprint_options *opts, size_t *ret_table_len,
		       const ProtobufCFieldDescriptor **ret_list)
{
	*ret_list = NULL;
	if (pbprint_table(msg, opts, "", ret_table_len) >= 1) {
		return *ret_table_len;
	}
	*ret_table_len = 0;
	*ret_list = rows_list(msg, opts);
	return *ret_list ? pbprint_count(msg, *ret_list) : 1;
}

void pbprint_csv(FILE *out, const struct pbprint_meta *meta, const ProtobufCMessage *msg,
		 const struct pbprint_options *opts, struct pbprint_csv_state *state)
{
	size_t table_len;
	const ProtobufCFieldDescriptor *list;
	size_t rows = csv_rows(msg, opts, &table_len, &list);
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	for (size_t k = 0; k < rows; k++) {
		char *hbuf = NULL, *rbuf = NULL;
		size_t hlen, rlen;
		struct csv_line l = { open_memstream(&hbuf, &hlen), open_memstream(&rbuf, &rlen), true };
		if (!l.header || !l.row) {
			fs_error("out of memory for a CSV row");
			abort();
		}
		csv_meta(&l, meta);
		csv_flat(&l, msg, opts, "", table_len, list);
		for (unsigned i = 0; table_len && i < d->n_fields; i++) {
			const ProtobufCFieldDescriptor *f = &d->fields[i];
			if (pbprint_in_table(msg, f, table_len) && pbprint_selected(opts, "", f->name)) {
				char text[128];
				pbprint_value_text(f, *(const char *const *)pbprint_field(msg, f) + k * pbprint_elem_size(f), text,
					   sizeof(text));
				csv_put(&l, f->name, text);
			}
		}
		if (list) {
			const ProtobufCMessage *item = (*(ProtobufCMessage *const *const *)pbprint_field(msg, list))[k];
			csv_flat(&l, item, opts, list->name, 0, NULL);
		}
		fclose(l.header); /* sets hbuf, rbuf */
		fclose(l.row);
		csv_emit(out, hbuf, rbuf, state);
	}
	fflush(out);
}

void pbprint_csv_finish(struct pbprint_csv_state *state)
{
	free(state->header);
	state->header = NULL;
}

/* ---- JSON ------------------------------------------------------------------------ */

static json_t *json_scalar(const ProtobufCFieldDescriptor *f, const void *p)
{
	char text[128];
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t v = *(const uint64_t *)p;
		return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
	}
	case PROTOBUF_C_TYPE_FLOAT: {
		double v = (double)*(const float *)p;
		/* a float's own digits, not the double's: 0.3f is 0.3, not 0.30000001192092896 */
		snprintf(text, sizeof(text), "%.7g", v);
		return isfinite(v) ? json_real(strtod(text, NULL)) : json_null();
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		double v = *(const double *)p;
		return isfinite(v) ? json_real(v) : json_null();
	}
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p ? *(char *const *)p : "";
		json_t *j = json_string(s);
		return j ? j : json_null(); /* not UTF-8 */
	}
	default:
		pbprint_value_text(f, p, text, sizeof(text)); /* enum names; bytes as their size */
		return json_string(text);
	}
}

static json_t *json_message(const ProtobufCMessage *msg, const struct pbprint_options *opts, const char *prefix)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	json_t *obj = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (!pbprint_present(msg, f) || !pbprint_selected(opts, prefix, f->name)) {
			continue;
		}
		char path[256];
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", f->name);
		const void *p = pbprint_field(msg, f);
		json_t *v;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			v = json_array();
			const char *base = *(const char *const *)p;
			for (size_t k = 0; k < pbprint_count(msg, f); k++) {
				const void *e = base + k * pbprint_elem_size(f);
				json_array_append_new(v, f->type == PROTOBUF_C_TYPE_MESSAGE
								 ? json_message(*(ProtobufCMessage *const *)e, opts, path)
								 : json_scalar(f, e));
			}
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			v = json_message(*(ProtobufCMessage *const *)p, opts, path);
		} else {
			v = json_scalar(f, p);
		}
		json_object_set_new(obj, f->name, v);
	}
	return obj;
}

void pbprint_json(FILE *out, const struct pbprint_meta *meta, const ProtobufCMessage *msg,
		  const struct pbprint_options *opts)
{
	char when[32];
	json_t *root = json_object();
	json_object_set_new(root, "topic", json_string(meta->topic));
	json_object_set_new(root, "sender", json_string(meta->sender));
	json_object_set_new(root, "seq", json_integer((json_int_t)meta->seq));
	json_object_set_new(root, "tick", json_integer((json_int_t)meta->tick));
	json_object_set_new(root, "sim_time_ms", meta->sim_time_ms ? json_integer(meta->sim_time_ms) : json_null());
	json_object_set_new(root, "sim_time_utc",
			    meta->sim_time_ms ? json_string(fs_calendar_format(meta->sim_time_ms, when, sizeof(when)))
					      : json_null());
	json_object_set_new(root, "type", json_string(meta->type));
	json_object_set_new(root, "payload", json_message(msg, opts, ""));
	json_dumpf(root, out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
	fputc('\n', out);
	fflush(out);
	json_decref(root);
}
