/* SPDX-License-Identifier: MIT */
/*
 * caps.h — a node's capabilities and an actor's requirements on them
 * (design §8, Thespian's capabilities and @requireCapability).
 *
 * Capabilities are typed key/values: bool, int (64-bit) or string. Their
 * text form, in configuration (`--cap`, ts_config.caps) and in status, is
 * "KEY=VALUE,KEY=VALUE": a value reads as a bool when it is true or false,
 * as an int when it is a decimal integer (an optional sign then digits,
 * within 64 bits), and as a string otherwise. Keys are [A-Za-z0-9_.-], at
 * most CAP_KEY_MAX - 1 characters; string values at most CAP_STR_MAX - 1,
 * without ',' (and without '=' in a requirement).
 *
 * A requirement is one term of "TERM,TERM,...":
 *   KEY        the node has KEY and it is not false, 0 or ""
 *   !KEY       the node has no KEY, or it is false, 0 or ""
 *   KEY=V      KEY equals V (ints and bools by value, strings exactly)
 *   KEY!=V     KEY is absent or differs from V
 *   KEY>=N KEY<=N KEY>N KEY<N   KEY is an int and compares so with the int N
 * Every term must hold. Everything here is plain data and pure functions
 * (no allocation, no global state): the members' tables of a convention
 * carry caps by value, and placement (decide.h) is tested on made-up ones.
 */
#ifndef TS_PLACEMENT_CAPS_H
#define TS_PLACEMENT_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAP_KEY_MAX 32
#define CAP_STR_MAX 64
#define CAPS_MAX 32 /* capabilities of a node */
#define REQS_MAX 16 /* terms of a requirement list */

enum cap_type { CAP_BOOL, CAP_INT, CAP_STR };

struct cap {
    char key[CAP_KEY_MAX];
    enum cap_type type;
    int64_t i;            /* CAP_INT; CAP_BOOL: 0 or 1 */
    char s[CAP_STR_MAX];  /* CAP_STR */
};

struct caps {
    unsigned n;
    struct cap v[CAPS_MAX]; /* in the order first set */
};

enum req_op { REQ_TRUE, REQ_FALSE, REQ_EQ, REQ_NE, REQ_GE, REQ_LE, REQ_GT, REQ_LT };

struct req {
    enum req_op op;
    struct cap value; /* value.key: the key; the rest only for EQ..LT */
};

struct reqs {
    unsigned n;
    struct req v[REQS_MAX];
};

/* "KEY=VALUE,..." into *out (emptied first; NULL or "" is no capability).
 * A key given twice keeps the last value. 0, or -EINVAL with ts_last_error
 * naming the bad part, or -ENOSPC beyond CAPS_MAX; *out is then empty. */
int caps_parse(const char *text, struct caps *out);

/* Sets key to value (typed as in caps_parse), adding it or replacing it.
 * 0, -EINVAL (bad key or value), -ENOSPC (CAPS_MAX already). */
int caps_set(struct caps *c, const char *key, const char *value);

/* Removes key; true if it was there. */
bool caps_unset(struct caps *c, const char *key);

/* key's capability, or NULL. */
const struct cap *caps_find(const struct caps *c, const char *key);

/* The text form, "KEY=VALUE,..." in c's order, into buf (always
 * terminated when len > 0); the length it needs, as snprintf. */
size_t caps_format(const struct caps *c, char *buf, size_t len);

/* "TERM,..." into *out (emptied first; NULL or "" is no requirement). 0,
 * or -EINVAL with ts_last_error naming the bad term, or -ENOSPC beyond
 * REQS_MAX. */
int reqs_parse(const char *text, struct reqs *out);

/* Appends more's terms to r: 0 or -ENOSPC (r unchanged). */
int reqs_append(struct reqs *r, const struct reqs *more);

/* Whether c meets every term of r (an empty r always). When it does not
 * and why is not NULL, why says which term failed and what c has instead,
 * e.g. "region is \"us\", not \"eu\"" or "gpu is missing". */
bool reqs_met(const struct reqs *r, const struct caps *c, char *why, size_t len);

#endif
