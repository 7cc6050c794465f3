// Unit tests: the reliability layer of the datagram transports
// (transport/rel.c), with no socket and no clock: two or more instances
// exchange datagrams through a simulated network that loses, duplicates,
// reorders and delays them from a seed, in simulated time. Every message
// must come out exactly once and in order, whatever the network does.
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "rel.h"
}

namespace {

constexpr uint64_t kMs = 1000000;

sockaddr_storage AddrOf(uint16_t node, uint8_t shard)
{
    sockaddr_storage ss{};
    auto *in = reinterpret_cast<sockaddr_in *>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)(10000 + node * 100 + shard));
    in->sin_addr.s_addr = htonl(0x7f000001);
    return ss;
}

struct Faults {
    double drop = 0, dup = 0;
    unsigned reorder = 0;         // a datagram may be held back behind up to this many
    uint64_t delay = 0, jitter = 0; // ns
};

struct Net;

// One rel instance: node `node`, shard `shard`, peers: every other node's shard 0.
struct End {
    Net *net;
    uint16_t node;
    uint8_t shard;
    rel *r = nullptr;
    std::vector<std::pair<uint16_t, std::string>> got; // (src node, payload)
    std::vector<uint64_t> types;
    std::vector<transport_event> events;
    unsigned char buf[65536];

    static void Deliver(void *arg, const frame_hdr *h, const void *p)
    {
        auto *e = static_cast<End *>(arg);
        e->got.emplace_back(h->src_node, std::string((const char *)p, h->len));
        e->types.push_back(h->type);
    }
    static void Event(void *arg, uint16_t, transport_event ev, int)
    {
        static_cast<End *>(arg)->events.push_back(ev);
    }
};

struct Dgram {
    uint64_t at;
    uint64_t order; // ties broken by when it was sent (then reordered)
    sockaddr_storage from, to;
    std::string bytes;
};

// The simulated network: datagrams addressed by (node, shard) port.
struct Net {
    std::mt19937_64 rng;
    Faults f;
    uint64_t now = 1 * kMs, order = 0;
    std::vector<Dgram> wire;
    std::vector<std::unique_ptr<End>> ends;
    bool cut = false;
    size_t dgram = 1472;
    unsigned window = 0;
    uint64_t sent = 0;

    explicit Net(uint64_t seed) : rng(seed) {}

    End *Open(uint16_t node, uint8_t shard, const std::vector<uint16_t> &peers, uint64_t epoch = 0,
              size_t max_msg = 8u << 20, size_t queue_limit = 64u << 20)
    {
        auto e = std::make_unique<End>();
        e->net = this;
        e->node = node;
        e->shard = shard;
        std::vector<transport_peer> tp;
        for (uint16_t p : peers) {
            transport_peer x{};
            x.node = p;
            x.addr = AddrOf(p, 0);
            x.addrlen = sizeof(sockaddr_in);
            tp.push_back(x);
        }
        rel_config c{};
        c.node = node;
        c.shard = shard;
        c.peers = tp.data();
        c.npeers = (unsigned)tp.size();
        c.dgram_max = dgram;
        c.max_msg = max_msg;
        c.queue_limit = queue_limit;
        c.window = window;
        c.epoch = epoch;
        c.deliver = End::Deliver;
        c.event = End::Event;
        c.arg = e.get();
        EXPECT_EQ(rel_open(&c, &e->r), 0);
        ends.push_back(std::move(e));
        return ends.back().get();
    }
    void Close(End *e)
    {
        rel_close(e->r);
        e->r = nullptr;
    }
    ~Net()
    {
        for (auto &e : ends)
            rel_close(e->r);
    }

    static unsigned char *Buf(void *arg) { return static_cast<End *>(arg)->buf; }
    struct Ctx {
        Net *net;
        End *e;
    };
    static unsigned char *CtxBuf(void *arg) { return static_cast<Ctx *>(arg)->e->buf; }
    static void Emit(void *arg, unsigned char *b, size_t len, const sockaddr *to, socklen_t)
    {
        auto *c = static_cast<Ctx *>(arg);
        if (len)
            c->net->Put(c->e, std::string((const char *)b, len), *(const sockaddr_storage *)to);
    }

