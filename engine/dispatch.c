/* SPDX-License-Identifier: MIT */
/* dispatch.c — handing a message to its actor: handler lookup, supervision
 * (restart, redeliver once, Poison on the second failure), exits, dead
 * letters and timers (design §4, §5). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/sysmsg.h>

#include "err.h"
#include "net.h"
#include "shard_internal.h"
#include "status.h"
#include "images.h"
#include "sysmsg_wire.h"
#include "system.h"

static const char *type_name_of(const struct actor *a)
{
    return a->type->type->name;
}

/* Runs one handler call with a fresh context. */
static int call_handler(struct shard *sh, struct actor *a, ts_handler fn, const ts_msg *m,
                        bool *exit_self)
{
    struct ts_ctx ctx = {.sys = sh->sys, .sh = sh, .a = a, .self = m->dst, .sender = m->src};
    int rc = fn(&ctx, a->state_mem, m);
    STAT_INC(sh, delivered);
    *exit_self |= ctx.exit_self;
    return rc;
}

/* Messages about failures are never answered with more of them. */
static bool is_failure_report(uint64_t type)
{
    return type == TS_MSG_POISON || type == TS_MSG_DEAD_LETTER;
}

static void dead_letter(struct shard *sh, const ts_msg *m)
{
    struct ts_system *sys = sh->sys;
    ts_addr handler = atomic_load_explicit(sys->dead_letter_handler, memory_order_relaxed);
    STAT_INC(sh, dead_letters);
    if (!handler || m->type == TS_MSG_DEAD_LETTER || handler == m->dst) {
        STAT_INC(sh, dead_dropped);
        char label[20];
        system_log(sys, TS_LOG_DEBUG, "TS-DEADLETTER-DROP", m->dst, "",
                   "dead letter %s from %016llx dropped: no dead-letter handler",
                   msgtype_label(m->type, label), (unsigned long long)m->src);
        return;
    }
    ts_msg *d = shard_reserve(sh, handler, DEAD_LETTER_HDR + m->len);
    if (!d) {
        STAT_INC(sh, dead_dropped);
        return;
    }
    d->src = m->src;
    d->type = TS_MSG_DEAD_LETTER;
    dead_letter_write(d + 1, m);
}

void shard_poison_back(struct shard *sh, const ts_msg *m, int reason, const char *why)
{
    if (!m->src || is_failure_report(m->type))
        return;
    ts_msg *p = shard_reserve(sh, m->src, poison_size(m->len, strlen(why)));
    if (!p)
        return;
    p->src = m->dst;
    p->type = TS_MSG_POISON;
    poison_write(p + 1, m, reason, why);
    STAT_INC(sh, poisoned);
}

/* fini + init with the original argument, on zeroed state. */
static int restart(struct shard *sh, struct actor *a, ts_addr self)
{
    const ts_actor_type *t = a->type->type;
    struct ts_ctx ctx = {.sys = sh->sys, .sh = sh, .a = a, .self = self};
    STAT_INC(sh, restarts);
    if (a->restarts < UINT16_MAX)
        a->restarts++;
    if (t->fini)
        t->fini(&ctx, a->state_mem);
    memset(a->state_mem, 0, t->state_size);
    return t->init ? t->init(&ctx, a->state_mem, a->arg, a->arg_len) : 0;
}

/* A restart whose init fails ends the actor: it cannot run. */
static bool restart_or_die(struct shard *sh, struct actor *a, const ts_msg *m, int why)
{
    char label[20];
    system_log(sh->sys, TS_LOG_WARNING, "TS-RESTART", m->dst, type_name_of(a),
               "handler for %s failed (%s); restarting the actor",
               msgtype_label(m->type, label), strerror(-why));
    int rc = restart(sh, a, m->dst);
    if (rc == 0)
        return true;
    system_log(sh->sys, TS_LOG_ERROR, "TS-INIT-FAIL", m->dst, type_name_of(a),
               "init failed on restart (%s); the actor exits", strerror(rc < 0 ? -rc : EINVAL));
    shard_poison_back(sh, m, why, "the actor failed and could not be restarted");
    actor_begin_exit(sh, a, m->dst);
    return false;
}

/* Supervision (design §5): on failure restart and redeliver once; a second
 * failure poisons the message back to its sender and the actor goes on. */
