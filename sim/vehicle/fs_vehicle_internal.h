/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle_internal.h - helpers shared by the fs_vehicle*.c and fs_fleet.c
 * files; not part of the public API.
 */
#ifndef FS_VEHICLE_INTERNAL_H
#define FS_VEHICLE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/vehicle.h"

#define MS_PER_H 3600000.0
#define MS_PER_S 1000.0

/* ---- fs_vehicle.c ---- */

/* Append an event about @v (@ev may be NULL: none is kept); @value as the kind defines it. */
void vehicle_event(struct fs_vehicle_events *ev, const struct fs_vehicle *v, int64_t t, int kind,
		   const char *reason, double value);
/* A state change of @v (@kind FS_VEV_STATE_CHANGED, or FS_VEV_TRANSITION_REFUSED) from @from to @to. */
void vehicle_transition_event(struct fs_vehicle_events *ev, const struct fs_vehicle *v, int64_t t, int kind,
			      uint8_t from, uint8_t to, const char *reason);
/* Device @kind number @index of @v is now @health (FS_VEV_DEVICE_HEALTH). */
void vehicle_device_event(struct fs_vehicle_events *ev, const struct fs_vehicle *v, int64_t t, const char *reason,
			  int kind, unsigned index, int health);
/* fs_vehicle_transition() with a reason carried on the state-changed event. */
int vehicle_go(struct fs_vehicle *v, int to, int64_t t, const char *why,
	       struct fs_vehicle_events *ev);
/* Recompute odd_flags and speed_cap_mps from software, city and platform; true if changed. */
bool vehicle_refresh_odd(struct fs_vehicle *v);

/* ---- fs_vehicle_energy.c ---- */

/* The AV stack is on and nothing charges the battery. */
bool vehicle_state_drains(int state);
/* The platform is powered: its fault clock runs. */
bool vehicle_state_powered(int state);
/* Bring battery_kwh and op_ms up to @t (>= acct_ms). */
void vehicle_account(struct fs_vehicle *v, int64_t t);
/* Battery at @t without changing @v. */
double vehicle_battery_at(const struct fs_vehicle *v, int64_t t);
/* Charging power on a plug of @plug_kw after the vehicle's own limit and efficiency. */
double vehicle_plug_power(const struct fs_vehicle_params *p, double plug_kw);

/* ---- fs_vehicle_odd.c ---- */

/* The reason fs_vehicle_accepts_job() gives when energy is short (compare pointers). */
extern const char vehicle_reason_energy[];

/* ---- fs_vehicle_motion.c ---- */

/* Time to drive all of @edge under @v's speed cap and the time-of-day @factor (>= 1 ms). */
int64_t vehicle_edge_ms(const struct fs_vehicle *v, const struct fs_network *net, uint32_t edge,
			double factor);
/* Offset along the current edge at @t. */
double vehicle_offset_at(const struct fs_vehicle *v, int64_t t);
/* Offset at @t on a segment going @from_m -> @to_m over [@start_ms, @end_ms] (FS_NEVER_MS: standing). */
double vehicle_segment_offset_at(float from_m, float to_m, int64_t start_ms, int64_t end_ms, int64_t t);
/* FS_HEALTH_SUMMARY_* bits of @v's platform. */
uint32_t vehicle_health_summary(const struct fs_vehicle *v);
/* Point and heading @offset_m along @edge's shape (offsets in length_m units). */
void vehicle_shape_point(const struct fs_network *net, uint32_t edge, double offset_m, double *x, double *y,
			 double *heading);

/* ---- fs_vehicle_platform.c ---- */

/* Draw the next fault on the operating clock from fault_rng. */
void vehicle_fault_redraw(struct fs_vehicle *v);
/* Wall time of the next fault if the fault clock runs in the current state, else FS_NEVER_MS. */
int64_t vehicle_fault_wall_ms(const struct fs_vehicle *v);
/* The fault due now: pick the device, change its health, redraw; returns its global index. */
unsigned vehicle_fault_apply(struct fs_vehicle *v, int64_t t, struct fs_vehicle_events *ev);
/* Draw the next remote-assistance request / disengagement odometer marks. */
void vehicle_draw_ra(struct fs_vehicle *v);
void vehicle_draw_diseng(struct fs_vehicle *v);
/* Kind and index of global device @d. */
void platform_device(unsigned d, int *ret_kind, unsigned *ret_index);
int platform_get_global(const struct fs_platform *p, unsigned d);
void platform_set_global(struct fs_platform *p, unsigned d, int health);

#endif
