/* SPDX-License-Identifier: MIT */
/* shard.c — actor slots and their lifecycle: creation (on any shard),
 * construction, exit (recursive, children first) and the return of a slot
 * to the shard that hands it out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/image.h>
#include <thespis/sysmsg.h>

#include "../placement/decide.h"
#include "err.h"
#include "net.h"
#include "nodeconv.h"
#include "start.h"
#include "shard_internal.h"
#include "sysmsg_wire.h"
#include "system.h"

int shard_init(struct shard *sh, struct ts_system *sys, uint16_t node, uint8_t id,
               uint8_t nshards)
{
    memset(sh, 0, sizeof(*sh));
    sh->sys = sys;
    sh->node = node;
    sh->id = id;
    sh->nshards = nshards;
    sh->stats = &sh->own_stats;
    sh->pools = calloc(nshards, sizeof(*sh->pools));
    if (!sh->pools)
        return err_set(-ENOMEM, "out of memory");
    for (unsigned t = 0; t < nshards; t++) {
        sh->pools[t].next_fresh = &sh->pools[t].own_fresh;
        atomic_init(sh->pools[t].next_fresh, id);
    }
    sh->slot_limit = SLOT_CONTROL - nshards;
    return 0;
}

static void free_timers(struct shard *sh, struct actor *a)
{
    for (struct timer *t = a->timers, *next; t; t = next) {
        next = t->next;
        th_remove(&sh->timers, &t->node);
        free(t);
        STAT_DEC(sh, timers);
    }
    a->timers = NULL;
}

static void free_actor(struct actor *a)
{
    free(a->global_name);
    free(a->reqs);
    free(a->why);
    free(a->state_mem);
    free(a->arg);
    addrset_fini(&a->children);
}

void shard_fini(struct shard *sh)
{
    if (!sh)
        return;
    for (uint32_t p = 0; p < SLOT_PAGES && sh->pages[p]; p++) {
        for (uint32_t i = 0; i < SLOT_PAGE; i++) {
            free_timers(sh, &sh->pages[p][i]);
            free_actor(&sh->pages[p][i]);
        }
        free(sh->pages[p]);
        sh->pages[p] = NULL;
    }
    for (struct parked *p = sh->parked, *next; p; p = next) {
        next = p->next;
        mailq_fini(&p->q);
        free(p);
    }
    for (unsigned t = 0; sh->pools && t < sh->nshards; t++)
        free(sh->pools[t].v);
    free(sh->pools);
    sh->pools = NULL;
    mailq_fini(&sh->runq);
    image_fetch_fini(sh);
    th_fini(&sh->timers);
    if (sh->conv)
        addrset_fini(&sh->conv->watchers);
    free(sh->conv);
    sh->conv = NULL;
}

struct actor *shard_lookup(const struct shard *sh, ts_addr addr)
{
    uint32_t slot = ts_addr_slot(addr);
    if (slot >= sh->nslots || ts_addr_shard(addr) != sh->id)
        return NULL;
    struct actor *a = shard_slot(sh, slot);
    if (a->state == ACTOR_FREE || a->gen != ts_addr_gen(addr))
        return NULL;
    return a;
}

static uint16_t next_gen(uint16_t gen)
{
    gen++;
    return gen ? gen : 1;
}

/* ---- slot pools: the creator's side --------------------------------- */

static int pool_push(struct slot_pool *p, uint32_t slot, uint16_t gen)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        struct pooled *v = malloc(cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        for (size_t i = 0; i < p->n; i++)
            v[i] = p->v[(p->head + i) % p->cap];
        free(p->v);
        p->v = v;
        p->cap = cap;
        p->head = 0;
    }
    p->v[(p->head + p->n++) % p->cap] = (struct pooled){slot, gen};
    return 0;
}

/* Takes the oldest freed slot of the pool, or a fresh one. */
static int pool_take(struct shard *sh, uint8_t target, uint32_t *slot, uint16_t *gen)
{
    struct slot_pool *p = &sh->pools[target];
    if (p->n) {
        *slot = p->v[p->head].slot;
        *gen = p->v[p->head].gen;
        p->head = (p->head + 1) % p->cap;
        p->n--;
        return 0;
    }
    uint32_t fresh = atomic_load_explicit(p->next_fresh, memory_order_relaxed);
    if (fresh >= sh->slot_limit)
        return err_set(-ENOSPC, "shard %u has no free actor slot for shard %u", target, sh->id);
    *slot = fresh;
    *gen = 1;
    /* Release: pairs with the acquire in shard_is_future on the target. */
    atomic_store_explicit(p->next_fresh, fresh + sh->nshards, memory_order_release);
    return 0;
}

int shard_lease_slot(struct shard *sh, uint8_t target, ts_addr *out)
{
    uint32_t slot;
    uint16_t gen;
    int rc = pool_take(sh, target, &slot, &gen);
    if (rc == 0)
        *out = ts_addr_make(sh->node, target, slot, gen);
    return rc;
}

