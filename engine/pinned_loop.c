/* SPDX-License-Identifier: MIT */
/*
 * pinned_loop.c — a pinned shard's thread: its run-to-completion loop and its
 * outbound ports (design §2, §3, §6).
 *
 * The loop drains the run queue and every inbound ring in batches, running
 * handlers on messages in place; publishes what each batch wrote as soon as
 * the batch is done, waking consumers that announced sleep; flushes
 * overflows; fires due timers; and when idle spins or sleeps by the idle
 * policy. No lock, syscall or malloc per message: rings are preallocated,
 * the run queue and overflows reuse their chunks, and the futex is touched
 * only around sleep (docs/mailbox.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "futex.h"
#include "pinned.h"
#include "shard_internal.h"

static struct pshard *pshard_of(struct shard *sh)
{
    return sh->base;
}

void pinned_wake(_Atomic uint32_t *word)
{
    /* F1: orders the publish before the load of the sleep word; pairs with
     * F2 in the sleeper, so either it sees our records or we see it asleep. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(word, memory_order_relaxed) &&
        atomic_exchange_explicit(word, 0, memory_order_relaxed))
        futex_wake(word);
}

/* ---- shard side: sending ------------------------------------------------ */

static void mark_dirty(struct pshard *ps, struct port *pt)
{
    if (!pt->dirty) {
        pt->dirty = true;
        ps->dirty[ps->ndirty++] = pt;
    }
}

ts_msg *ring_msg_reserve(struct ring *r, size_t len)
{
    size_t need = sizeof(ts_msg) + len;
    ts_msg *m;
    if (need <= ring_max_record(r)) {
        m = ring_reserve(r, need, 0);
    } else {
        m = malloc(need);
        ts_msg **rec = m ? ring_reserve(r, sizeof(m), REC_BLOB) : NULL;
        if (!rec) {
            free(m);
            return NULL;
        }
        *rec = m;
    }
    if (m) {
        memset(m, 0, sizeof(*m));
        m->len = (uint32_t)len;
    }
    return m;
}

/* Room in the port's ring for one message, marked for the next publish. */
static ts_msg *ring_room(struct pshard *ps, struct port *pt, size_t len)
{
    ts_msg *m = ring_msg_reserve(pt->ring, len);
    if (m) {
        pt->unpublished++;
        mark_dirty(ps, pt);
    }
    return m;
}

static ts_msg *spill(struct pshard *ps, struct port *pt, size_t len)
{
    if (pt->overflow->count == 0)
        ps->spilled[ps->nspilled++] = pt;
    ts_msg *m = mailq_push(pt->overflow, len);
    if (m)
        STAT_INC(&ps->sh, pending);
    if (pt->overflow->count > pt->overflow_hwm) {
        pt->overflow_hwm = pt->overflow->count;
        if (pt->overflow_hwm > atomic_load_explicit(&ps->sh.stats->overflow_hwm, memory_order_relaxed))
            atomic_store_explicit(&ps->sh.stats->overflow_hwm, pt->overflow_hwm, memory_order_relaxed);
    }
    return m;
}

struct port *pinned_client_port(struct pshard *ps, ts_addr dst)
{
    uint32_t id = ts_addr_slot(dst);
    if (id >= MAX_CLIENTS)
        return NULL;
    struct client *c = atomic_load_explicit(&ps->p->clients[id], memory_order_acquire);
    if (!c || atomic_load_explicit(&c->w->addr, memory_order_acquire) != dst)
        return NULL;
    struct port *pt = &ps->to_client[id];
    if (!pt->ring) {
        pt->ring = c->from_shard[ps->sh.id];
        pt->wake = &c->w->sleeping;
        pt->to_client = true;
    }
    return pt;
}

/* A large message between processes (blob.h): a blob file of its own for
 * the caller to fill, and a reference to it in the port's ring or overflow,
 * in order with everything else. The blob stays mapped until the publish. */
static ts_msg *reserve_blob(struct pshard *ps, struct port *pt, size_t len)
{
    if (ps->nmaps == ps->capmaps) {
        unsigned cap = ps->capmaps ? 2 * ps->capmaps : 16;
        struct blob_map *maps = realloc(ps->maps, cap * sizeof(*maps));
        if (!maps)
            return NULL;
        ps->maps = maps;
        ps->capmaps = cap;
    }
    struct blob_ref ref = {.size = sizeof(ts_msg) + len};
    int rc;
    ts_msg *big = blob_create(ps->p->blobs, ref.size, &ref.id, &rc);
    if (!big)
        return NULL;
    ts_msg *m = pt->overflow->count ? NULL : ring_room(ps, pt, sizeof(ref));
    if (!m && !(m = spill(ps, pt, sizeof(ref)))) {
        blob_unmap(big, ref.size);
        blob_remove(ps->p->blobs, ref.id);
        return NULL;
    }
    m->flags = MSGF_BLOBREF;
    memcpy(m + 1, &ref, sizeof(ref));
    ps->maps[ps->nmaps++] = (struct blob_map){big, ref.size};
    memset(big, 0, sizeof(*big));
    big->len = (uint32_t)len;
    return big;
}

