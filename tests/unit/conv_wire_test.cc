// Unit tests: the convention's control messages and handshake
// (placement/conv_wire.h). Each message's layout is rebuilt here byte by
// byte from docs/protocol.md and compared with the codec's; a leader and a
// member session run the handshake in memory and exchange frames; and every
// way a frame can be wrong (another key, replayed, reflected, reordered,
// tampered, truncated, over a limit) is refused without moving the session.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sodium.h>

#include <thespis/thespis.h>

extern "C" {
#include "conv_wire.h"
}

namespace {

using Bytes = std::vector<uint8_t>;

// ---- building bodies by hand, as docs/protocol.md lays them out -----------

struct W {
    Bytes b;
    W &u8(uint8_t v) { b.push_back(v); return *this; }
    W &u16(uint16_t v) { return u8(uint8_t(v)).u8(uint8_t(v >> 8)); }
    W &u32(uint32_t v) { return u16(uint16_t(v)).u16(uint16_t(v >> 16)); }
    W &u64(uint64_t v) { return u32(uint32_t(v)).u32(uint32_t(v >> 32)); }
    W &raw(const void *p, size_t n)
    {
        auto *c = static_cast<const uint8_t *>(p);
        b.insert(b.end(), c, c + n);
        return *this;
    }
    W &str(const std::string &s) { return u16(uint16_t(s.size())).raw(s.data(), s.size()); }
};

void NodeBody(W &w, const conv_node &n)
{
    w.u16(n.node).u64(n.instance).str(n.name).str(n.caps).str(n.endpoints).u16(n.nimages);
    w.raw(n.images, size_t(n.nimages) * CONV_IMAGE_HASH);
}

// The body of m, written from the documented layout (not by the codec).
Bytes BodyOf(const conv_msg &m)
{
    W w;
    switch (m.type) {
    case CONV_HELLO: w.raw(m.u.hello.nonce, CONV_NONCE); break;
    case CONV_JOIN: w.raw(m.u.join.nonce, CONV_NONCE); NodeBody(w, m.u.join.node); break;
    case CONV_WELCOME:
        w.u16(m.u.welcome.node).u64(m.u.welcome.leader_instance).u32(m.u.welcome.heartbeat_ms);
        w.u16(m.u.welcome.nmembers);
        break;
    case CONV_REFUSE: w.str(m.u.refuse.reason); break;
    case CONV_MEMBER: w.u8(m.u.member.event); NodeBody(w, m.u.member.node); break;
    case CONV_CAPS: w.str(m.u.caps.caps); break;
    case CONV_HEARTBEAT: w.u64(m.u.heartbeat.sent_ns); break;
    case CONV_LOG: w.u8(m.u.log.level).str(m.u.log.id).str(m.u.log.text); break;
    case CONV_NAME_CLAIM:
        w.u32(m.u.name_claim.req).u64(m.u.name_claim.addr).str(m.u.name_claim.name);
        break;
    case CONV_NAME_REPLY:
        w.u32(m.u.name_reply.req).u64(m.u.name_reply.holder).u32(uint32_t(m.u.name_reply.rc));
        break;
    case CONV_NAME_RELEASE: w.u64(m.u.name_release.addr).str(m.u.name_release.name); break;
    default: break;
    }
    return w.b;
}

// ---- sample messages, every field set -------------------------------------

conv_msg Zero(conv_type t)
{
    conv_msg m;
    std::memset(&m, 0, sizeof(m));
    m.type = t;
    return m;
}

conv_node SampleNode(int k)
{
    conv_node n;
    std::memset(&n, 0, sizeof(n));
    n.node = uint16_t(0x1234 + k);
    n.instance = 0x0102030405060708ull + uint64_t(k);
    std::snprintf(n.name, sizeof(n.name), "node-%d", k);
    std::snprintf(n.caps, sizeof(n.caps), "gpu=true,cores=%d,region=eu", 8 + k);
    std::snprintf(n.endpoints, sizeof(n.endpoints), "tcp://192.0.2.%d:7100", 2 + k);
    n.nimages = 3;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < int(CONV_IMAGE_HASH); j++)
            n.images[i][j] = uint8_t(i * 16 + j + k);
    return n;
}

conv_msg Sample(conv_type t)
{
    conv_msg m = Zero(t);
    switch (t) {
    case CONV_HELLO: for (unsigned i = 0; i < CONV_NONCE; i++) m.u.hello.nonce[i] = uint8_t(0xa0 + i); break;
    case CONV_JOIN:
        for (unsigned i = 0; i < CONV_NONCE; i++) m.u.join.nonce[i] = uint8_t(0xb0 + i);
        m.u.join.node = SampleNode(1);
        break;
    case CONV_WELCOME:
        m.u.welcome = {0x1235, 0x8877665544332211ull, 250, 2};
        break;
    case CONV_REFUSE: std::strcpy(m.u.refuse.reason, "node id 4661 is taken"); break;
    case CONV_MEMBER:
        m.u.member.event = CONV_EV_CAPS;
        m.u.member.node = SampleNode(2);
        break;
    case CONV_CAPS: std::strcpy(m.u.caps.caps, "gpu=false,cores=4"); break;
    case CONV_HEARTBEAT: m.u.heartbeat.sent_ns = 0xfedcba9876543210ull; break;
    case CONV_LOG:
        m.u.log.level = 3;
        std::strcpy(m.u.log.id, "TS-RESTART");
        std::strcpy(m.u.log.text, "shard 2 restarted after a crash");
        break;
    case CONV_NAME_CLAIM:
        m.u.name_claim.req = 0xdeadbeef;
        m.u.name_claim.addr = 0x0001000200000003ull;
        std::strcpy(m.u.name_claim.name, "billing.ledger");
        break;
    case CONV_NAME_REPLY:
        m.u.name_reply.req = 0xdeadbeef;
        m.u.name_reply.holder = 0x0005000100000009ull;
        m.u.name_reply.rc = -EEXIST;
        break;
    case CONV_NAME_RELEASE:
        m.u.name_release.addr = 0x0001000200000003ull;
        std::strcpy(m.u.name_release.name, "billing.ledger");
        break;
    default: break;
    }
    return m;
}

const conv_type kAllTypes[] = {CONV_HELLO, CONV_JOIN, CONV_WELCOME, CONV_REFUSE, CONV_MEMBER,
                               CONV_CAPS, CONV_HEARTBEAT, CONV_LOG, CONV_NAME_CLAIM,
                               CONV_NAME_REPLY, CONV_NAME_RELEASE, CONV_LEAVE};
const conv_type kFromLeader[] = {CONV_MEMBER, CONV_HEARTBEAT, CONV_NAME_REPLY};
const conv_type kFromMember[] = {CONV_CAPS, CONV_HEARTBEAT, CONV_LOG, CONV_NAME_CLAIM,
                                 CONV_NAME_RELEASE, CONV_LEAVE};

void ExpectSameNode(const conv_node &a, const conv_node &b)
{
    EXPECT_EQ(a.node, b.node);
    EXPECT_EQ(a.instance, b.instance);
    EXPECT_STREQ(a.name, b.name);
    EXPECT_STREQ(a.caps, b.caps);
    EXPECT_STREQ(a.endpoints, b.endpoints);
    ASSERT_EQ(a.nimages, b.nimages);
    EXPECT_EQ(0, std::memcmp(a.images, b.images, size_t(a.nimages) * CONV_IMAGE_HASH));
}

