/* SPDX-License-Identifier: MIT */
/*
 * harness.c — thespis-perf's driver (perf_main): runs the scenarios
 * (scenarios.c) one after another, each engine scenario in a fresh system,
 * --repeat times over, and prints every figure with its ratio to the bare
 * baseline measured in the same run: latency p50 against the bare ring's (or
 * run queue's) p50, throughput against the bare ring's. Figures come from
 * histograms of every sample (hist.h); the run's report (report.h) is what
 * the table, the JSON file, the plots and the --baseline gate are made of.
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compare.h"
#include "perf.h"
#include "plot.h"

/* needs_system: 0 none, 1 the --base system, PROCS a multiproc node on the
 * run's two cores (shards in two processes), whatever --base says. */
#define PROCS 2

struct scenario {
    const char *name;
    scen_fn run;
    int needs_system;
    const char *baseline;
    enum fig_kind kind;
    int open_loop;               /* runs open loop under --rate */
    const struct perf_own *own;  /* scen_own's scenario */
};

static const struct scenario bundled[] = {
    {"pingpong.bare_queue", scen_bare_queue, 0, NULL, KIND_LATENCY, 0, NULL},
    {"pingpong.bare_ring", scen_bare_pingpong, 0, NULL, KIND_LATENCY, 0, NULL},
    {"pingpong.same_shard", scen_pingpong_same, 1, "pingpong.bare_queue", KIND_LATENCY, 1, NULL},
    {"pingpong.cross_shard", scen_pingpong_cross, 1, "pingpong.bare_ring", KIND_LATENCY, 1, NULL},
    {"ask.round_trip", scen_ask, 1, "pingpong.bare_ring", KIND_LATENCY, 0, NULL},
    {"throughput.bare_ring", scen_bare_throughput, 0, NULL, KIND_THROUGHPUT, 0, NULL},
    {"throughput.cross_shard", scen_throughput_cross, 1, "throughput.bare_ring", KIND_THROUGHPUT, 0, NULL},
    {"pingpong.cross_process", scen_pingpong_cross, PROCS, "pingpong.bare_ring", KIND_LATENCY, 1, NULL},
    {"throughput.cross_process", scen_throughput_cross, PROCS, "throughput.bare_ring", KIND_THROUGHPUT, 0, NULL},
    {"recovery.kill", scen_kill_recovery, 0, NULL, KIND_LATENCY, 0, NULL},
    {"pingpong.bare_tcp", scen_bare_tcp, 0, NULL, KIND_LATENCY, 0, NULL},
    {"pingpong.bare_uring_tcp", scen_bare_uring_tcp, 0, NULL, KIND_LATENCY, 0, NULL},
    {"pingpong.tcp", scen_pingpong_tcp, 0, "pingpong.bare_tcp", KIND_LATENCY, 0, NULL},
    {"throughput.tcp", scen_throughput_tcp, 0, NULL, KIND_THROUGHPUT, 0, NULL},
    {"pingpong.udp", scen_pingpong_udp, 0, "pingpong.bare_tcp", KIND_LATENCY, 0, NULL},
    {"throughput.udp", scen_throughput_udp, 0, NULL, KIND_THROUGHPUT, 0, NULL},
    {"pingpong.bare_tcp.veth", scen_bare_tcp_veth, 0, NULL, KIND_LATENCY, 0, NULL},
    {"pingpong.tcp.veth", scen_pingpong_tcp_veth, 0, "pingpong.bare_tcp.veth", KIND_LATENCY, 0, NULL},
    {"throughput.tcp.veth", scen_throughput_tcp_veth, 0, NULL, KIND_THROUGHPUT, 0, NULL},
    {"pingpong.udp.veth", scen_pingpong_udp_veth, 0, "pingpong.bare_tcp.veth", KIND_LATENCY, 0, NULL},
    {"throughput.udp.veth", scen_throughput_udp_veth, 0, NULL, KIND_THROUGHPUT, 0, NULL},
    {"pingpong.dpdk.veth", scen_pingpong_dpdk_veth, 0, "pingpong.udp.veth", KIND_LATENCY, 0, NULL},
    {"throughput.dpdk.veth", scen_throughput_dpdk_veth, 0, "throughput.udp.veth", KIND_THROUGHPUT, 0, NULL},
    {"spawn.local", scen_spawn_local, 1, NULL, KIND_RATE, 0, NULL},
    {"memory.idle_actor", scen_memory_idle, 1, NULL, KIND_VALUE, 0, NULL},
};
#define NBUNDLED (sizeof(bundled) / sizeof(bundled[0]))
#define MAXSCEN (NBUNDLED + 32)

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [options]\n"
            "  Runs the benchmark scenarios and prints a table; each engine figure is\n"
            "  also given as a ratio to the bare baseline measured in the same run.\n"
            "  Latencies are p50 p90 p99 p99.9 p99.99 and max of a histogram of every\n"
            "  sample (1 ns to 1 minute, values within 1%%).\n"
            "  --scenario GLOB   only scenarios whose name matches (repeatable), e.g. 'pingpong.*'\n"
            "  --exclude GLOB    skip scenarios whose name matches (repeatable), e.g. '*.veth'\n"
            "  --base NAME       pinned (default), multiproc or simple; the *.cross_process\n"
            "                    scenarios always run a multiproc node\n"
            "  --cores LIST      the two CPUs to use, e.g. 0-1 or 2,4 (default: the first two)\n"
            "  --idle POLICY     busy (default: the baselines spin too), adaptive, sleep\n"
            "  --duration SECS   how long each timed scenario runs (default 1)\n"
            "  --quick           --duration 0.2 (what make demo runs)\n"
            "  --repeat K        run every scenario K times (1 to 100, default 1; the whole\n"
            "                    list K times over) and report the median and the spread,\n"
            "                    (max - min) / median, of each figure\n"
            "  --rate N          open loop: N requests (round trips) a second, each timed from\n"
            "                    when it was due to be sent, so a stall shows in every request\n"
            "                    it delays (no coordinated omission); in the scenarios that\n"
            "                    have such a mode (pingpong.same_shard, .cross_shard,\n"
            "                    .cross_process and users' own); the table says whether each\n"
            "                    kept up (achieved at least 95%% of N). Others run closed loop.\n"
            "  --json FILE       also write the results as JSON (figures, histograms, machine)\n"
            "  --baseline FILE   compare with a JSON file written by --json: exit 1 when a\n"
            "                    figure is worse by more than --max-regress percent plus this\n"
            "                    run's spread, printing before, after and their ratio\n"
            "  --max-regress PCT the threshold of --baseline (default 10)\n"
            "  --compare WHAT    ratio (default): compare each scenario's ratio to its bare\n"
            "                    baseline; absolute: compare p50, p99, msgs/s and values\n"
            "  --plot DIR        write SVG plots per scenario into DIR with gnuplot: latency\n"
            "                    by percentile, throughput over time (exit 2 without gnuplot)\n"
            "  --no-progress     no progress line (it shows only when stderr is a terminal)\n"
            "  --own-image PATH  (thespis-perf) a code image whose init registers actor types\n"
            "                    of yours (repeatable; loaded as the program's own types)\n"
            "  --own NAME=TYPE:MESSAGE[:HEX][:cross]\n"
            "                    (thespis-perf) a scenario of yours: actor TYPE is sent\n"
            "                    message MESSAGE (payload: HEX bytes) again and again and\n"
            "                    must reply once to each; cross: on the other core. Set\n"
            "                    against pingpong.bare_queue (or .bare_ring with cross)\n"
            "  --list            list the scenarios and exit\n"
            "  --help            this text\n"
            "  Exit status: 0; 1 when a scenario failed or --baseline found a regression\n"
            "  or could compare nothing; 2 for bad usage (also: a --baseline made with\n"
            "  another --rate).\n"
            "  The *.veth scenarios (pingpong.bare_tcp.veth, pingpong.tcp.veth,\n"
            "  throughput.tcp.veth, pingpong.udp.veth, throughput.udp.veth) run their two\n"
            "  nodes (or bare threads) in two network namespaces joined by a veth pair\n"
            "  (198.51.100.1 and .2/24), made with ip(8) and removed after; without root\n"
            "  or ip they are shown as n/a. pingpong.dpdk.veth and throughput.dpdk.veth\n"
            "  run two dpdk nodes on such a pair left bare, each node the IPv4 host\n"
            "  .1 or .2 on a net_af_packet device on its end; their ratio is to the udp\n"
            "  transport across veth (pingpong.udp.veth, throughput.udp.veth), so run\n"
            "  those too, e.g. --scenario '*.dpdk.veth' --scenario '*.udp.veth'. n/a\n"
            "  also without DPDK in the build.\n",
            argv0);
}