/* A slot on shard `target` whose occupant (generation gen) exited goes back
 * to the pool of the shard that owns it. */
void shard_slot_freed(struct shard *sh, uint8_t target, uint32_t slot, uint16_t gen)
{
    if (pool_push(&sh->pools[target], slot, next_gen(gen)) < 0)
        system_log(sh->sys, TS_LOG_ERROR, "TS-NOMEM", TS_ADDR_NONE, "",
                   "out of memory: slot %u of shard %u is lost", slot, target);
}

/* ---- slots: the target's side --------------------------------------- */

/* The slot, its page allocated if needed; NULL when out of memory. */
static struct actor *slot_get(struct shard *sh, uint32_t slot)
{
    struct actor **page = &sh->pages[slot >> SLOT_PAGE_BITS];
    if (!*page && !(*page = calloc(SLOT_PAGE, sizeof(struct actor))))
        return NULL;
    uint32_t end = (slot | (SLOT_PAGE - 1)) + 1;
    if (sh->nslots < end) {
        for (uint32_t p = sh->nslots >> SLOT_PAGE_BITS; p < (end >> SLOT_PAGE_BITS); p++)
            if (!sh->pages[p] && !(sh->pages[p] = calloc(SLOT_PAGE, sizeof(struct actor))))
                return NULL;
        sh->nslots = end;
    }
    return shard_slot(sh, slot);
}

/* Whether addr names the next occupant of a slot whose Start is still on the
 * way (it can come through another queue than a message to it): a fresh
 * slot its creator has issued, or a free slot at its next generation. */
bool shard_is_future(const struct shard *sh, ts_addr addr)
{
    uint32_t slot = ts_addr_slot(addr);
    /* Not even on one shard is a Start never overtaken: a caller's create
     * queues it on the run queue and answers at once, and the caller's next
     * message may come in from its ring before the run queue is drained. */
    if (slot >= SLOT_CONTROL)
        return false;
    const struct actor *a = slot < sh->nslots ? shard_slot(sh, slot) : NULL;
    if (a && a->gen)
        return a->state == ACTOR_FREE && ts_addr_gen(addr) == next_gen(a->gen);
    const struct shard *owner = sh->sys->shards[slot % sh->nshards];
    /* Acquire: pairs with the release in pool_take. */
    uint32_t issued = atomic_load_explicit(owner->pools[sh->id].next_fresh, memory_order_acquire);
    return ts_addr_gen(addr) == 1 && slot < issued;
}

/* ---- creation ------------------------------------------------------- */

/* Queues the Start of the actor at addr. One for another node goes as a
 * NET_START message with the lease epoch before the payload. */
static int send_start(struct shard *sh, ts_addr addr, ts_addr creator, const char *type_name,
                      const ts_create_opts *opts, ts_addr parent, const uint64_t *epoch)
{
    size_t len = start_size(type_name, opts);
    size_t pre = epoch ? sizeof(*epoch) : 0;
    if (!len)
        return err_set(-EINVAL, "type or global name longer than 64 KiB");
    if (!epoch && sh->start_max && len > sh->start_max)
        return err_set(-EMSGSIZE, "type name, global name and argument take %zu bytes; this "
                       "base's actor directory keeps at most %u", len, sh->start_max);
    if (len + pre > sh->sys->cfg.max_msg_size)
        return err_set(-EMSGSIZE, "type name, global name and argument take %zu bytes, above "
                       "the maximum message size", len);
    ts_msg *m = shard_reserve(sh, addr, pre + len);
    if (!m)
        return err_set(-ENOMEM, "out of memory queueing a Start");
    m->src = creator;
    m->type = epoch ? NET_START : 0;
    m->flags = epoch ? 0 : MSGF_START;
    unsigned char *p = (unsigned char *)(m + 1);
    if (epoch)
        memcpy(p, epoch, pre);
    start_write(p + pre, parent, type_name, opts);
    return 0;
}

/* Claims a global name for addr, or returns the live actor that has it.
 * In a convention the name is the convention's: a holder in this node's
 * table answers at once, else the leader says who has it anywhere (two
 * shards here asking at once get one answer from it). This node's table
 * takes only a granted name of its own actor: never one still being
 * claimed, and never one placed on another node (kept there: actor_start). */
static ts_addr claim_name(struct shard *sh, const char *name, ts_addr addr, int *rc)
{
    struct ts_system *sys = sh->sys;
    if (!sys->members)
        return system_name_claim(sys, name, addr, rc);
    *rc = 0;
    ts_addr have = system_name_get(sys, name);
    if (have)
        return have;
    ts_addr holder = 0;
    if ((*rc = system_conv_name(sys, NODE_NAME_CLAIM, name, addr, &holder)) < 0)
        return 0;
    if (holder != addr)
        return holder;
    if (ts_addr_node(addr) != sh->node)
        return 0;
    have = system_name_claim(sys, name, addr, rc);
    if (have || *rc < 0) { /* this node's table cannot say what the convention does */
        char why[200];
        snprintf(why, sizeof(why), "%s", *rc < 0 ? ts_last_error() : "");
        system_conv_name(sys, NODE_NAME_RELEASE, name, addr, NULL);
        if (*rc < 0)
            *rc = err_set(*rc, "%s", why);
    }
    return have;
}

