/* SPDX-License-Identifier: MIT */
/* err.h — the one error channel: -errno returns plus a thread-local message. */
#ifndef TS_ENGINE_ERR_H
#define TS_ENGINE_ERR_H

#include <thespis/export.h>

/* Records a human-readable message for ts_last_error() and returns code
 * (a negative errno), so failures read `return err_set(-EINVAL, "...")`. */
int err_set(int code, const char *fmt, ...) TS_PRINTF(2, 3);

#endif
