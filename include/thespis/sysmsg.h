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

#ifdef __cplusplus
}
#endif

#endif /* THESPIS_SYSMSG_H */
