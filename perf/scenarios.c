/* SPDX-License-Identifier: MIT */
/*
 * scenarios.c — thespis-perf's scenarios: the engine's, driven through the
 * public API, and the bare baselines they are set against (the run queue
 * alone, two threads over the shm ring alone, bare_ring.c, and over a TCP
 * socket alone, bare_tcp.c). Those between nodes run on loopback, and
 * across a veth pair between two network namespaces (netns.h); the dpdk
 * ones only there, each node's DPDK port a net_af_packet device on its end
 * of a bare pair, set against the udp transport across a pair of its own.
 * A driver actor runs ping-pong open loop (--rate) and users' own actors
 * (perf_own.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "bare_ring.h"
#include "bare_tcp.h"
#include "bare_uring_tcp.h"
#include "mailq.h"
#include "netns.h"
#include "perf.h"
#include "transport.h"

static uint64_t T_START, T_PING, T_DONE, T_ACK, T_FINISH, T_CHECK, T_TICK, T_DRV_START;

/* The scenario running now: handlers record into its histogram (only one
 * actor records, so it has a single writer). */
static struct result *current;

static const uint64_t ASK_LIMIT = 120ull * 1000000000u;

/* ---- pingpong ------------------------------------------------------------ */

struct ping {
    uint64_t sent_ns, deadline_ns, count;
    ts_addr asker, peer;
};

static int pp_start(ts_ctx *ctx, void *state, const ts_msg *m)
{
    (void)state;
    struct ping p;
    memcpy(&p, ts_msg_data(m), sizeof(p));
    ts_addr to = p.peer;
    p.peer = ts_self(ctx); /* from now on: who records */
    p.asker = ts_sender(ctx);
    p.sent_ns = now_ns();
    return ts_send(ctx, to, T_PING, &p, sizeof(p));
}

/* The peer echoes; the starter records the round trip and goes again. */
static int pp_ping(ts_ctx *ctx, void *state, const ts_msg *m)
{
    (void)state;
    struct ping p;
    memcpy(&p, ts_msg_data(m), sizeof(p));
    if (p.peer != ts_self(ctx))
        return ts_reply(ctx, T_PING, &p, sizeof(p));
    uint64_t now = now_ns();
    perf_sample(current, now - p.sent_ns);
    p.count++;
    if (now >= p.deadline_ns)
        return ts_send(ctx, p.asker, T_DONE, &p.count, sizeof(p.count));
    p.sent_ns = now_ns();
    return ts_send(ctx, ts_sender(ctx), T_PING, &p, sizeof(p));
}

static const ts_handler_entry pp_handlers[] = {
    TS_ON("perf.Start", pp_start), TS_ON("perf.Ping", pp_ping), TS_HANDLERS_END};
static const ts_actor_type pp_type = {.name = "perf.PingPong", .handlers = pp_handlers};

static int create_on(ts_system *sys, const char *type, int shard, const struct perf_env *env,
                     ts_addr *out)
{
    ts_create_opts o = {.placement = env->cores_n ? TS_PLACE_CORE : TS_PLACE_LOCAL,
                        .core = env->cores_n ? env->cores[shard] : 0};
    return ts_system_create(sys, type, &o, out);
}

/* ---- the driver: open loop, and the user's own actors --------------------- */

/* The driver sends its peer one message type again and again and times each
 * reply (replies come in order, so it keeps the due times of those in
 * flight). Closed loop (rate 0): the next message when the reply is in,
 * until the duration is up. Open loop: rate messages a second for the
 * duration, each timed from when it was due, not from when it went out, so
 * a stall of the peer or of the driver shows in every message it delays
 * (no coordinated omission). It sends what is due whenever it runs, polling
 * through a Tick to itself; at most DRV_WINDOW in flight. When it is still
 * behind a second after the duration, it stops sending; once the replies of
 * those in flight are in, it records each message not sent with the time it
 * had waited when it gave up (in bulk, bucket by bucket: their due times are
 * an arithmetic series), so the histogram counts every intended message. */
#define DRV_WINDOW 1024u

struct drv_start {
    ts_addr peer;
    uint64_t type, duration_ns;
    double rate;
    uint32_t len;
    uint8_t payload[PERF_OWN_PAYLOAD_MAX];
};

struct drv_done {
    uint64_t received, span_ns, gave_up, total; /* total: the intended messages (open loop) */
};

struct driver {
    struct drv_start st;
    ts_addr asker;
    uint64_t t0, deadline, total, next, received, last;
    uint64_t intended, gave_up_ns; /* open loop: the messages due; when it gave up */
    int gave_up, finished;
    uint64_t due[DRV_WINDOW];
};

static uint64_t due_at(const struct driver *d, uint64_t i)
{
    return d->t0 + (uint64_t)((double)i * 1e9 / d->st.rate);
}

