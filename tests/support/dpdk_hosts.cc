// SPDX-License-Identifier: MIT
// dpdk_hosts.cc — see dpdk_hosts.h.
#include "dpdk_hosts.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

#include <gtest/gtest.h>

namespace tst {
namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;
constexpr const char *kBpfFs = "/sys/fs/bpf";
constexpr const char *kHugeCount = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
constexpr unsigned kHugePages = 384; // 768 MiB: the EAL's -m 512 and room beside it

// What the process set up for its dpdk nodes, undone after its last test.
struct DpdkSetup {
    std::mutex mu;
    bool bpf_mounted = false;
    bool huge_tried = false;
    std::string huge_why; // "" once the pages are there
    std::string huge_dir;
    long huge_before = -1;
    std::string eal_args;
};
DpdkSetup &S()
{
    static DpdkSetup *s = new DpdkSetup; // lives past the environments' teardown
    return *s;
}

bool ReadLong(const char *path, long *v)
{
    std::ifstream f(path);
    return static_cast<bool>(f >> *v);
}
bool WriteLong(const char *path, long v)
{
    std::ofstream f(path);
    f << v << "\n";
    f.close();
    return !f.fail();
}

// Reserves kHugePages more 2 MiB pages and mounts a hugetlbfs of them in
// a directory of the process's own. Under S().mu; "" or why not.
std::string HugeUp()
{
    DpdkSetup &s = S();
    long before = 0, after = 0;
    if (!ReadLong(kHugeCount, &before))
        return std::string("this kernel has no 2 MiB huge pages (") + kHugeCount + ")";
    if (!WriteLong(kHugeCount, before + kHugePages) || !ReadLong(kHugeCount, &after) ||
        after < before + kHugePages) {
        WriteLong(kHugeCount, before);
        return "could not reserve " + std::to_string(kHugePages) + " huge pages of 2 MiB (got " +
               std::to_string(after - before) + ")";
    }
    s.huge_before = before;
    char dir[] = "/tmp/thespis-huge-XXXXXX";
    if (!mkdtemp(dir))
        return std::string("mkdtemp: ") + std::strerror(errno);
    if (mount("nodev", dir, "hugetlbfs", 0, "pagesize=2M") != 0) {
        std::string why = std::string("cannot mount hugetlbfs: ") + std::strerror(errno);
        rmdir(dir);
        return why;
    }
    s.huge_dir = dir;
    // Files unlinked once mapped: nothing is left in the mount, whatever
    // happens to the process.
    s.eal_args = "--no-pci --no-shconf --huge-unlink --huge-dir " + s.huge_dir + " -m 512";
    return "";
}

void HugeDown()
{
    DpdkSetup &s = S();
    if (!s.huge_dir.empty()) {
        umount2(s.huge_dir.c_str(), MNT_DETACH);
        rmdir(s.huge_dir.c_str());
        s.huge_dir.clear();
    }
    if (s.huge_before >= 0)
        WriteLong(kHugeCount, s.huge_before);
    s.huge_before = -1;
}

bool WantHuge()
{
    const char *e = std::getenv("TS_TEST_DPDK_HUGE");
    return e && std::strcmp(e, "1") == 0;
}

// After the process's last test: its huge pages and mounts go. (The EAL
// keeps its memory until the process exits; the pages are handed back to
// the kernel's pool then, and the count written now is what it goes back
// to.)
class DpdkTeardown : public ::testing::Environment {
  public:
    void TearDown() override
    {
        DpdkSetup &s = S();
        std::lock_guard<std::mutex> g(s.mu);
        HugeDown();
        if (s.bpf_mounted)
            umount2(kBpfFs, MNT_DETACH);
        s.bpf_mounted = false;
    }
};
[[maybe_unused]] ::testing::Environment *const kDpdkTeardown =
    ::testing::AddGlobalTestEnvironment(new DpdkTeardown);

std::string ProbeBuilt()
{
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_PINNED;
    cfg.listen = "dpdk://192.0.2.1:7000";
    ts_system *s = nullptr;
    int rc = ts_system_open(&cfg, &s);
    ts_system_close(s);
    if (rc == -EINVAL && std::strstr(ts_last_error(), "no dpdk transport"))
        return std::string("this build has no DPDK: ") + ts_last_error();
    return "";
}

// A bpf filesystem where libxdp pins its programs; "" or why not.
std::string BpfFs()
{
    DpdkSetup &s = S();
    struct statfs st;
    if (statfs(kBpfFs, &st) == 0 && (long)st.f_type == kBpfFsMagic)
        return "";
    if (mount("bpf", kBpfFs, "bpf", 0, nullptr) != 0)
        return std::string("net_af_xdp needs a bpf filesystem at /sys/fs/bpf: ") +
               std::strerror(errno);
    s.bpf_mounted = true;
    return "";
}

} // namespace

