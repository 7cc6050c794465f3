// The transport conformance suite: two nodes in one process, each a pinned
// system with its own node id, joined by each transport in turn: tcp and
// udp on loopback (ts_config.listen / peers), dpdk on net_af_packet and on
// net_af_xdp over a veth pair between two network namespaces (each node an
// IPv4 host of its own on its end): the same actor code talks across nodes
// as within one (design §3, §7), and every transport passes the same
// tests. The dpdk ones run without huge pages, and again on them with
// TS_TEST_DPDK_HUGE=1 (the meson test net-dpdk-huge; dpdk_hosts.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/log.h>
#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "dpdk_hosts.h"
#include "ts_test.h"

namespace {

constexpr uint64_t kSec = UINT64_C(1000) * 1000 * 1000;

// test.net.Relay: passes Ping (payload: the echo's address, then the rest)
// to that echo, and the Pong back to whoever asked: an actor on one node
// talking to an actor on the other.
struct RelayState {
    ts_addr caller;
};
int RelayPing(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<RelayState *>(state);
    ts_addr echo;
    if (m->len < sizeof echo)
        return -EBADMSG;
    std::memcpy(&echo, ts_msg_data(m), sizeof echo);
    st->caller = ts_sender(ctx);
    return ts_send(ctx, echo, tst::kPing(), ts_msg_data(m), m->len);
}
int RelayPong(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<RelayState *>(state);
    return ts_send(ctx, st->caller, tst::kPong(), ts_msg_data(m), m->len);
}
const ts_handler_entry kRelayHandlers[] = {
    TS_ON("test.net.RelayPing", RelayPing),
    TS_ON("test.common.Pong", RelayPong),
    TS_HANDLERS_END,
};
const ts_actor_type kRelayType = {"test.net.Relay", sizeof(RelayState), nullptr, nullptr,
                                  kRelayHandlers, nullptr, nullptr, nullptr};

// test.net.Spawner: on SpawnOn {node, type, n} creates a child of `type` on
// that node (TS_PLACE_NODE), at once sends it Nums 0..n-1 (before it can
// exist: they wait for it, in order), and answers with the child's
// address. On Stop it asks the child to exit; ChildExited goes to whoever
// sent Stop, as ChildGone {child, status}.
struct SpawnOn {
    uint16_t node;
    uint16_t zero;
    uint32_t n;
    char type[48];
};
struct SpawnedOn {
    ts_addr child;
    int32_t rc; // ts_create's
    int32_t zero;
};
struct SpawnerState {
    ts_addr child, stopper;
};
TS_TYPE_ID(kSpawnOn, "test.net.SpawnOn")
TS_TYPE_ID(kSpawnedOn, "test.net.SpawnedOn")
TS_TYPE_ID(kStop, "test.net.Stop")
int SpawnerSpawn(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<SpawnerState *>(state);
    SpawnOn q;
    if (!tst::As(m, &q))
        return -EBADMSG;
    ts_create_opts o{};
    o.placement = TS_PLACE_NODE;
    o.node = q.node;
    SpawnedOn r{TS_ADDR_NONE, 0, 0};
    r.rc = ts_create(ctx, q.type, &o, &r.child);
    st->child = r.child;
    for (uint64_t i = 0; r.rc == 0 && i < q.n; i++)
        if (ts_send(ctx, r.child, tst::kNum(), &i, sizeof i) < 0)
            return -EIO;
    return ts_reply(ctx, kSpawnedOn(), &r, sizeof r);
}
int SpawnerStop(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<SpawnerState *>(state);
    st->stopper = ts_sender(ctx);
    return ts_send(ctx, st->child, TS_MSG_EXIT_REQUEST, nullptr, 0);
}
int SpawnerChildExited(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<SpawnerState *>(state);
    if (st->stopper == TS_ADDR_NONE)
        return 0; // nobody asked (a child whose init failed)
    ts_child_exited ce{};
    tst::ChildGone g{};
    g.decode_rc = ts_child_exited_decode(m, &ce);
    g.child = ce.child;
    g.status = ce.status;
    return ts_send(ctx, st->stopper, tst::kChildGone(), &g, sizeof g);
}
const ts_handler_entry kSpawnerHandlers[] = {
    TS_ON("test.net.SpawnOn", SpawnerSpawn),
    TS_ON("test.net.Stop", SpawnerStop),
    TS_ON("ts.ChildExited", SpawnerChildExited),
    TS_HANDLERS_END,
};
const ts_actor_type kSpawnerType = {"test.net.Spawner", sizeof(SpawnerState), nullptr, nullptr,
                                    kSpawnerHandlers, nullptr, nullptr, nullptr};

// test.net.BadInit: its init fails.
int BadInitInit(ts_ctx *, void *, const void *, size_t) { return -EIO; }
const ts_actor_type kBadInitType = {"test.net.BadInit", 0, BadInitInit, nullptr, nullptr, nullptr, nullptr, nullptr};

using tst::Msg;

int RawLoopback(bool udp, uint16_t port);

// How the suite's two nodes are joined: a kernel transport on loopback,
// or dpdk on a driver over a veth pair between two namespaces.
struct Wire {
    const char *name;   // the test's parameter name
    const char *scheme; // tcp, udp or dpdk
    const char *pmd;    // dpdk's driver, or nullptr
};
const Wire kWires[] = {
    {"tcp", "tcp", nullptr},
    {"udp", "udp", nullptr},
    {"dpdk_af_packet", "dpdk", "net_af_packet"},
    {"dpdk_af_xdp", "dpdk", "net_af_xdp"},
};

void PrintTo(const Wire &w, std::ostream *os) { *os << w.name; }

class TwoNodes : public ::testing::TestWithParam<Wire> {
  protected:
    static constexpr size_t kMaxMsg = size_t{8} << 20;
    static constexpr uint16_t kDpdkPort = 7000;
    void SetUp() override
    {
        if (Dpdk()) {
            std::string why;
            if (!tst::DpdkUsable(GetParam().pmd, &why))
                GTEST_SKIP() << why;
        }
        ASSERT_EQ(tst::RegisterCommonActors(), 0) << ts_last_error();
        ASSERT_EQ(ts_register_actor_type(&kRelayType), 0) << ts_last_error();
        ASSERT_EQ(ts_register_actor_type(&kSpawnerType), 0) << ts_last_error();
        ASSERT_EQ(ts_register_actor_type(&kBadInitType), 0) << ts_last_error();
        std::vector<int> cpus = tst::AllowedCpus();
        if (Dpdk()) { // each node an IPv4 host of its own: the ports are free
            hosts_ = std::make_unique<tst::DpdkHosts>();
            ASSERT_TRUE(hosts_->ok()) << hosts_->error();
            port_b_ = kDpdkPort;
            ASSERT_EQ(Open(&a_, 1, Url(1, kDpdkPort), "2=" + Url(2, kDpdkPort) + DeadPeer(kDpdkPort),
                           cpus.front()),
                      0)
                << ts_last_error();
            ASSERT_EQ(Open(&b_, 2, Url(2, kDpdkPort), "1=" + Url(1, kDpdkPort), cpus.back()), 0)
                << ts_last_error();
            return;
        }
        static std::mt19937 rng((unsigned)getpid());
        for (int attempt = 0; attempt < 20; attempt++) {
            uint16_t pa = (uint16_t)(20000 + rng() % 12000), pb = (uint16_t)(pa + 1);
            int rc = Open(&a_, 1, Url(1, pa), "2=" + Url(2, pb) + DeadPeer(pa), cpus.front());
            if (rc != 0) {
                ASSERT_EQ(rc, -EADDRINUSE) << ts_last_error();
                continue;
            }
            rc = Open(&b_, 2, Url(2, pb), "1=" + Url(1, pa), cpus.back());
            port_b_ = pb;
            if (rc == 0)
                return;
            ASSERT_EQ(rc, -EADDRINUSE) << ts_last_error();
            ts_system_close(a_);
            a_ = nullptr;
        }
        FAIL() << "no two free ports";
    }
    void TearDown() override
    {
        ts_system_close(a_);
        ts_system_close(b_);
        a_ = b_ = nullptr;
        hosts_.reset(); // the systems go before their wire
    }
    bool Dpdk() const { return GetParam().pmd != nullptr; }
    // Node 4, in node 1's peer table, where nobody answers: on loopback a
    // port nobody listens on (node 1's is pa), on a wire an address nobody
    // answers ARP for. Nothing goes there unless a test sends it.
    std::string DeadPeer(uint16_t pa) const
    {
        uint16_t port = Dpdk() ? kDpdkPort : (uint16_t)(pa == 20000 ? 20002 : pa - 1);
        return ",4=" + Url(9, port);
    }
    // Datagrams (udp, dpdk) rather than a stream.
    bool Datagrams() const { return std::strcmp(GetParam().scheme, "tcp") != 0; }
    // Where node id is reached at port: on loopback, or (dpdk) its host.
    std::string Url(uint16_t id, uint16_t port) const
    {
        std::string host = Dpdk() ? tst::DpdkHosts::Ip(id) : "127.0.0.1";
        return std::string(GetParam().scheme) + "://" + host + ":" + std::to_string(port);
    }
    // A raw peer's socket, connected to node 2: on loopback, or from host
    // a's kernel; -1 and errno when that fails.
    int RawConnect()
    {
        return Dpdk() ? hosts_->RawSocket(port_b_) : RawLoopback(Datagrams(), port_b_);
    }
    // The ids of the engine's log records, from either node.
    static void OnLog(void *user, const ts_log_record *rec)
    {
        auto *self = static_cast<TwoNodes *>(user);
        std::lock_guard<std::mutex> g(self->log_mu_);
        self->log_ids_.push_back(rec->id ? rec->id : "");
    }
    bool Logged(const std::string &id)
    {
        std::lock_guard<std::mutex> g(log_mu_);
        return std::find(log_ids_.begin(), log_ids_.end(), id) != log_ids_.end();
    }
    std::mutex log_mu_;
    std::vector<std::string> log_ids_;
    uint16_t port_b_ = 0;
    // Opens pinned node id on cpu, listening at listen (on its host, for
    // dpdk); 0 or ts_system_open's error.
    int Open(ts_system **out, uint16_t id, const std::string &listen, const std::string &peers,
             int cpu)
    {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_PINNED;
        cfg.node_id = id;
        std::string cores = std::to_string(cpu), vdev;
        cfg.max_msg_size = kMaxMsg;
        cfg.cores = cores.c_str();
        cfg.listen = listen.c_str();
        cfg.peers = peers.c_str();
        cfg.log.sink = TS_LOG_SINK_CALLBACK;
        cfg.log.fn = OnLog;
        cfg.log.user = this;
        *out = nullptr;
        if (!Dpdk())
            return ts_system_open(&cfg, out);
        tst::DpdkConfigure(&cfg, GetParam().pmd, hosts_->Iface(id), &vdev);
        tst::InNetns in(hosts_->Host(id));
        EXPECT_TRUE(in.ok()) << in.error();
        return ts_system_open(&cfg, out);
    }
    std::unique_ptr<tst::DpdkHosts> hosts_;
    static int Tell(ts_system *sys, ts_addr to, uint64_t type, const void *p, size_t len)
    {
        return tst::TellAgain(sys, to, type, p, len);
    }
    static Msg Ask(ts_system *sys, ts_addr to, uint64_t type, const void *p, size_t len,
                   uint64_t wait = 30 * kSec)
    {
        return tst::AskAgain(sys, to, type, p, len, wait);
    }
    // Has node 1's shard 0 (where the spawner goes) hold a lease from node
    // 2: a creation there from outside waits for one (a shard asks when it
    // first needs one).
    bool Leased(ts_system *sys)
    {
        ts_create_opts o{};
        o.placement = TS_PLACE_NODE;
        o.node = 2;
        ts_addr x;
        int rc = ts_system_create(sys, tst::kEcho, &o, &x);
        EXPECT_EQ(rc, 0) << ts_last_error();
        ts_system_stats st{};
        ts_system_stats_get(sys, &st);
        return rc == 0 && st.peer_leases >= 1;
    }
    // A new test.net.Spawner on node 1 has a child of `type` made on `node`
    // and sent n Nums; false when the spawner did not answer.
    bool SpawnVia(uint16_t node, const char *type, uint32_t n, ts_addr *spawner, SpawnedOn *got)
    {
        EXPECT_EQ(ts_system_create(a_, "test.net.Spawner", nullptr, spawner), 0) << ts_last_error();
        SpawnOn q{};
        q.node = node;
        q.n = n;
        std::snprintf(q.type, sizeof q.type, "%s", type);
        Msg r = Ask(a_, *spawner, kSpawnOn(), &q, sizeof q);
        return r && tst::As(r.get(), got);
    }
    ts_system *a_ = nullptr, *b_ = nullptr;
};

TEST_P(TwoNodes, AskAnActorOnTheOtherNode)
{
    ts_addr echo;
    ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    EXPECT_EQ(ts_addr_node(echo), 2);
    const char hi[] = "across nodes";
    Msg r = Ask(a_, echo, tst::kPing(), hi, sizeof hi);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, tst::kPong());
    ASSERT_EQ(r->len, sizeof hi);
    EXPECT_STREQ((const char *)ts_msg_data(r.get()), hi);
}

