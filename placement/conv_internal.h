/* SPDX-License-Identifier: MIT */
/*
 * conv_internal.h — what convention.c (the object, its thread, the member
 * table, connections), conv_leader.c and conv_member.c share. Nothing here
 * is for the engine: it uses convention.h.
 */
#ifndef TS_PLACEMENT_CONV_INTERNAL_H
#define TS_PLACEMENT_CONV_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "convention.h"

#define CONV_LINKS_MAX 128  /* connections the leader keeps, handshakes included */
#define CONV_NOTE_SLOTS 16  /* peers whose notes are limited at once */
#define CONV_NOTE_NS (10ull * 1000000000ull) /* one note per key this often */
#define CONV_BACKOFF_MIN_MS 50
#define CONV_BACKOFF_MAX_MS 1000
#define CONV_NS_PER_MS 1000000ull
#define CONV_ADDRS_MAX 4    /* addresses of the leader's name a member tries */
#define CONV_NAMES_BUCKETS (2 * CONV_NAMES_MAX) /* a names table's chains: a power of two */

/* One TCP connection that speaks conv_wire frames. Only the convention's
 * thread touches it. */
struct conv_link {
    int fd;
    struct conv_session s;
    uint64_t heard_ns;    /* when its last good frame came (or it opened) */
    uint64_t deadline_ns; /* handshake or goodbye not done by then: closed */
    bool connecting;      /* member: connect() under way */
    bool joined;          /* leader: in the table as node; member: welcomed, list taken */
    bool closing;         /* its last frame is queued: once sent, half-close and read to EOF */
    bool shut;            /* closing, and shutdown(SHUT_WR) done */
    bool dead;            /* to be closed at the end of this turn, for why */
    bool quiet;           /* its end was noted already: no TS-CONV-LOST for it */
    uint16_t node;        /* leader: the member's node id once joined */
    char peer[64];        /* "192.0.2.1:5555" or "[2001:db8::1]:5555" */
    char host[48];        /* the peer's address alone: the leader limits notes per host */
    char why[160];        /* dead: why */
    uint8_t *out;         /* frames to send: [out_off, out_len) */
    size_t out_off, out_len, out_cap;
    size_t in_len;        /* bytes in in */
    uint8_t in[CONV_FRAME_BYTES];
};

/* A forwarded log record waiting for the leader. */
struct conv_logrec {
    uint8_t level;
    char id[CONV_LOG_ID_MAX];
    char text[CONV_LOG_TEXT_MAX];
};

/* Notes about one key (a kind of note and a peer) at most once per
 * CONV_NOTE_NS, counting the ones held back. */
struct conv_note_slot {
    char key[96];
    uint64_t at_ns;
    unsigned held;
};

/* One global name of a names table. */
struct conv_gname {
    char name[CONV_GNAME_MAX];
    uint64_t addr;  /* its holder */
    uint16_t node;  /* leader: the node it is kept for (addr_node's, else the claimer's);
                       this node's id on a member */
    bool used;
    bool reclaim;   /* member: re-claimed on this link (req reclaim_base + slot), the
                       reply awaited */
    uint32_t next;  /* 1 + the next slot of its chain, or of the free list; 0: none */
};

/* The leader's table of the convention's global names, or a member's list
 * of the names granted to it: CONV_NAMES_MAX fixed slots (an index stays
 * an entry's until it is deleted), chained by XXH3 of the name. The slots
 * are calloc'ed and taken in order, so the pages of a table never used are
 * never touched. Under the convention's lock. */
struct conv_names {
    struct conv_gname *slot; /* [CONV_NAMES_MAX] */
    uint32_t *bucket;        /* [CONV_NAMES_BUCKETS]: 1 + a chain's first slot; 0: empty */
    uint32_t free;           /* 1 + the first slot of the free list; 0: none */
    unsigned hwm;            /* slots ever taken: [0, hwm) */
    unsigned n;              /* entries */
};

/* A member's name message to the leader: a claim (its caller waits for the
 * reply) or a release, in the order they were made. */
struct conv_nameop {
    struct conv_nameop *prev, *next;
    bool release;   /* NAME_RELEASE; else NAME_CLAIM */
    bool sent;      /* claim: sent on the current link as req, the reply awaited */
    bool abandoned; /* claim: its caller timed out after it was sent; the list owns it */
    bool done;      /* claim: answered (rc, holder) and taken off the list */
    bool adopt;     /* claim: conv_name_adopt's, which nobody waits for (the list owns it) */
    uint32_t req;
    int rc;
    uint64_t addr;
    uint64_t holder;
    char name[CONV_GNAME_MAX];
};

