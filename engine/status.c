/* SPDX-License-Identifier: MIT */
/* status.c — StatusRequest, answered by the engine on the shard that takes
 * it (design §4; Thespian's Actor Status Requests): an actor's Status from
 * its slot and the shard's queues, a node's from every shard's counters
 * (single-writer atomics: read, never waited for) and what its base knows.
 * The payload is written by sysmsg_status.c (docs/protocol.md#status). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <thespis/sysmsg.h>

#include "net.h"
#include "shard_internal.h"
#include "status.h"
#include "sysmsg_wire.h"
#include "system.h"
#include "../placement/caps.h"

ts_addr ts_node_addr(uint16_t node)
{
    return control_addr(node, 0);
}

static size_t clip_text(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n < STATUS_TEXT_MAX ? n : STATUS_TEXT_MAX;
}

/* ---- an actor's ------------------------------------------------------- */

struct depth {
    ts_addr self;
    const ts_msg *skip;
    uint64_t n;
};

static void count_for(ts_msg *m, void *arg)
{
    struct depth *d = arg;
    if (m != d->skip && m->dst == d->self)
        d->n++;
}

/* Messages for self waiting on this shard: its run queue, what is held
 * for it until it starts, its inbound rings (the base's). */
static uint64_t mailbox_depth(struct shard *sh, ts_addr self, const ts_msg *skip)
{
    struct depth d = {.self = self, .skip = skip};
    mailq_foreach(&sh->runq, count_for, &d);
    for (struct parked *p = sh->parked; p; p = p->next)
        if (p->addr == self)
            mailq_foreach(&p->q, count_for, &d);
    if (sh->sys->ops->status_queued)
        d.n += sh->sys->ops->status_queued(sh, self, skip);
    return d.n;
}

struct child_put {
    unsigned char *p;
    uint32_t i, max;
};

static void put_child(ts_addr child, void *arg)
{
    struct child_put *c = arg;
    if (c->i < c->max)
        status_child_put(c->p, c->i++, child);
}

void status_actor_reply(struct shard *sh, const struct actor *a, const ts_msg *m)
{
    if (!m->src)
        return; /* nobody to answer */
    ts_actor_status s;
    memset(&s, 0, sizeof(s));
    s.addr = m->dst;
    s.parent = a->parent;
    s.state = a->state == ACTOR_LIVE ? TS_ACTOR_LIVE : TS_ACTOR_EXITING;
    s.image = a->type->image;
    s.type_name = a->type->type->name;
    s.type_name_len = clip_text(s.type_name);
    s.global_name = a->global_name ? a->global_name : "";
    s.global_name_len = clip_text(a->global_name);
    s.children_total = a->children.n < UINT32_MAX ? (uint32_t)a->children.n : UINT32_MAX;
    for (const struct timer *t = a->timers; t; t = t->next)
        s.timers++;
    s.mailbox = mailbox_depth(sh, m->dst, m);
    s.handled = a->handled;
    s.restarts = a->restarts;
    /* Every child that fits the node's largest message (nearly always all). */
    size_t fixed = status_actor_size(0, s.type_name_len, s.global_name_len);
    size_t room = sh->sys->cfg.max_msg_size > fixed ? (sh->sys->cfg.max_msg_size - fixed) / 8 : 0;
    s.nchildren = s.children_total < room ? s.children_total : (uint32_t)room;
    size_t len = status_actor_size(s.nchildren, s.type_name_len, s.global_name_len);
    ts_msg *r = shard_reserve(sh, m->src, len);
    if (!r) {
        system_log(sh->sys, TS_LOG_ERROR, "TS-NOMEM", m->dst, s.type_name,
                   "out of memory: a Status to %016llx is lost", (unsigned long long)m->src);
        return;
    }
    r->src = m->dst;
    r->type = TS_MSG_STATUS;
    r->flags = 0;
    status_actor_write(r + 1, &s);
    struct child_put c = {.p = (unsigned char *)(r + 1), .max = s.nchildren};
    addrset_foreach(&a->children, put_child, &c);
}

/* ---- a node's --------------------------------------------------------- */

#define LOAD(f) atomic_load_explicit(&st->f, memory_order_relaxed)

static void shard_figures(const struct ts_system *sys, unsigned i,
                          const struct status_shard_info *info, ts_status_shard *out)
{
    const struct shard_stats *st = sys->shards[i]->stats;
    memset(out, 0, sizeof(*out));
    out->id = i;
    out->core = sys->shard_cpu ? sys->shard_cpu[i] : -1;
    out->pid = info->pid;
    out->process_restarts = info->restarts;
    out->actors = info->actors;
    out->created = LOAD(created);
    out->exited = LOAD(exited);
    out->handled = LOAD(delivered);
    out->sent = LOAD(sent) + LOAD(client_sent);
    out->restarts = LOAD(restarts);
    out->poisoned = LOAD(poisoned);
    out->dead_letters = LOAD(dead_letters);
    out->timers = LOAD(timers);
    out->pending = LOAD(pending);
    out->overflow_hwm = LOAD(overflow_hwm);
}

