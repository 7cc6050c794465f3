/* SPDX-License-Identifier: MIT */
/*
 * udp.c — the io_uring UDP backend (transport.h, design §7).
 *
 * One UDP socket and one io_uring per instance (per shard). Datagrams come in
 * through one multishot recvmsg picking buffers from a provided buffer ring,
 * with the sender's address; they go out as sendmsg requests from a pool of
 * datagram slots, many per submission. Everything about reliability (order,
 * acknowledgements, resends, fragments, restarts) is the shared layer in
 * rel.c: this file only moves datagrams and keeps time.
 *
 * Shard 0 binds the node's listen address, the one peers name; other shards
 * bind an ephemeral port and send from it, and acknowledgements come back to
 * the address a datagram came from. The socket's family is the listen
 * address's, else the first peer's, else IPv4: a peer set at runtime must
 * be of it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/err.h"
#include "rel.h"
#include "transport.h"
#include "uring.h"

#define RING_ENTRIES 512
#define NBUFS 256
#define BGID 9
#define NSLOTS 256
#define SOCK_BUF (4 << 20)
#define DGRAM_DEFAULT 1472 /* an Ethernet MTU's IPv4 UDP payload */

enum op { OP_RECV = 1, OP_SEND };

struct slot {
    struct msghdr mh;
    struct iovec iov;
    struct sockaddr_storage to;
    unsigned char *buf;
};

struct transport {
    struct transport_config cfg;
    struct rel *rel;
    struct io_uring ring;
    struct uring_bufs bufs;
    int fd;
    int family; /* the socket's: every peer's address is of it */
    bool receiving;
    struct msghdr recv_mh; /* the multishot recvmsg's template: lives as long as it */
    struct slot slots[NSLOTS];
    unsigned char *slot_mem;
    unsigned freel[NSLOTS], nfree;
    unsigned pending; /* slot handed to rel_output, not yet emitted */
};


static unsigned char *slot_buf(void *arg)
{
    struct transport *t = arg;
    if (!t->nfree || io_uring_sq_space_left(&t->ring) == 0)
        return NULL;
    t->pending = t->freel[--t->nfree];
    return t->slots[t->pending].buf;
}

static void slot_emit(void *arg, unsigned char *buf, size_t len, const struct sockaddr *to,
                      socklen_t tolen)
{
    struct transport *t = arg;
    unsigned i = t->pending;
    struct slot *s = &t->slots[i];
    (void)buf;
    struct io_uring_sqe *sqe = len ? uring_sqe(&t->ring) : NULL;
    if (!sqe) { /* nothing to send (or, never, no room): the slot goes back */
        t->freel[t->nfree++] = i;
        return;
    }
    memcpy(&s->to, to, tolen);
    s->iov = (struct iovec){.iov_base = s->buf, .iov_len = len};
    s->mh = (struct msghdr){.msg_name = &s->to, .msg_namelen = tolen, .msg_iov = &s->iov,
                            .msg_iovlen = 1};
    io_uring_prep_sendmsg(sqe, t->fd, &s->mh, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)OP_SEND << 32 | i);
}

static void arm_recv(struct transport *t)
{
    struct io_uring_sqe *s = uring_sqe(&t->ring);
    if (!s)
        return;
    io_uring_prep_recvmsg_multishot(s, t->fd, &t->recv_mh, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = BGID;
    io_uring_sqe_set_data64(s, (uint64_t)OP_RECV << 32);
    t->receiving = true;
}

static void on_recv(struct transport *t, struct io_uring_cqe *cqe, uint64_t now)
{
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (cqe->res > 0) {
            struct io_uring_recvmsg_out *o =
                io_uring_recvmsg_validate(uring_buf(&t->bufs, bid), cqe->res, &t->recv_mh);
            /* One cut short (MSG_TRUNC: longer than any datagram a peer
             * sends) fails rel's checks like any other bad one. */
            if (o && o->namelen <= t->recv_mh.msg_namelen)
                rel_input(t->rel, now, io_uring_recvmsg_payload(o, &t->recv_mh),
                          io_uring_recvmsg_payload_length(o, cqe->res, &t->recv_mh),
                          io_uring_recvmsg_name(o), o->namelen);
        }
        uring_bufs_recycle(&t->bufs, bid);
    }
    if (!(cqe->flags & IORING_CQE_F_MORE))
        t->receiving = false; /* out of buffers, or an error: armed again below */
}

static int udp_poll(struct transport *t)
{
    int n = 0;
    struct io_uring_cqe *cqe;
    unsigned head;
    uint64_t now = transport_now_ns();
    for (;;) {
        unsigned k = 0;
        io_uring_for_each_cqe(&t->ring, head, cqe) {
            uint64_t ud = io_uring_cqe_get_data64(cqe);
            if (ud >> 32 == OP_RECV)
                on_recv(t, cqe, now);
            else if (ud >> 32 == OP_SEND)
                t->freel[t->nfree++] = (unsigned)ud; /* a lost datagram is resent by rel */
            k++;
        }
        if (!k)
            break;
        io_uring_cq_advance(&t->ring, k);
        n += (int)k;
    }
    if (!t->receiving)
        arm_recv(t);
    n += rel_output(t->rel, now, slot_buf, slot_emit, t);
    io_uring_submit(&t->ring);
    return n;
}