TEST_P(TwoNodes, ActorsTalkAcrossNodesAndAddressesTravelInPayloads)
{
    ts_addr echo, relay;
    ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(a_, "test.net.Relay", nullptr, &relay), 0) << ts_last_error();
    // The relay on node 1 gets the echo's node-2 address in the payload.
    std::vector<unsigned char> p(sizeof echo + 100, 'x');
    std::memcpy(p.data(), &echo, sizeof echo);
    Msg r = Ask(a_, relay, ts_type_id("test.net.RelayPing"), p.data(), p.size());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, tst::kPong());
    ASSERT_EQ(r->len, p.size());
    EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), p.data(), p.size()), 0);
}

TEST_P(TwoNodes, AMillionMessagesArriveInOrder)
{
    ts_addr seq;
    ASSERT_EQ(ts_system_create(b_, tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    const uint64_t n = tst::Scaled(1000000);
    for (uint64_t i = 0; i < n; i++)
        ASSERT_EQ(Tell(a_, seq, tst::kNum(), &i, sizeof i), 0) << ts_last_error();
    // Counted once all have arrived: a Count sent after them comes after them.
    Msg r = Ask(a_, seq, tst::kCount(), nullptr, 0);
    ASSERT_TRUE(r);
    uint64_t got[2];
    ASSERT_EQ(r->len, sizeof got);
    std::memcpy(got, ts_msg_data(r.get()), sizeof got);
    EXPECT_EQ(got[0], n) << "numbers arrived";
    EXPECT_EQ(got[1], 0u) << "numbers out of order";
}

TEST_P(TwoNodes, LargeMessagesCrossIntact)
{
    ts_addr echo;
    ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    for (size_t size : {size_t{0}, size_t{1400}, size_t{60000}, size_t{70000}, size_t{1} << 20, kMaxMsg}) {
        std::vector<unsigned char> p(size);
        for (size_t i = 0; i < size; i++)
            p[i] = (unsigned char)(i * 7 + size);
        Msg r = Ask(a_, echo, tst::kPing(), p.data(), p.size());
        ASSERT_TRUE(r) << size << " bytes";
        ASSERT_EQ(r->len, size);
        if (size) {
            EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), p.data(), size), 0) << size;
        }
    }
}

