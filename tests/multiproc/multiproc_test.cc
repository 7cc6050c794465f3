// SPDX-License-Identifier: MIT
//
// multiproc_test.cc — what only the multiproc base has: shard processes that
// the admin restarts after a crash (their actors re-created at the same
// addresses, the message in flight redelivered once, then poisoned), named
// nodes that outlive the program that started them, stale nodes cleaned up
// at the next start, and node status.
//
// Handlers run in shard processes forked from this one: they report through
// tst::Shared memory (mapped before any node forks) or through messages.
// Every test uses a node name of its own and leaves no /dev/shm segment and
// no process behind (the fixture stops the node and waits for its processes).
// Nothing sleeps and hopes: waits are ts_ask/ts_listen timeouts or polls of
// a condition with a deadline.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "ts_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define MP_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MP_TEST_SANITIZED 1
#endif
#endif
#ifndef MP_TEST_SANITIZED
#define MP_TEST_SANITIZED 0
#endif

using tst::Msg;

namespace {

constexpr uint64_t kSec = UINT64_C(1000) * 1000 * 1000;
using Clock = std::chrono::steady_clock;

unsigned Scale()
{
    const char *s = std::getenv("THESPIS_STRESS_SCALE");
    long v = s ? std::strtol(s, nullptr, 10) : 1;
    return v >= 1 ? static_cast<unsigned>(v) : 1u;
}

TS_TYPE_ID(kSeq, "test.mp.Seq")
TS_TYPE_ID(kCount, "test.mp.Count")
TS_TYPE_ID(kCounted, "test.mp.Counted")
TS_TYPE_ID(kCrash, "test.mp.Crash")
TS_TYPE_ID(kPing, "test.mp.Ping")
TS_TYPE_ID(kPong, "test.mp.Pong")
TS_TYPE_ID(kLastWords, "test.mp.LastWords")
TS_TYPE_ID(kAdd, "test.mp.Add")
TS_TYPE_ID(kGet, "test.mp.Get")
TS_TYPE_ID(kValue, "test.mp.Value")

// ---- what the collector sees, in memory shared with the shards ---------

constexpr uint64_t kMaxSeq = UINT64_C(1) << 20; // bitmap capacity

struct CollectorObs {
    std::atomic<uint64_t> handled;        // messages handled
    std::atomic<uint64_t> distinct;       // numbers seen at least once
    std::atomic<uint64_t> highest_plus1;  // highest seen + 1 (0: none yet)
    std::atomic<uint64_t> last_plus1;     // last seen + 1
    std::atomic<uint64_t> out_of_order;   // a new number below the highest
    std::atomic<uint64_t> dups;           // a number seen before
    std::atomic<uint64_t> far_dups;       // ... that did not repeat the last one
    std::atomic<uint64_t> too_big;        // outside the bitmap
    std::atomic<uint64_t> first_bad;      // first out-of-order or far duplicate + 1
    std::atomic<uint64_t> bits[kMaxSeq / 64];
};
CollectorObs &g_obs = tst::Shared<CollectorObs>();
std::atomic<uint32_t> &g_slow_ns = tst::Shared<std::atomic<uint32_t>>(); // collector's work per number

void ResetObs()
{
    g_obs.handled = 0;
    g_obs.distinct = 0;
    g_obs.highest_plus1 = 0;
    g_obs.last_plus1 = 0;
    g_obs.out_of_order = 0;
    g_obs.dups = 0;
    g_obs.far_dups = 0;
    g_obs.too_big = 0;
    g_obs.first_bad = 0;
    g_slow_ns = 0;
    for (auto &w : g_obs.bits)
        w = 0;
}

// test.mp.Collector: checks the order of the numbers it gets.
int CollectorSeq(ts_ctx *, void *, const ts_msg *m)
{
    uint64_t v;
    if (!tst::As(m, &v))
        return 0;
    g_obs.handled.fetch_add(1);
    if (uint32_t ns = g_slow_ns.load()) { // a busy consumer: its inbound ring fills
        auto until = Clock::now() + std::chrono::nanoseconds(ns);
        while (Clock::now() < until)
            ;
    }
    if (v >= kMaxSeq) {
        g_obs.too_big.fetch_add(1);
        return 0;
    }
    uint64_t bit = UINT64_C(1) << (v % 64);
    uint64_t old = g_obs.bits[v / 64].fetch_or(bit);
    uint64_t hi = g_obs.highest_plus1.load();
    if (old & bit) {
        g_obs.dups.fetch_add(1);
        if (g_obs.last_plus1.load() != v + 1) {
            g_obs.far_dups.fetch_add(1);
            if (!g_obs.first_bad.load())
                g_obs.first_bad = v + 1;
        }
    } else {
        g_obs.distinct.fetch_add(1);
        if (hi && v + 1 < hi) {
            g_obs.out_of_order.fetch_add(1);
            if (!g_obs.first_bad.load())
                g_obs.first_bad = v + 1;
        }
    }
    if (v + 1 > hi)
        g_obs.highest_plus1 = v + 1;
    g_obs.last_plus1 = v + 1;
    return 0;
}

int CollectorCount(ts_ctx *ctx, void *, const ts_msg *)
{
    uint64_t n = g_obs.distinct.load();
    return ts_reply(ctx, kCounted(), &n, sizeof n);
}

const ts_handler_entry kCollectorHandlers[] = {
    TS_ON("test.mp.Seq", CollectorSeq),
    TS_ON("test.mp.Count", CollectorCount),
    TS_HANDLERS_END,
};
const ts_actor_type kCollectorType = {"test.mp.Collector", 8, nullptr, nullptr,
                                      kCollectorHandlers, nullptr, nullptr, nullptr};

// test.mp.Forwarder: sends every number on to the collector its init got.
struct FwdState {
    ts_addr arg;
};
int ForwardSeq(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<FwdState *>(state);
    return ts_send(ctx, st->arg, kSeq(), ts_msg_data(m), m->len);
}
const ts_handler_entry kForwarderHandlers[] = {
    TS_ON("test.mp.Seq", ForwardSeq),
    TS_HANDLERS_END,
};
const ts_actor_type kForwarderType = {"test.mp.Forwarder", sizeof(FwdState),
                                      tst::InitFromArg<FwdState>, nullptr,
                                      kForwarderHandlers, nullptr, nullptr, nullptr};

// test.mp.Crasher: dies on Crash (the whole shard process), answers Ping
// with its own address.
int CrasherCrash(ts_ctx *, void *, const ts_msg *)
{
#if MP_TEST_SANITIZED
    raise(SIGKILL); // the sanitizer's SEGV handler would turn it into an exit
#else
    raise(SIGSEGV);
#endif
    return 0;
}
int CrasherPing(ts_ctx *ctx, void *, const ts_msg *)
{
    ts_addr self = ts_self(ctx);
    return ts_reply(ctx, kPong(), &self, sizeof self);
}
// LastWords: logs a record, then (the first time only) the shard process
// is killed before anything else happens.
std::atomic<uint32_t> &g_die_once = tst::Shared<std::atomic<uint32_t>>();
int CrasherLastWords(ts_ctx *ctx, void *, const ts_msg *)
{
    ts_log(ctx, TS_LOG_WARNING, "last words before the crash");
    if (g_die_once.exchange(0))
        raise(SIGKILL);
    ts_addr self = ts_self(ctx);
    return ts_reply(ctx, kPong(), &self, sizeof self);
}
const ts_handler_entry kCrasherHandlers[] = {
    TS_ON("test.mp.Crash", CrasherCrash),
    TS_ON("test.mp.LastWords", CrasherLastWords),
    TS_ON("test.mp.Ping", CrasherPing),
    TS_HANDLERS_END,
};
const ts_actor_type kCrasherType = {"test.mp.Crasher", 8, nullptr, nullptr, kCrasherHandlers,
                                    nullptr, nullptr, nullptr};

// test.mp.Counter: adds what it gets, tells its value.
struct CounterState {
    uint64_t value;
};
int CounterAdd(ts_ctx *, void *state, const ts_msg *m)
{
    uint64_t v;
    if (tst::As(m, &v))
        static_cast<CounterState *>(state)->value += v;
    return 0;
}
int CounterGet(ts_ctx *ctx, void *state, const ts_msg *)
{
    uint64_t v = static_cast<CounterState *>(state)->value;
    return ts_reply(ctx, kValue(), &v, sizeof v);
}
const ts_handler_entry kCounterHandlers[] = {
    TS_ON("test.mp.Add", CounterAdd),
    TS_ON("test.mp.Get", CounterGet),
    TS_HANDLERS_END,
};
const ts_actor_type kCounterType = {"test.mp.Counter", sizeof(CounterState), nullptr, nullptr,
                                    kCounterHandlers, nullptr, nullptr, nullptr};

// Program A of Persistence.AnotherProgramAttaches reports here.
struct ChildReport {
    std::atomic<uint64_t> addr;
    std::atomic<uint64_t> value;
    std::atomic<int32_t> step; // the step it failed at; 100: done
};
ChildReport &g_child = tst::Shared<ChildReport>();

// test.mp.BigEcho answers test.mp.Big with the same payload; the first
// test.mp.BigDie while g_die_once is set kills its shard process instead.
int BigEcho(ts_ctx *ctx, void *, const ts_msg *m)
{
    return ts_reply(ctx, ts_type_id("test.mp.Big"), ts_msg_data(m), m->len);
}
int BigDie(ts_ctx *ctx, void *state, const ts_msg *m)
{
    if (g_die_once.exchange(0))
        raise(SIGKILL);
    return BigEcho(ctx, state, m);
}
const ts_handler_entry kBigEchoHandlers[] = {
    TS_ON("test.mp.Big", BigEcho),
    TS_ON("test.mp.BigDie", BigDie),
    TS_HANDLERS_END,
};
const ts_actor_type kBigEchoType = {"test.mp.BigEcho", 8, nullptr, nullptr, kBigEchoHandlers,
                                    nullptr, nullptr, nullptr};

// test.mp.BigRelay (init: the echo's address) passes a caller's test.mp.Big
// to the echo on the other shard and the echo's answer back to the caller.
struct RelayState {
    ts_addr arg; // the echo
    ts_addr caller;
};
int RelayBig(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<RelayState *>(state);
    if (ts_sender(ctx) == st->arg)
        return ts_send(ctx, st->caller, m->type, ts_msg_data(m), m->len);
    st->caller = ts_sender(ctx);
    return ts_send(ctx, st->arg, m->type, ts_msg_data(m), m->len);
}
const ts_handler_entry kRelayHandlers[] = {
    TS_ON("test.mp.Big", RelayBig),
    TS_HANDLERS_END,
};
const ts_actor_type kRelayType = {"test.mp.BigRelay", sizeof(RelayState),
                                  tst::InitFromArg<RelayState>, nullptr, kRelayHandlers, nullptr, nullptr, nullptr};

int RegisterAll()
{
    for (const ts_actor_type *t : {&kCollectorType, &kForwarderType, &kCrasherType, &kCounterType,
                                   &kBigEchoType, &kRelayType}) {
        int rc = ts_register_actor_type(t);
        if (rc < 0)
            return rc;
    }
    return 0;
}

std::string SegPath(const std::string &name) { return "/dev/shm/thespis.node." + name; }

bool FileExists(const std::string &path)
{
    struct stat sb;
    return stat(path.c_str(), &sb) == 0;
}

// Gone: no such process, or a zombie nobody has reaped yet.
bool ProcessGone(int32_t pid)
{
    if (pid <= 0)
        return true;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return true;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line))
        return true;
    size_t rp = line.rfind(')');
    return rp != std::string::npos && rp + 2 < line.size() && (line[rp + 2] == 'Z' || line[rp + 2] == 'X');
}

