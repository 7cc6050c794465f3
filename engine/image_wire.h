/* SPDX-License-Identifier: MIT */
/* image_wire.h — writing the image system messages' payloads (their format
 * is in thespis/image.h; the decoders are public). */
#ifndef TS_ENGINE_IMAGE_WIRE_H
#define TS_ENGINE_IMAGE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <thespis/image.h>

#define VALIDATE_HDR 32u
#define VALIDATED_HDR 24u
#define VALIDATED_REASON_MAX 1023u
#define IMAGE_EVENT_LEN 32u

size_t validate_image_size(size_t len, size_t sig_len);
void validate_image_write(void *p, const ts_image_id *id, const void *bytes, size_t len,
                          const void *sig, size_t sig_len);
/* Writes a ValidatedImage (at most VALIDATED_HDR + VALIDATED_REASON_MAX + 1
 * bytes) and returns its length. */
size_t validated_image_write(void *p, const ts_image_id *id, bool ok, const char *reason);
/* The payloads of the decoders, without their message: 0 or -EBADMSG
 * (the fetch's frames carry them under other types: image_fetch.c). */
int validate_image_read(const void *p, size_t len, ts_validate_image *out);
int validated_image_read(const void *p, size_t len, ts_validated_image *out);
void image_event_write(void *p, const ts_image_id *id, uint64_t size, uint32_t ntypes);

#endif
