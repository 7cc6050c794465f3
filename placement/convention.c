/* SPDX-License-Identifier: MIT */
/*
 * convention.c — the convention object (convention.h): its start and stop,
 * the calls other threads make, its thread's loop, the member table and
 * the connections both sides use. What only the leader or only a member
 * does is in conv_leader.c and conv_member.c.
 *
 * The thread is the only writer of the table and the only user of the
 * sockets. Other threads hand it requests (caps, log records, name claims
 * and releases, stop, freeze) under the lock and wake it with the eventfd;
 * it copies the table out under the same lock. Callbacks run on the thread
 * with no lock held. The global names table is the one thing other threads
 * write too (the leader's own claims and releases), always under the lock.
 */
#include "conv_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sodium.h>
#include <xxhash.h>

#include <thespis/log.h>
#include <thespis/thespis.h>

#include "../engine/clock.h"
#include "../engine/err.h"
#include "caps.h"

/* ---- notes --------------------------------------------------------------- */

/* Whether a note under key may go now; *held: how many were held back
 * since the last one that went. */
static bool note_due(struct conv *c, uint64_t now, const char *key, unsigned *held)
{
    struct conv_note_slot *slot = NULL, *victim = &c->notes[0];
    for (unsigned i = 0; i < CONV_NOTE_SLOTS; i++) {
        struct conv_note_slot *s = &c->notes[i];
        if (s->key[0] && strcmp(s->key, key) == 0) {
            slot = s;
            break;
        }
        if (victim->key[0] && (!s->key[0] || s->at_ns < victim->at_ns))
            victim = s; /* an empty slot, else the one noted longest ago */
    }
    *held = 0;
    if (!slot) {
        snprintf(victim->key, sizeof(victim->key), "%s", key);
        victim->at_ns = now;
        victim->held = 0;
        return true;
    }
    if (now - slot->at_ns < CONV_NOTE_NS) {
        slot->held++;
        return false;
    }
    *held = slot->held;
    slot->held = 0;
    slot->at_ns = now;
    return true;
}

void conv_note(struct conv *c, uint64_t now, const char *key, int level, const char *id,
               const char *fmt, ...)
{
    unsigned held = 0;
    if (!c->on_log || (key && !note_due(c, now, key, &held)))
        return;
    char text[CONV_LOG_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (held && n >= 0 && (size_t)n < sizeof(text))
        snprintf(text + n, sizeof(text) - (size_t)n, " (and %u more like it since the last "
                 "such note)", held);
    c->on_log(c->arg, c->node, level, id, text);
}

/* ---- the member table ---------------------------------------------------- */

static void fire(struct conv *c, enum conv_event ev, const struct conv_node *n)
{
    if (c->on_member)
        c->on_member(c->arg, ev, n);
}

int conv_table_find(const struct conv *c, uint16_t node)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->table[i].node.node == node)
            return (int)i;
    return -1;
}

void conv_table_add(struct conv *c, const struct conv_node *n, bool leader, bool self,
                    uint64_t heard_ns, struct conv_link *l)
{
    if (c->n >= CONV_MEMBERS_MAX)
        return; /* callers check; a full table takes nothing */
    pthread_mutex_lock(&c->lock);
    struct conv_member *e = &c->table[c->n];
    e->node = *n;
    e->heard_ns = heard_ns;
    e->leader = leader;
    e->self = self;
    if (c->tlink)
        c->tlink[c->n] = l;
    c->n++;
    pthread_mutex_unlock(&c->lock);
    fire(c, CONV_EV_JOINED, n);
}

void conv_table_remove(struct conv *c, int i)
{
    struct conv_node gone;
    pthread_mutex_lock(&c->lock);
    gone = c->table[i].node;
    size_t after = c->n - (unsigned)i - 1;
    memmove(&c->table[i], &c->table[i + 1], after * sizeof(c->table[0]));
    if (c->tlink)
        memmove(&c->tlink[i], &c->tlink[i + 1], after * sizeof(c->tlink[0]));
    c->n--;
    pthread_mutex_unlock(&c->lock);
    fire(c, CONV_EV_LEFT, &gone);
}

bool conv_node_differs(const struct conv_node *a, const struct conv_node *b)
{
    return strcmp(a->name, b->name) != 0 || strcmp(a->caps, b->caps) != 0 ||
           strcmp(a->endpoints, b->endpoints) != 0 || a->nimages != b->nimages ||
           memcmp(a->images, b->images, (size_t)a->nimages * CONV_IMAGE_HASH) != 0;
}

void conv_table_update(struct conv *c, int i, const struct conv_node *n)
{
    if (!conv_node_differs(&c->table[i].node, n))
        return;
    pthread_mutex_lock(&c->lock);
    c->table[i].node = *n;
    pthread_mutex_unlock(&c->lock);
    fire(c, CONV_EV_CAPS, n);
}

