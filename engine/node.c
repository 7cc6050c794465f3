/* SPDX-License-Identifier: MIT */
/* node.c — a running node's status and stop, by name (thespis/node.h). */
#include <errno.h>

#include <thespis/node.h>

#include "err.h"

int ts_node_status_get(const char *name, ts_node_status *out)
{
    if (!name || !out)
        return err_set(-EINVAL, "ts_node_status_get: NULL argument");
    return err_set(-ENOENT, "no node named '%s'", name);
}

int ts_node_stop(const char *name, uint64_t timeout_ns)
{
    (void)timeout_ns;
    if (!name)
        return err_set(-EINVAL, "ts_node_stop: NULL name");
    return err_set(-ENOENT, "no node named '%s'", name);
}
