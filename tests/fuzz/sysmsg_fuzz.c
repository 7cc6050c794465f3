/* SPDX-License-Identifier: MIT */
/* sysmsg_fuzz.c — fuzz target for the system message decoders. The first
 * input byte picks the decoder, the rest is the payload. A decoder must
 * either refuse the payload or return views that lie inside it. A Status
 * is also rendered as JSON (ts_status_json), whole and cut short. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/sysmsg.h>

#include "fuzz.h"
#include "sysmsg_wire.h"

static int inside(const void *p, size_t len, const unsigned char *lo, size_t span)
{
    const unsigned char *c = p;
    return c >= lo && len <= span && c + len <= lo + span;
}

/* A Status: decoded, every list read through its accessor, rendered. */
static void check_status(const ts_msg *m)
{
    const unsigned char *lo = ts_msg_data(m);
    ts_status st;
    int rc = ts_status_decode(m, &st);
    static char small[64];
    int cut = ts_status_json(m, small, sizeof(small));
    int whole = ts_status_json(m, NULL, 0);
    size_t shown = cut < (int)sizeof(small) ? (size_t)cut : sizeof(small) - 1;
    if ((rc == 0) != (whole >= 0) || cut != whole || (cut >= 0 && strlen(small) != shown))
        __builtin_trap();
    if (rc != 0)
        return;
    if (whole >= 0 && whole < (1 << 20)) {
        char *buf = malloc((size_t)whole + 1);
        if (buf && (ts_status_json(m, buf, (size_t)whole + 1) != whole ||
                    strlen(buf) != (size_t)whole || buf[0] != '{' || buf[whole - 1] != '}'))
            __builtin_trap();
        free(buf);
    }
    if (st.kind == TS_STATUS_ACTOR) {
        const ts_actor_status *a = &st.actor;
        if (!inside(a->type_name, a->type_name_len + 1, lo, m->len) ||
            !inside(a->global_name, a->global_name_len + 1, lo, m->len) ||
            strlen(a->type_name) != a->type_name_len ||
            strlen(a->global_name) != a->global_name_len || a->nchildren > a->children_total ||
            !inside(st.children_, 8 * (size_t)a->nchildren, lo, m->len))
            __builtin_trap();
        for (uint32_t i = 0; i < a->nchildren; i++)
            (void)ts_status_child_at(&st, i);
        if (ts_status_child_at(&st, a->nchildren) != TS_ADDR_NONE)
            __builtin_trap();
        return;
    }
    const ts_status_node *n = &st.node;
    if (st.kind != TS_STATUS_NODE || !inside(n->name, n->name_len + 1, lo, m->len) ||
        !inside(n->caps, n->caps_len + 1, lo, m->len) || strlen(n->name) != n->name_len ||
        !inside(st.shards_, (size_t)st.shard_stride_ * n->nshards, lo, m->len) ||
        !inside(st.links_, (size_t)st.link_stride_ * n->nlinks, lo, m->len))
        __builtin_trap();
    ts_status_shard sh;
    ts_status_link ln;
    for (uint32_t i = 0; i < n->nshards; i++)
        if (ts_status_shard_at(&st, i, &sh) != 0)
            __builtin_trap();
    for (uint32_t i = 0; i < n->nlinks; i++)
        if (ts_status_link_at(&st, i, &ln) != 0)
            __builtin_trap();
    if (ts_status_shard_at(&st, n->nshards, &sh) != -EINVAL ||
        ts_status_link_at(&st, n->nlinks, &ln) != -EINVAL)
        __builtin_trap();
}

