/* SPDX-License-Identifier: MIT */
/*
 * image_echo.c — a code image: a shared object whose actor types a program
 * or a node gets by loading it (ts_image_load, `thespis start --image`).
 *
 * It registers one actor type, "image.Echo", which answers every message
 * with a message of the same type and the same payload. Built as a shared
 * module:
 *
 *     cc -shared -fPIC -o image_echo.so image_echo.c $(pkg-config --cflags --libs thespis)
 *     thespis start --name demo --image ./image_echo.so
 */
#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

/* Every message the actor gets comes here (it has no handler table).
 * System messages (an ExitRequest, say) are not echoed: they are the
 * engine's, and the engine goes on with them when this returns. */
static int echo_any(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    (void)state;
    if (ts_sysmsg_name(msg->type) || ts_sender(ctx) == TS_ADDR_NONE)
        return 0;
    return ts_reply(ctx, msg->type, ts_msg_data(msg), msg->len);
}

static const ts_actor_type echo_type = {
    .name = "image.Echo",
    .fallback = echo_any,
};

/* The one symbol an image exports (TS_IMAGE_INIT_SYMBOL). The loader calls
 * it every time the image is loaded; registering the same type again is
 * fine. Returns 0 or -errno. */
__attribute__((visibility("default"))) int thespis_image_init(void);
int thespis_image_init(void)
{
    return ts_register_actor_type(&echo_type);
}