struct options {
    const char *globs[16], *excludes[16];
    unsigned nglobs, nexcludes;
    const char *json, *cores, *base, *baseline, *plot;
    double duration, rate, max_regress;
    unsigned repeat;
    int absolute, progress;
    int gate_opts; /* --max-regress or --compare given: they need --baseline */
    ts_idle idle;
};

static int bad_value(const char *opt, const char *what, const char *arg)
{
    fprintf(stderr, "thespis-perf: %s needs %s, not '%s'\n", opt, what, arg);
    return 2;
}

/* A number in [lo, hi], all of arg. */
static int number(const char *arg, double lo, double hi, double *out)
{
    char *end = NULL;
    *out = strtod(arg, &end);
    return *arg && !*end && *out >= lo && *out <= hi ? 0 : -EINVAL;
}

static int parse_one(int c, const char *arg, struct options *o)
{
    double x;
    switch (c) {
    case 's':
        if (o->nglobs == 16)
            return fprintf(stderr, "thespis-perf: at most 16 --scenario patterns\n"), 2;
        o->globs[o->nglobs++] = arg;
        return -1;
    case 'x':
        if (o->nexcludes == 16)
            return fprintf(stderr, "thespis-perf: at most 16 --exclude patterns\n"), 2;
        o->excludes[o->nexcludes++] = arg;
        return -1;
    case 'b': o->base = arg; return -1;
    case 'c': o->cores = arg; return -1;
    case 'i':
        if (ts_idle_parse(arg, &o->idle) < 0)
            return fprintf(stderr, "thespis-perf: %s\n", ts_last_error()), 2;
        return -1;
    case 'd':
        if (number(arg, 1e-9, 3600, &o->duration) < 0)
            return bad_value("--duration", "seconds in (0, 3600]", arg);
        return -1;
    case 'q': o->duration = 0.2; return -1;
    case 'j': o->json = arg; return -1;
    case 'r':
        if (number(arg, 1, 100, &x) < 0 || x != (unsigned)x)
            return bad_value("--repeat", "a whole number from 1 to 100", arg);
        o->repeat = (unsigned)x;
        return -1;
    case 'R':
        if (number(arg, 1, REPORT_RATE_MAX, &o->rate) < 0)
            return bad_value("--rate", "requests a second from 1 to 1e9", arg);
        return -1;
    case 'B': o->baseline = arg; return -1;
    case 'M':
        if (number(arg, 0, 1e6, &o->max_regress) < 0)
            return bad_value("--max-regress", "a percentage, 0 or more", arg);
        o->gate_opts = 1;
        return -1;
    case 'C':
        if (strcmp(arg, "ratio") != 0 && strcmp(arg, "absolute") != 0)
            return bad_value("--compare", "ratio or absolute", arg);
        o->absolute = strcmp(arg, "absolute") == 0;
        o->gate_opts = 1;
        return -1;
    case 'P':
        if (!*arg || strchr(arg, '\''))
            return bad_value("--plot", "a directory (without ')", arg);
        o->plot = arg;
        return -1;
    case 'N': o->progress = 0; return -1;
    default: return 2;
    }
}

