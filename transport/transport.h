/* SPDX-License-Identifier: MIT */
/*
 * transport.h — the interface every backend between nodes implements
 * (design §7): one const ops table {open, send batch, poll, close, stats},
 * so a shard's run-to-completion loop drives tcp, udp or dpdk the same way.
 * An instance belongs to one shard thread or process: nothing in it is
 * thread-safe and nothing in it blocks. Links are per peer node; frames
 * are those of frame.h, numbered per link and direction from 1.
 */
#ifndef TS_TRANSPORT_TRANSPORT_H
#define TS_TRANSPORT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "frame.h"

struct transport;

/* One message to send: the envelope and where its payload is. */
struct transport_msg {
    ts_addr dst, src;
    uint64_t type;
    const void *payload;
    uint32_t len;
};

struct transport_peer {
    uint16_t node;
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

enum transport_event {
    TRANSPORT_LINK_UP,     /* a link to or from node is usable */
    TRANSPORT_LINK_DOWN,   /* it broke (err): it reconnects by itself */
    TRANSPORT_MALFORMED,   /* a peer sent a bad frame (err); its connection was closed */
};

struct transport_config {
    uint16_t node;                  /* this node's id */
    uint8_t shard;                  /* this instance's shard: a peer keeps one
                                       sequence per sending (node, shard) */
    const struct sockaddr *listen;  /* NULL: accept nothing */
    socklen_t listen_len;
    const struct transport_peer *peers; /* the peer table at open (copied); */
    unsigned npeers;                    /* peer_set, peer_del change it later */
    size_t max_msg;     /* payload limit: a longer frame is malformed */
    size_t queue_limit; /* bytes a link holds unacknowledged before send says -EAGAIN */
    size_t dgram_max;   /* datagram backends: bytes of one datagram (0: 1472, an
                           Ethernet MTU's); larger messages are fragmented */
    /* Kernel-bypass backends (dpdk): the node's shards each open an
     * instance on one device, queue `shard` of nshards; device names it
     * (DPDK devargs, e.g. "net_af_packet0,iface=veth0"), device_args are
     * the EAL's arguments (NULL: --no-huge --no-pci and a private file
     * prefix), device_mbufs the mbufs per instance (0: a default). The
     * listen address is every instance's: the node's IPv4 address, shard
     * k on port + k. */
    unsigned nshards;
    const char *device;
    const char *device_args;
    unsigned device_mbufs;
    /* Called from poll for every message received, in order per sending
     * node; payload is valid until it returns. */
    void (*deliver)(void *arg, const struct frame_hdr *h, const void *payload);
    /* Called from poll when a link changes (for logs and status). NULL-safe. */
    void (*event)(void *arg, uint16_t node, enum transport_event ev, int err);
    void *arg;
};

struct transport_link_stats {
    uint16_t node;
    uint8_t up;
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t reconnects, malformed, retransmits, queued_bytes;
};

/* The figures of the device an instance runs on (a kernel-bypass port),
 * shared by every instance on it (a node's shards): the device's own
 * counters (DPDK's rte_eth_stats) and the backend's. */
struct transport_device_stats {
    char name[64];                       /* the device ("net_af_packet0") */
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
    uint64_t rx_missed;                  /* dropped by the device: no room on a queue */
    uint64_t rx_errors, tx_errors;       /* bad frames received; sends that failed */
    uint64_t rx_nombuf;                  /* dropped for want of an mbuf */
    uint64_t not_ours;                   /* frames for another host or protocol */
    uint64_t malformed;                  /* bad Ethernet/IPv4/UDP/ARP frames */
    uint64_t forwarded;                  /* steered to another shard's queue */
    uint64_t inbox_full;                 /* ... dropped: that shard's inbox was full */
    uint64_t arp_in, arp_out;            /* ARP requests and replies */
    uint64_t tx_dropped;                 /* the device took none: freed (rel resends) */
};

struct transport_ops {
    const char *name;
    /* Sets the backend up (sockets, rings, listener). Returns 0, or -errno
     * with ts_last_error saying what failed (an address in use, a missing
     * kernel feature). Blocks only on that setup. Submits no I/O: a ring's
     * requests do their completion work in the thread that submitted them,
     * so the first poll, on the thread that drives the instance, does. */
    int (*open)(const struct transport_config *cfg, struct transport **out);
    /* Queues n messages to node, in order, after everything queued before.
     * The payloads are copied before it returns. Never blocks: a link that
     * is down or still connecting keeps them until it is up. Returns how
     * many were queued (from the first): fewer than n when the link's queue
     * reached queue_limit; -EAGAIN when none fit, -EHOSTUNREACH for a node
     * not in the peer table, -EMSGSIZE for a message above max_msg. */
    int (*send)(struct transport *t, uint16_t node, const struct transport_msg *msgs, unsigned n);
    /* Makes progress without blocking: sends what is queued, accepts,
     * connects and reconnects, reads and hands every complete message to
     * deliver. Returns how many events it handled (0: nothing to do). */
    int (*poll)(struct transport *t);
    /* Closes every link and frees the instance; queued messages are dropped. */
    void (*close)(struct transport *t);
    /* Fills up to max links' figures, one per peer node (each names its
     * node; peer_del changes their order); returns how many there are. */
    unsigned (*stats)(struct transport *t, struct transport_link_stats *out, unsigned max);
    /* The address it receives on (to learn a port the kernel picked). 0 or
     * -errno (-ENOTCONN: it accepts nothing). */
    int (*local)(struct transport *t, struct sockaddr_storage *ss, socklen_t *len);
    /* Optional; NULL for backends on the kernel's sockets (tcp, udp). Fills
     * *out with the figures of the device t runs on and returns 1, or
     * returns 0 when it has none. Does not block; called by the thread that
     * drives t. */
    unsigned (*device_stats)(struct transport *t, struct transport_device_stats *out);
    /* The peer table at runtime (a convention's members joining, leaving,
     * restarting), after the one open was given. Optional (NULL: the table
     * is fixed at open; every backend here has them). Called by the thread
     * that drives t, between polls: never from inside deliver or event
     * (-EBUSY, nothing changed). They call neither; they block on nothing
     * but a lock the node's shards share (dpdk), and copy *peer.
     *
     * peer_set adds a peer, or changes the address of one already known:
     * its link is closed and opened again to the new address, and what was
     * queued to it stays queued and goes there, in order (a receiver that
     * has not seen the link starts at its first frame not acknowledged;
     * epochs, docs/protocol.md). The same address again changes nothing.
     * A node added after open, also one deleted before, gets a link of a
     * new epoch, so the peer numbers it afresh from 1. Returns 0, -EINVAL
     * (an address of a family the backend cannot reach: not IPv4 or IPv6
     * for tcp, not the socket's for udp, not IPv4 for dpdk; or a bad
     * length), -ENOMEM, -EBUSY; ts_last_error says why. */
    int (*peer_set)(struct transport *t, const struct transport_peer *peer);
    /* Forgets a peer: its links closed (both directions), what was queued
     * to it dropped. Returns how many messages were dropped (queued and not
     * yet acknowledged as delivered), -ENOENT for a node not in the table,
     * -EBUSY. Afterwards send to it says -EHOSTUNREACH and what arrives
     * from it is refused as from any unknown node (TRANSPORT_MALFORMED,
     * -EPERM). */
    int (*peer_del)(struct transport *t, uint16_t node);
};

extern const struct transport_ops transport_tcp;
extern const struct transport_ops transport_udp;
/* The DPDK backend: in the build only with DPDK (meson option dpdk);
 * transport_find("dpdk") says NULL otherwise. */
extern const struct transport_ops transport_dpdk;

/* For backends' peer_set: 0 when peer's address is of `family` (AF_UNSPEC:
 * IPv4 or IPv6) and has its length, else -EINVAL saying why (backend names
 * the transport). */
int transport_peer_check(const struct transport_peer *peer, int family, const char *backend);
/* Whether two peers' addresses are the same (IPv4, IPv6: address and port;
 * other families: the same bytes). */
bool transport_peer_same(const struct transport_peer *a, const struct transport_peer *b);

/* The backend named `name` ("tcp", "udp", "dpdk"), or NULL (also for
 * "dpdk" in a build without DPDK). */
const struct transport_ops *transport_find(const char *name);

#endif
