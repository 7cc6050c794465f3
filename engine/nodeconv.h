/* SPDX-License-Identifier: MIT */
/*
 * nodeconv.h — a node's place in its convention (design §8): the engine's
 * side of placement/convention.h. It starts the convention's thread as the
 * node's configuration says, and keeps the node's member table
 * (members.h) as that thread reports it, waking the shards so that each
 * sees the change (placement, ConventionUpdate, links to the members).
 * The other way, it tells the convention when the node's capabilities
 * change, and forwards the node's warnings and errors to the leader's log.
 *
 * It runs where the node's admin runs: in the process of a private pinned
 * node, in the admin process of a named one. One owner thread calls start,
 * stop and the sync calls; the convention's thread calls back.
 */
#ifndef TS_ENGINE_NODECONV_H
#define TS_ENGINE_NODECONV_H

#include <stdbool.h>
#include <stdint.h>

struct ts_system;
struct ts_config;
struct node_conv;
struct node_members;
struct log_queue;

/* Whether sys's configuration names a convention. */
bool node_conv_wanted(const struct ts_system *sys);

/*
 * Reads the key file and starts the node's part in the convention, writing
 * its member table into m (which sys->members points at, for the shards).
 * The leader binds before this returns; a member joins on the convention's
 * thread. The convention's thread logs through logq (a ring of its own; NULL:
 * straight to the sink). 0, or -errno with ts_last_error saying why (a key file that is
 * missing or not private, an address that does not parse, a port in use).
 */
int node_conv_start(struct ts_system *sys, struct node_members *m, struct log_queue *logq,
                    struct node_conv **out);

/* Leaves the convention (a member says LEAVE) and stops, once the calls
 * to node_conv_name under way have returned; later ones get -ENOTCONN. l
 * stays valid (the shards may still hold it) until node_conv_free.
 * NULL-safe. */
void node_conv_stop(struct node_conv *l);
/* Stops l if it was not, and frees it. NULL-safe. */
void node_conv_free(struct node_conv *l);

/* What node_conv_name does with a global name. */
enum node_name_op {
    NODE_NAME_CLAIM = 1, /* claim it for addr; *holder: who has it */
    NODE_NAME_ADOPT,     /* take up one another node claimed for addr, here */
    NODE_NAME_RELEASE,   /* give it up: addr is gone (or never started) */
};

/*
 * A global name through the convention (convention.h: conv_name_claim,
 * conv_name_adopt, conv_name_release); the names are kept for the node of
 * their address. A claim waits for the leader at most 4 * lost_ms (one
 * lost leader and its return); the others do not wait. 0 (a claim: with
 * *holder set), or -errno with ts_last_error saying why; a release of a
 * name this node does not hold is 0.
 */
int node_conv_name(struct node_conv *l, enum node_name_op op, const char *name, uint64_t addr,
                   uint64_t *holder);

/* How long a claim waits for the leader under cfg: 4 * lost_ms. */
unsigned node_conv_claim_ms(const struct ts_config *cfg);

/* Sends the node's capabilities to the convention when they changed since
 * the last call, and refreshes when each member was last heard from. Any
 * thread; nothing once l is stopping. */
void node_conv_sync(struct node_conv *l);

/* The leader's bound port (its configuration may say port 0); 0 on a member. */
uint16_t node_conv_port(struct node_conv *l);

#endif
