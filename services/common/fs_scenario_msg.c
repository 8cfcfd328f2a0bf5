/* SPDX-License-Identifier: Apache-2.0 */
/* fs_scenario_msg - scenario events <-> protobuf (see fs_scenario_msg.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/calendar.h"
#include "fs/scenario_load.h"
#include "fs/timezone_load.h"
#include "fs_log.h"
#include "fs_scenario_msg.h"

void fs_scenario_msg_event_free(Fleetsim__V1__ScenarioEvent *m)
{
	if (!m) {
		return;
	}
	for (size_t i = 0; i < m->n_params; i++) {
		free(m->params[i]->key);
		free(m->params[i]->value);
		free(m->params[i]);
	}
	free(m->params);
	free(m->type);
	free(m);
}

Fleetsim__V1__ScenarioEvent *fs_scenario_msg_event_new(const struct fs_scenario *sc, const struct fs_scenario_event *e)
{
	struct fs_scenario_event_text t;
	if (fs_scenario_event_format(sc, e, &t) < 0) {
		return NULL;
	}
	Fleetsim__V1__ScenarioEvent *m = fs_xcalloc(1, sizeof(*m));
	fleetsim__v1__scenario_event__init(m);
	m->type = fs_xstrdup(fs_scenario_event_type_name(e->type));
	m->apply_tick = e->apply_tick == FS_SCN_NEXT_TICK ? 0 : e->apply_tick;
	m->params = fs_xcalloc(t.count ? t.count : 1, sizeof(*m->params));
	for (size_t i = 0; i < t.count; i++) {
		Fleetsim__V1__ScenarioEvent__ParamsEntry *p = fs_xcalloc(1, sizeof(*p));
		fleetsim__v1__scenario_event__params_entry__init(p);
		p->key = fs_xstrdup(t.key[i]);
		p->value = fs_xstrdup(t.value[i]);
		m->params[m->n_params++] = p;
	}
	return m;
}

Fleetsim__V1__ScenarioCommand *fs_scenario_msg_command_new(uint64_t command_id, const struct fs_scenario *sc,
							  const struct fs_scenario_event *events, size_t n)
{
	Fleetsim__V1__ScenarioCommand *c = fs_xcalloc(1, sizeof(*c));
	fleetsim__v1__scenario_command__init(c);
	c->command_id = command_id;
	c->events = fs_xcalloc(n ? n : 1, sizeof(*c->events));
	for (size_t i = 0; i < n; i++) {
		c->events[i] = fs_scenario_msg_event_new(sc, &events[i]);
		if (!c->events[i]) {
			fs_scenario_msg_command_free(c);
			return NULL;
		}
		c->n_events++;
	}
	return c;
}

void fs_scenario_msg_command_free(Fleetsim__V1__ScenarioCommand *c)
{
	if (!c) {
		return;
	}
	for (size_t i = 0; i < c->n_events; i++) {
		fs_scenario_msg_event_free(c->events[i]);
	}
	free(c->events);
	free(c);
}

int fs_scenario_msg_event_parse(const struct fs_scenario *sc, const Fleetsim__V1__ScenarioEvent *m, bool literal_tick,
				uint64_t offset_base_ms, const char *origin, struct fs_scenario_event *ret,
				struct fs_error *err)
{
	if (m->n_params > 64) {
		return fs_error_set(err, -EINVAL, "%s: %zu parameters is too many", origin, m->n_params);
	}
	struct fs_scenario_kv kv[64];
	bool has_time = false;
	for (size_t i = 0; i < m->n_params; i++) {
		if (!m->params[i] || !m->params[i]->key || !m->params[i]->value) {
			return fs_error_set(err, -EINVAL, "%s: a parameter without key or value", origin);
		}
		kv[i] = (struct fs_scenario_kv){ .key = m->params[i]->key, .value = m->params[i]->value };
		has_time |= !strcmp(kv[i].key, "at") || !strcmp(kv[i].key, "from") || !strcmp(kv[i].key, "tick");
	}
	if (has_time && (literal_tick || m->apply_tick)) {
		return fs_error_set(err, -EINVAL, "%s: give the time either as apply_tick or in the params, not both",
				    origin);
	}
	struct fs_scenario_event_source src = { .origin = origin, .offset_base_ms = offset_base_ms };
	struct fs_scenario_event e;
	int rc = fs_scenario_event_parse(sc, m->type, kv, m->n_params, &src, &e, err);
	if (rc < 0) {
		return rc;
	}
	if (!has_time) {
		e.apply_tick = literal_tick || m->apply_tick ? m->apply_tick : FS_SCN_NEXT_TICK;
	}
	*ret = e;
	return 0;
}

int fs_scenario_msg_load(const char *path, struct fs_scenario *sc)
{
	struct fs_error err = { "" };
	int rc = path ? fs_scenario_load(path, sc, &err) : fs_scenario_defaults(sc);
	if (rc < 0 && path) {
		fs_error("%s", err.message);
	} else if (rc < 0) {
		fs_error("%s", rc == -ENOMEM ? "out of memory for the default scenario"
					     : "cannot read the default scenario's time zone from " FS_TZ_DIR
					       " (install the tzdata package: scripts/deps)");
	}
	return rc;
}

int fs_scenario_msg_copy(struct fs_scenario *dst, const struct fs_scenario *src)
{
	int rc = src ? fs_scenario_copy(dst, src) : fs_scenario_defaults(dst);
	if (rc < 0) {
		fs_error("out of memory for the scenario");
	}
	return rc;
}

int fs_scenario_run_argv(const struct fs_scenario *sc, char **ret, int max)
{
	char start[32], buf[FS_SCN_PATH_MAX + 32];
	fs_calendar_format(sc->start_ms, start, sizeof(start));
	int n = 0;
#define ARG(...)                                                                                           \
	do {                                                                                               \
		if (n < max) {                                                                             \
			snprintf(buf, sizeof(buf), __VA_ARGS__);                                           \
			ret[n++] = fs_xstrdup(buf);                                                        \
		}                                                                                          \
	} while (0)
	ARG("--seed=%" PRIu64, sc->seed);
	ARG("--start=%s", start);
	ARG("--duration=%" PRIu64 "ms", sc->duration_ms);
	ARG("--tick-ms=%" PRIu32, sc->tick_ms);
	ARG("--vehicles=%" PRIu32, sc->fleet_size);
	ARG("--shards=%" PRIu32, sc->shards);
	ARG("--phase=%s", fs_scenario_phase_name(sc->phase));
	ARG("--matcher=%s", sc->matcher == FS_SCN_MATCHER_GREEDY ? "greedy" : "batch");
	ARG("--rebalance-s=%g", sc->rebalance_s);
	ARG("--charging=%s", sc->charging ? "yes" : "no");
	ARG("--network=%s", sc->map);
#undef ARG
	return n;
}

size_t fs_scenario_msg_receive(struct fs_bus *bus, const struct fs_scenario *sc, const struct fs_bus_message *msg,
			       void (*on_event)(void *ctx, const struct fs_scenario_event *e), void *ctx)
{
	const Fleetsim__V1__ScenarioCommand *cmd = msg->env->scenario_command;
	if (msg->env->payload_case != FLEETSIM__V1__ENVELOPE__PAYLOAD_SCENARIO_COMMAND ||
	    strcmp(msg->env->sender, "conductor") || strcmp(msg->topic, FS_SCENARIO_APPLY_TOPIC)) {
		fs_bus_reject(bus, msg, "scenario events come from the conductor only");
		return 0; /* counted by the bus as rejected, not as events refused */
	}
	size_t refused = 0;
	for (size_t i = 0; i < cmd->n_events; i++) {
		struct fs_scenario_event e;
		struct fs_error err = { "" };
		if (fs_scenario_msg_event_parse(sc, cmd->events[i], true, 0, "scheduled event", &e, &err) < 0) {
			/* The conductor validated it with the same scenario; a mismatch is a launch error. */
			fs_error("%s (is every service given the same --scenario?)", err.message);
			fs_bus_reject(bus, msg, "scenario event does not validate here");
			refused++;
			continue;
		}
		on_event(ctx, &e);
	}
	return refused;
}
