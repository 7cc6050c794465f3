// SPDX-License-Identifier: MIT
// netfault.cc — the fault-injecting UDP relay and the network namespaces.
#include "netfault.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

extern char **environ;

namespace tst {

// ------------------------------------------------------------------------
// Commands and addresses.
// ------------------------------------------------------------------------

namespace {

std::string Join(const std::vector<std::string> &argv)
{
    std::string s;
    for (const std::string &a : argv)
        s += (s.empty() ? "" : " ") + a;
    return s;
}

std::string Errno(const char *what, int err)
{
    return std::string(what) + ": " + std::strerror(err);
}

// A memfd holding input, positioned at its start: the child's stdin (a
// file rather than a pipe, so a child that exits without reading cannot
// leave us blocked in write() or killed by SIGPIPE), or its stderr (read
// after it exits, so it cannot interleave with stdout).
int MemFd(const std::string &input, std::string *err)
{
    int fd = memfd_create("tst-run", MFD_CLOEXEC);
    if (fd < 0) {
        *err = Errno("memfd_create", errno);
        return -1;
    }
    if (write(fd, input.data(), input.size()) != static_cast<ssize_t>(input.size()) ||
        lseek(fd, 0, SEEK_SET) != 0) {
        *err = Errno("writing the input", errno);
        close(fd);
        return -1;
    }
    return fd;
}

std::string ReadAll(int fd)
{
    std::string s;
    lseek(fd, 0, SEEK_SET); // a memfd; fails harmlessly on a pipe
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0)
            s.append(buf, static_cast<size_t>(n));
        else if (n == 0 || errno != EINTR)
            return s;
    }
}

std::string Ended(int status)
{
    if (WIFEXITED(status))
        return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("killed by ") + strsignal(WTERMSIG(status));
    return "status " + std::to_string(status);
}

// Starts argv with stdin = in, stdout = out, stderr = errfd; 0 or an errno.
int Spawn(const std::vector<std::string> &argv, int in, int out, int errfd, pid_t *pid)
{
    std::vector<char *> args;
    for (const std::string &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    int rc = posix_spawnp(pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

} // namespace

bool Run(const std::vector<std::string> &argv, std::string *out, const std::string &input)
{
    std::string err, text;
    int status = 0, pipefd[2] = {-1, -1};
    int in = MemFd(input, &err);
    int errfd = in >= 0 ? MemFd("", &err) : -1;
    if (errfd >= 0 && pipe2(pipefd, O_CLOEXEC) != 0)
        err = Errno("pipe2", errno);
    if (err.empty()) {
        pid_t pid;
        int rc = Spawn(argv, in, pipefd[1], errfd, &pid);
        close(pipefd[1]);
        if (rc != 0) {
            err = Errno("cannot run", rc);
        } else {
            text = ReadAll(pipefd[0]);
            while (waitpid(pid, &status, 0) < 0 && err.empty())
                if (errno != EINTR)
                    err = Errno("waitpid", errno);
            if (err.empty() && status != 0)
                err = Ended(status);
            text += ReadAll(errfd);
        }
        close(pipefd[0]);
    }
    for (int fd : {in, errfd})
        if (fd >= 0)
            close(fd);
    if (out)
        *out = err.empty() ? text : "`" + Join(argv) + "`: " + err + "\n" + text;
    return err.empty();
}

bool Ipv4(const std::string &ip, uint16_t port, sockaddr_in *out)
{
    *out = sockaddr_in{};
    out->sin_family = AF_INET;
    out->sin_port = htons(port);
    return inet_pton(AF_INET, ip.c_str(), &out->sin_addr) == 1;
}

std::string HostPort(const sockaddr_in &a)
{
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

// ------------------------------------------------------------------------
// FaultRelay.
// ------------------------------------------------------------------------

namespace {

// Big enough that the relay's own socket is not where datagrams get lost
// while its thread waits for a core (best effort: capped by rmem_max).
constexpr int kSockBuf = 4 << 20;
// Datagrams read from one socket before looking at the other one.
constexpr int kReadBatch = 64;

int BindUdp(const sockaddr_in &at, sockaddr_in *bound, std::string *err)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = Errno("socket", errno);
        return -1;
    }
    // SO_RCVBUFFORCE passes net.core.rmem_max, for root only.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kSockBuf, sizeof kSockBuf) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSockBuf, sizeof kSockBuf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSockBuf, sizeof kSockBuf);
    socklen_t len = sizeof *bound;
    if (bind(fd, reinterpret_cast<const sockaddr *>(&at), sizeof at) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(bound), &len) != 0) {
        *err = Errno(("binding " + HostPort(at)).c_str(), errno);
        close(fd);
        return -1;
    }
    return fd;
}

timespec ToTimespec(std::chrono::nanoseconds ns)
{
    if (ns.count() < 0)
        ns = std::chrono::nanoseconds(0);
    timespec ts;
    ts.tv_sec = static_cast<time_t>(ns.count() / 1000000000);
    ts.tv_nsec = static_cast<long>(ns.count() % 1000000000);
    return ts;
}

// Heap order on (due, order): the earliest due on top, ties in arrival order.
template <class P> bool Later(const P &x, const P &y)
{
    return x.due != y.due ? x.due > y.due : x.order > y.order;
}

} // namespace

