// SPDX-License-Identifier: MIT
// pinned_test.cc — what only the pinned base has (design §2, §3, §6): core
// lists and shard counts, idle policies, ring sizes, placement on shards,
// back-pressure to external callers (-EAGAIN), messages larger than a ring
// record, messages that reach a new actor's shard before its Start, and
// what a closed system leaves behind. Runs on the pinned base only; the
// regression tests name the engine bugs they caught. Suite 'fast'.
#include <dirent.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ts_test.h"

using tst::Msg;

namespace {

// ------------------------------------------------------------------------
// CPUs
// ------------------------------------------------------------------------


std::string CoreList(const std::vector<int> &cpus)
{
    std::string s;
    for (int c : cpus)
        s += (s.empty() ? "" : ",") + std::to_string(c);
    return s;
}

bool Has(const std::vector<int> &v, int c) { return std::find(v.begin(), v.end(), c) != v.end(); }

// ts_system_open's result and ts_last_error() right after it; closes a
// system that did open.
struct OpenResult {
    int rc;
    bool got_system;
    std::string err;
};
OpenResult TryOpen(const ts_config &cfg)
{
    static char not_a_system;
    ts_system *s = reinterpret_cast<ts_system *>(&not_a_system); // must be overwritten
    OpenResult r;
    r.rc = ts_system_open(&cfg, &s);
    r.err = ts_last_error();
    r.got_system = s != nullptr;
    if (r.rc == 0)
        ts_system_close(s);
    return r;
}

// ------------------------------------------------------------------------
// Message types
// ------------------------------------------------------------------------

TS_TYPE_ID(kMake, "test.pinned.Make")
TS_TYPE_ID(kMade, "test.pinned.Made")
TS_TYPE_ID(kGo, "test.pinned.Go")
TS_TYPE_ID(kResult, "test.pinned.Result")
TS_TYPE_ID(kBlock, "test.pinned.Block")
TS_TYPE_ID(kReleased, "test.pinned.Released")
TS_TYPE_ID(kCount, "test.pinned.Count")
TS_TYPE_ID(kGet, "test.pinned.Get")
TS_TYPE_ID(kBig, "test.pinned.Big")
TS_TYPE_ID(kBigBack, "test.pinned.BigBack")
TS_TYPE_ID(kChunk, "test.pinned.Chunk")
TS_TYPE_ID(kMakeLate, "test.pinned.MakeLate")
TS_TYPE_ID(kForward, "test.pinned.Forward")
TS_TYPE_ID(kHello, "test.pinned.Hello")
TS_TYPE_ID(kCreated, "test.pinned.Created")
TS_TYPE_ID(kReport, "test.pinned.Report")
TS_TYPE_ID(kFailed, "test.pinned.Failed")
#undef TYPE_ID

// ------------------------------------------------------------------------
// Maker: creates children of a given type with given options from inside a
// handler and reports the results (and ts_last_error as its shard saw it).
// ------------------------------------------------------------------------

struct MakeReq {
    char type[48];
    int32_t placement;
    int32_t core;
    uint32_t count;    // at most 8
    uint32_t null_opts; // pass NULL options
};
struct MakeRep {
    int32_t rc[8];
    ts_addr addr[8];
    uint32_t maker_shard;
    uint32_t pad;
    char err[200];
};

int MakerMake(ts_ctx *ctx, void *, const ts_msg *m)
{
    MakeReq q;
    if (!tst::As(m, &q) || q.count > 8)
        return -EBADMSG;
    MakeRep r{};
    r.maker_shard = ts_addr_shard(ts_self(ctx));
    ts_create_opts o{};
    o.placement = static_cast<ts_placement>(q.placement);
    o.core = q.core;
    for (uint32_t i = 0; i < q.count; i++) {
        r.rc[i] = ts_create(ctx, q.type, q.null_opts ? nullptr : &o, &r.addr[i]);
        if (r.rc[i] < 0 && !r.err[0])
            std::snprintf(r.err, sizeof r.err, "%s", ts_last_error());
    }
    return ts_reply(ctx, kMade(), &r, sizeof r);
}

const ts_handler_entry kMakerHandlers[] = {
    TS_ON("test.pinned.Make", MakerMake),
    TS_HANDLERS_END,
};
const ts_actor_type kMaker = {"test.pinned.Maker", 0, nullptr, nullptr, kMakerHandlers, nullptr, nullptr, nullptr};

// ------------------------------------------------------------------------
// Pinger: n round trips of Ping/Pong with an Echo, then a Result.
// ------------------------------------------------------------------------

struct PingGo {
    ts_addr ponger;
    uint64_t n;
};
struct PingResult {
    uint64_t count;
    uint64_t out_of_order;
    uint64_t wrong_sender;
    int32_t send_error;
    int32_t pad;
};
struct PingerState {
    ts_addr reporter;
    PingGo go;
    uint64_t next;
    PingResult res;
};

int PingerInit(ts_ctx *, void *state, const void *arg, size_t len)
{
    auto *st = static_cast<PingerState *>(state);
    if (len != sizeof(ts_addr))
        return -EINVAL;
    std::memcpy(&st->reporter, arg, sizeof(ts_addr));
    return 0;
}

int PingerSend(ts_ctx *ctx, PingerState *st)
{
    uint64_t seq = st->next++;
    int rc = ts_send(ctx, st->go.ponger, tst::kPing(), &seq, sizeof seq);
    if (rc < 0) {
        st->res.send_error = rc;
        return ts_send(ctx, st->reporter, kResult(), &st->res, sizeof st->res);
    }
    return 0;
}

int PingerGo(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<PingerState *>(state);
    if (!tst::As(m, &st->go))
        return -EBADMSG;
    st->next = 0;
    st->res = PingResult{};
    return PingerSend(ctx, st);
}

int PingerPong(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<PingerState *>(state);
    uint64_t seq = UINT64_MAX;
    if (!tst::As(m, &seq) || seq != st->res.count)
        st->res.out_of_order++;
    if (ts_sender(ctx) != st->go.ponger)
        st->res.wrong_sender++;
    st->res.count++;
    if (st->res.count < st->go.n)
        return PingerSend(ctx, st);
    return ts_send(ctx, st->reporter, kResult(), &st->res, sizeof st->res);
}

const ts_handler_entry kPingerHandlers[] = {
    TS_ON("test.pinned.Go", PingerGo),
    TS_ON("test.common.Pong", PingerPong),
    TS_HANDLERS_END,
};
const ts_actor_type kPinger = {"test.pinned.Pinger", sizeof(PingerState), PingerInit, nullptr,
                               kPingerHandlers, nullptr, nullptr, nullptr};

// ------------------------------------------------------------------------
// Counter: Block holds its shard inside the handler until the test opens
// the gate (so rings to that shard fill up); Count{seq} counts and checks
// order; Get replies {count, out_of_order}.
// ------------------------------------------------------------------------

struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    bool entered = false;

    void Reset()
    {
        std::lock_guard<std::mutex> l(mu);
        open = false;
        entered = false;
    }
    void Open()
    {
        std::lock_guard<std::mutex> l(mu);
        open = true;
        cv.notify_all();
    }
};
Gate g_gate;

// Opens the gate when the test leaves, however it leaves: a shard must not
// stay blocked into the fixture's shutdown.
struct GateOpener {
    ~GateOpener() { g_gate.Open(); }
};

