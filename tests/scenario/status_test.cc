// SPDX-License-Identifier: MIT
// status_test.cc — StatusRequest answered by the engine (Thespian's Actor
// Status Requests), on every base: an actor's Status (type, parent,
// children, messages handled, restarts, timers, messages waiting, exiting),
// a node's (its shards and links), a request to an address that is gone,
// and both rendered as JSON with every key of the documented schema.
#include <cerrno>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "ts_test.h"

using tst::Msg;

namespace {

TS_TYPE_ID(kWork, "test.status.Work")
TS_TYPE_ID(kDone, "test.status.Done")
TS_TYPE_ID(kFail, "test.status.Fail")
TS_TYPE_ID(kSpawnTwo, "test.status.SpawnTwo")
TS_TYPE_ID(kSpawnedTwo, "test.status.SpawnedTwo")
TS_TYPE_ID(kLater, "test.status.Later")
TS_TYPE_ID(kBurst, "test.status.Burst")
TS_TYPE_ID(kExiting, "test.status.Exiting")
TS_TYPE_ID(kRelay, "test.status.Relay")

const char *const kWorker = "test.status.Worker";
const char *const kDriver = "test.status.Driver";

// ---- test.status.Worker ----------------------------------------------------
// Work: counts, replies Done {count}. Fail: fails (restarted, redelivered,
// fails again: Poison to the sender). SpawnTwo: creates two Workers on its
// own shard, replies SpawnedTwo {both}. Later: arms a Wakeup an hour away.

struct WorkerState {
    uint64_t n;
};

int WorkerWork(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<WorkerState *>(state);
    st->n++;
    return ts_reply(ctx, kDone(), &st->n, sizeof st->n);
}

int WorkerFail(ts_ctx *, void *, const ts_msg *) { return -EIO; }

int WorkerSpawnTwo(ts_ctx *ctx, void *, const ts_msg *)
{
    ts_addr kids[2] = {TS_ADDR_NONE, TS_ADDR_NONE};
    ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_LOCAL, 0, 0, nullptr, nullptr};
    for (ts_addr &k : kids) {
        int rc = ts_create(ctx, kWorker, &o, &k);
        if (rc)
            return rc;
    }
    return ts_reply(ctx, kSpawnedTwo(), kids, sizeof kids);
}

int WorkerLater(ts_ctx *ctx, void *, const ts_msg *)
{
    int rc = ts_wakeup_after(ctx, UINT64_C(3600) * 1000 * 1000 * 1000, nullptr, 0);
    return rc ? rc : ts_reply(ctx, kDone(), nullptr, 0);
}

// Everything else (ExitRequest, ChildExited, Wakeup, Done from a child) is
// taken quietly.
int Ignore(ts_ctx *, void *, const ts_msg *) { return 0; }

const ts_handler_entry kWorkerHandlers[] = {
    TS_ON("test.status.Work", WorkerWork),
    TS_ON("test.status.Fail", WorkerFail),
    TS_ON("test.status.SpawnTwo", WorkerSpawnTwo),
    TS_ON("test.status.Later", WorkerLater),
    TS_HANDLERS_END,
};
const ts_actor_type kWorkerType = {kWorker,  sizeof(WorkerState), nullptr, nullptr,
                                   kWorkerHandlers, Ignore, nullptr, nullptr};

// ---- test.status.Driver ----------------------------------------------------
// Builds, on its own shard, what only a queue in a known order shows, and
// forwards every Status it gets to whoever asked it last.
//   Burst: creates a Worker, sends it a StatusRequest and then three Work:
//          the Status sees those three waiting behind it.
//   Exiting: creates a Worker, has it spawn two children, asks it to exit,
//          then for its Status: it is exiting, waiting for them.
//   Relay {addr}: a StatusRequest to addr from inside an actor.

struct DriverState {
    ts_addr watcher;
};

