// Nodes on different hosts, and networks that misbehave (design §7).
//
// - Hosts: two nodes, each started inside its own network namespace, joined
//   by a veth pair (198.51.100.1 and .2), for each transport: asks, a long
//   stream in order, large messages; nftables loss inside a namespace; a
//   link cut (nft drop-all) and restored under traffic.
// - ThreeHosts: three nodes (198.51.100.1, .2, .3) on one switch, a bridge
//   in a fourth namespace, for each transport: every node asks every other;
//   a message round the ring with addresses in its payload; two streams
//   into one node at once; one host cut off while the other two go on, and
//   restored.
// - Faulty: two udp nodes on loopback with the seeded fault relay between
//   them: 10% loss, 5% duplication, reordering within 8 and jittered delay;
//   every message exactly once and in order, for each seed of a fixed list.
//
// Namespaced tests skip with the reason when not root (or without ip/nft,
// or bridges), and leave no namespace behind, failed ones included (the
// support library checks after the last test). Nothing sleeps: waits are asks, or bounded waits on
// counters.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/thespis.h>

#include "netfault.h"
#include "ts_test.h"

namespace {

constexpr uint64_t kSec = UINT64_C(1000) * 1000 * 1000;
using tst::Msg;

// A one-shard pinned node `id` listening on `listen`, knowing `peers`.
int OpenNode(uint16_t id, const std::string &listen, const std::string &peers, int cpu,
             ts_system **out)
{
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_PINNED;
    cfg.node_id = id;
    std::string cores = std::to_string(cpu);
    cfg.cores = cores.c_str();
    cfg.listen = listen.c_str();
    cfg.peers = peers.c_str();
    cfg.max_msg_size = size_t{4} << 20;
    *out = nullptr;
    return ts_system_open(&cfg, out);
}


using tst::Counted;
using tst::SendNumbers;

// Waits (bounded) until ns's rules have dropped at least n packets: a cut
// has been felt, sends (and resends) tried to cross it.
void WaitDropped(const tst::Netns &ns, uint64_t n)
{
    uint64_t dropped = 0;
    std::string err;
    for (int i = 0; i < 3000 && dropped < n; i++)
        ASSERT_TRUE(ns.DroppedPackets(&dropped, &err)) << err;
    ASSERT_GE(dropped, n) << "nothing tried to cross the cut link";
}

// ---- nodes on hosts --------------------------------------------------------

constexpr uint16_t kPort = 7000; // each host has a port space of its own

// Host (and node) id's address: 198.51.100.<id>.
std::string HostIp(int id) { return "198.51.100." + std::to_string(id); }

// Nodes 1..n, node id started inside namespace id ("on host id") at
// HostIp(id):kPort and knowing every other node as a peer, over the
// transport under test. A suite makes the namespaces (MakeHosts), joins
// them (a veth pair, a switch), then opens the nodes (OpenNodes). The nodes
// share the CPUs this process may use, in turn (there may be fewer CPUs
// than nodes); the systems close in TearDown, the links and namespaces
// when the fixture goes (a failed test included).
class HostNodes : public ::testing::TestWithParam<const char *> {
  protected:
    void TearDown() override
    {
        for (ts_system *sys : sys_)
            ts_system_close(sys);
        sys_.clear();
    }
    void MakeHosts(int n)
    {
        ASSERT_EQ(tst::RegisterCommonActors(), 0) << ts_last_error();
        for (int id = 1; id <= n; id++) {
            ns_.push_back(std::make_unique<tst::Netns>());
            ASSERT_TRUE(ns_.back()->ok()) << ns_.back()->error();
        }
    }
    std::string Url(int id) const
    {
        return std::string(GetParam()) + "://" + HostIp(id) + ":" + std::to_string(kPort);
    }
    // "ID=URL,..." of every node but id.
    std::string PeersOf(int id) const
    {
        std::string peers;
        for (int other = 1; other <= (int)ns_.size(); other++)
            if (other != id)
                peers += (peers.empty() ? "" : ",") + std::to_string(other) + "=" + Url(other);
        return peers;
    }
    void OpenNodes()
    {
        std::vector<int> cpus = tst::AllowedCpus();
        for (int id = 1; id <= (int)ns_.size(); id++) {
            tst::InNetns in(Host(id)); // node id's sockets and threads live on host id
            ASSERT_TRUE(in.ok()) << in.error();
            sys_.push_back(nullptr);
            ASSERT_EQ(OpenNode((uint16_t)id, Url(id), PeersOf(id),
                               cpus[(size_t)(id - 1) % cpus.size()], &sys_.back()),
                      0)
                << "node " << id << ": " << ts_last_error();
        }
    }
    // An actor of `type` made on each node: (*out)[id - 1] on node id.
    void CreateOnEach(const char *type, std::vector<ts_addr> *out)
    {
        out->assign(sys_.size(), TS_ADDR_NONE);
        for (size_t i = 0; i < sys_.size(); i++)
            ASSERT_EQ(ts_system_create(sys_[i], type, nullptr, &(*out)[i]), 0) << ts_last_error();
    }
    tst::Netns &Host(int id) { return *ns_[(size_t)id - 1]; }
    ts_system *Node(int id) { return sys_[(size_t)id - 1]; }

