/* SPDX-License-Identifier: MIT */
/* api.c — the public calls: argument checks with clear errors, then the
 * shard or the base does the work. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <thespis/image.h>
#include <thespis/sysmsg.h>

#include "clock.h"
#include "err.h"
#include "system.h"

/* A node's own address (ts_node_addr: generation 0, the control slot)
 * takes a StatusRequest, and a shard's the Source Authority's answer about
 * an image it fetched (image_fetch.c, which takes it only from the
 * authority it asked); no other message from outside the engine. */
static bool node_request(ts_addr dst, uint64_t type)
{
    return (type == TS_MSG_STATUS_REQUEST || type == TS_MSG_VALIDATED_IMAGE) &&
           ts_addr_gen(dst) == 0 && ts_addr_slot(dst) == TS_ADDR_MAX_SLOT;
}

/* node_ok: dst may be a node's own address (node_request). */
static int check_dst(const struct ts_system *sys, ts_addr dst, bool node_ok, const char *fn)
{
    if (!dst || (!ts_addr_gen(dst) && !node_ok))
        return err_set(-EINVAL, "%s: invalid address %016llx", fn, (unsigned long long)dst);
    unsigned shard = ts_addr_shard(dst);
    if (ts_addr_node(dst) == sys->cfg.node_id && shard >= sys->nshards && shard != SHARD_CLIENT)
        return err_set(-EINVAL, "%s: address %016llx names shard %u, this node has %u", fn,
                       (unsigned long long)dst, shard, sys->nshards);
    return 0;
}

static int check_send(const struct ts_system *sys, ts_addr dst, uint64_t type, const void *p,
                      size_t len, const char *fn)
{
    if (atomic_load_explicit(&sys->shut_down, memory_order_relaxed))
        return err_set(-ESHUTDOWN, "%s: the system is shut down", fn);
    int rc = check_dst(sys, dst, node_request(dst, type), fn);
    if (rc < 0)
        return rc;
    if (len && !p)
        return err_set(-EINVAL, "%s: NULL payload of %zu bytes", fn, len);
    if (len > sys->cfg.max_msg_size)
        return err_set(-EMSGSIZE, "%s: payload of %zu bytes is above the maximum of %zu", fn,
                       len, sys->cfg.max_msg_size);
    return 0;
}

int ts_send(ts_ctx *ctx, ts_addr dst, uint64_t type, const void *payload, size_t len)
{
    if (!ctx)
        return err_set(-EINVAL, "ts_send: NULL context");
    int rc = check_send(ctx->sys, dst, type, payload, len, "ts_send");
    if (rc == 0 && shard_enqueue(ctx->sh, dst, ctx->self, type, payload, len, 0) < 0)
        rc = err_set(-ENOMEM, "ts_send: out of memory");
    return rc;
}

int ts_reply(ts_ctx *ctx, uint64_t type, const void *payload, size_t len)
{
    if (!ctx)
        return err_set(-EINVAL, "ts_reply: NULL context");
    return ts_send(ctx, ctx->sender, type, payload, len);
}

static int check_create(const struct ts_system *sys, const char *type_name,
                        const ts_create_opts *opts, const ts_addr *out, const char *fn)
{
    if (!type_name || !out)
        return err_set(-EINVAL, "%s: NULL type name or out", fn);
    if (atomic_load_explicit(&sys->shut_down, memory_order_relaxed))
        return err_set(-ESHUTDOWN, "%s: the system is shut down", fn);
    if (opts && opts->arg_len && !opts->arg)
        return err_set(-EINVAL, "%s: NULL argument of %zu bytes", fn, opts->arg_len);
    if (opts && opts->arg_len > sys->cfg.max_msg_size)
        return err_set(-EMSGSIZE, "%s: argument of %zu bytes is above the maximum of %zu", fn,
                       opts->arg_len, sys->cfg.max_msg_size);
    struct reqs r; /* said here, on the caller's thread, not where it is placed */
    if (opts && opts->requirements && reqs_parse(opts->requirements, &r) < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", ts_last_error());
        return err_set(-EINVAL, "%s: requirements \"%s\": %s", fn, opts->requirements, why);
    }
    return 0;
}