int32_t ParentOf(int32_t pid)
{
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line))
        return -1;
    size_t rp = line.rfind(')');
    if (rp == std::string::npos)
        return -1;
    char state;
    int ppid = -1;
    if (std::sscanf(line.c_str() + rp + 1, " %c %d", &state, &ppid) != 2)
        return -1;
    return ppid;
}

// Polls cond until it holds or `secs` pass; returns its last value.
template <class F> bool WaitFor(F cond, double secs = 30)
{
    auto deadline = Clock::now() + std::chrono::duration<double>(secs);
    auto pause = std::chrono::microseconds(100);
    for (;;) {
        if (cond())
            return true;
        if (Clock::now() >= deadline)
            return cond();
        std::this_thread::sleep_for(pause);
        if (pause < std::chrono::milliseconds(20))
            pause *= 2;
    }
}

class MultiprocTest : public ::testing::Test {
  protected:
    void SetUp() override
    {
        ASSERT_EQ(RegisterAll(), 0) << ts_last_error();
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore); // crashing shards dump no core
        if (tst::AllowedCpus().size() < 2)
            GTEST_SKIP() << "needs 2 CPUs for 2 shards";
    }

    void TearDown() override
    {
        if (sys_) {
            ts_system_close(sys_);
            sys_ = nullptr;
        }
        for (const std::string &name : names_) {
            int rc = ts_node_stop(name.c_str(), 30 * kSec);
            EXPECT_TRUE(rc == 0 || rc == -ENOENT) << name << ": " << rc << " " << ts_last_error();
            EXPECT_FALSE(FileExists(SegPath(name))) << SegPath(name) << " left behind";
        }
        for (int32_t pid : pids_)
            EXPECT_TRUE(WaitFor([&] { return ProcessGone(pid); }, 30))
                << "process " << pid << " left behind";
    }

    std::string NewName()
    {
        static unsigned n;
        std::string name = "mptest-" + std::to_string(getpid()) + "-" + std::to_string(n++);
        names_.push_back(name);
        return name;
    }

    static ts_config Cfg(const char *name)
    {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_MULTIPROC;
        cfg.shards = 2;
        cfg.node_name = name;
        return cfg;
    }

    // Opens (starts) node `name` with cfg and waits until every shard runs.
    void OpenNode(const std::string &name, ts_node_status *st)
    {
        ts_config cfg = Cfg(name.c_str());
        ASSERT_EQ(ts_system_open(&cfg, &sys_), 0) << ts_last_error();
        ASSERT_TRUE(StatusReady(name, st));
    }

    // Stops the node this test opened, cleanly.
    void ShutdownNode()
    {
        EXPECT_EQ(ts_system_shutdown(sys_), 0) << ts_last_error();
        ts_system_close(sys_);
        sys_ = nullptr;
    }

    // Status, recording the node's processes for TearDown.
    int NodeStatus(const std::string &name, ts_node_status *st)
    {
        int rc = ts_node_status_get(name.c_str(), st);
        if (rc == 0) {
            Track(st->pid);
            for (uint32_t i = 0; i < st->nshards; i++)
                Track(st->shards[i].pid);
        }
        return rc;
    }
    void Track(int32_t pid)
    {
        if (pid > 0 && pid != getpid())
            pids_.insert(pid);
    }
    // Status once every shard runs (a restarted one reports pid 0 until ready).
    bool StatusReady(const std::string &name, ts_node_status *st, double secs = 30)
    {
        return WaitFor([&] {
            if (NodeStatus(name, st) != 0)
                return false;
            for (uint32_t i = 0; i < st->nshards; i++)
                if (st->shards[i].pid <= 0)
                    return false;
            return true;
        }, secs);
    }

    ts_addr CreateOn(const char *type, int core, const void *arg = nullptr, size_t len = 0)
    {
        ts_create_opts o = {};
        o.arg = arg;
        o.arg_len = len;
        o.placement = TS_PLACE_CORE;
        o.core = core;
        ts_addr a = TS_ADDR_NONE;
        int rc = ts_system_create(sys_, type, &o, &a);
        EXPECT_EQ(rc, 0) << ts_last_error();
        return a;
    }

    Msg Ask(ts_addr dst, uint64_t type, const void *p = nullptr, size_t len = 0,
            uint64_t timeout = 30 * kSec)
    {
        ts_msg *r = nullptr;
        int rc = ts_ask(sys_, dst, type, p, len, timeout, &r);
        EXPECT_EQ(rc, 0) << ts_last_error();
        return Msg(rc == 0 ? r : nullptr);
    }

    // ts_tell, retried while the ring is full (or the shard is restarting).
    int TellRetry(ts_addr dst, uint64_t type, const void *p, size_t len, Clock::time_point deadline)
    {
        for (unsigned spins = 0;; spins++) {
            int rc = ts_tell(sys_, dst, type, p, len);
            if (rc != -EAGAIN)
                return rc;
            if (Clock::now() >= deadline)
                return -ETIMEDOUT;
            if (spins < 64)
                sched_yield();
            else
                std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }

    ts_system *sys_ = nullptr;
    std::vector<std::string> names_;
    std::set<int32_t> pids_;
};

