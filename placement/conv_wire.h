/* SPDX-License-Identifier: MIT */
/*
 * conv_wire.h — the convention's control messages and their authenticated
 * handshake (design §8, docs/protocol.md "Convention control messages").
 *
 * Each member keeps one TCP stream to the leader. On it go frames, every
 * integer little-endian:
 *
 *   0     4    5    6      8       16            16+B      48+B
 *   +-----+----+----+------+-------+-------------+---------+
 *   | len |type|ver | zero |  seq  | body (B)    | mac[32] |
 *   +-----+----+----+------+-------+-------------+---------+
 *
 * len counts the bytes after itself (12 + B + 32), at most CONV_FRAME_MAX.
 * mac is HMAC-SHA512-256 (libsodium's crypto_auth) over a context, then the
 * bytes from type to the end of the body. The context is a label, the
 * sender's side and, in the handshake, the nonces that make each run
 * unique:
 *
 *   leader                                 member
 *     HELLO   nonce_l              ---->                 (no mac)
 *             <----  JOIN   nonce_m, who I am            (shared key, binds nonce_l)
 *     WELCOME node id, ...         ---->                 (shared key, binds both nonces)
 *     or REFUSE reason             ---->                 (no mac: told why, then closed)
 *   then both sides hold a session key, a keyed hash of the two nonces,
 *   and every frame both ways is authenticated with it, seq 1, 2, 3, ...
 *   per direction.
 *
 * So a recorded JOIN or WELCOME fails in any later handshake (the other
 * side's nonce is new), a session frame fails in any other session (another
 * key), a frame replayed, dropped or reordered within a session fails its
 * seq, and a frame sent back to its sender fails its side.
 *
 * Frames are authenticated, not encrypted: names, capabilities and logs are
 * readable on the wire. Everything here is bounded: a decoded message is a
 * fixed-size struct, nothing allocates, and no input makes it abort.
 */
#ifndef TS_PLACEMENT_CONV_WIRE_H
#define TS_PLACEMENT_CONV_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONV_VERSION 1u
#define CONV_FRAME_MAX 16384u                  /* the largest len field */
#define CONV_FRAME_BYTES (4u + CONV_FRAME_MAX) /* room for any whole frame */
#define CONV_HDR 16u                           /* len, type, ver, zero, seq */
#define CONV_MAC 32u
#define CONV_OVERHEAD (CONV_HDR + CONV_MAC)    /* a frame is this plus its body */
#define CONV_KEY 32u
#define CONV_NONCE 16u

/* Text fields are NUL-terminated char arrays of these sizes: at most size - 1
 * characters, and never a NUL byte on the wire. */
#define CONV_NAME_MAX 64        /* a node's name */
#define CONV_CAPS_MAX 1024      /* capabilities, "K=V,K=V" (caps.h's text form) */
#define CONV_ENDPOINTS_MAX 256  /* "tcp://192.0.2.2:7100,..." */
#define CONV_REASON_MAX 256     /* REFUSE's reason */
#define CONV_LOG_ID_MAX 32      /* a log record's stable id ("TS-RESTART") */
#define CONV_LOG_TEXT_MAX 1024  /* a log record's text */
#define CONV_GNAME_MAX 112      /* a global actor name */
#define CONV_IMAGES_MAX 32      /* code images a node holds */
#define CONV_IMAGE_HASH 16      /* an image's id: XXH3-128 of its bytes */
#define CONV_LOG_LEVEL_MAX 5    /* LOG's level: 0 .. 5, ts_log_level's values and room */