// Every field of a and b, by type.
void ExpectSame(const conv_msg &a, const conv_msg &b)
{
    ASSERT_EQ(a.type, b.type);
    switch (a.type) {
    case CONV_HELLO: EXPECT_EQ(0, std::memcmp(a.u.hello.nonce, b.u.hello.nonce, CONV_NONCE)); break;
    case CONV_JOIN:
        EXPECT_EQ(0, std::memcmp(a.u.join.nonce, b.u.join.nonce, CONV_NONCE));
        ExpectSameNode(a.u.join.node, b.u.join.node);
        break;
    case CONV_WELCOME:
        EXPECT_EQ(a.u.welcome.node, b.u.welcome.node);
        EXPECT_EQ(a.u.welcome.leader_instance, b.u.welcome.leader_instance);
        EXPECT_EQ(a.u.welcome.heartbeat_ms, b.u.welcome.heartbeat_ms);
        EXPECT_EQ(a.u.welcome.nmembers, b.u.welcome.nmembers);
        break;
    case CONV_REFUSE: EXPECT_STREQ(a.u.refuse.reason, b.u.refuse.reason); break;
    case CONV_MEMBER:
        EXPECT_EQ(a.u.member.event, b.u.member.event);
        ExpectSameNode(a.u.member.node, b.u.member.node);
        break;
    case CONV_CAPS: EXPECT_STREQ(a.u.caps.caps, b.u.caps.caps); break;
    case CONV_HEARTBEAT: EXPECT_EQ(a.u.heartbeat.sent_ns, b.u.heartbeat.sent_ns); break;
    case CONV_LOG:
        EXPECT_EQ(a.u.log.level, b.u.log.level);
        EXPECT_STREQ(a.u.log.id, b.u.log.id);
        EXPECT_STREQ(a.u.log.text, b.u.log.text);
        break;
    case CONV_NAME_CLAIM:
        EXPECT_EQ(a.u.name_claim.req, b.u.name_claim.req);
        EXPECT_EQ(a.u.name_claim.addr, b.u.name_claim.addr);
        EXPECT_STREQ(a.u.name_claim.name, b.u.name_claim.name);
        break;
    case CONV_NAME_REPLY:
        EXPECT_EQ(a.u.name_reply.req, b.u.name_reply.req);
        EXPECT_EQ(a.u.name_reply.holder, b.u.name_reply.holder);
        EXPECT_EQ(a.u.name_reply.rc, b.u.name_reply.rc);
        break;
    case CONV_NAME_RELEASE:
        EXPECT_EQ(a.u.name_release.addr, b.u.name_release.addr);
        EXPECT_STREQ(a.u.name_release.name, b.u.name_release.name);
        break;
    default: break;
    }
}

// ---- sessions ---------------------------------------------------------------

struct Key {
    uint8_t b[CONV_KEY];
    explicit Key(uint8_t fill) { std::memset(b, fill, sizeof(b)); }
};

conv_session Session(const Key &k, bool leader)
{
    conv_session s;
    std::memset(&s, 0x5a, sizeof(s));
    EXPECT_EQ(0, conv_session_init(&s, k.b, leader));
    return s;
}

Bytes Encode(conv_session &s, const conv_msg &m)
{
    Bytes f(CONV_FRAME_BYTES);
    ssize_t n = conv_encode(&s, &m, f.data(), f.size());
    EXPECT_GT(n, 0) << conv_type_name(m.type) << ": " << ts_last_error();
    f.resize(n > 0 ? size_t(n) : 0);
    return f;
}

int Decode(conv_session &s, const Bytes &f, conv_msg *out = nullptr)
{
    conv_msg tmp;
    return conv_decode(&s, f.data(), f.size(), out ? out : &tmp);
}

bool SameSession(const conv_session &a, const conv_session &b)
{
    return a.leader == b.leader && a.phase == b.phase && a.tx == b.tx && a.rx == b.rx &&
           std::memcmp(a.key, b.key, CONV_KEY) == 0 && std::memcmp(a.skey, b.skey, CONV_KEY) == 0 &&
           std::memcmp(a.nonce_l, b.nonce_l, CONV_NONCE) == 0 &&
           std::memcmp(a.nonce_m, b.nonce_m, CONV_NONCE) == 0;
}

// Decoding f into s fails with want and leaves s as it was.
void ExpectRefused(conv_session &s, const Bytes &f, int want)
{
    conv_session before = s;
    conv_msg out;
    EXPECT_EQ(want, conv_decode(&s, f.data(), f.size(), &out)) << ts_last_error();
    EXPECT_TRUE(SameSession(before, s));
}

// The frames of one handshake.
struct Handshake {
    Bytes hello, join, welcome;
};

// Runs HELLO, JOIN, WELCOME between l and m; both end in SESSION.
Handshake Shake(conv_session &l, conv_session &m)
{
    Handshake h;
    h.hello = Encode(l, Sample(CONV_HELLO));
    EXPECT_EQ(0, Decode(m, h.hello)) << ts_last_error();
    h.join = Encode(m, Sample(CONV_JOIN));
    EXPECT_EQ(0, Decode(l, h.join)) << ts_last_error();
    h.welcome = Encode(l, Sample(CONV_WELCOME));
    EXPECT_EQ(0, Decode(m, h.welcome)) << ts_last_error();
    EXPECT_EQ(CONV_SESSION, l.phase);
    EXPECT_EQ(CONV_SESSION, m.phase);
    return h;
}

// ---- bodies -----------------------------------------------------------------

TEST(ConvBody, EveryTypeMatchesTheDocumentedLayoutAndRoundTrips)
{
    for (conv_type t : kAllTypes) {
        SCOPED_TRACE(conv_type_name(t));
        conv_msg m = Sample(t);
        uint8_t buf[4096];
        ssize_t n = conv_body_encode(&m, buf, sizeof(buf));
        ASSERT_GE(n, 0) << ts_last_error();
        Bytes want = BodyOf(m);
        ASSERT_EQ(want, Bytes(buf, buf + n));
        conv_msg back;
        std::memset(&back, 0x77, sizeof(back));
        ASSERT_EQ(0, conv_body_decode(t, buf, size_t(n), &back)) << ts_last_error();
        ExpectSame(m, back);
    }
    // LEAVE's body is empty; a MEMBER of each event.
    conv_msg leave = Sample(CONV_LEAVE);
    EXPECT_EQ(0, conv_body_encode(&leave, nullptr, 0));
    for (conv_event ev : {CONV_EV_JOINED, CONV_EV_LEFT, CONV_EV_CAPS}) {
        conv_msg m = Sample(CONV_MEMBER), back;
        m.u.member.event = ev;
        uint8_t buf[4096];
        ssize_t n = conv_body_encode(&m, buf, sizeof(buf));
        ASSERT_GT(n, 0);
        ASSERT_EQ(0, conv_body_decode(CONV_MEMBER, buf, size_t(n), &back));
        EXPECT_EQ(uint8_t(ev), back.u.member.event);
    }
}

