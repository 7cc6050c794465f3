/* SPDX-License-Identifier: MIT */
/* timer_heap.h — a binary min-heap of intrusive timer nodes ordered by
 * (deadline, seq), with O(log n) removal of any node (timers die with their
 * actor). Equal deadlines fire in the order they were pushed. */
#ifndef TS_ENGINE_TIMER_HEAP_H
#define TS_ENGINE_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct th_node {
    uint64_t deadline; /* monotonic ns */
    uint64_t seq;      /* set by th_push: ties break in push order */
    size_t idx;        /* position in the heap; owned by the heap */
};

struct timer_heap {
    struct th_node **v;
    size_t n, cap;
    uint64_t next_seq;
};

/* Adds node (its deadline set by the caller). Returns 0 or -ENOMEM. */
int th_push(struct timer_heap *h, struct th_node *node);
/* The earliest node, or NULL when empty. */
static inline struct th_node *th_peek(const struct timer_heap *h) { return h->n ? h->v[0] : NULL; }
/* Removes and returns the earliest node, or NULL when empty. */
struct th_node *th_pop(struct timer_heap *h);
/* Removes node, which must be in h. */
void th_remove(struct timer_heap *h, struct th_node *node);
/* Frees the heap's array (not the nodes). NULL-safe. */
void th_fini(struct timer_heap *h);

#endif
