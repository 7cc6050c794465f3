// SPDX-License-Identifier: MIT
//
// image_fetch_test.cc — a node asked to create an actor of a code image it
// lacks fetches the image from its convention's leader (design §8,
// engine/image_fetch.c), checks that the bytes hash to the id asked for,
// has its own Source Authority approve them, and only then loads them.
//
// Across hosts: the leader and a member each in a network namespace of
// their own, joined by a veth pair; their data links (udp) go through the
// seeded relay of the test support, which can corrupt what it carries. On
// loopback: three nodes, for an image the leader does not have.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thespis/image.h>
#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "conv_support.h"
#include "netfault.h"
#include "ts_test.h"

namespace {

using Bytes = std::vector<unsigned char>;
using convt::Members;
using convt::WaitUntil;

struct MsgFree {
    void operator()(ts_msg *m) const { ts_msg_free(m); }
};
using Msg = std::unique_ptr<ts_msg, MsgFree>;

// The example image the build made, with tag appended (which the loader
// ignores and the hash does not): an image no other test has.
Bytes Image(const std::string &tag)
{
    const char *path = getenv("THESPIS_IMAGE_GREETER");
    EXPECT_NE(path, nullptr) << "THESPIS_IMAGE_GREETER is not set";
    std::ifstream in(path ? path : "", std::ios::binary);
    Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_FALSE(b.empty());
    b.insert(b.end(), tag.begin(), tag.end());
    return b;
}

// Log records of one node.
struct LogSink {
    std::mutex mu;
    std::vector<std::string> lines; // "ID text"
    static void Fn(void *user, const ts_log_record *r)
    {
        auto *s = static_cast<LogSink *>(user);
        std::lock_guard<std::mutex> g(s->mu);
        s->lines.push_back(std::string(r->id ? r->id : "") + " " + r->text);
    }
    bool Has(const std::string &id, const std::string &text)
    {
        std::lock_guard<std::mutex> g(mu);
        for (const auto &l : lines)
            if (l.rfind(id + " ", 0) == 0 && l.find(text) != std::string::npos)
                return true;
        return false;
    }
};

// Keeps "L<id>" for each ImageLoaded, and answers anything else with them.
struct WatcherState {
    char log[512];
};
int WatcherInit(ts_ctx *ctx, void *, const void *, size_t)
{
    return ts_notify_on_images(ctx, true);
}
int WatcherAny(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *w = static_cast<WatcherState *>(state);
    ts_image_event ev;
    if (ts_image_event_decode(m, &ev) == 0) {
        char hex[TS_IMAGE_ID_TEXT];
        size_t used = strlen(w->log);
        snprintf(w->log + used, sizeof(w->log) - used, "%c%s\n",
                 m->type == TS_MSG_IMAGE_LOADED ? 'L' : 'U',
                 ts_image_id_format(&ev.id, hex, sizeof(hex)));
        return 0;
    }
    if (ts_sysmsg_name(m->type))
        return 0;
    return ts_reply(ctx, m->type, w->log, strlen(w->log));
}
const ts_actor_type kWatcher = {"fetchtest.Watcher", sizeof(WatcherState), WatcherInit, nullptr,
                                nullptr, WatcherAny, nullptr, nullptr};

std::string IdText(const ts_image_id &id)
{
    char hex[TS_IMAGE_ID_TEXT];
    return ts_image_id_format(&id, hex, sizeof(hex));
}

// A directory with the convention's key and two signing key pairs.
class Keys {
  public:
    Keys()
    {
        char tmpl[] = "/tmp/ts-fetch-XXXXXX";
        if (!mkdtemp(tmpl))
            return;
        dir_ = tmpl;
        ok_ = ts_convention_keygen(Path("conv.key").c_str()) == 0 &&
              ts_sign_keygen(Path("secret").c_str(), Path("public").c_str()) == 0 &&
              ts_sign_keygen(Path("other.secret").c_str(), Path("other.public").c_str()) == 0;
    }
    ~Keys()
    {
        for (const char *f : {"conv.key", "secret", "public", "other.secret", "other.public"})
            unlink(Path(f).c_str());
        rmdir(dir_.c_str());
    }
    Keys(const Keys &) = delete;
    Keys &operator=(const Keys &) = delete;
    bool ok() const { return ok_; }
    std::string Path(const char *f) const { return dir_ + "/" + f; }
    Bytes Sign(const Bytes &b) const
    {
        Bytes sig(TS_SIGN_BYTES);
        EXPECT_EQ(ts_sign_bytes(Path("secret").c_str(), b.data(), b.size(), sig.data()), 0)
            << ts_last_error();
        return sig;
    }

