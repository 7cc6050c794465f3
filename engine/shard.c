/* SPDX-License-Identifier: MIT */
/* shard.c — actor slots and their lifecycle: creation, construction, exit
 * (recursive, children first), and the release of a slot. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/sysmsg.h>

#include "err.h"
#include "shard_internal.h"
#include "sysmsg_wire.h"
#include "system.h"

int shard_init(struct shard *sh, struct ts_system *sys, uint16_t node, uint8_t id)
{
    memset(sh, 0, sizeof(*sh));
    sh->sys = sys;
    sh->node = node;
    sh->id = id;
    sh->free_head = sh->free_tail = SLOT_NONE;
    return 0;
}

static void free_timers(struct shard *sh, struct actor *a)
{
    for (struct timer *t = a->timers, *next; t; t = next) {
        next = t->next;
        th_remove(&sh->timers, &t->node);
        free(t);
    }
    a->timers = NULL;
}

static void release_resources(struct shard *sh, struct actor *a)
{
    free_timers(sh, a);
    if (a->global_name)
        names_del(&sh->sys->names, a->global_name, shard_addr(sh, (uint32_t)(a - shard_slot(sh, 0))));
    free(a->global_name);
    free(a->state_mem);
    free(a->arg);
    addrset_fini(&a->children);
    a->global_name = NULL;
    a->state_mem = a->arg = NULL;
}

void shard_fini(struct shard *sh)
{
    if (!sh)
        return;
    for (uint32_t p = 0; p < SLOT_PAGES && sh->pages[p]; p++) {
        for (uint32_t i = 0; i < SLOT_PAGE; i++) {
            struct actor *a = &sh->pages[p][i];
            free_timers(sh, a);
            free(a->global_name);
            free(a->state_mem);
            free(a->arg);
            addrset_fini(&a->children);
        }
        free(sh->pages[p]);
        sh->pages[p] = NULL;
    }
    mailq_fini(&sh->runq);
    th_fini(&sh->timers);
}

struct actor *shard_lookup(const struct shard *sh, ts_addr addr)
{
    uint32_t slot = ts_addr_slot(addr);
    if (slot >= sh->nslots)
        return NULL;
    struct actor *a = shard_slot(sh, slot);
    if (a->state == ACTOR_FREE || a->gen != ts_addr_gen(addr))
        return NULL;
    return a;
}

/* Takes a free slot (oldest freed first) or a new one. */
static int slot_alloc(struct shard *sh, uint32_t *out)
{
    uint32_t slot = sh->free_head;
    if (slot != SLOT_NONE) {
        struct actor *a = shard_slot(sh, slot);
        sh->free_head = a->next_free;
        if (sh->free_head == SLOT_NONE)
            sh->free_tail = SLOT_NONE;
        *out = slot;
        return 0;
    }
    if (sh->nslots > TS_ADDR_MAX_SLOT)
        return err_set(-ENOSPC, "shard %u has no free actor slot", sh->id);
    slot = sh->nslots;
    struct actor **page = &sh->pages[slot >> SLOT_PAGE_BITS];
    if (!*page && !(*page = calloc(SLOT_PAGE, sizeof(struct actor))))
        return err_set(-ENOMEM, "out of memory");
    sh->nslots++;
    *out = slot;
    return 0;
}

/* Returns a slot to the free FIFO with a new generation (never 0), so every
 * address of its previous occupant turns stale. */
static void slot_release(struct shard *sh, uint32_t slot)
{
    struct actor *a = shard_slot(sh, slot);
    uint16_t gen = (uint16_t)(a->gen + 1);
    memset(a, 0, sizeof(*a));
    a->gen = gen ? gen : 1;
    a->next_free = SLOT_NONE;
    if (sh->free_tail == SLOT_NONE)
        sh->free_head = slot;
    else
        shard_slot(sh, sh->free_tail)->next_free = slot;
    sh->free_tail = slot;
}

static int slot_claim(struct shard *sh, enum actor_state state, struct actor **a_out,
                      ts_addr *addr_out)
{
    uint32_t slot = 0;
    int rc = slot_alloc(sh, &slot);
    if (rc < 0)
        return rc;
    struct actor *a = shard_slot(sh, slot);
    if (a->gen == 0)
        a->gen = 1;
    a->state = (uint8_t)state;
    *a_out = a;
    *addr_out = shard_addr(sh, slot);
    return 0;
}

int shard_add_client(struct shard *sh, ts_addr *out)
{
    struct actor *a;
    return slot_claim(sh, ACTOR_CLIENT, &a, out);
}

int shard_enqueue(struct shard *sh, ts_addr dst, ts_addr src, uint64_t type,
                  const void *payload, size_t len, uint32_t flags)
{
    ts_msg *m = mailq_push(&sh->runq, len);
    if (!m)
        return err_set(-ENOMEM, "out of memory queueing a message");
    m->dst = dst;
    m->src = src;
    m->type = type;
    m->flags = flags;
    if (len)
        memcpy(m + 1, payload, len);
    return 0;
}

/* Returns the live actor already registered under name, if any. */
static ts_addr live_global(struct shard *sh, const char *name)
{
    ts_addr a = names_get(&sh->sys->names, name);
    return a && shard_lookup(sh, a) ? a : TS_ADDR_NONE;
}