static int drv_send(ts_ctx *ctx, struct driver *d, uint64_t due)
{
    d->due[d->next++ % DRV_WINDOW] = due;
    return ts_send(ctx, d->st.peer, d->st.type, d->st.payload, d->st.len);
}

/* Records the messages i .. end-1, never sent, each with the time it had
 * waited at d->gave_up_ns (all due before it). Their waits fall as i grows;
 * each step records those in one histogram bucket with two calls. */
static void drv_record_unsent(const struct driver *d, uint64_t i, uint64_t end)
{
    const double per_ns = d->st.rate / 1e9; /* messages due per ns */
    while (i < end) {
        uint64_t wait = d->gave_up_ns - due_at(d, i);
        unsigned b = hist_bucket_of(wait);
        uint64_t floor_ns = b ? hist_bucket_top(b - 1) + 1 : 0;
        /* The last j whose wait is still in b: due_at(j) <= gave_up - floor. */
        uint64_t j = i;
        if (wait > floor_ns) {
            double k = (double)(d->gave_up_ns - floor_ns - d->t0) * per_ns;
            j = k >= (double)end ? end - 1 : (uint64_t)k > i ? (uint64_t)k : i;
        }
        while (j > i && d->gave_up_ns - due_at(d, j) < floor_ns)
            j--; /* the double's rounding */
        while (j + 1 < end && d->gave_up_ns - due_at(d, j + 1) >= floor_ns)
            j++;
        hist_record_n(&current->h, wait, j - i);
        hist_record(&current->h, d->gave_up_ns - due_at(d, j));
        i = j + 1;
    }
}

static int drv_finish(ts_ctx *ctx, struct driver *d)
{
    if (d->gave_up)
        drv_record_unsent(d, d->total, d->intended);
    struct drv_done done = {d->received, d->last - d->t0, (uint64_t)d->gave_up, d->intended};
    d->finished = 1;
    return ts_send(ctx, d->asker, T_DONE, &done, sizeof(done));
}

/* Open loop: sends what is due, then polls again unless all is sent. */
static int drv_pace(ts_ctx *ctx, struct driver *d)
{
    uint64_t now = now_ns();
    while (d->next < d->total && d->next - d->received < DRV_WINDOW && due_at(d, d->next) <= now) {
        int rc = drv_send(ctx, d, due_at(d, d->next));
        if (rc < 0)
            return rc;
    }
    if (d->next == d->total)
        return 0;
    if (now > d->deadline + 1000000000u) { /* hopelessly behind */
        d->gave_up = 1;
        d->gave_up_ns = now;
        d->total = d->next; /* drv_finish records the rest */
        return d->received == d->next ? drv_finish(ctx, d) : 0;
    }
    return ts_send(ctx, ts_self(ctx), T_TICK, NULL, 0);
}

static int drv_start(ts_ctx *ctx, void *state, const ts_msg *m)
{
    struct driver *d = state;
    memcpy(&d->st, ts_msg_data(m), sizeof(d->st));
    d->asker = ts_sender(ctx);
    d->t0 = d->last = now_ns();
    d->deadline = d->t0 + d->st.duration_ns;
    if (d->st.rate <= 0)
        return drv_send(ctx, d, d->t0);
    /* The messages due in the duration; a product a rounding error below
     * an integer (0.05 s at 1000/s) counts as that integer. */
    double total = (double)d->st.duration_ns / 1e9 * d->st.rate * (1 + 1e-12);
    d->total = d->intended = total < 1 ? 1 : (uint64_t)total;
    return drv_pace(ctx, d);
}

static int drv_tick(ts_ctx *ctx, void *state, const ts_msg *m)
{
    (void)m;
    return drv_pace(ctx, state);
}

/* Every other message: a reply, when it comes from the peer. */
static int drv_reply(ts_ctx *ctx, void *state, const ts_msg *m)
{
    (void)m;
    struct driver *d = state;
    if (ts_sender(ctx) != d->st.peer || d->received == d->next || d->finished)
        return 0;
    uint64_t now = now_ns();
    perf_sample(current, now - d->due[d->received++ % DRV_WINDOW]);
    d->last = now;
    if (d->st.rate <= 0)
        return now < d->deadline ? drv_send(ctx, d, now_ns()) : drv_finish(ctx, d);
    if (d->received == d->total && d->next == d->total)
        return drv_finish(ctx, d);
    return 0;
}

static const ts_handler_entry drv_handlers[] = {
    TS_ON("perf.DriverStart", drv_start), TS_ON("perf.Tick", drv_tick), TS_HANDLERS_END};
static const ts_actor_type drv_type = {.name = "perf.Driver",
                                       .state_size = sizeof(struct driver),
                                       .handlers = drv_handlers,
                                       .fallback = drv_reply};

