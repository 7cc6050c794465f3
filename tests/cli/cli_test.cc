// SPDX-License-Identifier: MIT
//
// cli_test.cc — the `thespis` command as a user meets it: help, usage
// errors (exit 2, one line naming the problem and a hint), and nodes that
// do not exist (exit 1). Nothing here starts a node.
#include <ostream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "run.h"

namespace {

using cli::Show;

using cli::Lines;
using cli::Result;
using cli::Thespis;

// A node name no other test or run uses.
std::string UniqueName(const char *what)
{
    return "clitest-" + std::to_string(getpid()) + "-" + what;
}

TEST(CliHelp, TopLevelListsSubcommands)
{
    for (const char *flag : {"--help", "-h"}) {
        Result r = Thespis({flag});
        ASSERT_EQ(r.status, 0) << flag << "\n" << Show(r);
        EXPECT_EQ(r.err, "");
        for (const char *sub : {"start", "status", "stop", "cap", "keygen"})
            EXPECT_NE(r.out.find(sub), std::string::npos) << sub << "\n" << Show(r);
    }
}

struct HelpCase {
    const char *sub;
    std::vector<std::string> options;
};

TEST(CliHelp, EachSubcommandDescribesItsOptions)
{
    const HelpCase cases[] = {
        {"start", {"--name", "--base", "--cores", "--shards", "--idle", "--image", "--cap",
                   "--log-level", "--log-file", "--node-id", "--listen", "--peer",
                   "--transport", "--dpdk-vdev", "--dpdk-args", "--dpdk-mbufs", "--help"}},
        {"status", {"--name", "--json", "--help"}},
        {"stop", {"--name", "--timeout", "--help"}},
        {"cap", {"--name", "--help", "set", "unset"}},
        {"keygen", {"FILE", "--help", "0600"}},
    };
    for (const auto &c : cases) {
        for (const char *flag : {"--help", "-h"}) {
            Result r = Thespis({c.sub, flag});
            ASSERT_EQ(r.status, 0) << c.sub << " " << flag << "\n" << Show(r);
            EXPECT_EQ(r.err, "");
            EXPECT_EQ(r.out.rfind(std::string("usage: thespis ") + c.sub, 0), 0u) << Show(r);
            for (const auto &opt : c.options)
                EXPECT_NE(r.out.find(opt), std::string::npos)
                    << c.sub << " --help does not mention " << opt << "\n" << Show(r);
        }
    }
}

TEST(CliUsage, NoSubcommandIsAUsageError)
{
    Result r = Thespis({});
    EXPECT_EQ(r.status, 2) << Show(r);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("usage: thespis"), std::string::npos) << Show(r);
}

TEST(CliUsage, UnknownSubcommandIsAUsageError)
{
    Result r = Thespis({"frobnicate", "--name", "x"});
    EXPECT_EQ(r.status, 2) << Show(r);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("unknown subcommand 'frobnicate'"), std::string::npos) << Show(r);
    EXPECT_NE(r.err.find("usage: thespis"), std::string::npos) << Show(r);
}

// A command line that is wrong, and what the one-line message must contain.
struct BadArgs {
    std::vector<std::string> args; // args[0] is the subcommand
    std::string says;
};

void PrintTo(const BadArgs &c, std::ostream *os)
{
    *os << "thespis";
    for (const auto &a : c.args)
        *os << " '" << a << "'";
}

class CliBadArgs : public ::testing::TestWithParam<BadArgs> {};

// Exit 2, nothing on stdout, and on stderr exactly two lines: the problem,
// as "thespis: <sub>: ...", and the hint to the subcommand's --help.
TEST_P(CliBadArgs, ExitsTwoWithOneLineNamingTheProblem)
{
    const BadArgs &c = GetParam();
    const std::string &sub = c.args[0];
    Result r = Thespis(c.args);
    ASSERT_EQ(r.status, 2) << Show(r);
    EXPECT_EQ(r.out, "");
    auto lines = Lines(r.err);
    ASSERT_EQ(lines.size(), 2u) << Show(r);
    EXPECT_EQ(lines[0].rfind("thespis: " + sub + ": ", 0), 0u) << Show(r);
    EXPECT_NE(lines[0].find(c.says), std::string::npos)
        << "expected '" << c.says << "' in the message\n" << Show(r);
    EXPECT_EQ(lines[1], "try 'thespis " + sub + " --help'");
}

