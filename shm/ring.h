/* SPDX-License-Identifier: MIT */
/*
 * ring.h — a single-producer single-consumer ring of variable-length records
 * (design §6), laid out in memory the caller provides (a shared-memory
 * segment), so the same ring works between threads and between processes.
 *
 * Layout: a header of five cache lines (each shared index alone on its
 * line, each side's private fields on a line of their own, the constants),
 * then `size` data bytes (a power of two). Indices are
 * free-running byte counts (never wrapped), so full = tail - head == size.
 * Each record is an 8-byte header {u32 len, u32 flags} then len bytes padded
 * to 8. A record never wraps: when it does not fit before the end, the
 * producer writes a padding record to the end and starts again at 0.
 *
 * Producer: ring_reserve() space for a record and write it, again and again,
 * then ring_publish() once: the consumer sees the whole batch at once.
 * Consumer: ring_front() the next record, use it in place, ring_pop() it,
 * and ring_release() once per batch: only then may the producer reuse the
 * space. (A consumer that crashes between pop and release loses nothing:
 * the records are still there for its successor — design §5.)
 * Each side caches the other's index and reads the shared one only when
 * the cache says the ring looks full (producer) or empty (consumer).
 *
 * Nothing here blocks, allocates or makes a syscall.
 */
#ifndef TS_SHM_RING_H
#define TS_SHM_RING_H

#include <stddef.h>
#include <stdint.h>

/* C++ (the googletest suites) sees the same layout through std::atomic. */
#ifdef __cplusplus
#include <atomic>
#define RING_ATOMIC_U64 std::atomic<uint64_t>
#define RING_ATOMIC_U32 std::atomic<uint32_t>
#define RING_ALIGNAS(n) alignas(n)
static_assert(sizeof(std::atomic<uint64_t>) == 8 && std::atomic<uint64_t>::is_always_lock_free,
              "std::atomic<uint64_t> must match C's _Atomic uint64_t");
extern "C" {
#else
#include <stdatomic.h>
#define RING_ATOMIC_U64 _Atomic uint64_t
#define RING_ATOMIC_U32 _Atomic uint32_t
#define RING_ALIGNAS(n) _Alignas(n)
#endif

#define RING_CACHE_LINE 64
#define RING_HDR 8u   /* bytes of a record's header */
#define RING_F_PAD 1u /* flags bit of a padding record: the ring's own */

struct ring {
    /* Line 0: stored by the producer only, read by the consumer. */
    RING_ALIGNAS(RING_CACHE_LINE) RING_ATOMIC_U64 tail; /* published end of records */
    /* Line 1: the producer's alone, so its store on every reserve does not
     * take line 0 away from a consumer polling tail. */
    RING_ALIGNAS(RING_CACHE_LINE) uint64_t write; /* end of reserved records */
    uint64_t cached_head;                         /* last head it read */
    /* Line 2: stored by the consumer only, read by the producer. */
    RING_ALIGNAS(RING_CACHE_LINE) RING_ATOMIC_U64 head; /* released start of records */
    /* Line 3: the consumer's alone (it stores read on every pop). */
    RING_ALIGNAS(RING_CACHE_LINE) uint64_t read; /* start of the next record */
    uint64_t cached_tail;                        /* last tail it read */
    /* Line 4: read-only after ring_init. */
    RING_ALIGNAS(RING_CACHE_LINE) uint64_t size; /* data bytes, a power of two */
    uint64_t mask;
    RING_ALIGNAS(RING_CACHE_LINE) unsigned char data[];
};

/* Bytes a ring with `size` data bytes takes (header included). */
size_t ring_footprint(size_t size);

/* Sets up a ring in mem (ring_footprint(size) bytes, 64-byte aligned).
 * size must be a power of two, at least 4096. Returns 0 or -EINVAL. */
int ring_init(struct ring *r, size_t size);

/* The largest record payload a ring of this size accepts. */
static inline size_t ring_max_record(const struct ring *r) { return (size_t)r->size / 4; }

/* Producer: reserves room for a record of len bytes and returns where to
 * write them (8-byte aligned), or NULL when the ring is too full now. Also
 * NULL, for good, when len is above ring_max_record or flags has RING_F_PAD
 * (the ring's own bit). Invisible to the consumer until ring_publish. */
void *ring_reserve(struct ring *r, size_t len, uint32_t flags);

/* Producer: makes every reserved record visible to the consumer. Returns
 * whether anything new was published. */
int ring_publish(struct ring *r);

/* Consumer: the next record (its len and flags through the out-pointers),
 * or NULL when none is published. Valid until ring_release. */
void *ring_front(struct ring *r, uint32_t *len, uint32_t *flags);

/* Consumer: steps past the record ring_front returned. */
void ring_pop(struct ring *r);

/* Consumer: gives the space of every popped record back to the producer. */
void ring_release(struct ring *r);

/* Consumer: whether nothing published is left to read (popped records count
 * as read, released or not). Reads the shared tail with a seq_cst load, so a
 * consumer that announced sleep with a seq_cst store and then finds the ring
 * empty cannot miss a producer that published and then, after a seq_cst
 * fence, saw no announcement (docs/mailbox.md). For sleep decisions, not the
 * hot path. */
int ring_empty(struct ring *r);

/* Consumer: calls fn on every record published and not yet popped (padding
 * aside), oldest first, without consuming any: its payload, len and flags
 * as ring_front gives them. For status (how many messages wait), not the
 * hot path. */
void ring_foreach_unread(struct ring *r, void (*fn)(void *rec, uint32_t len, uint32_t flags,
                                                    void *arg),
                         void *arg);

/* Recovery (design §5): the ring outlives a process that dies using it; its
 * successor calls one of these before anything else. */
/* Producer: drops the reservations the dead producer never published. */
void ring_producer_recover(struct ring *r);
/* Consumer: goes back to the last release, so the records the dead
 * consumer popped but never released are read again. */
void ring_consumer_recover(struct ring *r);

#ifdef __cplusplus
}
#endif
#endif
