/* SPDX-License-Identifier: Apache-2.0 */
/* fs_kpi_msg - named values -> KpiSnapshot envelope (see fs_kpi_msg.h). */
#include <math.h>

#include "fs_kpi_msg.h"

Fleetsim__V1__Envelope *fs_kpi_msg_encode(struct fs_kpi_msg *m, const struct fs_kpi *kpis, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < FS_KPI_MSG_MAX; i++) {
		if (!isfinite(kpis[i].value)) {
			continue; /* not defined yet (e.g. no served trip, no distance) */
		}
		fleetsim__v1__kpi__init(&m->items[k]);
		m->items[k].name = (char *)kpis[i].name;
		m->items[k].value = kpis[i].value;
		m->ptrs[k] = &m->items[k];
		k++;
	}
	fleetsim__v1__kpi_snapshot__init(&m->snap);
	m->snap.n_kpis = k;
	m->snap.kpis = m->ptrs;
	fleetsim__v1__envelope__init(&m->env);
	m->env.payload_case = FLEETSIM__V1__ENVELOPE__PAYLOAD_KPIS;
	m->env.kpis = &m->snap;
	return &m->env;
}
