// SPDX-License-Identifier: MIT
// lifecycle_test.cc — ExitRequest down a tree of actors, ExitRequest
// handlers that fail, and global (named) actors.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "ts_test.h"

using tst::Msg;
using tst::Text;

namespace {

TS_TYPE_ID(kGrow, "test.tree.Grow")
TS_TYPE_ID(kGrown, "test.tree.Grown")
TS_TYPE_ID(kFind, "test.names.Find")
TS_TYPE_ID(kFound, "test.names.Found")
// Every tree node appends "exit:<name>" when it exits (fini), and
// "child-exited:<name>" when it gets a child's ChildExited.
tst::SharedLog g_tree_log;

void TreeLog(const std::string &s) { g_tree_log.Add(s); }
std::vector<std::string> TreeLogCopy() { return g_tree_log.Copy(); }
void TreeLogClear() { g_tree_log.Clear(); }

struct NodeArg {
    char name[16];
    uint32_t depth;
};
struct Grown {
    ts_addr kids[2];
};
struct NodeState {
    NodeArg self;
    ts_addr requester;
    ts_addr kids[2];
    NodeArg kid_args[2];
    uint32_t grown;
};

int NodeInit(ts_ctx *, void *state, const void *arg, size_t len)
{
    auto *st = static_cast<NodeState *>(state);
    if (len != sizeof(NodeArg))
        return -EINVAL;
    std::memcpy(&st->self, arg, sizeof st->self);
    return 0;
}
void NodeFini(ts_ctx *, void *state)
{
    TreeLog(std::string("exit:") + static_cast<NodeState *>(state)->self.name);
}

// Grow: a leaf answers Grown at once; an inner node creates two children,
// grows them, and answers once both have answered.
int NodeGrow(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<NodeState *>(state);
    st->requester = ts_sender(ctx);
    if (st->self.depth == 0) {
        Grown g{};
        return ts_reply(ctx, kGrown(), &g, sizeof g);
    }
    for (int i = 0; i < 2; i++) {
        NodeArg &a = st->kid_args[i];
        std::snprintf(a.name, sizeof a.name, "%.8s%d", st->self.name, i);
        a.depth = st->self.depth - 1;
        ts_create_opts o{&a, sizeof a, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, nullptr};
        int rc = ts_create(ctx, "test.tree.Node", &o, &st->kids[i]);
        if (rc == 0)
            rc = ts_send(ctx, st->kids[i], kGrow(), nullptr, 0);
        if (rc)
            return rc;
    }
    return 0;
}
int NodeGrown(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<NodeState *>(state);
    if (++st->grown < 2)
        return 0;
    Grown g{{st->kids[0], st->kids[1]}};
    return ts_send(ctx, st->requester, kGrown(), &g, sizeof g);
}
int NodeChildExited(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<NodeState *>(state);
    ts_child_exited ce{};
    tst::ChildGone g{};
    g.decode_rc = ts_child_exited_decode(m, &ce);
    g.child = ce.child;
    g.status = ce.status;
    std::string name = "?";
    for (int i = 0; i < 2; i++)
        if (st->kids[i] == ce.child)
            name = st->kid_args[i].name;
    TreeLog("child-exited:" + name);
    if (st->self.depth < 2)
        return 0; // only the root reports to the client
    return ts_send(ctx, st->requester, tst::kChildGone(), &g, sizeof g);
}
int NodePing(ts_ctx *ctx, void *state, const ts_msg *)
{
    const char *name = static_cast<NodeState *>(state)->self.name;
    return ts_reply(ctx, tst::kPong(), name, std::strlen(name));
}

const ts_handler_entry kNodeHandlers[] = {
    TS_ON("test.tree.Grow", NodeGrow),
    TS_ON("test.tree.Grown", NodeGrown),
    TS_ON("test.common.Ping", NodePing),
    TS_ON_ID(TS_MSG_CHILD_EXITED, NodeChildExited),
    TS_HANDLERS_END,
};
const ts_actor_type kNode = {"test.tree.Node", sizeof(NodeState), NodeInit, NodeFini,
                             kNodeHandlers, nullptr, nullptr, nullptr};

// Stubborn's ExitRequest handler fails; the exit must happen anyway.
std::atomic<int> &g_stubborn_handled = tst::Shared<std::atomic<int>>();
std::atomic<int> &g_stubborn_finis = tst::Shared<std::atomic<int>>();
int StubbornExit(ts_ctx *, void *, const ts_msg *)
{
    g_stubborn_handled++;
    return -EIO;
}
void StubbornFini(ts_ctx *, void *) { g_stubborn_finis++; }
const ts_handler_entry kStubbornHandlers[] = {TS_ON_ID(TS_MSG_EXIT_REQUEST, StubbornExit),
                                              TS_HANDLERS_END};
const ts_actor_type kStubborn = {"test.tree.Stubborn", 0, nullptr, StubbornFini,
                                 kStubbornHandlers, nullptr, nullptr, nullptr};

// Finder looks a global name up from inside an actor.
int FinderFind(ts_ctx *ctx, void *, const ts_msg *m)
{
    std::string name = Text(m);
    ts_create_opts o{nullptr, 0, name.c_str(), TS_PLACE_DEFAULT, 0, 0, nullptr, nullptr};
    ts_addr a = TS_ADDR_NONE;
    int rc = ts_create(ctx, tst::kEcho, &o, &a);
    if (rc)
        return rc;
    return ts_reply(ctx, kFound(), &a, sizeof a);
}
const ts_handler_entry kFinderHandlers[] = {TS_ON("test.names.Find", FinderFind),
                                            TS_HANDLERS_END};
const ts_actor_type kFinder = {"test.names.Finder", 0, nullptr, nullptr, kFinderHandlers,
                               nullptr, nullptr, nullptr};

class LifecycleScenario : public tst::SystemTest {
  protected:
    ts_addr FindFromInside(ts_addr finder, const std::string &name)
    {
        Msg r = AskStr(finder, kFind(), name);
        ts_addr a = TS_ADDR_NONE;
        EXPECT_TRUE(r && r->type == kFound() && tst::As(r.get(), &a));
        return a;
    }
};

size_t IndexOf(const std::vector<std::string> &v, const std::string &s)
{
    auto it = std::find(v.begin(), v.end(), s);
    return it == v.end() ? SIZE_MAX : static_cast<size_t>(it - v.begin());
}

std::string Join(const std::vector<std::string> &v)
{
    std::string s;
    for (const auto &e : v)
        s += e + " ";
    return s;
}

TEST_P(LifecycleScenario, exit_request_is_recursive)
{
    TS_REGISTER(kNode);
    NodeArg root_arg{"R", 2};
    ts_addr root = Create("test.tree.Node", &root_arg, sizeof root_arg);
    ASSERT_NE(root, TS_ADDR_NONE);
    Msg r = Ask(root, kGrow());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kGrown());
    Grown g{};
    ASSERT_TRUE(tst::As(r.get(), &g));
    ts_addr mid0 = g.kids[0], mid1 = g.kids[1];
    ASSERT_NE(mid0, TS_ADDR_NONE);
    ASSERT_NE(mid1, TS_ADDR_NONE);

