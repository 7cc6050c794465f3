/* SPDX-License-Identifier: MIT */
/*
 * convention.h — the convention's runtime (design §8): one thread per
 * convention object that keeps this node's place in it. The leader listens
 * on TCP and keeps the member table; a member connects to the leader, joins
 * and keeps its copy of the table. Both speak conv_wire.h's frames
 * (docs/protocol.md "Convention control messages").
 *
 * It knows nothing of actors: the engine gives callbacks, which run on the
 * convention's thread, and calls the functions below from any thread.
 *
 * The member table, on every node, holds the leader and this node among
 * the others. Every entry arrives with an on_member JOINED and goes with a
 * LEFT; a change of an entry is a CAPS. Each fires once per change of this
 * node's view, never for nothing:
 *
 *   leader  its own entry from the start (JOINED on the thread's first
 *           turn); a member's when its JOIN is accepted, until it says
 *           LEAVE, its connection breaks or is closed (a malformed frame,
 *           too slow a reader) or it is silent for lost_ms. A JOIN with
 *           the node id and name of a live member but a new instance (the
 *           member restarted) replaces it: LEFT, then JOINED; the same
 *           instance again (a member that found the leader silent first)
 *           takes its entry back without an event. (Two live processes
 *           with one id and name would replace each other on every
 *           reconnection: a misconfiguration.)
 *   member  nothing until it is welcomed; then the leader's list (this
 *           node's own, confirmed entry among them) and the leader's
 *           MEMBER frames. When the leader is lost (silent for lost_ms,
 *           or the connection breaks), its entry is LEFT at once and the
 *           others stay until the member is welcomed again (by the same
 *           leader or a restarted one): the new list is then reconciled
 *           with the old one (JOINED for new entries, LEFT for the ones
 *           not listed, CAPS for changed ones, LEFT then JOINED for an
 *           entry whose instance changed).
 *
 * A member's own caps change (conv_set_caps) goes to the leader, and its
 * own entry changes when the leader's MEMBER CAPS comes back.
 *
 * Global names (conv_name_claim): the leader keeps the convention's table,
 * name -> the address (an opaque uint64, an engine ts_addr) that holds it
 * and the node that claimed it. The first claim of a free name is granted;
 * every later one is answered with the holder, so two concurrent creations
 * of one name agree on one actor. A name goes when its holder's node
 * releases it or leaves the table (LEFT: its actors are gone or out of
 * reach). A member remembers the names granted to it and claims them again
 * after every WELCOME, before any other name message, so a restarted
 * leader (whose table starts empty) learns them back; one that someone
 * else claimed meanwhile is the other's (on_name_lost).
 *
 * Threads: conv_start and conv_stop from one thread (the owner); the
 * others from any thread, callbacks included, but conv_name_claim, which
 * waits for the thread, never from a callback. A callback must not call
 * conv_stop. No call may start once conv_stop has begun; claims already
 * waiting are woken by it (-ENOTCONN) before it frees anything.
 */
#ifndef TS_PLACEMENT_CONVENTION_H
#define TS_PLACEMENT_CONVENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "conv_wire.h"

#define CONV_MEMBERS_MAX 64          /* entries of a member table, the leader's included */
#define CONV_OUT_MAX (256u * 1024u)  /* a connection with more unsent is too slow: closed */
#define CONV_LOGQ_MAX 64             /* LOG records a member holds before dropping */
#define CONV_HEARTBEAT_MS 100        /* conv_config.heartbeat_ms when 0 */
#define CONV_LOST_MS 500             /* conv_config.lost_ms when 0 */
#define CONV_NAMES_MAX 4096          /* global names the leader keeps (and a member holds) */

/* A member's standing, as on_state reports it. */
enum conv_state {
    CONV_ST_CONNECTING = 1, /* started, not yet welcomed */
    CONV_ST_JOINED,         /* welcomed; the table is the leader's list */
    CONV_ST_REFUSED,        /* the leader said REFUSE; retrying */
    CONV_ST_LOST,           /* the leader was silent or the connection broke; retrying */
};

/* One entry of a member table, as conv_members copies it. */
struct conv_member {
    struct conv_node node;
    uint64_t heard_ns; /* CLOCK_MONOTONIC ns when last heard from: the leader's
                          entries for its members, a member's entry for the
                          leader; 0 for the others and for this node */
    bool leader;       /* the convention's leader */
    bool self;         /* this node */
};

