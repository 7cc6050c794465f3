/* SPDX-License-Identifier: MIT */
/* perf.h — what thespis-perf's driver and its scenarios share. */
#ifndef TS_PERF_PERF_H
#define TS_PERF_PERF_H

#include <stdint.h>

#include <thespis/thespis.h>

#include "bare_ring.h" /* now_ns */

#include "hist.h"
#include "perf_own.h"
#include "report.h"

/* What a scenario runs with. */
struct perf_env {
    uint64_t duration_ns; /* how long each timed scenario runs */
    unsigned shards;      /* shards of the system under test */
    int cores[2];         /* the CPUs of shards 0 and 1 (for placement and bare threads) */
    unsigned cores_n;     /* how many of cores[] are known (0 on the simple base) */
    double rate;          /* --rate: requests (round trips) a second, open loop; 0: closed loop */
    const struct perf_own *own; /* the user's scenario scen_own runs */
};

/* What a scenario measured. */
struct result {
    const char *name;
    uint64_t msgs;    /* messages carried (or actors created) */
    double seconds;
    struct hist h;    /* latencies, when the scenario has them */
    double value;     /* a figure of another kind, when unit is set */
    const char *unit;
    int status;       /* 0, or why it did not run (-ENOTSUP: not on this base) */
    char why[160];    /* with -ENOTSUP: what it lacks ("": two shards on two cores) */
    /* Messages over time (perf_sample, perf_count): REPORT_SERIES bins of
     * bin_ns from t0_ns (what comes after them is not counted); series_on
     * 0: the scenario keeps no series. */
    uint64_t t0_ns, bin_ns, nsamples;
    uint64_t series[REPORT_SERIES];
    int series_on;
    /* Open loop (env->rate > 0): the achieved rate, and whether it kept up
     * with the requested one (-1: the scenario ran closed loop). */
    double achieved;
    int kept_up;
};

/* Records a round trip's latency into r's histogram, and every 64th sample
 * credits 64 round trips (128 messages) to the series bin of now. */
static inline void perf_sample(struct result *r, uint64_t ns)
{
    hist_record(&r->h, ns);
    if ((++r->nsamples & 63) == 0) {
        uint64_t now = now_ns(), b = now > r->t0_ns ? (now - r->t0_ns) / r->bin_ns : 0;
        if (b < REPORT_SERIES)
            r->series[b] += 128; /* a round trip carries two */
        r->series_on = 1;
    }
}

/* Credits n messages to the series bin of now. */
static inline void perf_count(struct result *r, uint64_t n)
{
    uint64_t now = now_ns(), b = now > r->t0_ns ? (now - r->t0_ns) / r->bin_ns : 0;
    if (b < REPORT_SERIES)
        r->series[b] += n;
    r->series_on = 1;
}

typedef int (*scen_fn)(ts_system *sys, const struct perf_env *env, struct result *r);

int scen_bare_queue(ts_system *, const struct perf_env *, struct result *);
int scen_bare_pingpong(ts_system *, const struct perf_env *, struct result *);
int scen_bare_throughput(ts_system *, const struct perf_env *, struct result *);
int scen_pingpong_same(ts_system *, const struct perf_env *, struct result *);
int scen_pingpong_cross(ts_system *, const struct perf_env *, struct result *);
int scen_throughput_cross(ts_system *, const struct perf_env *, struct result *);
int scen_spawn_local(ts_system *, const struct perf_env *, struct result *);
int scen_memory_idle(ts_system *, const struct perf_env *, struct result *);
int scen_ask(ts_system *, const struct perf_env *, struct result *);
int scen_kill_recovery(ts_system *, const struct perf_env *, struct result *);
int scen_bare_tcp(ts_system *, const struct perf_env *, struct result *);
int scen_bare_uring_tcp(ts_system *, const struct perf_env *, struct result *);
int scen_pingpong_tcp(ts_system *, const struct perf_env *, struct result *);
int scen_throughput_tcp(ts_system *, const struct perf_env *, struct result *);
int scen_pingpong_udp(ts_system *, const struct perf_env *, struct result *);
int scen_throughput_udp(ts_system *, const struct perf_env *, struct result *);
int scen_bare_tcp_veth(ts_system *, const struct perf_env *, struct result *);
int scen_pingpong_tcp_veth(ts_system *, const struct perf_env *, struct result *);
int scen_throughput_tcp_veth(ts_system *, const struct perf_env *, struct result *);
int scen_pingpong_udp_veth(ts_system *, const struct perf_env *, struct result *);
int scen_throughput_udp_veth(ts_system *, const struct perf_env *, struct result *);
int scen_pingpong_dpdk_veth(ts_system *, const struct perf_env *, struct result *);
int scen_throughput_dpdk_veth(ts_system *, const struct perf_env *, struct result *);
/* The user's own actor (env->own), closed or open loop. */
int scen_own(ts_system *, const struct perf_env *, struct result *);

/* Registers the scenarios' actor types and message ids. */
int scen_register(void);
/* The result handlers record into. */
void scen_set_current(struct result *r);

#endif
