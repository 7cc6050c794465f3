// Conventions on one host (design §8): a leader and members, each a pinned
// node of its own in this process, on loopback. Membership as every node
// sees it, actors placed by capability on another member, capabilities
// changed at runtime, watchers' ConventionUpdates, a member that leaves
// (its addresses become dead letters), forwarded warnings, a wrong key
// refused, and a named leader's status. Nothing sleeps: waits are on
// messages (ts_listen) or bounded polls of a condition.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/log.h>
#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "conv_support.h"
#include "ts_test.h"

namespace {

using tst::kMs;
using tst::kWait;
using tst::Msg;

TS_TYPE_ID(kWhere, "test.conv.Where")
TS_TYPE_ID(kHere, "test.conv.Here")

// test.conv.Gpu: runs only where "gpu" holds; answers Where with Here
// {its own address}.
int GpuWhere(ts_ctx *ctx, void *, const ts_msg *)
{
    ts_addr self = ts_self(ctx);
    return ts_reply(ctx, kHere(), &self, sizeof self);
}
const ts_handler_entry kGpuHandlers[] = {TS_ON("test.conv.Where", GpuWhere), TS_HANDLERS_END};
const ts_actor_type kGpuType = {"test.conv.Gpu", 0, nullptr, nullptr, kGpuHandlers, nullptr,
                                "gpu", nullptr};

// test.conv.Named: counts its inits (every node here is in this process),
// answers Where with Here {its own address}.
std::atomic<int> g_named_inits{0};
int NamedInit(ts_ctx *, void *, const void *, size_t)
{
    g_named_inits++;
    return 0;
}
const ts_handler_entry kNamedHandlers[] = {TS_ON("test.conv.Where", GpuWhere), TS_HANDLERS_END};
const ts_actor_type kNamedType = {"test.conv.Named", 0, NamedInit, nullptr, kNamedHandlers,
                                  nullptr, nullptr, nullptr};

// ts_system_create of type with global name, again while the chosen member
// has leased this node no slot yet (-EAGAIN).
int CreateNamed(ts_system *sys, const char *type, const std::string &name, ts_addr *out)
{
    ts_create_opts o = {nullptr, 0, name.c_str(), TS_PLACE_DEFAULT, 0, 0, nullptr, nullptr};
    int rc;
    auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(kWait);
    while ((rc = ts_system_create(sys, type, &o, out)) == -EAGAIN &&
           std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return rc;
}

// Where the actor at addr says it is, asked from sys (0 when it did not answer).
ts_addr AskWhere(ts_system *sys, ts_addr addr)
{
    ts_msg *r = nullptr;
    int rc = ts_ask(sys, addr, kWhere(), nullptr, 0, kWait, &r);
    EXPECT_EQ(rc, 0) << ts_last_error();
    if (rc != 0)
        return TS_ADDR_NONE;
    Msg keep(r);
    ts_addr where = TS_ADDR_NONE;
    EXPECT_EQ(r->type, kHere());
    return r->type == kHere() && tst::As(r, &where) ? where : TS_ADDR_NONE;
}


// Log records of one node, kept for the test to look through.
struct LogSink {
    std::mutex mu;
    std::vector<tst::LogRec> recs;
    static void Fn(void *user, const ts_log_record *r)
    {
        auto *s = static_cast<LogSink *>(user);
        std::lock_guard<std::mutex> g(s->mu);
        s->recs.push_back({r->level, r->id ? r->id : "", r->actor, r->actor_type, r->text});
    }
    bool Has(const std::string &id, const std::string &text)
    {
        std::lock_guard<std::mutex> g(mu);
        for (const auto &r : recs)
            if (r.id == id && r.text.find(text) != std::string::npos)
                return true;
        return false;
    }
};

using convt::Find;
using convt::Members;
using convt::WaitUntil;

// Ports of this suite's nodes on loopback (the net suite uses 20000 up).
constexpr uint16_t kLeaderPort = 21400;
uint16_t DataPort(uint16_t node) { return (uint16_t)(21400 + node); }

class Convention : public ::testing::Test {
  protected:
    void SetUp() override
    {
        ASSERT_EQ(ts_register_actor_type(&kGpuType), 0) << ts_last_error();
        ASSERT_EQ(ts_register_actor_type(&convt::kWatcherType), 0) << ts_last_error();
        ASSERT_EQ(ts_register_actor_type(&kNamedType), 0) << ts_last_error();
        char tmpl[] = "/tmp/ts-conv-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        key_ = dir_ + "/conv.key";
        ASSERT_EQ(ts_convention_keygen(key_.c_str()), 0) << ts_last_error();
        cpus_ = tst::AllowedCpus();
    }
    void TearDown() override
    {
        for (auto &n : nodes_)
            ts_system_close(n.sys);
        nodes_.clear();
        std::remove((dir_ + "/other.key").c_str());
        std::remove(key_.c_str());
        rmdir(dir_.c_str());
    }

    struct Node {
        uint16_t id;
        ts_system *sys;
        std::unique_ptr<LogSink> log;
    };

    // A one-shard pinned node `id` in the convention (its leader when
    // leader is set), listening on tcp at DataPort(id).
    ts_system *Open(uint16_t id, bool leader, const char *caps, const std::string &key = "")
    {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_PINNED;
        cfg.node_id = id;
        std::string cores = std::to_string(cpus_[id % cpus_.size()]);
        cfg.cores = cores.c_str();
        std::string listen = "tcp://127.0.0.1:" + std::to_string(DataPort(id));
        cfg.listen = listen.c_str();
        std::string conv = "127.0.0.1:" + std::to_string(kLeaderPort);
        cfg.convention = conv.c_str();
        cfg.convention_leader = leader;
        std::string k = key.empty() ? key_ : key;
        cfg.key_file = k.c_str();
        cfg.convention_lost_ms = 300;
        cfg.caps = caps;
        auto log = std::make_unique<LogSink>();
        cfg.log.sink = TS_LOG_SINK_CALLBACK;
        cfg.log.fn = LogSink::Fn;
        cfg.log.user = log.get();
        cfg.log.level = TS_LOG_INFO;
        ts_system *sys = nullptr;
        int rc = ts_system_open(&cfg, &sys);
        EXPECT_EQ(rc, 0) << "node " << id << ": " << ts_last_error();
        if (rc == 0)
            nodes_.push_back({id, sys, std::move(log)});
        return sys;
    }
    LogSink &Log(ts_system *sys)
    {
        for (auto &n : nodes_)
            if (n.sys == sys)
                return *n.log;
        abort(); // a test asked for a node it did not open
    }
    void Close(ts_system *sys)
    {
        for (size_t i = 0; i < nodes_.size(); i++) {
            if (nodes_[i].sys == sys) {
                ts_system_close(sys);
                nodes_.erase(nodes_.begin() + (long)i);
                return;
            }
        }
    }
    // A leader (1) and two members (2, and 3 with caps3), each seeing all three.
    void OpenThree(ts_system **lead, ts_system **a, ts_system **b, const char *caps3)
    {
        *lead = Open(1, true, "");
        *a = Open(2, false, "");
        *b = Open(3, false, caps3);
        ASSERT_TRUE(*lead && *a && *b);
        for (ts_system *s : {*lead, *a, *b})
            ASSERT_TRUE(WaitMembers(s, 3));
    }
    // Until every node in sys has n members.
    static bool WaitMembers(ts_system *sys, size_t n)
    {
        return WaitUntil([&] { return Members(sys).size() == n; });
    }
    // A watcher on sys; its updates come to this thread's mailbox there.
    ts_addr Watch(ts_system *sys)
    {
        ts_addr me = ts_system_client_addr(sys);
        ts_create_opts o = {&me, sizeof me, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, nullptr};
        ts_addr w = TS_ADDR_NONE;
        EXPECT_EQ(ts_system_create(sys, convt::kWatcherType.name, &o, &w), 0) << ts_last_error();
        return w;
    }
    // The next ConventionUpdate in this thread's mailbox on sys.
    static bool NextUpdate(ts_system *sys, ts_convention_update *u, Msg *keep)
    {
        ts_msg *m = nullptr;
        if (ts_listen(sys, kWait, &m) != 0)
            return false;
        keep->reset(m);
        return m->type == TS_MSG_CONVENTION_UPDATE && ts_convention_update_decode(m, u) == 0;
    }
    // ts_system_create, again while the chosen member has leased this node
    // no slot yet (-EAGAIN).
    static int CreateAgain(ts_system *sys, const char *type, ts_addr *out)
    {
        int rc;
        auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(kWait);
        while ((rc = ts_system_create(sys, type, nullptr, out)) == -EAGAIN &&
               std::chrono::steady_clock::now() < end)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return rc;
    }

    std::string dir_, key_;
    std::vector<int> cpus_;
    std::vector<Node> nodes_;
};

TEST_F(Convention, EveryNodeSeesEveryMemberWithItsCapabilitiesAndEndpoints)
{
    ts_system *lead = Open(1, true, "role=lead");
    ts_system *a = Open(2, false, "region=eu");
    ts_system *b = Open(3, false, "gpu=true,mem_gb=16");
    ASSERT_TRUE(lead && a && b);
    for (ts_system *s : {lead, a, b})
        ASSERT_TRUE(WaitMembers(s, 3)) << Members(s).size();
    auto v = Members(a);
    const ts_node_member *l = Find(v, 1), *self = Find(v, 2), *g = Find(v, 3);
    ASSERT_TRUE(l && self && g);
    EXPECT_TRUE(l->leader);
    EXPECT_FALSE(l->self);
    EXPECT_TRUE(self->self);
    EXPECT_FALSE(self->leader);
    EXPECT_STREQ(g->caps, "gpu=true,mem_gb=16");
    EXPECT_STREQ(g->name, "node3");
    EXPECT_EQ(std::string(g->endpoints), "tcp://127.0.0.1:" + std::to_string(DataPort(3)));
    EXPECT_NE(l->instance, 0u);
    // The leader hears every member; a member hears the leader.
    EXPECT_TRUE(WaitUntil([&] {
        auto w = Members(a);
        const ts_node_member *x = Find(w, 1);
        return x && x->heard_ms_ago >= 0;
    }));
    auto lv = Members(lead);
    ASSERT_NE(Find(lv, 2), nullptr);
    EXPECT_EQ(Find(lv, 1)->heard_ms_ago, -1); // itself
    // Not in one: -ENOTCONN.
    EXPECT_EQ(ts_convention_members(nullptr, nullptr, 0), -EINVAL);
}

TEST_F(Convention, AnActorThatNeedsAGpuLandsOnTheMemberWithOneAndExitsWhenItGoes)
{
    ts_system *lead = nullptr, *a = nullptr, *b = nullptr;
    ASSERT_NO_FATAL_FAILURE(OpenThree(&lead, &a, &b, "gpu=true"));
    ts_addr gpu = TS_ADDR_NONE;
    ASSERT_EQ(CreateAgain(a, "test.conv.Gpu", &gpu), 0) << ts_last_error();
    EXPECT_EQ(ts_addr_node(gpu), 3u);
    ts_msg *r = nullptr;
    ASSERT_EQ(ts_ask(a, gpu, kWhere(), nullptr, 0, kWait, &r), 0) << ts_last_error();
    Msg reply(r);
    ts_addr where = TS_ADDR_NONE;
    ASSERT_TRUE(tst::As(r, &where));
    EXPECT_EQ(where, gpu);
    EXPECT_EQ(ts_addr_node(r->src), 3u);

    // The GPU goes: the actor is asked to exit on its node.
    ts_system_stats before{};
    ASSERT_EQ(ts_system_stats_get(b, &before), 0);
    ASSERT_EQ(ts_update_capability(b, "gpu", nullptr), 0) << ts_last_error();
    EXPECT_TRUE(WaitUntil([&] {
        ts_system_stats st{};
        ts_system_stats_get(b, &st);
        return st.actors_exited == before.actors_exited + 1;
    }));
    EXPECT_TRUE(WaitUntil([&] { return Log(b).Has("TS-CAPS-EXIT", "gpu"); }));
    // And every member learns of it: a new one goes nowhere now.
    EXPECT_TRUE(WaitUntil([&] {
        auto v = Members(a);
        const ts_node_member *m = Find(v, 3);
        return m && std::strstr(m->caps, "gpu") == nullptr;
    }));
    ts_addr none = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(a, "test.conv.Gpu", nullptr, &none), 0) << ts_last_error();
    ASSERT_EQ(ts_ask(a, none, kWhere(), nullptr, 0, kWait, &r), 0) << ts_last_error();
    Msg poison(r);
    ASSERT_EQ(r->type, TS_MSG_POISON);
    ts_poison p;
    ASSERT_EQ(ts_poison_decode(r, &p), 0);
    EXPECT_EQ(p.reason, -ENODEV);
    EXPECT_NE(std::string(p.reason_text, p.reason_text_len).find("node 3"), std::string::npos)
        << std::string(p.reason_text, p.reason_text_len);
}

TEST_F(Convention, WatchersHearWhoIsThereWhoChangesAndWhoLeaves)
{
    ts_system *lead = Open(1, true, "");
    ts_system *a = Open(2, false, "");
    ASSERT_TRUE(lead && a);
    ASSERT_TRUE(WaitMembers(a, 2));
    Watch(a);
    ts_convention_update u;
    Msg keep;
    ASSERT_TRUE(NextUpdate(a, &u, &keep)); // the leader, already there
    EXPECT_EQ(u.node, 1u);
    EXPECT_EQ(u.event, TS_CONV_JOINED);

    ts_system *b = Open(3, false, "mem_gb=8");
    ASSERT_TRUE(b);
    ASSERT_TRUE(NextUpdate(a, &u, &keep));
    EXPECT_EQ(u.node, 3u);
    EXPECT_EQ(u.event, TS_CONV_JOINED);
    EXPECT_EQ(std::string(u.caps, u.caps_len), "mem_gb=8");
    EXPECT_EQ(std::string(u.name, u.name_len), "node3");

    ASSERT_EQ(ts_update_capability(b, "mem_gb", "32"), 0);
    ASSERT_TRUE(NextUpdate(a, &u, &keep));
    EXPECT_EQ(u.node, 3u);
    EXPECT_EQ(u.event, TS_CONV_CAPS);
    EXPECT_EQ(std::string(u.caps, u.caps_len), "mem_gb=32");

    Close(b); // it says LEAVE
    ASSERT_TRUE(NextUpdate(a, &u, &keep));
    EXPECT_EQ(u.node, 3u);
    EXPECT_EQ(u.event, TS_CONV_LEFT);
    EXPECT_TRUE(WaitMembers(lead, 2));
    ts_msg *m = nullptr;
    EXPECT_EQ(ts_listen(a, 50 * kMs, &m), -ETIMEDOUT); // nothing more, nothing twice
    ts_msg_free(m);
}

TEST_F(Convention, AMemberThatLeavesLeavesDeadLettersBehind)
{
    ts_system *lead = nullptr, *a = nullptr, *b = nullptr;
    ASSERT_NO_FATAL_FAILURE(OpenThree(&lead, &a, &b, "gpu=true"));
    ts_addr gpu = TS_ADDR_NONE;
    ASSERT_EQ(CreateAgain(a, "test.conv.Gpu", &gpu), 0) << ts_last_error();
    ts_msg *r = nullptr;
    ASSERT_EQ(ts_ask(a, gpu, kWhere(), nullptr, 0, kWait, &r), 0) << ts_last_error();
    ts_msg_free(r);
    Close(b);
    ASSERT_TRUE(WaitMembers(a, 2));
    ts_system_stats before{};
    ASSERT_EQ(ts_system_stats_get(a, &before), 0);
    ASSERT_EQ(ts_tell(a, gpu, kWhere(), nullptr, 0), 0);
    EXPECT_TRUE(WaitUntil([&] {
        ts_system_stats st{};
        ts_system_stats_get(a, &st);
        return st.dead_letters == before.dead_letters + 1;
    }));
}

TEST_F(Convention, AMembersWarningsReachTheLeadersLog)
{
    ts_system *lead = Open(1, true, "");
    ts_system *a = Open(2, false, "");
    ASSERT_TRUE(lead && a);
    ASSERT_TRUE(WaitMembers(a, 2));
    ts_system_log(a, TS_LOG_WARNING, "the disk is nearly full");
    ts_system_log(a, TS_LOG_INFO, "an info stays home");
    EXPECT_TRUE(WaitUntil([&] { return Log(lead).Has("", "node 2: the disk is nearly full"); }));
    EXPECT_FALSE(Log(lead).Has("", "an info stays home"));
}

TEST_F(Convention, ANodeWithTheWrongKeyIsRefusedAndTheOthersGoOn)
{
    ts_system *lead = Open(1, true, "");
    ts_system *a = Open(2, false, "");
    ASSERT_TRUE(lead && a);
    std::string other = dir_ + "/other.key";
    ASSERT_EQ(ts_convention_keygen(other.c_str()), 0);
    ts_system *bad = Open(3, false, "", other);
    ASSERT_TRUE(bad);
    EXPECT_TRUE(WaitUntil([&] { return Log(lead).Has("TS-CONV-REFUSED", ""); }));
    EXPECT_TRUE(WaitMembers(a, 2));
    EXPECT_EQ(Members(lead).size(), 2u);
    EXPECT_EQ(Members(bad).size(), 0u);
    // The refused one keeps trying; nothing of it reaches the others.
    ts_system *b = Open(4, false, "");
    ASSERT_TRUE(b);
    EXPECT_TRUE(WaitMembers(a, 3));
    EXPECT_EQ(Find(Members(a), 3), nullptr);
}

TEST_F(Convention, ASecondLeaderOnTheSamePortFailsToOpenAndSaysWhy)
{
    ts_system *lead = Open(1, true, "");
    ASSERT_TRUE(lead);
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_PINNED;
    cfg.node_id = 5;
    cfg.shards = 1;
    std::string conv = "127.0.0.1:" + std::to_string(kLeaderPort);
    cfg.convention = conv.c_str();
    cfg.convention_leader = true;
    cfg.key_file = key_.c_str();
    ts_system *second = nullptr;
    EXPECT_EQ(ts_system_open(&cfg, &second), -EADDRINUSE) << ts_last_error();
    EXPECT_NE(std::string(ts_last_error()).find(conv), std::string::npos) << ts_last_error();
    EXPECT_EQ(second, nullptr);
    EXPECT_EQ(Members(lead).size(), 1u); // the first goes on
}

TEST_F(Convention, ANameIsOneActorAnywhereInTheConventionEvenWhenCreatedAtOnce)
{
    ts_system *lead = nullptr, *a = nullptr, *b = nullptr;
    ASSERT_NO_FATAL_FAILURE(OpenThree(&lead, &a, &b, ""));
    g_named_inits = 0;
    // Every node creates the same 20 names at once, each in its own order.
    constexpr int kNames = 20;
    std::vector<ts_system *> nodes = {lead, a, b};
    std::vector<std::vector<ts_addr>> got(nodes.size(), std::vector<ts_addr>(kNames));
    std::vector<int> fails(nodes.size());
    std::vector<std::thread> ts;
    for (size_t k = 0; k < nodes.size(); k++)
        ts.emplace_back([&, k] {
            for (int j = 0; j < kNames; j++) {
                static const int kStep[] = {1, 3, 7}; // each prime to kNames: all of them
                int i = (int)((j * kStep[k] + 7 * (int)k) % kNames);
                if (CreateNamed(nodes[k], "test.conv.Named", "one-" + std::to_string(i),
                                &got[k][(size_t)i]) != 0)
                    fails[k]++;
            }
        });
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(fails, std::vector<int>(nodes.size(), 0));
    for (int i = 0; i < kNames; i++) {
        ts_addr one = got[0][(size_t)i];
        ASSERT_NE(one, TS_ADDR_NONE) << i;
        EXPECT_EQ(got[1][(size_t)i], one) << "name one-" << i;
        EXPECT_EQ(got[2][(size_t)i], one) << "name one-" << i;
        EXPECT_EQ(AskWhere(a, one), one) << "name one-" << i;
    }
    // Each answered: each started, and no other was.
    EXPECT_EQ(g_named_inits.load(), kNames);
}

TEST_F(Convention, ANamedActorPlacedOnAnotherMemberKeepsItsNameThereAndGivesItBack)
{
    ts_system *lead = nullptr, *a = nullptr, *b = nullptr;
    ASSERT_NO_FATAL_FAILURE(OpenThree(&lead, &a, &b, "gpu=true"));
    ts_addr gpu = TS_ADDR_NONE;
    ASSERT_EQ(CreateNamed(a, "test.conv.Gpu", "the-gpu", &gpu), 0) << ts_last_error();
    ASSERT_EQ(ts_addr_node(gpu), 3u);
    ASSERT_EQ(AskWhere(a, gpu), gpu);
    for (ts_system *s : {lead, a, b}) {
        ts_addr again = TS_ADDR_NONE;
        ASSERT_EQ(CreateNamed(s, "test.conv.Gpu", "the-gpu", &again), 0) << ts_last_error();
        EXPECT_EQ(again, gpu);
    }
    // It exits on its node, which gives the name back: the next creation
    // makes a new one.
    ASSERT_EQ(ts_tell(a, gpu, TS_MSG_EXIT_REQUEST, nullptr, 0), 0) << ts_last_error();
    ts_addr next = gpu;
    EXPECT_TRUE(WaitUntil([&] {
        return CreateNamed(lead, "test.conv.Gpu", "the-gpu", &next) == 0 && next != gpu;
    })) << ts_last_error();
    EXPECT_EQ(ts_addr_node(next), 3u);
    EXPECT_EQ(AskWhere(lead, next), next);
    ts_addr same = TS_ADDR_NONE;
    ASSERT_EQ(CreateNamed(a, "test.conv.Gpu", "the-gpu", &same), 0) << ts_last_error();
    EXPECT_EQ(same, next);
}

TEST_F(Convention, NamesOutliveARestartOfTheLeader)
{
    ts_system *lead = nullptr, *a = nullptr, *b = nullptr;
    ASSERT_NO_FATAL_FAILURE(OpenThree(&lead, &a, &b, ""));
    g_named_inits = 0;
    ts_addr kept = TS_ADDR_NONE, gone = TS_ADDR_NONE;
    ASSERT_EQ(CreateNamed(a, "test.conv.Named", "kept", &kept), 0) << ts_last_error();
    ASSERT_EQ(CreateNamed(lead, "test.conv.Named", "gone", &gone), 0) << ts_last_error();
    ASSERT_EQ(ts_addr_node(kept), 2u);

    Close(lead); // its members find it gone and join the new one by themselves
    lead = Open(1, true, "");
    ASSERT_TRUE(lead);
    ASSERT_TRUE(WaitMembers(lead, 3));
    // A claim of a goes after its re-claims: once answered, the leader has them.
    ts_addr barrier = TS_ADDR_NONE;
    ASSERT_EQ(CreateNamed(a, "test.conv.Named", "barrier", &barrier), 0) << ts_last_error();
    ts_addr seen = TS_ADDR_NONE;
    ASSERT_EQ(CreateNamed(b, "test.conv.Named", "kept", &seen), 0) << ts_last_error();
    EXPECT_EQ(seen, kept);
    ASSERT_EQ(CreateNamed(lead, "test.conv.Named", "kept", &seen), 0) << ts_last_error();
    EXPECT_EQ(seen, kept);
    EXPECT_EQ(AskWhere(b, kept), kept);
    // The old leader's own went with it.
    ASSERT_EQ(CreateNamed(b, "test.conv.Named", "gone", &seen), 0) << ts_last_error();
    EXPECT_NE(seen, gone);
    EXPECT_EQ(ts_addr_node(seen), 3u);
    EXPECT_EQ(AskWhere(b, seen), seen);
    EXPECT_EQ(g_named_inits.load(), 4) << "kept, gone, barrier, and gone again";
}

// A named multiproc leader (node 1, one shard process) and a pinned member
// (node 2), the convention's port at base, their data links at base + 1, + 2.
class ConventionNamed : public ::testing::Test {
  protected:
    void SetUp() override
    {
        ASSERT_EQ(ts_register_actor_type(&kNamedType), 0) << ts_last_error();
        char tmpl[] = "/tmp/ts-convn-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        key_ = dir_ + "/k";
        ASSERT_EQ(ts_convention_keygen(key_.c_str()), 0);
    }
    void TearDown() override
    {
        ts_system_close(m_);
        if (lead_) {
            EXPECT_EQ(ts_system_shutdown(lead_), 0);
        }
        ts_system_close(lead_);
        std::remove(key_.c_str());
        rmdir(dir_.c_str());
    }
    void Open(uint16_t base, const std::string &name)
    {
        name_ = name;
        std::string conv = "127.0.0.1:" + std::to_string(base);
        std::string l1 = "tcp://127.0.0.1:" + std::to_string(base + 1);
        std::string l2 = "tcp://127.0.0.1:" + std::to_string(base + 2);
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_MULTIPROC;
        cfg.node_name = name_.c_str();
        cfg.node_id = 1;
        cfg.shards = 1;
        cfg.caps = "role=lead";
        cfg.listen = l1.c_str();
        cfg.convention = conv.c_str();
        cfg.convention_leader = true;
        cfg.key_file = key_.c_str();
        ASSERT_EQ(ts_system_open(&cfg, &lead_), 0) << ts_last_error();
        ts_config mc;
        ts_config_init(&mc);
        mc.base = TS_BASE_PINNED;
        mc.node_id = 2;
        mc.shards = 1;
        mc.caps = "gpu=true";
        mc.listen = l2.c_str();
        mc.convention = conv.c_str();
        mc.key_file = key_.c_str();
        ASSERT_EQ(ts_system_open(&mc, &m_), 0) << ts_last_error();
    }

