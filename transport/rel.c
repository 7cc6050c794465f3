/* SPDX-License-Identifier: MIT */
/* rel.c — the reliability layer of the datagram transports (rel.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/err.h"
#include "rel.h"

#define RTO_INIT (10u * 1000000u)   /* before any round trip is measured */
#define RTO_MIN (1u * 1000000u)
#define RTO_MAX (500u * 1000000u)
#define DOWN_AFTER 6                /* expiries in a row that make a link down */
#define RXWIN_MIN 2048u             /* frames a receiver holds beyond a gap */
#define CHUNK_SIZE (256u << 10)
#define EVENT_GAP (1000u * 1000000u) /* at most one malformed event a second per link */

/* ---- the sending side: one per peer node -------------------------------- */

/* Frames live encoded in chunks that never move; a chunk is freed when the
 * last frame in it is acknowledged. */
struct chunk {
    struct chunk *next;
    size_t used, cap;
    unsigned live;
    unsigned char data[];
};

struct ent {
    unsigned char *p; /* the encoded frame */
    struct chunk *ck;
    uint64_t sent_ns; /* last sent, 0: not yet */
    uint32_t len;
    uint16_t xmits;
    uint8_t sacked, queued, more;
};

struct outlink {
    struct transport_peer peer;
    uint64_t epoch; /* this link's incarnation, in its HELLOs (rel_peer_set) */
    uint64_t base; /* oldest frame not acknowledged */
    uint64_t next; /* next frame never sent */
    uint64_t end;  /* next sequence to assign */
    struct ent *ents;
    size_t cap; /* power of two: ents[seq & (cap - 1)] */
    struct chunk *ck_head, *ck_tail, *ck_free;
    size_t queued_bytes;
    uint64_t *rq; /* sequences to resend, a ring of cap */
    size_t rq_head, rq_n;
    uint64_t srtt, rttvar, rto, timer_at;
    unsigned expiries;
    bool base_more; /* frame `base` continues a message */
    bool up, reported_down;
    uint64_t malformed_at;
    struct transport_link_stats st;
};

/* ---- the receiving side: one per sending (node, shard) ------------------ */

struct stashed {
    struct frame_hdr h;
    unsigned char payload[];
};

struct inlink {
    uint16_t node;
    uint8_t shard;
    unsigned link; /* the peer's outlink (its index), for its figures */
    uint64_t epoch;
    uint64_t cum; /* every frame up to it consumed */
    struct stashed **stash; /* rxwin slots, by seq */
    unsigned nstashed;
    bool ack_owed, skip;
    struct sockaddr_storage reply;
    socklen_t reply_len;
    struct frame_hdr asm_h; /* the message being reassembled, when asm_on */
    bool asm_on;
    unsigned char *asm_buf;
    size_t asm_len, asm_cap;
};

struct rel {
    struct rel_config cfg;
    struct outlink *links; /* the peer table: moves when it grows; */
    unsigned nlinks, caplinks; /* an inlink names its outlink by index */
    struct inlink *in;
    unsigned nin, capin, rxwin;
    uint64_t stray, stray_at;
    uint64_t epoch_hi; /* the largest epoch a link was given */
    bool busy;         /* in rel_input or rel_output: the table stays as it is */
};

static void event(struct rel *r, uint16_t node, enum transport_event ev, int err)
{
    if (r->cfg.event)
        r->cfg.event(r->cfg.arg, node, ev, err);
}

static int link_of(const struct rel *r, uint16_t node)
{
    for (unsigned i = 0; i < r->nlinks; i++)
        if (r->links[i].peer.node == node)
            return (int)i;
    return -1;
}

static struct outlink outlink_new(const struct transport_peer *peer, uint64_t epoch)
{
    return (struct outlink){.peer = *peer, .epoch = epoch, .base = 1, .next = 1, .end = 1,
                            .rto = RTO_INIT, .st.node = peer->node};
}

