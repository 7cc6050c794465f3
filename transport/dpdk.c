/* SPDX-License-Identifier: MIT */
/*
 * dpdk.c — the DPDK backend (transport.h, design §7): kernel bypass, one
 * rx/tx queue pair per shard, polled in the shard's loop.
 *
 * A node's shards share one DPDK port (a device named by its devargs, e.g. a
 * virtual device on a veth); the first instance opened probes and starts it
 * with nshards queue pairs, the last one closed stops and removes it. The
 * EAL is set up once per process, by the first instance ever opened (it
 * cannot be set up twice), and stays: later nodes probe their own devices
 * on it. Devices are probed by the opening thread, so a device of a network
 * namespace is found from a thread inside it.
 *
 * The node is an IPv4 host of its own on the port: its listen address, with
 * shard k on UDP port + k. It answers ARP for that address and resolves its
 * peers' by ARP (the peer table gives their addresses), learning also from
 * what they send. Each instance has its peer table (it changes at runtime:
 * peer_set, peer_del); the MACs learned are the port's, one entry per peer
 * address, shared by the shards (whichever queue an answer lands on, every
 * shard knows it). Datagrams are those of the udp backend: the reliability
 * layer is rel.c, shared, so a dpdk node and a udp node talk to each other.
 *
 * A device spreads what it receives over its queues by its own hash, not by
 * our ports: a shard takes what lands on its queue, keeps its own, and hands
 * the others' to their shards through a ring each (software steering, as
 * Seastar does when the hardware cannot). What is not IPv4/UDP to us or ARP
 * is dropped and counted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>

#include "../engine/err.h"
#include "ether.h"
#include "ptrq.h"
#include "rel.h"
#include "transport.h"
#include "uring.h"

#define BURST 32
#define RX_DESC 512
#define TX_DESC 512
#define INBOX 1024            /* datagrams another shard forwards to this one */
#define MBUFS_DEFAULT 4095    /* per instance */
#define MBUFS_XDP 16383       /* net_af_xdp: its fill ring (4096) and rx/tx rings, twice */
#define ARP_RETRY_NS (100u * 1000000u)
#define MAX_QUEUES 64
#define MTU 1500
#define XSK_FDS 64 /* AF_XDP sockets a port notes (dpdk.c, net_af_xdp) */

/* ---- the EAL: once per process --------------------------------------- */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_eal_rc = 1; /* 1: not tried; 0: up; <0: failed with */
static char g_eal_err[1024];
static char g_eal_args[512];
static pid_t g_eal_pid; /* the process that set it up: a fork inherits a broken copy */

/* "--lcores=0@(0,1,...)": the EAL's main lcore on every CPU the process
 * may use, so initialising it does not pin the calling thread. */
static void lcores_arg(char *buf, size_t len)
{
    cpu_set_t set;
    size_t at = (size_t)snprintf(buf, len, "--lcores=0@(");
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        for (int c = 0; c < CPU_SETSIZE && at < len; c++)
            if (CPU_ISSET(c, &set))
                at += (size_t)snprintf(buf + at, len - at, "%s%d", buf[at - 1] == '(' ? "" : ",", c);
    if (at < len)
        snprintf(buf + at, len - at, ")");
}

