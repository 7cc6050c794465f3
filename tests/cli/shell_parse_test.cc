// SPDX-License-Identifier: MIT
//
// shell_parse_test.cc — the command language of `thespis shell`
// (tools/shell_parse.c), built in: words, quotes and escapes, every
// command's arguments, the errors, completion and what reads as text.
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/thespis.h>

extern "C" {
#include "shell_parse.h"
}

namespace {

// A struct shell_command is large: one per test, on the heap.
struct Parsed {
    std::unique_ptr<shell_command> c{new shell_command()};
    int rc = 0;
};

Parsed Parse(const std::string &line)
{
    Parsed p;
    p.rc = shell_parse(line.data(), line.size(), p.c.get());
    return p;
}

std::vector<std::string> Words(const std::string &line, int *rc = nullptr)
{
    auto c = std::make_unique<shell_command>();
    int r = shell_tokenize(line.data(), line.size(), c.get());
    if (rc)
        *rc = r;
    std::vector<std::string> out;
    if (r == 0)
        for (unsigned i = 0; i < c->nwords; i++)
            out.emplace_back(c->words[i].s, c->words[i].len);
    return out;
}

std::string TokenizeError(const std::string &line)
{
    auto c = std::make_unique<shell_command>();
    int rc = shell_tokenize(line.data(), line.size(), c.get());
    return rc ? c->error : "(no error)";
}

using W = std::vector<std::string>;

TEST(ShellTokenize, SplitsOnBlanks)
{
    EXPECT_EQ(Words("ask e app.Ping hello"), (W{"ask", "e", "app.Ping", "hello"}));
    EXPECT_EQ(Words("  ask\t\te  app.Ping\v\fx  "), (W{"ask", "e", "app.Ping", "x"}));
    EXPECT_EQ(Words("addrs\n"), (W{"addrs"}));
    EXPECT_EQ(Words("addrs\r\n"), (W{"addrs"}));
    EXPECT_EQ(Words(""), W{});
    EXPECT_EQ(Words("   \t "), W{});
}

TEST(ShellTokenize, CommentsStartAWord)
{
    EXPECT_EQ(Words("# a comment"), W{});
    EXPECT_EQ(Words("  #x y z"), W{});
    EXPECT_EQ(Words("tell e t a#b # rest"), (W{"tell", "e", "t", "a#b"}));
    EXPECT_EQ(Words("tell e t \"#x\" \\#y"), (W{"tell", "e", "t", "#x", "#y"}));
}

TEST(ShellTokenize, QuotesJoinAndKeepBlanks)
{
    EXPECT_EQ(Words("tell e t \"hello world\""), (W{"tell", "e", "t", "hello world"}));
    EXPECT_EQ(Words("a\"b c\"d"), (W{"ab cd"}));
    EXPECT_EQ(Words("'it is' 'a \"b\"'"), (W{"it is", "a \"b\""}));
    EXPECT_EQ(Words("'no \\n escapes'"), (W{"no \\n escapes"}));
    EXPECT_EQ(Words("\"\" x ''"), (W{"", "x", ""}));
    EXPECT_EQ(Words("\"a\"'b'c"), (W{"abc"}));
}

TEST(ShellTokenize, Escapes)
{
    EXPECT_EQ(Words("a\\ b"), (W{"a b"}));
    EXPECT_EQ(Words("\"\\\"q\\\" \\\\ \\n\\t\\r\""), (W{"\"q\" \\ \n\t\r"}));
    EXPECT_EQ(Words("\\x41\\x62\\xfF"), (W{"Ab\xff"}));
    EXPECT_EQ(Words("\\'\\\""), (W{"'\""}));
    // NUL bytes: in the word, counted in its length, and it stays terminated.
    auto c = std::make_unique<shell_command>();
    std::string line = "x a\\0b \\x00";
    ASSERT_EQ(shell_tokenize(line.data(), line.size(), c.get()), 0);
    ASSERT_EQ(c->nwords, 3u);
    EXPECT_EQ(std::string(c->words[1].s, c->words[1].len), std::string("a\0b", 3));
    EXPECT_EQ(c->words[1].s[3], '\0');
    EXPECT_EQ(c->words[2].len, 1u);
    EXPECT_TRUE(c->words[1].quoted);
    EXPECT_FALSE(c->words[0].quoted);
}

TEST(ShellTokenize, Errors)
{
    int rc = 0;
    Words("tell e t \"open", &rc);
    EXPECT_EQ(rc, -EINVAL);
    EXPECT_EQ(TokenizeError("tell e t \"open"), "column 10: unterminated double quote");
    EXPECT_EQ(TokenizeError("x 'open"), "column 3: unterminated single quote");
    EXPECT_EQ(TokenizeError("x \"a\\\""), "column 3: unterminated double quote");
    EXPECT_NE(TokenizeError("x \\q").find("column 3: unknown escape '\\q'"), std::string::npos)
        << TokenizeError("x \\q");
    EXPECT_NE(TokenizeError("x \\x4").find("\\x needs two hex digits"), std::string::npos);
    EXPECT_NE(TokenizeError("x \\xg1").find("\\x needs two hex digits"), std::string::npos);
    EXPECT_NE(TokenizeError("x \\").find("'\\' at the end of the line"), std::string::npos);
    EXPECT_EQ(TokenizeError(std::string("ab\0c", 4)), "column 3: a NUL byte (write it as \\0)");

    std::string longest(SHELL_LINE_MAX, 'a');
    Words(longest, &rc);
    EXPECT_EQ(rc, 0);
    Words(longest + "\n", &rc);
    EXPECT_EQ(rc, 0);
    Words(longest + "a", &rc);
    EXPECT_EQ(rc, -E2BIG);
    EXPECT_NE(TokenizeError(longest + "a").find("line too long"), std::string::npos);

    std::string many;
    for (int i = 0; i < SHELL_WORDS_MAX; i++)
        many += "w ";
    EXPECT_EQ(Words(many).size(), static_cast<size_t>(SHELL_WORDS_MAX));
    Words(many + "w", &rc);
    EXPECT_EQ(rc, -E2BIG);
    // The most words, each decoded with its NUL, fit the buffer.
    std::string empties;
    for (int i = 0; i < SHELL_WORDS_MAX; i++)
        empties += "\"\" ";
    EXPECT_EQ(Words(empties).size(), static_cast<size_t>(SHELL_WORDS_MAX));
}

TEST(ShellParse, BlankAndCommentLinesDoNothing)
{
    for (const char *line : {"", "   ", "# note", "\n"}) {
        Parsed p = Parse(line);
        EXPECT_EQ(p.rc, 0) << line;
        EXPECT_EQ(p.c->cmd, SHELL_CMD_NONE) << line;
    }
}

TEST(ShellParse, UnknownCommands)
{
    Parsed p = Parse("frob x");
    EXPECT_EQ(p.rc, -EINVAL);
    EXPECT_STREQ(p.c->error, "unknown command 'frob' ('help' lists them)");
    EXPECT_EQ(p.c->cmd, SHELL_CMD_NONE);
    p = Parse("cre thespis.Echo");
    EXPECT_STREQ(p.c->error, "unknown command 'cre' (did you mean 'create'? 'help' lists them)");
    p = Parse("\"\"");
    EXPECT_STREQ(p.c->error, "unknown command '' ('help' lists them)");
}

TEST(ShellParse, Create)
{
    Parsed p = Parse("create thespis.Echo");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->cmd, SHELL_CMD_CREATE);
    EXPECT_STREQ(p.c->type, "thespis.Echo");
    EXPECT_FALSE(p.c->has_payload);
    EXPECT_EQ(p.c->as_name, nullptr);