    void Put(End *from, std::string bytes, const sockaddr_storage &to)
    {
        sent++;
        if (cut)
            return;
        std::uniform_real_distribution<double> u(0, 1);
        if (u(rng) < f.drop)
            return;
        int copies = u(rng) < f.dup ? 2 : 1;
        for (int i = 0; i < copies; i++) {
            Dgram d;
            d.at = now + f.delay + (f.jitter ? rng() % f.jitter : 0);
            d.order = order++;
            if (f.reorder)
                d.order += rng() % (f.reorder + 1) * 2; // may pass up to `reorder` sent after it
            d.from = AddrOf(from->node, from->shard);
            d.to = to;
            d.bytes = bytes;
            wire.push_back(std::move(d));
        }
    }

    End *At(const sockaddr_storage &to)
    {
        for (auto &e : ends) {
            sockaddr_storage a = AddrOf(e->node, e->shard);
            if (e->r && std::memcmp(&a, &to, sizeof(sockaddr_in)) == 0)
                return e.get();
        }
        return nullptr;
    }

    // Lets every end send what it has, then delivers what is due.
    void Step(uint64_t dt = 100000)
    {
        for (auto &e : ends) {
            if (!e->r)
                continue;
            Ctx c{this, e.get()};
            rel_output(e->r, now, CtxBuf, Emit, &c);
        }
        now += dt;
        std::stable_sort(wire.begin(), wire.end(), [](const Dgram &a, const Dgram &b) {
            return a.order < b.order;
        });
        std::vector<Dgram> keep;
        for (auto &d : wire) {
            if (d.at > now) {
                keep.push_back(std::move(d));
                continue;
            }
            if (End *e = At(d.to))
                rel_input(e->r, now, d.bytes.data(), d.bytes.size(), (const sockaddr *)&d.from,
                          sizeof(sockaddr_in));
        }
        wire.swap(keep);
    }

    bool Idle() const
    {
        if (!wire.empty())
            return false;
        for (auto &e : ends)
            if (e->r && rel_deadline(e->r) == 0)
                return false;
        return true;
    }
};

transport_msg Msg(const std::string &s, uint64_t type = 7)
{
    transport_msg m{};
    m.dst = ts_addr_make(2, 0, 1, 1);
    m.src = ts_addr_make(1, 0, 1, 1);
    m.type = type;
    m.payload = s.data();
    m.len = (uint32_t)s.size();
    return m;
}

std::string Numbered(uint64_t i, size_t len = 8)
{
    std::string s(std::max<size_t>(len, 8), '\0');
    std::memcpy(&s[0], &i, 8);
    for (size_t k = 8; k < s.size(); k++)
        s[k] = (char)(i + k);
    return s;
}

// Sends n more numbered messages from a to b (numbered on from what b has,
// as fast as the window allows) and runs until all arrived or `steps` ran out.
void Stream(Net &net, End *a, End *b, uint64_t n, size_t len = 8, uint64_t steps = 2000000)
{
    uint64_t next = b->got.size();
    n += next;
    while (steps-- && b->got.size() < n) {
        while (next < n) {
            std::string s = Numbered(next, len);
            transport_msg m = Msg(s);
            int rc = rel_send(a->r, b->node, &m, 1);
            if (rc == -EAGAIN)
                break;
            ASSERT_EQ(rc, 1);
            next++;
        }
        net.Step();
    }
}

void ExpectExactly(const End *b, uint64_t n, size_t len, uint64_t seed)
{
    ASSERT_EQ(b->got.size(), n) << "seed " << seed;
    for (uint64_t i = 0; i < n; i++)
        ASSERT_EQ(b->got[i].second, Numbered(i, len)) << "message " << i << ", seed " << seed;
}

TEST(Rel, InOrderOnAPerfectNetwork)
{
    Net net(1);
    End *a = net.Open(1, 0, {2});
    End *b = net.Open(2, 0, {1});
    Stream(net, a, b, 10000);
    ExpectExactly(b, 10000, 8, 1);
    for (int i = 0; i < 100 && !net.Idle(); i++)
        net.Step();
    transport_link_stats st{};
    ASSERT_EQ(rel_stats(a->r, &st, 1), 1u);
    EXPECT_EQ(st.retransmits, 0u);
    EXPECT_EQ(st.queued_bytes, 0u) << "everything acknowledged and freed";
    EXPECT_EQ(st.up, 1);
    EXPECT_LT(net.sent, 10000u) << "many messages share a datagram";
}

