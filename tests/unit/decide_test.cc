// Unit tests: where a new actor goes (placement/decide.h), black-box from
// the header, on made-up tables of members: who is eligible (both
// requirement lists, the type's check, reachability), what each policy then
// picks, the tie rules, unknown loads, and the errors with their reasons.
// Node ids start at 1 here.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "caps.h"
#include "decide.h"
}

namespace {

// One member as a test writes it.
struct M {
    M(uint16_t n, const char *c, std::vector<uint32_t> l, std::vector<int> cpus = {})
        : node(n), caps(c), load(std::move(l)), cores(std::move(cpus))
    {
    }
    uint16_t node;
    const char *caps;             // caps_parse text
    std::vector<uint32_t> load;   // per shard
    std::vector<int> cores;       // per shard, or empty: NULL
    bool reachable = true;
    bool unknown_load = false;    // load NULL (nshards from cores, else 1)
};

M Unknown(uint16_t node, const char *caps, unsigned nshards = 2)
{
    M m(node, caps, std::vector<uint32_t>(nshards, 0));
    m.unknown_load = true;
    return m;
}

M Unreachable(M m)
{
    m.reachable = false;
    return m;
}

// The table place_decide reads, with storage that outlives the call.
class Table {
public:
    Table(std::vector<M> ms) : ms_(std::move(ms)), caps_(ms_.size()), members_(ms_.size())
    {
        for (size_t k = 0; k < ms_.size(); k++) {
            EXPECT_EQ(0, caps_parse(ms_[k].caps, &caps_[k])) << ms_[k].caps;
            place_member &p = members_[k];
            p.node = ms_[k].node;
            p.caps = &caps_[k];
            p.nshards = static_cast<unsigned>(ms_[k].load.size());
            // A member with no shards still has a (zero-length) load array.
            static const uint32_t kNoShards[1] = {0};
            p.load = ms_[k].unknown_load ? nullptr
                     : ms_[k].load.empty() ? kNoShards
                                           : ms_[k].load.data();
            p.cores = ms_[k].cores.empty() ? nullptr : ms_[k].cores.data();
            p.reachable = ms_[k].reachable;
        }
    }
    const place_member *data() const { return members_.data(); }
    unsigned size() const { return static_cast<unsigned>(members_.size()); }

private:
    std::vector<M> ms_;
    std::vector<caps> caps_;
    std::vector<place_member> members_;
};

// A request, with its requirement lists parsed from text (NULL: none).
struct Rq {
    reqs type_r{}, create_r{};
    place_request rq{};

