// SPDX-License-Identifier: MIT
// pinned_stress_test.cc — exact counts at volume where shards run in
// parallel (design §2, §3): 10M messages from 8 senders into one receiver
// with per-sender order; two shards flooding each other through full rings;
// 200k creations and exits across shards, with grandchildren; ExitRequest
// down trees of actors spread over both shards; shutdown in the middle of a
// flood; 4 external threads asking and telling at once. Written against the public API for
// every base; the tests that need two shards or several callers skip on
// the simple base. Suite 'stress'.
//
// THESPIS_STRESS_SCALE (a divisor, default 1) shrinks every volume; the
// sanitizer builds set it (tests/scenario/meson.build).
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ts_test.h"

using tst::Msg;

namespace {

constexpr uint64_t kStressWait = UINT64_C(300) * 1000 * 1000 * 1000;
constexpr uint64_t kMul = UINT64_C(0x9e3779b97f4a7c15);

unsigned Scale()
{
    const char *s = std::getenv("THESPIS_STRESS_SCALE");
    long v = s ? std::strtol(s, nullptr, 10) : 1;
    return v >= 1 ? static_cast<unsigned>(v) : 1u;
}

// n shrunk by THESPIS_STRESS_SCALE, never below `floor`.
uint64_t Scaled(uint64_t n, uint64_t floor = 1)
{
    return std::max<uint64_t>(n / Scale(), floor);
}


TS_TYPE_ID(kGo, "test.pstress.Go")
TS_TYPE_ID(kNext, "test.pstress.Next")
TS_TYPE_ID(kSeq, "test.pstress.Seq")
TS_TYPE_ID(kResult, "test.pstress.Result")
TS_TYPE_ID(kCount, "test.pstress.Count")
TS_TYPE_ID(kSendError, "test.pstress.SendError")
TS_TYPE_ID(kPoke, "test.pstress.Poke")
TS_TYPE_ID(kKill, "test.pstress.Kill")
TS_TYPE_ID(kGrandGone, "test.pstress.GrandGone")
#undef TYPE_ID

struct SendError {
    uint32_t who;
    int32_t rc;
};

// ========================================================================
// N:1 fan-in. Each FanSender sends Seq{index, 0..n-1} to the receiver, a
// burst per handler call, then a Next to itself for the next burst: it
// never loops for long, and a full ring spills into the overflow queue.
// FanReceiver checks every sender's sequence and reports once all came.
// ========================================================================

constexpr unsigned kSenders = 8;

struct FanSeq {
    uint32_t sender;
    uint32_t seq;
    uint64_t check;
};
uint64_t FanCheck(uint32_t sender, uint32_t seq)
{
    return ((uint64_t{sender} << 32) | seq) * kMul;
}

struct FanGo {
    ts_addr receiver;
    ts_addr reporter;
    uint32_t index;
    uint32_t n;
    uint32_t burst;
    uint32_t pad;
};
struct FanSenderState {
    FanGo go;
    uint32_t sent;
    bool failed;
};

int FanBurst(ts_ctx *ctx, FanSenderState *st)
{
    for (uint32_t i = 0; i < st->go.burst && st->sent < st->go.n; i++, st->sent++) {
        FanSeq s{st->go.index, st->sent, FanCheck(st->go.index, st->sent)};
        int rc = ts_send(ctx, st->go.receiver, kSeq(), &s, sizeof s);
        if (rc < 0) {
            st->failed = true;
            SendError e{st->go.index, rc};
            return ts_send(ctx, st->go.reporter, kSendError(), &e, sizeof e);
        }
    }
    return st->sent < st->go.n ? ts_send(ctx, ts_self(ctx), kNext(), nullptr, 0) : 0;
}

int FanSenderGo(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<FanSenderState *>(state);
    if (!tst::As(m, &st->go) || st->go.burst == 0)
        return -EBADMSG;
    return FanBurst(ctx, st);
}

int FanSenderNext(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<FanSenderState *>(state);
    return st->failed ? 0 : FanBurst(ctx, st);
}

struct FanRecvArg {
    ts_addr reporter;
    uint64_t total;
};
struct FanResult {
    uint64_t total;
    uint64_t out_of_order;
    uint64_t bad_payload;
    uint64_t unknown_sender;
    uint64_t count[kSenders];
};
struct FanRecvState {
    FanRecvArg arg;
    FanResult res;
    uint64_t next[kSenders];
};

int FanRecvSeq(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<FanRecvState *>(state);
    FanSeq s{};
    st->res.total++;
    if (!tst::As(m, &s) || s.sender >= kSenders) {
        st->res.unknown_sender++;
    } else {
        if (s.check != FanCheck(s.sender, s.seq))
            st->res.bad_payload++;
        if (s.seq != st->next[s.sender])
            st->res.out_of_order++;
        st->next[s.sender] = uint64_t{s.seq} + 1;
        st->res.count[s.sender]++;
    }
    if (st->res.total == st->arg.total)
        return ts_send(ctx, st->arg.reporter, kResult(), &st->res, sizeof st->res);
    return 0;
}

const ts_handler_entry kFanSenderHandlers[] = {
    TS_ON("test.pstress.Go", FanSenderGo),
    TS_ON("test.pstress.Next", FanSenderNext),
    TS_HANDLERS_END,
};
const ts_handler_entry kFanRecvHandlers[] = {
    TS_ON("test.pstress.Seq", FanRecvSeq),
    TS_ON("test.pstress.Count", (tst::ReplyResult<FanRecvState, kResult>)),
    TS_HANDLERS_END,
};
const ts_actor_type kFanSender = {"test.pstress.FanSender", sizeof(FanSenderState), nullptr,
                                  nullptr, kFanSenderHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kFanReceiver = {"test.pstress.FanReceiver", sizeof(FanRecvState),
                                    tst::InitFromArg<FanRecvState>,
                                    nullptr, kFanRecvHandlers, nullptr, nullptr, nullptr};

// ========================================================================
// Flood: two Flooders, each sending the other n Seq as fast as its handler
// runs (a burst far larger than a ring per call, then Next to itself), each
// checking and counting what it receives.
// ========================================================================

struct FloodArg {
    ts_addr reporter;
    uint64_t n;
    uint32_t burst;
    uint32_t pad;
};
struct FloodSeq {
    uint64_t seq;
    uint64_t check;
};
struct FloodResult {
    uint64_t received;
    uint64_t out_of_order;
    uint64_t bad_payload;
    uint64_t sent;
    int32_t send_error;
    int32_t pad;
};
struct FlooderState {
    FloodArg arg;
    ts_addr peer;
    FloodResult res;
};

int FloodBurst(ts_ctx *ctx, FlooderState *st)
{
    for (uint32_t i = 0; i < st->arg.burst && st->res.sent < st->arg.n; i++, st->res.sent++) {
        FloodSeq s{st->res.sent, st->res.sent * kMul};
        int rc = ts_send(ctx, st->peer, kSeq(), &s, sizeof s);
        if (rc < 0) {
            st->res.send_error = rc;
            SendError e{0, rc};
            return ts_send(ctx, st->arg.reporter, kSendError(), &e, sizeof e);
        }
    }
    return st->res.sent < st->arg.n ? ts_send(ctx, ts_self(ctx), kNext(), nullptr, 0) : 0;
}

int FlooderGo(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<FlooderState *>(state);
    if (!tst::As(m, &st->peer) || st->arg.burst == 0)
        return -EBADMSG;
    return FloodBurst(ctx, st);
}

int FlooderNext(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<FlooderState *>(state);
    return st->res.send_error ? 0 : FloodBurst(ctx, st);
}

int FlooderSeq(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<FlooderState *>(state);
    FloodSeq s{};
    if (!tst::As(m, &s) || s.check != s.seq * kMul)
        st->res.bad_payload++;
    if (s.seq != st->res.received)
        st->res.out_of_order++;
    st->res.received++;
    if (st->res.received == st->arg.n)
        return ts_send(ctx, st->arg.reporter, kResult(), &st->res, sizeof st->res);
    return 0;
}

const ts_handler_entry kFlooderHandlers[] = {
    TS_ON("test.pstress.Go", FlooderGo),
    TS_ON("test.pstress.Next", FlooderNext),
    TS_ON("test.pstress.Seq", FlooderSeq),
    TS_ON("test.pstress.Count", (tst::ReplyResult<FlooderState, kResult>)),
    TS_HANDLERS_END,
};
const ts_actor_type kFlooder = {"test.pstress.Flooder", sizeof(FlooderState),
                                    tst::InitFromArg<FlooderState>, nullptr,
                                kFlooderHandlers, nullptr, nullptr, nullptr};

// ========================================================================
// Create/exit races. CxParent creates n children round robin, a burst per
// handler call, keeping at most `window` alive (so slots are reused, with
// new generations, all the time). Child i is of kind i % 4:
//   0  a Leaf the parent sends ExitRequest right after creating it
//   1  a Leaf the parent pokes; it calls ts_exit_self
//   2  a Middle the parent pokes; it creates a Leaf on another shard, pokes
//      it, reports the grandchild's ChildExited (GrandGone) and exits
//   3  a Leaf whose address goes to a Killer on another shard, which sends
//      it ExitRequest: that message can overtake the Leaf's Start
// The parent counts ChildExited (per shard) and GrandGone.
// ========================================================================

constexpr unsigned kMaxShards = 2;

struct CxGo {
    ts_addr killer;
    uint32_t n;
    uint32_t burst;
    uint32_t window;
    uint32_t nshards;
    int32_t cpus[kMaxShards]; // the CPU of each shard (pinned), for TS_PLACE_CORE
};
struct CxResult {
    uint64_t created;
    uint64_t exited;
    uint64_t bad_status;
    uint64_t middles;
    uint64_t grand_reports;
    uint64_t grand_bad;
    uint64_t grand_same_shard;
    uint64_t created_on[kMaxShards];
    uint64_t exited_on[kMaxShards];
    int32_t first_error;
    int32_t pad;
};
struct CxParentState {
    ts_addr reporter;
    CxGo go;
    CxResult res;
    bool paused;
    bool reported;
};
struct MiddleArg {
    uint32_t nshards;
    int32_t cpus[kMaxShards];
};
struct GrandGone {
    uint32_t middle_shard;
    uint32_t grand_shard;
    int32_t status;
    int32_t pad;
};

int CxReport(ts_ctx *ctx, CxParentState *st)
{
    if (st->reported)
        return 0;
    st->reported = true;
    return ts_send(ctx, st->reporter, kResult(), &st->res, sizeof st->res);
}

bool CxRoom(const CxParentState *st)
{
    return st->res.created < st->go.n && st->res.created - st->res.exited < st->go.window;
}

int CxCreateOne(ts_ctx *ctx, CxParentState *st)
{
    unsigned kind = st->res.created % 4;
    MiddleArg ma{st->go.nshards, {st->go.cpus[0], st->go.cpus[1]}};
    ts_create_opts o{};
    o.placement = TS_PLACE_ROUND_ROBIN;
    if (kind == 2) {
        o.arg = &ma;
        o.arg_len = sizeof ma;
    }
    ts_addr child = TS_ADDR_NONE;
    int rc = ts_create(ctx, kind == 2 ? "test.pstress.Middle" : "test.pstress.Leaf", &o, &child);
    if (rc < 0)
        return rc;
    st->res.created++;
    st->res.created_on[ts_addr_shard(child) % kMaxShards]++;
    switch (kind) {
    case 0:
        return ts_send(ctx, child, TS_MSG_EXIT_REQUEST, nullptr, 0);
    case 1:
        return ts_send(ctx, child, kPoke(), nullptr, 0);
    case 2:
        st->res.middles++;
        return ts_send(ctx, child, kPoke(), nullptr, 0);
    default:
        return ts_send(ctx, st->go.killer, kKill(), &child, sizeof child);
    }
}

int CxBurst(ts_ctx *ctx, CxParentState *st)
{
    for (uint32_t i = 0; i < st->go.burst && CxRoom(st); i++) {
        int rc = CxCreateOne(ctx, st);
        if (rc < 0) {
            st->res.first_error = rc;
            return CxReport(ctx, st);
        }
    }
    if (st->res.created == st->go.n)
        return 0;
    if (CxRoom(st))
        return ts_send(ctx, ts_self(ctx), kNext(), nullptr, 0);
    st->paused = true; // a ChildExited resumes
    return 0;
}

int CxParentGo(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<CxParentState *>(state);
    if (!tst::As(m, &st->go) || st->go.burst == 0 || st->go.window == 0)
        return -EBADMSG;
    st->reporter = ts_sender(ctx);
    return CxBurst(ctx, st);
}

int CxParentNext(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<CxParentState *>(state);
    return st->res.first_error ? 0 : CxBurst(ctx, st);
}

int CxParentChildExited(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<CxParentState *>(state);
    ts_child_exited ce{};
    if (ts_child_exited_decode(m, &ce) != 0 || ce.status != 0)
        st->res.bad_status++;
    st->res.exited++;
    st->res.exited_on[ts_addr_shard(ce.child) % kMaxShards]++;
    if (st->res.exited == st->go.n)
        return CxReport(ctx, st);
    if (st->paused && !st->res.first_error && CxRoom(st)) {
        st->paused = false;
        return CxBurst(ctx, st);
    }
    return 0;
}

int CxParentGrandGone(ts_ctx *, void *state, const ts_msg *m)
{
    auto *st = static_cast<CxParentState *>(state);
    GrandGone g{};
    st->res.grand_reports++;
    if (!tst::As(m, &g) || g.status != 0)
        st->res.grand_bad++;
    else if (st->go.nshards > 1 && g.middle_shard == g.grand_shard)
        st->res.grand_same_shard++;
    return 0;
}

struct MiddleState {
    MiddleArg arg;
    ts_addr parent;
};

int MiddlePoke(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<MiddleState *>(state);
    st->parent = ts_sender(ctx);
    uint32_t mine = ts_addr_shard(ts_self(ctx));
    ts_create_opts o{};
    if (st->arg.nshards > 1) {
        o.placement = TS_PLACE_CORE;
        o.core = st->arg.cpus[(mine + 1) % st->arg.nshards];
    }
    ts_addr g = TS_ADDR_NONE;
    int rc = ts_create(ctx, "test.pstress.Leaf", &o, &g);
    if (rc == 0)
        rc = ts_send(ctx, g, kPoke(), nullptr, 0);
    if (rc < 0) {
        GrandGone gg{mine, mine, rc, 0};
        ts_exit_self(ctx);
        return ts_send(ctx, st->parent, kGrandGone(), &gg, sizeof gg);
    }
    return 0;
}

int MiddleChildExited(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<MiddleState *>(state);
    ts_child_exited ce{};
    int rc = ts_child_exited_decode(m, &ce);
    GrandGone gg{ts_addr_shard(ts_self(ctx)), ts_addr_shard(ce.child), rc ? rc : ce.status, 0};
    ts_exit_self(ctx);
    return ts_send(ctx, st->parent, kGrandGone(), &gg, sizeof gg);
}

int LeafPoke(ts_ctx *ctx, void *, const ts_msg *)
{
    return ts_exit_self(ctx);
}

int KillerKill(ts_ctx *ctx, void *, const ts_msg *m)
{
    ts_addr victim = TS_ADDR_NONE;
    if (!tst::As(m, &victim))
        return -EBADMSG;
    return ts_send(ctx, victim, TS_MSG_EXIT_REQUEST, nullptr, 0);
}

const ts_handler_entry kCxParentHandlers[] = {
    TS_ON("test.pstress.Go", CxParentGo),
    TS_ON("test.pstress.Next", CxParentNext),
    TS_ON("test.pstress.GrandGone", CxParentGrandGone),
    TS_ON("test.pstress.Count", (tst::ReplyResult<CxParentState, kResult>)),
    TS_ON_ID(TS_MSG_CHILD_EXITED, CxParentChildExited),
    TS_HANDLERS_END,
};
const ts_handler_entry kMiddleHandlers[] = {
    TS_ON("test.pstress.Poke", MiddlePoke),
    TS_ON_ID(TS_MSG_CHILD_EXITED, MiddleChildExited),
    TS_HANDLERS_END,
};
const ts_handler_entry kLeafHandlers[] = {
    TS_ON("test.pstress.Poke", LeafPoke),
    TS_HANDLERS_END,
};
const ts_handler_entry kKillerHandlers[] = {
    TS_ON("test.pstress.Kill", KillerKill),
    TS_HANDLERS_END,
};
const ts_actor_type kCxParent = {"test.pstress.CxParent", sizeof(CxParentState), nullptr, nullptr,
                                 kCxParentHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kMiddle = {"test.pstress.Middle", sizeof(MiddleState),
                                    tst::InitFromArg<MiddleState>, nullptr,
                               kMiddleHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kLeaf = {"test.pstress.Leaf", 0, nullptr, nullptr, kLeafHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kKiller = {"test.pstress.Killer", 0, nullptr, nullptr, kKillerHandlers, nullptr, nullptr, nullptr};

// ========================================================================
// Exit trees: a Watcher's one child is the root of a tree of Tree actors,
// `fanout` children each (round robin, so every level spans both shards),
// `depth` levels below the root. ExitRequest to the root goes down the
// tree; the root's ChildExited reaches the Watcher only after every node's
// fini ran (they count into g_tree_finis).
// ========================================================================

std::atomic<uint64_t> g_tree_finis{0};

TS_TYPE_ID(kGrow, "test.pstress.Grow")
TS_TYPE_ID(kLeafed, "test.pstress.Leafed")
struct GrowMsg {
    ts_addr watcher;
    uint32_t depth;
    uint32_t fanout;
};

int TreeGrow(ts_ctx *ctx, void *, const ts_msg *m)
{
    GrowMsg g;
    if (!tst::As(m, &g))
        return -EBADMSG;
    if (g.depth == 0)
        return ts_send(ctx, g.watcher, kLeafed(), nullptr, 0);
    ts_create_opts o{};
    o.placement = TS_PLACE_ROUND_ROBIN;
    GrowMsg next{g.watcher, g.depth - 1, g.fanout};
    for (uint32_t i = 0; i < g.fanout; i++) {
        ts_addr c = TS_ADDR_NONE;
        int rc = ts_create(ctx, "test.pstress.Tree", &o, &c);
        if (rc == 0)
            rc = ts_send(ctx, c, kGrow(), &next, sizeof next);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void TreeFini(ts_ctx *, void *)
{
    g_tree_finis.fetch_add(1, std::memory_order_relaxed);
}

struct TreeGo {
    uint32_t depth;
    uint32_t fanout;
    uint32_t exit_early; // ExitRequest right behind the first Grow
    uint32_t pad;
};
struct TreeResult {
    ts_addr root;
    uint64_t leaves;
    uint64_t finis_at_exit; // g_tree_finis when the root's ChildExited came
    int32_t status;
    int32_t decode_rc;
};
struct WatcherState {
    ts_addr reporter;
    TreeGo go;
    uint64_t expected_leaves;
    TreeResult res;
};

int WatcherGo(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<WatcherState *>(state);
    if (!tst::As(m, &st->go))
        return -EBADMSG;
    st->reporter = ts_sender(ctx);
    st->res = TreeResult{};
    st->expected_leaves = 1;
    for (uint32_t i = 0; i < st->go.depth; i++)
        st->expected_leaves *= st->go.fanout;
    int rc = ts_create(ctx, "test.pstress.Tree", nullptr, &st->res.root);
    GrowMsg g{ts_self(ctx), st->go.depth, st->go.fanout};
    if (rc == 0)
        rc = ts_send(ctx, st->res.root, kGrow(), &g, sizeof g);
    if (rc == 0 && st->go.exit_early)
        rc = ts_send(ctx, st->res.root, TS_MSG_EXIT_REQUEST, nullptr, 0);
    return rc;
}

int WatcherLeafed(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<WatcherState *>(state);
    if (++st->res.leaves == st->expected_leaves && !st->go.exit_early)
        return ts_send(ctx, st->res.root, TS_MSG_EXIT_REQUEST, nullptr, 0);
    return 0;
}

int WatcherChildExited(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<WatcherState *>(state);
    ts_child_exited ce{};
    st->res.decode_rc = ts_child_exited_decode(m, &ce);
    st->res.status = ce.status;
    st->res.finis_at_exit = g_tree_finis.load(std::memory_order_relaxed);
    return ts_send(ctx, st->reporter, kResult(), &st->res, sizeof st->res);
}

const ts_handler_entry kTreeHandlers[] = {
    TS_ON("test.pstress.Grow", TreeGrow),
    TS_HANDLERS_END,
};
const ts_handler_entry kWatcherHandlers[] = {
    TS_ON("test.pstress.Go", WatcherGo),
    TS_ON("test.pstress.Leafed", WatcherLeafed),
    TS_ON("test.pstress.Count", (tst::ReplyResult<WatcherState, kResult>)),
    TS_ON_ID(TS_MSG_CHILD_EXITED, WatcherChildExited),
    TS_HANDLERS_END,
};
const ts_actor_type kTree = {"test.pstress.Tree", 0, nullptr, TreeFini, kTreeHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kWatcher = {"test.pstress.Watcher", sizeof(WatcherState), nullptr, nullptr,
                                kWatcherHandlers, nullptr, nullptr, nullptr};

// ========================================================================
// External threads: payloads that say which thread and which round trip.
// ========================================================================

struct CallPayload {
    uint32_t thread;
    uint32_t seq;
    uint64_t check;
};
uint64_t CallCheck(uint32_t thread, uint32_t seq)
{
    return ((uint64_t{thread} << 32) | seq) * kMul + 1;
}

// What the caller threads found; checked on the test's thread.
struct ThreadTally {
    std::atomic<uint64_t> ok{0};
    std::atomic<uint64_t> failed_calls{0};
    std::atomic<uint64_t> wrong_replies{0};
    std::atomic<uint64_t> eagain{0};
    std::mutex mu;
    std::string first_problem;

    void Problem(const std::string &what)
    {
        std::lock_guard<std::mutex> l(mu);
        if (first_problem.empty())
            first_problem = what;
    }
};

// ========================================================================
// The fixture
// ========================================================================

class PinnedStress : public tst::SystemTest {
  protected:
    void SetUp() override
    {
        cpus_ = tst::AllowedCpus();
        tst::SystemTest::SetUp();
        if (HasFatalFailure() || IsSkipped())
            return;
        for (const ts_actor_type *t : {&kFanSender, &kFanReceiver, &kFlooder, &kCxParent, &kMiddle,
                                       &kLeaf, &kKiller, &kTree, &kWatcher})
            TS_REGISTER(*t);
        TS_REOPEN(StressConfig());
    }

    // Per-actor debug records would only slow these down. On pinned, two
    // shards (one on a one-CPU machine) on CPUs named in cfg.cores, so
    // TS_PLACE_CORE can reach each shard.
    ts_config StressConfig()
    {
        ts_config cfg = Config(TS_LOG_WARNING);
        shard_cpus_.clear();
        if (GetParam() == TS_BASE_SIMPLE)
            return cfg;
        size_t n = std::min<size_t>(kMaxShards, cpus_.size());
        shard_cpus_.assign(cpus_.begin(), cpus_.begin() + static_cast<long>(n));
        cores_.clear();
        for (int c : shard_cpus_)
            cores_ += (cores_.empty() ? "" : ",") + std::to_string(c);
        cfg.cores = cores_.c_str();
        cfg.shards = static_cast<unsigned>(n);
        return cfg;
    }

    unsigned Shards() const { return shard_cpus_.empty() ? 1u : static_cast<unsigned>(shard_cpus_.size()); }

    // A top-level actor on the given shard (shard 0 is all there is on simple).
    ts_addr CreateOn(const char *type, unsigned shard, const void *arg = nullptr, size_t len = 0)
    {
        ts_create_opts o{arg, len, nullptr, TS_PLACE_LOCAL, 0, 0, nullptr, nullptr};
        if (!shard_cpus_.empty()) {
            o.placement = TS_PLACE_CORE;
            o.core = shard_cpus_.at(shard);
        }
        ts_addr a = TS_ADDR_NONE;
        int rc = ts_system_create(sys(), type, &o, &a);
        EXPECT_EQ(rc, 0) << "create " << type << " on shard " << shard << ": " << ts_last_error();
        if (rc != 0)
            return TS_ADDR_NONE;
        EXPECT_EQ(ts_addr_shard(a), shard) << type << " at " << tst::AddrStr(a);
        return a;
    }

    std::vector<int> cpus_;
    std::vector<int> shard_cpus_; // empty on simple
    std::string cores_;
};

// ---- N:1 fan-in -------------------------------------------------------------

TEST_P(PinnedStress, ten_million_messages_fan_in_with_per_sender_order)
{
    const uint32_t per_sender = static_cast<uint32_t>(Scaled(1250000, 1000));
    const uint64_t total = uint64_t{per_sender} * kSenders;
    RecordProperty("messages", std::to_string(total));
    ts_addr client = ts_system_client_addr(sys());
    FanRecvArg ra{client, total};
    ts_addr receiver = CreateOn("test.pstress.FanReceiver", 0, &ra, sizeof ra);
    ASSERT_NE(receiver, TS_ADDR_NONE);

    ts_addr senders[kSenders];
    unsigned on_shard[kMaxShards] = {0, 0};
    ts_create_opts rr{nullptr, 0, nullptr, TS_PLACE_ROUND_ROBIN, 0, 0, nullptr, nullptr};
    for (unsigned i = 0; i < kSenders; i++) {
        ASSERT_EQ(ts_system_create(sys(), "test.pstress.FanSender", &rr, &senders[i]), 0)
            << ts_last_error();
        on_shard[ts_addr_shard(senders[i]) % kMaxShards]++;
    }
    if (Shards() == 2) {
        EXPECT_EQ(on_shard[0], kSenders / 2);
        EXPECT_EQ(on_shard[1], kSenders / 2);
    }
    ts_system_stats before = Stats();

    for (unsigned i = 0; i < kSenders; i++) {
        FanGo go{receiver, client, i, per_sender, 1000, 0};
        Tell(senders[i], kGo(), &go, sizeof go);
    }
    Msg r = Listen(kStressWait);
    ASSERT_TRUE(r);
    if (r->type == kSendError()) {
        SendError e{};
        tst::As(r.get(), &e);
        FAIL() << "sender " << e.who << ": ts_send failed with " << e.rc;
    }
    ASSERT_EQ(r->type, kResult());
    EXPECT_EQ(r->src, receiver);
    FanResult res{};
    ASSERT_TRUE(tst::As(r.get(), &res));
    EXPECT_EQ(res.total, total);
    EXPECT_EQ(res.out_of_order, 0u);
    EXPECT_EQ(res.bad_payload, 0u);
    EXPECT_EQ(res.unknown_sender, 0u);
    for (unsigned i = 0; i < kSenders; i++)
        EXPECT_EQ(res.count[i], per_sender) << "sender " << i;

    // Nothing more arrives later: no message was delivered twice.
    Drain();
    r = Ask(receiver, kCount());
    ASSERT_TRUE(r);
    ASSERT_TRUE(tst::As(r.get(), &res));
    EXPECT_EQ(res.total, total);
    EXPECT_GE(Stats().delivered - before.delivered, total);
}

// ---- two shards flooding each other -------------------------------------------

TEST_P(PinnedStress, two_shards_flood_each_other_through_full_rings)
{
    if (GetParam() == TS_BASE_SIMPLE)
        GTEST_SKIP() << "needs two shards running at once; the simple base has one";
    if (Shards() < 2)
        GTEST_SKIP() << "needs two shards; this process may run on one CPU only";
    // 16 KiB rings: a burst of 10000 fills one many times over, so both
    // overflow queues grow while each shard is also draining the other.
    // The default idle policy at full volume, the others at a quarter.
    const struct {
        const char *name;
        ts_idle idle;
        uint64_t n;
    } runs[] = {
        {"adaptive", TS_IDLE_ADAPTIVE, Scaled(2000000, 10000)},
        {"sleep", TS_IDLE_SLEEP, Scaled(500000, 10000)},
        {"busy", TS_IDLE_BUSY, Scaled(500000, 10000)},
    };
    for (const auto &run : runs) {
        SCOPED_TRACE(run.name);
        const uint64_t n = run.n;
        ts_config cfg = StressConfig();
        cfg.ring_size = 4096 * 4;
        cfg.idle = run.idle;
        TS_REOPEN(cfg);
        RecordProperty(std::string("messages_each_way_") + run.name, std::to_string(n));
        ts_addr client = ts_system_client_addr(sys());
        FloodArg fa{client, n, 10000, 0};
        ts_addr a = CreateOn("test.pstress.Flooder", 0, &fa, sizeof fa);
        ts_addr b = CreateOn("test.pstress.Flooder", 1, &fa, sizeof fa);
        ASSERT_NE(a, TS_ADDR_NONE);
        ASSERT_NE(b, TS_ADDR_NONE);

        Tell(a, kGo(), &b, sizeof b);
        Tell(b, kGo(), &a, sizeof a);
        bool from_a = false, from_b = false;
        for (int i = 0; i < 2; i++) {
            Msg r = Listen(kStressWait);
            ASSERT_TRUE(r) << "after " << i << " results (deadlock?)";
            ASSERT_EQ(r->type, kResult()) << "a send failed";
            FloodResult res{};
            ASSERT_TRUE(tst::As(r.get(), &res));
            SCOPED_TRACE(r->src == a ? "A (shard 0)" : "B (shard 1)");
            from_a |= r->src == a;
            from_b |= r->src == b;
            EXPECT_EQ(res.received, n);
            EXPECT_EQ(res.out_of_order, 0u);
            EXPECT_EQ(res.bad_payload, 0u);
            EXPECT_EQ(res.send_error, 0);
        }
        EXPECT_TRUE(from_a && from_b);
        // A burst of 10000 cannot fit a 16 KiB ring: the overflow was used.
        EXPECT_GT(Stats().overflow_hwm, 0u);

        Drain();
        for (ts_addr x : {a, b}) {
            Msg r = Ask(x, kCount());
            ASSERT_TRUE(r);
            FloodResult res{};
            ASSERT_TRUE(tst::As(r.get(), &res));
            EXPECT_EQ(res.received, n) << "nothing arrived twice";
            EXPECT_EQ(res.sent, n);
        }
    }
}

// ---- create/exit races --------------------------------------------------------

TEST_P(PinnedStress, create_exit_races_across_shards_with_exact_counts)
{
    const uint32_t n = static_cast<uint32_t>(Scaled(200000, 1000));
    uint32_t middles = 0;
    for (uint32_t i = 0; i < n; i++)
        middles += i % 4 == 2;
    RecordProperty("children", std::to_string(n));
    ts_addr parent = CreateOn("test.pstress.CxParent", 0);
    ts_addr killer = CreateOn("test.pstress.Killer", Shards() - 1);
    ASSERT_NE(parent, TS_ADDR_NONE);
    ASSERT_NE(killer, TS_ADDR_NONE);
    ts_system_stats before = Stats();

    CxGo go{};
    go.killer = killer;
    go.n = n;
    go.burst = 1000;
    go.window = 8192;
    go.nshards = Shards();
    for (unsigned s = 0; s < Shards(); s++)
        go.cpus[s] = shard_cpus_.empty() ? 0 : shard_cpus_[s];
    Msg r = Ask(parent, kGo(), &go, sizeof go, kStressWait);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kResult());
    CxResult res{};
    ASSERT_TRUE(tst::As(r.get(), &res));
    EXPECT_EQ(res.first_error, 0);
    EXPECT_EQ(res.created, n);
    EXPECT_EQ(res.exited, n) << "ChildExited at the parent";
    EXPECT_EQ(res.bad_status, 0u);
    EXPECT_EQ(res.middles, middles);
    EXPECT_EQ(res.grand_reports, middles) << "ChildExited at the middles";
    EXPECT_EQ(res.grand_bad, 0u);
    EXPECT_EQ(res.grand_same_shard, 0u) << "a grandchild was not on another shard";
    for (unsigned s = 0; s < Shards(); s++) {
        EXPECT_EQ(res.created_on[s], (n + Shards() - 1 - s) / Shards()) << "shard " << s;
        EXPECT_EQ(res.exited_on[s], res.created_on[s]) << "shard " << s;
    }

    // Exactly one ChildExited per child: nothing more comes later.
    Drain();
    r = Ask(parent, kCount());
    ASSERT_TRUE(r);
    ASSERT_TRUE(tst::As(r.get(), &res));
    EXPECT_EQ(res.exited, n);
    EXPECT_EQ(res.grand_reports, middles);

    ts_system_stats after = Stats();
    EXPECT_EQ(after.actors_created - before.actors_created, uint64_t{n} + middles);
    EXPECT_EQ(after.actors_exited - before.actors_exited, uint64_t{n} + middles);
    EXPECT_EQ(after.actors_live, before.actors_live);
    EXPECT_EQ(after.poisoned, before.poisoned);
    EXPECT_EQ(CountLog("TS-INTERNAL"), 0u) << LogDump();
}

// ---- exit trees ---------------------------------------------------------------

TEST_P(PinnedStress, exit_request_goes_down_a_tree_across_shards)
{
    constexpr uint32_t kDepth = 6, kFanout = 4;
    constexpr uint64_t kNodes = (4096 * 4 - 1) / 3; // 1 + 4 + ... + 4^6
    constexpr uint64_t kLeaves = 4096;
    const int reps = static_cast<int>(Scaled(10, 2));
    ts_addr watcher = CreateOn("test.pstress.Watcher", 0);
    ASSERT_NE(watcher, TS_ADDR_NONE);
    for (uint32_t early : {0u, 1u}) {
        for (int rep = 0; rep < reps; rep++) {
            SCOPED_TRACE(std::string(early ? "exit while growing" : "grow, then exit") +
                         ", rep " + std::to_string(rep));
            ts_system_stats before = Stats();
            g_tree_finis.store(0);
            TreeGo go{kDepth, kFanout, early, 0};
            Msg r = Ask(watcher, kGo(), &go, sizeof go, kStressWait);
            ASSERT_TRUE(r);
            ASSERT_EQ(r->type, kResult());
            TreeResult res{};
            ASSERT_TRUE(tst::As(r.get(), &res));
            EXPECT_EQ(res.decode_rc, 0);
            EXPECT_EQ(res.status, 0);
            EXPECT_EQ(res.finis_at_exit, kNodes)
                << "the root's ChildExited came before every node had exited";
            if (!early) {
                EXPECT_EQ(res.leaves, kLeaves);
            }

            Drain();
            r = Ask(watcher, kCount());
            ASSERT_TRUE(r);
            ASSERT_TRUE(tst::As(r.get(), &res));
            EXPECT_EQ(res.leaves, kLeaves) << "every leaf grew, even under an early exit";
            EXPECT_EQ(g_tree_finis.load(), kNodes) << "a fini ran twice";
            ts_system_stats after = Stats();
            EXPECT_EQ(after.actors_created - before.actors_created, kNodes);
            EXPECT_EQ(after.actors_exited - before.actors_exited, kNodes);
            EXPECT_EQ(after.actors_live, before.actors_live);
        }
    }
}

// ---- shutdown under load ---------------------------------------------------------

TEST_P(PinnedStress, shutdown_in_the_middle_of_a_flood_completes)
{
    if (GetParam() == TS_BASE_SIMPLE)
        GTEST_SKIP() << "needs two shards running at once; the simple base has one";
    if (Shards() < 2)
        GTEST_SKIP() << "needs two shards; this process may run on one CPU only";
    ts_config cfg = StressConfig();
    cfg.ring_size = 4096 * 4;
    TS_REOPEN(cfg);
    ts_addr client = ts_system_client_addr(sys());
    FloodArg fa{client, Scaled(2000000, 10000), 10000, 0};
    ts_addr a = CreateOn("test.pstress.Flooder", 0, &fa, sizeof fa);
    ts_addr b = CreateOn("test.pstress.Flooder", 1, &fa, sizeof fa);
    ASSERT_NE(a, TS_ADDR_NONE);
    ASSERT_NE(b, TS_ADDR_NONE);
    Tell(a, kGo(), &b, sizeof b);
    Tell(b, kGo(), &a, sizeof a);
    // Both are flooding once each has answered a Count queued behind its Go.
    for (ts_addr x : {a, b}) {
        Msg r = Ask(x, kCount(), nullptr, 0, kStressWait);
        ASSERT_TRUE(r);
        FloodResult res{};
        ASSERT_TRUE(tst::As(r.get(), &res));
        EXPECT_GT(res.sent, 0u);
    }
    // Overflow queues full of messages to actors about to exit: shutdown
    // turns them into dead letters and returns.
    EXPECT_EQ(ts_system_shutdown(sys()), 0) << ts_last_error();
    ts_system_stats st{};
    ASSERT_EQ(ts_system_stats_get(sys(), &st), 0);
    EXPECT_EQ(st.actors_live, 0u);
    EXPECT_EQ(st.actors_exited, st.actors_created);
    EXPECT_EQ(ts_tell(sys(), a, kCount(), nullptr, 0), -ESHUTDOWN);
    EXPECT_EQ(CountLog("TS-SHUTDOWN"), 0u) << LogDump();
}

// ---- ts_run and the caller's mailbox ----------------------------------------------

// Regression: ts_run could return 0 while a reply a shard had just sent to
// the caller was still unpublished in the shard's outbound port, because
// messages to callers were not counted by idle detection. Seen about once
// in 200k round trips with busy shards before the fix.
TEST_P(PinnedStress, after_ts_run_every_reply_is_already_in_the_mailbox)
{
    ts_config cfg = StressConfig();
    cfg.idle = TS_IDLE_BUSY;
    TS_REOPEN(cfg);
    ts_addr echo = CreateOn(tst::kEcho, Shards() - 1);
    ASSERT_NE(echo, TS_ADDR_NONE);
    const uint64_t n = Scaled(200000, 1000);
    uint64_t not_there = 0;
    for (uint64_t i = 0; i < n; i++) {
        Tell(echo, tst::kPing(), &i, sizeof i);
        ASSERT_EQ(ts_run(sys(), tst::kWait), 0) << ts_last_error();
        ts_msg *r = nullptr;
        int rc = ts_listen(sys(), 1, &r); // it is there already, or never came
        if (rc == -ETIMEDOUT) {
            not_there++;
            rc = ts_listen(sys(), tst::kWait, &r);
        }
        ASSERT_EQ(rc, 0) << "round trip " << i;
        uint64_t back = UINT64_MAX;
        EXPECT_TRUE(tst::As(r, &back) && back == i) << "round trip " << i;
        ts_msg_free(r);
    }
    EXPECT_EQ(not_there, 0u) << "ts_run returned before the reply reached the mailbox";
}

// ---- external threads ------------------------------------------------------------

constexpr unsigned kThreads = 4;
constexpr unsigned kEchoes = 4;

class PinnedStressThreads : public PinnedStress {
  protected:
    void SetUp() override
    {
        PinnedStress::SetUp();
        if (HasFatalFailure() || IsSkipped())
            return;
        if (GetParam() == TS_BASE_SIMPLE)
            GTEST_SKIP() << "the simple base runs actors on its one caller's thread; concurrent "
                            "callers need the pinned base";
        ts_create_opts rr{nullptr, 0, nullptr, TS_PLACE_ROUND_ROBIN, 0, 0, nullptr, nullptr};
        for (unsigned i = 0; i < kEchoes; i++) {
            ASSERT_EQ(ts_system_create(sys(), tst::kEcho, &rr, &echoes_[i]), 0) << ts_last_error();
            EXPECT_EQ(ts_addr_shard(echoes_[i]), i % Shards());
        }
    }

    // Index of an echo address, or -1.
    int EchoIndex(ts_addr a) const
    {
        for (unsigned i = 0; i < kEchoes; i++)
            if (echoes_[i] == a)
                return static_cast<int>(i);
        return -1;
    }

    void ExpectAllGood(const ThreadTally &t, uint64_t per_thread)
    {
        EXPECT_EQ(t.ok.load(), kThreads * per_thread) << t.first_problem;
        EXPECT_EQ(t.failed_calls.load(), 0u) << t.first_problem;
        EXPECT_EQ(t.wrong_replies.load(), 0u) << t.first_problem;
    }

    ts_addr echoes_[kEchoes] = {};
};

TEST_P(PinnedStressThreads, four_threads_ask_concurrently)
{
    const uint32_t n = static_cast<uint32_t>(Scaled(20000, 200));
    ThreadTally tally;
    ts_system *s = sys();
    auto body = [&](uint32_t t) {
        for (uint32_t i = 0; i < n; i++) {
            ts_addr echo = echoes_[(t + i) % kEchoes];
            CallPayload p{t, i, CallCheck(t, i)};
            ts_msg *r = nullptr;
            int rc = ts_ask(s, echo, tst::kPing(), &p, sizeof p, tst::kWait * 6, &r);
            if (rc != 0) {
                tally.failed_calls++;
                tally.Problem("thread " + std::to_string(t) + " ask " + std::to_string(i) +
                              ": rc " + std::to_string(rc) + ": " + ts_last_error());
                break;
            }
            CallPayload back{};
            bool good = r->type == tst::kPong() && r->src == echo && tst::As(r, &back) &&
                        std::memcmp(&back, &p, sizeof p) == 0;
            ts_msg_free(r);
            if (good) {
                tally.ok++;
            } else {
                tally.wrong_replies++;
                tally.Problem("thread " + std::to_string(t) + " ask " + std::to_string(i) +
                              ": got thread " + std::to_string(back.thread) + " seq " +
                              std::to_string(back.seq));
            }
        }
    };
    std::vector<std::thread> threads;
    for (uint32_t t = 0; t < kThreads; t++)
        threads.emplace_back(body, t);
    for (auto &th : threads)
        th.join();
    ExpectAllGood(tally, n);
}

TEST_P(PinnedStressThreads, four_threads_tell_then_listen_for_their_replies)
{
    const uint32_t n = static_cast<uint32_t>(Scaled(20000, 200));
    ThreadTally tally;
    ts_system *s = sys();
    auto body = [&](uint32_t t) {
        std::vector<bool> seen(n, false);
        int64_t last[kEchoes];
        std::fill(std::begin(last), std::end(last), -1);
        uint32_t received = 0;
        // Takes one reply: it must be this thread's, new, and in order
        // with the earlier replies of the same echo.
        auto take = [&]() {
            ts_msg *r = nullptr;
            int rc = ts_listen(s, tst::kWait * 6, &r);
            if (rc != 0) {
                tally.failed_calls++;
                tally.Problem("thread " + std::to_string(t) + " listen after " +
                              std::to_string(received) + " replies: rc " + std::to_string(rc));
                return false;
            }
            received++;
            CallPayload back{};
            int e = EchoIndex(r->src);
            bool good = r->type == tst::kPong() && e >= 0 && tst::As(r, &back) &&
                        back.thread == t && back.seq < n && back.check == CallCheck(t, back.seq) &&
                        !seen[back.seq] && int64_t{back.seq} > last[e];
            if (good) {
                seen[back.seq] = true;
                last[e] = back.seq;
                tally.ok++;
            } else {
                tally.wrong_replies++;
                tally.Problem("thread " + std::to_string(t) + ": bad reply thread " +
                              std::to_string(back.thread) + " seq " + std::to_string(back.seq));
            }
            ts_msg_free(r);
            return true;
        };
        for (uint32_t i = 0; i < n; i++) {
            CallPayload p{t, i, CallCheck(t, i)};
            ts_addr echo = echoes_[(t + i) % kEchoes];
            int rc;
            // A full ring: take a reply (which waits for one) and try again.
            while ((rc = ts_tell(s, echo, tst::kPing(), &p, sizeof p)) == -EAGAIN) {
                tally.eagain++;
                if (!take())
                    return;
            }
            if (rc != 0) {
                tally.failed_calls++;
                tally.Problem("thread " + std::to_string(t) + " tell " + std::to_string(i) +
                              ": rc " + std::to_string(rc) + ": " + ts_last_error());
                return;
            }
        }
        while (received < n)
            if (!take())
                return;
    };
    std::vector<std::thread> threads;
    for (uint32_t t = 0; t < kThreads; t++)
        threads.emplace_back(body, t);
    for (auto &th : threads)
        th.join();
    ExpectAllGood(tally, n);
    RecordProperty("eagain", static_cast<int>(tally.eagain.load()));

    // Nothing is left for anyone: every reply went to its own caller once.
    ts_msg *extra = nullptr;
    Drain();
    EXPECT_EQ(ts_listen(sys(), 50 * tst::kMs, &extra), -ETIMEDOUT);
    ts_msg_free(extra);
}

// The bases whose shards share the test's memory (these tests count in
// process globals); multiproc has its own stress and crash suite.
INSTANTIATE_TEST_SUITE_P(Bases, PinnedStress, ::testing::Values(TS_BASE_SIMPLE, TS_BASE_PINNED),
                         ::tst::BaseParamName());
INSTANTIATE_TEST_SUITE_P(Bases, PinnedStressThreads,
                         ::testing::Values(TS_BASE_SIMPLE, TS_BASE_PINNED), ::tst::BaseParamName());

} // namespace
