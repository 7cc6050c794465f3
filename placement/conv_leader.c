/* SPDX-License-Identifier: MIT */
/*
 * conv_leader.c — the leader's side of the convention (convention.h):
 * accepting connections, the join handshake and its refusals, the member
 * table's changes broadcast to every member, heartbeats and silent members,
 * and the table of the convention's global names.
 */
#include "conv_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thespis/log.h>
#include <thespis/thespis.h>

#include "../engine/clock.h"
#include "caps.h"

#define ACCEPT_PAUSE_NS (100ull * CONV_NS_PER_MS)

/* The key under which notes about l's host are limited. */
static const char *host_key(const struct conv_link *l, const char *id, char *buf, size_t len)
{
    snprintf(buf, len, "%s@%s", id, l->host);
    return buf;
}

/* MEMBER ev about n to every welcomed member. */
static void broadcast(struct conv *c, enum conv_event ev, const struct conv_node *n,
                      uint64_t now)
{
    struct conv_msg m = {.type = CONV_MEMBER};
    m.u.member.event = (uint8_t)ev;
    m.u.member.node = *n;
    for (unsigned i = 0; i < c->nlinks; i++) {
        struct conv_link *l = c->links[i];
        if (l->joined && !l->dead)
            conv_link_send(c, l, &m, now);
    }
}

/* Frees every global name node holds (under the lock). Deleting a slot
 * moves no other: one pass. */
static void drop_names(struct conv *c, uint16_t node)
{
    struct conv_names *t = &c->names;
    for (unsigned s = 0; s < t->hwm && t->n; s++)
        if (t->slot[s].used && t->slot[s].node == node)
            conv_names_del(t, (int)s);
}

/* Removes entry i (LEFT here and to every member). Its names go first: a
 * watcher told of the LEFT finds them free. */
static void remove_member(struct conv *c, int i, uint64_t now)
{
    struct conv_node gone = c->table[i].node;
    pthread_mutex_lock(&c->lock);
    drop_names(c, gone.node);
    pthread_mutex_unlock(&c->lock);
    conv_table_remove(c, i);
    broadcast(c, CONV_EV_LEFT, &gone, now);
}

/* REFUSE reason to l, then close it once that is out. */
static void refuse(struct conv *c, struct conv_link *l, const char *reason, uint64_t now)
{
    struct conv_msg m = {.type = CONV_REFUSE};
    snprintf(m.u.refuse.reason, sizeof(m.u.refuse.reason), "%s", reason);
    conv_link_send(c, l, &m, now);
    l->closing = true;
    l->deadline_ns = clock_deadline(now, (uint64_t)c->lost_ms * CONV_NS_PER_MS);
}

/* WELCOME to l as node, then the table as MEMBER JOINED frames. */
static void welcome(struct conv *c, struct conv_link *l, uint16_t node, uint64_t now)
{
    struct conv_msg m = {.type = CONV_WELCOME};
    m.u.welcome.node = node;
    m.u.welcome.leader_instance = c->instance;
    m.u.welcome.heartbeat_ms = c->heartbeat_ms;
    m.u.welcome.nmembers = (uint16_t)c->n;
    if (conv_link_send(c, l, &m, now) < 0) {
        conv_link_kill(l, "cannot send WELCOME: %s", ts_last_error());
        return;
    }
    l->joined = true;
    l->node = node;
    l->deadline_ns = UINT64_MAX;
    m = (struct conv_msg){.type = CONV_MEMBER};
    m.u.member.event = CONV_EV_JOINED;
    for (unsigned i = 0; i < c->n && !l->dead; i++) {
        m.u.member.node = c->table[i].node;
        conv_link_send(c, l, &m, now);
    }
}

/* Why n (entry i of the table, or -1) may not join, into why; false when
 * it may. */