    TreeLogClear();
    ts_system_stats before = Stats();
    Tell(mid0, TS_MSG_EXIT_REQUEST);

    tst::ChildGone gone{};
    ASSERT_TRUE(NextChildGone(&gone));
    EXPECT_EQ(gone.child, mid0);
    EXPECT_EQ(gone.status, 0);

    std::vector<std::string> log = TreeLogCopy();
    size_t g0 = IndexOf(log, "exit:R00"), g1 = IndexOf(log, "exit:R01");
    size_t m0 = IndexOf(log, "exit:R0"), ce = IndexOf(log, "child-exited:R0");
    ASSERT_NE(g0, SIZE_MAX) << Join(log);
    ASSERT_NE(g1, SIZE_MAX) << Join(log);
    ASSERT_NE(m0, SIZE_MAX) << Join(log);
    ASSERT_NE(ce, SIZE_MAX) << Join(log);
    EXPECT_LT(g0, m0) << "grandchildren exit before their parent: " << Join(log);
    EXPECT_LT(g1, m0) << "grandchildren exit before their parent: " << Join(log);
    EXPECT_LT(m0, ce) << "the root hears ChildExited after the child exited: " << Join(log);
    for (const char *other : {"exit:R", "exit:R1", "exit:R10", "exit:R11"})
        EXPECT_EQ(IndexOf(log, other), SIZE_MAX) << other << " must not exit: " << Join(log);

    ts_system_stats after = Stats();
    EXPECT_EQ(after.actors_exited, before.actors_exited + 3);
    EXPECT_EQ(after.actors_live, before.actors_live - 3);

    // The rest of the tree is untouched.
    r = Ask(mid1, tst::kPing());
    ASSERT_TRUE(r);
    EXPECT_EQ(Text(r), "R1");
    r = Ask(root, tst::kPing());
    ASSERT_TRUE(r);
    EXPECT_EQ(Text(r), "R");
}