static int eal_up(const char *args)
{
    char lcores[512], prefix[64];
    lcores_arg(lcores, sizeof(lcores));
    snprintf(prefix, sizeof(prefix), "--file-prefix=thespis-%d", (int)getpid());
    char given[512];
    snprintf(given, sizeof(given), "%s", args ? args : "--no-huge --no-pci --no-shconf -m 512");
    if (g_eal_rc <= 0 && g_eal_pid != getpid())
        return err_set(-EALREADY, "DPDK's EAL was set up by process %d, and this one (%d) is "
                       "a fork of it: its DPDK memory is not usable here. Start a named dpdk "
                       "node from a process that has not used DPDK yet",
                       (int)g_eal_pid, (int)getpid());
    if (g_eal_rc <= 0) {
        if (g_eal_rc == 0 && strcmp(given, g_eal_args) != 0)
            return err_set(-EALREADY, "the DPDK EAL of this process was set up with '%s'; it "
                           "cannot be set up again with '%s' (one EAL per process)",
                           g_eal_args, given);
        if (g_eal_rc < 0)
            return err_set(g_eal_rc, "%s", g_eal_err);
        return 0;
    }
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", given);
    char prog[] = "thespis", tele[] = "--no-telemetry", quiet[] = "--log-level=*:error";
    char *argv[64] = {prog, lcores, prefix, tele, quiet};
    int argc = 5;
    for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w && argc < 63;
         w = strtok_r(NULL, " \t", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    int saved_optind = optind;
    optind = 1;
    int rc = rte_eal_init(argc, argv);
    optind = saved_optind;
    g_eal_pid = getpid();
    snprintf(g_eal_args, sizeof(g_eal_args), "%s", given);
    if (rc < 0) {
        g_eal_rc = rte_errno ? -rte_errno : -EINVAL;
        snprintf(g_eal_err, sizeof(g_eal_err), "DPDK's EAL did not start with '%s': %s",
                 given, rte_strerror(rte_errno));
        return err_set(g_eal_rc, "%s", g_eal_err);
    }
    g_eal_rc = 0;
    /* --no-shconf keeps nothing there, but the directory is made anyway
     * (and its parent, /var/run/dpdk, when it was not there). */
    char run[PATH_MAX];
    snprintf(run, sizeof(run), "%s", rte_eal_get_runtime_dir());
    if (rmdir(run) == 0) {
        char *slash = strrchr(run, '/');
        if (slash && slash != run) {
            *slash = '\0';
            rmdir(run); /* only when empty: another process's stays */
        }
    }
    return 0;
}

/* ---- a node's port, shared by its shards ------------------------------ */

/* A peer address's MAC, shared by a node's shards. ip and refs change
 * under the port's nlock (open, close, peer_set, peer_del); an instance
 * holds a reference for each of its peers at ip, and reads and writes mac
 * through it without the lock (relaxed: a MAC is a hint, and the
 * reliability layer resends what a wrong one loses). An entry never moves
 * while the port lives; one no instance refers to is free for another
 * address, its MAC forgotten. */
struct neigh {
    uint32_t ip;          /* network order */
    unsigned refs;
    _Atomic uint64_t mac; /* mac | 1 << 63 once known; 0 not */
};

#define NEIGH_BLOCK 64

struct neigh_block {
    struct neigh_block *next;
    struct neigh e[NEIGH_BLOCK];
};

struct port {
    struct port *next;
    char given[256], devargs[300], name[64]; /* given: as configured */
    uint16_t id;
    unsigned nq, refs;
    int netns; /* the opening thread's network namespace: the device's */
    int xsk[XSK_FDS]; /* net_af_xdp: the AF_XDP sockets its setup opened */
    unsigned nxsk;
    bool started, ip_csum_tx;
    bool rx_setup_failed; /* port_probe's last failure was a receive queue's */
    struct rte_mempool *pool; /* every queue's mbufs */
    struct ether_mac mac;
    uint32_t ip;        /* network order */
    uint16_t base_port; /* shard k: base_port + k */
    struct ptrq *inbox[MAX_QUEUES];
    pthread_mutex_t nlock; /* the neighbour entries' ip and refs */
    struct neigh_block *neigh;
    _Atomic uint64_t not_ours, malformed, forwarded, inbox_full, arp_in, arp_out, tx_dropped;
};

static struct port *g_ports;

/* The vdev name, the devargs up to the first comma. */
static void devname(const char *devargs, char *out, size_t len)
{
    size_t n = strcspn(devargs, ",");
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), devargs);
}

/* ---- net_af_xdp's sockets --------------------------------------------- */

/* DPDK 22.11's net_af_xdp, with libxdp 1.3, leaves one AF_XDP socket open
 * when its device is closed (the UMEM's: the library refuses to delete a
 * UMEM it still counts a socket on), and that socket keeps the interface's
 * queue: no AF_XDP socket of this process binds there again (EBUSY). So a
 * port notes which AF_XDP sockets appeared while its device was set up
 * (under g_lock: no other port is set up meanwhile) and closes any of them
 * the driver left open. */
static bool is_xsk(int fd)
{
    int domain = 0;
    socklen_t len = sizeof(domain);
    return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_XDP;
}

/* The AF_XDP sockets open in this process, up to max; how many. */
static unsigned xsk_list(int *fds, unsigned max)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d)) != NULL && n < max;) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != dirfd(d) && is_xsk(fd))
            fds[n++] = fd;
    }
    if (d)
        closedir(d);
    return n;
}

/* Keeps in now[] only the fds not in before[]; how many. */
static unsigned xsk_new(int *now, unsigned n, const int *before, unsigned nb)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        bool old = false;
        for (unsigned j = 0; j < nb && !old; j++)
            old = now[i] == before[j];
        if (!old)
            now[k++] = now[i];
    }
    return k;
}

/* Switches the calling thread into the namespace of fd, returning the
 * one it was in (to give to netns_leave), or -1 when it already was there
 * or cannot switch (the device is then reached as it can be). */
static int netns_enter(int fd)
{
    struct stat want, have;
    int cur = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || cur < 0 || fstat(fd, &want) < 0 || fstat(cur, &have) < 0 ||
        (want.st_ino == have.st_ino && want.st_dev == have.st_dev) || setns(fd, CLONE_NEWNET) < 0) {
        if (cur >= 0)
            close(cur);
        return -1;
    }
    return cur;
}

static void netns_leave(int saved)
{
    if (saved < 0)
        return;
    setns(saved, CLONE_NEWNET);
    close(saved);
}