static int parse(int argc, char **argv, struct options *o, const struct scenario *sc, size_t n)
{
    static const struct option opts[] = {
        {"scenario", required_argument, NULL, 's'}, {"exclude", required_argument, NULL, 'x'},
        {"base", required_argument, NULL, 'b'},     {"cores", required_argument, NULL, 'c'},
        {"idle", required_argument, NULL, 'i'},     {"duration", required_argument, NULL, 'd'},
        {"quick", no_argument, NULL, 'q'},          {"json", required_argument, NULL, 'j'},
        {"repeat", required_argument, NULL, 'r'},   {"rate", required_argument, NULL, 'R'},
        {"baseline", required_argument, NULL, 'B'}, {"max-regress", required_argument, NULL, 'M'},
        {"compare", required_argument, NULL, 'C'},  {"plot", required_argument, NULL, 'P'},
        {"no-progress", no_argument, NULL, 'N'},    {"list", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "s:x:b:c:i:d:qj:lh", opts, NULL)) != -1;) {
        if (c == 'l') {
            for (size_t i = 0; i < n; i++)
                printf("%s\n", sc[i].name);
            return 0;
        }
        if (c == 'h')
            return usage(stdout, argv[0]), 0;
        int rc = parse_one(c, optarg, o);
        if (rc == 2 && c == '?')
            usage(stderr, argv[0]);
        if (rc >= 0)
            return rc;
    }
    if (optind < argc)
        return fprintf(stderr, "thespis-perf: unexpected argument '%s'\n", argv[optind]), 2;
    if (o->gate_opts && !o->baseline)
        return fprintf(stderr, "thespis-perf: --max-regress and --compare need --baseline\n"), 2;
    return -1;
}

