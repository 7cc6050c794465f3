// Unit tests: Ethernet II / IPv4 / UDP / ARP on plain bytes
// (transport/ether.h): write-then-parse round trips, the Internet checksum
// against worked examples, each malformation refused, and what is not ours
// told apart from what is broken.
#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "ether.h"
}

namespace {

using Bytes = std::vector<uint8_t>;

const ether_mac kMacA = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
const ether_mac kMacB = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};
// Documentation addresses only (RFC 5737), in network order.
const uint32_t kIpA = htonl(0xc0000201);  // 192.0.2.1
const uint32_t kIpB = htonl(0xc6336463);  // 198.51.100.99
const uint16_t kPortA = 0x1234, kPortB = 40000;

Bytes Udp(size_t payload_len, bool offload = false, uint16_t id = 0x0101)
{
    Bytes f(ETHER_UDP_HDRS + payload_len);
    ether_udp_write(f.data(), &kMacA, &kMacB, kIpA, kPortA, kIpB, kPortB, payload_len, id, offload);
    for (size_t i = 0; i < payload_len; i++)
        f[ETHER_UDP_HDRS + i] = static_cast<uint8_t>(i * 7 + 1);
    return f;
}

// The same frame with one 802.1Q tag after the MAC addresses.
Bytes Tagged(const Bytes &f, uint16_t tci = 0x0064)
{
    Bytes t(f.begin(), f.begin() + 12);
    t.push_back(0x81);
    t.push_back(0x00);
    t.push_back(static_cast<uint8_t>(tci >> 8));
    t.push_back(static_cast<uint8_t>(tci));
    t.insert(t.end(), f.begin() + 12, f.end());
    return t;
}

uint16_t Get16(const Bytes &f, size_t at) { return static_cast<uint16_t>(f[at] << 8 | f[at + 1]); }
void Put16(Bytes &f, size_t at, uint16_t v)
{
    f[at] = static_cast<uint8_t>(v >> 8);
    f[at + 1] = static_cast<uint8_t>(v);
}

// Recomputes the IPv4 header checksum of an untagged frame, so a test
// changes exactly the one field it means to.
void Recsum(Bytes &f)
{
    size_t hl = (f[ETHER_HDR] & 0x0f) * 4u;
    Put16(f, ETHER_HDR + 10, 0);
    if (ETHER_HDR + hl <= f.size())
        Put16(f, ETHER_HDR + 10, ether_csum(f.data() + ETHER_HDR, hl));
}

// Parses from an exactly sized heap copy, so the sanitizers see any read
// past the end.
int Parse(const Bytes &f, bool csum_ok, ether_info *out)
{
    Bytes copy(f);
    int rc = ether_parse(copy.empty() ? nullptr : copy.data(), copy.size(), csum_ok, out);
    if (rc == 0 && out->kind == ETHER_UDP) {  // the copy is going: point into f instead
        EXPECT_GE(out->payload, copy.data());
        EXPECT_LE(out->payload + out->len, copy.data() + copy.size());
        out->payload = f.data() + (out->payload - copy.data());
    }
    return rc;
}

void ExpectBad(const Bytes &f, const char *what)
{
    ether_info in;
    EXPECT_EQ(Parse(f, false, &in), -EBADMSG) << what;
    EXPECT_EQ(Parse(f, true, &in), -EBADMSG) << what << " (checksum left to the device)";
}

void ExpectNotOurs(const Bytes &f, const char *what)
{
    for (bool ok : {false, true}) {
        ether_info in;
        in.kind = ETHER_UDP;
        ASSERT_EQ(Parse(f, ok, &in), 0) << what;
        EXPECT_EQ(in.kind, ETHER_NOT_OURS) << what;
    }
}