/* A name gone with its actor: from this node's table, and the convention's. */
static void release_name(struct shard *sh, const char *name, ts_addr addr)
{
    system_name_drop(sh->sys, name, addr);
    if (sh->sys->members && system_conv_name(sh->sys, NODE_NAME_RELEASE, name, addr, NULL) < 0)
        system_log(sh->sys, TS_LOG_WARNING, "TS-CONV-NAME", addr, "",
                   "global name '%s' not given back to the convention: %s", name,
                   ts_last_error());
}

/* Creates the actor at addr, a slot this shard holds: the name claimed,
 * the Start sent, the child counted. epoch: addr is on another node. */
static int spawn_at(struct shard *sh, ts_addr addr, const char *type_name,
                    const ts_create_opts *opts, ts_addr parent, ts_addr creator, ts_addr *out,
                    const uint64_t *epoch)
{
    int rc = 0;
    *out = 0; /* != addr: the caller gives addr back */
    if (opts && opts->global_name) {
        ts_addr have = claim_name(sh, opts->global_name, addr, &rc);
        if (have || rc < 0) {
            *out = have;
            return rc < 0 ? rc : 1; /* 1: addr unused */
        }
    }
    rc = send_start(sh, addr, creator, type_name, opts, parent, epoch);
    if (rc < 0 && opts && opts->global_name) {
        char why[200];
        snprintf(why, sizeof(why), "%s", ts_last_error());
        release_name(sh, opts->global_name, addr); /* never started */
        rc = err_set(rc, "%s", why);
    }
    if (rc == 0)
        *out = addr; /* its Start is queued: it will run */
    struct actor *pa = parent && ts_addr_shard(parent) == sh->id && ts_addr_node(parent) == sh->node
                           ? shard_lookup(sh, parent) : NULL;
    if (rc == 0 && pa && addrset_add(&pa->children, addr) < 0)
        rc = err_set(-ENOMEM, "out of memory");
    if (rc < 0)
        return rc; /* a Start already queued would run; only OOM gets here */
    if (!epoch) {
        STAT_INC(sh, created);
        STAT_INC(sh, live); /* counted where created, uncounted where it exits: the sum holds */
    }
    return 0;
}

/* On shard `target` of this node, in a slot of this shard's pool (the
 * type is registered: shard_create looked). */
static int shard_spawn(struct shard *sh, uint8_t target, const char *type_name,
                       const ts_create_opts *opts, ts_addr parent, ts_addr creator, ts_addr *out)
{
    uint32_t slot = 0;
    uint16_t gen = 0;
    int rc = pool_take(sh, target, &slot, &gen);
    if (rc < 0)
        return rc;
    rc = spawn_at(sh, ts_addr_make(sh->node, target, slot, gen), type_name, opts, parent,
                  creator, out, NULL);
    if (*out != ts_addr_make(sh->node, target, slot, gen))
        pool_push(&sh->pools[target], slot, gen); /* unused: hand it out again */
    return rc < 0 ? rc : 0;
}

/* On another node, in a slot it leased this shard. A slot left unused by
 * a name already taken is handed out again. */
static int spawn_remote(struct shard *sh, uint16_t node, const char *type_name,
                        const ts_create_opts *opts, ts_addr parent, ts_addr creator, ts_addr *out)
{
    ts_addr addr;
    uint64_t epoch;
    int rc = net_lease_take(sh->net, node, &addr, &epoch);
    if (rc < 0)
        return rc;
    rc = spawn_at(sh, addr, type_name, opts, parent, creator, out, &epoch);
    if (*out != addr)
        net_lease_return(sh->net, addr, epoch); /* unused: hand it out again */
    return rc < 0 ? rc : 0;
}

/* ---- placement by capabilities ------------------------------------- */

static const struct caps *shard_caps(struct shard *sh)
{
    if (node_caps_gen(sh->sys->caps) != sh->caps_gen)
        sh->caps_gen = node_caps_read(sh->sys->caps, &sh->caps, NULL, 0);
    return &sh->caps;
}

struct check_arg {
    const struct type_rec *t;
    const char *create_text;
};

static bool type_check(const struct caps *node, const struct reqs *reqs, void *arg)
{
    (void)reqs;
    const struct check_arg *c = arg;
    return c->t->type->capability_check((const ts_caps *)(const void *)node, c->create_text);
}

static enum place_policy policy_of(ts_placement how)
{
    switch (how) {
    case TS_PLACE_LEAST_LOADED: return PLACE_LEAST_LOADED;
    case TS_PLACE_NODE: return PLACE_NODE;
    case TS_PLACE_CORE: return PLACE_CORE;
    default: return PLACE_LOCAL_FIRST; /* local, round robin, spread: this node first */
    }
}

