/* SPDX-License-Identifier: MIT */
/* perf_own.h — benchmarking your own actor types under thespis-perf's
 * harness. Write a program that registers your actor types
 * (ts_register_actor_type), describes one scenario per type with struct
 * perf_own, and hands its main's arguments to perf_main: it then is
 * thespis-perf with your scenarios added after the bundled ones, with every
 * option (--scenario, --repeat, --rate, --json, --baseline, --plot).
 * examples/perf-own/ is such a program; docs/benchmarks.md says more.
 *
 * A scenario's driver (an actor of the harness) sends your actor the
 * message again and again and times each reply: closed loop, the next
 * message once the reply is in; with --rate N, N messages a second, each
 * timed from when it was due to be sent. Your actor must answer every
 * message with one reply to its sender (ts_reply, any type), in order. */
#ifndef TS_PERF_OWN_H
#define TS_PERF_OWN_H

#include <stddef.h>

#define PERF_OWN_PAYLOAD_MAX 256u

struct perf_own {
    const char *name;       /* the scenario's name, e.g. "own.echo": letters, digits, ._- */
    const char *actor_type; /* the registered actor type to create */
    const char *message;    /* the message type name it is sent */
    const void *payload;    /* the message's bytes (may be NULL when len is 0) */
    size_t len;             /* at most PERF_OWN_PAYLOAD_MAX */
    int cross_shard;        /* 0: on the driver's shard; 1: on the run's second core */
    const void *init_arg;   /* the actor's ts_create argument (may be NULL) */
    size_t init_len;
    /* A bundled scenario whose figure this one's is set against (its ratio,
     * what --baseline compares by default), e.g. "pingpong.bare_queue" on
     * one shard, "pingpong.bare_ring" across; run it too. NULL: none. */
    const char *baseline;
};

/* Runs thespis-perf with the n scenarios of own added (the array must
 * outlive the call). Returns the exit status thespis-perf would: 0, 1 (a
 * scenario failed or --baseline found a regression), 2 (bad usage,
 * including an invalid own scenario, which is named on stderr). */
int perf_main(int argc, char **argv, const struct perf_own *own, size_t n);

#endif
