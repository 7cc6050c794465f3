/* SPDX-License-Identifier: MIT */
/* Compiles <thespis/node.h> alone as C: the header must bring everything
 * it needs with it. Built with -Werror by tests/headers/meson.build. */
#include <thespis/node.h>

int ts_header_check_node_c(void);
int ts_header_check_node_c(void)
{
    ts_node_status st = {0};
    ts_image_init_fn fn = 0;
    return (int)sizeof(st.shards[0]) + (fn == 0) + TS_NODE_MAX_SHARDS;
}
