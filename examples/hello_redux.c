/* SPDX-License-Identifier: MIT */
/*
 * hello_redux.c — a message that carries its own route.
 *
 * After the "Hello World redux" of Thespian's introduction: the greeting
 * travels with a list of addresses to visit. Hello starts it ("Hello") and
 * sends it to World with the route [Punctuate, asker]; World appends
 * ", World" and passes it to the first address of the route; Punctuate
 * appends "!" and passes it to the next, the asker. No actor knows the whole
 * chain: each reads the next stop from the message.
 *
 * Usage: hello_redux [BASE]     (BASE defaults to "simple")
 * Prints "Hello, World!"; on any failure prints why and exits 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#define MSG_HI "examples.Hi"             /* main -> Hello, any payload */
#define MSG_GREETING "examples.Greeting" /* struct greeting, actor to actor */

#define ASK_TIMEOUT_NS (5ULL * 1000 * 1000 * 1000) /* 5 seconds */
#define ROUTE_MAX 4
#define TEXT_MAX 64

/*
 * The greeting's payload. A payload is bytes, so it holds no pointers: the
 * route is an array of addresses (plain 64-bit values) and the text an
 * array of chars. The same bytes would work across processes and hosts.
 */
struct greeting {
    uint32_t nroute;          /* stops left; route[0] is the next one */
    uint32_t len;             /* bytes of text used */
    ts_addr route[ROUTE_MAX];
    char text[TEXT_MAX];      /* not NUL-terminated */
};

/* Copies a received greeting out of msg, checking its shape first: a
 * payload is only bytes until it has been validated. */
static int greeting_read(const ts_msg *msg, struct greeting *g)
{
    if (msg->len != sizeof *g)
        return -EBADMSG;
    memcpy(g, ts_msg_data(msg), sizeof *g);
    if (g->nroute > ROUTE_MAX || g->len > TEXT_MAX)
        return -EBADMSG;
    return 0;
}

/* Appends text to the greeting and sends it to the next stop of its route.
 * World and Punctuate both do exactly this, with different words. */
static int greeting_pass_on(ts_ctx *ctx, const ts_msg *msg, const char *append)
{
    struct greeting g;
    size_t n = strlen(append);
    ts_addr next;
    int err = greeting_read(msg, &g);

    if (err)
        return err; /* a failure: restart, redeliver once, then Poison */
    if (g.nroute == 0)
        return -EDESTADDRREQ;
    if (n > TEXT_MAX - g.len)
        return -EMSGSIZE;
    memcpy(g.text + g.len, append, n);
    g.len += (uint32_t)n;

    next = g.route[0];
    g.nroute--;
    memmove(g.route, g.route + 1, g.nroute * sizeof g.route[0]);
    return ts_send(ctx, next, ts_type_id(MSG_GREETING), &g, sizeof g);
}

/* ---- World and Punctuate ------------------------------------------------ */

static int world_on_greeting(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    (void)state;
    return greeting_pass_on(ctx, msg, ", World");
}

static int punctuate_on_greeting(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    (void)state;
    return greeting_pass_on(ctx, msg, "!");
}

static const ts_handler_entry world_handlers[] = {
    TS_ON(MSG_GREETING, world_on_greeting),
    TS_HANDLERS_END,
};

static const ts_handler_entry punctuate_handlers[] = {
    TS_ON(MSG_GREETING, punctuate_on_greeting),
    TS_HANDLERS_END,
};

static const ts_actor_type world_type = {
    .name = "examples.World",
    .handlers = world_handlers,
};

static const ts_actor_type punctuate_type = {
    .name = "examples.Punctuate",
    .handlers = punctuate_handlers,
};

/* ---- Hello ------------------------------------------------------------- */

struct hello_state {
    ts_addr world;     /* children, created on the first "hi" */
    ts_addr punctuate;
};

