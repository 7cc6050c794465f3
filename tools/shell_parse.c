/* SPDX-License-Identifier: MIT */
/*
 * shell_parse.c — the command language of `thespis shell` (shell_parse.h):
 * words, commands and their arguments. No I/O, no allocation: everything
 * lands in the caller's struct shell_command.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shell_parse.h"

/* ------------------------------------------------------------------------ */
/* The commands                                                              */
/* ------------------------------------------------------------------------ */

static const struct shell_cmd_info commands[] = {
    {"help", NULL, SHELL_CMD_HELP, "help [COMMAND]", "list the commands, or describe one",
     "Without COMMAND, one line per command; with it, what it does.\n"},
    {"create", NULL, SHELL_CMD_CREATE,
     "create TYPE [ARG] [as NAME] [--image ID] [--global NAME]",
     "create an actor; its address goes into the book",
     "Creates an actor of TYPE (thespis.Echo is on every node) with ARG as its\n"
     "creation argument (text; none when left out), prints its address and\n"
     "adds it to the address book as $1, $2, ... and as NAME when given.\n"
     "  --image ID     the type of that image (as 'load' and 'images' show it)\n"
     "  --global NAME  the actor of that global name: an existing one is\n"
     "                 returned, not created again\n"},
    {"tell", NULL, SHELL_CMD_TELL, "tell ADDR TYPE [TEXT]", "send a message",
     "Sends a message of TYPE (a name: app.Ping) with TEXT as its payload\n"
     "(empty when left out) to ADDR, without waiting. Whatever comes back to\n"
     "the shell is printed before the next command runs.\n"
     "ADDR is $N, a name from the book, or an address as create prints it\n"
     "(node.shard.slot.gen). Quote TEXT with blanks in it: \"hello world\".\n"},
    {"ask", NULL, SHELL_CMD_ASK, "ask ADDR TYPE [TEXT] [--timeout S]",
     "send a message and print the reply",
     "Sends as tell does, but from the mailbox the shell asks from (not the one\n"
     "tell uses), and waits for the first message to it (the reply; as in\n"
     "Thespian, whoever sends it). Prints its type, its sender and its payload:\n"
     "as text when it is text, else in hex. A reply that comes after its ask\n"
     "gave up is printed as a late reply before the next ask.\n"
     "  --timeout S    wait at most S seconds (a decimal: 0.5; default: the\n"
     "                 shell's --timeout)\n"},
    {"addrs", "book", SHELL_CMD_ADDRS, "addrs", "list the address book",
     "One line per address the shell knows: $N = ADDRESS (NAMES).\n"},
    {"name", NULL, SHELL_CMD_NAME, "name ADDR NAME", "give an address a name in the book",
     "Names ADDR NAME in the address book (a name given before to another\n"
     "address moves to this one). NAME: 1 to 31 of A-Z a-z 0-9 _ . -,\n"
     "starting with a letter or _.\n"},
    {"status", NULL, SHELL_CMD_STATUS, "status [ADDR] [--json]",
     "the node's status, or an actor's",
     "Without ADDR, the status of the node the shell is on; with ADDR, the\n"
     "status of that actor (the engine answers ts.StatusRequest for it).\n"
     "  --json         one JSON object on one line instead of text\n"},
    {"caps", NULL, SHELL_CMD_CAPS, "caps [set KEY=VALUE... | unset KEY...]",
     "show or change the node's capabilities",
     "Without arguments, prints the node's capabilities. set and unset change\n"
     "them as `thespis cap` does: placement reads them at once, and actors\n"
     "whose requirements no longer hold are asked to exit.\n"},
    {"members", NULL, SHELL_CMD_MEMBERS, "members", "list the convention's members",
     "One line per member of the node's convention, itself included.\n"},
    {"load", NULL, SHELL_CMD_LOAD, "load PATH", "load a code image",
     "Loads the code image at PATH (its signature from PATH.sig when there\n"
     "is one) into the node and prints its id.\n"},
    {"unload", NULL, SHELL_CMD_UNLOAD, "unload ID", "unload a code image",
     "Stops creations from the image ID; its running actors go on.\n"},
    {"images", NULL, SHELL_CMD_IMAGES, "images", "list the node's code images",
     "One line per image: its id, size, whether it is loaded, its types.\n"},
    {"quit", "exit", SHELL_CMD_QUIT, "quit", "leave the shell (so does end of input)",
     "Leaves the shell. The node keeps running; the actors created stay.\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct shell_cmd_info *shell_command_info(unsigned i)
{
    return i < NCOMMANDS ? &commands[i] : NULL;
}

const struct shell_cmd_info *shell_command_find(const char *name)
{
    for (unsigned i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0 ||
            (commands[i].alias && strcmp(commands[i].alias, name) == 0))
            return &commands[i];
    return NULL;
}

/* Names first, then aliases: iter counts through both. */
const char *shell_command_complete(const char *prefix, size_t len, unsigned *iter)
{
    while (*iter < 2 * NCOMMANDS) {
        unsigned i = (*iter)++;
        const char *n = i < NCOMMANDS ? commands[i].name : commands[i - NCOMMANDS].alias;
        if (n && strlen(n) >= len && strncmp(n, prefix, len) == 0)
            return n;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Words                                                                     */
/* ------------------------------------------------------------------------ */

static int fail(struct shell_command *out, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct shell_command *out, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(out->error, sizeof(out->error), fmt, ap);
    va_end(ap);
    return rc;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A byte for the error messages: itself when printable, else \xHH. */
static const char *show_byte(char c, char buf[8])
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x21 && u < 0x7f)
        snprintf(buf, 8, "%c", c);
    else
        snprintf(buf, 8, "\\x%02x", u);
    return buf;
}

/* The escape at line[*i] (just after the backslash; *i < len) into *byte;
 * *i moves past it. 0 or -EINVAL. */
static int escape(const char *line, size_t len, size_t *i, char *byte, struct shell_command *out)
{
    size_t at = *i - 1; /* the backslash, for the message (1-based below) */
    char c = line[(*i)++];
    char b[8];

    switch (c) {
    case '\\': case '"': case '\'': case '#': case ' ':
        *byte = c;
        return 0;
    case 'n': *byte = '\n'; return 0;
    case 't': *byte = '\t'; return 0;
    case 'r': *byte = '\r'; return 0;
    case '0': *byte = '\0'; return 0;
    case 'x': {
        int hi = *i < len ? hexval(line[*i]) : -1;
        int lo = *i + 1 < len ? hexval(line[*i + 1]) : -1;
        if (hi < 0 || lo < 0)
            return fail(out, -EINVAL, "column %zu: \\x needs two hex digits (\\x41)", at + 1);
        *byte = (char)(hi * 16 + lo);
        *i += 2;
        return 0;
    }
    default:
        return fail(out, -EINVAL, "column %zu: unknown escape '\\%s' (use \\\\ \\\" \\' \\# "
                    "\\n \\t \\r \\0 \\xHH, or a space after \\)", at + 1, show_byte(c, b));
    }
}

int shell_tokenize(const char *line, size_t len, struct shell_command *out)
{
    size_t i = 0, used = 0;

    out->nwords = 0;
    out->error[0] = '\0';
    /* The end of line is not part of it. */
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len > SHELL_LINE_MAX)
        return fail(out, -E2BIG, "line too long (%zu bytes, at most %d)", len, SHELL_LINE_MAX);
    const char *nul = len ? memchr(line, '\0', len) : NULL;
    if (nul)
        return fail(out, -EINVAL, "column %zu: a NUL byte (write it as \\0)",
                    (size_t)(nul - line) + 1);
    for (;;) {
        while (i < len && blank(line[i]))
            i++;
        if (i == len || line[i] == '#')
            return 0;
        if (out->nwords == SHELL_WORDS_MAX)
            return fail(out, -E2BIG, "too many words (at most %d)", SHELL_WORDS_MAX);
        struct shell_word *w = &out->words[out->nwords];
        char *start = out->buf + used;
        w->quoted = false;
        while (i < len && !blank(line[i])) {
            char c = line[i++], byte;
            if (c == '\\') {
                if (i == len)
                    return fail(out, -EINVAL, "column %zu: '\\' at the end of the line "
                                "(write \\\\ for a backslash)", i);
                if (escape(line, len, &i, &byte, out) < 0)
                    return -EINVAL;
                out->buf[used++] = byte;
                w->quoted = true;
            } else if (c == '"' || c == '\'') {
                size_t open = i;
                w->quoted = true;
                while (i < len && line[i] != c) {
                    byte = line[i++];
                    if (c == '"' && byte == '\\') {
                        if (i == len)
                            break;
                        if (escape(line, len, &i, &byte, out) < 0)
                            return -EINVAL;
                    }
                    out->buf[used++] = byte;
                }
                if (i == len)
                    return fail(out, -EINVAL, "column %zu: unterminated %s quote", open,
                                c == '"' ? "double" : "single");
                i++; /* the closing quote */
            } else {
                out->buf[used++] = c;
            }
        }
        w->s = start;
        w->len = (size_t)(out->buf + used - start);
        out->buf[used++] = '\0';
        out->nwords++;
    }
}

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */
/* ------------------------------------------------------------------------ */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

bool shell_book_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SHELL_BOOK_NAME_MAX)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i]))
            return false;
    return true;
}

