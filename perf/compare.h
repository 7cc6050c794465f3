/* SPDX-License-Identifier: MIT */
/* compare.h — the --baseline gate: this run's figures against a saved
 * run's, a pure function of the two reports. */
#ifndef TS_PERF_COMPARE_H
#define TS_PERF_COMPARE_H

#include <stddef.h>
#include <stdio.h>

#include "report.h"

struct cmp_row {
    char name[64];
    enum fig figure;
    double before, after;  /* the medians */
    double ratio;          /* after / before */
    double worse_pct;      /* how much worse after is, in percent (negative: better) */
    double allowed_pct;    /* max_regress_pct plus this run's spread of the figure */
    int regress;           /* worse_pct > allowed_pct */
    int skipped;           /* not compared: open loop, it kept up in one run and not in the
                            * other (only name is set) */
};

/* Compares after with before, scenario by scenario (those that ran in
 * both; one that kept up with --rate in one and not in the other gets a
 * skipped row instead). By ratio (absolute 0): each scenario's ratio to its bare baseline
 * of the same run (higher is worse for latency, lower for throughput);
 * scenarios without one are not compared. Absolute: latency p50 and p99,
 * msgs/s of throughput and rate scenarios, a value scenario's value (higher
 * is worse). A figure regresses when it is worse by more than
 * max_regress_pct percent plus the spread of the figure over this run's
 * repetitions ((max - min) / median, in percent). Fills up to cap rows and
 * returns how many there are; *regressions counts those that regress. The
 * reports must have been made with the same --rate (report.rate): the
 * caller checks. */
size_t compare_reports(const struct report *before, const struct report *after, int absolute,
                       double max_regress_pct, struct cmp_row *rows, size_t cap,
                       unsigned *regressions);

/* The number of rows that compare a figure (not skipped). */
size_t compare_count(const struct cmp_row *rows, size_t n);
/* Whether a row compares scenario name. */
int compare_has(const struct cmp_row *rows, size_t n, const char *name);
/* The table of rows: scenario, figure, before, after, ratio, verdict. */
void compare_print(FILE *f, const struct cmp_row *rows, size_t n, double max_regress_pct);

#endif
