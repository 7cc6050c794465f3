// SPDX-License-Identifier: MIT
//
// shell_test.cc — `thespis shell` as a user meets it: its usage errors,
// a script read from stdin (a here-document) against a named node, the
// interactive shell on a terminal (tmux: typing, Tab completion, the
// history file), and the shell as a member of a convention reaching an
// actor on its leader. Also the bundled thespis.Echo through the API.
//
// Every node is named after this process and stopped when its test ends;
// every tmux server has a private socket and is killed the same way.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "run.h"

extern char **environ;

namespace {

using cli::Show;
using cli::ReadAll;

using cli::NodeGuard;
using cli::ShmLeftovers;

using cli::Result;

constexpr uint64_t kStopWait = UINT64_C(30) * 1000 * 1000 * 1000;
constexpr uint64_t kAskWait = UINT64_C(10) * 1000 * 1000 * 1000;

std::string UniqueName(const char *what)
{
    return "clitest-" + std::to_string(getpid()) + "-" + what;
}

// Removes a file when the test ends, however it ends.
struct FileGuard {
    std::string path;
    ~FileGuard() { std::remove(path.c_str()); }
};

// Runs program (searched in PATH when it has no '/') with argv, input as
// its stdin, and waits for it; stdout and stderr captured (in memory
// files: a node left running in the background may keep them open).
Result Run(const std::string &program, const std::vector<std::string> &args,
           const std::string &input = "")
{
    Result r;
    int in = memfd_create("shell-in", MFD_CLOEXEC);
    int out = memfd_create("shell-out", MFD_CLOEXEC);
    int err = memfd_create("shell-err", MFD_CLOEXEC);
    if (in < 0 || out < 0 || err < 0 ||
        write(in, input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
        r.err = std::string("memfd: ") + std::strerror(errno);
    } else {
        lseek(in, 0, SEEK_SET);
        std::vector<std::string> words{program};
        words.insert(words.end(), args.begin(), args.end());
        std::vector<char *> argv;
        for (auto &w : words)
            argv.push_back(w.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in, 0);
        posix_spawn_file_actions_adddup2(&fa, out, 1);
        posix_spawn_file_actions_adddup2(&fa, err, 2);
        pid_t pid;
        int rc = posix_spawnp(&pid, program.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
            r.err = program + ": " + std::strerror(rc);
        } else {
            int ws = 0;
            while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
            }
            r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
            r.out = ReadAll(out);
            r.err = ReadAll(err);
        }
    }
    for (int fd : {in, out, err})
        if (fd >= 0)
            close(fd);
    return r;
}

Result Shell(const std::vector<std::string> &args, const std::string &script)
{
    std::vector<std::string> a{"shell"};
    a.insert(a.end(), args.begin(), args.end());
    return Run(cli::EnvPath("THESPIS_BIN"), a, script);
}

bool Has(const std::vector<std::string> &lines, const std::string &line)
{
    for (auto &l : lines)
        if (l == line)
            return true;
    return false;
}

// The one line of lines that matches re (its groups in *m), or "".
std::string Find(const std::vector<std::string> &lines, const std::regex &re,
                 std::smatch *m = nullptr)
{
    std::smatch tmp;
    for (auto &l : lines)
        if (std::regex_match(l, m ? *m : tmp, re))
            return l;
    return "";
}

// ---- usage ---------------------------------------------------------------

TEST(ShellCli, HelpAndUsageErrors)
{
    Result r = cli::Thespis({"--help"});
    EXPECT_NE(r.out.find("  shell   drive a running node by hand"), std::string::npos) << Show(r);
    r = cli::Thespis({"shell", "--help"});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(r.out.rfind("usage: thespis shell [--name N] [--timeout S]\n", 0), 0u) << Show(r);
    EXPECT_NE(r.out.find("Exit status:"), std::string::npos);

    struct {
        std::vector<std::string> args;
        std::string error;
    } bad[] = {
        {{"shell", "extra"}, "thespis: shell: unexpected argument 'extra'\n"},
        {{"shell", "--bogus"}, "thespis: shell: unknown option '--bogus'\n"},
        {{"shell", "--timeout", "0"}, "thespis: shell: bad --timeout '0' (a number from 1 to "
                                      "86400)\n"},
        {{"shell", "--node-id", "3"}, "thespis: shell: --node-id needs --convention HOST:PORT\n"},
        {{"shell", "--listen", "tcp://127.0.0.1:1"},
         "thespis: shell: --listen needs --convention HOST:PORT\n"},
        {{"shell", "--convention", "127.0.0.1:1"},
         "thespis: shell: --convention needs --key-file PATH, the convention's shared key "
         "(`thespis keygen PATH` makes one)\n"},
        {{"shell", "--name", "n", "--convention", "127.0.0.1:1", "--key-file", "k"},
         "thespis: shell: --name and --convention exclude each other (the shell attaches to a "
         "named node or joins a convention)\n"},
    };
    for (auto &b : bad) {
        r = cli::Thespis(b.args);
        EXPECT_EQ(r.status, 2) << Show(r);
        EXPECT_EQ(r.err, b.error + "try 'thespis shell --help'\n") << Show(r);
        EXPECT_EQ(r.out, "");
    }

    // A node that is not running is not started: exit 1, naming it.
    const std::string name = UniqueName("shell-none");
    r = Shell({"--name", name}, "addrs\n");
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_EQ(r.err, "thespis: shell: no node named '" + name + "' ('thespis start --name " +
                         name + "' starts one)\n");
    ts_node_status st;
    EXPECT_EQ(ts_node_status_get(name.c_str(), &st), -ENOENT);
}

// ---- scripted ------------------------------------------------------------

class ShellNode : public ::testing::Test {
  protected:
    void SetUp() override
    {
        Result r = cli::Thespis(
            {"start", "--name", name_, "--shards", std::to_string(cli::ShardCount())});
        ASSERT_EQ(r.status, 0) << Show(r);
    }
    void TearDown() override
    {
        Result r = cli::Thespis({"stop", "--name", name_});
        EXPECT_EQ(r.status, 0) << Show(r);
        EXPECT_EQ(ShmLeftovers(name_), std::vector<std::string>{});
    }
    const std::string name_ = UniqueName("shell");
    NodeGuard guard_{name_};
};

// A here-document: an echo created and named, asked and told, the book,
// the node's and the actor's status, members outside any convention, a bad
// command (reported with its line; the script goes on), quit (nothing after
// it runs). One failed command: exit 1.
TEST_F(ShellNode, ScriptFromStdin)
{
    const std::string script = "# a comment, then a blank line\n"
                               "\n"
                               "create thespis.Echo as e\n"             // 3
                               "ask e app.Ping hello\n"                 // 4
                               "tell e app.Ping \"hi there\"\n"         // 5
                               "addrs\n"                                // 6
                               "status\n"                               // 7
                               "members\n"                              // 8
                               "frob 1 2\n"                             // 9
                               "create thespis.Echo \"arg\" as e2\n"    // 10
                               "name $2 other\n"                        // 11
                               "ask other app.Bin \\x00\\x01\\xff\n"     // 12
                               "status e\n"                             // 13
                               "status other\n"                         // 14
                               "ask nobody app.Ping x\n"                // 15
                               "book\n"                                 // 16
                               "quit\n"                                 // 17
                               "create thespis.Echo as late\n";
    Result r = Shell({"--name", name_, "--timeout", "10"}, script);
    EXPECT_EQ(r.status, 1) << Show(r);
    auto out = cli::Lines(r.out);

    std::smatch m;
    std::string created = Find(out, std::regex(R"(\$1 = (0\.0\.\d+\.\d+) \(e\))"), &m);
    ASSERT_NE(created, "") << Show(r);
    const std::string e = m[1];
    Find(out, std::regex(R"(\$2 = (0\.0\.\d+\.\d+) \(e2\))"), &m);
    const std::string e2 = m[1];
    ASSERT_NE(e2, "") << Show(r);
    EXPECT_NE(e, e2);

    EXPECT_TRUE(Has(out, "reply app.Ping from " + e + " ($1 e), 5 bytes: hello")) << Show(r);
    EXPECT_TRUE(Has(out, "sent app.Ping to " + e + " ($1 e), 8 bytes: hi there")) << Show(r);
    // The echo of the tell comes to the shell's mailbox, printed before a
    // later command (or at the end).
    EXPECT_TRUE(Has(out, "message app.Ping from " + e + " ($1 e), 8 bytes: hi there")) << Show(r);
    EXPECT_NE(Find(out, std::regex("node 0 '" + name_ + "': base multiproc, pid \\d+, [12] shards?, "
                                   "[12] actors?, \\d+ dead letters?, caps none")),
              "")
        << Show(r);
    EXPECT_TRUE(Has(out, "no members: node '" + name_ + "' is in no convention")) << Show(r);
    EXPECT_TRUE(Has(out, "$2 = " + e2 + " (e2, other)")) << Show(r);
    EXPECT_TRUE(Has(out, "reply app.Bin from " + e2 + " ($2 e2 other), 3 bytes (hex): 0001ff"))
        << Show(r);
    EXPECT_TRUE(Has(out, "actor " + e + " ($1 e): thespis.Echo, live")) << Show(r);
    EXPECT_TRUE(Has(out, "actor " + e2 + " ($2 e2 other): thespis.Echo, live")) << Show(r);
    // addrs (line 6) and book (line 16): the book as it was then.
    size_t book1 = 0, book2 = 0;
    for (size_t i = 0; i < out.size(); i++) {
        if (out[i] == "$1 = " + e + " (e)")
            book1++;
        if (out[i] == "$2 = " + e2 + " (e2, other)")
            book2++;
    }
    EXPECT_EQ(book1, 3u) << Show(r); // create, addrs, book
    EXPECT_EQ(book2, 2u) << Show(r); // name, book
    EXPECT_EQ(r.out.find("late"), std::string::npos) << Show(r);

    EXPECT_EQ(r.err, "thespis: shell: line 9: unknown command 'frob' ('help' lists them)\n"
                     "thespis: shell: line 15: ask: no 'nobody' in the address book ('addrs' "
                     "lists it)\n")
        << Show(r);

    // What the script created is still there: the shell only detached.
    ts_node_status st;
    ASSERT_EQ(ts_node_status_get(name_.c_str(), &st), 0);
    EXPECT_EQ(st.actors, 2u);
}

// A script where everything works exits 0; EOF ends it like quit.
TEST_F(ShellNode, CleanScriptExitsZero)
{
    Result r = Shell({"--name", name_}, "help\nhelp ask\ncreate thespis.Echo\n"
                                        "ask $1 app.Ping \"a b\\tc\"\ncaps set zone=x\ncaps\n"
                                        "images\nstatus --json");
    EXPECT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(r.err, "") << Show(r);
    auto out = cli::Lines(r.out);
    EXPECT_NE(Find(out, std::regex(R"(  tell ADDR TYPE \[TEXT\] +send a message)")), "")
        << Show(r);
    EXPECT_TRUE(Has(out, "ask ADDR TYPE [TEXT] [--timeout S]")) << Show(r);
    EXPECT_NE(Find(out, std::regex(R"(reply app\.Ping from 0\.0\.\d+\.\d+ \(\$1\), 5 bytes: a b\\tc)")),
              "")
        << Show(r);
    EXPECT_TRUE(Has(out, "caps: zone=x")) << Show(r);
    EXPECT_TRUE(Has(out, "no images ('load PATH' loads one)")) << Show(r);
    EXPECT_NE(Find(out, std::regex("\\{\"kind\":\"node\",\"node_id\":0,\"name\":\"" + name_ +
                                   "\".*\\}")),
              "")
        << Show(r);
    ts_node_status st;
    ASSERT_EQ(ts_node_status_get(name_.c_str(), &st), 0);
    EXPECT_STREQ(st.caps, "zone=x");
}

// ---- interactive (tmux) --------------------------------------------------

bool HaveTmux()
{
    return Run("tmux", {"-V"}).status == 0;
}

// A tmux server of its own (-L), killed when the test ends.
class Tmux {
  public:
    explicit Tmux(std::string socket) : socket_(std::move(socket)) {}
    ~Tmux()
    {
        Run("tmux", {"-L", socket_, "kill-server"});
        // kill-server leaves the socket file behind.
        const char *dir = std::getenv("TMUX_TMPDIR");
        std::string path = std::string(dir && *dir ? dir : "/tmp") + "/tmux-" +
                           std::to_string(getuid()) + "/" + socket_;
        unlink(path.c_str());
    }
    Result Do(std::vector<std::string> args) const
    {
        args.insert(args.begin(), {"-L", socket_});
        return Run("tmux", args);
    }
    std::string Screen() const { return Do({"capture-pane", "-p", "-t", "shell"}).out; }
    // Polls the screen until it holds text; false after the deadline.
    bool WaitFor(const std::string &text, std::chrono::seconds limit = std::chrono::seconds(30)) const
    {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            if (Screen().find(text) != std::string::npos)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }
    bool Alive() const { return Do({"has-session", "-t", "shell"}).status == 0; }