// ------------------------------------------------------------------------

using CrashRestart = MultiprocTest;
using Persistence = MultiprocTest;
using Stale = MultiprocTest;
using Status = MultiprocTest;

// A producer streams numbered messages through a forwarder on shard 1 to a
// collector on shard 0 while the test SIGKILLs shard 1: every number
// arrives, in order, and only the message in flight may come twice. The
// forwarder's sends that wait for room in a full ring (its overflow) are in
// shared memory and survive the kill with it.
TEST_F(CrashRestart, StreamSurvivesSigkill)
{
    ResetObs();
    std::string name = NewName();
    ts_node_status st0;
    ASSERT_NO_FATAL_FAILURE(OpenNode(name, &st0));
    ASSERT_EQ(st0.nshards, 2u);

    ts_addr collector = CreateOn("test.mp.Collector", st0.shards[0].core);
    ts_addr seq = CreateOn("test.mp.Forwarder", st0.shards[1].core, &collector, sizeof collector);
    ASSERT_NE(collector, TS_ADDR_NONE);
    ASSERT_NE(seq, TS_ADDR_NONE);
    ASSERT_EQ(ts_addr_shard(collector), 0);
    ASSERT_EQ(ts_addr_shard(seq), 1);

    const uint64_t n = std::min<uint64_t>(
        std::max<uint64_t>((MP_TEST_SANITIZED ? 200000 : 1000000) / Scale(), 3000), kMaxSeq);
    const uint64_t kill_at = n / 3;
    auto deadline = Clock::now() + std::chrono::seconds(200);
    for (uint64_t i = 0; i < n; i++) {
        if (i == kill_at) {
            ASSERT_EQ(kill(st0.shards[1].pid, SIGKILL), 0);
        }
        int rc = TellRetry(seq, kSeq(), &i, sizeof i, deadline);
        ASSERT_EQ(rc, 0) << "tell " << i << ": " << ts_last_error();
    }

    // Every number arrives at the collector.
    uint64_t counted = 0;
    bool all = WaitFor([&] {
        Msg r = Ask(collector, kCount(), nullptr, 0, 30 * kSec);
        if (!r || r->type != kCounted() || !tst::As(r.get(), &counted))
            return true; // a failure already recorded: stop waiting
        return counted == n;
    }, 120);
    ASSERT_TRUE(all) << "collector counted " << counted << " of " << n;
    ASSERT_EQ(counted, n);

    ts_node_status st;
    ASSERT_TRUE(StatusReady(name, &st));
    EXPECT_EQ(st.shards[1].restarts, 1u);
    EXPECT_EQ(st.shards[0].restarts, 0u);
    EXPECT_EQ(st.shards[0].pid, st0.shards[0].pid) << "shard 0 was restarted";
    EXPECT_NE(st.shards[1].pid, st0.shards[1].pid);
    EXPECT_TRUE(ProcessGone(st0.shards[1].pid));

    RecordProperty("duplicates", std::to_string(g_obs.dups.load()));
    EXPECT_EQ(g_obs.distinct.load(), n);
    EXPECT_EQ(g_obs.highest_plus1.load(), n);
    EXPECT_EQ(g_obs.too_big.load(), 0u);
    EXPECT_EQ(g_obs.out_of_order.load(), 0u) << "first bad: " << g_obs.first_bad.load() - 1;
    EXPECT_EQ(g_obs.far_dups.load(), 0u) << "first bad: " << g_obs.first_bad.load() - 1;
    EXPECT_LE(g_obs.dups.load(), 4u) << "only the message in flight is redelivered";
    EXPECT_EQ(g_obs.handled.load(), n + g_obs.dups.load());
    for (uint64_t w = 0; w < n / 64; w++)
        ASSERT_EQ(g_obs.bits[w].load(), ~UINT64_C(0)) << "numbers " << w * 64 << "..";

    ShutdownNode();
    EXPECT_TRUE(WaitFor([&] { return !FileExists(SegPath(name)); }));
}