static void deliver(struct shard *sh, struct actor *a, const ts_msg *m)
{
    ts_handler fn = type_rec_handler(a->type, m->type);
    if (!fn)
        return;
    bool exit_self = false;
    int rc = call_handler(sh, a, fn, m, &exit_self);
    if (rc < 0 && restart_or_die(sh, a, m, rc)) {
        rc = call_handler(sh, a, fn, m, &exit_self);
        if (rc < 0) {
            char label[20];
            system_log(sh->sys, TS_LOG_WARNING, "TS-POISON", m->dst, type_name_of(a),
                       "handler for %s failed twice (%s); Poison sent to the sender",
                       msgtype_label(m->type, label), strerror(-rc));
            shard_poison_back(sh, m, rc, "the handler failed twice");
            if (!restart_or_die(sh, a, m, rc))
                return;
        }
    }
    if (exit_self && a->state == ACTOR_LIVE)
        actor_begin_exit(sh, a, m->dst);
}

/* ExitRequest: the handler runs once (a failure does not stop the exit),
 * then the children are asked to exit first. */
static void handle_exit_request(struct shard *sh, struct actor *a, const ts_msg *m)
{
    a->state = ACTOR_EXITING; /* creations from the handler are refused */
    ts_handler fn = type_rec_handler(a->type, m->type);
    bool ignored = false;
    if (fn) {
        int rc = call_handler(sh, a, fn, m, &ignored);
        if (rc < 0)
            system_log(sh->sys, TS_LOG_WARNING, "TS-EXIT-FAIL", m->dst, type_name_of(a),
                       "ExitRequest handler failed (%s); exiting anyway", strerror(-rc));
    }
    actor_begin_exit(sh, a, m->dst);
}

static void handle_child_exited(struct shard *sh, struct actor *a, const ts_msg *m)
{
    ts_child_exited ce;
    bool mine = ts_child_exited_decode(m, &ce) == 0 && addrset_remove(&a->children, ce.child);
    if (a->state == ACTOR_LIVE) {
        deliver(sh, a, m);
        return;
    }
    /* EXITING: the handler still sees its children go, then the actor ends. */
    ts_handler fn = type_rec_handler(a->type, m->type);
    bool ignored = false;
    if (fn && mine)
        call_handler(sh, a, fn, m, &ignored);
    if (a->children.n == 0 && a->state == ACTOR_EXITING)
        actor_finish(sh, a, 0);
}

static void handle_control(struct shard *sh, const ts_msg *m)
{
    if (m->type == TS_MSG_STATUS_REQUEST) { /* to the node's address (ts_node_addr) */
        status_node_reply(sh, m);
    } else if (m->type == CTL_SLOT_FREED && m->len == sizeof(struct slot_freed)) {
        struct slot_freed f;
        memcpy(&f, ts_msg_data(m), sizeof(f));
        shard_slot_freed(sh, f.target, f.slot, f.gen);
    } else if (m->type == CTL_EXIT_ALL) {
        shard_exit_all(sh, m->src);
    } else if (sh->net && net_control(sh->net, m) == 0) {
        /* a lease another shard took in for this one */
    } else if (image_fetch_control(sh, m) == 0) {
        /* an image from the leader, or the authority's word on it */
    } else if (!sh->sys->ops->control || sh->sys->ops->control(sh, m) < 0) {
        system_log(sh->sys, TS_LOG_ERROR, "TS-INTERNAL", TS_ADDR_NONE, "",
                   "unknown control message %016llx dropped", (unsigned long long)m->type);
    }
}

/* A message whose actor is not (or no longer) here. */
static void undeliverable(struct shard *sh, const ts_msg *m)
{
    const struct base_ops *ops = sh->sys->ops;
    const struct actor *tomb = shard_tombstone(sh, m->dst);
    if (tomb) {
        shard_poison_back(sh, m, -(int)tomb->init_err, tomb->why ? tomb->why : "the actor's init failed");
    } else if (ts_addr_node(m->dst) != sh->node) {
        if (ops->node_known && ops->node_known(sh, ts_addr_node(m->dst))) {
            /* A caller's message to another node: on over this shard's link. */
            shard_enqueue(sh, m->dst, m->src, m->type, ts_msg_data(m), m->len, 0);
        } else {
            if (sh->other_nodes)
                system_log(sh->sys, TS_LOG_WARNING, "TS-NET-UNKNOWN", m->dst, "",
                           "no link to node %u: it is not in this node's peer table; a dead "
                           "letter", ts_addr_node(m->dst));
            dead_letter(sh, m);
        }
    } else if (ts_addr_shard(m->dst) == SHARD_CLIENT && ops->client_known &&
               ops->client_known(sh, m->dst)) {
        shard_enqueue(sh, m->dst, m->src, m->type, ts_msg_data(m), m->len, 0);
    } else if (ts_addr_node(m->dst) == sh->node && shard_is_future(sh, m->dst)) {
        if (shard_park(sh, m) < 0)
            dead_letter(sh, m);
    } else {
        dead_letter(sh, m);
    }
}

