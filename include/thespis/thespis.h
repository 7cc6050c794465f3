/* SPDX-License-Identifier: MIT */
/*
 * thespis.h — the public API of the thespis actor engine.
 *
 * Actors have opaque addresses and only exchange messages. Code outside any
 * actor talks to them through a ts_system with ts_tell, ts_ask and ts_listen;
 * code inside an actor uses the ts_ctx handed to its handlers.
 *
 * Conventions (the same for every function in this header):
 *  - int functions return 0 (or a count where documented) on success and a
 *    negative errno on failure; ts_last_error() then describes the failure in
 *    words, for humans.
 *  - Nothing here calls exit() or abort() on bad input.
 *  - Constructors take an out-pointer; destructors accept NULL.
 */
#ifndef THESPIS_THESPIS_H
#define THESPIS_THESPIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <thespis/export.h>
#include <thespis/log.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Addresses                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * An actor's address: 64 opaque bits, {node 16 | shard 8 | slot 24 | gen 16}.
 * Routing is arithmetic on these fields. The generation changes every time a
 * slot is reused, so an address outlives its actor safely: messages to it
 * become dead letters, never deliveries to a newer actor. Generation 0 is
 * never issued, so TS_ADDR_NONE (0) is never a valid address.
 * Addresses are plain values: copy them into message payloads freely.
 */
typedef uint64_t ts_addr;

#define TS_ADDR_NONE ((ts_addr)0)

#define TS_ADDR_GEN_BITS 16
#define TS_ADDR_SLOT_BITS 24
#define TS_ADDR_SHARD_BITS 8
#define TS_ADDR_NODE_BITS 16

#define TS_ADDR_GEN_SHIFT 0
#define TS_ADDR_SLOT_SHIFT 16
#define TS_ADDR_SHARD_SHIFT 40
#define TS_ADDR_NODE_SHIFT 48

#define TS_ADDR_MAX_SLOT ((UINT32_C(1) << TS_ADDR_SLOT_BITS) - 1)

/* Builds an address from its fields; each field is truncated to its width. */
static inline ts_addr ts_addr_make(uint16_t node, uint8_t shard, uint32_t slot,
                                   uint16_t gen)
{
    return ((ts_addr)node << TS_ADDR_NODE_SHIFT) |
           ((ts_addr)shard << TS_ADDR_SHARD_SHIFT) |
           ((ts_addr)(slot & TS_ADDR_MAX_SLOT) << TS_ADDR_SLOT_SHIFT) |
           ((ts_addr)gen << TS_ADDR_GEN_SHIFT);
}
static inline uint16_t ts_addr_node(ts_addr a) { return (uint16_t)(a >> TS_ADDR_NODE_SHIFT); }
static inline uint8_t ts_addr_shard(ts_addr a) { return (uint8_t)(a >> TS_ADDR_SHARD_SHIFT); }
static inline uint32_t ts_addr_slot(ts_addr a)
{
    return (uint32_t)(a >> TS_ADDR_SLOT_SHIFT) & TS_ADDR_MAX_SLOT;
}
static inline uint16_t ts_addr_gen(ts_addr a) { return (uint16_t)(a >> TS_ADDR_GEN_SHIFT); }

/* Formats an address as "node.shard.slot.gen" into buf (at least 32 bytes).
 * Returns buf. */
TS_API char *ts_addr_format(ts_addr a, char *buf, size_t len);

/* Reads an address in ts_addr_format's form, "node.shard.slot.gen", each
 * field decimal and within its width (node and gen 0-65535, shard 0-255,
 * slot 0-16777215), nothing before, between or after. "0.0.0.0"
 * (TS_ADDR_NONE) reads too: whether an address is one to send to is
 * ts_send's to say. Returns 0, or -EINVAL (NULL, or not an address; *out
 * is then left alone). */
TS_API int ts_addr_parse(const char *text, ts_addr *out);

/* ------------------------------------------------------------------------ */
/* Messages and their type ids                                               */
/* ------------------------------------------------------------------------ */

/*
 * A message: this envelope followed directly by len payload bytes. Payloads
 * are position-independent bytes (no pointers): they cross threads,
 * processes and hosts unchanged. A message handed to a handler lives until
 * the handler returns; one returned by ts_ask/ts_listen is the caller's and
 * is freed with ts_msg_free().
 */
