/* SPDX-License-Identifier: MIT */
/*
 * start.h — the payload of a Start, the message that makes an actor in the
 * slot it is addressed to (design §4): who the parent is, the type's name,
 * the global name if any, and init's argument. Written by the creating
 * shard, read where the actor will live, which may be another node: the
 * reader trusts nothing in it.
 *
 *   uint64 parent | uint32 arg_len | uint16 type_len | uint16 name_len |
 *   uint16 reqs_len | uint16 flags | uint32 zero |
 *   image id (16 bytes, when flags bit 0 is set: a type of that image) |
 *   type (type_len bytes, NUL last) | name (name_len bytes, NUL last; none
 *   when 0) | reqs (the creation's requirements, likewise) | arg (arg_len
 *   bytes)
 *
 * Little-endian, as every thespis wire format.
 */
#ifndef TS_ENGINE_START_H
#define TS_ENGINE_START_H

#include <stddef.h>
#include <stdint.h>

#include <thespis/thespis.h>

#define START_HDR 24u
#define START_IMAGE 16u

/* A Start as read: pointers into the payload it was read from. */
struct start_view {
    ts_addr parent;
    ts_image_id image; /* all zero: the program's type */
    const char *type; /* NUL-terminated, not empty */
    const char *name; /* NUL-terminated, or NULL: no global name */
    const char *reqs; /* NUL-terminated, or NULL: no requirements of its own */
    const void *arg;
    size_t arg_len;
};

/* The payload size of a Start for type and opts (its global name,
 * requirements and argument), or 0 when a text is 64 KiB or longer. */
size_t start_size(const char *type, const ts_create_opts *opts);
/* Writes it into out (start_size bytes). */
void start_write(unsigned char *out, ts_addr parent, const char *type, const ts_create_opts *opts);
/* Reads a payload of len bytes: 0, or -EBADMSG when the lengths do not add
 * up to len, the type is empty, a name or requirement text is not one
 * NUL-terminated string, or a reserved field or flag is not 0. */
int start_read(const void *p, size_t len, struct start_view *out);
/* Whether a payload of len bytes says it names a code image (its flags;
 * nothing else is read or checked). */
bool start_names_image(const void *p, size_t len);
/* The parent a payload of len bytes names, even one start_read refuses;
 * TS_ADDR_NONE when it is too short to say. */
ts_addr start_parent(const void *p, size_t len);

#endif
