// SPDX-License-Identifier: MIT
// hello_test.cc — the classic first scenarios: hello, hellogoodbye and
// hello_redux (a greeting that travels with its route in the payload).
#include <string>
#include <vector>

#include "ts_test.h"

using tst::Msg;
using tst::Text;

namespace {

TS_TYPE_ID(kGreet, "test.hello.Greet")
TS_TYPE_ID(kGoodbye, "test.hello.Goodbye")
TS_TYPE_ID(kText, "test.hello.Text")
TS_TYPE_ID(kRelay, "test.hello.Relay")
TS_TYPE_ID(kGreeting, "test.hello.Greeting")
int SendText(ts_ctx *ctx, ts_addr to, const std::string &s)
{
    return ts_send(ctx, to, kText(), s.data(), s.size());
}

// --- hello ----------------------------------------------------------------

int HelloGreet(ts_ctx *ctx, void *, const ts_msg *)
{
    static const char text[] = "Hello, world!";
    return ts_reply(ctx, kText(), text, sizeof text - 1);
}
const ts_handler_entry kHelloHandlers[] = {TS_ON("test.hello.Greet", HelloGreet), TS_HANDLERS_END};
const ts_actor_type kHello = {"test.hello.Hello", 0, nullptr, nullptr, kHelloHandlers, nullptr, nullptr, nullptr};

// --- hellogoodbye ---------------------------------------------------------
// Hello creates World on the first Greet and passes it the asker's address;
// World answers the asker directly. Goodbye makes Hello stop World and
// answer "Goodbye!" once World's ChildExited has come back.

struct HgHelloState {
    ts_addr world;
    ts_addr goodbye_to;
};

int HgHelloGreet(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<HgHelloState *>(state);
    if (st->world == TS_ADDR_NONE) {
        int rc = ts_create(ctx, "test.hellogoodbye.World", nullptr, &st->world);
        if (rc)
            return rc;
    }
    ts_addr asker = ts_sender(ctx);
    return ts_send(ctx, st->world, kRelay(), &asker, sizeof asker);
}

int HgHelloGoodbye(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<HgHelloState *>(state);
    st->goodbye_to = ts_sender(ctx);
    if (st->world == TS_ADDR_NONE)
        return SendText(ctx, st->goodbye_to, "Goodbye!");
    return ts_send(ctx, st->world, TS_MSG_EXIT_REQUEST, nullptr, 0);
}

int HgHelloChildExited(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<HgHelloState *>(state);
    ts_child_exited ce{};
    if (ts_child_exited_decode(m, &ce) != 0 || ce.child != st->world)
        return SendText(ctx, st->goodbye_to, "unexpected ChildExited");
    st->world = TS_ADDR_NONE;
    return SendText(ctx, st->goodbye_to, "Goodbye!");
}

const ts_handler_entry kHgHelloHandlers[] = {
    TS_ON("test.hello.Greet", HgHelloGreet),
    TS_ON("test.hello.Goodbye", HgHelloGoodbye),
    TS_ON_ID(TS_MSG_CHILD_EXITED, HgHelloChildExited),
    TS_HANDLERS_END,
};
const ts_actor_type kHgHello = {"test.hellogoodbye.Hello", sizeof(HgHelloState), nullptr,
                                nullptr, kHgHelloHandlers, nullptr, nullptr, nullptr};

int HgWorldRelay(ts_ctx *ctx, void *, const ts_msg *m)
{
    ts_addr asker;
    if (!tst::As(m, &asker))
        return -EBADMSG;
    return SendText(ctx, asker, "Hello, world!");
}
const ts_handler_entry kHgWorldHandlers[] = {TS_ON("test.hello.Relay", HgWorldRelay),
                                             TS_HANDLERS_END};
const ts_actor_type kHgWorld = {"test.hellogoodbye.World", 0, nullptr, nullptr,
                                kHgWorldHandlers, nullptr, nullptr, nullptr};

// --- hello_redux ----------------------------------------------------------
// A Greeting carries its text and the route still ahead of it. Each hop
// appends its part and passes it to the first address of the route; the
// last hop sends the finished text to the final address (the asker).

struct Greeting {
    std::vector<ts_addr> route;
    std::string text;
};

std::vector<unsigned char> EncodeGreeting(const Greeting &g)
{
    uint32_t n = static_cast<uint32_t>(g.route.size());
    uint32_t tl = static_cast<uint32_t>(g.text.size());
    std::vector<unsigned char> out(8 + 8 * n + tl);
    std::memcpy(out.data(), &n, 4);
    std::memcpy(out.data() + 4, &tl, 4);
    if (n)
        std::memcpy(out.data() + 8, g.route.data(), 8 * n);
    if (tl)
        std::memcpy(out.data() + 8 + 8 * n, g.text.data(), tl);
    return out;
}

bool DecodeGreeting(const ts_msg *m, Greeting *g)
{
    const auto *p = static_cast<const unsigned char *>(ts_msg_data(m));
    uint32_t n, tl;
    if (m->len < 8)
        return false;
    std::memcpy(&n, p, 4);
    std::memcpy(&tl, p + 4, 4);
    if (m->len != 8 + 8ull * n + tl)
        return false;
    g->route.resize(n);
    if (n)
        std::memcpy(g->route.data(), p + 8, 8 * n);
    g->text.assign(reinterpret_cast<const char *>(p + 8 + 8 * n), tl);
    return true;
}

// Appends part and sends the greeting on along its route.
int Hop(ts_ctx *ctx, const ts_msg *m, const char *part)
{
    Greeting g;
    if (!DecodeGreeting(m, &g) || g.route.empty())
        return -EBADMSG;
    g.text += part;
    ts_addr next = g.route.front();
    g.route.erase(g.route.begin());
    if (g.route.empty())
        return SendText(ctx, next, g.text);
    std::vector<unsigned char> b = EncodeGreeting(g);
    return ts_send(ctx, next, kGreeting(), b.data(), b.size());
}

struct ReduxHelloState {
    ts_addr world, punctuate;
};

int ReduxHelloGreet(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<ReduxHelloState *>(state);
    int rc = 0;
    if (st->world == TS_ADDR_NONE)
        rc = ts_create(ctx, "test.redux.World", nullptr, &st->world);
    if (rc == 0 && st->punctuate == TS_ADDR_NONE)
        rc = ts_create(ctx, "test.redux.Punctuate", nullptr, &st->punctuate);
    if (rc)
        return rc;
    Greeting g{{st->world, st->punctuate, ts_sender(ctx)}, ""};
    // Hello's own hop: the text starts here, then goes to World.
    g.text = "Hello";
    ts_addr next = g.route.front();
    g.route.erase(g.route.begin());
    std::vector<unsigned char> b = EncodeGreeting(g);
    return ts_send(ctx, next, kGreeting(), b.data(), b.size());
}

int ReduxWorld(ts_ctx *ctx, void *, const ts_msg *m) { return Hop(ctx, m, ", World"); }
int ReduxPunctuate(ts_ctx *ctx, void *, const ts_msg *m) { return Hop(ctx, m, "!"); }

const ts_handler_entry kReduxHelloHandlers[] = {TS_ON("test.hello.Greet", ReduxHelloGreet),
                                                TS_HANDLERS_END};
const ts_handler_entry kReduxWorldHandlers[] = {TS_ON("test.hello.Greeting", ReduxWorld),
                                                TS_HANDLERS_END};
const ts_handler_entry kReduxPunctHandlers[] = {TS_ON("test.hello.Greeting", ReduxPunctuate),
                                                TS_HANDLERS_END};
const ts_actor_type kReduxHello = {"test.redux.Hello", sizeof(ReduxHelloState), nullptr,
                                   nullptr, kReduxHelloHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kReduxWorld = {"test.redux.World", 0, nullptr, nullptr,
                                   kReduxWorldHandlers, nullptr, nullptr, nullptr};
const ts_actor_type kReduxPunct = {"test.redux.Punctuate", 0, nullptr, nullptr,
                                   kReduxPunctHandlers, nullptr, nullptr, nullptr};

class HelloScenario : public tst::SystemTest {};

TEST_P(HelloScenario, hello)
{
    TS_REGISTER(kHello);
    ts_addr hello = Create("test.hello.Hello");
    ASSERT_NE(hello, TS_ADDR_NONE);

    Msg r = Ask(hello, kGreet());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, kText());
    EXPECT_EQ(Text(r), "Hello, world!");
    EXPECT_EQ(r->src, hello);
    EXPECT_EQ(r->dst, ts_system_client_addr(sys()));
}

TEST_P(HelloScenario, hellogoodbye)
{
    TS_REGISTER(kHgHello);
    TS_REGISTER(kHgWorld);
    ts_addr hello = Create("test.hellogoodbye.Hello");
    ASSERT_NE(hello, TS_ADDR_NONE);
    uint64_t created0 = Stats().actors_created;

    // World answers the asker directly: the reply's sender is not Hello.
    Msg r = Ask(hello, kGreet());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, kText());
    EXPECT_EQ(Text(r), "Hello, world!");
    EXPECT_NE(r->src, hello);
    ts_addr world = r->src;
    EXPECT_EQ(Stats().actors_created, created0 + 1);