typedef struct ts_msg {
    ts_addr dst;    /* the actor it was sent to */
    ts_addr src;    /* the actor (or external client) that sent it */
    uint64_t type;  /* type id: ts_type_id() of the type's name */
    uint32_t len;   /* payload bytes that follow the envelope */
    uint32_t flags; /* TS_MSG_F_* */
} ts_msg;

TS_STATIC_ASSERT(sizeof(ts_msg) == 32, "ts_msg envelope is 32 bytes");

/* The message's payload bytes (len of them, 8-byte aligned). */
static inline const void *ts_msg_data(const ts_msg *m) { return (const void *)(m + 1); }

/* Frees a message returned by ts_ask or ts_listen. NULL is fine. */
TS_API void ts_msg_free(ts_msg *m);

/* Type id of a message type name: XXH3-64 of the name's bytes. Every process,
 * host and code image computes the same id without a registry. */
TS_API uint64_t ts_type_id(const char *name);

/*
 * Registers a message type name and returns its id in *id (may be NULL).
 * Registering the same name twice is fine. Errors:
 *   -EINVAL  name is NULL or empty
 *   -EEXIST  another registered name hashes to the same id (a collision)
 * Handler tables register their names through this, so a collision between
 * two types an engine knows about is an error at registration time.
 */
TS_API int ts_register_msg_type(const char *name, uint64_t *id);

/* ------------------------------------------------------------------------ */
/* Actor types                                                               */
/* ------------------------------------------------------------------------ */

/* A code image's id: the XXH3-128 of its bytes (design §8; thespis/image.h).
 * All zero: no image. */
typedef struct ts_image_id {
    uint8_t b[16];
} ts_image_id;

typedef struct ts_ctx ts_ctx;       /* handed to handlers: who am I, who sent this */
typedef struct ts_system ts_system; /* one actor system, seen from outside */

/*
 * A node's capabilities (design §8), as an actor type's capability check
 * reads them: typed KEY=VALUE pairs, each a bool, a 64-bit integer or a
 * string (see ts_config.caps for their text form). Read-only.
 */
typedef struct ts_caps ts_caps;

/* Whether the node has key at all (whatever its value). */
TS_API bool ts_caps_has(const ts_caps *caps, const char *key);
/* key's value when it is an integer: 0, -ENOENT (absent) or -EINVAL (a
 * bool or a string). */
TS_API int ts_caps_int(const ts_caps *caps, const char *key, int64_t *out);
/* key's value when it is a bool: 0, -ENOENT or -EINVAL. */
TS_API int ts_caps_bool(const ts_caps *caps, const char *key, bool *out);
/* key's value when it is a string, or NULL (absent, or not a string). The
 * text lives as long as caps. */
TS_API const char *ts_caps_str(const ts_caps *caps, const char *key);
/* Whether caps meet a requirement text ("gpu,region=eu,mem_gb>=16"; the
 * terms are those of ts_actor_type.requirements). A text that does not
 * parse meets nothing (false, and ts_last_error says why). */
TS_API bool ts_caps_meet(const ts_caps *caps, const char *requirements);

/* A message handler. Returns 0, or a negative errno to report a failure:
 * the actor is then restarted (fini, state zeroed, init with its original
 * argument) and the message redelivered once; a second failure on the same
 * message sends Poison to its sender and restarts the actor again, which
 * then goes on with its next message. A failure is never seen by the
 * sender unless it happens twice on one message. */
typedef int (*ts_handler)(ts_ctx *ctx, void *state, const ts_msg *msg);

/* One row of a handler table. Give the message type by name (its id is then
 * ts_type_id(name), and the name is registered) or by id with a NULL name.
 * A table ends with a row whose fn is NULL. */
typedef struct ts_handler_entry {
    const char *type_name;
    uint64_t type_id;
    ts_handler fn;
} ts_handler_entry;

#define TS_ON(name, handler) {(name), 0, (handler)}
#define TS_ON_ID(id, handler) {NULL, (id), (handler)}
#define TS_HANDLERS_END {NULL, 0, NULL}

