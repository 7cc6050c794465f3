/* SPDX-License-Identifier: MIT */
/* mailq.h — an unbounded single-threaded FIFO of messages (envelope plus
 * payload, 8-byte aligned) in chunks, for run queues and overflows.
 * Appending never moves a queued message, so the message a handler is
 * reading stays valid while the handler sends more. One emptied chunk is
 * kept as a spare, so a steady flow does not malloc.
 *
 * A queue with a pool (mailq_init_pooled) takes its chunks from the pool
 * instead of malloc, and never reuses or gives back a chunk by itself:
 * emptied chunks stay linked behind `first` until the owner hands them
 * back (mailq_pool_put), so that an older view of the queue (spill.h keeps
 * one across a crash) still finds its records intact. */
#ifndef TS_ENGINE_MAILQ_H
#define TS_ENGINE_MAILQ_H

#include <stddef.h>
#include <stdint.h>

#include <thespis/thespis.h>

#define MAILQ_CHUNK (64u * 1024u)

struct mq_chunk {
    struct mq_chunk *next;
    size_t cap, head, tail; /* bytes of data[]: [head, tail) holds records */
    unsigned char data[]; /* 8-aligned: the fields above are 32 bytes */
};

/* Fixed-size chunks (MAILQ_CHUNK bytes of records) carved from memory the
 * owner provides: a shared mapping, so a queue can outlive its process. */
struct mq_pool {
    struct mq_chunk *free; /* chunks given back */
    size_t bump, size;     /* bytes of mem handed out so far, of size */
    unsigned char *mem;
};

struct mailq {
    struct mq_chunk *first, *last, *spare;
    size_t count;
    uint64_t pushed;      /* messages ever pushed: pushed - count were popped */
    struct mq_pool *pool; /* NULL: malloc */
};

/* Bytes a record with a payload of len takes. */
static inline size_t mailq_record_size(size_t len)
{
    return sizeof(ts_msg) + ((len + 7) & ~(size_t)7);
}

/* Appends a message with room for len payload bytes, envelope zeroed but
 * for len; the caller fills the rest. Returns NULL when out of memory. */
ts_msg *mailq_push(struct mailq *q, size_t len);
/* The oldest message, or NULL when empty. */
ts_msg *mailq_peek(const struct mailq *q);
/* Drops the oldest message. */
void mailq_pop(struct mailq *q);
/* Calls fn on every queued message, oldest first. */
void mailq_foreach(struct mailq *q, void (*fn)(ts_msg *m, void *arg), void *arg);
/* The same until fn returns non-zero. */
void mailq_foreach_until(struct mailq *q, int (*fn)(ts_msg *m, void *arg), void *arg);
/* A pool over size bytes at mem (8-aligned); a pooled queue on it. */
void mq_pool_init(struct mq_pool *pool, void *mem, size_t size);
void mailq_init_pooled(struct mailq *q, struct mq_pool *pool);
/* Gives a chunk back to its pool. Each store is ordered so that a process
 * killed in the middle leaks the chunk at worst, never corrupts the list. */
void mq_pool_put(struct mq_pool *pool, struct mq_chunk *c);
/* Frees every chunk (a pooled queue's stay with their pool). NULL-safe. */
void mailq_fini(struct mailq *q);

#endif
