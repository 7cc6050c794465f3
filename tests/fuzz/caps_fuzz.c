/* SPDX-License-Identifier: MIT */
/* caps_fuzz.c — fuzz target for capabilities and requirements
 * (placement/caps.h) and, through them, placement (placement/decide.h).
 * The input is two strings separated by a NUL byte: a capability list for
 * caps_parse and a requirement list for reqs_parse (no NUL: no requirement
 * list, NULL).
 *
 * Each parser is checked against a small reference parser written here from
 * the header: it must accept exactly what the grammar allows, with the same
 * keys, types and values (-EINVAL for a malformed part, -ENOSPC beyond the
 * limits, and on failure *out empty and ts_last_error set). An accepted
 * capability list must survive caps_format then caps_parse unchanged, be
 * written into any buffer length as snprintf would, and be rebuilt by
 * caps_unset/caps_set. reqs_met must agree with a term-by-term reading of
 * the header, with or without a (short) why buffer, and place_decide must
 * place on the creating node exactly when the requirements are met. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/thespis.h>

#include "caps.h"
#include "decide.h"
#include "fuzz.h"

#define CHECK(cond)           \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

/* ------------------------------------------------------------------------ */
/* The reference reading of the header                                      */

/* What a reference parse found: the parser's answer is fixed only when the
 * input is clearly good, clearly malformed, or clearly over a limit. */
struct verdict {
    bool bad;       /* a malformed part: -EINVAL */
    bool overflow;  /* beyond CAPS_MAX / REQS_MAX: -ENOSPC */
    bool unsure;    /* the header leaves it open: no expectation */
};

static bool key_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

static bool good_key(const char *k, size_t n)
{
    if (n == 0 || n >= CAP_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!key_char(k[i]))
            return false;
    return true;
}

/* An optional sign then digits, within int64. */
static bool ref_int(const char *v, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (v[i] == '+' || v[i] == '-'))
        neg = v[i++] == '-';
    if (i == n)
        return false;
    uint64_t mag = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        unsigned d = (unsigned)(v[i] - '0');
        if (mag > (lim - d) / 10)
            return false;
        mag = mag * 10 + d;
    }
    *out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return true;
}

/* Types v[0..n) as the header says into *c (key left alone). A string of
 * CAP_STR_MAX or more is bad; a long run of digits that is an int is open. */
static void ref_value(const char *v, size_t n, struct cap *c, struct verdict *vd)
{
    memset(c->s, 0, sizeof(c->s));
    c->i = 0;
    if (n == 4 && memcmp(v, "true", 4) == 0) {
        c->type = CAP_BOOL;
        c->i = 1;
    } else if (n == 5 && memcmp(v, "false", 5) == 0) {
        c->type = CAP_BOOL;
    } else if (ref_int(v, n, &c->i)) {
        c->type = CAP_INT;
        if (n >= CAP_STR_MAX)
            vd->unsure = true;
    } else {
        c->type = CAP_STR;
        if (n >= CAP_STR_MAX)
            vd->bad = true;
        else
            memcpy(c->s, v, n);
    }
}

static bool same_cap(const struct cap *a, const struct cap *b)
{
    return strcmp(a->key, b->key) == 0 && a->type == b->type &&
           (a->type == CAP_STR ? strcmp(a->s, b->s) == 0 : a->i == b->i);
}

static bool same_caps(const struct caps *a, const struct caps *b)
{
    if (a->n != b->n)
        return false;
    for (unsigned k = 0; k < a->n; k++)
        if (!same_cap(&a->v[k], &b->v[k]))
            return false;
    return true;
}

