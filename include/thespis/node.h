/* SPDX-License-Identifier: MIT */
/*
 * thespis/node.h — nodes that outlive the program that started them
 * (design §2: the multiproc admin is persistent), looked at and stopped by
 * name, and the code images whose actor types a node runs.
 *
 * A node is started by ts_system_open with ts_config.node_name set (or by
 * `thespis start`). These calls need no ts_system: they read the node's
 * shared memory directly, so `thespis status` never disturbs the shards.
 */
#ifndef THESPIS_NODE_H
#define THESPIS_NODE_H

#include <stdint.h>

#include <thespis/export.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TS_NODE_NAME_MAX 63
#define TS_NODE_MAX_SHARDS 64

/* One shard of a running node. */
typedef struct ts_node_shard {
    uint32_t id;
    int32_t core;      /* the CPU it is pinned to */
    int32_t pid;       /* its process (the admin's pid when shards are threads) */
    uint32_t restarts; /* times its process was restarted after a crash */
    uint64_t actors;   /* live actors on it */
    uint64_t msgs_in;  /* messages it handled */
    uint64_t msgs_out; /* messages it sent */
} ts_node_shard;

#define TS_NODE_MAX_LINKS 64

/* One link to another node, as one shard sees it (design §7): each shard
 * has its own to every peer. Figures count since the shard started. */
typedef struct ts_node_link {
    uint32_t shard;        /* this node's shard */
    uint16_t node;         /* the peer node */
    uint8_t up;            /* 1: connected (tcp) or acknowledging (udp) */
    uint8_t zero;
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t retransmits;  /* frames sent again (udp) */
    uint64_t reconnects;   /* times the link came back after being down */
    uint64_t malformed;    /* bad frames or datagrams refused from that peer */
    uint64_t queued_bytes; /* sent and not yet acknowledged */
} ts_node_link;

/* The device of a node whose links run on one of its own (the dpdk
 * transport: a DPDK port its shards share), as shard 0 last published it.
 * Figures count since the node started. */
typedef struct ts_node_device {
    char name[64];          /* the device, as DPDK names it ("net_af_packet0");
                               "": the node has none (tcp, udp) or has not
                               published it yet */
    /* The device's own counters (DPDK's rte_eth_stats). */
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
    uint64_t rx_missed;     /* received, dropped by the device: a full queue */
    uint64_t rx_errors;     /* bad frames the device refused */
    uint64_t tx_errors;     /* frames it failed to send */
    uint64_t rx_nombuf;     /* dropped for want of a buffer (mbuf) */
    /* The transport's own counters. */
    uint64_t not_ours;      /* frames for another host or protocol, dropped */
    uint64_t malformed;     /* bad Ethernet/IPv4/UDP/ARP frames, dropped */
    uint64_t forwarded;     /* datagrams handed to the shard whose port they are for */
    uint64_t inbox_full;    /* ... dropped: that shard's inbox was full (resent) */
    uint64_t arp_in;        /* ARP requests and replies received */
    uint64_t arp_out;       /* ... sent */
    uint64_t tx_dropped;    /* frames the device had no room for (resent) */
} ts_node_device;

#define TS_NODE_MAX_MEMBERS 64

/* One member of a node's convention (design §8), as that node sees it. */
typedef struct ts_node_member {
    uint16_t node;         /* its node id */
    uint8_t leader;        /* 1: the convention's leader */
    uint8_t self;          /* 1: the node whose table this is */
    uint32_t zero;
    uint64_t instance;     /* random per start: a restarted node is a new one */
    int64_t heard_ms_ago;  /* since this node last heard from it: the leader hears
                              every member, a member hears the leader; -1 for
                              the others and for itself */
    char name[64];
    char caps[512];        /* "KEY=VALUE,..." as it last said */
    char endpoints[256];   /* where it takes messages in (its listen), "" none */
} ts_node_member;

typedef struct ts_node_status {
    char name[TS_NODE_NAME_MAX + 1];
    char base[16];         /* "multiproc" or "pinned" */
    int32_t pid;           /* the admin process */
    uint16_t node_id;
    uint32_t nshards;
    uint32_t clients;      /* programs' caller mailboxes in use */
    uint64_t actors;       /* live actors, all shards */
    uint64_t dead_letters;
    char caps[512];        /* "KEY=VALUE,..." as given at start */
    ts_node_shard shards[TS_NODE_MAX_SHARDS];
    char transport[16];    /* links to other nodes: "tcp", "udp", "dpdk", two of them joined
                              by a comma ("tcp,dpdk"), or "" (none) */
    char listen[96];       /* where it takes them in, as configured ("" none) */
    uint32_t nlinks;
    ts_node_link links[TS_NODE_MAX_LINKS]; /* by shard, then peer */
    ts_node_device device; /* its dpdk port; name "" when none */
    /* Its convention: the leader's HOST:PORT as configured ("" none), whether
     * it leads, where it stands ("leading", "joining", "joined", "refused",
     * "lost"), why (refused: the leader's reason; lost: what broke), and
     * its member table, itself included. */
    char convention[96];
    uint8_t convention_leader;
    char convention_state[16];
    char convention_why[160];
    uint32_t nmembers;
    ts_node_member members[TS_NODE_MAX_MEMBERS];
} ts_node_status;

/*
 * Reads the status of the running node `name`. Errors:
 *   -EINVAL   NULL argument or a bad name
 *   -ENOENT   no node of that name
 *   -ESTALE   its admin is gone (the next start of that name cleans up)
 *   -EAGAIN   the node is still starting or already stopping
 */
TS_API int ts_node_status_get(const char *name, ts_node_status *out);

/*
 * Shuts the node `name` down cleanly (every actor asked to exit, shard
 * processes stopped, shared memory removed) and waits up to timeout_ns
 * until it is gone. A stale node's leftovers are removed. 0, -EINVAL,
 * -ENOENT or -ETIMEDOUT.
 */
TS_API int ts_node_stop(const char *name, uint64_t timeout_ns);

/*
 * ts_update_capability on the running node `name`, from any process (this
 * is `thespis cap set`): value NULL removes key. 0, -EINVAL, -ENOENT (no
 * such node), -ESTALE, -ENOSPC.
 */
TS_API int ts_node_set_capability(const char *name, const char *key, const char *value);

/* Writes a new random convention key to path (64 hex characters, mode
 * 0600); refuses to overwrite a file. 0, -EEXIST, or the errno of making
 * it. This is `thespis keygen`. */
TS_API int ts_convention_keygen(const char *path);

typedef struct ts_system ts_system;

/*
 * The member table of sys's convention (design §8) as this node sees it,
 * itself included, into out (at most max entries; out may be NULL when max
 * is 0). Returns how many members there are (may exceed max), -EINVAL, or
 * -ENOTCONN when the node is in no convention (ts_config.convention).
 */
TS_API int ts_convention_members(ts_system *sys, ts_node_member *out, unsigned max);

/* The symbol an image exports: registers its actor types (with
 * ts_register_actor_type) and returns 0 or -errno. */
#define TS_IMAGE_INIT_SYMBOL "thespis_image_init"
typedef int (*ts_image_init_fn)(void);

/*
 * Loads a code image: a shared object exporting TS_IMAGE_INIT_SYMBOL, which
 * is called once. Types an image registers before a node starts are the
 * node's. Errors: -EINVAL (NULL/empty path), -ENOENT (no such file),
 * -ENOEXEC (not loadable, or no init symbol: ts_last_error says which),
 * or the init function's own error.
 */
TS_API int ts_image_load(const char *path);

#ifdef __cplusplus
}
#endif
#endif
