/* SPDX-License-Identifier: MIT */
/* image_fuzz.c — fuzz target for what a node reads of a code image before
 * any of its code runs: the ELF header checks (image_elf.h), and the image
 * system messages' decoders (thespis/image.h) on the same bytes as a
 * payload.
 *
 * Invariants: the checks read nothing outside the input (ASan says) and
 * accept it only if its program and section header tables and every
 * loadable or dynamic segment lie within it, as an independent reading
 * here finds; a decoder that accepts a payload gives pointers and lengths
 * within it, and a ValidatedImage written back from what was decoded
 * decodes to the same. */
#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/image.h>

#include "fuzz.h"
#include "image_elf.h"
#include "image_wire.h"

#define CHECK(cond)           \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

static bool inside(uint64_t off, uint64_t n, size_t len)
{
    return off <= len && n <= len - off;
}

/* The independent reading: whether an accepted input is whole. */
static void check_accepted(const uint8_t *p, size_t len)
{
    ElfW(Ehdr) eh;
    CHECK(len >= sizeof(eh));
    memcpy(&eh, p, sizeof(eh));
    CHECK(memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_type == ET_DYN);
    CHECK(eh.e_phnum > 0 && inside(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(ElfW(Phdr)), len));
    CHECK(!eh.e_shnum || inside(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(ElfW(Shdr)), len));
    bool load = false, dyn = false;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;
        memcpy(&ph, p + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_LOAD || ph.p_type == PT_DYNAMIC)
            CHECK(inside(ph.p_offset, ph.p_filesz, len));
        load |= ph.p_type == PT_LOAD;
        dyn |= ph.p_type == PT_DYNAMIC;
    }
    CHECK(load && dyn);
}

static void decode_as(uint64_t type, const uint8_t *data, size_t size)
{
    ts_msg *m = aligned_alloc(8, sizeof(ts_msg) + ((size + 7) & ~(size_t)7) + 8);
    if (!m)
        return;
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->len = (uint32_t)size;
    memcpy(m + 1, data, size);
    const unsigned char *lo = (const unsigned char *)(m + 1), *hi = lo + size;
    ts_validate_image v;
    ts_validated_image d;
    ts_image_event ev;
    if (type == TS_MSG_VALIDATE_IMAGE && ts_validate_image_decode(m, &v) == 0) {
        CHECK((const unsigned char *)v.bytes >= lo && v.len <= (size_t)(hi - lo));
        CHECK((const unsigned char *)v.bytes + v.len <= hi);
        CHECK(!v.sig_len || (const unsigned char *)v.sig + v.sig_len == hi);
    }
    if (type == TS_MSG_VALIDATED_IMAGE && ts_validated_image_decode(m, &d) == 0) {
        CHECK((const unsigned char *)d.reason >= lo && (const unsigned char *)d.reason < hi);
        CHECK(strlen(d.reason) == d.reason_len);
        unsigned char back[VALIDATED_HDR + VALIDATED_REASON_MAX + 1];
        size_t n = validated_image_write(back, &d.id, d.ok, d.reason);
        CHECK(n == size && memcmp(back, data, size) == 0);
    }
    if (type == TS_MSG_IMAGE_LOADED && ts_image_event_decode(m, &ev) == 0)
        CHECK(size == IMAGE_EVENT_LEN);
    /* The fetch's frames (image_fetch.c) read the same payloads under other
     * types: the readers accept exactly what the decoders do. */
    ts_validate_image v2;
    ts_validated_image d2;
    if (type == TS_MSG_VALIDATE_IMAGE)
        CHECK((validate_image_read(lo, size, &v2) == 0) == (ts_validate_image_decode(m, &v) == 0));
    if (type == TS_MSG_VALIDATED_IMAGE)
        CHECK((validated_image_read(lo, size, &d2) == 0) ==
              (ts_validated_image_decode(m, &d) == 0));
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160];
    if (image_elf_check(data, size, why, sizeof(why)) == 0)
        check_accepted(data, size);
    else
        CHECK(why[0] != '\0' && strlen(why) < sizeof(why));
    if (size <= 1 << 16) {
        decode_as(TS_MSG_VALIDATE_IMAGE, data, size);
        decode_as(TS_MSG_VALIDATED_IMAGE, data, size);
        decode_as(TS_MSG_IMAGE_LOADED, data, size);
    }
    return 0;
}

/* A minimal whole shared object's headers: one loadable and one dynamic
 * segment and two section headers, within the bytes; tail random. */
size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void))
{
    size_t len = sizeof(ElfW(Ehdr)) + 2 * sizeof(ElfW(Phdr)) + 2 * sizeof(ElfW(Shdr)) + 64;
    if (cap < len)
        return 0;
    memset(buf, 0, len);
    ElfW(Ehdr) eh = {.e_type = ET_DYN, .e_version = EV_CURRENT,
                     .e_phoff = sizeof(ElfW(Ehdr)), .e_phentsize = sizeof(ElfW(Phdr)),
                     .e_phnum = 2, .e_ehsize = sizeof(ElfW(Ehdr))};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = __SIZEOF_POINTER__ == 8 ? ELFCLASS64 : ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
#if defined(__x86_64__)
    eh.e_machine = EM_X86_64;
#elif defined(__aarch64__)
    eh.e_machine = EM_AARCH64;
#endif
    eh.e_shoff = sizeof(ElfW(Ehdr)) + 2 * sizeof(ElfW(Phdr));
    eh.e_shentsize = sizeof(ElfW(Shdr));
    eh.e_shnum = 2;
    memcpy(buf, &eh, sizeof(eh));
    ElfW(Phdr) ph[2] = {{.p_type = PT_LOAD, .p_offset = 0, .p_filesz = len, .p_memsz = len},
                        {.p_type = PT_DYNAMIC, .p_offset = len - 64, .p_filesz = 64,
                         .p_memsz = 64}};
    memcpy(buf + eh.e_phoff, ph, sizeof(ph));
    for (size_t i = len - 64; i < len; i++)
        buf[i] = (uint8_t)rng();
    return len;
}
