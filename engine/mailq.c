/* SPDX-License-Identifier: MIT */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mailq.h"

/* Compiler barrier: a process can die between any two stores, so the
 * pool's stores happen in program order. */
#define CRASH_ORDER() atomic_signal_fence(memory_order_seq_cst)

void mq_pool_init(struct mq_pool *pool, void *mem, size_t size)
{
    *pool = (struct mq_pool){.mem = mem, .size = size};
}

void mailq_init_pooled(struct mailq *q, struct mq_pool *pool)
{
    *q = (struct mailq){.pool = pool};
}

static struct mq_chunk *pool_get(struct mq_pool *pool)
{
    struct mq_chunk *c = pool->free;
    if (c) {
        pool->free = c->next;
    } else {
        size_t step = sizeof(*c) + MAILQ_CHUNK;
        if (pool->size - pool->bump < step)
            return NULL;
        c = (struct mq_chunk *)(void *)(pool->mem + pool->bump);
        pool->bump += step;
    }
    CRASH_ORDER();
    c->cap = MAILQ_CHUNK;
    return c;
}

void mq_pool_put(struct mq_pool *pool, struct mq_chunk *c)
{
    c->next = pool->free;
    CRASH_ORDER();
    pool->free = c;
}

static struct mq_chunk *chunk_new(struct mailq *q, size_t need)
{
    struct mq_chunk *c = NULL;
    if (q->pool) {
        if (need > MAILQ_CHUNK || !(c = pool_get(q->pool)))
            return NULL;
    } else if (q->spare && q->spare->cap >= need) {
        c = q->spare;
        q->spare = NULL;
    } else {
        size_t cap = need > MAILQ_CHUNK ? need : MAILQ_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->cap = cap;
    }
    c->next = NULL;
    c->head = c->tail = 0;
    CRASH_ORDER(); /* initialised before it is linked */
    return c;
}

ts_msg *mailq_push(struct mailq *q, size_t len)
{
    size_t need = mailq_record_size(len);
    struct mq_chunk *c = q->last;
    if (!c || c->cap - c->tail < need) {
        struct mq_chunk *n = chunk_new(q, need);
        if (!n)
            return NULL;
        if (c && q->count == 0 && !q->pool) { /* the only chunk, and empty: n replaces it */
            if (!q->spare && c->cap == MAILQ_CHUNK)
                q->spare = c;
            else
                free(c);
            c = NULL;
        }
        if (c)
            c->next = n; /* a pooled queue's emptied chunk stays linked */
        if (!c || q->count == 0)
            q->first = n;
        q->last = c = n;
    }
    ts_msg *m = (ts_msg *)(void *)(c->data + c->tail);
    memset(m, 0, sizeof(*m));
    m->len = (uint32_t)len;
    c->tail += need;
    q->count++;
    q->pushed++;
    return m;
}

ts_msg *mailq_peek(const struct mailq *q)
{
    struct mq_chunk *c = q->first;
    if (!c || c->head == c->tail)
        return NULL;
    return (ts_msg *)(void *)(c->data + c->head);
}

void mailq_pop(struct mailq *q)
{
    struct mq_chunk *c = q->first;
    ts_msg *m = mailq_peek(q);
    if (!m)
        return;
    c->head += mailq_record_size(m->len);
    q->count--;
    if (c->head < c->tail)
        return;
    if (q->pool) { /* the chunk stays linked until its owner gives it back */
        if (c->next)
            q->first = c->next;
        return;
    }
    if (c->next) {
        q->first = c->next;
        if (!q->spare && c->cap == MAILQ_CHUNK)
            q->spare = c;
        else
            free(c);
    } else {
        c->head = c->tail = 0; /* the only chunk: reuse it in place */
    }
}

void mailq_foreach_until(struct mailq *q, int (*fn)(ts_msg *m, void *arg), void *arg)
{
    for (struct mq_chunk *c = q->first; c; c = c->next) {
        for (size_t off = c->head; off < c->tail;) {
            ts_msg *m = (ts_msg *)(void *)(c->data + off);
            off += mailq_record_size(m->len);
            if (fn(m, arg))
                return;
        }
    }
}

struct each {
    void (*fn)(ts_msg *m, void *arg);
    void *arg;
};

static int each_one(ts_msg *m, void *arg)
{
    struct each *e = arg;
    e->fn(m, e->arg);
    return 0;
}

void mailq_foreach(struct mailq *q, void (*fn)(ts_msg *m, void *arg), void *arg)
{
    struct each e = {fn, arg};
    mailq_foreach_until(q, each_one, &e);
}

void mailq_fini(struct mailq *q)
{
    if (!q || q->pool)
        return;
    for (struct mq_chunk *c = q->first, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(q->spare);
    memset(q, 0, sizeof(*q));
}

_Static_assert(offsetof(struct mq_chunk, data) % 8 == 0, "records are 8-aligned");
