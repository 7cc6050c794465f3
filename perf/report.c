/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <float.h>
#include <math.h> /* isfinite */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report.h"

#define FORMAT "thespis-perf/2"

const double report_pcts[FIG_PCT_N - 1] = {50, 90, 99, 99.9, 99.99};
const char *const report_fig_names[FIG_N] = {
    "p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns", "msgs_per_s",
    "value", "ratio_to_bare", "samples", "seconds"};
static const char *const kind_names[] = {"latency", "throughput", "rate", "value"};

const char *report_kind_name(enum fig_kind k)
{
    return kind_names[k];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stat3 report_stat(const struct scen_report *s, enum fig f)
{
    double v[REPORT_MAXREP];
    struct stat3 st = {0, 0, 0};
    unsigned n = s->reps < REPORT_MAXREP ? s->reps : REPORT_MAXREP;
    if (!n)
        return st;
    for (unsigned i = 0; i < n; i++)
        v[i] = s->fig[i][f];
    qsort(v, n, sizeof(v[0]), cmp_double);
    st.min = v[0];
    st.max = v[n - 1];
    st.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return st;
}

double report_spread(const struct scen_report *s, enum fig f)
{
    struct stat3 st = report_stat(s, f);
    return st.median > 0 ? (st.max - st.min) / st.median : 0;
}

struct scen_report *report_add(struct report *r, const char *name)
{
    struct scen_report *s = realloc(r->s, (r->n + 1) * sizeof(*s));
    if (!s)
        return NULL;
    r->s = s;
    s = &r->s[r->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->kept_up = -1;
    return s;
}

const struct scen_report *report_find(const struct report *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->s[i].name, name) == 0)
            return &r->s[i];
    return NULL;
}

void report_free(struct report *r)
{
    for (size_t i = 0; r && i < r->n; i++)
        free(r->s[i].h);
    if (r)
        free(r->s);
    if (r)
        memset(r, 0, sizeof(*r));
}

/* ---- writing ------------------------------------------------------------- */

static void kv_str(FILE *f, const char *sep, const char *k, const char *v)
{
    fprintf(f, "%s\"%s\":", sep, k);
    json_write_str(f, v);
}

static void write_machine(FILE *f, const struct machine *m)
{
    fprintf(f, "\"machine\":{");
    kv_str(f, "", "cpu_model", m->cpu_model);
    kv_str(f, ",", "allowed_cpus", m->allowed);
    kv_str(f, ",", "cores", m->cores);
    kv_str(f, ",", "kernel", m->kernel);
    kv_str(f, ",", "governor", m->governor);
    kv_str(f, ",", "idle", m->idle);
    kv_str(f, ",", "build", m->build);
    kv_str(f, ",", "compiler", m->compiler);
    fprintf(f, ",\"optimised\":%s,\"sanitizers\":%s}", m->optimised ? "true" : "false",
            m->sanitizers ? "true" : "false");
}

static void write_hist(FILE *f, const struct hist *h)
{
    fprintf(f, ",\"hist\":{\"model\":\"log-linear: exact below 256 ns, then %u buckets per "
               "power of two; each pair is [highest value of the bucket in ns, count]\","
               "\"count\":%llu,\"min_ns\":%llu,\"max_ns\":%llu,\"buckets\":[",
            HIST_HALF, (unsigned long long)h->count,
            (unsigned long long)(h->count ? h->min : 0), (unsigned long long)h->max);
    const char *sep = "";
    for (unsigned b = 0; b < HIST_BUCKETS; b++)
        if (h->counts[b]) {
            fprintf(f, "%s[%llu,%llu]", sep, (unsigned long long)hist_bucket_top(b),
                    (unsigned long long)h->counts[b]);
            sep = ",";
        }
    fprintf(f, "]}");
}

/* The figures that mean something for the kind. */
static int fig_applies(const struct scen_report *s, enum fig f)
{
    if (f <= FIG_MAX)
        return s->kind == KIND_LATENCY;
    if (f == FIG_VALUE)
        return s->kind == KIND_VALUE;
    if (f == FIG_RATIO)
        return s->baseline[0] != 0;
    return 1;
}

static void write_figs(FILE *f, const struct scen_report *s, const double *v)
{
    const char *sep = "";
    for (int k = 0; k < FIG_N; k++)
        if (fig_applies(s, (enum fig)k)) {
            fprintf(f, "%s\"%s\":%.17g", sep, report_fig_names[k], v[k]);
            sep = ",";
        }
}

