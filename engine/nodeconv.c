/* SPDX-License-Identifier: MIT */
/* nodeconv.c — a node's place in its convention: the convention's thread
 * started as ts_config says, its reports written into the member table. */
#include "nodeconv.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../placement/convention.h"
#include "clock.h"
#include "err.h"
#include "system.h"

#define HEARD_NS (20u * 1000000u)

struct node_conv {
    struct ts_system *sys;
    struct node_members *m;
    struct log_queue *logq; /* the convention thread's log ring, or NULL */
    /* Set once conv_start returned; the callbacks that come before (the
     * leader's own JOINED) wait for it. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct conv *c;
    bool started;   /* conv_start returned (c may be NULL: it failed) */
    unsigned users;  /* calls of node_conv_name under way (under lock) */
    bool closing;    /* node_conv_stop began: no more of them */
    unsigned claim_ms; /* how long a claim waits for the leader */
    pthread_mutex_t sync_lock; /* node_conv_sync's: callers on several threads */
    uint64_t caps_gen; /* of the capabilities the convention was last told */
    uint64_t heard_at; /* when the members' last-heard times were last copied */
};

bool node_conv_wanted(const struct ts_system *sys)
{
    return sys->cfg.convention != NULL;
}

static struct conv *conv_of(struct node_conv *l)
{
    pthread_mutex_lock(&l->lock);
    while (!l->started)
        pthread_cond_wait(&l->cond, &l->lock);
    struct conv *c = l->c;
    pthread_mutex_unlock(&l->lock);
    return c;
}

/* The shards compare the table's generation once a loop turn; a sleeping
 * one is woken to do it (as for a change of the node's capabilities). */
static void wake_shards(struct ts_system *sys)
{
    if (sys->ops->caps_changed)
        sys->ops->caps_changed(sys);
}

/* The convention's thread logs through its own ring, where there is one:
 * bound on its first callback (the binding is the thread's). */
static void bind_log(struct node_conv *l)
{
    if (l->logq)
        logger_bind(&l->sys->log, l->logq);
}

static void on_member(void *arg, enum conv_event ev, const struct conv_node *n)
{
    struct node_conv *l = arg;
    bind_log(l);
    struct conv *c = conv_of(l);
    struct member_rec r = {.node = n->node, .instance = n->instance,
                           .self = n->node == l->sys->cfg.node_id};
    snprintf(r.name, sizeof(r.name), "%.*s", (int)sizeof(r.name) - 1, n->name);
    snprintf(r.caps, sizeof(r.caps), "%.*s", (int)sizeof(r.caps) - 1, n->caps);
    snprintf(r.endpoints, sizeof(r.endpoints), "%.*s", (int)sizeof(r.endpoints) - 1,
             n->endpoints);
    struct conv_member *all = malloc(CONV_MEMBERS_MAX * sizeof(*all)); /* 120 KiB */
    unsigned k = c && all ? conv_members(c, all, CONV_MEMBERS_MAX) : 0;
    for (unsigned i = 0; i < k && i < CONV_MEMBERS_MAX; i++) {
        if (all[i].node.node == n->node) {
            r.leader = all[i].leader;
            r.self = all[i].self;
            r.heard_ns = all[i].heard_ns;
        }
    }
    free(all);
    members_apply(l->m, ev == CONV_EV_JOINED ? TS_CONV_JOINED
                        : ev == CONV_EV_LEFT ? TS_CONV_LEFT
                                             : TS_CONV_CAPS,
                  &r);
    wake_shards(l->sys);
}

static void on_state(void *arg, int state, const char *why)
{
    struct node_conv *l = arg;
    bind_log(l);
    enum members_state st = state == CONV_ST_JOINED    ? MEMBERS_JOINED
                            : state == CONV_ST_REFUSED ? MEMBERS_REFUSED
                            : state == CONV_ST_LOST    ? MEMBERS_LOST
                                                       : MEMBERS_JOINING;
    members_set_state(l->m, st, why);
}

/* A log record keeps its id as a pointer, read when the record is written
 * out, later and maybe on another thread: a member's id forwarded to the
 * leader lives in a frame, so it is kept here, once per distinct id, for
 * the life of the process. */
static const char *forwarded_id(const char *id)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char *ids[256];
    static unsigned n;
    const char *kept = "TS-CONV-FORWARDED";
    if (!id)
        return NULL;
    pthread_mutex_lock(&lock);
    for (unsigned i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0) {
            kept = ids[i];
            goto out;
        }
    if (n < sizeof(ids) / sizeof(ids[0]) && (ids[n] = strdup(id)))
        kept = ids[n++];
