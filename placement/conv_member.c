/* SPDX-License-Identifier: MIT */
/*
 * conv_member.c — a member's side of the convention (convention.h): one
 * connection to the leader, made again with backoff whenever it is lost or
 * refused; the join handshake; the member table as the leader tells it,
 * reconciled after every welcome; heartbeats, caps changes and forwarded
 * log records to the leader; global names claimed and released for the
 * engine's threads, and the ones granted re-claimed after every welcome;
 * LEAVE at the end.
 */
#include "conv_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <thespis/log.h>
#include <thespis/thespis.h>

#include "../engine/clock.h"
#include "../engine/err.h"

#define LEAVE_WAIT_MAX_MS 1000u
#define ERRNO_MAX 4095 /* a NAME_REPLY's rc is 0 or -1 .. -ERRNO_MAX */

static void set_state(struct conv *c, int st, const char *why)
{
    if (c->m.state == st && strcmp(c->m.why, why) == 0)
        return;
    c->m.state = st;
    snprintf(c->m.why, sizeof(c->m.why), "%s", why);
    if (c->on_state)
        c->on_state(c->arg, st, c->m.why);
}

void conv_member_begin(struct conv *c, uint64_t now)
{
    c->m.backoff_ms = CONV_BACKOFF_MIN_MS;
    c->m.retry_ns = now;
    c->m.hb_ms = c->heartbeat_ms;
    set_state(c, CONV_ST_CONNECTING, "");
}

/* A new connection to the leader, or a dead link the sweep retries. */
static void dial(struct conv *c, uint64_t now)
{
    const struct sockaddr_storage *sa = &c->sa[c->m.at];
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct conv_link *l = fd >= 0 ? conv_link_new(c, fd, false, sa, now) : NULL;
    if (!l) {
        conv_note(c, now, "TS-CONV-LOST@socket", TS_LOG_WARNING, "TS-CONV-LOST",
                  "cannot open a connection to the leader at %s: %s", c->addr,
                  fd < 0 ? strerror(errno) : "out of memory");
        if (fd >= 0)
            close(fd);
        c->m.retry_ns = now + (uint64_t)c->m.backoff_ms * CONV_NS_PER_MS;
        return;
    }
    conv_sock_tune(fd);
    c->m.up = l;
    c->m.syncing = false;
    if (connect(fd, (const struct sockaddr *)sa, c->salen[c->m.at]) == 0)
        return; /* HELLO is next */
    if (errno == EINPROGRESS || errno == EINTR)
        l->connecting = true;
    else
        conv_link_kill(l, "connect: %s", strerror(errno));
}

void conv_member_connected(struct conv *c, uint64_t now)
{
    (void)now;
    struct conv_link *l = c->m.up;
    int err = 0;
    socklen_t len = sizeof(err);
    if (!l || !l->connecting)
        return;
    if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err)
        conv_link_kill(l, "connect: %s", strerror(err));
    else
        l->connecting = false;
}

/* Sends CAPS when this node's caps changed since the leader last had them. */
static void sync_caps(struct conv *c, struct conv_link *l, uint64_t now)
{
    struct conv_msg m = {.type = CONV_CAPS};
    pthread_mutex_lock(&c->lock);
    bool changed = strcmp(c->self.caps, c->m.sent_caps) != 0;
    if (changed)
        memcpy(m.u.caps.caps, c->self.caps, sizeof(m.u.caps.caps));
    pthread_mutex_unlock(&c->lock);
    if (changed && conv_link_send(c, l, &m, now) == 0)
        memcpy(c->m.sent_caps, m.u.caps.caps, sizeof(c->m.sent_caps));
}