  private:
    std::string dir_;
    bool ok_ = false;
};

// A node's settings, kept alive while it opens.
struct NodeSpec {
    uint16_t id = 0;
    bool leader = false;
    std::string listen, peers, convention, key, authority, cores;
    std::string name; // not empty: a named multiproc node (this program attaches)
    unsigned shards = 1;
};

class Nodes {
  public:
    ~Nodes()
    {
        for (auto &n : open_) {
            if (n.named) {
                EXPECT_EQ(ts_system_shutdown(n.sys), 0) << ts_last_error();
            }
            ts_system_close(n.sys);
        }
    }
    ts_system *Open(const NodeSpec &s)
    {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = s.name.empty() ? TS_BASE_PINNED : TS_BASE_MULTIPROC;
        cfg.node_name = s.name.empty() ? nullptr : s.name.c_str();
        cfg.node_id = s.id;
        cfg.shards = s.shards;
        cfg.cores = s.cores.empty() ? nullptr : s.cores.c_str();
        cfg.listen = s.listen.c_str();
        cfg.peers = s.peers.empty() ? nullptr : s.peers.c_str();
        cfg.convention = s.convention.c_str();
        cfg.convention_leader = s.leader;
        cfg.key_file = s.key.c_str();
        cfg.convention_lost_ms = 2000; // CI machines are loaded: no leader lost meanwhile
        cfg.authority_keys = s.authority.empty() ? nullptr : s.authority.c_str();
        auto log = std::make_unique<LogSink>();
        cfg.log.sink = TS_LOG_SINK_CALLBACK;
        cfg.log.fn = LogSink::Fn;
        cfg.log.user = log.get();
        cfg.log.level = TS_LOG_INFO;
        ts_system *sys = nullptr;
        int rc = ts_system_open(&cfg, &sys);
        EXPECT_EQ(rc, 0) << "node " << s.id << ": " << ts_last_error();
        if (rc == 0)
            open_.push_back({sys, std::move(log), !s.name.empty()});
        return sys;
    }
    LogSink &Log(ts_system *sys)
    {
        for (auto &n : open_)
            if (n.sys == sys)
                return *n.log;
        return none_;
    }