// Twenty relays on node 1, each with its own echo on node 2, and twenty
// counters on node 2 fed interleaved from node 1: every pair talks, and
// every counter sees its own numbers in order.
TEST_P(TwoNodes, ManyActorsOnBothSides)
{
    const int n = 20;
    std::vector<ts_addr> relays(n), echos(n), seqs(n);
    for (int i = 0; i < n; i++) {
        ASSERT_EQ(ts_system_create(a_, "test.net.Relay", nullptr, &relays[i]), 0) << ts_last_error();
        ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echos[i]), 0) << ts_last_error();
        ASSERT_EQ(ts_system_create(b_, tst::kSeq, nullptr, &seqs[i]), 0) << ts_last_error();
    }
    for (uint64_t k = 0; k < 500; k++)
        for (int i = 0; i < n; i++)
            ASSERT_EQ(Tell(a_, seqs[i], tst::kNum(), &k, sizeof k), 0) << ts_last_error();
    for (int i = 0; i < n; i++) {
        unsigned char p[sizeof(ts_addr) + 1];
        std::memcpy(p, &echos[i], sizeof(ts_addr));
        p[sizeof(ts_addr)] = (unsigned char)i;
        Msg r = Ask(a_, relays[i], ts_type_id("test.net.RelayPing"), p, sizeof p);
        ASSERT_TRUE(r);
        ASSERT_EQ(r->len, sizeof p);
        EXPECT_EQ(((const unsigned char *)ts_msg_data(r.get()))[sizeof(ts_addr)], i);
        r = Ask(a_, seqs[i], tst::kCount(), nullptr, 0);
        ASSERT_TRUE(r);
        uint64_t got[2];
        std::memcpy(got, ts_msg_data(r.get()), sizeof got);
        EXPECT_EQ(got[0], 500u) << "counter " << i;
        EXPECT_EQ(got[1], 0u) << "counter " << i;
    }
}

