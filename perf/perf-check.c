/* SPDX-License-Identifier: MIT */
/* perf-check [--hist-count N] FILE [SCENARIO...] — the perf tests' check of
 * a result file: it reads as a thespis-perf/2 report (which checks that
 * each histogram's buckets add up to its count and hold its min and max)
 * and every figure is sane: messages, seconds and msgs/s above zero; each
 * run's percentiles in order and p50 above 0; a latency scenario's
 * histogram not empty, its max the highest of the runs' max and its min
 * not above any run's p50; the machine described. With SCENARIO names:
 * each must be there and have run; with --hist-count N, each named one's
 * histogram must hold exactly N samples per repetition. Never a timing.
 * Exit 0, 1 with what is wrong on stderr, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static int problems;

static void wrong(const char *name, const char *what)
{
    fprintf(stderr, "perf-check: %s: %s\n", name, what);
    problems++;
}

static void check_latency(const struct scen_report *s)
{
    if (!s->h || !s->h->count)
        return wrong(s->name, "no histogram");
    for (unsigned k = 0; k < s->reps; k++) {
        for (int f = FIG_P50; f < FIG_MAX; f++)
            if (s->fig[k][f] > s->fig[k][f + 1])
                return wrong(s->name, "percentiles out of order");
        if (s->fig[k][FIG_P50] <= 0)
            return wrong(s->name, "p50 is 0");
    }
    if ((double)s->h->max != report_stat(s, FIG_MAX).max)
        wrong(s->name, "histogram max not the highest of the runs' max");
    if ((double)s->h->min > report_stat(s, FIG_P50).min)
        wrong(s->name, "histogram min above a run's p50");
}

static void check(const struct scen_report *s)
{
    if (s->status != 0)
        return;
    if (s->reps < 1)
        return wrong(s->name, "no repetition");
    for (unsigned k = 0; k < s->reps; k++)
        if (!(s->fig[k][FIG_SAMPLES] > 0) || !(s->fig[k][FIG_SECONDS] > 0) ||
            !(s->fig[k][FIG_MSGS] > 0))
            return wrong(s->name, "samples, seconds or msgs_per_s not above 0");
    if (s->kind == KIND_LATENCY)
        check_latency(s);
    if (s->kind == KIND_VALUE && (!(report_stat(s, FIG_VALUE).median > 0) || !s->unit[0]))
        wrong(s->name, "no value or unit");
    if (s->baseline[0] && !(report_stat(s, FIG_RATIO).median > 0))
        wrong(s->name, "a baseline without a ratio");
    if (s->kept_up >= 0 && !(s->rate > 0 && s->achieved >= 0))
        wrong(s->name, "open loop without its rate");
}

int main(int argc, char **argv)
{
    long long count = -1;
    if (argc >= 3 && strcmp(argv[1], "--hist-count") == 0) {
        char *end;
        count = strtoll(argv[2], &end, 10);
        if (!*argv[2] || *end || count < 0)
            count = -2;
        argc -= 2;
        argv += 2;
    }
    if (argc < 2 || count == -2)
        return fprintf(stderr, "usage: perf-check [--hist-count N] FILE [SCENARIO...]\n"), 2;
    struct report r;
    char err[256] = "";
    int rc = report_read(argv[1], &r, err, sizeof(err));
    if (rc < 0)
        return fprintf(stderr, "perf-check: %s: %s\n", argv[1], err[0] ? err : strerror(-rc)), 1;
    if (!r.m.cpu_model[0] || !r.m.kernel[0] || !r.m.build[0] || !r.m.idle[0] || !r.m.cores[0])
        wrong("machine", "a fact is missing");
    if (!r.n)
        wrong(argv[1], "no scenario");
    for (size_t i = 0; i < r.n; i++)
        check(&r.s[i]);
    for (int a = 2; a < argc; a++) {
        const struct scen_report *s = report_find(&r, argv[a]);
        if (!s || s->status != 0) {
            wrong(argv[a], s ? "did not run" : "missing");
        } else if (count >= 0 && (!s->h || s->h->count != (unsigned long long)count * s->reps)) {
            char what[96];
            snprintf(what, sizeof(what), "the histogram holds %llu samples, not %llu", s->h ?
                     (unsigned long long)s->h->count : 0ull, (unsigned long long)count * s->reps);
            wrong(argv[a], what);
        }
    }
    report_free(&r);
    return problems ? 1 : 0;
}
