/* SPDX-License-Identifier: MIT */
/*
 * blob.h — messages larger than a ring record between processes (the
 * multiproc base, design §6). Each such message is written into a file of
 * its own in /dev/shm, "thespis.node.<name>.blob.<id>", and the ring (or an
 * overflow) carries a reference message in its place: envelope flag
 * MSGF_BLOBREF, payload struct blob_ref. The consumer maps the file, handles
 * the message in place, and removes the file once the reference is released,
 * so a consumer that crashes finds it again with the redelivered reference.
 * A producer that crashes before publishing leaves a file nobody names; it
 * goes when the node stops (blob_remove_all).
 */
#ifndef TS_ENGINE_BLOB_H
#define TS_ENGINE_BLOB_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <thespis/thespis.h>

#define MSGF_BLOBREF (UINT32_C(1) << 30) /* the payload is a struct blob_ref */

struct blob_ref {
    uint64_t id;
    uint64_t size; /* of the file: envelope plus payload */
};

struct blob_store {
    char prefix[96];        /* "thespis.node.<name>.blob." */
    _Atomic uint64_t *seq;  /* the node's id counter */
};

/* A new blob of size bytes, mapped read-write; its id through *id. NULL
 * with -errno in *rc when it cannot be made. */
void *blob_create(const struct blob_store *bs, size_t size, uint64_t *id, int *rc);
/* The blob a reference names, mapped; NULL with -errno in *rc (-ENOENT: no
 * such blob, -EBADMSG: not the size the reference says). */
void *blob_map(const struct blob_store *bs, const struct blob_ref *ref, int *rc);
void blob_unmap(void *p, size_t size);
void blob_remove(const struct blob_store *bs, uint64_t id);
/* Removes every blob whose name starts with prefix. */
void blob_remove_all(const char *prefix);

/* A reference message (envelope zeroed but for flags and len) in front of
 * ref: what consumers resolve. Reads the reference out of one. */
static inline int blob_ref_of(const ts_msg *m, struct blob_ref *out)
{
    if (!(m->flags & MSGF_BLOBREF) || m->len != sizeof(*out))
        return -EBADMSG;
    __builtin_memcpy(out, m + 1, sizeof(*out));
    return 0;
}

#endif
