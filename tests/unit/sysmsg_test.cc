// Unit tests: system message payloads, built by the engine, read by the
// public decoders; malformed payloads are refused, never read past.
#include <cerrno>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/sysmsg.h>

extern "C" {
#include "sysmsg_wire.h"
}

namespace {
// A message in 8-aligned storage: envelope then payload.
struct Msg {
    std::vector<uint64_t> store;
    explicit Msg(uint64_t type, size_t len) : store(4 + (len + 7) / 8 + 1)
    {
        m()->type = type;
        m()->len = (uint32_t)len;
    }
    ts_msg *m() { return reinterpret_cast<ts_msg *>(store.data()); }
    unsigned char *data() { return reinterpret_cast<unsigned char *>(m() + 1); }
};

Msg original(const char *payload)
{
    Msg o(ts_type_id("unit.Orig"), strlen(payload));
    o.m()->dst = ts_addr_make(1, 0, 9, 2);
    o.m()->src = ts_addr_make(1, 0, 4, 1);
    memcpy(o.data(), payload, strlen(payload));
    return o;
}
} // namespace

TEST(Sysmsg, ChildExitedRoundTrips)
{
    Msg m(TS_MSG_CHILD_EXITED, CHILD_EXITED_SIZE);
    child_exited_write(m.data(), ts_addr_make(2, 1, 3, 4), -EIO);
    ts_child_exited ce;
    ASSERT_EQ(ts_child_exited_decode(m.m(), &ce), 0);
    EXPECT_EQ(ce.child, ts_addr_make(2, 1, 3, 4));
    EXPECT_EQ(ce.status, -EIO);
    m.m()->len = 15;
    EXPECT_EQ(ts_child_exited_decode(m.m(), &ce), -EBADMSG);
}

TEST(Sysmsg, PoisonRoundTrips)
{
    Msg o = original("hello");
    const char *why = "the handler failed twice";
    Msg p(TS_MSG_POISON, poison_size(o.m()->len, strlen(why)));
    poison_write(p.data(), o.m(), -EIO, why);
    ts_poison ps;
    ASSERT_EQ(ts_poison_decode(p.m(), &ps), 0);
    EXPECT_EQ(ps.original_dst, o.m()->dst);
    EXPECT_EQ(ps.original_type, ts_type_id("unit.Orig"));
    EXPECT_EQ(ps.reason, -EIO);
    ASSERT_EQ(ps.original_len, 5u);
    EXPECT_EQ(memcmp(ps.original, "hello", 5), 0);
    EXPECT_STREQ(ps.reason_text, why);
    EXPECT_EQ(ps.reason_text_len, strlen(why));
}

TEST(Sysmsg, MalformedPoisonIsRefused)
{
    Msg o = original("hello");
    Msg p(TS_MSG_POISON, poison_size(5, 3));
    poison_write(p.data(), o.m(), -EIO, "why");
    ts_poison ps;
    p.m()->len -= 1; // truncated
    EXPECT_EQ(ts_poison_decode(p.m(), &ps), -EBADMSG);
    p.m()->len += 1;
    p.data()[20] = 200; // original length beyond the payload
    EXPECT_EQ(ts_poison_decode(p.m(), &ps), -EBADMSG);
    p.data()[20] = 5;
    p.data()[p.m()->len - 1] = 'x'; // reason text not terminated
    EXPECT_EQ(ts_poison_decode(p.m(), &ps), -EBADMSG);
    p.m()->len = 31; // shorter than the header
    EXPECT_EQ(ts_poison_decode(p.m(), &ps), -EBADMSG);
}

TEST(Sysmsg, DeadLetterRoundTripsAndRefusesBadLengths)
{
    Msg o = original("payload!");
    Msg d(TS_MSG_DEAD_LETTER, DEAD_LETTER_HDR + o.m()->len);
    dead_letter_write(d.data(), o.m());
    ts_dead_letter dl;
    ASSERT_EQ(ts_dead_letter_decode(d.m(), &dl), 0);
    EXPECT_EQ(dl.dst, o.m()->dst);
    EXPECT_EQ(dl.src, o.m()->src);
    EXPECT_EQ(dl.type, o.m()->type);
    ASSERT_EQ(dl.original_len, 8u);
    EXPECT_EQ(memcmp(dl.original, "payload!", 8), 0);
    d.m()->len -= 1;
    EXPECT_EQ(ts_dead_letter_decode(d.m(), &dl), -EBADMSG);
}

