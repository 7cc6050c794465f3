/* SPDX-License-Identifier: MIT */
/* sysmsg_status.c — the Status payload (docs/protocol.md#status): written
 * by the engine (status.c), read by ts_status_decode and its accessors,
 * rendered by ts_status_json. Little-endian, position-independent; the
 * decoder checks every length and offset before any read. A later version
 * grows a header or a record (its length is in the payload) and a reader
 * of this one skips what it does not know. */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "le.h"
#include "err.h"
#include "sysmsg_wire.h"

/* ---- writing ---------------------------------------------------------- */

void status_actor_write(void *p, const ts_actor_status *s)
{
    unsigned char *b = p;
    memset(b, 0, STATUS_ACTOR_HDR);
    b[0] = TS_STATUS_ACTOR;
    b[1] = (unsigned char)s->state;
    put16(b + 2, STATUS_ACTOR_HDR);
    put32(b + 4, s->nchildren);
    put64(b + 8, s->addr);
    put64(b + 16, s->parent);
    memcpy(b + 24, s->image.b, 16);
    put64(b + 40, s->handled);
    put64(b + 48, s->restarts);
    put64(b + 56, s->mailbox);
    put32(b + 64, s->children_total);
    put32(b + 68, s->timers);
    put16(b + 72, (uint16_t)s->type_name_len);
    put16(b + 74, (uint16_t)s->global_name_len);
    unsigned char *t = b + STATUS_ACTOR_HDR + 8 * (size_t)s->nchildren;
    memcpy(t, s->type_name, s->type_name_len);
    t[s->type_name_len] = '\0';
    t += s->type_name_len + 1;
    if (s->global_name_len)
        memcpy(t, s->global_name, s->global_name_len);
    t[s->global_name_len] = '\0';
}

void status_child_put(void *p, uint32_t i, ts_addr child)
{
    put64((unsigned char *)p + STATUS_ACTOR_HDR + 8 * (size_t)i, child);
}

void status_node_write(void *p, const ts_status_node *n)
{
    unsigned char *b = p;
    memset(b, 0, STATUS_NODE_HDR);
    b[0] = TS_STATUS_NODE;
    b[1] = (unsigned char)n->base;
    put16(b + 2, STATUS_NODE_HDR);
    put16(b + 4, n->node_id);
    put16(b + 6, (uint16_t)n->shard);
    put16(b + 8, (uint16_t)n->nshards);
    put16(b + 10, (uint16_t)n->nlinks);
    put16(b + 12, STATUS_SHARD_REC);
    put16(b + 14, STATUS_LINK_REC);
    put64(b + 16, n->actors);
    put64(b + 24, n->dead_letters);
    put32(b + 32, (uint32_t)n->pid);
    put16(b + 36, (uint16_t)n->name_len);
    put16(b + 38, (uint16_t)n->caps_len);
    unsigned char *t = b + STATUS_NODE_HDR + STATUS_SHARD_REC * (size_t)n->nshards +
                       STATUS_LINK_REC * (size_t)n->nlinks;
    if (n->name_len)
        memcpy(t, n->name, n->name_len);
    t[n->name_len] = '\0';
    t += n->name_len + 1;
    if (n->caps_len)
        memcpy(t, n->caps, n->caps_len);
    t[n->caps_len] = '\0';
}

void status_shard_put(void *p, uint32_t i, const ts_status_shard *s)
{
    unsigned char *b = (unsigned char *)p + STATUS_NODE_HDR + STATUS_SHARD_REC * (size_t)i;
    put32(b, s->id);
    put32(b + 4, (uint32_t)s->core);
    put32(b + 8, (uint32_t)s->pid);
    put32(b + 12, s->process_restarts);
    const uint64_t v[11] = {s->actors, s->created, s->exited, s->handled, s->sent, s->restarts,
                            s->poisoned, s->dead_letters, s->timers, s->pending,
                            s->overflow_hwm};
    for (unsigned k = 0; k < 11; k++)
        put64(b + 16 + 8 * k, v[k]);
}

void status_link_put(void *p, uint32_t nshards, uint32_t i, const ts_status_link *l)
{
    unsigned char *b = (unsigned char *)p + STATUS_NODE_HDR + STATUS_SHARD_REC * (size_t)nshards +
                       STATUS_LINK_REC * (size_t)i;
    put32(b, l->shard);
    put16(b + 4, l->node);
    b[6] = l->up ? 1 : 0;
    b[7] = 0;
    const uint64_t v[8] = {l->frames_in,   l->frames_out, l->bytes_in,  l->bytes_out,
                           l->retransmits, l->reconnects, l->malformed, l->queued_bytes};
    for (unsigned k = 0; k < 8; k++)
        put64(b + 8 + 8 * k, v[k]);
}