int rel_open(const struct rel_config *cfg, struct rel **out)
{
    if (cfg->dgram_max < 2 * FRAME_HDR + 64 || cfg->dgram_max > UINT16_MAX)
        return err_set(-EINVAL, "datagram size %zu is not from %u to 65535", cfg->dgram_max,
                       2 * FRAME_HDR + 64);
    struct rel *r = calloc(1, sizeof(*r));
    unsigned cap = cfg->npeers > 4 ? cfg->npeers : 4;
    struct outlink *links = calloc(cap, sizeof(*links));
    if (!r || !links) {
        free(r);
        free(links);
        return err_set(-ENOMEM, "out of memory");
    }
    r->cfg = *cfg;
    r->cfg.peers = NULL; /* copied below: the caller's may go */
    if (!r->cfg.window)
        r->cfg.window = 1024;
    if (!r->cfg.epoch)
        r->cfg.epoch = frame_epoch();
    r->epoch_hi = r->cfg.epoch;
    r->rxwin = RXWIN_MIN;
    while (r->rxwin < 2 * r->cfg.window)
        r->rxwin *= 2;
    r->links = links;
    r->caplinks = cap;
    r->nlinks = cfg->npeers;
    for (unsigned i = 0; i < cfg->npeers; i++)
        links[i] = outlink_new(&cfg->peers[i], r->cfg.epoch);
    *out = r;
    return 0;
}

static void free_chunks(struct chunk *c)
{
    while (c) {
        struct chunk *n = c->next;
        free(c);
        c = n;
    }
}

static void inlink_reset(struct rel *r, struct inlink *in)
{
    for (unsigned i = 0; in->stash && i < r->rxwin; i++) {
        free(in->stash[i]);
        in->stash[i] = NULL;
    }
    in->nstashed = 0;
    in->asm_len = 0;
    in->asm_on = false;
    in->skip = false;
}

static void outlink_fini(struct outlink *l)
{
    free_chunks(l->ck_head);
    free_chunks(l->ck_free);
    free(l->ents);
    free(l->rq);
}

static void inlink_fini(struct rel *r, struct inlink *in)
{
    inlink_reset(r, in);
    free(in->stash);
    free(in->asm_buf);
}

void rel_close(struct rel *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < r->nlinks; i++)
        outlink_fini(&r->links[i]);
    for (unsigned i = 0; i < r->nin; i++)
        inlink_fini(r, &r->in[i]);
    free(r->in);
    free(r->links);
    free(r);
}

uint64_t rel_stray(const struct rel *r) { return r->stray; }

/* ---- sending ------------------------------------------------------------ */

static int grow_ents(struct outlink *l)
{
    size_t cap = l->cap ? 2 * l->cap : 1024;
    struct ent *e = calloc(cap, sizeof(*e));
    uint64_t *rq = malloc(cap * sizeof(*rq));
    if (!e || !rq) {
        free(e);
        free(rq);
        return -ENOMEM;
    }
    for (uint64_t s = l->base; s < l->end; s++)
        e[s & (cap - 1)] = l->ents[s & (l->cap - 1)];
    for (size_t i = 0; i < l->rq_n; i++)
        rq[i] = l->rq[(l->rq_head + i) & (l->cap - 1)];
    free(l->ents);
    free(l->rq);
    l->ents = e;
    l->rq = rq;
    l->rq_head = 0;
    l->cap = cap;
    return 0;
}

static unsigned char *chunk_room(struct outlink *l, size_t n, struct chunk **ck)
{
    struct chunk *c = l->ck_tail;
    if (!c || c->cap - c->used < n) {
        c = l->ck_free;
        if (c && c->cap >= n) {
            l->ck_free = c->next;
        } else {
            size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
            c = malloc(sizeof(*c) + cap);
            if (!c)
                return NULL;
            c->cap = cap;
        }
        c->next = NULL;
        c->used = 0;
        c->live = 0;
        if (l->ck_tail)
            l->ck_tail->next = c;
        else
            l->ck_head = c;
        l->ck_tail = c;
    }
    unsigned char *p = c->data + c->used;
    c->used += n;
    c->live++;
    *ck = c;
    return p;
}