enum conv_type {
    CONV_HELLO = 1,    /* leader -> member, first frame: nonce_l */
    CONV_JOIN,         /* member -> leader: nonce_m and who the member is */
    CONV_WELCOME,      /* leader -> member: accepted; the session starts */
    CONV_REFUSE,       /* leader -> member, before the session: why not */
    CONV_MEMBER,       /* leader -> member: a member joined, left or changed caps */
    CONV_CAPS,         /* member -> leader: my capabilities changed */
    CONV_HEARTBEAT,    /* both ways */
    CONV_LOG,          /* member -> leader: a warning or error for the leader's log */
    CONV_NAME_CLAIM,   /* member -> leader: register a global name */
    CONV_NAME_REPLY,   /* leader -> member: who holds the name now */
    CONV_NAME_RELEASE, /* member -> leader: a global name is free again */
    CONV_LEAVE,        /* member -> leader: leaving on purpose (empty) */
    CONV_TYPES
};

enum conv_event { CONV_EV_JOINED = 1, CONV_EV_LEFT, CONV_EV_CAPS };

/* A node as JOIN and MEMBER describe it. */
struct conv_node {
    uint16_t node;     /* its node id */
    uint64_t instance; /* random per process start: a restart is a new instance */
    char name[CONV_NAME_MAX];
    char caps[CONV_CAPS_MAX];
    char endpoints[CONV_ENDPOINTS_MAX];
    uint16_t nimages;
    uint8_t images[CONV_IMAGES_MAX][CONV_IMAGE_HASH];
};

/* One control message. Only the member of u that type names is used. */
struct conv_msg {
    enum conv_type type;
    union {
        struct {
            uint8_t nonce[CONV_NONCE]; /* conv_encode makes it */
        } hello;
        struct {
            uint8_t nonce[CONV_NONCE]; /* conv_encode makes it */
            struct conv_node node;
        } join;
        struct {
            uint16_t node;            /* the member's id, confirmed */
            uint64_t leader_instance;
            uint32_t heartbeat_ms;
            uint16_t nmembers;        /* MEMBER frames that follow */
        } welcome;
        struct {
            char reason[CONV_REASON_MAX];
        } refuse;
        struct {
            uint8_t event; /* an enum conv_event */
            struct conv_node node;
        } member;
        struct {
            char caps[CONV_CAPS_MAX];
        } caps;
        struct {
            uint64_t sent_ns;
        } heartbeat;
        struct {
            uint8_t level; /* 0 .. CONV_LOG_LEVEL_MAX */
            char id[CONV_LOG_ID_MAX];
            char text[CONV_LOG_TEXT_MAX];
        } log;
        struct {
            uint32_t req;  /* echoed by the NAME_REPLY */
            uint64_t addr; /* the actor that wants the name */
            char name[CONV_GNAME_MAX];
        } name_claim;
        struct {
            uint32_t req;
            uint64_t holder; /* who holds the name now: the claim's addr if granted */
            int32_t rc;      /* 0, or a negative errno */
        } name_reply;
        struct {
            uint64_t addr;
            char name[CONV_GNAME_MAX];
        } name_release;
    } u;
};

/* Where a session is. The leader goes START -(sends HELLO)-> WAIT_JOIN
 * -(gets JOIN)-> JOINED -(sends WELCOME)-> SESSION; the member goes START
 * -(gets HELLO)-> HELLO -(sends JOIN)-> WAIT_WELCOME -(gets WELCOME)->
 * SESSION. REFUSE (any time before SESSION) and LEAVE end it: CLOSED. */
enum conv_phase {
    CONV_START = 0,
    CONV_WAIT_JOIN,    /* leader: HELLO sent */
    CONV_JOINED,       /* leader: JOIN authenticated, WELCOME or REFUSE to send */
    CONV_GOT_HELLO,    /* member: JOIN to send */
    CONV_WAIT_WELCOME, /* member: JOIN sent */
    CONV_SESSION,
    CONV_CLOSED
};

/* One side of one control stream. Plain data: a new connection (or a
 * reconnection) gets a new one from conv_session_init. */
struct conv_session {
    bool leader;
    enum conv_phase phase;
    uint8_t key[CONV_KEY];  /* the shared key */
    uint8_t skey[CONV_KEY]; /* the session key, from WELCOME on */
    uint8_t nonce_l[CONV_NONCE], nonce_m[CONV_NONCE];
    uint64_t tx, rx; /* seq of the last frame sent / received in SESSION */
};

