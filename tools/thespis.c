/* SPDX-License-Identifier: MIT */
/*
 * thespis.c — the `thespis` command: starts a named node that keeps running
 * after the command exits, shows its status and stops it. Uses the public
 * API only (thespis/thespis.h and thespis/node.h).
 *
 * Exit statuses: 0 done, 1 the engine failed (the reason is printed),
 * 2 a usage error.
 */
#include <errno.h>
#include <string.h>

#include <thespis/sysmsg.h>

#include "cli.h"
#include "shell.h" /* shell.c: `thespis shell` */

#define OPT_NAME {"name", required_argument, NULL, CLI_OPT_NAME}
#define OPT_HELP {"help", no_argument, NULL, CLI_OPT_HELP}
#define OPT_END {NULL, 0, NULL, 0}

/* ------------------------------------------------------------------------ */
/* start                                                                     */
/* ------------------------------------------------------------------------ */

static const char start_usage[] =
    "usage: thespis start [OPTION]...\n"
    "Starts a node that keeps running in the background after this command exits.\n"
    "\n"
    "  --name N           the node's name, A-Z a-z 0-9 _ . - (default 'default')\n"
    "  --base BASE        pinned or multiproc (default multiproc; pinned for a node\n"
    "                     that listens on dpdk, the only base that runs it)\n"
    "  --cores LIST       the shards' CPUs, one shard each: 0-3, 2,4,6 (default: the\n"
    "                     first --shards CPUs this process may use)\n"
    "  --shards N         how many shards, 1 to 64, when --cores is not given\n"
    "  --idle POLICY      what an idle shard does: adaptive (default), busy, sleep\n"
    "  --image PATH       load a code image (a shared object exporting\n"
    "                     thespis_image_init) before starting; may be repeated\n"
    "  --cap KEY=VALUE    a capability of the node, shown in its status; may be\n"
    "                     repeated\n"
    "  --log-level LEVEL  debug, info, warning (default), error, off\n"
    "  --log-file PATH    append the node's log to PATH (default: stderr)\n"
    "  --node-id N        this node's id in addresses, 0 to 65535 (default 0)\n"
    "  --listen URL       where other nodes reach it: tcp://HOST:PORT,\n"
    "                     udp://HOST:PORT or dpdk://ADDR:PORT (HOST: a name, IPv4,\n"
    "                     or [IPv6]; ADDR: the node's own IPv4 address on its DPDK\n"
    "                     device, shard k on PORT + k), or HOST:PORT on the\n"
    "                     --transport; once per transport (a node may listen on\n"
    "                     several)\n"
    "  --peer ID=URL      another node it can send to, as ID=tcp://HOST:PORT,\n"
    "                     ID=udp://HOST:PORT or ID=dpdk://ADDR:PORT; may be\n"
    "                     repeated. A URL without a scheme uses --transport if\n"
    "                     given, else the one transport the node listens on,\n"
    "                     else tcp\n"
    "  --transport NAME   tcp, udp or dpdk: the transport of a --listen or --peer\n"
    "                     given without a scheme (default: tcp for --listen)\n"
    "  --dpdk-vdev DEVARGS  the DPDK device of a dpdk node, as DPDK devargs, e.g.\n"
    "                     net_af_packet0,iface=eth1; needed with a dpdk --listen\n"
    "  --dpdk-args ARGS   the DPDK EAL's arguments, quoted as one (default:\n"
    "                     '--no-huge --no-pci --no-shconf -m 512')\n"
    "  --dpdk-mbufs N     packet buffers per shard, 1024 to 1048576 (default 4095)\n"
    "  --convention HOST:PORT  join the convention whose leader is there (it\n"
    "                     joins again by itself when the leader comes back); the\n"
    "                     other members reach it at its --listen addresses\n"
    "  --convention-leader  be that leader: listen at the --convention address\n"
    "  --key-file PATH    the convention's shared key (`thespis keygen PATH`);\n"
    "                     needed with --convention\n"
    "  --lost-ms N        a member or leader silent this long is lost, 10 to\n"
    "                     600000 (default 500)\n"
    "  --authority-key PUBFILE  a public signing key (`thespis keygen --sign`):\n"
    "                     the node loads an image only when one of these keys\n"
    "                     verifies its signature (IMAGE.sig, `thespis sign`); may be\n"
    "                     repeated\n"
    "  --allow-unsigned   without --authority-key, load any image (else none)\n"
    "  -h, --help         print this help\n"
    "\n"
    "A node on DPDK, its port on eth1 at 10.0.0.1 (one like it at 10.0.0.2):\n"
    "  thespis start --name n1 --node-id 1 --transport dpdk \\\n"
    "      --dpdk-vdev net_af_packet0,iface=eth1 --listen 10.0.0.1:7000 \\\n"
    "      --peer 2=10.0.0.2:7000\n"
    "\n"
    "A convention: a leader and a member that needs a GPU's actors placed on it:\n"
    "  thespis keygen conv.key\n"
    "  thespis start --name lead --node-id 1 --listen tcp://192.0.2.1:7001 \\\n"
    "      --convention 192.0.2.1:7000 --convention-leader --key-file conv.key\n"
    "  thespis start --name gpu --node-id 2 --listen tcp://192.0.2.2:7001 \\\n"
    "      --cap gpu=true --convention 192.0.2.1:7000 --key-file conv.key\n"
    "\n"
    "Exit status: 0 started, 1 failed (or already running), 2 bad arguments.\n";

