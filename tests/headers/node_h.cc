/* SPDX-License-Identifier: MIT */
/* Compiles <thespis/node.h> alone as C++: the header must bring everything
 * it needs with it. Built with -Werror by tests/headers/meson.build. */
#include <thespis/node.h>

int ts_header_check_node_cc();
int ts_header_check_node_cc()
{
    ts_node_status st = {};
    return (int)sizeof(st.shards[0]) + TS_NODE_MAX_SHARDS;
}
