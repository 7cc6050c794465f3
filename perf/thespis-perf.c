/* SPDX-License-Identifier: MIT */
/*
 * thespis-perf — the bundled benchmark: the harness (harness.c) with the
 * bundled scenarios, and a user's own given on the command line, for a
 * user of the installed engine (a program built in the source tree can
 * call perf_main itself: perf_own.h):
 *
 *   --own-image PATH                        a code image (thespis/image.h)
 *                                           whose init registers the types
 *   --own NAME=TYPE:MESSAGE[:HEX][:cross]   a scenario of one of them
 *
 * These are taken out of argv here; the harness reads the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <thespis/node.h>
#include <thespis/thespis.h>

#include "perf_own.h"

#define OWN_MAX 16

struct own_text {
    char name[64], type[128], message[128];
    unsigned char payload[PERF_OWN_PAYLOAD_MAX];
};

/* Reads NAME=TYPE:MESSAGE[:HEX][:cross] into w (its strings in t): 0, or
 * -1 said on stderr. */
static int own_parse(const char *spec, struct own_text *t, struct perf_own *w)
{
    char buf[512];
    if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
        return fprintf(stderr, "thespis-perf: --own: '%.40s...' is too long\n", spec), -1;
    char *eq = strchr(buf, '=');
    char *type = eq ? eq + 1 : NULL;
    char *msg = type ? strchr(type, ':') : NULL;
    if (!eq || eq == buf || !msg || msg == type || !msg[1])
        return fprintf(stderr, "thespis-perf: --own: '%s' is not NAME=TYPE:MESSAGE[:HEX][:cross]\n",
                       spec), -1;
    *eq = *msg++ = '\0';
    char *rest = strchr(msg, ':');
    if (rest)
        *rest++ = '\0';
    *w = (struct perf_own){.baseline = "pingpong.bare_queue"};
    while (rest) {
        char *next = strchr(rest, ':');
        if (next)
            *next++ = '\0';
        size_t got = 0;
        const char *end = NULL;
        if (strcmp(rest, "cross") == 0) {
            w->cross_shard = 1;
            w->baseline = "pingpong.bare_ring";
        } else if (w->len || sodium_hex2bin(t->payload, sizeof(t->payload), rest, strlen(rest),
                                            NULL, &got, &end) != 0 || *end || !got) {
            return fprintf(stderr, "thespis-perf: --own: '%s' in '%s' is neither hex bytes (at most "
                           "%u, once) nor 'cross'\n", rest, spec, PERF_OWN_PAYLOAD_MAX), -1;
        } else {
            w->len = got;
        }
        rest = next;
    }
    if (strlen(buf) >= sizeof(t->name) || strlen(type) >= sizeof(t->type) ||
        strlen(msg) >= sizeof(t->message))
        return fprintf(stderr, "thespis-perf: --own: '%s': a name of at most %zu characters, a "
                       "type and a message of at most %zu\n", spec, sizeof(t->name) - 1,
                       sizeof(t->type) - 1), -1;
    memcpy(t->name, buf, strlen(buf) + 1);
    memcpy(t->type, type, strlen(type) + 1);
    memcpy(t->message, msg, strlen(msg) + 1);
    w->name = t->name;
    w->actor_type = t->type;
    w->message = t->message;
    w->payload = w->len ? t->payload : NULL;
    return 0;
}

/* The value of option opt at argv[*i] ("--opt V" or "--opt=V"), or NULL. */
static const char *value_of(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Takes --own-image and --own out of argv into rest (nrest) and own
 * (nown): 0, or the exit status of bad usage, said. */
static int own_args(int argc, char **argv, char **rest, int *nrest, struct own_text *texts,
                    struct perf_own *own, size_t *nown)
{
    rest[(*nrest)++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--") == 0) {
            while (i < argc)
                rest[(*nrest)++] = argv[i++];
        } else if ((v = value_of(argc, argv, &i, "--own-image"))) {
            if (ts_image_load(v) < 0)
                return fprintf(stderr, "thespis-perf: --own-image: %s\n", ts_last_error()), 2;
        } else if ((v = value_of(argc, argv, &i, "--own"))) {
            if (*nown == OWN_MAX)
                return fprintf(stderr, "thespis-perf: at most %d --own scenarios\n", OWN_MAX), 2;
            if (own_parse(v, &texts[*nown], &own[*nown]) < 0)
                return 2;
            (*nown)++;
        } else if (strcmp(argv[i], "--own") == 0 || strcmp(argv[i], "--own-image") == 0) {
            return fprintf(stderr, "thespis-perf: %s needs a value (see --help)\n", argv[i]), 2;
        } else {
            rest[(*nrest)++] = argv[i];
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct own_text texts[OWN_MAX];
    static struct perf_own own[OWN_MAX];
    size_t nown = 0;
    int nrest = 0;
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!rest || sodium_init() < 0) {
        free(rest);
        return fprintf(stderr, "thespis-perf: out of memory\n"), 1;
    }
    int rc = own_args(argc, argv, rest, &nrest, texts, own, &nown);
    if (rc == 0)
        rc = perf_main(nrest, rest, nown ? own : NULL, nown);
    free(rest);
    return rc;
}
