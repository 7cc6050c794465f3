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

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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

struct echo_arg {
    int fd, core, rc;
    size_t payload;
    uint64_t rounds;
};

static void *echo_main(void *p)
{
    struct echo_arg *e = p;
    pin(e->core);
    unsigned char buf[4096];
    for (uint64_t i = 0; i < e->rounds && e->rc == 0; i++)
        if ((e->rc = full(e->fd, buf, e->payload, 0)) == 0)
            e->rc = full(e->fd, buf, e->payload, 1);
    return NULL;
}

int bare_tcp_pair(int *c, int *s)
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

int bare_tcp_pingpong(int core_a, int core_b, uint64_t rounds, size_t payload,
                      void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out)
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
            unsigned char buf[4096] = {0};
            uint64_t t0 = now_ns();
            for (uint64_t i = 0; i < rounds && rc == 0; i++) {
                uint64_t t = now_ns();
                memcpy(buf, &t, sizeof(t));
                if ((rc = full(c, buf, payload, 1)) == 0 && (rc = full(c, buf, payload, 0)) == 0) {
                    memcpy(&t, buf, sizeof(t));
                    record(arg, now_ns() - t);
                    out->msgs += 2;
                }
            }
            out->seconds = (double)(now_ns() - t0) / 1e9;
            if (rc < 0)
                shutdown(c, SHUT_RDWR);
            pthread_join(th, NULL);
            pthread_setaffinity_np(pthread_self(), sizeof(was), &was); /* the caller's again */
            if (rc == 0)
                rc = e.rc;
        }
    }
    if (c >= 0) {
        close(s);
        close(c);
    }
    return rc;
}
