/* SPDX-License-Identifier: MIT */
/* image_msg.c — image ids and the payloads of the image system messages
 * (thespis/image.h): little-endian, every length checked before use. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <xxhash.h>

#include <thespis/image.h>

#include "le.h"
#include "err.h"
#include "image_wire.h"

void ts_image_id_of(const void *bytes, size_t len, ts_image_id *out)
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(bytes, len));
    _Static_assert(sizeof(c.digest) == sizeof(out->b), "an image id is 16 bytes");
    memcpy(out->b, c.digest, sizeof(out->b));
}

char *ts_image_id_format(const ts_image_id *id, char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (!buf || !len)
        return buf;
    if (!id || len < TS_IMAGE_ID_TEXT) {
        buf[0] = '\0';
        return buf;
    }
    for (size_t i = 0; i < sizeof(id->b); i++) {
        buf[2 * i] = hex[id->b[i] >> 4];
        buf[2 * i + 1] = hex[id->b[i] & 15];
    }
    buf[2 * sizeof(id->b)] = '\0';
    return buf;
}

int ts_image_id_parse(const char *text, ts_image_id *out)
{
    ts_image_id id;
    size_t got = 0;
    const char *end = NULL;
    if (!text || !out)
        return err_set(-EINVAL, "ts_image_id_parse: NULL argument");
    if (sodium_hex2bin(id.b, sizeof(id.b), text, strlen(text), NULL, &got, &end) != 0 ||
        got != sizeof(id.b) || *end != '\0')
        return err_set(-EINVAL, "an image id is 32 hex digits: '%.40s'", text);
    *out = id;
    return 0;
}

bool ts_image_id_is_zero(const ts_image_id *id)
{
    static const ts_image_id zero;
    return !id || memcmp(id, &zero, sizeof(zero)) == 0;
}

/* ---- payloads ------------------------------------------------------- */

static int check(const ts_msg *m, const void *out, uint64_t type, size_t min)
{
    if (!m || !out || m->type != type)
        return -EINVAL;
    return m->len < min ? -EBADMSG : 0;
}

size_t validate_image_size(size_t len, size_t sig_len)
{
    return VALIDATE_HDR + len + sig_len;
}

void validate_image_write(void *p, const ts_image_id *id, const void *bytes, size_t len,
                          const void *sig, size_t sig_len)
{
    unsigned char *b = p;
    memcpy(b, id->b, 16);
    put64(b + 16, len);
    put32(b + 24, (uint32_t)sig_len);
    put32(b + 28, 0);
    memcpy(b + VALIDATE_HDR, bytes, len);
    if (sig_len)
        memcpy(b + VALIDATE_HDR + len, sig, sig_len);
}

int ts_validate_image_decode(const ts_msg *m, ts_validate_image *out)
{
    int rc = check(m, out, TS_MSG_VALIDATE_IMAGE, VALIDATE_HDR);
    return rc < 0 ? rc : validate_image_read(ts_msg_data(m), m->len, out);
}

int validate_image_read(const void *p, size_t n, ts_validate_image *out)
{
    const unsigned char *b = p;
    if (n < VALIDATE_HDR)
        return -EBADMSG;
    uint64_t len = get64(b + 16);
    uint32_t sig_len = get32(b + 24);
    if (get32(b + 28) != 0 || len > n - VALIDATE_HDR || sig_len != n - VALIDATE_HDR - len)
        return -EBADMSG;
    memcpy(out->id.b, b, 16);
    out->bytes = b + VALIDATE_HDR;
    out->len = (size_t)len;
    out->sig = sig_len ? b + VALIDATE_HDR + len : NULL;
    out->sig_len = sig_len;
    return 0;
}

int ts_validated_image_decode(const ts_msg *m, ts_validated_image *out)
{
    int rc = check(m, out, TS_MSG_VALIDATED_IMAGE, VALIDATED_HDR + 1);
    return rc < 0 ? rc : validated_image_read(ts_msg_data(m), m->len, out);
}

int validated_image_read(const void *p, size_t n, ts_validated_image *out)
{
    const unsigned char *b = p;
    if (n < VALIDATED_HDR + 1)
        return -EBADMSG;
    uint16_t reason_len = (uint16_t)(b[18] | b[19] << 8);
    const char *reason = (const char *)b + VALIDATED_HDR;
    if (b[16] > 1 || b[17] || get32(b + 20) || n != VALIDATED_HDR + (size_t)reason_len + 1 ||
        reason[reason_len] != '\0' || memchr(reason, 0, reason_len))
        return -EBADMSG;
    memcpy(out->id.b, b, 16);
    out->ok = b[16] == 1;
    out->reason = reason;
    out->reason_len = reason_len;
    return 0;
}

size_t validated_image_write(void *p, const ts_image_id *id, bool ok, const char *reason)
{
    unsigned char *b = p;
    size_t n = reason ? strnlen(reason, VALIDATED_REASON_MAX) : 0;
    memcpy(b, id->b, 16);
    b[16] = ok ? 1 : 0;
    b[17] = 0;
    b[18] = (unsigned char)(n & 0xff);
    b[19] = (unsigned char)(n >> 8);
    put32(b + 20, 0);
    if (n)
        memcpy(b + VALIDATED_HDR, reason, n);
    b[VALIDATED_HDR + n] = '\0';
    return VALIDATED_HDR + n + 1;
}

int ts_reply_validated_image(ts_ctx *ctx, const ts_image_id *id, bool ok, const char *reason)
{
    unsigned char buf[VALIDATED_HDR + VALIDATED_REASON_MAX + 1];
    if (!ctx || !id)
        return err_set(-EINVAL, "ts_reply_validated_image: NULL argument");
    size_t n = validated_image_write(buf, id, ok, reason);
    return ts_reply(ctx, TS_MSG_VALIDATED_IMAGE, buf, n);
}

void image_event_write(void *p, const ts_image_id *id, uint64_t size, uint32_t ntypes)
{
    unsigned char *b = p;
    memcpy(b, id->b, 16);
    put64(b + 16, size);
    put32(b + 24, ntypes);
    put32(b + 28, 0);
}

int ts_image_event_decode(const ts_msg *m, ts_image_event *out)
{
    if (!m || !out || (m->type != TS_MSG_IMAGE_LOADED && m->type != TS_MSG_IMAGE_UNLOADED))
        return -EINVAL;
    const unsigned char *b = ts_msg_data(m);
    if (m->len != IMAGE_EVENT_LEN || get32(b + 28) != 0)
        return -EBADMSG;
    memcpy(out->id.b, b, 16);
    out->size = get64(b + 16);
    out->ntypes = get32(b + 24);
    return 0;
}
