/* SPDX-License-Identifier: MIT */
/*
 * echo.c — the bundled test actor, TS_ECHO_TYPE ("thespis.Echo"): a
 * user can try any node with it (`thespis shell`: create thespis.Echo,
 * ask it) without building an image. It answers every message that is not
 * a system message with the same type and payload, to the message's
 * sender. It keeps no state.
 */
#include <pthread.h>

#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "echo.h"

/* System messages (ExitRequest, ChildExited, Wakeup...) are the engine's:
 * they are not echoed. A message with no sender has no one to answer. */
static int echo_any(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    (void)state;
    if (ts_sysmsg_name(msg->type) || ts_sender(ctx) == TS_ADDR_NONE)
        return 0;
    return ts_reply(ctx, msg->type, ts_msg_data(msg), msg->len);
}

static const ts_actor_type echo_type = {
    .name = TS_ECHO_TYPE,
    .fallback = echo_any,
};

static pthread_once_t echo_once = PTHREAD_ONCE_INIT;
static int echo_rc;

static void echo_register_once(void)
{
    echo_rc = ts_register_actor_type(&echo_type);
}

/* Once per process: at load, before any image could be loading (whose
 * registrations would claim the type). */
int echo_register(void)
{
    pthread_once(&echo_once, echo_register_once);
    return echo_rc;
}

/* Every process that links the shared library has the type before it
 * opens a system. */
__attribute__((constructor)) static void echo_register_at_load(void)
{
    (void)echo_register();
}
