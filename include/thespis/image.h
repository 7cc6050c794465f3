/* SPDX-License-Identifier: MIT */
/*
 * thespis/image.h — code images (design §8): shared objects that register
 * actor types, identified by the hash of their bytes, approved by the
 * node's Source Authority before any of their code runs, and loaded from a
 * sealed memfd so that what runs is exactly what was approved.
 *
 * An image exports TS_IMAGE_INIT_SYMBOL (thespis/node.h), which registers
 * its actor types with ts_register_actor_type. Types an image loaded with
 * ts_load_image registers belong to that image: two images may each have a
 * type "app.Worker" (two versions side by side), and an actor is created
 * from one by naming both, ts_create_opts.image and the type name.
 *
 * The Source Authority (Thespian's): an actor the node asks about every
 * image before loading it. It receives ts.ValidateImage and answers with
 * ts.ValidatedImage (ts_reply_validated_image). With no authority set, a
 * node refuses every image unless it was opened with
 * ts_config.allow_unsigned_images. The bundled authority,
 * TS_SIGNATURE_AUTHORITY, approves an image whose detached ed25519
 * signature (libsodium) one of its public keys verifies.
 */
#ifndef THESPIS_IMAGE_H
#define THESPIS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <thespis/export.h>
#include <thespis/thespis.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Image ids                                                                 */
/* ------------------------------------------------------------------------ */

/* An id's text: 32 lowercase hex digits (the XXH3-128 digest, high half
 * first, as xxhash's canonical form), plus the NUL. */
#define TS_IMAGE_ID_TEXT 33

/* The id of an image of len bytes: their XXH3-128. */
TS_API void ts_image_id_of(const void *bytes, size_t len, ts_image_id *out);
/* Writes id as text into buf (at least TS_IMAGE_ID_TEXT bytes) and returns
 * buf ("" when len is too small). */
TS_API char *ts_image_id_format(const ts_image_id *id, char *buf, size_t len);
/* Reads 32 hex digits (either case, nothing else) into *out. 0 or -EINVAL. */
TS_API int ts_image_id_parse(const char *text, ts_image_id *out);
/* Whether id is all zero (no image). */
TS_API bool ts_image_id_is_zero(const ts_image_id *id);

/* ------------------------------------------------------------------------ */
/* Loading and unloading                                                     */
/* ------------------------------------------------------------------------ */

/*
 * Loads an image into sys's node: computes its id, asks the node's Source
 * Authority (ts.ValidateImage with bytes and sig; sig may be NULL), and
 * once approved copies the bytes into a sealed memfd, dlopens it and runs
 * its init, whose registrations belong to the image. Then every watcher
 * (ts_notify_on_images) gets ts.ImageLoaded. Loading an image the node
 * already has is fine: *id is set and nothing else happens. Called from
 * outside actors (it waits for the authority). Errors, each with
 * ts_last_error saying more:
 *   -EINVAL     NULL sys, bytes or id, or len 0
 *   -EPERM      no authority and the node does not allow unsigned images,
 *               or the authority refused it (its reason is in the text)
 *   -ETIMEDOUT  the authority did not answer within 10 s
 *   -ENOEXEC    not an ELF shared object of this machine, truncated, no
 *               TS_IMAGE_INIT_SYMBOL, or dlopen refused it
 *   -EEXIST     its init registers two types of one name
 *   -EDEADLK    called from inside a handler of this system
 *   -EMSGSIZE   larger than the node's maximum message size, or a signature
 *               above 512 bytes (kept with the image for members that fetch it)
 *   -ESHUTDOWN, -ENOMEM, or the init's own error
 */
TS_API int ts_load_image(ts_system *sys, const void *bytes, size_t len, const void *sig,
                         size_t sig_len, ts_image_id *id);

/* ts_load_image of the file at path, with the signature in path + ".sig"
 * when that file exists (as `thespis sign` writes it). Also -ENOENT and the
 * errno of reading either file. */
TS_API int ts_load_image_file(ts_system *sys, const char *path, ts_image_id *id);

/*
 * Unloads an image: from now on creations from it fail with -ENOENT.
 * Running actors of its types are unaffected (the code stays mapped while
 * the node lives). Watchers get ts.ImageUnloaded. Errors: -EINVAL,
 * -ENOENT (the node has no such image loaded), -ESHUTDOWN.
 */
TS_API int ts_unload_image(ts_system *sys, const ts_image_id *id);

/* One image of a node. */
typedef struct ts_image_info {
    ts_image_id id;
    uint64_t size;   /* bytes */
    uint32_t ntypes; /* actor types it registered */
    uint8_t loaded;  /* 1: creations from it work; 0: unloaded */
    uint8_t zero[3];
    char types[256]; /* their names, comma-separated (cut at 255 characters) */
} ts_image_info;

/* The images sys's node has (unloaded ones included) into out (at most max;
 * out may be NULL when max is 0). Returns how many there are, or -EINVAL. */
