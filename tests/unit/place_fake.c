/* SPDX-License-Identifier: MIT */
/* place_fake.c — calls place_actor (engine/system.h) on a made-up system.
 * struct ts_system is C (its atomics are _Atomic), so the C++ test reaches
 * it through this one function. */
#include <string.h>

#include "place_fake.h"
#include "system.h"

int place_fake(unsigned nshards, const int *shard_cpu, int creator, unsigned *rr,
               const ts_create_opts *opts, int *target)
{
    int cpus[256];
    struct ts_system sys;
    memset(&sys, 0, sizeof(sys));
    sys.nshards = nshards;
    if (shard_cpu) {
        for (unsigned i = 0; i < nshards && i < 256; i++)
            cpus[i] = shard_cpu[i];
        sys.shard_cpu = cpus;
    }
    return place_actor(&sys, creator, rr, opts, target);
}
