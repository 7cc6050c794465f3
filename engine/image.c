/* SPDX-License-Identifier: MIT */
/* image.c — code images: shared objects that register actor types. */
#include <errno.h>

#include <thespis/node.h>

#include "err.h"

int ts_image_load(const char *path)
{
    if (!path || !*path)
        return err_set(-EINVAL, "ts_image_load: NULL or empty path");
    return err_set(-ENOSYS, "ts_image_load: not built yet");
}
