/* SPDX-License-Identifier: MIT */
/* ether.c — Ethernet II, IPv4, UDP and ARP on plain bytes (ether.h). Every
 * read is bounded by the frame's length; multi-byte fields are read and
 * written with memcpy in network byte order. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "ether.h"

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_ARP 0x0806u
#define ETHERTYPE_VLAN 0x8100u
#define IPV4_DF 0x4000u
#define IPV4_MF 0x2000u
#define IPV4_OFFSET 0x1fffu
#define IPV4_TTL 64u
#define ARP_LEN 28u
#define ARP_HTYPE_ETHER 1u

const struct ether_mac ether_broadcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

static void put16(uint8_t *p, uint16_t v) { v = htons(v); memcpy(p, &v, 2); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return ntohs(v); }
/* IPv4 addresses stay in network order: copied, not converted. */
static void put_ip(uint8_t *p, uint32_t ip) { memcpy(p, &ip, 4); }
static uint32_t get_ip(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void put_mac(uint8_t *p, const struct ether_mac *m) { memcpy(p, m->b, 6); }
static void get_mac(struct ether_mac *m, const uint8_t *p) { memcpy(m->b, p, 6); }

uint16_t ether_csum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint64_t sum = 0;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)b[i] << 8 | b[i + 1];
    if (i < len) /* an odd last byte, padded with a zero */
        sum += (uint32_t)b[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void eth_write(uint8_t *out, const struct ether_mac *dst, const struct ether_mac *src,
                      uint16_t type)
{
    put_mac(out, dst);
    put_mac(out + 6, src);
    put16(out + 12, type);
}

void ether_udp_write(uint8_t *out, const struct ether_mac *src_mac, const struct ether_mac *dst_mac,
                     uint32_t src_ip, uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
                     size_t payload_len, uint16_t id, bool ip_csum_offload)
{
    eth_write(out, dst_mac, src_mac, ETHERTYPE_IPV4);
    uint8_t *ip = out + ETHER_HDR;
    ip[0] = 0x45; /* version 4, 5 words, no options */
    ip[1] = 0;    /* TOS */
    put16(ip + 2, (uint16_t)(ETHER_IPV4_HDR + ETHER_UDP_HDR + payload_len));
    put16(ip + 4, id);
    put16(ip + 6, IPV4_DF);
    ip[8] = IPV4_TTL;
    ip[9] = IPPROTO_UDP;
    put16(ip + 10, 0);
    put_ip(ip + 12, src_ip);
    put_ip(ip + 16, dst_ip);
    if (!ip_csum_offload)
        put16(ip + 10, ether_csum(ip, ETHER_IPV4_HDR));
    uint8_t *udp = ip + ETHER_IPV4_HDR;
    put16(udp, src_port);
    put16(udp + 2, dst_port);
    put16(udp + 4, (uint16_t)(ETHER_UDP_HDR + payload_len));
    put16(udp + 6, 0); /* no UDP checksum */
}

void ether_arp_write(uint8_t *out, enum ether_arp_op op, const struct ether_mac *sha, uint32_t spa,
                     const struct ether_mac *tha, uint32_t tpa)
{
    static const struct ether_mac unknown; /* no tha given: 00:00:00:00:00:00 */
    bool request = op == ETHER_ARP_REQUEST;
    const struct ether_mac *target = tha ? tha : &unknown;
    eth_write(out, request ? &ether_broadcast : target, sha, ETHERTYPE_ARP);
    uint8_t *a = out + ETHER_HDR;
    put16(a, ARP_HTYPE_ETHER);
    put16(a + 2, ETHERTYPE_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, (uint16_t)op);
    put_mac(a + 8, sha);
    put_ip(a + 14, spa);
    put_mac(a + 18, target);
    put_ip(a + 24, tpa);
}

/* IPv4 at ip, avail bytes to the end of the frame. */
static int parse_ipv4(const uint8_t *ip, size_t avail, bool ip_csum_ok, struct ether_info *in)
{
    if (avail < ETHER_IPV4_HDR)
        return -EBADMSG;
    if (ip[0] >> 4 != 4)
        return -EBADMSG;
    size_t hl = (size_t)(ip[0] & 0x0f) * 4;
    if (hl < ETHER_IPV4_HDR || hl > avail)
        return -EBADMSG;
    size_t total = get16(ip + 2);
    if (total < hl || total > avail)
        return -EBADMSG;
    if (!ip_csum_ok && ether_csum(ip, hl) != 0)
        return -EBADMSG;
    /* A well-formed IPv4 packet: now, is it an unfragmented UDP datagram? */
    uint16_t frag = get16(ip + 6);
    if ((frag & IPV4_MF) || (frag & IPV4_OFFSET) || ip[9] != IPPROTO_UDP)
        return 0; /* ETHER_NOT_OURS */
    if (total < hl + ETHER_UDP_HDR)
        return -EBADMSG;
    const uint8_t *udp = ip + hl;
    size_t ulen = get16(udp + 4);
    if (ulen < ETHER_UDP_HDR || ulen != total - hl)
        return -EBADMSG;
    in->kind = ETHER_UDP;
    in->src_ip = get_ip(ip + 12);
    in->dst_ip = get_ip(ip + 16);
    in->src_port = get16(udp);
    in->dst_port = get16(udp + 2);
    in->payload = udp + ETHER_UDP_HDR;
    in->len = ulen - ETHER_UDP_HDR;
    return 0;
}

static int parse_arp(const uint8_t *a, size_t avail, struct ether_info *in)
{
    if (avail < ARP_LEN)
        return -EBADMSG;
    if (get16(a) != ARP_HTYPE_ETHER || get16(a + 2) != ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4)
        return -EBADMSG;
    uint16_t op = get16(a + 6);
    if (op != ETHER_ARP_REQUEST && op != ETHER_ARP_REPLY)
        return -EBADMSG;
    in->kind = ETHER_ARP;
    in->arp_op = (enum ether_arp_op)op;
    get_mac(&in->arp_sha, a + 8);
    in->arp_spa = get_ip(a + 14);
    get_mac(&in->arp_tha, a + 18);
    in->arp_tpa = get_ip(a + 24);
    return 0;
}

int ether_parse(const void *frame, size_t len, bool ip_csum_ok, struct ether_info *out)
{
    const uint8_t *p = frame;
    struct ether_info in = {.kind = ETHER_NOT_OURS};
    /* A runt, or a tag without the ethertype after it, claims nothing. */
    if (len < ETHER_HDR) {
        *out = in;
        return 0;
    }
    get_mac(&in.dst_mac, p);
    get_mac(&in.src_mac, p + 6);
    size_t l2 = ETHER_HDR;
    uint16_t type = get16(p + 12);
    if (type == ETHERTYPE_VLAN) {
        if (len < ETHER_VLAN_HDR) {
            *out = in;
            return 0;
        }
        l2 = ETHER_VLAN_HDR;
        type = get16(p + 16);
    }
    int rc = 0;
    if (type == ETHERTYPE_IPV4)
        rc = parse_ipv4(p + l2, len - l2, ip_csum_ok, &in);
    else if (type == ETHERTYPE_ARP)
        rc = parse_arp(p + l2, len - l2, &in);
    if (rc == 0)
        *out = in;
    return rc;
}
