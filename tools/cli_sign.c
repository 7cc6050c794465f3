/* SPDX-License-Identifier: MIT */
/*
 * cli_sign.c — signing code images: `thespis keygen --sign SECRET PUBLIC`
 * and `thespis sign --key SECRET IMAGE [--out SIG]` (thespis/image.h). A
 * node started with `--authority-key PUBLIC` loads the images signed so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thespis/image.h>

#include "cli.h"

/* ------------------------------------------------------------------------ */
/* keygen --sign                                                             */
/* ------------------------------------------------------------------------ */

int cli_keygen_sign(const struct cli_cmd *cmd, const struct cli_args *a)
{
    if (a->npos != 2)
        return cli_usage_error(cmd->name, "--sign needs two files: SECRET and PUBLIC (%d "
                               "given)", a->npos);
    const char *secret = a->pos[0], *pub = a->pos[1];
    if (!*secret || !*pub)
        return cli_usage_error(cmd->name, "empty %s", *secret ? "PUBLIC" : "SECRET");
    if (strcmp(secret, pub) == 0)
        return cli_usage_error(cmd->name, "SECRET and PUBLIC are the same file '%s'", secret);
    if (ts_sign_keygen(secret, pub) != 0)
        return cli_fail(cmd->name, "%s", ts_last_error());
    printf("wrote a signing key pair: the secret key to %s (keep it to yourself), the "
           "public key to %s\n", secret, pub);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* sign                                                                      */
/* ------------------------------------------------------------------------ */

const char cli_sign_usage[] =
    "usage: thespis sign --key SECRET [--out SIG] IMAGE\n"
    "Signs the code image IMAGE with the secret key in SECRET (`thespis keygen\n"
    "--sign SECRET PUBLIC` makes a pair) and writes the signature to IMAGE.sig:\n"
    "its 64 bytes as 128 hex characters and a newline. A node started with\n"
    "`--authority-key PUBLIC` loads IMAGE when IMAGE.sig is next to it\n"
    "(ts_load_image_file reads both). An existing signature file is replaced;\n"
    "SECRET must be readable by its owner only.\n"
    "\n"
    "  --key SECRET  the secret signing key (needed)\n"
    "  --out SIG     write the signature to SIG instead of IMAGE.sig\n"
    "  -h, --help    print this help\n"
    "\n"
    "  thespis keygen --sign release.key release.pub\n"
    "  thespis sign --key release.key ./image_echo.so      # writes ./image_echo.so.sig\n"
    "  thespis start --name demo --authority-key release.pub\n"
    "\n"
    "Exit status: 0 signed, 1 not signed (the key or IMAGE cannot be read, or the\n"
    "signature cannot be written), 2 bad arguments.\n";

const struct option cli_sign_options[] = {
    {"key", required_argument, NULL, CLI_OPT_SIGN_KEY},
    {"out", required_argument, NULL, CLI_OPT_OUT},
    {"help", no_argument, NULL, CLI_OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* The whole file at path into *out (malloc'd) and *len: 0, or -errno. */
static int read_file(const char *path, unsigned char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
    } else if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
    } else {
        size_t cap = (size_t)st.st_size, at = 0;
        unsigned char *buf = malloc(cap ? cap : 1);
        if (!buf)
            rc = -ENOMEM;
        while (buf && at < cap) {
            ssize_t n = read(fd, buf + at, cap - at);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                rc = n < 0 ? -errno : -EIO; /* shorter than it was a moment ago */
                break;
            }
            at += (size_t)n;
        }
        if (rc < 0) {
            free(buf);
        } else {
            *out = buf;
            *len = cap;
        }
    }
    close(fd);
    return rc;
}

/* sig as 128 hex characters and a newline, into a new or emptied file. */
static int write_sig(const char *path, const uint8_t sig[TS_SIGN_BYTES])
{
    static const char hex[] = "0123456789abcdef";
    char text[2 * TS_SIGN_BYTES + 1];

    for (unsigned i = 0; i < TS_SIGN_BYTES; i++) {
        text[2 * i] = hex[sig[i] >> 4];
        text[2 * i + 1] = hex[sig[i] & 15];
    }
    text[2 * TS_SIGN_BYTES] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (size_t at = 0; at < sizeof(text);) {
        ssize_t n = write(fd, text + at, sizeof(text) - at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        at += (size_t)n;
    }
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

int cli_sign_run(const struct cli_cmd *cmd, const struct cli_args *a)
{
    if (!a->sign_key)
        return cli_usage_error(cmd->name, "say the secret key: --key SECRET (`thespis keygen "
                               "--sign SECRET PUBLIC` makes one)");
    if (a->npos != 1)
        return cli_usage_error(cmd->name, a->npos ? "one IMAGE only" : "say the IMAGE to sign");
    const char *image = a->pos[0];
    if (!*image)
        return cli_usage_error(cmd->name, "empty IMAGE");
    char def[4096];
    const char *out = a->out;
    if (!out) {
        int n = snprintf(def, sizeof(def), "%s.sig", image);
        if (n < 0 || (size_t)n >= sizeof(def))
            return cli_usage_error(cmd->name, "IMAGE path too long");
        out = def;
    }
    if (strcmp(out, image) == 0 || strcmp(out, a->sign_key) == 0)
        return cli_usage_error(cmd->name, "--out '%s' would overwrite the %s", out,
                               strcmp(out, image) == 0 ? "IMAGE" : "secret key");

    unsigned char *bytes = NULL;
    size_t len = 0;
    int rc = read_file(image, &bytes, &len);
    if (rc < 0)
        return cli_fail(cmd->name, "image %s: %s", image,
                        rc == -EINVAL ? "not a regular file" : strerror(-rc));
    if (len == 0) {
        free(bytes);
        return cli_fail(cmd->name, "image %s is empty", image);
    }
    uint8_t sig[TS_SIGN_BYTES];
    ts_image_id id;
    char idtext[TS_IMAGE_ID_TEXT];
    rc = ts_sign_bytes(a->sign_key, bytes, len, sig);
    ts_image_id_of(bytes, len, &id);
    free(bytes);
    if (rc < 0)
        return cli_fail(cmd->name, "%s", ts_last_error());
    rc = write_sig(out, sig);
    if (rc < 0)
        return cli_fail(cmd->name, "signature file %s: %s", out, strerror(-rc));
    printf("signed %s (%zu bytes, image id %s) into %s\n", image, len,
           ts_image_id_format(&id, idtext, sizeof(idtext)), out);
    return CLI_EXIT_OK;
}
