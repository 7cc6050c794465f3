/* SPDX-License-Identifier: MIT */
/*
 * image.c — code images: shared objects that register actor types
 * (thespis/image.h, design §8).
 *
 * Every image goes the same way, whichever call brings it: its bytes are
 * read into memory once, checked (image_elf.c), approved (ts_load_image asks
 * the node's Source Authority), copied into a memfd that is then sealed
 * against any change, and dlopened from /proc/self/fd/N. What runs is
 * therefore exactly the bytes that were hashed and approved; no path a user
 * could swap underneath is ever opened by the loader. Images are never
 * dlclosed: the registry points into their memory, and an unloaded image's
 * running actors go on running its code.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <thespis/image.h>
#include <thespis/node.h>
#include <thespis/sysmsg.h>

#include "err.h"
#include "image_elf.h"
#include "image_wire.h"
#include "images.h"
#include "mp.h"
#include "registry.h"
#include "shard.h"
#include "shard_internal.h"
#include "system.h"

#define IMAGES_MAX 256
#define AUTHORITY_TIMEOUT_NS (10ull * 1000000000u)

struct image {
    ts_image_id id;
    uint64_t size;
    int fd;           /* the sealed memfd its code was loaded from; kept open */
    void *handle;
    uint32_t ntypes;
    bool program;     /* preloaded (ts_image_load): its types are the program's */
    char types[256];  /* their names, comma-separated */
};

static struct image *images[IMAGES_MAX];
static unsigned nimages;
static pthread_mutex_t images_lock = PTHREAD_MUTEX_INITIALIZER;

/* The process's record of id, loaded as the program's types or as an
 * image's (the same bytes may be both: two records, two sets of types). */
static struct image *find_locked(const ts_image_id *id, bool program)
{
    for (unsigned i = 0; i < nimages; i++)
        if (images[i]->program == program && memcmp(&images[i]->id, id, sizeof(*id)) == 0)
            return images[i];
    return NULL;
}

bool image_here(const ts_image_id *id)
{
    pthread_mutex_lock(&images_lock);
    bool here = find_locked(id, false) != NULL;
    pthread_mutex_unlock(&images_lock);
    return here;
}

static int read_file(const char *path, size_t max, void **out, size_t *len);

/* ---- what a node has ------------------------------------------------ */

void image_node_init(struct image_node *n, bool allow_unsigned, bool shared)
{
    memset(n, 0, sizeof(*n));
    n->allow_unsigned = allow_unsigned;
    mp_mutex_init(&n->lock, shared);
}

void image_node_fini(struct image_node *n, bool shared)
{
    if (!shared)
        pthread_mutex_destroy(&n->lock);
}

/* n's entry of id, or NULL. Call locked. */
static struct node_image *node_find(struct image_node *n, const ts_image_id *id)
{
    for (uint32_t i = 0; i < n->n && i < NODE_IMAGES; i++)
        if (n->v[i].state != NODE_IMAGE_FREE && memcmp(&n->v[i].id, id, sizeof(*id)) == 0)
            return &n->v[i];
    return NULL;
}

bool image_usable(struct image_node *n, const ts_image_id *id)
{
    if (mp_lock(&n->lock) != 0)
        return false;
    const struct node_image *e = node_find(n, id);
    bool ok = e && e->state == NODE_IMAGE_LOADED;
    pthread_mutex_unlock(&n->lock);
    return ok;
}

int image_create_check(struct image_node *n, const ts_image_id *id, const char *type,
                       bool have_type)
{
    char hex[TS_IMAGE_ID_TEXT];
    ts_image_id_format(id, hex, sizeof(hex));
    if (mp_lock(&n->lock) != 0)
        return err_set(-ENOTRECOVERABLE, "the node's image table is not recoverable");
    const struct node_image *e = node_find(n, id);
    uint32_t state = e ? e->state : NODE_IMAGE_FREE;
    pthread_mutex_unlock(&n->lock);
    if (state == NODE_IMAGE_UNLOADED)
        return err_set(-ENOENT, "image %s is unloaded: no new actors of its types", hex);
    if (state != NODE_IMAGE_LOADED)
        return err_set(-ENOENT, "image %s is not loaded on this node", hex);
    if (!have_type)
        return err_set(-ENOENT, "image %s has no actor type '%s'", hex, type);
    return 0;
}

