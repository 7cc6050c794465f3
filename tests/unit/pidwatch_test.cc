// Unit tests: watching child processes through pidfds; real children end
// by exit, by a crash in their code, and by SIGKILL from outside.
#include <cerrno>
#include <csignal>

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

extern "C" {
#include "pidwatch.h"
}

namespace {

int ExitWith(void *arg)
{
    return *static_cast<int *>(arg);
}

// A crash in the child's own code: an illegal instruction (SIGILL), which
// the sanitizers leave to the kernel, where a SIGSEGV would be caught by
// ASan's handler and turned into an abort.
int Crash(void *)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none); // no core file from the test
    __builtin_trap();
}

int WaitForever(void *)
{
    for (;;)
        pause();
}

TEST(Pidwatch, ReportsAnExitStatus)
{
    pidwatch w;
    int code = 7;
    ASSERT_EQ(pidwatch_spawn(&w, ExitWith, &code), 0);
    pidwatch_exit e;
    ASSERT_EQ(pidwatch_wait(&w, 10000, &e), 0);
    EXPECT_EQ(e.signal, 0);
    EXPECT_EQ(e.status, 7);
    EXPECT_EQ(w.pidfd, -1) << "no longer watched";
}

TEST(Pidwatch, ReportsTheSignalOfACrash)
{
    pidwatch w;
    ASSERT_EQ(pidwatch_spawn(&w, Crash, nullptr), 0);
    pidwatch_exit e;
    ASSERT_EQ(pidwatch_wait(&w, 10000, &e), 0);
    EXPECT_EQ(e.signal, SIGILL);
}

TEST(Pidwatch, ARunningChildTimesOutThenDiesBySigkill)
{
    pidwatch w;
    ASSERT_EQ(pidwatch_spawn(&w, WaitForever, nullptr), 0);
    pidwatch_exit e;
    EXPECT_EQ(pidwatch_wait(&w, 10, &e), -ETIMEDOUT);
    ASSERT_EQ(pidwatch_signal(&w, SIGKILL), 0);
    ASSERT_EQ(pidwatch_wait(&w, 10000, &e), 0);
    EXPECT_EQ(e.signal, SIGKILL);
}

TEST(Pidwatch, CloseKillsAndReapsARunningChild)
{
    pidwatch w;
    ASSERT_EQ(pidwatch_spawn(&w, WaitForever, nullptr), 0);
    pid_t pid = w.pid;
    pidwatch_close(&w);
    EXPECT_EQ(kill(pid, 0), -1) << "the child is gone and reaped";
    EXPECT_EQ(errno, ESRCH);
    pidwatch_close(&w); // twice is fine
    pidwatch_close(nullptr);
    pidwatch_exit e;
    EXPECT_EQ(pidwatch_wait(&w, 0, &e), -EBADF);
}

} // namespace
