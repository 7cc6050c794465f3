/* SPDX-License-Identifier: MIT */
/* shard_internal.h — lifecycle steps and control messages shared by
 * shard.c, dispatch.c and the bases. */
#ifndef TS_ENGINE_SHARD_INTERNAL_H
#define TS_ENGINE_SHARD_INTERNAL_H

#include "shard.h"

struct ctx_pair {
    struct shard *sh;
    ts_addr from;
};

/* Control messages go to a shard itself, at its control address. */
#define CTL_SLOT_FREED UINT64_C(0x7473000000000001) /* payload: struct slot_freed */
#define CTL_EXIT_ALL UINT64_C(0x7473000000000002)   /* ExitRequest to top-level actors */

struct slot_freed {
    uint32_t slot;
    uint16_t gen;
    uint8_t target;
    uint8_t zero;
};

static inline ts_addr control_addr(uint16_t node, uint8_t shard)
{
    return ts_addr_make(node, shard, SLOT_CONTROL, 0);
}

/* Builds the actor a Start names (its slot free until now) and runs init;
 * on failure poisons what was sent to it and frees the slot. Then delivers
 * the messages that arrived before the Start. */
void actor_start(struct shard *sh, const ts_msg *start);
/* Marks a EXITING, sends ExitRequest to its children, finishes if none. */
void actor_begin_exit(struct shard *sh, struct actor *a, ts_addr self);
/* fini, free the slot, ChildExited{status} to the parent. */
void actor_finish(struct shard *sh, struct actor *a, int32_t status);

/* The free slot addr names if its actor's init failed, else NULL. */
static inline const struct actor *shard_tombstone(const struct shard *sh, ts_addr addr)
{
    uint32_t slot = ts_addr_slot(addr);
    if (ts_addr_shard(addr) != sh->id || slot >= sh->nslots)
        return NULL;
    const struct actor *a = shard_slot(sh, slot);
    return a->state == ACTOR_FREE && a->init_err && a->gen == ts_addr_gen(addr) ? a : NULL;
}

/* Whether a message to addr, which has no actor now, is early: its actor's
 * Start is still on the way. */
bool shard_is_future(const struct shard *sh, ts_addr addr);
/* Keeps a copy of an early message until its actor starts. 0 or -ENOMEM. */
int shard_park(struct shard *sh, const ts_msg *m);

/* Poison{reason, why} back to m's sender (never for a failure report). */
void shard_poison_back(struct shard *sh, const ts_msg *m, int reason, const char *why);

/* Puts a freed slot of shard target back into this shard's pool. */
void shard_slot_freed(struct shard *sh, uint8_t target, uint32_t slot, uint16_t gen);
/* Tells shard owner that its slot on this shard is free again. */
void send_slot_freed(struct shard *sh, uint8_t owner, uint32_t slot, uint16_t gen);

#endif
