/* SPDX-License-Identifier: MIT */
/*
 * nodecaps.h — a node's capabilities while it runs (design §8): set at
 * start, changed by ts_update_capability (or `thespis cap set` on a named
 * node, from another process), read by every shard when it places an actor
 * by requirements or checks the actors it runs after a change.
 *
 * Writers take the lock; so do readers, but only to copy: a shard keeps
 * its own copy and the generation it was taken at, and copies again only
 * when gen moves (one relaxed load a loop turn, no lock on the hot path).
 * On a named node the cell lives in the node's shared segment and its lock
 * is robust and process-shared.
 */
#ifndef TS_ENGINE_NODECAPS_H
#define TS_ENGINE_NODECAPS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../placement/caps.h"

#define NODE_CAPS_TEXT 512

struct node_caps {
    _Atomic uint64_t gen; /* bumped after every change is written (release) */
    pthread_mutex_t lock;
    struct caps caps;
    char text[NODE_CAPS_TEXT]; /* the text form, as status shows it */
};

/* Parses text (ts_config.caps' form) into nc, whose lock is made process-
 * shared and robust when shared. 0, or caps_parse's error. */
int node_caps_init(struct node_caps *nc, const char *text, bool shared);
void node_caps_fini(struct node_caps *nc, bool shared);
/* Sets key to value (NULL: removes it). 0, -EINVAL (bad key or value, said
 * in ts_last_error), -ENOSPC (no room, in the table or the text). */
int node_caps_update(struct node_caps *nc, const char *key, const char *value);
/* Copies the capabilities into *out (and their text into text, when not
 * NULL); returns the generation the copy is of. */
uint64_t node_caps_read(struct node_caps *nc, struct caps *out, char *text, size_t len);

static inline uint64_t node_caps_gen(const struct node_caps *nc)
{
    return atomic_load_explicit(&nc->gen, memory_order_acquire);
}

#endif