bool DpdkUsable(const std::string &pmd, std::string *why)
{
    static const std::string built = ProbeBuilt();
    std::string r = built;
    if (r.empty() && !NetnsAvailable(&r))
        r = "needs network namespaces: " + r;
    DpdkSetup &s = S();
    std::lock_guard<std::mutex> g(s.mu);
    if (r.empty() && WantHuge()) {
        if (!s.huge_tried) {
            s.huge_tried = true;
            s.huge_why = HugeUp();
        }
        r = s.huge_why;
    }
    if (r.empty() && pmd == "net_af_xdp")
        r = BpfFs();
    if (why)
        *why = r;
    return r.empty();
}

std::string DpdkVdev(const std::string &pmd, const std::string &iface)
{
    static std::atomic<unsigned> next{0};
    return pmd + std::to_string(next++) + ",iface=" + iface;
}

void DpdkConfigure(ts_config *cfg, const std::string &pmd, const std::string &iface,
                   std::string *vdev)
{
    *vdev = DpdkVdev(pmd, iface);
    cfg->dpdk_vdev = vdev->c_str();
    DpdkSetup &s = S();
    {
        std::lock_guard<std::mutex> g(s.mu);
        cfg->dpdk_args = s.eal_args.empty() ? nullptr : s.eal_args.c_str();
    }
    cfg->dpdk_mbufs = 0; // the transport's default for the driver
}

DpdkHosts::DpdkHosts()
{
    if (!a_.ok() || !b_.ok()) {
        error_ = a_.ok() ? b_.error() : a_.error();
        return;
    }
    wire_ = std::make_unique<VethPair>(a_, b_, "", "");
    if (!wire_->ok()) {
        error_ = wire_->error();
        return;
    }
    std::string mac, out;
    if (!Run({"ip", "-n", b_.Name(), "-br", "link", "show", wire_->NameB()}, &mac)) {
        error_ = mac;
        return;
    }
    // "vethX@if2  UP  aa:bb:cc:dd:ee:ff <...>": the third word.
    size_t at = 0;
    for (int word = 0; word < 2 && at != std::string::npos; word++)
        at = mac.find_first_not_of(' ', mac.find(' ', at));
    mac = at == std::string::npos ? "" : mac.substr(at, 17);
    if (!Run({"ip", "-n", a_.Name(), "addr", "add", "192.0.2.3/24", "dev", wire_->NameA()}, &out) ||
        !Run({"ip", "-n", a_.Name(), "neigh", "replace", "192.0.2.2", "lladdr", mac, "dev",
              wire_->NameA(), "nud", "permanent"},
             &out))
        error_ = out;
}

DpdkHosts::~DpdkHosts() { wire_.reset(); }

const std::string &DpdkHosts::Iface(int node) const
{
    return node == 1 ? wire_->NameA() : wire_->NameB();
}

std::string DpdkHosts::Ip(int node) { return "192.0.2." + std::to_string(node); }

int DpdkHosts::RawSocket(uint16_t port)
{
    InNetns in(a_);
    if (!in.ok()) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in self{}, to{};
    Ipv4("192.0.2.3", 0, &self);
    Ipv4(Ip(2), port, &to);
    if (fd >= 0 && (bind(fd, (sockaddr *)&self, sizeof self) < 0 ||
                    connect(fd, (sockaddr *)&to, sizeof to) < 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

} // namespace tst
