/* SPDX-License-Identifier: MIT */
/* conv_wire.c — the convention's control messages (conv_wire.h,
 * docs/protocol.md "Convention control messages"). */
#include "conv_wire.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../engine/err.h"
#include "../engine/keyfile.h"

/* Every key, mac context and derivation starts with this label, so nothing
 * made for another protocol (or another version of this one) fits here. */
#define LABEL "thespis-conv-v1"
#define LABEL_LEN (sizeof(LABEL) - 1)

/* The side that sent a frame, in its mac context: a frame cannot be sent
 * back to its sender as if the peer had sent it. */
#define SIDE_LEADER 'L'
#define SIDE_MEMBER 'M'

/* The largest body (JOIN's: a nonce and a node at every limit) fits a frame. */
#define NODE_MAX (2 + 8 + 3 * 2 + (CONV_NAME_MAX - 1) + (CONV_CAPS_MAX - 1) + \
                  (CONV_ENDPOINTS_MAX - 1) + 2 + CONV_IMAGES_MAX * CONV_IMAGE_HASH)
_Static_assert(CONV_OVERHEAD - 4 + CONV_NONCE + NODE_MAX <= CONV_FRAME_MAX,
               "a JOIN at every limit must fit in a frame");
_Static_assert(crypto_auth_hmacsha512256_BYTES == CONV_MAC &&
               crypto_auth_hmacsha512256_KEYBYTES == CONV_KEY, "crypto_auth's sizes");

static void put16(uint8_t *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }

const char *conv_type_name(int type)
{
    static const char *const names[CONV_TYPES] = {
        [CONV_HELLO] = "HELLO", [CONV_JOIN] = "JOIN", [CONV_WELCOME] = "WELCOME",
        [CONV_REFUSE] = "REFUSE", [CONV_MEMBER] = "MEMBER", [CONV_CAPS] = "CAPS",
        [CONV_HEARTBEAT] = "HEARTBEAT", [CONV_LOG] = "LOG", [CONV_NAME_CLAIM] = "NAME_CLAIM",
        [CONV_NAME_REPLY] = "NAME_REPLY", [CONV_NAME_RELEASE] = "NAME_RELEASE",
        [CONV_LEAVE] = "LEAVE"};
    return type > 0 && type < CONV_TYPES ? names[type] : "unknown";
}

static const char *phase_name(enum conv_phase p)
{
    static const char *const names[] = {"start", "waiting for JOIN", "joined", "HELLO received",
                                        "waiting for WELCOME", "session", "closed"};
    return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "unknown";
}

/* ---- body writer --------------------------------------------------------- */

/* Writes into [p, p + cap) while it fits and counts on past it, so one pass
 * finds bad fields (-EINVAL) whatever the room, and the length needed. */
struct wr {
    uint8_t *p;
    size_t cap, at;
};

static void w_bytes(struct wr *w, const void *src, size_t n)
{
    if (n && w->at <= w->cap && n <= w->cap - w->at)
        memcpy(w->p + w->at, src, n);
    w->at += n;
}

static void w8(struct wr *w, uint8_t v) { w_bytes(w, &v, 1); }
static void w16(struct wr *w, uint16_t v) { uint8_t b[2]; put16(b, v); w_bytes(w, b, 2); }
static void w32(struct wr *w, uint32_t v) { uint8_t b[4]; put32(b, v); w_bytes(w, b, 4); }
static void w64(struct wr *w, uint64_t v) { uint8_t b[8]; put64(b, v); w_bytes(w, b, 8); }

/* A string of the char array s[size]: u16 length, then its bytes. -EINVAL
 * when s holds no NUL (it would be size characters or more). */
static int w_str(struct wr *w, const char *s, size_t size, const char *what)
{
    size_t n = strnlen(s, size);
    if (n == size)
        return err_set(-EINVAL, "convention message: %s longer than %zu characters", what,
                       size - 1);
    w16(w, (uint16_t)n);
    w_bytes(w, s, n);
    return 0;
}

static int w_node(struct wr *w, const struct conv_node *n)
{
    int rc;
    w16(w, n->node);
    w64(w, n->instance);
    if ((rc = w_str(w, n->name, sizeof(n->name), "node name")) < 0 ||
        (rc = w_str(w, n->caps, sizeof(n->caps), "capabilities")) < 0 ||
        (rc = w_str(w, n->endpoints, sizeof(n->endpoints), "endpoints")) < 0)
        return rc;
    if (n->nimages > CONV_IMAGES_MAX)
        return err_set(-EINVAL, "convention message: %u code images, at most %d",
                       n->nimages, CONV_IMAGES_MAX);
    w16(w, n->nimages);
    w_bytes(w, n->images, (size_t)n->nimages * CONV_IMAGE_HASH);
    return 0;
}

