// Unit tests: the convention's runtime (placement/convention.h). A leader
// and members run in this process on 127.0.0.1 (the leader on port 0), each
// with its own thread; their callbacks go to one event log per node, and
// the tests wait on it (a condition variable, generous deadlines) for what
// must happen, then count, once every node is stopped and no callback can
// come any more, that it happened exactly as often as it should. Raw TCP
// clients driven with conv_wire.h play a replaying or babbling peer.
// Nothing here asserts on time: how fast a loss is seen is the network
// tests' business.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/thespis.h>

extern "C" {
#include "convention.h"
}

namespace {

using Bytes = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;

// The deadline for anything awaited: far beyond what it takes, even under
// the sanitizers, so that only a real failure runs into it.
constexpr auto kWait = std::chrono::seconds(30);

// ---- one event log for all the nodes of a test ----------------------------

enum class Kind { Member, Log, State };

struct Ev {
    explicit Ev(Kind k) : kind(k) {}
    Kind kind;
    int ev = 0;         // Member: enum conv_event; State: enum conv_state
    uint16_t node = 0;  // Member: whose entry; Log: from
    uint64_t instance = 0;
    std::string name, caps, endpoints;
    int level = 0;
    std::string id, text; // Log; State: text is why
};

struct World {
    std::mutex mu;
    std::condition_variable cv;

    // Waits until pred (called with mu held) holds; false after kWait.
    bool Wait(const std::function<bool()> &pred)
    {
        std::unique_lock<std::mutex> lk(mu);
        return cv.wait_for(lk, kWait, pred);
    }
};

uint8_t kKey[CONV_KEY];
uint8_t kOtherKey[CONV_KEY];

struct KeysInit {
    KeysInit()
    {
        for (unsigned i = 0; i < CONV_KEY; i++) {
            kKey[i] = uint8_t(i + 1);
            kOtherKey[i] = uint8_t(0x55 ^ i);
        }
    }
} keys_init;

class Node {
  public:
    Node(World &w, bool leader, uint16_t id, std::string name, std::string caps,
         std::string endpoints = "")
        : w_(w), name_(std::move(name)), caps_(std::move(caps)), endpoints_(std::move(endpoints))
    {
        cfg.leader = leader;
        cfg.node = id;
        memcpy(cfg.key, kKey, CONV_KEY);
        cfg.heartbeat_ms = 50;
        cfg.lost_ms = 3000;
        cfg.on_member = OnMember;
        cfg.on_log = OnLog;
        cfg.on_state = OnState;
        cfg.arg = this;
    }
    ~Node() { Stop(); }

    int Start(const std::string &addr)
    {
        addr_ = addr;
        cfg.addr = addr_.c_str();
        cfg.name = name_.c_str();
        cfg.caps = caps_.c_str();
        cfg.endpoints = endpoints_.c_str();
        return conv_start(&cfg, &c);
    }
    void Stop()
    {
        conv_stop(c);
        c = nullptr;
    }

    std::vector<conv_member> Table() const
    {
        std::vector<conv_member> v(CONV_MEMBERS_MAX);
        v.resize(conv_members(c, v.data(), CONV_MEMBERS_MAX));
        return v;
    }
    std::set<uint16_t> Ids() const
    {
        std::set<uint16_t> s;
        for (const auto &m : Table())
            s.insert(m.node.node);
        return s;
    }
    // The entry of node id, or nullptr in e (a copy).
    bool Entry(uint16_t id, conv_member *e) const
    {
        for (const auto &m : Table())
            if (m.node.node == id) {
                *e = m;
                return true;
            }
        return false;
    }

    // Counting, with the world's lock held (inside Wait's predicates) ...
    int CountLocked(Kind k, int ev, uint16_t node) const
    {
        return int(std::count_if(evs.begin(), evs.end(), [&](const Ev &e) {
            return e.kind == k && e.ev == ev && e.node == node;
        }));
    }
    bool LoggedLocked(const std::string &id, const std::string &has = "") const
    {
        return std::any_of(evs.begin(), evs.end(), [&](const Ev &e) {
            return e.kind == Kind::Log && e.id == id && e.text.find(has) != std::string::npos;
        });
    }
    bool StateLocked(int st, const std::string &why_has = "") const
    {
        return std::any_of(evs.begin(), evs.end(), [&](const Ev &e) {
            return e.kind == Kind::State && e.ev == st && e.text.find(why_has) != std::string::npos;
        });
    }
    // ... and without it.
    int Count(Kind k, int ev, uint16_t node) const
    {
        std::lock_guard<std::mutex> lk(w_.mu);
        return CountLocked(k, ev, node);
    }
    std::vector<Ev> Events() const
    {
        std::lock_guard<std::mutex> lk(w_.mu);
        return evs;
    }

    conv_config cfg{};
    conv *c = nullptr;
    std::vector<Ev> evs; // under w_.mu

  private:
    void Push(Ev e)
    {
        std::lock_guard<std::mutex> lk(w_.mu);
        evs.push_back(std::move(e));
        w_.cv.notify_all();
    }
    static void OnMember(void *arg, conv_event ev, const conv_node *n)
    {
        Ev e(Kind::Member);
        e.ev = ev;
        e.node = n->node;
        e.instance = n->instance;
        e.name = n->name;
        e.caps = n->caps;
        e.endpoints = n->endpoints;
        static_cast<Node *>(arg)->Push(std::move(e));
    }
    static void OnLog(void *arg, uint16_t from, int level, const char *id, const char *text)
    {
        Ev e(Kind::Log);
        e.node = from;
        e.level = level;
        e.id = id;
        e.text = text;
        static_cast<Node *>(arg)->Push(std::move(e));
    }
    static void OnState(void *arg, int state, const char *why)
    {
        Ev e(Kind::State);
        e.ev = state;
        e.text = why;
        static_cast<Node *>(arg)->Push(std::move(e));
    }