int DriverBurst(ts_ctx *ctx, void *state, const ts_msg *)
{
    static_cast<DriverState *>(state)->watcher = ts_sender(ctx);
    ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_LOCAL, 0, 0, nullptr, nullptr};
    ts_addr w = TS_ADDR_NONE;
    int rc = ts_create(ctx, kWorker, &o, &w);
    if (rc == 0)
        rc = ts_send(ctx, w, TS_MSG_STATUS_REQUEST, nullptr, 0);
    for (int i = 0; rc == 0 && i < 3; i++)
        rc = ts_send(ctx, w, kWork(), nullptr, 0);
    return rc;
}

int DriverExiting(ts_ctx *ctx, void *state, const ts_msg *)
{
    static_cast<DriverState *>(state)->watcher = ts_sender(ctx);
    ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_LOCAL, 0, 0, nullptr, nullptr};
    ts_addr w = TS_ADDR_NONE;
    int rc = ts_create(ctx, kWorker, &o, &w);
    if (rc == 0)
        rc = ts_send(ctx, w, kSpawnTwo(), nullptr, 0);
    if (rc == 0)
        rc = ts_send(ctx, w, TS_MSG_EXIT_REQUEST, nullptr, 0);
    if (rc == 0)
        rc = ts_send(ctx, w, TS_MSG_STATUS_REQUEST, nullptr, 0);
    return rc;
}

int DriverRelay(ts_ctx *ctx, void *state, const ts_msg *m)
{
    static_cast<DriverState *>(state)->watcher = ts_sender(ctx);
    ts_addr to;
    if (!tst::As(m, &to))
        return -EBADMSG;
    return ts_send(ctx, to, TS_MSG_STATUS_REQUEST, nullptr, 0);
}

int DriverStatus(ts_ctx *ctx, void *state, const ts_msg *m)
{
    return ts_send(ctx, static_cast<DriverState *>(state)->watcher, TS_MSG_STATUS,
                   ts_msg_data(m), m->len);
}

const ts_handler_entry kDriverHandlers[] = {
    TS_ON("test.status.Burst", DriverBurst),
    TS_ON("test.status.Exiting", DriverExiting),
    TS_ON("test.status.Relay", DriverRelay),
    TS_ON_ID(TS_MSG_STATUS, DriverStatus),
    TS_HANDLERS_END,
};
const ts_actor_type kDriverType = {kDriver, sizeof(DriverState), nullptr, nullptr,
                                   kDriverHandlers, Ignore, nullptr, nullptr};

// ---- a small JSON reader, for the schema test -------------------------------

struct Json {
    enum Kind { kNull, kBool, kNum, kStr, kArr, kObj } kind = kNull;
    std::string text; // kNum: its digits; kStr: its value, unescaped
    std::vector<Json> items;
    std::vector<std::pair<std::string, Json>> fields;

    const Json *Get(const std::string &k) const
    {
        for (const auto &f : fields)
            if (f.first == k)
                return &f.second;
        return nullptr;
    }
    std::vector<std::string> Keys() const
    {
        std::vector<std::string> v;
        for (const auto &f : fields)
            v.push_back(f.first);
        return v;
    }
};

class JsonReader {
  public:
    explicit JsonReader(const std::string &s) : s_(s) {}
    // The one value s holds, with nothing after it; false if it is not JSON.
    bool Read(Json *out)
    {
        return Value(out) && i_ == s_.size();
    }

