/* SPDX-License-Identifier: MIT */
/* decide.c — see decide.h. */
#include "decide.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Appends printf output to why (when there is one), cut at len. */
#define SAY(why, len, ...)                                                                        \
    do {                                                                                          \
        if ((why) && (len)) {                                                                     \
            size_t at_ = strlen(why);                                                             \
            if (at_ + 1 < (len))                                                                  \
                snprintf((why) + at_, (len) - at_, __VA_ARGS__);                                  \
        }                                                                                         \
    } while (0)

/* Whether m may take the actor; when not, why (appended, "node N: ..."). */
static bool eligible(const struct place_request *rq, const struct place_member *m, char *why,
                     size_t len)
{
    char reason[160] = "";
    if (m->node != rq->self && !m->reachable)
        snprintf(reason, sizeof(reason), "not reachable");
    else if (!reqs_met(rq->type_reqs, m->caps, reason, sizeof(reason)) ||
             !reqs_met(rq->create_reqs, m->caps, reason, sizeof(reason)))
        ; /* reason says which */
    else if (rq->check && !rq->check(m->caps, rq->type_reqs, rq->check_arg))
        snprintf(reason, sizeof(reason), "refused by the type's capability check");
    else
        return true;
    SAY(why, len, "%snode %u: %s", why && why[0] ? "; " : "", m->node, reason);
    return false;
}

/* m's load as a fraction: the sum of its shards' loads over their count
 * (a member whose loads are not known counts as unloaded). */
struct load {
    uint64_t sum;
    unsigned n;
};

static struct load member_load(const struct place_member *m)
{
    struct load l = {0, m->nshards ? m->nshards : 1};
    for (unsigned s = 0; m->load && s < m->nshards; s++)
        l.sum += m->load[s];
    return l;
}

/* a < b, exactly: a.sum / a.n < b.sum / b.n. */
static bool lighter(struct load a, struct load b)
{
    __extension__ typedef unsigned __int128 u128;
    return (u128)a.sum * b.n < (u128)b.sum * a.n;
}

static bool same(struct load a, struct load b) { return !lighter(a, b) && !lighter(b, a); }

/* m's least loaded shard (the lowest on ties), or -1 when its load is
 * not known. */
static int least_shard(const struct place_member *m)
{
    if (!m->load || !m->nshards)
        return -1;
    int best = 0;
    for (unsigned s = 1; s < m->nshards; s++)
        if (m->load[s] < m->load[best])
            best = (int)s;
    return best;
}

/* Whether a ranks before b: the creating node, then the lower node id. */
static bool before(const struct place_request *rq, const struct place_member *a,
                   const struct place_member *b)
{
    if ((a->node == rq->self) != (b->node == rq->self))
        return a->node == rq->self;
    return a->node < b->node;
}

static const struct place_member *find(const struct place_member *m, unsigned n, uint16_t node)
{
    for (unsigned i = 0; i < n; i++)
        if (m[i].node == node)
            return &m[i];
    return NULL;
}

/* LEAST_LOADED, and LOCAL_FIRST once the creating node was found not
 * eligible (skip: it is not looked at again). */
static int least_loaded(const struct place_request *rq, const struct place_member *m, unsigned n,
                        bool by_shard, const struct place_member *skip, struct place_choice *out,
                        char *why, size_t len)
{
    const struct place_member *best = NULL;
    int best_shard = -1;
    struct load best_load = {0, 1};
    for (unsigned i = 0; i < n; i++) {
        if (&m[i] == skip || !eligible(rq, &m[i], why, len))
            continue;
        int shard = least_shard(&m[i]);
        struct load load = by_shard && shard >= 0 ? (struct load){m[i].load[shard], 1}
                                                  : member_load(&m[i]);
        if (!best || lighter(load, best_load) ||
            (same(load, best_load) && before(rq, &m[i], best))) {
            best = &m[i];
            best_shard = shard;
            best_load = load;
        }
    }
    if (!best)
        return -ENOENT;
    *out = (struct place_choice){.node = best->node, .shard = best_shard};
    return 0;
}

static int on_node(const struct place_request *rq, const struct place_member *m, unsigned n,
                   struct place_choice *out, char *why, size_t len)
{
    const struct place_member *t = find(m, n, rq->node);
    if (!t) {
        SAY(why, len, "node %u is not a member", rq->node);
        return -EINVAL;
    }
    if (!eligible(rq, t, why, len))
        return -ENOENT;
    *out = (struct place_choice){.node = t->node, .shard = least_shard(t)};
    return 0;
}

static int on_core(const struct place_request *rq, const struct place_member *m, unsigned n,
                   struct place_choice *out, char *why, size_t len)
{
    uint16_t node = rq->node;
    const struct place_member *t = find(m, n, node);
    int shard = -1;
    for (unsigned s = 0; t && t->cores && s < t->nshards && shard < 0; s++)
        if (t->cores[s] == rq->core)
            shard = (int)s;
    if (shard < 0) {
        SAY(why, len, "no shard of node %u runs on core %d", node, rq->core);
        return -EINVAL;
    }
    if (!eligible(rq, t, why, len))
        return -ENOENT;
    *out = (struct place_choice){.node = node, .shard = shard};
    return 0;
}

int place_decide(const struct place_request *rq, const struct place_member *m, unsigned n,
                 struct place_choice *out, char *why, size_t len)
{
    if (why && len)
        why[0] = '\0';
    int rc;
    switch (rq->policy) {
    case PLACE_LOCAL_FIRST: {
        const struct place_member *self = find(m, n, rq->self);
        if (self && eligible(rq, self, why, len)) {
            bool own = rq->creator_shard >= 0 && (unsigned)rq->creator_shard < self->nshards;
            int shard = own ? rq->creator_shard : least_shard(self);
            *out = (struct place_choice){.node = self->node, .shard = shard};
            return 0;
        }
        rc = least_loaded(rq, m, n, false, self, out, why, len);
        break;
    }
    case PLACE_LEAST_LOADED:
        rc = least_loaded(rq, m, n, true, NULL, out, why, len);
        break;
    case PLACE_NODE:
        return on_node(rq, m, n, out, why, len);
    case PLACE_CORE:
        return on_core(rq, m, n, out, why, len);
    default:
        SAY(why, len, "unknown placement policy %d", (int)rq->policy);
        return -EINVAL;
    }
    if (rc == 0 && why && len)
        why[0] = '\0'; /* the members passed over do not matter */
    else if (rc < 0 && why && len && !why[0])
        SAY(why, len, "no member to place it on");
    return rc;
}