void conv_table_heard(struct conv *c, int i, uint64_t now)
{
    pthread_mutex_lock(&c->lock);
    c->table[i].heard_ns = now;
    pthread_mutex_unlock(&c->lock);
}

void conv_self_copy(struct conv *c, struct conv_node *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->self;
    pthread_mutex_unlock(&c->lock);
}

/* ---- global names tables -------------------------------------------------- */

int conv_names_init(struct conv_names *t)
{
    *t = (struct conv_names){0};
    t->slot = calloc(CONV_NAMES_MAX, sizeof(t->slot[0]));
    t->bucket = calloc(CONV_NAMES_BUCKETS, sizeof(t->bucket[0]));
    return t->slot && t->bucket ? 0 : -ENOMEM;
}

void conv_names_fini(struct conv_names *t)
{
    free(t->slot);
    free(t->bucket);
    *t = (struct conv_names){0};
}

static uint32_t *names_chain(const struct conv_names *t, const char *name)
{
    _Static_assert((CONV_NAMES_BUCKETS & (CONV_NAMES_BUCKETS - 1)) == 0,
                   "CONV_NAMES_BUCKETS is a power of two");
    return &t->bucket[XXH3_64bits(name, strlen(name)) & (CONV_NAMES_BUCKETS - 1)];
}

int conv_names_find(const struct conv_names *t, const char *name)
{
    for (uint32_t k = *names_chain(t, name); k; k = t->slot[k - 1].next)
        if (strcmp(t->slot[k - 1].name, name) == 0)
            return (int)k - 1;
    return -1;
}

int conv_names_add(struct conv_names *t, const char *name, uint64_t addr, uint16_t node)
{
    uint32_t k;
    if (t->free) {
        k = t->free;
        t->free = t->slot[k - 1].next;
    } else if (t->hwm < CONV_NAMES_MAX) {
        k = ++t->hwm;
    } else {
        return -ENOSPC;
    }
    struct conv_gname *g = &t->slot[k - 1];
    uint32_t *chain = names_chain(t, name);
    *g = (struct conv_gname){.addr = addr, .node = node, .used = true, .next = *chain};
    snprintf(g->name, sizeof(g->name), "%s", name);
    *chain = k;
    t->n++;
    return (int)k - 1;
}

void conv_names_del(struct conv_names *t, int slot)
{
    struct conv_gname *g = &t->slot[slot];
    uint32_t *p = names_chain(t, g->name);
    while (*p && *p != (uint32_t)slot + 1)
        p = &t->slot[*p - 1].next;
    if (*p) /* always: slot is in its chain */
        *p = g->next;
    *g = (struct conv_gname){.next = t->free};
    t->free = (uint32_t)slot + 1;
    t->n--;
}

/* ---- connections --------------------------------------------------------- */

void conv_sock_tune(int fd)
{
    int one = 1;
    /* Control frames are small and answered at once: no Nagle delay. A
     * failure only costs latency. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ss as "host" and "host:port" ("[v6]:port"). */
static void addr_text(const struct sockaddr_storage *ss, char *host, size_t hl, char *peer,
                      size_t pl)
{
    char h[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    bool v6 = ss->ss_family == AF_INET6;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h));
        port = ntohs(a->sin_port);
    } else if (v6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
        port = ntohs(a->sin6_port);
    }
    snprintf(host, hl, "%s", h);
    snprintf(peer, pl, v6 ? "[%s]:%u" : "%s:%u", h, port);
}

struct conv_link *conv_link_new(struct conv *c, int fd, bool leader_side,
                                const struct sockaddr_storage *peer, uint64_t now)
{
    struct conv_link *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    if (conv_session_init(&l->s, c->key, leader_side) < 0) {
        free(l);
        return NULL;
    }
    l->fd = fd;
    l->heard_ns = now;
    l->deadline_ns = clock_deadline(now, 4ull * c->lost_ms * CONV_NS_PER_MS);
    addr_text(peer, l->host, sizeof(l->host), l->peer, sizeof(l->peer));
    return l;
}

void conv_link_free(struct conv_link *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    conv_session_fini(&l->s);
    free(l->out);
    free(l);
}

void conv_link_kill(struct conv_link *l, const char *fmt, ...)
{
    if (l->dead)
        return; /* the first reason stands */
    l->dead = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->why, sizeof(l->why), fmt, ap);
    va_end(ap);
}

void conv_link_peer_name(const struct conv *c, const struct conv_link *l, char *buf, size_t len)
{
    int i = c->leader && l->joined ? conv_table_find(c, l->node) : -1;
    if (i >= 0)
        snprintf(buf, len, "%s (node %u '%s')", l->peer, l->node, c->table[i].node.name);
    else
        snprintf(buf, len, "%s", l->peer);
}

