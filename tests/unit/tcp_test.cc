// Unit tests: the io_uring TCP backend (transport/tcp.c) through its ops,
// two instances in this thread on loopback: order, sizes, bad peers, and
// links cut under load that recover with nothing lost or repeated. Then the
// peer table at runtime (peer_set, peer_del), written once and run on tcp
// and udp (transport/udp.c) alike.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "transport.h"
}

namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in Loopback(uint16_t port)
{
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

// Listen ports for a test, distinct and below the ephemeral range (so no
// outgoing connection of a test running beside this one holds them); a
// caller whose open finds one taken anyway picks again.
std::vector<uint16_t> PickPorts(unsigned n)
{
    static std::mt19937 rng((unsigned)getpid() * 2654435761u);
    std::vector<uint16_t> v;
    while (v.size() < n) {
        uint16_t p = (uint16_t)(20000 + rng() % 12000);
        if (std::find(v.begin(), v.end(), p) == v.end())
            v.push_back(p);
    }
    return v;
}

struct Got {
    uint16_t node;
    uint64_t seq, type;
    ts_addr dst, src;
    std::vector<unsigned char> payload;
};

struct Node {
    uint16_t id;
    uint8_t shard = 0;
    uint16_t port;
    transport *t = nullptr;
    std::vector<Got> got;
    std::vector<std::pair<uint16_t, transport_event>> events;
    std::vector<transport_peer> peers;
    size_t max_msg = 8u << 20;

    static void Deliver(void *arg, const frame_hdr *h, const void *p)
    {
        auto *n = static_cast<Node *>(arg);
        auto *b = static_cast<const unsigned char *>(p);
        n->got.push_back({h->src_node, h->seq, h->type, h->dst, h->src,
                          std::vector<unsigned char>(b, b + h->len)});
    }
    static void Event(void *arg, uint16_t node, transport_event ev, int)
    {
        static_cast<Node *>(arg)->events.push_back({node, ev});
    }
    void AddPeer(uint16_t node, uint16_t to_port)
    {
        transport_peer p{};
        p.node = node;
        sockaddr_in a = Loopback(to_port);
        std::memcpy(&p.addr, &a, sizeof a);
        p.addrlen = sizeof a;
        peers.push_back(p);
    }
    int Open()
    {
        sockaddr_in l = Loopback(port);
        transport_config c{};
        c.node = id;
        c.shard = shard;
        c.listen = port ? (sockaddr *)&l : nullptr;
        c.listen_len = sizeof l;
        c.peers = peers.data();
        c.npeers = (unsigned)peers.size();
        c.max_msg = max_msg;
        c.queue_limit = 16u << 20;
        c.deliver = Deliver;
        c.event = Event;
        c.arg = this;
        return transport_tcp.open(&c, &t);
    }
    size_t Malformed() const
    {
        size_t n = 0;
        for (auto &e : events)
            n += e.second == TRANSPORT_MALFORMED;
        return n;
    }
    ~Node()
    {
        if (t)
            transport_tcp.close(t);
    }
};

// Polls every node until done() or the deadline: the wait ends on the
// condition, never on a guess of how long things take.
bool Pump(std::vector<Node *> nodes, const std::function<bool()> &done, int seconds = 30)
{
    auto end = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < end) {
        for (Node *n : nodes)
            transport_tcp.poll(n->t);
        if (done())
            return true;
    }
    return false;
}

transport_msg Msg(ts_addr dst, uint64_t type, const void *p, uint32_t len)
{
    transport_msg m{};
    m.dst = dst;
    m.src = 0x0001000001000001;
    m.type = type;
    m.payload = p;
    m.len = len;
    return m;
}

// Sends count numbered messages from a to node b_id, polling while the
// link's queue is full.
void SendNumbered(Node &a, uint16_t b_id, std::vector<Node *> all, uint64_t from, uint64_t count)
{
    for (uint64_t i = from; i < from + count;) {
        transport_msg m = Msg(0x0002000001000002, 7, &i, sizeof i);
        int rc = transport_tcp.send(a.t, b_id, &m, 1);
        if (rc == 1) {
            i++;
            continue;
        }
        ASSERT_EQ(rc, -EAGAIN) << ts_last_error();
        for (Node *n : all)
            transport_tcp.poll(n->t);
    }
}

void ExpectNumbered(const Node &b, uint64_t count)
{
    ASSERT_EQ(b.got.size(), count);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t v;
        ASSERT_EQ(b.got[i].payload.size(), sizeof v);
        std::memcpy(&v, b.got[i].payload.data(), sizeof v);
        ASSERT_EQ(v, i) << "message " << i << " out of order or repeated";
    }
}