TEST(Sysmsg, WrongTypeOrNullIsEinval)
{
    Msg m(ts_type_id("unit.Other"), 16);
    ts_child_exited ce;
    ts_poison ps;
    ts_dead_letter dl;
    EXPECT_EQ(ts_child_exited_decode(m.m(), &ce), -EINVAL);
    EXPECT_EQ(ts_poison_decode(m.m(), &ps), -EINVAL);
    EXPECT_EQ(ts_dead_letter_decode(m.m(), &dl), -EINVAL);
    EXPECT_EQ(ts_poison_decode(nullptr, &ps), -EINVAL);
    EXPECT_EQ(ts_poison_decode(m.m(), nullptr), -EINVAL);
}

TEST(Sysmsg, ConventionUpdateRoundTrips)
{
    EXPECT_EQ(TS_MSG_CONVENTION_UPDATE, ts_type_id("ts.ConventionUpdate"));
    EXPECT_STREQ(ts_sysmsg_name(TS_MSG_CONVENTION_UPDATE), "ts.ConventionUpdate");
    const char *name = "member-2", *caps = "gpu=true,region=eu";
    Msg u(TS_MSG_CONVENTION_UPDATE, conv_update_size(strlen(name), strlen(caps)));
    conv_update_write(u.data(), 2, TS_CONV_CAPS, name, caps);
    ts_convention_update cu{};
    ASSERT_EQ(ts_convention_update_decode(u.m(), &cu), 0);
    EXPECT_EQ(cu.node, 2);
    EXPECT_EQ(cu.event, TS_CONV_CAPS);
    EXPECT_STREQ(cu.name, name);
    EXPECT_EQ(cu.name_len, strlen(name));
    EXPECT_STREQ(cu.caps, caps);
    EXPECT_EQ(cu.caps_len, strlen(caps));

    Msg empty(TS_MSG_CONVENTION_UPDATE, conv_update_size(0, 0));
    conv_update_write(empty.data(), 7, TS_CONV_LEFT, "", "");
    ASSERT_EQ(ts_convention_update_decode(empty.m(), &cu), 0);
    EXPECT_EQ(cu.event, TS_CONV_LEFT);
    EXPECT_STREQ(cu.caps, "");
}

TEST(Sysmsg, MalformedConventionUpdateIsRefused)
{
    const char *name = "n", *caps = "k=v";
    size_t size = conv_update_size(strlen(name), strlen(caps));
    auto good = [&](Msg &u) { conv_update_write(u.data(), 1, TS_CONV_JOINED, name, caps); };
    ts_convention_update cu;
    for (size_t len = 0; len < size; len++) { // every truncation
        Msg u(TS_MSG_CONVENTION_UPDATE, size);
        good(u);
        u.m()->len = (uint32_t)len;
        EXPECT_EQ(ts_convention_update_decode(u.m(), &cu), -EBADMSG) << len;
    }
    for (unsigned char ev : {0, 4, 255}) { // an event that is none
        Msg u(TS_MSG_CONVENTION_UPDATE, size);
        good(u);
        u.data()[2] = ev;
        EXPECT_EQ(ts_convention_update_decode(u.m(), &cu), -EBADMSG) << unsigned(ev);
    }
    Msg z(TS_MSG_CONVENTION_UPDATE, size); // the reserved byte
    good(z);
    z.data()[3] = 1;
    EXPECT_EQ(ts_convention_update_decode(z.m(), &cu), -EBADMSG);
    Msg nul(TS_MSG_CONVENTION_UPDATE, size); // a NUL inside the name, none at its end
    good(nul);
    nul.data()[CONV_UPDATE_HDR + 1] = 'x';
    EXPECT_EQ(ts_convention_update_decode(nul.m(), &cu), -EBADMSG);
    Msg other(TS_MSG_POISON, size);
    EXPECT_EQ(ts_convention_update_decode(other.m(), &cu), -EINVAL);
    EXPECT_EQ(ts_convention_update_decode(nullptr, &cu), -EINVAL);
}

