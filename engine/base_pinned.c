/* SPDX-License-Identifier: MIT */
/*
 * base_pinned.c — the pinned base: one process, one thread per shard pinned
 * to its core, rings between them (design §2, §6).
 *
 * This file is the base's side that callers and open/close use; each
 * shard's thread and ports are in pinned_loop.c.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cores.h"
#include "err.h"
#include "futex.h"
#include "nodeconv.h"
#include "pinned.h"
#include "shard_internal.h"

static struct pinned *pinned_of(struct ts_system *sys)
{
    return sys->base;
}

static struct pshard *pshard_of(struct shard *sh)
{
    return sh->base;
}

/* ---- control messages -------------------------------------------------- */

#define CTL_CREATE UINT64_C(0x7473000000000010)  /* caller -> shard: create_req */
#define CTL_CREATED UINT64_C(0x7473000000000011) /* shard -> caller: create_rep */

struct create_req {
    uint32_t arg_len;
    uint16_t type_len, name_len; /* with their NULs */
    int32_t placement;           /* TS_PLACE_LOCAL: the shard asked; else the shard decides */
    uint16_t node;               /* TS_PLACE_NODE */
    uint16_t reqs_len;           /* the creation's requirements, with their NUL (after the name) */
    int32_t core;                /* TS_PLACE_CORE */
    uint32_t has_image;          /* 1: image names the type's image */
    ts_image_id image;
};

struct create_rep {
    ts_addr addr;
    int32_t rc;
    uint32_t zero;
};

bool pinned_client_known(struct shard *sh, ts_addr dst)
{
    return pinned_client_port(pshard_of(sh), dst) != NULL;
}

int pinned_control(struct shard *sh, const ts_msg *m)
{
    if (m->type != CTL_CREATE || m->len < sizeof(struct create_req))
        return -ENOENT;
    struct create_req q;
    memcpy(&q, ts_msg_data(m), sizeof(q));
    const char *type_name = (const char *)ts_msg_data(m) + sizeof(q);
    const char *reqs = type_name + q.type_len + q.name_len;
    ts_create_opts o = {.arg = reqs + q.reqs_len, .arg_len = q.arg_len,
                        .global_name = q.name_len ? type_name + q.type_len : NULL,
                        .placement = (ts_placement)q.placement, .node = q.node, .core = q.core,
                        .requirements = q.reqs_len ? reqs : NULL,
                        .image = q.has_image ? &q.image : NULL};
    struct create_rep rep = {0};
    rep.rc = shard_create(sh, type_name, &o, TS_ADDR_NONE, m->src, &rep.addr);
    shard_enqueue(sh, m->src, control_addr(sh->node, sh->id), CTL_CREATED, &rep, sizeof(rep), 0);
    return 0;
}

/* ---- caller side ------------------------------------------------------- */

int pinned_client(struct ts_system *sys, ts_addr *out)
{
    struct client *c;
    int rc = client_get(pinned_of(sys), &c);
    if (rc == 0)
        *out = atomic_load_explicit(&c->w->addr, memory_order_relaxed);
    return rc;
}

int pinned_tell(struct ts_system *sys, ts_addr dst, uint64_t type, const void *p, size_t len)
{
    struct client *c;
    int rc = client_get(pinned_of(sys), &c);
    return rc < 0 ? rc
                  : client_send(pinned_of(sys), c, dst, atomic_load(&c->w->addr), type, p, len, 0);
}

/* Waits for the shard's answer to a create; other messages stay queued, in
 * the order they came. */
static int wait_created(struct pinned *p, struct client *c, struct create_rep *rep)
{
    uint64_t deadline = clock_deadline(clock_now_ns(), 10ull * 1000000000u);
    for (size_t seen = 0;;) {
        struct inbox *in = &c->inbox;
        for (size_t i = seen; i < in->n; i++) {
            ts_msg *m = in->v[(in->head + i) % in->cap];
            if (m->type != CTL_CREATED || ts_addr_gen(m->src) != 0)
                continue;
            memcpy(rep, ts_msg_data(m), sizeof(*rep));
            for (size_t j = i; j + 1 < in->n; j++) /* close the gap, keeping the order */
                in->v[(in->head + j) % in->cap] = in->v[(in->head + j + 1) % in->cap];
            in->n--;
            free(m);
            return 0;
        }
        seen = in->n;
        if (client_await(p, c, deadline, seen) < 0)
            return err_set(-ETIMEDOUT, "ts_system_create: the shard did not answer");
    }
}