typedef struct ts_actor_type {
    const char *name;   /* "examples.Hello": unique in the process */
    size_t state_size;  /* bytes of zeroed state handed to every call */
    /* Called once when the actor starts (and again after a restart) with the
     * argument given to ts_create. A negative errno: creation failed, the
     * actor never runs, messages already sent to it come back to their
     * senders as Poison with that errno as reason, and the parent gets
     * ChildExited with it as status. May be NULL. */
    int (*init)(ts_ctx *ctx, void *state, const void *arg, size_t len);
    /* Called when the actor exits or before a restart. May be NULL. */
    void (*fini)(ts_ctx *ctx, void *state);
    const ts_handler_entry *handlers; /* may be NULL */
    /* Gets every message the table does not name, system messages included
     * (like Thespian's receiveUnrecognizedMessage). May be NULL: such
     * messages are then ignored. */
    ts_handler fallback;
    /* What a node must offer to run this actor (like Thespian's
     * @requireCapability), as "TERM,TERM,...", every term holding:
     *   KEY        the node has KEY, and it is not false, 0 or ""
     *   !KEY       it has no KEY, or it is false, 0 or ""
     *   KEY=V      KEY equals V (ints and bools by value, strings exactly)
     *   KEY!=V     KEY is absent or differs from V
     *   KEY>=N KEY<=N KEY>N KEY<N   KEY is an integer comparing so with N
     * e.g. "gpu,region=eu,mem_gb>=16". At most 16 terms. A text that does
     * not parse is refused by ts_register_actor_type. NULL: none. */
    const char *requirements;
    /* Optional (like Thespian's actorSystemCapabilityCheck): whether a node
     * with these capabilities may run the actor, given the creation's
     * requirements (ts_create_opts.requirements, NULL when none; the
     * engine has already checked both requirement texts). Called on the
     * creating node for each candidate, and again where the actor lives
     * whenever that node's capabilities change: quick, pure, no ts_ calls
     * but the ts_caps readers. NULL: requirements decide alone. */
    bool (*capability_check)(const ts_caps *node, const char *requirements);
} ts_actor_type;

/*
 * Registers an actor type for every system of this process. The struct must
 * outlive the process's systems (a static const is the usual choice).
 * Registering the same struct twice is fine. Errors:
 *   -EINVAL  NULL type or empty name
 *   -EEXIST  another type has that name; or two rows of the handler table
 *            have the same type id; or a row's name collides with another
 *            registered message type name
 *   -ENOSPC  the registry is full
 */
TS_API int ts_register_actor_type(const ts_actor_type *type);

/*
 * The bundled test actor type, registered in every process that links the
 * library (before any system opens, so a multiproc node's shard processes
 * have it too): an actor of it answers every message that is not a system
 * message with a message of the same type and payload, to its sender, and
 * keeps no state. Create one on any node to try it (`thespis shell`:
 * "create thespis.Echo as e", then "ask e app.Ping hello"). The "thespis."
 * prefix of type names is the library's own.
 */
#define TS_ECHO_TYPE "thespis.Echo"

/* ------------------------------------------------------------------------ */
/* Systems                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum ts_base {
    TS_BASE_SIMPLE = 0, /* no threads: actors run inside ts_ask/ts_listen/ts_run */
    TS_BASE_PINNED,     /* one process, one pinned shard thread per core */
    TS_BASE_MULTIPROC,  /* an admin process and one process per shard */
} ts_base;

#define TS_DEFAULT_MAX_MSG_SIZE ((size_t)64 << 20)

/* What an idle shard does (design §2). */
typedef enum ts_idle {
    TS_IDLE_ADAPTIVE = 0, /* spin for spin_ns, then sleep until woken */
    TS_IDLE_BUSY,         /* spin, never sleep: lowest latency, one core burnt per shard */
    TS_IDLE_SLEEP,        /* sleep at once */
} ts_idle;

/* Where ts_create puts a new actor (design §8: local first, explicit core,
 * explicit node). */
