/* SPDX-License-Identifier: MIT */
/* ether_fuzz.c — fuzz target for the packet parser (transport/ether.h). The
 * first input byte's low bit says whether the device checked the IPv4
 * header checksum; the rest is one Ethernet frame. The parser must refuse
 * it or describe it truly: a UDP payload inside the frame and of the UDP
 * length, fields that are the frame's bytes, and headers that write back
 * to a frame parsing the same. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ether.h"
#include "fuzz.h"

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t ip_at(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static int mac_is(const struct ether_mac *m, const uint8_t *p) { return memcmp(m->b, p, 6) == 0; }
static int mac_eq(const struct ether_mac *a, const struct ether_mac *b) { return memcmp(a->b, b->b, 6) == 0; }

static void check_udp(const uint8_t *f, size_t n, bool csum_ok, const struct ether_info *in)
{
    size_t l2 = n >= ETHER_HDR && be16(f + 12) == 0x8100 ? ETHER_VLAN_HDR : ETHER_HDR;
    if (n < l2 + ETHER_IPV4_HDR + ETHER_UDP_HDR)
        __builtin_trap();
    const uint8_t *ip = f + l2;
    size_t hl = (size_t)(ip[0] & 0x0f) * 4;
    size_t total = be16(ip + 2);
    if (ip[0] >> 4 != 4 || hl < ETHER_IPV4_HDR || l2 + hl + ETHER_UDP_HDR > n || total > n - l2 ||
        ip[9] != 17 || (be16(ip + 6) & 0x3fff) != 0)
        __builtin_trap();
    if (!csum_ok && ether_csum(ip, hl) != 0)
        __builtin_trap();
    const uint8_t *udp = ip + hl;
    size_t ulen = be16(udp + 4);
    /* The payload lies inside the frame, right after the UDP header. */
    if (in->payload != udp + ETHER_UDP_HDR || ulen < ETHER_UDP_HDR || in->len != ulen - ETHER_UDP_HDR ||
        in->len != total - hl - ETHER_UDP_HDR || in->len > n ||
        (size_t)(in->payload - f) > n - in->len)
        __builtin_trap();
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < in->len; i++) /* every payload byte is readable */
        sink ^= in->payload[i];
    (void)sink;
    if (!mac_is(&in->dst_mac, f) || !mac_is(&in->src_mac, f + 6) || in->src_ip != ip_at(ip + 12) ||
        in->dst_ip != ip_at(ip + 16) || in->src_port != be16(udp) || in->dst_port != be16(udp + 2))
        __builtin_trap();

    /* Written back from the parsed fields, it parses the same. */
    bool offload = f[n - 1] & 1; /* any byte the frame has will do */
    size_t wn = ETHER_UDP_HDRS + in->len;
    uint8_t *w = malloc(wn);
    if (!w)
        return;
    ether_udp_write(w, &in->src_mac, &in->dst_mac, in->src_ip, in->src_port, in->dst_ip,
                    in->dst_port, in->len, be16(ip + 4), offload);
    memcpy(w + ETHER_UDP_HDRS, in->payload, in->len);
    struct ether_info back;
    if (ether_parse(w, wn, offload, &back) != 0 || back.kind != ETHER_UDP ||
        back.src_ip != in->src_ip || back.dst_ip != in->dst_ip || back.src_port != in->src_port ||
        back.dst_port != in->dst_port || back.len != in->len || back.payload != w + ETHER_UDP_HDRS ||
        !mac_eq(&back.src_mac, &in->src_mac) || !mac_eq(&back.dst_mac, &in->dst_mac) ||
        memcmp(back.payload, in->payload, in->len) != 0)
        __builtin_trap();
    if (!offload && ether_csum(w + ETHER_HDR, ETHER_IPV4_HDR) != 0)
        __builtin_trap();
    free(w);
}

