/* SPDX-License-Identifier: MIT */
/*
 * image.c — code images: shared objects that register actor types.
 *
 * Every image any program or node loads goes through ts_image_load, and only
 * through it: identifying an image by its hash and checking its signature
 * (a later issue) belong here, before dlopen runs any of its code.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <thespis/node.h>

#include "err.h"

/* A path dlopen takes as a file, never as a name to search the library path
 * for: one without a '/' gets "./" in front, so what is loaded is the file
 * whose existence was checked. 0 or -ENAMETOOLONG. */
static int image_file_path(const char *path, char *buf, size_t len)
{
    const char *prefix = strchr(path, '/') ? "" : "./";
    int n = snprintf(buf, len, "%s%s", prefix, path);

    if (n < 0 || (size_t)n >= len)
        return err_set(-ENAMETOOLONG, "ts_image_load: path too long: '%.64s...'", path);
    return 0;
}

/* Checks that the file exists, so a missing file is -ENOENT rather than
 * whatever dlopen says. Other stat failures (EACCES...) are left to dlopen,
 * whose message says more. */
static int image_check_exists(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR))
        return err_set(-ENOENT, "ts_image_load: no such file '%s'", path);
    return 0;
}

/* Calls the image's init and maps its result to 0 or -errno. */
static int image_run_init(const char *path, ts_image_init_fn init)
{
    int rc = init();

    if (rc == 0)
        return 0;
    if (rc > 0)
        return err_set(-ECANCELED, "ts_image_load: %s() of '%s' failed with %d",
                       TS_IMAGE_INIT_SYMBOL, path, rc);
    return err_set(rc, "ts_image_load: %s() of '%s' failed: %s", TS_IMAGE_INIT_SYMBOL,
                   path, strerror(-rc));
}

int ts_image_load(const char *path)
{
    char file[PATH_MAX];
    void *handle;
    void *sym;
    int rc;

    if (!path || !*path)
        return err_set(-EINVAL, "ts_image_load: NULL or empty path");
    rc = image_file_path(path, file, sizeof(file));
    if (rc == 0)
        rc = image_check_exists(file);
    if (rc)
        return rc;

    /* Loading a path again is fine: dlopen counts references and hands back
     * the same handle, and the init runs again (registering the same types
     * twice is fine). The handle is never closed once the init has run: the
     * registry points into the image's memory. */
    handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        return err_set(-ENOEXEC, "ts_image_load: cannot load '%s': %s", path, dlerror());
    sym = dlsym(handle, TS_IMAGE_INIT_SYMBOL);
    if (!sym) {
        dlclose(handle);
        return err_set(-ENOEXEC, "ts_image_load: '%s' has no %s symbol", path,
                       TS_IMAGE_INIT_SYMBOL);
    }
    return image_run_init(path, (ts_image_init_fn)sym);
}
