/* SPDX-License-Identifier: MIT */
/* hist.h — a log-linear latency histogram (HdrHistogram's bucketing):
 * values in ns, exact below 256, then 128 buckets per power of two up to
 * 2^41 ns (about 36 minutes), so a value is off by under 0.8%.
 * Histograms merge by adding counts. */
#ifndef TS_PERF_HIST_H
#define TS_PERF_HIST_H

#include <stdint.h>

#define HIST_HALF 128u /* buckets per power of two */
#define HIST_MAGS 34u
#define HIST_BUCKETS ((HIST_MAGS + 1) * HIST_HALF + HIST_HALF)

struct hist {
    uint64_t count, max, min;
    uint64_t counts[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t ns);
void hist_merge(struct hist *into, const struct hist *from);
/* The value at percentile p (0..100): the highest value of its bucket. */
uint64_t hist_percentile(const struct hist *h, double p);

#endif
