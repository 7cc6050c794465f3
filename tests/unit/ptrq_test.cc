// Unit tests: the many-producer one-consumer pointer queue (transport/ptrq.h)
// that dpdk shards hand frames to each other through: FIFO order, full and
// empty, laps around the cells, and producers racing one consumer with
// every pointer arriving exactly once and in each producer's order.
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "ptrq.h"
}

namespace {

void *P(uintptr_t v) { return reinterpret_cast<void *>(v); }

TEST(Ptrq, CapacityIsAPowerOfTwoAtLeastAsked)
{
    for (size_t ask : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{1000}, size_t{1024}}) {
        ptrq *q = ptrq_new(ask);
        ASSERT_NE(q, nullptr);
        size_t cap = ptrq_capacity(q);
        EXPECT_GE(cap, ask < 2 ? 2 : ask);
        EXPECT_EQ(cap & (cap - 1), 0u) << cap;
        ptrq_free(q);
    }
    EXPECT_EQ(ptrq_new((size_t{1} << 30) + 1), nullptr);
}

TEST(Ptrq, FifoFullAndEmptyAcrossManyLaps)
{
    ptrq *q = ptrq_new(8);
    ASSERT_NE(q, nullptr);
    void *out[16];
    EXPECT_EQ(ptrq_pop(q, out, 16), 0u);
    uintptr_t next_in = 1, next_out = 1;
    for (int lap = 0; lap < 100; lap++) {
        // Fill it: the ninth is refused and nothing is lost by it.
        for (int i = 0; i < 8; i++)
            ASSERT_TRUE(ptrq_push(q, P(next_in++)));
        EXPECT_FALSE(ptrq_push(q, P(999)));
        // Take a few, put as many back, then drain.
        unsigned n = ptrq_pop(q, out, 3);
        ASSERT_EQ(n, 3u);
        for (unsigned i = 0; i < n; i++)
            EXPECT_EQ(out[i], P(next_out++));
        for (int i = 0; i < 3; i++)
            ASSERT_TRUE(ptrq_push(q, P(next_in++)));
        EXPECT_FALSE(ptrq_push(q, P(999)));
        n = ptrq_pop(q, out, 16);
        ASSERT_EQ(n, 8u);
        for (unsigned i = 0; i < n; i++)
            EXPECT_EQ(out[i], P(next_out++));
        EXPECT_EQ(ptrq_pop(q, out, 16), 0u);
    }
    ptrq_free(q);
}

// Three producers, one consumer, a small queue so it is full often: each
// producer's values arrive once each, in its order.
TEST(Ptrq, ProducersRacingOneConsumerLoseAndRepeatNothing)
{
    constexpr int kProducers = 3;
    constexpr uintptr_t kEach = 200000;
    ptrq *q = ptrq_new(64);
    ASSERT_NE(q, nullptr);
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; p++)
        producers.emplace_back([q, p] {
            for (uintptr_t i = 1; i <= kEach; i++)
                while (!ptrq_push(q, P((uintptr_t)p << 32 | i)))
                    std::this_thread::yield();
        });
    std::vector<uintptr_t> last(kProducers, 0);
    uintptr_t total = 0;
    void *out[32];
    while (total < kProducers * kEach) {
        unsigned n = ptrq_pop(q, out, 32);
        if (n == 0)
            std::this_thread::yield();
        for (unsigned i = 0; i < n; i++) {
            uintptr_t v = reinterpret_cast<uintptr_t>(out[i]);
            int p = (int)(v >> 32);
            ASSERT_LT(p, kProducers);
            ASSERT_EQ(v & 0xffffffffu, last[p] + 1) << "producer " << p;
            last[p]++;
        }
        total += n;
    }
    for (std::thread &t : producers)
        t.join();
    EXPECT_EQ(ptrq_pop(q, out, 32), 0u);
    ptrq_free(q);
}

} // namespace
