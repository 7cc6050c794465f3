/* SPDX-License-Identifier: MIT */
/* system.h — struct ts_system and the base ops table each base implements. */
#ifndef TS_ENGINE_SYSTEM_H
#define TS_ENGINE_SYSTEM_H

#include <stdbool.h>

#include <thespis/thespis.h>

#include "logger.h"
#include "names.h"
#include "shard.h"
#include "typeid.h"

/* An external caller's mailbox: a FIFO of messages it owns (ts_msg_free). */
struct inbox {
    ts_msg **v;
    size_t head, n, cap;
};

/*
 * What a base does. Each call runs on the calling (external) thread; none is
 * on an actor's hot path. The system layer has checked arguments and the
 * shutdown state before calling.
 */
struct base_ops {
    const char *name;
    /* Waits up to deadline (monotonic ns; UINT64_MAX: none) for the next
     * inbox message, running actors if the base runs them on this thread.
     * Returns 0 with *out set, or -ETIMEDOUT. */
    int (*wait)(struct ts_system *sys, uint64_t deadline, ts_msg **out);
    /* Runs until idle or deadline: 0 when idle, -ETIMEDOUT otherwise. */
    int (*run)(struct ts_system *sys, uint64_t deadline);
};

extern const struct base_ops base_simple_ops;

struct ts_system {
    const struct base_ops *ops;
    ts_config cfg;
    struct logger log;
    struct shard shard; /* the simple base has one shard */
    struct names names;
    ts_addr client;     /* the external caller's mailbox */
    struct inbox inbox;
    ts_addr dead_letter_handler;
    int in_handler;     /* > 0 while a handler runs: ask/run would re-enter */
    bool shut_down;
};

/* Hands a message addressed to the client mailbox to the inbox (copies it). */
void system_deliver_client(struct ts_system *sys, const ts_msg *m);

/* Logs an engine record about an actor (actor may be TS_ADDR_NONE). */
void system_log(struct ts_system *sys, ts_log_level level, const char *id, ts_addr actor,
                const char *type, const char *fmt, ...) TS_PRINTF(6, 7);

/* A printable name for a message type: its registered name or its id. */
const char *msgtype_label(uint64_t type, char buf[20]);

#endif