static const struct option start_options[] = {
    OPT_NAME,
    {"base", required_argument, NULL, CLI_OPT_BASE},
    {"cores", required_argument, NULL, CLI_OPT_CORES},
    {"shards", required_argument, NULL, CLI_OPT_SHARDS},
    {"idle", required_argument, NULL, CLI_OPT_IDLE},
    {"image", required_argument, NULL, CLI_OPT_IMAGE},
    {"cap", required_argument, NULL, CLI_OPT_CAP},
    {"log-level", required_argument, NULL, CLI_OPT_LOG_LEVEL},
    {"log-file", required_argument, NULL, CLI_OPT_LOG_FILE},
    {"node-id", required_argument, NULL, CLI_OPT_NODE_ID},
    {"listen", required_argument, NULL, CLI_OPT_LISTEN},
    {"peer", required_argument, NULL, CLI_OPT_PEER},
    {"transport", required_argument, NULL, CLI_OPT_TRANSPORT},
    {"dpdk-vdev", required_argument, NULL, CLI_OPT_DPDK_VDEV},
    {"dpdk-args", required_argument, NULL, CLI_OPT_DPDK_ARGS},
    {"dpdk-mbufs", required_argument, NULL, CLI_OPT_DPDK_MBUFS},
    {"convention", required_argument, NULL, CLI_OPT_CONVENTION},
    {"convention-leader", no_argument, NULL, CLI_OPT_CONVENTION_LEADER},
    {"key-file", required_argument, NULL, CLI_OPT_KEY_FILE},
    {"lost-ms", required_argument, NULL, CLI_OPT_LOST_MS},
    {"authority-key", required_argument, NULL, CLI_OPT_AUTHORITY_KEY},
    {"allow-unsigned", no_argument, NULL, CLI_OPT_ALLOW_UNSIGNED},
    OPT_HELP,
    OPT_END,
};

/* A node of that name must not be running: ts_system_open would attach to
 * it rather than start one. A stale node is fine (the start cleans up).
 * Returns 0 or an exit status. */
static int start_check_not_running(const char *cmd, const char *name)
{
    ts_node_status st;
    int rc = ts_node_status_get(name, &st);

    if (rc == 0)
        return cli_fail(cmd, "node '%s' is already running (admin pid %d)", name, st.pid);
    if (rc == -EAGAIN)
        return cli_fail(cmd, "node '%s' is starting or stopping; try again", name);
    if (rc != -ENOENT && rc != -ESTALE)
        return cli_fail(cmd, "%s", ts_last_error());
    return 0;
}