/* m's body into w: 0 or -EINVAL. */
static int w_body(struct wr *w, const struct conv_msg *m)
{
    switch (m->type) {
    case CONV_HELLO:
        w_bytes(w, m->u.hello.nonce, CONV_NONCE);
        return 0;
    case CONV_JOIN:
        w_bytes(w, m->u.join.nonce, CONV_NONCE);
        return w_node(w, &m->u.join.node);
    case CONV_WELCOME:
        w16(w, m->u.welcome.node);
        w64(w, m->u.welcome.leader_instance);
        w32(w, m->u.welcome.heartbeat_ms);
        w16(w, m->u.welcome.nmembers);
        return 0;
    case CONV_REFUSE:
        return w_str(w, m->u.refuse.reason, sizeof(m->u.refuse.reason), "refusal reason");
    case CONV_MEMBER:
        if (m->u.member.event < CONV_EV_JOINED || m->u.member.event > CONV_EV_CAPS)
            return err_set(-EINVAL, "convention MEMBER: unknown event %u", m->u.member.event);
        w8(w, m->u.member.event);
        return w_node(w, &m->u.member.node);
    case CONV_CAPS:
        return w_str(w, m->u.caps.caps, sizeof(m->u.caps.caps), "capabilities");
    case CONV_HEARTBEAT:
        w64(w, m->u.heartbeat.sent_ns);
        return 0;
    case CONV_LOG: {
        if (m->u.log.level > CONV_LOG_LEVEL_MAX)
            return err_set(-EINVAL, "convention LOG: level %u above %d", m->u.log.level,
                           CONV_LOG_LEVEL_MAX);
        w8(w, m->u.log.level);
        int rc = w_str(w, m->u.log.id, sizeof(m->u.log.id), "log id");
        return rc < 0 ? rc : w_str(w, m->u.log.text, sizeof(m->u.log.text), "log text");
    }
    case CONV_NAME_CLAIM:
        w32(w, m->u.name_claim.req);
        w64(w, m->u.name_claim.addr);
        return w_str(w, m->u.name_claim.name, sizeof(m->u.name_claim.name), "global name");
    case CONV_NAME_REPLY:
        w32(w, m->u.name_reply.req);
        w64(w, m->u.name_reply.holder);
        w32(w, (uint32_t)m->u.name_reply.rc);
        return 0;
    case CONV_NAME_RELEASE:
        w64(w, m->u.name_release.addr);
        return w_str(w, m->u.name_release.name, sizeof(m->u.name_release.name), "global name");
    case CONV_LEAVE:
        return 0;
    default:
        return err_set(-EINVAL, "convention message: unknown type %d", (int)m->type);
    }
}

ssize_t conv_body_encode(const struct conv_msg *m, void *buf, size_t cap)
{
    if (!m || (!buf && cap))
        return err_set(-EINVAL, "conv_body_encode: NULL argument");
    struct wr w = {buf, cap, 0};
    int rc = w_body(&w, m);
    if (rc < 0)
        return rc;
    if (w.at > cap)
        return err_set(-ENOSPC, "convention %s: body of %zu bytes, room for %zu",
                       conv_type_name(m->type), w.at, cap);
    return (ssize_t)w.at;
}

/* ---- body reader --------------------------------------------------------- */

/* Reads [p, p + len); the first thing wrong stops it and says why. */
struct rd {
    const uint8_t *p;
    size_t len, at;
    const char *why; /* NULL while all is well */
};

static bool r_bytes(struct rd *r, void *dst, size_t n)
{
    if (r->why)
        return false;
    if (n > r->len - r->at) {
        r->why = "truncated";
        return false;
    }
    if (n)
        memcpy(dst, r->p + r->at, n);
    r->at += n;
    return true;
}

static uint8_t r8(struct rd *r) { uint8_t v = 0; r_bytes(r, &v, 1); return v; }
static uint16_t r16(struct rd *r) { uint8_t b[2] = {0}; r_bytes(r, b, 2); return get16(b); }
static uint32_t r32(struct rd *r) { uint8_t b[4] = {0}; r_bytes(r, b, 4); return get32(b); }
static uint64_t r64(struct rd *r) { uint8_t b[8] = {0}; r_bytes(r, b, 8); return get64(b); }