TEST(ConvBody, UnknownTypesEventsAndLevelsAreRefused)
{
    conv_msg out;
    for (int t : {0, int(CONV_TYPES)})
        EXPECT_EQ(-EBADMSG, conv_body_decode(conv_type(t), nullptr, 0, &out));
    conv_msg m = Sample(CONV_MEMBER);
    uint8_t buf[4096];
    for (int ev : {0, 4, 255}) {
        m.u.member.event = uint8_t(ev);
        EXPECT_EQ(-EINVAL, conv_body_encode(&m, buf, sizeof(buf)));
        Bytes b = BodyOf(m);
        EXPECT_EQ(-EBADMSG, conv_body_decode(CONV_MEMBER, b.data(), b.size(), &out));
    }
    m = Sample(CONV_LOG);
    for (int level = 0; level < 256; level++) {
        m.u.log.level = uint8_t(level);
        bool ok = level <= CONV_LOG_LEVEL_MAX;
        ssize_t n = conv_body_encode(&m, buf, sizeof(buf));
        if (ok) {
            EXPECT_GT(n, 0);
        } else {
            EXPECT_EQ(-EINVAL, n);
        }
        Bytes b = BodyOf(m);
        EXPECT_EQ(ok ? 0 : -EBADMSG, conv_body_decode(CONV_LOG, b.data(), b.size(), &out));
    }
    m = Zero(conv_type(0));
    EXPECT_EQ(-EINVAL, conv_body_encode(&m, buf, sizeof(buf)));
}

TEST(ConvBody, TruncatedAtEveryLengthAndTrailingBytesAreRefused)
{
    for (conv_type t : kAllTypes) {
        SCOPED_TRACE(conv_type_name(t));
        Bytes b = BodyOf(Sample(t));
        conv_msg out;
        for (size_t n = 0; n < b.size(); n++)
            EXPECT_EQ(-EBADMSG, conv_body_decode(t, b.data(), n, &out)) << n;
        for (uint8_t extra : {0x00, 0x01, 0xff}) {
            Bytes more = b;
            more.push_back(extra);
            EXPECT_EQ(-EBADMSG, conv_body_decode(t, more.data(), more.size(), &out));
        }
        EXPECT_EQ(0, conv_body_decode(t, b.data(), b.size(), &out));
    }
}

// A string field: where it lives in a message, and a body with s in it.
struct StrField {
    const char *what;
    conv_type type;
    size_t size; // its char array's
    std::function<char *(conv_msg &)> field;
};

const std::vector<StrField> &StrFields()
{
    static const std::vector<StrField> v = {
        {"join name", CONV_JOIN, CONV_NAME_MAX, [](conv_msg &m) { return m.u.join.node.name; }},
        {"join caps", CONV_JOIN, CONV_CAPS_MAX, [](conv_msg &m) { return m.u.join.node.caps; }},
        {"join endpoints", CONV_JOIN, CONV_ENDPOINTS_MAX,
         [](conv_msg &m) { return m.u.join.node.endpoints; }},
        {"member name", CONV_MEMBER, CONV_NAME_MAX, [](conv_msg &m) { return m.u.member.node.name; }},
        {"member caps", CONV_MEMBER, CONV_CAPS_MAX, [](conv_msg &m) { return m.u.member.node.caps; }},
        {"member endpoints", CONV_MEMBER, CONV_ENDPOINTS_MAX,
         [](conv_msg &m) { return m.u.member.node.endpoints; }},
        {"refuse reason", CONV_REFUSE, CONV_REASON_MAX, [](conv_msg &m) { return m.u.refuse.reason; }},
        {"caps", CONV_CAPS, CONV_CAPS_MAX, [](conv_msg &m) { return m.u.caps.caps; }},
        {"log id", CONV_LOG, CONV_LOG_ID_MAX, [](conv_msg &m) { return m.u.log.id; }},
        {"log text", CONV_LOG, CONV_LOG_TEXT_MAX, [](conv_msg &m) { return m.u.log.text; }},
        {"claim name", CONV_NAME_CLAIM, CONV_GNAME_MAX, [](conv_msg &m) { return m.u.name_claim.name; }},
        {"release name", CONV_NAME_RELEASE, CONV_GNAME_MAX,
         [](conv_msg &m) { return m.u.name_release.name; }},
    };
    return v;
}

// The body of the sample of f.type with f's string replaced by s on the
// wire (any length, any bytes: the char array is not involved).
Bytes BodyWith(const StrField &f, const std::string &s)
{
    conv_msg m = Sample(f.type);
    const std::string marker = "\x01marker\x01";
    std::strcpy(f.field(m), marker.c_str());
    Bytes b = BodyOf(m);
    W enc;
    enc.str(marker);
    auto at = std::search(b.begin(), b.end(), enc.b.begin(), enc.b.end());
    EXPECT_NE(at, b.end());
    W rep;
    rep.str(s);
    at = b.erase(at, at + long(enc.b.size()));
    b.insert(at, rep.b.begin(), rep.b.end());
    return b;
}

TEST(ConvBody, StringsUpToTheirLimitPassOneMoreIsRefused)
{
    for (const StrField &f : StrFields()) {
        SCOPED_TRACE(f.what);
        conv_msg out;
        std::string at(f.size - 1, 'x'), over(f.size, 'x');
        Bytes ok = BodyWith(f, at);
        ASSERT_EQ(0, conv_body_decode(f.type, ok.data(), ok.size(), &out)) << ts_last_error();
        EXPECT_EQ(at, f.field(out));
        uint8_t buf[4096];
        ssize_t n = conv_body_encode(&out, buf, sizeof(buf));
        ASSERT_GT(n, 0);
        EXPECT_EQ(ok, Bytes(buf, buf + n));

        Bytes bad = BodyWith(f, over);
        EXPECT_EQ(-EBADMSG, conv_body_decode(f.type, bad.data(), bad.size(), &out));
        EXPECT_NE(nullptr, std::strstr(ts_last_error(), "too long")) << ts_last_error();

        // The sender's side: a char array with no NUL in it is too long.
        conv_msg m = Sample(f.type);
        std::memset(f.field(m), 'x', f.size);
        EXPECT_EQ(-EINVAL, conv_body_encode(&m, buf, sizeof(buf)));
        f.field(m)[f.size - 1] = '\0';
        EXPECT_GT(conv_body_encode(&m, buf, sizeof(buf)), 0);
        // An empty string is fine.
        f.field(m)[0] = '\0';
        n = conv_body_encode(&m, buf, sizeof(buf));
        ASSERT_GT(n, 0);
        ASSERT_EQ(0, conv_body_decode(f.type, buf, size_t(n), &out));
        EXPECT_STREQ("", f.field(out));
    }
}

TEST(ConvBody, AStringWithANulByteIsRefused)
{
    for (const StrField &f : StrFields()) {
        SCOPED_TRACE(f.what);
        conv_msg out;
        for (const std::string &s : {std::string("ab\0cd", 5), std::string("\0", 1),
                                     std::string("abc\0", 4)}) {
            Bytes b = BodyWith(f, s);
            EXPECT_EQ(-EBADMSG, conv_body_decode(f.type, b.data(), b.size(), &out));
            EXPECT_NE(nullptr, std::strstr(ts_last_error(), "NUL")) << ts_last_error();
        }
    }
}

TEST(ConvBody, AStringLengthBeyondTheBodyIsRefused)
{
    conv_msg out;
    Bytes b = W().u16(10).raw("abc", 3).b; // CAPS claiming 10 bytes, 3 there
    EXPECT_EQ(-EBADMSG, conv_body_decode(CONV_CAPS, b.data(), b.size(), &out));
    b = W().u16(0xffff).b;
    EXPECT_EQ(-EBADMSG, conv_body_decode(CONV_CAPS, b.data(), b.size(), &out));
}

