/* SPDX-License-Identifier: MIT */
/*
 * thespis/sysmsg.h — the system messages ("ts." type names) and their
 * payloads.
 *
 * Their ids are ts_type_id() of the names below, given here as constants so
 * handlers can switch on them (a unit test checks every one). Payloads are
 * little-endian and position-independent; read them with the decoders, which
 * check every length before use and return -EBADMSG on anything malformed.
 */
#ifndef THESPIS_SYSMSG_H
#define THESPIS_SYSMSG_H

#include <stddef.h>
#include <stdint.h>

#include <thespis/export.h>
#include <thespis/thespis.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "ts.ExitRequest": exit now. Sent by anyone; the receiver's handler (or
 * fallback) runs once, then the engine sends it on to the receiver's
 * children, and the receiver ends after they all have. A failing handler is
 * logged (TS-EXIT-FAIL), not poisoned back, and does not stop the exit.
 * Empty payload. */
#define TS_MSG_EXIT_REQUEST UINT64_C(0xcf50d532db62e57a)
/* "ts.ChildExited": to the parent, after a child (and all of its own
 * children) exited, crashes and failed creations included. */
#define TS_MSG_CHILD_EXITED UINT64_C(0xe33868e02000fc02)
/* "ts.Poison": to the sender of a message whose handler failed twice, or of
 * a message to an actor whose creation failed. */
#define TS_MSG_POISON UINT64_C(0x5eaaee94377b59eb)
/* "ts.Wakeup": a timer set with ts_wakeup_after fired; the payload is the
 * payload given there, unchanged. */
#define TS_MSG_WAKEUP UINT64_C(0xd61457f895015dea)
/* "ts.DeadLetter": to the dead-letter handler, for a message whose
 * destination is gone. */
#define TS_MSG_DEAD_LETTER UINT64_C(0xa27a835eb0f53683)

/* "ts.ConventionUpdate": to each actor that asked with
 * ts_notify_on_convention, when a node joins the convention, leaves it (it
 * left, or was lost: its heartbeats stopped), or changes its capabilities.
 * At the request, one JOINED comes for every node already in it. */
#define TS_MSG_CONVENTION_UPDATE UINT64_C(0xde1e9a77fab7181f)

typedef enum ts_convention_event {
    TS_CONV_JOINED = 1,
    TS_CONV_LEFT = 2,
    TS_CONV_CAPS = 3, /* its capabilities changed */
} ts_convention_event;

/* ConventionUpdate's payload, decoded. Pointers point into the message. */
typedef struct ts_convention_update {
    uint16_t node;            /* the node's id (the node field of its addresses) */
    ts_convention_event event;
    const char *name;         /* its node name, NUL-terminated */
    size_t name_len;
    const char *caps;         /* its capabilities now, "KEY=VALUE,...", NUL-terminated */
    size_t caps_len;
} ts_convention_update;

/* ChildExited's payload, decoded. */
typedef struct ts_child_exited {
    ts_addr child;
    int32_t status; /* 0: exited; negative errno: its creation failed */
} ts_child_exited;

/* Poison's payload, decoded. Pointers point into the message. */
typedef struct ts_poison {
    ts_addr original_dst;
    uint64_t original_type;
    int32_t reason;           /* negative errno the handler returned */
    const void *original;     /* the original payload */
    size_t original_len;
    const char *reason_text;  /* NUL-terminated */
    size_t reason_text_len;   /* without the NUL */
} ts_poison;

/* DeadLetter's payload, decoded. Pointers point into the message. */
typedef struct ts_dead_letter {
    ts_addr dst;           /* where it was going */
    ts_addr src;           /* who sent it */
    uint64_t type;
    const void *original;  /* the original payload */
    size_t original_len;
} ts_dead_letter;

/* Decoders. Each returns 0, -EINVAL (NULL argument or a message of another
 * type) or -EBADMSG (a payload of the wrong shape). */
