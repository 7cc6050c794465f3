/* SPDX-License-Identifier: MIT */
/* hist.h — a log-linear latency histogram (HdrHistogram's model): values in
 * ns from 1 ns to HIST_MAX_NS (one minute), exact below 256, then 128
 * buckets per power of two, so a value read back (the highest value of its
 * bucket) is at most 1/128 (0.78%) above the value recorded. Larger values
 * are counted in HIST_MAX_NS's bucket (max keeps the true value). Histograms
 * merge by adding counts, so shards and repetitions may record apart. */
#ifndef TS_PERF_HIST_H
#define TS_PERF_HIST_H

#include <stdint.h>

#define HIST_HALF 128u /* buckets per power of two */
#define HIST_MAX_NS 60000000000ull /* one minute */
#define HIST_MAGS 28u /* 2^(HIST_MAGS+8) > HIST_MAX_NS */
#define HIST_BUCKETS ((HIST_MAGS + 1) * HIST_HALF + HIST_HALF)

struct hist {
    uint64_t count, max, min;
    uint64_t counts[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t ns);
/* Records ns n times (loading a saved histogram). */
void hist_record_n(struct hist *h, uint64_t ns, uint64_t n);
void hist_merge(struct hist *into, const struct hist *from);
/* The value at percentile p (0..100): the highest value of the bucket that
 * holds the ceil(p% of count)-th smallest sample, but never above max; max
 * when that is HIST_MAX_NS's bucket (which holds every larger value too).
 * 0 for an empty histogram. */
uint64_t hist_percentile(const struct hist *h, double p);
/* The mean of the bucket tops (0 when empty). */
double hist_mean(const struct hist *h);
/* The bucket a value falls in, and the highest value a bucket holds. */
unsigned hist_bucket_of(uint64_t ns);
uint64_t hist_bucket_top(unsigned bucket);

#endif
