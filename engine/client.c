/* SPDX-License-Identifier: MIT */
/*
 * client.c — external callers of a pinned system. Each thread that calls
 * ts_tell/ts_ask/ts_listen gets its own mailbox on first use: a ring to
 * every shard and one back from every shard, so callers never share a
 * producer or consumer side with anyone and need no lock on the data path.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "futex.h"
#include "pinned.h"

/* The calling thread's mailbox, cached by the system's unique id (a system
 * opened later at the same address must not see a stale mailbox). */
static _Thread_local struct {
    uint64_t uid;
    struct client *c;
} tls_client;

/* A serial number per thread, never reused in the process (a pthread_t is
 * reused at once by the next thread: it must not inherit a mailbox). */
static uint64_t thread_serial(void)
{
    static _Atomic uint64_t next = 1;
    static _Thread_local uint64_t serial;
    if (!serial)
        serial = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
    return serial;
}

static int client_new(struct pinned *p, uint32_t id, struct client **out)
{
    struct client *c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(-ENOMEM, "out of memory");
    size_t one = ring_footprint(p->sys->cfg.ring_size);
    c->to_shard = calloc(p->n, sizeof(*c->to_shard));
    c->from_shard = calloc(p->n, sizeof(*c->from_shard));
    int rc = c->to_shard && c->from_shard ? 0 : -ENOMEM;
    if (rc == 0)
        rc = shm_segment_create(&c->seg, "thespis-client", 2 * p->n * one);
    if (rc < 0) {
        client_free(p, c);
        return err_set(rc, "cannot make a mailbox for this thread: %s", strerror(-rc));
    }
    unsigned char *at = c->seg.base;
    for (unsigned i = 0; i < p->n; i++) {
        c->to_shard[i] = (struct ring *)(void *)at;
        ring_init(c->to_shard[i], p->sys->cfg.ring_size);
        c->from_shard[i] = (struct ring *)(void *)(at + one);
        ring_init(c->from_shard[i], p->sys->cfg.ring_size);
        at += 2 * one;
    }
    c->id = id;
    c->w = &c->own;
    atomic_init(&c->w->addr, ts_addr_make(p->sys->cfg.node_id, SHARD_CLIENT, id, 1));
    *out = c;
    return 0;
}

/* ---- mailboxes given back when their thread exits --------------------- */

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pinned *live; /* open pinned systems; live_lock */

void clients_register(struct pinned *p)
{
    pthread_mutex_lock(&live_lock);
    p->next_live = live;
    live = p;
    pthread_mutex_unlock(&live_lock);
}

