/* SPDX-License-Identifier: MIT */
/*
 * shell_parse.h — the command language of `thespis shell`, without any I/O:
 * a line is split into words, its command looked up and its arguments
 * checked, giving a struct shell_command or one clear error. The shell
 * (shell.c) resolves and runs what this returns; tests/fuzz/shell_fuzz.c
 * feeds it anything.
 *
 * Words are separated by blanks (space, tab, CR, LF, VT, FF). Within a word:
 *   "..."   a double-quoted part: blanks and '#' are literal, escapes work
 *   '...'   a single-quoted part: everything is literal up to the next '
 *   \       an escape, outside quotes or within "...": \\ \" \' \# \(space)
 *           \n \t \r \0 and \xHH (two hex digits, any byte)
 * Parts join: a"b c"d is the word 'ab cd'; "" is an empty word. A '#' that
 * starts a word (unquoted) comments out the rest of the line. A word with
 * any quoted or escaped part is never a keyword or an option: "as" and
 * "--image" quoted are plain words.
 */
#ifndef TS_TOOLS_SHELL_PARSE_H
#define TS_TOOLS_SHELL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <thespis/thespis.h>

#define SHELL_LINE_MAX 4096   /* bytes of one line, its end of line excluded */
#define SHELL_WORDS_MAX 64
#define SHELL_BOOK_NAME_MAX 31 /* characters of an address book name */
#define SHELL_GLOBAL_MAX 255  /* characters of a --global name */
#define SHELL_ERROR_MAX 192
#define SHELL_IMAGE_ID_LEN 32 /* hex digits of an image id */
#define SHELL_MAX_TIMEOUT_S 86400u

enum shell_cmd {
    SHELL_CMD_NONE = 0, /* a blank line or a comment: nothing to do */
    SHELL_CMD_HELP,
    SHELL_CMD_QUIT,
    SHELL_CMD_CREATE,
    SHELL_CMD_TELL,
    SHELL_CMD_ASK,
    SHELL_CMD_ADDRS,
    SHELL_CMD_NAME,
    SHELL_CMD_STATUS,
    SHELL_CMD_CAPS,
    SHELL_CMD_MEMBERS,
    SHELL_CMD_LOAD,
    SHELL_CMD_UNLOAD,
    SHELL_CMD_IMAGES,
};

/* One word of a line: len bytes at s, NUL-terminated (s[len] == 0; a
 * word may hold NUL bytes of its own, from \0 or \x00). */
struct shell_word {
    const char *s;
    size_t len;
    bool quoted; /* some part of it was quoted or escaped */
};

/* An ADDR argument, as written: $N, a name of the address book, or a
 * literal address (ts_addr_format's form). The shell resolves the first
 * two against its book. */
enum shell_ref_kind {
    SHELL_REF_INDEX = 1, /* $N: index */
    SHELL_REF_NAME,      /* name */
    SHELL_REF_ADDR,      /* addr */
};

struct shell_ref {
    enum shell_ref_kind kind;
    unsigned index;    /* 1.. */
    const char *name;
    ts_addr addr;
};

enum shell_caps_action {
    SHELL_CAPS_SHOW = 0,
    SHELL_CAPS_SET,
    SHELL_CAPS_UNSET,
};

/* A parsed line. Every pointer points into the struct's own storage, so it
 * lives as long as the struct; what a command does not take stays NULL or
 * zero. */
struct shell_command {
    enum shell_cmd cmd;
    const char *name;        /* the command as typed ("exit", "book") */
    const char *type;        /* create, tell, ask: TYPE */
    bool has_ref;            /* tell, ask, name, status ADDR: ref is set */
    struct shell_ref ref;
    bool has_payload;        /* create ARG, tell and ask TEXT (may be empty, may hold NULs) */
    const char *payload;
    size_t payload_len;
    const char *as_name;     /* create ... as NAME; name ADDR NAME */
    const char *image;       /* create --image ID, unload ID: 32 hex digits */
    const char *global;      /* create --global NAME */
    uint64_t timeout_ns;     /* ask --timeout S (0: not given) */
    const char *path;        /* load PATH */
    const char *topic;       /* help CMD: that command's name as the table has it */
    bool json;               /* status --json */
    enum shell_caps_action caps;
    unsigned ncaps;          /* caps set/unset: the keys, and for set the values */
    const char *cap_keys[SHELL_WORDS_MAX];
    const char *cap_values[SHELL_WORDS_MAX];
    char error[SHELL_ERROR_MAX]; /* why the line was refused ("" when it was not) */
    unsigned nwords;
    struct shell_word words[SHELL_WORDS_MAX];
    char buf[SHELL_LINE_MAX + SHELL_WORDS_MAX + 1]; /* the words, decoded */
};

/*
 * Splits line (len bytes; it need not be NUL-terminated and may end in a
 * newline) into out->words; nothing else is set. Returns 0, -EINVAL (an
 * unterminated quote, a bad escape, a NUL byte in the line: out->error says
 * which, and where) or -E2BIG (longer than SHELL_LINE_MAX, or more than
 * SHELL_WORDS_MAX words).
 */
int shell_tokenize(const char *line, size_t len, struct shell_command *out);

/*
 * Tokenizes line, looks its command up and checks its arguments into *out.
 * Returns 0 (out->cmd is SHELL_CMD_NONE for a blank line or a comment),
 * or -EINVAL / -E2BIG with out->error saying what is wrong in one line
 * (an unknown command, a missing or extra argument, a bad address, name,
 * image id, timeout or capability).
 */
int shell_parse(const char *line, size_t len, struct shell_command *out);

/* The commands, for help and completion: the i-th (from 0) of the table,
 * or NULL past its end. */
struct shell_cmd_info {
    const char *name;
    const char *alias;    /* another name for it, or NULL */
    enum shell_cmd cmd;
    const char *synopsis; /* "tell ADDR TYPE [TEXT]" */
    const char *summary;  /* one line */
    const char *help;     /* a paragraph, lines ending in '\n' */
};
const struct shell_cmd_info *shell_command_info(unsigned i);

/* The table entry of a command name or alias (exactly), or NULL. */
const struct shell_cmd_info *shell_command_find(const char *name);

/* Completion of a command name: the next name or alias (in table order,
 * from *iter, which starts at 0) that begins with prefix's len bytes, or
 * NULL when there is none left. */
const char *shell_command_complete(const char *prefix, size_t len, unsigned *iter);

/* Whether a payload reads as text: printable ASCII, tabs, newlines and
 * well-formed UTF-8, with at most one NUL, as its last byte (a C string
 * sent with its terminator). The empty payload is text. */
bool shell_payload_is_text(const void *p, size_t len);

/* Whether s is a good address book name: 1 to SHELL_BOOK_NAME_MAX of
 * A-Z a-z 0-9 _ . -, starting with a letter or '_'. */
bool shell_book_name_ok(const char *s);

#endif