/* Stops the port's device and removes it (what port_probe got of it). */
static void port_down(struct port *p)
{
    if (p->started) {
        rte_eth_dev_stop(p->id);
        rte_eth_dev_close(p->id);
    }
    if (p->name[0])
        rte_eal_hotplug_remove("vdev", p->name);
    p->started = false;
    p->name[0] = '\0';
}

static void port_free(struct port *p)
{
    /* A driver talks to its interface by index (net_af_xdp takes its XDP
     * program away, net_af_packet closes its sockets): from the namespace
     * the device was opened in, whichever thread closes it. */
    int saved = netns_enter(p->netns);
    port_down(p);
    for (unsigned i = 0; i < p->nxsk; i++)
        if (is_xsk(p->xsk[i]))
            close(p->xsk[i]); /* what the driver left open */
    netns_leave(saved);
    if (p->netns >= 0)
        close(p->netns);
    for (unsigned q = 0; q < MAX_QUEUES && p->inbox[q]; q++) {
        /* What a shard forwarded to one that had already closed. */
        void *m;
        while (ptrq_pop(p->inbox[q], &m, 1))
            rte_pktmbuf_free(m);
        ptrq_free(p->inbox[q]);
    }
    rte_mempool_free(p->pool);
    for (struct neigh_block *b = p->neigh, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    pthread_mutex_destroy(&p->nlock);
    free(p);
}

/* An mbuf pool whose objects lie back to back in one piece of memory.
 * net_af_xdp registers the pool's memory with the kernel as one UMEM of
 * equal frames from the first object on (zero copy): a pool laid out the
 * usual way keeps objects off page boundaries, which without huge pages
 * leaves a gap every 4 KiB, and the kernel then drops the frames whose
 * addresses do not fit (the link stalls). Objects may straddle pages: no
 * device DMAs into them. NULL with rte_errno when it cannot be made. */
static struct rte_mempool *pool_packed(const char *name, unsigned n)
{
    struct rte_pktmbuf_pool_private priv = {.mbuf_data_room_size = RTE_MBUF_DEFAULT_BUF_SIZE};
    struct rte_mempool *mp = rte_mempool_create_empty(
        name, n, sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE, 0, sizeof(priv),
        SOCKET_ID_ANY, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
    if (!mp)
        return NULL;
    int rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL);
    if (rc == 0) {
        rte_pktmbuf_pool_init(mp, &priv);
        rc = rte_mempool_populate_default(mp);
        rc = rc < 0 ? rc : mp->nb_mem_chunks == 1 ? 0 : -ENOMEM;
    }
    if (rc < 0) {
        rte_mempool_free(mp);
        rte_errno = -rc;
        return NULL;
    }
    rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
    return mp;
}

static int port_probe(struct port *p);

/* Makes the port's pool, then probes and starts its device. */
static int port_start(struct port *p, const struct transport_config *cfg)
{
    static _Atomic unsigned pools;
    char pn[RTE_MEMPOOL_NAMESIZE];
    snprintf(pn, sizeof(pn), "ts-%u", atomic_fetch_add(&pools, 1));
    bool xdp = strncmp(p->devargs, "net_af_xdp", 10) == 0;
    unsigned each = cfg->device_mbufs ? cfg->device_mbufs : xdp ? MBUFS_XDP : MBUFS_DEFAULT;
    unsigned n = each * p->nq;
    p->pool = xdp ? pool_packed(pn, n)
                  : rte_pktmbuf_pool_create(pn, n, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!p->pool)
        return err_set(-ENOMEM, "no DPDK mbuf pool of %u mbufs%s (%s): give the EAL more "
                       "memory (-m in --dpdk-args) or ask for fewer", n,
                       xdp ? " in one piece" : "", rte_strerror(rte_errno));
    for (unsigned q = 0; q < p->nq; q++)
        if (!(p->inbox[q] = ptrq_new(INBOX)))
            return err_set(-ENOMEM, "out of memory");
    int before[XSK_FDS];
    unsigned nbefore = xdp ? xsk_list(before, XSK_FDS) : 0;
    /* net_af_xdp: the kernel lets go of a queue an earlier AF_XDP socket
     * was bound to a moment after that socket is closed (its release is
     * deferred), and setting up a receive queue there fails meanwhile;
     * there is nothing to wait on, so the device is set up again, for a
     * second at most. (Other failures are final at once.) */
    int rc;
    for (unsigned i = 0; (rc = port_probe(p)) < 0 && xdp && p->rx_setup_failed && i < 50; i++) {
        port_down(p);
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    if (xdp) {
        p->nxsk = xsk_list(p->xsk, XSK_FDS);
        p->nxsk = xsk_new(p->xsk, p->nxsk, before, nbefore);
    }
    return rc;
}

/* Probes, configures and starts the port's device; 0 or -errno. */
static int port_probe(struct port *p)
{
    if (rte_dev_probe(p->devargs) < 0)
        return err_set(-ENODEV, "DPDK device '%s' did not probe: %s", p->devargs,
                       rte_strerror(rte_errno));
    devname(p->devargs, p->name, sizeof(p->name));
    if (rte_eth_dev_get_port_by_name(p->name, &p->id) != 0)
        return err_set(-ENODEV, "DPDK device '%s' probed with no port (is its interface "
                       "there, in this network namespace?)", p->devargs);
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(p->id, &info);
    if (rc < 0)
        return err_set(rc, "DPDK port %s: no device info: %s", p->name, rte_strerror(-rc));
    if (info.max_rx_queues < p->nq || info.max_tx_queues < p->nq)
        return err_set(-EINVAL, "DPDK port %s has %u rx and %u tx queues; this node's %u "
                       "shards need one each", p->name, info.max_rx_queues,
                       info.max_tx_queues, p->nq);
    if (strcmp(info.driver_name, "net_af_packet") == 0 && info.max_rx_queues != p->nq)
        return err_set(-EINVAL, "DPDK port %s has %u queue pairs and this node %u shards: "
                       "unpolled queues would lose what lands on them (set qpairs=%u)",
                       p->name, info.max_rx_queues, p->nq, p->nq);
    struct rte_eth_conf conf = {0};
    p->ip_csum_tx = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    if (p->ip_csum_tx)
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    if ((rc = rte_eth_dev_configure(p->id, (uint16_t)p->nq, (uint16_t)p->nq, &conf)) < 0)
        return err_set(rc, "DPDK port %s: configure: %s", p->name, rte_strerror(-rc));
    for (unsigned q = 0; q < p->nq; q++) {
        rc = rte_eth_rx_queue_setup(p->id, (uint16_t)q, RX_DESC, SOCKET_ID_ANY, NULL, p->pool);
        p->rx_setup_failed = rc < 0;
        if (rc < 0 || (rc = rte_eth_tx_queue_setup(p->id, (uint16_t)q, TX_DESC, SOCKET_ID_ANY, NULL)) < 0)
            return err_set(rc, "DPDK port %s: queue %u: %s", p->name, q, rte_strerror(-rc));
    }
    if ((rc = rte_eth_dev_start(p->id)) < 0)
        return err_set(rc, "DPDK port %s: start: %s", p->name, rte_strerror(-rc));
    p->started = true;
    struct rte_ether_addr mac;
    rte_eth_macaddr_get(p->id, &mac);
    memcpy(p->mac.b, mac.addr_bytes, 6);
    return 0;
}

/* The port for cfg's device: found (another shard of the node opened it),
 * or made. Under g_lock. */
static int port_get(const struct transport_config *cfg, struct port **out)
{
    for (struct port *p = g_ports; p; p = p->next)
        if (strcmp(p->given, cfg->device) == 0) {
            if (p->nq != cfg->nshards)
                return err_set(-EBUSY, "DPDK device '%s' is in use by another node",
                               cfg->device);
            p->refs++;
            *out = p;
            return 0;
        }
    const struct sockaddr_in *sin = (const struct sockaddr_in *)cfg->listen;
    struct port *p = calloc(1, sizeof(*p));
    if (!p)
        return err_set(-ENOMEM, "out of memory");
    /* net_af_packet spreads over as many sockets as it has qpairs, whether
     * or not their queues are polled: one per shard unless told. */
    bool afp = strncmp(cfg->device, "net_af_packet", 13) == 0;
    snprintf(p->given, sizeof(p->given), "%s", cfg->device);
    snprintf(p->devargs, sizeof(p->devargs), "%s", cfg->device);
    if (afp && !strstr(cfg->device, "qpairs="))
        snprintf(p->devargs, sizeof(p->devargs), "%s,qpairs=%u", cfg->device, cfg->nshards);
    p->nq = cfg->nshards;
    p->refs = 1;
    p->netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    p->ip = sin->sin_addr.s_addr;
    p->base_port = ntohs(sin->sin_port);
    pthread_mutex_init(&p->nlock, NULL);
    int rc = port_start(p, cfg);
    if (rc < 0) {
        port_free(p);
        return rc;
    }
    p->next = g_ports;
    g_ports = p;
    *out = p;
    return 0;
}

static void port_put(struct port *p)
{
    pthread_mutex_lock(&g_lock);
    if (--p->refs == 0) {
        for (struct port **pp = &g_ports; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        port_free(p);
    }
    pthread_mutex_unlock(&g_lock);
}

/* The entry for ip, referenced once more: the one in use, or a free one
 * (its MAC unknown). NULL when out of memory. */
static struct neigh *neigh_get(struct port *p, uint32_t ip)
{
    struct neigh *free_e = NULL, *got = NULL;
    pthread_mutex_lock(&p->nlock);
    for (struct neigh_block *b = p->neigh; b && !got; b = b->next)
        for (unsigned i = 0; i < NEIGH_BLOCK && !got; i++) {
            struct neigh *e = &b->e[i];
            if (e->refs && e->ip == ip)
                got = e;
            else if (!e->refs && !free_e)
                free_e = e;
        }
    if (!got && !free_e) {
        struct neigh_block *b = calloc(1, sizeof(*b));
        if (b) {
            b->next = p->neigh;
            p->neigh = b;
            free_e = &b->e[0];
        }
    }
    if (!got && free_e) {
        got = free_e;
        got->ip = ip;
        atomic_store_explicit(&got->mac, 0, memory_order_relaxed);
    }
    if (got)
        got->refs++;
    pthread_mutex_unlock(&p->nlock);
    return got;
}

static void neigh_put(struct port *p, struct neigh *e)
{
    pthread_mutex_lock(&p->nlock);
    if (--e->refs == 0)
        atomic_store_explicit(&e->mac, 0, memory_order_relaxed);
    pthread_mutex_unlock(&p->nlock);
}

static void neigh_learn(struct neigh *e, const struct ether_mac *mac)
{
    uint64_t v = UINT64_C(1) << 63;
    for (int k = 0; k < 6; k++)
        v |= (uint64_t)mac->b[k] << (8 * k);
    /* Every datagram teaches it: write only what changed (the line is shared). */
    if (atomic_load_explicit(&e->mac, memory_order_relaxed) != v)
        atomic_store_explicit(&e->mac, v, memory_order_relaxed);
}

static bool neighbour(const struct neigh *e, struct ether_mac *mac)
{
    uint64_t v = atomic_load_explicit(&e->mac, memory_order_relaxed);
    for (int k = 0; k < 6; k++)
        mac->b[k] = (uint8_t)(v >> (8 * k));
    return v >> 63;
}

/* ---- one shard's instance --------------------------------------------- */

/* A peer node: where it is, and its address's entry on the port. */
struct dpeer {
    uint32_t ip;        /* network order (first: what peer_of scans) */
    uint16_t port;      /* network order */
    uint16_t node;
    struct neigh *nb;
    uint64_t arp_asked; /* when we last asked for its MAC */
};

struct transport {
    struct transport_config cfg;
    struct port *p;
    struct rel *rel;
    uint16_t q;
    uint16_t ip_id;
    size_t dgram;
    struct rte_mbuf *pending; /* handed to rel_output, not yet emitted */
    struct rte_mbuf *tx[BURST];
    unsigned ntx;
    struct dpeer *peers; /* the peer table (the same nodes as rel's); it moves */
    unsigned npeers, cappeers; /* when it grows: nothing keeps a pointer into it */
    uint64_t now;
    bool asked_all; /* shard 0: the peers' MACs asked for, at the first poll
                       after open or peer_set */
};

/* The peer at ip (any of them: they share the entry), or -1. */
static int peer_of(const struct transport *t, uint32_t ip)
{
    for (unsigned i = 0; i < t->npeers; i++)
        if (t->peers[i].ip == ip)
            return (int)i;
    return -1;
}

static void learn(struct transport *t, uint32_t ip, const struct ether_mac *mac)
{
    int i = peer_of(t, ip);
    if (i >= 0)
        neigh_learn(t->peers[i].nb, mac);
}

static void tx_flush(struct transport *t)
{
    unsigned sent = t->ntx ? rte_eth_tx_burst(t->p->id, t->q, t->tx, (uint16_t)t->ntx) : 0;
    for (unsigned i = sent; i < t->ntx; i++) { /* the device is full: rel resends */
        rte_pktmbuf_free(t->tx[i]);
        atomic_fetch_add_explicit(&t->p->tx_dropped, 1, memory_order_relaxed);
    }
    t->ntx = 0;
}

static void tx_add(struct transport *t, struct rte_mbuf *m)
{
    t->tx[t->ntx++] = m;
    if (t->ntx == BURST)
        tx_flush(t);
}

static void arp_send(struct transport *t, enum ether_arp_op op, const struct ether_mac *tha,
                     uint32_t tpa)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(t->p->pool);
    uint8_t *b = m ? (uint8_t *)rte_pktmbuf_append(m, ETHER_ARP_FRAME) : NULL;
    if (!b) {
        rte_pktmbuf_free(m);
        return;
    }
    ether_arp_write(b, op, &t->p->mac, t->p->ip, tha, tpa);
    atomic_fetch_add_explicit(&t->p->arp_out, 1, memory_order_relaxed);
    tx_add(t, m);
}

static unsigned char *tx_buf(void *arg)
{
    struct transport *t = arg;
    t->pending = rte_pktmbuf_alloc(t->p->pool);
    return t->pending ? rte_pktmbuf_mtod_offset(t->pending, unsigned char *, ETHER_UDP_HDRS) : NULL;
}

static void tx_emit(void *arg, unsigned char *buf, size_t len, const struct sockaddr *to,
                    socklen_t tolen)
{
    struct transport *t = arg;
    struct rte_mbuf *m = t->pending;
    t->pending = NULL;
    (void)buf;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)to;
    int i = len && tolen >= sizeof(*sin) ? peer_of(t, sin->sin_addr.s_addr) : -1;
    struct ether_mac dst;
    if (i < 0 || !neighbour(t->peers[i].nb, &dst)) {
        /* Not resolved yet: ask (now and then); rel resends the datagram. */
        if (i >= 0 && t->now - t->peers[i].arp_asked >= ARP_RETRY_NS) {
            t->peers[i].arp_asked = t->now;
            arp_send(t, ETHER_ARP_REQUEST, &ether_broadcast, sin->sin_addr.s_addr);
        }
        rte_pktmbuf_free(m);
        return;
    }
    uint8_t *b = rte_pktmbuf_mtod(m, uint8_t *);
    ether_udp_write(b, &t->p->mac, &dst, t->p->ip, (uint16_t)(t->p->base_port + t->q),
                    sin->sin_addr.s_addr, ntohs(sin->sin_port), len, t->ip_id++, t->p->ip_csum_tx);
    m->data_len = (uint16_t)(ETHER_UDP_HDRS + len);
    m->pkt_len = m->data_len;
    if (t->p->ip_csum_tx) {
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
        m->l2_len = ETHER_HDR;
        m->l3_len = ETHER_IPV4_HDR;
    }
    tx_add(t, m);
}

/* A datagram for this shard: into the reliability layer, in place. */
static void udp_in(struct transport *t, const struct ether_info *e)
{
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(e->src_port),
                               .sin_addr.s_addr = e->src_ip};
    rel_input(t->rel, t->now, e->payload, e->len, (const struct sockaddr *)&from, sizeof(from));
}

