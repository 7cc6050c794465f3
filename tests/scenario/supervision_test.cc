// SPDX-License-Identifier: MIT
// supervision_test.cc — restarts after a failing handler, Poison after the
// second failure (to a client and to an actor), order across a restart, and
// creations whose init fails.
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ts_test.h"

using tst::Msg;
using tst::Text;

namespace {

TS_TYPE_ID(kWork, "test.sup.Work")
TS_TYPE_ID(kDone, "test.sup.Done")
TS_TYPE_ID(kRelayGo, "test.sup.RelayGo")
TS_TYPE_ID(kHi, "test.sup.Hi")
// Work{id, fail_times}: the handler fails (-EIO) on the first fail_times
// attempts at that id, then answers Done. Attempts are counted per id
// outside the actor's state, since a restart gives the actor fresh state.
struct WorkReq {
    uint32_t id;
    uint32_t fail_times;
    char text[24];
};
struct Done {
    uint32_t id;
    uint32_t attempts;
    int32_t inits; // inits of this actor type so far (restarts included)
    int32_t pad;
    char arg[16];  // the init argument as this incarnation saw it
};

std::mutex g_mu;
std::map<uint32_t, uint32_t> g_attempts;
std::atomic<int> &g_inits = tst::Shared<std::atomic<int>>();
std::atomic<int> &g_finis = tst::Shared<std::atomic<int>>();
std::atomic<int> &g_bad_inits = tst::Shared<std::atomic<int>>();

void ResetGlobals()
{
    std::lock_guard<std::mutex> lock(g_mu);
    g_attempts.clear();
    g_inits = 0;
    g_finis = 0;
    g_bad_inits = 0;
}

WorkReq MakeWork(uint32_t id, uint32_t fail_times, const char *text)
{
    WorkReq w{};
    w.id = id;
    w.fail_times = fail_times;
    std::snprintf(w.text, sizeof w.text, "%s", text);
    return w;
}

struct FlakyState {
    char arg[16];
};

int FlakyInit(ts_ctx *, void *state, const void *arg, size_t len)
{
    auto *st = static_cast<FlakyState *>(state);
    g_inits++;
    if (arg && len)
        std::memcpy(st->arg, arg, std::min(len, sizeof st->arg - 1));
    return 0;
}
void FlakyFini(ts_ctx *, void *) { g_finis++; }

int FlakyWork(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<FlakyState *>(state);
    WorkReq w;
    if (!tst::As(m, &w))
        return -EBADMSG;
    uint32_t attempt;
    {
        std::lock_guard<std::mutex> lock(g_mu);
        attempt = ++g_attempts[w.id];
    }
    if (attempt <= w.fail_times)
        return -EIO;
    Done d{};
    d.id = w.id;
    d.attempts = attempt;
    d.inits = g_inits.load();
    std::memcpy(d.arg, st->arg, sizeof d.arg);
    return ts_reply(ctx, kDone(), &d, sizeof d);
}

const ts_handler_entry kFlakyHandlers[] = {TS_ON("test.sup.Work", FlakyWork), TS_HANDLERS_END};
const ts_actor_type kFlaky = {"test.sup.Flaky", sizeof(FlakyState), FlakyInit, FlakyFini,
                              kFlakyHandlers, nullptr, nullptr, nullptr};

// Relay sends Work to a target on behalf of the asker and reports the
// Poison (or Done) it gets back.
struct RelayGo {
    ts_addr target;
    WorkReq work;
};
struct RelayState {
    ts_addr asker;
};
int RelayStart(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<RelayState *>(state);
    RelayGo g;
    if (!tst::As(m, &g))
        return -EBADMSG;
    st->asker = ts_sender(ctx);
    return ts_send(ctx, g.target, kWork(), &g.work, sizeof g.work);
}
int RelayPoison(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<RelayState *>(state);
    tst::PoisonReport r;
    tst::FillPoisonReport(m, &r);
    return ts_send(ctx, st->asker, tst::kPoisonSeen(), &r, sizeof r);
}
int RelayDone(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<RelayState *>(state);
    return ts_send(ctx, st->asker, kDone(), ts_msg_data(m), m->len);
}
const ts_handler_entry kRelayHandlers[] = {
    TS_ON("test.sup.RelayGo", RelayStart),
    TS_ON("test.sup.Done", RelayDone),
    TS_ON_ID(TS_MSG_POISON, RelayPoison),
    TS_HANDLERS_END,
};
const ts_actor_type kRelay = {"test.sup.Relay", sizeof(RelayState), nullptr, nullptr,
                              kRelayHandlers, nullptr, nullptr, nullptr};

// BadInit's init always fails; its handlers must never run.
int BadInitInit(ts_ctx *, void *, const void *, size_t)
{
    g_bad_inits++;
    return -EINVAL;
}
int BadInitAny(ts_ctx *ctx, void *, const ts_msg *m)
{
    if (ts_sysmsg_name(m->type))
        return 0;
    static const char text[] = "BadInit ran a handler";
    return ts_reply(ctx, ts_type_id("test.sup.ShouldNotHappen"), text, sizeof text - 1);
}
const ts_actor_type kBadInit = {"test.sup.BadInit", 8, BadInitInit, nullptr, nullptr,
                                BadInitAny, nullptr, nullptr};

class SupervisionScenario : public tst::SystemTest {
  protected:
    void SetUp() override
    {
        ResetGlobals();
        tst::SystemTest::SetUp();
    }
};

TEST_P(SupervisionScenario, handler_fails_once_then_succeeds)
{
    TS_REGISTER(kFlaky);
    ts_addr a = Create("test.sup.Flaky", "orig-arg", 8);
    ASSERT_NE(a, TS_ADDR_NONE);
    ts_system_stats before = Stats();

    WorkReq w = MakeWork(1, 1, "first");
    Msg r = Ask(a, kWork(), &w, sizeof w);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kDone()) << "expected the normal reply, not Poison";
    Done d{};
    ASSERT_TRUE(tst::As(r.get(), &d));
    EXPECT_EQ(d.id, 1u);
    EXPECT_EQ(d.attempts, 2u) << "the same message is redelivered once";
    EXPECT_EQ(d.inits, 2) << "init runs again on restart";
    EXPECT_STREQ(d.arg, "orig-arg") << "the restart passes init its original argument";

