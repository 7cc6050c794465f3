/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/memfd.h>

#include "segment.h"

#define HUGE_PAGE ((size_t)2 << 20)

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

/* Maps a memfd of `size` bytes made with `flags` into s. 0 or -errno; on
 * failure s holds nothing to release. */
static int map_memfd(struct shm_segment *s, const char *name, size_t size, unsigned flags)
{
    int fd = memfd_create(name, MFD_CLOEXEC | flags);
    if (fd < 0)
        return -errno;
    void *p = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    *s = (struct shm_segment){.base = p, .size = size, .fd = fd,
                              .huge = (flags & MFD_HUGETLB) != 0};
    return 0;
}

int shm_segment_create(struct shm_segment *s, const char *name, size_t size)
{
    *s = (struct shm_segment){.base = NULL, .fd = -1};
    if (size == 0)
        return -EINVAL;
    if (size > SIZE_MAX / 2) /* rounding up must not wrap */
        return -ENOMEM;
    /* Without reserved huge pages either call fails (EINVAL, ENOMEM, ...):
     * normal pages then, silently. */
    if (map_memfd(s, name, round_up(size, HUGE_PAGE), MFD_HUGETLB | MFD_HUGE_2MB) == 0)
        return 0;
    return map_memfd(s, name, round_up(size, (size_t)sysconf(_SC_PAGESIZE)), 0);
}

void shm_segment_destroy(struct shm_segment *s)
{
    if (s == NULL)
        return;
    if (s->base != NULL)
        munmap(s->base, s->size);
    if (s->fd >= 0)
        close(s->fd);
    *s = (struct shm_segment){.base = NULL, .fd = -1};
}