// A message from node 1 to an actor of node 2 that is gone is a dead
// letter on node 2, like a local one; the link goes on.
TEST_P(TwoNodes, MessageToAGoneRemoteActorIsADeadLetter)
{
    ts_addr echo, seq;
    ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(b_, tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    ASSERT_TRUE(Ask(a_, echo, tst::kPing(), "x", 1)) << "it was there";
    ASSERT_EQ(ts_tell(b_, echo, TS_MSG_EXIT_REQUEST, nullptr, 0), 0) << ts_last_error();
    ASSERT_TRUE(Ask(b_, seq, tst::kCount(), nullptr, 0)) << "node 2 handled the ExitRequest";
    ts_system_stats before, after;
    ASSERT_EQ(ts_system_stats_get(b_, &before), 0);
    ASSERT_EQ(ts_tell(a_, echo, tst::kPing(), "y", 1), 0) << ts_last_error();
    // A Count sent after it on the same link is answered after it was handled.
    ASSERT_TRUE(Ask(a_, seq, tst::kCount(), nullptr, 0));
    ASSERT_EQ(ts_system_stats_get(b_, &after), 0);
    EXPECT_EQ(after.dead_letters, before.dead_letters + 1);
}

// Node 3 is in nobody's peer table: what is sent there is a dead letter
// (the log says why), and the link to node 2 is not disturbed.
TEST_P(TwoNodes, UnknownNodeIsADeadLetter)
{
    ts_addr nowhere = ts_addr_make(3, 0, 5, 1);
    ts_system_stats before, after;
    ASSERT_EQ(ts_system_stats_get(a_, &before), 0);
    ASSERT_EQ(ts_tell(a_, nowhere, tst::kPing(), "x", 1), 0) << ts_last_error();
    ASSERT_EQ(ts_run(a_, 30 * kSec), 0) << ts_last_error();
    ASSERT_EQ(ts_system_stats_get(a_, &after), 0);
    EXPECT_EQ(after.dead_letters, before.dead_letters + 1);
    ASSERT_EQ(ts_log_flush(a_), 0);
    EXPECT_TRUE(Logged("TS-NET-UNKNOWN")) << "the log says why";
    ts_addr echo;
    ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    Msg r = Ask(a_, echo, tst::kPing(), "y", 1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, tst::kPong());
}

// A socket of a raw peer, connected to node 2 on loopback (a stream or a
// datagram socket); -1 and errno when that fails.
int RawLoopback(bool udp, uint16_t port)
{
    int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (sockaddr *)&to, sizeof to) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

// A frame as node `from`'s shard 5 would send it (docs/protocol.md): 48
// bytes little-endian, then the payload.
std::vector<unsigned char> Frame(uint8_t kind, uint16_t from, ts_addr dst, uint64_t type,
                                 uint64_t seq, const std::string &payload)
{
    std::vector<unsigned char> f(48 + payload.size(), 0);
    auto put = [&](size_t at, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
            f[at + i] = (unsigned char)(v >> (8 * i));
    };
    put(0, 0x31465354u, 4); // "TSF1"
    f[4] = 1;
    f[5] = kind;
    put(8, from, 2);
    put(12, payload.size(), 4);
    put(16, dst, 8);
    f[10] = 5; // the sending shard
    put(24, 0, 8);
    put(32, type, 8);
    put(40, seq, 8);
    std::memcpy(f.data() + 48, payload.data(), payload.size());
    return f;
}

// A peer that sends node 2 a message for node 7: dropped with its reason
// logged; the message after it, for an actor of node 2, is handled.
TEST_P(TwoNodes, MisroutedMessageIsDroppedAndTheLinkGoesOn)
{
    ts_addr seq;
    ASSERT_EQ(ts_system_create(b_, tst::kSeq, nullptr, &seq), 0) << ts_last_error();
    int fd = RawConnect();
    ASSERT_GE(fd, 0) << strerror(errno);
    uint64_t zero = 0;
    std::string num((const char *)&zero, sizeof zero);
    // A HELLO from node 1's shard 5 then two messages: a stream on tcp, one
    // datagram on udp (docs/protocol.md).
    std::vector<unsigned char> bytes = Frame(1, 1, 0, /*epoch*/ 1, /*first seq*/ 1, "");
    for (auto &f : {Frame(0, 1, ts_addr_make(7, 0, 5, 1), tst::kNum(), 1, num),
                    Frame(0, 1, seq, tst::kNum(), 2, num)})
        bytes.insert(bytes.end(), f.begin(), f.end());
    ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), (ssize_t)bytes.size());
    Msg r;
    for (int tries = 0; tries < 1000; tries++) { // until the Num has been handled
        r = Ask(b_, seq, tst::kCount(), nullptr, 0);
        uint64_t got[2] = {0, 0};
        ASSERT_TRUE(r);
        std::memcpy(got, ts_msg_data(r.get()), sizeof got);
        if (got[0] == 1)
            break;
    }
    uint64_t got[2];
    std::memcpy(got, ts_msg_data(r.get()), sizeof got);
    EXPECT_EQ(got[0], 1u) << "the message after the misrouted one was not handled";
    ASSERT_EQ(ts_log_flush(b_), 0);
    EXPECT_TRUE(Logged("TS-NET-MISROUTED"));
    close(fd);
}

