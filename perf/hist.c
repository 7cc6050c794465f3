/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "hist.h"

_Static_assert((HIST_MAX_NS >> (HIST_MAGS + 7)) >= 1 && (HIST_MAX_NS >> (HIST_MAGS + 8)) == 0,
               "HIST_MAGS: the top power of two must hold HIST_MAX_NS");

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

/* Values below 2*HIST_HALF map one to one; above, the power of two 2^(mag+7)
 * .. 2^(mag+8)-1 splits into HIST_HALF buckets of width 2^mag. */
unsigned hist_bucket_of(uint64_t v)
{
    if (v > HIST_MAX_NS)
        v = HIST_MAX_NS;
    if (v < 2 * HIST_HALF)
        return (unsigned)v;
    unsigned mag = 63u - (unsigned)__builtin_clzll(v) - 7u;
    return mag * HIST_HALF + (unsigned)(v >> mag);
}

uint64_t hist_bucket_top(unsigned b)
{
    if (b >= HIST_BUCKETS)
        b = HIST_BUCKETS - 1;
    if (b < 2 * HIST_HALF)
        return b;
    unsigned mag = b / HIST_HALF - 1;
    uint64_t sub = b - mag * HIST_HALF;
    return ((sub + 1) << mag) - 1;
}

void hist_record_n(struct hist *h, uint64_t ns, uint64_t n)
{
    if (!n)
        return;
    h->counts[hist_bucket_of(ns)] += n;
    h->count += n;
    if (ns > h->max)
        h->max = ns;
    if (ns < h->min)
        h->min = ns;
}

void hist_record(struct hist *h, uint64_t ns)
{
    hist_record_n(h, ns, 1);
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
    if (p > 100)
        p = 100;
    double x = p / 100.0 * (double)h->count;
    uint64_t want = (uint64_t)x;
    /* The ceiling; a product a rounding error above an integer (99.9% of
     * 1000 may come out as 999.0000000000001) counts as that integer. */
    if ((double)want < x * (1 - 1e-12))
        want++;
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            if (i == hist_bucket_of(HIST_MAX_NS))
                return h->max; /* the last bucket has no top: it holds all above */
            uint64_t top = hist_bucket_top(i);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}

double hist_mean(const struct hist *h)
{
    if (!h->count)
        return 0;
    double sum = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        if (h->counts[i])
            sum += (double)h->counts[i] * (double)hist_bucket_top(i);
    return sum / (double)h->count;
}