  private:
    std::string socket_;
};

// Typing at the shell on a terminal: a command name completed with Tab,
// an echo created and asked, a bad command, a line dropped with Ctrl-C,
// then quit (exit 0); the history file has the lines.
TEST_F(ShellNode, InteractiveOnATerminal)
{
    if (!HaveTmux())
        GTEST_SKIP() << "tmux is not installed";
    const std::string history = "/tmp/" + UniqueName("shell-history");
    std::remove(history.c_str());
    FileGuard history_guard{history};
    Tmux tmux(UniqueName("tmux"));
    // The pane outlives the shell, so that its exit status can be read; the
    // Ctrl-C below goes to the terminal's whole process group, so the
    // wrapping sh ignores it (the shell sets its own handler).
    const std::string cmd = "trap '' INT; env -u TMUX THESPIS_HISTORY=" + history + " " +
                            cli::EnvPath("THESPIS_BIN") + " shell --name " + name_ +
                            "; echo shell exited $?; sleep 60";
    Result r = tmux.Do({"new-session", "-d", "-s", "shell", "-x", "160", "-y", "50", cmd});
    ASSERT_EQ(r.status, 0) << Show(r);
    // capture-pane drops the blanks at the end of a line: no trailing ' '.
    const std::string prompt = "thespis " + name_ + ">";
    ASSERT_TRUE(tmux.WaitFor(prompt)) << tmux.Screen();

    tmux.Do({"send-keys", "-t", "shell", "-l", "cre"});
    tmux.Do({"send-keys", "-t", "shell", "Tab"});
    ASSERT_TRUE(tmux.WaitFor(prompt + " create")) << tmux.Screen();
    tmux.Do({"send-keys", "-t", "shell", "-l", "thespis.Echo as e"});
    tmux.Do({"send-keys", "-t", "shell", "Enter"});
    ASSERT_TRUE(tmux.WaitFor("$1 = ")) << tmux.Screen();
    EXPECT_NE(tmux.Screen().find(prompt + " create thespis.Echo as e\n$1 = 0.0."),
              std::string::npos)
        << tmux.Screen();

    tmux.Do({"send-keys", "-t", "shell", "-l", "ask e app.Ping \"hello tmux\""});
    tmux.Do({"send-keys", "-t", "shell", "Enter"});
    ASSERT_TRUE(tmux.WaitFor("($1 e), 10 bytes: hello tmux")) << tmux.Screen();

    tmux.Do({"send-keys", "-t", "shell", "-l", "frob"});
    tmux.Do({"send-keys", "-t", "shell", "Enter"});
    ASSERT_TRUE(tmux.WaitFor("error: unknown command 'frob' ('help' lists them)")) << tmux.Screen();

    // Ctrl-C drops the line being typed, not the shell.
    tmux.Do({"send-keys", "-t", "shell", "-l", "create never"});
    tmux.Do({"send-keys", "-t", "shell", "C-c"});
    // The line is dropped and a new prompt shown before anything more is
    // typed (on a slow build the keys would otherwise race the signal).
    ASSERT_TRUE(tmux.WaitFor(prompt + " create never\n" + prompt + "\n")) << tmux.Screen();
    tmux.Do({"send-keys", "-t", "shell", "-l", "addrs"});
    tmux.Do({"send-keys", "-t", "shell", "Enter"});
    ASSERT_TRUE(tmux.WaitFor(prompt + " addrs\n$1 = 0.0.")) << tmux.Screen();
    EXPECT_EQ(tmux.Screen().find("$2 = "), std::string::npos) << tmux.Screen();

    tmux.Do({"send-keys", "-t", "shell", "-l", "quit"});
    tmux.Do({"send-keys", "-t", "shell", "Enter"});
    // Interactive: a failed command does not change the exit status.
    ASSERT_TRUE(tmux.WaitFor("shell exited 0")) << tmux.Screen();

    std::ifstream f(history);
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_NE(ss.str().find("thespis.Echo"), std::string::npos) << ss.str();
    EXPECT_NE(ss.str().find("quit"), std::string::npos) << ss.str();
}

// ---- a convention --------------------------------------------------------

// The shell joins a convention as a member of its own, lists the members,
// and asks an echo that lives on the leader (the reply comes back over the
// shell's --listen).
TEST(ShellConvention, JoinsAndReachesTheLeader)
{
    const std::string lead = UniqueName("shell-lead");
    const std::string key = "/tmp/" + UniqueName("shell.key");
    const std::string other = key + ".other";
    std::remove(key.c_str());
    std::remove(other.c_str());
    FileGuard key_guard{key}, other_guard{other};
    NodeGuard guard{lead};
    ASSERT_EQ(ts_convention_keygen(key.c_str()), 0) << ts_last_error();
    unsigned base = 0;
    Result r;
    for (unsigned attempt = 0; attempt < 10; attempt++) { // until the ports are free
        base = 20000 + static_cast<unsigned>((getpid() * 17 + attempt * 911) % 12000);
        r = cli::Thespis({"start", "--name", lead, "--shards", "1", "--node-id", "1", "--listen",
                          "tcp://127.0.0.1:" + std::to_string(base + 1), "--convention",
                          "127.0.0.1:" + std::to_string(base), "--convention-leader",
                          "--key-file", key});
        if (r.status == 0)
            break;
    }
    ASSERT_EQ(r.status, 0) << Show(r);

    // An echo on the leader, created through the API.
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_MULTIPROC;
    cfg.node_name = lead.c_str();
    ts_system *sys = nullptr;
    ASSERT_EQ(ts_system_open(&cfg, &sys), 0) << ts_last_error();
    ts_addr echo = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(sys, TS_ECHO_TYPE, nullptr, &echo), 0) << ts_last_error();
    char text[32];
    ts_addr_format(echo, text, sizeof text);
    ts_system_close(sys);