void clients_unregister(struct pinned *p)
{
    pthread_mutex_lock(&live_lock);
    for (struct pinned **q = &live; *q; q = &(*q)->next_live) {
        if (*q == p) {
            *q = p->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
}

/* Runs when a thread that has mailboxes exits: each system still open gets
 * them back (its lock held while the system is found open, so it cannot
 * close meanwhile). */
static void thread_gone(void *arg)
{
    uint64_t serial = (uint64_t)(uintptr_t)arg;
    pthread_mutex_lock(&live_lock);
    for (struct pinned *p = live; p; p = p->next_live) {
        pthread_mutex_lock(&p->client_lock);
        uint32_t n = atomic_load_explicit(&p->nclients, memory_order_relaxed);
        for (uint32_t i = 0; i < n; i++) {
            struct client *c = atomic_load_explicit(&p->clients[i], memory_order_relaxed);
            if (c && c->owner == serial) {
                c->owner = 0;
                if (p->unclaim)
                    p->unclaim(p, c);
            }
        }
        pthread_mutex_unlock(&p->client_lock);
    }
    pthread_mutex_unlock(&live_lock);
}

static pthread_key_t gone_key;
static pthread_once_t gone_once = PTHREAD_ONCE_INIT;

static void gone_key_make(void)
{
    pthread_key_create(&gone_key, thread_gone);
}

/* Arranges for thread_gone to run when the calling thread exits. */
static void watch_thread(void)
{
    pthread_once(&gone_once, gone_key_make);
    if (!pthread_getspecific(gone_key))
        pthread_setspecific(gone_key, (void *)(uintptr_t)thread_serial());
}

/* Takes over a mailbox whose thread exited: the next generation of its
 * address, and nothing of what the old owner had not read. Locked. */
static void adopt(struct pinned *p, struct client *c)
{
    ts_addr old = atomic_load_explicit(&c->w->addr, memory_order_relaxed);
    uint16_t gen = (uint16_t)(ts_addr_gen(old) + 1);
    c->owner = thread_serial();
    /* Release: pairs with the shards' acquire in client_port; from now on
     * they route only the new address here. */
    atomic_store_explicit(&c->w->addr, ts_addr_make(p->sys->cfg.node_id, SHARD_CLIENT, c->id,
                                                 gen ? gen : 1),
                          memory_order_release);
    client_collect(p, c); /* stale ones are dropped by their address */
    inbox_fini(&c->inbox);
}

int client_get(struct pinned *p, struct client **out)
{
    if (tls_client.uid == p->uid) {
        *out = tls_client.c;
        return 0;
    }
    int rc = 0;
    struct client *c = NULL, *free_one = NULL;
    watch_thread();
    pthread_mutex_lock(&p->client_lock);
    uint32_t n = atomic_load_explicit(&p->nclients, memory_order_relaxed);
    for (uint32_t i = 0; i < n && !c; i++) {
        struct client *k = atomic_load_explicit(&p->clients[i], memory_order_relaxed);
        if (!k)
            continue;
        if (k->owner == thread_serial())
            c = k;
        else if (!k->owner && !free_one)
            free_one = k;
    }
    if (!c && p->claim) {
        if ((rc = p->claim(p, &c)) == 0) {
            client_recover(p, c);
            adopt(p, c);
        }
    } else if (!c && free_one) {
        c = free_one;
        adopt(p, c);
    } else if (!c && n == MAX_CLIENTS) {
        rc = err_set(-EAGAIN, "more than %d threads are calling this system at once", MAX_CLIENTS);
    } else if (!c && (rc = client_new(p, n, &c)) == 0) {
        c->owner = thread_serial();
        /* Release: publishes the built mailbox; pairs with the shards'
         * acquire loads of nclients and clients[i] in their loops. */
        atomic_store_explicit(&p->clients[n], c, memory_order_release);
        atomic_store_explicit(&p->nclients, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&p->client_lock);
    if (rc == 0) {
        tls_client.uid = p->uid;
        tls_client.c = c;
        *out = c;
    }
    return rc;
}

void client_recover(struct pinned *p, struct client *c)
{
    for (unsigned i = 0; i < p->n; i++) {
        ring_producer_recover(c->to_shard[i]);
        ring_consumer_recover(c->from_shard[i]);
    }
}

void client_free(struct pinned *p, struct client *c)
{
    (void)p;
    if (!c)
        return;
    if (tls_client.c == c)
        tls_client.uid = 0;
    shm_segment_destroy(&c->seg);
    inbox_fini(&c->inbox);
    free(c->to_shard);
    free(c->from_shard);
    free(c);
}

/* Publishes what was queued to shard t and wakes it. */
static void client_publish(struct pinned *p, struct client *c, unsigned t)
{
    /* Counted before it can be handled, so idle detection never sees more
     * handled than sent. */
    atomic_fetch_add_explicit(&c->w->sent, 1, memory_order_release);
    ring_publish(c->to_shard[t]);
    pinned_wake(p->shards[t].sleeping);
}

/* A large message to a shard of another process: written into a blob, and
 * a reference to it queued (blob.h). */
static int client_send_blob(struct pinned *p, struct client *c, unsigned t, const ts_msg *env,
                            const void *payload)
{
    struct blob_ref ref = {.size = sizeof(ts_msg) + env->len};
    int rc;
    ts_msg *big = blob_create(p->blobs, ref.size, &ref.id, &rc);
    if (!big)
        return err_set(rc, "cannot make a blob for a %u-byte message: %s", env->len, strerror(-rc));
    *big = *env;
    memcpy(big + 1, payload, env->len);
    blob_unmap(big, ref.size);
    ts_msg *m = ring_msg_reserve(c->to_shard[t], sizeof(ref));
    if (!m) {
        blob_remove(p->blobs, ref.id);
        return err_set(-EAGAIN, "the mailbox ring to shard %u is full; try again", t);
    }
    m->flags = MSGF_BLOBREF;
    memcpy(m + 1, &ref, sizeof(ref));
    client_publish(p, c, t);
    return 0;
}

int client_send(struct pinned *p, struct client *c, ts_addr dst, ts_addr src, uint64_t type,
                const void *payload, size_t len, uint32_t flags)
{
    unsigned t = ts_addr_shard(dst);
    if (t >= p->n || ts_addr_node(dst) != p->sys->cfg.node_id)
        t = 0; /* to another caller or node: shard 0 forwards it or dead-letters it */
    struct ring *r = c->to_shard[t];
    if (p->blobs && len > p->blob_min)
        return client_send_blob(p, c, t, &(ts_msg){.dst = dst, .src = src, .type = type,
                                                   .len = (uint32_t)len, .flags = flags},
                                payload);
    ts_msg *m = ring_msg_reserve(r, len);
    if (!m)
        return err_set(-EAGAIN, "the mailbox ring to shard %u is full; try again", t);
    *m = (ts_msg){.dst = dst, .src = src, .type = type, .len = (uint32_t)len, .flags = flags};
    if (len)
        memcpy(m + 1, payload, len);
    client_publish(p, c, t);
    return 0;
}

int client_send_wait(struct pinned *p, struct client *c, ts_addr dst, uint64_t type,
                     const void *payload, size_t len, uint64_t deadline)
{
    for (uint64_t pause = 1000;; pause = pause < 1000000 ? 2 * pause : pause) {
        int rc = client_send(p, c, dst, atomic_load(&c->w->addr), type, payload, len, 0);
        uint64_t now = clock_now_ns();
        if (rc != -EAGAIN || now >= deadline)
            return rc;
        client_collect(p, c); /* what the shard answers meanwhile is kept */
        clock_sleep_until(deadline - now < pause ? deadline : now + pause);
    }
}

/* A large message from a shard of another process (blob.h): copied into
 * this caller's heap, its blob removed. NULL when it cannot be read. */
static ts_msg *blob_take(struct pinned *p, const ts_msg *refmsg)
{
    struct blob_ref ref;
    int rc = blob_ref_of(refmsg, &ref);
    ts_msg *big = rc == 0 ? blob_map(p->blobs, &ref, &rc) : NULL, *m = NULL;
    if (big && (m = malloc(ref.size)))
        memcpy(m, big, ref.size);
    blob_unmap(big, ref.size);
    if (m || rc < 0)
        blob_remove(p->blobs, ref.id);
    if (rc < 0)
        system_log(p->sys, TS_LOG_ERROR, "TS-BLOB", 0, "",
                   "a caller drops a large message: its blob %016llx cannot be read: %s",
                   (unsigned long long)ref.id, strerror(-rc));
    return m;
}

void client_collect(struct pinned *p, struct client *c)
{
    ts_addr self = atomic_load_explicit(&c->w->addr, memory_order_relaxed);
    for (unsigned i = 0; i < p->n; i++) {
        struct ring *r = c->from_shard[i];
        uint32_t len, flags;
        bool took = false;
        for (void *rec; (rec = ring_front(r, &len, &flags)); ring_pop(r)) {
            ts_msg *m = flags & REC_BLOB ? *(ts_msg **)rec : NULL;
            if (!m && p->blobs && (((ts_msg *)rec)->flags & MSGF_BLOBREF)) {
                if (!(m = blob_take(p, rec))) { /* unreadable: dropped, said in the log */
                    took = true;
                    continue;
                }
                len = (uint32_t)(sizeof(*m) + m->len);
            }
            if (((ts_msg *)(m ? m : rec))->dst != self) { /* to this mailbox's last owner */
                free(m);
                took = true;
                continue;
            }
            if (!m && (m = malloc(len)))
                memcpy(m, rec, len);
            if (!m || inbox_push(&c->inbox, m) < 0) {
                free(m);
                break; /* out of memory: leave the rest in the ring */
            }
            took = true;
        }
        if (took)
            ring_release(r);
    }
}

static bool client_has_input(struct pinned *p, struct client *c)
{
    for (unsigned i = 0; i < p->n; i++)
        if (!ring_empty(c->from_shard[i]))
            return true;
    return false;
}

int client_await(struct pinned *p, struct client *c, uint64_t deadline, size_t have)
{
    uint64_t spin_until = 0;
    for (;;) {
        client_collect(p, c);
        if (c->inbox.n > have)
            return 0;
        uint64_t now = clock_now_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        if (!spin_until)
            spin_until = now + p->sys->cfg.spin_ns;
        if (now < spin_until) {
            __builtin_ia32_pause();
            continue;
        }
        atomic_store_explicit(&c->w->sleeping, 1, memory_order_relaxed);
        /* F2: as in the shard loop; pairs with F1 in pinned_wake. */
        atomic_thread_fence(memory_order_seq_cst);
        if (!client_has_input(p, c))
            futex_wait(&c->w->sleeping, 1, deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
        atomic_store_explicit(&c->w->sleeping, 0, memory_order_relaxed);
    }
}

int client_wait(struct pinned *p, struct client *c, uint64_t deadline, ts_msg **out)
{
    int rc = client_await(p, c, deadline, 0);
    if (rc == 0)
        *out = inbox_pop(&c->inbox);
    return rc;
}
