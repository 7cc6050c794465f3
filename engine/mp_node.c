/* SPDX-License-Identifier: MIT */
/*
 * mp_node.c — what lives in a node's shared memory besides the rings: the
 * global names, the types registered late by the node's starter, the actor
 * directory (design §5: crashed shards re-create their actors from it), and
 * the node-by-name calls of thespis/node.h.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "clock.h"
#include "err.h"
#include "futex.h"
#include "blob.h"
#include "mp.h"
#include "../shm/named.h"
#include "registry.h"
#include "system.h"

int mp_lock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_lock(m);
    if (rc == EOWNERDEAD) { /* its holder died: what it guarded is whole (single stores) */
        pthread_mutex_consistent(m);
        rc = 0;
    }
    return rc;
}

void mp_mutex_init(pthread_mutex_t *m, bool shared)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    if (shared) {
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    }
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

int mp_segment_name(const char *name, char out[96])
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > TS_NODE_NAME_MAX)
        return err_set(-EINVAL, "a node name has 1 to %d characters", TS_NODE_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return err_set(-EINVAL, "node name '%s': only letters, digits, '_', '-' and '.'", name);
    }
    snprintf(out, 96, MP_PREFIX "%s", name);
    return 0;
}

int mp_map(const char *name, struct shm_segment *seg, struct mp_node **out)
{
    char path[96];
    int rc = mp_segment_name(name, path);
    if (rc < 0)
        return rc;
    rc = shm_named_open(seg, path);
    if (rc == -ENOENT)
        return err_set(rc, "no node named '%s'", name);
    if (rc == -ESTALE)
        return err_set(rc, "node '%s' is stale: its admin is gone (the next start cleans up)", name);
    if (rc < 0)
        return err_set(rc, "cannot map node '%s': %s", name, strerror(-rc));
    struct mp_node *nd = shm_named_data(seg);
    if (nd->magic != MP_MAGIC || nd->version != MP_VERSION ||
        seg->size - SHM_NAMED_HDR < nd->total) {
        shm_segment_destroy(seg);
        return err_set(-EBADMSG, "/dev/shm/%s is not a thespis node of this version", path);
    }
    *out = nd;
    return 0;
}

void mp_blob_prefix(const char *name, char out[96])
{
    snprintf(out, 96, MP_PREFIX "%s.blob.", name);
}

void mp_remove_stale(const char *name)
{
    char path[96];
    if (mp_segment_name(name, path) == 0) {
        unsigned removed;
        shm_named_reap(path, &removed);
        mp_blob_prefix(name, path);
        blob_remove_all(path);
    }
}

/* ---- global names --------------------------------------------------- */

static struct mp_name *name_slot(struct mp_node *nd, const char *name, bool for_insert)
{
    struct mp_name *tomb = NULL;
    size_t i = (size_t)XXH3_64bits(name, strlen(name)) & (MP_NAMES - 1);
    for (size_t k = 0; k < MP_NAMES; k++, i = (i + 1) & (MP_NAMES - 1)) {
        struct mp_name *e = &nd->names[i];
        if (e->state == 0)
            return for_insert && tomb ? tomb : e;
        if (e->state == 2 && !tomb)
            tomb = e;
        if (e->state == 1 && strcmp(e->name, name) == 0)
            return e;
    }
    return for_insert ? tomb : NULL;
}

ts_addr mp_name_claim(struct mp_node *nd, const char *name, ts_addr addr, int *rc)
{
    if (strlen(name) >= MP_NAME_LEN) {
        *rc = err_set(-ENAMETOOLONG, "global name longer than %u characters", MP_NAME_LEN - 1);
        return 0;
    }
    mp_lock(&nd->lock);
    struct mp_name *e = name_slot(nd, name, true);
    ts_addr have = 0;
    *rc = 0;
    if (e && e->state == 1) {
        have = e->addr;
    } else if (!e) {
        *rc = err_set(-ENOSPC, "the node's global name table is full (%u names)", MP_NAMES);
    } else {
        snprintf(e->name, sizeof(e->name), "%s", name);
        e->addr = addr;
        e->state = 1;
    }
    pthread_mutex_unlock(&nd->lock);
    return have;
}

