// Unit tests: the placement decision (place_actor in engine/system.h), a
// pure function of the creation options, the creator's shard and cursor and
// the system's core map, tested on a made-up system of 3 shards pinned to
// CPUs 2, 4 and 6 (style.md point 8).
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/thespis.h>

#include "place_fake.h"

namespace {

const int kCpus[] = {2, 4, 6};
constexpr unsigned kShards = 3;
constexpr int kUnset = -99;

ts_create_opts Opts(ts_placement how, int core = 0)
{
    ts_create_opts o{};
    o.placement = how;
    o.core = core;
    return o;
}

// Places once; *target is kUnset when place_actor did not set it.
int Place(int creator, unsigned *rr, const ts_create_opts *opts, int *target,
          const int *cpus = kCpus, unsigned nshards = kShards)
{
    *target = kUnset;
    return place_fake(nshards, cpus, creator, rr, opts, target);
}

TEST(Place, LocalIsTheCreatorsShard)
{
    ts_create_opts o = Opts(TS_PLACE_LOCAL);
    unsigned rr = 0;
    int t;
    for (int creator = 0; creator < 3; creator++) {
        ASSERT_EQ(Place(creator, &rr, &o, &t), 0) << ts_last_error();
        EXPECT_EQ(t, creator);
    }
    EXPECT_EQ(rr, 0u) << "local placement moved the round-robin cursor";
}

TEST(Place, LocalFromOutsideIsShardZero)
{
    ts_create_opts o = Opts(TS_PLACE_LOCAL);
    unsigned rr = 0;
    int t;
    ASSERT_EQ(Place(-1, &rr, &o, &t), 0) << ts_last_error();
    EXPECT_EQ(t, 0);
}

TEST(Place, NoOptionsMeansLocal)
{
    unsigned rr = 5;
    int t;
    ASSERT_EQ(Place(2, &rr, nullptr, &t), 0) << ts_last_error();
    EXPECT_EQ(t, 2);
    ASSERT_EQ(Place(-1, &rr, nullptr, &t), 0) << ts_last_error();
    EXPECT_EQ(t, 0);
    EXPECT_EQ(rr, 5u);
}

TEST(Place, RoundRobinCyclesEveryShard)
{
    ts_create_opts o = Opts(TS_PLACE_ROUND_ROBIN);
    unsigned rr = 0;
    std::vector<int> got;
    for (int i = 0; i < 7; i++) {
        int t;
        ASSERT_EQ(Place(1, &rr, &o, &t), 0) << ts_last_error();
        got.push_back(t);
    }
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(Place, RoundRobinCursorsAreIndependentAndIgnoreTheCreator)
{
    ts_create_opts o = Opts(TS_PLACE_ROUND_ROBIN);
    unsigned a = 0, b = 0;
    int t;
    ASSERT_EQ(Place(0, &a, &o, &t), 0);
    EXPECT_EQ(t, 0);
    ASSERT_EQ(Place(2, &a, &o, &t), 0);
    EXPECT_EQ(t, 1);
    ASSERT_EQ(Place(-1, &b, &o, &t), 0); // another cursor starts over
    EXPECT_EQ(t, 0);
    ASSERT_EQ(Place(1, &a, &o, &t), 0);
    EXPECT_EQ(t, 2);
}

TEST(Place, RoundRobinOnOneShardIsAlwaysZero)
{
    ts_create_opts o = Opts(TS_PLACE_ROUND_ROBIN);
    unsigned rr = 0;
    for (int i = 0; i < 4; i++) {
        int t;
        ASSERT_EQ(Place(0, &rr, &o, &t, nullptr, 1), 0) << ts_last_error();
        EXPECT_EQ(t, 0);
    }
}

TEST(Place, CoreIsTheShardPinnedToIt)
{
    unsigned rr = 0;
    const int want[][2] = {{2, 0}, {4, 1}, {6, 2}};
    for (const auto &w : want) {
        ts_create_opts o = Opts(TS_PLACE_CORE, w[0]);
        for (int creator : {-1, 0, 2}) {
            int t;
            ASSERT_EQ(Place(creator, &rr, &o, &t), 0) << ts_last_error();
            EXPECT_EQ(t, w[1]) << "core " << w[0] << " creator " << creator;
        }
    }
    EXPECT_EQ(rr, 0u) << "core placement moved the round-robin cursor";
}

TEST(Place, CoreThatRunsNoShardIsRefused)
{
    unsigned rr = 0;
    for (int core : {5, 0, 3, 7, -1, 1000}) {
        ts_create_opts o = Opts(TS_PLACE_CORE, core);
        int t;
        EXPECT_EQ(Place(0, &rr, &o, &t), -EINVAL) << "core " << core << " placed on " << t;
        std::string err = ts_last_error();
        EXPECT_NE(err.find(std::to_string(core)), std::string::npos)
            << "the message does not name core " << core << ": " << err;
    }
}

TEST(Place, UnknownPlacementIsRefused)
{
    unsigned rr = 0;
    for (int how : {3, 7, -1, 1 << 20}) {
        // Stored as the C side sees it: an out-of-range value is not a
        // valid C++ enum value, so it is not made by a cast.
        ts_create_opts o = Opts(TS_PLACE_LOCAL);
        static_assert(sizeof o.placement == sizeof how, "ts_placement is an int");
        std::memcpy(&o.placement, &how, sizeof how);
        int t;
        EXPECT_EQ(Place(0, &rr, &o, &t), -EINVAL) << "placement " << how << " gave " << t;
        std::string err = ts_last_error();
        EXPECT_NE(err.find("placement"), std::string::npos) << err;
    }
}

TEST(Place, CoreWithoutACoreMapIsShardZero)
{
    // The simple base has no core map: every core is its one shard.
    unsigned rr = 0;
    for (int core : {0, 4, 5, 999}) {
        ts_create_opts o = Opts(TS_PLACE_CORE, core);
        int t;
        ASSERT_EQ(Place(0, &rr, &o, &t, nullptr, 1), 0) << ts_last_error();
        EXPECT_EQ(t, 0);
    }
}

} // namespace