static void ref_caps(const char *text, struct caps *out, struct verdict *vd)
{
    memset(out, 0, sizeof(*out));
    unsigned distinct = 0;
    if (!text || !*text)
        return;
    for (const char *t = text;;) {
        const char *end = strchr(t, ',');
        size_t n = end ? (size_t)(end - t) : strlen(t);
        const char *eq = memchr(t, '=', n);
        if (!eq || !good_key(t, (size_t)(eq - t))) {
            vd->bad = true;
        } else {
            struct cap c;
            memset(&c, 0, sizeof(c));
            memcpy(c.key, t, (size_t)(eq - t));
            ref_value(eq + 1, n - (size_t)(eq - t) - 1, &c, vd);
            unsigned k = 0;
            while (k < out->n && strcmp(out->v[k].key, c.key) != 0)
                k++;
            if (k < out->n)
                out->v[k] = c;
            else if (out->n < CAPS_MAX)
                out->v[out->n++] = c;
            else
                distinct++;
        }
        if (!end)
            break;
        t = end + 1;
    }
    if (distinct)
        vd->overflow = true;
}

static void ref_term(const char *t, size_t n, struct req *r, struct verdict *vd)
{
    memset(r, 0, sizeof(*r));
    if (n > 0 && t[0] == '!') {
        r->op = REQ_FALSE;
        if (!good_key(t + 1, n - 1))
            vd->bad = true;
        else
            memcpy(r->value.key, t + 1, n - 1);
        return;
    }
    size_t k = 0;
    while (k < n && key_char(t[k]))
        k++;
    if (!good_key(t, k)) {
        vd->bad = true;
        return;
    }
    memcpy(r->value.key, t, k);
    const char *rest = t + k;
    size_t rn = n - k, skip;
    if (rn == 0) {
        r->op = REQ_TRUE;
        return;
    }
    if (rest[0] == '=')
        r->op = REQ_EQ, skip = 1;
    else if (rn >= 2 && rest[0] == '!' && rest[1] == '=')
        r->op = REQ_NE, skip = 2;
    else if (rn >= 2 && rest[0] == '>' && rest[1] == '=')
        r->op = REQ_GE, skip = 2;
    else if (rn >= 2 && rest[0] == '<' && rest[1] == '=')
        r->op = REQ_LE, skip = 2;
    else if (rest[0] == '>')
        r->op = REQ_GT, skip = 1;
    else if (rest[0] == '<')
        r->op = REQ_LT, skip = 1;
    else {
        vd->bad = true;
        return;
    }
    const char *v = rest + skip;
    size_t vn = rn - skip;
    if (r->op == REQ_EQ || r->op == REQ_NE) {
        if (memchr(v, '=', vn))
            vd->bad = true;
        else if (vn == 0)
            vd->unsure = true; /* KEY= : "" or malformed, the header does not say */
        else
            ref_value(v, vn, &r->value, vd);
    } else if (!ref_int(v, vn, &r->value.i)) {
        vd->bad = true;
    } else {
        r->value.type = CAP_INT;
        if (vn >= CAP_STR_MAX)
            vd->unsure = true;
    }
}

static void ref_reqs(const char *text, struct reqs *out, struct verdict *vd)
{
    memset(out, 0, sizeof(*out));
    unsigned terms = 0;
    if (!text || !*text)
        return;
    for (const char *t = text;;) {
        const char *end = strchr(t, ',');
        size_t n = end ? (size_t)(end - t) : strlen(t);
        struct req r;
        ref_term(t, n, &r, vd);
        if (++terms <= REQS_MAX)
            out->v[out->n++] = r;
        if (!end)
            break;
        t = end + 1;
    }
    if (terms > REQS_MAX)
        vd->overflow = true;
}

static bool falsy(const struct cap *c)
{
    return c->type == CAP_STR ? c->s[0] == '\0' : c->i == 0;
}

/* Whether c meets term r: 1, 0, or -1 where the header is open (an int
 * compared for equality with a bool). */