FaultRelay::FaultRelay(const RelayConfig &cfg)
    : seed_(cfg.seed), faults_(cfg.faults), fate_(cfg.seed),
      order_rng_(cfg.seed ^ UINT64_C(0x9e3779b97f4a7c15)), buf_(65536)
{
    peer_[kAtoB] = cfg.peer_b;
    peer_[kBtoA] = cfg.peer_a;
    if (!Open(cfg)) {
        Stop();
        return;
    }
    thread_ = std::thread([this] { Loop(); });
}

FaultRelay::~FaultRelay() { Stop(); }

bool FaultRelay::Open(const RelayConfig &cfg)
{
    const uint16_t port[2] = {cfg.port_a, cfg.port_b};
    for (int side = 0; side < 2; side++) {
        sockaddr_in at;
        if (!Ipv4(cfg.bind_ip, port[side], &at)) {
            error_ = "bad bind address " + cfg.bind_ip;
            return false;
        }
        fd_[side] = BindUdp(at, &bound_[side], &error_);
        if (fd_[side] < 0)
            return false;
    }
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_ < 0)
        error_ = Errno("eventfd", errno);
    return wake_ >= 0;
}

void FaultRelay::Stop()
{
    if (thread_.joinable()) {
        stop_.store(true);
        uint64_t one = 1;
        if (write(wake_, &one, sizeof one) != sizeof one)
            ADD_FAILURE() << Errno("FaultRelay: waking the relay thread", errno);
        thread_.join();
    }
    for (int *fd : {&fd_[0], &fd_[1], &wake_}) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
    }
}

uint16_t FaultRelay::PortA() const { return ntohs(bound_[0].sin_port); }
uint16_t FaultRelay::PortB() const { return ntohs(bound_[1].sin_port); }

void FaultRelay::SetFaults(const Faults &f)
{
    std::lock_guard<std::mutex> lock(mu_);
    faults_ = f;
}

void FaultRelay::Corrupt(const std::string &marker)
{
    std::lock_guard<std::mutex> lock(mu_);
    corrupt_ = marker;
}

void FaultRelay::Cut(bool cut) { cut_.store(cut); }

void FaultRelay::SetPeer(Dir d, const sockaddr_in &addr)
{
    std::lock_guard<std::mutex> lock(mu_);
    peer_[d] = addr;
}

FaultRelay::Stats FaultRelay::Counters(Dir d) const
{
    const Atomics &a = stats_[d];
    Stats s;
    s.received = a.received.load();
    s.forwarded = a.forwarded.load();
    s.dropped = a.dropped.load();
    s.duplicated = a.duplicated.load();
    s.reordered = a.reordered.load();
    s.unroutable = a.unroutable.load();
    s.send_failed = a.send_failed.load();
    s.corrupted = a.corrupted.load();
    return s;
}

FaultRelay::Stats FaultRelay::Total() const
{
    Stats x = Counters(kAtoB), y = Counters(kBtoA);
    x.received += y.received;
    x.forwarded += y.forwarded;
    x.dropped += y.dropped;
    x.duplicated += y.duplicated;
    x.reordered += y.reordered;
    x.unroutable += y.unroutable;
    x.send_failed += y.send_failed;
    x.corrupted += y.corrupted;
    return x;
}