/* A creation that no node can take ("nowhere", design §8): the address is
 * made on this shard and is a tombstone at once. The creator gets Poison
 * with the reason (original type 0: a creation; original payload: its
 * argument), the parent ChildExited with -ENODEV, and whatever is sent to
 * the address comes back as Poison with the same reason. */
static int create_nowhere(struct shard *sh, const struct type_rec *t, const ts_create_opts *opts,
                          ts_addr parent, ts_addr creator, const char *why, ts_addr *out)
{
    uint32_t slot;
    uint16_t gen;
    int rc = pool_take(sh, sh->id, &slot, &gen);
    if (rc < 0)
        return rc;
    struct actor *a = slot_get(sh, slot);
    char *text = malloc(strlen(why) + strlen(t->type->name) + 48);
    size_t arg_len = opts ? opts->arg_len : 0;
    ts_msg *m = malloc(sizeof(*m) + arg_len);
    ts_addr addr = ts_addr_make(sh->node, sh->id, slot, gen);
    struct actor *pa = parent && ts_addr_shard(parent) == sh->id && ts_addr_node(parent) == sh->node
                           ? shard_lookup(sh, parent) : NULL;
    if (!a || !text || !m || (pa && addrset_add(&pa->children, addr) < 0)) {
        free(text);
        free(m);
        pool_push(&sh->pools[sh->id], slot, gen);
        return err_set(-ENOMEM, "out of memory");
    }
    sprintf(text, "no node meets the requirements of '%s': %s", t->type->name, why);
    system_log(sh->sys, TS_LOG_WARNING, "TS-PLACE-NOWHERE", addr, t->type->name,
               "%s; what is sent to it comes back as Poison", text);
    free(a->why); /* a tombstone's, from the slot's last occupant */
    *a = (struct actor){.slot = slot, .gen = gen, .state = ACTOR_PENDING, .parent = parent,
                        .why = text};
    STAT_INC(sh, created);
    STAT_INC(sh, live);
    *m = (ts_msg){.dst = addr, .src = creator, .len = (uint32_t)arg_len};
    if (arg_len)
        memcpy(m + 1, opts->arg, arg_len);
    shard_poison_back(sh, m, -ENODEV, text);
    free(m);
    actor_finish(sh, a, -ENODEV);
    *out = addr;
    return 0;
}

/* ts_create for a type or creation with requirements, or least loaded:
 * place_decide over the members this node knows (itself, so far). */
static int create_by_caps(struct shard *sh, const struct type_rec *t, ts_placement how,
                          const ts_create_opts *opts, ts_addr parent, ts_addr creator,
                          ts_addr *out)
{
    const char *create_text = opts && opts->requirements && *opts->requirements
                                  ? opts->requirements : NULL;
    struct reqs cr;
    int rc = reqs_parse(create_text, &cr);
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", ts_last_error());
        return err_set(rc, "ts_create: requirements \"%s\": %s", create_text, why);
    }
    uint32_t load[256];
    for (unsigned i = 0; i < sh->nshards; i++)
        load[i] = (uint32_t)atomic_load_explicit(&sh->sys->shards[i]->stats->resident,
                                                 memory_order_relaxed);
    /* This node, then the convention's other members (their load is theirs
     * to weigh: unknown here, so that node picks its shard). A member is
     * reachable when this node has a link to it. */
    struct place_member m[MEMBERS_MAX + 1];
    unsigned nm = 1;
    m[0] = (struct place_member){.node = sh->node, .caps = shard_caps(sh), .nshards = sh->nshards,
                                 .load = load, .cores = sh->sys->shard_cpu, .reachable = true};
    shard_conv_poll(sh);
    for (unsigned i = 0; sh->conv && i < sh->conv->n; i++) {
        const struct member_rec *r = &sh->conv->v[i];
        if (r->self || r->node == sh->node)
            continue;
        m[nm++] = (struct place_member){
            .node = r->node, .caps = &sh->conv->caps[i], .nshards = 1,
            .reachable = sh->net && net_peer_index(sh->net, r->node) >= 0};
    }
    struct check_arg ca = {.t = t, .create_text = create_text};
    struct place_request rq = {.type_reqs = &t->reqs, .create_reqs = &cr,
                               .check = t->type->capability_check ? type_check : NULL,
                               .check_arg = &ca, .policy = policy_of(how), .self = sh->node,
                               .creator_shard = sh->id,
                               .node = how == TS_PLACE_NODE ? opts->node : sh->node,
                               .core = how == TS_PLACE_CORE ? opts->core : -1};
    struct place_choice ch;
    char why[384];
    rc = place_decide(&rq, m, nm, &ch, why, sizeof(why));
    if (rc == -ENOENT)
        return create_nowhere(sh, t, opts, parent, creator, why, out);
    if (rc < 0)
        return err_set(rc, "ts_create: %s", why);
    if (ch.node != sh->node)
        return spawn_remote(sh, ch.node, t->type->name, opts, parent, creator, out);
    int target = how == TS_PLACE_ROUND_ROBIN ? (int)(sh->rr_next++ % sh->nshards)
                 : ch.shard < 0                ? sh->id
                                               : ch.shard;
    return shard_spawn(sh, (uint8_t)target, t->type->name, opts, parent, creator, out);
}

