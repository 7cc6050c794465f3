/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "hist.h"

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

/* Values below 2*HIST_HALF map one to one; above, the power of two 2^(mag+7)
 * .. 2^(mag+8)-1 splits into HIST_HALF buckets of width 2^mag. */
static unsigned bucket_of(uint64_t v)
{
    if (v < 2 * HIST_HALF)
        return (unsigned)v;
    unsigned mag = 63u - (unsigned)__builtin_clzll(v) - 7u;
    if (mag > HIST_MAGS)
        return HIST_BUCKETS - 1;
    return mag * HIST_HALF + (unsigned)(v >> mag);
}

static uint64_t bucket_top(unsigned b)
{
    if (b < 2 * HIST_HALF)
        return b;
    unsigned mag = b / HIST_HALF - 1;
    uint64_t sub = b - mag * HIST_HALF;
    return ((sub + 1) << mag) - 1;
}

void hist_record(struct hist *h, uint64_t ns)
{
    h->counts[bucket_of(ns)]++;
    h->count++;
    if (ns > h->max)
        h->max = ns;
    if (ns < h->min)
        h->min = ns;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->count += from->count;
    if (from->max > into->max)
        into->max = from->max;
    if (from->min < into->min)
        into->min = from->min;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
    if (!h->count)
        return 0;
    uint64_t want = (uint64_t)((p / 100.0) * (double)h->count + 0.5);
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            uint64_t top = bucket_top(i);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}
