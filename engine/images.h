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

#define IMAGE_WATCHERS 64
#define NODE_IMAGES 64

enum node_image_state { NODE_IMAGE_FREE = 0, NODE_IMAGE_LOADED, NODE_IMAGE_UNLOADED };

struct node_image {
    ts_image_id id;
    uint64_t size;
    uint32_t ntypes;
    uint32_t state;  /* enum node_image_state */
    int32_t owner_pid, owner_fd; /* a process holding its sealed memfd (multiproc) */
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
/* Forgets addr as an authority or watcher of n (it exited). */
void image_node_drop(struct image_node *n, ts_addr addr);

#endif
