/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "bare_ring.h"
#include "ring.h"
#include "segment.h"

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* What the two threads share. Side a runs fn[0], side b fn[1]. */
struct job {
    struct ring *ab, *ba; /* a -> b, and b -> a for the ping-pong */
    uint64_t n;           /* round trips, or records */
    size_t payload;
    unsigned batch;
    void (*record)(void *arg, uint64_t ns);
    void *arg;
    void (*fn[2])(struct job *);
    atomic_int go; /* 0: wait, 1: run, -1: give up */
    uint64_t t0, t1;
    int err;
};

/* ---- two pinned threads ------------------------------------------------ */

struct side {
    struct job *job;
    int which;
};

static void *side_main(void *p)
{
    struct side *s = p;
    int go;
    while ((go = atomic_load_explicit(&s->job->go, memory_order_acquire)) == 0)
        cpu_relax();
    if (go > 0)
        s->job->fn[s->which](s->job);
    return NULL;
}

static int pin(pthread_t t, int core)
{
    if (core < 0)
        return 0;
    if (core >= CPU_SETSIZE)
        return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((size_t)core, &set);
    return -pthread_setaffinity_np(t, sizeof(set), &set);
}

/* Starts both sides, pins them, lets them go together and joins them. */
static int run_pair(struct job *job, const int core[2])
{
    struct side sides[2] = {{job, 0}, {job, 1}};
    pthread_t t[2];
    int started = 0, rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        rc = -pthread_create(&t[i], NULL, side_main, &sides[i]);
        if (rc == 0) {
            started++;
            rc = pin(t[i], core[i]);
        }
    }
    atomic_store_explicit(&job->go, rc == 0 ? 1 : -1, memory_order_release);
    while (started > 0)
        pthread_join(t[--started], NULL);
    return rc;
}

/* ---- rings ------------------------------------------------------------- */

/* n rings of BARE_RING_SIZE in one shared segment. */
static int rings_create(struct shm_segment *seg, struct ring **r, int n)
{
    size_t fp = ring_footprint(BARE_RING_SIZE); /* a multiple of 64 */
    int rc = shm_segment_create(seg, "thespis-bare-ring", fp * (size_t)n);
    for (int i = 0; i < n && rc == 0; i++) {
        r[i] = (struct ring *)(void *)((unsigned char *)seg->base + fp * (size_t)i);
        rc = ring_init(r[i], BARE_RING_SIZE);
    }
    return rc;
}

static void *reserve_spin(struct ring *r, size_t len)
{
    void *p;
    while ((p = ring_reserve(r, len, 0)) == NULL)
        cpu_relax();
    return p;
}

static void *front_spin(struct ring *r)
{
    uint32_t len, flags;
    void *p;
    while ((p = ring_front(r, &len, &flags)) == NULL)
        cpu_relax();
    return p;
}

/* ---- ping-pong --------------------------------------------------------- */

static void ping(struct job *j)
{
    j->t0 = now_ns();
    for (uint64_t i = 0; i < j->n; i++) {
        uint64_t sent = now_ns();
        memcpy(reserve_spin(j->ab, j->payload), &sent, sizeof(sent));
        ring_publish(j->ab);
        memcpy(&sent, front_spin(j->ba), sizeof(sent));
        ring_pop(j->ba);
        ring_release(j->ba);
        j->record(j->arg, now_ns() - sent);
    }
    j->t1 = now_ns();
}

static void pong(struct job *j)
{
    for (uint64_t i = 0; i < j->n; i++) {
        const void *in = front_spin(j->ab);
        memcpy(reserve_spin(j->ba, j->payload), in, j->payload);
        ring_pop(j->ab);
        ring_release(j->ab);
        ring_publish(j->ba);
    }
}

int bare_ring_pingpong(int core_a, int core_b, uint64_t rounds, size_t payload,
                       void (*record)(void *arg, uint64_t ns), void *arg,
                       struct bare_result *out)
{
    if (payload < sizeof(uint64_t) || payload > BARE_RING_SIZE / 4)
        return -EINVAL;
    struct shm_segment seg;
    struct ring *r[2];
    int rc = rings_create(&seg, r, 2);
    if (rc < 0)
        goto out;
    struct job job = {.ab = r[0], .ba = r[1], .n = rounds, .payload = payload,
                      .record = record, .arg = arg, .fn = {ping, pong}};
    rc = run_pair(&job, (const int[2]){core_a, core_b});
    if (rc == 0)
        *out = (struct bare_result){2 * rounds, (double)(job.t1 - job.t0) / 1e9};
out:
    shm_segment_destroy(&seg);
    return rc;
}

/* ---- one-way throughput ------------------------------------------------ */

static void produce(struct job *j)
{
    unsigned pending = 0;
    j->t0 = now_ns();
    for (uint64_t i = 0; i < j->n; i++) {
        void *p;
        while ((p = ring_reserve(j->ab, j->payload, 0)) == NULL) {
            ring_publish(j->ab); /* the consumer frees only what it sees */
            cpu_relax();
        }
        memset(p, 0x5a, j->payload);
        if (j->payload >= sizeof(i))
            memcpy(p, &i, sizeof(i));
        if (++pending == j->batch) {
            ring_publish(j->ab);
            pending = 0;
        }
    }
    ring_publish(j->ab);
}

static void consume(struct job *j)
{
    unsigned popped = 0;
    for (uint64_t i = 0; i < j->n; i++) {
        uint32_t len, flags;
        void *p;
        while ((p = ring_front(j->ab, &len, &flags)) == NULL) {
            ring_release(j->ab); /* the producer may be waiting for space */
            cpu_relax();
        }
        uint64_t seq = i;
        if (len >= sizeof(seq))
            memcpy(&seq, p, sizeof(seq));
        if (seq != i)
            j->err = -EPROTO;
        ring_pop(j->ab);
        if (++popped == j->batch) {
            ring_release(j->ab);
            popped = 0;
        }
    }
    ring_release(j->ab);
    j->t1 = now_ns();
}

int bare_ring_throughput(int core_a, int core_b, uint64_t msgs, size_t payload,
                         unsigned batch, struct bare_result *out)
{
    if (batch == 0 || payload > BARE_RING_SIZE / 4)
        return -EINVAL;
    struct shm_segment seg;
    struct ring *r;
    int rc = rings_create(&seg, &r, 1);
    if (rc < 0)
        goto out;
    struct job job = {.ab = r, .n = msgs, .payload = payload, .batch = batch,
                      .fn = {produce, consume}};
    rc = run_pair(&job, (const int[2]){core_a, core_b});
    if (rc == 0)
        rc = job.err;
    if (rc == 0)
        *out = (struct bare_result){msgs, (double)(job.t1 - job.t0) / 1e9};
out:
    shm_segment_destroy(&seg);
    return rc;
}