class Tcp : public ::testing::Test {
  protected:
    void SetUp() override
    {
        for (int attempt = 0; attempt < 20; attempt++) {
            a.reset(new Node);
            b.reset(new Node);
            std::vector<uint16_t> ports = PickPorts(2);
            a->id = 1;
            b->id = 2;
            a->port = ports[0];
            b->port = ports[1];
            a->AddPeer(2, b->port);
            b->AddPeer(1, a->port);
            int rb = b->Open(), ra = rb == 0 ? a->Open() : rb;
            if (ra == 0)
                return;
            ASSERT_EQ(ra, -EADDRINUSE) << ts_last_error();
        }
        FAIL() << "no free ports";
    }
    std::unique_ptr<Node> a, b;
};
TEST_F(Tcp, PingPongBothWays)
{
    const char ping[] = "ping";
    transport_msg m = Msg(0x0002000001000005, 11, ping, sizeof ping);
    ASSERT_EQ(transport_tcp.send(a->t, 2, &m, 1), 1) << ts_last_error();
    ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return b->got.size() == 1; }));
    EXPECT_EQ(b->got[0].node, 1);
    EXPECT_EQ(b->got[0].seq, 1u);
    EXPECT_EQ(b->got[0].type, 11u);
    EXPECT_EQ(b->got[0].dst, ts_addr{0x0002000001000005});
    EXPECT_EQ(b->got[0].src, ts_addr{0x0001000001000001});
    EXPECT_EQ(std::string((char *)b->got[0].payload.data()), "ping");
    const char pong[] = "pong";
    transport_msg r = Msg(b->got[0].src, 12, pong, sizeof pong);
    ASSERT_EQ(transport_tcp.send(b->t, 1, &r, 1), 1);
    ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return a->got.size() == 1; }));
    EXPECT_EQ(a->got[0].node, 2);
    EXPECT_EQ(std::string((char *)a->got[0].payload.data()), "pong");
    transport_link_stats st[4];
    ASSERT_EQ(transport_tcp.stats(a->t, st, 4), 1u);
    EXPECT_EQ(st[0].node, 2);
    EXPECT_EQ(st[0].up, 1);
    EXPECT_EQ(st[0].frames_out, 1u);
    // Acknowledged: nothing is held for the peer any more.
    ASSERT_TRUE(Pump({a.get(), b.get()}, [&] {
        transport_tcp.stats(a->t, st, 4);
        return st[0].queued_bytes == 0;
    }));
}

TEST_F(Tcp, ManyMessagesArriveOnceInOrder)
{
    const uint64_t n = 200000;
    SendNumbered(*a, 2, {a.get(), b.get()}, 0, n);
    ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return b->got.size() >= n; }, 60));
    ExpectNumbered(*b, n);
}

TEST_F(Tcp, LargeMessagesUpToTheMaximumIntact)
{
    std::vector<unsigned char> big(b->max_msg);
    for (size_t i = 0; i < big.size(); i++)
        big[i] = (unsigned char)(i * 131 + 7);
    std::vector<uint32_t> sizes = {1u << 20, (uint32_t)b->max_msg, 3, 0, 70000};
    for (uint32_t s : sizes) {
        transport_msg m = Msg(1, 9, big.data(), s);
        ASSERT_EQ(transport_tcp.send(a->t, 2, &m, 1), 1) << s << ": " << ts_last_error();
    }
    ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return b->got.size() == sizes.size(); }, 60));
    for (size_t k = 0; k < sizes.size(); k++) {
        ASSERT_EQ(b->got[k].payload.size(), sizes[k]);
        if (sizes[k]) {
            EXPECT_EQ(std::memcmp(b->got[k].payload.data(), big.data(), sizes[k]), 0) << sizes[k];
        }
    }
    transport_msg over = Msg(1, 9, big.data(), (uint32_t)b->max_msg + 1);
    std::vector<unsigned char> more(b->max_msg + 1);
    over.payload = more.data();
    EXPECT_EQ(transport_tcp.send(a->t, 2, &over, 1), -EMSGSIZE);
}

TEST_F(Tcp, UnknownNodeIsUnreachable)
{
    transport_msg m = Msg(1, 1, nullptr, 0);
    EXPECT_EQ(transport_tcp.send(a->t, 99, &m, 1), -EHOSTUNREACH);
    EXPECT_NE(std::string(ts_last_error()).find("99"), std::string::npos) << ts_last_error();
}