static int drive(ts_system *sys, const struct perf_env *env, ts_addr drv, struct drv_start *st,
                 struct result *r)
{
    st->duration_ns = env->duration_ns;
    st->rate = env->rate;
    ts_msg *reply = NULL;
    uint64_t t0 = now_ns();
    int rc = ts_ask(sys, drv, T_DRV_START, st, sizeof(*st), ASK_LIMIT, &reply);
    r->seconds = (double)(now_ns() - t0) / 1e9;
    if (rc == 0 && reply->type == T_DONE && reply->len == sizeof(struct drv_done)) {
        struct drv_done done;
        memcpy(&done, ts_msg_data(reply), sizeof(done));
        r->msgs = 2 * done.received;
        if (env->rate > 0) {
            /* From the first due time to the last reply, but at least the
             * intended messages' schedule (N messages take N intervals). */
            double span = (double)done.span_ns, planned = (double)done.total * 1e9 / env->rate;
            if (span < planned)
                span = planned;
            r->achieved = span > 0 ? (double)done.received * 1e9 / span : 0;
            r->kept_up = !done.gave_up && r->achieved >= 0.95 * env->rate;
        }
    } else if (rc == 0) {
        rc = -EPROTO;
    }
    ts_msg_free(reply);
    return rc;
}

/* Ping-pong, open loop: the driver against a perf.PingPong, which echoes. */
static int pingpong_open(ts_system *sys, const struct perf_env *env, int shard_b, struct result *r)
{
    ts_addr d, b;
    int rc = create_on(sys, "perf.Driver", 0, env, &d);
    if (rc == 0)
        rc = create_on(sys, "perf.PingPong", shard_b, env, &b);
    if (rc < 0)
        return rc;
    struct drv_start st = {.peer = b, .type = T_PING, .len = sizeof(struct ping)};
    struct ping p = {.peer = d}; /* not b: b echoes it */
    memcpy(st.payload, &p, sizeof(p));
    return drive(sys, env, d, &st, r);
}

int scen_own(ts_system *sys, const struct perf_env *env, struct result *r)
{
    const struct perf_own *own = env->own;
    if (own->cross_shard && env->shards < 2)
        return -ENOTSUP;
    ts_addr d, b;
    int rc = create_on(sys, "perf.Driver", 0, env, &d);
    if (rc < 0)
        return rc;
    ts_create_opts o = {.placement = env->cores_n ? TS_PLACE_CORE : TS_PLACE_LOCAL,
                        .core = env->cores_n ? env->cores[own->cross_shard ? 1 : 0] : 0,
                        .arg = own->init_arg, .arg_len = own->init_len};
    if ((rc = ts_system_create(sys, own->actor_type, &o, &b)) < 0)
        return rc;
    struct drv_start st = {.peer = b, .type = ts_type_id(own->message), .len = (uint32_t)own->len};
    if (own->len)
        memcpy(st.payload, own->payload, own->len);
    return drive(sys, env, d, &st, r);
}

static int pingpong(ts_system *sys, const struct perf_env *env, int shard_b, struct result *r)
{
    ts_addr a, b;
    int rc = create_on(sys, "perf.PingPong", 0, env, &a);
    if (rc == 0)
        rc = create_on(sys, "perf.PingPong", shard_b, env, &b);
    if (rc < 0)
        return rc;
    /* Start names b as the peer; a then records every round trip to b. */
    struct ping p = {.deadline_ns = now_ns() + env->duration_ns, .peer = b};
    ts_msg *reply = NULL;
    uint64_t t0 = now_ns();
    rc = ts_ask(sys, a, T_START, &p, sizeof(p), ASK_LIMIT, &reply);
    r->seconds = (double)(now_ns() - t0) / 1e9;
    if (rc == 0 && reply->type == T_DONE)
        memcpy(&r->msgs, ts_msg_data(reply), sizeof(r->msgs));
    r->msgs *= 2; /* a round trip carries two messages */
    ts_msg_free(reply);
    return rc;
}

int scen_pingpong_same(ts_system *sys, const struct perf_env *env, struct result *r)
{
    if (env->rate > 0)
        return pingpong_open(sys, env, 0, r);
    return pingpong(sys, env, 0, r);
}

int scen_pingpong_cross(ts_system *sys, const struct perf_env *env, struct result *r)
{
    if (env->shards < 2)
        return -ENOTSUP;
    if (env->rate > 0)
        return pingpong_open(sys, env, 1, r);
    return pingpong(sys, env, 1, r);
}

/* ---- throughput ---------------------------------------------------------- */

#define TP_BURST 1024u
#define TP_WINDOW 3u /* bursts in flight: 3 x 1024 x 64 B stays within a 256 KiB ring */

struct tp_start {
    ts_addr consumer;
    uint64_t deadline_ns;
    uint32_t payload; /* bytes per message, 16 to 64 */
};

