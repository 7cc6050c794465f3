/* SPDX-License-Identifier: MIT */
/*
 * base_simple.c — the simple base: no threads; actors run on the caller's
 * thread inside ts_ask, ts_listen and ts_run, one message at a time from one
 * FIFO, so a program delivers in the same order on every run.
 *
 * Timers fire only when the run queue is empty, one at a time in (deadline,
 * arming order), each followed by everything it causes: their interleaving
 * with messages is part of that deterministic order. When nothing is queued
 * and no timer is pending, nothing can ever arrive, and a wait returns
 * -ETIMEDOUT at once instead of sleeping out its timeout.
 */
#include <errno.h>

#include "clock.h"
#include "system.h"

typedef bool (*stop_fn)(const struct ts_system *sys);

static int simple_loop(struct ts_system *sys, uint64_t deadline, stop_fn stop)
{
    struct shard *sh = &sys->shard;
    for (unsigned n = 1;; n++) {
        if (stop(sys))
            return 0;
        ts_msg *m = mailq_peek(&sh->runq);
        if (m) {
            shard_dispatch(sh, m);
            mailq_pop(&sh->runq);
            /* A system that never idles still honours the caller's timeout. */
            if (n % 1024 == 0 && deadline != UINT64_MAX && clock_now_ns() >= deadline)
                return -ETIMEDOUT;
            continue;
        }
        struct th_node *t = th_peek(&sh->timers);
        if (!t || t->deadline == UINT64_MAX)
            return -ETIMEDOUT;
        if (t->deadline > deadline) {
            clock_sleep_until(deadline);
            return -ETIMEDOUT;
        }
        clock_sleep_until(t->deadline);
        shard_fire_timer(sh, t->deadline);
    }
}

static bool inbox_ready(const struct ts_system *sys)
{
    return sys->inbox.n > 0;
}

static bool idle(const struct ts_system *sys)
{
    return sys->shard.runq.count == 0 && sys->shard.timers.n == 0;
}

static int simple_wait(struct ts_system *sys, uint64_t deadline, ts_msg **out)
{
    int rc = simple_loop(sys, deadline, inbox_ready);
    if (rc < 0)
        return rc;
    struct inbox *in = &sys->inbox;
    *out = in->v[in->head];
    in->head = (in->head + 1) % in->cap;
    in->n--;
    return 0;
}

static int simple_run(struct ts_system *sys, uint64_t deadline)
{
    return simple_loop(sys, deadline, idle);
}

const struct base_ops base_simple_ops = {
    .name = "simple",
    .wait = simple_wait,
    .run = simple_run,
};
