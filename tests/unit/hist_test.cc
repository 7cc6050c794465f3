// Unit tests: thespis-perf's latency histogram (perf/hist.h): exact counts,
// percentiles of known distributions within the 1% bound, edge values (0,
// powers of two, a minute, beyond, UINT64_MAX), merging.
#include <cmath>
#include <random>
#include <vector>
#include <algorithm>

#include <gtest/gtest.h>

extern "C" {
#include "hist.h"
}

TEST(Hist, SmallValuesAreExact)
{
    static hist h;
    hist_init(&h);
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(&h, v);
    EXPECT_EQ(hist_percentile(&h, 50), 50u);
    EXPECT_EQ(hist_percentile(&h, 99), 99u);
    EXPECT_EQ(hist_percentile(&h, 100), 100u);
    EXPECT_EQ(h.min, 1u);
    EXPECT_EQ(h.max, 100u);
    EXPECT_EQ(h.count, 100u);
}

TEST(Hist, EveryValueFrom1nsTo1MinuteIsWithinOnePercent)
{
    std::mt19937_64 rng(1);
    for (int i = 0; i < 100000; i++) {
        static hist h;
        hist_init(&h);
        uint64_t v = 1 + rng() % (UINT64_C(1) << (rng() % 36 + 1));
        if (v > HIST_MAX_NS)
            v = HIST_MAX_NS;
        hist_record(&h, v);
        hist_record(&h, HIST_MAX_NS); // so the bucket top is not capped by max
        uint64_t got = hist_percentile(&h, 50);
        ASSERT_GE(got, v);
        ASSERT_LE((double)(got - v), 0.01 * (double)v) << v;
        ASSERT_EQ(hist_bucket_of(hist_bucket_top(hist_bucket_of(v))), hist_bucket_of(v));
    }
}

TEST(Hist, BeyondAMinuteCountsInTheMinutesBucket)
{
    static hist h;
    hist_init(&h);
    hist_record(&h, 3 * HIST_MAX_NS);
    unsigned top = hist_bucket_of(HIST_MAX_NS);
    EXPECT_LT(top, HIST_BUCKETS);
    EXPECT_EQ(h.counts[top], 1u);
    EXPECT_EQ(h.max, 3 * HIST_MAX_NS);
    EXPECT_EQ(hist_percentile(&h, 100), 3 * HIST_MAX_NS); // its max: the bucket has no top
    EXPECT_GE(hist_bucket_top(top), HIST_MAX_NS);
    hist_record(&h, 1000);
    EXPECT_EQ(hist_percentile(&h, 50), hist_bucket_top(hist_bucket_of(1000)));
    EXPECT_EQ(hist_percentile(&h, 51), 3 * HIST_MAX_NS);
}

// One value v alone: its bucket is in bounds, the bucket's top is within 1%
// above v (up to a minute; above, v is in the minute's bucket) and every
// percentile of a histogram of v alone is v.
static void check_edge(uint64_t v)
{
    static hist h;
    hist_init(&h);
    hist_record(&h, v);
    unsigned b = hist_bucket_of(v);
    ASSERT_LT(b, HIST_BUCKETS) << v;
    ASSERT_EQ(h.counts[b], 1u) << v;
    if (v <= HIST_MAX_NS) {
        uint64_t top = hist_bucket_top(b);
        ASSERT_GE(top, v) << v;
        ASSERT_LE((double)(top - v), 0.01 * (double)v) << v;
        ASSERT_EQ(hist_bucket_of(top), b) << v;
        if (b > 0) {
            ASSERT_LT(hist_bucket_top(b - 1), v) << v;
        }
    } else {
        ASSERT_EQ(b, hist_bucket_of(HIST_MAX_NS)) << v;
    }
    for (double p : {0.0, 1.0, 50.0, 99.99, 100.0})
        ASSERT_EQ(hist_percentile(&h, p), v) << v << " p" << p;
    ASSERT_EQ(h.min, v);
    ASSERT_EQ(h.max, v);
}

TEST(Hist, EdgeValues)
{
    check_edge(0);
    check_edge(1);
    for (unsigned k = 1; k <= 63; k++) {
        uint64_t p = UINT64_C(1) << k;
        check_edge(p - 1);
        check_edge(p);
        check_edge(p + 1);
    }
    check_edge(UINT64_MAX);
    check_edge(HIST_MAX_NS - 1);
    check_edge(HIST_MAX_NS); // 60 s
    check_edge(HIST_MAX_NS + 1);
    check_edge(hist_bucket_top(hist_bucket_of(HIST_MAX_NS)));
    check_edge(hist_bucket_top(hist_bucket_of(HIST_MAX_NS)) + 1);
    check_edge(2 * HIST_MAX_NS);
}

