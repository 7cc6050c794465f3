/* SPDX-License-Identifier: MIT */
/* place.c — which shard a new actor goes to: a pure decision over the
 * creation options and the system's core map. */
#include <errno.h>

#include "err.h"
#include "system.h"

int place_actor(const struct ts_system *sys, int creator, unsigned *rr,
                const ts_create_opts *opts, int *target)
{
    ts_placement how = opts ? opts->placement : TS_PLACE_LOCAL;
    switch (how) {
    case TS_PLACE_LOCAL:
        *target = creator < 0 ? 0 : creator;
        return 0;
    case TS_PLACE_ROUND_ROBIN:
        *target = (int)((*rr)++ % sys->nshards);
        return 0;
    case TS_PLACE_CORE:
        for (unsigned i = 0; i < sys->nshards; i++) {
            if (!sys->shard_cpu || sys->shard_cpu[i] == opts->core) {
                *target = (int)i;
                return 0;
            }
        }
        return err_set(-EINVAL, "no shard of this system runs on core %d", opts->core);
    }
    return err_set(-EINVAL, "unknown placement %d", (int)how);
}
