/* SPDX-License-Identifier: MIT */
/* typeid.h — the registry of message type names (typeid.c). */
#ifndef TS_ENGINE_TYPEID_H
#define TS_ENGINE_TYPEID_H

#include <stdint.h>

/* Registers name under id (ts_register_msg_type passes the name's hash;
 * tests pass others to provoke a collision). 0, -EEXIST, -ENOSPC, -ENOMEM. */
int msgtype_register(const char *name, uint64_t id);

/* The registered name of a message type id, or NULL. */
const char *msgtype_name(uint64_t id);

#endif
