/* SPDX-License-Identifier: MIT */
/* shard_internal.h — lifecycle steps shared by shard.c and dispatch.c. */
#ifndef TS_ENGINE_SHARD_INTERNAL_H
#define TS_ENGINE_SHARD_INTERNAL_H

#include "shard.h"

struct ctx_pair {
    struct shard *sh;
    ts_addr from;
};

/* Runs init on a PENDING actor; on failure poisons what was sent to it and
 * frees it. */
void actor_start(struct shard *sh, struct actor *a, const ts_msg *start);
/* Marks a EXITING, sends ExitRequest to its children, finishes if none. */
void actor_begin_exit(struct shard *sh, struct actor *a, ts_addr self);
/* fini, free the slot, ChildExited{status} to the parent. */
void actor_finish(struct shard *sh, struct actor *a, int32_t status);

#endif