// The deterministic reproduction of the bug above: a slow collector lets the
// ring from shard 1 to shard 0 fill, so the forwarder parks what it sends in
// its overflow; once it has handled every number, shard 1 is killed.
TEST_F(CrashRestart, ParkedSendsSurviveSigkill)
{
    ResetObs();
    g_slow_ns = 20000;
    std::string name = NewName();
    ts_node_status st0;
    ASSERT_NO_FATAL_FAILURE(OpenNode(name, &st0));
    ts_addr collector = CreateOn("test.mp.Collector", st0.shards[0].core);
    ts_addr seq = CreateOn("test.mp.Forwarder", st0.shards[1].core, &collector, sizeof collector);
    const uint64_t n = 20000; // about 1 MiB of forwarded messages: 4 rings' worth
    auto deadline = Clock::now() + std::chrono::seconds(60);
    for (uint64_t i = 0; i < n; i++)
        ASSERT_EQ(TellRetry(seq, kSeq(), &i, sizeof i, deadline), 0) << ts_last_error();
    ts_node_status st;
    ASSERT_TRUE(WaitFor([&] { return NodeStatus(name, &st) == 0 && st.shards[1].msgs_in >= n; }));
    uint64_t before = g_obs.distinct.load();
    ASSERT_LT(before + 5000, n) << "the collector kept up: nothing was parked";
    ASSERT_EQ(kill(st.shards[1].pid, SIGKILL), 0);
    g_slow_ns = 0;
    uint64_t counted = 0;
    WaitFor([&] {
        Msg r = Ask(collector, kCount(), nullptr, 0, 30 * kSec);
        if (!r || !tst::As(r.get(), &counted))
            return true;
        return counted == n;
    }, 30);
    EXPECT_EQ(counted, n) << "sent by the forwarder, parked in its process, lost with it";
    ShutdownNode();
}

