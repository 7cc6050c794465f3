/* SPDX-License-Identifier: MIT */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "machine.h"

#ifndef PERF_BUILDTYPE
#define PERF_BUILDTYPE "unknown"
#endif
/* meson's b_sanitize ("none", "address", "undefined", "address,undefined",
 * "thread", ...), passed by perf/meson.build; without it only what the
 * compiler says (GCC's and clang's ASan and TSan) is seen. */
#ifndef PERF_SANITIZE
#define PERF_SANITIZE "none"
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define PERF_CLANG_SANITIZE 1
#endif
#endif

static void cpu_model(char *out, size_t len)
{
    snprintf(out, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon)
            continue;
        colon += 1 + (colon[1] == ' ');
        colon[strcspn(colon, "\n")] = 0;
        snprintf(out, len, "%s", colon);
        break;
    }
    fclose(f);
}

void machine_allowed_cpus(char *out, size_t len)
{
    cpu_set_t set;
    size_t n = 0;
    out[0] = 0;
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &set))
            continue;
        int e = c;
        while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &set))
            e++;
        int w = e > c ? snprintf(out + n, len - n, "%s%d-%d", n ? "," : "", c, e)
                      : snprintf(out + n, len - n, "%s%d", n ? "," : "", c);
        if (w < 0 || (size_t)w >= len - n)
            return;
        n += (size_t)w;
        c = e;
    }
}

static void governor(char *out, size_t len, const int *cores, unsigned n)
{
    snprintf(out, len, "unknown");
    for (unsigned i = 0; i < n; i++) {
        char path[96], g[48] = "";
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor",
                 cores[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(g, sizeof(g), f)) {
            g[strcspn(g, "\n")] = 0;
            if (i && strcmp(out, g) != 0 && strcmp(out, "unknown") != 0)
                snprintf(out, len, "mixed");
            else
                snprintf(out, len, "%s", g);
        }
        fclose(f);
    }
}

void machine_build(struct machine *m)
{
    snprintf(m->build, sizeof(m->build), "%s", PERF_BUILDTYPE);
#if defined(__VERSION__)
    snprintf(m->compiler, sizeof(m->compiler), "%s", __VERSION__);
#endif
#if defined(__OPTIMIZE__)
    m->optimised = 1;
#endif
    m->sanitizers = strcmp(PERF_SANITIZE, "none") != 0;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(PERF_CLANG_SANITIZE)
    m->sanitizers = 1;
#endif
}

void machine_probe(struct machine *m, const int *cores, unsigned n, const char *idle)
{
    memset(m, 0, sizeof(*m));
    cpu_model(m->cpu_model, sizeof(m->cpu_model));
    machine_allowed_cpus(m->allowed, sizeof(m->allowed));
    size_t k = 0;
    for (unsigned i = 0; i < n && k < sizeof(m->cores) - 12; i++)
        k += (size_t)snprintf(m->cores + k, sizeof(m->cores) - k, "%s%d", i ? "," : "", cores[i]);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->kernel, sizeof(m->kernel), "%.40s %.80s", u.release, u.version);
    governor(m->governor, sizeof(m->governor), cores, n);
    snprintf(m->idle, sizeof(m->idle), "%s", idle);
    machine_build(m);
}