struct CountRep {
    uint64_t count;
    uint64_t out_of_order;
};
struct CounterState {
    CountRep rep;
};

// Block's payload, if any: the most seconds to hold the shard (default 120,
// so a broken test cannot hang the shard for good).
int CounterBlock(ts_ctx *ctx, void *, const ts_msg *m)
{
    uint32_t hold_s = 120;
    tst::As(m, &hold_s);
    {
        std::unique_lock<std::mutex> l(g_gate.mu);
        g_gate.entered = true;
        g_gate.cv.wait_for(l, std::chrono::seconds(hold_s), [] { return g_gate.open; });
    }
    return ts_reply(ctx, kReleased(), nullptr, 0);
}

int CounterCount(ts_ctx *, void *state, const ts_msg *m)
{
    auto *st = static_cast<CounterState *>(state);
    uint64_t seq = UINT64_MAX;
    if (!tst::As(m, &seq) || seq != st->rep.count)
        st->rep.out_of_order++;
    st->rep.count++;
    return 0;
}

int CounterGet(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<CounterState *>(state);
    return ts_reply(ctx, kResult(), &st->rep, sizeof st->rep);
}

std::atomic<int> g_finis{0}; // finis of Counters

void CountFini(ts_ctx *, void *) { g_finis++; }

const ts_handler_entry kCounterHandlers[] = {
    TS_ON("test.pinned.Block", CounterBlock),
    TS_ON("test.pinned.Count", CounterCount),
    TS_ON("test.pinned.Get", CounterGet),
    TS_HANDLERS_END,
};
const ts_actor_type kCounter = {"test.pinned.Counter", sizeof(CounterState), nullptr, CountFini,
                                kCounterHandlers, nullptr, nullptr, nullptr};

// ------------------------------------------------------------------------
// Relay: Big from the client goes to an Echo (as Ping), the Echo's Pong
// comes back and goes on to the reporter (as BigBack): three hops across
// shards and to the caller, payload unchanged.
// ------------------------------------------------------------------------

struct RelayArg {
    ts_addr reporter;
    ts_addr echo;
};

int RelayInit(ts_ctx *, void *state, const void *arg, size_t len)
{
    if (len != sizeof(RelayArg))
        return -EINVAL;
    std::memcpy(state, arg, sizeof(RelayArg));
    return 0;
}

int RelayBig(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<RelayArg *>(state);
    return ts_send(ctx, st->echo, tst::kPing(), ts_msg_data(m), m->len);
}

int RelayPong(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<RelayArg *>(state);
    return ts_send(ctx, st->reporter, kBigBack(), ts_msg_data(m), m->len);
}

const ts_handler_entry kRelayHandlers[] = {
    TS_ON("test.pinned.Big", RelayBig),
    TS_ON("test.common.Pong", RelayPong),
    TS_HANDLERS_END,
};
const ts_actor_type kRelay = {"test.pinned.Relay", sizeof(RelayArg), RelayInit, nullptr,
                              kRelayHandlers, nullptr, nullptr, nullptr};

// Deterministic payload bytes for message `seq`.
unsigned char Byte(uint64_t seq, size_t i)
{
    uint64_t x = (seq + 1) * UINT64_C(0x9e3779b97f4a7c15) + i * UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 29;
    return static_cast<unsigned char>(x ^ (x >> 17));
}

std::vector<unsigned char> Payload(uint64_t seq, size_t len)
{
    std::vector<unsigned char> v(len);
    for (size_t i = 0; i < len; i++)
        v[i] = Byte(seq, i);
    return v;
}

// ------------------------------------------------------------------------
// Bulk and Checker: Bulk sends n Chunks of varying sizes in one handler
// (far more than a small ring holds); Checker checks order, size and bytes.
// ------------------------------------------------------------------------

struct ChunkSpec {
    uint32_t n;
    uint32_t base;   // chunk seq has base + (seq * 37) % spread bytes
    uint32_t spread;
    uint32_t pad;
};
size_t ChunkLen(const ChunkSpec &s, uint64_t seq)
{
    return s.base + (seq * 37) % s.spread;
}
struct BulkGo {
    ts_addr peer;
    ChunkSpec spec;
};

int BulkGoFn(ts_ctx *ctx, void *, const ts_msg *m)
{
    BulkGo g;
    if (!tst::As(m, &g))
        return -EBADMSG;
    for (uint32_t seq = 0; seq < g.spec.n; seq++) {
        std::vector<unsigned char> p = Payload(seq, ChunkLen(g.spec, seq));
        std::memcpy(p.data(), &seq, sizeof seq);
        int rc = ts_send(ctx, g.peer, kChunk(), p.data(), p.size());
        if (rc < 0)
            return ts_reply(ctx, kFailed(), &rc, sizeof rc);
    }
    return 0;
}

const ts_handler_entry kBulkHandlers[] = {
    TS_ON("test.pinned.Go", BulkGoFn),
    TS_HANDLERS_END,
};
const ts_actor_type kBulk = {"test.pinned.Bulk", 0, nullptr, nullptr, kBulkHandlers, nullptr, nullptr, nullptr};

struct CheckerArg {
    ts_addr reporter;
    ChunkSpec spec;
};
struct CheckResult {
    uint64_t count;
    uint64_t out_of_order;
    uint64_t bad_len;
    uint64_t bad_bytes;
};
struct CheckerState {
    CheckerArg arg;
    CheckResult res;
};

int CheckerChunk(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<CheckerState *>(state);
    uint64_t want = st->res.count++;
    uint32_t seq = UINT32_MAX;
    if (m->len >= sizeof seq)
        std::memcpy(&seq, ts_msg_data(m), sizeof seq);
    if (seq != want)
        st->res.out_of_order++;
    if (m->len != ChunkLen(st->arg.spec, seq))
        st->res.bad_len++;
    else {
        const auto *p = static_cast<const unsigned char *>(ts_msg_data(m));
        for (size_t i = sizeof seq; i < m->len; i++) {
            if (p[i] != Byte(seq, i)) {
                st->res.bad_bytes++;
                break;
            }
        }
    }
    if (st->res.count == st->arg.spec.n)
        return ts_send(ctx, st->arg.reporter, kResult(), &st->res, sizeof st->res);
    return 0;
}

const ts_handler_entry kCheckerHandlers[] = {
    TS_ON("test.pinned.Chunk", CheckerChunk),
    TS_HANDLERS_END,
};
const ts_actor_type kChecker = {"test.pinned.Checker", sizeof(CheckerState),
                                    tst::InitFromArg<CheckerState>, nullptr,
                                kCheckerHandlers, nullptr, nullptr, nullptr};

// ------------------------------------------------------------------------
// Early messages: A creates a Late actor C and hands its address on at
// once; someone else sends C a Hello, which can reach C's shard before C's
// Start does. C reports whether its init had run when the Hello came.
// ------------------------------------------------------------------------