// ---- Status (docs/protocol.md#status) -------------------------------------

namespace {
ts_actor_status SampleActor(const char *type, const char *name, uint32_t nchildren)
{
    ts_actor_status s{};
    s.addr = ts_addr_make(3, 1, 77, 2);
    s.parent = ts_addr_make(3, 0, 5, 1);
    s.state = TS_ACTOR_LIVE;
    for (unsigned i = 0; i < 16; i++)
        s.image.b[i] = static_cast<uint8_t>(i == 0 ? 0xab : i);
    s.type_name = type;
    s.type_name_len = strlen(type);
    s.global_name = name;
    s.global_name_len = strlen(name);
    s.nchildren = nchildren;
    s.children_total = nchildren + 1;
    s.timers = 4;
    s.mailbox = 5;
    s.handled = 6;
    s.restarts = 7;
    return s;
}

Msg ActorStatus(const ts_actor_status &s)
{
    Msg m(TS_MSG_STATUS, status_actor_size(s.nchildren, s.type_name_len, s.global_name_len));
    status_actor_write(m.data(), &s);
    for (uint32_t i = 0; i < s.nchildren; i++)
        status_child_put(m.data(), i, ts_addr_make(3, 1, 100 + i, 1));
    return m;
}

ts_status_shard SampleShard(uint32_t id)
{
    ts_status_shard s{};
    s.id = id;
    s.core = id == 0 ? -1 : 6;
    s.pid = 4242;
    s.process_restarts = 1;
    uint64_t *v[] = {&s.actors, &s.created, &s.exited,       &s.handled, &s.sent,  &s.restarts,
                     &s.poisoned, &s.dead_letters, &s.timers, &s.pending, &s.overflow_hwm};
    for (unsigned k = 0; k < sizeof v / sizeof v[0]; k++)
        *v[k] = 1000 * (id + 1) + k;
    return s;
}

ts_status_link SampleLink(uint32_t shard)
{
    ts_status_link l{};
    l.shard = shard;
    l.node = 9;
    l.up = 1;
    l.frames_in = 11, l.frames_out = 12, l.bytes_in = 13, l.bytes_out = 14;
    l.retransmits = 15, l.reconnects = 16, l.malformed = 17, l.queued_bytes = 18;
    return l;
}

Msg NodeStatus(uint32_t nshards, uint32_t nlinks, const char *name, const char *caps)
{
    ts_status_node n{};
    n.node_id = 3;
    n.base = TS_BASE_MULTIPROC;
    n.shard = 1;
    n.pid = 99;
    n.nshards = nshards;
    n.nlinks = nlinks;
    n.actors = 21;
    n.dead_letters = 22;
    n.name = name;
    n.name_len = strlen(name);
    n.caps = caps;
    n.caps_len = strlen(caps);
    Msg m(TS_MSG_STATUS, status_node_size(nshards, nlinks, n.name_len, n.caps_len));
    status_node_write(m.data(), &n);
    for (uint32_t i = 0; i < nshards; i++) {
        ts_status_shard s = SampleShard(i);
        status_shard_put(m.data(), i, &s);
    }
    for (uint32_t i = 0; i < nlinks; i++) {
        ts_status_link l = SampleLink(i);
        status_link_put(m.data(), nshards, i, &l);
    }
    return m;
}

std::string Json(const ts_msg *m)
{
    int n = ts_status_json(m, nullptr, 0);
    if (n < 0)
        return "error " + std::to_string(n);
    std::string s(static_cast<size_t>(n) + 1, '\0');
    EXPECT_EQ(ts_status_json(m, &s[0], s.size()), n);
    s.resize(static_cast<size_t>(n));
    return s;
}
} // namespace

