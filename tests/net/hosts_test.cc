// Nodes on different hosts, and networks that misbehave (design §7).
//
// - Hosts: two nodes, each started inside its own network namespace, joined
//   by a veth pair (198.51.100.1 and .2), for each transport: asks, a long
//   stream in order, large messages; nftables loss inside a namespace; a
//   link cut (nft drop-all) and restored under traffic.
// - Faulty: two udp nodes on loopback with the seeded fault relay between
//   them: 10% loss, 5% duplication, reordering within 8 and jittered delay;
//   every message exactly once and in order, for each seed of a fixed list.
//
// Namespaced tests skip with the reason when not root (or without ip/nft).
// Nothing sleeps: waits are asks, or bounded waits on counters.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <string>
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

int Tell(ts_system *sys, ts_addr to, uint64_t type, const void *p, size_t len)
{
    int rc;
    while ((rc = ts_tell(sys, to, type, p, len)) == -EAGAIN)
        ;
    return rc;
}

Msg Ask(ts_system *sys, ts_addr to, uint64_t type, const void *p, size_t len)
{
    ts_msg *r = nullptr;
    int rc = ts_ask(sys, to, type, p, len, 60 * kSec, &r);
    EXPECT_EQ(rc, 0) << ts_last_error();
    return Msg(r);
}

// Sends numbers [from, to) to seq, padded to `pad` bytes.
void SendNumbers(ts_system *sys, ts_addr seq, uint64_t from, uint64_t to, size_t pad = 8)
{
    std::vector<unsigned char> p(pad < 8 ? 8 : pad, 'n');
    for (uint64_t i = from; i < to; i++) {
        std::memcpy(p.data(), &i, 8);
        ASSERT_EQ(Tell(sys, seq, tst::kNum(), p.data(), p.size()), 0) << ts_last_error();
    }
}

// What seq counted: {numbers, bad ones}.
std::pair<uint64_t, uint64_t> Counted(ts_system *sys, ts_addr seq)
{
    Msg r = Ask(sys, seq, tst::kCount(), nullptr, 0);
    uint64_t got[2] = {0, UINT64_MAX};
    if (r && r->len == sizeof got)
        std::memcpy(got, ts_msg_data(r.get()), sizeof got);
    return {got[0], got[1]};
}

// ---- two hosts -------------------------------------------------------------

class Hosts : public ::testing::TestWithParam<const char *> {
  protected:
    void SetUp() override
    {
        std::string why;
        if (!tst::NetnsAvailable(&why))
            GTEST_SKIP() << "needs network namespaces: " << why;
        ASSERT_EQ(tst::RegisterCommonActors(), 0) << ts_last_error();
            ns_a_ = std::make_unique<tst::Netns>();
        ns_b_ = std::make_unique<tst::Netns>();
        ASSERT_TRUE(ns_a_->ok()) << ns_a_->error();
        ASSERT_TRUE(ns_b_->ok()) << ns_b_->error();
        veth_ = std::make_unique<tst::VethPair>(*ns_a_, *ns_b_, "198.51.100.1", "198.51.100.2");
        ASSERT_TRUE(veth_->ok()) << veth_->error();
        std::string s = std::string(GetParam()) + "://";
        std::vector<int> cpus = tst::AllowedCpus();
        {
            tst::InNetns in(*ns_a_); // node 1's sockets and threads live on host a
            ASSERT_TRUE(in.ok()) << in.error();
            ASSERT_EQ(OpenNode(1, s + "198.51.100.1:7000", "2=" + s + "198.51.100.2:7000",
                               cpus.front(), &a_), 0) << ts_last_error();
        }
        {
            tst::InNetns in(*ns_b_);
            ASSERT_TRUE(in.ok()) << in.error();
            ASSERT_EQ(OpenNode(2, s + "198.51.100.2:7000", "1=" + s + "198.51.100.1:7000",
                               cpus.back(), &b_), 0) << ts_last_error();
        }
    }
    void TearDown() override
    {
        ts_system_close(a_);
        ts_system_close(b_);
        veth_.reset();
        ns_a_.reset();
        ns_b_.reset();
    }
    std::unique_ptr<tst::Netns> ns_a_, ns_b_;
    std::unique_ptr<tst::VethPair> veth_;
    ts_system *a_ = nullptr, *b_ = nullptr;
};

TEST_P(Hosts, AskStreamAndLargeMessagesAcrossHosts)
{
    ts_addr echo, seq;
    ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(b_, tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    Msg r = Ask(a_, echo, tst::kPing(), "over veth", 10);
    ASSERT_TRUE(r);
    EXPECT_STREQ((const char *)ts_msg_data(r.get()), "over veth");
    const uint64_t n = tst::Scaled(100000);
    SendNumbers(a_, seq, 0, n);
    EXPECT_EQ(Counted(a_, seq), std::make_pair(n, uint64_t{0}));
    for (size_t size : {size_t{3000}, size_t{1} << 20, size_t{4} << 20}) {
        std::vector<unsigned char> p(size);
        for (size_t i = 0; i < size; i++)
            p[i] = (unsigned char)(i * 13 + size);
        r = Ask(a_, echo, tst::kPing(), p.data(), p.size());
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
    ASSERT_TRUE(ns_a_->AddLoss(10, /*udp_only*/ false));
    ts_addr seq;
    ASSERT_EQ(ts_system_create(b_, tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    const uint64_t n = tst::Scaled(50000);
    SendNumbers(a_, seq, 0, n, 100);
    EXPECT_EQ(Counted(a_, seq), std::make_pair(n, uint64_t{0}));
    uint64_t dropped = 0;
    ASSERT_TRUE(ns_a_->DroppedPackets(&dropped));
    EXPECT_GT(dropped, 0u) << "the loss rule dropped nothing: the test proved nothing";
}

// The link is cut (nftables drops everything on host a's link, both ways)
// while messages are on their way, and restored: it recovers by itself, and
// every number arrives once and in order.
TEST_P(Hosts, ALinkCutAndRestoredRecoversWithNoLossOrDuplicate)
{
    ts_addr seq;
    ASSERT_EQ(ts_system_create(b_, tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    SendNumbers(a_, seq, 0, 5000);
    ASSERT_EQ(Counted(a_, seq), std::make_pair(uint64_t{5000}, uint64_t{0}));
    ASSERT_TRUE(ns_a_->DropAll(true));
    SendNumbers(a_, seq, 5000, 10000);
    // Wait until the cut has been felt: sends (and resends) were dropped.
    uint64_t dropped = 0;
    for (int i = 0; i < 3000 && dropped < 5; i++)
        ASSERT_TRUE(ns_a_->DroppedPackets(&dropped));
    ASSERT_GE(dropped, 5u) << "nothing tried to cross the cut link";
    ASSERT_TRUE(ns_a_->DropAll(false));
    EXPECT_EQ(Counted(a_, seq), std::make_pair(uint64_t{10000}, uint64_t{0}));
}

INSTANTIATE_TEST_SUITE_P(Transports, Hosts, ::testing::Values("tcp", "udp"),
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
    Msg r = Ask(a, echo, tst::kPing(), big.data(), big.size());
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