  private:
    bool Lit(const char *w)
    {
        size_t n = std::strlen(w);
        if (s_.compare(i_, n, w) != 0)
            return false;
        i_ += n;
        return true;
    }
    bool Str(std::string *out)
    {
        if (i_ >= s_.size() || s_[i_++] != '"')
            return false;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (static_cast<unsigned char>(c) < 0x20)
                return false; // raw control characters are not JSON
            if (c != '\\') {
                out->push_back(c);
                continue;
            }
            if (i_ >= s_.size())
                return false;
            c = s_[i_++];
            if (c == 'u') {
                if (i_ + 4 > s_.size())
                    return false;
                out->push_back(static_cast<char>(std::strtol(s_.substr(i_, 4).c_str(), nullptr, 16)));
                i_ += 4;
            } else if (c == '"' || c == '\\' || c == '/') {
                out->push_back(c);
            } else {
                return false;
            }
        }
        return i_++ < s_.size();
    }
    bool Value(Json *v)
    {
        if (i_ >= s_.size())
            return false;
        char c = s_[i_];
        if (c == 'n')
            return Lit("null");
        if (c == 't' || c == 'f') {
            v->kind = Json::kBool;
            v->text = c == 't' ? "true" : "false";
            return Lit(c == 't' ? "true" : "false");
        }
        if (c == '"') {
            v->kind = Json::kStr;
            return Str(&v->text);
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            v->kind = Json::kNum;
            size_t start = i_++;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')
                i_++;
            v->text = s_.substr(start, i_ - start);
            return v->text != "-";
        }
        if (c == '[') {
            v->kind = Json::kArr;
            i_++;
            if (Lit("]"))
                return true;
            do {
                v->items.emplace_back();
                if (!Value(&v->items.back()))
                    return false;
            } while (Lit(","));
            return Lit("]");
        }
        if (c == '{') {
            v->kind = Json::kObj;
            i_++;
            if (Lit("}"))
                return true;
            do {
                std::string k;
                if (!Str(&k) || !Lit(":"))
                    return false;
                v->fields.emplace_back(k, Json());
                if (!Value(&v->fields.back().second))
                    return false;
            } while (Lit(","));
            return Lit("}");
        }
        return false;
    }

    const std::string &s_;
    size_t i_ = 0;
};

std::string Rendered(const ts_msg *m)
{
    int n = ts_status_json(m, nullptr, 0);
    EXPECT_GT(n, 0) << ts_last_error();
    if (n <= 0)
        return "";
    std::string s(static_cast<size_t>(n) + 1, '\0');
    EXPECT_EQ(ts_status_json(m, &s[0], s.size()), n);
    s.resize(static_cast<size_t>(n));
    return s;
}

// Checks that o has exactly these keys, in this order, each of its kind
// (a kind list: any of them).
void ExpectShape(const Json &o, const std::vector<std::pair<std::string, std::vector<Json::Kind>>> &want,
                 const std::string &where)
{
    ASSERT_EQ(o.kind, Json::kObj) << where;
    std::vector<std::string> keys;
    for (const auto &w : want)
        keys.push_back(w.first);
    EXPECT_EQ(o.Keys(), keys) << where;
    for (const auto &w : want) {
        const Json *v = o.Get(w.first);
        if (!v)
            continue;
        bool ok = false;
        for (Json::Kind k : w.second)
            ok |= v->kind == k;
        EXPECT_TRUE(ok) << where << "." << w.first << " has kind " << v->kind;
    }
}

class StatusScenario : public tst::SystemTest {
  protected:
    void SetUp() override
    {
        TS_REGISTER(kWorkerType);
        TS_REGISTER(kDriverType);
        SystemTest::SetUp();
    }

    // The Status of dst, asked from outside, decoded into *st, which points
    // into the message returned: keep that while reading *st.
    Msg StatusOf(ts_addr dst, ts_status *st)
    {
        Msg r = Ask(dst, TS_MSG_STATUS_REQUEST);
        if (!r)
            return r;
        EXPECT_EQ(r->type, TS_MSG_STATUS) << ts_sysmsg_name(r->type);
        EXPECT_EQ(r->src, dst);
        EXPECT_EQ(ts_status_decode(r.get(), st), 0);
        return r;
    }

    // The next message, a Status a Driver forwarded, decoded into *st (as
    // StatusOf: keep the message returned).
    Msg Forwarded(ts_status *st)
    {
        Msg r = Listen();
        if (!r)
            return r;
        EXPECT_EQ(r->type, TS_MSG_STATUS);
        EXPECT_EQ(ts_status_decode(r.get(), st), 0);
        return r;
    }