/* Frees chunks from the head that hold no frame any more (the tail stays:
 * it is being filled). One is kept for reuse. */
static void chunks_trim(struct outlink *l)
{
    while (l->ck_head && l->ck_head->live == 0 && l->ck_head != l->ck_tail) {
        struct chunk *c = l->ck_head;
        l->ck_head = c->next;
        if (!l->ck_free && c->cap == CHUNK_SIZE) {
            c->next = NULL;
            l->ck_free = c;
        } else {
            free(c);
        }
    }
    if (l->ck_head && l->ck_head == l->ck_tail && l->ck_tail->live == 0)
        l->ck_tail->used = 0; /* empty: fill it again from the start */
}

/* Appends one frame; 0 or -ENOMEM. */
static int put_frame(struct rel *r, struct outlink *l, const struct transport_msg *m,
                     const unsigned char *part, uint32_t n, bool more)
{
    if (l->end - l->base == l->cap && grow_ents(l) < 0)
        return -ENOMEM;
    struct chunk *ck;
    unsigned char *p = chunk_room(l, FRAME_HDR + n, &ck);
    if (!p)
        return -ENOMEM;
    struct frame_hdr h = {.kind = FRAME_DATA, .flags = more ? FRAME_F_MORE : 0,
                          .src_node = r->cfg.node, .shard = r->cfg.shard, .len = n,
                          .dst = m->dst, .src = m->src, .type = m->type, .seq = l->end};
    frame_encode(p, &h);
    if (n)
        memcpy(p + FRAME_HDR, part, n);
    l->ents[l->end & (l->cap - 1)] = (struct ent){.p = p, .ck = ck, .len = FRAME_HDR + n,
                                                  .more = more};
    l->end++;
    l->queued_bytes += FRAME_HDR + n;
    return 0;
}

int rel_send(struct rel *r, uint16_t node, const struct transport_msg *msgs, unsigned n)
{
    int li = link_of(r, node);
    if (li < 0)
        return err_set(-EHOSTUNREACH, "node %u is not in the peer table", node);
    struct outlink *l = &r->links[li];
    size_t room = r->cfg.dgram_max - 2 * FRAME_HDR; /* after the datagram's HELLO */
    unsigned k = 0;
    for (; k < n; k++) {
        const struct transport_msg *m = &msgs[k];
        if (m->len > r->cfg.max_msg) {
            if (k)
                break;
            return err_set(-EMSGSIZE, "a %u-byte message is above the limit of %zu", m->len,
                           r->cfg.max_msg);
        }
        size_t frames = m->len ? (m->len + room - 1) / room : 1;
        if (l->queued_bytes && l->queued_bytes + m->len + frames * FRAME_HDR > r->cfg.queue_limit)
            break;
        const unsigned char *p = m->payload;
        uint32_t left = m->len;
        do {
            uint32_t part = left < room ? left : (uint32_t)room;
            if (put_frame(r, l, m, p, part, left > part) < 0)
                return k ? (int)k : err_set(-ENOMEM, "out of memory queueing for node %u", node);
            p += part;
            left -= part;
        } while (left);
    }
    l->st.queued_bytes = l->queued_bytes;
    return k ? (int)k : -EAGAIN;
}

static void rq_push(struct outlink *l, uint64_t seq)
{
    struct ent *e = &l->ents[seq & (l->cap - 1)];
    if (e->queued || e->sacked || l->rq_n == l->cap)
        return;
    e->queued = 1;
    l->rq[(l->rq_head + l->rq_n++) & (l->cap - 1)] = seq;
}

