/* SPDX-License-Identifier: MIT */
/* registry.c — actor type registration: validates the handler table, hashes
 * it by type id, and publishes the entry for lock-free lookups. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include <thespis/image.h>

#include "err.h"
#include "registry.h"

#define REGISTRY_CAP 4096 /* power of two */

/* Each slot is written once, under registry_lock, with a release store that
 * publishes the fully built type_rec; registry_find pairs with an acquire
 * load, so a reader that sees the pointer sees the whole record. */
static _Atomic(struct type_rec *) registry[REGISTRY_CAP];
static size_t registry_count;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* Types an image registers are its own: the key is (image, name). */
static size_t key_hash(const ts_image_id *image, const char *name)
{
    uint64_t h = XXH3_64bits(name, strlen(name));
    if (image)
        h ^= XXH3_64bits(image->b, sizeof(image->b));
    return (size_t)h;
}

static bool key_is(const struct type_rec *r, const ts_image_id *image, const char *name)
{
    static const ts_image_id none;
    if (atomic_load_explicit(&r->dead, memory_order_acquire))
        return false;
    return memcmp(&r->image, image ? image : &none, sizeof(none)) == 0 &&
           strcmp(r->type->name, name) == 0;
}

static const struct type_rec *(*_Atomic fallback)(const char *name);
static void (*observer)(const ts_actor_type *t); /* registry_lock */

/* The image whose init runs on this thread (registry_image_begin). */
static _Thread_local struct {
    const ts_image_id *id;
    void (*on_type)(const ts_actor_type *t, void *arg);
    void *arg;
    uint64_t load; /* this load's number: its records carry it */
} loading;
static uint64_t loads; /* registry_lock */

static const struct type_rec *find_local(const ts_image_id *image, const char *name)
{
    size_t i = key_hash(image, name) & (REGISTRY_CAP - 1);
    for (;; i = (i + 1) & (REGISTRY_CAP - 1)) {
        struct type_rec *r = atomic_load_explicit(&registry[i], memory_order_acquire);
        if (!r)
            return NULL;
        if (key_is(r, image, name))
            return r;
    }
}

const struct type_rec *registry_find(const char *name)
{
    const struct type_rec *r = find_local(NULL, name);
    const struct type_rec *(*fb)(const char *) = atomic_load(&fallback);
    return r || !fb ? r : fb(name);
}

const struct type_rec *registry_find_in(const ts_image_id *image, const char *name)
{
    return image && !ts_image_id_is_zero(image) ? find_local(image, name) : registry_find(name);
}

void registry_image_begin(const ts_image_id *image,
                          void (*on_type)(const ts_actor_type *t, void *arg), void *arg)
{
    loading.id = image;
    loading.on_type = on_type;
    loading.arg = arg;
    pthread_mutex_lock(&registry_lock);
    loading.load = ++loads;
    pthread_mutex_unlock(&registry_lock);
}

void registry_image_abort(void)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; loading.load && i < REGISTRY_CAP; i++) {
        struct type_rec *r = atomic_load_explicit(&registry[i], memory_order_relaxed);
        if (r && r->load == loading.load)
            atomic_store_explicit(&r->dead, true, memory_order_release);
    }
    pthread_mutex_unlock(&registry_lock);
}

void registry_image_end(void)
{
    loading.id = NULL;
    loading.on_type = NULL;
    loading.arg = NULL;
    loading.load = 0;
}

void registry_set_fallback(const struct type_rec *(*fn)(const char *name))
{
    atomic_store(&fallback, fn);
}

void registry_set_observer(void (*fn)(const ts_actor_type *t))
{
    pthread_mutex_lock(&registry_lock);
    observer = fn;
    pthread_mutex_unlock(&registry_lock);
}

void registry_foreach(void (*fn)(const ts_actor_type *t, void *arg), void *arg)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < REGISTRY_CAP; i++) {
        struct type_rec *r = atomic_load_explicit(&registry[i], memory_order_relaxed);
        if (r)
            fn(r->type, arg);
    }
    pthread_mutex_unlock(&registry_lock);
}

