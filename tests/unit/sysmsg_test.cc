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