/* A word that is text (no NUL of its own). */
static bool plain(const struct shell_word *w)
{
    return strlen(w->s) == w->len;
}

/* A word as it may appear in a message: cut, and with the unprintable bytes
 * shown as '?'. */
static const char *show_bytes(const char *s, size_t slen, char *buf, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < slen && n + 4 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        if (i == 40 && slen > 44) {
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
    }
    buf[n] = '\0';
    return buf;
}

static const char *show(const struct shell_word *w, char *buf, size_t len)
{
    return show_bytes(w->s, w->len, buf, len);
}

static int parse_ref(struct shell_command *out, const struct shell_word *w)
{
    char b[64];
    struct shell_ref *r = &out->ref;

    out->has_ref = true;
    memset(r, 0, sizeof(*r));
    if (w->s[0] == '$') {
        const char *p = w->s + 1;
        unsigned long v = 0;
        size_t n = 0;
        for (; *p >= '0' && *p <= '9' && n < 7; p++, n++)
            v = v * 10 + (unsigned long)(*p - '0');
        if (n == 0 || *p || (size_t)(p - w->s) != w->len || v == 0)
            return fail(out, -EINVAL, "bad book reference '%s' ($1, $2, ... as create and "
                        "addrs print them)", show(w, b, sizeof(b)));
        r->kind = SHELL_REF_INDEX;
        r->index = (unsigned)v;
        return 0;
    }
    if (w->s[0] >= '0' && w->s[0] <= '9') {
        if (!plain(w) || ts_addr_parse(w->s, &r->addr) != 0)
            return fail(out, -EINVAL, "bad address '%s' (node.shard.slot.gen, as create "
                        "prints it)", show(w, b, sizeof(b)));
        r->kind = SHELL_REF_ADDR;
        return 0;
    }
    if (!plain(w) || !shell_book_name_ok(w->s))
        return fail(out, -EINVAL, "bad address '%s' ($N, a name from the book, or "
                    "node.shard.slot.gen)", show(w, b, sizeof(b)));
    r->kind = SHELL_REF_NAME;
    r->name = w->s;
    return 0;
}

