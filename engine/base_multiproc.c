/* SPDX-License-Identifier: MIT */
/*
 * base_multiproc.c — the multiproc base (design §2, §5): a persistent admin
 * process and one process per shard, every ring and the actor directory in
 * one named shared-memory segment (mp.h).
 *
 * ts_system_open attaches to the running node of the configured name, or
 * starts it: the admin is forked (twice, so it outlives the starter) from
 * the starting program, whose registered actor types it inherits; the
 * admin forks the shard processes, each running the pinned shard loop in
 * crash-safe mode, watches them through pidfds and restarts one that dies
 * on the same core, where it re-creates its actors from the directory at
 * their addresses. Callers in any program talk to the shards through their
 * own rings in the segment: no socket on the data path.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <thespis/image.h>

#include "clock.h"
#include "cores.h"
#include "err.h"
#include "futex.h"
#include "mp.h"
#include "nodeconv.h"
#include "../shm/named.h"
#include "pidwatch.h"
#include "registry.h"
#include "start.h"
#include "shard_internal.h"


/* This process's view of a node: the pinned structures over its rings. */
struct mpv {
    struct pinned p; /* first: sys->base points at both */
    struct shm_segment seg;
    struct mp_node *nd;
    bool named;      /* the node outlives this system */
    bool log_owner;  /* this program drains the node's logs */
    struct log_queue *logq_view; /* [MP_LOG_QUEUES(n)]: this program's way to them */
    /* The admin and its shards: each shard's overflows (spill.h), in a
     * shared mapping made before the fork, so at the same address in all. */
    void *spill_mem;
    size_t spill_size;
    struct blob_store blobs; /* messages above a ring record (blob.h) */
    struct mpv *next;
};

static struct mp_node *node_of(struct ts_system *sys)
{
    return ((struct mpv *)sys->base)->nd;
}

/* The node this process serves as admin or shard, if any. */
static struct mp_node *serving;
static int ready_fd = -1; /* the admin's pipe to its starter, until ready */

/* ---- the shard side --------------------------------------------------- */

static ts_addr mp_name_claim_op(struct ts_system *sys, const char *name, ts_addr addr, int *rc)
{
    return mp_name_claim(node_of(sys), name, addr, rc);
}

static ts_addr mp_name_get_op(struct ts_system *sys, const char *name)
{
    return mp_name_get(node_of(sys), name);
}

static void mp_name_release_op(struct ts_system *sys, const char *name, ts_addr addr)
{
    mp_name_release(node_of(sys), name, addr);
}

static void mp_actor_born(struct shard *sh, const ts_msg *start)
{
    mp_dir_put(node_of(sh->sys), sh->id, start);
}

static void mp_actor_gone(struct shard *sh, uint32_t slot)
{
    mp_dir_del(node_of(sh->sys), sh->id, slot);
}

/* A node's Status (status.c): its name, admin and shard processes, and
 * what its shards published in the segment. Actors are counted in the
 * directory, as ts_node_status_get does (a restarted shard's resident
 * count starts again). */
static void mp_status_info(struct shard *sh, struct status_info *out)
{
    struct mp_node *nd = node_of(sh->sys);
    out->name = nd->name;
    out->base = nd->base;
    out->pid = atomic_load(&nd->admin_pid);
    for (unsigned i = 0; i < nd->nshards && i < sh->sys->nshards; i++) {
        struct mp_shard *s = &nd->shards[i];
        struct status_shard_info *o = &out->shards[i];
        o->pid = atomic_load(&s->pid);
        o->restarts = atomic_load(&s->restarts);
        o->actors = 0;
        uint32_t hwm = atomic_load(&s->dir_hwm);
        for (uint32_t k = 0; k < hwm && k < nd->dir_cap; k++)
            o->actors += atomic_load_explicit(&mp_dir(nd, i, k)->live, memory_order_relaxed);
        o->links = &s->net;
    }
}

static const struct type_rec *type_fallback(const char *name)
{
    const struct type_rec *r = serving ? mp_type_adopt(serving, name) : NULL;
    registry_set_fallback(type_fallback);
    return r;
}

/* The ring a crash-safe shard's inflight record names. */
static struct ring *inflight_ring(struct pshard *ps, uint32_t id)
{
    struct pinned *p = ps->p;
    if (id < p->n)
        return ps->in[id];
    struct client *c = atomic_load(&p->clients[id - p->n]);
    return c ? c->to_shard[ps->sh.id] : NULL;
}

/* Port k of a shard: the shard k (k < n) or caller k - n. */
static struct port *port_at(struct pshard *ps, unsigned k)
{
    return k < ps->p->n ? &ps->out[k] : &ps->to_client[k - ps->p->n];
}

/* Gives every shard's ports their overflow in the spill mapping. A caller
 * port is wired to its ring here, as a restarted shard may hold parked
 * messages for it before it sends anything. */
static int wire_spills(struct mpv *v)
{
    struct pinned *p = &v->p;
    struct mp_node *nd = v->nd;
    size_t each = v->spill_size / p->n & ~(size_t)63;
    for (unsigned i = 0; i < p->n; i++) {
        struct pshard *ps = &p->shards[i];
        struct spill_arena *a =
            spill_arena_init((char *)v->spill_mem + i * each, each, p->n + MP_MAX_CLIENTS);
        if (!a)
            return err_set(-ENOMEM, "spill area too small");
        for (unsigned k = 0; k < a->nports; k++) {
            struct port *pt = port_at(ps, k);
            pt->spill = &a->ports[k];
            pt->overflow = &a->ports[k].q;
            if (k >= p->n) {
                unsigned c = k - p->n;
                pt->ring = mp_cring(nd, c, i, 1);
                pt->wake = &nd->clients[c].w.sleeping;
                pt->to_client = true;
            }
        }
    }
    return 0;
}

/* A restarted shard process (design §5): every ring goes back to where its
 * dead predecessor left it, the message it crashed on is marked, and its
 * actors are built again from the directory at their addresses. */