TEST(SysmsgStatus, ActorRoundTrips)
{
    ts_actor_status in = SampleActor("unit.Worker", "the-worker", 3);
    Msg m = ActorStatus(in);
    ts_status st;
    ASSERT_EQ(ts_status_decode(m.m(), &st), 0);
    ASSERT_EQ(st.kind, TS_STATUS_ACTOR);
    const ts_actor_status &a = st.actor;
    EXPECT_EQ(a.addr, in.addr);
    EXPECT_EQ(a.parent, in.parent);
    EXPECT_EQ(a.state, TS_ACTOR_LIVE);
    EXPECT_EQ(memcmp(a.image.b, in.image.b, 16), 0);
    EXPECT_STREQ(a.type_name, "unit.Worker");
    EXPECT_EQ(a.type_name_len, 11u);
    EXPECT_STREQ(a.global_name, "the-worker");
    EXPECT_EQ(a.global_name_len, 10u);
    EXPECT_EQ(a.nchildren, 3u);
    EXPECT_EQ(a.children_total, 4u);
    EXPECT_EQ(a.timers, 4u);
    EXPECT_EQ(a.mailbox, 5u);
    EXPECT_EQ(a.handled, 6u);
    EXPECT_EQ(a.restarts, 7u);
    for (uint32_t i = 0; i < 3; i++)
        EXPECT_EQ(ts_status_child_at(&st, i), ts_addr_make(3, 1, 100 + i, 1));
    EXPECT_EQ(ts_status_child_at(&st, 3), TS_ADDR_NONE);
    ts_status_shard sh;
    EXPECT_EQ(ts_status_shard_at(&st, 0, &sh), -EINVAL); // not a node's
}

TEST(SysmsgStatus, NodeRoundTrips)
{
    Msg m = NodeStatus(2, 3, "n3", "gpu=true");
    ts_status st;
    ASSERT_EQ(ts_status_decode(m.m(), &st), 0);
    ASSERT_EQ(st.kind, TS_STATUS_NODE);
    EXPECT_EQ(st.node.node_id, 3);
    EXPECT_EQ(st.node.base, TS_BASE_MULTIPROC);
    EXPECT_EQ(st.node.shard, 1u);
    EXPECT_EQ(st.node.pid, 99);
    EXPECT_EQ(st.node.nshards, 2u);
    EXPECT_EQ(st.node.nlinks, 3u);
    EXPECT_EQ(st.node.actors, 21u);
    EXPECT_EQ(st.node.dead_letters, 22u);
    EXPECT_STREQ(st.node.name, "n3");
    EXPECT_STREQ(st.node.caps, "gpu=true");
    for (uint32_t i = 0; i < 2; i++) {
        ts_status_shard got, want = SampleShard(i);
        ASSERT_EQ(ts_status_shard_at(&st, i, &got), 0);
        EXPECT_EQ(memcmp(&got, &want, sizeof got), 0) << i;
    }
    for (uint32_t i = 0; i < 3; i++) {
        ts_status_link got, want = SampleLink(i);
        ASSERT_EQ(ts_status_link_at(&st, i, &got), 0);
        EXPECT_EQ(memcmp(&got, &want, sizeof got), 0) << i;
    }
    ts_status_shard sh;
    ts_status_link ln;
    EXPECT_EQ(ts_status_shard_at(&st, 2, &sh), -EINVAL);
    EXPECT_EQ(ts_status_link_at(&st, 3, &ln), -EINVAL);
    EXPECT_EQ(ts_status_child_at(&st, 0), TS_ADDR_NONE); // not an actor's
}