/* One create request to shard `target`, and its answer. */
static int create_on(struct pinned *p, struct client *c, int target, const void *req, size_t len,
                     struct create_rep *rep)
{
    int rc = client_send_wait(p, c, control_addr(p->sys->cfg.node_id, (uint8_t)target), CTL_CREATE,
                              req, len, clock_deadline(clock_now_ns(), 10ull * 1000000000u));
    return rc < 0 ? rc : wait_created(p, c, rep);
}

int pinned_create(struct ts_system *sys, const char *type_name, const ts_create_opts *opts,
                         ts_addr *out)
{
    struct pinned *p = pinned_of(sys);
    struct client *c;
    struct place_out where;
    int rc = client_get(p, &c);
    if (rc == 0) {
        struct place_in in = {.creator = -1, .rr = &c->rr_next};
        rc = place_actor(sys, &in, opts, &where);
    }
    if (rc < 0)
        return rc;
    const ts_image_id *image = opts && !ts_image_id_is_zero(opts->image) ? opts->image : NULL;
    const struct type_rec *t = registry_find_in(image, type_name);
    if (!t && !image && !(p->type_known && p->type_known(p, type_name)))
        return err_set(-ENOENT, "no actor type named '%s' is registered", type_name);
    /* Said here, on the caller's thread (a shard's reason would not come
     * back); a type this process lacks may be the node's shards'. */
    if (image && (rc = image_create_check(sys->img, image, type_name, t || !image_here(image))) < 0)
        return rc;
    const char *name = opts ? opts->global_name : NULL;
    const char *reqs = opts && opts->requirements && *opts->requirements ? opts->requirements
                                                                          : NULL;
    if (reqs && strlen(reqs) >= UINT16_MAX)
        return err_set(-EINVAL, "ts_system_create: requirements of 64 KiB or more");
    /* Another node, spread, or by requirements and load: shard 0 holds
     * leases and decides. */
    bool decide = where.shard < 0 || reqs || (t && type_rec_demands(t));
    struct create_req q = {.arg_len = opts ? (uint32_t)opts->arg_len : 0,
                           .type_len = (uint16_t)(strlen(type_name) + 1),
                           .name_len = (uint16_t)(name ? strlen(name) + 1 : 0),
                           .reqs_len = (uint16_t)(reqs ? strlen(reqs) + 1 : 0),
                           .placement = decide && opts ? (int32_t)opts->placement : TS_PLACE_LOCAL,
                           .node = decide && opts ? opts->node : 0,
                           .core = decide && opts ? opts->core : 0,
                           .has_image = image ? 1 : 0};
    if (image)
        q.image = *image;
    if (decide && q.placement == TS_PLACE_DEFAULT)
        q.placement = sys->cfg.placement;
    int target = decide ? 0 : where.shard;
    size_t len = sizeof(q) + q.type_len + q.name_len + q.reqs_len + q.arg_len;
    unsigned char *buf = malloc(len);
    if (!buf)
        return err_set(-ENOMEM, "out of memory");
    unsigned char *w = buf;
    memcpy(w, &q, sizeof(q));
    memcpy(w += sizeof(q), type_name, q.type_len);
    if (name)
        memcpy(w + q.type_len, name, q.name_len);
    w += q.type_len + q.name_len;
    if (reqs)
        memcpy(w, reqs, q.reqs_len);
    w += q.reqs_len;
    if (q.arg_len)
        memcpy(w, opts->arg, q.arg_len);
    struct create_rep rep;
    uint64_t deadline = clock_deadline(clock_now_ns(), 10ull * 1000000000u);
    /* A node that has leased no slot yet will: its lease is on the way. */
    while ((rc = create_on(p, c, target, buf, len, &rep)) == 0 && rep.rc == -EAGAIN &&
           q.placement == TS_PLACE_NODE && clock_now_ns() < deadline)
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    free(buf);
    if (rc < 0)
        return rc;
    if (rep.rc < 0 && decide && q.placement == TS_PLACE_NODE)
        return err_set(rep.rc, "ts_system_create on node %u: %s%s", q.node, strerror(-rep.rc),
                       rep.rc == -EHOSTUNREACH ? " (not in this node's peer table)" : "");
    if (rep.rc < 0)
        return err_set(rep.rc, "ts_system_create: %s (on shard %d)", strerror(-rep.rc), target);
    *out = rep.addr;
    return 0;
}

int pinned_wait(struct ts_system *sys, uint64_t deadline, ts_msg **out)
{
    struct client *c;
    int rc = client_get(pinned_of(sys), &c);
    return rc < 0 ? rc : client_wait(pinned_of(sys), c, deadline, out);
}