TS_API int ts_images(ts_system *sys, ts_image_info *out, unsigned max);

/* ------------------------------------------------------------------------ */
/* The Source Authority and watchers                                         */
/* ------------------------------------------------------------------------ */

/* Makes addr the node's Source Authority (TS_ADDR_NONE: none). From then on
 * ts_load_image asks it. 0, -EINVAL or -ESHUTDOWN. */
TS_API int ts_system_set_source_authority(ts_system *sys, ts_addr addr);

/* From a handler: start (true) or stop getting ts.ImageLoaded and
 * ts.ImageUnloaded about sys's node. 0, -EINVAL, -ENOSPC. */
TS_API int ts_notify_on_images(ts_ctx *ctx, bool start);

/* "ts.ValidateImage": to the authority. Payload: id (16) | uint64 len |
 * uint32 sig_len | uint32 zero | bytes | sig. */
#define TS_MSG_VALIDATE_IMAGE UINT64_C(0x742afab3568441c4)
/* "ts.ValidatedImage": the authority's answer. Payload: id (16) | uint8 ok
 * | uint8 zero | uint16 reason_len | uint32 zero | reason (reason_len
 * bytes, then a NUL). */
#define TS_MSG_VALIDATED_IMAGE UINT64_C(0x1546fd5c44293e8c)
/* "ts.ImageLoaded" and "ts.ImageUnloaded": to watchers. Payload: id (16) |
 * uint64 size | uint32 ntypes | uint32 zero. */
#define TS_MSG_IMAGE_LOADED UINT64_C(0x526691e33728e9d4)
#define TS_MSG_IMAGE_UNLOADED UINT64_C(0x71f93e470c02a800)

/* ValidateImage, decoded. Pointers point into the message. */
typedef struct ts_validate_image {
    ts_image_id id;
    const void *bytes;
    size_t len;
    const void *sig; /* NULL when sig_len is 0 */
    size_t sig_len;
} ts_validate_image;

/* ValidatedImage, decoded. */
typedef struct ts_validated_image {
    ts_image_id id;
    bool ok;
    const char *reason; /* NUL-terminated ("" when none given) */
    size_t reason_len;
} ts_validated_image;

/* ImageLoaded and ImageUnloaded, decoded. */
typedef struct ts_image_event {
    ts_image_id id;
    uint64_t size;
    uint32_t ntypes;
} ts_image_event;

/* Decoders: 0, -EINVAL (NULL, or another message type) or -EBADMSG. */
TS_API int ts_validate_image_decode(const ts_msg *m, ts_validate_image *out);
TS_API int ts_validated_image_decode(const ts_msg *m, ts_validated_image *out);
TS_API int ts_image_event_decode(const ts_msg *m, ts_image_event *out);

/* From the authority's handler: answers the ValidateImage being handled
 * (to its sender). reason may be NULL; at most 1023 characters are sent. */
TS_API int ts_reply_validated_image(ts_ctx *ctx, const ts_image_id *id, bool ok,
                                    const char *reason);

/* ------------------------------------------------------------------------ */
/* Signatures: the bundled authority                                          */
/* ------------------------------------------------------------------------ */

/* The bundled authority's actor type, registered in every process. Its
 * creation argument is one or more 32-byte ed25519 public keys, back to
 * back; it approves an image whose signature one of them verifies. */
#define TS_SIGNATURE_AUTHORITY "thespis.SignatureAuthority"
#define TS_SIGN_PUBLIC_BYTES 32
#define TS_SIGN_SECRET_BYTES 64
#define TS_SIGN_BYTES 64

/* Makes a new ed25519 key pair: the secret key to secret_path (hex, mode
 * 0600), the public key to public_path (hex). Refuses to overwrite either.
 * 0, -EEXIST, -EINVAL, or the errno of writing. `thespis keygen --sign`. */
TS_API int ts_sign_keygen(const char *secret_path, const char *public_path);
/* Reads a public key file written by ts_sign_keygen. 0, -EINVAL (not a
 * key), or the errno of reading. */
TS_API int ts_sign_public_load(const char *path, uint8_t pk[TS_SIGN_PUBLIC_BYTES]);
/* Signs len bytes with the secret key in secret_path into sig. 0, -EINVAL
 * (not a secret key, or a key file others may read), or the errno of
 * reading. `thespis sign` writes sig to IMAGE.sig. */
TS_API int ts_sign_bytes(const char *secret_path, const void *bytes, size_t len,
                         uint8_t sig[TS_SIGN_BYTES]);
/* Whether sig is a signature of bytes by pk. */
TS_API bool ts_sign_verify(const uint8_t pk[TS_SIGN_PUBLIC_BYTES], const void *bytes,
                           size_t len, const void *sig, size_t sig_len);

#ifdef __cplusplus
}
#endif

#endif /* THESPIS_IMAGE_H */
