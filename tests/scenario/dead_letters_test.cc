// SPDX-License-Identifier: MIT
// dead_letters_test.cc — messages to actors that are gone: to a registered
// dead-letter handler, counted and logged without one, and never delivered
// to a newer actor that reuses the slot.
#include <string>
#include <vector>

#include "ts_test.h"

using tst::Msg;
using tst::Text;

namespace {

TS_TYPE_ID(kHi, "test.dl.Hi")
TS_TYPE_ID(kStart, "test.dl.Start")
TS_TYPE_ID(kResign, "test.dl.Resign")
TS_TYPE_ID(kSetReporter, "test.dl.SetReporter")
TS_TYPE_ID(kRc, "test.dl.Rc")
TS_TYPE_ID(kSeen, "test.dl.Seen")
TS_TYPE_ID(kCount, "test.dl.Count")
TS_TYPE_ID(kCounted, "test.dl.Counted")
TS_TYPE_ID(kSendTo, "test.dl.SendTo")
struct DlReport {
    ts_addr collector;
    ts_addr dst;
    ts_addr src;
    uint64_t type;
    int32_t decode_rc;
    uint32_t len;
    char payload[64];
};

// Collector: a dead-letter handler that reports every DeadLetter.
struct CollectorState {
    ts_addr reporter;
    uint64_t count;
};

int ReplyRc(ts_ctx *ctx, int32_t rc) { return ts_reply(ctx, kRc(), &rc, sizeof rc); }

int CollectorStart(ts_ctx *ctx, void *state, const ts_msg *)
{
    static_cast<CollectorState *>(state)->reporter = ts_sender(ctx);
    return ReplyRc(ctx, ts_handle_dead_letters(ctx, true));
}
int CollectorResign(ts_ctx *ctx, void *, const ts_msg *)
{
    return ReplyRc(ctx, ts_handle_dead_letters(ctx, false));
}
int CollectorSetReporter(ts_ctx *ctx, void *state, const ts_msg *)
{
    static_cast<CollectorState *>(state)->reporter = ts_sender(ctx);
    return ReplyRc(ctx, 0);
}
int CollectorDeadLetter(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<CollectorState *>(state);
    st->count++;
    DlReport r{};
    r.collector = ts_self(ctx);
    ts_dead_letter dl{};
    r.decode_rc = ts_dead_letter_decode(m, &dl);
    r.dst = dl.dst;
    r.src = dl.src;
    r.type = dl.type;
    r.len = static_cast<uint32_t>(dl.original_len);
    if (r.decode_rc == 0)
        std::memcpy(r.payload, dl.original, std::min(dl.original_len, sizeof r.payload));
    return ts_send(ctx, st->reporter, kSeen(), &r, sizeof r);
}
int CountReply(ts_ctx *ctx, void *state, const ts_msg *)
{
    uint64_t n = static_cast<CollectorState *>(state)->count;
    return ts_reply(ctx, kCounted(), &n, sizeof n);
}

const ts_handler_entry kCollectorHandlers[] = {
    TS_ON("test.dl.Start", CollectorStart),
    TS_ON("test.dl.Resign", CollectorResign),
    TS_ON("test.dl.SetReporter", CollectorSetReporter),
    TS_ON("test.dl.Count", CountReply),
    TS_ON_ID(TS_MSG_DEAD_LETTER, CollectorDeadLetter),
    TS_HANDLERS_END,
};
const ts_actor_type kCollector = {"test.dl.Collector", sizeof(CollectorState), nullptr, nullptr,
                                  kCollectorHandlers, nullptr, nullptr, nullptr};

// Counter: counts the Hi messages it gets (same state layout as Collector).
int CounterHi(ts_ctx *, void *state, const ts_msg *)
{
    static_cast<CollectorState *>(state)->count++;
    return 0;
}
const ts_handler_entry kCounterHandlers[] = {
    TS_ON("test.dl.Hi", CounterHi),
    TS_ON("test.dl.Count", CountReply),
    TS_HANDLERS_END,
};
const ts_actor_type kCounter = {"test.dl.Counter", sizeof(CollectorState), nullptr, nullptr,
                                kCounterHandlers, nullptr, nullptr, nullptr};

// Sender: sends Hi to an address given in the payload.
struct SendTo {
    ts_addr dst;
    char text[16];
};
int SenderSendTo(ts_ctx *ctx, void *, const ts_msg *m)
{
    SendTo s;
    if (!tst::As(m, &s))
        return -EBADMSG;
    // No reply on success: it could race the dead-letter report on bases
    // with several shards. A failure is reported (and fails the test).
    int rc = ts_send(ctx, s.dst, kHi(), s.text, std::strlen(s.text));
    return rc ? ReplyRc(ctx, rc) : 0;
}
const ts_handler_entry kSenderHandlers[] = {TS_ON("test.dl.SendTo", SenderSendTo),
                                            TS_HANDLERS_END};
const ts_actor_type kSender = {"test.dl.Sender", 0, nullptr, nullptr, kSenderHandlers, nullptr, nullptr, nullptr};

class DeadLetterScenario : public tst::SystemTest {
  protected:
    void SetUp() override
    {
        tst::SystemTest::SetUp();
        if (HasFatalFailure() || IsSkipped())
            return;
        ASSERT_EQ(ts_register_actor_type(&kCollector), 0) << ts_last_error();
        ASSERT_EQ(ts_register_actor_type(&kCounter), 0) << ts_last_error();
        ASSERT_EQ(ts_register_actor_type(&kSender), 0) << ts_last_error();
    }

