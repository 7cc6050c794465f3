/* SPDX-License-Identifier: MIT */
/* clock.h — monotonic time in nanoseconds. */
#ifndef TS_ENGINE_CLOCK_H
#define TS_ENGINE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* now + delta, saturating at UINT64_MAX (which means "never"). */
static inline uint64_t clock_deadline(uint64_t now, uint64_t delta)
{
    return delta > UINT64_MAX - now ? UINT64_MAX : now + delta;
}

/* Sleeps until the monotonic time deadline (not UINT64_MAX). */
void clock_sleep_until(uint64_t deadline);

#endif
