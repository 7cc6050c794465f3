/* SPDX-License-Identifier: MIT */
/*
 * members.h — the convention's member table as this node sees it (design
 * §8): written by the node's convention link (on the admin's side), read by
 * the shards (placement by requirements across nodes, ConventionUpdate to
 * their watchers) and by status. Like nodecaps.h: a lock to write and to
 * copy, a generation a shard compares with its copy's once a loop turn; on
 * a named node it lives in the node's shared segment.
 */
#ifndef TS_ENGINE_MEMBERS_H
#define TS_ENGINE_MEMBERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <thespis/sysmsg.h>

#define MEMBERS_MAX 64

struct member_rec {
    uint16_t node;
    uint8_t leader;   /* 1: the convention's leader */
    uint8_t self;     /* 1: this node */
    uint32_t zero;
    uint64_t instance; /* a restart of the node is a new instance */
    uint64_t heard_ns; /* CLOCK_MONOTONIC when last heard from (0: never, or itself) */
    char name[64];
    char caps[512];
    char endpoints[256];
};

enum members_state { MEMBERS_NONE = 0, MEMBERS_JOINING, MEMBERS_JOINED, MEMBERS_REFUSED };

struct node_members {
    _Atomic uint64_t gen; /* bumped after every change is written (seq_cst) */
    pthread_mutex_t lock;
    uint32_t state;       /* enum members_state: this node's standing */
    uint32_t n;
    char why[160];        /* REFUSED: the leader's reason */
    char leader[96];      /* the leader's address, as configured */
    struct member_rec v[MEMBERS_MAX];
};

void members_init(struct node_members *m, bool shared);
void members_fini(struct node_members *m, bool shared);
/* A member joined (or its instance changed: it replaces the old entry) /
 * changed its caps (ev TS_CONV_CAPS) / left (TS_CONV_LEFT). */
void members_apply(struct node_members *m, ts_convention_event ev, const struct member_rec *r);
/* When a member was last heard from. */
void members_heard(struct node_members *m, uint16_t node, uint64_t when_ns);
void members_set_state(struct node_members *m, enum members_state st, const char *why);
/* Copies the table (out: MEMBERS_MAX entries); returns its generation. */
uint64_t members_read(struct node_members *m, struct member_rec *out, unsigned *n);

static inline uint64_t members_gen(const struct node_members *m)
{
    return atomic_load_explicit(&m->gen, memory_order_acquire);
}

#endif