struct producer {
    struct tp_start st;
    ts_addr asker;
    unsigned credits;
    uint64_t seq;
    int finished;
};

struct consumer {
    uint64_t count, expect;
    int out_of_order;
};

static int tp_burst(ts_ctx *ctx, struct producer *p)
{
    while (p->credits && now_ns() < p->st.deadline_ns) {
        p->credits--;
        for (unsigned i = 0; i < TP_BURST; i++) {
            uint64_t msg[8] = {p->seq++};
            int rc = ts_send(ctx, p->st.consumer, T_PING, msg, p->st.payload);
            if (rc < 0)
                return rc;
        }
    }
    if (!p->finished && p->credits == TP_WINDOW) { /* all acknowledged, time is up */
        p->finished = 1;
        return ts_send(ctx, p->st.consumer, T_FINISH, &p->asker, sizeof(p->asker));
    }
    return 0;
}

static int tp_start(ts_ctx *ctx, void *state, const ts_msg *m)
{
    struct producer *p = state;
    memcpy(&p->st, ts_msg_data(m), sizeof(p->st));
    p->asker = ts_sender(ctx);
    p->credits = TP_WINDOW;
    return tp_burst(ctx, p);
}

static int tp_ack(ts_ctx *ctx, void *state, const ts_msg *m)
{
    (void)m;
    struct producer *p = state;
    p->credits++;
    perf_count(current, TP_BURST);
    return tp_burst(ctx, p);
}

static int tp_recv(ts_ctx *ctx, void *state, const ts_msg *m)
{
    struct consumer *c = state;
    uint64_t seq;
    memcpy(&seq, ts_msg_data(m), sizeof(seq));
    c->out_of_order |= seq != c->expect;
    c->expect = seq + 1;
    if (++c->count % TP_BURST == 0)
        return ts_reply(ctx, T_ACK, NULL, 0);
    return 0;
}

static int tp_finish(ts_ctx *ctx, void *state, const ts_msg *m)
{
    struct consumer *c = state;
    ts_addr asker;
    memcpy(&asker, ts_msg_data(m), sizeof(asker));
    uint64_t out[2] = {c->count, (uint64_t)c->out_of_order};
    return ts_send(ctx, asker, T_DONE, out, sizeof(out));
}

static const ts_handler_entry producer_handlers[] = {
    TS_ON("perf.Start", tp_start), TS_ON("perf.Ack", tp_ack), TS_HANDLERS_END};
static const ts_actor_type producer_type = {
    .name = "perf.Producer", .state_size = sizeof(struct producer), .handlers = producer_handlers};
static const ts_handler_entry consumer_handlers[] = {
    TS_ON("perf.Ping", tp_recv), TS_ON("perf.Finish", tp_finish), TS_HANDLERS_END};
static const ts_actor_type consumer_type = {
    .name = "perf.Consumer", .state_size = sizeof(struct consumer), .handlers = consumer_handlers};

/* Producer prod streams payload-byte messages to cons until the duration
 * is up, through sys's caller. */
static int throughput(ts_system *sys, ts_addr prod, ts_addr cons, uint32_t payload,
                      const struct perf_env *env, struct result *r)
{
    struct tp_start st = {.consumer = cons, .deadline_ns = now_ns() + env->duration_ns,
                          .payload = payload};
    ts_msg *reply = NULL;
    uint64_t t0 = now_ns();
    int rc = ts_ask(sys, prod, T_START, &st, sizeof(st), ASK_LIMIT, &reply);
    r->seconds = (double)(now_ns() - t0) / 1e9;
    if (rc == 0) {
        uint64_t out[2];
        memcpy(out, ts_msg_data(reply), sizeof(out));
        r->msgs = out[0];
        if (out[1])
            rc = -EPROTO;
    }
    ts_msg_free(reply);
    return rc;
}

int scen_throughput_cross(ts_system *sys, const struct perf_env *env, struct result *r)
{
    if (env->shards < 2)
        return -ENOTSUP;
    ts_addr prod, cons;
    int rc = create_on(sys, "perf.Producer", 0, env, &prod);
    if (rc == 0)
        rc = create_on(sys, "perf.Consumer", 1, env, &cons);
    return rc < 0 ? rc : throughput(sys, prod, cons, 16, env, r);
}

/* ---- spawn and memory ---------------------------------------------------- */

struct spawner {
    uint64_t n, t0;
    ts_addr asker;
};

static const ts_actor_type idle_type = {.name = "perf.Idle"};

