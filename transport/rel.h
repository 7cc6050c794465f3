/* SPDX-License-Identifier: MIT */
/*
 * rel.h — the reliability layer of the datagram transports (design §7):
 * reliable, in-order delivery per sending (node, shard) over datagrams that
 * may be lost, duplicated, reordered or delayed. `udp` and `dpdk` share it:
 * a backend only moves datagrams (rel_input in, rel_output out) and keeps
 * time; everything else is here, with no socket and no clock of its own, so
 * it is tested by feeding it datagrams (tests/unit/rel_test.cc) and fuzzed
 * (tests/fuzz/rel_fuzz.c).
 *
 * A data datagram is a HELLO frame then whole DATA frames:
 *
 *   HELLO {src node, shard, type = epoch, seq = S, MORE: S continues a message}
 *   DATA {seq s} DATA {seq s+1} ...         (any of them may be resent)
 *
 * The HELLO names the sending link and its incarnation (epoch: the time the
 * sender's instance opened, so a restarted one has a larger one), and S, its
 * oldest frame not yet acknowledged. A receiver that sees a larger epoch, or
 * that never saw this link (it restarted), starts again at S; a smaller epoch
 * is a datagram from before a restart and is dropped. Each message is one
 * frame or, when longer than a datagram, fragments flagged MORE but the last.
 *
 * An ACK datagram holds ACK frames, each {src node, shard, type = the epoch
 * acknowledged, seq = cumulative: every frame up to it delivered, payload: a
 * bitmap of frames received beyond a gap (bit i: seq + 2 + i)}. The sender
 * keeps every frame until acknowledged, resends what a SACK shows missing
 * after a round trip, resends everything unacknowledged when its timer
 * (RTO from measured round trips, doubling on each expiry) runs out, and
 * keeps at most `window` frames in flight.
 *
 * The peer table changes at runtime (rel_peer_set, rel_peer_del): a link
 * added after open has an epoch of its own, above every one the instance
 * gave before, so a peer that still numbers an earlier link from here (the
 * node deleted and added again) starts afresh; a link moved to a new
 * address sends everything unacknowledged there again at once.
 */
#ifndef TS_TRANSPORT_REL_H
#define TS_TRANSPORT_REL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "transport.h"

#define REL_SACK_BYTES 32u /* selective acknowledgement: 256 frames beyond a gap */

struct rel;

struct rel_config {
    uint16_t node;
    uint8_t shard;
    const struct transport_peer *peers; /* where each peer node's datagrams go (copied) */
    unsigned npeers;
    size_t dgram_max;   /* bytes of one datagram's payload, >= 2 frame headers + 64 */
    size_t max_msg;     /* payload limit of a message */
    size_t queue_limit; /* bytes a link holds unacknowledged before send says -EAGAIN */
    unsigned window;    /* frames in flight per link (0: 1024) */
    uint64_t epoch;     /* this instance's incarnation (0: now, from CLOCK_REALTIME) */
    void (*deliver)(void *arg, const struct frame_hdr *h, const void *payload);
    void (*event)(void *arg, uint16_t node, enum transport_event ev, int err);
    void *arg;
};

/* 0 and *out, or -errno (-EINVAL for a bad configuration, with the reason). */
int rel_open(const struct rel_config *cfg, struct rel **out);
void rel_close(struct rel *r);

/* transport_ops.send's contract: copies n messages into frames for node. */
int rel_send(struct rel *r, uint16_t node, const struct transport_msg *msgs, unsigned n);

/* One datagram received from `from`, at time now (ns, monotonic): delivers
 * what it completes, in order. Returns 0, or why it was malformed (a
 * frame_decode error, -EBADMSG for frames out of place, -EPERM for a node
 * not in the peer table): then nothing after the bad frame is used, the
 * datagram is counted, and nothing else changes. */
int rel_input(struct rel *r, uint64_t now, const void *dgram, size_t len,
              const struct sockaddr *from, socklen_t fromlen);

/* Datagrams out: acknowledgements owed, then resends and new frames each
 * link's window allows. buf(arg) gives room for dgram_max bytes or NULL
 * (no room now: the rest waits); emit(arg, that room, length, to) sends
 * it, or with length 0 (and no address) gives the room back unused.
 * Returns how many datagrams were emitted. */
typedef unsigned char *(*rel_buf_fn)(void *arg);
typedef void (*rel_emit_fn)(void *arg, unsigned char *buf, size_t len, const struct sockaddr *to,
                            socklen_t tolen);
int rel_output(struct rel *r, uint64_t now, rel_buf_fn buf, rel_emit_fn emit, void *arg);

/* When rel_output next has something to do with no datagram arriving
 * meanwhile: 0 now, UINT64_MAX never (nothing in flight). */
uint64_t rel_deadline(const struct rel *r);

/* transport_ops.peer_set and peer_del (transport.h), for the datagram
 * backends: peer_set checks only the address's length (the backend checks
 * its family); -EBUSY from inside rel_input or rel_output (a deliver or
 * event callback). peer_del counts the messages whose last frame is not
 * acknowledged, and forgets what the node sent too. */
int rel_peer_set(struct rel *r, const struct transport_peer *peer);
int rel_peer_del(struct rel *r, uint16_t node);

/* transport_ops.stats: one entry per peer node. */
unsigned rel_stats(const struct rel *r, struct transport_link_stats *out, unsigned max);

/* Datagrams dropped before any link was known (malformed first frame,
 * unknown node). */
uint64_t rel_stray(const struct rel *r);

#endif
