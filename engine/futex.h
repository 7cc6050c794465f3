/* SPDX-License-Identifier: MIT */
/* futex.h — sleeping on a 32-bit word until another thread (or process:
 * the words may live in shared memory) changes it and wakes us. */
#ifndef TS_ENGINE_FUTEX_H
#define TS_ENGINE_FUTEX_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleeps while *word == expect, at most timeout_ns (UINT64_MAX: no limit). */
static inline void futex_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                          .tv_nsec = (long)(timeout_ns % 1000000000u)};
    syscall(SYS_futex, (uint32_t *)(uintptr_t)word, FUTEX_WAIT, expect,
            timeout_ns == UINT64_MAX ? NULL : &ts, NULL, 0);
}

static inline void futex_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)(uintptr_t)word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static inline void futex_wake_all(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)(uintptr_t)word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

#endif