static int spawn_start(ts_ctx *ctx, void *state, const ts_msg *m)
{
    struct spawner *s = state;
    memcpy(&s->n, ts_msg_data(m), sizeof(s->n));
    s->asker = ts_sender(ctx);
    s->t0 = now_ns();
    for (uint64_t i = 0; i < s->n; i++) {
        ts_addr child;
        int rc = ts_create(ctx, "perf.Idle", NULL, &child);
        if (rc < 0)
            return rc;
    }
    /* Behind every child's Start in this shard's queue: all have started. */
    return ts_send(ctx, ts_self(ctx), T_CHECK, NULL, 0);
}

static int spawn_check(ts_ctx *ctx, void *state, const ts_msg *m)
{
    (void)m;
    struct spawner *s = state;
    uint64_t ns = now_ns() - s->t0;
    return ts_send(ctx, s->asker, T_DONE, &ns, sizeof(ns));
}

static const ts_handler_entry spawner_handlers[] = {
    TS_ON("perf.Start", spawn_start), TS_ON("perf.Check", spawn_check), TS_HANDLERS_END};
static const ts_actor_type spawner_type = {
    .name = "perf.Spawner", .state_size = sizeof(struct spawner), .handlers = spawner_handlers};

static uint64_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Creates n idle children on one shard; *ns: until all have started. */
static int spawn_many(ts_system *sys, const struct perf_env *env, uint64_t n, uint64_t *ns)
{
    ts_addr s;
    int rc = create_on(sys, "perf.Spawner", 0, env, &s);
    ts_msg *reply = NULL;
    if (rc == 0)
        rc = ts_ask(sys, s, T_START, &n, sizeof(n), ASK_LIMIT, &reply);
    if (rc == 0 && reply->type != T_DONE)
        rc = -EPROTO;
    if (rc == 0)
        memcpy(ns, ts_msg_data(reply), sizeof(*ns));
    ts_msg_free(reply);
    return rc;
}

int scen_spawn_local(ts_system *sys, const struct perf_env *env, struct result *r)
{
    uint64_t n = env->duration_ns / 2000 + 1000, ns = 0; /* ~0.5 us each at 1M/s */
    int rc = spawn_many(sys, env, n, &ns);
    r->msgs = n;
    r->seconds = (double)ns / 1e9;
    return rc;
}

int scen_memory_idle(ts_system *sys, const struct perf_env *env, struct result *r)
{
    const uint64_t n = 200000;
    uint64_t before = rss_bytes(), ns;
    int rc = spawn_many(sys, env, n, &ns);
    uint64_t after = rss_bytes();
    r->msgs = n;
    r->seconds = (double)ns / 1e9;
    r->value = after > before ? (double)(after - before) / (double)n : 0;
    r->unit = "B/actor";
    return rc;
}

/* ---- ask round trip ------------------------------------------------------ */

static int echo(ts_ctx *ctx, void *state, const ts_msg *m)
{
    (void)state;
    return ts_reply(ctx, T_PING, ts_msg_data(m), m->len);
}

static const ts_handler_entry echo_handlers[] = {TS_ON("perf.Ping", echo), TS_HANDLERS_END};
static const ts_actor_type echo_type = {.name = "perf.Echo", .handlers = echo_handlers};

int scen_ask(ts_system *sys, const struct perf_env *env, struct result *r)
{
    ts_addr e;
    int rc = create_on(sys, "perf.Echo", 0, env, &e);
    uint64_t t0 = now_ns(), end = t0 + env->duration_ns;
    for (uint64_t i = 0; rc == 0 && now_ns() < end; i++) {
        ts_msg *reply = NULL;
        uint64_t t = now_ns();
        rc = ts_ask(sys, e, T_PING, &i, sizeof(i), ASK_LIMIT, &reply);
        perf_sample(r, now_ns() - t);
        ts_msg_free(reply);
        r->msgs += 2;
    }
    r->seconds = (double)(now_ns() - t0) / 1e9;
    return rc;
}

/* ---- bare baselines ------------------------------------------------------ */

int scen_bare_queue(ts_system *sys, const struct perf_env *env, struct result *r)
{
    (void)sys;
    struct mailq q = {0};
    uint64_t t0 = now_ns(), end = t0 + env->duration_ns;
    while (now_ns() < end) {
        for (int i = 0; i < 1000; i++) {
            ts_msg *m = mailq_push(&q, sizeof(struct ping));
            if (!m)
                return -ENOMEM;
            uint64_t sent = now_ns();
            memcpy(m + 1, &sent, sizeof(sent));
            ts_msg *got = mailq_peek(&q);
            memcpy(&sent, ts_msg_data(got), sizeof(sent));
            perf_sample(r, now_ns() - sent);
            mailq_pop(&q);
        }
        r->msgs += 1000;
    }
    r->seconds = (double)(now_ns() - t0) / 1e9;
    mailq_fini(&q);
    return 0;
}

static void record(void *arg, uint64_t ns)
{
    perf_sample(arg, ns);
}

