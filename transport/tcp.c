/* SPDX-License-Identifier: MIT */
/*
 * tcp.c — the io_uring TCP backend (transport.h, design §7).
 *
 * One io_uring per instance (per shard). A listener with multishot accept;
 * every connection reads with multishot recv from a provided buffer ring
 * and feeds a frame_reader. Each peer node has one outbound connection,
 * opened on the first send, that carries HELLO and then DATA frames; the
 * peer answers on the same connection with cumulative ACK frames. A link
 * keeps every frame until it is acknowledged, so when the connection breaks
 * it reconnects with backoff and sends again from the first frame not
 * acknowledged; the receiver drops what it already delivered by sequence
 * number. Nothing is lost, duplicated or reordered across a reconnection.
 * One send is in flight per connection: bytes go out in order.
 *
 * The peer table grows and shrinks at runtime (peer_set, peer_del): links
 * is an array that moves when it grows, and connections name their link by
 * index, so nothing holds a pointer to a link across a call. A link added
 * after open says an epoch of its own in its HELLO (above every one this
 * instance gave), so the peer numbers it afresh even if it still knows an
 * earlier link from here.
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../engine/err.h"
#include "transport.h"
#include "uring.h"

#define RING_ENTRIES 256
#define NBUFS 64
#define BUF_SIZE (64u << 10)
#define BGID 7
#define MAX_CONNS 256
#define SEND_MAX (1u << 20) /* bytes one send takes */

enum op { OP_ACCEPT = 1, OP_CONNECT, OP_RECV, OP_SEND };

/* A queue of bytes in blocks that never move while it lives, so a send in
 * flight keeps pointing at its bytes while more are appended. Offsets are
 * absolute: the count of bytes ever put. */
struct blk {
    struct blk *next;
    uint64_t start;
    size_t used, cap;
    unsigned char data[];
};

struct bq {
    struct blk *first, *last;
    uint64_t base, end; /* [base, end): bytes held */
};

#define BLK_SIZE (64u << 10)

static int bq_put(struct bq *q, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n) {
        struct blk *b = q->last;
        if (!b || b->used == b->cap) {
            struct blk *nb = malloc(sizeof(*nb) + BLK_SIZE);
            if (!nb)
                return -ENOMEM;
            *nb = (struct blk){.start = q->end, .cap = BLK_SIZE};
            if (b)
                b->next = nb;
            else
                q->first = nb;
            q->last = b = nb;
        }
        size_t k = b->cap - b->used < n ? b->cap - b->used : n;
        memcpy(b->data + b->used, c, k);
        b->used += k;
        q->end += k;
        c += k;
        n -= k;
    }
    return 0;
}

/* The bytes from offset at to the end of their block. */
static const unsigned char *bq_at(const struct bq *q, uint64_t at, size_t *len)
{
    for (struct blk *b = q->first; b; b = b->next) {
        if (at < b->start + b->used) {
            *len = (size_t)(b->start + b->used - at);
            return b->data + (at - b->start);
        }
    }
    *len = 0;
    return NULL;
}

/* Forgets the bytes before upto; frees the blocks wholly before keep too. */
static void bq_release(struct bq *q, uint64_t upto, uint64_t keep)
{
    if (upto > q->base)
        q->base = upto;
    uint64_t limit = q->base < keep ? q->base : keep;
    while (q->first && q->first->start + q->first->used <= limit &&
           (q->first->next || q->first->used == q->first->cap)) {
        struct blk *b = q->first;
        q->first = b->next;
        if (!q->first)
            q->last = NULL;
        free(b);
    }
}

