/* SPDX-License-Identifier: MIT */
/*
 * ptrq.h — a bounded many-producer, one-consumer queue of pointers, between
 * threads of one process: how a dpdk shard hands a received frame to the
 * shard it is for (dpdk.c's software steering).
 *
 * Each cell carries a sequence number that says whose turn it is (the
 * bounded queue of D. Vyukov): a producer claims a position with one
 * compare-and-swap on the tail, writes its pointer and publishes the cell
 * by storing position + 1; the consumer takes a cell whose sequence says
 * it is published and gives it back to the producers of the next lap by
 * storing position + capacity. Every hand-over is a C11 release/acquire
 * pair, so the sanitizers see it (DPDK's rte_ring orders with its own
 * barriers, which ThreadSanitizer does not understand).
 *
 * Nothing here blocks, allocates after ptrq_new, or makes a syscall.
 */
#ifndef TS_TRANSPORT_PTRQ_H
#define TS_TRANSPORT_PTRQ_H

#include <stdbool.h>
#include <stddef.h>

struct ptrq;

/* A queue of at least cap pointers (rounded up to a power of two, at
 * least 2), or NULL when out of memory or cap is above 2^30. */
struct ptrq *ptrq_new(size_t cap);
void ptrq_free(struct ptrq *q);

/* Any thread: queues p (not NULL). false when the queue is full. */
bool ptrq_push(struct ptrq *q, void *p);

/* The consumer only: takes up to max pointers, oldest first; how many. */
unsigned ptrq_pop(struct ptrq *q, void **out, unsigned max);

/* How many pointers the queue holds. */
size_t ptrq_capacity(const struct ptrq *q);

#endif