    // The shards of sys() (the fixture's configuration).
    unsigned Shards() { return GetParam() == TS_BASE_SIMPLE ? 1u : Config().shards; }
};

TEST_P(StatusScenario, actor_status_has_its_type_parent_and_counters)
{
    ts_addr w = Create(kWorker);
    ASSERT_NE(w, TS_ADDR_NONE);
    for (uint64_t i = 1; i <= 5; i++) {
        Msg r = Ask(w, kWork());
        ASSERT_TRUE(r);
        uint64_t n = 0;
        ASSERT_TRUE(tst::As(r.get(), &n));
        EXPECT_EQ(n, i);
    }
    ts_status st;
    Msg r = StatusOf(w, &st);
    ASSERT_TRUE(r);
    ASSERT_EQ(st.kind, TS_STATUS_ACTOR);
    const ts_actor_status &a = st.actor;
    EXPECT_EQ(a.addr, w);
    EXPECT_EQ(a.parent, TS_ADDR_NONE);
    EXPECT_EQ(a.state, TS_ACTOR_LIVE);
    EXPECT_STREQ(a.type_name, kWorker);
    EXPECT_EQ(a.type_name_len, std::strlen(kWorker));
    EXPECT_STREQ(a.global_name, "");
    EXPECT_EQ(a.global_name_len, 0u);
    EXPECT_EQ(std::vector<uint8_t>(a.image.b, a.image.b + 16), std::vector<uint8_t>(16, 0))
        << "a program's own type has no image";
    EXPECT_EQ(a.nchildren, 0u);
    EXPECT_EQ(a.children_total, 0u);
    EXPECT_EQ(a.handled, 5u); // the StatusRequest is not one of them
    EXPECT_EQ(a.restarts, 0u);
    EXPECT_EQ(a.timers, 0u);
    EXPECT_EQ(a.mailbox, 0u);

    // The handlers never saw it: the next Work counts 6.
    Msg six = Ask(w, kWork());
    uint64_t n = 0;
    ASSERT_TRUE(six && tst::As(six.get(), &n));
    EXPECT_EQ(n, 6u);
    Msg after_work = StatusOf(w, &st);
    ASSERT_TRUE(after_work);
    EXPECT_EQ(st.actor.handled, 6u);

    // A timer shows until it fires.
    Msg later = Ask(w, kLater());
    ASSERT_TRUE(later);
    EXPECT_EQ(later->type, kDone());
    Msg with_timer = StatusOf(w, &st);
    ASSERT_TRUE(with_timer);
    EXPECT_EQ(st.actor.timers, 1u);
    EXPECT_EQ(st.actor.handled, 7u);
}

TEST_P(StatusScenario, actor_status_lists_its_children_and_theirs_their_parent)
{
    ts_addr w = Create(kWorker);
    ASSERT_NE(w, TS_ADDR_NONE);
    Msg r = Ask(w, kSpawnTwo());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->type, kSpawnedTwo());
    ts_addr kids[2];
    ASSERT_TRUE(tst::As(r.get(), &kids));
    ts_status st;
    Msg parent_status = StatusOf(w, &st);
    ASSERT_TRUE(parent_status);
    ASSERT_EQ(st.actor.nchildren, 2u);
    EXPECT_EQ(st.actor.children_total, 2u);
    std::set<ts_addr> listed{ts_status_child_at(&st, 0), ts_status_child_at(&st, 1)};
    EXPECT_EQ(listed, (std::set<ts_addr>{kids[0], kids[1]}));
    EXPECT_EQ(ts_status_child_at(&st, 2), TS_ADDR_NONE);
    EXPECT_EQ(st.actor.handled, 1u);
    for (ts_addr k : kids) {
        ts_status ks;
        Msg kid_status = StatusOf(k, &ks);
        ASSERT_TRUE(kid_status);
        EXPECT_EQ(ks.actor.parent, w);
        EXPECT_EQ(ks.actor.nchildren, 0u);
        EXPECT_STREQ(ks.actor.type_name, kWorker);
        EXPECT_EQ(ts_addr_shard(k), ts_addr_shard(w)); // TS_PLACE_LOCAL
        EXPECT_EQ(ts_addr_node(k), ts_addr_node(w));
    }
}

