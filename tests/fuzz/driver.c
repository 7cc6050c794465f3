/* SPDX-License-Identifier: MIT */
/*
 * driver.c — runs a fuzz target without libFuzzer, so every build (and the
 * ASan+UBSan one above all) exercises it in the default test suite.
 *   driver FILE...      replays inputs (crash reproducers, a corpus)
 *   driver [-n N] [-s SEED]
 *                       N seeded pseudo-random inputs: random bytes, and
 *                       the target's valid inputs (FuzzValidInput) with
 *                       bytes flipped, lengths cut and fields overwritten
 * A real libFuzzer binary is built too when the compiler supports it
 * (CC=clang): see tests/fuzz/meson.build.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

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
            len = FuzzValidInput(buf, sizeof(buf), rng);
            if (len < 2)
                continue;
            switch (rng() % 4) {
            case 0: len = 1 + rng() % len; break;                        /* cut */
            case 1: buf[1 + rng() % (len - 1)] ^= (uint8_t)rng(); break; /* flip */
            case 2: {                                                    /* a field overwritten */
                size_t at = 1 + rng() % (len - 1);
                uint32_t v = (uint32_t)rng();
                memcpy(buf + at, &v, len - at < 4 ? len - at : 4);
                break;
            }
            default: break; /* as is */
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