static void on_ack(struct rel *r, struct outlink *l, uint64_t now, uint64_t cum,
                   const unsigned char *sack, size_t sack_len)
{
    if (cum >= l->next || cum + 1 < l->base)
        return; /* acknowledges what was never sent, or an old acknowledgement */
    if (cum >= l->base) {
        const struct ent *last = &l->ents[cum & (l->cap - 1)];
        if (last->xmits == 1 && now > last->sent_ns) { /* a round trip (Karn: not a resend) */
            uint64_t rtt = now - last->sent_ns;
            if (!l->srtt) {
                l->srtt = rtt;
                l->rttvar = rtt / 2;
            } else {
                uint64_t d = rtt > l->srtt ? rtt - l->srtt : l->srtt - rtt;
                l->rttvar = (3 * l->rttvar + d) / 4;
                l->srtt = (7 * l->srtt + rtt) / 8;
            }
        }
        if (l->srtt) {
            uint64_t rto = l->srtt + 4 * l->rttvar;
            l->rto = rto < RTO_MIN ? RTO_MIN : rto > RTO_MAX ? RTO_MAX : rto;
        }
        l->base_more = last->more;
        for (uint64_t s = l->base; s <= cum; s++) {
            struct ent *e = &l->ents[s & (l->cap - 1)];
            e->ck->live--;
            l->queued_bytes -= e->len;
            *e = (struct ent){0};
        }
        l->base = cum + 1;
        chunks_trim(l);
        l->st.queued_bytes = l->queued_bytes;
        l->expiries = 0;
        l->timer_at = l->base < l->next ? now + l->rto : 0;
    }
    if (!l->up) {
        l->up = true;
        l->st.up = 1;
        if (l->reported_down)
            l->st.reconnects++;
        l->reported_down = false;
        event(r, l->peer.node, TRANSPORT_LINK_UP, 0);
    }
    /* Frames a SACK shows missing below one received go again after about
     * a round trip since they were last sent. */
    uint64_t top = 0;
    for (size_t i = 0; i < sack_len * 8; i++) {
        uint64_t s = cum + 2 + i;
        if (s >= l->next)
            break;
        if (sack[i / 8] >> (i % 8) & 1) {
            l->ents[s & (l->cap - 1)].sacked = 1;
            top = s;
        }
    }
    uint64_t wait = l->srtt ? l->srtt + l->srtt / 4 : l->rto;
    for (uint64_t s = l->base; s < top; s++) {
        struct ent *e = &l->ents[s & (l->cap - 1)];
        if (!e->sacked && now - e->sent_ns >= wait)
            rq_push(l, s);
    }
}

/* The retransmission timer ran out: everything not acknowledged and sent
 * more than a timeout ago goes again, and the timeout doubles. */
static void expire(struct rel *r, struct outlink *l, uint64_t now)
{
    for (uint64_t s = l->base; s < l->next; s++) {
        struct ent *e = &l->ents[s & (l->cap - 1)];
        if (now - e->sent_ns >= l->rto)
            rq_push(l, s);
    }
    l->rto = l->rto * 2 > RTO_MAX ? RTO_MAX : l->rto * 2;
    l->timer_at = now + l->rto;
    if (++l->expiries >= DOWN_AFTER && l->up) {
        l->up = false;
        l->st.up = 0;
        l->reported_down = true;
        event(r, l->peer.node, TRANSPORT_LINK_DOWN, -ETIMEDOUT);
    }
}

static void put_hello(struct rel *r, unsigned char *b, uint8_t kind, uint64_t epoch, uint64_t seq,
                      uint16_t flags, uint32_t len)
{
    struct frame_hdr h = {.kind = kind, .flags = flags, .src_node = r->cfg.node,
                          .shard = r->cfg.shard, .len = len, .type = epoch, .seq = seq};
    frame_encode(b, &h);
}