bool FaultRelay::Wait(const std::function<bool()> &pred, int timeout_ms)
{
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), pred);
}

// Taking the mutex between the counters' update and the notification means
// a waiter is either before its predicate check (and sees the new counts) or
// already waiting (and is woken): no lost wake-up.
void FaultRelay::Notify()
{
    { std::lock_guard<std::mutex> lock(mu_); }
    changed_.notify_all();
}

// A uniform double in [0, 1) from the top 53 bits: the same on every
// standard library, unlike std::uniform_real_distribution.
double FaultRelay::Uniform(std::mt19937_64 &g) { return static_cast<double>(g() >> 11) * 0x1.0p-53; }

void FaultRelay::Loop()
{
    while (!stop_.load()) {
        pollfd p[3] = {{fd_[0], POLLIN, 0}, {fd_[1], POLLIN, 0}, {wake_, POLLIN, 0}};
        Clock::time_point due;
        timespec ts;
        bool timed = NextDue(&due);
        if (timed)
            ts = ToTimespec(due - Clock::now());
        if (ppoll(p, 3, timed ? &ts : nullptr, nullptr) < 0 && errno != EINTR) {
            ADD_FAILURE() << Errno("FaultRelay: ppoll", errno);
            return;
        }
        Clock::time_point now = Clock::now();
        for (int side = 0; side < 2; side++)
            if (p[side].revents)
                ReadSide(side, now);
        Faults f;
        {
            std::lock_guard<std::mutex> lock(mu_);
            f = faults_;
        }
        ReleaseWindows(f, now);
        SendDue(now);
        Notify();
    }
}

// The earliest time something held must leave; false if nothing is held.
bool FaultRelay::NextDue(Clock::time_point *due) const
{
    bool any = false;
    auto consider = [&](Clock::time_point t) {
        if (!any || t < *due)
            *due = t;
        any = true;
    };
    if (!delayed_.empty())
        consider(delayed_.front().due);
    for (const Side &s : sides_)
        if (!s.window.empty())
            consider(s.window_due);
    return any;
}

void FaultRelay::ReadSide(int side, Clock::time_point now)
{
    for (int i = 0; i < kReadBatch; i++) {
        sockaddr_in src{};
        socklen_t len = sizeof src;
        ssize_t n = recvfrom(fd_[side], buf_.data(), buf_.size(), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr *>(&src), &len);
        if (n < 0)
            return; // EAGAIN: drained; anything else: retried at the next wake-up
        Admit(side, src, std::vector<unsigned char>(buf_.begin(), buf_.begin() + n), now);
    }
}

// A datagram that arrived on side dir (side a carries A→B): decides its fate.
// The two fate draws come first and always, so that the n-th datagram's fate
// depends only on the seed.
void FaultRelay::Admit(int dir, const sockaddr_in &src, std::vector<unsigned char> data,
                       Clock::time_point now)
{
    const double u_drop = Uniform(fate_), u_dup = Uniform(fate_);
    Atomics &st = stats_[dir];
    learned_[1 - dir] = src; // the sender is the destination of the other direction
    Faults f;
    sockaddr_in dst;
    std::string corrupt;
    {
        std::lock_guard<std::mutex> lock(mu_);
        f = faults_;
        corrupt = corrupt_;
        dst = peer_[dir].sin_port ? peer_[dir] : learned_[dir];
    }
    if (cut_.load() || u_drop < f.drop) {
        st.dropped++;
    } else if (dst.sin_port == 0) {
        st.unroutable++;
    } else {
        if (!corrupt.empty()) {
            auto at = std::search(data.begin(), data.end(), corrupt.begin(), corrupt.end());
            if (at != data.end()) {
                *at ^= 0x20;
                st.corrupted++;
            }
        }
        const bool dup = u_dup < f.dup;
        if (dup) {
            st.duplicated++;
            Enqueue(Packet{now, order_++, dir, dst, data}, f, now);
        }
        Enqueue(Packet{now, order_++, dir, dst, std::move(data)}, f, now);
    }
    st.received++;
}

