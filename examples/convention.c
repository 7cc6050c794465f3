/* SPDX-License-Identifier: MIT */
/*
 * convention.c — "Hello, world!" from another process: a convention of two
 * nodes, where an actor goes to the node that has what it needs.
 *
 * After the convention of Thespian's guide: a leader and a member join up
 * (over loopback here, as two processes), the member says it can greet, and
 * the leader creates a Greeter without saying where:
 *
 *     @requireCapability('greeter')
 *     class Greeter(Actor):
 *         def receiveMessage(self, message, sender):
 *             self.send(sender, 'Hello, world!')
 *
 * The program fork()s before it opens any system. The child is the member
 * (node 2, capability greeter=true); the parent is the leader (node 1, no
 * capabilities). Only the member meets the Greeter's requirement, so the
 * leader's ts_system_create puts it there, and the answer to the leader's
 * ask comes back over TCP from node 2. Both processes share one key, made
 * in a private temporary directory and removed at the end.
 *
 * Usage: convention [--port-base N]     (N defaults to 21500)
 * The leader listens for the convention on 127.0.0.1:N, node 1 takes
 * messages in on N+1 and node 2 on N+2. Prints three lines and exits 0; on
 * any failure prints why and exits 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#define MSG_GREET "examples.Greet" /* leader -> Greeter, any payload */
#define MSG_TEXT "examples.Text"   /* Greeter -> leader: text, no NUL */

#define LEADER_NODE 1
#define MEMBER_NODE 2
#define DEFAULT_PORT_BASE 21500

#define ASK_TIMEOUT_NS (5ULL * 1000 * 1000 * 1000) /* 5 seconds */
#define JOIN_TIMEOUT_MS 10000                       /* 10 seconds */

/* ---- Greeter: runs only on a node with the capability "greeter" --------- */

static int greeter_on_greet(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    static const char text[] = "Hello, world!";

    (void)state;
    (void)msg;
    return ts_reply(ctx, ts_type_id(MSG_TEXT), text, strlen(text));
}

static const ts_handler_entry greeter_handlers[] = {
    TS_ON(MSG_GREET, greeter_on_greet),
    TS_HANDLERS_END,
};

/* requirements is all it takes: wherever it is created from, a Greeter
 * goes to a node whose capabilities say "greeter" (and to none other). */
static const ts_actor_type greeter_type = {
    .name = "examples.Greeter",
    .handlers = greeter_handlers,
    .requirements = "greeter",
};

/* ---- the nodes ----------------------------------------------------------- */

static void fail(const char *who, const char *what, int err)
{
    fprintf(stderr, "convention: %s: %s failed (%d): %s\n", who, what, err, ts_last_error());
}

/* Node `id` of the convention whose leader listens on port_base: a pinned
 * node with one shard, taking messages in on port_base + id. Both nodes
 * need the key; the leader listens, the member joins (and joins again by
 * itself until the leader is there). */
static int node_open(uint16_t id, unsigned port_base, const char *key, const char *caps,
                     ts_system **sys)
{
    /* Static, so that they outlive the system (each process opens one). */
    static char listen[64], convention[64];
    ts_config cfg;

    snprintf(listen, sizeof listen, "tcp://127.0.0.1:%u", port_base + id);
    snprintf(convention, sizeof convention, "127.0.0.1:%u", port_base);
    ts_config_init(&cfg);
    cfg.base = TS_BASE_PINNED;
    cfg.shards = 1;
    cfg.node_id = id;
    cfg.caps = caps;
    cfg.listen = listen;
    cfg.convention = convention;
    cfg.convention_leader = id == LEADER_NODE;
    cfg.key_file = key;
    return ts_system_open(&cfg, sys);
}

/* The child: node 2 runs until the leader closes the pipe (or dies: the
 * kernel closes it then), then leaves the convention and exits. The
 * Greeter the leader creates runs here. */
static int member_run(unsigned port_base, const char *key, int stop_fd)
{
    ts_system *sys = NULL;
    char c;
    ssize_t n;
    int err = node_open(MEMBER_NODE, port_base, key, "greeter=true", &sys);

    if (err) {
        fail("member", "ts_system_open", err);
        return 1;
    }
    do /* nothing is ever written: only EOF (or an error) ends the wait */
        n = read(stop_fd, &c, 1);
    while (n > 0 || (n < 0 && errno == EINTR));
    /* Shutting down stops the Greeter; closing says LEAVE to the leader. */
    if ((err = ts_system_shutdown(sys)) != 0)
        fail("member", "ts_system_shutdown", err);
    ts_system_close(sys);
    return err ? 1 : 0;
}