enum LateMode : uint32_t {
    kViaB = 0,        // A sends C's address to B; B sends Hello
    kRunqAhead = 1,   // as kViaB, with A's own run queue filled ahead of the Start
    kViaClient = 2,   // A replies C's address to the caller; the caller sends Hello
};
struct MakeLate {
    ts_addr b;
    ts_addr filler; // gets `fill` empty messages from A before the create
    ts_addr asker;
    int32_t c_core; // >= 0: TS_PLACE_CORE on it; -1: local
    uint32_t mode;
    uint32_t fill;
    uint32_t fail; // create a LateFail instead
};
struct Forward {
    ts_addr c;
    ts_addr asker;
};
struct LateReport {
    ts_addr c;
    uint32_t init_ran;
    uint32_t hellos;
};
struct LateState {
    uint32_t inited;
    uint32_t hellos;
};

int AMakeLate(ts_ctx *ctx, void *, const ts_msg *m)
{
    MakeLate q;
    if (!tst::As(m, &q))
        return -EBADMSG;
    for (uint32_t i = 0; i < q.fill; i++)
        ts_send(ctx, q.filler, kCount(), nullptr, 0);
    ts_create_opts o{};
    if (q.c_core >= 0) {
        o.placement = TS_PLACE_CORE;
        o.core = q.c_core;
    }
    ts_addr c = TS_ADDR_NONE;
    int rc = ts_create(ctx, q.fail ? "test.pinned.LateFail" : "test.pinned.Late", &o, &c);
    if (rc < 0)
        return ts_send(ctx, q.asker, kFailed(), &rc, sizeof rc);
    if (q.mode == kViaClient)
        return ts_send(ctx, q.asker, kCreated(), &c, sizeof c);
    Forward f{c, q.asker};
    return ts_send(ctx, q.b, kForward(), &f, sizeof f);
}

int BForward(ts_ctx *ctx, void *, const ts_msg *m)
{
    Forward f;
    if (!tst::As(m, &f))
        return -EBADMSG;
    return ts_send(ctx, f.c, kHello(), &f.asker, sizeof f.asker);
}

int Ignore(ts_ctx *, void *, const ts_msg *) { return 0; }

int LateInit(ts_ctx *, void *state, const void *, size_t)
{
    static_cast<LateState *>(state)->inited++;
    return 0;
}

int LateHello(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<LateState *>(state);
    ts_addr asker;
    if (!tst::As(m, &asker))
        return -EBADMSG;
    st->hellos++;
    LateReport r{ts_self(ctx), st->inited, st->hellos};
    ts_exit_self(ctx);
    return ts_send(ctx, asker, kReport(), &r, sizeof r);
}

const ts_handler_entry kAHandlers[] = {
    TS_ON("test.pinned.MakeLate", AMakeLate),
    TS_ON("test.pinned.Count", Ignore),
    TS_HANDLERS_END,
};
const ts_handler_entry kBHandlers[] = {
    TS_ON("test.pinned.Forward", BForward),
    TS_ON("test.pinned.Count", Ignore),
    TS_HANDLERS_END,
};
const ts_handler_entry kLateHandlers[] = {
    TS_ON("test.pinned.Hello", LateHello),
    TS_HANDLERS_END,
};
// Its init always fails: what reached it early comes back as Poison.
int LateFailInit(ts_ctx *, void *, const void *, size_t) { return -EPERM; }

