/* SPDX-License-Identifier: MIT */
/*
 * segment.h — shared memory for rings (design §6): an anonymous memfd,
 * mapped shared, so that another process can map the same pages later
 * (the fd passed over a unix socket or inherited across exec).
 */
#ifndef TS_SHM_SEGMENT_H
#define TS_SHM_SEGMENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct shm_segment {
    void *base;  /* the mapping, or NULL */
    size_t size; /* bytes mapped: the request rounded up to the page size */
    int fd;      /* the memfd, or -1 */
    int huge;    /* 1 when backed by 2 MiB huge pages */
};

/* Creates an anonymous shared segment of at least size bytes:
 * memfd_create(name, MFD_CLOEXEC), trying MFD_HUGETLB (2 MiB pages, size
 * rounded up) first and falling back to normal pages when the kernel has
 * none to give; ftruncate; mmap MAP_SHARED, populated so that first touches
 * do not fault on the hot path; zero-filled.
 * Returns 0, -EINVAL (size 0), -ENOMEM (size above SIZE_MAX / 2), or the
 * -errno of memfd_create, ftruncate or mmap on normal pages (-ENOMEM,
 * -EMFILE, ...). A failed create leaves *s safe to destroy. */
int shm_segment_create(struct shm_segment *s, const char *name, size_t size);

/* Unmaps and closes. NULL-safe, idempotent. */
void shm_segment_destroy(struct shm_segment *s);

#ifdef __cplusplus
}
#endif
#endif