/* ---- reading ---------------------------------------------------------- */

/* Two NUL-terminated texts of a and c bytes at t, with no NUL inside. */
static int texts_ok(const unsigned char *t, size_t a, size_t c)
{
    return memchr(t, 0, a + 1) == t + a && memchr(t + a + 1, 0, c + 1) == t + a + 1 + c;
}

static int decode_actor(const unsigned char *b, size_t len, ts_status *out)
{
    if (len < STATUS_ACTOR_HDR)
        return -EBADMSG;
    size_t hdr = get16(b + 2), n = get32(b + 4), total = get32(b + 64);
    size_t tl = get16(b + 72), gl = get16(b + 74);
    if (hdr < STATUS_ACTOR_HDR || hdr % 8 || hdr > len || b[1] < TS_ACTOR_LIVE ||
        b[1] > TS_ACTOR_EXITING || total < n)
        return -EBADMSG;
    /* n < 2^32, so 8 * n and the sum stay far below SIZE_MAX. */
    if (len != hdr + 8 * n + tl + 1 + gl + 1)
        return -EBADMSG;
    const unsigned char *t = b + hdr + 8 * n;
    if (!texts_ok(t, tl, gl))
        return -EBADMSG;
    ts_actor_status *a = &out->actor;
    a->state = (ts_actor_run_state)b[1];
    a->nchildren = (uint32_t)n;
    a->addr = get64(b + 8);
    a->parent = get64(b + 16);
    memcpy(a->image.b, b + 24, 16);
    a->handled = get64(b + 40);
    a->restarts = get64(b + 48);
    a->mailbox = get64(b + 56);
    a->children_total = (uint32_t)total;
    a->timers = get32(b + 68);
    a->type_name = (const char *)t;
    a->type_name_len = tl;
    a->global_name = (const char *)t + tl + 1;
    a->global_name_len = gl;
    out->children_ = b + hdr;
    return 0;
}

static int decode_node(const unsigned char *b, size_t len, ts_status *out)
{
    if (len < STATUS_NODE_HDR)
        return -EBADMSG;
    size_t hdr = get16(b + 2), ns = get16(b + 8), nl = get16(b + 10);
    size_t ss = get16(b + 12), ls = get16(b + 14), tl = get16(b + 36), cl = get16(b + 38);
    if (hdr < STATUS_NODE_HDR || hdr % 8 || ss < STATUS_SHARD_REC || ss % 8 ||
        ls < STATUS_LINK_REC || ls % 8 || b[1] > TS_BASE_MULTIPROC)
        return -EBADMSG;
    /* Each factor is below 2^16: no overflow. */
    if (len != hdr + ns * ss + nl * ls + tl + 1 + cl + 1)
        return -EBADMSG;
    const unsigned char *t = b + hdr + ns * ss + nl * ls;
    if (!texts_ok(t, tl, cl))
        return -EBADMSG;
    ts_status_node *n = &out->node;
    n->base = (ts_base)b[1];
    n->node_id = get16(b + 4);
    n->shard = get16(b + 6);
    n->nshards = (uint32_t)ns;
    n->nlinks = (uint32_t)nl;
    n->actors = get64(b + 16);
    n->dead_letters = get64(b + 24);
    n->pid = (int32_t)get32(b + 32);
    n->name = (const char *)t;
    n->name_len = tl;
    n->caps = (const char *)t + tl + 1;
    n->caps_len = cl;
    out->shards_ = b + hdr;
    out->links_ = b + hdr + ns * ss;
    out->shard_stride_ = (uint32_t)ss;
    out->link_stride_ = (uint32_t)ls;
    return 0;
}

int ts_status_decode(const ts_msg *m, ts_status *out)
{
    if (!m || !out || m->type != TS_MSG_STATUS)
        return -EINVAL;
    const unsigned char *b = ts_msg_data(m);
    ts_status s;
    memset(&s, 0, sizeof(s));
    int rc = m->len < 1                   ? -EBADMSG
             : b[0] == TS_STATUS_ACTOR ? decode_actor(b, m->len, &s)
             : b[0] == TS_STATUS_NODE  ? decode_node(b, m->len, &s)
                                       : -EBADMSG;
    if (rc < 0)
        return rc;
    s.kind = (ts_status_kind)b[0];
    *out = s;
    return 0;
}

