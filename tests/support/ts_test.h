// SPDX-License-Identifier: MIT
//
// ts_test.h — what every scenario test shares: the list of bases the suite
// runs on, a fixture that opens a system for the base under test with a log
// sink capturing records, and helpers for asking, listening and decoding.
//
// Tests use the public API only. Waiting is always ts_ask/ts_listen/ts_run
// with a generous timeout; nothing sleeps and nothing asserts on time.
#ifndef TS_TEST_SUPPORT_TS_TEST_H
#define TS_TEST_SUPPORT_TS_TEST_H

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/log.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

namespace tst {
// Not a base: the pinned base as two nodes on two hosts (each node started
// inside a network namespace of its own, the two joined by a veth pair),
// linked over TCP and each creating with TS_PLACE_SPREAD, so actors land on
// both (design §8). Skips with the reason where namespaces cannot be made
// (not root, no iproute2 or nftables).
// (The value after the last base: still in the enum's range, which a
// sanitizer checks.)
static_assert(TS_BASE_MULTIPROC == 2, "kTwoNodes takes the value after the last base");
constexpr ts_base kTwoNodes = static_cast<ts_base>(3);
} // namespace tst

// Every base the scenario suite runs on, defined once. Later bases are added
// here and nowhere else.
#define TS_ALL_BASES \
    ::testing::Values(TS_BASE_SIMPLE, TS_BASE_PINNED, TS_BASE_MULTIPROC, ::tst::kTwoNodes)

// Instantiates a parameterized scenario fixture over TS_ALL_BASES, naming each
// instance after its base ("Bases/HelloScenario.hello/simple").
#define TS_INSTANTIATE_BASES(suite) \
    INSTANTIATE_TEST_SUITE_P(Bases, suite, TS_ALL_BASES, ::tst::BaseParamName())

// Defines `uint64_t fn()`, the id of message type `name`, computed once.
#define TS_TYPE_ID(fn, name)                          \
    uint64_t fn()                                     \
    {                                                 \
        static const uint64_t id = ts_type_id(name);  \
        return id;                                    \
    }

// Registers an actor type (idempotent for the same struct) or fails the test.
#define TS_REGISTER(type) \
    ASSERT_EQ(ts_register_actor_type(&(type)), 0) << ts_last_error()

// Leaves a test that is about one node's own table (dead-letter handler,
// global names) when the suite runs over two nodes, saying why.
#define TS_ONE_NODE_ONLY(why)                                             \
    do {                                                                  \
        if (TwoNodes())                                                   \
            GTEST_SKIP() << "one node's own " << why << ": actors spread " \
                         << "over two nodes use each their node's";       \
    } while (0)

// Reopens the fixture's system with cfg and leaves the test body if that
// failed or skipped (base not built).
#define TS_REOPEN(cfg)                               \
    do {                                             \
        Reopen(cfg);                                 \
        if (HasFatalFailure() || IsSkipped())        \
            return;                                  \
    } while (0)

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TS_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TS_TEST_SANITIZED 1
#endif
#endif
#ifndef TS_TEST_SANITIZED
#define TS_TEST_SANITIZED 0
#endif

