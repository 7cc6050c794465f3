// The dpdk transport on virtual devices (design §7): nodes whose DPDK port
// is a net_af_packet (or net_af_xdp) device on their end of a veth pair,
// each node in a network namespace of its own, the wire bare (the nodes
// are IPv4 hosts of their own on it: 192.0.2.1 and .2). The conformance
// suite runs on dpdk too (net_test.cc); here is what is dpdk's own:
//
// - DpdkNodes: asks, a stream in order, large messages; two shards a node
//   (datagrams for the other shard's port are steered to it); the port's
//   figures in status; a named node forked after the EAL is up, and what
//   the device or the EAL cannot do, refused with the reason.
// - DpdkTest: a dpdk node and a kernel udp node talk; open errors.
// - DpdkReopen: a node closed and opened again on its interface.
// - DpdkAndUdp(Faulty): nftables loss on the kernel side, and the seeded
//   relay between a dpdk node and a udp node: exact delivery.
//
// The EAL is set up once per process, by the first node opened, and stays
// for the later tests. Skipped with the reason without DPDK in the build or
// without namespaces.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/node.h>
#include <thespis/thespis.h>

#include "dpdk_hosts.h"
#include "netfault.h"
#include "ts_test.h"

extern char **environ;

namespace {

constexpr uint64_t kSec = UINT64_C(1000) * 1000 * 1000;
using tst::Msg;



// A net_af_packet device on interface `iface`, its name unique in this
// process (the transport gives it a queue pair per shard).
std::string Vdev(const std::string &iface) { return tst::DpdkVdev("net_af_packet", iface); }

class DpdkTest : public ::testing::Test {
  protected:
    void SetUp() override
    {
        std::string why;
        if (!tst::DpdkUsable("net_af_packet", &why))
            GTEST_SKIP() << why;
        ASSERT_EQ(tst::RegisterCommonActors(), 0) << ts_last_error();
    }
    void TearDown() override
    {
        for (ts_system *s : sys_)
            ts_system_close(s);
        sys_.clear();
    }
    // Node `id` inside ns, on transport scheme at addr:7000, knowing peer.
    ts_system *Open(tst::Netns &ns, uint16_t id, const std::string &scheme,
                    const std::string &addr, const std::string &peer, const std::string &vdev,
                    unsigned shards, int *rc_out = nullptr)
    {
        tst::InNetns in(ns);
        EXPECT_TRUE(in.ok()) << in.error();
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_PINNED;
        cfg.node_id = id;
        cfg.shards = shards;
        cfg.max_msg_size = size_t{2} << 20;
        std::string listen = scheme + "://" + addr + ":7000";
        cfg.listen = listen.c_str();
        cfg.peers = peer.c_str();
        cfg.dpdk_vdev = vdev.empty() ? nullptr : vdev.c_str();
        ts_system *s = nullptr;
        int rc = ts_system_open(&cfg, &s);
        if (rc_out)
            *rc_out = rc;
        else
            EXPECT_EQ(rc, 0) << "node " << id << ": " << ts_last_error();
        if (s)
            sys_.push_back(s);
        return s;
    }
    std::vector<ts_system *> sys_;
};

class DpdkNodes : public DpdkTest {
  protected:
    void SetUp() override
    {
        DpdkTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        wire_ = std::make_unique<tst::VethPair>(a_, b_, "", "");
        ASSERT_TRUE(wire_->ok()) << wire_->error();
    }
    void TearDown() override
    {
        DpdkTest::TearDown();
        wire_.reset();
    }
    // Nodes 1 (a) and 2 (b), both dpdk, `shards` shards each.
    void OpenBoth(unsigned shards)
    {
        one_ = Open(a_, 1, "dpdk", "192.0.2.1", "2=dpdk://192.0.2.2:7000", Vdev(wire_->NameA()), shards);
        two_ = Open(b_, 2, "dpdk", "192.0.2.2", "1=dpdk://192.0.2.1:7000", Vdev(wire_->NameB()), shards);
        ASSERT_TRUE(one_ && two_);
    }
    tst::Netns a_, b_;
    std::unique_ptr<tst::VethPair> wire_;
    ts_system *one_ = nullptr, *two_ = nullptr;
};

// Ask, a stream of numbers in order, messages of a datagram, many and the
// maximum: across the wire both ways.
TEST_F(DpdkNodes, AskStreamAndLargeMessages)
{
    ASSERT_NO_FATAL_FAILURE(OpenBoth(1));
    ts_addr echo, seq;
    ASSERT_EQ(ts_system_create(two_, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(two_, tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    Msg r = tst::AskAgain(one_, echo, tst::kPing(), "over dpdk", 10);
    ASSERT_TRUE(r);
    EXPECT_STREQ((const char *)ts_msg_data(r.get()), "over dpdk");
    const uint64_t n = tst::Scaled(100000);
    ASSERT_NO_FATAL_FAILURE(tst::SendNumbers(one_, seq, 0, n));
    EXPECT_EQ(tst::Counted(one_, seq), std::make_pair(n, uint64_t{0})) << "lost, out of order or repeated";
    for (size_t size : {size_t{1400}, size_t{3000}, size_t{1} << 20, size_t{2} << 20}) {
        std::vector<unsigned char> p(size);
        for (size_t i = 0; i < size; i++)
            p[i] = (unsigned char)(i * 7 + size);
        r = tst::AskAgain(one_, echo, tst::kPing(), p.data(), p.size());
        ASSERT_TRUE(r) << size;
        ASSERT_EQ(r->len, size);
        EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), p.data(), size), 0) << size;
    }
}

// Two shards a node, two queues a port: whichever queue a datagram lands
// on, it reaches the shard whose port it is for. Actors on both shards of
// node 2 answer asks from node 1.
TEST_F(DpdkNodes, TwoShardsEachGetTheirOwnDatagrams)
{
    if (tst::AllowedCpus().size() < 2)
        GTEST_SKIP() << "needs two CPUs for two shards";
    ASSERT_NO_FATAL_FAILURE(OpenBoth(2));
    for (uint8_t shard = 0; shard < 2; shard++) {
        ts_create_opts o{};
        o.placement = TS_PLACE_CORE;
        o.core = tst::AllowedCpus()[shard];
        ts_addr echo;
        ASSERT_EQ(ts_system_create(two_, tst::kEcho, &o, &echo), 0) << ts_last_error();
        ASSERT_EQ(ts_addr_shard(echo), shard);
        for (int i = 0; i < 50; i++) {
            std::string text = "shard " + std::to_string(shard) + " #" + std::to_string(i);
            Msg r = tst::AskAgain(one_, echo, tst::kPing(), text.c_str(), text.size() + 1);
            ASSERT_TRUE(r);
            EXPECT_EQ(std::string((const char *)ts_msg_data(r.get())), text);
        }
    }
}

// A dpdk node and a kernel udp node share the wire format: node 1 on
// DPDK (bare end of the wire), node 2 on the kernel's UDP at 192.0.2.2.
TEST_F(DpdkTest, ADpdkNodeAndAUdpNodeTalk)
{
    tst::Netns a, b;
    tst::VethPair wire(b, a, "192.0.2.2", ""); // the kernel's address on b's end only
    ASSERT_TRUE(wire.ok()) << wire.error();
    ts_system *one = Open(a, 1, "dpdk", "192.0.2.1", "2=dpdk://192.0.2.2:7000", Vdev(wire.NameB()), 1);
    ts_system *two = Open(b, 2, "udp", "192.0.2.2", "1=udp://192.0.2.1:7000", "", 1);
    ASSERT_TRUE(one && two);
    ts_addr e1, e2;
    ASSERT_EQ(ts_system_create(one, tst::kEcho, nullptr, &e1), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(two, tst::kEcho, nullptr, &e2), 0) << ts_last_error();
    Msg r = tst::AskAgain(one, e2, tst::kPing(), "dpdk to udp", 12);
    ASSERT_TRUE(r);
    EXPECT_STREQ((const char *)ts_msg_data(r.get()), "dpdk to udp");
    r = tst::AskAgain(two, e1, tst::kPing(), "udp to dpdk", 12);
    ASSERT_TRUE(r);
    EXPECT_STREQ((const char *)ts_msg_data(r.get()), "udp to dpdk");
    TearDown(); // the systems go before the wire and the namespaces
}

// A device whose interface is not there, and a dpdk node without an
// address of its own: clear errors at open.
TEST_F(DpdkTest, OpenFailuresAreClearErrors)
{
    tst::Netns a;
    int rc = 0;
    ts_system *s = Open(a, 1, "dpdk", "192.0.2.1", "", "net_af_packet990,iface=nosuchif0", 1, &rc);
    EXPECT_EQ(s, nullptr);
    EXPECT_NE(rc, 0);
    EXPECT_NE(std::string(ts_last_error()).find("net_af_packet990"), std::string::npos)
        << ts_last_error();
    s = Open(a, 1, "dpdk", "192.0.2.1", "", "", 1, &rc);
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(rc, -EINVAL);
    EXPECT_NE(std::string(ts_last_error()).find("device"), std::string::npos) << ts_last_error();
    s = Open(a, 1, "dpdk", "0.0.0.0", "", "net_af_packet991,iface=lo", 1, &rc);
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(rc, -EINVAL);
    EXPECT_NE(std::string(ts_last_error()).find("0.0.0.0"), std::string::npos) << ts_last_error();
}

// ---- a dpdk node's device in its status ----------------------------------

// A named node (status reads a named node's shared memory): attached by
// sys, stopped when the test ends however it ends.
struct NamedNode {
    std::string name;
    ts_system *sys = nullptr;
    ~NamedNode()
    {
        ts_system_close(sys);
        ts_node_stop(name.c_str(), 30 * kSec);
    }
};

// Reads node name's status until ok(status) holds, up to 30 s: its shards
// publish their figures every few hundred turns of their loops.
template <class F> bool StatusUntil(const std::string &name, ts_node_status *st, F ok)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        if (ts_node_status_get(name.c_str(), st) == 0 && ok(*st))
            return true;
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::string DeviceStr(const ts_node_device &d)
{
    return std::string("device '") + d.name + "': rx " + std::to_string(d.rx_packets) + " tx " +
           std::to_string(d.tx_packets) + " arp_in " + std::to_string(d.arp_in) + " arp_out " +
           std::to_string(d.arp_out) + " not_ours " + std::to_string(d.not_ours) +
           " malformed " + std::to_string(d.malformed);
}

constexpr const char *kAloneEnv = "TS_DPDK_TEST_ALONE";

// A named node's admin is a forked process, and DPDK's EAL does not
// survive a fork: once this program's earlier tests have set its EAL up, a
// named dpdk node started from it is broken. So the test runs again alone,
// in a fresh run of this program (its nodes' admins then set the EAL up
// each), and this run checks that it passed. True in the run that only
// waited for the other; false in the fresh run, which goes on.
bool RanInAFreshProcess(const std::string &test)
{
    if (getenv(kAloneEnv))
        return false;
    std::string filter = "--gtest_filter=" + test, self = "/proc/self/exe";
    std::string alone = std::string(kAloneEnv) + "=1";
    std::vector<char *> env;
    for (char **e = environ; *e; e++)
        if (std::strncmp(*e, "GTEST_OUTPUT=", 13) != 0) // its report is this run's
            env.push_back(*e);
    env.push_back(&alone[0]);
    env.push_back(nullptr);
    char *argv[] = {&self[0], &filter[0], nullptr};
    fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        execve(argv[0], argv, env.data());
        _exit(127);
    }
    int status = 0;
    EXPECT_GT(pid, 0) << "fork: " << std::strerror(errno);
    EXPECT_EQ(pid > 0 ? waitpid(pid, &status, 0) : pid, pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the fresh run of " << test << " failed (its output is above), status " << status;
    return true;
}

// The two dpdk nodes, named this time (on the pinned base: their admin
// processes, started from inside their namespaces, run the shards), ask
// each other; each one's status then shows its port: at least a datagram
// in and out per ask, and ARP both ways. A udp node shows no device.
TEST_F(DpdkNodes, StatusShowsTheDevicesFigures)
{
    if (RanInAFreshProcess("DpdkNodes.StatusShowsTheDevicesFigures"))
        return;
    const std::string prefix = "dpdktest-" + std::to_string(getpid()) + "-";
    NamedNode one{prefix + "1"}, two{prefix + "2"}, udp{prefix + "udp"};
    auto open = [](NamedNode &n, uint16_t id, const std::string &listen, const std::string &peers,
                   const std::string &vdev) {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_PINNED;
        cfg.node_name = n.name.c_str();
        cfg.node_id = id;
        cfg.shards = 1;
        cfg.listen = listen.c_str();
        cfg.peers = peers.c_str();
        cfg.dpdk_vdev = vdev.empty() ? nullptr : vdev.c_str();
        EXPECT_EQ(ts_system_open(&cfg, &n.sys), 0) << n.name << ": " << ts_last_error();
    };
    {
        tst::InNetns in(a_);
        ASSERT_TRUE(in.ok()) << in.error();
        open(one, 1, "dpdk://192.0.2.1:7000", "2=dpdk://192.0.2.2:7000", Vdev(wire_->NameA()));
    }
    {
        tst::InNetns in(b_);
        ASSERT_TRUE(in.ok()) << in.error();
        open(two, 2, "dpdk://192.0.2.2:7000", "1=dpdk://192.0.2.1:7000", Vdev(wire_->NameB()));
    }
    open(udp, 3, "udp://127.0.0.1:0", "9=udp://127.0.0.1:9", "");
    ASSERT_TRUE(one.sys && two.sys && udp.sys);

    ts_addr echo1, echo2;
    ASSERT_EQ(ts_system_create(one.sys, tst::kEcho, nullptr, &echo1), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(two.sys, tst::kEcho, nullptr, &echo2), 0) << ts_last_error();
    const uint64_t asks = 20;
    for (uint64_t i = 0; i < asks; i++) {
        ASSERT_TRUE(tst::AskAgain(one.sys, echo2, tst::kPing(), "1 to 2", 7));
        ASSERT_TRUE(tst::AskAgain(two.sys, echo1, tst::kPing(), "2 to 1", 7));
    }
    for (NamedNode *n : {&one, &two}) {
        ts_node_status st;
        bool shown = StatusUntil(n->name, &st, [&](const ts_node_status &s) {
            const ts_node_device &d = s.device;
            return d.name[0] && d.rx_packets >= asks && d.tx_packets >= asks && d.arp_in > 0 &&
                   d.arp_out > 0;
        });
        EXPECT_TRUE(shown) << n->name << ": " << DeviceStr(st.device);
        EXPECT_STREQ(st.transport, "dpdk");
        EXPECT_EQ(std::string(st.device.name).rfind("net_af_packet", 0), 0u) << st.device.name;
        // Every frame is at least an ARP's or an Ethernet/IPv4/UDP header's.
        EXPECT_GE(st.device.rx_bytes, 42 * st.device.rx_packets) << DeviceStr(st.device);
        EXPECT_GE(st.device.tx_bytes, 42 * st.device.tx_packets) << DeviceStr(st.device);
    }
    // Its one link published (never up: nothing listens there), no device.
    ts_node_status st;
    EXPECT_TRUE(StatusUntil(udp.name, &st, [](const ts_node_status &s) { return s.nlinks > 0; }));
    EXPECT_STREQ(st.transport, "udp");
    EXPECT_STREQ(st.device.name, "");
    EXPECT_EQ(st.device.rx_packets + st.device.tx_packets + st.device.arp_in, 0u);
}

} // namespace