/* Room for one more whole frame at the end of l's output: 0 or -ENOMEM. */
static int out_room(struct conv_link *l)
{
    if (l->out_cap - l->out_len >= CONV_FRAME_BYTES)
        return 0;
    if (l->out_off) { /* what was sent makes room first */
        memmove(l->out, l->out + l->out_off, l->out_len - l->out_off);
        l->out_len -= l->out_off;
        l->out_off = 0;
        if (l->out_cap - l->out_len >= CONV_FRAME_BYTES)
            return 0;
    }
    size_t cap = l->out_cap ? l->out_cap : 4 * CONV_FRAME_BYTES;
    while (cap - l->out_len < CONV_FRAME_BYTES)
        cap *= 2;
    uint8_t *p = realloc(l->out, cap);
    if (!p)
        return -ENOMEM;
    l->out = p;
    l->out_cap = cap;
    return 0;
}

int conv_link_send(struct conv *c, struct conv_link *l, const struct conv_msg *m, uint64_t now)
{
    if (l->dead || l->closing)
        return -EPIPE;
    if (out_room(l) < 0) {
        conv_link_kill(l, "out of memory for its output");
        return -ENOMEM;
    }
    ssize_t n = conv_encode(&l->s, m, l->out + l->out_len, l->out_cap - l->out_len);
    if (n < 0)
        return (int)n; /* nothing was written and the session did not move */
    l->out_len += (size_t)n;
    size_t unsent = l->out_len - l->out_off;
    if (unsent > CONV_OUT_MAX) {
        char who[160];
        conv_link_peer_name(c, l, who, sizeof(who));
        char key[80];
        snprintf(key, sizeof(key), "TS-CONV-SLOW@%s", l->host);
        conv_note(c, now, key, TS_LOG_WARNING, "TS-CONV-SLOW",
                  "%s reads too slowly (%zu bytes unsent): connection closed", who, unsent);
        l->quiet = true;
        conv_link_kill(l, "too slow: %zu bytes unsent", unsent);
        return -ENOBUFS;
    }
    return 0;
}

void conv_link_flush(struct conv_link *l)
{
    while (!l->dead && !l->connecting && l->out_off < l->out_len) {
        ssize_t n = send(l->fd, l->out + l->out_off, l->out_len - l->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            l->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            conv_link_kill(l, "send: %s", n < 0 ? strerror(errno) : "nothing sent");
            return;
        }
    }
    if (l->out_off == l->out_len)
        l->out_off = l->out_len = 0;
    if (l->closing && !l->shut && !l->dead && l->out_len == 0) {
        /* The last frame is out: say so, and read until the peer closes. */
        shutdown(l->fd, SHUT_WR);
        l->shut = true;
    }
}

/* Hands every whole frame in l's input to on_frame, then keeps the rest. */
static void take_frames(struct conv *c, struct conv_link *l, uint64_t now,
                        void (*on_frame)(struct conv *, struct conv_link *, int,
                                         const struct conv_msg *, uint64_t))
{
    size_t at = 0;
    struct conv_msg m;
    while (!l->dead && !l->closing) {
        ssize_t len = conv_frame_len(l->in + at, l->in_len - at);
        if (len == 0)
            break;
        if (len < 0) {
            char who[160], key[80];
            conv_link_peer_name(c, l, who, sizeof(who));
            snprintf(key, sizeof(key), "TS-CONV-MALFORMED@%s", l->host);
            conv_note(c, now, key, TS_LOG_WARNING, "TS-CONV-MALFORMED",
                      "%s: %s; connection closed", who, ts_last_error());
            l->quiet = true;
            conv_link_kill(l, "a frame of a bad length");
            break;
        }
        int rc = conv_decode(&l->s, l->in + at, (size_t)len, &m);
        at += (size_t)len;
        if (rc == 0)
            l->heard_ns = now;
        on_frame(c, l, rc, &m, now);
    }
    if (l->dead || l->closing) {
        l->in_len = 0;
    } else {
        memmove(l->in, l->in + at, l->in_len - at);
        l->in_len -= at;
    }
}

void conv_link_read(struct conv *c, struct conv_link *l, uint64_t now,
                    void (*on_frame)(struct conv *, struct conv_link *, int,
                                     const struct conv_msg *, uint64_t))
{
    /* A few buffers a turn: one busy peer does not starve the others. */
    for (int round = 0; round < 8 && !l->dead; round++) {
        ssize_t n = recv(l->fd, l->in + l->in_len, sizeof(l->in) - l->in_len, MSG_DONTWAIT);
        if (n == 0) {
            conv_link_kill(l, "the peer closed the connection");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conv_link_kill(l, "recv: %s", strerror(errno));
            return;
        }
        if (l->closing) /* only its goodbye is awaited: input is dropped */
            continue;
        l->in_len += (size_t)n;
        take_frames(c, l, now, on_frame);
    }
}