const ts_actor_type kA = {"test.pinned.A", 0, nullptr, nullptr, kAHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kB = {"test.pinned.B", 0, nullptr, nullptr, kBHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kLate = {"test.pinned.Late", sizeof(LateState), LateInit, nullptr,
                             kLateHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kLateFail = {"test.pinned.LateFail", sizeof(LateState), LateFailInit, nullptr,
                                 kLateHandlers, nullptr, nullptr, nullptr};

// Sends the asker N numbered messages at once (N in the payload).
int SprayOut(ts_ctx *ctx, void *, const ts_msg *m)
{
    uint64_t n = 0;
    memcpy(&n, ts_msg_data(m), sizeof n);
    for (uint64_t i = 0; i < n; i++) {
        int rc = ts_reply(ctx, tst::kPing(), &i, sizeof i);
        if (rc < 0)
            return rc;
    }
    return 0;
}

const ts_handler_entry kSprayHandlers[] = {TS_ON("test.pinned.Spray", SprayOut), TS_HANDLERS_END};
const ts_actor_type kSprayer = {"test.pinned.Sprayer", 0, nullptr, nullptr, kSprayHandlers, nullptr, nullptr, nullptr};

// ------------------------------------------------------------------------
// The fixture: the pinned base, with its cores named explicitly so tests
// can place actors on a given shard with TS_PLACE_CORE.
// ------------------------------------------------------------------------

class PinnedTest : public tst::SystemTest {
  protected:
    void SetUp() override
    {
        cpus_ = tst::AllowedCpus();
        tst::SystemTest::SetUp();
        if (HasFatalFailure() || IsSkipped())
            return;
        ASSERT_FALSE(cpus_.empty()) << "sched_getaffinity gave no CPU";
        for (const ts_actor_type *t : {&kMaker, &kPinger, &kCounter, &kRelay, &kBulk, &kChecker,
                                       &kA, &kB, &kLate, &kLateFail, &kSprayer})
            TS_REGISTER(*t);
        TS_REOPEN(PinnedConfig());
    }

    // `shards` shards (fewer if this process may use fewer CPUs) on the
    // first allowed CPUs, listed in cfg.cores; shard i runs on ShardCpu(i).
    ts_config PinnedConfig(unsigned shards = 2, ts_log_level level = TS_LOG_WARNING)
    {
        ts_config cfg = Config(level);
        size_t n = std::min<size_t>(shards, cpus_.size());
        shard_cpus_.assign(cpus_.begin(), cpus_.begin() + static_cast<long>(n));
        cores_ = CoreList(shard_cpus_);
        cfg.cores = cores_.c_str();
        cfg.shards = static_cast<unsigned>(n);
        return cfg;
    }

    unsigned Shards() const { return static_cast<unsigned>(shard_cpus_.size()); }
    int ShardCpu(unsigned shard) const { return shard_cpus_.at(shard); }

    // Creates a top-level actor on the given shard (TS_PLACE_CORE).
    ts_addr CreateOn(const char *type, unsigned shard, const void *arg = nullptr, size_t len = 0)
    {
        ts_create_opts o{arg, len, nullptr, TS_PLACE_CORE, ShardCpu(shard), 0, nullptr, nullptr};
        ts_addr a = TS_ADDR_NONE;
        int rc = ts_system_create(sys(), type, &o, &a);
        EXPECT_EQ(rc, 0) << "create " << type << " on shard " << shard << ": " << ts_last_error();
        if (rc != 0)
            return TS_ADDR_NONE;
        EXPECT_EQ(ts_addr_shard(a), shard) << type << " at " << tst::AddrStr(a);
        return a;
    }

    // One Ping/Pong round trip with an Echo at a, from this caller.
    void ExpectEchoes(ts_addr a)
    {
        uint64_t v = a;
        Msg r = Ask(a, tst::kPing(), &v, sizeof v);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->type, tst::kPong());
        EXPECT_EQ(r->src, a);
        uint64_t back = 0;
        EXPECT_TRUE(tst::As(r.get(), &back));
        EXPECT_EQ(back, v);
    }

    // Asks a Maker to create `count` actors of `type` with these options.
    MakeRep MakeVia(ts_addr maker, const char *type, ts_placement how, int core, uint32_t count,
                    bool null_opts = false)
    {
        MakeReq q{};
        std::snprintf(q.type, sizeof q.type, "%s", type);
        q.placement = how;
        q.core = core;
        q.count = count;
        q.null_opts = null_opts;
        MakeRep rep{};
        Msg r = Ask(maker, kMake(), &q, sizeof q);
        EXPECT_TRUE(r);
        if (r) {
            EXPECT_EQ(r->type, kMade());
            EXPECT_TRUE(tst::As(r.get(), &rep));
        }
        return rep;
    }

    std::vector<int> cpus_;       // allowed CPUs
    std::vector<int> shard_cpus_; // CPU of each shard of the open system
    std::string cores_;           // cfg.cores of the open system
};

#define NEED_TWO_SHARDS()                                                                 \
    do {                                                                                  \
        if (Shards() < 2)                                                                 \
            GTEST_SKIP() << "needs two shards; this process may run on one CPU only";     \
    } while (0)

// ---- core lists and shard counts -----------------------------------------

TEST_P(PinnedTest, bad_core_lists_are_refused_with_a_reason)
{
    struct Case {
        const char *cores;
        std::vector<std::string> words; // the message names one of these
    };
    std::vector<Case> cases = {
        {"999", {"999"}},
        {"abc", {"abc"}},
        {"1-0", {"1-0", "backwards"}},
        {"0,0", {"0,0", "twice"}},
        {"0,", {"0,"}},
        {"0-", {"0-"}},
        {"0;1", {"0;1"}},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.cores);
        ts_config cfg = Config();
        cfg.cores = c.cores;
        cfg.shards = 0;
        OpenResult r = TryOpen(cfg);
        EXPECT_EQ(r.rc, -EINVAL) << r.err;
        EXPECT_FALSE(r.got_system) << "a failed open handed out a system";
        EXPECT_TRUE(tst::ContainsAnyCI(r.err, c.words)) << "ts_last_error: " << r.err;
    }
}

TEST_P(PinnedTest, more_shards_than_cores_is_refused)
{
    ts_config cfg = Config();
    cfg.cores = nullptr;
    cfg.shards = static_cast<unsigned>(cpus_.size()) + 1;
    OpenResult r = TryOpen(cfg);
    EXPECT_EQ(r.rc, -EINVAL) << r.err;
    EXPECT_FALSE(r.got_system);
    EXPECT_TRUE(tst::ContainsAnyCI(r.err, {"shard", "core"})) << r.err;

    cfg.shards = 300; // more than an address can name
    r = TryOpen(cfg);
    EXPECT_EQ(r.rc, -EINVAL) << r.err;

    // A list of one core and two shards do not agree.
    std::string one = std::to_string(cpus_[0]);
    cfg.cores = one.c_str();
    cfg.shards = 2;
    r = TryOpen(cfg);
    EXPECT_EQ(r.rc, -EINVAL) << r.err;
    EXPECT_TRUE(tst::ContainsAnyCI(r.err, {"shard", "core"})) << r.err;
}

TEST_P(PinnedTest, core_zero_runs_one_shard)
{
    if (!Has(cpus_, 0))
        GTEST_SKIP() << "this process may not run on CPU 0";
    for (unsigned shards : {1u, 0u}) {
        SCOPED_TRACE(shards);
        ts_config cfg = Config(TS_LOG_WARNING);
        cfg.cores = "0";
        cfg.shards = shards;
        TS_REOPEN(cfg);
        ts_create_opts rr{nullptr, 0, nullptr, TS_PLACE_ROUND_ROBIN, 0, 0, nullptr, nullptr};
        for (int i = 0; i < 3; i++) {
            ts_addr a = TS_ADDR_NONE;
            ASSERT_EQ(ts_system_create(sys(), tst::kEcho, &rr, &a), 0) << ts_last_error();
            EXPECT_EQ(ts_addr_shard(a), 0) << "only one shard exists";
            ExpectEchoes(a);
        }
        ts_create_opts core0{nullptr, 0, nullptr, TS_PLACE_CORE, 0, 0, nullptr, nullptr};
        ts_addr a = TS_ADDR_NONE;
        ASSERT_EQ(ts_system_create(sys(), tst::kEcho, &core0, &a), 0) << ts_last_error();
        EXPECT_EQ(ts_addr_shard(a), 0);
        ExpectEchoes(a);
    }
}

TEST_P(PinnedTest, cores_zero_to_one_run_two_shards)
{
    if (!Has(cpus_, 0) || !Has(cpus_, 1))
        GTEST_SKIP() << "this process may not run on both CPU 0 and CPU 1";
    for (unsigned shards : {2u, 0u}) {
        SCOPED_TRACE(shards);
        ts_config cfg = Config(TS_LOG_WARNING);
        cfg.cores = "0-1";
        cfg.shards = shards;
        TS_REOPEN(cfg);
        ts_create_opts rr{nullptr, 0, nullptr, TS_PLACE_ROUND_ROBIN, 0, 0, nullptr, nullptr};
        std::vector<int> got;
        for (int i = 0; i < 4; i++) {
            ts_addr a = TS_ADDR_NONE;
            ASSERT_EQ(ts_system_create(sys(), tst::kEcho, &rr, &a), 0) << ts_last_error();
            got.push_back(ts_addr_shard(a));
            ExpectEchoes(a);
        }
        EXPECT_EQ(got, (std::vector<int>{0, 1, 0, 1}));
    }
}

// ---- idle policies and ring sizes ----------------------------------------

TEST_P(PinnedTest, every_idle_policy_runs_a_cross_shard_ping_pong)
{
    constexpr uint64_t kRounds = 10000;
    const struct {
        const char *name;
        ts_idle want;
    } policies[] = {{"busy", TS_IDLE_BUSY}, {"adaptive", TS_IDLE_ADAPTIVE}, {"sleep", TS_IDLE_SLEEP}};
    for (const auto &p : policies) {
        SCOPED_TRACE(p.name);
        ts_idle idle = p.want == TS_IDLE_ADAPTIVE ? TS_IDLE_BUSY : TS_IDLE_ADAPTIVE;
        ASSERT_EQ(ts_idle_parse(p.name, &idle), 0) << ts_last_error();
        EXPECT_EQ(idle, p.want);
        ts_config cfg = PinnedConfig();
        cfg.idle = idle;
        TS_REOPEN(cfg);
        ts_addr client = ts_system_client_addr(sys());
        ts_addr pinger = CreateOn("test.pinned.Pinger", 0, &client, sizeof client);
        ts_addr echo = CreateOn(tst::kEcho, Shards() - 1);
        ASSERT_NE(pinger, TS_ADDR_NONE);
        ASSERT_NE(echo, TS_ADDR_NONE);
        PingGo go{echo, kRounds};
        Msg r = Ask(pinger, kGo(), &go, sizeof go, 10 * tst::kWait);
        ASSERT_TRUE(r);
        ASSERT_EQ(r->type, kResult());
        PingResult res{};
        ASSERT_TRUE(tst::As(r.get(), &res));
        EXPECT_EQ(res.send_error, 0);
        EXPECT_EQ(res.count, kRounds);
        EXPECT_EQ(res.out_of_order, 0u);
        EXPECT_EQ(res.wrong_sender, 0u);
        // The caller's own round trips work under this policy too.
        for (int i = 0; i < 100; i++)
            ExpectEchoes(echo);
    }
}

TEST_P(PinnedTest, bad_idle_policies_are_refused)
{
    ts_idle idle = TS_IDLE_SLEEP;
    for (const char *bad : {"", "spin", "adaptive ", "sleepy"}) {
        EXPECT_EQ(ts_idle_parse(bad, &idle), -EINVAL) << "'" << bad << "'";
        EXPECT_TRUE(tst::ContainsAnyCI(ts_last_error(), {"idle"})) << ts_last_error();
    }
    EXPECT_EQ(ts_idle_parse(nullptr, &idle), -EINVAL);
    EXPECT_EQ(ts_idle_parse("busy", nullptr), -EINVAL);
    EXPECT_EQ(idle, TS_IDLE_SLEEP) << "a failed parse changed the output";

    ts_config cfg = PinnedConfig();
    int bad_value = 7;
    static_assert(sizeof cfg.idle == sizeof bad_value, "ts_idle is an int");
    std::memcpy(&cfg.idle, &bad_value, sizeof bad_value);
    OpenResult r = TryOpen(cfg);
    EXPECT_EQ(r.rc, -EINVAL) << r.err;
    EXPECT_TRUE(tst::ContainsAnyCI(r.err, {"idle"})) << r.err;
}

TEST_P(PinnedTest, bad_ring_sizes_are_refused)
{
    for (size_t bad : {size_t{1}, size_t{2048}, size_t{4095}, size_t{4097}, size_t{6000},
                       size_t{3 * 4096}, (size_t{256} << 10) + 8, size_t{2} << 30}) {
        SCOPED_TRACE(bad);
        ts_config cfg = PinnedConfig();
        cfg.ring_size = bad;
        OpenResult r = TryOpen(cfg);
        EXPECT_EQ(r.rc, -EINVAL) << r.err;
        EXPECT_FALSE(r.got_system);
        EXPECT_TRUE(tst::ContainsAnyCI(r.err, {"ring"})) << r.err;
    }
    for (size_t good : {size_t{4096}, size_t{64} << 10, size_t{1} << 20}) {
        SCOPED_TRACE(good);
        ts_config cfg = PinnedConfig();
        cfg.ring_size = good;
        TS_REOPEN(cfg);
        for (unsigned s = 0; s < Shards(); s++)
            ExpectEchoes(CreateOn(tst::kEcho, s));
    }
}

// ---- placement ------------------------------------------------------------

TEST_P(PinnedTest, place_core_puts_the_actor_on_that_cores_shard)
{
    if (cpus_.size() < 2)
        GTEST_SKIP() << "needs two CPUs";
    // The list backwards: shard 0 runs on the second CPU, shard 1 on the
    // first, so a shard's index and its CPU number differ.
    int c0 = cpus_[0], c1 = cpus_[1];
    std::string list = std::to_string(c1) + "," + std::to_string(c0);
    ts_config cfg = Config(TS_LOG_WARNING);
    cfg.cores = list.c_str();
    cfg.shards = 2;
    TS_REOPEN(cfg);

    // From outside.
    for (auto want : {std::make_pair(c0, 1), std::make_pair(c1, 0)}) {
        ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_CORE, want.first, 0, nullptr, nullptr};
        ts_addr a = TS_ADDR_NONE;
        ASSERT_EQ(ts_system_create(sys(), tst::kEcho, &o, &a), 0) << ts_last_error();
        EXPECT_EQ(ts_addr_shard(a), want.second) << "core " << want.first;
        ExpectEchoes(a);
    }
    // From inside, from a maker on either shard.
    for (int maker_core : {c0, c1}) {
        ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_CORE, maker_core, 0, nullptr, nullptr};
        ts_addr maker = TS_ADDR_NONE;
        ASSERT_EQ(ts_system_create(sys(), "test.pinned.Maker", &o, &maker), 0) << ts_last_error();
        for (auto want : {std::make_pair(c0, 1), std::make_pair(c1, 0)}) {
            MakeRep rep = MakeVia(maker, tst::kEcho, TS_PLACE_CORE, want.first, 2);
            for (int i = 0; i < 2; i++) {
                ASSERT_EQ(rep.rc[i], 0) << rep.err;
                EXPECT_EQ(ts_addr_shard(rep.addr[i]), want.second)
                    << "core " << want.first << " from a maker on core " << maker_core;
                ExpectEchoes(rep.addr[i]);
            }
        }
    }
}