TEST_P(StatusScenario, actor_status_counts_restarts_after_a_failing_handler)
{
    ts_addr w = Create(kWorker);
    ASSERT_NE(w, TS_ADDR_NONE);
    Msg r = Ask(w, kFail()); // fails twice: Poison back, restarted after each
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, TS_MSG_POISON);
    ts_status st;
    Msg failed_status = StatusOf(w, &st);
    ASSERT_TRUE(failed_status);
    EXPECT_EQ(st.actor.restarts, 2u);
    EXPECT_EQ(st.actor.handled, 1u); // redelivered, counted once
    EXPECT_EQ(st.actor.state, TS_ACTOR_LIVE);
}

// Messages queued behind the request, on the actor's own shard: the three
// Work the Driver sent after it.
TEST_P(StatusScenario, mailbox_counts_the_messages_waiting_behind_the_request)
{
    ts_addr d = Create(kDriver);
    ASSERT_NE(d, TS_ADDR_NONE);
    Tell(d, kBurst());
    ts_status st;
    Msg r = Forwarded(&st);
    ASSERT_TRUE(r);
    EXPECT_EQ(st.actor.mailbox, 3u);
    EXPECT_EQ(st.actor.handled, 0u);
    EXPECT_EQ(st.actor.parent, d);
    // Then they are handled: nothing waits any more.
    ts_addr w = st.actor.addr;
    Drain();
    ts_status after;
    Msg drained_status = StatusOf(w, &after);
    ASSERT_TRUE(drained_status);
    EXPECT_EQ(after.actor.mailbox, 0u);
    EXPECT_EQ(after.actor.handled, 3u);
}

// From outside, on the simple base, tells are queued until the caller
// runs the system: the request is taken with the three behind it. (On the
// other bases the shard may take the request before the tells after it
// arrive: at most three then.)
TEST_P(StatusScenario, mailbox_counts_a_callers_tells_behind_the_request)
{
    ts_addr w = Create(kWorker);
    ASSERT_NE(w, TS_ADDR_NONE);
    Msg r = Ask(w, kWork()); // it runs
    ASSERT_TRUE(r);
    Tell(w, TS_MSG_STATUS_REQUEST);
    for (int i = 0; i < 3; i++)
        Tell(w, kWork());
    ts_status st;
    Msg first;
    std::vector<Msg> done;
    for (int i = 0; i < 4; i++) {
        Msg m = Listen();
        ASSERT_TRUE(m);
        if (m->type == TS_MSG_STATUS)
            first = std::move(m);
        else
            done.push_back(std::move(m));
    }
    ASSERT_TRUE(first);
    ASSERT_EQ(ts_status_decode(first.get(), &st), 0);
    if (GetParam() == TS_BASE_SIMPLE) {
        EXPECT_EQ(st.actor.mailbox, 3u);
        EXPECT_EQ(st.actor.handled, 1u);
    } else {
        EXPECT_LE(st.actor.mailbox, 3u);
    }
}

TEST_P(StatusScenario, an_exiting_actor_says_so_with_the_children_it_waits_for)
{
    ts_addr d = Create(kDriver);
    ASSERT_NE(d, TS_ADDR_NONE);
    Tell(d, kExiting());
    ts_status st;
    Msg r = Forwarded(&st);
    ASSERT_TRUE(r);
    EXPECT_EQ(st.actor.state, TS_ACTOR_EXITING);
    EXPECT_EQ(st.actor.nchildren, 2u);
    EXPECT_EQ(st.actor.parent, d);
    EXPECT_NE(Rendered(r.get()).find("\"state\":\"exiting\""), std::string::npos);
}