    p = Parse("create app.W \"some arg\" as w1 --global g --image "
              "00112233445566778899AABBCCDDEEFF");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_STREQ(p.c->type, "app.W");
    ASSERT_TRUE(p.c->has_payload);
    EXPECT_EQ(std::string(p.c->payload, p.c->payload_len), "some arg");
    EXPECT_STREQ(p.c->as_name, "w1");
    EXPECT_STREQ(p.c->global, "g");
    EXPECT_STREQ(p.c->image, "00112233445566778899AABBCCDDEEFF");

    // Options anywhere after TYPE; a quoted keyword or option is a word.
    p = Parse("create --global g app.W as w");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_STREQ(p.c->type, "app.W");
    p = Parse("create app.W \"as\"");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(std::string(p.c->payload, p.c->payload_len), "as");
    EXPECT_EQ(p.c->as_name, nullptr);
    p = Parse("create app.W '--image'");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(std::string(p.c->payload, p.c->payload_len), "--image");
    p = Parse("create app.W \"\"");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_TRUE(p.c->has_payload);
    EXPECT_EQ(p.c->payload_len, 0u);

    struct {
        const char *line, *error;
    } bad[] = {
        {"create", "create: missing TYPE (usage: create TYPE [ARG] [as NAME] [--image ID] "
                   "[--global NAME])"},
        {"create a b c", "create: unexpected 'c' (usage: create TYPE [ARG] [as NAME] "
                         "[--image ID] [--global NAME]; quote text with blanks in it)"},
        {"create a as", "create: 'as' needs a NAME"},
        {"create a as 1x", "create: bad name '1x' (1 to 31 of A-Z a-z 0-9 _ . -, starting "
                           "with a letter or _)"},
        {"create a as $1", "create: bad name '$1' (1 to 31 of A-Z a-z 0-9 _ . -, starting "
                           "with a letter or _)"},
        {"create a --image", "create: '--image' needs an image id"},
        {"create a --image 12", "create: bad image id '12' (32 hex digits, as load and images "
                                "print it)"},
        {"create a --image 00112233445566778899aabbccddeefg",
         "create: bad image id '00112233445566778899aabbccddeefg' (32 hex digits, as load and "
         "images print it)"},
        {"create a --global \"\"", "create: bad --global name (1 to 255 characters, no NUL)"},
        {"create a --gloabl g", "create: unknown option '--gloabl' (--image ID, --global NAME; "
                                "quote a word that starts with --)"},
        {"create \"\"", "create: TYPE must be a name, not empty"},
        {"create a\\0b", "create: TYPE must be a name, not text with NUL bytes"},
    };
    for (auto &b : bad) {
        p = Parse(b.line);
        EXPECT_EQ(p.rc, -EINVAL) << b.line;
        EXPECT_STREQ(p.c->error, b.error) << b.line;
        EXPECT_EQ(p.c->cmd, SHELL_CMD_NONE) << b.line;
        EXPECT_EQ(p.c->type, nullptr) << b.line;
    }
    // "as" before TYPE is the type's name.
    p = Parse("create as");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_STREQ(p.c->type, "as");
}

