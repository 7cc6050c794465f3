/* SPDX-License-Identifier: MIT */
/* image_dup.c — a code image that registers two different actor types of
 * one name: its load must fail with -EEXIST. */
#include <thespis/node.h>
#include <thespis/thespis.h>

static const ts_actor_type first = {.name = "dup.Twice"};
static const ts_actor_type second = {.name = "dup.Twice", .state_size = 8};

__attribute__((visibility("default"))) int thespis_image_init(void);
int thespis_image_init(void)
{
    int rc = ts_register_actor_type(&first);
    return rc ? rc : ts_register_actor_type(&second);
}