// Bad peers: garbage, a truncated frame, a huge length, a node nobody
// knows. Each is refused (a connection closed, a datagram dropped) with its
// reason logged, and node 2 goes on serving node 1 after each.
TEST_P(TwoNodes, BadPeersAreRefusedAndTheGoodLinkGoesOn)
{
    bool udp = Datagrams();
    ts_addr echo;
    ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    std::vector<unsigned char> hello = Frame(1, 1, 0, /*epoch*/ 1, /*first seq*/ 1, "");
    auto with_hello = [&](std::vector<unsigned char> f) {
        f.insert(f.begin(), hello.begin(), hello.end());
        return f;
    };
    std::vector<unsigned char> huge = Frame(0, 1, echo, tst::kPing(), 1, "");
    huge[12] = huge[13] = huge[14] = huge[15] = 0xff; // len 4 GiB
    std::vector<unsigned char> cut = Frame(0, 1, echo, tst::kPing(), 1, std::string(100, 'c'));
    cut.resize(48 + 40);
    std::vector<std::pair<const char *, std::vector<unsigned char>>> cases = {
        {"garbage", std::vector<unsigned char>(300, 'g')},
        {"truncated", with_hello(cut)},
        {"huge length", with_hello(huge)},
        {"unknown node", Frame(1, 77, 0, 1, 1, "")},
    };
    if (udp) // a datagram longer than any a peer sends: cut short on receipt
        cases.push_back({"oversized datagram",
                         with_hello(Frame(0, 1, echo, tst::kPing(), 1, std::string(4000, 'o')))});
    for (auto &c : cases) {
        SCOPED_TRACE(c.first);
        int fd = RawConnect();
        ASSERT_GE(fd, 0) << strerror(errno);
        ASSERT_EQ(send(fd, c.second.data(), c.second.size(), MSG_NOSIGNAL), (ssize_t)c.second.size());
        Msg r = Ask(a_, echo, tst::kPing(), c.first, std::strlen(c.first) + 1);
        ASSERT_TRUE(r);
        EXPECT_STREQ((const char *)ts_msg_data(r.get()), c.first);
        close(fd);
    }
    // Every bad peer was refused with its reason logged (a datagram
    // backend says it at most once a second per peer).
    // (Another connection's bytes may be read after the last answer: the
    // node is asked until the record is there.)
    for (int tries = 0; tries < 3000 && !Logged("TS-NET-MALFORMED"); tries++) {
        ASSERT_TRUE(Ask(b_, echo, tst::kPing(), "x", 1));
        ASSERT_EQ(ts_log_flush(b_), 0);
    }
    EXPECT_TRUE(Logged("TS-NET-MALFORMED"));
}

// ts_system_create with TS_PLACE_NODE: the actor lives on node 2, which
// picked its shard; node 1 talks to it as to any other.
TEST_P(TwoNodes, CreateOnAnotherNode)
{
    ts_create_opts o{};
    o.placement = TS_PLACE_NODE;
    o.node = 2;
    ts_addr echo;
    ts_system_stats before{}, after{};
    ASSERT_EQ(ts_system_stats_get(b_, &before), 0);
    ASSERT_EQ(ts_system_create(a_, tst::kEcho, &o, &echo), 0) << ts_last_error();
    EXPECT_EQ(ts_addr_node(echo), 2);
    Msg r = Ask(a_, echo, tst::kPing(), "made remotely", 14);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->src, echo);
    EXPECT_STREQ((const char *)ts_msg_data(r.get()), "made remotely");
    ASSERT_EQ(ts_system_stats_get(b_, &after), 0);
    EXPECT_EQ(after.actors_created, before.actors_created + 1) << "counted where it lives";
    EXPECT_EQ(after.actors_live, before.actors_live + 1);
    // This node, named as a node, is local.
    o.node = 1;
    ts_addr here;
    ASSERT_EQ(ts_system_create(a_, tst::kEcho, &o, &here), 0) << ts_last_error();
    EXPECT_EQ(ts_addr_node(here), 1);
}

// An actor creates a child on the other node and sends it messages at once:
// they arrive in order once it exists; the child's exit comes back to the
// parent as ChildExited across the link.
TEST_P(TwoNodes, ChildOnAnotherNodeGetsEarlyMessagesInOrderAndReportsItsExit)
{
    ASSERT_TRUE(Leased(a_)) << "node 2 never leased node 1 a slot";
    const uint32_t n = (uint32_t)tst::Scaled(5000);
    ts_addr spawner;
    SpawnedOn got{};
    ASSERT_TRUE(SpawnVia(2, tst::kSeq, n, &spawner, &got));
    ASSERT_EQ(got.rc, 0);
    EXPECT_EQ(ts_addr_node(got.child), 2);
    // Node 1 asks the child directly: after the spawner's Nums? Not
    // necessarily (another sender); so ask until all n are in.
    uint64_t count[2] = {0, 0};
    for (int i = 0; i < 10000 && count[0] < n; i++) {
        Msg c = Ask(a_, got.child, tst::kCount(), nullptr, 0);
        ASSERT_TRUE(c);
        std::memcpy(count, ts_msg_data(c.get()), sizeof count);
    }
    EXPECT_EQ(count[0], n);
    EXPECT_EQ(count[1], 0u) << "out of order or repeated";
    // Stop: ChildExited from node 2 reaches the parent on node 1.
    ts_msg *gone = nullptr;
    ASSERT_EQ(ts_ask(a_, spawner, kStop(), nullptr, 0, 30 * kSec, &gone), 0) << ts_last_error();
    Msg g(gone);
    tst::ChildGone cg{};
    ASSERT_TRUE(tst::As(g.get(), &cg));
    EXPECT_EQ(cg.decode_rc, 0);
    EXPECT_EQ(cg.child, got.child);
    EXPECT_EQ(cg.status, 0);
}