static int selected(const struct options *o, const char *name)
{
    for (unsigned k = 0; k < o->nexcludes; k++)
        if (fnmatch(o->excludes[k], name, 0) == 0)
            return 0;
    for (unsigned k = 0; k < o->nglobs; k++)
        if (fnmatch(o->globs[k], name, 0) == 0)
            return 1;
    return o->nglobs == 0;
}

/* ---- running ------------------------------------------------------------- */

/* In memory the shard processes of a multiproc node share with this one
 * (they are forked after it is made): handlers record into it. */
static struct result *shared;

static int run_one(const struct scenario *sc, const ts_config *cfg, struct perf_env *env)
{
    struct result *r = shared;
    memset(r, 0, sizeof(*r));
    r->name = sc->name;
    r->kept_up = -1;
    hist_init(&r->h);
    scen_set_current(r);
    ts_system *sys = NULL;
    ts_config procs = *cfg;
    char spec[32];
    if (sc->needs_system == PROCS) {
        if (env->cores_n < 2) {
            r->status = -ENOTSUP;
            return 0;
        }
        snprintf(spec, sizeof(spec), "%d,%d", env->cores[0], env->cores[1]);
        procs.base = TS_BASE_MULTIPROC;
        procs.cores = spec;
        procs.node_name = NULL;
        cfg = &procs;
    }
    if (sc->needs_system && (r->status = ts_system_open(cfg, &sys)) < 0) {
        fprintf(stderr, "thespis-perf: %s: %s\n", sc->name, ts_last_error());
        return r->status;
    }
    double rate = env->rate;
    if (!sc->open_loop)
        env->rate = 0;
    env->own = sc->own;
    r->bin_ns = env->duration_ns / REPORT_SERIES ? env->duration_ns / REPORT_SERIES : 1;
    r->t0_ns = now_ns();
    r->status = sc->run(sys, env, r);
    env->rate = rate;
    if (r->status < 0 && r->status != -ENOTSUP)
        fprintf(stderr, "thespis-perf: %s: %s\n", sc->name,
                sys ? ts_last_error() : strerror(-r->status));
    ts_system_close(sys);
    return r->status == -ENOTSUP ? 0 : r->status;
}

/* Adds repetition rep of what run_one measured to s. */
static int take(struct scen_report *s, const struct scenario *sc, const struct result *r)
{
    s->kind = sc->kind;
    if (r->status < 0) {
        s->status = r->status;
        snprintf(s->why, sizeof(s->why), "%s",
                 r->status == -ENOTSUP ? (r->why[0] ? r->why : "needs two shards on two cores")
                                       : strerror(-r->status));
        return 0;
    }
    double *f = s->fig[s->reps++];
    for (int k = 0; k < FIG_PCT_N - 1; k++)
        f[k] = (double)hist_percentile(&r->h, report_pcts[k]);
    f[FIG_MAX] = (double)r->h.max;
    f[FIG_SAMPLES] = (double)r->msgs;
    f[FIG_SECONDS] = r->seconds;
    f[FIG_MSGS] = r->seconds > 0 ? (double)r->msgs / r->seconds : 0;
    f[FIG_VALUE] = r->value;
    if (r->unit)
        snprintf(s->unit, sizeof(s->unit), "%s", r->unit);
    if (sc->kind == KIND_LATENCY) {
        if (!s->h && !(s->h = malloc(sizeof(*s->h))))
            return -ENOMEM;
        if (s->reps == 1)
            hist_init(s->h);
        hist_merge(s->h, &r->h);
    }
    if (r->kept_up >= 0) { /* the worst repetition counts */
        s->achieved = s->kept_up < 0 || r->achieved < s->achieved ? r->achieved : s->achieved;
        s->kept_up = s->kept_up < 0 ? r->kept_up : s->kept_up && r->kept_up;
    }
    if (r->series_on) {
        double bin_s = (double)r->bin_ns / 1e9;
        unsigned n = (unsigned)(r->seconds / bin_s + 0.999);
        s->nbins = n < 1 ? 1 : n > REPORT_SERIES ? REPORT_SERIES : n;
        s->bin_s = bin_s;
        for (unsigned i = 0; i < s->nbins; i++)
            s->series[i] = (double)r->series[i];
    }
    return 0;
}