TEST_P(LifecycleScenario, failing_exit_request_handler_still_exits)
{
    TS_REGISTER(kStubborn);
    g_stubborn_handled = 0;
    g_stubborn_finis = 0;
    ts_addr parent = Create(tst::kParent);
    ASSERT_NE(parent, TS_ADDR_NONE);
    ts_addr child = Spawn(parent, "test.tree.Stubborn");
    ASSERT_NE(child, TS_ADDR_NONE);
    ts_system_stats before = Stats();

    Tell(child, TS_MSG_EXIT_REQUEST);
    // The failure is logged, not poisoned back: the next message is the
    // parent's report that the child is gone.
    Msg m = Listen();
    ASSERT_TRUE(m);
    ASSERT_EQ(m->type, tst::kChildGone()) << "no Poison for a failed ExitRequest";
    tst::ChildGone gone{};
    ASSERT_TRUE(tst::As(m.get(), &gone));
    EXPECT_EQ(gone.child, child);
    EXPECT_EQ(gone.status, 0);
    EXPECT_GE(g_stubborn_handled.load(), 1) << "the ExitRequest handler ran";
    EXPECT_GE(g_stubborn_finis.load(), 1) << "fini ran on exit";
    EXPECT_TRUE(HasLog("TS-EXIT-FAIL")) << "captured log:\n" << LogDump();
    EXPECT_EQ(Stats().actors_exited, before.actors_exited + 1);
    EXPECT_EQ(Stats().poisoned, before.poisoned);
}

TEST_P(LifecycleScenario, global_name_returns_the_same_actor)
{
    TS_REGISTER(kFinder);
    ts_addr finder = Create("test.names.Finder");
    ASSERT_NE(finder, TS_ADDR_NONE);
    ts_system_stats before = Stats();

    ts_addr a1 = Create(tst::kEcho, nullptr, 0, "test.names.TheEcho");
    ts_addr a2 = Create(tst::kEcho, nullptr, 0, "test.names.TheEcho");
    ASSERT_NE(a1, TS_ADDR_NONE);
    EXPECT_EQ(a1, a2);
    EXPECT_EQ(FindFromInside(finder, "test.names.TheEcho"), a1);
    EXPECT_EQ(FindFromInside(finder, "test.names.TheEcho"), a1);
    EXPECT_EQ(Stats().actors_created, before.actors_created + 1);

    // Another name is another actor, also when first made from inside.
    ts_addr b1 = FindFromInside(finder, "test.names.OtherEcho");
    ASSERT_NE(b1, TS_ADDR_NONE);
    EXPECT_NE(b1, a1);
    EXPECT_EQ(Create(tst::kEcho, nullptr, 0, "test.names.OtherEcho"), b1);
    EXPECT_EQ(Stats().actors_created, before.actors_created + 2);

    Msg r = AskStr(a1, tst::kPing(), "named");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->src, a1);
    EXPECT_EQ(Text(r), "named");
}

TEST_P(LifecycleScenario, global_name_is_free_again_after_exit)
{
    TS_ONE_NODE_ONLY("global names (convention-wide names come with the convention)");
    TS_REGISTER(kFinder);
    ts_addr parent = Create(tst::kParent);
    ts_addr finder = Create("test.names.Finder");
    ASSERT_NE(parent, TS_ADDR_NONE);
    ASSERT_NE(finder, TS_ADDR_NONE);

    ts_addr first = Spawn(parent, tst::kEcho, nullptr, 0, "test.names.Phoenix");
    ASSERT_NE(first, TS_ADDR_NONE);
    EXPECT_EQ(Create(tst::kEcho, nullptr, 0, "test.names.Phoenix"), first);
    EXPECT_EQ(FindFromInside(finder, "test.names.Phoenix"), first);

    Tell(first, TS_MSG_EXIT_REQUEST);
    tst::ChildGone gone{};
    ASSERT_TRUE(NextChildGone(&gone));
    EXPECT_EQ(gone.child, first);

    ts_addr second = Create(tst::kEcho, nullptr, 0, "test.names.Phoenix");
    ASSERT_NE(second, TS_ADDR_NONE);
    EXPECT_NE(second, first) << "a new actor, at a new address";
    EXPECT_EQ(FindFromInside(finder, "test.names.Phoenix"), second);
    Msg r = AskStr(second, tst::kPing(), "reborn");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->src, second);
    EXPECT_EQ(Text(r), "reborn");
}

TS_INSTANTIATE_BASES(LifecycleScenario);

} // namespace
