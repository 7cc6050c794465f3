// SPDX-License-Identifier: MIT
//
// status_addr_test.cc — `thespis status --name N ADDR`: the command attaches
// to a running node and asks an actor (or the node's own address) for its
// Status, printed as text or as one JSON object; an address nothing lives
// at is exit 1 once the timeout passes. The printing of a Status itself
// (tools/cli_status.c) is checked here too, on made-up messages.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

extern "C" {
#include "cli.h"
}
#include "run.h"

namespace {

using cli::Show;
using cli::Printed;

using cli::NodeGuard;
using cli::ShmLeftovers;
using cli::ShardCount;

using cli::Result;
using cli::Thespis;

constexpr uint64_t kWait = UINT64_C(30) * 1000 * 1000 * 1000;

std::string Addr(ts_addr a)
{
    char buf[48];
    return ts_addr_format(a, buf, sizeof buf);
}

bool Has(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

TEST(CliStatusAddr, AsksAnActorAndTheNodeForTheirStatus)
{
    const std::string image = cli::EnvPath("THESPIS_IMAGE");
    ASSERT_FALSE(image.empty()) << "THESPIS_IMAGE is not set";
    const std::string name = "clitest-" + std::to_string(getpid()) + "-staddr";
    const unsigned shards = ShardCount();
    NodeGuard guard{name};
    Result r = Thespis({"start", "--name", name, "--image", image, "--shards",
                        std::to_string(shards)});
    ASSERT_EQ(r.status, 0) << Show(r);

    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_MULTIPROC;
    cfg.node_name = name.c_str();
    ts_system *sys = nullptr;
    ASSERT_EQ(ts_system_open(&cfg, &sys), 0) << ts_last_error();
    ts_addr echo = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(sys, "image.Echo", nullptr, &echo), 0) << ts_last_error();
    const uint64_t type = ts_type_id("clitest.Anything");
    for (int i = 0; i < 2; i++) {
        ts_msg *reply = nullptr;
        ASSERT_EQ(ts_ask(sys, echo, type, "x", 1, kWait, &reply), 0) << ts_last_error();
        ts_msg_free(reply);
    }
    const std::string addr = Addr(echo);

    // JSON: one line, one object, the actor's figures.
    r = Thespis({"status", "--name", name, addr, "--json"});
    ASSERT_EQ(r.status, 0) << Show(r);
    auto lines = cli::Lines(r.out);
    ASSERT_EQ(lines.size(), 1u) << Show(r);
    const std::string &js = lines[0];
    EXPECT_EQ(js.rfind("{\"kind\":\"actor\",\"addr\":\"" + addr + "\",\"parent\":null,"
                       "\"state\":\"live\",\"type\":\"image.Echo\",\"global_name\":null,",
                       0),
              0u)
        << js;
    for (const char *part : {"\"mailbox\":0,", "\"handled\":2,", "\"restarts\":0,",
                             "\"timers\":0,", "\"children_total\":0,\"children\":[]}"})
        EXPECT_TRUE(Has(js, part)) << part << " missing in " << js;
    EXPECT_EQ(js.back(), '}');

    // Text.
    r = Thespis({"status", "--name", name, addr});
    ASSERT_EQ(r.status, 0) << Show(r);
    lines = cli::Lines(r.out);
    ASSERT_GE(lines.size(), 2u) << Show(r);
    EXPECT_EQ(lines[0], "actor " + addr + ": image.Echo, live") << Show(r);
    EXPECT_TRUE(Has(r.out, "  parent       none\n")) << Show(r);
    EXPECT_TRUE(Has(r.out, "  handled      2\n")) << Show(r);
    EXPECT_TRUE(Has(r.out, "  children     0\n")) << Show(r);

    // The node's own address: the node's Status, every shard.
    const std::string node = Addr(ts_node_addr(0));
    EXPECT_EQ(node, "0.0.16777215.0");
    r = Thespis({"status", "--name", name, "--json", node});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(r.out.rfind("{\"kind\":\"node\",\"node_id\":0,\"name\":\"" + name +
                              "\",\"base\":\"multiproc\",",
                          0),
              0u)
        << Show(r);
    EXPECT_TRUE(Has(r.out, "\"actors\":1,")) << Show(r);
    for (unsigned i = 0; i < shards; i++)
        EXPECT_TRUE(Has(r.out, "{\"id\":" + std::to_string(i) + ",\"core\":")) << Show(r);
    EXPECT_TRUE(Has(r.out, "],\"links\":[]}\n")) << Show(r);
    r = Thespis({"status", "--name", name, node});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(r.out.rfind("node 0 '" + name + "': base multiproc, ", 0), 0u) << Show(r);
    EXPECT_EQ(cli::Lines(r.out).size(), 2u + shards) << Show(r);

    // Gone: nothing answers (a dead letter), exit 1 after the timeout.
    ASSERT_EQ(ts_tell(sys, echo, TS_MSG_EXIT_REQUEST, nullptr, 0), 0) << ts_last_error();
    ASSERT_EQ(ts_run(sys, kWait), 0) << ts_last_error();
    r = Thespis({"status", "--name", name, addr, "--timeout", "1"});
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(Has(r.err, "thespis: status: no answer from " + addr + " within 1 s"))
        << Show(r);

    // A word that is no address is a usage error, before any node is asked.
    r = Thespis({"status", "--name", name, "0.0.1"});
    EXPECT_EQ(r.status, 2) << Show(r);
    EXPECT_TRUE(Has(r.err, "unexpected argument '0.0.1': an ADDR is an address")) << Show(r);
    r = Thespis({"status", "--name", name, addr, addr});
    EXPECT_EQ(r.status, 2) << Show(r);

    ts_system_close(sys);
    r = Thespis({"stop", "--name", name});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(ShmLeftovers(name), std::vector<std::string>{});
}

// ---- printing made-up Status messages (tools/cli_status.c) ------------------

// A Status message as a node sends it, in 8-aligned storage.
struct StatusMsg {
    std::vector<uint64_t> store;
    ts_msg *m() { return reinterpret_cast<ts_msg *>(store.data()); }
};

// An actor's: a node answering a StatusRequest made it; here it is built
// byte by byte as docs/protocol.md lays it out.
StatusMsg ActorMsg()
{
    const char type[] = "ex.Worker", gname[] = "boss";
    const size_t len = 80 + 2 * 8 + sizeof type + sizeof gname;
    StatusMsg s;
    s.store.assign(4 + (len + 7) / 8, 0);
    ts_msg *m = s.m();
    m->type = TS_MSG_STATUS;
    m->len = static_cast<uint32_t>(len);
    auto *b = reinterpret_cast<unsigned char *>(m + 1);
    auto put = [&](size_t at, uint64_t v, size_t n) { std::memcpy(b + at, &v, n); }; // little-endian host
    b[0] = 1;            // actor
    b[1] = 1;            // live
    put(2, 80, 2);       // header bytes
    put(4, 2, 4);        // children listed
    put(8, ts_addr_make(1, 0, 7, 3), 8);
    put(16, ts_addr_make(1, 1, 2, 1), 8);
    b[24] = 0xfe;        // image id: fe00...00
    put(40, 12, 8);      // handled
    put(48, 1, 8);       // restarts
    put(56, 4, 8);       // mailbox
    put(64, 3, 4);       // children in all
    put(68, 0, 4);       // timers
    put(72, sizeof type - 1, 2);
    put(74, sizeof gname - 1, 2);
    put(80, ts_addr_make(1, 0, 8, 1), 8);
    put(88, ts_addr_make(1, 0, 9, 1), 8);
    std::memcpy(b + 96, type, sizeof type);
    std::memcpy(b + 96 + sizeof type, gname, sizeof gname);
    return s;
}

TEST(CliStatusAddr, PrintsAnActorsStatusAsText)
{
    StatusMsg s = ActorMsg();
    ts_status st;
    ASSERT_EQ(ts_status_decode(s.m(), &st), 0);
    std::string out = Printed([&](FILE *f) { EXPECT_EQ(cli_print_status_msg(f, s.m(), false), 0); });
    EXPECT_EQ(out, "actor 1.0.7.3: ex.Worker, live\n"
                   "  parent       1.1.2.1\n"
                   "  global name  boss\n"
                   "  image        fe000000000000000000000000000000\n"
                   "  mailbox      4 waiting\n"
                   "  handled      12\n"
                   "  restarts     1\n"
                   "  timers       0\n"
                   "  children     3 (the first 2 listed): 1.0.8.1 1.0.9.1\n");
    out = Printed([&](FILE *f) { EXPECT_EQ(cli_print_status_msg(f, s.m(), true), 0); });
    EXPECT_EQ(out, "{\"kind\":\"actor\",\"addr\":\"1.0.7.3\",\"parent\":\"1.1.2.1\","
                   "\"state\":\"live\",\"type\":\"ex.Worker\",\"global_name\":\"boss\","
                   "\"image\":\"fe000000000000000000000000000000\",\"mailbox\":4,\"handled\":12,"
                   "\"restarts\":1,\"timers\":0,\"children_total\":3,"
                   "\"children\":[\"1.0.8.1\",\"1.0.9.1\"]}\n");
    s.m()->len -= 1; // malformed: nothing printed
    out = Printed([&](FILE *f) { EXPECT_EQ(cli_print_status_msg(f, s.m(), false), -EBADMSG); });
    EXPECT_EQ(out, "");
}

} // namespace