static int parse_type(struct shell_command *out, const struct shell_word *w)
{
    if (w->len == 0 || !plain(w))
        return fail(out, -EINVAL, "%s: TYPE must be a name, not %s", out->name,
                    w->len ? "text with NUL bytes" : "empty");
    out->type = w->s;
    return 0;
}

static int parse_book_name(struct shell_command *out, const struct shell_word *w)
{
    char b[64];

    if (!plain(w) || !shell_book_name_ok(w->s))
        return fail(out, -EINVAL, "%s: bad name '%s' (1 to %d of A-Z a-z 0-9 _ . -, "
                    "starting with a letter or _)", out->name, show(w, b, sizeof(b)),
                    SHELL_BOOK_NAME_MAX);
    out->as_name = w->s;
    return 0;
}

static int parse_image_id(struct shell_command *out, const struct shell_word *w)
{
    char b[64];
    bool ok = w->len == SHELL_IMAGE_ID_LEN && plain(w);

    for (size_t i = 0; ok && i < w->len; i++)
        ok = hexval(w->s[i]) >= 0;
    if (!ok)
        return fail(out, -EINVAL, "%s: bad image id '%s' (%d hex digits, as load and "
                    "images print it)", out->name, show(w, b, sizeof(b)), SHELL_IMAGE_ID_LEN);
    out->image = w->s;
    return 0;
}

