/* SPDX-License-Identifier: MIT */
/* conv_fuzz.c — fuzz target for the convention's control messages
 * (placement/conv_wire.h). The first byte picks what the rest is:
 *
 *   odd   a body, decoded as every type (conv_body_decode): one that is
 *         accepted must be written back byte for byte, and go through a
 *         real session (encoded by one side, decoded by the other) intact;
 *   even  a stream of frames, split by conv_frame_len and fed to a session
 *         in every phase of both sides. A refused frame leaves its session
 *         as it was; an accepted one must carry the mac the protocol page
 *         describes (checked here with crypto_auth, apart from the codec),
 *         re-encode to the same body, and move its session exactly one
 *         step. Session frames and WELCOMEs must also be byte for byte what
 *         the legitimate sender would have written.
 *
 * The target's randomness is libsodium's, replaced by a fixed sequence, so
 * its sessions (and their nonces and keys) are the same in every run: the
 * seeds in corpus/conv/ hold frames that authenticate against them. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "conv_wire.h"
#include "fuzz.h"

#define CHECK(cond)           \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

/* ---- a fixed randomness -------------------------------------------------- */

static uint64_t det_state = 0x636f6e762d66757aull;

static uint64_t det_next(void)
{
    uint64_t z = (det_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static const char *det_name(void) { return "conv-fuzz-fixed"; }
static uint32_t det_random(void) { return (uint32_t)det_next(); }

static void det_buf(void *const buf, const size_t n)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)det_next();
}

static randombytes_implementation det = {.implementation_name = det_name, .random = det_random,
                                         .buf = det_buf};

/* ---- the sessions, one per phase ---------------------------------------- */

enum { L_START, L_WAIT_JOIN, L_JOINED, L_SESSION, L_CLOSED,
       M_START, M_GOT_HELLO, M_WAIT_WELCOME, M_SESSION, M_CLOSED, NSESS };

static struct conv_session sess[NSESS];
static uint8_t frame_buf[CONV_FRAME_BYTES];

static ssize_t enc(struct conv_session *s, const struct conv_msg *m)
{
    return conv_encode(s, m, frame_buf, sizeof(frame_buf));
}

static void setup(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    CHECK(randombytes_set_implementation(&det) == 0);
    uint8_t key[CONV_KEY];
    memset(key, 0x4b, sizeof(key));
    struct conv_msg m, out;
    CHECK(conv_session_init(&sess[L_START], key, true) == 0);
    CHECK(conv_session_init(&sess[M_START], key, false) == 0);

    sess[L_WAIT_JOIN] = sess[L_START];
    memset(&m, 0, sizeof(m));
    m.type = CONV_HELLO;
    ssize_t n = enc(&sess[L_WAIT_JOIN], &m);
    sess[M_GOT_HELLO] = sess[M_START];
    CHECK(n > 0 && conv_decode(&sess[M_GOT_HELLO], frame_buf, (size_t)n, &out) == 0);

    sess[M_WAIT_WELCOME] = sess[M_GOT_HELLO];
    memset(&m, 0, sizeof(m));
    m.type = CONV_JOIN;
    m.u.join.node.node = 2;
    strcpy(m.u.join.node.name, "fuzz-member");
    n = enc(&sess[M_WAIT_WELCOME], &m);
    sess[L_JOINED] = sess[L_WAIT_JOIN];
    CHECK(n > 0 && conv_decode(&sess[L_JOINED], frame_buf, (size_t)n, &out) == 0);

    sess[L_SESSION] = sess[L_JOINED];
    memset(&m, 0, sizeof(m));
    m.type = CONV_WELCOME;
    m.u.welcome.node = 2;
    n = enc(&sess[L_SESSION], &m);
    sess[M_SESSION] = sess[M_WAIT_WELCOME];
    CHECK(n > 0 && conv_decode(&sess[M_SESSION], frame_buf, (size_t)n, &out) == 0);
    CHECK(memcmp(sess[L_SESSION].skey, sess[M_SESSION].skey, CONV_KEY) == 0);

    sess[L_CLOSED] = sess[L_SESSION];
    sess[L_CLOSED].phase = CONV_CLOSED;
    sess[M_CLOSED] = sess[M_SESSION];
    sess[M_CLOSED].phase = CONV_CLOSED;
}

