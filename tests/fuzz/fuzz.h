/* SPDX-License-Identifier: MIT */
/* fuzz.h — the libFuzzer entry point every fuzz target defines. */
#ifndef TS_TESTS_FUZZ_H
#define TS_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