bool image_known(struct image_node *n, const ts_image_id *id)
{
    if (mp_lock(&n->lock) != 0)
        return false;
    bool has = node_find(n, id) != NULL;
    pthread_mutex_unlock(&n->lock);
    return has;
}

/* Marks the process's image im loaded on node n, its memfd kept by
 * process pid as fd (pid < 0: where it was kept already), approved with
 * sig: 0, or -ENOSPC. */
static int node_add(struct image_node *n, const struct image *im, int32_t pid, int32_t fd,
                    const void *sig, size_t sig_len)
{
    if (mp_lock(&n->lock) != 0)
        return err_set(-ENOTRECOVERABLE, "the node's image table is not recoverable");
    struct node_image *e = node_find(n, &im->id);
    int rc = 0;
    if (!e && n->n < NODE_IMAGES)
        e = &n->v[n->n++];
    if (!e) {
        rc = err_set(-ENOSPC, "the node has %d images already", NODE_IMAGES);
    } else {
        e->id = im->id;
        e->size = im->size;
        e->ntypes = im->ntypes;
        if (pid >= 0) { /* else: a reload keeps where its copy is */
            e->owner_pid = pid;
            e->owner_fd = fd;
        }
        snprintf(e->types, sizeof(e->types), "%s", im->types);
        e->sig_len = sig_len <= IMAGE_SIG_MAX ? (uint32_t)sig_len : 0; /* ts_load_image: fits */
        if (e->sig_len)
            memcpy(e->sig, sig, e->sig_len);
        e->state = NODE_IMAGE_LOADED;
    }
    pthread_mutex_unlock(&n->lock);
    return rc;
}

/* ---- loading -------------------------------------------------------- */

/* The bytes in a memfd sealed against every change. 0 with *fd, or -errno. */
static int sealed_memfd(const ts_image_id *id, const void *bytes, size_t len, int *fd)
{
    char name[64], hex[TS_IMAGE_ID_TEXT];
    snprintf(name, sizeof(name), "thespis-image-%s", ts_image_id_format(id, hex, sizeof(hex)));
    int f = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (f < 0)
        return err_set(-errno, "memfd_create: %s", strerror(errno));
    for (size_t done = 0; done < len;) {
        ssize_t n = write(f, (const char *)bytes + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(f);
            return err_set(-e, "writing an image into its memfd: %s", strerror(e));
        }
        done += (size_t)n;
    }
    if (fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        int e = errno;
        close(f);
        return err_set(-e, "sealing an image's memfd: %s", strerror(e));
    }
    *fd = f;
    return 0;
}

static void count_type(const ts_actor_type *t, void *arg)
{
    struct image *im = arg;
    size_t used = strlen(im->types);
    if (used + 2 < sizeof(im->types))
        snprintf(im->types + used, sizeof(im->types) - used, "%s%s", used ? "," : "", t->name);
    im->ntypes++;
}

/* Runs the image's init with its registrations going to im (or to the
 * program's types when program). 0 or the error, said. */
static int run_init(struct image *im, bool program, const char *what)
{
    void *sym = dlsym(im->handle, TS_IMAGE_INIT_SYMBOL);
    if (!sym)
        return err_set(-ENOEXEC, "%s has no %s symbol", what, TS_IMAGE_INIT_SYMBOL);
    ts_image_init_fn init;
    memcpy(&init, &sym, sizeof(init)); /* a data pointer to a function pointer, as dlsym means */
    registry_image_begin(program ? NULL : &im->id, count_type, im);
    err_set(0, "%s", ""); /* what init says, if anything, is its own */
    int rc = init();
    if (rc != 0)
        registry_image_abort();
    registry_image_end();
    if (rc == 0)
        return 0;
    char why[200];
    snprintf(why, sizeof(why), "%s", ts_last_error());
    if (rc > 0)
        return err_set(-ECANCELED, "%s() of %s failed with %d", TS_IMAGE_INIT_SYMBOL, what, rc);
    return err_set(rc, "%s() of %s failed: %s%s%s", TS_IMAGE_INIT_SYMBOL, what, strerror(-rc),
                   *why ? ": " : "", why);
}

/* Fills a new image record: memfd, dlopen, init. The types a failed init
 * registered are forgotten (registry_image_abort), so a later load starts
 * afresh; the image stays mapped (never dlclosed: its init ran) and its
 * memfd open, so that no later image's /proc/self/fd/N path names it. */