// A child whose init fails on the other node: the parent hears the error,
// and what was sent to it comes back as Poison (as on one node).
TEST_P(TwoNodes, RemoteInitFailureReachesTheParent)
{
    ASSERT_TRUE(Leased(a_));
    ts_addr spawner;
    SpawnedOn got{};
    ASSERT_TRUE(SpawnVia(2, "test.net.BadInit", 0, &spawner, &got));
    ASSERT_EQ(got.rc, 0) << "creation returns at once; init fails over there";
    ts_msg *p = nullptr;
    ASSERT_EQ(ts_ask(a_, got.child, tst::kPing(), "x", 1, 30 * kSec, &p), 0) << ts_last_error();
    Msg poison(p);
    EXPECT_EQ(poison->type, TS_MSG_POISON);
    ts_poison pd{};
    ASSERT_EQ(ts_poison_decode(poison.get(), &pd), 0);
    EXPECT_EQ(pd.reason, -EIO);
}

// Inside a handler a creation cannot wait: before node 2 leased the shard
// any slot (nothing has crossed the link yet), ts_create says -EAGAIN and
// asks for a lease; the same request a little later succeeds.
TEST_P(TwoNodes, ACreateInAHandlerBeforeTheFirstLeaseSaysTryAgain)
{
    ts_addr spawner;
    SpawnedOn got{};
    ASSERT_TRUE(SpawnVia(2, tst::kEcho, 0, &spawner, &got));
    EXPECT_EQ(got.rc, -EAGAIN);
    EXPECT_EQ(got.child, TS_ADDR_NONE);
    SpawnOn q{};
    q.node = 2;
    std::snprintf(q.type, sizeof q.type, "%s", tst::kEcho);
    int tries = 0;
    for (; tries < 100000 && got.rc == -EAGAIN; tries++) {
        Msg r = Ask(a_, spawner, kSpawnOn(), &q, sizeof q);
        ASSERT_TRUE(r && tst::As(r.get(), &got));
    }
    ASSERT_EQ(got.rc, 0) << "no lease after " << tries << " tries";
    EXPECT_EQ(ts_addr_node(got.child), 2);
    Msg r = Ask(a_, got.child, tst::kPing(), "leased", 7);
    ASSERT_TRUE(r);
    EXPECT_STREQ((const char *)ts_msg_data(r.get()), "leased");
    ts_system_stats st{};
    ASSERT_EQ(ts_system_stats_get(a_, &st), 0);
    EXPECT_GE(st.peer_leases, 1u);
}

TEST_P(TwoNodes, CreateOnAnUnknownNodeOrNamedElsewhereIsRefused)
{
    ts_create_opts o{};
    o.placement = TS_PLACE_NODE;
    o.node = 9;
    ts_addr a = TS_ADDR_NONE;
    EXPECT_EQ(ts_system_create(a_, tst::kEcho, &o, &a), -EHOSTUNREACH);
    EXPECT_NE(std::string(ts_last_error()).find("9"), std::string::npos) << ts_last_error();
    EXPECT_EQ(a, TS_ADDR_NONE);
    o.node = 2;
    o.global_name = "one.per.node";
    EXPECT_EQ(ts_system_create(a_, tst::kEcho, &o, &a), -EOPNOTSUPP);
    // Inside a handler: the same, as the create's result.
    ts_addr spawner;
    SpawnedOn got{};
    ASSERT_TRUE(SpawnVia(9, tst::kEcho, 0, &spawner, &got));
    EXPECT_EQ(got.rc, -EHOSTUNREACH);
}

// A peer may send only the nets' own control messages: one for a shard's
// internals (here "exit all actors") is refused and logged, and nothing
// on node 2 exits. A Start for a slot node 2 never leased is dropped.
TEST_P(TwoNodes, ControlMessagesAndStartsFromAPeerAreChecked)
{
    ts_addr echo;
    ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    const uint64_t kExitAll = UINT64_C(0x7473000000000002), kNetStart = UINT64_C(0x7473000000000022);
    int fd = RawConnect();
    ASSERT_GE(fd, 0) << strerror(errno);
    // A Start payload: epoch, {parent, arg_len, type_len, name_len}, type.
    std::string start(8 + 16, '\0');
    uint16_t tl = (uint16_t)(std::strlen(tst::kEcho) + 1);
    std::memcpy(&start[8 + 12], &tl, 2);
    start.append(tst::kEcho, tl);
    std::vector<unsigned char> bytes = Frame(1, 1, 0, /*epoch*/ 1, /*first seq*/ 1, "");
    for (auto &f : {Frame(0, 1, ts_addr_make(2, 0, 0xffffff, 0), kExitAll, 1, ""),
                    Frame(0, 1, ts_addr_make(2, 0, 4000, 1), kNetStart, 2, start)})
        bytes.insert(bytes.end(), f.begin(), f.end());
    ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), (ssize_t)bytes.size());
    for (int tries = 0; tries < 3000 && !(Logged("TS-NET-MALFORMED") && Logged("TS-NET-STALE")); tries++) {
        ASSERT_TRUE(Ask(a_, echo, tst::kPing(), "x", 1)) << "node 2's actor exited";
        ASSERT_EQ(ts_log_flush(b_), 0);
    }
    EXPECT_TRUE(Logged("TS-NET-MALFORMED"));
    EXPECT_TRUE(Logged("TS-NET-STALE"));
    ASSERT_TRUE(Ask(a_, echo, tst::kPing(), "x", 1));
    close(fd);
}

// Node 4 is a peer that never answers: what is sent there fills its
// link's queue (64 MiB) and waits. Node 2's link is not held up behind it.
TEST_P(TwoNodes, ADeadPeerHoldsUpNoOtherLink)
{
    ts_addr echo;
    ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echo), 0) << ts_last_error();
    std::vector<unsigned char> big(kMaxMsg, 'b');
    ts_addr nowhere = ts_addr_make(4, 0, 5, 1);
    for (int i = 0; i < 10; i++) // 80 MiB: more than the link to node 4 holds
        ASSERT_EQ(Tell(a_, nowhere, tst::kPing(), big.data(), big.size()), 0) << ts_last_error();
    for (int i = 0; i < 3; i++) {
        Msg r = Ask(a_, echo, tst::kPing(), "through", 8);
        ASSERT_TRUE(r) << "node 2 is held up behind node 4";
        EXPECT_STREQ((const char *)ts_msg_data(r.get()), "through");
    }
}

