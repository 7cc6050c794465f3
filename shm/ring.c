/* SPDX-License-Identifier: MIT */
/*
 * ring.c — the SPSC record ring of ring.h. docs/mailbox.md draws the layout
 * and tabulates the pairings below.
 *
 * Two shared indices carry every synchronisation:
 *   tail: stored by the producer only (P1, release), loaded by the consumer
 *         (C1 acquire, C3 seq_cst);
 *   head: stored by the consumer only (C2, release), loaded by the producer
 *         (P2, acquire).
 * Each side loads its own index relaxed (no other writer) and keeps
 * everything else in fields only it touches. Both indices only grow, so a
 * stale cached copy of the other side's index only ever understates what
 * is there: free space for the producer, published records for the consumer.
 */
#include <errno.h>

#include "ring.h"

/* Indices live in memory shared between processes: they must be real
 * atomics, not a lock-protected emulation. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "ring indices need lock-free 64-bit atomics");
_Static_assert(sizeof(uint64_t) == sizeof(unsigned long long), "u64 is long long");
_Static_assert(offsetof(struct ring, data) == 5 * RING_CACHE_LINE, "a header of five lines");

struct ring_rec {
    uint32_t len;
    uint32_t flags;
};
_Static_assert(sizeof(struct ring_rec) == RING_HDR, "record header is RING_HDR bytes");

/* Bytes a record with a payload of len takes. */
static inline uint64_t rec_size(size_t len)
{
    return RING_HDR + (((uint64_t)len + 7) & ~(uint64_t)7);
}

static inline struct ring_rec *rec_at(struct ring *r, uint64_t index)
{
    return (struct ring_rec *)(void *)(r->data + (index & r->mask));
}

size_t ring_footprint(size_t size)
{
    return sizeof(struct ring) + size;
}

int ring_init(struct ring *r, size_t size)
{
    if (size < 4096 || (size & (size - 1)) != 0 || (uintptr_t)r % RING_CACHE_LINE != 0)
        return -EINVAL;
    /* Relaxed: the ring reaches the other side by whatever hands over the
     * memory (thread creation, the admin starting a shard process), which
     * orders these stores before any use. */
    atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
    atomic_store_explicit(&r->head, 0, memory_order_relaxed);
    r->write = r->cached_head = 0;
    r->read = r->cached_tail = 0;
    r->size = size;
    r->mask = size - 1;
    return 0;
}

/* ---- producer ---------------------------------------------------------- */

/* Whether `need` bytes from write on are free, reloading head only when the
 * cached copy says they are not. */
static int room_for(struct ring *r, uint64_t need)
{
    if (r->write + need - r->cached_head <= r->size)
        return 1;
    /* P2: acquire — takes the space the consumer gave back; pairs with C2,
     * so the consumer's reads of those records happen before we overwrite
     * them. */
    r->cached_head = atomic_load_explicit(&r->head, memory_order_acquire);
    return r->write + need - r->cached_head <= r->size;
}

void *ring_reserve(struct ring *r, size_t len, uint32_t flags)
{
    if (len > ring_max_record(r) || (flags & RING_F_PAD))
        return NULL;
    uint64_t size = rec_size(len);
    uint64_t to_end = r->size - (r->write & r->mask); /* a multiple of 8, > 0 */
    uint64_t pad = size > to_end ? to_end : 0;
    if (!room_for(r, pad + size))
        return NULL;
    if (pad) {
        /* Padding is published together with the record after it, so the
         * consumer never sees a published padding record at its tail. */
        *rec_at(r, r->write) = (struct ring_rec){(uint32_t)(pad - RING_HDR), RING_F_PAD};
        r->write += pad;
    }
    struct ring_rec *h = rec_at(r, r->write);
    *h = (struct ring_rec){(uint32_t)len, flags};
    r->write += size;
    return h + 1;
}

int ring_publish(struct ring *r)
{
    /* P0: relaxed — the producer's own index; nobody else stores it. */
    if (atomic_load_explicit(&r->tail, memory_order_relaxed) == r->write)
        return 0;
    /* P1: release — publishes the records in [old tail, write) to the
     * consumer; pairs with C1 (and C3). */
    atomic_store_explicit(&r->tail, r->write, memory_order_release);
    return 1;
}

void ring_producer_recover(struct ring *r)
{
    /* P0: relaxed — own index. Reservations never published are dropped. */
    r->write = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* P2: acquire — as in room_for; pairs with C2. */
    r->cached_head = atomic_load_explicit(&r->head, memory_order_acquire);
}

/* ---- consumer ---------------------------------------------------------- */

void *ring_front(struct ring *r, uint32_t *len, uint32_t *flags)
{
    if (r->read == r->cached_tail) {
        /* C1: acquire — takes the records the producer published; pairs
         * with P1, so their headers and payloads are visible. */
        r->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (r->read == r->cached_tail)
            return NULL;
    }
    struct ring_rec *h = rec_at(r, r->read);
    if (h->flags & RING_F_PAD) {
        /* The record after a padding record was published with it. */
        r->read += RING_HDR + h->len;
        h = rec_at(r, r->read);
    }
    *len = h->len;
    *flags = h->flags;
    return h + 1;
}

void ring_pop(struct ring *r)
{
    r->read += rec_size(rec_at(r, r->read)->len);
}

void ring_release(struct ring *r)
{
    /* C0: relaxed — own index. Skipping a store that changes nothing keeps
     * the line shared with a producer that has just read it. */
    if (atomic_load_explicit(&r->head, memory_order_relaxed) == r->read)
        return;
    /* C2: release — gives [old head, read) back to the producer, ordering
     * every read of those records before it; pairs with P2. */
    atomic_store_explicit(&r->head, r->read, memory_order_release);
}

int ring_empty(struct ring *r)
{
    /* C3: seq_cst — as C1, and also ordered after the consumer's seq_cst
     * announcement of sleep, against the producer's seq_cst fence after P1
     * (the engine's sleep protocol, docs/mailbox.md). */
    r->cached_tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);
    return r->cached_tail == r->read;
}

void ring_foreach_unread(struct ring *r, void (*fn)(void *rec, uint32_t len, uint32_t flags,
                                                    void *arg),
                         void *arg)
{
    /* C1: acquire — as ring_front: the records up to tail are whole. */
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    for (uint64_t at = r->read; at < tail;) {
        struct ring_rec *h = rec_at(r, at);
        if (!(h->flags & RING_F_PAD))
            fn(h + 1, h->len, h->flags, arg);
        at += h->flags & RING_F_PAD ? RING_HDR + h->len : rec_size(h->len);
    }
}

void ring_consumer_recover(struct ring *r)
{
    /* C0: relaxed — the consumer's own index. Popped but unreleased records
     * are read again. */
    r->read = r->cached_tail = atomic_load_explicit(&r->head, memory_order_relaxed);
}
