/* SPDX-License-Identifier: MIT */
/* bare_uring_tcp.h — thespis-perf's bare baseline for the io_uring TCP
 * transport: bare_tcp.h's ping-pong over one loopback TCP connection
 * (TCP_NODELAY), but each thread drives its socket through its own
 * io_uring (plain send and recv, no buffer rings), waiting in the kernel
 * for completions; no engine. */
#ifndef TS_PERF_BARE_URING_TCP_H
#define TS_PERF_BARE_URING_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "bare_ring.h"

/* `rounds` round trips of `payload` bytes (8 to 4096: a timestamp) between
 * threads on cores a and b (-1: not pinned); a submits the ping's send and
 * the pong's recv together, b loops recv then send. Records each
 * round-trip time through record(arg, ns) on a's thread. Returns 0,
 * -EINVAL (payload out of range), -ECONNRESET (the peer closed), or the
 * -errno of socket, bind, listen, connect, accept, io_uring_queue_init,
 * pthread_create or of a send or recv completion. */
int bare_uring_tcp_pingpong(int core_a, int core_b, uint64_t rounds, size_t payload,
                            void (*record)(void *arg, uint64_t ns), void *arg,
                            struct bare_result *out);

#endif