TEST_P(StatusScenario, an_actor_asks_for_a_status_from_inside)
{
    ts_addr d = Create(kDriver);
    ts_addr w = Create(kWorker);
    ASSERT_NE(d, TS_ADDR_NONE);
    ASSERT_NE(w, TS_ADDR_NONE);
    Tell(d, kRelay(), &w, sizeof w);
    ts_status st;
    Msg relayed = Forwarded(&st);
    ASSERT_TRUE(relayed);
    EXPECT_EQ(st.kind, TS_STATUS_ACTOR);
    EXPECT_EQ(st.actor.addr, w);
    // And a node's, from inside.
    ts_addr node = ts_node_addr(Node());
    Tell(d, kRelay(), &node, sizeof node);
    Msg relayed_node = Forwarded(&st);
    ASSERT_TRUE(relayed_node);
    EXPECT_EQ(st.kind, TS_STATUS_NODE);
    EXPECT_EQ(st.node.node_id, Node());
}

TEST_P(StatusScenario, actor_status_shows_its_global_name)
{
    TS_ONE_NODE_ONLY("global names");
    ts_addr w = Create(kWorker, nullptr, 0, "status-test-named");
    ASSERT_NE(w, TS_ADDR_NONE);
    ts_status st;
    Msg named_status = StatusOf(w, &st);
    ASSERT_TRUE(named_status);
    EXPECT_STREQ(st.actor.global_name, "status-test-named");
    EXPECT_EQ(st.actor.global_name_len, std::strlen("status-test-named"));
}

TEST_P(StatusScenario, node_status_has_every_shard)
{
    std::vector<ts_addr> ws;
    for (int i = 0; i < 3; i++) {
        ws.push_back(Create(kWorker));
        ASSERT_NE(ws.back(), TS_ADDR_NONE);
        ASSERT_TRUE(Ask(ws.back(), kWork())); // started, and one message handled
    }
    ts_status st;
    Msg r = StatusOf(ts_node_addr(Node()), &st);
    ASSERT_TRUE(r);
    ASSERT_EQ(st.kind, TS_STATUS_NODE);
    const ts_status_node &n = st.node;
    EXPECT_EQ(n.node_id, Node());
    EXPECT_EQ(n.base, TwoNodes() ? TS_BASE_PINNED : GetParam());
    EXPECT_EQ(n.shard, 0u);
    EXPECT_EQ(n.nshards, Shards());
    if (GetParam() == TS_BASE_MULTIPROC) {
        EXPECT_GT(n.name_len, 0u); // its private node's name
        EXPECT_NE(n.pid, getpid());  // the admin
    } else {
        EXPECT_STREQ(n.name, "");
        EXPECT_EQ(n.pid, getpid());
    }
    uint64_t actors = 0, handled = 0;
    for (uint32_t i = 0; i < n.nshards; i++) {
        ts_status_shard s;
        ASSERT_EQ(ts_status_shard_at(&st, i, &s), 0);
        EXPECT_EQ(s.id, i);
        if (GetParam() == TS_BASE_SIMPLE) {
            EXPECT_EQ(s.core, -1);
        } else {
            EXPECT_GE(s.core, 0);
        }
        if (GetParam() == TS_BASE_MULTIPROC) {
            EXPECT_NE(s.pid, getpid()); // a shard process
            EXPECT_NE(s.pid, n.pid);
        } else {
            EXPECT_EQ(s.pid, getpid());
        }
        EXPECT_EQ(s.process_restarts, 0u);
        EXPECT_EQ(s.restarts, 0u);
        actors += s.actors;
        handled += s.handled;
    }
    ts_status_shard none;
    EXPECT_EQ(ts_status_shard_at(&st, n.nshards, &none), -EINVAL);
    EXPECT_EQ(n.actors, actors);
    if (!TwoNodes()) {
        EXPECT_EQ(n.actors, 3u);
        EXPECT_GE(handled, 3u);
        EXPECT_EQ(n.nlinks, 0u);
    } else {
        // Its link to node 2, from every shard (each has its own).
        bool to2 = false;
        for (uint32_t i = 0; i < n.nlinks; i++) {
            ts_status_link l;
            ASSERT_EQ(ts_status_link_at(&st, i, &l), 0);
            EXPECT_LT(l.shard, n.nshards);
            to2 |= l.node == 2;
        }
        EXPECT_TRUE(to2) << n.nlinks << " links";
        // Node 2's own, asked across the link.
        ts_status other;
        Msg node2_status = StatusOf(ts_node_addr(2), &other);
        ASSERT_TRUE(node2_status);
        EXPECT_EQ(other.kind, TS_STATUS_NODE);
        EXPECT_EQ(other.node.node_id, 2);
        EXPECT_EQ(n.actors + other.node.actors, 3u);
    }
}

