/* SPDX-License-Identifier: MIT */
/* system.c — opening, shutting down and closing a system; configuration,
 * counters and the external caller's inbox. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "echo.h"
#include "err.h"
#include "nodeconv.h"
#include "authority.h"
#include "system.h"
#include "../placement/caps.h"

static const char *const base_names[] = {"simple", "pinned", "multiproc"};

void ts_config_init(ts_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->base = TS_BASE_SIMPLE;
    cfg->max_msg_size = TS_DEFAULT_MAX_MSG_SIZE;
    cfg->log.level = TS_LOG_WARNING;
    cfg->log.sink = TS_LOG_SINK_STDERR;
    cfg->log.format = TS_LOG_FORMAT_TEXT;
    cfg->idle = TS_IDLE_ADAPTIVE;
    cfg->spin_ns = 50000;
    cfg->ring_size = 256u << 10;
}

int ts_idle_parse(const char *name, ts_idle *out)
{
    static const char *const names[] = {"adaptive", "busy", "sleep"};
    for (unsigned i = 0; name && out && i < 3; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (ts_idle)i;
            return 0;
        }
    }
    return err_set(-EINVAL, "unknown idle policy '%s' (adaptive, busy, sleep)",
                   name ? name : "(null)");
}

const char *ts_base_name(ts_base base)
{
    return (unsigned)base <= TS_BASE_MULTIPROC ? base_names[base] : "?";
}

int ts_base_parse(const char *name, ts_base *out)
{
    for (unsigned i = 0; name && out && i <= TS_BASE_MULTIPROC; i++) {
        if (strcmp(name, base_names[i]) == 0) {
            *out = (ts_base)i;
            return 0;
        }
    }
    return err_set(-EINVAL, "unknown base '%s' (simple, pinned, multiproc)",
                   name ? name : "(null)");
}

static int check_config(const ts_config *cfg)
{
    if ((unsigned)cfg->base > TS_BASE_MULTIPROC)
        return err_set(-EINVAL, "unknown base %d", (int)cfg->base);
    if (cfg->base == TS_BASE_SIMPLE && cfg->node_name)
        return err_set(-EINVAL, "the simple base has no named nodes (node_name is for multiproc "
                       "and pinned)");
    if ((cfg->listen || cfg->peers) && cfg->base == TS_BASE_SIMPLE)
        return err_set(-EOPNOTSUPP, "links to other nodes (listen, peers) run on the pinned and "
                       "multiproc bases, not on simple");
    if ((unsigned)cfg->idle > TS_IDLE_SLEEP)
        return err_set(-EINVAL, "unknown idle policy %d", (int)cfg->idle);
    if (cfg->placement != TS_PLACE_DEFAULT && cfg->placement != TS_PLACE_LOCAL &&
        cfg->placement != TS_PLACE_ROUND_ROBIN && cfg->placement != TS_PLACE_SPREAD)
        return err_set(-EINVAL, "placement %d cannot be the default (local, round robin or "
                       "spread)", (int)cfg->placement);
    if (cfg->ring_size < 4096 || (cfg->ring_size & (cfg->ring_size - 1)) || cfg->ring_size > (1u << 30))
        return err_set(-EINVAL, "ring_size %zu is not a power of two from 4 KiB to 1 GiB",
                       cfg->ring_size);
    if (cfg->max_msg_size > UINT32_MAX - 4096)
        return err_set(-EINVAL, "max_msg_size %zu is above the limit of %u bytes",
                       cfg->max_msg_size, UINT32_MAX - 4096);
    if (cfg->convention && cfg->base == TS_BASE_SIMPLE)
        return err_set(-EOPNOTSUPP, "conventions run on the pinned and multiproc bases, not on "
                       "simple");
    if (!cfg->convention && (cfg->convention_leader || cfg->key_file || cfg->convention_lost_ms))
        return err_set(-EINVAL, "convention_leader, key_file and convention_lost_ms are for a "
                       "node in a convention: set ts_config.convention (the leader's HOST:PORT)");
    if (cfg->convention && !cfg->key_file)
        return err_set(-EINVAL, "a convention needs its shared key: set ts_config.key_file "
                       "(`thespis keygen FILE` makes one)");
    if (cfg->convention_lost_ms && (cfg->convention_lost_ms < 10 || cfg->convention_lost_ms > 600000))
        return err_set(-EINVAL, "convention_lost_ms %u is outside 10 .. 600000",
                       cfg->convention_lost_ms);
    struct node_caps nc; /* typed as placement will read them: a bad one is said now */
    int rc = node_caps_init(&nc, cfg->caps, false);
    node_caps_fini(&nc, false);
    return rc;
}

