// Unit tests: the wire format (transport/frame.h): header round trips,
// each malformation refused with its reason, and the stream reader giving
// back exactly the frames sent however the bytes are cut.
#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "frame.h"
}

namespace {

struct Sent {
    frame_hdr h;
    std::vector<unsigned char> payload;
};

std::vector<unsigned char> Encode(const frame_hdr &h, const std::vector<unsigned char> &payload)
{
    std::vector<unsigned char> out(FRAME_HDR + payload.size());
    frame_encode(out.data(), &h);
    if (!payload.empty())
        std::memcpy(out.data() + FRAME_HDR, payload.data(), payload.size());
    return out;
}

frame_hdr Sample(uint32_t len)
{
    frame_hdr h{};
    h.kind = FRAME_DATA;
    h.flags = 0;
    h.src_node = 0x1234;
    h.len = len;
    h.dst = UINT64_C(0x0102030405060708);
    h.src = UINT64_C(0x1112131415161718);
    h.type = UINT64_C(0xa1a2a3a4a5a6a7a8);
    h.seq = UINT64_C(0xfffffffffffffff0);
    return h;
}

TEST(Frame, HeaderRoundTripsLittleEndian)
{
    frame_hdr h = Sample(77);
    unsigned char b[FRAME_HDR];
    frame_encode(b, &h);
    EXPECT_EQ(std::memcmp(b, "TSF1", 4), 0) << "magic on the wire";
    EXPECT_EQ(b[4], FRAME_VERSION);
    EXPECT_EQ(b[8], 0x34);
    EXPECT_EQ(b[9], 0x12);
    EXPECT_EQ(b[16], 0x08) << "dst, least significant byte first";
    frame_hdr d;
    ASSERT_EQ(frame_decode(b, sizeof b, 100, &d), 0);
    EXPECT_EQ(d.kind, h.kind);
    EXPECT_EQ(d.flags, h.flags);
    EXPECT_EQ(d.src_node, h.src_node);
    EXPECT_EQ(d.len, h.len);
    EXPECT_EQ(d.dst, h.dst);
    EXPECT_EQ(d.src, h.src);
    EXPECT_EQ(d.type, h.type);
    EXPECT_EQ(d.seq, h.seq);
}

TEST(Frame, EachMalformationHasItsReason)
{
    frame_hdr h = Sample(10);
    unsigned char good[FRAME_HDR], b[FRAME_HDR];
    frame_encode(good, &h);
    frame_hdr d;
    EXPECT_EQ(frame_decode(good, FRAME_HDR - 1, 100, &d), -EAGAIN) << "truncated";

    std::memcpy(b, good, sizeof b);
    b[0] ^= 1;
    EXPECT_EQ(frame_decode(b, sizeof b, 100, &d), -EPROTO);
    std::memcpy(b, good, sizeof b);
    b[4] = 2;
    EXPECT_EQ(frame_decode(b, sizeof b, 100, &d), -EPROTONOSUPPORT);
    std::memcpy(b, good, sizeof b);
    b[5] = FRAME_KINDS;
    EXPECT_EQ(frame_decode(b, sizeof b, 100, &d), -EBADMSG) << "unknown kind";
    std::memcpy(b, good, sizeof b);
    b[7] = 0x80;
    EXPECT_EQ(frame_decode(b, sizeof b, 100, &d), -EBADMSG) << "unknown flag";
    std::memcpy(b, good, sizeof b);
    b[11] = 1;
    EXPECT_EQ(frame_decode(b, sizeof b, 100, &d), -EBADMSG) << "reserved bits";
    EXPECT_EQ(frame_decode(good, sizeof good, 9, &d), -EMSGSIZE);
    EXPECT_EQ(frame_decode(good, sizeof good, 10, &d), 0) << "exactly the maximum";
    for (int rc : {-EAGAIN, -EPROTO, -EPROTONOSUPPORT, -EBADMSG, -EMSGSIZE, -ENOMEM})
        EXPECT_GT(std::strlen(frame_error(rc)), 5u);
}

struct Collector {
    std::vector<Sent> got;
    int stop_after = -1;
    static int Fn(void *arg, const frame_hdr *h, const void *payload)
    {
        auto *c = static_cast<Collector *>(arg);
        auto *p = static_cast<const unsigned char *>(payload);
        c->got.push_back({*h, std::vector<unsigned char>(p, p + h->len)});
        return c->stop_after >= 0 && (int)c->got.size() >= c->stop_after ? 99 : 0;
    }
};

std::vector<Sent> RandomFrames(std::mt19937 &rng, int n, uint32_t maxlen)
{
    std::vector<Sent> v;
    for (int i = 0; i < n; i++) {
        uint32_t len = rng() % 4 == 0 ? 0 : rng() % (maxlen + 1);
        frame_hdr h = Sample(len);
        h.seq = (uint64_t)i;
        h.type = rng();
        std::vector<unsigned char> p(len);
        for (auto &b : p)
            b = (unsigned char)rng();
        v.push_back({h, p});
    }
    return v;
}

void ExpectSame(const std::vector<Sent> &want, const std::vector<Sent> &got)
{
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) {
        ASSERT_EQ(got[i].h.seq, want[i].h.seq) << i;
        ASSERT_EQ(got[i].h.type, want[i].h.type) << i;
        ASSERT_EQ(got[i].payload, want[i].payload) << i;
    }
}

