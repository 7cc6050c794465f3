/* SPDX-License-Identifier: MIT */
/*
 * hellogoodbye.c — an actor that creates another, and a reply that comes
 * from a third party.
 *
 * After Thespian's examples/hellogoodbye.py:
 *
 *     class Hello(Actor):
 *         def receiveMessage(self, message, sender):
 *             if message == 'are you there?':
 *                 world = self.createActor(World)
 *                 self.send(world, (sender, 'Hello,'))
 *
 *     class World(Actor):
 *         def receiveMessage(self, message, sender):
 *             orig_sender, pre_world = message
 *             self.send(orig_sender, pre_world + ' world!')
 *
 * Here Hello also answers "examples.Goodbye" with "Goodbye". main asks Hello
 * twice, prints both answers, tells Hello to exit and shuts the system down.
 *
 * Usage: hellogoodbye [BASE]     (BASE defaults to "simple")
 * Prints "Hello, world!" then "Goodbye"; on any failure prints why, exits 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#define MSG_GREETING "examples.Greeting"  /* main -> Hello: "are you there?" */
#define MSG_GOODBYE "examples.Goodbye"    /* main -> Hello */
#define MSG_WORLD "examples.WorldRequest" /* Hello -> World: {asker, "Hello,"} */
#define MSG_TEXT "examples.Text"          /* any answer: text, no NUL */

#define ASK_TIMEOUT_NS (5ULL * 1000 * 1000 * 1000) /* 5 seconds */
#define TEXT_MAX 64

/* ---- World ------------------------------------------------------------- */

/* The request World gets: the address to answer, then the start of the
 * sentence. Addresses are plain 64-bit values, so they travel in payloads
 * like any other number (host byte order is fine within one host). */
static int world_on_request(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    const char *data = ts_msg_data(msg);
    char text[TEXT_MAX];
    ts_addr asker;
    int n;

    (void)state;
    if (msg->len < sizeof asker)
        return -EBADMSG; /* a failure: restart, redeliver, then Poison */
    memcpy(&asker, data, sizeof asker);
    n = snprintf(text, sizeof text, "%.*s world!", (int)(msg->len - sizeof asker),
                 data + sizeof asker);
    if (n < 0 || (size_t)n >= sizeof text)
        return -EMSGSIZE;
    /* Not ts_reply: the answer goes to the asker, not to Hello. */
    return ts_send(ctx, asker, ts_type_id(MSG_TEXT), text, (size_t)n);
}

static const ts_handler_entry world_handlers[] = {
    TS_ON(MSG_WORLD, world_on_request),
    TS_HANDLERS_END,
};

static const ts_actor_type world_type = {
    .name = "examples.World",
    .handlers = world_handlers,
};

/* ---- Hello ------------------------------------------------------------- */

/* Hello's state: the engine hands every call state_size zeroed bytes. */
struct hello_state {
    ts_addr world; /* TS_ADDR_NONE until the first greeting */
};

static int hello_on_greeting(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    struct hello_state *st = state;
    static const char start[] = "Hello,";
    unsigned char out[sizeof(ts_addr) + sizeof start - 1];
    ts_addr asker = ts_sender(ctx);
    int err;

    (void)msg;
    /* Create World, as a child of Hello, the first time it is needed. The
     * address is usable at once, even before World has started. */
    if (st->world == TS_ADDR_NONE) {
        err = ts_create(ctx, "examples.World", NULL, &st->world);
        if (err)
            return err;
    }
    memcpy(out, &asker, sizeof asker);
    memcpy(out + sizeof asker, start, sizeof start - 1);
    return ts_send(ctx, st->world, ts_type_id(MSG_WORLD), out, sizeof out);
}

static int hello_on_goodbye(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    (void)state;
    (void)msg;
    return ts_reply(ctx, ts_type_id(MSG_TEXT), "Goodbye", strlen("Goodbye"));
}

static const ts_handler_entry hello_handlers[] = {
    TS_ON(MSG_GREETING, hello_on_greeting),
    TS_ON(MSG_GOODBYE, hello_on_goodbye),
    TS_HANDLERS_END,
};

static const ts_actor_type hello_type = {
    .name = "examples.Hello",
    .state_size = sizeof(struct hello_state),
    .handlers = hello_handlers,
};

/* ---- main -------------------------------------------------------------- */

static int fail(const char *what, int err)
{
    fprintf(stderr, "hellogoodbye: %s failed (%d): %s\n", what, err, ts_last_error());
    return err;
}

/* Asks dst, expects a text answer and prints it on a line of its own. */
static int ask_and_print(ts_system *sys, ts_addr dst, const char *type, const char *text)
{
    ts_msg *reply = NULL;
    int err = ts_ask(sys, dst, ts_type_id(type), text, strlen(text), ASK_TIMEOUT_NS,
                     &reply);

    if (err)
        return fail("ts_ask", err);
    if (reply->type != ts_type_id(MSG_TEXT)) {
        /* ts_ask returns whatever arrives first: a Poison, for instance. */
        const char *name = ts_sysmsg_name(reply->type);
        fprintf(stderr, "hellogoodbye: unexpected reply %s (type 0x%016" PRIx64 ")\n",
                name ? name : "(not a system message)", reply->type);
        ts_msg_free(reply);
        return -EBADMSG;
    }
    printf("%.*s\n", (int)reply->len, (const char *)ts_msg_data(reply));
    ts_msg_free(reply);
    return 0;
}

int main(int argc, char **argv)
{
    const char *base_name = argc > 1 ? argv[1] : "simple";
    ts_config cfg;
    ts_system *sys = NULL;
    ts_addr hello;
    int err;

    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: %s [BASE]\n"
               "Hello creates World; World answers the asker; Hello says goodbye.\n"
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
        fprintf(stderr, "hellogoodbye: unknown base '%s' (simple, pinned, multiproc)\n",
                base_name);
        return 2;
    }

    /* Both types are registered before the system opens; Hello creates
     * World by name from inside its handler. */
    err = ts_register_actor_type(&hello_type);
    if (err == 0)
        err = ts_register_actor_type(&world_type);
    if (err) {
        fail("ts_register_actor_type", err);
        return 1;
    }
    if ((err = ts_system_open(&cfg, &sys)) != 0) {
        fail("ts_system_open", err);
        return 1;
    }

    if ((err = ts_system_create(sys, "examples.Hello", NULL, &hello)) != 0) {
        fail("ts_system_create", err);
        goto out;
    }

    /* The first answer comes from World, which Hello created: ts_ask
     * returns the next message to arrive, whoever sent it. */
    if ((err = ask_and_print(sys, hello, MSG_GREETING, "are you there?")) != 0)
        goto out;
    if ((err = ask_and_print(sys, hello, MSG_GOODBYE, "")) != 0)
        goto out;

    /* ExitRequest stops Hello and, before it, its child World. */
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
