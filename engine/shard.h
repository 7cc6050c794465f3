/* SPDX-License-Identifier: MIT */
/* shard.h — one shard: its actor slots, run queue, timers and links to the
 * other shards, and the dispatcher that runs handlers with supervision
 * (design §2-§5). A shard is driven by exactly one thread at a time; nothing
 * here locks except the global-name table. */
#ifndef TS_ENGINE_SHARD_H
#define TS_ENGINE_SHARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <thespis/thespis.h>

#include "addrset.h"
#include "mailq.h"
#include "members.h"
#include "../placement/caps.h"
#include "registry.h"
#include "timer_heap.h"

/* The shard field of an external caller's mailbox address; its slot is the
 * caller's index. */
#define SHARD_CLIENT 255u
/* A shard's own control address: generation 0 (never an actor's), this slot. */
#define SLOT_CONTROL TS_ADDR_MAX_SLOT

enum actor_state {
    ACTOR_FREE = 0,
    ACTOR_PENDING, /* created; its Start message is on the way */
    ACTOR_LIVE,
    ACTOR_EXITING, /* waiting for its children's ChildExited */
};

/* Internal message flags, above any public TS_MSG_F_* bit. */
#define MSGF_START (UINT32_C(1) << 31) /* construct the actor at dst */
/* With MSGF_START: a restarted shard builds again an actor it had (its
 * Start from the directory): counted and checked when first made. */
#define MSGF_REBORN (UINT32_C(1) << 29)

struct timer {
    struct th_node node;
    struct timer *prev, *next; /* the owner's list of pending timers */
    ts_addr owner;
    uint32_t len;
    unsigned char payload[]; /* copied into the Wakeup message when it fires */
};

struct actor {
    /* The small fields first, with no hole between them: an idle actor's
     * bytes are a benchmarked figure (docs/benchmarks.md, memory.idle_actor). */
    uint32_t slot;      /* its own index */
    uint16_t gen;       /* of the current occupant, or of the last one when FREE */
    uint16_t init_err;  /* FREE: the last occupant's init failed with this errno */
    uint8_t state;
    bool caps_exit;     /* asked to exit: the node no longer meets its requirements */
    uint16_t restarts;  /* its Status (status.c): restarts after a failing handler,
                           counted up to UINT16_MAX */
    uint32_t arg_len;
    ts_addr parent;     /* TS_ADDR_NONE for top-level actors */
    const struct type_rec *type;
    void *state_mem;
    void *arg;
    char *global_name;
    char *reqs;         /* its creation's requirements (NULL: none) */
    char *why;          /* FREE: why its creation failed, when more than init's errno says */
    struct addrset children;
    struct timer *timers;
    uint64_t handled;   /* its Status: messages dispatched to it (a redelivery counts once) */
};

#define SLOT_PAGE_BITS 12
#define SLOT_PAGE (1u << SLOT_PAGE_BITS)
#define SLOT_PAGES ((TS_ADDR_MAX_SLOT + 1) >> SLOT_PAGE_BITS)

/*
 * Slots this shard hands out on one target shard. Slot s of any shard
 * belongs to creator shard s % nshards, so a shard creates an actor on any
 * other shard without asking it: the address is known at once (design §4).
 * Freed slots come back oldest first, each with its next generation.
 */
struct slot_pool {
    _Atomic uint32_t *next_fresh; /* next never-used slot; the target reads it */
    _Atomic uint32_t own_fresh;   /* where next_fresh points unless the base moves it */
    struct pooled { uint32_t slot; uint16_t gen; } *v;
    size_t head, n, cap;
};

/* Messages that arrived for an actor whose Start has not yet (it comes by
 * another ring); delivered in order right after its init. */
struct parked {
    struct parked *next;
    ts_addr addr;
    struct mailq q;
};

/* A shard's copy of the convention's member table (members.h), the caps
 * of each parsed for placement, and the actors of this shard that watch it
 * (ts_notify_on_convention). */
struct shard_conv {
    uint64_t gen;
    unsigned n;
    struct member_rec v[MEMBERS_MAX];
    struct caps caps[MEMBERS_MAX];
    struct addrset watchers;
    bool net_dirty; /* the links to the members are not in line with v yet */
};

/* Single-writer counters: the shard stores, anyone may load (relaxed). */
struct shard_stats {
    _Atomic uint64_t delivered, created, exited, restarts, poisoned, dead_letters, dead_dropped;
    _Atomic uint64_t live, timers, overflow_hwm;
    _Atomic uint64_t resident; /* actors living on this shard now (placement's load) */
    _Atomic uint64_t peer_leases; /* peers that have leased this shard a slot now */
    _Atomic uint64_t net_pending; /* 1: messages to other nodes not yet acknowledged */
    _Atomic uint64_t pending; /* messages held in process memory: run queue and overflows */
    _Atomic uint64_t sent, handled; /* messages queued to shards / dispatched: idle detection */
    _Atomic uint64_t client_sent, client_published; /* to callers: queued / in their rings */
};