struct conv_config {
    bool leader;          /* listen at addr; else connect to it */
    const char *addr;     /* "HOST:PORT": an IPv4 address, [an IPv6 one] or a
                             name, resolved once by conv_start (the leader binds
                             its first address, a member tries up to 4 in turn);
                             the leader may give port 0 (any free port, see
                             conv_port) */
    uint8_t key[CONV_KEY]; /* the convention's shared key */
    uint16_t node;        /* this node's id */
    const char *name;     /* this node's name: 1 .. CONV_NAME_MAX - 1 characters */
    const char *caps;     /* "K=V,..." (caps.h), or NULL: none */
    const char *endpoints; /* where its data links listen, or NULL */
    const uint8_t (*images)[CONV_IMAGE_HASH]; /* the code images it holds */
    unsigned nimages;     /* at most CONV_IMAGES_MAX */
    unsigned heartbeat_ms; /* 0: CONV_HEARTBEAT_MS */
    unsigned lost_ms;     /* a peer silent this long is lost; 0: CONV_LOST_MS;
                             must exceed heartbeat_ms. A connection that has not
                             finished its handshake after 4 * lost_ms is closed. */

    /* Called on the convention's thread, never with a lock of the module
     * held, so they may call conv_members, conv_set_caps and
     * conv_forward_log. Each may be NULL. */

    /* This node's view of the member table changed: n joined, left, or its
     * caps changed (n holds the new ones). */
    void (*on_member)(void *arg, enum conv_event ev, const struct conv_node *n);
    /* A log record: on the leader, a member's forwarded record (from = its
     * node id); on any node, the module's own notes (from = this node):
     *   TS-CONV-REFUSED    a join refused (leader: the peer and why, the
     *                      reason from conv_decode for a bad mac; member:
     *                      the leader's reason)
     *   TS-CONV-MALFORMED  a frame that did not decode: its connection closed
     *   TS-CONV-LOST       a member (leader) or the leader (member) lost
     *   TS-CONV-SLOW       a peer that read too slowly: its connection closed
     *   TS-CONV-TIMEOUT    a handshake not finished in 4 * lost_ms: closed
     *   TS-CONV-FULL       the leader out of connections (128) or descriptors
 *   TS-CONV-NAME-LOST  (member) a global name it held is another's, or
 *                      the leader refused its re-claim (see on_name_lost)
     * Each kind of note about one peer host (leader) or about the leader
     * (member) goes at most once per 10 s, saying how many were held back
     * meanwhile: a misconfigured member retrying every second is one note
     * per 10 s on both sides. The leader's TS-CONV-LOST goes for every
     * member lost. level is a ts_log_level value (warning for the notes). */
    void (*on_log)(void *arg, uint16_t from, int level, const char *id, const char *text);
    /* Member: its standing changed (enum conv_state), with why: the
     * leader's reason (REFUSED), what broke (LOST), or "". Reported when
     * the state or the reason changes, not for every retry. */
    void (*on_state)(void *arg, int state, const char *why);
    /* Member: a global name granted to addr is no longer this node's: its
     * re-claim after a WELCOME found holder there (someone claimed it while
     * this node was away from the leader), or the leader refused it (holder
     * 0: its table was full). Once per name lost; addr should give the name
     * up (it is not released: it was never this node's at the leader). */
    void (*on_name_lost)(void *arg, const char *name, uint64_t addr, uint64_t holder);
    /* The node that holds addr, or NULL: the node that claims it. A global
     * name is kept for that node: the leader frees it when that node
     * leaves, and that node alone remembers it and claims it again after a
     * WELCOME. A node that claims a name for an address on another node
     * (it placed the actor there) does not remember it; the other node
     * takes it up by claiming it in turn, which gives the address again.
     * Called on any thread, with the module's lock held: pure. */
    uint16_t (*addr_node)(uint64_t addr);
    void *arg;
};

struct conv;

/*
 * Starts this node's part in a convention, as cfg says (copied: cfg and
 * its strings may go after the call). The leader binds and listens before
 * it returns; a member returns at once and connects on the thread, retrying
 * after 50 ms, then twice as long each time up to 1 s, until conv_stop.
 * *out is the new object (NULL on error). Returns 0, or
 *   -EINVAL      a NULL argument, an addr that is not HOST:PORT or does not
 *                resolve, a name, caps (they must parse, caps.h), endpoints
 *                or image count out of range, lost_ms not above heartbeat_ms
 *   -EAGAIN      the name in addr could not be resolved for now
 *   -EADDRINUSE  (leader) the address is in use; other -errno from
 *                socket, bind or listen
 *   -EIO         libsodium cannot start
 *   -ENOMEM, or -errno from eventfd or pthread_create
 * with ts_last_error saying which.
 */
int conv_start(const struct conv_config *cfg, struct conv **out);

/* The leader's bound port (the one chosen for port 0); 0 on a member. */
uint16_t conv_port(const struct conv *c);

/* This node's instance: random, made by conv_start. */
uint64_t conv_instance(const struct conv *c);

/*
 * Ends it and frees c (NULL-safe). A joined member sends LEAVE and waits
 * for it to go out, at most lost_ms (capped at 1 s); the leader closes every
 * connection (its members see the leader lost). No callback runs after it
 * returns.
 */
void conv_stop(struct conv *c);