// A record a shard logged just before it was killed is still written (its
// log ring is in the segment, drained by the admin), and the admin logs the
// restart with the signal, the message and the actor that was running.
TEST_F(CrashRestart, LogsSurviveTheCrashAndTheRestartIsLogged)
{
    std::string name = NewName();
    std::string path = "/tmp/thespis-mplog." + std::to_string(getpid()) + ".log";
    unlink(path.c_str());
    ts_config cfg = Cfg(name.c_str());
    cfg.log.sink = TS_LOG_SINK_FILE;
    cfg.log.path = path.c_str();
    ASSERT_EQ(ts_system_open(&cfg, &sys_), 0) << ts_last_error();
    ts_node_status st0;
    ASSERT_TRUE(StatusReady(name, &st0));
    ts_addr a = CreateOn("test.mp.Crasher", st0.shards[1].core);
    ASSERT_EQ(ts_addr_shard(a), 1);
    g_die_once = 1;
    Msg r = Ask(a, kLastWords(), nullptr, 0, 60 * kSec);
    ASSERT_TRUE(r && r->type == kPong()) << "the redelivered message was answered";
    EXPECT_EQ(g_die_once.load(), 0u);

    auto read_all = [&] {
        std::ifstream f(path);
        return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    };
    std::string log;
    // Handled twice (the crash, then the redelivery): two records.
    ASSERT_TRUE(WaitFor([&] {
        log = read_all();
        size_t first = log.find("last words"), restart = log.find("TS-SHARD-RESTART");
        return first != std::string::npos && restart != std::string::npos &&
               log.find("last words", first + 1) != std::string::npos;
    })) << log;
    size_t first = log.find("last words"), restart = log.find("TS-SHARD-RESTART");
    EXPECT_LT(first, restart) << "the record from before the crash comes first\n" << log;
    std::string line = log.substr(restart, log.find('\n', restart) - restart);
    EXPECT_NE(line.find("signal 9"), std::string::npos) << line;
    EXPECT_NE(line.find("test.mp.LastWords"), std::string::npos) << line;
    char addr[32];
    snprintf(addr, sizeof addr, "%016llx", (unsigned long long)a);
    EXPECT_NE(line.find(addr), std::string::npos) << line;
    EXPECT_NE(line.find("pid " + std::to_string(st0.shards[1].pid)), std::string::npos) << line;

    ShutdownNode();
    unlink(path.c_str());
}

TEST_F(CrashRestart, SegfaultingHandlerPoisonsAfterSecondCrash)
{
    std::string name = NewName();
    ts_node_status st0;
    ASSERT_NO_FATAL_FAILURE(OpenNode(name, &st0));
    int core1 = st0.shards[1].core;
    ts_addr crasher = CreateOn("test.mp.Crasher", core1);
    ts_addr other = CreateOn("test.mp.Crasher", core1);
    ASSERT_EQ(ts_addr_shard(crasher), 1);
    ASSERT_EQ(ts_addr_shard(other), 1);
    for (ts_addr a : {crasher, other}) {
        Msg r = Ask(a, kPing());
        ts_addr got = 0;
        ASSERT_TRUE(r && r->type == kPong() && tst::As(r.get(), &got));
        EXPECT_EQ(got, a);
    }

    const char payload[] = "boom";
    Msg r = Ask(crasher, kCrash(), payload, sizeof payload, 60 * kSec);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, TS_MSG_POISON) << "got " << r->type;
    ts_poison p;
    ASSERT_EQ(ts_poison_decode(r.get(), &p), 0);
    EXPECT_EQ(p.original_dst, crasher);
    EXPECT_EQ(p.original_type, kCrash());
    ASSERT_EQ(p.original_len, sizeof payload);
    EXPECT_EQ(std::memcmp(p.original, payload, sizeof payload), 0);
    EXPECT_LT(p.reason, 0);

    ts_node_status st;
    ASSERT_TRUE(WaitFor([&] {
        return NodeStatus(name, &st) == 0 && st.shards[1].restarts >= 2 && st.shards[1].pid > 0;
    }));
    EXPECT_EQ(st.shards[1].restarts, 2u);
    EXPECT_EQ(st.shards[0].restarts, 0u);
    EXPECT_EQ(st.shards[0].pid, st0.shards[0].pid);

    // Both actors of the crashed shard are back, the crasher at its address.
    for (ts_addr a : {crasher, other}) {
        Msg pong = Ask(a, kPing());
        ts_addr got = 0;
        ASSERT_TRUE(pong && pong->type == kPong() && tst::As(pong.get(), &got))
            << "no Pong from " << tst::AddrStr(a);
        EXPECT_EQ(got, a);
    }
    ASSERT_TRUE(WaitFor([&] { return NodeStatus(name, &st) == 0 && st.shards[1].actors == 2; }));
    EXPECT_EQ(st.shards[1].restarts, 2u); // no further crash

    ShutdownNode();
}

// Program A: starts the node, makes the global counter, adds to it, detaches.
int ProgramA(const std::string &name, uint64_t k)
{
    g_child.step = 1;
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_MULTIPROC;
    cfg.shards = 2;
    cfg.node_name = name.c_str();
    ts_system *sys = nullptr;
    if (ts_system_open(&cfg, &sys) != 0)
        return 1;
    g_child.step = 2;
    ts_create_opts o = {};
    o.global_name = "counter";
    ts_addr a = TS_ADDR_NONE;
    if (ts_system_create(sys, "test.mp.Counter", &o, &a) != 0)
        return 2;
    g_child.addr = a;
    g_child.step = 3;
    for (uint64_t i = 1; i <= k; i++) {
        int rc;
        while ((rc = ts_tell(sys, a, kAdd(), &i, sizeof i)) == -EAGAIN)
            sched_yield();
        if (rc != 0)
            return 3;
    }
    g_child.step = 4;
    ts_msg *r = nullptr;
    if (ts_ask(sys, a, kGet(), nullptr, 0, 30 * kSec, &r) != 0)
        return 4;
    uint64_t v = 0;
    tst::As(r, &v);
    ts_msg_free(r);
    g_child.value = v;
    ts_system_close(sys); // a named node: detach only
    g_child.step = 100;
    return 0;
}