/* A string into dst[size], terminated: at most size - 1 bytes, no NUL. */
static void r_str(struct rd *r, char *dst, size_t size, const char *too_long)
{
    size_t n = r16(r);
    if (r->why)
        return;
    if (n >= size) {
        r->why = too_long;
        return;
    }
    if (!r_bytes(r, dst, n))
        return;
    dst[n] = '\0';
    if (memchr(dst, '\0', n))
        r->why = "a string holds a NUL byte";
}

static void r_node(struct rd *r, struct conv_node *n)
{
    n->node = r16(r);
    n->instance = r64(r);
    r_str(r, n->name, sizeof(n->name), "node name too long");
    r_str(r, n->caps, sizeof(n->caps), "capabilities too long");
    r_str(r, n->endpoints, sizeof(n->endpoints), "endpoints too long");
    n->nimages = r16(r);
    if (!r->why && n->nimages > CONV_IMAGES_MAX)
        r->why = "too many code images";
    else
        r_bytes(r, n->images, (size_t)n->nimages * CONV_IMAGE_HASH);
}

static void r_body(struct rd *r, struct conv_msg *m)
{
    switch (m->type) {
    case CONV_HELLO:
        r_bytes(r, m->u.hello.nonce, CONV_NONCE);
        break;
    case CONV_JOIN:
        r_bytes(r, m->u.join.nonce, CONV_NONCE);
        r_node(r, &m->u.join.node);
        break;
    case CONV_WELCOME:
        m->u.welcome.node = r16(r);
        m->u.welcome.leader_instance = r64(r);
        m->u.welcome.heartbeat_ms = r32(r);
        m->u.welcome.nmembers = r16(r);
        break;
    case CONV_REFUSE:
        r_str(r, m->u.refuse.reason, sizeof(m->u.refuse.reason), "reason too long");
        break;
    case CONV_MEMBER:
        m->u.member.event = r8(r);
        if (!r->why && (m->u.member.event < CONV_EV_JOINED || m->u.member.event > CONV_EV_CAPS))
            r->why = "unknown member event";
        r_node(r, &m->u.member.node);
        break;
    case CONV_CAPS:
        r_str(r, m->u.caps.caps, sizeof(m->u.caps.caps), "capabilities too long");
        break;
    case CONV_HEARTBEAT:
        m->u.heartbeat.sent_ns = r64(r);
        break;
    case CONV_LOG:
        m->u.log.level = r8(r);
        if (!r->why && m->u.log.level > CONV_LOG_LEVEL_MAX)
            r->why = "unknown log level";
        r_str(r, m->u.log.id, sizeof(m->u.log.id), "log id too long");
        r_str(r, m->u.log.text, sizeof(m->u.log.text), "log text too long");
        break;
    case CONV_NAME_CLAIM:
        m->u.name_claim.req = r32(r);
        m->u.name_claim.addr = r64(r);
        r_str(r, m->u.name_claim.name, sizeof(m->u.name_claim.name), "global name too long");
        break;
    case CONV_NAME_REPLY:
        m->u.name_reply.req = r32(r);
        m->u.name_reply.holder = r64(r);
        m->u.name_reply.rc = (int32_t)r32(r);
        break;
    case CONV_NAME_RELEASE:
        m->u.name_release.addr = r64(r);
        r_str(r, m->u.name_release.name, sizeof(m->u.name_release.name), "global name too long");
        break;
    case CONV_LEAVE:
        break;
    default:
        r->why = "unknown type";
        break;
    }
    if (!r->why && r->at != r->len)
        r->why = "bytes after the body";
}

int conv_body_decode(enum conv_type type, const void *body, size_t len, struct conv_msg *out)
{
    if (!out || (!body && len))
        return err_set(-EINVAL, "conv_body_decode: NULL argument");
    memset(out, 0, sizeof(*out));
    out->type = type;
    struct rd r = {body, len, 0, NULL};
    r_body(&r, out);
    if (r.why)
        return err_set(-EBADMSG, "malformed convention %s (type %d): %s", conv_type_name(type),
                       (int)type, r.why);
    return 0;
}

/* ---- sessions ------------------------------------------------------------ */