void conv_member_tick(struct conv *c, uint64_t now)
{
    struct conv_link *l = c->m.up;
    if (!l) {
        if (now >= c->m.retry_ns)
            dial(c, now);
        return;
    }
    if (l->dead || l->closing)
        return;
    if (l->s.phase != CONV_SESSION) {
        if (now >= l->deadline_ns) {
            if (!l->connecting)
                conv_note(c, now, "TS-CONV-TIMEOUT@leader", TS_LOG_WARNING, "TS-CONV-TIMEOUT",
                          "the leader at %s did not finish the handshake in %u ms", c->addr,
                          4 * c->lost_ms);
            conv_link_kill(l, "no handshake in %u ms", 4 * c->lost_ms);
        }
        return;
    }
    if (now - l->heard_ns >= (uint64_t)c->lost_ms * CONV_NS_PER_MS) {
        conv_link_kill(l, "the leader was silent for %u ms", c->lost_ms);
        return;
    }
    if (now >= c->m.next_hb_ns) {
        struct conv_msg hb = {.type = CONV_HEARTBEAT};
        hb.u.heartbeat.sent_ns = now;
        conv_link_send(c, l, &hb, now);
        c->m.next_hb_ns = now + (uint64_t)c->m.hb_ms * CONV_NS_PER_MS;
    }
    sync_caps(c, l, now);
}

uint64_t conv_member_next(const struct conv *c)
{
    const struct conv_link *l = c->m.up;
    if (!l)
        return c->m.retry_ns;
    if (l->s.phase != CONV_SESSION || l->closing)
        return l->deadline_ns;
    uint64_t lost = clock_deadline(l->heard_ns, (uint64_t)c->lost_ms * CONV_NS_PER_MS);
    return c->m.next_hb_ns < lost ? c->m.next_hb_ns : lost;
}

void conv_member_send_logs(struct conv *c, uint64_t now)
{
    struct conv_link *l = c->m.up;
    struct conv_msg m;
    /* Half the output's bound at most: beyond, the records wait in the queue,
     * and past it they are dropped and counted, not the link. */
    while (l && l->joined && !l->dead && !l->closing &&
           l->out_len - l->out_off < CONV_OUT_MAX / 2 && conv_log_pop(c, &m))
        conv_link_send(c, l, &m, now);
}

/* The entry of the leader, or -1. */
static int leader_entry(const struct conv *c)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->table[i].leader)
            return (int)i;
    return -1;
}

/* ---- global names --------------------------------------------------------
 *
 * Callers' claims and releases are ops on one list, in the order they were
 * made; the thread sends them in that order once joined, after the
 * re-claims of the names this node holds (c->names) that every WELCOME
 * starts. A claim stays on the list until its reply; a release goes when
 * sent. The list and c->names are under the lock; which claim a reply
 * answers is its req: a re-claim's is reclaim_base + its slot (a block
 * taken at the WELCOME), a caller's the next after it. */

static void ops_append(struct conv *c, struct conv_nameop *op)
{
    op->next = NULL;
    op->prev = c->ops_tail;
    if (c->ops_tail)
        c->ops_tail->next = op;
    else
        c->ops_head = op;
    c->ops_tail = op;
    if (op->release)
        c->nreleases++;
}

static void ops_unlink(struct conv *c, struct conv_nameop *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        c->ops_head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        c->ops_tail = op->prev;
    op->prev = op->next = NULL;
    if (op->release)
        c->nreleases--;
}

/* A new op about name for addr (a claim unless the caller says), or NULL. */
static struct conv_nameop *op_new(const char *name, uint64_t addr)
{
    struct conv_nameop *op = calloc(1, sizeof(*op));
    if (op) {
        op->addr = addr;
        snprintf(op->name, sizeof(op->name), "%s", name);
    }
    return op;
}

/* A release of name for addr after everything queued (under the lock). Out
 * of memory it is not sent: the leader frees the name when this node leaves. */
static void queue_release(struct conv *c, const char *name, uint64_t addr)
{
    struct conv_nameop *op = op_new(name, addr);
    if (!op)
        return;
    op->release = true;
    ops_append(c, op);
}

/* The link to the leader is gone. The claims sent on it go again on the
 * next one, except those their callers gave up: the leader may have
 * granted them, so each becomes a release (unless addr holds the name as
 * this node knows it). The re-claims start over at the next WELCOME. */
