/* SPDX-License-Identifier: MIT */
/* bare_tcp.h — thespis-perf's bare baseline between nodes: two threads
 * ping-ponging over one TCP connection (on loopback, or across a veth
 * pair) with plain blocking sockets (TCP_NODELAY), sockperf-style, no
 * engine and no io_uring. */
#ifndef TS_PERF_BARE_TCP_H
#define TS_PERF_BARE_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "bare_ring.h"
#include "netns.h"

/* How each side of a ping-pong moves its bytes: a sends `rounds`
 * timestamped pings of `payload` bytes on fd and records each round trip
 * (filling out), b echoes them. Each returns 0 or -errno. */
struct bare_tcp_sides {
    int (*ping)(int fd, uint64_t rounds, size_t payload, void (*record)(void *arg, uint64_t ns),
                void *arg, struct bare_result *out);
    int (*echo)(int fd, uint64_t rounds, size_t payload);
};

/* Runs a ping-pong over one TCP connection (TCP_NODELAY): on loopback
 * when veth is NULL, else from a's end in namespace a to b's listening on
 * NETNS_IP_B in namespace b. b's side runs on a thread pinned to core_b,
 * a's on this thread pinned to core_a (its affinity restored after; -1:
 * not pinned). A side that fails shuts the connection down so the other
 * stops too; b's error is returned when it caused a's. 0, -EINVAL
 * (payload not 8 to 4096), or a side's, the pair's, netns_run's or
 * pthread_create's -errno. */
int bare_tcp_run(int core_a, int core_b, uint64_t rounds, size_t payload,
                 void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out,
                 const struct bare_tcp_sides *sides, const struct netns_pair *veth);

/* `rounds` round trips of `payload` bytes (8 or more: a timestamp) between
 * threads on cores a and b, over loopback (veth NULL) or that veth pair;
 * records each round-trip time through record(arg, ns) on a's thread. 0 or
 * -errno, as bare_tcp_run. */
int bare_tcp_pingpong(int core_a, int core_b, uint64_t rounds, size_t payload,
                      void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out,
                      const struct netns_pair *veth);

#endif