/* One frame from the device's queue (forwarded: from another shard's). */
static void frame_in(struct transport *t, struct rte_mbuf *m, bool forwarded)
{
    struct port *p = t->p;
    if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) < 0) {
        atomic_fetch_add_explicit(&p->malformed, 1, memory_order_relaxed);
        rte_pktmbuf_free(m);
        return;
    }
    struct ether_info e;
    bool csum_ok = (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    int rc = ether_parse(rte_pktmbuf_mtod(m, const void *), m->data_len, csum_ok, &e);
    if (rc < 0) {
        atomic_fetch_add_explicit(&p->malformed, 1, memory_order_relaxed);
    } else if (e.kind == ETHER_ARP) {
        atomic_fetch_add_explicit(&p->arp_in, 1, memory_order_relaxed);
        learn(t, e.arp_spa, &e.arp_sha);
        if (e.arp_op == ETHER_ARP_REQUEST && e.arp_tpa == p->ip)
            arp_send(t, ETHER_ARP_REPLY, &e.arp_sha, e.arp_spa);
    } else if (e.kind == ETHER_UDP && e.dst_ip == p->ip && e.dst_port >= p->base_port &&
               e.dst_port - p->base_port < (int)p->nq) {
        unsigned q = e.dst_port - p->base_port;
        if (!forwarded)
            learn(t, e.src_ip, &e.src_mac);
        if (q != t->q) {
            if (ptrq_push(p->inbox[q], m)) {
                atomic_fetch_add_explicit(&p->forwarded, 1, memory_order_relaxed);
                return; /* that shard frees it */
            }
            atomic_fetch_add_explicit(&p->inbox_full, 1, memory_order_relaxed);
        } else {
            udp_in(t, &e);
        }
    } else {
        atomic_fetch_add_explicit(&p->not_ours, 1, memory_order_relaxed);
    }
    rte_pktmbuf_free(m);
}

