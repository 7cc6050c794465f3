/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "compare.h"

static int higher_is_worse(const struct scen_report *s, enum fig f)
{
    if (f == FIG_MSGS)
        return 0;
    if (f == FIG_RATIO)
        return s->kind == KIND_LATENCY || s->kind == KIND_VALUE;
    return 1;
}

static size_t add_row(const struct scen_report *b, const struct scen_report *a, enum fig f,
                      double max_pct, struct cmp_row *rows, size_t n, size_t cap,
                      unsigned *regressions)
{
    double before = report_stat(b, f).median, after = report_stat(a, f).median;
    if (!(before > 0) || !(after > 0))
        return n; /* nothing to compare: 0 in either run */
    struct cmp_row r = {.figure = f, .before = before, .after = after, .ratio = after / before};
    snprintf(r.name, sizeof(r.name), "%s", a->name);
    r.worse_pct = 100 * (higher_is_worse(a, f) ? after / before - 1 : before / after - 1);
    r.allowed_pct = max_pct + 100 * report_spread(a, f);
    r.regress = r.worse_pct > r.allowed_pct;
    *regressions += (unsigned)r.regress;
    if (n < cap)
        rows[n] = r;
    return n + 1;
}

size_t compare_reports(const struct report *before, const struct report *after, int absolute,
                       double max_regress_pct, struct cmp_row *rows, size_t cap,
                       unsigned *regressions)
{
    size_t n = 0;
    *regressions = 0;
    for (size_t i = 0; i < after->n; i++) {
        const struct scen_report *a = &after->s[i], *b = report_find(before, a->name);
        if (!b || a->status != 0 || b->status != 0 || a->kind != b->kind)
            continue;
        if (a->kept_up != b->kept_up) {
            if (n < cap) {
                rows[n] = (struct cmp_row){.skipped = 1};
                snprintf(rows[n].name, sizeof(rows[n].name), "%s", a->name);
            }
            n++;
            continue;
        }
        if (!absolute) {
            if (a->baseline[0] && b->baseline[0] && strcmp(a->baseline, b->baseline) == 0)
                n = add_row(b, a, FIG_RATIO, max_regress_pct, rows, n, cap, regressions);
            continue;
        }
        if (a->kind == KIND_LATENCY) {
            n = add_row(b, a, FIG_P50, max_regress_pct, rows, n, cap, regressions);
            n = add_row(b, a, FIG_P99, max_regress_pct, rows, n, cap, regressions);
        } else {
            n = add_row(b, a, a->kind == KIND_VALUE ? FIG_VALUE : FIG_MSGS, max_regress_pct, rows,
                        n, cap, regressions);
        }
    }
    return n < cap ? n : cap;
}

size_t compare_count(const struct cmp_row *rows, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !rows[i].skipped;
    return k;
}

int compare_has(const struct cmp_row *rows, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!rows[i].skipped && strcmp(rows[i].name, name) == 0)
            return 1;
    return 0;
}

void compare_print(FILE *f, const struct cmp_row *rows, size_t n, double max_regress_pct)
{
    fprintf(f, "\ncomparison with the baseline (a figure fails when worse by more than %.1f%% "
               "plus this run's spread)\n", max_regress_pct);
    fprintf(f, "%-26s %-14s %14s %14s %8s %8s %8s  %s\n", "scenario", "figure", "before", "after",
            "ratio", "worse", "allowed", "verdict");
    for (size_t i = 0; i < n; i++) {
        const struct cmp_row *r = &rows[i];
        if (r->skipped) {
            fprintf(f, "%-26s not compared: it kept up with --rate in one run and not in the "
                       "other\n", r->name);
            continue;
        }
        fprintf(f, "%-26s %-14s %14.4g %14.4g %8.3f %7.1f%% %7.1f%%  %s\n", r->name,
                report_fig_names[r->figure], r->before, r->after, r->ratio, r->worse_pct,
                r->allowed_pct, r->regress ? "REGRESSED" : "ok");
    }
    if (!compare_count(rows, n))
        fprintf(f, "(no figure in common: nothing compared)\n");
}
