/* SPDX-License-Identifier: MIT */
/* netns.c — two network namespaces joined by a veth pair (netns.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns.h"

#define NETNS_DIR "/var/run/netns/" /* where `ip netns add` mounts them */

/* The pair that exists now, for the signal handler: its mount points, the
 * process that made it (forked shard processes inherit the handler) and
 * whether it is there at all. */
static char live_path[2][80];
static pid_t live_owner;
static volatile sig_atomic_t live;
/* SIGPIPE too: `thespis-perf | head` ends the run at its next write. */
static const int live_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
#define NSIGS (sizeof(live_sigs) / sizeof(live_sigs[0]))
static int caught[NSIGS]; /* which of live_sigs this file handles */

/* What `ip netns del` does, with async-signal-safe calls only. */
static void remove_live(void)
{
    if (!live || getpid() != live_owner)
        return;
    for (int i = 0; i < 2; i++) {
        umount2(live_path[i], MNT_DETACH);
        unlink(live_path[i]);
    }
}

/* SA_RESETHAND has put the default action back: raising again ends us. */
static void on_signal(int sig)
{
    remove_live();
    raise(sig);
}

/* Handles the signals that would end the process (nobody else set them). */
static void catch_signals(void)
{
    for (size_t i = 0; i < NSIGS; i++) {
        struct sigaction old, sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
        sigfillset(&sa.sa_mask);
        caught[i] = sigaction(live_sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
                    sigaction(live_sigs[i], &sa, NULL) == 0;
    }
}

static void release_signals(void)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (size_t i = 0; i < NSIGS; i++)
        if (caught[i])
            sigaction(live_sigs[i], &dfl, NULL);
}

/* Runs argv (argv[0] "ip": from PATH, else /usr/sbin or /sbin) with stdout
 * to /dev/null, keeping the first line of its stderr in err (err_len > 1
 * bytes). 0 when it exits 0; -EIO when it fails; -ENOENT (no ip) or the
 * -errno of pipe2, posix_spawn or waitpid. */