// Links on the multiproc base: node 1 is a named multiproc node (its shard
// a process of its own), node 2 a pinned one. Asks go both ways; after the
// shard process of node 1 is SIGKILLed and restarted, with new sockets and
// a new epoch, node 2 reaches it again with nothing more to do.
TEST_P(TwoNodes, AMultiprocNodeLinksAndComesBackAfterItsShardIsKilled)
{
    ts_system_close(a_);
    a_ = nullptr;
    if (Dpdk())
        GTEST_SKIP() << "the multiproc base takes no dpdk transport (its shards are processes; "
                        "a DPDK port belongs to one)";
    std::string name = "nettest-" + std::to_string(getpid()) + "-" + GetParam().name;
    std::string scheme = std::string(GetParam().scheme) + "://127.0.0.1:";
    std::string listen, peers;
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_MULTIPROC;
    cfg.node_name = name.c_str();
    cfg.node_id = 1;
    cfg.shards = 1;
    // Node 2 knows node 1 at port_b_ - 1 (SetUp's pair); free again now.
    listen = scheme + std::to_string(port_b_ - 1);
    peers = "2=" + scheme + std::to_string(port_b_);
    cfg.listen = listen.c_str();
    cfg.peers = peers.c_str();
    ASSERT_EQ(ts_system_open(&cfg, &a_), 0) << ts_last_error();
    struct Stop {
        std::string n;
        ~Stop() { ts_node_stop(n.c_str(), 30 * kSec); }
    } stop{name};
    ts_addr echo_a, echo_b;
    ASSERT_EQ(ts_system_create(a_, tst::kEcho, nullptr, &echo_a), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(b_, tst::kEcho, nullptr, &echo_b), 0) << ts_last_error();
    EXPECT_TRUE(Ask(a_, echo_b, tst::kPing(), "1->2", 5)) << "node 1 to node 2";
    EXPECT_TRUE(Ask(b_, echo_a, tst::kPing(), "2->1", 5)) << "node 2 to node 1";

    ts_node_status st;
    ASSERT_EQ(ts_node_status_get(name.c_str(), &st), 0) << ts_last_error();
    int pid = st.shards[0].pid;
    ASSERT_GT(pid, 0);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    // Node 2 asks until the restarted shard answers (its first attempts may
    // find nobody listening, or be lost with the dead process).
    Msg r;
    for (int tries = 0; tries < 20 && !r; tries++) {
        ts_msg *m = nullptr;
        if (ts_ask(b_, echo_a, tst::kPing(), "again", 6, 2 * kSec, &m) == 0)
            r = Msg(m);
    }
    ASSERT_TRUE(r) << "node 1 never answered after its shard restarted";
    EXPECT_STREQ((const char *)ts_msg_data(r.get()), "again");
    ASSERT_EQ(ts_node_status_get(name.c_str(), &st), 0) << ts_last_error();
    EXPECT_NE(st.shards[0].pid, pid);
    EXPECT_EQ(st.shards[0].restarts, 1u);
    EXPECT_TRUE(Ask(a_, echo_b, tst::kPing(), "1->2 again", 11)) << "and node 1 reaches node 2";
}

// One node on both transports at once: node 1 listens on tcp and udp;
// node 2 reaches it over tcp, node 3 over udp, and it answers each the
// way it came. Asks go both ways, and node 1 creates actors on both.
TEST(BothTransports, ANodeListensOnTcpAndUdpAtOnce)
{
    ASSERT_EQ(tst::RegisterCommonActors(), 0) << ts_last_error();
    static std::mt19937 rng((unsigned)getpid() * 31u);
    std::vector<int> cpus = tst::AllowedCpus();
    ts_system *n1 = nullptr, *n2 = nullptr, *n3 = nullptr;
    auto open = [&](uint16_t id, const std::string &listen, const std::string &peers,
                    ts_system **out) {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_PINNED;
        cfg.node_id = id;
        std::string cores = std::to_string(cpus[id % cpus.size()]);
        cfg.cores = cores.c_str();
        cfg.listen = listen.c_str();
        cfg.peers = peers.c_str();
        return ts_system_open(&cfg, out);
    };
    for (int attempt = 0; attempt < 20 && !n3; attempt++) {
        unsigned p = 20000 + rng() % 12000; // node 1 tcp p and udp p, node 2 p+1, node 3 p+2
        std::string at = "127.0.0.1:";
        std::string l1 = "tcp://" + at + std::to_string(p) + ",udp://" + at + std::to_string(p);
        std::string p1 = "2=tcp://" + at + std::to_string(p + 1) + ",3=udp://" + at +
                         std::to_string(p + 2);
        if (open(1, l1, p1, &n1) != 0)
            continue;
        if (open(2, "tcp://" + at + std::to_string(p + 1), "1=" + at + std::to_string(p), &n2) ==
                0 &&
            open(3, "udp://" + at + std::to_string(p + 2), "1=" + at + std::to_string(p), &n3) == 0)
            break;
        ts_system_close(n2);
        ts_system_close(n1);
        n1 = n2 = nullptr;
    }
    ASSERT_NE(n3, nullptr) << "no free ports: " << ts_last_error();
    ts_addr e1, e2, e3;
    ASSERT_EQ(ts_system_create(n1, tst::kEcho, nullptr, &e1), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(n2, tst::kEcho, nullptr, &e2), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(n3, tst::kEcho, nullptr, &e3), 0) << ts_last_error();
    auto ask = [](ts_system *from, ts_addr to, const char *what) {
        ts_msg *r = nullptr;
        int rc = ts_ask(from, to, tst::kPing(), what, std::strlen(what) + 1, 30 * kSec, &r);
        Msg m(r);
        EXPECT_EQ(rc, 0) << what << ": " << ts_last_error();
        if (m) {
            EXPECT_STREQ((const char *)ts_msg_data(m.get()), what);
        }
    };
    ask(n1, e2, "1->2 over tcp");
    ask(n1, e3, "1->3 over udp");
    ask(n2, e1, "2->1 over tcp");
    ask(n3, e1, "3->1 over udp");
    // Created from node 1 on each: over each transport's link.
    for (uint16_t node : {2, 3}) {
        ts_create_opts o{};
        o.placement = TS_PLACE_NODE;
        o.node = node;
        ts_addr e;
        ASSERT_EQ(ts_system_create(n1, tst::kEcho, &o, &e), 0) << ts_last_error();
        EXPECT_EQ(ts_addr_node(e), node);
        ask(n1, e, node == 2 ? "made on 2" : "made on 3");
    }
    ts_system_close(n1);
    ts_system_close(n2);
    ts_system_close(n3);
}

