/* SPDX-License-Identifier: Apache-2.0 */
/* recorder - bus messages into MCAP (see recorder.h for the channel and time layout). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs_args.h"
#include "fs_clock.h"
#include "fs/alloc.h"
#include "fs/file_load.h"
#include "fs/grow.h"
#include "fs_log.h"
#include "fs_strmap.h"
#include "fs_topic.h"
#include "rec_envelope.h"
#include "rec_fleet.h"
#include "recorder.h"

/* The FileDescriptorSet of the proto/ files, generated at build time (embed.c). */
extern const unsigned char fs_descriptor_set[];
extern const size_t fs_descriptor_set_size;

#define MAX_CHANNELS 60000
#define MAX_STREAMS 65536
#define PREROLL_MAX_MESSAGES 100000
#define PREROLL_MAX_BYTES ((size_t)256 << 20)

struct held {
	char topic[FS_TOPIC_MAX];
	uint8_t *data;
	size_t size;
	uint64_t wall_ns;
};

struct recorder {
	struct fs_mcap_writer *w;
	int schema_id;
	struct fs_strmap channels; /* topic -> channel id + 1 */
	uint32_t *channel_seq;
	size_t n_channel_seq;
	struct fs_strmap streams;  /* sender \0 topic -> last topic_seq */
	uint64_t clock_ns;         /* latest simulated time seen */
	bool clock_known;
	struct held *held;
	size_t n_held, held_bytes;
	int flush_ms;
	int64_t chunk_opened_ms;   /* wall time of the first message of the open chunk */
	struct recorder_stats stats;
	struct rec_fleet *fleet;   /* NULL: no derived channels */
	int fleet_channel[2];      /* /fleet/geojson, /fleet/center; -1 until first written */
	uint32_t fleet_seq[2];
};

uint64_t recorder_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct recorder *recorder_open(const char *path, const struct recorder_options *opts, struct fs_error *err)
{
	struct recorder_options o = opts ? *opts : (struct recorder_options){ 0 };
	char library[64];
	snprintf(library, sizeof(library), "fleetsim %s fs_mcap", FS_VERSION);
	struct fs_mcap_writer_options wo = {
		.profile = RECORDER_PROFILE,
		.library = library,
		.chunk_bytes = o.chunk_bytes,
		.compression = o.compression,
	};
	struct fs_mcap_writer *w = fs_mcap_writer_open(path, &wo, err);
	if (!w) {
		return NULL;
	}
	struct recorder *r = fs_xcalloc(1, sizeof(*r));
	r->w = w;
	r->flush_ms = o.flush_ms > 0 ? o.flush_ms : 1000;
	r->schema_id = fs_mcap_writer_add_schema(w, RECORDER_SCHEMA_NAME, "protobuf", fs_descriptor_set,
						 fs_descriptor_set_size);
	fs_strmap_init(&r->channels, MAX_CHANNELS);
	fs_strmap_init(&r->streams, MAX_STREAMS);
	if (o.fleet_every_ms >= 0) {
		r->fleet = rec_fleet_create(o.fleet_every_ms, o.fleet_every_ms == 0);
	}
	r->fleet_channel[0] = r->fleet_channel[1] = -1;
	if (r->schema_id < 0) {
		fs_error_set(err, r->schema_id, "%s: cannot register the schema", path);
		fs_mcap_writer_abandon(w);
		r->w = NULL;
		recorder_close(r);
		return NULL;
	}
	return r;
}

