/* SPDX-License-Identifier: MIT */
/* caps.c — see caps.h. */
#include "caps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/err.h"

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

/* [p, p + n) is a key: 1 to CAP_KEY_MAX - 1 key characters. */
static bool key_ok(const char *p, size_t n)
{
    if (n == 0 || n >= CAP_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!key_char(p[i]))
            return false;
    return true;
}

/* [p, p + n) as a value of cap: bool, int or string. false if too long
 * or it holds a ','. */
static bool value_read(const char *p, size_t n, struct cap *cap)
{
    if (n >= CAP_STR_MAX || memchr(p, ',', n))
        return false;
    char buf[CAP_STR_MAX];
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (strcmp(buf, "true") == 0 || strcmp(buf, "false") == 0) {
        cap->type = CAP_BOOL;
        cap->i = buf[0] == 't';
        return true;
    }
    size_t digits = strspn(buf + (buf[0] == '-' || buf[0] == '+'), "0123456789");
    if (digits && digits + (buf[0] == '-' || buf[0] == '+') == n) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno == 0) {
            cap->type = CAP_INT;
            cap->i = v;
            return true;
        }
    }
    cap->type = CAP_STR;
    memcpy(cap->s, buf, n + 1);
    return true;
}

/* key's place in c, or -1. */
static int index_of(const struct caps *c, const char *key)
{
    for (unsigned i = 0; c && i < c->n; i++)
        if (strcmp(c->v[i].key, key) == 0)
            return (int)i;
    return -1;
}

const struct cap *caps_find(const struct caps *c, const char *key)
{
    int i = index_of(c, key);
    return i < 0 ? NULL : &c->v[i];
}

static struct cap *find(struct caps *c, const char *key)
{
    int i = index_of(c, key);
    return i < 0 ? NULL : &c->v[i];
}

/* Sets [key, key + kn) to [val, val + vn). */
static int set(struct caps *c, const char *key, size_t kn, const char *val, size_t vn)
{
    struct cap cap = {0};
    if (!key_ok(key, kn))
        return err_set(-EINVAL, "bad capability key '%.*s' (1 to %d of A-Z a-z 0-9 _ . -)",
                       (int)kn, key, CAP_KEY_MAX - 1);
    memcpy(cap.key, key, kn);
    if (!value_read(val, vn, &cap))
        return err_set(-EINVAL, "bad value of capability '%s' (at most %d characters, no ',')",
                       cap.key, CAP_STR_MAX - 1);
    struct cap *slot = find(c, cap.key);
    if (!slot) {
        if (c->n == CAPS_MAX)
            return err_set(-ENOSPC, "more than %d capabilities", CAPS_MAX);
        slot = &c->v[c->n++];
    }
    *slot = cap;
    return 0;
}

int caps_set(struct caps *c, const char *key, const char *value)
{
    if (!key || !value)
        return err_set(-EINVAL, "caps_set: NULL key or value");
    return set(c, key, strlen(key), value, strlen(value));
}

bool caps_unset(struct caps *c, const char *key)
{
    struct cap *cap = find(c, key);
    if (!cap)
        return false;
    memmove(cap, cap + 1, (size_t)(&c->v[c->n] - (cap + 1)) * sizeof(*cap));
    c->n--;
    return true;
}

/* Calls term(p, n, arg) on each comma-separated term of text (none for
 * NULL or ""), up to the first error, which it returns. */
static int each_term(const char *text, int (*term)(const char *p, size_t n, void *arg), void *arg)
{
    for (const char *p = text; p && *p;) {
        size_t n = strcspn(p, ",");
        int rc = term(p, n, arg);
        if (rc < 0)
            return rc;
        if (!p[n])
            break;
        p += n + 1;
        if (!*p) /* a trailing comma: an empty last term */
            return term(p, 0, arg);
    }
    return 0;
}

static int cap_term(const char *p, size_t n, void *arg)
{
    const char *eq = memchr(p, '=', n);
    if (!eq)
        return err_set(-EINVAL, "bad capability '%.*s' (KEY=VALUE)", (int)n, p);
    return set(arg, p, (size_t)(eq - p), eq + 1, n - (size_t)(eq - p) - 1);
}

int caps_parse(const char *text, struct caps *out)
{
    out->n = 0;
    int rc = each_term(text, cap_term, out);
    if (rc < 0)
        out->n = 0;
    return rc;
}

static int value_format(const struct cap *c, char *buf, size_t len)
{
    switch (c->type) {
    case CAP_BOOL:
        return snprintf(buf, len, "%s", c->i ? "true" : "false");
    case CAP_INT:
        return snprintf(buf, len, "%" PRId64, c->i);
    default:
        return snprintf(buf, len, "%s", c->s);
    }
}

size_t caps_format(const struct caps *c, char *buf, size_t len)
{
    size_t at = 0;
    if (len)
        buf[0] = '\0';
    for (unsigned i = 0; i < c->n; i++) {
        char *b = at < len ? buf + at : NULL;
        size_t room = at < len ? len - at : 0;
        at += (size_t)snprintf(b, room, "%s%s=", i ? "," : "", c->v[i].key);
        b = at < len ? buf + at : NULL;
        room = at < len ? len - at : 0;
        at += (size_t)value_format(&c->v[i], b, room);
    }
    return at;
}

/* ---- requirements ------------------------------------------------------ */

static const struct {
    const char *text;
    enum req_op op;
} ops[] = {{"!=", REQ_NE}, {">=", REQ_GE}, {"<=", REQ_LE}, {">", REQ_GT}, {"<", REQ_LT}, {"=", REQ_EQ}};