typedef enum ts_placement {
    TS_PLACE_DEFAULT = 0,    /* the system's ts_config.placement (TS_PLACE_LOCAL unless set) */
    TS_PLACE_LOCAL,          /* the creator's shard (shard 0 for an external creator) */
    TS_PLACE_ROUND_ROBIN,    /* each shard in turn: one cycle per creating shard or caller */
    TS_PLACE_CORE,           /* the shard pinned to ts_create_opts.core */
    TS_PLACE_NODE,           /* node ts_create_opts.node (this one or a peer); it picks the shard */
    TS_PLACE_SPREAD,         /* each node in turn, this one and its peers; a peer that has
                                not leased this shard a slot yet is passed over */
    TS_PLACE_LEAST_LOADED,   /* the shard with the fewest live actors, of any node that meets
                                the requirements (ties: this node, then the lowest shard) */
} ts_placement;

typedef struct ts_config {
    ts_base base;
    uint16_t node_id;    /* this node's id in addresses; default 0 */
    size_t max_msg_size; /* payload limit; default TS_DEFAULT_MAX_MSG_SIZE */
    ts_log_config log;   /* where log records go; see thespis/log.h */
    /* pinned and multiproc: the CPUs of the shards, one shard per CPU:
     * "0-3", "2,4,6", "0-1,6". NULL: the first `shards` CPUs this process
     * may run on (all of them when shards is 0). */
    const char *cores;
    unsigned shards;
    ts_idle idle;        /* default TS_IDLE_ADAPTIVE */
    uint64_t spin_ns;    /* adaptive: spin this long before sleeping; default 50 us */
    size_t ring_size;    /* bytes of each ring mailbox, a power of two; default 256 KiB */
    /* multiproc (and pinned): a node name ([A-Za-z0-9_.-], 1 to 63 chars).
     * Set: ts_system_open attaches to the running node of that name or
     * starts it, and the node outlives this system (ts_system_close only
     * detaches; ts_system_shutdown stops the node). NULL: a private node
     * that lives as long as this system (pinned then runs in-process). */
    const char *node_name;
    /* A node's capabilities as "KEY=VALUE,KEY=VALUE" (shown in its status;
     * placement by requirements uses them). A value is a bool (true,
     * false), an integer, or else a string; keys are 1 to 31 of A-Z a-z
     * 0-9 _ . -, values at most 63 characters without ','. Anything else
     * is refused at open (-EINVAL, naming it). NULL: none. */
    const char *caps;
    /* pinned and multiproc: other nodes (design §7). listen:
     * "tcp://HOST:PORT", "udp://HOST:PORT", "dpdk://ADDR:PORT", at most one
     * of each, comma-separated: where this node takes messages in; peers:
     * "ID=[tcp://|udp://|dpdk://]HOST:PORT,..." the nodes it can send to and
     * over which transport (none said: the one it listens on when it
     * listens on one, else tcp); an address whose node is not listed is a
     * dead letter. HOST is a name, an IPv4 address or [an IPv6 one]. NULL:
     * none. */
    const char *listen;
    const char *peers;
    /* Where a creation with TS_PLACE_DEFAULT goes; default TS_PLACE_LOCAL.
     * TS_PLACE_CORE and TS_PLACE_NODE are refused here (they need a value). */
    ts_placement placement;
    /* The dpdk transport (pinned base, builds with DPDK): the device the
     * node's port is, as DPDK devargs ("net_af_packet0,iface=eth1"); the
     * EAL's arguments (NULL: "--no-huge --no-pci --no-shconf -m 512"; the
     * EAL is set up once per process, by the first dpdk node); mbufs per
     * shard (0: 4095). The node is an IPv4 host of its own on the device,
     * at its dpdk listen address (shard k on port + k). */
    const char *dpdk_vdev;
    const char *dpdk_args;
    unsigned dpdk_mbufs;
    /* The convention (design §8; pinned and multiproc): the "HOST:PORT" of
     * its leader. The node joins it, and joins again by itself after the
     * leader or the link comes back; with convention_leader set, this node
     * is the leader and listens there. NULL: in no convention. */
    const char *convention;
    bool convention_leader;
    /* The convention's shared key: a file of 64 hex characters that only
     * its owner may read or write (`thespis keygen` makes one). Every
     * member and the leader need the same one; a join without it is
     * refused. Required with a convention. */
    const char *key_file;
    /* A member (or the leader) silent this long is lost: its addresses
     * become dead letters and watchers get LEFT. Heartbeats go every fifth
     * of it. 0: 500 ms. */
    unsigned convention_lost_ms;
    /* Code images (thespis/image.h). With no Source Authority set, every
     * ts_load_image is refused unless allow_unsigned_images. authority_keys:
     * "PATH,PATH,...", public key files (`thespis keygen --sign`): the node
     * starts the bundled TS_SIGNATURE_AUTHORITY with them and makes it its
     * authority. NULL: none. */
    bool allow_unsigned_images;
    const char *authority_keys;
} ts_config;

