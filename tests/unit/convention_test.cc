// Unit tests: the convention's runtime (placement/convention.h). A leader
// and members run in this process on 127.0.0.1 (the leader on port 0), each
// with its own thread; their callbacks go to one event log per node, and
// the tests wait on it (a condition variable, generous deadlines) for what
// must happen, then count, once every node is stopped and no callback can
// come any more, that it happened exactly as often as it should. Raw TCP
// clients driven with conv_wire.h play a replaying or babbling peer.
// Nothing here asserts on time: how fast a loss is seen is the network
// tests' business. Global names are checked through the calls alone: a
// claim a member makes after another message is a barrier (its stream to
// the leader is in order), and a raw leader shows what goes on the wire.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
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

enum class Kind { Member, Log, State, NameLost };

struct Ev {
    explicit Ev(Kind k) : kind(k) {}
    Kind kind;
    int ev = 0;         // Member: enum conv_event; State: enum conv_state
    uint16_t node = 0;  // Member: whose entry; Log: from
    uint64_t instance = 0;
    std::string name, caps, endpoints;
    int level = 0;
    std::string id, text; // Log; State: text is why; NameLost: text is the name
    uint64_t addr = 0, holder = 0; // NameLost
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
        cfg.on_name_lost = OnNameLost;
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
    // Set after Start: on_member then claims a name from the callback, and
    // keeps what the claim returned.
    std::atomic<conv *> claim_in_callback{nullptr};
    std::atomic<int> callback_claim_rc{1};

