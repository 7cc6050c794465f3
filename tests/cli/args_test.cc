// SPDX-License-Identifier: MIT
//
// args_test.cc — the `thespis` option parser itself (tools/cli_args.c),
// for what the command's output cannot show: the ts_config a good command
// line turns into. The network options: the scheme --transport gives a
// --listen or --peer without one, in any order, and the dpdk fields.
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "cli.h"
}

namespace {

// The network options of `thespis start` (tools/thespis.c has them all).
const struct option kStartOptions[] = {
    {"base", required_argument, nullptr, CLI_OPT_BASE},
    {"node-id", required_argument, nullptr, CLI_OPT_NODE_ID},
    {"listen", required_argument, nullptr, CLI_OPT_LISTEN},
    {"peer", required_argument, nullptr, CLI_OPT_PEER},
    {"transport", required_argument, nullptr, CLI_OPT_TRANSPORT},
    {"dpdk-vdev", required_argument, nullptr, CLI_OPT_DPDK_VDEV},
    {"dpdk-args", required_argument, nullptr, CLI_OPT_DPDK_ARGS},
    {"dpdk-mbufs", required_argument, nullptr, CLI_OPT_DPDK_MBUFS},
    {"convention", required_argument, nullptr, CLI_OPT_CONVENTION},
    {"convention-leader", no_argument, nullptr, CLI_OPT_CONVENTION_LEADER},
    {"key-file", required_argument, nullptr, CLI_OPT_KEY_FILE},
    {"lost-ms", required_argument, nullptr, CLI_OPT_LOST_MS},
    {nullptr, 0, nullptr, 0},
};
const struct cli_cmd kStart = {"start", "usage: thespis start\n", kStartOptions, nullptr, false};

// cli_parse over "start" + args. The words are kept until the next call:
// what the parser returns points into them.
enum cli_parsed Parse(const std::vector<std::string> &args, struct cli_args *a)
{
    static std::vector<std::string> words;
    words = args;
    words.insert(words.begin(), "start");
    std::vector<char *> argv;
    for (auto &w : words)
        argv.push_back(&w[0]);
    argv.push_back(nullptr);
    return cli_parse(&kStart, (int)words.size(), argv.data(), a);
}

std::string Str(const char *s) { return s ? s : "(null)"; }

TEST(CliArgs, ADpdkNodeTakesTheSchemeAndItsDeviceFromTheOptions)
{
    struct cli_args a;
    ASSERT_EQ(Parse({"--node-id", "1", "--transport", "dpdk", "--dpdk-vdev",
                     "net_af_packet0,iface=eth1", "--dpdk-args", "--no-huge -m 256",
                     "--dpdk-mbufs", "8192", "--listen", "10.0.0.1:7000", "--peer",
                     "2=10.0.0.2:7000", "--peer", "3=udp://10.0.0.3:7000"},
                    &a),
              CLI_PARSED_RUN);
    EXPECT_EQ(Str(a.cfg.listen), "dpdk://10.0.0.1:7000");
    EXPECT_EQ(Str(a.cfg.peers), "2=dpdk://10.0.0.2:7000,3=udp://10.0.0.3:7000");
    EXPECT_EQ(Str(a.cfg.dpdk_vdev), "net_af_packet0,iface=eth1");
    EXPECT_EQ(Str(a.cfg.dpdk_args), "--no-huge -m 256");
    EXPECT_EQ(a.cfg.dpdk_mbufs, 8192u);
    EXPECT_EQ(a.cfg.node_id, 1u);
    EXPECT_EQ(a.cfg.base, TS_BASE_PINNED) << "a dpdk node runs on the pinned base";
}

// --transport applies to the URLs given before it as well as after.
TEST(CliArgs, TheTransportMayComeAfterTheUrls)
{
    struct cli_args a;
    ASSERT_EQ(Parse({"--listen", "10.0.0.1:7000", "--peer", "2=10.0.0.2:7000", "--dpdk-vdev",
                     "net_tap0", "--transport", "dpdk", "--base", "pinned"},
                    &a),
              CLI_PARSED_RUN);
    EXPECT_EQ(Str(a.cfg.listen), "dpdk://10.0.0.1:7000");
    EXPECT_EQ(Str(a.cfg.peers), "2=dpdk://10.0.0.2:7000");
    EXPECT_EQ(a.cfg.dpdk_mbufs, 0u) << "not given: the transport's default";
    EXPECT_EQ(a.cfg.dpdk_args, nullptr);
}

// A URL with a scheme keeps it; one without takes --transport's.
TEST(CliArgs, AnExplicitSchemeWins)
{
    struct cli_args a;
    ASSERT_EQ(Parse({"--transport", "udp", "--listen", "tcp://127.0.0.1:1", "--listen",
                     "127.0.0.1:2", "--peer", "2=tcp://127.0.0.1:3", "--peer", "3=127.0.0.1:4"},
                    &a),
              CLI_PARSED_RUN);
    EXPECT_EQ(Str(a.cfg.listen), "tcp://127.0.0.1:1,udp://127.0.0.1:2");
    EXPECT_EQ(Str(a.cfg.peers), "2=tcp://127.0.0.1:3,3=udp://127.0.0.1:4");
    EXPECT_EQ(a.cfg.base, TS_BASE_MULTIPROC) << "no dpdk: the command's default base";
}

// Without --transport a HOST:PORT listen is tcp, and peers without a scheme
// are left to the node (its one listen transport, else tcp).
TEST(CliArgs, WithoutATransportListenIsTcpAndPeersAreTheNodes)
{
    struct cli_args a;
    ASSERT_EQ(Parse({"--listen", "127.0.0.1:1", "--peer", "2=127.0.0.1:2"}, &a), CLI_PARSED_RUN);
    EXPECT_EQ(Str(a.cfg.listen), "tcp://127.0.0.1:1");
    EXPECT_EQ(Str(a.cfg.peers), "2=127.0.0.1:2");
    ASSERT_EQ(Parse({}, &a), CLI_PARSED_RUN);
    EXPECT_EQ(a.cfg.listen, nullptr);
    EXPECT_EQ(a.cfg.peers, nullptr);
    EXPECT_EQ(a.cfg.dpdk_vdev, nullptr);
}

// Option errors the parser must catch before a node is started (the
// messages are checked through the command in cli_test.cc).
TEST(CliArgs, BadDpdkCommandLinesAreRefused)
{
    const std::vector<std::vector<std::string>> bad = {
        {"--transport", "dpdk", "--listen", "10.0.0.1:7000"},                  // no device
        {"--transport", "quic"},                                                // no such
        {"--dpdk-mbufs", "many", "--listen", "dpdk://10.0.0.1:1", "--dpdk-vdev", "x"},
        {"--dpdk-vdev", "x", "--listen", "udp://10.0.0.1:1"},                   // no dpdk listen
        {"--listen", "dpdk://10.0.0.1:1", "--dpdk-vdev", "x", "--base", "multiproc"},
        {"--listen", "dpdk://10.0.0.1:1", "--transport", "dpdk", "--listen", "10.0.0.1:2"},
    };
    for (const auto &args : bad) {
        struct cli_args a;
        EXPECT_EQ(Parse(args, &a), CLI_PARSED_ERROR) << ::testing::PrintToString(args);
    }
}

TEST(CliArgs, AConventionTakesItsLeaderKeyAndLossTime)
{
    struct cli_args a;
    ASSERT_EQ(Parse({"--convention", "192.0.2.1:7000", "--convention-leader", "--key-file",
                     "/etc/conv.key", "--lost-ms", "250"},
                    &a),
              CLI_PARSED_RUN);
    EXPECT_EQ(Str(a.cfg.convention), "192.0.2.1:7000");
    EXPECT_TRUE(a.cfg.convention_leader);
    EXPECT_EQ(Str(a.cfg.key_file), "/etc/conv.key");
    EXPECT_EQ(a.cfg.convention_lost_ms, 250u);
    ASSERT_EQ(Parse({}, &a), CLI_PARSED_RUN);
    EXPECT_EQ(a.cfg.convention, nullptr);
    EXPECT_FALSE(a.cfg.convention_leader);
}

TEST(CliArgs, BadConventionCommandLinesAreRefused)
{
    const std::vector<std::vector<std::string>> bad = {
        {"--convention", "192.0.2.1:7000"},                      // no key
        {"--convention-leader", "--key-file", "k"},              // no convention
        {"--key-file", "k"},                                     // no convention
        {"--lost-ms", "100"},                                    // no convention
        {"--convention", "nocolon", "--key-file", "k"},          // not HOST:PORT
        {"--convention", "h:1", "--key-file", ""},               // empty path
        {"--convention", "h:1", "--key-file", "k", "--lost-ms", "5"},      // below 10
        {"--convention", "h:1", "--key-file", "k", "--lost-ms", "700000"}, // above 600000
    };
    for (const auto &args : bad) {
        struct cli_args a;
        EXPECT_EQ(Parse(args, &a), CLI_PARSED_ERROR) << ::testing::PrintToString(args);
    }
}

} // namespace