int conv_session_init(struct conv_session *s, const uint8_t key[CONV_KEY], bool leader)
{
    if (!s || !key)
        return err_set(-EINVAL, "conv_session_init: NULL argument");
    if (sodium_init() < 0)
        return err_set(-EIO, "libsodium could not start (no source of randomness?)");
    memset(s, 0, sizeof(*s));
    s->leader = leader;
    s->phase = CONV_START;
    memcpy(s->key, key, CONV_KEY);
    return 0;
}

void conv_session_fini(struct conv_session *s)
{
    if (!s)
        return;
    sodium_memzero(s, sizeof(*s));
    s->phase = CONV_CLOSED;
}

static bool from_leader(int type)
{
    switch (type) {
    case CONV_HELLO: case CONV_WELCOME: case CONV_REFUSE: case CONV_MEMBER:
    case CONV_HEARTBEAT: case CONV_NAME_REPLY:
        return true;
    default:
        return false;
    }
}

static bool from_member(int type)
{
    switch (type) {
    case CONV_JOIN: case CONV_CAPS: case CONV_HEARTBEAT: case CONV_LOG: case CONV_NAME_CLAIM:
    case CONV_NAME_RELEASE: case CONV_LEAVE:
        return true;
    default:
        return false;
    }
}

/* Whether type may go, in phase p of the side that sends (sending) or of
 * the side that receives it (!sending). */
static bool allowed(bool leader, bool sending, enum conv_phase p, int type)
{
    bool by_leader = leader == sending; /* the frame's sender is the leader */
    if (by_leader ? !from_leader(type) : !from_member(type))
        return false;
    switch (type) {
    case CONV_HELLO:
        return p == CONV_START;
    case CONV_JOIN:
        return p == (sending ? CONV_GOT_HELLO : CONV_WAIT_JOIN);
    case CONV_WELCOME:
        return p == (sending ? CONV_JOINED : CONV_WAIT_WELCOME);
    case CONV_REFUSE: /* any time before the session */
        return p < CONV_SESSION;
    default:
        return p == CONV_SESSION;
    }
}

static bool authenticated(int type)
{
    return type != CONV_HELLO && type != CONV_REFUSE;
}

/* The key and mac context of a frame of type sent by the leader (or not):
 * the context's length into *n, at most 15 + 1 + 32 bytes. */
static const uint8_t *mac_ctx(const struct conv_session *s, int type, bool by_leader,
                              uint8_t ctx[LABEL_LEN + 1 + 2 * CONV_NONCE], size_t *n)
{
    memcpy(ctx, LABEL, LABEL_LEN);
    ctx[LABEL_LEN] = by_leader ? SIDE_LEADER : SIDE_MEMBER;
    *n = LABEL_LEN + 1;
    if (type == CONV_JOIN || type == CONV_WELCOME) {
        memcpy(ctx + *n, s->nonce_l, CONV_NONCE); /* a JOIN answers this HELLO only */
        *n += CONV_NONCE;
        if (type == CONV_WELCOME) {
            memcpy(ctx + *n, s->nonce_m, CONV_NONCE); /* a WELCOME answers this JOIN only */
            *n += CONV_NONCE;
        }
        return s->key;
    }
    return s->skey;
}

