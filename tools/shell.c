/* SPDX-License-Identifier: MIT */
/*
 * shell.c — `thespis shell` (Thespian's shell): drives a running node by
 * hand. It attaches to a named node (or joins a convention as a small node
 * of its own), then reads commands: create actors, tell and ask them, keep
 * their addresses in an address book, read statuses, load code images.
 * The command language is shell_parse.c's; this file reads lines and runs
 * what they say.
 *
 * On a terminal, lines are read with libedit: editing, a history kept in
 * $THESPIS_HISTORY or ~/.thespis_history, completion of command names,
 * book names and types. Otherwise lines are read as they come, with no
 * prompt, so a here-document drives it; a command that fails is reported on
 * stderr with its line number, the next one runs, and the exit status is 1
 * when any did (0 when all went well).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef TS_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include <thespis/image.h>
#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "cli.h"
#include "shell.h"
#include "shell_parse.h"

#define NS_PER_S UINT64_C(1000000000)
#define HISTORY_LINES 1000
#define SHOW_TEXT_MAX 4096 /* payload bytes printed as text ... */
#define SHOW_HEX_MAX 256   /* ... or as hex */
#define MAX_MEMBERS TS_NODE_MAX_MEMBERS
#define MAX_IMAGES 256

const char shell_usage[] =
    "usage: thespis shell [--name N] [--timeout S]\n"
    "       thespis shell --convention HOST:PORT --key-file PATH [--node-id N]\n"
    "                     [--listen URL] [--timeout S]\n"
    "Drives a running node by hand: create actors (thespis.Echo is on every\n"
    "node), tell and ask them, keep their addresses in an address book ($1, $2,\n"
    "names), read the node's or an actor's status, load code images. 'help'\n"
    "inside lists the commands.\n"
    "\n"
    "  --name N           attach to the running node N (default 'default')\n"
    "  --convention HOST:PORT  instead, join the convention whose leader is there\n"
    "                     as a small node of the shell's own (pinned, one shard),\n"
    "                     to reach every member\n"
    "  --key-file PATH    the convention's shared key (needed with --convention)\n"
    "  --node-id N        the shell's node id in the convention (default 61440 +\n"
    "                     the process id modulo 4096); it must be the only one\n"
    "  --listen URL       where members' replies reach the shell's node\n"
    "                     (tcp://HOST:PORT); without it, tell works but replies\n"
    "                     from other members cannot come back\n"
    "  --timeout S        how long ask and status wait for an answer, and the\n"
    "                     join for the leader, 1 to 86400 seconds (default 30)\n"
    "  -h, --help         print this help\n"
    "\n"
    "On a terminal, lines are edited with libedit, with a history in\n"
    "$THESPIS_HISTORY (default ~/.thespis_history) and Tab completing commands,\n"
    "book names and types. Otherwise commands are read from stdin with no\n"
    "prompt, one per line:\n"
    "  thespis shell --name n1 <<'EOF'\n"
    "  create thespis.Echo as e\n"
    "  ask e app.Ping hello\n"
    "  EOF\n"
    "\n"
    "Exit status: 0 done; 1 the node could not be reached, or (commands read\n"
    "from a file or pipe) a command failed: each failure is reported on\n"
    "stderr with its line number and the next command still runs; 2 bad\n"
    "arguments.\n";

