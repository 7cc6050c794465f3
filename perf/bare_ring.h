/* SPDX-License-Identifier: MIT */
/* bare_ring.h — thespis-perf's bare baseline for shared-memory mailboxes:
 * two threads over the shm ring (shm/ring.h) in a shared segment, with no
 * engine around it, so the engine's figures can be set against what the
 * ring alone costs. Both sides busy-poll. */
#ifndef TS_PERF_BARE_RING_H
#define TS_PERF_BARE_RING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Bytes of each ring's data area. */
#define BARE_RING_SIZE (64u * 1024u)

/* CLOCK_MONOTONIC in ns: every timestamp of thespis-perf. */
static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct bare_result {
    uint64_t msgs;  /* messages carried (a round trip carries two) */
    double seconds; /* from the first send to the last receipt */
};

/* Ping-pong over two rings between two threads pinned to cores a and b (-1:
 * not pinned): `rounds` round trips with a payload of `payload` bytes
 * carrying a CLOCK_MONOTONIC timestamp, which b copies into its reply;
 * records each round-trip time in ns through record(arg, ns), called on
 * a's thread. Returns 0, -EINVAL (payload below 8 bytes or above the
 * ring's maximum record, core out of range), or the -errno of
 * shm_segment_create, pthread_create or pthread_setaffinity_np. */
int bare_ring_pingpong(int core_a, int core_b, uint64_t rounds, size_t payload,
                       void (*record)(void *arg, uint64_t ns), void *arg,
                       struct bare_result *out);

/* One-way throughput: a producer thread on core a sends `msgs` records of
 * `payload` bytes through one ring to a consumer thread on core b,
 * publishing every `batch` records; the consumer releases every `batch`
 * records and whenever the ring looks empty. Records of 8 bytes or more
 * carry a sequence number that the consumer checks. Returns 0, -EINVAL
 * (batch 0, payload above the maximum record, core out of range), -EPROTO
 * (a record arrived out of order), or the errors of bare_ring_pingpong. */
int bare_ring_throughput(int core_a, int core_b, uint64_t msgs, size_t payload,
                         unsigned batch, struct bare_result *out);

#endif
