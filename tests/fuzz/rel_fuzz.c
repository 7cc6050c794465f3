/* SPDX-License-Identifier: MIT */
/* rel_fuzz.c — fuzz target for the datagram transports' receiving side
 * (transport/rel.h): the input is a run of datagrams, each a 2-byte length
 * and its bytes, fed to one reliability layer instance as if from node 1;
 * between datagrams it sends what it owes. Whatever the bytes, it must not
 * crash, and every message it delivers is whole and within the maximum. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "rel.h"

#define MAXMSG 8192u
#define DGRAM 512u

static unsigned char out[DGRAM];

static void deliver(void *arg, const struct frame_hdr *h, const void *payload)
{
    (void)arg;
    if (h->len > MAXMSG || (!payload && h->len) || (h->flags & FRAME_F_MORE))
        __builtin_trap();
    volatile unsigned char sink = 0;
    for (uint32_t i = 0; i < h->len; i++) /* every payload byte is readable */
        sink ^= ((const unsigned char *)payload)[i];
    (void)sink;
}

static unsigned char *buf(void *arg) { (void)arg; return out; }

static void emit(void *arg, unsigned char *b, size_t len, const struct sockaddr *to, socklen_t tl)
{
    (void)arg;
    if (len > DGRAM || b != out || (len && (!to || !tl)))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(0x7f000001)};
    struct transport_peer peer = {.node = 1, .addrlen = sizeof(a)};
    memcpy(&peer.addr, &a, sizeof(a));
    struct rel_config c = {.node = 2, .peers = &peer, .npeers = 1, .dgram_max = DGRAM,
                           .max_msg = MAXMSG, .queue_limit = 1 << 20, .window = 16, .epoch = 5,
                           .deliver = deliver};
    struct rel *r;
    if (rel_open(&c, &r) != 0)
        __builtin_trap();
    uint64_t now = 1000000;
    /* Something of its own in flight, so acknowledgements have a target. */
    struct transport_msg m = {.type = 1, .payload = "0123456789", .len = 10};
    for (int i = 0; i < 4; i++)
        rel_send(r, 1, &m, 1);
    while (size >= 2) {
        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        int rc = rel_input(r, now, data, n, (const struct sockaddr *)&a, sizeof(a));
        if (rc > 0)
            __builtin_trap();
        data += n;
        size -= n;
        now += 300000;
        rel_output(r, now, buf, emit, NULL);
    }
    rel_close(r);
    return 0;
}

/* A few datagrams as node 1 would send them: a HELLO then DATA frames
 * (some fragments), or ACKs of node 2's epoch. */
size_t FuzzValidInput(uint8_t *b, size_t cap, uint64_t (*rng)(void))
{
    size_t len = 0;
    uint64_t seq = 1;
    for (unsigned d = 1 + (unsigned)(rng() % 4); d; d--) {
        unsigned char dg[DGRAM];
        size_t n = FRAME_HDR;
        bool ack = rng() % 4 == 0;
        struct frame_hdr h = {.kind = ack ? FRAME_ACK : FRAME_HELLO, .src_node = 1,
                              .type = ack ? 5 : 1 + rng() % 3, .seq = ack ? rng() % 5 : seq,
                              .len = ack ? (uint32_t)(rng() % 3) : 0};
        frame_encode(dg, &h);
        memset(dg + FRAME_HDR, 0xff, h.len);
        n += h.len;
        for (unsigned k = ack ? 0 : 1 + (unsigned)(rng() % 3); k; k--) {
            struct frame_hdr f = {.kind = FRAME_DATA, .flags = (uint16_t)(rng() % 3 == 0),
                                  .src_node = 1, .len = (uint32_t)(rng() % 100), .type = 7,
                                  .seq = seq++};
            if (n + FRAME_HDR + f.len > sizeof(dg))
                break;
            frame_encode(dg + n, &f);
            memset(dg + n + FRAME_HDR, 'p', f.len);
            n += FRAME_HDR + f.len;
        }
        if (len + 2 + n > cap)
            break;
        b[len] = (uint8_t)n;
        b[len + 1] = (uint8_t)(n >> 8);
        memcpy(b + len + 2, dg, n);
        len += 2 + n;
    }
    return len;
}