/* HMAC-SHA512-256 (crypto_auth) with key over ctx then msg. */
static void mac_make(const uint8_t *key, const uint8_t *ctx, size_t ctxn, const uint8_t *msg,
                     size_t n, uint8_t out[CONV_MAC])
{
    crypto_auth_hmacsha512256_state st;
    crypto_auth_hmacsha512256_init(&st, key, CONV_KEY);
    crypto_auth_hmacsha512256_update(&st, ctx, ctxn);
    crypto_auth_hmacsha512256_update(&st, msg, n);
    crypto_auth_hmacsha512256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

/* The session key: BLAKE2b keyed with the shared key over the label and
 * both nonces, so every handshake gives a new one. */
static void session_key(const struct conv_session *s, uint8_t out[CONV_KEY])
{
    uint8_t in[LABEL_LEN + 2 * CONV_NONCE];
    memcpy(in, LABEL, LABEL_LEN);
    memcpy(in + LABEL_LEN, s->nonce_l, CONV_NONCE);
    memcpy(in + LABEL_LEN + CONV_NONCE, s->nonce_m, CONV_NONCE);
    crypto_generichash(out, CONV_KEY, in, sizeof(in), s->key, CONV_KEY);
}

ssize_t conv_frame_len(const void *buf, size_t have)
{
    if (have < 4)
        return 0;
    uint32_t len = get32(buf);
    if (len < CONV_OVERHEAD - 4 || len > CONV_FRAME_MAX)
        return err_set(-EBADMSG, "convention frame length %u outside %u..%u", len,
                       CONV_OVERHEAD - 4, CONV_FRAME_MAX);
    return have < 4 + (size_t)len ? 0 : (ssize_t)(4 + len);
}

/* WELCOME sent or taken: both sides hold the session key, numbering from 1. */
static void session_begin(struct conv_session *s)
{
    session_key(s, s->skey);
    s->tx = s->rx = 0;
    s->phase = CONV_SESSION;
}

ssize_t conv_encode(struct conv_session *s, const struct conv_msg *m, void *buf, size_t cap)
{
    if (!s || !m || (!buf && cap))
        return err_set(-EINVAL, "conv_encode: NULL argument");
    if (!allowed(s->leader, true, s->phase, m->type))
        return err_set(-EPROTO, "the %s may not send a convention %s now (%s)",
                       s->leader ? "leader" : "member", conv_type_name(m->type),
                       phase_name(s->phase));
    struct conv_msg mine;
    const struct conv_msg *src = m;
    if (m->type == CONV_HELLO || m->type == CONV_JOIN) { /* a fresh nonce, every time */
        mine = *m;
        randombytes_buf(m->type == CONV_HELLO ? mine.u.hello.nonce : mine.u.join.nonce, CONV_NONCE);
        src = &mine;
    }
    uint8_t *p = buf;
    struct wr w = {p ? p + CONV_HDR : NULL, cap > CONV_OVERHEAD ? cap - CONV_OVERHEAD : 0, 0};
    int rc = w_body(&w, src);
    if (rc < 0)
        return rc;
    size_t total = CONV_OVERHEAD + w.at;
    if (total > cap)
        return err_set(-ENOSPC, "convention %s: frame of %zu bytes, room for %zu",
                       conv_type_name(m->type), total, cap);

    bool session = s->phase == CONV_SESSION;
    put32(p, (uint32_t)(total - 4));
    p[4] = (uint8_t)m->type;
    p[5] = CONV_VERSION;
    put16(p + 6, 0);
    put64(p + 8, session ? s->tx + 1 : 0);
    uint8_t *mac = p + CONV_HDR + w.at;
    if (m->type == CONV_HELLO)
        memcpy(s->nonce_l, src->u.hello.nonce, CONV_NONCE);
    if (m->type == CONV_JOIN)
        memcpy(s->nonce_m, src->u.join.nonce, CONV_NONCE);
    if (authenticated(m->type)) {
        uint8_t ctx[LABEL_LEN + 1 + 2 * CONV_NONCE];
        size_t ctxn;
        const uint8_t *key = mac_ctx(s, m->type, s->leader, ctx, &ctxn);
        mac_make(key, ctx, ctxn, p + 4, total - 4 - CONV_MAC, mac);
    } else {
        memset(mac, 0, CONV_MAC);
    }

    /* Sent: the session moves on. */
    switch (m->type) {
    case CONV_HELLO: s->phase = CONV_WAIT_JOIN; break;
    case CONV_JOIN: s->phase = CONV_WAIT_WELCOME; break;
    case CONV_WELCOME: session_begin(s); break;
    case CONV_REFUSE: s->phase = CONV_CLOSED; break;
    case CONV_LEAVE: s->tx++; s->phase = CONV_CLOSED; break;
    default: s->tx++; break;
    }
    return (ssize_t)total;
}

/* The mac of an authenticated frame f (n bytes, header checked) from the
 * peer of s: 0 or -EPERM. */
static int check_mac(const struct conv_session *s, int type, const uint8_t *f, size_t n)
{
    uint8_t ctx[LABEL_LEN + 1 + 2 * CONV_NONCE], want[CONV_MAC];
    size_t ctxn;
    const uint8_t *key = mac_ctx(s, type, !s->leader, ctx, &ctxn);
    mac_make(key, ctx, ctxn, f + 4, n - 4 - CONV_MAC, want);
    if (crypto_verify_32(want, f + n - CONV_MAC) == 0)
        return 0;
    if (type == CONV_JOIN)
        return err_set(-EPERM, "convention JOIN refused: not authenticated (the member's key "
                       "differs from ours, or the JOIN answers another HELLO)");
    if (type == CONV_WELCOME)
        return err_set(-EPERM, "convention WELCOME refused: not authenticated (the leader's "
                       "key differs from ours, or the WELCOME answers another JOIN)");
    return err_set(-EPERM, "convention %s (seq %llu) refused: bad mac (tampered, from another "
                   "session, or our own frame sent back)", conv_type_name(type),
                   (unsigned long long)get64(f + 8));
}

int conv_decode(struct conv_session *s, const void *frame, size_t len, struct conv_msg *out)
{
    if (!s || !out || (!frame && len))
        return err_set(-EINVAL, "conv_decode: NULL argument");
    const uint8_t *f = frame;
    ssize_t flen = conv_frame_len(f, len);
    if (flen < 0)
        return (int)flen;
    if (flen == 0 || (size_t)flen != len)
        return err_set(-EBADMSG, "convention frame of %zu bytes, its length field says %llu",
                       len, len < 4 ? 0ull : 4ull + get32(f));
    int type = f[4];
    if (f[5] != CONV_VERSION)
        return err_set(-EBADMSG, "convention frame version %u, this node speaks %u", f[5],
                       CONV_VERSION);
    if (get16(f + 6) != 0)
        return err_set(-EBADMSG, "convention frame: reserved bits set");
    if (type <= 0 || type >= CONV_TYPES)
        return err_set(-EBADMSG, "convention frame of unknown type %d", type);
    if (!allowed(s->leader, false, s->phase, type))
        return err_set(-EPROTO, "a convention %s from the %s is not expected now (%s)",
                       conv_type_name(type), s->leader ? "member" : "leader",
                       phase_name(s->phase));
    uint64_t seq = get64(f + 8);
    bool session = s->phase == CONV_SESSION;
    if (!session && seq != 0)
        return err_set(-EBADMSG, "convention %s with seq %llu (handshake frames have 0)",
                       conv_type_name(type), (unsigned long long)seq);
    if (!authenticated(type)) {
        static const uint8_t zero[CONV_MAC];
        if (memcmp(f + len - CONV_MAC, zero, CONV_MAC) != 0)
            return err_set(-EBADMSG, "convention %s with a mac (it has none)",
                           conv_type_name(type));
    } else {
        int rc = check_mac(s, type, f, len);
        if (rc < 0)
            return rc;
    }
    if (session && seq != s->rx + 1)
        return err_set(-EPERM, "convention %s with seq %llu where %llu was due: replayed, "
                       "dropped or reordered", conv_type_name(type), (unsigned long long)seq,
                       (unsigned long long)(s->rx + 1));
    int rc = conv_body_decode((enum conv_type)type, f + CONV_HDR, len - CONV_OVERHEAD, out);
    if (rc < 0)
        return rc;

    /* Received: the session moves on. */
    switch (type) {
    case CONV_HELLO:
        memcpy(s->nonce_l, out->u.hello.nonce, CONV_NONCE);
        s->phase = CONV_GOT_HELLO;
        break;
    case CONV_JOIN:
        memcpy(s->nonce_m, out->u.join.nonce, CONV_NONCE);
        s->phase = CONV_JOINED;
        break;
    case CONV_WELCOME: session_begin(s); break;
    case CONV_REFUSE: s->phase = CONV_CLOSED; break;
    case CONV_LEAVE: s->rx++; s->phase = CONV_CLOSED; break;
    default: s->rx++; break;
    }
    return 0;
}

/* ---- key files (engine/keyfile.c) ----------------------------------------- */

#define KEY_WHAT "convention key file"

int conv_key_load(const char *path, uint8_t key[CONV_KEY])
{
    if (!path || !key)
        return err_set(-EINVAL, "conv_key_load: NULL argument");
    return keyfile_load(KEY_WHAT, "make one with conv_key_generate", path, -EACCES, key,
                        CONV_KEY);
}

int conv_key_generate(const char *path)
{
    if (!path)
        return err_set(-EINVAL, "conv_key_generate: NULL path");
    if (sodium_init() < 0)
        return err_set(-EIO, "libsodium could not start (no source of randomness?)");
    uint8_t key[CONV_KEY];
    randombytes_buf(key, sizeof(key));
    int rc = keyfile_write(KEY_WHAT, path, 0600, key, sizeof(key));
    sodium_memzero(key, sizeof(key));
    return rc;
}
