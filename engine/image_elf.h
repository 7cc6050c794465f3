/* SPDX-License-Identifier: MIT */
/* image_elf.h — the checks an image's bytes pass before dlopen sees them:
 * an ELF shared object of this machine whose headers and loaded segments
 * all lie within the bytes (a truncated file would fault when mapped). */
#ifndef TS_ENGINE_IMAGE_ELF_H
#define TS_ENGINE_IMAGE_ELF_H

#include <stddef.h>

/* 0, or -ENOEXEC with what is wrong in why (len bytes, NUL-terminated).
 * Reads nothing outside p[0..len). */
int image_elf_check(const void *p, size_t len, char *why, size_t wlen);

#endif