    // A second greeting reuses the same World.
    r = Ask(hello, kGreet());
    ASSERT_TRUE(r);
    EXPECT_EQ(Text(r), "Hello, world!");
    EXPECT_EQ(r->src, world);

    uint64_t exited0 = Stats().actors_exited;
    r = Ask(hello, kGoodbye());
    ASSERT_TRUE(r);
    EXPECT_EQ(Text(r), "Goodbye!");
    EXPECT_EQ(r->src, hello);
    EXPECT_EQ(Stats().actors_exited, exited0 + 1);
}

TEST_P(HelloScenario, hello_redux)
{
    TS_REGISTER(kReduxHello);
    TS_REGISTER(kReduxWorld);
    TS_REGISTER(kReduxPunct);
    ts_addr hello = Create("test.redux.Hello");
    ASSERT_NE(hello, TS_ADDR_NONE);
    uint64_t live0 = Stats().actors_live;

    for (int i = 0; i < 3; i++) {
        Msg r = Ask(hello, kGreet());
        ASSERT_TRUE(r);
        EXPECT_EQ(r->type, kText());
        EXPECT_EQ(Text(r), "Hello, World!");
        EXPECT_NE(r->src, hello) << "the last hop (Punctuate) answers the asker";
    }
    // World and Punctuate were made once, on the first greeting.
    EXPECT_EQ(Stats().actors_live, live0 + 2);
}

TS_INSTANTIATE_BASES(HelloScenario);

} // namespace
