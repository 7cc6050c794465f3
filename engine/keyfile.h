/* SPDX-License-Identifier: MIT */
/*
 * keyfile.h — key files: a key's bytes as hex digits and an optional
 * newline, as the convention's shared key (placement/conv_wire.c) and the
 * image signing keys (sign.c) are kept.
 */
#ifndef TS_ENGINE_KEYFILE_H
#define TS_ENGINE_KEYFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The longest key a key file holds, in bytes (an ed25519 secret key). */
#define KEYFILE_MAX 64

/*
 * Reads the key file at path into key: len bytes (at most KEYFILE_MAX), as
 * 2 * len hex digits of either case and an optional '\n', nothing else.
 * Messages name it as "<what> <path>" ("convention key file conv.key") and
 * say how to make one (hint: "make one with `thespis keygen`").
 * private_rc: 0 when anyone may read the file; else what to return for a
 * file group or others may use (the message gives the chmod that fixes it).
 * Returns 0, private_rc, -EINVAL (not a regular file, a wrong length, a
 * non-hex character), or -errno from open, fstat or read.
 */
int keyfile_load(const char *what, const char *hint, const char *path, int private_rc,
                 uint8_t *key, size_t len);

/*
 * Writes key (len bytes, at most KEYFILE_MAX) as 2 * len lowercase hex
 * digits and a newline to a new file at path with exactly mode (whatever
 * the umask). Returns 0, -EEXIST (a file is never overwritten), or -errno
 * from open, write or fsync (a partial file is removed).
 */
int keyfile_write(const char *what, const char *path, mode_t mode, const uint8_t *key,
                  size_t len);


#endif