/* Each scenario's ratio to its baseline, repetition by repetition. */
static void ratios(struct report *rep, const struct scenario *sc)
{
    for (size_t i = 0; i < rep->n; i++) {
        struct scen_report *s = &rep->s[i];
        const struct scen_report *b = sc[i].baseline ? report_find(rep, sc[i].baseline) : NULL;
        if (!b || b->status != 0 || s->status != 0 || b->reps != s->reps)
            continue;
        snprintf(s->baseline, sizeof(s->baseline), "%s", sc[i].baseline);
        enum fig f = s->kind == KIND_LATENCY ? FIG_P50 : FIG_MSGS;
        for (unsigned k = 0; k < s->reps; k++)
            s->fig[k][FIG_RATIO] = b->fig[k][f] > 0 ? s->fig[k][f] / b->fig[k][f] : 0;
    }
}

/* ---- the table ----------------------------------------------------------- */

static void print_row(const struct scen_report *s)
{
    if (s->status == -ENOTSUP) {
        printf("%-24s  n/a: %s\n", s->name, s->why);
        return;
    }
    if (s->status < 0) {
        printf("%-24s  failed: %s\n", s->name, s->why);
        return;
    }
    enum fig head = s->kind == KIND_LATENCY ? FIG_P50 : s->kind == KIND_VALUE ? FIG_VALUE : FIG_MSGS;
    printf("%-24s %10.0f %12.0f", s->name, report_stat(s, FIG_SAMPLES).median,
           report_stat(s, FIG_MSGS).median);
    if (s->kind == KIND_LATENCY)
        for (int k = FIG_P50; k <= FIG_MAX; k++)
            printf(" %9.0f", report_stat(s, (enum fig)k).median);
    else if (s->kind == KIND_VALUE)
        printf(" %9.0f %-49s", report_stat(s, FIG_VALUE).median, s->unit);
    else
        printf(" %9s %9s %9s %9s %9s %9s", "-", "-", "-", "-", "-", "-");
    double spread = 100 * report_spread(s, head);
    if (spread > 999)
        printf(" %7s", ">999%");
    else
        printf(" %6.1f%%", spread);
    double x = report_stat(s, FIG_RATIO).median;
    if (s->baseline[0] && x > 0)
        printf("  %6.2fx %s", x, s->baseline);
    if (s->kept_up >= 0)
        printf("  %s (%.0f of %.0f requests/s)", s->kept_up ? "kept up" : "FELL BEHIND", s->achieved,
               s->rate);
    printf("\n");
}

static void print_table(const struct report *rep, const struct options *o)
{
    printf("base %s, cores %d,%d, idle %s, %g s per scenario, %u repetition%s%s", rep->base,
           rep->cores[0], rep->cores[1], rep->m.idle, o->duration, rep->repeat,
           rep->repeat == 1 ? "" : "s (medians)", o->rate > 0 ? ", open loop at " : "\n");
    if (o->rate > 0)
        printf("%g requests/s\n", o->rate);
    printf("machine: %s; cpus %s; kernel %s; governor %s; build %s\n", rep->m.cpu_model,
           rep->m.allowed, rep->m.kernel, rep->m.governor, rep->m.build);
    printf("%-24s %10s %12s %9s %9s %9s %9s %9s %9s %7s  %s\n", "scenario", "msgs", "msgs/s",
           "p50 ns", "p90 ns", "p99 ns", "p99.9 ns", "p99.99 ns", "max ns", "spread",
           "vs bare (p50 or msgs/s)");
    for (size_t i = 0; i < rep->n; i++)
        print_row(&rep->s[i]);
}

static void warn_build(const struct machine *m)
{
    if (!m->optimised)
        fprintf(stderr, "thespis-perf: warning: this build is not optimised; figures are not representative\n");
    if (m->sanitizers)
        fprintf(stderr, "thespis-perf: warning: sanitizers are on; figures are not representative\n");
}

