/* SPDX-License-Identifier: MIT */
/*
 * sign.c — image signing keys and signatures (thespis/image.h, "Signatures:
 * the bundled authority"): ed25519 key pairs in hex key files (keyfile.c),
 * detached signatures, and their verification (libsodium).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <thespis/image.h>

#include "err.h"
#include "keyfile.h"

_Static_assert(crypto_sign_PUBLICKEYBYTES == TS_SIGN_PUBLIC_BYTES &&
               crypto_sign_SECRETKEYBYTES == TS_SIGN_SECRET_BYTES &&
               crypto_sign_BYTES == TS_SIGN_BYTES, "libsodium's ed25519 sizes");
_Static_assert(TS_SIGN_SECRET_BYTES <= KEYFILE_MAX, "a secret key fits a key file");

#define SECRET_WHAT "signing secret key file"
#define PUBLIC_WHAT "signing public key file"
#define KEY_HINT "make a pair with `thespis keygen --sign SECRET PUBLIC`"

static int sodium_ready(const char *fn)
{
    if (sodium_init() < 0) /* once; later calls return 1 at once */
        return err_set(-EIO, "%s: libsodium could not start (no source of randomness?)", fn);
    return 0;
}

int ts_sign_keygen(const char *secret_path, const char *public_path)
{
    if (!secret_path || !*secret_path || !public_path || !*public_path)
        return err_set(-EINVAL, "ts_sign_keygen: NULL or empty path");
    if (strcmp(secret_path, public_path) == 0)
        return err_set(-EINVAL, "ts_sign_keygen: the secret and the public key would both "
                       "go to %s", secret_path);
    int rc = sodium_ready("ts_sign_keygen");
    if (rc < 0)
        return rc;
    /* Neither is written when the other is there already. */
    if (access(public_path, F_OK) == 0)
        return err_set(-EEXIST, PUBLIC_WHAT " %s already exists: not overwritten", public_path);
    uint8_t pk[TS_SIGN_PUBLIC_BYTES], sk[TS_SIGN_SECRET_BYTES];
    crypto_sign_keypair(pk, sk);
    rc = keyfile_write(SECRET_WHAT, secret_path, 0600, sk, sizeof(sk));
    sodium_memzero(sk, sizeof(sk));
    if (rc < 0)
        return rc;
    rc = keyfile_write(PUBLIC_WHAT, public_path, 0644, pk, sizeof(pk));
    if (rc < 0)
        unlink(secret_path); /* ours: made above, of no use without its public key */
    return rc;
}

int ts_sign_public_load(const char *path, uint8_t pk[TS_SIGN_PUBLIC_BYTES])
{
    if (!path || !*path || !pk)
        return err_set(-EINVAL, "ts_sign_public_load: NULL or empty argument");
    return keyfile_load(PUBLIC_WHAT, KEY_HINT, path, 0, pk, TS_SIGN_PUBLIC_BYTES);
}

int ts_sign_bytes(const char *secret_path, const void *bytes, size_t len,
                  uint8_t sig[TS_SIGN_BYTES])
{
    if (!secret_path || !*secret_path || !sig || (!bytes && len))
        return err_set(-EINVAL, "ts_sign_bytes: NULL or empty argument");
    int rc = sodium_ready("ts_sign_bytes");
    if (rc < 0)
        return rc;
    uint8_t sk[TS_SIGN_SECRET_BYTES];
    rc = keyfile_load(SECRET_WHAT, KEY_HINT, secret_path, -EINVAL, sk, sizeof(sk));
    if (rc == 0) {
        /* A secret key holds its public key: a file whose halves do not
         * match is not one (a damaged or hand-made file). */
        uint8_t pk[TS_SIGN_PUBLIC_BYTES];
        crypto_sign_ed25519_sk_to_pk(pk, sk);
        uint8_t seed[crypto_sign_SEEDBYTES], check_pk[TS_SIGN_PUBLIC_BYTES],
            check_sk[TS_SIGN_SECRET_BYTES];
        crypto_sign_ed25519_sk_to_seed(seed, sk);
        crypto_sign_seed_keypair(check_pk, check_sk, seed);
        if (sodium_memcmp(check_pk, pk, sizeof(pk)) != 0)
            rc = err_set(-EINVAL, SECRET_WHAT " %s: not an ed25519 secret key (its public "
                         "half does not match its seed)", secret_path);
        sodium_memzero(seed, sizeof(seed));
        sodium_memzero(check_sk, sizeof(check_sk));
    }
    if (rc == 0)
        crypto_sign_detached(sig, NULL, (const unsigned char *)bytes, len, sk);
    sodium_memzero(sk, sizeof(sk));
    return rc;
}

bool ts_sign_verify(const uint8_t pk[TS_SIGN_PUBLIC_BYTES], const void *bytes, size_t len,
                    const void *sig, size_t sig_len)
{
    if (!pk || !sig || sig_len != TS_SIGN_BYTES || (!bytes && len))
        return false;
    if (sodium_init() < 0)
        return false;
    return crypto_sign_verify_detached((const unsigned char *)sig,
                                       (const unsigned char *)bytes, len, pk) == 0;
}
