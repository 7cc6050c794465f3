/* SPDX-License-Identifier: MIT */
/* image_noinit.c — a shared object that is not a code image: it exports a
 * function, but not thespis_image_init. ts_image_load must refuse it. */
__attribute__((visibility("default"))) int clitest_not_an_image(void);
int clitest_not_an_image(void)
{
    return 0;
}
