// SPDX-License-Identifier: MIT
// stress_test.cc — exact counts at volume: 100k children created and exited
// under one parent, and 1M messages between two actors in order. Both run
// with flow control (a window of children / credits of messages), so they
// hold on bases with bounded rings too. Suite 'stress'.
#include <string>

#include "ts_test.h"

using tst::Msg;

namespace {

constexpr uint64_t kStressWait = UINT64_C(240) * 1000 * 1000 * 1000;

TS_TYPE_ID(kGo, "test.stress.Go")
TS_TYPE_ID(kResult, "test.stress.Result")
TS_TYPE_ID(kCount, "test.stress.Count")
TS_TYPE_ID(kSeq, "test.stress.Seq")
TS_TYPE_ID(kCredit, "test.stress.Credit")
// --- 100k children ------------------------------------------------------------
// Spawner keeps up to `window` children alive: it creates a Leaf, tells it
// ExitRequest at once, and creates the next one for every ChildExited, until
// n have been created. Then it reports the counts.

struct SpawnGo {
    uint32_t n;
    uint32_t window;
};
struct SpawnResult {
    uint64_t created;
    uint64_t exited;
    uint64_t bad_status;
    int32_t first_error;
    int32_t pad;
};
struct SpawnerState {
    ts_addr reporter;
    SpawnGo go;
    SpawnResult res;
};

int SpawnOne(ts_ctx *ctx, SpawnerState *st)
{
    ts_addr child;
    int rc = ts_create(ctx, "test.stress.Leaf", nullptr, &child);
    if (rc == 0)
        rc = ts_send(ctx, child, TS_MSG_EXIT_REQUEST, nullptr, 0);
    if (rc == 0)
        st->res.created++;
    else if (st->res.first_error == 0)
        st->res.first_error = rc;
    return rc;
}

int SpawnerGo(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<SpawnerState *>(state);
    if (!tst::As(m, &st->go))
        return -EBADMSG;
    st->reporter = ts_sender(ctx);
    for (uint32_t i = 0; i < st->go.window && st->res.created < st->go.n; i++)
        if (SpawnOne(ctx, st) != 0)
            return ts_send(ctx, st->reporter, kResult(), &st->res, sizeof st->res);
    return 0;
}

int SpawnerChildExited(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<SpawnerState *>(state);
    ts_child_exited ce{};
    if (ts_child_exited_decode(m, &ce) != 0 || ce.status != 0)
        st->res.bad_status++;
    st->res.exited++;
    if (st->res.created < st->go.n && SpawnOne(ctx, st) == 0)
        return 0;
    if (st->res.exited == st->go.n || st->res.first_error != 0)
        return ts_send(ctx, st->reporter, kResult(), &st->res, sizeof st->res);
    return 0;
}

const ts_handler_entry kSpawnerHandlers[] = {
    TS_ON("test.stress.Go", SpawnerGo),
    TS_ON("test.stress.Count", (tst::ReplyResult<SpawnerState, kResult>)),
    TS_ON_ID(TS_MSG_CHILD_EXITED, SpawnerChildExited),
    TS_HANDLERS_END,
};
const ts_actor_type kSpawner = {"test.stress.Spawner", sizeof(SpawnerState), nullptr, nullptr,
                                kSpawnerHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kLeaf = {"test.stress.Leaf", 0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

// --- 1M messages --------------------------------------------------------------
// Producer sends Seq{0..n-1} to Consumer, `batch` at a time, starting with
// `credits` batches; Consumer checks the sequence, grants a credit per batch
// and reports to the client once all n have come.

struct FlowGo {
    ts_addr consumer;
    uint32_t n;
    uint32_t batch;
    uint32_t credits;
    uint32_t pad;
};
struct SeqMsg {
    uint32_t seq;
    uint32_t pad;
    uint64_t check; // seq * a constant: a torn or mixed-up payload shows
};
struct FlowResult {
    uint64_t count;
    uint64_t out_of_order;
    uint64_t bad_payload;
    uint64_t last_seq;
    int32_t send_error;
    int32_t pad;
};

constexpr uint64_t kCheckMul = UINT64_C(0x9e3779b97f4a7c15);

struct ProducerState {
    FlowGo go;
    uint32_t sent;
};

int ProduceBatch(ts_ctx *ctx, ProducerState *st)
{
    for (uint32_t i = 0; i < st->go.batch && st->sent < st->go.n; i++, st->sent++) {
        SeqMsg s{st->sent, 0, st->sent * kCheckMul};
        int rc = ts_send(ctx, st->go.consumer, kSeq(), &s, sizeof s);
        if (rc)
            return rc;
    }
    return 0;
}

int ProducerGo(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<ProducerState *>(state);
    if (!tst::As(m, &st->go) || st->go.batch == 0)
        return -EBADMSG;
    int rc = 0;
    for (uint32_t i = 0; i < st->go.credits && rc == 0; i++)
        rc = ProduceBatch(ctx, st);
    if (rc) {
        FlowResult r{};
        r.send_error = rc;
        return ts_reply(ctx, kResult(), &r, sizeof r);
    }
    return 0;
}

int ProducerCredit(ts_ctx *ctx, void *state, const ts_msg *)
{
    return ProduceBatch(ctx, static_cast<ProducerState *>(state));
}

struct ConsumerState {
    ts_addr reporter;
    uint32_t n, batch;
    uint64_t expected;
    FlowResult res;
};
struct ConsumerArg {
    ts_addr reporter;
    uint32_t n;
    uint32_t batch;
};

int ConsumerInit(ts_ctx *, void *state, const void *arg, size_t len)
{
    auto *st = static_cast<ConsumerState *>(state);
    ConsumerArg a;
    if (len != sizeof a)
        return -EINVAL;
    std::memcpy(&a, arg, sizeof a);
    st->reporter = a.reporter;
    st->n = a.n;
    st->batch = a.batch;
    return 0;
}

int ConsumerSeq(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<ConsumerState *>(state);
    SeqMsg s{};
    if (!tst::As(m, &s) || s.check != s.seq * kCheckMul)
        st->res.bad_payload++;
    if (s.seq != st->expected)
        st->res.out_of_order++;
    st->expected = uint64_t{s.seq} + 1;
    st->res.last_seq = s.seq;
    st->res.count++;
    int rc = 0;
    if (st->res.count % st->batch == 0 && st->res.count < st->n)
        rc = ts_send(ctx, ts_sender(ctx), kCredit(), nullptr, 0);
    if (st->res.count == st->n)
        rc = ts_send(ctx, st->reporter, kResult(), &st->res, sizeof st->res);
    return rc;
}

const ts_handler_entry kProducerHandlers[] = {
    TS_ON("test.stress.Go", ProducerGo),
    TS_ON("test.stress.Credit", ProducerCredit),
    TS_HANDLERS_END,
};
const ts_handler_entry kConsumerHandlers[] = {
    TS_ON("test.stress.Seq", ConsumerSeq),
    TS_ON("test.stress.Count", (tst::ReplyResult<ConsumerState, kResult>)),
    TS_HANDLERS_END,
};
const ts_actor_type kProducer = {"test.stress.Producer", sizeof(ProducerState), nullptr, nullptr,
                                 kProducerHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kConsumer = {"test.stress.Consumer", sizeof(ConsumerState), ConsumerInit,
                                 nullptr, kConsumerHandlers, nullptr, nullptr, nullptr};

class StressScenario : public tst::SystemTest {
  protected:
    void SetUp() override
    {
        tst::SystemTest::SetUp();
        if (HasFatalFailure() || IsSkipped())
            return;
        // Per-actor debug records would only slow these down.
        Reopen(Config(TS_LOG_WARNING));
    }
};

TEST_P(StressScenario, hundred_thousand_children_exit_with_exact_count)
{
    TS_REGISTER(kSpawner);
    TS_REGISTER(kLeaf);
    constexpr uint32_t kN = 100000;
    ts_addr spawner = Create("test.stress.Spawner");
    ASSERT_NE(spawner, TS_ADDR_NONE);
    ts_system_stats before = Stats();

    SpawnGo go{kN, 1024};
    Msg r = Ask(spawner, kGo(), &go, sizeof go, kStressWait);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kResult());
    SpawnResult res{};
    ASSERT_TRUE(tst::As(r.get(), &res));
    EXPECT_EQ(res.first_error, 0);
    EXPECT_EQ(res.created, kN);
    EXPECT_EQ(res.exited, kN);
    EXPECT_EQ(res.bad_status, 0u);

    // Nothing more comes later: exactly one ChildExited per child.
    Drain();
    r = Ask(spawner, kCount());
    ASSERT_TRUE(r);
    ASSERT_TRUE(tst::As(r.get(), &res));
    EXPECT_EQ(res.exited, kN);

    ts_system_stats after = Stats();
    EXPECT_EQ(after.actors_created - before.actors_created, kN);
    EXPECT_EQ(after.actors_exited - before.actors_exited, kN);
    EXPECT_EQ(after.actors_live, before.actors_live);
}

TEST_P(StressScenario, million_messages_arrive_in_order)
{
    TS_REGISTER(kProducer);
    TS_REGISTER(kConsumer);
    constexpr uint32_t kN = 1000000, kBatch = 1024;
    ConsumerArg ca{ts_system_client_addr(sys()), kN, kBatch};
    ts_addr consumer = Create("test.stress.Consumer", &ca, sizeof ca);
    ts_addr producer = Create("test.stress.Producer");
    ASSERT_NE(consumer, TS_ADDR_NONE);
    ASSERT_NE(producer, TS_ADDR_NONE);
    ts_system_stats before = Stats();

    FlowGo go{consumer, kN, kBatch, 4, 0};
    Msg r = Ask(producer, kGo(), &go, sizeof go, kStressWait);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kResult());
    FlowResult res{};
    ASSERT_TRUE(tst::As(r.get(), &res));
    EXPECT_EQ(res.send_error, 0);
    EXPECT_EQ(r->src, consumer);
    EXPECT_EQ(res.count, kN);
    EXPECT_EQ(res.out_of_order, 0u);
    EXPECT_EQ(res.bad_payload, 0u);
    EXPECT_EQ(res.last_seq, kN - 1);

    Drain();
    r = Ask(consumer, kCount());
    ASSERT_TRUE(r);
    ASSERT_TRUE(tst::As(r.get(), &res));
    EXPECT_EQ(res.count, kN) << "no message came twice";
    EXPECT_GE(Stats().delivered - before.delivered, uint64_t{kN});
}

TS_INSTANTIATE_BASES(StressScenario);

} // namespace
