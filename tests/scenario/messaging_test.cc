// SPDX-License-Identifier: MIT
// messaging_test.cc — addresses in payloads, replies from a third actor, ask
// timeouts, fallback handlers and the simple base's determinism.
#include <string>
#include <utility>
#include <vector>

#include "ts_test.h"

using tst::Msg;
using tst::Text;

namespace {

TS_TYPE_ID(kText, "test.msg.Text")
TS_TYPE_ID(kIntroduce, "test.msg.Introduce")
TS_TYPE_ID(kIntroduced, "test.msg.Introduced")
TS_TYPE_ID(kForward, "test.msg.Forward")
TS_TYPE_ID(kAnswerTo, "test.msg.AnswerTo")
TS_TYPE_ID(kKnown, "test.msg.Known")
TS_TYPE_ID(kUnknown, "test.msg.Unknown")
TS_TYPE_ID(kFallbackSeen, "test.msg.FallbackSeen")
int SendText(ts_ctx *ctx, ts_addr to, const std::string &s)
{
    return ts_send(ctx, to, kText(), s.data(), s.size());
}

// --- address passing --------------------------------------------------------
// Introducer gets an address in a payload, pings it, and reports the Pong
// (with its sender) to whoever sent Introduce.

struct IntroducerState {
    ts_addr asker;
};
struct Introduced {
    ts_addr pong_src;
    char text[32];
};

int IntroducerIntroduce(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<IntroducerState *>(state);
    ts_addr target;
    if (!tst::As(m, &target))
        return -EBADMSG;
    st->asker = ts_sender(ctx);
    static const char hi[] = "hi from introducer";
    return ts_send(ctx, target, tst::kPing(), hi, sizeof hi - 1);
}

int IntroducerPong(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<IntroducerState *>(state);
    Introduced r{};
    r.pong_src = ts_sender(ctx);
    std::memcpy(r.text, ts_msg_data(m), std::min<size_t>(m->len, sizeof r.text - 1));
    return ts_send(ctx, st->asker, kIntroduced(), &r, sizeof r);
}

const ts_handler_entry kIntroducerHandlers[] = {
    TS_ON("test.msg.Introduce", IntroducerIntroduce),
    TS_ON("test.common.Pong", IntroducerPong),
    TS_HANDLERS_END,
};
const ts_actor_type kIntroducer = {"test.msg.Introducer", sizeof(IntroducerState), nullptr,
                                   nullptr, kIntroducerHandlers, nullptr, nullptr, nullptr};

// --- a reply from a third actor ------------------------------------------
// Forwarder passes the asker's address to Answerer; Answerer answers the
// asker directly. Forwarder itself never replies.

int ForwarderForward(ts_ctx *ctx, void *, const ts_msg *m)
{
    ts_addr to;
    if (!tst::As(m, &to))
        return -EBADMSG;
    ts_addr asker = ts_sender(ctx);
    return ts_send(ctx, to, kAnswerTo(), &asker, sizeof asker);
}
int AnswererAnswerTo(ts_ctx *ctx, void *, const ts_msg *m)
{
    ts_addr asker;
    if (!tst::As(m, &asker))
        return -EBADMSG;
    return SendText(ctx, asker, "answered by B");
}
const ts_handler_entry kForwarderHandlers[] = {TS_ON("test.msg.Forward", ForwarderForward),
                                               TS_HANDLERS_END};
const ts_handler_entry kAnswererHandlers[] = {TS_ON("test.msg.AnswerTo", AnswererAnswerTo),
                                              TS_HANDLERS_END};
const ts_actor_type kForwarder = {"test.msg.Forwarder", 0, nullptr, nullptr,
                                  kForwarderHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kAnswerer = {"test.msg.Answerer", 0, nullptr, nullptr, kAnswererHandlers,
                                 nullptr, nullptr, nullptr};

// --- an actor that never answers --------------------------------------------

int Ignore(ts_ctx *, void *, const ts_msg *) { return 0; }
const ts_actor_type kSilent = {"test.msg.Silent", 0, nullptr, nullptr, nullptr, Ignore, nullptr, nullptr};

// --- fallback ---------------------------------------------------------------

struct FallbackSeen {
    uint64_t type;
    uint32_t len;
    char payload[28];
};

int KnownReply(ts_ctx *ctx, void *, const ts_msg *)
{
    return SendText(ctx, ts_sender(ctx), "known");
}

int Fallback(ts_ctx *ctx, void *, const ts_msg *m)
{
    if (ts_sysmsg_name(m->type) != nullptr)
        return 0; // system messages come here too; nothing to report
    FallbackSeen r{};
    r.type = m->type;
    r.len = m->len;
    std::memcpy(r.payload, ts_msg_data(m), std::min<size_t>(m->len, sizeof r.payload));
    return ts_reply(ctx, kFallbackSeen(), &r, sizeof r);
}

const ts_handler_entry kKnownHandlers[] = {TS_ON("test.msg.Known", KnownReply),
                                           TS_HANDLERS_END};
const ts_actor_type kWithFallback = {"test.msg.WithFallback", 0, nullptr, nullptr,
                                     kKnownHandlers, Fallback, nullptr, nullptr};
const ts_actor_type kNoFallback = {"test.msg.NoFallback", 0, nullptr, nullptr, kKnownHandlers,
                                   nullptr, nullptr, nullptr};

// --- determinism --------------------------------------------------------------
// Hub creates a Sink and kWorkers workers and starts them in turn. Each
// worker sends kItems Items to the Sink and, for every Item, a Nudge to the
// next worker, which answers it with an Item of its own. The Sink records
// (worker, seq) of every Item in arrival order and sends the trace to the
// client once all have come.

constexpr uint32_t kWorkers = 4;
constexpr uint32_t kItems = 16;
constexpr uint32_t kTraceLen = 2 * kWorkers * kItems;

TS_TYPE_ID(kDetGo, "test.det.Go")
TS_TYPE_ID(kDetStart, "test.det.Start")
TS_TYPE_ID(kDetItem, "test.det.Item")
TS_TYPE_ID(kDetNudge, "test.det.Nudge")
TS_TYPE_ID(kDetTrace, "test.det.Trace")
struct DetItem {
    uint32_t worker;
    uint32_t seq;
};
struct DetStart {
    ts_addr sink;
    ts_addr next;
    uint32_t idx;
    uint32_t pad;
};

struct SinkState {
    ts_addr client;
    uint32_t n;
    DetItem trace[kTraceLen];
};
int SinkInit(ts_ctx *, void *state, const void *arg, size_t len)
{
    auto *st = static_cast<SinkState *>(state);
    if (len != sizeof(ts_addr))
        return -EINVAL;
    std::memcpy(&st->client, arg, sizeof(ts_addr));
    return 0;
}
int SinkItem(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<SinkState *>(state);
    DetItem it;
    if (!tst::As(m, &it) || st->n >= kTraceLen)
        return -EBADMSG;
    st->trace[st->n++] = it;
    if (st->n < kTraceLen)
        return 0;
    return ts_send(ctx, st->client, kDetTrace(), st->trace, sizeof st->trace);
}

struct WorkerState {
    DetStart cfg;
    uint32_t nudges;
};
int WorkerStart(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<WorkerState *>(state);
    if (!tst::As(m, &st->cfg))
        return -EBADMSG;
    for (uint32_t i = 0; i < kItems; i++) {
        DetItem it{st->cfg.idx, i};
        int rc = ts_send(ctx, st->cfg.sink, kDetItem(), &it, sizeof it);
        if (rc == 0)
            rc = ts_send(ctx, st->cfg.next, kDetNudge(), &it, sizeof it);
        if (rc)
            return rc;
    }
    return 0;
}
int WorkerNudge(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<WorkerState *>(state);
    DetItem it{st->cfg.idx, 1000 + st->nudges++};
    return ts_send(ctx, st->cfg.sink, kDetItem(), &it, sizeof it);
}

int HubGo(ts_ctx *ctx, void *, const ts_msg *)
{
    ts_addr client = ts_sender(ctx), sink, w[kWorkers];
    ts_create_opts so{&client, sizeof client, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, nullptr};
    int rc = ts_create(ctx, "test.det.Sink", &so, &sink);
    for (uint32_t i = 0; rc == 0 && i < kWorkers; i++)
        rc = ts_create(ctx, "test.det.Worker", nullptr, &w[i]);
    for (uint32_t i = 0; rc == 0 && i < kWorkers; i++) {
        DetStart s{sink, w[(i + 1) % kWorkers], i, 0};
        rc = ts_send(ctx, w[i], kDetStart(), &s, sizeof s);
    }
    return rc;
}

const ts_handler_entry kSinkHandlers[] = {TS_ON("test.det.Item", SinkItem), TS_HANDLERS_END};
const ts_handler_entry kWorkerHandlers[] = {TS_ON("test.det.Start", WorkerStart),
                                            TS_ON("test.det.Nudge", WorkerNudge),
                                            TS_HANDLERS_END};
const ts_handler_entry kHubHandlers[] = {TS_ON("test.det.Go", HubGo), TS_HANDLERS_END};
const ts_actor_type kSink = {"test.det.Sink", sizeof(SinkState), SinkInit, nullptr,
                             kSinkHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kWorker = {"test.det.Worker", sizeof(WorkerState), nullptr, nullptr,
                               kWorkerHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kHub = {"test.det.Hub", 0, nullptr, nullptr, kHubHandlers, nullptr, nullptr, nullptr};

class MessagingScenario : public tst::SystemTest {
  protected:
    // Runs the determinism scenario once in the current system.
    std::vector<std::pair<uint32_t, uint32_t>> RunTrace()
    {
        std::vector<std::pair<uint32_t, uint32_t>> out;
        ts_addr hub = Create("test.det.Hub");
        if (hub == TS_ADDR_NONE)
            return out;
        Msg r = Ask(hub, kDetGo());
        if (!r)
            return out;
        EXPECT_EQ(r->type, kDetTrace());
        EXPECT_EQ(r->len, kTraceLen * sizeof(DetItem));
        if (r->type != kDetTrace() || r->len != kTraceLen * sizeof(DetItem))
            return out;
        const auto *it = static_cast<const DetItem *>(ts_msg_data(r.get()));
        for (uint32_t i = 0; i < kTraceLen; i++)
            out.emplace_back(it[i].worker, it[i].seq);
        return out;
    }
};

TEST_P(MessagingScenario, address_in_payload_is_used_to_send)
{
    TS_REGISTER(kIntroducer);
    ts_addr echo = Create(tst::kEcho);
    ts_addr intro = Create("test.msg.Introducer");
    ASSERT_NE(echo, TS_ADDR_NONE);
    ASSERT_NE(intro, TS_ADDR_NONE);

    Msg r = Ask(intro, kIntroduce(), &echo, sizeof echo);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kIntroduced());
    Introduced in{};
    ASSERT_TRUE(tst::As(r.get(), &in));
    EXPECT_EQ(in.pong_src, echo) << "the Pong came from the address passed in the payload";
    EXPECT_STREQ(in.text, "hi from introducer");
    EXPECT_EQ(r->src, intro);
}

TEST_P(MessagingScenario, reply_from_third_actor_answers_the_ask)
{
    TS_REGISTER(kForwarder);
    TS_REGISTER(kAnswerer);
    ts_addr a = Create("test.msg.Forwarder");
    ts_addr b = Create("test.msg.Answerer");
    ASSERT_NE(a, TS_ADDR_NONE);
    ASSERT_NE(b, TS_ADDR_NONE);

    for (int i = 0; i < 2; i++) {
        Msg r = Ask(a, kForward(), &b, sizeof b);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->type, kText());
        EXPECT_EQ(Text(r), "answered by B");
        EXPECT_EQ(r->src, b);
        EXPECT_EQ(r->dst, ts_system_client_addr(sys()));
    }
}

TEST_P(MessagingScenario, ask_without_reply_times_out)
{
    TS_REGISTER(kSilent);
    ts_addr silent = Create("test.msg.Silent");
    ts_addr echo = Create(tst::kEcho);
    ASSERT_NE(silent, TS_ADDR_NONE);
    ASSERT_NE(echo, TS_ADDR_NONE);

    ts_msg *reply = nullptr;
    int rc = ts_ask(sys(), silent, tst::kPing(), "x", 1, 20 * tst::kMs, &reply);
    EXPECT_EQ(rc, -ETIMEDOUT);
    EXPECT_EQ(reply, nullptr);
    EXPECT_STRNE(ts_last_error(), "");

    rc = ts_listen(sys(), 20 * tst::kMs, &reply);
    EXPECT_EQ(rc, -ETIMEDOUT);
    EXPECT_EQ(reply, nullptr);

    // The system is still fine: the next ask gets its own reply.
    Msg r = AskStr(echo, tst::kPing(), "after timeout");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, tst::kPong());
    EXPECT_EQ(Text(r), "after timeout");
    EXPECT_EQ(r->src, echo);
}

TEST_P(MessagingScenario, fallback_gets_unknown_types)
{
    TS_REGISTER(kWithFallback);
    ts_addr a = Create("test.msg.WithFallback");
    ASSERT_NE(a, TS_ADDR_NONE);

    Msg r = AskStr(a, kUnknown(), "xyz");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kFallbackSeen());
    FallbackSeen seen{};
    ASSERT_TRUE(tst::As(r.get(), &seen));
    EXPECT_EQ(seen.type, kUnknown());
    EXPECT_EQ(seen.len, 3u);
    EXPECT_EQ(std::string(seen.payload, 3), "xyz");

