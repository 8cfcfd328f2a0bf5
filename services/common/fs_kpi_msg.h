/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_kpi_msg.h - the encoder of the KPI message family (KpiSnapshot, topics
 * kpi/...): named values as a snapshot envelope, with one rule for what is
 * sent (a value that is not finite is not defined yet, and left out).
 */
#ifndef FS_KPI_MSG_H
#define FS_KPI_MSG_H

#include <stddef.h>

#include "envelope.pb-c.h"

#define FS_KPI_MSG_MAX 32 /* values in one snapshot */

struct fs_kpi {
	const char *name;
	double value;
};

/* The envelope and its parts; lives as long as the caller needs the envelope. */
struct fs_kpi_msg {
	Fleetsim__V1__Kpi items[FS_KPI_MSG_MAX];
	Fleetsim__V1__Kpi *ptrs[FS_KPI_MSG_MAX];
	Fleetsim__V1__KpiSnapshot snap;
	Fleetsim__V1__Envelope env;
};

/**
 * Fill @m with a KpiSnapshot envelope of the finite ones of @kpis[@n] (the
 * first FS_KPI_MSG_MAX), names borrowed from @kpis. Returns &@m->env.
 */
Fleetsim__V1__Envelope *fs_kpi_msg_encode(struct fs_kpi_msg *m, const struct fs_kpi *kpis, size_t n);

#endif