// The fault mix: 10% loss, 5% duplication, reordering within 8 and
// jittered delay; exact delivery with each seed of a fixed list.
class RelFaults : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RelFaults, ExactlyOnceInOrder)
{
    uint64_t seed = GetParam();
    Net net(seed);
    net.f = {0.10, 0.05, 8, 200000, 300000};
    End *a = net.Open(1, 0, {2});
    End *b = net.Open(2, 0, {1});
    Stream(net, a, b, 100000);
    ExpectExactly(b, 100000, 8, seed);
    transport_link_stats st{};
    rel_stats(a->r, &st, 1);
    EXPECT_GT(st.retransmits, 0u) << "seed " << seed;
}

INSTANTIATE_TEST_SUITE_P(Seeds, RelFaults, ::testing::Values(1, 2, 3, 42, 1234567));

TEST(Rel, BothDirectionsAtOnceUnderLoss)
{
    Net net(9);
    net.f = {0.2, 0.1, 4, 0, 500000};
    End *a = net.Open(1, 0, {2});
    End *b = net.Open(2, 0, {1});
    uint64_t sa = 0, sb = 0;
    for (int step = 0; step < 200000 && (a->got.size() < 5000 || b->got.size() < 5000); step++) {
        if (sa < 5000) {
            std::string s = Numbered(sa);
            transport_msg m = Msg(s);
            sa += rel_send(a->r, 2, &m, 1) == 1;
        }
        if (sb < 5000) {
            std::string s = Numbered(sb);
            transport_msg m = Msg(s);
            sb += rel_send(b->r, 1, &m, 1) == 1;
        }
        net.Step();
    }
    ExpectExactly(a, 5000, 8, 9);
    ExpectExactly(b, 5000, 8, 9);
}

// Messages longer than a datagram are cut into fragments and put back
// together, under loss and reordering, up to the maximum message size.
TEST(Rel, LargeMessagesAreFragmentedAndReassembled)
{
    Net net(5);
    net.f = {0.05, 0.02, 8, 0, 200000};
    End *a = net.Open(1, 0, {2}, 0, 1u << 20);
    End *b = net.Open(2, 0, {1}, 0, 1u << 20);
    std::vector<size_t> sizes = {0, 1, 1472 - 96, 1472 - 95, 5000, 100000, 1u << 20};
    for (size_t len : sizes) {
        std::string s = Numbered(len, len);
        s.resize(len);
        transport_msg m = Msg(s, len);
        ASSERT_EQ(rel_send(a->r, 2, &m, 1), 1) << len;
    }
    for (int i = 0; i < 200000 && b->got.size() < sizes.size(); i++)
        net.Step();
    ASSERT_EQ(b->got.size(), sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) {
        std::string s = Numbered(sizes[i], sizes[i]);
        s.resize(sizes[i]);
        EXPECT_EQ(b->got[i].second, s) << sizes[i];
        EXPECT_EQ(b->types[i], sizes[i]);
    }
    std::string big(1u << 20 | 1, 'x');
    transport_msg m = Msg(big);
    EXPECT_EQ(rel_send(a->r, 2, &m, 1), -EMSGSIZE);
}

TEST(Rel, QueueLimitSaysAgainAndNothingIsLost)
{
    Net net(3);
    End *a = net.Open(1, 0, {2}, 0, 8u << 20, 64u << 10);
    End *b = net.Open(2, 0, {1});
    std::string s(1000, 'q');
    transport_msg m = Msg(s);
    int queued = 0;
    while (rel_send(a->r, 2, &m, 1) == 1)
        queued++;
    EXPECT_GT(queued, 30);
    EXPECT_LT(queued, 70);
    EXPECT_EQ(rel_send(a->r, 2, &m, 1), -EAGAIN);
    for (int i = 0; i < 100 && b->got.size() < (size_t)queued; i++)
        net.Step();
    EXPECT_EQ(b->got.size(), (size_t)queued);
    for (int i = 0; i < 100 && !net.Idle(); i++) // the last acknowledgement reaches a
        net.Step();
    EXPECT_EQ(rel_send(a->r, 2, &m, 1), 1) << "room again once acknowledged";
    EXPECT_EQ(rel_send(a->r, 9, &m, 1), -EHOSTUNREACH);
}