/* Fills one datagram for l: resends first, then new frames in the window. */
static size_t fill(struct rel *r, struct outlink *l, uint64_t now, unsigned char *b)
{
    size_t off = FRAME_HDR, cap = r->cfg.dgram_max;
    while (l->rq_n) {
        uint64_t s = l->rq[l->rq_head];
        struct ent *e = &l->ents[s & (l->cap - 1)];
        if (s >= l->base && !e->sacked) {
            if (off + e->len > cap)
                break;
            memcpy(b + off, e->p, e->len);
            off += e->len;
            e->sent_ns = now;
            e->xmits++;
            l->st.retransmits++;
        }
        if (s >= l->base)
            e->queued = 0;
        l->rq_head = (l->rq_head + 1) & (l->cap - 1);
        l->rq_n--;
    }
    while (l->next < l->end && l->next < l->base + r->cfg.window) {
        struct ent *e = &l->ents[l->next & (l->cap - 1)];
        if (off + e->len > cap)
            break;
        memcpy(b + off, e->p, e->len);
        off += e->len;
        e->sent_ns = now;
        e->xmits = 1;
        l->next++;
        l->st.frames_out++;
    }
    if (off == FRAME_HDR)
        return 0;
    put_hello(r, b, FRAME_HELLO, l->epoch, l->base, l->base_more ? FRAME_F_MORE : 0, 0);
    if (!l->timer_at)
        l->timer_at = now + l->rto;
    l->st.bytes_out += off;
    return off;
}

static size_t put_ack(struct rel *r, struct inlink *in, unsigned char *b)
{
    unsigned char *sack = b + FRAME_HDR;
    uint32_t n = 0;
    if (in->nstashed) {
        memset(sack, 0, REL_SACK_BYTES);
        for (unsigned i = 0; i < REL_SACK_BYTES * 8 && i + 1 < r->rxwin; i++) {
            uint64_t s = in->cum + 2 + i;
            if (in->stash[s & (r->rxwin - 1)]) {
                sack[i / 8] |= (unsigned char)(1u << (i % 8));
                n = i / 8 + 1;
            }
        }
    }
    put_hello(r, b, FRAME_ACK, in->epoch, in->cum, 0, n);
    return FRAME_HDR + n;
}

static int output(struct rel *r, uint64_t now, rel_buf_fn buf, rel_emit_fn emit, void *arg)
{
    int k = 0;
    for (unsigned i = 0; i < r->nin; i++) {
        struct inlink *in = &r->in[i];
        if (!in->ack_owed)
            continue;
        unsigned char *b = buf(arg);
        if (!b)
            return k;
        emit(arg, b, put_ack(r, in, b), (const struct sockaddr *)&in->reply, in->reply_len);
        in->ack_owed = false;
        k++;
    }
    for (unsigned i = 0; i < r->nlinks; i++) {
        struct outlink *l = &r->links[i];
        if (l->timer_at && now >= l->timer_at)
            expire(r, l, now);
        while (l->rq_n || (l->next < l->end && l->next < l->base + r->cfg.window)) {
            unsigned char *b = buf(arg);
            if (!b)
                return k;
            size_t n = fill(r, l, now, b);
            if (!n) {
                emit(arg, b, 0, NULL, 0); /* gives the room back */
                break;
            }
            emit(arg, b, n, (const struct sockaddr *)&l->peer.addr, l->peer.addrlen);
            k++;
        }
    }
    return k;
}

int rel_output(struct rel *r, uint64_t now, rel_buf_fn buf, rel_emit_fn emit, void *arg)
{
    r->busy = true; /* event may be called: the table holds still meanwhile */
    int k = output(r, now, buf, emit, arg);
    r->busy = false;
    return k;
}

uint64_t rel_deadline(const struct rel *r)
{
    uint64_t d = UINT64_MAX;
    for (unsigned i = 0; i < r->nin; i++)
        if (r->in[i].ack_owed)
            return 0;
    for (unsigned i = 0; i < r->nlinks; i++) {
        const struct outlink *l = &r->links[i];
        if (l->rq_n || (l->next < l->end && l->next < l->base + r->cfg.window))
            return 0;
        if (l->timer_at && l->timer_at < d)
            d = l->timer_at;
    }
    return d;
}

