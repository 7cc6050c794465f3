/* SPDX-License-Identifier: MIT */
/* place_fake.h — place_actor on a zeroed struct ts_system with nshards
 * shards pinned to shard_cpu[] (NULL: no core map, as on the simple base),
 * and for placement across nodes a made-up peer table with leases. */
#ifndef TS_TESTS_UNIT_PLACE_FAKE_H
#define TS_TESTS_UNIT_PLACE_FAKE_H

#include <stdint.h>

#include <thespis/thespis.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PLACE_FAKE_PEERS 8

struct place_fake_topo {
    unsigned nshards;
    const int *shard_cpu;
    uint16_t self;                     /* this node's id */
    ts_placement placement;            /* the system's default */
    unsigned npeers;
    uint16_t peers[PLACE_FAKE_PEERS];  /* their node ids */
    unsigned leased[PLACE_FAKE_PEERS]; /* slots each has leased the creator */
};

/* The creator: a shard (its cursors rr and spread), or outside (creator -1,
 * spread NULL). On success *node and *target are the decision. */
int place_fake_nodes(const struct place_fake_topo *t, int creator, unsigned *rr, unsigned *spread,
                     const ts_create_opts *opts, uint16_t *node, int *target);

/* One node, no peers. */
int place_fake(unsigned nshards, const int *shard_cpu, int creator, unsigned *rr,
               const ts_create_opts *opts, int *target);

#ifdef __cplusplus
}
#endif

#endif
