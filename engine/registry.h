/* SPDX-License-Identifier: MIT */
/* registry.h — the process-wide registry of actor types. Registration takes
 * a lock; lookups are lock-free (entries are published once, never moved). */
#ifndef TS_ENGINE_REGISTRY_H
#define TS_ENGINE_REGISTRY_H

#include <stdint.h>

#include <thespis/thespis.h>

struct handler_slot {
    uint64_t id;
    ts_handler fn; /* NULL: empty slot */
};

/* A registered actor type with its handler table hashed by type id. */
struct type_rec {
    const ts_actor_type *type;
    uint32_t mask; /* table size - 1 */
    struct handler_slot *table;
};

/* The registered type of that name, or NULL. */
const struct type_rec *registry_find(const char *name);

/* The handler for a message type id: the table's, else the fallback, else NULL. */
static inline ts_handler type_rec_handler(const struct type_rec *r, uint64_t id)
{
    for (uint32_t i = (uint32_t)id & r->mask;; i = (i + 1) & r->mask) {
        if (!r->table[i].fn)
            return r->type->fallback;
        if (r->table[i].id == id)
            return r->table[i].fn;
    }
}

#endif
