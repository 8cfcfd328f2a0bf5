/* SPDX-License-Identifier: Apache-2.0 */
/* fs_production_internal.h - what fs_production.c and fs_production_flywheel.c share. */
#ifndef FS_PRODUCTION_INTERNAL_H
#define FS_PRODUCTION_INTERNAL_H

#include <stdint.h>

#include "fs/production.h"

/* The data flywheel as simulated so far. */
struct flywheel_state {
	double km, data_gb;                         /* in service, cumulative */
	int32_t train_day[FS_PROD_RELEASES_MAX];    /* INT32_MIN = not started */
	int32_t release_day[FS_PROD_RELEASES_MAX];  /* INT32_MIN = not out */
	uint32_t next;                              /* the first release not trained yet */
	int32_t last_train_day;                     /* INT32_MIN = none yet */
};

void flywheel_init(struct flywheel_state *st);
/** One day of @fw: @in_service vehicles drove and uploaded; a release may start training. */
void flywheel_day(struct flywheel_state *st, const struct fs_prod_flywheel *fw, int32_t day, uint32_t in_service);
/** Share of the fleet release @k has reached over the air by @day (0..1). */
double flywheel_share(const struct flywheel_state *st, const struct fs_prod_flywheel *fw, uint32_t k, int32_t day);
void flywheel_stats(const struct flywheel_state *st, const struct fs_prod_flywheel *fw, int32_t day,
		    struct fs_prod_flywheel_stats *ret);
/** Check @fw: "what: why" in @err (may be NULL); 0 or -EINVAL. */
int flywheel_validate(const struct fs_prod_flywheel *fw, struct fs_error *err);

#endif