static bool join_refused(const struct conv *c, const struct conv_node *n, int i, char *why,
                         size_t len)
{
    struct caps parsed;
    if (!n->name[0])
        snprintf(why, len, "a node needs a name");
    else if (caps_parse(n->caps, &parsed) < 0)
        snprintf(why, len, "capabilities '%.100s' do not parse: %s", n->caps, ts_last_error());
    else if (i >= 0 && c->table[i].leader)
        snprintf(why, len, "node id %u is taken by the leader '%s'", n->node,
                 c->table[i].node.name);
    else if (i >= 0 && strcmp(c->table[i].node.name, n->name) != 0)
        snprintf(why, len, "node id %u is taken by '%s'", n->node, c->table[i].node.name);
    else if (i < 0 && c->n >= CONV_MEMBERS_MAX)
        snprintf(why, len, "the convention is full (%d members)", CONV_MEMBERS_MAX);
    else
        return false;
    return true;
}

/* An authenticated JOIN of n on l. */
static void join(struct conv *c, struct conv_link *l, const struct conv_node *n, uint64_t now)
{
    char why[CONV_REASON_MAX], key[80];
    int i = conv_table_find(c, n->node);
    if (join_refused(c, n, i, why, sizeof(why))) {
        conv_note(c, now, host_key(l, "TS-CONV-REFUSED", key, sizeof(key)), TS_LOG_WARNING,
                  "TS-CONV-REFUSED", "refused node %u '%s' from %s: %s", n->node, n->name,
                  l->peer, why);
        refuse(c, l, why, now);
        return;
    }
    struct conv_link *old = i >= 0 ? c->tlink[i] : NULL;
    if (old) { /* the old connection of this node is done with, quietly */
        old->joined = false;
        conv_link_kill(old, "replaced by a new connection from %s", l->peer);
    }
    if (i >= 0 && c->table[i].node.instance == n->instance) {
        /* The same process again (it found us silent first): the entry stays. */
        bool changed = conv_node_differs(&c->table[i].node, n);
        c->tlink[i] = l;
        conv_table_heard(c, i, now);
        conv_table_update(c, i, n);
        if (changed)
            broadcast(c, CONV_EV_CAPS, n, now);
        welcome(c, l, n->node, now);
        return;
    }
    if (i >= 0) /* restarted: the old instance leaves, the new one joins */
        remove_member(c, i, now);
    conv_table_add(c, n, false, false, now, l);
    broadcast(c, CONV_EV_JOINED, n, now); /* l is not welcomed yet: it gets the list */
    welcome(c, l, n->node, now);
}

/* Entry i's capabilities are now caps: its entry changes and every member
 * hears of it (nothing when they are the same). */
static void set_caps(struct conv *c, int i, const char *caps, uint64_t now)
{
    if (i < 0 || strcmp(c->table[i].node.caps, caps) == 0)
        return;
    struct conv_node n = c->table[i].node;
    snprintf(n.caps, sizeof(n.caps), "%s", caps);
    conv_table_update(c, i, &n);
    broadcast(c, CONV_EV_CAPS, &n, now);
}

/* A CAPS from entry i. */
static void member_caps(struct conv *c, struct conv_link *l, int i, const char *caps,
                        uint64_t now)
{
    struct caps parsed;
    if (caps_parse(caps, &parsed) < 0) {
        char who[160], key[80];
        conv_link_peer_name(c, l, who, sizeof(who));
        conv_note(c, now, host_key(l, "TS-CONV-MALFORMED", key, sizeof(key)), TS_LOG_WARNING,
                  "TS-CONV-MALFORMED", "%s: capabilities '%.100s' do not parse: %s; "
                  "connection closed", who, caps, ts_last_error());
        l->quiet = true;
        conv_link_kill(l, "capabilities that do not parse");
        return;
    }
    set_caps(c, i, caps, now);
}

void conv_leader_caps(struct conv *c, const char *caps, uint64_t now)
{
    set_caps(c, conv_table_find(c, c->node), caps, now);
}

