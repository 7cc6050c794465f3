/* SPDX-License-Identifier: MIT */
/* system.c — opening, shutting down and closing a system; configuration,
 * counters and the external caller's inbox. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "system.h"

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
    if (cfg->base != TS_BASE_SIMPLE)
        return err_set(-EOPNOTSUPP, "the %s base is not available in this build (only simple is)",
                       ts_base_name(cfg->base));
    if (cfg->max_msg_size > UINT32_MAX - 4096)
        return err_set(-EINVAL, "max_msg_size %zu is above the limit of %u bytes",
                       cfg->max_msg_size, UINT32_MAX - 4096);
    return 0;
}

int ts_system_open(const ts_config *cfg_in, ts_system **out)
{
    if (!out)
        return err_set(-EINVAL, "ts_system_open: NULL out");
    *out = NULL;
    ts_config cfg;
    ts_config_init(&cfg);
    if (cfg_in)
        cfg = *cfg_in;
    if (!cfg.max_msg_size)
        cfg.max_msg_size = TS_DEFAULT_MAX_MSG_SIZE;
    int rc = check_config(&cfg);
    if (rc < 0)
        return rc;
    struct ts_system *sys = calloc(1, sizeof(*sys));
    if (!sys)
        return err_set(-ENOMEM, "out of memory");
    sys->cfg = cfg;
    sys->ops = &base_simple_ops;
    rc = logger_open(&sys->log, &cfg.log);
    if (rc == 0)
        rc = shard_init(&sys->shard, sys, cfg.node_id, 0);
    if (rc == 0)
        rc = shard_add_client(&sys->shard, &sys->client);
    if (rc < 0) {
        ts_system_close(sys);
        return rc;
    }
    sys->cfg.log = sys->log.cfg;
    *out = sys;
    return 0;
}

int ts_system_shutdown(ts_system *sys)
{
    if (!sys)
        return err_set(-EINVAL, "ts_system_shutdown: NULL system");
    if (sys->shut_down)
        return 0;
    if (sys->in_handler)
        return err_set(-EDEADLK, "ts_system_shutdown called from inside a handler");
    shard_exit_all(&sys->shard, sys->client);
    sys->ops->run(sys, UINT64_MAX);
    sys->shut_down = true;
    return 0;
}

void ts_system_close(ts_system *sys)
{
    if (!sys)
        return;
    if (!sys->in_handler)
        ts_system_shutdown(sys);
    shard_fini(&sys->shard);
    names_fini(&sys->names);
    for (size_t i = 0; i < sys->inbox.n; i++)
        free(sys->inbox.v[(sys->inbox.head + i) % sys->inbox.cap]);
    free(sys->inbox.v);
    logger_close(&sys->log);
    free(sys);
}

int ts_system_stats_get(ts_system *sys, ts_system_stats *out)
{
    if (!sys || !out)
        return err_set(-EINVAL, "ts_system_stats_get: NULL argument");
    const struct shard *sh = &sys->shard;
    *out = (ts_system_stats){
        .delivered = sh->stats.delivered,
        .actors_created = sh->stats.created,
        .actors_exited = sh->stats.exited,
        .actors_live = sh->live,
        .restarts = sh->stats.restarts,
        .poisoned = sh->stats.poisoned,
        .dead_letters = sh->stats.dead_letters,
        .dead_letters_dropped = sh->stats.dead_dropped,
        .timers_pending = sh->timers.n,
    };
    return 0;
}

void system_deliver_client(struct ts_system *sys, const ts_msg *m)
{
    struct inbox *in = &sys->inbox;
    if (in->n == in->cap) {
        size_t cap = in->cap ? 2 * in->cap : 16;
        ts_msg **v = malloc(cap * sizeof(*v));
        if (!v)
            goto drop;
        for (size_t i = 0; i < in->n; i++)
            v[i] = in->v[(in->head + i) % in->cap];
        free(in->v);
        in->v = v;
        in->cap = cap;
        in->head = 0;
    }
    ts_msg *copy = malloc(sizeof(*m) + m->len);
    if (!copy)
        goto drop;
    memcpy(copy, m, sizeof(*m) + m->len);
    copy->flags = 0;
    in->v[(in->head + in->n) % in->cap] = copy;
    in->n++;
    return;
drop:
    system_log(sys, TS_LOG_ERROR, "TS-NOMEM", m->dst, "",
               "out of memory: a message to the external caller was dropped");
}
