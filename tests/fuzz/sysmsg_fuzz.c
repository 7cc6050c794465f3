/* SPDX-License-Identifier: MIT */
/* sysmsg_fuzz.c — fuzz target for the system message decoders. The first
 * input byte picks the decoder, the rest is the payload. A decoder must
 * either refuse the payload or return views that lie inside it. */
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

static void check(const ts_msg *m)
{
    const unsigned char *lo = ts_msg_data(m);
    ts_child_exited ce;
    ts_poison ps;
    ts_dead_letter dl;
    ts_convention_update cu;
    switch (m->type) {
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
                                     TS_MSG_CONVENTION_UPDATE};
    if (size < 1)
        return 0;
    /* Exactly sized, so ASan sees any read past the payload. */
    ts_msg *m = malloc(sizeof(*m) + size - 1);
    if (!m)
        return 0;
    memset(m, 0, sizeof(*m));
    m->type = types[data[0] % 4];
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
    unsigned sel = (unsigned)(rng() % 4);
    orig->dst = rng();
    orig->src = rng();
    orig->type = rng();
    orig->len = (uint32_t)(rng() % 64);
    memset(orig + 1, 'a', orig->len);
    if (cap < 1 + DEAD_LETTER_HDR + 64 + 256)
        return 0;
    buf[0] = (uint8_t)sel;
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
