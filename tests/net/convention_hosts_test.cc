// A convention across hosts (design §8): three nodes, each started inside a
// network namespace of its own ("host"), the hosts joined by a switch (a
// bridge in a fourth namespace): the leader L at 198.51.100.1 (node 1), a
// named pinned node whose admin is a daemon of its own, so that it can be
// SIGKILLed and started again; members M1 at .2 (node 2, region=eu) and M2
// at .3 (node 3, gpu=true), private pinned nodes of this process. Every
// node takes data in on tcp://<its address>:7101; the convention is at
// 198.51.100.1:7100.
//
// - An actor that needs a GPU, created from M1, lands on M2 and answers
//   from there; one that needs region=eu, created from M2, lands on M1; the
//   GPU goes: the actor exits, once.
// - The leader is SIGKILLed and started again: the convention forms again
//   by itself (both members list the new leader instance and each other,
//   the leader lists both), and M1's watcher hears the leader leave and
//   join again, exactly once each.
// - M2 is cut off (its veth set down): the watchers on M1 and on the leader
//   each hear it LEFT once, within the configured lost time (plus slack);
//   the link comes back and they hear it JOINED once.
// - A fourth host's node with another key is refused (the leader's log
//   says so) and no member ever lists it.
//
// Nothing sleeps: waits are on messages or bounded polls of a condition.
// Skipped unless root with iproute2, nftables and bridges (netfault.h).
// The namespaces, the leader's node and the temporary files go with each
// test, a failed one included.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/log.h>
#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "netfault.h"
#include "conv_support.h"
#include "ts_test.h"

namespace {

using Clock = std::chrono::steady_clock;
using tst::kMs;
using tst::kWait;
using tst::Msg;

TS_TYPE_ID(kWhere, "test.convh.Where")
TS_TYPE_ID(kHere, "test.convh.Here")

// test.convh.Gpu (needs "gpu") and test.convh.Eu (needs "region=eu"):
// answer Where with Here {their own address}.
int AnswerWhere(ts_ctx *ctx, void *, const ts_msg *)
{
    ts_addr self = ts_self(ctx);
    return ts_reply(ctx, kHere(), &self, sizeof self);
}
const ts_handler_entry kWhereHandlers[] = {TS_ON("test.convh.Where", AnswerWhere),
                                           TS_HANDLERS_END};
const ts_actor_type kGpuType = {"test.convh.Gpu", 0, nullptr, nullptr, kWhereHandlers,
                                nullptr, "gpu", nullptr};
const ts_actor_type kEuType = {"test.convh.Eu", 0, nullptr, nullptr, kWhereHandlers,
                               nullptr, "region=eu", nullptr};


using convt::Find;
using convt::Members;
using convt::WaitUntil;

// "1 2 3": the node ids of a member table, ascending (a table lists them
// in the order they joined).
std::string Ids(const std::vector<ts_node_member> &v)
{
    std::vector<uint16_t> ids;
    for (const auto &m : v)
        ids.push_back(m.node);
    std::sort(ids.begin(), ids.end());
    std::string s;
    for (uint16_t id : ids)
        s += (s.empty() ? "" : " ") + std::to_string(id);
    return s;
}

// Gone: no such process, or a zombie nobody has reaped yet (the admin is
// nobody's child here).
bool ProcessGone(int32_t pid)
{
    if (pid <= 0)
        return true;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return true;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line))
        return true;
    size_t rp = line.rfind(')');
    return rp != std::string::npos && rp + 2 < line.size() &&
           (line[rp + 2] == 'Z' || line[rp + 2] == 'X');
}

// Entries of /dev/shm that belong to the node `name` (its segment and its
// large-message files).
std::vector<std::string> ShmOf(const std::string &name)
{
    std::vector<std::string> found;
    const std::string seg = "thespis.node." + name;
    if (DIR *d = opendir("/dev/shm")) {
        while (dirent *e = readdir(d)) {
            std::string n = e->d_name;
            if (n == seg || n.compare(0, seg.size() + 1, seg + ".") == 0)
                found.push_back(n);
        }
        closedir(d);
    }
    return found;
}

constexpr const char *kLeaderPrefix = "tsconvL";

