/* SPDX-License-Identifier: MIT */
/* capability.c — the public side of a node's capabilities: the readers a
 * type's capability check uses, and ts_update_capability. */
#include <errno.h>
#include <stdio.h>

#include <thespis/node.h>

#include "../placement/conv_wire.h"
#include "err.h"
#include "nodeconv.h"
#include "system.h"

static const struct caps *caps_of(const ts_caps *c)
{
    return (const struct caps *)(const void *)c;
}

bool ts_caps_has(const ts_caps *caps, const char *key)
{
    return caps && key && caps_find(caps_of(caps), key);
}

static const struct cap *typed(const ts_caps *caps, const char *key, enum cap_type type, int *rc)
{
    const struct cap *c = caps && key ? caps_find(caps_of(caps), key) : NULL;
    *rc = !c ? -ENOENT : c->type != type ? -EINVAL : 0;
    return *rc ? NULL : c;
}

int ts_caps_int(const ts_caps *caps, const char *key, int64_t *out)
{
    int rc;
    const struct cap *c = typed(caps, key, CAP_INT, &rc);
    if (c && out)
        *out = c->i;
    return rc;
}

int ts_caps_bool(const ts_caps *caps, const char *key, bool *out)
{
    int rc;
    const struct cap *c = typed(caps, key, CAP_BOOL, &rc);
    if (c && out)
        *out = c->i != 0;
    return rc;
}

const char *ts_caps_str(const ts_caps *caps, const char *key)
{
    int rc;
    const struct cap *c = typed(caps, key, CAP_STR, &rc);
    return c ? c->s : NULL;
}

bool ts_caps_meet(const ts_caps *caps, const char *requirements)
{
    struct reqs r;
    if (!caps)
        return false;
    if (reqs_parse(requirements, &r) < 0)
        return false;
    return reqs_met(&r, caps_of(caps), NULL, 0);
}

int ts_update_capability(ts_system *sys, const char *key, const char *value)
{
    if (!sys || !key)
        return err_set(-EINVAL, "ts_update_capability: NULL system or key");
    if (atomic_load_explicit(&sys->shut_down, memory_order_relaxed))
        return err_set(-ESHUTDOWN, "ts_update_capability: the system is shut down");
    int rc = node_caps_update(sys->caps, key, value);
    if (rc == 0 && sys->ops->caps_changed)
        sys->ops->caps_changed(sys);
    if (rc == 0)
        node_conv_sync(system_conv(sys)); /* else a named node's admin sees it */
    return rc;
}

int ts_notify_on_convention(ts_ctx *ctx, bool start)
{
    if (!ctx || !ctx->sh)
        return err_set(-EINVAL, "ts_notify_on_convention: NULL context");
    return shard_conv_watch(ctx->sh, ctx->self, start);
}

int ts_convention_keygen(const char *path)
{
    if (!path || !*path)
        return err_set(-EINVAL, "ts_convention_keygen: NULL or empty path");
    return conv_key_generate(path);
}

int ts_convention_members(ts_system *sys, ts_node_member *out, unsigned max)
{
    if (!sys || (!out && max))
        return err_set(-EINVAL, "ts_convention_members: NULL argument");
    if (!sys->members)
        return err_set(-ENOTCONN, "ts_convention_members: this node is in no convention "
                       "(ts_config.convention)");
    node_conv_sync(system_conv(sys)); /* when each was last heard from */
    return (int)members_export(sys->members, out, max, NULL, NULL);
}