/* Idle: every message sent to a shard was handled, every message to a
 * caller is in its ring, and no timer is pending; read twice with nothing
 * moving in between (a four-counter wave). */
static bool counters(struct pinned *p, uint64_t *sent, uint64_t *handled)
{
    uint64_t s = 0, h = 0, timers = 0;
    for (unsigned i = 0; i < p->n; i++) {
        struct shard *sh = &p->shards[i].sh;
        h += atomic_load_explicit(&sh->stats->handled, memory_order_acquire);
        h += atomic_load_explicit(&sh->stats->client_published, memory_order_acquire);
        timers += atomic_load_explicit(&sh->stats->timers, memory_order_relaxed);
        /* a message on its way to another node keeps this one busy */
        timers += atomic_load_explicit(&sh->stats->net_pending, memory_order_relaxed);
    }
    for (unsigned i = 0; i < p->n; i++) {
        const struct shard *sh = &p->shards[i].sh;
        s += atomic_load_explicit(&sh->stats->sent, memory_order_acquire);
        s += atomic_load_explicit(&sh->stats->client_sent, memory_order_acquire);
    }
    uint32_t nc = atomic_load_explicit(&p->nclients, memory_order_acquire);
    for (uint32_t i = 0; i < nc; i++) {
        struct client *c = atomic_load_explicit(&p->clients[i], memory_order_acquire);
        if (c)
            s += atomic_load_explicit(&c->w->sent, memory_order_acquire);
    }
    *sent = s;
    *handled = h;
    return s == h && timers == 0;
}

static int pinned_run(struct ts_system *sys, uint64_t deadline)
{
    struct pinned *p = pinned_of(sys);
    for (uint64_t pause = 10000;; pause = pause < 1000000 ? 2 * pause : pause) {
        uint64_t s1, h1, s2, h2;
        if (counters(p, &s1, &h1) && counters(p, &s2, &h2) && s1 == s2 && h1 == h2)
            return 0;
        uint64_t now = clock_now_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        clock_sleep_until(deadline - now < pause ? deadline : now + pause);
    }
}

static uint64_t live_actors(struct pinned *p)
{
    uint64_t live = 0;
    for (unsigned i = 0; i < p->n; i++)
        live += atomic_load_explicit(&p->shards[i].sh.stats->live, memory_order_relaxed);
    return live;
}

/* ExitRequest to every top-level actor, again until none is left: an actor
 * whose Start was still queued when a shard handled ExitAll is caught by the
 * next round. */
int pinned_shutdown(struct ts_system *sys)
{
    struct pinned *p = pinned_of(sys);
    struct client *c;
    int rc = client_get(p, &c);
    uint64_t deadline = clock_deadline(clock_now_ns(), 30ull * 1000000000u);
    while (rc == 0 && live_actors(p)) {
        for (unsigned i = 0; rc == 0 && i < p->n; i++)
            rc = client_send_wait(p, c, control_addr(sys->cfg.node_id, (uint8_t)i),
                                  CTL_EXIT_ALL, NULL, 0, deadline);
        if (rc == 0 && sys->ops->run(sys, deadline) < 0 && live_actors(p)) {
            system_log(sys, TS_LOG_ERROR, "TS-SHUTDOWN", TS_ADDR_NONE, "",
                       "%llu actors still live after 30 s; stopping the shards anyway",
                       (unsigned long long)live_actors(p));
            break;
        }
    }
    return rc;
}

/* ---- open and close ---------------------------------------------------- */

static int ring_layout(struct pinned *p, size_t ring_size)
{
    size_t one = ring_footprint(ring_size), log = ring_footprint(64u << 10);
    int rc = shm_segment_create(&p->seg, "thespis-pinned",
                                (size_t)p->n * (p->n - 1) * one + p->n * log);
    if (rc < 0)
        return err_set(rc, "cannot map ring memory: %s", strerror(-rc));
    unsigned char *at = p->seg.base;
    for (unsigned from = 0; from < p->n; from++) {
        for (unsigned to = 0; to < p->n; to++) {
            if (from == to)
                continue;
            struct ring *r = (struct ring *)(void *)at;
            at += one;
            ring_init(r, ring_size);
            p->shards[from].out[to].ring = r;
            if (p->sys->cfg.idle != TS_IDLE_BUSY)
                p->shards[from].out[to].wake = p->shards[to].sleeping;
            p->shards[to].in[from] = r;
        }
    }
    for (unsigned i = 0; i < p->n; i++, at += log) {
        p->logq[i].ring = (struct ring *)(void *)at;
        ring_init(p->logq[i].ring, 64u << 10);
    }
    return logger_start(&p->sys->log, p->logq, p->n);
}