namespace {

// Once this process has set DPDK's EAL up, a named node (whose shards run
// in a process forked from this one) cannot use it: its open says so,
// rather than coming up with DPDK's memory broken.
TEST_F(DpdkNodes, ANamedNodeForkedAfterTheEalIsUpIsRefused)
{
    ASSERT_NO_FATAL_FAILURE(OpenBoth(1)); // the EAL is up in this process now
    NamedNode n{"dpdktest-" + std::to_string(getpid()) + "-forked"};
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_PINNED;
    cfg.node_name = n.name.c_str();
    cfg.node_id = 3;
    cfg.shards = 1;
    cfg.listen = "dpdk://192.0.2.3:7000";
    std::string vdev = Vdev(wire_->NameA());
    cfg.dpdk_vdev = vdev.c_str();
    tst::InNetns in(a_);
    ASSERT_TRUE(in.ok()) << in.error();
    int rc = ts_system_open(&cfg, &n.sys);
    EXPECT_NE(rc, 0);
    EXPECT_EQ(n.sys, nullptr);
    EXPECT_NE(std::string(ts_last_error()).find("fork"), std::string::npos) << ts_last_error();
}

} // namespace

namespace {

// A node closed and opened again on the same interface, in the same
// process, works again, on each driver (net_af_xdp's driver leaves a socket
// holding the interface's queue behind; the transport closes it).
TEST(DpdkReopen, ANodeClosedAndOpenedAgainOnItsInterfaceWorks)
{
    for (const char *pmd : {"net_af_packet", "net_af_xdp"}) {
        SCOPED_TRACE(pmd);
        std::string why;
        if (!tst::DpdkUsable(pmd, &why)) {
            std::printf("[ SKIPPED  ] %s: %s\n", pmd, why.c_str());
            continue;
        }
        ASSERT_EQ(tst::RegisterCommonActors(), 0) << ts_last_error();
        tst::DpdkHosts hosts;
        ASSERT_TRUE(hosts.ok()) << hosts.error();
        auto open = [&](int id) {
            ts_config cfg;
            ts_config_init(&cfg);
            cfg.base = TS_BASE_PINNED;
            cfg.node_id = (uint16_t)id;
            cfg.shards = 1;
            std::string listen = "dpdk://" + tst::DpdkHosts::Ip(id) + ":7000";
            std::string peer = std::to_string(3 - id) + "=dpdk://" + tst::DpdkHosts::Ip(3 - id) + ":7000";
            cfg.listen = listen.c_str();
            cfg.peers = peer.c_str();
            std::string vdev;
            tst::DpdkConfigure(&cfg, pmd, hosts.Iface(id), &vdev);
            tst::InNetns in(hosts.Host(id));
            EXPECT_TRUE(in.ok()) << in.error();
            ts_system *s = nullptr;
            EXPECT_EQ(ts_system_open(&cfg, &s), 0) << ts_last_error();
            return s;
        };
        ts_system *two = open(2);
        ASSERT_NE(two, nullptr);
        ts_addr echo;
        ASSERT_EQ(ts_system_create(two, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
        for (int round = 0; round < 3; round++) {
            ts_system *one = open(1);
            ASSERT_NE(one, nullptr) << "round " << round;
            Msg r = tst::AskAgain(one, echo, tst::kPing(), "again", 6);
            EXPECT_TRUE(r) << "round " << round;
            ts_system_close(one);
        }
        ts_system_close(two);
    }
}

} // namespace

namespace {

// ---- loss, duplication and reordering between a dpdk and a udp node -------

// Node 1 on DPDK (192.0.2.1, the bare end of the wire in namespace a),
// node 2 on the kernel's UDP (192.0.2.2 on its end in namespace b). Faults
// come from the kernel side: nftables in b, or the seeded relay in b that
// node 1's datagrams and node 2's go through.
class DpdkAndUdp : public DpdkTest {
  protected:
    void SetUp() override
    {
        DpdkTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        wire_ = std::make_unique<tst::VethPair>(b_, a_, "192.0.2.2", "");
        ASSERT_TRUE(wire_->ok()) << wire_->error();
    }
    void TearDown() override
    {
        DpdkTest::TearDown(); // the systems, then what they talked through
        relay_.reset();
        wire_.reset();
    }
    tst::Netns a_, b_;
    std::unique_ptr<tst::VethPair> wire_;
    std::unique_ptr<tst::FaultRelay> relay_;
};

// 10% of what host b's kernel sends (node 2's data to node 1, and its
// acknowledgements of node 1's data) is dropped by nftables: both streams
// still arrive whole and in order.
TEST_F(DpdkAndUdp, TenPercentLossOnTheKernelSideLosesNothing)
{
    ts_system *one = Open(a_, 1, "dpdk", "192.0.2.1", "2=dpdk://192.0.2.2:7000", Vdev(wire_->NameB()), 1);
    ts_system *two = Open(b_, 2, "udp", "192.0.2.2", "1=udp://192.0.2.1:7000", "", 1);
    ASSERT_TRUE(one && two);
    ASSERT_TRUE(b_.AddLoss(10));
    ts_addr seq1, seq2;
    ASSERT_EQ(ts_system_create(one, tst::kSeq, nullptr, &seq1), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(two, tst::kSeq, nullptr, &seq2), 0) << ts_last_error();
    const uint64_t n = tst::Scaled(30000);
    ASSERT_NO_FATAL_FAILURE(tst::SendNumbers(one, seq2, 0, n)); // dpdk to udp: its acks are lost
    ASSERT_NO_FATAL_FAILURE(tst::SendNumbers(two, seq1, 0, n)); // udp to dpdk: the data is lost
    EXPECT_EQ(tst::Counted(one, seq2), std::make_pair(n, uint64_t{0}));
    EXPECT_EQ(tst::Counted(two, seq1), std::make_pair(n, uint64_t{0}));
    uint64_t dropped = 0;
    ASSERT_TRUE(b_.DroppedPackets(&dropped));
    EXPECT_GT(dropped, 0u) << "the loss rule dropped nothing: the test proved nothing";
}

// Both ways through the seeded relay on host b (it drops 10%, doubles 5%,
// reorders in windows of 8 and delays): every message arrives once and in
// order, a message of many fragments whole.
class DpdkAndUdpFaulty : public DpdkAndUdp, public ::testing::WithParamInterface<uint64_t> {};

TEST_P(DpdkAndUdpFaulty, EveryMessageExactlyOnceAndInOrder)
{
    uint64_t seed = GetParam();
    SCOPED_TRACE("relay seed " + std::to_string(seed));
    tst::RelayConfig rc;
    rc.seed = seed;
    rc.bind_ip = "192.0.2.2";
    rc.faults.drop = 0.10;
    rc.faults.dup = 0.05;
    rc.faults.reorder_window = 8;
    rc.faults.delay_us = 100;
    rc.faults.jitter_us = 400;
    tst::Ipv4("192.0.2.1", 7000, &rc.peer_a); // node 1, on DPDK
    tst::Ipv4("192.0.2.2", 7000, &rc.peer_b); // node 2, on the kernel
    {
        tst::InNetns in(b_); // the relay's sockets and thread live on host b
        ASSERT_TRUE(in.ok()) << in.error();
        relay_ = std::make_unique<tst::FaultRelay>(rc);
    }
    ASSERT_TRUE(relay_->ok()) << relay_->error();
    ts_system *one = Open(a_, 1, "dpdk", "192.0.2.1",
                          "2=dpdk://192.0.2.2:" + std::to_string(relay_->PortA()),
                          Vdev(wire_->NameB()), 1);
    ts_system *two = Open(b_, 2, "udp", "192.0.2.2",
                          "1=udp://192.0.2.2:" + std::to_string(relay_->PortB()), "", 1);
    ASSERT_TRUE(one && two);
    ts_addr seq1, seq2, echo;
    ASSERT_EQ(ts_system_create(one, tst::kSeq, nullptr, &seq1), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(two, tst::kSeq, nullptr, &seq2), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(two, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    const uint64_t n = tst::Scaled(30000);
    ASSERT_NO_FATAL_FAILURE(tst::SendNumbers(one, seq2, 0, n));
    ASSERT_NO_FATAL_FAILURE(tst::SendNumbers(two, seq1, 0, n));
    EXPECT_EQ(tst::Counted(one, seq2), std::make_pair(n, uint64_t{0}));
    EXPECT_EQ(tst::Counted(two, seq1), std::make_pair(n, uint64_t{0}));
    std::vector<unsigned char> big(300000);
    for (size_t i = 0; i < big.size(); i++)
        big[i] = (unsigned char)(i * 31);
    Msg r = tst::AskAgain(one, echo, tst::kPing(), big.data(), big.size());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->len, big.size());
    EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), big.data(), big.size()), 0);
    tst::FaultRelay::Stats st = relay_->Total();
    EXPECT_GT(st.dropped, 0u);
    EXPECT_GT(st.duplicated, 0u);
    EXPECT_GT(st.reordered, 0u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, DpdkAndUdpFaulty, ::testing::Values(1, 42, 2026));

} // namespace

namespace {

// What a device or the EAL cannot do is said at open, and nothing is left
// half set up: other EAL arguments than the process's, a device with fewer
// queues than shards (net_af_packet told fewer queue pairs, net_af_xdp on a veth:
// one), more queue pairs than shards (the spare ones would lose what lands
// on them), more mbufs than the EAL's memory holds.
TEST_F(DpdkNodes, WhatTheDeviceOrTheEalCannotDoIsAClearError)
{
    if (tst::AllowedCpus().size() < 2)
        GTEST_SKIP() << "needs two CPUs for two shards";
    ASSERT_NO_FATAL_FAILURE(OpenBoth(1)); // the EAL is up, with the default arguments
    auto refused = [&](tst::Netns &ns, const std::string &vdev, unsigned shards,
                       const char *eal_args, unsigned mbufs, const std::string &says) {
        SCOPED_TRACE(vdev);
        tst::InNetns in(ns);
        ASSERT_TRUE(in.ok()) << in.error();
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_PINNED;
        cfg.node_id = 3;
        cfg.shards = shards;
        cfg.listen = "dpdk://192.0.2.3:7000";
        cfg.dpdk_vdev = vdev.c_str();
        cfg.dpdk_args = eal_args;
        cfg.dpdk_mbufs = mbufs;
        ts_system *s = nullptr;
        EXPECT_NE(ts_system_open(&cfg, &s), 0);
        EXPECT_EQ(s, nullptr);
        ts_system_close(s);
        EXPECT_NE(std::string(ts_last_error()).find(says), std::string::npos) << ts_last_error();
    };
    tst::Netns c;
    tst::VethPair spare(c, b_, "", "");
    ASSERT_TRUE(spare.ok()) << spare.error();
    const std::string iface = spare.NameA();
    refused(c, Vdev(iface), 1, "--no-huge --no-pci -m 64", 0, "one EAL per process");
    refused(c, "net_af_packet970,iface=" + iface + ",qpairs=1", 2, nullptr, 0, "shards need one each");
    refused(c, "net_af_packet971,iface=" + iface + ",qpairs=3", 2, nullptr, 0, "qpairs=2");
    refused(c, Vdev(iface), 1, nullptr, 1000000, "give the EAL more memory");
    std::string why;
    if (tst::DpdkUsable("net_af_xdp", &why))
        refused(c, tst::DpdkVdev("net_af_xdp", iface), 2, nullptr, 0, "shards need one each");
    else
        std::printf("[ SKIPPED  ] net_af_xdp's queues: %s\n", why.c_str());
    // The device of each refused node is gone: the interface takes another.
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_PINNED;
    cfg.node_id = 3;
    cfg.shards = 1;
    cfg.listen = "dpdk://192.0.2.3:7000";
    std::string vdev = Vdev(iface);
    cfg.dpdk_vdev = vdev.c_str();
    tst::InNetns in(c);
    ASSERT_TRUE(in.ok()) << in.error();
    ts_system *s = nullptr;
    EXPECT_EQ(ts_system_open(&cfg, &s), 0) << ts_last_error();
    ts_system_close(s);
}

} // namespace
