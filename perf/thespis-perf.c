/* SPDX-License-Identifier: MIT */
/*
 * thespis-perf — the bundled benchmark (first cut: one process, the scenarios
 * that exist on every base). Each figure comes from a latency histogram
 * (hist.h) and is set against a bare baseline measured in the same run: the
 * engine's own run queue pushed and popped with no actor around it.
 *
 *   bare-queue  push + pop of one message on the run queue, no dispatch
 *   pingpong    one hop between two actors (A -> B or B -> A)
 *   ask         ts_ask round trip from outside to an echo actor
 *   spawn       ts_create of a child until its ChildExited, from an actor
 *
 * Latency of a hop is measured from a timestamp in the payload, so it is the
 * whole path: send, queue, dispatch, handler entry.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "hist.h"
#include "mailq.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct result {
    const char *name;
    uint64_t ops;
    double seconds;
    struct hist h;
};

/* One histogram per scenario; handlers record into the current one. */
static struct result *current;

struct hop {
    uint64_t sent_ns;
    uint64_t left;  /* hops still to go */
    ts_addr asker;  /* who gets the final reply */
    ts_addr peer;
};

static uint64_t T_PING, T_DONE, T_ECHO, T_SPAWN;

/* ---- pingpong ---------------------------------------------------------- */

static int pp_ping(ts_ctx *ctx, void *state, const ts_msg *m)
{
    (void)state;
    struct hop h;
    memcpy(&h, ts_msg_data(m), sizeof(h));
    hist_record(&current->h, now_ns() - h.sent_ns);
    if (h.left == 0)
        return ts_send(ctx, h.asker, T_DONE, NULL, 0);
    h.left--;
    ts_addr to = h.peer ? h.peer : ts_sender(ctx); /* the first hop names the peer */
    h.peer = TS_ADDR_NONE;
    h.sent_ns = now_ns();
    return ts_send(ctx, to, T_PING, &h, sizeof(h));
}

static const ts_handler_entry pp_handlers[] = {TS_ON("perf.Ping", pp_ping), TS_HANDLERS_END};
static const ts_actor_type pp_type = {.name = "perf.PingPong", .handlers = pp_handlers};

static int run_pingpong(ts_system *sys, struct result *r)
{
    ts_addr a, b;
    int rc = ts_system_create(sys, "perf.PingPong", NULL, &a);
    if (rc == 0)
        rc = ts_system_create(sys, "perf.PingPong", NULL, &b);
    if (rc < 0)
        return rc;
    struct hop h = {.sent_ns = now_ns(), .left = r->ops - 1, .asker = ts_system_client_addr(sys),
                    .peer = b};
    ts_msg *reply = NULL;
    uint64_t t0 = now_ns();
    rc = ts_ask(sys, a, T_PING, &h, sizeof(h), 60ull * 1000000000u, &reply);
    r->seconds = (double)(now_ns() - t0) / 1e9;
    ts_msg_free(reply);
    return rc;
}

/* ---- ask --------------------------------------------------------------- */

static int echo(ts_ctx *ctx, void *state, const ts_msg *m)
{
    (void)state;
    return ts_reply(ctx, T_ECHO, ts_msg_data(m), m->len);
}

static const ts_handler_entry echo_handlers[] = {TS_ON("perf.Echo", echo), TS_HANDLERS_END};
static const ts_actor_type echo_type = {.name = "perf.Echo", .handlers = echo_handlers};

static int run_ask(ts_system *sys, struct result *r)
{
    ts_addr e;
    int rc = ts_system_create(sys, "perf.Echo", NULL, &e);
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; rc == 0 && i < r->ops; i++) {
        ts_msg *reply = NULL;
        uint64_t t = now_ns();
        rc = ts_ask(sys, e, T_ECHO, &i, sizeof(i), 10ull * 1000000000u, &reply);
        hist_record(&r->h, now_ns() - t);
        ts_msg_free(reply);
    }
    r->seconds = (double)(now_ns() - t0) / 1e9;
    return rc;
}

/* ---- spawn ------------------------------------------------------------- */

struct spawner {
    uint64_t left, started_ns;
    ts_addr asker;
};

static const ts_actor_type child_type = {.name = "perf.Child"};

