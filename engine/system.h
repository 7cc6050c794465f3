/* SPDX-License-Identifier: MIT */
/* system.h — struct ts_system and the ops table each base implements. */
#ifndef TS_ENGINE_SYSTEM_H
#define TS_ENGINE_SYSTEM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <thespis/thespis.h>

#include "images.h"
#include "logger.h"
#include "names.h"
#include "members.h"
#include "nodecaps.h"
#include "shard.h"
#include "typeid.h"

/* An external caller's mailbox: a FIFO of messages it owns (ts_msg_free). */
struct inbox {
    ts_msg **v;
    size_t head, n, cap;
};

int inbox_push(struct inbox *in, ts_msg *m);
ts_msg *inbox_pop(struct inbox *in);
void inbox_fini(struct inbox *in);

/* A node's figures only its base knows, for its Status (status.c). */
struct net_pub;
struct status_shard_info {
    int32_t pid;        /* its process; default this one */
    uint32_t restarts;  /* of its process (multiproc); default 0 */
    uint64_t actors;    /* live on it; default its resident count */
    const struct net_pub *links; /* its published link figures; default NULL (none) */
};
struct status_info {
    const char *name;   /* the node's name; default NULL (none) */
    int base;           /* ts_base; default the configured one */
    int32_t pid;        /* its admin process; default this one */
    struct status_shard_info *shards; /* [sys->nshards] */
};

/*
 * What a base does. The system layer has checked arguments and the shutdown
 * state before calling; every call but reserve_remote and control runs on
 * an external caller's thread.
 */
struct base_ops {
    const char *name;
    /* Creates the shards (sys->shards, sys->nshards) and whatever runs them. */
    int (*open)(struct ts_system *sys);
    /* ExitRequest to every top-level actor; waits until all have exited. */
    int (*shutdown)(struct ts_system *sys);
    /* Stops and frees what open made (shards included). Safe after a
     * failed open. */
    void (*close)(struct ts_system *sys);
    /* The calling thread's mailbox address (made on first use). */
    int (*client)(struct ts_system *sys, ts_addr *out);
    /* Sends from the calling thread's mailbox. -EAGAIN when full. */
    int (*tell)(struct ts_system *sys, ts_addr dst, uint64_t type, const void *p, size_t len);
    /* Creates a top-level actor (placed by opts). */
    int (*create)(struct ts_system *sys, const char *type_name, const ts_create_opts *opts,
                  ts_addr *out);
    /* Waits until deadline (monotonic ns; UINT64_MAX: none) for the next
     * message to the caller's mailbox. 0 with *out set, or -ETIMEDOUT. */
    int (*wait)(struct ts_system *sys, uint64_t deadline, ts_msg **out);
    /* Waits until no message is queued and no timer is pending (0), or the
     * deadline (-ETIMEDOUT). */
    int (*run)(struct ts_system *sys, uint64_t deadline);
    /* Shard side: room for a message to another shard or an external caller
     * (see shard_reserve). */
    ts_msg *(*reserve_remote)(struct shard *sh, ts_addr dst, size_t len);
    /* Shard side: a control message only this base knows; -ENOENT if none. */
    int (*control)(struct shard *sh, const ts_msg *m);
    /* Shard side: whether dst is a live external caller's mailbox (a message
     * to it that reached a shard, from another caller, is passed on). */
    bool (*client_known)(struct shard *sh, ts_addr dst);
    /* Whether this shard has a link to node (NULL: to none). */
    bool (*node_known)(struct shard *sh, uint16_t node);
    /* Optional: whether what open made outlives this system (a named
     * node), so that close only detaches. */
    bool (*persists)(struct ts_system *sys);
    /* Optional. Global names kept elsewhere than sys->names (claim: the
     * live holder, or 0 with *rc 0 when addr now has it). */
    ts_addr (*name_claim)(struct ts_system *sys, const char *name, ts_addr addr, int *rc);
    void (*name_release)(struct ts_system *sys, const char *name, ts_addr addr);
    ts_addr (*name_get)(struct ts_system *sys, const char *name); /* with the two above */
    /* Optional: the convention's global names from a process other than the
     * one that keeps the node's place in it (a multiproc shard: its admin
     * does); as node_conv_name, op an enum node_name_op. */
    int (*conv_name)(struct ts_system *sys, int op, const char *name, ts_addr addr,
                     ts_addr *holder);
    /* Optional, shard side: an actor's init succeeded (its Start message) /
     * it is gone; an actor directory follows them. */
    void (*actor_born)(struct shard *sh, const ts_msg *start);
    void (*actor_gone)(struct shard *sh, uint32_t slot);
    /* Optional: a process of the node that is not this one must keep the
     * sealed memfd fd of image id (a multiproc node's admin); the process
     * and its fd number for it. 0 or -errno, said. */
    int (*image_keep)(struct ts_system *sys, const ts_image_id *id, int fd, int32_t *pid,
                      int32_t *kept_fd);
    /* Optional: the node's capabilities changed; wake the shards so each
     * checks its actors against them. */
    void (*caps_changed)(struct ts_system *sys);
    /* Status (status.c). Optional, shard side: how many messages to dst
     * are published in this shard's inbound rings and not taken yet, skip
     * (the message being handled) aside; read without consuming any. */
    uint64_t (*status_queued)(struct shard *sh, ts_addr dst, const ts_msg *skip);
    /* Optional, shard side: what a node's Status shows that only the base
     * knows (struct status_info; status.c has filled in the defaults). It
     * must not wait for another shard. */
    void (*status_info)(struct shard *sh, struct status_info *out);
};

