// Unit tests: the shared-memory SPSC record ring (shm/ring.h).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "ring.h"

namespace {

// A ring in 64-byte aligned heap memory.
struct Ring {
    struct ring *r;
    explicit Ring(size_t size)
    {
        r = static_cast<struct ring *>(std::aligned_alloc(RING_CACHE_LINE, ring_footprint(size)));
        EXPECT_EQ(ring_init(r, size), 0);
    }
    ~Ring() { std::free(r); }
    Ring(const Ring &) = delete;
    Ring &operator=(const Ring &) = delete;
};

// xorshift64*: lengths and payload bytes that both sides can regenerate.
struct Gen {
    uint64_t s;
    explicit Gen(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next()
    {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545F4914F6CDD1Dull;
    }
    size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

// The payload of record `seq`: len bytes drawn from a generator seeded by seq.
void fill(unsigned char *p, size_t len, uint64_t seq)
{
    Gen g(seq);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = g.next();
        std::memcpy(p + i, &w, len - i < 8 ? len - i : 8);
    }
}

bool matches(const unsigned char *p, size_t len, uint64_t seq)
{
    unsigned char want[1024];
    fill(want, len, seq);
    return std::memcmp(p, want, len) == 0;
}

// Reserves and fills record seq; false when the ring is too full.
bool put(struct ring *r, size_t len, uint64_t seq)
{
    void *p = ring_reserve(r, len, static_cast<uint32_t>(seq << 1));
    if (p == nullptr)
        return false;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
    fill(static_cast<unsigned char *>(p), len, seq);
    return true;
}

// Checks that the front record is record seq of length len, then pops it.
void take(struct ring *r, size_t len, uint64_t seq)
{
    uint32_t got_len = 0, got_flags = 0;
    void *p = ring_front(r, &got_len, &got_flags);
    ASSERT_NE(p, nullptr) << "record " << seq;
    ASSERT_EQ(got_len, len) << "record " << seq;
    ASSERT_EQ(got_flags, static_cast<uint32_t>(seq << 1)) << "record " << seq;
    ASSERT_TRUE(matches(static_cast<unsigned char *>(p), len, seq)) << "record " << seq;
    ring_pop(r);
}

struct Sent {
    size_t len;
    uint64_t seq;
};

} // namespace

TEST(Ring, InitChecksSizeAndAlignment)
{
    alignas(64) static unsigned char mem[sizeof(struct ring) + 8192 + 64];
    auto *r = reinterpret_cast<struct ring *>(mem);
    EXPECT_EQ(ring_init(r, 2048), -EINVAL);
    EXPECT_EQ(ring_init(r, 6000), -EINVAL);
    EXPECT_EQ(ring_init(reinterpret_cast<struct ring *>(mem + 8), 4096), -EINVAL);
    EXPECT_EQ(ring_init(r, 8192), 0);
    EXPECT_EQ(ring_max_record(r), 2048u);
    EXPECT_EQ(ring_footprint(8192), sizeof(struct ring) + 8192);
    EXPECT_TRUE(ring_empty(r));
}

TEST(Ring, FifoWithRandomSizesAcrossManyWraps)
{
    Ring ring(4096);
    struct ring *r = ring.r;
    Gen g(7);
    std::deque<Sent> inflight;
    uint64_t next = 0;
    for (int round = 0; round < 20000; round++) {
        for (size_t n = g.below(8); n > 0; n--) {
            size_t len = g.below(4) == 0 ? g.below(ring_max_record(r) + 1) : g.below(64);
            if (!put(r, len, next))
                break;
            inflight.push_back({len, next++});
        }
        ring_publish(r);
        for (size_t n = g.below(8); n > 0 && !inflight.empty(); n--) {
            ASSERT_NO_FATAL_FAILURE(take(r, inflight.front().len, inflight.front().seq));
            inflight.pop_front();
        }
        ring_release(r);
    }
    while (!inflight.empty()) {
        ASSERT_NO_FATAL_FAILURE(take(r, inflight.front().len, inflight.front().seq));
        inflight.pop_front();
    }
    uint32_t len, flags;
    EXPECT_EQ(ring_front(r, &len, &flags), nullptr);
    EXPECT_GT(r->write / r->size, 100u) << "the test should wrap many times";
}

TEST(Ring, ARecordThatDoesNotFitBeforeTheEndFollowsAPaddingRecord)
{
    Ring ring(4096);
    struct ring *r = ring.r;
    // 4080 bytes of records (8 + 4072 is above the max record: use several).
    uint64_t seq = 0;
    for (; r->write < 4080 - 1032; seq++)
        ASSERT_TRUE(put(r, 1024, seq));
    ASSERT_TRUE(put(r, 4080 - r->write - RING_HDR, seq++));
    ASSERT_EQ(r->write, 4080u);
    ring_publish(r);
    for (uint64_t i = 0; i < seq; i++) {
        uint32_t len, flags;
        ASSERT_NE(ring_front(r, &len, &flags), nullptr);
        ring_pop(r);
    }
    ring_release(r);

    // 16 bytes are left before the end: a 9-byte payload (24 bytes) wraps.
    ASSERT_TRUE(put(r, 9, seq));
    EXPECT_EQ(r->write, 4096u + 24u);
    uint32_t pad[2];
    std::memcpy(pad, r->data + 4080, sizeof(pad));
    EXPECT_EQ(pad[0], 16u - RING_HDR);
    EXPECT_EQ(pad[1], RING_F_PAD);

    uint32_t len, flags;
    EXPECT_EQ(ring_front(r, &len, &flags), nullptr) << "nothing published yet";
    ring_publish(r);
    void *p = ring_front(r, &len, &flags);
    EXPECT_EQ(p, r->data + RING_HDR) << "the record starts the data area again";
    ASSERT_NO_FATAL_FAILURE(take(r, 9, seq));
    EXPECT_EQ(ring_front(r, &len, &flags), nullptr);
}

TEST(Ring, AFullRingRefusesAndLosesNothing)
{
    Ring ring(4096);
    struct ring *r = ring.r;
    uint64_t n = 0;
    while (put(r, 56, n)) // 64 bytes a record
        n++;
    EXPECT_EQ(n, 4096u / 64);
    EXPECT_EQ(ring_reserve(r, 0, 0), nullptr) << "not even a header fits";
    EXPECT_TRUE(ring_publish(r));
    EXPECT_EQ(ring_reserve(r, 0, 0), nullptr);
    for (uint64_t i = 0; i < n; i++)
        ASSERT_NO_FATAL_FAILURE(take(r, 56, i));
    uint32_t len, flags;
    EXPECT_EQ(ring_front(r, &len, &flags), nullptr);
}

TEST(Ring, RefusesRecordsAboveTheMaximumAndThePaddingFlag)
{
    Ring ring(8192);
    struct ring *r = ring.r;
    EXPECT_EQ(ring_reserve(r, ring_max_record(r) + 1, 0), nullptr);
    EXPECT_EQ(ring_reserve(r, SIZE_MAX, 0), nullptr);
    EXPECT_EQ(ring_reserve(r, 8, RING_F_PAD), nullptr);
    EXPECT_EQ(r->write, 0u) << "a refused reserve takes nothing";
    EXPECT_NE(ring_reserve(r, ring_max_record(r), 0), nullptr);
}

TEST(Ring, ABatchIsInvisibleUntilPublished)
{
    Ring ring(4096);
    struct ring *r = ring.r;
    uint32_t len, flags;
    EXPECT_FALSE(ring_publish(r)) << "nothing to publish";
    for (uint64_t i = 0; i < 3; i++)
        ASSERT_TRUE(put(r, 10 * i, i));
    EXPECT_EQ(ring_front(r, &len, &flags), nullptr);
    EXPECT_TRUE(ring_empty(r));
    EXPECT_TRUE(ring_publish(r));
    EXPECT_FALSE(ring_publish(r)) << "nothing new";
    EXPECT_FALSE(ring_empty(r));
    for (uint64_t i = 0; i < 3; i++)
        ASSERT_NO_FATAL_FAILURE(take(r, 10 * i, i));
    EXPECT_TRUE(ring_empty(r)) << "popped counts as read, released or not";
}

TEST(Ring, TheProducerReusesSpaceOnlyAfterRelease)
{
    Ring ring(4096);
    struct ring *r = ring.r;
    uint64_t n = 0;
    while (put(r, 120, n))
        n++;
    ring_publish(r);
    for (uint64_t i = 0; i < n; i++)
        ASSERT_NO_FATAL_FAILURE(take(r, 120, i));
    EXPECT_EQ(ring_reserve(r, 0, 0), nullptr) << "popped is not released";
    ring_release(r);
    EXPECT_TRUE(put(r, 120, n));
}

TEST(Ring, ARecoveredConsumerRereadsWhatWasNotReleased)
{
    Ring ring(4096);
    struct ring *r = ring.r;
    for (uint64_t i = 0; i < 5; i++)
        ASSERT_TRUE(put(r, 16, i));
    ring_publish(r);
    ASSERT_NO_FATAL_FAILURE(take(r, 16, 0));
    ASSERT_NO_FATAL_FAILURE(take(r, 16, 1));
    ring_release(r);
    ASSERT_NO_FATAL_FAILURE(take(r, 16, 2)); // popped, then the consumer dies
    ring_consumer_recover(r);
    for (uint64_t i = 2; i < 5; i++)
        ASSERT_NO_FATAL_FAILURE(take(r, 16, i));
}

TEST(Ring, ARecoveredProducerDropsWhatWasNotPublished)
{
    Ring ring(4096);
    struct ring *r = ring.r;
    ASSERT_TRUE(put(r, 16, 0));
    ring_publish(r);
    ASSERT_TRUE(put(r, 16, 1)); // reserved, then the producer dies
    ring_producer_recover(r);
    ASSERT_TRUE(put(r, 24, 2));
    ring_publish(r);
    ASSERT_NO_FATAL_FAILURE(take(r, 16, 0));
    ASSERT_NO_FATAL_FAILURE(take(r, 24, 2));
    uint32_t len, flags;
    EXPECT_EQ(ring_front(r, &len, &flags), nullptr);
}

namespace {

uint64_t stress_count()
{
    const char *s = std::getenv("THESPIS_RING_STRESS");
    return s != nullptr ? std::strtoull(s, nullptr, 10) : 2000000;
}

// Spins, then yields: the test may share its two cores with other tests.
void backoff(unsigned &spins)
{
    if (++spins > 64)
        std::this_thread::yield();
}

// Sends n records of 0..200 bytes, publishing every 1..32 records; the
// lengths come from Gen(1), so the consumer knows them too.
void produce(struct ring *r, uint64_t n, const std::atomic<bool> &stop)
{
    Gen lens(1), batches(2);
    size_t batch = 1 + batches.below(32), pending = 0;
    for (uint64_t seq = 0; seq < n; seq++) {
        size_t len = lens.below(201);
        for (unsigned spins = 0; !put(r, len, seq); backoff(spins)) {
            ring_publish(r); // what is reserved must be seen to be released
            if (stop.load(std::memory_order_relaxed))
                return;
        }
        if (++pending == batch) {
            ring_publish(r);
            pending = 0;
            batch = 1 + batches.below(32);
        }
    }
    ring_publish(r);
}

// Receives n records and checks each one's sequence number, length and
// bytes; releases every 1..64 records, and whenever the ring looks empty
// (else a producer waiting for space and a consumer waiting for records
// would wait for each other). Returns "" or what went wrong.
std::string consume(struct ring *r, uint64_t n)
{
    Gen lens(1), batches(3);
    size_t batch = 1 + batches.below(64), popped = 0;
    for (uint64_t seq = 0; seq < n; seq++) {
        uint32_t len, flags;
        void *p;
        for (unsigned spins = 0; (p = ring_front(r, &len, &flags)) == nullptr; backoff(spins))
            ring_release(r);
        size_t want = lens.below(201);
        if (flags != static_cast<uint32_t>(seq << 1))
            return "record " + std::to_string(seq) + ": flags " + std::to_string(flags);
        if (len != want)
            return "record " + std::to_string(seq) + ": len " + std::to_string(len);
        if (!matches(static_cast<unsigned char *>(p), len, seq))
            return "record " + std::to_string(seq) + ": payload differs";
        ring_pop(r);
        if (++popped == batch) {
            ring_release(r);
            popped = 0;
            batch = 1 + batches.below(64);
        }
    }
    ring_release(r);
    return "";
}

} // namespace

TEST(Ring, TwoThreadsPassEveryRecordInOrder)
{
    const uint64_t n = stress_count();
    Ring ring(4096);
    std::atomic<bool> stop{false};
    std::thread producer(produce, ring.r, n, std::cref(stop));
    std::string err = consume(ring.r, n);
    stop.store(true);
    producer.join();
    EXPECT_EQ(err, "");
    uint32_t len, flags;
    EXPECT_EQ(ring_front(ring.r, &len, &flags), nullptr) << "nothing beyond n records";
}