unsigned rel_stats(const struct rel *r, struct transport_link_stats *out, unsigned max)
{
    for (unsigned i = 0; i < r->nlinks && i < max; i++)
        out[i] = r->links[i].st;
    return r->nlinks;
}

/* ---- receiving ---------------------------------------------------------- */

static struct inlink *inlink_get(struct rel *r, uint16_t node, uint8_t shard, unsigned link)
{
    for (unsigned k = 0; k < r->nin; k++)
        if (r->in[k].node == node && r->in[k].shard == shard)
            return &r->in[k];
    if (r->nin == r->capin) {
        unsigned cap = r->capin ? 2 * r->capin : 8;
        struct inlink *in = realloc(r->in, cap * sizeof(*in));
        if (!in)
            return NULL;
        r->in = in;
        r->capin = cap;
    }
    struct stashed **stash = calloc(r->rxwin, sizeof(*stash));
    if (!stash)
        return NULL;
    struct inlink *in = &r->in[r->nin++];
    *in = (struct inlink){.node = node, .shard = shard, .link = link, .stash = stash};
    return in;
}

/* A frame next in sequence: delivered, or a fragment gathered. */
static void consume(struct rel *r, struct inlink *in, const struct frame_hdr *h, const void *p)
{
    in->cum = h->seq;
    struct outlink *l = &r->links[in->link];
    l->st.frames_in++;
    bool more = h->flags & FRAME_F_MORE;
    if (in->skip) { /* the rest of a message begun before this receiver knew the link */
        in->skip = more;
        return;
    }
    if (!more && !in->asm_on) {
        r->cfg.deliver(r->cfg.arg, h, p);
        return;
    }
    size_t need = in->asm_len + h->len;
    if ((in->asm_on && (h->type != in->asm_h.type || h->dst != in->asm_h.dst)) ||
        need > r->cfg.max_msg) {
        /* The sender broke its own message, or it grew too long: none of
         * it is used, and the rest of it is skipped. */
        in->asm_on = false;
        in->asm_len = 0;
        l->st.malformed++;
        in->skip = more;
        return;
    }
    if (need > in->asm_cap) {
        size_t cap = in->asm_cap ? in->asm_cap : 64u << 10;
        while (cap < need)
            cap *= 2;
        if (cap > r->cfg.max_msg)
            cap = r->cfg.max_msg;
        unsigned char *nb = realloc(in->asm_buf, cap);
        if (!nb) {
            in->asm_on = false;
            in->asm_len = 0;
            in->skip = more;
            return;
        }
        in->asm_buf = nb;
        in->asm_cap = cap;
    }
    if (!in->asm_on) {
        in->asm_h = *h;
        in->asm_on = true;
    }
    if (h->len)
        memcpy(in->asm_buf + in->asm_len, p, h->len);
    in->asm_len = need;
    if (!more) {
        struct frame_hdr whole = in->asm_h;
        whole.len = (uint32_t)in->asm_len;
        whole.flags = 0;
        in->asm_on = false;
        in->asm_len = 0;
        r->cfg.deliver(r->cfg.arg, &whole, in->asm_buf);
    }
}

static void on_data(struct rel *r, struct inlink *in, const struct frame_hdr *h, const void *p)
{
    in->ack_owed = true;
    if (h->seq <= in->cum || h->seq - in->cum > r->rxwin - 1)
        return; /* had it, or beyond what is held: it comes again */
    struct stashed **slot = &in->stash[h->seq & (r->rxwin - 1)];
    if (h->seq != in->cum + 1) {
        if (*slot)
            return;
        struct stashed *s = malloc(sizeof(*s) + h->len);
        if (!s)
            return; /* not acknowledged: it comes again */
        s->h = *h;
        memcpy(s->payload, p, h->len);
        *slot = s;
        in->nstashed++;
        return;
    }
    consume(r, in, h, p);
    for (;;) {
        slot = &in->stash[(in->cum + 1) & (r->rxwin - 1)];
        struct stashed *s = *slot;
        if (!s)
            break;
        *slot = NULL;
        in->nstashed--;
        consume(r, in, &s->h, s->payload);
        free(s);
    }
}