static void link_figures(const struct net_pub_link *l, unsigned shard, ts_status_link *out)
{
    uint64_t nu = atomic_load_explicit(&l->node_up, memory_order_relaxed);
    *out = (ts_status_link){
        .shard = shard,
        .node = (uint16_t)nu,
        .up = (uint8_t)((nu >> 16) & 1),
        .frames_in = atomic_load_explicit(&l->frames_in, memory_order_relaxed),
        .frames_out = atomic_load_explicit(&l->frames_out, memory_order_relaxed),
        .bytes_in = atomic_load_explicit(&l->bytes_in, memory_order_relaxed),
        .bytes_out = atomic_load_explicit(&l->bytes_out, memory_order_relaxed),
        .retransmits = atomic_load_explicit(&l->retransmits, memory_order_relaxed),
        .reconnects = atomic_load_explicit(&l->reconnects, memory_order_relaxed),
        .malformed = atomic_load_explicit(&l->malformed, memory_order_relaxed),
        .queued_bytes = atomic_load_explicit(&l->queued_bytes, memory_order_relaxed)};
}

void status_node_reply(struct shard *sh, const ts_msg *m)
{
    if (!m->src)
        return;
    struct ts_system *sys = sh->sys;
    unsigned ns = sys->nshards;
    struct status_shard_info *si = calloc(ns, sizeof(*si));
    unsigned *nl = calloc(ns, sizeof(*nl));
    if (!si || !nl) {
        free(si);
        free(nl);
        system_log(sys, TS_LOG_ERROR, "TS-NOMEM", TS_ADDR_NONE, "",
                   "out of memory: the node's Status to %016llx is lost",
                   (unsigned long long)m->src);
        return;
    }
    struct status_info info = {.base = (int)sys->cfg.base, .pid = (int32_t)getpid(), .shards = si};
    for (unsigned i = 0; i < ns; i++) {
        si[i].pid = info.pid;
        si[i].actors = atomic_load_explicit(&sys->shards[i]->stats->resident, memory_order_relaxed);
    }
    if (sh->net && sh->net->pub)
        net_publish(sh->net); /* this shard's own links: as they are now */
    if (sys->ops->status_info)
        sys->ops->status_info(sh, &info);

    ts_status_node n;
    memset(&n, 0, sizeof(n));
    n.node_id = sh->node;
    n.base = (ts_base)info.base;
    n.shard = sh->id;
    n.pid = info.pid;
    n.nshards = ns;
    char caps[NODE_CAPS_TEXT];
    shard_caps_poll(sh); /* as every turn of the shard's loop does */
    caps_format(&sh->caps, caps, sizeof(caps)); /* the shard's copy */
    n.caps = caps;
    n.caps_len = clip_text(caps);
    n.name = info.name ? info.name : "";
    n.name_len = clip_text(info.name);
    size_t total_links = 0;
    for (unsigned i = 0; i < ns; i++) {
        const struct shard_stats *st = sys->shards[i]->stats;
        n.actors += si[i].actors;
        n.dead_letters += LOAD(dead_letters);
        if (si[i].links) {
            uint32_t k = atomic_load_explicit(&si[i].links->n, memory_order_acquire);
            nl[i] = k < NET_PUB_LINKS ? k : NET_PUB_LINKS;
            total_links += nl[i];
        }
    }
    /* Within the node's largest message (only a tiny maximum cuts links). */
    size_t max = sys->cfg.max_msg_size;
    size_t fixed = status_node_size(ns, 0, n.name_len, n.caps_len);
    size_t room = max > fixed ? (max - fixed) / STATUS_LINK_REC : 0;
    n.nlinks = (uint32_t)(total_links < room ? total_links : room);
    if (n.nlinks > UINT16_MAX)
        n.nlinks = UINT16_MAX;
    size_t len = status_node_size(ns, n.nlinks, n.name_len, n.caps_len);
    ts_msg *r = len <= max ? shard_reserve(sh, m->src, len) : NULL;
    if (!r) {
        system_log(sys, TS_LOG_ERROR, len <= max ? "TS-NOMEM" : "TS-MSGSIZE", TS_ADDR_NONE, "",
                   "the node's Status to %016llx is lost: %s", (unsigned long long)m->src,
                   len <= max ? "out of memory" : "it is larger than the maximum message size");
    } else {
        r->src = m->dst;
        r->type = TS_MSG_STATUS;
        r->flags = 0;
        unsigned char *p = (unsigned char *)(r + 1);
        status_node_write(p, &n);
        uint32_t k = 0;
        for (unsigned i = 0; i < ns; i++) {
            ts_status_shard s;
            shard_figures(sys, i, &si[i], &s);
            status_shard_put(p, i, &s);
            for (unsigned j = 0; j < nl[i] && k < n.nlinks; j++) {
                ts_status_link l;
                link_figures(&si[i].links->links[j], i, &l);
                status_link_put(p, ns, k++, &l);
            }
        }
    }
    free(si);
    free(nl);
}
