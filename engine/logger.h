/* SPDX-License-Identifier: MIT */
/* logger.h — the sink behind ts_log and the engine's own records. */
#ifndef TS_ENGINE_LOGGER_H
#define TS_ENGINE_LOGGER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <thespis/log.h>

struct logger {
    ts_log_config cfg;
    char *path; /* owned copy of cfg.path */
    FILE *file; /* TS_LOG_SINK_FILE */
};

/* Validates cfg and opens the sink. Returns 0, -EINVAL or -errno of fopen. */
int logger_open(struct logger *lg, const ts_log_config *cfg);
void logger_close(struct logger *lg);

static inline bool logger_on(const struct logger *lg, ts_log_level level)
{
    return level >= lg->cfg.level && level < TS_LOG_OFF;
}

/* Writes one record. id is a stable engine id or NULL; actor/type may be 0/"". */
void logger_vwrite(struct logger *lg, ts_log_level level, const char *id, ts_addr actor,
                   const char *type, const char *fmt, va_list ap);
void logger_write(struct logger *lg, ts_log_level level, const char *id, ts_addr actor,
                  const char *type, const char *fmt, ...) TS_PRINTF(6, 7);

#endif
