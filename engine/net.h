/* SPDX-License-Identifier: MIT */
/*
 * net.h — a shard's way to other nodes (design §7): the node's listen
 * endpoint and peer table parsed from ts_config, and per shard one
 * transport instance that its loop polls, with the messages for other nodes
 * queued in send order until the transport takes them.
 */
#ifndef TS_ENGINE_NET_H
#define TS_ENGINE_NET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "../transport/transport.h"
#include "mailq.h"
#include "members.h"

struct shard;

/* The transports a node may use at once, each with its own instance per
 * shard: 0 tcp, 1 udp, 2 dpdk (net_kind_ops). */
#define NET_KINDS 3
#define NET_DPDK 2

struct net_config {
    bool listen_set; /* on any transport */
    struct {
        bool set;
        struct sockaddr_storage addr;
        socklen_t len;
    } listen[NET_KINDS];
    struct transport_peer *peers; /* all, in the order given */
    uint8_t *peer_kind;           /* [npeers]: the transport to each */
    unsigned npeers;
    /* Per transport: its peers (copies, for its instances) */
    struct transport_peer *kind_peers[NET_KINDS];
    unsigned kind_npeers[NET_KINDS];
};

/* The backend of kind; NULL for dpdk in a build without DPDK. */
const struct transport_ops *net_kind_ops(unsigned kind);
/* Whether the node uses transport kind (listens on it or has a peer on it). */
bool net_config_uses(const struct net_config *c, unsigned kind);
/* "tcp", "udp" or "tcp,udp": the transports c uses, into buf. */
void net_config_transports(const struct net_config *c, char *buf, size_t len);

/* Parses listen "SCHEME://HOST:PORT[,SCHEME://HOST:PORT]" (at most one per
 * transport) and peers "ID=[SCHEME://]HOST:PORT,..." (SCHEME: tcp, udp or
 * dpdk; HOST: a name, an IPv4 address, or [an IPv6 one]). A peer without a
 * scheme uses the transport the node listens on when it listens on one,
 * else tcp. dpdk in a build without DPDK is an error. Neither set: *out stays empty (no network). 0 or -EINVAL with
 * ts_last_error naming the bad part. */
int net_config_parse(const char *listen, const char *peers, uint16_t self, struct net_config *out);
void net_config_free(struct net_config *c);
/* node's place in c's peer table, or -1 when it is not a peer. */
int net_config_peer(const struct net_config *c, uint16_t node);

/* One shard's links as status shows them, in a node's shared segment:
 * the shard writes them every so often, anyone reads them (a figure may be
 * a moment older than the one beside it). */
#define NET_PUB_LINKS 16
struct net_pub_link {
    _Atomic uint64_t node_up; /* node | up << 16 */
    _Atomic uint64_t frames_in, frames_out, bytes_in, bytes_out;
    _Atomic uint64_t retransmits, reconnects, malformed, queued_bytes;
};
/* The node's device (dpdk), whose port all its shards share: shard 0
 * alone publishes it, so one thread reads the device's counters. name is
 * written once, before present is set (release; status reads present with
 * acquire, then name). */
struct net_pub_device {
    _Atomic uint32_t present; /* 0: no device (tcp, udp), or not published yet */
    uint32_t zero;
    char name[64];
    _Atomic uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
    _Atomic uint64_t rx_missed, rx_errors, tx_errors, rx_nombuf;
    _Atomic uint64_t not_ours, malformed, forwarded, inbox_full, arp_in, arp_out, tx_dropped;
};
struct net_pub {
    _Atomic uint32_t n;
    uint32_t zero;
    struct net_pub_link links[NET_PUB_LINKS];
    struct net_pub_device device;
};

/* Internal message types between the nets of two nodes (control
 * messages: to a shard's control address, generation 0). */
#define NET_LEASE_REQ UINT64_C(0x7473000000000020)   /* uint32 count */
#define NET_LEASE_GRANT UINT64_C(0x7473000000000021) /* uint64 epoch, ts_addr[count] */
/* To an actor's address on another node: uint64 epoch + a Start payload. */
#define NET_START UINT64_C(0x7473000000000022)
/* A code image fetched from the convention's leader (image_fetch.c), shard
 * control address to shard control address. GET: the image id (16 bytes).
 * DATA: a ts.ValidateImage payload (id, bytes, signature: thespis/image.h).
 * NONE: a ts.ValidatedImage payload, ok 0, saying why not. */
#define NET_IMAGE_GET UINT64_C(0x7473000000000023)
#define NET_IMAGE_DATA UINT64_C(0x7473000000000024)
#define NET_IMAGE_NONE UINT64_C(0x7473000000000025)

/* Actor slots a peer node has leased to this shard (design §4: ts_create
 * returns an address at once, also for another node). Each slot is a whole
 * address on that node, good while the node's lease epoch is. */