static void bq_free(struct bq *q)
{
    for (struct blk *b = q->first, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    *q = (struct bq){0};
}

/* What this node sends one peer, and what it received from it. */
struct link {
    struct transport_peer peer;
    uint64_t epoch;        /* this link's incarnation, in its HELLOs */
    int conn;              /* its outbound connection, or -1 */
    struct bq out;         /* frames not yet acknowledged, oldest first */
    uint64_t sent;         /* stream offset sent on the current connection */
    struct bound { uint64_t seq, end; } *bounds; /* each unacknowledged frame's end */
    size_t bhead, btail, bcap;
    uint64_t next_seq;
    uint64_t retry_at;     /* ns: when to connect again */
    unsigned backoff_ms;
    bool was_up;
    struct transport_link_stats st;
};

/* What arrives from one sending instance (a peer node's shard). */
struct inlink {
    uint16_t node;
    uint8_t shard;
    uint64_t epoch;      /* its link's (frame_epoch) */
    int conn;            /* the connection its frames arrive on (for ACKs), or -1 */
    uint64_t recv_seq;   /* the last frame delivered from it */
    uint64_t acked_back; /* the last one acknowledged to it */
};

struct conn {
    int fd;
    uint16_t gen;
    bool used, outbound, up, closing, send_busy;
    int link;          /* the peer's link; inbound: -1 until its HELLO */
    int in;            /* inbound: its sender's inlink, -1 until its HELLO */
    unsigned inflight; /* requests the ring still holds */
    struct frame_reader rd;
    struct bq ctl;     /* HELLO and ACK frames, sent before data */
    uint64_t ctl_sent; /* offset of ctl sent */
    uint64_t send_at;  /* where the send in flight starts (in ctl or the link's out) */
    bool send_ctl;     /* whether it was taken from ctl */
    struct bq orphan;  /* a deleted link's queue, kept while a send of it is in flight */
};

struct transport {
    struct transport_config cfg;
    struct io_uring ring;
    struct uring_bufs bufs;
    int lfd;
    bool accepting;
    bool busy;       /* in poll: the peer table holds still (deliver, event) */
    struct link *links; /* the peer table: moves when it grows */
    unsigned nlinks, caplinks;
    struct inlink *in;
    unsigned nin, capin;
    struct conn conns[MAX_CONNS];
    unsigned conns_hi; /* every used connection is below it: what poll walks */
    unsigned events;
    uint64_t epoch_hi; /* the largest epoch a link was given */
};

#define now_ns transport_now_ns

static uint64_t ud_make(enum op op, unsigned conn, uint16_t gen)
{
    return (uint64_t)op << 48 | (uint64_t)conn << 16 | gen;
}


static void event(struct transport *t, uint16_t node, enum transport_event ev, int err)
{
    if (t->cfg.event)
        t->cfg.event(t->cfg.arg, node, ev, err);
}

static int link_of(struct transport *t, uint16_t node)
{
    for (unsigned i = 0; i < t->nlinks; i++)
        if (t->links[i].peer.node == node)
            return (int)i;
    return -1;
}

/* ---- connections -------------------------------------------------------- */

static int conn_new(struct transport *t, int fd, bool outbound, int link)
{
    for (unsigned i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &t->conns[i];
        if (c->used)
            continue;
        uint16_t gen = (uint16_t)(c->gen + 1);
        *c = (struct conn){.fd = fd, .gen = gen, .used = true, .outbound = outbound, .link = link,
                           .in = -1};
        if (i >= t->conns_hi)
            t->conns_hi = i + 1;
        frame_reader_init(&c->rd, t->cfg.max_msg);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return (int)i;
    }
    return -EMFILE;
}

static void arm_recv(struct transport *t, unsigned i)
{
    struct conn *c = &t->conns[i];
    struct io_uring_sqe *s = uring_sqe(&t->ring);
    if (!s)
        return;
    io_uring_prep_recv_multishot(s, c->fd, NULL, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = BGID;
    io_uring_sqe_set_data64(s, ud_make(OP_RECV, i, c->gen));
    c->inflight++;
}

/* Starts closing a connection: its requests end, then it is freed. */
static void conn_close(struct transport *t, unsigned i, int err)
{
    struct conn *c = &t->conns[i];
    if (c->closing)
        return;
    c->closing = true;
    shutdown(c->fd, SHUT_RDWR);
    if (c->link >= 0) {
        struct link *l = &t->links[c->link];
        if (c->outbound && l->conn == (int)i) {
            l->conn = -1;
            l->sent = l->out.base; /* everything unacknowledged goes again */
            l->retry_at = now_ns() + (uint64_t)l->backoff_ms * 1000000u;
            l->backoff_ms = l->backoff_ms ? (l->backoff_ms < 1000 ? 2 * l->backoff_ms : 1000) : 10;
            if (l->was_up)
                event(t, l->peer.node, TRANSPORT_LINK_DOWN, err);
            l->st.up = 0;
        }
    }
    if (c->in >= 0 && t->in[c->in].conn == (int)i)
        t->in[c->in].conn = -1;
}

static void conn_reap(struct transport *t, unsigned i)
{
    struct conn *c = &t->conns[i];
    if (c->used && c->closing && c->inflight == 0) {
        close(c->fd);
        frame_reader_fini(&c->rd);
        bq_free(&c->ctl);
        bq_free(&c->orphan);
        uint16_t gen = c->gen;
        *c = (struct conn){.gen = gen};
    }
}

/* A control frame: HELLO {epoch, seq} or ACK {seq} (epoch 0). */
static void put_ctl(struct transport *t, unsigned i, uint8_t kind, uint64_t epoch, uint64_t seq)
{
    struct frame_hdr h = {.kind = kind, .src_node = t->cfg.node, .shard = t->cfg.shard,
                          .type = epoch, .seq = seq};
    unsigned char b[FRAME_HDR];
    frame_encode(b, &h);
    bq_put(&t->conns[i].ctl, b, sizeof(b));
}

static void connect_link(struct transport *t, unsigned li)
{
    struct link *l = &t->links[li];
    int fd = socket(l->peer.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int i = fd < 0 ? -errno : conn_new(t, fd, true, (int)li);
    struct io_uring_sqe *s = i >= 0 ? uring_sqe(&t->ring) : NULL;
    if (!s) {
        if (fd >= 0)
            close(fd);
        if (i >= 0)
            t->conns[i].used = false;
        l->retry_at = now_ns() + 100000000u;
        return;
    }
    l->conn = i;
    l->sent = l->out.base;
    io_uring_prep_connect(s, fd, (struct sockaddr *)&l->peer.addr, l->peer.addrlen);
    io_uring_sqe_set_data64(s, ud_make(OP_CONNECT, (unsigned)i, t->conns[i].gen));
    t->conns[i].inflight++;
    /* HELLO names the first frame this connection carries. */
    put_ctl(t, (unsigned)i, FRAME_HELLO, l->epoch,
            l->bhead < l->btail ? l->bounds[l->bhead].seq : l->next_seq + 1);
}

/* Sends the next piece a connection has: control frames, then data. */
static void kick_send(struct transport *t, unsigned i)
{
    struct conn *c = &t->conns[i];
    if (!c->up || c->closing || c->send_busy)
        return;
    const unsigned char *p;
    size_t n;
    if (c->ctl_sent < c->ctl.end) {
        p = bq_at(&c->ctl, c->send_at = c->ctl_sent, &n);
        c->send_ctl = true;
    } else if (c->outbound && c->link >= 0) {
        struct link *l = &t->links[c->link];
        if (l->sent >= l->out.end)
            return;
        p = bq_at(&l->out, c->send_at = l->sent, &n);
        c->send_ctl = false;
    } else {
        return;
    }
    if (!p || !n)
        return;
    n = n < SEND_MAX ? n : SEND_MAX;
    struct io_uring_sqe *s = uring_sqe(&t->ring);
    if (!s)
        return;
    io_uring_prep_send(s, c->fd, p, n, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, ud_make(OP_SEND, i, c->gen));
    c->inflight++;
    c->send_busy = true;
}

/* ---- receiving ---------------------------------------------------------- */

struct rx {
    struct transport *t;
    unsigned conn;
    uint16_t node; /* who its HELLO said it is, for an event about it */
};

/* The peer acknowledged everything up to seq: its frames are dropped. */
static void acked(struct transport *t, struct link *l, uint64_t seq)
{
    uint64_t upto = l->out.base;
    while (l->bhead < l->btail && l->bounds[l->bhead].seq <= seq)
        upto = l->bounds[l->bhead++].end;
    if (l->bhead == l->btail)
        l->bhead = l->btail = 0;
    struct conn *c = l->conn >= 0 ? &t->conns[l->conn] : NULL;
    /* A block a send in flight reads from stays until that send is done. */
    uint64_t keep = c && c->send_busy && !c->send_ctl ? c->send_at : UINT64_MAX;
    bq_release(&l->out, upto, keep);
    if (l->sent < upto)
        l->sent = upto;
    l->st.queued_bytes = l->out.end - l->out.base;
}

static int on_frame(void *arg, const struct frame_hdr *h, const void *payload)
{
    struct rx *rx = arg;
    struct transport *t = rx->t;
    struct conn *c = &t->conns[rx->conn];
    if (h->kind == FRAME_HELLO && !c->outbound && c->link < 0) {
        rx->node = h->src_node;
        int li = link_of(t, h->src_node);
        if (li < 0)
            return -EPERM; /* a node this one does not know */
        if (h->seq == 0)
            return -EBADMSG;
        unsigned k = 0;
        while (k < t->nin && !(t->in[k].node == h->src_node && t->in[k].shard == h->shard))
            k++;
        if (k == t->nin) {
            if (t->nin == t->capin) {
                unsigned cap = t->capin ? 2 * t->capin : 8;
                struct inlink *in = realloc(t->in, cap * sizeof(*in));
                if (!in)
                    return -ENOMEM;
                t->in = in;
                t->capin = cap;
            }
            t->in[t->nin++] = (struct inlink){.node = h->src_node, .shard = h->shard};
        }
        struct inlink *in = &t->in[k];
        if (h->type < in->epoch)
            return -ESTALE; /* from an instance before the peer restarted */
        if (h->type > in->epoch) { /* a new sender, or a new receiver: start where it does */
            in->epoch = h->type;
            in->recv_seq = h->seq - 1;
        }
        c->link = li;
        c->in = (int)k;
        in->conn = (int)rx->conn;
        in->acked_back = 0; /* an acknowledgement goes out on it */
        event(t, h->src_node, TRANSPORT_LINK_UP, 0);
        return 0;
    }
    if (c->link < 0 || h->src_node != t->links[c->link].peer.node)
        return -EBADMSG; /* data before HELLO, or from another node */
    struct link *l = &t->links[c->link];
    l->st.frames_in++;
    l->st.bytes_in += FRAME_HDR + h->len;
    if (h->kind == FRAME_ACK && c->outbound) {
        acked(t, l, h->seq);
        return 0;
    }
    if (h->kind != FRAME_DATA || c->outbound)
        return -EBADMSG;
    struct inlink *in = &t->in[c->in];
    if (h->seq <= in->recv_seq) /* sent again after a reconnection: had it */
        return 0;
    if (h->seq != in->recv_seq + 1)
        return -EBADMSG; /* a gap: the stream is not what the peer sent */
    in->recv_seq = h->seq;
    t->cfg.deliver(t->cfg.arg, h, payload);
    return 0;
}

static void on_recv(struct transport *t, unsigned i, struct io_uring_cqe *cqe)
{
    struct conn *c = &t->conns[i];
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (cqe->res > 0 && !c->closing) {
            struct rx rx = {t, i, 0};
            int rc = frame_reader_feed(&c->rd, uring_buf(&t->bufs, bid), (size_t)cqe->res,
                                       on_frame, &rx);
            if (rc < 0) {
                uint16_t node = c->link >= 0 ? t->links[c->link].peer.node : rx.node;
                if (c->link >= 0)
                    t->links[c->link].st.malformed++;
                event(t, node, TRANSPORT_MALFORMED, rc);
                conn_close(t, i, rc);
            }
        }
        uring_bufs_recycle(&t->bufs, bid);
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        c->inflight--;
        if (cqe->res == -ENOBUFS && !c->closing)
            arm_recv(t, i); /* buffers came back meanwhile */
        else if (!c->closing)
            conn_close(t, i, cqe->res < 0 ? cqe->res : -ECONNRESET);
    }
}

/* ---- the ops ------------------------------------------------------------ */

static void on_cqe(struct transport *t, struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    enum op op = (enum op)(ud >> 48);
    unsigned i = (unsigned)(ud >> 16) & 0xffffffffu;
    uint16_t gen = (uint16_t)ud;
    if (op == OP_ACCEPT) {
        if (cqe->res >= 0) {
            int ci = conn_new(t, cqe->res, false, -1);
            if (ci < 0) {
                close(cqe->res);
            } else {
                t->conns[ci].up = true;
                arm_recv(t, (unsigned)ci);
            }
        }
        if (!(cqe->flags & IORING_CQE_F_MORE))
            t->accepting = false;
        return;
    }
    if (i >= MAX_CONNS || !t->conns[i].used || t->conns[i].gen != gen)
        return;
    struct conn *c = &t->conns[i];
    switch (op) {
    case OP_CONNECT:
        c->inflight--;
        if (cqe->res < 0 || c->closing) {
            conn_close(t, i, cqe->res < 0 ? cqe->res : -ECANCELED);
            break;
        }
        c->up = true;
        t->links[c->link].backoff_ms = 0;
        t->links[c->link].was_up = true;
        t->links[c->link].st.up = 1;
        if (t->links[c->link].st.frames_out)
            t->links[c->link].st.reconnects++;
        event(t, t->links[c->link].peer.node, TRANSPORT_LINK_UP, 0);
        arm_recv(t, i);
        break;
    case OP_RECV:
        on_recv(t, i, cqe);
        break;
    case OP_SEND:
        c->inflight--;
        c->send_busy = false;
        if (cqe->res <= 0 || c->closing) {
            conn_close(t, i, cqe->res < 0 ? cqe->res : -EPIPE);
            break;
        }
        if (c->send_ctl) {
            c->ctl_sent += (uint64_t)cqe->res;
            bq_release(&c->ctl, c->ctl_sent, UINT64_MAX);
        } else {
            struct link *l = &t->links[c->link];
            l->sent += (uint64_t)cqe->res;
            l->st.bytes_out += (uint64_t)cqe->res;
        }
        break;
    default:
        break;
    }
    conn_reap(t, i);
}

static int tcp_poll(struct transport *t)
{
    int n = 0;
    struct io_uring_cqe *cqe;
    unsigned head;
    t->busy = true;
    io_uring_submit(&t->ring);
    for (;;) {
        unsigned k = 0;
        io_uring_for_each_cqe(&t->ring, head, cqe) {
            on_cqe(t, cqe);
            k++;
        }
        if (!k)
            break;
        io_uring_cq_advance(&t->ring, k);
        n += (int)k;
    }
    for (unsigned k = 0; k < t->nin; k++) {
        struct inlink *in = &t->in[k];
        if (in->recv_seq > in->acked_back && in->conn >= 0) {
            put_ctl(t, (unsigned)in->conn, FRAME_ACK, 0, in->recv_seq);
            in->acked_back = in->recv_seq;
        }
    }
    uint64_t now = 0;
    for (unsigned li = 0; li < t->nlinks; li++) {
        struct link *l = &t->links[li];
        if (l->conn < 0 && l->out.end > l->out.base) {
            if (!now)
                now = now_ns();
            if (now >= l->retry_at)
                connect_link(t, li);
        }
    }
    for (unsigned i = 0; i < t->conns_hi; i++)
        if (t->conns[i].used)
            kick_send(t, i);
    if (t->lfd >= 0 && !t->accepting) {
        struct io_uring_sqe *s = uring_sqe(&t->ring);
        if (s) {
            io_uring_prep_multishot_accept(s, t->lfd, NULL, NULL, SOCK_CLOEXEC);
            io_uring_sqe_set_data64(s, ud_make(OP_ACCEPT, 0, 0));
            t->accepting = true;
        }
    }
    io_uring_submit(&t->ring);
    t->busy = false;
    return n;
}

static int tcp_send(struct transport *t, uint16_t node, const struct transport_msg *msgs, unsigned n)
{
    int li = link_of(t, node);
    if (li < 0)
        return err_set(-EHOSTUNREACH, "node %u is not in the peer table", node);
    struct link *l = &t->links[li];
    unsigned k = 0;
    for (; k < n; k++) {
        const struct transport_msg *m = &msgs[k];
        if (m->len > t->cfg.max_msg)
            return k ? (int)k : err_set(-EMSGSIZE, "a %u-byte message is above the maximum", m->len);
        if (l->out.end - l->out.base + FRAME_HDR + m->len > t->cfg.queue_limit &&
            l->out.end > l->out.base)
            break;
        if (l->btail == l->bcap) {
            if (l->bhead) {
                memmove(l->bounds, l->bounds + l->bhead, (l->btail - l->bhead) * sizeof(*l->bounds));
                l->btail -= l->bhead;
                l->bhead = 0;
            }
            if (l->btail == l->bcap) {
                size_t cap = l->bcap ? 2 * l->bcap : 1024;
                struct bound *b = realloc(l->bounds, cap * sizeof(*b));
                if (!b)
                    break;
                l->bounds = b;
                l->bcap = cap;
            }
        }
        struct frame_hdr h = {.kind = FRAME_DATA, .src_node = t->cfg.node, .len = m->len,
                              .dst = m->dst, .src = m->src, .type = m->type, .seq = ++l->next_seq};
        unsigned char hb[FRAME_HDR];
        frame_encode(hb, &h);
        if (bq_put(&l->out, hb, sizeof(hb)) < 0 ||
            (m->len && bq_put(&l->out, m->payload, m->len) < 0)) {
            l->next_seq--; /* what went in is sent as a frame cut short: the link fails */
            break;
        }
        l->bounds[l->btail++] = (struct bound){h.seq, l->out.end};
        l->st.frames_out++;
    }
    l->st.queued_bytes = l->out.end - l->out.base;
    if (k == 0)
        return err_set(-EAGAIN, "the link to node %u holds %llu bytes already; try again", node,
                       (unsigned long long)(l->out.end - l->out.base));
    if (l->conn >= 0)
        kick_send(t, (unsigned)l->conn);
    return (int)k;
}

static void tcp_close(struct transport *t)
{
    if (!t)
        return;
    /* The ring lets its requests go only later (the kernel tears it down in
     * the background): stop listening now, so that the port is free for
     * whoever binds it next, and no connection waits on a dead listener. */
    if (t->lfd >= 0)
        shutdown(t->lfd, SHUT_RDWR);
    uring_cancel_all(&t->ring);
    io_uring_queue_exit(&t->ring);
    for (unsigned i = 0; i < MAX_CONNS; i++) {
        if (t->conns[i].used) {
            close(t->conns[i].fd);
            frame_reader_fini(&t->conns[i].rd);
            bq_free(&t->conns[i].ctl);
            bq_free(&t->conns[i].orphan);
        }
    }
    if (t->lfd >= 0)
        close(t->lfd);
    for (unsigned i = 0; i < t->nlinks; i++) {
        bq_free(&t->links[i].out);
        free(t->links[i].bounds);
    }
    free(t->links);
    free(t->in);
    uring_bufs_fini(&t->bufs);
    free(t);
}

static int tcp_open(const struct transport_config *cfg, struct transport **out)
{
    struct transport *t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(-ENOMEM, "out of memory");
    t->cfg = *cfg;
    t->lfd = -1;
    t->epoch_hi = frame_epoch();
    t->caplinks = cfg->npeers > 4 ? cfg->npeers : 4;
    t->links = calloc(t->caplinks, sizeof(*t->links));
    int rc = t->links ? io_uring_queue_init(RING_ENTRIES, &t->ring, 0) : -ENOMEM;
    if (rc < 0) {
        free(t->links);
        free(t);
        return err_set(rc, "cannot set up io_uring: %s", strerror(-rc));
    }
    t->nlinks = cfg->npeers;
    t->cfg.peers = NULL; /* copied: the caller's may go */
    for (unsigned i = 0; i < cfg->npeers; i++)
        t->links[i] = (struct link){.peer = cfg->peers[i], .epoch = t->epoch_hi, .conn = -1,
                                    .st = {.node = cfg->peers[i].node}};
    if ((rc = uring_bufs_init(&t->ring, &t->bufs, NBUFS, BUF_SIZE, BGID)) < 0) {
        tcp_close(t);
        return rc;
    }
    if (cfg->listen) {
        int fd = socket(cfg->listen->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
        /* SO_REUSEADDR, not SO_REUSEPORT: a second node on the port is an
         * error, not half of the connections each. */
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, cfg->listen, cfg->listen_len) < 0 || listen(fd, 128) < 0) {
            rc = -errno;
            if (fd >= 0)
                close(fd);
            tcp_close(t);
            return err_set(rc, "cannot listen for tcp: %s", strerror(-rc));
        }
        t->lfd = fd;
    }
    /* Nothing is submitted here: io_uring runs a request's completion work
     * in the thread that submitted it, which must be the one that polls
     * (the first poll arms the listener). */
    *out = t;
    return 0;
}

static unsigned tcp_stats(struct transport *t, struct transport_link_stats *out, unsigned max)
{
    for (unsigned i = 0; i < t->nlinks && i < max; i++)
        out[i] = t->links[i].st;
    return t->nlinks;
}

static int tcp_local(struct transport *t, struct sockaddr_storage *ss, socklen_t *len)
{
    *len = sizeof(*ss);
    if (t->lfd < 0)
        return -ENOTCONN;
    return getsockname(t->lfd, (struct sockaddr *)ss, len) < 0 ? -errno : 0;
}

/* ---- the peer table at runtime ----------------------------------------- */

/* The link goes to a new address: its connection is closed (no LINK_DOWN:
 * the caller asked) and a new one opened at the next poll, which sends
 * everything not acknowledged again, from a HELLO naming the first of it.
 * Connections from the peer stay: a restarted peer may be on one already. */
static void relink(struct transport *t, unsigned li, const struct transport_peer *peer)
{
    struct link *l = &t->links[li];
    l->peer = *peer;
    l->was_up = false;
    if (l->conn >= 0)
        conn_close(t, (unsigned)l->conn, -ECONNABORTED);
    l->st.up = 0;
    l->retry_at = 0;
    l->backoff_ms = 0;
}

static int tcp_peer_set(struct transport *t, const struct transport_peer *peer)
{
    if (t->busy)
        return err_set(-EBUSY, "the peer table cannot change from inside deliver or event");
    int rc = transport_peer_check(peer, AF_UNSPEC, "tcp");
    if (rc < 0)
        return rc;
    int li = link_of(t, peer->node);
    if (li >= 0) {
        if (!transport_peer_same(&t->links[li].peer, peer))
            relink(t, (unsigned)li, peer);
        return 0;
    }
    if (t->nlinks == t->caplinks) {
        struct link *links = realloc(t->links, 2 * t->caplinks * sizeof(*links));
        if (!links)
            return err_set(-ENOMEM, "out of memory adding node %u", peer->node);
        t->links = links;
        t->caplinks *= 2;
    }
    /* A new epoch (see the top of the file). */
    uint64_t epoch = frame_epoch();
    t->epoch_hi = epoch > t->epoch_hi ? epoch : t->epoch_hi + 1;
    t->links[t->nlinks++] = (struct link){.peer = *peer, .epoch = t->epoch_hi, .conn = -1,
                                          .st = {.node = peer->node}};
    return 0;
}

/* Closes every connection of link li, both ways, and unties them from it
 * and from their inlinks (which go next). A send in flight on the outbound
 * one may still point into the link's queue: the socket is shut down first,
 * so the kernel fails it without reading, but the queue's blocks stay with
 * the connection until its requests are done, all the same. */
static void close_link_conns(struct transport *t, unsigned li)
{
    struct link *l = &t->links[li];
    for (unsigned i = 0; i < t->conns_hi; i++) {
        struct conn *c = &t->conns[i];
        if (!c->used || c->link != (int)li)
            continue;
        if (l->conn == (int)i && c->send_busy && !c->send_ctl) {
            c->orphan = l->out;
            l->out = (struct bq){0};
        }
        if (l->conn == (int)i)
            l->conn = -1;
        c->link = -1; /* conn_close leaves the link alone */
        conn_close(t, i, -ECONNABORTED);
        c->in = -1;
    }
}

/* Removes inlink k (swapping the last into its place). */
static void inlink_remove(struct transport *t, unsigned k)
{
    unsigned last = --t->nin;
    if (k == last)
        return;
    t->in[k] = t->in[last];
    for (unsigned i = 0; i < t->conns_hi; i++)
        if (t->conns[i].used && t->conns[i].in == (int)last)
            t->conns[i].in = (int)k;
}

static int tcp_peer_del(struct transport *t, uint16_t node)
{
    if (t->busy)
        return err_set(-EBUSY, "the peer table cannot change from inside deliver or event");
    int li = link_of(t, node);
    if (li < 0)
        return err_set(-ENOENT, "node %u is not in the peer table", node);
    struct link *l = &t->links[li];
    int dropped = (int)(l->btail - l->bhead); /* a frame a message */
    close_link_conns(t, (unsigned)li);
    /* What it sent: forgotten, so that it starts afresh if it comes back. */
    for (unsigned k = 0; k < t->nin;) {
        if (t->in[k].node == node)
            inlink_remove(t, k);
        else
            k++;
    }
    bq_free(&l->out);
    free(l->bounds);
    unsigned last = --t->nlinks;
    if ((unsigned)li != last) {
        t->links[li] = t->links[last];
        for (unsigned i = 0; i < t->conns_hi; i++)
            if (t->conns[i].used && t->conns[i].link == (int)last)
                t->conns[i].link = li;
    }
    return dropped;
}

const struct transport_ops transport_tcp = {
    .name = "tcp",
    .open = tcp_open,
    .send = tcp_send,
    .poll = tcp_poll,
    .close = tcp_close,
    .stats = tcp_stats,
    .local = tcp_local,
    .peer_set = tcp_peer_set,
    .peer_del = tcp_peer_del,
};
