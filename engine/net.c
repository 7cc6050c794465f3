/* SPDX-License-Identifier: MIT */
/* net.c — a shard's way to other nodes (net.h). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/image.h>

#include "../transport/uring.h"
#include "err.h"
#include "net.h"
#include "start.h"
#include "shard_internal.h"
#include "sysmsg_wire.h"
#include "system.h"

/* "HOST:PORT" or "[V6]:PORT" into *ss. */
static int parse_endpoint(const char *what, const char *s, size_t len, struct sockaddr_storage *ss,
                          socklen_t *sl)
{
    char buf[256];
    if (len >= sizeof(buf))
        return err_set(-EINVAL, "%s: '%.*s' is too long", what, (int)len, s);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *host = buf, *colon = strrchr(buf, ':');
    if (!colon || colon == buf || !colon[1])
        return err_set(-EINVAL, "%s: '%s' is not HOST:PORT", what, buf);
    *colon = '\0';
    const char *port = colon + 1;
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl < 3 || host[hl - 1] != ']')
            return err_set(-EINVAL, "%s: '%.*s' has a bad [IPv6] host", what, (int)len, s);
        host[hl - 1] = '\0';
        host++;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*end || p < 0 || p > 65535)
        return err_set(-EINVAL, "%s: port '%s' is not a number from 0 to 65535", what, port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0 || !ai)
        return err_set(-EINVAL, "%s: cannot resolve '%s': %s", what, host, gai_strerror(rc));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *sl = (socklen_t)ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static const char *const kind_names[NET_KINDS] = {"tcp", "udp", "dpdk"};
static const struct transport_ops *const kinds[NET_KINDS] = {
    &transport_tcp, &transport_udp,
#ifdef TS_HAVE_DPDK
    &transport_dpdk,
#else
    NULL,
#endif
};

const struct transport_ops *net_kind_ops(unsigned kind)
{
    return kinds[kind < NET_KINDS ? kind : 0];
}

/* A leading "tcp://" or "udp://": its kind in *kind, s moved past it;
 * none: -1; another scheme: -EINVAL. */
static int scheme(const char *what, const char **s, const char *end, int *kind)
{
    const char *sep = strstr(*s, "://");
    *kind = -1;
    if (!sep || sep >= end)
        return 0;
    size_t n = (size_t)(sep - *s);
    for (unsigned k = 0; k < NET_KINDS; k++) {
        const char *name = kind_names[k];
        if (strlen(name) == n && memcmp(name, *s, n) == 0) {
            if (!kinds[k])
                return err_set(-EINVAL, "%s: this build has no %s transport (build with "
                               "meson -Ddpdk=enabled and Debian's libdpdk-dev)", what, name);
            *kind = (int)k;
            *s = sep + 3;
            return 0;
        }
    }
    return err_set(-EINVAL, "%s: '%.*s' is not a transport (tcp, udp or dpdk)", what, (int)n, *s);
}

static int parse_listen(const char *listen, struct net_config *out)
{
    for (const char *s = listen; *s;) {
        const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s), *at = s;
        int kind, rc = scheme("listen", &at, end, &kind);
        if (rc < 0)
            return rc;
        if (kind < 0)
            return err_set(-EINVAL, "listen: '%.*s' is not tcp://HOST:PORT, udp://HOST:PORT "
                           "or dpdk://ADDR:PORT", (int)(end - s), s);
        unsigned k = (unsigned)kind % NET_KINDS;
        if (out->listen[k].set)
            return err_set(-EINVAL, "listen: two endpoints for %s (one per transport)",
                           kind_names[k]);
        rc = parse_endpoint("listen", at, (size_t)(end - at), &out->listen[k].addr,
                            &out->listen[k].len);
        if (rc < 0)
            return rc;
        out->listen[k].set = out->listen_set = true;
        s = comma ? comma + 1 : end;
    }
    size_t len = strlen(listen);
    if (!out->listen_set || listen[len - 1] == ',')
        return err_set(-EINVAL, "listen: '%s' is not tcp://HOST:PORT, udp://HOST:PORT or "
                       "dpdk://ADDR:PORT (at most one of each, with a comma between)", listen);
    return 0;
}

