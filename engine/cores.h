/* SPDX-License-Identifier: MIT */
/* cores.h — the core plan: which CPU each shard is pinned to, decided as a
 * pure function of the configuration and the CPUs this process may use,
 * before anything is started (style.md point 8). */
#ifndef TS_ENGINE_CORES_H
#define TS_ENGINE_CORES_H

#include <sched.h>

#define CORES_MAX 255 /* shards per node: the address has 8 bits, 255 is for callers */

/*
 * Fills cpus[] with one CPU per shard. spec is a list like "0-3,6" (NULL or
 * empty: take the first `count` allowed CPUs, all of them if count is 0);
 * with a spec, a non-zero count must match its length. Every CPU must be in
 * allowed. Returns the number of shards, or -EINVAL with a message.
 */
int cores_plan(const char *spec, unsigned count, const cpu_set_t *allowed, int *cpus,
               unsigned max);

#endif