int shard_create(struct shard *sh, const char *type_name, const ts_create_opts *opts,
                 ts_addr parent, ts_addr creator, ts_addr *out)
{
    ts_placement how = opts && opts->placement ? opts->placement : sh->sys->cfg.placement;
    const ts_image_id *image = opts && !ts_image_id_is_zero(opts->image) ? opts->image : NULL;
    const struct type_rec *t = registry_find_in(image, type_name);
    if (image && !t && image_usable(sh->sys->img, image)) { /* a shard process's first */
        int rc = image_adopt(sh->sys->img, image);
        if (rc < 0) {
            system_log(sh->sys, TS_LOG_WARNING, "TS-IMAGE-REFUSED", TS_ADDR_NONE, type_name,
                       "%s", ts_last_error());
            return rc;
        }
        t = registry_find_in(image, type_name);
    }
    int rc0 = image ? image_create_check(sh->sys->img, image, type_name, t != NULL) : 0;
    if (rc0 < 0)
        return rc0;
    if (t && (type_rec_demands(t) || how == TS_PLACE_LEAST_LOADED ||
              (opts && opts->requirements && *opts->requirements)))
        return create_by_caps(sh, t, how, opts, parent, creator, out);
    struct place_in in = {.creator = sh->id, .rr = &sh->rr_next, .spread = &sh->spread_next,
                          .net = sh->net};
    struct place_out where;
    if (how == TS_PLACE_SPREAD)
        net_lease_prime(sh->net); /* a peer passed over now is in turn later */
    int rc = place_actor(sh->sys, &in, opts, &where);
    if (rc < 0)
        return rc;
    if (!t)
        return err_set(-ENOENT, "no actor type named '%s' is registered", type_name);
    if (where.node != sh->node)
        return spawn_remote(sh, where.node, type_name, opts, parent, creator, out);
    return shard_spawn(sh, (uint8_t)where.shard, type_name, opts, parent, creator, out);
}

/* ---- construction --------------------------------------------------- */

/* Whether this node meets the requirements of actor a (its type's, its
 * creation's, its type's check), as the shard last read its capabilities:
 * 0, or -ENODEV with the reason in *why (when why is not NULL; malloc'd). */
static int actor_fits(struct shard *sh, const struct actor *a, char **why)
{
    if (!type_rec_demands(a->type) && !a->reqs)
        return 0;
    struct reqs cr;
    char text[256];
    if (reqs_parse(a->reqs, &cr) < 0) {
        snprintf(text, sizeof(text), "its requirements \"%s\" do not parse", a->reqs);
    } else if (type_rec_fits(a->type, shard_caps(sh), &cr, a->reqs, text, sizeof(text))) {
        return 0;
    }
    if (why) {
        char *w = malloc(strlen(text) + 32);
        if (w)
            sprintf(w, "node %u: %s", sh->node, text);
        *why = w;
    }
    return -ENODEV;
}

/* A Start's payload, checked whole (one from another node is not trusted):
 * 0, or the errno its creation fails with. */
static int actor_setup(struct shard *sh, struct actor *a, const ts_msg *start)
{
    struct start_view v;
    int rc = start_read(ts_msg_data(start), start->len, &v);
    if (rc < 0)
        return rc;
    if (sh->start_max && start->len > sh->start_max)
        return -EMSGSIZE; /* this base's actor directory could not keep it */
    a->parent = v.parent;
    /* First: a Start refused below still gives its name back (actor_finish). */
    if (v.name && !(a->global_name = strdup(v.name)))
        return -ENOMEM;
    bool image = !ts_image_id_is_zero(&v.image);
    /* An image's types only on a node that has it: approved here, not only
     * loaded in this process for another node of it. */
    if (image && !image_known(sh->sys->img, &v.image)) {
        char hex[TS_IMAGE_ID_TEXT], text[160];
        const char *why = sh->fetch_failed; /* its fetch failed (image_fetch.c) */
        if (!why) { /* no fetch: the leader, or in no convention */
            snprintf(text, sizeof(text), "image %s is not loaded on this node",
                     ts_image_id_format(&v.image, hex, sizeof(hex)));
            system_log(sh->sys, TS_LOG_WARNING, "TS-IMAGE-REFUSED", start->dst, v.type, "%s",
                       text);
            why = text;
        }
        if ((a->why = malloc(strlen(why) + 16)))
            sprintf(a->why, "node %u: %s", sh->node, why);
        return sh->fetch_failed ? sh->fetch_rc : -ENOENT;
    }
    if (!(a->type = registry_find_in(&v.image, v.type)) && image) {
        if (image_adopt(sh->sys->img, &v.image) == 0)
            a->type = registry_find_in(&v.image, v.type);
        else
            system_log(sh->sys, TS_LOG_WARNING, "TS-IMAGE-REFUSED", start->dst, v.type, "%s",
                       ts_last_error());
    }
    if (!a->type)
        return -ENOENT; /* a Start from another node that lacks the type here */
    a->state_mem = calloc(1, a->type->type->state_size ? a->type->type->state_size : 1);
    if (!a->state_mem)
        return -ENOMEM;
    if (v.arg_len && !(a->arg = malloc(v.arg_len)))
        return -ENOMEM;
    if (v.arg_len)
        memcpy(a->arg, v.arg, v.arg_len);
    a->arg_len = v.arg_len;
    if (v.reqs && !(a->reqs = strdup(v.reqs)))
        return -ENOMEM;
    return actor_fits(sh, a, &a->why);
}