/* Fills *cfg with the defaults: simple base, node 0, 64 MiB messages,
 * log level warning to stderr in text, adaptive idle, 256 KiB rings. */
TS_API void ts_config_init(ts_config *cfg);

/* Parses an idle policy name ("adaptive", "busy", "sleep"). 0 or -EINVAL. */
TS_API int ts_idle_parse(const char *name, ts_idle *out);

/* Parses a base name ("simple", "pinned", "multiproc") into *out.
 * Returns 0 or -EINVAL. */
TS_API int ts_base_parse(const char *name, ts_base *out);

/* The name of a base ("simple", ...), or "?" for an unknown value. */
TS_API const char *ts_base_name(ts_base base);

/*
 * Opens an actor system. cfg may be NULL for the defaults. Errors:
 *   -EINVAL      bad configuration (log file and sink mismatch, bad level...)
 *   -EOPNOTSUPP  the base is not available in this build
 *   -ENOMEM, or the errno of opening the log file
 */
TS_API int ts_system_open(const ts_config *cfg, ts_system **out);

/*
 * Asks every actor to exit (ExitRequest, recursively) and waits until they
 * have; after it, every call on sys but ts_system_close and the read-only
 * queries returns -ESHUTDOWN. Calling it twice is fine.
 */
TS_API int ts_system_shutdown(ts_system *sys);

/* Shuts down if needed and frees the system. NULL is fine. */
TS_API void ts_system_close(ts_system *sys);

/* Counters of a system, for tests and status. */
typedef struct ts_system_stats {
    uint64_t delivered;        /* messages handed to handlers */
    uint64_t actors_created;
    uint64_t actors_exited;
    uint64_t actors_live;
    uint64_t restarts;         /* actor restarts after a failure */
    uint64_t poisoned;         /* Poison messages sent */
    uint64_t dead_letters;     /* messages to actors that are gone */
    uint64_t dead_letters_dropped; /* ... of which no handler took */
    uint64_t timers_pending;
    uint64_t overflow_hwm;     /* most messages ever parked for one full ring */
    uint64_t log_dropped;      /* log records a full shard log ring dropped */
    uint64_t peer_leases;      /* (shard, peer node) pairs where the peer has leased the
                                  shard slots: creations there go at once (ts_create) */
} ts_system_stats;

/* Copies the system's counters into *out. Returns 0 or -EINVAL. */
TS_API int ts_system_stats_get(ts_system *sys, ts_system_stats *out);

/*
 * Sets capability key of this system's node to value (typed as in
 * ts_config.caps), or removes it when value is NULL (removing one it does
 * not have is fine). From then on placement reads the new capabilities,
 * and every actor of the node whose requirements no longer hold (its
 * type's, its creation's, or its type's capability_check) gets
 * ExitRequest, once. On a named node every attached program and `thespis
 * status` see the change. Errors: -EINVAL (NULL, or a bad key or value,
 * said in ts_last_error), -ENOSPC (32 capabilities, or 511 characters of
 * them, already), -ESHUTDOWN.
 */
TS_API int ts_update_capability(ts_system *sys, const char *key, const char *value);

/* ------------------------------------------------------------------------ */
/* Creating actors                                                           */
/* ------------------------------------------------------------------------ */