static bool same(const struct conv_session *a, const struct conv_session *b)
{
    return a->leader == b->leader && a->phase == b->phase && a->tx == b->tx && a->rx == b->rx &&
           memcmp(a->key, b->key, CONV_KEY) == 0 && memcmp(a->skey, b->skey, CONV_KEY) == 0 &&
           memcmp(a->nonce_l, b->nonce_l, CONV_NONCE) == 0 &&
           memcmp(a->nonce_m, b->nonce_m, CONV_NONCE) == 0;
}

static bool by_leader(int t)
{
    return t == CONV_HELLO || t == CONV_WELCOME || t == CONV_REFUSE || t == CONV_MEMBER ||
           t == CONV_HEARTBEAT || t == CONV_NAME_REPLY;
}

static bool by_member(int t)
{
    return t == CONV_JOIN || t == CONV_CAPS || t == CONV_HEARTBEAT || t == CONV_LOG ||
           t == CONV_NAME_CLAIM || t == CONV_NAME_RELEASE || t == CONV_LEAVE;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- checks ------------------------------------------------------------- */

/* The body of an accepted message is written back byte for byte. */
static void check_body(const struct conv_msg *m, const uint8_t *body, size_t len)
{
    static uint8_t back[CONV_FRAME_MAX];
    ssize_t n = conv_body_encode(m, back, sizeof(back));
    CHECK(n >= 0 && (size_t)n == len && memcmp(back, body, len) == 0);
}

/* The frame f (n bytes) that before accepted carries the documented mac:
 * crypto_auth over "thespis-conv-v1", the sender's side ('L'/'M'), the
 * handshake's nonces, then type .. end of body. */
static void check_mac(const struct conv_session *before, const uint8_t *f, size_t n)
{
    int t = f[4];
    const uint8_t *mac = f + n - CONV_MAC;
    if (t == CONV_HELLO || t == CONV_REFUSE) {
        for (unsigned i = 0; i < CONV_MAC; i++)
            CHECK(mac[i] == 0);
        return;
    }
    static uint8_t in[15 + 1 + 2 * CONV_NONCE + CONV_FRAME_MAX];
    size_t at = 15;
    memcpy(in, "thespis-conv-v1", 15);
    in[at++] = before->leader ? 'M' : 'L';
    if (t == CONV_JOIN || t == CONV_WELCOME) {
        memcpy(in + at, before->nonce_l, CONV_NONCE);
        at += CONV_NONCE;
    }
    if (t == CONV_WELCOME) {
        memcpy(in + at, before->nonce_m, CONV_NONCE);
        at += CONV_NONCE;
    }
    memcpy(in + at, f + 4, n - 4 - CONV_MAC);
    at += n - 4 - CONV_MAC;
    bool handshake = t == CONV_JOIN || t == CONV_WELCOME;
    CHECK(crypto_auth_verify(mac, in, at, handshake ? before->key : before->skey) == 0);
}

/* What the legitimate sender would have written for m, as frame f. */
static void check_resent(const struct conv_session *before, const struct conv_msg *m,
                         const uint8_t *f, size_t n)
{
    struct conv_session s;
    if (before->phase == CONV_SESSION) {
        s = sess[before->leader ? M_SESSION : L_SESSION];
        CHECK(memcmp(s.skey, before->skey, CONV_KEY) == 0);
        s.tx = before->rx;
    } else if (m->type == CONV_WELCOME) {
        s = sess[L_JOINED];
        CHECK(memcmp(s.nonce_m, before->nonce_m, CONV_NONCE) == 0);
    } else {
        return; /* HELLO, JOIN: a nonce of their own; REFUSE: anyone may write it */
    }
    static uint8_t again[CONV_FRAME_BYTES];
    ssize_t k = conv_encode(&s, m, again, sizeof(again));
    CHECK(k > 0 && (size_t)k == n && memcmp(again, f, n) == 0);
}

/* before -> after is one step allowed by accepting m. */
static void check_step(const struct conv_session *before, const struct conv_session *after,
                       const struct conv_msg *m, const uint8_t *f)
{
    CHECK(after->leader == before->leader && memcmp(after->key, before->key, CONV_KEY) == 0);
    CHECK(before->leader ? by_member(m->type) : by_leader(m->type));
    uint64_t seq = le64(f + 8);
    if (before->phase == CONV_SESSION) {
        CHECK(seq == before->rx + 1 && after->rx == seq && after->tx == before->tx);
        CHECK(after->phase == (m->type == CONV_LEAVE ? CONV_CLOSED : CONV_SESSION));
        return;
    }
    CHECK(seq == 0);
    switch (m->type) {
    case CONV_HELLO:
        CHECK(before->phase == CONV_START && after->phase == CONV_GOT_HELLO);
        CHECK(memcmp(after->nonce_l, m->u.hello.nonce, CONV_NONCE) == 0);
        break;
    case CONV_JOIN:
        CHECK(before->phase == CONV_WAIT_JOIN && after->phase == CONV_JOINED);
        CHECK(memcmp(after->nonce_m, m->u.join.nonce, CONV_NONCE) == 0);
        break;
    case CONV_WELCOME:
        CHECK(before->phase == CONV_WAIT_WELCOME && after->phase == CONV_SESSION);
        CHECK(after->tx == 0 && after->rx == 0);
        break;
    case CONV_REFUSE:
        CHECK(before->phase < CONV_SESSION && after->phase == CONV_CLOSED);
        break;
    default:
        CHECK(0);
    }
}

/* The stream data (len bytes) into a copy of session k, frame by frame. */
static void feed(int k, const uint8_t *data, size_t len)
{
    struct conv_session s = sess[k], before;
    static struct conv_msg out;
    while (len) {
        ssize_t n = conv_frame_len(data, len);
        CHECK(n == 0 || n == -EBADMSG || (n >= (ssize_t)CONV_OVERHEAD && (size_t)n <= len));
        if (n < 0)
            return;
        before = s;
        int rc = conv_decode(&s, data, n ? (size_t)n : len, &out);
        if (n == 0) { /* a part of a frame: never one */
            CHECK(rc == -EBADMSG && same(&before, &s));
            return;
        }
        CHECK(rc == 0 || rc == -EBADMSG || rc == -EPROTO || rc == -EPERM);
        if (rc < 0) {
            CHECK(same(&before, &s));
            return;
        }
        CHECK(out.type == data[4] && data[5] == CONV_VERSION && data[6] == 0 && data[7] == 0);
        check_body(&out, data + CONV_HDR, (size_t)n - CONV_OVERHEAD);
        check_mac(&before, data, (size_t)n);
        check_step(&before, &s, &out, data);
        check_resent(&before, &out, data, (size_t)n);
        data += n;
        len -= (size_t)n;
    }
}

/* A body accepted as m goes through a real session, from each side that
 * may send it, and comes out the same. */
static void through_session(const struct conv_msg *m, const uint8_t *body, size_t len)
{
    static const struct { int type; int from, to; } routes[] = {
        {CONV_HELLO, L_START, M_START},       {CONV_REFUSE, L_WAIT_JOIN, M_WAIT_WELCOME},
        {CONV_JOIN, M_GOT_HELLO, L_WAIT_JOIN}, {CONV_WELCOME, L_JOINED, M_WAIT_WELCOME},
        {CONV_MEMBER, L_SESSION, M_SESSION},  {CONV_HEARTBEAT, L_SESSION, M_SESSION},
        {CONV_NAME_REPLY, L_SESSION, M_SESSION}, {CONV_HEARTBEAT, M_SESSION, L_SESSION},
        {CONV_CAPS, M_SESSION, L_SESSION},    {CONV_LOG, M_SESSION, L_SESSION},
        {CONV_NAME_CLAIM, M_SESSION, L_SESSION}, {CONV_NAME_RELEASE, M_SESSION, L_SESSION},
        {CONV_LEAVE, M_SESSION, L_SESSION},
    };
    static struct conv_msg out;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (routes[i].type != (int)m->type)
            continue;
        struct conv_session tx = sess[routes[i].from], rx = sess[routes[i].to];
        ssize_t n = enc(&tx, m);
        CHECK(n == (ssize_t)(CONV_OVERHEAD + len));
        CHECK(conv_decode(&rx, frame_buf, (size_t)n, &out) == 0 && out.type == m->type);
        if (m->type == CONV_HELLO || m->type == CONV_JOIN) /* the nonce is the encoder's */
            CHECK(memcmp(frame_buf + CONV_HDR + CONV_NONCE, body + CONV_NONCE,
                         len - CONV_NONCE) == 0);
        else
            CHECK(memcmp(frame_buf + CONV_HDR, body, len) == 0);
    }
}

