/* SPDX-License-Identifier: MIT */
/*
 * spill.h — overflow queues that survive their shard process (design §3,
 * §5). A crash-safe shard releases a message once what its handler sent is
 * safe; what did not fit a full ring waits in the port's overflow, so that
 * overflow lives in shared memory (a pooled mailq) and is committed together
 * with the ring it drains into:
 *
 *   handler pushes ──▶ overflow ──unspill──▶ ring reservations
 *   flush:  spill_pend (head after unspill, ring end once published)
 *           ring_publish
 *           spill_commit (head and tail, one flip of a double buffer)
 *
 * A successor's spill_recover takes the last committed tail (pushes since
 * then belong to the message in flight, which is redelivered) and the
 * committed head, or the pending head when its ring was published: what
 * moved into the ring is never pushed twice, what did not is never lost.
 * Chunks are given back to the pool only after the commit that stops
 * naming them, so a crash at any instruction leaks a chunk at worst.
 */
#ifndef TS_ENGINE_SPILL_H
#define TS_ENGINE_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "../shm/ring.h"
#include "mailq.h"

/* A position in a queue: a chunk, a byte offset in it, and how many
 * messages come before it (ever). chunk NULL: nothing committed yet. */
struct spill_mark {
    struct mq_chunk *chunk;
    uint64_t off, seq;
};

struct spill_port {
    struct mailq q;                   /* the working queue */
    struct spill_mark commit[2][2];   /* [slot][0 head, 1 tail] */
    RING_ATOMIC_U32 cur;              /* the committed slot */
    RING_ATOMIC_U32 pend_valid;
    struct spill_mark pend;           /* the head once pend_tail is published */
    uint64_t pend_tail;
};

struct spill_arena {
    struct mq_pool pool;
    unsigned nports;
    struct spill_port ports[];
};

/* Lays out an arena of nports queues in size bytes at mem (zeroed, 64-byte
 * aligned). NULL when size cannot hold the ports and one chunk. */
struct spill_arena *spill_arena_init(void *mem, size_t size, unsigned nports);

/* Flush, before publishing the port's ring r (after moving what fits). */
void spill_pend(struct spill_port *sp, const struct ring *r);
/* Flush, once r is published: the queue as it is now is the committed one. */
void spill_commit(struct spill_port *sp);
/* A successor, after ring_producer_recover(r): the queue as committed.
 * Returns how many messages it holds. */
size_t spill_recover(struct spill_port *sp, const struct ring *r);

#endif