TEST_P(StatusScenario, a_request_to_an_address_that_is_gone_is_a_dead_letter)
{
    ts_addr w = Create(kWorker);
    ASSERT_NE(w, TS_ADDR_NONE);
    ASSERT_TRUE(Ask(w, kWork()));
    Tell(w, TS_MSG_EXIT_REQUEST);
    Drain();
    ts_system_stats before = Stats();
    Tell(w, TS_MSG_STATUS_REQUEST);
    Drain();
    EXPECT_EQ(Stats().dead_letters, before.dead_letters + 1);
    ts_msg *m = nullptr;
    EXPECT_EQ(ts_listen(sys(), 100 * tst::kMs, &m), -ETIMEDOUT) << "nothing answers";
    ts_msg_free(m);

    // A node that is not there: a dead letter too.
    Tell(ts_node_addr(77), TS_MSG_STATUS_REQUEST);
    Drain();
    EXPECT_EQ(Stats().dead_letters, before.dead_letters + 2);
    EXPECT_EQ(ts_listen(sys(), 100 * tst::kMs, &m), -ETIMEDOUT);
    ts_msg_free(m);

    // A node's address takes a StatusRequest and nothing else.
    EXPECT_EQ(ts_tell(sys(), ts_node_addr(Node()), kWork(), nullptr, 0), -EINVAL);
    ts_addr gen0 = ts_addr_make(Node(), 0, 5, 0);
    EXPECT_EQ(ts_tell(sys(), gen0, TS_MSG_STATUS_REQUEST, nullptr, 0), -EINVAL);
}

