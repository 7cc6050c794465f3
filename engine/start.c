/* SPDX-License-Identifier: MIT */
/* start.c — a Start's payload, written and read (start.h). */
#include "start.h"

#include <errno.h>
#include <string.h>

struct start_hdr {
    uint64_t parent;
    uint32_t arg_len;
    uint16_t type_len, name_len; /* with their NULs */
};
_Static_assert(sizeof(struct start_hdr) == START_HDR, "the Start header is 16 bytes");

size_t start_size(const char *type, const ts_create_opts *opts)
{
    size_t type_len = strlen(type) + 1;
    size_t name_len = opts && opts->global_name ? strlen(opts->global_name) + 1 : 0;
    if (type_len > UINT16_MAX || name_len > UINT16_MAX)
        return 0;
    return START_HDR + type_len + name_len + (opts ? opts->arg_len : 0);
}

void start_write(unsigned char *out, ts_addr parent, const char *type, const ts_create_opts *opts)
{
    const char *name = opts && opts->global_name ? opts->global_name : NULL;
    struct start_hdr h = {.parent = parent, .arg_len = opts ? (uint32_t)opts->arg_len : 0,
                          .type_len = (uint16_t)(strlen(type) + 1),
                          .name_len = (uint16_t)(name ? strlen(name) + 1 : 0)};
    memcpy(out, &h, sizeof(h));
    out += sizeof(h);
    memcpy(out, type, h.type_len);
    out += h.type_len;
    if (h.name_len)
        memcpy(out, name, h.name_len);
    if (h.arg_len)
        memcpy(out + h.name_len, opts->arg, h.arg_len);
}

/* One string of n bytes whose only NUL is its last byte. */
static int one_string(const char *s, size_t n)
{
    return n && memchr(s, 0, n) == s + n - 1;
}

int start_read(const void *p, size_t len, struct start_view *out)
{
    struct start_hdr h;
    if (len < sizeof(h))
        return -EBADMSG;
    memcpy(&h, p, sizeof(h));
    if ((uint64_t)h.type_len + h.name_len + h.arg_len != len - sizeof(h))
        return -EBADMSG;
    const char *type = (const char *)p + sizeof(h);
    if (h.type_len < 2 || !one_string(type, h.type_len) || (h.name_len && !one_string(type + h.type_len, h.name_len)))
        return -EBADMSG;
    *out = (struct start_view){.parent = h.parent, .type = type,
                               .name = h.name_len ? type + h.type_len : NULL,
                               .arg = type + h.type_len + h.name_len, .arg_len = h.arg_len};
    return 0;
}

ts_addr start_parent(const void *p, size_t len)
{
    ts_addr parent;
    if (len < sizeof(parent))
        return TS_ADDR_NONE;
    memcpy(&parent, p, sizeof(parent));
    return parent;
}