    Rq(place_policy policy, uint16_t self, const char *type_text = nullptr,
       const char *create_text = nullptr)
    {
        rq.policy = policy;
        rq.self = self;
        rq.creator_shard = -1;
        if (type_text) {
            EXPECT_EQ(0, reqs_parse(type_text, &type_r)) << type_text;
            rq.type_reqs = &type_r;
        }
        if (create_text) {
            EXPECT_EQ(0, reqs_parse(create_text, &create_r)) << create_text;
            rq.create_reqs = &create_r;
        }
    }
    Rq(const Rq &) = delete;
    Rq &operator=(const Rq &) = delete;
};

struct Result {
    int rc;
    place_choice choice;
    std::string why;
};

Result Decide(const Rq &q, const Table &t)
{
    Result r{};
    r.choice.node = 0xdead;
    r.choice.shard = -77;
    char why[1024];
    std::memset(why, 0, sizeof(why));
    r.rc = place_decide(&q.rq, t.data(), t.size(), &r.choice, why, sizeof(why));
    r.why = why;
    // The same answer without a reason buffer.
    place_choice again{0xdead, -77};
    int rc2 = place_decide(&q.rq, t.data(), t.size(), &again, nullptr, 0);
    EXPECT_EQ(r.rc, rc2);
    if (r.rc == 0 && rc2 == 0) {
        EXPECT_EQ(r.choice.node, again.node);
        EXPECT_EQ(r.choice.shard, again.shard);
    }
    return r;
}

bool Has(const std::string &s, const char *part) { return s.find(part) != std::string::npos; }

#define EXPECT_CHOICE(res, n, s)                                  \
    do {                                                          \
        const Result &r_ = (res);                                 \
        ASSERT_EQ(0, r_.rc) << r_.why;                            \
        EXPECT_EQ((n), r_.choice.node);                           \
        EXPECT_EQ((s), r_.choice.shard);                          \
    } while (0)

// ---------------------------------------------------------------------------
// LOCAL_FIRST

// The creating node, eligible, takes the actor on the creator's shard, even
// when that shard and node are the busiest.
TEST(LocalFirst, SelfOnCreatorShard)
{
    Table t({{1, "gpu=true", {5, 0, 9}}, {2, "gpu=true", {0}}});
    Rq q(PLACE_LOCAL_FIRST, 1, "gpu");
    q.rq.creator_shard = 2;
    EXPECT_CHOICE(Decide(q, t), 1, 2);
}

// Without a creator shard, the creating node's least loaded shard (ties:
// the lowest shard).
TEST(LocalFirst, SelfLeastLoadedShard)
{
    Table t({{2, "", {0}}, {1, "", {5, 1, 1, 3}}});
    Rq q(PLACE_LOCAL_FIRST, 1);
    EXPECT_CHOICE(Decide(q, t), 1, 1);
}

// The creating node is eligible even though its own entry says unreachable.
TEST(LocalFirst, SelfAlwaysReachable)
{
    Table t({Unreachable({1, "", {3}}), {2, "", {0}}});
    Rq q(PLACE_LOCAL_FIRST, 1);
    EXPECT_CHOICE(Decide(q, t), 1, 0);
}

// When the creating node is not eligible, the least loaded eligible member
// by mean load (here node 2: 8/2 = 4 against node 3's 5 and node 4's
// ineligible 0), on its least loaded shard.
TEST(LocalFirst, ElseLeastLoadedMember)
{
    Table t({{1, "gpu=false", {0, 0}},
             {3, "gpu=true", {1, 9}},
             {2, "gpu=true", {6, 2}},
             {4, "", {0}}});
    Rq q(PLACE_LOCAL_FIRST, 1, "gpu");
    EXPECT_CHOICE(Decide(q, t), 2, 1);
}

// A member's load is the mean over its shards, not its least loaded shard
// (node 3 has an idle shard but a mean of 5).
TEST(LocalFirst, MemberLoadIsMean)
{
    Table t({{1, "", {0}}, {3, "gpu=true", {0, 10}}, {2, "gpu=true", {4, 4}}});
    Rq q(PLACE_LOCAL_FIRST, 1, "gpu");
    EXPECT_CHOICE(Decide(q, t), 2, 0);
}

// The mean is not rounded: 1.5 (node 2) is more than 1 (node 3).
TEST(LocalFirst, MeanIsExact)
{
    Table t({{1, "", {0}}, {2, "gpu=true", {1, 2}}, {3, "gpu=true", {1}}});
    Rq q(PLACE_LOCAL_FIRST, 1, "gpu");
    EXPECT_CHOICE(Decide(q, t), 3, 0);
}

// The mean is compared exactly, also between members with many shards:
// 32/33 (node 2) is more than 31/32 (node 3), though they differ by less
// than 1/1024.
TEST(LocalFirst, MeanIsExactAcrossShardCounts)
{
    std::vector<uint32_t> a(33, 1), b(32, 1);
    a[32] = 0;
    b[31] = 0;
    Table t({{1, "", {0}}, {2, "gpu=true", a}, {3, "gpu=true", b}});
    Rq q(PLACE_LOCAL_FIRST, 1, "gpu");
    EXPECT_CHOICE(Decide(q, t), 3, 31);
}

// Equal mean loads go to the lowest node id, wherever it is in the table.
TEST(LocalFirst, TieGoesToLowestNode)
{
    Table t({{1, "", {0}}, {7, "gpu=true", {3}}, {5, "gpu=true", {1, 5}}, {6, "gpu=true", {6, 0}}});
    Rq q(PLACE_LOCAL_FIRST, 1, "gpu");
    EXPECT_CHOICE(Decide(q, t), 5, 0);
}

// An unreachable member is never chosen, however idle.
TEST(LocalFirst, UnreachableNeverChosen)
{
    Table t({{1, "", {0}}, Unreachable({2, "gpu=true", {0}}), {3, "gpu=true", {50}}});
    Rq q(PLACE_LOCAL_FIRST, 1, "gpu");
    EXPECT_CHOICE(Decide(q, t), 3, 0);
}

// A member whose loads are unknown is chosen with shard -1 (it picks).
TEST(LocalFirst, UnknownLoadShardMinusOne)
{
    Table self({Unknown(1, "", 4), {2, "", {0}}});
    Rq q(PLACE_LOCAL_FIRST, 1);
    EXPECT_CHOICE(Decide(q, self), 1, -1);

    Table other({{1, "", {0}}, Unknown(2, "gpu=true", 3), {3, "", {0}}});
    Rq g(PLACE_LOCAL_FIRST, 1, "gpu");
    EXPECT_CHOICE(Decide(g, other), 2, -1);
}

// ---------------------------------------------------------------------------
// LEAST_LOADED

// The least loaded shard of any eligible member: a shard, not a mean (node
// 2's shard 0 is idle though its mean is 50).
TEST(LeastLoaded, GlobalLeastLoadedShard)
{
    Table t({{1, "", {5, 5}}, {2, "", {100, 0}}, {3, "", {3}}});
    Rq q(PLACE_LEAST_LOADED, 1);
    EXPECT_CHOICE(Decide(q, t), 2, 1);
}

// Ties go to the creating node first...
TEST(LeastLoaded, TiePrefersSelf)
{
    Table t({{2, "", {1}}, {3, "", {1, 1}}, {4, "", {2, 1}}});
    Rq q(PLACE_LEAST_LOADED, 4);
    EXPECT_CHOICE(Decide(q, t), 4, 1);
}

// ...then to the lowest node id, then to the lowest shard.
TEST(LeastLoaded, TieLowestNodeThenShard)
{
    Table t({{1, "", {5}}, {3, "", {9, 1}}, {2, "", {3, 1, 1}}});
    Rq q(PLACE_LEAST_LOADED, 1);
    EXPECT_CHOICE(Decide(q, t), 2, 1);
}

// Only eligible, reachable members compete.
TEST(LeastLoaded, OnlyEligible)
{
    Table t({{1, "region=eu", {7}},
             {2, "region=us", {0}},
             Unreachable({3, "region=eu", {0}}),
             {4, "region=eu", {8, 6}}});
    Rq q(PLACE_LEAST_LOADED, 1, nullptr, "region=eu");
    EXPECT_CHOICE(Decide(q, t), 4, 1);
}

// ---------------------------------------------------------------------------
// NODE

// The named node, when eligible, on its least loaded shard; the creating
// node may be named too.
TEST(Node, NamedEligible)
{
    Table t({{1, "gpu=true", {0}}, {2, "gpu=true", {4, 2, 3}}, {3, "gpu=true", {0}}});
    Rq q(PLACE_NODE, 1, "gpu");
    q.rq.node = 2;
    EXPECT_CHOICE(Decide(q, t), 2, 1);
    q.rq.node = 1;
    EXPECT_CHOICE(Decide(q, t), 1, 0);
}

// A named node of unknown load gets shard -1.
TEST(Node, NamedUnknownLoad)
{
    Table t({{1, "", {0}}, Unknown(2, "", 2)});
    Rq q(PLACE_NODE, 1);
    q.rq.node = 2;
    EXPECT_CHOICE(Decide(q, t), 2, -1);
}

// A named node that is not eligible is "nowhere", saying which key failed;
// the others are not a fallback.
TEST(Node, NamedIneligible)
{
    Table t({{1, "gpu=true", {0}}, {2, "gpu=false", {0}}, {3, "gpu=true", {0}}});
    Rq q(PLACE_NODE, 1, "gpu");
    q.rq.node = 2;
    Result r = Decide(q, t);
    EXPECT_EQ(-ENOENT, r.rc);
    EXPECT_TRUE(Has(r.why, "gpu")) << r.why;
}

// A named node that is unreachable is not eligible either.
TEST(Node, NamedUnreachable)
{
    Table t({{1, "", {0}}, Unreachable({2, "", {0}})});
    Rq q(PLACE_NODE, 1);
    q.rq.node = 2;
    Result r = Decide(q, t);
    EXPECT_EQ(-ENOENT, r.rc);
    EXPECT_NE("", r.why);
}

// A node not in the table names nothing: -EINVAL.
TEST(Node, NotInTable)
{
    Table t({{1, "", {0}}, {2, "", {0}}});
    Rq q(PLACE_NODE, 1);
    q.rq.node = 9;
    Result r = Decide(q, t);
    EXPECT_EQ(-EINVAL, r.rc);
    EXPECT_NE("", r.why);
}

// ---------------------------------------------------------------------------
// CORE

// The shard running the named CPU on the creating node (named by its own
// id), whatever its load.
TEST(Core, OnSelf)
{
    Table t({{1, "", {9, 9, 0}, {4, 5, 6}}, {2, "", {0}, {5}}});
    Rq q(PLACE_CORE, 1);
    q.rq.node = 1;
    q.rq.core = 5;
    EXPECT_CHOICE(Decide(q, t), 1, 1);
}

// The shard running the named CPU on a named node.
TEST(Core, OnNamedNode)
{
    Table t({{1, "", {0}, {2}}, {2, "", {0, 7}, {0, 2}}});
    Rq q(PLACE_CORE, 1);
    q.rq.node = 2;
    q.rq.core = 2;
    EXPECT_CHOICE(Decide(q, t), 2, 1);
    q.rq.node = 1;
    EXPECT_CHOICE(Decide(q, t), 1, 0);
}

// No shard on that CPU, or no CPU map at all: -EINVAL.
TEST(Core, NoSuchCore)
{
    Table t({{1, "", {0, 0}, {4, 5}}, {2, "", {0, 0}}});
    Rq q(PLACE_CORE, 1);
    q.rq.node = 1;
    q.rq.core = 3;
    Result r = Decide(q, t);
    EXPECT_EQ(-EINVAL, r.rc);
    EXPECT_NE("", r.why);
    q.rq.node = 2;  // cores NULL
    q.rq.core = 0;
    r = Decide(q, t);
    EXPECT_EQ(-EINVAL, r.rc);
    EXPECT_NE("", r.why);
}

// A node that is not in the table: -EINVAL.
TEST(Core, NodeNotInTable)
{
    Table t({{1, "", {0}, {4}}});
    Rq q(PLACE_CORE, 1);
    q.rq.node = 3;
    q.rq.core = 4;
    EXPECT_EQ(-EINVAL, Decide(q, t).rc);
}

// The node runs that CPU but is not eligible (requirements, or unreachable):
// -ENOENT, naming the failing key.
TEST(Core, NodeIneligible)
{
    Table t({{1, "gpu=false", {0, 0}, {4, 5}}, Unreachable({2, "gpu=true", {0}, {4}})});
    Rq q(PLACE_CORE, 1, "gpu");
    q.rq.node = 1;
    q.rq.core = 5;
    Result r = Decide(q, t);
    EXPECT_EQ(-ENOENT, r.rc);
    EXPECT_TRUE(Has(r.why, "gpu")) << r.why;
    q.rq.node = 2;
    q.rq.core = 4;
    r = Decide(q, t);
    EXPECT_EQ(-ENOENT, r.rc);
    EXPECT_NE("", r.why);
}

// ---------------------------------------------------------------------------
// Eligibility

// The type's and the creation's requirements both apply: failing either
// excludes a member.
TEST(Eligible, BothRequirementListsApply)
{
    Table t({{1, "", {0}},
             {2, "gpu=true,region=us", {0}},
             {3, "gpu=false,region=eu", {0}},
             {4, "gpu=true,region=eu", {9}}});
    Rq both(PLACE_LEAST_LOADED, 1, "gpu", "region=eu");
    EXPECT_CHOICE(Decide(both, t), 4, 0);

    Rq type_only(PLACE_LEAST_LOADED, 1, "gpu");
    EXPECT_CHOICE(Decide(type_only, t), 2, 0);
    Rq create_only(PLACE_LEAST_LOADED, 1, nullptr, "region=eu");
    EXPECT_CHOICE(Decide(create_only, t), 3, 0);

    // The creation's list alone can exclude the creating node.
    Table s({{1, "region=us", {0}}, {2, "region=eu", {5}}});
    Rq local(PLACE_LOCAL_FIRST, 1, "", "region=eu");
    EXPECT_CHOICE(Decide(local, s), 2, 0);
}

// What the type's check saw.
struct Seen {
    int calls = 0;
    std::set<int64_t> ids;  // the "id" capability of each caps it was given
    int64_t veto = -1;      // the id it refuses (-2: all)
};

bool Check(const caps *node, const reqs *, void *arg)
{
    Seen *seen = static_cast<Seen *>(arg);
    seen->calls++;
    const cap *id = caps_find(node, "id");
    if (!id)
        return true;
    seen->ids.insert(id->i);
    return seen->veto != -2 && id->i != seen->veto;
}

// The type's check can refuse a member; it is given the member's caps and
// check_arg.
TEST(Eligible, CheckCanVeto)
{
    Table t({{1, "id=1", {5}}, {2, "id=2", {0}}, {3, "id=3", {1}}});
    Rq q(PLACE_LEAST_LOADED, 1);
    Seen seen;
    seen.veto = 2;
    q.rq.check = Check;
    q.rq.check_arg = &seen;
    EXPECT_CHOICE(Decide(q, t), 3, 0);
    EXPECT_GE(seen.calls, 1);
    EXPECT_TRUE(seen.ids.count(2)) << "node 2's caps never reached the check";
    for (int64_t id : seen.ids)
        EXPECT_TRUE(id >= 1 && id <= 3) << id;

    // Refusing the creating node under LOCAL_FIRST sends the actor elsewhere.
    Rq l(PLACE_LOCAL_FIRST, 1);
    Seen self_veto;
    self_veto.veto = 1;
    l.rq.check = Check;
    l.rq.check_arg = &self_veto;
    EXPECT_CHOICE(Decide(l, t), 2, 0);
    EXPECT_TRUE(self_veto.ids.count(1));
}

// A check that refuses everything: nowhere; it saw every member.
TEST(Eligible, CheckRefusesAll)
{
    Table t({{1, "id=1", {0}}, {2, "id=2", {0}}, {3, "id=3", {0}}});
    Rq q(PLACE_LEAST_LOADED, 1);
    Seen seen;
    seen.veto = -2;
    q.rq.check = Check;
    q.rq.check_arg = &seen;
    Result r = Decide(q, t);
    EXPECT_EQ(-ENOENT, r.rc);
    EXPECT_EQ((std::set<int64_t>{1, 2, 3}), seen.ids);
    EXPECT_TRUE(Has(r.why, "node 2")) << r.why;
    EXPECT_TRUE(Has(r.why, "node 3")) << r.why;
}

// ---------------------------------------------------------------------------
// Nowhere and errors

// Nothing eligible: -ENOENT, and the reason names each member and what kept
// it out.
TEST(Nowhere, ReasonPerMember)
{
    Table t({{1, "gpu=false", {0}}, {2, "cores=4", {0}}, Unreachable({3, "gpu=true", {0}})});
    for (place_policy p : {PLACE_LOCAL_FIRST, PLACE_LEAST_LOADED}) {
        Rq q(p, 1, "gpu");
        Result r = Decide(q, t);
        EXPECT_EQ(-ENOENT, r.rc) << p;
        EXPECT_TRUE(Has(r.why, "node 2")) << p << ": " << r.why;
        EXPECT_TRUE(Has(r.why, "node 3")) << p << ": " << r.why;
        EXPECT_TRUE(Has(r.why, "gpu")) << p << ": " << r.why;
    }
}

// The failing key of each member appears (type's and creation's lists).
TEST(Nowhere, ReasonNamesEachFailingKey)
{
    Table t({{1, "gpu=true,region=us", {0}}, {2, "gpu=false,region=eu", {0}}});
    Rq q(PLACE_LEAST_LOADED, 1, "gpu", "region=eu");
    Result r = Decide(q, t);
    EXPECT_EQ(-ENOENT, r.rc);
    EXPECT_TRUE(Has(r.why, "region")) << r.why;
    EXPECT_TRUE(Has(r.why, "gpu")) << r.why;
    EXPECT_TRUE(Has(r.why, "node 2")) << r.why;
}

// An empty table places nothing: -ENOENT or -EINVAL, with a reason.
TEST(Nowhere, EmptyTable)
{
    Table t(std::vector<M>{});
    for (place_policy p : {PLACE_LOCAL_FIRST, PLACE_LEAST_LOADED}) {
        Rq q(p, 1);
        Result r = Decide(q, t);
        EXPECT_TRUE(r.rc == -ENOENT || r.rc == -EINVAL) << r.rc;
        EXPECT_NE("", r.why);
    }
    place_choice out;
    Rq q(PLACE_LEAST_LOADED, 1);
    int rc = place_decide(&q.rq, nullptr, 0, &out, nullptr, 0);
    EXPECT_TRUE(rc == -ENOENT || rc == -EINVAL) << rc;
}

// A policy that is none of the four: -EINVAL.
TEST(Errors, UnknownPolicy)
{
    Table t({{1, "", {0}}});
    Rq q(static_cast<place_policy>(42), 1);
    Result r = Decide(q, t);
    EXPECT_EQ(-EINVAL, r.rc);
    EXPECT_NE("", r.why);
}

// The reason stays within len and is terminated.
TEST(Errors, WhyRespectsLen)
{
    Table t({{1, "gpu=false", {0}}, {2, "gpu=false", {0}}, {3, "gpu=false", {0}}});
    Rq q(PLACE_LEAST_LOADED, 1, "gpu");
    place_choice out;
    char why[32];
    std::memset(why, '#', sizeof(why));
    EXPECT_EQ(-ENOENT, place_decide(&q.rq, t.data(), t.size(), &out, why, 8));
    EXPECT_LT(std::strlen(why), 8u);
    for (size_t k = 8; k < sizeof(why); k++)
        EXPECT_EQ('#', why[k]) << k;
    std::memset(why, '#', sizeof(why));
    EXPECT_EQ(-ENOENT, place_decide(&q.rq, t.data(), t.size(), &out, why, 0));
    EXPECT_EQ('#', why[0]);
}

// A member with no shards at all does not crash the decision; if it is
// chosen, it picks its shard itself.
TEST(Errors, MemberWithoutShards)
{
    Table t({{1, "", {}}, {2, "", {}}});
    for (place_policy p : {PLACE_LOCAL_FIRST, PLACE_LEAST_LOADED}) {
        Rq q(p, 1);
        Result r = Decide(q, t);
        if (r.rc == 0) {
            EXPECT_EQ(-1, r.choice.shard) << p;
        }
    }
}

// The decision depends on the table's content, not its order.
TEST(Determinism, TableOrderIrrelevant)
{
    std::vector<M> ms = {{1, "gpu=false", {0}}, {4, "gpu=true", {2, 2}}, {3, "gpu=true", {3, 1}},
                         {2, "gpu=true", {4, 0}}, {5, "gpu=true", {2}}};
    Table a(ms);
    std::vector<M> rev(ms.rbegin(), ms.rend());
    Table b(rev);
    Rq local(PLACE_LOCAL_FIRST, 1, "gpu");
    EXPECT_CHOICE(Decide(local, a), 2, 1);
    EXPECT_CHOICE(Decide(local, b), 2, 1);
    Rq least(PLACE_LEAST_LOADED, 1, "gpu");
    EXPECT_CHOICE(Decide(least, a), 2, 1);
    EXPECT_CHOICE(Decide(least, b), 2, 1);
}

}  // namespace