static int spawn_ip(char *const argv[], char *err, size_t err_len)
{
    static const char *const paths[] = {"ip", "/usr/sbin/ip", "/sbin/ip"};
    int fds[2], rc = ENOENT, st = 0;
    size_t got = 0;
    err[0] = '\0';
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    pid_t pid;
    for (size_t i = 0; rc == ENOENT && i < sizeof(paths) / sizeof(paths[0]); i++)
        rc = posix_spawnp(&pid, paths[i], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    for (ssize_t k; rc == 0 && got < err_len - 1;) {
        if ((k = read(fds[0], err + got, err_len - 1 - got)) > 0)
            got += (size_t)k;
        else if (k == 0 || errno != EINTR)
            break;
    }
    close(fds[0]);
    if (rc)
        return -rc;
    err[got] = '\0';
    err[strcspn(err, "\n")] = '\0';
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* Runs `ip` with the NULL-terminated arguments that follow. 0; or, with
 * why saying what failed (quoting ip's stderr): -ENOENT (no ip), -EIO (ip
 * failed), -E2BIG, or spawn_ip's -errno. */
static int ip(char *why, size_t len, ...)
{
    char buf[512], *argv[16], err[200];
    size_t used = 3, n = 1;
    va_list ap;
    argv[0] = memcpy(buf, "ip", 3);
    va_start(ap, len);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        size_t l = strlen(a) + 1;
        if (n == 15 || used + l > sizeof(buf)) {
            va_end(ap);
            return snprintf(why, len, "ip: too many arguments"), -E2BIG;
        }
        argv[n++] = memcpy(buf + used, a, l);
        used += l;
    }
    va_end(ap);
    argv[n] = NULL;
    int rc = spawn_ip(argv, err, sizeof(err));
    if (rc == -ENOENT)
        snprintf(why, len, "needs iproute2's ip (not in PATH, /usr/sbin or /sbin)");
    else if (rc == -EIO) {
        for (size_t i = 1; i < n; i++)
            argv[i][-1] = ' '; /* the arguments are contiguous in buf: one command line */
        snprintf(why, len, "`%s` failed: %s", buf, err[0] ? err : "(no message)");
    } else if (rc < 0)
        snprintf(why, len, "cannot run ip: %s", strerror(-rc));
    return rc;
}

int netns_pair_create(struct netns_pair *p, enum netns_kind kind, char *why, size_t len)
{
    *p = (struct netns_pair){{{0}}, 0};
    if (geteuid() != 0)
        return snprintf(why, len, "needs root (network namespaces)"), -EPERM;
    if (live)
        return snprintf(why, len, "a veth pair exists already"), -EBUSY;
    for (int i = 0; i < 2; i++) {
        snprintf(p->name[i], sizeof(p->name[i]), "thespis-perf-%d-%c", (int)getpid(), 'a' + i);
        snprintf(live_path[i], sizeof(live_path[i]), NETNS_DIR "%s", p->name[i]);
    }
    live_owner = getpid();
    live = 1;
    catch_signals();
    const char *a = p->name[0], *b = p->name[1];
    int rc = 0;
    for (int i = 0; rc == 0 && i < 2; i++) {
        if ((rc = ip(why, len, "netns", "add", p->name[i], NULL)) < 0)
            break;
        p->made++;
        rc = ip(why, len, "-n", p->name[i], "link", "set", "lo", "up", NULL);
    }
    /* Made inside the namespaces, so the names need only be unique there;
     * addrgenmode none keeps IPv6 chatter off the link. */
    if (rc == 0)
        rc = ip(why, len, "-n", a, "link", "add", NETNS_IF_A, "type", "veth", "peer", "name",
                NETNS_IF_B, "netns", b, NULL);
    if (rc == 0 && kind == NETNS_KERNEL_IP)
        rc = ip(why, len, "-n", a, "addr", "add", NETNS_IP_A "/24", "dev", NETNS_IF_A, NULL);
    if (rc == 0 && kind == NETNS_KERNEL_IP)
        rc = ip(why, len, "-n", b, "addr", "add", NETNS_IP_B "/24", "dev", NETNS_IF_B, NULL);
    if (rc == 0)
        rc = ip(why, len, "-n", a, "link", "set", NETNS_IF_A, "addrgenmode", "none", "up", NULL);
    if (rc == 0)
        rc = ip(why, len, "-n", b, "link", "set", NETNS_IF_B, "addrgenmode", "none", "up", NULL);
    if (rc < 0)
        netns_pair_destroy(p);
    return rc;
}

int netns_run(const struct netns_pair *p, int side, int (*fn)(void *arg), void *arg)
{
    if (!p)
        return fn(arg);
    char path[80];
    snprintf(path, sizeof(path), NETNS_DIR "%s", p->name[side != 0]);
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), there = -1, rc = 0;
    if (self < 0)
        return -errno;
    if ((there = open(path, O_RDONLY | O_CLOEXEC)) < 0 || setns(there, CLONE_NEWNET) < 0)
        rc = -errno;
    if (there >= 0)
        close(there);
    if (rc == 0) {
        rc = fn(arg);
        if (setns(self, CLONE_NEWNET) < 0) { /* whatever ran next would run in there */
            fprintf(stderr, "thespis-perf: cannot leave network namespace %s: %s\n",
                    p->name[side != 0], strerror(errno));
            remove_live();
            abort();
        }
    }
    close(self);
    return rc;
}

void netns_pair_destroy(struct netns_pair *p)
{
    char why[256];
    for (; p && p->made > 0; p->made--)
        if (ip(why, sizeof(why), "netns", "del", p->name[p->made - 1], NULL) < 0)
            fprintf(stderr, "thespis-perf: %s\n", why);
    if (live && getpid() == live_owner) {
        release_signals();
        live = 0;
    }
}
