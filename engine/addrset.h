/* SPDX-License-Identifier: MIT */
/* addrset.h — a set of addresses (an actor's children): open addressing,
 * linear probing, backward-shift deletion. TS_ADDR_NONE marks empty slots. */
#ifndef TS_ENGINE_ADDRSET_H
#define TS_ENGINE_ADDRSET_H

#include <stdbool.h>
#include <stddef.h>

#include <thespis/thespis.h>

struct addrset {
    ts_addr *v;
    size_t n, mask; /* capacity is mask + 1, or 0 when v is NULL */
};

/* Adds a (not TS_ADDR_NONE). Returns 0 (also if present) or -ENOMEM. */
int addrset_add(struct addrset *s, ts_addr a);
/* Removes a; returns whether it was there. */
bool addrset_remove(struct addrset *s, ts_addr a);
bool addrset_has(const struct addrset *s, ts_addr a);
/* Calls fn for each member; fn must not change the set. */
void addrset_foreach(const struct addrset *s, void (*fn)(ts_addr a, void *arg), void *arg);
void addrset_fini(struct addrset *s);

#endif