static int load_new(struct image *im, const ts_image_id *id, const void *bytes, size_t len,
                    bool program, const char *what)
{
    im->id = *id;
    im->size = len;
    im->program = program;
    int rc = sealed_memfd(id, bytes, len, &im->fd);
    if (rc < 0)
        return rc;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", im->fd);
    if (!(im->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        rc = err_set(-ENOEXEC, "cannot load %s: %s", what, dlerror());
        close(im->fd);
        return rc;
    }
    return run_init(im, program, what);
}

/*
 * The process's image of id: loaded now from checked, approved bytes, or
 * the one it has (an image is dlopened once per process). what names it
 * in errors. 0 with *out_info a copy, or the error, said.
 */
static int load_bytes(const ts_image_id *id, const void *bytes, size_t len, bool program,
                      const char *what, struct image *out_info)
{
    pthread_mutex_lock(&images_lock);
    struct image *im = find_locked(id, program);
    if (im) {
        *out_info = *im;
        pthread_mutex_unlock(&images_lock);
        return 0;
    }
    int rc = nimages == IMAGES_MAX
                 ? err_set(-ENOSPC, "this process has loaded %d images already", IMAGES_MAX)
                 : 0;
    if (rc == 0 && !(im = calloc(1, sizeof(*im))))
        rc = err_set(-ENOMEM, "out of memory");
    if (rc == 0)
        rc = load_new(im, id, bytes, len, program, what);
    if (rc < 0) {
        free(im);
        pthread_mutex_unlock(&images_lock);
        return rc;
    }
    images[nimages++] = im;
    *out_info = *im;
    pthread_mutex_unlock(&images_lock);
    return 0;
}

int image_check_bytes(const void *bytes, size_t len, const char *what)
{
    char why[160];
    if (image_elf_check(bytes, len, why, sizeof(why)) < 0)
        return err_set(-ENOEXEC, "%s: %s", what, why);
    return 0;
}

/* ---- reading files -------------------------------------------------- */

/* The whole file at path, malloc'd. 0 or -errno, said. */
static int read_file(const char *path, size_t max, void **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return err_set(-ENOENT, "no such file '%s'", path);
    if (fd < 0)
        return err_set(-errno, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? err_set(-errno, "'%s': %s", path, strerror(errno)) : 0;
    if (rc == 0 && !S_ISREG(st.st_mode))
        rc = err_set(-EINVAL, "'%s' is not a regular file", path);
    if (rc == 0 && (uint64_t)st.st_size > max)
        rc = err_set(-EMSGSIZE, "'%s' has %lld bytes, above the maximum of %zu", path,
                     (long long)st.st_size, max);
    unsigned char *buf = NULL;
    size_t done = 0;
    if (rc == 0 && !(buf = malloc(st.st_size ? (size_t)st.st_size : 1)))
        rc = err_set(-ENOMEM, "out of memory");
    while (rc == 0 && done < (size_t)st.st_size) { /* a file that shrinks meanwhile is short */
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = err_set(-errno, "reading '%s': %s", path, strerror(errno));
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = done;
    return 0;
}

/* A signature file: 128 hex digits, whitespace around them allowed. */
static int read_sig(const char *path, unsigned char sig[TS_SIGN_BYTES])
{
    void *text;
    size_t len, got = 0;
    int rc = read_file(path, 4096, &text, &len);
    if (rc < 0)
        return rc;
    const char *s = text, *end = s + len, *stop = NULL;
    while (s < end && strchr(" \t\r\n", *s) && *s)
        s++;
    if (sodium_hex2bin(sig, TS_SIGN_BYTES, s, (size_t)(end - s), NULL, &got, &stop) != 0)
        got = 0;
    while (stop && stop < end && strchr(" \t\r\n", *stop) && *stop)
        stop++;
    free(text);
    if (got != TS_SIGN_BYTES || stop != end)
        return err_set(-EINVAL, "'%s' is not a signature (%d hex digits, as `thespis sign` "
                       "writes)", path, 2 * TS_SIGN_BYTES);
    return 0;
}

/* ---- the node: authority, watchers ---------------------------------- */

/* Asks sys's authority about the image: 0 (approved) or -errno, said. */
static int ask_authority(struct ts_system *sys, const ts_image_id *id, const void *bytes,
                         size_t len, const void *sig, size_t sig_len)
{
    char hex[TS_IMAGE_ID_TEXT];
    ts_image_id_format(id, hex, sizeof(hex));
    ts_addr auth = atomic_load(&sys->img->authority);
    if (!auth) {
        if (sys->img->allow_unsigned)
            return 0;
        return err_set(-EPERM, "image %s refused: the node has no Source Authority (start it "
                       "with an authority key, or allow unsigned images)", hex);
    }
    size_t n = validate_image_size(len, sig_len);
    if (n > sys->cfg.max_msg_size)
        return err_set(-EMSGSIZE, "image %s of %zu bytes is above the maximum message size", hex,
                       len);
    unsigned char *p = malloc(n);
    if (!p)
        return err_set(-ENOMEM, "out of memory");
    validate_image_write(p, id, bytes, len, sig, sig_len);
    ts_msg *reply = NULL;
    int rc = ts_ask(sys, auth, TS_MSG_VALIDATE_IMAGE, p, n, AUTHORITY_TIMEOUT_NS, &reply);
    free(p);
    if (rc == -ETIMEDOUT)
        return err_set(-ETIMEDOUT, "image %s: the Source Authority did not answer in 10 s", hex);
    if (rc < 0)
        return rc;
    ts_validated_image v;
    if (ts_validated_image_decode(reply, &v) < 0 || memcmp(&v.id, id, sizeof(*id)) != 0) {
        const char *name = ts_sysmsg_name(reply->type);
        rc = err_set(-EPERM, "image %s refused: the Source Authority answered with %s", hex,
                     name ? name : "a message that is not its ValidatedImage");
    } else if (!v.ok) {
        rc = err_set(-EPERM, "image %s refused by the Source Authority: %s", hex,
                     v.reason_len ? v.reason : "no reason given");
    }
    ts_msg_free(reply);
    return rc;
}

/* Tells the watchers, from shard sh (a fetch) or from outside actors. */
static void notify(struct ts_system *sys, struct shard *sh, uint64_t type,
                   const struct image *im)
{
    unsigned char ev[IMAGE_EVENT_LEN];
    image_event_write(ev, &im->id, im->size, im->ntypes);
    for (unsigned i = 0; i < IMAGE_WATCHERS; i++) {
        ts_addr w = atomic_load_explicit(&sys->img->watchers[i], memory_order_acquire);
        if (w && sh)
            shard_enqueue(sh, w, control_addr(sh->node, sh->id), type, ev, sizeof(ev), 0);
        else if (w)
            ts_tell(sys, w, type, ev, sizeof(ev));
    }
}

static void log_image(struct ts_system *sys, ts_log_level level, const char *id_text,
                      const struct image *im, const char *what)
{
    char hex[TS_IMAGE_ID_TEXT];
    system_log(sys, level, id_text, TS_ADDR_NONE, "", "image %s (%llu bytes) %s: types %s",
               ts_image_id_format(&im->id, hex, sizeof(hex)), (unsigned long long)im->size,
               what, im->types[0] ? im->types : "(none)");
}

static int check_sys(struct ts_system *sys, const char *fn)
{
    if (!sys)
        return err_set(-EINVAL, "%s: NULL system", fn);
    if (atomic_load(&sys->shut_down))
        return err_set(-ESHUTDOWN, "%s: the system is shut down", fn);
    if (system_running == sys)
        return err_set(-EDEADLK, "%s called from inside a handler of the node", fn);
    return 0;
}

/* Where the node keeps the image's memfd: this process, or the one its
 * base says (a multiproc node's admin). */
static int keep(struct ts_system *sys, const struct image *im, int32_t *pid, int32_t *fd)
{
    *pid = (int32_t)getpid();
    *fd = im->fd;
    return sys->ops->image_keep ? sys->ops->image_keep(sys, &im->id, im->fd, pid, fd) : 0;
}

int image_node_copy(struct image_node *n, const ts_image_id *id, bool serve_unloaded,
                    void **bytes, size_t *len, unsigned char *sig, size_t *sig_len)
{
    char hex[TS_IMAGE_ID_TEXT], what[64], path[64];
    snprintf(what, sizeof(what), "image %s", ts_image_id_format(id, hex, sizeof(hex)));
    if (mp_lock(&n->lock) != 0)
        return err_set(-ENOTRECOVERABLE, "the node's image table is not recoverable");
    const struct node_image *e = node_find(n, id);
    bool ok = e && (serve_unloaded || e->state == NODE_IMAGE_LOADED);
    int32_t pid = e ? e->owner_pid : 0, fd = e ? e->owner_fd : -1;
    if (ok && sig) {
        *sig_len = e->sig_len;
        memcpy(sig, e->sig, e->sig_len);
    }
    pthread_mutex_unlock(&n->lock);
    if (!ok)
        return err_set(-ENOENT, "%s is %s on this node", what, e ? "unloaded" : "not loaded");
    snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, (int)fd);
    int rc = read_file(path, SIZE_MAX, bytes, len);
    if (rc < 0)
        return err_set(rc, "%s: the node's copy cannot be read (%s)", what, path);
    ts_image_id have;
    ts_image_id_of(*bytes, *len, &have);
    if (memcmp(&have, id, sizeof(have)) == 0)
        return 0;
    free(*bytes);
    return err_set(-EBADMSG, "%s: the node's copy does not hash to its id", what);
}

int image_adopt(struct image_node *n, const ts_image_id *id)
{
    char hex[TS_IMAGE_ID_TEXT], what[64];
    snprintf(what, sizeof(what), "image %s", ts_image_id_format(id, hex, sizeof(hex)));
    if (image_here(id))
        return 0;
    void *bytes;
    size_t len;
    int rc = image_node_copy(n, id, true, &bytes, &len, NULL, NULL);
    if (rc < 0)
        return rc;
    struct image info;
    rc = image_check_bytes(bytes, len, what);
    if (rc == 0)
        rc = load_bytes(id, bytes, len, false, what, &info);
    free(bytes);
    return rc;
}

/* ---- the API -------------------------------------------------------- */

static int load_approved(struct ts_system *sys, const void *bytes, size_t len, const void *sig,
                         size_t sig_len, ts_image_id *id);

int ts_load_image(ts_system *sys, const void *bytes, size_t len, const void *sig,
                  size_t sig_len, ts_image_id *id)
{
    int rc = check_sys(sys, "ts_load_image");
    if (rc < 0)
        return rc;
    if (!bytes || !len || !id || (sig_len && !sig))
        return err_set(-EINVAL, "ts_load_image: NULL or empty argument");
    if (len > sys->cfg.max_msg_size || sig_len > UINT32_MAX ||
        sig_len > sys->cfg.max_msg_size - len)
        return err_set(-EMSGSIZE, "ts_load_image: %zu bytes and a signature of %zu, above the "
                       "maximum message size", len, sig_len);
    if (sig_len > IMAGE_SIG_MAX) /* kept with the image, for members that fetch it */
        return err_set(-EMSGSIZE, "ts_load_image: a signature of %zu bytes, above the maximum "
                       "of %u", sig_len, IMAGE_SIG_MAX);
    /* Everything below reads a sealed private copy, so that what is hashed,
     * checked, approved and loaded is one and the same, whatever happens to
     * the caller's buffer meanwhile. */
    static const ts_image_id unnamed;
    int fd;
    if ((rc = sealed_memfd(&unnamed, bytes, len, &fd)) < 0)
        return rc;
    void *view = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (view == MAP_FAILED)
        return err_set(-errno, "ts_load_image: cannot map its copy: %s", strerror(errno));
    rc = load_approved(sys, view, len, sig, sig_len, id);
    munmap(view, len);
    return rc;
}

/* ts_load_image of bytes nobody can change. */
static int load_approved(struct ts_system *sys, const void *bytes, size_t len, const void *sig,
                         size_t sig_len, ts_image_id *id)
{
    int rc;
    ts_image_id have;
    char hex[TS_IMAGE_ID_TEXT], what[64];
    ts_image_id_of(bytes, len, &have);
    snprintf(what, sizeof(what), "image %s", ts_image_id_format(&have, hex, sizeof(hex)));
    if (image_usable(sys->img, &have)) {
        *id = have;
        return 0;
    }
    if ((rc = image_check_bytes(bytes, len, what)) < 0 ||
        (rc = ask_authority(sys, &have, bytes, len, sig, sig_len)) < 0) {
        system_log(sys, TS_LOG_WARNING, "TS-IMAGE-REFUSED", TS_ADDR_NONE, "", "%s",
                   ts_last_error());
        return rc;
    }
    if ((rc = image_install(sys, NULL, &have, bytes, len, sig, sig_len, "loaded")) < 0)
        return rc;
    *id = have;
    return 0;
}

int image_install(struct ts_system *sys, struct shard *sh, const ts_image_id *id,
                  const void *bytes, size_t len, const void *sig, size_t sig_len,
                  const char *how)
{
    char hex[TS_IMAGE_ID_TEXT], what[64];
    snprintf(what, sizeof(what), "image %s", ts_image_id_format(id, hex, sizeof(hex)));
    bool reload = image_known(sys->img, id); /* unloaded: its copy is kept already */
    struct image info;
    int32_t owner = -1, owner_fd = -1;
    int rc;
    if ((rc = load_bytes(id, bytes, len, false, what, &info)) < 0 ||
        (!reload && (rc = keep(sys, &info, &owner, &owner_fd)) < 0) ||
        (rc = node_add(sys->img, &info, reload ? -1 : owner, owner_fd, sig, sig_len)) < 0) {
        system_log(sys, TS_LOG_WARNING, "TS-IMAGE-REFUSED", TS_ADDR_NONE, "", "%s",
                   ts_last_error());
        return rc;
    }
    log_image(sys, TS_LOG_INFO, "TS-IMAGE-LOADED", &info, how);
    notify(sys, sh, TS_MSG_IMAGE_LOADED, &info);
    return 0;
}

int ts_load_image_file(ts_system *sys, const char *path, ts_image_id *id)
{
    int rc = check_sys(sys, "ts_load_image_file");
    if (rc < 0)
        return rc;
    if (!path || !*path || !id)
        return err_set(-EINVAL, "ts_load_image_file: NULL or empty argument");
    void *bytes;
    size_t len;
    if ((rc = read_file(path, sys->cfg.max_msg_size, &bytes, &len)) < 0)
        return rc;
    char sig_path[PATH_MAX];
    unsigned char sig[TS_SIGN_BYTES];
    size_t sig_len = 0;
    if (snprintf(sig_path, sizeof(sig_path), "%s.sig", path) >= (int)sizeof(sig_path))
        rc = err_set(-ENAMETOOLONG, "ts_load_image_file: path too long");
    else if (access(sig_path, F_OK) == 0 && (rc = read_sig(sig_path, sig)) == 0)
        sig_len = sizeof(sig);
    if (rc == 0 && !len)
        rc = err_set(-ENOEXEC, "'%s' is empty", path);
    if (rc == 0)
        rc = ts_load_image(sys, bytes, len, sig_len ? sig : NULL, sig_len, id);
    free(bytes);
    return rc;
}

int ts_unload_image(ts_system *sys, const ts_image_id *id)
{
    int rc = check_sys(sys, "ts_unload_image");
    if (rc < 0)
        return rc;
    if (!id)
        return err_set(-EINVAL, "ts_unload_image: NULL id");
    char hex[TS_IMAGE_ID_TEXT];
    struct image_node *n = sys->img;
    if (mp_lock(&n->lock) != 0)
        return err_set(-ENOTRECOVERABLE, "the node's image table is not recoverable");
    struct node_image *e = node_find(n, id);
    bool was = e && e->state == NODE_IMAGE_LOADED;
    struct image info = {.fd = -1};
    if (was) {
        e->state = NODE_IMAGE_UNLOADED;
        info.id = e->id;
        info.size = e->size;
        info.ntypes = e->ntypes;
        snprintf(info.types, sizeof(info.types), "%s", e->types);
    }
    pthread_mutex_unlock(&n->lock);
    if (!was)
        return err_set(-ENOENT, "ts_unload_image: image %s is not loaded",
                       ts_image_id_format(id, hex, sizeof(hex)));
    log_image(sys, TS_LOG_INFO, "TS-IMAGE-UNLOADED", &info, "unloaded");
    notify(sys, NULL, TS_MSG_IMAGE_UNLOADED, &info);
    return 0;
}

int ts_images(ts_system *sys, ts_image_info *out, unsigned max)
{
    if (!sys || (max && !out))
        return err_set(-EINVAL, "ts_images: NULL argument");
    struct image_node *nd = sys->img;
    if (mp_lock(&nd->lock) != 0)
        return err_set(-ENOTRECOVERABLE, "the node's image table is not recoverable");
    unsigned n = nd->n < NODE_IMAGES ? nd->n : NODE_IMAGES;
    for (unsigned i = 0; i < n && i < max; i++) {
        const struct node_image *e = &nd->v[i];
        memset(&out[i], 0, sizeof(out[i]));
        out[i].id = e->id;
        out[i].size = e->size;
        out[i].ntypes = e->ntypes;
        out[i].loaded = e->state == NODE_IMAGE_LOADED ? 1 : 0;
        snprintf(out[i].types, sizeof(out[i].types), "%s", e->types);
    }
    pthread_mutex_unlock(&nd->lock);
    return (int)n;
}

int ts_system_set_source_authority(ts_system *sys, ts_addr addr)
{
    if (!sys)
        return err_set(-EINVAL, "ts_system_set_source_authority: NULL system");
    if (atomic_load(&sys->shut_down))
        return err_set(-ESHUTDOWN, "ts_system_set_source_authority: the system is shut down");
    if (addr && ts_addr_gen(addr) == 0)
        return err_set(-EINVAL, "ts_system_set_source_authority: not an actor's address");
    atomic_store(&sys->img->used, true);
    atomic_store(&sys->img->authority, addr);
    return 0;
}

int ts_notify_on_images(ts_ctx *ctx, bool start)
{
    if (!ctx)
        return err_set(-EINVAL, "ts_notify_on_images: NULL context");
    struct image_node *n = ts_ctx_system(ctx)->img;
    ts_addr self = ts_self(ctx);
    int empty = -1;
    for (int i = 0; i < IMAGE_WATCHERS; i++) {
        ts_addr w = atomic_load(&n->watchers[i]);
        if (w == self) {
            if (!start)
                atomic_compare_exchange_strong(&n->watchers[i], &w, TS_ADDR_NONE);
            return 0;
        }
        if (!w && empty < 0)
            empty = i;
    }
    if (!start)
        return 0;
    atomic_store(&n->used, true);
    for (int i = empty < 0 ? IMAGE_WATCHERS : empty; i < IMAGE_WATCHERS; i++) {
        ts_addr none = TS_ADDR_NONE;
        if (atomic_compare_exchange_strong(&n->watchers[i], &none, self))
            return 0;
    }
    return err_set(-ENOSPC, "ts_notify_on_images: the node has %d image watchers already",
                   IMAGE_WATCHERS);
}

void image_node_drop(struct image_node *n, ts_addr addr)
{
    if (!atomic_load_explicit(&n->used, memory_order_relaxed))
        return;
    ts_addr expect = addr;
    atomic_compare_exchange_strong(&n->authority, &expect, TS_ADDR_NONE);
    for (unsigned i = 0; i < IMAGE_WATCHERS; i++) {
        expect = addr;
        if (atomic_load_explicit(&n->watchers[i], memory_order_relaxed) == addr)
            atomic_compare_exchange_strong(&n->watchers[i], &expect, TS_ADDR_NONE);
    }
}

/* ---- preloading: the program's own types ---------------------------- */

/* rc, with fn put before what ts_last_error says. */
static int said(int rc, const char *fn)
{
    char why[512];
    snprintf(why, sizeof(why), "%s", ts_last_error());
    return err_set(rc, "%s: %s", fn, why);
}

int ts_image_load(const char *path)
{
    if (!path || !*path)
        return err_set(-EINVAL, "ts_image_load: NULL or empty path");
    void *bytes;
    size_t len;
    int rc = read_file(path, SIZE_MAX, &bytes, &len);
    if (rc < 0)
        return said(rc, "ts_image_load");
    char what[PATH_MAX + 8];
    snprintf(what, sizeof(what), "'%s'", path);
    ts_image_id id;
    ts_image_id_of(bytes, len, &id);
    struct image info;
    rc = len ? image_check_bytes(bytes, len, what) : err_set(-ENOEXEC, "'%s' is empty", path);
    if (rc == 0)
        rc = load_bytes(&id, bytes, len, true, what, &info);
    free(bytes);
    return rc < 0 ? said(rc, "ts_image_load") : 0;
}
