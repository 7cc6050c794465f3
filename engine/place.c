/* SPDX-License-Identifier: MIT */
/* place.c — where a new actor goes: a pure decision over the creation
 * options, the system's default and core map, and the creator's links. */
#include <errno.h>

#include "err.h"
#include "net.h"
#include "system.h"

static int place_core(const struct ts_system *sys, int core, struct place_out *out)
{
    for (unsigned i = 0; i < sys->nshards; i++) {
        if (!sys->shard_cpu || sys->shard_cpu[i] == core) {
            out->shard = (int)i;
            return 0;
        }
    }
    return err_set(-EINVAL, "no shard of this system runs on core %d", core);
}

/* Another node. Outside a shard (no leases there) shard -1 says: a shard
 * decides; in one, the node must be a peer. */
static int place_node(const struct ts_system *sys, const struct place_in *in,
                      const ts_create_opts *opts, struct place_out *out)
{
    if (opts->global_name && !sys->members)
        return err_set(-EOPNOTSUPP, "a named actor stays on its creator's node unless the node "
                       "is in a convention (which keeps names across nodes)");
    if (in->spread && !(in->net && net_peer_index(in->net, opts->node) >= 0))
        return err_set(-EHOSTUNREACH, "node %u is not in this node's peer table", opts->node);
    out->node = opts->node;
    out->shard = -1;
    return 0;
}

/* Each node in turn: this one, then each peer; a peer that has leased the
 * creator no slot yet (or any named actor: it stays with its creator) is
 * passed over for this node. */
static void place_spread(const struct place_in *in, const ts_create_opts *opts,
                         struct place_out *out)
{
    if (!in->spread) {
        out->shard = -1; /* outside a shard: one decides */
        return;
    }
    const struct shard_net *n = in->net;
    unsigned nodes = n ? n->npeers + 1 : 1; /* a forgotten peer's turn stays here */
    unsigned turn = (*in->spread)++ % nodes;
    if (turn && n->peers[turn - 1].live && !(opts && opts->global_name) &&
        net_leased(n, n->peers[turn - 1].tp.node)) {
        out->node = n->peers[turn - 1].tp.node;
        out->shard = -1;
    }
}

int place_actor(const struct ts_system *sys, const struct place_in *in,
                const ts_create_opts *opts, struct place_out *out)
{
    ts_placement how = opts ? opts->placement : TS_PLACE_DEFAULT;
    if (how == TS_PLACE_DEFAULT)
        how = sys->cfg.placement == TS_PLACE_DEFAULT ? TS_PLACE_LOCAL : sys->cfg.placement;
    struct place_out o = {.node = sys->cfg.node_id, .shard = in->creator < 0 ? 0 : in->creator};
    int rc = 0;
    switch (how) {
    case TS_PLACE_DEFAULT:
    case TS_PLACE_LOCAL:
        break;
    case TS_PLACE_ROUND_ROBIN:
        o.shard = (int)((*in->rr)++ % sys->nshards);
        break;
    case TS_PLACE_CORE:
        rc = place_core(sys, opts->core, &o);
        break;
    case TS_PLACE_NODE:
        if (opts->node != sys->cfg.node_id)
            rc = place_node(sys, in, opts, &o);
        break;
    case TS_PLACE_SPREAD:
        place_spread(in, opts, &o);
        break;
    case TS_PLACE_LEAST_LOADED:
        if (!in->spread)
            o.shard = -1; /* outside a shard: one decides (shard_create, by load) */
        break;
    default:
        return err_set(-EINVAL, "unknown placement %d", (int)how);
    }
    if (rc == 0)
        *out = o;
    return rc;
}
