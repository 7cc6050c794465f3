/* SPDX-License-Identifier: MIT */
/* place_fake.c — calls place_actor (engine/system.h) on a made-up system.
 * struct ts_system is C (its atomics are _Atomic), so the C++ test reaches
 * it through these functions. */
#include <string.h>

#include "net.h"
#include "place_fake.h"
#include "system.h"

int place_fake_nodes(const struct place_fake_topo *t, int creator, unsigned *rr, unsigned *spread,
                     const ts_create_opts *opts, uint16_t *node, int *target)
{
    int cpus[256];
    struct ts_system sys;
    memset(&sys, 0, sizeof(sys));
    sys.nshards = t->nshards;
    sys.cfg.node_id = t->self;
    sys.cfg.placement = t->placement;
    if (t->shard_cpu) {
        for (unsigned i = 0; i < t->nshards && i < 256; i++)
            cpus[i] = t->shard_cpu[i];
        sys.shard_cpu = cpus;
    }
    struct net_peer peers[PLACE_FAKE_PEERS];
    struct net_lease leases[PLACE_FAKE_PEERS];
    memset(peers, 0, sizeof(peers));
    memset(leases, 0, sizeof(leases));
    unsigned np = t->npeers < PLACE_FAKE_PEERS ? t->npeers : PLACE_FAKE_PEERS;
    struct shard_net net = {.peers = peers, .npeers = np, .cap = np, .leases = leases};
    for (unsigned i = 0; i < np; i++) {
        peers[i].tp.node = t->peers[i];
        peers[i].live = true;
        leases[i].n = t->leased[i];
    }
    struct place_in in = {.creator = creator, .rr = rr, .spread = spread,
                          .net = t->npeers ? &net : NULL};
    struct place_out out = {.node = 0xffff, .shard = -99};
    int rc = place_actor(&sys, &in, opts, &out);
    if (rc == 0) {
        *node = out.node;
        *target = out.shard;
    }
    return rc;
}

int place_fake(unsigned nshards, const int *shard_cpu, int creator, unsigned *rr,
               const ts_create_opts *opts, int *target)
{
    struct place_fake_topo t = {.nshards = nshards, .shard_cpu = shard_cpu};
    unsigned spread = 0;
    uint16_t node;
    return place_fake_nodes(&t, creator, rr, creator < 0 ? NULL : &spread, opts, &node, target);
}