/* A bad datagram from a known link: counted, and said at most once a second. */
static int malformed(struct rel *r, int li, uint64_t now, uint16_t node, int rc)
{
    if (li < 0) {
        r->stray++;
        if (!r->stray_at || now - r->stray_at >= EVENT_GAP) {
            r->stray_at = now;
            event(r, node, TRANSPORT_MALFORMED, rc);
        }
        return rc;
    }
    struct outlink *l = &r->links[li];
    l->st.malformed++;
    if (!l->malformed_at || now - l->malformed_at >= EVENT_GAP) {
        l->malformed_at = now;
        event(r, node, TRANSPORT_MALFORMED, rc);
    }
    return rc;
}

/* Checks every frame after the first before anything is used, so a bad
 * datagram changes nothing: all of kind `kind`, from the first's node (and
 * shard, for data), whole, each payload at most max. */
static int check_frames(const unsigned char *p, size_t len, const struct frame_hdr *first,
                        uint8_t kind, size_t max)
{
    struct frame_hdr h;
    for (size_t off = kind == FRAME_ACK ? 0 : FRAME_HDR; off < len; off += FRAME_HDR + h.len) {
        int rc = frame_decode(p + off, len - off, max, &h);
        if (rc < 0)
            return rc;
        if (h.kind != kind || h.src_node != first->src_node || off + FRAME_HDR + h.len > len ||
            (kind == FRAME_DATA && (h.shard != first->shard || h.seq == 0)))
            return -EBADMSG;
    }
    return 0;
}

static int input(struct rel *r, uint64_t now, const void *dgram, size_t len,
                 const struct sockaddr *from, socklen_t fromlen)
{
    const unsigned char *p = dgram;
    size_t max = r->cfg.dgram_max - FRAME_HDR;
    struct frame_hdr first, h;
    int rc = frame_decode(p, len, max, &first);
    if (rc < 0)
        return malformed(r, -1, now, 0, rc);
    int li = link_of(r, first.src_node);
    if (li < 0)
        return malformed(r, -1, now, first.src_node, -EPERM);
    bool ack = first.kind == FRAME_ACK;
    if (first.kind == FRAME_DATA || (!ack && (first.len || first.seq == 0)))
        rc = -EBADMSG;
    else
        rc = check_frames(p, len, &first, ack ? FRAME_ACK : FRAME_DATA,
                          ack ? REL_SACK_BYTES : max);
    if (rc < 0)
        return malformed(r, li, now, first.src_node, rc);
    struct outlink *l = &r->links[li];
    l->st.bytes_in += len;
    if (ack) {
        for (size_t off = 0; off < len; off += FRAME_HDR + h.len) {
            frame_decode(p + off, len - off, REL_SACK_BYTES, &h);
            if (h.type == l->epoch) /* else for the link before a restart or re-adding */
                on_ack(r, l, now, h.seq, p + off + FRAME_HDR, h.len);
        }
        return 0;
    }
    struct inlink *in = inlink_get(r, first.src_node, first.shard, (unsigned)li);
    if (!in)
        return -ENOMEM;
    if (first.type < in->epoch)
        return 0; /* sent before the sender restarted */
    if (first.type > in->epoch) { /* a new sender, or a new receiver: start at its base */
        inlink_reset(r, in);
        in->epoch = first.type;
        in->cum = first.seq - 1;
        in->skip = first.flags & FRAME_F_MORE;
    }
    if (fromlen <= sizeof(in->reply)) {
        memcpy(&in->reply, from, fromlen);
        in->reply_len = fromlen;
    }
    in->ack_owed = true;
    for (size_t off = FRAME_HDR; off < len; off += FRAME_HDR + h.len) {
        frame_decode(p + off, len - off, max, &h);
        on_data(r, in, &h, p + off + FRAME_HDR);
    }
    return 0;
}

