/* SPDX-License-Identifier: MIT */
/*
 * authority.h — the bundled Source Authority (thespis/image.h,
 * TS_SIGNATURE_AUTHORITY): the actor type, registered in every process
 * that links the library, and a node's start of it from
 * ts_config.authority_keys.
 */
#ifndef TS_ENGINE_AUTHORITY_H
#define TS_ENGINE_AUTHORITY_H

#include <stddef.h>
#include <stdint.h>

#include <thespis/image.h>
#include <thespis/thespis.h>

/* The most public keys one authority holds. */
#define AUTHORITY_MAX_KEYS 64

/*
 * Reads the public key files named in paths ("PATH,PATH,...", as
 * ts_config.authority_keys; ts_sign_keygen writes them), creates a
 * TS_SIGNATURE_AUTHORITY with those keys in sys and makes it sys's Source
 * Authority. Called from outside actors (ts_system_open). Returns 0, or
 *   -EINVAL  NULL sys, no path, an empty path, more than
 *            AUTHORITY_MAX_KEYS, or a file that is not a public key
 *   -errno   of reading a file (-ENOENT ...), of ts_system_create or of
 *            ts_system_set_source_authority
 * with ts_last_error naming the file or what failed.
 */
int authority_start(ts_system *sys, const char *paths);

/* Reads the key files of paths (as authority_start) into keys (at most
 * AUTHORITY_MAX_KEYS) and their count into *n: 0 or authority_start's
 * errors. ts_system_open checks them with it before starting anything. */
int authority_keys_read(const char *paths, uint8_t keys[][TS_SIGN_PUBLIC_BYTES], size_t *n);

/* Registers TS_SIGNATURE_AUTHORITY (done when the library loads; again is
 * fine). 0 or the error of ts_register_actor_type. */
int authority_register(void);

#endif
