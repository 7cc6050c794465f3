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

// Least loaded is decided where the shards' loads are read: outside a
// shard, place_actor leaves it to one (-1); in one, it keeps the creator's
// shard for shard_create to replace by load.
TEST(Place, LeastLoadedIsLeftToAShard)
{
    ts_create_opts o = Opts(TS_PLACE_LEAST_LOADED);
    unsigned rr = 0;
    int t;
    ASSERT_EQ(Place(-1, &rr, &o, &t), 0) << ts_last_error();
    EXPECT_EQ(t, -1);
    ASSERT_EQ(Place(2, &rr, &o, &t), 0) << ts_last_error();
    EXPECT_EQ(t, 2);
    EXPECT_EQ(rr, 0u);
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
    for (int how : {7, 8, -1, 1 << 20}) {
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


// ---- across nodes: this node is 1, peers 2 and 5 -----------------------

place_fake_topo Topo(unsigned leased2, unsigned leased5, ts_placement dflt = TS_PLACE_DEFAULT)
{
    place_fake_topo t{};
    t.nshards = kShards;
    t.shard_cpu = kCpus;
    t.self = 1;
    t.placement = dflt;
    t.npeers = 2;
    t.peers[0] = 2;
    t.peers[1] = 5;
    t.leased[0] = leased2;
    t.leased[1] = leased5;
    return t;
}

// One decision by a creator on shard `creator` (-1: outside; its spread
// cursor is then not given): rc, and the node and shard chosen.
struct Where {
    int rc;
    uint16_t node;
    int shard;
};
Where PlaceOn(const place_fake_topo &t, int creator, unsigned *rr, unsigned *spread,
              const ts_create_opts *o)
{
    Where w{0, 0, kUnset};
    w.rc = place_fake_nodes(&t, creator, rr, creator < 0 ? nullptr : spread, o, &w.node, &w.shard);
    return w;
}

ts_create_opts NodeOpts(uint16_t node)
{
    ts_create_opts o = Opts(TS_PLACE_NODE);
    o.node = node;
    return o;
}

TEST(PlaceNodes, NodeIsThatNodeAndItPicksTheShard)
{
    place_fake_topo t = Topo(0, 10);
    unsigned rr = 0, spread = 0;
    ts_create_opts o = NodeOpts(5);
    Where w = PlaceOn(t, 1, &rr, &spread, &o);
    ASSERT_EQ(w.rc, 0) << ts_last_error();
    EXPECT_EQ(w.node, 5);
    EXPECT_EQ(w.shard, -1);
    // Without a lease yet it is still that node: creation says -EAGAIN, not placement.
    o = NodeOpts(2);
    w = PlaceOn(t, 1, &rr, &spread, &o);
    ASSERT_EQ(w.rc, 0) << ts_last_error();
    EXPECT_EQ(w.node, 2);
}

TEST(PlaceNodes, NodeThatIsThisOneIsTheCreatorsShard)
{
    unsigned rr = 0, spread = 0;
    ts_create_opts o = NodeOpts(1);
    Where w = PlaceOn(Topo(1, 1), 2, &rr, &spread, &o);
    ASSERT_EQ(w.rc, 0) << ts_last_error();
    EXPECT_EQ(w.node, 1);
    EXPECT_EQ(w.shard, 2);
}

TEST(PlaceNodes, UnknownNodeIsUnreachableInAShard)
{
    unsigned rr = 0, spread = 0;
    ts_create_opts o = NodeOpts(3);
    Where w = PlaceOn(Topo(1, 1), 0, &rr, &spread, &o);
    EXPECT_EQ(w.rc, -EHOSTUNREACH);
    EXPECT_NE(std::string(ts_last_error()).find("3"), std::string::npos) << ts_last_error();
    EXPECT_EQ(w.shard, kUnset) << "an error leaves the decision unset";
    // Outside a shard the leases are not known: a shard decides (and refuses).
    w = PlaceOn(Topo(1, 1), -1, &rr, &spread, &o);
    ASSERT_EQ(w.rc, 0) << ts_last_error();
    EXPECT_EQ(w.shard, -1);
}

TEST(PlaceNodes, NamedActorOnAnotherNodeIsRefused)
{
    place_fake_topo t = Topo(1, 1);
    unsigned rr = 0, spread = 0;
    ts_create_opts o = NodeOpts(2);
    o.global_name = "registry";
    uint16_t node = 0;
    int shard = kUnset;
    EXPECT_EQ(place_fake_nodes(&t, 0, &rr, &spread, &o, &node, &shard), -EOPNOTSUPP);
}

TEST(PlaceNodes, SpreadTakesEachNodeInTurn)
{
    place_fake_topo t = Topo(4, 4);
    unsigned rr = 0, spread = 0;
    ts_create_opts o = Opts(TS_PLACE_SPREAD);
    std::vector<uint16_t> got;
    for (int i = 0; i < 6; i++) {
        Where w = PlaceOn(t, 1, &rr, &spread, &o);
        ASSERT_EQ(w.rc, 0) << ts_last_error();
        EXPECT_EQ(w.shard, w.node == 1 ? 1 : -1) << "this node: the creator's shard";
        got.push_back(w.node);
    }
    EXPECT_EQ(got, (std::vector<uint16_t>{1, 2, 5, 1, 2, 5}));
}

TEST(PlaceNodes, SpreadPassesOverAPeerWithoutLeaseAndNames)
{
    place_fake_topo t = Topo(0, 4);
    unsigned rr = 0, spread = 0;
    ts_create_opts o = Opts(TS_PLACE_SPREAD);
    std::vector<uint16_t> got;
    for (int i = 0; i < 3; i++) {
        Where w = PlaceOn(t, 0, &rr, &spread, &o);
        ASSERT_EQ(w.rc, 0);
        got.push_back(w.node);
    }
    EXPECT_EQ(got, (std::vector<uint16_t>{1, 1, 5})) << "node 2 has leased nothing";
    o.global_name = "n";
    for (int i = 0; i < 3; i++) {
        uint16_t node = 0;
        int shard = kUnset;
        ASSERT_EQ(place_fake_nodes(&t, 0, &rr, &spread, &o, &node, &shard), 0);
        EXPECT_EQ(node, 1) << "a named actor stays here";
    }
}

TEST(PlaceNodes, DefaultIsTheSystemsPlacement)
{
    place_fake_topo t = Topo(4, 4, TS_PLACE_SPREAD);
    unsigned rr = 0, spread = 0;
    uint16_t n1 = 0, n2 = 0;
    int shard;
    ASSERT_EQ(place_fake_nodes(&t, 0, &rr, &spread, nullptr, &n1, &shard), 0);
    ts_create_opts o = Opts(TS_PLACE_DEFAULT);
    ASSERT_EQ(place_fake_nodes(&t, 0, &rr, &spread, &o, &n2, &shard), 0);
    EXPECT_EQ(n1, 1);
    EXPECT_EQ(n2, 2);
    // An explicit placement is not the default's.
    o = Opts(TS_PLACE_LOCAL);
    ASSERT_EQ(place_fake_nodes(&t, 0, &rr, &spread, &o, &n2, &shard), 0);
    EXPECT_EQ(n2, 1);
    // Outside a shard, spread is decided by one (shard -1).
    ASSERT_EQ(place_fake_nodes(&t, -1, &rr, nullptr, nullptr, &n2, &shard), 0);
    EXPECT_EQ(shard, -1);
    t = Topo(4, 4, TS_PLACE_ROUND_ROBIN);
    std::vector<int> shards;
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(place_fake_nodes(&t, 0, &rr, &spread, nullptr, &n2, &shard), 0);
        shards.push_back(shard);
    }
    EXPECT_EQ(shards, (std::vector<int>{0, 1, 2, 0}));
}

} // namespace