static uint32_t table_size_for(size_t n)
{
    uint32_t size = 4;
    while (size < 2 * n)
        size <<= 1;
    return size;
}

/* Resolves each row's id and fills the hash table; refuses duplicates. */
static int build_table(const ts_actor_type *t, struct type_rec *r)
{
    size_t n = 0;
    while (t->handlers && t->handlers[n].fn)
        n++;
    r->mask = table_size_for(n) - 1;
    r->table = calloc((size_t)r->mask + 1, sizeof(*r->table));
    if (!r->table)
        return err_set(-ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        const ts_handler_entry *e = &t->handlers[k];
        uint64_t id = e->type_id;
        if (e->type_name) {
            int rc = ts_register_msg_type(e->type_name, &id);
            if (rc < 0)
                return rc;
            if (e->type_id && e->type_id != id)
                return err_set(-EINVAL, "actor type '%s': row '%s' names id %016llx, its name hashes to %016llx",
                               t->name, e->type_name, (unsigned long long)e->type_id,
                               (unsigned long long)id);
        }
        uint32_t i = (uint32_t)id & r->mask;
        while (r->table[i].fn && r->table[i].id != id)
            i = (i + 1) & r->mask;
        if (r->table[i].fn)
            return err_set(-EEXIST, "actor type '%s': two handlers for message type %016llx",
                           t->name, (unsigned long long)id);
        r->table[i] = (struct handler_slot){.id = id, .fn = e->fn};
    }
    return 0;
}

static int insert_locked(const ts_actor_type *t)
{
    const ts_image_id *image = loading.id;
    size_t i = key_hash(image, t->name) & (REGISTRY_CAP - 1);
    for (struct type_rec *r; (r = atomic_load_explicit(&registry[i], memory_order_relaxed));
         i = (i + 1) & (REGISTRY_CAP - 1)) {
        if (!key_is(r, image, t->name))
            continue;
        if (r->type == t)
            return 0;
        return image ? err_set(-EEXIST, "the image registers two actor types named '%s'", t->name)
                     : err_set(-EEXIST, "another actor type is registered as '%s'", t->name);
    }
    if (registry_count + 1 >= REGISTRY_CAP / 2)
        return err_set(-ENOSPC, "actor type registry is full (%zu types)", registry_count);
    struct type_rec *r = calloc(1, sizeof(*r));
    if (!r)
        return err_set(-ENOMEM, "out of memory");
    r->type = t;
    r->load = loading.load;
    if (image)
        r->image = *image;
    int rc = reqs_parse(t->requirements, &r->reqs);
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", ts_last_error());
        rc = err_set(rc, "actor type '%s': requirements \"%s\": %s", t->name, t->requirements, why);
    }
    if (rc == 0)
        rc = build_table(t, r);
    if (rc < 0) {
        free(r->table);
        free(r);
        return rc;
    }
    atomic_store_explicit(&registry[i], r, memory_order_release); /* pairs with registry_find */
    registry_count++;
    if (loading.on_type)
        loading.on_type(t, loading.arg);
    if (!image && observer)
        observer(t);
    return 0;
}

int ts_register_actor_type(const ts_actor_type *type)
{
    if (!type || !type->name || !*type->name)
        return err_set(-EINVAL, "ts_register_actor_type: NULL type or empty name");
    pthread_mutex_lock(&registry_lock);
    int rc = insert_locked(type);
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

bool type_rec_fits(const struct type_rec *t, const struct caps *c, const struct reqs *create,
                   const char *create_text, char *why, size_t len)
{
    if (!reqs_met(&t->reqs, c, why, len))
        return false;
    if (create && !reqs_met(create, c, why, len))
        return false;
    if (t->type->capability_check &&
        !t->type->capability_check((const ts_caps *)(const void *)c, create_text)) {
        if (why && len)
            snprintf(why, len, "the type's capability check refuses it");
        return false;
    }
    return true;
}