// Leaders of earlier runs of this program that died before stopping them
// (a crash, a SIGKILL): their names carry the pid of a process that is
// gone. Stopped, so that no daemon outlives its test program for long.
void StopOrphanedLeaders()
{
    std::vector<std::string> names;
    const std::string seg = std::string("thespis.node.") + kLeaderPrefix;
    if (DIR *d = opendir("/dev/shm")) {
        while (dirent *e = readdir(d)) {
            std::string n = e->d_name;
            if (n.compare(0, seg.size(), seg) == 0 && n.find(".blob.") == std::string::npos)
                names.push_back(n.substr(std::strlen("thespis.node.")));
        }
        closedir(d);
    }
    for (const std::string &name : names) {
        long pid = std::strtol(name.c_str() + std::strlen(kLeaderPrefix), nullptr, 10);
        if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            ts_node_stop(name.c_str(), kWait);
    }
}

// One ConventionUpdate as a watcher's caller got it, and when.
struct Update {
    uint16_t node;
    ts_convention_event event;
    std::string name, caps;
    Clock::time_point at;
};

const char *EventName(ts_convention_event e)
{
    switch (e) {
    case TS_CONV_JOINED:
        return "JOINED";
    case TS_CONV_LEFT:
        return "LEFT";
    case TS_CONV_CAPS:
        return "CAPS";
    }
    return "?";
}

// "JOINED 1, JOINED 3, LEFT 3", for failure messages.
std::string Show(const std::vector<Update> &v)
{
    std::string s;
    for (const auto &u : v)
        s += (s.empty() ? "" : ", ") + std::string(EventName(u.event)) + " " +
             std::to_string(u.node);
    return s.empty() ? "(none)" : s;
}

// The events about node `node`, in order.
std::vector<ts_convention_event> EventsOf(const std::vector<Update> &v, uint16_t node)
{
    std::vector<ts_convention_event> out;
    for (const auto &u : v)
        if (u.node == node)
            out.push_back(u.event);
    return out;
}

// A watcher on sys whose updates come to a thread of its own (a caller's
// mailbox is its thread's), which notes each with the time it arrived, so
// that several watchers on several nodes are heard at once. Destroy it
// before closing sys.
class Watching {
  public:
    explicit Watching(ts_system *sys) : sys_(sys)
    {
        thread_ = std::thread([this] { Loop(); });
        std::unique_lock<std::mutex> g(mu_);
        changed_.wait(g, [&] { return started_; });
    }
    ~Watching()
    {
        if (watcher_ != TS_ADDR_NONE)
            ts_tell(sys_, watcher_, TS_MSG_EXIT_REQUEST, nullptr, 0);
        stop_ = true;
        thread_.join();
    }
    Watching(const Watching &) = delete;
    Watching &operator=(const Watching &) = delete;

    // 0 once the watcher runs, or why it does not.
    int rc() const { return rc_; }
    const std::string &error() const { return error_; }

    std::vector<Update> Updates()
    {
        std::lock_guard<std::mutex> g(mu_);
        return updates_;
    }
    // What its thread got that was not a ConventionUpdate, or a failed
    // ts_listen: "" when nothing.
    std::string Trouble()
    {
        std::lock_guard<std::mutex> g(mu_);
        return trouble_;
    }
    // Until pred holds for the updates so far (re-checked on each), at most
    // kWait. Returns pred's last answer.
    bool WaitFor(const std::function<bool(const std::vector<Update> &)> &pred)
    {
        std::unique_lock<std::mutex> g(mu_);
        return changed_.wait_for(g, std::chrono::nanoseconds(kWait),
                                 [&] { return pred(updates_); });
    }

  private:
    void Loop()
    {
        ts_addr me = ts_system_client_addr(sys_);
        ts_create_opts o = {&me, sizeof me, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, nullptr};
        ts_addr w = TS_ADDR_NONE;
        int rc = ts_system_create(sys_, convt::kWatcherType.name, &o, &w);
        {
            std::lock_guard<std::mutex> g(mu_);
            rc_ = rc;
            if (rc != 0)
                error_ = ts_last_error();
            watcher_ = w;
            started_ = true;
        }
        changed_.notify_all();
        while (rc == 0 && !stop_) {
            ts_msg *m = nullptr;
            int r = ts_listen(sys_, 20 * kMs, &m);
            Clock::time_point at = Clock::now();
            if (r == -ETIMEDOUT)
                continue;
            std::lock_guard<std::mutex> g(mu_);
            if (r != 0) {
                trouble_ += "ts_listen: " + std::to_string(r) + " " + ts_last_error() + "; ";
                break;
            }
            Msg keep(m);
            ts_convention_update u;
            if (m->type != TS_MSG_CONVENTION_UPDATE || ts_convention_update_decode(m, &u) != 0) {
                trouble_ += "a message of type " + std::to_string(m->type) + "; ";
                continue;
            }
            updates_.push_back({u.node, u.event, std::string(u.name, u.name_len),
                                std::string(u.caps, u.caps_len), at});
            changed_.notify_all();
        }
    }

