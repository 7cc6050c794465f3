/* SPDX-License-Identifier: MIT */
/* uring.c — the io_uring backends' shared pieces (uring.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../engine/err.h"
#include "uring.h"

int uring_bufs_init(struct io_uring *ring, struct uring_bufs *b, unsigned n, size_t size,
                    uint16_t bgid)
{
    *b = (struct uring_bufs){.n = n, .size = size};
    b->mem = mmap(NULL, (size_t)n * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b->mem == MAP_FAILED) {
        b->mem = NULL;
        return err_set(-ENOMEM, "out of memory for receive buffers");
    }
    if (posix_memalign((void **)&b->br, 4096, n * sizeof(struct io_uring_buf)) != 0) {
        b->br = NULL;
        uring_bufs_fini(b);
        return err_set(-ENOMEM, "out of memory for receive buffers");
    }
    io_uring_buf_ring_init(b->br);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)b->br, .ring_entries = n,
                                   .bgid = bgid};
    int rc = io_uring_register_buf_ring(ring, &reg, 0);
    if (rc < 0) {
        uring_bufs_fini(b);
        return err_set(rc, "cannot register receive buffers with io_uring: %s", strerror(-rc));
    }
    for (unsigned i = 0; i < n; i++)
        io_uring_buf_ring_add(b->br, uring_buf(b, i), (unsigned)size, (unsigned short)i,
                              io_uring_buf_ring_mask(n), (int)i);
    io_uring_buf_ring_advance(b->br, (int)n);
    return 0;
}

void uring_bufs_fini(struct uring_bufs *b)
{
    if (b->mem)
        munmap(b->mem, (size_t)b->n * b->size);
    free(b->br);
    *b = (struct uring_bufs){0};
}

void uring_cancel_all(struct io_uring *ring)
{
    struct io_uring_sync_cancel_reg reg = {
        .flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL,
        .timeout = {.tv_sec = 1, .tv_nsec = 0},
    };
    (void)io_uring_register_sync_cancel(ring, &reg); /* -ENOENT: nothing was pending */
}

uint64_t transport_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