/* ---- setting up ---------------------------------------------------------- */

/* A CPU number of --cores: digits only, an allowed CPU. */
static int core_of(const char *p, char **end, const cpu_set_t *set, int *out)
{
    long c = *p >= '0' && *p <= '9' ? strtol(p, end, 10) : -1;
    if (c < 0 || c >= CPU_SETSIZE || !CPU_ISSET((int)c, set))
        return -EINVAL;
    *out = (int)c;
    return 0;
}

/* The two CPUs of the run: from --cores (two distinct allowed CPUs, "A-B"
 * or "A,B", nothing else), else the first two allowed. */
static int pick_cores(const char *spec, struct perf_env *env)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return -errno;
    env->cores_n = 0;
    if (spec) {
        char *end = NULL;
        int a, b;
        if (core_of(spec, &end, &set, &a) < 0 || (*end != '-' && *end != ',') ||
            core_of(end + 1, &end, &set, &b) < 0 || *end || a == b)
            return -EINVAL;
        env->cores[0] = a;
        env->cores[1] = b;
        env->cores_n = 2;
        return 0;
    }
    for (int c = 0; c < CPU_SETSIZE && env->cores_n < 2; c++)
        if (CPU_ISSET(c, &set))
            env->cores[env->cores_n++] = c;
    return 0;
}

static int own_valid(const struct perf_own *w, const struct scenario *sc, size_t n)
{
    if (!w->name || !*w->name || strlen(w->name) >= 64 ||
        strspn(w->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            strlen(w->name))
        return fprintf(stderr, "thespis-perf: own scenario '%s': a name of letters, digits and ._- "
                               "(under 64)\n", w->name ? w->name : "(null)"), -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(sc[i].name, w->name) == 0)
            return fprintf(stderr, "thespis-perf: own scenario '%s': the name is taken\n", w->name),
                   -EINVAL;
    if (!w->actor_type || !w->message || w->len > PERF_OWN_PAYLOAD_MAX || (w->len && !w->payload))
        return fprintf(stderr, "thespis-perf: own scenario '%s': needs actor_type, message and "
                               "at most %u payload bytes\n", w->name, PERF_OWN_PAYLOAD_MAX), -EINVAL;
    for (size_t i = 0; w->baseline && i < NBUNDLED; i++)
        if (strcmp(bundled[i].name, w->baseline) == 0)
            return 0;
    if (w->baseline)
        return fprintf(stderr, "thespis-perf: own scenario '%s': no bundled scenario '%s' to be its "
                               "baseline\n", w->name, w->baseline), -EINVAL;
    return 0;
}

/* The bundled scenarios, then the user's. */
static int scenarios(struct scenario *sc, size_t *n, const struct perf_own *own, size_t nown)
{
    memcpy(sc, bundled, sizeof(bundled));
    *n = NBUNDLED;
    if (nown > MAXSCEN - NBUNDLED)
        return fprintf(stderr, "thespis-perf: at most %zu own scenarios\n", MAXSCEN - NBUNDLED), -EINVAL;
    for (size_t i = 0; i < nown; i++) {
        if (own_valid(&own[i], sc, *n) < 0)
            return -EINVAL;
        sc[(*n)++] = (struct scenario){own[i].name, scen_own, 1, own[i].baseline, KIND_LATENCY, 1,
                                       &own[i]};
    }
    return 0;
}

struct run {
    struct options o;
    struct scenario sc[MAXSCEN];
    size_t nsc;
    struct report rep, before;
    ts_config cfg;
    struct perf_env env;
};

static const char *rate_words(double rate, char *buf, size_t len)
{
    if (rate > 0)
        snprintf(buf, len, "--rate %g", rate);
    else
        snprintf(buf, len, "no --rate (closed loop)");
    return buf;
}

/* The baseline file, which must have been made with this run's --rate. */
static int read_baseline(struct run *u)
{
    char err[256] = "", x[48], y[48];
    int rc = report_read(u->o.baseline, &u->before, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "thespis-perf: --baseline %s: %s\n", u->o.baseline,
                rc == -EINVAL ? err : strerror(-rc));
        return 2;
    }
    if (u->before.rate != u->o.rate) {
        fprintf(stderr, "thespis-perf: --baseline %s: baseline made with %s, this run with %s: "
                        "not comparable\n", u->o.baseline, rate_words(u->before.rate, x, sizeof(x)),
                rate_words(u->o.rate, y, sizeof(y)));
        return 2;
    }
    return -1;
}

