/* SPDX-License-Identifier: MIT */
/*
 * named.h — shared-memory segments with a name in /dev/shm, so processes
 * that did not fork from one another can attach to them (design §6: the
 * multiproc admin creates them; shard processes and clients map them).
 *
 * The first SHM_NAMED_HDR bytes hold a header naming the owner process by
 * pid and start time, which tells a live segment from one left behind by an
 * owner that was killed (a reused pid has another start time). Data starts
 * after the header, page-aligned.
 */
#ifndef TS_SHM_NAMED_H
#define TS_SHM_NAMED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "segment.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SHM_NAMED_HDR 4096u
#define SHM_NAMED_MAGIC UINT64_C(0x3167657369707374) /* "tspiseg1" */
#define SHM_NAME_MAX 200

struct shm_named_hdr {
    uint64_t magic;       /* written last: the header is complete once it is set */
    uint32_t version;
    int32_t owner_pid;
    uint64_t owner_start; /* the owner's start time, in clock ticks since boot */
    uint64_t size;        /* data bytes after the header */
};

/* Creates /dev/shm/<name> with size data bytes, zeroed, owned by this
 * process. A segment of that name left by an owner that is gone is removed
 * first (*reclaimed set, when not NULL). Returns 0, -EINVAL (bad name or
 * size 0), -EEXIST (a live process owns the name), or the -errno of
 * shm_open, ftruncate or mmap. A failed create leaves *s safe to destroy. */
int shm_named_create(struct shm_segment *s, const char *name, size_t size, bool *reclaimed);

/* Maps an existing segment. Returns 0, -EINVAL (bad name), -ENOENT, -EBADMSG
 * (not a thespis segment, or truncated), -ESTALE (its owner is gone), or the
 * -errno of shm_open or mmap. */
int shm_named_open(struct shm_segment *s, const char *name);

/* The header and the data of a mapped named segment. */
static inline const struct shm_named_hdr *shm_named_header(const struct shm_segment *s)
{
    return (const struct shm_named_hdr *)s->base;
}
static inline void *shm_named_data(const struct shm_segment *s)
{
    return (char *)s->base + SHM_NAMED_HDR;
}

/* Removes /dev/shm/<name>. 0, -EINVAL or -errno (-ENOENT). */
int shm_named_unlink(const char *name);

/* Field 22 of /proc/<pid>/stat: when the process started (clock ticks
 * since boot), 0 if unknown. With the pid it names one process for good. */
uint64_t shm_proc_start_time(pid_t pid);
/* Whether process pid, started at `start`, still runs (a reused pid is not
 * it; an unreadable start time counts as alive). */
bool shm_proc_alive(pid_t pid, uint64_t start);

/* Whether the process a header names is still running. */
bool shm_named_owner_alive(const struct shm_named_hdr *h);

/* Removes every segment under /dev/shm whose name starts with prefix and
 * whose owner is gone (stale); *removed counts them. 0 or -errno. */
int shm_named_reap(const char *prefix, unsigned *removed);

#ifdef __cplusplus
}
#endif
#endif