/* ---- the thread ---------------------------------------------------------- */

void conv_wake(struct conv *c)
{
    uint64_t one = 1;
    /* Fails only when the counter is full, and then the thread is awake. */
    (void)!write(c->efd, &one, sizeof(one));
}

static void drain_wake(struct conv *c)
{
    uint64_t v;
    (void)!read(c->efd, &v, sizeof(v));
}

/* The links of this turn: every one the leader has, or the member's one. */
static unsigned links_of(struct conv *c, struct conv_link **out)
{
    if (!c->leader) {
        out[0] = c->m.up;
        return c->m.up ? 1 : 0;
    }
    memcpy(out, c->links, c->nlinks * sizeof(out[0]));
    return c->nlinks;
}

static bool any_dead(struct conv *c)
{
    struct conv_link *ls[CONV_LINKS_MAX];
    unsigned n = links_of(c, ls);
    for (unsigned i = 0; i < n; i++)
        if (ls[i]->dead)
            return true;
    return false;
}

/* Closes what died and sends what is queued, until neither makes more of
 * the other (a LEFT broadcast may overflow another member). */
static void settle(struct conv *c, uint64_t now)
{
    do {
        if (c->leader)
            conv_leader_sweep(c, now);
        else
            conv_member_sweep(c, now);
        struct conv_link *ls[CONV_LINKS_MAX];
        unsigned n = links_of(c, ls);
        for (unsigned i = 0; i < n; i++)
            conv_link_flush(ls[i]);
    } while (any_dead(c));
}

/* Waits in poll until a socket is ready, the eventfd is written or next
 * (monotonic ns, UINT64_MAX: none) comes, then handles what is ready. */
static void wait_and_handle(struct conv *c, uint64_t now, uint64_t next)
{
    struct pollfd pfd[2 + CONV_LINKS_MAX];
    struct conv_link *pl[2 + CONV_LINKS_MAX] = {NULL};
    unsigned n = 0;
    int lidx = -1;
    pfd[n++] = (struct pollfd){.fd = c->efd, .events = POLLIN};
    if (c->leader && now >= c->accept_pause_ns) {
        lidx = (int)n;
        pfd[n++] = (struct pollfd){.fd = c->lfd, .events = POLLIN};
    } else if (c->leader && c->accept_pause_ns < next) {
        next = c->accept_pause_ns;
    }
    struct conv_link *ls[CONV_LINKS_MAX];
    unsigned nl = links_of(c, ls);
    for (unsigned i = 0; i < nl; i++) {
        struct conv_link *l = ls[i];
        short ev = l->connecting ? POLLOUT : POLLIN;
        if (l->out_len > l->out_off)
            ev |= POLLOUT;
        pl[n] = l;
        pfd[n++] = (struct pollfd){.fd = l->fd, .events = ev};
    }
    int timeout = -1;
    if (next != UINT64_MAX)
        timeout = next <= now ? 0 : (int)((next - now + CONV_NS_PER_MS - 1) / CONV_NS_PER_MS);
    if (poll(pfd, n, timeout) <= 0)
        return; /* a timeout, or EINTR: the loop looks again */
    now = clock_now_ns();
    if (pfd[0].revents)
        drain_wake(c);
    if (lidx >= 0 && pfd[lidx].revents)
        conv_leader_accept(c, now);
    for (unsigned i = 0; i < n; i++) {
        struct conv_link *l = pl[i];
        short re = pfd[i].revents;
        if (!l || !re || l->dead)
            continue;
        if (l->connecting) {
            conv_member_connected(c, now);
            continue;
        }
        if (re & (POLLIN | POLLHUP | POLLERR))
            conv_link_read(c, l, now, c->leader ? conv_leader_frame : conv_member_frame);
        if (re & POLLOUT)
            conv_link_flush(l);
    }
}

/* The convention whose thread this is (NULL on any other thread): a claim
 * made from its callbacks would wait for itself. Set by the thread, so no
 * other thread's write races with it. */
static _Thread_local const struct conv *conv_of_thread;