TEST(ConvBody, AtMost32ImageHashes)
{
    for (conv_type t : {CONV_JOIN, CONV_MEMBER}) {
        SCOPED_TRACE(conv_type_name(t));
        conv_msg m = Sample(t), out;
        conv_node &n = t == CONV_JOIN ? m.u.join.node : m.u.member.node;
        for (unsigned i = 0; i < CONV_IMAGES_MAX; i++)
            std::memset(n.images[i], int(i + 1), CONV_IMAGE_HASH);
        n.nimages = CONV_IMAGES_MAX;
        uint8_t buf[4096];
        ssize_t len = conv_body_encode(&m, buf, sizeof(buf));
        ASSERT_GT(len, 0);
        ASSERT_EQ(0, conv_body_decode(t, buf, size_t(len), &out));
        ExpectSame(m, out);

        // 33 hashes, all there: refused.
        Bytes b(buf, buf + len);
        b[b.size() - CONV_IMAGES_MAX * CONV_IMAGE_HASH - 2] = CONV_IMAGES_MAX + 1;
        b.insert(b.end(), CONV_IMAGE_HASH, 0x33);
        EXPECT_EQ(-EBADMSG, conv_body_decode(t, b.data(), b.size(), &out));
        EXPECT_NE(nullptr, std::strstr(ts_last_error(), "too many")) << ts_last_error();
        // A count above what follows: refused.
        Bytes c(buf, buf + len - CONV_IMAGE_HASH);
        EXPECT_EQ(-EBADMSG, conv_body_decode(t, c.data(), c.size(), &out));

        n.nimages = CONV_IMAGES_MAX + 1;
        EXPECT_EQ(-EINVAL, conv_body_encode(&m, buf, sizeof(buf)));
        n.nimages = 0xffff;
        EXPECT_EQ(-EINVAL, conv_body_encode(&m, buf, sizeof(buf)));
    }
}

TEST(ConvBody, TooSmallABufferIsENOSPC)
{
    for (conv_type t : kAllTypes) {
        SCOPED_TRACE(conv_type_name(t));
        conv_msg m = Sample(t);
        Bytes want = BodyOf(m);
        for (size_t cap = 0; cap < want.size(); cap++) {
            Bytes buf(cap + 1, 0xee);
            EXPECT_EQ(-ENOSPC, conv_body_encode(&m, buf.data(), cap)) << cap;
            EXPECT_EQ(0xee, buf[cap]) << "wrote past cap " << cap;
        }
    }
}

// ---- framing ----------------------------------------------------------------

Bytes Len(uint32_t v)
{
    return W().u32(v).b;
}

TEST(ConvFrameLen, EdgeCases)
{
    uint8_t z[4] = {0};
    for (size_t have = 0; have < 4; have++)
        EXPECT_EQ(0, conv_frame_len(z, have)) << have;
    // Below the smallest frame (a header, no body, a mac) or above the most.
    for (uint32_t v : {0u, 1u, CONV_OVERHEAD - 5, CONV_FRAME_MAX + 1, 0x7fffffffu, 0xffffffffu}) {
        Bytes b = Len(v);
        EXPECT_EQ(-EBADMSG, conv_frame_len(b.data(), b.size())) << v;
    }
    // The smallest and the largest: 0 until whole, then their length.
    for (uint32_t v : {CONV_OVERHEAD - 4, 100u, CONV_FRAME_MAX}) {
        Bytes b = Len(v);
        b.resize(4 + v + 7, 0);
        EXPECT_EQ(0, conv_frame_len(b.data(), 4));
        EXPECT_EQ(0, conv_frame_len(b.data(), 4 + v - 1));
        EXPECT_EQ(ssize_t(4 + v), conv_frame_len(b.data(), 4 + v));
        EXPECT_EQ(ssize_t(4 + v), conv_frame_len(b.data(), b.size())); // the next frame's bytes too
    }
    EXPECT_EQ(CONV_FRAME_BYTES, 4 + CONV_FRAME_MAX);
}

TEST(ConvFrameLen, SplitsAStreamOfFrames)
{
    conv_session l = Session(Key(1), true), m = Session(Key(1), false);
    Handshake h = Shake(l, m);
    Bytes stream = h.welcome;
    std::vector<Bytes> sent = {h.welcome};
    for (int i = 0; i < 3; i++) {
        sent.push_back(Encode(l, Sample(kFromLeader[i])));
        stream.insert(stream.end(), sent.back().begin(), sent.back().end());
    }
    size_t at = 0;
    for (const Bytes &f : sent) {
        for (size_t have = 0; have < f.size(); have++)
            ASSERT_EQ(0, conv_frame_len(stream.data() + at, have));
        ASSERT_EQ(ssize_t(f.size()), conv_frame_len(stream.data() + at, stream.size() - at));
        at += f.size();
    }
    EXPECT_EQ(stream.size(), at);
}

// ---- the handshake ----------------------------------------------------------