/* ---- the leader ---------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void pause_1ms(void)
{
    nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
}

/* The member process, and whether it has already been waited for. */
struct member_proc {
    pid_t pid;
    int stop_fd; /* the pipe's write end: closing it stops the member */
    int status;
    int reaped;
};

/* Whether the member has exited (it never should before it is told to). */
static int member_gone(struct member_proc *m)
{
    if (!m->reaped && waitpid(m->pid, &m->status, WNOHANG) == m->pid)
        m->reaped = 1;
    return m->reaped;
}

/* Tells the member to stop and waits for it. 0 when it exited with 0. */
static int member_stop(struct member_proc *m)
{
    if (m->stop_fd >= 0)
        close(m->stop_fd);
    m->stop_fd = -1;
    while (!m->reaped) {
        if (waitpid(m->pid, &m->status, 0) == m->pid)
            m->reaped = 1;
        else if (errno != EINTR)
            return -errno;
    }
    if (WIFEXITED(m->status) && WEXITSTATUS(m->status) == 0)
        return 0;
    fprintf(stderr, "convention: the member (node %d) %s %d\n", MEMBER_NODE,
            WIFEXITED(m->status) ? "exited with status" : "was killed by signal",
            WIFEXITED(m->status) ? WEXITSTATUS(m->status) : WTERMSIG(m->status));
    return -ECHILD;
}

/* Waits (bounded) until the leader's member table lists node `id`, and
 * copies its row to *out. An actor would rather be told: see
 * ts_notify_on_convention and ts.ConventionUpdate. */
static int wait_for_member(ts_system *sys, struct member_proc *proc, uint16_t id,
                           ts_node_member *out)
{
    ts_node_member all[TS_NODE_MAX_MEMBERS];
    int64_t deadline = now_ms() + JOIN_TIMEOUT_MS;

    for (;;) {
        int n = ts_convention_members(sys, all, TS_NODE_MAX_MEMBERS);

        if (n < 0) {
            fail("leader", "ts_convention_members", n);
            return n;
        }
        for (int i = 0; i < n && i < TS_NODE_MAX_MEMBERS; i++) {
            if (all[i].node == id) {
                *out = all[i];
                return 0;
            }
        }
        if (member_gone(proc)) {
            fprintf(stderr, "convention: leader: the member exited before joining\n");
            return -ECHILD;
        }
        if (now_ms() > deadline) {
            fprintf(stderr, "convention: leader: node %u did not join within %d ms\n", id,
                    JOIN_TIMEOUT_MS);
            return -ETIMEDOUT;
        }
        pause_1ms();
    }
}

/* ts_system_create, again while the node placement chose has not leased
 * this one any slot yet (-EAGAIN: the lease is on its way once the nodes'
 * links are up). Bounded like the wait for the member. */
static int create_again(ts_system *sys, const char *type, ts_addr *out)
{
    int64_t deadline = now_ms() + JOIN_TIMEOUT_MS;
    int err;

    while ((err = ts_system_create(sys, type, NULL, out)) == -EAGAIN && now_ms() <= deadline)
        pause_1ms();
    if (err)
        fail("leader", "ts_system_create", err);
    return err;
}

/* Asks the Greeter and prints its answer, with the node it came from. */
static int greet(ts_system *sys, ts_addr greeter)
{
    ts_msg *reply = NULL;
    int err = ts_ask(sys, greeter, ts_type_id(MSG_GREET), "hi", 2, ASK_TIMEOUT_NS, &reply);

    if (err) {
        fail("leader", "ts_ask", err);
        return err;
    }
    if (reply->type == TS_MSG_POISON) {
        /* No node could run it ("nowhere"), or it failed there: the
         * Poison's reason says which. */
        ts_poison p;
        if (ts_poison_decode(reply, &p) == 0)
            fprintf(stderr, "convention: leader: the Greeter did not answer: %.*s\n",
                    (int)p.reason_text_len, p.reason_text);
        ts_msg_free(reply);
        return -EBADMSG;
    }
    if (reply->type != ts_type_id(MSG_TEXT)) {
        /* ts_ask returns whatever arrives first, whoever sends it. */
        const char *name = ts_sysmsg_name(reply->type);
        fprintf(stderr, "convention: leader: unexpected reply %s (type 0x%016" PRIx64 ")\n",
                name ? name : "(not a system message)", reply->type);
        ts_msg_free(reply);
        return -EBADMSG;
    }
    /* The sender's address says where it runs: its node is a field of it. */
    printf("%.*s (from node %u)\n", (int)reply->len, (const char *)ts_msg_data(reply),
           ts_addr_node(reply->src));
    ts_msg_free(reply);
    return 0;
}