static void *conv_main(void *arg)
{
    struct conv *c = arg;
    char caps[CONV_CAPS_MAX];
    conv_of_thread = c;
    if (c->leader)
        fire(c, CONV_EV_JOINED, &c->table[0].node);
    else
        conv_member_begin(c, clock_now_ns());
    for (;;) {
        pthread_mutex_lock(&c->lock);
        bool stop = c->stop, frozen = c->frozen, caps_new = c->caps_dirty && !frozen;
        if (caps_new)
            memcpy(caps, c->self.caps, sizeof(caps));
        c->caps_dirty = c->caps_dirty && frozen;
        pthread_mutex_unlock(&c->lock);
        if (stop)
            break;
        if (frozen) { /* the test hook: nothing but the eventfd */
            struct pollfd p = {.fd = c->efd, .events = POLLIN};
            if (poll(&p, 1, -1) > 0)
                drain_wake(c);
            continue;
        }
        uint64_t now = clock_now_ns();
        if (c->leader) {
            if (caps_new)
                conv_leader_caps(c, caps, now);
            conv_leader_tick(c, now);
        } else {
            conv_member_tick(c, now);
            conv_member_send_names(c, now);
            conv_member_send_logs(c, now);
        }
        settle(c, now);
        uint64_t next = c->leader ? conv_leader_next(c) : conv_member_next(c);
        wait_and_handle(c, now, next);
        settle(c, clock_now_ns());
    }
    pthread_mutex_lock(&c->lock);
    bool frozen = c->frozen;
    pthread_mutex_unlock(&c->lock);
    if (c->leader)
        conv_leader_close_all(c);
    else
        conv_member_leave(c, !frozen);
    return NULL;
}

/* ---- start and stop ------------------------------------------------------ */

/* c->addr, "HOST:PORT" ("[V6]:PORT"), into c->sa: its first addresses. */
static int resolve(struct conv *c)
{
    const char *addr = c->addr;
    bool leader = c->leader;
    char buf[CONV_ENDPOINTS_MAX];
    if (strlen(addr) >= sizeof(buf))
        return err_set(-EINVAL, "convention address '%.40s...' is too long", addr);
    snprintf(buf, sizeof(buf), "%s", addr);
    char *host = buf, *colon = strrchr(buf, ':');
    if (!colon || colon == buf || !colon[1])
        return err_set(-EINVAL, "convention address '%s' is not HOST:PORT", addr);
    *colon = '\0';
    const char *port = colon + 1;
    size_t hl = strlen(host);
    if (host[0] == '[') {
        if (hl < 3 || host[hl - 1] != ']')
            return err_set(-EINVAL, "convention address '%s': a bad [IPv6] host", addr);
        host[hl - 1] = '\0';
        host++;
    } else if (strchr(host, ':')) {
        return err_set(-EINVAL, "convention address '%s': an IPv6 host goes in brackets, "
                       "[%s]:PORT", addr, host);
    }
    char *end;
    unsigned long p = strtoul(port, &end, 10);
    if (*end || port[0] < '0' || port[0] > '9' || p > 65535 || (!leader && p == 0))
        return err_set(-EINVAL, "convention address '%s': the port must be a number from %d "
                       "to 65535", addr, leader ? 0 : 1);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV},
                    *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc == EAI_AGAIN)
        return err_set(-EAGAIN, "convention address '%s': cannot resolve '%s' for now: %s",
                       addr, host, gai_strerror(rc));
    if (rc != 0 || !ai)
        return err_set(-EINVAL, "convention address '%s': cannot resolve '%s': %s", addr, host,
                       rc ? gai_strerror(rc) : "no address");
    for (const struct addrinfo *a = ai; a && c->nsa < CONV_ADDRS_MAX; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(c->sa[0]))
            continue;
        memcpy(&c->sa[c->nsa], a->ai_addr, a->ai_addrlen);
        c->salen[c->nsa++] = (socklen_t)a->ai_addrlen;
    }
    freeaddrinfo(ai);
    if (c->nsa == 0)
        return err_set(-EINVAL, "convention address '%s': no usable address", addr);
    return 0;
}

