/* SPDX-License-Identifier: MIT */
/*
 * driver.c — runs a fuzz target without libFuzzer, so every build (and the
 * ASan+UBSan one above all) exercises it in the default test suite.
 *   driver FILE...      replays inputs (crash reproducers, a corpus)
 *   driver [-n N] [-s SEED]
 *                       N seeded pseudo-random inputs: random bytes, and
 *                       valid system messages with bytes flipped, lengths
 *                       cut and fields overwritten
 * A real libFuzzer binary is built too when the compiler supports it
 * (CC=clang): see tests/fuzz/meson.build.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sysmsg_wire.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int replay(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
        return 1;
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return 0;
}

/* A valid payload for selector sel (0..2) into buf+1; returns its length+1. */
static size_t valid_input(uint8_t *buf, unsigned sel)
{
    static _Alignas(8) unsigned char orig_store[sizeof(ts_msg) + 64];
    ts_msg *orig = (ts_msg *)(void *)orig_store;
    orig->dst = rng();
    orig->src = rng();
    orig->type = rng();
    orig->len = (uint32_t)(rng() % 64);
    memset(orig + 1, 'a', orig->len);
    buf[0] = (uint8_t)sel;
    if (sel == 0) {
        child_exited_write(buf + 1, rng(), (int32_t)rng());
        return 1 + CHILD_EXITED_SIZE;
    }
    if (sel == 1) {
        poison_write(buf + 1, orig, -EIO, "fuzz reason");
        return 1 + poison_size(orig->len, strlen("fuzz reason"));
    }
    dead_letter_write(buf + 1, orig);
    return 1 + DEAD_LETTER_HDR + orig->len;
}

static void generated(unsigned long n)
{
    static uint8_t buf[4096];
    for (unsigned long i = 0; i < n; i++) {
        size_t len;
        if (i % 2) {
            len = 1 + rng() % 256;
            for (size_t k = 0; k < len; k++)
                buf[k] = (uint8_t)rng();
        } else {
            len = valid_input(buf, (unsigned)(rng() % 3));
            switch (rng() % 4) {
            case 0: len = 1 + rng() % len; break;                  /* cut */
            case 1: buf[1 + rng() % (len - 1)] ^= (uint8_t)rng(); break; /* flip */
            case 2: buf[1 + 20 + rng() % 8] = (uint8_t)rng(); break;     /* a length field */
            default: break;                                        /* as is */
            }
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
}

int main(int argc, char **argv)
{
    unsigned long n = 200000;
    rng_state = 0x9E3779B97F4A7C15u;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            rng_state = strtoull(argv[++i], NULL, 0) | 1;
        else {
            fprintf(stderr, "usage: %s [-n N] [-s SEED] [FILE...]\n", argv[0]);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (i < argc) {
        int rc = 0;
        for (; i < argc; i++)
            rc |= replay(argv[i]);
        return rc;
    }
    generated(n);
    printf("%lu inputs, no failure\n", n);
    return 0;
}