    ts_system_stats after = Stats();
    EXPECT_EQ(after.restarts, before.restarts + 1);
    EXPECT_EQ(after.poisoned, before.poisoned);
    EXPECT_TRUE(HasLog("TS-RESTART")) << "captured log:\n" << LogDump();

    // The restarted actor keeps working.
    w = MakeWork(2, 0, "second");
    r = Ask(a, kWork(), &w, sizeof w);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kDone());
    ASSERT_TRUE(tst::As(r.get(), &d));
    EXPECT_EQ(d.id, 2u);
    EXPECT_EQ(d.attempts, 1u);
    EXPECT_EQ(d.inits, 2);
}

TEST_P(SupervisionScenario, handler_fails_twice_sends_poison)
{
    TS_REGISTER(kFlaky);
    ts_addr a = Create("test.sup.Flaky");
    ASSERT_NE(a, TS_ADDR_NONE);
    ts_system_stats before = Stats();

    WorkReq w = MakeWork(10, 2, "doomed");
    Msg r = Ask(a, kWork(), &w, sizeof w);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, TS_MSG_POISON);
    EXPECT_EQ(r->dst, ts_system_client_addr(sys()));
    ts_poison p{};
    ASSERT_EQ(ts_poison_decode(r.get(), &p), 0);
    EXPECT_EQ(p.original_dst, a);
    EXPECT_EQ(p.original_type, kWork());
    EXPECT_EQ(p.reason, -EIO);
    ASSERT_EQ(p.original_len, sizeof w);
    EXPECT_EQ(std::memcmp(p.original, &w, sizeof w), 0);
    EXPECT_NE(p.reason_text, nullptr);

    ts_system_stats after = Stats();
    EXPECT_EQ(after.poisoned, before.poisoned + 1);
    EXPECT_GE(after.restarts, before.restarts + 1);
    EXPECT_TRUE(HasLog("TS-POISON")) << "captured log:\n" << LogDump();

    // The actor goes on with its next message.
    w = MakeWork(11, 0, "next");
    r = Ask(a, kWork(), &w, sizeof w);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kDone());
    Done d{};
    ASSERT_TRUE(tst::As(r.get(), &d));
    EXPECT_EQ(d.id, 11u);
    EXPECT_EQ(d.attempts, 1u);
}

TEST_P(SupervisionScenario, poison_comes_back_to_an_actor_sender)
{
    TS_REGISTER(kFlaky);
    TS_REGISTER(kRelay);
    ts_addr b = Create("test.sup.Flaky");
    ts_addr a = Create("test.sup.Relay");
    ASSERT_NE(a, TS_ADDR_NONE);
    ASSERT_NE(b, TS_ADDR_NONE);

    RelayGo g{b, MakeWork(20, 2, "via relay")};
    Msg r = Ask(a, kRelayGo(), &g, sizeof g);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, tst::kPoisonSeen()) << "the relay should have reported a Poison";
    EXPECT_EQ(r->src, a);
    tst::PoisonReport rep{};
    ASSERT_TRUE(tst::As(r.get(), &rep));
    ASSERT_EQ(rep.decode_rc, 0);
    EXPECT_EQ(rep.original_dst, b);
    EXPECT_EQ(rep.original_type, kWork());
    EXPECT_EQ(rep.reason, -EIO);
    ASSERT_EQ(rep.original_len, sizeof(WorkReq));
    EXPECT_EQ(std::memcmp(rep.original, &g.work, sizeof g.work), 0);

    // Both actors are still alive and working.
    g.work = MakeWork(21, 0, "fine");
    r = Ask(a, kRelayGo(), &g, sizeof g);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, kDone());
}