/* A frame that conv_decode refused (rc): a JOIN that is not authentic is
 * told so; anything else closes the connection. */
static void bad_frame(struct conv *c, struct conv_link *l, int rc, uint64_t now)
{
    char key[80];
    if (rc == -EPERM && l->s.phase == CONV_WAIT_JOIN) {
        conv_note(c, now, host_key(l, "TS-CONV-REFUSED", key, sizeof(key)), TS_LOG_WARNING,
                  "TS-CONV-REFUSED", "refused a JOIN from %s: %s", l->peer, ts_last_error());
        refuse(c, l, "not authenticated", now);
        return;
    }
    char who[160];
    conv_link_peer_name(c, l, who, sizeof(who));
    conv_note(c, now, host_key(l, "TS-CONV-MALFORMED", key, sizeof(key)), TS_LOG_WARNING,
              "TS-CONV-MALFORMED", "%s: %s; connection closed", who, ts_last_error());
    l->quiet = true;
    conv_link_kill(l, "a malformed frame");
}

void conv_leader_frame(struct conv *c, struct conv_link *l, int rc, const struct conv_msg *m,
                       uint64_t now)
{
    if (rc < 0) {
        bad_frame(c, l, rc, now);
        return;
    }
    int i = l->joined ? conv_table_find(c, l->node) : -1;
    if (i >= 0)
        conv_table_heard(c, i, now);
    switch (m->type) {
    case CONV_JOIN:
        join(c, l, &m->u.join.node, now);
        break;
    case CONV_CAPS:
        member_caps(c, l, i, m->u.caps.caps, now);
        break;
    case CONV_LOG:
        if (c->on_log && i >= 0)
            c->on_log(c->arg, l->node, m->u.log.level, m->u.log.id, m->u.log.text);
        break;
    case CONV_NAME_CLAIM: {
        if (i < 0) /* a link replaced or closed: its frames count for nothing */
            break;
        struct conv_msg r = {.type = CONV_NAME_REPLY};
        r.u.name_reply.req = m->u.name_claim.req;
        r.u.name_reply.rc = conv_leader_claim(c, m->u.name_claim.name, m->u.name_claim.addr,
                                              l->node, &r.u.name_reply.holder);
        conv_link_send(c, l, &r, now);
        break;
    }
    case CONV_NAME_RELEASE:
        if (i >= 0)
            conv_leader_release(c, m->u.name_release.name, m->u.name_release.addr, l->node);
        break;
    case CONV_LEAVE:
        l->quiet = true;
        conv_link_kill(l, "it left");
        break;
    default: /* HEARTBEAT: being heard is all */
        break;
    }
}

void conv_leader_accept(struct conv *c, uint64_t now)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(c->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (fd < 0) { /* out of descriptors or memory: try again a little later */
            conv_note(c, now, "TS-CONV-FULL@accept", TS_LOG_WARNING, "TS-CONV-FULL",
                      "the convention leader cannot accept: %s", strerror(errno));
            c->accept_pause_ns = now + ACCEPT_PAUSE_NS;
            return;
        }
        conv_sock_tune(fd);
        struct conv_link *l = c->nlinks < CONV_LINKS_MAX ? conv_link_new(c, fd, true, &ss, now)
                                                         : NULL;
        if (!l) {
            conv_note(c, now, "TS-CONV-FULL@links", TS_LOG_WARNING, "TS-CONV-FULL",
                      "the convention leader has %u connections (at most %d) or no memory: "
                      "a new one is closed", c->nlinks, CONV_LINKS_MAX);
            close(fd);
            continue;
        }
        c->links[c->nlinks++] = l;
        struct conv_msg hello = {.type = CONV_HELLO};
        conv_link_send(c, l, &hello, now);
    }
}

