// SPDX-License-Identifier: MIT
// ts_test.cc — the scenario fixture and its helpers.
#include "ts_test.h"

#include "netfault.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <thread>

#include <cctype>
#include <sstream>

namespace tst {

uint64_t Scaled(uint64_t n)
{
    const char *s = std::getenv("THESPIS_STRESS_SCALE");
    long div = s ? std::strtol(s, nullptr, 10) : 1;
    n /= TS_TEST_SANITIZED ? 5 : 1;
    n /= div >= 1 ? (uint64_t)div : 1;
    return n ? n : 1;
}

int TellAgain(ts_system *sys, ts_addr to, uint64_t type, const void *p, size_t len)
{
    int rc;
    while ((rc = ts_tell(sys, to, type, p, len)) == -EAGAIN)
        ;
    return rc;
}

Msg AskAgain(ts_system *sys, ts_addr to, uint64_t type, const void *p, size_t len,
             uint64_t timeout)
{
    ts_msg *r = nullptr;
    int rc;
    while ((rc = ts_ask(sys, to, type, p, len, timeout, &r)) == -EAGAIN)
        ;
    EXPECT_EQ(rc, 0) << ts_last_error();
    return Msg(r);
}

void *SharedAlloc(size_t size, size_t align)
{
    static constexpr size_t kArena = 1 << 20;
    static std::mutex mu;
    static unsigned char *arena;
    static size_t used;
    std::lock_guard<std::mutex> lock(mu);
    if (!arena) {
        void *p = mmap(nullptr, kArena, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            std::abort(); // the test's own setup: nothing to run without it
        arena = static_cast<unsigned char *>(p);
    }
    used = (used + align - 1) / align * align;
    if (used + size > kArena)
        std::abort();
    void *at = arena + used;
    used += size;
    return at;
}

struct SharedLog::Data {
    std::atomic<uint32_t> n;
    std::atomic_flag lock;
    char items[256][64];
};

SharedLog::SharedLog() : d_(&Shared<Data>()) {}

void SharedLog::Add(const std::string &s)
{
    while (d_->lock.test_and_set(std::memory_order_acquire))
        ;
    uint32_t i = d_->n.load(std::memory_order_relaxed);
    if (i < 256) {
        std::snprintf(d_->items[i], sizeof(d_->items[i]), "%s", s.c_str());
        d_->n.store(i + 1, std::memory_order_relaxed);
    }
    d_->lock.clear(std::memory_order_release);
}

std::vector<std::string> SharedLog::Copy() const
{
    while (d_->lock.test_and_set(std::memory_order_acquire))
        ;
    std::vector<std::string> out;
    for (uint32_t i = 0; i < d_->n.load(std::memory_order_relaxed); i++)
        out.emplace_back(d_->items[i]);
    d_->lock.clear(std::memory_order_release);
    return out;
}

void SharedLog::Clear()
{
    while (d_->lock.test_and_set(std::memory_order_acquire))
        ;
    d_->n.store(0, std::memory_order_relaxed);
    d_->lock.clear(std::memory_order_release);
}


const char *BaseLabel(ts_base base)
{
    switch (base) {
    case TS_BASE_SIMPLE: return "simple";
    case TS_BASE_PINNED: return "pinned";
    case TS_BASE_MULTIPROC: return "multiproc";
    }
    if (base == kTwoNodes)
        return "two_nodes";
    return "unknown";
}

std::string Text(const ts_msg *m)
{
    if (!m)
        return "<null>";
    return std::string(static_cast<const char *>(ts_msg_data(m)), m->len);
}

std::string AddrStr(ts_addr a)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ts_addr_node(a), ts_addr_shard(a),
                  ts_addr_slot(a), ts_addr_gen(a));
    return buf;
}

static std::string Lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool ContainsAnyCI(const std::string &haystack, const std::vector<std::string> &needles)
{
    std::string h = Lower(haystack);
    for (const auto &n : needles)
        if (h.find(Lower(n)) != std::string::npos)
            return true;
    return false;
}

