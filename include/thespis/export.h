/* SPDX-License-Identifier: MIT */
/* thespis/export.h — symbol visibility for the public API. */
#ifndef THESPIS_EXPORT_H
#define THESPIS_EXPORT_H

/* TS_API marks a function as part of libthespis's exported ABI. Everything else
 * in the library is built with -fvisibility=hidden and stays private. */
#if defined(TS_BUILDING_LIBRARY) && defined(__GNUC__)
#define TS_API __attribute__((visibility("default")))
#else
#define TS_API
#endif

#if defined(__GNUC__)
#define TS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TS_PRINTF(fmt, args)
#endif

/* A compile-time check that reads the same in C and C++. */
#ifdef __cplusplus
#define TS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define TS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#endif /* THESPIS_EXPORT_H */