struct conv {
    /* Set by conv_start, then read-only. */
    bool leader;
    uint16_t node;
    uint64_t instance;
    uint8_t key[CONV_KEY];
    unsigned heartbeat_ms, lost_ms;
    char addr[CONV_ENDPOINTS_MAX]; /* as configured */
    struct sockaddr_storage sa[CONV_ADDRS_MAX]; /* addr resolved: the leader binds the */
    socklen_t salen[CONV_ADDRS_MAX];            /* first, a member tries each in turn */
    unsigned nsa;
    uint16_t port;                 /* leader: bound */
    int efd;                       /* eventfd: wakes the thread */
    int lfd;                       /* leader: listening socket */
    void (*on_member)(void *, enum conv_event, const struct conv_node *);
    void (*on_log)(void *, uint16_t, int, const char *, const char *);
    void (*on_state)(void *, int, const char *);
    void (*on_name_lost)(void *, const char *, uint64_t, uint64_t);
    uint16_t (*addr_node)(uint64_t);
    void *arg;
    pthread_t thread;
    bool started;

    /* Under lock: written by the API (requests) or by the thread (table). */
    pthread_mutex_t lock;
    struct conv_node self;  /* this node as it joins; self.caps is conv_set_caps's */
    bool caps_dirty;        /* self.caps changed since the thread last took them */
    bool stop, frozen;
    struct conv_logrec *logq; /* ring of CONV_LOGQ_MAX */
    unsigned lq_head, lq_n;
    uint64_t log_dropped, log_dropped_untold;
    struct conv_member *table; /* [CONV_MEMBERS_MAX], n used, in join order;
                                  written by the thread only */
    unsigned n;
    struct conv_names names;  /* leader: the convention's global names; member: those
                                 granted to it and not released */
    pthread_cond_t names_cv;  /* (CLOCK_MONOTONIC) a claim answered, or stop */
    struct conv_nameop *ops_head, *ops_tail; /* member: to send, or sent and unanswered */
    unsigned nreleases;       /* member: releases among the ops */
    unsigned claimers;        /* threads waiting in conv_name_claim */

    /* The thread's own. */
    struct conv_link **tlink;       /* leader: [CONV_MEMBERS_MAX], each entry's link (self: NULL) */
    struct conv_link *links[CONV_LINKS_MAX]; /* leader: every connection */
    unsigned nlinks;
    uint64_t next_hb_ns;
    uint64_t accept_pause_ns;  /* leader: accept nothing before (out of descriptors) */
    struct conv_note_slot notes[CONV_NOTE_SLOTS];
    struct {                   /* member */
        struct conv_link *up;       /* to the leader, or NULL while waiting to retry */
        unsigned at;           /* the address (sa[at]) it connects to */
        uint64_t retry_ns;
        unsigned backoff_ms;
        int state;
        char why[CONV_REASON_MAX];
        unsigned hb_ms;        /* ours, or the leader's when shorter */
        uint64_t next_hb_ns;
        char sent_caps[CONV_CAPS_MAX]; /* the caps the leader has from us */
        bool syncing;          /* WELCOME taken, its MEMBER frames coming */
        unsigned want, got;
        uint64_t leader_instance;
        struct conv_node *list; /* [CONV_MEMBERS_MAX]: the MEMBER frames after WELCOME */
        uint32_t next_req;     /* the req of the next NAME_CLAIM */
        uint32_t reclaim_base; /* the re-claim of slot s is req reclaim_base + s */
        unsigned reclaim_at;   /* the next slot to re-claim */
        bool reclaiming;       /* welcomed, and not every re-claim sent yet */
    } m;
};

/* ---- convention.c: shared by both sides --------------------------------- */

/* A note from this module to on_log (from = this node). key NULL: always;
 * else at most once per CONV_NOTE_NS per key, saying how many were held
 * back. */
