/* SPDX-License-Identifier: MIT */
/*
 * pidwatch.h — child processes watched through a pidfd (design §5: the
 * multiproc admin detects a shard process killed by any signal). The pidfd
 * becomes readable when the child ends, so it can sit in the admin's poll
 * set with everything else; the exit is then collected with waitid(P_PIDFD),
 * which never reaps the wrong process, even once the pid is reused.
 */
#ifndef TS_ENGINE_PIDWATCH_H
#define TS_ENGINE_PIDWATCH_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pidwatch {
    pid_t pid;
    int pidfd; /* -1 when not watching */
};

/* How a child ended: by exit(status) or killed by a signal. */
struct pidwatch_exit {
    int signal; /* the signal that killed it, or 0 */
    int status; /* its exit status when signal is 0 */
    int core;   /* 1 if it dumped core */
};

/* Forks a child that runs fn(arg) and exits with its return value (never
 * returning into the parent's code), and watches it. 0 or -errno. A failed
 * spawn leaves *w safe to close. */
int pidwatch_spawn(struct pidwatch *w, int (*fn)(void *arg), void *arg);

/* Waits up to timeout_ms (-1: no limit) for the child to end; then fills
 * *out and stops watching. 0, -ETIMEDOUT (still running) or -errno. */
int pidwatch_wait(struct pidwatch *w, int timeout_ms, struct pidwatch_exit *out);

/* Sends the child a signal through its pidfd. 0 or -errno (-ESRCH). */
int pidwatch_signal(struct pidwatch *w, int sig);

/* Stops watching. A child still running is killed and reaped. NULL-safe. */
void pidwatch_close(struct pidwatch *w);

#ifdef __cplusplus
}
#endif
#endif
