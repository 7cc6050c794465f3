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

#include "../shm/ring.h"
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
    pthread_mutex_init(&lg->lock, NULL);
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
    logger_stop(lg);
    pthread_mutex_destroy(&lg->lock);
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

/* Hands a record to the sink. Call with lg->lock held. */
static void sink_write(struct logger *lg, const ts_log_record *r)
{
    if (lg->tap && r->level >= TS_LOG_WARNING)
        lg->tap(lg->tap_arg, r);
    if (lg->cfg.sink == TS_LOG_SINK_CALLBACK) {
        lg->cfg.fn(lg->cfg.user, r);
        return;
    }
    char line[2560];
    format_line(line, sizeof(line), lg, r);
    FILE *f = lg->cfg.sink == TS_LOG_SINK_FILE ? lg->file : stderr;
    fputs(line, f);
    fflush(f);
}

/* A record in a shard's log ring: this header, the actor type name and the
 * text, each with its NUL. id points at a string constant of the engine. */
struct log_rec {
    uint64_t time_ns;
    ts_addr actor;
    const char *id;
    int32_t level;
    uint32_t type_len;
};

static _Thread_local struct log_queue *log_tls; /* the calling shard's queue */
static _Thread_local const struct logger *log_tls_owner;

static void enqueue(struct log_queue *q, const ts_log_record *r)
{
    size_t type_len = strlen(r->actor_type) + 1, text_len = strlen(r->text) + 1;
    struct log_rec *rec = ring_reserve(q->ring, sizeof(*rec) + type_len + text_len, 0);
    if (!rec) {
        atomic_store_explicit(&q->dropped, atomic_load_explicit(&q->dropped, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        return;
    }
    *rec = (struct log_rec){.time_ns = r->time_ns, .actor = r->actor, .id = r->id,
                            .level = (int32_t)r->level, .type_len = (uint32_t)type_len};
    memcpy(rec + 1, r->actor_type, type_len);
    memcpy((char *)(rec + 1) + type_len, r->text, text_len);
    ring_publish(q->ring); /* a release store: no syscall */
}

void logger_vwrite(struct logger *lg, ts_log_level level, const char *id, ts_addr actor,
                   const char *type, const char *fmt, va_list ap)
{
    if (!logger_on(lg, level))
        return;
    char text[1024];
    vsnprintf(text, sizeof(text), fmt, ap);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ts_log_record r = {.level = level, .id = id, .actor = actor, .actor_type = type ? type : "",
                       .time_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec,
                       .text = text};
    if (log_tls && log_tls_owner == lg) {
        enqueue(log_tls, &r);
        return;
    }
    pthread_mutex_lock(&lg->lock);
    sink_write(lg, &r);
    pthread_mutex_unlock(&lg->lock);
}

/* Writes what one queue holds, and how many records it dropped; returns
 * whether there was anything. Locked. */
bool logger_drain_queue(struct logger *lg, struct log_queue *q)
{
    uint32_t len, flags;
    bool took = false;
    for (struct log_rec *rec; (rec = ring_front(q->ring, &len, &flags)); ring_pop(q->ring)) {
        const char *type = (const char *)(rec + 1);
        ts_log_record r = {.level = (ts_log_level)rec->level, .id = rec->id, .actor = rec->actor,
                           .actor_type = type, .time_ns = rec->time_ns, .text = type + rec->type_len};
        sink_write(lg, &r);
        took = true;
    }
    if (took)
        ring_release(q->ring);
    uint64_t dropped = atomic_load_explicit(&q->dropped, memory_order_relaxed);
    if (dropped != q->reported) {
        char text[128];
        snprintf(text, sizeof(text), "%llu log records dropped: the shard's log ring was full",
                 (unsigned long long)(dropped - q->reported));
        ts_log_record r = {.level = TS_LOG_WARNING, .id = "TS-LOG-DROPPED", .actor_type = "",
                           .text = text};
        sink_write(lg, &r);
        q->reported = dropped;
    }
    return took;
}

static bool drain_all(struct logger *lg)
{
    bool took = false;
    if (lg->gate && !lg->gate(lg->gate_arg, true))
        return false;
    pthread_mutex_lock(&lg->lock);
    for (unsigned i = 0; i < lg->nqueues; i++)
        took |= logger_drain_queue(lg, &lg->queues[i]);
    pthread_mutex_unlock(&lg->lock);
    if (lg->gate)
        lg->gate(lg->gate_arg, false);
    return took;
}

void logger_flush(struct logger *lg)
{
    drain_all(lg);
}

/* Polls the shards' queues: every 1 ms while records come, backing off to
 * every 64 ms while none do, so an idle logger rarely takes a shard's core. */
static void *logger_main(void *arg)
{
    struct logger *lg = arg;
    long pause_ms = 1;
    while (!atomic_load_explicit(&lg->stop, memory_order_acquire)) {
        pause_ms = drain_all(lg) ? 1 : (pause_ms < 64 ? 2 * pause_ms : 64);
        struct timespec pause = {.tv_nsec = pause_ms * 1000000};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int logger_start(struct logger *lg, struct log_queue *queues, unsigned n)
{
    lg->queues = queues;
    lg->nqueues = n;
    int rc = pthread_create(&lg->thread, NULL, logger_main, lg);
    if (rc)
        return err_set(-rc, "cannot start the logger thread: %s", strerror(rc));
    lg->thread_started = true;
    return 0;
}

void logger_stop(struct logger *lg)
{
    if (lg->thread_started) {
        atomic_store_explicit(&lg->stop, true, memory_order_release);
        pthread_join(lg->thread, NULL);
        lg->thread_started = false;
    }
    logger_flush(lg);
    lg->nqueues = 0;
}

void logger_bind(struct logger *lg, struct log_queue *q)
{
    log_tls = q;
    log_tls_owner = lg;
}

int ts_log_flush(ts_system *sys)
{
    if (!sys)
        return err_set(-EINVAL, "ts_log_flush: NULL system");
    logger_flush(&sys->log);
    return 0;
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
