/* SPDX-License-Identifier: MIT */
/* registry.h — the process-wide registry of actor types. Registration takes
 * a lock; lookups are lock-free (entries are published once, never moved). */
#ifndef TS_ENGINE_REGISTRY_H
#define TS_ENGINE_REGISTRY_H

#include <stdint.h>

#include <thespis/thespis.h>

#include "../placement/caps.h"

struct handler_slot {
    uint64_t id;
    ts_handler fn; /* NULL: empty slot */
};

/* A registered actor type with its handler table hashed by type id. */
struct type_rec {
    const ts_actor_type *type;
    uint32_t mask; /* table size - 1 */
    struct handler_slot *table;
    struct reqs reqs; /* the type's requirements, parsed */
    ts_image_id image; /* the image (ts_load_image) that registered it; all
                          zero for the program's own types */
    uint64_t load;     /* the image load that registered it (0: none) */
    _Atomic bool dead; /* its image's init failed: found by no lookup */
};

/* Whether type t may run on a node with capabilities c, given a creation's
 * requirements (parsed, and as text for the type's check; NULL: none).
 * When it may not and why is not NULL, why says what fails. */
bool type_rec_fits(const struct type_rec *t, const struct caps *c, const struct reqs *create,
                   const char *create_text, char *why, size_t len);
/* Whether placing t needs the node's capabilities at all. */
static inline bool type_rec_demands(const struct type_rec *t)
{
    return t->reqs.n || t->type->capability_check;
}

/* The registered type of that name, or NULL. */
const struct type_rec *registry_find(const char *name);

/* The type of that name image registered (image NULL or zero: the
 * program's, as registry_find), or NULL. Says nothing of whether the image
 * is still loaded (image.h). */
const struct type_rec *registry_find_in(const ts_image_id *image, const char *name);

/* From now until registry_image_end, types this thread registers are
 * image's (a name twice in it is -EEXIST), and on_type(t, arg) is called
 * with each (under the registry's lock: it must not register). */
void registry_image_begin(const ts_image_id *image,
                          void (*on_type)(const ts_actor_type *t, void *arg), void *arg);
void registry_image_end(void);
/* The image whose init is running on this thread failed: every type it
 * registered is forgotten (lookups pass over them; the name is free again),
 * so that loading it again starts afresh. Call before registry_image_end. */
void registry_image_abort(void);

/* Where registry_find looks for a name it does not know (multiproc: the
 * types a node's starter registered after the node forked); it may
 * register the type and return it. NULL: nowhere. */
void registry_set_fallback(const struct type_rec *(*fn)(const char *name));
/* Calls fn on every registered type (in no order). */
void registry_foreach(void (*fn)(const ts_actor_type *t, void *arg), void *arg);
/* Called (under the registry's lock) with every type registered from now
 * on; NULL to stop. */
void registry_set_observer(void (*fn)(const ts_actor_type *t));

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
