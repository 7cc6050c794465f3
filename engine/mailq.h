/* SPDX-License-Identifier: MIT */
/* mailq.h — an unbounded single-threaded FIFO of messages (envelope plus
 * payload, 8-byte aligned) in chunks, for the simple base's run queue.
 * Appending never moves a queued message, so the message a handler is
 * reading stays valid while the handler sends more. One emptied chunk is
 * kept as a spare, so a steady flow does not malloc. */
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

struct mailq {
    struct mq_chunk *first, *last, *spare;
    size_t count;
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
/* Frees every chunk. NULL-safe. */
void mailq_fini(struct mailq *q);

#endif