// The JSON of both kinds: every key of the documented schema, in its order,
// each of its type (docs/protocol.md#status-as-json).
TEST_P(StatusScenario, json_has_every_key_of_the_schema)
{
    using K = Json::Kind;
    ts_addr w = Create(kWorker);
    ASSERT_NE(w, TS_ADDR_NONE);
    Msg kids = Ask(w, kSpawnTwo());
    ASSERT_TRUE(kids);
    ts_status st;
    Msg a = StatusOf(w, &st);
    ASSERT_TRUE(a);
    std::string text = Rendered(a.get());
    Json j;
    ASSERT_TRUE(JsonReader(text).Read(&j)) << text;
    ExpectShape(j,
                {{"kind", {K::kStr}},
                 {"addr", {K::kStr}},
                 {"parent", {K::kNull, K::kStr}},
                 {"state", {K::kStr}},
                 {"type", {K::kStr}},
                 {"global_name", {K::kNull, K::kStr}},
                 {"image", {K::kNull, K::kStr}},
                 {"mailbox", {K::kNum}},
                 {"handled", {K::kNum}},
                 {"restarts", {K::kNum}},
                 {"timers", {K::kNum}},
                 {"children_total", {K::kNum}},
                 {"children", {K::kArr}}},
                "actor");
    if (HasFatalFailure())
        return;
    EXPECT_EQ(j.Get("kind")->text, "actor");
    EXPECT_EQ(j.Get("addr")->text, tst::AddrStr(w));
    ts_addr parsed = TS_ADDR_NONE;
    EXPECT_EQ(ts_addr_parse(j.Get("addr")->text.c_str(), &parsed), 0);
    EXPECT_EQ(parsed, w);
    EXPECT_EQ(j.Get("parent")->kind, K::kNull);
    EXPECT_EQ(j.Get("state")->text, "live");
    EXPECT_EQ(j.Get("type")->text, kWorker);
    EXPECT_EQ(j.Get("image")->kind, K::kNull);
    EXPECT_EQ(j.Get("handled")->text, "1");
    EXPECT_EQ(j.Get("children_total")->text, "2");
    ASSERT_EQ(j.Get("children")->items.size(), 2u);
    for (const Json &c : j.Get("children")->items) {
        EXPECT_EQ(c.kind, K::kStr);
        ts_addr ca;
        EXPECT_EQ(ts_addr_parse(c.text.c_str(), &ca), 0) << c.text;
    }

    Msg n = StatusOf(ts_node_addr(Node()), &st);
    ASSERT_TRUE(n);
    text = Rendered(n.get());
    Json nj;
    ASSERT_TRUE(JsonReader(text).Read(&nj)) << text;
    ExpectShape(nj,
                {{"kind", {K::kStr}},
                 {"node_id", {K::kNum}},
                 {"name", {K::kNull, K::kStr}},
                 {"base", {K::kStr}},
                 {"pid", {K::kNum}},
                 {"shard", {K::kNum}},
                 {"actors", {K::kNum}},
                 {"dead_letters", {K::kNum}},
                 {"caps", {K::kStr}},
                 {"shards", {K::kArr}},
                 {"links", {K::kArr}}},
                "node");
    if (HasFatalFailure())
        return;
    EXPECT_EQ(nj.Get("kind")->text, "node");
    EXPECT_EQ(nj.Get("node_id")->text, std::to_string(Node()));
    EXPECT_EQ(nj.Get("base")->text, ts_base_name(TwoNodes() ? TS_BASE_PINNED : GetParam()));
    const Json &shards = *nj.Get("shards");
    ASSERT_EQ(shards.items.size(), Shards());
    for (size_t i = 0; i < shards.items.size(); i++) {
        std::vector<std::pair<std::string, std::vector<K>>> keys = {
            {"id", {K::kNum}},       {"core", {K::kNum}},     {"pid", {K::kNum}},
            {"process_restarts", {K::kNum}},
            {"actors", {K::kNum}},   {"created", {K::kNum}},  {"exited", {K::kNum}},
            {"handled", {K::kNum}},  {"sent", {K::kNum}},     {"restarts", {K::kNum}},
            {"poisoned", {K::kNum}}, {"dead_letters", {K::kNum}}, {"timers", {K::kNum}},
            {"pending", {K::kNum}},  {"overflow_hwm", {K::kNum}}};
        ExpectShape(shards.items[i], keys, "shards[" + std::to_string(i) + "]");
        EXPECT_EQ(shards.items[i].Get("id")->text, std::to_string(i));
    }
    const Json &links = *nj.Get("links");
    EXPECT_EQ(links.items.empty(), !TwoNodes());
    for (size_t i = 0; i < links.items.size(); i++) {
        ExpectShape(links.items[i],
                    {{"shard", {K::kNum}},      {"node", {K::kNum}},
                     {"up", {K::kBool}},        {"frames_in", {K::kNum}},
                     {"frames_out", {K::kNum}}, {"bytes_in", {K::kNum}},
                     {"bytes_out", {K::kNum}},  {"retransmits", {K::kNum}},
                     {"reconnects", {K::kNum}}, {"malformed", {K::kNum}},
                     {"queued_bytes", {K::kNum}}},
                    "links[" + std::to_string(i) + "]");
    }
}

TS_INSTANTIATE_BASES(StatusScenario);

} // namespace
