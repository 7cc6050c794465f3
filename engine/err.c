/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include <thespis/thespis.h>

#include "err.h"

static _Thread_local char last_error[256] = "no error";

int err_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return code;
}

const char *ts_last_error(void)
{
    return last_error;
}