const struct option shell_options[] = {
    {"name", required_argument, NULL, CLI_OPT_NAME},
    {"convention", required_argument, NULL, CLI_OPT_CONVENTION},
    {"key-file", required_argument, NULL, CLI_OPT_KEY_FILE},
    {"node-id", required_argument, NULL, CLI_OPT_NODE_ID},
    {"listen", required_argument, NULL, CLI_OPT_LISTEN},
    {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},
    {"help", no_argument, NULL, CLI_OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* ------------------------------------------------------------------------ */
/* The shell's state                                                         */
/* ------------------------------------------------------------------------ */

struct book_name {
    char name[SHELL_BOOK_NAME_MAX + 1];
    size_t index; /* 1.. */
};

struct type_name {
    uint64_t id;
    char *name;
};

struct asker;

struct shell {
    ts_system *sys;
    const char *node;     /* the named node attached to; NULL: a convention member */
    uint16_t node_id;
    uint64_t timeout_ns;
    bool interactive;
    unsigned long lineno;
    unsigned failed;      /* commands that failed */
    ts_addr *book;        /* $1 is book[0] */
    size_t nbook, capbook;
    struct book_name *names;
    size_t nnames, capnames;
    struct type_name *types; /* message type names used, for printing them */
    size_t ntypes, captypes;
    char history[4096];   /* the history file; "" none */
    struct asker *asker;  /* the thread that asks (ask_apart) */
    struct shell_command cmd;
};

/* A failed command: one line on stderr; counted. */
static void report(struct shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct shell *sh, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    if (sh->interactive)
        fputs("error: ", stderr);
    else
        fprintf(stderr, "thespis: shell: line %lu: ", sh->lineno);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    sh->failed++;
}

/* arr (n used of *cap elements of size bytes) with room for one more: arr
 * itself, or a larger copy; NULL when out of memory (reported; arr is
 * left as it was). */
static void *grow(struct shell *sh, void *arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? 2 * *cap : 16;
    void *p = realloc(arr, ncap * size);
    if (!p) {
        report(sh, "out of memory");
        return NULL;
    }
    *cap = ncap;
    return p;
}

/* ------------------------------------------------------------------------ */
/* The address book                                                          */
/* ------------------------------------------------------------------------ */

/* addr's index in the book (1..), or 0. */
static size_t book_find(const struct shell *sh, ts_addr addr)
{
    for (size_t i = 0; i < sh->nbook; i++)
        if (sh->book[i] == addr)
            return i + 1;
    return 0;
}

/* addr's index, added when new; 0 when out of memory (reported). */
static size_t book_add(struct shell *sh, ts_addr addr)
{
    size_t i = book_find(sh, addr);
    if (i)
        return i;
    ts_addr *book = grow(sh, sh->book, &sh->capbook, sh->nbook, sizeof(*book));
    if (!book)
        return 0;
    sh->book = book;
    sh->book[sh->nbook++] = addr;
    return sh->nbook;
}

static struct book_name *name_find(struct shell *sh, const char *name)
{
    for (size_t i = 0; i < sh->nnames; i++)
        if (strcmp(sh->names[i].name, name) == 0)
            return &sh->names[i];
    return NULL;
}

/* Names entry index name (taking the name from another entry). 0 or
 * -ENOMEM (reported). */
static int book_name(struct shell *sh, size_t index, const char *name)
{
    struct book_name *n = name_find(sh, name);
    if (!n) {
        struct book_name *names = grow(sh, sh->names, &sh->capnames, sh->nnames,
                                       sizeof(*names));
        if (!names)
            return -ENOMEM;
        sh->names = names;
        n = &sh->names[sh->nnames++];
        snprintf(n->name, sizeof(n->name), "%s", name);
    }
    n->index = index;
    return 0;
}

/* "$1 e f" for addr, or "" when it is not in the book. */
static const char *book_refs(const struct shell *sh, ts_addr addr, char *buf, size_t len)
{
    size_t i = book_find(sh, addr);
    size_t used = 0;

    buf[0] = '\0';
    if (!i)
        return buf;
    int n = snprintf(buf, len, "$%zu", i);
    used = n > 0 && (size_t)n < len ? (size_t)n : len - 1;
    for (size_t k = 0; k < sh->nnames && used + 1 < len; k++) {
        if (sh->names[k].index != i)
            continue;
        n = snprintf(buf + used, len - used, " %s", sh->names[k].name);
        used = n > 0 && (size_t)n < len - used ? used + (size_t)n : len - 1;
    }
    return buf;
}

/* "$1 = 0.0.1.1 (e, f)" */
static void print_entry(const struct shell *sh, size_t index)
{
    char a[32];
    bool first = true;

    printf("$%zu = %s", index, ts_addr_format(sh->book[index - 1], a, sizeof(a)));
    for (size_t k = 0; k < sh->nnames; k++) {
        if (sh->names[k].index != index)
            continue;
        printf("%s%s", first ? " (" : ", ", sh->names[k].name);
        first = false;
    }
    puts(first ? "" : ")");
}

/* An address as the messages show it: "0.0.1.1 ($1 e)" or "0.0.1.1". */
static const char *show_addr(const struct shell *sh, ts_addr addr, char *buf, size_t len)
{
    char a[32], refs[128];

    ts_addr_format(addr, a, sizeof(a));
    book_refs(sh, addr, refs, sizeof(refs));
    snprintf(buf, len, "%s%s%s%s", a, refs[0] ? " (" : "", refs, refs[0] ? ")" : "");
    return buf;
}

/* ADDR as written into an address: 0, or -ENOENT reported. */
static int resolve(struct shell *sh, const struct shell_ref *r, ts_addr *out)
{
    switch (r->kind) {
    case SHELL_REF_INDEX:
        if (r->index > sh->nbook) {
            report(sh, "%s: no $%u in the address book (it has %zu; 'addrs' lists them)",
                   sh->cmd.name, r->index, sh->nbook);
            return -ENOENT;
        }
        *out = sh->book[r->index - 1];
        return 0;
    case SHELL_REF_NAME: {
        const struct book_name *n = name_find(sh, r->name);
        if (!n) {
            report(sh, "%s: no '%s' in the address book ('addrs' lists it)", sh->cmd.name,
                   r->name);
            return -ENOENT;
        }
        *out = sh->book[n->index - 1];
        return 0;
    }
    default:
        *out = r->addr;
        return 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Message types and messages                                                */
/* ------------------------------------------------------------------------ */

/* The id of a type name, remembered so that messages of it print by name.
 * 0, or an error reported (a name that collides with another one). */
static int type_use(struct shell *sh, const char *name, uint64_t *id)
{
    if (ts_register_msg_type(name, id) != 0) {
        report(sh, "%s: %s", sh->cmd.name, ts_last_error());
        return -EEXIST;
    }
    for (size_t i = 0; i < sh->ntypes; i++)
        if (sh->types[i].id == *id)
            return 0;
    char *copy = strdup(name);
    struct type_name *types = copy ? grow(sh, sh->types, &sh->captypes, sh->ntypes,
                                          sizeof(*types))
                                   : NULL;
    if (!types) {
        free(copy);
        return 0; /* only the name is lost */
    }
    sh->types = types;
    sh->types[sh->ntypes++] = (struct type_name){*id, copy};
    return 0;
}

static const char *type_label(const struct shell *sh, uint64_t id, char *buf, size_t len)
{
    const char *n = ts_sysmsg_name(id);
    if (n)
        return n;
    for (size_t i = 0; i < sh->ntypes; i++)
        if (sh->types[i].id == id)
            return sh->types[i].name;
    snprintf(buf, len, "type %016" PRIx64, id);
    return buf;
}

/* ", 5 bytes: hello" or ", 3 bytes (hex): 00ff01", then the newline. Text
 * shows a newline as \n, a tab as \t and a backslash as \\ (as the shell
 * reads them). */
static void print_payload(const void *data, size_t len)
{
    const unsigned char *p = data;

    printf(", %zu byte%s", len, len == 1 ? "" : "s");
    if (len && shell_payload_is_text(p, len)) {
        size_t n = p[len - 1] == '\0' ? len - 1 : len;
        fputs(": ", stdout);
        for (size_t i = 0; i < n && i < SHOW_TEXT_MAX; i++) {
            if (p[i] == '\n')
                fputs("\\n", stdout);
            else if (p[i] == '\t')
                fputs("\\t", stdout);
            else if (p[i] == '\\')
                fputs("\\\\", stdout);
            else
                putchar(p[i]);
        }
        if (n > SHOW_TEXT_MAX)
            printf(" ... (%zu bytes more)", n - SHOW_TEXT_MAX);
    } else if (len) {
        fputs(" (hex): ", stdout);
        for (size_t i = 0; i < len && i < SHOW_HEX_MAX; i++)
            printf("%02x", p[i]);
        if (len > SHOW_HEX_MAX)
            printf(" ... (%zu bytes more)", len - SHOW_HEX_MAX);
    }
    putchar('\n');
}

/* "reply app.Ping from 0.0.1.1 ($1 e), 5 bytes: hello"; a Poison also
 * says why. */
static void print_msg(const struct shell *sh, const char *what, const ts_msg *m)
{
    char t[40], from[200];

    printf("%s %s from %s", what, type_label(sh, m->type, t, sizeof(t)),
           show_addr(sh, m->src, from, sizeof(from)));
    print_payload(ts_msg_data(m), m->len);
    ts_poison p;
    if (m->type == TS_MSG_POISON && ts_poison_decode(m, &p) == 0) {
        char to[200];
        printf("  poison: %s (%d); the message was %s to %s\n",
               p.reason_text_len ? p.reason_text : strerror(-p.reason), p.reason,
               type_label(sh, p.original_type, t, sizeof(t)),
               show_addr(sh, p.original_dst, to, sizeof(to)));
    }
}

/* Prints what came to the shell since the last command (replies to tells,
 * late replies to asks). */
static void drain(struct shell *sh)
{
    ts_msg *m;

    while (ts_listen(sh->sys, 1, &m) == 0) {
        print_msg(sh, "message", m);
        ts_msg_free(m);
    }
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

static void do_help(const struct shell_command *c)
{
    if (c->topic) {
        const struct shell_cmd_info *i = shell_command_find(c->topic);
        printf("%s\n%s", i->synopsis, i->help);
        if (i->alias)
            printf("Also: %s.\n", i->alias);
        return;
    }
    puts("Commands (ADDR: $N, a name from the book, or an address node.shard.slot.gen):");
    for (unsigned k = 0; shell_command_info(k); k++) {
        const struct shell_cmd_info *i = shell_command_info(k);
        printf("  %-56s %s\n", i->synopsis, i->summary);
    }
    puts("Words with blanks are quoted: \"hello world\" or 'hello world'. Escapes: \\n \\t\n"
         "\\xHH \\\\ \\\" \\'. A node's own address is NODE.0.16777215.0 (status NODE.0.16777215.0:\n"
         "that node's status). 'help COMMAND' says more.");
}

static int do_create(struct shell *sh, const struct shell_command *c)
{
    ts_image_id image;
    ts_create_opts opts = {.arg = c->payload, .arg_len = c->payload_len,
                           .global_name = c->global};
    ts_addr addr;

    if (c->image) {
        if (ts_image_id_parse(c->image, &image) != 0) {
            report(sh, "create: %s", ts_last_error());
            return -EINVAL;
        }
        opts.image = &image;
    }
    if (ts_system_create(sh->sys, c->type, &opts, &addr) != 0) {
        report(sh, "create: %s", ts_last_error());
        return -1;
    }
    size_t i = book_add(sh, addr);
    if (!i || (c->as_name && book_name(sh, i, c->as_name)))
        return -ENOMEM;
    print_entry(sh, i);
    return 0;
}

static void do_addrs(const struct shell *sh)
{
    if (!sh->nbook)
        puts("the address book is empty ('create' adds to it)");
    for (size_t i = 1; i <= sh->nbook; i++)
        print_entry(sh, i);
}

static int do_name(struct shell *sh, const struct shell_command *c)
{
    ts_addr addr;

    if (resolve(sh, &c->ref, &addr))
        return -ENOENT;
    size_t i = book_add(sh, addr);
    if (!i || book_name(sh, i, c->as_name))
        return -ENOMEM;
    print_entry(sh, i);
    return 0;
}

static int do_tell(struct shell *sh, const struct shell_command *c)
{
    ts_addr addr;
    uint64_t type;
    char to[200];

    if (resolve(sh, &c->ref, &addr) || type_use(sh, c->type, &type))
        return -EINVAL;
    if (ts_tell(sh->sys, addr, type, c->payload, c->payload_len) != 0) {
        report(sh, "tell: %s", ts_last_error());
        return -1;
    }
    printf("sent %s to %s", c->type, show_addr(sh, addr, to, sizeof(to)));
    print_payload(c->payload, c->payload_len);
    return 0;
}

static double seconds(uint64_t ns)
{
    return (double)ns / 1e9;
}

/* Asks are made from a thread of the shell's own, the asker: it has a
 * mailbox of its own, so an ask's answer is never the echo of an earlier
 * tell (those come to the main thread's mailbox, printed by drain). Before
 * each ask it takes what came to it since the last one: late answers to
 * asks that gave up, printed as such. One thread for the shell's life, not
 * one per ask: a mailbox is made once and never handed on. */
#define LATE_MAX 16

struct ask_job {
    ts_addr to;
    uint64_t type;
    const void *payload;
    size_t len;
    uint64_t timeout_ns;
    ts_msg *reply;
    int rc;
    char error[512];         /* ts_last_error is the thread's own */
    ts_msg *late[LATE_MAX];  /* came before the ask was made */
    unsigned nlate;
    unsigned late_dropped;   /* more than LATE_MAX of them */
};

struct asker {
    ts_system *sys;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct ask_job *job;     /* posted, until done */
    bool done, stop;
};

static void ask_run(ts_system *sys, struct ask_job *j)
{
    ts_msg *m;

    while (ts_listen(sys, 1, &m) == 0) {
        if (j->nlate < LATE_MAX) {
            j->late[j->nlate++] = m;
        } else {
            j->late_dropped++;
            ts_msg_free(m);
        }
    }
    j->rc = ts_ask(sys, j->to, j->type, j->payload, j->len, j->timeout_ns, &j->reply);
    if (j->rc)
        snprintf(j->error, sizeof(j->error), "%s", ts_last_error());
}

static void *asker_main(void *arg)
{
    struct asker *a = arg;

    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->stop && (!a->job || a->done))
            pthread_cond_wait(&a->cond, &a->lock);
        if (a->stop)
            break;
        struct ask_job *j = a->job;
        pthread_mutex_unlock(&a->lock);
        ask_run(a->sys, j);
        pthread_mutex_lock(&a->lock);
        a->done = true;
        pthread_cond_broadcast(&a->cond);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

static int asker_start(struct asker *a, ts_system *sys)
{
    a->sys = sys;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    int rc = pthread_create(&a->thread, NULL, asker_main, a);
    if (rc) {
        pthread_cond_destroy(&a->cond);
        pthread_mutex_destroy(&a->lock);
        a->sys = NULL;
    }
    return -rc;
}

static void asker_stop(struct asker *a)
{
    if (!a->sys)
        return;
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    a->sys = NULL;
}

/* Runs j on the asker and waits for it; prints what came late. */
static int ask_apart(struct shell *sh, struct ask_job *j)
{
    struct asker *a = sh->asker;

    pthread_mutex_lock(&a->lock);
    a->job = j;
    a->done = false;
    pthread_cond_broadcast(&a->cond);
    while (!a->done)
        pthread_cond_wait(&a->cond, &a->lock);
    a->job = NULL;
    pthread_mutex_unlock(&a->lock);
    for (unsigned i = 0; i < j->nlate; i++) {
        print_msg(sh, "late reply", j->late[i]);
        ts_msg_free(j->late[i]);
    }
    if (j->late_dropped)
        printf("... and %u late replies more\n", j->late_dropped);
    return j->rc;
}

static int do_ask(struct shell *sh, const struct shell_command *c)
{
    ts_addr addr;
    uint64_t type, timeout = c->timeout_ns ? c->timeout_ns : sh->timeout_ns;

    if (resolve(sh, &c->ref, &addr) || type_use(sh, c->type, &type))
        return -EINVAL;
    struct ask_job j = {.to = addr, .type = type, .payload = c->payload,
                        .len = c->payload_len, .timeout_ns = timeout};
    int rc = ask_apart(sh, &j);
    if (rc == -ETIMEDOUT) {
        report(sh, "ask: no reply within %g s", seconds(timeout));
        return rc;
    }
    if (rc) {
        report(sh, "ask: %s", j.error);
        return rc;
    }
    print_msg(sh, "reply", j.reply);
    ts_msg_free(j.reply);
    return 0;
}

/* ---- status --------------------------------------------------------------- */

static void print_actor_status(const struct shell *sh, const ts_status *s)
{
    const ts_actor_status *a = &s->actor;
    char b[200], img[TS_IMAGE_ID_TEXT];

    printf("actor %s: %s, %s\n", show_addr(sh, a->addr, b, sizeof(b)), a->type_name,
           a->state == TS_ACTOR_LIVE ? "live" : a->state == TS_ACTOR_EXITING ? "exiting" : "?");
    printf("  parent %s", a->parent ? show_addr(sh, a->parent, b, sizeof(b)) : "none");
    if (a->global_name_len)
        printf(", global name %s", a->global_name);
    if (!ts_image_id_is_zero(&a->image))
        printf(", image %s", ts_image_id_format(&a->image, img, sizeof(img)));
    putchar('\n');
    printf("  mailbox %" PRIu64 ", handled %" PRIu64 ", restarts %" PRIu64 ", timers %" PRIu32
           ", children %" PRIu32 "\n",
           a->mailbox, a->handled, a->restarts, a->timers, a->children_total);
    for (uint32_t i = 0; i < a->nchildren; i++)
        printf("  child %s\n", show_addr(sh, ts_status_child_at(s, i), b, sizeof(b)));
    if (a->children_total > a->nchildren)
        printf("  ... and %" PRIu32 " children more\n", a->children_total - a->nchildren);
}

static void print_node_status(const ts_status *s)
{
    const ts_status_node *n = &s->node;

    printf("node %u%s%.*s%s: base %s, pid %d, %" PRIu32 " shard%s, %" PRIu64 " actor%s, %" PRIu64
           " dead letter%s, caps %s\n",
           n->node_id, n->name_len ? " '" : "", (int)n->name_len, n->name,
           n->name_len ? "'" : "", ts_base_name(n->base), n->pid, n->nshards,
           n->nshards == 1 ? "" : "s", n->actors, n->actors == 1 ? "" : "s", n->dead_letters,
           n->dead_letters == 1 ? "" : "s", n->caps_len ? n->caps : "none");
    printf("%5s %5s %8s %7s %8s %8s %10s %10s %8s %8s %6s %6s %7s\n", "shard", "core", "pid",
           "actors", "created", "exited", "handled", "sent", "restarts", "poisoned", "dead",
           "timers", "pending");
    for (uint32_t i = 0; i < n->nshards; i++) {
        ts_status_shard sh;
        if (ts_status_shard_at(s, i, &sh) != 0)
            break;
        printf("%5" PRIu32 " %5d %8d %7" PRIu64 " %8" PRIu64 " %8" PRIu64 " %10" PRIu64
               " %10" PRIu64 " %8" PRIu64 " %8" PRIu64 " %6" PRIu64 " %6" PRIu64 " %7" PRIu64
               "\n",
               sh.id, sh.core, sh.pid, sh.actors, sh.created, sh.exited, sh.handled, sh.sent,
               sh.restarts, sh.poisoned, sh.dead_letters, sh.timers, sh.pending);
    }
    if (!n->nlinks)
        return;
    printf("%5s %5s %3s %10s %10s %12s %12s %8s %8s %8s\n", "shard", "peer", "up", "frames_in",
           "frames_out", "bytes_in", "bytes_out", "resent", "reconn", "queued");
    for (uint32_t i = 0; i < n->nlinks; i++) {
        ts_status_link l;
        if (ts_status_link_at(s, i, &l) != 0)
            break;
        printf("%5" PRIu32 " %5u %3s %10" PRIu64 " %10" PRIu64 " %12" PRIu64 " %12" PRIu64
               " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
               l.shard, l.node, l.up ? "yes" : "no", l.frames_in, l.frames_out, l.bytes_in,
               l.bytes_out, l.retransmits, l.reconnects, l.queued_bytes);
    }
}

static int print_status_json(struct shell *sh, const ts_msg *m)
{
    int n = ts_status_json(m, NULL, 0);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;

    if (n >= 0 && buf && ts_status_json(m, buf, (size_t)n + 1) >= 0) {
        puts(buf);
        free(buf);
        return 0;
    }
    free(buf);
    report(sh, "status: %s", n < 0 ? ts_last_error() : "out of memory");
    return -1;
}

static int do_status(struct shell *sh, const struct shell_command *c)
{
    ts_addr to = ts_node_addr(sh->node_id);
    ts_status s;
    char t[40];

    if (c->has_ref && resolve(sh, &c->ref, &to))
        return -ENOENT;
    struct ask_job j = {.to = to, .type = TS_MSG_STATUS_REQUEST, .timeout_ns = sh->timeout_ns};
    int rc = ask_apart(sh, &j);
    if (rc == -ETIMEDOUT) {
        report(sh, "status: no answer within %g s%s", seconds(sh->timeout_ns),
               c->has_ref ? " (is the actor still there?)" : "");
        return rc;
    }
    if (rc) {
        report(sh, "status: %s", j.error);
        return rc;
    }
    ts_msg *m = j.reply;
    if (m->type != TS_MSG_STATUS) {
        print_msg(sh, "message", m);
        report(sh, "status: the answer was %s, not ts.Status",
               type_label(sh, m->type, t, sizeof(t)));
        ts_msg_free(m);
        return -EBADMSG;
    }
    rc = 0;
    if (c->json) {
        rc = print_status_json(sh, m);
    } else if (ts_status_decode(m, &s) != 0) {
        report(sh, "status: %s", ts_last_error());
        rc = -EBADMSG;
    } else if (s.kind == TS_STATUS_ACTOR) {
        print_actor_status(sh, &s);
    } else {
        print_node_status(&s);
    }
    ts_msg_free(m);
    return rc;
}

/* ---- caps and members ----------------------------------------------------- */

/* The node's capabilities into buf: from its status when it is a named
 * node, else from its own entry in the convention's table. */
static int read_caps(struct shell *sh, char *buf, size_t len)
{
    if (sh->node) {
        ts_node_status *st = malloc(sizeof(*st));
        int rc = st ? ts_node_status_get(sh->node, st) : -ENOMEM;
        if (rc == 0)
            snprintf(buf, len, "%.*s", (int)strnlen(st->caps, sizeof(st->caps)), st->caps);
        else
            report(sh, "caps: %s", st ? ts_last_error() : "out of memory");
        free(st);
        return rc;
    }
    ts_node_member *m = calloc(MAX_MEMBERS, sizeof(*m));
    int n = m ? ts_convention_members(sh->sys, m, MAX_MEMBERS) : -ENOMEM;
    int rc = -ENOENT;
    for (int i = 0; i < n && i < MAX_MEMBERS; i++)
        if (m[i].self) {
            snprintf(buf, len, "%.*s", (int)strnlen(m[i].caps, sizeof(m[i].caps)), m[i].caps);
            rc = 0;
        }
    if (rc)
        report(sh, "caps: %s", n < 0 ? ts_last_error() : "the node is not in its own table");
    free(m);
    return rc;
}

static int do_caps(struct shell *sh, const struct shell_command *c)
{
    char caps[1024];

    for (unsigned i = 0; i < c->ncaps; i++) {
        const char *v = c->caps == SHELL_CAPS_SET ? c->cap_values[i] : NULL;
        if (ts_update_capability(sh->sys, c->cap_keys[i], v) != 0) {
            report(sh, "caps: %s: %s", c->cap_keys[i], ts_last_error());
            return -1;
        }
    }
    if (read_caps(sh, caps, sizeof(caps)))
        return -1;
    printf("caps: %s\n", caps[0] ? caps : "none");
    return 0;
}

static int do_members(struct shell *sh)
{
    ts_node_member *m = calloc(MAX_MEMBERS, sizeof(*m));
    int n = m ? ts_convention_members(sh->sys, m, MAX_MEMBERS) : -ENOMEM;

    if (n == -ENOTCONN) {
        printf("no members: node %s%s%s is in no convention\n", sh->node ? "'" : "",
               sh->node ? sh->node : "", sh->node ? "'" : "");
        free(m);
        return 0;
    }
    if (n < 0) {
        report(sh, "members: %s", m ? ts_last_error() : "out of memory");
        free(m);
        return n;
    }
    printf("%5s %-16s %-11s %8s  %-28s %s\n", "node", "name", "role", "heard", "endpoints",
           "caps");
    for (int i = 0; i < n && i < MAX_MEMBERS; i++) {
        const ts_node_member *e = &m[i];
        char heard[24];
        if (e->heard_ms_ago < 0)
            snprintf(heard, sizeof(heard), "-");
        else
            snprintf(heard, sizeof(heard), "%" PRId64 "ms", e->heard_ms_ago);
        printf("%5u %-16.*s %-11s %8s  %-28.*s %.*s\n", e->node,
               (int)strnlen(e->name, sizeof(e->name)), e->name,
               e->self ? (e->leader ? "self,leader" : "self") : e->leader ? "leader" : "member",
               heard, (int)strnlen(e->endpoints, sizeof(e->endpoints)),
               e->endpoints[0] ? e->endpoints : "-", (int)strnlen(e->caps, sizeof(e->caps)),
               e->caps);
    }
    free(m);
    return 0;
}

/* ---- images --------------------------------------------------------------- */

/* The node's images: their count, the list in *out (the caller frees it). */
static int list_images(struct shell *sh, ts_image_info **out)
{
    *out = calloc(MAX_IMAGES, sizeof(**out));
    int n = *out ? ts_images(sh->sys, *out, MAX_IMAGES) : -ENOMEM;
    if (n < 0)
        report(sh, "%s: %s", sh->cmd.name, *out ? ts_last_error() : "out of memory");
    return n;
}

static void print_image(const ts_image_info *i)
{
    char id[TS_IMAGE_ID_TEXT];

    printf("%s %10" PRIu64 " bytes %-8s %" PRIu32 " type%s%s%.*s\n",
           ts_image_id_format(&i->id, id, sizeof(id)), i->size,
           i->loaded ? "loaded" : "unloaded", i->ntypes, i->ntypes == 1 ? "" : "s",
           i->ntypes ? ": " : "", (int)strnlen(i->types, sizeof(i->types)), i->types);
}

static int do_load(struct shell *sh, const struct shell_command *c)
{
    ts_image_id id;
    ts_image_info *all;
    char text[TS_IMAGE_ID_TEXT];

    if (ts_load_image_file(sh->sys, c->path, &id) != 0) {
        report(sh, "load: %s", ts_last_error());
        return -1;
    }
    printf("loaded %s\n", ts_image_id_format(&id, text, sizeof(text)));
    int n = list_images(sh, &all);
    for (int i = 0; i < n && i < MAX_IMAGES; i++)
        if (memcmp(all[i].id.b, id.b, sizeof(id.b)) == 0)
            print_image(&all[i]);
    free(all);
    return n < 0 ? n : 0;
}

static int do_unload(struct shell *sh, const struct shell_command *c)
{
    ts_image_id id;

    if (ts_image_id_parse(c->image, &id) != 0 || ts_unload_image(sh->sys, &id) != 0) {
        report(sh, "unload: %s", ts_last_error());
        return -1;
    }
    printf("unloaded %s\n", c->image);
    return 0;
}

static int do_images(struct shell *sh)
{
    ts_image_info *all;
    int n = list_images(sh, &all);

    if (n == 0)
        puts("no images ('load PATH' loads one)");
    for (int i = 0; i < n && i < MAX_IMAGES; i++)
        print_image(&all[i]);
    if (n > MAX_IMAGES)
        printf("... and %d more\n", n - MAX_IMAGES);
    free(all);
    return n < 0 ? n : 0;
}

/* Runs one line. Returns true when the shell is to end. */
static bool run_line(struct shell *sh, const char *line, size_t len)
{
    struct shell_command *c = &sh->cmd;

    if (shell_parse(line, len, c) != 0) {
        report(sh, "%s", c->error);
        return false;
    }
    if (c->cmd == SHELL_CMD_NONE)
        return false;
    drain(sh);
    switch (c->cmd) {
    case SHELL_CMD_HELP: do_help(c); break;
    case SHELL_CMD_QUIT: return true;
    case SHELL_CMD_CREATE: do_create(sh, c); break;
    case SHELL_CMD_TELL: do_tell(sh, c); break;
    case SHELL_CMD_ASK: do_ask(sh, c); break;
    case SHELL_CMD_ADDRS: do_addrs(sh); break;
    case SHELL_CMD_NAME: do_name(sh, c); break;
    case SHELL_CMD_STATUS: do_status(sh, c); break;
    case SHELL_CMD_CAPS: do_caps(sh, c); break;
    case SHELL_CMD_MEMBERS: do_members(sh); break;
    case SHELL_CMD_LOAD: do_load(sh, c); break;
    case SHELL_CMD_UNLOAD: do_unload(sh, c); break;
    case SHELL_CMD_IMAGES: do_images(sh); break;
    default: break;
    }
    fflush(stdout);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Reading lines                                                             */
/* ------------------------------------------------------------------------ */

/* Commands from a file or a pipe: no prompt, no editing. */
static void run_script(struct shell *sh)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        sh->lineno++;
        if (run_line(sh, line, (size_t)n))
            break;
    }
    free(line);
}

#ifdef TS_HAVE_LIBEDIT

static struct shell *completing; /* the shell whose book completion reads */

static char *complete_command(const char *text, int state)
{
    static unsigned iter;
    if (!state)
        iter = 0;
    const char *n = shell_command_complete(text, strlen(text), &iter);
    return n ? strdup(n) : NULL;
}

/* Book names, then $1, $2, ... */
static char *complete_ref(const char *text, int state)
{
    static size_t iter;
    size_t len = strlen(text);
    if (!state)
        iter = 0;
    while (iter < completing->nnames + completing->nbook) {
        size_t k = iter++;
        char buf[32];
        if (k < completing->nnames)
            snprintf(buf, sizeof(buf), "%s", completing->names[k].name);
        else
            snprintf(buf, sizeof(buf), "$%zu", k - completing->nnames + 1);
        if (strncmp(buf, text, len) == 0)
            return strdup(buf);
    }
    return NULL;
}

/* Actor types for create: the bundled one. */
static char *complete_actor_type(const char *text, int state)
{
    return !state && strncmp(TS_ECHO_TYPE, text, strlen(text)) == 0 ? strdup(TS_ECHO_TYPE)
                                                                      : NULL;
}

/* Message types the shell has used. */
static char *complete_msg_type(const char *text, int state)
{
    static size_t iter;
    size_t len = strlen(text);
    if (!state)
        iter = 0;
    while (iter < completing->ntypes) {
        const char *n = completing->types[iter++].name;
        if (strncmp(n, text, len) == 0)
            return strdup(n);
    }
    return NULL;
}

/* Which word of the line starts at start (0: the command), and the
 * command's table entry (NULL: unknown). Quotes are not looked into. */
static unsigned word_at(const char *line, int start, const struct shell_cmd_info **cmd)
{
    unsigned n = 0;
    char first[32] = "";
    int i = 0;

    while (i < start) {
        while (i < start && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i >= start)
            break;
        int w = i;
        while (i < start && line[i] != ' ' && line[i] != '\t')
            i++;
        if (n == 0)
            snprintf(first, sizeof(first), "%.*s", i - w, line + w);
        n++;
    }
    *cmd = shell_command_find(first);
    return n;
}

static char **complete(const char *text, int start, int end)
{
    const struct shell_cmd_info *c;
    unsigned w = word_at(rl_line_buffer, start, &c);

    (void)end;
    rl_attempted_completion_over = 1;
    if (w == 0)
        return rl_completion_matches(text, complete_command);
    if (!c)
        return NULL;
    switch (c->cmd) {
    case SHELL_CMD_HELP:
        return w == 1 ? rl_completion_matches(text, complete_command) : NULL;
    case SHELL_CMD_CREATE:
        return w == 1 ? rl_completion_matches(text, complete_actor_type) : NULL;
    case SHELL_CMD_TELL:
    case SHELL_CMD_ASK:
        if (w == 2)
            return rl_completion_matches(text, complete_msg_type);
        return w == 1 ? rl_completion_matches(text, complete_ref) : NULL;
    case SHELL_CMD_STATUS:
    case SHELL_CMD_NAME:
        return w == 1 ? rl_completion_matches(text, complete_ref) : NULL;
    case SHELL_CMD_LOAD:
        rl_attempted_completion_over = 0; /* file names */
        return NULL;
    default:
        return NULL;
    }
}

/* The history file: $THESPIS_HISTORY, else ~/.thespis_history; "" none. */
static void history_path(struct shell *sh)
{
    const char *env = getenv("THESPIS_HISTORY");
    const char *home = getenv("HOME");

    sh->history[0] = '\0';
    if (env)
        snprintf(sh->history, sizeof(sh->history), "%s", env);
    else if (home && *home)
        snprintf(sh->history, sizeof(sh->history), "%s/.thespis_history", home);
}

/* Ctrl-C at the prompt drops the line being typed (readline then gives
 * NULL with interrupted set), not the shell. The handler also writes a byte
 * to a pipe that the reader below waits on with the terminal, so a Ctrl-C
 * that comes while libedit is busy, not reading, is not missed. During an
 * ask it is ignored: the ask ends at its timeout. */
static volatile sig_atomic_t interrupted;
static int sigpipe_fd[2] = {-1, -1};

static void on_sigint(int sig)
{
    int saved = errno;
    char b = 1;

    (void)sig;
    interrupted = 1;
    if (sigpipe_fd[1] >= 0 && write(sigpipe_fd[1], &b, 1) < 0) {
        /* full: a Ctrl-C is pending already */
    }
    errno = saved;
}

static void sigpipe_drain(void)
{
    char buf[64];

    while (sigpipe_fd[0] >= 0 && read(sigpipe_fd[0], buf, sizeof(buf)) > 0) {
    }
}

/* libedit's reads, one byte at a time: a Ctrl-C ends the line as an end of
 * input would, where libedit's own reader would read on. */
static int shell_getc(FILE *in)
{
    unsigned char c;
    struct pollfd p[2] = {{.fd = fileno(in), .events = POLLIN},
                          {.fd = sigpipe_fd[0], .events = POLLIN}};

    for (;;) {
        if (interrupted)
            return EOF;
        if (poll(p, sigpipe_fd[0] >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            return EOF;
        }
        if (p[1].revents)
            return EOF; /* interrupted is set */
        ssize_t n = read(p[0].fd, &c, 1);
        if (n == 1)
            return c;
        if (n < 0 && errno == EINTR)
            continue;
        return EOF;
    }
}

/* Commands from a terminal, with libedit. A history file that cannot be
 * read or written is left alone, silently. */
static void run_terminal(struct shell *sh, const char *prompt)
{
    char *line;
    struct sigaction sa;

    if (pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK) != 0)
        sigpipe_fd[0] = sigpipe_fd[1] = -1; /* Ctrl-C is then seen in a read only */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint; /* no SA_RESTART: the read at the prompt ends */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    setlocale(LC_CTYPE, "");
    completing = sh;
    rl_readline_name = "thespis";
    rl_attempted_completion_function = complete;
    rl_getc_function = shell_getc;
    using_history();
    stifle_history(HISTORY_LINES);
    history_path(sh);
    if (sh->history[0])
        read_history(sh->history);
    for (;;) {
        interrupted = 0;
        sigpipe_drain(); /* a Ctrl-C during the last command is forgotten */
        line = readline(prompt);
        if (!line && interrupted) {
            putchar('\n');
            continue;
        }
        if (!line)
            break;
        sh->lineno++;
        if (line[strspn(line, " \t")]) {
            add_history(line);
            if (sh->history[0])
                write_history(sh->history);
        }
        bool quit = run_line(sh, line, strlen(line));
        free(line);
        if (quit)
            break;
    }
    if (!line)
        putchar('\n'); /* end of input (Ctrl-D) leaves the prompt's line */
    signal(SIGINT, SIG_DFL);
    for (int i = 0; i < 2; i++)
        if (sigpipe_fd[i] >= 0)
            close(sigpipe_fd[i]);
    sigpipe_fd[0] = sigpipe_fd[1] = -1;
}

#else /* no libedit: a plain prompt */

static void run_terminal(struct shell *sh, const char *prompt)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    for (;;) {
        fputs(prompt, stdout);
        fflush(stdout);
        if ((n = getline(&line, &cap, stdin)) < 0)
            break;
        sh->lineno++;
        if (run_line(sh, line, (size_t)n))
            break;
    }
    if (n < 0)
        putchar('\n');
    free(line);
}

#endif

/* ------------------------------------------------------------------------ */
/* Reaching the node                                                         */
/* ------------------------------------------------------------------------ */

/* Attaches to the running node a->cfg.node_name; it must be running (the
 * shell never starts one). 0 or an exit status. */
static int open_named(const char *cmd, const struct cli_args *a, struct shell *sh)
{
    int rc = cli_attach(cmd, a->cfg.node_name, &sh->sys, &sh->node_id);
    if (rc == CLI_EXIT_OK)
        sh->node = a->cfg.node_name;
    return rc;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Joins the convention as a pinned node of one shard, and waits until the
 * leader has it in the table. 0 or an exit status. */
static int open_member(const char *cmd, const struct cli_args *a, struct shell *sh)
{
    ts_config cfg = a->cfg;

    cfg.node_name = NULL;
    cfg.base = TS_BASE_PINNED;
    cfg.shards = 1;
    cfg.caps = NULL;
    if (cfg.node_id == 0)
        cfg.node_id = (uint16_t)(61440u + (unsigned)getpid() % 4096u);
    if (ts_system_open(&cfg, &sh->sys) != 0)
        return cli_fail(cmd, "cannot join the convention at %s: %s", cfg.convention,
                        ts_last_error());
    sh->node_id = cfg.node_id;
    uint64_t deadline = now_ns() + a->timeout_ns;
    struct timespec tick = {0, 10 * 1000 * 1000};
    while (ts_convention_members(sh->sys, NULL, 0) < 2) {
        if (now_ns() >= deadline) {
            ts_system_close(sh->sys);
            sh->sys = NULL;
            return cli_fail(cmd, "node %u did not join the convention at %s within %" PRIu64
                            " s (is its leader there, is the key its key, is node id %u "
                            "free?)", cfg.node_id, cfg.convention, a->timeout_ns / NS_PER_S,
                            cfg.node_id);
        }
        nanosleep(&tick, NULL);
    }
    if (!cfg.listen)
        fprintf(stderr, "thespis: %s: no --listen: replies from other members cannot reach "
                "node %u\n", cmd, cfg.node_id);
    return 0;
}

static void shell_free(struct shell *sh)
{
    for (size_t i = 0; i < sh->ntypes; i++)
        free(sh->types[i].name);
    free(sh->types);
    free(sh->names);
    free(sh->book);
}

int cmd_shell(const struct cli_cmd *cmd, const struct cli_args *a)
{
    struct shell *sh;
    char prompt[96];
    int rc;

    if (a->cfg.convention && strcmp(a->cfg.node_name, CLI_DEFAULT_NAME) != 0)
        return cli_usage_error(cmd->name, "--name and --convention exclude each other (the "
                               "shell attaches to a named node or joins a convention)");
    if (!a->cfg.convention && (a->cfg.node_id || a->cfg.listen))
        return cli_usage_error(cmd->name, "%s needs --convention HOST:PORT",
                               a->cfg.listen ? "--listen" : "--node-id");
    sh = calloc(1, sizeof(*sh));
    if (!sh)
        return cli_fail(cmd->name, "out of memory");
    sh->timeout_ns = a->timeout_ns;
    sh->interactive = isatty(STDIN_FILENO);
    rc = a->cfg.convention ? open_member(cmd->name, a, sh) : open_named(cmd->name, a, sh);
    if (rc) {
        free(sh);
        return rc;
    }
    sh->asker = calloc(1, sizeof(*sh->asker));
    if (!sh->asker || (rc = asker_start(sh->asker, sh->sys)) != 0) {
        rc = cli_fail(cmd->name, "cannot start the thread that asks: %s",
                      sh->asker ? strerror(-rc) : "out of memory");
        ts_system_close(sh->sys);
        free(sh->asker);
        free(sh);
        return rc;
    }
    if (sh->node)
        snprintf(prompt, sizeof(prompt), "thespis %s> ", sh->node);
    else
        snprintf(prompt, sizeof(prompt), "thespis node%u> ", sh->node_id);
    if (sh->interactive) {
        printf("thespis shell on %s%s%s (node %u); 'help' lists the commands, 'quit' leaves\n",
               sh->node ? "node '" : "a convention at ", sh->node ? sh->node : a->cfg.convention,
               sh->node ? "'" : "", sh->node_id);
        run_terminal(sh, prompt);
    } else {
        run_script(sh);
    }
    drain(sh);
    fflush(stdout);
    asker_stop(sh->asker);
    free(sh->asker);
    ts_system_close(sh->sys); /* a named node only detaches: it keeps running */
    rc = !sh->interactive && sh->failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    shell_free(sh);
    free(sh);
    return rc;
}