static void check(const ts_msg *m)
{
    const unsigned char *lo = ts_msg_data(m);
    ts_child_exited ce;
    ts_poison ps;
    ts_dead_letter dl;
    ts_convention_update cu;
    switch (m->type) {
    case TS_MSG_STATUS:
        check_status(m);
        break;
    case TS_MSG_CONVENTION_UPDATE:
        if (ts_convention_update_decode(m, &cu) == 0 &&
            (!inside(cu.name, cu.name_len + 1, lo, m->len) ||
             !inside(cu.caps, cu.caps_len + 1, lo, m->len) || cu.name[cu.name_len] ||
             cu.caps[cu.caps_len] || strlen(cu.name) != cu.name_len ||
             cu.event < TS_CONV_JOINED || cu.event > TS_CONV_CAPS ||
             m->len != conv_update_size(cu.name_len, cu.caps_len)))
            __builtin_trap();
        break;
    case TS_MSG_CHILD_EXITED:
        if (ts_child_exited_decode(m, &ce) == 0 && m->len != 16)
            __builtin_trap();
        break;
    case TS_MSG_POISON:
        if (ts_poison_decode(m, &ps) == 0 &&
            (!inside(ps.original, ps.original_len, lo, m->len) ||
             !inside(ps.reason_text, ps.reason_text_len + 1, lo, m->len) ||
             ps.reason_text[ps.reason_text_len] != '\0'))
            __builtin_trap();
        break;
    default:
        if (ts_dead_letter_decode(m, &dl) == 0 && !inside(dl.original, dl.original_len, lo, m->len))
            __builtin_trap();
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t types[] = {TS_MSG_CHILD_EXITED, TS_MSG_POISON, TS_MSG_DEAD_LETTER,
                                     TS_MSG_CONVENTION_UPDATE, TS_MSG_STATUS};
    if (size < 1)
        return 0;
    /* Exactly sized, so ASan sees any read past the payload. */
    ts_msg *m = malloc(sizeof(*m) + size - 1);
    if (!m)
        return 0;
    memset(m, 0, sizeof(*m));
    m->type = types[data[0] % 5];
    m->len = (uint32_t)(size - 1);
    memcpy(m + 1, data + 1, size - 1);
    check(m);
    free(m);
    return 0;
}

/* A valid payload for a random decoder: selector byte, then the payload. */
size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void))
{
    static _Alignas(8) unsigned char orig_store[sizeof(ts_msg) + 64];
    ts_msg *orig = (ts_msg *)(void *)orig_store;
    unsigned sel = (unsigned)(rng() % 5);
    orig->dst = rng();
    orig->src = rng();
    orig->type = rng();
    orig->len = (uint32_t)(rng() % 64);
    memset(orig + 1, 'a', orig->len);
    if (cap < 1 + DEAD_LETTER_HDR + 64 + 256 || cap < 1 + status_node_size(3, 4, 20, 40))
        return 0;
    buf[0] = (uint8_t)sel;
    if (sel == 4 && rng() % 2) { /* an actor's Status */
        static const char *const types[] = {"t", "test.Worker", "q\"uo\\te\x01"};
        static const char *const names[] = {"", "global"};
        ts_actor_status a = {.addr = rng(), .parent = rng() % 2 ? rng() : 0,
                             .state = (ts_actor_run_state)(1 + rng() % 2),
                             .mailbox = rng(), .handled = rng(), .restarts = rng(),
                             .timers = (uint32_t)rng()};
        a.type_name = types[rng() % 3];
        a.type_name_len = strlen(a.type_name);
        a.global_name = names[rng() % 2];
        a.global_name_len = strlen(a.global_name);
        a.nchildren = (uint32_t)(rng() % 5);
        a.children_total = a.nchildren + (uint32_t)(rng() % 2);
        if (rng() % 2)
            a.image.b[rng() % 16] = (uint8_t)rng();
        status_actor_write(buf + 1, &a);
        for (uint32_t i = 0; i < a.nchildren; i++)
            status_child_put(buf + 1, i, rng());
        return 1 + status_actor_size(a.nchildren, a.type_name_len, a.global_name_len);
    }
    if (sel == 4) { /* a node's */
        ts_status_node n = {.node_id = (uint16_t)rng(), .base = (ts_base)(rng() % 3),
                            .shard = (uint32_t)(rng() % 3), .pid = (int32_t)rng(),
                            .nshards = (uint32_t)(rng() % 4), .nlinks = (uint32_t)(rng() % 5),
                            .actors = rng(), .dead_letters = rng(), .name = "node-name",
                            .caps = "gpu=true,region=eu"};
        n.name_len = rng() % 2 ? strlen(n.name) : 0;
        n.caps_len = strlen(n.caps);
        status_node_write(buf + 1, &n);
        for (uint32_t i = 0; i < n.nshards; i++) {
            ts_status_shard s = {.id = i, .core = (int32_t)rng(), .pid = (int32_t)rng(),
                                 .actors = rng(), .handled = rng(), .overflow_hwm = rng()};
            status_shard_put(buf + 1, i, &s);
        }
        for (uint32_t i = 0; i < n.nlinks; i++) {
            ts_status_link l = {.shard = i, .node = (uint16_t)rng(), .up = (uint8_t)(rng() % 2),
                                .frames_in = rng(), .queued_bytes = rng()};
            status_link_put(buf + 1, n.nshards, i, &l);
        }
        return 1 + status_node_size(n.nshards, n.nlinks, n.name_len, n.caps_len);
    }
    if (sel == 0) {
        child_exited_write(buf + 1, rng(), (int32_t)rng());
        return 1 + CHILD_EXITED_SIZE;
    }
    if (sel == 1) {
        poison_write(buf + 1, orig, -EIO, "fuzz reason");
        return 1 + poison_size(orig->len, strlen("fuzz reason"));
    }
    if (sel == 3) {
        static const char *const names[] = {"", "n1", "a-rather-long-node-name"};
        static const char *const caps[] = {"", "gpu=true", "gpu=true,region=eu,mem_gb=64"};
        const char *n = names[rng() % 3], *c = caps[rng() % 3];
        conv_update_write(buf + 1, (uint16_t)rng(), (ts_convention_event)(1 + rng() % 3), n, c);
        return 1 + conv_update_size(strlen(n), strlen(c));
    }
    dead_letter_write(buf + 1, orig);
    return 1 + DEAD_LETTER_HDR + orig->len;
}