TEST(EtherCsum, ClassicIpv4Header)
{
    // The usual worked example (Wikipedia, "IPv4 header checksum"); the
    // bytes are only summed, no address of it is used anywhere.
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(ether_csum(h, sizeof h), 0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    EXPECT_EQ(ether_csum(h, sizeof h), 0) << "over a header holding its checksum";
}

TEST(EtherCsum, Rfc1071Example)
{
    // RFC 1071 §3: these bytes sum to ddf2 (one's complement).
    const uint8_t b[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(ether_csum(b, sizeof b), static_cast<uint16_t>(~0xddf2));
}

TEST(EtherCsum, OddLengthPadsWithZeroAndEdgeCases)
{
    const uint8_t b[3] = {0x12, 0x34, 0x56};
    EXPECT_EQ(ether_csum(b, 3), static_cast<uint16_t>(~(0x1234 + 0x5600)));
    EXPECT_EQ(ether_csum(b, 0), 0xffff);
    const uint8_t ff[4] = {0xff, 0xff, 0xff, 0xff};
    EXPECT_EQ(ether_csum(ff, 4), 0) << "end-around carry";
    const uint8_t carry[4] = {0x80, 0x01, 0x80, 0x01};  // 0x8001 + 0x8001 = 0x10002 -> 0x0003
    EXPECT_EQ(ether_csum(carry, 4), static_cast<uint16_t>(~0x0003));
}

TEST(EtherUdp, WritesTheHeadersAsDocumented)
{
    Bytes f = Udp(10, false, 0xbeef);
    EXPECT_EQ(std::memcmp(f.data(), kMacB.b, 6), 0) << "destination first";
    EXPECT_EQ(std::memcmp(f.data() + 6, kMacA.b, 6), 0);
    EXPECT_EQ(Get16(f, 12), 0x0800);
    const size_t ip = ETHER_HDR, udp = ETHER_HDR + ETHER_IPV4_HDR;
    EXPECT_EQ(f[ip], 0x45);
    EXPECT_EQ(f[ip + 1], 0) << "TOS";
    EXPECT_EQ(Get16(f, ip + 2), 20 + 8 + 10);
    EXPECT_EQ(Get16(f, ip + 4), 0xbeef) << "identification";
    EXPECT_EQ(Get16(f, ip + 6), 0x4000) << "DF, offset 0";
    EXPECT_EQ(f[ip + 8], 64) << "TTL";
    EXPECT_EQ(f[ip + 9], 17) << "UDP";
    EXPECT_EQ(ether_csum(f.data() + ip, ETHER_IPV4_HDR), 0);
    EXPECT_EQ(std::memcmp(f.data() + ip + 12, "\xc0\x00\x02\x01", 4), 0) << "source IP as given";
    EXPECT_EQ(std::memcmp(f.data() + ip + 16, "\xc6\x33\x64\x63", 4), 0);
    EXPECT_EQ(Get16(f, udp), kPortA) << "ports in network order on the wire";
    EXPECT_EQ(Get16(f, udp + 2), kPortB);
    EXPECT_EQ(Get16(f, udp + 4), 8 + 10);
    EXPECT_EQ(Get16(f, udp + 6), 0) << "no UDP checksum";
}

TEST(EtherUdp, RoundTripsEveryPayloadSize)
{
    for (size_t n : {0u, 1u, 2u, 3u, 17u, 100u, 1000u, 1471u, 1472u, 8972u}) {
        for (bool offload : {false, true}) {
            SCOPED_TRACE(testing::Message() << "payload " << n << " offload " << offload);
            Bytes f = Udp(n, offload);
            ASSERT_EQ(f.size(), ETHER_UDP_HDRS + n);
            uint16_t stored = Get16(f, ETHER_HDR + 10);
            if (offload)
                EXPECT_EQ(stored, 0) << "left for the device";
            else
                EXPECT_NE(stored, 0);
            ether_info in;
            ASSERT_EQ(Parse(f, true, &in), 0);
            EXPECT_EQ(in.kind, ETHER_UDP);
            EXPECT_EQ(std::memcmp(in.dst_mac.b, kMacB.b, 6), 0);
            EXPECT_EQ(std::memcmp(in.src_mac.b, kMacA.b, 6), 0);
            EXPECT_EQ(in.src_ip, kIpA);
            EXPECT_EQ(in.dst_ip, kIpB);
            EXPECT_EQ(in.src_port, kPortA);
            EXPECT_EQ(in.dst_port, kPortB);
            EXPECT_EQ(in.len, n);
            EXPECT_EQ(in.payload, f.data() + ETHER_UDP_HDRS);
            EXPECT_EQ(Parse(f, false, &in), offload ? -EBADMSG : 0)
                << "an offloaded checksum is 0 until the device fills it";
        }
    }
    EXPECT_EQ(ETHER_UDP_PAYLOAD(1500u), 1472u);
}

TEST(EtherUdp, LargestDatagram)
{
    const size_t n = 65535 - ETHER_IPV4_HDR - ETHER_UDP_HDR;
    Bytes f = Udp(n);
    ether_info in;
    ASSERT_EQ(Parse(f, false, &in), 0);
    EXPECT_EQ(in.kind, ETHER_UDP);
    EXPECT_EQ(in.len, n);
}

TEST(EtherUdp, EveryPrefixIsRefusedOrNotOurs)
{
    std::vector<Bytes> frames = {Udp(0), Udp(1), Udp(33), Tagged(Udp(5)), Udp(200, true)};
    for (const Bytes &full : frames) {
        for (size_t cut = 0; cut < full.size(); cut++) {
            SCOPED_TRACE(testing::Message() << "frame " << full.size() << " cut at " << cut);
            Bytes f(full.begin(), full.begin() + cut);
            for (bool ok : {false, true}) {
                ether_info in;
                int rc = Parse(f, ok, &in);
                if (rc == 0) {
                    EXPECT_EQ(in.kind, ETHER_NOT_OURS);
                } else {
                    EXPECT_EQ(rc, -EBADMSG);
                }
                // Whatever claims IPv4 (the ethertype is there) is refused.
                bool tagged = full[12] == 0x81;
                if (cut >= (tagged ? ETHER_VLAN_HDR : ETHER_HDR)) {
                    EXPECT_EQ(rc, -EBADMSG);
                }
            }
        }
    }
}

TEST(EtherUdp, BadVersion)
{
    for (uint8_t v : {0x65, 0x05, 0x35, 0xf5}) {
        Bytes f = Udp(20);
        f[ETHER_HDR] = v;
        Recsum(f);
        ExpectBad(f, "IP version other than 4");
    }
}

TEST(EtherUdp, HeaderLengthBelowFive)
{
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        Bytes f = Udp(20);
        f[ETHER_HDR] = static_cast<uint8_t>(0x40 | ihl);
        Put16(f, ETHER_HDR + 10, 0);
        ExpectBad(f, "IHL < 5");
    }
}

TEST(EtherUdp, HeaderLengthBelowFiveEvenWhereTheUdpLengthWouldAgree)
{
    // For IHL h the UDP length would be read at 4h + 4 into the IPv4
    // header: make it agree with the total length, so only IHL is wrong.
    for (uint8_t ihl : {0, 2, 4}) {
        Bytes f = Udp(20);
        size_t total = Get16(f, ETHER_HDR + 2);
        f[ETHER_HDR] = static_cast<uint8_t>(0x40 | ihl);
        Put16(f, ETHER_HDR + 4u * ihl + 4, static_cast<uint16_t>(total - 4u * ihl));
        ether_info in;
        SCOPED_TRACE(static_cast<int>(ihl));
        EXPECT_EQ(Parse(f, true, &in), -EBADMSG);
    }
}

TEST(EtherUdp, TruncatedWithTheTotalLengthToMatch)
{
    // A frame cut anywhere inside the IPv4 or UDP header whose total length
    // says so too (checksum right): refused, without reading past the cut.
    Bytes full = Udp(8);
    for (size_t cut = ETHER_HDR; cut < ETHER_UDP_HDRS; cut++) {
        Bytes f(full.begin(), full.begin() + cut);
        if (cut >= ETHER_HDR + 4)
            Put16(f, ETHER_HDR + 2, static_cast<uint16_t>(cut - ETHER_HDR));
        if (cut >= ETHER_HDR + ETHER_IPV4_HDR)
            Recsum(f);
        SCOPED_TRACE(cut);
        ExpectBad(f, "headers cut short");
    }
}

TEST(EtherUdp, HeaderLongerThanTheFrame)
{
    Bytes f = Udp(0);  // 28 bytes after Ethernet: IHL 8 (32 bytes) does not fit
    f[ETHER_HDR] = 0x48;
    ExpectBad(f, "IHL past the frame");
    f = Udp(0);
    f[ETHER_HDR] = 0x4f;  // 60 bytes
    ExpectBad(f, "IHL 15 past the frame");
}

TEST(EtherUdp, TotalLengthTooShort)
{
    for (uint16_t total : {0, 1, 19, 20, 21, 27}) {
        Bytes f = Udp(4);
        Put16(f, ETHER_HDR + 2, total);
        Recsum(f);
        SCOPED_TRACE(total);
        ExpectBad(f, "total length below IHL*4 + 8");
    }
}

TEST(EtherUdp, TotalLengthLongerThanTheFrame)
{
    Bytes f = Udp(4);
    Put16(f, ETHER_HDR + 2, static_cast<uint16_t>(20 + 8 + 5));
    Put16(f, ETHER_HDR + ETHER_IPV4_HDR + 4, 8 + 5);
    Recsum(f);
    ExpectBad(f, "total length one past the frame");
    Put16(f, ETHER_HDR + 2, 0xffff);
    Recsum(f);
    ExpectBad(f, "total length 65535");
}

TEST(EtherUdp, UdpLengthMustMatchIp)
{
    for (uint16_t ulen : {0, 1, 7, 8 + 9, 8 + 11, 0xffff}) {
        Bytes f = Udp(10);
        Put16(f, ETHER_HDR + ETHER_IPV4_HDR + 4, ulen);
        SCOPED_TRACE(ulen);
        ExpectBad(f, "UDP length disagrees with IP's");
    }
    // Both shortened consistently is fine: the rest is padding.
    Bytes f = Udp(10);
    Put16(f, ETHER_HDR + 2, 20 + 8 + 9);
    Put16(f, ETHER_HDR + ETHER_IPV4_HDR + 4, 8 + 9);
    Recsum(f);
    ether_info in;
    ASSERT_EQ(Parse(f, false, &in), 0);
    EXPECT_EQ(in.kind, ETHER_UDP);
    EXPECT_EQ(in.len, 9u);
}

TEST(EtherUdp, BadChecksumUnlessTheDeviceChecked)
{
    Bytes f = Udp(10);
    f[ETHER_HDR + 11] ^= 0x01;
    ether_info in;
    EXPECT_EQ(Parse(f, false, &in), -EBADMSG);
    ASSERT_EQ(Parse(f, true, &in), 0) << "ip_csum_ok: the device already checked";
    EXPECT_EQ(in.kind, ETHER_UDP);
    // A corrupted header byte, checksum untouched.
    f = Udp(10);
    f[ETHER_HDR + 8] = 63;  // TTL
    EXPECT_EQ(Parse(f, false, &in), -EBADMSG);
}

TEST(EtherUdp, IpOptionsAreSkipped)
{
    // IHL 6: four option bytes (NOPs) between the IPv4 and UDP headers.
    Bytes base = Udp(6);
    Bytes f(base.begin(), base.begin() + ETHER_HDR + ETHER_IPV4_HDR);
    f.insert(f.end(), {0x01, 0x01, 0x01, 0x01});
    f.insert(f.end(), base.begin() + ETHER_HDR + ETHER_IPV4_HDR, base.end());
    f[ETHER_HDR] = 0x46;
    Put16(f, ETHER_HDR + 2, 24 + 8 + 6);
    Recsum(f);
    ether_info in;
    ASSERT_EQ(Parse(f, false, &in), 0);
    EXPECT_EQ(in.kind, ETHER_UDP);
    EXPECT_EQ(in.src_port, kPortA);
    EXPECT_EQ(in.dst_port, kPortB);
    EXPECT_EQ(in.len, 6u);
    EXPECT_EQ(in.payload, f.data() + ETHER_HDR + 24 + 8);
    EXPECT_EQ(in.payload[0], 1);
    f[ETHER_HDR + 20] ^= 0xff;  // the checksum covers the options
    EXPECT_EQ(Parse(f, false, &in), -EBADMSG);
}

TEST(EtherUdp, VlanTaggedFramesParse)
{
    for (size_t n : {0u, 1u, 1472u}) {
        Bytes f = Tagged(Udp(n), 0xe00a);
        ether_info in;
        ASSERT_EQ(Parse(f, false, &in), 0);
        EXPECT_EQ(in.kind, ETHER_UDP);
        EXPECT_EQ(std::memcmp(in.dst_mac.b, kMacB.b, 6), 0);
        EXPECT_EQ(std::memcmp(in.src_mac.b, kMacA.b, 6), 0);
        EXPECT_EQ(in.src_ip, kIpA);
        EXPECT_EQ(in.dst_ip, kIpB);
        EXPECT_EQ(in.src_port, kPortA);
        EXPECT_EQ(in.dst_port, kPortB);
        EXPECT_EQ(in.len, n);
        EXPECT_EQ(in.payload, f.data() + ETHER_VLAN_HDR + ETHER_IPV4_HDR + ETHER_UDP_HDR);
    }
}

TEST(EtherUdp, OnlyOneVlanTag)
{
    ExpectNotOurs(Tagged(Tagged(Udp(4))), "two 802.1Q tags");
    Bytes f = Udp(4);
    Put16(f, 12, 0x88a8);  // an 802.1ad service tag
    ExpectNotOurs(f, "802.1ad");
    Bytes t = Tagged(Udp(4));
    ExpectNotOurs(Bytes(t.begin(), t.begin() + 16), "a tag without its ethertype");
}

TEST(EtherUdp, EthernetPaddingIsIgnored)
{
    for (size_t n : {0u, 1u, 17u}) {
        for (bool tag : {false, true}) {
            Bytes f = Udp(n);
            if (tag)
                f = Tagged(f);
            while (f.size() < 60 + (tag ? 4u : 0u))
                f.push_back(0xa5);  // padding that is not zero, too
            f.push_back(0x5a);
            ether_info in;
            ASSERT_EQ(Parse(f, false, &in), 0);
            EXPECT_EQ(in.kind, ETHER_UDP);
            EXPECT_EQ(in.len, n) << "the payload length is the UDP length's";
        }
    }
}

TEST(EtherUdp, FragmentsAreNotOurs)
{
    for (uint16_t frag : {0x2000, 0x0001, 0x00b9, 0x2001, 0x1fff, 0x6000, 0x4001}) {
        Bytes f = Udp(16);
        Put16(f, ETHER_HDR + 6, frag);
        Recsum(f);
        SCOPED_TRACE(frag);
        ExpectNotOurs(f, "an IP fragment");
    }
    // Neither DF nor anything else set: a whole datagram.
    Bytes f = Udp(16);
    Put16(f, ETHER_HDR + 6, 0);
    Recsum(f);
    ether_info in;
    ASSERT_EQ(Parse(f, false, &in), 0);
    EXPECT_EQ(in.kind, ETHER_UDP);
}

TEST(EtherUdp, OtherProtocolsAndEthertypesAreNotOurs)
{
    for (uint8_t proto : {1, 6, 41, 132, 136}) {
        Bytes f = Udp(24);
        f[ETHER_HDR + 9] = proto;
        Recsum(f);
        ExpectNotOurs(f, "not UDP");
    }
    for (uint16_t type : {0x86dd, 0x88cc, 0x8035, 0x0000, 0x05dc}) {
        Bytes f = Udp(24);
        Put16(f, 12, type);
        ExpectNotOurs(f, "not IPv4 or ARP");
    }
    for (size_t n = 0; n < ETHER_HDR; n++)
        ExpectNotOurs(Bytes(n, 0x08), "a runt");
}

// ARP

Bytes Arp(ether_arp_op op, const ether_mac *tha = &kMacB)
{
    Bytes f(ETHER_ARP_FRAME);
    ether_arp_write(f.data(), op, &kMacA, kIpA, tha, kIpB);
    return f;
}

TEST(EtherArp, RequestRoundTrips)
{
    Bytes f = Arp(ETHER_ARP_REQUEST);
    EXPECT_EQ(std::memcmp(f.data(), ether_broadcast.b, 6), 0) << "broadcast";
    EXPECT_EQ(std::memcmp(f.data() + 6, kMacA.b, 6), 0);
    EXPECT_EQ(Get16(f, 12), 0x0806);
    EXPECT_EQ(Get16(f, 14), 1) << "htype Ethernet";
    EXPECT_EQ(Get16(f, 16), 0x0800);
    EXPECT_EQ(f[18], 6);
    EXPECT_EQ(f[19], 4);
    EXPECT_EQ(Get16(f, 20), 1);
    for (bool ok : {false, true}) {
        ether_info in;
        ASSERT_EQ(Parse(f, ok, &in), 0);
        EXPECT_EQ(in.kind, ETHER_ARP);
        EXPECT_EQ(in.arp_op, ETHER_ARP_REQUEST);
        EXPECT_EQ(std::memcmp(in.dst_mac.b, ether_broadcast.b, 6), 0);
        EXPECT_EQ(std::memcmp(in.src_mac.b, kMacA.b, 6), 0);
        EXPECT_EQ(std::memcmp(in.arp_sha.b, kMacA.b, 6), 0);
        EXPECT_EQ(in.arp_spa, kIpA);
        EXPECT_EQ(in.arp_tpa, kIpB);
    }
    for (uint8_t b : ether_broadcast.b)
        EXPECT_EQ(b, 0xff);
}

TEST(EtherArp, RequestWithoutTargetMac)
{
    Bytes f = Arp(ETHER_ARP_REQUEST, nullptr);
    ether_info in;
    ASSERT_EQ(Parse(f, false, &in), 0);
    EXPECT_EQ(in.kind, ETHER_ARP);
    const ether_mac zero{};
    EXPECT_EQ(std::memcmp(in.arp_tha.b, zero.b, 6), 0) << "unknown target: zeros";
    EXPECT_EQ(std::memcmp(in.dst_mac.b, ether_broadcast.b, 6), 0);
}

TEST(EtherArp, ReplyRoundTrips)
{
    Bytes f = Arp(ETHER_ARP_REPLY);
    EXPECT_EQ(std::memcmp(f.data(), kMacB.b, 6), 0) << "sent to tha";
    ether_info in;
    ASSERT_EQ(Parse(f, false, &in), 0);
    EXPECT_EQ(in.kind, ETHER_ARP);
    EXPECT_EQ(in.arp_op, ETHER_ARP_REPLY);
    EXPECT_EQ(std::memcmp(in.dst_mac.b, kMacB.b, 6), 0);
    EXPECT_EQ(std::memcmp(in.src_mac.b, kMacA.b, 6), 0);
    EXPECT_EQ(std::memcmp(in.arp_sha.b, kMacA.b, 6), 0);
    EXPECT_EQ(std::memcmp(in.arp_tha.b, kMacB.b, 6), 0);
    EXPECT_EQ(in.arp_spa, kIpA);
    EXPECT_EQ(in.arp_tpa, kIpB);
}

TEST(EtherArp, PaddedAndTaggedFramesParse)
{
    Bytes f = Arp(ETHER_ARP_REPLY);
    f.resize(60, 0);
    ether_info in;
    ASSERT_EQ(Parse(f, false, &in), 0);
    EXPECT_EQ(in.kind, ETHER_ARP);
    Bytes t = Tagged(Arp(ETHER_ARP_REQUEST));
    ASSERT_EQ(Parse(t, false, &in), 0);
    EXPECT_EQ(in.kind, ETHER_ARP);
    EXPECT_EQ(in.arp_tpa, kIpB);
}

TEST(EtherArp, MalformedSizesAndOps)
{
    struct Change {
        size_t at;
        uint16_t v;
        bool wide;
        const char *what;
    };
    const Change changes[] = {
        {14, 6, true, "htype IEEE 802"},    {14, 0, true, "htype 0"},
        {16, 0x86dd, true, "ptype IPv6"},   {18, 8, false, "hlen 8"},
        {18, 0, false, "hlen 0"},           {19, 16, false, "plen 16"},
        {19, 6, false, "plen 6"},           {20, 0, true, "op 0"},
        {20, 3, true, "op 3 (RARP)"},       {20, 0x0100, true, "op byte-swapped"},
    };
    for (const Change &c : changes) {
        Bytes f = Arp(ETHER_ARP_REPLY);
        if (c.wide)
            Put16(f, c.at, c.v);
        else
            f[c.at] = static_cast<uint8_t>(c.v);
        ExpectBad(f, c.what);
    }
    Bytes f = Arp(ETHER_ARP_REQUEST);
    for (size_t cut = ETHER_HDR; cut < f.size(); cut++)
        ExpectBad(Bytes(f.begin(), f.begin() + cut), "truncated ARP");
    for (size_t cut = 0; cut < ETHER_HDR; cut++)
        ExpectNotOurs(Bytes(f.begin(), f.begin() + cut), "no ethertype yet");
}

}  // namespace
