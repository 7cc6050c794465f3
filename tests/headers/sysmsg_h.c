/* SPDX-License-Identifier: MIT */
/* Compiles <thespis/sysmsg.h> alone as C: the header must bring everything
 * it needs with it. Built with -Werror by tests/headers/meson.build. */
#include <thespis/sysmsg.h>
#include <stddef.h>

int ts_header_check_sysmsg_c(void);
int ts_header_check_sysmsg_c(void)
{
    ts_child_exited ce = {TS_ADDR_NONE, 0};
    return (int)sizeof(ts_poison) + (int)sizeof(ts_dead_letter) + ce.status +
           (TS_MSG_POISON != 0);
}
