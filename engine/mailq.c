/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mailq.h"

static struct mq_chunk *chunk_new(struct mailq *q, size_t need)
{
    struct mq_chunk *c = NULL;
    if (q->spare && q->spare->cap >= need) {
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
        if (c)
            c->next = n;
        else
            q->first = n;
        q->last = c = n;
    }
    ts_msg *m = (ts_msg *)(void *)(c->data + c->tail);
    memset(m, 0, sizeof(*m));
    m->len = (uint32_t)len;
    c->tail += need;
    q->count++;
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

void mailq_foreach(struct mailq *q, void (*fn)(ts_msg *m, void *arg), void *arg)
{
    for (struct mq_chunk *c = q->first; c; c = c->next) {
        for (size_t off = c->head; off < c->tail;) {
            ts_msg *m = (ts_msg *)(void *)(c->data + off);
            off += mailq_record_size(m->len);
            fn(m, arg);
        }
    }
}

void mailq_fini(struct mailq *q)
{
    if (!q)
        return;
    for (struct mq_chunk *c = q->first, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(q->spare);
    memset(q, 0, sizeof(*q));
}

_Static_assert(offsetof(struct mq_chunk, data) % 8 == 0, "records are 8-aligned");