int recorder_add_run(struct recorder *r, int argc, char **argv, const struct fs_mcap_kv *extra, size_t n_extra)
{
	json_t *args = json_array();
	for (int i = 0; i < argc; i++) {
		json_array_append_new(args, json_string(argv[i]));
	}
	const char *scenario = fs_args_last_value(argc, argv, "--scenario");
	char *argv_json = json_dumps(args, JSON_COMPACT);
	json_decref(args);
	char cwd[PATH_MAX] = "", host[256] = "", started[32];
	if (!getcwd(cwd, sizeof(cwd))) {
		cwd[0] = '\0';
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(started, sizeof(started), "%" PRIu64, recorder_wall_ns());
	struct fs_mcap_kv kv[32];
	size_t n = 0;
	kv[n++] = (struct fs_mcap_kv){ "argv", argv_json ? argv_json : "[]" };
	kv[n++] = (struct fs_mcap_kv){ "cwd", cwd };
	kv[n++] = (struct fs_mcap_kv){ "host", host };
	kv[n++] = (struct fs_mcap_kv){ "recorder_started_unix_ns", started };
	kv[n++] = (struct fs_mcap_kv){ "fleetsim_version", FS_VERSION };
	for (size_t i = 0; i < n_extra && n < 32; i++) {
		kv[n++] = extra[i];
	}
	int rc = fs_mcap_writer_add_metadata(r->w, RECORDER_RUN_METADATA, kv, n);
	free(argv_json);
	if (rc < 0 || !scenario) {
		return rc;
	}
	char *data = NULL;
	size_t size = 0;
	struct fs_error err = { "" };
	rc = fs_file_load(scenario, 0, &data, &size, &err);
	if (rc == -ENOMEM) {
		return rc;
	}
	if (rc < 0) {
		fs_warn("cannot embed the scenario (%s); replay will need the file", err.message);
		return 0;
	}
	rc = fs_mcap_writer_add_attachment(r->w, "scenario.yaml", "application/yaml", 0, data, size);
	fs_free(data);
	return rc;
}

static int channel_for(struct recorder *r, const char *topic, size_t len)
{
	uint64_t *slot = fs_strmap_get(&r->channels, topic, len);
	if (!slot) {
		return -ENOSPC;
	}
	if (*slot) {
		return (int)(*slot - 1);
	}
	char name[FS_TOPIC_MAX];
	snprintf(name, sizeof(name), "%.*s", (int)len, topic);
	const struct fs_topic_info *info = fs_topic_lookup(topic, len);
	char field[64] = "";
	struct fs_mcap_kv meta[2] = {
		{ "payload", info ? info->descriptor->name : "unknown" },
		{ "envelope_field", field },
	};
	if (info) {
		/* The Envelope field that carries this topic's payload, for viewer message paths. */
		const ProtobufCFieldDescriptor *fd =
			protobuf_c_message_descriptor_get_field(&fleetsim__v1__envelope__descriptor, (unsigned)info->payload);
		snprintf(field, sizeof(field), "%s", fd ? fd->name : "");
	}
	int id = fs_mcap_writer_add_channel(r->w, (uint16_t)r->schema_id, name, "protobuf", meta, 2);
	if (id < 0) {
		return id;
	}
	*slot = (uint64_t)id + 1;
	if (FS_GROW_ZEROED(r->channel_seq, r->n_channel_seq, (size_t)id + 1) < 0) {
		return -ENOMEM;
	}
	return id;
}

static void track_gap(struct recorder *r, const struct rec_envelope *e, const char *topic, size_t topic_len)
{
	char key[FS_TOPIC_MAX * 2 + 2];
	if (e->sender_len + topic_len + 1 > sizeof(key) || !e->topic_seq) {
		return;
	}
	memcpy(key, e->sender, e->sender_len);
	key[e->sender_len] = '\0';
	memcpy(key + e->sender_len + 1, topic, topic_len);
	uint64_t *last = fs_strmap_get(&r->streams, key, e->sender_len + 1 + topic_len);
	if (!last) {
		return;
	}
	if (*last && e->topic_seq > *last + 1) {
		uint64_t missing = e->topic_seq - *last - 1;
		r->stats.gaps += missing;
		if (fs_log_should(r->stats.gaps)) {
			fs_warn("%" PRIu64 " message(s) missing from '%.*s' on '%.*s' (sequence %" PRIu64 " after %" PRIu64
				") [%" PRIu64 " gaps so far]",
				missing, (int)e->sender_len, e->sender, (int)topic_len, topic, e->topic_seq, *last,
				r->stats.gaps);
		}
	}
	*last = e->topic_seq;
}

static int append(struct recorder *r, const char *topic, size_t topic_len, const uint8_t *data, size_t size,
		  uint64_t log_ns, uint64_t wall_ns)
{
	int id = channel_for(r, topic, topic_len);
	if (id < 0) {
		if (id == -ENOSPC) {
			r->stats.channels_full++;
			return 0;
		}
		return id;
	}
	if (fs_mcap_writer_pending(r->w) == 0) {
		r->chunk_opened_ms = fs_clock_now_ms();
	}
	int rc = fs_mcap_writer_write(r->w, (uint16_t)id, ++r->channel_seq[id], log_ns, wall_ns, data, size);
	if (rc < 0) {
		return rc;
	}
	r->stats.messages++;
	r->stats.bytes += size;
	const struct fs_mcap_stats *ws = fs_mcap_writer_stats(r->w);
	r->stats.chunks = ws->chunk_count;
	r->stats.file_bytes = ws->bytes;
	return 0;
}

/* A derived channel's schema and channel, registered when first written. */
static int fleet_channel(struct recorder *r, int which)
{
	if (r->fleet_channel[which] >= 0) {
		return r->fleet_channel[which];
	}
	static const struct {
		const char *topic, *schema_name, *schema;
	} kinds[2] = {
		{ REC_FLEET_GEOJSON_TOPIC, REC_FLEET_GEOJSON_SCHEMA, rec_fleet_geojson_schema },
		{ REC_FLEET_CENTER_TOPIC, REC_FLEET_LOCATION_SCHEMA, rec_fleet_location_schema },
	};
	int sid = fs_mcap_writer_add_schema(r->w, kinds[which].schema_name, "jsonschema", kinds[which].schema,
					    strlen(kinds[which].schema));
	if (sid < 0) {
		return sid;
	}
	struct fs_mcap_kv meta[] = { { "derived_from", "veh.state veh.snapshot (docs/recording.md, Foxglove)" } };
	int id = fs_mcap_writer_add_channel(r->w, (uint16_t)sid, kinds[which].topic, "json", meta, 1);
	if (id >= 0) {
		r->fleet_channel[which] = id;
	}
	return id;
}

static int write_derived(struct recorder *r, int which, const char *json, size_t len, uint64_t log_ns, uint64_t wall_ns)
{
	int id = fleet_channel(r, which);
	if (id < 0) {
		return id;
	}
	if (fs_mcap_writer_pending(r->w) == 0) {
		r->chunk_opened_ms = fs_clock_now_ms();
	}
	int rc = fs_mcap_writer_write(r->w, (uint16_t)id, ++r->fleet_seq[which], log_ns, wall_ns, json, len);
	return rc;
}

static int write_sample(struct recorder *r, const struct rec_fleet_sample *s, uint64_t wall_ns)
{
	uint64_t t = (uint64_t)s->t_ms * 1000000u;
	int rc = write_derived(r, 0, s->geojson, s->geojson_len, t, wall_ns);
	if (rc == 0 && s->center) {
		rc = write_derived(r, 1, s->center, s->center_len, t, wall_ns);
	}
	r->stats.fleet_samples += rc == 0;
	return rc;
}

/*
 * The fleet's samples due before a message stamped @t_ms is recorded, then
 * that message into the fleet's mirror if it carries vehicle records.
 */
static int observe_fleet(struct recorder *r, const char *topic, size_t topic_len, const uint8_t *data, size_t size,
			 int64_t t_ms, uint64_t wall_ns)
{
	struct rec_fleet_sample s;
	while (rec_fleet_due(r->fleet, t_ms, &s)) {
		int rc = write_sample(r, &s, wall_ns);
		if (rc < 0) {
			return rc;
		}
	}
	bool records = (topic_len == 9 && !memcmp(topic, "veh.state", 9)) ||
		       (topic_len == 12 && !memcmp(topic, "veh.snapshot", 12));
	if (records) {
		Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, size, data);
		if (env) {
			rec_fleet_apply(r->fleet, env);
			fleetsim__v1__envelope__free_unpacked(env, NULL);
		}
	}
	return 0;
}