static void check_arp(const uint8_t *f, size_t n, const struct ether_info *in)
{
    size_t l2 = be16(f + 12) == 0x8100 ? ETHER_VLAN_HDR : ETHER_HDR;
    if (n < l2 + 28)
        __builtin_trap();
    const uint8_t *a = f + l2;
    if (be16(a) != 1 || be16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4 || be16(a + 6) != in->arp_op ||
        (in->arp_op != ETHER_ARP_REQUEST && in->arp_op != ETHER_ARP_REPLY))
        __builtin_trap();
    if (!mac_is(&in->dst_mac, f) || !mac_is(&in->src_mac, f + 6) || !mac_is(&in->arp_sha, a + 8) ||
        in->arp_spa != ip_at(a + 14) || !mac_is(&in->arp_tha, a + 18) || in->arp_tpa != ip_at(a + 24))
        __builtin_trap();

    /* Written back, it parses the same, sent where ether_arp_write says. */
    uint8_t w[ETHER_ARP_FRAME];
    ether_arp_write(w, in->arp_op, &in->arp_sha, in->arp_spa, &in->arp_tha, in->arp_tpa);
    struct ether_info back;
    const struct ether_mac *to = in->arp_op == ETHER_ARP_REQUEST ? &ether_broadcast : &in->arp_tha;
    if (ether_parse(w, sizeof(w), false, &back) != 0 || back.kind != ETHER_ARP ||
        back.arp_op != in->arp_op || !mac_eq(&back.arp_sha, &in->arp_sha) ||
        !mac_eq(&back.arp_tha, &in->arp_tha) || back.arp_spa != in->arp_spa ||
        back.arp_tpa != in->arp_tpa || !mac_eq(&back.src_mac, &in->arp_sha) || !mac_eq(&back.dst_mac, to))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool csum_ok = data[0] & 1;
    size_t n = size - 1;
    /* Exactly sized, so ASan sees any read past the frame. */
    uint8_t *f = malloc(n);
    if (!f && n)
        return 0;
    if (n)
        memcpy(f, data + 1, n);
    struct ether_info in;
    int rc = ether_parse(f, n, csum_ok, &in);
    if (rc != 0 && rc != -EBADMSG)
        __builtin_trap();
    /* The same bytes give the same answer; leaving the checksum to the
     * device never refuses what checking it accepts, nor changes it. */
    struct ether_info again;
    int rc2 = ether_parse(f, n, true, &again);
    if ((rc == 0 && (rc2 != 0 || again.kind != in.kind)) || (csum_ok && rc2 != rc))
        __builtin_trap();
    if (rc == 0) {
        if (n < ETHER_HDR && in.kind != ETHER_NOT_OURS)
            __builtin_trap();
        switch (in.kind) {
        case ETHER_NOT_OURS: break;
        case ETHER_UDP:
            check_udp(f, n, csum_ok, &in);
            if (again.payload != in.payload || again.len != in.len)
                __builtin_trap();
            break;
        case ETHER_ARP: check_arp(f, n, &in); break;
        default: __builtin_trap();
        }
    }
    free(f);
    return 0;
}

/* The addresses of the documentation networks (RFC 5737). */
static uint32_t doc_ip(uint64_t r)
{
    return htonl((r & 1 ? 0xc0000200u : 0xc6336400u) | (uint32_t)((r >> 8) & 0xff));
}

static void rand_mac(struct ether_mac *m, uint64_t (*rng)(void))
{
    uint64_t r = rng();
    for (int i = 0; i < 6; i++)
        m->b[i] = (uint8_t)(r >> (8 * i));
    m->b[0] = (uint8_t)((m->b[0] & 0xfe) | 0x02); /* unicast, locally administered */
}

/* The checksum selector, then a frame as the dpdk backend would write it
 * or could receive it: UDP (tagged or not, padded or not, the checksum
 * computed or left to the device) or an ARP request or reply. */
size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void))
{
    struct ether_mac a, b;
    rand_mac(&a, rng);
    rand_mac(&b, rng);
    uint32_t ipa = doc_ip(rng()), ipb = doc_ip(rng());
    bool tag = rng() % 3 == 0;
    size_t l2 = tag ? ETHER_VLAN_HDR : ETHER_HDR;
    uint8_t *f = buf + 1;
    size_t n;
    buf[0] = (uint8_t)rng();
    if (rng() % 4 == 0) { /* ARP */
        if (cap < 1 + 4 + 64)
            return 0;
        bool req = rng() % 2;
        ether_arp_write(f + (l2 - ETHER_HDR), req ? ETHER_ARP_REQUEST : ETHER_ARP_REPLY, &a, ipa,
                        req && rng() % 2 ? NULL : &b, ipb);
        n = l2 + 28;
    } else { /* UDP */
        size_t len = rng() % 4 == 0 ? rng() % 1473 : rng() % 64;
        if (1 + 4 + ETHER_UDP_HDRS + len + 64 > cap)
            len = 0;
        if (1 + 4 + ETHER_UDP_HDRS + 64 > cap)
            return 0;
        bool offload = rng() % 4 == 0;
        ether_udp_write(f + (l2 - ETHER_HDR), &a, &b, ipa, (uint16_t)rng(), ipb, (uint16_t)rng(), len,
                        (uint16_t)rng(), offload);
        for (size_t i = 0; i < len; i++)
            f[l2 + ETHER_IPV4_HDR + ETHER_UDP_HDR + i] = (uint8_t)('a' + i % 26);
        if (offload)
            buf[0] |= 1; /* the device checked it */
        n = l2 + ETHER_IPV4_HDR + ETHER_UDP_HDR + len;
    }
    if (tag) { /* the MAC addresses before the tag, the ethertype after it */
        memmove(f, f + 4, 12);
        f[12] = 0x81;
        f[13] = 0x00;
        uint16_t tci = (uint16_t)(rng() & 0xefff);
        f[14] = (uint8_t)(tci >> 8);
        f[15] = (uint8_t)tci;
    }
    if (rng() % 2) { /* padded to the Ethernet minimum, or a little beyond */
        size_t to = rng() % 4 ? 60 : 68;
        while (n < to)
            f[n++] = (uint8_t)rng();
    }
    return 1 + n;
}