void FaultRelay::Enqueue(Packet p, const Faults &f, Clock::time_point now)
{
    if (f.reorder_window <= 1)
        return Delay(std::move(p), f, now);
    Side &s = sides_[p.dir];
    if (s.window.empty())
        s.window_due = now + std::chrono::microseconds(kReorderFlushUs);
    s.window.push_back(std::move(p));
}

void FaultRelay::Delay(Packet p, const Faults &f, Clock::time_point now)
{
    uint64_t us = f.delay_us;
    if (f.jitter_us)
        us += order_rng_() % (uint64_t{f.jitter_us} + 1);
    if (us == 0)
        return Send(p);
    p.due = now + std::chrono::microseconds(us);
    delayed_.push_back(std::move(p));
    std::push_heap(delayed_.begin(), delayed_.end(), Later<Packet>);
}

// Releases each window that is full, overdue, or no longer wanted.
void FaultRelay::ReleaseWindows(const Faults &f, Clock::time_point now)
{
    for (int dir = 0; dir < 2; dir++) {
        const Side &s = sides_[dir];
        if (!s.window.empty() &&
            (s.window.size() >= f.reorder_window || now >= s.window_due))
            ReleaseWindow(dir, f, now);
    }
}

// Sends a window's copies in a shuffled order (Fisher-Yates on order_rng_;
// std::shuffle's draws differ between standard libraries).
void FaultRelay::ReleaseWindow(int dir, const Faults &f, Clock::time_point now)
{
    std::vector<Packet> w;
    w.swap(sides_[dir].window);
    std::vector<size_t> pos(w.size());
    for (size_t i = 0; i < pos.size(); i++)
        pos[i] = i;
    for (size_t i = pos.size(); i > 1; i--)
        std::swap(pos[i - 1], pos[order_rng_() % i]);
    for (size_t k = 0; k < pos.size(); k++) {
        if (pos[k] != k)
            stats_[dir].reordered++;
        Delay(std::move(w[pos[k]]), f, now);
    }
}

void FaultRelay::SendDue(Clock::time_point now)
{
    while (!delayed_.empty() && delayed_.front().due <= now) {
        std::pop_heap(delayed_.begin(), delayed_.end(), Later<Packet>);
        Packet p = std::move(delayed_.back());
        delayed_.pop_back();
        Send(p);
    }
}

// Sends a copy from the socket on the far side of the relay (A→B leaves
// from side b), unless the link was cut meanwhile.
void FaultRelay::Send(const Packet &p)
{
    Atomics &st = stats_[p.dir];
    if (cut_.load()) {
        st.dropped++;
        return;
    }
    ssize_t n = sendto(fd_[1 - p.dir], p.data.data(), p.data.size(), MSG_DONTWAIT,
                       reinterpret_cast<const sockaddr *>(&p.dst), sizeof p.dst);
    if (n == static_cast<ssize_t>(p.data.size()))
        st.forwarded++;
    else
        st.send_failed++;
}

// ------------------------------------------------------------------------
// Network namespaces.
// ------------------------------------------------------------------------