/* The parent: node 1 waits for node 2, creates a Greeter (it lands on node
 * 2, the only one that meets its requirements) and asks it. */
static int leader_run(unsigned port_base, const char *key, struct member_proc *proc)
{
    ts_system *sys = NULL;
    ts_node_member member;
    ts_addr greeter;
    int stop_err;
    int err = node_open(LEADER_NODE, port_base, key, NULL, &sys);

    if (err) {
        fail("leader", "ts_system_open", err);
        goto out;
    }
    if ((err = wait_for_member(sys, proc, MEMBER_NODE, &member)) != 0)
        goto out;
    printf("member %s joined with %s\n", member.name, member.caps);

    if ((err = create_again(sys, "examples.Greeter", &greeter)) != 0)
        goto out;
    printf("Greeter placed on node %u\n", ts_addr_node(greeter));
    err = greet(sys, greeter);
out:
    /* The member goes first (after a failure too), while its leader is
     * there to hear it leave; its shutdown stops the Greeter. */
    stop_err = member_stop(proc);
    if (!err)
        err = stop_err;
    if (!err && (err = ts_system_shutdown(sys)) != 0)
        fail("leader", "ts_system_shutdown", err);
    ts_system_close(sys);
    return err;
}

/* ---- main ---------------------------------------------------------------- */

static int usage(FILE *out, const char *prog)
{
    fprintf(out, "usage: %s [--port-base N]\n"
                 "A leader and a member process on 127.0.0.1: the leader creates a Greeter\n"
                 "that only the member can run, and prints its answer.\n"
                 "N (default %d): the convention's port; the nodes use N+1 and N+2.\n",
            prog, DEFAULT_PORT_BASE);
    return out == stdout ? 0 : 2;
}

/* Parses the port base: a number with room for N+2 below 65536. */
static int parse_port_base(const char *text, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v == 0 || v > 65533)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned port_base = DEFAULT_PORT_BASE;
    const char *tmpdir = getenv("TMPDIR");
    char dir[256], key[300];
    struct member_proc proc = {.stop_fd = -1};
    int fds[2];
    int err, rc;

    if (argc == 2 && strcmp(argv[1], "--help") == 0)
        return usage(stdout, argv[0]);
    if (argc == 3 && strcmp(argv[1], "--port-base") == 0) {
        if (parse_port_base(argv[2], &port_base) != 0) {
            fprintf(stderr, "convention: bad port base '%s' (1 to 65533)\n", argv[2]);
            return 2;
        }
    } else if (argc != 1) {
        return usage(stderr, argv[0]);
    }

    /* 1. The convention's key, in a directory only this user can read. */
    snprintf(dir, sizeof dir, "%s/thespis-convention-XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "convention: mkdtemp %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(key, sizeof key, "%s/convention.key", dir);
    if ((err = ts_convention_keygen(key)) != 0) {
        fail("main", "ts_convention_keygen", err);
        rmdir(dir);
        return 1;
    }

    /* 2. Both processes know the Greeter: registered once, before fork. */
    if ((err = ts_register_actor_type(&greeter_type)) != 0) {
        fail("main", "ts_register_actor_type", err);
        goto out;
    }

    /* 3. fork before any system is open: a system's threads do not survive
     *    a fork. The child is the member; the pipe is its stop signal. */
    if (pipe(fds) != 0) {
        err = -errno;
        fprintf(stderr, "convention: pipe: %s\n", strerror(errno));
        goto out;
    }
    fflush(stdout);
    proc.pid = fork();
    if (proc.pid < 0) {
        err = -errno;
        fprintf(stderr, "convention: fork: %s\n", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        goto out;
    }
    if (proc.pid == 0) {
        close(fds[1]);
        rc = member_run(port_base, key, fds[0]);
        close(fds[0]);
        return rc; /* the parent removes the key */
    }
    close(fds[0]);
    proc.stop_fd = fds[1];

    /* 4. The parent leads, and stops the member when it is done. */
    err = leader_run(port_base, key, &proc);
out:
    unlink(key);
    rmdir(dir);
    return err ? 1 : 0;
}
