/* SPDX-License-Identifier: MIT */
/* blob.c — large messages between processes as files in /dev/shm (blob.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"

static void blob_path(const struct blob_store *bs, uint64_t id, char out[160])
{
    snprintf(out, 160, "/dev/shm/%s%016llx", bs->prefix, (unsigned long long)id);
}

void *blob_create(const struct blob_store *bs, size_t size, uint64_t *id, int *rc)
{
    char path[160];
    *id = atomic_fetch_add_explicit(bs->seq, 1, memory_order_relaxed);
    blob_path(bs, *id, path);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        *rc = -errno;
        return NULL;
    }
    void *p = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    *rc = p == MAP_FAILED ? -errno : 0;
    close(fd);
    if (p == MAP_FAILED) {
        unlink(path);
        return NULL;
    }
    return p;
}

void *blob_map(const struct blob_store *bs, const struct blob_ref *ref, int *rc)
{
    char path[160];
    blob_path(bs, ref->id, path);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *rc = -errno;
        return NULL;
    }
    struct stat sb;
    void *p = MAP_FAILED;
    *rc = -EBADMSG;
    if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size == ref->size && ref->size >= sizeof(ts_msg)) {
        p = mmap(NULL, ref->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        *rc = p == MAP_FAILED ? -errno : 0;
    }
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    ts_msg *m = p;
    if (sizeof(*m) + (uint64_t)m->len != ref->size) { /* the envelope disagrees with the file */
        munmap(p, ref->size);
        *rc = -EBADMSG;
        return NULL;
    }
    return p;
}

void blob_unmap(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

void blob_remove(const struct blob_store *bs, uint64_t id)
{
    char path[160];
    blob_path(bs, id, path);
    unlink(path);
}

void blob_remove_all(const char *prefix)
{
    size_t n = strlen(prefix);
    DIR *d = n ? opendir("/dev/shm") : NULL; /* never "every file" */
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, prefix, n) == 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}