/* Shard 0 asks for every peer's MAC as soon as it runs (and after a peer
 * is set), so that the first datagram to a peer is not dropped for want of
 * it (and resent a retransmission timeout later). Answers teach every
 * shard. */
static void arp_all(struct transport *t)
{
    t->asked_all = true;
    for (unsigned i = 0; t->q == 0 && i < t->npeers; i++) {
        struct dpeer *d = &t->peers[i];
        struct ether_mac mac;
        if (neighbour(d->nb, &mac) || (d->arp_asked && t->now - d->arp_asked < ARP_RETRY_NS))
            continue;
        d->arp_asked = t->now;
        arp_send(t, ETHER_ARP_REQUEST, &ether_broadcast, d->ip);
    }
}

static int dpdk_poll(struct transport *t)
{
    struct rte_mbuf *rx[BURST];
    int n = 0;
    t->now = transport_now_ns();
    if (!t->asked_all)
        arp_all(t);
    uint16_t k = rte_eth_rx_burst(t->p->id, t->q, rx, BURST);
    for (uint16_t i = 0; i < k; i++)
        frame_in(t, rx[i], false);
    n += k;
    unsigned f = ptrq_pop(t->p->inbox[t->q], (void **)rx, BURST);
    for (unsigned i = 0; i < f; i++)
        frame_in(t, rx[i], true);
    n += (int)f;
    n += rel_output(t->rel, t->now, tx_buf, tx_emit, t);
    tx_flush(t);
    return n;
}