/* S seconds: digits, then at most nine decimals; more than 0, at most a
 * day. */
static int parse_timeout(struct shell_command *out, const struct shell_word *w)
{
    char b[64];
    const char *p = w->s;
    uint64_t s = 0, ns = 0, scale = 100000000u;
    size_t digits = 0;

    for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
        s = s * 10 + (uint64_t)(*p - '0');
    if (*p == '.' && p[1]) {
        for (p++; *p >= '0' && *p <= '9' && scale; p++, scale /= 10)
            ns += (uint64_t)(*p - '0') * scale;
    }
    uint64_t total = s * 1000000000u + ns;
    if (!digits || *p || !plain(w) || total == 0 ||
        total > (uint64_t)SHELL_MAX_TIMEOUT_S * 1000000000u)
        return fail(out, -EINVAL, "%s: bad --timeout '%s' (seconds, more than 0 and at most "
                    "%u: 5, 0.25)", out->name, show(w, b, sizeof(b)), SHELL_MAX_TIMEOUT_S);
    out->timeout_ns = total;
    return 0;
}

static void set_payload(struct shell_command *out, const struct shell_word *w)
{
    out->has_payload = true;
    out->payload = w->s;
    out->payload_len = w->len;
}

/* Whether w is the unquoted option opt. */
static bool is_opt(const struct shell_word *w, const char *opt)
{
    return !w->quoted && strcmp(w->s, opt) == 0;
}

static bool looks_like_option(const struct shell_word *w)
{
    return !w->quoted && w->len > 2 && w->s[0] == '-' && w->s[1] == '-';
}

/* The value after an option or keyword at words[*i], or NULL (error set). */
static const struct shell_word *value_of(struct shell_command *out, unsigned *i,
                                         const char *what)
{
    const struct shell_word *opt = &out->words[*i];
    if (*i + 1 >= out->nwords) {
        fail(out, -EINVAL, "%s: '%s' needs %s", out->name, opt->s, what);
        return NULL;
    }
    return &out->words[++*i];
}

static int unknown_option(struct shell_command *out, const struct shell_word *w,
                          const char *known)
{
    char b[64];
    return fail(out, -EINVAL, "%s: unknown option '%s' (%s; quote a word that starts with "
                "--)", out->name, show(w, b, sizeof(b)), known);
}

static int too_many(struct shell_command *out, const struct shell_word *w)
{
    char b[64];
    return fail(out, -EINVAL, "%s: unexpected '%s' (usage: %s; quote text with blanks in it)",
                out->name, show(w, b, sizeof(b)), shell_command_find(out->name)->synopsis);
}

static int missing(struct shell_command *out, const char *what)
{
    return fail(out, -EINVAL, "%s: missing %s (usage: %s)", out->name, what,
                shell_command_find(out->name)->synopsis);
}

static int parse_create(struct shell_command *out)
{
    unsigned npos = 0;
    const struct shell_word *v;

    for (unsigned i = 1; i < out->nwords; i++) {
        const struct shell_word *w = &out->words[i];
        int rc = 0;
        if (is_opt(w, "--image")) {
            if (!(v = value_of(out, &i, "an image id")))
                return -EINVAL;
            rc = parse_image_id(out, v);
        } else if (is_opt(w, "--global")) {
            if (!(v = value_of(out, &i, "a global name")))
                return -EINVAL;
            if (v->len == 0 || v->len > SHELL_GLOBAL_MAX || !plain(v))
                return fail(out, -EINVAL, "create: bad --global name (1 to %d characters, "
                            "no NUL)", SHELL_GLOBAL_MAX);
            out->global = v->s;
        } else if (is_opt(w, "as") && npos > 0) {
            if (!(v = value_of(out, &i, "a NAME")))
                return -EINVAL;
            rc = parse_book_name(out, v);
        } else if (looks_like_option(w)) {
            return unknown_option(out, w, "--image ID, --global NAME");
        } else if (npos == 0) {
            rc = parse_type(out, w);
            npos++;
        } else if (npos == 1) {
            set_payload(out, w);
            npos++;
        } else {
            return too_many(out, w);
        }
        if (rc)
            return rc;
    }
    return npos ? 0 : missing(out, "TYPE");
}