    std::string dir_, key_, name_;
    ts_system *lead_ = nullptr, *m_ = nullptr;
};

TEST_F(ConventionNamed, TheLeadersStatusListsItsMembers)
{
    ASSERT_NO_FATAL_FAILURE(Open(21440, "tsconv" + std::to_string(getpid())));
    ts_node_status st;
    EXPECT_TRUE(WaitUntil([&] {
        return ts_node_status_get(name_.c_str(), &st) == 0 && st.nmembers == 2 &&
               st.members[1].heard_ms_ago >= 0;
    })) << st.nmembers;
    EXPECT_STREQ(st.convention, "127.0.0.1:21440");
    EXPECT_TRUE(st.convention_leader);
    EXPECT_STREQ(st.convention_state, "leading");
    EXPECT_EQ(st.members[0].node, 1u);
    EXPECT_TRUE(st.members[0].self);
    EXPECT_EQ(st.members[1].node, 2u);
    EXPECT_STREQ(st.members[1].caps, "gpu=true");
    EXPECT_STREQ(st.members[1].endpoints, "tcp://127.0.0.1:21442");
    // The attached program sees the node's table too.
    EXPECT_EQ(Members(lead_).size(), 2u);
    ts_system_close(m_);
    m_ = nullptr;
    EXPECT_TRUE(WaitUntil([&] {
        return ts_node_status_get(name_.c_str(), &st) == 0 && st.nmembers == 1;
    }));
}

// A multiproc node's shards are processes: their claims go through the
// node's admin, which keeps its place in the convention.
TEST_F(ConventionNamed, AMultiprocNodesShardsKeepNamesThroughTheirAdmin)
{
    ASSERT_NO_FATAL_FAILURE(Open(21450, "tsconvmp" + std::to_string(getpid())));
    ts_system *lead = lead_, *m = m_;
    EXPECT_TRUE(WaitUntil([&] { return Members(lead).size() == 2 && Members(m).size() == 2; }));

    ts_addr on_m = TS_ADDR_NONE, on_l = TS_ADDR_NONE, seen = TS_ADDR_NONE;
    ASSERT_EQ(CreateNamed(m, "test.conv.Named", "on-m", &on_m), 0) << ts_last_error();
    ASSERT_EQ(ts_addr_node(on_m), 2u);
    ASSERT_EQ(CreateNamed(lead, "test.conv.Named", "on-m", &seen), 0) << ts_last_error();
    EXPECT_EQ(seen, on_m) << "the shard process asked the leader (its admin)";
    ASSERT_EQ(CreateNamed(lead, "test.conv.Named", "on-l", &on_l), 0) << ts_last_error();
    ASSERT_EQ(ts_addr_node(on_l), 1u);
    ASSERT_EQ(CreateNamed(m, "test.conv.Named", "on-l", &seen), 0) << ts_last_error();
    EXPECT_EQ(seen, on_l);
    EXPECT_EQ(AskWhere(m, on_l), on_l);
    EXPECT_EQ(AskWhere(lead, on_m), on_m);
    // It exits in its shard process, which gives the name back.
    ASSERT_EQ(ts_tell(m, on_l, TS_MSG_EXIT_REQUEST, nullptr, 0), 0) << ts_last_error();
    EXPECT_TRUE(WaitUntil([&] {
        return CreateNamed(m, "test.conv.Named", "on-l", &seen) == 0 && seen != on_l;
    })) << ts_last_error();
    EXPECT_EQ(ts_addr_node(seen), 2u);
}

} // namespace