void conv_leader_tick(struct conv *c, uint64_t now)
{
    uint64_t lost = (uint64_t)c->lost_ms * CONV_NS_PER_MS;
    if (now >= c->next_hb_ns) {
        struct conv_msg hb = {.type = CONV_HEARTBEAT};
        hb.u.heartbeat.sent_ns = now;
        for (unsigned i = 0; i < c->nlinks; i++)
            if (c->links[i]->joined && !c->links[i]->dead)
                conv_link_send(c, c->links[i], &hb, now);
        c->next_hb_ns = now + (uint64_t)c->heartbeat_ms * CONV_NS_PER_MS;
    }
    for (unsigned i = 0; i < c->nlinks; i++) {
        struct conv_link *l = c->links[i];
        char key[80];
        if (l->dead)
            continue;
        if (l->joined && now - l->heard_ns >= lost) {
            conv_link_kill(l, "silent for %u ms", c->lost_ms);
        } else if (!l->joined && now >= l->deadline_ns) {
            if (!l->closing)
                conv_note(c, now, host_key(l, "TS-CONV-TIMEOUT", key, sizeof(key)),
                          TS_LOG_WARNING, "TS-CONV-TIMEOUT", "%s did not finish its handshake "
                          "in %u ms: connection closed", l->peer, 4 * c->lost_ms);
            l->quiet = true;
            conv_link_kill(l, "no handshake");
        }
    }
}

uint64_t conv_leader_next(const struct conv *c)
{
    uint64_t next = UINT64_MAX, lost = (uint64_t)c->lost_ms * CONV_NS_PER_MS;
    for (unsigned i = 0; i < c->nlinks; i++) {
        const struct conv_link *l = c->links[i];
        uint64_t t = l->joined ? clock_deadline(l->heard_ns, lost) : l->deadline_ns;
        if (l->joined && c->next_hb_ns < t)
            t = c->next_hb_ns;
        if (t < next)
            next = t;
    }
    return next;
}

void conv_leader_sweep(struct conv *c, uint64_t now)
{
    for (unsigned i = 0; i < c->nlinks;) {
        struct conv_link *l = c->links[i];
        if (!l->dead) {
            i++;
            continue;
        }
        c->links[i] = c->links[--c->nlinks];
        int k = l->joined ? conv_table_find(c, l->node) : -1;
        if (k >= 0 && c->tlink[k] == l) {
            if (!l->quiet)
                conv_note(c, now, NULL, TS_LOG_WARNING, "TS-CONV-LOST",
                          "member %u '%s' (%s) is lost: %s", l->node, c->table[k].node.name,
                          l->peer, l->why);
            remove_member(c, k, now); /* may kill others: this loop goes on to them */
        }
        conv_link_free(l);
        i = 0; /* the array moved: look again from the start */
    }
}

int conv_leader_claim(struct conv *c, const char *name, uint64_t addr, uint16_t node,
                      uint64_t *holder)
{
    if (!name[0]) /* the decoder took the rest: at most CONV_GNAME_MAX - 1, no NUL */
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    uint16_t keeper = c->addr_node ? c->addr_node(addr) : node;
    int s = conv_names_find(&c->names, name);
    if (s >= 0)
        *holder = c->names.slot[s].addr;
    else if (conv_names_add(&c->names, name, addr, keeper) >= 0)
        *holder = addr;
    else
        rc = -ENOSPC;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int conv_leader_release(struct conv *c, const char *name, uint64_t addr, uint16_t node)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&c->lock);
    int s = conv_names_find(&c->names, name);
    /* Only the holder frees it: a stale release (a name lost, then taken by
     * another) changes nothing. With addr_node, addresses tell holders
     * apart: the node that placed an actor on another may give up the name
     * it claimed for it (it never started there). */
    if (s >= 0 && c->names.slot[s].addr == addr && (c->addr_node || c->names.slot[s].node == node)) {
        conv_names_del(&c->names, s);
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void conv_leader_close_all(struct conv *c)
{
    for (unsigned i = 0; i < c->nlinks; i++)
        conv_link_free(c->links[i]);
    c->nlinks = 0;
}
