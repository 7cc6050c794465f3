/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidwatch.h"

static int pidfd_of(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int pidwatch_spawn(struct pidwatch *w, int (*fn)(void *arg), void *arg)
{
    *w = (struct pidwatch){.pid = -1, .pidfd = -1};
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        _exit(fn(arg) & 0xff);
    w->pid = pid;
    w->pidfd = pidfd_of(pid);
    if (w->pidfd < 0) {
        int rc = -errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        w->pid = -1;
        return rc;
    }
    return 0;
}

int pidwatch_wait(struct pidwatch *w, int timeout_ms, struct pidwatch_exit *out)
{
    if (w->pidfd < 0)
        return -EBADF;
    struct pollfd p = {.fd = w->pidfd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ETIMEDOUT;
    siginfo_t info = {0};
    if (waitid((idtype_t)P_PIDFD, (id_t)w->pidfd, &info, WEXITED) < 0)
        return -errno;
    *out = (struct pidwatch_exit){0};
    if (info.si_code == CLD_EXITED)
        out->status = info.si_status;
    else
        out->signal = info.si_status;
    out->core = info.si_code == CLD_DUMPED;
    close(w->pidfd);
    *w = (struct pidwatch){.pid = -1, .pidfd = -1};
    return 0;
}

int pidwatch_signal(struct pidwatch *w, int sig)
{
    if (w->pidfd < 0)
        return -EBADF;
    return syscall(SYS_pidfd_send_signal, w->pidfd, sig, NULL, 0) == 0 ? 0 : -errno;
}

void pidwatch_close(struct pidwatch *w)
{
    if (!w || w->pidfd < 0)
        return;
    struct pidwatch_exit ignored;
    pidwatch_signal(w, SIGKILL);
    if (pidwatch_wait(w, -1, &ignored) < 0) {
        close(w->pidfd);
        *w = (struct pidwatch){.pid = -1, .pidfd = -1};
    }
}
