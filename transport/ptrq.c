/* SPDX-License-Identifier: MIT */
/* ptrq.c — see ptrq.h. */
#include "ptrq.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

struct cell {
    _Atomic uint64_t seq; /* pos: free for the producer of pos; pos + 1: holds pos's pointer */
    void *p;
};

struct ptrq {
    _Alignas(64) _Atomic uint64_t tail; /* the producers' next position */
    _Alignas(64) uint64_t head;         /* the consumer's next position */
    _Alignas(64) uint64_t mask;
    struct cell cells[];
};

struct ptrq *ptrq_new(size_t cap)
{
    if (cap > (size_t)1 << 30)
        return NULL;
    size_t n = 2;
    while (n < cap)
        n <<= 1;
    struct ptrq *q = aligned_alloc(64, (sizeof(*q) + n * sizeof(struct cell) + 63) & ~(size_t)63);
    if (!q)
        return NULL;
    atomic_init(&q->tail, 0);
    q->head = 0;
    q->mask = n - 1;
    for (size_t i = 0; i < n; i++) {
        atomic_init(&q->cells[i].seq, i);
        q->cells[i].p = NULL;
    }
    return q;
}

void ptrq_free(struct ptrq *q) { free(q); }

size_t ptrq_capacity(const struct ptrq *q) { return (size_t)q->mask + 1; }

bool ptrq_push(struct ptrq *q, void *p)
{
    uint64_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
    for (;;) {
        struct cell *c = &q->cells[pos & q->mask];
        uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        int64_t diff = (int64_t)(seq - pos);
        if (diff == 0) {
            /* Its turn is ours if no other producer claims it first. */
            if (atomic_compare_exchange_weak_explicit(&q->tail, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                c->p = p;
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                return true;
            }
            /* pos was reloaded by the failed exchange. */
        } else if (diff < 0) {
            return false; /* the cell still holds the previous lap's pointer: full */
        } else {
            pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
        }
    }
}

unsigned ptrq_pop(struct ptrq *q, void **out, unsigned max)
{
    unsigned n = 0;
    while (n < max) {
        struct cell *c = &q->cells[q->head & q->mask];
        if (atomic_load_explicit(&c->seq, memory_order_acquire) != q->head + 1)
            break; /* empty, or its producer has claimed it and not yet written */
        out[n++] = c->p;
        atomic_store_explicit(&c->seq, q->head + q->mask + 1, memory_order_release);
        q->head++;
    }
    return n;
}