static int ref_met_term(const struct req *r, const struct caps *c)
{
    const struct cap *have = NULL;
    for (unsigned k = 0; k < c->n; k++)
        if (strcmp(c->v[k].key, r->value.key) == 0)
            have = &c->v[k];
    const struct cap *want = &r->value;
    switch (r->op) {
    case REQ_TRUE: return have && !falsy(have);
    case REQ_FALSE: return !have || falsy(have);
    case REQ_EQ:
    case REQ_NE: {
        if (!have)
            return r->op == REQ_NE;
        int eq;
        if (have->type == want->type)
            eq = have->type == CAP_STR ? strcmp(have->s, want->s) == 0 : have->i == want->i;
        else if (have->type == CAP_STR || want->type == CAP_STR)
            eq = 0;
        else
            return -1;
        return r->op == REQ_EQ ? eq : !eq;
    }
    default: break;
    }
    if (!have || have->type != CAP_INT)
        return 0;
    switch (r->op) {
    case REQ_GE: return have->i >= want->i;
    case REQ_LE: return have->i <= want->i;
    case REQ_GT: return have->i > want->i;
    case REQ_LT: return have->i < want->i;
    default: CHECK(0);
    }
    return 0;
}

static int ref_met(const struct reqs *r, const struct caps *c)
{
    int met = 1;
    for (unsigned k = 0; k < r->n; k++) {
        int m = ref_met_term(&r->v[k], c);
        if (m == 0)
            return 0;
        if (m < 0)
            met = -1;
    }
    return met;
}

/* ------------------------------------------------------------------------ */
/* The checks                                                               */

static void check_caps_shape(const struct caps *c)
{
    CHECK(c->n <= CAPS_MAX);
    for (unsigned k = 0; k < c->n; k++) {
        const struct cap *p = &c->v[k];
        size_t kn = strnlen(p->key, CAP_KEY_MAX);
        CHECK(kn < CAP_KEY_MAX && good_key(p->key, kn));
        CHECK(p->type == CAP_BOOL || p->type == CAP_INT || p->type == CAP_STR);
        if (p->type == CAP_BOOL)
            CHECK(p->i == 0 || p->i == 1);
        if (p->type == CAP_STR)
            CHECK(strnlen(p->s, CAP_STR_MAX) < CAP_STR_MAX && !strchr(p->s, ','));
        for (unsigned j = 0; j < k; j++)
            CHECK(strcmp(c->v[j].key, p->key) != 0);
        const struct cap *f = caps_find(c, p->key);
        CHECK(f && same_cap(f, p));
    }
}

static void value_text(const struct cap *p, char *buf, size_t len)
{
    if (p->type == CAP_BOOL)
        snprintf(buf, len, "%s", p->i ? "true" : "false");
    else if (p->type == CAP_INT)
        snprintf(buf, len, "%" PRId64, p->i);
    else
        snprintf(buf, len, "%s", p->s);
}

/* Accepted capabilities: written back and read again, truncated as
 * snprintf, and rebuilt key by key. */
static void check_caps_roundtrip(const struct caps *c, size_t cut)
{
    size_t need = caps_format(c, NULL, 0);
    char *full = malloc(need + 1);
    CHECK(full);
    CHECK(caps_format(c, full, need + 1) == need && strlen(full) == need);
    struct caps again;
    CHECK(caps_parse(full, &again) == 0 && same_caps(c, &again));

    size_t len = cut % (need + 2);
    char *part = malloc(len ? len : 1);
    CHECK(part);
    if (len) {
        CHECK(caps_format(c, part, len) == need);
        CHECK(strlen(part) == (len - 1 < need ? len - 1 : need));
        CHECK(memcmp(part, full, strlen(part)) == 0);
    }
    free(part);
    free(full);

    struct caps d = *c;
    for (unsigned k = 0; k < c->n; k++) {
        const struct cap *p = &c->v[k];
        char v[CAP_STR_MAX + 32];
        value_text(p, v, sizeof(v));
        CHECK(caps_unset(&d, p->key) && !caps_find(&d, p->key) && d.n == c->n - 1);
        CHECK(!caps_unset(&d, p->key));
        CHECK(caps_set(&d, p->key, v) == 0 && d.n == c->n);
    }
    CHECK(same_caps(c, &d));
}

