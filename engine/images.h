/* SPDX-License-Identifier: MIT */
/*
 * images.h — what a node keeps about code images (thespis/image.h): which
 * it has and whether each is loaded, its Source Authority and the actors
 * that watch its images, in struct image_node, which a named node keeps in
 * its shared memory (position-independent, a process-shared lock). The
 * code itself is each process's: image.c dlopens an image once per process
 * and every node of the process shares it.
 */
#ifndef TS_ENGINE_IMAGES_H
#define TS_ENGINE_IMAGES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <thespis/image.h>

struct ts_system;

#define IMAGE_WATCHERS 64
#define NODE_IMAGES 64
/* The longest signature a node keeps with an image, for members that fetch
 * it (an ed25519 one is 64 bytes). */
#define IMAGE_SIG_MAX 512u

enum node_image_state { NODE_IMAGE_FREE = 0, NODE_IMAGE_LOADED, NODE_IMAGE_UNLOADED };

struct node_image {
    ts_image_id id;
    uint64_t size;
    uint32_t ntypes;
    uint32_t state;  /* enum node_image_state */
    int32_t owner_pid, owner_fd; /* a process holding its sealed memfd (multiproc) */
    uint32_t sig_len;
    uint32_t zero;
    unsigned char sig[IMAGE_SIG_MAX]; /* the signature it was approved with */
    char types[256]; /* its types' names, comma-separated */
};

struct image_node {
    _Atomic bool used;   /* ever had an authority or a watcher: exits look */
    bool allow_unsigned; /* set when the node starts */
    _Atomic ts_addr authority;
    _Atomic ts_addr watchers[IMAGE_WATCHERS];
    pthread_mutex_t lock; /* n and v */
    uint32_t n;
    struct node_image v[NODE_IMAGES];
};

void image_node_init(struct image_node *n, bool allow_unsigned, bool shared);
void image_node_fini(struct image_node *n, bool shared);
/* Whether node n has image id loaded (usable for new actors). */
bool image_usable(struct image_node *n, const ts_image_id *id);
/* Whether a new actor of type (have_type: this process has it) may come
 * from image id of node n: 0, or -ENOENT saying why (unloaded, not
 * loaded, no such type in it). */
int image_create_check(struct image_node *n, const ts_image_id *id, const char *type,
                       bool have_type);
/* Makes sure this process has image id of node n (loaded or unloaded
 * there: a restarted shard re-creates its actors), reading the copy the
 * node keeps and checking its hash: 0 or -errno, said. */
int image_adopt(struct image_node *n, const ts_image_id *id);
/* Whether this process has dlopened image id (for any node). */
bool image_here(const ts_image_id *id);
/* Whether node n has image id, loaded or unloaded. */
bool image_known(struct image_node *n, const ts_image_id *id);
/* A copy of node n's image id (loaded: serve_unloaded false) and the
 * signature it was approved with (sig: IMAGE_SIG_MAX bytes), read from the
 * memfd the node keeps and checked against its id. 0 with *bytes malloc'd,
 * or -errno, said. */
int image_node_copy(struct image_node *n, const ts_image_id *id, bool serve_unloaded,
                    void **bytes, size_t *len, unsigned char *sig, size_t *sig_len);
/* The bytes, approved and checked (image_elf.c), into this process and
 * node: dlopen, init, the node's copy kept, its table, the log, the
 * watchers (told from shard sh, or from outside actors when NULL). how
 * ends the log line ("loaded", "fetched from node 1"). 0 or -errno, said
 * and logged TS-IMAGE-REFUSED. */
struct shard;
int image_install(struct ts_system *sys, struct shard *sh, const ts_image_id *id,
                  const void *bytes, size_t len, const void *sig, size_t sig_len,
                  const char *how);
/* image_fetch.c: a Start from another node for an image this node lacks
 * waits while a fetch from the convention's leader brings it. Whether
 * start was parked so (copied: the shard runs it again once the fetch
 * ends); false: actor_start goes on. */
struct ts_msg;
bool image_fetch_park(struct shard *sh, const struct ts_msg *start);
/* The fetch's control messages (NET_IMAGE_*, the authority's answer):
 * 0 when m was one, else -ENOENT. */
int image_fetch_control(struct shard *sh, const struct ts_msg *m);
/* Ends the fetches past their deadline (each turn of the shard's loop,
 * when it has any). */
void image_fetch_poll(struct shard *sh);
/* Forgets every fetch under way and the Starts waiting for them. */
void image_fetch_fini(struct shard *sh);

/* The ELF checks of image_elf.c: 0, or -ENOEXEC said ("what: why"). */
int image_check_bytes(const void *bytes, size_t len, const char *what);
/* Forgets addr as an authority or watcher of n (it exited). */
void image_node_drop(struct image_node *n, ts_addr addr);

#endif
