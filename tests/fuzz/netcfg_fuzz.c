/* SPDX-License-Identifier: MIT */
/* netcfg_fuzz.c — fuzz target for the network configuration parser
 * (engine/net.h: net_config_parse). The input is up to three lines: this
 * node's id (decimal, taken modulo 65536), the listen string and the peers
 * string; a missing line, or one that is just "~", stands for NULL.
 *
 * Whatever the strings, the parser must either refuse them, with -EINVAL
 * (or -ENOMEM), a message that names the bad part and nothing left in the
 * configuration, or accept them with a table that says what they say: one
 * transport, the one every scheme names (tcp when none does); the listen
 * endpoint exactly when listen was given; one peer per entry, in order, with
 * the entry's id and port, none of them this node, no id twice.
 *
 * Host names are never looked up: getaddrinfo is wrapped (meson.build links
 * this target with -Wl,--wrap=getaddrinfo) to add AI_NUMERICHOST, so a name
 * fails at once as an unknown one would, and a run neither talks to nor
 * waits on a resolver. Numeric hosts go through the C library's own parsing. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/thespis.h>

#include "err.h"
#include "fuzz.h"
#include "net.h"

int __real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    struct addrinfo h = hints ? *hints : (struct addrinfo){.ai_family = AF_UNSPEC};
    h.ai_flags |= AI_NUMERICHOST;
    return __real_getaddrinfo(node, service, &h, res);
}

#define CHECK(cond)                   \
    do {                              \
        if (!(cond))                  \
            __builtin_trap();         \
    } while (0)

/* The next line of [*at, end) as a C string (NULL for "~" or past the end);
 * *at moves past it. The caller frees it. */
static char *next_line(const uint8_t **at, const uint8_t *end)
{
    if (*at >= end)
        return NULL;
    const uint8_t *nl = memchr(*at, '\n', (size_t)(end - *at));
    size_t n = (size_t)((nl ? nl : end) - *at);
    char *s = malloc(n + 1);
    CHECK(s);
    memcpy(s, *at, n);
    s[n] = '\0';
    *at = nl ? nl + 1 : end;
    if (strcmp(s, "~") == 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* The port number after an endpoint's last ':' (the parser has accepted it). */
static long port_of(const char *endpoint, size_t len)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (endpoint[i] == ':')
            colon = endpoint + i;
    CHECK(colon);
    return strtol(colon + 1, NULL, 10);
}

/* An address the table holds: IPv4 or IPv6, its length matching, and port. */
static void check_addr(const struct sockaddr_storage *ss, socklen_t len, long port)
{
    if (ss->ss_family == AF_INET) {
        CHECK(len == sizeof(struct sockaddr_in));
        CHECK(ntohs(((const struct sockaddr_in *)ss)->sin_port) == port);
    } else {
        CHECK(ss->ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6));
        CHECK(ntohs(((const struct sockaddr_in6 *)ss)->sin6_port) == port);
    }
}

/* [s, end) after its "SCHEME://", if it has one; *kind is its transport
 * (0 tcp, 1 udp) or -1 when it names none. */
static const char *past_scheme(const char *s, const char *end, int *kind)
{
    const char *sep = strstr(s, "://");
    *kind = -1;
    if (!sep || sep >= end)
        return s;
    for (unsigned k = 0; k < NET_KINDS; k++) {
        const char *name = net_kind_ops(k)->name;
        if ((size_t)(sep - s) == strlen(name) && memcmp(s, name, strlen(name)) == 0)
            *kind = (int)k;
    }
    CHECK(*kind >= 0); /* accepted: a known transport */
    return sep + 3;
}

/* An accepted peers entry [s, end) against the table's place i; a peer
 * naming no transport has the default one. */
static void check_peer(const struct net_config *c, unsigned i, const char *s, const char *end,
                       uint16_t self, int dflt)
{
    const struct transport_peer *p = &c->peers[i];
    const char *eq = memchr(s, '=', (size_t)(end - s));
    CHECK(eq);
    char *idend;
    long id = strtol(s, &idend, 10);
    CHECK(idend == eq && p->node == id);
    CHECK(*s >= '0' && *s <= '9'); /* an id is digits, nothing before */
    CHECK(p->node != self);
    CHECK(net_config_peer(c, p->node) == (int)i); /* no id twice */
    int kind;
    const char *at = past_scheme(eq + 1, end, &kind);
    CHECK(c->peer_kind[i] == (kind < 0 ? dflt : kind));
    check_addr(&p->addr, p->addrlen, port_of(at, (size_t)(end - at)));
}