static int setup(struct run *u)
{
    struct options *o = &u->o;
    size_t nsel = 0;
    for (size_t i = 0; i < u->nsc; i++)
        nsel += selected(o, u->sc[i].name);
    if (!nsel) {
        fprintf(stderr, "thespis-perf: --scenario and --exclude select no scenario (--list "
                        "names them)\n");
        return 2;
    }
    ts_config_init(&u->cfg);
    u->env.duration_ns = (uint64_t)(o->duration * 1e9);
    u->env.rate = o->rate;
    if (ts_base_parse(o->base, &u->cfg.base) < 0) {
        fprintf(stderr, "thespis-perf: --base: pinned, multiproc or simple, not '%s'\n", o->base);
        return 2;
    }
    if (pick_cores(o->cores, &u->env) < 0) {
        char allowed[256];
        machine_allowed_cpus(allowed, sizeof(allowed));
        fprintf(stderr, "thespis-perf: --cores: two distinct CPUs this process may use (%s), "
                        "like 0-1 or 2,4, not '%s'\n", allowed, o->cores);
        return 2;
    }
    if (o->plot && !plot_have_gnuplot()) {
        fprintf(stderr, "thespis-perf: --plot needs gnuplot, which is not installed (Debian: apt-get "
                        "install gnuplot-nox)\n");
        return 2;
    }
    int rc = o->baseline ? read_baseline(u) : -1;
    if (rc >= 0)
        return rc;
    shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        fprintf(stderr, "thespis-perf: mmap: %s\n", strerror(errno));
        return 1;
    }
    static char spec[32];
    if (u->cfg.base != TS_BASE_SIMPLE) {
        snprintf(spec, sizeof(spec), u->env.cores_n == 2 ? "%d,%d" : "%d", u->env.cores[0],
                 u->env.cores[1]);
        u->cfg.cores = spec;
        u->cfg.idle = o->idle;
        u->env.shards = u->env.cores_n;
    } else {
        u->env.shards = 1;
    }
    if (scen_register() < 0) {
        fprintf(stderr, "thespis-perf: %s\n", ts_last_error());
        return 1;
    }
    const char *idle = o->idle == TS_IDLE_BUSY ? "busy" : o->idle == TS_IDLE_SLEEP ? "sleep" : "adaptive";
    machine_probe(&u->rep.m, u->env.cores, u->env.cores_n, idle);
    snprintf(u->rep.base, sizeof(u->rep.base), "%s", o->base);
    u->rep.duration_s = o->duration;
    u->rep.repeat = o->repeat;
    u->rep.rate = o->rate;
    u->rep.cores[0] = u->env.cores[0];
    u->rep.cores[1] = u->env.cores[1];
    return -1;
}

/* ---- progress ------------------------------------------------------------ */

/* On a terminal (o->progress): one line, rewritten, saying which scenario
 * runs; NULL name: clears it. */
static void progress(const struct options *o, unsigned rep, size_t done, size_t total,
                     const char *name)
{
    if (!o->progress)
        return;
    if (!name) {
        fprintf(stderr, "\r\033[K");
        return;
    }
    fprintf(stderr, "\r\033[K[%zu/%zu] %s", done + 1, total, name);
    if (o->repeat > 1)
        fprintf(stderr, " (repetition %u of %u)", rep + 1, o->repeat);
    fprintf(stderr, ", at least %.0f s to go", (double)(total - done) * o->duration);
    fflush(stderr);
}

/* Runs the selected scenarios repeat times over, into u->rep (whose
 * scenarios parallel u->sc[]: one entry for each, n/a when not selected). */