TEST_P(PinnedTest, place_core_that_runs_no_shard_is_einval)
{
    // CPUs this system does not run on: allowed ones outside its list, one
    // that does not exist, and nonsense.
    std::vector<int> outside = {999, -1, CPU_SETSIZE + 5};
    for (int c : cpus_)
        if (!Has(shard_cpus_, c))
            outside.push_back(c);
    ts_addr maker = CreateOn("test.pinned.Maker", Shards() - 1);
    ASSERT_NE(maker, TS_ADDR_NONE);
    ts_system_stats before = Stats();
    for (int core : outside) {
        SCOPED_TRACE(core);
        ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_CORE, core, 0, nullptr, nullptr};
        ts_addr a = TS_ADDR_NONE;
        EXPECT_EQ(ts_system_create(sys(), tst::kEcho, &o, &a), -EINVAL);
        std::string err = ts_last_error();
        EXPECT_TRUE(tst::ContainsAnyCI(err, {std::to_string(core)})) << err;
        EXPECT_EQ(a, TS_ADDR_NONE);

        MakeRep rep = MakeVia(maker, tst::kEcho, TS_PLACE_CORE, core, 1);
        EXPECT_EQ(rep.rc[0], -EINVAL);
        EXPECT_TRUE(tst::ContainsAnyCI(rep.err, {std::to_string(core)})) << rep.err;
    }
    ts_system_stats after = Stats();
    EXPECT_EQ(after.actors_created, before.actors_created) << "a refused create made an actor";
    EXPECT_EQ(after.actors_live, before.actors_live);
}

TEST_P(PinnedTest, round_robin_from_one_creator_alternates_shards)
{
    NEED_TWO_SHARDS();
    // From outside: this caller's cursor.
    ts_create_opts rr{nullptr, 0, nullptr, TS_PLACE_ROUND_ROBIN, 0, 0, nullptr, nullptr};
    std::vector<int> got;
    for (int i = 0; i < 4; i++) {
        ts_addr a = TS_ADDR_NONE;
        ASSERT_EQ(ts_system_create(sys(), tst::kEcho, &rr, &a), 0) << ts_last_error();
        got.push_back(ts_addr_shard(a));
        ExpectEchoes(a);
    }
    EXPECT_EQ(got, (std::vector<int>{0, 1, 0, 1}));

    // From inside, on each shard.
    for (unsigned s = 0; s < Shards(); s++) {
        ts_addr maker = CreateOn("test.pinned.Maker", s);
        MakeRep rep = MakeVia(maker, tst::kEcho, TS_PLACE_ROUND_ROBIN, 0, 4);
        got.clear();
        for (int i = 0; i < 4; i++) {
            ASSERT_EQ(rep.rc[i], 0) << rep.err;
            got.push_back(ts_addr_shard(rep.addr[i]));
            ExpectEchoes(rep.addr[i]);
        }
        EXPECT_EQ(got, (std::vector<int>{0, 1, 0, 1})) << "maker on shard " << s;
    }
}