static int listen_at(struct conv *c)
{
    int fd = socket(c->sa[0].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(-errno, "convention leader: socket: %s", strerror(errno));
    int one = 1, rc = 0;
    /* A restarted leader binds again while its old connections linger in TIME_WAIT. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (bind(fd, (struct sockaddr *)&c->sa[0], c->salen[0]) < 0)
        rc = err_set(-errno, "convention leader: cannot listen at %s: %s%s", c->addr,
                     strerror(errno), errno == EADDRINUSE ? " (another leader there?)" : "");
    else if (listen(fd, 64) < 0)
        rc = err_set(-errno, "convention leader: listen at %s: %s", c->addr, strerror(errno));
    else if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        rc = err_set(-errno, "convention leader: getsockname: %s", strerror(errno));
    if (rc < 0) {
        close(fd);
        return rc;
    }
    c->lfd = fd;
    c->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

static int check_text(const char *s, size_t size, const char *what)
{
    if (s && strlen(s) >= size)
        return err_set(-EINVAL, "convention: %s longer than %zu characters", what, size - 1);
    return 0;
}

static int check_config(const struct conv_config *cfg)
{
    struct caps parsed;
    int rc;
    if (!cfg->addr || !cfg->name)
        return err_set(-EINVAL, "conv_start: NULL addr or name");
    if (!cfg->name[0])
        return err_set(-EINVAL, "convention: a node needs a name");
    if ((rc = check_text(cfg->name, CONV_NAME_MAX, "the node name")) < 0 ||
        (rc = check_text(cfg->caps, CONV_CAPS_MAX, "the capabilities")) < 0 ||
        (rc = check_text(cfg->endpoints, CONV_ENDPOINTS_MAX, "the endpoints")) < 0)
        return rc;
    if (cfg->nimages > CONV_IMAGES_MAX || (cfg->nimages && !cfg->images))
        return err_set(-EINVAL, "convention: %u code images (at most %d, and given)",
                       cfg->nimages, CONV_IMAGES_MAX);
    if ((rc = caps_parse(cfg->caps, &parsed)) < 0)
        return err_set(-EINVAL, "convention: capabilities '%s': %s", cfg->caps,
                       ts_last_error());
    unsigned hb = cfg->heartbeat_ms ? cfg->heartbeat_ms : CONV_HEARTBEAT_MS;
    unsigned lost = cfg->lost_ms ? cfg->lost_ms : CONV_LOST_MS;
    if (lost <= hb || lost > 3600000u)
        return err_set(-EINVAL, "convention: lost_ms %u must exceed heartbeat_ms %u (and be at "
                       "most an hour)", lost, hb);
    return 0;
}

static void conv_free(struct conv *c)
{
    if (!c)
        return;
    if (c->efd >= 0)
        close(c->efd);
    if (c->lfd >= 0)
        close(c->lfd);
    free(c->table);
    free(c->tlink);
    free(c->m.list);
    free(c->logq);
    /* What is left on the list is the list's: no claimer waits any more. */
    for (struct conv_nameop *op = c->ops_head, *next; op; op = next) {
        next = op->next;
        free(op);
    }
    conv_names_fini(&c->names);
    pthread_cond_destroy(&c->names_cv);
    pthread_mutex_destroy(&c->lock);
    sodium_memzero(c->key, sizeof(c->key));
    free(c);
}

/* c's copy of cfg: what does not fail. */
static void take_config(struct conv *c, const struct conv_config *cfg)
{
    c->leader = cfg->leader;
    c->node = cfg->node;
    memcpy(c->key, cfg->key, CONV_KEY);
    c->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : CONV_HEARTBEAT_MS;
    c->lost_ms = cfg->lost_ms ? cfg->lost_ms : CONV_LOST_MS;
    snprintf(c->addr, sizeof(c->addr), "%s", cfg->addr);
    c->on_member = cfg->on_member;
    c->on_log = cfg->on_log;
    c->on_state = cfg->on_state;
    c->on_name_lost = cfg->on_name_lost;
    c->addr_node = cfg->addr_node;
    c->arg = cfg->arg;
    c->self.node = cfg->node;
    snprintf(c->self.name, sizeof(c->self.name), "%s", cfg->name);
    snprintf(c->self.caps, sizeof(c->self.caps), "%s", cfg->caps ? cfg->caps : "");
    snprintf(c->self.endpoints, sizeof(c->self.endpoints), "%s",
             cfg->endpoints ? cfg->endpoints : "");
    c->self.nimages = (uint16_t)cfg->nimages;
    if (cfg->nimages)
        memcpy(c->self.images, cfg->images, (size_t)cfg->nimages * CONV_IMAGE_HASH);
}

static int start_thread(struct conv *c)
{
    sigset_t all, old;
    sigfillset(&all);
    /* The thread takes no signal meant for the process. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, conv_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return err_set(-rc, "convention: cannot start its thread: %s", strerror(rc));
    pthread_setname_np(c->thread, c->leader ? "ts-conv-leader" : "ts-conv");
    c->started = true;
    return 0;
}

int conv_start(const struct conv_config *cfg, struct conv **out)
{
    if (!out)
        return err_set(-EINVAL, "conv_start: NULL out");
    *out = NULL;
    if (!cfg)
        return err_set(-EINVAL, "conv_start: NULL config");
    int rc = check_config(cfg);
    if (rc < 0)
        return rc;
    if (sodium_init() < 0)
        return err_set(-EIO, "libsodium could not start (no source of randomness?)");
    struct conv *c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(-ENOMEM, "convention: out of memory");
    c->efd = c->lfd = -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* claims wait by the monotonic clock */
    pthread_cond_init(&c->names_cv, &ca);
    pthread_condattr_destroy(&ca);
    take_config(c, cfg);
    do
        randombytes_buf(&c->instance, sizeof(c->instance));
    while (c->instance == 0);
    c->self.instance = c->instance;
    c->table = calloc(CONV_MEMBERS_MAX, sizeof(c->table[0]));
    c->tlink = c->leader ? calloc(CONV_MEMBERS_MAX, sizeof(c->tlink[0])) : NULL;
    c->m.list = c->leader ? NULL : calloc(CONV_MEMBERS_MAX, sizeof(c->m.list[0]));
    c->logq = c->leader ? NULL : calloc(CONV_LOGQ_MAX, sizeof(c->logq[0]));
    if (!c->table || (c->leader ? !c->tlink : !c->m.list || !c->logq) ||
        conv_names_init(&c->names) < 0) {
        rc = err_set(-ENOMEM, "convention: out of memory");
        goto fail;
    }
    if ((rc = resolve(c)) < 0)
        goto fail;
    c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->efd < 0) {
        rc = err_set(-errno, "convention: eventfd: %s", strerror(errno));
        goto fail;
    }
    if (c->leader) {
        if ((rc = listen_at(c)) < 0)
            goto fail;
        /* The leader's own entry, announced (JOINED) on the thread's first turn. */
        c->table[0] = (struct conv_member){.node = c->self, .leader = true, .self = true};
        c->n = 1;
    }
    if ((rc = start_thread(c)) < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    conv_free(c);
    return rc;
}

void conv_stop(struct conv *c)
{
    if (!c)
        return;
    if (c->started) {
        pthread_mutex_lock(&c->lock);
        c->stop = true;
        pthread_cond_broadcast(&c->names_cv);
        pthread_mutex_unlock(&c->lock);
        conv_wake(c);
        pthread_join(c->thread, NULL);
    }
    /* Claims woken by the stop leave before c goes: each says so. */
    pthread_mutex_lock(&c->lock);
    while (c->claimers)
        pthread_cond_wait(&c->names_cv, &c->lock);
    pthread_mutex_unlock(&c->lock);
    conv_free(c);
}

/* ---- calls from any thread ----------------------------------------------- */

uint16_t conv_port(const struct conv *c)
{
    return c && c->leader ? c->port : 0;
}

uint64_t conv_instance(const struct conv *c)
{
    return c ? c->instance : 0;
}

int conv_set_caps(struct conv *c, const char *caps)
{
    if (!c)
        return err_set(-EINVAL, "conv_set_caps: NULL convention");
    if (!caps)
        caps = "";
    struct caps parsed;
    if (strlen(caps) >= CONV_CAPS_MAX)
        return err_set(-EINVAL, "convention: capabilities longer than %d characters",
                       CONV_CAPS_MAX - 1);
    if (caps_parse(caps, &parsed) < 0)
        return err_set(-EINVAL, "convention: capabilities '%s': %s", caps, ts_last_error());
    pthread_mutex_lock(&c->lock);
    bool changed = strcmp(c->self.caps, caps) != 0;
    if (changed) {
        snprintf(c->self.caps, sizeof(c->self.caps), "%s", caps);
        c->caps_dirty = true;
    }
    pthread_mutex_unlock(&c->lock);
    if (changed)
        conv_wake(c);
    return 0;
}

int conv_forward_log(struct conv *c, int level, const char *id, const char *text)
{
    if (!c || !id || !text)
        return err_set(-EINVAL, "conv_forward_log: NULL argument");
    if (c->leader)
        return err_set(-EINVAL, "conv_forward_log: the leader has no one to forward to");
    if (level < 0 || level > CONV_LOG_LEVEL_MAX)
        return err_set(-EINVAL, "conv_forward_log: level %d outside 0..%d", level,
                       CONV_LOG_LEVEL_MAX);
    if (strlen(id) >= CONV_LOG_ID_MAX)
        return err_set(-EINVAL, "conv_forward_log: id '%s' longer than %d characters", id,
                       CONV_LOG_ID_MAX - 1);
    pthread_mutex_lock(&c->lock);
    if (c->lq_n == CONV_LOGQ_MAX) {
        c->log_dropped++;
        c->log_dropped_untold++;
        pthread_mutex_unlock(&c->lock);
        return err_set(-ENOBUFS, "conv_forward_log: the queue to the leader is full "
                       "(%d records): dropped", CONV_LOGQ_MAX);
    }
    struct conv_logrec *r = &c->logq[(c->lq_head + c->lq_n) % CONV_LOGQ_MAX];
    r->level = (uint8_t)level;
    snprintf(r->id, sizeof(r->id), "%s", id);
    snprintf(r->text, sizeof(r->text), "%s", text);
    c->lq_n++;
    pthread_mutex_unlock(&c->lock);
    conv_wake(c);
    return 0;
}

bool conv_log_pop(struct conv *c, struct conv_msg *m)
{
    bool have = true;
    m->type = CONV_LOG;
    pthread_mutex_lock(&c->lock);
    if (c->lq_n) {
        const struct conv_logrec *r = &c->logq[c->lq_head];
        m->u.log.level = r->level;
        memcpy(m->u.log.id, r->id, sizeof(r->id));
        memcpy(m->u.log.text, r->text, sizeof(r->text));
        c->lq_head = (c->lq_head + 1) % CONV_LOGQ_MAX;
        c->lq_n--;
    } else if (c->log_dropped_untold) {
        m->u.log.level = TS_LOG_WARNING;
        snprintf(m->u.log.id, sizeof(m->u.log.id), "TS-CONV-DROPPED");
        snprintf(m->u.log.text, sizeof(m->u.log.text),
                 "%llu log records were dropped: the queue to the leader was full",
                 (unsigned long long)c->log_dropped_untold);
        c->log_dropped_untold = 0;
    } else {
        have = false;
    }
    pthread_mutex_unlock(&c->lock);
    return have;
}

uint64_t conv_logs_dropped(struct conv *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->lock);
    uint64_t n = c->log_dropped;
    pthread_mutex_unlock(&c->lock);
    return n;
}