static void shard_recover(struct pshard *ps)
{
    struct pinned *p = ps->p;
    struct mp_node *nd = ((struct mpv *)p)->nd;
    unsigned id = ps->sh.id;
    for (unsigned j = 0; j < p->n; j++) {
        ring_consumer_recover(ps->in[j]);
        ring_producer_recover(ps->out[j].ring);
    }
    for (unsigned c = 0; c < MP_MAX_CLIENTS; c++) {
        ring_consumer_recover(mp_cring(nd, c, id, 0));
        ring_producer_recover(mp_cring(nd, c, id, 1));
    }
    ring_producer_recover(nd->logq[id].ring);
    struct inflight *f = ps->inflight;
    if (atomic_load(&f->active)) {
        struct ring *r = inflight_ring(ps, f->ring);
        if (r && atomic_load(&r->head) <= f->pos) { /* not released: it is redelivered */
            if (f->crashes && f->crash_ring == f->ring && f->crash_pos == f->pos) {
                f->crashes++;
            } else {
                f->crash_ring = f->ring;
                f->crash_pos = f->pos;
                f->crashes = 1;
            }
        }
        atomic_store(&f->active, 0);
    }
    struct shard *sh = &ps->sh;
    atomic_store(&sh->stats->timers, 0); /* they died with the process */
    /* Its overflows, as of the last commit: pending counts them again. */
    uint64_t parked = 0;
    ps->nspilled = 0;
    for (unsigned k = 0; k < p->n + MP_MAX_CLIENTS; k++) {
        struct port *pt = port_at(ps, k);
        size_t cnt = pt->spill ? spill_recover(pt->spill, pt->ring) : 0;
        if (cnt)
            ps->spilled[ps->nspilled++] = pt;
        parked += cnt;
    }
    atomic_store(&sh->stats->pending, parked);
    uint32_t hwm = atomic_load(&nd->shards[id].dir_hwm);
    ts_msg *m = malloc(sizeof(ts_msg) + MP_START_MAX);
    for (uint32_t slot = 0; m && slot < hwm; slot++) {
        struct mp_dirent *e = mp_dir(nd, id, slot);
        if (!atomic_load_explicit(&e->live, memory_order_acquire))
            continue;
        *m = (ts_msg){.dst = e->addr, .src = e->creator, .len = e->len,
                      .flags = MSGF_START | MSGF_REBORN};
        memcpy(m + 1, e->start, e->len);
        atomic_store(&e->live, 0);
        actor_start(sh, m);
    }
    free(m);
    /* Its predecessor may have died between a publish and the wake that
     * follows it: every consumer it feeds looks again. */
    for (unsigned k = 0; k < p->n + MP_MAX_CLIENTS; k++) {
        struct port *pt = port_at(ps, k);
        if (pt->wake && k != id)
            pinned_wake(pt->wake);
    }
    /* Children: every live actor, on any shard, whose parent is here. */
    for (unsigned j = 0; j < p->n; j++) {
        uint32_t n = atomic_load(&nd->shards[j].dir_hwm);
        for (uint32_t slot = 0; slot < n; slot++) {
            struct mp_dirent *e = mp_dir(nd, j, slot);
            ts_addr parent = start_parent(e->start, sizeof(e->start));
            struct actor *a;
            if (atomic_load(&e->live) && parent && ts_addr_shard(parent) == id &&
                (a = shard_lookup(sh, parent)))
                addrset_add(&a->children, e->addr);
        }
    }
}

static void pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

/* The links of shards that are threads here (a shard process's go with it). */
static void close_nets(struct mpv *v)
{
    for (unsigned i = 0; i < v->p.n; i++)
        pinned_net_close(&v->p.shards[i]);
    net_config_free(&v->p.net);
}

/* The shard this process is (a shard process), or -1. */
static int my_shard = -1;