  private:
    struct Open_ {
        ts_system *sys;
        std::unique_ptr<LogSink> log;
        bool named;
    };
    std::vector<Open_> open_;
    LogSink none_;
};

// Creates an actor of type from image id on node `on`, from sys, again while
// that node has leased sys no slot yet (-EAGAIN).
int CreateOn(ts_system *sys, uint16_t on, const ts_image_id &id, const char *type, ts_addr *out)
{
    ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_NODE, 0, on, nullptr, &id};
    int rc;
    auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(tst::kWait);
    while ((rc = ts_system_create(sys, type, &o, out)) == -EAGAIN &&
           std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return rc;
}

constexpr uint64_t kShortWait = UINT64_C(2) * 1000 * 1000 * 1000;

// Asks a what; the reply's text, or "poison: <reason>" / "ask: <error>".
std::string Ask(ts_system *sys, ts_addr a, const std::string &what, uint64_t wait = tst::kWait)
{
    ts_msg *r = nullptr;
    int rc = ts_ask(sys, a, ts_type_id("fetchtest.Say"), what.data(), what.size(), wait, &r);
    if (rc < 0)
        return std::string("ask: ") + ts_last_error();
    Msg owned(r);
    ts_poison p;
    if (r->type == TS_MSG_POISON && ts_poison_decode(r, &p) == 0)
        return "poison " + std::to_string(p.reason) + ": " +
               std::string(p.reason_text, p.reason_text_len);
    return std::string(static_cast<const char *>(ts_msg_data(r)), r->len);
}

bool Contains(const std::string &s, const std::string &what)
{
    return s.find(what) != std::string::npos;
}

// How many images sys's node has, and whether id is loaded there.
bool HasImage(ts_system *sys, const ts_image_id &id)
{
    std::vector<ts_image_info> v(64);
    int n = ts_images(sys, v.data(), (unsigned)v.size());
    for (int i = 0; i < n; i++)
        if (memcmp(&v[(size_t)i].id, &id, sizeof(id)) == 0 && v[(size_t)i].loaded)
            return true;
    return false;
}

// ---- across two hosts, through the relay -----------------------------------

constexpr uint16_t kConvPort = 7310, kLeaderData = 7311, kMemberData = 7312;
const char *const kLeaderIp = "192.0.2.1";
const char *const kMemberIp = "192.0.2.2";

class ImageFetchHosts : public ::testing::Test {
  protected:
    void SetUp() override
    {
        std::string why;
        if (!tst::NetnsAvailable(&why))
            GTEST_SKIP() << "needs network namespaces: " << why;
        ASSERT_EQ(ts_register_actor_type(&kWatcher), 0) << ts_last_error();
        ASSERT_TRUE(keys_.ok()) << ts_last_error();
        a_ = std::make_unique<tst::Netns>();
        b_ = std::make_unique<tst::Netns>();
        ASSERT_TRUE(a_->ok() && b_->ok()) << a_->error() << b_->error();
        veth_ = std::make_unique<tst::VethPair>(*a_, *b_, kLeaderIp, kMemberIp);
        ASSERT_TRUE(veth_->ok()) << veth_->error();
        // The relay lives on the leader's host: the leader reaches the
        // member at its side a, the member the leader at its side b.
        tst::RelayConfig rc;
        rc.seed = 7;
        rc.bind_ip = kLeaderIp;
        tst::Ipv4(kLeaderIp, kLeaderData, &rc.peer_a);
        tst::Ipv4(kMemberIp, kMemberData, &rc.peer_b);
        {
            tst::InNetns in(*a_);
            ASSERT_TRUE(in.ok()) << in.error();
            relay_ = std::make_unique<tst::FaultRelay>(rc);
        }
        ASSERT_TRUE(relay_->ok()) << relay_->error();
        cpus_ = tst::AllowedCpus();
        ASSERT_FALSE(cpus_.empty());
    }
    void TearDown() override
    {
        if (HasFailure())
            for (ts_system *s : {lead_, member_})
                if (s) {
                    std::lock_guard<std::mutex> g(nodes_->Log(s).mu);
                    for (const auto &l : nodes_->Log(s).lines)
                        std::fprintf(stderr, "node %s: %s\n", s == lead_ ? "1" : "2", l.c_str());
                }
        nodes_.reset(); // the nodes, then the relay, the link and the hosts
        relay_.reset();
        veth_.reset();
        b_.reset();
        a_.reset();
    }

    // The leader (node 1, host a) and the member (node 2, host b), whose
    // authority trusts member_key.
    void OpenBoth(const char *member_key)
    {
        NodeSpec l;
        l.id = 1;
        l.leader = true;
        l.listen = std::string("udp://") + kLeaderIp + ":" + std::to_string(kLeaderData);
        l.peers = std::string("2=udp://") + kLeaderIp + ":" + std::to_string(relay_->PortA());
        l.convention = std::string(kLeaderIp) + ":" + std::to_string(kConvPort);
        l.key = keys_.Path("conv.key");
        l.authority = keys_.Path("public");
        l.cores = std::to_string(cpus_.front());
        NodeSpec m = l;
        m.id = 2;
        m.leader = false;
        m.listen = std::string("udp://") + kMemberIp + ":" + std::to_string(kMemberData);
        m.peers = std::string("1=udp://") + kLeaderIp + ":" + std::to_string(relay_->PortB());
        m.authority = keys_.Path(member_key);
        m.cores = std::to_string(cpus_.back());
        {
            tst::InNetns in(*a_);
            ASSERT_TRUE(in.ok()) << in.error();
            ASSERT_NE(lead_ = nodes_->Open(l), nullptr);
        }
        {
            tst::InNetns in(*b_);
            ASSERT_TRUE(in.ok()) << in.error();
            ASSERT_NE(member_ = nodes_->Open(m), nullptr);
        }
        for (ts_system *s : {lead_, member_})
            ASSERT_TRUE(WaitUntil([&] { return Members(s).size() == 2; }));
    }