void FillPoisonReport(const ts_msg *poison, PoisonReport *r)
{
    std::memset(r, 0, sizeof *r);
    r->poison_src = poison->src;
    ts_poison p{};
    r->decode_rc = ts_poison_decode(poison, &p);
    if (r->decode_rc != 0)
        return;
    r->original_dst = p.original_dst;
    r->original_type = p.original_type;
    r->reason = p.reason;
    r->original_len = static_cast<uint32_t>(p.original_len);
    r->text_len = static_cast<uint32_t>(p.reason_text_len);
    std::memcpy(r->original, p.original, std::min(p.original_len, sizeof r->original));
    std::memcpy(r->text, p.reason_text, std::min(p.reason_text_len, sizeof r->text - 1));
}

// ------------------------------------------------------------------------
// Fixture
// ------------------------------------------------------------------------

void SystemTest::Sink(void *user, const ts_log_record *rec)
{
    auto *self = static_cast<SystemTest *>(user);
    LogRec r{rec->level, rec->id ? rec->id : "", rec->actor,
             rec->actor_type ? rec->actor_type : "", rec->text ? rec->text : ""};
    std::lock_guard<std::mutex> lock(self->mu_);
    self->logs_.push_back(std::move(r));
}

ts_config SystemTest::Config(ts_log_level level)
{
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TwoNodes() ? TS_BASE_PINNED : GetParam();
    // Multi-shard bases use two shards (or one on a one-core machine) and
    // must not assume they get the cores to themselves.
    cfg.shards = std::min(2u, (unsigned)std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    cfg.log.level = level;
    cfg.log.sink = TS_LOG_SINK_CALLBACK;
    cfg.log.fn = &SystemTest::Sink;
    cfg.log.user = this;
    return cfg;
}

void SystemTest::SetUp()
{
    ASSERT_EQ(RegisterCommonActors(), 0) << ts_last_error();
    std::string why;
    if (TwoNodes() && !NetnsAvailable(&why))
        GTEST_SKIP() << "two nodes on two hosts need network namespaces: " << why;
    Reopen(Config());
}

void SystemTest::CloseSystem()
{
    for (ts_system **s : {&sys_, &peer_}) {
        if (!*s)
            continue;
        // Calling shutdown a second time (after a test shut down) is fine.
        EXPECT_EQ(ts_system_shutdown(*s), 0) << ts_last_error();
        ts_system_close(*s);
        *s = nullptr;
    }
}

// kTwoNodes' hosts: node 1 runs in namespace a at 192.0.2.1, node 2 in b at
// 192.0.2.2, joined by a veth pair. Made once per test (a reopen keeps them),
// deleted after its systems closed, a failed test included.
struct TwoHosts {
    Netns a, b;
    VethPair wire{a, b, "192.0.2.1", "192.0.2.2"};
    unsigned port = 7000; // each host has a port space of its own

    std::string Error() const
    {
        return !a.ok() ? a.error() : !b.ok() ? b.error() : wire.error();
    }
};

SystemTest::SystemTest() = default;
SystemTest::~SystemTest() = default;

// kTwoNodes: node 2 then node 1, each opened inside its host's namespace
// (its shards' threads and sockets live there); both spread what they
// create over the two.
static int OpenTwoNodes(TwoHosts &h, const ts_config &cfg, ts_system **a, ts_system **b)
{
    int rc = -EADDRINUSE;
    // A reopen in the same test takes the next port: the last node's
    // connections may linger on the old one.
    for (int attempt = 0; attempt < 20 && rc == -EADDRINUSE; attempt++) {
        std::string port = std::to_string(h.port++);
        std::string la = "tcp://192.0.2.1:" + port, lb = "tcp://192.0.2.2:" + port;
        std::string pra = "2=" + lb, prb = "1=" + la;
        ts_config ca = cfg, cb = cfg;
        ca.node_id = 1;
        ca.listen = la.c_str();
        ca.peers = pra.c_str();
        ca.placement = TS_PLACE_SPREAD;
        cb.node_id = 2;
        cb.listen = lb.c_str();
        cb.peers = prb.c_str();
        cb.placement = TS_PLACE_SPREAD;
        {
            InNetns in(h.b);
            if (!in.ok()) {
                ADD_FAILURE() << in.error();
                return -EIO;
            }
            if ((rc = ts_system_open(&cb, b)) != 0)
                continue;
        }
        InNetns in(h.a);
        if (!in.ok()) {
            ADD_FAILURE() << in.error();
            rc = -EIO;
        } else {
            rc = ts_system_open(&ca, a);
        }
        if (rc != 0) {
            ts_system_close(*b);
            *b = nullptr;
        }
    }
    // Spread passes over a node that has leased the creating shard no slot
    // yet (a shard asks when it first spreads). Outside creations go through
    // shard 0: one creation there on the other node waits for its lease;
    // that actor then exits, so the test starts with none.
    for (auto [from, to, node] : {std::tuple{*a, *b, 2}, std::tuple{*b, *a, 1}}) {
        ts_create_opts o{};
        o.placement = TS_PLACE_NODE;
        o.node = (uint16_t)node;
        ts_addr x;
        if (rc == 0 && (rc = ts_system_create(from, kEcho, &o, &x)) == 0)
            rc = ts_tell(from, x, TS_MSG_EXIT_REQUEST, nullptr, 0);
    }
    // Both gone before the test counts anything: each node runs until idle
    // (a node is busy while a peer has not acknowledged what it sent).
    for (int round = 0; rc == 0; round++) {
        ts_system_stats sa{}, sb{};
        if ((rc = ts_run(*a, kWait)) == 0 && (rc = ts_run(*b, kWait)) == 0) {
            ts_system_stats_get(*a, &sa);
            ts_system_stats_get(*b, &sb);
            if (sa.actors_live + sb.actors_live == 0 && sa.actors_exited + sb.actors_exited == 2)
                break;
        }
        if (round == 10000)
            rc = -ETIMEDOUT;
    }
    return rc;
}

void SystemTest::TearDown() { CloseSystem(); }

void SystemTest::Reopen(const ts_config &cfg)
{
    CloseSystem();
    {
        std::lock_guard<std::mutex> lock(mu_);
        logs_.clear();
    }
    if (TwoNodes() && !hosts_) {
        hosts_ = std::make_unique<TwoHosts>();
        ASSERT_TRUE(hosts_->a.ok() && hosts_->b.ok() && hosts_->wire.ok()) << hosts_->Error();
    }
    ts_system *s = nullptr;
    int rc = TwoNodes() ? OpenTwoNodes(*hosts_, cfg, &s, &peer_) : ts_system_open(&cfg, &s);
    if (rc == -EOPNOTSUPP)
        GTEST_SKIP() << "base " << BaseLabel(cfg.base) << " not available in this build";
    ASSERT_EQ(rc, 0) << ts_last_error();
    ASSERT_NE(s, nullptr);
    sys_ = s;
}

ts_addr SystemTest::Create(const char *type, const void *arg, size_t len,
                           const char *global_name)
{
    ts_create_opts o{arg, len, global_name, TS_PLACE_DEFAULT, 0, 0, nullptr, nullptr};
    ts_addr a = TS_ADDR_NONE;
    int rc = ts_system_create(sys_, type, &o, &a);
    EXPECT_EQ(rc, 0) << "ts_system_create(" << type << "): " << ts_last_error();
    if (rc != 0)
        return TS_ADDR_NONE;
    EXPECT_NE(a, TS_ADDR_NONE);
    return a;
}

Msg SystemTest::Ask(ts_addr dst, uint64_t type, const void *p, size_t len, uint64_t timeout)
{
    ts_msg *r = nullptr;
    int rc = ts_ask(sys_, dst, type, p, len, timeout, &r);
    EXPECT_EQ(rc, 0) << "ts_ask to " << AddrStr(dst) << ": " << ts_last_error();
    if (rc != 0)
        return Msg();
    EXPECT_NE(r, nullptr);
    return Msg(r);
}

Msg SystemTest::Listen(uint64_t timeout)
{
    ts_msg *r = nullptr;
    int rc = ts_listen(sys_, timeout, &r);
    EXPECT_EQ(rc, 0) << "ts_listen: " << ts_last_error();
    if (rc != 0)
        return Msg();
    EXPECT_NE(r, nullptr);
    return Msg(r);
}

void SystemTest::Tell(ts_addr dst, uint64_t type, const void *p, size_t len)
{
    int rc = ts_tell(sys_, dst, type, p, len);
    EXPECT_EQ(rc, 0) << "ts_tell to " << AddrStr(dst) << ": " << ts_last_error();
}

void SystemTest::Drain()
{
    int rc = ts_run(sys_, kWait);
    EXPECT_EQ(rc, 0) << "ts_run: " << ts_last_error();
    // Two nodes: a node is idle only once its peers acknowledged all it
    // sent, so both idle with nothing handled in between is the end.
    for (uint64_t was = UINT64_MAX; peer_ && rc == 0;) {
        rc = ts_run(peer_, kWait);
        if (rc == 0)
            rc = ts_run(sys_, kWait);
        EXPECT_EQ(rc, 0) << "ts_run: " << ts_last_error();
        ts_system_stats st = Stats();
        if (st.delivered + st.dead_letters == was)
            break;
        was = st.delivered + st.dead_letters;
    }
}

ts_system_stats SystemTest::Stats()
{
    ts_system_stats st{};
    EXPECT_EQ(ts_system_stats_get(sys_, &st), 0) << ts_last_error();
    ts_system_stats p{};
    if (peer_ && ts_system_stats_get(peer_, &p) == 0) { // two nodes: the sum of both
        st.delivered += p.delivered;
        st.actors_created += p.actors_created;
        st.actors_exited += p.actors_exited;
        st.actors_live += p.actors_live;
        st.restarts += p.restarts;
        st.poisoned += p.poisoned;
        st.dead_letters += p.dead_letters;
        st.dead_letters_dropped += p.dead_letters_dropped;
        st.timers_pending += p.timers_pending;
        st.overflow_hwm = std::max(st.overflow_hwm, p.overflow_hwm);
        st.log_dropped += p.log_dropped;
        st.peer_leases += p.peer_leases;
    }
    return st;
}

ts_addr SystemTest::Spawn(ts_addr parent, const char *type, const void *arg, size_t len,
                          const char *global_name, uint32_t nprobe)
{
    SpawnReq req{};
    std::snprintf(req.type, sizeof req.type, "%s", type);
    if (global_name)
        std::snprintf(req.global_name, sizeof req.global_name, "%s", global_name);
    req.nprobe = nprobe;
    EXPECT_LE(len, sizeof req.arg);
    req.arg_len = static_cast<uint32_t>(std::min(len, sizeof req.arg));
    if (arg)
        std::memcpy(req.arg, arg, req.arg_len);
    Msg r = Ask(parent, kSpawn(), &req, sizeof req);
    if (!r)
        return TS_ADDR_NONE;
    SpawnReply rep{};
    EXPECT_EQ(r->type, kSpawned()) << "got " << Text(r);
    if (r->type != kSpawned() || !As(r.get(), &rep))
        return TS_ADDR_NONE;
    EXPECT_EQ(rep.rc, 0) << "ts_create inside the parent failed";
    return rep.rc == 0 ? rep.child : TS_ADDR_NONE;
}

bool SystemTest::NextChildGone(ChildGone *out)
{
    Msg m = Listen();
    if (!m)
        return false;
    EXPECT_EQ(m->type, kChildGone()) << "expected ChildGone, got type " << m->type;
    if (m->type != kChildGone() || !As(m.get(), out))
        return false;
    EXPECT_EQ(out->decode_rc, 0) << "ts_child_exited_decode failed in the parent";
    return true;
}

std::vector<int> AllowedCpus()
{
    cpu_set_t s;
    CPU_ZERO(&s);
    std::vector<int> v;
    if (sched_getaffinity(0, sizeof s, &s) != 0)
        return v;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &s))
            v.push_back(c);
    return v;
}

std::vector<LogRec> SystemTest::Logs()
{
    for (ts_system *s : {sys_, peer_})
        if (s)
            ts_log_flush(s); // shards hand records to a logger thread
    std::lock_guard<std::mutex> lock(mu_);
    return logs_;
}

size_t SystemTest::CountLog(const char *id)
{
    for (ts_system *s : {sys_, peer_})
        if (s)
            ts_log_flush(s); // shards hand records to a logger thread
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<size_t>(std::count_if(logs_.begin(), logs_.end(),
                                              [&](const LogRec &r) { return r.id == id; }));
}

std::string SystemTest::LogDump()
{
    std::ostringstream os;
    for (const auto &r : Logs())
        os << "  [" << ts_log_level_name(r.level) << " " << (r.id.empty() ? "-" : r.id) << " "
           << AddrStr(r.actor) << " " << r.actor_type << "] " << r.text << "\n";
    return os.str();
}

} // namespace tst
