/* SPDX-License-Identifier: MIT */
/*
 * mp.h — a node in shared memory (design §2, §5, §6): the multiproc base's
 * admin, shard processes and every attached program map one named segment,
 * /dev/shm/thespis.node.<name>, laid out as below. Everything a process
 * other than the admin's forks reads is found by offset; pointers stored in
 * it (log queues' rings) are only followed by the admin and its shards,
 * which map it at the same address.
 *
 * Layout: struct mp_node, then the shard rings (n x n, self rings
 * included), the callers' rings (MP_MAX_CLIENTS x n, to and from each
 * shard), the log rings (one per shard and one for the admin), and the
 * actor directory (dir_cap entries per shard, indexed by slot).
 */
#ifndef TS_ENGINE_MP_H
#define TS_ENGINE_MP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <thespis/node.h>

#include "logger.h"
#include "net.h"
#include "images.h"
#include "members.h"
#include "nodecaps.h"
#include "pinned.h"
#include "registry.h"
#include "shard.h"

#define MP_MAGIC UINT64_C(0x3165646f6e737473) /* "tsnode1" */
#define MP_VERSION 8u
#define MP_PREFIX "thespis.node."
#define MP_MAX_CLIENTS 64   /* caller threads attached to one node at once */
#define MP_CLIENT_RING (64u << 10)
#define MP_LOG_RING (64u << 10)
/* Log rings of a node of n shards: one per shard, the admin's, and the
 * admin's convention thread's (each ring has one producer). */
#define MP_LOG_QUEUES(n) ((n) + 2u)
#define MP_DIR_CAP 16384u   /* actor slots per shard */
#define MP_START_MAX 480u   /* a Start payload the directory keeps */
#define MP_NAMES 2048u
#define MP_NAME_LEN 112u
#define MP_TYPES 512u
/* Address space for one shard's overflows (spill.h); pages are taken only
 * as messages wait in it. */
#define MP_SPILL_BYTES ((size_t)1 << 30)

enum mp_state { MP_STARTING = 0, MP_RUNNING, MP_STOPPING, MP_STOPPED, MP_FAILED };

/* One actor of the directory: the Start it was built from. */
struct mp_dirent {
    _Atomic uint32_t live;
    uint32_t len;    /* of start[] */
    ts_addr addr;    /* its address (kept when it exits: the slot's last generation) */
    ts_addr creator; /* the Start's sender */
    unsigned char start[MP_START_MAX];
};

/* A shard process's call on the convention's global names, served by the
 * admin (which keeps the node's place in it: nodeconv.h). One at a time:
 * the shard fills it and moves IDLE -> ASKED; the admin takes it (TAKEN),
 * answers (ANSWERED) and wakes it; the shard reads and moves it to IDLE.
 * A shard that gives up takes back a request still ASKED. */
enum { MP_CONV_IDLE, MP_CONV_ASKED, MP_CONV_TAKEN, MP_CONV_ANSWERED };
struct mp_conv_req {
    _Atomic uint32_t state;
    uint32_t op; /* enum node_name_op */
    ts_addr addr, holder;
    int32_t rc;
    uint32_t zero;
    char name[MP_NAME_LEN];
    char why[256]; /* rc < 0: ts_last_error's text */
};

/* A program's ask that the admin keep an image's sealed memfd (image.c):
 * the admin takes the fd from the program (pidfd_getfd), checks its seals
 * and hash, and keeps it open as long as the node runs; shard processes,
 * restarted ones too, load the image from it. One at a time (img_lock). */
struct mp_image_req {
    _Atomic uint32_t state; /* MP_CONV_IDLE, _ASKED, _TAKEN, _ANSWERED */
    int32_t pid, fd;        /* the asking program's */
    int32_t rc, kept_fd;    /* the answer: 0 and the admin's fd, or -errno */
    uint32_t seq;           /* the ask's number; the answer echoes it */
    uint32_t answered;
    ts_image_id id;
    char why[256];
};

struct mp_shard {
    _Atomic uint32_t sleeping;
    _Atomic int32_t pid;
    _Atomic uint32_t restarts;
    _Atomic uint32_t ready;
    int32_t core;
    _Atomic uint32_t dir_hwm; /* slots in use stay below it */
    struct shard_stats stats;
    struct net_pub net; /* its links to other nodes */
    struct inflight inflight;
    _Atomic uint32_t next_fresh[TS_NODE_MAX_SHARDS]; /* its slot pools on each shard */
    struct mp_conv_req conv;
};

struct mp_client {
    _Atomic int32_t pid; /* the owning process; -pid while it claims; 0: free */
    uint32_t zero;
    uint64_t start;      /* its start time, so a reused pid is not taken for it */
    struct client_words w;
};

struct mp_name {
    uint32_t state; /* 0 empty, 1 used, 2 deleted; node lock */
    uint32_t zero;
    ts_addr addr;
    char name[MP_NAME_LEN];
};

/* A type registered by the node's starter after the node forked: shards
 * take it by reference when the same image is mapped at the same place. */
struct mp_type {
    char name[96];
    uint64_t ptr, fbase;
    char file[256];
};

