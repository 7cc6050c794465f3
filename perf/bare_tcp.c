/* SPDX-License-Identifier: MIT */
/* bare_tcp.c — the bare TCP ping-pong baseline (bare_tcp.h). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bare_tcp.h"

static int full(int fd, void *p, size_t n, int out)
{
    for (size_t done = 0; done < n;) {
        ssize_t k = out ? send(fd, (char *)p + done, n - done, MSG_NOSIGNAL)
                        : recv(fd, (char *)p + done, n - done, 0);
        if (k <= 0)
            return k < 0 ? -errno : -ECONNRESET;
        done += (size_t)k;
    }
    return 0;
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

/* b: receives each ping whole and sends it back whole. */
static int echo_loop(int fd, uint64_t rounds, size_t payload)
{
    unsigned char buf[4096];
    int rc = 0;
    for (uint64_t i = 0; i < rounds && rc == 0; i++)
        if ((rc = full(fd, buf, payload, 0)) == 0)
            rc = full(fd, buf, payload, 1);
    return rc;
}

/* a: sends a timestamped ping, waits for its pong, records the time. */
static int ping_loop(int fd, uint64_t rounds, size_t payload,
                     void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out)
{
    unsigned char buf[4096] = {0};
    int rc = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < rounds && rc == 0; i++) {
        uint64_t t = now_ns();
        memcpy(buf, &t, sizeof(t));
        if ((rc = full(fd, buf, payload, 1)) == 0 && (rc = full(fd, buf, payload, 0)) == 0) {
            memcpy(&t, buf, sizeof(t));
            record(arg, now_ns() - t);
            out->msgs += 2;
        }
    }
    out->seconds = (double)(now_ns() - t0) / 1e9;
    return rc;
}

struct echo_arg {
    const struct bare_tcp_sides *sides;
    int fd, core, rc;
    size_t payload;
    uint64_t rounds;
};

static void *echo_main(void *p)
{
    struct echo_arg *e = p;
    pin(e->core);
    if ((e->rc = e->sides->echo(e->fd, e->rounds, e->payload)) < 0)
        shutdown(e->fd, SHUT_RDWR); /* a is not left waiting for a pong */
    return NULL;
}

/* A connected loopback TCP pair, TCP_NODELAY on both ends: 0 and the
 * client and server ends, or -errno (and neither). */
static int bare_tcp_pair(int *c, int *s)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, rc = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    *c = *s = -1;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) < 0 ||
        (*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(*c, (struct sockaddr *)&a, sizeof(a)) < 0 || (*s = accept(l, NULL, NULL)) < 0)
        rc = -errno;
    if (l >= 0)
        close(l);
    if (rc < 0) {
        if (*c >= 0)
            close(*c);
        *c = -1;
        return rc;
    }
    setsockopt(*c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(*s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

int bare_tcp_run(int core_a, int core_b, uint64_t rounds, size_t payload,
                 void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out,
                 const struct bare_tcp_sides *sides)
{
    if (payload < 8 || payload > 4096)
        return -EINVAL;
    int c, s, rc = bare_tcp_pair(&c, &s);
    if (rc < 0)
        return rc;
    struct echo_arg e = {.sides = sides, .fd = s, .core = core_b, .payload = payload,
                         .rounds = rounds};
    pthread_t th;
    cpu_set_t was;
    pthread_getaffinity_np(pthread_self(), sizeof(was), &was);
    if ((rc = -pthread_create(&th, NULL, echo_main, &e)) == 0) {
        pin(core_a);
        if ((rc = sides->ping(c, rounds, payload, record, arg, out)) < 0)
            shutdown(c, SHUT_RDWR); /* b is not left waiting for a ping */
        pthread_join(th, NULL);
        pthread_setaffinity_np(pthread_self(), sizeof(was), &was); /* the caller's again */
        if (e.rc < 0 && (rc == 0 || rc == -ECONNRESET)) /* b's error caused a's */
            rc = e.rc;
    }
    close(s);
    close(c);
    return rc;
}

int bare_tcp_pingpong(int core_a, int core_b, uint64_t rounds, size_t payload,
                      void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out)
{
    static const struct bare_tcp_sides blocking = {.ping = ping_loop, .echo = echo_loop};
    return bare_tcp_run(core_a, core_b, rounds, payload, record, arg, out, &blocking);
}