    ts_system *sys_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::condition_variable changed_;
    bool started_ = false;
    int rc_ = 0;
    std::string error_;
    ts_addr watcher_ = TS_ADDR_NONE;
    std::vector<Update> updates_;
    std::string trouble_;
};

// Host (and node) id's address: 198.51.100.<id>.
std::string HostIp(int id) { return "198.51.100." + std::to_string(id); }

constexpr uint16_t kConvPort = 7100; // the leader's, on host 1
constexpr uint16_t kDataPort = 7101; // every node's, on its own host
constexpr unsigned kLostMs = 400;    // heartbeats every 80 ms
// What the configuration promises for a lost member (LEFT within lost_ms),
// with room for a slow machine or a sanitizer: not a performance figure.
constexpr long kLeftBoundMs = kLostMs + 2000;

class ConventionHosts : public ::testing::Test {
  protected:
    void SetUp() override
    {
        std::string why;
        if (!tst::SwitchAvailable(&why))
            GTEST_SKIP() << "needs network namespaces and bridges: " << why;
        for (const ts_actor_type *t : {&kGpuType, &kEuType, &convt::kWatcherType})
            ASSERT_EQ(ts_register_actor_type(t), 0) << ts_last_error();
        StopOrphanedLeaders();
        char tmpl[] = "/tmp/ts-convh-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        key_ = dir_ + "/conv.key";
        ASSERT_EQ(ts_convention_keygen(key_.c_str()), 0) << ts_last_error();
        struct stat sb;
        ASSERT_EQ(stat(key_.c_str(), &sb), 0);
        ASSERT_EQ(sb.st_mode & 0777, 0600u);
        leader_log_ = dir_ + "/leader.log";
        static std::atomic<unsigned> started{0};
        leader_name_ = kLeaderPrefix + std::to_string(getpid()) + "-" + std::to_string(started++);
        cpus_ = tst::AllowedCpus();
        ASSERT_FALSE(cpus_.empty());

        switch_ = std::make_unique<tst::Switch>();
        ASSERT_TRUE(switch_->ok()) << switch_->error();
        for (int id = 1; id <= 3; id++)
            ASSERT_NO_FATAL_FAILURE(AddHost(id));

        ASSERT_NO_FATAL_FAILURE(StartLeader());
        ASSERT_NO_FATAL_FAILURE(OpenMember(2, "region=eu", key_, &m1_));
        ASSERT_NO_FATAL_FAILURE(OpenMember(3, "gpu=true", key_, &m2_));
        // Formed: every node lists all three.
        for (ts_system *s : {lead_, m1_, m2_})
            ASSERT_TRUE(WaitUntil([&] { return Members(s).size() == 3; })) << Ids(Members(s));
        ts_node_status st;
        ASSERT_TRUE(WaitUntil([&] { return LeaderStatus(&st) == 0 && st.nmembers == 3; }))
            << st.nmembers;
    }

    void TearDown() override
    {
        for (ts_system **s : {&m1_, &m2_, &bad_}) {
            ts_system_close(*s);
            *s = nullptr;
        }
        StopLeader();
        for (const std::string &f : {key_, other_key_, leader_log_})
            if (!f.empty())
                std::remove(f.c_str());
        if (!dir_.empty()) {
            EXPECT_EQ(rmdir(dir_.c_str()), 0) << dir_ << ": " << std::strerror(errno);
        }
        // The switch and then the namespaces go with the fixture.
    }

    // Host id: a namespace linked to the switch at HostIp(id).
    void AddHost(int id)
    {
        ASSERT_EQ(hosts_.size(), (size_t)id - 1);
        hosts_.push_back(std::make_unique<tst::Netns>());
        ASSERT_TRUE(hosts_.back()->ok()) << hosts_.back()->error();
        std::string err;
        ASSERT_TRUE(switch_->Attach(*hosts_.back(), HostIp(id), &err)) << err;
    }
    tst::Netns &Host(int id) { return *hosts_[(size_t)id - 1]; }