ts_msg *pinned_reserve_remote(struct shard *sh, ts_addr dst, size_t len)
{
    struct pshard *ps = pshard_of(sh);
    struct port *pt;
    if (ts_addr_node(dst) != sh->node) {
        int peer = ps->net ? net_peer_index(ps->net, ts_addr_node(dst)) : -1;
        if (peer >= 0)
            return net_reserve(ps->net, (unsigned)peer, len);
        ts_msg *m = mailq_push(&sh->runq, len); /* a dead letter at dispatch */
        if (m)
            STAT_INC(sh, pending);
        return m;
    }
    if (ts_addr_shard(dst) == SHARD_CLIENT) {
        if (!(pt = pinned_client_port(ps, dst))) { /* a caller that never was: dead letter here */
            ts_msg *m = mailq_push(&sh->runq, len);
            if (m)
                STAT_INC(sh, pending);
            return m;
        }
        STAT_INC(sh, client_sent);
    } else {
        pt = &ps->out[ts_addr_shard(dst)];
        STAT_INC(sh, sent);
    }
    if (ps->p->blobs && len > ps->p->blob_min)
        return reserve_blob(ps, pt, len);
    ts_msg *m = pt->overflow->count ? NULL : ring_room(ps, pt, len);
    return m ? m : spill(ps, pt, len);
}

/* Moves what fits of a port's overflow into its ring, oldest first. */
static void unspill(struct pshard *ps, struct port *pt)
{
    for (ts_msg *m; (m = mailq_peek(pt->overflow)); mailq_pop(pt->overflow)) {
        ts_msg *to = ring_room(ps, pt, m->len);
        if (!to)
            return;
        memcpy(to, m, sizeof(*m) + m->len);
        STAT_DEC(&ps->sh, pending);
    }
}

/* Wakes the consumers of the ports published since the last wake that
 * announced sleep: one fence for all of them (F1, see pinned_wake). */
static void wake_published(struct pshard *ps)
{
    if (!ps->nwakes)
        return;
    atomic_thread_fence(memory_order_seq_cst);
    for (unsigned i = 0; i < ps->nwakes; i++) {
        _Atomic uint32_t *word = ps->wakes[i]->wake;
        ps->wakes[i]->wake_due = false;
        if (atomic_load_explicit(word, memory_order_relaxed) &&
            atomic_exchange_explicit(word, 0, memory_order_relaxed))
            futex_wake(word);
    }
    ps->nwakes = 0;
}

/* Publishes every port this shard reserved in, oldest overflow first, and
 * notes whom to wake. A crash-safe shard's overflows are shared memory
 * committed around the publish (spill.h): every port listed changed since
 * the last flush. */
static void publish(struct pshard *ps)
{
    for (unsigned i = 0; i < ps->nmaps; i++) /* written: the file keeps it */
        blob_unmap(ps->maps[i].p, ps->maps[i].size);
    ps->nmaps = 0;
    for (unsigned i = 0; i < ps->nspilled; i++) {
        struct port *pt = ps->spilled[i];
        unspill(ps, pt);
        if (pt->spill)
            spill_pend(pt->spill, pt->ring);
    }
    for (unsigned i = 0; i < ps->ndirty; i++) {
        struct port *pt = ps->dirty[i];
        pt->dirty = false;
        ring_publish(pt->ring);
        if (pt->to_client) /* after the publish: idle now means in the caller's ring */
            STAT_ADD(&ps->sh, client_published, pt->unpublished);
        pt->unpublished = 0;
        if (pt->wake && !pt->wake_due) { /* NULL: a busy-polling shard, which never sleeps */
            pt->wake_due = true;
            ps->wakes[ps->nwakes++] = pt;
        }
    }
    ps->ndirty = 0;
    for (unsigned i = 0; i < ps->nspilled;) { /* nothing spills during a flush */
        struct port *pt = ps->spilled[i];
        if (pt->spill)
            spill_commit(pt->spill);
        if (pt->overflow->count)
            i++;
        else
            ps->spilled[i] = ps->spilled[--ps->nspilled];
    }
}

static void flush(struct pshard *ps)
{
    publish(ps);
    wake_published(ps);
}

/* ---- shard side: receiving ---------------------------------------------- */

