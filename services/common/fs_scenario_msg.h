/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_scenario_msg.h - scenario events on the bus: struct fs_scenario_event
 * <-> fleetsim.v1.ScenarioEvent (type, apply_tick, params map), and the
 * conductor's channel for scheduled events.
 *
 * The params map holds the canonical key/value text of fs_scenario_event_format(),
 * so an event read from a file and the same event injected live are the
 * same bytes on the bus and the same struct on arrival.
 *
 * Topics: `fleetctl inject` publishes a ScenarioCommand on "scn.cmd" and
 * waits for a ScenarioAck on "scn.ack". The conductor re-publishes each
 * accepted event, stamped with its tick, on FS_SCENARIO_APPLY_TOPIC just
 * before it starts that tick (one ScenarioCommand per tick, events in
 * schedule order, sender "conductor"): the lockstep then hands it to every
 * participant's on_message right before on_tick(apply_tick).
 */
#ifndef FS_SCENARIO_MSG_H
#define FS_SCENARIO_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"
#include "fs/scenario.h"
#include "fs_bus.h"

#define FS_SCENARIO_APPLY_TOPIC "scn.cmd/apply"

/** A heap ScenarioEvent for @e (apply_tick copied as is); NULL on a bad type. */
Fleetsim__V1__ScenarioEvent *fs_scenario_msg_event_new(const struct fs_scenario *sc, const struct fs_scenario_event *e);
void fs_scenario_msg_event_free(Fleetsim__V1__ScenarioEvent *m);

/**
 * A heap ScenarioCommand with @n events; NULL on a bad event or no memory.
 * Free with fs_scenario_msg_command_free().
 */
Fleetsim__V1__ScenarioCommand *fs_scenario_msg_command_new(uint64_t command_id, const struct fs_scenario *sc,
							  const struct fs_scenario_event *events, size_t n);
void fs_scenario_msg_command_free(Fleetsim__V1__ScenarioCommand *m);

/**
 * Validate @m against @sc into @ret (fs_scenario_event_parse(); @origin names
 * it in messages). With @literal_tick the message's apply_tick is the tick
 * (the conductor's scheduled events); otherwise 0 means "next tick"
 * (FS_SCN_NEXT_TICK) unless the params give a time (at/from/tick). Offsets
 * in the params (at: 20m) count from @offset_base_ms (0: the run's start).
 */
int fs_scenario_msg_event_parse(const struct fs_scenario *sc, const Fleetsim__V1__ScenarioEvent *m, bool literal_tick,
				uint64_t offset_base_ms, const char *origin, struct fs_scenario_event *ret,
				struct fs_error *err);

/**
 * Load the scenario a service was given (--scenario FILE), or the defaults
 * when @path is NULL. Logs the file:line:column error and returns -errno.
 */
int fs_scenario_msg_load(const char *path, struct fs_scenario *sc);
/**
 * A service's own copy of the run's scenario: @src, or the defaults when
 * @src is NULL. Returns 0, or -errno after saying so.
 */
int fs_scenario_msg_copy(struct fs_scenario *dst, const struct fs_scenario *src);

/**
 * The scheduled events of @msg (FS_SCENARIO_APPLY_TOPIC from the conductor),
 * each parsed against @sc and handed to @on_event in order. A message from
 * anyone else, on another topic, or an event that does not validate here is
 * rejected on @bus (counted and logged). Returns how many events did not validate.
 */
size_t fs_scenario_msg_receive(struct fs_bus *bus, const struct fs_scenario *sc, const struct fs_bus_message *msg,
			       void (*on_event)(void *ctx, const struct fs_scenario_event *e), void *ctx);

/**
 * `fleetsim run` flags equivalent to @sc's run settings: --seed, --start,
 * --duration, --tick-ms, --vehicles, --shards, --phase, --matcher,
 * --rebalance-s, --charging, --network. Put them BEFORE the user's own flags: getopt_long keeps the
 * last value, so a flag on the command line overrides the file. Writes at
 * most @max heap strings to @ret (caller frees each) and returns how many.
 */
int fs_scenario_run_argv(const struct fs_scenario *sc, char **ret, int max);

#endif