_Thread_local struct ts_system *system_running;

int ts_system_open(const ts_config *cfg_in, ts_system **out)
{
    if (!out)
        return err_set(-EINVAL, "ts_system_open: NULL out");
    *out = NULL;
    (void)echo_register(); /* thespis.Echo (echo.c): here too, so a static link has it */
    ts_config cfg;
    ts_config_init(&cfg);
    if (cfg_in)
        cfg = *cfg_in;
    if (!cfg.max_msg_size)
        cfg.max_msg_size = TS_DEFAULT_MAX_MSG_SIZE;
    int rc = check_config(&cfg);
    if (rc < 0)
        return rc;
    if (cfg.authority_keys) { /* said before anything starts */
        uint8_t keys[AUTHORITY_MAX_KEYS][TS_SIGN_PUBLIC_BYTES];
        size_t n;
        if ((rc = authority_keys_read(cfg.authority_keys, keys, &n)) < 0)
            return rc;
    }
    struct ts_system *sys = calloc(1, sizeof(*sys));
    if (!sys)
        return err_set(-ENOMEM, "out of memory");
    sys->cfg = cfg;
    sys->dead_letter_handler = &sys->own_dlh;
    image_node_init(&sys->own_img, cfg.allow_unsigned_images, false);
    sys->img = &sys->own_img;
    node_caps_init(&sys->own_caps, cfg.caps, false); /* checked above */
    sys->caps = &sys->own_caps;
    if (cfg.convention) { /* a named node's is in its segment (base_multiproc.c) */
        members_init(&sys->own_members, false);
        sys->members = &sys->own_members;
    }
    /* A named node, pinned or multiproc, is the admin's (base_multiproc.c). */
    sys->ops = cfg.base == TS_BASE_MULTIPROC || cfg.node_name ? &base_multiproc_ops
               : cfg.base == TS_BASE_PINNED               ? &base_pinned_ops
                                                          : &base_simple_ops;
    pthread_mutex_init(&sys->names_lock, NULL);
    rc = logger_open(&sys->log, &cfg.log);
    if (rc == 0) {
        sys->cfg.log = sys->log.cfg;
        rc = sys->ops->open(sys);
    }
    if (rc == 0 && cfg.authority_keys)
        rc = authority_start(sys, cfg.authority_keys);
    if (rc < 0) {
        atomic_store(&sys->shut_down, true); /* nothing to shut down */
        ts_system_close(sys);
        return rc;
    }
    *out = sys;
    return 0;
}

int ts_system_shutdown(ts_system *sys)
{
    if (!sys)
        return err_set(-EINVAL, "ts_system_shutdown: NULL system");
    if (system_running == sys)
        return err_set(-EDEADLK, "ts_system_shutdown called from inside a handler");
    if (atomic_load(&sys->shut_down))
        return 0;
    int rc = sys->ops->shutdown(sys);
    atomic_store(&sys->shut_down, true);
    return rc;
}

void ts_system_close(ts_system *sys)
{
    if (!sys || system_running == sys)
        return;
    if (!sys->ops->persists || !sys->ops->persists(sys))
        ts_system_shutdown(sys);
    sys->ops->close(sys);
    names_fini(&sys->names);
    pthread_mutex_destroy(&sys->names_lock);
    image_node_fini(&sys->own_img, false);
    node_caps_fini(&sys->own_caps, false);
    if (sys->cfg.convention)
        members_fini(&sys->own_members, false);
    logger_close(&sys->log);
    free(sys);
}

