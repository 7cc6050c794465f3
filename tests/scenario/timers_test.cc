// SPDX-License-Identifier: MIT
// timers_test.cc — Wakeup messages: delivery, deadline order, payloads, and
// timers dying with their actor. Time passes only inside ts_ask/ts_listen;
// no test sleeps or measures time.
#include <atomic>
#include <string>
#include <vector>

#include "ts_test.h"

using tst::Msg;
using tst::Text;

namespace {

TS_TYPE_ID(kArm, "test.wake.Arm")
TS_TYPE_ID(kArmed, "test.wake.Armed")
TS_TYPE_ID(kFired, "test.wake.Fired")
struct ArmEntry {
    uint64_t delay_ns;
    uint32_t len;
    uint32_t pad;
    unsigned char data[256];
};
struct Armed {
    int32_t rc;
    int32_t pad;
};

std::atomic<int> &g_wakeups = tst::Shared<std::atomic<int>>();

struct AlarmState {
    ts_addr reporter;
};

// Arm: sets one wakeup per entry, answers Armed with the first error (or 0).
int AlarmArm(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<AlarmState *>(state);
    if (m->len % sizeof(ArmEntry) != 0)
        return -EBADMSG;
    st->reporter = ts_sender(ctx);
    Armed a{};
    size_t n = m->len / sizeof(ArmEntry);
    for (size_t i = 0; i < n && a.rc == 0; i++) {
        ArmEntry e;
        std::memcpy(&e, static_cast<const unsigned char *>(ts_msg_data(m)) + i * sizeof e,
                    sizeof e);
        a.rc = ts_wakeup_after(ctx, e.delay_ns, e.len ? e.data : nullptr, e.len);
    }
    return ts_reply(ctx, kArmed(), &a, sizeof a);
}

// Wakeup: reports its payload, unchanged, to whoever armed the alarm.
int AlarmWakeup(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<AlarmState *>(state);
    g_wakeups++;
    return ts_send(ctx, st->reporter, kFired(), ts_msg_data(m), m->len);
}

const ts_handler_entry kAlarmHandlers[] = {
    TS_ON("test.wake.Arm", AlarmArm),
    TS_ON_ID(TS_MSG_WAKEUP, AlarmWakeup),
    TS_HANDLERS_END,
};
const ts_actor_type kAlarm = {"test.wake.Alarm", sizeof(AlarmState), nullptr, nullptr,
                              kAlarmHandlers, nullptr, nullptr, nullptr};

ArmEntry Entry(uint64_t delay_ns, const void *data, size_t len)
{
    ArmEntry e{};
    e.delay_ns = delay_ns;
    e.len = static_cast<uint32_t>(len);
    if (len)
        std::memcpy(e.data, data, len);
    return e;
}
ArmEntry Entry(uint64_t delay_ns, const std::string &s)
{
    return Entry(delay_ns, s.data(), s.size());
}

class TimerScenario : public tst::SystemTest {
  protected:
    void SetUp() override
    {
        g_wakeups = 0;
        tst::SystemTest::SetUp();
    }
    // Arms the alarm; true if it answered Armed with rc 0.
    bool Arm(ts_addr alarm, const std::vector<ArmEntry> &entries)
    {
        Msg r = Ask(alarm, kArm(), entries.data(), entries.size() * sizeof(ArmEntry));
        Armed a{-1, 0};
        EXPECT_TRUE(r && r->type == kArmed() && tst::As(r.get(), &a));
        EXPECT_EQ(a.rc, 0) << "ts_wakeup_after failed";
        return a.rc == 0;
    }
    // The next message must be a Fired report; returns its payload.
    std::string NextFired(ts_addr from)
    {
        Msg m = Listen();
        if (!m)
            return "<nothing>";
        EXPECT_EQ(m->type, kFired());
        EXPECT_EQ(m->src, from);
        return Text(m);
    }
};

TEST_P(TimerScenario, one_wakeup)
{
    TS_REGISTER(kAlarm);
    ts_addr a = Create("test.wake.Alarm");
    ASSERT_NE(a, TS_ADDR_NONE);
    ASSERT_TRUE(Arm(a, {Entry(1 * tst::kMs, "ping")}));
    EXPECT_EQ(NextFired(a), "ping");
    EXPECT_EQ(g_wakeups.load(), 1);
    EXPECT_EQ(Stats().timers_pending, 0u);
}

TEST_P(TimerScenario, wakeups_arrive_in_deadline_order)
{
    TS_REGISTER(kAlarm);
    ts_addr a = Create("test.wake.Alarm");
    ASSERT_NE(a, TS_ADDR_NONE);
    ASSERT_TRUE(Arm(a, {Entry(30 * tst::kMs, "c"), Entry(10 * tst::kMs, "a"),
                        Entry(20 * tst::kMs, "b"), Entry(40 * tst::kMs, "d")}));
    std::vector<std::string> got;
    for (int i = 0; i < 4; i++)
        got.push_back(NextFired(a));
    EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "c", "d"}));
    EXPECT_EQ(Stats().timers_pending, 0u);
}