int rel_input(struct rel *r, uint64_t now, const void *dgram, size_t len,
              const struct sockaddr *from, socklen_t fromlen)
{
    r->busy = true; /* deliver and event may be called: the table holds still */
    int rc = input(r, now, dgram, len, from, fromlen);
    r->busy = false;
    return rc;
}

/* ---- the peer table at runtime ----------------------------------------- */

/* The link goes to a new address: everything in flight goes again at once,
 * in order, and the round trip is measured afresh. */
static void relink(struct outlink *l, const struct transport_peer *peer)
{
    l->peer = *peer;
    l->rq_n = l->rq_head = 0;
    for (uint64_t s = l->base; s < l->end; s++) {
        struct ent *e = &l->ents[s & (l->cap - 1)];
        e->sacked = e->queued = 0;
    }
    for (uint64_t s = l->base; s < l->next; s++)
        rq_push(l, s);
    l->srtt = l->rttvar = 0;
    l->rto = RTO_INIT;
    l->timer_at = 0;
    l->expiries = 0;
    if (l->up) { /* until the new address acknowledges */
        l->up = false;
        l->st.up = 0;
        l->reported_down = true;
    }
}

int rel_peer_set(struct rel *r, const struct transport_peer *peer)
{
    if (r->busy)
        return err_set(-EBUSY, "the peer table cannot change from inside deliver or event");
    if (!peer->addrlen || peer->addrlen > sizeof(peer->addr))
        return err_set(-EINVAL, "node %u's address is %u bytes long", peer->node,
                       (unsigned)peer->addrlen);
    int li = link_of(r, peer->node);
    if (li >= 0) {
        if (!transport_peer_same(&r->links[li].peer, peer))
            relink(&r->links[li], peer);
        return 0;
    }
    if (r->nlinks == r->caplinks) {
        unsigned cap = 2 * r->caplinks;
        struct outlink *links = realloc(r->links, cap * sizeof(*links));
        if (!links)
            return err_set(-ENOMEM, "out of memory adding node %u", peer->node);
        r->links = links;
        r->caplinks = cap;
    }
    /* A new epoch, above every one this instance gave: a peer that still
     * holds the numbering of an earlier link from here (deleted, added
     * again) starts afresh at 1, as it does for a restarted sender. */
    uint64_t epoch = frame_epoch();
    r->epoch_hi = epoch > r->epoch_hi ? epoch : r->epoch_hi + 1;
    r->links[r->nlinks++] = outlink_new(peer, r->epoch_hi);
    return 0;
}

int rel_peer_del(struct rel *r, uint16_t node)
{
    if (r->busy)
        return err_set(-EBUSY, "the peer table cannot change from inside deliver or event");
    int li = link_of(r, node);
    if (li < 0)
        return err_set(-ENOENT, "node %u is not in the peer table", node);
    struct outlink *l = &r->links[li];
    int dropped = 0; /* messages: each one's last frame is not MORE */
    for (uint64_t s = l->base; s < l->end; s++)
        dropped += !l->ents[s & (l->cap - 1)].more;
    outlink_fini(l);
    /* What it sent: forgotten, so that it starts afresh if it comes back. */
    for (unsigned k = 0; k < r->nin;) {
        if (r->in[k].node == node) {
            inlink_fini(r, &r->in[k]);
            r->in[k] = r->in[--r->nin];
        } else {
            k++;
        }
    }
    unsigned last = --r->nlinks;
    if ((unsigned)li != last) {
        r->links[li] = r->links[last];
        for (unsigned k = 0; k < r->nin; k++)
            if (r->in[k].link == last)
                r->in[k].link = (unsigned)li;
    }
    return dropped;
}