static void write_scenario(FILE *f, const struct scen_report *s)
{
    fprintf(f, "{");
    kv_str(f, "", "name", s->name);
    kv_str(f, ",", "kind", report_kind_name(s->kind));
    kv_str(f, ",", "status", s->status == 0 ? "ok" : s->status == -ENOTSUP ? "n/a" : "failed");
    if (s->status != 0) {
        kv_str(f, ",", "why", s->why[0] ? s->why : strerror(-s->status));
        fprintf(f, "}");
        return;
    }
    if (s->baseline[0])
        kv_str(f, ",", "baseline", s->baseline);
    if (s->unit[0])
        kv_str(f, ",", "unit", s->unit);
    /* The medians over the repetitions, and their spread. */
    double med[FIG_N], spread[FIG_N];
    for (int k = 0; k < FIG_N; k++) {
        med[k] = report_stat(s, (enum fig)k).median;
        spread[k] = report_spread(s, (enum fig)k);
    }
    fprintf(f, ",");
    write_figs(f, s, med);
    fprintf(f, ",\"spread\":{");
    write_figs(f, s, spread);
    fprintf(f, "},\"runs\":[");
    for (unsigned i = 0; i < s->reps; i++) {
        fprintf(f, "%s{", i ? "," : "");
        write_figs(f, s, s->fig[i]);
        fprintf(f, "}");
    }
    fprintf(f, "]");
    if (s->kept_up >= 0)
        fprintf(f, ",\"open_loop\":{\"rate\":%.17g,\"achieved\":%.17g,\"kept_up\":%s}", s->rate,
                s->achieved, s->kept_up ? "true" : "false");
    if (s->nbins) {
        fprintf(f, ",\"series\":{\"bin_s\":%.17g,\"msgs\":[", s->bin_s);
        for (unsigned i = 0; i < s->nbins; i++)
            fprintf(f, "%s%.17g", i ? "," : "", s->series[i]);
        fprintf(f, "]}");
    }
    if (s->h)
        write_hist(f, s->h);
    fprintf(f, "}");
}

int report_write(FILE *f, const struct report *r)
{
    fprintf(f, "{\"format\":\"" FORMAT "\",");
    write_machine(f, &r->m);
    fprintf(f, ",");
    kv_str(f, "", "base", r->base);
    fprintf(f, ",\"cores\":[%d,%d],\"duration_s\":%.17g,\"repeat\":%u,\"rate\":%.17g,"
               "\"scenarios\":[\n",
            r->cores[0], r->cores[1], r->duration_s, r->repeat, r->rate);
    for (size_t i = 0; i < r->n; i++) {
        if (i)
            fprintf(f, ",\n");
        write_scenario(f, &r->s[i]);
    }
    fprintf(f, "\n]}\n");
    return ferror(f) ? -EIO : 0;
}

/* ---- reading ------------------------------------------------------------- */

struct reader {
    char *err;
    size_t errlen;
};

static int bad(struct reader *rd, const char *what, const char *name)
{
    snprintf(rd->err, rd->errlen, "%s%s%s", name ? name : "", name ? ": " : "", what);
    return -EINVAL;
}

static void copy_str(char *dst, size_t len, const struct json *j, const char *key)
{
    const char *s = json_str(j, key);
    snprintf(dst, len, "%s", s ? s : "");
}

static void read_machine(const struct json *j, struct machine *m)
{
    copy_str(m->cpu_model, sizeof(m->cpu_model), j, "cpu_model");
    copy_str(m->allowed, sizeof(m->allowed), j, "allowed_cpus");
    copy_str(m->cores, sizeof(m->cores), j, "cores");
    copy_str(m->kernel, sizeof(m->kernel), j, "kernel");
    copy_str(m->governor, sizeof(m->governor), j, "governor");
    copy_str(m->idle, sizeof(m->idle), j, "idle");
    copy_str(m->build, sizeof(m->build), j, "build");
    copy_str(m->compiler, sizeof(m->compiler), j, "compiler");
    const struct json *b = json_get(j, "optimised");
    m->optimised = b && b->kind == JV_BOOL && b->boolean;
    b = json_get(j, "sanitizers");
    m->sanitizers = b && b->kind == JV_BOOL && b->boolean;
}

/* A number within [lo, hi], and whole when whole is set (then 0 <= lo and
 * hi < 2^64). */
static int in_range(const struct json *x, double lo, double hi, int whole)
{
    return x && x->kind == JV_NUM && isfinite(x->num) && x->num >= lo && x->num <= hi &&
           (!whole || x->num == (double)(uint64_t)x->num);
}

/* obj's member key into *out: fallback when absent, else a number in
 * [lo, hi] (whole when whole is set); -EINVAL otherwise (err says which). */
static int get_num(struct reader *rd, const struct json *obj, const char *key, double lo,
                   double hi, int whole, double fallback, double *out, const char *name)
{
    const struct json *x = json_get(obj, key);
    *out = fallback;
    if (!x)
        return 0;
    if (!in_range(x, lo, hi, whole)) {
        char what[96];
        if (hi == DBL_MAX)
            snprintf(what, sizeof(what), "%s is not a number from %g up", key, lo);
        else
            snprintf(what, sizeof(what), "%s is not %s from %g to %g", key,
                     whole ? "a whole number" : "a number", lo, hi);
        return bad(rd, what, name);
    }
    *out = x->num;
    return 0;
}