typedef struct ts_create_opts {
    const void *arg;     /* copied; handed to init (again after a restart) */
    size_t arg_len;
    /* If set: the global name of the actor. When an actor of that name is
     * alive, its address is returned and nothing is created. Names are
     * kept by the creating node (convention-wide names come with the
     * convention). */
    const char *global_name;
    ts_placement placement;
    int core;            /* TS_PLACE_CORE: a CPU that runs a shard of this system */
    uint16_t node;       /* TS_PLACE_NODE: the node */
    /* Requirements of this creation on top of the type's (same terms as
     * ts_actor_type.requirements); also handed to the type's
     * capability_check. NULL: none. */
    const char *requirements;
    /* The image the type comes from (thespis/image.h): the type of that
     * name that image registered. A node that lacks the image fetches it
     * from the convention's leader. NULL: a type the program registered
     * (or an image preloaded with ts_image_load). */
    const ts_image_id *image;
} ts_create_opts;

/*
 * Creates an actor of a registered type from inside a handler; the new actor
 * is a child of the calling actor (it gets ChildExited when the child exits).
 * Returns at once with the address in *out: messages sent to it before it
 * has started are delivered, in order, once it has. opts may be NULL.
 * Errors:
 *   -EINVAL   NULL ctx, out or type name; an unknown placement; a core that
 *             runs no shard of this system
 *   -ENOENT   no actor type of that name is registered
 *   -EMSGSIZE the argument is larger than the maximum message size
 *   -ENOSPC   no free slot left on the shard
 *   -ESHUTDOWN the system is shut down
 *   -EHOSTUNREACH TS_PLACE_NODE names a node that is not in the peer table
 *   -EAGAIN   TS_PLACE_NODE: that node has not leased this shard a slot yet
 *             (a lease is asked for when the links open and renewed as slots
 *             are used; try again later)
 * An actor created on another node starts there with the same argument; if
 * that node lacks its type, or its init fails, messages sent to it come back
 * as Poison and the parent gets ChildExited with the error.
 *
 * Requirements (the type's, opts->requirements) and the type's
 * capability_check limit the candidates to the nodes that meet them; the
 * placement picks among those (LOCAL, ROUND_ROBIN and SPREAD: this node
 * when it qualifies). When none does ("nowhere"), the address is still
 * returned: the creator gets Poison about it (original_dst the address,
 * original_type 0, original the argument, reason -ENODEV, reason_text
 * naming what each node lacks), the parent ChildExited with -ENODEV, and
 * every message sent to it comes back as that Poison. A requirement text
 * that does not parse is -EINVAL here.
 */
TS_API int ts_create(ts_ctx *ctx, const char *type_name, const ts_create_opts *opts,
                     ts_addr *out);

/* ts_create from outside any actor: the actor has no parent actor. Same
 * errors as ts_create; on pinned also -EAGAIN (more than 64 caller threads)
 * and -ETIMEDOUT (the shard did not answer within 10 s). For TS_PLACE_NODE
 * it waits (up to those 10 s) for the node's lease instead of -EAGAIN. */
TS_API int ts_system_create(ts_system *sys, const char *type_name,
                            const ts_create_opts *opts, ts_addr *out);

/* ------------------------------------------------------------------------ */
/* Inside a handler                                                          */
/* ------------------------------------------------------------------------ */

/* The running actor's own address. */
TS_API ts_addr ts_self(const ts_ctx *ctx);

/* The sender of the message being handled (TS_ADDR_NONE inside init/fini). */
TS_API ts_addr ts_sender(const ts_ctx *ctx);

/* The system the actor runs in (for logging and counters). */
TS_API ts_system *ts_ctx_system(const ts_ctx *ctx);

/*
 * Sends a message; the payload is copied before the call returns. Messages
 * from one actor to another arrive in the order they were sent. A message to
 * an actor that is gone becomes a DeadLetter (that is not an error here).
 * Errors:
 *   -EINVAL    NULL ctx, invalid destination (TS_ADDR_NONE, a slot or shard
 *              this system never has), or NULL payload with len > 0
 *   -EMSGSIZE  len is above the system's maximum message size
 *   -ESHUTDOWN the system is shut down
 */
TS_API int ts_send(ts_ctx *ctx, ts_addr dst, uint64_t type, const void *payload,
                   size_t len);

/* Replies to the sender of the message being handled: ts_send to
 * ts_sender(ctx). Same errors. */