int pshard_init(struct pinned *p, unsigned i)
{
    struct pshard *ps = &p->shards[i];
    ps->p = p;
    ps->sleeping = &ps->own_sleeping;
    ps->in = calloc(p->n, sizeof(*ps->in));
    ps->out = calloc(p->n, sizeof(*ps->out));
    ps->to_client = calloc(MAX_CLIENTS, sizeof(*ps->to_client));
    ps->dirty = calloc(p->n + MAX_CLIENTS, sizeof(*ps->dirty));
    ps->spilled = calloc(p->n + MAX_CLIENTS, sizeof(*ps->spilled));
    ps->wakes = calloc(p->n + MAX_CLIENTS, sizeof(*ps->wakes));
    if (!ps->in || !ps->out || !ps->to_client || !ps->dirty || !ps->spilled || !ps->wakes)
        return err_set(-ENOMEM, "out of memory");
    for (unsigned k = 0; k < p->n; k++)
        ps->out[k].overflow = &ps->out[k].own_overflow;
    for (unsigned k = 0; k < MAX_CLIENTS; k++)
        ps->to_client[k].overflow = &ps->to_client[k].own_overflow;
    int rc = shard_init(&ps->sh, p->sys, p->sys->cfg.node_id, (uint8_t)i, (uint8_t)p->n);
    ps->sh.base = ps;
    p->sys->shards[i] = &ps->sh;
    return rc;
}

void pshard_fini(struct pshard *ps)
{
    struct pinned *p = ps->p;
    if (!p)
        return;
    shard_fini(&ps->sh);
    for (unsigned k = 0; ps->out && k < p->n; k++)
        mailq_fini(&ps->out[k].own_overflow);
    for (unsigned k = 0; ps->to_client && k < MAX_CLIENTS; k++)
        mailq_fini(&ps->to_client[k].own_overflow);
    free(ps->in);
    free(ps->out);
    free(ps->to_client);
    free(ps->dirty);
    free(ps->spilled);
    free(ps->wakes);
    for (unsigned i = 0; i < ps->nmaps; i++)
        blob_unmap(ps->maps[i].p, ps->maps[i].size);
    free(ps->maps);
}

int pinned_start_thread(struct pshard *ps, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    int rc = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    if (rc == 0)
        rc = pthread_create(&ps->thread, &attr, pinned_shard_main, ps);
    pthread_attr_destroy(&attr);
    if (rc)
        return err_set(-rc, "cannot start shard %u on core %d: %s", ps->sh.id, cpu, strerror(rc));
    ps->started = true;
    return 0;
}

bool pinned_node_known(struct shard *sh, uint16_t node)
{
    struct pshard *ps = sh->base;
    return ps->net && net_peer_index(ps->net, node) >= 0;
}

int pinned_net_open(struct pshard *ps)
{
    const struct net_config *c = &ps->p->net;
    if (!c->listen_set && !c->npeers)
        return 0;
    if (!(ps->net = calloc(1, sizeof(*ps->net))))
        return err_set(-ENOMEM, "out of memory");
    ps->sh.other_nodes = true;
    ps->sh.net = ps->net;
    return net_open(ps->net, &ps->sh, c);
}

void pinned_net_close(struct pshard *ps)
{
    if (ps->net) {
        net_close(ps->net);
        free(ps->net);
        ps->net = NULL;
        ps->sh.net = NULL;
    }
}

/* Links to other nodes (net.h): one transport per shard, when configured. */
static int open_nets(struct ts_system *sys, struct pinned *p)
{
    int rc = net_config_parse(sys->cfg.listen, sys->cfg.peers, sys->cfg.node_id, &p->net);
    if (rc == 0 && (p->net.listen_set || p->net.npeers) &&
        !(p->pubs = calloc(p->n, sizeof(*p->pubs))))
        rc = err_set(-ENOMEM, "out of memory");
    for (unsigned i = 0; rc == 0 && i < p->n; i++) {
        rc = pinned_net_open(&p->shards[i]);
        if (rc == 0 && p->shards[i].net) /* its links' figures, for the node's Status */
            p->shards[i].net->pub = &p->pubs[i];
    }
    return rc;
}

void pinned_status_info(struct shard *sh, struct status_info *out)
{
    struct pinned *p = ((struct pshard *)sh->base)->p;
    for (unsigned i = 0; p->pubs && i < p->n; i++)
        if (p->shards[i].net) /* set before the shards started, gone after they stop */
            out->shards[i].links = &p->pubs[i];
}

