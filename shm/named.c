/* SPDX-License-Identifier: MIT */
/* named.c — named shared-memory segments and their owners (named.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "named.h"

#define SHM_DIR "/dev/shm"

/* "/<name>" for shm_open; -EINVAL for a name it would refuse or misread. */
static int shm_path(const char *name, char out[SHM_NAME_MAX + 2])
{
    if (!name || !*name || strlen(name) > SHM_NAME_MAX || strchr(name, '/') ||
        strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EINVAL;
    snprintf(out, SHM_NAME_MAX + 2, "/%s", name);
    return 0;
}

uint64_t shm_proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long t = 0;
    /* After ")": state (field 3), then fields 4..21, then starttime (22). */
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &t) != 1)
        return 0;
    return t;
}

bool shm_proc_alive(pid_t pid, uint64_t start)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
        return false;
    uint64_t now = shm_proc_start_time(pid);
    return now == 0 || now == start; /* unreadable: assume alive */
}

bool shm_named_owner_alive(const struct shm_named_hdr *h)
{
    return shm_proc_alive(h->owner_pid, h->owner_start);
}

static int map_fd(struct shm_segment *s, int fd, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *s = (struct shm_segment){.base = p, .size = size, .fd = fd};
    return 0;
}

/* Maps a segment's header alone and says whether its owner is gone. */
static int is_stale(const char *path, bool *stale)
{
    int fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    struct shm_named_hdr *h = MAP_FAILED;
    if (rc == 0 && st.st_size >= (off_t)SHM_NAMED_HDR)
        h = mmap(NULL, SHM_NAMED_HDR, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (rc < 0)
        return rc;
    /* Not ours, or never finished by an owner that died creating it. */
    if (h == MAP_FAILED) {
        *stale = false;
        return -EBADMSG;
    }
    bool ours = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == SHM_NAMED_MAGIC;
    *stale = ours && !shm_named_owner_alive(h);
    munmap(h, SHM_NAMED_HDR);
    return ours ? 0 : -EBADMSG;
}

static int create_once(struct shm_segment *s, const char *path, size_t size)
{
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t total = SHM_NAMED_HDR + size;
    int rc = ftruncate(fd, (off_t)total) == 0 ? map_fd(s, fd, total) : -errno;
    if (rc < 0) {
        close(fd);
        shm_unlink(path);
        return rc;
    }
    struct shm_named_hdr *h = s->base;
    h->version = 1;
    h->owner_pid = (int32_t)getpid();
    h->owner_start = shm_proc_start_time(getpid());
    h->size = size;
    /* Release: the rest of the header is visible to whoever sees the magic. */
    __atomic_store_n(&h->magic, SHM_NAMED_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

int shm_named_create(struct shm_segment *s, const char *name, size_t size, bool *reclaimed)
{
    *s = (struct shm_segment){.base = NULL, .fd = -1};
    if (reclaimed)
        *reclaimed = false;
    char path[SHM_NAME_MAX + 2];
    if (shm_path(name, path) < 0 || size == 0 || size > SIZE_MAX / 2)
        return -EINVAL;
    int rc = create_once(s, path, size);
    bool stale = false;
    if (rc != -EEXIST || is_stale(path, &stale) < 0 || !stale)
        return rc;
    shm_unlink(path); /* left by an owner that is gone */
    if (reclaimed)
        *reclaimed = true;
    return create_once(s, path, size);
}

int shm_named_open(struct shm_segment *s, const char *name)
{
    *s = (struct shm_segment){.base = NULL, .fd = -1};
    char path[SHM_NAME_MAX + 2];
    if (shm_path(name, path) < 0)
        return -EINVAL;
    int fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    if (rc == 0 && st.st_size < (off_t)SHM_NAMED_HDR)
        rc = -EBADMSG;
    if (rc == 0)
        rc = map_fd(s, fd, (size_t)st.st_size);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    const struct shm_named_hdr *h = s->base;
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != SHM_NAMED_MAGIC ||
        h->size != s->size - SHM_NAMED_HDR)
        rc = -EBADMSG;
    else if (!shm_named_owner_alive(h))
        rc = -ESTALE;
    if (rc < 0)
        shm_segment_destroy(s);
    return rc;
}

int shm_named_unlink(const char *name)
{
    char path[SHM_NAME_MAX + 2];
    if (shm_path(name, path) < 0)
        return -EINVAL;
    return shm_unlink(path) == 0 ? 0 : -errno;
}

int shm_named_reap(const char *prefix, unsigned *removed)
{
    *removed = 0;
    DIR *d = opendir(SHM_DIR);
    if (!d)
        return -errno;
    size_t plen = strlen(prefix);
    for (struct dirent *e; (e = readdir(d));) {
        char path[SHM_NAME_MAX + 2];
        bool stale = false;
        if (strncmp(e->d_name, prefix, plen) != 0 || shm_path(e->d_name, path) < 0)
            continue;
        if (is_stale(path, &stale) == 0 && stale && shm_unlink(path) == 0)
            ++*removed;
    }
    closedir(d);
    return 0;
}