void conv_note(struct conv *c, uint64_t now, const char *key, int level, const char *id,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The member table: each change fires one on_member, after the table is
 * written and with no lock held. */
int conv_table_find(const struct conv *c, uint16_t node);
void conv_table_add(struct conv *c, const struct conv_node *n, bool leader, bool self,
                    uint64_t heard_ns, struct conv_link *l);
void conv_table_remove(struct conv *c, int i);
/* Takes n's fields (same node and instance); CAPS when any differs. */
void conv_table_update(struct conv *c, int i, const struct conv_node *n);
void conv_table_heard(struct conv *c, int i, uint64_t now);
/* Whether a and b differ in anything a MEMBER carries but id and instance. */
bool conv_node_differs(const struct conv_node *a, const struct conv_node *b);
/* A copy of this node as it joins (self.caps as last set). */
void conv_self_copy(struct conv *c, struct conv_node *out);

/* A forwarded log record (or the count of dropped ones) for the leader,
 * taken from the queue into *m; false when there is none. */
bool conv_log_pop(struct conv *c, struct conv_msg *m);

/* Connections. conv_link_new takes fd (non-blocking) to peer with a fresh
 * session and a handshake deadline of 4 * lost_ms; NULL when out of memory. */
struct conv_link *conv_link_new(struct conv *c, int fd, bool leader_side,
                                const struct sockaddr_storage *peer, uint64_t now);
void conv_link_free(struct conv_link *l);
/* Encodes m as l's next frame into its output. A full output (more than
 * CONV_OUT_MAX unsent) kills l with a TS-CONV-SLOW note; 0 or -errno. */
int conv_link_send(struct conv *c, struct conv_link *l, const struct conv_msg *m, uint64_t now);
/* Sends what l's output holds until the socket takes no more; then, when
 * closing, half-closes. Errors kill l. */
void conv_link_flush(struct conv_link *l);
/* Marks l to be closed at the end of the turn, saying why (the first
 * reason stands). */
void conv_link_kill(struct conv_link *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reads what l's socket has and hands each whole frame to on_frame (rc:
 * conv_decode's). EOF, errors and bad lengths kill l (a bad length with a
 * TS-CONV-MALFORMED note). */
void conv_link_read(struct conv *c, struct conv_link *l, uint64_t now,
                    void (*on_frame)(struct conv *, struct conv_link *, int,
                                     const struct conv_msg *, uint64_t));
/* "what" a peer is, for notes: "192.0.2.1:5555 (node 3 'b')". */
void conv_link_peer_name(const struct conv *c, const struct conv_link *l, char *buf, size_t len);

/* Sets a new socket's options (TCP_NODELAY). */
void conv_sock_tune(int fd);

/* Wakes the thread (the eventfd). */
void conv_wake(struct conv *c);

/* Names tables (struct conv_names), under the lock. init allocates (0 or
 * -ENOMEM), fini frees (NULL-safe fields). find: name's slot, or -1. add:
 * a new entry's slot, or -ENOSPC when CONV_NAMES_MAX are in. del frees a
 * slot in use. */
int conv_names_init(struct conv_names *t);
void conv_names_fini(struct conv_names *t);
int conv_names_find(const struct conv_names *t, const char *name);
int conv_names_add(struct conv_names *t, const char *name, uint64_t addr, uint16_t node);
void conv_names_del(struct conv_names *t, int slot);

/* ---- conv_leader.c ------------------------------------------------------- */

/* The leader's turn: heartbeats, silent members, handshake deadlines. */
void conv_leader_tick(struct conv *c, uint64_t now);
/* When the leader's next turn is due (monotonic ns; UINT64_MAX: none). */
uint64_t conv_leader_next(const struct conv *c);
/* Accepts what is waiting on the listening socket. */
void conv_leader_accept(struct conv *c, uint64_t now);
/* Takes this node's new caps (conv_set_caps) into the table and tells every member. */
void conv_leader_caps(struct conv *c, const char *caps, uint64_t now);
/* Closes the links killed this turn (their members LEFT). */
void conv_leader_sweep(struct conv *c, uint64_t now);
/* Every frame of a leader's link. */
void conv_leader_frame(struct conv *c, struct conv_link *l, int rc, const struct conv_msg *m,
                       uint64_t now);
/* At conv_stop: every connection closed. */
void conv_leader_close_all(struct conv *c);
/* A claim of name (1 .. CONV_GNAME_MAX - 1 characters) for addr by node,
 * from a member's NAME_CLAIM or this node's conv_name_claim: granted when
 * free, else *holder is who holds it. 0, -EINVAL (an empty name), -ENOSPC
 * (CONV_NAMES_MAX held). Takes the lock. */
int conv_leader_claim(struct conv *c, const char *name, uint64_t addr, uint16_t node,
                      uint64_t *holder);
/* Frees name if addr of node holds it: 0, else -ENOENT. Takes the lock. */
int conv_leader_release(struct conv *c, const char *name, uint64_t addr, uint16_t node);

/* ---- conv_member.c ------------------------------------------------------- */

/* The thread's first turn: CONNECTING, and a connection at once. */
void conv_member_begin(struct conv *c, uint64_t now);
/* The member's turn: connecting, heartbeats, a silent leader, handshake
 * deadlines, caps changed since the leader last heard them. */
void conv_member_tick(struct conv *c, uint64_t now);
/* When the member's next turn is due (monotonic ns; UINT64_MAX: none). */
uint64_t conv_member_next(const struct conv *c);
/* The link to the leader is writable while connecting: the connect's outcome. */
void conv_member_connected(struct conv *c, uint64_t now);
/* Sends queued log records while the output has room. */
void conv_member_send_logs(struct conv *c, uint64_t now);
/* Closes the link to the leader when it died: the leader LEFT when it was
 * welcomed, and a retry after the backoff. */
void conv_member_sweep(struct conv *c, uint64_t now);
/* Every frame from the leader. */
void conv_member_frame(struct conv *c, struct conv_link *l, int rc, const struct conv_msg *m,
                       uint64_t now);
/* At conv_stop: LEAVE when welcomed (and not frozen), then closed. */
void conv_member_leave(struct conv *c, bool polite);
/* Sends the re-claims after a WELCOME, then (once joined) the claims and
 * releases callers made, in order, while the output has room. */
void conv_member_send_names(struct conv *c, uint64_t now);
/* conv_name_claim and conv_name_release on a member (arguments checked). */
int conv_member_claim(struct conv *c, const char *name, uint64_t addr, unsigned timeout_ms,
                      uint64_t *holder);
int conv_member_release(struct conv *c, const char *name, uint64_t addr);
int conv_member_adopt(struct conv *c, const char *name, uint64_t addr);

#endif