TEST(ShellParse, AddressesInEveryForm)
{
    Parsed p = Parse("tell $12 app.T");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->ref.kind, SHELL_REF_INDEX);
    EXPECT_EQ(p.c->ref.index, 12u);
    EXPECT_FALSE(p.c->has_payload);

    p = Parse("tell echo_1.x app.T");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->ref.kind, SHELL_REF_NAME);
    EXPECT_STREQ(p.c->ref.name, "echo_1.x");

    p = Parse("tell 3.1.42.7 app.T");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->ref.kind, SHELL_REF_ADDR);
    EXPECT_EQ(p.c->ref.addr, ts_addr_make(3, 1, 42, 7));

    struct {
        const char *line, *error;
    } bad[] = {
        {"tell $0 t", "bad book reference '$0' ($1, $2, ... as create and addrs print them)"},
        {"tell $x t", "bad book reference '$x' ($1, $2, ... as create and addrs print them)"},
        {"tell $ t", "bad book reference '$' ($1, $2, ... as create and addrs print them)"},
        {"tell $12345678 t",
         "bad book reference '$12345678' ($1, $2, ... as create and addrs print them)"},
        {"tell 1.2.3 t", "bad address '1.2.3' (node.shard.slot.gen, as create prints it)"},
        {"tell 0.256.0.1 t", "bad address '0.256.0.1' (node.shard.slot.gen, as create prints it)"},
        {"tell a/b t", "bad address 'a/b' ($N, a name from the book, or node.shard.slot.gen)"},
        {"tell \"\" t", "bad address '' ($N, a name from the book, or node.shard.slot.gen)"},
        {"tell", "tell: missing ADDR (usage: tell ADDR TYPE [TEXT])"},
        {"tell e", "tell: missing TYPE (usage: tell ADDR TYPE [TEXT])"},
        {"tell e t hello world", "tell: unexpected 'world' (usage: tell ADDR TYPE [TEXT]; "
                                 "quote text with blanks in it)"},
        {"tell e t x --timeout 1", "tell: unknown option '--timeout' (tell takes none; quote a "
                                   "word that starts with --)"},
    };
    for (auto &b : bad) {
        p = Parse(b.line);
        EXPECT_EQ(p.rc, -EINVAL) << b.line;
        EXPECT_STREQ(p.c->error, b.error) << b.line;
    }
}