TEST_P(PinnedTest, default_placement_is_the_creators_shard)
{
    // From outside: shard 0.
    for (bool null_opts : {true, false}) {
        ts_create_opts local{nullptr, 0, nullptr, TS_PLACE_LOCAL, 0, 0, nullptr, nullptr};
        ts_addr a = TS_ADDR_NONE;
        ASSERT_EQ(ts_system_create(sys(), tst::kEcho, null_opts ? nullptr : &local, &a), 0)
            << ts_last_error();
        EXPECT_EQ(ts_addr_shard(a), 0);
    }
    // From inside: the maker's shard, with NULL options and with LOCAL.
    for (unsigned s = 0; s < Shards(); s++) {
        ts_addr maker = CreateOn("test.pinned.Maker", s);
        for (bool null_opts : {true, false}) {
            MakeRep rep = MakeVia(maker, tst::kEcho, TS_PLACE_LOCAL, 0, 3, null_opts);
            EXPECT_EQ(rep.maker_shard, s);
            for (int i = 0; i < 3; i++) {
                ASSERT_EQ(rep.rc[i], 0) << rep.err;
                EXPECT_EQ(ts_addr_shard(rep.addr[i]), s) << "null opts " << null_opts;
                ExpectEchoes(rep.addr[i]);
            }
        }
    }
}

// ---- back-pressure to external callers -------------------------------------

// Design §3: a full ring is "reported as -EAGAIN to external callers", and
// nothing told before is lost or duplicated.
TEST_P(PinnedTest, tell_to_a_full_ring_returns_eagain_and_loses_nothing)
{
    ts_config cfg = PinnedConfig();
    cfg.ring_size = 4096;
    TS_REOPEN(cfg);
    g_gate.Reset();
    GateOpener opener;
    ts_addr counter = CreateOn("test.pinned.Counter", Shards() - 1);
    ASSERT_NE(counter, TS_ADDR_NONE);

    // The counter's shard stops inside Block; the ring from this caller to
    // it cannot drain, so telling must run into -EAGAIN within a ringful.
    Tell(counter, kBlock());
    uint64_t told = 0;
    int rc = 0;
    for (; told < 100000; told++) {
        rc = ts_tell(sys(), counter, kCount(), &told, sizeof told);
        if (rc != 0)
            break;
    }
    std::string err = ts_last_error();
    ASSERT_EQ(rc, -EAGAIN) << "told " << told << " messages to a 4 KiB ring: " << err;
    EXPECT_TRUE(tst::ContainsAnyCI(err, {"full"})) << err;
    EXPECT_GT(told, 0u);
    // Still full while the shard is held: a tell and an ask both say so.
    uint64_t extra = told;
    EXPECT_EQ(ts_tell(sys(), counter, kCount(), &extra, sizeof extra), -EAGAIN);
    ts_msg *reply = nullptr;
    EXPECT_EQ(ts_ask(sys(), counter, kGet(), nullptr, 0, tst::kWait, &reply), -EAGAIN);
    EXPECT_EQ(reply, nullptr);

    // Let it go. Released comes after the shard handled (and gave back)
    // what it took from the ring with Block.
    g_gate.Open();
    Msg r = Listen();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, kReleased());

    r = Ask(counter, kGet());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kResult());
    CountRep rep{};
    ASSERT_TRUE(tst::As(r.get(), &rep));
    EXPECT_EQ(rep.count, told) << "every message told before -EAGAIN, and none refused";
    EXPECT_EQ(rep.out_of_order, 0u);

    // The caller can go on after -EAGAIN: later tells arrive, in order.
    for (int i = 0; i < 50; i++, told++)
        Tell(counter, kCount(), &told, sizeof told);
    Drain();
    r = Ask(counter, kGet());
    ASSERT_TRUE(r);
    ASSERT_TRUE(tst::As(r.get(), &rep));
    EXPECT_EQ(rep.count, told) << "nothing handled twice";
    EXPECT_EQ(rep.out_of_order, 0u);
}

// Regression: shutdown used to give up with -EAGAIN when the caller's ring
// to a shard was full, yet mark the system shut down, leaving actors live.
// thespis.h: shutdown "asks every actor to exit ... and waits until they
// have". Here shard 0 is held for 2 s in a handler while the caller's ring
// to it is full: a shutdown that waits for room gets through once the
// handler returns.
TEST_P(PinnedTest, shutdown_with_a_full_ring_still_exits_every_actor)
{
    ts_config cfg = PinnedConfig();
    cfg.ring_size = 4096;
    TS_REOPEN(cfg);
    g_gate.Reset();
    GateOpener opener;
    ts_addr counter = CreateOn("test.pinned.Counter", 0);
    ASSERT_NE(counter, TS_ADDR_NONE);
    g_finis = 0;
    uint32_t hold_s = 2;
    Tell(counter, kBlock(), &hold_s, sizeof hold_s);
    // Empty messages, as small as shutdown's own: not even one more fits.
    int rc = 0;
    for (int i = 0; i < 100000 && rc == 0; i++)
        rc = ts_tell(sys(), counter, kCount(), nullptr, 0);
    ASSERT_EQ(rc, -EAGAIN);

    EXPECT_EQ(ts_system_shutdown(sys()), 0) << ts_last_error();
    g_gate.Open(); // whatever happened, let the shard go
    ts_system_stats st{};
    ASSERT_EQ(ts_system_stats_get(sys(), &st), 0);
    EXPECT_EQ(st.actors_live, 0u) << "actors left running after shutdown";
    CloseSystem();
    EXPECT_EQ(g_finis.load(), 1) << "the counter was never asked to exit";
}

// ---- messages larger than a ring record ------------------------------------

TEST_P(PinnedTest, large_messages_cross_shards_intact)
{
    // 256 KiB rings: a record holds at most 64 KiB (envelope included).
    ts_config cfg = PinnedConfig();
    cfg.ring_size = 256u << 10;
    TS_REOPEN(cfg);
    ts_addr echo = CreateOn(tst::kEcho, Shards() - 1);
    ts_addr client = ts_system_client_addr(sys());
    RelayArg ra{client, echo};
    ts_addr relay = CreateOn("test.pinned.Relay", 0, &ra, sizeof ra);
    ASSERT_NE(echo, TS_ADDR_NONE);
    ASSERT_NE(relay, TS_ADDR_NONE);

    const size_t sizes[] = {(64u << 10) - 32, (64u << 10) - 31, 64u << 10, 200000, 1u << 20,
                            (5u << 20) + 3};
    uint64_t seq = 0;
    for (size_t len : sizes) {
        SCOPED_TRACE(len);
        std::vector<unsigned char> p = Payload(seq++, len);
        // Caller -> echo's shard -> caller.
        Msg r = Ask(echo, tst::kPing(), p.data(), p.size(), 6 * tst::kWait);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->type, tst::kPong());
        ASSERT_EQ(r->len, len);
        EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), p.data(), len), 0) << "bytes changed";
        // Caller -> relay (shard 0) -> echo (last shard) -> relay -> caller.
        r = Ask(relay, kBig(), p.data(), p.size(), 6 * tst::kWait);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->type, kBigBack());
        ASSERT_EQ(r->len, len);
        EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), p.data(), len), 0) << "bytes changed";
    }

    // Several at once, so they queue behind each other.
    constexpr int kBurst = 8;
    std::vector<std::vector<unsigned char>> sent;
    for (int i = 0; i < kBurst; i++) {
        sent.push_back(Payload(seq++, (1u << 20) + 8 * i));
        Tell(relay, kBig(), sent.back().data(), sent.back().size());
    }
    for (int i = 0; i < kBurst; i++) {
        Msg r = Listen(6 * tst::kWait);
        ASSERT_TRUE(r);
        ASSERT_EQ(r->len, sent[i].size()) << "out of order or resized at " << i;
        EXPECT_EQ(std::memcmp(ts_msg_data(r.get()), sent[i].data(), r->len), 0);
    }
}

