/* SPDX-License-Identifier: MIT */
/*
 * base_simple.c — the simple base: no threads; one shard whose actors run on
 * the caller's thread inside ts_ask, ts_listen and ts_run, one message at a
 * time from one FIFO, so a program delivers in the same order on every run.
 *
 * Timers fire only when the run queue is empty, one at a time in (deadline,
 * arming order), each followed by everything it causes: their interleaving
 * with messages is part of that deterministic order. When nothing is queued
 * and no timer is pending, nothing can ever arrive, and a wait returns
 * -ETIMEDOUT at once instead of sleeping out its timeout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "shard_internal.h"
#include "system.h"

struct simple {
    struct shard shard;
    struct inbox inbox;
    ts_addr client; /* the one external caller's mailbox */
};

static struct simple *simple_of(struct ts_system *sys)
{
    return sys->base;
}

static int simple_open(struct ts_system *sys)
{
    struct simple *s = calloc(1, sizeof(*s));
    if (!s || !(sys->shards = calloc(1, sizeof(*sys->shards)))) {
        free(s);
        return err_set(-ENOMEM, "out of memory");
    }
    sys->base = s;
    sys->nshards = 1;
    sys->shards[0] = &s->shard;
    s->client = ts_addr_make(sys->cfg.node_id, SHARD_CLIENT, 0, 1);
    return shard_init(&s->shard, sys, sys->cfg.node_id, 0, 1);
}

static void simple_close(struct ts_system *sys)
{
    struct simple *s = simple_of(sys);
    if (s) {
        shard_fini(&s->shard);
        inbox_fini(&s->inbox);
    }
    free(s);
    free(sys->shards);
}

typedef bool (*stop_fn)(struct ts_system *sys);

static int simple_loop(struct ts_system *sys, uint64_t deadline, stop_fn stop)
{
    struct shard *sh = &simple_of(sys)->shard;
    system_running = sys;
    int rc = -ETIMEDOUT;
    for (unsigned n = 1;; n++) {
        if (stop(sys)) {
            rc = 0;
            break;
        }
        shard_caps_poll(sh);
        shard_conv_poll(sh);
        ts_msg *m = mailq_peek(&sh->runq);
        if (m) {
            shard_dispatch(sh, m);
            mailq_pop(&sh->runq);
            /* A system that never idles still honours the caller's timeout. */
            if (n % 1024 == 0 && deadline != UINT64_MAX && clock_now_ns() >= deadline)
                break;
            continue;
        }
        struct th_node *t = th_peek(&sh->timers);
        if (!t || t->deadline == UINT64_MAX)
            break;
        if (t->deadline > deadline) {
            clock_sleep_until(deadline);
            break;
        }
        clock_sleep_until(t->deadline);
        shard_fire_timer(sh, t->deadline);
    }
    system_running = NULL;
    return rc;
}

static bool inbox_ready(struct ts_system *sys)
{
    return simple_of(sys)->inbox.n > 0;
}

static bool idle(struct ts_system *sys)
{
    struct shard *sh = &simple_of(sys)->shard;
    return sh->runq.count == 0 && sh->timers.n == 0;
}

static int simple_wait(struct ts_system *sys, uint64_t deadline, ts_msg **out)
{
    int rc = simple_loop(sys, deadline, inbox_ready);
    if (rc == 0)
        *out = inbox_pop(&simple_of(sys)->inbox);
    return rc;
}

static int simple_run(struct ts_system *sys, uint64_t deadline)
{
    return simple_loop(sys, deadline, idle);
}

static int simple_shutdown(struct ts_system *sys)
{
    struct simple *s = simple_of(sys);
    /* Queued behind every Start already sent, so no new actor is missed. */
    shard_enqueue(&s->shard, control_addr(sys->cfg.node_id, 0), s->client, CTL_EXIT_ALL, NULL, 0, 0);
    simple_run(sys, UINT64_MAX);
    return 0;
}

static int simple_client(struct ts_system *sys, ts_addr *out)
{
    *out = simple_of(sys)->client;
    return 0;
}

static int simple_tell(struct ts_system *sys, ts_addr dst, uint64_t type, const void *p,
                       size_t len)
{
    struct simple *s = simple_of(sys);
    return shard_enqueue(&s->shard, dst, s->client, type, p, len, 0) < 0
               ? err_set(-ENOMEM, "out of memory queueing a message")
               : 0;
}

static int simple_create(struct ts_system *sys, const char *type_name, const ts_create_opts *opts,
                         ts_addr *out)
{
    struct simple *s = simple_of(sys);
    return shard_create(&s->shard, type_name, opts, TS_ADDR_NONE, s->client, out);
}

/* The only remote destination on one shard: the caller's inbox. */
static ts_msg *simple_reserve_remote(struct shard *sh, ts_addr dst, size_t len)
{
    struct simple *s = simple_of(sh->sys);
    if (dst != s->client) /* a stale or made-up caller: a dead letter at dispatch */
        return mailq_push(&sh->runq, len);
    ts_msg *m = calloc(1, sizeof(*m) + len);
    if (!m || inbox_push(&s->inbox, m) < 0) {
        free(m);
        return NULL;
    }
    m->len = (uint32_t)len;
    return m;
}

const struct base_ops base_simple_ops = {
    .name = "simple",
    .open = simple_open,
    .shutdown = simple_shutdown,
    .close = simple_close,
    .client = simple_client,
    .tell = simple_tell,
    .create = simple_create,
    .wait = simple_wait,
    .run = simple_run,
    .reserve_remote = simple_reserve_remote,
};