const BadArgs kBadArgs[] = {
    {{"start", "--name", "a/b"}, "bad node name 'a/b'"},
    {{"start", "--name", std::string(64, 'n')}, "node name too long (64 characters"},
    {{"start", "--name", ""}, "bad node name ''"},
    {{"status", "--name", "a/b"}, "bad node name 'a/b'"},
    {{"stop", "--name", "sp ace"}, "bad node name 'sp ace'"},
    {{"start", "--name"}, "option '--name' needs a value"},
    {{"start", "--base", "simple"}, "base 'simple' cannot run a node"},
    {{"start", "--base", "bogus"}, "unknown base 'bogus'"},
    {{"start", "--cores", "x"}, "bad core list 'x'"},
    {{"start", "--cores", ""}, "bad core list ''"},
    {{"start", "--cap", "novalue"}, "bad --cap 'novalue'"},
    {{"start", "--cap", "=v"}, "bad --cap key in '=v'"},
    {{"start", "--cap", "a b=c"}, "bad --cap key in 'a b=c'"},
    {{"start", "--cap", "k=a,b"}, "bad --cap value in 'k=a,b'"},
    {{"start", "--cap", std::string(300, 'k') + "=1", "--cap", std::string(300, 'v') + "=2"},
     "capabilities too long"},
    {{"start", "--shards", "0"}, "bad --shards '0'"},
    {{"start", "--shards", "abc"}, "bad --shards 'abc'"},
    {{"start", "--shards", "65"}, "bad --shards '65'"},
    {{"start", "--shards", "-1"}, "bad --shards '-1'"},
    {{"start", "--idle", "lazy"}, "unknown idle policy 'lazy'"},
    {{"start", "--log-level", "loud"}, "unknown log level 'loud'"},
    {{"start", "--log-file", ""}, "empty --log-file path"},
    {{"start", "--image", ""}, "empty --image path"},
    {{"start", "--frobnicate"}, "unknown option '--frobnicate'"},
    {{"start", "-x"}, "unknown option '-x'"},
    {{"status", "--base", "pinned"}, "unknown option '--base'"},
    {{"status", "--json=yes"}, "option '--json' takes no value"},
    {{"status", "extra"}, "unexpected argument 'extra'"},
    {{"stop", "--timeout", "0"}, "bad --timeout '0'"},
    {{"keygen"}, "say the FILE to write"},
    {{"keygen", "a", "b"}, "one FILE only"},
    {{"keygen", ""}, "empty FILE"},
    {{"cap"}, "say set KEY=VALUE... or unset KEY..."},
    {{"cap", "frob", "a=1"}, "unknown action 'frob' (set or unset)"},
    {{"cap", "set"}, "set needs at least one KEY=VALUE"},
    {{"cap", "unset"}, "unset needs at least one KEY"},
    {{"cap", "set", "novalue"}, "bad capability 'novalue' (KEY=VALUE)"},
    {{"cap", "set", "=v"}, "bad capability '=v' (KEY=VALUE)"},
    {{"cap", "--json", "set", "a=1"}, "unknown option '--json'"},
    {{"stop", "--timeout", "soon"}, "bad --timeout 'soon'"},
    {{"stop", "--json"}, "unknown option '--json'"},
    {{"start", "--transport", "quic"}, "unknown transport 'quic' (tcp, udp or dpdk)"},
    {{"start", "--transport"}, "option '--transport' needs a value"},
    {{"start", "--listen", "http://127.0.0.1:1"}, "bad --listen 'http://127.0.0.1:1'"},
    {{"start", "--listen", "dpdk://10.0.0.1:1", "--transport", "dpdk", "--listen", "10.0.0.1:2"},
     "two --listen for dpdk"},
    {{"start", "--peer", "2=quic://10.0.0.2:1"}, "bad --peer '2=quic://10.0.0.2:1'"},
    {{"start", "--dpdk-mbufs", "many"}, "bad --dpdk-mbufs 'many' (a number from 1024"},
    {{"start", "--dpdk-mbufs", "100"}, "bad --dpdk-mbufs '100'"},
    {{"start", "--dpdk-vdev", ""}, "empty --dpdk-vdev"},
    {{"start", "--dpdk-vdev", "net_tap0"}, "--dpdk-vdev needs a dpdk listen"},
    {{"start", "--listen", "udp://10.0.0.1:1", "--dpdk-args", "-m 64"},
     "--dpdk-args needs a dpdk listen"},
    {{"start", "--transport", "dpdk", "--listen", "10.0.0.1:7000"},
     "a dpdk listen needs --dpdk-vdev"},
    {{"start", "--transport", "dpdk", "--peer", "2=10.0.0.2:7000"},
     "a dpdk --peer needs a dpdk listen"},
    {{"start", "--base", "multiproc", "--listen", "dpdk://10.0.0.1:1", "--dpdk-vdev", "net_tap0"},
     "base 'multiproc' cannot run the dpdk transport"},
};

