/* SPDX-License-Identifier: MIT */
/* uring.h — what the io_uring backends (tcp, udp) share: a provided buffer
 * ring that multishot receives pick from, and the monotonic clock. */
#ifndef TS_TRANSPORT_URING_H
#define TS_TRANSPORT_URING_H

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>

struct uring_bufs {
    struct io_uring_buf_ring *br;
    unsigned char *mem;
    unsigned n;  /* a power of two */
    size_t size; /* bytes of each buffer */
};

/* Registers n buffers of size bytes as group bgid of ring. 0, or -errno with
 * ts_last_error saying what failed. */
int uring_bufs_init(struct io_uring *ring, struct uring_bufs *b, unsigned n, size_t size,
                    uint16_t bgid);
/* Frees the buffers (after the ring is gone, or with nothing in flight). */
void uring_bufs_fini(struct uring_bufs *b);

static inline unsigned char *uring_buf(const struct uring_bufs *b, unsigned bid)
{
    return b->mem + (size_t)bid * b->size;
}

/* Gives buffer bid back to the kernel once its bytes are used. */
static inline void uring_bufs_recycle(struct uring_bufs *b, unsigned bid)
{
    io_uring_buf_ring_add(b->br, uring_buf(b, bid), (unsigned)b->size, (unsigned short)bid,
                          io_uring_buf_ring_mask(b->n), 0);
    io_uring_buf_ring_advance(b->br, 1);
}

/* A submission entry, submitting what is queued first when the ring is
 * full; NULL only if the kernel took none of them. */
static inline struct io_uring_sqe *uring_sqe(struct io_uring *ring)
{
    struct io_uring_sqe *s = io_uring_get_sqe(ring);
    if (!s) {
        io_uring_submit(ring);
        s = io_uring_get_sqe(ring);
    }
    return s;
}

uint64_t transport_now_ns(void);

/* Cancels every request of the ring and waits (up to a second) until they
 * are done, so that the files they hold are let go now: a socket closed
 * next frees its port at once, where io_uring_queue_exit alone leaves the
 * kernel to end them in the background. */
void uring_cancel_all(struct io_uring *ring);

#endif