static void names_link_lost(struct conv *c)
{
    pthread_mutex_lock(&c->lock);
    for (struct conv_nameop *op = c->ops_head, *next; op; op = next) {
        next = op->next;
        if (!op->sent)
            continue;
        op->sent = false;
        int s = conv_names_find(&c->names, op->name);
        if (op->adopt && !(s >= 0 && c->names.slot[s].addr == op->addr)) {
            ops_unlink(c, op); /* released meanwhile: not claimed again */
            free(op);
            continue;
        }
        if (!op->abandoned)
            continue;
        if (s >= 0 && c->names.slot[s].addr == op->addr) {
            ops_unlink(c, op);
            free(op);
        } else { /* in its place: after what came before it */
            op->release = true;
            op->abandoned = false;
            c->nreleases++;
        }
    }
    for (unsigned s = 0; s < c->names.hwm; s++)
        c->names.slot[s].reclaim = false;
    pthread_mutex_unlock(&c->lock);
    c->m.reclaiming = false;
}

/* The next re-claim into *m (under the lock); false when all are sent. */
static bool next_reclaim(struct conv *c, struct conv_msg *m)
{
    struct conv_names *t = &c->names;
    while (c->m.reclaim_at < t->hwm && !t->slot[c->m.reclaim_at].used)
        c->m.reclaim_at++;
    if (c->m.reclaim_at >= t->hwm) {
        c->m.reclaiming = false;
        return false;
    }
    unsigned s = c->m.reclaim_at++;
    t->slot[s].reclaim = true;
    m->type = CONV_NAME_CLAIM;
    m->u.name_claim.req = c->m.reclaim_base + s;
    m->u.name_claim.addr = t->slot[s].addr;
    memcpy(m->u.name_claim.name, t->slot[s].name, sizeof(m->u.name_claim.name));
    return true;
}

/* The first op not sent yet into *m (under the lock): a claim is marked
 * sent, a release is done with. False when there is none. */
static bool next_op(struct conv *c, struct conv_msg *m)
{
    struct conv_nameop *op = c->ops_head;
    while (op && op->sent)
        op = op->next;
    if (!op)
        return false;
    if (op->release) {
        m->type = CONV_NAME_RELEASE;
        m->u.name_release.addr = op->addr;
        memcpy(m->u.name_release.name, op->name, sizeof(m->u.name_release.name));
        ops_unlink(c, op);
        free(op);
        return true;
    }
    op->sent = true;
    op->req = c->m.next_req++;
    m->type = CONV_NAME_CLAIM;
    m->u.name_claim.req = op->req;
    m->u.name_claim.addr = op->addr;
    memcpy(m->u.name_claim.name, op->name, sizeof(m->u.name_claim.name));
    return true;
}

/* The next name message for the leader: re-claims first, then, once the
 * list after WELCOME is taken, the callers' ops. */
static bool next_name_msg(struct conv *c, const struct conv_link *l, struct conv_msg *m)
{
    bool have = false;
    pthread_mutex_lock(&c->lock);
    if (c->m.reclaiming)
        have = next_reclaim(c, m);
    if (!have && !c->m.reclaiming && l->joined)
        have = next_op(c, m);
    pthread_mutex_unlock(&c->lock);
    return have;
}

void conv_member_send_names(struct conv *c, uint64_t now)
{
    struct conv_link *l = c->m.up;
    struct conv_msg m;
    /* Half the output's bound at most, as for log records: 4096 re-claims
     * at once would overflow it. The rest goes as it drains. */
    while (l && !l->dead && !l->closing && l->s.phase == CONV_SESSION &&
           l->out_len - l->out_off < CONV_OUT_MAX / 2 && next_name_msg(c, l, &m))
        conv_link_send(c, l, &m, now);
}

/* A WELCOME: every name this node holds is claimed again, first. */
static void start_reclaims(struct conv *c)
{
    c->m.reclaim_base = c->m.next_req;
    c->m.next_req += CONV_NAMES_MAX;
    c->m.reclaim_at = 0;
    c->m.reclaiming = true;
}

/* The answer to a caller's claim op (under the lock): off the list, and
 * the caller woken, or freed when its caller gave up. */