// A raw client of b's listener: what a bad peer sends.
int RawConnect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to = Loopback(port);
    if (connect(fd, (sockaddr *)&to, sizeof to) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool ClosedByPeer(int fd)
{
    pollfd p{fd, POLLIN, 0};
    char c;
    return poll(&p, 1, 0) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

std::vector<unsigned char> Hello(uint16_t node)
{
    frame_hdr h{};
    h.kind = FRAME_HELLO;
    h.src_node = node;
    h.type = 1; // its epoch
    h.seq = 1;  // the first frame it sends
    std::vector<unsigned char> b(FRAME_HDR);
    frame_encode(b.data(), &h);
    return b;
}

struct BadPeer {
    const char *name;
    std::function<std::vector<unsigned char>()> bytes;
};

class TcpBadPeer : public Tcp, public ::testing::WithParamInterface<int> {};

TEST_P(TcpBadPeer, IsCutOffAndTheGoodLinkGoesOn)
{
    std::vector<BadPeer> cases = {
        {"garbage", [] { return std::vector<unsigned char>(300, 'g'); }},
        {"data before hello", [] {
             frame_hdr h{};
             h.kind = FRAME_DATA;
             h.src_node = 1;
             h.seq = 1;
             std::vector<unsigned char> v(FRAME_HDR);
             frame_encode(v.data(), &h);
             return v;
         }},
        {"huge length", [] {
             std::vector<unsigned char> v = Hello(1);
             frame_hdr h{};
             h.kind = FRAME_DATA;
             h.src_node = 1;
             h.seq = 1;
             h.len = 0xfffffff0u;
             std::vector<unsigned char> f(FRAME_HDR);
             frame_encode(f.data(), &h);
             v.insert(v.end(), f.begin(), f.end());
             return v;
         }},
        {"unknown node", [] { return Hello(77); }},
    };
    const BadPeer &bp = cases[(size_t)GetParam()];
    SCOPED_TRACE(bp.name);
    int fd = RawConnect(b->port);
    ASSERT_GE(fd, 0);
    std::vector<unsigned char> v = bp.bytes();
    ASSERT_EQ(send(fd, v.data(), v.size(), MSG_NOSIGNAL), (ssize_t)v.size());
    ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return b->Malformed() == 1; })) << "no malformed event";
    ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return ClosedByPeer(fd); })) << "the bad connection stays open";
    close(fd);
    SendNumbered(*a, 2, {a.get(), b.get()}, 0, 1000);
    ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return b->got.size() == 1000; }));
    ExpectNumbered(*b, 1000);
}

INSTANTIATE_TEST_SUITE_P(Cases, TcpBadPeer, ::testing::Range(0, 4));

// A slow peer that sends part of a frame and stalls holds nothing up.
TEST_F(Tcp, StalledPartialFrameHoldsNothingUp)
{
    int fd = RawConnect(b->port);
    ASSERT_GE(fd, 0);
    std::vector<unsigned char> v = Hello(1);
    ASSERT_EQ(send(fd, v.data(), 20, MSG_NOSIGNAL), 20);
    SendNumbered(*a, 2, {a.get(), b.get()}, 0, 5000);
    ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return b->got.size() == 5000; }));
    ExpectNumbered(*b, 5000);
    EXPECT_EQ(b->Malformed(), 0u);
    close(fd);
}

// A peer that sends a HELLO and half a frame, then hangs up: nothing of it
// is delivered, and the good link goes on.
TEST_F(Tcp, TruncatedFrameThenCloseDeliversNothing)
{
    int fd = RawConnect(b->port);
    ASSERT_GE(fd, 0);
    std::vector<unsigned char> v = Hello(1);
    frame_hdr h{};
    h.kind = FRAME_DATA;
    h.src_node = 1;
    h.seq = 1;
    h.len = 100;
    std::vector<unsigned char> f(FRAME_HDR + 100, 'd');
    frame_encode(f.data(), &h);
    v.insert(v.end(), f.begin(), f.begin() + FRAME_HDR + 40);
    ASSERT_EQ(send(fd, v.data(), v.size(), MSG_NOSIGNAL), (ssize_t)v.size());
    close(fd);
    SendNumbered(*a, 2, {a.get(), b.get()}, 0, 1000);
    ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return b->got.size() == 1000; }));
    ExpectNumbered(*b, 1000);
}

// A slowloris: a peer that trickles a frame one byte a second and never
// finishes it. The node serves the good link all the while.
TEST_F(Tcp, SlowlorisHoldsNothingUp)
{
    int fd = RawConnect(b->port);
    ASSERT_GE(fd, 0);
    std::vector<unsigned char> v = Hello(1);
    std::atomic<bool> stop{false};
    std::atomic<unsigned> trickled{0};
    std::thread loris([&] {
        for (size_t i = 0; i < v.size() && !stop; i++) {
            if (send(fd, &v[i], 1, MSG_NOSIGNAL) != 1)
                break;
            trickled++;
            for (int k = 0; k < 10 && !stop; k++) // one byte a second, stoppable
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    });
    uint64_t sent = 0;
    // Three rounds of traffic, each while the slowloris is mid-frame.
    for (unsigned round = 1; round <= 3; round++) {
        ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return trickled >= round; }));
        SendNumbered(*a, 2, {a.get(), b.get()}, sent, 1000);
        sent += 1000;
        ASSERT_TRUE(Pump({a.get(), b.get()}, [&] { return b->got.size() == sent; }));
    }
    EXPECT_LT(trickled.load(), (unsigned)FRAME_HDR) << "the frame is still unfinished";
    stop = true;
    loris.join();
    close(fd);
    ExpectNumbered(*b, sent);
    EXPECT_EQ(b->Malformed(), 0u);
}

