// SPDX-License-Identifier: MIT
//
// status_test.cc — `thespis status` printing (tools/cli_status.c) of what
// a running node cannot be made to show here: a dpdk node's device block,
// as text and as JSON (tests/net/dpdk_test.cc checks the figures
// themselves). A node without a device prints none ("device":null).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <gtest/gtest.h>

extern "C" {
#include "cli.h"
}
#include "run.h"

namespace {

using cli::Printed;

// A one-shard dpdk node with a link and its port's figures: each a
// different number, so a figure printed in another's place shows.
std::unique_ptr<ts_node_status> DpdkNode()
{
    auto st = std::make_unique<ts_node_status>();
    std::memset(st.get(), 0, sizeof(*st));
    std::snprintf(st->name, sizeof st->name, "n1");
    std::snprintf(st->base, sizeof st->base, "pinned");
    st->nshards = 1;
    std::snprintf(st->transport, sizeof st->transport, "dpdk");
    std::snprintf(st->listen, sizeof st->listen, "dpdk://10.0.0.1:7000");
    st->nlinks = 1;
    st->links[0].node = 2;
    st->links[0].up = 1;
    ts_node_device &d = st->device;
    std::snprintf(d.name, sizeof d.name, "net_af_packet0");
    d.rx_packets = 101, d.tx_packets = 102, d.rx_bytes = 103, d.tx_bytes = 104;
    d.rx_missed = 105, d.rx_errors = 106, d.tx_errors = 107, d.rx_nombuf = 108;
    d.arp_in = 109, d.arp_out = 110, d.not_ours = 111, d.malformed = 112;
    d.forwarded = 113, d.inbox_full = 114, d.tx_dropped = 115;
    return st;
}

TEST(CliStatus, TextShowsTheDeviceAfterTheLinks)
{
    auto st = DpdkNode();
    std::string out = Printed([&](FILE *f) { cli_print_status_text(f, st.get()); });
    size_t links = out.find("links: dpdk, listening on dpdk://10.0.0.1:7000\n");
    size_t device = out.find("device: net_af_packet0\n");
    ASSERT_NE(links, std::string::npos) << out;
    ASSERT_NE(device, std::string::npos) << out;
    EXPECT_LT(links, device) << out;
    // Two rows of figures, each under its header.
    const std::string rest = out.substr(device);
    for (const char *col : {"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_missed",
                            "rx_errors", "tx_errors", "rx_nombuf", "arp_in", "arp_out",
                            "not_ours", "malformed", "forwarded", "inbox_full", "tx_dropped"})
        EXPECT_NE(rest.find(col), std::string::npos) << col << " missing in\n" << out;
    EXPECT_NE(rest.find("101          102            103            104        105        106"
                        "        107        108\n"),
              std::string::npos)
        << out;
    EXPECT_NE(rest.find("109        110        111        112        113        114        115\n"),
              std::string::npos)
        << out;
}

TEST(CliStatus, JsonHasTheDeviceOrNull)
{
    auto st = DpdkNode();
    std::string js = Printed([&](FILE *f) { cli_print_status_json(f, st.get()); });
    EXPECT_NE(js.find(",\"device\":{\"name\":\"net_af_packet0\",\"rx_packets\":101,"
                      "\"tx_packets\":102,\"rx_bytes\":103,\"tx_bytes\":104,\"rx_missed\":105,"
                      "\"rx_errors\":106,\"tx_errors\":107,\"rx_nombuf\":108,\"arp_in\":109,"
                      "\"arp_out\":110,\"not_ours\":111,\"malformed\":112,\"forwarded\":113,"
                      "\"inbox_full\":114,\"tx_dropped\":115},\"convention\":null}\n"),
              std::string::npos)
        << js;

    st->device = ts_node_device{};
    js = Printed([&](FILE *f) { cli_print_status_json(f, st.get()); });
    EXPECT_NE(js.find(",\"device\":null,\"convention\":null}\n"), std::string::npos) << js;
    std::string text = Printed([&](FILE *f) { cli_print_status_text(f, st.get()); });
    EXPECT_EQ(text.find("device"), std::string::npos) << text;
}

TEST(CliStatus, AConventionShowsWhereItStandsAndItsMembers)
{
    auto st = DpdkNode();
    std::snprintf(st->convention, sizeof st->convention, "192.0.2.1:7000");
    std::snprintf(st->convention_state, sizeof st->convention_state, "joined");
    st->nmembers = 2;
    st->members[0] = ts_node_member{};
    st->members[0].node = 1;
    st->members[0].leader = 1;
    st->members[0].heard_ms_ago = 42;
    std::snprintf(st->members[0].name, sizeof st->members[0].name, "lead");
    std::snprintf(st->members[0].endpoints, sizeof st->members[0].endpoints, "tcp://192.0.2.1:7001");
    st->members[1] = ts_node_member{};
    st->members[1].node = 2;
    st->members[1].self = 1;
    st->members[1].heard_ms_ago = -1;
    std::snprintf(st->members[1].name, sizeof st->members[1].name, "gpu\"box");
    std::snprintf(st->members[1].caps, sizeof st->members[1].caps, "gpu=true");
    std::string text = Printed([&](FILE *f) { cli_print_status_text(f, st.get()); });
    EXPECT_NE(text.find("convention at 192.0.2.1:7000: joined\n"), std::string::npos) << text;
    EXPECT_NE(text.find("lead"), std::string::npos) << text;
    EXPECT_NE(text.find("42ms"), std::string::npos) << text;
    EXPECT_NE(text.find("gpu=true"), std::string::npos) << text;
    std::string js = Printed([&](FILE *f) { cli_print_status_json(f, st.get()); });
    EXPECT_NE(js.find(",\"convention\":{\"leader_addr\":\"192.0.2.1:7000\",\"leading\":false,"
                      "\"state\":\"joined\",\"why\":\"\",\"members\":[{\"node\":1,\"name\":\"lead\","
                      "\"leader\":true,\"self\":false,\"heard_ms_ago\":42,\"endpoints\":"
                      "\"tcp://192.0.2.1:7001\",\"caps\":\"\"},{\"node\":2,\"name\":\"gpu\\\"box\","
                      "\"leader\":false,\"self\":true,\"heard_ms_ago\":-1,\"endpoints\":\"\","
                      "\"caps\":\"gpu=true\"}]}}\n"),
              std::string::npos)
        << js;
}

} // namespace
