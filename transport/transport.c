/* SPDX-License-Identifier: MIT */
/* transport.c — the table of backends (transport.h). */
#include <string.h>

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