// Two shards of node 1 send to node 2 at once: each stream has its own
// sequence, and each arrives whole and in order.
TEST_F(Tcp, TwoSendingShardsOfOneNodeKeepTheirOwnOrder)
{
    Node a2;
    a2.id = 1;
    a2.shard = 1;
    a2.port = 0; // sends only
    a2.AddPeer(2, b->port);
    ASSERT_EQ(a2.Open(), 0) << ts_last_error();
    const uint64_t n = 20000;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v[2] = {0, i}, w[2] = {1, i};
        transport_msg m1 = Msg(1, 7, v, sizeof v), m2 = Msg(1, 7, w, sizeof w);
        while (transport_tcp.send(a->t, 2, &m1, 1) != 1)
            transport_tcp.poll(b->t), transport_tcp.poll(a->t);
        while (transport_tcp.send(a2.t, 2, &m2, 1) != 1)
            transport_tcp.poll(b->t), transport_tcp.poll(a2.t);
    }
    ASSERT_TRUE(Pump({a.get(), &a2, b.get()}, [&] { return b->got.size() >= 2 * n; }, 60));
    ASSERT_EQ(b->got.size(), 2 * n);
    uint64_t next[2] = {0, 0};
    for (const Got &g : b->got) {
        uint64_t v[2];
        ASSERT_EQ(g.payload.size(), sizeof v);
        std::memcpy(v, g.payload.data(), sizeof v);
        ASSERT_LT(v[0], 2u);
        ASSERT_EQ(v[1], next[v[0]]) << "shard " << v[0];
        next[v[0]]++;
    }
    EXPECT_EQ(next[0], n);
    EXPECT_EQ(next[1], n);
}

// A TCP relay between a and b (a's peer table names it) that can drop both
// of its connections at once: a cut link.
class Relay {
  public:
    Relay(uint16_t listen_port, uint16_t to_port) : to_(to_port)
    {
        lfd_ = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a = Loopback(listen_port);
        ok_ = bind(lfd_, (sockaddr *)&a, sizeof a) == 0 && listen(lfd_, 8) == 0;
        th_ = std::thread([this] { Run(); });
    }
    ~Relay()
    {
        stop_ = true;
        th_.join();
        close(lfd_);
    }
    bool ok() const { return ok_; }
    void Cut() { cut_ = true; }
    int cuts() const { return cuts_; }

  private:
    void Run()
    {
        int c = -1, s = -1;
        while (!stop_) {
            if (cut_ && c >= 0) {
                close(c);
                close(s);
                c = s = -1;
                cuts_++;
                cut_ = false;
            }
            pollfd p[3] = {{lfd_, POLLIN, 0}, {c, POLLIN, 0}, {s, POLLIN, 0}};
            if (poll(p, 3, 5) <= 0)
                continue;
            if (p[0].revents & POLLIN) {
                int n = accept(lfd_, nullptr, nullptr);
                if (c >= 0) {
                    close(c);
                    close(s);
                }
                c = n;
                s = socket(AF_INET, SOCK_STREAM, 0);
                sockaddr_in to = Loopback(to_);
                connect(s, (sockaddr *)&to, sizeof to);
            }
            char buf[65536];
            for (int k = 1; k <= 2; k++) {
                if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                int from = k == 1 ? c : s, to = k == 1 ? s : c;
                ssize_t r = recv(from, buf, sizeof buf, 0);
                if (r <= 0 || send(to, buf, (size_t)r, MSG_NOSIGNAL) != r) {
                    close(c);
                    close(s);
                    c = s = -1;
                    break;
                }
            }
        }
        if (c >= 0) {
            close(c);
            close(s);
        }
    }
    int lfd_;
    uint16_t to_;
    bool ok_ = false;
    std::atomic<bool> stop_{false}, cut_{false};
    std::atomic<int> cuts_{0};
    std::thread th_;
};

TEST(TcpCut, LinkCutUnderLoadRecoversWithNothingLostOrRepeated)
{
    std::unique_ptr<Node> pa, pb;
    std::unique_ptr<Relay> relay;
    for (int attempt = 0; attempt < 20 && !relay; attempt++) {
        std::vector<uint16_t> ports = PickPorts(3);
        pa.reset(new Node);
        pb.reset(new Node);
        pa->id = 1;
        pb->id = 2;
        pa->port = ports[0];
        pb->port = ports[1];
        pa->AddPeer(2, ports[2]); // through the relay
        pb->AddPeer(1, pa->port);
        int rb = pb->Open(), ra = rb == 0 ? pa->Open() : rb;
        if (ra != 0) {
            ASSERT_EQ(ra, -EADDRINUSE) << ts_last_error();
            continue;
        }
        relay.reset(new Relay(ports[2], pb->port));
        if (!relay->ok())
            relay.reset();
    }
    ASSERT_TRUE(relay) << "no free ports";
    Node &a = *pa, &b = *pb;
    const uint64_t n = 60000, per = n / 6;
    for (uint64_t k = 0; k < n / per; k++) {
        SendNumbered(a, 2, {&a, &b}, k * per, per);
        ASSERT_TRUE(Pump({&a, &b}, [&] { return b.got.size() >= k * per + per / 2; }));
        relay->Cut(); // half of this batch is still on its way
    }
    ASSERT_TRUE(Pump({&a, &b}, [&] { return b.got.size() >= n; }, 60));
    ExpectNumbered(b, n);
    EXPECT_GE(relay->cuts(), 3);
    transport_link_stats st[2];
    transport_tcp.stats(a.t, st, 2);
    EXPECT_GE(st[0].reconnects, 1u);
}

} // namespace