static int start_load_images(const char *cmd, const struct cli_args *a)
{
    for (unsigned i = 0; i < a->nimages; i++)
        if (ts_image_load(a->images[i]) != 0)
            return cli_fail(cmd, "%s", ts_last_error());
    return 0;
}

/* How to reach the node that was just started. */
static void start_print(const char *name)
{
    ts_node_status st;
    char cores[256];

    if (ts_node_status_get(name, &st) != 0) {
        printf("node '%s' started (its status is not readable yet: %s)\n", name,
               ts_last_error());
        return;
    }
    cli_format_cores(&st, cores, sizeof(cores));
    printf("node '%s' started: base %s, admin pid %d, %u shard%s on cores %s\n", name,
           st.base, st.pid, st.nshards, st.nshards == 1 ? "" : "s", cores);
    printf("  attach:  ts_config.node_name = \"%s\" (base %s)\n", name, st.base);
    printf("  status:  thespis status --name %s\n", name);
    printf("  stop:    thespis stop --name %s\n", name);
}

static int cmd_start(const struct cli_cmd *cmd, const struct cli_args *a)
{
    const char *name = a->cfg.node_name;
    ts_system *sys;
    int rc;

    rc = start_check_not_running(cmd->name, name);
    if (rc == 0)
        rc = start_load_images(cmd->name, a);
    if (rc)
        return rc;
    if (ts_system_open(&a->cfg, &sys) != 0)
        return cli_fail(cmd->name, "%s", ts_last_error());
    start_print(name);
    ts_system_close(sys); /* a named node only detaches: it keeps running */
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* status                                                                    */
/* ------------------------------------------------------------------------ */

static const char status_usage[] =
    "usage: thespis status [--name N] [--json]\n"
    "       thespis status [--name N] [--json] [--timeout SECONDS] ADDR\n"
    "Prints the status of a running node: its admin process, actors, dead\n"
    "letters, clients and capabilities, then one line per shard (core, pid,\n"
    "actors, restarts, messages in and out) and, for a node with links to\n"
    "other nodes, its transport and one line per shard and peer (up, frames\n"
    "and bytes in and out, resent, reconnects, malformed, queued bytes); for a\n"
    "node on dpdk, then its device: packets and bytes in and out, the device's\n"
    "drops and errors, and the transport's counts (ARP, frames not for it or\n"
    "malformed, steered to another shard, dropped). The figures are the\n"
    "shards' own, published every few hundred turns of their loops (the\n"
    "device's at most every 10 ms).\n"
    "\n"
    "With ADDR (an actor's address as thespis prints it, node.shard.slot.gen),\n"
    "attaches to the node and asks that actor for its status (a StatusRequest,\n"
    "which the engine answers, whatever the actor is doing): its type, state,\n"
    "parent, global name, code image, messages waiting for it, handled and\n"
    "restarts, timers and children. The actor may live on the node or on any\n"
    "node it has a link to. The node's own address, NODE.0.16777215.0, gives\n"
    "the node's status as its shards see it.\n"
    "\n"
    "  --name N           the node's name (default 'default')\n"
    "  --json             one JSON object on one line instead of text (with\n"
    "                     ADDR: the schema of docs/protocol.md#status-as-json)\n"
    "  --timeout SECONDS  with ADDR: how long to wait for the answer, 1 to 86400\n"
    "                     (default 30)\n"
    "  -h, --help         print this help\n"
    "\n"
    "  thespis status --name n1 0.0.5.1 --json\n"
    "\n"
    "Exit status: 0 printed, 1 no such node (or it is stale; with ADDR: no\n"
    "answer in time: nothing lives there), 2 bad arguments.\n";

static const struct option status_options[] = {
    OPT_NAME,
    {"json", no_argument, NULL, CLI_OPT_JSON},
    {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},
    OPT_HELP,
    OPT_END,
};

/* A Poison's reason text, or "" when it does not decode. */
static const char *poison_text(const ts_msg *m)
{
    ts_poison p;
    return ts_poison_decode(m, &p) == 0 ? p.reason_text : "";
}

/* Says why a node's status cannot be read; returns an exit status. */
static int node_error(const char *cmd, const char *name, int rc)
{
    switch (rc) {
    case -ENOENT:
        return cli_fail(cmd, "no node named '%s'", name);
    case -ESTALE:
        return cli_fail(cmd, "node '%s' is stale: its admin process is gone "
                        "(the next 'thespis start --name %s' cleans up)", name, name);
    case -EAGAIN:
        return cli_fail(cmd, "node '%s' is starting or stopping; try again", name);
    default:
        return cli_fail(cmd, "%s", ts_last_error());
    }
}

/* `thespis status ADDR`: attaches to the node, asks ADDR for its Status
 * (a StatusRequest the engine answers) and prints it. */
static int status_of_addr(const struct cli_cmd *cmd, const struct cli_args *a, ts_addr addr)
{
    ts_system *sys;
    ts_msg *reply = NULL;
    int rc = cli_attach(cmd->name, a->cfg.node_name, &sys, NULL);

    if (rc)
        return rc;
    rc = ts_ask(sys, addr, TS_MSG_STATUS_REQUEST, NULL, 0, a->timeout_ns, &reply);
    if (rc == -ETIMEDOUT)
        rc = cli_fail(cmd->name, "no answer from %s within %llu s: nothing lives there (a "
                      "StatusRequest to an address that is gone is a dead letter)", a->pos[0],
                      (unsigned long long)(a->timeout_ns / 1000000000u));
    else if (rc)
        rc = cli_fail(cmd->name, "%s: %s", a->pos[0], ts_last_error());
    else if (reply->type == TS_MSG_POISON)
        rc = cli_fail(cmd->name, "%s: the actor's creation failed: %s", a->pos[0],
                      poison_text(reply));
    else if (reply->type != TS_MSG_STATUS || cli_print_status_msg(stdout, reply, a->json) != 0)
        rc = cli_fail(cmd->name, "%s answered with a message that is no Status", a->pos[0]);
    ts_msg_free(reply);
    ts_system_close(sys); /* a named node only detaches: it keeps running */
    return rc ? rc : CLI_EXIT_OK;
}

static int cmd_status(const struct cli_cmd *cmd, const struct cli_args *a)
{
    ts_node_status st;
    ts_addr addr = TS_ADDR_NONE;
    int rc;

    if (a->npos > 1)
        return cli_usage_error(cmd->name, "unexpected argument '%s': one ADDR only", a->pos[1]);
    if (a->npos == 1 && ts_addr_parse(a->pos[0], &addr) != 0)
        return cli_usage_error(cmd->name, "unexpected argument '%s': an ADDR is an address as "
                               "thespis prints them, node.shard.slot.gen", a->pos[0]);
    rc = ts_node_status_get(a->cfg.node_name, &st);
    if (rc)
        return node_error(cmd->name, a->cfg.node_name, rc);
    if (a->npos == 1)
        return status_of_addr(cmd, a, addr);
    if (a->json)
        cli_print_status_json(stdout, &st);
    else
        cli_print_status_text(stdout, &st);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* stop                                                                      */
/* ------------------------------------------------------------------------ */

static const char stop_usage[] =
    "usage: thespis stop [--name N] [--timeout SECONDS]\n"
    "Stops a running node: every actor is asked to exit, the shards stop and the\n"
    "node's shared memory is removed. A stale node's leftovers are removed.\n"
    "\n"
    "  --name N           the node's name (default 'default')\n"
    "  --timeout SECONDS  how long to wait for it to be gone, 1 to 86400 (default 30)\n"
    "  -h, --help         print this help\n"
    "\n"
    "Exit status: 0 stopped, 1 no such node (or it did not stop), 2 bad arguments.\n";

static const struct option stop_options[] = {
    OPT_NAME,
    {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},
    OPT_HELP,
    OPT_END,
};

static int cmd_stop(const struct cli_cmd *cmd, const struct cli_args *a)
{
    const char *name = a->cfg.node_name;
    int rc = ts_node_stop(name, a->timeout_ns);

    if (rc == -ETIMEDOUT)
        return cli_fail(cmd->name, "node '%s' did not stop within %llu s", name,
                        (unsigned long long)(a->timeout_ns / 1000000000u));
    if (rc)
        return node_error(cmd->name, name, rc);
    printf("node '%s' stopped\n", name);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* cap                                                                       */
/* ------------------------------------------------------------------------ */

static const char cap_usage[] =
    "usage: thespis cap [--name N] set KEY=VALUE...\n"
    "       thespis cap [--name N] unset KEY...\n"
    "Changes the capabilities of a running node. A value is a bool (true,\n"
    "false), an integer, or else a string (at most 63 characters, no ','); keys\n"
    "are 1 to 31 of A-Z a-z 0-9 _ . -. Placement reads the new capabilities at\n"
    "once, and every actor of the node whose requirements no longer hold is\n"
    "asked to exit (ExitRequest). Each change is made in turn: one the node\n"
    "refuses stops the rest.\n"
    "\n"
    "  --name N    the node's name (default 'default')\n"
    "  -h, --help  print this help\n"
    "\n"
    "  thespis cap --name n1 set gpu=false region=eu\n"
    "  thespis cap --name n1 unset region\n"
    "\n"
    "Exit status: 0 changed, 1 no such node (or it refused a change), 2 bad\n"
    "arguments.\n";

static const struct option cap_options[] = {
    OPT_NAME,
    OPT_HELP,
    OPT_END,
};

static int cmd_cap(const struct cli_cmd *cmd, const struct cli_args *a)
{
    const char *name = a->cfg.node_name;
    bool set = a->npos > 0 && strcmp(a->pos[0], "set") == 0;

    if (a->npos == 0)
        return cli_usage_error(cmd->name, "say set KEY=VALUE... or unset KEY...");
    if (!set && strcmp(a->pos[0], "unset") != 0)
        return cli_usage_error(cmd->name, "unknown action '%s' (set or unset)", a->pos[0]);
    if (a->npos == 1)
        return cli_usage_error(cmd->name, "%s needs at least one %s", a->pos[0],
                               set ? "KEY=VALUE" : "KEY");
    for (int i = 1; set && i < a->npos; i++)
        if (!strchr(a->pos[i], '=') || a->pos[i][0] == '=')
            return cli_usage_error(cmd->name, "bad capability '%s' (KEY=VALUE)", a->pos[i]);
    for (int i = 1; i < a->npos; i++) {
        char key[64];
        const char *value = NULL;
        const char *eq = set ? strchr(a->pos[i], '=') : NULL;
        snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - a->pos[i]) : (int)strlen(a->pos[i]),
                 a->pos[i]);
        if (eq)
            value = eq + 1;
        int rc = ts_node_set_capability(name, key, value);
        if (rc == -ENOENT || rc == -ESTALE || rc == -EAGAIN)
            return node_error(cmd->name, name, rc);
        if (rc)
            return cli_fail(cmd->name, "%s: %s", a->pos[i], ts_last_error());
    }
    ts_node_status st;
    if (ts_node_status_get(name, &st) == 0)
        printf("node '%s' capabilities: %s\n", name, st.caps[0] ? st.caps : "none");
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* keygen                                                                    */
/* ------------------------------------------------------------------------ */

static const char keygen_usage[] =
    "usage: thespis keygen FILE\n"
    "       thespis keygen --sign SECRET PUBLIC\n"
    "Writes a new random convention key to FILE: 64 hex characters, readable and\n"
    "writable by its owner only (mode 0600). Every node of a convention needs the\n"
    "same key; a node without it is refused when it joins. An existing FILE is\n"
    "never overwritten.\n"
    "\n"
    "With --sign, writes a new ed25519 key pair for signing code images instead:\n"
    "the secret key to SECRET (128 hex characters, mode 0600; `thespis sign --key\n"
    "SECRET IMAGE` signs with it) and the public key to PUBLIC (64 hex\n"
    "characters, mode 0644; `thespis start --authority-key PUBLIC` starts a node\n"
    "that loads the images it signed). Neither file is ever overwritten.\n"
    "\n"
    "  --sign      write a signing key pair to SECRET and PUBLIC\n"
    "  -h, --help  print this help\n"
    "\n"
    "Exit status: 0 written, 1 not written (it exists, or cannot be made), 2 bad\n"
    "arguments.\n";

static const struct option keygen_options[] = {
    {"sign", no_argument, NULL, CLI_OPT_SIGN},
    OPT_HELP,
    OPT_END,
};

static int cmd_keygen(const struct cli_cmd *cmd, const struct cli_args *a)
{
    if (a->sign)
        return cli_keygen_sign(cmd, a); /* cli_sign.c */
    if (a->npos != 1)
        return cli_usage_error(cmd->name, a->npos ? "one FILE only" : "say the FILE to write");
    if (!*a->pos[0])
        return cli_usage_error(cmd->name, "empty FILE");
    if (ts_convention_keygen(a->pos[0]) != 0)
        return cli_fail(cmd->name, "%s", ts_last_error());
    printf("wrote a convention key to %s\n", a->pos[0]);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static const struct option name_options[] = {
    OPT_NAME,
    OPT_HELP,
    OPT_END,
};

static const struct option images_options[] = {
    OPT_NAME,
    {"json", no_argument, NULL, CLI_OPT_JSON},
    OPT_HELP,
    OPT_END,
};

static const struct cli_cmd commands[] = {
    {"start", start_usage, start_options, cmd_start, false},
    {"status", status_usage, status_options, cmd_status, true},
    {"stop", stop_usage, stop_options, cmd_stop, false},
    {"cap", cap_usage, cap_options, cmd_cap, true},
    {"keygen", keygen_usage, keygen_options, cmd_keygen, true},
    {"sign", cli_sign_usage, cli_sign_options, cli_sign_run, true},
    {"shell", shell_usage, shell_options, cmd_shell, false},
    {"load", cli_load_usage, name_options, cli_load_run, true},
    {"unload", cli_unload_usage, name_options, cli_unload_run, true},
    {"images", cli_images_usage, images_options, cli_images_run, false},
};

static int usage(FILE *out)
{
    fputs("usage: thespis SUBCOMMAND [OPTION]...\n"
          "Runs thespis nodes: actor systems that outlive the program that starts them.\n"
          "\n"
          "Subcommands:\n"
          "  start   start a node in the background (with code images, capabilities)\n"
          "  status  print a running node's status, as text or JSON\n"
          "  stop    stop a running node\n"
          "  cap     change a running node's capabilities\n"
          "  keygen  write a new convention key (--sign: an image signing key pair)\n"
          "  sign    sign a code image\n"
          "  load    load signed code images into a running node\n"
          "  unload  unload code images from a running node\n"
          "  images  list a running node's code images\n"
          "  shell   drive a running node by hand: create, tell, ask, status, load\n"
          "\n"
          "'thespis SUBCOMMAND --help' describes its options.\n",
          out);
    return out == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    struct cli_args args;

    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(stdout);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const struct cli_cmd *cmd = &commands[i];
        if (strcmp(argv[1], cmd->name) != 0)
            continue;
        switch (cli_parse(cmd, argc - 1, argv + 1, &args)) {
        case CLI_PARSED_RUN:
            return cmd->run(cmd, &args);
        case CLI_PARSED_HELP:
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    fprintf(stderr, "thespis: unknown subcommand '%s'\n", argv[1]);
    return usage(stderr);
}
