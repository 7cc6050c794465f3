/* SPDX-License-Identifier: MIT */
/*
 * authority.c — the bundled Source Authority (thespis/image.h,
 * TS_SIGNATURE_AUTHORITY): approves an image whose id is the hash of its
 * bytes and whose detached ed25519 signature one of its public keys
 * verifies; refuses every other, saying why. It never fails on what it is
 * sent: a malformed ValidateImage is refused (or, without a readable id,
 * dropped) and the actor goes on.
 */
#include "authority.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <thespis/image.h>

#include "err.h"

_Static_assert(sizeof(ts_image_id) == 16, "an image id is 16 bytes");

struct authority {
    uint32_t nkeys;
    uint8_t keys[AUTHORITY_MAX_KEYS][TS_SIGN_PUBLIC_BYTES];
};

/* The first bytes of a key, as hex: enough to tell keys apart in a log. */
static char *key_tag(const uint8_t *key, char buf[17])
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 8; i++) {
        buf[2 * i] = hex[key[i] >> 4];
        buf[2 * i + 1] = hex[key[i] & 15];
    }
    buf[16] = '\0';
    return buf;
}

static int authority_init(ts_ctx *ctx, void *state, const void *arg, size_t len)
{
    struct authority *a = state;
    const char *why = NULL;

    if (!arg || len == 0)
        why = "no public key given (its argument must be 1 to 64 32-byte ed25519 public keys, "
              "back to back)";
    else if (len % TS_SIGN_PUBLIC_BYTES)
        why = "its argument is not a whole number of 32-byte ed25519 public keys";
    else if (len / TS_SIGN_PUBLIC_BYTES > AUTHORITY_MAX_KEYS)
        why = "more than 64 public keys";
    if (why) {
        ts_log(ctx, TS_LOG_ERROR, "%s not started: %s (%zu bytes)", TS_SIGNATURE_AUTHORITY, why,
               len);
        return err_set(-EINVAL, "%s: %s (%zu bytes)", TS_SIGNATURE_AUTHORITY, why, len);
    }
    a->nkeys = (uint32_t)(len / TS_SIGN_PUBLIC_BYTES);
    memcpy(a->keys, arg, len);
    ts_log(ctx, TS_LOG_INFO, "approves images signed with %s %u key%s",
           a->nkeys == 1 ? "its" : "any of its", a->nkeys, a->nkeys == 1 ? "" : "s");
    return 0;
}

static void refuse(ts_ctx *ctx, const ts_image_id *id, const char *reason)
{
    char text[TS_IMAGE_ID_TEXT];
    ts_log(ctx, TS_LOG_WARNING, "image %s refused: %s",
           ts_image_id_format(id, text, sizeof(text)), reason);
    int rc = ts_reply_validated_image(ctx, id, false, reason);
    if (rc < 0)
        ts_log(ctx, TS_LOG_WARNING, "the refusal of image %s could not be sent: %s", text,
               ts_last_error());
}

static void approve(ts_ctx *ctx, const ts_image_id *id, const struct authority *a, uint32_t k)
{
    char text[TS_IMAGE_ID_TEXT], tag[17];
    ts_log(ctx, TS_LOG_INFO, "image %s approved: signed by key %u of %u (%s...)",
           ts_image_id_format(id, text, sizeof(text)), k + 1, a->nkeys, key_tag(a->keys[k], tag));
    if (ts_reply_validated_image(ctx, id, true, NULL) < 0)
        ts_log(ctx, TS_LOG_WARNING, "the approval of image %s could not be sent: %s", text,
               ts_last_error());
}

