// SPDX-License-Identifier: MIT
//
// netfault.h — faulty networks for multi-host tests.
//
// FaultRelay is a UDP relay between two nodes on one host that drops,
// duplicates, reorders and delays datagrams, every decision drawn from one
// seeded generator so that a failure can be replayed from its seed.
//
// Netns, InNetns, VethPair and Switch put nodes "on different hosts" inside
// one test process: each node is started while the calling thread is inside
// its own network namespace, the namespaces are joined by veth links (two
// directly, more through a Switch's bridge), and nftables rules in a
// namespace lose or cut its traffic. They need root, iproute2 and nftables;
// a test calls NetnsAvailable() (or SwitchAvailable()) first and skips with
// its reason.
//
// Nothing here aborts: constructors report through ok()/error(), other calls
// return false and describe the failure (the command and its output) in
// *err when err is not null.
#ifndef TS_TEST_SUPPORT_NETFAULT_H
#define TS_TEST_SUPPORT_NETFAULT_H

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace tst {

// ------------------------------------------------------------------------
// Commands and addresses.
// ------------------------------------------------------------------------

// Runs argv[0] (searched in PATH) with argv, feeding it input on stdin, and
// waits for it. *out (if not null) receives its stdout followed by its
// stderr. True if it exited with status 0; otherwise *out starts with the
// command line and how it ended, followed by that output.
bool Run(const std::vector<std::string> &argv, std::string *out,
         const std::string &input = std::string());

// An IPv4 address and port; false if ip is not a dotted quad.
bool Ipv4(const std::string &ip, uint16_t port, sockaddr_in *out);
// "192.0.2.1:5000", for peer lists and failure messages.
std::string HostPort(const sockaddr_in &a);

// ------------------------------------------------------------------------
// FaultRelay.
// ------------------------------------------------------------------------

// The faults a relay applies to each datagram. Probabilities are in [0, 1].
struct Faults {
    double drop = 0, dup = 0;    // lose it; send it twice
    unsigned reorder_window = 0; // >1: release groups of this many shuffled
    unsigned delay_us = 0, jitter_us = 0; // hold each copy delay + [0, jitter]
};

// A relay between node A and node B:
//
//     A <-> [side a  relay  side b] <-> B
//
// A is told that B lives at the side-a socket, B that A lives at the side-b
// socket. A datagram received on side a is sent from the side-b socket to
// B's address, one received on side b from the side-a socket to A's address.
// A side's peer address is the configured one (RelayConfig) or, when its port
// is 0, the source of the last datagram received on that side. A peer that
// sends from several sockets (one per shard) is answered at the configured
// address, or at whichever socket sent last: the relay keeps one address per
// side, not a map from source sockets to relay sockets.
//
// Each datagram goes through: link cut → drop → duplicate → reorder window →
// delay → send. Drop and duplicate are decided by a generator seeded with
// RelayConfig::seed that draws two numbers per datagram, so the n-th datagram
// to arrive (on either side) meets the same fate in every run with that seed.
// Shuffles and jitter come from a second generator derived from the seed;
// they repeat when the windows fill the same way, which depends on timing.
// A reorder window that does not fill within kReorderFlushUs is released
// anyway, so the last datagrams of a burst are never held forever. While the
// link is cut, arriving datagrams and copies due to be sent are dropped.
//
// One thread per relay, asleep in ppoll() until a datagram arrives or a held
// one is due.
struct RelayConfig {
    uint64_t seed = 1;
    std::string bind_ip = "127.0.0.1"; // both relay sockets
    uint16_t port_a = 0, port_b = 0;   // 0: an ephemeral port
    sockaddr_in peer_a{}, peer_b{};    // sin_port 0: learn from traffic
    Faults faults;
};

class FaultRelay {
  public:
    enum Dir { kAtoB = 0, kBtoA = 1 };
    static constexpr unsigned kReorderFlushUs = 2000;

    // Counts per direction, a snapshot of the relay's atomics. `received` is
    // bumped after the datagram's fate is counted, so a test that waits for
    // received == n sees the drop/duplicate counts of the first n. Held
    // copies are counted when they leave.
    struct Stats {
        uint64_t received = 0;   // datagrams read from the side's socket
        uint64_t forwarded = 0;  // copies sent (duplicates included)
        uint64_t dropped = 0;    // datagrams or copies discarded (faults, cut)
        uint64_t duplicated = 0; // datagrams sent twice
        uint64_t reordered = 0;  // copies released at another place in their window
        uint64_t corrupted = 0;  // datagrams changed (Faults::corrupt)
        uint64_t unroutable = 0; // peer address not known yet: discarded
        uint64_t send_failed = 0;
    };

    // Binds both sockets and starts the thread; check ok().
    explicit FaultRelay(const RelayConfig &cfg);
    // Stop().
    ~FaultRelay();
    FaultRelay(const FaultRelay &) = delete;
    FaultRelay &operator=(const FaultRelay &) = delete;

    bool ok() const { return error_.empty(); }
    const std::string &error() const { return error_; }

    uint64_t Seed() const { return seed_; }
    // The relay's own sockets: give A the side-a address, B the side-b one.
    uint16_t PortA() const;
    uint16_t PortB() const;
    sockaddr_in AddrA() const { return bound_[0]; }
    sockaddr_in AddrB() const { return bound_[1]; }

    // Thread-safe; applies to datagrams arriving from now on.
    void SetFaults(const Faults &f);
    // Not empty: in each datagram that holds these bytes, the first of them
    // is flipped (^ 0x20) on its way, a transfer corrupted in flight that no
    // check of the transports notices. Draws no random number. Thread-safe.
    void Corrupt(const std::string &marker);
    // While true, everything is dropped (a link cut). Thread-safe.
    void Cut(bool cut);
    // Sets where traffic in direction d goes (kAtoB: B's address); port 0
    // learns it from traffic again. Thread-safe.
    void SetPeer(Dir d, const sockaddr_in &addr);

    Stats Counters(Dir d) const;
    Stats Total() const;

    // Waits until pred() is true, re-checking each time the relay's counters
    // change; false if timeout_ms passes first. pred must not call Wait.
    bool Wait(const std::function<bool()> &pred, int timeout_ms);

    // Stops the thread, discards held datagrams, closes the sockets.
    // Idempotent.
    void Stop();

  private:
    using Clock = std::chrono::steady_clock;
    struct Packet {
        Clock::time_point due;
        uint64_t order;
        int dir;
        sockaddr_in dst;
        std::vector<unsigned char> data;
    };
    struct Atomics {
        std::atomic<uint64_t> received{0}, forwarded{0}, dropped{0}, duplicated{0},
            reordered{0}, unroutable{0}, send_failed{0}, corrupted{0};
    };
    struct Side {
        std::vector<Packet> window;  // the reorder window, in arrival order
        Clock::time_point window_due; // when a partial window is released
    };

    bool Open(const RelayConfig &cfg);
    void Loop();
    bool NextDue(Clock::time_point *due) const;
    void ReadSide(int side, Clock::time_point now);
    void Admit(int dir, const sockaddr_in &src, std::vector<unsigned char> data,
               Clock::time_point now);
    void Enqueue(Packet p, const Faults &f, Clock::time_point now);
    void Delay(Packet p, const Faults &f, Clock::time_point now);
    void ReleaseWindows(const Faults &f, Clock::time_point now);
    void ReleaseWindow(int dir, const Faults &f, Clock::time_point now);
    void SendDue(Clock::time_point now);
    void Send(const Packet &p);
    static double Uniform(std::mt19937_64 &g);
    void Notify();

    std::string error_;
    uint64_t seed_;
    int fd_[2] = {-1, -1}; // side a, side b
    int wake_ = -1;        // eventfd: Stop() wakes the thread
    sockaddr_in bound_[2]{};
    std::thread thread_;

    mutable std::mutex mu_; // guards faults_, peer_, and the wait condition
    std::condition_variable changed_;
    Faults faults_;
    std::string corrupt_;
    sockaddr_in peer_[2]{}; // configured peers; sin_port 0 = learn
    std::atomic<bool> cut_{false}, stop_{false};
    Atomics stats_[2];

    // Relay thread only. fate_ draws exactly two numbers per datagram (drop,
    // duplicate), so which datagrams are lost or doubled depends only on the
    // seed and the arrival order; order_rng_ draws jitter and shuffles, whose
    // count depends on how windows fill.
    std::mt19937_64 fate_, order_rng_;
    sockaddr_in learned_[2]{}; // learned destination per direction
    std::vector<unsigned char> buf_;
    Side sides_[2];
    std::vector<Packet> delayed_; // a min-heap on (due, order)
    uint64_t order_ = 0;
};

// ------------------------------------------------------------------------
// Network namespaces.
// ------------------------------------------------------------------------

// True if this process can create namespaces, veth links and nftables rules
// (root, `ip` and `nft` in PATH, and a probe namespace works). Otherwise
// false with the reason in *why. The probe runs once per process.
bool NetnsAvailable(std::string *why);

// A network namespace named Prefix() + counter with `lo` up, deleted by the
// destructor (a failed test included). A process that dies without running
// destructors (a crash, SIGKILL) leaves its namespaces behind; their names
// carry its pid so they can be told apart and removed with `ip netns del`.
class Netns {
  public:
    Netns();
    ~Netns();
    Netns(const Netns &) = delete;
    Netns &operator=(const Netns &) = delete;

    bool ok() const { return error_.empty(); }
    const std::string &error() const { return error_; }
    const std::string &Name() const { return name_; }

    // "tsn-<pid>-": every namespace this process creates starts with it.
    static std::string Prefix();

    // Loses percent% of the datagrams this namespace sends out of its links
    // (not lo), or of all its outgoing packets when udp_only is false: an
    // nftables egress rule `numgen random mod 100 < percent drop` on each
    // link. Drawn by the kernel, so not reproducible; 0 removes it, >= 100
    // drops everything.
    bool AddLoss(int percent, bool udp_only = true, std::string *err = nullptr);
    // While on, every packet in or out of this namespace's links is dropped
    // (a cut cable; lo keeps working).
    bool DropAll(bool on, std::string *err = nullptr);
    // Removes every rule (AddLoss(0) and DropAll(false)).
    bool ClearRules(std::string *err = nullptr);
    // Packets the rules dropped since they were last changed.
    bool DroppedPackets(uint64_t *n, std::string *err = nullptr) const;

    // The rules are silent: a drop happens at the link, so the sender's
    // sendto() succeeds, as it would on a lossy wire (an nftables output-hook
    // drop would fail sendto() with EPERM instead). They cover the links
    // present when the rules or the links change (VethPair re-applies them).

  private:
    friend class VethPair;
    bool Apply(std::string *err);

    std::string name_;
    std::string error_;
    bool created_ = false;
    int loss_ = 0;
    bool udp_only_ = true;
    bool drop_all_ = false;
};

// Switches the calling thread into ns until destroyed, then back to the
// namespace it was in. Sockets made meanwhile belong to ns; threads started
// meanwhile stay in ns for their whole life (so a node started inside runs
// "on that host").
class InNetns {
  public:
    explicit InNetns(const Netns &ns);
    ~InNetns();
    InNetns(const InNetns &) = delete;
    InNetns &operator=(const InNetns &) = delete;

    bool ok() const { return error_.empty(); }
    const std::string &error() const { return error_; }

  private:
    int saved_ = -1; // the thread's namespace before
    std::string error_;
};

// A veth link between a and b, ip_a/24 on a's end and ip_b/24 on b's, both
// up. Addresses must be in 192.0.2.0/24 or 198.51.100.0/24 (documentation
// ranges, never routed), both in the same one. An empty ip_b leaves b's end
// without an address (a switch port); both empty, a bare wire (for nodes
// that are IP hosts of their own on it, as DPDK's). The link is deleted by the
// destructor; declare it after both namespaces.
class VethPair {
  public:
    VethPair(Netns &a, Netns &b, const std::string &ip_a, const std::string &ip_b);
    ~VethPair();
    VethPair(const VethPair &) = delete;
    VethPair &operator=(const VethPair &) = delete;

    bool ok() const { return error_.empty(); }
    const std::string &error() const { return error_; }
    const std::string &NameA() const { return dev_a_; }
    const std::string &NameB() const { return dev_b_; }

    // Sets both ends down (the connected routes go: sendto() across the link
    // fails with ENETUNREACH) or up again.
    bool Down(std::string *err = nullptr);
    bool Up(std::string *err = nullptr);

  private:
    bool SetState(const char *state, std::string *err);

    std::string ns_a_, ns_b_, dev_a_, dev_b_;
    std::string error_;
    bool created_ = false;
};

// True if NetnsAvailable() and a Switch can be made (the kernel has
// bridges); otherwise false with the reason in *why. Probed once.
bool SwitchAvailable(std::string *why);

// An Ethernet switch joining any number of namespaces ("hosts"): a Linux
// bridge in a namespace of its own, and for each attached namespace a veth
// link from it to a port of the bridge. Rules of an attached namespace
// (Netns::DropAll, AddLoss) act on its link alone, so one host can be cut
// off while the others keep talking. The links, the bridge and the
// switch's namespace are deleted by the destructor; declare it after the
// namespaces it joins.
class Switch {
  public:
    Switch();
    Switch(const Switch &) = delete;
    Switch &operator=(const Switch &) = delete;

    bool ok() const { return error_.empty(); }
    const std::string &error() const { return error_; }

    // Links ns to a new port of the switch, with ip/24 on ns's end. The
    // addresses of one switch must share 192.0.2.0/24 or 198.51.100.0/24,
    // each used once (as for VethPair).
    bool Attach(Netns &ns, const std::string &ip, std::string *err = nullptr);

  private:
    Netns ns_; // holds the bridge
    std::string error_;
    std::vector<std::string> ips_; // attached so far
    std::vector<std::unique_ptr<VethPair>> ports_; // deleted before ns_
};

// The namespaces `ip netns list` shows whose names start with prefix.
bool ListNetns(const std::string &prefix, std::vector<std::string> *names,
               std::string *err = nullptr);

} // namespace tst

#endif