TEST(SysmsgStatus, MalformedIsRefused)
{
    Msg a = ActorStatus(SampleActor("t", "", 2));
    Msg n = NodeStatus(1, 1, "", "");
    ts_status st;
    for (Msg *m : {&a, &n}) {
        uint32_t size = m->m()->len;
        for (uint32_t len = 0; len < size; len++) { // every truncation
            m->m()->len = len;
            EXPECT_EQ(ts_status_decode(m->m(), &st), -EBADMSG) << len;
        }
        m->m()->len = size;
        ASSERT_EQ(ts_status_decode(m->m(), &st), 0);
        for (unsigned char kind : {0, 3, 255}) {
            unsigned char was = m->data()[0];
            m->data()[0] = kind;
            EXPECT_EQ(ts_status_decode(m->m(), &st), -EBADMSG) << unsigned(kind);
            m->data()[0] = was;
        }
        m->data()[size - 1] = 'x'; // the last text not terminated
        EXPECT_EQ(ts_status_decode(m->m(), &st), -EBADMSG);
        m->data()[size - 1] = 0;
        m->data()[2] = 72; // a header length that does not add up (the actor's: too short)
        EXPECT_EQ(ts_status_decode(m->m(), &st), -EBADMSG);
    }
    a.data()[2] = STATUS_ACTOR_HDR;
    a.data()[1] = 3; // a state that is none
    EXPECT_EQ(ts_status_decode(a.m(), &st), -EBADMSG);
    a.data()[1] = TS_ACTOR_LIVE;
    a.data()[64] = 1; // fewer children in all than listed
    EXPECT_EQ(ts_status_decode(a.m(), &st), -EBADMSG);
    a.data()[64] = 3;
    a.data()[4] = 200; // more children listed than the payload holds
    EXPECT_EQ(ts_status_decode(a.m(), &st), -EBADMSG);
    n.data()[2] = STATUS_NODE_HDR;
    n.data()[12] = 96; // a shard record shorter than this version's
    EXPECT_EQ(ts_status_decode(n.m(), &st), -EBADMSG);
    n.data()[12] = STATUS_SHARD_REC;
    n.data()[1] = 7; // a base that is none
    EXPECT_EQ(ts_status_decode(n.m(), &st), -EBADMSG);

    Msg other(TS_MSG_POISON, 16);
    EXPECT_EQ(ts_status_decode(other.m(), &st), -EINVAL);
    EXPECT_EQ(ts_status_decode(nullptr, &st), -EINVAL);
    EXPECT_EQ(ts_status_decode(a.m(), nullptr), -EINVAL);
    char buf[8];
    EXPECT_EQ(ts_status_json(other.m(), buf, sizeof buf), -EINVAL);
    EXPECT_EQ(ts_status_json(nullptr, buf, sizeof buf), -EINVAL);
    EXPECT_EQ(ts_status_json(a.m(), nullptr, 8), -EINVAL);
    a.data()[4] = 2;
    a.data()[1] = 0;
    EXPECT_EQ(ts_status_json(a.m(), buf, sizeof buf), -EBADMSG);
}

// A later version's longer header and records (their lengths are in the
// payload) are read by this one, which skips what it does not know.
TEST(SysmsgStatus, LongerHeadersAndRecordsAreSkipped)
{
    Msg a = ActorStatus(SampleActor("unit.T", "g", 1));
    std::vector<unsigned char> p(a.data(), a.data() + a.m()->len);
    p.insert(p.begin() + STATUS_ACTOR_HDR, 16, 0xee); // 16 more header bytes
    p[2] = STATUS_ACTOR_HDR + 16;
    Msg wide(TS_MSG_STATUS, p.size());
    memcpy(wide.data(), p.data(), p.size());
    ts_status st;
    ASSERT_EQ(ts_status_decode(wide.m(), &st), 0);
    EXPECT_STREQ(st.actor.type_name, "unit.T");
    EXPECT_EQ(ts_status_child_at(&st, 0), ts_addr_make(3, 1, 100, 1));

    // A node's with shard records 8 bytes longer.
    Msg n = NodeStatus(2, 0, "x", "");
    std::vector<unsigned char> q(n.data(), n.data() + STATUS_NODE_HDR);
    for (uint32_t i = 0; i < 2; i++) {
        const unsigned char *r = n.data() + STATUS_NODE_HDR + STATUS_SHARD_REC * i;
        q.insert(q.end(), r, r + STATUS_SHARD_REC);
        q.insert(q.end(), 8, 0xee);
    }
    q.insert(q.end(), n.data() + STATUS_NODE_HDR + 2 * STATUS_SHARD_REC, n.data() + n.m()->len);
    q[12] = STATUS_SHARD_REC + 8;
    Msg wn(TS_MSG_STATUS, q.size());
    memcpy(wn.data(), q.data(), q.size());
    ASSERT_EQ(ts_status_decode(wn.m(), &st), 0);
    ts_status_shard got, want = SampleShard(1);
    ASSERT_EQ(ts_status_shard_at(&st, 1, &got), 0);
    EXPECT_EQ(memcmp(&got, &want, sizeof got), 0);
    EXPECT_STREQ(st.node.name, "x");
}