/* Counts and their sum stay exact as doubles (the file's "count" is one). */
#define COUNT_MAX 9007199254740992.0 /* 2^53 */
/* Nanoseconds: below 2^64, so that they convert to uint64_t. */
#define NS_MAX 1.8e19

/* The buckets, as the writer writes them: [top of the bucket, count], tops
 * in increasing order, counts from 1, their sum at most 2^53. *lo and *hi:
 * the lowest and highest bucket (HIST_BUCKETS when there is none). */
static int read_buckets(struct reader *rd, const struct json *b, struct scen_report *s,
                        unsigned *lo, unsigned *hi)
{
    double sum = 0;
    *lo = *hi = HIST_BUCKETS;
    for (size_t i = 0; i < b->n; i++) {
        const struct json *p = &b->kids[i];
        if (p->kind != JV_ARR || p->n != 2 || !in_range(&p->kids[0], 0, NS_MAX, 1) ||
            !in_range(&p->kids[1], 1, COUNT_MAX, 1))
            return bad(rd, "a histogram bucket is not [value, count] (a whole number of ns "
                           "and a count from 1 to 2^53)", s->name);
        uint64_t v = (uint64_t)p->kids[0].num, n = (uint64_t)p->kids[1].num;
        unsigned k = hist_bucket_of(v);
        if (*hi != HIST_BUCKETS && k <= *hi)
            return bad(rd, "histogram buckets out of order or twice", s->name);
        if ((sum += (double)n) > COUNT_MAX)
            return bad(rd, "histogram counts add up to more than 2^53", s->name);
        if (*lo == HIST_BUCKETS)
            *lo = k;
        *hi = k;
        hist_record_n(s->h, v, n);
    }
    return 0;
}

static int read_hist(struct reader *rd, const struct json *j, struct scen_report *s)
{
    const struct json *b = json_arr(j, "buckets");
    if (!b)
        return bad(rd, "hist without buckets", s->name);
    if (!(s->h = malloc(sizeof(*s->h))))
        return -ENOMEM;
    hist_init(s->h);
    unsigned lo, hi;
    double min, max, count;
    int rc = read_buckets(rd, b, s, &lo, &hi);
    if (rc == 0)
        rc = get_num(rd, j, "count", 0, COUNT_MAX, 1, -1, &count, s->name);
    if (rc == 0)
        rc = get_num(rd, j, "min_ns", 0, NS_MAX, 1, -1, &min, s->name);
    if (rc == 0)
        rc = get_num(rd, j, "max_ns", 0, NS_MAX, 1, -1, &max, s->name);
    if (rc < 0)
        return rc;
    if (min < 0 || max < min || (double)s->h->count != count)
        return bad(rd, "histogram count, min_ns or max_ns missing or wrong", s->name);
    if (!s->h->count) {
        if (min != 0 || max != 0)
            return bad(rd, "an empty histogram with min_ns or max_ns", s->name);
        return 0;
    }
    /* The true extremes, which bucket tops round: in the lowest and the
     * highest bucket. */
    if (hist_bucket_of((uint64_t)min) != lo || hist_bucket_of((uint64_t)max) != hi)
        return bad(rd, "histogram min_ns or max_ns not in its lowest or highest bucket", s->name);
    s->h->min = (uint64_t)min;
    s->h->max = (uint64_t)max;
    return 0;
}

static int read_figs(struct reader *rd, const struct json *j, struct scen_report *s, double *v)
{
    for (int k = 0; k < FIG_N; k++) {
        if (!fig_applies(s, (enum fig)k))
            continue;
        const struct json *x = json_get(j, report_fig_names[k]);
        if (!x || x->kind != JV_NUM)
            return bad(rd, "a run lacks a figure", s->name);
        if (!in_range(x, 0, DBL_MAX, 0))
            return bad(rd, "a run's figure is negative", s->name);
        v[k] = x->num;
    }
    return 0;
}

static int read_series(struct reader *rd, const struct json *j, struct scen_report *s)
{
    const struct json *m = json_arr(j, "msgs");
    s->bin_s = json_num(j, "bin_s", 0);
    if (!m || m->n > REPORT_SERIES || !(s->bin_s > 0) || !isfinite(s->bin_s))
        return bad(rd, "bad series", s->name);
    for (size_t i = 0; i < m->n; i++) {
        if (!in_range(&m->kids[i], 0, DBL_MAX, 0))
            return bad(rd, "bad series", s->name);
        s->series[i] = m->kids[i].num;
    }
    s->nbins = (unsigned)m->n;
    return 0;
}