// Large and small chunks, thousands in one handler, over 4 KiB rings (a
// record holds 1 KiB): the ring fills, the rest waits in the overflow
// queue, and everything arrives in order and intact.
TEST_P(PinnedTest, large_messages_through_a_full_ring_and_its_overflow)
{
    ts_config cfg = PinnedConfig();
    cfg.ring_size = 4096;
    TS_REOPEN(cfg);
    ChunkSpec spec{3000, 700, 2500, 0}; // 700..3199 bytes: both sides of 1 KiB
    ts_addr client = ts_system_client_addr(sys());
    CheckerArg ca{client, spec};
    ts_addr checker = CreateOn("test.pinned.Checker", Shards() - 1, &ca, sizeof ca);
    ts_addr bulk = CreateOn("test.pinned.Bulk", 0);
    ASSERT_NE(checker, TS_ADDR_NONE);
    ASSERT_NE(bulk, TS_ADDR_NONE);
    BulkGo go{checker, spec};
    Msg r = Ask(bulk, kGo(), &go, sizeof go, 6 * tst::kWait);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kResult()) << "Bulk failed to send";
    CheckResult res{};
    ASSERT_TRUE(tst::As(r.get(), &res));
    EXPECT_EQ(res.count, spec.n);
    EXPECT_EQ(res.out_of_order, 0u);
    EXPECT_EQ(res.bad_len, 0u);
    EXPECT_EQ(res.bad_bytes, 0u);
    EXPECT_GT(Stats().overflow_hwm, 0u) << "3000 chunks in one handler fit a 4 KiB ring?";
}

// ---- early messages ---------------------------------------------------------

// A message sent to a freshly created actor by a third party can reach the
// actor's shard before its Start; it is delivered after init (design §4).
TEST_P(PinnedTest, message_that_overtakes_a_start_is_delivered_after_init)
{
    NEED_TWO_SHARDS();
    constexpr int kReps = 1000;
    const int c_core = ShardCpu(1);
    const struct {
        const char *name;
        LateMode mode;
        unsigned a_shard; // where A runs
        int c_core;       // where C goes (-1: A's shard)
        uint32_t fill;
    } variants[] = {
        {"A0 creates C on 1, B on 0 or 1 sends", kViaB, 0, c_core, 0},
        {"A1 creates C on 1 behind a full run queue, B on 0 sends", kRunqAhead, 1, -1, 200},
        {"A0 creates C on 1 behind 200 messages, the caller sends", kViaClient, 0, c_core, 200},
    };
    ts_addr client = ts_system_client_addr(sys());
    ts_addr b[2] = {CreateOn("test.pinned.B", 0), CreateOn("test.pinned.B", 1)};
    ts_system_stats before = Stats();
    for (const auto &v : variants) {
        SCOPED_TRACE(v.name);
        ts_addr a = CreateOn("test.pinned.A", v.a_shard);
        ASSERT_NE(a, TS_ADDR_NONE);
        for (int i = 0; i < kReps; i++) {
            MakeLate q{};
            q.b = v.mode == kRunqAhead ? b[0] : b[i % 2];
            // Fill ahead of the Start: A's own run queue, or the ring to
            // C's shard.
            q.filler = v.mode == kRunqAhead ? a : b[1];
            q.asker = client;
            q.c_core = v.c_core;
            q.mode = v.mode;
            q.fill = v.fill;
            Tell(a, kMakeLate(), &q, sizeof q);
        }
        std::set<ts_addr> seen;
        int reports = 0, not_inited = 0, repeated = 0;
        while (reports < kReps) {
            Msg r = Listen();
            ASSERT_TRUE(r) << "after " << reports << " reports";
            if (r->type == kCreated()) {
                ts_addr c = TS_ADDR_NONE;
                ASSERT_TRUE(tst::As(r.get(), &c));
                EXPECT_EQ(ts_addr_shard(c), 1);
                Tell(c, kHello(), &client, sizeof client);
                continue;
            }
            ASSERT_EQ(r->type, kReport()) << "unexpected type (a Failed create?)";
            LateReport rep{};
            ASSERT_TRUE(tst::As(r.get(), &rep));
            reports++;
            not_inited += rep.init_ran != 1;
            repeated += rep.hellos != 1;
            EXPECT_EQ(ts_addr_shard(rep.c), 1);
            EXPECT_TRUE(seen.insert(rep.c).second) << "two reports from " << tst::AddrStr(rep.c);
        }
        EXPECT_EQ(not_inited, 0) << "a Hello was handled before its actor's init";
        EXPECT_EQ(repeated, 0);
    }
    Drain();
    ts_system_stats after = Stats();
    EXPECT_EQ(after.dead_letters, before.dead_letters) << "an early message became a dead letter";
    EXPECT_EQ(after.actors_created - before.actors_created, 3u * kReps + 3u);
    EXPECT_EQ(after.actors_live - before.actors_live, 3u) << "every C exited; the As live";
    EXPECT_EQ(CountLog("TS-INTERNAL"), 0u) << LogDump();
}

// An early message to an actor whose init then fails comes back to its
// sender as Poison, with init's errno (thespis.h, ts_actor_type.init).
TEST_P(PinnedTest, early_message_to_an_actor_whose_init_fails_comes_back_as_poison)
{
    NEED_TWO_SHARDS();
    constexpr int kReps = 300;
    ts_addr client = ts_system_client_addr(sys());
    ts_addr b1 = CreateOn("test.pinned.B", 1);
    ts_addr a = CreateOn("test.pinned.A", 0);
    ASSERT_NE(a, TS_ADDR_NONE);
    ts_system_stats before = Stats();
    // One at a time, so no failed actor's slot is reused before its Poison.
    for (int i = 0; i < kReps; i++) {
        MakeLate q{};
        q.b = b1;
        q.filler = b1; // 200 messages ahead of the Start in the ring to shard 1
        q.asker = client;
        q.c_core = ShardCpu(1);
        q.mode = kViaClient;
        q.fill = 200;
        q.fail = 1;
        Tell(a, kMakeLate(), &q, sizeof q);
        Msg r = Listen();
        ASSERT_TRUE(r);
        ASSERT_EQ(r->type, kCreated()) << "rep " << i;
        ts_addr c = TS_ADDR_NONE;
        ASSERT_TRUE(tst::As(r.get(), &c));
        Tell(c, kHello(), &client, sizeof client);
        r = Listen();
        ASSERT_TRUE(r) << "rep " << i << ": no Poison for the Hello";
        ASSERT_EQ(r->type, TS_MSG_POISON) << "rep " << i;
        ts_poison p{};
        ASSERT_EQ(ts_poison_decode(r.get(), &p), 0);
        EXPECT_EQ(p.original_dst, c);
        EXPECT_EQ(p.original_type, kHello());
        EXPECT_EQ(p.reason, -EPERM);
        ASSERT_EQ(p.original_len, sizeof client);
        EXPECT_EQ(std::memcmp(p.original, &client, sizeof client), 0);
    }
    Drain();
    ts_system_stats after = Stats();
    EXPECT_EQ(after.poisoned - before.poisoned, uint64_t{kReps});
    EXPECT_EQ(after.dead_letters, before.dead_letters);
    EXPECT_EQ(after.actors_created - before.actors_created, uint64_t{kReps});
    EXPECT_EQ(after.actors_live, before.actors_live) << "every LateFail is gone";
}