    static std::string DataUrl(int id)
    {
        return "tcp://" + HostIp(id) + ":" + std::to_string(kDataPort);
    }
    static std::string ConvAddr() { return HostIp(1) + ":" + std::to_string(kConvPort); }

    // Starts the leader's named node from inside host 1 (its admin is forked
    // from this thread, and stays in that namespace) and attaches to it.
    // The same configuration every time: a start after a SIGKILL cleans up
    // what the killed one left.
    void StartLeader()
    {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_PINNED;
        cfg.node_name = leader_name_.c_str();
        cfg.node_id = 1;
        std::string cores = std::to_string(cpus_[0]);
        cfg.cores = cores.c_str();
        cfg.caps = "role=lead";
        std::string listen = DataUrl(1), conv = ConvAddr();
        cfg.listen = listen.c_str();
        cfg.convention = conv.c_str();
        cfg.convention_leader = true;
        cfg.key_file = key_.c_str();
        cfg.convention_lost_ms = kLostMs;
        cfg.log.sink = TS_LOG_SINK_FILE;
        cfg.log.path = leader_log_.c_str();
        cfg.log.level = TS_LOG_INFO;
        tst::InNetns in(Host(1));
        ASSERT_TRUE(in.ok()) << in.error();
        ASSERT_EQ(ts_system_open(&cfg, &lead_), 0) << "leader: " << ts_last_error();
        ts_node_status st;
        ASSERT_EQ(LeaderStatus(&st), 0) << ts_last_error();
        leader_pid_ = st.pid;
    }

    // Stops the leader's node for good and checks nothing of it is left.
    void StopLeader()
    {
        ts_system_close(lead_);
        lead_ = nullptr;
        if (leader_name_.empty())
            return;
        const char *name = leader_name_.c_str();
        int rc = ts_node_stop(name, kWait);
        if (rc == -ETIMEDOUT) { // still there: make sure no daemon is left
            ADD_FAILURE() << "the leader's node did not stop in time";
            ts_node_status st;
            if (ts_node_status_get(name, &st) == 0 && st.pid > 0)
                kill(st.pid, SIGKILL);
            WaitUntil([&] { return ts_node_status_get(name, &st) != 0; });
            rc = ts_node_stop(name, kWait); // removes a stale node's leftovers
        }
        EXPECT_TRUE(rc == 0 || rc == -ENOENT) << rc << " " << ts_last_error();
        ts_node_status st;
        EXPECT_EQ(ts_node_status_get(name, &st), -ENOENT);
        std::vector<std::string> left = ShmOf(leader_name_);
        for (const std::string &f : left)
            ADD_FAILURE() << "/dev/shm/" << f << " was left behind";
        EXPECT_TRUE(WaitUntil([&] { return ProcessGone(leader_pid_); }))
            << "the leader's admin " << leader_pid_;
    }

    int LeaderStatus(ts_node_status *st) { return ts_node_status_get(leader_name_.c_str(), st); }

    // A one-shard pinned private node `id` started inside host id, a member
    // of the convention with the key in key_file.
    void OpenMember(int id, const char *caps, const std::string &key_file, ts_system **out)
    {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_PINNED;
        cfg.node_id = (uint16_t)id;
        std::string cores = std::to_string(cpus_[(size_t)(id - 1) % cpus_.size()]);
        cfg.cores = cores.c_str();
        cfg.caps = caps;
        std::string listen = DataUrl(id), conv = ConvAddr();
        cfg.listen = listen.c_str();
        cfg.convention = conv.c_str();
        cfg.key_file = key_file.c_str();
        cfg.convention_lost_ms = kLostMs;
        tst::InNetns in(Host(id)); // its sockets and threads live on host id
        ASSERT_TRUE(in.ok()) << in.error();
        ASSERT_EQ(ts_system_open(&cfg, out), 0) << "node " << id << ": " << ts_last_error();
    }

    // The link of host id to the switch (its end, in its namespace).
    std::string LinkOf(int id)
    {
        std::string out;
        EXPECT_TRUE(tst::Run({"ip", "-n", Host(id).Name(), "-o", "link", "show"}, &out)) << out;
        static const std::regex link("^[0-9]+: ([A-Za-z0-9_.-]{1,15})[@:]");
        std::istringstream lines(out);
        std::string line, found;
        std::smatch m;
        while (std::getline(lines, line))
            if (std::regex_search(line, m, link) && m[1] != "lo") {
                EXPECT_TRUE(found.empty()) << "host " << id << " has two links: " << out;
                found = m[1];
            }
        EXPECT_FALSE(found.empty()) << "host " << id << " has no link: " << out;
        return found;
    }
    bool SetLink(int id, const char *state, std::string *err)
    {
        return tst::Run({"ip", "-n", Host(id).Name(), "link", "set", LinkOf(id), state}, err);
    }

