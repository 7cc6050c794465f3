// Scenario: logging from handlers on every base. On pinned, shards hand
// records to a logger thread through a bounded ring: a burst larger than the
// ring drops records without blocking the shard, and the drop is counted
// and reported, so records seen + records dropped is exact.
#include <cstdlib>
#include <string>

#include "ts_test.h"

namespace {

using tst::Msg;

constexpr int kBurst = 20000;

int Chatter(ts_ctx *ctx, void *, const ts_msg *)
{
    for (int i = 0; i < kBurst; i++)
        ts_log(ctx, TS_LOG_WARNING, "chatter %d", i);
    return ts_reply(ctx, ts_type_id("test.log.Done"), nullptr, 0);
}

const ts_handler_entry kChatterHandlers[] = {TS_ON("test.log.Go", Chatter), TS_HANDLERS_END};
const ts_actor_type kChatter = {"test.log.Chatter", 0, nullptr, nullptr, kChatterHandlers, nullptr, nullptr, nullptr};

class LogScenario : public tst::SystemTest {};

TEST_P(LogScenario, records_carry_the_actor_and_bursts_are_accounted_for)
{
    ASSERT_EQ(ts_register_actor_type(&kChatter), 0) << ts_last_error();
    ts_addr a = Create("test.log.Chatter");
    ASSERT_NE(a, TS_ADDR_NONE);
    Msg done = Ask(a, ts_type_id("test.log.Go"));
    ASSERT_TRUE(done);

    size_t seen = 0;
    uint64_t dropped_reported = 0;
    for (const auto &r : Logs()) {
        if (r.id == "TS-LOG-DROPPED") {
            dropped_reported += std::strtoull(r.text.c_str(), nullptr, 10);
            continue;
        }
        if (r.text.rfind("chatter ", 0) != 0)
            continue;
        EXPECT_EQ(r.actor, a);
        EXPECT_EQ(r.actor_type, "test.log.Chatter");
        EXPECT_EQ(r.level, TS_LOG_WARNING);
        seen++;
    }
    ts_system_stats st = Stats();
    EXPECT_EQ(seen + dropped_reported, (size_t)kBurst);
    EXPECT_EQ(st.log_dropped, dropped_reported);
    if (GetParam() == TS_BASE_SIMPLE) {
        EXPECT_EQ(dropped_reported, 0u) << "the simple base writes records directly";
    }
}

TS_INSTANTIATE_BASES(LogScenario);

} // namespace