// Every bucket's range starts just above the previous one's top, up to the
// minute's bucket.
TEST(Hist, BucketsAreContiguous)
{
    unsigned last = hist_bucket_of(HIST_MAX_NS);
    for (unsigned b = 1; b <= last; b++) {
        ASSERT_EQ(hist_bucket_of(hist_bucket_top(b - 1) + 1), b) << b;
        ASSERT_EQ(hist_bucket_of(hist_bucket_top(b)), b) << b;
    }
}

// The exact percentile of a sorted sample: the ceil(p% of n)-th smallest.
static uint64_t exact(const std::vector<uint64_t> &sorted, double p)
{
    size_t k = (size_t)std::ceil(p / 100 * (double)sorted.size());
    return sorted[std::max<size_t>(k, 1) - 1];
}

static void check_distribution(std::vector<uint64_t> v)
{
    static hist h;
    hist_init(&h);
    for (uint64_t x : v)
        hist_record(&h, x);
    std::sort(v.begin(), v.end());
    EXPECT_EQ(h.count, v.size());
    uint64_t total = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++)
        total += h.counts[b];
    EXPECT_EQ(total, v.size());
    EXPECT_EQ(h.min, v.front());
    EXPECT_EQ(h.max, v.back());
    for (double p : {50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
        uint64_t want = exact(v, p), got = hist_percentile(&h, p);
        EXPECT_GE(got, want) << "p" << p;
        EXPECT_LE((double)(got - want), 0.01 * (double)want) << "p" << p;
    }
}

TEST(Hist, UniformPercentilesAreWithinOnePercent)
{
    std::mt19937_64 rng(2);
    std::uniform_int_distribution<uint64_t> d(1000, 2000000);
    std::vector<uint64_t> v(200000);
    for (auto &x : v)
        x = d(rng);
    check_distribution(v);
}

TEST(Hist, ExponentialPercentilesAreWithinOnePercent)
{
    std::mt19937_64 rng(3);
    std::exponential_distribution<double> d(1.0 / 50000);
    std::vector<uint64_t> v(200000);
    for (auto &x : v)
        x = 1 + (uint64_t)d(rng);
    check_distribution(v);
}

TEST(Hist, LogNormalTailPercentilesAreWithinOnePercent)
{
    std::mt19937_64 rng(4);
    std::lognormal_distribution<double> d(8, 2); // medians of µs, tails of seconds
    std::vector<uint64_t> v(200000);
    for (auto &x : v)
        x = std::min<uint64_t>(HIST_MAX_NS, 1 + (uint64_t)d(rng));
    check_distribution(v);
}

TEST(Hist, MergeAddsCounts)
{
    static hist a, b;
    hist_init(&a);
    hist_init(&b);
    for (int i = 0; i < 90; i++)
        hist_record(&a, 10);
    for (int i = 0; i < 10; i++)
        hist_record(&b, 1000);
    hist_merge(&a, &b);
    EXPECT_EQ(a.count, 100u);
    EXPECT_EQ(hist_percentile(&a, 90), 10u);
    EXPECT_GE(hist_percentile(&a, 91), 1000u);
    EXPECT_EQ(a.max, 1000u);
    EXPECT_EQ(a.min, 10u);
}

TEST(Hist, MergingShardsEqualsRecordingInOne)
{
    static hist one, shard[4], merged;
    hist_init(&one);
    hist_init(&merged);
    for (auto &s : shard)
        hist_init(&s);
    std::mt19937_64 rng(5);
    for (int i = 0; i < 100000; i++) {
        uint64_t v = 1 + rng() % 10000000;
        hist_record(&one, v);
        hist_record(&shard[i % 4], v);
    }
    for (auto &s : shard)
        hist_merge(&merged, &s);
    EXPECT_EQ(memcmp(&one, &merged, sizeof(one)), 0);
}

TEST(Hist, RecordNIsNRecords)
{
    static hist a, b;
    hist_init(&a);
    hist_init(&b);
    hist_record_n(&a, 12345, 7);
    for (int i = 0; i < 7; i++)
        hist_record(&b, 12345);
    EXPECT_EQ(memcmp(&a, &b, sizeof(a)), 0);
    hist_record_n(&a, 1, 0); // nothing
    EXPECT_EQ(a.count, 7u);
    EXPECT_EQ(hist_percentile(&a, 0), hist_percentile(&a, 100));
}

TEST(Hist, EmptyIsZero)
{
    static hist h;
    hist_init(&h);
    EXPECT_EQ(hist_percentile(&h, 50), 0u);
    EXPECT_EQ(hist_mean(&h), 0.0);
}
