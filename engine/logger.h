/* SPDX-License-Identifier: MIT */
/* logger.h — the sink behind ts_log and the engine's own records. */
#ifndef TS_ENGINE_LOGGER_H
#define TS_ENGINE_LOGGER_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include <thespis/log.h>

struct ring;

/* A shard's log records on their way to the sink: the shard produces into
 * the ring without a lock or a syscall; the logger thread consumes. A full
 * ring drops the record and counts it (never blocks a shard). */
struct log_queue {
    struct ring *ring;
    _Atomic uint64_t dropped;
    uint64_t reported; /* consumer side: drops already logged */
};

struct logger {
    ts_log_config cfg;
    char *path;            /* owned copy of cfg.path */
    FILE *file;            /* TS_LOG_SINK_FILE */
    pthread_mutex_t lock;  /* serialises the sink and the queues' consumer side */
    struct log_queue *queues;
    unsigned nqueues;
    /* Optional: queues shared with other processes are drained by one at a
     * time; gate(arg, true) says whether this process may drain now (and
     * takes their lock), gate(arg, false) gives the lock back. */
    bool (*gate)(void *arg, bool enter);
    void *gate_arg;
    /* Optional: sees every record of level warning and above as it is
     * written, under lock (a convention member forwards them to its
     * leader). It must not log. */
    void (*tap)(void *arg, const ts_log_record *r);
    void *tap_arg;
    pthread_t thread;
    bool thread_started;
    _Atomic bool stop;
};

/* Validates cfg and opens the sink. Returns 0, -EINVAL or -errno of fopen. */
int logger_open(struct logger *lg, const ts_log_config *cfg);
void logger_close(struct logger *lg);

static inline bool logger_on(const struct logger *lg, ts_log_level level)
{
    return level >= lg->cfg.level && level < TS_LOG_OFF;
}

/* Starts the logger thread over n shard queues (each ring set up). */
int logger_start(struct logger *lg, struct log_queue *queues, unsigned n);
/* Stops the logger thread after a last drain. Safe if never started. */
void logger_stop(struct logger *lg);
/* Drains a queue of another process's shard once (the caller serialises). */
bool logger_drain_queue(struct logger *lg, struct log_queue *q);
/* Makes the calling thread (a shard) log through q from now on. */
void logger_bind(struct logger *lg, struct log_queue *q);
/* Writes every queued record to the sink now. */
void logger_flush(struct logger *lg);

/* Writes one record (through the calling shard's queue, if it has one).
 * id is a stable engine id or NULL; actor/type may be 0/"". */
void logger_vwrite(struct logger *lg, ts_log_level level, const char *id, ts_addr actor,
                   const char *type, const char *fmt, va_list ap) TS_PRINTF(6, 0);
void logger_write(struct logger *lg, ts_log_level level, const char *id, ts_addr actor,
                  const char *type, const char *fmt, ...) TS_PRINTF(6, 7);

#endif