namespace tst {

// ts_tell, again while the caller's mailbox is full (-EAGAIN: the shards
// have not drained a stream of tells yet).
int TellAgain(ts_system *sys, ts_addr to, uint64_t type, const void *p, size_t len);

// A stress test's count: n, a fifth of it under a sanitizer (they are 5-20x
// slower), divided by THESPIS_STRESS_SCALE when that is set.
uint64_t Scaled(uint64_t n);

// Generous bound for anything that should happen: a hang fails the test
// instead of blocking the suite, but nothing depends on how fast it is.
constexpr uint64_t kWait = UINT64_C(10) * 1000 * 1000 * 1000;
constexpr uint64_t kMs = UINT64_C(1000) * 1000;

// Test-parameter name of a base, independent of the engine.
const char *BaseLabel(ts_base base);

struct BaseParamName {
    std::string operator()(const ::testing::TestParamInfo<ts_base> &info) const
    {
        return BaseLabel(info.param);
    }
};

struct MsgFree {
    void operator()(ts_msg *m) const { ts_msg_free(m); }
};
// A message returned by ts_ask/ts_listen, freed with ts_msg_free.
using Msg = std::unique_ptr<ts_msg, MsgFree>;

// A message's payload as a string.
std::string Text(const ts_msg *m);
inline std::string Text(const Msg &m) { return Text(m.get()); }

// ts_ask, again while the caller's mailbox is full; records a failure and
// returns null when it fails otherwise.
Msg AskAgain(ts_system *sys, ts_addr to, uint64_t type, const void *p, size_t len,
             uint64_t timeout = 6 * kWait);

// Copies a payload into a trivially copyable T; false if the length differs.
template <class T> bool As(const ts_msg *m, T *out)
{
    if (!m || m->len != sizeof(T))
        return false;
    std::memcpy(out, ts_msg_data(m), sizeof(T));
    return true;
}

// "0.0.5.1", for failure messages.
std::string AddrStr(ts_addr a);

// True if haystack contains any of the needles, case-insensitively.
bool ContainsAnyCI(const std::string &haystack, const std::vector<std::string> &needles);

// One captured log record (copied out of the callback).
// An init that copies its argument into State::arg; a wrong size is -EINVAL.
template <class State> int InitFromArg(ts_ctx *, void *state, const void *arg, size_t len)
{
    auto *st = static_cast<State *>(state);
    if (len != sizeof(st->arg))
        return -EINVAL;
    std::memcpy(&st->arg, arg, len);
    return 0;
}

// A handler that replies with State::res as a message of type Type().
template <class State, uint64_t (*Type)()> int ReplyResult(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<State *>(state);
    return ts_reply(ctx, Type(), &st->res, sizeof st->res);
}

// Observations handlers make for the test to read. On the multiproc base
// handlers run in shard processes forked from the test, so what they write
// must live in memory those processes share with it: Shared<T>() gives a T
// in an anonymous shared mapping made before any node forks (T must be
// lock-free and pointer-free, like std::atomic<int>). Use it as
//   std::atomic<int> &g_count = tst::Shared<std::atomic<int>>();
void *SharedAlloc(size_t size, size_t align);
template <class T> T &Shared()
{
    return *new (SharedAlloc(sizeof(T), alignof(T))) T();
}

// A list of short strings in shared memory (see Shared), for handlers to
// record the order of events in.
class SharedLog {
  public:
    SharedLog();
    void Add(const std::string &s);
    std::vector<std::string> Copy() const;
    void Clear();

  private:
    struct Data;
    Data *d_;
};

// The CPUs this process may run on, ascending.
std::vector<int> AllowedCpus();

struct LogRec {
    ts_log_level level;
    std::string id;
    ts_addr actor;
    std::string actor_type;
    std::string text;
};

// ------------------------------------------------------------------------
// Shared actor payloads (the common actors are in common_actors.cc).
// ------------------------------------------------------------------------

// test.common.Spawn: the Parent creates a child and replies Spawned.
struct SpawnReq {
    char type[64];
    char global_name[64]; // empty: no global name
    char requirements[64]; // empty: none of the creation's own
    uint32_t nprobe;      // Probe messages the parent sends the child at once
    uint32_t arg_len;
    unsigned char arg[128];
};
struct SpawnReply {
    ts_addr child;
    int32_t rc;
    int32_t pad;
};
// test.common.ChildGone: the Parent saw ChildExited.
struct ChildGone {
    ts_addr child;
    int32_t status;
    int32_t decode_rc;
};
// test.common.PoisonSeen: an actor received Poison and decoded it.
struct PoisonReport {
    ts_addr original_dst;
    uint64_t original_type;
    ts_addr poison_src;
    int32_t reason;
    int32_t decode_rc;
    uint32_t original_len;
    uint32_t text_len;
    char original[128];
    char text[128];
};
// Fills r from a received Poison message (r->decode_rc is the decoder's rc).
void FillPoisonReport(const ts_msg *poison, PoisonReport *r);

// Message type ids of the common actors.
uint64_t kPing();      // test.common.Ping: Echo replies Pong with the same payload
uint64_t kPong();
uint64_t kProbe();     // test.common.Probe: sent by Parent to a new child
uint64_t kSpawn();
uint64_t kSpawned();
uint64_t kChildGone();
uint64_t kPoisonSeen();
uint64_t kNum();       // test.common.Num: a uint64_t (and any padding) for Seq
uint64_t kCount();     // test.common.Count: Seq answers {numbers seen, bad ones}

// Registers test.common.Echo, Parent and Seq. Returns 0 or -errno.
int RegisterCommonActors();
extern const char *const kEcho;   // "test.common.Echo"
extern const char *const kParent; // "test.common.Parent"
extern const char *const kSeq;    // "test.common.Seq": counts Nums, each
                                  // one not the last plus one is bad

// Tells the Seq at seq the numbers from..to-1, each a Num of pad bytes
// (at least 8: the number, then padding), again while the mailbox is full.
void SendNumbers(ts_system *sys, ts_addr seq, uint64_t from, uint64_t to, size_t pad = 8);
// The Seq at seq's {numbers seen, bad ones}; {0, UINT64_MAX} when it does
// not answer, so that a lost reply never reads as a clean count.
std::pair<uint64_t, uint64_t> Counted(ts_system *sys, ts_addr seq);

// ------------------------------------------------------------------------
// The fixture.
// ------------------------------------------------------------------------

struct TwoHosts;

class SystemTest : public ::testing::TestWithParam<ts_base> {
  public:
    SystemTest();
    ~SystemTest() override;

