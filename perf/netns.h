/* SPDX-License-Identifier: MIT */
/* netns.h — two "hosts" for thespis-perf's *.veth scenarios: two named
 * network namespaces joined by a veth pair, made and removed with
 * iproute2's `ip` (run directly, no shell), entered with setns(2) by the
 * calling thread only. The pair's ends carry the kernel's addresses, or
 * none (bare) for a stack of its own on them, such as a DPDK port. */
#ifndef TS_PERF_NETNS_H
#define TS_PERF_NETNS_H

#include <stddef.h>

/* The two ends' addresses, in a documentation range (RFC 5737), /24. */
#define NETNS_IP_A "198.51.100.1"
#define NETNS_IP_B "198.51.100.2"

/* The pair's ends: NETNS_IF_A in namespace a, NETNS_IF_B in b. */
#define NETNS_IF_A "perf-a"
#define NETNS_IF_B "perf-b"

/* What the ends carry. */
enum netns_kind {
    NETNS_KERNEL_IP, /* NETNS_IP_A/24 on a's end, NETNS_IP_B/24 on b's */
    NETNS_BARE,      /* no address: the kernel is no IP host on the link */
};

struct netns_pair {
    char name[2][48]; /* thespis-perf-<pid>-a and -b */
    int made;         /* how many of name[] exist */
};

/* Makes namespaces a and b, each with lo up, and a veth pair between them,
 * NETNS_IF_A up in a and NETNS_IF_B up in b, with the addresses `kind`
 * says (no IPv6 link-local either way). Until netns_pair_destroy, SIGINT,
 * SIGTERM, SIGHUP and SIGPIPE (where they would kill the process) remove
 * both namespaces first. Returns 0; or, with nothing left behind and why
 * (why_len bytes) saying what is missing: -EPERM (not root), -ENOENT (no
 * `ip` command), -EIO (an `ip` step failed), -EBUSY (a pair exists
 * already), or the -errno of spawning `ip`. */
int netns_pair_create(struct netns_pair *p, enum netns_kind kind, char *why, size_t why_len);

/* Calls fn(arg) with the calling thread in namespace `side` (0: a, 1: b),
 * then puts the thread back: sockets fn opens and threads it starts belong
 * to that namespace for good. p NULL: just calls fn(arg). Returns fn's
 * result, or the -errno of entering or leaving the namespace. */
int netns_run(const struct netns_pair *p, int side, int (*fn)(void *arg), void *arg);

/* Removes both namespaces (the veth pair goes with them) and the signal
 * handlers. NULL-safe; a second call does nothing. */
void netns_pair_destroy(struct netns_pair *p);

#endif
