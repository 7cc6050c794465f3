/* SPDX-License-Identifier: MIT */
/* shell_fuzz.c — fuzz target for the command language of `thespis shell`
 * (tools/shell_parse.h). The input is one line, any bytes.
 *
 * Checked: shell_tokenize and shell_parse never read or write out of
 * bounds and answer 0, -EINVAL or -E2BIG, with a one-line error exactly
 * when they refuse; every word lies in the command's own buffer and is
 * NUL-terminated; the words, written back with every byte escaped (and
 * again with only the bytes that need it), read back the same; whatever
 * shell_parse accepts holds the promises of the header (a TYPE is a
 * name, a NAME a book name, an image id 32 hex digits, a timeout within a
 * day, an address that ts_addr_format writes back the same ...); the
 * command completion only offers names that begin with the prefix; and
 * shell_payload_is_text agrees with a reference decoder of UTF-8 written
 * here from the definition. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/thespis.h>

#include "fuzz.h"
#include "shell_parse.h"

#define CHECK(cond)           \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

static bool in_buf(const struct shell_command *c, const char *p)
{
    return p >= c->buf && p < c->buf + sizeof(c->buf);
}

static void check_error(const struct shell_command *c, int rc)
{
    size_t n = strnlen(c->error, sizeof(c->error));
    CHECK(n < sizeof(c->error));
    if (rc == 0) {
        CHECK(n == 0);
    } else {
        CHECK(rc == -EINVAL || rc == -E2BIG);
        CHECK(n > 0 && !memchr(c->error, '\n', n));
    }
}

static void check_words(const struct shell_command *c)
{
    CHECK(c->nwords <= SHELL_WORDS_MAX);
    const char *end = c->buf;
    for (unsigned i = 0; i < c->nwords; i++) {
        const struct shell_word *w = &c->words[i];
        CHECK(in_buf(c, w->s) && w->s >= end);
        CHECK(w->len < sizeof(c->buf) && in_buf(c, w->s + w->len));
        CHECK(w->s[w->len] == '\0');
        end = w->s + w->len + 1;
    }
}

/* The words written back as a line: every byte as \xHH in double quotes
 * (all), or only what needs it escaped (!all). Returns its length, or 0
 * when it does not fit. */
static size_t write_back(const struct shell_command *c, bool all, char *out, size_t cap)
{
    size_t n = 0;
    for (unsigned i = 0; i < c->nwords; i++) {
        const struct shell_word *w = &c->words[i];
        if (n + 3 >= cap)
            return 0;
        if (i)
            out[n++] = ' ';
        if (all || w->len == 0)
            out[n++] = '"';
        for (size_t k = 0; k < w->len; k++) {
            unsigned char b = (unsigned char)w->s[k];
            bool plain = !all && b > 0x20 && b < 0x7f && !strchr("\"'\\#", b);
            if (n + 6 >= cap)
                return 0;
            if (plain)
                out[n++] = (char)b;
            else
                n += (size_t)snprintf(out + n, cap - n, "\\x%02x", b);
        }
        if (all || w->len == 0)
            out[n++] = '"';
    }
    return n;
}

static void check_round_trip(const struct shell_command *c, bool all)
{
    static char line[SHELL_LINE_MAX + 1];
    static struct shell_command again;
    size_t n = write_back(c, all, line, sizeof(line));
    if (n == 0 && c->nwords)
        return; /* too long to write back within a line */
    CHECK(shell_tokenize(line, n, &again) == 0);
    CHECK(again.nwords == c->nwords);
    for (unsigned i = 0; i < c->nwords; i++) {
        CHECK(again.words[i].len == c->words[i].len);
        CHECK(memcmp(again.words[i].s, c->words[i].s, c->words[i].len) == 0);
        if (all)
            CHECK(again.words[i].quoted);
    }
}

static bool hex32(const char *s)
{
    if (strlen(s) != SHELL_IMAGE_ID_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789abcdefABCDEF", *p))
            return false;
    return true;
}

static bool cap_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 31)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", k[i]))
            return false;
    return true;
}

static void check_ref(const struct shell_command *c)
{
    const struct shell_ref *r = &c->ref;
    char text[32];
    ts_addr back;
    switch (r->kind) {
    case SHELL_REF_INDEX:
        CHECK(r->index >= 1);
        break;
    case SHELL_REF_NAME:
        CHECK(r->name && in_buf(c, r->name) && shell_book_name_ok(r->name));
        break;
    case SHELL_REF_ADDR:
        CHECK(ts_addr_parse(ts_addr_format(r->addr, text, sizeof(text)), &back) == 0);
        CHECK(back == r->addr);
        break;
    default:
        CHECK(0);
    }
}

static void check_type(const struct shell_command *c)
{
    CHECK(c->type && in_buf(c, c->type) && c->type[0]);
}

