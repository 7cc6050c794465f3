/* SPDX-License-Identifier: MIT */
/* frame_fuzz.c — fuzz target for the wire format's decoder and the TCP
 * stream reader (transport/frame.h). The first byte picks the piece size the
 * rest is fed in; the reader must give frames whose payloads lie inside what
 * it was fed or gathered, each within the maximum, and refuse the stream for
 * good once it is malformed. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "frame.h"

#define MAXP 4096u

struct seen {
    size_t frames, bytes;
};

static int on_frame(void *arg, const struct frame_hdr *h, const void *payload)
{
    struct seen *s = arg;
    if (h->len > MAXP || h->kind >= FRAME_KINDS || (h->flags & ~FRAME_F_KNOWN) || (!payload && h->len))
        __builtin_trap();
    volatile unsigned char sink = 0;
    for (uint32_t i = 0; i < h->len; i++) /* every payload byte is readable */
        sink ^= ((const unsigned char *)payload)[i];
    (void)sink;
    s->frames++;
    s->bytes += FRAME_HDR + h->len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = 1 + data[0] % 64;
    data++;
    size--;
    struct frame_hdr h;
    int rc = frame_decode(data, size, MAXP, &h);
    if (rc != 0 && rc != -EAGAIN && rc != -EPROTO && rc != -EPROTONOSUPPORT && rc != -EBADMSG &&
        rc != -EMSGSIZE)
        __builtin_trap();
    if (rc == 0) { /* what decodes encodes back to the same bytes */
        unsigned char back[FRAME_HDR];
        frame_encode(back, &h);
        if (memcmp(back, data, FRAME_HDR) != 0)
            __builtin_trap();
    }
    struct frame_reader r;
    frame_reader_init(&r, MAXP);
    struct seen s = {0};
    int err = 0;
    for (size_t at = 0; at < size; at += piece) {
        size_t n = size - at < piece ? size - at : piece;
        int f = frame_reader_feed(&r, data + at, n, on_frame, &s);
        if (err && f != err) /* sticky */
            __builtin_trap();
        if (f < 0)
            err = f;
    }
    /* Frames delivered plus what is held never exceed what went in. */
    if (!err && s.bytes + frame_reader_pending(&r) != size)
        __builtin_trap();
    frame_reader_fini(&r);
    return 0;
}

/* A piece size, then a stream of a few well-formed frames. */
size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void))
{
    size_t len = 1;
    buf[0] = (uint8_t)rng();
    for (unsigned k = 1 + (unsigned)(rng() % 4); k; k--) {
        struct frame_hdr h = {.kind = (uint8_t)(rng() % FRAME_KINDS), .flags = (uint16_t)(rng() & FRAME_F_KNOWN),
                              .src_node = (uint16_t)rng(), .len = (uint32_t)(rng() % 300),
                              .dst = rng(), .src = rng(), .type = rng(), .seq = rng()};
        if (len + FRAME_HDR + h.len > cap)
            break;
        frame_encode(buf + len, &h);
        memset(buf + len + FRAME_HDR, 'p', h.len);
        len += FRAME_HDR + h.len;
    }
    return len;
}