/* A fresh session (phase START) with the shared key, for the leader's or a
 * member's side. 0, -EINVAL (NULL argument), or -EIO when libsodium cannot
 * start (no randomness). */
int conv_session_init(struct conv_session *s, const uint8_t key[CONV_KEY], bool leader);

/* Wipes the keys of s (sodium_memzero); s is then CLOSED. NULL-safe. */
void conv_session_fini(struct conv_session *s);

/* Framing a stream: how long the frame at the start of buf (have bytes) is.
 * >0 the whole frame's length when all of it is in buf; 0 when more bytes
 * are needed; -EBADMSG as soon as the length field is readable and below
 * CONV_OVERHEAD - 4 or above CONV_FRAME_MAX (the stream is then useless).
 * A buffer of CONV_FRAME_BYTES always holds a frame this accepts. */
ssize_t conv_frame_len(const void *buf, size_t have);

/*
 * Writes m as the next frame of s into buf (cap bytes). The session picks
 * the key, the context and the seq by its phase; HELLO and JOIN make their
 * nonce here (randombytes_buf), whatever m holds; WELCOME starts the
 * session, REFUSE and LEAVE end it. Returns the frame's length, or
 *   -EPROTO  m's type is not one this side may send in this phase
 *   -EINVAL  a NULL argument, or a field out of range: a string too long or not terminated
 *            within its array, nimages above CONV_IMAGES_MAX, an unknown
 *            event, a log level above CONV_LOG_LEVEL_MAX
 *   -ENOSPC  cap is too small
 * with ts_last_error saying which. s changes only on success.
 */
ssize_t conv_encode(struct conv_session *s, const struct conv_msg *m, void *buf, size_t cap);

/*
 * Reads the whole frame at frame (len bytes, as conv_frame_len gave) from
 * the peer of s into *out (only meaningful on success). Returns 0, or
 *   -EINVAL   a NULL argument
 *   -EBADMSG  malformed: length, version, reserved bits, unknown type, a
 *             body that does not parse, bytes after the body, a mac where
 *             there must be none
 *   -EPROTO   a type the peer may not send in this phase
 *   -EPERM    not authentic: a bad mac (another key, tampered, another
 *             session, reflected) or a seq other than the next one
 *             (replayed, dropped, reordered)
 * with ts_last_error saying which. s changes only on success: an
 * authenticated JOIN moves the leader to JOINED, a WELCOME starts the
 * member's session, a REFUSE or a LEAVE ends it. On any error the stream
 * should be closed.
 */
int conv_decode(struct conv_session *s, const void *frame, size_t len, struct conv_msg *out);

/* The body of a frame of the given type alone (no header, mac or phase),
 * for tests and fuzzing: 0, -EBADMSG as conv_decode, or -EINVAL (NULL
 * argument). *out is emptied first. */
int conv_body_decode(enum conv_type type, const void *body, size_t len, struct conv_msg *out);

/* m's body alone: its length, or -EINVAL / -ENOSPC as conv_encode. A body
 * conv_body_decode accepted is written back byte for byte. */
ssize_t conv_body_encode(const struct conv_msg *m, void *buf, size_t cap);

/* A type's name ("JOIN"), or "unknown". */
const char *conv_type_name(int type);

/*
 * Key files hold the shared key as 64 hex digits and an optional newline.
 * conv_key_load reads one into key. Returns 0, or
 *   -EACCES  group or others may read or write it (the message gives the
 *            chmod that fixes it)
 *   -EINVAL  not a regular file, a wrong length or a non-hex character
 *   -errno   from open, fstat or read (-ENOENT ...)
 */
int conv_key_load(const char *path, uint8_t key[CONV_KEY]);

/* Writes a fresh random key to path with mode 0600. 0, -EEXIST (it is never
 * overwritten), -EIO (libsodium cannot start), or -errno from open or write
 * (a partial file is removed). */
int conv_key_generate(const char *path);

#endif