    const std::string script = std::string("members\nask ") + text +
                               " app.Ping over-there\ncreate thespis.Echo as mine\n"
                               "ask mine app.Ping here\nquit\n";
    r = Shell({"--convention", "127.0.0.1:" + std::to_string(base), "--key-file", key,
               "--node-id", "7", "--listen", "tcp://127.0.0.1:" + std::to_string(base + 2),
               "--timeout", "20"},
              script);
    EXPECT_EQ(r.status, 0) << Show(r);
    auto out = cli::Lines(r.out);
    EXPECT_NE(Find(out, std::regex(" +1 " + lead + " +leader .*")), "") << Show(r);
    EXPECT_NE(Find(out, std::regex(" +7 node7 +self .*tcp://127\\.0\\.0\\.1:.*")), "") << Show(r);
    EXPECT_TRUE(Has(out, std::string("reply app.Ping from ") + text + ", 10 bytes: over-there"))
        << Show(r);
    EXPECT_NE(Find(out, std::regex(R"(reply app\.Ping from 7\.0\.\d+\.\d+ \(\$1 mine\), 4 bytes: here)")),
              "")
        << Show(r);

    // A wrong key: refused, and said so (exit 1).
    ASSERT_EQ(ts_convention_keygen(other.c_str()), 0);
    r = Shell({"--convention", "127.0.0.1:" + std::to_string(base), "--key-file", other,
               "--node-id", "8", "--timeout", "1"},
              "members\n");
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_NE(r.err.find("thespis: shell: node 8 did not join the convention at 127.0.0.1:" +
                         std::to_string(base) + " within 1 s"),
              std::string::npos)
        << Show(r);
}