    // An address whose actor has exited (a child of a Parent, so its exit is
    // observable as ChildGone).
    ts_addr DeadAddress(const char *type = tst::kEcho)
    {
        if (parent_ == TS_ADDR_NONE)
            parent_ = Create(tst::kParent);
        ts_addr a = Spawn(parent_, type);
        if (a == TS_ADDR_NONE)
            return a;
        Tell(a, TS_MSG_EXIT_REQUEST);
        tst::ChildGone g{};
        EXPECT_TRUE(NextChildGone(&g));
        EXPECT_EQ(g.child, a);
        return a;
    }

    int32_t AskRc(ts_addr a, uint64_t type, const void *p = nullptr, size_t len = 0)
    {
        Msg r = Ask(a, type, p, len);
        int32_t rc = -999;
        EXPECT_TRUE(r && r->type == kRc() && tst::As(r.get(), &rc));
        return rc;
    }

    uint64_t AskCount(ts_addr a)
    {
        Msg r = Ask(a, kCount());
        uint64_t n = ~uint64_t{0};
        EXPECT_TRUE(r && r->type == kCounted() && tst::As(r.get(), &n));
        return n;
    }

    // The next message must be a Seen report.
    DlReport NextSeen()
    {
        DlReport r{};
        Msg m = Listen();
        EXPECT_TRUE(m && m->type == kSeen() && tst::As(m.get(), &r))
            << "expected a dead-letter report";
        EXPECT_EQ(r.decode_rc, 0);
        return r;
    }

    void ExpectNothingMore()
    {
        ts_msg *extra = nullptr;
        EXPECT_EQ(ts_listen(sys(), 20 * tst::kMs, &extra), -ETIMEDOUT)
            << "unexpected message of type " << (extra ? extra->type : 0);
        ts_msg_free(extra);
    }

