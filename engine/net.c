/* SPDX-License-Identifier: MIT */
/* net.c — a shard's way to other nodes (net.h). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "net.h"
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
            return err_set(-EINVAL, "%s: '%s' has a bad [IPv6] host", what, s);
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

/* A leading "tcp://" or "udp://": its transport, s moved past it; none:
 * NULL; another scheme: -EINVAL. */
static int scheme(const char *what, const char **s, const char *end, struct net_config *c)
{
    const char *sep = strstr(*s, "://");
    if (!sep || sep >= end)
        return 0;
    char name[8];
    size_t n = (size_t)(sep - *s);
    const struct transport_ops *ops = NULL;
    if (n < sizeof(name)) {
        memcpy(name, *s, n);
        name[n] = '\0';
        ops = transport_find(name);
    }
    if (!ops)
        return err_set(-EINVAL, "%s: '%.*s' is not a transport (tcp or udp)", what, (int)n, *s);
    if (c->ops && c->ops != ops)
        return err_set(-EINVAL, "%s: %s and %s: every link of a node uses one transport", what,
                       c->ops->name, ops->name);
    c->ops = ops;
    *s = sep + 3;
    return 0;
}

int net_config_parse(const char *listen, const char *peers, uint16_t self, struct net_config *out)
{
    *out = (struct net_config){0};
    int rc = 0;
    if (listen) {
        const char *at = listen;
        if ((rc = scheme("listen", &at, at + strlen(at), out)) < 0)
            return rc;
        if (!out->ops)
            return err_set(-EINVAL, "listen: '%s' is not tcp://HOST:PORT or udp://HOST:PORT",
                           listen);
        rc = parse_endpoint("listen", at, strlen(at), &out->listen, &out->listen_len);
        if (rc < 0)
            return rc;
        out->listen_set = true;
    }
    for (const char *s = peers; rc == 0 && s && *s;) {
        const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
        const char *eq = memchr(s, '=', (size_t)(end - s));
        char *idend;
        long id = eq ? strtol(s, &idend, 10) : -1;
        if (!eq || idend != eq || id < 0 || id > UINT16_MAX)
            rc = err_set(-EINVAL, "peers: '%.*s' is not ID=HOST:PORT with ID from 0 to 65535",
                         (int)(end - s), s);
        else if (id == self)
            rc = err_set(-EINVAL, "peers: node %ld is this node", id);
        else if (net_config_peer(out, (uint16_t)id) >= 0)
            rc = err_set(-EINVAL, "peers: node %ld is listed twice", id);
        if (rc == 0) {
            struct transport_peer *p = realloc(out->peers, (out->npeers + 1) * sizeof(*p));
            if (!p) {
                rc = err_set(-ENOMEM, "out of memory");
                break;
            }
            out->peers = p;
            p = &out->peers[out->npeers];
            *p = (struct transport_peer){.node = (uint16_t)id};
            const char *at = eq + 1;
            rc = scheme("peers", &at, end, out);
            if (rc == 0)
                rc = parse_endpoint("peers", at, (size_t)(end - at), &p->addr, &p->addrlen);
            if (rc == 0)
                out->npeers++;
        }
        s = comma ? comma + 1 : end;
    }
    if (rc < 0)
        net_config_free(out);
    else if (!out->ops)
        out->ops = &transport_tcp;
    return rc;
}

void net_config_free(struct net_config *c)
{
    free(c->peers);
    *c = (struct net_config){0};
}

int net_config_peer(const struct net_config *c, uint16_t node)
{
    for (unsigned i = 0; i < c->npeers; i++)
        if (c->peers[i].node == node)
            return (int)i;
    return -1;
}