namespace {

// ---- the peer table at runtime: tcp and udp ---------------------------------

// One instance of the backend under test, on a loopback port of its own,
// opened with no peers.
struct Inst {
    const transport_ops *ops;
    uint16_t id;
    uint16_t port = 0;
    transport *t = nullptr;
    std::vector<Got> got;
    struct Ev {
        uint16_t node;
        transport_event ev;
        int err;
    };
    std::vector<Ev> events;
    std::function<void()> on_deliver; // called from deliver, after the message is noted

    Inst(const transport_ops *o, uint16_t node) : ops(o), id(node) {}
    Inst(const Inst &) = delete;
    Inst &operator=(const Inst &) = delete;
    ~Inst() { Close(); }

    static void Deliver(void *arg, const frame_hdr *h, const void *p)
    {
        auto *n = static_cast<Inst *>(arg);
        auto *b = static_cast<const unsigned char *>(p);
        n->got.push_back({h->src_node, h->seq, h->type, h->dst, h->src,
                          std::vector<unsigned char>(b, b + h->len)});
        if (n->on_deliver)
            n->on_deliver();
    }
    static void Event(void *arg, uint16_t node, transport_event ev, int err)
    {
        static_cast<Inst *>(arg)->events.push_back({node, ev, err});
    }
    // Opens on a free port (another is tried while one is taken).
    int Open()
    {
        int rc = -EADDRINUSE;
        for (int attempt = 0; attempt < 20 && rc == -EADDRINUSE; attempt++) {
            port = PickPorts(1)[0];
            sockaddr_in l = Loopback(port);
            transport_config c{};
            c.node = id;
            c.listen = (sockaddr *)&l;
            c.listen_len = sizeof l;
            c.max_msg = 1u << 20;
            c.queue_limit = 16u << 20;
            c.deliver = Deliver;
            c.event = Event;
            c.arg = this;
            rc = ops->open(&c, &t);
        }
        return rc;
    }
    void Close()
    {
        if (t)
            ops->close(t);
        t = nullptr;
    }
    int Set(uint16_t node, uint16_t at_port)
    {
        transport_peer p{};
        p.node = node;
        sockaddr_in a = Loopback(at_port);
        std::memcpy(&p.addr, &a, sizeof a);
        p.addrlen = sizeof a;
        return ops->peer_set(t, &p);
    }
    std::vector<transport_link_stats> Stats() const
    {
        std::vector<transport_link_stats> v(64);
        v.resize(std::min<size_t>(ops->stats(t, v.data(), (unsigned)v.size()), v.size()));
        return v;
    }
    // The link to node, or a zeroed one when there is none.
    transport_link_stats Link(uint16_t node) const
    {
        for (auto &s : Stats())
            if (s.node == node)
                return s;
        return transport_link_stats{};
    }
    // Connections or datagrams from node refused as from an unknown node.
    size_t Refused(uint16_t node) const
    {
        size_t n = 0;
        for (auto &e : events)
            n += e.ev == TRANSPORT_MALFORMED && e.err == -EPERM && e.node == node;
        return n;
    }
    // The numbers received from node, in the order delivered.
    std::vector<uint64_t> From(uint16_t node) const
    {
        std::vector<uint64_t> v;
        for (auto &g : got) {
            uint64_t x = 0;
            if (g.node == node && g.payload.size() >= sizeof x) {
                std::memcpy(&x, g.payload.data(), sizeof x);
                v.push_back(x);
            }
        }
        return v;
    }
};

bool PumpAll(const std::vector<Inst *> &all, const std::function<bool()> &done, int seconds = 30)
{
    auto end = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < end) {
        for (Inst *n : all)
            if (n->t)
                n->ops->poll(n->t);
        if (done())
            return true;
    }
    return false;
}

// Sends the numbers [from, from + count) from a to node, each in a message
// of len bytes, polling all while the link's queue is full.
void SendNums(Inst &a, uint16_t node, const std::vector<Inst *> &all, uint64_t from, uint64_t count,
              size_t len = 8)
{
    std::vector<unsigned char> p(std::max<size_t>(len, 8));
    for (uint64_t i = from; i < from + count;) {
        std::memcpy(p.data(), &i, sizeof i);
        transport_msg m = Msg(0x0002000001000002, 7, p.data(), (uint32_t)p.size());
        int rc = a.ops->send(a.t, node, &m, 1);
        if (rc == 1) {
            i++;
            continue;
        }
        ASSERT_EQ(rc, -EAGAIN) << ts_last_error();
        for (Inst *n : all)
            n->ops->poll(n->t);
    }
}

