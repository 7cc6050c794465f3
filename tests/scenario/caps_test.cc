// SPDX-License-Identifier: MIT
// caps_test.cc — capabilities and requirements on one node (design §8),
// through the public API on every base: a type's requirements and its
// capability check, a creation's own requirements, "nowhere" answered with
// Poison (to the creator and to whatever is sent to the address), least
// loaded placement, and ts_update_capability asking the actors whose
// requirements no longer hold to exit.
#include <atomic>
#include <cerrno>
#include <string>

#include "ts_test.h"

using tst::Msg;
using tst::Text;

namespace {

int EchoPing(ts_ctx *ctx, void *, const ts_msg *m)
{
    return ts_reply(ctx, tst::kPong(), ts_msg_data(m), m->len);
}

const ts_handler_entry kEchoHandlers[] = {
    TS_ON("test.common.Ping", EchoPing),
    TS_HANDLERS_END,
};

ts_actor_type GpuType()
{
    ts_actor_type t{};
    t.name = "test.caps.Gpu";
    t.handlers = kEchoHandlers;
    t.requirements = "gpu";
    return t;
}
const ts_actor_type kGpu = GpuType();

// What the capability check saw, in memory the shard processes share.
struct CheckSeen {
    std::atomic<int> calls;
    std::atomic<int> with_text; // calls whose creation text was "zone=a"
};
CheckSeen &g_check = tst::Shared<CheckSeen>();

// Accepts a node with an integer cores >= 2 that meets the creation's
// requirements (checked again here through the public readers).
bool CheckCores(const ts_caps *node, const char *requirements)
{
    g_check.calls++;
    if (requirements && std::string(requirements) == "zone=a")
        g_check.with_text++;
    int64_t cores = 0;
    return ts_caps_int(node, "cores", &cores) == 0 && cores >= 2 &&
           (!requirements || ts_caps_meet(node, requirements));
}

ts_actor_type CheckedType()
{
    ts_actor_type t{};
    t.name = "test.caps.Checked";
    t.handlers = kEchoHandlers;
    t.capability_check = CheckCores;
    return t;
}
const ts_actor_type kChecked = CheckedType();

// Reopens the system with capabilities caps; leaves the test if that failed.
#define TS_REOPEN_CAPS(text)                      \
    do {                                          \
        ts_config caps_cfg_ = Config();           \
        caps_cfg_.caps = (text);                  \
        TS_REOPEN(caps_cfg_);                     \
    } while (0)

class CapsScenario : public tst::SystemTest {
  protected:
    void SetUp() override
    {
        tst::SystemTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        TS_REGISTER(kGpu);
        TS_REGISTER(kChecked);
    }
    ts_addr CreateWith(const char *type, const char *reqs, ts_placement how = TS_PLACE_DEFAULT)
    {
        ts_create_opts o{};
        o.requirements = reqs;
        o.placement = how;
        ts_addr a = TS_ADDR_NONE;
        EXPECT_EQ(ts_system_create(sys(), type, &o, &a), 0) << ts_last_error();
        return a;
    }
    // The next message must be Poison about dst, for a creation refused
    // with reason text containing `about`.
    void ExpectNowhere(const Msg &m, ts_addr dst, const char *about)
    {
        ASSERT_TRUE(m);
        ASSERT_EQ(m->type, TS_MSG_POISON) << Text(m);
        ts_poison p{};
        ASSERT_EQ(ts_poison_decode(m.get(), &p), 0);
        EXPECT_EQ(p.original_dst, dst) << tst::AddrStr(p.original_dst);
        EXPECT_EQ(p.reason, -ENODEV);
        std::string text(p.reason_text, p.reason_text_len);
        EXPECT_NE(text.find(about), std::string::npos) << text;
    }
    bool Answers(ts_addr a)
    {
        Msg r = AskStr(a, tst::kPing(), "hi");
        return r && r->type == tst::kPong() && Text(r) == "hi";
    }
    // Spawns type under parent with creation requirements reqs; the child.
    ts_addr SpawnWith(ts_addr parent, const char *type, const char *reqs)
    {
        tst::SpawnReq req{};
        std::snprintf(req.type, sizeof req.type, "%s", type);
        std::snprintf(req.requirements, sizeof req.requirements, "%s", reqs ? reqs : "");
        Msg r = Ask(parent, tst::kSpawn(), &req, sizeof req);
        tst::SpawnReply rep{};
        EXPECT_TRUE(r && r->type == tst::kSpawned() && tst::As(r.get(), &rep));
        EXPECT_EQ(rep.rc, 0);
        return rep.child;
    }
};

TEST_P(CapsScenario, ARequirementTheNodeMeetsCreatesTheActorHere)
{
    TS_REOPEN_CAPS("gpu=true,region=eu");
    ts_addr a = CreateWith("test.caps.Gpu", "region=eu");
    ASSERT_NE(a, TS_ADDR_NONE);
    EXPECT_EQ(ts_addr_node(a), Node());
    EXPECT_TRUE(Answers(a));
    EXPECT_FALSE(HasLog("TS-PLACE-NOWHERE")) << LogDump();
}

TEST_P(CapsScenario, NowhereAnswersTheCreatorAndEveryMessageWithPoison)
{
    TS_REOPEN_CAPS("region=us");
    ts_addr a = CreateWith("test.caps.Gpu", nullptr);
    ASSERT_NE(a, TS_ADDR_NONE) << "ts_create returns an address even for nowhere";
    ExpectNowhere(Listen(), a, "gpu");
    // Everything sent to the address comes back the same way, in order.
    for (int i = 0; i < 3; i++)
        Tell(a, tst::kPing(), &i, sizeof i);
    for (int i = 0; i < 3; i++) {
        Msg m = Listen();
        ExpectNowhere(m, a, "gpu");
        ts_poison p{};
        ASSERT_EQ(ts_poison_decode(m.get(), &p), 0);
        ASSERT_EQ(p.original_len, sizeof i);
        int got;
        std::memcpy(&got, p.original, sizeof got);
        EXPECT_EQ(got, i);
    }
    EXPECT_EQ(CountLog("TS-PLACE-NOWHERE"), 1u) << LogDump();
}

TEST_P(CapsScenario, ACreationsOwnRequirementsCount)
{
    TS_REOPEN_CAPS("region=us,mem_gb=8");
    ts_addr a = CreateWith(tst::kEcho, "region=us,mem_gb>=8");
    EXPECT_TRUE(Answers(a));
    ts_addr b = CreateWith(tst::kEcho, "mem_gb>=16");
    ExpectNowhere(Listen(), b, "mem_gb");
    ts_addr c = CreateWith(tst::kEcho, "region!=us");
    ExpectNowhere(Listen(), c, "region");
}

TEST_P(CapsScenario, AParentGetsPoisonAndChildExitedForAChildThatCanGoNowhere)
{
    TS_REOPEN_CAPS("");
    ts_addr parent = Create(tst::kParent);
    ts_addr child = SpawnWith(parent, "test.caps.Gpu", nullptr);
    ASSERT_NE(child, TS_ADDR_NONE);
    bool poison = false, gone = false;
    for (int i = 0; i < 2; i++) {
        Msg m = Listen();
        ASSERT_TRUE(m);
        if (m->type == tst::kPoisonSeen()) {
            tst::PoisonReport r{};
            ASSERT_TRUE(tst::As(m.get(), &r));
            EXPECT_EQ(r.original_dst, child);
            EXPECT_EQ(r.reason, -ENODEV);
            EXPECT_NE(std::string(r.text).find("gpu"), std::string::npos) << r.text;
            poison = true;
        } else {
            tst::ChildGone g{};
            ASSERT_TRUE(m->type == tst::kChildGone() && tst::As(m.get(), &g)) << Text(m);
            EXPECT_EQ(g.child, child);
            EXPECT_EQ(g.status, -ENODEV);
            gone = true;
        }
    }
    EXPECT_TRUE(poison && gone);
}

TEST_P(CapsScenario, ACapabilityCheckDecidesWithTheCreationsRequirements)
{
    TS_REOPEN_CAPS("cores=4,zone=a");
    g_check.calls = 0;
    g_check.with_text = 0;
    EXPECT_TRUE(Answers(CreateWith("test.caps.Checked", nullptr)));
    EXPECT_TRUE(Answers(CreateWith("test.caps.Checked", "zone=a")));
    ts_addr refused = CreateWith("test.caps.Checked", "zone=b");
    ExpectNowhere(Listen(), refused, "zone");
    // The engine's own reading of "zone=b" refused before the check ran.
    EXPECT_GE(g_check.calls.load(), 2);
    EXPECT_GE(g_check.with_text.load(), 1);

    TS_REOPEN_CAPS("cores=1");
    ts_addr one = CreateWith("test.caps.Checked", nullptr);
    ExpectNowhere(Listen(), one, "capability check");
}

TEST_P(CapsScenario, LosingACapabilityAsksExactlyTheActorsThatNeedItToExit)
{
    TS_REOPEN_CAPS("gpu=true,region=eu");
    ts_addr parent = Create(tst::kParent);
    ts_addr gpu = SpawnWith(parent, "test.caps.Gpu", nullptr);
    ts_addr eu = SpawnWith(parent, tst::kEcho, "region=eu");
    ts_addr plain = SpawnWith(parent, tst::kEcho, nullptr);
    ASSERT_TRUE(Answers(gpu) && Answers(eu) && Answers(plain));

    ASSERT_EQ(ts_update_capability(sys(), "gpu", "false"), 0) << ts_last_error();
    tst::ChildGone g{};
    ASSERT_TRUE(NextChildGone(&g));
    EXPECT_EQ(g.child, gpu);
    EXPECT_EQ(g.status, 0);

    ASSERT_EQ(ts_update_capability(sys(), "region", nullptr), 0) << ts_last_error();
    ASSERT_TRUE(NextChildGone(&g));
    EXPECT_EQ(g.child, eu);

    // The one without requirements stays, and nothing else exited.
    EXPECT_TRUE(Answers(plain));
    EXPECT_EQ(CountLog("TS-CAPS-EXIT"), 2u) << LogDump();
    // Placement reads the new capabilities, and the old ones when they return.
    ts_addr later = CreateWith("test.caps.Gpu", nullptr);
    ExpectNowhere(Listen(), later, "gpu");
    ASSERT_EQ(ts_update_capability(sys(), "gpu", "true"), 0);
    EXPECT_TRUE(Answers(CreateWith("test.caps.Gpu", nullptr)));
}

TEST_P(CapsScenario, LeastLoadedPicksTheShardWithFewestActors)
{
    TS_REOPEN_CAPS("");
    ts_system_stats st = Stats();
    ts_create_opts local{};
    local.placement = TS_PLACE_LOCAL;
    ts_addr busy[3];
    for (ts_addr &a : busy)
        ASSERT_EQ(ts_system_create(sys(), tst::kEcho, &local, &a), 0) << ts_last_error();
    for (ts_addr a : busy)
        ASSERT_TRUE(Answers(a)); // started: counted on their shard
    ts_addr a = CreateWith(tst::kEcho, nullptr, TS_PLACE_LEAST_LOADED);
    EXPECT_TRUE(Answers(a));
    unsigned shards = std::min(2u, (unsigned)std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    if (GetParam() == TS_BASE_SIMPLE || shards < 2)
        EXPECT_EQ(ts_addr_shard(a), ts_addr_shard(busy[0]));
    else
        EXPECT_NE(ts_addr_shard(a), ts_addr_shard(busy[0]))
            << "shard " << unsigned(ts_addr_shard(busy[0])) << " has 3 actors";
    (void)st;
}

TEST_P(CapsScenario, BadRequirementsAndCapabilitiesAreClearErrors)
{
    ts_actor_type bad{};
    bad.name = "test.caps.BadReqs";
    bad.requirements = "gpu>>3";
    EXPECT_EQ(ts_register_actor_type(&bad), -EINVAL);
    EXPECT_NE(std::string(ts_last_error()).find("test.caps.BadReqs"), std::string::npos)
        << ts_last_error();

    ts_create_opts o{};
    o.requirements = "=eu";
    ts_addr a = TS_ADDR_NONE;
    EXPECT_EQ(ts_system_create(sys(), tst::kEcho, &o, &a), -EINVAL);
    EXPECT_NE(std::string(ts_last_error()).find("=eu"), std::string::npos) << ts_last_error();

    EXPECT_EQ(ts_update_capability(sys(), "bad key", "1"), -EINVAL);
    EXPECT_EQ(ts_update_capability(sys(), "k", "a,b"), -EINVAL);
    EXPECT_EQ(ts_update_capability(nullptr, "k", "1"), -EINVAL);
    EXPECT_EQ(ts_update_capability(sys(), nullptr, "1"), -EINVAL);
    // Removing what is not there is fine; nothing was asked to exit.
    EXPECT_EQ(ts_update_capability(sys(), "absent", nullptr), 0);
    EXPECT_FALSE(HasLog("TS-CAPS-EXIT"));
}

TS_INSTANTIATE_BASES(CapsScenario);

} // namespace
