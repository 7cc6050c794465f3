/* SPDX-License-Identifier: MIT */
/* Compiles <thespis/thespis.h> alone as C++: the header must bring everything
 * it needs with it. Built with -Werror by tests/headers/meson.build. */
#include <thespis/thespis.h>
#include <cstddef>

int ts_header_check_thespis_cc();
int ts_header_check_thespis_cc()
{
    ts_addr a = ts_addr_make(1, 2, 3, 4);
    ts_msg m = {a, TS_ADDR_NONE, 0, 0, 0};
    return (int)ts_addr_slot(a) + (int)sizeof(m) + (ts_msg_data(&m) != nullptr);
}