static int hello_on_hi(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    struct hello_state *st = state;
    struct greeting g;
    int err;

    (void)msg;
    if (st->world == TS_ADDR_NONE) {
        err = ts_create(ctx, "examples.World", NULL, &st->world);
        if (err)
            return err;
        err = ts_create(ctx, "examples.Punctuate", NULL, &st->punctuate);
        if (err)
            return err;
    }

    memset(&g, 0, sizeof g);
    g.len = (uint32_t)strlen("Hello");
    memcpy(g.text, "Hello", g.len);
    g.route[0] = st->punctuate;  /* World passes it to Punctuate, */
    g.route[1] = ts_sender(ctx); /* Punctuate to whoever said "hi". */
    g.nroute = 2;
    return ts_send(ctx, st->world, ts_type_id(MSG_GREETING), &g, sizeof g);
}

static const ts_handler_entry hello_handlers[] = {
    TS_ON(MSG_HI, hello_on_hi),
    TS_HANDLERS_END,
};

static const ts_actor_type hello_type = {
    .name = "examples.Hello",
    .state_size = sizeof(struct hello_state),
    .handlers = hello_handlers,
};

/* ---- main -------------------------------------------------------------- */

static void fail(const char *what, int err)
{
    fprintf(stderr, "hello_redux: %s failed (%d): %s\n", what, err, ts_last_error());
}

/* Says "hi" to Hello and prints the greeting that comes back. */
static int greet(ts_system *sys, ts_addr hello)
{
    ts_msg *reply = NULL;
    struct greeting g;
    int err = ts_ask(sys, hello, ts_type_id(MSG_HI), "hi", 2, ASK_TIMEOUT_NS, &reply);

    if (err) {
        fail("ts_ask", err);
        return err;
    }
    if (reply->type != ts_type_id(MSG_GREETING) || greeting_read(reply, &g) != 0) {
        const char *name = ts_sysmsg_name(reply->type);
        fprintf(stderr, "hello_redux: unexpected reply %s (type 0x%016" PRIx64 ")\n",
                name ? name : "(not a system message)", reply->type);
        ts_msg_free(reply);
        return -EBADMSG;
    }
    printf("%.*s\n", (int)g.len, g.text);
    ts_msg_free(reply);
    return 0;
}

int main(int argc, char **argv)
{
    static const ts_actor_type *const types[] = {&hello_type, &world_type,
                                                 &punctuate_type};
    const char *base_name = argc > 1 ? argv[1] : "simple";
    ts_config cfg;
    ts_system *sys = NULL;
    ts_addr hello;
    int err;

    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: %s [BASE]\n"
               "Hello, World and Punctuate build a greeting that carries its route.\n"
               "BASE is the system base: simple (default), pinned, multiproc.\n",
               argv[0]);
        return 0;
    }
    if (argc > 2) {
        fprintf(stderr, "usage: %s [BASE]\n", argv[0]);
        return 2;
    }

    ts_config_init(&cfg);
    if (ts_base_parse(base_name, &cfg.base) != 0) {
        fprintf(stderr, "hello_redux: unknown base '%s' (simple, pinned, multiproc)\n",
                base_name);
        return 2;
    }

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        err = ts_register_actor_type(types[i]);
        if (err) {
            fail("ts_register_actor_type", err);
            return 1;
        }
    }
    if ((err = ts_system_open(&cfg, &sys)) != 0) {
        fail("ts_system_open", err);
        return 1;
    }

    if ((err = ts_system_create(sys, "examples.Hello", NULL, &hello)) != 0) {
        fail("ts_system_create", err);
        goto out;
    }
    if ((err = greet(sys, hello)) != 0)
        goto out;

    /* ExitRequest stops Hello and, before it, World and Punctuate. */
    if ((err = ts_tell(sys, hello, TS_MSG_EXIT_REQUEST, NULL, 0)) != 0) {
        fail("ts_tell", err);
        goto out;
    }
    if ((err = ts_system_shutdown(sys)) != 0)
        fail("ts_system_shutdown", err);
out:
    ts_system_close(sys);
    return err ? 1 : 0;
}