struct net_lease {
    ts_addr *v;
    unsigned head, n, cap;
    uint64_t epoch;     /* of the node instance that granted them; 0: none yet */
    uint64_t asked_ns;  /* when the last request went; 0: none is out */
    uint32_t want;      /* slots to ask for: grows when they run out */
    bool counted;       /* in the shard's peer_leases figure */
};

/* One transport instance of a shard. */
struct net_port {
    const struct transport_ops *ops;
    struct transport *t;
    struct shard_net *n;
};

/* A node this shard can send to: configured (ts_config.peers), or learned
 * from the convention's member table (its endpoints). A learned one that
 * leaves is forgotten but keeps its place, for its comeback. */
struct net_peer {
    struct transport_peer tp; /* its node and address */
    uint8_t kind;             /* the transport to it */
    bool live;                /* false: forgotten (it left the convention) */
    bool learned;             /* from the convention */
    uint64_t instance;        /* learned: the member's instance the link is to */
};

struct shard_net {
    struct net_port port[NET_KINDS]; /* t NULL: that transport is not used */
    struct shard *sh;
    const struct net_config *cfg;
    struct net_peer *peers; /* [npeers]: the configured ones first, in their order */
    unsigned npeers, cap;
    struct mailq *out;    /* per peer: for that node, in send order, not yet
                             taken; one link full holds up no other */
    struct net_pub *pub;  /* where its figures go; NULL: nobody reads them */
    unsigned polls;
    struct net_lease *leases; /* per peer: slots on that node this shard may create in */
    uint64_t epoch;           /* this instance's lease epoch (shard 0 grants) */
    unsigned grant_rr;        /* the shard of this node the next granted slot is on */
    uint64_t device_ns;       /* when its device's figures were last published */
};

/* node's place in n's peer table, or -1 when it is not a live peer. */
int net_peer_index(const struct shard_net *n, uint16_t node);

/*
 * Brings the peers learned from the convention in line with its member
 * table v[count] (this node's entry among them): a member with endpoints
 * becomes a peer over the first transport (tcp, udp, dpdk) both use; one
 * that is gone, or back as a new instance, is forgotten: its link closed,
 * what was queued to it made dead letters (a Start: ChildExited
 * -EHOSTUNREACH to the parent), its leases dropped. A configured peer
 * stays as configured. A member it cannot reach is said in the log
 * (TS-CONV-NOLINK). 0, or -EBUSY / -ENOMEM: call again later (on the
 * shard's thread, not inside a transport's callback).
 */
int net_members_sync(struct shard_net *n, const struct member_rec *v, unsigned count);

/* Writes the transport's per-link figures to n->pub (if set), and on
 * shard 0 its device's, at most every NET_DEVICE_PUB_NS (a device's
 * counters may be registers across PCIe, or a system call). */
#define NET_DEVICE_PUB_NS (10u * 1000000u)
void net_publish(struct shard_net *n);

/* Opens shard sh's transport; the listener only on shard 0, which takes
 * in everything this node receives and routes it to the shards' rings. */
int net_open(struct shard_net *n, struct shard *sh, const struct net_config *cfg);
void net_close(struct shard_net *n);
/* Room for a message to the peer at place `peer` of the peer table
 * (net_config_peer); NULL when out of memory. */
ts_msg *net_reserve(struct shard_net *n, unsigned peer, size_t len);
/* Hands what is queued to the transport, and lets it work. Returns how
 * many events it handled (0: nothing happened). */
int net_poll(struct shard_net *n);

/* Takes a slot on node `node` leased to this shard: its address and the
 * lease epoch to put in the Start. 0, -EAGAIN (none yet: one is asked for)
 * or -EHOSTUNREACH (not a peer). Asks for more before they run out. */
int net_lease_take(struct shard_net *n, uint16_t node, ts_addr *out, uint64_t *epoch);
/* Gives back a slot net_lease_take gave that was not used. */
void net_lease_return(struct shard_net *n, ts_addr addr, uint64_t epoch);
/* Asks every peer that has leased this shard nothing (and has no request
 * out) for slots: leases are asked for when first wanted (a spread
 * placement, a link coming up), not for every peer at start. */
void net_lease_prime(struct shard_net *n);
/* Whether node has a slot leased to this shard now. */
bool net_leased(const struct shard_net *n, uint16_t node);
/* A lease grant's payload of len bytes: its epoch and how many addresses it
 * holds (at most the most a grant may hold). 0 or -EBADMSG. */
int net_grant_read(const void *p, size_t len, uint64_t *epoch, size_t *count);
/* Address i of a grant net_grant_read took, when it is a slot an actor can
 * live in on node `node` (the granter); else TS_ADDR_NONE. */
ts_addr net_grant_addr(const void *p, size_t i, uint16_t node);
/* A net control message that came to this shard through another shard
 * (NET_LEASE_GRANT for it). 0, or -ENOENT when m is not one. */
int net_control(struct shard_net *n, const ts_msg *m);

#endif