static int dpdk_send(struct transport *t, uint16_t node, const struct transport_msg *msgs, unsigned n)
{
    return rel_send(t->rel, node, msgs, n);
}

static void dpdk_close(struct transport *t)
{
    if (!t)
        return;
    if (t->p) {
        tx_flush(t);
        void *m;
        while (ptrq_pop(t->p->inbox[t->q], &m, 1))
            rte_pktmbuf_free(m);
        for (unsigned i = 0; i < t->npeers; i++)
            neigh_put(t->p, t->peers[i].nb);
        port_put(t->p);
    }
    rel_close(t->rel);
    free(t->peers);
    free(t);
}

/* What open needs of the configuration; 0 or -EINVAL saying why. */
static int check_config(const struct transport_config *cfg)
{
    if (!cfg->device || !cfg->device[0])
        return err_set(-EINVAL, "the dpdk transport needs a device (--dpdk-vdev, e.g. "
                       "net_af_packet0,iface=eth1)");
    if (!cfg->listen || cfg->listen->sa_family != AF_INET)
        return err_set(-EINVAL, "the dpdk transport needs the node's IPv4 address and port "
                       "(--listen dpdk://ADDR:PORT): it is a host of its own on the device");
    const struct sockaddr_in *sin = (const struct sockaddr_in *)cfg->listen;
    if (sin->sin_addr.s_addr == htonl(INADDR_ANY) || !sin->sin_port)
        return err_set(-EINVAL, "the dpdk transport needs a definite address and port to "
                       "listen on, not 0.0.0.0 or port 0");
    unsigned nshards = cfg->nshards ? cfg->nshards : 1;
    if (nshards > MAX_QUEUES || cfg->shard >= nshards)
        return err_set(-EINVAL, "the dpdk transport takes at most %u shards", MAX_QUEUES);
    if (ntohs(sin->sin_port) + nshards - 1 > 65535)
        return err_set(-EINVAL, "port %u + %u shards is beyond 65535", ntohs(sin->sin_port),
                       nshards);
    for (unsigned i = 0; i < cfg->npeers; i++)
        if (cfg->peers[i].addr.ss_family != AF_INET)
            return err_set(-EINVAL, "the dpdk transport reaches IPv4 peers only (node %u)",
                           cfg->peers[i].node);
    return 0;
}