static void send_exit_request(ts_addr child, void *arg)
{
    struct ctx_pair *p = arg;
    shard_enqueue(p->sh, child, p->from, TS_MSG_EXIT_REQUEST, NULL, 0, 0);
}

/* The last step of an exit: fini, the slot back to its pool, the parent
 * told. A name is released before the slot can be reused. */
void actor_finish(struct shard *sh, struct actor *a, int32_t status)
{
    uint32_t slot = a->slot;
    ts_addr self = ts_addr_make(sh->node, sh->id, slot, a->gen);
    if (a->state != ACTOR_PENDING && a->type->type->fini) {
        struct ts_ctx ctx = {.sys = sh->sys, .sh = sh, .a = a, .self = self};
        a->type->type->fini(&ctx, a->state_mem);
    }
    free_timers(sh, a);
    if (a->global_name)
        release_name(sh, a->global_name, self);
    ts_addr expect = self;
    atomic_compare_exchange_strong(sh->sys->dead_letter_handler, &expect, TS_ADDR_NONE);
    if (sh->conv)
        addrset_remove(&sh->conv->watchers, self);
    image_node_drop(sh->sys->img, self);
    ts_addr parent = a->parent;
    uint16_t gen = a->gen;
    bool born_dead = a->state == ACTOR_PENDING;
    if (!born_dead && sh->sys->ops->actor_gone)
        sh->sys->ops->actor_gone(sh, slot);
    if (!born_dead)
        STAT_DEC(sh, resident);
    char *why = born_dead ? a->why : NULL;
    if (born_dead)
        a->why = NULL;
    free_actor(a);
    memset(a, 0, sizeof(*a));
    a->slot = slot;
    a->gen = gen; /* FREE: the next occupant's Start carries next_gen(gen) */
    /* A tombstone: what was sent to it comes back as Poison, not a dead letter. */
    a->init_err = born_dead ? (uint16_t)-status : 0;
    a->why = why;
    STAT_DEC(sh, live);
    STAT_INC(sh, exited);
    uint8_t owner = (uint8_t)(slot % sh->nshards);
    if (owner == sh->id)
        shard_slot_freed(sh, sh->id, slot, gen);
    else
        send_slot_freed(sh, owner, slot, gen);
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

static struct parked *unpark(struct shard *sh, ts_addr addr)
{
    for (struct parked **p = &sh->parked; *p; p = &(*p)->next) {
        if ((*p)->addr == addr) {
            struct parked *found = *p;
            *p = found->next;
            return found;
        }
    }
    return NULL;
}

static int run_init(struct shard *sh, struct actor *a, const ts_msg *start)
{
    const ts_actor_type *t = a->type->type;
    if (!t->init)
        return 0;
    struct ts_ctx ctx = {.sys = sh->sys, .sh = sh, .a = a, .self = start->dst,
                         .sender = start->src};
    int rc = t->init(&ctx, a->state_mem, a->arg, a->arg_len);
    if (rc > 0 || -rc > 4095)
        rc = -ECANCELED; /* not an errno: say so plainly */
    return rc;
}

/* A named actor another node placed here: the name is kept for this node
 * (the creator claimed it at the leader), which takes it up, so that it
 * claims it again from a restarted leader. One this node cannot keep is
 * said; the actor keeps its name for its exit, which gives it back to the
 * leader all the same (by address). */
static void adopt_name(struct shard *sh, struct actor *a, ts_addr self, uint16_t from)
{
    int rc = 0;
    ts_addr have = system_name_claim(sh->sys, a->global_name, self, &rc);
    if (!have && rc == 0) {
        rc = system_conv_name(sh->sys, NODE_NAME_ADOPT, a->global_name, self, NULL);
        if (rc < 0)
            system_name_drop(sh->sys, a->global_name, self);
    }
    if (!have && rc == 0)
        return;
    char why[200];
    if (have)
        snprintf(why, sizeof(why), "%#llx has it on this node", (unsigned long long)have);
    else
        snprintf(why, sizeof(why), "%s", ts_last_error());
    system_log(sh->sys, TS_LOG_WARNING, "TS-CONV-NAME", self, a->type->type->name,
               "global name '%s', claimed by node %u for this actor, is not kept here (%s)",
               a->global_name, from, why);
}

void actor_start(struct shard *sh, const ts_msg *start)
{
    ts_addr self = start->dst;
    /* Made by another node: its lease checked, counted here. Not a restarted
     * shard's own actor built again, whichever node made it. */
    bool remote = ts_addr_node(start->src) != sh->node && !(start->flags & MSGF_REBORN);
    if (remote && !shard_is_future(sh, self)) {
        system_log(sh->sys, TS_LOG_WARNING, "TS-NET-STALE", self, "",
                   "node %u sent a Start for a slot this node did not lease it; dropped",
                   ts_addr_node(start->src));
        return;
    }
    if (remote && image_fetch_park(sh, start))
        return; /* run again once its image is here, or is not coming */
    struct actor *a = slot_get(sh, ts_addr_slot(self));
    if (!a || a->state != ACTOR_FREE) {
        system_log(sh->sys, TS_LOG_ERROR, a ? "TS-INTERNAL" : "TS-NOMEM", self, "",
                   a ? "a Start for a slot in use was dropped" : "out of memory starting an actor");
        return;
    }
    a->slot = ts_addr_slot(self);
    a->gen = ts_addr_gen(self);
    a->init_err = 0;
    free(a->why); /* the last occupant's tombstone */
    a->why = NULL;
    a->state = ACTOR_PENDING;
    if (remote) { /* counted where created: here, for another node's creation */
        STAT_INC(sh, created);
        STAT_INC(sh, live);
    }
    int rc = actor_setup(sh, a, start);
    if (rc == 0 && remote && a->global_name && sh->sys->members)
        adopt_name(sh, a, self, ts_addr_node(start->src));
    if (rc == 0)
        rc = run_init(sh, a, start);
    struct parked *early = unpark(sh, self);
    if (rc == 0) {
        a->state = ACTOR_LIVE;
        STAT_INC(sh, resident);
        if (sh->sys->ops->actor_born)
            sh->sys->ops->actor_born(sh, start);
    } else {
        if (a->why)
            system_log(sh->sys, TS_LOG_WARNING, "TS-PLACE-REFUSED", self,
                       a->type ? a->type->type->name : "",
                       "not started here, %s; messages sent to it come back as Poison", a->why);
        else
            system_log(sh->sys, TS_LOG_WARNING, "TS-INIT-FAIL", self,
                       a->type ? a->type->type->name : "",
                       "init failed (%s); messages sent to it come back as Poison", strerror(-rc));
        struct ctx_pair p = {.sh = sh, .from = self};
        addrset_foreach(&a->children, send_exit_request, &p);
        actor_finish(sh, a, rc);
    }
    if (!early)
        return;
    for (ts_msg *m; (m = mailq_peek(&early->q)); mailq_pop(&early->q))
        shard_dispatch(sh, m);
    mailq_fini(&early->q);
    free(early);
}

int shard_park(struct shard *sh, const ts_msg *m)
{
    struct parked *p = sh->parked;
    while (p && p->addr != m->dst)
        p = p->next;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return -ENOMEM;
        p->addr = m->dst;
        p->next = sh->parked;
        sh->parked = p;
    }
    ts_msg *copy = mailq_push(&p->q, m->len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, m, sizeof(*m) + m->len);
    return 0;
}

