// SPDX-License-Identifier: MIT
//
// dpdk_hosts.h — DPDK nodes in tests: two hosts (network namespaces) joined
// by a bare veth pair, each dpdk node an IPv4 host of its own with its port
// on its end; the poll-mode drivers they can use here (net_af_packet,
// net_af_xdp: virtual devices, no NIC); and the EAL arguments of the
// process, with or without 2 MiB huge pages.
//
// The EAL is set up once per process, by its first dpdk node, so a process
// runs all its dpdk nodes either on huge pages or without: the choice is
// the environment's, TS_TEST_DPDK_HUGE=1 for huge pages (meson registers
// the suites once each way). The pages, their hugetlbfs mount and a bpf
// filesystem mounted for net_af_xdp are the process's own, released after
// its last test.
#ifndef TS_TEST_SUPPORT_DPDK_HOSTS_H
#define TS_TEST_SUPPORT_DPDK_HOSTS_H

#include <cstdint>
#include <memory>
#include <string>

#include <thespis/thespis.h>

#include "netfault.h"

namespace tst {

// Whether a dpdk node on the driver `pmd` ("net_af_packet", "net_af_xdp")
// can run here: DPDK in this build, namespaces (root), huge pages when the
// environment asks for them, and for net_af_xdp a bpf filesystem (mounted
// for the process when there is none). Otherwise false and why, for a
// skip. Probed once per process and driver.
bool DpdkUsable(const std::string &pmd, std::string *why);

// Devargs of a device of driver pmd on interface iface, named uniquely in
// this process (the EAL's device names are per process).
std::string DpdkVdev(const std::string &pmd, const std::string &iface);

// Sets cfg's dpdk fields for a node on pmd over iface: the device (its
// devargs kept in *vdev, which must outlive the open), the process's EAL
// arguments and the mbufs the driver needs.
void DpdkConfigure(ts_config *cfg, const std::string &pmd, const std::string &iface,
                   std::string *vdev);

// Two hosts for dpdk nodes: namespaces a and b and a bare veth pair
// between them. Node 1 is 192.0.2.1 on a's end, node 2 192.0.2.2 on b's.
// Host a's kernel also has 192.0.2.3 on its end, with b's end's MAC as the
// static neighbour of 192.0.2.2, so a test can send node 2 datagrams of
// its own making (RawSocket) whichever driver node 2 uses.
class DpdkHosts {
  public:
    DpdkHosts();
    ~DpdkHosts();
    DpdkHosts(const DpdkHosts &) = delete;
    DpdkHosts &operator=(const DpdkHosts &) = delete;
    bool ok() const { return error_.empty(); }
    const std::string &error() const { return error_; }
    // Host 1 (a) or 2 (b), and the interface its node's port is on.
    Netns &Host(int node) { return node == 1 ? a_ : b_; }
    const std::string &Iface(int node) const;
    // "192.0.2.1" or "192.0.2.2".
    static std::string Ip(int node);
    // A UDP socket of host a's kernel (192.0.2.3) connected to node 2's
    // port; -1 and errno when that fails.
    int RawSocket(uint16_t port);

  private:
    Netns a_, b_;
    std::unique_ptr<VethPair> wire_;
    std::string error_;
};

} // namespace tst

#endif