ts_addr ts_status_child_at(const ts_status *s, uint32_t i)
{
    if (!s || s->kind != TS_STATUS_ACTOR || !s->children_ || i >= s->actor.nchildren)
        return TS_ADDR_NONE;
    return get64(s->children_ + 8 * (size_t)i);
}

int ts_status_shard_at(const ts_status *s, uint32_t i, ts_status_shard *out)
{
    if (!s || !out || s->kind != TS_STATUS_NODE || !s->shards_ || i >= s->node.nshards)
        return -EINVAL;
    const unsigned char *b = s->shards_ + (size_t)s->shard_stride_ * i;
    out->id = get32(b);
    out->core = (int32_t)get32(b + 4);
    out->pid = (int32_t)get32(b + 8);
    out->process_restarts = get32(b + 12);
    uint64_t *v[11] = {&out->actors,   &out->created,  &out->exited,       &out->handled,
                       &out->sent,     &out->restarts, &out->poisoned,     &out->dead_letters,
                       &out->timers,   &out->pending,  &out->overflow_hwm};
    for (unsigned k = 0; k < 11; k++)
        *v[k] = get64(b + 16 + 8 * k);
    return 0;
}

int ts_status_link_at(const ts_status *s, uint32_t i, ts_status_link *out)
{
    if (!s || !out || s->kind != TS_STATUS_NODE || !s->links_ || i >= s->node.nlinks)
        return -EINVAL;
    const unsigned char *b = s->links_ + (size_t)s->link_stride_ * i;
    out->shard = get32(b);
    out->node = get16(b + 4);
    out->up = b[6] ? 1 : 0;
    out->zero = 0;
    uint64_t *v[8] = {&out->frames_in,   &out->frames_out, &out->bytes_in,  &out->bytes_out,
                      &out->retransmits, &out->reconnects, &out->malformed, &out->queued_bytes};
    for (unsigned k = 0; k < 8; k++)
        *v[k] = get64(b + 8 + 8 * k);
    return 0;
}

/* ---- JSON ------------------------------------------------------------- */

/* Text going into buf, cut at len - 1, counted whole (as snprintf). */
struct jout {
    char *buf;
    size_t len, used; /* used: of the whole text, may pass len */
};

static void jraw(struct jout *j, const char *s, size_t n)
{
    if (j->used < j->len) {
        size_t room = j->len - 1 - j->used; /* one for the NUL */
        memcpy(j->buf + j->used, s, n < room ? n : room);
    }
    j->used += n;
}