#define STAT_ADD(sh, field, n)                                                                    \
    atomic_store_explicit(&(sh)->stats->field,                                                    \
                          atomic_load_explicit(&(sh)->stats->field, memory_order_relaxed) + (n),  \
                          memory_order_relaxed)
#define STAT_INC(sh, field) STAT_ADD(sh, field, 1)
#define STAT_DEC(sh, field) STAT_ADD(sh, field, (uint64_t)-1)

struct shard {
    struct ts_system *sys;
    uint16_t node;
    uint8_t id;
    uint8_t nshards;
    uint32_t nslots;                 /* pages cover [0, nslots) */
    struct actor *pages[SLOT_PAGES]; /* slots in fixed pages: they never move */
    struct slot_pool *pools;         /* [nshards]: slots this shard creates on each */
    struct parked *parked;
    struct mailq runq;               /* messages from this shard to itself */
    struct timer_heap timers;
    struct shard_stats *stats;       /* own_stats, or the node's shared memory */
    struct shard_stats own_stats;
    unsigned rr_next;                /* round-robin placement of this shard's creations */
    unsigned spread_next;            /* spread placement: the node next in turn */
    uint32_t slot_limit;             /* slots handed out stay below it */
    uint32_t start_max;              /* largest Start payload (0: no limit) */
    bool self_ring;                  /* messages to itself go through the base too */
    bool other_nodes;                /* messages to other nodes go through the base too */
    void *base;                      /* the base's per-shard state */
    struct shard_net *net;           /* links to other nodes (net.h); NULL: none */
    uint64_t caps_gen;               /* the node's capabilities' generation ... */
    struct caps caps;                /* ... and this copy of them */
    struct shard_conv *conv;         /* the convention as it saw it last (NULL: none yet) */
    struct image_fetch *fetches;     /* images coming from the leader (image_fetch.c) */
    const char *fetch_failed;        /* while a failed fetch's Starts run: why ... */
    int fetch_rc;                    /* ... and its errno */
};

/* The context handed to handlers. */
struct ts_ctx {
    struct ts_system *sys;
    struct shard *sh;
    struct actor *a;
    ts_addr self, sender;
    bool exit_self;
};

int shard_init(struct shard *sh, struct ts_system *sys, uint16_t node, uint8_t id,
               uint8_t nshards);
/* Frees everything, running no handler. NULL-safe. */
void shard_fini(struct shard *sh);

static inline struct actor *shard_slot(const struct shard *sh, uint32_t slot)
{
    return &sh->pages[slot >> SLOT_PAGE_BITS][slot & (SLOT_PAGE - 1)];
}
/* The actor at a, or NULL when a is gone or was never issued. */
struct actor *shard_lookup(const struct shard *sh, ts_addr a);

/* ts_create's whole work on this shard (design §4): places the actor (opts'
 * placement, the system's default) on this node or another, and returns its
 * address at once while its Start goes there. parent is TS_ADDR_NONE for
 * top-level actors. */
int shard_create(struct shard *sh, const char *type_name, const ts_create_opts *opts,
                 ts_addr parent, ts_addr creator, ts_addr *out);
/* Takes a slot on shard target from this shard's pool for another node to
 * create an actor in (a lease): its address. 0 or -ENOSPC. */
int shard_lease_slot(struct shard *sh, uint8_t target, ts_addr *out);

/* Reserves a message of len payload bytes to dst, wherever dst is: this
 * shard's run queue, a ring to another shard or caller, or an overflow
 * queue. Returns the envelope (dst and len set) for the caller to fill, or
 * NULL when out of memory. */
ts_msg *shard_reserve(struct shard *sh, ts_addr dst, size_t len);

/* shard_reserve + fill: queues a copy of payload. 0 or -ENOMEM. */
int shard_enqueue(struct shard *sh, ts_addr dst, ts_addr src, uint64_t type,
                  const void *payload, size_t len, uint32_t flags);

/* Handles one message taken from any of the shard's inbound queues. */
void shard_dispatch(struct shard *sh, ts_msg *m);

/* Arms a Wakeup for the actor; returns 0 or -ENOMEM. */
int shard_add_timer(struct shard *sh, struct actor *a, ts_addr self, uint64_t deadline,
                    const void *payload, size_t len);
/* Fires the earliest timer if it is due at now; returns whether one fired. */
bool shard_fire_timer(struct shard *sh, uint64_t now);

/* Copies the node's capabilities again if they changed since, and asks
 * every actor here whose requirements they no longer meet to exit. Called
 * by the shard's loop: one atomic load when nothing changed. */
void shard_caps_poll(struct shard *sh);
/* Copies the convention's member table again if it changed since, and
 * tells this shard's watchers what did (ConventionUpdate). */
void shard_conv_poll(struct shard *sh);
/* ts_notify_on_convention for actor self of this shard. */
int shard_conv_watch(struct shard *sh, ts_addr self, bool start);
/* Whether the node's capabilities or its convention changed since the
 * shard last looked (a sleeping shard's re-check). */
bool shard_news(const struct shard *sh);

/* Sends ExitRequest to every top-level actor of this shard. */
void shard_exit_all(struct shard *sh, ts_addr from);

#endif
