/* SPDX-License-Identifier: MIT */
/* shard.h — one shard: its actor slots, run queue and timers, and the
 * dispatcher that runs handlers with supervision (design §3-§5). A shard is
 * driven by exactly one thread at a time; nothing here locks. */
#ifndef TS_ENGINE_SHARD_H
#define TS_ENGINE_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include <thespis/thespis.h>

#include "addrset.h"
#include "mailq.h"
#include "registry.h"
#include "timer_heap.h"

enum actor_state {
    ACTOR_FREE = 0,
    ACTOR_PENDING, /* created; its Start message is on the way */
    ACTOR_LIVE,
    ACTOR_EXITING, /* waiting for its children's ChildExited */
    ACTOR_CLIENT,  /* an external caller's mailbox, not an actor */
};

/* Internal message flags, above any public TS_MSG_F_* bit. */
#define MSGF_START (UINT32_C(1) << 31)            /* construct the actor at dst */
#define MSGF_POISON_ON_DELIVERY (UINT32_C(1) << 30) /* dst's creation failed... */
#define MSGF_ERRNO_MASK UINT32_C(0xfff)              /* ...with this errno */

struct timer {
    struct th_node node;
    struct timer *prev, *next; /* the owner's list of pending timers */
    ts_addr owner;
    uint32_t len;
    unsigned char payload[]; /* copied into the Wakeup message when it fires */
};

struct actor {
    uint16_t gen;
    uint8_t state;
    uint32_t next_free; /* free-slot FIFO link */
    ts_addr parent;     /* TS_ADDR_NONE for top-level actors */
    const struct type_rec *type;
    void *state_mem;
    void *arg;
    uint32_t arg_len;
    char *global_name;
    struct addrset children;
    struct timer *timers;
};

#define SLOT_PAGE_BITS 12
#define SLOT_PAGE (1u << SLOT_PAGE_BITS)
#define SLOT_PAGES ((TS_ADDR_MAX_SLOT + 1) >> SLOT_PAGE_BITS)
#define SLOT_NONE UINT32_MAX

struct shard_stats {
    uint64_t delivered, created, exited, restarts, poisoned, dead_letters, dead_dropped;
};

struct shard {
    struct ts_system *sys;
    uint16_t node;
    uint8_t id;
    uint32_t nslots;              /* slots ever used: [0, nslots) */
    uint32_t free_head, free_tail; /* FIFO of free slots: reuse is spread out */
    uint64_t live;                /* actors not yet exited */
    struct actor *pages[SLOT_PAGES]; /* slots in fixed pages: they never move */
    struct mailq runq;
    struct timer_heap timers;
    struct shard_stats stats;
};

/* The context handed to handlers. */
struct ts_ctx {
    struct ts_system *sys;
    struct shard *sh;
    struct actor *a;
    ts_addr self, sender;
    bool exit_self;
};

int shard_init(struct shard *sh, struct ts_system *sys, uint16_t node, uint8_t id);
/* Frees everything, running no handler. NULL-safe. */
void shard_fini(struct shard *sh);

static inline struct actor *shard_slot(const struct shard *sh, uint32_t slot)
{
    return &sh->pages[slot >> SLOT_PAGE_BITS][slot & (SLOT_PAGE - 1)];
}
static inline ts_addr shard_addr(const struct shard *sh, uint32_t slot)
{
    return ts_addr_make(sh->node, sh->id, slot, shard_slot(sh, slot)->gen);
}
/* The actor at a, or NULL when a is gone or was never issued. */
struct actor *shard_lookup(const struct shard *sh, ts_addr a);

/* Reserves a mailbox slot for an external caller. */
int shard_add_client(struct shard *sh, ts_addr *out);

/* Creates an actor (design §4): returns its address at once and queues its
 * construction. parent is TS_ADDR_NONE for top-level actors. */
int shard_spawn(struct shard *sh, const char *type_name, const ts_create_opts *opts,
                ts_addr parent, ts_addr creator, ts_addr *out);

/* Queues a message (no validation: callers check sizes and addresses). */
int shard_enqueue(struct shard *sh, ts_addr dst, ts_addr src, uint64_t type,
                  const void *payload, size_t len, uint32_t flags);

/* Handles one message popped from the run queue; client messages go to
 * deliver_client. */
void shard_dispatch(struct shard *sh, ts_msg *m);

/* Arms a Wakeup for the actor; returns 0 or -ENOMEM. */
int shard_add_timer(struct shard *sh, struct actor *a, ts_addr self, uint64_t deadline,
                    const void *payload, size_t len);
/* Fires the earliest timer if it is due at now; returns whether one fired. */
bool shard_fire_timer(struct shard *sh, uint64_t now);

/* Sends ExitRequest to every top-level actor (parent TS_ADDR_NONE). */
void shard_exit_all(struct shard *sh, ts_addr from);

#endif
