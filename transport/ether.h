/* SPDX-License-Identifier: MIT */
/*
 * ether.h — Ethernet II, IPv4, UDP and ARP as the dpdk backend writes and
 * reads them (design §7), on plain bytes: no DPDK type here, so it is
 * unit-tested and fuzzed in every build (tests/unit/ether_test.cc,
 * tests/fuzz/ether_fuzz.c).
 *
 * What is sent: one UDP datagram per Ethernet frame, IPv4 without options,
 * never fragmented at the IP level (the reliability layer fragments
 * messages itself), DF set, TTL 64, UDP checksum 0 (allowed over IPv4; the
 * Ethernet CRC covers the wire). What is read: Ethernet II frames, with or
 * without one 802.1Q tag, carrying IPv4/UDP or ARP; anything else is "not
 * for us" and counted by the caller, never an error that costs a link.
 *
 * Byte order: IPv4 addresses are kept in network order (as in struct
 * in_addr), ports in host order.
 */
#ifndef TS_TRANSPORT_ETHER_H
#define TS_TRANSPORT_ETHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETHER_HDR 14u
#define ETHER_VLAN_HDR 18u
#define ETHER_IPV4_HDR 20u
#define ETHER_UDP_HDR 8u
/* Ethernet + IPv4 + UDP headers as ether_udp_write writes them. */
#define ETHER_UDP_HDRS (ETHER_HDR + ETHER_IPV4_HDR + ETHER_UDP_HDR)
/* An ARP frame for IPv4 over Ethernet (no padding: the device pads). */
#define ETHER_ARP_FRAME (ETHER_HDR + 28u)
/* The largest UDP payload in one frame of an MTU of mtu bytes. */
#define ETHER_UDP_PAYLOAD(mtu) ((mtu) - ETHER_IPV4_HDR - ETHER_UDP_HDR)

struct ether_mac {
    uint8_t b[6];
};

enum ether_kind {
    ETHER_NOT_OURS, /* another ethertype, IP protocol, an IP fragment, ... */
    ETHER_UDP,      /* an IPv4 UDP datagram */
    ETHER_ARP,      /* an ARP request or reply for IPv4 over Ethernet */
};

enum ether_arp_op { ETHER_ARP_REQUEST = 1, ETHER_ARP_REPLY = 2 };

/* What ether_parse found: pointers into the frame it read. */
struct ether_info {
    enum ether_kind kind;
    struct ether_mac dst_mac, src_mac;
    /* ETHER_UDP */
    uint32_t src_ip, dst_ip; /* network order */
    uint16_t src_port, dst_port;
    const uint8_t *payload;  /* the UDP payload */
    size_t len;
    /* ETHER_ARP */
    enum ether_arp_op arp_op;
    struct ether_mac arp_sha, arp_tha; /* sender's and target's hardware address */
    uint32_t arp_spa, arp_tpa;         /* sender's and target's IPv4 address (network order) */
};

/* Reads one frame of len bytes. Returns 0 with *out filled (kind says what
 * it is; ETHER_NOT_OURS is not an error), or -EBADMSG when it claims to be
 * IPv4/UDP or ARP but is malformed: truncated, a header length or total
 * length that does not fit, a UDP length that disagrees with IP's, a bad
 * IPv4 header checksum (checked unless ip_csum_ok says the device already
 * did), a version other than 4. Bytes past the IP total length (Ethernet
 * padding) are ignored. */
int ether_parse(const void *frame, size_t len, bool ip_csum_ok, struct ether_info *out);

/* Writes the Ethernet, IPv4 and UDP headers (ETHER_UDP_HDRS bytes) of a
 * datagram of payload_len bytes at out; the payload follows them. The IPv4
 * header checksum is computed unless ip_csum_offload (then it is left 0 for
 * the device to fill). id is the IPv4 identification. payload_len must
 * leave the IP total length within 65535. */
void ether_udp_write(uint8_t *out, const struct ether_mac *src_mac, const struct ether_mac *dst_mac,
                     uint32_t src_ip, uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
                     size_t payload_len, uint16_t id, bool ip_csum_offload);

/* Writes an ARP frame (ETHER_ARP_FRAME bytes) at out: a request from
 * (sha, spa) for tpa, broadcast; or a reply from (sha, spa) to (tha, tpa),
 * sent to tha. */
void ether_arp_write(uint8_t *out, enum ether_arp_op op, const struct ether_mac *sha, uint32_t spa,
                     const struct ether_mac *tha, uint32_t tpa);

/* The Internet checksum (RFC 1071) of len bytes: the value to store in a
 * header whose checksum field is 0; 0 over a header that holds its correct
 * checksum. */
uint16_t ether_csum(const void *p, size_t len);

/* ff:ff:ff:ff:ff:ff */
extern const struct ether_mac ether_broadcast;

#endif
