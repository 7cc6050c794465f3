/* SPDX-License-Identifier: MIT */
/*
 * cli_image.c — `thespis load`, `unload` and `images`: code images of a
 * running node (thespis/image.h), through an attached program.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/image.h>

#include "cli.h"

int cli_attach(const char *cmd, const char *name, ts_system **out, uint16_t *node_id)
{
    ts_node_status *st = malloc(sizeof(*st));
    int rc = st ? ts_node_status_get(name, st) : -ENOMEM;
    ts_config cfg;

    ts_config_init(&cfg);
    cfg.node_name = name;
    if (rc == 0 && (ts_base_parse(st->base, &cfg.base) != 0 || cfg.base == TS_BASE_SIMPLE))
        cfg.base = TS_BASE_MULTIPROC;
    if (rc == 0 && node_id)
        *node_id = st->node_id;
    free(st);
    switch (rc) {
    case 0:
        break;
    case -ENOENT:
        return cli_fail(cmd, "no node named '%s' ('thespis start --name %s' starts one)", name,
                        name);
    case -ESTALE:
        return cli_fail(cmd, "node '%s' is stale: its admin process is gone (the next "
                        "'thespis start --name %s' cleans up)", name, name);
    case -EAGAIN:
        return cli_fail(cmd, "node '%s' is starting or stopping; try again", name);
    default:
        return cli_fail(cmd, "node '%s': %s", name, ts_last_error());
    }
    if (ts_system_open(&cfg, out) != 0)
        return cli_fail(cmd, "cannot attach to node '%s': %s", name, ts_last_error());
    return CLI_EXIT_OK;
}

const char cli_load_usage[] =
    "usage: thespis load [--name N] IMAGE...\n"
    "Loads code images into a running node: each IMAGE is a shared object\n"
    "exporting thespis_image_init, with its signature in IMAGE.sig when there is\n"
    "one (`thespis sign`). The node's Source Authority approves or refuses it\n"
    "(a node started with --authority-key checks the signature; one with\n"
    "--allow-unsigned takes any). Prints each image's id: create its actors with\n"
    "it (the shell's `create TYPE --image ID`, ts_create_opts.image).\n"
    "\n"
    "  --name N    the node's name (default 'default')\n"
    "  -h, --help  print this help\n"
    "\n"
    "Exit status: 0 all loaded, 1 one was refused (the reason is printed; the\n"
    "rest are not tried), 2 bad arguments.\n";

const char cli_unload_usage[] =
    "usage: thespis unload [--name N] ID...\n"
    "Unloads code images from a running node by id (as `thespis load` and\n"
    "`thespis images` print it): no new actors of their types are created;\n"
    "the running ones go on.\n"
    "\n"
    "  --name N    the node's name (default 'default')\n"
    "  -h, --help  print this help\n"
    "\n"
    "Exit status: 0 unloaded, 1 no such node or image loaded, 2 bad arguments.\n";

const char cli_images_usage[] =
    "usage: thespis images [--name N] [--json]\n"
    "Lists the code images of a running node: id, whether loaded, size, types.\n"
    "\n"
    "  --name N    the node's name (default 'default')\n"
    "  --json      one JSON object: {\"node\": N, \"images\": [{\"id\", \"loaded\",\n"
    "              \"size\", \"types\": [...]}]}\n"
    "  -h, --help  print this help\n"
    "\n"
    "Exit status: 0, 1 no such node, 2 bad arguments.\n";

int cli_load_run(const struct cli_cmd *cmd, const struct cli_args *a)
{
    ts_system *sys;
    if (a->npos == 0)
        return cli_usage_error(cmd->name, "name at least one IMAGE file");
    int rc = cli_attach(cmd->name, a->cfg.node_name, &sys, NULL);
    if (rc)
        return rc;
    for (int i = 0; i < a->npos && rc == 0; i++) {
        ts_image_id id;
        char hex[TS_IMAGE_ID_TEXT];
        if (ts_load_image_file(sys, a->pos[i], &id) != 0)
            rc = cli_fail(cmd->name, "%s: %s", a->pos[i], ts_last_error());
        else
            printf("%s %s\n", ts_image_id_format(&id, hex, sizeof(hex)), a->pos[i]);
    }
    ts_system_close(sys);
    return rc;
}

int cli_unload_run(const struct cli_cmd *cmd, const struct cli_args *a)
{
    ts_system *sys;
    ts_image_id id;
    if (a->npos == 0)
        return cli_usage_error(cmd->name, "name at least one image ID");
    for (int i = 0; i < a->npos; i++)
        if (ts_image_id_parse(a->pos[i], &id) != 0)
            return cli_usage_error(cmd->name, "'%s' is not an image id (32 hex digits)",
                                   a->pos[i]);
    int rc = cli_attach(cmd->name, a->cfg.node_name, &sys, NULL);
    if (rc)
        return rc;
    for (int i = 0; rc == 0 && i < a->npos; i++) {
        ts_image_id_parse(a->pos[i], &id);
        if (ts_unload_image(sys, &id) != 0)
            rc = cli_fail(cmd->name, "%s", ts_last_error());
        else
            printf("%s unloaded\n", a->pos[i]);
    }
    ts_system_close(sys);
    return rc;
}

/* The types "A,B" as a JSON array (names are [A-Za-z0-9_.-] and such). */
static void print_types_json(const char *types)
{
    putchar('[');
    for (const char *p = types; *p;) {
        size_t n = strcspn(p, ",");
        printf("%s\"", p == types ? "" : ",");
        for (size_t k = 0; k < n; k++)
            if (p[k] == '"' || p[k] == '\\')
                printf("\\%c", p[k]);
            else if ((unsigned char)p[k] >= 0x20)
                putchar(p[k]);
        putchar('"');
        p += n + (p[n] == ',');
    }
    putchar(']');
}

int cli_images_run(const struct cli_cmd *cmd, const struct cli_args *a)
{
    ts_system *sys;
    int rc = cli_attach(cmd->name, a->cfg.node_name, &sys, NULL);
    if (rc)
        return rc;
    ts_image_info info[64];
    int n = ts_images(sys, info, 64);
    ts_system_close(sys);
    if (n < 0)
        return cli_fail(cmd->name, "%s", ts_last_error());
    if (n > 64)
        n = 64;
    if (a->json)
        printf("{\"node\":\"%s\",\"images\":[", a->cfg.node_name);
    else if (n == 0)
        printf("node '%s' has no images\n", a->cfg.node_name);
    else
        printf("%-32s %-8s %10s  %s\n", "id", "state", "bytes", "types");
    for (int i = 0; i < n; i++) {
        char hex[TS_IMAGE_ID_TEXT];
        ts_image_id_format(&info[i].id, hex, sizeof(hex));
        if (a->json) {
            printf("%s{\"id\":\"%s\",\"loaded\":%s,\"size\":%llu,\"types\":", i ? "," : "", hex,
                   info[i].loaded ? "true" : "false", (unsigned long long)info[i].size);
            print_types_json(info[i].types);
            putchar('}');
        } else {
            printf("%-32s %-8s %10llu  %s\n", hex, info[i].loaded ? "loaded" : "unloaded",
                   (unsigned long long)info[i].size, info[i].types);
        }
    }
    if (a->json)
        printf("]}\n");
    return CLI_EXIT_OK;
}