TEST(ShellParse, TellAndAskPayloads)
{
    Parsed p = Parse("tell e app.Ping \"hello world\"");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->cmd, SHELL_CMD_TELL);
    EXPECT_STREQ(p.c->type, "app.Ping");
    EXPECT_EQ(std::string(p.c->payload, p.c->payload_len), "hello world");

    p = Parse("ask e app.Bin \\x00\\x01\\xff");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->cmd, SHELL_CMD_ASK);
    EXPECT_EQ(std::string(p.c->payload, p.c->payload_len), std::string("\0\1\xff", 3));
    EXPECT_EQ(p.c->timeout_ns, 0u);

    p = Parse("ask e app.Ping --timeout 0.25 hi");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->timeout_ns, UINT64_C(250000000));
    EXPECT_EQ(std::string(p.c->payload, p.c->payload_len), "hi");
    p = Parse("ask e app.Ping --timeout 86400");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->timeout_ns, UINT64_C(86400000000000));
    p = Parse("ask e app.Ping --timeout 0.000000001");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->timeout_ns, 1u);

    for (const char *t : {"0", "0.0", "-1", "1e3", ".5", "5.", "86400.5", "86401", "1234567",
                          "0.0000000001", "abc", "\"\""}) {
        p = Parse(std::string("ask e app.Ping --timeout ") + t);
        EXPECT_EQ(p.rc, -EINVAL) << t;
        EXPECT_NE(std::string(p.c->error).find("ask: bad --timeout"), std::string::npos)
            << t << ": " << p.c->error;
    }
    p = Parse("ask e app.Ping --timeout");
    EXPECT_STREQ(p.c->error, "ask: '--timeout' needs seconds");
}

