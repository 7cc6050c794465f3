/* SPDX-License-Identifier: MIT */
/* image_half.c — a code image whose init registers a type, then returns
 * $CLITEST_HALF_RC (0 when unset): a failed load must forget the type, so
 * that loading it again (once the init succeeds) works. */
#include <stdlib.h>

#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

static int answer(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    (void)state;
    if (ts_sysmsg_name(msg->type) || ts_sender(ctx) == TS_ADDR_NONE)
        return 0;
    return ts_reply(ctx, msg->type, "half", 4);
}

static const ts_actor_type half = {.name = "half.A", .fallback = answer};

__attribute__((visibility("default"))) int thespis_image_init(void);
int thespis_image_init(void)
{
    int rc = ts_register_actor_type(&half);
    const char *want = getenv("CLITEST_HALF_RC");
    return rc ? rc : want ? atoi(want) : 0;
}
