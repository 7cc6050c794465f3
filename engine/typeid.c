/* SPDX-License-Identifier: MIT */
/* typeid.c — message type ids (XXH3-64 of the name) and the process-wide
 * registry of message type names, which turns hash collisions into errors. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include <thespis/thespis.h>

#include "err.h"
#include "typeid.h"

#define MSGTYPE_CAP 8192 /* power of two; names are few and never removed */

struct msgtype {
    uint64_t id;
    char *name;
};

static struct msgtype msgtypes[MSGTYPE_CAP];
static size_t msgtype_count;
static pthread_mutex_t msgtype_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t ts_type_id(const char *name)
{
    if (!name)
        return 0;
    return XXH3_64bits(name, strlen(name));
}

/* Finds the entry for id, or the empty slot where it would go. Call locked. */
static struct msgtype *msgtype_slot(uint64_t id)
{
    size_t i = (size_t)id & (MSGTYPE_CAP - 1);
    while (msgtypes[i].name && msgtypes[i].id != id)
        i = (i + 1) & (MSGTYPE_CAP - 1);
    return &msgtypes[i];
}

int msgtype_register(const char *name, uint64_t id)
{
    int rc = 0;
    pthread_mutex_lock(&msgtype_lock);
    struct msgtype *m = msgtype_slot(id);
    if (m->name) {
        if (strcmp(m->name, name) != 0)
            rc = err_set(-EEXIST, "message type '%s' collides with '%s' (id %016llx)",
                         name, m->name, (unsigned long long)id);
    } else if (msgtype_count + 1 >= MSGTYPE_CAP / 2) {
        rc = err_set(-ENOSPC, "too many message type names (%zu)", msgtype_count);
    } else if (!(m->name = strdup(name))) {
        rc = err_set(-ENOMEM, "out of memory");
    } else {
        m->id = id;
        msgtype_count++;
    }
    pthread_mutex_unlock(&msgtype_lock);
    return rc;
}

int ts_register_msg_type(const char *name, uint64_t *id_out)
{
    if (!name || !*name)
        return err_set(-EINVAL, "ts_register_msg_type: empty message type name");
    uint64_t id = ts_type_id(name);
    int rc = msgtype_register(name, id);
    if (rc == 0 && id_out)
        *id_out = id;
    return rc;
}

const char *msgtype_name(uint64_t id)
{
    pthread_mutex_lock(&msgtype_lock);
    struct msgtype *m = msgtype_slot(id);
    const char *name = m->name;
    pthread_mutex_unlock(&msgtype_lock);
    return name;
}