TS_API int ts_child_exited_decode(const ts_msg *m, ts_child_exited *out);
TS_API int ts_poison_decode(const ts_msg *m, ts_poison *out);
TS_API int ts_dead_letter_decode(const ts_msg *m, ts_dead_letter *out);
TS_API int ts_convention_update_decode(const ts_msg *m, ts_convention_update *out);

/* The name of a system message type ("ts.Poison"), or NULL for other ids. */
TS_API const char *ts_sysmsg_name(uint64_t type);

/* ------------------------------------------------------------------------ */
/* Status (like Thespian's Actor Status Requests)                            */
/* ------------------------------------------------------------------------ */

/* "ts.StatusRequest": asks for a Status. Sent to a live actor (on any base,
 * on any node: ts_tell, ts_ask, ts_send), the ENGINE answers it: the
 * actor's handlers never see it, a busy or failing actor answers all the
 * same, and it is not counted among the messages the actor handled. Sent
 * to a node's own address (ts_node_addr), that node answers with its
 * figures; the shard that takes it reads the others' without waiting for
 * them. The answer goes to the request's sender (nothing is sent for a
 * request without one). A StatusRequest to an actor that is gone is a dead
 * letter, like any message. The payload is ignored (send none). */
#define TS_MSG_STATUS_REQUEST UINT64_C(0x57b72fca262a4b15)
/* "ts.Status": the answer, from the actor's address (or the node's) to
 * the requester. Payload: docs/protocol.md#status; read it with
 * ts_status_decode or render it with ts_status_json. */
#define TS_MSG_STATUS UINT64_C(0x8e9911c5fae34932)

/* The address of node `node` itself (its shard 0's control address:
 * ts_addr_make(node, 0, TS_ADDR_MAX_SLOT, 0)): send it a StatusRequest for
 * the node's Status. No actor ever has it; any other message sent to it is
 * dropped. */
TS_API ts_addr ts_node_addr(uint16_t node);

typedef enum ts_status_kind {
    TS_STATUS_ACTOR = 1, /* an actor's: ts_status.actor */
    TS_STATUS_NODE = 2,  /* a node's: ts_status.node and its shards and links */
} ts_status_kind;

typedef enum ts_actor_run_state {
    TS_ACTOR_LIVE = 1,    /* running: handles its messages */
    TS_ACTOR_EXITING = 2, /* asked to exit: waiting for its children to end */
} ts_actor_run_state;

/* An actor's Status. Pointers point into the message. */
typedef struct ts_actor_status {
    ts_addr addr;
    ts_addr parent;          /* TS_ADDR_NONE: created from outside any actor */
    ts_actor_run_state state;
    ts_image_id image;       /* the code image of its type; all zero: the program's own */
    const char *type_name;   /* NUL-terminated */
    size_t type_name_len;
    const char *global_name; /* NUL-terminated; "" when it has none */
    size_t global_name_len;
    uint32_t nchildren;      /* children listed in the message: ts_status_child_at */
    uint32_t children_total; /* children it has (more than nchildren only when the list
                                would not fit the node's maximum message size) */
    uint32_t timers;         /* its Wakeups pending */
    /* Messages for it waiting on its shard when the request was taken: in
     * the shard's own run queue, held for it until it started, and
     * published in the shard's inbound rings from other shards and from
     * callers (the request itself aside). Not counted: what senders have
     * not published yet or hold in their overflow queues, what is on its
     * way from another node, and (multiproc) messages too large for a ring
     * record, which travel as a reference to a blob. */
    uint64_t mailbox;
    uint64_t handled;        /* messages the engine handed it (a redelivery after a
                                failure counts once; StatusRequests do not count) */
    uint64_t restarts;       /* times it was restarted after a failing handler
                                (counted up to 65535) */
} ts_actor_status;

