/* SPDX-License-Identifier: MIT */
/* sysmsg_wire.h — building the payloads of system messages. The layouts are
 * documented in docs/protocol.md; the decoders are in sysmsg.c. */
#ifndef TS_ENGINE_SYSMSG_WIRE_H
#define TS_ENGINE_SYSMSG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <thespis/sysmsg.h>

#define CHILD_EXITED_SIZE 16u
#define POISON_HDR 32u
#define DEAD_LETTER_HDR 32u
#define CONV_UPDATE_HDR 8u

static inline size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static inline size_t poison_size(size_t orig_len, size_t text_len)
{
    return POISON_HDR + pad8(orig_len) + text_len + 1;
}

void child_exited_write(void *p, ts_addr child, int32_t status);
/* Writes a Poison payload of poison_size(orig->len, strlen(text)) bytes. */
void poison_write(void *p, const ts_msg *orig, int32_t reason, const char *text);
/* Writes a DeadLetter payload of DEAD_LETTER_HDR + orig->len bytes. */
void dead_letter_write(void *p, const ts_msg *orig);

/* ConventionUpdate: u16 node | u8 event | u8 zero | u16 name_len | u16
 * caps_len | name, NUL | caps, NUL (the lengths without the NULs). */
static inline size_t conv_update_size(size_t name_len, size_t caps_len)
{
    return CONV_UPDATE_HDR + name_len + 1 + caps_len + 1;
}
/* Writes one of conv_update_size(strlen(name), strlen(caps)) bytes (each
 * text at most 65535 characters). */
void conv_update_write(void *p, uint16_t node, ts_convention_event ev, const char *name,
                       const char *caps);

#endif