static int spawn_next(ts_ctx *ctx, struct spawner *s)
{
    if (s->left == 0)
        return ts_send(ctx, s->asker, T_DONE, NULL, 0);
    s->left--;
    ts_addr child;
    s->started_ns = now_ns();
    int rc = ts_create(ctx, "perf.Child", NULL, &child);
    return rc < 0 ? rc : ts_send(ctx, child, TS_MSG_EXIT_REQUEST, NULL, 0);
}

static int spawn_start(ts_ctx *ctx, void *state, const ts_msg *m)
{
    struct spawner *s = state;
    memcpy(&s->left, ts_msg_data(m), sizeof(s->left));
    s->asker = ts_sender(ctx);
    return spawn_next(ctx, s);
}

static int spawn_exited(ts_ctx *ctx, void *state, const ts_msg *m)
{
    (void)m;
    struct spawner *s = state;
    hist_record(&current->h, now_ns() - s->started_ns);
    return spawn_next(ctx, s);
}

static const ts_handler_entry spawner_handlers[] = {
    TS_ON("perf.Spawn", spawn_start), TS_ON_ID(TS_MSG_CHILD_EXITED, spawn_exited), TS_HANDLERS_END};
static const ts_actor_type spawner_type = {
    .name = "perf.Spawner", .state_size = sizeof(struct spawner), .handlers = spawner_handlers};

static int run_spawn(ts_system *sys, struct result *r)
{
    ts_addr s;
    int rc = ts_system_create(sys, "perf.Spawner", NULL, &s);
    if (rc < 0)
        return rc;
    ts_msg *reply = NULL;
    uint64_t t0 = now_ns();
    rc = ts_ask(sys, s, T_SPAWN, &r->ops, sizeof(r->ops), 60ull * 1000000000u, &reply);
    r->seconds = (double)(now_ns() - t0) / 1e9;
    ts_msg_free(reply);
    return rc;
}

/* ---- bare baseline ------------------------------------------------------ */

static int run_bare(ts_system *sys, struct result *r)
{
    (void)sys;
    struct mailq q = {0};
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < r->ops; i++) {
        ts_msg *m = mailq_push(&q, sizeof(struct hop));
        if (!m)
            return -ENOMEM;
        struct hop h = {.sent_ns = now_ns(), .left = i};
        memcpy(m + 1, &h, sizeof(h));
        ts_msg *got = mailq_peek(&q);
        memcpy(&h, ts_msg_data(got), sizeof(h));
        hist_record(&r->h, now_ns() - h.sent_ns);
        mailq_pop(&q);
    }
    r->seconds = (double)(now_ns() - t0) / 1e9;
    mailq_fini(&q);
    return 0;
}

/* ---- driver ------------------------------------------------------------- */

struct scenario {
    const char *name;
    int (*run)(ts_system *, struct result *);
    uint64_t ops_full; /* operations in a full run */
};

static const struct scenario scenarios[] = {
    {"bare-queue", run_bare, 2000000},
    {"pingpong", run_pingpong, 2000000},
    {"ask", run_ask, 200000},
    {"spawn", run_spawn, 200000},
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [--base NAME] [--quick] [--ops N] [--json FILE] [--help]\n"
            "  Runs the benchmark scenarios and prints a latency table; every\n"
            "  figure is also given as a ratio to the bare run queue measured in\n"
            "  the same run.\n"
            "  --base NAME   simple (default); other bases come with their issues\n"
            "  --quick       a tenth of the operations (what make demo runs)\n"
            "  --ops N       exactly N operations per scenario\n"
            "  --json FILE   also write the results as JSON to FILE\n",
            argv0);
}

static double mean_ns(const struct result *r)
{
    return r->ops ? r->seconds * 1e9 / (double)r->ops : 0;
}

static void print_table(const struct result *res, size_t n)
{
    printf("%-11s %9s %12s %8s %8s %8s %9s %9s %7s\n", "scenario", "ops", "ops/s", "mean",
           "p50", "p99", "p99.9", "max", "x bare");
    for (size_t i = 0; i < n; i++) {
        const struct result *r = &res[i];
        printf("%-11s %9llu %12.0f %6.0fns %6lluns %6lluns %7lluns %7lluns %7.1f\n", r->name,
               (unsigned long long)r->ops, (double)r->ops / r->seconds, mean_ns(r),
               (unsigned long long)hist_percentile(&r->h, 50),
               (unsigned long long)hist_percentile(&r->h, 99),
               (unsigned long long)hist_percentile(&r->h, 99.9), (unsigned long long)r->h.max,
               mean_ns(r) / mean_ns(&res[0]));
    }
}

