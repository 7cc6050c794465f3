/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "names.h"

static size_t bucket_index(const char *name)
{
    return (size_t)XXH3_64bits(name, strlen(name)) & (NAMES_BUCKETS - 1);
}

ts_addr names_get(const struct names *n, const char *name)
{
    for (const struct name_ent *e = n->bucket[bucket_index(name)]; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e->addr;
    return TS_ADDR_NONE;
}

int names_put(struct names *n, const char *name, ts_addr addr)
{
    size_t len = strlen(name) + 1;
    struct name_ent *e = malloc(sizeof(*e) + len);
    if (!e)
        return -ENOMEM;
    memcpy(e->name, name, len);
    e->addr = addr;
    struct name_ent **b = &n->bucket[bucket_index(name)];
    e->next = *b;
    *b = e;
    return 0;
}

void names_del(struct names *n, const char *name, ts_addr addr)
{
    for (struct name_ent **p = &n->bucket[bucket_index(name)]; *p; p = &(*p)->next) {
        struct name_ent *e = *p;
        if (strcmp(e->name, name) == 0 && e->addr == addr) {
            *p = e->next;
            free(e);
            return;
        }
    }
}

void names_fini(struct names *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < NAMES_BUCKETS; i++) {
        for (struct name_ent *e = n->bucket[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
        n->bucket[i] = NULL;
    }
}
