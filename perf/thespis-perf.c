/* SPDX-License-Identifier: MIT */
/*
 * thespis-perf — the bundled benchmark. Runs the scenarios (scenarios.c)
 * one after another, each engine scenario in a fresh system, and prints
 * every figure with its ratio to the bare baseline measured in the same run:
 * latency p50 against the bare ring's (or run queue's) p50, throughput
 * against the bare ring's. Figures come from histograms of every sample.
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "perf.h"

enum kind { LATENCY, THROUGHPUT, RATE, VALUE };

/* needs_system: 0 none, 1 the --base system, PROCS a multiproc node on the
 * run's two cores (shards in two processes), whatever --base says. */
#define PROCS 2

struct scenario {
    const char *name;
    scen_fn run;
    int needs_system;
    const char *baseline;
    enum kind kind;
};

static const struct scenario all[] = {
    {"pingpong.bare_queue", scen_bare_queue, 0, NULL, LATENCY},
    {"pingpong.bare_ring", scen_bare_pingpong, 0, NULL, LATENCY},
    {"pingpong.same_shard", scen_pingpong_same, 1, "pingpong.bare_queue", LATENCY},
    {"pingpong.cross_shard", scen_pingpong_cross, 1, "pingpong.bare_ring", LATENCY},
    {"ask.round_trip", scen_ask, 1, "pingpong.bare_ring", LATENCY},
    {"throughput.bare_ring", scen_bare_throughput, 0, NULL, THROUGHPUT},
    {"throughput.cross_shard", scen_throughput_cross, 1, "throughput.bare_ring", THROUGHPUT},
    {"pingpong.cross_process", scen_pingpong_cross, PROCS, "pingpong.bare_ring", LATENCY},
    {"throughput.cross_process", scen_throughput_cross, PROCS, "throughput.bare_ring", THROUGHPUT},
    {"recovery.kill", scen_kill_recovery, 0, NULL, LATENCY},
    {"pingpong.bare_tcp", scen_bare_tcp, 0, NULL, LATENCY},
    {"pingpong.bare_uring_tcp", scen_bare_uring_tcp, 0, NULL, LATENCY},
    {"pingpong.tcp", scen_pingpong_tcp, 0, "pingpong.bare_tcp", LATENCY},
    {"throughput.tcp", scen_throughput_tcp, 0, NULL, THROUGHPUT},
    {"pingpong.udp", scen_pingpong_udp, 0, "pingpong.bare_tcp", LATENCY},
    {"throughput.udp", scen_throughput_udp, 0, NULL, THROUGHPUT},
    {"pingpong.bare_tcp.veth", scen_bare_tcp_veth, 0, NULL, LATENCY},
    {"pingpong.tcp.veth", scen_pingpong_tcp_veth, 0, "pingpong.bare_tcp.veth", LATENCY},
    {"throughput.tcp.veth", scen_throughput_tcp_veth, 0, NULL, THROUGHPUT},
    {"pingpong.udp.veth", scen_pingpong_udp_veth, 0, "pingpong.bare_tcp.veth", LATENCY},
    {"throughput.udp.veth", scen_throughput_udp_veth, 0, NULL, THROUGHPUT},
    {"pingpong.dpdk.veth", scen_pingpong_dpdk_veth, 0, "pingpong.udp.veth", LATENCY},
    {"throughput.dpdk.veth", scen_throughput_dpdk_veth, 0, "throughput.udp.veth", THROUGHPUT},
    {"spawn.local", scen_spawn_local, 1, NULL, RATE},
    {"memory.idle_actor", scen_memory_idle, 1, NULL, VALUE},
};
#define NSCEN (sizeof(all) / sizeof(all[0]))

/* In memory the shard processes of a multiproc node share with this one
 * (they are forked after it is made): handlers record into it. */
static struct result *results;

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [options]\n"
            "  Runs the benchmark scenarios and prints a table; each engine figure is\n"
            "  also given as a ratio to the bare baseline measured in the same run.\n"
            "  --scenario GLOB   only scenarios whose name matches (repeatable), e.g. 'pingpong.*'\n"
            "  --exclude GLOB    skip scenarios whose name matches (repeatable), e.g. '*.veth'\n"
            "  --base NAME       pinned (default), multiproc or simple; the *.cross_process\n"
            "                    scenarios always run a multiproc node\n"
            "  --cores LIST      the two CPUs to use, e.g. 0-1 or 2,4 (default: the first two)\n"
            "  --idle POLICY     busy (default: the baselines spin too), adaptive, sleep\n"
            "  --duration SECS   how long each timed scenario runs (default 1)\n"
            "  --quick           --duration 0.2 (what make demo runs)\n"
            "  --json FILE       also write the results as JSON\n"
            "  --list            list the scenarios and exit\n"
            "  --help            this text\n"
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

static const struct result *find(const char *name)
{
    for (size_t i = 0; name && i < NSCEN; i++)
        if (strcmp(all[i].name, name) == 0 && results[i].status == 0 && results[i].name)
            return &results[i];
    return NULL;
}