    std::string LeaderLog()
    {
        std::ifstream f(leader_log_);
        return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }

    // ts_system_create, again while the chosen member has leased this node
    // no slot yet (-EAGAIN).
    static int CreateAgain(ts_system *sys, const char *type, ts_addr *out)
    {
        int rc;
        auto end = Clock::now() + std::chrono::nanoseconds(kWait);
        while ((rc = ts_system_create(sys, type, nullptr, out)) == -EAGAIN && Clock::now() < end)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return rc;
    }

    std::string dir_, key_, other_key_, leader_log_, leader_name_;
    std::vector<int> cpus_;
    // Declared in this order: the switch goes before the hosts it joins.
    std::vector<std::unique_ptr<tst::Netns>> hosts_;
    std::unique_ptr<tst::Switch> switch_;
    ts_system *lead_ = nullptr; // attached to the leader's node
    ts_system *m1_ = nullptr, *m2_ = nullptr, *bad_ = nullptr;
    int32_t leader_pid_ = -1;
};

TEST_F(ConventionHosts, AnActorNeedingAGpuMadeOnMember1LandsOnMember2AndExitsWhenTheGpuGoes)
{
    // Each member sees the other's capabilities and endpoints.
    auto v = Members(m1_);
    const ts_node_member *gpu_node = Find(v, 3), *leader = Find(v, 1);
    ASSERT_TRUE(gpu_node && leader) << Ids(v);
    EXPECT_STREQ(gpu_node->caps, "gpu=true");
    EXPECT_EQ(std::string(gpu_node->endpoints), DataUrl(3));
    EXPECT_TRUE(leader->leader);
    EXPECT_STREQ(leader->name, leader_name_.c_str());

    ts_addr gpu = TS_ADDR_NONE;
    ASSERT_EQ(CreateAgain(m1_, kGpuType.name, &gpu), 0) << ts_last_error();
    EXPECT_EQ(ts_addr_node(gpu), 3u) << tst::AddrStr(gpu);
    ts_msg *r = nullptr;
    ASSERT_EQ(ts_ask(m1_, gpu, kWhere(), nullptr, 0, kWait, &r), 0) << ts_last_error();
    Msg reply(r);
    ts_addr where = TS_ADDR_NONE;
    ASSERT_TRUE(tst::As(r, &where)) << r->type;
    EXPECT_EQ(r->type, kHere());
    EXPECT_EQ(where, gpu);
    EXPECT_EQ(ts_addr_node(r->src), 3u);

    // And the other way: what needs region=eu, made on M2, runs on M1.
    ts_addr eu = TS_ADDR_NONE;
    ASSERT_EQ(CreateAgain(m2_, kEuType.name, &eu), 0) << ts_last_error();
    EXPECT_EQ(ts_addr_node(eu), 2u) << tst::AddrStr(eu);
    ASSERT_EQ(ts_ask(m2_, eu, kWhere(), nullptr, 0, kWait, &r), 0) << ts_last_error();
    reply.reset(r);
    EXPECT_EQ(r->type, kHere());
    EXPECT_EQ(ts_addr_node(r->src), 2u);

    // The GPU goes: the actor is asked to exit, once; the other stays.
    ts_system_stats before{}, st{};
    ASSERT_EQ(ts_system_stats_get(m2_, &before), 0);
    ASSERT_EQ(ts_update_capability(m2_, "gpu", nullptr), 0) << ts_last_error();
    EXPECT_TRUE(WaitUntil([&] {
        ts_system_stats_get(m2_, &st);
        return st.actors_exited >= before.actors_exited + 1;
    })) << st.actors_exited - before.actors_exited;
    // Every member learns of it ...
    EXPECT_TRUE(WaitUntil([&] {
        auto w = Members(m1_);
        const ts_node_member *m = Find(w, 3);
        return m && std::strcmp(m->caps, "") == 0;
    }));
    ts_node_status ls;
    EXPECT_TRUE(WaitUntil([&] {
        if (LeaderStatus(&ls) != 0)
            return false;
        for (uint32_t i = 0; i < ls.nmembers; i++)
            if (ls.members[i].node == 3)
                return ls.members[i].caps[0] == '\0';
        return false;
    }));
    // ... and by then nothing more has exited, on either member.
    ASSERT_EQ(ts_system_stats_get(m2_, &st), 0);
    EXPECT_EQ(st.actors_exited, before.actors_exited + 1);
    EXPECT_EQ(st.actors_live, before.actors_live - 1);
    ts_system_stats m1st{};
    ASSERT_EQ(ts_system_stats_get(m1_, &m1st), 0);
    EXPECT_EQ(m1st.actors_exited, 0u);
    ASSERT_EQ(ts_ask(m2_, eu, kWhere(), nullptr, 0, kWait, &r), 0) << ts_last_error();
    reply.reset(r);
    EXPECT_EQ(r->type, kHere()) << "the region=eu actor on M1 went too";
    // What is sent to the gone actor is a dead letter where it lived, once.
    ASSERT_EQ(ts_system_stats_get(m2_, &before), 0);
    ASSERT_EQ(ts_tell(m1_, gpu, kWhere(), nullptr, 0), 0) << ts_last_error();
    EXPECT_TRUE(WaitUntil([&] {
        ts_system_stats_get(m2_, &st);
        return st.dead_letters >= before.dead_letters + 1;
    }));
    EXPECT_EQ(st.dead_letters, before.dead_letters + 1);
    r = nullptr;
    int lr = ts_listen(m1_, 50 * kMs, &r);
    Msg stray(lr == 0 ? r : nullptr);
    EXPECT_EQ(lr, -ETIMEDOUT) << "an answer from a gone actor";
}