  private:
    std::vector<std::unique_ptr<tst::Netns>> ns_;
    std::vector<ts_system *> sys_;
};

// ---- two hosts -------------------------------------------------------------

class Hosts : public HostNodes {
  protected:
    void SetUp() override
    {
        std::string why;
        if (!tst::NetnsAvailable(&why))
            GTEST_SKIP() << "needs network namespaces: " << why;
        ASSERT_NO_FATAL_FAILURE(MakeHosts(2));
        veth_ = std::make_unique<tst::VethPair>(Host(1), Host(2), HostIp(1), HostIp(2));
        ASSERT_TRUE(veth_->ok()) << veth_->error();
        ASSERT_NO_FATAL_FAILURE(OpenNodes());
    }
    std::unique_ptr<tst::VethPair> veth_; // goes before the namespaces
};

TEST_P(Hosts, AskStreamAndLargeMessagesAcrossHosts)
{
    ts_system *a = Node(1), *b = Node(2);
    ts_addr echo, seq;
    ASSERT_EQ(ts_system_create(b, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(b, tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    Msg r = tst::AskAgain(a, echo, tst::kPing(), "over veth", 10);
    ASSERT_TRUE(r);
    EXPECT_STREQ((const char *)ts_msg_data(r.get()), "over veth");
    const uint64_t n = tst::Scaled(100000);
    SendNumbers(a, seq, 0, n);
    EXPECT_EQ(Counted(a, seq), std::make_pair(n, uint64_t{0}));
    for (size_t size : {size_t{3000}, size_t{1} << 20, size_t{4} << 20}) {
        std::vector<unsigned char> p(size);
        for (size_t i = 0; i < size; i++)
            p[i] = (unsigned char)(i * 13 + size);
        r = tst::AskAgain(a, echo, tst::kPing(), p.data(), p.size());
        ASSERT_TRUE(r) << size;
        ASSERT_EQ(r->len, size);
        EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), p.data(), size), 0) << size;
    }
}

// 10% of host a's outgoing udp datagrams are dropped by nftables: every
// number still arrives once, in order (tcp's own retransmission, or the
// reliability layer's).
TEST_P(Hosts, TenPercentLossLosesNothing)
{
    ASSERT_TRUE(Host(1).AddLoss(10, /*udp_only*/ false));
    ts_addr seq;
    ASSERT_EQ(ts_system_create(Node(2), tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    const uint64_t n = tst::Scaled(50000);
    SendNumbers(Node(1), seq, 0, n, 100);
    EXPECT_EQ(Counted(Node(1), seq), std::make_pair(n, uint64_t{0}));
    uint64_t dropped = 0;
    ASSERT_TRUE(Host(1).DroppedPackets(&dropped));
    EXPECT_GT(dropped, 0u) << "the loss rule dropped nothing: the test proved nothing";
}

// The link is cut (nftables drops everything on host a's link, both ways)
// while messages are on their way, and restored: it recovers by itself, and
// every number arrives once and in order.
TEST_P(Hosts, ALinkCutAndRestoredRecoversWithNoLossOrDuplicate)
{
    ts_system *a = Node(1);
    ts_addr seq;
    ASSERT_EQ(ts_system_create(Node(2), tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    SendNumbers(a, seq, 0, 5000);
    ASSERT_EQ(Counted(a, seq), std::make_pair(uint64_t{5000}, uint64_t{0}));
    ASSERT_TRUE(Host(1).DropAll(true));
    SendNumbers(a, seq, 5000, 10000);
    ASSERT_NO_FATAL_FAILURE(WaitDropped(Host(1), 5));
    ASSERT_TRUE(Host(1).DropAll(false));
    EXPECT_EQ(Counted(a, seq), std::make_pair(uint64_t{10000}, uint64_t{0}));
}

INSTANTIATE_TEST_SUITE_P(Transports, Hosts, ::testing::Values("tcp", "udp"),
                         [](const ::testing::TestParamInfo<const char *> &i) { return i.param; });

// ---- three hosts on a switch -----------------------------------------------

// test.hosts.Hop: passes a Route to its next hop, noting the node it went
// through; the last hop sends it as a Pong to whoever asked the first. Every
// address but the first hop's travels in the payload.
TS_TYPE_ID(kHop, "test.hosts.Hop")
struct Route {
    ts_addr asker;   // noted by the first hop (its sender)
    uint32_t nhops;  // hop[0..nhops) in order, at most 4
    uint32_t at;     // the hop it is going to
    ts_addr hop[4];
    uint16_t via[4]; // the node of each hop it went through
};
int HopOn(ts_ctx *ctx, void *, const ts_msg *m)
{
    Route r;
    if (!tst::As(m, &r) || r.nhops > 4 || r.at >= r.nhops)
        return -EBADMSG;
    if (r.at == 0)
        r.asker = ts_sender(ctx);
    r.via[r.at++] = ts_addr_node(ts_self(ctx));
    if (r.at == r.nhops)
        return ts_send(ctx, r.asker, tst::kPong(), &r, sizeof r);
    return ts_send(ctx, r.hop[r.at], kHop(), &r, sizeof r);
}
const ts_handler_entry kHopHandlers[] = {
    TS_ON("test.hosts.Hop", HopOn),
    TS_HANDLERS_END,
};
const ts_actor_type kHopType = {"test.hosts.Hop", 0, nullptr, nullptr, kHopHandlers, nullptr, nullptr, nullptr};

// Nodes 1, 2 and 3 on hosts 198.51.100.1, .2 and .3, each linked to one
// switch (a bridge in a fourth namespace), each knowing the other two.
class ThreeHosts : public HostNodes {
  protected:
    void SetUp() override
    {
        std::string why;
        if (!tst::SwitchAvailable(&why))
            GTEST_SKIP() << "needs network namespaces and bridges: " << why;
        ASSERT_EQ(ts_register_actor_type(&kHopType), 0) << ts_last_error();
        ASSERT_NO_FATAL_FAILURE(MakeHosts(3));
        switch_ = std::make_unique<tst::Switch>();
        ASSERT_TRUE(switch_->ok()) << switch_->error();
        for (int id = 1; id <= 3; id++)
            ASSERT_TRUE(switch_->Attach(Host(id), HostIp(id), &why)) << why;
        ASSERT_NO_FATAL_FAILURE(OpenNodes());
    }
    std::unique_ptr<tst::Switch> switch_; // goes before the hosts' namespaces
};

TEST_P(ThreeHosts, EveryNodeAsksEveryOther)
{
    std::vector<ts_addr> echo;
    ASSERT_NO_FATAL_FAILURE(CreateOnEach(tst::kEcho, &echo));
    for (int from = 1; from <= 3; from++)
        for (int to = 1; to <= 3; to++) {
            if (to == from)
                continue;
            const std::string hi = std::to_string(from) + "->" + std::to_string(to);
            Msg r = tst::AskAgain(Node(from), echo[to - 1], tst::kPing(), hi.data(), hi.size());
            ASSERT_TRUE(r) << hi;
            EXPECT_EQ(r->type, tst::kPong()) << hi;
            EXPECT_EQ(r->src, echo[to - 1]) << hi;
            EXPECT_EQ(tst::Text(r), hi);
        }
}

// From each node, round the ring both ways (1→2→3 and 1→3→2 from node 1):
// to the next node, the one after, then either straight back to the asker
// (2 hops) or to a hop on the asker's node, which answers it (3 hops).
TEST_P(ThreeHosts, AMessageGoesRoundTheNodesAndTheReplyReachesTheAsker)
{
    std::vector<ts_addr> hop;
    ASSERT_NO_FATAL_FAILURE(CreateOnEach("test.hosts.Hop", &hop));
    for (int from = 1; from <= 3; from++)
        for (int step : {1, 2})
            for (uint32_t nhops : {2u, 3u}) {
                Route route{};
                route.nhops = nhops;
                uint16_t want[3];
                for (uint32_t k = 0; k < nhops; k++) {
                    want[k] = (uint16_t)((from - 1 + step * (int)(k + 1)) % 3 + 1);
                    route.hop[k] = hop[want[k] - 1u];
                }
                SCOPED_TRACE("from node " + std::to_string(from) + ", step " +
                             std::to_string(step) + ", " + std::to_string(nhops) + " hops");
                Msg r = tst::AskAgain(Node(from), route.hop[0], kHop(), &route, sizeof route);
                Route back;
                ASSERT_TRUE(tst::As(r.get(), &back));
                EXPECT_EQ(r->type, tst::kPong());
                EXPECT_EQ(r->src, route.hop[nhops - 1]);
                EXPECT_EQ(back.asker, ts_system_client_addr(Node(from)));
                ASSERT_EQ(back.at, nhops);
                for (uint32_t k = 0; k < nhops; k++)
                    EXPECT_EQ(back.via[k], want[k]) << "hop " << k;
            }
}

// Nodes 1 and 2 each stream numbers to a Seq of their own on node 3, at the
// same time: each stream arrives whole and in order.
TEST_P(ThreeHosts, TwoNodesStreamToTheThirdInParallel)
{
    ts_addr seq[2];
    for (ts_addr &s : seq)
        ASSERT_EQ(ts_system_create(Node(3), tst::kSeq, nullptr, &s), 0) << ts_last_error();
    const uint64_t n = tst::Scaled(100000);
    std::pair<uint64_t, uint64_t> counted[2];
    std::vector<std::thread> senders;
    for (int i = 0; i < 2; i++)
        senders.emplace_back([&, i] {
            // Asked from the sending thread, whose messages keep their order:
            // Count is answered after the last number.
            SendNumbers(Node(i + 1), seq[i], 0, n);
            counted[i] = Counted(Node(i + 1), seq[i]);
        });
    for (std::thread &t : senders)
        t.join();
    for (int i = 0; i < 2; i++)
        EXPECT_EQ(counted[i], std::make_pair(n, uint64_t{0})) << "from node " << i + 1;
}

// Host 3 is cut off (nftables drops everything on its link) with numbers on
// their way to and from it; nodes 1 and 2 keep answering each other
// meanwhile. Restored, both streams complete with no loss or duplicate, and
// node 3 talks to node 2 again.
TEST_P(ThreeHosts, ACutOffNodeRecoversWhileTheOthersGoOn)
{
    std::vector<ts_addr> echo;
    ASSERT_NO_FATAL_FAILURE(CreateOnEach(tst::kEcho, &echo));
    ts_addr to3, from3; // on node 3, fed by node 1; on node 1, fed by node 3
    ASSERT_EQ(ts_system_create(Node(3), tst::kSeq, nullptr, &to3), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(Node(1), tst::kSeq, nullptr, &from3), 0) << ts_last_error();
    const auto counts = [](uint64_t n) { return std::make_pair(n, uint64_t{0}); };
    SendNumbers(Node(1), to3, 0, 5000);
    SendNumbers(Node(3), from3, 0, 5000);
    ASSERT_EQ(Counted(Node(1), to3), counts(5000));
    ASSERT_EQ(Counted(Node(3), from3), counts(5000));

    ASSERT_TRUE(Host(3).DropAll(true));
    SendNumbers(Node(1), to3, 5000, 10000);
    SendNumbers(Node(3), from3, 5000, 10000);
    ASSERT_NO_FATAL_FAILURE(WaitDropped(Host(3), 5));
    for (int i = 0; i < 20; i++) {
        const std::string hi = "while 3 is cut off " + std::to_string(i);
        Msg r = tst::AskAgain(Node(1 + i % 2), echo[(size_t)(1 - i % 2)], tst::kPing(), hi.data(),
                    hi.size());
        ASSERT_TRUE(r) << hi;
        EXPECT_EQ(tst::Text(r), hi);
    }
    ASSERT_TRUE(Host(3).DropAll(false));

    EXPECT_EQ(Counted(Node(1), to3), counts(10000));
    EXPECT_EQ(Counted(Node(3), from3), counts(10000));
    EXPECT_EQ(tst::Text(tst::AskAgain(Node(2), echo[2], tst::kPing(), "2->3", 4)), "2->3");
    EXPECT_EQ(tst::Text(tst::AskAgain(Node(3), echo[1], tst::kPing(), "3->2", 4)), "3->2");
}

INSTANTIATE_TEST_SUITE_P(Transports, ThreeHosts, ::testing::Values("tcp", "udp"),
                         [](const ::testing::TestParamInfo<const char *> &i) { return i.param; });

// ---- udp through the seeded fault relay ------------------------------------

class Faulty : public ::testing::TestWithParam<uint64_t> {};

TEST_P(Faulty, EveryMessageExactlyOnceAndInOrder)
{
    uint64_t seed = GetParam();
    SCOPED_TRACE("relay seed " + std::to_string(seed));
    ASSERT_EQ(tst::RegisterCommonActors(), 0) << ts_last_error();
    std::vector<int> cpus = tst::AllowedCpus();
    static std::mt19937 rng((unsigned)getpid() * 2654435761u);
    ts_system *a = nullptr, *b = nullptr;
    std::unique_ptr<tst::FaultRelay> relay;
    for (int attempt = 0; attempt < 20 && !b; attempt++) {
        uint16_t pa = (uint16_t)(20000 + rng() % 12000), pb = (uint16_t)(pa + 1);
        tst::RelayConfig rc;
        rc.seed = seed;
        rc.faults.drop = 0.10;
        rc.faults.dup = 0.05;
        rc.faults.reorder_window = 8;
        rc.faults.delay_us = 100;
        rc.faults.jitter_us = 400;
        tst::Ipv4("127.0.0.1", pa, &rc.peer_a);
        tst::Ipv4("127.0.0.1", pb, &rc.peer_b);
        relay = std::make_unique<tst::FaultRelay>(rc);
        ASSERT_TRUE(relay->ok()) << relay->error();
        // Node 1 sends to the relay's side a, node 2 answers to its side b.
        std::string to_b = "2=udp://127.0.0.1:" + std::to_string(relay->PortA());
        std::string to_a = "1=udp://127.0.0.1:" + std::to_string(relay->PortB());
        int rc1 = OpenNode(1, "udp://127.0.0.1:" + std::to_string(pa), to_b, cpus.front(), &a);
        if (rc1 != 0) {
            ASSERT_EQ(rc1, -EADDRINUSE) << ts_last_error();
            continue;
        }
        int rc2 = OpenNode(2, "udp://127.0.0.1:" + std::to_string(pb), to_a, cpus.back(), &b);
        if (rc2 != 0) {
            ASSERT_EQ(rc2, -EADDRINUSE) << ts_last_error();
            ts_system_close(a);
            a = nullptr;
        }
    }
    ASSERT_NE(b, nullptr) << "no two free ports";
    ts_addr seq, echo;
    ASSERT_EQ(ts_system_create(b, tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(b, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    const uint64_t n = tst::Scaled(100000);
    SendNumbers(a, seq, 0, n);
    EXPECT_EQ(Counted(a, seq), std::make_pair(n, uint64_t{0}));
    // A message of many fragments crosses too.
    std::vector<unsigned char> big(300000);
    for (size_t i = 0; i < big.size(); i++)
        big[i] = (unsigned char)(i * 31);
    Msg r = tst::AskAgain(a, echo, tst::kPing(), big.data(), big.size());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->len, big.size());
    EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), big.data(), big.size()), 0);
    tst::FaultRelay::Stats st = relay->Total();
    EXPECT_GT(st.dropped, 0u);
    EXPECT_GT(st.duplicated, 0u);
    EXPECT_GT(st.reordered, 0u);
    ts_system_close(a);
    ts_system_close(b);
}

INSTANTIATE_TEST_SUITE_P(Seeds, Faulty, ::testing::Values(1, 7, 42, 2026, 31337));


} // namespace
