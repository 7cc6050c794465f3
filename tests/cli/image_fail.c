/* SPDX-License-Identifier: MIT */
/* image_fail.c — a code image whose init returns $CLITEST_IMAGE_RC (0 when
 * unset), read anew on every load, so one image tests every outcome. */
#include <stdlib.h>

#include <thespis/node.h>

__attribute__((visibility("default"))) int thespis_image_init(void);
int thespis_image_init(void)
{
    const char *rc = getenv("CLITEST_IMAGE_RC");

    return rc ? atoi(rc) : 0;
}