void shard_dispatch(struct shard *sh, ts_msg *m)
{
    if (ts_addr_gen(m->dst) == 0) {
        if (ts_addr_node(m->dst) != sh->node)
            undeliverable(sh, m); /* a caller's StatusRequest to another node: on over its link */
        else
            handle_control(sh, m);
        return;
    }
    if (m->flags & MSGF_START) {
        actor_start(sh, m);
        return;
    }
    struct actor *a = ts_addr_node(m->dst) == sh->node ? shard_lookup(sh, m->dst) : NULL;
    if (!a) {
        undeliverable(sh, m);
        return;
    }
    /* Answered by the engine, live or exiting: the handlers never see it. */
    if (m->type == TS_MSG_STATUS_REQUEST &&
        (a->state == ACTOR_LIVE || a->state == ACTOR_EXITING)) {
        status_actor_reply(sh, a, m);
        return;
    }
    switch ((enum actor_state)a->state) {
    case ACTOR_EXITING:
        if (m->type == TS_MSG_CHILD_EXITED) {
            a->handled++;
            handle_child_exited(sh, a, m);
        } else if (m->type != TS_MSG_EXIT_REQUEST) {
            dead_letter(sh, m);
        }
        return;
    case ACTOR_LIVE:
        a->handled++; /* before: an exit may free the slot */
        if (m->type == TS_MSG_EXIT_REQUEST)
            handle_exit_request(sh, a, m);
        else if (m->type == TS_MSG_CHILD_EXITED)
            handle_child_exited(sh, a, m);
        else
            deliver(sh, a, m);
        return;
    case ACTOR_PENDING: /* only while its own init runs: not reachable from a queue */
    case ACTOR_FREE:
        break;
    }
}

void send_slot_freed(struct shard *sh, uint8_t owner, uint32_t slot, uint16_t gen)
{
    struct slot_freed f = {.slot = slot, .gen = gen, .target = sh->id};
    shard_enqueue(sh, control_addr(sh->node, owner), TS_ADDR_NONE, CTL_SLOT_FREED, &f, sizeof(f), 0);
}

int shard_add_timer(struct shard *sh, struct actor *a, ts_addr self, uint64_t deadline,
                    const void *payload, size_t len)
{
    struct timer *t = malloc(sizeof(*t) + len);
    if (!t)
        return err_set(-ENOMEM, "out of memory arming a timer");
    t->node.deadline = deadline;
    t->owner = self;
    t->len = (uint32_t)len;
    if (len)
        memcpy(t->payload, payload, len);
    if (th_push(&sh->timers, &t->node) < 0) {
        free(t);
        return err_set(-ENOMEM, "out of memory arming a timer");
    }
    STAT_INC(sh, timers);
    t->prev = NULL;
    t->next = a->timers;
    if (a->timers)
        a->timers->prev = t;
    a->timers = t;
    return 0;
}

bool shard_fire_timer(struct shard *sh, uint64_t now)
{
    struct th_node *n = th_peek(&sh->timers);
    if (!n || n->deadline > now)
        return false;
    th_pop(&sh->timers);
    STAT_DEC(sh, timers);
    struct timer *t = (struct timer *)(void *)n;
    struct actor *a = shard_lookup(sh, t->owner);
    if (a) { /* always true: timers are removed when their actor exits */
        if (t->prev)
            t->prev->next = t->next;
        else
            a->timers = t->next;
        if (t->next)
            t->next->prev = t->prev;
    }
    shard_enqueue(sh, t->owner, t->owner, TS_MSG_WAKEUP, t->payload, t->len, 0);
    free(t);
    return true;
}