static int pinned_open(struct ts_system *sys)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
        return err_set(-errno, "sched_getaffinity: %s", strerror(errno));
    int cpus[CORES_MAX];
    int n = cores_plan(sys->cfg.cores, sys->cfg.shards, &allowed, cpus, CORES_MAX);
    if (n < 0)
        return n;
    struct pinned *p = calloc(1, sizeof(*p));
    if (!p)
        return err_set(-ENOMEM, "out of memory");
    static _Atomic uint64_t uids = 1;
    sys->base = p;
    p->sys = sys;
    p->uid = atomic_fetch_add(&uids, 1);
    p->n = (unsigned)n;
    p->stop = &p->own_stop;
    p->ncl = &p->nclients;
    pthread_mutex_init(&p->client_lock, NULL);
    p->shards = calloc(p->n, sizeof(*p->shards));
    p->logq = calloc(p->n, sizeof(*p->logq));
    sys->shards = calloc(p->n, sizeof(*sys->shards));
    sys->shard_cpu = calloc(p->n, sizeof(int));
    if (!p->shards || !p->logq || !sys->shards || !sys->shard_cpu)
        return err_set(-ENOMEM, "out of memory");
    sys->nshards = p->n;
    memcpy(sys->shard_cpu, cpus, p->n * sizeof(int));
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < p->n; i++)
        rc = pshard_init(p, i);
    if (rc == 0)
        rc = ring_layout(p, sys->cfg.ring_size);
    if (rc == 0)
        rc = open_nets(sys, p);
    for (unsigned i = 0; rc == 0 && i < p->n; i++)
        rc = pinned_start_thread(&p->shards[i], cpus[i]);
    if (rc == 0)
        clients_register(p);
    struct node_conv *nc = NULL;
    if (rc == 0 && node_conv_wanted(sys))
        rc = node_conv_start(sys, sys->members, NULL, &nc);
    __atomic_store_n(&sys->conv, nc, __ATOMIC_RELEASE); /* the shards run already */
    return rc;
}

void pinned_caps_changed(struct ts_system *sys)
{
    struct pinned *p = pinned_of(sys);
    for (unsigned i = 0; p && p->shards && i < p->n; i++) {
        atomic_store(p->shards[i].sleeping, 0);
        futex_wake(p->shards[i].sleeping);
    }
}

static void pinned_close(struct ts_system *sys)
{
    struct pinned *p = pinned_of(sys);
    if (!p)
        return;
    node_conv_stop(sys->conv); /* leaves: the others forget this node's addresses */
    clients_unregister(p);
    /* seq_cst, then sleeping = 0 (seq_cst): pairs with shard_sleep's re-check. */
    atomic_store_explicit(p->stop, true, memory_order_seq_cst);
    for (unsigned i = 0; p->shards && i < p->n; i++) {
        struct pshard *ps = &p->shards[i];
        if (!ps->started)
            continue;
        atomic_store(ps->sleeping, 0);
        futex_wake(ps->sleeping);
        pthread_join(ps->thread, NULL);
    }
    node_conv_free(sys->conv); /* the shards are gone: nobody holds it now */
    sys->conv = NULL;
    for (unsigned i = 0; p->shards && i < p->n; i++)
        pinned_net_close(&p->shards[i]);
    net_config_free(&p->net);
    free(p->pubs);
    logger_stop(&sys->log); /* the last records, before their rings go */
    for (unsigned i = 0; p->shards && i < p->n; i++)
        pshard_fini(&p->shards[i]);
    for (unsigned i = 0; i < MAX_CLIENTS; i++)
        client_free(p, atomic_load(&p->clients[i]));
    shm_segment_destroy(&p->seg);
    pthread_mutex_destroy(&p->client_lock);
    free(p->logq);
    free(p->shards);
    free(sys->shards);
    free(sys->shard_cpu);
    free(p);
    sys->base = NULL;
}

const struct base_ops base_pinned_ops = {
    .name = "pinned",
    .open = pinned_open,
    .shutdown = pinned_shutdown,
    .close = pinned_close,
    .client = pinned_client,
    .tell = pinned_tell,
    .create = pinned_create,
    .wait = pinned_wait,
    .run = pinned_run,
    .reserve_remote = pinned_reserve_remote,
    .control = pinned_control,
    .client_known = pinned_client_known,
    .node_known = pinned_node_known,
    .caps_changed = pinned_caps_changed,
    .status_queued = pinned_status_queued,
    .status_info = pinned_status_info,
};
