// Unit tests: thespis-perf's latency histogram.
#include <random>

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
}

TEST(Hist, LargeValuesAreWithinOnePercent)
{
    std::mt19937_64 rng(1);
    for (int i = 0; i < 100000; i++) {
        static hist h;
        hist_init(&h);
        uint64_t v = 1 + rng() % (UINT64_C(1) << (rng() % 40 + 1));
        hist_record(&h, v);
        hist_record(&h, UINT64_C(1) << 41); // so the bucket top is not capped by max
        uint64_t got = hist_percentile(&h, 50);
        ASSERT_GE(got, v);
        ASSERT_LE((double)(got - v), 0.01 * (double)v) << v;
    }
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
}
