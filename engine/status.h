/* SPDX-License-Identifier: MIT */
/* status.h — StatusRequest answered by the engine (status.c): an actor's
 * Status from its shard, a node's from the shard its address reaches. */
#ifndef TS_ENGINE_STATUS_H
#define TS_ENGINE_STATUS_H

#include "shard.h"

/* Answers m (a StatusRequest to actor a, live or exiting, of this shard)
 * with a's Status to m's sender. */
void status_actor_reply(struct shard *sh, const struct actor *a, const ts_msg *m);
/* Answers m (a StatusRequest to a control address of this node) with the
 * node's Status to m's sender. Waits for no other shard. */
void status_node_reply(struct shard *sh, const ts_msg *m);

#endif