// The window bounds what is in flight: with the receiver gone, the sender
// stops after `window` frames, and resends them (with backoff) until it is back.
TEST(Rel, WindowBoundsWhatIsInFlightAndACutLinkRecovers)
{
    Net net(4);
    net.window = 64;
    End *a = net.Open(1, 0, {2});
    End *b = net.Open(2, 0, {1});
    Stream(net, a, b, 100);
    ASSERT_EQ(b->got.size(), 100u);
    net.cut = true;
    std::string s = Numbered(0);
    for (int i = 0; i < 1000; i++) {
        std::string x = Numbered(100 + i);
        transport_msg m = Msg(x);
        ASSERT_EQ(rel_send(a->r, 2, &m, 1), 1);
    }
    uint64_t before = net.sent;
    net.Step();
    EXPECT_LE(net.sent - before, 64u) << "at most the window goes out";
    for (int i = 0; i < 20000; i++) // 2 s of simulated time
        net.Step();
    EXPECT_EQ(b->got.size(), 100u);
    EXPECT_NE(std::find(a->events.begin(), a->events.end(), TRANSPORT_LINK_DOWN), a->events.end());
    uint64_t during = net.sent;
    net.cut = false;
    for (int i = 0; i < 100000 && b->got.size() < 1100; i++)
        net.Step();
    ASSERT_EQ(b->got.size(), 1100u);
    for (uint64_t i = 0; i < 1100; i++)
        ASSERT_EQ(b->got[i].second, Numbered(i)) << i;
    EXPECT_LT(during - before, 1000u) << "backoff: no storm while cut";
    transport_link_stats st{};
    rel_stats(a->r, &st, 1);
    EXPECT_EQ(st.reconnects, 1u);
    EXPECT_EQ(a->events.back(), TRANSPORT_LINK_UP);
}

// Each sending shard is its own link with its own numbering.
TEST(Rel, ShardsOfOneNodeAreSeparateLinks)
{
    Net net(6);
    net.f = {0.1, 0.05, 8, 0, 0};
    End *a0 = net.Open(1, 0, {2});
    End *a1 = net.Open(1, 1, {2});
    End *b = net.Open(2, 0, {1});
    for (uint64_t i = 0; i < 2000; i++) {
        std::string s0 = "0:" + std::to_string(i), s1 = "1:" + std::to_string(i);
        transport_msg m0 = Msg(s0), m1 = Msg(s1);
        ASSERT_EQ(rel_send(a0->r, 2, &m0, 1), 1);
        ASSERT_EQ(rel_send(a1->r, 2, &m1, 1), 1);
    }
    for (int i = 0; i < 100000 && b->got.size() < 4000; i++)
        net.Step();
    ASSERT_EQ(b->got.size(), 4000u);
    uint64_t n0 = 0, n1 = 0;
    for (auto &g : b->got) {
        if (g.second[0] == '0')
            ASSERT_EQ(g.second, "0:" + std::to_string(n0++));
        else
            ASSERT_EQ(g.second, "1:" + std::to_string(n1++));
    }
}

// A sender that restarts (a new instance, a larger epoch) starts again at
// 1: the receiver follows it, and datagrams of the old instance still on the
// wire are dropped, not taken for the new one's.
TEST(Rel, ARestartedSenderIsFollowedAndItsOldDatagramsDropped)
{
    Net net(7);
    End *a = net.Open(1, 0, {2}, /*epoch*/ 100);
    End *b = net.Open(2, 0, {1});
    Stream(net, a, b, 50);
    ASSERT_EQ(b->got.size(), 50u);
    // Old instance: frames 51.. sent and still on the wire (delayed).
    net.f.delay = 50 * kMs;
    for (int i = 0; i < 5; i++) {
        std::string s = "old" + std::to_string(i);
        transport_msg m = Msg(s);
        ASSERT_EQ(rel_send(a->r, 2, &m, 1), 1);
    }
    net.Step();
    net.Close(a);
    net.f.delay = 0;
    End *a2 = net.Open(1, 0, {2}, /*epoch*/ 200);
    for (int i = 0; i < 5; i++) {
        std::string s = "new" + std::to_string(i);
        transport_msg m = Msg(s);
        ASSERT_EQ(rel_send(a2->r, 2, &m, 1), 1);
    }
    for (int i = 0; i < 2000; i++) // past the old datagrams' delay
        net.Step();
    ASSERT_EQ(b->got.size(), 55u);
    for (int i = 0; i < 5; i++)
        EXPECT_EQ(b->got[50 + i].second, "new" + std::to_string(i));
}