TEST_F(Persistence, AnotherProgramAttaches)
{
    std::string name = NewName();
    const uint64_t k = 1000;
    const uint64_t sum = k * (k + 1) / 2;
    g_child.addr = 0;
    g_child.value = 0;
    g_child.step = 0;
    fflush(nullptr);
    pid_t a = fork();
    ASSERT_GE(a, 0);
    if (a == 0)
        _exit(ProgramA(name, k));
    int status = 0;
    bool exited = WaitFor([&] { return waitpid(a, &status, WNOHANG) == a; }, 60);
    if (!exited) {
        kill(a, SIGKILL);
        waitpid(a, &status, 0);
    }
    ASSERT_TRUE(exited) << "program A hung at step " << g_child.step.load();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "program A failed at step " << g_child.step.load() << " status " << status;
    EXPECT_EQ(g_child.value.load(), sum);

    // The node outlived program A.
    ts_node_status st;
    ASSERT_EQ(NodeStatus(name, &st), 0) << ts_last_error();
    EXPECT_TRUE(ProcessGone(a));
    EXPECT_NE(st.pid, a);
    EXPECT_EQ(st.actors, 1u);

    // Program B (this one) attaches and finds the counter by name.
    ts_config cfg = Cfg(name.c_str());
    ASSERT_EQ(ts_system_open(&cfg, &sys_), 0) << ts_last_error();
    ts_node_status st2;
    ASSERT_EQ(NodeStatus(name, &st2), 0);
    EXPECT_EQ(st2.pid, st.pid) << "attached, not restarted";
    ts_create_opts o = {};
    o.global_name = "counter";
    ts_addr counter = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(sys_, "test.mp.Counter", &o, &counter), 0) << ts_last_error();
    EXPECT_EQ(counter, g_child.addr.load()) << tst::AddrStr(counter);
    Msg r = Ask(counter, kGet());
    uint64_t v = 0;
    ASSERT_TRUE(r && r->type == kValue() && tst::As(r.get(), &v));
    EXPECT_EQ(v, sum);
    ASSERT_EQ(NodeStatus(name, &st2), 0);
    EXPECT_EQ(st2.actors, 1u) << "the global name created nothing new";

    ShutdownNode();
    EXPECT_FALSE(FileExists(SegPath(name)));
    ts_node_status gone;
    EXPECT_EQ(ts_node_status_get(name.c_str(), &gone), -ENOENT);
    // The admin unlinks the segment last, then exits.
    EXPECT_TRUE(WaitFor([&] { return ProcessGone(st.pid); }));
}

// A named node whose start fails (its listen port is taken): the open
// says why, and stopping it at once (the admin may not have gone yet)
// neither attaches to the failed node nor leaves its segment (TearDown's
// ts_node_stop checks both).
TEST_F(MultiprocTest, ANodeThatFailedToStartStopsCleanly)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof at;
    ASSERT_EQ(bind(fd, (sockaddr *)&at, sizeof at), 0);
    ASSERT_EQ(listen(fd, 1), 0);
    ASSERT_EQ(getsockname(fd, (sockaddr *)&at, &len), 0);
    std::string name = NewName();
    ts_config cfg = Cfg(name.c_str());
    std::string taken = "tcp://127.0.0.1:" + std::to_string(ntohs(at.sin_port));
    cfg.listen = taken.c_str();
    ts_system *sys = nullptr;
    EXPECT_NE(ts_system_open(&cfg, &sys), 0);
    EXPECT_EQ(sys, nullptr);
    EXPECT_NE(std::string(ts_last_error()).find("in use"), std::string::npos) << ts_last_error();
    close(fd);
}

TEST_F(Stale, SegmentsOfAKilledAdminAreCleanedAtNextStart)
{
    std::string name = NewName();
    ts_node_status st;
    ASSERT_NO_FATAL_FAILURE(OpenNode(name, &st));
    ts_system_close(sys_);
    sys_ = nullptr;
    ASSERT_EQ(NodeStatus(name, &st), 0) << "a named node outlives its system";
    ASSERT_EQ(kill(st.pid, SIGKILL), 0);

    ts_node_status tmp;
    EXPECT_TRUE(WaitFor([&] { return ts_node_status_get(name.c_str(), &tmp) == -ESTALE; }));
    for (uint32_t i = 0; i < st.nshards; i++)
        EXPECT_TRUE(WaitFor([&] { return ProcessGone(st.shards[i].pid); }))
            << "shard " << i << " (pid " << st.shards[i].pid << ") outlived its admin";
    EXPECT_TRUE(FileExists(SegPath(name))) << "the stale segment is still there";

    ts_node_status st2;
    ASSERT_NO_FATAL_FAILURE(OpenNode(name, &st2));
    EXPECT_NE(st2.pid, st.pid);
    EXPECT_EQ(st2.actors, 0u);
    for (uint32_t i = 0; i < st2.nshards; i++)
        EXPECT_EQ(st2.shards[i].restarts, 0u);
    ShutdownNode();
    EXPECT_FALSE(FileExists(SegPath(name)));
    EXPECT_EQ(ts_node_status_get(name.c_str(), &tmp), -ENOENT);
}