static void claim_answered(struct conv *c, struct conv_nameop *op, int rc, uint64_t holder)
{
    ops_unlink(c, op);
    int s = conv_names_find(&c->names, op->name);
    bool held = s >= 0 && c->names.slot[s].addr == op->addr;
    bool ours = !c->addr_node || c->addr_node(op->addr) == c->node;
    if (rc == 0 && holder == op->addr && !held && !ours) {
        if (op->abandoned) /* kept at the leader for the node of addr, which never heard */
            queue_release(c, op->name, op->addr);
    } else if (rc == 0 && holder == op->addr && !held) {
        if (!op->abandoned && s >= 0) {
            c->names.slot[s].addr = op->addr; /* the leader's word over a stale entry */
        } else if (op->abandoned || conv_names_add(&c->names, op->name, op->addr, c->node) < 0) {
            /* Nobody will use it (its caller was told -ETIMEDOUT), or this
             * node cannot remember it to re-claim it: given back. */
            queue_release(c, op->name, op->addr);
            rc = -ENOSPC;
        }
    }
    if (op->abandoned) {
        free(op);
        return;
    }
    op->rc = rc;
    op->holder = holder;
    op->done = true;
    pthread_cond_broadcast(&c->names_cv);
}

/* A name this node held is gone: told once, through on_log and on_name_lost. */
static void name_lost(struct conv *c, const char *name, uint64_t addr, uint64_t holder, int rc,
                      uint64_t now)
{
    if (rc)
        conv_note(c, now, "TS-CONV-NAME-LOST@leader", TS_LOG_WARNING, "TS-CONV-NAME-LOST",
                  "the leader at %s refused the re-claim of global name '%s' (%#llx): %s; "
                  "dropped", c->addr, name, (unsigned long long)addr, strerror(-rc));
    else
        conv_note(c, now, "TS-CONV-NAME-LOST@leader", TS_LOG_WARNING, "TS-CONV-NAME-LOST",
                  "global name '%s' is %#llx's, no longer %#llx's: claimed while this node "
                  "was away from the leader", name, (unsigned long long)holder,
                  (unsigned long long)addr);
    if (c->on_name_lost)
        c->on_name_lost(c->arg, name, addr, holder);
}