static int run_shard(struct pshard *ps, bool restarted)
{
    struct mp_node *nd = ((struct mpv *)ps->p)->nd;
    my_shard = (int)ps->sh.id;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* the node dies with its admin */
    if (getppid() != atomic_load(&nd->admin_pid))
        return 1;
    if (ready_fd >= 0)
        close(ready_fd);
    pin_to(nd->shards[ps->sh.id].core);
    registry_set_fallback(type_fallback);
    if (restarted)
        shard_recover(ps);
    /* Its own sockets and io_uring, opened here after the fork: a restarted
     * shard opens new ones (peers see a new epoch and follow it). */
    int nrc;
    /* A predecessor's sockets may take a moment to go (the kernel tears its
     * io_uring down after the process): its listen port is retried. */
    for (int i = 0; (nrc = pinned_net_open(ps)) == -EADDRINUSE && restarted && i < 200; i++) {
        pinned_net_close(ps);
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    if (nrc < 0) {
        snprintf(nd->error, sizeof(nd->error), "shard %u: %s", ps->sh.id, ts_last_error());
        return 1;
    }
    if (ps->net)
        ps->net->pub = &nd->shards[ps->sh.id].net;
    atomic_store(&nd->shards[ps->sh.id].pid, (int32_t)getpid());
    atomic_store(&nd->shards[ps->sh.id].ready, 1);
    pinned_shard_main(ps);
    return 0;
}

static int shard_first(void *arg) { return run_shard(arg, false); }
static int shard_again(void *arg) { return run_shard(arg, true); }

/* ---- the caller side: mailboxes in the node's table -------------------- */

static struct client *mirror(struct pinned *p, uint32_t id)
{
    struct client *c = atomic_load(&p->clients[id]);
    if (c)
        return c;
    struct mp_node *nd = ((struct mpv *)p)->nd;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->to_shard = calloc(p->n, sizeof(*c->to_shard));
    c->from_shard = calloc(p->n, sizeof(*c->from_shard));
    if (!c->to_shard || !c->from_shard) {
        free(c->to_shard);
        free(c->from_shard);
        free(c);
        return NULL;
    }
    c->seg.fd = -1;
    c->id = id;
    c->w = &nd->clients[id].w;
    for (unsigned i = 0; i < p->n; i++) {
        c->to_shard[i] = mp_cring(nd, id, i, 0);
        c->from_shard[i] = mp_cring(nd, id, i, 1);
    }
    atomic_store_explicit(&p->clients[id], c, memory_order_release);
    if (atomic_load(&p->nclients) <= id)
        atomic_store(&p->nclients, id + 1);
    return c;
}

static int mp_claim(struct pinned *p, struct client **out)
{
    struct mp_node *nd = ((struct mpv *)p)->nd;
    int32_t me = (int32_t)getpid();
    for (uint32_t id = 0; id < MP_MAX_CLIENTS; id++) {
        struct mp_client *e = &nd->clients[id];
        /* An entry is claimed in two steps: -pid while its start time is
         * written, then pid, so nobody judges the new owner by the old
         * owner's start time. A claimer that died midway is gone. */
        int32_t pid = atomic_load(&e->pid);
        if (pid < 0 ? (-pid == me || kill(-pid, 0) == 0)
                    : pid && (pid == me || shm_proc_alive(pid, e->start)))
            continue;
        if (!atomic_compare_exchange_strong(&e->pid, &pid, -me))
            continue;
        e->start = shm_proc_start_time(me);
        atomic_store(&e->pid, me);
        uint32_t n = atomic_load(&nd->nclients);
        while (n <= id && !atomic_compare_exchange_weak(&nd->nclients, &n, id + 1))
            ;
        if (!(*out = mirror(p, id))) {
            atomic_store(&e->pid, 0);
            return err_set(-ENOMEM, "out of memory");
        }
        return 0;
    }
    return err_set(-EAGAIN, "node '%s' has no free caller mailbox (%d in use)", nd->name,
                   MP_MAX_CLIENTS);
}

static void mp_unclaim(struct pinned *p, struct client *c)
{
    struct mp_node *nd = ((struct mpv *)p)->nd;
    int32_t me = (int32_t)getpid();
    atomic_compare_exchange_strong(&nd->clients[c->id].pid, &me, 0);
}

static bool mp_type_known_op(struct pinned *p, const char *name)
{
    return mp_type_known(((struct mpv *)p)->nd, name);
}

/* Idle (ts_run): every ring released up to its end, nothing held in a
 * shard's memory, no timer; the sum of the rings' tails, which grows with
 * every message published, is the same on two looks. A crash-safe shard
 * releases a message only after publishing what its handler sent, so a
 * message being handled keeps its ring from looking empty. */
static bool idle_once(struct mpv *v, uint64_t *tails)
{
    struct mp_node *nd = v->nd;
    uint64_t sum = 0;
    bool idle = true;
    for (unsigned i = 0; i < nd->nshards; i++) {
        struct mp_shard *s = &nd->shards[i];
        if (atomic_load(&s->stats.pending) || atomic_load(&s->stats.timers))
            idle = false;
        for (unsigned j = 0; j < nd->nshards; j++) {
            struct ring *r = mp_ring(nd, i, j);
            uint64_t t = atomic_load(&r->tail);
            idle &= atomic_load(&r->head) == t;
            sum += t;
        }
        uint32_t nc = atomic_load(&nd->nclients);
        for (unsigned c = 0; c < nc; c++) {
            struct ring *r = mp_cring(nd, c, i, 0);
            uint64_t t = atomic_load(&r->tail);
            idle &= atomic_load(&r->head) == t;
            sum += t + atomic_load(&mp_cring(nd, c, i, 1)->tail);
        }
    }
    *tails = sum;
    return idle;
}

static int mp_run(struct ts_system *sys, uint64_t deadline)
{
    struct mpv *v = sys->base;
    for (uint64_t pause = 10000;; pause = pause < 1000000 ? 2 * pause : pause) {
        uint64_t t1, t2;
        if (idle_once(v, &t1) && idle_once(v, &t2) && t1 == t2)
            return 0;
        if (atomic_load(&v->nd->state) != MP_RUNNING)
            return err_set(-ESHUTDOWN, "node '%s' is stopping", v->nd->name);
        uint64_t now = clock_now_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        clock_sleep_until(deadline - now < pause ? deadline : now + pause);
    }
}

/* ---- logs ------------------------------------------------------------- */

static bool log_gate(void *arg, bool enter)
{
    struct mp_node *nd = arg;
    if (!enter) {
        pthread_mutex_unlock(&nd->log_lock);
        return true;
    }
    int32_t owner = atomic_load(&nd->log_owner);
    int32_t me = (int32_t)getpid();
    /* The admin drains unless an attached program that wants the records
     * (a callback sink) is alive. */
    if (owner && owner != me && (me != atomic_load(&nd->admin_pid) || kill(owner, 0) == 0))
        return false;
    return mp_lock(&nd->log_lock) == 0;
}

/* ---- the admin -------------------------------------------------------- */

struct ready_msg {
    int32_t rc;
    char text[252];
};

static void tell_starter(int rc, const char *text)
{
    if (ready_fd < 0)
        return;
    struct ready_msg m = {.rc = rc};
    snprintf(m.text, sizeof(m.text), "%s", text ? text : "");
    ssize_t w = write(ready_fd, &m, sizeof(m));
    (void)w;
    close(ready_fd);
    ready_fd = -1;
}

static size_t layout(struct mp_node *nd, unsigned n, size_t ring_size)
{
    nd->nshards = n;
    nd->ring_size = (uint32_t)ring_size;
    nd->dir_cap = MP_DIR_CAP;
    size_t off = (sizeof(struct mp_node) + 4095) & ~(size_t)4095;
    nd->off_rings = off;
    off += (size_t)n * n * ring_footprint(ring_size);
    nd->off_crings = off;
    off += (size_t)MP_MAX_CLIENTS * n * 2 * ring_footprint(MP_CLIENT_RING);
    nd->off_logs = off;
    off += (size_t)MP_LOG_QUEUES(n) * ring_footprint(MP_LOG_RING);
    nd->off_dir = off;
    off += (size_t)n * MP_DIR_CAP * sizeof(struct mp_dirent);
    nd->total = off;
    return off;
}


static void publish_type(const ts_actor_type *t, void *arg)
{
    mp_type_publish(arg, t);
}

extern const struct base_ops base_multiproc_ops;

/* The view every process builds over the node's memory: pshards wired to
 * the rings, shared words, directory limits. */
static int build_view(struct ts_system *sys, struct mpv *v)
{
    struct mp_node *nd = v->nd;
    struct pinned *p = &v->p;
    static _Atomic uint64_t uids = UINT64_C(1) << 40;
    sys->base = v;
    p->sys = sys;
    p->mp = v;
    p->uid = atomic_fetch_add(&uids, 1);
    p->n = nd->nshards;
    p->stop = &nd->stop;
    p->ncl = &nd->nclients;
    p->claim = mp_claim;
    p->unclaim = mp_unclaim;
    p->type_known = mp_type_known_op;
    p->logq = nd->logq;
    pthread_mutex_init(&p->client_lock, NULL);
    p->shards = calloc(p->n, sizeof(*p->shards));
    sys->shards = calloc(p->n, sizeof(*sys->shards));
    sys->shard_cpu = calloc(p->n, sizeof(int));
    if (!p->shards || !sys->shards || !sys->shard_cpu)
        return err_set(-ENOMEM, "out of memory");
    sys->nshards = p->n;
    sys->cfg.node_id = nd->node_id; /* an attached program takes the node's */
    sys->dead_letter_handler = &nd->dlh;
    sys->caps = &nd->caps;
    sys->img = &nd->images;
    sys->members = nd->in_conv ? &nd->members : NULL; /* the node's, not the caller's config */
    for (unsigned i = 0; i < p->n; i++) {
        struct pshard *ps = &p->shards[i];
        int rc = pshard_init(p, i);
        if (rc < 0)
            return rc;
        ps->sleeping = &nd->shards[i].sleeping;
        ps->inflight = &nd->shards[i].inflight;
        ps->sh.stats = &nd->shards[i].stats;
        ps->sh.self_ring = true;
        ps->sh.slot_limit = nd->dir_cap;
        ps->sh.start_max = MP_START_MAX;
        for (unsigned t = 0; t < p->n; t++)
            ps->sh.pools[t].next_fresh = &nd->shards[i].next_fresh[t];
        sys->shard_cpu[i] = nd->shards[i].core;
    }
    for (unsigned from = 0; from < p->n; from++) {
        for (unsigned to = 0; to < p->n; to++) {
            struct ring *r = mp_ring(nd, from, to);
            p->shards[from].out[to].ring = r;
            if (nd->base != TS_BASE_PINNED || sys->cfg.idle != TS_IDLE_BUSY)
                p->shards[from].out[to].wake = p->shards[to].sleeping;
            p->shards[to].in[from] = r;
        }
    }
    /* Processes share no heap: a message that does not fit a ring record
     * (or an overflow chunk) travels as a blob. */
    size_t fit = nd->ring_size / 4;
    size_t cfit = MP_CLIENT_RING / 4;
    fit = fit < cfit ? fit : cfit;
    fit = fit < MAILQ_CHUNK ? fit : MAILQ_CHUNK;
    mp_blob_prefix(nd->name, v->blobs.prefix);
    v->blobs.seq = &nd->blob_seq;
    p->blobs = &v->blobs;
    p->blob_min = fit - sizeof(ts_msg) - 8;
    return 0;
}

static void free_view(struct ts_system *sys, struct mpv *v)
{
    struct pinned *p = &v->p;
    for (unsigned i = 0; p->shards && i < p->n; i++)
        pshard_fini(&p->shards[i]);
    for (unsigned i = 0; i < MAX_CLIENTS; i++)
        client_free(p, atomic_load(&p->clients[i]));
    free(p->shards);
    free(sys->shards);
    free(sys->shard_cpu);
    sys->shards = NULL;
    sys->shard_cpu = NULL;
    pthread_mutex_destroy(&p->client_lock);
}

/* Signal names for the restart record. */
static const char *sig_name(int sig)
{
    const char *d = sigdescr_np(sig);
    return d ? d : "unknown signal";
}

static void restart_shard(struct ts_system *sys, struct mpv *v, struct pidwatch *w, unsigned i,
                          const struct pidwatch_exit *ex)
{
    struct mp_node *nd = v->nd;
    struct mp_shard *s = &nd->shards[i];
    struct inflight *f = &s->inflight;
    int32_t pid = atomic_load(&s->pid); /* w->pid is gone once its exit was collected */
    char what[160] = "no message";
    if (atomic_load(&f->active)) {
        char label[20];
        snprintf(what, sizeof(what), "a %s message to actor %016llx",
                 msgtype_label(f->type, label), (unsigned long long)f->actor);
    }
    if (ex->signal)
        system_log(sys, TS_LOG_ERROR, "TS-SHARD-RESTART", atomic_load(&f->active) ? f->actor : 0, "",
                   "shard %u (pid %d) was killed by signal %d (%s) while handling %s; restarting "
                   "it on core %d", i, pid, ex->signal, sig_name(ex->signal), what, s->core);
    else
        system_log(sys, TS_LOG_ERROR, "TS-SHARD-RESTART", 0, "",
                   "shard %u (pid %d) exited with status %d; restarting it on core %d", i, pid,
                   ex->status, s->core);
    atomic_fetch_add(&s->restarts, 1);
    atomic_store(&s->ready, 0);
    atomic_store(&s->pid, 0);
    int rc = pidwatch_spawn(w, shard_again, &v->p.shards[i]);
    if (rc < 0)
        system_log(sys, TS_LOG_ERROR, "TS-SHARD-RESTART", 0, "",
                   "cannot restart shard %u: %s", i, strerror(-rc));
}

static void stop_shards(struct mpv *v, struct pidwatch *w)
{
    struct mp_node *nd = v->nd;
    atomic_store_explicit(&nd->stop, 1, memory_order_seq_cst);
    for (unsigned i = 0; i < nd->nshards; i++) {
        atomic_store(&nd->shards[i].sleeping, 0);
        futex_wake(&nd->shards[i].sleeping);
    }
    for (unsigned i = 0; i < nd->nshards; i++) {
        struct pidwatch_exit ex;
        struct pshard *ps = &v->p.shards[i];
        if (ps->started) { /* a thread of this admin */
            pthread_join(ps->thread, NULL);
            ps->started = false;
        } else if (w[i].pidfd >= 0 && pidwatch_wait(&w[i], 5000, &ex) < 0) {
            pidwatch_close(&w[i]); /* kills what did not stop */
        }
    }
}

/* ---- the convention's global names, for shard processes ------------- */

/* A shard process's call, through its request to the admin (mp.h). */
static int mp_conv_name_op(struct ts_system *sys, int op, const char *name, ts_addr addr,
                           ts_addr *holder)
{
    struct mp_node *nd = node_of(sys);
    if (my_shard < 0 || !nd->in_conv)
        return op == NODE_NAME_RELEASE ? 0 : err_set(-ENOTCONN, "global name '%s': this "
                                                     "process has no way to the node's convention", name);
    if (strlen(name) >= MP_NAME_LEN)
        return err_set(-ENAMETOOLONG, "global name longer than %u characters", MP_NAME_LEN - 1);
    struct mp_conv_req *q = &nd->shards[my_shard].conv;
    uint64_t now = clock_now_ns();
    uint64_t deadline = clock_deadline(now, (uint64_t)nd->conv_wait_ms * 1000000u);
    /* A predecessor's (this shard restarted) may be there: taken back, or
     * its answer waited for and dropped. */
    uint32_t st;
    while ((st = atomic_load(&q->state)) != MP_CONV_IDLE) {
        if (st == MP_CONV_ANSWERED || st == MP_CONV_ASKED)
            atomic_compare_exchange_strong(&q->state, &st, MP_CONV_IDLE);
        else if ((now = clock_now_ns()) >= deadline)
            return err_set(-EBUSY, "global name '%s': the node's admin is still busy with an "
                           "earlier call of this shard", name);
        else
            futex_wait(&q->state, st, deadline - now);
    }
    q->op = (uint32_t)op;
    q->addr = addr;
    q->holder = 0;
    q->rc = 0;
    snprintf(q->name, sizeof(q->name), "%s", name);
    atomic_store(&q->state, MP_CONV_ASKED);
    atomic_fetch_add(&nd->conv_asks, 1);
    futex_wake_all(&nd->conv_asks); /* one thread a shard sleeps on it */
    while ((st = atomic_load(&q->state)) != MP_CONV_ANSWERED) {
        now = clock_now_ns();
        uint32_t asked = MP_CONV_ASKED;
        if (now >= deadline &&
            atomic_compare_exchange_strong(&q->state, &asked, MP_CONV_IDLE))
            return err_set(-ETIMEDOUT, "global name '%s': the node's admin did not take the "
                           "call in %u ms", name, nd->conv_wait_ms);
        futex_wait(&q->state, st, now >= deadline ? 10000000u : deadline - now);
    }
    int rc = q->rc;
    if (rc < 0)
        err_set(rc, "%s", q->why);
    else if (holder)
        *holder = q->holder;
    atomic_store(&q->state, MP_CONV_IDLE);
    return rc;
}

/* The admin's threads that serve the shards' calls, one a shard: a claim
 * may wait for the leader, which neither the admin's loop nor the other
 * shards' calls must. */
struct conv_server;
struct conv_serving {
    struct conv_server *cs;
    unsigned shard;
    pthread_t thread;
    bool started;
};
struct conv_server {
    struct ts_system *sys;
    struct mp_node *nd;
    _Atomic bool stop;
    struct conv_serving one[TS_NODE_MAX_SHARDS];
};

static void conv_answer(struct ts_system *sys, struct mp_conv_req *q, bool stopping)
{
    char name[MP_NAME_LEN];
    snprintf(name, sizeof(name), "%.*s", (int)sizeof(name) - 1, q->name);
    ts_addr holder = 0;
    int rc = stopping ? err_set(-ENOTCONN, "global name '%s': the node is stopping", name)
                      : node_conv_name(system_conv(sys), (enum node_name_op)q->op, name,
                                       q->addr, &holder);
    q->rc = rc;
    q->holder = holder;
    if (rc < 0)
        snprintf(q->why, sizeof(q->why), "%s", ts_last_error());
    atomic_store(&q->state, MP_CONV_ANSWERED);
    futex_wake(&q->state);
}

static void *conv_serve(void *arg)
{
    struct conv_serving *me = arg;
    struct conv_server *cs = me->cs;
    struct mp_conv_req *q = &cs->nd->shards[me->shard].conv;
    for (;;) {
        uint32_t seen = atomic_load(&cs->nd->conv_asks);
        bool stopping = atomic_load(&cs->stop);
        uint32_t asked = MP_CONV_ASKED;
        if (atomic_compare_exchange_strong(&q->state, &asked, MP_CONV_TAKEN))
            conv_answer(cs->sys, q, stopping); /* when stopping: at once, no */
        else if (stopping)
            break;
        else if (atomic_load(&cs->nd->conv_asks) == seen)
            futex_wait(&cs->nd->conv_asks, seen, 100000000u);
    }
    return NULL;
}

static int conv_server_start(struct conv_server *cs, struct ts_system *sys, struct mp_node *nd)
{
    cs->sys = sys;
    cs->nd = nd;
    atomic_store(&cs->stop, false);
    for (unsigned i = 0; i < nd->nshards; i++) {
        struct conv_serving *one = &cs->one[i];
        *one = (struct conv_serving){.cs = cs, .shard = i};
        int rc = pthread_create(&one->thread, NULL, conv_serve, one);
        if (rc)
            return err_set(-rc, "cannot start the threads that serve the shards' global "
                           "names: %s", strerror(rc));
        one->started = true;
    }
    return 0;
}

/* Stops them; a call under way is answered first, later ones at once with
 * -ENOTCONN (until the shards stop). */
static void conv_server_stop(struct conv_server *cs)
{
    if (!cs->nd)
        return;
    atomic_store(&cs->stop, true);
    atomic_fetch_add(&cs->nd->conv_asks, 1);
    futex_wake_all(&cs->nd->conv_asks);
    for (unsigned i = 0; i < cs->nd->nshards; i++)
        if (cs->one[i].started)
            pthread_join(cs->one[i].thread, NULL);
    cs->nd = NULL;
}

/* The admin's life once the shards run: restart what dies, drain the logs
 * nobody else drains, until asked to stop (SIGUSR1 after stop_req). */
/* ---- code images: the admin keeps each one's memfd ------------------ */

/* The admin's side of an mp_image_req: takes the program's fd, checks it
 * is a sealed memfd of the bytes the id names, keeps it. */
static int image_take(struct mp_image_req *q)
{
    int pidfd = (int)syscall(SYS_pidfd_open, q->pid, 0);
    if (pidfd < 0)
        return err_set(-errno, "the program that loads the image is gone: %s", strerror(errno));
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, q->fd, 0);
    int e = errno;
    close(pidfd);
    if (fd < 0)
        return err_set(-e, "the admin cannot take the image's memfd: %s", strerror(e));
    int seals = fcntl(fd, F_GET_SEALS);
    int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    struct stat st;
    int rc = 0;
    if (seals < 0 || (seals & want) != want)
        rc = err_set(-EPERM, "the image's memfd is not sealed against changes");
    else if (fstat(fd, &st) < 0 || st.st_size <= 0)
        rc = err_set(-EINVAL, "the image's memfd is empty");
    void *m = rc == 0 ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
    if (m == MAP_FAILED)
        rc = err_set(-errno, "cannot map the image: %s", strerror(errno));
    if (rc == 0) {
        ts_image_id id;
        ts_image_id_of(m, (size_t)st.st_size, &id);
        if (memcmp(&id, &q->id, sizeof(id)) != 0)
            rc = err_set(-EBADMSG, "the image's bytes do not hash to its id");
        munmap(m, (size_t)st.st_size);
    }
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

static bool image_serve(struct mp_node *nd)
{
    struct mp_image_req *q = &nd->img_req;
    uint32_t asked = MP_CONV_ASKED;
    if (!atomic_compare_exchange_strong(&q->state, &asked, MP_CONV_TAKEN))
        return false;
    uint32_t seq = q->seq;
    int fd = image_take(q);
    q->answered = seq;
    q->rc = fd < 0 ? fd : 0;
    q->kept_fd = fd;
    if (fd < 0)
        snprintf(q->why, sizeof(q->why), "%s", ts_last_error());
    atomic_store(&q->state, MP_CONV_ANSWERED);
    futex_wake(&q->state);
    return true;
}

/* A program's side: asks the admin, waits (10 s at most) for its answer. */
static int mp_image_keep(struct ts_system *sys, const ts_image_id *id, int fd, int32_t *pid,
                         int32_t *kept_fd)
{
    struct mp_node *nd = node_of(sys);
    struct mp_image_req *q = &nd->img_req;
    if (mp_lock(&nd->img_lock) != 0)
        return err_set(-ENOTRECOVERABLE, "the node's image lock is not recoverable");
    /* A predecessor that died (holding the lock) may have left its ask: one
     * the admin has not taken is taken back, one it serves is waited out. */
    uint64_t deadline = clock_deadline(clock_now_ns(), 10ull * 1000000000u);
    uint32_t st;
    while ((st = atomic_load(&q->state)) != MP_CONV_IDLE) {
        uint64_t now = clock_now_ns();
        if (st == MP_CONV_ANSWERED || st == MP_CONV_ASKED)
            atomic_compare_exchange_strong(&q->state, &st, MP_CONV_IDLE);
        else if (now >= deadline)
            break; /* the admin is stuck: its answer to this ask is told apart by seq */
        else
            futex_wait(&q->state, st, deadline - now);
    }
    q->seq++;
    uint32_t seq = q->seq;
    q->pid = (int32_t)getpid();
    q->fd = fd;
    q->id = *id;
    q->rc = 0;
    q->kept_fd = -1;
    atomic_store(&q->state, MP_CONV_ASKED);
    deadline = clock_deadline(clock_now_ns(), 10ull * 1000000000u);
    int rc = 0;
    while ((st = atomic_load(&q->state)) != MP_CONV_ANSWERED || q->answered != seq) {
        if (st == MP_CONV_ANSWERED) /* a predecessor's answer, late: ours comes next */
            atomic_compare_exchange_strong(&q->state, &st, MP_CONV_ASKED);
        uint64_t now = clock_now_ns();
        uint32_t a = MP_CONV_ASKED;
        if (now >= deadline && atomic_compare_exchange_strong(&q->state, &a, MP_CONV_IDLE)) {
            rc = err_set(-ETIMEDOUT, "the node's admin did not take the image in 10 s");
            break;
        }
        if (now >= deadline + 20ull * 1000000000u) { /* taken, never answered */
            rc = err_set(-ETIMEDOUT, "the node's admin took the image but did not answer");
            break;
        }
        futex_wait(&q->state, st, now >= deadline ? 10000000u : deadline - now);
    }
    if (rc == 0) {
        rc = q->rc;
        if (rc < 0)
            err_set(rc, "%s", q->why);
        *pid = atomic_load(&nd->admin_pid);
        *kept_fd = q->kept_fd;
        atomic_store(&q->state, MP_CONV_IDLE);
    }
    pthread_mutex_unlock(&nd->img_lock);
    return rc;
}

static void admin_loop(struct ts_system *sys, struct mpv *v, struct pidwatch *w, int sfd)
{
    struct mp_node *nd = v->nd;
    unsigned n = nd->nshards;
    struct pollfd fds[TS_NODE_MAX_SHARDS + 1];
    int pause_ms = 1;
    while (!atomic_load(&nd->stop_req)) {
        fds[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
        for (unsigned i = 0; i < n; i++)
            fds[i + 1] = (struct pollfd){.fd = w[i].pidfd, .events = POLLIN};
        int k = poll(fds, n + 1, pause_ms);
        if (k > 0 && (fds[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            ssize_t r = read(sfd, &si, sizeof(si));
            (void)r;
        }
        for (unsigned i = 0; k > 0 && i < n; i++) {
            struct pidwatch_exit ex;
            if ((fds[i + 1].revents & (POLLIN | POLLHUP)) && !atomic_load(&nd->stop_req) &&
                pidwatch_wait(&w[i], 0, &ex) == 0)
                restart_shard(sys, v, &w[i], i, &ex);
        }
        bool took = false;
        if (log_gate(nd, true)) {
            pthread_mutex_lock(&sys->log.lock);
            for (unsigned i = 0; i < MP_LOG_QUEUES(n); i++)
                took |= logger_drain_queue(&sys->log, &nd->logq[i]);
            pthread_mutex_unlock(&sys->log.lock);
            log_gate(nd, false);
        }
        node_conv_sync(sys->conv); /* caps changed by any process; last heard */
        took |= image_serve(nd);
        pause_ms = took ? 1 : (pause_ms < 64 ? 2 * pause_ms : 64);
    }
}

/* The admin process: makes the node, forks its shards, serves until
 * stopped, removes the node. Never returns into the starter's code. */
static int admin_main(struct ts_system *sys, const char *segname)
{
    /* Detached: nobody's pipe is held open by the node (stderr stays, for
     * a stderr log sink). */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        close(devnull);
    }
    sigset_t usr;
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr, NULL);
    int sfd = signalfd(-1, &usr, SFD_CLOEXEC);
    cpu_set_t allowed;
    int cpus[CORES_MAX];
    int n = sched_getaffinity(0, sizeof(allowed), &allowed) < 0
                ? -errno
                : cores_plan(sys->cfg.cores, sys->cfg.shards, &allowed, cpus, CORES_MAX);
    if (n > TS_NODE_MAX_SHARDS)
        n = err_set(-EINVAL, "at most %d shards per node", TS_NODE_MAX_SHARDS);
    if (n < 0 || sfd < 0) {
        tell_starter(n < 0 ? n : -errno, ts_last_error());
        return 1;
    }
    struct mp_node probe = {0};
    size_t size = layout(&probe, (unsigned)n, sys->cfg.ring_size);
    struct mpv *v = calloc(1, sizeof(*v));
    int rc = v ? shm_named_create(&v->seg, segname, size, NULL) : -ENOMEM;
    if (rc < 0) {
        tell_starter(rc, rc == -EEXIST ? "another program started it first" : strerror(-rc));
        return 1;
    }
    struct mp_node *nd = v->nd = shm_named_data(&v->seg);
    serving = nd;
    layout(nd, (unsigned)n, sys->cfg.ring_size);
    nd->magic = MP_MAGIC;
    nd->version = MP_VERSION;
    nd->node_id = sys->cfg.node_id;
    nd->base = (uint8_t)sys->cfg.base;
    nd->max_msg = sys->cfg.max_msg_size;
    atomic_store(&nd->admin_pid, (int32_t)getpid());
    snprintf(nd->name, sizeof(nd->name), "%s", sys->cfg.node_name);
    node_caps_init(&nd->caps, sys->cfg.caps, true); /* checked by ts_system_open */
    image_node_init(&nd->images, sys->cfg.allow_unsigned_images, true);
    mp_mutex_init(&nd->img_lock, true);
    if (sys->cfg.convention) {
        members_init(&nd->members, true);
        nd->in_conv = 1;
        unsigned claim = node_conv_claim_ms(&sys->cfg); /* and a second for the admin */
        nd->conv_wait_ms = claim > UINT32_MAX - 1000 ? UINT32_MAX : claim + 1000;
    }
    mp_mutex_init(&nd->lock, true);
    mp_mutex_init(&nd->log_lock, true);
    for (unsigned i = 0; i < (unsigned)n; i++) {
        nd->shards[i].core = cpus[i];
        for (unsigned t = 0; t < (unsigned)n; t++)
            atomic_store(&nd->shards[i].next_fresh[t], i);
        for (unsigned j = 0; j < (unsigned)n; j++)
            ring_init(mp_ring(nd, i, j), sys->cfg.ring_size);
    }
    for (unsigned c = 0; c < MP_MAX_CLIENTS; c++) {
        atomic_store(&nd->clients[c].w.addr, ts_addr_make(nd->node_id, SHARD_CLIENT, c, 0));
        for (unsigned i = 0; i < (unsigned)n; i++) {
            ring_init(mp_cring(nd, c, i, 0), MP_CLIENT_RING);
            ring_init(mp_cring(nd, c, i, 1), MP_CLIENT_RING);
        }
    }
    for (unsigned i = 0; i < MP_LOG_QUEUES((unsigned)n); i++) {
        nd->logq[i].ring = mp_log_ring(nd, i);
        ring_init(nd->logq[i].ring, MP_LOG_RING);
    }
    registry_foreach(publish_type, nd);
    v->spill_size = (size_t)n * MP_SPILL_BYTES;
    v->spill_mem = mmap(NULL, v->spill_size, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    rc = build_view(sys, v);
    if (rc == 0 && v->spill_mem == MAP_FAILED)
        rc = err_set(-errno, "cannot map the overflow area: %s", strerror(errno));
    if (rc == 0)
        rc = wire_spills(v);
    for (unsigned c = 0; rc == 0 && c < MP_MAX_CLIENTS; c++) /* the shards poll them all */
        if (!mirror(&v->p, c))
            rc = err_set(-ENOMEM, "out of memory");
    if (sys->log.cfg.sink == TS_LOG_SINK_CALLBACK) /* the starter's callback is not here */
        sys->log.cfg.sink = TS_LOG_SINK_STDERR;
    /* The admin's own records go through its log ring like a shard's. */
    logger_bind(&sys->log, &nd->logq[n]);
    sys->log.gate = log_gate;
    sys->log.gate_arg = nd;
    struct pidwatch w[TS_NODE_MAX_SHARDS];
    for (int i = 0; i < n; i++)
        w[i] = (struct pidwatch){.pid = -1, .pidfd = -1};
    /* A named pinned node: its shards are threads here, sharing the admin's
     * fate (no crash isolation), over the same segment and loop. */
    nd->threads = sys->cfg.base == TS_BASE_PINNED;
    if (nd->threads)
        registry_set_fallback(type_fallback);
    if (rc == 0)
        rc = net_config_parse(sys->cfg.listen, sys->cfg.peers, sys->cfg.node_id, &v->p.net);
    if (rc == 0 && !nd->threads && net_config_uses(&v->p.net, NET_DPDK))
        rc = err_set(-EOPNOTSUPP, "the dpdk transport runs on the pinned base: DPDK's EAL is "
                     "one per process, and a multiproc node's shards are processes");
    if (rc == 0 && (v->p.net.listen_set || v->p.net.npeers)) {
        net_config_transports(&v->p.net, nd->transport, sizeof(nd->transport));
        snprintf(nd->listen, sizeof(nd->listen), "%s", sys->cfg.listen ? sys->cfg.listen : "");
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        if (nd->threads) {
            atomic_store(&nd->shards[i].pid, (int32_t)getpid());
            if ((rc = pinned_net_open(&v->p.shards[i])) < 0)
                break;
            if (v->p.shards[i].net)
                v->p.shards[i].net->pub = &nd->shards[i].net;
            rc = pinned_start_thread(&v->p.shards[i], cpus[i]);
            atomic_store(&nd->shards[i].ready, rc == 0);
        } else {
            rc = pidwatch_spawn(&w[i], shard_first, &v->p.shards[i]);
        }
    }
    uint64_t deadline = clock_deadline(clock_now_ns(), 10ull * 1000000000u);
    for (int i = 0; rc == 0 && i < n;) {
        struct pidwatch_exit ex;
        if (atomic_load(&nd->shards[i].ready)) {
            i++;
        } else if (pidwatch_wait(&w[i], 1, &ex) == 0) {
            rc = err_set(-ECHILD, "shard %d died while starting%s%s", i, nd->error[0] ? ": " : "",
                         nd->error);
        } else if (clock_now_ns() > deadline) {
            rc = err_set(-ETIMEDOUT, "shard %d did not start in 10 s", i);
        }
    }
    /* Its place in the convention, once its shards run (the leader binds
     * here: a port in use fails the start). */
    struct conv_server cs = {0};
    struct node_conv *nc = NULL;
    if (rc == 0 && nd->in_conv)
        rc = node_conv_start(sys, &nd->members, &nd->logq[n + 1], &nc);
    __atomic_store_n(&sys->conv, nc, __ATOMIC_RELEASE); /* shard threads may run already */
    if (rc == 0 && nd->in_conv && !nd->threads) /* threads call sys->conv themselves */
        rc = conv_server_start(&cs, sys, nd);
    if (rc < 0) {
        snprintf(nd->error, sizeof(nd->error), "%s", ts_last_error());
        atomic_store(&nd->state, MP_FAILED);
        conv_server_stop(&cs);
        node_conv_free(sys->conv);
        sys->conv = NULL;
        stop_shards(v, w);
        close_nets(v);
        tell_starter(rc, nd->error);
        blob_remove_all(v->blobs.prefix);
        shm_named_unlink(segname);
        return 1;
    }
    atomic_store(&nd->state, MP_RUNNING);
    tell_starter(0, NULL);
    admin_loop(sys, v, w, sfd);
    atomic_store(&nd->state, MP_STOPPING);
    conv_server_stop(&cs); /* a shard's call under way is answered first */
    node_conv_stop(sys->conv); /* leaves: the others forget this node's addresses */
    stop_shards(v, w);
    node_conv_free(sys->conv);
    sys->conv = NULL;
    close_nets(v);
    /* The last records: an owner still attached drains them itself. */
    logger_flush(&sys->log);
    blob_remove_all(v->blobs.prefix); /* sent and never handled, or orphaned by a crash */
    shm_named_unlink(segname);
    /* Only now: whoever waits for the stop finds nothing left in /dev/shm
     * (the mappings stay valid until each process lets go). */
    atomic_store(&nd->state, MP_STOPPED);
    return 0;
}

/* Forks the admin (through an intermediate child, so that it is nobody's
 * child here and outlives this program) and waits until the node runs. */
static int start_node(struct ts_system *sys, const char *segname)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return err_set(-errno, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t mid = fork();
    if (mid < 0) {
        close(fds[0]);
        close(fds[1]);
        return err_set(-errno, "fork: %s", strerror(errno));
    }
    if (mid == 0) {
        close(fds[0]);
        setsid();
        pid_t admin = fork();
        if (admin != 0)
            _exit(admin < 0 ? 1 : 0);
        ready_fd = fds[1];
        _exit(admin_main(sys, segname));
    }
    close(fds[1]);
    int status;
    waitpid(mid, &status, 0);
    struct ready_msg m;
    ssize_t got = read(fds[0], &m, sizeof(m));
    close(fds[0]);
    if (got != (ssize_t)sizeof(m))
        return err_set(-ECHILD, "the node's admin died while starting");
    if (m.rc == -EEXIST)
        return -EEXIST;
    if (m.rc < 0)
        return err_set(m.rc, "cannot start node '%s': %s", sys->cfg.node_name, m.text);
    return 0;
}

/* ---- open, shutdown, close -------------------------------------------- */

static pthread_mutex_t views_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mpv *views; /* open in this process: late types go to them */

static void type_observer(const ts_actor_type *t)
{
    /* Called under the registry's lock; views_lock is never held around a
     * registration. */
    pthread_mutex_lock(&views_lock);
    for (struct mpv *v = views; v; v = v->next)
        mp_type_publish(v->nd, t);
    pthread_mutex_unlock(&views_lock);
}

static int attach(struct ts_system *sys, const char *segname)
{
    struct mpv *v = calloc(1, sizeof(*v));
    if (!v)
        return err_set(-ENOMEM, "out of memory");
    int rc = shm_named_open(&v->seg, segname);
    struct mp_node *nd = rc == 0 ? shm_named_data(&v->seg) : NULL;
    if (rc == 0 && (nd->magic != MP_MAGIC || nd->version != MP_VERSION))
        rc = err_set(-EBADMSG, "/dev/shm/%s is not a thespis node of this version", segname);
    uint64_t deadline = clock_deadline(clock_now_ns(), 10ull * 1000000000u);
    while (rc == 0 && atomic_load(&nd->state) == MP_STARTING && clock_now_ns() < deadline)
        clock_sleep_until(clock_now_ns() + 1000000);
    int state = rc == 0 ? atomic_load(&nd->state) : MP_RUNNING;
    if (state == MP_FAILED)
        rc = err_set(-EAGAIN, "node '%s' failed to start: %.*s", nd->name,
                     (int)sizeof(nd->error), nd->error);
    else if (state != MP_RUNNING)
        rc = err_set(-EAGAIN, "node '%s' is %s", nd->name,
                     state == MP_STARTING ? "still starting" : "stopping");
    if (rc < 0) {
        shm_segment_destroy(&v->seg);
        free(v);
        return rc;
    }
    v->nd = nd;
    rc = build_view(sys, v);
    if (rc == 0 && sys->cfg.log.sink == TS_LOG_SINK_CALLBACK) {
        /* This program wants the node's records: it drains them. */
        int32_t none = 0;
        int32_t old = atomic_load(&nd->log_owner);
        if ((old == 0 || kill(old, 0) != 0) &&
            atomic_compare_exchange_strong(&nd->log_owner, old ? &old : &none, (int32_t)getpid())) {
            v->log_owner = true;
            sys->log.gate = log_gate;
            sys->log.gate_arg = nd;
            rc = logger_start(&sys->log, nd->logq, MP_LOG_QUEUES(nd->nshards));
        }
    }
    if (rc == 0) {
        pthread_mutex_lock(&views_lock);
        v->next = views;
        views = v;
        pthread_mutex_unlock(&views_lock);
        registry_set_observer(type_observer);
        clients_register(&v->p);
    }
    return rc;
}

static int mp_open(struct ts_system *sys)
{
    static _Atomic unsigned privates;
    char priv[64];
    if (!sys->cfg.node_name) {
        snprintf(priv, sizeof(priv), "private.%d.%u", (int)getpid(), atomic_fetch_add(&privates, 1));
        sys->cfg.node_name = priv;
    }
    bool named = sys->cfg.node_name != priv;
    char segname[96];
    int rc = mp_segment_name(sys->cfg.node_name, segname), last = 0;
    for (int attempt = 0; rc == 0 && attempt < 5; attempt++) {
        struct shm_segment probe;
        rc = shm_named_open(&probe, segname);
        if (rc == 0) {
            shm_segment_destroy(&probe);
        } else if (rc == -ENOENT || rc == -ESTALE) {
            if (rc == -ESTALE)
                mp_remove_stale(sys->cfg.node_name);
            rc = start_node(sys, segname);
            if (rc == -EEXIST) { /* another program started it meanwhile */
                rc = 0;
                continue;
            }
            if (rc < 0)
                break;
        } else {
            rc = err_set(rc, "cannot open node '%s': %s", sys->cfg.node_name, strerror(-rc));
            break;
        }
        rc = attach(sys, segname);
        if (rc != -EAGAIN && rc != -ENOENT && rc != -ESTALE)
            break;
        last = rc;
        rc = 0;
    }
    /* Every attempt found it starting, stopping or failed (the last
     * attach said which) or gone again. */
    if (rc == 0 && !sys->base)
        rc = last == -EAGAIN ? last
                             : err_set(-EAGAIN, "node '%s' did not come up", sys->cfg.node_name);
    if (!named)
        sys->cfg.node_name = NULL;
    if (rc == 0 && sys->base)
        ((struct mpv *)sys->base)->named = named;
    return rc;
}

/* Asks the admin to stop the node and waits until it has. */
static void stop_node(struct mpv *v)
{
    struct mp_node *nd = v->nd;
    atomic_store(&nd->stop_req, 1);
    int32_t admin = atomic_load(&nd->admin_pid);
    kill(admin, SIGUSR1);
    uint64_t deadline = clock_deadline(clock_now_ns(), 30ull * 1000000000u);
    for (uint64_t pause = 100000; atomic_load(&nd->state) < MP_STOPPED && kill(admin, 0) == 0;
         pause = pause < 10000000 ? 2 * pause : pause) {
        if (clock_now_ns() > deadline)
            break;
        clock_sleep_until(clock_now_ns() + pause);
    }
}

static int mp_shutdown(struct ts_system *sys)
{
    struct mpv *v = sys->base;
    int rc = pinned_shutdown(sys);
    stop_node(v);
    return rc;
}

static void mp_close(struct ts_system *sys)
{
    struct mpv *v = sys->base;
    if (!v)
        return;
    struct mp_node *nd = v->nd;
    clients_unregister(&v->p);
    pthread_mutex_lock(&views_lock);
    for (struct mpv **q = &views; *q; q = &(*q)->next) {
        if (*q == v) {
            *q = v->next;
            break;
        }
    }
    bool none = views == NULL;
    pthread_mutex_unlock(&views_lock);
    if (none)
        registry_set_observer(NULL);
    if (v->log_owner) {
        logger_stop(&sys->log); /* a last drain */
        sys->log.gate = NULL;
        int32_t me = (int32_t)getpid();
        atomic_compare_exchange_strong(&nd->log_owner, &me, 0);
    }
    for (uint32_t i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = atomic_load(&v->p.clients[i]);
        if (c)
            mp_unclaim(&v->p, c);
    }
    free_view(sys, v);
    shm_segment_destroy(&v->seg);
    free(v);
    sys->base = NULL;
}

/* Closing a private node stops it; a named one lives on (design §2). */
static bool mp_persists(struct ts_system *sys)
{
    struct mpv *v = sys->base;
    return v && v->named;
}

const struct base_ops base_multiproc_ops = {
    .name = "multiproc",
    .open = mp_open,
    .shutdown = mp_shutdown,
    .persists = mp_persists,
    .close = mp_close,
    .client = pinned_client,
    .tell = pinned_tell,
    .create = pinned_create,
    .wait = pinned_wait,
    .run = mp_run,
    .reserve_remote = pinned_reserve_remote,
    .control = pinned_control,
    .client_known = pinned_client_known,
    .node_known = pinned_node_known,
    .name_claim = mp_name_claim_op,
    .name_release = mp_name_release_op,
    .name_get = mp_name_get_op,
    .conv_name = mp_conv_name_op,
    .actor_born = mp_actor_born,
    .actor_gone = mp_actor_gone,
    .caps_changed = pinned_caps_changed,
    .image_keep = mp_image_keep,
    .status_queued = pinned_status_queued,
    .status_info = mp_status_info,
};
