/* SPDX-License-Identifier: MIT */
/* perfreport_fuzz.c — thespis-perf's result-file reader (perf/report.c,
 * which --baseline feeds any file a user names) on arbitrary bytes. A file
 * it refuses says why; one it accepts writes back and reads again to the
 * same scenarios, and that text reads back to itself. Valid inputs are a
 * small written report with random figures. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "report.h"

#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "perfreport_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                               \
        }                                                                          \
    } while (0)

/* r written as text (malloc'd, *len set), or NULL. */
static char *written(const struct report *r, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        return NULL;
    int rc = report_write(f, r);
    fclose(f);
    if (rc < 0) {
        free(text);
        return NULL;
    }
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report r;
    char err[256] = "";
    int rc = report_read_text((const char *)data, size, &r, err, sizeof(err));
    if (rc < 0) {
        CHECK(rc != -EINVAL || (err[0] && strlen(err) < sizeof(err)));
        return 0;
    }
    size_t len = 0, len2 = 0;
    char *text = written(&r, &len);
    CHECK(text);
    struct report back;
    CHECK(report_read_text(text, len, &back, err, sizeof(err)) == 0);
    CHECK(back.n == r.n);
    for (size_t i = 0; i < r.n; i++)
        CHECK(strcmp(back.s[i].name, r.s[i].name) == 0 && back.s[i].reps == r.s[i].reps);
    char *text2 = written(&back, &len2);
    CHECK(text2 && len2 == len && memcmp(text, text2, len) == 0);
    free(text);
    free(text2);
    report_free(&back);
    report_free(&r);
    return 0;
}

size_t FuzzValidInput(uint8_t *buf, size_t cap, uint64_t (*rng)(void))
{
    struct report r;
    memset(&r, 0, sizeof(r));
    snprintf(r.base, sizeof(r.base), "pinned");
    r.repeat = 1 + (unsigned)(rng() % 3);
    r.duration_s = 0.05;
    r.cores[1] = 1;
    for (unsigned k = 0; k < 1 + rng() % 3; k++) {
        char name[32];
        snprintf(name, sizeof(name), "fuzz.%u", k);
        struct scen_report *s = report_add(&r, name);
        if (!s)
            break;
        s->kind = (enum fig_kind)(rng() % 4);
        s->reps = r.repeat;
        for (unsigned i = 0; i < s->reps; i++)
            for (unsigned f = 0; f < FIG_N; f++)
                s->fig[i][f] = (double)(rng() % 100000);
    }
    size_t len = 0;
    char *text = written(&r, &len);
    report_free(&r);
    if (!text || len > cap) {
        free(text);
        return 0;
    }
    memcpy(buf, text, len);
    free(text);
    return len;
}
