/* SPDX-License-Identifier: MIT */
/* fuzz.h — the libFuzzer entry point every fuzz target defines. */
#ifndef TS_TESTS_FUZZ_H
#define TS_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* For the seeded driver: writes a well-formed input of the target's kind
 * (at most cap bytes) for it to mutate, and returns its length. */
size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void));

#endif