static int read_scenario(struct reader *rd, const struct json *j, struct report *r)
{
    const char *name = json_str(j, "name"), *kind = json_str(j, "kind"),
               *status = json_str(j, "status");
    if (!name || !kind || !status)
        return bad(rd, "a scenario lacks name, kind or status", NULL);
    struct scen_report *s = report_add(r, name);
    if (!s)
        return -ENOMEM;
    unsigned k = 0;
    while (k < 4 && strcmp(kind_names[k], kind) != 0)
        k++;
    if (k == 4)
        return bad(rd, "unknown kind", name);
    s->kind = (enum fig_kind)k;
    if (strcmp(status, "ok") != 0) {
        s->status = strcmp(status, "n/a") == 0 ? -ENOTSUP : -EIO;
        copy_str(s->why, sizeof(s->why), j, "why");
        return 0;
    }
    copy_str(s->baseline, sizeof(s->baseline), j, "baseline");
    copy_str(s->unit, sizeof(s->unit), j, "unit");
    const struct json *runs = json_arr(j, "runs");
    if (!runs || runs->n < 1 || runs->n > REPORT_MAXREP)
        return bad(rd, "runs must hold 1 to 100 repetitions", name);
    s->reps = (unsigned)runs->n;
    for (unsigned i = 0; i < s->reps; i++) {
        int rc = read_figs(rd, &runs->kids[i], s, s->fig[i]);
        if (rc < 0)
            return rc;
    }
    const struct json *o = json_get(j, "open_loop");
    if (o) {
        const struct json *ku = json_get(o, "kept_up");
        if (!ku || ku->kind != JV_BOOL)
            return bad(rd, "open_loop without kept_up", name);
        s->kept_up = ku->boolean;
        int rc = get_num(rd, o, "rate", 0, REPORT_RATE_MAX, 0, 0, &s->rate, name);
        if (rc == 0)
            rc = get_num(rd, o, "achieved", 0, DBL_MAX, 0, 0, &s->achieved, name);
        if (rc < 0)
            return rc;
    }
    const struct json *x = json_get(j, "series");
    int rc = x ? read_series(rd, x, s) : 0;
    if (rc == 0 && (x = json_get(j, "hist")))
        rc = read_hist(rd, x, s);
    return rc;
}

static int read_report(struct reader *rd, const struct json *j, struct report *r)
{
    const char *format = json_str(j, "format");
    if (!format || strcmp(format, FORMAT) != 0)
        return bad(rd, "not a thespis-perf/2 result file (no \"format\":\"" FORMAT "\")", NULL);
    const struct json *m = json_get(j, "machine"), *sc = json_arr(j, "scenarios"),
                      *cores = json_arr(j, "cores");
    if (!m || m->kind != JV_OBJ || !sc || !cores || cores->n != 2)
        return bad(rd, "machine, cores or scenarios missing", NULL);
    for (unsigned i = 0; i < 2; i++) {
        if (!in_range(&cores->kids[i], 0, CPU_SETSIZE - 1, 1))
            return bad(rd, "cores are not two CPU numbers", NULL);
        r->cores[i] = (int)cores->kids[i].num;
    }
    read_machine(m, &r->m);
    copy_str(r->base, sizeof(r->base), j, "base");
    double repeat;
    int rc = get_num(rd, j, "duration_s", 0, REPORT_DURATION_MAX, 0, 0, &r->duration_s, NULL);
    if (rc == 0)
        rc = get_num(rd, j, "repeat", 1, REPORT_MAXREP, 1, 1, &repeat, NULL);
    if (rc == 0)
        rc = get_num(rd, j, "rate", 0, REPORT_RATE_MAX, 0, 0, &r->rate, NULL);
    if (rc < 0)
        return rc;
    r->repeat = (unsigned)repeat;
    for (size_t i = 0; i < sc->n; i++) {
        rc = read_scenario(rd, &sc->kids[i], r);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* r from a parse that returned rc with j. */
static int read_parsed(int rc, struct json *j, struct report *r, char *err, size_t errlen)
{
    struct reader rd = {err, errlen};
    if (rc < 0)
        return rc;
    rc = read_report(&rd, j, r);
    json_free(j);
    if (rc < 0)
        report_free(r);
    return rc;
}

int report_read_text(const char *text, size_t len, struct report *r, char *err, size_t errlen)
{
    struct json *j = NULL;
    memset(r, 0, sizeof(*r));
    int rc = json_parse(text, len, &j, err, errlen);
    return read_parsed(rc, j, r, err, errlen);
}

int report_read(const char *path, struct report *r, char *err, size_t errlen)
{
    struct json *j = NULL;
    memset(r, 0, sizeof(*r));
    int rc = json_parse_file(path, &j, err, errlen);
    return read_parsed(rc, j, r, err, errlen);
}