out:
    pthread_mutex_unlock(&lock);
    return kept;
}

static void on_log(void *arg, uint16_t from, int level, const char *id, const char *text)
{
    struct node_conv *l = arg;
    bind_log(l);
    ts_log_level lv = level < TS_LOG_DEBUG ? TS_LOG_DEBUG : level > TS_LOG_ERROR ? TS_LOG_ERROR
                                                                                : (ts_log_level)level;
    if (from == l->sys->cfg.node_id)
        system_log(l->sys, lv, id, TS_ADDR_NONE, "", "%s", text);
    else /* a member's, forwarded to the leader */
        system_log(l->sys, lv, forwarded_id(id), TS_ADDR_NONE, "", "node %u: %s", from, text);
}

/* A name this node held went to another while it was away from the
 * leader (the convention logged TS-CONV-NAME-LOST): the node's own table
 * lets go of it, so that it answers what the convention does. The actor
 * lives on without its name. */
static void on_name_lost(void *arg, const char *name, uint64_t addr, uint64_t holder)
{
    struct node_conv *l = arg;
    (void)holder;
    bind_log(l);
    system_name_drop(l->sys, name, addr);
}

/* Names are kept for the node an address is on. */
static uint16_t addr_node(uint64_t addr)
{
    return ts_addr_node(addr);
}

/* The logger's tap on a member: its warnings and errors go to the leader
 * too (the convention queues them while the leader is away). Called with
 * the logger's lock held; conv_forward_log takes only its own. */
static void forward(void *arg, const ts_log_record *r)
{
    struct node_conv *l = arg;
    if (l->c && r->level >= TS_LOG_WARNING)
        conv_forward_log(l->c, (int)r->level, r->id && strlen(r->id) < CONV_LOG_ID_MAX ? r->id : "",
                         r->text);
}

int node_conv_start(struct ts_system *sys, struct node_members *m, struct log_queue *logq,
                    struct node_conv **out)
{
    *out = NULL;
    const ts_config *cfg = &sys->cfg;
    struct conv_config cc = {.leader = cfg->convention_leader, .addr = cfg->convention,
                             .node = cfg->node_id, .lost_ms = cfg->convention_lost_ms,
                             .on_member = on_member, .on_log = on_log, .on_state = on_state,
                             .on_name_lost = on_name_lost, .addr_node = addr_node};
    if (cc.lost_ms)
        cc.heartbeat_ms = cc.lost_ms / 5 ? cc.lost_ms / 5 : 1;
    int rc = conv_key_load(cfg->key_file, cc.key);
    if (rc < 0) {
        char why[200];
        snprintf(why, sizeof(why), "%s", ts_last_error());
        return err_set(rc, "the convention's key file %s: %s", cfg->key_file, why);
    }
    char name[CONV_NAME_MAX], caps[NODE_CAPS_TEXT];
    if (cfg->node_name)
        snprintf(name, sizeof(name), "%s", cfg->node_name);
    else
        snprintf(name, sizeof(name), "node%u", cfg->node_id);
    cc.name = name;
    struct node_conv *l = calloc(1, sizeof(*l));
    if (!l) {
        sodium_memzero(cc.key, sizeof(cc.key));
        return err_set(-ENOMEM, "out of memory");
    }
    l->sys = sys;
    l->m = m;
    l->logq = logq;
    l->claim_ms = node_conv_claim_ms(cfg);
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    pthread_mutex_init(&l->sync_lock, NULL);
    l->caps_gen = node_caps_read(sys->caps, NULL, caps, sizeof(caps));
    cc.caps = caps;
    cc.endpoints = cfg->listen;
    cc.arg = l;
    members_begin(m, cfg->convention, cfg->convention_leader);
    struct conv *c = NULL;
    rc = conv_start(&cc, &c);
    sodium_memzero(cc.key, sizeof(cc.key));
    pthread_mutex_lock(&l->lock);
    l->c = c;
    l->started = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
    if (rc < 0) {
        char why[200];
        snprintf(why, sizeof(why), "%s", ts_last_error());
        node_conv_free(l);
        return err_set(rc, "the convention at %s: %s", cfg->convention, why);
    }
    if (!cfg->convention_leader) {
        pthread_mutex_lock(&sys->log.lock);
        sys->log.tap = forward;
        sys->log.tap_arg = l;
        pthread_mutex_unlock(&sys->log.lock);
    }
    *out = l;
    return 0;
}

