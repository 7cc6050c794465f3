// SPDX-License-Identifier: MIT
// run.cc — running the thespis command for the tests (run.h).
#include "run.h"

#include <thespis/node.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace cli {

std::string ReadAll(int fd)
{
    std::string s;
    char buf[4096];
    ssize_t n;
    off_t off = 0;
    while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
        s.append(buf, static_cast<size_t>(n));
        off += n;
    }
    return s;
}

std::string Show(const Result &r)
{
    return "exit " + std::to_string(r.status) + "\n--- stdout\n" + r.out + "--- stderr\n" +
           r.err;
}

namespace {

Result Failed(const char *what, int err)
{
    Result r;
    r.err = std::string(what) + ": " + std::strerror(err);
    return r;
}

int WaitStatus(pid_t pid)
{
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(ws))
        return WEXITSTATUS(ws);
    return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
}

// Spawns bin with argv, stdin /dev/null, stdout and stderr to the two fds.
int Spawn(const std::string &bin, std::vector<char *> &argv, int out_fd, int err_fd,
          pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    int rc = posix_spawn(pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

} // namespace

std::string EnvPath(const char *var)
{
    const char *v = std::getenv(var);
    return v ? v : "";
}

Result Thespis(const std::vector<std::string> &args)
{
    std::string bin = EnvPath("THESPIS_BIN");
    if (bin.empty())
        return Failed("THESPIS_BIN is not set", EINVAL);

    std::vector<std::string> words{bin};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char *> argv;
    for (auto &w : words)
        argv.push_back(w.data());
    argv.push_back(nullptr);

    int out_fd = memfd_create("thespis-out", MFD_CLOEXEC);
    int err_fd = memfd_create("thespis-err", MFD_CLOEXEC);
    if (out_fd < 0 || err_fd < 0) {
        int e = errno;
        if (out_fd >= 0)
            close(out_fd);
        if (err_fd >= 0)
            close(err_fd);
        return Failed("memfd_create", e);
    }
    pid_t pid;
    int rc = Spawn(bin, argv, out_fd, err_fd, &pid);
    Result r;
    if (rc != 0) {
        r = Failed("posix_spawn", rc);
    } else {
        r.status = WaitStatus(pid);
        r.out = ReadAll(out_fd);
        r.err = ReadAll(err_fd);
    }
    close(out_fd);
    close(err_fd);
    return r;
}

std::vector<std::string> Lines(const std::string &s)
{
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < s.size()) {
        size_t nl = s.find('\n', start);
        if (nl == std::string::npos)
            nl = s.size();
        lines.push_back(s.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

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

unsigned ShardCount()
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    return CPU_COUNT(&set) >= 2 ? 2 : 1;
}

NodeGuard::~NodeGuard()
{
    ts_node_stop(name.c_str(), UINT64_C(30) * 1000 * 1000 * 1000);
}

} // namespace cli