namespace {

const char *const kNetnsDir = "/var/run/netns/";
const char *const kTable = "tsn"; // the nftables table (netdev family) of the rules

bool Fail(std::string *err, const std::string &why)
{
    if (err)
        *err = why;
    return false;
}

// The links of namespace ns other than lo, from `ip -o link show` lines like
// "2: tsv0b@if3: <BROADCAST,...". Other lines are warnings on stderr (ip
// says "Peer netns reference is invalid." when another process deletes a
// namespace meanwhile).
bool Links(const std::string &ns, std::vector<std::string> *links, std::string *err)
{
    std::string out;
    if (!Run({"ip", "-n", ns, "-o", "link", "show"}, &out))
        return Fail(err, out);
    static const std::regex link("^[0-9]+: ([A-Za-z0-9_.-]{1,15})[@:]");
    std::istringstream lines(out);
    std::string line;
    std::smatch m;
    while (std::getline(lines, line))
        if (std::regex_search(line, m, link) && m[1] != "lo")
            links->push_back(m[1]);
    return true;
}

// The nftables chain of one hook on links, dropping what rule matches.
std::string Chain(const char *name, const char *hook, int priority,
                  const std::vector<std::string> &links, const std::string &rule)
{
    std::string devs;
    for (const std::string &l : links)
        devs += (devs.empty() ? "\"" : ", \"") + l + "\"";
    return std::string("  chain ") + name + " {\n    type filter hook " + hook +
           " devices = { " + devs + " } priority " + std::to_string(priority) +
           "; policy accept;\n    " + rule + "counter drop\n  }\n";
}

bool IsDocNet(uint32_t net)
{
    return net == 0xc0000200u /* 192.0.2.0 */ || net == 0xc6336400u /* 198.51.100.0 */;
}

// A host address of a documentation /24 (neither its network nor its
// broadcast address), in host byte order in *h.
bool CheckAddr(const std::string &a, uint32_t *h, std::string *err)
{
    in_addr x;
    if (inet_pton(AF_INET, a.c_str(), &x) != 1)
        return Fail(err, "not an IPv4 address: '" + a + "'");
    *h = ntohl(x.s_addr);
    if (!IsDocNet(*h & 0xffffff00u))
        return Fail(err, a + " is not in 192.0.2.0/24 or 198.51.100.0/24");
    if ((*h & 0xff) == 0 || (*h & 0xff) == 0xff)
        return Fail(err, a + " is a network or broadcast address");
    return true;
}

// Two host addresses of the same documentation /24, distinct.
bool CheckPair(const std::string &a, const std::string &b, std::string *err)
{
    uint32_t ha, hb;
    if (!CheckAddr(a, &ha, err) || !CheckAddr(b, &hb, err))
        return false;
    if ((ha & 0xffffff00u) != (hb & 0xffffff00u))
        return Fail(err, a + " and " + b + " must share 192.0.2.0/24 or 198.51.100.0/24");
    if (ha == hb)
        return Fail(err, "both ends have address " + a);
    return true;
}

// Everything NetnsAvailable checks; "" if all is there.
std::string ProbeNetns()
{
    std::string out;
    if (geteuid() != 0)
        return "network namespace tests need root";
    if (!Run({"ip", "-V"}, &out))
        return "iproute2 `ip` is not runnable: " + out;
    if (!Run({"nft", "--version"}, &out))
        return "nftables `nft` is not runnable (apt-get install nftables): " + out;
    Netns probe;
    if (!probe.ok())
        return "cannot create a network namespace: " + probe.error();
    if (!Run({"ip", "-n", probe.Name(), "link", "add", "tsp0", "type", "veth", "peer", "name",
              "tsp1"},
             &out))
        return "cannot create a veth link: " + out;
    if (!probe.AddLoss(50, true, &out))
        return "nftables netdev egress rules do not work: " + out;
    return "";
}

// Runs Probe once per process: true if it found nothing missing, else
// false with what it said in *why.
template <std::string (*Probe)()> bool ProbedOnce(std::string *why)
{
    static std::once_flag once;
    static std::string reason;
    std::call_once(once, [] { reason = Probe(); });
    if (why)
        *why = reason;
    return reason.empty();
}

} // namespace

bool NetnsAvailable(std::string *why) { return ProbedOnce<ProbeNetns>(why); }

std::string Netns::Prefix() { return "tsn-" + std::to_string(getpid()) + "-"; }

namespace {

std::atomic<unsigned> g_netns_made{0};

// After the last test of a program that made a namespace: none of this
// process's is left, failed tests' included.
class NoNamespaceLeft : public ::testing::Environment {
  public:
    void TearDown() override
    {
        if (g_netns_made.load() == 0)
            return;
        std::string err;
        std::vector<std::string> left;
        ASSERT_TRUE(ListNetns(Netns::Prefix(), &left, &err)) << err;
        for (const std::string &name : left)
            ADD_FAILURE() << "namespace " << name << " was left behind";
    }
};
[[maybe_unused]] ::testing::Environment *const kNoNamespaceLeft =
    ::testing::AddGlobalTestEnvironment(new NoNamespaceLeft);

} // namespace

Netns::Netns()
{
    name_ = Prefix() + std::to_string(g_netns_made++);
    std::string out;
    if (!Run({"ip", "netns", "add", name_}, &out)) {
        error_ = out;
        return;
    }
    created_ = true;
    if (!Run({"ip", "-n", name_, "link", "set", "lo", "up"}, &out))
        error_ = out;
}

