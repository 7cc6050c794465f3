/* SPDX-License-Identifier: MIT */
/* start.c — a Start's payload, written and read (start.h). */
#include "start.h"

#include <thespis/image.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

struct start_hdr {
    uint64_t parent;
    uint32_t arg_len;
    uint16_t type_len, name_len; /* with their NULs */
    uint16_t reqs_len, flags; /* START_F_* */
    uint32_t zero2;
};

#define START_F_IMAGE 1u /* the image id (16 bytes) follows the header */
_Static_assert(sizeof(struct start_hdr) == START_HDR, "the Start header is 24 bytes");

static size_t text_len(const char *s)
{
    return s && *s ? strlen(s) + 1 : 0;
}

static bool has_image(const ts_create_opts *opts)
{
    return opts && opts->image && !ts_image_id_is_zero(opts->image);
}

size_t start_size(const char *type, const ts_create_opts *opts)
{
    size_t type_len = strlen(type) + 1;
    size_t name_len = opts && opts->global_name ? strlen(opts->global_name) + 1 : 0;
    size_t reqs_len = opts ? text_len(opts->requirements) : 0;
    if (type_len > UINT16_MAX || name_len > UINT16_MAX || reqs_len > UINT16_MAX)
        return 0;
    return START_HDR + (has_image(opts) ? START_IMAGE : 0) + type_len + name_len + reqs_len +
           (opts ? opts->arg_len : 0);
}

void start_write(unsigned char *out, ts_addr parent, const char *type, const ts_create_opts *opts)
{
    struct start_hdr h = {.parent = parent, .arg_len = opts ? (uint32_t)opts->arg_len : 0,
                          .type_len = (uint16_t)(strlen(type) + 1),
                          .name_len = (uint16_t)(opts && opts->global_name ? strlen(opts->global_name) + 1 : 0),
                          .reqs_len = (uint16_t)(opts ? text_len(opts->requirements) : 0),
                          .flags = has_image(opts) ? START_F_IMAGE : 0};
    memcpy(out, &h, sizeof(h));
    out += sizeof(h);
    if (h.flags & START_F_IMAGE) {
        memcpy(out, opts->image->b, START_IMAGE);
        out += START_IMAGE;
    }
    memcpy(out, type, h.type_len);
    out += h.type_len;
    if (h.name_len)
        memcpy(out, opts->global_name, h.name_len);
    out += h.name_len;
    if (h.reqs_len)
        memcpy(out, opts->requirements, h.reqs_len);
    out += h.reqs_len;
    if (h.arg_len)
        memcpy(out, opts->arg, h.arg_len);
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
    size_t image = h.flags & START_F_IMAGE ? START_IMAGE : 0;
    if ((h.flags & ~START_F_IMAGE) || h.zero2 ||
        (uint64_t)image + h.type_len + h.name_len + h.reqs_len + h.arg_len != len - sizeof(h))
        return -EBADMSG;
    const char *type = (const char *)p + sizeof(h) + image;
    const char *name = type + h.type_len, *reqs = name + h.name_len;
    if (h.type_len < 2 || !one_string(type, h.type_len) ||
        (h.name_len && !one_string(name, h.name_len)) ||
        (h.reqs_len && (h.reqs_len < 2 || !one_string(reqs, h.reqs_len))))
        return -EBADMSG;
    *out = (struct start_view){.parent = h.parent, .type = type,
                               .name = h.name_len ? name : NULL,
                               .reqs = h.reqs_len ? reqs : NULL,
                               .arg = reqs + h.reqs_len, .arg_len = h.arg_len};
    memset(&out->image, 0, sizeof(out->image));
    if (image)
        memcpy(out->image.b, (const char *)p + sizeof(h), START_IMAGE);
    return 0;
}

bool start_names_image(const void *p, size_t len)
{
    struct start_hdr h;
    if (len < sizeof(h))
        return false;
    memcpy(&h, p, sizeof(h));
    return (h.flags & START_F_IMAGE) != 0;
}

ts_addr start_parent(const void *p, size_t len)
{
    ts_addr parent;
    if (len < sizeof(parent))
        return TS_ADDR_NONE;
    memcpy(&parent, p, sizeof(parent));
    return parent;
}