unsigned conv_members(struct conv *c, struct conv_member *out, unsigned max)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->lock);
    unsigned n = c->n;
    if (out && max)
        memcpy(out, c->table, (n < max ? n : max) * sizeof(*out));
    pthread_mutex_unlock(&c->lock);
    return n;
}

void conv_freeze(struct conv *c, bool frozen)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->frozen = frozen;
    pthread_mutex_unlock(&c->lock);
    conv_wake(c);
}

/* name as a global name: 0, or -EINVAL saying why, for the call fn. */
static int check_gname(const char *fn, const char *name)
{
    size_t len = strnlen(name, CONV_GNAME_MAX);
    if (len == 0)
        return err_set(-EINVAL, "%s: an empty global name", fn);
    if (len == CONV_GNAME_MAX)
        return err_set(-EINVAL, "%s: global name '%.40s...' longer than %d characters", fn,
                       name, CONV_GNAME_MAX - 1);
    return 0;
}

unsigned conv_names_count(struct conv *c)
{
    pthread_mutex_lock(&c->lock);
    unsigned n = c->names.n;
    pthread_mutex_unlock(&c->lock);
    return n;
}

int conv_name_claim(struct conv *c, const char *name, uint64_t addr, unsigned timeout_ms,
                    uint64_t *holder)
{
    if (!c || !name || !holder)
        return err_set(-EINVAL, "conv_name_claim: NULL argument");
    int rc = check_gname("conv_name_claim", name);
    if (rc < 0)
        return rc;
    /* The thread answers a member's claims: it must not be the one waiting. */
    if (conv_of_thread == c)
        return err_set(-EDEADLK, "conv_name_claim: called from a convention callback");
    if (!c->leader)
        return conv_member_claim(c, name, addr, timeout_ms, holder);
    rc = conv_leader_claim(c, name, addr, c->node, holder);
    if (rc == -ENOSPC)
        return err_set(rc, "conv_name_claim '%s': the convention holds %d global names "
                       "already", name, CONV_NAMES_MAX);
    return rc;
}