  protected:
    void SetUp() override;
    void TearDown() override;

    // A configuration for the base under test whose log goes to this
    // fixture's capture at the given minimum level.
    ts_config Config(ts_log_level level = TS_LOG_DEBUG);
    // Closes the current system (if any), clears the captured log and opens
    // a new one with cfg. Fails the test (fatally) if the open fails.
    void Reopen(const ts_config &cfg);
    void CloseSystem();

    ts_system *sys() const { return sys_; }
    // kTwoNodes: the other node (node 2; sys() is node 1), else null.
    ts_system *peer() const { return peer_; }
    bool TwoNodes() const { return GetParam() == kTwoNodes; }
    // The node id of sys().
    uint16_t Node() const { return TwoNodes() ? 1 : 0; }

    // Helpers. Each records a non-fatal failure and returns an empty value
    // (TS_ADDR_NONE / null Msg) when the engine call fails.
    ts_addr Create(const char *type, const void *arg = nullptr, size_t len = 0,
                   const char *global_name = nullptr);
    Msg Ask(ts_addr dst, uint64_t type, const void *p = nullptr, size_t len = 0,
            uint64_t timeout = kWait);
    Msg AskStr(ts_addr dst, uint64_t type, const std::string &s, uint64_t timeout = kWait)
    {
        return Ask(dst, type, s.data(), s.size(), timeout);
    }
    Msg Listen(uint64_t timeout = kWait);
    void Tell(ts_addr dst, uint64_t type, const void *p = nullptr, size_t len = 0);
    // Runs the system until nothing is left to do (ts_run must return 0).
    void Drain();
    ts_system_stats Stats();

    // Asks a Parent to create a child; returns its address (or NONE).
    ts_addr Spawn(ts_addr parent, const char *type, const void *arg = nullptr, size_t len = 0,
                  const char *global_name = nullptr, uint32_t nprobe = 0);
    // Listens for the next message, which must be a ChildGone from a Parent.
    bool NextChildGone(ChildGone *out);

    // Captured log.
    std::vector<LogRec> Logs();
    size_t CountLog(const char *id);
    bool HasLog(const char *id) { return CountLog(id) > 0; }
    std::string LogDump();

  private:
    static void Sink(void *user, const ts_log_record *rec);

    std::mutex mu_;
    std::vector<LogRec> logs_;
    ts_system *sys_ = nullptr;
    ts_system *peer_ = nullptr;
    std::unique_ptr<TwoHosts> hosts_; // kTwoNodes: the namespaces and their link
};

} // namespace tst

#endif