int ts_create(ts_ctx *ctx, const char *type_name, const ts_create_opts *opts, ts_addr *out)
{
    if (!ctx)
        return err_set(-EINVAL, "ts_create: NULL context");
    int rc = check_create(ctx->sys, type_name, opts, out, "ts_create");
    if (rc < 0)
        return rc;
    if (ctx->a->state == ACTOR_EXITING)
        return err_set(-ECANCELED, "ts_create: the creating actor is exiting");
    return shard_create(ctx->sh, type_name, opts, ctx->self, ctx->self, out);
}

int ts_system_create(ts_system *sys, const char *type_name, const ts_create_opts *opts,
                     ts_addr *out)
{
    if (!sys)
        return err_set(-EINVAL, "ts_system_create: NULL system");
    int rc = check_create(sys, type_name, opts, out, "ts_system_create");
    return rc < 0 ? rc : sys->ops->create(sys, type_name, opts, out);
}

ts_addr ts_self(const ts_ctx *ctx)
{
    return ctx ? ctx->self : TS_ADDR_NONE;
}

ts_addr ts_sender(const ts_ctx *ctx)
{
    return ctx ? ctx->sender : TS_ADDR_NONE;
}

ts_system *ts_ctx_system(const ts_ctx *ctx)
{
    return ctx ? ctx->sys : NULL;
}

int ts_wakeup_after(ts_ctx *ctx, uint64_t ns, const void *payload, size_t len)
{
    if (!ctx)
        return err_set(-EINVAL, "ts_wakeup_after: NULL context");
    int rc = check_send(ctx->sys, ctx->self, TS_MSG_WAKEUP, payload, len, "ts_wakeup_after");
    if (rc < 0)
        return rc;
    if (ctx->a->state == ACTOR_EXITING)
        return err_set(-ECANCELED, "ts_wakeup_after: the actor is exiting");
    return shard_add_timer(ctx->sh, ctx->a, ctx->self, clock_deadline(clock_now_ns(), ns),
                           payload, len);
}

int ts_handle_dead_letters(ts_ctx *ctx, bool start)
{
    if (!ctx)
        return err_set(-EINVAL, "ts_handle_dead_letters: NULL context");
    ts_addr self = ctx->self;
    if (start)
        atomic_store(ctx->sys->dead_letter_handler, self);
    else
        atomic_compare_exchange_strong(ctx->sys->dead_letter_handler, &self, TS_ADDR_NONE);
    return 0;
}

int ts_exit_self(ts_ctx *ctx)
{
    if (!ctx)
        return err_set(-EINVAL, "ts_exit_self: NULL context");
    ctx->exit_self = true;
    return 0;
}

ts_addr ts_system_client_addr(ts_system *sys)
{
    ts_addr a = TS_ADDR_NONE;
    if (sys && sys->ops->client(sys, &a) < 0)
        a = TS_ADDR_NONE;
    return a;
}

int ts_system_set_dead_letter_handler(ts_system *sys, ts_addr addr)
{
    if (!sys)
        return err_set(-EINVAL, "ts_system_set_dead_letter_handler: NULL system");
    if (atomic_load(&sys->shut_down))
        return err_set(-ESHUTDOWN, "ts_system_set_dead_letter_handler: the system is shut down");
    if (addr) {
        int rc = check_dst(sys, addr, false, "ts_system_set_dead_letter_handler");
        if (rc < 0)
            return rc;
    }
    atomic_store(sys->dead_letter_handler, addr);
    return 0;
}

int ts_tell(ts_system *sys, ts_addr dst, uint64_t type, const void *payload, size_t len)
{
    if (!sys)
        return err_set(-EINVAL, "ts_tell: NULL system");
    int rc = check_send(sys, dst, type, payload, len, "ts_tell");
    return rc < 0 ? rc : sys->ops->tell(sys, dst, type, payload, len);
}

static int check_wait(const struct ts_system *sys, uint64_t timeout_ns, ts_msg **reply,
                      const char *fn)
{
    if (!sys || !reply)
        return err_set(-EINVAL, "%s: NULL system or reply", fn);
    *reply = NULL;
    if (atomic_load_explicit(&sys->shut_down, memory_order_relaxed))
        return err_set(-ESHUTDOWN, "%s: the system is shut down", fn);
    if (timeout_ns == 0)
        return err_set(-EINVAL, "%s: a zero timeout can never be met", fn);
    if (system_running == sys)
        return err_set(-EDEADLK, "%s: called from inside a handler of the same system", fn);
    return 0;
}