TEST(ShellParse, BookStatusAndTheRest)
{
    Parsed p = Parse("name $1 echo");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->cmd, SHELL_CMD_NAME);
    EXPECT_EQ(p.c->ref.index, 1u);
    EXPECT_STREQ(p.c->as_name, "echo");
    EXPECT_STREQ(Parse("name $1").c->error, "name: missing NAME (usage: name ADDR NAME)");
    EXPECT_STREQ(Parse("name").c->error, "name: missing ADDR (usage: name ADDR NAME)");
    EXPECT_EQ(Parse("name $1 9").rc, -EINVAL);
    EXPECT_EQ(Parse("name $1 abcdefghijabcdefghijabcdefghijab").rc, -EINVAL); // 32
    EXPECT_EQ(Parse("name $1 abcdefghijabcdefghijabcdefghija").rc, 0);         // 31

    for (const char *line : {"addrs", "book"}) {
        p = Parse(line);
        ASSERT_EQ(p.rc, 0) << line;
        EXPECT_EQ(p.c->cmd, SHELL_CMD_ADDRS);
        EXPECT_STREQ(p.c->name, line);
    }
    EXPECT_STREQ(Parse("addrs x").c->error,
                 "addrs: unexpected 'x' (usage: addrs; quote text with blanks in it)");

    p = Parse("status");
    ASSERT_EQ(p.rc, 0);
    EXPECT_EQ(p.c->cmd, SHELL_CMD_STATUS);
    EXPECT_FALSE(p.c->has_ref);
    EXPECT_FALSE(p.c->json);
    p = Parse("status e --json");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_TRUE(p.c->has_ref);
    EXPECT_TRUE(p.c->json);
    EXPECT_EQ(Parse("status a b").rc, -EINVAL);
    EXPECT_EQ(Parse("status --jsn").rc, -EINVAL);

    p = Parse("load /tmp/x.so");
    ASSERT_EQ(p.rc, 0);
    EXPECT_STREQ(p.c->path, "/tmp/x.so");
    EXPECT_STREQ(Parse("load").c->error, "load: missing PATH (usage: load PATH)");
    EXPECT_STREQ(Parse("load \"\"").c->error, "load: bad PATH (empty, or with a NUL byte)");
    p = Parse("unload 00112233445566778899aabbccddeeff");
    ASSERT_EQ(p.rc, 0);
    EXPECT_STREQ(p.c->image, "00112233445566778899aabbccddeeff");
    EXPECT_EQ(Parse("unload 0011").rc, -EINVAL);
    EXPECT_EQ(Parse("images").c->cmd, SHELL_CMD_IMAGES);
    EXPECT_EQ(Parse("members").c->cmd, SHELL_CMD_MEMBERS);
    EXPECT_EQ(Parse("members x").rc, -EINVAL);
    EXPECT_EQ(Parse("quit").c->cmd, SHELL_CMD_QUIT);
    EXPECT_EQ(Parse("exit").c->cmd, SHELL_CMD_QUIT);
    EXPECT_EQ(Parse("quit now").rc, -EINVAL);
}

TEST(ShellParse, Help)
{
    Parsed p = Parse("help");
    ASSERT_EQ(p.rc, 0);
    EXPECT_EQ(p.c->cmd, SHELL_CMD_HELP);
    EXPECT_EQ(p.c->topic, nullptr);
    p = Parse("help exit");
    ASSERT_EQ(p.rc, 0);
    EXPECT_STREQ(p.c->topic, "quit");
    EXPECT_STREQ(Parse("help frob").c->error, "help: no command 'frob' (try 'help')");
    EXPECT_EQ(Parse("help ask tell").rc, -EINVAL);
    // Every command has its texts.
    unsigned n = 0;
    for (const shell_cmd_info *i; (i = shell_command_info(n)); n++) {
        EXPECT_EQ(shell_command_find(i->name), i);
        EXPECT_EQ(std::string(i->synopsis).rfind(i->name, 0), 0u) << i->synopsis;
        EXPECT_GT(strlen(i->summary), 0u);
        EXPECT_EQ(i->help[strlen(i->help) - 1], '\n') << i->name;
    }
    EXPECT_EQ(n, 13u);
}