// A receiver that restarts knows nothing of the link: it starts at the
// sender's oldest frame not acknowledged; what the old one acknowledged is
// not sent again. A message cut by the restart is skipped whole.
TEST(Rel, ARestartedReceiverStartsWhereTheSenderIs)
{
    Net net(8);
    net.dgram = 256;
    End *a = net.Open(1, 0, {2});
    End *b = net.Open(2, 0, {1});
    Stream(net, a, b, 20);
    ASSERT_EQ(b->got.size(), 20u);
    // A long message: some of its fragments are acknowledged by b, then b dies.
    std::string big(2000, 'b');
    transport_msg m = Msg(big);
    ASSERT_EQ(rel_send(a->r, 2, &m, 1), 1);
    net.window = 0;
    net.Step(); // fragments go out
    net.Step(); // b acknowledges them
    net.Close(b);
    End *b2 = net.Open(2, 0, {1});
    std::string after = "after";
    transport_msg m2 = Msg(after);
    ASSERT_EQ(rel_send(a->r, 2, &m2, 1), 1);
    for (int i = 0; i < 5000 && b2->got.empty(); i++)
        net.Step();
    ASSERT_EQ(b2->got.size(), 1u);
    EXPECT_EQ(b2->got[0].second, "after");
}

// Malformed datagrams are dropped and counted; nothing else changes.
TEST(Rel, MalformedDatagramsAreCountedAndChangeNothing)
{
    Net net(10);
    End *a = net.Open(1, 0, {2});
    End *b = net.Open(2, 0, {1});
    Stream(net, a, b, 10);
    sockaddr_storage from = AddrOf(1, 0);
    auto in = [&](const std::vector<unsigned char> &d) {
        return rel_input(b->r, net.now, d.data(), d.size(), (const sockaddr *)&from,
                         sizeof(sockaddr_in));
    };
    auto frame = [](uint8_t kind, uint16_t node, uint64_t type, uint64_t seq, uint32_t len) {
        frame_hdr h{};
        h.kind = kind;
        h.src_node = node;
        h.type = type;
        h.seq = seq;
        h.len = len;
        std::vector<unsigned char> v(FRAME_HDR + len);
        frame_encode(v.data(), &h);
        return v;
    };
    auto cat = [](std::vector<unsigned char> x, const std::vector<unsigned char> &y) {
        x.insert(x.end(), y.begin(), y.end());
        return x;
    };
    EXPECT_EQ(in(std::vector<unsigned char>(100, 'g')), -EPROTO);
    EXPECT_EQ(in(std::vector<unsigned char>(10, 0)), -EAGAIN) << "truncated header";
    EXPECT_EQ(in(frame(FRAME_HELLO, 99, 1, 1, 0)), -EPERM) << "unknown node";
    EXPECT_EQ(in(frame(FRAME_DATA, 1, 1, 1, 0)), -EBADMSG) << "data without hello";
    std::vector<unsigned char> hello = frame(FRAME_HELLO, 1, UINT64_MAX, 11, 0);
    EXPECT_EQ(in(cat(hello, frame(FRAME_ACK, 1, 0, 0, 0))), -EBADMSG) << "ack among data";
    auto trunc = frame(FRAME_DATA, 1, 0, 11, 100);
    trunc.resize(FRAME_HDR + 50);
    EXPECT_EQ(in(cat(hello, trunc)), -EBADMSG) << "payload cut short";
    EXPECT_EQ(in(cat(hello, frame(FRAME_DATA, 1, 0, 11, 60000))), -EMSGSIZE) << "above a datagram";
    EXPECT_EQ(in(frame(FRAME_ACK, 1, 0, 0, 33)), -EMSGSIZE) << "sack too long";
    EXPECT_EQ(rel_stray(b->r), 3u);
    transport_link_stats st{};
    rel_stats(b->r, &st, 1);
    EXPECT_EQ(st.malformed, 5u);
    EXPECT_EQ(b->got.size(), 10u);
    // The link goes on: ten more arrive after the first ten.
    net.Step();
    Stream(net, a, b, 10);
    ExpectExactly(b, 20, 8, 10);
}

// ---- the peer table at runtime (rel_peer_set, rel_peer_del) ---------------