static int udp_send(struct transport *t, uint16_t node, const struct transport_msg *msgs, unsigned n)
{
    return rel_send(t->rel, node, msgs, n);
}

static void udp_close(struct transport *t)
{
    if (!t)
        return;
    uring_cancel_all(&t->ring); /* the port is free when this returns */
    io_uring_queue_exit(&t->ring);
    if (t->fd >= 0)
        close(t->fd);
    uring_bufs_fini(&t->bufs);
    free(t->slot_mem);
    rel_close(t->rel);
    free(t);
}

static int socket_family(const struct transport_config *cfg)
{
    return cfg->listen ? cfg->listen->sa_family
           : cfg->npeers ? cfg->peers[0].addr.ss_family : AF_INET;
}

static int open_socket(const struct transport_config *cfg)
{
    int family = socket_family(cfg);
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(-errno, "cannot open a udp socket: %s", strerror(errno));
    int sz = SOCK_BUF;
    /* Bigger than the default so a burst is not dropped at the socket; the
     * FORCE forms pass the system maximum when privileged. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    struct sockaddr_storage any = {.ss_family = (sa_family_t)family};
    const struct sockaddr *at = cfg->listen ? cfg->listen : (const struct sockaddr *)&any;
    socklen_t len = cfg->listen ? cfg->listen_len
                    : family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, at, len) < 0) {
        int e = errno;
        close(fd);
        return err_set(-e, "cannot bind the udp socket: %s", strerror(e));
    }
    return fd;
}

static int udp_open(const struct transport_config *cfg, struct transport **out)
{
    struct transport *t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(-ENOMEM, "out of memory");
    t->cfg = *cfg;
    t->fd = -1;
    size_t dgram = cfg->dgram_max ? cfg->dgram_max : DGRAM_DEFAULT;
    struct rel_config rc = {.node = cfg->node, .shard = cfg->shard, .peers = cfg->peers,
                            .npeers = cfg->npeers, .dgram_max = dgram, .max_msg = cfg->max_msg,
                            .queue_limit = cfg->queue_limit, .deliver = cfg->deliver,
                            .event = cfg->event, .arg = cfg->arg};
    int rc_ = rel_open(&rc, &t->rel);
    if (rc_ < 0) {
        free(t);
        return rc_;
    }
    rc_ = io_uring_queue_init(RING_ENTRIES, &t->ring, 0);
    if (rc_ < 0) {
        rel_close(t->rel);
        free(t);
        return err_set(rc_, "cannot set up io_uring: %s", strerror(-rc_));
    }
    /* A receive buffer holds the recvmsg header, the sender's address and a
     * datagram; anything longer is truncated and dropped. */
    t->recv_mh.msg_namelen = sizeof(struct sockaddr_storage);
    size_t bsize = sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_storage) + dgram;
    if ((rc_ = uring_bufs_init(&t->ring, &t->bufs, NBUFS, (bsize + 63) & ~(size_t)63, BGID)) < 0 ||
        (rc_ = open_socket(cfg)) < 0) {
        udp_close(t);
        return rc_;
    }
    t->fd = rc_;
    t->family = socket_family(cfg);
    t->slot_mem = malloc((size_t)NSLOTS * dgram);
    if (!t->slot_mem) {
        udp_close(t);
        return err_set(-ENOMEM, "out of memory for send slots");
    }
    for (unsigned i = 0; i < NSLOTS; i++) {
        t->slots[i].buf = t->slot_mem + (size_t)i * dgram;
        t->freel[t->nfree++] = NSLOTS - 1 - i;
    }
    /* Nothing is submitted here (see tcp_open): the first poll arms it. */
    *out = t;
    return 0;
}

static unsigned udp_stats(struct transport *t, struct transport_link_stats *out, unsigned max)
{
    return rel_stats(t->rel, out, max);
}

static int udp_local(struct transport *t, struct sockaddr_storage *ss, socklen_t *len)
{
    *len = sizeof(*ss);
    if (!t->cfg.listen)
        return -ENOTCONN;
    return getsockname(t->fd, (struct sockaddr *)ss, len) < 0 ? -errno : 0;
}

static int udp_peer_set(struct transport *t, const struct transport_peer *peer)
{
    int rc = transport_peer_check(peer, t->family, "udp");
    return rc < 0 ? rc : rel_peer_set(t->rel, peer);
}

static int udp_peer_del(struct transport *t, uint16_t node)
{
    return rel_peer_del(t->rel, node);
}

const struct transport_ops transport_udp = {
    .name = "udp",
    .open = udp_open,
    .send = udp_send,
    .poll = udp_poll,
    .close = udp_close,
    .stats = udp_stats,
    .local = udp_local,
    .peer_set = udp_peer_set,
    .peer_del = udp_peer_del,
};
