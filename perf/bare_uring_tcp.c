/* SPDX-License-Identifier: MIT */
/* bare_uring_tcp.c — the bare io_uring TCP ping-pong baseline
 * (bare_uring_tcp.h). */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bare_tcp.h"
#include "bare_uring_tcp.h"

/* At most one send and one recv are in flight on a ring. */
enum { RING_ENTRIES = 8, OP_SEND = 1, OP_RECV = 2 };

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int core)
{
    if (core < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

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

struct echo_arg {
    int fd, core, rc;
    size_t payload;
    uint64_t rounds;
};

/* b: receives each ping whole, then sends it back whole. */
static void *echo_main(void *p)
{
    struct echo_arg *e = p;
    pin(e->core);
    struct io_uring r;
    if ((e->rc = io_uring_queue_init(RING_ENTRIES, &r, 0)) < 0) {
        shutdown(e->fd, SHUT_RDWR); /* a waits for a pong */
        return NULL;
    }
    unsigned char buf[4096];
    size_t n = e->payload;
    for (uint64_t i = 0; i < e->rounds && e->rc == 0; i++) {
        struct xfer in = {.fd = e->fd, .rcv = buf, .n = n, .sent = n};
        if ((e->rc = xfer_run(&r, &in)) == 0) {
            struct xfer back = {.fd = e->fd, .snd = buf, .n = n, .got = n};
            e->rc = xfer_run(&r, &back);
        }
    }
    io_uring_queue_exit(&r);
    return NULL;
}

/* a: each round submits the ping's send and the pong's recv together. */
static int ping_loop(int fd, uint64_t rounds, size_t payload,
                     void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out)
{
    struct io_uring r;
    int rc = io_uring_queue_init(RING_ENTRIES, &r, 0);
    if (rc < 0) {
        shutdown(fd, SHUT_RDWR); /* b waits for a ping */
        return rc;
    }
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
    if (payload < 8 || payload > 4096)
        return -EINVAL;
    int c, s, rc = bare_tcp_pair(&c, &s);
    if (rc == 0) {
        struct echo_arg e = {.fd = s, .core = core_b, .payload = payload, .rounds = rounds};
        pthread_t th;
        cpu_set_t was;
        pthread_getaffinity_np(pthread_self(), sizeof(was), &was);
        if ((rc = -pthread_create(&th, NULL, echo_main, &e)) == 0) {
            pin(core_a);
            rc = ping_loop(c, rounds, payload, record, arg, out);
            pthread_join(th, NULL);
            pthread_setaffinity_np(pthread_self(), sizeof(was), &was); /* the caller's again */
            if (e.rc < 0 && (rc == 0 || rc == -ECONNRESET)) /* b's error caused a's */
                rc = e.rc;
        }
    }
    if (c >= 0) {
        close(s);
        close(c);
    }
    return rc;
}
