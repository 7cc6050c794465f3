/* SPDX-License-Identifier: MIT */
/* members.c — the convention's member table, changed and copied under a lock. */
#include "members.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mp.h"

void members_init(struct node_members *m, bool shared)
{
    memset(m, 0, sizeof(*m));
    mp_mutex_init(&m->lock, shared);
    atomic_store(&m->gen, 1);
}

void members_fini(struct node_members *m, bool shared)
{
    if (!shared)
        pthread_mutex_destroy(&m->lock);
}

static int find(const struct node_members *m, uint16_t node)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->v[i].node == node)
            return (int)i;
    return -1;
}

static void bump(struct node_members *m)
{
    /* seq_cst: pairs with a sleeping shard's re-check, as nodecaps.c's */
    atomic_fetch_add_explicit(&m->gen, 1, memory_order_seq_cst);
}

void members_apply(struct node_members *m, ts_convention_event ev, const struct member_rec *r)
{
    if (mp_lock(&m->lock) != 0)
        return;
    int i = find(m, r->node);
    if (ev == TS_CONV_LEFT) {
        if (i >= 0) {
            memmove(&m->v[i], &m->v[i + 1], (m->n - (unsigned)i - 1) * sizeof(m->v[0]));
            m->n--;
        }
    } else if (i >= 0) {
        uint64_t heard = m->v[i].heard_ns;
        m->v[i] = *r;
        if (!r->heard_ns)
            m->v[i].heard_ns = heard;
    } else if (m->n < MEMBERS_MAX) {
        m->v[m->n++] = *r;
    }
    bump(m);
    pthread_mutex_unlock(&m->lock);
}

void members_heard(struct node_members *m, uint16_t node, uint64_t when_ns)
{
    if (mp_lock(&m->lock) != 0)
        return;
    int i = find(m, node);
    if (i >= 0)
        m->v[i].heard_ns = when_ns; /* status reads it; no shard cares: gen stays */
    pthread_mutex_unlock(&m->lock);
}

void members_begin(struct node_members *m, const char *leader, bool leading)
{
    if (mp_lock(&m->lock) != 0)
        return;
    snprintf(m->leader, sizeof(m->leader), "%s", leader);
    m->leading = leading;
    m->state = leading ? MEMBERS_LEADING : MEMBERS_JOINING;
    pthread_mutex_unlock(&m->lock);
}

void members_set_state(struct node_members *m, enum members_state st, const char *why)
{
    if (mp_lock(&m->lock) != 0)
        return;
    m->state = st;
    snprintf(m->why, sizeof(m->why), "%s", why ? why : "");
    pthread_mutex_unlock(&m->lock);
}

uint64_t members_read(struct node_members *m, struct member_rec *out, unsigned *n)
{
    if (mp_lock(&m->lock) != 0) {
        *n = 0;
        return 0;
    }
    uint64_t gen = atomic_load_explicit(&m->gen, memory_order_relaxed);
    *n = m->n;
    memcpy(out, m->v, m->n * sizeof(m->v[0]));
    pthread_mutex_unlock(&m->lock);
    return gen;
}

unsigned members_export(struct node_members *m, ts_node_member *out, unsigned max, char *state,
                        char *why)
{
    static const char *const names[] = {"", "joining", "joined", "refused", "lost", "leading"};
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (mp_lock(&m->lock) != 0)
        return 0;
    unsigned n = m->n;
    for (unsigned i = 0; i < n && i < max; i++) {
        const struct member_rec *r = &m->v[i];
        ts_node_member *o = &out[i];
        *o = (ts_node_member){.node = r->node, .leader = r->leader, .self = r->self,
                              .instance = r->instance, .heard_ms_ago = -1};
        if (r->heard_ns && !r->self)
            o->heard_ms_ago = now > r->heard_ns ? (int64_t)((now - r->heard_ns) / 1000000u) : 0;
        snprintf(o->name, sizeof(o->name), "%s", r->name);
        snprintf(o->caps, sizeof(o->caps), "%s", r->caps);
        snprintf(o->endpoints, sizeof(o->endpoints), "%s", r->endpoints);
    }
    if (state)
        snprintf(state, 16, "%s", m->state < sizeof(names) / sizeof(names[0]) ? names[m->state] : "?");
    if (why)
        snprintf(why, 160, "%s", m->why);
    pthread_mutex_unlock(&m->lock);
    return n;
}