static void check_reqs_shape(const struct reqs *r, const struct reqs *ref)
{
    CHECK(r->n == ref->n);
    for (unsigned k = 0; k < r->n; k++) {
        const struct req *a = &r->v[k], *b = &ref->v[k];
        CHECK(a->op == b->op && strcmp(a->value.key, b->value.key) == 0);
        if (a->op != REQ_TRUE && a->op != REQ_FALSE)
            CHECK(same_cap(&a->value, &b->value));
    }
}

static void check_met(const struct reqs *r, const struct caps *c, size_t why_len)
{
    bool met = reqs_met(r, c, NULL, 0);
    int want = ref_met(r, c);
    if (want >= 0)
        CHECK(met == (bool)want);
    /* A why of exactly why_len bytes: ASan sees any write past it. */
    char *why = malloc(why_len ? why_len : 1);
    CHECK(why);
    memset(why, 'x', why_len ? why_len : 1);
    CHECK(reqs_met(r, c, why, why_len) == met);
    /* Written (terminated, and something said) only when not met. */
    if (why_len && !met) {
        CHECK(memchr(why, '\0', why_len));
        if (why_len > 1)
            CHECK(why[0] != '\0');
    } else if (!why_len) {
        CHECK(why[0] == 'x');
    }
    free(why);

    /* The terms twice over are met exactly when once is. */
    struct reqs twice = *r;
    int rc = reqs_append(&twice, r);
    if (2 * r->n <= REQS_MAX) {
        CHECK(rc == 0 && twice.n == 2 * r->n);
        CHECK(reqs_met(&twice, c, NULL, 0) == met);
    } else {
        CHECK(rc == -ENOSPC && twice.n == r->n);
    }

    /* The creating node alone: placed on it, on its least loaded shard,
     * exactly when it meets the requirements. */
    static const uint32_t load[] = {3, 1, 1};
    struct place_member self = {.node = 1, .caps = c, .nshards = 3, .load = load,
                                .reachable = false};
    struct place_request rq = {.type_reqs = r, .policy = PLACE_LOCAL_FIRST, .self = 1,
                               .creator_shard = -1};
    struct place_choice out;
    char reason[256];
    rc = place_decide(&rq, &self, 1, &out, reason, sizeof(reason));
    CHECK(rc == (met ? 0 : -ENOENT));
    if (rc == 0)
        CHECK(out.node == 1 && out.shard == 1);
    else
        CHECK(reason[0] != '\0');
    rq.type_reqs = NULL;
    rq.create_reqs = r;
    rq.policy = PLACE_LEAST_LOADED;
    CHECK(place_decide(&rq, &self, 1, &out, NULL, 0) == rc);
}

