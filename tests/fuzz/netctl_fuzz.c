/* SPDX-License-Identifier: MIT */
/* netctl_fuzz.c — fuzz target for what one node's net reads from another
 * besides frames: a Start's payload (engine/start.h; one from another node
 * comes as NET_START) and a lease grant (net_grant_read). The first input
 * byte picks the decoder, the rest is the payload. A decoder must refuse
 * the payload or describe it exactly: a Start it takes is written back
 * byte for byte by start_write, and a grant's addresses are the granter's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "net.h"
#include "start.h"

static void check_start(const unsigned char *p, size_t len)
{
    struct start_view v;
    if (start_read(p, len, &v) != 0)
        return;
    size_t type_len = strlen(v.type) + 1, name_len = v.name ? strlen(v.name) + 1 : 0;
    size_t reqs_len = v.reqs ? strlen(v.reqs) + 1 : 0;
    if ((const unsigned char *)v.type != p + START_HDR || type_len < 2 ||
        START_HDR + type_len + name_len + reqs_len + v.arg_len != len ||
        (v.name && v.name != v.type + type_len) ||
        (v.reqs && (reqs_len < 2 || v.reqs != v.type + type_len + name_len)) ||
        (const unsigned char *)v.arg != p + START_HDR + type_len + name_len + reqs_len ||
        v.parent != start_parent(p, len))
        __builtin_trap();
    ts_create_opts o = {.arg = v.arg, .arg_len = v.arg_len, .global_name = v.name,
                        .requirements = v.reqs};
    if (start_size(v.type, &o) != len)
        __builtin_trap();
    unsigned char *again = malloc(len);
    if (!again)
        return;
    start_write(again, v.parent, v.type, &o);
    if (memcmp(again, p, len) != 0)
        __builtin_trap();
    free(again);
}

static void check_grant(const unsigned char *p, size_t len)
{
    uint64_t epoch;
    size_t count;
    if (net_grant_read(p, len, &epoch, &count) != 0)
        return;
    if (8 + count * sizeof(ts_addr) != len || memcmp(&epoch, p, 8) != 0)
        __builtin_trap();
    for (size_t i = 0; i < count; i++) {
        ts_addr a = net_grant_addr(p, i, 7);
        if (a && (ts_addr_node(a) != 7 || ts_addr_gen(a) == 0))
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* Exactly sized, so ASan sees any read past the payload. */
    unsigned char *p = malloc(size - 1 ? size - 1 : 1);
    if (!p)
        return 0;
    memcpy(p, data + 1, size - 1);
    if (data[0] & 1)
        check_grant(p, size - 1);
    else
        check_start(p, size - 1);
    free(p);
    return 0;
}

/* A valid Start (some with a global name, requirements and an argument) or grant (some
 * addresses on other nodes, or in no slot an actor can have). */
size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void))
{
    if (cap < 1 + 8 + 64 * sizeof(ts_addr) || cap < 1 + START_HDR + 4 * 64)
        return 0;
    if (rng() % 2) {
        size_t count = (size_t)(rng() % 64);
        uint64_t epoch = rng();
        buf[0] = 1;
        memcpy(buf + 1, &epoch, 8);
        for (size_t i = 0; i < count; i++) {
            ts_addr a = ts_addr_make(rng() % 4 ? 7 : (uint16_t)rng(), (uint8_t)(rng() % 3),
                                     (uint32_t)(rng() % 1000), (uint16_t)(rng() % 3));
            memcpy(buf + 9 + i * sizeof(a), &a, sizeof(a));
        }
        return 9 + count * sizeof(ts_addr);
    }
    char type[64], name[64], reqs[64];
    unsigned char arg[64];
    size_t tl = 1 + (size_t)(rng() % 40), nl = (size_t)(rng() % 3 ? 0 : 1 + rng() % 40);
    size_t rl = (size_t)(rng() % 3 ? 0 : 1 + rng() % 40);
    memset(type, 't', tl);
    type[tl] = 0;
    memset(name, 'n', nl);
    name[nl] = 0;
    memset(reqs, 'r', rl);
    reqs[rl] = 0;
    ts_create_opts o = {.arg = arg, .arg_len = (size_t)(rng() % 64),
                        .global_name = nl ? name : NULL, .requirements = rl ? reqs : NULL};
    memset(arg, 'a', sizeof(arg));
    buf[0] = 0;
    start_write(buf + 1, (ts_addr)rng(), type, &o);
    return 1 + start_size(type, &o);
}
