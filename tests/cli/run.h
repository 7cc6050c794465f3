// SPDX-License-Identifier: MIT
//
// run.h — runs the built `thespis` command (its path is $THESPIS_BIN) and
// captures what it printed and how it exited.
#ifndef TS_TESTS_CLI_RUN_H
#define TS_TESTS_CLI_RUN_H

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace cli {

struct Result {
    int status = -1;   // exit status; 128 + signal if it was killed; -1: not run
    std::string out;   // everything it wrote to stdout
    std::string err;   // ... and to stderr
};

// A path from the environment (set by tests/cli/meson.build), or "" if unset.
std::string EnvPath(const char *var);

// Runs `thespis args...` with stdin from /dev/null and waits for it to exit.
// Output goes to anonymous files, not pipes: a node the command leaves
// running in the background may keep them open without making this wait.
// On a failure to run it, status is -1 and err says why.
Result Thespis(const std::vector<std::string> &args);

// What a failed run printed, for a test's failure message.
std::string Show(const Result &r);

// Everything written to fd, from its start (it may still be open).
std::string ReadAll(int fd);

// What print(FILE *) wrote to a memory stream.
template <class F> std::string Printed(F print)
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return "open_memstream failed";
    print(f);
    std::fclose(f);
    std::string s(buf, len);
    std::free(buf);
    return s;
}

// The lines of s (without their '\n').
std::vector<std::string> Lines(const std::string &s);

// Entries of /dev/shm that are thespis segments and mention name.
std::vector<std::string> ShmLeftovers(const std::string &name);

// How many shards a test node gets: two when this process may run on two
// CPUs, else one.
unsigned ShardCount();

// Stops the named node when the test ends, however it ends (a no-op when
// it is not running); waits up to 30 s.
struct NodeGuard {
    std::string name;
    ~NodeGuard();
};

} // namespace cli

#endif