TEST_P(TimerScenario, wakeup_payload_round_trips)
{
    TS_REGISTER(kAlarm);
    ts_addr a = Create("test.wake.Alarm");
    ASSERT_NE(a, TS_ADDR_NONE);
    unsigned char bytes[200];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = static_cast<unsigned char>(i * 7 + 3); // includes 0x00 and 0xff bytes
    ASSERT_TRUE(Arm(a, {Entry(1 * tst::kMs, bytes, sizeof bytes),
                        Entry(2 * tst::kMs, nullptr, 0)}));

    std::string first = NextFired(a);
    ASSERT_EQ(first.size(), sizeof bytes);
    EXPECT_EQ(std::memcmp(first.data(), bytes, sizeof bytes), 0);
    EXPECT_EQ(NextFired(a), "") << "an empty payload stays empty";
}

TEST_P(TimerScenario, pending_wakeup_dies_with_its_actor)
{
    TS_REGISTER(kAlarm);
    ts_addr parent = Create(tst::kParent);
    ASSERT_NE(parent, TS_ADDR_NONE);
    ts_addr doomed = Spawn(parent, "test.wake.Alarm");
    ASSERT_NE(doomed, TS_ADDR_NONE);
    ASSERT_TRUE(Arm(doomed, {Entry(40 * tst::kMs, "late")}));

    Tell(doomed, TS_MSG_EXIT_REQUEST);
    tst::ChildGone gone{};
    ASSERT_TRUE(NextChildGone(&gone));
    EXPECT_EQ(gone.child, doomed);
    ts_system_stats before = Stats();
    EXPECT_EQ(before.timers_pending, 0u) << "the exited actor's timer is gone";

    // A witness armed later, with a longer delay: once its Wakeup has come,
    // the doomed actor's deadline has passed too.
    ts_addr witness = Create("test.wake.Alarm");
    ASSERT_NE(witness, TS_ADDR_NONE);
    ASSERT_TRUE(Arm(witness, {Entry(80 * tst::kMs, "witness")}));
    EXPECT_EQ(NextFired(witness), "witness");

    ts_system_stats after = Stats();
    EXPECT_EQ(g_wakeups.load(), 1) << "only the witness woke up";
    EXPECT_EQ(after.dead_letters, before.dead_letters) << "a dead timer makes no dead letter";
    EXPECT_EQ(after.timers_pending, 0u);
    ts_msg *extra = nullptr;
    EXPECT_EQ(ts_listen(sys(), 20 * tst::kMs, &extra), -ETIMEDOUT) << tst::Text(extra);
    ts_msg_free(extra);
}

TS_INSTANTIATE_BASES(TimerScenario);

} // namespace