TEST(ConvHandshake, LeaderAndMemberAgreeThenTalkBothWays)
{
    Key k(0x42);
    conv_session l = Session(k, true), m = Session(k, false);
    EXPECT_EQ(CONV_START, l.phase);
    EXPECT_EQ(CONV_START, m.phase);

    Bytes hello = Encode(l, Sample(CONV_HELLO));
    EXPECT_EQ(CONV_WAIT_JOIN, l.phase);
    EXPECT_NE(0, std::memcmp(l.nonce_l, Sample(CONV_HELLO).u.hello.nonce, CONV_NONCE))
        << "HELLO's nonce is made by conv_encode";
    conv_msg got;
    ASSERT_EQ(0, Decode(m, hello, &got)) << ts_last_error();
    EXPECT_EQ(CONV_HELLO, got.type);
    EXPECT_EQ(0, std::memcmp(got.u.hello.nonce, l.nonce_l, CONV_NONCE));
    EXPECT_EQ(0, std::memcmp(m.nonce_l, l.nonce_l, CONV_NONCE));
    EXPECT_EQ(CONV_GOT_HELLO, m.phase);
    EXPECT_EQ(CONV_OVERHEAD + CONV_NONCE, hello.size());
    EXPECT_EQ(Bytes(CONV_MAC, 0), Bytes(hello.end() - CONV_MAC, hello.end())) << "HELLO has no mac";

    conv_msg join = Sample(CONV_JOIN);
    Bytes jf = Encode(m, join);
    EXPECT_EQ(CONV_WAIT_WELCOME, m.phase);
    ASSERT_EQ(0, Decode(l, jf, &got)) << ts_last_error();
    EXPECT_EQ(CONV_JOINED, l.phase);
    std::memcpy(join.u.join.nonce, m.nonce_m, CONV_NONCE); // the one conv_encode made
    ExpectSame(join, got);
    EXPECT_EQ(0, std::memcmp(l.nonce_m, m.nonce_m, CONV_NONCE));

    conv_msg welcome = Sample(CONV_WELCOME);
    Bytes wf = Encode(l, welcome);
    EXPECT_EQ(CONV_SESSION, l.phase);
    ASSERT_EQ(0, Decode(m, wf, &got)) << ts_last_error();
    ExpectSame(welcome, got);
    EXPECT_EQ(CONV_SESSION, m.phase);
    EXPECT_EQ(0, std::memcmp(l.skey, m.skey, CONV_KEY));
    EXPECT_NE(0, std::memcmp(l.skey, l.key, CONV_KEY));
    EXPECT_EQ(0u, l.tx + l.rx + m.tx + m.rx);
    // Every handshake frame has seq 0.
    for (const Bytes *f : {&hello, &jf, &wf})
        EXPECT_EQ(Bytes(8, 0), Bytes(f->begin() + 8, f->begin() + 16));

    // Leader to member: each type, seq 1, 2, 3.
    uint64_t seq = 0;
    for (conv_type t : kFromLeader) {
        SCOPED_TRACE(conv_type_name(t));
        Bytes f = Encode(l, Sample(t));
        seq++;
        EXPECT_EQ(W().u64(seq).b, Bytes(f.begin() + 8, f.begin() + 16));
        EXPECT_EQ(seq, l.tx);
        ASSERT_EQ(0, Decode(m, f, &got)) << ts_last_error();
        ExpectSame(Sample(t), got);
        EXPECT_EQ(seq, m.rx);
        EXPECT_EQ(Bytes({uint8_t(t), CONV_VERSION, 0, 0}), Bytes(f.begin() + 4, f.begin() + 8));
        EXPECT_EQ(W().u32(uint32_t(f.size() - 4)).b, Bytes(f.begin(), f.begin() + 4));
    }
    // Member to leader, interleaved with the leader's heartbeats; LEAVE ends it.
    seq = 0;
    for (conv_type t : kFromMember) {
        SCOPED_TRACE(conv_type_name(t));
        Bytes f = Encode(m, Sample(t));
        ASSERT_EQ(0, Decode(l, f, &got)) << ts_last_error();
        ExpectSame(Sample(t), got);
        EXPECT_EQ(++seq, l.rx);
        if (t != CONV_LEAVE) {
            Bytes hb = Encode(l, Sample(CONV_HEARTBEAT));
            ASSERT_EQ(0, Decode(m, hb, &got)) << ts_last_error();
        }
    }
    EXPECT_EQ(CONV_CLOSED, l.phase);
    EXPECT_EQ(CONV_CLOSED, m.phase);
    EXPECT_EQ(6u, m.tx);
    EXPECT_EQ(3u + 5u, m.rx);
    // Nothing after LEAVE, either way.
    Bytes buf(CONV_FRAME_BYTES);
    conv_msg hb = Sample(CONV_HEARTBEAT);
    EXPECT_EQ(-EPROTO, conv_encode(&m, &hb, buf.data(), buf.size()));
    EXPECT_EQ(-EPROTO, conv_encode(&l, &hb, buf.data(), buf.size()));
    conv_session_fini(&l);
    conv_session_fini(&m);
    EXPECT_EQ(CONV_CLOSED, l.phase);
    EXPECT_EQ(Bytes(CONV_KEY, 0), Bytes(l.key, l.key + CONV_KEY));
    EXPECT_EQ(Bytes(CONV_KEY, 0), Bytes(m.skey, m.skey + CONV_KEY));
    conv_session_fini(nullptr);
}

TEST(ConvHandshake, EachHandshakeMakesNewNoncesAndANewSessionKey)
{
    Key k(7);
    conv_session l1 = Session(k, true), m1 = Session(k, false);
    conv_session l2 = Session(k, true), m2 = Session(k, false);
    Shake(l1, m1);
    Shake(l2, m2);
    EXPECT_NE(0, std::memcmp(l1.nonce_l, l2.nonce_l, CONV_NONCE));
    EXPECT_NE(0, std::memcmp(m1.nonce_m, m2.nonce_m, CONV_NONCE));
    EXPECT_NE(0, std::memcmp(l1.skey, l2.skey, CONV_KEY));
}

// The mac is crypto_auth over the documented context and the frame from its
// type byte to the end of the body; the session key is the documented hash.
TEST(ConvHandshake, MacAndSessionKeyAreAsDocumented)
{
    Key k(0x33);
    conv_session l = Session(k, true), m = Session(k, false);
    Handshake h = Shake(l, m);
    auto expect_mac = [](const Bytes &f, const uint8_t *key, const Bytes &ctx) {
        Bytes in = ctx;
        in.insert(in.end(), f.begin() + 4, f.end() - CONV_MAC);
        uint8_t mac[crypto_auth_BYTES];
        crypto_auth(mac, in.data(), in.size(), key);
        EXPECT_EQ(Bytes(mac, mac + CONV_MAC), Bytes(f.end() - CONV_MAC, f.end()));
    };
    const std::string label = "thespis-conv-v1";
    Bytes ctx(label.begin(), label.end());
    ctx.push_back('M');
    ctx.insert(ctx.end(), l.nonce_l, l.nonce_l + CONV_NONCE);
    expect_mac(h.join, k.b, ctx);
    ctx.back() = 0; // rebuilt below
    ctx.assign(label.begin(), label.end());
    ctx.push_back('L');
    ctx.insert(ctx.end(), l.nonce_l, l.nonce_l + CONV_NONCE);
    ctx.insert(ctx.end(), l.nonce_m, l.nonce_m + CONV_NONCE);
    expect_mac(h.welcome, k.b, ctx);

    Bytes in(label.begin(), label.end());
    in.insert(in.end(), l.nonce_l, l.nonce_l + CONV_NONCE);
    in.insert(in.end(), l.nonce_m, l.nonce_m + CONV_NONCE);
    uint8_t skey[CONV_KEY];
    crypto_generichash(skey, CONV_KEY, in.data(), in.size(), k.b, CONV_KEY);
    EXPECT_EQ(Bytes(skey, skey + CONV_KEY), Bytes(l.skey, l.skey + CONV_KEY));

    Bytes f = Encode(l, Sample(CONV_HEARTBEAT));
    expect_mac(f, skey, Bytes({'t', 'h', 'e', 's', 'p', 'i', 's', '-', 'c', 'o', 'n', 'v', '-', 'v', '1', 'L'}));
    f = Encode(m, Sample(CONV_CAPS));
    expect_mac(f, skey, Bytes({'t', 'h', 'e', 's', 'p', 'i', 's', '-', 'c', 'o', 'n', 'v', '-', 'v', '1', 'M'}));
}

TEST(ConvHandshake, AMemberWithAnotherKeyIsRefusedAtJoinAndToldWhy)
{
    conv_session l = Session(Key(1), true), m = Session(Key(2), false);
    ASSERT_EQ(0, Decode(m, Encode(l, Sample(CONV_HELLO))));
    Bytes join = Encode(m, Sample(CONV_JOIN));
    ExpectRefused(l, join, -EPERM);
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "key")) << ts_last_error();
    EXPECT_EQ(CONV_WAIT_JOIN, l.phase);

    conv_msg refuse = Sample(CONV_REFUSE), got;
    std::strcpy(refuse.u.refuse.reason, "not authenticated: check the convention key");
    Bytes rf = Encode(l, refuse);
    EXPECT_EQ(CONV_CLOSED, l.phase);
    ASSERT_EQ(0, Decode(m, rf, &got)) << ts_last_error();
    ExpectSame(refuse, got);
    EXPECT_EQ(CONV_CLOSED, m.phase);
}