extern const struct base_ops base_simple_ops;
extern const struct base_ops base_pinned_ops;
extern const struct base_ops base_multiproc_ops;

struct ts_system {
    const struct base_ops *ops;
    ts_config cfg;
    struct logger log;
    unsigned nshards;
    struct shard **shards;
    int *shard_cpu;     /* [nshards]: the CPU each shard is pinned to; NULL if none */
    struct names names; /* global names; names_lock guards it */
    pthread_mutex_t names_lock;
    _Atomic ts_addr *dead_letter_handler; /* own_dlh, or the node's shared memory */
    _Atomic ts_addr own_dlh;
    _Atomic bool shut_down;
    struct node_caps *caps;  /* own_caps, or the node's shared memory */
    struct node_caps own_caps;
    struct node_members *members; /* the convention's table; NULL: the node is in none */
    struct node_members own_members;
    struct image_node *img; /* own_img, or the node's shared memory (images.h) */
    struct image_node own_img;
    struct node_conv *conv; /* this process keeps the node's place in it (nodeconv.h);
                               published with a release store once started (the
                               shards run by then): read it with system_conv */
    void *base; /* the base's own state */
};

/* The system whose handlers run on this thread right now, if any: a call
 * that would wait for them from inside one of them is refused (-EDEADLK). */
extern _Thread_local struct ts_system *system_running;

/* Logs an engine record about an actor (actor may be TS_ADDR_NONE). */
void system_log(struct ts_system *sys, ts_log_level level, const char *id, ts_addr actor,
                const char *type, const char *fmt, ...) TS_PRINTF(6, 7);

/* sys->conv as published (NULL: none, or not yet). */
static inline struct node_conv *system_conv(struct ts_system *sys)
{
    return __atomic_load_n(&sys->conv, __ATOMIC_ACQUIRE);
}

/* This node's own table of global names (sys->names, or the base's): claim
 * returns the live holder, or 0 with *rc 0 when addr now has it (*rc < 0,
 * with ts_last_error, when it cannot); drop forgets name if addr has it. */
ts_addr system_name_claim(struct ts_system *sys, const char *name, ts_addr addr, int *rc);
void system_name_drop(struct ts_system *sys, const char *name, ts_addr addr);
ts_addr system_name_get(struct ts_system *sys, const char *name); /* 0: nobody here */

/* A global name through the node's convention (nodeconv.h: node_conv_name,
 * op an enum node_name_op), from whichever process: the one that keeps the
 * node's place, or the base's way to it. */
int system_conv_name(struct ts_system *sys, int op, const char *name, ts_addr addr,
                     ts_addr *holder);

/* What placement knows about the creator. */
struct place_in {
    int creator;             /* the creating shard, or -1 from outside */
    unsigned *rr;            /* its round-robin cursor over shards */
    unsigned *spread;        /* its cursor over nodes (TS_PLACE_SPREAD); NULL: not here */
    const struct shard_net *net; /* its links: peers, and which leased it a slot */
};
struct place_out {
    uint16_t node; /* this node's id, or a peer's */
    int shard;     /* on this node; -1 for another (that node picks) */
};
/* Picks the node and shard for a new actor: a pure decision over the
 * options, the system's default and core map, and the creator's links.
 * Outside a shard (in.spread NULL), TS_PLACE_SPREAD and TS_PLACE_NODE for
 * a peer give shard -1 and node: ask a shard to decide. 0, -EINVAL or
 * -EHOSTUNREACH. */
int place_actor(const struct ts_system *sys, const struct place_in *in,
                const ts_create_opts *opts, struct place_out *out);

/* A printable name for a message type: its registered name or its id. */
const char *msgtype_label(uint64_t type, char buf[20]);

#endif