static void bodies(const uint8_t *data, size_t len)
{
    static struct conv_msg out;
    for (int t = 0; t <= CONV_TYPES; t++) {
        int rc = conv_body_decode((enum conv_type)t, data, len, &out);
        CHECK(rc == 0 || rc == -EBADMSG);
        if (t == 0 || t == CONV_TYPES)
            CHECK(rc == -EBADMSG);
        if (rc < 0)
            continue;
        CHECK(out.type == (enum conv_type)t);
        check_body(&out, data, len);
        through_session(&out, data, len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    bool body = data[0] & 1;
    data++;
    size--;
    ssize_t n = conv_frame_len(data, size);
    if (size < 4)
        CHECK(n == 0);
    else if (n > 0)
        CHECK((size_t)n == 4 + (size_t)le32(data) && (size_t)n <= size);
    else if (n == 0)
        CHECK(size < 4 + (size_t)le32(data));
    else
        CHECK(n == -EBADMSG && (le32(data) < CONV_OVERHEAD - 4 || le32(data) > CONV_FRAME_MAX));
    if (body) {
        bodies(data, size);
        return 0;
    }
    for (int k = 0; k < NSESS; k++)
        feed(k, data, size);
    return 0;
}

/* ---- seeded inputs: well-formed bodies and streams of real frames -------- */

static void rand_str(char *s, size_t size, uint64_t (*rng)(void))
{
    size_t n;
    switch (rng() % 4) {
    case 0: n = 0; break;
    case 1: n = size - 1; break; /* at the limit */
    default: n = rng() % size; break;
    }
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(' ' + rng() % 95);
    s[n] = '\0';
}

static void rand_node(struct conv_node *n, uint64_t (*rng)(void))
{
    n->node = (uint16_t)rng();
    n->instance = rng();
    rand_str(n->name, sizeof(n->name), rng);
    rand_str(n->caps, rng() % 2 ? 40 : sizeof(n->caps), rng);
    rand_str(n->endpoints, rng() % 2 ? 40 : sizeof(n->endpoints), rng);
    n->nimages = (uint16_t)(rng() % (CONV_IMAGES_MAX + 1));
    for (unsigned i = 0; i < n->nimages; i++)
        for (unsigned j = 0; j < CONV_IMAGE_HASH; j++)
            n->images[i][j] = (uint8_t)rng();
}

static void rand_msg(struct conv_msg *m, int type, uint64_t (*rng)(void))
{
    memset(m, 0, sizeof(*m));
    m->type = (enum conv_type)type;
    switch (type) {
    case CONV_HELLO: break;
    case CONV_JOIN: rand_node(&m->u.join.node, rng); break;
    case CONV_WELCOME:
        m->u.welcome.node = (uint16_t)rng();
        m->u.welcome.leader_instance = rng();
        m->u.welcome.heartbeat_ms = (uint32_t)rng();
        m->u.welcome.nmembers = (uint16_t)(rng() % 4);
        break;
    case CONV_REFUSE: rand_str(m->u.refuse.reason, sizeof(m->u.refuse.reason), rng); break;
    case CONV_MEMBER:
        m->u.member.event = (uint8_t)(CONV_EV_JOINED + rng() % 3);
        rand_node(&m->u.member.node, rng);
        break;
    case CONV_CAPS: rand_str(m->u.caps.caps, sizeof(m->u.caps.caps), rng); break;
    case CONV_HEARTBEAT: m->u.heartbeat.sent_ns = rng(); break;
    case CONV_LOG:
        m->u.log.level = (uint8_t)(rng() % (CONV_LOG_LEVEL_MAX + 1));
        rand_str(m->u.log.id, sizeof(m->u.log.id), rng);
        rand_str(m->u.log.text, rng() % 2 ? 80 : sizeof(m->u.log.text), rng);
        break;
    case CONV_NAME_CLAIM:
        m->u.name_claim.req = (uint32_t)rng();
        m->u.name_claim.addr = rng();
        rand_str(m->u.name_claim.name, sizeof(m->u.name_claim.name), rng);
        break;
    case CONV_NAME_REPLY:
        m->u.name_reply.req = (uint32_t)rng();
        m->u.name_reply.holder = rng();
        m->u.name_reply.rc = rng() % 2 ? 0 : -(int32_t)(rng() % 200);
        break;
    case CONV_NAME_RELEASE:
        m->u.name_release.addr = rng();
        rand_str(m->u.name_release.name, sizeof(m->u.name_release.name), rng);
        break;
    default: break;
    }
}

/* Appends frames of s's side to buf while they fit: first, then up to k
 * session messages of the given types; now and then the last one again (a
 * replay: it and everything after it must be refused). */
static size_t frames(struct conv_session *s, int first, const int *types, size_t ntypes,
                     unsigned k, uint8_t *buf, size_t at, size_t cap, uint64_t (*rng)(void))
{
    static struct conv_msg m;
    size_t last = 0;
    for (unsigned i = 0; i <= k; i++) {
        int t = i == 0 ? first : types[rng() % ntypes];
        if (t == 0)
            continue;
        if (last && rng() % 8 == 0 && last <= cap - at) {
            memmove(buf + at, buf + at - last, last);
            at += last;
            continue;
        }
        rand_msg(&m, t, rng);
        ssize_t n = conv_encode(s, &m, buf + at, cap - at);
        if (n < 0)
            break;
        at += (size_t)n;
        last = (size_t)n;
        if (t == CONV_LEAVE || t == CONV_REFUSE)
            break;
    }
    return at;
}

size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void))
{
    static const int from_l[] = {CONV_MEMBER, CONV_HEARTBEAT, CONV_NAME_REPLY};
    static const int from_m[] = {CONV_CAPS, CONV_HEARTBEAT, CONV_LOG, CONV_NAME_CLAIM,
                                 CONV_NAME_RELEASE, CONV_HEARTBEAT, CONV_LEAVE};
    static struct conv_msg m;
    setup();
    if (cap < 2)
        return 0;
    if (rng() % 4 == 0) { /* a body */
        buf[0] = 1;
        rand_msg(&m, 1 + (int)(rng() % (CONV_TYPES - 1)), rng);
        ssize_t n = conv_body_encode(&m, buf + 1, cap - 1);
        return n < 0 ? 1 : 1 + (size_t)n;
    }
    buf[0] = 0;
    unsigned k = (unsigned)(rng() % 5);
    struct conv_session s;
    switch (rng() % 6) {
    case 0: s = sess[L_START]; return frames(&s, CONV_HELLO, from_l, 1, 0, buf, 1, cap, rng);
    case 1: s = sess[L_START]; return frames(&s, CONV_REFUSE, from_l, 1, 0, buf, 1, cap, rng);
    case 2: s = sess[M_GOT_HELLO]; return frames(&s, CONV_JOIN, from_m, 1, 0, buf, 1, cap, rng);
    case 3: s = sess[L_JOINED]; return frames(&s, CONV_WELCOME, from_l, 1, k, buf, 1, cap, rng);
    case 4: s = sess[L_SESSION]; return frames(&s, 0, from_l, 3, k + 1, buf, 1, cap, rng);
    default: s = sess[M_SESSION]; return frames(&s, 0, from_m, 7, k + 1, buf, 1, cap, rng);
    }
}