TEST(ConvHandshake, ALeaderWithAnotherKeyIsRefusedAtWelcome)
{
    conv_session l = Session(Key(1), true), m = Session(Key(2), false), l_right = Session(Key(2), true);
    ASSERT_EQ(0, Decode(m, Encode(l, Sample(CONV_HELLO))));
    Bytes join = Encode(m, Sample(CONV_JOIN));
    // A leader that lets the JOIN through anyway (as if its check were
    // skipped): its session state as after a JOIN, with its own key.
    conv_msg got;
    l_right.phase = CONV_WAIT_JOIN;
    std::memcpy(l_right.nonce_l, l.nonce_l, CONV_NONCE);
    ASSERT_EQ(0, Decode(l_right, join, &got));
    std::memcpy(l_right.key, Key(1).b, CONV_KEY);
    Bytes wf = Encode(l_right, Sample(CONV_WELCOME));
    ExpectRefused(m, wf, -EPERM);
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "WELCOME")) << ts_last_error();
    EXPECT_EQ(CONV_WAIT_WELCOME, m.phase);
}

TEST(ConvHandshake, AJoinReplayedToAnotherHelloIsRefused)
{
    Key k(9);
    conv_session l1 = Session(k, true), m1 = Session(k, false);
    Handshake h = Shake(l1, m1);
    // A second leader session (a new HELLO, a new nonce), the old JOIN.
    conv_session l2 = Session(k, true);
    Encode(l2, Sample(CONV_HELLO));
    ExpectRefused(l2, h.join, -EPERM);
    // And a WELCOME recorded from the first handshake, to a member whose
    // JOIN was another.
    conv_session m2 = Session(k, false);
    ASSERT_EQ(0, Decode(m2, h.hello)); // even the same HELLO replayed
    Encode(m2, Sample(CONV_JOIN));
    ExpectRefused(m2, h.welcome, -EPERM);
}

TEST(ConvHandshake, ATamperedHelloNonceFailsTheJoin)
{
    Key k(5);
    conv_session l = Session(k, true), m = Session(k, false);
    Bytes hello = Encode(l, Sample(CONV_HELLO));
    hello[CONV_HDR] ^= 1; // HELLO is not authenticated: the member takes it
    ASSERT_EQ(0, Decode(m, hello));
    ExpectRefused(l, Encode(m, Sample(CONV_JOIN)), -EPERM);
}

TEST(ConvSession, ReplayedAndSkippedSeqAreRefused)
{
    Key k(3);
    conv_session l = Session(k, true), m = Session(k, false);
    Shake(l, m);
    Bytes f1 = Encode(l, Sample(CONV_HEARTBEAT));
    Bytes f2 = Encode(l, Sample(CONV_NAME_REPLY));
    Bytes f3 = Encode(l, Sample(CONV_MEMBER));
    ASSERT_EQ(0, Decode(m, f1));
    ExpectRefused(m, f1, -EPERM); // replayed
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "replayed")) << ts_last_error();
    ExpectRefused(m, f3, -EPERM); // seq 2 skipped
    ASSERT_EQ(0, Decode(m, f2));
    ExpectRefused(m, f2, -EPERM);
    ExpectRefused(m, f1, -EPERM);
    ASSERT_EQ(0, Decode(m, f3));
    EXPECT_EQ(3u, m.rx);
}

TEST(ConvSession, AFrameSentBackToItsSenderIsRefused)
{
    Key k(4);
    conv_session l = Session(k, true), m = Session(k, false);
    Shake(l, m);
    // A heartbeat goes both ways: only the side in its mac tells them apart.
    Bytes from_l = Encode(l, Sample(CONV_HEARTBEAT));
    ExpectRefused(l, from_l, -EPERM);
    Bytes from_m = Encode(m, Sample(CONV_HEARTBEAT));
    ExpectRefused(m, from_m, -EPERM);
    // Types only one side sends are refused for what they are.
    ExpectRefused(l, Encode(l, Sample(CONV_MEMBER)), -EPROTO);
    ExpectRefused(m, Encode(m, Sample(CONV_CAPS)), -EPROTO);
    ASSERT_EQ(0, Decode(m, from_l));
    ASSERT_EQ(0, Decode(l, from_m));
}

TEST(ConvSession, AFrameOfAnotherSessionIsRefused)
{
    Key k(6);
    conv_session l1 = Session(k, true), m1 = Session(k, false);
    conv_session l2 = Session(k, true), m2 = Session(k, false);
    Shake(l1, m1);
    Shake(l2, m2);
    Bytes f = Encode(l1, Sample(CONV_HEARTBEAT)); // seq 1, as m2 expects
    ExpectRefused(m2, f, -EPERM);
    ASSERT_EQ(0, Decode(m1, f));
}

// Every byte of an authenticated frame, each bit flipped: refused, and the
// session does not move.
TEST(ConvSession, OneFlippedByteAnywhereIsRefused)
{
    Key k(8);
    for (int which = 0; which < 4; which++) {
        SCOPED_TRACE(which);
        conv_session l = Session(k, true), m = Session(k, false);
        Bytes f;
        conv_session *rx;
        Bytes hello = Encode(l, Sample(CONV_HELLO));
        ASSERT_EQ(0, Decode(m, hello));
        Bytes join = Encode(m, Sample(CONV_JOIN));
        if (which == 0) {
            f = join, rx = &l;
        } else {
            ASSERT_EQ(0, Decode(l, join));
            Bytes welcome = Encode(l, Sample(CONV_WELCOME));
            if (which == 1) {
                f = welcome, rx = &m;
            } else {
                ASSERT_EQ(0, Decode(m, welcome));
                f = which == 2 ? Encode(l, Sample(CONV_MEMBER)) : Encode(m, Sample(CONV_LOG));
                rx = which == 2 ? &m : &l;
            }
        }
        for (size_t i = 0; i < f.size(); i++)
            for (int bit = 0; bit < 8; bit++) {
                Bytes bad = f;
                bad[i] ^= uint8_t(1u << bit);
                conv_session before = *rx;
                conv_msg out;
                int rc = conv_decode(rx, bad.data(), bad.size(), &out);
                ASSERT_TRUE(rc == -EPERM || rc == -EBADMSG || rc == -EPROTO)
                    << "byte " << i << " bit " << bit << ": " << rc;
                ASSERT_TRUE(SameSession(before, *rx)) << "byte " << i;
                if (i >= CONV_HDR) { // the body or the mac: the mac catches it
                    ASSERT_EQ(-EPERM, rc) << "byte " << i << " bit " << bit;
                }
            }
        ASSERT_EQ(0, Decode(*rx, f)) << ts_last_error();
    }
}

TEST(ConvSession, TruncatedFramesAtEveryLengthAreRefused)
{
    Key k(10);
    conv_session l = Session(k, true), m = Session(k, false);
    Handshake h = Shake(l, m);
    std::vector<std::pair<Bytes, conv_session *>> frames;
    for (conv_type t : kFromLeader)
        frames.push_back({Encode(l, Sample(t)), &m});
    for (conv_type t : kFromMember)
        if (t != CONV_LEAVE)
            frames.push_back({Encode(m, Sample(t)), &l});
    for (auto &[f, rx] : frames) {
        for (size_t n = 0; n < f.size(); n++) {
            conv_session before = *rx;
            conv_msg out;
            ASSERT_EQ(-EBADMSG, conv_decode(rx, f.data(), n, &out)) << n;
            ASSERT_TRUE(SameSession(before, *rx));
            ASSERT_EQ(0, conv_frame_len(f.data(), n));
        }
        // One byte too many (the length field says less): refused too.
        Bytes more = f;
        more.push_back(0);
        ExpectRefused(*rx, more, -EBADMSG);
        ASSERT_EQ(0, Decode(*rx, f)) << ts_last_error();
    }
    // The handshake's frames likewise, into fresh sessions.
    conv_session m2 = Session(k, false);
    for (size_t n = 0; n < h.hello.size(); n++)
        ExpectRefused(m2, Bytes(h.hello.begin(), h.hello.begin() + long(n)), -EBADMSG);
}