TEST_F(ConventionHosts, ALeaderKilledAndRestartedIsRejoinedWithNoManualStep)
{
#if defined(__SANITIZE_THREAD__)
    // Under TSan the restarted leader's admin (forked from this threaded
    // process, beside a SIGKILLed predecessor) died while starting in CI
    // once; the plain and ASan builds run this test. To be looked into.
    GTEST_SKIP() << "a named leader restarted after SIGKILL under TSan: see the stop-19 note";
#endif
    const auto before1 = Members(m1_), before2 = Members(m2_);
    ASSERT_TRUE(Find(before1, 1) && Find(before2, 1)) << Ids(before1) << "; " << Ids(before2);
    const uint64_t old_instance = Find(before1, 1)->instance;
    ASSERT_EQ(Find(before2, 1)->instance, old_instance);
    Watching w1(m1_);
    ASSERT_EQ(w1.rc(), 0) << w1.error();
    ASSERT_TRUE(w1.WaitFor([](const std::vector<Update> &u) { return u.size() == 2; }))
        << Show(w1.Updates());

    // SIGKILL: no LEAVE, no clean-up; its sockets close with the process.
    ts_node_status st;
    ASSERT_EQ(LeaderStatus(&st), 0);
    const int32_t pid = st.pid;
    ASSERT_GT(pid, 0);
    ts_system_close(lead_); // detach first: its admin is about to vanish
    lead_ = nullptr;
    ASSERT_EQ(kill(pid, SIGKILL), 0) << std::strerror(errno);
    ASSERT_TRUE(WaitUntil([&] { return ProcessGone(pid); })) << "pid " << pid;
    ASSERT_TRUE(WaitUntil([&] { return LeaderStatus(&st) == -ESTALE; }));
    // Both members see it gone.
    for (ts_system *m : {m1_, m2_})
        EXPECT_TRUE(WaitUntil([&] { return Find(Members(m), 1) == nullptr; }))
            << Ids(Members(m));
    EXPECT_TRUE(w1.WaitFor([](const std::vector<Update> &u) {
        return EventsOf(u, 1) == std::vector<ts_convention_event>{TS_CONV_JOINED, TS_CONV_LEFT};
    })) << Show(w1.Updates());

    // Started again, the same way: nobody else does anything.
    ASSERT_NO_FATAL_FAILURE(StartLeader());
    EXPECT_NE(leader_pid_, pid);
    uint64_t new_instance = 0;
    for (ts_system *m : {m1_, m2_}) {
        EXPECT_TRUE(WaitUntil([&] {
            auto v = Members(m);
            const ts_node_member *l = Find(v, 1);
            return v.size() == 3 && l && l->instance != old_instance && Find(v, 2) && Find(v, 3);
        })) << Ids(Members(m));
        const auto v = Members(m);
        const ts_node_member *l = Find(v, 1);
        ASSERT_NE(l, nullptr) << Ids(v);
        EXPECT_TRUE(l->leader);
        EXPECT_NE(l->instance, 0u);
        if (new_instance == 0)
            new_instance = l->instance;
        EXPECT_EQ(l->instance, new_instance) << "the members disagree on the leader";
    }
    EXPECT_TRUE(WaitUntil([&] { return LeaderStatus(&st) == 0 && st.nmembers == 3; }))
        << st.nmembers;
    EXPECT_STREQ(st.convention_state, "leading");
    EXPECT_TRUE(st.convention_leader);
    EXPECT_EQ(st.pid, leader_pid_);
    for (uint32_t i = 0; i < st.nmembers; i++) {
        const ts_node_member &m = st.members[i];
        if (m.node == 1)
            EXPECT_EQ(m.instance, new_instance);
        else
            EXPECT_TRUE(m.node == 2 || m.node == 3) << m.node;
    }

    // M1's watcher: the leader left once and joined once; M2 is there at
    // the end (it may have been dropped and taken back while the new
    // leader's table filled, always in pairs).
    EXPECT_TRUE(w1.WaitFor([](const std::vector<Update> &u) {
        auto e3 = EventsOf(u, 3);
        return EventsOf(u, 1).size() == 3 && !e3.empty() && e3.back() == TS_CONV_JOINED;
    })) << Show(w1.Updates());
    std::vector<Update> u = w1.Updates();
    EXPECT_EQ(EventsOf(u, 1), (std::vector<ts_convention_event>{TS_CONV_JOINED, TS_CONV_LEFT,
                                                                TS_CONV_JOINED}))
        << Show(u);
    auto e3 = EventsOf(u, 3);
    ASSERT_FALSE(e3.empty());
    EXPECT_EQ(e3.size() % 2, 1u) << Show(u);
    for (size_t i = 0; i < e3.size(); i++)
        EXPECT_EQ(e3[i], i % 2 ? TS_CONV_LEFT : TS_CONV_JOINED) << Show(u);
    for (const Update &x : u)
        EXPECT_TRUE(x.node == 1 || x.node == 3) << Show(u);
    for (const Update &x : u) {
        if (x.node == 1) {
            EXPECT_EQ(x.name, leader_name_);
        }
    }
    EXPECT_EQ(w1.Trouble(), "");

    // The reformed convention places again: from M1 to M2's GPU.
    ts_addr gpu = TS_ADDR_NONE;
    ASSERT_EQ(CreateAgain(m1_, kGpuType.name, &gpu), 0) << ts_last_error();
    EXPECT_EQ(ts_addr_node(gpu), 3u);
    ts_msg *r = nullptr;
    ASSERT_EQ(ts_ask(m1_, gpu, kWhere(), nullptr, 0, kWait, &r), 0) << ts_last_error();
    Msg reply(r);
    EXPECT_EQ(ts_addr_node(r->src), 3u);
}