/* What shell_parse accepted, against the header. */
static void check_command(const struct shell_command *c)
{
    if (c->cmd == SHELL_CMD_NONE) {
        CHECK(c->nwords == 0);
        return;
    }
    CHECK(c->nwords >= 1 && c->name == c->words[0].s);
    const struct shell_cmd_info *info = shell_command_find(c->name);
    CHECK(info && info->cmd == c->cmd);
    if (c->has_payload)
        CHECK(in_buf(c, c->payload) && c->payload[c->payload_len] == '\0');
    if (c->as_name)
        CHECK(in_buf(c, c->as_name) && shell_book_name_ok(c->as_name));
    if (c->image)
        CHECK(in_buf(c, c->image) && hex32(c->image));
    if (c->has_ref)
        check_ref(c);
    CHECK(c->timeout_ns <= (uint64_t)SHELL_MAX_TIMEOUT_S * 1000000000u);
    switch (c->cmd) {
    case SHELL_CMD_CREATE:
        check_type(c);
        CHECK(!c->has_ref);
        if (c->global)
            CHECK(strlen(c->global) >= 1 && strlen(c->global) <= SHELL_GLOBAL_MAX);
        break;
    case SHELL_CMD_TELL:
    case SHELL_CMD_ASK:
        CHECK(c->has_ref);
        check_type(c);
        if (c->cmd == SHELL_CMD_TELL)
            CHECK(c->timeout_ns == 0);
        break;
    case SHELL_CMD_NAME:
        CHECK(c->has_ref && c->as_name);
        break;
    case SHELL_CMD_HELP:
        if (c->topic)
            CHECK(shell_command_find(c->topic) != NULL);
        break;
    case SHELL_CMD_LOAD:
        CHECK(c->path && in_buf(c, c->path) && c->path[0]);
        break;
    case SHELL_CMD_UNLOAD:
        CHECK(c->image);
        break;
    case SHELL_CMD_CAPS:
        CHECK((c->caps == SHELL_CAPS_SHOW) == (c->ncaps == 0));
        for (unsigned i = 0; i < c->ncaps; i++) {
            CHECK(cap_key_ok(c->cap_keys[i]));
            if (c->caps == SHELL_CAPS_SET)
                CHECK(c->cap_values[i] && !strchr(c->cap_values[i], ',') &&
                      strlen(c->cap_values[i]) <= 63);
        }
        break;
    case SHELL_CMD_STATUS:
        break;
    default: /* quit, addrs, members, images: no arguments */
        CHECK(c->nwords == 1);
        break;
    }
    if (c->cmd != SHELL_CMD_CREATE && c->cmd != SHELL_CMD_TELL && c->cmd != SHELL_CMD_ASK)
        CHECK(!c->type && !c->has_payload);
}

/* ---- the reference reading of "text" -------------------------------------- */

static bool ref_is_text(const unsigned char *p, size_t len)
{
    if (len && p[len - 1] == 0)
        len--;
    size_t i = 0;
    while (i < len) {
        unsigned char b = p[i];
        uint32_t cp;
        size_t n;
        if (b < 0x80)
            cp = b, n = 1;
        else if ((b & 0xe0) == 0xc0)
            cp = b & 0x1f, n = 2;
        else if ((b & 0xf0) == 0xe0)
            cp = b & 0x0f, n = 3;
        else if ((b & 0xf8) == 0xf0)
            cp = b & 0x07, n = 4;
        else
            return false;
        if (i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        if ((cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7f && cp < 0xa0))
            return false;
        i += n;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct shell_command c;
    const char *line = (const char *)data;

    memset(&c, 0x5a, sizeof(c));
    int rc = shell_tokenize(line, size, &c);
    check_error(&c, rc);
    if (rc == 0) {
        check_words(&c);
        check_round_trip(&c, true);
        check_round_trip(&c, false);
    }

    memset(&c, 0xa5, sizeof(c));
    int prc = shell_parse(line, size, &c);
    check_error(&c, prc);
    if (rc != 0)
        CHECK(prc == rc);
    if (prc == 0)
        check_command(&c);
    else
        CHECK(c.cmd == SHELL_CMD_NONE);

    CHECK(shell_payload_is_text(data, size) == ref_is_text(data, size));

    /* Completion of the input's start as a prefix. */
    size_t plen = size < 8 ? size : 8;
    unsigned it = 0, found = 0;
    for (const char *n; (n = shell_command_complete(line, plen, &it));) {
        CHECK(strlen(n) >= plen && memcmp(n, line, plen) == 0);
        CHECK(shell_command_find(n) != NULL);
        CHECK(++found <= 2 * 13);
    }
    return 0;
}

/* ---- seeded inputs: lines built from the language's own words --------------- */

static const char *const commands[] = {"help", "quit", "exit", "create", "tell", "ask",
                                       "addrs", "book", "name", "status", "caps", "members",
                                       "load", "unload", "images", "frob", "cre", ""};
static const char *const words[] = {
    "$1", "$2", "$0", "$", "$99999999", "e", "echo_1", "1x", "0.0.1.1", "3.1.42.7",
    "65536.0.0.1", "1.2.3", "thespis.Echo", "app.Ping", "as", "\"as\"", "--image",
    "00112233445566778899aabbccddeeff", "0011", "--global", "g", "--timeout", "0.5", "0",
    "86400", "86401", "1e3", "--json", "--jsn", "set", "unset", "gpu=true", "k=", "=1",
    "a=x,y", "zone", "/tmp/x.so", "\"hello world\"", "'single q'", "a\"b c\"d", "\\x41\\x00",
    "\\n\\t\\r\\0", "\\q", "\\x4", "\"open", "'open", "#comment", "\\#x", "\"\"", "\\ ",
    "caps", "ask",
};

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

size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void))
{
    struct out o = {buf, cap, 0};
    if (rng() % 8 == 0)
        put(&o, rng() % 2 ? "  " : "\t");
    put(&o, commands[rng() % (sizeof(commands) / sizeof(commands[0]))]);
    unsigned n = (unsigned)(rng() % 7);
    for (unsigned i = 0; i < n; i++) {
        put(&o, rng() % 10 ? " " : "\t ");
        put(&o, words[rng() % (sizeof(words) / sizeof(words[0]))]);
    }
    switch (rng() % 6) {
    case 0: put(&o, "\n"); break;
    case 1: put(&o, "\r\n"); break;
    default: break;
    }
    return o.len;
}