TEST(ShellParse, Caps)
{
    Parsed p = Parse("caps");
    ASSERT_EQ(p.rc, 0);
    EXPECT_EQ(p.c->caps, SHELL_CAPS_SHOW);
    p = Parse("caps set gpu=true zone=eu-1 empty=");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->caps, SHELL_CAPS_SET);
    ASSERT_EQ(p.c->ncaps, 3u);
    EXPECT_STREQ(p.c->cap_keys[0], "gpu");
    EXPECT_STREQ(p.c->cap_values[0], "true");
    EXPECT_STREQ(p.c->cap_keys[1], "zone");
    EXPECT_STREQ(p.c->cap_values[1], "eu-1");
    EXPECT_STREQ(p.c->cap_values[2], "");
    p = Parse("caps unset gpu zone");
    ASSERT_EQ(p.rc, 0) << p.c->error;
    EXPECT_EQ(p.c->caps, SHELL_CAPS_UNSET);
    EXPECT_EQ(p.c->ncaps, 2u);
    EXPECT_STREQ(p.c->cap_keys[1], "zone");

    EXPECT_STREQ(Parse("caps add x=1").c->error,
                 "caps: unknown action 'add' (set KEY=VALUE... or unset KEY...)");
    EXPECT_STREQ(Parse("caps set").c->error, "caps: set needs at least one KEY=VALUE");
    EXPECT_STREQ(Parse("caps unset").c->error, "caps: unset needs at least one KEY");
    EXPECT_STREQ(Parse("caps set gpu").c->error, "caps: bad 'gpu' (KEY=VALUE)");
    EXPECT_STREQ(Parse("caps set =1").c->error,
                 "caps: bad key '' (1 to 31 of A-Z a-z 0-9 _ . -)");
    EXPECT_STREQ(Parse("caps unset a/b").c->error,
                 "caps: bad key 'a/b' (1 to 31 of A-Z a-z 0-9 _ . -)");
    EXPECT_STREQ(Parse("caps set a=x,y").c->error,
                 "caps: bad value in 'a=x,y' (at most 63 characters, no ',')");
}

TEST(ShellComplete, CommandNames)
{
    auto all = [](const char *prefix) {
        std::vector<std::string> out;
        unsigned it = 0;
        while (const char *n = shell_command_complete(prefix, strlen(prefix), &it))
            out.push_back(n);
        return out;
    };
    EXPECT_EQ(all("cre"), W{"create"});
    EXPECT_EQ(all("ca"), W{"caps"});
    EXPECT_EQ(all("e"), W{"exit"});
    EXPECT_EQ(all("b"), W{"book"});
    EXPECT_EQ(all("s"), W{"status"});
    EXPECT_EQ(all("x"), W{});
    EXPECT_EQ(all("create2"), W{});
    EXPECT_EQ(all("").size(), 15u); // 13 commands, 2 aliases
    EXPECT_EQ(all("").front(), "help");
}

TEST(ShellPayload, WhatReadsAsText)
{
    auto text = [](const std::string &s) { return shell_payload_is_text(s.data(), s.size()); };
    EXPECT_TRUE(text(""));
    EXPECT_TRUE(text("hello"));
    EXPECT_TRUE(text(std::string("hello\0", 6)));
    EXPECT_TRUE(text(std::string("\0", 1)));
    EXPECT_TRUE(text("tab\there\nnewline"));
    EXPECT_TRUE(text("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x99\x82"));
    EXPECT_FALSE(text(std::string("a\0b", 3)));
    EXPECT_FALSE(text(std::string("ab\0\0", 4)));
    EXPECT_FALSE(text("\x1b[31m"));
    EXPECT_FALSE(text("\r"));
    EXPECT_FALSE(text("\x7f"));
    EXPECT_FALSE(text("\xff"));
    EXPECT_FALSE(text("\xc3"));             // cut
    EXPECT_FALSE(text("\xc0\x80"));         // overlong
    EXPECT_FALSE(text("\xe0\x80\x80"));     // overlong
    EXPECT_FALSE(text("\xed\xa0\x80"));     // a surrogate
    EXPECT_FALSE(text("\xf4\x90\x80\x80")); // beyond U+10FFFF
    EXPECT_FALSE(text("\xc2\x85"));         // a C1 control
}

TEST(ShellBook, Names)
{
    EXPECT_TRUE(shell_book_name_ok("e"));
    EXPECT_TRUE(shell_book_name_ok("_x.y-z9"));
    EXPECT_FALSE(shell_book_name_ok(""));
    EXPECT_FALSE(shell_book_name_ok("9e"));
    EXPECT_FALSE(shell_book_name_ok("$1"));
    EXPECT_FALSE(shell_book_name_ok(".e"));
    EXPECT_FALSE(shell_book_name_ok("a b"));
}

} // namespace