std::vector<uint64_t> Iota(uint64_t from, uint64_t count)
{
    std::vector<uint64_t> v(count);
    for (uint64_t i = 0; i < count; i++)
        v[i] = from + i;
    return v;
}

class RuntimePeers : public ::testing::TestWithParam<const transport_ops *> {
  protected:
    std::unique_ptr<Inst> Make(uint16_t node)
    {
        auto n = std::make_unique<Inst>(GetParam(), node);
        int rc = n->Open();
        EXPECT_EQ(rc, 0) << ts_last_error();
        return rc == 0 ? std::move(n) : nullptr;
    }
};

// Two instances opened with no peer learn of each other at runtime; then
// messages flow both ways, in order. The same address again changes nothing.
TEST_P(RuntimePeers, OpenedWithNoneThenSetBothWays)
{
    auto a = Make(1), b = Make(2);
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->ops->peer_set && a->ops->peer_del);
    EXPECT_EQ(a->Stats().size(), 0u);
    transport_msg m = Msg(1, 1, nullptr, 0);
    EXPECT_EQ(a->ops->send(a->t, 2, &m, 1), -EHOSTUNREACH);
    ASSERT_EQ(a->Set(2, b->port), 0) << ts_last_error();
    ASSERT_EQ(b->Set(1, a->port), 0) << ts_last_error();
    const uint64_t n = 3000;
    ASSERT_NO_FATAL_FAILURE(SendNums(*a, 2, {a.get(), b.get()}, 0, n));
    ASSERT_NO_FATAL_FAILURE(SendNums(*b, 1, {a.get(), b.get()}, 0, n));
    ASSERT_TRUE(PumpAll({a.get(), b.get()}, [&] {
        return a->got.size() >= n && b->got.size() >= n && a->Link(2).queued_bytes == 0 &&
               b->Link(1).queued_bytes == 0 && a->Link(2).up && b->Link(1).up;
    }));
    EXPECT_EQ(b->From(1), Iota(0, n));
    EXPECT_EQ(a->From(2), Iota(0, n));
    ASSERT_EQ(a->Stats().size(), 1u);
    transport_link_stats before = a->Link(2);
    ASSERT_EQ(a->Set(2, b->port), 0);
    EXPECT_EQ(a->Link(2).up, 1) << "the same address again moved the link";
    SendNums(*a, 2, {a.get(), b.get()}, n, 10);
    ASSERT_TRUE(PumpAll({a.get(), b.get()}, [&] { return b->got.size() >= n + 10; }));
    EXPECT_EQ(b->From(1), Iota(0, n + 10));
    EXPECT_EQ(a->Link(2).reconnects, before.reconnects);
}

// Node 2 restarts on another port (a third instance): node 1's link moves
// there, and what was queued to node 2 meanwhile arrives there, in order,
// numbered on from what the old one acknowledged.
TEST_P(RuntimePeers, AChangedAddressMovesTheLinkAndItsQueue)
{
    auto a = Make(1), b = Make(2);
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->Set(2, b->port), 0);
    ASSERT_EQ(b->Set(1, a->port), 0);
    ASSERT_NO_FATAL_FAILURE(SendNums(*a, 2, {a.get(), b.get()}, 0, 100));
    ASSERT_TRUE(PumpAll({a.get(), b.get()}, [&] {
        return b->got.size() >= 100 && a->Link(2).queued_bytes == 0;
    }));
    EXPECT_EQ(b->From(1), Iota(0, 100));
    b->Close(); // node 2 is gone
    ASSERT_NO_FATAL_FAILURE(SendNums(*a, 2, {a.get()}, 100, 100)); // queued: nobody acknowledges
    ASSERT_TRUE(PumpAll({a.get()}, [&] { return true; }));
    EXPECT_GT(a->Link(2).queued_bytes, 0u);
    auto c = Make(2); // node 2 again, elsewhere
    ASSERT_TRUE(c);
    ASSERT_EQ(c->Set(1, a->port), 0);
    ASSERT_EQ(a->Set(2, c->port), 0) << ts_last_error();
    EXPECT_EQ(a->Link(2).up, 0) << "the link is being moved";
    ASSERT_EQ(a->Stats().size(), 1u);
    ASSERT_TRUE(PumpAll({a.get(), c.get()}, [&] {
        return c->got.size() >= 100 && a->Link(2).queued_bytes == 0;
    }));
    EXPECT_EQ(c->From(1), Iota(100, 100));
    ASSERT_FALSE(c->got.empty());
    EXPECT_EQ(c->got.front().seq, 101u) << "numbered on from the link's first frame not acknowledged";
    // And back from the new one.
    ASSERT_NO_FATAL_FAILURE(SendNums(*c, 1, {a.get(), c.get()}, 0, 50));
    ASSERT_TRUE(PumpAll({a.get(), c.get()}, [&] { return a->got.size() >= 50 && a->Link(2).up; }));
    EXPECT_EQ(a->From(2), Iota(0, 50));
    // Moved again while the old one is alive and polled: what is sent after
    // goes to the new one only.
    auto d = Make(2);
    ASSERT_TRUE(d);
    ASSERT_EQ(d->Set(1, a->port), 0);
    ASSERT_EQ(a->Set(2, d->port), 0);
    ASSERT_NO_FATAL_FAILURE(SendNums(*a, 2, {a.get(), c.get(), d.get()}, 200, 50));
    ASSERT_TRUE(PumpAll({a.get(), c.get(), d.get()}, [&] {
        return d->got.size() >= 50 && a->Link(2).queued_bytes == 0;
    }));
    EXPECT_EQ(d->From(1), Iota(200, 50));
    EXPECT_EQ(c->got.size(), 100u) << "sent to the old address after the change";
}

