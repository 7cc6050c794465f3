// SPDX-License-Identifier: MIT
//
// node_test.cc — a node's life through the command: `thespis start` leaves
// it running, `status --json` describes it, a second start refuses, `stop`
// removes it and everything it had in /dev/shm.
#include <cstdlib>
#include <string>
#include <vector>

#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thespis/node.h>
#include <thespis/thespis.h>

#include "run.h"

namespace {

using cli::Show;

using cli::NodeGuard;
using cli::ShmLeftovers;
using cli::ShardCount;

using cli::Result;
using cli::Thespis;

constexpr uint64_t kStopWait = UINT64_C(30) * 1000 * 1000 * 1000;

TEST(CliNode, StartStatusStop)
{
    const std::string image = cli::EnvPath("THESPIS_IMAGE");
    ASSERT_FALSE(image.empty()) << "THESPIS_IMAGE is not set";
    const std::string name = "clitest-" + std::to_string(getpid()) + "-node";
    const std::string shards = std::to_string(ShardCount());
    NodeGuard guard{name};

    Result r = Thespis({"start", "--name", name, "--image", image, "--shards", shards, "--cap",
                        "zone=clitest", "--cap", "note=a\"b\\c"});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_NE(r.out.find("node '" + name + "' started: base multiproc"), std::string::npos)
        << Show(r);
    EXPECT_NE(r.out.find("thespis stop --name " + name), std::string::npos) << Show(r);

    // A second start of the same name refuses instead of attaching.
    Result again = Thespis({"start", "--name", name});
    EXPECT_EQ(again.status, 1) << Show(again);
    EXPECT_NE(again.err.find("node '" + name + "' is already running"), std::string::npos)
        << Show(again);

    // The JSON status: one line, one object, every field.
    r = Thespis({"status", "--name", name, "--json"});
    ASSERT_EQ(r.status, 0) << Show(r);
    auto lines = cli::Lines(r.out);
    ASSERT_EQ(lines.size(), 1u) << Show(r);
    const std::string &js = lines[0];
    EXPECT_EQ(js.front(), '{');
    EXPECT_EQ(js.back(), '}');
    EXPECT_NE(js.find("\"name\":\"" + name + "\""), std::string::npos) << js;
    EXPECT_NE(js.find("\"base\":\"multiproc\""), std::string::npos) << js;
    // A quote and a backslash in a capability come out escaped.
    EXPECT_NE(js.find(R"("caps":"zone=clitest,note=a\"b\\c")"), std::string::npos) << js;
    for (const char *key : {"\"pid\":", "\"node_id\":", "\"actors\":", "\"dead_letters\":",
                            "\"clients\":", "\"shards\":[{"})
        EXPECT_NE(js.find(key), std::string::npos) << key << " missing in " << js;
    for (const char *key : {"\"id\":", "\"core\":", "\"restarts\":", "\"msgs_in\":",
                            "\"msgs_out\":"})
        EXPECT_NE(js.find(key), std::string::npos) << key << " missing in " << js;

    // The text status names the node and has a row per shard.
    r = Thespis({"status", "--name", name});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_NE(r.out.find("node '" + name + "': base multiproc"), std::string::npos) << Show(r);
    EXPECT_EQ(cli::Lines(r.out).size(), 2u + std::stoul(shards)) << Show(r);

    r = Thespis({"stop", "--name", name});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(r.out, "node '" + name + "' stopped\n");

    r = Thespis({"status", "--name", name});
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_NE(r.err.find("no node named '" + name + "'"), std::string::npos) << Show(r);
    EXPECT_EQ(ShmLeftovers(name), std::vector<std::string>{});
}

// The node's live actors as its status says (-1: unreadable).
long StatusActors(const std::string &name)
{
    ts_node_status st;
    return ts_node_status_get(name.c_str(), &st) == 0 ? static_cast<long>(st.actors) : -1;
}

// `thespis cap set/unset` on a running node: the status shows the new
// capabilities, an actor created with a requirement they no longer meet
// exits (the node's actor count drops by exactly one), one without stays,
// and a value the node refuses is exit 1 naming it.
TEST(CliNode, CapChangesARunningNodesCapabilities)
{
    const std::string image = cli::EnvPath("THESPIS_IMAGE");
    ASSERT_FALSE(image.empty()) << "THESPIS_IMAGE is not set";
    const std::string name = "clitest-" + std::to_string(getpid()) + "-cap";
    NodeGuard guard{name};
    Result r = Thespis({"start", "--name", name, "--image", image, "--shards",
                        std::to_string(ShardCount()), "--cap", "gpu=true", "--cap", "zone=a"});
    ASSERT_EQ(r.status, 0) << Show(r);

    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_MULTIPROC;
    cfg.node_name = name.c_str();
    ts_system *sys = nullptr;
    ASSERT_EQ(ts_system_open(&cfg, &sys), 0) << ts_last_error();
    ts_create_opts o{};
    o.requirements = "gpu";
    ts_addr needs = TS_ADDR_NONE, plain = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(sys, "image.Echo", &o, &needs), 0) << ts_last_error();
    ASSERT_EQ(ts_system_create(sys, "image.Echo", nullptr, &plain), 0) << ts_last_error();
    const uint64_t type = ts_type_id("clitest.Anything");
    for (ts_addr a : {needs, plain}) {
        ts_msg *reply = nullptr;
        ASSERT_EQ(ts_ask(sys, a, type, "x", 1, kStopWait, &reply), 0) << ts_last_error();
        ts_msg_free(reply);
    }
    ASSERT_EQ(StatusActors(name), 2);

    r = Thespis({"cap", "--name", name, "set", "gpu=false", "zone=b"});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(r.out, "node '" + name + "' capabilities: gpu=false,zone=b\n") << Show(r);
    // The actor needing a gpu exits; the count is read until it moves.
    long actors = 2;
    for (int tries = 0; tries < 5000 && actors == 2; tries++)
        actors = StatusActors(name);
    EXPECT_EQ(actors, 1);
    ts_msg *reply = nullptr;
    ASSERT_EQ(ts_ask(sys, plain, type, "y", 1, kStopWait, &reply), 0) << ts_last_error();
    ts_msg_free(reply);

    r = Thespis({"cap", "--name", name, "unset", "zone"});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(r.out, "node '" + name + "' capabilities: gpu=false\n") << Show(r);
    r = Thespis({"status", "--name", name, "--json"});
    EXPECT_NE(r.out.find("\"caps\":\"gpu=false\""), std::string::npos) << Show(r);

    r = Thespis({"cap", "--name", name, "set", "bad key=1"});
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_NE(r.err.find("thespis: cap: bad key=1: "), std::string::npos) << Show(r);
    r = Thespis({"cap", "--name", name, "set", "k=a,b"});
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_EQ(StatusActors(name), 1);
    ts_system_close(sys);
}

// Two nodes started by `thespis start --node-id --listen --peer`, for each
// transport: a program attached to node 1 asks the echo on node 2, and
// `thespis status` shows the link with its figures.
class CliLinked : public ::testing::TestWithParam<const char *> {};

TEST_P(CliLinked, NodesStartedWithPeersTalkAndShowTheirLinks)
{
    const std::string image = cli::EnvPath("THESPIS_IMAGE");
    ASSERT_FALSE(image.empty()) << "THESPIS_IMAGE is not set";
    const std::string scheme = std::string(GetParam()) + "://127.0.0.1:";
    const std::string n1 = "clitest-" + std::to_string(getpid()) + "-l1-" + GetParam();
    const std::string n2 = "clitest-" + std::to_string(getpid()) + "-l2-" + GetParam();
    NodeGuard g1{n1}, g2{n2};
    Result r;
    for (unsigned attempt = 0; attempt < 10; attempt++) { // until two free ports
        unsigned p1 = 20000 + (unsigned)((getpid() * 13 + attempt * 977) % 12000), p2 = p1 + 1;
        r = Thespis({"start", "--name", n1, "--shards", "1", "--node-id", "1", "--listen",
                     scheme + std::to_string(p1), "--peer", "2=" + scheme + std::to_string(p2)});
        if (r.status != 0)
            continue;
        r = Thespis({"start", "--name", n2, "--shards", "1", "--image", image, "--node-id", "2",
                     "--listen", scheme + std::to_string(p2), "--peer",
                     "1=" + scheme + std::to_string(p1)});
        if (r.status == 0)
            break;
        ts_node_stop(n1.c_str(), kStopWait);
    }
    ASSERT_EQ(r.status, 0) << Show(r);

    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_MULTIPROC;
    ts_system *s1 = nullptr, *s2 = nullptr;
    cfg.node_name = n1.c_str();
    ASSERT_EQ(ts_system_open(&cfg, &s1), 0) << ts_last_error();
    cfg.node_name = n2.c_str();
    ASSERT_EQ(ts_system_open(&cfg, &s2), 0) << ts_last_error();
    ts_addr echo = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(s2, "image.Echo", nullptr, &echo), 0) << ts_last_error();
    EXPECT_EQ(ts_addr_node(echo), 2);
    const std::string payload = "from node 1";
    const uint64_t type = ts_type_id("clitest.Anything");
    ts_msg *reply = nullptr;
    ASSERT_EQ(ts_ask(s1, echo, type, payload.data(), payload.size(), kStopWait, &reply), 0)
        << ts_last_error();
    EXPECT_EQ(std::string(static_cast<const char *>(ts_msg_data(reply)), reply->len), payload);
    ts_msg_free(reply);
    ts_system_close(s1);
    ts_system_close(s2);

