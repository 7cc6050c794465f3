/* SPDX-License-Identifier: MIT */
/* Compiles <thespis/log.h> alone as C: the header must bring everything
 * it needs with it. Built with -Werror by tests/headers/meson.build. */
#include <thespis/log.h>
#include <stddef.h>

int ts_header_check_log_c(void);
int ts_header_check_log_c(void)
{
    ts_log_record rec = {TS_LOG_INFO, "TS-X", 0, "", 0, "text"};
    return (int)rec.level + (int)TS_LOG_OFF;
}