static int on_validate_image(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    const struct authority *a = state;
    ts_validate_image v;
    char why[160];

    if (ts_validate_image_decode(msg, &v) < 0) {
        ts_image_id id;
        if (msg->len < sizeof(id.b)) {
            char from[32];
            ts_log(ctx, TS_LOG_WARNING, "a malformed ValidateImage from %s (%u bytes, no image "
                   "id): dropped", ts_addr_format(msg->src, from, sizeof(from)), msg->len);
            return 0;
        }
        memcpy(id.b, ts_msg_data(msg), sizeof(id.b));
        snprintf(why, sizeof(why), "malformed ValidateImage (%u bytes: its lengths do not "
                 "add up)", msg->len);
        refuse(ctx, &id, why);
        return 0;
    }

    ts_image_id have;
    ts_image_id_of(v.bytes, v.len, &have);
    if (memcmp(have.b, v.id.b, sizeof(have.b)) != 0) {
        char text[TS_IMAGE_ID_TEXT];
        snprintf(why, sizeof(why), "hash mismatch: its %zu bytes hash to %s", v.len,
                 ts_image_id_format(&have, text, sizeof(text)));
        refuse(ctx, &v.id, why);
        return 0;
    }
    if (!v.sig || v.sig_len == 0) {
        refuse(ctx, &v.id, "unsigned");
        return 0;
    }
    for (uint32_t k = 0; k < a->nkeys; k++) {
        if (ts_sign_verify(a->keys[k], v.bytes, v.len, v.sig, v.sig_len)) {
            approve(ctx, &v.id, a, k);
            return 0;
        }
    }
    if (v.sig_len != TS_SIGN_BYTES)
        snprintf(why, sizeof(why), "signature does not verify: it is %zu bytes, an ed25519 "
                 "signature is %d", v.sig_len, TS_SIGN_BYTES);
    else if (a->nkeys == 1)
        snprintf(why, sizeof(why), "signature does not verify with the 1 key");
    else
        snprintf(why, sizeof(why), "signature does not verify with any of the %u keys",
                 a->nkeys);
    refuse(ctx, &v.id, why);
    return 0;
}

static const ts_handler_entry authority_handlers[] = {
    TS_ON_ID(TS_MSG_VALIDATE_IMAGE, on_validate_image),
    TS_HANDLERS_END,
};

static const ts_actor_type authority_type = {
    .name = TS_SIGNATURE_AUTHORITY,
    .state_size = sizeof(struct authority),
    .init = authority_init,
    .handlers = authority_handlers,
};

int authority_register(void)
{
    return ts_register_actor_type(&authority_type);
}

/* Every process that links the library has the type before it opens a
 * system (and a multiproc node's shard processes inherit it). */
__attribute__((constructor)) static void authority_register_at_load(void)
{
    (void)authority_register();
}

/* One path of paths (at p, len bytes) into pk. */
static int load_one(const char *p, size_t len, uint8_t pk[TS_SIGN_PUBLIC_BYTES])
{
    char path[4096];
    if (len == 0)
        return err_set(-EINVAL, "ts_config.authority_keys: an empty path (\"PATH,PATH,...\")");
    if (len >= sizeof(path))
        return err_set(-EINVAL, "ts_config.authority_keys: a path of %zu characters (at most "
                       "%zu)", len, sizeof(path) - 1);
    memcpy(path, p, len);
    path[len] = '\0';
    int rc = ts_sign_public_load(path, pk);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof(why), "%s", ts_last_error());
        return err_set(rc, "ts_config.authority_keys: %s", why);
    }
    return 0;
}

int authority_keys_read(const char *paths, uint8_t keys[][TS_SIGN_PUBLIC_BYTES], size_t *count)
{
    size_t n = 0;

    if (!paths || !*paths)
        return err_set(-EINVAL, "ts_config.authority_keys is empty (\"PATH,PATH,...\", public "
                       "key files; NULL for none)");
    for (const char *p = paths;;) {
        size_t len = strcspn(p, ",");
        if (n == AUTHORITY_MAX_KEYS)
            return err_set(-EINVAL, "ts_config.authority_keys: more than %d key files",
                           AUTHORITY_MAX_KEYS);
        int rc = load_one(p, len, keys[n]);
        if (rc < 0)
            return rc;
        n++;
        if (!p[len])
            break;
        p += len + 1;
    }
    *count = n;
    return 0;
}

int authority_start(ts_system *sys, const char *paths)
{
    uint8_t keys[AUTHORITY_MAX_KEYS][TS_SIGN_PUBLIC_BYTES];
    size_t n = 0;

    if (!sys || !paths)
        return err_set(-EINVAL, "authority_start: NULL system or paths");
    int rc0 = authority_keys_read(paths, keys, &n);
    if (rc0 < 0)
        return rc0;
    int rc = authority_register();
    if (rc < 0)
        return rc;
    ts_create_opts opts = {.arg = keys, .arg_len = n * TS_SIGN_PUBLIC_BYTES};
    ts_addr addr;
    rc = ts_system_create(sys, TS_SIGNATURE_AUTHORITY, &opts, &addr);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof(why), "%s", ts_last_error());
        return err_set(rc, "the node's %s could not be created: %s", TS_SIGNATURE_AUTHORITY,
                       why);
    }
    rc = ts_system_set_source_authority(sys, addr);
    if (rc < 0)
        return rc;
    char where[32];
    ts_system_log(sys, TS_LOG_INFO, "%s %s is the node's Source Authority (%zu key%s)",
                  TS_SIGNATURE_AUTHORITY, ts_addr_format(addr, where, sizeof(where)), n,
                  n == 1 ? "" : "s");
    return 0;
}