static void name_reply(struct conv *c, const struct conv_msg *m, uint64_t now)
{
    uint32_t req = m->u.name_reply.req;
    uint64_t holder = m->u.name_reply.holder;
    int rc = m->u.name_reply.rc;
    if (rc > 0 || rc < -ERRNO_MAX)
        rc = -EPROTO;
    char name[CONV_GNAME_MAX];
    uint64_t addr = 0;
    bool lost = false;
    pthread_mutex_lock(&c->lock);
    struct conv_names *t = &c->names;
    uint32_t k = req - c->m.reclaim_base;
    if (k < t->hwm && t->slot[k].reclaim) {
        struct conv_gname *g = &t->slot[k];
        g->reclaim = false;
        if (rc != 0 || holder != g->addr) {
            lost = true;
            addr = g->addr;
            memcpy(name, g->name, sizeof(name));
            conv_names_del(t, (int)k);
        }
    } else {
        /* A reply to nothing waiting (a re-claim whose name was released
         * meanwhile) is dropped. */
        struct conv_nameop *op = c->ops_head;
        while (op && !(op->sent && !op->release && op->req == req))
            op = op->next;
        if (op && op->adopt) { /* the name was this node's already: lost unless granted */
            ops_unlink(c, op);
            int s = conv_names_find(t, op->name);
            if ((rc != 0 || holder != op->addr) && s >= 0 && t->slot[s].addr == op->addr) {
                lost = true;
                addr = op->addr;
                memcpy(name, op->name, sizeof(name));
                conv_names_del(t, s);
            }
            free(op);
        } else if (op) {
            claim_answered(c, op, rc, holder);
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (lost)
        name_lost(c, name, addr, rc ? 0 : holder, rc, now);
}

/* The deadline timeout_ms from now on the monotonic clock (names_cv's). */
static struct timespec deadline_in(unsigned timeout_ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)(timeout_ms / 1000u);
    t.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Waits (under the lock) until op is answered, conv_stop or end; then
 * takes op off the list unless the list keeps it (a claim sent, given up),
 * and says how it went. */
static int claim_wait(struct conv *c, struct conv_nameop **opp, const struct timespec *end)
{
    struct conv_nameop *op = *opp;
    while (!op->done && !c->stop)
        if (pthread_cond_timedwait(&c->names_cv, &c->lock, end) == ETIMEDOUT)
            break;
    if (op->done)
        return op->rc;
    if (op->sent && !c->stop) {
        op->abandoned = true; /* the thread releases it if the leader grants it */
        *opp = NULL;
    } else {
        ops_unlink(c, op);
    }
    return c->stop ? -ENOTCONN : -ETIMEDOUT;
}

int conv_member_claim(struct conv *c, const char *name, uint64_t addr, unsigned timeout_ms,
                      uint64_t *holder)
{
    struct conv_nameop *op = op_new(name, addr);
    if (!op)
        return err_set(-ENOMEM, "conv_name_claim: out of memory");
    struct timespec end = deadline_in(timeout_ms);
    int rc = -ENOTCONN;
    pthread_mutex_lock(&c->lock);
    if (!c->stop) {
        ops_append(c, op);
        c->claimers++;
        conv_wake(c);
        rc = claim_wait(c, &op, &end);
        c->claimers--;
        if (c->stop) /* conv_stop waits until no claimer is left */
            pthread_cond_broadcast(&c->names_cv);
    }
    if (rc == 0)
        *holder = op->holder;
    pthread_mutex_unlock(&c->lock);
    free(op);
    switch (rc) {
    case 0: return 0;
    case -ETIMEDOUT:
        return err_set(rc, "conv_name_claim '%s': no answer from the leader at %s in %u ms",
                       name, c->addr, timeout_ms);
    case -ENOTCONN: return err_set(rc, "conv_name_claim '%s': the convention stopped", name);
    case -ENOSPC:
        return err_set(rc, "conv_name_claim '%s': the convention holds %d global names already",
                       name, CONV_NAMES_MAX);
    case -EINVAL: return err_set(rc, "conv_name_claim '%s': the leader refused the name", name);
    case -EPROTO:
        return err_set(rc, "conv_name_claim '%s': the leader answered neither 0 nor -errno",
                       name);
    default:
        return err_set(rc, "conv_name_claim '%s': the leader answered: %s", name, strerror(-rc));
    }
}

int conv_member_release(struct conv *c, const char *name, uint64_t addr)
{
    struct conv_nameop *op = op_new(name, addr);
    if (!op)
        return err_set(-ENOMEM, "conv_name_release: out of memory");
    op->release = true;
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    int s = conv_names_find(&c->names, name);
    /* With addr_node the leader knows a holder by its address alone: a
     * release goes to it even when this node does not hold the name (one
     * claimed for another node's address, or one never taken up here). */
    if ((s < 0 || c->names.slot[s].addr != addr) && !c->addr_node) {
        rc = -ENOENT;
    } else if (c->nreleases >= CONV_NAMES_MAX) {
        rc = -ENOBUFS;
    } else { /* forgotten now: not re-claimed, whatever the link does */
        if (s >= 0 && c->names.slot[s].addr == addr)
            conv_names_del(&c->names, s);
        ops_append(c, op);
        op = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    free(op);
    if (rc == 0)
        conv_wake(c);
    if (rc == -ENOBUFS)
        return err_set(rc, "conv_name_release '%s': %d releases wait for the leader already",
                       name, CONV_NAMES_MAX);
    return rc;
}

/* The leader is gone: its entry LEFT, the others stay until the next welcome. */
static void lose_leader(struct conv *c, const char *why, uint64_t now)
{
    int i = leader_entry(c);
    if (i >= 0)
        conv_table_remove(c, i);
    set_state(c, CONV_ST_LOST, why);
    conv_note(c, now, "TS-CONV-LOST@leader", TS_LOG_WARNING, "TS-CONV-LOST",
              "lost the leader at %s: %s; joining again", c->addr, why);
}

void conv_member_sweep(struct conv *c, uint64_t now)
{
    struct conv_link *l = c->m.up;
    if (!l || !l->dead)
        return;
    c->m.up = NULL;
    c->m.syncing = false;
    names_link_lost(c);
    if (l->joined)
        lose_leader(c, l->why, now);
    else /* the next of the leader's addresses, if its name has several */
        c->m.at = (c->m.at + 1) % c->nsa;
    conv_link_free(l);
    c->m.retry_ns = now + (uint64_t)c->m.backoff_ms * CONV_NS_PER_MS;
    c->m.backoff_ms = c->m.backoff_ms * 2 > CONV_BACKOFF_MAX_MS ? CONV_BACKOFF_MAX_MS
                                                                : c->m.backoff_ms * 2;
}

/* n as the leader lists it: JOINED when new, LEFT then JOINED when its
 * instance changed, CAPS when it changed otherwise. */
static void take_joined(struct conv *c, const struct conv_node *n, uint64_t now)
{
    int i = conv_table_find(c, n->node);
    bool leader = n->instance == c->m.leader_instance;
    if (i >= 0 && c->table[i].node.instance != n->instance) {
        conv_table_remove(c, i);
        i = -1;
    }
    if (i < 0) /* this node is the entry of its id and instance, not of its id alone */
        conv_table_add(c, n, leader, n->node == c->node && n->instance == c->instance,
                       leader ? now : 0, NULL);
    else
        conv_table_update(c, i, n);
}

/* The list after WELCOME is complete: the table becomes it. */
static void synced(struct conv *c, struct conv_link *l, uint64_t now)
{
    for (unsigned i = 0; i < c->n;) {
        bool listed = false;
        for (unsigned k = 0; k < c->m.got && !listed; k++)
            listed = c->m.list[k].node == c->table[i].node.node;
        if (listed)
            i++;
        else
            conv_table_remove(c, (int)i);
    }
    for (unsigned k = 0; k < c->m.got; k++)
        take_joined(c, &c->m.list[k], now);
    c->m.syncing = false;
    l->joined = true;
    c->m.backoff_ms = CONV_BACKOFF_MIN_MS;
    set_state(c, CONV_ST_JOINED, "");
}

/* A frame from the leader that breaks the protocol: reconnect. */
static void bad_leader(struct conv *c, struct conv_link *l, uint64_t now, const char *what)
{
    conv_note(c, now, "TS-CONV-MALFORMED@leader", TS_LOG_WARNING, "TS-CONV-MALFORMED",
              "the leader at %s: %s; connection closed", c->addr, what);
    conv_link_kill(l, "%s", what);
}

static void welcomed(struct conv *c, struct conv_link *l, const struct conv_msg *m,
                     uint64_t now)
{
    char what[96];
    if (m->u.welcome.node != c->node || m->u.welcome.nmembers > CONV_MEMBERS_MAX) {
        snprintf(what, sizeof(what), "a WELCOME for node %u with %u members (we are %u, at "
                 "most %d)", m->u.welcome.node, m->u.welcome.nmembers, c->node,
                 CONV_MEMBERS_MAX);
        bad_leader(c, l, now, what);
        return;
    }
    c->m.syncing = true;
    c->m.want = m->u.welcome.nmembers;
    c->m.got = 0;
    c->m.leader_instance = m->u.welcome.leader_instance;
    unsigned hb = m->u.welcome.heartbeat_ms;
    c->m.hb_ms = hb && hb < c->heartbeat_ms ? hb : c->heartbeat_ms;
    c->m.next_hb_ns = now;
    l->deadline_ns = UINT64_MAX;
    start_reclaims(c);
    if (c->m.want == 0)
        synced(c, l, now);
    conv_member_send_names(c, now); /* the re-claims go before anything else */
}

static void member_event(struct conv *c, struct conv_link *l, const struct conv_msg *m,
                         uint64_t now)
{
    const struct conv_node *n = &m->u.member.node;
    if (c->m.syncing) {
        if (m->u.member.event != CONV_EV_JOINED) {
            bad_leader(c, l, now, "a MEMBER other than JOINED in the list after WELCOME");
            return;
        }
        c->m.list[c->m.got++] = *n;
        if (c->m.got == c->m.want)
            synced(c, l, now);
        return;
    }
    int i = conv_table_find(c, n->node);
    bool same = i >= 0 && c->table[i].node.instance == n->instance;
    switch (m->u.member.event) {
    case CONV_EV_JOINED:
        take_joined(c, n, now);
        break;
    case CONV_EV_LEFT:
        if (same)
            conv_table_remove(c, i);
        break;
    case CONV_EV_CAPS:
        if (same)
            conv_table_update(c, i, n);
        break;
    default:
        break;
    }
}

void conv_member_frame(struct conv *c, struct conv_link *l, int rc, const struct conv_msg *m,
                       uint64_t now)
{
    if (rc < 0) {
        bad_leader(c, l, now, ts_last_error());
        return;
    }
    int i = l->joined ? leader_entry(c) : -1;
    if (i >= 0)
        conv_table_heard(c, i, now);
    switch (m->type) {
    case CONV_HELLO: {
        struct conv_msg j = {.type = CONV_JOIN};
        conv_self_copy(c, &j.u.join.node);
        if (conv_link_send(c, l, &j, now) == 0)
            memcpy(c->m.sent_caps, j.u.join.node.caps, sizeof(c->m.sent_caps));
        break;
    }
    case CONV_REFUSE:
        set_state(c, CONV_ST_REFUSED, m->u.refuse.reason);
        conv_note(c, now, "TS-CONV-REFUSED@leader", TS_LOG_WARNING, "TS-CONV-REFUSED",
                  "the leader at %s refused this node: %s", c->addr, m->u.refuse.reason);
        conv_link_kill(l, "refused: %s", m->u.refuse.reason);
        break;
    case CONV_WELCOME:
        welcomed(c, l, m, now);
        break;
    case CONV_MEMBER:
        member_event(c, l, m, now);
        break;
    case CONV_NAME_REPLY:
        name_reply(c, m, now);
        break;
    default: /* HEARTBEAT: being heard is all */
        break;
    }
}

/* Sends what l holds, half-closes, and reads until the leader closes or
 * wait_ms pass. */
static void goodbye(struct conv_link *l, unsigned wait_ms)
{
    uint64_t end = clock_deadline(clock_now_ns(), (uint64_t)wait_ms * CONV_NS_PER_MS);
    for (;;) {
        conv_link_flush(l);
        uint64_t now = clock_now_ns();
        if (l->dead || now >= end)
            return;
        struct pollfd p = {.fd = l->fd, .events = POLLIN};
        if (l->out_len > l->out_off)
            p.events |= POLLOUT;
        int r = poll(&p, 1, (int)((end - now + CONV_NS_PER_MS - 1) / CONV_NS_PER_MS));
        if (r < 0 && errno != EINTR)
            return;
        if (r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            uint8_t buf[4096];
            ssize_t n = recv(l->fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                return; /* the leader closed: LEAVE was taken */
        }
    }
}

void conv_member_leave(struct conv *c, bool polite)
{
    struct conv_link *l = c->m.up;
    if (!l)
        return;
    if (polite && !l->dead && !l->closing && l->s.phase == CONV_SESSION) {
        struct conv_msg m = {.type = CONV_LEAVE};
        if (conv_link_send(c, l, &m, clock_now_ns()) == 0) {
            l->closing = true;
            goodbye(l, c->lost_ms < LEAVE_WAIT_MAX_MS ? c->lost_ms : LEAVE_WAIT_MAX_MS);
        }
    }
    conv_link_free(l);
    c->m.up = NULL;
}

int conv_member_adopt(struct conv *c, const char *name, uint64_t addr)
{
    struct conv_nameop *op = op_new(name, addr);
    if (!op)
        return err_set(-ENOMEM, "conv_name_adopt: out of memory");
    op->adopt = true;
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    int s = conv_names_find(&c->names, name);
    if (s >= 0 && c->names.slot[s].addr != addr) {
        rc = -EEXIST;
    } else if (s < 0 && conv_names_add(&c->names, name, addr, c->node) < 0) {
        rc = -ENOSPC;
    } else { /* remembered now (re-claimed after a WELCOME); claimed after what came before */
        ops_append(c, op);
        op = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    free(op);
    if (rc == 0)
        conv_wake(c);
    if (rc == -EEXIST)
        return err_set(rc, "conv_name_adopt: this node holds global name '%s' for another "
                       "address", name);
    if (rc == -ENOSPC)
        return err_set(rc, "conv_name_adopt '%s': this node holds %d global names already", name,
                       CONV_NAMES_MAX);
    return 0;
}