static int release_held(struct recorder *r)
{
	int rc = 0;
	for (size_t i = 0; i < r->n_held; i++) {
		struct held *h = &r->held[i];
		if (rc == 0) {
			rc = append(r, h->topic, strlen(h->topic), h->data, h->size, r->clock_ns, h->wall_ns);
		}
		free(h->data);
	}
	free(r->held);
	r->held = NULL;
	r->n_held = 0;
	r->held_bytes = 0;
	return rc;
}

int recorder_write(struct recorder *r, const char *topic, size_t topic_len, const uint8_t *data, size_t size,
		   uint64_t wall_ns)
{
	struct rec_envelope e;
	if (!fs_topic_valid(topic, topic_len) || rec_envelope_peek(data, size, &e) < 0 || !e.sender_len) {
		r->stats.malformed++;
		if (fs_log_should(r->stats.malformed)) {
			fs_warn("not recorded: a message on '%.*s' that is not a fleetsim envelope [%" PRIu64 " so far]",
				(int)(topic_len < 64 ? topic_len : 64), topic, r->stats.malformed);
		}
		return 0;
	}
	track_gap(r, &e, topic, topic_len);
	if (topic_len == 7 && !memcmp(topic, "ctl.end", 7)) {
		r->stats.seen_end = true;
	}
	if (e.sim_time_ms > 0) {
		uint64_t t = (uint64_t)e.sim_time_ms * 1000000u;
		if (!r->clock_known || t > r->clock_ns) {
			r->clock_ns = t;
		}
		if (!r->clock_known) {
			r->clock_known = true;
			int rc = release_held(r);
			if (rc < 0) {
				return rc;
			}
		}
		if (r->fleet) {
			int rc = observe_fleet(r, topic, topic_len, data, size, e.sim_time_ms, wall_ns);
			if (rc < 0) {
				return rc;
			}
		}
		return append(r, topic, topic_len, data, size, t, wall_ns);
	}
	if (!r->clock_known && r->n_held < PREROLL_MAX_MESSAGES && r->held_bytes + size <= PREROLL_MAX_BYTES &&
	    topic_len < FS_TOPIC_MAX) {
		struct held *h = realloc(r->held, (r->n_held + 1) * sizeof(*h));
		if (!h) {
			return -ENOMEM;
		}
		r->held = h;
		h = &r->held[r->n_held++];
		memcpy(h->topic, topic, topic_len);
		h->topic[topic_len] = '\0';
		h->data = malloc(size ? size : 1);
		if (!h->data) {
			return -ENOMEM;
		}
		memcpy(h->data, data, size);
		h->size = size;
		h->wall_ns = wall_ns;
		r->held_bytes += size;
		return 0;
	}
	if (!r->clock_known && r->n_held) {
		int rc = release_held(r); /* too much before the clock: log it at time 0 */
		if (rc < 0) {
			return rc;
		}
	}
	return append(r, topic, topic_len, data, size, r->clock_ns, wall_ns);
}

