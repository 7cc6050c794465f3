/* SPDX-License-Identifier: MIT */
/*
 * thespis/log.h — logging, from handlers and from the engine itself.
 *
 * Every record carries a level, the address and type name of the actor that
 * logged it (or none, for the engine's own records), and for the engine's
 * records a stable id operators can search for ("TS-RESTART"). Where records
 * go is set once, in ts_config.log, when the system is opened.
 */
#ifndef THESPIS_LOG_H
#define THESPIS_LOG_H

#include <stdint.h>

#include <thespis/export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t ts_addr;
typedef struct ts_ctx ts_ctx;
typedef struct ts_system ts_system;

typedef enum ts_log_level {
    TS_LOG_DEBUG = 0,
    TS_LOG_INFO,
    TS_LOG_WARNING,
    TS_LOG_ERROR,
    TS_LOG_OFF, /* as a minimum level: log nothing */
} ts_log_level;

typedef enum ts_log_sink {
    TS_LOG_SINK_STDERR = 0,
    TS_LOG_SINK_FILE,     /* appends to ts_log_config.path */
    TS_LOG_SINK_CALLBACK, /* calls ts_log_config.fn */
} ts_log_sink;

typedef enum ts_log_format {
    TS_LOG_FORMAT_TEXT = 0, /* "2026-11-23T18:49:46.123Z warning [0.0.5.1 examples.Hello] TS-ID text" */
    TS_LOG_FORMAT_JSON,     /* one JSON object per line */
} ts_log_format;

/* One log record, as a callback sink sees it. Every pointer is valid only
 * during the callback. */
typedef struct ts_log_record {
    ts_log_level level;
    const char *id;         /* stable id of an engine record ("TS-POISON"), or NULL */
    ts_addr actor;          /* the actor that logged, or TS_ADDR_NONE (0) */
    const char *actor_type; /* its type name, or "" */
    uint64_t time_ns;       /* CLOCK_REALTIME */
    const char *text;
} ts_log_record;

typedef void (*ts_log_fn)(void *user, const ts_log_record *rec);

typedef struct ts_log_config {
    ts_log_level level;   /* minimum level written; default TS_LOG_WARNING */
    ts_log_sink sink;
    ts_log_format format; /* for the stderr and file sinks */
    const char *path;     /* TS_LOG_SINK_FILE: the file, opened for append */
    ts_log_fn fn;         /* TS_LOG_SINK_CALLBACK: called for every record */
    void *user;           /* handed to fn */
} ts_log_config;

/* Logs from inside a handler (or init/fini); the record carries the actor's
 * address and type name. Records below the configured level cost one
 * comparison. */
TS_API void ts_log(ts_ctx *ctx, ts_log_level level, const char *fmt, ...) TS_PRINTF(3, 4);

/* Logs on behalf of the system itself (no actor). */
TS_API void ts_system_log(ts_system *sys, ts_log_level level, const char *fmt, ...)
    TS_PRINTF(3, 4);

/* Writes every record logged so far to the sink before returning. On the
 * pinned base, shards hand records to a logger thread (so logging never
 * blocks them); call this before reading a file or callback sink to see
 * everything logged up to now. Returns 0 or -EINVAL. */
TS_API int ts_log_flush(ts_system *sys);

/* "debug", "info", "warning", "error", "off"; "?" for other values. */
TS_API const char *ts_log_level_name(ts_log_level level);

/* Parses a level name (as above, case-insensitive). Returns 0 or -EINVAL. */
TS_API int ts_log_level_parse(const char *name, ts_log_level *out);

#ifdef __cplusplus
}
#endif

#endif /* THESPIS_LOG_H */