/* Appends peer to the instance's table (room made already, or made now). */
static int dpeer_add(struct transport *t, const struct transport_peer *peer)
{
    if (t->npeers == t->cappeers) {
        struct dpeer *d = realloc(t->peers, 2 * t->cappeers * sizeof(*d));
        if (!d)
            return err_set(-ENOMEM, "out of memory adding node %u", peer->node);
        t->peers = d;
        t->cappeers *= 2;
    }
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&peer->addr;
    struct neigh *nb = neigh_get(t->p, sin->sin_addr.s_addr);
    if (!nb)
        return err_set(-ENOMEM, "out of memory adding node %u", peer->node);
    t->peers[t->npeers++] = (struct dpeer){.ip = sin->sin_addr.s_addr, .port = sin->sin_port,
                                           .node = peer->node, .nb = nb};
    return 0;
}

static int dpdk_open(const struct transport_config *cfg_in, struct transport **out)
{
    struct transport_config cfg = *cfg_in;
    cfg.nshards = cfg.nshards ? cfg.nshards : 1;
    int rc = check_config(&cfg);
    if (rc < 0)
        return rc;
    struct transport *t = calloc(1, sizeof(*t));
    if (t)
        t->cappeers = cfg.npeers > 4 ? cfg.npeers : 4;
    if (!t || !(t->peers = calloc(t->cappeers, sizeof(*t->peers)))) {
        free(t);
        return err_set(-ENOMEM, "out of memory");
    }
    t->cfg = cfg;
    t->cfg.peers = NULL; /* copied (rel's and ours): the caller's may go */
    t->q = cfg.shard;
    t->dgram = cfg.dgram_max ? cfg.dgram_max : ETHER_UDP_PAYLOAD(MTU);
    if (t->dgram > ETHER_UDP_PAYLOAD(MTU))
        t->dgram = ETHER_UDP_PAYLOAD(MTU);
    pthread_mutex_lock(&g_lock);
    rc = eal_up(cfg.device_args);
    if (rc == 0)
        rc = port_get(&cfg, &t->p);
    pthread_mutex_unlock(&g_lock);
    struct rel_config rcf = {.node = cfg.node, .shard = cfg.shard, .peers = cfg.peers,
                             .npeers = cfg.npeers, .dgram_max = t->dgram,
                             .max_msg = cfg.max_msg, .queue_limit = cfg.queue_limit,
                             .deliver = cfg.deliver, .event = cfg.event, .arg = cfg.arg};
    if (rc == 0)
        rc = rel_open(&rcf, &t->rel);
    for (unsigned i = 0; rc == 0 && i < cfg.npeers; i++)
        rc = dpeer_add(t, &cfg.peers[i]);
    if (rc < 0) {
        dpdk_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

static unsigned dpdk_stats(struct transport *t, struct transport_link_stats *out, unsigned max)
{
    return rel_stats(t->rel, out, max);
}

static int dpdk_local(struct transport *t, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = t->p->ip,
                              .sin_port = htons((uint16_t)(t->p->base_port + t->q))};
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, &sin, sizeof(sin));
    *len = sizeof(sin);
    return 0;
}