int scen_bare_pingpong(ts_system *sys, const struct perf_env *env, struct result *r)
{
    (void)sys;
    if (env->cores_n < 2)
        return -ENOTSUP;
    struct bare_result b = {0};
    uint64_t rounds = env->duration_ns / 1000 + 1000; /* about 1 us a round trip here */
    int rc = bare_ring_pingpong(env->cores[0], env->cores[1], rounds, sizeof(struct ping),
                                record, r, &b);
    r->msgs = b.msgs;
    r->seconds = b.seconds;
    return rc;
}

int scen_bare_uring_tcp(ts_system *sys, const struct perf_env *env, struct result *r)
{
    (void)sys;
    if (env->cores_n < 2)
        return -ENOTSUP;
    struct bare_result b = {0};
    uint64_t rounds = env->duration_ns / 20000 + 500; /* about 20 us a round trip here */
    int rc = bare_uring_tcp_pingpong(env->cores[0], env->cores[1], rounds, sizeof(struct ping),
                                     record, r, &b);
    r->msgs = b.msgs;
    r->seconds = b.seconds;
    return rc;
}

/* A node to open: open_in runs with the thread in the node's namespace
 * (netns_run), so the node's sockets and shard thread live there. */
struct node_open {
    ts_config cfg;
    ts_system **out;
};

static int open_in(void *p)
{
    struct node_open *o = p;
    return ts_system_open(&o->cfg, o->out);
}

/* Opens a one-shard pinned node `id` (1 or 2) on cpu, listening on port
 * and linked to node `peer` at peer_port by transport `scheme`: on
 * loopback, or (veth set) with node 1 on NETNS_IP_A in namespace a and
 * node 2 on NETNS_IP_B in namespace b. A dpdk node is that IPv4 host
 * itself, on a net_af_packet device on its end of the (bare) pair. */
static int open_node(const char *scheme, uint16_t id, int cpu, unsigned port, uint16_t peer,
                     unsigned peer_port, const struct netns_pair *veth, ts_system **out)
{
    const char *self = !veth ? "127.0.0.1" : id == 1 ? NETNS_IP_A : NETNS_IP_B;
    const char *other = !veth ? "127.0.0.1" : id == 1 ? NETNS_IP_B : NETNS_IP_A;
    char cores[16], listen[48], peers[64];
    snprintf(cores, sizeof(cores), "%d", cpu);
    snprintf(listen, sizeof(listen), "%s://%s:%u", scheme, self, port);
    snprintf(peers, sizeof(peers), "%u=%s://%s:%u", peer, scheme, other, peer_port);
    struct node_open o = {.out = out};
    ts_config_init(&o.cfg);
    o.cfg.base = TS_BASE_PINNED;
    o.cfg.idle = TS_IDLE_BUSY;
    o.cfg.node_id = id;
    o.cfg.cores = cores;
    o.cfg.listen = listen;
    o.cfg.peers = peers;
    char vdev[64];
    if (strcmp(scheme, "dpdk") == 0) {
        /* A new device name each time: the EAL's devices are per process. */
        static unsigned devices;
        snprintf(vdev, sizeof(vdev), "net_af_packet%u,iface=%s", devices++,
                 id == 1 ? NETNS_IF_A : NETNS_IF_B);
        o.cfg.dpdk_vdev = vdev;
    }
    return netns_run(veth, id != 1, open_in, &o);
}

/* Nodes 1 and 2: one-shard pinned systems on the run's two cores, joined
 * by `scheme` over loopback or veth (ports chosen again while taken). */
static int two_nodes(const char *scheme, const struct perf_env *env,
                     const struct netns_pair *veth, ts_system **n1, ts_system **n2)
{
    int rc = -EADDRINUSE;
    for (unsigned attempt = 0; rc == -EADDRINUSE && attempt < 20; attempt++) {
        unsigned port = 21000 + (unsigned)((getpid() * 7 + (int)attempt * 131) % 9000);
        if ((rc = open_node(scheme, 1, env->cores[0], port, 2, port + 1, veth, n1)) == 0 &&
            (rc = open_node(scheme, 2, env->cores[1], port + 1, 1, port, veth, n2)) < 0) {
            ts_system_close(*n1);
            *n1 = NULL;
        }
    }
    if (rc < 0)
        fprintf(stderr, "thespis-perf: two nodes: %s\n", ts_last_error());
    return rc;
}

