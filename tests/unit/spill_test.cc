// Unit tests: overflow queues that survive their shard (engine/spill.h).
// A "crash" is the producer stopping at some point of its flush and a
// successor recovering from the same memory, which is what a SIGKILLed
// shard process leaves behind.
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "spill.h"
}

namespace {

constexpr size_t kRing = 64 * 1024;

struct Fixture {
    size_t arena_size;
    void *mem;
    spill_arena *a;
    spill_port *sp;
    ring *r;
    uint64_t next = 0;           // sequence number of the next push
    std::vector<uint64_t> seen;  // what the consumer read from the ring, in order

    explicit Fixture(size_t chunks)
    {
        arena_size = (4096 + chunks * (sizeof(mq_chunk) + MAILQ_CHUNK) + 63) & ~size_t{63};
        mem = aligned_alloc(64, arena_size);
        memset(mem, 0, arena_size);
        a = spill_arena_init(mem, arena_size, 2);
        sp = &a->ports[1];
        r = (ring *)aligned_alloc(64, ring_footprint(kRing));
        ring_init(r, kRing);
    }
    ~Fixture()
    {
        free(mem);
        free(r);
    }

    bool Push(size_t len)
    {
        ts_msg *m = mailq_push(&sp->q, len);
        if (!m)
            return false;
        m->type = next++;
        memset(m + 1, (int)(m->type & 0xff), len);
        return true;
    }
    void PushN(int n, size_t len)
    {
        for (int i = 0; i < n; i++)
            ASSERT_TRUE(Push(len));
    }
    // A whole flush: the queue as it is becomes the committed one.
    void Flush()
    {
        spill_pend(sp, r);
        ring_publish(r);
        spill_commit(sp);
    }
    // Moves what fits into the ring (reserved, not published), like unspill.
    void Unspill()
    {
        for (ts_msg *m; (m = mailq_peek(&sp->q)); mailq_pop(&sp->q)) {
            void *to = ring_reserve(r, sizeof(ts_msg) + m->len, 0);
            if (!to)
                return;
            memcpy(to, m, sizeof(ts_msg) + m->len);
        }
    }
    // Reads up to max published records.
    void Consume(size_t max)
    {
        uint32_t len, flags;
        for (void *rec; max-- && (rec = ring_front(r, &len, &flags)); ring_pop(r)) {
            auto *m = (ts_msg *)rec;
            const unsigned char *p = (const unsigned char *)(m + 1);
            for (uint32_t k = 0; k < m->len; k += 61)
                ASSERT_EQ(p[k], (unsigned char)(m->type & 0xff)) << "record " << m->type;
            seen.push_back(m->type);
        }
        ring_release(r);
    }
    // A successor's view after a crash anywhere in the producer (the
    // consumer, another process, reads what was published meanwhile).
    size_t Crash()
    {
        ring_producer_recover(r);
        size_t n = spill_recover(sp, r);
        Consume(SIZE_MAX);
        // The message in flight is handled again: its sends get the numbers
        // that follow what survived.
        next = seen.size() + n;
        return n;
    }
    // Everything the successor will still deliver: the ring, then the queue.
    void DrainAll()
    {
        for (int spins = 0; spins < 100000; spins++) {
            Consume(SIZE_MAX);
            if (sp->q.count == 0 && ring_empty(r))
                return;
            Unspill();
            Flush();
        }
        FAIL() << "did not drain";
    }
    void ExpectExactly(uint64_t n)
    {
        ASSERT_EQ(seen.size(), n);
        for (uint64_t i = 0; i < n; i++)
            ASSERT_EQ(seen[i], i) << "at " << i;
    }
    // The pool's free list has no chunk twice and none the queue uses.
    void ExpectPoolSane()
    {
        std::set<mq_chunk *> freed;
        for (mq_chunk *c = a->pool.free; c; c = c->next)
            ASSERT_TRUE(freed.insert(c).second) << "chunk on the free list twice";
        for (mq_chunk *c = sp->q.first; c; c = c->next)
            ASSERT_EQ(freed.count(c), 0u) << "a queued chunk is on the free list";
    }
};

TEST(Spill, UncommittedPushesVanish)
{
    Fixture f(8);
    for (int i = 0; i < 10; i++)
        ASSERT_TRUE(f.Push(100));
    EXPECT_EQ(f.Crash(), 0u);
    EXPECT_EQ(f.next, 0u);
    f.ExpectPoolSane();
    ASSERT_TRUE(f.Push(8)); // the queue works after it
    f.DrainAll();
    f.ExpectExactly(1);
}

TEST(Spill, CommittedSurviveInOrder)
{
    Fixture f(8);
    f.PushN(5, 64);
    f.Flush(); // nothing moved: the ring is left alone
    ASSERT_TRUE(f.Push(64)); // in flight at the crash
    EXPECT_EQ(f.Crash(), 5u);
    f.DrainAll();
    f.ExpectExactly(5);
}

TEST(Spill, MovedButUnpublishedStayQueued)
{
    Fixture f(8);
    f.PushN(5, 64);
    f.Flush();
    f.Unspill();
    spill_pend(f.sp, f.r); // killed before ring_publish
    EXPECT_EQ(f.Crash(), 5u);
    f.DrainAll();
    f.ExpectExactly(5);
}

TEST(Spill, PublishedButUncommittedAreNotQueuedAgain)
{
    Fixture f(8);
    f.PushN(5, 64);
    f.Flush();
    f.Unspill();
    spill_pend(f.sp, f.r);
    ring_publish(f.r); // killed before spill_commit
    EXPECT_EQ(f.Crash(), 0u);
    f.DrainAll();
    f.ExpectExactly(5);
}

TEST(Spill, MovesAcrossChunksRolledBack)
{
    // The flush moved records from three chunks into the ring, and the
    // shard died before publishing: the chunks it read through hold all
    // their records again.
    Fixture f(16);
    uint64_t n = 3 * MAILQ_CHUNK / 1056;
    for (uint64_t i = 0; i < n; i++)
        ASSERT_TRUE(f.Push(1024));
    spill_pend(f.sp, f.r);
    ring_publish(f.r);
    spill_commit(f.sp);
    for (int round = 0; round < 3; round++) {
        f.Unspill(); // a ring's worth at a time; never published
        f.Crash();
    }
    ring *big = (ring *)aligned_alloc(64, ring_footprint(1 << 20));
    ring_init(big, 1 << 20); // room for all of them at once
    std::swap(f.r, big);
    f.Unspill();
    spill_pend(f.sp, f.r);
    f.Crash();
    std::swap(f.r, big);
    free(big);
    EXPECT_EQ(f.sp->q.count, n);
    f.DrainAll();
    f.ExpectExactly(n);
}

TEST(Spill, InFlightSendsAlreadyPublishedAreKept)
{
    // The handler in flight pushed 3 more behind 2 committed ones, and the
    // flush moved all 5 into the ring and published them: the queue is empty
    // and the successor's redelivery starts numbering after the 5.
    Fixture f(8);
    f.PushN(2, 64);
    f.Flush();
    f.PushN(3, 64);
    f.Unspill();
    spill_pend(f.sp, f.r);
    ring_publish(f.r);
    EXPECT_EQ(f.Crash(), 0u);
    EXPECT_EQ(f.next, 5u);
    ASSERT_TRUE(f.Push(64));
    f.DrainAll();
    f.ExpectExactly(6);
    f.ExpectPoolSane();
}

TEST(Spill, ChunksComeBackToThePool)
{
    // Far more than the pool's 4 chunks pass through it, in bursts that
    // span chunks: only chunks given back make that possible.
    Fixture f(4);
    uint64_t total = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 400; i++, total++)
            ASSERT_TRUE(f.Push(300)) << "round " << round << ": the pool ran dry";
        f.DrainAll();
        f.ExpectPoolSane();
    }
    f.ExpectExactly(total);
}

