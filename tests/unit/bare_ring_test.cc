// Unit tests: thespis-perf's bare ring baseline (perf/bare_ring.h) runs,
// carries what it says and reports its errors. No timing is asserted. Both
// sides busy-poll, so on a loaded machine (other tests on the same cores) a
// hop can cost a scheduler time slice: the counts here stay small.
#include <cerrno>

#include <sched.h>

#include <gtest/gtest.h>

extern "C" {
#include "bare_ring.h"
}

namespace {
void count(void *arg, uint64_t ns)
{
    (void)ns;
    ++*static_cast<uint64_t *>(arg);
}

bool two_cpus()
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_ISSET(0, &set) &&
           CPU_ISSET(1, &set);
}
} // namespace

TEST(BareRing, PingPongRecordsEveryRoundTrip)
{
    uint64_t n = 0;
    bare_result out{};
    ASSERT_EQ(bare_ring_pingpong(-1, -1, 50, 64, count, &n, &out), 0);
    EXPECT_EQ(n, 50u);
    EXPECT_EQ(out.msgs, 100u);
    EXPECT_GT(out.seconds, 0.0);
}

TEST(BareRing, PingPongPinned)
{
    if (!two_cpus())
        GTEST_SKIP() << "needs CPUs 0 and 1";
    uint64_t n = 0;
    bare_result out{};
    ASSERT_EQ(bare_ring_pingpong(0, 1, 10, 8, count, &n, &out), 0);
    EXPECT_EQ(n, 10u);
}

TEST(BareRing, ThroughputCarriesEveryRecord)
{
    bare_result out{};
    ASSERT_EQ(bare_ring_throughput(-1, -1, 50000, 40, 16, &out), 0); // 36 wraps of the ring
    EXPECT_EQ(out.msgs, 50000u);
    EXPECT_GT(out.seconds, 0.0);
    ASSERT_EQ(bare_ring_throughput(-1, -1, 1000, 0, 1, &out), 0);
}

TEST(BareRing, RefusesBadArguments)
{
    uint64_t n = 0;
    bare_result out{};
    EXPECT_EQ(bare_ring_pingpong(-1, -1, 1, 4, count, &n, &out), -EINVAL);
    EXPECT_EQ(bare_ring_pingpong(-1, -1, 1, BARE_RING_SIZE, count, &n, &out), -EINVAL);
    EXPECT_EQ(bare_ring_throughput(-1, -1, 1, 8, 0, &out), -EINVAL);
    EXPECT_EQ(n, 0u);
}

TEST(BareRing, AFailureToPinIsAnError)
{
    bare_result out{};
    EXPECT_EQ(bare_ring_throughput(-1, CPU_SETSIZE, 10, 8, 1, &out), -EINVAL);
    cpu_set_t set;
    ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
    int absent = CPU_SETSIZE - 1;
    while (absent > 0 && CPU_ISSET(absent, &set))
        absent--;
    EXPECT_EQ(bare_ring_throughput(absent, -1, 10, 8, 1, &out), -EINVAL);
}
