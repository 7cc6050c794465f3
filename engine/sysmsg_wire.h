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

/* Status (docs/protocol.md#status): an actor's, a header of
 * STATUS_ACTOR_HDR bytes, its children (u64 each), its type name and global
 * name (each NUL-terminated); a node's, a header of STATUS_NODE_HDR bytes,
 * its shards (STATUS_SHARD_REC bytes each), its links (STATUS_LINK_REC
 * each), its name and capabilities (each NUL-terminated). Texts are at
 * most 65535 bytes (the callers clip them). */
#define STATUS_ACTOR_HDR 80u
#define STATUS_NODE_HDR 48u
#define STATUS_SHARD_REC 104u
#define STATUS_LINK_REC 72u
#define STATUS_TEXT_MAX 65535u

static inline size_t status_actor_size(size_t nchildren, size_t type_len, size_t name_len)
{
    return STATUS_ACTOR_HDR + 8 * nchildren + type_len + 1 + name_len + 1;
}
static inline size_t status_node_size(size_t nshards, size_t nlinks, size_t name_len,
                                      size_t caps_len)
{
    return STATUS_NODE_HDR + STATUS_SHARD_REC * nshards + STATUS_LINK_REC * nlinks + name_len +
           1 + caps_len + 1;
}
/* Writes an actor's Status of status_actor_size(s->nchildren,
 * s->type_name_len, s->global_name_len) bytes: its header and texts; then
 * each child goes in with status_child_put. */
void status_actor_write(void *p, const ts_actor_status *s);
void status_child_put(void *p, uint32_t i, ts_addr child);
/* Writes a node's Status of status_node_size(n->nshards, n->nlinks,
 * n->name_len, n->caps_len) bytes: its header and texts; then each shard
 * and link goes in with status_shard_put and status_link_put. */
void status_node_write(void *p, const ts_status_node *n);
void status_shard_put(void *p, uint32_t i, const ts_status_shard *s);
void status_link_put(void *p, uint32_t nshards, uint32_t i, const ts_status_link *l);

#endif
