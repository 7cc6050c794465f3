/* SPDX-License-Identifier: MIT */
/*
 * cli_args.c — the options of the `thespis` subcommands: one parser for all
 * of them. Every value is checked here, so a subcommand only runs with good
 * arguments, and every problem is reported as one line naming it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define NS_PER_S UINT64_C(1000000000)
#define MAX_TIMEOUT_S 86400ul /* a day */
#define DPDK_MBUFS_MIN 1024ul   /* a shard's rx and tx rings filled once */
#define DPDK_MBUFS_MAX 1048576ul
#define CLI_MAX_AUTHORITY_KEYS 64 /* the keys one authority holds */

/* The transports a URL may name, as --transport takes them. */
static const char *const transports[] = {"tcp", "udp", "dpdk"};
#define NTRANSPORTS (sizeof(transports) / sizeof(transports[0]))
#define TRANSPORT_TCP 0

static void vreport(const char *cmd, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vreport(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "thespis: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void vusage_error(const char *cmd, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vusage_error(const char *cmd, const char *fmt, va_list ap)
{
    vreport(cmd, fmt, ap);
    fprintf(stderr, "try 'thespis %s --help'\n", cmd);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vusage_error(cmd, fmt, ap);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return CLI_EXIT_FAIL;
}

/* cli_usage_error for the checks below, which return 0 or -1. */
static int reject(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reject(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vusage_error(cmd, fmt, ap);
    va_end(ap);
    return -1;
}

/* Characters of node names and capability keys: [A-Za-z0-9_.-]. */
static bool all_name_chars(const char *s, size_t len)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789_.-";

    for (size_t i = 0; i < len; i++)
        if (!s[i] || !strchr(ok, s[i]))
            return false;
    return true;
}

/* Each check below returns 0, or reports the problem and returns -1. */

static int check_name(const char *cmd, const char *name)
{
    size_t len = strlen(name);

    if (len > TS_NODE_NAME_MAX)
        return reject(cmd, "node name too long (%zu characters, at most %d)", len,
                      TS_NODE_NAME_MAX);
    if (len == 0 || !all_name_chars(name, len))
        return reject(cmd, "bad node name '%s' (use A-Z a-z 0-9 _ . -)", name);
    return 0;
}

/* Only the bases that run a node that outlives the command. */
static int check_base(const char *cmd, const char *name, ts_base *out)
{
    if (ts_base_parse(name, out) != 0)
        return reject(cmd, "unknown base '%s' (pinned or multiproc)", name);
    if (*out != TS_BASE_PINNED && *out != TS_BASE_MULTIPROC)
        return reject(cmd, "base '%s' cannot run a node (pinned or multiproc)", name);
    return 0;
}

/* The syntax only; which CPUs exist is checked when the node starts. */
static int check_cores(const char *cmd, const char *list)
{
    if (!*list || strspn(list, "0123456789,-") != strlen(list))
        return reject(cmd, "bad core list '%s' (digits, ',' and '-', as in 0-3,6)", list);
    return 0;
}

/* A whole decimal number in [min, max]. */
static int parse_count(const char *cmd, const char *opt, const char *s, unsigned long min,
                       unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || *out < min || *out > max)
        return reject(cmd, "bad %s '%s' (a number from %lu to %lu)", opt, s, min, max);
    return 0;
}

/* KEY=VALUE, appended to a->caps ("K=V,K=V"), which cfg.caps then names. */
static int add_cap(const char *cmd, const char *kv, struct cli_args *a)
{
    const char *eq = strchr(kv, '=');
    size_t used = strlen(a->caps);
    int n;

    if (!eq)
        return reject(cmd, "bad --cap '%s' (KEY=VALUE)", kv);
    if (eq == kv || !all_name_chars(kv, (size_t)(eq - kv)))
        return reject(cmd, "bad --cap key in '%s' (use A-Z a-z 0-9 _ . -)", kv);
    if (strchr(eq, ','))
        return reject(cmd, "bad --cap value in '%s' (no ',')", kv);
    n = snprintf(a->caps + used, sizeof(a->caps) - used, "%s%s", used ? "," : "", kv);
    if (n < 0 || (size_t)n >= sizeof(a->caps) - used)
        return reject(cmd, "capabilities too long (at most %zu characters in all)",
                      sizeof(a->caps) - 1);
    a->cfg.caps = a->caps;
    return 0;
}

/* The transport named by "SCHEME://" at the start of url's first len
 * bytes: its index in transports; -1 when there is no scheme (HOST:PORT),
 * -2 when it is another one. */
static int url_transport(const char *url, size_t len)
{
    const char *sep = strstr(url, "://");

    if (!sep || (size_t)(sep - url) >= len)
        return -1;
    for (size_t i = 0; i < NTRANSPORTS; i++)
        if (strlen(transports[i]) == (size_t)(sep - url) &&
            strncmp(url, transports[i], (size_t)(sep - url)) == 0)
            return (int)i;
    return -2;
}

static int transport_index(const char *name)
{
    for (size_t i = 0; i < NTRANSPORTS; i++)
        if (strcmp(name, transports[i]) == 0)
            return (int)i;
    return -1;
}

static int set_transport(const char *cmd, const char *name, struct cli_args *a)
{
    if (transport_index(name) < 0)
        return reject(cmd, "unknown transport '%s' (tcp, udp or dpdk)", name);
    a->transport = name;
    return 0;
}

/* ID=[SCHEME://]HOST:PORT, appended to a->peers, which cfg.peers then
 * names; the node checks the address itself when it starts. */
static int add_peer(const char *cmd, const char *p, struct cli_args *a)
{
    const char *eq = strchr(p, '=');
    size_t used = strlen(a->peers);
    unsigned long id;
    char num[8];

    if (!eq || eq == p || (size_t)(eq - p) >= sizeof(num) || !eq[1] || strchr(p, ',') ||
        url_transport(eq + 1, strlen(eq + 1)) == -2)
        return reject(cmd, "bad --peer '%s' (ID=HOST:PORT, or with a scheme: ID=tcp://, "
                      "udp:// or dpdk://HOST:PORT)", p);
    memcpy(num, p, (size_t)(eq - p));
    num[eq - p] = '\0';
    if (parse_count(cmd, "--peer node id", num, 0, UINT16_MAX, &id))
        return -1;
    int n = snprintf(a->peers + used, sizeof(a->peers) - used, "%s%s", used ? "," : "", p);
    if (n < 0 || (size_t)n >= sizeof(a->peers) - used)
        return reject(cmd, "peers too long (at most %zu characters in all)", sizeof(a->peers) - 1);
    a->cfg.peers = a->peers;
    return 0;
}

/* Kept as given: its scheme may come from a --transport after it. */
static int add_listen(const char *cmd, const char *url, struct cli_args *a)
{
    int k = url_transport(url, strlen(url));
    const char *hostport = k < 0 ? url : strstr(url, "://") + 3;

    if (k == -2 || !strchr(hostport, ':'))
        return reject(cmd, "bad --listen '%s' (tcp://HOST:PORT, udp://HOST:PORT, "
                      "dpdk://ADDR:PORT, or HOST:PORT on --transport)", url);
    if (strchr(url, ','))
        return reject(cmd, "bad --listen '%s' (one URL each)", url);
    if (a->nlisten == CLI_MAX_LISTEN)
        return reject(cmd, "too many --listen (one per transport: tcp, udp, dpdk)");
    a->listen_given[a->nlisten++] = url;
    return 0;
}

static int add_image(const char *cmd, const char *path, struct cli_args *a)
{
    if (!*path)
        return reject(cmd, "empty --image path");
    if (a->nimages == CLI_MAX_IMAGES)
        return reject(cmd, "too many --image (at most %d)", CLI_MAX_IMAGES);
    a->images[a->nimages++] = path;
    return 0;
}

static int set_log_file(const char *cmd, const char *path, struct cli_args *a)
{
    if (!*path)
        return reject(cmd, "empty --log-file path");
    a->cfg.log.sink = TS_LOG_SINK_FILE;
    a->cfg.log.path = path;
    return 0;
}

/* --dpdk-vdev, --dpdk-args, --dpdk-mbufs: the ts_config fields, checked
 * against the listen endpoints once every option is in (check_dpdk). */
static int set_dpdk(const char *cmd, int id, const char *v, struct cli_args *a)
{
    unsigned long n;

    switch (id) {
    case CLI_OPT_DPDK_VDEV:
        if (!*v)
            return reject(cmd, "empty --dpdk-vdev (DPDK devargs, e.g. "
                          "net_af_packet0,iface=eth1)");
        a->cfg.dpdk_vdev = v;
        break;
    case CLI_OPT_DPDK_ARGS:
        if (!*v)
            return reject(cmd, "empty --dpdk-args (leave it out for the defaults)");
        a->cfg.dpdk_args = v;
        break;
    default:
        if (parse_count(cmd, "--dpdk-mbufs", v, DPDK_MBUFS_MIN, DPDK_MBUFS_MAX, &n))
            return -1;
        a->cfg.dpdk_mbufs = (unsigned)n;
        break;
    }
    if (!a->dpdk_opt)
        a->dpdk_opt = id == CLI_OPT_DPDK_VDEV   ? "--dpdk-vdev"
                      : id == CLI_OPT_DPDK_ARGS ? "--dpdk-args"
                                                : "--dpdk-mbufs";
    return 0;
}

/* A public key file, appended to a->authority_keys ("PATH,PATH"), which
 * cfg.authority_keys then names; the node reads them when it starts. */
static int add_authority_key(const char *cmd, const char *path, struct cli_args *a)
{
    size_t used = strlen(a->authority_keys), nkeys = used ? 1 : 0;

    if (!*path)
        return reject(cmd, "empty --authority-key path");
    if (strchr(path, ','))
        return reject(cmd, "bad --authority-key '%s' (one file each, without ','; repeat "
                      "the option)", path);
    for (const char *p = a->authority_keys; *p; p++)
        nkeys += *p == ',';
    if (nkeys == CLI_MAX_AUTHORITY_KEYS)
        return reject(cmd, "too many --authority-key (at most %d)", CLI_MAX_AUTHORITY_KEYS);
    int n = snprintf(a->authority_keys + used, sizeof(a->authority_keys) - used, "%s%s",
                     used ? "," : "", path);
    if (n < 0 || (size_t)n >= sizeof(a->authority_keys) - used)
        return reject(cmd, "--authority-key paths too long (at most %zu characters in all)",
                      sizeof(a->authority_keys) - 1);
    a->cfg.authority_keys = a->authority_keys;
    return 0;
}

/* Applies one option and its value (NULL for a flag). */
static int apply(const char *cmd, int id, const char *v, struct cli_args *a)
{
    unsigned long n;

    switch (id) {
    case CLI_OPT_NAME:
        a->cfg.node_name = v;
        return check_name(cmd, v);
    case CLI_OPT_BASE:
        a->base_set = true;
        return check_base(cmd, v, &a->cfg.base);
    case CLI_OPT_CORES:
        a->cfg.cores = v;
        return check_cores(cmd, v);
    case CLI_OPT_SHARDS:
        if (parse_count(cmd, "--shards", v, 1, TS_NODE_MAX_SHARDS, &n))
            return -1;
        a->cfg.shards = (unsigned)n;
        return 0;
    case CLI_OPT_IDLE:
        if (ts_idle_parse(v, &a->cfg.idle) != 0)
            return reject(cmd, "unknown idle policy '%s' (adaptive, busy, sleep)", v);
        return 0;
    case CLI_OPT_IMAGE:
        return add_image(cmd, v, a);
    case CLI_OPT_CAP:
        return add_cap(cmd, v, a);
    case CLI_OPT_LOG_LEVEL:
        if (ts_log_level_parse(v, &a->cfg.log.level) != 0)
            return reject(cmd, "unknown log level '%s' (debug, info, warning, error, off)", v);
        return 0;
    case CLI_OPT_LOG_FILE:
        return set_log_file(cmd, v, a);
    case CLI_OPT_JSON:
        a->json = true;
        return 0;
    case CLI_OPT_NODE_ID:
        if (parse_count(cmd, "--node-id", v, 0, UINT16_MAX, &n))
            return -1;
        a->cfg.node_id = (uint16_t)n;
        return 0;
    case CLI_OPT_LISTEN:
        return add_listen(cmd, v, a);
    case CLI_OPT_PEER:
        return add_peer(cmd, v, a);
    case CLI_OPT_TRANSPORT:
        return set_transport(cmd, v, a);
    case CLI_OPT_DPDK_VDEV:
    case CLI_OPT_DPDK_ARGS:
    case CLI_OPT_DPDK_MBUFS:
        return set_dpdk(cmd, id, v, a);
    case CLI_OPT_CONVENTION:
        if (!*v || !strchr(v, ':'))
            return reject(cmd, "bad --convention '%s' (the leader's HOST:PORT)", v);
        a->cfg.convention = v;
        return 0;
    case CLI_OPT_CONVENTION_LEADER:
        a->cfg.convention_leader = true;
        return 0;
    case CLI_OPT_KEY_FILE:
        if (!*v)
            return reject(cmd, "empty --key-file path");
        a->cfg.key_file = v;
        return 0;
    case CLI_OPT_LOST_MS:
        if (parse_count(cmd, "--lost-ms", v, 10, 600000, &n))
            return -1;
        a->cfg.convention_lost_ms = (unsigned)n;
        return 0;
    case CLI_OPT_SIGN:
        a->sign = true;
        return 0;
    case CLI_OPT_SIGN_KEY:
        if (!*v)
            return reject(cmd, "empty --key path");
        a->sign_key = v;
        return 0;
    case CLI_OPT_OUT:
        if (!*v)
            return reject(cmd, "empty --out path");
        a->out = v;
        return 0;
    case CLI_OPT_AUTHORITY_KEY:
        return add_authority_key(cmd, v, a);
    case CLI_OPT_ALLOW_UNSIGNED:
        a->cfg.allow_unsigned_images = true;
        return 0;
    case CLI_OPT_TIMEOUT:
        if (parse_count(cmd, "--timeout", v, 1, MAX_TIMEOUT_S, &n))
            return -1;
        a->timeout_ns = (uint64_t)n * NS_PER_S;
        return 0;
    default: /* an option table names an id this switch does not know */
        return reject(cmd, "internal error: option %d not handled", id);
    }
}

/* a->listen from each --listen, a HOST:PORT given --transport's scheme
 * (tcp without one): at most one per transport. */
static int build_listen(const char *cmd, struct cli_args *a)
{
    int dflt = a->transport ? transport_index(a->transport) : TRANSPORT_TCP;
    bool seen[NTRANSPORTS] = {false};
    size_t used = 0;

    for (unsigned i = 0; i < a->nlisten; i++) {
        const char *url = a->listen_given[i];
        int k = url_transport(url, strlen(url));
        const char *scheme = k < 0 ? transports[dflt] : NULL;
        k = k < 0 ? dflt : k;
        if (seen[k])
            return reject(cmd, "two --listen for %s (one per transport)", transports[k]);
        seen[k] = true;
        int n = snprintf(a->listen + used, sizeof(a->listen) - used, "%s%s%s%s",
                         used ? "," : "", scheme ? scheme : "", scheme ? "://" : "", url);
        if (n < 0 || (size_t)n >= sizeof(a->listen) - used)
            return reject(cmd, "--listen too long (at most %zu characters in all)",
                          sizeof(a->listen) - 1);
        used += (size_t)n;
    }
    if (a->nlisten)
        a->cfg.listen = a->listen;
    return 0;
}

/* With --transport, its scheme before every --peer URL given without one
 * (without it, the node picks: its one listen transport, else tcp). */
static int prefix_peers(const char *cmd, struct cli_args *a)
{
    char out[sizeof(a->peers)];
    size_t used = 0;

    if (!a->transport || !a->cfg.peers)
        return 0;
    for (const char *p = a->peers; *p;) {
        size_t len = strcspn(p, ","), id = strcspn(p, "=") + 1; /* add_peer checked both */
        bool bare = url_transport(p + id, len - id) == -1;
        int n = snprintf(out + used, sizeof(out) - used, "%s%.*s%s%s%.*s", used ? "," : "",
                         (int)id, p, bare ? a->transport : "", bare ? "://" : "",
                         (int)(len - id), p + id);
        if (n < 0 || (size_t)n >= sizeof(out) - used)
            return reject(cmd, "peers too long (at most %zu characters in all)",
                          sizeof(a->peers) - 1);
        used += (size_t)n;
        p += len + (p[len] == ',');
    }
    memcpy(a->peers, out, used + 1);
    return 0;
}

/* A dpdk listen needs its device and runs on the pinned base (DPDK is set
 * up once per process, and a multiproc node's shards are processes); the
 * --dpdk-* options and dpdk peers need a dpdk listen. */
static int check_dpdk(const char *cmd, struct cli_args *a)
{
    bool listen = a->cfg.listen && strstr(a->listen, "dpdk://");

    if (!listen && a->dpdk_opt)
        return reject(cmd, "%s needs a dpdk listen (--listen dpdk://ADDR:PORT, or "
                      "--transport dpdk --listen ADDR:PORT)", a->dpdk_opt);
    if (!listen && a->cfg.peers && strstr(a->peers, "=dpdk://"))
        return reject(cmd, "a dpdk --peer needs a dpdk listen: the node's own address on "
                      "its device (--listen dpdk://ADDR:PORT)");
    if (!listen)
        return 0;
    if (!a->cfg.dpdk_vdev)
        return reject(cmd, "a dpdk listen needs --dpdk-vdev DEVARGS (its device, e.g. "
                      "net_af_packet0,iface=eth1)");
    if (a->base_set && a->cfg.base != TS_BASE_PINNED)
        return reject(cmd, "base '%s' cannot run the dpdk transport: its shards are "
                      "processes (use --base pinned, the default for a dpdk node)",
                      ts_base_name(a->cfg.base));
    a->cfg.base = TS_BASE_PINNED;
    return 0;
}

static void set_defaults(struct cli_args *a)
{
    memset(a, 0, sizeof(*a));
    ts_config_init(&a->cfg);
    a->cfg.base = TS_BASE_MULTIPROC;
    a->cfg.node_name = CLI_DEFAULT_NAME;
    a->timeout_ns = (uint64_t)CLI_DEFAULT_TIMEOUT_S * NS_PER_S;
}

/* getopt_long's '?' (unknown option, or a value given to a flag) and ':'
 * (a value missing): the offending word is the last one it read. */
static void bad_option(const char *cmd, int rc, char **argv)
{
    const char *word = argv[optind - 1];
    const char *eq = strchr(word, '=');
    bool is_long = strncmp(word, "--", 2) == 0;

    if (rc == ':')
        cli_usage_error(cmd, "option '%s' needs a value", word);
    else if (is_long && optopt && eq)
        cli_usage_error(cmd, "option '%.*s' takes no value", (int)(eq - word), word);
    else if (!is_long && optopt)
        cli_usage_error(cmd, "unknown option '-%c'", optopt);
    else
        cli_usage_error(cmd, "unknown option '%s'", word);
}

/* --convention-leader, --key-file and --lost-ms go with --convention, which
 * needs --key-file. */
static int check_convention(const char *cmd, const struct cli_args *a)
{
    const ts_config *c = &a->cfg;
    if (!c->convention && (c->convention_leader || c->key_file || c->convention_lost_ms))
        return reject(cmd, "%s needs --convention HOST:PORT (the leader's address)",
                      c->convention_leader ? "--convention-leader"
                      : c->key_file        ? "--key-file"
                                           : "--lost-ms");
    if (c->convention && !c->key_file)
        return reject(cmd, "--convention needs --key-file PATH, the convention's shared key "
                      "(`thespis keygen PATH` makes one)");
    return 0;
}

/* With an authority, it decides about every image: --allow-unsigned would
 * not let an unsigned one in. */
static int check_authority(const char *cmd, const struct cli_args *a)
{
    if (a->cfg.authority_keys && a->cfg.allow_unsigned_images)
        return reject(cmd, "--allow-unsigned and --authority-key do not go together (the "
                      "authority refuses unsigned images)");
    return 0;
}

enum cli_parsed cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
                          struct cli_args *a)
{
    int rc;

    set_defaults(a);
    opterr = 0; /* every message comes from here, in one format */
    optind = 1;
    while ((rc = getopt_long(argc, argv, ":h", cmd->options, NULL)) != -1) {
        if (rc == CLI_OPT_HELP) {
            fputs(cmd->usage, stdout);
            return CLI_PARSED_HELP;
        }
        if (rc == '?' || rc == ':') {
            bad_option(cmd->name, rc, argv);
            return CLI_PARSED_ERROR;
        }
        if (apply(cmd->name, rc, optarg, a) != 0)
            return CLI_PARSED_ERROR;
    }
    if (optind < argc && !cmd->positional) {
        cli_usage_error(cmd->name, "unexpected argument '%s'", argv[optind]);
        return CLI_PARSED_ERROR;
    }
    a->pos = argv + optind;
    a->npos = argc - optind;
    /* What depends on several options, whatever their order. */
    if (build_listen(cmd->name, a) || prefix_peers(cmd->name, a) || check_dpdk(cmd->name, a) ||
        check_convention(cmd->name, a) || check_authority(cmd->name, a))
        return CLI_PARSED_ERROR;
    return CLI_PARSED_RUN;
}
