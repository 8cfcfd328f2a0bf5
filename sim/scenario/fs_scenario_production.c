/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_scenario_production - the production model a scenario describes: its
 * production and rollout sections, and its production events (supplier
 * shortages, recalls, calibration spikes) as disruptions of the plan.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fs/production.h"
#include "fs/scenario.h"

int fs_production_params_from_scenario(const struct fs_scenario *sc, struct fs_production_params *ret,
				       struct fs_error *err)
{
	/* The scenario's production and rollout sections are the params (one
	 * struct, one set of defaults); only the events are kept apart. */
	struct fs_production_params *p = ret;
	*p = sc->production;
	p->disruption_count = 0;
	for (size_t i = 0; i < sc->event_count; i++) {
		const struct fs_scenario_event *e = &sc->events[i];
		if (e->type != FS_SCN_EVENT_SUPPLIER_SHORTAGE && e->type != FS_SCN_EVENT_RECALL &&
		    e->type != FS_SCN_EVENT_CALIBRATION_SPIKE) {
			continue;
		}
		if (p->disruption_count >= FS_PROD_DISRUPTIONS_MAX) {
			return fs_error_set(err, -EINVAL, "scenario: more than %d production events",
					    FS_PROD_DISRUPTIONS_MAX);
		}
		int rc = fs_production_disruption_from_event(sc, e, &p->disruptions[p->disruption_count++], err);
		if (rc < 0) {
			return rc;
		}
	}
	return fs_production_params_validate(p, err);
}

int fs_production_disruption_from_event(const struct fs_scenario *sc, const struct fs_scenario_event *e,
					struct fs_prod_disruption *ret, struct fs_error *err)
{
	struct fs_prod_disruption d = { 0 };
	int64_t at_ms = sc->start_ms + (int64_t)(e->apply_tick == FS_SCN_NEXT_TICK ? 0 : e->apply_tick) * sc->tick_ms;
	d.start_day = fs_production_day_from_ms(at_ms);
	d.end_day = e->duration_ticks
			    ? fs_production_day_from_ms(at_ms + (int64_t)e->duration_ticks * sc->tick_ms - 1) + 1
			    : INT32_MAX;
	if (d.end_day <= d.start_day) {
		d.end_day = d.start_day + 1;
	}
	snprintf(d.programme, FS_PROD_NAME_MAX, "%s", e->programme);
	switch (e->type) {
	case FS_SCN_EVENT_SUPPLIER_SHORTAGE:
		d.kind = FS_PROD_SUPPLIER_SHORTAGE;
		snprintf(d.plant, FS_PROD_NAME_MAX, "%s", e->plant);
		d.factor = e->factor;
		break;
	case FS_SCN_EVENT_CALIBRATION_SPIKE:
		d.kind = FS_PROD_CALIBRATION_SPIKE;
		d.factor = e->factor;
		break;
	case FS_SCN_EVENT_RECALL:
		d.kind = FS_PROD_RECALL;
		d.build_from_day = fs_production_day_from_ms(e->built_from_ms);
		d.build_to_day = fs_production_day_from_ms(e->built_to_ms);
		d.share = e->share > 0 ? e->share : 1.0;
		d.action = e->recall_action == FS_SCN_RECALL_RETIRE ? FS_PROD_RECALL_RETIRE : FS_PROD_RECALL_REWORK;
		/* grounded as long as the programme's rework takes (every programme: the longest) */
		d.rework_days = 1;
		for (uint32_t g = 0; g < sc->production.programme_count; g++) {
			const struct fs_prod_programme *pg = &sc->production.programmes[g];
			if ((!e->programme[0] || !strcmp(pg->name, e->programme)) && pg->rework_days > d.rework_days) {
				d.rework_days = pg->rework_days;
			}
		}
		break;
	default:
		return fs_error_set(err, -EINVAL, "event type %d is not a production event", e->type);
	}
	*ret = d;
	return 0;
}
