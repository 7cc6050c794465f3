/* SPDX-License-Identifier: MIT */
/* sysmsg.c — system message payloads: little-endian, position-independent,
 * every length checked before use. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "le.h"
#include "sysmsg_wire.h"

void child_exited_write(void *p, ts_addr child, int32_t status)
{
    unsigned char *b = p;
    put64(b, child);
    put32(b + 8, (uint32_t)status);
    put32(b + 12, 0);
}

void poison_write(void *p, const ts_msg *orig, int32_t reason, const char *text)
{
    unsigned char *b = p;
    size_t text_len = strlen(text);
    put64(b, orig->dst);
    put64(b + 8, orig->type);
    put32(b + 16, (uint32_t)reason);
    put32(b + 20, orig->len);
    put32(b + 24, (uint32_t)text_len);
    put32(b + 28, 0);
    memcpy(b + POISON_HDR, ts_msg_data(orig), orig->len);
    memset(b + POISON_HDR + orig->len, 0, pad8(orig->len) - orig->len);
    memcpy(b + POISON_HDR + pad8(orig->len), text, text_len + 1);
}

void dead_letter_write(void *p, const ts_msg *orig)
{
    unsigned char *b = p;
    put64(b, orig->dst);
    put64(b + 8, orig->src);
    put64(b + 16, orig->type);
    put32(b + 24, orig->len);
    put32(b + 28, 0);
    memcpy(b + DEAD_LETTER_HDR, ts_msg_data(orig), orig->len);
}

void conv_update_write(void *p, uint16_t node, ts_convention_event ev, const char *name,
                       const char *caps)
{
    unsigned char *b = p;
    size_t nl = strlen(name), cl = strlen(caps);
    put16(b, node);
    b[2] = (unsigned char)ev;
    b[3] = 0;
    put16(b + 4, (uint16_t)nl);
    put16(b + 6, (uint16_t)cl);
    memcpy(b + CONV_UPDATE_HDR, name, nl + 1);
    memcpy(b + CONV_UPDATE_HDR + nl + 1, caps, cl + 1);
}

static int check(const ts_msg *m, const void *out, uint64_t type)
{
    if (!m || !out || m->type != type)
        return -EINVAL;
    return 0;
}

int ts_child_exited_decode(const ts_msg *m, ts_child_exited *out)
{
    if (check(m, out, TS_MSG_CHILD_EXITED))
        return -EINVAL;
    const unsigned char *b = ts_msg_data(m);
    if (m->len != CHILD_EXITED_SIZE)
        return -EBADMSG;
    out->child = get64(b);
    out->status = (int32_t)get32(b + 8);
    return 0;
}

int ts_poison_decode(const ts_msg *m, ts_poison *out)
{
    if (check(m, out, TS_MSG_POISON))
        return -EINVAL;
    const unsigned char *b = ts_msg_data(m);
    if (m->len < POISON_HDR)
        return -EBADMSG;
    size_t orig_len = get32(b + 20), text_len = get32(b + 24);
    size_t room = m->len - POISON_HDR;
    if (orig_len > room || pad8(orig_len) > room || room - pad8(orig_len) != text_len + 1)
        return -EBADMSG;
    const char *text = (const char *)b + POISON_HDR + pad8(orig_len);
    if (text[text_len] != '\0')
        return -EBADMSG;
    out->original_dst = get64(b);
    out->original_type = get64(b + 8);
    out->reason = (int32_t)get32(b + 16);
    out->original = b + POISON_HDR;
    out->original_len = orig_len;
    out->reason_text = text;
    out->reason_text_len = text_len;
    return 0;
}

int ts_dead_letter_decode(const ts_msg *m, ts_dead_letter *out)
{
    if (check(m, out, TS_MSG_DEAD_LETTER))
        return -EINVAL;
    const unsigned char *b = ts_msg_data(m);
    if (m->len < DEAD_LETTER_HDR || get32(b + 24) != m->len - DEAD_LETTER_HDR)
        return -EBADMSG;
    out->dst = get64(b);
    out->src = get64(b + 8);
    out->type = get64(b + 16);
    out->original = b + DEAD_LETTER_HDR;
    out->original_len = m->len - DEAD_LETTER_HDR;
    return 0;
}

int ts_convention_update_decode(const ts_msg *m, ts_convention_update *out)
{
    if (check(m, out, TS_MSG_CONVENTION_UPDATE))
        return -EINVAL;
    const unsigned char *b = ts_msg_data(m);
    if (m->len < CONV_UPDATE_HDR)
        return -EBADMSG;
    size_t nl = get16(b + 4), cl = get16(b + 6);
    if (b[3] || b[2] < TS_CONV_JOINED || b[2] > TS_CONV_CAPS ||
        m->len != conv_update_size(nl, cl))
        return -EBADMSG;
    const char *name = (const char *)b + CONV_UPDATE_HDR, *caps = name + nl + 1;
    if (memchr(name, 0, nl + 1) != name + nl || memchr(caps, 0, cl + 1) != caps + cl)
        return -EBADMSG;
    out->node = get16(b);
    out->event = (ts_convention_event)b[2];
    out->name = name;
    out->name_len = nl;
    out->caps = caps;
    out->caps_len = cl;
    return 0;
}

const char *ts_sysmsg_name(uint64_t type)
{
    switch (type) {
    case TS_MSG_EXIT_REQUEST: return "ts.ExitRequest";
    case TS_MSG_CHILD_EXITED: return "ts.ChildExited";
    case TS_MSG_POISON: return "ts.Poison";
    case TS_MSG_WAKEUP: return "ts.Wakeup";
    case TS_MSG_DEAD_LETTER: return "ts.DeadLetter";
    case TS_MSG_CONVENTION_UPDATE: return "ts.ConventionUpdate";
    case TS_MSG_STATUS_REQUEST: return "ts.StatusRequest";
    case TS_MSG_STATUS: return "ts.Status";
    default: return NULL;
    }
}