    // The shard publishes its links' figures every few hundred turns of its
    // loop: asked until they show the round trip.
    std::string js;
    for (int tries = 0; tries < 500; tries++) {
        r = Thespis({"status", "--name", n1, "--json"});
        ASSERT_EQ(r.status, 0) << Show(r);
        js = r.out;
        if (js.find("\"up\":true,\"frames_in\":0") == std::string::npos &&
            js.find("\"up\":true") != std::string::npos)
            break;
    }
    EXPECT_NE(js.find("\"transport\":\"" + std::string(GetParam()) + "\""), std::string::npos) << js;
    EXPECT_NE(js.find("\"listen\":\"" + scheme), std::string::npos) << js;
    EXPECT_NE(js.find("\"links\":[{\"shard\":0,\"node\":2,\"up\":true"), std::string::npos) << js;
    EXPECT_EQ(js.find("\"frames_out\":0,"), std::string::npos) << "nothing sent? " << js;
    for (const char *key : {"\"bytes_in\":", "\"bytes_out\":", "\"retransmits\":",
                            "\"reconnects\":", "\"malformed\":", "\"queued_bytes\":"})
        EXPECT_NE(js.find(key), std::string::npos) << key << " missing in " << js;
    EXPECT_NE(js.find(",\"device\":null,"), std::string::npos) << "tcp and udp have none: " << js;
    r = Thespis({"status", "--name", n1});
    EXPECT_NE(r.out.find("links: " + std::string(GetParam()) + ", listening on " + scheme),
              std::string::npos) << Show(r);
}

INSTANTIATE_TEST_SUITE_P(Transports, CliLinked, ::testing::Values("tcp", "udp"),
                         [](const ::testing::TestParamInfo<const char *> &i) { return i.param; });

TEST(CliNode, BadNetworkOptionsAreUsageErrors)
{
    for (std::vector<std::string> args : {
             std::vector<std::string>{"start", "--node-id", "70000"},
             {"start", "--listen", "http://127.0.0.1:1"},
             {"start", "--listen", "tcp://127.0.0.1:1", "--listen", "tcp://127.0.0.1:2"},
             {"start", "--listen", "tcp://127.0.0.1:1,udp://127.0.0.1:2"},
             {"start", "--peer", "2"},
             {"start", "--peer", "x=tcp://127.0.0.1:1"},
             {"start", "--peer", "2=tcp://a:1,3=tcp://b:2"},
         }) {
        Result r = Thespis(args);
        EXPECT_EQ(r.status, 2) << Show(r);
        EXPECT_NE(r.err.find("try 'thespis start --help'"), std::string::npos) << Show(r);
    }
}

} // namespace
