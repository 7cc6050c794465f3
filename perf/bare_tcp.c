/* SPDX-License-Identifier: MIT */
/* bare_tcp.c — the bare TCP ping-pong baseline (bare_tcp.h). */
#include <arpa/inet.h>
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

/* One end of the pair: listen_on binds to addr (port 0: any) and listens,
 * filling in the port; connect_to connects to addr. Each runs in its end's
 * namespace. 0 or -errno (fd, if not -1, is the caller's to close). */
struct tcp_end {
    int fd;
    struct sockaddr_in addr;
};

static int listen_on(void *p)
{
    struct tcp_end *e = p;
    socklen_t al = sizeof(e->addr);
    if ((e->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(e->fd, (struct sockaddr *)&e->addr, sizeof(e->addr)) < 0 || listen(e->fd, 1) < 0 ||
        getsockname(e->fd, (struct sockaddr *)&e->addr, &al) < 0)
        return -errno;
    return 0;
}

static int connect_to(void *p)
{
    struct tcp_end *e = p;
    if ((e->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(e->fd, (struct sockaddr *)&e->addr, sizeof(e->addr)) < 0)
        return -errno;
    return 0;
}

/* A connected TCP pair, TCP_NODELAY on both ends: on loopback (veth NULL),
 * or the client in namespace a and the server on NETNS_IP_B in namespace
 * b. 0 and the client and server ends, or -errno (and neither). */
static int bare_tcp_pair(const struct netns_pair *veth, int *c, int *s)
{
    struct tcp_end l = {.fd = -1, .addr = {.sin_family = AF_INET}}, cl = {.fd = -1};
    int one = 1, rc = 0;
    *c = *s = -1;
    if (!veth)
        l.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, NETNS_IP_B, &l.addr.sin_addr) != 1)
        return -EINVAL;
    if ((rc = netns_run(veth, 1, listen_on, &l)) == 0) {
        cl.addr = l.addr;
        rc = netns_run(veth, 0, connect_to, &cl);
    }
    if (rc == 0 && (*s = accept(l.fd, NULL, NULL)) < 0)
        rc = -errno;
    if (l.fd >= 0)
        close(l.fd);
    if (rc < 0) {
        if (cl.fd >= 0)
            close(cl.fd);
        return rc;
    }
    *c = cl.fd;
    setsockopt(*c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(*s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

int bare_tcp_run(int core_a, int core_b, uint64_t rounds, size_t payload,
                 void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out,
                 const struct bare_tcp_sides *sides, const struct netns_pair *veth)
{
    if (payload < 8 || payload > 4096)
        return -EINVAL;
    int c, s, rc = bare_tcp_pair(veth, &c, &s);
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
                      void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out,
                      const struct netns_pair *veth)
{
    static const struct bare_tcp_sides blocking = {.ping = ping_loop, .echo = echo_loop};
    return bare_tcp_run(core_a, core_b, rounds, payload, record, arg, out, &blocking, veth);
}
