/* SPDX-License-Identifier: MIT */
/* cli_status.c — a node's status as `thespis status` prints it: text for
 * people, one JSON line for programs; and an actor's or a node's Status
 * message, the answer to `thespis status ADDR`'s StatusRequest. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/sysmsg.h>

#include "cli.h"

/* The shards a status describes (the count is bounded by its array). */
static uint32_t nshards(const ts_node_status *st)
{
    return st->nshards < TS_NODE_MAX_SHARDS ? st->nshards : TS_NODE_MAX_SHARDS;
}

/* The length of a fixed-size string field that may lack its NUL. */
#define FIELD_LEN(f) strnlen((f), sizeof(f))

void cli_format_cores(const ts_node_status *st, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (uint32_t i = 0; i < nshards(st) && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%d", i ? "," : "", st->shards[i].core);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

/* The device block: its name, then the device's figures and the
 * transport's, a header row over each. */
static void print_device_text(FILE *out, const ts_node_device *d)
{
    fprintf(out, "device: %.*s\n", (int)FIELD_LEN(d->name), d->name);
    fprintf(out, "%12s %12s %14s %14s %10s %10s %10s %10s\n", "rx_packets", "tx_packets",
            "rx_bytes", "tx_bytes", "rx_missed", "rx_errors", "tx_errors", "rx_nombuf");
    fprintf(out,
            "%12" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %10" PRIu64 " %10" PRIu64
            " %10" PRIu64 " %10" PRIu64 "\n",
            d->rx_packets, d->tx_packets, d->rx_bytes, d->tx_bytes, d->rx_missed, d->rx_errors,
            d->tx_errors, d->rx_nombuf);
    fprintf(out, "%10s %10s %10s %10s %10s %10s %10s\n", "arp_in", "arp_out", "not_ours",
            "malformed", "forwarded", "inbox_full", "tx_dropped");
    fprintf(out,
            "%10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
            " %10" PRIu64 "\n",
            d->arp_in, d->arp_out, d->not_ours, d->malformed, d->forwarded, d->inbox_full,
            d->tx_dropped);
}

/* Its convention: where it stands, then one line per member. */
static void print_convention_text(FILE *out, const ts_node_status *st)
{
    if (!st->convention[0])
        return;
    fprintf(out, "convention at %.*s: %s%s%.*s%s\n", (int)FIELD_LEN(st->convention),
            st->convention, st->convention_state, st->convention_why[0] ? " (" : "",
            (int)FIELD_LEN(st->convention_why), st->convention_why,
            st->convention_why[0] ? ")" : "");
    fprintf(out, "%5s %-16s %-7s %8s  %-28s %s\n", "node", "member", "role", "heard", "endpoints",
            "caps");
    for (uint32_t i = 0; i < st->nmembers && i < TS_NODE_MAX_MEMBERS; i++) {
        const ts_node_member *m = &st->members[i];
        char heard[24];
        if (m->heard_ms_ago < 0)
            snprintf(heard, sizeof(heard), "-");
        else
            snprintf(heard, sizeof(heard), "%" PRId64 "ms", m->heard_ms_ago);
        fprintf(out, "%5u %-16.*s %-7s %8s  %-28.*s %.*s\n", m->node, (int)FIELD_LEN(m->name),
                m->name, m->self ? (m->leader ? "self,ld" : "self") : m->leader ? "leader" : "member",
                heard, (int)FIELD_LEN(m->endpoints), m->endpoints[0] ? m->endpoints : "-",
                (int)FIELD_LEN(m->caps), m->caps);
    }
}

void cli_print_status_text(FILE *out, const ts_node_status *st)
{
    const char *caps = st->caps[0] ? st->caps : "none";

    fprintf(out,
            "node '%.*s': base %.*s, admin pid %d, node id %u, %" PRIu64 " actors, %" PRIu64
            " dead letters, %u clients, caps %.*s\n",
            (int)FIELD_LEN(st->name), st->name, (int)FIELD_LEN(st->base), st->base, st->pid,
            st->node_id, st->actors, st->dead_letters, st->clients,
            (int)strnlen(caps, sizeof(st->caps)), caps);
    fprintf(out, "%5s %5s %8s %10s %8s %12s %12s\n", "shard", "core", "pid", "actors",
            "restarts", "msgs_in", "msgs_out");
    for (uint32_t i = 0; i < nshards(st); i++) {
        const ts_node_shard *s = &st->shards[i];
        fprintf(out, "%5u %5d %8d %10" PRIu64 " %8u %12" PRIu64 " %12" PRIu64 "\n", s->id,
                s->core, s->pid, s->actors, s->restarts, s->msgs_in, s->msgs_out);
    }
    print_convention_text(out, st);
    if (!st->transport[0])
        return;
    fprintf(out, "links: %.*s, listening on %.*s\n", (int)sizeof(st->transport), st->transport,
            (int)sizeof(st->listen), st->listen[0] ? st->listen : "nothing");
    fprintf(out, "%5s %5s %4s %12s %12s %14s %14s %8s %8s %9s %10s\n", "shard", "node", "up",
            "frames_in", "frames_out", "bytes_in", "bytes_out", "resent", "reconn", "malformed",
            "queued");
    for (uint32_t i = 0; i < st->nlinks && i < TS_NODE_MAX_LINKS; i++) {
        const ts_node_link *l = &st->links[i];
        fprintf(out,
                "%5u %5u %4s %12" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %8" PRIu64
                " %8" PRIu64 " %9" PRIu64 " %10" PRIu64 "\n",
                l->shard, l->node, l->up ? "yes" : "no", l->frames_in, l->frames_out, l->bytes_in,
                l->bytes_out, l->retransmits, l->reconnects, l->malformed, l->queued_bytes);
    }
    if (st->device.name[0])
        print_device_text(out, &st->device);
}

/* A JSON string: quotes, backslashes and control characters escaped; other
 * bytes (UTF-8 included) as they are. */
static void json_str(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void json_shard(FILE *out, const ts_node_shard *s)
{
    fprintf(out,
            "{\"id\":%u,\"core\":%d,\"pid\":%d,\"actors\":%" PRIu64 ",\"restarts\":%u,"
            "\"msgs_in\":%" PRIu64 ",\"msgs_out\":%" PRIu64 "}",
            s->id, s->core, s->pid, s->actors, s->restarts, s->msgs_in, s->msgs_out);
}

/* "device":{...}, or null for a node without one (tcp, udp). */
static void json_device(FILE *out, const ts_node_device *d)
{
    fputs(",\"device\":", out);
    if (!d->name[0]) {
        fputs("null", out);
        return;
    }
    fputs("{\"name\":", out);
    json_str(out, d->name, sizeof(d->name));
    fprintf(out,
            ",\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
            ",\"tx_bytes\":%" PRIu64 ",\"rx_missed\":%" PRIu64 ",\"rx_errors\":%" PRIu64
            ",\"tx_errors\":%" PRIu64 ",\"rx_nombuf\":%" PRIu64 ",\"arp_in\":%" PRIu64
            ",\"arp_out\":%" PRIu64 ",\"not_ours\":%" PRIu64 ",\"malformed\":%" PRIu64
            ",\"forwarded\":%" PRIu64 ",\"inbox_full\":%" PRIu64 ",\"tx_dropped\":%" PRIu64 "}",
            d->rx_packets, d->tx_packets, d->rx_bytes, d->tx_bytes, d->rx_missed, d->rx_errors,
            d->tx_errors, d->rx_nombuf, d->arp_in, d->arp_out, d->not_ours, d->malformed,
            d->forwarded, d->inbox_full, d->tx_dropped);
}

/* "convention":{...}, or null for a node in none. */
static void json_convention(FILE *out, const ts_node_status *st)
{
    fputs(",\"convention\":", out);
    if (!st->convention[0]) {
        fputs("null", out);
        return;
    }
    fputs("{\"leader_addr\":", out);
    json_str(out, st->convention, sizeof(st->convention));
    fprintf(out, ",\"leading\":%s,\"state\":", st->convention_leader ? "true" : "false");
    json_str(out, st->convention_state, sizeof(st->convention_state));
    fputs(",\"why\":", out);
    json_str(out, st->convention_why, sizeof(st->convention_why));
    fputs(",\"members\":[", out);
    for (uint32_t i = 0; i < st->nmembers && i < TS_NODE_MAX_MEMBERS; i++) {
        const ts_node_member *m = &st->members[i];
        fprintf(out, "%s{\"node\":%u,\"name\":", i ? "," : "", m->node);
        json_str(out, m->name, sizeof(m->name));
        fprintf(out, ",\"leader\":%s,\"self\":%s,\"heard_ms_ago\":%" PRId64 ",\"endpoints\":",
                m->leader ? "true" : "false", m->self ? "true" : "false", m->heard_ms_ago);
        json_str(out, m->endpoints, sizeof(m->endpoints));
        fputs(",\"caps\":", out);
        json_str(out, m->caps, sizeof(m->caps));
        fputc('}', out);
    }
    fputs("]}", out);
}

void cli_print_status_json(FILE *out, const ts_node_status *st)
{
    fputs("{\"name\":", out);
    json_str(out, st->name, sizeof(st->name));
    fputs(",\"base\":", out);
    json_str(out, st->base, sizeof(st->base));
    fprintf(out,
            ",\"pid\":%d,\"node_id\":%u,\"actors\":%" PRIu64 ",\"dead_letters\":%" PRIu64
            ",\"clients\":%u,\"caps\":",
            st->pid, st->node_id, st->actors, st->dead_letters, st->clients);
    json_str(out, st->caps, sizeof(st->caps));
    fputs(",\"shards\":[", out);
    for (uint32_t i = 0; i < nshards(st); i++) {
        if (i)
            fputc(',', out);
        json_shard(out, &st->shards[i]);
    }
    fputs("],\"transport\":", out);
    json_str(out, st->transport, sizeof(st->transport));
    fputs(",\"listen\":", out);
    json_str(out, st->listen, sizeof(st->listen));
    fputs(",\"links\":[", out);
    for (uint32_t i = 0; i < st->nlinks && i < TS_NODE_MAX_LINKS; i++) {
        const ts_node_link *l = &st->links[i];
        fprintf(out,
                "%s{\"shard\":%u,\"node\":%u,\"up\":%s,\"frames_in\":%" PRIu64
                ",\"frames_out\":%" PRIu64 ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
                ",\"retransmits\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"malformed\":%" PRIu64
                ",\"queued_bytes\":%" PRIu64 "}",
                i ? "," : "", l->shard, l->node, l->up ? "true" : "false", l->frames_in,
                l->frames_out, l->bytes_in, l->bytes_out, l->retransmits, l->reconnects,
                l->malformed, l->queued_bytes);
    }
    fputc(']', out);
    json_device(out, &st->device);
    json_convention(out, st);
    fputs("}\n", out);
}

/* ------------------------------------------------------------------------ */
/* `thespis status ADDR`: a Status message                                   */
/* ------------------------------------------------------------------------ */

static void print_actor_status_text(FILE *out, const ts_status *s)
{
    const ts_actor_status *a = &s->actor;
    char addr[48];
    bool image = false;

    for (unsigned i = 0; i < sizeof(a->image.b); i++)
        image |= a->image.b[i] != 0;
    fprintf(out, "actor %s: %s, %s\n", ts_addr_format(a->addr, addr, sizeof(addr)), a->type_name,
            a->state == TS_ACTOR_LIVE ? "live" : "exiting (waiting for its children)");
    fprintf(out, "  %-12s %s\n", "parent",
            a->parent ? ts_addr_format(a->parent, addr, sizeof(addr)) : "none");
    fprintf(out, "  %-12s %s\n", "global name", a->global_name_len ? a->global_name : "none");
    fprintf(out, "  %-12s ", "image");
    if (image) {
        for (unsigned i = 0; i < sizeof(a->image.b); i++)
            fprintf(out, "%02x", a->image.b[i]);
        fputc('\n', out);
    } else {
        fputs("none (a type of the program's own)\n", out);
    }
    fprintf(out, "  %-12s %" PRIu64 " waiting\n", "mailbox", a->mailbox);
    fprintf(out, "  %-12s %" PRIu64 "\n", "handled", a->handled);
    fprintf(out, "  %-12s %" PRIu64 "\n", "restarts", a->restarts);
    fprintf(out, "  %-12s %u\n", "timers", a->timers);
    fprintf(out, "  %-12s %u", "children", a->children_total);
    if (a->nchildren < a->children_total)
        fprintf(out, " (the first %u listed)", a->nchildren);
    for (uint32_t i = 0; i < a->nchildren; i++)
        fprintf(out, "%s%s", i ? " " : ": ",
                ts_addr_format(ts_status_child_at(s, i), addr, sizeof(addr)));
    fputc('\n', out);
}

static void print_node_status_text(FILE *out, const ts_status *s)
{
    const ts_status_node *n = &s->node;

    fprintf(out, "node %u%s%s%s: base %s, pid %d, %" PRIu64 " actors, %" PRIu64
            " dead letters, caps %s (answered by shard %u)\n",
            n->node_id, n->name_len ? " '" : "", n->name, n->name_len ? "'" : "",
            ts_base_name(n->base), n->pid, n->actors, n->dead_letters,
            n->caps_len ? n->caps : "none", n->shard);
    fprintf(out, "%5s %5s %8s %6s %8s %8s %8s %12s %12s %8s %8s %8s %6s %8s %8s\n", "shard",
            "core", "pid", "procr", "actors", "created", "exited", "handled", "sent", "restarts",
            "poisoned", "deadl", "timers", "pending", "ovf_hwm");
    for (uint32_t i = 0; i < n->nshards; i++) {
        ts_status_shard h;
        if (ts_status_shard_at(s, i, &h) != 0)
            continue;
        fprintf(out,
                "%5u %5d %8d %6u %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %12" PRIu64 " %12" PRIu64
                " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %6" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
                h.id, h.core, h.pid, h.process_restarts, h.actors, h.created, h.exited, h.handled,
                h.sent, h.restarts, h.poisoned, h.dead_letters, h.timers, h.pending,
                h.overflow_hwm);
    }
    if (!n->nlinks)
        return;
    fprintf(out, "%5s %5s %4s %12s %12s %14s %14s %8s %8s %9s %10s\n", "shard", "node", "up",
            "frames_in", "frames_out", "bytes_in", "bytes_out", "resent", "reconn", "malformed",
            "queued");
    for (uint32_t i = 0; i < n->nlinks; i++) {
        ts_status_link l;
        if (ts_status_link_at(s, i, &l) != 0)
            continue;
        fprintf(out,
                "%5u %5u %4s %12" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %8" PRIu64
                " %8" PRIu64 " %9" PRIu64 " %10" PRIu64 "\n",
                l.shard, l.node, l.up ? "yes" : "no", l.frames_in, l.frames_out, l.bytes_in,
                l.bytes_out, l.retransmits, l.reconnects, l.malformed, l.queued_bytes);
    }
}

int cli_print_status_msg(FILE *out, const ts_msg *status, bool json)
{
    ts_status s;
    int rc = ts_status_decode(status, &s);

    if (rc < 0)
        return rc;
    if (json) {
        int n = ts_status_json(status, NULL, 0);
        char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (!buf)
            return n < 0 ? n : -ENOMEM;
        ts_status_json(status, buf, (size_t)n + 1);
        fprintf(out, "%s\n", buf);
        free(buf);
    } else if (s.kind == TS_STATUS_ACTOR) {
        print_actor_status_text(out, &s);
    } else {
        print_node_status_text(out, &s);
    }
    return 0;
}
