/* SPDX-License-Identifier: MIT */
/* image_elf.c — header checks of a code image (image_elf.h). */
#include "image_elf.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__riscv)
#define HOST_MACHINE EM_RISCV
#else
#error "image_elf.c: add this machine's EM_ value"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

#if __SIZEOF_POINTER__ == 8
#define HOST_CLASS ELFCLASS64
#else
#define HOST_CLASS ELFCLASS32
#endif

static int refuse(char *why, size_t wlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t wlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (wlen)
        vsnprintf(why, wlen, fmt, ap);
    va_end(ap);
    return -ENOEXEC;
}

/* Whether [off, off + n * size) lies within len bytes, without overflow. */
static int within(uint64_t off, uint64_t n, uint64_t size, size_t len)
{
    if (size && n > UINT64_MAX / size)
        return 0;
    uint64_t end = n * size;
    return off <= len && end <= len - off;
}

int image_elf_check(const void *p, size_t len, char *why, size_t wlen)
{
    ElfW(Ehdr) eh;
    if (wlen)
        why[0] = '\0';
    if (len < EI_NIDENT || memcmp(p, ELFMAG, SELFMAG) != 0)
        return refuse(why, wlen, "not an ELF file (no \\177ELF at its start)");
    if (len < sizeof(eh))
        return refuse(why, wlen, "truncated: %zu bytes, less than an ELF header", len);
    memcpy(&eh, p, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != HOST_CLASS || eh.e_ident[EI_DATA] != HOST_DATA)
        return refuse(why, wlen, "an ELF file of another word size or byte order");
    if (eh.e_type != ET_DYN)
        return refuse(why, wlen, "not a shared object (ELF type %u)", (unsigned)eh.e_type);
    if (eh.e_machine != HOST_MACHINE)
        return refuse(why, wlen, "built for another machine (ELF machine %u)",
                      (unsigned)eh.e_machine);
    if (eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum == 0 || eh.e_phnum == PN_XNUM)
        return refuse(why, wlen, "malformed program headers (%u of %u bytes)",
                      (unsigned)eh.e_phnum, (unsigned)eh.e_phentsize);
    if (!within(eh.e_phoff, eh.e_phnum, sizeof(ElfW(Phdr)), len))
        return refuse(why, wlen, "truncated: its program headers end past its %zu bytes", len);
    if (eh.e_shnum &&
        (eh.e_shentsize != sizeof(ElfW(Shdr)) ||
         !within(eh.e_shoff, eh.e_shnum, sizeof(ElfW(Shdr)), len)))
        return refuse(why, wlen, "truncated: its section headers end past its %zu bytes", len);
    int loads = 0, dynamic = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;
        memcpy(&ph, (const unsigned char *)p + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD && ph.p_type != PT_DYNAMIC)
            continue;
        loads += ph.p_type == PT_LOAD;
        dynamic += ph.p_type == PT_DYNAMIC;
        if (!within(ph.p_offset, 1, ph.p_filesz, len))
            return refuse(why, wlen, "truncated: segment %u ends at byte %llu, past its %zu bytes",
                          i, (unsigned long long)ph.p_offset + (unsigned long long)ph.p_filesz,
                          len);
        if (ph.p_filesz > ph.p_memsz)
            return refuse(why, wlen, "malformed segment %u (more bytes in the file than in memory)",
                          i);
    }
    if (!loads || !dynamic)
        return refuse(why, wlen, "not a loadable shared object (no %s segment)",
                      loads ? "dynamic" : "loadable");
    return 0;
}