/*
 * Sets this node's capabilities ("K=V,...", NULL or "" for none). A member
 * sends CAPS to the leader, which updates its table and broadcasts MEMBER
 * CAPS to every member (this one included: its own entry changes then); a
 * member not joined sends them in its next JOIN. On the leader its own
 * entry changes and is broadcast. Unchanged caps send and fire nothing.
 * 0, -EINVAL (NULL c, caps that do not parse or are too long).
 */
int conv_set_caps(struct conv *c, const char *caps);

/*
 * Member: queues a log record for the leader's on_log (level 0 ..
 * CONV_LOG_LEVEL_MAX, id at most CONV_LOG_ID_MAX - 1 characters, text cut
 * to CONV_LOG_TEXT_MAX - 1). The queue holds CONV_LOGQ_MAX records while
 * the leader is away or slow; it is sent after the next welcome. Returns 0,
 * -ENOBUFS (queue full: dropped and counted, see conv_logs_dropped; the
 * leader is told how many with a TS-CONV-DROPPED record once there is room),
 * -EINVAL (NULL argument, level or id out of range, or called on the
 * leader, which has no one to forward to).
 */
int conv_forward_log(struct conv *c, int level, const char *id, const char *text);

/* Log records conv_forward_log dropped since conv_start. */
uint64_t conv_logs_dropped(struct conv *c);

/*
 * Copies this node's member table, in the order its entries were added,
 * into out (at most max entries; out may be NULL when max is 0). Returns
 * how many entries the table has, which may exceed max.
 */
unsigned conv_members(struct conv *c, struct conv_member *out, unsigned max);

/* How many global names the leader keeps for the whole convention (on the
 * leader), or this node holds (on a member). */
unsigned conv_names_count(struct conv *c);

/*
 * Claims the global name (1 .. CONV_GNAME_MAX - 1 characters) for addr and
 * tells who holds it: *holder == addr when it was free and is now addr's,
 * else the address that had it first (the caller lost the race and should
 * use that one). Claiming a name addr holds already gives addr again.
 *
 * On the leader the table answers at once. On a member the claim goes to
 * the leader and the caller waits for its reply, or for the (re)join when
 * the member is not joined, at most timeout_ms; claims from several
 * threads go together, each with its own answer. A granted name is
 * remembered and claimed again after every WELCOME (convention.h, top).
 *
 * Not from a callback. Returns 0 with *holder set, or
 *   -EINVAL     a NULL argument, an empty name or one too long; or the
 *               leader refused the name
 *   -ENOSPC     the leader holds CONV_NAMES_MAX names already
 *   -ETIMEDOUT  no answer in timeout_ms (the leader away or slow). A grant
 *               that comes later is released by the member itself.
 *   -ENOTCONN   conv_stop was called meanwhile
 *   -EDEADLK    called on the convention's thread (from a callback)
 *   -EPROTO     the leader answered with something other than 0 or -errno
 *   -ENOMEM
 * with ts_last_error saying which.
 */
int conv_name_claim(struct conv *c, const char *name, uint64_t addr, unsigned timeout_ms,
                    uint64_t *holder);

/*
 * Gives up the global name that addr holds: this node forgets it and the
 * leader frees it (a member sends NAME_RELEASE, after what it sent before;
 * while it is not joined, after its next WELCOME, and it does not re-claim
 * the name then). Does not wait; callbacks may call it. Returns 0, or
 *   -ENOENT   this node does not hold name for addr (never granted, released
 *             already, or lost: on_name_lost); not with addr_node, where a
 *             release goes to the leader all the same (it frees the name
 *             if addr holds it, whoever claimed it)
 *   -EINVAL   a NULL argument, an empty name or one too long
 *   -ENOBUFS  (member) CONV_NAMES_MAX releases wait for the leader already
 *   -ENOMEM
 */
int conv_name_release(struct conv *c, const char *name, uint64_t addr);

/*
 * Takes up a global name another node claimed for addr, an address on this
 * node (addr_node): this node remembers it, so that it releases it and
 * claims it again after every WELCOME, and claims it now, without waiting.
 * A reply naming another holder (the leader restarted meanwhile and gave
 * the name away) is on_name_lost. On the leader the table answers at once.
 * Returns 0, or
 *   -EEXIST   this node (the leader: the convention) holds name for another
 *             address
 *   -ENOSPC   this node (the leader: the convention) holds CONV_NAMES_MAX
 *   -EINVAL   a NULL argument, an empty name or one too long
 *   -ENOMEM
 */
int conv_name_adopt(struct conv *c, const char *name, uint64_t addr);

/* The name of an enum conv_state ("joined"), or "unknown". */
const char *conv_state_name(int state);

/*
 * Test hook: simulates a cut link without closing anything politely. While
 * frozen, the thread reads, writes and accepts nothing, sends no
 * heartbeats and checks no deadline (its peers see it silent); conv_stop
 * still works, without LEAVE. Unfrozen, it goes on where it was: deadlines
 * passed meanwhile are then acted on (a member finds its leader silent and
 * reconnects).
 */
void conv_freeze(struct conv *c, bool frozen);

#endif