/* The port's figures: the device's counters and ours (shared by the
 * node's shards, so any instance gives the same). */
static unsigned dpdk_device_stats(struct transport *t, struct transport_device_stats *out)
{
    struct port *p = t->p;
    struct rte_eth_stats s = {0};
    rte_eth_stats_get(p->id, &s); /* a device without counters: zeros */
    *out = (struct transport_device_stats){
        .rx_packets = s.ipackets, .tx_packets = s.opackets, .rx_bytes = s.ibytes,
        .tx_bytes = s.obytes, .rx_missed = s.imissed, .rx_errors = s.ierrors,
        .tx_errors = s.oerrors, .rx_nombuf = s.rx_nombuf};
    snprintf(out->name, sizeof(out->name), "%s", p->name);
#define LOAD(f) out->f = atomic_load_explicit(&p->f, memory_order_relaxed)
    LOAD(not_ours);
    LOAD(malformed);
    LOAD(forwarded);
    LOAD(inbox_full);
    LOAD(arp_in);
    LOAD(arp_out);
    LOAD(tx_dropped);
#undef LOAD
    return 1;
}

/* ---- the peer table at runtime ----------------------------------------- */

static int node_of(const struct transport *t, uint16_t node)
{
    for (unsigned i = 0; i < t->npeers; i++)
        if (t->peers[i].node == node)
            return (int)i;
    return -1;
}

/* rel's table first (it refuses from inside a callback), then ours; what
 * ours needs is had before, so a failure leaves both as they were. */
static int dpdk_peer_set(struct transport *t, const struct transport_peer *peer)
{
    int rc = transport_peer_check(peer, AF_INET, "dpdk");
    if (rc < 0)
        return rc;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&peer->addr;
    int i = node_of(t, peer->node);
    if (i >= 0 && t->peers[i].ip == sin->sin_addr.s_addr && t->peers[i].port == sin->sin_port)
        return rel_peer_set(t->rel, peer); /* the same address: nothing changes (or -EBUSY) */
    struct neigh *nb = neigh_get(t->p, sin->sin_addr.s_addr);
    if (!nb)
        return err_set(-ENOMEM, "out of memory adding node %u", peer->node);
    if (i < 0 && t->npeers == t->cappeers) {
        struct dpeer *d = realloc(t->peers, 2 * t->cappeers * sizeof(*d));
        if (!d) {
            neigh_put(t->p, nb);
            return err_set(-ENOMEM, "out of memory adding node %u", peer->node);
        }
        t->peers = d;
        t->cappeers *= 2;
    }
    if ((rc = rel_peer_set(t->rel, peer)) < 0) {
        neigh_put(t->p, nb);
        return rc;
    }
    if (i < 0) {
        i = (int)t->npeers++;
    } else {
        /* Moved (a restarted member, maybe another host or device): the
         * MAC learned for the new address may be stale, so it is asked
         * again. */
        neigh_put(t->p, t->peers[i].nb);
        atomic_store_explicit(&nb->mac, 0, memory_order_relaxed);
    }
    t->peers[i] = (struct dpeer){.ip = sin->sin_addr.s_addr, .port = sin->sin_port,
                                 .node = peer->node, .nb = nb};
    t->asked_all = false; /* shard 0 asks at the next poll */
    return 0;
}

static int dpdk_peer_del(struct transport *t, uint16_t node)
{
    int rc = rel_peer_del(t->rel, node);
    int i = node_of(t, node);
    if (rc >= 0 && i >= 0) {
        neigh_put(t->p, t->peers[i].nb);
        t->peers[i] = t->peers[--t->npeers];
    }
    return rc;
}

const struct transport_ops transport_dpdk = {
    .name = "dpdk",
    .open = dpdk_open,
    .send = dpdk_send,
    .poll = dpdk_poll,
    .close = dpdk_close,
    .stats = dpdk_stats,
    .local = dpdk_local,
    .device_stats = dpdk_device_stats,
    .peer_set = dpdk_peer_set,
    .peer_del = dpdk_peer_del,
};