void node_conv_stop(struct node_conv *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->sys->log.lock);
    if (l->sys->log.tap_arg == l) {
        l->sys->log.tap = NULL;
        l->sys->log.tap_arg = NULL;
    }
    pthread_mutex_unlock(&l->sys->log.lock);
    pthread_mutex_lock(&l->lock);
    l->closing = true;
    while (l->users) /* a claim waits claim_ms at most */
        pthread_cond_wait(&l->cond, &l->lock);
    struct conv *c = l->c;
    l->c = NULL;
    pthread_mutex_unlock(&l->lock);
    conv_stop(c);
}

void node_conv_free(struct node_conv *l)
{
    if (!l)
        return;
    node_conv_stop(l);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->sync_lock);
    free(l);
}

static struct conv *conv_use(struct node_conv *l);
static void conv_unuse(struct node_conv *l);

void node_conv_sync(struct node_conv *l)
{
    struct conv *c = l ? conv_use(l) : NULL; /* any thread: l may be stopping */
    if (!c)
        return;
    struct ts_system *sys = l->sys;
    pthread_mutex_lock(&l->sync_lock);
    if (node_caps_gen(sys->caps) != l->caps_gen) {
        char caps[NODE_CAPS_TEXT];
        l->caps_gen = node_caps_read(sys->caps, NULL, caps, sizeof(caps));
        conv_set_caps(c, caps);
    }
    /* When each was last heard from, for status: a copy of the table, so
     * at most every HEARD_NS (the admin calls this every loop turn). */
    uint64_t now = clock_now_ns();
    bool refresh = now - l->heard_at >= HEARD_NS;
    if (refresh)
        l->heard_at = now;
    pthread_mutex_unlock(&l->sync_lock);
    struct conv_member *all = refresh ? malloc(CONV_MEMBERS_MAX * sizeof(*all)) : NULL;
    unsigned k = all ? conv_members(c, all, CONV_MEMBERS_MAX) : 0;
    for (unsigned i = 0; i < k && i < CONV_MEMBERS_MAX; i++)
        if (all[i].heard_ns)
            members_heard(l->m, all[i].node.node, all[i].heard_ns);
    free(all);
    conv_unuse(l);
}

uint16_t node_conv_port(struct node_conv *l)
{
    struct conv *c = l ? conv_use(l) : NULL;
    uint16_t port = c ? conv_port(c) : 0;
    if (c)
        conv_unuse(l);
    return port;
}

/* The convention for one call, or NULL once stopping (under way: counted). */
static struct conv *conv_use(struct node_conv *l)
{
    struct conv *c = conv_of(l);
    pthread_mutex_lock(&l->lock);
    if (l->closing)
        c = NULL;
    if (c)
        l->users++;
    pthread_mutex_unlock(&l->lock);
    return c;
}

static void conv_unuse(struct node_conv *l)
{
    pthread_mutex_lock(&l->lock);
    if (--l->users == 0)
        pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

int node_conv_name(struct node_conv *l, enum node_name_op op, const char *name, uint64_t addr,
                   uint64_t *holder)
{
    struct conv *c = l ? conv_use(l) : NULL;
    if (!c)
        return op == NODE_NAME_RELEASE ? 0 : err_set(-ENOTCONN, "global name '%s': this node is "
                                                     "leaving its convention", name);
    int rc;
    switch (op) {
    case NODE_NAME_CLAIM: rc = conv_name_claim(c, name, addr, l->claim_ms, holder); break;
    case NODE_NAME_ADOPT: rc = conv_name_adopt(c, name, addr); break;
    case NODE_NAME_RELEASE:
        rc = conv_name_release(c, name, addr);
        if (rc == -ENOENT) /* lost, or never taken up: nothing to give back */
            rc = 0;
        break;
    default: rc = err_set(-EINVAL, "node_conv_name: unknown op %d", (int)op); break;
    }
    conv_unuse(l);
    return rc;
}


unsigned node_conv_claim_ms(const struct ts_config *cfg)
{
    unsigned lost = cfg->convention_lost_ms ? cfg->convention_lost_ms : CONV_LOST_MS;
    return lost > UINT_MAX / 4 ? UINT_MAX : 4 * lost;
}