/* Crash-safe handling of one record (multiproc, design §5): the shard's
 * shared record names the message while its handler runs; what the handler
 * sent is published before the record is released, so a crash loses
 * nothing and repeats only this message. The second crash on one message
 * poisons it instead. Consumers are woken once per batch (the caller's
 * flush): a successor wakes them all, so a crash loses no wake-up either. */
static void dispatch_logged(struct pshard *ps, unsigned ring_id, struct ring *r, ts_msg *m)
{
    struct inflight *f = ps->inflight;
    f->ring = ring_id;
    f->pos = r->read;
    f->actor = m->dst;
    f->src = m->src;
    f->type = m->type;
    atomic_store_explicit(&f->active, 1, memory_order_release);
    if (f->crashes >= 2 && f->crash_ring == ring_id && f->crash_pos == r->read) {
        system_log(ps->sh.sys, TS_LOG_ERROR, "TS-POISON", m->dst, "",
                   "shard %u crashed twice handling this message; it is poisoned", ps->sh.id);
        shard_poison_back(&ps->sh, m, -EFAULT, "the shard process crashed twice handling it");
        f->crashes = 0;
    } else {
        shard_dispatch(&ps->sh, m);
    }
    publish(ps);
    ring_pop(r);
    ring_release(r);
    atomic_store_explicit(&f->active, 0, memory_order_release);
}

/* The message a blob reference names, mapped (NULL: logged, to be dropped:
 * a reference only this engine writes, to a file only it removes). */
static ts_msg *blob_open(struct pshard *ps, const ts_msg *m, struct blob_ref *ref)
{
    int rc = blob_ref_of(m, ref);
    ts_msg *big = rc == 0 ? blob_map(ps->p->blobs, ref, &rc) : NULL;
    if (!big)
        system_log(ps->sh.sys, TS_LOG_ERROR, "TS-BLOB", 0, "",
                   "shard %u drops a large message: its blob %016llx cannot be read: %s",
                   ps->sh.id, (unsigned long long)ref->id, strerror(-rc));
    return big;
}

static unsigned drain_ring(struct pshard *ps, unsigned ring_id, struct ring *r)
{
    struct shard *sh = &ps->sh;
    unsigned k = 0;
    uint32_t len, flags;
    for (void *rec; k < DRAIN_BATCH && (rec = ring_front(r, &len, &flags)); k++) {
        ts_msg *m = flags & REC_BLOB ? *(ts_msg **)rec : rec;
        if (ps->inflight) { /* idle detection there looks at the rings, not counters */
            struct blob_ref ref;
            ts_msg *big = m->flags & MSGF_BLOBREF && ps->p->blobs ? blob_open(ps, m, &ref) : NULL;
            if (big || !(m->flags & MSGF_BLOBREF)) {
                dispatch_logged(ps, ring_id, r, big ? big : m);
            } else {
                ring_pop(r);
                ring_release(r);
            }
            if (big) { /* released: nobody will read it again */
                blob_unmap(big, ref.size);
                blob_remove(ps->p->blobs, ref.id);
            }
            continue;
        }
        shard_dispatch(sh, m);
        STAT_INC(sh, handled);
        if (flags & REC_BLOB)
            free(m);
        ring_pop(r); /* only now: the record stays in the ring while it is handled */
    }
    if (k)
        ring_release(r);
    return k;
}

static unsigned drain_runq(struct shard *sh)
{
    unsigned k = 0;
    for (ts_msg *m; k < DRAIN_BATCH && (m = mailq_peek(&sh->runq)); k++) {
        shard_dispatch(sh, m);
        mailq_pop(&sh->runq);
        STAT_DEC(sh, pending);
        STAT_INC(sh, handled);
    }
    return k;
}

/* ---- status: what waits in the inbound rings --------------------------- */

struct queued {
    ts_addr dst;
    const ts_msg *skip;
    uint64_t n;
};

static void count_queued(void *rec, uint32_t len, uint32_t flags, void *arg)
{
    struct queued *q = arg;
    const ts_msg *m;
    if (flags & REC_BLOB) {
        if (len != sizeof(m))
            return;
        memcpy(&m, rec, sizeof(m));
    } else if (len >= sizeof(*m)) {
        m = rec;
    } else {
        return;
    }
    /* A blob reference (multiproc) is not opened: its envelope is a ref's. */
    if (m != q->skip && m->dst == q->dst && !(m->flags & MSGF_BLOBREF))
        q->n++;
}