static void jputs(struct jout *j, const char *s)
{
    jraw(j, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void jprintf(struct jout *j, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        jraw(j, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string: quotes, backslashes and control characters escaped; other
 * bytes (UTF-8 included) as they are. */
static void jstr(struct jout *j, const char *s, size_t n)
{
    jraw(j, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && c >= 0x20) {
            run++;
            continue;
        }
        jraw(j, s + i - run, run);
        run = 0;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            jraw(j, e, 2);
        } else {
            jprintf(j, "\\u%04x", c);
        }
    }
    jraw(j, s + n - run, run);
    jraw(j, "\"", 1);
}

static void jaddr(struct jout *j, ts_addr a)
{
    char text[48];
    ts_addr_format(a, text, sizeof(text));
    jprintf(j, "\"%s\"", text);
}

static bool image_zero(const ts_image_id *id)
{
    for (unsigned i = 0; i < sizeof(id->b); i++)
        if (id->b[i])
            return false;
    return true;
}

static void json_actor(struct jout *j, const ts_status *s)
{
    const ts_actor_status *a = &s->actor;
    jputs(j, "{\"kind\":\"actor\",\"addr\":");
    jaddr(j, a->addr);
    jputs(j, ",\"parent\":");
    if (a->parent)
        jaddr(j, a->parent);
    else
        jputs(j, "null");
    jprintf(j, ",\"state\":\"%s\",\"type\":", a->state == TS_ACTOR_LIVE ? "live" : "exiting");
    jstr(j, a->type_name, a->type_name_len);
    jputs(j, ",\"global_name\":");
    if (a->global_name_len)
        jstr(j, a->global_name, a->global_name_len);
    else
        jputs(j, "null");
    jputs(j, ",\"image\":");
    if (image_zero(&a->image)) {
        jputs(j, "null");
    } else {
        char hex[33];
        for (unsigned i = 0; i < 16; i++)
            snprintf(hex + 2 * i, 3, "%02x", a->image.b[i]);
        jprintf(j, "\"%s\"", hex);
    }
    jprintf(j,
            ",\"mailbox\":%llu,\"handled\":%llu,\"restarts\":%llu,\"timers\":%u,"
            "\"children_total\":%u,\"children\":[",
            (unsigned long long)a->mailbox, (unsigned long long)a->handled,
            (unsigned long long)a->restarts, a->timers, a->children_total);
    for (uint32_t i = 0; i < a->nchildren; i++) {
        if (i)
            jraw(j, ",", 1);
        jaddr(j, ts_status_child_at(s, i));
    }
    jputs(j, "]}");
}

static void json_node(struct jout *j, const ts_status *s)
{
    const ts_status_node *n = &s->node;
    jprintf(j, "{\"kind\":\"node\",\"node_id\":%u,\"name\":", n->node_id);
    if (n->name_len)
        jstr(j, n->name, n->name_len);
    else
        jputs(j, "null");
    jprintf(j,
            ",\"base\":\"%s\",\"pid\":%d,\"shard\":%u,\"actors\":%llu,\"dead_letters\":%llu,"
            "\"caps\":",
            ts_base_name(n->base), n->pid, n->shard, (unsigned long long)n->actors,
            (unsigned long long)n->dead_letters);
    jstr(j, n->caps, n->caps_len);
    jputs(j, ",\"shards\":[");
    for (uint32_t i = 0; i < n->nshards; i++) {
        ts_status_shard sh;
        ts_status_shard_at(s, i, &sh);
        jprintf(j, "%s{\"id\":%u,\"core\":%d,\"pid\":%d,\"process_restarts\":%u,", i ? "," : "",
                sh.id, sh.core, sh.pid, sh.process_restarts);
        jprintf(j, "\"actors\":%llu,\"created\":%llu,\"exited\":%llu,\"handled\":%llu,",
                (unsigned long long)sh.actors, (unsigned long long)sh.created,
                (unsigned long long)sh.exited, (unsigned long long)sh.handled);
        jprintf(j, "\"sent\":%llu,\"restarts\":%llu,\"poisoned\":%llu,\"dead_letters\":%llu,",
                (unsigned long long)sh.sent, (unsigned long long)sh.restarts,
                (unsigned long long)sh.poisoned, (unsigned long long)sh.dead_letters);
        jprintf(j, "\"timers\":%llu,\"pending\":%llu,\"overflow_hwm\":%llu}",
                (unsigned long long)sh.timers, (unsigned long long)sh.pending,
                (unsigned long long)sh.overflow_hwm);
    }
    jputs(j, "],\"links\":[");
    for (uint32_t i = 0; i < n->nlinks; i++) {
        ts_status_link l;
        ts_status_link_at(s, i, &l);
        jprintf(j, "%s{\"shard\":%u,\"node\":%u,\"up\":%s,", i ? "," : "", l.shard, l.node,
                l.up ? "true" : "false");
        jprintf(j, "\"frames_in\":%llu,\"frames_out\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,",
                (unsigned long long)l.frames_in, (unsigned long long)l.frames_out,
                (unsigned long long)l.bytes_in, (unsigned long long)l.bytes_out);
        jprintf(j,
                "\"retransmits\":%llu,\"reconnects\":%llu,\"malformed\":%llu,"
                "\"queued_bytes\":%llu}",
                (unsigned long long)l.retransmits, (unsigned long long)l.reconnects,
                (unsigned long long)l.malformed, (unsigned long long)l.queued_bytes);
    }
    jputs(j, "]}");
}

int ts_status_json(const ts_msg *status, char *buf, size_t len)
{
    if (!status || status->type != TS_MSG_STATUS || (!buf && len))
        return err_set(-EINVAL, "ts_status_json: %s",
                       !status ? "NULL message" : status->type != TS_MSG_STATUS
                                                      ? "not a ts.Status message"
                                                      : "NULL buffer");
    ts_status s;
    int rc = ts_status_decode(status, &s);
    if (rc < 0)
        return err_set(rc, "ts_status_json: the Status payload is malformed");
    struct jout j = {.buf = buf, .len = len};
    if (s.kind == TS_STATUS_ACTOR)
        json_actor(&j, &s);
    else
        json_node(&j, &s);
    if (len)
        buf[j.used < len ? j.used : len - 1] = '\0';
    if (j.used > INT_MAX)
        return err_set(-EOVERFLOW, "ts_status_json: the text would be %zu bytes", j.used);
    return (int)j.used;
}
