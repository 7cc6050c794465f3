/* SPDX-License-Identifier: MIT */
/* keyfile.c — key files (keyfile.h): reading them strictly, writing them
 * once. */
#include "keyfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"

/* Reads at most cap bytes of fd into buf: the count, or -errno. */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
    size_t at = 0;
    while (at < cap) {
        ssize_t n = read(fd, buf + at, cap - at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        at += (size_t)n;
    }
    return (ssize_t)at;
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The key text (n bytes of buf) into key. */
static int key_parse(const char *what, const char *hint, const char *path, const char *buf,
                     size_t n, uint8_t *key, size_t len)
{
    if (n == 2 * len + 1 && buf[2 * len] == '\n')
        n--;
    if (n != 2 * len)
        return err_set(-EINVAL, "%s %s: %s; it must hold %zu hex digits and an optional "
                       "newline (%s)", what, path, n > 2 * len ? "too long" : "too short",
                       2 * len, hint);
    size_t got = 0;
    const char *end = buf;
    if (sodium_hex2bin(key, len, buf, n, NULL, &got, &end) == 0 && got == len)
        return 0;
    size_t at = (size_t)(end - buf); /* the pair it stopped at: which of its two */
    while (at < n && isxdigit((unsigned char)buf[at]))
        at++;
    return err_set(-EINVAL, "%s %s: character %zu is not a hex digit", what, path, at + 1);
}

int keyfile_load(const char *what, const char *hint, const char *path, int private_rc,
                 uint8_t *key, size_t len)
{
    if (!path || !key || !len || len > KEYFILE_MAX)
        return err_set(-EINVAL, "%s: NULL path or key, or a bad length", what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(-errno, "%s %s: %s", what, path, strerror(errno));
    struct stat st;
    char buf[2 * KEYFILE_MAX + 2]; /* one byte more than the longest key file */
    size_t cap = 2 * len + 2;      /* ... and than this one */
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = err_set(-errno, "%s %s: %s", what, path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = err_set(-EINVAL, "%s %s is not a regular file", what, path);
        goto out;
    }
    if (private_rc && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        rc = err_set(private_rc, "%s %s has mode %04o: group or others may use it; run "
                     "chmod 600 %s", what, path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    ssize_t n = read_all(fd, buf, cap);
    if (n < 0)
        rc = err_set((int)n, "%s %s: %s", what, path, strerror((int)-n));
    else
        rc = key_parse(what, hint, path, buf, (size_t)n, key, len);
    sodium_memzero(buf, sizeof(buf));
out:
    close(fd);
    return rc;
}

int keyfile_write(const char *what, const char *path, mode_t mode, const uint8_t *key,
                  size_t len)
{
    if (!path || !key || !len || len > KEYFILE_MAX)
        return err_set(-EINVAL, "%s: NULL path or key, or a bad length", what);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0600);
    if (fd < 0 && errno == EEXIST)
        return err_set(-EEXIST, "%s %s already exists: not overwritten", what, path);
    if (fd < 0)
        return err_set(-errno, "%s %s: %s", what, path, strerror(errno));
    char hex[2 * KEYFILE_MAX + 1];
    sodium_bin2hex(hex, sizeof(hex), key, len);
    hex[2 * len] = '\n'; /* replaces the NUL: the digits and a newline */
    int rc = 0;
    if (fchmod(fd, mode) < 0) /* exactly mode, whatever the umask */
        rc = -errno;
    if (rc == 0)
        rc = write_all(fd, hex, 2 * len + 1);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    sodium_memzero(hex, sizeof(hex));
    if (rc < 0) {
        unlink(path);
        return err_set(rc, "%s %s: %s", what, path, strerror(-rc));
    }
    return 0;
}