// ---- thespis.Echo through the API -----------------------------------------

// On every base: the bundled echo answers with the same type and payload,
// and does not answer system messages.
class Echo : public ::testing::TestWithParam<ts_base> {};

TEST_P(Echo, AnswersWithTheSameTypeAndPayload)
{
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = GetParam();
    cfg.shards = 1;
    ts_system *sys = nullptr;
    ASSERT_EQ(ts_system_open(&cfg, &sys), 0) << ts_last_error();
    ts_addr e = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(sys, TS_ECHO_TYPE, nullptr, &e), 0) << ts_last_error();
    const uint64_t type = ts_type_id("clitest.Bytes");
    const char payload[] = {'a', '\0', 'b', '\xff'};
    ts_msg *m = nullptr;
    ASSERT_EQ(ts_ask(sys, e, type, payload, sizeof payload, kAskWait, &m), 0) << ts_last_error();
    EXPECT_EQ(m->type, type);
    EXPECT_EQ(m->src, e);
    ASSERT_EQ(m->len, sizeof payload);
    EXPECT_EQ(std::memcmp(ts_msg_data(m), payload, sizeof payload), 0);
    ts_msg_free(m);
    ASSERT_EQ(ts_ask(sys, e, type, nullptr, 0, kAskWait, &m), 0) << ts_last_error();
    EXPECT_EQ(m->len, 0u);
    ts_msg_free(m);
    // A system message is not echoed: a Wakeup to it gets nothing back.
    m = nullptr;
    EXPECT_EQ(ts_ask(sys, e, TS_MSG_WAKEUP, nullptr, 0, UINT64_C(200) * 1000 * 1000, &m),
              -ETIMEDOUT);
    ts_msg_free(m);
    ts_system_close(sys);
}

INSTANTIATE_TEST_SUITE_P(Bases, Echo,
                         ::testing::Values(TS_BASE_SIMPLE, TS_BASE_PINNED, TS_BASE_MULTIPROC),
                         [](const ::testing::TestParamInfo<ts_base> &i) {
                             return std::string(ts_base_name(i.param));
                         });

} // namespace