uint64_t pinned_status_queued(struct shard *sh, ts_addr dst, const ts_msg *skip)
{
    struct pshard *ps = pshard_of(sh);
    struct pinned *p = ps->p;
    struct queued q = {.dst = dst, .skip = skip};
    for (unsigned i = 0; i < p->n; i++)
        if (ps->in[i])
            ring_foreach_unread(ps->in[i], count_queued, &q);
    uint32_t nc = atomic_load_explicit(p->ncl, memory_order_acquire);
    for (uint32_t i = 0; i < nc; i++) {
        struct client *c = atomic_load_explicit(&p->clients[i], memory_order_acquire);
        if (c)
            ring_foreach_unread(c->to_shard[sh->id], count_queued, &q);
    }
    return q.n;
}

/* One pass over every inbound queue. What a batch sent is published as
 * soon as the batch is done, not after the whole pass: batching without
 * holding replies back. */
static unsigned poll_once(struct pshard *ps)
{
    struct shard *sh = &ps->sh;
    struct pinned *p = ps->p;
    shard_caps_poll(sh);
    shard_conv_poll(sh);
    unsigned n = drain_runq(sh), k;
    if (n)
        flush(ps);
    for (unsigned i = 0; i < p->n; i++) {
        if (ps->in[i] && (k = drain_ring(ps, i, ps->in[i]))) {
            flush(ps);
            n += k;
        }
    }
    uint32_t nc = atomic_load_explicit(p->ncl, memory_order_acquire);
    for (uint32_t i = 0; i < nc; i++) {
        struct client *c = atomic_load_explicit(&p->clients[i], memory_order_acquire);
        if (c && (k = drain_ring(ps, p->n + i, c->to_shard[sh->id]))) {
            flush(ps);
            n += k;
        }
    }
    if (ps->net && (k = (unsigned)net_poll(ps->net))) {
        flush(ps); /* what arrived went into rings */
        n += k;
    }
    if (sh->timers.n) {
        uint64_t now = clock_now_ns();
        for (unsigned t = 0; t < DRAIN_BATCH && shard_fire_timer(sh, now); t++)
            n++;
    }
    return n;
}

static bool has_input(struct pshard *ps)
{
    struct pinned *p = ps->p;
    if (ps->sh.runq.count)
        return true;
    if (shard_news(&ps->sh))
        return true;
    for (unsigned i = 0; i < p->n; i++)
        if (ps->in[i] && !ring_empty(ps->in[i]))
            return true;
    uint32_t nc = atomic_load_explicit(p->ncl, memory_order_acquire);
    for (uint32_t i = 0; i < nc; i++) {
        struct client *c = atomic_load_explicit(&p->clients[i], memory_order_acquire);
        if (c && !ring_empty(c->to_shard[ps->sh.id]))
            return true;
    }
    return false;
}

/* Sleeps until woken, the next timer, or (with overflow to retry) briefly. */
static void shard_sleep(struct pshard *ps)
{
    atomic_store_explicit(ps->sleeping, 1, memory_order_relaxed);
    /* F2: orders the announcement before the re-check; pairs with F1. */
    atomic_thread_fence(memory_order_seq_cst);
    /* seq_cst: with the closer's seq_cst store of stop before its store of
     * sleeping = 0, either this load sees stop or the closer's 0 comes after
     * our 1 and futex_wait returns at once. */
    if (has_input(ps) || atomic_load_explicit(ps->p->stop, memory_order_seq_cst)) {
        atomic_store_explicit(ps->sleeping, 0, memory_order_relaxed);
        return;
    }
    /* With overflow to retry, or a network to poll, only briefly. */
    uint64_t timeout = ps->nspilled || ps->net ? 100000 : UINT64_MAX;
    struct th_node *t = th_peek(&ps->sh.timers);
    if (t) {
        uint64_t now = clock_now_ns();
        uint64_t until = t->deadline > now ? t->deadline - now : 0;
        timeout = until < timeout ? until : timeout;
    }
    if (timeout)
        futex_wait(ps->sleeping, 1, timeout);
    atomic_store_explicit(ps->sleeping, 0, memory_order_relaxed);
}

void *pinned_shard_main(void *arg)
{
    struct pshard *ps = arg;
    struct pinned *p = ps->p;
    system_running = p->sys;
    logger_bind(&p->sys->log, &p->logq[ps->sh.id]);
    uint64_t idle_since = 0;
    while (!atomic_load_explicit(p->stop, memory_order_acquire)) {
        unsigned n = poll_once(ps);
        flush(ps);
        if (n) {
            idle_since = 0;
            continue;
        }
        ts_idle policy = p->sys->cfg.idle;
        if (policy == TS_IDLE_BUSY)
            continue;
        uint64_t now = clock_now_ns();
        if (!idle_since)
            idle_since = now;
        if (policy == TS_IDLE_ADAPTIVE && now - idle_since < p->sys->cfg.spin_ns) {
            __builtin_ia32_pause();
            continue;
        }
        shard_sleep(ps);
        idle_since = 0;
    }
    return NULL;
}