    ts_addr parent_ = TS_ADDR_NONE;
};

TEST_P(DeadLetterScenario, handler_registered_from_inside_gets_dead_letters)
{
    TS_ONE_NODE_ONLY("dead-letter handler (as a Thespian actor system's)");
    ts_addr c = Create("test.dl.Collector");
    ts_addr sender = Create("test.dl.Sender");
    ASSERT_NE(c, TS_ADDR_NONE);
    ASSERT_NE(sender, TS_ADDR_NONE);
    ASSERT_EQ(AskRc(c, kStart()), 0);
    ts_addr dead = DeadAddress();
    ASSERT_NE(dead, TS_ADDR_NONE);
    ts_system_stats before = Stats();

    // From the client.
    Tell(dead, kHi(), "lost", 4);
    DlReport r = NextSeen();
    EXPECT_EQ(r.collector, c);
    EXPECT_EQ(r.dst, dead);
    EXPECT_EQ(r.src, ts_system_client_addr(sys()));
    EXPECT_EQ(r.type, kHi());
    EXPECT_EQ(std::string(r.payload, r.len), "lost");

    // From an actor.
    SendTo s{dead, "also lost"};
    Tell(sender, kSendTo(), &s, sizeof s);
    r = NextSeen();
    EXPECT_EQ(r.collector, c);
    EXPECT_EQ(r.dst, dead);
    EXPECT_EQ(r.src, sender);
    EXPECT_EQ(r.type, kHi());
    EXPECT_EQ(std::string(r.payload, r.len), "also lost");

    ts_system_stats after = Stats();
    EXPECT_EQ(after.dead_letters, before.dead_letters + 2);
    EXPECT_EQ(after.dead_letters_dropped, before.dead_letters_dropped);
}

TEST_P(DeadLetterScenario, later_registration_replaces_earlier)
{
    TS_ONE_NODE_ONLY("dead-letter handler (as a Thespian actor system's)");
    ts_addr c1 = Create("test.dl.Collector");
    ts_addr c2 = Create("test.dl.Collector");
    ASSERT_NE(c1, TS_ADDR_NONE);
    ASSERT_NE(c2, TS_ADDR_NONE);
    ts_addr dead = DeadAddress();
    ASSERT_NE(dead, TS_ADDR_NONE);

    // Registered from outside.
    ASSERT_EQ(AskRc(c1, kSetReporter()), 0);
    ASSERT_EQ(ts_system_set_dead_letter_handler(sys(), c1), 0) << ts_last_error();
    Tell(dead, kHi(), "1", 1);
    EXPECT_EQ(NextSeen().collector, c1);

    // Registered from inside: replaces c1.
    ASSERT_EQ(AskRc(c2, kStart()), 0);
    Tell(dead, kHi(), "2", 1);
    DlReport r = NextSeen();
    EXPECT_EQ(r.collector, c2);
    EXPECT_EQ(std::string(r.payload, r.len), "2");

    // c1 resigning does nothing: it is no longer the handler (whether that
    // call reports an error is not specified).
    AskRc(c1, kResign());
    Tell(dead, kHi(), "3", 1);
    EXPECT_EQ(NextSeen().collector, c2);

    // Registered from outside again: replaces c2.
    ASSERT_EQ(ts_system_set_dead_letter_handler(sys(), c1), 0) << ts_last_error();
    Tell(dead, kHi(), "4", 1);
    EXPECT_EQ(NextSeen().collector, c1);

    EXPECT_EQ(AskCount(c1), 2u);
    EXPECT_EQ(AskCount(c2), 2u);

    // c1 resigns: no handler is left; the next one is dropped.
    EXPECT_EQ(AskRc(c1, kResign()), 0);
    ts_system_stats before = Stats();
    Tell(dead, kHi(), "5", 1);
    Drain();
    ts_system_stats after = Stats();
    EXPECT_EQ(after.dead_letters, before.dead_letters + 1);
    EXPECT_EQ(after.dead_letters_dropped, before.dead_letters_dropped + 1);
    ExpectNothingMore();

    // TS_ADDR_NONE removes an outside registration too.
    ASSERT_EQ(ts_system_set_dead_letter_handler(sys(), c2), 0) << ts_last_error();
    ASSERT_EQ(ts_system_set_dead_letter_handler(sys(), TS_ADDR_NONE), 0) << ts_last_error();
    Tell(dead, kHi(), "6", 1);
    Drain();
    EXPECT_EQ(Stats().dead_letters_dropped, before.dead_letters_dropped + 2);
    ExpectNothingMore();
    EXPECT_EQ(AskCount(c2), 2u);
}

TEST_P(DeadLetterScenario, without_handler_dead_letters_are_counted_and_logged)
{
    TS_REOPEN(Config(TS_LOG_DEBUG));
    ts_addr dead = DeadAddress();
    ASSERT_NE(dead, TS_ADDR_NONE);
    ts_system_stats before = Stats();
    size_t logged = CountLog("TS-DEADLETTER-DROP");

    Tell(dead, kHi(), "nobody", 6);
    Drain();
    ts_system_stats after = Stats();
    EXPECT_EQ(after.dead_letters, before.dead_letters + 1);
    EXPECT_EQ(after.dead_letters_dropped, before.dead_letters_dropped + 1);
    EXPECT_EQ(CountLog("TS-DEADLETTER-DROP"), logged + 1) << "captured log:\n" << LogDump();
    for (const auto &rec : Logs()) {
        if (rec.id == "TS-DEADLETTER-DROP") {
            EXPECT_EQ(rec.level, TS_LOG_DEBUG);
        }
    }
    ExpectNothingMore();
}

TEST_P(DeadLetterScenario, address_never_issued_is_a_dead_letter_not_an_error)
{
    ts_addr echo = Create(tst::kEcho);
    ASSERT_NE(echo, TS_ADDR_NONE);
    // Same node and shard as a live actor; a slot far beyond any issued one.
    ts_addr never = ts_addr_make(ts_addr_node(echo), ts_addr_shard(echo),
                                 ts_addr_slot(echo) + 1000, 1);
    ts_system_stats before = Stats();
    EXPECT_EQ(ts_tell(sys(), never, kHi(), "x", 1), 0) << ts_last_error();
    Drain();
    ts_system_stats after = Stats();
    EXPECT_EQ(after.dead_letters, before.dead_letters + 1);
    EXPECT_EQ(after.dead_letters_dropped, before.dead_letters_dropped + 1);
}

TEST_P(DeadLetterScenario, stale_address_never_reaches_a_new_actor)
{
    ts_addr dead = DeadAddress("test.dl.Counter");
    ASSERT_NE(dead, TS_ADDR_NONE);

    // New actors, some of which may reuse the dead actor's slot.
    std::vector<ts_addr> fresh;
    bool reused = false;
    for (int i = 0; i < 8; i++) {
        ts_addr a = Spawn(parent_, "test.dl.Counter");
        ASSERT_NE(a, TS_ADDR_NONE);
        EXPECT_NE(a, dead);
        if (ts_addr_slot(a) == ts_addr_slot(dead) && ts_addr_shard(a) == ts_addr_shard(dead)) {
            reused = true;
            EXPECT_NE(ts_addr_gen(a), ts_addr_gen(dead)) << "a reused slot has a new generation";
        }
        fresh.push_back(a);
    }
    RecordProperty("slot_reused", reused ? "yes" : "no");

    ts_system_stats before = Stats();
    for (int i = 0; i < 3; i++)
        Tell(dead, kHi(), "stale", 5);
    Drain();
    for (ts_addr a : fresh)
        EXPECT_EQ(AskCount(a), 0u) << "actor " << tst::AddrStr(a) << " got a stale message";
    ts_system_stats after = Stats();
    EXPECT_EQ(after.dead_letters, before.dead_letters + 3);
}

TS_INSTANTIATE_BASES(DeadLetterScenario);

} // namespace
