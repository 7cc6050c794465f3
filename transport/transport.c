/* SPDX-License-Identifier: MIT */
/* transport.c — the table of backends (transport.h). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "../engine/err.h"

#include "transport.h"

const struct transport_ops *transport_find(const char *name)
{
    static const struct transport_ops *const all[] = {
        &transport_tcp, &transport_udp,
#ifdef TS_HAVE_DPDK
        &transport_dpdk,
#endif
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

int transport_peer_check(const struct transport_peer *p, int family, const char *backend)
{
    int f = p->addr.ss_family;
    socklen_t need = f == AF_INET ? sizeof(struct sockaddr_in)
                     : f == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;
    if (!need || (family != AF_UNSPEC && f != family))
        return err_set(-EINVAL, "the %s transport cannot reach node %u at an address of family "
                       "%d (it takes %s)", backend, p->node, f,
                       family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "IPv4 or IPv6");
    if (p->addrlen < need || p->addrlen > sizeof(p->addr))
        return err_set(-EINVAL, "node %u's address is %u bytes long, not %u", p->node,
                       (unsigned)p->addrlen, (unsigned)need);
    return 0;
}

bool transport_peer_same(const struct transport_peer *a, const struct transport_peer *b)
{
    if (a->addr.ss_family != b->addr.ss_family)
        return false;
    if (a->addr.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a->addr, *y = (const void *)&b->addr;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a->addr, *y = (const void *)&b->addr;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return a->addrlen == b->addrlen && memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}