static int run_all(struct run *u)
{
    int failed = 0;
    size_t total = 0, done = 0;
    for (size_t i = 0; i < u->nsc; i++)
        total += selected(&u->o, u->sc[i].name);
    total *= u->o.repeat;
    for (size_t i = 0; i < u->nsc; i++)
        if (!report_add(&u->rep, u->sc[i].name))
            return -ENOMEM;
    for (unsigned k = 0; k < u->o.repeat; k++)
        for (size_t i = 0; i < u->nsc; i++) {
            if (!selected(&u->o, u->sc[i].name))
                continue;
            progress(&u->o, k, done++, total, u->sc[i].name);
            failed |= run_one(&u->sc[i], &u->cfg, &u->env) < 0;
            if (take(&u->rep.s[i], &u->sc[i], shared) < 0)
                return -ENOMEM;
            if (u->rep.s[i].kept_up >= 0)
                u->rep.s[i].rate = u->o.rate;
        }
    progress(&u->o, 0, 0, 0, NULL);
    /* Keep only what was selected, in order; the ratios first (they need
     * the parallel table). */
    ratios(&u->rep, u->sc);
    size_t n = 0;
    for (size_t i = 0; i < u->nsc; i++) {
        if (selected(&u->o, u->sc[i].name)) {
            u->rep.s[n++] = u->rep.s[i];
        } else {
            free(u->rep.s[i].h);
        }
    }
    u->rep.n = n;
    return failed;
}

static int write_json(const struct report *rep, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    int rc = report_write(f, rep);
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* The baseline's scenarios that ran there and were not compared, on one line. */
static void not_compared(const struct report *before, const struct cmp_row *rows, size_t n)
{
    const char *sep = "baseline scenarios not compared:";
    for (size_t i = 0; i < before->n; i++) {
        if (before->s[i].status != 0 || compare_has(rows, n, before->s[i].name))
            continue;
        printf("%s %s", sep, before->s[i].name);
        sep = ",";
    }
    if (sep[0] != 'b')
        printf("\n");
}

/* 0, 1 on a regression or when nothing could be compared. */
static int gate(const struct run *u)
{
    struct cmp_row rows[2 * MAXSCEN];
    unsigned regressions;
    size_t n = compare_reports(&u->before, &u->rep, u->o.absolute, u->o.max_regress, rows,
                               2 * MAXSCEN, &regressions);
    compare_print(stdout, rows, n, u->o.max_regress);
    not_compared(&u->before, rows, n);
    if (strcmp(u->before.m.cpu_model, u->rep.m.cpu_model) != 0 ||
        strcmp(u->before.m.build, u->rep.m.build) != 0)
        printf("note: the baseline was made on another machine or build (%s, %s)\n",
               u->before.m.cpu_model, u->before.m.build);
    if (regressions)
        printf("%u figure%s regressed\n", regressions, regressions == 1 ? "" : "s");
    if (!compare_count(rows, n)) {
        fflush(stdout);
        fprintf(stderr, "thespis-perf: --baseline %s: no figure of this run could be compared "
                        "with it (%s): the gate fails\n", u->o.baseline,
                u->o.absolute ? "no scenario ran in both"
                              : "no scenario with a bare baseline ran in both; --compare absolute "
                                "compares scenarios without one");
        return 1;
    }
    return regressions ? 1 : 0;
}

int perf_main(int argc, char **argv, const struct perf_own *own, size_t nown)
{
    static struct run u; /* large: the report's scenarios hold every repetition */
    memset(&u, 0, sizeof(u));
    u.o = (struct options){.base = "pinned", .duration = 1.0, .idle = TS_IDLE_BUSY, .repeat = 1,
                           .max_regress = 10, .progress = isatty(STDERR_FILENO)};
    if (scenarios(u.sc, &u.nsc, own, nown) < 0)
        return 2;
    int rc = parse(argc, argv, &u.o, u.sc, u.nsc);
    if (rc < 0)
        rc = setup(&u);
    if (rc >= 0) {
        report_free(&u.before);
        return rc;
    }
    int failed = run_all(&u);
    if (failed < 0) {
        fprintf(stderr, "thespis-perf: out of memory\n");
        return 1;
    }
    print_table(&u.rep, &u.o);
    warn_build(&u.rep.m);
    char err[512];
    if (u.o.json && (rc = write_json(&u.rep, u.o.json)) < 0) {
        fprintf(stderr, "thespis-perf: cannot write %s: %s\n", u.o.json, strerror(-rc));
        failed = 1;
    }
    if (u.o.plot && plot_report(&u.rep, u.o.plot, err, sizeof(err)) < 0) {
        fprintf(stderr, "thespis-perf: --plot: %s\n", err);
        failed = 1;
    }
    if (u.o.baseline)
        failed |= gate(&u);
    report_free(&u.rep);
    report_free(&u.before);
    munmap(shared, sizeof(*shared));
    return failed ? 1 : 0;
}
