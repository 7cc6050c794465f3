/* SPDX-License-Identifier: MIT */
/*
 * pinned.h — the pinned base's state: one thread per shard, pinned to its
 * core, and SPSC rings between every ordered pair of shards and between
 * every shard and every external caller (design §2, §6). The mailbox
 * protocol is described in docs/mailbox.md.
 */
#ifndef TS_ENGINE_PINNED_H
#define TS_ENGINE_PINNED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "../shm/ring.h"
#include "../shm/segment.h"
#include "blob.h"
#include "net.h"
#include "spill.h"
#include "system.h"

#define MAX_CLIENTS 1024 /* external caller threads of one system at once */
#define DRAIN_BATCH 64  /* messages taken from one queue before looking at the next */
#define REC_BLOB 2u     /* ring record flag: the record holds a ts_msg * on the heap */

/* One outbound destination of a shard: its ring, and the messages that did
 * not fit yet, in order (design §3: a full ring never drops, never blocks). */
struct port {
    struct ring *ring;
    _Atomic uint32_t *wake; /* the consumer's sleep word */
    struct mailq *overflow;  /* &own_overflow, or the node's shared memory */
    struct spill_port *spill; /* crash-safe shards: its overflow's commits */
    struct mailq own_overflow;
    uint64_t overflow_hwm;
    bool dirty;             /* reserved records not yet published */
    bool wake_due;          /* published since its consumer was last woken */
    bool to_client;         /* an external caller's: counted for idle detection */
    uint32_t unpublished;   /* records reserved in the ring since the last publish */
};

/* What the shards and the caller of a mailbox both touch. */
struct client_words {
    /* Its address. A mailbox whose thread exited is adopted by the next new
     * thread under the next generation: what was sent to the old address is
     * dropped, never handed to the new owner. Written by the owner (release);
     * shards read it to route (acquire). */
    _Atomic ts_addr addr;
    _Atomic uint32_t sleeping; /* futex word: 1 while the caller sleeps */
    uint32_t zero;
    _Atomic uint64_t sent;     /* messages it queued to shards (idle detection) */
};

/* An external caller thread's mailbox: a ring to each shard and back. */
struct client {
    uint32_t id;
    uint64_t owner; /* serial of the thread it belongs to (0: free); client_lock */
    struct shm_segment seg;
    struct ring **to_shard;   /* [n]: this caller produces, shard i consumes */
    struct ring **from_shard; /* [n]: shard i produces, this caller consumes */
    struct client_words *w;    /* own, or the node's shared memory */
    struct client_words own;
    unsigned rr_next;          /* its round-robin placement cursor */
    struct inbox inbox;        /* received, not yet handed out */
};

struct pinned;

/* The message a crash-safe shard is handling (design §5), in shared memory
 * so that the admin and the shard's successor can read it. ring: the
 * inbound ring's index (shards 0..n-1, then callers n..). */
struct inflight {
    _Atomic uint32_t active;
    uint32_t ring;
    uint64_t pos;    /* the record's offset in that ring */
    ts_addr actor, src;
    uint64_t type;
    /* Set by a successor: the message the last crash happened on and how
     * many crashes it has caused. */
    uint32_t crash_ring, crashes;
    uint64_t crash_pos;
};

struct pshard {
    struct shard sh;
    struct pinned *p;
    pthread_t thread;
    bool started;
    _Atomic uint32_t *sleeping; /* futex word: 1 while the shard sleeps */
    _Atomic uint32_t own_sleeping;
    struct inflight *inflight; /* multiproc: crash-safe handling; NULL: batched */
    struct ring **in;          /* [n]: from shard i (NULL for itself) */
    struct port *out;          /* [n]: to shard i (unused for itself) */
    struct port *to_client;    /* [MAX_CLIENTS] */
    struct port **dirty;       /* ports to publish at the end of this batch */
    unsigned ndirty;
    struct port **spilled;     /* ports with an overflow */
    unsigned nspilled;
    struct port **wakes;       /* ports published, their consumers not yet woken */
    unsigned nwakes;
    struct shard_net *net;     /* its transport to other nodes; NULL: none */
    struct blob_map *maps;     /* large messages written since the last publish */
    unsigned nmaps, capmaps;
};

/* A large message's blob as its producer maps it until the publish. */
struct blob_map {
    void *p;
    size_t size;
};