void shard_exit_all(struct shard *sh, ts_addr from)
{
    for (uint32_t slot = 0; slot < sh->nslots; slot++) {
        struct actor *a = shard_slot(sh, slot);
        if (a->parent == TS_ADDR_NONE && (a->state == ACTOR_LIVE || a->state == ACTOR_PENDING))
            shard_enqueue(sh, ts_addr_make(sh->node, sh->id, slot, a->gen), from,
                          TS_MSG_EXIT_REQUEST, NULL, 0, 0);
    }
}

void shard_caps_poll(struct shard *sh)
{
    if (node_caps_gen(sh->sys->caps) == sh->caps_gen)
        return;
    shard_caps(sh);
    for (uint32_t slot = 0; slot < sh->nslots; slot++) {
        struct actor *a = shard_slot(sh, slot);
        if (a->state != ACTOR_LIVE || a->caps_exit)
            continue;
        char *why = NULL;
        if (actor_fits(sh, a, &why) == 0)
            continue;
        ts_addr self = ts_addr_make(sh->node, sh->id, slot, a->gen);
        a->caps_exit = true;
        system_log(sh->sys, TS_LOG_INFO, "TS-CAPS-EXIT", self, a->type->type->name,
                   "asked to exit: %s", why ? why : "its requirements no longer hold");
        free(why);
        shard_enqueue(sh, self, TS_ADDR_NONE, TS_MSG_EXIT_REQUEST, NULL, 0, 0);
    }
}