static int wait_reply(ts_system *sys, uint64_t timeout_ns, ts_msg **reply, const char *fn)
{
    int rc = sys->ops->wait(sys, clock_deadline(clock_now_ns(), timeout_ns), reply);
    if (rc == -ETIMEDOUT)
        return err_set(rc, "%s: no message arrived in time", fn);
    return rc;
}

int ts_ask(ts_system *sys, ts_addr dst, uint64_t type, const void *payload, size_t len,
           uint64_t timeout_ns, ts_msg **reply)
{
    int rc = check_wait(sys, timeout_ns, reply, "ts_ask");
    if (rc == 0)
        rc = ts_tell(sys, dst, type, payload, len);
    return rc < 0 ? rc : wait_reply(sys, timeout_ns, reply, "ts_ask");
}

int ts_listen(ts_system *sys, uint64_t timeout_ns, ts_msg **reply)
{
    int rc = check_wait(sys, timeout_ns, reply, "ts_listen");
    return rc < 0 ? rc : wait_reply(sys, timeout_ns, reply, "ts_listen");
}

int ts_run(ts_system *sys, uint64_t timeout_ns)
{
    if (!sys)
        return err_set(-EINVAL, "ts_run: NULL system");
    if (atomic_load_explicit(&sys->shut_down, memory_order_relaxed))
        return err_set(-ESHUTDOWN, "ts_run: the system is shut down");
    if (system_running == sys)
        return err_set(-EDEADLK, "ts_run: called from inside a handler of the same system");
    int rc = sys->ops->run(sys, clock_deadline(clock_now_ns(), timeout_ns));
    return rc == -ETIMEDOUT ? err_set(rc, "ts_run: timers still pending at the timeout") : rc;
}

void ts_msg_free(ts_msg *m)
{
    free(m);
}

char *ts_addr_format(ts_addr a, char *buf, size_t len)
{
    if (buf && len)
        snprintf(buf, len, "%u.%u.%u.%u", ts_addr_node(a), ts_addr_shard(a), ts_addr_slot(a),
                 ts_addr_gen(a));
    return buf;
}

/* One field of ts_addr_parse: decimal digits (no sign, no spaces, at most
 * 8 of them) up to max, ending at end (a '.' or the NUL). NULL when bad. */
static const char *addr_field(const char *p, char end, uint32_t max, uint32_t *out)
{
    uint32_t v = 0;
    int n = 0;

    for (; *p >= '0' && *p <= '9'; p++, n++) {
        if (n == 8)
            return NULL;
        v = v * 10 + (uint32_t)(*p - '0');
    }
    if (n == 0 || *p != end || v > max)
        return NULL;
    *out = v;
    return p;
}

int ts_addr_parse(const char *text, ts_addr *out)
{
    static const uint32_t max[4] = {UINT16_MAX, UINT8_MAX, TS_ADDR_MAX_SLOT, UINT16_MAX};
    uint32_t f[4];
    const char *p = text;

    if (!text || !out)
        return err_set(-EINVAL, "ts_addr_parse: NULL argument");
    for (int i = 0; i < 4 && p; i++) {
        p = addr_field(p, i < 3 ? '.' : '\0', max[i], &f[i]);
        if (p && i < 3)
            p++;
    }
    if (!p)
        return err_set(-EINVAL, "ts_addr_parse: '%.40s' is not an address "
                       "(node.shard.slot.gen: 0-65535.0-255.0-16777215.0-65535)", text);
    *out = ts_addr_make((uint16_t)f[0], (uint8_t)f[1], f[2], (uint16_t)f[3]);
    return 0;
}

const char *msgtype_label(uint64_t type, char buf[20])
{
    const char *name = ts_sysmsg_name(type);
    if (!name)
        name = msgtype_name(type);
    if (name)
        return name;
    snprintf(buf, 20, "%016llx", (unsigned long long)type);
    return buf;
}