Netns::~Netns()
{
    std::string out;
    if (created_ && !Run({"ip", "netns", "del", name_}, &out))
        ADD_FAILURE() << "Netns: " << out;
}

bool Netns::AddLoss(int percent, bool udp_only, std::string *err)
{
    loss_ = std::max(percent, 0);
    udp_only_ = udp_only;
    return Apply(err);
}

bool Netns::DropAll(bool on, std::string *err)
{
    drop_all_ = on;
    return Apply(err);
}

bool Netns::ClearRules(std::string *err)
{
    loss_ = 0;
    drop_all_ = false;
    return Apply(err);
}

// Replaces the table in one nft transaction ("add" makes the "delete" safe
// when there is none yet); with no rule or no link, the table just goes.
bool Netns::Apply(std::string *err)
{
    std::vector<std::string> links;
    if (!Links(name_, &links, err))
        return false;
    std::string t = kTable;
    std::string script = "add table netdev " + t + "\ndelete table netdev " + t + "\n";
    if (!links.empty() && (loss_ > 0 || drop_all_)) {
        script += "table netdev " + t + " {\n";
        if (drop_all_) {
            script += Chain("cut_in", "ingress", -1, links, "");
            script += Chain("cut_out", "egress", -1, links, "");
        }
        if (loss_ > 0) {
            std::string rule = udp_only_ ? "meta l4proto udp " : "";
            if (loss_ < 100) // nft rejects "< 100" on a mod-100 number
                rule += "numgen random mod 100 < " + std::to_string(loss_) + " ";
            script += Chain("loss", "egress", 0, links, rule);
        }
        script += "}\n";
    }
    std::string out;
    if (!Run({"ip", "netns", "exec", name_, "nft", "-f", "-"}, &out, script))
        return Fail(err, out + "script:\n" + script);
    return true;
}

bool Netns::DroppedPackets(uint64_t *n, std::string *err) const
{
    *n = 0;
    if (loss_ == 0 && !drop_all_)
        return true;
    std::string out;
    if (!Run({"ip", "netns", "exec", name_, "nft", "list", "table", "netdev", kTable}, &out))
        return Fail(err, out);
    static const std::regex packets("counter packets ([0-9]+)");
    for (std::sregex_iterator i(out.begin(), out.end(), packets), end; i != end; ++i)
        *n += std::stoull((*i)[1].str());
    return true;
}

InNetns::InNetns(const Netns &ns)
{
    saved_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved_ < 0) {
        error_ = Errno("InNetns: /proc/thread-self/ns/net", errno);
        return;
    }
    std::string path = kNetnsDir + ns.Name();
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        error_ = Errno(("InNetns: entering " + path).c_str(), errno);
        close(saved_);
        saved_ = -1;
    }
    if (fd >= 0)
        close(fd);
}

InNetns::~InNetns()
{
    if (saved_ < 0)
        return;
    if (setns(saved_, CLONE_NEWNET) != 0)
        ADD_FAILURE() << Errno("InNetns: returning to the thread's namespace", errno);
    close(saved_);
}

VethPair::VethPair(Netns &a, Netns &b, const std::string &ip_a, const std::string &ip_b)
    : ns_a_(a.Name()), ns_b_(b.Name())
{
    static std::atomic<unsigned> next{0};
    const std::string n = std::to_string(next++);
    dev_a_ = "tsv" + n + "a";
    dev_b_ = "tsv" + n + "b";
    // Created directly in the namespaces, so the names only have to be
    // unique there; addrgenmode none keeps IPv6 chatter off the link.
    std::vector<std::vector<std::string>> steps = {
        {"ip", "-n", ns_a_, "link", "add", dev_a_, "type", "veth", "peer", "name", dev_b_,
         "netns", ns_b_},
        {"ip", "-n", ns_a_, "addr", "add", ip_a + "/24", "dev", dev_a_},
        {"ip", "-n", ns_a_, "link", "set", dev_a_, "addrgenmode", "none", "up"},
        {"ip", "-n", ns_b_, "link", "set", dev_b_, "addrgenmode", "none", "up"},
    };
    if (!ip_b.empty()) // else a switch port: no address on b's end
        steps.insert(steps.begin() + 2,
                     {"ip", "-n", ns_b_, "addr", "add", ip_b + "/24", "dev", dev_b_});
    if (ip_a.empty()) // a bare wire (hosts of their own on it: DPDK)
        steps.erase(steps.begin() + 1);
    uint32_t h;
    if (ip_a.empty() && !ip_b.empty())
        error_ = "an address on b's end only";
    else if (!ip_a.empty() && ip_b.empty())
        CheckAddr(ip_a, &h, &error_);
    else if (!ip_a.empty())
        CheckPair(ip_a, ip_b, &error_);
    if (!error_.empty()) {
        error_ = "VethPair: " + error_;
        return;
    }
    std::string out;
    for (const auto &step : steps) {
        if (!Run(step, &out)) {
            error_ = out;
            return;
        }
        created_ = true;
    }
    for (Netns *ns : {&a, &b})
        if ((ns->loss_ > 0 || ns->drop_all_) && !ns->Apply(&out)) {
            error_ = out;
            return;
        }
}