TEST(Spill, FullPoolFailsThePush)
{
    Fixture f(1);
    size_t pushed = 0;
    while (f.Push(1000))
        pushed++;
    EXPECT_GT(pushed, 10u);
    EXPECT_LT(pushed, MAILQ_CHUNK / 1000 + 1);
}

// Random pushes, flushes and consumption with a crash at a random point of
// a flush: nothing committed is lost, nothing is delivered twice, the order
// holds, and the pool stays consistent.
TEST(Spill, RandomCrashesLoseNothing)
{
    for (unsigned seed = 1; seed <= 40; seed++) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        std::mt19937 rng(seed);
        Fixture f(64);
        for (int step = 0; step < 300; step++) {
            int pushes = (int)(rng() % 60);
            for (int i = 0; i < pushes; i++)
                ASSERT_TRUE(f.Push(rng() % 1000));
            unsigned crash = rng() % 8; // 0..3: at a point of this flush
            if (crash == 0) {
                f.Crash();
            } else {
                f.Unspill();
                spill_pend(f.sp, f.r);
                if (crash == 1) {
                    f.Crash();
                } else {
                    ring_publish(f.r);
                    if (crash == 2)
                        f.Crash();
                    else
                        spill_commit(f.sp);
                }
            }
            f.Consume(rng() % 300);
            f.ExpectPoolSane();
            if (HasFatalFailure())
                return;
        }
        f.DrainAll();
        f.ExpectExactly(f.next);
        f.ExpectPoolSane();
        if (HasFatalFailure())
            return;
    }
}

} // namespace
