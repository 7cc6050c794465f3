/* SPDX-License-Identifier: MIT */
/* bare_tcp.h — thespis-perf's bare baseline between nodes: two threads
 * ping-ponging over one loopback TCP connection with plain blocking
 * sockets (TCP_NODELAY), sockperf-style, no engine and no io_uring. */
#ifndef TS_PERF_BARE_TCP_H
#define TS_PERF_BARE_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "bare_ring.h"

/* A connected loopback TCP pair, TCP_NODELAY on both ends: 0 and the
 * client and server ends, or -errno (and neither). */
int bare_tcp_pair(int *c, int *s);

/* `rounds` round trips of `payload` bytes (8 or more: a timestamp) between
 * threads on cores a and b; records each round-trip time through
 * record(arg, ns) on a's thread. 0 or -errno. */
int bare_tcp_pingpong(int core_a, int core_b, uint64_t rounds, size_t payload,
                      void (*record)(void *arg, uint64_t ns), void *arg, struct bare_result *out);

#endif