int conv_name_release(struct conv *c, const char *name, uint64_t addr)
{
    if (!c || !name)
        return err_set(-EINVAL, "conv_name_release: NULL argument");
    int rc = check_gname("conv_name_release", name);
    if (rc < 0)
        return rc;
    rc = c->leader ? conv_leader_release(c, name, addr, c->node)
                   : conv_member_release(c, name, addr);
    if (rc == -ENOENT)
        return err_set(rc, "conv_name_release: this node does not hold global name '%s' "
                       "for %#llx", name, (unsigned long long)addr);
    return rc;
}

int conv_name_adopt(struct conv *c, const char *name, uint64_t addr)
{
    if (!c || !name)
        return err_set(-EINVAL, "conv_name_adopt: NULL argument");
    int rc = check_gname("conv_name_adopt", name);
    if (rc < 0)
        return rc;
    if (!c->leader)
        return conv_member_adopt(c, name, addr);
    uint64_t holder = 0;
    rc = conv_leader_claim(c, name, addr, c->node, &holder);
    if (rc == 0 && holder != addr)
        rc = err_set(-EEXIST, "conv_name_adopt: global name '%s' is %#llx's", name,
                     (unsigned long long)holder);
    else if (rc == -ENOSPC)
        rc = err_set(rc, "conv_name_adopt '%s': the convention holds %d global names already",
                     name, CONV_NAMES_MAX);
    return rc;
}

const char *conv_state_name(int state)
{
    switch (state) {
    case CONV_ST_CONNECTING: return "connecting";
    case CONV_ST_JOINED: return "joined";
    case CONV_ST_REFUSED: return "refused";
    case CONV_ST_LOST: return "lost";
    default: return "unknown";
    }
}