// Frames with a good mac around a bad header or body: the mac is made here
// as the protocol page says, so only the named flaw is wrong.
struct Forge {
    Key k{11};
    conv_session l = Session(k, true), m = Session(k, false);
    Forge() { Shake(l, m); }
    // A leader->member session frame: type, version, zero, seq, body.
    Bytes Frame(uint8_t type, uint8_t ver, uint16_t zero, uint64_t seq, const Bytes &body)
    {
        W w;
        w.u32(uint32_t(12 + body.size() + CONV_MAC)).u8(type).u8(ver).u16(zero).u64(seq);
        w.raw(body.data(), body.size());
        Bytes in = {'t', 'h', 'e', 's', 'p', 'i', 's', '-', 'c', 'o', 'n', 'v', '-', 'v', '1', 'L'};
        in.insert(in.end(), w.b.begin() + 4, w.b.end());
        uint8_t mac[CONV_MAC];
        crypto_auth(mac, in.data(), in.size(), l.skey);
        w.raw(mac, CONV_MAC);
        return w.b;
    }
};

TEST(ConvSession, BadHeadersAndTrailingBytesAreRefusedEvenWithAGoodMac)
{
    Forge g;
    Bytes hb = W().u64(5).b;
    conv_msg out;
    ASSERT_EQ(0, Decode(g.m, g.Frame(CONV_HEARTBEAT, 1, 0, 1, hb), &out)) << ts_last_error();
    EXPECT_EQ(5u, out.u.heartbeat.sent_ns);
    ExpectRefused(g.m, g.Frame(CONV_HEARTBEAT, 2, 0, 2, hb), -EBADMSG);
    ExpectRefused(g.m, g.Frame(CONV_HEARTBEAT, 0, 0, 2, hb), -EBADMSG);
    ExpectRefused(g.m, g.Frame(CONV_HEARTBEAT, 1, 1, 2, hb), -EBADMSG);
    ExpectRefused(g.m, g.Frame(CONV_HEARTBEAT, 1, 0x8000, 2, hb), -EBADMSG);
    for (int t : {0, int(CONV_TYPES), 0x80, 0xff})
        ExpectRefused(g.m, g.Frame(uint8_t(t), 1, 0, 2, hb), -EBADMSG);
    Bytes longer = hb;
    longer.push_back(0);
    ExpectRefused(g.m, g.Frame(CONV_HEARTBEAT, 1, 0, 2, longer), -EBADMSG);
    ExpectRefused(g.m, g.Frame(CONV_HEARTBEAT, 1, 0, 2, Bytes(hb.begin(), hb.end() - 1)), -EBADMSG);
    ExpectRefused(g.m, g.Frame(CONV_NAME_REPLY, 1, 0, 2, hb), -EBADMSG);
    ASSERT_EQ(0, Decode(g.m, g.Frame(CONV_HEARTBEAT, 1, 0, 2, hb)));
    EXPECT_EQ(2u, g.m.rx);
}

TEST(ConvSession, UnauthenticatedFramesMustHaveNoMacAndSeqZero)
{
    conv_session l = Session(Key(1), true);
    Bytes hello = Encode(l, Sample(CONV_HELLO));
    conv_session m = Session(Key(1), false);
    Bytes bad = hello;
    bad.back() = 1;
    ExpectRefused(m, bad, -EBADMSG);
    bad = hello;
    bad[8] = 1; // seq 1
    ExpectRefused(m, bad, -EBADMSG);
    ASSERT_EQ(0, Decode(m, hello));
}

TEST(ConvSession, EachSideSendsAndTakesOnlyItsMessagesInTheirPhase)
{
    Key k(12);
    Bytes buf(CONV_FRAME_BYTES);
    conv_session l = Session(k, true), m = Session(k, false);
    auto cannot_send = [&](conv_session &s, conv_type t) {
        conv_session before = s;
        conv_msg msg = Sample(t);
        EXPECT_EQ(-EPROTO, conv_encode(&s, &msg, buf.data(), buf.size()))
            << (s.leader ? "leader " : "member ") << conv_type_name(t) << " in phase " << s.phase;
        EXPECT_TRUE(SameSession(before, s));
    };
    // Before anything: only the leader's HELLO (or REFUSE).
    for (conv_type t : kAllTypes) {
        if (t != CONV_HELLO && t != CONV_REFUSE)
            cannot_send(l, t);
        cannot_send(m, t);
    }
    Bytes hello = Encode(l, Sample(CONV_HELLO));
    cannot_send(l, CONV_HELLO);
    cannot_send(l, CONV_WELCOME);
    cannot_send(l, CONV_HEARTBEAT);
    ASSERT_EQ(0, Decode(m, hello));
    ExpectRefused(m, hello, -EPROTO); // a second HELLO
    for (conv_type t : kAllTypes)
        if (t != CONV_JOIN)
            cannot_send(m, t);
    Bytes join = Encode(m, Sample(CONV_JOIN));
    cannot_send(m, CONV_JOIN);
    cannot_send(m, CONV_HEARTBEAT);
    ASSERT_EQ(0, Decode(l, join));
    ExpectRefused(l, join, -EPROTO); // a second JOIN
    cannot_send(l, CONV_MEMBER);
    Bytes welcome = Encode(l, Sample(CONV_WELCOME));
    cannot_send(l, CONV_WELCOME);
    cannot_send(l, CONV_REFUSE); // too late to refuse
    // A session frame before the WELCOME arrived: out of phase.
    Bytes early = Encode(l, Sample(CONV_HEARTBEAT));
    ExpectRefused(m, early, -EPROTO);
    ASSERT_EQ(0, Decode(m, welcome));
    ExpectRefused(m, welcome, -EPROTO);
    cannot_send(m, CONV_JOIN);
    for (conv_type t : kFromLeader)
        if (t != CONV_HEARTBEAT)
            cannot_send(m, t);
    for (conv_type t : kFromMember)
        if (t != CONV_HEARTBEAT)
            cannot_send(l, t);
    ASSERT_EQ(0, Decode(m, early));
}

TEST(ConvSession, RefuseBeforeHelloAndAfterJoin)
{
    Key k(13);
    conv_msg got;
    {
        conv_session l = Session(k, true), m = Session(k, false);
        Bytes r = Encode(l, Sample(CONV_REFUSE)); // e.g. the convention is full
        ASSERT_EQ(0, Decode(m, r, &got));
        ExpectSame(Sample(CONV_REFUSE), got);
        EXPECT_EQ(CONV_CLOSED, m.phase);
        ExpectRefused(m, r, -EPROTO);
    }
    {
        conv_session l = Session(k, true), m = Session(k, false);
        ASSERT_EQ(0, Decode(m, Encode(l, Sample(CONV_HELLO))));
        ASSERT_EQ(0, Decode(l, Encode(m, Sample(CONV_JOIN))));
        Bytes r = Encode(l, Sample(CONV_REFUSE)); // e.g. its node id is taken
        EXPECT_EQ(CONV_CLOSED, l.phase);
        ASSERT_EQ(0, Decode(m, r, &got));
        EXPECT_EQ(CONV_CLOSED, m.phase);
    }
}

