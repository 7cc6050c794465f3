/* SPDX-License-Identifier: MIT */
/*
 * cli.h — what the parts of the `thespis` command share: the subcommand
 * table entry, the parsed arguments, option parsing and error reporting,
 * and status printing.
 *
 * Exit statuses (every subcommand): 0 done, 1 the engine failed (the reason
 * is printed), 2 a usage error (one line naming it, then a hint).
 */
#ifndef TS_TOOLS_CLI_H
#define TS_TOOLS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <thespis/node.h>
#include <thespis/thespis.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

#define CLI_MAX_IMAGES 32
#define CLI_DEFAULT_NAME "default"
#define CLI_DEFAULT_TIMEOUT_S 30

/* Option ids: the val of each struct option (long options only, but -h). */
enum cli_opt {
    CLI_OPT_HELP = 'h',
    CLI_OPT_NAME = 256,
    CLI_OPT_BASE,
    CLI_OPT_CORES,
    CLI_OPT_SHARDS,
    CLI_OPT_IDLE,
    CLI_OPT_IMAGE,
    CLI_OPT_CAP,
    CLI_OPT_LOG_LEVEL,
    CLI_OPT_LOG_FILE,
    CLI_OPT_JSON,
    CLI_OPT_TIMEOUT,
    CLI_OPT_NODE_ID,
    CLI_OPT_LISTEN,
    CLI_OPT_PEER,
    CLI_OPT_TRANSPORT,
    CLI_OPT_DPDK_VDEV,
    CLI_OPT_DPDK_ARGS,
    CLI_OPT_DPDK_MBUFS,
    CLI_OPT_CONVENTION,
    CLI_OPT_CONVENTION_LEADER,
    CLI_OPT_KEY_FILE,
    CLI_OPT_LOST_MS,
    CLI_OPT_SIGN,            /* keygen --sign */
    CLI_OPT_SIGN_KEY,        /* sign --key */
    CLI_OPT_OUT,             /* sign --out */
    CLI_OPT_AUTHORITY_KEY,   /* start --authority-key */
    CLI_OPT_ALLOW_UNSIGNED,  /* start --allow-unsigned */
};

/* --listen: at most one per transport (tcp, udp, dpdk). */
#define CLI_MAX_LISTEN 3

/* Everything any subcommand takes, filled from the defaults and then from
 * the command line. Strings point into argv or into this struct. */
struct cli_args {
    ts_config cfg;        /* node_name, base, cores, shards, idle, caps, log */
    const char *images[CLI_MAX_IMAGES];
    unsigned nimages;
    char caps[sizeof(((ts_node_status *)0)->caps)]; /* cfg.caps points here once set */
    char peers[2048];     /* "ID=URL,..." from every --peer; cfg.peers points here */
    char listen[512];     /* "URL,URL" from every --listen; cfg.listen points here */
    const char *listen_given[CLI_MAX_LISTEN]; /* each --listen as given */
    unsigned nlisten;
    const char *transport; /* --transport: the scheme of URLs given without one */
    const char *dpdk_opt;  /* the first --dpdk-* option given ("--dpdk-vdev"), or NULL */
    bool base_set;         /* --base was given (else a dpdk node is pinned) */
    bool json;
    uint64_t timeout_ns;
    char **pos;            /* the words that are not options (a command that takes them) */
    int npos;
    /* Signing (cli_sign.c): keygen --sign, sign --key and --out, and the
     * --authority-key files, "PATH,PATH", which cfg.authority_keys names. */
    bool sign;
    const char *sign_key;
    const char *out;
    char authority_keys[4096];
};

struct cli_cmd;
typedef int (*cli_run_fn)(const struct cli_cmd *cmd, const struct cli_args *a);

/* One subcommand: its name, its --help text, the options it takes (a
 * getopt_long table ending with a zero row) and what runs it. */
struct cli_cmd {
    const char *name;
    const char *usage;
    const struct option *options;
    cli_run_fn run;
    bool positional; /* takes words besides options (a->pos); else they are errors */
};

/* cli_sign.c: `thespis keygen --sign SECRET PUBLIC` (cmd is keygen's) and
 * `thespis sign`. */
int cli_keygen_sign(const struct cli_cmd *cmd, const struct cli_args *a);
extern const char cli_sign_usage[];
extern const struct option cli_sign_options[];
int cli_sign_run(const struct cli_cmd *cmd, const struct cli_args *a);

/* cli_image.c: `thespis load`, `unload`, `images`, and attaching to a
 * running named node, which must be running (0 with *out and, when
 * node_id is not NULL, its id; or an exit status, said). */
int cli_attach(const char *cmd, const char *name, ts_system **out, uint16_t *node_id);
extern const char cli_load_usage[], cli_unload_usage[], cli_images_usage[];
int cli_load_run(const struct cli_cmd *cmd, const struct cli_args *a);
int cli_unload_run(const struct cli_cmd *cmd, const struct cli_args *a);
int cli_images_run(const struct cli_cmd *cmd, const struct cli_args *a);

/* What cli_parse decided. */
enum cli_parsed {
    CLI_PARSED_RUN,   /* the arguments are good: run the subcommand */
    CLI_PARSED_HELP,  /* --help was printed to stdout: exit 0 */
    CLI_PARSED_ERROR, /* a usage error was printed to stderr: exit 2 */
};

/* Parses and checks argv (argv[0] is the subcommand's name) against cmd's
 * options into *a (which it first fills with the defaults). */
enum cli_parsed cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
                          struct cli_args *a);

/* Prints "thespis: <cmd>: <what>" and the --help hint to stderr. Returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "thespis: <cmd>: <what>" to stderr. Returns CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The CPUs of a node's shards, "0,1,4", into buf (truncated to fit). */
void cli_format_cores(const ts_node_status *st, char *buf, size_t len);

/* A node's status as a header line and a table of shards, then its links
 * and its device when it has them. */
void cli_print_status_text(FILE *out, const ts_node_status *st);

/* A node's status as one JSON object on one line ("device" is null for a
 * node without one). */
void cli_print_status_json(FILE *out, const ts_node_status *st);

/* A Status message (thespis/sysmsg.h: an actor's or a node's, the answer
 * to a StatusRequest) as `thespis status ADDR` prints it: text for people,
 * or with json its ts_status_json object on one line. 0, or -EBADMSG /
 * -ENOMEM (nothing printed). */
int cli_print_status_msg(FILE *out, const ts_msg *status, bool json);

#endif