TEST_P(SupervisionScenario, order_is_kept_across_restarts)
{
    TS_REGISTER(kFlaky);
    ts_addr a = Create("test.sup.Flaky");
    ASSERT_NE(a, TS_ADDR_NONE);

    // 100..109 in order; 103 fails once (restart, redelivered), 106 fails
    // twice (Poison); everything after them keeps its order.
    constexpr uint32_t kN = 10;
    for (uint32_t i = 0; i < kN; i++) {
        WorkReq w = MakeWork(100 + i, i == 3 ? 1 : i == 6 ? 2 : 0, "seq");
        Tell(a, kWork(), &w, sizeof w);
    }
    std::vector<uint32_t> done;
    std::vector<uint32_t> poisoned;
    for (uint32_t i = 0; i < kN; i++) {
        Msg m = Listen();
        ASSERT_TRUE(m) << "after " << i << " messages";
        if (m->type == kDone()) {
            Done d{};
            ASSERT_TRUE(tst::As(m.get(), &d));
            done.push_back(d.id);
        } else {
            ASSERT_EQ(m->type, TS_MSG_POISON);
            ts_poison p{};
            ASSERT_EQ(ts_poison_decode(m.get(), &p), 0);
            WorkReq w{};
            ASSERT_EQ(p.original_len, sizeof w);
            std::memcpy(&w, p.original, sizeof w);
            poisoned.push_back(w.id);
        }
    }
    EXPECT_EQ(done, (std::vector<uint32_t>{100, 101, 102, 103, 104, 105, 107, 108, 109}));
    EXPECT_EQ(poisoned, (std::vector<uint32_t>{106}));
}

TEST_P(SupervisionScenario, init_failure_poisons_early_messages_from_client)
{
    TS_REGISTER(kBadInit);
    ts_system_stats before = Stats();
    ts_addr a = Create("test.sup.BadInit");
    ASSERT_NE(a, TS_ADDR_NONE);

    // Sent before the actor was constructed (nothing runs on the simple base
    // until we wait), so they come back as Poison once init fails.
    Tell(a, kHi(), "one", 3);
    Tell(a, kHi(), "two", 3);
    const char *expect[] = {"one", "two"};
    for (const char *e : expect) {
        Msg m = Listen();
        ASSERT_TRUE(m);
        ASSERT_EQ(m->type, TS_MSG_POISON) << "got " << Text(m);
        ts_poison p{};
        ASSERT_EQ(ts_poison_decode(m.get(), &p), 0);
        EXPECT_EQ(p.original_dst, a);
        EXPECT_EQ(p.original_type, kHi());
        EXPECT_LT(p.reason, 0);
        EXPECT_EQ(std::string(static_cast<const char *>(p.original), p.original_len), e);
    }
    EXPECT_TRUE(HasLog("TS-INIT-FAIL")) << "captured log:\n" << LogDump();
    EXPECT_EQ(g_bad_inits.load(), 1) << "a failed init is not retried";
    ts_system_stats after = Stats();
    EXPECT_EQ(after.actors_live, before.actors_live);
}

TEST_P(SupervisionScenario, init_failure_reported_to_parent)
{
    TS_REGISTER(kBadInit);
    ts_addr parent = Create(tst::kParent);
    ASSERT_NE(parent, TS_ADDR_NONE);

    // The parent sends two Probes right after ts_create, before the child
    // exists: both come back to the parent as Poison, and the parent gets
    // ChildExited with a negative status.
    ts_addr child = Spawn(parent, "test.sup.BadInit", nullptr, 0, nullptr, 2);
    ASSERT_NE(child, TS_ADDR_NONE);

    std::vector<uint32_t> probes;
    int gone = 0;
    for (int i = 0; i < 3; i++) {
        Msg m = Listen();
        ASSERT_TRUE(m) << "after " << i << " reports";
        if (m->type == tst::kChildGone()) {
            tst::ChildGone g{};
            ASSERT_TRUE(tst::As(m.get(), &g));
            EXPECT_EQ(g.decode_rc, 0);
            EXPECT_EQ(g.child, child);
            EXPECT_LT(g.status, 0) << "ChildExited of a failed creation has a negative status";
            gone++;
        } else {
            ASSERT_EQ(m->type, tst::kPoisonSeen());
            tst::PoisonReport rep{};
            ASSERT_TRUE(tst::As(m.get(), &rep));
            ASSERT_EQ(rep.decode_rc, 0);
            EXPECT_EQ(rep.original_dst, child);
            EXPECT_EQ(rep.original_type, tst::kProbe());
            EXPECT_LT(rep.reason, 0);
            uint32_t seq = ~0u;
            ASSERT_EQ(rep.original_len, sizeof seq);
            std::memcpy(&seq, rep.original, sizeof seq);
            probes.push_back(seq);
        }
    }
    EXPECT_EQ(gone, 1);
    EXPECT_EQ(probes, (std::vector<uint32_t>{0, 1}));
    EXPECT_TRUE(HasLog("TS-INIT-FAIL")) << "captured log:\n" << LogDump();
}

TS_INSTANTIATE_BASES(SupervisionScenario);

} // namespace