    // A named type still goes to its own handler.
    r = Ask(a, kKnown());
    ASSERT_TRUE(r);
    EXPECT_EQ(Text(r), "known");
}

TEST_P(MessagingScenario, unknown_type_without_fallback_is_ignored)
{
    TS_REGISTER(kNoFallback);
    ts_addr a = Create("test.msg.NoFallback");
    ASSERT_NE(a, TS_ADDR_NONE);
    ts_system_stats before = Stats();

    Tell(a, kUnknown(), "ignored", 7);
    Tell(a, ts_type_id("test.msg.NeverNamed"), nullptr, 0);
    // The next message to come back is the answer to the known type: the
    // unknown ones produced nothing (no reply, no Poison).
    Msg r = Ask(a, kKnown());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, kText());
    EXPECT_EQ(Text(r), "known");

    ts_system_stats after = Stats();
    EXPECT_EQ(after.poisoned, before.poisoned);
    EXPECT_EQ(after.restarts, before.restarts);
    EXPECT_EQ(after.actors_live, before.actors_live);

    ts_msg *extra = nullptr;
    EXPECT_EQ(ts_listen(sys(), 20 * tst::kMs, &extra), -ETIMEDOUT);
    ts_msg_free(extra);
}

TEST_P(MessagingScenario, same_scenario_gives_same_trace)
{
    if (GetParam() != TS_BASE_SIMPLE)
        GTEST_SKIP() << "only the simple base promises a deterministic interleaving";
    TS_REGISTER(kSink);
    TS_REGISTER(kWorker);
    TS_REGISTER(kHub);

    auto first = RunTrace();
    ASSERT_EQ(first.size(), kTraceLen);
    TS_REOPEN(Config());
    auto second = RunTrace();
    ASSERT_EQ(second.size(), kTraceLen);
    EXPECT_EQ(first, second);

    // Every item arrived exactly once, and per sender in send order.
    std::vector<std::vector<uint32_t>> per(kWorkers);
    for (auto &p : first) {
        ASSERT_LT(p.first, kWorkers);
        per[p.first].push_back(p.second);
    }
    for (uint32_t w = 0; w < kWorkers; w++) {
        std::vector<uint32_t> direct, nudged;
        for (uint32_t s : per[w])
            (s < 1000 ? direct : nudged).push_back(s);
        ASSERT_EQ(direct.size(), kItems) << "worker " << w;
        ASSERT_EQ(nudged.size(), kItems) << "worker " << w;
        for (uint32_t i = 0; i < kItems; i++) {
            EXPECT_EQ(direct[i], i) << "worker " << w;
            EXPECT_EQ(nudged[i], 1000 + i) << "worker " << w;
        }
    }
}

TS_INSTANTIATE_BASES(MessagingScenario);

} // namespace