static int req_read(const char *p, size_t n, struct req *r)
{
    memset(r, 0, sizeof(*r));
    bool neg = n && p[0] == '!';
    const char *key = p + neg;
    size_t kn = 0;
    while (kn < n - neg && key_char(key[kn]))
        kn++;
    if (!key_ok(key, kn))
        return err_set(-EINVAL, "bad requirement '%.*s' (KEY, !KEY, KEY=V, KEY!=V, KEY>=N, "
                       "KEY<=N, KEY>N or KEY<N)", (int)n, p);
    memcpy(r->value.key, key, kn);
    const char *rest = key + kn;
    size_t rn = n - neg - kn;
    if (rn == 0) {
        r->op = neg ? REQ_FALSE : REQ_TRUE;
        return 0;
    }
    for (size_t i = 0; !neg && i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t on = strlen(ops[i].text);
        if (rn < on || memcmp(rest, ops[i].text, on) != 0)
            continue;
        r->op = ops[i].op;
        const char *v = rest + on;
        size_t vn = rn - on;
        bool numeric = r->op >= REQ_GE;
        if (memchr(v, '=', vn) || !value_read(v, vn, &r->value) ||
            (numeric && r->value.type != CAP_INT))
            break;
        return 0;
    }
    return err_set(-EINVAL, "bad requirement '%.*s' (KEY, !KEY, KEY=V, KEY!=V, or KEY>=N, "
                   "KEY<=N, KEY>N, KEY<N with an integer N)", (int)n, p);
}

static int req_term(const char *p, size_t n, void *arg)
{
    struct reqs *r = arg;
    if (r->n == REQS_MAX)
        return err_set(-ENOSPC, "more than %d requirements", REQS_MAX);
    int rc = req_read(p, n, &r->v[r->n]);
    if (rc == 0)
        r->n++;
    return rc;
}

int reqs_parse(const char *text, struct reqs *out)
{
    out->n = 0;
    int rc = each_term(text, req_term, out);
    if (rc < 0)
        out->n = 0;
    return rc;
}

int reqs_append(struct reqs *r, const struct reqs *more)
{
    if (r->n + more->n > REQS_MAX)
        return err_set(-ENOSPC, "more than %d requirements", REQS_MAX);
    memcpy(&r->v[r->n], more->v, more->n * sizeof(more->v[0]));
    r->n += more->n;
    return 0;
}

static bool truthy(const struct cap *c)
{
    return c && (c->type == CAP_STR ? c->s[0] != '\0' : c->i != 0);
}

/* Whether c equals the requirement's value: ints and bools by value (of
 * the same type), anything else by its text. */
static bool equal(const struct cap *c, const struct cap *want)
{
    if (c->type == want->type)
        return c->type == CAP_STR ? strcmp(c->s, want->s) == 0 : c->i == want->i;
    char a[CAP_STR_MAX], b[CAP_STR_MAX];
    value_format(c, a, sizeof(a));
    value_format(want, b, sizeof(b));
    return strcmp(a, b) == 0;
}

static bool term_met(const struct req *r, const struct cap *c)
{
    switch (r->op) {
    case REQ_TRUE:
        return truthy(c);
    case REQ_FALSE:
        return !truthy(c);
    case REQ_EQ:
        return c && equal(c, &r->value);
    case REQ_NE:
        return !c || !equal(c, &r->value);
    default:
        break;
    }
    if (!c || c->type != CAP_INT)
        return false;
    switch (r->op) {
    case REQ_GE:
        return c->i >= r->value.i;
    case REQ_LE:
        return c->i <= r->value.i;
    case REQ_GT:
        return c->i > r->value.i;
    default:
        return c->i < r->value.i;
    }
}

/* Why c fails r, into why. */
static void term_why(const struct req *r, const struct cap *c, char *why, size_t len)
{
    static const char *const names[] = {"", "", "", "not ", ">= ", "<= ", "> ", "< "};
    char have[CAP_STR_MAX + 2] = "", want[CAP_STR_MAX + 2] = "";
    if (c) {
        bool str = c->type == CAP_STR;
        snprintf(have, sizeof(have), "%s", str ? "\"" : "");
        value_format(c, have + strlen(have), sizeof(have) - strlen(have) - 1);
        strcat(have, str ? "\"" : "");
    }
    if (r->op >= REQ_EQ) {
        bool str = r->value.type == CAP_STR;
        snprintf(want, sizeof(want), "%s", str ? "\"" : "");
        value_format(&r->value, want + strlen(want), sizeof(want) - strlen(want) - 1);
        strcat(want, str ? "\"" : "");
    }
    if (r->op == REQ_FALSE)
        snprintf(why, len, "%s is %s, must be absent or false", r->value.key, have);
    else if (!c)
        snprintf(why, len, "%s is missing", r->value.key);
    else if (r->op == REQ_TRUE)
        snprintf(why, len, "%s is %s, must be true", r->value.key, have);
    else if (r->op >= REQ_GE && c->type != CAP_INT)
        snprintf(why, len, "%s is %s, not a number", r->value.key, have);
    else
        snprintf(why, len, "%s is %s, not %s%s", r->value.key, have, names[r->op], want);
}

bool reqs_met(const struct reqs *r, const struct caps *c, char *why, size_t len)
{
    for (unsigned i = 0; r && i < r->n; i++) {
        const struct cap *have = caps_find(c, r->v[i].value.key);
        if (!term_met(&r->v[i], have)) {
            if (why && len)
                term_why(&r->v[i], have, why, len);
            return false;
        }
    }
    return true;
}