int recorder_poll(struct recorder *r, int64_t now_ms)
{
	if (fs_mcap_writer_pending(r->w) && now_ms - r->chunk_opened_ms >= r->flush_ms) {
		int rc = fs_mcap_writer_flush(r->w);
		const struct fs_mcap_stats *ws = fs_mcap_writer_stats(r->w);
		r->stats.chunks = ws->chunk_count;
		r->stats.file_bytes = ws->bytes;
		return rc;
	}
	return 0;
}

const struct recorder_stats *recorder_get_stats(const struct recorder *r)
{
	return &r->stats;
}

int recorder_finish(struct recorder *r)
{
	int rc = release_held(r);
	struct rec_fleet_sample s;
	if (rc == 0 && r->fleet && r->clock_known && rec_fleet_final(r->fleet, (int64_t)(r->clock_ns / 1000000u), &s)) {
		rc = write_sample(r, &s, recorder_wall_ns()); /* the fleet as the recording ends */
	}
	return rc;
}

int recorder_close(struct recorder *r)
{
	if (!r) {
		return 0;
	}
	int rc = 0;
	if (r->w) {
		rc = recorder_finish(r);
		const struct fs_mcap_stats *ws = fs_mcap_writer_stats(r->w);
		r->stats.chunks = ws->chunk_count;
		int crc = fs_mcap_writer_close(r->w);
		rc = rc < 0 ? rc : crc;
	} else {
		release_held(r);
	}
	if (r->fleet && rec_fleet_refused(r->fleet)) {
		fs_warn("%" PRIu64 " vehicle record batch(es) refused by the vehicle codec: recorded, not on the map",
			rec_fleet_refused(r->fleet));
	}
	rec_fleet_destroy(r->fleet);
	fs_strmap_finish(&r->channels);
	fs_strmap_finish(&r->streams);
	free(r->channel_seq);
	free(r);
	return rc;
}