TEST_F(ConventionHosts, EveryWatcherHearsACutOffMemberLeaveWithinTheLostTime)
{
    // A watcher on the leader's node (its admin was forked from this
    // process after the type was registered) and one on M1.
    Watching wl(lead_), w1(m1_);
    ASSERT_EQ(wl.rc(), 0) << wl.error();
    ASSERT_EQ(w1.rc(), 0) << w1.error();
    struct Case {
        const char *where;
        Watching *w;
        uint16_t other; // the node it hears of besides node 3
    } cases[] = {{"on the leader", &wl, 2}, {"on M1", &w1, 1}};
    for (const Case &c : cases) {
        ASSERT_TRUE(c.w->WaitFor([](const std::vector<Update> &u) { return u.size() == 2; }))
            << c.where << ": " << Show(c.w->Updates());
        auto u = c.w->Updates();
        EXPECT_EQ(EventsOf(u, c.other), std::vector<ts_convention_event>{TS_CONV_JOINED})
            << c.where << ": " << Show(u);
        EXPECT_EQ(EventsOf(u, 3), std::vector<ts_convention_event>{TS_CONV_JOINED})
            << c.where << ": " << Show(u);
    }

    // Cut: M2's end of its link to the switch is set down (the switch's end
    // loses its carrier).
    std::string err;
    const Clock::time_point cut = Clock::now();
    ASSERT_TRUE(SetLink(3, "down", &err)) << err;
    const auto left3 = [](const std::vector<Update> &u) {
        return EventsOf(u, 3).size() >= 2;
    };
    for (const Case &c : cases) {
        ASSERT_TRUE(c.w->WaitFor(left3)) << c.where << ": " << Show(c.w->Updates());
        auto u = c.w->Updates();
        ASSERT_EQ(u.size(), 3u) << c.where << ": " << Show(u);
        EXPECT_EQ(u[2].node, 3u);
        EXPECT_EQ(u[2].event, TS_CONV_LEFT) << c.where << ": " << Show(u);
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(u[2].at - cut);
        std::cout << "[ measured ] LEFT of the cut-off node heard " << c.where << " after "
                  << took.count() << " ms (lost_ms " << kLostMs << ")" << std::endl;
        EXPECT_LT(took.count(), kLeftBoundMs) << c.where;
    }
    EXPECT_TRUE(WaitUntil([&] { return Members(m1_).size() == 2; })) << Ids(Members(m1_));
    ts_node_status st;
    EXPECT_TRUE(WaitUntil([&] { return LeaderStatus(&st) == 0 && st.nmembers == 2; }))
        << st.nmembers;

    // Restored: M2 comes back by itself, and each watcher hears it once.
    ASSERT_TRUE(SetLink(3, "up", &err)) << err;
    for (const Case &c : cases)
        EXPECT_TRUE(c.w->WaitFor([](const std::vector<Update> &u) {
            return EventsOf(u, 3).size() >= 3;
        })) << c.where << ": " << Show(c.w->Updates());
    for (ts_system *s : {lead_, m1_, m2_})
        EXPECT_TRUE(WaitUntil([&] { return Members(s).size() == 3; })) << Ids(Members(s));
    // Some heartbeats later, nothing more: no flapping, nothing twice.
    std::this_thread::sleep_for(std::chrono::milliseconds(kLostMs));
    for (const Case &c : cases) {
        auto u = c.w->Updates();
        EXPECT_EQ(EventsOf(u, c.other), std::vector<ts_convention_event>{TS_CONV_JOINED})
            << c.where << ": " << Show(u);
        EXPECT_EQ(EventsOf(u, 3), (std::vector<ts_convention_event>{
                                      TS_CONV_JOINED, TS_CONV_LEFT, TS_CONV_JOINED}))
            << c.where << ": " << Show(u);
        EXPECT_EQ(c.w->Trouble(), "") << c.where;
    }
}