// A peer deleted: what was queued to it is dropped and counted (messages,
// not fragments), sends to it are refused, what it sends is refused as from
// an unknown node. Added again, both directions number afresh from 1.
TEST_P(RuntimePeers, ADeletedPeerIsForgottenAndRefused)
{
    auto a = Make(1), b = Make(2);
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->Set(2, b->port), 0);
    ASSERT_EQ(b->Set(1, a->port), 0);
    ASSERT_NO_FATAL_FAILURE(SendNums(*a, 2, {a.get(), b.get()}, 0, 10));
    ASSERT_NO_FATAL_FAILURE(SendNums(*b, 1, {a.get(), b.get()}, 0, 10));
    ASSERT_TRUE(PumpAll({a.get(), b.get()}, [&] {
        return a->got.size() >= 10 && b->got.size() >= 10 && a->Link(2).queued_bytes == 0;
    }));
    // Queued with no poll of a in between, so none is acknowledged: three
    // messages of several datagrams each and 34 small ones.
    ASSERT_NO_FATAL_FAILURE(SendNums(*a, 2, {}, 1000, 3, 5000));
    ASSERT_NO_FATAL_FAILURE(SendNums(*a, 2, {}, 1003, 34));
    EXPECT_EQ(a->ops->peer_del(a->t, 2), 37);
    EXPECT_EQ(a->ops->peer_del(a->t, 2), -ENOENT);
    transport_msg m = Msg(1, 1, nullptr, 0);
    EXPECT_EQ(a->ops->send(a->t, 2, &m, 1), -EHOSTUNREACH);
    EXPECT_EQ(a->Stats().size(), 0u);
    // Node 2 still knows node 1 and sends: refused.
    ASSERT_NO_FATAL_FAILURE(SendNums(*b, 1, {}, 10, 5));
    ASSERT_TRUE(PumpAll({a.get(), b.get()}, [&] { return a->Refused(2) > 0; }))
        << "node 2 was not refused";
    EXPECT_EQ(a->got.size(), 10u) << "delivered from a deleted peer";
    EXPECT_EQ(b->got.size(), 10u) << "what was dropped went out all the same";
    // Added again: node 1's new link numbers from 1, and node 2's pending
    // messages come in.
    ASSERT_EQ(a->Set(2, b->port), 0);
    ASSERT_NO_FATAL_FAILURE(SendNums(*a, 2, {a.get(), b.get()}, 100, 5));
    ASSERT_TRUE(PumpAll({a.get(), b.get()}, [&] { return a->got.size() >= 15 && b->got.size() >= 15; }));
    std::vector<uint64_t> want = Iota(0, 10), more = Iota(100, 5);
    want.insert(want.end(), more.begin(), more.end());
    EXPECT_EQ(b->From(1), want);
    for (size_t i = 10; i < b->got.size(); i++)
        EXPECT_EQ(b->got[i].seq, i - 9) << "the re-added link numbers afresh";
    EXPECT_EQ(a->From(2), Iota(0, 15));
}

