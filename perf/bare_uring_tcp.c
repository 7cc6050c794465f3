/* SPDX-License-Identifier: MIT */
/* bare_uring_tcp.c — the bare io_uring TCP ping-pong baseline
 * (bare_uring_tcp.h). */
#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "bare_tcp.h"
#include "bare_uring_tcp.h"

/* At most one send and one recv are in flight on a ring. */
enum { RING_ENTRIES = 8, OP_SEND = 1, OP_RECV = 2 };

/* n bytes to send from snd and n to receive into rcv on fd (a direction
 * with nothing to move starts at n), which direction has a request in
 * flight, and the first error a completion carried. */
struct xfer {
    int fd, err;
    const unsigned char *snd;
    unsigned char *rcv;
    size_t n, sent, got;
    bool send_busy, recv_busy;
};

/* Queues a request for what is left in each direction with none in
 * flight. 0, or -EBUSY when the submission queue is full. */
static int arm(struct io_uring *r, struct xfer *x)
{
    struct io_uring_sqe *sqe;
    if (x->sent < x->n && !x->send_busy) {
        if (!(sqe = io_uring_get_sqe(r)))
            return -EBUSY;
        io_uring_prep_send(sqe, x->fd, x->snd + x->sent, x->n - x->sent, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, OP_SEND);
        x->send_busy = true;
    }
    if (x->got < x->n && !x->recv_busy) {
        if (!(sqe = io_uring_get_sqe(r)))
            return -EBUSY;
        io_uring_prep_recv(sqe, x->fd, x->rcv + x->got, x->n - x->got, 0);
        io_uring_sqe_set_data64(sqe, OP_RECV);
        x->recv_busy = true;
    }
    return 0;
}

/* Counts one completion into x; an error (0 bytes: the peer closed) goes
 * to x->err unless one is there already. */
static void take(struct xfer *x, const struct io_uring_cqe *cqe)
{
    bool is_send = io_uring_cqe_get_data64(cqe) == OP_SEND;
    *(is_send ? &x->send_busy : &x->recv_busy) = false;
    if (cqe->res > 0)
        *(is_send ? &x->sent : &x->got) += (size_t)cqe->res;
    else if (x->err == 0)
        x->err = cqe->res < 0 ? cqe->res : -ECONNRESET;
}

/* Submits what is queued, waits for a completion and takes every one
 * that is ready. 0 or the -errno of io_uring_submit_and_wait. */
static int reap(struct io_uring *r, struct xfer *x)
{
    int rc;
    while ((rc = io_uring_submit_and_wait(r, 1)) == -EINTR)
        ;
    if (rc < 0)
        return rc;
    struct io_uring_cqe *cqe;
    while (io_uring_peek_cqe(r, &cqe) == 0) {
        take(x, cqe);
        io_uring_cqe_seen(r, cqe);
    }
    return 0;
}

/* Moves x's bytes until all are through, short sends and recvs resumed
 * where they stopped. On an error, shuts the socket down (so that the
 * peer and the requests in flight finish) and waits for those requests,
 * which point into x's buffers. 0 or -errno. */
static int xfer_run(struct io_uring *r, struct xfer *x)
{
    int rc = 0;
    while (rc == 0 && x->err == 0 && (x->sent < x->n || x->got < x->n))
        if ((rc = arm(r, x)) == 0)
            rc = reap(r, x);
    if (rc == 0)
        rc = x->err;
    if (rc < 0) {
        shutdown(x->fd, SHUT_RDWR);
        while ((x->send_busy || x->recv_busy) && reap(r, x) == 0)
            ;
    }
    return rc;
}

/* b: receives each ping whole, then sends it back whole. */
static int echo_loop(int fd, uint64_t rounds, size_t n)
{
    struct io_uring r;
    int rc = io_uring_queue_init(RING_ENTRIES, &r, 0);
    if (rc < 0)
        return rc;
    unsigned char buf[4096];
    for (uint64_t i = 0; i < rounds && rc == 0; i++) {
        struct xfer in = {.fd = fd, .rcv = buf, .n = n, .sent = n};
        if ((rc = xfer_run(&r, &in)) == 0) {
            struct xfer back = {.fd = fd, .snd = buf, .n = n, .got = n};
            rc = xfer_run(&r, &back);
        }
    }
    io_uring_queue_exit(&r);
    return rc;
}

/* a: each round submits the ping's send and the pong's recv together. */
static int ping_loop(int fd, uint64_t rounds, size_t payload,
                     void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out)
{
    struct io_uring r;
    int rc = io_uring_queue_init(RING_ENTRIES, &r, 0);
    if (rc < 0)
        return rc;
    unsigned char ping[4096] = {0}, pong[4096] = {0};
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < rounds && rc == 0; i++) {
        uint64_t t = now_ns();
        memcpy(ping, &t, sizeof(t));
        struct xfer x = {.fd = fd, .snd = ping, .rcv = pong, .n = payload};
        if ((rc = xfer_run(&r, &x)) == 0) {
            memcpy(&t, pong, sizeof(t));
            record(arg, now_ns() - t);
            out->msgs += 2;
        }
    }
    out->seconds = (double)(now_ns() - t0) / 1e9;
    io_uring_queue_exit(&r);
    return rc;
}

int bare_uring_tcp_pingpong(int core_a, int core_b, uint64_t rounds, size_t payload,
                            void (*record)(void *arg, uint64_t ns), void *arg,
                            struct bare_result *out)
{
    static const struct bare_tcp_sides uring = {.ping = ping_loop, .echo = echo_loop};
    return bare_tcp_run(core_a, core_b, rounds, payload, record, arg, out, &uring, NULL);
}