TEST(SysmsgStatus, ActorJson)
{
    ts_actor_status s = SampleActor("unit.\"Q\"\\", "", 2);
    s.parent = TS_ADDR_NONE;
    Msg m = ActorStatus(s);
    EXPECT_EQ(Json(m.m()),
              "{\"kind\":\"actor\",\"addr\":\"3.1.77.2\",\"parent\":null,\"state\":\"live\","
              "\"type\":\"unit.\\\"Q\\\"\\\\\",\"global_name\":null,"
              "\"image\":\"ab0102030405060708090a0b0c0d0e0f\",\"mailbox\":5,\"handled\":6,"
              "\"restarts\":7,\"timers\":4,\"children_total\":3,"
              "\"children\":[\"3.1.100.1\",\"3.1.101.1\"]}");
}

TEST(SysmsgStatus, NodeJson)
{
    Msg m = NodeStatus(1, 1, "n3", "k=v");
    EXPECT_EQ(Json(m.m()),
              "{\"kind\":\"node\",\"node_id\":3,\"name\":\"n3\",\"base\":\"multiproc\","
              "\"pid\":99,\"shard\":1,\"actors\":21,\"dead_letters\":22,\"caps\":\"k=v\","
              "\"shards\":[{\"id\":0,\"core\":-1,\"pid\":4242,\"process_restarts\":1,"
              "\"actors\":1000,\"created\":1001,\"exited\":1002,\"handled\":1003,\"sent\":1004,"
              "\"restarts\":1005,\"poisoned\":1006,\"dead_letters\":1007,\"timers\":1008,"
              "\"pending\":1009,\"overflow_hwm\":1010}],"
              "\"links\":[{\"shard\":0,\"node\":9,\"up\":true,\"frames_in\":11,\"frames_out\":12,"
              "\"bytes_in\":13,\"bytes_out\":14,\"retransmits\":15,\"reconnects\":16,"
              "\"malformed\":17,\"queued_bytes\":18}]}");
    Msg none = NodeStatus(0, 0, "", "");
    EXPECT_EQ(Json(none.m()),
              "{\"kind\":\"node\",\"node_id\":3,\"name\":null,\"base\":\"multiproc\",\"pid\":99,"
              "\"shard\":1,\"actors\":21,\"dead_letters\":22,\"caps\":\"\",\"shards\":[],"
              "\"links\":[]}");
}

// Cut to the buffer like snprintf: always terminated, the whole length
// returned, every prefix the same text.
TEST(SysmsgStatus, JsonIsCutToTheBuffer)
{
    Msg m = NodeStatus(2, 2, "node", "a=b");
    std::string whole = Json(m.m());
    ASSERT_GT(whole.size(), 100u);
    for (size_t len = 1; len <= whole.size() + 1; len++) {
        std::vector<char> buf(len, '#');
        ASSERT_EQ(ts_status_json(m.m(), buf.data(), len), static_cast<int>(whole.size()));
        EXPECT_EQ(std::string(buf.data()), whole.substr(0, len - 1)) << len;
    }
    EXPECT_EQ(ts_status_json(m.m(), nullptr, 0), static_cast<int>(whole.size()));
}

TEST(SysmsgStatus, NamesAndNodeAddress)
{
    EXPECT_STREQ(ts_sysmsg_name(TS_MSG_STATUS_REQUEST), "ts.StatusRequest");
    EXPECT_STREQ(ts_sysmsg_name(TS_MSG_STATUS), "ts.Status");
    ts_addr n = ts_node_addr(7);
    EXPECT_EQ(ts_addr_node(n), 7);
    EXPECT_EQ(ts_addr_shard(n), 0);
    EXPECT_EQ(ts_addr_slot(n), TS_ADDR_MAX_SLOT);
    EXPECT_EQ(ts_addr_gen(n), 0);
}
