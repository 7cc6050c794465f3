/* SPDX-License-Identifier: MIT */
/*
 * frame.h — the wire format between nodes (design §7, docs/protocol.md):
 * every message, acknowledgement and handshake on every transport is a
 * frame, a fixed 48-byte little-endian header and `len` payload bytes.
 *
 *   0      4   5    6      8        10    11  12      16    24    32     40     48
 *   +------+---+----+------+--------+-----+---+-------+-----+-----+------+------+---------
 *   |magic |ver|kind|flags |src node|shard| 0 |  len  | dst | src | type | seq  | payload
 *   +------+---+----+------+--------+-----+---+-------+-----+-----+------+------+---------
 *
 * A header is validated as a whole before anything in it is used; a frame
 * that fails closes its link (the caller's job) with the reason frame_error
 * gives. Nothing here allocates but the stream reader, and nothing blocks.
 */
#ifndef TS_TRANSPORT_FRAME_H
#define TS_TRANSPORT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <thespis/thespis.h>

#define FRAME_MAGIC UINT32_C(0x31465354) /* "TSF1" on the wire */
#define FRAME_VERSION 1u
#define FRAME_HDR 48u

enum frame_kind {
    FRAME_DATA = 0,  /* a message: dst, src, type, payload */
    FRAME_HELLO = 1, /* a link's first frame: src node says who it is */
    FRAME_ACK = 2,   /* reliability layer: seq is the cumulative acknowledgement */
    FRAME_KINDS
};

#define FRAME_F_MORE UINT16_C(1)  /* a fragment: more of this message follows */
#define FRAME_F_KNOWN FRAME_F_MORE /* every flag a version-1 peer may set */

struct frame_hdr {
    uint8_t kind;
    uint16_t flags;
    uint16_t src_node;
    uint8_t shard; /* the sending instance (shard) of src_node: a link is a (node, shard) */
    uint32_t len; /* payload bytes */
    ts_addr dst, src;
    uint64_t type, seq;
};

/* Writes h as FRAME_HDR bytes at out. */
void frame_encode(void *out, const struct frame_hdr *h);

/* Decodes and validates the header at buf (avail bytes). 0 and *h filled;
 * -EAGAIN when avail < FRAME_HDR; or why it is malformed: -EPROTO (magic),
 * -EPROTONOSUPPORT (version), -EBADMSG (kind, unknown flags, reserved bits),
 * -EMSGSIZE (len above max_payload). */
int frame_decode(const void *buf, size_t avail, size_t max_payload, struct frame_hdr *h);

/* A transport instance's incarnation for its HELLOs: the wall-clock time in
 * ns, so an instance opened after a restart has a larger one than any before
 * it, and a receiver tells a new sender from frames delayed from an old one. */
uint64_t frame_epoch(void);

/* A sentence for a frame_decode or frame_reader_feed error. */
const char *frame_error(int rc);

/* Frames out of a byte stream (TCP): bytes go in as they arrive, in pieces
 * of any size; every complete frame comes out once, in order. A frame that
 * lies whole inside one piece is handed out in place; one split across
 * pieces is gathered in the reader's buffer (at most FRAME_HDR + max_payload
 * bytes, allocated as needed). */
typedef int (*frame_fn)(void *arg, const struct frame_hdr *h, const void *payload);

struct frame_reader {
    unsigned char *buf;
    size_t have, cap, max_payload;
    int error; /* sticky: once malformed, the stream is done */
};

void frame_reader_init(struct frame_reader *r, size_t max_payload);
void frame_reader_fini(struct frame_reader *r);
/* Feeds len bytes. Calls fn for every frame they complete; fn returning
 * non-zero stops the feed and is returned (the rest of data is not used).
 * Returns 0, a frame_decode error (sticky), or -ENOMEM. */
int frame_reader_feed(struct frame_reader *r, const void *data, size_t len, frame_fn fn, void *arg);
/* Bytes of a partial frame held (0 at a frame boundary). */
static inline size_t frame_reader_pending(const struct frame_reader *r) { return r->have; }

#endif
