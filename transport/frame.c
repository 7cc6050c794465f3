/* SPDX-License-Identifier: MIT */
/* frame.c — the wire format (frame.h, docs/protocol.md). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"

static void put16(unsigned char *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }
static uint16_t get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }

void frame_encode(void *out, const struct frame_hdr *h)
{
    unsigned char *p = out;
    put32(p, FRAME_MAGIC);
    p[4] = FRAME_VERSION;
    p[5] = h->kind;
    put16(p + 6, h->flags);
    put16(p + 8, h->src_node);
    p[10] = h->shard;
    p[11] = 0;
    put32(p + 12, h->len);
    put64(p + 16, h->dst);
    put64(p + 24, h->src);
    put64(p + 32, h->type);
    put64(p + 40, h->seq);
}

int frame_decode(const void *buf, size_t avail, size_t max_payload, struct frame_hdr *h)
{
    const unsigned char *p = buf;
    if (avail < FRAME_HDR)
        return -EAGAIN;
    if (get32(p) != FRAME_MAGIC)
        return -EPROTO;
    if (p[4] != FRAME_VERSION)
        return -EPROTONOSUPPORT;
    uint16_t flags = get16(p + 6);
    if (p[5] >= FRAME_KINDS || (flags & ~FRAME_F_KNOWN) || p[11] != 0)
        return -EBADMSG;
    uint32_t len = get32(p + 12);
    if (len > max_payload)
        return -EMSGSIZE;
    *h = (struct frame_hdr){.kind = p[5], .flags = flags, .src_node = get16(p + 8),
                            .shard = p[10], .len = len,
                            .dst = get64(p + 16), .src = get64(p + 24), .type = get64(p + 32),
                            .seq = get64(p + 40)};
    return 0;
}

uint64_t frame_epoch(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *frame_error(int rc)
{
    switch (rc) {
    case -EPROTO: return "bad magic: not a thespis frame";
    case -EPROTONOSUPPORT: return "unsupported frame version";
    case -EBADMSG: return "malformed frame header (kind, flags or reserved bits)";
    case -EMSGSIZE: return "frame length above the maximum message size";
    case -ENOMEM: return "out of memory gathering a frame";
    case -EAGAIN: return "truncated frame";
    default: return "bad frame";
    }
}

void frame_reader_init(struct frame_reader *r, size_t max_payload)
{
    *r = (struct frame_reader){.max_payload = max_payload};
}

void frame_reader_fini(struct frame_reader *r)
{
    free(r->buf);
    *r = (struct frame_reader){0};
}

/* Appends n bytes to the gathering buffer, with room for need in all. */
static int gather(struct frame_reader *r, const unsigned char *p, size_t n, size_t need)
{
    if (need < r->have + n)
        need = r->have + n;
    if (r->cap < need) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < need)
            cap *= 2;
        unsigned char *b = realloc(r->buf, cap);
        if (!b)
            return -ENOMEM;
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->have, p, n);
    r->have += n;
    return 0;
}

int frame_reader_feed(struct frame_reader *r, const void *data, size_t len, frame_fn fn, void *arg)
{
    const unsigned char *p = data, *end = p + len;
    struct frame_hdr h;
    int rc;
    if (r->error)
        return r->error;
    /* First finish a frame begun in an earlier piece. */
    while (r->have) {
        bool hdr = r->have >= FRAME_HDR;
        size_t want = FRAME_HDR;
        if (hdr) {
            if ((rc = frame_decode(r->buf, r->have, r->max_payload, &h)) < 0)
                return r->error = rc;
            want += h.len;
        }
        size_t take = want - r->have < (size_t)(end - p) ? want - r->have : (size_t)(end - p);
        if ((rc = gather(r, p, take, want)) < 0)
            return r->error = rc;
        p += take;
        if (r->have < want)
            return 0; /* all of data went in; the frame is still short */
        if (!hdr)
            continue; /* the header is whole: now its payload */
        r->have = 0;
        if ((rc = fn(arg, &h, r->buf + FRAME_HDR)))
            return rc;
    }
    /* Then every frame that lies whole in data, in place. */
    while (p < end) {
        rc = frame_decode(p, (size_t)(end - p), r->max_payload, &h);
        if (rc == -EAGAIN || (rc == 0 && (size_t)(end - p) < FRAME_HDR + (size_t)h.len))
            return (rc = gather(r, p, (size_t)(end - p), FRAME_HDR)) < 0 ? (r->error = rc) : 0;
        if (rc < 0)
            return r->error = rc;
        if ((rc = fn(arg, &h, p + FRAME_HDR)))
            return rc;
        p += FRAME_HDR + h.len;
    }
    return 0;
}
