/* SPDX-License-Identifier: MIT */
/*
 * hello.c — the smallest thespis program: one actor that answers a greeting.
 *
 * Thespian's first example, in C:
 *
 *     class Hello(Actor):
 *         def receiveMessage(self, message, sender):
 *             self.send(sender, 'Hello, world!')
 *
 *     hello = ActorSystem().createActor(Hello)
 *     print(ActorSystem().ask(hello, 'hi', 1))
 *
 * Usage: hello [BASE]     (BASE defaults to "simple")
 * Prints "Hello, world!" and exits 0; on any failure prints why and exits 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

/* Message types are named by strings; their ids are ts_type_id(name). */
#define MSG_GREETING "examples.Greeting"
#define MSG_REPLY "examples.Reply"

#define ASK_TIMEOUT_NS (5ULL * 1000 * 1000 * 1000) /* 5 seconds */

/* The handler for a greeting: reply to whoever sent it. Payloads are bytes;
 * this one is the text without a terminating NUL. */
static int hello_on_greeting(ts_ctx *ctx, void *state, const ts_msg *msg)
{
    static const char text[] = "Hello, world!";

    (void)state; /* Hello keeps no state */
    (void)msg;   /* any greeting gets the same answer */
    return ts_reply(ctx, ts_type_id(MSG_REPLY), text, strlen(text));
}

/* The handler table plays the part of Thespian's ActorTypeDispatcher:
 * one row per message type the actor understands. */
static const ts_handler_entry hello_handlers[] = {
    TS_ON(MSG_GREETING, hello_on_greeting),
    TS_HANDLERS_END,
};

/* The actor type: a name to create it by, and its handlers. */
static const ts_actor_type hello_type = {
    .name = "examples.Hello",
    .handlers = hello_handlers,
};

static int usage(FILE *out, const char *prog)
{
    fprintf(out, "usage: %s [BASE]\n"
                 "Asks a Hello actor for a greeting and prints the reply.\n"
                 "BASE is the system base: simple (default), pinned, multiproc.\n",
            prog);
    return out == stdout ? 0 : 2;
}

/* Prints what failed, with the engine's description of why. */
static int fail(const char *what, int err)
{
    fprintf(stderr, "hello: %s failed (%d): %s\n", what, err, ts_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *base_name = argc > 1 ? argv[1] : "simple";
    ts_config cfg;
    ts_system *sys = NULL;
    ts_addr hello;
    ts_msg *reply = NULL;
    int err;

    if (argc > 1 && strcmp(argv[1], "--help") == 0)
        return usage(stdout, argv[0]);
    if (argc > 2)
        return usage(stderr, argv[0]);

    /* 1. Configure: the defaults, then the base named on the command line. */
    ts_config_init(&cfg);
    if (ts_base_parse(base_name, &cfg.base) != 0) {
        fprintf(stderr, "hello: unknown base '%s' (simple, pinned, multiproc)\n",
                base_name);
        return 2;
    }

    /* 2. Register the actor type, then open the system. */
    err = ts_register_actor_type(&hello_type);
    if (err)
        return fail("ts_register_actor_type", err);
    err = ts_system_open(&cfg, &sys);
    if (err)
        return fail("ts_system_open", err);

    /* 3. Create the actor from outside any actor; its address comes back at
     *    once. */
    err = ts_system_create(sys, "examples.Hello", NULL, &hello);
    if (err) {
        fail("ts_system_create", err);
        goto out;
    }

    /* 4. Ask: send a greeting and wait for the next message that comes back.
     *    On the simple base the actor runs inside this call. */
    err = ts_ask(sys, hello, ts_type_id(MSG_GREETING), "hi", 2, ASK_TIMEOUT_NS, &reply);
    if (err) {
        fail("ts_ask", err);
        goto out;
    }
    if (reply->type != ts_type_id(MSG_REPLY)) {
        /* ts_ask returns whatever arrives first: a Poison, for instance. */
        const char *name = ts_sysmsg_name(reply->type);
        fprintf(stderr, "hello: unexpected reply %s (type 0x%016" PRIx64 ")\n",
                name ? name : "(not a system message)", reply->type);
        ts_msg_free(reply);
        err = -EBADMSG;
        goto out;
    }
    printf("%.*s\n", (int)reply->len, (const char *)ts_msg_data(reply));
    ts_msg_free(reply); /* a message from ts_ask belongs to the caller */

    /* 5. Shut down: every actor gets an ExitRequest and exits. */
    err = ts_system_shutdown(sys);
    if (err)
        fail("ts_system_shutdown", err);
out:
    ts_system_close(sys); /* frees the system; NULL would be fine too */
    return err ? 1 : 0;
}
