// SPDX-License-Identifier: MIT
// errors_test.cc — every bad input returns its documented -errno (never a
// crash), from outside and from inside handlers, and ts_last_error() says
// what went wrong.
#include <string>
#include <vector>

#include "ts_test.h"

using tst::Msg;
using tst::Text;

namespace {

// Checks a call's return code and that ts_last_error() (read right after it,
// on the same thread) is non-empty and mentions one of the given words.
#define EXPECT_TS_ERR(call, code, ...)                                                    \
    do {                                                                                  \
        int rc_ = (call);                                                                 \
        std::string err_ = ts_last_error();                                               \
        EXPECT_EQ(rc_, (code)) << #call << ": " << err_;                                  \
        EXPECT_FALSE(err_.empty()) << #call;                                              \
        EXPECT_TRUE(tst::ContainsAnyCI(err_, {__VA_ARGS__}))                              \
            << #call << ": ts_last_error() = \"" << err_ << "\" is not about the failure"; \
    } while (0)

const char *const kNoSuchType = "test.err.NoSuchType";

TS_TYPE_ID(kHi, "test.err.Hi")
TS_TYPE_ID(kProbeOp, "test.err.ProbeOp")
TS_TYPE_ID(kProbeRes, "test.err.ProbeRes")
// Prober performs one API call inside its handler and reports the result
// and ts_last_error() as the handler's thread saw them.
enum ProbeOp : int32_t {
    kOpSend,         // ts_send(dst, len bytes)
    kOpCreateMissing,// ts_create of a type nobody registered
    kOpWakeup,       // ts_wakeup_after(len bytes)
    kOpCreateBigArg, // ts_create with a len-byte argument
    kOpAsk,          // ts_ask from inside a handler
    kOpListen,       // ts_listen from inside a handler
    kOpRun,          // ts_run from inside a handler
    kOpConvention,   // ts_notify_on_convention on a node in no convention
};
struct ProbeReq {
    int32_t op;
    uint32_t len;
    ts_addr dst;
};
struct ProbeRes {
    int32_t rc;
    int32_t pad;
    char err[240];
};

unsigned char g_big[4096];

int ProberProbe(ts_ctx *ctx, void *, const ts_msg *m)
{
    ProbeReq q;
    if (!tst::As(m, &q))
        return -EBADMSG;
    ProbeRes r{};
    ts_addr out = TS_ADDR_NONE;
    ts_msg *reply = nullptr;
    switch (q.op) {
    case kOpSend: r.rc = ts_send(ctx, q.dst, kHi(), g_big, q.len); break;
    case kOpCreateMissing: r.rc = ts_create(ctx, kNoSuchType, nullptr, &out); break;
    case kOpWakeup: r.rc = ts_wakeup_after(ctx, tst::kMs, g_big, q.len); break;
    case kOpCreateBigArg: {
        ts_create_opts o{g_big, q.len, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, nullptr};
        r.rc = ts_create(ctx, tst::kEcho, &o, &out);
        break;
    }
    case kOpAsk:
        r.rc = ts_ask(ts_ctx_system(ctx), q.dst, tst::kPing(), nullptr, 0, tst::kWait, &reply);
        break;
    case kOpListen: r.rc = ts_listen(ts_ctx_system(ctx), tst::kWait, &reply); break;
    case kOpRun: r.rc = ts_run(ts_ctx_system(ctx), tst::kWait); break;
    case kOpConvention: r.rc = ts_notify_on_convention(ctx, true); break;
    default: return -EINVAL;
    }
    std::snprintf(r.err, sizeof r.err, "%s", ts_last_error());
    ts_msg_free(reply);
    return ts_reply(ctx, kProbeRes(), &r, sizeof r);
}
const ts_handler_entry kProberHandlers[] = {TS_ON("test.err.ProbeOp", ProberProbe),
                                            TS_HANDLERS_END};
const ts_actor_type kProber = {"test.err.Prober", 0, nullptr, nullptr, kProberHandlers, nullptr, nullptr, nullptr};

// For registration errors.
int Nop(ts_ctx *, void *, const ts_msg *) { return 0; }
const ts_handler_entry kDupRows[] = {
    TS_ON("test.err.Same", Nop),
    TS_ON("test.err.Same", Nop),
    TS_HANDLERS_END,
};
const ts_actor_type kDupOriginal = {"test.err.Dup", 0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
const ts_actor_type kDupImpostor = {"test.err.Dup", 8, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
const ts_actor_type kDupHandlers = {"test.err.DupHandlers", 0, nullptr, nullptr, kDupRows,
                                    nullptr, nullptr, nullptr};
const ts_actor_type kEmptyName = {"", 0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

class ErrorScenario : public tst::SystemTest {
  protected:
    void SetUp() override
    {
        tst::SystemTest::SetUp();
        if (HasFatalFailure() || IsSkipped())
            return;
        ASSERT_EQ(ts_register_actor_type(&kProber), 0) << ts_last_error();
    }

    ProbeRes Probe(ts_addr prober, ProbeOp op, ts_addr dst = TS_ADDR_NONE, uint32_t len = 0)
    {
        ProbeReq q{op, len, dst};
        ProbeRes r{-999, 0, {}};
        Msg m = Ask(prober, kProbeOp(), &q, sizeof q);
        EXPECT_TRUE(m && m->type == kProbeRes() && tst::As(m.get(), &r));
        return r;
    }

    void ExpectNothingArrives()
    {
        ts_msg *extra = nullptr;
        EXPECT_EQ(ts_listen(sys(), 20 * tst::kMs, &extra), -ETIMEDOUT)
            << "a failed call had an effect: got a message of type " << (extra ? extra->type : 0);
        ts_msg_free(extra);
    }
};

#define EXPECT_PROBE(res, code, ...)                                                   \
    do {                                                                               \
        ProbeRes r_ = (res);                                                           \
        EXPECT_EQ(r_.rc, (code)) << #res << ": " << r_.err;                            \
        EXPECT_STRNE(r_.err, "") << #res;                                              \
        EXPECT_TRUE(tst::ContainsAnyCI(r_.err, {__VA_ARGS__}))                         \
            << #res << ": ts_last_error() = \"" << r_.err << "\" is not about the failure"; \
    } while (0)

#define ADDR_WORDS "addr", "destination", "dst", "invalid"
#define SIZE_WORDS "size", "large", "long", "max", "limit", "big", "1025", "1024"
#define SHUT_WORDS "shut", "closed", "stopp"

TEST_P(ErrorScenario, invalid_addresses_are_einval)
{
    ts_addr echo = Create(tst::kEcho);
    ts_addr prober = Create("test.err.Prober");
    ASSERT_NE(echo, TS_ADDR_NONE);
    ASSERT_NE(prober, TS_ADDR_NONE);
    // A shard the system never has: the caller's system, and the prober's
    // (on two nodes they may differ; another node's shards are its own to judge).
    const ts_addr bad_shard = ts_addr_make(Node(), 200, 1, 1);
    const ts_addr bad_shard_in = ts_addr_make(ts_addr_node(prober), 200, 1, 1);

    EXPECT_TS_ERR(ts_tell(sys(), TS_ADDR_NONE, kHi(), "x", 1), -EINVAL, ADDR_WORDS);
    EXPECT_TS_ERR(ts_tell(sys(), bad_shard, kHi(), "x", 1), -EINVAL, ADDR_WORDS);
    ts_msg *reply = nullptr;
    EXPECT_TS_ERR(ts_ask(sys(), TS_ADDR_NONE, kHi(), "x", 1, tst::kWait, &reply), -EINVAL,
                  ADDR_WORDS);
    EXPECT_EQ(reply, nullptr);
    EXPECT_TS_ERR(ts_ask(sys(), bad_shard, kHi(), "x", 1, tst::kWait, &reply), -EINVAL,
                  ADDR_WORDS);
    EXPECT_EQ(reply, nullptr);
    EXPECT_TS_ERR(ts_tell(sys(), echo, tst::kPing(), nullptr, 5), -EINVAL, "payload", "null",
                  "invalid");

    // The same from inside a handler.
    EXPECT_PROBE(Probe(prober, kOpSend, TS_ADDR_NONE, 1), -EINVAL, ADDR_WORDS);
    EXPECT_PROBE(Probe(prober, kOpSend, bad_shard_in, 1), -EINVAL, ADDR_WORDS);

    ExpectNothingArrives();
    // None of that hurt the system.
    Msg r = AskStr(echo, tst::kPing(), "still fine");
    ASSERT_TRUE(r);
    EXPECT_EQ(Text(r), "still fine");
}

TEST_P(ErrorScenario, payload_above_maximum_is_emsgsize)
{
    ts_config cfg = Config();
    cfg.max_msg_size = 1024;
    TS_REOPEN(cfg);
    ts_addr echo = Create(tst::kEcho);
    ts_addr prober = Create("test.err.Prober");
    ASSERT_NE(echo, TS_ADDR_NONE);
    ASSERT_NE(prober, TS_ADDR_NONE);

    std::string max(1024, 'm'), over(1025, 'o');
    EXPECT_TS_ERR(ts_tell(sys(), echo, tst::kPing(), over.data(), over.size()), -EMSGSIZE,
                  SIZE_WORDS);
    ts_msg *reply = nullptr;
    EXPECT_TS_ERR(ts_ask(sys(), echo, tst::kPing(), over.data(), over.size(), tst::kWait, &reply),
                  -EMSGSIZE, SIZE_WORDS);
    EXPECT_EQ(reply, nullptr);
    ts_create_opts big_arg{over.data(), over.size(), nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, nullptr};
    ts_addr out = TS_ADDR_NONE;
    EXPECT_TS_ERR(ts_system_create(sys(), tst::kEcho, &big_arg, &out), -EMSGSIZE, SIZE_WORDS);
    ExpectNothingArrives();

    // Exactly the maximum is fine.
    Msg r = AskStr(echo, tst::kPing(), max);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, tst::kPong());
    EXPECT_EQ(Text(r), max);

    // The same from inside a handler.
    EXPECT_PROBE(Probe(prober, kOpSend, echo, 1025), -EMSGSIZE, SIZE_WORDS);
    EXPECT_PROBE(Probe(prober, kOpWakeup, TS_ADDR_NONE, 1025), -EMSGSIZE, SIZE_WORDS);
    EXPECT_PROBE(Probe(prober, kOpCreateBigArg, TS_ADDR_NONE, 1025), -EMSGSIZE, SIZE_WORDS);
    ExpectNothingArrives();
}

TEST_P(ErrorScenario, unknown_actor_type_is_enoent)
{
    ts_addr prober = Create("test.err.Prober");
    ASSERT_NE(prober, TS_ADDR_NONE);
    ts_system_stats before = Stats();

    ts_addr out = TS_ADDR_NONE;
    EXPECT_TS_ERR(ts_system_create(sys(), kNoSuchType, nullptr, &out), -ENOENT, kNoSuchType);
    EXPECT_EQ(out, TS_ADDR_NONE);
    EXPECT_PROBE(Probe(prober, kOpCreateMissing), -ENOENT, kNoSuchType);

    EXPECT_TS_ERR(ts_system_create(sys(), nullptr, nullptr, &out), -EINVAL, "type", "name",
                  "null", "invalid");
    EXPECT_TS_ERR(ts_system_create(sys(), tst::kEcho, nullptr, nullptr), -EINVAL, "out", "null",
                  "invalid");
    EXPECT_EQ(Stats().actors_created, before.actors_created);
}

TEST_P(ErrorScenario, zero_timeout_and_null_reply_are_einval)
{
    ts_addr echo = Create(tst::kEcho);
    ASSERT_NE(echo, TS_ADDR_NONE);

    ts_msg *reply = nullptr;
    EXPECT_TS_ERR(ts_ask(sys(), echo, tst::kPing(), "x", 1, 0, &reply), -EINVAL, "timeout");
    EXPECT_EQ(reply, nullptr);
    EXPECT_TS_ERR(ts_ask(sys(), echo, tst::kPing(), "x", 1, tst::kWait, nullptr), -EINVAL,
                  "reply", "null", "invalid");
    EXPECT_TS_ERR(ts_listen(sys(), 0, &reply), -EINVAL, "timeout");
    EXPECT_EQ(reply, nullptr);
    EXPECT_TS_ERR(ts_listen(sys(), tst::kWait, nullptr), -EINVAL, "reply", "null", "invalid");
    // A rejected ask sent nothing.
    ExpectNothingArrives();
}

TEST_P(ErrorScenario, waiting_inside_a_handler_is_edeadlk)
{
    ts_addr echo = Create(tst::kEcho);
    ts_addr prober = Create("test.err.Prober");
    ASSERT_NE(echo, TS_ADDR_NONE);
    ASSERT_NE(prober, TS_ADDR_NONE);
    EXPECT_PROBE(Probe(prober, kOpAsk, echo), -EDEADLK, "handler", "inside", "deadlock", "actor");
    EXPECT_PROBE(Probe(prober, kOpListen), -EDEADLK, "handler", "inside", "deadlock", "actor");
    EXPECT_PROBE(Probe(prober, kOpRun), -EDEADLK, "handler", "inside", "deadlock", "actor");
    ExpectNothingArrives();
}

TEST_P(ErrorScenario, watching_a_convention_the_node_is_not_in_is_enotconn)
{
    ts_addr prober = Create("test.err.Prober");
    ASSERT_NE(prober, TS_ADDR_NONE);
    EXPECT_PROBE(Probe(prober, kOpConvention), -ENOTCONN, "convention");
    EXPECT_EQ(ts_notify_on_convention(nullptr, true), -EINVAL);
    ExpectNothingArrives();
}

TEST_P(ErrorScenario, calls_after_shutdown_are_eshutdown)
{
    ts_addr echo = Create(tst::kEcho);
    ASSERT_NE(echo, TS_ADDR_NONE);
    ASSERT_EQ(ts_system_shutdown(sys()), 0) << ts_last_error();
    EXPECT_EQ(ts_system_shutdown(sys()), 0) << "shutting down twice is fine";

    ts_msg *reply = nullptr;
    ts_addr out = TS_ADDR_NONE;
    EXPECT_TS_ERR(ts_tell(sys(), echo, tst::kPing(), "x", 1), -ESHUTDOWN, SHUT_WORDS);
    EXPECT_TS_ERR(ts_ask(sys(), echo, tst::kPing(), "x", 1, tst::kWait, &reply), -ESHUTDOWN,
                  SHUT_WORDS);
    EXPECT_EQ(reply, nullptr);
    EXPECT_TS_ERR(ts_system_create(sys(), tst::kEcho, nullptr, &out), -ESHUTDOWN, SHUT_WORDS);
    EXPECT_TS_ERR(ts_run(sys(), tst::kWait), -ESHUTDOWN, SHUT_WORDS);
    EXPECT_TS_ERR(ts_listen(sys(), tst::kWait, &reply), -ESHUTDOWN, SHUT_WORDS);
    EXPECT_TS_ERR(ts_system_set_dead_letter_handler(sys(), echo), -ESHUTDOWN, SHUT_WORDS);

    // Read-only queries still work; every actor has exited.
    ts_system_stats st{};
    ASSERT_EQ(ts_system_stats_get(sys(), &st), 0) << ts_last_error();
    EXPECT_EQ(st.actors_live, 0u);
    EXPECT_EQ(st.actors_exited, st.actors_created);
}

TEST_P(ErrorScenario, bad_registrations_and_configurations)
{
    EXPECT_TS_ERR(ts_register_actor_type(nullptr), -EINVAL, "null", "type", "invalid");
    EXPECT_TS_ERR(ts_register_actor_type(&kEmptyName), -EINVAL, "name", "empty", "invalid");
    ASSERT_EQ(ts_register_actor_type(&kDupOriginal), 0) << ts_last_error();
    EXPECT_EQ(ts_register_actor_type(&kDupOriginal), 0) << "the same struct twice is fine";
    EXPECT_TS_ERR(ts_register_actor_type(&kDupImpostor), -EEXIST, "test.err.Dup");
    EXPECT_TS_ERR(ts_register_actor_type(&kDupHandlers), -EEXIST, "test.err.Same",
                  "test.err.DupHandlers", "duplicate", "twice", "same");
    EXPECT_TS_ERR(ts_register_msg_type("", nullptr), -EINVAL, "name", "empty", "invalid");
    EXPECT_TS_ERR(ts_register_msg_type(nullptr, nullptr), -EINVAL, "name", "null", "invalid");

    ts_base b;
    EXPECT_EQ(ts_base_parse("no-such-base", &b), -EINVAL);
    ts_log_level l;
    EXPECT_EQ(ts_log_level_parse("loud", &l), -EINVAL);
    EXPECT_EQ(ts_system_stats_get(sys(), nullptr), -EINVAL);
    EXPECT_EQ(ts_system_stats_get(nullptr, nullptr), -EINVAL);

    ts_system *s = nullptr;
    ts_config cfg = Config();
    cfg.log.level = static_cast<ts_log_level>(99);
    EXPECT_TS_ERR(ts_system_open(&cfg, &s), -EINVAL, "level", "log", "invalid");
    EXPECT_EQ(s, nullptr);
    cfg = Config();
    cfg.log.sink = TS_LOG_SINK_FILE;
    cfg.log.path = nullptr;
    EXPECT_TS_ERR(ts_system_open(&cfg, &s), -EINVAL, "path", "file", "log", "invalid");
    EXPECT_EQ(s, nullptr);
    cfg = Config();
    cfg.log.fn = nullptr;
    EXPECT_TS_ERR(ts_system_open(&cfg, &s), -EINVAL, "callback", "fn", "log", "invalid");
    EXPECT_EQ(s, nullptr);
    // Capabilities are KEY=VALUE terms (placement/caps.h): each bad one is
    // named.
    for (const char *bad : {"gpu", "a b=1", "region=eu,", "=1", "k!=1"}) {
        cfg = Config();
        cfg.caps = bad;
        EXPECT_TS_ERR(ts_system_open(&cfg, &s), -EINVAL, "capabilit");
        EXPECT_EQ(s, nullptr) << bad;
    }
    // A convention: not on the simple base; elsewhere it needs its key, the
    // key must be there, and the convention's options go with one.
    cfg = Config();
    cfg.convention = "127.0.0.1:7000";
    if (cfg.base == TS_BASE_SIMPLE)
        EXPECT_TS_ERR(ts_system_open(&cfg, &s), -EOPNOTSUPP, "convention", "simple");
    else
        EXPECT_TS_ERR(ts_system_open(&cfg, &s), -EINVAL, "key_file");
    EXPECT_EQ(s, nullptr);
    if (cfg.base != TS_BASE_SIMPLE) {
        cfg.key_file = "/nonexistent/thespis.key";
        EXPECT_TS_ERR(ts_system_open(&cfg, &s), -ENOENT, "key file", "/nonexistent/thespis.key");
        EXPECT_EQ(s, nullptr);
    }
    cfg = Config();
    cfg.convention_leader = true;
    EXPECT_TS_ERR(ts_system_open(&cfg, &s), -EINVAL, "convention");
    EXPECT_EQ(s, nullptr);
    cfg = Config();
    cfg.key_file = "/tmp/k";
    EXPECT_TS_ERR(ts_system_open(&cfg, &s), -EINVAL, "convention");
    EXPECT_EQ(s, nullptr);
    ts_system_close(s); // NULL is fine
}

TS_INSTANTIATE_BASES(ErrorScenario);

} // namespace