TEST_F(Status, Fields)
{
    std::string name = NewName();
    ts_node_status st;
    ASSERT_NO_FATAL_FAILURE(OpenNode(name, &st));
    int core0 = st.shards[0].core, core1 = st.shards[1].core;
    std::vector<ts_addr> made;
    for (int i = 0; i < 3; i++)
        made.push_back(CreateOn("test.mp.Crasher", core0));
    for (int i = 0; i < 2; i++)
        made.push_back(CreateOn("test.mp.Crasher", core1));
    for (ts_addr a : made) { // every one has started
        Msg r = Ask(a, kPing());
        ASSERT_TRUE(r && r->type == kPong());
    }
    ASSERT_EQ(NodeStatus(name, &st), 0) << ts_last_error();

    EXPECT_STREQ(st.name, name.c_str());
    EXPECT_STREQ(st.base, "multiproc");
    EXPECT_GT(st.pid, 0);
    EXPECT_NE(st.pid, getpid());
    EXPECT_FALSE(ProcessGone(st.pid));
    ASSERT_EQ(st.nshards, 2u);
    EXPECT_GE(st.clients, 1u);
    std::set<int32_t> pids;
    std::set<int32_t> cores;
    for (uint32_t i = 0; i < st.nshards; i++) {
        const ts_node_shard &s = st.shards[i];
        EXPECT_EQ(s.id, i);
        EXPECT_GT(s.pid, 0);
        EXPECT_NE(s.pid, st.pid);
        EXPECT_NE(s.pid, getpid());
        EXPECT_FALSE(ProcessGone(s.pid));
        EXPECT_EQ(ParentOf(s.pid), st.pid) << "shard " << i << " is a child of the admin";
        EXPECT_EQ(s.restarts, 0u);
        pids.insert(s.pid);
        cores.insert(s.core);
    }
    EXPECT_EQ(pids.size(), 2u);
    EXPECT_EQ(cores.size(), 2u);
    EXPECT_EQ(st.shards[0].actors, 3u);
    EXPECT_EQ(st.shards[1].actors, 2u);
    EXPECT_EQ(st.actors, 5u);
    EXPECT_GE(st.shards[0].msgs_in, 3u);
    EXPECT_GE(st.shards[1].msgs_in, 2u);

    ShutdownNode();
    EXPECT_FALSE(FileExists(SegPath(name)));
}

} // namespace

namespace {

// `base = pinned` with a node name: a node of the same kind whose shards
// are threads of the admin process (thespis start --base pinned).
TEST_F(Status, NamedPinnedNodeRunsShardsAsAdminThreads)
{
    std::string name = NewName();
    ts_config cfg = Cfg(name.c_str());
    cfg.base = TS_BASE_PINNED;
    ASSERT_EQ(ts_system_open(&cfg, &sys_), 0) << ts_last_error();
    ts_node_status st;
    ASSERT_TRUE(StatusReady(name, &st));
    EXPECT_STREQ(st.base, "pinned");
    EXPECT_NE(st.pid, getpid());
    ASSERT_EQ(st.nshards, 2u);
    for (uint32_t i = 0; i < st.nshards; i++)
        EXPECT_EQ(st.shards[i].pid, st.pid) << "shard " << i << " is not a thread of the admin";
    std::vector<ts_addr> made = {CreateOn("test.mp.Crasher", st.shards[0].core),
                                 CreateOn("test.mp.Crasher", st.shards[1].core)};
    EXPECT_EQ(ts_addr_shard(made[0]), 0);
    EXPECT_EQ(ts_addr_shard(made[1]), 1);
    for (ts_addr a : made) {
        Msg r = Ask(a, kPing());
        ts_addr got = 0;
        ASSERT_TRUE(r && r->type == kPong() && tst::As(r.get(), &got));
        EXPECT_EQ(got, a);
    }
    // Cross-shard traffic inside the admin: the forwarder on shard 1 feeds
    // the collector on shard 0.
    ResetObs();
    ts_addr collector = CreateOn("test.mp.Collector", st.shards[0].core);
    ts_addr seq = CreateOn("test.mp.Forwarder", st.shards[1].core, &collector, sizeof collector);
    const uint64_t n = 20000;
    auto deadline = Clock::now() + std::chrono::seconds(60);
    for (uint64_t i = 0; i < n; i++)
        ASSERT_EQ(TellRetry(seq, kSeq(), &i, sizeof i, deadline), 0) << ts_last_error();
    ASSERT_EQ(ts_run(sys_, 60 * kSec), 0) << ts_last_error();
    EXPECT_EQ(g_obs.distinct.load(), n);
    EXPECT_EQ(g_obs.dups.load(), 0u);
    EXPECT_EQ(g_obs.out_of_order.load(), 0u);
    ASSERT_EQ(NodeStatus(name, &st), 0);
    EXPECT_EQ(st.actors, 4u);

    ShutdownNode();
    EXPECT_FALSE(FileExists(SegPath(name)));
    EXPECT_TRUE(WaitFor([&] { return ProcessGone(st.pid); }));
}

} // namespace

