/* SPDX-License-Identifier: MIT */
/* machine.h — the facts of the machine and build a run was made on, saved
 * with its figures: a comparison between two machines is not a regression. */
#ifndef TS_PERF_MACHINE_H
#define TS_PERF_MACHINE_H

#include <stddef.h>

struct machine {
    char cpu_model[128];  /* /proc/cpuinfo's "model name", or "unknown" */
    char allowed[256];    /* the CPUs this process may run on, e.g. "0-7" */
    char cores[32];       /* the run's two CPUs, e.g. "0,1" */
    char kernel[128];     /* uname: release and version */
    char governor[64];    /* cpufreq governor of the run's CPUs, or "unknown" */
    char idle[16];        /* the shards' idle policy */
    char build[64];       /* the build type, e.g. "debugoptimized" */
    char compiler[64];
    int optimised;        /* compiled with optimisation */
    int sanitizers;       /* compiled with sanitizers (meson's b_sanitize, or ASan or TSan
                           * seen by the compiler) */
};

/* Fills m for this process; cores are the run's CPUs (n of them). */
void machine_probe(struct machine *m, const int *cores, unsigned n, const char *idle);
/* The CPUs this process may run on as ranges, e.g. "0-3,6" ("" when
 * unknown), into out (len bytes). */
void machine_allowed_cpus(char *out, size_t len);
/* The build facts alone (what warn_build checks). */
void machine_build(struct machine *m);

#endif
