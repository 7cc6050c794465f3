/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plot.h"

int plot_have_gnuplot(void)
{
    int st = system("gnuplot --version >/dev/null 2>&1");
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The percentile distribution, as HdrHistogram plots it: for each
 * non-empty bucket, the percentile of samples at or below it. */
static int latency_data(const struct scen_report *s, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "# value_ns percentile 1/(1-p)\n%llu 0 1\n", (unsigned long long)s->h->min);
    uint64_t seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        if (!s->h->counts[b])
            continue;
        seen += s->h->counts[b];
        double p = (double)seen / (double)s->h->count;
        if (p >= 1)
            p = 1 - 1.0 / (double)s->h->count / 2; /* the last sample: beyond the last finite point */
        uint64_t v = hist_bucket_top(b);
        fprintf(f, "%llu %.9f %.6g\n", (unsigned long long)(v < s->h->max ? v : s->h->max),
                100 * p, 1 / (1 - p));
    }
    return fclose(f) == 0 ? 0 : -errno;
}

static int throughput_data(const struct scen_report *s, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "# seconds msgs_per_s\n");
    for (unsigned i = 0; i < s->nbins; i++)
        fprintf(f, "%.6f %.1f\n", (i + 0.5) * s->bin_s, s->series[i] / s->bin_s);
    return fclose(f) == 0 ? 0 : -errno;
}

static int run_gnuplot(const char *gp)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "gnuplot '%s' 1>&2", gp);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static int latency_plot(const struct scen_report *s, const char *dir)
{
    char dat[4096], gp[4096];
    snprintf(dat, sizeof(dat), "%s/%s.latency.dat", dir, s->name);
    snprintf(gp, sizeof(gp), "%s/%s.latency.gp", dir, s->name);
    int rc = latency_data(s, dat);
    FILE *f = rc == 0 ? fopen(gp, "w") : NULL;
    if (!f)
        return rc < 0 ? rc : -errno;
    fprintf(f,
            "set terminal svg size 800,500 dynamic\n"
            "set output '%s/%s.latency.svg'\n"
            "set title '%s: latency by percentile (%llu samples)' noenhanced\n"
            "set logscale x\nset logscale y\n"
            "set xlabel 'percentile'\nset ylabel 'latency (ns)'\n"
            "set xtics ('0%%%%' 1, '90%%%%' 10, '99%%%%' 100, '99.9%%%%' 1000, '99.99%%%%' 10000, "
            "'99.999%%%%' 100000, '99.9999%%%%' 1000000)\n"
            "set grid\nset key off\n"
            "plot '%s' using 3:1 with steps lw 2\n",
            dir, s->name, s->name, (unsigned long long)s->h->count, dat);
    if (fclose(f) != 0)
        return -errno;
    return run_gnuplot(gp);
}

static int throughput_plot(const struct scen_report *s, const char *dir)
{
    char dat[4096], gp[4096];
    snprintf(dat, sizeof(dat), "%s/%s.throughput.dat", dir, s->name);
    snprintf(gp, sizeof(gp), "%s/%s.throughput.gp", dir, s->name);
    int rc = throughput_data(s, dat);
    FILE *f = rc == 0 ? fopen(gp, "w") : NULL;
    if (!f)
        return rc < 0 ? rc : -errno;
    fprintf(f,
            "set terminal svg size 800,400 dynamic\n"
            "set output '%s/%s.throughput.svg'\n"
            "set title '%s: throughput over time (last repetition)' noenhanced\n"
            "set xlabel 'time (s)'\nset ylabel 'messages/s'\nset yrange [0:*]\nset format y '%%.1s%%c'\n"
            "set grid\nset key off\n"
            "plot '%s' using 1:2 with linespoints\n",
            dir, s->name, s->name, dat);
    if (fclose(f) != 0)
        return -errno;
    return run_gnuplot(gp);
}

int plot_report(const struct report *r, const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot make %s: %s", dir, strerror(errno));
        return -errno;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct scen_report *s = &r->s[i];
        int rc = 0;
        if (s->status != 0)
            continue;
        if (s->h && s->h->count)
            rc = latency_plot(s, dir);
        if (rc == 0 && s->nbins)
            rc = throughput_plot(s, dir);
        if (rc < 0) {
            snprintf(err, errlen, "%s: plotting into %s failed: %s", s->name, dir,
                     rc == -EIO ? "gnuplot failed" : strerror(-rc));
            return rc;
        }
    }
    return 0;
}