    // The leader loads a signed image of its own: its id.
    ts_image_id LoadOnLeader(const std::string &tag, Bytes *img = nullptr)
    {
        Bytes b = Image(tag), sig = keys_.Sign(b);
        ts_image_id id{};
        EXPECT_EQ(ts_load_image(lead_, b.data(), b.size(), sig.data(), sig.size(), &id), 0)
            << ts_last_error();
        if (img)
            *img = b;
        return id;
    }

    Keys keys_;
    std::unique_ptr<tst::Netns> a_, b_;
    std::unique_ptr<tst::VethPair> veth_;
    std::unique_ptr<tst::FaultRelay> relay_;
    std::unique_ptr<Nodes> nodes_ = std::make_unique<Nodes>();
    std::vector<int> cpus_;
    ts_system *lead_ = nullptr, *member_ = nullptr;
};

TEST_F(ImageFetchHosts, AnActorPlacedOnAMemberThatLacksItsImageRunsOnceTheImageIsFetched)
{
    ASSERT_NO_FATAL_FAILURE(OpenBoth("public"));
    ts_addr w = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(member_, kWatcher.name, nullptr, &w), 0) << ts_last_error();
    ts_image_id id = LoadOnLeader("fetch-ok");
    EXPECT_FALSE(HasImage(member_, id));

    ts_addr g = TS_ADDR_NONE;
    ASSERT_EQ(CreateOn(lead_, 2, id, "images.Greeter", &g), 0) << ts_last_error();
    EXPECT_EQ(ts_addr_node(g), 2u);
    EXPECT_EQ(Ask(lead_, g, "across"), "Hello, across!");
    // The member has it now, as if loaded there: its watcher heard, and
    // the member makes its own.
    EXPECT_TRUE(HasImage(member_, id));
    EXPECT_EQ(Ask(member_, w, "?"), "L" + IdText(id) + "\n");
    EXPECT_TRUE(WaitUntil([&] {
        return nodes_->Log(member_).Has("TS-IMAGE-LOADED", "fetched from the leader (node 1)");
    }));
    ts_addr c = TS_ADDR_NONE;
    ASSERT_EQ(CreateOn(lead_, 2, id, "images.Counter", &c), 0) << ts_last_error();
    EXPECT_EQ(Ask(lead_, c, "x"), "1");
    ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, &id};
    ts_addr own = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(member_, "images.Greeter", &o, &own), 0) << ts_last_error();
    EXPECT_EQ(Ask(member_, own, "here"), "Hello, here!");
    EXPECT_EQ(ts_addr_node(own), 2u);
}

TEST_F(ImageFetchHosts, ACorruptedTransferIsRefusedAndTheNextFetchBringsTheImage)
{
    ASSERT_NO_FATAL_FAILURE(OpenBoth("public"));
    const std::string tag = "fetch-corrupt-marker";
    ts_image_id id = LoadOnLeader(tag);
    relay_->Corrupt(tag); // in the image's bytes: they no longer hash to its id

    ts_addr g = TS_ADDR_NONE;
    ASSERT_EQ(CreateOn(lead_, 2, id, "images.Greeter", &g), 0) << ts_last_error();
    std::string got = Ask(lead_, g, "bad");
    EXPECT_TRUE(Contains(got, "poison " + std::to_string(-EBADMSG))) << got;
    EXPECT_TRUE(Contains(got, "corrupted transfer")) << got;
    EXPECT_TRUE(Contains(got, IdText(id))) << got;
    EXPECT_GE(relay_->Total().corrupted, 1u);
    EXPECT_FALSE(HasImage(member_, id));
    EXPECT_TRUE(WaitUntil(
        [&] { return nodes_->Log(member_).Has("TS-IMAGE-REFUSED", "corrupted transfer"); }));

    // The member is unaffected, and asks again for the next actor.
    relay_->Corrupt("");
    ASSERT_EQ(CreateOn(lead_, 2, id, "images.Greeter", &g), 0) << ts_last_error();
    EXPECT_EQ(Ask(lead_, g, "good"), "Hello, good!");
    EXPECT_TRUE(HasImage(member_, id));
}