  private:
    void Push(Ev e)
    {
        std::lock_guard<std::mutex> lk(w_.mu);
        evs.push_back(std::move(e));
        w_.cv.notify_all();
    }
    static void OnMember(void *arg, conv_event ev, const conv_node *n)
    {
        Node *self = static_cast<Node *>(arg);
        if (conv *c = self->claim_in_callback.load()) {
            uint64_t h = 0;
            self->callback_claim_rc = conv_name_claim(c, "from-a-callback", 1, 1000, &h);
        }
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
    static void OnNameLost(void *arg, const char *name, uint64_t addr, uint64_t holder)
    {
        Ev e(Kind::NameLost);
        e.text = name;
        e.addr = addr;
        e.holder = holder;
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

// A connection a RawLeader accepted.
struct Accepted {
    int fd;
};

class Raw {
  public:
    explicit Raw(Accepted a) : fd_(a.fd), ok_(a.fd >= 0) {}
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


// ---- global names ----------------------------------------------------------

// A leader played by hand: it accepts one member at a time, welcomes it
// with an empty list, and answers (or not) what it sends.
class RawLeader {
  public:
    RawLeader()
    {
        lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t al = sizeof(a);
        if (lfd_ >= 0 && bind(lfd_, reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0 &&
            listen(lfd_, 4) == 0 && getsockname(lfd_, reinterpret_cast<sockaddr *>(&a), &al) == 0)
            port_ = ntohs(a.sin_port);
    }
    ~RawLeader()
    {
        if (lfd_ >= 0)
            close(lfd_);
    }
    uint16_t port() const { return port_; }

    // Accepts the member id and welcomes it: true when it was.
    bool Welcome(uint16_t id)
    {
        pollfd p{lfd_, POLLIN, 0};
        if (poll(&p, 1, int(std::chrono::milliseconds(kWait).count())) != 1)
            return false;
        up_ = std::make_unique<Raw>(Accepted{accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC)});
        conv_msg m{};
        Bytes f;
        if (!up_->ok() || conv_session_init(&s_, kKey, true) != 0)
            return false;
        m.type = CONV_HELLO;
        if (!up_->Send(Encode(s_, m)) || !up_->Frame(f) ||
            conv_decode(&s_, f.data(), f.size(), &m) != 0 || m.type != CONV_JOIN ||
            m.u.join.node.node != id)
            return false;
        m = conv_msg{};
        m.type = CONV_WELCOME;
        m.u.welcome.node = id;
        m.u.welcome.leader_instance = 0x1eade4;
        m.u.welcome.heartbeat_ms = 50;
        return up_->Send(Encode(s_, m));
    }
    // The member's next frame, heartbeats included (any: true) or not.
    bool Next(conv_msg *m, bool any = false)
    {
        Bytes f;
        do {
            if (!up_ || !up_->Frame(f) || conv_decode(&s_, f.data(), f.size(), m) != 0)
                return false;
        } while (!any && m->type == CONV_HEARTBEAT);
        return true;
    }
    bool Reply(uint32_t req, uint64_t holder, int32_t rc)
    {
        conv_msg m{};
        m.type = CONV_NAME_REPLY;
        m.u.name_reply.req = req;
        m.u.name_reply.holder = holder;
        m.u.name_reply.rc = rc;
        return up_->Send(Encode(s_, m));
    }
    // The connection closes under the member, as a crashed leader's would.
    void Drop() { up_.reset(); }

  private:
    int lfd_ = -1;
    uint16_t port_ = 0;
    conv_session s_{};
    std::unique_ptr<Raw> up_;
};

// A claim that must be answered: the holder it was told (0, and a failure
// of the test, when it returns an error).
uint64_t Holder(Node &n, const std::string &name, uint64_t addr)
{
    uint64_t h = 0;
    int rc = conv_name_claim(n.c, name.c_str(), addr, 30000, &h);
    EXPECT_EQ(rc, 0) << "node " << n.cfg.node << " claiming '" << name << "': " << ts_last_error();
    return rc == 0 ? h : 0;
}

// A claim made on another thread: its rc and holder, once answered.
std::future<std::pair<int, uint64_t>> ClaimAsync(Node &n, std::string name, uint64_t addr,
                                                 unsigned ms = 30000)
{
    conv *c = n.c;
    return std::async(std::launch::async, [c, name, addr, ms] {
        uint64_t h = 0;
        int rc = conv_name_claim(c, name.c_str(), addr, ms, &h);
        return std::make_pair(rc, h);
    });
}

bool Ready(std::future<std::pair<int, uint64_t>> &f)
{
    return f.wait_for(kWait) == std::future_status::ready;
}

// The NameLost events of n, as "name addr holder".
std::vector<std::string> Lost(const Node &n)
{
    std::vector<std::string> v;
    for (const Ev &e : n.Events())
        if (e.kind == Kind::NameLost)
            v.push_back(e.text + " " + std::to_string(e.addr) + " " + std::to_string(e.holder));
    return v;
}

std::string LostOf(const std::string &name, uint64_t addr, uint64_t holder)
{
    return name + " " + std::to_string(addr) + " " + std::to_string(holder);
}

// Starts a leader at the port a stopped one had (its TIME_WAIT sockets may
// hold it a little while).
int StartAt(Node &n, uint16_t port)
{
    int rc = -EADDRINUSE;
    for (int i = 0; i < 50 && rc == -EADDRINUSE; i++) {
        rc = n.Start(At(port));
        if (rc == -EADDRINUSE)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return rc;
}

// n's table holds ids, the leader's entry being instance inst.
bool RejoinedTo(Node &n, const std::set<uint16_t> &ids, uint64_t inst)
{
    conv_member e;
    return n.Ids() == ids && n.Entry(1, &e) && e.node.instance == inst && e.leader;
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

TEST(ConventionNames, TheFirstClaimIsGrantedAndEveryLaterOneTold)
{
    Trio t;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    // On the leader, from its table at once; on a member, through the leader.
    EXPECT_EQ(Holder(t.lead, "alpha", 0x1001), 0x1001u);
    EXPECT_EQ(Holder(t.m1, "alpha", 0x2001), 0x1001u);
    EXPECT_EQ(Holder(t.m1, "beta", 0x2002), 0x2002u);
    EXPECT_EQ(Holder(t.lead, "beta", 0x1002), 0x2002u);
    EXPECT_EQ(Holder(t.m2, "beta", 0x3002), 0x2002u);
    EXPECT_EQ(Holder(t.m2, "alpha", 0x3001), 0x1001u);
    // The holder again, and another address of the holder's node.
    EXPECT_EQ(Holder(t.m1, "beta", 0x2002), 0x2002u);
    EXPECT_EQ(Holder(t.m1, "beta", 0x2003), 0x2002u);
    // The longest name there is.
    std::string longest(CONV_GNAME_MAX - 1, 'n');
    EXPECT_EQ(Holder(t.m2, longest, 0x3003), 0x3003u);
    EXPECT_EQ(Holder(t.lead, longest, 0x1003), 0x3003u);
    t.m2.Stop();
    t.m1.Stop();
    t.lead.Stop();
    for (Node *n : t.All())
        EXPECT_TRUE(Lost(*n).empty());
}

TEST(ConventionNames, ConcurrentClaimsOfEachNameAgreeOnOneHolder)
{
    // Four threads on each node claim the same 64 names, each in its own
    // order, with addresses of their own; five rounds of new names. Every
    // name has exactly one holder, one of its claimers, and every claimer
    // was told that one.
    Trio t;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    constexpr int kNames = 64, kThreads = 4, kRounds = 5;
    std::vector<Node *> nodes = t.All();
    for (int round = 0; round < kRounds; round++) {
        auto name = [round](int k) { return "r" + std::to_string(round) + "/n" + std::to_string(k); };
        auto addr = [](uint16_t node, int th, int k) {
            return (uint64_t(node) << 48) | (uint64_t(th) << 32) | uint64_t(k + 1);
        };
        struct Claimer {
            uint16_t node;
            int th;
            std::vector<uint64_t> seen = std::vector<uint64_t>(kNames, 0);
            int failed = 0;
        };
        std::vector<Claimer> cl;
        for (Node *n : nodes)
            for (int th = 0; th < kThreads; th++)
                cl.push_back(Claimer{n->cfg.node, th});
        std::mutex mu;
        std::condition_variable go_cv;
        bool go = false;
        std::vector<std::thread> threads;
        for (size_t i = 0; i < cl.size(); i++) {
            conv *c = nodes[i / kThreads]->c;
            threads.emplace_back([&, c, i] {
                Claimer &me = cl[i];
                std::vector<int> order(kNames);
                for (int k = 0; k < kNames; k++)
                    order[k] = k;
                std::shuffle(order.begin(), order.end(), std::mt19937(uint32_t(round * 100 + i)));
                {
                    std::unique_lock<std::mutex> lk(mu);
                    go_cv.wait(lk, [&] { return go; });
                }
                for (int k : order) {
                    uint64_t h = 0;
                    if (conv_name_claim(c, name(k).c_str(), addr(me.node, me.th, k), 30000, &h) != 0)
                        me.failed++;
                    me.seen[k] = h;
                }
            });
        }
        {
            std::lock_guard<std::mutex> lk(mu);
            go = true;
        }
        go_cv.notify_all();
        for (auto &th : threads)
            th.join();
        int grants = 0;
        for (int k = 0; k < kNames; k++) {
            uint64_t h = cl[0].seen[k];
            int mine = 0;
            for (const Claimer &me : cl) {
                EXPECT_EQ(me.seen[k], h) << name(k) << ", node " << me.node << " thread " << me.th;
                mine += me.seen[k] == addr(me.node, me.th, k);
            }
            EXPECT_EQ(mine, 1) << name(k);
            grants += mine;
            // And the leader's table says the same to a newcomer.
            EXPECT_EQ(Holder(t.lead, name(k), 0xfeed), h) << name(k);
        }
        EXPECT_EQ(grants, kNames);
        for (const Claimer &me : cl)
            EXPECT_EQ(me.failed, 0);
    }
}

TEST(ConventionNames, AReleaseFreesTheNameAndOneByANonHolderChangesNothing)
{
    Trio t;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    ASSERT_EQ(Holder(t.m1, "gamma", 0x2001), 0x2001u);
    // Not the holder: refused where it is made, nothing sent.
    EXPECT_EQ(conv_name_release(t.m2.c, "gamma", 0x3001), -ENOENT);
    EXPECT_EQ(conv_name_release(t.m1.c, "gamma", 0x2999), -ENOENT);
    // The leader's own release of a member's name, with the member's address:
    // the leader's node does not hold it.
    EXPECT_EQ(conv_name_release(t.lead.c, "gamma", 0x2001), -ENOENT);
    EXPECT_EQ(Holder(t.m2, "gamma", 0x3001), 0x2001u);

    ASSERT_EQ(conv_name_release(t.m1.c, "gamma", 0x2001), 0) << ts_last_error();
    EXPECT_EQ(conv_name_release(t.m1.c, "gamma", 0x2001), -ENOENT) << "once";
    EXPECT_EQ(Holder(t.m1, "barrier", 0x2002), 0x2002u); // after the release on m1's stream
    EXPECT_EQ(Holder(t.m2, "gamma", 0x3001), 0x3001u);
    EXPECT_EQ(Holder(t.m1, "gamma", 0x2001), 0x3001u);

    // On the leader, at once.
    ASSERT_EQ(Holder(t.lead, "delta", 0x1001), 0x1001u);
    ASSERT_EQ(conv_name_release(t.lead.c, "delta", 0x1001), 0) << ts_last_error();
    EXPECT_EQ(conv_name_release(t.lead.c, "delta", 0x1001), -ENOENT);
    EXPECT_EQ(Holder(t.m2, "delta", 0x3002), 0x3002u);
    EXPECT_EQ(Holder(t.lead, "delta", 0x1001), 0x3002u);
}

TEST(ConventionNames, TheNamesOfAMemberThatLeavesIsLostOrIsReplacedAreFreed)
{
    World w;
    Node lead(w, true, 1, "lead", ""), m1(w, false, 2, "m1", ""), m2(w, false, 3, "m2", "");
    Node m3(w, false, 4, "m3", ""), m3b(w, false, 4, "m3", "");
    lead.cfg.lost_ms = 1000;
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    std::string at = At(conv_port(lead.c));
    for (Node *n : {&m1, &m2, &m3})
        ASSERT_EQ(n->Start(at), 0);
    ASSERT_TRUE(w.Wait([&] { return TablesAre({&lead, &m1, &m2, &m3}, {1, 2, 3, 4}); }));
    ASSERT_EQ(Holder(m1, "of-m1", 0x2001), 0x2001u);
    ASSERT_EQ(Holder(m1, "of-m1-too", 0x2002), 0x2002u);
    ASSERT_EQ(Holder(m2, "of-m2", 0x3001), 0x3001u);
    ASSERT_EQ(Holder(m3, "of-m3", 0x4001), 0x4001u);
    ASSERT_EQ(Holder(lead, "of-lead", 0x1001), 0x1001u);

    // It leaves (LEAVE): the leader's LEFT comes after its names went.
    m1.Stop();
    ASSERT_TRUE(w.Wait([&] { return lead.CountLocked(Kind::Member, CONV_EV_LEFT, 2) == 1; }));
    EXPECT_EQ(Holder(lead, "of-m1", 0x1002), 0x1002u);
    EXPECT_EQ(Holder(m2, "of-m1-too", 0x3002), 0x3002u);

    // It is silent (frozen) until lost.
    conv_freeze(m2.c, true);
    ASSERT_TRUE(w.Wait([&] { return lead.CountLocked(Kind::Member, CONV_EV_LEFT, 3) == 1; }));
    EXPECT_EQ(Holder(m3, "of-m2", 0x4002), 0x4002u);

    // It restarts: the new instance replaces the old, whose names go.
    conv_freeze(m3.c, true);
    ASSERT_EQ(m3b.Start(at), 0);
    ASSERT_TRUE(w.Wait([&] {
        return lead.CountLocked(Kind::Member, CONV_EV_LEFT, 4) == 1 &&
               lead.CountLocked(Kind::Member, CONV_EV_JOINED, 4) == 2 &&
               m3b.CountLocked(Kind::State, CONV_ST_JOINED, 0) == 1;
    }));
    EXPECT_EQ(Holder(m3b, "of-m3", 0x4101), 0x4101u);
    EXPECT_EQ(Holder(m3b, "of-m2", 0x4102), 0x4102u) << "the old m3 had claimed it too";
    // The names of the others stay theirs.
    EXPECT_EQ(Holder(m3b, "of-lead", 0x4103), 0x1001u);
    EXPECT_EQ(Holder(m3b, "of-m1", 0x4104), 0x1002u);
}

TEST(ConventionNames, MembersReclaimTheirNamesFromARestartedLeader)
{
    Trio t;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    uint16_t port = conv_port(t.lead.c);
    ASSERT_EQ(Holder(t.m1, "r1", 0x2001), 0x2001u);
    ASSERT_EQ(Holder(t.m1, "r2", 0x2002), 0x2002u);
    ASSERT_EQ(Holder(t.m2, "r3", 0x3001), 0x3001u);
    ASSERT_EQ(Holder(t.m2, "taken-by-m1", 0x3002), 0x3002u);
    ASSERT_EQ(Holder(t.m1, "taken-by-m1", 0x2003), 0x3002u) << "not m1's: it re-claims nothing";
    ASSERT_EQ(conv_name_release(t.m1.c, "r2", 0x2002), 0); // not re-claimed then
    ASSERT_EQ(Holder(t.lead, "of-the-old-leader", 0x1001), 0x1001u);

    t.lead.Stop();
    ASSERT_TRUE(t.w.Wait([&] {
        return t.m1.StateLocked(CONV_ST_LOST) && t.m2.StateLocked(CONV_ST_LOST);
    }));
    Node lead2(t.w, true, 1, "lead", "");
    ASSERT_EQ(StartAt(lead2, port), 0) << ts_last_error();
    uint64_t inst = conv_instance(lead2.c);
    ASSERT_TRUE(t.w.Wait([&] {
        return RejoinedTo(t.m1, {1, 2, 3}, inst) && RejoinedTo(t.m2, {1, 2, 3}, inst);
    }));
    // A claim goes after the re-claims: once answered, the leader has them.
    EXPECT_EQ(Holder(t.m1, "barrier1", 0x2100), 0x2100u);
    EXPECT_EQ(Holder(t.m2, "barrier2", 0x3100), 0x3100u);
    EXPECT_EQ(Holder(lead2, "r1", 0x1001), 0x2001u);
    EXPECT_EQ(Holder(t.m2, "r1", 0x3003), 0x2001u);
    EXPECT_EQ(Holder(t.m1, "r3", 0x2004), 0x3001u);
    EXPECT_EQ(Holder(lead2, "taken-by-m1", 0x1002), 0x3002u);
    EXPECT_EQ(Holder(lead2, "r2", 0x1003), 0x1003u) << "released before: not re-claimed";
    EXPECT_EQ(Holder(t.m1, "of-the-old-leader", 0x2005), 0x2005u) << "went with it";
    t.m1.Stop();
    t.m2.Stop();
    lead2.Stop();
    for (Node *n : {&t.m1, &t.m2})
        EXPECT_TRUE(Lost(*n).empty());
}

TEST(ConventionNames, ANameClaimedTwiceWhileSplitIsLostOnceByTheLaterMember)
{
    // m1 holds x and y; the leader restarts while m1 is cut off; m2 gets
    // x from the new leader first. Back, m1 re-claims both: x is m2's (lost,
    // told once), y stays m1's. Lost again by the leader later, m1 re-claims
    // y alone, and nothing more is lost.
    Trio t;
    t.m1.cfg.lost_ms = 1000;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    uint16_t port = conv_port(t.lead.c);
    ASSERT_EQ(Holder(t.m1, "x", 0x2001), 0x2001u);
    ASSERT_EQ(Holder(t.m1, "y", 0x2002), 0x2002u);
    conv_freeze(t.m1.c, true);
    t.lead.Stop();
    ASSERT_TRUE(t.w.Wait([&] { return t.m2.StateLocked(CONV_ST_LOST); }));
    Node lead2(t.w, true, 1, "lead", "");
    lead2.cfg.lost_ms = 1000;
    ASSERT_EQ(StartAt(lead2, port), 0) << ts_last_error();
    uint64_t inst = conv_instance(lead2.c);
    ASSERT_TRUE(t.w.Wait([&] { return RejoinedTo(t.m2, {1, 3}, inst); }));
    ASSERT_EQ(Holder(t.m2, "x", 0x3001), 0x3001u) << "the new leader's table starts empty";

    conv_freeze(t.m1.c, false);
    ASSERT_TRUE(t.w.Wait([&] {
        return RejoinedTo(t.m1, {1, 2, 3}, inst) &&
               std::count_if(t.m1.evs.begin(), t.m1.evs.end(),
                             [](const Ev &e) { return e.kind == Kind::NameLost; }) == 1 &&
               t.m1.LoggedLocked("TS-CONV-NAME-LOST", "global name 'x'");
    }));
    EXPECT_EQ(Lost(t.m1), std::vector<std::string>{LostOf("x", 0x2001, 0x3001)});
    EXPECT_EQ(Holder(t.m1, "barrier", 0x2100), 0x2100u);
    EXPECT_EQ(Holder(lead2, "y", 0x1001), 0x2002u);
    EXPECT_EQ(Holder(lead2, "x", 0x1002), 0x3001u);
    EXPECT_EQ(conv_name_release(t.m1.c, "x", 0x2001), -ENOENT) << "dropped from m1's names";

    // Lost by the leader (its names freed), back: y again, x not.
    conv_freeze(t.m1.c, true);
    ASSERT_TRUE(t.w.Wait([&] { return lead2.CountLocked(Kind::Member, CONV_EV_LEFT, 2) == 1; }));
    conv_freeze(t.m1.c, false);
    ASSERT_TRUE(t.w.Wait([&] { return lead2.CountLocked(Kind::Member, CONV_EV_JOINED, 2) == 2; }));
    EXPECT_EQ(Holder(t.m1, "barrier2", 0x2101), 0x2101u);
    EXPECT_EQ(Holder(t.m2, "y", 0x3002), 0x2002u);
    t.m1.Stop();
    t.m2.Stop();
    lead2.Stop();
    EXPECT_EQ(Lost(t.m1), std::vector<std::string>{LostOf("x", 0x2001, 0x3001)});
    EXPECT_TRUE(Lost(t.m2).empty());
}

TEST(ConventionNames, AMemberSendsReclaimsFirstAndTakesOnlyTheRepliesItWaitsFor)
{
    World w;
    RawLeader rl;
    ASSERT_NE(rl.port(), 0);
    Node m1(w, false, 2, "m1", "");
    m1.cfg.lost_ms = 60000; // the raw leader sends no heartbeats
    ASSERT_EQ(m1.Start(At(rl.port())), 0) << ts_last_error();
    ASSERT_TRUE(rl.Welcome(2));
    ASSERT_TRUE(w.Wait([&] { return m1.StateLocked(CONV_ST_JOINED); }));
    conv_msg m{};

    // One claim, answered for another req first (dropped), then with an rc
    // that is no -errno.
    auto f1 = ClaimAsync(m1, "n1", 0x2001);
    ASSERT_TRUE(rl.Next(&m));
    ASSERT_EQ(m.type, CONV_NAME_CLAIM);
    EXPECT_STREQ(m.u.name_claim.name, "n1");
    EXPECT_EQ(m.u.name_claim.addr, 0x2001u);
    ASSERT_TRUE(rl.Reply(m.u.name_claim.req + 1000, 0x2001, 0));
    ASSERT_TRUE(rl.Reply(m.u.name_claim.req, 0x2001, 7));
    ASSERT_TRUE(Ready(f1));
    EXPECT_EQ(f1.get().first, -EPROTO);

    // Refused; someone else's; granted (three of them, one released).
    struct Case {
        const char *name;
        uint64_t addr, holder;
        int rc;
    } cases[] = {{"n2", 0x2002, 0, -EINVAL},   {"n3", 0x2003, 0x9999, 0},
                 {"n4", 0x2004, 0x2004, 0},    {"n5", 0x2005, 0x2005, 0},
                 {"n6", 0x2006, 0x2006, 0},    {"n7", 0x2007, 0, -ENOSPC},
                 {"n9", 0x2009, 0x2009, 0}};
    for (const Case &k : cases) {
        auto f = ClaimAsync(m1, k.name, k.addr);
        ASSERT_TRUE(rl.Next(&m));
        ASSERT_EQ(m.type, CONV_NAME_CLAIM);
        EXPECT_STREQ(m.u.name_claim.name, k.name);
        ASSERT_TRUE(rl.Reply(m.u.name_claim.req, k.holder, k.rc));
        ASSERT_TRUE(Ready(f));
        auto got = f.get();
        EXPECT_EQ(got.first, k.rc) << k.name;
        if (k.rc == 0) {
            EXPECT_EQ(got.second, k.holder) << k.name;
        }
    }
    ASSERT_EQ(conv_name_release(m1.c, "n6", 0x2006), 0);
    ASSERT_TRUE(rl.Next(&m));
    ASSERT_EQ(m.type, CONV_NAME_RELEASE);
    EXPECT_STREQ(m.u.name_release.name, "n6");
    EXPECT_EQ(m.u.name_release.addr, 0x2006u);
    EXPECT_EQ(conv_name_release(m1.c, "n3", 0x2003), -ENOENT) << "never m1's";

    // A claim given up after it went: granted late, it is given back; told
    // another holder, nothing follows. Another given up, then the link lost.
    auto late = ClaimAsync(m1, "late", 0x2008, 100);
    ASSERT_TRUE(rl.Next(&m));
    ASSERT_EQ(m.type, CONV_NAME_CLAIM);
    ASSERT_TRUE(Ready(late));
    EXPECT_EQ(late.get().first, -ETIMEDOUT);
    ASSERT_TRUE(rl.Reply(m.u.name_claim.req, 0x2008, 0));
    ASSERT_TRUE(rl.Next(&m));
    ASSERT_EQ(m.type, CONV_NAME_RELEASE);
    EXPECT_STREQ(m.u.name_release.name, "late");
    EXPECT_EQ(m.u.name_release.addr, 0x2008u);
    auto late2 = ClaimAsync(m1, "late2", 0x2009, 100);
    ASSERT_TRUE(rl.Next(&m));
    ASSERT_TRUE(Ready(late2));
    EXPECT_EQ(late2.get().first, -ETIMEDOUT);
    ASSERT_TRUE(rl.Reply(m.u.name_claim.req, 0x9998, 0));
    auto late3 = ClaimAsync(m1, "late3", 0x200a, 100);
    ASSERT_TRUE(rl.Next(&m));
    ASSERT_EQ(m.type, CONV_NAME_CLAIM);
    EXPECT_STREQ(m.u.name_claim.name, "late3") << "no release of late2";
    ASSERT_TRUE(Ready(late3));
    EXPECT_EQ(late3.get().first, -ETIMEDOUT);

    // The leader goes. A claim made meanwhile waits for the rejoin, and
    // goes after the re-claims of n4, n5 and n9, which go before anything
    // else; late3, given up without an answer, is given back after them.
    rl.Drop();
    ASSERT_TRUE(w.Wait([&] { return m1.StateLocked(CONV_ST_LOST); }));
    auto waiting = ClaimAsync(m1, "n8", 0x200b);
    ASSERT_TRUE(rl.Welcome(2));
    std::vector<std::pair<std::string, uint64_t>> reclaims;
    std::vector<uint32_t> reqs;
    for (int i = 0; i < 3; i++) {
        ASSERT_TRUE(rl.Next(&m, true));
        ASSERT_EQ(m.type, CONV_NAME_CLAIM) << "frame " << i << " after WELCOME";
        reclaims.emplace_back(m.u.name_claim.name, m.u.name_claim.addr);
        reqs.push_back(m.u.name_claim.req);
    }
    EXPECT_EQ(reclaims, (std::vector<std::pair<std::string, uint64_t>>{
                            {"n4", 0x2004}, {"n5", 0x2005}, {"n9", 0x2009}}));
    ASSERT_TRUE(rl.Next(&m));
    ASSERT_EQ(m.type, CONV_NAME_RELEASE);
    EXPECT_STREQ(m.u.name_release.name, "late3");
    ASSERT_TRUE(rl.Next(&m));
    ASSERT_EQ(m.type, CONV_NAME_CLAIM);
    EXPECT_STREQ(m.u.name_claim.name, "n8");
    // n5 is someone else's at this leader, n9 refused (its table full);
    // n8 is granted.
    ASSERT_TRUE(rl.Reply(reqs[0], 0x2004, 0));
    ASSERT_TRUE(rl.Reply(reqs[1], 0x7777, 0));
    ASSERT_TRUE(rl.Reply(reqs[2], 0, -ENOSPC));
    ASSERT_TRUE(rl.Reply(m.u.name_claim.req, 0x200b, 0));
    ASSERT_TRUE(Ready(waiting));
    EXPECT_EQ(waiting.get(), std::make_pair(0, uint64_t(0x200b)));
    ASSERT_TRUE(w.Wait([&] {
        return m1.LoggedLocked("TS-CONV-NAME-LOST", "global name 'n5' is 0x7777's") &&
               std::count_if(m1.evs.begin(), m1.evs.end(),
                             [](const Ev &e) { return e.kind == Kind::NameLost; }) == 2;
    }));
    EXPECT_EQ(conv_name_release(m1.c, "n5", 0x2005), -ENOENT);
    EXPECT_EQ(conv_name_release(m1.c, "n9", 0x2009), -ENOENT);
    ASSERT_EQ(conv_name_release(m1.c, "n4", 0x2004), 0);
    ASSERT_TRUE(rl.Next(&m));
    ASSERT_EQ(m.type, CONV_NAME_RELEASE);
    EXPECT_STREQ(m.u.name_release.name, "n4");

    // conv_stop wakes a claim that waits for its reply: well before the
    // claim's own deadline, twice the test's (conv_stop waits for it).
    auto stopped = ClaimAsync(m1, "never-answered", 0x200c, 2 * unsigned(kWait.count()) * 1000);
    ASSERT_TRUE(rl.Next(&m));
    ASSERT_EQ(m.type, CONV_NAME_CLAIM);
    std::thread stopper([&] { m1.Stop(); });
    bool woken = Ready(stopped);
    stopper.join();
    ASSERT_TRUE(woken) << "not woken by conv_stop";
    EXPECT_EQ(stopped.get().first, -ENOTCONN);
    EXPECT_EQ(Lost(m1), (std::vector<std::string>{LostOf("n5", 0x2005, 0x7777),
                                                  LostOf("n9", 0x2009, 0)}));
}

// The tests' addresses say their node in their top nibbles: 0x3001 is node 3's.
uint16_t NodeOfAddr(uint64_t addr) { return uint16_t(addr >> 12); }

TEST(ConventionNames, ANameIsKeptForTheNodeOfItsAddress)
{
    Trio t;
    for (Node *n : t.All())
        n->cfg.addr_node = NodeOfAddr;
    ASSERT_NO_FATAL_FAILURE(t.Up());
    uint16_t port = conv_port(t.lead.c);
    // m1 (node 2) places actors on m2 (node 3) and claims their names: not
    // remembered by m1, which holds nothing; m2 takes "placed" up.
    ASSERT_EQ(Holder(t.m1, "placed", 0x3001), 0x3001u);
    ASSERT_EQ(Holder(t.m1, "never-taken-up", 0x3002), 0x3002u);
    ASSERT_EQ(Holder(t.m1, "orphan", 0x3003), 0x3003u);
    EXPECT_EQ(conv_names_count(t.m1.c), 0u);
    ASSERT_EQ(conv_name_adopt(t.m2.c, "placed", 0x3001), 0) << ts_last_error();
    EXPECT_EQ(conv_name_adopt(t.m2.c, "placed", 0x3011), -EEXIST);
    // One it takes up too late: the name is another's by then.
    ASSERT_EQ(Holder(t.lead, "stolen", 0x1009), 0x1009u);
    ASSERT_EQ(conv_name_adopt(t.m2.c, "stolen", 0x3009), 0) << "it does not wait";
    ASSERT_EQ(Holder(t.m2, "barrier-m2", 0x3005), 0x3005u) << "after the adoptions";
    ASSERT_TRUE(t.w.Wait([&] {
        return std::count_if(t.m2.evs.begin(), t.m2.evs.end(), [](const Ev &e) {
                   return e.kind == Kind::NameLost && e.text == "stolen" && e.addr == 0x3009 &&
                          e.holder == 0x1009;
               }) == 1;
    }));
    EXPECT_EQ(conv_names_count(t.m2.c), 2u) << "placed, barrier-m2";
    ASSERT_EQ(conv_name_release(t.lead.c, "stolen", 0x1009), 0);
    EXPECT_EQ(conv_names_count(t.lead.c), 4u) << "placed, never-taken-up, orphan, barrier-m2";
    // m1 gives up one it never started (held by nobody here, still sent).
    ASSERT_EQ(conv_name_release(t.m1.c, "orphan", 0x3003), 0);
    ASSERT_EQ(Holder(t.m1, "barrier", 0x2001), 0x2001u);
    EXPECT_EQ(conv_names_count(t.lead.c), 4u) << "placed, never-taken-up, barrier-m2, barrier";
    EXPECT_EQ(Holder(t.lead, "orphan", 0x1001), 0x1001u);

    // A restarted leader learns back what each node keeps: "placed" from
    // m2, "barrier" from m1; "never-taken-up" was nobody's to re-claim.
    t.lead.Stop();
    ASSERT_TRUE(t.w.Wait([&] {
        return t.m1.StateLocked(CONV_ST_LOST) && t.m2.StateLocked(CONV_ST_LOST);
    }));
    Node lead2(t.w, true, 1, "lead", "");
    lead2.cfg.addr_node = NodeOfAddr;
    ASSERT_EQ(StartAt(lead2, port), 0) << ts_last_error();
    uint64_t inst = conv_instance(lead2.c);
    ASSERT_TRUE(t.w.Wait([&] {
        return RejoinedTo(t.m1, {1, 2, 3}, inst) && RejoinedTo(t.m2, {1, 2, 3}, inst);
    }));
    EXPECT_EQ(Holder(t.m1, "barrier1", 0x2002), 0x2002u);
    EXPECT_EQ(Holder(t.m2, "barrier2", 0x3004), 0x3004u);
    EXPECT_EQ(Holder(lead2, "placed", 0x1002), 0x3001u);
    EXPECT_EQ(Holder(lead2, "barrier", 0x1003), 0x2001u);
    EXPECT_EQ(Holder(lead2, "barrier-m2", 0x1008), 0x3005u);
    EXPECT_EQ(Holder(lead2, "never-taken-up", 0x1004), 0x1004u);

    // m1 (the claimer) leaves: "placed" stays m2's. m2 leaves: it goes.
    t.m1.Stop();
    ASSERT_TRUE(t.w.Wait([&] { return lead2.CountLocked(Kind::Member, CONV_EV_LEFT, 2) == 1; }));
    EXPECT_EQ(Holder(lead2, "placed", 0x1005), 0x3001u);
    EXPECT_EQ(Holder(lead2, "barrier1", 0x1006), 0x1006u) << "m1's own went with it";
    t.m2.Stop();
    ASSERT_TRUE(t.w.Wait([&] { return lead2.CountLocked(Kind::Member, CONV_EV_LEFT, 3) == 1; }));
    EXPECT_EQ(Holder(lead2, "placed", 0x1007), 0x1007u);
    lead2.Stop();
}

TEST(ConventionNames, AClaimWithNoLeaderTimesOut)
{
    World w;
    int gone = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    ASSERT_EQ(bind(gone, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
    ASSERT_EQ(getsockname(gone, reinterpret_cast<sockaddr *>(&a), &al), 0);
    close(gone); // nobody listens there
    Node m1(w, false, 2, "m1", "");
    ASSERT_EQ(m1.Start(At(ntohs(a.sin_port))), 0) << ts_last_error();
    uint64_t h = 0;
    EXPECT_EQ(conv_name_claim(m1.c, "nobody-answers", 0x2001, 100, &h), -ETIMEDOUT);
    EXPECT_NE(std::string(ts_last_error()).find("no answer from the leader"), std::string::npos)
        << ts_last_error();
    EXPECT_EQ(conv_name_claim(m1.c, "nobody-answers", 0x2001, 0, &h), -ETIMEDOUT);
    EXPECT_EQ(conv_name_release(m1.c, "nobody-answers", 0x2001), -ENOENT);
}

TEST(ConventionNames, BadNamesAndAFullTableAreRefused)
{
    World w;
    Node lead(w, true, 1, "lead", ""), m1(w, false, 2, "m1", "");
    lead.cfg.lost_ms = 60000; // the raw member sends no heartbeats
    ASSERT_EQ(lead.Start("127.0.0.1:0"), 0) << ts_last_error();
    lead.claim_in_callback = lead.c;
    ASSERT_EQ(m1.Start(At(conv_port(lead.c))), 0);
    ASSERT_TRUE(w.Wait([&] { return TablesAre({&lead, &m1}, {1, 2}); }));
    EXPECT_EQ(lead.callback_claim_rc.load(), -EDEADLK);
    lead.claim_in_callback = nullptr;

    uint64_t h = 0;
    std::string too_long(CONV_GNAME_MAX, 'n');
    for (Node *n : {&lead, &m1}) {
        EXPECT_EQ(conv_name_claim(n->c, "", 1, 1000, &h), -EINVAL);
        EXPECT_EQ(conv_name_claim(n->c, too_long.c_str(), 1, 1000, &h), -EINVAL);
        EXPECT_EQ(conv_name_claim(n->c, nullptr, 1, 1000, &h), -EINVAL);
        EXPECT_EQ(conv_name_claim(n->c, "x", 1, 1000, nullptr), -EINVAL);
        EXPECT_EQ(conv_name_release(n->c, "", 1), -EINVAL);
        EXPECT_EQ(conv_name_release(n->c, too_long.c_str(), 1), -EINVAL);
    }
    EXPECT_EQ(conv_name_claim(nullptr, "x", 1, 1000, &h), -EINVAL);
    EXPECT_EQ(conv_name_release(nullptr, "x", 1), -EINVAL);

    // A raw member: an empty name on the wire is refused in the reply, a
    // release by another address than the holder's changes nothing.
    Raw raw(conv_port(lead.c));
    ASSERT_TRUE(raw.ok());
    conv_session s;
    Bytes join, f;
    ASSERT_TRUE(RawJoin(raw, 7, "raw", &join, &s));
    auto rawclaim = [&](const char *name, uint64_t addr, uint32_t req, conv_msg *reply) {
        conv_msg m{};
        m.type = CONV_NAME_CLAIM;
        m.u.name_claim.req = req;
        m.u.name_claim.addr = addr;
        snprintf(m.u.name_claim.name, sizeof(m.u.name_claim.name), "%s", name);
        if (!raw.Send(Encode(s, m)))
            return false;
        do { // the list after WELCOME, MEMBER and HEARTBEAT frames
            if (!raw.Frame(f) || conv_decode(&s, f.data(), f.size(), reply) != 0)
                return false;
        } while (reply->type != CONV_NAME_REPLY);
        return reply->u.name_reply.req == req;
    };
    auto rawrelease = [&](const char *name, uint64_t addr) {
        conv_msg m{};
        m.type = CONV_NAME_RELEASE;
        m.u.name_release.addr = addr;
        snprintf(m.u.name_release.name, sizeof(m.u.name_release.name), "%s", name);
        return raw.Send(Encode(s, m));
    };
    conv_msg r{};
    ASSERT_TRUE(rawclaim("", 0x7001, 1, &r));
    EXPECT_EQ(r.u.name_reply.rc, -EINVAL);
    ASSERT_TRUE(rawclaim("raw-name", 0x7001, 2, &r));
    EXPECT_EQ(r.u.name_reply.rc, 0);
    EXPECT_EQ(r.u.name_reply.holder, 0x7001u);
    ASSERT_TRUE(rawrelease("raw-name", 0x7002));
    ASSERT_TRUE(rawrelease("not-held", 0x7001));
    ASSERT_TRUE(rawclaim("raw-barrier", 0x7003, 3, &r)); // after the releases
    EXPECT_EQ(Holder(lead, "raw-name", 0x1001), 0x7001u);
    ASSERT_TRUE(rawrelease("raw-name", 0x7001));
    ASSERT_TRUE(rawclaim("raw-barrier", 0x7003, 4, &r));
    EXPECT_EQ(Holder(m1, "raw-name", 0x2001), 0x2001u);

    // The table full: -ENOSPC on the leader and to a member, until one goes.
    // Two names are held: raw-barrier and raw-name (the callback's claim failed).
    unsigned held = 2;
    for (unsigned i = held; i < CONV_NAMES_MAX; i++)
        ASSERT_EQ(Holder(lead, "fill/" + std::to_string(i), 0x1000 + i), 0x1000 + i);
    EXPECT_EQ(conv_name_claim(lead.c, "one-too-many", 0x1, 1000, &h), -ENOSPC);
    EXPECT_EQ(conv_name_claim(m1.c, "one-too-many", 0x2, 30000, &h), -ENOSPC);
    ASSERT_TRUE(rawclaim("one-too-many", 0x7004, 5, &r));
    EXPECT_EQ(r.u.name_reply.rc, -ENOSPC);
    EXPECT_EQ(Holder(lead, "raw-name", 0x1001), 0x2001u) << "a held name is still told";
    ASSERT_EQ(conv_name_release(lead.c, "fill/3", 0x1003), 0);
    EXPECT_EQ(Holder(m1, "one-too-many", 0x2), 0x2u);
}

} // namespace
