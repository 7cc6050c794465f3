/* SPDX-License-Identifier: MIT */
/* log.c — log records: level filter, text or JSON formatting, and the
 * stderr, file and callback sinks. Records are formatted into a stack
 * buffer and written with one call, so lines never interleave. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "system.h"

static const char *const level_names[] = {"debug", "info", "warning", "error", "off"};

const char *ts_log_level_name(ts_log_level level)
{
    return (unsigned)level <= TS_LOG_OFF ? level_names[level] : "?";
}

int ts_log_level_parse(const char *name, ts_log_level *out)
{
    for (unsigned i = 0; name && out && i <= TS_LOG_OFF; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (ts_log_level)i;
            return 0;
        }
    }
    return err_set(-EINVAL, "unknown log level '%s' (debug, info, warning, error, off)",
                   name ? name : "(null)");
}

int logger_open(struct logger *lg, const ts_log_config *cfg)
{
    memset(lg, 0, sizeof(*lg));
    lg->cfg = *cfg;
    if ((unsigned)cfg->level > TS_LOG_OFF || (unsigned)cfg->format > TS_LOG_FORMAT_JSON)
        return err_set(-EINVAL, "bad log level or format");
    switch (cfg->sink) {
    case TS_LOG_SINK_STDERR:
        return 0;
    case TS_LOG_SINK_CALLBACK:
        return cfg->fn ? 0 : err_set(-EINVAL, "log sink 'callback' needs log.fn");
    case TS_LOG_SINK_FILE:
        if (!cfg->path || !*cfg->path)
            return err_set(-EINVAL, "log sink 'file' needs log.path");
        lg->path = strdup(cfg->path);
        lg->file = lg->path ? fopen(lg->path, "ae") : NULL;
        if (!lg->file)
            return err_set(-errno, "cannot open log file '%s': %s", cfg->path, strerror(errno));
        lg->cfg.path = lg->path;
        return 0;
    }
    return err_set(-EINVAL, "unknown log sink %d", (int)cfg->sink);
}

void logger_close(struct logger *lg)
{
    if (lg->file)
        fclose(lg->file);
    free(lg->path);
    lg->file = NULL;
    lg->path = NULL;
}

/* Appends s to buf as a JSON string body. */
static size_t json_escape(char *buf, size_t cap, size_t off, const char *s)
{
    for (; *s && off + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            off += (size_t)snprintf(buf + off, cap - off, "\\%c", c);
        else if (c < 0x20)
            off += (size_t)snprintf(buf + off, cap - off, "\\u%04x", c);
        else
            buf[off++] = (char)c;
    }
    buf[off] = '\0';
    return off;
}

static void format_line(char *buf, size_t cap, const struct logger *lg,
                        const ts_log_record *r)
{
    char when[40], addr[32];
    time_t sec = (time_t)(r->time_ns / 1000000000u);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03uZ", (unsigned)(r->time_ns / 1000000u % 1000u));
    if (r->actor)
        ts_addr_format(r->actor, addr, sizeof(addr));
    else
        snprintf(addr, sizeof(addr), "system");
    if (lg->cfg.format == TS_LOG_FORMAT_TEXT) {
        snprintf(buf, cap, "%s %-7s [%s%s%s]%s%s %s\n", when, ts_log_level_name(r->level), addr,
                 *r->actor_type ? " " : "", r->actor_type, r->id ? " " : "", r->id ? r->id : "",
                 r->text);
        return;
    }
    size_t off = (size_t)snprintf(buf, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"actor\":\"%s\",\"type\":\"",
                                  when, ts_log_level_name(r->level), addr);
    off = json_escape(buf, cap, off, r->actor_type);
    off += (size_t)snprintf(buf + off, cap - off, "\",\"id\":\"%s\",\"text\":\"", r->id ? r->id : "");
    off = json_escape(buf, cap, off, r->text);
    snprintf(buf + off, cap - off, "\"}\n");
}

void logger_vwrite(struct logger *lg, ts_log_level level, const char *id, ts_addr actor,
                   const char *type, const char *fmt, va_list ap)
{
    if (!logger_on(lg, level))
        return;
    char text[1024], line[2560];
    vsnprintf(text, sizeof(text), fmt, ap);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ts_log_record r = {.level = level, .id = id, .actor = actor, .actor_type = type ? type : "",
                       .time_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec,
                       .text = text};
    if (lg->cfg.sink == TS_LOG_SINK_CALLBACK) {
        lg->cfg.fn(lg->cfg.user, &r);
        return;
    }
    format_line(line, sizeof(line), lg, &r);
    FILE *f = lg->cfg.sink == TS_LOG_SINK_FILE ? lg->file : stderr;
    fputs(line, f);
    fflush(f);
}

void logger_write(struct logger *lg, ts_log_level level, const char *id, ts_addr actor,
                  const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    logger_vwrite(lg, level, id, actor, type, fmt, ap);
    va_end(ap);
}

void system_log(struct ts_system *sys, ts_log_level level, const char *id, ts_addr actor,
                const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    logger_vwrite(&sys->log, level, id, actor, type, fmt, ap);
    va_end(ap);
}

void ts_log(ts_ctx *ctx, ts_log_level level, const char *fmt, ...)
{
    if (!ctx || !fmt || !logger_on(&ctx->sys->log, level))
        return;
    va_list ap;
    va_start(ap, fmt);
    logger_vwrite(&ctx->sys->log, level, NULL, ctx->self, ctx->a->type->type->name, fmt, ap);
    va_end(ap);
}

void ts_system_log(ts_system *sys, ts_log_level level, const char *fmt, ...)
{
    if (!sys || !fmt || !logger_on(&sys->log, level))
        return;
    va_list ap;
    va_start(ap, fmt);
    logger_vwrite(&sys->log, level, NULL, TS_ADDR_NONE, "", fmt, ap);
    va_end(ap);
}