int ts_system_stats_get(ts_system *sys, ts_system_stats *out)
{
    if (!sys || !out)
        return err_set(-EINVAL, "ts_system_stats_get: NULL argument");
    memset(out, 0, sizeof(*out));
#define SUM(f) atomic_load_explicit(&sh->stats->f, memory_order_relaxed)
    for (unsigned i = 0; i < sys->nshards; i++) {
        const struct shard *sh = sys->shards[i];
        out->delivered += SUM(delivered);
        out->actors_created += SUM(created);
        out->actors_exited += SUM(exited);
        out->actors_live += SUM(live);
        out->restarts += SUM(restarts);
        out->poisoned += SUM(poisoned);
        out->dead_letters += SUM(dead_letters);
        out->dead_letters_dropped += SUM(dead_dropped);
        out->timers_pending += SUM(timers);
        out->peer_leases += SUM(peer_leases);
        if (SUM(overflow_hwm) > out->overflow_hwm)
            out->overflow_hwm = SUM(overflow_hwm);
    }
#undef SUM
    for (unsigned i = 0; i < sys->log.nqueues; i++)
        out->log_dropped += atomic_load_explicit(&sys->log.queues[i].dropped, memory_order_relaxed);
    return 0;
}

int inbox_push(struct inbox *in, ts_msg *m)
{
    if (in->n == in->cap) {
        size_t cap = in->cap ? 2 * in->cap : 16;
        ts_msg **v = malloc(cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        for (size_t i = 0; i < in->n; i++)
            v[i] = in->v[(in->head + i) % in->cap];
        free(in->v);
        in->v = v;
        in->cap = cap;
        in->head = 0;
    }
    in->v[(in->head + in->n++) % in->cap] = m;
    return 0;
}

ts_msg *inbox_pop(struct inbox *in)
{
    if (!in->n)
        return NULL;
    ts_msg *m = in->v[in->head];
    in->head = (in->head + 1) % in->cap;
    in->n--;
    return m;
}

void inbox_fini(struct inbox *in)
{
    for (ts_msg *m; (m = inbox_pop(in));)
        free(m);
    free(in->v);
    memset(in, 0, sizeof(*in));
}

ts_addr system_name_claim(struct ts_system *sys, const char *name, ts_addr addr, int *rc)
{
    if (sys->ops->name_claim)
        return sys->ops->name_claim(sys, name, addr, rc);
    pthread_mutex_lock(&sys->names_lock);
    ts_addr have = names_get(&sys->names, name);
    *rc = have ? 0 : names_put(&sys->names, name, addr);
    pthread_mutex_unlock(&sys->names_lock);
    if (*rc < 0)
        *rc = err_set(*rc, "out of memory keeping global name '%s'", name);
    return have;
}

ts_addr system_name_get(struct ts_system *sys, const char *name)
{
    if (sys->ops->name_get)
        return sys->ops->name_get(sys, name);
    pthread_mutex_lock(&sys->names_lock);
    ts_addr have = names_get(&sys->names, name);
    pthread_mutex_unlock(&sys->names_lock);
    return have;
}

void system_name_drop(struct ts_system *sys, const char *name, ts_addr addr)
{
    if (sys->ops->name_release) {
        sys->ops->name_release(sys, name, addr);
        return;
    }
    pthread_mutex_lock(&sys->names_lock);
    names_del(&sys->names, name, addr);
    pthread_mutex_unlock(&sys->names_lock);
}

int system_conv_name(struct ts_system *sys, int op, const char *name, ts_addr addr,
                     ts_addr *holder)
{
    struct node_conv *l = system_conv(sys);
    if (l)
        return node_conv_name(l, (enum node_name_op)op, name, addr, holder);
    if (sys->ops->conv_name)
        return sys->ops->conv_name(sys, op, name, addr, holder);
    return op == NODE_NAME_RELEASE ? 0
                                   : err_set(-ENOTCONN, "global name '%s': this process has no "
                                             "way to the node's convention", name);
}