// ---- resources ---------------------------------------------------------------

size_t CountDir(const char *path)
{
    size_t n = 0;
    if (DIR *d = opendir(path)) {
        while (readdir(d))
            n++;
        closedir(d);
    }
    return n;
}

// Shard threads, the logger, ring segments (memfds) and caller mailboxes
// all go away with the system.
TEST_P(PinnedTest, open_and_close_many_times_leaves_no_thread_or_descriptor)
{
    CloseSystem();
    const size_t fds = CountDir("/proc/self/fd"), tasks = CountDir("/proc/self/task");
    for (int i = 0; i < 30; i++) {
        TS_REOPEN(PinnedConfig());
        ts_addr echo = CreateOn(tst::kEcho, Shards() - 1);
        ExpectEchoes(echo);
        int rc = -1;
        std::thread([&] { // a second caller, with a mailbox of its own
            uint64_t v = 7;
            ts_msg *r = nullptr;
            rc = ts_ask(sys(), echo, tst::kPing(), &v, sizeof v, tst::kWait, &r);
            ts_msg_free(r);
        }).join();
        EXPECT_EQ(rc, 0);
        CloseSystem();
    }
    EXPECT_EQ(CountDir("/proc/self/fd"), fds);
    EXPECT_EQ(CountDir("/proc/self/task"), tasks);
}

// Regression: caller mailboxes used to be found by pthread_t, which glibc
// reuses for the next thread at once, so a new thread inherited an exited
// thread's mailbox and unread replies (111, not 222). Each thread that
// calls gets a mailbox of its own.
TEST_P(PinnedTest, a_new_thread_does_not_get_an_exited_threads_replies)
{
    ts_addr echo = CreateOn(tst::kEcho, Shards() - 1);
    ASSERT_NE(echo, TS_ADDR_NONE);
    ts_addr first_box = TS_ADDR_NONE, second_box = TS_ADDR_NONE;
    std::thread([&] {
        uint64_t v = 111;
        EXPECT_EQ(ts_tell(sys(), echo, tst::kPing(), &v, sizeof v), 0);
        first_box = ts_system_client_addr(sys());
    }).join(); // leaves without reading the reply
    Drain();
    uint64_t got = 0;
    int rc = -1;
    std::thread([&] {
        uint64_t v = 222;
        ts_msg *r = nullptr;
        rc = ts_ask(sys(), echo, tst::kPing(), &v, sizeof v, tst::kWait, &r);
        if (r)
            tst::As(r, &got);
        ts_msg_free(r);
        second_box = ts_system_client_addr(sys());
    }).join();
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(got, 222u) << "the new thread got the exited thread's reply";
    EXPECT_NE(second_box, first_box) << "two threads share one mailbox";
}

// Regression: while ts_system_create waited for its shard's answer, it took
// other messages out of the caller's mailbox and put them back at the end,
// so replies that arrived meanwhile came out of order.
TEST_P(PinnedTest, replies_arriving_during_a_create_keep_their_order)
{
    ts_addr sprayer = CreateOn("test.pinned.Sprayer", Shards() - 1);
    ASSERT_NE(sprayer, TS_ADDR_NONE);
    constexpr uint64_t kN = 2000;
    for (int round = 0; round < 20; round++) {
        Tell(sprayer, ts_type_id("test.pinned.Spray"), &kN, sizeof kN);
        for (int k = 0; k < 5; k++) { // creations while the replies pour in
            ts_addr e = TS_ADDR_NONE;
            ASSERT_EQ(ts_system_create(sys(), tst::kEcho, nullptr, &e), 0) << ts_last_error();
        }
        for (uint64_t i = 0; i < kN; i++) {
            Msg r = Listen();
            ASSERT_TRUE(r) << "round " << round << " message " << i;
            uint64_t got = UINT64_MAX;
            ASSERT_TRUE(tst::As(r.get(), &got));
            ASSERT_EQ(got, i) << "round " << round << ": replies out of order";
        }
    }
}

// Many callers at once, each with its own mailbox: every reply is its own.
TEST_P(PinnedTest, a_hundred_threads_ask_at_once)
{
    ts_addr echo = CreateOn(tst::kEcho, Shards() - 1);
    ASSERT_NE(echo, TS_ADDR_NONE);
    constexpr uint64_t kCallers = 100, kAsks = 50;
    std::atomic<uint64_t> good{0}, bad{0};
    std::vector<std::thread> callers;
    for (uint64_t t = 0; t < kCallers; t++) {
        callers.emplace_back([&, t] {
            for (uint64_t i = 0; i < kAsks; i++) {
                uint64_t v = t * 1000000 + i, got = 0;
                ts_msg *r = nullptr;
                int rc = ts_ask(sys(), echo, tst::kPing(), &v, sizeof v, tst::kWait, &r);
                bool ok = rc == 0 && tst::As(r, &got) && got == v;
                (ok ? good : bad)++;
                ts_msg_free(r);
            }
        });
    }
    for (auto &c : callers)
        c.join();
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_EQ(good.load(), kCallers * kAsks);
}

// Mailboxes of exited threads are taken over by new threads, so a program
// may call from any number of short-lived threads over time (1024 at once).
// Each thread leaves a reply unread; its successor must never see it.
TEST_P(PinnedTest, many_short_lived_threads_each_get_their_own_replies)
{
    ts_addr echo = CreateOn(tst::kEcho, Shards() - 1);
    ASSERT_NE(echo, TS_ADDR_NONE);
    constexpr uint64_t kThreadsOverTime = 300;
    uint64_t wrong = 0, failed = 0;
    std::set<ts_addr> boxes;
    for (uint64_t t = 0; t < kThreadsOverTime; t++) {
        std::thread([&] {
            uint64_t v = 1000 + t, stale = 5000 + t;
            ts_msg *r = nullptr;
            if (ts_ask(sys(), echo, tst::kPing(), &v, sizeof v, tst::kWait, &r) != 0) {
                failed++;
                return;
            }
            uint64_t got = 0;
            if (!tst::As(r, &got) || got != v)
                wrong++;
            ts_msg_free(r);
            boxes.insert(ts_system_client_addr(sys()));
            ts_tell(sys(), echo, tst::kPing(), &stale, sizeof stale); // never read
        }).join();
    }
    EXPECT_EQ(failed, 0u) << ts_last_error();
    EXPECT_EQ(wrong, 0u) << "a thread got a reply meant for the mailbox's earlier owner";
    EXPECT_EQ(boxes.size(), kThreadsOverTime) << "every thread had an address of its own";
}

INSTANTIATE_TEST_SUITE_P(Pinned, PinnedTest, ::testing::Values(TS_BASE_PINNED),
                         ::tst::BaseParamName());

} // namespace
