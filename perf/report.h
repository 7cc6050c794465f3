/* SPDX-License-Identifier: MIT */
/* report.h — a run's results as figures: what the table prints, what the
 * JSON file holds and what --baseline reads back. Every figure of one
 * repetition comes from that repetition's histogram; a scenario's
 * histograms merge over its repetitions and are saved whole (non-zero
 * buckets), so a run can be analysed again later. */
#ifndef TS_PERF_REPORT_H
#define TS_PERF_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "hist.h"
#include "machine.h"

#define REPORT_MAXREP 100u
#define REPORT_SERIES 100u /* bins of the throughput-over-time series */
#define REPORT_RATE_MAX 1e9 /* the highest --rate, requests a second */
#define REPORT_DURATION_MAX 3600.0 /* the longest --duration, s */

enum fig_kind { KIND_LATENCY, KIND_THROUGHPUT, KIND_RATE, KIND_VALUE };

/* The figures of one repetition, selected by enum fig. */
enum fig { FIG_P50, FIG_P90, FIG_P99, FIG_P999, FIG_P9999, FIG_MAX, FIG_MSGS, FIG_VALUE,
           FIG_RATIO, FIG_SAMPLES, FIG_SECONDS, FIG_N };
#define FIG_PCT_N 6 /* FIG_P50 .. FIG_MAX */

extern const double report_pcts[FIG_PCT_N - 1];     /* 50, 90, 99, 99.9, 99.99 */
extern const char *const report_fig_names[FIG_N];   /* "p50_ns", ... */

struct scen_report {
    char name[64], baseline[64], unit[24], why[160];
    enum fig_kind kind;
    int status;                        /* 0 ran, -ENOTSUP n/a, another -errno failed */
    unsigned reps;
    double fig[REPORT_MAXREP][FIG_N];  /* per repetition; FIG_RATIO 0: no baseline */
    struct hist *h;                    /* merged over repetitions, NULL: none */
    double rate, achieved;             /* open loop: requested and achieved msgs/s */
    int kept_up;                       /* open loop: 1 or 0; -1 closed loop */
    double bin_s;                      /* the series' bin width, s */
    unsigned nbins;
    double series[REPORT_SERIES];      /* messages per bin (the last repetition) */
};

struct report {
    struct machine m;
    char base[16];
    double duration_s, rate;           /* rate: --rate, 0 closed loop */
    unsigned repeat;
    int cores[2];
    struct scen_report *s;
    size_t n;
};

struct stat3 {
    double median, min, max;
};

/* The median and range of figure f over s's repetitions (zeros if none). */
struct stat3 report_stat(const struct scen_report *s, enum fig f);
/* (max - min) / median of f, 0 when the median is 0 or with one repetition. */
double report_spread(const struct scen_report *s, enum fig f);
const char *report_kind_name(enum fig_kind k);

/* Appends a scenario (zeroed, kept_up -1); NULL when out of memory. */
struct scen_report *report_add(struct report *r, const char *name);
const struct scen_report *report_find(const struct report *r, const char *name);
void report_free(struct report *r);

/* Writes r as JSON. 0 or -errno. */
int report_write(FILE *f, const struct report *r);
/* Reads a JSON file written by report_write into r (zeroed first).
 * 0, -EINVAL when it is not such a file (err says why; also when a number
 * is out of what the writer writes: cores 0..CPU_SETSIZE-1, repeat 1..
 * REPORT_MAXREP, rates 0..REPORT_RATE_MAX, figures negative or not finite,
 * histogram buckets not [whole ns, count from 1] in order, counts adding up
 * to more than 2^53, min_ns or max_ns outside the lowest or highest
 * bucket), -ENOMEM or the file's -errno. */
int report_read(const char *path, struct report *r, char *err, size_t errlen);
int report_read_text(const char *text, size_t len, struct report *r, char *err, size_t errlen);

#endif