TEST(ConvSession, EncodingIntoTooSmallABufferIsENOSPCAndChangesNothing)
{
    Key k(14);
    conv_session l = Session(k, true), m = Session(k, false);
    // Every cap below the frame's length (found on a copy of s), then enough.
    auto probe = [](conv_session &s, const conv_msg &msg) {
        conv_session copy = s;
        Bytes full = Encode(copy, msg);
        for (size_t cap = 0; cap < full.size(); cap++) {
            Bytes buf(cap + 1, 0xee);
            conv_session before = s;
            ASSERT_EQ(-ENOSPC, conv_encode(&s, &msg, buf.data(), cap)) << cap;
            ASSERT_TRUE(SameSession(before, s));
            ASSERT_EQ(0xee, buf[cap]);
        }
        Bytes buf(full.size());
        ASSERT_EQ(ssize_t(full.size()), conv_encode(&s, &msg, buf.data(), buf.size()));
    };
    probe(l, Sample(CONV_HELLO));
    ASSERT_EQ(CONV_WAIT_JOIN, l.phase);
    // Bad fields are -EINVAL whatever the room.
    conv_msg bad = Sample(CONV_JOIN);
    bad.u.join.node.nimages = 99;
    conv_session m1 = m;
    m1.phase = CONV_GOT_HELLO;
    EXPECT_EQ(-EINVAL, conv_encode(&m1, &bad, nullptr, 0));
    EXPECT_EQ(CONV_GOT_HELLO, m1.phase);
    l = Session(k, true);
    m = Session(k, false);
    Shake(l, m);
    probe(l, Sample(CONV_MEMBER));
    probe(m, Sample(CONV_LOG));
    EXPECT_EQ(1u, l.tx);
    EXPECT_EQ(1u, m.tx);
}

// ---- key files --------------------------------------------------------------

class ConvKey : public ::testing::Test {
protected:
    std::string dir;
    void SetUp() override
    {
        char tmpl[] = "/tmp/thespis-convkey.XXXXXX";
        ASSERT_NE(nullptr, mkdtemp(tmpl));
        dir = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::string Path(const char *name) { return dir + "/" + name; }
    std::string Write(const char *name, const std::string &text, mode_t mode = 0600)
    {
        std::string p = Path(name);
        int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
        EXPECT_GE(fd, 0);
        EXPECT_EQ(ssize_t(text.size()), write(fd, text.data(), text.size()));
        close(fd);
        EXPECT_EQ(0, chmod(p.c_str(), mode));
        return p;
    }
    std::string Read(const std::string &p)
    {
        std::string s(200, '\0');
        int fd = open(p.c_str(), O_RDONLY);
        EXPECT_GE(fd, 0);
        ssize_t n = read(fd, &s[0], s.size());
        close(fd);
        s.resize(n > 0 ? size_t(n) : 0);
        return s;
    }
};

const std::string kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST_F(ConvKey, GenerateWritesAFreshPrivateKeyThatLoads)
{
    std::string p = Path("conv.key"), q = Path("other.key");
    ASSERT_EQ(0, conv_key_generate(p.c_str())) << ts_last_error();
    ASSERT_EQ(0, conv_key_generate(q.c_str())) << ts_last_error();
    struct stat st;
    ASSERT_EQ(0, stat(p.c_str(), &st));
    EXPECT_EQ(0600u, st.st_mode & 07777);
    std::string text = Read(p);
    ASSERT_EQ(65u, text.size());
    EXPECT_EQ('\n', text[64]);
    EXPECT_EQ(64u, text.find_first_not_of("0123456789abcdef"));
    uint8_t a[CONV_KEY], b[CONV_KEY];
    ASSERT_EQ(0, conv_key_load(p.c_str(), a)) << ts_last_error();
    ASSERT_EQ(0, conv_key_load(q.c_str(), b)) << ts_last_error();
    EXPECT_NE(0, std::memcmp(a, b, CONV_KEY));
    char hex[2 * CONV_KEY + 1];
    sodium_bin2hex(hex, sizeof(hex), a, CONV_KEY);
    EXPECT_EQ(text.substr(0, 64), hex);
}

TEST_F(ConvKey, GenerateNeverOverwrites)
{
    std::string p = Write("conv.key", kHex + "\n");
    EXPECT_EQ(-EEXIST, conv_key_generate(p.c_str()));
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "not overwritten")) << ts_last_error();
    EXPECT_EQ(kHex + "\n", Read(p));
    EXPECT_EQ(-ENOENT, conv_key_generate(Path("no/such/dir").c_str()));
}

TEST_F(ConvKey, LoadReadsHexWithOrWithoutANewline)
{
    uint8_t key[CONV_KEY];
    for (const std::string &text : {kHex, kHex + "\n"}) {
        std::memset(key, 0xee, sizeof(key));
        ASSERT_EQ(0, conv_key_load(Write("k", text).c_str(), key)) << ts_last_error();
        for (unsigned i = 0; i < CONV_KEY; i++)
            ASSERT_EQ(i, key[i]);
    }
    std::string upper = kHex;
    for (char &c : upper)
        c = char(std::toupper(c));
    ASSERT_EQ(0, conv_key_load(Write("k", upper).c_str(), key));
    EXPECT_EQ(0x1f, key[31]);
}

TEST_F(ConvKey, LoadRefusesAKeyOthersCanReachAndSaysHowToFixIt)
{
    uint8_t key[CONV_KEY];
    for (mode_t mode : {0640, 0604, 0620, 0602, 0660, 0666, 0610}) {
        std::string p = Write("k", kHex, mode);
        EXPECT_EQ(-EACCES, conv_key_load(p.c_str(), key)) << std::oct << mode;
        EXPECT_NE(nullptr, std::strstr(ts_last_error(), ("chmod 600 " + p).c_str())) << ts_last_error();
    }
    EXPECT_EQ(0, conv_key_load(Write("k", kHex, 0400).c_str(), key));
}

TEST_F(ConvKey, LoadRefusesWrongLengthsNonHexAndNonFiles)
{
    uint8_t key[CONV_KEY];
    std::string bad_char = kHex;
    bad_char[17] = 'g';
    for (const std::string &text :
         {std::string(), kHex.substr(0, 63), kHex.substr(0, 63) + "\n", kHex + "0", kHex + "\n\n",
          kHex + " ", " " + kHex, bad_char, "0x" + kHex.substr(2), kHex.substr(0, 62) + "\n\n",
          kHex + "\r\n"}) {
        SCOPED_TRACE(text);
        EXPECT_EQ(-EINVAL, conv_key_load(Write("k", text).c_str(), key));
    }
    EXPECT_EQ(-EINVAL, conv_key_load(Write("k", bad_char).c_str(), key));
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "character 18")) << ts_last_error();
    EXPECT_EQ(-ENOENT, conv_key_load(Path("missing").c_str(), key));
    EXPECT_EQ(-EINVAL, conv_key_load(dir.c_str(), key));
}

} // namespace