static void check_accepted(const struct net_config *c, const char *listen, const char *peers,
                           uint16_t self)
{
    CHECK(c->listen_set == (listen != NULL));
    unsigned nlisten = 0;
    for (const char *s = listen; s && *s; nlisten++) {
        const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
        int kind;
        const char *at = past_scheme(s, end, &kind);
        CHECK(kind >= 0 && c->listen[kind].set); /* listen must name its transport */
        check_addr(&c->listen[kind].addr, c->listen[kind].len, port_of(at, (size_t)(end - at)));
        s = comma ? comma + 1 : end;
    }
    CHECK(nlisten == (unsigned)c->listen[0].set + c->listen[1].set); /* one per transport */
    int dflt = c->listen[1].set && !c->listen[0].set ? 1 : 0;
    unsigned n = 0;
    for (const char *s = peers; s && *s; n++) {
        const char *comma = strchr(s, ','), *end = comma ? comma : s + strlen(s);
        CHECK(n < c->npeers);
        check_peer(c, n, s, end, self, dflt);
        s = comma ? comma + 1 : end;
    }
    CHECK(n == c->npeers);
    CHECK((c->peers == NULL) == (c->npeers == 0));
    /* Each transport's table holds exactly its peers, in order. */
    for (unsigned k = 0; k < NET_KINDS && (c->listen_set || c->npeers); k++) {
        unsigned j = 0;
        for (unsigned i = 0; i < c->npeers; i++)
            if (c->peer_kind[i] == k)
                CHECK(j < c->kind_npeers[k] && c->kind_peers[k][j++].node == c->peers[i].node);
        CHECK(j == c->kind_npeers[k]);
    }
}

static void check_refused(int rc, const struct net_config *c)
{
    const char *e = ts_last_error();
    CHECK(rc == -EINVAL || rc == -ENOMEM);
    CHECK(strncmp(e, "listen: ", 8) == 0 || strncmp(e, "peers: ", 7) == 0 ||
          strcmp(e, "out of memory") == 0);
    CHECK(c->peers == NULL && c->npeers == 0 && !c->listen_set && c->peer_kind == NULL);
    for (unsigned k = 0; k < NET_KINDS; k++)
        CHECK(!c->listen[k].set && c->kind_peers[k] == NULL && c->kind_npeers[k] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *at = data, *end = data + size;
    char *self_s = next_line(&at, end);
    char *listen = next_line(&at, end);
    char *peers = next_line(&at, end);
    uint16_t self = self_s ? (uint16_t)strtoul(self_s, NULL, 10) : 0;
    struct net_config c;
    memset(&c, 0xa5, sizeof(c)); /* whatever was there before */
    err_set(0, "%s", "");
    int rc = net_config_parse(listen, peers, self, &c);
    if (rc == 0)
        check_accepted(&c, listen, peers, self);
    else
        check_refused(rc, &c);
    net_config_free(&c);
    free(self_s);
    free(listen);
    free(peers);
    return 0;
}

/* A node id, then a listen string and a list of peers that parse (or nearly:
 * an id may repeat or be this node's), numeric hosts, one transport. */
size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void))
{
    static const char *const hosts[] = {"127.0.0.1", "198.51.100.7", "[::1]", "[fe80::1]",
                                        "10.1.2.3", "0.0.0.0", "[::]", "1"};
    static const char *const schemes[] = {"tcp://", "udp://"};
    const char *scheme = schemes[rng() % 2];
    char text[1024];
    size_t len = (size_t)snprintf(text, sizeof(text), "%u\n", (unsigned)(rng() % 8));
    if (rng() % 4)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s:%u\n", scheme,
                                hosts[rng() % 8], (unsigned)(rng() % 65536));
    else
        len += (size_t)snprintf(text + len, sizeof(text) - len, "~\n");
    for (unsigned k = (unsigned)(rng() % 5); k; k--)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%u=%s%s:%u%s",
                                (unsigned)(rng() % 12), rng() % 2 ? scheme : "",
                                hosts[rng() % 8], (unsigned)(rng() % 65536), k > 1 ? "," : "");
    if (len > cap)
        len = cap;
    memcpy(buf, text, len);
    return len;
}
