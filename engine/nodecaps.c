/* SPDX-License-Identifier: MIT */
/* nodecaps.c — a node's capabilities, changed and copied under a lock. */
#include "nodecaps.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "mp.h"

int node_caps_init(struct node_caps *nc, const char *text, bool shared)
{
    memset(nc, 0, sizeof(*nc));
    int rc = caps_parse(text, &nc->caps);
    if (rc == 0 && caps_format(&nc->caps, nc->text, sizeof(nc->text)) >= sizeof(nc->text))
        rc = err_set(-ENOSPC, "capabilities take more than %d characters", NODE_CAPS_TEXT - 1);
    mp_mutex_init(&nc->lock, shared);
    atomic_store(&nc->gen, 1);
    return rc;
}

void node_caps_fini(struct node_caps *nc, bool shared)
{
    if (!shared)
        pthread_mutex_destroy(&nc->lock);
}

int node_caps_update(struct node_caps *nc, const char *key, const char *value)
{
    if (mp_lock(&nc->lock) != 0)
        return err_set(-EIO, "the capabilities' lock is broken");
    struct caps next = nc->caps;
    char text[NODE_CAPS_TEXT];
    int rc = 0;
    if (value)
        rc = caps_set(&next, key, value);
    else
        caps_unset(&next, key); /* removing what is not there changes nothing */
    if (rc == 0 && caps_format(&next, text, sizeof(text)) >= sizeof(text))
        rc = err_set(-ENOSPC, "capabilities would take more than %d characters",
                     NODE_CAPS_TEXT - 1);
    if (rc == 0) {
        nc->caps = next;
        memcpy(nc->text, text, sizeof(text));
        /* seq_cst: pairs with a sleeping shard's re-check (pinned_loop.c) */
        atomic_fetch_add_explicit(&nc->gen, 1, memory_order_seq_cst);
    }
    pthread_mutex_unlock(&nc->lock);
    return rc;
}

uint64_t node_caps_read(struct node_caps *nc, struct caps *out, char *text, size_t len)
{
    if (mp_lock(&nc->lock) != 0) { /* cannot happen short of a corrupt segment */
        memset(out, 0, sizeof(*out));
        return 0;
    }
    uint64_t gen = atomic_load_explicit(&nc->gen, memory_order_relaxed);
    if (out)
        *out = nc->caps;
    if (text && len)
        snprintf(text, len, "%s", nc->text);
    pthread_mutex_unlock(&nc->lock);
    return gen;
}