// With TS_TEST_DPDK_HUGE=1 (the meson test net-dpdk-huge), a dpdk node's
// EAL takes its memory from the 2 MiB pages the process reserved.
TEST(DpdkEal, RunsOnHugePagesWhenAsked)
{
    const char *huge = std::getenv("TS_TEST_DPDK_HUGE");
    if (!huge || std::strcmp(huge, "1") != 0)
        GTEST_SKIP() << "only with TS_TEST_DPDK_HUGE=1";
    std::string why;
    if (!tst::DpdkUsable("net_af_packet", &why))
        GTEST_SKIP() << why;
    tst::DpdkHosts hosts;
    ASSERT_TRUE(hosts.ok()) << hosts.error();
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_PINNED;
    cfg.node_id = 1;
    cfg.listen = "dpdk://192.0.2.1:7000";
    std::string vdev;
    tst::DpdkConfigure(&cfg, "net_af_packet", hosts.Iface(1), &vdev);
    ts_system *sys = nullptr;
    {
        tst::InNetns in(hosts.Host(1));
        ASSERT_TRUE(in.ok()) << in.error();
        ASSERT_EQ(ts_system_open(&cfg, &sys), 0) << ts_last_error();
    }
    long total = 0, free_pages = 0;
    std::ifstream("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages") >> total;
    std::ifstream("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") >> free_pages;
    ts_system_close(sys);
    EXPECT_GT(total, 0);
    EXPECT_LT(free_pages, total) << "the EAL took no huge page";
}

TEST(NetConfig, BadConfigurationsAreClearErrors)
{
    struct Case {
        ts_base base;
        const char *listen, *peers;
        int rc;
        const char *says;
    } cases[] = {
        {TS_BASE_PINNED, "quic://127.0.0.1:1", nullptr, -EINVAL, "not a transport"},
        {TS_BASE_PINNED, "127.0.0.1:1", nullptr, -EINVAL, "tcp://HOST:PORT, udp://HOST:PORT or dpdk://"},
        {TS_BASE_PINNED, "dpdk://192.0.2.1:1,dpdk://192.0.2.1:2", nullptr, -EINVAL, "one per transport"},
        {TS_BASE_PINNED, "tcp://127.0.0.1:1,tcp://127.0.0.1:2", nullptr, -EINVAL, "one per transport"},
        {TS_BASE_PINNED, "tcp://127.0.0.1:1,", nullptr, -EINVAL, "not tcp://HOST:PORT"},
        {TS_BASE_PINNED, "tcp://127.0.0.1", nullptr, -EINVAL, "HOST:PORT"},
        {TS_BASE_PINNED, "tcp://127.0.0.1:99999", nullptr, -EINVAL, "port"},
        {TS_BASE_PINNED, nullptr, "2127.0.0.1:5", -EINVAL, "ID=HOST:PORT"},
        {TS_BASE_PINNED, nullptr, "70000=127.0.0.1:5", -EINVAL, "ID=HOST:PORT"},
        {TS_BASE_PINNED, nullptr, "2=127.0.0.1:5,=127.0.0.1:6", -EINVAL, "ID=HOST:PORT"},
        {TS_BASE_PINNED, nullptr, "-1=127.0.0.1:6", -EINVAL, "ID=HOST:PORT"},
        {TS_BASE_PINNED, "tcp://[::1:5", "2=127.0.0.1:6", -EINVAL, "'[::1:5'"},
        {TS_BASE_PINNED, nullptr, "0=127.0.0.1:5", -EINVAL, "this node"},
        {TS_BASE_PINNED, nullptr, "2=127.0.0.1:5,2=127.0.0.1:6", -EINVAL, "twice"},
        {TS_BASE_PINNED, nullptr, "2=no.such.host.invalid:5", -EINVAL, "resolve"},
        {TS_BASE_SIMPLE, nullptr, "2=127.0.0.1:5", -EOPNOTSUPP, "not on simple"},
    };
    for (const Case &c : cases) {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = c.base;
        cfg.listen = c.listen;
        cfg.peers = c.peers;
        ts_system *sys = nullptr;
        EXPECT_EQ(ts_system_open(&cfg, &sys), c.rc) << (c.listen ? c.listen : c.peers);
        EXPECT_NE(std::string(ts_last_error()).find(c.says), std::string::npos)
            << (c.listen ? c.listen : c.peers) << ": " << ts_last_error();
        EXPECT_EQ(sys, nullptr);
    }
}

INSTANTIATE_TEST_SUITE_P(Transports, TwoNodes, ::testing::ValuesIn(kWires),
                         [](const ::testing::TestParamInfo<Wire> &i) { return i.param.name; });

} // namespace