static int write_json(const char *path, const char *base, const struct result *res, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "{\"base\":\"%s\",\"scenarios\":[", base);
    for (size_t i = 0; i < n; i++) {
        const struct result *r = &res[i];
        fprintf(f,
                "%s{\"name\":\"%s\",\"ops\":%llu,\"seconds\":%.6f,\"mean_ns\":%.1f,"
                "\"p50_ns\":%llu,\"p99_ns\":%llu,\"p999_ns\":%llu,\"max_ns\":%llu,"
                "\"ratio_to_bare\":%.3f}",
                i ? "," : "", r->name, (unsigned long long)r->ops, r->seconds, mean_ns(r),
                (unsigned long long)hist_percentile(&r->h, 50),
                (unsigned long long)hist_percentile(&r->h, 99),
                (unsigned long long)hist_percentile(&r->h, 99.9), (unsigned long long)r->h.max,
                mean_ns(r) / mean_ns(&res[0]));
    }
    fprintf(f, "]}\n");
    return fclose(f) == 0 ? 0 : -errno;
}

static int register_types(void)
{
    const ts_actor_type *types[] = {&pp_type, &echo_type, &child_type, &spawner_type};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        int rc = ts_register_actor_type(types[i]);
        if (rc < 0)
            return rc;
    }
    T_PING = ts_type_id("perf.Ping");
    T_DONE = ts_type_id("perf.Done");
    T_ECHO = ts_type_id("perf.Echo");
    T_SPAWN = ts_type_id("perf.Spawn");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"base", required_argument, NULL, 'b'},
                                         {"quick", no_argument, NULL, 'q'},
                                         {"ops", required_argument, NULL, 'n'},
                                         {"json", required_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    ts_config cfg;
    ts_config_init(&cfg);
    const char *json = NULL, *base = "simple";
    uint64_t divisor = 1, ops = 0;
    for (int c; (c = getopt_long(argc, argv, "b:qn:j:h", opts, NULL)) != -1;) {
        char *end = NULL;
        switch (c) {
        case 'b': base = optarg; break;
        case 'q': divisor = 10; break;
        case 'j': json = optarg; break;
        case 'h': usage(stdout, argv[0]); return 0;
        case 'n':
            ops = strtoull(optarg, &end, 10);
            if (!*optarg || *end || ops == 0) {
                fprintf(stderr, "thespis-perf: --ops needs a positive number, not '%s'\n", optarg);
                return 2;
            }
            break;
        default: usage(stderr, argv[0]); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "thespis-perf: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (ts_base_parse(base, &cfg.base) < 0) {
        fprintf(stderr, "thespis-perf: %s\n", ts_last_error());
        return 2;
    }
    if (register_types() < 0) {
        fprintf(stderr, "thespis-perf: %s\n", ts_last_error());
        return 1;
    }
    static struct result res[NSCEN];
    for (size_t i = 0; i < NSCEN; i++) {
        ts_system *sys = NULL;
        int rc = ts_system_open(&cfg, &sys);
        res[i] = (struct result){.name = scenarios[i].name,
                                 .ops = ops ? ops : scenarios[i].ops_full / divisor};
        hist_init(&res[i].h);
        current = &res[i];
        if (rc == 0)
            rc = scenarios[i].run(sys, &res[i]);
        if (rc < 0) {
            fprintf(stderr, "thespis-perf: %s: %s\n", scenarios[i].name, ts_last_error());
            ts_system_close(sys);
            return 1;
        }
        ts_system_close(sys);
    }
    printf("base %s; latency from a timestamp in each message (CLOCK_MONOTONIC)\n", base);
    print_table(res, NSCEN);
    if (json) {
        int rc = write_json(json, base, res, NSCEN);
        if (rc < 0) {
            fprintf(stderr, "thespis-perf: cannot write %s: %s\n", json, strerror(-rc));
            return 1;
        }
    }
    return 0;
}