TEST_F(ImageFetchHosts, AnImageSignedByAKeyTheMemberDoesNotTrustIsRefusedThere)
{
    ASSERT_NO_FATAL_FAILURE(OpenBoth("other.public"));
    ts_image_id id = LoadOnLeader("fetch-untrusted");
    ts_addr g = TS_ADDR_NONE;
    ASSERT_EQ(CreateOn(lead_, 2, id, "images.Greeter", &g), 0) << ts_last_error();
    std::string got = Ask(lead_, g, "no");
    EXPECT_TRUE(Contains(got, "poison " + std::to_string(-EPERM))) << got;
    EXPECT_TRUE(Contains(got, "refused by the Source Authority")) << got;
    EXPECT_FALSE(HasImage(member_, id));
    // The leader still runs its own.
    ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, &id};
    ts_addr mine = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(lead_, "images.Greeter", &o, &mine), 0) << ts_last_error();
    EXPECT_EQ(Ask(lead_, mine, "home"), "Hello, home!");
}

// ---- three nodes on loopback ---------------------------------------------

constexpr uint16_t kLoopConv = 21480;
uint16_t LoopData(uint16_t node) { return (uint16_t)(21480 + node); }

TEST(ImageFetchLoopback, AnImageTheLeaderDoesNotHaveIsRefusedWithItsReason)
{
    Keys keys;
    ASSERT_TRUE(keys.ok()) << ts_last_error();
    std::vector<int> cpus = tst::AllowedCpus();
    ASSERT_FALSE(cpus.empty());
    Nodes nodes;
    ts_system *sys[4] = {};
    for (uint16_t id = 1; id <= 3; id++) {
        NodeSpec s;
        s.id = id;
        s.leader = id == 1;
        s.listen = "tcp://127.0.0.1:" + std::to_string(LoopData(id));
        s.convention = "127.0.0.1:" + std::to_string(kLoopConv);
        s.key = keys.Path("conv.key");
        s.authority = keys.Path("public");
        s.cores = std::to_string(cpus[id % cpus.size()]);
        if (id == 3 && cpus.size() > 1) { // the fetch on whichever shard the Start goes to
            s.shards = 2;
            s.cores = std::to_string(cpus[0]) + "," + std::to_string(cpus[1]);
        }
        ASSERT_NE(sys[id] = nodes.Open(s), nullptr);
    }
    for (uint16_t id = 1; id <= 3; id++)
        ASSERT_TRUE(WaitUntil([&] { return Members(sys[id]).size() == 3; }));
    // Loaded on member 2 only: member 3 asks the leader, which has not got it.
    Bytes b = Image("fetch-not-on-leader"), sig = keys.Sign(b);
    ts_image_id id{};
    ASSERT_EQ(ts_load_image(sys[2], b.data(), b.size(), sig.data(), sig.size(), &id), 0)
        << ts_last_error();
    ts_addr g = TS_ADDR_NONE;
    ASSERT_EQ(CreateOn(sys[2], 3, id, "images.Greeter", &g), 0) << ts_last_error();
    std::string got = Ask(sys[2], g, "x");
    EXPECT_TRUE(Contains(got, "poison " + std::to_string(-ENOENT))) << got;
    EXPECT_TRUE(Contains(got, "the leader does not have it")) << got;
    EXPECT_FALSE(HasImage(sys[3], id));

    // Once the leader has it too, member 3 gets it from there.
    ts_image_id again{};
    ASSERT_EQ(ts_load_image(sys[1], b.data(), b.size(), sig.data(), sig.size(), &again), 0)
        << ts_last_error();
    for (int i = 0; i < 4; i++) { // round the shards of node 3
        ASSERT_EQ(CreateOn(sys[2], 3, id, "images.Greeter", &g), 0) << ts_last_error();
        EXPECT_EQ(Ask(sys[2], g, std::to_string(i)), "Hello, " + std::to_string(i) + "!");
    }
    EXPECT_TRUE(HasImage(sys[3], id));

    // And the leader itself never fetches: an image only a member has is
    // refused there.
    Bytes c = Image("fetch-member-only"), csig = keys.Sign(c);
    ts_image_id only{};
    ASSERT_EQ(ts_load_image(sys[3], c.data(), c.size(), csig.data(), csig.size(), &only), 0);
    ASSERT_EQ(CreateOn(sys[3], 1, only, "images.Greeter", &g), 0) << ts_last_error();
    got = Ask(sys[3], g, "x");
    EXPECT_TRUE(Contains(got, "poison ")) << got;
    EXPECT_FALSE(HasImage(sys[1], only));
}