static int add_peer(struct net_config *out, const char *s, const char *eq, const char *end,
                    uint16_t self, int dflt)
{
    char *idend = NULL;
    long id = eq > s && *s >= '0' && *s <= '9' ? strtol(s, &idend, 10) : -1;
    if (id < 0 || idend != eq || id > UINT16_MAX)
        return err_set(-EINVAL, "peers: '%.*s' is not ID=HOST:PORT with ID from 0 to 65535",
                       (int)(end - s), s);
    if (id == self)
        return err_set(-EINVAL, "peers: node %ld is this node", id);
    if (net_config_peer(out, (uint16_t)id) >= 0)
        return err_set(-EINVAL, "peers: node %ld is listed twice", id);
    struct transport_peer *p = realloc(out->peers, (out->npeers + 1) * sizeof(*p));
    if (p)
        out->peers = p;
    uint8_t *k = p ? realloc(out->peer_kind, out->npeers + 1) : NULL;
    if (!k)
        return err_set(-ENOMEM, "out of memory");
    out->peer_kind = k;
    p = &out->peers[out->npeers];
    *p = (struct transport_peer){.node = (uint16_t)id};
    const char *at = eq + 1;
    int kind, rc = scheme("peers", &at, end, &kind);
    if (rc == 0)
        rc = parse_endpoint("peers", at, (size_t)(end - at), &p->addr, &p->addrlen);
    if (rc == 0)
        k[out->npeers++] = (uint8_t)(kind < 0 ? dflt : kind);
    return rc;
}

/* Each transport's own peer table, for its instances. */
static int split_kinds(struct net_config *c)
{
    for (unsigned k = 0; k < NET_KINDS; k++) {
        if (!(c->kind_peers[k] = calloc(c->npeers ? c->npeers : 1, sizeof(*c->kind_peers[k]))))
            return err_set(-ENOMEM, "out of memory");
        for (unsigned i = 0; i < c->npeers; i++)
            if (c->peer_kind[i] == k)
                c->kind_peers[k][c->kind_npeers[k]++] = c->peers[i];
    }
    return 0;
}

int net_config_parse(const char *listen, const char *peers, uint16_t self, struct net_config *out)
{
    *out = (struct net_config){0};
    int rc = listen ? parse_listen(listen, out) : 0;
    /* A peer that names no transport: the one this node listens on (when
     * only one), else tcp. */
    int dflt = 0, nlisten = 0;
    for (int k = 0; k < NET_KINDS; k++)
        if (out->listen[k].set && nlisten++ == 0)
            dflt = k;
    if (nlisten != 1)
        dflt = 0;
    for (const char *s = peers; rc == 0 && s && *s;) {
        const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
        const char *eq = memchr(s, '=', (size_t)(end - s));
        rc = eq ? add_peer(out, s, eq, end, self, dflt)
                : err_set(-EINVAL, "peers: '%.*s' is not ID=HOST:PORT with ID from 0 to 65535",
                          (int)(end - s), s);
        s = comma ? comma + 1 : end;
    }
    if (rc == 0 && (out->listen_set || out->npeers))
        rc = split_kinds(out);
    if (rc < 0)
        net_config_free(out); /* nothing of it is kept */
    return rc;
}

bool net_config_uses(const struct net_config *c, unsigned kind)
{
    return c->listen[kind].set || c->kind_npeers[kind] > 0;
}

void net_config_transports(const struct net_config *c, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (unsigned k = 0; k < NET_KINDS; k++) {
        if (!net_config_uses(c, k))
            continue;
        int n = snprintf(buf + at, len - at, "%s%s", at ? "," : "", kind_names[k]);
        if (n < 0 || (size_t)n >= len - at)
            return;
        at += (size_t)n;
    }
}

void net_config_free(struct net_config *c)
{
    free(c->peers);
    free(c->peer_kind);
    for (unsigned k = 0; k < NET_KINDS; k++)
        free(c->kind_peers[k]);
    *c = (struct net_config){0};
}

int net_config_peer(const struct net_config *c, uint16_t node)
{
    for (unsigned i = 0; i < c->npeers; i++)
        if (c->peers[i].node == node)
            return (int)i;
    return -1;
}

/* ---- leases: slots a peer may create actors in (net.h) ---------------- */

#define LEASE_FIRST 64u    /* slots asked for at first */
#define LEASE_MAX 1024u    /* at most, per request and per grant */
#define LEASE_RETRY_NS UINT64_C(1000000000) /* a request unanswered this long is sent again */