struct mp_node {
    uint64_t magic;
    uint32_t version;
    _Atomic uint32_t state;
    _Atomic int32_t admin_pid;
    uint32_t nshards;
    uint16_t node_id;
    uint8_t base;    /* ts_base */
    uint8_t threads; /* shards are threads of the admin (a named pinned node) */
    uint32_t ring_size, dir_cap;
    uint64_t max_msg;
    char name[TS_NODE_NAME_MAX + 1];
    struct node_caps caps; /* its capabilities, changed at runtime */
    struct image_node images;   /* its code images, authority and image watchers */
    pthread_mutex_t img_lock;   /* one mp_image_req at a time */
    struct mp_image_req img_req;
    uint32_t in_conv;      /* 1: it is in a convention; members is its table */
    struct node_members members;
    _Atomic uint32_t conv_asks; /* bumped with each mp_conv_req asked: the admin sleeps on it */
    uint32_t conv_wait_ms;      /* how long a shard waits for its answer */
    char transport[16]; /* "tcp", "udp", "dpdk" or two joined by a comma: its links; "" none */
    char listen[96];   /* as configured */
    char error[256]; /* why the start failed (MP_FAILED) */
    _Atomic uint32_t stop;     /* shards leave their loops */
    _Atomic uint32_t stop_req; /* somebody asked the admin to stop the node */
    _Atomic uint32_t nclients; /* caller entries [0, nclients) were used */
    _Atomic ts_addr dlh;       /* the dead-letter handler */
    _Atomic int32_t log_owner; /* an attached program that drains the logs; 0: the admin */
    _Atomic uint64_t blob_seq; /* names of large messages' blobs (blob.h) */
    pthread_mutex_t lock;      /* names and types; robust, process-shared */
    pthread_mutex_t log_lock;  /* whoever drains the log rings */
    uint64_t off_rings, off_crings, off_logs, off_dir, total;
    struct mp_shard shards[TS_NODE_MAX_SHARDS];
    struct mp_client clients[MP_MAX_CLIENTS];
    struct log_queue logq[TS_NODE_MAX_SHARDS + 2]; /* MP_LOG_QUEUES(nshards) */
    uint32_t ntypes;
    struct mp_type types[MP_TYPES];
    struct mp_name names[MP_NAMES];
};

static inline struct ring *mp_ring(struct mp_node *nd, unsigned from, unsigned to)
{
    return (struct ring *)(void *)((char *)nd + nd->off_rings +
                                   ((uint64_t)from * nd->nshards + to) * ring_footprint(nd->ring_size));
}
/* Caller c's ring to shard i (back: from shard i to it). */
static inline struct ring *mp_cring(struct mp_node *nd, unsigned c, unsigned i, int back)
{
    return (struct ring *)(void *)((char *)nd + nd->off_crings +
                                   (((uint64_t)c * nd->nshards + i) * 2 + (unsigned)back) *
                                       ring_footprint(MP_CLIENT_RING));
}
static inline struct ring *mp_log_ring(struct mp_node *nd, unsigned i)
{
    return (struct ring *)(void *)((char *)nd + nd->off_logs + (uint64_t)i * ring_footprint(MP_LOG_RING));
}
static inline struct mp_dirent *mp_dir(struct mp_node *nd, unsigned shard, uint32_t slot)
{
    return (struct mp_dirent *)(void *)((char *)nd + nd->off_dir) +
           (uint64_t)shard * nd->dir_cap + slot;
}

/* Locks a robust process-shared mutex, recovering it from a dead holder. */
int mp_lock(pthread_mutex_t *m);
/* Makes m, robust and process-shared when shared (it lives in a node's
 * segment), a plain one otherwise. */
void mp_mutex_init(pthread_mutex_t *m, bool shared);

/* "thespis.node.<name>" after checking the name; 0 or -EINVAL. */
int mp_segment_name(const char *name, char out[96]);

/* Maps the segment of node `name` read-write (status and stop use it).
 * 0, -EINVAL, -ENOENT, -ESTALE, -EBADMSG. */
struct shm_segment;
int mp_map(const char *name, struct shm_segment *seg, struct mp_node **out);

/* "thespis.node.<name>.blob.": the prefix of the node's blobs. */
void mp_blob_prefix(const char *name, char out[96]);
/* Removes a stale node's segment and blobs. */
void mp_remove_stale(const char *name);

/* Global names (under the node's lock): claim returns the live holder, or
 * 0 when addr now has it (*rc: 0, -ENAMETOOLONG, -ENOSPC). */
ts_addr mp_name_claim(struct mp_node *nd, const char *name, ts_addr addr, int *rc);
void mp_name_release(struct mp_node *nd, const char *name, ts_addr addr);
ts_addr mp_name_get(struct mp_node *nd, const char *name); /* 0: nobody */
/* Types: published by the starter, looked up by callers, adopted by shards. */
void mp_type_publish(struct mp_node *nd, const ts_actor_type *t);
bool mp_type_known(struct mp_node *nd, const char *name);
const struct type_rec *mp_type_adopt(struct mp_node *nd, const char *name);
/* The actor directory: a Start kept while its actor lives. */
void mp_dir_put(struct mp_node *nd, unsigned shard, const ts_msg *start);
void mp_dir_del(struct mp_node *nd, unsigned shard, uint32_t slot);


#endif