transport_peer PeerAt(uint16_t node, uint8_t shard)
{
    transport_peer p{};
    p.node = node;
    p.addr = AddrOf(node, shard);
    p.addrlen = sizeof(sockaddr_in);
    return p;
}

void SendNumbered(End *a, uint16_t to, uint64_t from, uint64_t n, size_t len = 8)
{
    for (uint64_t i = from; i < from + n; i++) {
        std::string s = Numbered(i, len);
        transport_msg m = Msg(s);
        ASSERT_EQ(rel_send(a->r, to, &m, 1), 1) << i;
    }
}

// Peers added after open, under loss: both ways, in order.
TEST(RelPeers, AddedAtRuntimeUnderLoss)
{
    Net net(21);
    net.f = {0.1, 0.05, 8, 100000, 200000};
    End *a = net.Open(1, 0, {});
    End *b = net.Open(2, 0, {});
    transport_peer pa = PeerAt(1, 0), pb = PeerAt(2, 0);
    ASSERT_EQ(rel_peer_set(a->r, &pb), 0);
    ASSERT_EQ(rel_peer_set(b->r, &pa), 0);
    ASSERT_EQ(rel_peer_set(b->r, &pa), 0) << "the same address again";
    Stream(net, a, b, 5000);
    ExpectExactly(b, 5000, 8, 21);
    Stream(net, b, a, 5000);
    ExpectExactly(a, 5000, 8, 21);
    transport_link_stats st[2];
    EXPECT_EQ(rel_stats(a->r, st, 2), 1u);
}

// Node 2 restarts at another address (here: its shard 1's) while node 1
// has frames for it in flight and more queued: they all go there, in order,
// under loss, duplication and reordering.
TEST(RelPeers, AChangedAddressTakesEverythingUnacknowledgedThere)
{
    Net net(22);
    net.f = {0.1, 0.05, 8, 100000, 200000};
    End *a = net.Open(1, 0, {2});
    End *b = net.Open(2, 0, {1});
    Stream(net, a, b, 100);
    ExpectExactly(b, 100, 8, 22);
    transport_link_stats st{};
    for (int i = 0; i < 20000 && (rel_stats(a->r, &st, 1), st.queued_bytes); i++)
        net.Step();
    ASSERT_EQ(st.queued_bytes, 0u) << "all acknowledged";
    net.Close(b);
    ASSERT_NO_FATAL_FAILURE(SendNumbered(a, 2, 100, 300));
    for (int i = 0; i < 50; i++) // sent into the void
        net.Step();
    End *b2 = net.Open(2, 1, {1});
    transport_peer moved = PeerAt(2, 1);
    ASSERT_EQ(rel_peer_set(a->r, &moved), 0);
    ASSERT_NO_FATAL_FAILURE(SendNumbered(a, 2, 400, 100));
    for (int i = 0; i < 200000 && b2->got.size() < 400; i++)
        net.Step();
    ASSERT_EQ(b2->got.size(), 400u);
    for (uint64_t i = 0; i < 400; i++)
        ASSERT_EQ(b2->got[i].second, Numbered(100 + i)) << i;
}

