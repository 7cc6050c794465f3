/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "plot.h"

int plot_have_gnuplot(void)
{
    int st = system("gnuplot --version >/dev/null 2>&1"); /* a fixed command */
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

/* gnuplot on the script at gp, its output to stderr; no shell between. */
static int run_gnuplot(const char *gp)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -ENOMEM;
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    char prog[] = "gnuplot", script[4096];
    snprintf(script, sizeof(script), "%s", gp);
    char *argv[] = {prog, script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -rc;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* DIR/NAME.KIND.dat written by data, then DIR/NAME.KIND.gp drawing it into
 * DIR/NAME.KIND.svg (size, title, the settings and the plot's style), and
 * gnuplot run on that. */
static int plot_one(const struct scen_report *s, const char *dir, const char *kind,
                    int (*data)(const struct scen_report *, const char *), const char *size,
                    const char *title, const char *settings, const char *style)
{
    char dat[4096], gp[4096];
    snprintf(dat, sizeof(dat), "%s/%s.%s.dat", dir, s->name, kind);
    snprintf(gp, sizeof(gp), "%s/%s.%s.gp", dir, s->name, kind);
    int rc = data(s, dat);
    FILE *f = rc == 0 ? fopen(gp, "w") : NULL;
    if (!f)
        return rc < 0 ? rc : -errno;
    fprintf(f,
            "set terminal svg size %s dynamic\n"
            "set output '%s/%s.%s.svg'\n"
            "set title '%s: %s' noenhanced\n"
            "%s"
            "set grid\nset key off\n"
            "plot '%s' %s\n",
            size, dir, s->name, kind, s->name, title, settings, dat, style);
    if (fclose(f) != 0)
        return -errno;
    return run_gnuplot(gp);
}

static int latency_plot(const struct scen_report *s, const char *dir)
{
    char title[96];
    snprintf(title, sizeof(title), "latency by percentile (%llu samples)",
             (unsigned long long)s->h->count);
    return plot_one(s, dir, "latency", latency_data, "800,500", title,
                    "set logscale x\nset logscale y\n"
                    "set xlabel 'percentile'\nset ylabel 'latency (ns)'\n"
                    "set xtics ('0%%' 1, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, "
                    "'99.999%%' 100000, '99.9999%%' 1000000)\n",
                    "using 3:1 with steps lw 2");
}

static int throughput_plot(const struct scen_report *s, const char *dir)
{
    return plot_one(s, dir, "throughput", throughput_data, "800,400",
                    "throughput over time (last repetition)",
                    "set xlabel 'time (s)'\nset ylabel 'messages/s'\nset yrange [0:*]\n"
                    "set format y '%.1s%c'\n",
                    "using 1:2 with linespoints");
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