static double msgs_per_s(const struct result *r)
{
    return r->seconds > 0 ? (double)r->msgs / r->seconds : 0;
}

/* Engine figure over bare figure: >1 means slower (latency) or faster
 * (throughput). 0 when there is no baseline in this run. */
static double ratio(size_t i)
{
    const struct result *r = &results[i], *b = find(all[i].baseline);
    if (!b)
        return 0;
    if (all[i].kind == LATENCY) {
        uint64_t bp = hist_percentile(&b->h, 50);
        return bp ? (double)hist_percentile(&r->h, 50) / (double)bp : 0;
    }
    return msgs_per_s(b) > 0 ? msgs_per_s(r) / msgs_per_s(b) : 0;
}

static void print_row(size_t i)
{
    const struct result *r = &results[i];
    if (r->status == -ENOTSUP) {
        printf("%-23s  n/a: %s\n", all[i].name,
               r->why[0] ? r->why : "needs two shards on two cores");
        return;
    }
    if (r->status < 0) {
        printf("%-23s  failed: %s\n", all[i].name, strerror(-r->status));
        return;
    }
    printf("%-23s %10llu %12.0f", all[i].name, (unsigned long long)r->msgs, msgs_per_s(r));
    if (all[i].kind == LATENCY)
        printf(" %8llu %8llu %8llu %9llu", (unsigned long long)hist_percentile(&r->h, 50),
               (unsigned long long)hist_percentile(&r->h, 99),
               (unsigned long long)hist_percentile(&r->h, 99.9), (unsigned long long)r->h.max);
    else if (all[i].kind == VALUE)
        printf(" %8.0f %-26s", r->value, r->unit);
    else
        printf(" %8s %8s %8s %9s", "-", "-", "-", "-");
    double x = ratio(i);
    if (x > 0)
        printf("  %5.2fx %s", x, all[i].baseline);
    printf("\n");
}

static void print_table(void)
{
    printf("%-23s %10s %12s %8s %8s %8s %9s  %s\n", "scenario", "samples", "msgs/s", "p50 ns",
           "p99 ns", "p99.9 ns", "max ns", "vs bare (p50 or msgs/s)");
    for (size_t i = 0; i < NSCEN; i++)
        if (results[i].name)
            print_row(i);
}

static int write_json(const char *path, const char *base, const struct perf_env *env)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "{\"base\":\"%s\",\"cores\":[%d,%d],\"duration_s\":%.3f,\"scenarios\":[", base,
            env->cores[0], env->cores[1], (double)env->duration_ns / 1e9);
    const char *sep = "";
    for (size_t i = 0; i < NSCEN; i++) {
        const struct result *r = &results[i];
        if (!r->name || r->status < 0)
            continue;
        fprintf(f, "%s{\"name\":\"%s\",\"samples\":%llu,\"msgs_per_s\":%.1f", sep, r->name,
                (unsigned long long)r->msgs, msgs_per_s(r));
        if (all[i].kind == LATENCY)
            fprintf(f, ",\"p50_ns\":%llu,\"p99_ns\":%llu,\"p999_ns\":%llu,\"max_ns\":%llu",
                    (unsigned long long)hist_percentile(&r->h, 50),
                    (unsigned long long)hist_percentile(&r->h, 99),
                    (unsigned long long)hist_percentile(&r->h, 99.9), (unsigned long long)r->h.max);
        if (all[i].kind == VALUE)
            fprintf(f, ",\"value\":%.1f,\"unit\":\"%s\"", r->value, r->unit);
        if (ratio(i) > 0)
            fprintf(f, ",\"ratio_to_bare\":%.3f,\"baseline\":\"%s\"", ratio(i), all[i].baseline);
        fprintf(f, "}");
        sep = ",";
    }
    fprintf(f, "]}\n");
    return fclose(f) == 0 ? 0 : -errno;
}

