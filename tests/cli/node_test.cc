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

#include "run.h"

namespace {

using cli::Result;
using cli::Thespis;

constexpr uint64_t kStopWait = UINT64_C(30) * 1000 * 1000 * 1000;

std::string Show(const Result &r)
{
    return "exit " + std::to_string(r.status) + "\n--- stdout\n" + r.out + "--- stderr\n" +
           r.err;
}

// Entries of /dev/shm that are thespis segments and mention name.
std::vector<std::string> ShmLeftovers(const std::string &name)
{
    std::vector<std::string> found;
    DIR *d = opendir("/dev/shm");
    if (!d)
        return found;
    while (struct dirent *e = readdir(d)) {
        std::string n = e->d_name;
        if (n.rfind("thespis.", 0) == 0 && n.find(name) != std::string::npos)
            found.push_back(n);
    }
    closedir(d);
    return found;
}

// Stops the node when the test ends, however it ends (a no-op once `stop`
// has run).
struct NodeGuard {
    std::string name;
    ~NodeGuard() { ts_node_stop(name.c_str(), kStopWait); }
};

// Two shards when this process may run on two CPUs, else one.
int ShardCount()
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    return CPU_COUNT(&set) >= 2 ? 2 : 1;
}

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

} // namespace