// Deleting one end deletes both. If a namespace went first, so did the link.
VethPair::~VethPair()
{
    std::string out;
    if (created_ && !Run({"ip", "-n", ns_a_, "link", "del", dev_a_}, &out) &&
        access((kNetnsDir + ns_a_).c_str(), F_OK) == 0 &&
        access((kNetnsDir + ns_b_).c_str(), F_OK) == 0)
        ADD_FAILURE() << "VethPair: " << out;
}

bool VethPair::SetState(const char *state, std::string *err)
{
    std::string out;
    if (!Run({"ip", "-n", ns_a_, "link", "set", dev_a_, state}, &out) ||
        !Run({"ip", "-n", ns_b_, "link", "set", dev_b_, state}, &out))
        return Fail(err, out);
    return true;
}

bool VethPair::Down(std::string *err) { return SetState("down", err); }
bool VethPair::Up(std::string *err) { return SetState("up", err); }

namespace {

const char *const kBridge = "tsbr"; // alone in its switch's namespace

std::string ProbeSwitch()
{
    std::string why;
    if (!NetnsAvailable(&why))
        return why;
    Switch probe;
    if (!probe.ok())
        return "cannot create a bridge: " + probe.error();
    return "";
}

} // namespace

bool SwitchAvailable(std::string *why) { return ProbedOnce<ProbeSwitch>(why); }

// The bridge forwards at once (no STP, so no listening/learning delay) and,
// like the links, keeps IPv6 chatter off.
Switch::Switch()
{
    std::string out;
    if (!ns_.ok())
        error_ = "Switch: " + ns_.error();
    else if (!Run({"ip", "-n", ns_.Name(), "link", "add", kBridge, "type", "bridge", "stp_state",
                   "0", "forward_delay", "0"},
                  &out) ||
             !Run({"ip", "-n", ns_.Name(), "link", "set", kBridge, "addrgenmode", "none", "up"},
                  &out))
        error_ = "Switch: " + out;
}

bool Switch::Attach(Netns &ns, const std::string &ip, std::string *err)
{
    if (!ok())
        return Fail(err, error_);
    uint32_t h;
    std::string why;
    if (!CheckAddr(ip, &h, &why))
        return Fail(err, "Switch: " + why);
    for (const std::string &other : ips_)
        if (!CheckPair(other, ip, &why))
            return Fail(err, "Switch: " + why);
    ports_.push_back(std::make_unique<VethPair>(ns, ns_, ip, ""));
    const VethPair &port = *ports_.back();
    std::string out;
    if (!port.ok())
        return Fail(err, "Switch: " + port.error());
    if (!Run({"ip", "-n", ns_.Name(), "link", "set", port.NameB(), "master", kBridge}, &out))
        return Fail(err, "Switch: " + out);
    ips_.push_back(ip);
    return true;
}

bool ListNetns(const std::string &prefix, std::vector<std::string> *names, std::string *err)
{
    std::string out;
    if (!Run({"ip", "netns", "list"}, &out))
        return Fail(err, out);
    std::istringstream lines(out);
    std::string name;
    names->clear();
    while (lines >> name) {
        if (name.compare(0, prefix.size(), prefix) == 0)
            names->push_back(name);
        lines.ignore(1 << 20, '\n'); // "NAME (id: 3)": the rest of the line
    }
    return true;
}

} // namespace tst