/* tell ADDR TYPE [TEXT]; ask also takes --timeout S. */
static int parse_send(struct shell_command *out, bool ask)
{
    unsigned npos = 0;
    const struct shell_word *v;

    for (unsigned i = 1; i < out->nwords; i++) {
        const struct shell_word *w = &out->words[i];
        int rc = 0;
        if (ask && is_opt(w, "--timeout")) {
            if (!(v = value_of(out, &i, "seconds")))
                return -EINVAL;
            rc = parse_timeout(out, v);
        } else if (looks_like_option(w)) {
            return unknown_option(out, w, ask ? "--timeout S" : "tell takes none");
        } else if (npos == 0) {
            rc = parse_ref(out, w);
            npos++;
        } else if (npos == 1) {
            rc = parse_type(out, w);
            npos++;
        } else if (npos == 2) {
            set_payload(out, w);
            npos++;
        } else {
            return too_many(out, w);
        }
        if (rc)
            return rc;
    }
    return npos == 0 ? missing(out, "ADDR") : npos == 1 ? missing(out, "TYPE") : 0;
}

/* Commands that take none, or up to max plain words checked by the caller. */
static int count_args(struct shell_command *out, unsigned min, unsigned max, const char *what)
{
    unsigned n = out->nwords - 1;

    for (unsigned i = 1; i < out->nwords; i++)
        if (looks_like_option(&out->words[i]))
            return unknown_option(out, &out->words[i], "it takes none");
    if (n < min)
        return missing(out, what);
    if (n > max)
        return too_many(out, &out->words[max + 1]);
    return 0;
}

/* status [ADDR] [--json] */
static int parse_status(struct shell_command *out)
{
    for (unsigned i = 1; i < out->nwords; i++) {
        const struct shell_word *w = &out->words[i];
        if (is_opt(w, "--json"))
            out->json = true;
        else if (looks_like_option(w))
            return unknown_option(out, w, "--json");
        else if (out->has_ref)
            return too_many(out, w);
        else if (parse_ref(out, w))
            return -EINVAL;
    }
    return 0;
}

static int parse_cap_key(struct shell_command *out, const char *k, size_t n)
{
    char b[64];
    bool ok = n > 0 && n <= 31;
    for (size_t i = 0; ok && i < n; i++)
        ok = name_char(k[i]);
    if (!ok)
        return fail(out, -EINVAL, "caps: bad key '%s' (1 to 31 of A-Z a-z 0-9 _ . -)",
                    show_bytes(k, n, b, sizeof(b)));
    return 0;
}

static int parse_caps(struct shell_command *out)
{
    if (out->nwords == 1)
        return 0;
    const struct shell_word *a = &out->words[1];
    bool set = strcmp(a->s, "set") == 0;
    if (!set && strcmp(a->s, "unset") != 0) {
        char b[64];
        return fail(out, -EINVAL, "caps: unknown action '%s' (set KEY=VALUE... or unset "
                    "KEY...)", show(a, b, sizeof(b)));
    }
    out->caps = set ? SHELL_CAPS_SET : SHELL_CAPS_UNSET;
    if (out->nwords == 2)
        return fail(out, -EINVAL, "caps: %s needs at least one %s", a->s,
                    set ? "KEY=VALUE" : "KEY");
    for (unsigned i = 2; i < out->nwords; i++) {
        struct shell_word *w = &out->words[i];
        char *s = out->buf + (w->s - out->buf); /* the struct's own, writable */
        char b[64];
        if (!plain(w))
            return fail(out, -EINVAL, "caps: a NUL byte in '%s'", show(w, b, sizeof(b)));
        char *eq = set ? strchr(s, '=') : NULL;
        if (set && !eq)
            return fail(out, -EINVAL, "caps: bad '%s' (KEY=VALUE)", show(w, b, sizeof(b)));
        size_t klen = eq ? (size_t)(eq - s) : w->len;
        if (parse_cap_key(out, s, klen))
            return -EINVAL;
        if (eq) {
            if (strchr(eq + 1, ',') || strlen(eq + 1) > 63)
                return fail(out, -EINVAL, "caps: bad value in '%s' (at most 63 "
                            "characters, no ',')", show(w, b, sizeof(b)));
            *eq = '\0';
            out->cap_values[out->ncaps] = eq + 1;
        }
        out->cap_keys[out->ncaps++] = s;
    }
    return 0;
}