/* A message from another node: into this node's rings like any other. */
static void deliver(void *arg, const struct frame_hdr *h, const void *payload)
{
    struct shard_net *n = arg;
    struct shard *sh = n->sh;
    if (ts_addr_node(h->dst) != sh->node) {
        system_log(sh->sys, TS_LOG_WARNING, "TS-NET-MISROUTED", 0, "",
                   "node %u sent a message for node %u here; dropped", h->src_node,
                   ts_addr_node(h->dst));
        return;
    }
    if (shard_enqueue(sh, h->dst, h->src, h->type, payload, h->len, 0) < 0)
        system_log(sh->sys, TS_LOG_ERROR, "TS-NET-DROP", h->dst, "",
                   "out of memory for a message from node %u", h->src_node);
}

static void on_event(void *arg, uint16_t node, enum transport_event ev, int err)
{
    struct shard_net *n = arg;
    if (ev == TRANSPORT_MALFORMED && err == -EPERM)
        system_log(n->sh->sys, TS_LOG_WARNING, "TS-NET-MALFORMED", 0, "",
                   "shard %u refused frames from node %u: not in the peer table", n->sh->id,
                   node);
    else if (ev == TRANSPORT_MALFORMED)
        system_log(n->sh->sys, TS_LOG_WARNING, "TS-NET-MALFORMED", 0, "",
                   "shard %u dropped a bad %s from node %u (0: not known yet): %s", n->sh->id,
                   n->ops == &transport_tcp ? "stream (connection closed)" : "datagram", node,
                   frame_error(err));
    else if (ev == TRANSPORT_LINK_DOWN)
        system_log(n->sh->sys, TS_LOG_INFO, "TS-NET-DOWN", 0, "",
                   "shard %u lost its link to node %u (%s); reconnecting", n->sh->id, node,
                   strerror(-err));
}

int net_open(struct shard_net *n, struct shard *sh, const struct net_config *cfg)
{
    *n = (struct shard_net){.ops = cfg->ops, .sh = sh, .cfg = cfg};
    struct transport_config tc = {
        .node = sh->node,
        .shard = sh->id,
        .listen = sh->id == 0 && cfg->listen_set ? (const struct sockaddr *)&cfg->listen : NULL,
        .listen_len = cfg->listen_len,
        .peers = cfg->peers,
        .npeers = cfg->npeers,
        .max_msg = sh->sys->cfg.max_msg_size,
        .queue_limit = (size_t)64 << 20,
        .deliver = deliver,
        .event = on_event,
        .arg = n,
    };
    if (tc.queue_limit < tc.max_msg + FRAME_HDR)
        tc.queue_limit = tc.max_msg + FRAME_HDR;
    if (!(n->out = calloc(cfg->npeers ? cfg->npeers : 1, sizeof(*n->out))))
        return err_set(-ENOMEM, "out of memory");
    return n->ops->open(&tc, &n->t);
}

void net_close(struct shard_net *n)
{
    if (n->t)
        n->ops->close(n->t);
    for (unsigned i = 0; n->out && i < n->cfg->npeers; i++)
        mailq_fini(&n->out[i]);
    free(n->out);
    n->out = NULL;
    n->t = NULL;
}

ts_msg *net_reserve(struct shard_net *n, unsigned peer, size_t len)
{
    return mailq_push(&n->out[peer], len);
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

void net_publish(struct shard_net *n)
{
    struct transport_link_stats st[NET_PUB_LINKS];
    if (!n->pub || !n->t)
        return;
    unsigned k = n->ops->stats(n->t, st, NET_PUB_LINKS);
    k = k < NET_PUB_LINKS ? k : NET_PUB_LINKS;
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
}

/* Hands node i's queue to the transport until it is empty or the link is
 * full. Returns how many messages went. */
static int send_queued(struct shard_net *n, unsigned i)
{
    struct mailq *q = &n->out[i];
    uint16_t node = n->cfg->peers[i].node;
    int k = 0;
    while (q->count) {
        struct run r = {.n = 0};
        mailq_foreach_until(q, gather_run, &r);
        int rc = n->ops->send(n->t, node, r.msgs, r.n);
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
    for (unsigned i = 0; i < n->cfg->npeers; i++)
        if (n->out[i].count)
            k += send_queued(n, i);
    return k + n->ops->poll(n->t);
}
