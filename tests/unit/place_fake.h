/* SPDX-License-Identifier: MIT */
/* place_fake.h — place_actor on a zeroed struct ts_system with nshards
 * shards pinned to shard_cpu[] (NULL: no core map, as on the simple base). */
#ifndef TS_TESTS_UNIT_PLACE_FAKE_H
#define TS_TESTS_UNIT_PLACE_FAKE_H

#include <thespis/thespis.h>

#ifdef __cplusplus
extern "C" {
#endif

int place_fake(unsigned nshards, const int *shard_cpu, int creator, unsigned *rr,
               const ts_create_opts *opts, int *target);

#ifdef __cplusplus
}
#endif

#endif