static int lease_push(struct net_lease *l, ts_addr a)
{
    if (l->n == l->cap) {
        unsigned cap = l->cap ? 2 * l->cap : LEASE_FIRST;
        ts_addr *v = malloc(cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        for (unsigned i = 0; i < l->n; i++)
            v[i] = l->v[(l->head + i) % l->cap];
        free(l->v);
        l->v = v;
        l->cap = cap;
        l->head = 0;
    }
    l->v[(l->head + l->n++) % l->cap] = a;
    return 0;
}

/* A control message to node `peer`'s shard 0, from this shard. */
static int send_control(struct shard_net *n, unsigned peer, ts_addr dst, uint64_t type,
                        const void *p, size_t len)
{
    ts_msg *m = net_reserve(n, peer, len);
    if (!m)
        return -ENOMEM;
    m->dst = dst;
    m->src = ts_addr_make(n->sh->node, n->sh->id, SLOT_CONTROL, 0);
    m->type = type;
    m->flags = 0;
    memcpy(m + 1, p, len);
    return 0;
}

static void lease_ask(struct shard_net *n, unsigned peer)
{
    struct net_lease *l = &n->leases[peer];
    uint32_t want = l->want;
    ts_addr to = ts_addr_make(n->peers[peer].tp.node, 0, SLOT_CONTROL, 0);
    if (send_control(n, peer, to, NET_LEASE_REQ, &want, sizeof(want)) == 0)
        l->asked_ns = transport_now_ns();
}

/* Asks when no request is out (or the last one is long unanswered) and
 * fewer than half of what was asked for is left. */
static void lease_check(struct shard_net *n, unsigned peer)
{
    struct net_lease *l = &n->leases[peer];
    if (l->n >= l->want / 2)
        return;
    if (l->asked_ns && transport_now_ns() - l->asked_ns < LEASE_RETRY_NS)
        return;
    lease_ask(n, peer);
}

/* Keeps the shard's count of peers with slots leased to it. */
static void lease_note(struct shard_net *n, struct net_lease *l)
{
    bool has = l->n > 0;
    if (has != l->counted)
        STAT_ADD(n->sh, peer_leases, has ? 1 : (uint64_t)-1);
    l->counted = has;
}

int net_lease_take(struct shard_net *n, uint16_t node, ts_addr *out, uint64_t *epoch)
{
    int peer = n ? net_peer_index(n, node) : -1;
    if (peer < 0)
        return err_set(-EHOSTUNREACH, "node %u is not in this node's peer table", node);
    struct net_lease *l = &n->leases[peer];
    if (!l->n) {
        if (l->want < LEASE_MAX)
            l->want *= 2; /* ran dry: ask for more each time */
        lease_check(n, (unsigned)peer);
        return err_set(-EAGAIN, "node %u has not leased shard %u a slot yet (asked); try again",
                       node, n->sh->id);
    }
    *out = l->v[l->head];
    *epoch = l->epoch;
    l->head = (l->head + 1) % l->cap;
    l->n--;
    lease_note(n, l);
    lease_check(n, (unsigned)peer);
    return 0;
}

void net_lease_return(struct shard_net *n, ts_addr addr, uint64_t epoch)
{
    int peer = net_peer_index(n, ts_addr_node(addr));
    if (peer >= 0 && epoch == n->leases[peer].epoch && lease_push(&n->leases[peer], addr) == 0)
        lease_note(n, &n->leases[peer]); /* no memory: the slot stays unused */
}

void net_lease_prime(struct shard_net *n)
{
    for (unsigned i = 0; n && i < n->npeers; i++)
        if (n->peers[i].live && !n->leases[i].n && !n->leases[i].asked_ns)
            lease_ask(n, i);
}

bool net_leased(const struct shard_net *n, uint16_t node)
{
    int peer = n ? net_peer_index(n, node) : -1;
    return peer >= 0 && n->leases[peer].n > 0;
}

int net_grant_read(const void *p, size_t len, uint64_t *epoch, size_t *count)
{
    if (len < sizeof(*epoch) || (len - sizeof(*epoch)) % sizeof(ts_addr) ||
        (len - sizeof(*epoch)) / sizeof(ts_addr) > LEASE_MAX)
        return -EBADMSG;
    memcpy(epoch, p, sizeof(*epoch));
    *count = (len - sizeof(*epoch)) / sizeof(ts_addr);
    return 0;
}

ts_addr net_grant_addr(const void *p, size_t i, uint16_t node)
{
    ts_addr a;
    memcpy(&a, (const unsigned char *)p + sizeof(uint64_t) + i * sizeof(a), sizeof(a));
    if (ts_addr_node(a) != node || ts_addr_gen(a) == 0 || ts_addr_slot(a) >= SLOT_CONTROL ||
        ts_addr_shard(a) == SHARD_CLIENT)
        return TS_ADDR_NONE;
    return a;
}

/* A grant from node `node`: a newer instance's replaces what an older one
 * granted; an older instance's is stale. Every address is checked. */
static void lease_granted(struct shard_net *n, uint16_t node, const void *p, size_t len)
{
    int peer = net_peer_index(n, node);
    uint64_t epoch;
    size_t count;
    if (peer < 0 || net_grant_read(p, len, &epoch, &count) < 0) {
        system_log(n->sh->sys, TS_LOG_WARNING, "TS-NET-MALFORMED", 0, "",
                   "a lease grant of %zu bytes from node %u was dropped", len, node);
        return;
    }
    struct net_lease *l = &n->leases[peer];
    if (epoch < l->epoch)
        return; /* from an instance of the node that is gone */
    if (epoch > l->epoch) {
        l->n = 0;
        l->head = 0;
        l->epoch = epoch;
    }
    l->asked_ns = 0;
    for (size_t i = 0; i < count; i++) {
        ts_addr addr = net_grant_addr(p, i, node);
        if (addr && lease_push(l, addr) < 0)
            break;
    }
    lease_note(n, l);
}

/* Node `node` asks this node (shard 0, which receives for all) for slots:
 * taken from this shard's own pools, spread over the node's shards. */
static void lease_grant(struct shard_net *n, uint16_t node, ts_addr to, const void *p, size_t len)
{
    struct shard *sh = n->sh;
    int peer = net_peer_index(n, node);
    uint32_t want;
    if (peer < 0 || len != sizeof(want) || ts_addr_node(to) != node) {
        system_log(sh->sys, TS_LOG_WARNING, "TS-NET-MALFORMED", 0, "",
                   "a lease request of %zu bytes from node %u was dropped", len, node);
        return;
    }
    memcpy(&want, p, sizeof(want));
    want = want < 1 ? 1 : want > LEASE_MAX ? LEASE_MAX : want;
    size_t fits = (sh->sys->cfg.max_msg_size - sizeof(uint64_t)) / sizeof(ts_addr);
    if (want > fits) /* a grant is a message like any other */
        want = fits ? (uint32_t)fits : 1;
    ts_msg *m = net_reserve(n, (unsigned)peer, sizeof(uint64_t) + want * sizeof(ts_addr));
    if (!m)
        return;
    *m = (ts_msg){.dst = to, .src = ts_addr_make(sh->node, sh->id, SLOT_CONTROL, 0),
                  .type = NET_LEASE_GRANT};
    unsigned char *out = (unsigned char *)(m + 1);
    memcpy(out, &n->epoch, sizeof(n->epoch));
    uint32_t k = 0;
    for (; k < want; k++) {
        ts_addr a;
        if (shard_lease_slot(sh, (uint8_t)(n->grant_rr++ % sh->nshards), &a) < 0)
            break; /* no slot left: grant what there is */
        memcpy(out + sizeof(uint64_t) + k * sizeof(a), &a, sizeof(a));
    }
    m->len = (uint32_t)(sizeof(uint64_t) + k * sizeof(ts_addr));
}

int net_control(struct shard_net *n, const ts_msg *m)
{
    if (m->type != NET_LEASE_GRANT)
        return -ENOENT;
    lease_granted(n, ts_addr_node(m->src), ts_msg_data(m), m->len);
    return 0;
}

/* A Start from another node: only for this instance's leases (an older
 * one's slots may be anyone's now). Refused: the parent hears of it. */
static void remote_start(struct shard_net *n, const struct frame_hdr *h, const void *payload)
{
    struct shard *sh = n->sh;
    uint64_t epoch = 0;
    if (h->len >= sizeof(epoch))
        memcpy(&epoch, payload, sizeof(epoch));
    if (h->len >= sizeof(epoch) && epoch == n->epoch) {
        if (shard_enqueue(sh, h->dst, h->src, 0, (const unsigned char *)payload + sizeof(epoch),
                          h->len - sizeof(epoch), MSGF_START) < 0)
            system_log(sh->sys, TS_LOG_ERROR, "TS-NET-DROP", h->dst, "",
                       "out of memory for a Start from node %u", h->src_node);
        return;
    }
    system_log(sh->sys, TS_LOG_WARNING, "TS-NET-STALE", h->dst, "",
               "node %u created an actor in a slot an earlier instance of this node leased "
               "it; refused", h->src_node);
    ts_addr parent = start_parent((const unsigned char *)payload + sizeof(epoch),
                                  h->len < sizeof(epoch) ? 0 : h->len - sizeof(epoch));
    if (parent && ts_addr_node(parent) == h->src_node) {
        unsigned char p[CHILD_EXITED_SIZE];
        child_exited_write(p, h->dst, -ESTALE);
        shard_enqueue(sh, parent, h->dst, TS_MSG_CHILD_EXITED, p, sizeof(p), 0);
    }
}

/* A message from another node: into this node's rings like any other.
 * Control messages from outside are only the nets' own. */
static void deliver(void *arg, const struct frame_hdr *h, const void *payload)
{
    struct shard_net *n = ((struct net_port *)arg)->n;
    struct shard *sh = n->sh;
    if (ts_addr_node(h->dst) != sh->node) {
        system_log(sh->sys, TS_LOG_WARNING, "TS-NET-MISROUTED", 0, "",
                   "node %u sent a message for node %u here; dropped", h->src_node,
                   ts_addr_node(h->dst));
        return;
    }
    if (ts_addr_gen(h->dst) == 0) {
        if (h->type == NET_LEASE_REQ)
            lease_grant(n, h->src_node, h->src, payload, h->len);
        else if (h->type == NET_LEASE_GRANT && ts_addr_shard(h->dst) == sh->id)
            lease_granted(n, h->src_node, payload, h->len);
        else if ((h->type == NET_LEASE_GRANT || h->type == TS_MSG_STATUS_REQUEST ||
                  h->type == NET_IMAGE_GET || h->type == NET_IMAGE_DATA ||
                  h->type == NET_IMAGE_NONE || h->type == TS_MSG_VALIDATED_IMAGE) &&
                 ts_addr_shard(h->dst) < sh->nshards) /* a StatusRequest: to the node (status.c) */
            shard_enqueue(sh, h->dst, h->src, h->type, payload, h->len, 0);
        else
            system_log(sh->sys, TS_LOG_WARNING, "TS-NET-MALFORMED", 0, "",
                       "node %u sent control message %016llx to shard %u; refused",
                       h->src_node, (unsigned long long)h->type, ts_addr_shard(h->dst));
        return;
    }
    if (h->type == NET_START) {
        remote_start(n, h, payload);
        return;
    }
    if (shard_enqueue(sh, h->dst, h->src, h->type, payload, h->len, 0) < 0)
        system_log(sh->sys, TS_LOG_ERROR, "TS-NET-DROP", h->dst, "",
                   "out of memory for a message from node %u", h->src_node);
}

/* ---- the shard's peer table ------------------------------------------- */

/* Room for cap peers: the table and its per-peer queues and leases (moved
 * as they are: nothing points into them). */
static int peers_grow(struct shard_net *n, unsigned cap)
{
    if (cap <= n->cap)
        return 0;
    struct net_peer *p = realloc(n->peers, cap * sizeof(*p));
    if (p)
        n->peers = p;
    struct mailq *q = p ? realloc(n->out, cap * sizeof(*q)) : NULL;
    if (q)
        n->out = q;
    struct net_lease *l = q ? realloc(n->leases, cap * sizeof(*l)) : NULL;
    if (!l)
        return -ENOMEM;
    n->leases = l;
    memset(&n->peers[n->cap], 0, (cap - n->cap) * sizeof(*p));
    memset(&n->out[n->cap], 0, (cap - n->cap) * sizeof(*q));
    memset(&n->leases[n->cap], 0, (cap - n->cap) * sizeof(*l));
    n->cap = cap;
    return 0;
}

int net_peer_index(const struct shard_net *n, uint16_t node)
{
    for (unsigned i = 0; i < n->npeers; i++)
        if (n->peers[i].live && n->peers[i].tp.node == node)
            return (int)i;
    return -1;
}

/* Any entry of node, live or forgotten (a member that may come back). */
static int peer_entry(const struct shard_net *n, uint16_t node)
{
    for (unsigned i = 0; i < n->npeers; i++)
        if (n->peers[i].tp.node == node)
            return (int)i;
    return -1;
}

/* What was queued for a peer that is forgotten: each message a dead letter
 * (through the shard's run queue, where an address of no known node is
 * one), a Start the creator's parent hears of, the nets' own dropped. */
static void requeue_one(ts_msg *m, void *arg)
{
    struct shard_net *n = arg;
    struct shard *sh = n->sh;
    if (ts_addr_gen(m->dst) == 0)
        return; /* a lease request or grant: for an instance that is gone */
    if (m->type == NET_START) {
        ts_addr parent = m->len > sizeof(uint64_t)
                             ? start_parent((const unsigned char *)(m + 1) + sizeof(uint64_t),
                                            m->len - sizeof(uint64_t))
                             : TS_ADDR_NONE;
        if (parent) {
            unsigned char p[CHILD_EXITED_SIZE];
            child_exited_write(p, m->dst, -EHOSTUNREACH);
            shard_enqueue(sh, parent, m->dst, TS_MSG_CHILD_EXITED, p, sizeof(p), 0);
        }
        return;
    }
    ts_msg *d = mailq_push(&sh->runq, m->len);
    if (!d) {
        STAT_INC(sh, dead_dropped);
        return;
    }
    memcpy(d, m, sizeof(*m) + m->len);
    STAT_INC(sh, pending);
}

static void peer_forget(struct shard_net *n, unsigned i)
{
    struct net_peer *p = &n->peers[i];
    struct net_port *pt = &n->port[p->kind];
    if (pt->t && pt->ops->peer_del)
        pt->ops->peer_del(pt->t, p->tp.node);
    mailq_foreach(&n->out[i], requeue_one, n);
    mailq_fini(&n->out[i]);
    struct net_lease *l = &n->leases[i];
    l->n = l->head = 0;
    l->epoch = l->asked_ns = 0;
    l->want = LEASE_FIRST;
    lease_note(n, l);
    p->live = false;
}

/* The transport both ends use: the first of tcp, udp, dpdk that this shard
 * has open and the member listens on. */
static int pick_kind(const struct shard_net *n, const struct net_config *theirs)
{
    for (unsigned k = 0; k < NET_KINDS; k++)
        if (n->port[k].t && n->port[k].ops->peer_set && theirs->listen[k].set)
            return (int)k;
    return -1;
}

static int peer_learn(struct shard_net *n, const struct member_rec *m)
{
    struct net_config theirs;
    int rc = net_config_parse(m->endpoints, NULL, m->node, &theirs);
    if (rc < 0)
        return rc;
    int k = pick_kind(n, &theirs);
    if (k < 0) {
        net_config_free(&theirs);
        return err_set(-EPROTONOSUPPORT, "node %u listens on %s: no transport this node uses",
                       m->node, m->endpoints);
    }
    struct transport_peer tp = {.node = m->node, .addrlen = theirs.listen[k].len};
    memcpy(&tp.addr, &theirs.listen[k].addr, theirs.listen[k].len);
    net_config_free(&theirs);
    int i = peer_entry(n, m->node);
    if (i >= 0 && n->peers[i].live && n->peers[i].kind == k && n->peers[i].instance == m->instance &&
        transport_peer_same(&n->peers[i].tp, &tp))
        return 0; /* as it was */
    if (i >= 0 && n->peers[i].live && (n->peers[i].kind != k || n->peers[i].instance != m->instance))
        peer_forget(n, (unsigned)i); /* another transport, or a new instance: a new link */
    if (i < 0) {
        if (peers_grow(n, n->npeers + 1 > n->cap ? 2 * n->cap + 4 : n->cap) < 0)
            return err_set(-ENOMEM, "out of memory");
        i = (int)n->npeers++;
    }
    struct net_port *pt = &n->port[k];
    rc = pt->ops->peer_set(pt->t, &tp);
    if (rc < 0)
        return rc;
    struct net_peer *p = &n->peers[i];
    bool fresh = !p->live;
    *p = (struct net_peer){.tp = tp, .kind = (uint8_t)k, .live = true, .learned = true,
                           .instance = m->instance};
    if (fresh) {
        n->leases[i].want = LEASE_FIRST;
        mailq_init_pooled(&n->out[i], NULL);
    }
    return 0;
}

int net_members_sync(struct shard_net *n, const struct member_rec *v, unsigned count)
{
    int rc = 0;
    for (unsigned i = 0; i < n->npeers; i++) { /* learned, and gone from the table */
        const struct net_peer *p = &n->peers[i];
        bool there = false;
        for (unsigned j = 0; j < count && !there; j++)
            there = v[j].node == p->tp.node && v[j].endpoints[0];
        if (p->live && p->learned && !there)
            peer_forget(n, i);
    }
    for (unsigned j = 0; j < count; j++) {
        int i = peer_entry(n, v[j].node);
        if (!v[j].endpoints[0] || v[j].node == n->sh->node ||
            (i >= 0 && n->peers[i].live && !n->peers[i].learned))
            continue; /* no way to it, itself, or a configured peer: the config wins */
        int r = peer_learn(n, &v[j]);
        if (r == -EBUSY)
            rc = r;
        else if (r < 0 && r != -ENOMEM)
            system_log(n->sh->sys, TS_LOG_WARNING, "TS-CONV-NOLINK", 0, "",
                       "shard %u has no link to node %u: %s", n->sh->id, v[j].node,
                       ts_last_error());
        else if (r == -ENOMEM)
            rc = r;
    }
    return rc;
}

static void on_event(void *arg, uint16_t node, enum transport_event ev, int err)
{
    const struct net_port *pt = arg;
    struct shard_net *n = pt->n;
    int gone = ev == TRANSPORT_MALFORMED && err == -EPERM ? peer_entry(n, node) : -1;
    if (gone >= 0 && !n->peers[gone].live) /* a member that left, still closing its links */
        system_log(n->sh->sys, TS_LOG_INFO, "TS-NET-LEFT", 0, "",
                   "shard %u refused frames from node %u: it left the convention", n->sh->id,
                   node);
    else if (ev == TRANSPORT_MALFORMED && err == -EPERM)
        system_log(n->sh->sys, TS_LOG_WARNING, "TS-NET-MALFORMED", 0, "",
                   "shard %u refused frames from node %u: not in the peer table", n->sh->id,
                   node);
    else if (ev == TRANSPORT_MALFORMED)
        system_log(n->sh->sys, TS_LOG_WARNING, "TS-NET-MALFORMED", 0, "",
                   "shard %u dropped a bad %s from node %u (0: not known yet): %s", n->sh->id,
                   pt->ops == &transport_tcp ? "stream (connection closed)" : "datagram", node,
                   frame_error(err));
    if (ev == TRANSPORT_LINK_UP || ev == TRANSPORT_LINK_DOWN) {
        /* A link in use: lease slots there ahead of need. Down: the node
         * may come back as a new instance, and its grant will say. */
        int peer = net_peer_index(n, node);
        if (peer >= 0 && !n->leases[peer].asked_ns &&
            (ev == TRANSPORT_LINK_DOWN || !n->leases[peer].n))
            lease_ask(n, (unsigned)peer);
    }
    if (ev == TRANSPORT_LINK_DOWN)
        system_log(n->sh->sys, TS_LOG_INFO, "TS-NET-DOWN", 0, "",
                   "shard %u lost its link to node %u (%s); reconnecting", n->sh->id, node,
                   strerror(-err));
}

int net_open(struct shard_net *n, struct shard *sh, const struct net_config *cfg)
{
    *n = (struct shard_net){.sh = sh, .cfg = cfg};
    n->epoch = frame_epoch();
    if (peers_grow(n, cfg->npeers + 4) < 0)
        return err_set(-ENOMEM, "out of memory");
    for (unsigned i = 0; i < cfg->npeers; i++) {
        n->peers[i] = (struct net_peer){.tp = cfg->peers[i], .kind = cfg->peer_kind[i],
                                        .live = true};
        n->leases[i].want = LEASE_FIRST;
    }
    n->npeers = cfg->npeers;
    /* Only this shard writes it: a restarted shard process starts it anew. */
    atomic_store_explicit(&sh->stats->peer_leases, 0, memory_order_relaxed);
    int rc = 0;
    for (unsigned k = 0; rc == 0 && k < NET_KINDS; k++) {
        struct net_port *pt = &n->port[k];
        *pt = (struct net_port){.ops = net_kind_ops(k), .n = n};
        if (!net_config_uses(cfg, k))
            continue;
        /* Shard 0 listens for the node; on dpdk every shard is a port of the
         * node's own address. */
        bool listen = (sh->id == 0 || k == NET_DPDK) && cfg->listen[k].set;
        struct transport_config tc = {
            .node = sh->node,
            .shard = sh->id,
            .listen = listen ? (const struct sockaddr *)&cfg->listen[k].addr : NULL,
            .listen_len = cfg->listen[k].len,
            .peers = cfg->kind_peers[k],
            .npeers = cfg->kind_npeers[k],
            .max_msg = sh->sys->cfg.max_msg_size,
            .queue_limit = (size_t)64 << 20,
            .deliver = deliver,
            .event = on_event,
            .arg = pt,
            .nshards = sh->nshards,
            .device = sh->sys->cfg.dpdk_vdev,
            .device_args = sh->sys->cfg.dpdk_args,
            .device_mbufs = sh->sys->cfg.dpdk_mbufs,
        };
        if (tc.queue_limit < tc.max_msg + FRAME_HDR)
            tc.queue_limit = tc.max_msg + FRAME_HDR;
        rc = pt->ops->open(&tc, &pt->t);
    }
    return rc;
}

/* Every transport's per-link figures, up to max in all. */
static unsigned net_link_stats(struct shard_net *n, struct transport_link_stats *st, unsigned max)
{
    unsigned k = 0;
    for (unsigned i = 0; i < NET_KINDS && k < max; i++) {
        struct net_port *pt = &n->port[i];
        if (!pt->t)
            continue;
        unsigned got = pt->ops->stats(pt->t, st + k, max - k);
        k += got < max - k ? got : max - k;
    }
    return k;
}

void net_close(struct shard_net *n)
{
    for (unsigned k = 0; k < NET_KINDS; k++) {
        if (n->port[k].t)
            n->port[k].ops->close(n->port[k].t);
        n->port[k].t = NULL;
    }
    for (unsigned i = 0; n->out && i < n->npeers; i++)
        mailq_fini(&n->out[i]);
    for (unsigned i = 0; n->leases && i < n->npeers; i++) {
        n->leases[i].n = 0;
        lease_note(n, &n->leases[i]);
        free(n->leases[i].v);
    }
    free(n->out);
    free(n->leases);
    free(n->peers);
    n->out = NULL;
    n->leases = NULL;
    n->peers = NULL;
    n->npeers = n->cap = 0;
}

ts_msg *net_reserve(struct shard_net *n, unsigned peer, size_t len)
{
    atomic_store_explicit(&n->sh->stats->net_pending, 1, memory_order_relaxed);
    return mailq_push(&n->out[peer], len);
}

/* net_pending goes back to 0 once every peer whose link is up has
 * acknowledged all it was sent: then what this node sent is in the peers'
 * rings, where their own idle counters see it (ts_run over several nodes).
 * What waits for a link that is not up is no work this node can finish. */
static void pending_check(struct shard_net *n)
{
    if (!atomic_load_explicit(&n->sh->stats->net_pending, memory_order_relaxed))
        return;
    struct transport_link_stats st[NET_PUB_LINKS];
    unsigned k = net_link_stats(n, st, NET_PUB_LINKS);
    for (unsigned i = 0; i < k; i++) {
        if (!st[i].up)
            continue;
        int peer = net_peer_index(n, st[i].node);
        if (st[i].queued_bytes || (peer >= 0 && n->out[peer].count))
            return;
    }
    atomic_store_explicit(&n->sh->stats->net_pending, 0, memory_order_relaxed);
}

/* The next run of messages to one node, oldest first, at most NET_BATCH. */
#define NET_BATCH 64
struct run {
    struct transport_msg msgs[NET_BATCH];
    unsigned n;
};

static int gather_run(ts_msg *m, void *arg)
{
    struct run *r = arg;
    if (r->n == NET_BATCH)
        return 1;
    r->msgs[r->n++] = (struct transport_msg){.dst = m->dst, .src = m->src, .type = m->type,
                                             .payload = m + 1, .len = m->len};
    return 0;
}

/* The figures of the shard's device: its first transport that has one
 * (only dpdk does, and a node has one dpdk port at most). */
static bool device_stats(struct shard_net *n, struct transport_device_stats *s)
{
    for (unsigned k = 0; k < NET_KINDS; k++) {
        struct net_port *pt = &n->port[k];
        if (pt->t && pt->ops->device_stats && pt->ops->device_stats(pt->t, s))
            return true;
    }
    return false;
}

static void publish_device(struct shard_net *n, struct net_pub_device *d)
{
    struct transport_device_stats s;
    uint64_t now = transport_now_ns();
    if (now - n->device_ns < NET_DEVICE_PUB_NS || !device_stats(n, &s))
        return;
    n->device_ns = now;
    if (!atomic_load_explicit(&d->present, memory_order_relaxed))
        snprintf(d->name, sizeof(d->name), "%s", s.name); /* once: readers may be reading it */
#define PUT(f) atomic_store_explicit(&d->f, s.f, memory_order_relaxed)
    PUT(rx_packets);
    PUT(tx_packets);
    PUT(rx_bytes);
    PUT(tx_bytes);
    PUT(rx_missed);
    PUT(rx_errors);
    PUT(tx_errors);
    PUT(rx_nombuf);
    PUT(not_ours);
    PUT(malformed);
    PUT(forwarded);
    PUT(inbox_full);
    PUT(arp_in);
    PUT(arp_out);
    PUT(tx_dropped);
#undef PUT
    /* Pairs with the acquire in ts_node_status_get: name is written. */
    atomic_store_explicit(&d->present, 1, memory_order_release);
}

void net_publish(struct shard_net *n)
{
    struct transport_link_stats st[NET_PUB_LINKS];
    if (!n->pub)
        return;
    unsigned k = net_link_stats(n, st, NET_PUB_LINKS);
    for (unsigned i = 0; i < k; i++) {
        struct net_pub_link *l = &n->pub->links[i];
        atomic_store_explicit(&l->node_up, st[i].node | (uint64_t)st[i].up << 16,
                              memory_order_relaxed);
        atomic_store_explicit(&l->frames_in, st[i].frames_in, memory_order_relaxed);
        atomic_store_explicit(&l->frames_out, st[i].frames_out, memory_order_relaxed);
        atomic_store_explicit(&l->bytes_in, st[i].bytes_in, memory_order_relaxed);
        atomic_store_explicit(&l->bytes_out, st[i].bytes_out, memory_order_relaxed);
        atomic_store_explicit(&l->retransmits, st[i].retransmits, memory_order_relaxed);
        atomic_store_explicit(&l->reconnects, st[i].reconnects, memory_order_relaxed);
        atomic_store_explicit(&l->malformed, st[i].malformed, memory_order_relaxed);
        atomic_store_explicit(&l->queued_bytes, st[i].queued_bytes, memory_order_relaxed);
    }
    atomic_store_explicit(&n->pub->n, k, memory_order_release);
    if (n->sh->id == 0) /* the port is the node's: one reader of its counters */
        publish_device(n, &n->pub->device);
}

/* Hands node i's queue to the transport until it is empty or the link is
 * full. Returns how many messages went. */
static int send_queued(struct shard_net *n, unsigned i)
{
    struct mailq *q = &n->out[i];
    uint16_t node = n->peers[i].tp.node;
    struct net_port *pt = &n->port[n->peers[i].kind];
    int k = 0;
    while (q->count) {
        struct run r = {.n = 0};
        mailq_foreach_until(q, gather_run, &r);
        int rc = pt->ops->send(pt->t, node, r.msgs, r.n);
        if (rc == -EAGAIN)
            break; /* the link is full: the rest waits, in order */
        if (rc < 0) { /* the first cannot go (its size): dropped, said in the log */
            system_log(n->sh->sys, TS_LOG_ERROR, "TS-NET-DROP", r.msgs[0].dst, "",
                       "a message to node %u cannot be sent: %s", node, ts_last_error());
            rc = 1;
        }
        for (int j = 0; j < rc; j++)
            mailq_pop(q);
        k += rc;
        if ((unsigned)rc < r.n)
            break; /* the link took what it had room for */
    }
    return k;
}

int net_poll(struct shard_net *n)
{
    if ((++n->polls & 255) == 0)
        net_publish(n);
    int k = 0;
    for (unsigned i = 0; i < n->npeers; i++)
        if (n->out[i].count)
            k += send_queued(n, i);
    for (unsigned i = 0; i < NET_KINDS; i++)
        if (n->port[i].t)
            k += n->port[i].ops->poll(n->port[i].t);
    if (!k) /* only when nothing moves: while it does, the shard is not idle anyway */
        pending_check(n);
    return k;
}