struct pinned {
    struct pinned *next_live; /* the process's open pinned systems (client.c) */
    struct ts_system *sys;
    uint64_t uid;           /* unique in the process: callers cache mailboxes by it */
    unsigned n;
    struct pshard *shards;
    struct shm_segment seg; /* every shard-to-shard ring and log ring */
    struct log_queue *logq; /* [n]: each shard's log records */
    _Atomic(struct client *) clients[MAX_CLIENTS];
    _Atomic uint32_t nclients;
    _Atomic uint32_t *ncl;  /* what shards poll: &nclients, or the node's count */
    /* multiproc: caller mailboxes are entries of the node's shared table.
     * claim takes a free one (or one whose process is gone) and returns its
     * mirror; unclaim gives it back. NULL: mailboxes are made here. */
    int (*claim)(struct pinned *p, struct client **out);
    void (*unclaim)(struct pinned *p, struct client *c);
    /* Whether the node knows a type this process has not registered. */
    bool (*type_known)(struct pinned *p, const char *name);
    void *mp; /* the multiproc view (base_multiproc.c) */
    /* multiproc: messages above blob_min payload bytes travel as blobs
     * (blob.h). NULL: as heap pointers (REC_BLOB), within one process. */
    const struct blob_store *blobs;
    size_t blob_min;
    struct net_config net; /* the listen endpoint and peer table */
    struct net_pub *pubs;  /* [n]: each shard's link figures for the node's Status
                              (pinned; a multiproc node's are in its segment) */
    pthread_mutex_t client_lock;
    _Atomic uint32_t *stop; /* own_stop, or the node's shared memory */
    _Atomic uint32_t own_stop;
    pthread_t logger;
    bool logger_started;
};

/* Clients (client.c). A system is registered while open, so a thread that
 * exits can give its mailboxes back to the systems still open. */
void clients_register(struct pinned *p);
void clients_unregister(struct pinned *p);
int client_get(struct pinned *p, struct client **out);
void client_free(struct pinned *p, struct client *c);
/* Copies what the shards sent this caller into its inbox. */
void client_collect(struct pinned *p, struct client *c);
/* Waits until the inbox holds more than `have` messages, up to deadline.
 * 0 or -ETIMEDOUT. */
int client_await(struct pinned *p, struct client *c, uint64_t deadline, size_t have);
/* Waits for the next inbox message up to deadline. 0 or -ETIMEDOUT. */
int client_wait(struct pinned *p, struct client *c, uint64_t deadline, ts_msg **out);
/* Queues a message to a shard: -EAGAIN when its ring is full. */
int client_send(struct pinned *p, struct client *c, ts_addr dst, ts_addr src, uint64_t type,
                const void *payload, size_t len, uint32_t flags);
/* client_send that waits (backing off) for room until deadline. */
int client_send_wait(struct pinned *p, struct client *c, ts_addr dst, uint64_t type,
                     const void *payload, size_t len, uint64_t deadline);

/* A shard's ports and slots: made for shard i of p (its rings wired by the
 * caller), and freed (NULL-safe for a pshard never made). */
int pshard_init(struct pinned *p, unsigned i);
void pshard_fini(struct pshard *ps);

/* The caller side of the pinned base, shared with multiproc. */
bool pinned_client_known(struct shard *sh, ts_addr dst);
int pinned_control(struct shard *sh, const ts_msg *m);
int pinned_client(struct ts_system *sys, ts_addr *out);
int pinned_tell(struct ts_system *sys, ts_addr dst, uint64_t type, const void *p, size_t len);
int pinned_create(struct ts_system *sys, const char *type_name, const ts_create_opts *opts,
                  ts_addr *out);
int pinned_wait(struct ts_system *sys, uint64_t deadline, ts_msg **out);
int pinned_shutdown(struct ts_system *sys);
/* A caller mailbox's rings read again from where they were left (its
 * previous owner died): reservations never published are dropped. */
void client_recover(struct pinned *p, struct client *c);

/* Reserves a message of len payload bytes in r: in place when it fits a
 * record, else as a heap blob the record points to (REC_BLOB; freed by the
 * consumer). Envelope zeroed but for len; NULL when the ring is full. */
ts_msg *ring_msg_reserve(struct ring *r, size_t len);

/* The shard loop (pinned_loop.c): a shard thread's body, the shard side of
 * routing, and a caller's port on a shard (NULL for an unknown address). */
void *pinned_shard_main(void *arg);
/* Starts shard ps's thread on cpu (pinned_shard_main). */
int pinned_start_thread(struct pshard *ps, int cpu);
ts_msg *pinned_reserve_remote(struct shard *sh, ts_addr dst, size_t len);
/* Links to other nodes (net.h), from p->net (parsed already): ps's
 * transport opened (0 with none configured) or closed; and whether a node
 * is in the peer table (base_ops.node_known). */
int pinned_net_open(struct pshard *ps);
void pinned_net_close(struct pshard *ps);
bool pinned_node_known(struct shard *sh, uint16_t node);
struct port *pinned_client_port(struct pshard *ps, ts_addr dst);
/* base_ops.status_queued and status_info (status.c) of the pinned base;
 * the first also multiproc's. */
uint64_t pinned_status_queued(struct shard *sh, ts_addr dst, const ts_msg *skip);
void pinned_status_info(struct shard *sh, struct status_info *out);

/* Wakes whoever sleeps on word, if it announced so (after a publish). */
void pinned_wake(_Atomic uint32_t *word);
/* base_ops.caps_changed: wakes every shard. */
void pinned_caps_changed(struct ts_system *sys);

#endif
