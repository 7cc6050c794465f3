/* SPDX-License-Identifier: MIT */
/* route.c — where a message goes: this shard's run queue, or the base's way
 * to another shard or an external caller. Routing is arithmetic on the
 * address (design §3). */
#include <errno.h>
#include <string.h>

#include "system.h"

ts_msg *shard_reserve(struct shard *sh, ts_addr dst, size_t len)
{
    ts_msg *m;
    /* Another node's address goes to the base when it has links to other
     * nodes, else it stays here and turns into a dead letter at dispatch;
     * so does a shard that does not exist. */
    bool other = ts_addr_node(dst) != sh->node;
    bool here = other ? !sh->other_nodes
                      : (ts_addr_shard(dst) == sh->id && !sh->self_ring) ||
                            (ts_addr_shard(dst) >= sh->nshards && ts_addr_shard(dst) != SHARD_CLIENT);
    if (here) {
        m = mailq_push(&sh->runq, len);
        if (m) {
            STAT_INC(sh, sent);
            STAT_INC(sh, pending);
        }
    } else {
        m = sh->sys->ops->reserve_remote(sh, dst, len);
    }
    if (m)
        m->dst = dst;
    return m;
}

int shard_enqueue(struct shard *sh, ts_addr dst, ts_addr src, uint64_t type,
                  const void *payload, size_t len, uint32_t flags)
{
    ts_msg *m = shard_reserve(sh, dst, len);
    if (!m)
        return -ENOMEM;
    m->src = src;
    m->type = type;
    m->flags = flags;
    if (len)
        memcpy(m + 1, payload, len);
    return 0;
}
