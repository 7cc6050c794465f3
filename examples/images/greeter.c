/* SPDX-License-Identifier: MIT */
/*
 * greeter.c — a code image with two actor types, loaded into a running
 * node by hash (thespis/image.h; `thespis load`):
 *
 *   images.Greeter  answers a message whose payload is a name with
 *                   "<greeting>, <name>!", same message type;
 *   images.Counter  answers every message with how many it has had, as
 *                   decimal text, same message type.
 *
 * Build it as a shared module, sign it, load it:
 *
 *     cc -shared -fPIC -o greeter.so greeter.c $(pkg-config --cflags --libs thespis)
 *     thespis keygen --sign release.key release.pub
 *     thespis sign --key release.key greeter.so          # writes greeter.so.sig
 *     thespis start --name demo --authority-key release.pub
 *     thespis load --name demo greeter.so                 # prints its id
 *
 * GREETING may be defined when building: two builds with different
 * greetings are two images (two ids), whose types live side by side.
 */
#include <stdio.h>
#include <string.h>

#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#ifndef GREETING
#define GREETING "Hello"
#endif

/* Only messages from someone, and not the engine's own. */
static int wanted(ts_ctx *ctx, const ts_msg *msg)
{
    return !ts_sysmsg_name(msg->type) && ts_sender(ctx) != TS_ADDR_NONE;
}

static int greet(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    char text[256];
    (void)state;
    if (!wanted(ctx, msg))
        return 0;
    int n = snprintf(text, sizeof(text), "%s, %.*s!", GREETING,
                     (int)(msg->len < 200 ? msg->len : 200), (const char *)ts_msg_data(msg));
    return ts_reply(ctx, msg->type, text, (size_t)n);
}

struct counter {
    unsigned long long seen;
};

static int count(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    struct counter *c = state;
    char text[32];
    if (!wanted(ctx, msg))
        return 0;
    int n = snprintf(text, sizeof(text), "%llu", ++c->seen);
    return ts_reply(ctx, msg->type, text, (size_t)n);
}

static const ts_actor_type greeter_type = {
    .name = "images.Greeter",
    .fallback = greet,
};

static const ts_actor_type counter_type = {
    .name = "images.Counter",
    .state_size = sizeof(struct counter),
    .fallback = count,
};

__attribute__((visibility("default"))) int thespis_image_init(void);
int thespis_image_init(void)
{
    int rc = ts_register_actor_type(&greeter_type);
    return rc ? rc : ts_register_actor_type(&counter_type);
}
