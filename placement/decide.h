/* SPDX-License-Identifier: MIT */
/*
 * decide.h — where a new actor goes, by requirements (design §8): a pure
 * function of the request and a table of members (this node among them),
 * with their capabilities and load. No state, no I/O, no clock: the engine
 * builds the table (from its own figures, or the convention's member
 * table) and applies the choice; tests build made-up ones.
 *
 * A member is eligible when its capabilities meet the actor type's
 * requirements and the creation's, the type's capability check (when it
 * has one) accepts them, and it can be reached (the creating node itself
 * always can). Among the eligible, the policy picks:
 *
 *   LOCAL_FIRST   the creating node when it is eligible (the creator's own
 *                 shard when given and one of its shards, else its least
 *                 loaded shard); else the least loaded eligible member
 *   LEAST_LOADED  the least loaded shard of any eligible member
 *   NODE          the named node, when it is eligible
 *   CORE          the shard of the named node (the creating node's own id
 *                 for a core of this node)
 *                 that runs the named CPU, when that node is eligible
 *
 * A member's load is the sum of its shards' loads over its shard count;
 * ties go to the creating node, then to the lowest node id, then to the
 * lowest shard. A member whose per-shard loads are not known (NULL)
 * counts as unloaded, and is chosen with shard -1: that node picks its
 * shard itself. The type's check gets the node's capabilities and the
 * type's own requirements.
 *
 * Nothing eligible is "nowhere": -ENOENT and a reason naming, member by
 * member, what kept each out (Thespian answers the creator with Poison
 * and that reason).
 */
#ifndef TS_PLACEMENT_DECIDE_H
#define TS_PLACEMENT_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps.h"

enum place_policy { PLACE_LOCAL_FIRST, PLACE_LEAST_LOADED, PLACE_NODE, PLACE_CORE };

struct place_member {
    uint16_t node;
    const struct caps *caps;
    unsigned nshards;
    const uint32_t *load; /* per shard (live actors, say), or NULL: unknown */
    const int *cores;     /* per shard: the CPU it runs on, or NULL */
    bool reachable;       /* a link to it is up (ignored for the creating node) */
};

/* An actor type's own check of a node's capabilities (like Thespian's
 * actorSystemCapabilityCheck): true to accept. */
typedef bool (*place_check_fn)(const struct caps *node, const struct reqs *reqs, void *arg);

struct place_request {
    const struct reqs *type_reqs;   /* the actor type's, or NULL */
    const struct reqs *create_reqs; /* the creation's, or NULL */
    place_check_fn check;           /* or NULL */
    void *check_arg;
    enum place_policy policy;
    uint16_t self;                  /* the creating node */
    int creator_shard;              /* LOCAL_FIRST: the creator's shard, or -1 */
    uint16_t node;                  /* NODE and CORE: the node */
    int core;                       /* CORE */
};

struct place_choice {
    uint16_t node;
    int shard; /* -1: that node picks */
};

/* 0 and *out, or -ENOENT (nowhere) or -EINVAL (a policy, node or core that
 * names nothing in the table), with the reason in why (when not NULL). */
int place_decide(const struct place_request *rq, const struct place_member *m, unsigned n,
                 struct place_choice *out, char *why, size_t len);

#endif