static int actor_setup(struct actor *a, const struct type_rec *r, const ts_create_opts *opts,
                       ts_addr parent)
{
    a->type = r;
    a->parent = parent;
    a->state_mem = calloc(1, r->type->state_size ? r->type->state_size : 1);
    if (!a->state_mem)
        return -ENOMEM;
    if (opts && opts->arg_len) {
        if (!(a->arg = malloc(opts->arg_len)))
            return -ENOMEM;
        memcpy(a->arg, opts->arg, opts->arg_len);
        a->arg_len = (uint32_t)opts->arg_len;
    }
    if (opts && opts->global_name && !(a->global_name = strdup(opts->global_name)))
        return -ENOMEM;
    return 0;
}

int shard_spawn(struct shard *sh, const char *type_name, const ts_create_opts *opts,
                ts_addr parent, ts_addr creator, ts_addr *out)
{
    const struct type_rec *r = registry_find(type_name);
    if (!r)
        return err_set(-ENOENT, "no actor type named '%s' is registered", type_name);
    if (opts && opts->global_name && (*out = live_global(sh, opts->global_name)))
        return 0;
    struct actor *a;
    ts_addr addr;
    int rc = slot_claim(sh, ACTOR_PENDING, &a, &addr);
    if (rc < 0)
        return rc;
    rc = actor_setup(a, r, opts, parent);
    if (rc == 0 && a->global_name)
        rc = names_put(&sh->sys->names, a->global_name, addr);
    if (rc == 0)
        rc = shard_enqueue(sh, addr, creator, 0, NULL, 0, MSGF_START);
    struct actor *pa = parent ? shard_lookup(sh, parent) : NULL;
    if (rc == 0 && pa)
        rc = addrset_add(&pa->children, addr);
    if (rc < 0) {
        release_resources(sh, a);
        slot_release(sh, ts_addr_slot(addr));
        return err_set(rc, "out of memory creating a '%s'", type_name);
    }
    sh->live++;
    sh->stats.created++;
    *out = addr;
    return 0;
}

static void send_exit_request(ts_addr child, void *arg)
{
    struct ctx_pair *p = arg;
    shard_enqueue(p->sh, child, p->from, TS_MSG_EXIT_REQUEST, NULL, 0, 0);
}

/* The last step of an exit: the slot is freed and the parent told. */
void actor_finish(struct shard *sh, struct actor *a, int32_t status)
{
    uint32_t slot = (uint32_t)(a - shard_slot(sh, 0));
    ts_addr self = shard_addr(sh, slot);
    if (a->state != ACTOR_PENDING && a->type->type->fini) {
        struct ts_ctx ctx = {.sys = sh->sys, .sh = sh, .a = a, .self = self};
        sh->sys->in_handler++;
        a->type->type->fini(&ctx, a->state_mem);
        sh->sys->in_handler--;
    }
    ts_addr parent = a->parent;
    if (sh->sys->dead_letter_handler == self)
        sh->sys->dead_letter_handler = TS_ADDR_NONE;
    release_resources(sh, a);
    slot_release(sh, slot);
    sh->live--;
    sh->stats.exited++;
    if (parent) {
        unsigned char p[CHILD_EXITED_SIZE];
        child_exited_write(p, self, status);
        shard_enqueue(sh, parent, self, TS_MSG_CHILD_EXITED, p, sizeof(p), 0);
    }
}

void actor_begin_exit(struct shard *sh, struct actor *a, ts_addr self)
{
    a->state = ACTOR_EXITING;
    free_timers(sh, a); /* timers die with their actor */
    struct ctx_pair p = {.sh = sh, .from = self};
    addrset_foreach(&a->children, send_exit_request, &p);
    if (a->children.n == 0)
        actor_finish(sh, a, 0);
}

struct poison_mark {
    ts_addr dst;
    int err; /* positive errno init returned */
};

/* Every message already queued for a failed actor comes back as Poison,
 * carrying the errno its init returned. */
static void mark_poison(ts_msg *m, void *arg)
{
    const struct poison_mark *pm = arg;
    if (m->dst == pm->dst)
        m->flags |= MSGF_POISON_ON_DELIVERY | ((uint32_t)pm->err & MSGF_ERRNO_MASK);
}

void actor_start(struct shard *sh, struct actor *a, const ts_msg *start)
{
    const ts_actor_type *t = a->type->type;
    int rc = 0;
    if (t->init) {
        struct ts_ctx ctx = {.sys = sh->sys, .sh = sh, .a = a, .self = start->dst,
                             .sender = start->src};
        sh->sys->in_handler++;
        rc = t->init(&ctx, a->state_mem, a->arg, a->arg_len);
        sh->sys->in_handler--;
    }
    if (rc == 0) {
        a->state = ACTOR_LIVE;
        return;
    }
    if (rc > 0 || -rc > (int)MSGF_ERRNO_MASK)
        rc = -ECANCELED; /* not an errno: say so plainly */
    system_log(sh->sys, TS_LOG_WARNING, "TS-INIT-FAIL", start->dst, t->name,
               "init failed (%s); messages sent to it come back as Poison", strerror(-rc));
    ts_addr self = start->dst;
    struct poison_mark pm = {.dst = self, .err = -rc};
    mailq_foreach(&sh->runq, mark_poison, &pm);
    struct ctx_pair p = {.sh = sh, .from = self};
    addrset_foreach(&a->children, send_exit_request, &p);
    actor_finish(sh, a, rc);
}

void shard_exit_all(struct shard *sh, ts_addr from)
{
    for (uint32_t slot = 0; slot < sh->nslots; slot++) {
        struct actor *a = shard_slot(sh, slot);
        bool top = a->parent == TS_ADDR_NONE;
        if (top && (a->state == ACTOR_LIVE || a->state == ACTOR_PENDING))
            shard_enqueue(sh, shard_addr(sh, slot), from, TS_MSG_EXIT_REQUEST, NULL, 0, 0);
    }
}
