/* SPDX-License-Identifier: MIT */
/* spill.c — overflow queues that survive their shard process (spill.h). */
#include "spill.h"

/* A process can die between any two stores: the stores that make a new
 * state official happen in program order, after the state they name. */
#define CRASH_ORDER() atomic_signal_fence(memory_order_seq_cst)

static struct spill_mark head_mark(const struct mailq *q)
{
    return (struct spill_mark){q->first, q->first ? q->first->head : 0, q->pushed - q->count};
}

static struct spill_mark tail_mark(const struct mailq *q)
{
    return (struct spill_mark){q->last, q->last ? q->last->tail : 0, q->pushed};
}

struct spill_arena *spill_arena_init(void *mem, size_t size, unsigned nports)
{
    size_t hdr = (sizeof(struct spill_arena) + nports * sizeof(struct spill_port) + 63) & ~(size_t)63;
    if (size < hdr + sizeof(struct mq_chunk) + MAILQ_CHUNK)
        return NULL;
    struct spill_arena *a = mem;
    mq_pool_init(&a->pool, (unsigned char *)mem + hdr, size - hdr);
    a->nports = nports;
    for (unsigned i = 0; i < nports; i++)
        mailq_init_pooled(&a->ports[i].q, &a->pool);
    return a;
}

void spill_pend(struct spill_port *sp, const struct ring *r)
{
    sp->pend = head_mark(&sp->q);
    sp->pend_tail = r->write;
    CRASH_ORDER();
    atomic_store_explicit(&sp->pend_valid, 1, memory_order_relaxed);
}

/* Gives back the chunks from `from` up to, not including, `to`. */
static void put_chain(struct mq_pool *pool, struct mq_chunk *from, struct mq_chunk *to)
{
    for (struct mq_chunk *c = from, *n; c && c != to; c = n) {
        n = c->next;
        mq_pool_put(pool, c);
    }
}

/* Makes the queue as it is the committed one; returns the old head chunk. */
static struct mq_chunk *flip(struct spill_port *sp)
{
    uint32_t cur = atomic_load_explicit(&sp->cur, memory_order_relaxed);
    struct mq_chunk *old = sp->commit[cur][0].chunk;
    sp->commit[cur ^ 1][0] = head_mark(&sp->q);
    sp->commit[cur ^ 1][1] = tail_mark(&sp->q);
    CRASH_ORDER();
    atomic_store_explicit(&sp->cur, cur ^ 1, memory_order_relaxed);
    CRASH_ORDER();
    atomic_store_explicit(&sp->pend_valid, 0, memory_order_relaxed);
    CRASH_ORDER();
    return old;
}

void spill_commit(struct spill_port *sp)
{
    /* Chunks the head left behind are named by no committed state now. */
    put_chain(sp->q.pool, flip(sp), sp->q.first);
}

size_t spill_recover(struct spill_port *sp, const struct ring *r)
{
    struct mailq *q = &sp->q;
    uint32_t cur = atomic_load_explicit(&sp->cur, memory_order_relaxed);
    struct spill_mark ch = sp->commit[cur][0], t = sp->commit[cur][1], h = ch;
    if (atomic_load_explicit(&sp->pend_valid, memory_order_relaxed) &&
        atomic_load_explicit(&r->tail, memory_order_relaxed) >= sp->pend_tail)
        h = sp->pend; /* what the head passed is in the ring already */
    struct mq_chunk *extra;
    if (!t.chunk) { /* nothing committed: all of it came from the message in flight */
        extra = q->first;
        mailq_init_pooled(q, q->pool);
        flip(sp);
        put_chain(q->pool, extra, NULL);
        return 0;
    }
    if (h.seq >= t.seq) { /* the in-flight handler's own sends were moved on too */
        extra = h.chunk->next;
        h.chunk->next = NULL;
        h.chunk->head = h.chunk->tail = h.off;
        q->last = h.chunk;
        q->pushed = h.seq;
    } else {
        extra = t.chunk->next;
        t.chunk->next = NULL;
        h.chunk->head = h.off;
        /* Moves since the commit read on into later chunks: those start at
         * their beginning again (a chunk after the first is read from 0). */
        for (struct mq_chunk *c = h.chunk; c != t.chunk;) {
            c = c->next;
            c->head = 0;
        }
        t.chunk->tail = t.off;
        q->last = t.chunk;
        q->pushed = t.seq;
    }
    q->first = h.chunk;
    q->count = (size_t)(q->pushed - h.seq);
    flip(sp);
    put_chain(q->pool, ch.chunk, h.chunk);
    put_chain(q->pool, extra, NULL);
    return q->count;
}