// Deleted: the messages not acknowledged are counted (a message of many
// fragments once, also when some of them were acknowledged), what the node
// sends is stray, and added again both directions number afresh.
TEST(RelPeers, DeletedThenAddedAgain)
{
    Net net(23);
    net.dgram = 256;
    net.window = 4;
    End *a = net.Open(1, 0, {2});
    End *b = net.Open(2, 0, {1});
    Stream(net, a, b, 10);
    Stream(net, b, a, 10);
    ASSERT_EQ(b->got.size(), 10u);
    ASSERT_EQ(a->got.size(), 10u);
    for (int i = 0; i < 100 && !net.Idle(); i++)
        net.Step();
    ASSERT_NO_FATAL_FAILURE(SendNumbered(a, 2, 10, 1, 2000)); // 13 fragments
    net.Step();
    net.Step(); // the window's first fragments acknowledged, not the last
    transport_link_stats st{};
    rel_stats(a->r, &st, 1);
    ASSERT_GT(st.frames_out, 10u) << "some fragments went out";
    ASSERT_EQ(b->got.size(), 10u) << "the message is not whole yet";
    ASSERT_NO_FATAL_FAILURE(SendNumbered(a, 2, 11, 4));
    EXPECT_EQ(rel_peer_del(a->r, 2), 5);
    EXPECT_EQ(rel_peer_del(a->r, 2), -ENOENT);
    std::string x = "x";
    transport_msg m = Msg(x);
    EXPECT_EQ(rel_send(a->r, 2, &m, 1), -EHOSTUNREACH);
    EXPECT_EQ(rel_stats(a->r, &st, 1), 0u);
    uint64_t stray = rel_stray(a->r);
    ASSERT_NO_FATAL_FAILURE(SendNumbered(b, 1, 10, 5));
    for (int i = 0; i < 100; i++)
        net.Step();
    EXPECT_GT(rel_stray(a->r), stray);
    EXPECT_EQ(a->got.size(), 10u) << "delivered from a deleted node";
    transport_peer pb = PeerAt(2, 0);
    ASSERT_EQ(rel_peer_set(a->r, &pb), 0);
    ASSERT_NO_FATAL_FAILURE(SendNumbered(a, 2, 100, 5));
    for (int i = 0; i < 20000 && (a->got.size() < 15 || b->got.size() < 15); i++)
        net.Step();
    ASSERT_EQ(a->got.size(), 15u);
    ASSERT_EQ(b->got.size(), 15u) << "the re-added link's frames were taken for old ones";
    for (uint64_t i = 0; i < 5; i++) {
        EXPECT_EQ(a->got[10 + i].second, Numbered(10 + i));
        EXPECT_EQ(b->got[10 + i].second, Numbered(100 + i));
    }
}

// Many peers added one at a time, some deleted in between (the table
// closes up behind each): every link left carries its streams whole, both
// ways, under loss.
TEST(RelPeers, GrowAndShrink)
{
    Net net(24);
    net.f = {0.05, 0.02, 4, 0, 100000};
    End *hub = net.Open(1, 0, {});
    std::vector<End *> left;
    for (uint16_t i = 0; i < 40; i++) {
        left.push_back(net.Open((uint16_t)(10 + i), 0, {1}));
        transport_peer p = PeerAt((uint16_t)(10 + i), 0);
        ASSERT_EQ(rel_peer_set(hub->r, &p), 0);
        ASSERT_NO_FATAL_FAILURE(SendNumbered(left.back(), 1, 0, 1)); // its first message
        size_t want = hub->got.size() + 1;
        for (int k = 0; k < 20000 && hub->got.size() < want; k++)
            net.Step();
        ASSERT_EQ(hub->got.size(), want);
        if (i % 4 == 3) { // the one added two before goes
            End *gone = left[left.size() - 3];
            ASSERT_EQ(rel_peer_del(hub->r, gone->node), 0);
            left.erase(left.end() - 3);
        }
    }
    transport_link_stats st[64];
    ASSERT_EQ(rel_stats(hub->r, st, 64), left.size());
    const uint64_t n = 20;
    for (End *s : left) {
        ASSERT_NO_FATAL_FAILURE(SendNumbered(hub, s->node, 0, n));
        ASSERT_NO_FATAL_FAILURE(SendNumbered(s, 1, 1, n - 1));
    }
    for (int i = 0; i < 200000 && hub->got.size() < 40 + (n - 1) * left.size(); i++)
        net.Step();
    ASSERT_EQ(hub->got.size(), 40 + (n - 1) * left.size());
    for (End *s : left) {
        for (int i = 0; i < 20000 && s->got.size() < n; i++)
            net.Step();
        ExpectExactly(s, n, 8, 24);
        uint64_t k = 0;
        for (auto &g : hub->got) {
            if (g.first == s->node) {
                ASSERT_EQ(g.second, Numbered(k)) << "from node " << s->node;
                k++;
            }
        }
        EXPECT_EQ(k, n) << "from node " << s->node;
    }
    ASSERT_EQ(rel_stats(hub->r, st, 64), left.size());
    for (size_t i = 0; i < left.size(); i++)
        EXPECT_GE(st[i].frames_in, n) << "node " << st[i].node << "'s frames counted elsewhere";
}

TEST(Rel, BadConfigIsRefused)
{
    rel_config c{};
    c.dgram_max = 100;
    rel *r = nullptr;
    EXPECT_EQ(rel_open(&c, &r), -EINVAL);
    c.dgram_max = 70000;
    EXPECT_EQ(rel_open(&c, &r), -EINVAL);
}

} // namespace