/* ---- the convention --------------------------------------------------- */

struct conv_note {
    struct shard *sh;
    const struct member_rec *r;
    ts_convention_event ev;
};

static void note_one(ts_addr watcher, void *arg)
{
    const struct conv_note *c = arg;
    size_t len = conv_update_size(strlen(c->r->name), strlen(c->r->caps));
    ts_msg *m = shard_reserve(c->sh, watcher, len);
    if (!m) {
        system_log(c->sh->sys, TS_LOG_ERROR, "TS-NOMEM", watcher, "",
                   "out of memory: a ConventionUpdate about node %u is lost", c->r->node);
        return;
    }
    m->src = TS_ADDR_NONE;
    m->type = TS_MSG_CONVENTION_UPDATE;
    m->flags = 0;
    conv_update_write(m + 1, c->r->node, c->ev, c->r->name, c->r->caps);
}

static void note(struct shard *sh, ts_convention_event ev, const struct member_rec *r)
{
    if (r->self || !sh->conv->watchers.n)
        return;
    struct conv_note c = {.sh = sh, .r = r, .ev = ev};
    addrset_foreach(&sh->conv->watchers, note_one, &c);
}

static const struct member_rec *find_member(const struct member_rec *v, unsigned n, uint16_t node)
{
    for (unsigned i = 0; i < n; i++)
        if (v[i].node == node)
            return &v[i];
    return NULL;
}

void shard_conv_poll(struct shard *sh)
{
    struct node_members *nm = sh->sys->members;
    if (sh->fetches)
        image_fetch_poll(sh);
    if (sh->conv && sh->conv->net_dirty && sh->net) /* a try that could not finish */
        sh->conv->net_dirty = net_members_sync(sh->net, sh->conv->v, sh->conv->n) < 0;
    if (!nm || members_gen(nm) == (sh->conv ? sh->conv->gen : 0))
        return;
    if (!sh->conv && !(sh->conv = calloc(1, sizeof(*sh->conv))))
        return; /* tried again next turn */
    struct member_rec *next = malloc(MEMBERS_MAX * sizeof(*next));
    if (!next)
        return;
    unsigned n;
    uint64_t gen = members_read(nm, next, &n);
    struct shard_conv *c = sh->conv;
    for (unsigned i = 0; i < c->n; i++) { /* gone, or back as a new instance */
        const struct member_rec *now = find_member(next, n, c->v[i].node);
        if (!now || now->instance != c->v[i].instance)
            note(sh, TS_CONV_LEFT, &c->v[i]);
    }
    for (unsigned i = 0; i < n; i++) {
        const struct member_rec *was = find_member(c->v, c->n, next[i].node);
        if (!was || was->instance != next[i].instance)
            note(sh, TS_CONV_JOINED, &next[i]);
        else if (strcmp(was->caps, next[i].caps) != 0)
            note(sh, TS_CONV_CAPS, &next[i]);
    }
    memcpy(c->v, next, n * sizeof(*next));
    c->n = n;
    c->gen = gen;
    /* Links to the members: before placement weighs them (reachable). */
    if (sh->net)
        c->net_dirty = net_members_sync(sh->net, c->v, c->n) < 0;
    for (unsigned i = 0; i < n; i++)
        if (caps_parse(c->v[i].caps, &c->caps[i]) < 0)
            memset(&c->caps[i], 0, sizeof(c->caps[i])); /* a member's that this node cannot read: none */
    free(next);
}

int shard_conv_watch(struct shard *sh, ts_addr self, bool start)
{
    if (!sh->sys->members)
        return err_set(-ENOTCONN, "ts_notify_on_convention: this node is in no convention "
                       "(ts_config.convention)");
    shard_conv_poll(sh);
    if (!sh->conv)
        return err_set(-ENOMEM, "out of memory");
    if (!start) {
        addrset_remove(&sh->conv->watchers, self);
        return 0;
    }
    if (addrset_has(&sh->conv->watchers, self))
        return 0;
    if (addrset_add(&sh->conv->watchers, self) < 0)
        return err_set(-ENOMEM, "out of memory");
    for (unsigned i = 0; i < sh->conv->n; i++) { /* who is there already */
        const struct member_rec *r = &sh->conv->v[i];
        struct conv_note c = {.sh = sh, .r = r, .ev = TS_CONV_JOINED};
        if (!r->self)
            note_one(self, &c);
    }
    return 0;
}

bool shard_news(const struct shard *sh)
{
    /* seq_cst: pairs with the writers' (nodecaps.c, members.c), then their wake */
    if (atomic_load_explicit(&sh->sys->caps->gen, memory_order_seq_cst) != sh->caps_gen)
        return true;
    const struct node_members *nm = sh->sys->members;
    return nm && atomic_load_explicit(&nm->gen, memory_order_seq_cst) != (sh->conv ? sh->conv->gen : 0);
}