/* Round trips between an actor on node 1 and one on node 2. */
static int pingpong_net(const char *scheme, const struct perf_env *env,
                        const struct netns_pair *veth, struct result *r)
{
    ts_system *n1 = NULL, *n2 = NULL;
    ts_addr a, b;
    int rc = two_nodes(scheme, env, veth, &n1, &n2);
    if (rc == 0)
        rc = ts_system_create(n1, "perf.PingPong", NULL, &a);
    if (rc == 0)
        rc = ts_system_create(n2, "perf.PingPong", NULL, &b);
    if (rc == 0) {
        struct ping p = {.deadline_ns = now_ns() + env->duration_ns, .peer = b};
        ts_msg *reply = NULL;
        uint64_t t0 = now_ns();
        rc = ts_ask(n1, a, T_START, &p, sizeof(p), ASK_LIMIT, &reply);
        r->seconds = (double)(now_ns() - t0) / 1e9;
        if (rc == 0 && reply->type == T_DONE)
            memcpy(&r->msgs, ts_msg_data(reply), sizeof(r->msgs));
        r->msgs *= 2;
        ts_msg_free(reply);
    }
    ts_system_close(n2);
    ts_system_close(n1);
    return rc;
}

/* 64-byte messages from a producer on node 1 to a consumer on node 2. */
static int throughput_net(const char *scheme, const struct perf_env *env,
                          const struct netns_pair *veth, struct result *r)
{
    ts_system *n1 = NULL, *n2 = NULL;
    ts_addr prod, cons;
    int rc = two_nodes(scheme, env, veth, &n1, &n2);
    if (rc == 0)
        rc = ts_system_create(n1, "perf.Producer", NULL, &prod);
    if (rc == 0)
        rc = ts_system_create(n2, "perf.Consumer", NULL, &cons);
    if (rc == 0)
        rc = throughput(n1, prod, cons, 64, env, r);
    ts_system_close(n2);
    ts_system_close(n1);
    return rc;
}

/* The bare blocking-socket round trip (bare_tcp.h), on loopback or veth. */
static int bare_tcp_net(const char *scheme, const struct perf_env *env,
                        const struct netns_pair *veth, struct result *r)
{
    (void)scheme;
    struct bare_result b = {0};
    uint64_t rounds = env->duration_ns / 20000 + 500; /* about 20 us a round trip here */
    int rc = bare_tcp_pingpong(env->cores[0], env->cores[1], rounds, sizeof(struct ping), record,
                               r, &b, veth);
    r->msgs = b.msgs;
    r->seconds = b.seconds;
    return rc;
}

typedef int (*net_fn)(const char *scheme, const struct perf_env *env,
                      const struct netns_pair *veth, struct result *r);

/* Where a scenario's two ends are: on loopback, or in two network
 * namespaces joined by a veth pair, its ends with the kernel's addresses
 * or bare (for dpdk nodes, IPv4 hosts of their own on them). */
enum wire { LOOPBACK, VETH, VETH_BARE };

/* Runs fn over `wire`, a veth pair made for it and removed after. Without
 * two cores, root or `ip`, DPDK in the build (scheme dpdk), or when the
 * pair cannot be made, -ENOTSUP with r->why saying why. */
static int net(net_fn fn, const char *scheme, enum wire wire, const struct perf_env *env,
               struct result *r)
{
    if (env->cores_n < 2)
        return -ENOTSUP;
    int dpdk = scheme && strcmp(scheme, "dpdk") == 0;
    if (dpdk && !transport_find("dpdk"))
        return snprintf(r->why, sizeof(r->why), "this build has no DPDK (meson option dpdk, "
                        "libdpdk-dev)"), -ENOTSUP;
    if (wire == LOOPBACK)
        return fn(scheme, env, NULL, r);
    struct netns_pair pair;
    if (netns_pair_create(&pair, wire == VETH_BARE ? NETNS_BARE : NETNS_KERNEL_IP, r->why,
                          sizeof(r->why)) < 0)
        return -ENOTSUP;
    int rc = fn(scheme, env, &pair, r); /* the transport removes what its EAL made */
    netns_pair_destroy(&pair);
    return rc;
}

/* The scenarios between nodes: fn by scheme, over a wire. */
#define NET_SCENARIO(name, fn, scheme, wire)                                        \
    int name(ts_system *sys, const struct perf_env *env, struct result *r)           \
    {                                                                                \
        (void)sys;                                                                   \
        return net(fn, scheme, wire, env, r);                                        \
    }

NET_SCENARIO(scen_bare_tcp, bare_tcp_net, NULL, LOOPBACK)
NET_SCENARIO(scen_pingpong_tcp, pingpong_net, "tcp", LOOPBACK)
NET_SCENARIO(scen_pingpong_udp, pingpong_net, "udp", LOOPBACK)
NET_SCENARIO(scen_throughput_tcp, throughput_net, "tcp", LOOPBACK)
NET_SCENARIO(scen_throughput_udp, throughput_net, "udp", LOOPBACK)
NET_SCENARIO(scen_bare_tcp_veth, bare_tcp_net, NULL, VETH)
NET_SCENARIO(scen_pingpong_tcp_veth, pingpong_net, "tcp", VETH)
NET_SCENARIO(scen_pingpong_udp_veth, pingpong_net, "udp", VETH)
NET_SCENARIO(scen_throughput_tcp_veth, throughput_net, "tcp", VETH)
NET_SCENARIO(scen_throughput_udp_veth, throughput_net, "udp", VETH)
NET_SCENARIO(scen_pingpong_dpdk_veth, pingpong_net, "dpdk", VETH_BARE)
NET_SCENARIO(scen_throughput_dpdk_veth, throughput_net, "dpdk", VETH_BARE)