TEST(FrameReader, AnyCutGivesTheSameFrames)
{
    for (unsigned seed = 1; seed <= 30; seed++) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        std::mt19937 rng(seed);
        std::vector<Sent> frames = RandomFrames(rng, 200, seed % 3 ? 300 : 5000);
        std::vector<unsigned char> stream;
        for (const Sent &s : frames) {
            std::vector<unsigned char> b = Encode(s.h, s.payload);
            stream.insert(stream.end(), b.begin(), b.end());
        }
        frame_reader r;
        frame_reader_init(&r, 5000);
        Collector c;
        size_t at = 0;
        while (at < stream.size()) {
            size_t piece = seed % 5 == 0 ? 1 : 1 + rng() % 700;
            piece = std::min(piece, stream.size() - at);
            ASSERT_EQ(frame_reader_feed(&r, stream.data() + at, piece, Collector::Fn, &c), 0);
            at += piece;
        }
        EXPECT_EQ(frame_reader_pending(&r), 0u);
        ExpectSame(frames, c.got);
        frame_reader_fini(&r);
    }
}

TEST(FrameReader, WholeFramesInOnePieceComeOutInPlace)
{
    frame_hdr h = Sample(16);
    std::vector<unsigned char> b = Encode(h, std::vector<unsigned char>(16, 7));
    frame_reader r;
    frame_reader_init(&r, 100);
    const void *where = nullptr;
    auto fn = [](void *arg, const frame_hdr *, const void *p) {
        *static_cast<const void **>(arg) = p;
        return 0;
    };
    ASSERT_EQ(frame_reader_feed(&r, b.data(), b.size(), fn, &where), 0);
    EXPECT_EQ(where, b.data() + FRAME_HDR) << "no copy";
    EXPECT_EQ(r.buf, nullptr) << "nothing gathered";
    frame_reader_fini(&r);
}

TEST(FrameReader, MalformedStreamStopsForGood)
{
    std::vector<unsigned char> a = Encode(Sample(4), {1, 2, 3, 4});
    std::vector<unsigned char> bad = a;
    bad[0] = 'X';
    std::vector<unsigned char> stream = a;
    stream.insert(stream.end(), bad.begin(), bad.end());
    frame_reader r;
    frame_reader_init(&r, 100);
    Collector c;
    EXPECT_EQ(frame_reader_feed(&r, stream.data(), stream.size(), Collector::Fn, &c), -EPROTO);
    EXPECT_EQ(c.got.size(), 1u) << "the good frame before it was delivered";
    EXPECT_EQ(frame_reader_feed(&r, a.data(), a.size(), Collector::Fn, &c), -EPROTO) << "sticky";
    EXPECT_EQ(c.got.size(), 1u);
    frame_reader_fini(&r);
}

TEST(FrameReader, HugeLengthIsRefusedBeforeItsPayloadIsBuffered)
{
    frame_hdr h = Sample(1u << 30);
    unsigned char b[FRAME_HDR];
    frame_encode(b, &h);
    frame_reader r;
    frame_reader_init(&r, 1 << 20);
    Collector c;
    // Header split in two: the reader holds 20 bytes, then sees the length.
    EXPECT_EQ(frame_reader_feed(&r, b, 20, Collector::Fn, &c), 0);
    EXPECT_EQ(frame_reader_feed(&r, b + 20, FRAME_HDR - 20, Collector::Fn, &c), -EMSGSIZE);
    EXPECT_LE(r.cap, 4096u) << "no room was made for the claimed payload";
    frame_reader_fini(&r);
}

TEST(FrameReader, TruncatedFrameWaitsForTheRest)
{
    std::vector<unsigned char> a = Encode(Sample(100), std::vector<unsigned char>(100, 9));
    frame_reader r;
    frame_reader_init(&r, 100);
    Collector c;
    ASSERT_EQ(frame_reader_feed(&r, a.data(), a.size() - 1, Collector::Fn, &c), 0);
    EXPECT_TRUE(c.got.empty());
    EXPECT_EQ(frame_reader_pending(&r), a.size() - 1);
    ASSERT_EQ(frame_reader_feed(&r, a.data() + a.size() - 1, 1, Collector::Fn, &c), 0);
    ASSERT_EQ(c.got.size(), 1u);
    EXPECT_EQ(c.got[0].payload, std::vector<unsigned char>(100, 9));
    frame_reader_fini(&r);
}

TEST(FrameReader, CallbackCanStopTheFeed)
{
    std::vector<unsigned char> stream;
    for (int i = 0; i < 3; i++) {
        std::vector<unsigned char> b = Encode(Sample(0), {});
        stream.insert(stream.end(), b.begin(), b.end());
    }
    frame_reader r;
    frame_reader_init(&r, 100);
    Collector c;
    c.stop_after = 2;
    EXPECT_EQ(frame_reader_feed(&r, stream.data(), stream.size(), Collector::Fn, &c), 99);
    EXPECT_EQ(c.got.size(), 2u);
    frame_reader_fini(&r);
}

} // namespace