/* A node's Status: the node, then ts_status_shard and ts_status_link. */
typedef struct ts_status_node {
    uint16_t node_id;
    ts_base base;
    uint32_t shard;        /* the shard that answered */
    int32_t pid;           /* the node's admin process (the program's own process
                              for a node that is no named one) */
    uint32_t nshards;      /* ts_status_shard_at(s, 0 .. nshards-1) */
    uint32_t nlinks;       /* ts_status_link_at(s, 0 .. nlinks-1) */
    uint64_t actors;       /* live actors, all shards */
    uint64_t dead_letters; /* all shards, since they started */
    const char *name;      /* its node name ("" for a node without one), NUL-terminated */
    size_t name_len;
    const char *caps;      /* its capabilities now, "KEY=VALUE,...", NUL-terminated */
    size_t caps_len;
} ts_status_node;

/* One shard of a node's Status. Counters count since the shard started
 * (a multiproc shard's survive a restart of its process). */
typedef struct ts_status_shard {
    uint32_t id;
    int32_t core;              /* the CPU it is pinned to; -1: none (simple) */
    int32_t pid;               /* its process */
    uint32_t process_restarts; /* multiproc: times its process was restarted after a crash */
    uint64_t actors;           /* live on it now */
    uint64_t created;          /* actors created by it (on any shard) */
    uint64_t exited;           /* actors that ended on it */
    uint64_t handled;          /* handler calls */
    uint64_t sent;             /* messages it sent to shards and callers */
    uint64_t restarts;         /* actor restarts after a failing handler */
    uint64_t poisoned;         /* Poison messages it sent */
    uint64_t dead_letters;
    uint64_t timers;           /* Wakeups pending */
    uint64_t pending;          /* messages held in its memory: run queue, overflows */
    uint64_t overflow_hwm;     /* most messages ever held for one full ring */
} ts_status_shard;

/* One link of a node's Status: a shard's to a peer node (design §7), as
 * that shard last published it (every few hundred turns of its loop; the
 * answering shard's own are current). */
typedef struct ts_status_link {
    uint32_t shard;        /* this node's shard */
    uint16_t node;         /* the peer node */
    uint8_t up;            /* 1: connected (tcp) or acknowledging (udp) */
    uint8_t zero;
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t retransmits;  /* frames sent again (udp) */
    uint64_t reconnects;   /* times the link came back after being down */
    uint64_t malformed;    /* bad frames refused from that peer */
    uint64_t queued_bytes; /* sent and not yet acknowledged */
} ts_status_link;

/* A Status decoded: actor when kind is TS_STATUS_ACTOR, node when it is
 * TS_STATUS_NODE (the other is zeroed). The lists stay in the message:
 * read them with the accessors below while the message lives. */
typedef struct ts_status {
    ts_status_kind kind;
    ts_actor_status actor;
    ts_status_node node;
    /* The accessors' view of the lists; not for direct use. */
    const unsigned char *children_, *shards_, *links_;
    uint32_t shard_stride_, link_stride_;
} ts_status;

/* Decodes a Status; 0, -EINVAL (NULL argument or a message of another
 * type) or -EBADMSG (a payload of the wrong shape). */
TS_API int ts_status_decode(const ts_msg *m, ts_status *out);
/* Child i of an actor's Status (i < actor.nchildren), or TS_ADDR_NONE. */
TS_API ts_addr ts_status_child_at(const ts_status *s, uint32_t i);
/* Shard i / link i of a node's Status into *out: 0, or -EINVAL (NULL, not
 * a node's Status, i out of range). */
TS_API int ts_status_shard_at(const ts_status *s, uint32_t i, ts_status_shard *out);
TS_API int ts_status_link_at(const ts_status *s, uint32_t i, ts_status_link *out);

/* Renders a Status as one JSON object on one line, without a newline
 * (schema: docs/protocol.md#status-as-json), into buf (len bytes, always
 * NUL-terminated when len > 0; buf may be NULL when len is 0). Returns the
 * length of the whole text (without the NUL), which may be len or more:
 * then it was cut, and a buffer of the returned length + 1 takes it all
 * (as snprintf). Errors: -EINVAL (NULL message, a message of another type,
 * NULL buf with len > 0), -EBADMSG (a payload of the wrong shape),
 * -EOVERFLOW (the text would be longer than INT_MAX). */
TS_API int ts_status_json(const ts_msg *status, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* THESPIS_SYSMSG_H */
