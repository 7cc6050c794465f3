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

#include <thespis/node.h>
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

enum members_state {
    MEMBERS_NONE = 0,
    MEMBERS_JOINING, /* a member not welcomed yet */
    MEMBERS_JOINED,
    MEMBERS_REFUSED, /* the leader said no (why says why); it keeps trying */
    MEMBERS_LOST,    /* the leader went silent or the link broke; it keeps trying */
    MEMBERS_LEADING, /* this node is the leader */
};

struct node_members {
    _Atomic uint64_t gen; /* bumped after every change is written (seq_cst) */
    pthread_mutex_t lock;
    uint32_t state;       /* enum members_state: this node's standing */
    uint32_t n;
    char why[160];        /* REFUSED: the leader's reason */
    char leader[96];      /* the leader's address, as configured */
    uint32_t leading;     /* 1: this node is the leader */
    uint32_t zero;
    struct member_rec v[MEMBERS_MAX];
};

void members_init(struct node_members *m, bool shared);
void members_fini(struct node_members *m, bool shared);
/* A member joined (or its instance changed: it replaces the old entry) /
 * changed its caps (ev TS_CONV_CAPS) / left (TS_CONV_LEFT). */
void members_apply(struct node_members *m, ts_convention_event ev, const struct member_rec *r);
/* When a member was last heard from. */
void members_heard(struct node_members *m, uint16_t node, uint64_t when_ns);
/* The node's convention begins: its leader's address, whether it leads. */
void members_begin(struct node_members *m, const char *leader, bool leading);
void members_set_state(struct node_members *m, enum members_state st, const char *why);
/* Copies the table (out: MEMBERS_MAX entries); returns its generation. */
uint64_t members_read(struct node_members *m, struct member_rec *out, unsigned *n);

/* The table as ts_node_status and ts_convention_members show it: its
 * entries into out (at most max; returns how many there are), and if state
 * and why are not NULL, where this node stands ("joined", 16 bytes) and
 * why (160 bytes). */
unsigned members_export(struct node_members *m, ts_node_member *out, unsigned max, char *state,
                        char *why);

static inline uint64_t members_gen(const struct node_members *m)
{
    return atomic_load_explicit(&m->gen, memory_order_acquire);
}

#endif
