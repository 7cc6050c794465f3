/* SPDX-License-Identifier: MIT */
/* names.h — global actor names of one system: name -> address. */
#ifndef TS_ENGINE_NAMES_H
#define TS_ENGINE_NAMES_H

#include <thespis/thespis.h>

#define NAMES_BUCKETS 1024

struct name_ent {
    struct name_ent *next;
    ts_addr addr;
    char name[];
};

struct names {
    struct name_ent *bucket[NAMES_BUCKETS];
};

/* The address registered under name, or TS_ADDR_NONE. */
ts_addr names_get(const struct names *n, const char *name);
/* Registers name -> addr (name must be absent). Returns 0 or -ENOMEM. */
int names_put(struct names *n, const char *name, ts_addr addr);
/* Removes name if it maps to addr. */
void names_del(struct names *n, const char *name, ts_addr addr);
void names_fini(struct names *n);

#endif