TEST(ImageFetchLoopback, AMultiprocMemberFetchesItIntoItsShardProcesses)
{
    Keys keys;
    ASSERT_TRUE(keys.ok()) << ts_last_error();
    std::vector<int> cpus = tst::AllowedCpus();
    ASSERT_FALSE(cpus.empty());
    Nodes nodes;
    NodeSpec l;
    l.id = 1;
    l.leader = true;
    l.listen = "tcp://127.0.0.1:" + std::to_string(LoopData(5));
    l.convention = "127.0.0.1:" + std::to_string(kLoopConv + 10);
    l.key = keys.Path("conv.key");
    l.authority = keys.Path("public");
    l.cores = std::to_string(cpus.front());
    NodeSpec m = l;
    m.id = 2;
    m.leader = false;
    m.listen = "tcp://127.0.0.1:" + std::to_string(LoopData(6));
    m.name = "tsfetch" + std::to_string(getpid());
    m.cores = std::to_string(cpus.back());
    // The named node first: its admin is forked before this process runs
    // the leader's threads (a fork beside them fails under TSan).
    ts_system *member = nodes.Open(m), *lead = nodes.Open(l);
    ASSERT_TRUE(lead && member);
    for (ts_system *s : {lead, member})
        ASSERT_TRUE(WaitUntil([&] { return Members(s).size() == 2; }));
    Bytes b = Image("fetch-multiproc"), sig = keys.Sign(b);
    ts_image_id id{};
    ASSERT_EQ(ts_load_image(lead, b.data(), b.size(), sig.data(), sig.size(), &id), 0)
        << ts_last_error();
    // The shard process that takes the Start fetches and loads it, and the
    // node's admin keeps its copy: this program, attached, sees it listed.
    ts_addr g = TS_ADDR_NONE;
    ASSERT_EQ(CreateOn(lead, 2, id, "images.Greeter", &g), 0) << ts_last_error();
    EXPECT_EQ(Ask(lead, g, "processes"), "Hello, processes!");
    EXPECT_TRUE(HasImage(member, id));
    ts_addr c = TS_ADDR_NONE;
    ASSERT_EQ(CreateOn(lead, 2, id, "images.Counter", &c), 0) << ts_last_error();
    EXPECT_EQ(Ask(lead, c, "x"), "1");

    // A shard process killed and restarted by the admin has not got the
    // image: it loads it from the copy the admin keeps (hash checked), for
    // the actors it re-creates and for new ones.
    ts_node_status st;
    ASSERT_EQ(ts_node_status_get(m.name.c_str(), &st), 0) << ts_last_error();
    const int32_t before = st.shards[0].pid;
    ASSERT_GT(before, 0);
    ASSERT_EQ(kill(before, SIGKILL), 0);
    ASSERT_TRUE(WaitUntil([&] {
        return ts_node_status_get(m.name.c_str(), &st) == 0 && st.shards[0].restarts == 1 &&
               st.shards[0].pid > 0 && st.shards[0].pid != before;
    }));
    // The re-created greeter answers once the leader's link to the new
    // process is up again (a reconnect, with its backoff); then a new actor
    // there, made with a slot of the new process's leases.
    EXPECT_TRUE(WaitUntil([&] { return Ask(lead, g, "again", kShortWait) == "Hello, again!"; }));
    std::string got;
    EXPECT_TRUE(WaitUntil([&] {
        ts_addr c2 = TS_ADDR_NONE;
        got = CreateOn(lead, 2, id, "images.Counter", &c2) == 0 ? Ask(lead, c2, "y", kShortWait)
                                                                : ts_last_error();
        return got == "1";
    })) << got;
    EXPECT_TRUE(HasImage(member, id));
    if (::testing::Test::HasFailure()) {
        std::lock_guard<std::mutex> lk(nodes.Log(lead).mu);
        for (const auto &line : nodes.Log(lead).lines)
            std::fprintf(stderr, "leader: %s\n", line.c_str());
    }
}

} // namespace