int scen_bare_throughput(ts_system *sys, const struct perf_env *env, struct result *r)
{
    (void)sys;
    if (env->cores_n < 2)
        return -ENOTSUP;
    struct bare_result b = {0};
    uint64_t msgs = env->duration_ns / 20 + 100000; /* about 50 M/s here */
    int rc = bare_ring_throughput(env->cores[0], env->cores[1], msgs, 16, 64, &b);
    r->msgs = b.msgs;
    r->seconds = b.seconds;
    return rc;
}

/* ---- kill recovery (multiproc) ------------------------------------------ */

#define KILLS 20

/* Waits until shard `id` of node `name` runs a process that is not `old`. */
static int shard_pid(const char *name, unsigned id, int old, int *pid)
{
    for (uint64_t end = now_ns() + 10ull * 1000000000u; now_ns() < end;) {
        ts_node_status st;
        int rc = ts_node_status_get(name, &st);
        if (rc < 0 && rc != -EAGAIN)
            return rc;
        if (rc == 0 && st.nshards > id && st.shards[id].pid > 0 && st.shards[id].pid != old) {
            *pid = st.shards[id].pid;
            return 0;
        }
        usleep(200);
    }
    return -ETIMEDOUT;
}

/* Time from SIGKILL of shard 1's process to the restarted shard handling
 * the next message: the echo's answer to an ask sent once the old process
 * is gone, KILLS times. The node is a named one, so it is stopped here. */
static int kill_rounds(ts_system *sys, const char *name, const struct perf_env *env,
                       struct result *r)
{
    ts_addr e;
    int rc = create_on(sys, "perf.Echo", 1, env, &e), pid = 0;
    for (unsigned k = 0; rc == 0 && k < KILLS; k++) {
        ts_msg *reply = NULL;
        if ((rc = ts_ask(sys, e, T_PING, &k, sizeof(k), ASK_LIMIT, &reply)) < 0 ||
            (rc = shard_pid(name, 1, pid, &pid)) < 0)
            break;
        ts_msg_free(reply);
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
            return -errno;
        uint64_t t0 = now_ns();
        kill(pid, SIGKILL);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        poll(&pf, 1, 10000); /* gone: the next message cannot reach the old process */
        close(fd);
        rc = ts_ask(sys, e, T_PING, &k, sizeof(k), ASK_LIMIT, &reply);
        perf_sample(r, now_ns() - t0);
        ts_msg_free(reply);
        r->msgs++;
        r->seconds += (double)(now_ns() - t0) / 1e9;
    }
    return rc;
}

int scen_kill_recovery(ts_system *unused, const struct perf_env *env, struct result *r)
{
    (void)unused;
    if (env->cores_n < 2)
        return -ENOTSUP;
    char name[64], cores[32];
    snprintf(name, sizeof(name), "perf-kill.%d", (int)getpid());
    snprintf(cores, sizeof(cores), "%d,%d", env->cores[0], env->cores[1]);
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_MULTIPROC;
    cfg.node_name = name;
    cfg.cores = cores;
    cfg.log.sink = TS_LOG_SINK_FILE; /* not the KILLS restart records on the terminal */
    cfg.log.path = "/dev/null";
    ts_system *sys = NULL;
    int rc = ts_system_open(&cfg, &sys);
    if (rc < 0)
        return rc;
    rc = kill_rounds(sys, name, env, r);
    int stop = ts_system_shutdown(sys);
    ts_system_close(sys);
    return rc < 0 ? rc : stop;
}

int scen_register(void)
{
    const ts_actor_type *types[] = {&pp_type,   &producer_type, &consumer_type,
                                    &idle_type, &spawner_type,  &echo_type, &drv_type};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        int rc = ts_register_actor_type(types[i]);
        if (rc < 0)
            return rc;
    }
    T_START = ts_type_id("perf.Start");
    T_PING = ts_type_id("perf.Ping");
    T_DONE = ts_type_id("perf.Done");
    T_ACK = ts_type_id("perf.Ack");
    T_FINISH = ts_type_id("perf.Finish");
    T_CHECK = ts_type_id("perf.Check");
    T_TICK = ts_type_id("perf.Tick");
    T_DRV_START = ts_type_id("perf.DriverStart");
    return 0;
}

void scen_set_current(struct result *r)
{
    current = r;
}