ts_addr mp_name_get(struct mp_node *nd, const char *name)
{
    if (strlen(name) >= MP_NAME_LEN)
        return 0;
    mp_lock(&nd->lock);
    struct mp_name *e = name_slot(nd, name, false);
    ts_addr have = e && e->state == 1 ? e->addr : 0;
    pthread_mutex_unlock(&nd->lock);
    return have;
}

void mp_name_release(struct mp_node *nd, const char *name, ts_addr addr)
{
    mp_lock(&nd->lock);
    struct mp_name *e = name_slot(nd, name, false);
    if (e && e->state == 1 && e->addr == addr)
        e->state = 2;
    pthread_mutex_unlock(&nd->lock);
}

/* ---- types ---------------------------------------------------------- */

static bool same_image(const void *ptr, uint64_t fbase, const char *file)
{
    Dl_info info;
    return dladdr(ptr, &info) && (uint64_t)(uintptr_t)info.dli_fbase == fbase && info.dli_fname &&
           strcmp(info.dli_fname, file) == 0;
}

void mp_type_publish(struct mp_node *nd, const ts_actor_type *t)
{
    Dl_info info;
    if (!dladdr(t, &info) || !info.dli_fname || strlen(t->name) >= sizeof(nd->types[0].name))
        return; /* not in an image: attached programs cannot share it */
    mp_lock(&nd->lock);
    bool have = false;
    for (uint32_t i = 0; i < nd->ntypes && !have; i++)
        have = strcmp(nd->types[i].name, t->name) == 0;
    if (!have && nd->ntypes < MP_TYPES) {
        struct mp_type *e = &nd->types[nd->ntypes];
        snprintf(e->name, sizeof(e->name), "%s", t->name);
        snprintf(e->file, sizeof(e->file), "%s", info.dli_fname);
        e->ptr = (uint64_t)(uintptr_t)t;
        e->fbase = (uint64_t)(uintptr_t)info.dli_fbase;
        /* Release: a shard that finds the count finds the entry whole. */
        __atomic_store_n(&nd->ntypes, nd->ntypes + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&nd->lock);
}

bool mp_type_known(struct mp_node *nd, const char *name)
{
    uint32_t n = __atomic_load_n(&nd->ntypes, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(nd->types[i].name, name) == 0)
            return true;
    return false;
}

/* A shard meets a type its process was forked without: registered since
 * by the node's starter, whose image this process maps at the same place. */
const struct type_rec *mp_type_adopt(struct mp_node *nd, const char *name)
{
    uint32_t n = __atomic_load_n(&nd->ntypes, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++) {
        const struct mp_type *e = &nd->types[i];
        if (strcmp(e->name, name) != 0)
            continue;
        const ts_actor_type *t = (const ts_actor_type *)(uintptr_t)e->ptr;
        if (!same_image(t, e->fbase, e->file) || strcmp(t->name, name) != 0)
            return NULL;
        ts_register_actor_type(t);
        registry_set_fallback(NULL); /* no recursion through the lookup below */
        const struct type_rec *r = registry_find(name);
        return r;
    }
    return NULL;
}

/* ---- the actor directory -------------------------------------------- */

void mp_dir_put(struct mp_node *nd, unsigned shard, const ts_msg *start)
{
    uint32_t slot = ts_addr_slot(start->dst);
    if (slot >= nd->dir_cap || start->len > MP_START_MAX)
        return; /* cannot happen: slot_limit and start_max keep within */
    struct mp_dirent *e = mp_dir(nd, shard, slot);
    e->addr = start->dst;
    e->creator = start->src;
    e->len = start->len;
    memcpy(e->start, ts_msg_data(start), start->len);
    atomic_store_explicit(&e->live, 1, memory_order_release);
    struct mp_shard *s = &nd->shards[shard];
    if (atomic_load_explicit(&s->dir_hwm, memory_order_relaxed) <= slot)
        atomic_store_explicit(&s->dir_hwm, slot + 1, memory_order_release);
}

void mp_dir_del(struct mp_node *nd, unsigned shard, uint32_t slot)
{
    if (slot < nd->dir_cap)
        atomic_store_explicit(&mp_dir(nd, shard, slot)->live, 0, memory_order_release);
}

/* ---- status and stop by name ---------------------------------------- */

/* The node's device as shard 0 published it (net_publish); none: zeros. */
static void status_device(const struct net_pub_device *d, ts_node_device *out)
{
    if (!atomic_load_explicit(&d->present, memory_order_acquire))
        return; /* pairs with the release in net_publish: name is written */
    snprintf(out->name, sizeof(out->name), "%.*s", (int)sizeof(d->name), d->name);
#define GET(f) out->f = atomic_load_explicit(&d->f, memory_order_relaxed)
    GET(rx_packets);
    GET(tx_packets);
    GET(rx_bytes);
    GET(tx_bytes);
    GET(rx_missed);
    GET(rx_errors);
    GET(tx_errors);
    GET(rx_nombuf);
    GET(not_ours);
    GET(malformed);
    GET(forwarded);
    GET(inbox_full);
    GET(arp_in);
    GET(arp_out);
    GET(tx_dropped);
#undef GET
}

int ts_node_status_get(const char *name, ts_node_status *out)
{
    if (!name || !out)
        return err_set(-EINVAL, "ts_node_status_get: NULL argument");
    struct shm_segment seg;
    struct mp_node *nd;
    int rc = mp_map(name, &seg, &nd);
    if (rc < 0)
        return rc;
    uint32_t state = atomic_load(&nd->state);
    if (state != MP_RUNNING) {
        shm_segment_destroy(&seg);
        return err_set(-EAGAIN, "node '%s' is %s", name,
                       state == MP_STARTING ? "still starting" : "stopping");
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", nd->name);
    snprintf(out->base, sizeof(out->base), "%s", ts_base_name((ts_base)nd->base));
    node_caps_read(&nd->caps, NULL, out->caps, sizeof(out->caps));
    if (nd->in_conv) {
        out->nmembers = members_export(&nd->members, out->members, TS_NODE_MAX_MEMBERS,
                                       out->convention_state, out->convention_why);
        if (mp_lock(&nd->members.lock) == 0) {
            snprintf(out->convention, sizeof(out->convention), "%s", nd->members.leader);
            out->convention_leader = (uint8_t)nd->members.leading;
            pthread_mutex_unlock(&nd->members.lock);
        }
    }
    out->pid = atomic_load(&nd->admin_pid);
    out->node_id = nd->node_id;
    out->nshards = nd->nshards;
    for (uint32_t i = 0; i < MP_MAX_CLIENTS; i++)
        out->clients += atomic_load(&nd->clients[i].pid) != 0;
    for (uint32_t i = 0; i < nd->nshards && i < TS_NODE_MAX_SHARDS; i++) {
        struct mp_shard *s = &nd->shards[i];
        ts_node_shard *o = &out->shards[i];
        o->id = i;
        o->core = s->core;
        o->pid = atomic_load(&s->pid);
        o->restarts = atomic_load(&s->restarts);
        /* live is counted where an actor is created, uncounted where it
         * exits: per shard, the actors are the directory's. */
        uint32_t hwm = atomic_load(&s->dir_hwm);
        for (uint32_t k = 0; k < hwm; k++)
            o->actors += atomic_load_explicit(&mp_dir(nd, i, k)->live, memory_order_relaxed);
        o->msgs_in = atomic_load(&s->stats.delivered);
        o->msgs_out = atomic_load(&s->stats.sent) + atomic_load(&s->stats.client_sent);
        out->actors += o->actors;
        out->dead_letters += atomic_load(&s->stats.dead_letters);
        uint32_t nl = atomic_load_explicit(&s->net.n, memory_order_acquire);
        for (uint32_t k = 0; k < nl && k < NET_PUB_LINKS && out->nlinks < TS_NODE_MAX_LINKS; k++) {
            const struct net_pub_link *l = &s->net.links[k];
            uint64_t nu = atomic_load_explicit(&l->node_up, memory_order_relaxed);
            out->links[out->nlinks++] = (ts_node_link){
                .shard = i, .node = (uint16_t)nu, .up = (uint8_t)(nu >> 16),
                .frames_in = atomic_load_explicit(&l->frames_in, memory_order_relaxed),
                .frames_out = atomic_load_explicit(&l->frames_out, memory_order_relaxed),
                .bytes_in = atomic_load_explicit(&l->bytes_in, memory_order_relaxed),
                .bytes_out = atomic_load_explicit(&l->bytes_out, memory_order_relaxed),
                .retransmits = atomic_load_explicit(&l->retransmits, memory_order_relaxed),
                .reconnects = atomic_load_explicit(&l->reconnects, memory_order_relaxed),
                .malformed = atomic_load_explicit(&l->malformed, memory_order_relaxed),
                .queued_bytes = atomic_load_explicit(&l->queued_bytes, memory_order_relaxed)};
        }
    }
    snprintf(out->transport, sizeof(out->transport), "%s", nd->transport);
    snprintf(out->listen, sizeof(out->listen), "%s", nd->listen);
    status_device(&nd->shards[0].net.device, &out->device);
    shm_segment_destroy(&seg);
    return 0;
}

int ts_node_set_capability(const char *name, const char *key, const char *value)
{
    if (!name || !key)
        return err_set(-EINVAL, "ts_node_set_capability: NULL name or key");
    struct shm_segment seg;
    struct mp_node *nd;
    int rc = mp_map(name, &seg, &nd);
    if (rc < 0)
        return rc;
    if (atomic_load(&nd->state) != MP_RUNNING)
        rc = err_set(-EAGAIN, "node '%s' is not running (starting or stopping)", name);
    else
        rc = node_caps_update(&nd->caps, key, value);
    for (uint32_t i = 0; rc == 0 && i < nd->nshards && i < TS_NODE_MAX_SHARDS; i++) {
        atomic_store(&nd->shards[i].sleeping, 0); /* each checks its actors again */
        futex_wake(&nd->shards[i].sleeping);
    }
    shm_segment_destroy(&seg);
    return rc;
}

int ts_node_stop(const char *name, uint64_t timeout_ns)
{
    if (!name)
        return err_set(-EINVAL, "ts_node_stop: NULL name");
    struct shm_segment seg;
    struct mp_node *nd;
    int rc = mp_map(name, &seg, &nd);
    if (rc == -ESTALE) {
        mp_remove_stale(name);
        return 0;
    }
    if (rc < 0)
        return rc;
    ts_base base = (ts_base)nd->base;
    /* A node whose start failed stops by itself: its admin removes the
     * segment on its way out. Only wait for that. */
    bool failed = atomic_load(&nd->state) == MP_FAILED;
    shm_segment_destroy(&seg);
    if (!failed) {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = base;
        cfg.node_name = name;
        ts_system *sys;
        if ((rc = ts_system_open(&cfg, &sys)) < 0)
            return rc;
        rc = ts_system_shutdown(sys);
        ts_system_close(sys);
    }
    /* The admin removes the segment last, once the shards are gone. */
    char path[96];
    mp_segment_name(name, path);
    uint64_t deadline = clock_deadline(clock_now_ns(), timeout_ns);
    for (uint64_t pause = 100000;; pause = pause < 10000000 ? 2 * pause : pause) {
        struct shm_segment s;
        int orc = shm_named_open(&s, path);
        if (orc == 0)
            shm_segment_destroy(&s);
        if (orc == -ENOENT || orc == -ESTALE) {
            if (orc == -ESTALE)
                mp_remove_stale(name);
            return rc;
        }
        uint64_t now = clock_now_ns();
        if (now >= deadline)
            return err_set(-ETIMEDOUT, "node '%s' did not stop in time", name);
        clock_sleep_until(deadline - now < pause ? deadline : now + pause);
    }
}