namespace {

// Programs attaching at the same moment each get a caller mailbox of their
// own: every one asks its own actor and gets that actor's answer, and the
// node counts them all while they are attached.
struct AttachRace {
    std::atomic<uint32_t> go, ready, done;
    std::atomic<int32_t> failed; // the first child's failure step, 0: none
    std::atomic<uint64_t> actors[8];
};
AttachRace &g_race = tst::Shared<AttachRace>();

int RacingProgram(const std::string &name, unsigned k)
{
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_MULTIPROC;
    cfg.node_name = name.c_str();
    g_race.ready.fetch_add(1);
    while (!g_race.go.load())
        sched_yield();
    ts_system *sys = nullptr;
    if (ts_system_open(&cfg, &sys) != 0)
        return 1;
    for (int i = 0; i < 200; i++) {
        ts_msg *r = nullptr;
        if (ts_ask(sys, g_race.actors[k].load(), kPing(), nullptr, 0, 30 * kSec, &r) != 0)
            return 2;
        ts_addr got = 0;
        bool ok = r->type == kPong() && tst::As(r, &got) && got == g_race.actors[k].load();
        ts_msg_free(r);
        if (!ok)
            return 3; // another program's answer: a shared mailbox
    }
    g_race.done.fetch_add(1);
    while (g_race.go.load() != 2) // stay attached until the node was counted
        sched_yield();
    ts_system_close(sys);
    return 0;
}

TEST_F(Persistence, ProgramsAttachingAtOnceGetTheirOwnMailboxes)
{
    std::string name = NewName();
    ts_node_status st;
    ASSERT_NO_FATAL_FAILURE(OpenNode(name, &st));
    constexpr unsigned kProgs = 8;
    g_race.go = 0;
    g_race.ready = 0;
    g_race.done = 0;
    for (unsigned k = 0; k < kProgs; k++)
        g_race.actors[k] = CreateOn("test.mp.Crasher", st.shards[k % 2].core);
    std::vector<pid_t> kids;
    fflush(nullptr);
    for (unsigned k = 0; k < kProgs; k++) {
        pid_t p = fork();
        ASSERT_GE(p, 0);
        if (p == 0)
            _exit(RacingProgram(name, k));
        kids.push_back(p);
    }
    ASSERT_TRUE(WaitFor([&] { return g_race.ready.load() == kProgs; }));
    g_race.go = 1;
    bool all = WaitFor([&] { return g_race.done.load() == kProgs; }, 60);
    ts_node_status during;
    int st_rc = NodeStatus(name, &during);
    g_race.go = 2;
    for (pid_t p : kids) {
        int status = 0;
        bool exited = WaitFor([&] { return waitpid(p, &status, WNOHANG) == p; }, 60);
        if (!exited) {
            kill(p, SIGKILL);
            waitpid(p, &status, 0);
        }
        EXPECT_TRUE(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << "program " << p << " status " << status;
    }
    ASSERT_TRUE(all) << g_race.done.load() << " of " << kProgs << " programs finished";
    ASSERT_EQ(st_rc, 0);
    EXPECT_GE(during.clients, kProgs + 1) << "each program has a mailbox of its own";

    ShutdownNode();
}

} // namespace

namespace {

std::vector<unsigned char> Pattern(size_t n, unsigned seed)
{
    std::vector<unsigned char> v(n);
    uint32_t x = seed * 2654435761u + 1;
    for (auto &b : v) {
        x = x * 1103515245u + 12345u;
        b = (unsigned char)(x >> 16);
    }
    return v;
}

// The node's large-message files still in /dev/shm.
size_t BlobFiles(const std::string &name)
{
    std::string prefix = "thespis.node." + name + ".blob.";
    size_t n = 0;
    if (DIR *d = opendir("/dev/shm")) {
        while (dirent *e = readdir(d))
            n += std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0;
        closedir(d);
    }
    return n;
}

using LargeMessages = MultiprocTest;

// Messages far above a ring record cross processes intact: caller to shard
// 1, shard 1 to shard 0 and back, shard 1 to the caller; no file is left.
TEST_F(LargeMessages, CrossProcessesIntactAndCleanedUp)
{
    std::string name = NewName();
    ts_node_status st;
    ASSERT_NO_FATAL_FAILURE(OpenNode(name, &st));
    ts_addr echo = CreateOn("test.mp.BigEcho", st.shards[0].core);
    ts_addr relay = CreateOn("test.mp.BigRelay", st.shards[1].core, &echo, sizeof echo);
    ASSERT_EQ(ts_addr_shard(relay), 1);
    const uint64_t kBig = ts_type_id("test.mp.Big");
    unsigned seed = 0;
    for (size_t size : {size_t{20} << 10, size_t{300} << 10, size_t{3} << 20, size_t{16} << 10}) {
        for (int i = 0; i < 3; i++) {
            std::vector<unsigned char> want = Pattern(size, ++seed);
            Msg r = Ask(relay, kBig, want.data(), want.size(), 60 * kSec);
            ASSERT_TRUE(r) << size << " bytes: " << ts_last_error();
            ASSERT_EQ(r->type, kBig);
            ASSERT_EQ(r->len, size);
            EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), want.data(), size), 0) << size << " bytes";
        }
    }
    ASSERT_EQ(ts_run(sys_, 30 * kSec), 0) << ts_last_error();
    EXPECT_EQ(BlobFiles(name), 0u) << "every blob is removed once handled";
    ShutdownNode();
    EXPECT_EQ(BlobFiles(name), 0u);
}

// A shard killed while handling a large message finds it again after the
// restart: the blob outlives the process until the message is released.
TEST_F(LargeMessages, SurviveTheConsumersCrash)
{
    std::string name = NewName();
    ts_node_status st;
    ASSERT_NO_FATAL_FAILURE(OpenNode(name, &st));
    ts_addr echo = CreateOn("test.mp.BigEcho", st.shards[1].core);
    std::vector<unsigned char> want = Pattern(size_t{1} << 20, 7);
    g_die_once = 1;
    Msg r = Ask(echo, ts_type_id("test.mp.BigDie"), want.data(), want.size(), 60 * kSec);
    ASSERT_TRUE(r) << ts_last_error();
    EXPECT_EQ(g_die_once.load(), 0u) << "the shard was killed";
    ASSERT_EQ(r->len, want.size());
    EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), want.data(), want.size()), 0);
    ts_node_status after;
    ASSERT_EQ(NodeStatus(name, &after), 0);
    EXPECT_EQ(after.shards[1].restarts, 1u);
    ASSERT_EQ(ts_run(sys_, 30 * kSec), 0) << ts_last_error();
    EXPECT_EQ(BlobFiles(name), 0u);
    ShutdownNode();
}

} // namespace