static int parse_args(struct shell_command *out)
{
    const struct shell_word *w = &out->words[1];

    switch (out->cmd) {
    case SHELL_CMD_HELP:
        if (count_args(out, 0, 1, ""))
            return -EINVAL;
        if (out->nwords == 2) {
            const struct shell_cmd_info *c = plain(w) ? shell_command_find(w->s) : NULL;
            char b[64];
            if (!c)
                return fail(out, -EINVAL, "help: no command '%s' (try 'help')",
                            show(w, b, sizeof(b)));
            out->topic = c->name;
        }
        return 0;
    case SHELL_CMD_CREATE:
        return parse_create(out);
    case SHELL_CMD_TELL:
        return parse_send(out, false);
    case SHELL_CMD_ASK:
        return parse_send(out, true);
    case SHELL_CMD_NAME:
        if (count_args(out, 2, 2, out->nwords == 1 ? "ADDR" : "NAME"))
            return -EINVAL;
        return parse_ref(out, w) ? -EINVAL : parse_book_name(out, &out->words[2]);
    case SHELL_CMD_STATUS:
        return parse_status(out);
    case SHELL_CMD_CAPS:
        return parse_caps(out);
    case SHELL_CMD_LOAD:
        if (count_args(out, 1, 1, "PATH"))
            return -EINVAL;
        if (w->len == 0 || !plain(w))
            return fail(out, -EINVAL, "load: bad PATH (empty, or with a NUL byte)");
        out->path = w->s;
        return 0;
    case SHELL_CMD_UNLOAD:
        if (count_args(out, 1, 1, "ID"))
            return -EINVAL;
        return parse_image_id(out, w);
    default: /* quit, addrs, members, images */
        return count_args(out, 0, 0, "");
    }
}

/* Clears what a parse sets, keeping the words. */
static void clear_args(struct shell_command *out)
{
    out->cmd = SHELL_CMD_NONE;
    out->name = NULL;
    out->type = NULL;
    out->has_ref = false;
    memset(&out->ref, 0, sizeof(out->ref));
    out->has_payload = false;
    out->payload = NULL;
    out->payload_len = 0;
    out->as_name = out->image = out->global = out->path = out->topic = NULL;
    out->timeout_ns = 0;
    out->json = false;
    out->caps = SHELL_CAPS_SHOW;
    out->ncaps = 0;
}

int shell_parse(const char *line, size_t len, struct shell_command *out)
{
    clear_args(out);
    int rc = shell_tokenize(line, len, out);
    if (rc || out->nwords == 0)
        return rc;
    const struct shell_word *w = &out->words[0];
    const struct shell_cmd_info *c = plain(w) ? shell_command_find(w->s) : NULL;
    if (!c) {
        char b[64];
        unsigned it = 0;
        const char *first = shell_command_complete(w->s, w->len, &it);
        const char *second = first ? shell_command_complete(w->s, w->len, &it) : NULL;
        if (first && !second && w->len > 0 && plain(w))
            return fail(out, -EINVAL, "unknown command '%s' (did you mean '%s'? 'help' "
                        "lists them)", show(w, b, sizeof(b)), first);
        return fail(out, -EINVAL, "unknown command '%s' ('help' lists them)",
                    show(w, b, sizeof(b)));
    }
    out->cmd = c->cmd;
    out->name = w->s;
    rc = parse_args(out);
    if (rc) {
        char why[SHELL_ERROR_MAX];
        memcpy(why, out->error, sizeof(why));
        clear_args(out);
        memcpy(out->error, why, sizeof(why));
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Payloads                                                                  */
/* ------------------------------------------------------------------------ */

/* The length of the well-formed UTF-8 sequence at p (n bytes left) that
 * encodes a printable character beyond ASCII, or 0. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
    size_t need;
    uint32_t cp;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        need = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        need = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        need = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    /* Overlong forms, surrogates, beyond Unicode, and the C1 controls. */
    if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
        return 0;
    return need;
}

bool shell_payload_is_text(const void *p, size_t len)
{
    const unsigned char *s = p;

    if (len && s[len - 1] == '\0')
        len--;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n') {
            i++;
            continue;
        }
        size_t n = c >= 0x80 ? utf8_char(s + i, len - i) : 0;
        if (!n)
            return false;
        i += n;
    }
    return true;
}
