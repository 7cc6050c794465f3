/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "cores.h"
#include "err.h"

/* Parses one number; returns the character after it, or NULL. */
static const char *number(const char *p, long *out)
{
    if (!isdigit((unsigned char)*p))
        return NULL;
    char *end;
    *out = strtol(p, &end, 10);
    return *out > 100000 ? NULL : end;
}

static int add_cpu(int *cpus, unsigned *n, unsigned max, long cpu, const cpu_set_t *allowed)
{
    if (cpu >= CPU_SETSIZE || !CPU_ISSET((int)cpu, allowed))
        return err_set(-EINVAL, "core %ld does not exist or this process may not run on it", cpu);
    for (unsigned i = 0; i < *n; i++)
        if (cpus[i] == cpu)
            return err_set(-EINVAL, "core %ld is listed twice", cpu);
    if (*n >= max)
        return err_set(-EINVAL, "more than %u cores listed", max);
    cpus[(*n)++] = (int)cpu;
    return 0;
}

static int parse_spec(const char *spec, const cpu_set_t *allowed, int *cpus, unsigned max)
{
    unsigned n = 0;
    for (const char *p = spec;;) {
        long lo, hi;
        const char *q = number(p, &lo);
        if (!q)
            return err_set(-EINVAL, "bad core list '%s': expected a number at '%s'", spec, p);
        hi = lo;
        if (*q == '-' && !(q = number(q + 1, &hi)))
            return err_set(-EINVAL, "bad core list '%s': expected a number after '-'", spec);
        if (hi < lo)
            return err_set(-EINVAL, "bad core list '%s': range %ld-%ld runs backwards", spec, lo, hi);
        for (long c = lo; c <= hi; c++) {
            int rc = add_cpu(cpus, &n, max, c, allowed);
            if (rc < 0)
                return rc;
        }
        if (*q == '\0')
            return (int)n;
        if (*q != ',')
            return err_set(-EINVAL, "bad core list '%s': unexpected '%c'", spec, *q);
        p = q + 1;
    }
}

int cores_plan(const char *spec, unsigned count, const cpu_set_t *allowed, int *cpus,
               unsigned max)
{
    if (spec && *spec) {
        int n = parse_spec(spec, allowed, cpus, max);
        if (n > 0 && count && (unsigned)n != count)
            return err_set(-EINVAL, "core list '%s' has %d cores but %u shards were asked for",
                           spec, n, count);
        return n;
    }
    unsigned n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < max && (!count || n < count); c++)
        if (CPU_ISSET(c, allowed))
            cpus[n++] = c;
    if (count && n < count)
        return err_set(-EINVAL, "%u shards asked for, but this process may run on %u cores",
                       count, n);
    return n ? (int)n : err_set(-EINVAL, "no core to run on");
}