TEST_F(ConventionHosts, ANodeWithTheWrongKeyIsRefused)
{
    ASSERT_NO_FATAL_FAILURE(AddHost(4));
    other_key_ = dir_ + "/other.key";
    ASSERT_EQ(ts_convention_keygen(other_key_.c_str()), 0) << ts_last_error();
    ASSERT_NO_FATAL_FAILURE(OpenMember(4, "gpu=true", other_key_, &bad_));

    // Until the leader has refused it, M1 must never list it.
    bool listed = false;
    EXPECT_TRUE(WaitUntil([&] {
        listed = listed || Find(Members(m1_), 4) != nullptr;
        std::string log = LeaderLog();
        // Refused before it could say who it is: the leader names its host.
        return log.find("TS-CONV-REFUSED refused a JOIN from " + HostIp(4) + ":") !=
               std::string::npos;
    })) << LeaderLog();
    // Some heartbeats (and some of its retries) later, still nowhere.
    std::this_thread::sleep_for(std::chrono::milliseconds(kLostMs));
    EXPECT_FALSE(listed);
    EXPECT_EQ(Ids(Members(m1_)), "1 2 3");
    EXPECT_EQ(Ids(Members(m2_)), "1 2 3");
    ts_node_status st;
    ASSERT_EQ(LeaderStatus(&st), 0);
    EXPECT_EQ(st.nmembers, 3u);
    EXPECT_EQ(Members(bad_).size(), 0u);
    // The refused node is no place for an actor either: its GPU is not the
    // convention's (M2 has one, so a Gpu made on M1 still lands on node 3).
    ts_addr gpu = TS_ADDR_NONE;
    ASSERT_EQ(CreateAgain(m1_, kGpuType.name, &gpu), 0) << ts_last_error();
    EXPECT_EQ(ts_addr_node(gpu), 3u);
}

} // namespace