INSTANTIATE_TEST_SUITE_P(Cases, CliBadArgs, ::testing::ValuesIn(kBadArgs));

// A node that does not exist: status, stop and cap fail with exit 1 and say so.
TEST(CliNoNode, StatusAndStopSayThereIsNoSuchNode)
{
    const std::string name = UniqueName("none");
    const std::vector<std::vector<std::string>> cmds = {
        {"status", "--name", name},
        {"status", "--name", name, "--json"},
        {"stop", "--name", name, "--timeout", "1"},
        {"cap", "--name", name, "set", "a=1"},
    };
    for (const auto &args : cmds) {
        Result r = Thespis(args);
        EXPECT_EQ(r.status, 1) << args[0] << "\n" << Show(r);
        EXPECT_EQ(r.out, "");
        EXPECT_NE(r.err.find("thespis: " + args[0] + ": no node named '" + name + "'"),
                  std::string::npos)
            << Show(r);
    }
}

// An image that cannot be loaded stops `start` before any node is started.
TEST(CliStart, BadImageFailsBeforeStarting)
{
    const std::string name = UniqueName("badimage");
    Result r = Thespis({"start", "--name", name, "--image", "/nonexistent/clitest.so"});
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("thespis: start: "), std::string::npos) << Show(r);
    EXPECT_NE(r.err.find("no such file '/nonexistent/clitest.so'"), std::string::npos)
        << Show(r);

    const std::string noinit = cli::EnvPath("THESPIS_IMAGE_NOINIT");
    ASSERT_FALSE(noinit.empty()) << "THESPIS_IMAGE_NOINIT is not set";
    r = Thespis({"start", "--name", name, "--image", noinit});
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_NE(r.err.find("thespis_image_init"), std::string::npos) << Show(r);

    r = Thespis({"status", "--name", name});
    EXPECT_EQ(r.status, 1) << "a failed start left a node behind\n" << Show(r);
}

// A good dpdk command line gets past the options to the engine: on a device
// whose interface is not there, the start fails (exit 1) saying so (or, in
// a build without DPDK, saying that), never with a usage error.
TEST(CliStart, ADpdkCommandLineReachesTheEngine)
{
    const std::string name = UniqueName("dpdk");
    Result r = Thespis({"start", "--name", name, "--node-id", "1", "--transport", "dpdk",
                        "--dpdk-vdev", "net_af_packet97,iface=clitest-noif0", "--dpdk-mbufs",
                        "2048", "--listen", "192.0.2.1:7000", "--peer", "2=192.0.2.2:7000"});
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.find("try 'thespis start --help'"), std::string::npos) << Show(r);
    EXPECT_TRUE(r.err.find("net_af_packet97") != std::string::npos ||
                r.err.find("no dpdk transport") != std::string::npos ||
                r.err.find("EAL") != std::string::npos)
        << Show(r);
    r = Thespis({"status", "--name", name});
    EXPECT_EQ(r.status, 1) << "a failed start left a node behind\n" << Show(r);
}

// keygen writes a 64-hex-character key only its owner may read, and never
// overwrites a file.
TEST(CliKeygen, WritesAPrivateKeyOnce)
{
    char dir[] = "/tmp/clitest-keygen-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string path = std::string(dir) + "/conv.key";
    Result r = Thespis({"keygen", path});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(r.out, "wrote a convention key to " + path + "\n");
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    FILE *f = fopen(path.c_str(), "r");
    ASSERT_NE(f, nullptr);
    char key[80] = {};
    size_t n = fread(key, 1, sizeof key - 1, f);
    fclose(f);
    std::string k(key, n);
    if (!k.empty() && k.back() == '\n')
        k.pop_back();
    EXPECT_EQ(k.size(), 64u) << k;
    EXPECT_EQ(k.find_first_not_of("0123456789abcdef"), std::string::npos) << k;

    Result again = Thespis({"keygen", path});
    EXPECT_EQ(again.status, 1) << Show(again);
    EXPECT_NE(again.err.find("thespis: keygen: "), std::string::npos) << Show(again);
    FILE *g = fopen(path.c_str(), "r");
    ASSERT_NE(g, nullptr);
    char same[80] = {};
    size_t m = fread(same, 1, sizeof same - 1, g);
    fclose(g);
    EXPECT_EQ(std::string(same, m), std::string(key, n)) << "the key was overwritten";
    unlink(path.c_str());
    rmdir(dir);
}

} // namespace