static int run_one(size_t i, const ts_config *cfg, const struct perf_env *env)
{
    struct result *r = &results[i];
    *r = (struct result){.name = all[i].name};
    hist_init(&r->h);
    scen_set_current(r);
    ts_system *sys = NULL;
    ts_config procs = *cfg;
    char spec[32];
    if (all[i].needs_system == PROCS) {
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
    if (all[i].needs_system && (r->status = ts_system_open(cfg, &sys)) < 0) {
        fprintf(stderr, "thespis-perf: %s: %s\n", all[i].name, ts_last_error());
        return r->status;
    }
    r->status = all[i].run(sys, env, r);
    if (r->status < 0 && r->status != -ENOTSUP)
        fprintf(stderr, "thespis-perf: %s: %s\n", all[i].name,
                sys ? ts_last_error() : strerror(-r->status));
    ts_system_close(sys);
    return r->status == -ENOTSUP ? 0 : r->status;
}

/* The two CPUs of the run: from --cores, else the first two allowed. */
static int pick_cores(const char *spec, struct perf_env *env)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return -errno;
    env->cores_n = 0;
    if (spec) {
        int a, b;
        char dash;
        if (sscanf(spec, "%d%c%d", &a, &dash, &b) != 3 || (dash != '-' && dash != ',') || a < 0 ||
            b < 0 || a == b)
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

static void warn_build(void)
{
#if !defined(__OPTIMIZE__)
    fprintf(stderr, "thespis-perf: warning: this build is not optimised; figures are not representative\n");
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    fprintf(stderr, "thespis-perf: warning: sanitizers are on; figures are not representative\n");
#endif
}

struct options {
    const char *globs[16], *excludes[16];
    unsigned nglobs, nexcludes;
    const char *json, *cores, *base;
    double duration;
    ts_idle idle;
};

static int parse(int argc, char **argv, struct options *o)
{
    static const struct option opts[] = {
        {"scenario", required_argument, NULL, 's'}, {"exclude", required_argument, NULL, 'x'},
        {"base", required_argument, NULL, 'b'},     {"cores", required_argument, NULL, 'c'},
        {"idle", required_argument, NULL, 'i'},     {"duration", required_argument, NULL, 'd'},
        {"quick", no_argument, NULL, 'q'},          {"json", required_argument, NULL, 'j'},
        {"list", no_argument, NULL, 'l'},           {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "s:x:b:c:i:d:qj:lh", opts, NULL)) != -1;) {
        char *end = NULL;
        switch (c) {
        case 's':
            if (o->nglobs == 16)
                return fprintf(stderr, "thespis-perf: at most 16 --scenario patterns\n"), 2;
            o->globs[o->nglobs++] = optarg;
            break;
        case 'x':
            if (o->nexcludes == 16)
                return fprintf(stderr, "thespis-perf: at most 16 --exclude patterns\n"), 2;
            o->excludes[o->nexcludes++] = optarg;
            break;
        case 'b': o->base = optarg; break;
        case 'c': o->cores = optarg; break;
        case 'i':
            if (ts_idle_parse(optarg, &o->idle) < 0)
                return fprintf(stderr, "thespis-perf: %s\n", ts_last_error()), 2;
            break;
        case 'd':
            o->duration = strtod(optarg, &end);
            if (!*optarg || *end || !(o->duration > 0 && o->duration <= 3600))
                return fprintf(stderr, "thespis-perf: --duration needs seconds in (0, 3600], not '%s'\n", optarg), 2;
            break;
        case 'q': o->duration = 0.2; break;
        case 'j': o->json = optarg; break;
        case 'l':
            for (size_t i = 0; i < NSCEN; i++)
                printf("%s\n", all[i].name);
            return 0;
        case 'h': usage(stdout, argv[0]); return 0;
        default: usage(stderr, argv[0]); return 2;
        }
    }
    if (optind < argc)
        return fprintf(stderr, "thespis-perf: unexpected argument '%s'\n", argv[optind]), 2;
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

int main(int argc, char **argv)
{
    struct options o = {.base = "pinned", .duration = 1.0, .idle = TS_IDLE_BUSY};
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    ts_config cfg;
    ts_config_init(&cfg);
    struct perf_env env = {.duration_ns = (uint64_t)(o.duration * 1e9)};
    if (ts_base_parse(o.base, &cfg.base) < 0) {
        fprintf(stderr, "thespis-perf: --base: pinned, multiproc or simple, not '%s'\n", o.base);
        return 2;
    }
    results = mmap(NULL, NSCEN * sizeof(*results), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (results == MAP_FAILED) {
        fprintf(stderr, "thespis-perf: mmap: %s\n", strerror(errno));
        return 1;
    }
    if (pick_cores(o.cores, &env) < 0) {
        fprintf(stderr, "thespis-perf: --cores: two distinct CPUs like 0-1 or 2,4, not '%s'\n", o.cores);
        return 2;
    }
    char spec[32];
    if (cfg.base != TS_BASE_SIMPLE) {
        snprintf(spec, sizeof(spec), env.cores_n == 2 ? "%d,%d" : "%d", env.cores[0], env.cores[1]);
        cfg.cores = spec;
        cfg.idle = o.idle;
        env.shards = env.cores_n;
    } else {
        env.shards = 1;
    }
    if (scen_register() < 0) {
        fprintf(stderr, "thespis-perf: %s\n", ts_last_error());
        return 1;
    }
    warn_build();
    int failed = 0;
    for (size_t i = 0; i < NSCEN; i++)
        if (selected(&o, all[i].name))
            failed |= run_one(i, &cfg, &env) < 0;
    printf("base %s, cores %d,%d, idle %s, %.1f s per scenario\n", o.base, env.cores[0],
           env.cores[1], o.idle == TS_IDLE_BUSY ? "busy" : o.idle == TS_IDLE_SLEEP ? "sleep" : "adaptive",
           o.duration);
    print_table();
    if (o.json && (rc = write_json(o.json, o.base, &env)) < 0) {
        fprintf(stderr, "thespis-perf: cannot write %s: %s\n", o.json, strerror(-rc));
        return 1;
    }
    return failed;
}
