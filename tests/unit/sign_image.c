/* SPDX-License-Identifier: MIT */
/* sign_image.c — the smallest code image (tests/unit/authority_test.cc): an
 * init that registers nothing, so loading it in a test program that links
 * the static library drags no second copy of libthespis in. */
__attribute__((visibility("default"))) int thespis_image_init(void);
int thespis_image_init(void)
{
    return 0;
}