    World &w_;
    std::string name_, caps_, endpoints_, addr_;
};

std::string At(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// Every node's table holds exactly ids.
bool TablesAre(const std::vector<Node *> &nodes, const std::set<uint16_t> &ids)
{
    for (Node *n : nodes)
        if (n->Ids() != ids)
            return false;
    return true;
}

// A leader (node 1) and two members (2, 3) that have all seen each other.
struct Trio {
    World w;
    Node lead{w, true, 1, "lead", "role=leader", "tcp://127.0.0.1:7001"};
    Node m1{w, false, 2, "m1", "gpu=true", "tcp://127.0.0.1:7002"};
    Node m2{w, false, 3, "m2", "gpu=false", "tcp://127.0.0.1:7003"};

    void Up()
    {
        ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
        ASSERT_NE(conv_port(lead.c), 0);
        ASSERT_EQ(m1.Start(At(conv_port(lead.c))), 0) << ts_last_error();
        ASSERT_TRUE(w.Wait([&] { return TablesAre({&lead, &m1}, {1, 2}); }));
        ASSERT_EQ(m2.Start(At(conv_port(lead.c))), 0) << ts_last_error();
        ASSERT_TRUE(w.Wait([&] { return TablesAre({&lead, &m1, &m2}, {1, 2, 3}); }));
    }
    std::vector<Node *> All() { return {&lead, &m1, &m2}; }
};

// ---- a raw peer, driven by hand with conv_wire ----------------------------

class Raw {
  public:
    explicit Raw(uint16_t port, int rcvbuf = 0)
    {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ >= 0 && rcvbuf) // before connect: the window it offers stays small
            setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok_ = fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0;
    }
    ~Raw()
    {
        if (fd_ >= 0)
            close(fd_);
    }
    bool ok() const { return ok_; }

    bool Send(const Bytes &b)
    {
        size_t at = 0;
        while (at < b.size()) {
            ssize_t n = send(fd_, b.data() + at, b.size() - at, MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            at += size_t(n);
        }
        return true;
    }
    // One whole frame; false on EOF, an error, a bad length or kWait.
    bool Frame(Bytes &out)
    {
        auto end = Clock::now() + kWait;
        for (;;) {
            ssize_t fl = conv_frame_len(in_.data(), in_.size());
            if (fl < 0)
                return false;
            if (fl > 0) {
                out.assign(in_.begin(), in_.begin() + fl);
                in_.erase(in_.begin(), in_.begin() + fl);
                return true;
            }
            if (!Fill(end))
                return false;
        }
    }
    // Reads (and drops) until the peer closes: true then, false after kWait.
    bool Closed()
    {
        auto end = Clock::now() + kWait;
        while (Fill(end))
            in_.clear();
        return eof_;
    }

  private:
    bool Fill(Clock::time_point end)
    {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        pollfd p{fd_, POLLIN, 0};
        if (left.count() <= 0 || poll(&p, 1, int(left.count())) <= 0)
            return false;
        uint8_t buf[4096];
        ssize_t n = recv(fd_, buf, sizeof(buf), 0);
        if (n <= 0) {
            eof_ = n == 0 || errno == ECONNRESET;
            return false;
        }
        in_.insert(in_.end(), buf, buf + n);
        return true;
    }

    int fd_ = -1;
    bool ok_ = false, eof_ = false;
    Bytes in_;
};

Bytes Encode(conv_session &s, const conv_msg &m)
{
    Bytes b(CONV_FRAME_BYTES);
    ssize_t n = conv_encode(&s, &m, b.data(), b.size());
    EXPECT_GT(n, 0) << ts_last_error();
    b.resize(n > 0 ? size_t(n) : 0);
    return b;
}

conv_msg JoinOf(uint16_t node, const char *name, const char *caps)
{
    conv_msg m{};
    m.type = CONV_JOIN;
    m.u.join.node.node = node;
    m.u.join.node.instance = 0x1234567890abcdefull; // every raw peer is one process
    snprintf(m.u.join.node.name, sizeof(m.u.join.node.name), "%s", name);
    snprintf(m.u.join.node.caps, sizeof(m.u.join.node.caps), "%s", caps);
    return m;
}

// A raw peer through the handshake as node id: the JOIN it sent into
// *join_bytes. Returns whether the leader welcomed it.
bool RawJoin(Raw &r, uint16_t id, const char *name, Bytes *join_bytes, conv_session *s,
             const char *caps = "")
{
    Bytes f;
    conv_msg m{};
    if (conv_session_init(s, kKey, false) != 0 || !r.Frame(f) ||
        conv_decode(s, f.data(), f.size(), &m) != 0 || m.type != CONV_HELLO)
        return false;
    *join_bytes = Encode(*s, JoinOf(id, name, caps));
    if (!r.Send(*join_bytes) || !r.Frame(f))
        return false;
    return conv_decode(s, f.data(), f.size(), &m) == 0 && m.type == CONV_WELCOME &&
           m.u.welcome.node == id;
}

// ---- the tests ------------------------------------------------------------

TEST(Convention, ALeaderAndTwoMembersSeeEachOtherOnce)
{
    Trio t;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    const char *names[] = {"", "lead", "m1", "m2"};
    const char *caps[] = {"", "role=leader", "gpu=true", "gpu=false"};
    uint64_t inst[] = {0, conv_instance(t.lead.c), conv_instance(t.m1.c), conv_instance(t.m2.c)};
    for (Node *n : t.All()) {
        for (uint16_t id = 1; id <= 3; id++) {
            conv_member e;
            ASSERT_TRUE(n->Entry(id, &e));
            EXPECT_STREQ(e.node.name, names[id]);
            EXPECT_STREQ(e.node.caps, caps[id]);
            EXPECT_EQ(std::string(e.node.endpoints), "tcp://127.0.0.1:700" + std::to_string(id));
            EXPECT_EQ(e.node.instance, inst[id]);
            EXPECT_EQ(e.leader, id == 1);
            EXPECT_EQ(e.self, id == n->cfg.node);
            // Heard: the leader of its members, a member of the leader; no one else.
            bool heard = n == &t.lead ? id != 1 : id == 1;
            EXPECT_EQ(e.heard_ns != 0, heard) << "node " << n->cfg.node << ", entry " << id;
        }
    }
    EXPECT_EQ(t.m1.Count(Kind::State, CONV_ST_JOINED, 0), 1);
    t.m2.Stop();
    ASSERT_TRUE(t.w.Wait([&] {
        return t.lead.CountLocked(Kind::Member, CONV_EV_LEFT, 3) >= 1 &&
               t.m1.CountLocked(Kind::Member, CONV_EV_LEFT, 3) >= 1;
    }));
    t.m1.Stop();
    ASSERT_TRUE(t.w.Wait([&] { return t.lead.CountLocked(Kind::Member, CONV_EV_LEFT, 2) >= 1; }));
    t.lead.Stop();
    // Every node announced each of the three once, and took none back but
    // by the stops (m2 first, then m1).
    for (Node *n : t.All())
        for (uint16_t id = 1; id <= 3; id++)
            EXPECT_EQ(n->Count(Kind::Member, CONV_EV_JOINED, id), 1)
                << "node " << n->cfg.node << ", entry " << id;
    EXPECT_EQ(t.lead.Count(Kind::Member, CONV_EV_LEFT, 3), 1);
    EXPECT_EQ(t.lead.Count(Kind::Member, CONV_EV_LEFT, 2), 1);
    EXPECT_EQ(t.m1.Count(Kind::Member, CONV_EV_LEFT, 3), 1);
    for (Node *n : t.All())
        for (uint16_t id = 1; id <= 3; id++)
            EXPECT_EQ(n->Count(Kind::Member, CONV_EV_CAPS, id), 0);
}

TEST(Convention, CapsChangesReachEveryoneOnceAndUnchangedCapsNothing)
{
    Trio t;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    ASSERT_EQ(conv_set_caps(t.m1.c, "gpu=true,mem=16"), 0);
    ASSERT_TRUE(t.w.Wait([&] {
        for (Node *n : t.All())
            if (n->CountLocked(Kind::Member, CONV_EV_CAPS, 2) < 1)
                return false;
        return true;
    }));
    for (Node *n : t.All()) {
        conv_member e;
        ASSERT_TRUE(n->Entry(2, &e));
        EXPECT_STREQ(e.node.caps, "gpu=true,mem=16");
    }

    // The same caps again: nothing goes. The log record that follows on the
    // same stream is the barrier: a CAPS would have come before it.
    ASSERT_EQ(conv_set_caps(t.m1.c, "gpu=true,mem=16"), 0);
    ASSERT_EQ(conv_forward_log(t.m1.c, 2, "TS-TEST-BARRIER", "after the same caps"), 0);
    ASSERT_TRUE(t.w.Wait([&] { return t.lead.LoggedLocked("TS-TEST-BARRIER"); }));

    // The leader's own caps: its entry changes everywhere; unchanged, nothing.
    ASSERT_EQ(conv_set_caps(t.lead.c, "role=leader,zone=b"), 0);
    ASSERT_EQ(conv_set_caps(t.lead.c, "role=leader,zone=b"), 0);
    ASSERT_TRUE(t.w.Wait([&] {
        return t.m1.CountLocked(Kind::Member, CONV_EV_CAPS, 1) >= 1 &&
               t.m2.CountLocked(Kind::Member, CONV_EV_CAPS, 1) >= 1;
    }));
    ASSERT_EQ(conv_set_caps(t.lead.c, "role=leader,zone=c"), 0);
    ASSERT_TRUE(t.w.Wait([&] {
        return t.m1.CountLocked(Kind::Member, CONV_EV_CAPS, 1) >= 2 &&
               t.m2.CountLocked(Kind::Member, CONV_EV_CAPS, 1) >= 2;
    }));
    for (Node *n : t.All()) {
        conv_member e;
        ASSERT_TRUE(n->Entry(1, &e));
        EXPECT_STREQ(e.node.caps, "role=leader,zone=c");
    }
    EXPECT_EQ(conv_set_caps(t.m1.c, "not a capability list="), -EINVAL);

    t.m2.Stop();
    t.m1.Stop();
    t.lead.Stop();
    for (Node *n : t.All()) {
        EXPECT_EQ(n->Count(Kind::Member, CONV_EV_CAPS, 2), 1) << "node " << n->cfg.node;
        EXPECT_EQ(n->Count(Kind::Member, CONV_EV_CAPS, 1), 2) << "node " << n->cfg.node;
        EXPECT_EQ(n->Count(Kind::Member, CONV_EV_CAPS, 3), 0) << "node " << n->cfg.node;
    }
    // Each CAPS event carried the caps of that moment.
    std::vector<std::string> seen;
    for (const Ev &e : t.m2.Events())
        if (e.kind == Kind::Member && e.ev == CONV_EV_CAPS && e.node == 1)
            seen.push_back(e.caps);
    EXPECT_EQ(seen, (std::vector<std::string>{"role=leader,zone=b", "role=leader,zone=c"}));
}

TEST(Convention, AMemberWithAnotherKeyIsRefused)
{
    World w;
    Node lead(w, true, 1, "lead", "");
    Node m1(w, false, 2, "m1", "");
    Node bad(w, false, 5, "bad", "");
    memcpy(bad.cfg.key, kOtherKey, CONV_KEY);
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    ASSERT_EQ(m1.Start(At(conv_port(lead.c))), 0);
    ASSERT_TRUE(w.Wait([&] { return TablesAre({&lead, &m1}, {1, 2}); }));
    ASSERT_EQ(bad.Start(At(conv_port(lead.c))), 0);
    // The leader's note names the peer and conv_decode's reason; the member
    // is told the leader's, and notes it too.
    ASSERT_TRUE(w.Wait([&] {
        return bad.StateLocked(CONV_ST_REFUSED, "not authenticated") &&
               bad.LoggedLocked("TS-CONV-REFUSED", "not authenticated") &&
               lead.LoggedLocked("TS-CONV-REFUSED", "from 127.0.0.1:") &&
               lead.LoggedLocked("TS-CONV-REFUSED", "the member's key differs");
    }));
    EXPECT_EQ(lead.Ids(), (std::set<uint16_t>{1, 2}));
    EXPECT_EQ(m1.Ids(), (std::set<uint16_t>{1, 2}));
    EXPECT_TRUE(bad.Table().empty());
    bad.Stop();
    m1.Stop();
    lead.Stop();
    for (Node *n : {&lead, &m1, &bad})
        for (int ev = CONV_EV_JOINED; ev <= CONV_EV_CAPS; ev++)
            EXPECT_EQ(n->Count(Kind::Member, ev, 5), 0);
    EXPECT_EQ(bad.Count(Kind::State, CONV_ST_JOINED, 0), 0);
    // Retried, but the member reported its refusal once: the reason did not change.
    EXPECT_EQ(bad.Count(Kind::State, CONV_ST_REFUSED, 0), 1);
}

TEST(Convention, AJoinReplayedOnAnotherConnectionIsRefused)
{
    World w;
    Node lead(w, true, 1, "lead", "");
    lead.cfg.lost_ms = 60000; // the raw peer sends no heartbeats
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    uint16_t port = conv_port(lead.c);

    // A genuine handshake: its JOIN is welcomed.
    Raw first(port);
    ASSERT_TRUE(first.ok());
    conv_session s1, s2;
    Bytes join;
    ASSERT_TRUE(RawJoin(first, 7, "raw", &join, &s1));
    ASSERT_TRUE(w.Wait([&] { return lead.CountLocked(Kind::Member, CONV_EV_JOINED, 7) == 1; }));

    // The same bytes to a new HELLO: refused, told why, closed.
    Raw second(port);
    ASSERT_TRUE(second.ok());
    Bytes f;
    ASSERT_TRUE(second.Frame(f)); // its HELLO
    ASSERT_TRUE(second.Send(join));
    ASSERT_TRUE(second.Frame(f));
    conv_msg m{};
    ASSERT_EQ(conv_session_init(&s2, kKey, false), 0);
    ASSERT_EQ(conv_decode(&s2, f.data(), f.size(), &m), 0) << ts_last_error();
    ASSERT_EQ(m.type, CONV_REFUSE);
    EXPECT_STREQ(m.u.refuse.reason, "not authenticated");
    EXPECT_TRUE(second.Closed());
    ASSERT_TRUE(w.Wait([&] { return lead.LoggedLocked("TS-CONV-REFUSED", "not authenticated"); }));
    EXPECT_EQ(lead.Ids(), (std::set<uint16_t>{1, 7}));
    lead.Stop();
    EXPECT_EQ(lead.Count(Kind::Member, CONV_EV_JOINED, 7), 1);
    EXPECT_EQ(lead.Count(Kind::Member, CONV_EV_LEFT, 7), 0);
}

TEST(Convention, TheSameInstanceOnANewConnectionTakesItsEntryBack)
{
    // A member that found the leader silent before the leader found it
    // silent joins again on a new connection: its entry stays, its old
    // connection is closed, and only its changed caps are news.
    World w;
    Node lead(w, true, 1, "lead", "");
    lead.cfg.lost_ms = 60000; // the raw peers send no heartbeats
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    Raw before(conv_port(lead.c)), after(conv_port(lead.c));
    ASSERT_TRUE(before.ok() && after.ok());
    conv_session s1, s2;
    Bytes join;
    ASSERT_TRUE(RawJoin(before, 7, "raw", &join, &s1, "v=1"));
    ASSERT_TRUE(w.Wait([&] { return lead.CountLocked(Kind::Member, CONV_EV_JOINED, 7) == 1; }));
    ASSERT_TRUE(RawJoin(after, 7, "raw", &join, &s2, "v=2"));
    EXPECT_TRUE(before.Closed());
    ASSERT_TRUE(w.Wait([&] { return lead.CountLocked(Kind::Member, CONV_EV_CAPS, 7) == 1; }));
    conv_member e;
    ASSERT_TRUE(lead.Entry(7, &e));
    EXPECT_STREQ(e.node.caps, "v=2");
    lead.Stop();
    EXPECT_EQ(lead.Count(Kind::Member, CONV_EV_JOINED, 7), 1);
    EXPECT_EQ(lead.Count(Kind::Member, CONV_EV_LEFT, 7), 0);
    std::lock_guard<std::mutex> lk(w.mu);
    EXPECT_FALSE(lead.LoggedLocked("TS-CONV-LOST"));
}

TEST(Convention, ANodeIdHeldByAnotherNameIsRefused)
{
    World w;
    Node lead(w, true, 1, "lead", "");
    Node a(w, false, 2, "a", "");
    Node b(w, false, 2, "b", "");
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    ASSERT_EQ(a.Start(At(conv_port(lead.c))), 0);
    ASSERT_TRUE(w.Wait([&] { return TablesAre({&lead, &a}, {1, 2}); }));
    ASSERT_EQ(b.Start(At(conv_port(lead.c))), 0);
    ASSERT_TRUE(w.Wait([&] {
        return b.StateLocked(CONV_ST_REFUSED, "node id 2 is taken by 'a'") &&
               lead.LoggedLocked("TS-CONV-REFUSED", "node id 2 is taken by 'a'");
    }));
    conv_member e;
    ASSERT_TRUE(lead.Entry(2, &e));
    EXPECT_STREQ(e.node.name, "a");
    EXPECT_EQ(e.node.instance, conv_instance(a.c));
    EXPECT_TRUE(b.Table().empty());
    b.Stop();
    a.Stop();
    ASSERT_TRUE(w.Wait([&] { return lead.CountLocked(Kind::Member, CONV_EV_LEFT, 2) >= 1; }));
    lead.Stop();
    EXPECT_EQ(lead.Count(Kind::Member, CONV_EV_JOINED, 2), 1);
    EXPECT_EQ(lead.Count(Kind::Member, CONV_EV_LEFT, 2), 1); // a's stop
    EXPECT_EQ(a.Count(Kind::Member, CONV_EV_LEFT, 2), 0);
}

TEST(Convention, TheSameNameWithANewInstanceReplacesTheOld)
{
    Trio t;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    // m2's process "dies" (frozen: nothing polite) and a new m2 starts.
    conv_freeze(t.m2.c, true);
    Node again(t.w, false, 3, "m2", "gpu=false,new=true");
    ASSERT_EQ(again.Start(At(conv_port(t.lead.c))), 0);
    uint64_t inst = conv_instance(again.c);
    auto replaced = [&](Node &n) {
        conv_member e;
        return n.Entry(3, &e) && e.node.instance == inst;
    };
    ASSERT_TRUE(t.w.Wait([&] {
        return replaced(t.lead) && replaced(t.m1) && replaced(again) &&
               again.Ids() == std::set<uint16_t>{1, 2, 3};
    }));
    t.m2.Stop();
    again.Stop();
    t.m1.Stop();
    t.lead.Stop();
    for (Node *n : {&t.lead, &t.m1}) {
        // The old m2 left, the new one joined (and left at its stop, for the leader).
        EXPECT_EQ(n->Count(Kind::Member, CONV_EV_JOINED, 3), 2) << "node " << n->cfg.node;
        std::vector<Ev> order;
        for (const Ev &e : n->Events())
            if (e.kind == Kind::Member && e.node == 3)
                order.push_back(e);
        ASSERT_GE(order.size(), 3u);
        EXPECT_EQ(order[0].ev, CONV_EV_JOINED);
        EXPECT_EQ(order[1].ev, CONV_EV_LEFT);
        EXPECT_NE(order[1].instance, inst);
        EXPECT_EQ(order[2].ev, CONV_EV_JOINED);
        EXPECT_EQ(order[2].instance, inst);
    }
}

TEST(Convention, AMemberThatStopsIsLeftOnceByTheOthers)
{
    Trio t;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    t.m2.Stop();
    ASSERT_TRUE(t.w.Wait([&] {
        return t.lead.CountLocked(Kind::Member, CONV_EV_LEFT, 3) == 1 &&
               t.m1.CountLocked(Kind::Member, CONV_EV_LEFT, 3) == 1;
    }));
    EXPECT_TRUE(TablesAre({&t.lead, &t.m1}, {1, 2}));
    t.m1.Stop();
    t.lead.Stop();
    EXPECT_EQ(t.lead.Count(Kind::Member, CONV_EV_LEFT, 3), 1);
    EXPECT_EQ(t.m1.Count(Kind::Member, CONV_EV_LEFT, 3), 1);
    std::lock_guard<std::mutex> lk(t.w.mu);
    EXPECT_FALSE(t.lead.LoggedLocked("TS-CONV-LOST")) << "LEAVE is not a loss";
}

TEST(Convention, AFrozenMemberIsLostAndRejoinsWhenThawed)
{
    Trio t;
    for (Node *n : t.All())
        n->cfg.lost_ms = 1000;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    conv_freeze(t.m2.c, true);
    ASSERT_TRUE(t.w.Wait([&] {
        return t.lead.CountLocked(Kind::Member, CONV_EV_LEFT, 3) == 1 &&
               t.m1.CountLocked(Kind::Member, CONV_EV_LEFT, 3) == 1 &&
               t.lead.LoggedLocked("TS-CONV-LOST", "member 3 'm2'");
    }));
    EXPECT_TRUE(TablesAre({&t.lead, &t.m1}, {1, 2}));
    conv_freeze(t.m2.c, false);
    ASSERT_TRUE(t.w.Wait([&] {
        return t.lead.CountLocked(Kind::Member, CONV_EV_JOINED, 3) == 2 &&
               t.m1.CountLocked(Kind::Member, CONV_EV_JOINED, 3) == 2 &&
               t.m2.CountLocked(Kind::State, CONV_ST_JOINED, 0) == 2;
    }));
    ASSERT_TRUE(t.w.Wait([&] { return TablesAre(t.All(), {1, 2, 3}); }));
    // m2 saw its leader go and come back; m1 and itself stayed in its table.
    t.m2.Stop();
    t.m1.Stop();
    t.lead.Stop();
    EXPECT_EQ(t.m2.Count(Kind::Member, CONV_EV_LEFT, 1), 1);
    EXPECT_EQ(t.m2.Count(Kind::Member, CONV_EV_JOINED, 1), 2);
    EXPECT_EQ(t.m2.Count(Kind::Member, CONV_EV_LEFT, 2), 0);
    EXPECT_EQ(t.m2.Count(Kind::Member, CONV_EV_JOINED, 2), 1);
    EXPECT_EQ(t.m2.Count(Kind::Member, CONV_EV_LEFT, 3), 0);
    EXPECT_EQ(t.m2.Count(Kind::State, CONV_ST_LOST, 0), 1);
}

TEST(Convention, AMemberBackFromAnOutageReconcilesItsTable)
{
    // While m1 is cut off, m2 changes its caps, m3 leaves, m4 joins and m5
    // restarts (a new instance under its name). Back, m1 takes the leader's
    // list and turns each difference into one event.
    World w;
    Node lead(w, true, 1, "lead", ""), m1(w, false, 2, "m1", ""), m2(w, false, 3, "m2", "x=1");
    Node m3(w, false, 4, "m3", ""), m4(w, false, 5, "m4", ""), m5(w, false, 6, "m5", "");
    Node m5b(w, false, 6, "m5", "");
    m1.cfg.lost_ms = lead.cfg.lost_ms = 1000;
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    std::string at = At(conv_port(lead.c));
    for (Node *n : {&m1, &m2, &m3, &m5})
        ASSERT_EQ(n->Start(at), 0);
    ASSERT_TRUE(w.Wait([&] { return TablesAre({&lead, &m1, &m2, &m3, &m5}, {1, 2, 3, 4, 6}); }));

    conv_freeze(m1.c, true);
    ASSERT_TRUE(w.Wait([&] { return lead.CountLocked(Kind::Member, CONV_EV_LEFT, 2) == 1; }));
    ASSERT_EQ(conv_set_caps(m2.c, "x=2"), 0);
    m3.Stop();
    ASSERT_EQ(m4.Start(at), 0);
    conv_freeze(m5.c, true);
    ASSERT_EQ(m5b.Start(at), 0);
    uint64_t inst5 = conv_instance(m5b.c);
    ASSERT_TRUE(w.Wait([&] {
        conv_member e;
        return m4.Ids() == std::set<uint16_t>{1, 3, 5, 6} && m2.Entry(3, &e) &&
               std::string(e.node.caps) == "x=2" && m2.Entry(6, &e) && e.node.instance == inst5;
    }));
    EXPECT_EQ(m1.Ids(), (std::set<uint16_t>{1, 2, 3, 4, 6})) << "frozen, it heard nothing";

    conv_freeze(m1.c, false);
    ASSERT_TRUE(w.Wait([&] {
        conv_member e;
        return m1.CountLocked(Kind::State, CONV_ST_JOINED, 0) == 2 &&
               m1.Ids() == std::set<uint16_t>{1, 2, 3, 5, 6} && m1.Entry(3, &e) &&
               std::string(e.node.caps) == "x=2" && m1.Entry(6, &e) && e.node.instance == inst5;
    }));
    m1.Stop();
    for (Node *n : {&m5b, &m5, &m4, &m2, &lead})
        n->Stop();
    EXPECT_EQ(m1.Count(Kind::Member, CONV_EV_LEFT, 1), 1) << "the leader, when lost";
    EXPECT_EQ(m1.Count(Kind::Member, CONV_EV_JOINED, 1), 2) << "and back";
    EXPECT_EQ(m1.Count(Kind::Member, CONV_EV_CAPS, 3), 1);
    EXPECT_EQ(m1.Count(Kind::Member, CONV_EV_LEFT, 4), 1);
    EXPECT_EQ(m1.Count(Kind::Member, CONV_EV_JOINED, 5), 1);
    EXPECT_EQ(m1.Count(Kind::Member, CONV_EV_LEFT, 6), 1);
    EXPECT_EQ(m1.Count(Kind::Member, CONV_EV_JOINED, 6), 2);
    EXPECT_EQ(m1.Count(Kind::Member, CONV_EV_LEFT, 2), 0) << "itself";
    EXPECT_EQ(m1.Count(Kind::Member, CONV_EV_JOINED, 2), 1);
    EXPECT_EQ(m1.Count(Kind::Member, CONV_EV_LEFT, 3), 0);
}

TEST(Convention, MembersRejoinARestartedLeaderByThemselves)
{
    Trio t;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    uint16_t port = conv_port(t.lead.c);
    uint64_t old = conv_instance(t.lead.c);
    t.lead.Stop();
    ASSERT_TRUE(t.w.Wait([&] {
        return t.m1.StateLocked(CONV_ST_LOST) && t.m2.StateLocked(CONV_ST_LOST);
    }));
    Node lead2(t.w, true, 1, "lead", "role=leader,restarted=true");
    int rc = -EADDRINUSE;
    for (int i = 0; i < 50 && rc == -EADDRINUSE; i++) {
        rc = lead2.Start(At(port));
        if (rc == -EADDRINUSE) // the old sockets' TIME_WAIT, which SO_REUSEADDR passes
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(rc, 0) << ts_last_error();
    uint64_t inst = conv_instance(lead2.c);
    ASSERT_NE(inst, old);
    auto whole = [&](Node &n) {
        conv_member e;
        return n.Ids() == std::set<uint16_t>{1, 2, 3} && n.Entry(1, &e) &&
               e.node.instance == inst && e.leader && n.Entry(2, &e) &&
               e.node.instance == conv_instance(t.m1.c) && n.Entry(3, &e) &&
               e.node.instance == conv_instance(t.m2.c);
    };
    ASSERT_TRUE(t.w.Wait([&] { return whole(lead2) && whole(t.m1) && whole(t.m2); }));
    conv_member e;
    ASSERT_TRUE(t.m1.Entry(1, &e));
    EXPECT_STREQ(e.node.caps, "role=leader,restarted=true");
    t.m1.Stop();
    t.m2.Stop();
    lead2.Stop();
    for (Node *n : {&t.m1, &t.m2}) {
        EXPECT_GE(n->Count(Kind::State, CONV_ST_JOINED, 0), 2);
        EXPECT_EQ(n->Count(Kind::Member, CONV_EV_LEFT, 1), 1) << "the old leader, once";
    }
}

TEST(Convention, ForwardedLogsReachTheLeaderInOrderAndAFullQueueDrops)
{
    World w;
    Node lead(w, true, 1, "lead", "");
    Node m1(w, false, 2, "m1", "");
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    EXPECT_EQ(conv_forward_log(lead.c, 2, "TS-TEST", "the leader has no one above"), -EINVAL);

    // The leader does not answer yet: the member's records wait, and beyond
    // the queue's room they are dropped and counted.
    conv_freeze(lead.c, true);
    ASSERT_EQ(m1.Start(At(conv_port(lead.c))), 0);
    for (int i = 0; i < CONV_LOGQ_MAX; i++)
        ASSERT_EQ(conv_forward_log(m1.c, 2, "TS-TEST", ("record " + std::to_string(i)).c_str()), 0);
    EXPECT_EQ(conv_forward_log(m1.c, 2, "TS-TEST", "one too many"), -ENOBUFS);
    EXPECT_EQ(conv_logs_dropped(m1.c), 1u);
    EXPECT_EQ(conv_forward_log(m1.c, 9, "TS-TEST", "level 9"), -EINVAL);
    conv_freeze(lead.c, false);
    ASSERT_TRUE(w.Wait([&] { return lead.LoggedLocked("TS-CONV-DROPPED", "1 log records"); }));
    ASSERT_EQ(conv_forward_log(m1.c, 3, "TS-TEST-LAST", "after the drop"), 0);
    ASSERT_TRUE(w.Wait([&] { return lead.LoggedLocked("TS-TEST-LAST"); }));
    m1.Stop();
    lead.Stop();
    std::vector<Ev> got;
    for (const Ev &e : lead.Events())
        if (e.kind == Kind::Log && e.node == 2)
            got.push_back(e);
    ASSERT_EQ(got.size(), size_t(CONV_LOGQ_MAX) + 2);
    for (int i = 0; i < CONV_LOGQ_MAX; i++) {
        EXPECT_EQ(got[i].id, "TS-TEST");
        EXPECT_EQ(got[i].level, 2);
        EXPECT_EQ(got[i].text, "record " + std::to_string(i));
    }
    EXPECT_EQ(got[CONV_LOGQ_MAX].id, "TS-CONV-DROPPED");
    EXPECT_EQ(got[CONV_LOGQ_MAX + 1].level, 3);
}

TEST(Convention, GarbageAndAnOversizeLengthCloseOnlyTheirConnection)
{
    Trio t;
    t.lead.cfg.lost_ms = 60000; // the raw peers send no heartbeats
    ASSERT_NO_FATAL_FAILURE(t.Up());
    uint16_t port = conv_port(t.lead.c);

    // A frame of a fine length but version 9.
    Raw garbage(port);
    ASSERT_TRUE(garbage.ok());
    Bytes junk(64, 0xab);
    junk[0] = 60, junk[1] = junk[2] = junk[3] = 0;
    junk[4] = CONV_JOIN, junk[5] = 9;
    ASSERT_TRUE(garbage.Send(junk));
    EXPECT_TRUE(garbage.Closed());
    ASSERT_TRUE(t.w.Wait([&] { return t.lead.LoggedLocked("TS-CONV-MALFORMED", "version 9"); }));

    // A length far beyond CONV_FRAME_MAX.
    Raw oversize(port);
    ASSERT_TRUE(oversize.ok());
    ASSERT_TRUE(oversize.Send(Bytes{0xff, 0xff, 0xff, 0x7f, 1, 1, 0, 0}));
    EXPECT_TRUE(oversize.Closed());

    // A welcomed member that babbles: it alone is closed, and left.
    Raw babbler(port);
    ASSERT_TRUE(babbler.ok());
    conv_session s;
    Bytes join;
    ASSERT_TRUE(RawJoin(babbler, 7, "babbler", &join, &s));
    ASSERT_TRUE(t.w.Wait([&] { return t.m1.CountLocked(Kind::Member, CONV_EV_JOINED, 7) == 1; }));
    ASSERT_TRUE(babbler.Send(junk));
    EXPECT_TRUE(babbler.Closed());
    ASSERT_TRUE(t.w.Wait([&] {
        return t.lead.CountLocked(Kind::Member, CONV_EV_LEFT, 7) == 1 &&
               t.m1.CountLocked(Kind::Member, CONV_EV_LEFT, 7) == 1 &&
               t.m2.CountLocked(Kind::Member, CONV_EV_LEFT, 7) == 1;
    }));
    {
        std::lock_guard<std::mutex> lk(t.w.mu);
        EXPECT_FALSE(t.lead.LoggedLocked("TS-CONV-LOST")) << "closed for its frame, not lost";
    }

    // The others go on.
    ASSERT_EQ(conv_set_caps(t.m2.c, "gpu=false,after=garbage"), 0);
    ASSERT_TRUE(t.w.Wait([&] {
        return t.lead.CountLocked(Kind::Member, CONV_EV_CAPS, 3) == 1 &&
               t.m1.CountLocked(Kind::Member, CONV_EV_CAPS, 3) == 1;
    }));
    EXPECT_TRUE(TablesAre(t.All(), {1, 2, 3}));
    t.m2.Stop();
    t.m1.Stop();
    t.lead.Stop();
    for (Node *n : t.All())
        for (uint16_t id = 1; id <= 3; id++)
            EXPECT_EQ(n->Count(Kind::Member, CONV_EV_JOINED, id), 1);
    EXPECT_EQ(t.m1.Count(Kind::State, CONV_ST_LOST, 0), 0);
    EXPECT_EQ(t.m2.Count(Kind::State, CONV_ST_LOST, 0), 0);
}

TEST(Convention, RandomBytesFromManyPeersAreClosedAndHurtNoOne)
{
    // Fifty peers each send random bytes, half of them after a real
    // handshake (so they land in a session), some with a plausible length
    // first. Each is closed (malformed, not authentic, or not finished in
    // time), and the members go on as before.
    Trio t;
    t.lead.cfg.lost_ms = 500; // handshakes left hanging are closed after 2 s
    ASSERT_NO_FATAL_FAILURE(t.Up());
    uint16_t port = conv_port(t.lead.c);
    std::mt19937 rng(20240611);
    std::vector<std::unique_ptr<Raw>> peers;
    for (int i = 0; i < 50; i++) {
        peers.push_back(std::make_unique<Raw>(port));
        Raw &r = *peers.back();
        ASSERT_TRUE(r.ok());
        if (i % 2) {
            conv_session s;
            Bytes join;
            ASSERT_TRUE(RawJoin(r, uint16_t(100 + i), ("raw" + std::to_string(i)).c_str(), &join,
                                &s));
        }
        Bytes junk(1 + rng() % 300);
        for (auto &b : junk)
            b = uint8_t(rng());
        if (i % 3 == 0 && junk.size() >= 8) { // a length that fits, then junk
            uint32_t len = uint32_t(44 + rng() % 400);
            memcpy(junk.data(), &len, 4);
            junk[5] = CONV_VERSION;
            junk[6] = junk[7] = 0;
        }
        ASSERT_TRUE(r.Send(junk));
    }
    for (auto &r : peers)
        EXPECT_TRUE(r->Closed());
    ASSERT_TRUE(t.w.Wait([&] { return TablesAre(t.All(), {1, 2, 3}); }));
    ASSERT_EQ(conv_set_caps(t.m1.c, "gpu=true,after=noise"), 0);
    ASSERT_TRUE(t.w.Wait([&] {
        conv_member a, b;
        return t.lead.Entry(2, &a) && std::string(a.node.caps) == "gpu=true,after=noise" &&
               t.m2.Entry(2, &b) && std::string(b.node.caps) == "gpu=true,after=noise";
    }));
}

TEST(Convention, AMemberThatDoesNotReadIsClosedAsTooSlow)
{
    World w;
    Node lead(w, true, 1, "lead", ""), m1(w, false, 2, "m1", "");
    lead.cfg.lost_ms = 60000; // the sloth sends no heartbeats: too slow, not silent
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    ASSERT_EQ(m1.Start(At(conv_port(lead.c))), 0);
    Raw sloth(conv_port(lead.c), 4096);
    ASSERT_TRUE(sloth.ok());
    conv_session s;
    Bytes join;
    ASSERT_TRUE(RawJoin(sloth, 7, "sloth", &join, &s));
    ASSERT_TRUE(w.Wait([&] { return TablesAre({&lead, &m1}, {1, 2, 7}); }));

    // The leader's caps change again and again (800 characters each time);
    // the sloth reads none of the MEMBER frames, m1 all of them.
    auto caps = [](int round) {
        std::string c;
        for (int k = 0; k < 12; k++)
            c += (k ? ",k" : "k") + std::to_string(k) + "=" +
                 std::string(60, char('a' + round % 2)) + std::to_string(round % 100);
        return c;
    };
    int round = 0;
    for (; round < 50000; round++) {
        ASSERT_EQ(conv_set_caps(lead.c, caps(round).c_str()), 0) << ts_last_error();
        ASSERT_TRUE(
            w.Wait([&] { return lead.CountLocked(Kind::Member, CONV_EV_CAPS, 1) > round; }));
        std::lock_guard<std::mutex> lk(w.mu);
        if (lead.CountLocked(Kind::Member, CONV_EV_LEFT, 7) == 1)
            break;
    }
    ASSERT_TRUE(w.Wait([&] {
        return lead.LoggedLocked("TS-CONV-SLOW", "node 7 'sloth'") &&
               m1.CountLocked(Kind::Member, CONV_EV_LEFT, 7) == 1 &&
               m1.CountLocked(Kind::Member, CONV_EV_CAPS, 1) == round + 1;
    })) << round << " changes";
    EXPECT_TRUE(TablesAre({&lead, &m1}, {1, 2}));
    EXPECT_TRUE(sloth.Closed());
}

TEST(Convention, AHandshakeNotFinishedInTimeIsClosed)
{
    World w;
    Node lead(w, true, 1, "lead", "");
    lead.cfg.lost_ms = 200; // the handshake gets 800 ms
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    Raw silent(conv_port(lead.c));
    ASSERT_TRUE(silent.ok());
    EXPECT_TRUE(silent.Closed());
    ASSERT_TRUE(w.Wait([&] { return lead.LoggedLocked("TS-CONV-TIMEOUT"); }));
    EXPECT_EQ(lead.Ids(), std::set<uint16_t>{1});
}

TEST(Convention, StoppingAMemberThatNeverReachedItsLeaderReturns)
{
    World w;
    // One socket listens but never says HELLO; another was bound and closed,
    // so nobody listens on its port.
    auto bound = [](int fd) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t al = sizeof(a);
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 ||
            getsockname(fd, reinterpret_cast<sockaddr *>(&a), &al) != 0)
            return uint16_t(0);
        return ntohs(a.sin_port);
    };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    uint16_t mute = bound(fd);
    ASSERT_NE(mute, 0);
    ASSERT_EQ(listen(fd, 4), 0);
    int gone = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    uint16_t nobody = bound(gone);
    ASSERT_NE(nobody, 0);
    close(gone);

    Node m1(w, false, 2, "m1", ""), m2(w, false, 3, "m2", "");
    ASSERT_EQ(m1.Start(At(nobody)), 0) << ts_last_error();
    ASSERT_EQ(m2.Start(At(mute)), 0) << ts_last_error();
    ASSERT_TRUE(w.Wait([&] {
        return m1.StateLocked(CONV_ST_CONNECTING) && m2.StateLocked(CONV_ST_CONNECTING);
    }));
    m1.Stop();
    m2.Stop();
    close(fd);
    EXPECT_EQ(m1.Count(Kind::State, CONV_ST_JOINED, 0), 0);
    EXPECT_EQ(m2.Count(Kind::State, CONV_ST_JOINED, 0), 0);
}

TEST(Convention, StartRefusesBadConfigurations)
{
    World w;
    Node lead(w, true, 1, "lead", "");
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    conv *c = reinterpret_cast<conv *>(1);
    conv_config cfg = lead.cfg;
    cfg.on_member = nullptr;
    cfg.on_log = nullptr;
    cfg.on_state = nullptr;
    std::string taken = At(conv_port(lead.c));
    cfg.addr = taken.c_str();
    EXPECT_EQ(conv_start(&cfg, &c), -EADDRINUSE) << ts_last_error();
    EXPECT_EQ(c, nullptr);
    cfg.leader = false;
    struct Bad {
        const char *addr, *name, *caps;
        unsigned hb, lost;
    } bad[] = {
        {"127.0.0.1", "x", "", 0, 0},          // no port
        {"127.0.0.1:0", "x", "", 0, 0},        // a member needs the leader's port
        {"127.0.0.1:99999", "x", "", 0, 0},    // no such port
        {"::1:5000", "x", "", 0, 0},           // IPv6 without brackets
        {"[::1:5000", "x", "", 0, 0},          // a bracket left open
        {"127.0.0.1:5000", "", "", 0, 0},      // no name
        {"127.0.0.1:5000", "x", "a b=1", 0, 0}, // caps that do not parse
        {"127.0.0.1:5000", "x", "", 100, 100}, // lost not above the heartbeat
    };
    for (const Bad &b : bad) {
        cfg.addr = b.addr;
        cfg.name = b.name;
        cfg.caps = b.caps;
        cfg.heartbeat_ms = b.hb;
        cfg.lost_ms = b.lost;
        EXPECT_EQ(conv_start(&cfg, &c), -EINVAL) << b.addr << " '" << b.name << "' " << b.caps;
        EXPECT_EQ(c, nullptr);
    }
    EXPECT_EQ(conv_start(nullptr, &c), -EINVAL);
    EXPECT_EQ(conv_start(&lead.cfg, nullptr), -EINVAL);
    conv_stop(nullptr);
    // A member may name its leader by an [IPv6] address, and stops unjoined.
    cfg.leader = false;
    cfg.heartbeat_ms = cfg.lost_ms = 0; // the defaults
    cfg.caps = "";
    cfg.addr = "[::1]:5000";
    cfg.name = "v6";
    ASSERT_EQ(conv_start(&cfg, &c), 0) << ts_last_error();
    EXPECT_EQ(conv_port(c), 0);
    conv_stop(c);
}

} // namespace