TS_API int ts_reply(ts_ctx *ctx, uint64_t type, const void *payload, size_t len);

/*
 * Sends the calling actor a Wakeup message carrying payload after at least
 * ns nanoseconds. Timers die with their actor: an actor that exits gets no
 * Wakeup and no dead letter is made. Errors: -EINVAL, -EMSGSIZE, -ESHUTDOWN,
 * -ENOMEM.
 */
TS_API int ts_wakeup_after(ts_ctx *ctx, uint64_t ns, const void *payload, size_t len);

/*
 * Makes the calling actor the system's dead-letter handler (start = true):
 * every message to an actor that is gone comes to it as DeadLetter. A later
 * registration replaces this one; start = false resigns if the caller is the
 * current handler. Without a handler, dead letters are counted and dropped.
 */
TS_API int ts_handle_dead_letters(ts_ctx *ctx, bool start);

/*
 * start = true: the calling actor gets a ts.ConventionUpdate (thespis/
 * sysmsg.h) whenever another node joins the node's convention, leaves it
 * (or is lost: its heartbeats stopped) or changes its capabilities, and at
 * once one JOINED for every node already there (like Thespian's
 * notifyOnSystemRegistrationChanges). start = false stops them; so does
 * the actor's exit. Errors: -EINVAL, -ENOTCONN (the node is in no
 * convention), -ENOMEM.
 */
TS_API int ts_notify_on_convention(ts_ctx *ctx, bool start);

/* Asks the calling actor to exit once the current handler returns: the same
 * as receiving ExitRequest, without running its handler. */
TS_API int ts_exit_self(ts_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Outside any actor                                                         */
/* ------------------------------------------------------------------------ */

#define TS_FOREVER UINT64_MAX

/*
 * Sends a message from outside; replies come to this caller's mailbox and
 * are read with ts_listen. Every thread that calls gets a mailbox of its own
 * on first use (pinned: at most 1024 threads at once; the mailbox of a thread
 * that exits goes to the next new thread, under a new address).
 * Errors: as ts_send, and
 *   -EAGAIN  pinned: the mailbox ring to the destination's shard is full, or
 *            more than 1024 threads are calling this system at once; nothing was sent
 *            and nothing is lost: try again
 */
TS_API int ts_tell(ts_system *sys, ts_addr dst, uint64_t type, const void *payload,
                   size_t len);

/*
 * Sends a message and waits for the next message that arrives in the
 * caller's mailbox, whoever sends it (as in Thespian: it may come from a
 * third actor, or be a Poison). On success *reply is the caller's; free it
 * with ts_msg_free. timeout_ns is relative; TS_FOREVER waits without limit.
 * Errors: those of ts_tell (-EAGAIN included), and
 *   -EINVAL     NULL reply, or timeout_ns == 0
 *   -ETIMEDOUT  nothing arrived in time
 *   -EDEADLK    called from inside a handler of the same system
 */
TS_API int ts_ask(ts_system *sys, ts_addr dst, uint64_t type, const void *payload,
                  size_t len, uint64_t timeout_ns, ts_msg **reply);

/* Waits for the next message in the caller's mailbox. Same errors as ts_ask
 * (without those of sending). */
TS_API int ts_listen(ts_system *sys, uint64_t timeout_ns, ts_msg **reply);

/*
 * On the simple base, runs actors and timers until there is nothing left to
 * do (returns 0) or timeout_ns passes with timers still pending (returns
 * -ETIMEDOUT). Errors: -EINVAL, -ESHUTDOWN, -EDEADLK.
 */
TS_API int ts_run(ts_system *sys, uint64_t timeout_ns);

/* The address of this caller's mailbox (the src of its tells and asks). */
TS_API ts_addr ts_system_client_addr(ts_system *sys);

/* Makes the actor at addr the dead-letter handler, as ts_handle_dead_letters
 * does from inside; TS_ADDR_NONE removes the handler. */
TS_API int ts_system_set_dead_letter_handler(ts_system *sys, ts_addr addr);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* A human-readable description of the last failure of a ts_ call made by
 * this thread ("ts_create: no actor type named 'x'"). Never NULL. */
TS_API const char *ts_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* THESPIS_THESPIS_H */