static char *cstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    CHECK(s);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t cn = nul ? (size_t)(nul - data) : size;
    char *ctext = cstr(data, cn), *rtext = NULL;
    if (nul) {
        const uint8_t *r = nul + 1, *end = data + size;
        const uint8_t *rnul = memchr(r, '\0', (size_t)(end - r));
        rtext = cstr(r, (size_t)((rnul ? rnul : end) - r));
    }

    struct caps c, ref;
    struct verdict vd = {0};
    memset(&c, 0x5a, sizeof(c));
    int rc = caps_parse(ctext, &c);
    ref_caps(ctext, &ref, &vd);
    CHECK(rc == 0 || rc == -EINVAL || rc == -ENOSPC);
    if (!vd.unsure) {
        if (!vd.bad && !vd.overflow)
            CHECK(rc == 0 && same_caps(&c, &ref));
        else if (!vd.overflow)
            CHECK(rc == -EINVAL);
        else if (!vd.bad)
            CHECK(rc == -ENOSPC);
        else
            CHECK(rc != 0);
    }
    if (rc != 0) {
        CHECK(c.n == 0);
        if (rc == -EINVAL)
            CHECK(ts_last_error()[0] != '\0');
        memset(&c, 0, sizeof(c)); /* no capabilities: the requirements still run */
    } else {
        check_caps_shape(&c);
        check_caps_roundtrip(&c, size);
    }

    struct reqs r, rref;
    struct verdict rvd = {0};
    memset(&r, 0x5a, sizeof(r));
    rc = reqs_parse(rtext, &r);
    ref_reqs(rtext, &rref, &rvd);
    CHECK(rc == 0 || rc == -EINVAL || rc == -ENOSPC);
    if (!rvd.unsure) {
        if (!rvd.bad && !rvd.overflow) {
            CHECK(rc == 0);
            check_reqs_shape(&r, &rref);
        } else if (!rvd.overflow) {
            CHECK(rc == -EINVAL);
        } else if (!rvd.bad) {
            CHECK(rc == -ENOSPC);
        } else {
            CHECK(rc != 0);
        }
    }
    if (rc == -EINVAL)
        CHECK(ts_last_error()[0] != '\0');
    if (rc == 0) {
        CHECK(r.n <= REQS_MAX);
        check_met(&r, &c, cn % 24);
    }

    free(ctext);
    free(rtext);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Seeded inputs: lists built from keys and values near every rule's edge   */

static const char *const keys[] = {"gpu", "cores", "region", "mem", "n", "a.b", "x-y", "k_1",
                                   "Z9", "tpu"};
static const char *const values[] = {
    "true", "false", "0", "-1", "8", "+5", "007", "-0", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "eu", "us", "EU",
    "", "-", "+", "1.5", "b=c", "True", " 1", "12a",
    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",   /* 63 */
    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",  /* 64 */
};
static const char *const ops[] = {"", "!", "=", "!=", ">=", "<=", ">", "<"};

struct out {
    uint8_t *buf;
    size_t cap, len;
};

static void put(struct out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len + n <= o->cap) {
        memcpy(o->buf + o->len, s, n);
        o->len += n;
    }
}

static void put_key(struct out *o, uint64_t (*rng)(void))
{
    switch (rng() % 12) {
    case 0: {
        char k[16];
        snprintf(k, sizeof(k), "k%u", (unsigned)(rng() % 40));
        put(o, k);
        break;
    }
    case 1: put(o, rng() % 2 ? "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk" /* 31 */
                             : "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk" /* 32 */); break;
    default: put(o, keys[rng() % (sizeof(keys) / sizeof(keys[0]))]); break;
    }
}

static void put_sep(struct out *o, uint64_t (*rng)(void))
{
    put(o, rng() % 30 ? "," : rng() % 2 ? ",," : ", ");
}

size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void))
{
    struct out o = {buf, cap, 0};
    size_t nv = sizeof(values) / sizeof(values[0]);
    unsigned ncaps = (unsigned)(rng() % 4 ? rng() % 8 : rng() % 40);
    for (unsigned k = 0; k < ncaps; k++) {
        if (k)
            put_sep(&o, rng);
        put_key(&o, rng);
        put(&o, "=");
        put(&o, values[rng() % nv]);
    }
    if (o.len < o.cap)
        o.buf[o.len++] = '\0';
    unsigned nreqs = (unsigned)(rng() % 4 ? rng() % 5 : rng() % 20);
    for (unsigned k = 0; k < nreqs; k++) {
        if (k)
            put_sep(&o, rng);
        const char *op = ops[rng() % (sizeof(ops) / sizeof(ops[0]))];
        if (strcmp(op, "!") == 0)
            put(&o, "!");
        put_key(&o, rng);
        if (*op && strcmp(op, "!") != 0) {
            put(&o, op);
            put(&o, values[rng() % nv]);
        }
    }
    return o.len;
}
