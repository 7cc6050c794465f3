/* SPDX-License-Identifier: MIT */
/* plot.h — --plot: per scenario, SVG plots drawn by gnuplot(1). */
#ifndef TS_PERF_PLOT_H
#define TS_PERF_PLOT_H

#include "report.h"

/* Whether gnuplot can be run (it is looked up on PATH). */
int plot_have_gnuplot(void);

/* Writes into dir (made if missing) for each scenario of r that ran:
 * NAME.latency.svg, latency against percentile on a log scale of
 * 1/(1-p) (from the merged histogram), when it has latencies; and
 * NAME.throughput.svg, messages a second over time, when it has a series.
 * Also each plot's data (.dat) and gnuplot script (.gp). 0 or -errno;
 * err says what failed. */
int plot_report(const struct report *r, const char *dir, char *err, size_t errlen);

#endif