// From 0 to 40 peers one at a time: after each is added, every earlier link
// still carries a message, and the new one both ways.
TEST_P(RuntimePeers, GrowingOneByOneKeepsEarlierLinks)
{
    const unsigned kPeers = 40;
    auto hub = Make(1);
    ASSERT_TRUE(hub);
    std::vector<std::unique_ptr<Inst>> spokes;
    std::vector<Inst *> all = {hub.get()};
    for (unsigned i = 0; i < kPeers; i++) {
        spokes.push_back(Make((uint16_t)(10 + i)));
        ASSERT_TRUE(spokes.back());
        Inst *s = spokes.back().get();
        all.push_back(s);
        ASSERT_EQ(s->Set(1, hub->port), 0);
        ASSERT_EQ(hub->Set(s->id, s->port), 0) << ts_last_error();
        for (unsigned j = 0; j <= i; j++)
            ASSERT_NO_FATAL_FAILURE(SendNums(*hub, spokes[j]->id, all, i, 1));
        ASSERT_NO_FATAL_FAILURE(SendNums(*s, 1, all, i, 1));
        ASSERT_TRUE(PumpAll(all, [&] {
            for (unsigned j = 0; j <= i; j++)
                if (spokes[j]->got.size() < i - j + 1)
                    return false;
            return hub->got.size() >= i + 1;
        })) << "after adding peer " << i;
    }
    for (unsigned j = 0; j < kPeers; j++) {
        EXPECT_EQ(spokes[j]->From(1), Iota(j, kPeers - j)) << "spoke " << j;
        EXPECT_EQ(hub->From(spokes[j]->id), Iota(j, 1)) << "spoke " << j;
    }
    ASSERT_TRUE(PumpAll(all, [&] {
        auto st = hub->Stats();
        return st.size() == kPeers &&
               std::all_of(st.begin(), st.end(), [](auto &l) { return l.up && !l.queued_bytes; });
    }));
    // Every third deleted (the table closes up behind each): the others
    // still carry a message each way.
    std::vector<Inst *> left = {hub.get()};
    for (unsigned j = 0; j < kPeers; j++) {
        if (j % 3 == 1)
            ASSERT_EQ(hub->ops->peer_del(hub->t, spokes[j]->id), 0) << "nothing was queued";
        else
            left.push_back(spokes[j].get());
    }
    ASSERT_EQ(hub->Stats().size(), left.size() - 1);
    std::vector<uint64_t> in_before(left.size());
    for (size_t k = 1; k < left.size(); k++)
        in_before[k] = hub->Link(left[k]->id).frames_in;
    for (size_t k = 1; k < left.size(); k++) {
        ASSERT_NO_FATAL_FAILURE(SendNums(*hub, left[k]->id, left, 1000, 1));
        ASSERT_NO_FATAL_FAILURE(SendNums(*left[k], 1, left, 1000, 1));
    }
    ASSERT_TRUE(PumpAll(left, [&] {
        for (size_t k = 1; k < left.size(); k++)
            if (left[k]->From(1).back() != 1000 || hub->From(left[k]->id).back() != 1000)
                return false;
        return true;
    }));
    for (size_t k = 1; k < left.size(); k++)
        EXPECT_GT(hub->Link(left[k]->id).frames_in, in_before[k]) << "counted on another link";
}

// Addresses the backend cannot reach are refused; so is changing the table
// from inside a callback of poll.
TEST_P(RuntimePeers, BadAddressesAndCallsFromCallbacksAreRefused)
{
    auto a = Make(1), b = Make(2);
    ASSERT_TRUE(a && b);
    transport_peer p{};
    p.node = 5;
    p.addr.ss_family = AF_UNIX;
    p.addrlen = sizeof(sockaddr_in);
    EXPECT_EQ(a->ops->peer_set(a->t, &p), -EINVAL);
    sockaddr_in6 six{};
    six.sin6_family = AF_INET6;
    six.sin6_port = htons(9);
    six.sin6_addr = in6addr_loopback;
    std::memcpy(&p.addr, &six, sizeof six);
    p.addrlen = sizeof six;
    // tcp opens a socket per link, of its address's family; udp has one.
    EXPECT_EQ(a->ops->peer_set(a->t, &p), a->ops == &transport_udp ? -EINVAL : 0);
    sockaddr_in four = Loopback(9);
    std::memcpy(&p.addr, &four, sizeof four);
    p.addrlen = 4;
    EXPECT_EQ(a->ops->peer_set(a->t, &p), -EINVAL) << "too short";
    EXPECT_EQ(a->ops->peer_del(a->t, 99), -ENOENT);
    ASSERT_EQ(a->Set(2, b->port), 0);
    ASSERT_EQ(b->Set(1, a->port), 0);
    int set_rc = 1, del_rc = 1;
    b->on_deliver = [&] {
        set_rc = b->Set(3, 9);
        del_rc = b->ops->peer_del(b->t, 1);
    };
    ASSERT_NO_FATAL_FAILURE(SendNums(*a, 2, {a.get(), b.get()}, 0, 1));
    ASSERT_TRUE(PumpAll({a.get(), b.get()}, [&] { return b->got.size() == 1; }));
    EXPECT_EQ(set_rc, -EBUSY);
    EXPECT_EQ(del_rc, -EBUSY);
    b->on_deliver = nullptr;
    EXPECT_EQ(b->Stats().size(), 1u) << "the table changed from inside deliver";
}

INSTANTIATE_TEST_SUITE_P(Backends, RuntimePeers, ::testing::Values(&transport_tcp, &transport_udp),
                         [](const ::testing::TestParamInfo<const transport_ops *> &i) {
                             return std::string(i.param->name);
                         });

} // namespace
