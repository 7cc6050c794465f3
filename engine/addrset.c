/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "addrset.h"

static size_t home(const struct addrset *s, ts_addr a)
{
    return (size_t)((a * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & s->mask;
}

static void put(struct addrset *s, ts_addr a)
{
    size_t i = home(s, a);
    while (s->v[i] && s->v[i] != a)
        i = (i + 1) & s->mask;
    if (!s->v[i]) {
        s->v[i] = a;
        s->n++;
    }
}

static int grow(struct addrset *s)
{
    struct addrset bigger = {.mask = s->v ? 2 * s->mask + 1 : 7};
    bigger.v = calloc(bigger.mask + 1, sizeof(ts_addr));
    if (!bigger.v)
        return -ENOMEM;
    for (size_t i = 0; s->v && i <= s->mask; i++)
        if (s->v[i])
            put(&bigger, s->v[i]);
    free(s->v);
    *s = bigger;
    return 0;
}

int addrset_add(struct addrset *s, ts_addr a)
{
    if (!s->v || 4 * (s->n + 1) > 3 * (s->mask + 1)) {
        int rc = grow(s);
        if (rc < 0)
            return rc;
    }
    put(s, a);
    return 0;
}

static size_t find(const struct addrset *s, ts_addr a)
{
    if (!s->v)
        return SIZE_MAX;
    for (size_t i = home(s, a); s->v[i]; i = (i + 1) & s->mask)
        if (s->v[i] == a)
            return i;
    return SIZE_MAX;
}

bool addrset_has(const struct addrset *s, ts_addr a)
{
    return find(s, a) != SIZE_MAX;
}

bool addrset_remove(struct addrset *s, ts_addr a)
{
    size_t hole = find(s, a);
    if (hole == SIZE_MAX)
        return false;
    /* Backward shift: pull later members of the probe run into the hole
     * unless their home lies cyclically in (hole, j]. */
    for (size_t j = (hole + 1) & s->mask; s->v[j]; j = (j + 1) & s->mask) {
        size_t h = home(s, s->v[j]);
        if (((j - h) & s->mask) >= ((j - hole) & s->mask)) {
            s->v[hole] = s->v[j];
            hole = j;
        }
    }
    s->v[hole] = TS_ADDR_NONE;
    s->n--;
    return true;
}

void addrset_foreach(const struct addrset *s, void (*fn)(ts_addr a, void *arg), void *arg)
{
    for (size_t i = 0; s->v && i <= s->mask; i++)
        if (s->v[i])
            fn(s->v[i], arg);
}

void addrset_fini(struct addrset *s)
{
    if (!s)
        return;
    free(s->v);
    *s = (struct addrset){0};
}
